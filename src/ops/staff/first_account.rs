//! A new installation's first account: while no staff account exists, `serve` makes a
//! one-time set-up code and prints it where only the person who started it sees it
//! (its terminal and its log; `doctor` repeats it). With that code, the web admin makes
//! the first account, an administrator, once. Wrong codes count as failed sign-ins
//! from the client, so guessing is as hopeless as guessing a password.

use super::accounts::{reads_as_another_actor, valid_username};
use super::login::{FAILURE_WINDOW, MAX_LOGIN_FAILURES};
use super::{MIN_PASSWORD_CHARS, Staff, StaffError};
use crate::domain::AuditAction;
use crate::store::{Actor, FirstAccount, StaffUserWrite, StoreError};

/// Letters and digits that cannot be read as one another (no I, O, 0 or 1): 32 of
/// them, so each random byte gives one without bias.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Twelve characters (60 bits), shown in groups of four.
const CODE_CHARS: usize = 12;

/// What the set-up form sends.
#[derive(Debug, Clone, Copy)]
pub struct FirstAccountForm<'a> {
    pub code: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub repeated: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum FirstAccountError {
    #[error("the set-up code is wrong")]
    WrongCode,
    #[error("a staff account exists already: sign in instead")]
    AccountExists,
    #[error("too many wrong tries; wait 15 minutes")]
    TooManyTries,
    #[error("an e-mail address is needed")]
    NoEmail,
    #[error(transparent)]
    Account(StaffError),
}

/// A code as people read it: `ABCD-EFGH-JKLM`.
pub fn readable_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed code as it is stored: upper case, without the dashes and spaces people add.
fn normalised(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(64)
        .collect()
}

fn fresh_code() -> String {
    let mut bytes = [0u8; CODE_CHARS];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect()
}

/// Whether two strings are equal, in time that does not tell where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Staff {
    /// Whether the installation has no staff account yet.
    pub async fn needs_first_account(&self) -> Result<bool, StoreError> {
        Ok(self.store.staff_account_count().await? == 0)
    }

    /// The set-up code, readable, while no account exists: the one made before (it
    /// stays the same across restarts) or a new one. `None` once an account exists.
    pub async fn first_account_code(&self) -> Result<Option<String>, StoreError> {
        let code = self.store.first_account_code_or(&fresh_code()).await?;
        Ok(code.as_deref().map(readable_code))
    }

    /// The set-up code, readable, without making one (`doctor`).
    pub async fn stored_first_account_code(&self) -> Result<Option<String>, StoreError> {
        let code = self.store.first_account_code().await?;
        Ok(code.as_deref().map(readable_code))
    }

    /// Makes the first account, an administrator, from the set-up form sent by
    /// `client`; returns its name. The fields are checked first (a typo is no guess),
    /// then the try is counted, then the code compared.
    pub async fn create_first_account(
        &self,
        client: &str,
        form: FirstAccountForm<'_>,
    ) -> Result<String, FirstAccountError> {
        let username = form.username.trim();
        let email = checked_fields(username, &form)?;
        let store_error = |e| FirstAccountError::Account(StaffError::Store(e));
        let attempt = self
            .store
            .count_login_attempt(
                client,
                MAX_LOGIN_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await
            .map_err(store_error)?
            .ok_or(FirstAccountError::TooManyTries)?;
        let code = normalised(form.code);
        let stored = self.store.first_account_code().await.map_err(store_error)?;
        if stored.is_none() && !self.needs_first_account().await.map_err(store_error)? {
            self.forget_attempt(attempt).await;
            return Err(FirstAccountError::AccountExists);
        }
        // Compared here first, so that a wrong code costs no password hashing.
        if !stored.is_some_and(|stored| same(&stored, &code)) {
            return Err(self.wrong_code(client).await);
        }
        let hash = crate::auth::hash_password(form.password)
            .map_err(|e| FirstAccountError::Account(StaffError::Hash(e)))?;
        let made = self
            .store
            .create_first_account(
                &code,
                &StaffUserWrite {
                    username,
                    password_hash: &hash,
                    admin: true,
                    email: Some(&email),
                    by: Some(username),
                },
                &Actor::web(username),
            )
            .await
            .map_err(store_error)?;
        match made {
            FirstAccount::Made => {
                self.forget_attempt(attempt).await;
                tracing::info!(user = %username, "the first staff account was made with the set-up code");
                Ok(username.to_owned())
            }
            FirstAccount::AccountExists => {
                self.forget_attempt(attempt).await;
                Err(FirstAccountError::AccountExists)
            }
            FirstAccount::WrongCode => Err(self.wrong_code(client).await),
        }
    }

    async fn forget_attempt(&self, attempt: i64) {
        if let Err(e) = self.store.login_succeeded(attempt).await {
            tracing::warn!(error = %e, "could not clear a set-up attempt");
        }
    }

    /// Logs and audits a wrong code (it stays counted against the client).
    async fn wrong_code(&self, client: &str) -> FirstAccountError {
        tracing::warn!(%client, "first account refused: wrong set-up code");
        if let Err(e) = self
            .store
            .log_action(
                &Actor::sign_in_attempt(client),
                AuditAction::StaffLoginFailed,
                "",
                Some(crate::domain::AuditDetail::WrongSetUpCode.to_string()),
            )
            .await
        {
            tracing::warn!(error = %e, "could not write a wrong set-up code to the audit log");
        }
        FirstAccountError::WrongCode
    }
}

/// The account's fields as every account has them; returns the address, checked.
fn checked_fields(
    username: &str,
    form: &FirstAccountForm<'_>,
) -> Result<String, FirstAccountError> {
    let refuse = |e| Err(FirstAccountError::Account(e));
    if !valid_username(username) {
        return refuse(StaffError::BadUsername);
    }
    if reads_as_another_actor(username) {
        return refuse(StaffError::ReservedUsername(username.to_owned()));
    }
    let email = form.email.trim();
    if email.is_empty() {
        return Err(FirstAccountError::NoEmail);
    }
    let Ok(email) = crate::domain::EmailAddress::parse(email) else {
        return refuse(StaffError::BadEmail);
    };
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        return refuse(StaffError::ShortPassword);
    }
    if form.password != form.repeated {
        return refuse(StaffError::Mismatch);
    }
    Ok(email.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_typed_loosely() {
        let code = fresh_code();
        assert_eq!(code.len(), CODE_CHARS);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        let shown = readable_code(&code);
        assert_eq!(shown.len(), 14);
        assert_eq!(normalised(&shown.to_lowercase()), code);
        assert_eq!(normalised(" abcd efgh-jklm "), "ABCDEFGHJKLM");
        assert!(same("ABC", "ABC"));
        assert!(!same("ABC", "ABD"));
        assert!(!same("ABC", "ABCD"));
    }
}
