//! Contacts: add, read, search, change, remove.

use futures_util::{Stream, StreamExt};
use sqlx::{Any, Row};

use super::audit::{self, Actor};
use super::contact_filter::ContactFilter;
use super::contact_rows::{
    bind_new_contact, contact_columns, contact_from_row, counts_by_status, new_contact_columns,
    search_text, status_times,
};
use super::contact_state::{self, Entry, Who};
use super::{Result, Store, StoreError, is_unique_violation};
use crate::domain::AuditAction;
use crate::domain::{
    ConsentNote, Contact, ContactName, ContactStatus, EmailAddress, NewContact, Organisation,
    Timestamp,
};
use crate::domain::{ContactId, InboundId};

pub use crate::domain::ContactChanges;

/// Inserts a new contact with its audit entry inside the caller's transaction.
async fn insert_contact(
    tx: &mut sqlx::Transaction<'static, Any>,
    backend: super::Backend,
    new: &NewContact,
    actor: &Actor,
    reference: Option<&str>,
) -> Result<Contact> {
    let now = Timestamp::now();
    let key = new.email.key();
    // ON CONFLICT rather than catching the error: two concurrent adds of one address
    // then end as one insert and one clean "exists", on both databases.
    let id: Option<ContactId> = bind_new_contact(
        sqlx::query(concat!(
            "INSERT INTO contacts (",
            new_contact_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (email_key) DO NOTHING RETURNING id"
        )),
        new,
        now,
        actor.as_str(),
        reference.map(str::to_owned),
    )
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| row.try_get("id"))
    .transpose()?;
    let Some(id) = id else {
        return Err(StoreError::ContactExists(new.email.to_string()));
    };
    super::subscriptions::subscribe_new_contacts(tx, backend, &[&key], &new.publications).await?;
    let detail = crate::domain::AuditDetail::ContactAdded {
        status: new.status,
        source: new.consent.source,
    }
    .to_string();
    audit::record(tx, actor, AuditAction::ContactAdd, Some(&key), Some(detail)).await?;
    let (confirmed_at, unsubscribed_at) = status_times(new.status, new.consent.at, now);
    Ok(Contact {
        id,
        email: new.email.clone(),
        name: new.name.clone(),
        organisation: new.organisation.clone(),
        status: new.status,
        consent: new.consent.clone(),
        created_at: now,
        updated_at: now,
        confirmed_at: confirmed_at.map(Timestamp::from_unix_ms),
        unsubscribed_at: unsubscribed_at.map(Timestamp::from_unix_ms),
        bounce_count: 0,
    })
}

impl Store {
    /// Puts a new contact on the list. An address already there (in any letter case)
    /// is [`StoreError::ContactExists`] and changes nothing.
    pub async fn add_contact(&self, new: &NewContact, actor: &Actor) -> Result<Contact> {
        let (_turn, mut tx) = self.begin_write().await?;
        match insert_contact(&mut tx, self.backend, new, actor, None).await {
            Ok(contact) => {
                tx.commit().await?;
                Ok(contact)
            }
            Err(e) => {
                // Ended before the write turn passes on: a transaction left to sqlx's
                // deferred rollback keeps SQLite's write lock on an idle connection,
                // and the next writer on another connection is refused.
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// Adds the sender of a kept message as a contact, the message being the consent's
    /// evidence (`reference`: its Message-ID): the contact, the message's link to it and
    /// its "handled" mark are written together, or none of them.
    pub async fn add_contact_from_inbound(
        &self,
        new: &NewContact,
        inbound_id: InboundId,
        reference: Option<&str>,
        actor: &Actor,
    ) -> Result<Contact> {
        let (_turn, mut tx) = self.begin_write().await?;
        let contact = match insert_contact(&mut tx, self.backend, new, actor, reference).await {
            Ok(contact) => contact,
            Err(e) => {
                // As in add_contact: ended before the write turn passes on.
                tx.rollback().await?;
                return Err(e);
            }
        };
        sqlx::query(
            "UPDATE inbound_messages SET contact_id = $2, \
             handled_at = COALESCE(handled_at, $3), handled_by = COALESCE(handled_by, $4) WHERE id = $1",
        )
        .bind(inbound_id)
        .bind(contact.id)
        .bind(Timestamp::now().unix_ms())
        .bind(actor.as_str())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::InboundHandled,
            Some(&format!("inbound #{inbound_id}")),
            Some(crate::domain::AuditDetail::SenderAdded.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// The contact with this address, in any letter case.
    pub async fn contact(&self, email: &EmailAddress) -> Result<Option<Contact>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE email_key = $1"
        ))
        .bind(email.key())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(contact_from_row).transpose()
    }

    /// Like [`Store::contact`], but a missing contact is an error.
    pub async fn existing_contact(&self, email: &EmailAddress) -> Result<Contact> {
        self.contact(email)
            .await?
            .ok_or_else(|| StoreError::ContactNotFound(email.to_string()))
    }

    /// Contacts matching `filter`, ordered by address, at most `limit`.
    pub async fn list_contacts(
        &self,
        filter: &ContactFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Contact>> {
        let mut contacts = Vec::new();
        let mut rows = self.contacts_stream(filter);
        while let Some(contact) = rows.next().await {
            contacts.push(contact?);
            if limit.is_some_and(|limit| contacts.len() >= limit) {
                break;
            }
        }
        Ok(contacts)
    }

    /// Contacts matching `filter` one at a time, in constant memory (for exports).
    pub fn contacts_stream<'a>(
        &'a self,
        filter: &ContactFilter,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'a {
        filter
            .query(false)
            .fetch(&self.pool)
            .map(|row| contact_from_row(&row?))
    }

    pub async fn count_contacts(&self, filter: &ContactFilter) -> Result<i64> {
        Ok(filter
            .query(true)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Applies a staff edit. Fails with [`StoreError::ConcurrentChange`] rather than
    /// overwrite a change made in between (say, an unsubscribe arriving meanwhile). A new
    /// status is the change of state any other path makes (see `contact_state`): to
    /// unsubscribed is leaving the list as a person's own leave link does, every
    /// publication left; off the list in any way skips the contact's queued deliveries at
    /// once; back to confirmed takes up the publications it had.
    pub async fn update_contact(
        &self,
        email: &EmailAddress,
        changes: &ContactChanges,
        actor: &Actor,
    ) -> Result<Contact> {
        let current = self.existing_contact(email).await?;
        let next = current.with_changes(changes, Timestamp::now())?;
        let now = next.updated_at.unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        // Everything but the state; the state is changed below, as every path changes it.
        let updated = sqlx::query(
            "UPDATE contacts SET email = $1, email_key = $2, name = $3, organisation = $4, \
             search_text = $5, consent_source = $6, consent_at = $7, consent_note = $8, \
             updated_at = $9 WHERE id = $10 AND updated_at = $11",
        )
        .bind(next.email.as_str())
        .bind(next.email.key())
        .bind(next.name.as_ref().map(ContactName::as_str))
        .bind(next.organisation.as_ref().map(Organisation::as_str))
        .bind(search_text(
            &next.email,
            next.name.as_ref(),
            next.organisation.as_ref(),
        ))
        .bind(next.consent.source.as_str())
        .bind(next.consent.at.unix_ms())
        .bind(next.consent.note.as_ref().map(ConsentNote::as_str))
        .bind(now)
        .bind(current.id)
        .bind(current.updated_at.unix_ms())
        .execute(&mut *tx)
        .await;
        match updated {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::ContactExists(next.email.to_string()));
            }
            Err(e) => return Err(e.into()),
            Ok(done) if done.rows_affected() == 0 => {
                return Err(StoreError::ConcurrentChange(email.to_string()));
            }
            Ok(_) => {}
        }
        let old_key = current.email.key();
        if next.email.key() != old_key {
            // The log follows the contact to its new address.
            sqlx::query("UPDATE audit_log SET subject = $1 WHERE subject = $2")
                .bind(next.email.key())
                .bind(&old_key)
                .execute(&mut *tx)
                .await?;
        }
        let detail = crate::domain::AuditDetail::ContactEdited {
            fields: changes
                .field_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            status: (next.status != current.status).then_some((current.status, next.status)),
        }
        .to_string();
        let entry = Entry::new(actor, AuditAction::ContactEdit, Some(detail));
        let changed = if next.status == current.status {
            entry.record(&mut tx, &next.email.key()).await?;
            true
        } else {
            let id = current.id;
            match next.status {
                ContactStatus::Unsubscribed => {
                    contact_state::unsubscribe(&mut tx, Who::Id(id), now, entry)
                        .await?
                        .is_some()
                }
                ContactStatus::Bounced => contact_state::bounce(&mut tx, id, now, entry)
                    .await?
                    .is_some(),
                ContactStatus::Pending => {
                    contact_state::make_pending(&mut tx, id, now, entry).await?
                }
                ContactStatus::Confirmed => {
                    contact_state::put_back(&mut tx, id, &next.consent, now, entry).await?
                }
            }
        };
        if !changed {
            // The state changed in the millisecond of the guard's `updated_at` (an
            // unsubscribe arriving just then): refused rather than half-applied.
            tx.rollback().await?;
            return Err(StoreError::ConcurrentChange(email.to_string()));
        }
        tx.commit().await?;
        Ok(next)
    }

    /// Erases a contact and everything tied to it (deliveries, tokens). The audit log
    /// keeps that staff acted, but the address is replaced by the contact's number.
    /// Returns false if the address was not on the list.
    pub async fn remove_contact(&self, email: &EmailAddress, actor: &Actor) -> Result<bool> {
        let id: Option<ContactId> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE email_key = $1")
                .bind(email.key())
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some(id) => self.remove_contact_by_id(id, actor).await,
            None => Ok(false),
        }
    }

    /// Erases contact `id` as [`Store::remove_contact`] does. By number, because two
    /// contacts found by the address-key migration to be one mailbox share an address
    /// until staff remove one of them.
    pub async fn remove_contact_by_id(&self, id: ContactId, actor: &Actor) -> Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        if !contact_state::erase(
            &mut tx,
            id,
            Entry::new(actor, AuditAction::ContactRemove, None),
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a bounced contact back on the list when its address works again: the
    /// consent it gave still holds (a bounce is not a withdrawal), the bounce count
    /// starts over. `note` says why (a phone call, a new mail server), for the log.
    pub async fn reset_bounced(
        &self,
        id: ContactId,
        note: &ConsentNote,
        actor: &Actor,
    ) -> Result<Contact> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let cleared = contact_state::clear_bounce(&mut tx, id, note, now, actor).await?;
        if cleared.is_none() {
            tx.rollback().await?;
            return Err(match self.contact_by_id(id).await? {
                Some(contact) => StoreError::NotBounced(contact.email.to_string()),
                None => StoreError::ContactNotFound(format!("contact #{id}")),
            });
        }
        tx.commit().await?;
        self.contact_by_id(id)
            .await?
            .ok_or_else(|| StoreError::ContactNotFound(format!("contact #{id}")))
    }

    /// How many contacts have each status (all four, zeros included).
    pub async fn count_by_status(&self) -> Result<Vec<(ContactStatus, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM contacts GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        counts_by_status(&rows)
    }
}
