//! Staff accounts.

use crate::store::{Actor, Store, StoreError};

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("a user name is 1–64 letters, digits and . - _ @")]
    BadUsername,
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Whether an account was made or its password replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSaved {
    Added,
    PasswordChanged,
}

#[derive(Clone)]
pub struct Staff {
    store: Store,
}

impl Staff {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Adds the account `username`, or gives it a new password.
    pub async fn set_account(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<AccountSaved, StaffError> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .chars()
                .all(|c| c.is_alphanumeric() || ".-_@".contains(c))
        {
            return Err(StaffError::BadUsername);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StaffError::ShortPassword);
        }
        let hash = crate::auth::hash_password(password).map_err(StaffError::Hash)?;
        let added = self
            .store
            .set_staff_user(username, &hash, actor)
            .await
            .map_err(StaffError::Store)?;
        Ok(if added {
            AccountSaved::Added
        } else {
            AccountSaved::PasswordChanged
        })
    }
}
