//! Mails that answer a request, queued: the double opt-in confirmation and the leave
//! link. The caps that keep the service from being used to mail-bomb an address (or
//! everyone) are checked and written in one guarded statement.

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Result, Store, StoreError};
use crate::domain::{ConsentSource, EmailAddress, Timestamp, TokenSecret};

/// At most one mail answering a request per address in this time.
pub const NOTICE_RESEND_AFTER_MS: i64 = 10 * 60 * 1000;
/// At most this many such mails to one address in 24 hours.
pub const NOTICES_PER_DAY: i64 = 5;
const DAY_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;

/// Any fixed number: the key of the PostgreSQL advisory lock that makes the caps exact
/// across processes (on SQLite the write turn and the single writer do it).
const NOTICE_LOCK: i64 = 0x6e79_6865_7473;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticePurpose {
    /// The double opt-in link.
    Confirm,
    /// A leave link, for a request to leave by mail whose sender was not verified.
    Leave,
}

impl NoticePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticePurpose::Confirm => "confirm",
            NoticePurpose::Leave => "leave",
        }
    }
}

/// What asking for a notice led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeQueued {
    Queued {
        notice_id: i64,
    },
    /// One went to this address less than ten minutes ago, or five today.
    RecentlySent,
    /// `confirmations_per_hour` is reached for everyone together.
    HourlyCapReached,
}

/// A queued notice a sender holds a lease on, with what its mail needs. The secret is
/// fresh: its hash was stored in the same transaction as the claim.
#[derive(Debug, Clone)]
pub struct ClaimedNotice {
    pub id: i64,
    pub contact_id: i64,
    pub email: EmailAddress,
    pub purpose: NoticePurpose,
    pub attempts: i64,
    pub secret: TokenSecret,
}

/// The end of one attempt to mail a notice.
#[derive(Debug, Clone)]
pub enum NoticeOutcome {
    Sent,
    Retry {
        error: String,
        at: Timestamp,
    },
    Failed {
        error: String,
    },
    /// The mail no longer makes sense (a confirmation to a contact who is confirmed).
    Skipped {
        reason: String,
    },
}

/// Extra fields of a confirmation notice.
pub(super) struct ConsentCarried<'a> {
    pub source: ConsentSource,
    pub note: Option<&'a str>,
}

/// A request from the web form, waiting for the notice sender.
#[derive(Debug, Clone)]
pub struct QueuedRequest {
    pub id: i64,
    pub email: EmailAddress,
    pub name: Option<crate::domain::ContactName>,
    pub organisation: Option<crate::domain::Organisation>,
    /// What was ticked.
    pub publications: crate::domain::PublicationChoice,
}

impl Store {
    /// Queues a notice for `contact_id` unless a cap holds it back: one per address per
    /// ten minutes and [`NOTICES_PER_DAY`] a day (both purposes together), and
    /// `per_hour` for all addresses together. Check and insert are one statement in a
    /// transaction that holds the notice lock, so parallel requests cannot both pass.
    pub(super) async fn queue_notice(
        &self,
        contact_id: i64,
        purpose: NoticePurpose,
        consent: Option<ConsentCarried<'_>>,
        per_hour: u32,
    ) -> Result<NoticeQueued> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_serialised(NOTICE_LOCK).await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notices (contact_id, purpose, status, created_at, attempts, next_attempt_at, \
             consent_source, consent_note) \
             SELECT $1, $2, 'queued', $3, 0, $3, $4, $5 \
             WHERE NOT EXISTS (SELECT 1 FROM notices WHERE contact_id = $1 AND created_at > $6) \
             AND (SELECT COUNT(*) FROM notices WHERE contact_id = $1 AND created_at > $7) < $8 \
             AND (SELECT COUNT(*) FROM notices WHERE created_at > $9) < $10 \
             RETURNING id",
        )
        .bind(contact_id)
        .bind(purpose.as_str())
        .bind(now)
        .bind(consent.as_ref().map(|c| c.source.as_str()))
        .bind(consent.as_ref().and_then(|c| c.note))
        .bind(now - NOTICE_RESEND_AFTER_MS)
        .bind(now - DAY_MS)
        .bind(NOTICES_PER_DAY)
        .bind(now - HOUR_MS)
        .bind(i64::from(per_hour))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(notice_id) = inserted {
            tx.commit().await?;
            return Ok(NoticeQueued::Queued { notice_id });
        }
        // Which cap held it back, for the log and the record.
        let row = sqlx::query(
            "SELECT COUNT(*) AS today, SUM(CASE WHEN created_at > $2 THEN 1 ELSE 0 END) AS recent \
             FROM notices WHERE contact_id = $1 AND created_at > $3",
        )
        .bind(contact_id)
        .bind(now - NOTICE_RESEND_AFTER_MS)
        .bind(now - DAY_MS)
        .fetch_one(&mut *tx)
        .await?;
        let today: i64 = row.try_get("today")?;
        let recent: i64 = row.try_get::<Option<i64>, _>("recent")?.unwrap_or(0);
        tx.rollback().await?;
        Ok(if recent > 0 || today >= NOTICES_PER_DAY {
            NoticeQueued::RecentlySent
        } else {
            NoticeQueued::HourlyCapReached
        })
    }

    /// Claims due notices until `lease_until`. Each gets a fresh secret, stored (hashed)
    /// as a token before any mail carries it: a confirmation link valid for
    /// `confirm_valid_ms`, or an unsubscribe link. A confirmation for a contact who is
    /// confirmed by now, or a leave link for one who left, is skipped instead.
    pub async fn claim_notices(
        &self,
        limit: i64,
        lease_until: Timestamp,
        confirm_valid_ms: i64,
    ) -> Result<Vec<ClaimedNotice>> {
        let now = Timestamp::now().unix_ms();
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let claim = format!(
            "UPDATE notices SET lease_until = $1 WHERE id IN (SELECT id FROM notices \
             WHERE status = 'queued' AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY id LIMIT $3{lock}) \
             RETURNING id, contact_id, purpose, attempts, consent_source, consent_note"
        );
        let (_turn, mut tx) = self.begin_write().await?;
        let rows = sqlx::query(AssertSqlSafe(claim))
            .bind(lease_until.unix_ms())
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let contact_id: i64 = row.try_get("contact_id")?;
            let purpose = match row.try_get::<String, _>("purpose")?.as_str() {
                "confirm" => NoticePurpose::Confirm,
                "leave" => NoticePurpose::Leave,
                other => return Err(StoreError::Corrupt(format!("notice purpose {other:?}"))),
            };
            let contact = sqlx::query("SELECT email, status FROM contacts WHERE id = $1")
                .bind(contact_id)
                .fetch_one(&mut *tx)
                .await?;
            let email: String = contact.try_get("email")?;
            let status: String = contact.try_get("status")?;
            let moot = match purpose {
                NoticePurpose::Confirm if status == "confirmed" => Some("already confirmed"),
                NoticePurpose::Leave if status == "unsubscribed" => Some("already left"),
                _ => None,
            };
            if let Some(reason) = moot {
                sqlx::query(
                    "UPDATE notices SET status = 'skipped', last_error = $2, lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                continue;
            }
            let secret = TokenSecret::generate();
            match purpose {
                NoticePurpose::Confirm => {
                    sqlx::query(
                        "INSERT INTO tokens (token_hash, contact_id, purpose, created_at, expires_at, \
                         consent_source, consent_note) VALUES ($1, $2, 'confirm', $3, $4, $5, $6)",
                    )
                    .bind(secret.hash().as_str())
                    .bind(contact_id)
                    .bind(now)
                    .bind(now + confirm_valid_ms)
                    .bind(row.try_get::<Option<String>, _>("consent_source")?)
                    .bind(row.try_get::<Option<String>, _>("consent_note")?)
                    .execute(&mut *tx)
                    .await?;
                }
                NoticePurpose::Leave => {
                    sqlx::query(
                        "INSERT INTO tokens (token_hash, contact_id, purpose, created_at) \
                         VALUES ($1, $2, 'unsubscribe', $3)",
                    )
                    .bind(secret.hash().as_str())
                    .bind(contact_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            claimed.push(ClaimedNotice {
                id,
                contact_id,
                email: EmailAddress::parse(&email)?,
                purpose,
                attempts: row.try_get("attempts")?,
                secret,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of a claimed notice.
    pub async fn record_notice(&self, id: i64, outcome: &NoticeOutcome) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let _turn = self.write_turn().await;
        let query = match outcome {
            NoticeOutcome::Sent => sqlx::query(
                "UPDATE notices SET status = 'sent', sent_at = $2, attempts = attempts + 1, \
                 last_error = NULL, lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now),
            NoticeOutcome::Retry { error, at } => sqlx::query(
                "UPDATE notices SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(at.unix_ms())
            .bind(error.clone()),
            NoticeOutcome::Failed { error } => sqlx::query(
                "UPDATE notices SET status = 'failed', attempts = attempts + 1, last_error = $2, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(error.clone()),
            NoticeOutcome::Skipped { reason } => sqlx::query(
                "UPDATE notices SET status = 'skipped', last_error = $2, lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(reason.clone()),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Notices waiting to be sent, and web requests not yet turned into one (for tests
    /// and status).
    pub async fn queued_notices(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM notices WHERE status = 'queued') \
             + (SELECT COUNT(*) FROM subscription_requests)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Keeps a request from the web form to be handled in the background: one insert,
    /// whatever the address, so the form's answer time cannot tell who is on the list.
    pub async fn queue_subscription_request(
        &self,
        email: &EmailAddress,
        name: Option<&crate::domain::ContactName>,
        organisation: Option<&crate::domain::Organisation>,
        publications: &crate::domain::PublicationChoice,
    ) -> Result<()> {
        let publications = match publications {
            crate::domain::PublicationChoice::All => None,
            crate::domain::PublicationChoice::Only(slugs) => Some(
                slugs
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        };
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO subscription_requests (email, name, organisation, requested_at, publications) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(email.as_str())
        .bind(name.map(|n| n.as_str()))
        .bind(organisation.map(|o| o.as_str()))
        .bind(Timestamp::now().unix_ms())
        .bind(publications)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` queued web requests, oldest first, with their ids: each is handled
    /// by [`Store::request_subscription`], then forgotten with
    /// [`Store::forget_subscription_request`]. Two senders may take the same request;
    /// the per-address cap makes the second one send nothing.
    pub async fn queued_subscription_requests(&self, limit: i64) -> Result<Vec<QueuedRequest>> {
        let rows = sqlx::query(
            "SELECT id, email, name, organisation, publications FROM subscription_requests \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut requests = Vec::with_capacity(rows.len());
        for row in &rows {
            let corrupt = |e: crate::domain::TextError| StoreError::Corrupt(e.to_string());
            requests.push(QueuedRequest {
                id: row.try_get::<i64, _>("id")?,
                email: EmailAddress::parse(&row.try_get::<String, _>("email")?)?,
                name: crate::domain::ContactName::parse(
                    row.try_get::<Option<String>, _>("name")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(corrupt)?,
                organisation: crate::domain::Organisation::parse(
                    row.try_get::<Option<String>, _>("organisation")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(corrupt)?,
                publications: crate::domain::PublicationChoice::parse_list(
                    row.try_get::<Option<String>, _>("publications")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            });
        }
        Ok(requests)
    }

    /// A handled web request, removed.
    pub async fn forget_subscription_request(&self, id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM subscription_requests WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
