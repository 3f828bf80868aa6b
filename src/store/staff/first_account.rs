//! A new installation's one-time set-up code, and the first account it makes: one row
//! while no staff account exists, removed in the transaction that makes any account.

use crate::domain::{AuditAction, Timestamp};
use crate::store::audit::{self, Actor};
use crate::store::{Result, Store};

use super::accounts::{AccountChangeKind, StaffUserWrite, record_change};

/// What became of a try to make the first account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstAccount {
    Made,
    /// The code is not the stored one.
    WrongCode,
    /// An account exists already: the code is spent.
    AccountExists,
}

impl Store {
    /// How many staff accounts there are (disabled ones too).
    pub async fn staff_account_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM staff_users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The set-up code while no staff account exists: the stored one, else `fresh`,
    /// stored now. `None` (and any code left removed) once an account exists.
    pub async fn first_account_code_or(&self, fresh: &str) -> Result<Option<String>> {
        let (_turn, mut tx) = self.begin_write().await?;
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_users")
            .fetch_one(&mut *tx)
            .await?;
        if accounts > 0 {
            sqlx::query("DELETE FROM first_account_code")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO first_account_code (id, code, made_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(fresh)
        .bind(Timestamp::now().unix_ms())
        .execute(&mut *tx)
        .await?;
        let code: String = sqlx::query_scalar("SELECT code FROM first_account_code WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(code))
    }

    /// The stored set-up code, if any: reads only (`doctor`).
    pub async fn first_account_code(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT code FROM first_account_code WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Makes the first account, an administrator, when `code` is the stored set-up code
    /// and no account exists. Taking the code is the transaction's first write, so of
    /// two tries at once (or a try and `staff add`) the second waits for the first and
    /// then finds the code gone: one account is made, never two.
    pub async fn create_first_account(
        &self,
        code: &str,
        write: &StaffUserWrite<'_>,
        actor: &Actor,
    ) -> Result<FirstAccount> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let taken = sqlx::query("DELETE FROM first_account_code WHERE id = 1 AND code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_users")
            .fetch_one(&mut *tx)
            .await?;
        if taken == 0 || accounts > 0 {
            tx.rollback().await?;
            return Ok(if accounts > 0 {
                FirstAccount::AccountExists
            } else {
                FirstAccount::WrongCode
            });
        }
        sqlx::query(
            "INSERT INTO staff_users (username, password_hash, created_at, updated_at, is_admin, email) \
             VALUES ($1, $2, $3, $3, 1, $4)",
        )
        .bind(write.username)
        .bind(write.password_hash)
        .bind(now)
        .bind(write.email)
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            write.username,
            AccountChangeKind::Created,
            write.by,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::StaffAdd,
            Some(write.username),
            Some("administrator".to_owned()),
        )
        .await?;
        tx.commit().await?;
        Ok(FirstAccount::Made)
    }
}
