//! API tokens: the admin API's credentials, one per integration. Only the SHA-256 of
//! a token's secret is stored; a revoked token keeps its row for the audit log.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError, is_unique_violation};
use crate::domain::AuditAction;
use crate::domain::{ApiScope, ApiTokenName, Timestamp};

/// A token as staff see it: never its secret (the store does not have it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenLine {
    pub id: i64,
    pub name: String,
    pub scope: ApiScope,
    pub created_at: Timestamp,
    /// The audit actor who made it (`web:kari`, `cli:ola`).
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    pub last_used_at: Option<Timestamp>,
}

/// The token a presented secret's hash belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenFound {
    pub id: i64,
    pub name: String,
    pub scope: ApiScope,
    pub revoked: bool,
}

/// What adding a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokenAdded {
    Added {
        id: i64,
    },
    /// A token (revoked or not) has this name already: names stay unique so the
    /// audit log's `api:<name>` means one token.
    NameTaken,
}

/// What revoking a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokenRevoked {
    Revoked,
    AlreadyRevoked,
    NotFound,
}

fn scope_of(word: &str) -> Result<ApiScope> {
    ApiScope::parse(word).ok_or_else(|| StoreError::Corrupt(format!("API token scope {word:?}")))
}

impl Store {
    /// Stores a new token by the hash of its secret, with its audit entry.
    pub async fn add_api_token(
        &self,
        name: &ApiTokenName,
        scope: ApiScope,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<ApiTokenAdded> {
        let (_turn, mut tx) = self.begin_write().await?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_tokens (name, token_hash, scope, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name.as_str())
        .bind(token_hash)
        .bind(scope.as_str())
        .bind(Timestamp::now().unix_ms())
        .bind(actor.as_str())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Ok(ApiTokenAdded::NameTaken);
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            &mut tx,
            actor,
            AuditAction::ApiTokenAdd,
            Some(name.as_str()),
            Some(crate::domain::AuditDetail::Scope(scope).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(ApiTokenAdded::Added { id })
    }

    /// Every token, revoked ones too, by name.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenLine>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created_at, created_by, revoked_at, revoked_by, last_used_at \
             FROM api_tokens ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiTokenLine {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    scope: scope_of(&row.try_get::<String, _>("scope")?)?,
                    created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
                    created_by: row.try_get("created_by")?,
                    revoked_at: row
                        .try_get::<Option<i64>, _>("revoked_at")?
                        .map(Timestamp::from_unix_ms),
                    revoked_by: row.try_get("revoked_by")?,
                    last_used_at: row
                        .try_get::<Option<i64>, _>("last_used_at")?
                        .map(Timestamp::from_unix_ms),
                })
            })
            .collect()
    }

    /// Revokes a token for good, with its audit entry; the row stays.
    pub async fn revoke_api_token(
        &self,
        name: &ApiTokenName,
        actor: &Actor,
    ) -> Result<ApiTokenRevoked> {
        let (_turn, mut tx) = self.begin_write().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 \
             WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name.as_str())
        .bind(Timestamp::now().unix_ms())
        .bind(actor.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !revoked {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
                    .bind(name.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.rollback().await?;
            return Ok(match exists {
                Some(_) => ApiTokenRevoked::AlreadyRevoked,
                None => ApiTokenRevoked::NotFound,
            });
        }
        audit::record(
            &mut tx,
            actor,
            AuditAction::ApiTokenRevoke,
            Some(name.as_str()),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(ApiTokenRevoked::Revoked)
    }

    /// The token whose secret hashes to `token_hash`, revoked or not.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenFound>> {
        let row =
            sqlx::query("SELECT id, name, scope, revoked_at FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(ApiTokenFound {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                scope: scope_of(&row.try_get::<String, _>("scope")?)?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Notes that a token was just used.
    pub async fn api_token_used(&self, id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(Timestamp::now().unix_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
