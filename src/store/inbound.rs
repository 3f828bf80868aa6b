//! Inbound mail: the record of every message read, unsubscribing by address, and
//! bounces reported after sending.

use sqlx::Row;

use super::audit::{self, Actor};
use super::contact_state::{self, Changed, Entry, Who};
use super::deliveries::hard_bounce;
use super::{Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{DeliveryId, EmailAddress, InboundId, InboundKind, Timestamp};

/// One message to record.
#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    pub channel: &'a str,
    pub raw: &'a [u8],
    pub raw_sha256: &'a str,
    pub from_address: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub sent_at: Option<i64>,
    pub kind: InboundKind,
    pub result: &'a str,
    pub contact_id: Option<ContactId>,
    pub delivery_id: Option<DeliveryId>,
}

/// A recorded message, without its raw bytes.
#[derive(Debug, Clone)]
pub struct InboundEntry {
    pub id: InboundId,
    pub received_at: Timestamp,
    pub channel: String,
    pub size: i64,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub kind: InboundKind,
    pub result: String,
    pub contact_id: Option<ContactId>,
    pub delivery_id: Option<DeliveryId>,
    /// When staff marked it handled, and who.
    pub handled_at: Option<Timestamp>,
    pub handled_by: Option<String>,
    /// When the message's bytes were removed (after `inbound_retention_days`).
    pub raw_removed_at: Option<Timestamp>,
}

/// A delivery a bounce report points at.
#[derive(Debug, Clone)]
pub struct BouncedDelivery {
    pub id: DeliveryId,
    pub contact_id: ContactId,
    /// The contact's lower-cased address, to check against the report.
    pub email_key: String,
    /// A hard bounce for this delivery has been counted already.
    pub counted: bool,
}

/// What recording a bounce did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceRecorded {
    /// Counted toward the threshold; `now_bounced` when the contact reached it.
    Counted {
        bounce_count: i64,
        now_bounced: bool,
    },
    /// This delivery's hard bounce was counted before.
    AlreadyCounted,
    /// A temporary failure: noted on the delivery, not counted.
    Noted,
}

/// What unsubscribing an address by mail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressUnsubscribed {
    Unsubscribed { contact_id: ContactId },
    AlreadyOut { contact_id: ContactId },
    NotOnList,
}

const ENTRY_COLUMNS: &str = "id, received_at, channel, size, from_address, subject, message_id, \
     kind, result, contact_id, delivery_id, handled_at, handled_by, raw_removed_at";

fn entry(row: &sqlx::any::AnyRow) -> Result<InboundEntry> {
    Ok(InboundEntry {
        id: row.try_get("id")?,
        received_at: Timestamp::from_unix_ms(row.try_get("received_at")?),
        channel: row.try_get("channel")?,
        size: row.try_get("size")?,
        from_address: row.try_get("from_address")?,
        subject: row.try_get("subject")?,
        message_id: row.try_get("message_id")?,
        kind: {
            let kind: String = row.try_get("kind")?;
            InboundKind::try_from(kind.as_str()).map_err(StoreError::Corrupt)?
        },
        result: row.try_get("result")?,
        contact_id: row.try_get("contact_id")?,
        delivery_id: row.try_get("delivery_id")?,
        handled_at: row
            .try_get::<Option<i64>, _>("handled_at")?
            .map(Timestamp::from_unix_ms),
        handled_by: row.try_get("handled_by")?,
        raw_removed_at: row
            .try_get::<Option<i64>, _>("raw_removed_at")?
            .map(Timestamp::from_unix_ms),
    })
}

impl Store {
    /// The record of a message with these bytes, if it was handled before.
    pub async fn inbound_by_hash(&self, raw_sha256: &str) -> Result<Option<InboundEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM inbound_messages WHERE raw_sha256 = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(raw_sha256)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(entry)
            .transpose()
    }

    /// Records a handled message. The same bytes twice keep the first record; its id
    /// is returned either way.
    pub async fn record_inbound(&self, new: &NewInbound<'_>) -> Result<InboundId> {
        let _turn = self.write_turn().await;
        let inserted: Option<InboundId> = sqlx::query_scalar(
            "INSERT INTO inbound_messages (received_at, channel, raw_sha256, raw, size, from_address, \
             subject, message_id, sent_at, kind, result, contact_id, delivery_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (raw_sha256) DO NOTHING RETURNING id",
        )
        .bind(Timestamp::now().unix_ms())
        .bind(new.channel)
        .bind(new.raw_sha256)
        .bind(new.raw)
        .bind(new.raw.len() as i64)
        .bind(new.from_address)
        .bind(new.subject)
        .bind(new.message_id)
        .bind(new.sent_at)
        .bind(new.kind.as_str())
        .bind(new.result)
        .bind(new.contact_id)
        .bind(new.delivery_id)
        .fetch_optional(&self.pool)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            None => Ok(
                sqlx::query_scalar("SELECT id FROM inbound_messages WHERE raw_sha256 = $1")
                    .bind(new.raw_sha256)
                    .fetch_one(&self.pool)
                    .await?,
            ),
        }
    }

    /// Recorded messages, newest first; `kind` narrows to one kind.
    pub async fn list_inbound(
        &self,
        kind: Option<InboundKind>,
        limit: i64,
    ) -> Result<Vec<InboundEntry>> {
        let rows = match kind {
            Some(kind) => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM inbound_messages WHERE kind = $1 ORDER BY id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(kind.as_str())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM inbound_messages ORDER BY id DESC LIMIT $1"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(entry).collect()
    }

    /// Mail kept for a person to read (kind "other" or "unreadable"), newest first,
    /// older than the message `before`; with `include_handled`, also what staff have
    /// dealt with. Returns at most `limit` and whether there are more.
    pub async fn inbound_for_staff(
        &self,
        include_handled: bool,
        before: Option<InboundId>,
        limit: i64,
    ) -> Result<(Vec<InboundEntry>, bool)> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM inbound_messages \
             WHERE kind IN ('other', 'unreadable') AND id < $1 AND ($2 = 1 OR handled_at IS NULL) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before.map_or(i64::MAX, InboundId::get))
            .bind(i64::from(include_handled))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() as i64 > limit;
        let entries = rows
            .iter()
            .take(limit as usize)
            .map(entry)
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, more))
    }

    /// How many kept messages wait for staff.
    pub async fn inbound_waiting(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbound_messages \
             WHERE kind IN ('other', 'unreadable') AND handled_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Marks a kept message as dealt with; false if it was already (or does not exist).
    pub async fn mark_inbound_handled(&self, id: InboundId, actor: &Actor) -> Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE inbound_messages SET handled_at = $2, handled_by = $3 \
             WHERE id = $1 AND handled_at IS NULL",
        )
        .bind(id)
        .bind(Timestamp::now().unix_ms())
        .bind(actor.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if done {
            audit::record(
                &mut tx,
                actor,
                AuditAction::InboundHandled,
                Some(&format!("inbound #{id}")),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Mail linked to the contact `id` or sent from its address (`key`, lower-cased),
    /// newest first, at most `limit`.
    pub async fn inbound_of_contact(
        &self,
        id: ContactId,
        key: &str,
        limit: i64,
    ) -> Result<Vec<InboundEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM inbound_messages \
             WHERE contact_id = $1 OR lower(from_address) = $2 ORDER BY id DESC LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(key)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry)
            .collect()
    }

    /// The raw bytes of the mail linked to the contact `id` or sent from its address,
    /// newest first, at most `limit` (for a person's copy of their data).
    pub async fn inbound_raw_of_contact(
        &self,
        id: ContactId,
        key: &str,
        limit: i64,
    ) -> Result<Vec<(InboundId, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, raw FROM inbound_messages \
             WHERE contact_id = $1 OR lower(from_address) = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(id)
        .bind(key)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("raw")?)))
            .collect()
    }

    /// One recorded message with its raw bytes.
    pub async fn inbound_message(&self, id: InboundId) -> Result<Option<(InboundEntry, Vec<u8>)>> {
        let sql = format!("SELECT {ENTRY_COLUMNS}, raw FROM inbound_messages WHERE id = $1");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((entry(&row)?, row.try_get("raw")?)))
    }

    /// Records what staff did with a message that was kept for them, with its audit
    /// entry.
    pub async fn update_inbound_result(
        &self,
        id: InboundId,
        kind: InboundKind,
        result: &str,
        contact_id: Option<ContactId>,
        actor: &Actor,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE inbound_messages SET kind = $2, result = $3, contact_id = COALESCE($4, contact_id) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(result)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::InboundAnswer,
            Some(&format!("inbound #{id}")),
            Some(crate::domain::AuditDetail::Answered(kind).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unsubscribes an address at once, as a `List-Unsubscribe` mailto or a request by
    /// mail asks: no further step. Queued deliveries no worker holds are skipped in the
    /// same transaction; workers drop the ones they hold when they see the change.
    pub async fn unsubscribe_address(
        &self,
        email: &EmailAddress,
        actor: &Actor,
    ) -> Result<AddressUnsubscribed> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let changed = contact_state::unsubscribe(
            &mut tx,
            Who::Key(&email.key()),
            now,
            Entry::new(actor, AuditAction::ContactUnsubscribe, None),
        )
        .await?;
        let Some(Changed { id: contact_id, .. }) = changed else {
            tx.rollback().await?;
            let existing: Option<ContactId> =
                sqlx::query_scalar("SELECT id FROM contacts WHERE email_key = $1")
                    .bind(email.key())
                    .fetch_optional(&self.pool)
                    .await?;
            return Ok(match existing {
                Some(contact_id) => AddressUnsubscribed::AlreadyOut { contact_id },
                None => AddressUnsubscribed::NotOnList,
            });
        };
        tx.commit().await?;
        Ok(AddressUnsubscribed::Unsubscribed { contact_id })
    }

    /// The delivery a report names, by its id (from the per-delivery bounce address) or,
    /// failing that, by the bounced message's Message-ID.
    pub async fn delivery_for_bounce(
        &self,
        delivery_id: Option<DeliveryId>,
        message_id: Option<&str>,
    ) -> Result<Option<BouncedDelivery>> {
        const SELECT: &str = "SELECT d.id, d.contact_id, c.email_key, d.bounced_at FROM deliveries d \
             JOIN contacts c ON c.id = d.contact_id WHERE ";
        let row = match (delivery_id, message_id) {
            (Some(id), _) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT}d.id = $1")))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            (None, Some(message_id)) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT}d.message_id = $1")))
                    .bind(message_id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            (None, None) => None,
        };
        row.map(|row| {
            Ok(BouncedDelivery {
                id: row.try_get("id")?,
                contact_id: row.try_get("contact_id")?,
                email_key: row.try_get("email_key")?,
                counted: row.try_get::<Option<i64>, _>("bounced_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Records a bounce reported for a sent delivery. A hard one counts once per
    /// delivery toward the contact's threshold; at the threshold a confirmed contact
    /// becomes bounced and its queued deliveries are skipped. A soft one is noted.
    pub async fn record_bounce(
        &self,
        delivery: &BouncedDelivery,
        hard: bool,
        detail: &str,
        threshold: u32,
        actor: &Actor,
    ) -> Result<BounceRecorded> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        if !hard {
            sqlx::query(
                "UPDATE deliveries SET last_error = $2, updated_at = $3 WHERE id = $1 AND bounced_at IS NULL",
            )
            .bind(delivery.id)
            .bind(format!("soft bounce: {detail}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(BounceRecorded::Noted);
        }
        let Some((bounce_count, now_bounced)) = hard_bounce(
            &mut tx,
            delivery.id,
            threshold,
            now,
            &format!("bounced: {detail}"),
            actor,
        )
        .await?
        else {
            tx.rollback().await?;
            return Ok(BounceRecorded::AlreadyCounted);
        };
        tx.commit().await?;
        Ok(BounceRecorded::Counted {
            bounce_count,
            now_bounced,
        })
    }
}
