//! Where finished messages go: an SMTP relay, or the outbox folder (one `.eml` file per
//! message), which is the default for a new user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::{Timestamp, TokenSecret};

use super::smtp::{SmtpConnection, SmtpRelay};

#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per message in this folder.
    Outbox(PathBuf),
    Smtp(Arc<SmtpRelay>),
}

/// SMTP's envelope: the bounce address (`MAIL FROM`) and the one recipient.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub from: Option<lettre::Address>,
    pub to: lettre::Address,
}

/// Why a message was not handed over, sorted by what to do next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// The relay (or the outbox folder) cannot be used at all right now: nothing is
    /// known about this message. Pause and try again; it costs the delivery no attempt.
    #[error("{0}")]
    Unavailable(String),
    /// A 4xx answer, a timeout or a dropped connection during the message: try this
    /// message again later.
    #[error("{0}")]
    Transient(String),
    /// A 5xx answer: this message will not be accepted.
    #[error("{0}")]
    Permanent(String),
}

impl Transport {
    /// Opens what a sending task keeps between messages.
    pub async fn open(&self) -> Result<Connection, SendError> {
        match self {
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    SendError::Unavailable(format!(
                        "could not create the outbox {}: {e}",
                        dir.display()
                    ))
                })?;
                Ok(Connection::Outbox(dir.clone()))
            }
            Transport::Smtp(relay) => Ok(Connection::Smtp(Box::new(relay.connect().await?))),
        }
    }

    /// Delivers one message on a connection of its own (confirmation mails, tests).
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let mut connection = self.open().await?;
        let result = connection.send(envelope, message).await;
        connection.close().await;
        result
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Outbox(dir) => format!("the outbox folder {}", dir.display()),
            Transport::Smtp(relay) => format!("the SMTP relay {}:{}", relay.host, relay.port),
        }
    }
}

/// An open way to deliver: a relay connection, or the outbox folder.
pub enum Connection {
    Outbox(PathBuf),
    Smtp(Box<SmtpConnection>),
}

impl Connection {
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        match self {
            Connection::Outbox(dir) => write_eml(dir, message).await.map(drop).map_err(|e| {
                SendError::Unavailable(format!(
                    "could not write to the outbox {}: {e}",
                    dir.display()
                ))
            }),
            Connection::Smtp(connection) => connection.send(envelope, message).await,
        }
    }

    /// False when this connection must be replaced by a new one.
    pub fn is_usable(&self) -> bool {
        match self {
            Connection::Outbox(_) => true,
            Connection::Smtp(connection) => connection.is_usable(),
        }
    }

    pub async fn close(self) {
        if let Connection::Smtp(connection) = self {
            connection.quit().await;
        }
    }
}

/// Writes one message so that the file appears complete or not at all: under a
/// temporary name, then renamed.
async fn write_eml(dir: &Path, message: &[u8]) -> std::io::Result<PathBuf> {
    // Time first, so the folder lists in sending order; a random tail keeps names unique
    // across processes.
    let name = format!(
        "{:013}-{}",
        Timestamp::now().unix_ms(),
        &TokenSecret::generate().as_str()[..12]
    );
    let partial = dir.join(format!(".{name}.tmp"));
    let path = dir.join(format!("{name}.eml"));
    tokio::fs::write(&partial, message).await?;
    tokio::fs::rename(&partial, &path).await?;
    Ok(path)
}
