//! Subscription by double opt-in: pending contacts, confirmation tokens, confirming.

use sqlx::Row;

use super::audit::Actor;
use super::contact_state::{self, Entry, Who};
use super::notices::{ConsentCarried, NoticeBudget, NoticePurpose, NoticeQueued};
use super::{Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{
    Consent, ConsentSource, ContactName, ContactStatus, EmailAddress, NewContact, Organisation,
    PublicationChoice, Timestamp, TokenSecret,
};

/// Appended to the consent note when a confirmation link is used.
const CONFIRMED_NOTE: &str = "bekreftet med lenke i e-post";

/// How a request to join was made: the consent it will become once confirmed.
#[derive(Debug, Clone)]
pub struct RequestedBy {
    pub source: ConsentSource,
    /// Evidence, such as the request mail's date and Message-ID.
    pub note: Option<crate::domain::ConsentNote>,
    /// Who the audit log names for a contact created by the request.
    pub actor: Actor,
    /// What the person asked to get.
    pub publications: PublicationChoice,
}

/// What a subscription request leads to. The visitor sees the same page in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// A confirmation mail is queued; a notice sender mails it as soon as its budget
    /// has room in the hour.
    Queued { notice_id: i64 },
    /// Already confirmed: nothing to do.
    AlreadyConfirmed,
    /// A mail went to the address less than ten minutes ago (or five today).
    RecentlySent,
}

impl From<NoticeQueued> for SubscribeOutcome {
    fn from(queued: NoticeQueued) -> Self {
        match queued {
            NoticeQueued::Queued { notice_id } => SubscribeOutcome::Queued { notice_id },
            NoticeQueued::RecentlySent => SubscribeOutcome::RecentlySent,
        }
    }
}

/// What a request to leave by mail from an unverified sender leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveLinkOutcome {
    /// A mail with a leave link is queued for the address (sent as soon as the leave
    /// links' budget has room in the hour).
    Queued {
        contact_id: ContactId,
    },
    NotOnList,
    AlreadyOut {
        contact_id: ContactId,
    },
    RecentlySent {
        contact_id: ContactId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed(EmailAddress),
    /// The link has been used (the address is confirmed already).
    AlreadyUsed,
    Expired,
    /// No such token: forged or mistyped.
    Unknown,
}

impl Store {
    /// Records a request to join from the web form: a pending contact (or the existing
    /// one) and a queued confirmation mail, spending the web form's budget.
    pub async fn request_subscription(
        &self,
        email: &EmailAddress,
        name: Option<&ContactName>,
        organisation: Option<&Organisation>,
        publications: &PublicationChoice,
        actor: &Actor,
    ) -> Result<SubscribeOutcome> {
        self.request_subscription_by(
            email,
            name,
            organisation,
            RequestedBy {
                source: ConsentSource::Web,
                note: None,
                actor: actor.clone(),
                publications: publications.clone(),
            },
            NoticeBudget::Web,
        )
        .await
        .map(|(_, outcome)| outcome)
    }

    /// Records a request to join made some way (`by`): a pending contact (or the
    /// existing one) and a queued confirmation mail whose link carries how the request
    /// was made, so the contact's consent says so once the link is used. The caps of
    /// [`Store::queue_notice`] hold however the requests come: nobody can make the
    /// service mail-bomb an address. The mail spends `budget`'s hourly room when it is
    /// sent. Returns the contact's id with the outcome.
    pub async fn request_subscription_by(
        &self,
        email: &EmailAddress,
        name: Option<&ContactName>,
        organisation: Option<&Organisation>,
        by: RequestedBy,
        budget: NoticeBudget,
    ) -> Result<(ContactId, SubscribeOutcome)> {
        let now = Timestamp::now();
        let new = NewContact {
            email: email.clone(),
            name: name.cloned(),
            organisation: organisation.cloned(),
            status: ContactStatus::Pending,
            consent: Consent {
                source: by.source,
                at: now,
                note: by.note.clone(),
            },
            publications: by.publications.clone(),
        };
        let contact = match self.add_contact(&new, &by.actor).await {
            Ok(contact) => contact,
            Err(StoreError::ContactExists(_)) => {
                let contact = self.existing_contact(email).await?;
                if contact.status == ContactStatus::Confirmed {
                    // A confirmed person changes what they get on their own page: a
                    // request in their name (from anyone) changes nothing.
                    return Ok((contact.id, SubscribeOutcome::AlreadyConfirmed));
                }
                // Not confirmed (yet, or any more): what was ticked this time is what
                // the confirmation link will start.
                let (_turn, mut tx) = self.begin_write().await?;
                super::subscriptions::set_choice(
                    &mut tx,
                    self.backend,
                    contact.id,
                    &by.publications,
                    &new.consent,
                    now.unix_ms(),
                )
                .await?;
                tx.commit().await?;
                contact
            }
            Err(e) => return Err(e),
        };
        if contact.status == ContactStatus::Confirmed {
            return Ok((contact.id, SubscribeOutcome::AlreadyConfirmed));
        }
        let carried = ConsentCarried {
            source: by.source,
            note: by.note.as_ref().map(|n| n.as_str()),
        };
        let queued = self
            .queue_notice(contact.id, NoticePurpose::Confirm, budget, Some(carried))
            .await?;
        Ok((contact.id, queued.into()))
    }

    /// Queues a mail with a leave link to `email`, for a request to leave by mail that
    /// could not be shown to come from the address: only its owner can use the link.
    /// Nothing is sent to an address that is not on the list or has left already. The
    /// mail spends the leave links' own budget.
    pub async fn request_leave_link(&self, email: &EmailAddress) -> Result<LeaveLinkOutcome> {
        let row = sqlx::query("SELECT id, status FROM contacts WHERE email_key = $1")
            .bind(email.key())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(LeaveLinkOutcome::NotOnList);
        };
        let contact_id: ContactId = row.try_get("id")?;
        if row.try_get::<String, _>("status")? == "unsubscribed" {
            return Ok(LeaveLinkOutcome::AlreadyOut { contact_id });
        }
        Ok(
            match self
                .queue_notice(contact_id, NoticePurpose::Leave, NoticeBudget::Leave, None)
                .await?
            {
                NoticeQueued::Queued { .. } => LeaveLinkOutcome::Queued { contact_id },
                NoticeQueued::RecentlySent => LeaveLinkOutcome::RecentlySent { contact_id },
            },
        )
    }

    /// Uses a confirmation link: the contact becomes confirmed, with the web as the
    /// source of consent. A link works once.
    pub async fn confirm_subscription(
        &self,
        secret: &TokenSecret,
        actor: &Actor,
    ) -> Result<ConfirmOutcome> {
        let now = Timestamp::now().unix_ms();
        let hash = secret.hash();
        let (_turn, mut tx) = self.begin_write().await?;
        // Claim the token with one guarded write, first thing in the transaction: of two
        // clicks at once exactly one claims it, and on SQLite the transaction holds the
        // write lock from its first statement (a read that later upgrades to a write can
        // fail at once with "database is locked"). The lookup compares hashes in an
        // index, which reveals nothing about the secret.
        let claimed = sqlx::query(
            "UPDATE tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = 'confirm' \
             AND used_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
             RETURNING contact_id, consent_source, consent_note",
        )
        .bind(now)
        .bind(hash.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            tx.rollback().await?;
            return self.why_unclaimed(&hash, now).await;
        };
        let contact_id: ContactId = claimed.try_get("contact_id")?;
        // Tokens from before requests carried their source were all from the web form.
        let source: String = claimed
            .try_get::<Option<String>, _>("consent_source")?
            .unwrap_or_else(|| ConsentSource::Web.as_str().to_owned());
        let note = match claimed.try_get::<Option<String>, _>("consent_note")? {
            Some(request) => format!("{request}; {CONFIRMED_NOTE}"),
            None => CONFIRMED_NOTE.to_owned(),
        };
        let email = contact_state::confirm(
            &mut tx,
            contact_id,
            &source,
            &note,
            now,
            Entry::new(actor, AuditAction::ContactConfirm, None),
        )
        .await?;
        tx.commit().await?;
        Ok(ConfirmOutcome::Confirmed(email))
    }

    /// Why a confirmation token could not be claimed.
    async fn why_unclaimed(
        &self,
        hash: &crate::domain::TokenHash,
        now: i64,
    ) -> Result<ConfirmOutcome> {
        let row = sqlx::query(
            "SELECT expires_at, used_at FROM tokens WHERE token_hash = $1 AND purpose = 'confirm'",
        )
        .bind(hash.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(ConfirmOutcome::Unknown);
        };
        if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
            Ok(ConfirmOutcome::AlreadyUsed)
        } else if row
            .try_get::<Option<i64>, _>("expires_at")?
            .is_some_and(|at| at <= now)
        {
            Ok(ConfirmOutcome::Expired)
        } else {
            Ok(ConfirmOutcome::Unknown)
        }
    }
}

/// What an unsubscribe link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsubscribeOutcome {
    Unsubscribed(EmailAddress),
    /// The contact had already left; nothing changed.
    AlreadyOut(EmailAddress),
    /// No such link.
    Unknown,
}

impl Store {
    /// A personal unsubscribe secret for a contact's mail. It does not expire: a link
    /// in an old newsletter must still work.
    pub async fn issue_unsubscribe_token(&self, contact_id: ContactId) -> Result<TokenSecret> {
        let secret = TokenSecret::generate();
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO tokens (token_hash, contact_id, purpose, created_at) VALUES ($1, $2, 'unsubscribe', $3)")
            .bind(secret.hash().as_str())
            .bind(contact_id)
            .bind(Timestamp::now().unix_ms())
            .execute(&self.pool)
            .await?;
        Ok(secret)
    }

    /// Unsubscribes the contact a link belongs to, at once. Using a link twice is fine.
    pub async fn unsubscribe(
        &self,
        secret: &TokenSecret,
        actor: &Actor,
    ) -> Result<UnsubscribeOutcome> {
        let contact: Option<ContactId> = sqlx::query_scalar(
            "SELECT contact_id FROM tokens WHERE token_hash = $1 AND purpose = 'unsubscribe'",
        )
        .bind(secret.hash().as_str())
        .fetch_optional(&self.pool)
        .await?;
        match contact {
            Some(contact_id) => self.unsubscribe_contact(contact_id, actor).await,
            None => Ok(UnsubscribeOutcome::Unknown),
        }
    }

    /// Takes contact `contact_id` off the list, as a leave link does (the link already
    /// verified: a signed one names the contact, a stored one was looked up): unsubscribed
    /// unless already out, queued deliveries skipped, audited.
    pub async fn unsubscribe_contact(
        &self,
        contact_id: ContactId,
        actor: &Actor,
    ) -> Result<UnsubscribeOutcome> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        // The write comes first (see confirm_subscription for why).
        let changed = contact_state::unsubscribe(
            &mut tx,
            Who::Id(contact_id),
            now,
            Entry::new(actor, AuditAction::ContactUnsubscribe, None),
        )
        .await?;
        let Some(changed) = changed else {
            tx.rollback().await?;
            let known: Option<String> =
                sqlx::query_scalar("SELECT email FROM contacts WHERE id = $1")
                    .bind(contact_id)
                    .fetch_optional(&self.pool)
                    .await?;
            return Ok(match known {
                Some(email) => UnsubscribeOutcome::AlreadyOut(EmailAddress::parse(&email)?),
                None => UnsubscribeOutcome::Unknown,
            });
        };
        tx.commit().await?;
        Ok(UnsubscribeOutcome::Unsubscribed(changed.email))
    }
}
