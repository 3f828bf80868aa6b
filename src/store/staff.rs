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

    /// Counts a login attempt from `client_key` before its password is checked, unless
    /// `max` attempts from there are already counted in the last `window_ms`: then
    /// `None`, and the password is not checked at all. Returns the attempt's id, for
    /// [`Store::login_succeeded`]. Check and insert are one statement under a lock, so
    /// parallel guesses cannot all slip through.
    pub async fn count_login_attempt(
        &self,
        client_key: &str,
        max: u32,
        window_ms: i64,
    ) -> Result<Option<i64>> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_serialised(LOGIN_LOCK).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO login_attempts (client_key, at) SELECT $1, $2 \
             WHERE (SELECT COUNT(*) FROM login_attempts WHERE client_key = $1 AND at > $3) < $4 \
             RETURNING id",
        )
        .bind(client_key)
        .bind(now)
        .bind(now - window_ms)
        .bind(i64::from(max))
        .fetch_optional(&mut *tx)
        .await?;
        // Old attempts are forgotten as new ones come.
        sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(now - window_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The attempt succeeded: it does not count against the client.
    pub async fn login_succeeded(&self, attempt_id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM login_attempts WHERE id = $1")
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The PostgreSQL advisory lock that serialises login attempts.
const LOGIN_LOCK: i64 = 0x6e79_6c6f_6769;
