//! Staff sessions: started at sign-in, read and touched on every page, ended by
//! signing out, by their owner from elsewhere, or when stale.

use sqlx::Row;

use crate::domain::{AuditAction, Timestamp, TokenHash};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, StoreError};

/// One of an account's sessions, for its owner to see and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    /// The SHA-256 of the session's secret: names the session without being able to
    /// sign anyone in.
    pub id_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A staff member's session, as stored (it may still owe the second factor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub username: String,
    pub csrf_token: String,
    /// 0: signed in; 1: a second-factor code is due; 2: enrolment is due.
    pub second_factor_due: i64,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl Store {
    /// The sessions of an account, the most recently used first.
    pub async fn sessions_of(&self, username: &str) -> Result<Vec<SessionLine>> {
        let rows = sqlx::query(
            "SELECT s.id_hash, s.created_at, s.last_seen_at FROM staff_sessions s \
             JOIN staff_users u ON u.id = s.staff_user_id WHERE u.username = $1 \
             ORDER BY s.last_seen_at DESC",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionLine {
                    id_hash: row.try_get("id_hash")?,
                    created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
                    last_seen_at: Timestamp::from_unix_ms(row.try_get("last_seen_at")?),
                })
            })
            .collect()
    }

    /// Ends one of the account's own sessions; false if it has no such session.
    pub async fn end_own_session(&self, username: &str, id_hash: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        let ended = sqlx::query(
            "DELETE FROM staff_sessions WHERE id_hash = $2 AND staff_user_id = \
             (SELECT id FROM staff_users WHERE username = $1)",
        )
        .bind(username)
        .bind(id_hash)
        .execute(&self.pool)
        .await?;
        Ok(ended.rows_affected() > 0)
    }

    /// Starts a session for the account `username` and logs the sign-in; the caller keeps
    /// the secret whose hash is `id_hash`.
    pub async fn create_staff_session(
        &self,
        username: &str,
        id_hash: &TokenHash,
        csrf_token: &str,
        now: Timestamp,
        second_factor_due: i64,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO staff_sessions (id_hash, staff_user_id, csrf_token, created_at, last_seen_at, \
             second_factor_due) SELECT $1, id, $3, $4, $4, $5 FROM staff_users WHERE username = $2",
        )
        .bind(id_hash.as_str())
        .bind(username)
        .bind(csrf_token)
        .bind(now.unix_ms())
        .bind(second_factor_due)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Corrupt(format!(
                "no staff account {username:?} to start a session for"
            )));
        }
        audit::record(
            &mut tx,
            &Actor::web(username),
            AuditAction::StaffLogin,
            Some(username),
            (second_factor_due > 0)
                .then(|| crate::domain::AuditDetail::SecondFactorDue.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this hash, unless its account is disabled: the account, CSRF
    /// token, what it still owes of the second factor, start and last use.
    pub async fn staff_session(&self, id_hash: &TokenHash) -> Result<Option<StaffSession>> {
        let row = sqlx::query(
            "SELECT u.username, s.csrf_token, s.created_at, s.last_seen_at, s.second_factor_due \
             FROM staff_sessions s \
             JOIN staff_users u ON u.id = s.staff_user_id \
             WHERE s.id_hash = $1 AND u.disabled_at IS NULL",
        )
        .bind(id_hash.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StaffSession {
                username: row.try_get("username")?,
                csrf_token: row.try_get("csrf_token")?,
                second_factor_due: row.try_get("second_factor_due")?,
                created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
                last_seen_at: Timestamp::from_unix_ms(row.try_get("last_seen_at")?),
            })
        })
        .transpose()
    }

    /// Notes that the session was used now.
    pub async fn touch_staff_session(&self, id_hash: &TokenHash, now: Timestamp) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash.as_str())
            .bind(now.unix_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends one session (signing out, or one found to have run out).
    pub async fn end_staff_session(&self, id_hash: &TokenHash) -> Result<bool> {
        let _turn = self.write_turn().await;
        let ended = sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
            .bind(id_hash.as_str())
            .execute(&self.pool)
            .await?;
        Ok(ended.rows_affected() > 0)
    }

    /// Deletes sessions unused since `idle_since` or begun before `begun_before`.
    pub async fn end_stale_staff_sessions(
        &self,
        idle_since: Timestamp,
        begun_before: Timestamp,
    ) -> Result<u64> {
        let _turn = self.write_turn().await;
        let ended =
            sqlx::query("DELETE FROM staff_sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(idle_since.unix_ms())
                .bind(begun_before.unix_ms())
                .execute(&self.pool)
                .await?;
        Ok(ended.rows_affected())
    }

    /// The session has passed its second factor (or enrolled): it opens staff pages.
    pub async fn clear_second_factor_due(&self, id_hash: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("UPDATE staff_sessions SET second_factor_due = 0 WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
