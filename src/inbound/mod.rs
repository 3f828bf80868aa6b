//! Inbound mail: requests to join or leave sent by e-mail, and delivery reports.
//!
//! A raw message comes from an MTA pipe (`nyhetsbrev inbound`), a polled IMAP mailbox
//! (`imap.rs`) or the admin API. [`classify`] decides what it is without touching
//! anything; [`Inbound::handle`] acts on it and records it in `inbound_messages`. Every
//! message is recorded, whatever it is, so nothing is dropped; the same bytes twice are
//! handled once.
//!
//! `act.rs` acts on what a message was read as, `held.rs` holds requests for staff to
//! answer.

mod act;
mod bounce;
mod classify;
mod held;
pub mod imap;
mod outcome;
mod readable;
mod reason;

use sha2::{Digest, Sha256};

pub use bounce::{BounceReport, BouncedRecipient};
pub use classify::{BounceTag, Classified, Envelope, Kind, OwnAddresses, Summary, classify};
pub use held::AnswerError;
pub use outcome::InboundOutcome;
pub use readable::{Readable, readable};
pub use reason::Reason;

use crate::domain::{InboundId, InboundKind};
use crate::notices::Notices;
use crate::store::{Actor, NewInbound, Store, StoreError};

/// Where a message came from (stored with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdin,
    Imap,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stdin => "stdin",
            Channel::Imap => "imap",
            Channel::Api => "api",
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Its row in `inbound_messages`.
    pub id: InboundId,
    pub kind: InboundKind,
    /// What was done, as stored: [`InboundOutcome::parse`] reads it back.
    pub result: String,
    /// The same bytes were handled before; nothing was done again.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the message is {size} bytes; the limit is {limit} (inbound_max_size)")]
    TooLarge { size: usize, limit: usize },
    #[error("could not record the message: {0}")]
    Store(StoreError),
}

impl InboundError {
    /// Worth trying again later (the MTA's EX_TEMPFAIL, the mailbox's next poll): the
    /// message was not recorded and nothing of it is lost.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, InboundError::TooLarge { .. })
    }
}

/// Acts on inbound messages.
#[derive(Clone)]
pub struct Inbound {
    store: Store,
    own: OwnAddresses,
    notices: Notices,
    bounce_threshold: u32,
    max_size: usize,
}

impl Inbound {
    /// `bounce_threshold`: hard bounces after which a contact counts as bounced;
    /// `max_size`: larger messages are refused.
    pub fn new(
        store: Store,
        own: OwnAddresses,
        notices: Notices,
        bounce_threshold: u32,
        max_size: usize,
    ) -> Self {
        Self {
            store,
            own,
            notices,
            bounce_threshold,
            max_size,
        }
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The store the handler records in (for the operations that audit around it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads one raw message, acts on it and records it.
    pub async fn handle(
        &self,
        raw: &[u8],
        channel: Channel,
        envelope: &Envelope,
    ) -> Result<Handled, InboundError> {
        self.handle_by(raw, channel, envelope, None).await
    }

    /// [`Inbound::handle`] for a message someone handed in (an API token's holder):
    /// the changes it makes are audited as done by `poster` instead of `inbound:…`.
    /// One span per message: the way it came, and its id once it is recorded (never
    /// its sender: a span's fields reach the log).
    #[tracing::instrument(
        name = "inbound",
        skip_all,
        fields(channel = channel.as_str(), inbound_id = tracing::field::Empty)
    )]
    pub async fn handle_by(
        &self,
        raw: &[u8],
        channel: Channel,
        envelope: &Envelope,
        poster: Option<&Actor>,
    ) -> Result<Handled, InboundError> {
        if raw.len() > self.max_size {
            return Err(InboundError::TooLarge {
                size: raw.len(),
                limit: self.max_size,
            });
        }
        let hash = hex(&Sha256::digest(raw));
        if let Some(seen) = self.store.inbound_by_hash(&hash).await? {
            tracing::Span::current().record("inbound_id", tracing::field::display(seen.id));
            return Ok(Handled {
                id: seen.id,
                kind: seen.kind,
                result: seen.result,
                duplicate: true,
            });
        }
        // Parsing a hostile message is CPU work on untrusted input: keep it off the
        // async workers.
        let parsed = {
            let raw = raw.to_vec();
            let own = self.own_for(channel);
            let envelope = envelope.clone();
            tokio::task::spawn_blocking(move || classify(&raw, &own, &envelope))
                .await
                .unwrap_or_else(|_| Classified {
                    summary: Summary::default(),
                    kind: Kind::Unreadable {
                        reason: Reason::CouldNotParse,
                    },
                })
        };
        let action = self.act(&parsed, poster).await?;
        let kind = action.kind.unwrap_or(parsed.kind.kind());
        let summary = &parsed.summary;
        let result = action.result.english();
        let id = self
            .store
            .record_inbound(&NewInbound {
                channel: channel.as_str(),
                raw,
                raw_sha256: &hash,
                from_address: summary.from.as_deref().map(|s| clip(s, 320)),
                subject: summary.subject.as_deref().map(|s| clip(s, 500)),
                message_id: summary.message_id.as_deref().map(|s| clip(s, 500)),
                sent_at: summary.date_ms,
                kind,
                result: &result,
                contact_id: action.contact_id,
                delivery_id: action.delivery_id,
            })
            .await?;
        tracing::Span::current().record("inbound_id", tracing::field::display(id));
        // Not the result in words: it can name the sender's address (staff read it on
        // the message's page).
        tracing::info!(id = %id, kind = kind.as_str(), "inbound message handled");
        crate::metrics::counters()
            .inbound_handled
            .get_or_create(&vec![("kind", kind.as_str().to_owned())])
            .inc();
        self.send_queued().await;
        Ok(Handled {
            id,
            kind,
            result,
            duplicate: false,
        })
    }

    /// Our addresses as classifying mail from `channel` needs them. Mail posted to the
    /// API went through no receiving server of ours: an `Authentication-Results` in
    /// its bytes is the poster's own word, so no sender of it counts as verified.
    fn own_for(&self, channel: Channel) -> OwnAddresses {
        let mut own = self.own.clone();
        if channel == Channel::Api {
            own.trusted_authserv_id = None;
        }
        own
    }

    /// Sends what acting queued (confirmation, leave link) now, where the message was
    /// handled; what cannot go now waits in the queue for the service's sender.
    async fn send_queued(&self) {
        if let Err(e) = self.notices.send_due().await {
            tracing::warn!(error = %e, "queued confirmation not sent yet");
        }
    }
}

fn clip(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(StoreError => InboundError::Store);
