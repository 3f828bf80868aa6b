//! Staff accounts: add, set a password, disable, list, and the record of changes
//! others made to an account.

use sqlx::Row;

use crate::domain::{AuditAction, Timestamp};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store, StoreError};

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

/// How an account is written: its new password hash, whether it becomes an
/// administrator (an existing one stays one), and its address when one is given.
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
pub(super) async fn record_change(
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
    /// added. The first account ever made is an administrator. A new password ends the
    /// account's sessions; who did it is noted in `staff_account_changes` and the audit
    /// log; all in one transaction.
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
            // An account exists now: a new installation's set-up code is spent.
            sqlx::query("DELETE FROM first_account_code")
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
        let detail = (!updated && write.admin)
            .then(|| crate::domain::AuditDetail::Administrator.to_string());
        audit::record(&mut tx, actor, action, Some(username), detail).await?;
        tx.commit().await?;
        Ok(!updated)
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

    /// The password hash of an account that may sign in: `None` for a disabled account
    /// or a name that is none.
    pub async fn staff_password_hash(&self, username: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT password_hash FROM staff_users WHERE username = $1 AND disabled_at IS NULL",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)
    }
}

/// A staff account as the list of accounts shows it.
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
}
