//! The audit log: what staff did, when, and to what.

use sqlx::{Any, Row};

use super::{Result, Store};
use crate::domain::Timestamp;

/// Who did something, as the caller names itself: `cli:<user>`, `web:confirm`,
/// `inbound:bounce`, `worker`, a staff account. The store never picks one itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: Option<String>,
}

/// Appends an entry inside the caller's transaction, so the entry exists exactly when
/// the change it describes does.
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    subject: Option<&str>,
    detail: Option<String>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Timestamp::now().unix_ms())
    .bind(actor.as_str())
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Records an action that changes nothing else in the database (a test copy sent).
    pub async fn log_action(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        detail: Option<String>,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        record(&mut tx, actor, action, Some(subject), detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries of one action about one subject since `since`, newest first (the test
    /// copies of an issue's current version, say).
    pub async fn audit_entries(
        &self,
        action: &str,
        subject: &str,
        since: Timestamp,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, subject, detail FROM audit_log \
             WHERE subject = $1 AND action = $2 AND at >= $3 ORDER BY id DESC LIMIT 100",
        )
        .bind(subject)
        .bind(action)
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The entries about one subject (a contact's lower-cased address, an issue's
    /// slug), newest first, at most `limit`.
    pub async fn audit_about(&self, subject: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, subject, detail FROM audit_log \
             WHERE subject = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(subject)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The newest entries first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        at: Timestamp::from_unix_ms(row.try_get("at")?),
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
    })
}
