//! The one-time rewrite of address keys to one form of the domain, the A-label
//! (issue 17): before it, `user@bücher.example` and `user@xn--bcher-kva.example` had two
//! keys and could be two contacts. IDNA is not SQL, so the schema migration leaves a row
//! in `data_migrations` and the first process to open the upgraded database does the
//! rewrite, in one transaction. Two contacts found to be one mailbox are never merged
//! (each has its own consent and history): they are listed in `address_duplicates`,
//! audited and reported until staff remove one.

use sqlx::Row;

use super::audit::{self, Actor};
use super::contact_rows::search_text;
use super::{Backend, Result, Store};
use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{ContactName, EmailAddress, Organisation, Timestamp};

const ADDRESS_KEYS: &str = "address_keys";

/// A contact that is the same mailbox as another, written another way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDuplicate {
    pub contact_id: ContactId,
    pub email: String,
    pub same_as: ContactId,
    pub same_as_email: String,
}

/// What the rewrite did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AddressKeyRewrite {
    /// Contacts whose key or shown address changed.
    pub rewritten: u64,
    /// Contacts left as they were because another contact has their mailbox.
    pub duplicates: Vec<AddressDuplicate>,
}

impl Store {
    /// Runs the rewrite if this database still needs it; `None` if it did not.
    pub(super) async fn rewrite_address_keys(&self) -> Result<Option<AddressKeyRewrite>> {
        // A read first: every later open (each inbound mail, each command) costs one
        // cheap query and no write.
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM data_migrations WHERE name = $1 AND done_at IS NULL",
        )
        .bind(ADDRESS_KEYS)
        .fetch_one(&self.pool)
        .await?;
        if pending == 0 {
            return Ok(None);
        }
        let (_turn, mut tx) = self.begin_write().await?;
        let now = Timestamp::now().unix_ms();
        // Claimed by one process: another that opened at the same moment waits on the
        // row and then finds it done.
        let claimed = sqlx::query(
            "UPDATE data_migrations SET done_at = $1 WHERE name = $2 AND done_at IS NULL",
        )
        .bind(now)
        .bind(ADDRESS_KEYS)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        // Only addresses with a non-ASCII key or an A-label as written can change.
        let candidates = match self.backend {
            Backend::Sqlite => {
                "SELECT id, email, email_key, name, organisation FROM contacts \
                 WHERE email_key GLOB '*[^ -~]*' OR lower(email) LIKE '%xn--%' ORDER BY id"
            }
            Backend::Postgres => {
                "SELECT id, email, email_key, name, organisation FROM contacts \
                 WHERE email_key ~ '[^ -~]' OR lower(email) LIKE '%xn--%' ORDER BY id"
            }
        };
        let rows = sqlx::query(candidates).fetch_all(&mut *tx).await?;
        let mut outcome = AddressKeyRewrite::default();
        let actor = Actor::service(crate::domain::ServiceTask::Upgrade);
        for row in &rows {
            let id: ContactId = row.try_get("id")?;
            let stored: String = row.try_get("email")?;
            let stored_key: String = row.try_get("email_key")?;
            let Ok(email) = EmailAddress::parse(&stored) else {
                tracing::warn!(
                    contact = %id,
                    "an address on the list does not parse; left as it was"
                );
                continue;
            };
            let key = email.key();
            if key == stored_key && email.as_str() == stored {
                continue;
            }
            let other: Option<(ContactId, String)> =
                sqlx::query("SELECT id, email FROM contacts WHERE email_key = $1 AND id <> $2")
                    .bind(&key)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| Ok::<_, sqlx::Error>((row.try_get("id")?, row.try_get("email")?)))
                    .transpose()?;
            if let Some((same_as, same_as_email)) = other {
                sqlx::query(
                    "INSERT INTO address_duplicates (contact_id, same_as, found_at) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(same_as)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                audit::record(
                    &mut tx,
                    &actor,
                    AuditAction::ContactDuplicateAddress,
                    Some(&stored_key),
                    Some(
                        crate::domain::AuditDetail::SameMailbox {
                            id: id.to_string(),
                            email: stored.to_string(),
                            same_as: same_as.to_string(),
                            same_as_email: same_as_email.to_string(),
                        }
                        .to_string(),
                    ),
                )
                .await?;
                outcome.duplicates.push(AddressDuplicate {
                    contact_id: id,
                    email: stored,
                    same_as,
                    same_as_email,
                });
                continue;
            }
            let name = ContactName::parse(
                row.try_get::<Option<String>, _>("name")?
                    .as_deref()
                    .unwrap_or_default(),
            )
            .ok()
            .flatten();
            let organisation = Organisation::parse(
                row.try_get::<Option<String>, _>("organisation")?
                    .as_deref()
                    .unwrap_or_default(),
            )
            .ok()
            .flatten();
            sqlx::query(
                "UPDATE contacts SET email = $1, email_key = $2, search_text = $3 WHERE id = $4",
            )
            .bind(email.as_str())
            .bind(&key)
            .bind(search_text(&email, name.as_ref(), organisation.as_ref()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // The log names a contact by its key: it follows the contact.
            sqlx::query("UPDATE audit_log SET subject = $1 WHERE subject = $2")
                .bind(&key)
                .bind(&stored_key)
                .execute(&mut *tx)
                .await?;
            outcome.rewritten += 1;
        }
        tx.commit().await?;
        Ok(Some(outcome))
    }

    /// Contacts that are the same mailbox as another (found by the address-key
    /// rewrite) and still on the list.
    pub async fn address_duplicates(&self) -> Result<Vec<AddressDuplicate>> {
        let rows = sqlx::query(
            "SELECT d.contact_id, c.email, d.same_as, o.email AS same_as_email \
             FROM address_duplicates d JOIN contacts c ON c.id = d.contact_id \
             JOIN contacts o ON o.id = d.same_as ORDER BY d.contact_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AddressDuplicate {
                    contact_id: row.try_get("contact_id")?,
                    email: row.try_get("email")?,
                    same_as: row.try_get("same_as")?,
                    same_as_email: row.try_get("same_as_email")?,
                })
            })
            .collect()
    }
}
