//! Signing in: the password checked under per-client and per-account throttles, and
//! the account's own sessions.

use std::sync::Arc;
use std::time::Duration;

use super::{Staff, StaffError};
use crate::domain::AuditAction;
use crate::store::{Actor, StoreError};

/// Failed logins allowed per client (see `web::client::client_key`) in
/// [`FAILURE_WINDOW`] before further tries are refused unchecked: argon2 makes each
/// guess slow, this makes guessing hopeless.
pub const MAX_LOGIN_FAILURES: u32 = 10;
/// Failed logins allowed per account name in [`FAILURE_WINDOW`], from any client: a
/// guesser spread over many addresses still gets this few tries at one account.
pub const MAX_ACCOUNT_FAILURES: u32 = 20;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a login waits for a free password check before the answer is "busy".
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(10);

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    Refused,
    #[error("too many failed logins from this address; wait 15 minutes")]
    TooManyFailures,
    #[error("too many failed logins for this account; wait 15 minutes")]
    AccountThrottled,
    #[error("too many logins at once")]
    Busy,
    #[error("the database is not available")]
    Unavailable(#[source] StoreError),
}

impl Staff {
    /// Checks a login from `client` and returns the account's name. The attempt is
    /// counted in the database before the password is checked, so parallel guesses
    /// cannot all be checked before the first failure counts, and every process shares
    /// the count; an unknown name costs the same argon2 work as a wrong password.
    pub async fn log_in(
        &self,
        client: &str,
        username: &str,
        password: &str,
    ) -> Result<String, LoginError> {
        let attempt = self
            .store
            .count_login_attempt(
                client,
                MAX_LOGIN_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await
            .map_err(LoginError::Unavailable)?
            .ok_or_else(|| {
                tracing::warn!(%client, "admin login refused unchecked: too many failures");
                LoginError::TooManyFailures
            })?;
        // Per account as well, whatever the name (an unknown one is counted the same way,
        // so the answer tells nothing about which names exist).
        let account_key: String = format!("account:{}", username.trim().to_lowercase())
            .chars()
            .take(80)
            .collect();
        let Some(account_attempt) = self
            .store
            .count_login_attempt(
                &account_key,
                MAX_ACCOUNT_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await
            .map_err(LoginError::Unavailable)?
        else {
            tracing::warn!(%client, "admin login refused unchecked: too many failures for one account");
            return Err(LoginError::AccountThrottled);
        };
        let stored = self
            .store
            .staff_password_hash(username)
            .await
            .map_err(LoginError::Unavailable)?;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| crate::auth::dummy_hash().to_owned());
        let Ok(Ok(permit)) = tokio::time::timeout(
            PASSWORD_CHECK_WAIT,
            Arc::clone(&self.password_checks).acquire_owned(),
        )
        .await
        else {
            tracing::warn!(%client, "admin login: too many password checks waiting");
            return Err(LoginError::Busy);
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            let ok = crate::auth::verify_password(&password, &stored);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false);
        if ok && known {
            for attempt in [attempt, account_attempt] {
                if let Err(e) = self.store.login_succeeded(attempt).await {
                    tracing::warn!(error = %e, "could not clear a successful login attempt");
                }
            }
            return Ok(username.to_owned());
        }
        // The name is logged only when it is an account's: a password typed into the
        // name field must not end up in the log. Debug formatting escapes controls.
        if known {
            tracing::warn!(user = ?username, %client, "admin login refused: wrong password");
        } else {
            tracing::warn!(%client, "admin login refused: no such user");
        }
        // In the audit log too, for staff to see; the name only when it is an account's.
        let detail = if known {
            None
        } else {
            Some(crate::domain::AuditDetail::NoSuchAccount.to_string())
        };
        if let Err(e) = self
            .store
            .log_action(
                &Actor::sign_in_attempt(client),
                AuditAction::StaffLoginFailed,
                if known { username } else { "" },
                detail,
            )
            .await
        {
            tracing::warn!(error = %e, "could not write a failed login to the audit log");
        }
        Err(LoginError::Refused)
    }

    /// The account's sessions, most recently used first.
    pub async fn sessions(
        &self,
        username: &str,
    ) -> Result<Vec<crate::store::SessionLine>, StaffError> {
        self.store
            .sessions_of(username)
            .await
            .map_err(StaffError::Store)
    }

    /// Ends one of the account's own sessions (a browser left signed in elsewhere).
    pub async fn end_session(&self, username: &str, id_hash: &str) -> Result<bool, StaffError> {
        self.store
            .end_own_session(username, id_hash)
            .await
            .map_err(StaffError::Store)
    }
}
