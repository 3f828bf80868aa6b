//! Staff accounts: who may use the admin API (and, later, the admin pages).

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};

use crate::domain::AuditAction;
use crate::domain::{Timestamp, TokenHash};

/// What kind of change someone made to an account (`staff_account_changes.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChangeKind {
    Created,
    Password,
    SecondFactorReset,
}

impl AccountChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountChangeKind::Created => "created",
            AccountChangeKind::Password => "password",
            AccountChangeKind::SecondFactorReset => "second_factor_reset",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => AccountChangeKind::Created,
            "password" => AccountChangeKind::Password,
            "second_factor_reset" => AccountChangeKind::SecondFactorReset,
            _ => return None,
        })
    }
}

/// A change made to an account: what, by which account (`None`: the command line) and
/// when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    pub kind: AccountChangeKind,
    pub by: Option<String>,
    pub at: Timestamp,
}

/// How an account is written: its new password hash, and for a new account (or with
/// `admin` for an existing one) its role and address.
#[derive(Debug, Clone, Default)]
pub struct StaffUserWrite<'a> {
    pub username: &'a str,
    /// An argon2 PHC string (see `crate::auth`).
    pub password_hash: &'a str,
    /// Make the account an administrator (the first account ever made is one anyway).
    pub admin: bool,
    /// The address to tell the owner things; kept when `None`.
    pub email: Option<&'a str>,
    /// The account that does it; `None`: the command line.
    pub by: Option<&'a str>,
}

/// Notes a change to the account `username` made by the account `by` (`None`: the
/// command line), in the caller's transaction.
async fn record_change(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    username: &str,
    kind: AccountChangeKind,
    by: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO staff_account_changes (staff_user_id, kind, by_staff_user_id, at) \
         SELECT u.id, $2, (SELECT b.id FROM staff_users b WHERE b.username = $3), $4 \
         FROM staff_users u WHERE u.username = $1",
    )
    .bind(username)
    .bind(kind.as_str())
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Adds a staff account, or replaces its password if it exists. `password_hash` is
    /// an argon2 PHC string (see `crate::auth`).
    pub async fn set_staff_user(
        &self,
        username: &str,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<bool> {
        self.write_staff_user(
            &StaffUserWrite {
                username,
                password_hash,
                ..Default::default()
            },
            actor,
        )
        .await
    }

    /// Adds a staff account, or replaces its password if it exists; true when it was
    /// added. The first account ever made is an administrator. Who did it is noted in
    /// `staff_account_changes` in the same transaction.
    pub async fn write_staff_user(
        &self,
        write: &StaffUserWrite<'_>,
        actor: &Actor,
    ) -> Result<bool> {
        let username = write.username;
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE staff_users SET password_hash = $2, updated_at = $3, \
             is_admin = CASE WHEN $4 = 1 THEN 1 ELSE is_admin END, \
             email = COALESCE($5, email) WHERE username = $1",
        )
        .bind(username)
        .bind(write.password_hash)
        .bind(now)
        .bind(i64::from(write.admin))
        .bind(write.email)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !updated {
            sqlx::query(
                "INSERT INTO staff_users (username, password_hash, created_at, updated_at, is_admin, email) \
                 SELECT $1, $2, $3, $3, CASE WHEN $4 = 1 OR NOT EXISTS (SELECT 1 FROM staff_users) \
                 THEN 1 ELSE 0 END, $5",
            )
            .bind(username)
            .bind(write.password_hash)
            .bind(now)
            .bind(i64::from(write.admin))
            .bind(write.email)
            .execute(&mut *tx)
            .await?;
        }
        if updated {
            // A new password ends every session of the account: whoever knew the old
            // one is signed out too.
            sqlx::query(
                "DELETE FROM staff_sessions WHERE staff_user_id = \
                 (SELECT id FROM staff_users WHERE username = $1)",
            )
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        let kind = if updated {
            AccountChangeKind::Password
        } else {
            AccountChangeKind::Created
        };
        record_change(&mut tx, username, kind, write.by, now).await?;
        let action = if updated {
            AuditAction::StaffPassword
        } else {
            AuditAction::StaffAdd
        };
        let detail = (!updated && write.admin).then(|| "administrator".to_owned());
        audit::record(&mut tx, actor, action, Some(username), detail).await?;
        tx.commit().await?;
        Ok(!updated)
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

    /// Changes made to the account `username` by anyone but itself (the command line
    /// included), newest first.
    pub async fn account_changes_by_others(&self, username: &str) -> Result<Vec<AccountChange>> {
        let rows = sqlx::query(
            "SELECT c.kind, b.username AS by_name, c.by_staff_user_id, c.at \
             FROM staff_account_changes c \
             JOIN staff_users u ON u.id = c.staff_user_id \
             LEFT JOIN staff_users b ON b.id = c.by_staff_user_id \
             WHERE u.username = $1 AND (c.by_staff_user_id IS NULL OR c.by_staff_user_id <> u.id) \
             ORDER BY c.at DESC, c.id DESC",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(AccountChange {
                    kind: AccountChangeKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown account change {kind:?}"))
                    })?,
                    by: row.try_get("by_name")?,
                    at: Timestamp::from_unix_ms(row.try_get("at")?),
                })
            })
            .collect()
    }

    /// Whether the account is an active administrator.
    pub async fn staff_is_admin(&self, username: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_users WHERE username = $1 AND is_admin = 1 \
             AND disabled_at IS NULL",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// The address stored for telling the account's owner things.
    pub async fn staff_email(&self, username: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT email FROM staff_users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Whether someone else reset the account's second factor and it has not set one up
    /// since.
    pub async fn staff_must_enrol(&self, username: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_users WHERE username = $1 AND must_enrol = 1",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// The stored password hash of a staff account.
    pub async fn staff_password_hash(&self, username: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT password_hash FROM staff_users WHERE username = $1 AND disabled_at IS NULL",
        )
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

/// A staff account as the accounts page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub username: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    /// Sessions that have not been ended (some may have run out unswept).
    pub sessions: i64,
    /// Manages accounts.
    pub is_admin: bool,
    /// The address to tell the owner things, if one was given.
    pub email: Option<String>,
    /// Has a second factor in force.
    pub second_factor: bool,
}

/// One of an account's sessions, for its owner to see and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    /// The SHA-256 of the session's secret: names the session without being able to
    /// sign anyone in.
    pub id_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl Store {
    /// Every staff account, by name.
    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>> {
        let rows = sqlx::query(
            "SELECT u.username, u.created_at, u.disabled_at, u.is_admin, u.email, u.totp_enabled_at, \
             (SELECT COUNT(*) FROM staff_sessions s WHERE s.staff_user_id = u.id) AS sessions \
             FROM staff_users u ORDER BY u.username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StaffAccount {
                    username: row.try_get("username")?,
                    created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
                    disabled_at: row
                        .try_get::<Option<i64>, _>("disabled_at")?
                        .map(Timestamp::from_unix_ms),
                    sessions: row.try_get("sessions")?,
                    is_admin: row.try_get::<i64, _>("is_admin")? == 1,
                    email: row.try_get("email")?,
                    second_factor: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Whether an account with this name exists (disabled or not).
    pub async fn staff_user_exists(&self, username: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_users WHERE username = $1")
            .bind(username)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Disables an account (its sessions end in the same transaction) or enables it
    /// again. Returns false when there is no such account or nothing changed.
    pub async fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &Actor,
    ) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let changed = if disabled {
            sqlx::query(
                "UPDATE staff_users SET disabled_at = $2, updated_at = $2 \
                 WHERE username = $1 AND disabled_at IS NULL",
            )
        } else {
            sqlx::query(
                "UPDATE staff_users SET disabled_at = NULL, updated_at = $2 \
                 WHERE username = $1 AND disabled_at IS NOT NULL",
            )
        }
        .bind(username)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !changed {
            return Ok(false);
        }
        if disabled {
            sqlx::query(
                "DELETE FROM staff_sessions WHERE staff_user_id = \
                 (SELECT id FROM staff_users WHERE username = $1)",
            )
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        let action = if disabled {
            AuditAction::StaffDisable
        } else {
            AuditAction::StaffEnable
        };
        audit::record(&mut tx, actor, action, Some(username), None).await?;
        tx.commit().await?;
        Ok(true)
    }

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
}

/// The PostgreSQL advisory lock that serialises login attempts.
const LOGIN_LOCK: i64 = 0x6e79_6c6f_6769;

/// A signed-in staff member's session, as stored.
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
    /// Starts a session for the account `username`; the caller keeps the secret whose
    /// hash is `id_hash`.
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
            (second_factor_due > 0).then(|| "password; second factor due".to_owned()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this hash: its account, CSRF token, start and last use.
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
}

/// An account's second factor, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The base32 secret, once enrolment has started.
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

    /// Starts enrolment: the secret the person's app will hold (not in force yet).
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
