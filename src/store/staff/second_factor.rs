//! Second factors: an account's TOTP secret (stored as given: the caller seals it), the
//! time step last taken, its recovery codes (as hashes), and a reset when the phone is
//! lost.

use sqlx::Row;

use super::accounts::{AccountChangeKind, record_change};

use crate::domain::{AuditAction, Timestamp};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, StoreError};

/// An account's second factor, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The secret as stored once enrolment has started: sealed with `token_key`, or its
    /// base32 in clear as versions before sealing wrote it.
    pub secret: Option<String>,
    /// Whether a code from it has been typed: the second factor is in force.
    pub enabled: bool,
    /// The last time step whose code was accepted.
    pub last_step: Option<i64>,
}

impl Store {
    /// The second factor of an account, or `None` if there is no such account.
    pub async fn totp_state(&self, username: &str) -> Result<Option<TotpState>> {
        let row = sqlx::query(
            "SELECT totp_secret, totp_enabled_at, totp_last_step FROM staff_users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TotpState {
                secret: row.try_get("totp_secret")?,
                enabled: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
                last_step: row.try_get("totp_last_step")?,
            })
        })
        .transpose()
    }

    /// Every account's stored second-factor secret (sealed, or in clear from before
    /// sealing), by user name.
    pub async fn stored_totp_secrets(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT username, totp_secret FROM staff_users WHERE totp_secret IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("username")?, row.try_get("totp_secret")?)))
            .collect()
    }

    /// Replaces a stored second-factor secret by the same secret stored another way
    /// (sealed), unless it changed meanwhile. Whether it was replaced.
    pub async fn replace_totp_secret(&self, username: &str, old: &str, new: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE staff_users SET totp_secret = $3 WHERE username = $1 AND totp_secret = $2",
        )
        .bind(username)
        .bind(old)
        .bind(new)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Starts enrolment: stores the secret (sealed) the person's app will hold, not in
    /// force yet. An account whose second factor is in force keeps its own.
    pub async fn set_totp_secret(&self, username: &str, secret: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE staff_users SET totp_secret = $2 WHERE username = $1 AND totp_enabled_at IS NULL",
        )
        .bind(username)
        .bind(secret)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts the second factor in force after a code from it was typed (`step`), with
    /// new recovery codes (their hashes); the old ones stop working.
    pub async fn enable_totp(
        &self,
        username: &str,
        step: i64,
        recovery_hashes: &[String],
        actor: &Actor,
    ) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE staff_users SET totp_enabled_at = $2, totp_last_step = $3, updated_at = $2, \
             must_enrol = 0 \
             WHERE username = $1 AND totp_secret IS NOT NULL RETURNING id",
        )
        .bind(username)
        .bind(now)
        .bind(step)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Err(StoreError::Corrupt(format!(
                "no TOTP secret for {username:?}"
            )));
        };
        sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query(
                "INSERT INTO staff_recovery_codes (staff_user_id, code_hash) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(&mut tx, actor, AuditAction::StaffTotp, Some(username), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the time step of an accepted code: true only the first time, and only for
    /// a step later than the last one taken (a code cannot be used twice, nor an older one
    /// after a newer).
    pub async fn take_totp_step(&self, username: &str, step: i64) -> Result<bool> {
        let _turn = self.write_turn().await;
        let taken = sqlx::query(
            "UPDATE staff_users SET totp_last_step = $2 WHERE username = $1 \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(username)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Uses a recovery code (by its hash): true the first time only.
    pub async fn use_recovery_code(&self, username: &str, hash: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        let used = sqlx::query(
            "UPDATE staff_recovery_codes SET used_at = $3 WHERE code_hash = $2 AND used_at IS NULL \
             AND staff_user_id = (SELECT id FROM staff_users WHERE username = $1)",
        )
        .bind(username)
        .bind(hash)
        .bind(Timestamp::now().unix_ms())
        .execute(&self.pool)
        .await?;
        Ok(used.rows_affected() > 0)
    }

    /// How many unused recovery codes an account has.
    pub async fn recovery_codes_left(&self, username: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_recovery_codes WHERE used_at IS NULL \
             AND staff_user_id = (SELECT id FROM staff_users WHERE username = $1)",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Takes away the account's second factor (secret, recovery codes) and ends its
    /// sessions: it sets one up again at its next sign-in. False: no such account.
    pub async fn reset_second_factor(
        &self,
        username: &str,
        by: Option<&str>,
        actor: &Actor,
    ) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, \
             totp_last_step = NULL, must_enrol = 1, updated_at = $2 WHERE username = $1 RETURNING id",
        )
        .bind(username)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM staff_sessions WHERE staff_user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record_change(
            &mut tx,
            username,
            AccountChangeKind::SecondFactorReset,
            by,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::StaffSecondFactorReset,
            Some(username),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the account's second factor was reset and it has not set one up since.
    pub async fn staff_must_enrol(&self, username: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_users WHERE username = $1 AND must_enrol = 1",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
