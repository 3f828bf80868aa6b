//! Staff accounts: who may use the admin API (and, later, the admin pages).

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};
use crate::domain::Timestamp;

impl Store {
    /// Adds a staff account, or replaces its password if it exists. `password_hash` is
    /// an argon2 PHC string (see `crate::auth`).
    pub async fn set_staff_user(
        &self,
        username: &str,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE staff_users SET password_hash = $2, updated_at = $3 WHERE username = $1",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !updated {
            sqlx::query(
                "INSERT INTO staff_users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)",
            )
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let action = if updated {
            "staff.password"
        } else {
            "staff.add"
        };
        audit::record(&mut tx, actor, action, Some(username), None).await?;
        tx.commit().await?;
        Ok(!updated)
    }

    /// The stored password hash of a staff account.
    pub async fn staff_password_hash(&self, username: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT password_hash FROM staff_users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)
    }
}
