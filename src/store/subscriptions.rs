//! Who is subscribed to which publication (issue 18).
//!
//! A contact receives an issue when the contact is confirmed and has a subscription to
//! the publication that it has not left. Leaving a subscription keeps the row
//! (with `left_at`): when and how the person joined stays on their record.

use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::audit::{self, Actor};
use super::contact_state::{self, Entry, Leaving, Who};
use super::import::list_placeholders;
use super::{Backend, Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::{
    Consent, ConsentNote, ConsentSource, EmailAddress, Publication, PublicationChoice,
    PublicationName, PublicationSlug, Subscription, Timestamp,
};
use crate::domain::{ContactId, PublicationId};

/// What leaving one publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationLeft {
    /// Left it; the contact still gets `remaining` others.
    Left { email: EmailAddress, remaining: i64 },
    /// That was the last one: the contact is now off the list.
    LeftEverything { email: EmailAddress },
    /// The contact did not get it (left before, or never chose it).
    NotSubscribed { email: EmailAddress },
    /// No such contact.
    Unknown,
}

/// The ids of the publications `choice` names, read inside the caller's transaction;
/// `None` for all. A name that is not a publication is an error, so nothing is
/// half-written.
pub(super) async fn chosen_ids(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    choice: &PublicationChoice,
) -> Result<Option<Vec<PublicationId>>> {
    let PublicationChoice::Only(slugs) = choice else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT id, slug FROM publications WHERE slug IN {}",
        list_placeholders(backend, slugs.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for slug in slugs {
        query = query.bind(slug.as_str());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let found: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("slug"))
        .collect::<std::result::Result<_, _>>()?;
    let unknown: Vec<&str> = slugs
        .iter()
        .map(PublicationSlug::as_str)
        .filter(|slug| !found.iter().any(|f| f == slug))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::PublicationNotFound(unknown.join(", ")));
    }
    rows.iter()
        .map(|row| Ok(row.try_get("id")?))
        .collect::<Result<Vec<PublicationId>>>()
        .map(Some)
}

/// Publication ids as an SQL list, `1, 3`: they are our own integers, so they are
/// written into the statement rather than bound one by one.
fn id_list(ids: &[PublicationId]) -> String {
    ids.iter()
        .map(PublicationId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AND p.id IN (…)` for a choice of some.
fn publication_filter(ids: &Option<Vec<PublicationId>>) -> String {
    match ids {
        None => String::new(),
        Some(ids) => format!(" AND p.id IN ({})", id_list(ids)),
    }
}

/// Subscribes the contacts with these keys, just added, to the chosen publications,
/// each with the consent the contact was added with. A contact added as having left
/// (unsubscribed) has left them all when it left, as an unsubscribe leaves them: its
/// choice is kept, and putting it back with new consent resumes it.
pub(super) async fn subscribe_new_contacts(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    keys: &[&str],
    choice: &PublicationChoice,
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let ids = chosen_ids(tx, backend, choice).await?;
    let sql = format!(
        "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at, consent_note, left_at) \
         SELECT c.id, p.id, c.consent_source, c.consent_at, c.consent_note, c.unsubscribed_at \
         FROM contacts c CROSS JOIN publications p WHERE c.email_key IN {}{} \
         ON CONFLICT (contact_id, publication_id) DO NOTHING",
        list_placeholders(backend, keys.len()),
        publication_filter(&ids)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for key in keys {
        query = query.bind(*key);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Makes a contact's subscriptions exactly `choice`, with `consent` for each chosen one
/// (a new request to join: what the person ticked this time is what they get once they
/// confirm). Others are marked as left.
pub(super) async fn set_choice(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    contact_id: ContactId,
    choice: &PublicationChoice,
    consent: &Consent,
    now: i64,
) -> Result<()> {
    let ids = chosen_ids(tx, backend, choice).await?;
    if let Some(ids) = &ids {
        contact_state::leave_publications(tx, contact_id, Leaving::AllBut(ids), now).await?;
    }
    // `WHERE` before `ON CONFLICT`: SQLite otherwise reads the conflict clause as a join.
    let sql = format!(
        "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at, consent_note) \
         SELECT $1, p.id, $2, $3, $4 FROM publications p WHERE 1 = 1{} \
         ON CONFLICT (contact_id, publication_id) DO UPDATE SET consent_source = excluded.consent_source, \
         consent_at = excluded.consent_at, consent_note = excluded.consent_note, left_at = NULL",
        publication_filter(&ids)
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(contact_id)
        .bind(consent.source.as_str())
        .bind(consent.at.unix_ms())
        .bind(consent.note.as_ref().map(|n| n.as_str().to_owned()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Gives a contact's current subscriptions the consent it confirmed with.
pub(super) async fn confirm_subscriptions(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    source: &str,
    note: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET consent_source = $2, consent_at = $3, consent_note = $4 \
         WHERE contact_id = $1 AND left_at IS NULL",
    )
    .bind(contact_id)
    .bind(source)
    .bind(now)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// For a contact put back on the list who gets no publication: what they had when they
/// left is taken up again (with the new consent), or, for a contact who never had any,
/// every publication.
pub(super) async fn resume_all_if_none(
    tx: &mut Transaction<'static, Any>,
    contact_id: ContactId,
    consent: &Consent,
) -> Result<()> {
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE contact_id = $1 AND left_at IS NULL",
    )
    .bind(contact_id)
    .fetch_one(&mut **tx)
    .await?;
    if active > 0 {
        return Ok(());
    }
    let note = consent.note.as_ref().map(|n| n.as_str().to_owned());
    // What they had when they left is what was left last, all at one moment; ones left
    // earlier, one by one, stay left.
    let resumed = sqlx::query(
        "UPDATE subscriptions SET left_at = NULL, consent_source = $2, consent_at = $3, \
         consent_note = $4 WHERE contact_id = $1 AND left_at = \
         (SELECT MAX(left_at) FROM subscriptions WHERE contact_id = $1)",
    )
    .bind(contact_id)
    .bind(consent.source.as_str())
    .bind(consent.at.unix_ms())
    .bind(note.clone())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if resumed == 0 {
        sqlx::query(
            "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at, consent_note) \
             SELECT $1, p.id, $2, $3, $4 FROM publications p WHERE 1 = 1 \
             ON CONFLICT (contact_id, publication_id) DO NOTHING",
        )
        .bind(contact_id)
        .bind(consent.source.as_str())
        .bind(consent.at.unix_ms())
        .bind(note)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// A contact's subscriptions, those left included, in publication order.
    pub async fn subscriptions(&self, contact_id: ContactId) -> Result<Vec<Subscription>> {
        sqlx::query(
            "SELECT p.slug, p.name, s.consent_source, s.consent_at, s.consent_note, s.left_at \
             FROM subscriptions s JOIN publications p ON p.id = s.publication_id \
             WHERE s.contact_id = $1 ORDER BY p.id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let corrupt = |e: String| StoreError::Corrupt(e);
            Ok(Subscription {
                publication: PublicationSlug::parse(&row.try_get::<String, _>("slug")?)
                    .map_err(|e| corrupt(e.to_string()))?,
                name: PublicationName::parse(&row.try_get::<String, _>("name")?)
                    .map_err(|e| corrupt(e.to_string()))?,
                consent: Consent {
                    source: row
                        .try_get::<String, _>("consent_source")?
                        .parse::<ConsentSource>()
                        .map_err(|e| corrupt(e.to_string()))?,
                    at: Timestamp::from_unix_ms(row.try_get("consent_at")?),
                    note: ConsentNote::parse(
                        &row.try_get::<Option<String>, _>("consent_note")?
                            .unwrap_or_default(),
                    )
                    .map_err(|e| corrupt(e.to_string()))?,
                },
                left_at: row
                    .try_get::<Option<i64>, _>("left_at")?
                    .map(Timestamp::from_unix_ms),
            })
        })
        .collect()
    }

    /// Takes a contact off one publication, at once: its queued deliveries of that
    /// publication's issues that no worker holds are skipped (workers drop the ones they
    /// hold when they see the change); the others stay. With nothing left the contact is
    /// off the list, as a leave link would make it.
    pub async fn leave_publication(
        &self,
        contact_id: ContactId,
        publication: &Publication,
        actor: &Actor,
    ) -> Result<PublicationLeft> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        // The write comes first (see confirm_subscription for why).
        let left = contact_state::leave_publications(
            &mut tx,
            contact_id,
            Leaving::One(publication.id),
            now,
        )
        .await?;
        let contact = sqlx::query("SELECT email, email_key FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(contact) = contact else {
            tx.rollback().await?;
            return Ok(PublicationLeft::Unknown);
        };
        let email = EmailAddress::parse(&contact.try_get::<String, _>("email")?)?;
        if left == 0 {
            tx.rollback().await?;
            return Ok(PublicationLeft::NotSubscribed { email });
        }
        let email_key: String = contact.try_get("email_key")?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::ContactLeavePublication,
            Some(&email_key),
            Some(
                crate::domain::AuditDetail::PublicationLeft {
                    slug: publication.slug.to_string(),
                }
                .to_string(),
            ),
        )
        .await?;
        let remaining: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM subscriptions WHERE contact_id = $1 AND left_at IS NULL",
        )
        .bind(contact_id)
        .fetch_one(&mut *tx)
        .await?;
        let outcome = if remaining == 0 {
            // With nothing left the contact is off the list, as a leave link makes it.
            contact_state::unsubscribe(
                &mut tx,
                Who::Id(contact_id),
                now,
                Entry::new(
                    actor,
                    AuditAction::ContactUnsubscribe,
                    Some(crate::domain::AuditDetail::LeftLastPublication.to_string()),
                ),
            )
            .await?;
            PublicationLeft::LeftEverything { email }
        } else {
            PublicationLeft::Left { email, remaining }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// What a person saved on their page for choosing publications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationsChosen {
    Saved {
        email: EmailAddress,
        /// Publications newly chosen, and those left, by slug.
        joined: Vec<String>,
        left: Vec<String>,
    },
    /// The contact is not on the list (left, taken off by staff, bounced, never
    /// confirmed): nothing changed; only a new confirmation puts them back.
    NotOnList,
    /// No such contact (erased since the link was mailed).
    Unknown,
}

impl Store {
    /// The contact a stored-secret leave link belongs to (links mailed before they
    /// were derived, and the leave link mailed on request).
    pub async fn contact_of_leave_secret(
        &self,
        secret: &crate::domain::TokenSecret,
    ) -> Result<Option<ContactId>> {
        Ok(sqlx::query_scalar(
            "SELECT contact_id FROM tokens WHERE token_hash = $1 AND purpose = 'unsubscribe'",
        )
        .bind(secret.hash().as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Sets the publications a confirmed person gets to exactly `chosen` (ids, never
    /// empty), as they ticked them on their own page, reached by the personal link in a
    /// mail. The link may be old or forwarded, so it never puts anyone back on the list:
    /// for a contact who is not confirmed nothing changes (`NotOnList`). Publications
    /// kept keep their consent; new ones get the web page as theirs; the ones dropped
    /// are left, and their queued deliveries skipped.
    pub async fn choose_publications(
        &self,
        contact_id: ContactId,
        chosen: &[PublicationId],
        actor: &Actor,
    ) -> Result<PublicationsChosen> {
        assert!(!chosen.is_empty(), "leaving everything is unsubscribing");
        let now = Timestamp::now().unix_ms();
        let ids = id_list(chosen);
        let (_turn, mut tx) = self.begin_write().await?;
        // The first statement writes (see confirm_subscription for why). Only a
        // confirmed contact's choice changes here: one who left, was taken off by
        // staff, bounced or never confirmed comes back only through a new confirmation.
        let on_list = sqlx::query(
            "UPDATE contacts SET updated_at = $2 WHERE id = $1 AND status = 'confirmed'",
        )
        .bind(contact_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let contact = sqlx::query("SELECT email, email_key FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(contact) = contact else {
            tx.rollback().await?;
            return Ok(PublicationsChosen::Unknown);
        };
        if !on_list {
            tx.rollback().await?;
            return Ok(PublicationsChosen::NotOnList);
        }
        let email = EmailAddress::parse(&contact.try_get::<String, _>("email")?)?;
        let email_key: String = contact.try_get("email_key")?;
        let slugs_where = |condition: String| {
            format!("SELECT p.slug FROM publications p WHERE {condition} ORDER BY p.id")
        };
        let left: Vec<String> = sqlx::query_scalar(AssertSqlSafe(slugs_where(format!(
            "p.id NOT IN ({ids}) AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.contact_id = $1 \
             AND s.publication_id = p.id AND s.left_at IS NULL)"
        ))))
        .bind(contact_id)
        .fetch_all(&mut *tx)
        .await?;
        let joined: Vec<String> = sqlx::query_scalar(AssertSqlSafe(slugs_where(format!(
            "p.id IN ({ids}) AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.contact_id = $1 \
             AND s.publication_id = p.id AND s.left_at IS NULL)"
        ))))
        .bind(contact_id)
        .fetch_all(&mut *tx)
        .await?;
        contact_state::leave_publications(&mut tx, contact_id, Leaving::AllBut(chosen), now)
            .await?;
        // Kept ones keep their consent; new or taken up again get this page's.
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at, consent_note) \
             SELECT $1, p.id, 'web', $2, $3 FROM publications p WHERE p.id IN ({ids}) \
             ON CONFLICT (contact_id, publication_id) DO UPDATE SET consent_source = excluded.consent_source, \
             consent_at = excluded.consent_at, consent_note = excluded.consent_note, left_at = NULL \
             WHERE subscriptions.left_at IS NOT NULL"
        )))
        .bind(contact_id)
        .bind(now)
        .bind("valgt på siden «Velg hva du får» (personlig lenke i e-post)")
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::ContactPublications,
            Some(&email_key),
            Some(
                crate::domain::AuditDetail::PublicationsChosen {
                    joined: joined.clone(),
                    left: left.clone(),
                }
                .to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(PublicationsChosen::Saved {
            email,
            joined,
            left,
        })
    }
}
