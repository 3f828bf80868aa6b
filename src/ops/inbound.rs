//! Inbound mail: handle a message (from the MTA pipe, the mailbox or the admin API),
//! list what was handled, read one, answer a request to join kept for staff.

use crate::domain::AuditAction;
use crate::domain::{
    ApiTokenName, Consent, ConsentNote, ConsentSource, Contact, ContactName, ContactStatus,
    EmailAddress, InboundId, InboundKind, NewContact, Organisation,
};
use crate::inbound::{
    AnswerError, Channel, Envelope, Handled, Inbound, InboundError,
    imap::{ImapError, ImapMailbox, PollReport},
};
use crate::store::{Actor, InboundEntry, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum InboundOpsError {
    #[error("there is no inbound message #{0}")]
    NotFound(InboundId),
    #[error("inbound message #{0} has no sender address that mail can go to")]
    NoSender(InboundId),
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

/// Kept messages on one page of the staff list.
const KEPT_PAGE: i64 = 50;

/// The contact a kept message's sender would become.
#[derive(Debug, Clone)]
pub struct SenderContact {
    pub email: EmailAddress,
    /// The display name of the From header.
    pub name: Option<String>,
    /// When the message was written (its Date), or else received.
    pub asked_at: crate::domain::Timestamp,
    /// The consent note: the request's date and Message-ID.
    pub note: String,
    pub message_id: Option<String>,
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

    /// Kept messages for staff, newest first, older than `before`; and whether there
    /// are more.
    pub async fn for_staff(
        &self,
        include_handled: bool,
        before: Option<InboundId>,
    ) -> Result<(Vec<InboundEntry>, bool), InboundOpsError> {
        Ok(self
            .store
            .inbound_for_staff(include_handled, before, KEPT_PAGE)
            .await?)
    }

    /// How many kept messages wait for staff.
    pub async fn waiting(&self) -> Result<i64, InboundOpsError> {
        Ok(self.store.inbound_waiting().await?)
    }

    /// Marks a kept message as dealt with; false if it already was.
    pub async fn mark_handled(
        &self,
        id: InboundId,
        actor: &Actor,
    ) -> Result<bool, InboundOpsError> {
        self.raw(id).await?;
        Ok(self.store.mark_inbound_handled(id, actor).await?)
    }

    /// What adding the sender of message `id` as a contact would record: the address,
    /// the name the sender gave, and the consent (a request by e-mail at the message's
    /// date, its Message-ID in the note). Nothing is written.
    pub async fn sender_as_contact(&self, id: InboundId) -> Result<SenderContact, InboundOpsError> {
        let (entry, raw) = self.raw(id).await?;
        let readable = tokio::task::spawn_blocking(move || crate::inbound::readable(&raw))
            .await
            .unwrap_or_default();
        let email = entry
            .from_address
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok())
            .ok_or(InboundOpsError::NoSender(id))?;
        let name = readable
            .from
            .split_once(" <")
            .map(|(name, _)| name.trim().trim_matches('"').to_owned())
            .filter(|n| !n.is_empty());
        let asked_at = crate::domain::Timestamp::parse_date(&readable.date)
            .ok()
            .filter(|t| *t <= entry.received_at)
            .unwrap_or(entry.received_at);
        let mut note = format!("forespørsel på e-post {}", asked_at.to_rfc3339());
        if let Some(message_id) = &entry.message_id {
            note.push_str(&format!(
                ", Message-ID <{}>",
                message_id.trim_matches(['<', '>'])
            ));
        }
        let note: String = note
            .chars()
            .filter(|c| !c.is_control())
            .take(crate::domain::ConsentNote::MAX_CHARS)
            .collect();
        Ok(SenderContact {
            email,
            name,
            asked_at,
            note,
            message_id: entry.message_id,
        })
    }

    /// Adds the sender of message `id` as a confirmed contact, the message being the
    /// consent's evidence; `name` and `organisation` as staff confirmed them.
    pub async fn add_sender(
        &self,
        id: InboundId,
        name: Option<ContactName>,
        organisation: Option<Organisation>,
        actor: &Actor,
    ) -> Result<Contact, InboundOpsError> {
        let sender = self.sender_as_contact(id).await?;
        let new = NewContact {
            email: sender.email,
            name,
            organisation,
            status: ContactStatus::Confirmed,
            consent: Consent {
                source: ConsentSource::EmailRequest,
                at: sender.asked_at,
                note: ConsentNote::parse(&sender.note).ok().flatten(),
            },
            publications: crate::domain::PublicationChoice::All,
        };
        Ok(self
            .store
            .add_contact_from_inbound(&new, id, sender.message_id.as_deref(), actor)
            .await?)
    }

    /// One handled message as staff read it: text only, attachments named.
    pub async fn readable(
        &self,
        id: InboundId,
    ) -> Result<(InboundEntry, crate::inbound::Readable), InboundOpsError> {
        let (entry, raw) = self.raw(id).await?;
        // Parsing a large message is CPU work: off the async threads.
        let readable = tokio::task::spawn_blocking(move || crate::inbound::readable(&raw))
            .await
            .unwrap_or_default();
        Ok((entry, readable))
    }

    /// One handled message as it arrived.
    pub async fn raw(&self, id: InboundId) -> Result<(InboundEntry, Vec<u8>), InboundOpsError> {
        self.store
            .inbound_message(id)
            .await?
            .ok_or(InboundOpsError::NotFound(id))
    }
}

fn answer_error(e: AnswerError) -> InboundOpsError {
    match e {
        AnswerError::NotFound(id) => InboundOpsError::NotFound(id),
        other => InboundOpsError::Answer(other),
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

    /// Handles a message posted to the admin API with the token `token`: as any other
    /// door, except that nothing in its bytes verifies its sender (it came through no
    /// receiving server of ours), and that the post and every change it makes are in
    /// the audit log as the token's (`api:<name>`).
    pub async fn handle_posted(
        &self,
        raw: &[u8],
        envelope: &Envelope,
        token: &ApiTokenName,
    ) -> Result<Handled, InboundError> {
        let actor = Actor::api_token(token);
        let handled = self
            .inbound
            .handle_by(raw, Channel::Api, envelope, Some(&actor))
            .await;
        let (subject, detail) = match &handled {
            Ok(h) if h.duplicate => (
                format!("inbound #{}", h.id),
                format!(
                    "tolket som {}; samme e-post var mottatt før, ingenting gjort på nytt",
                    h.kind.norwegian()
                ),
            ),
            Ok(h) => (
                format!("inbound #{}", h.id),
                format!("tolket som {}", h.kind.norwegian()),
            ),
            Err(InboundError::TooLarge { size, limit }) => (
                String::new(),
                format!(
                    "ikke tatt imot: {size} byte er mer enn grensen på {limit} byte \
                     (grensen settes av den som drifter tjenesten)"
                ),
            ),
            // Nothing was recorded: the poster is told to try again.
            Err(InboundError::Store(_)) => return handled,
        };
        self.note_post(token, &subject, detail).await;
        handled
    }

    /// A post to the admin API whose message never arrived whole (too large, too
    /// slow), in the audit log as the token's.
    pub async fn post_not_read(&self, token: &ApiTokenName, why: &str) {
        self.note_post(token, "", format!("ikke tatt imot: {why}"))
            .await;
    }

    async fn note_post(&self, token: &ApiTokenName, subject: &str, detail: String) {
        let actor = Actor::api_token(token);
        if let Err(e) = self
            .inbound
            .store()
            .log_action(&actor, AuditAction::InboundApiPost, subject, Some(detail))
            .await
        {
            tracing::error!(error = %e, "could not write an API post to the audit log");
        }
    }

    /// Mails the confirmation link for a request to join that was kept for staff
    /// (forwarded by someone else, or from a sender nobody verified); the person still
    /// has to use it.
    pub async fn answer_held(
        &self,
        id: InboundId,
        actor: &Actor,
    ) -> Result<Handled, InboundOpsError> {
        self.inbound
            .answer_held(id, actor)
            .await
            .map_err(answer_error)
    }

    /// Whether message `id` is a kept request to join staff can answer.
    pub async fn can_answer(&self, id: InboundId) -> Result<bool, InboundOpsError> {
        self.inbound.can_answer(id).await.map_err(answer_error)
    }

    /// Reads the mailbox once.
    pub async fn poll_once(&self, mailbox: &ImapMailbox) -> Result<PollReport, InboundOpsError> {
        mailbox
            .poll_once(&self.inbound)
            .await
            .map_err(InboundOpsError::Mailbox)
    }
}
