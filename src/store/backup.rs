//! Copies of the database: a consistent copy made while the service runs and sends, what
//! a copy holds (read back from the copy itself, never from the live database), the
//! schema a database is at, and putting a PostgreSQL dump into an empty database.
//!
//! SQLite copies with `VACUUM INTO`: one read transaction, so writers go on beside it
//! (WAL) and the copy is a snapshot. PostgreSQL copies with `pg_dump --format=custom`,
//! whose own snapshot does the same; its contents are counted by reading the dump back
//! through `pg_restore`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use tokio::io::AsyncBufReadExt;

use super::{Backend, Result, Store, StoreError};
use crate::config::DatabaseUrl;

/// The tables whose rows a backup reports, with what a person calls one row and many.
pub const COUNTED_TABLES: [(&str, &str, &str); 7] = [
    ("contacts", "contact", "contacts"),
    ("deliveries", "delivery", "deliveries"),
    ("issues", "issue", "issues"),
    ("audit_log", "audit entry", "audit entries"),
    ("inbound_messages", "inbound message", "inbound messages"),
    ("tokens", "link", "links"),
    ("staff_users", "staff account", "staff accounts"),
];

/// Rows per table, for the tables in [`COUNTED_TABLES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowCounts(pub BTreeMap<String, u64>);

impl RowCounts {
    pub fn get(&self, table: &str) -> u64 {
        self.0.get(table).copied().unwrap_or(0)
    }

    /// "1,000 contacts, 3 issues, …" in the order of [`COUNTED_TABLES`].
    pub fn describe(&self) -> String {
        COUNTED_TABLES
            .iter()
            .map(|(table, one, many)| {
                let n = self.get(table);
                format!("{} {}", thousands(n), if n == 1 { one } else { many })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The migrations a database has, against the ones this build knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    pub applied: Vec<i64>,
    pub known: Vec<i64>,
}

impl SchemaState {
    fn of(backend: Backend, mut applied: Vec<i64>) -> SchemaState {
        applied.sort_unstable();
        let known = backend
            .migrator()
            .iter()
            .map(|migration| migration.version)
            .collect();
        SchemaState { applied, known }
    }

    /// Migrations this build would still apply.
    pub fn pending(&self) -> Vec<i64> {
        let applied = &self.applied;
        self.known
            .iter()
            .copied()
            .filter(|v| !applied.contains(v))
            .collect()
    }

    /// Migrations applied by a newer build than this one.
    pub fn unknown(&self) -> Vec<i64> {
        let known = &self.known;
        self.applied
            .iter()
            .copied()
            .filter(|v| !known.contains(v))
            .collect()
    }

    pub fn is_current(&self) -> bool {
        self.pending().is_empty() && self.unknown().is_empty()
    }

    /// The newest migration applied, as the schema's version.
    pub fn version(&self) -> Option<i64> {
        self.applied.last().copied()
    }
}

/// What a copy holds, read back from the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyContents {
    pub counts: RowCounts,
    pub schema: SchemaState,
}

/// Why a copy could not be made or read. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the disk is full: free space there or choose another place for the backup")]
    DiskFull,
    #[error("{} is not a nyhetsbrev backup ({reason})", .path.display())]
    NotABackup { path: PathBuf, reason: String },
    #[error("{} is damaged and cannot be used ({reason}); take an older backup", .path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "{} was made by a newer nyhetsbrev (it has migration {newest}, this version knows up to {known}): \
         install that version to restore it",
        .path.display()
    )]
    NewerSchema {
        path: PathBuf,
        newest: i64,
        known: i64,
    },
    #[error(
        "{program} was not found: install PostgreSQL's client programs in the server's major version \
         (Debian: apt install postgresql-client)"
    )]
    ProgramMissing { program: &'static str },
    #[error("{program} failed: {message}")]
    Program {
        program: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Store(StoreError::Database(e))
    }
}

/// SQLite's result code for a full disk (`SQLITE_FULL`).
const SQLITE_FULL: &str = "13";

impl Store {
    /// The migrations this database has, against the ones this build knows.
    pub async fn schema_state(&self) -> Result<SchemaState> {
        let exists: i64 = sqlx::query_scalar(match self.backend {
            Backend::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
            }
        })
        .fetch_one(&self.pool)
        .await?;
        let applied = if exists == 0 {
            Vec::new()
        } else {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?
        };
        Ok(SchemaState::of(self.backend, applied))
    }

    /// Writes a consistent copy of a SQLite database to `target`, which must not exist
    /// or be empty. The live database is only read; writers go on beside the copy.
    pub async fn copy_sqlite_into(&self, target: &Path) -> Result<(), CopyError> {
        let target = target.to_str().ok_or_else(|| CopyError::NotABackup {
            path: target.to_owned(),
            reason: "the path is not valid UTF-8".into(),
        })?;
        match sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(SQLITE_FULL) => {
                Err(CopyError::DiskFull)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// True when the database has no tables yet (a PostgreSQL restore goes only there).
    pub async fn is_empty(&self) -> Result<bool> {
        let tables: i64 = sqlx::query_scalar(match self.backend {
            Backend::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            }
        })
        .fetch_one(&self.pool)
        .await?;
        Ok(tables == 0)
    }

    /// Other sessions connected to this PostgreSQL database (a running service); 0 on
    /// SQLite, where the file lock tells instead.
    pub async fn other_connections(&self) -> Result<i64> {
        if self.backend == Backend::Sqlite {
            return Ok(0);
        }
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

/// What a file is, by its first bytes.
enum CopyKind {
    Sqlite,
    PgDump,
    Other,
}

fn copy_kind(path: &Path) -> std::io::Result<CopyKind> {
    use std::io::Read;
    let mut header = Vec::with_capacity(16);
    std::fs::File::open(path)?
        .take(16)
        .read_to_end(&mut header)?;
    Ok(if header == b"SQLite format 3\0" {
        CopyKind::Sqlite
    } else if header.starts_with(b"PGDMP") {
        CopyKind::PgDump
    } else {
        CopyKind::Other
    })
}

/// Reads a SQLite copy without changing it: its header, `PRAGMA integrity_check`, its
/// schema and its rows.
pub async fn read_sqlite_copy(path: &Path) -> Result<CopyContents, CopyError> {
    let not_a_backup = |reason: &str| CopyError::NotABackup {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let damaged = |reason: String| CopyError::Damaged {
        path: path.to_owned(),
        reason,
    };
    match copy_kind(path).map_err(|e| not_a_backup(&e.to_string()))? {
        CopyKind::Sqlite => {}
        CopyKind::PgDump => {
            return Err(not_a_backup(
                "it is a PostgreSQL dump: restore it with a postgres:// database_url",
            ));
        }
        CopyKind::Other => return Err(not_a_backup("it is not a SQLite database")),
    }
    let path_text = path.to_str().ok_or_else(|| not_a_backup("not UTF-8"))?;
    sqlx::any::install_default_drivers();
    // Read-only and immutable: nothing is written beside the copy (no -wal, no -shm).
    let mut conn = AnyConnection::connect(&format!("sqlite://{path_text}?mode=ro&immutable=true"))
        .await
        .map_err(|e| damaged(e.to_string()))?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| damaged(e.to_string()))?;
    if verdict != ["ok"] {
        let first: Vec<_> = verdict.into_iter().take(3).collect();
        return Err(damaged(first.join("; ")));
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| damaged(e.to_string()))?;
    if !tables.iter().any(|t| t == "_sqlx_migrations") || !tables.iter().any(|t| t == "contacts") {
        return Err(not_a_backup("it has no contact list"));
    }
    let applied = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| damaged(e.to_string()))?;
    let mut counts = RowCounts::default();
    for (table, _, _) in COUNTED_TABLES {
        if tables.iter().any(|t| t == table) {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| damaged(e.to_string()))?;
            counts.0.insert(table.to_owned(), n.max(0) as u64);
        }
    }
    conn.close().await.ok();
    let schema = SchemaState::of(Backend::Sqlite, applied);
    Ok(CopyContents { counts, schema })
}

impl CopyContents {
    /// A copy made by a newer build cannot be restored by this one.
    pub fn refuse_newer(&self, path: &Path) -> Result<(), CopyError> {
        refuse_newer(path, &self.schema)
    }
}

fn refuse_newer(path: &Path, schema: &SchemaState) -> Result<(), CopyError> {
    match schema.unknown().last() {
        Some(&newest) => Err(CopyError::NewerSchema {
            path: path.to_owned(),
            newest,
            known: schema.known.last().copied().unwrap_or(0),
        }),
        None => Ok(()),
    }
}

/// Runs `pg_dump --format=custom` of `url` into `target`. The password goes through the
/// environment, never the command line.
pub async fn pg_dump(url: &DatabaseUrl, target: &Path) -> Result<(), CopyError> {
    let (bare, password) = url.split_password();
    let mut command = tokio::process::Command::new("pg_dump");
    command
        .arg("--format=custom")
        .arg("--file")
        .arg(target)
        .arg("--dbname")
        .arg(&bare);
    run_pg_program("pg_dump", command, password).await
}

/// Runs `pg_restore` of `dump` into the (empty) database at `url`, in one transaction
/// that stops at the first error, so a failed restore leaves the database empty.
pub async fn pg_restore(url: &DatabaseUrl, dump: &Path) -> Result<(), CopyError> {
    let (bare, password) = url.split_password();
    let mut command = tokio::process::Command::new("pg_restore");
    command
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ])
        .arg("--dbname")
        .arg(&bare)
        .arg(dump);
    run_pg_program("pg_restore", command, password).await
}

async fn run_pg_program(
    program: &'static str,
    mut command: tokio::process::Command,
    password: Option<String>,
) -> Result<(), CopyError> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match command.output().await {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CopyError::ProgramMissing { program });
        }
        Err(e) => {
            return Err(CopyError::Program {
                program,
                message: e.to_string(),
            });
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No space left on device") {
        return Err(CopyError::DiskFull);
    }
    Err(CopyError::Program {
        program,
        message: last_line(&stderr).unwrap_or_else(|| output.status.to_string()),
    })
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
}

/// Reads a `pg_dump --format=custom` file back through `pg_restore --data-only`,
/// counting the rows of every table and reading its migrations: a dump that cannot be
/// read to the end is damaged.
pub async fn read_pg_dump(path: &Path) -> Result<CopyContents, CopyError> {
    let reason = match copy_kind(path) {
        Ok(CopyKind::PgDump) => None,
        Ok(CopyKind::Sqlite) => {
            Some("it is a SQLite database: restore it with a sqlite:// database_url".into())
        }
        Ok(CopyKind::Other) => Some("it is not a pg_dump file in the custom format".into()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(reason) = reason {
        return Err(CopyError::NotABackup {
            path: path.to_owned(),
            reason,
        });
    }
    let mut child = match tokio::process::Command::new("pg_restore")
        .arg("--data-only")
        .arg("--file=-")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CopyError::ProgramMissing {
                program: "pg_restore",
            });
        }
        Err(e) => {
            return Err(CopyError::Program {
                program: "pg_restore",
                message: e.to_string(),
            });
        }
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let (counts, applied) = count_copy_rows(stdout)
        .await
        .map_err(|e| CopyError::Damaged {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    let status = child.wait().await.map_err(|e| CopyError::Program {
        program: "pg_restore",
        message: e.to_string(),
    })?;
    let errors = errors.await.unwrap_or_default();
    if !status.success() {
        return Err(CopyError::Damaged {
            path: path.to_owned(),
            reason: last_line(&errors).unwrap_or_else(|| status.to_string()),
        });
    }
    if !counts.contains_key("_sqlx_migrations") || !counts.contains_key("contacts") {
        return Err(CopyError::NotABackup {
            path: path.to_owned(),
            reason: "it has no contact list".into(),
        });
    }
    let counts = RowCounts(
        COUNTED_TABLES
            .iter()
            .map(|(table, _, _)| {
                (
                    (*table).to_owned(),
                    counts.get(*table).copied().unwrap_or(0),
                )
            })
            .collect(),
    );
    let schema = SchemaState::of(Backend::Postgres, applied);
    Ok(CopyContents { counts, schema })
}

/// Counts the data lines of every `COPY table (…) FROM stdin;` block in `pg_restore`'s
/// output, and reads the first column of `_sqlx_migrations`. Rows are one line each in
/// COPY's text format (newlines in values are written `\n`).
async fn count_copy_rows(
    output: impl tokio::io::AsyncRead + Unpin,
) -> std::io::Result<(BTreeMap<String, u64>, Vec<i64>)> {
    let mut reader = tokio::io::BufReader::with_capacity(256 * 1024, output);
    let mut counts = BTreeMap::new();
    let mut migrations = Vec::new();
    let mut line = Vec::new();
    let mut table: Option<String> = None;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match &table {
            Some(_) if text == b"\\." => table = None,
            Some(name) => {
                *counts.entry(name.clone()).or_insert(0) += 1;
                if name == "_sqlx_migrations"
                    && let Some(version) = text
                        .split(|&b| b == b'\t')
                        .next()
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|v| v.parse().ok())
                {
                    migrations.push(version);
                }
            }
            None => {
                if let Some(rest) = text.strip_prefix(b"COPY ") {
                    let name = rest.split(|&b| b == b' ').next().unwrap_or_default();
                    let name = String::from_utf8_lossy(name);
                    let name = name
                        .rsplit('.')
                        .next()
                        .unwrap_or_default()
                        .trim_matches('"');
                    counts.entry(name.to_owned()).or_insert(0);
                    table = Some(name.to_owned());
                }
            }
        }
    }
    Ok((counts, migrations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_in_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[tokio::test]
    async fn copy_blocks_are_counted_row_by_row() {
        let dump = b"SET x = 1;\n\
            COPY public._sqlx_migrations (version, description) FROM stdin;\n\
            20261124000001\tinitial\n20261124000002\tindexes\n\\.\n\n\
            COPY public.contacts (id, email) FROM stdin;\n1\ta@example.org\n2\tb\\nc@example.org\n\\.\n\
            COPY public.\"tokens\" (id) FROM stdin;\n\\.\n";
        let (counts, migrations) = count_copy_rows(&dump[..]).await.unwrap();
        assert_eq!(counts.get("contacts"), Some(&2));
        assert_eq!(counts.get("_sqlx_migrations"), Some(&2));
        assert_eq!(counts.get("tokens"), Some(&0));
        assert_eq!(migrations, vec![20261124000001, 20261124000002]);
    }

    #[test]
    fn a_schema_knows_what_is_pending_and_what_is_newer() {
        let known: Vec<i64> = Backend::Sqlite
            .migrator()
            .iter()
            .map(|m| m.version)
            .collect();
        let state = SchemaState::of(Backend::Sqlite, known[..1].to_vec());
        assert_eq!(state.pending(), known[1..].to_vec());
        assert!(state.unknown().is_empty());
        let mut newer = known.clone();
        newer.push(29991231000001);
        let state = SchemaState::of(Backend::Sqlite, newer);
        assert_eq!(state.unknown(), vec![29991231000001]);
        assert!(!state.is_current());
        assert!(SchemaState::of(Backend::Sqlite, known).is_current());
    }
}
