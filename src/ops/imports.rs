//! Importing a CSV file from the staff web admin: the file is checked first (a dry run:
//! every rejected row with its line and reason, the counts) and imported only when staff
//! confirm, each step in the background with its progress, so a large file neither
//! holds a request open nor leaves the page blank. The same rules as `contacts import`:
//! one transaction, nothing half-written.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::contacts::Contacts;
use crate::contact_csv::{Encoding, ImportEvent, ImportOptions, ImportSummary, Problem};
use crate::store::Actor;

/// The largest file the web admin takes (about 400,000 rows of a usual list; larger
/// lists go through `contacts import` on the command line).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Problems kept for the report; the counts hold them all.
const MAX_PROBLEMS_SHOWN: usize = 1_000;
/// An unfinished or unconfirmed import is forgotten (and its file deleted) after this.
const JOB_LIFETIME: Duration = Duration::from_secs(3600);

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
    started: Instant,
    view: ImportJob,
}

/// The imports in progress in this process; cheap to clone.
#[derive(Clone)]
pub struct ImportJobs {
    contacts: Contacts,
    dir: PathBuf,
    jobs: Arc<Mutex<HashMap<String, Job>>>,
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
    /// Uploaded files wait in `dir` (created if missing) until imported or forgotten.
    pub fn new(contacts: Contacts, dir: PathBuf) -> Self {
        Self {
            contacts,
            dir,
            jobs: Arc::new(Mutex::new(HashMap::new())),
        }
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
        self.forget_old();
        let token = crate::domain::TokenSecret::generate().as_str().to_owned();
        std::fs::create_dir_all(&self.dir).map_err(UploadError::Keep)?;
        let path = self.dir.join(format!("import-{}.csv", &token[..16]));
        std::fs::write(&path, &bytes).map_err(UploadError::Keep)?;
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
                started: Instant::now(),
                view,
            },
        );
        self.run(&token, true);
        Ok(token)
    }

    /// The job `token` of `owner`, as its page shows it.
    pub fn get(&self, owner: &str, token: &str) -> Option<ImportJob> {
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
        self.run(token, false);
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

    fn forget_old(&self) {
        let mut jobs = self.jobs.lock().expect("import jobs");
        jobs.retain(|_, job| {
            let busy = matches!(
                job.view.state,
                JobState::Checking { .. } | JobState::Importing { .. }
            );
            let keep = busy || job.started.elapsed() < JOB_LIFETIME;
            if !keep {
                let _ = std::fs::remove_file(&job.path);
            }
            keep
        });
    }

    /// Runs the check (`dry_run`) or the import in the background, updating the job.
    fn run(&self, token: &str, dry_run: bool) {
        let (path, label, choice, owner) = {
            let jobs = self.jobs.lock().expect("import jobs");
            let Some(job) = jobs.get(token) else {
                return;
            };
            (
                job.path.clone(),
                job.view.file_name.clone(),
                job.view.choice,
                job.owner.clone(),
            )
        };
        let this = self.clone();
        let token = token.to_owned();
        tokio::spawn(async move {
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
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) => {
                    tracing::error!(error = %e, "an uploaded import file is gone");
                    this.set(
                        &token,
                        JobState::Failed("Filen er borte. Last den opp på nytt.".into()),
                    );
                    return;
                }
            };
            let mut problems: Vec<Problem> = Vec::new();
            let mut ignored: Vec<String> = Vec::new();
            let progress = this.clone();
            let progress_token = token.clone();
            let result = this
                .contacts
                .import(
                    std::io::BufReader::new(file),
                    &label,
                    &options,
                    &Actor::new(format!("web:{owner}")),
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
        });
    }

    fn set(&self, token: &str, state: JobState) {
        if let Some(job) = self.jobs.lock().expect("import jobs").get_mut(token) {
            job.view.state = state;
        }
    }
}
