//! Every change of a contact's state, each written once: confirm, put back with new
//! consent, put back after a bounce, unsubscribe, leave publications, bounce, make
//! pending again, erase.
//!
//! Every path that makes one of these changes (a leave link or one-click unsubscribe,
//! mail to the list, the preferences page, a staff edit on the web or the command line,
//! a bounce at send time or reported later, an erasure) calls the function here inside
//! its own transaction. A change that takes a contact off the list skips the contact's
//! queued deliveries that no worker holds in that same transaction, so nothing more is
//! claimed for them; the rows a worker holds are dropped by the worker when it sees the
//! change (`dispatch/watch.rs`, by `updated_at` and `left_at`, which every change here
//! stamps). The audit entry is written in the same transaction too, in the caller's
//! words ([`Entry`]).

use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::Result;
use super::audit::{self, Actor};
use crate::domain::{AuditAction, Consent, ConsentNote, EmailAddress};
use crate::domain::{ContactId, PublicationId};

/// The audit action of [`clear_bounce`]: its detail holds a staff note, erased with the
/// contact.
pub(super) const RESET_BOUNCE_ACTION: AuditAction = AuditAction::ContactResetBounce;

/// The skip reason of a contact's deliveries when the contact leaves the list.
const UNSUBSCRIBED: &str = "the contact unsubscribed";
/// The skip reason of the deliveries of a publication the contact left.
const LEFT_PUBLICATION: &str = "the contact left this publication";

/// The audit entry a change writes. Each path keeps its own words: a leave link is
/// `contact.unsubscribe`, a staff edit `contact.edit` with the fields it changed.
pub(super) struct Entry<'a> {
    actor: &'a Actor,
    action: AuditAction,
    detail: Option<String>,
}

impl<'a> Entry<'a> {
    pub fn new(actor: &'a Actor, action: AuditAction, detail: Option<String>) -> Self {
        Self {
            actor,
            action,
            detail,
        }
    }

    /// Writes the entry about `subject` (the contact's address key).
    pub async fn record(self, tx: &mut Transaction<'static, Any>, subject: &str) -> Result<()> {
        audit::record(tx, self.actor, self.action, Some(subject), self.detail).await
    }
}

/// Which contact a change is for: by number, or by its address key (mail to the list
/// names an address).
#[derive(Debug, Clone, Copy)]
pub(super) enum Who<'a> {
    Id(ContactId),
    Key(&'a str),
}

/// The contact a change was made to.
#[derive(Debug, Clone)]
pub(super) struct Changed {
    pub id: ContactId,
    pub email: EmailAddress,
    pub key: String,
}

fn changed_from(row: &sqlx::any::AnyRow) -> Result<Changed> {
    Ok(Changed {
        id: row.try_get("id")?,
        email: EmailAddress::parse(&row.try_get::<String, _>("email")?)?,
        key: row.try_get("email_key")?,
    })
}

/// Marks a contact's queued deliveries that no worker holds as skipped, of every issue
/// (`publications` `None`) or only of the issues of the publications a [`Leaving`]
/// names.
async fn skip_unclaimed(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    publications: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<()> {
    const SKIP: &str = "UPDATE deliveries SET status = 'skipped', last_error = $2, updated_at = $3 \
         WHERE contact_id = $1 AND status = 'queued' AND lease_owner IS NULL";
    let sql = match publications {
        None => SKIP.to_owned(),
        Some(condition) => format!(
            "{SKIP} AND issue_id IN (SELECT id FROM issues WHERE publication_id {condition})"
        ),
    };
    sqlx::query(AssertSqlSafe(sql))
        .bind(contact_id)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Which of a contact's publications it leaves.
#[derive(Debug, Clone, Copy)]
pub(super) enum Leaving<'a> {
    /// This one publication (by id).
    One(PublicationId),
    /// Every one but these (by id): a new choice. An empty list keeps none.
    AllBut(&'a [PublicationId]),
}

impl Leaving<'_> {
    /// The condition on a publication id, after the column; our own integers, so
    /// written into the statement.
    fn condition(self) -> Option<String> {
        match self {
            Leaving::One(id) => Some(format!("= {id}")),
            Leaving::AllBut([]) => None,
            Leaving::AllBut(kept) => Some(format!(
                "NOT IN ({})",
                kept.iter()
                    .map(PublicationId::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Marks a contact's subscriptions to the publications `condition` selects (all with
/// `None`) as left. The rows stay: when and how the person joined stays on their record.
async fn mark_left(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    condition: Option<&str>,
    now: i64,
) -> Result<u64> {
    const LEAVE: &str =
        "UPDATE subscriptions SET left_at = $2 WHERE contact_id = $1 AND left_at IS NULL";
    let sql = match condition {
        None => LEAVE.to_owned(),
        Some(condition) => format!("{LEAVE} AND publication_id {condition}"),
    };
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(contact_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Leaves publications: the subscriptions are marked left and the contact's unclaimed
/// queued deliveries of those publications' issues are skipped; its others stay.
/// Returns how many subscriptions were left. No audit entry: the caller's says what was
/// left, and whether the contact is still on the list (see `Store::leave_publication`).
pub(super) async fn leave_publications(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    which: Leaving<'_>,
    now: i64,
) -> Result<u64> {
    let condition = which.condition();
    let left = mark_left(tx, contact_id, condition.as_deref(), now).await?;
    if left > 0 {
        skip_unclaimed(tx, contact_id, condition.as_deref(), LEFT_PUBLICATION, now).await?;
    }
    Ok(left)
}

/// Takes a contact off the list, at once and for good, however it asked (a leave link,
/// one-click, mail, the last publication left, staff recording it): unsubscribed, every
/// publication left, its unclaimed queued deliveries skipped, audited. `None` when the
/// contact had left already or does not exist: nothing changed.
pub(super) async fn unsubscribe(
    tx: &mut Transaction<'static, Any>,
    who: Who<'_>,
    now: i64,
    entry: Entry<'_>,
) -> Result<Option<Changed>> {
    let query = match who {
        Who::Id(id) => sqlx::query(
            "UPDATE contacts SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
             WHERE id = $2 AND status <> 'unsubscribed' RETURNING id, email, email_key",
        )
        .bind(now)
        .bind(id),
        Who::Key(key) => sqlx::query(
            "UPDATE contacts SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
             WHERE email_key = $2 AND status <> 'unsubscribed' RETURNING id, email, email_key",
        )
        .bind(now)
        .bind(key),
    };
    let Some(row) = query.fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    let changed = changed_from(&row)?;
    skip_unclaimed(tx, changed.id, None, UNSUBSCRIBED, now).await?;
    mark_left(tx, changed.id, None, now).await?;
    entry.record(tx, &changed.key).await?;
    Ok(Some(changed))
}

/// A contact whose address bounces: bounced, its unclaimed queued deliveries skipped,
/// audited. Its subscriptions stay: a bounce is not a withdrawal of consent, and
/// [`clear_bounce`] puts the contact back with what it had. Returns the address key, or
/// `None` when the contact was bounced already.
pub(super) async fn bounce(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    now: i64,
    entry: Entry<'_>,
) -> Result<Option<String>> {
    let key: Option<String> = sqlx::query_scalar(
        "UPDATE contacts SET status = 'bounced', updated_at = $2 \
         WHERE id = $1 AND status <> 'bounced' RETURNING email_key",
    )
    .bind(contact_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(key) = key else {
        return Ok(None);
    };
    skip_unclaimed(tx, contact_id, None, "the address bounced", now).await?;
    entry.record(tx, &key).await?;
    Ok(Some(key))
}

/// Staff mark a contact as waiting for its confirmation again: nothing goes to it until
/// it confirms, so its unclaimed queued deliveries are skipped; its subscriptions stay,
/// for the confirmation to start. False when it was pending already.
pub(super) async fn make_pending(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    now: i64,
    entry: Entry<'_>,
) -> Result<bool> {
    let key: Option<String> = sqlx::query_scalar(
        "UPDATE contacts SET status = 'pending', updated_at = $2 \
         WHERE id = $1 AND status <> 'pending' RETURNING email_key",
    )
    .bind(contact_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(key) = key else {
        return Ok(false);
    };
    skip_unclaimed(tx, contact_id, None, "the contact is pending", now).await?;
    entry.record(tx, &key).await?;
    Ok(true)
}

/// A confirmation link used: the contact is confirmed with the consent its request
/// carried (`source`, `note`), and so are the subscriptions it chose then.
pub(super) async fn confirm(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    source: &str,
    note: &str,
    now: i64,
    entry: Entry<'_>,
) -> Result<EmailAddress> {
    let email: String = sqlx::query_scalar(
        "UPDATE contacts SET status = 'confirmed', consent_source = $3, consent_at = $1, \
         consent_note = $4, confirmed_at = $1, unsubscribed_at = NULL, \
         bounce_count = 0, updated_at = $1 WHERE id = $2 RETURNING email",
    )
    .bind(now)
    .bind(contact_id)
    .bind(source)
    .bind(note)
    .fetch_one(&mut **tx)
    .await?;
    super::subscriptions::confirm_subscriptions(tx, contact_id, source, note, now).await?;
    let email = EmailAddress::parse(&email)?;
    entry.record(tx, &email.key()).await?;
    Ok(email)
}

/// Staff put a contact on the list with `consent` (new consent for one who left or
/// bounced: `Contact::with_changes` requires it): confirmed, the bounce count starts
/// over, and one who gets no publication takes up again what it had when it left.
/// False when it was confirmed already.
pub(super) async fn put_back(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    consent: &Consent,
    now: i64,
    entry: Entry<'_>,
) -> Result<bool> {
    let key: Option<String> = sqlx::query_scalar(
        "UPDATE contacts SET status = 'confirmed', consent_source = $3, consent_at = $4, \
         consent_note = $5, confirmed_at = $2, unsubscribed_at = NULL, bounce_count = 0, \
         updated_at = $2 WHERE id = $1 AND status <> 'confirmed' RETURNING email_key",
    )
    .bind(contact_id)
    .bind(now)
    .bind(consent.source.as_str())
    .bind(consent.at.unix_ms())
    .bind(consent.note.as_ref().map(|n| n.as_str().to_owned()))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(key) = key else {
        return Ok(false);
    };
    // With nothing left to get they would be "confirmed" and receive nothing.
    super::subscriptions::resume_all_if_none(tx, contact_id, consent).await?;
    entry.record(tx, &key).await?;
    Ok(true)
}

/// A bounced contact put back when its address works again: the consent it gave still
/// holds (a bounce is not a withdrawal) and so do its subscriptions; the bounce count
/// starts over. `note` says why (a phone call, a new mail server), for the log. `None`
/// when the contact is not bounced (or does not exist).
pub(super) async fn clear_bounce(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    note: &ConsentNote,
    now: i64,
    actor: &Actor,
) -> Result<Option<String>> {
    let key: Option<String> = sqlx::query_scalar(
        "UPDATE contacts SET status = 'confirmed', bounce_count = 0, updated_at = $2 \
         WHERE id = $1 AND status = 'bounced' RETURNING email_key",
    )
    .bind(contact_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(key) = key else {
        return Ok(None);
    };
    Entry::new(
        actor,
        RESET_BOUNCE_ACTION,
        Some(
            crate::domain::AuditDetail::BounceCleared {
                note: note.as_str().to_owned(),
            }
            .to_string(),
        ),
    )
    .record(tx, &key)
    .await?;
    Ok(Some(key))
}

/// Erases a contact and everything tied to it: its deliveries (queued ones included:
/// nothing is claimed for a contact that is gone), subscriptions, links and notices go
/// with it by the foreign keys, the mail from its address here. The audit log keeps that
/// it was done and by whom, with the contact's number for its address; a staff note
/// about the person goes. False when there was no such contact.
pub(super) async fn erase(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    entry: Entry<'_>,
) -> Result<bool> {
    let row = sqlx::query("DELETE FROM contacts WHERE id = $1 RETURNING email, email_key")
        .bind(contact_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let stored_key: String = row.try_get("email_key")?;
    let mut keys = vec![stored_key.clone()];
    if let Ok(email) = EmailAddress::parse(&row.try_get::<String, _>("email")?) {
        keys.push(email.key());
        keys.push(email.as_str().to_lowercase());
    }
    keys.dedup();
    for key in &keys {
        // Mail from the address that was never linked to the contact (a question, a
        // request that came before the contact existed) is theirs too: erased with
        // it. Linked mail goes by the foreign key.
        sqlx::query("DELETE FROM inbound_messages WHERE lower(from_address) = $1")
            .bind(key)
            .execute(&mut **tx)
            .await?;
        // A request from the web form not yet turned into a pending contact.
        sqlx::query("DELETE FROM subscription_requests WHERE lower(email) = $1")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    let erased = format!("contact #{contact_id} (erased)");
    sqlx::query(
        "UPDATE audit_log SET subject = $1, \
         detail = CASE WHEN action = $3 THEN NULL ELSE detail END WHERE subject = $2",
    )
    .bind(&erased)
    .bind(&stored_key)
    .bind(RESET_BOUNCE_ACTION.as_str())
    .execute(&mut **tx)
    .await?;
    entry.record(tx, &erased).await?;
    Ok(true)
}
