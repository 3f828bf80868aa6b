//! Where finished messages go. The outbox folder is the default for a new user: every
//! message becomes one `.eml` file. (The SMTP relay arrives with dispatch.)

use std::path::{Path, PathBuf};

use crate::domain::{Timestamp, TokenSecret};

#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per message in this folder.
    Outbox(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not write to the outbox {path}: {source}")]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Transport {
    /// Delivers one message. For the outbox the file appears complete or not at all:
    /// it is written under a temporary name and renamed.
    pub async fn send(&self, message: Vec<u8>) -> Result<PathBuf, TransportError> {
        match self {
            Transport::Outbox(dir) => write_eml(dir, message).await,
        }
    }
}

async fn write_eml(dir: &Path, message: Vec<u8>) -> Result<PathBuf, TransportError> {
    let fail = |source| TransportError::Outbox {
        path: dir.to_owned(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    // Time first, so the folder lists in sending order; a random tail keeps names unique
    // across processes.
    let name = format!(
        "{:013}-{}",
        Timestamp::now().unix_ms(),
        &TokenSecret::generate().as_str()[..12]
    );
    let partial = dir.join(format!(".{name}.tmp"));
    let path = dir.join(format!("{name}.eml"));
    tokio::fs::write(&partial, message).await.map_err(fail)?;
    tokio::fs::rename(&partial, &path).await.map_err(fail)?;
    Ok(path)
}
