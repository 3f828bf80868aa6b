//! Inbound mail: handle a message (from the MTA pipe, the mailbox or the admin API),
//! list what was handled, read one, answer a forwarded request to join.

use crate::domain::InboundKind;
use crate::inbound::{
    AnswerError, Channel, Envelope, Handled, Inbound, InboundError,
    imap::{ImapError, ImapMailbox, PollReport},
};
use crate::store::{Actor, InboundEntry, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum InboundOpsError {
    #[error("there is no inbound message #{0}")]
    NotFound(i64),
    #[error(transparent)]
    Answer(AnswerError),
    #[error(transparent)]
    Mailbox(ImapError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for InboundOpsError {
    fn from(e: StoreError) -> Self {
        InboundOpsError::Store(e)
    }
}

/// The record of handled mail, read: needs only the store.
#[derive(Clone)]
pub struct InboundRecord {
    store: Store,
}

impl InboundRecord {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Handled messages, newest first.
    pub async fn list(
        &self,
        kind: Option<InboundKind>,
        limit: u32,
    ) -> Result<Vec<InboundEntry>, InboundOpsError> {
        Ok(self.store.list_inbound(kind, i64::from(limit)).await?)
    }

    /// One handled message as staff read it: text only, attachments named.
    pub async fn readable(
        &self,
        id: i64,
    ) -> Result<(InboundEntry, crate::inbound::Readable), InboundOpsError> {
        let (entry, raw) = self.raw(id).await?;
        // Parsing a large message is CPU work: off the async threads.
        let readable = tokio::task::spawn_blocking(move || crate::inbound::readable(&raw))
            .await
            .unwrap_or_default();
        Ok((entry, readable))
    }

    /// One handled message as it arrived.
    pub async fn raw(&self, id: i64) -> Result<(InboundEntry, Vec<u8>), InboundOpsError> {
        self.store
            .inbound_message(id)
            .await?
            .ok_or(InboundOpsError::NotFound(id))
    }
}

/// Handling inbound mail; cheap to clone.
#[derive(Clone)]
pub struct InboundMail {
    inbound: Inbound,
}

impl InboundMail {
    pub fn new(inbound: Inbound) -> Self {
        Self { inbound }
    }

    /// The handler itself (the mailbox poller and the admin API take it).
    pub fn handler(&self) -> &Inbound {
        &self.inbound
    }

    /// Reads one raw message, acts on it and records it. A temporary error means
    /// nothing was recorded and the message should be offered again later.
    pub async fn handle(
        &self,
        raw: &[u8],
        channel: Channel,
        envelope: &Envelope,
    ) -> Result<Handled, InboundError> {
        self.inbound.handle(raw, channel, envelope).await
    }

    /// Mails the confirmation link to the person who wrote a forwarded request that
    /// was kept for staff (they still have to use it).
    pub async fn answer_forwarded(
        &self,
        id: i64,
        actor: &Actor,
    ) -> Result<Handled, InboundOpsError> {
        self.inbound
            .answer_forwarded(id, actor)
            .await
            .map_err(|e| match e {
                AnswerError::NotFound(id) => InboundOpsError::NotFound(id),
                other => InboundOpsError::Answer(other),
            })
    }

    /// Reads the mailbox once.
    pub async fn poll_once(&self, mailbox: &ImapMailbox) -> Result<PollReport, InboundOpsError> {
        mailbox
            .poll_once(&self.inbound)
            .await
            .map_err(InboundOpsError::Mailbox)
    }
}
