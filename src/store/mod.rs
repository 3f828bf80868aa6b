//! Everything that touches the database. Nothing outside this module writes SQL.
//!
//! One set of queries serves SQLite and PostgreSQL through sqlx's `Any` driver (`$1`
//! placeholders work on both). The few places where the dialects differ are in
//! [`Backend`]. Times are stored as Unix milliseconds (see `domain::Timestamp`).

mod address_keys;
mod api_tokens;
mod audit;
mod backup;
mod contact_filter;
mod contact_pages;
mod contact_rows;
mod contact_state;
mod contacts;
mod deliveries;
mod import;
mod inbound;
mod issues;
mod leases;
mod metrics;
mod notices;
mod plans;
mod publications;
mod retention;
mod staff;
mod staff_settings;
mod subscriptions;
mod tokens;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::config::DatabaseUrl;
use crate::domain::EmailError;

pub use address_keys::{AddressDuplicate, AddressKeyRewrite};
pub use api_tokens::{ApiTokenAdded, ApiTokenFound, ApiTokenLine, ApiTokenRevoked};
pub use audit::{Actor, AuditEntry, AuditFilter, AuditWords};
pub use backup::{
    COUNTED_TABLES, CopyContents, CopyError, RowCounts, SchemaState, pg_dump, pg_restore,
    read_pg_dump, read_sqlite_copy,
};
pub use contact_filter::ContactFilter;
pub use contact_pages::{
    BouncedContact, ConsentEvidence, ContactDelivery, ContactNotice, ContactPage, ContactRecord,
    MatchCount, PageStart, SEARCH_COUNT_LIMIT,
};
pub use contacts::ContactChanges;
pub use deliveries::{DeliveryProblem, Enqueued, LedgerRow, SendCounts};
pub use import::{IMPORT_BATCH_ROWS, ImportBatchOutcome, ImportRow, ImportSession, RowResult};
pub use inbound::{AddressUnsubscribed, BounceRecorded, BouncedDelivery, InboundEntry, NewInbound};
pub use issues::{DraftMode, DraftSaved, IssueStatus, SendPlan, StoredIssue};
pub use leases::{ClaimedDelivery, Outcome};
pub use metrics::MetricsSnapshot;
pub use notices::{
    ClaimedNotice, NOTICE_RESEND_AFTER_MS, NOTICES_PER_DAY, NoticeBudget, NoticeBudgets,
    NoticeOutcome, NoticePurpose, NoticeQueued, NoticesWaiting, QueuedRequest,
};
pub use publications::PublicationCount;
pub use staff::{
    AccountChange, AccountChangeKind, FirstAccount, SessionLine, StaffAccount, StaffSession,
    StaffUserWrite, TotpState,
};
pub use subscriptions::{PublicationLeft, PublicationsChosen};
pub use tokens::{
    ConfirmOutcome, LeaveLinkOutcome, RequestedBy, SubscribeOutcome, UnsubscribeOutcome,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is already on the list")]
    ContactExists(String),
    #[error("{0} is not on the list")]
    ContactNotFound(String),
    #[error("{0} has not bounced: only a bounced contact can be put back this way")]
    NotBounced(String),
    #[error("{0} was changed by someone else at the same time: try again")]
    ConcurrentChange(String),
    #[error("issue {0} does not exist")]
    IssueNotFound(String),
    #[error("issue {0} exists already: choose another slug")]
    IssueExists(String),
    #[error("issue {0} is planned to be sent: cancel the plan to change it")]
    IssuePlanned(String),
    #[error("issue {0} has no planned send")]
    NoPlan(String),
    #[error("a send must be approved by another staff member than the one who asked for it")]
    OwnApproval,
    #[error(
        "issue {slug} is {status}: a sent issue cannot be changed; give the new version another slug"
    )]
    IssueNotDraft { slug: String, status: String },
    #[error("publication {0} exists already: choose another slug")]
    PublicationExists(String),
    /// Issues and publications share the archive's paths (`/arkiv/{slug}`).
    #[error("{0} is the slug of a publication: an issue needs another")]
    SlugIsPublication(String),
    #[error("{0} is the slug of an issue: a publication needs another")]
    SlugIsIssue(String),
    #[error("there is no publication {0}: `nyhetsbrev publications list` shows them")]
    PublicationNotFound(String),
    #[error("issue {0} has no one to go to: no confirmed contact is subscribed to its publication")]
    NothingToSend(String),
    #[error(transparent)]
    Refused(#[from] crate::domain::ChangeError),
    #[error("database_url {0} is neither sqlite://FILE nor postgres://…")]
    UnsupportedUrl(String),
    #[error("the database holds a value this version cannot read ({0}): was it edited by hand?")]
    Corrupt(String),
    // The cause is written into the message and not given as `source`, so an error
    // chain printed with `{:#}` says it once.
    #[error(
        "the database {0} is being restored from a backup: wait for `nyhetsbrev restore` to finish"
    )]
    BeingRestored(String),
    #[error("database migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

impl From<EmailError> for StoreError {
    fn from(e: EmailError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database, shared by the web server, the worker and the command line.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time, and a writer that finds the database busy
    /// sleeps in growing steps (up to 100 ms) before it retries: under concurrent writes
    /// that made the slowest requests wait tens of milliseconds. Writers of this process
    /// queue here instead, without sleeping. PostgreSQL needs no such queue.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// A shared lock on the SQLite file for as long as this store lives, so that
    /// `restore` can tell that the database is in use (it takes the lock exclusively).
    _in_use: Option<Arc<InUse>>,
}

/// A lock (`flock`) on a SQLite database file. SQLite's own locks are POSIX record
/// locks, which `flock` does not touch, so the two never interfere.
#[derive(Debug)]
pub struct InUse(#[allow(dead_code)] std::fs::File);

impl InUse {
    /// Marks the file as in use by this process (several may share it).
    pub fn shared(path: &std::path::Path) -> Result<Option<InUse>> {
        let Ok(file) = std::fs::File::open(path) else {
            return Ok(None);
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(InUse(file))),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(StoreError::BeingRestored(path.display().to_string()))
            }
            // A file system without locks: nothing to mark, nothing to refuse.
            Err(std::fs::TryLockError::Error(_)) => Ok(None),
        }
    }

    /// Takes the file for this process alone; `None` while anything else has it open
    /// through a store.
    pub fn exclusive(path: &std::path::Path) -> std::io::Result<Option<InUse>> {
        let file = std::fs::File::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(InUse(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Held for the length of a write on SQLite (see `Store::sqlite_writer`).
pub(crate) type WriteTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

impl Store {
    /// Connects, creating a SQLite file if it does not exist. Does not migrate.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url.expose())
            .ok_or_else(|| StoreError::UnsupportedUrl(url.redacted()))?;
        let new_file = url.sqlite_path().filter(|path| !path.exists());
        let mut options = AnyConnectOptions::from_str(&connect_url(backend, url.expose()))?;
        // Statements are logged at debug level only: at info they would flood the log
        // during an import, and they carry no secrets but do carry addresses.
        options = options.log_statements(tracing::log::LevelFilter::Debug);
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                // SQLite has one writer at a time; a few readers help the web server.
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers go on while one writer writes; NORMAL sync is
                        // durable across application crashes (not power loss of the last
                        // transaction), the usual choice with WAL.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // What is deleted (an erased person, mail past its retention)
                        // is overwritten with zeros, not left in free space.
                        conn.execute("PRAGMA secure_delete = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let sqlite_writer =
            (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        // The pool has made the file by now (its first connection is opened eagerly).
        // A database this process made is private (SQLite makes its -wal and -shm with
        // the same mode); one that was there keeps the mode its operator gave it.
        if let Some(path) = new_file {
            use std::os::unix::fs::PermissionsExt;
            if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(path = %path.display(), error = %e, "could not make the new database file private");
            }
        }
        let in_use = match url.sqlite_path() {
            Some(path) => match InUse::shared(&path) {
                Ok(lock) => lock.map(Arc::new),
                Err(e) => {
                    pool.close().await;
                    return Err(e);
                }
            },
            None => None,
        };
        Ok(Store {
            pool,
            backend,
            sqlite_writer,
            _in_use: in_use,
        })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &DatabaseUrl) -> Result<Store> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this build knows and the database lacks.
    pub async fn migrate(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            self.vacuum_incrementally().await?;
        }
        self.backend.migrator().run(&self.pool).await?;
        if let Some(rewrite) = self.rewrite_address_keys().await? {
            tracing::info!(
                rewritten = rewrite.rewritten,
                duplicates = rewrite.duplicates.len(),
                "address keys rewritten to the A-label form"
            );
            for duplicate in &rewrite.duplicates {
                tracing::warn!(
                    "contact #{} ({}) is the same mailbox as contact #{} ({}): not merged; remove one of them",
                    duplicate.contact_id,
                    duplicate.email,
                    duplicate.same_as,
                    duplicate.same_as_email
                );
            }
        }
        Ok(())
    }

    /// Switches a SQLite file to incremental auto-vacuum, so that the pages an erasure
    /// frees can be given back (`Store::scrub_deleted`). The mode of an existing file
    /// changes only with a whole `VACUUM`, done once, at the first start of this
    /// version; it also rewrites away whatever earlier deletions left in free pages.
    async fn vacuum_incrementally(&self) -> Result<()> {
        const INCREMENTAL: i64 = 2;
        let _turn = self.write_turn().await;
        let mut conn = self.pool.acquire().await?;
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut *conn)
            .await?;
        if mode != INCREMENTAL {
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL").await?;
            conn.execute("VACUUM").await?;
            tracing::info!("the database file now gives freed pages back (incremental vacuum)");
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits for this process's turn to write (SQLite only).
    pub(crate) async fn write_turn(&self) -> WriteTurn {
        match &self.sqlite_writer {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        }
    }

    /// Begins a transaction that will write, in turn.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<(WriteTurn, sqlx::Transaction<'static, sqlx::Any>)> {
        let turn = self.write_turn().await;
        let tx = self.pool.begin().await?;
        Ok((turn, tx))
    }

    /// Begins a write transaction that no other holder of `lock` runs beside, in any
    /// process: the write turn and SQLite's single writer do it there, a transaction
    /// advisory lock on PostgreSQL. For a check and an insert that must not both pass
    /// twice at once (rate caps).
    pub(crate) async fn begin_serialised(
        &self,
        lock: i64,
    ) -> Result<(WriteTurn, sqlx::Transaction<'static, sqlx::Any>)> {
        let (turn, mut tx) = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock)
                .execute(&mut *tx)
                .await?;
        }
        Ok((turn, tx))
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite files are created when missing unless the URL says otherwise.
fn connect_url(backend: Backend, url: &str) -> String {
    if backend == Backend::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// True when a database error is a unique-constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_created_when_missing() {
        assert_eq!(
            connect_url(Backend::Sqlite, "sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            connect_url(Backend::Sqlite, "sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(
            connect_url(Backend::Postgres, "postgres://h/db"),
            "postgres://h/db"
        );
    }
}
