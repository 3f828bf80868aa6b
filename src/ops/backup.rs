//! Backups: a checked copy of the database made while the service runs and sends, the
//! copies `serve` makes by itself and how many it keeps, and putting a backup back.
//!
//! The rules: a backup never overwrites a file and never leaves a half-written one; a
//! copy counts as made only once it has been read back (integrity and rows); a restore
//! checks the backup first, goes ahead only when nothing is using the database, and
//! keeps the file it replaces. On a refusal the live database is not touched.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::config::DatabaseUrl;
use crate::domain::AuditAction;
use crate::domain::Timestamp;
use crate::store::{
    Actor, Backend, CopyContents, CopyError, InUse, Store, StoreError, pg_dump, pg_restore,
    read_pg_dump, read_sqlite_copy,
};

/// The audit entry of a backup made (its age is shown on the metrics).
pub const BACKUP_ACTION: AuditAction = AuditAction::BackupMade;
pub const RESTORE_ACTION: AuditAction = AuditAction::DatabaseRestored;

/// The names `serve` gives the backups it makes; only files named so are ever removed.
const SCHEDULED_PREFIX: &str = "nyhetsbrev-";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} exists already: a backup never overwrites a file, give a new name", .0.display())]
    Exists(PathBuf),
    #[error(
        "{} is a folder: give the backup a file name, such as {}",
        .0.display(), .0.join(.1).display()
    )]
    Folder(PathBuf, String),
    #[error("the folder {} does not exist: create it or give another path", .0.display())]
    NoFolder(PathBuf),
    #[error("cannot write {} ({reason}): choose a folder this user may write to", .path.display())]
    NotWritable { path: PathBuf, reason: String },
    #[error(
        "the disk holding {} is full (the database takes about {size}): free space there or choose another place",
        .path.display()
    )]
    DiskFull { path: PathBuf, size: String },
    #[error("{} cannot be read: {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the database is in use by a running nyhetsbrev (serve, worker or another command): \
         stop it first (systemctl stop 'nyhetsbrev*'), then restore"
    )]
    InUse,
    #[error(
        "the database {0} is not empty: a PostgreSQL backup goes into a new, empty database \
         (createdb …); point database_url at that one"
    )]
    NotEmpty(String),
    #[error("backups need a database file or a PostgreSQL database, not {0}")]
    NoFile(String),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not put the backup in place: {0}; the database was left as it was")]
    Swap(std::io::Error),
}

/// A backup made and read back.
#[derive(Debug, Clone)]
pub struct BackupMade {
    pub path: PathBuf,
    pub bytes: u64,
    pub contents: CopyContents,
    pub took: Duration,
}

/// A backup put in place of the database.
#[derive(Debug, Clone)]
pub struct Restored {
    pub contents: CopyContents,
    /// Where the database it replaced was kept (SQLite).
    pub replaced: Option<PathBuf>,
    /// Migrations applied after the restore, to bring an older backup up to date.
    pub migrated: usize,
}

/// Backups of the database the service uses.
#[derive(Clone)]
pub struct Backups {
    store: Store,
    url: DatabaseUrl,
}

impl Backups {
    pub fn new(store: Store, url: DatabaseUrl) -> Self {
        Self { store, url }
    }

    /// The file name a backup made at `at` gets, for this database (UTC, to the
    /// millisecond so that two never collide and the names sort by time).
    pub fn file_name(&self, at: SystemTime) -> String {
        let at = time::OffsetDateTime::from(at);
        let stamp = at
            .format(time::macros::format_description!(
                "[year]-[month]-[day]-[hour][minute][second]-[subsecond digits:3]"
            ))
            .unwrap_or_default();
        format!(
            "{SCHEDULED_PREFIX}{stamp}.{}",
            extension(self.store.backend())
        )
    }

    /// Writes a consistent copy of the database to `target`, reads it back and records
    /// it. `target` must be a new file in an existing folder.
    #[tracing::instrument(name = "backup", skip_all, fields(backend = ?self.store.backend()))]
    pub async fn make(&self, target: &Path, actor: &Actor) -> Result<BackupMade, BackupError> {
        let started = Instant::now();
        claim_target(target, &self.file_name(SystemTime::now()))?;
        let copied = match self.store.backend() {
            Backend::Sqlite => self.store.copy_sqlite_into(target).await,
            Backend::Postgres => pg_dump(&self.url, target).await,
        };
        let contents = match copied {
            Ok(()) => match self.store.backend() {
                Backend::Sqlite => read_sqlite_copy(target).await,
                Backend::Postgres => read_pg_dump(target).await,
            },
            Err(e) => Err(e),
        };
        let contents = match contents {
            Ok(contents) => contents,
            Err(e) => {
                // Never leave a half-written copy that looks like a backup.
                let _ = std::fs::remove_file(target);
                return Err(match e {
                    CopyError::DiskFull => BackupError::DiskFull {
                        path: target.to_owned(),
                        size: self.database_size(),
                    },
                    e => e.into(),
                });
            }
        };
        // pg_dump and SQLite write into the file we made, but a tool that replaced it
        // would have left it to the umask: the copy is made private again either way.
        if let Err(e) = make_private(target) {
            let _ = std::fs::remove_file(target);
            return Err(BackupError::NotWritable {
                path: target.to_owned(),
                reason: e.to_string(),
            });
        }
        let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
        let made = BackupMade {
            path: std::path::absolute(target).unwrap_or_else(|_| target.to_owned()),
            bytes,
            contents,
            took: started.elapsed(),
        };
        let detail = serde_json::json!({
            "path": made.path.display().to_string(),
            "bytes": bytes,
            "rows": made.contents.counts.0,
        });
        self.store
            .log_action(actor, BACKUP_ACTION, "", Some(detail.to_string()))
            .await?;
        tracing::info!(path = %made.path.display(), bytes, "backup made");
        Ok(made)
    }

    /// A backup into `dir` under a dated name, then the oldest of those beyond `keep`
    /// removed. Returns the backup and the files removed.
    pub async fn make_in(
        &self,
        dir: &Path,
        keep: u32,
        actor: &Actor,
    ) -> Result<(BackupMade, Vec<PathBuf>), BackupError> {
        let target = dir.join(self.file_name(SystemTime::now()));
        let made = self.make(&target, actor).await?;
        let mut removed = Vec::new();
        for old in scheduled_backups(dir, self.store.backend())
            .into_iter()
            .skip(keep.max(1) as usize)
        {
            match std::fs::remove_file(&old) {
                Ok(()) => removed.push(old),
                Err(e) => {
                    tracing::warn!(path = %old.display(), error = %e, "could not remove an old backup")
                }
            }
        }
        Ok((made, removed))
    }

    /// When the last backup was made, by any process (from the audit log).
    pub async fn last_made(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store.last_action_at(BACKUP_ACTION).await
    }

    fn database_size(&self) -> String {
        let bytes = self
            .url
            .sqlite_path()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len());
        match bytes {
            Some(bytes) => megabytes(bytes),
            None => "as much as the database".into(),
        }
    }
}

/// The backups `serve` makes by itself: every `every`, counted from the newest one in
/// `dir`, so a restart neither skips one nor makes an extra.
#[derive(Clone)]
pub struct BackupSchedule {
    pub backups: Backups,
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: u32,
}

/// After a backup that failed, the next try comes this soon (or at `every`, if sooner).
const RETRY_FAILED_BACKUP: Duration = Duration::from_secs(15 * 60);

impl BackupSchedule {
    /// Makes backups until `shutdown` turns true. Failures are logged (and the age of
    /// the last backup on the metrics grows); they never stop the service.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let actor = Actor::service(crate::domain::ServiceTask::Backup);
        let mut failed_at: Option<Instant> = None;
        loop {
            let wait = match failed_at {
                Some(at) => self
                    .every
                    .min(RETRY_FAILED_BACKUP)
                    .saturating_sub(at.elapsed()),
                None => self.due_in(),
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            match self.backups.make_in(&self.dir, self.keep, &actor).await {
                Ok((made, removed)) => {
                    failed_at = None;
                    tracing::info!(
                        path = %made.path.display(),
                        size = %megabytes(made.bytes),
                        removed = removed.len(),
                        "scheduled backup made"
                    );
                }
                Err(e) => {
                    failed_at = Some(Instant::now());
                    tracing::error!(error = %e, dir = %self.dir.display(), "scheduled backup failed");
                }
            }
        }
    }

    /// How long until the next backup is due.
    pub fn due_in(&self) -> Duration {
        let newest = scheduled_backups(&self.dir, self.backups.store.backend())
            .into_iter()
            .next()
            .and_then(|path| std::fs::metadata(path).ok())
            .and_then(|m| m.modified().ok());
        match newest.and_then(|at| at.elapsed().ok()) {
            Some(age) => self.every.saturating_sub(age),
            None => Duration::ZERO,
        }
    }
}

/// The backups `serve` made in `dir`, newest first.
pub fn scheduled_backups(dir: &Path, backend: Backend) -> Vec<PathBuf> {
    let suffix = format!(".{}", extension(backend));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(&suffix))
        })
        .collect();
    // The names carry the time, so the newest sorts last.
    found.sort();
    found.reverse();
    found
}

fn extension(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "db",
        Backend::Postgres => "pgdump",
    }
}

pub fn megabytes(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} kB", bytes.div_ceil(1024))
    }
}

/// Creates `target` as an empty file, after the checks that let a refusal say why.
fn claim_target(target: &Path, example_name: &str) -> Result<(), BackupError> {
    if target.is_dir() {
        return Err(BackupError::Folder(
            target.to_owned(),
            example_name.to_owned(),
        ));
    }
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let folder = folder_of(target);
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(folder));
    }
    // Made private from its first byte, whatever the umask: a backup holds every
    // address, the staff's password hashes and their second factors.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(target)
    {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.kind() {
            std::io::ErrorKind::AlreadyExists => BackupError::Exists(target.to_owned()),
            std::io::ErrorKind::NotFound => BackupError::NoFolder(folder),
            std::io::ErrorKind::StorageFull => BackupError::DiskFull {
                path: target.to_owned(),
                size: "some space".into(),
            },
            _ => BackupError::NotWritable {
                path: target.to_owned(),
                reason: e.to_string(),
            },
        }),
    }
}

/// Puts the backup `file` in place of the database at `url`.
///
/// SQLite: only when no store has the file open, keeping the file it replaces (with its
/// `-wal` and `-shm`) beside it as `FILE.replaced-DATE`. PostgreSQL: only into an empty
/// database with no one else connected, in one transaction. Either way the backup is
/// read back first, and the schema is brought up to date after.
pub async fn restore(
    url: &DatabaseUrl,
    file: &Path,
    actor: &Actor,
) -> Result<Restored, BackupError> {
    if let Err(e) = std::fs::File::open(file) {
        return Err(BackupError::Unreadable {
            path: file.to_owned(),
            reason: e.to_string(),
        });
    }
    if file.is_dir() {
        return Err(BackupError::Unreadable {
            path: file.to_owned(),
            reason: "it is a folder".into(),
        });
    }
    let backend =
        Backend::of_url(url.expose()).ok_or_else(|| BackupError::NoFile(url.redacted()))?;
    let (contents, replaced) = match backend {
        Backend::Sqlite => {
            let contents = read_sqlite_copy(file).await?;
            contents.refuse_newer(file)?;
            let live = url
                .sqlite_path()
                .ok_or_else(|| BackupError::NoFile(url.redacted()))?;
            let replaced = put_sqlite_in_place(file, &live)?;
            (contents, replaced)
        }
        Backend::Postgres => {
            let contents = read_pg_dump(file).await?;
            contents.refuse_newer(file)?;
            let store = Store::connect(url).await?;
            let in_use = store.other_connections().await?;
            let empty = store.is_empty().await?;
            store.close().await;
            if in_use > 0 {
                return Err(BackupError::InUse);
            }
            if !empty {
                return Err(BackupError::NotEmpty(url.redacted()));
            }
            pg_restore(url, file).await?;
            (contents, None)
        }
    };
    let migrated = contents.schema.pending().len();
    let store = Store::open(url).await?;
    let detail = serde_json::json!({
        "from": std::path::absolute(file).unwrap_or_else(|_| file.to_owned()).display().to_string(),
        "replaced": replaced.as_ref().map(|p| p.display().to_string()),
        "rows": contents.counts.0,
    });
    store
        .log_action(actor, RESTORE_ACTION, "", Some(detail.to_string()))
        .await?;
    store.close().await;
    Ok(Restored {
        contents,
        replaced,
        migrated,
    })
}

/// Swaps a checked SQLite backup in for the live file: the live file (and its `-wal`
/// and `-shm`) are renamed aside, the backup is copied in under a temporary name, made
/// durable, and renamed into place. Any failure puts the live file back.
fn put_sqlite_in_place(backup: &Path, live: &Path) -> Result<Option<PathBuf>, BackupError> {
    let folder = folder_of(live);
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(folder));
    }
    // Held until the backup is in place: a store that opens the file meanwhile finds it
    // being restored and stops.
    let _lock = if live.exists() {
        match InUse::exclusive(live) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return Err(BackupError::InUse),
            Err(e) => {
                return Err(BackupError::Unreadable {
                    path: live.to_owned(),
                    reason: e.to_string(),
                });
            }
        }
    } else {
        None
    };
    let incoming = sibling(live, ".restoring");
    // Copied into a file that is private from the start (never `fs::copy`, which takes
    // the backup's own mode): the restored database is 0600 whatever the umask and
    // whatever mode the backup file had.
    let _ = std::fs::remove_file(&incoming);
    let copied = std::fs::File::open(backup).and_then(|mut from| {
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE)
            .open(&incoming)?;
        std::io::copy(&mut from, &mut to)?;
        to.sync_all()
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&incoming);
        return Err(match e.kind() {
            std::io::ErrorKind::StorageFull => BackupError::DiskFull {
                path: folder,
                size: megabytes(std::fs::metadata(backup).map(|m| m.len()).unwrap_or(0)),
            },
            _ => BackupError::Swap(e),
        });
    }
    let replaced = if live.exists() {
        let stamp = Timestamp::now().to_rfc3339().replace(':', "");
        let aside = sibling(live, &format!(".replaced-{stamp}"));
        let moves = [("", true), ("-wal", false), ("-shm", false)];
        let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
        for (suffix, required) in moves {
            let from = sibling(live, suffix);
            let to = sibling(&aside, suffix);
            if !required && !from.exists() {
                continue;
            }
            if let Err(e) = std::fs::rename(&from, &to) {
                for (from, to) in moved.iter().rev() {
                    let _ = std::fs::rename(to, from);
                }
                let _ = std::fs::remove_file(&incoming);
                return Err(BackupError::Swap(e));
            }
            // The replaced database holds as much as the live one: private too.
            let _ = make_private(&to);
            moved.push((from, to));
        }
        Some(aside)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&incoming, live) {
        if let Some(aside) = &replaced {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::rename(sibling(aside, suffix), sibling(live, suffix));
            }
        }
        let _ = std::fs::remove_file(&incoming);
        return Err(BackupError::Swap(e));
    }
    if let Ok(dir) = std::fs::File::open(&folder) {
        let _ = dir.sync_all();
    }
    Ok(replaced)
}

/// Backups and restored databases: read and written by the service's own user only.
pub const PRIVATE_FILE: u32 = 0o600;

/// Sets `path` to [`PRIVATE_FILE`].
fn make_private(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE))
}

/// The folder a file is (to be) in; `.` for a bare file name.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(megabytes(0), "0 kB");
        assert_eq!(megabytes(1500), "2 kB");
        assert_eq!(megabytes(5 * 1024 * 1024 + 1), "5.0 MB");
    }

    #[test]
    fn a_sibling_keeps_the_folder() {
        assert_eq!(
            sibling(Path::new("/var/lib/n/n.db"), "-wal"),
            PathBuf::from("/var/lib/n/n.db-wal")
        );
    }
}
