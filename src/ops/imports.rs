//! Importing a CSV file from the staff web admin: the file is checked first (a dry run:
//! every rejected row with its line and reason, the counts) and imported only when staff
//! confirm, each step in the background with its progress, so a large file neither
//! holds a request open nor leaves the page blank. The same rules as `contacts import`:
//! one transaction, nothing half-written.
//!
//! An uploaded file waits in a folder this process made for itself (a fresh random
//! name, mode 0700; never a folder that was there before), as a file only we can read
//! (0600). The check reads the bytes as uploaded and keeps their SHA-256; the confirmed
//! import reads the file back and imports it only if it still has that hash, so what is
//! imported is exactly what staff saw checked. Files of imports cancelled, finished or
//! forgotten (an hour after upload) are removed, and so, at start-up, are the folders
//! of processes that are gone.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::contacts::Contacts;
use crate::contact_csv::{Encoding, ImportEvent, ImportOptions, ImportSummary, Problem};
use crate::store::Actor;

/// The largest file the web admin takes (about 400,000 rows of a usual list; larger
/// lists go through `contacts import` on the command line).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Problems kept for the report; the counts hold them all.
const MAX_PROBLEMS_SHOWN: usize = 1_000;
/// An unfinished or unconfirmed import is forgotten (and its file deleted) after this.
pub const JOB_LIFETIME: Duration = Duration::from_secs(3600);
/// The start of the name of every upload folder: `nyhetsbrev-imports-<pid>-<random>`.
const FOLDER_PREFIX: &str = "nyhetsbrev-imports-";
/// What staff read when the file changed between the check and the import.
pub const FILE_CHANGED: &str =
    "Filen er endret etter at den ble sjekket, så ingenting er importert. Last den opp på nytt.";

/// What staff chose for an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportChoice {
    /// The file is in the character set older Excel versions save (Windows-1252).
    pub latin1: bool,
    /// Update name and organisation of contacts already on the list.
    pub update: bool,
}

/// The outcome of a check or an import.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub summary: ImportSummary,
    /// The first problems (rejected rows, repeats), in file order.
    pub problems: Vec<Problem>,
    /// Columns of the header that the import does not read.
    pub ignored_columns: Vec<String>,
}

/// Where a job stands.
#[derive(Debug, Clone)]
pub enum JobState {
    /// The file is being checked: bytes read so far.
    Checking { bytes: u64 },
    /// Checked; nothing written. Waiting for staff to confirm.
    Checked(ImportReport),
    /// Being imported: bytes read so far.
    Importing { bytes: u64 },
    /// Imported.
    Imported(ImportReport),
    /// The file could not be imported at all (in bokmål), or staff cancelled.
    Failed(String),
}

/// One import, as its page shows it.
#[derive(Debug, Clone)]
pub struct ImportJob {
    pub file_name: String,
    pub size: u64,
    pub choice: ImportChoice,
    pub state: JobState,
}

struct Job {
    owner: String,
    path: PathBuf,
    /// The SHA-256 of the bytes uploaded and checked: the import takes only these.
    checked_hash: [u8; 32],
    started: Instant,
    view: ImportJob,
}

type Jobs = Mutex<HashMap<String, Job>>;

/// The upload folder of this process, removed with everything in it when the last
/// [`ImportJobs`] goes.
struct UploadFolder {
    path: PathBuf,
    /// Device and inode when we made it: a folder at the path that is not this one
    /// (ours was cleaned away, and someone made another by that name) is not used.
    identity: (u64, u64),
}

impl UploadFolder {
    fn still_ours(&self) -> bool {
        std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.is_dir() && (m.dev(), m.ino()) == self.identity)
    }
}

impl Drop for UploadFolder {
    fn drop(&mut self) {
        if self.still_ours() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The imports in progress in this process; cheap to clone.
#[derive(Clone)]
pub struct ImportJobs {
    contacts: Contacts,
    /// Where the upload folder is made (the system's temporary folder).
    parent: PathBuf,
    /// Made at the first upload.
    folder: Arc<Mutex<Option<UploadFolder>>>,
    jobs: Arc<Jobs>,
}

/// Why an upload was not taken.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {MAX_IMPORT_BYTES} bytes")]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("could not keep the file for the import: {0}")]
    Keep(std::io::Error),
}

impl ImportJobs {
    /// Uploaded files wait in a folder of their own made under `parent` at the first
    /// upload, until imported or forgotten. Upload folders under `parent` left by
    /// processes that are gone (killed before they could clean up) are removed now.
    pub fn new(contacts: Contacts, parent: PathBuf) -> Self {
        remove_leftover_folders(&parent);
        Self {
            contacts,
            parent,
            folder: Arc::new(Mutex::new(None)),
            jobs: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The folder uploads wait in, once the first one came.
    pub fn upload_folder(&self) -> Option<PathBuf> {
        self.folder
            .lock()
            .expect("upload folder")
            .as_ref()
            .map(|f| f.path.clone())
    }

    /// The upload folder, made now if it is not there yet: a new random name under
    /// `parent`, mode 0700 whatever the umask. A name that exists is never taken.
    fn folder(&self) -> std::io::Result<PathBuf> {
        let mut folder = self.folder.lock().expect("upload folder");
        if let Some(folder) = &*folder
            && folder.still_ours()
        {
            return Ok(folder.path.clone());
        }
        let mut attempt = 0;
        let path = loop {
            let random = crate::domain::TokenSecret::generate();
            let path = self.parent.join(format!(
                "{FOLDER_PREFIX}{}-{}",
                std::process::id(),
                &random.as_str()[..20]
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 5 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        let made = std::fs::symlink_metadata(&path)?;
        *folder = Some(UploadFolder {
            path: path.clone(),
            identity: (made.dev(), made.ino()),
        });
        Ok(path)
    }

    /// Keeps an uploaded file and starts checking it; returns the job's token (only
    /// `owner` can see or confirm it).
    pub fn start(
        &self,
        owner: &str,
        file_name: &str,
        bytes: Vec<u8>,
        choice: ImportChoice,
    ) -> Result<String, UploadError> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(UploadError::TooLarge);
        }
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        self.forget_older_than(JOB_LIFETIME);
        let token = crate::domain::TokenSecret::generate().as_str().to_owned();
        let folder = self.folder().map_err(UploadError::Keep)?;
        let path = folder.join(format!("import-{}.csv", &token[..16]));
        keep_file(&path, &bytes).map_err(UploadError::Keep)?;
        let checked_hash: [u8; 32] = Sha256::digest(&bytes).into();
        let file_name: String = file_name
            .chars()
            .filter(|c| !c.is_control() && !crate::domain::is_direction_override(*c))
            .take(200)
            .collect();
        let view = ImportJob {
            file_name,
            size: bytes.len() as u64,
            choice,
            state: JobState::Checking { bytes: 0 },
        };
        self.jobs.lock().expect("import jobs").insert(
            token.clone(),
            Job {
                owner: owner.to_owned(),
                path,
                checked_hash,
                started: Instant::now(),
                view,
            },
        );
        // Forgotten an hour on even if nobody uploads or looks again.
        let jobs = Arc::downgrade(&self.jobs);
        tokio::spawn(async move {
            tokio::time::sleep(JOB_LIFETIME + Duration::from_secs(1)).await;
            forget_in(&jobs, JOB_LIFETIME);
        });
        // The check reads the bytes as uploaded: the hash above is of what it saw.
        self.run(&token, true, Some(bytes));
        Ok(token)
    }

    /// The job `token` of `owner`, as its page shows it.
    pub fn get(&self, owner: &str, token: &str) -> Option<ImportJob> {
        self.forget_older_than(JOB_LIFETIME);
        let jobs = self.jobs.lock().expect("import jobs");
        jobs.get(token)
            .filter(|job| job.owner == owner)
            .map(|job| job.view.clone())
    }

    /// Imports a checked file for real. False if the job is not `owner`'s or not
    /// waiting for confirmation (already confirmed: a second click does nothing).
    pub fn confirm(&self, owner: &str, token: &str) -> bool {
        {
            let mut jobs = self.jobs.lock().expect("import jobs");
            let Some(job) = jobs.get_mut(token).filter(|job| job.owner == owner) else {
                return false;
            };
            if !matches!(job.view.state, JobState::Checked(_)) {
                return false;
            }
            job.view.state = JobState::Importing { bytes: 0 };
        }
        // The import reads the file back, and takes it only as it was checked.
        self.run(token, false, None);
        true
    }

    /// Drops a checked file without importing it.
    pub fn cancel(&self, owner: &str, token: &str) -> bool {
        let mut jobs = self.jobs.lock().expect("import jobs");
        let Some(job) = jobs.get_mut(token).filter(|job| job.owner == owner) else {
            return false;
        };
        if !matches!(job.view.state, JobState::Checked(_)) {
            return false;
        }
        let _ = std::fs::remove_file(&job.path);
        job.view.state = JobState::Failed("Importen er avbrutt. Ingenting er endret.".into());
        true
    }

    /// Forgets the jobs uploaded longer than `age` ago that are not running, and
    /// removes their files; returns how many. (Done by itself after [`JOB_LIFETIME`].)
    pub fn forget_older_than(&self, age: Duration) -> usize {
        forget_older(&self.jobs, age)
    }

    /// Runs the check (`dry_run`, on the uploaded bytes) or the import (of the file
    /// read back, if it is still the one checked) in the background, updating the job.
    fn run(&self, token: &str, dry_run: bool, uploaded: Option<Vec<u8>>) {
        let (path, checked_hash, label, choice, owner) = {
            let jobs = self.jobs.lock().expect("import jobs");
            let Some(job) = jobs.get(token) else {
                return;
            };
            (
                job.path.clone(),
                job.checked_hash,
                job.view.file_name.clone(),
                job.view.choice,
                job.owner.clone(),
            )
        };
        let this = self.clone();
        let token = token.to_owned();
        // The job's span: a child of the request that started it (the upload, the
        // confirmation), named by an id that is not the job's secret token.
        let span = tracing::info_span!("import", job = %job_id(&token), dry_run);
        let job = async move {
            let options = ImportOptions {
                encoding: if choice.latin1 {
                    Encoding::Latin1
                } else {
                    Encoding::Utf8
                },
                update: choice.update,
                dry_run,
                ..ImportOptions::default()
            };
            let bytes = match uploaded {
                Some(bytes) => bytes,
                None => match read_checked(path.clone(), checked_hash).await {
                    Ok(bytes) => bytes,
                    Err(words) => {
                        this.set(&token, JobState::Failed(words.into()));
                        let _ = std::fs::remove_file(&path);
                        return;
                    }
                },
            };
            let mut problems: Vec<Problem> = Vec::new();
            let mut ignored: Vec<String> = Vec::new();
            let progress = this.clone();
            let progress_token = token.clone();
            let result = this
                .contacts
                .import(
                    std::io::Cursor::new(bytes),
                    &label,
                    &options,
                    &Actor::web(&owner),
                    |event| match event {
                        ImportEvent::Started {
                            ignored_columns, ..
                        } => ignored = ignored_columns.to_vec(),
                        ImportEvent::Problem(problem) => {
                            if problems.len() < MAX_PROBLEMS_SHOWN {
                                problems.push(problem.clone());
                            }
                        }
                        ImportEvent::Progress { bytes } => {
                            let state = if dry_run {
                                JobState::Checking { bytes }
                            } else {
                                JobState::Importing { bytes }
                            };
                            progress.set(&progress_token, state);
                        }
                    },
                )
                .await;
            let state = match result {
                Ok(summary) => {
                    let report = ImportReport {
                        summary,
                        problems,
                        ignored_columns: ignored,
                    };
                    if dry_run {
                        JobState::Checked(report)
                    } else {
                        JobState::Imported(report)
                    }
                }
                Err(super::ContactError::Import(e)) => match e.norwegian() {
                    Some(words) => JobState::Failed(words),
                    None => {
                        tracing::error!(error = %e, "a web import failed");
                        JobState::Failed(
                            "Databasen svarte ikke. Ingenting er endret. Prøv igjen om litt."
                                .into(),
                        )
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "a web import failed");
                    JobState::Failed(
                        "Importen stoppet. Ingenting er endret. Prøv igjen om litt.".into(),
                    )
                }
            };
            let done = !dry_run || matches!(state, JobState::Failed(_));
            this.set(&token, state);
            if done {
                let _ = std::fs::remove_file(&path);
            }
        };
        tokio::spawn(tracing::Instrument::instrument(job, span));
    }

    fn set(&self, token: &str, state: JobState) {
        if let Some(job) = self.jobs.lock().expect("import jobs").get_mut(token) {
            job.view.state = state;
        }
    }
}

/// Writes an upload as a new file only this user can read (0600 whatever the umask);
/// an existing file (or a link planted in its place) is never written through.
/// A job's name in the log: the start of its token's hash, which opens nothing.
fn job_id(token: &str) -> String {
    Sha256::digest(token.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn keep_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.flush()
}

/// The kept file's bytes if they are still the ones checked (their SHA-256 is
/// `checked_hash`); otherwise what staff read.
async fn read_checked(path: PathBuf, checked_hash: [u8; 32]) -> Result<Vec<u8>, &'static str> {
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_IMPORT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    })
    .await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "an uploaded import file is gone");
            return Err("Filen er borte. Last den opp på nytt.");
        }
        Err(e) => {
            tracing::error!(error = %e, "reading an uploaded import file failed");
            return Err("Filen er borte. Last den opp på nytt.");
        }
    };
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    if hash != checked_hash {
        tracing::warn!("an uploaded import file changed between its check and the import: refused");
        return Err(FILE_CHANGED);
    }
    Ok(bytes)
}

/// Forgets jobs older than `age` that are not running, removing their files.
fn forget_older(jobs: &Jobs, age: Duration) -> usize {
    let mut jobs = jobs.lock().expect("import jobs");
    let before = jobs.len();
    jobs.retain(|_, job| {
        let busy = matches!(
            job.view.state,
            JobState::Checking { .. } | JobState::Importing { .. }
        );
        let keep = busy || job.started.elapsed() < age;
        if !keep {
            let _ = std::fs::remove_file(&job.path);
        }
        keep
    });
    before - jobs.len()
}

/// [`forget_older`] for a timer that must not keep the jobs alive.
fn forget_in(jobs: &Weak<Jobs>, age: Duration) {
    if let Some(jobs) = jobs.upgrade() {
        forget_older(&jobs, age);
    }
}

/// Removes the upload folders under `parent` of processes that are gone (a process
/// killed before it could clean up): named like ours, owned by this user, not a link,
/// and the process id in the name runs no process. Only where `/proc` tells which
/// processes run; otherwise nothing is touched.
fn remove_leftover_folders(parent: &Path) {
    let Ok(me) = std::fs::metadata("/proc/self") else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(FOLDER_PREFIX)) else {
            continue;
        };
        let Ok(pid) = rest.split('-').next().unwrap_or_default().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me.uid() {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "removed the uploads of a process that is gone")
            }
            Err(e) => {
                tracing::warn!(error = %e, folder = %path.display(), "could not remove an old upload folder")
            }
        }
    }
}
