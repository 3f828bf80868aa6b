//! The audit log: what staff did, when, and to what.

use sqlx::{Any, Row};

use super::{Result, Store};
pub use crate::domain::Actor;
use crate::domain::{AuditAction, AuditDetail, LoggedAction, Timestamp, subject_words};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: LoggedAction,
    pub subject: Option<String>,
    pub detail: Option<String>,
}

/// An entry as staff read it: who, what, about what and the detail, each in bokmål,
/// never as stored. The log page and a contact's history both show these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditWords {
    pub who: String,
    pub what: String,
    pub about: String,
    pub detail: String,
}

impl AuditEntry {
    /// The detail read back as what it is.
    pub fn detail(&self) -> Option<AuditDetail> {
        self.detail
            .as_deref()
            .map(|stored| AuditDetail::read(&self.action, stored))
    }

    pub fn in_words(&self) -> AuditWords {
        AuditWords {
            who: self.actor.norwegian(),
            what: self.action.norwegian().into_owned(),
            about: self
                .subject
                .as_deref()
                .map(|subject| subject_words(&self.action, subject))
                .unwrap_or_default(),
            detail: self
                .detail()
                .map(|detail| detail.norwegian())
                .unwrap_or_default(),
        }
    }
}

/// Which entries of the log a staff page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (`web:kari`).
    pub actor: Option<String>,
    /// Exactly this action.
    pub action: Option<AuditAction>,
    /// From this moment (inclusive).
    pub from: Option<Timestamp>,
    /// Until this moment (exclusive).
    pub until: Option<Timestamp>,
}

/// Appends an entry inside the caller's transaction, so the entry exists exactly when
/// the change it describes does.
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'static, Any>,
    actor: &Actor,
    action: AuditAction,
    subject: Option<&str>,
    detail: Option<String>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Timestamp::now().unix_ms())
    .bind(actor.as_str())
    .bind(action.as_str())
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
        action: AuditAction,
        subject: &str,
        detail: Option<String>,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let subject = Some(subject).filter(|s| !s.is_empty());
        record(&mut tx, actor, action, subject, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When `action` was last recorded, if ever.
    pub async fn last_action_at(&self, action: AuditAction) -> Result<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT max(at) FROM audit_log WHERE action = $1")
            .bind(action.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(Timestamp::from_unix_ms))
    }

    /// The newest entries of one action since `since`, at most `limit`, newest first
    /// (the dashboard's recent exports; read through the index on action and time).
    pub async fn recent_actions(
        &self,
        action: AuditAction,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log \
             WHERE action = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(action.as_str())
        .bind(since.unix_ms())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Entries of one action about one subject since `since`, newest first (the test
    /// copies of an issue's current version, say).
    pub async fn audit_entries(
        &self,
        action: AuditAction,
        subject: &str,
        since: Timestamp,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log \
             WHERE subject = $1 AND action = $2 AND at >= $3 ORDER BY id DESC LIMIT 100",
        )
        .bind(subject)
        .bind(action.as_str())
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The entries about one subject (a contact's lower-cased address, an issue's
    /// slug), newest first, at most `limit`.
    pub async fn audit_about(&self, subject: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log \
             WHERE subject = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(subject)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// A page of the entries matching `filter`, newest first, older than the entry
    /// `before` when given (keyset, so a page deep in a long log costs what the first
    /// does). Returns at most `limit` entries and whether there are more.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool)> {
        let mut conditions: Vec<String> = Vec::new();
        let mut query_binds: Vec<Bind> = Vec::new();
        if let Some(actor) = &filter.actor {
            query_binds.push(Bind::Text(actor.clone()));
            conditions.push(format!("actor = ${}", query_binds.len()));
        }
        if let Some(action) = &filter.action {
            query_binds.push(Bind::Text(action.as_str().to_owned()));
            conditions.push(format!("action = ${}", query_binds.len()));
        }
        if let Some(from) = filter.from {
            query_binds.push(Bind::Int(from.unix_ms()));
            conditions.push(format!("at >= ${}", query_binds.len()));
        }
        if let Some(until) = filter.until {
            query_binds.push(Bind::Int(until.unix_ms()));
            conditions.push(format!("at < ${}", query_binds.len()));
        }
        if let Some(before) = before {
            query_binds.push(Bind::Int(before));
            conditions.push(format!("id < ${}", query_binds.len()));
        }
        let sql = format!(
            "SELECT id, at, actor, action, subject, detail FROM audit_log {} ORDER BY id DESC LIMIT {}",
            if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            },
            limit + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bind in query_binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let more = rows.len() > limit;
        let entries = rows
            .iter()
            .take(limit)
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, more))
    }

    /// The newest entries first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: Timestamp::from_unix_ms(row.try_get("at")?),
        actor: Actor::parse(&row.try_get::<String, _>("actor")?),
        action: LoggedAction::parse(&row.try_get::<String, _>("action")?),
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
    })
}
