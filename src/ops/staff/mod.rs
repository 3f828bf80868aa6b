//! Staff accounts: set one up, sign in, a second factor, and the rules for who may
//! change which account. One file per concern: `first_account.rs` (a new
//! installation's set-up code and the first account it makes), `login.rs` (signing in, throttled, and
//! the account's own sessions), `accounts.rs` (adding accounts and setting passwords,
//! the command line's way and each person's own), `admin.rs` (administrators managing
//! other accounts from the web, proving again who they are), `owner_mail.rs` (telling
//! an account's owner that someone else changed it), `second_factor.rs` (TOTP and
//! recovery codes).

mod accounts;
mod admin;
mod first_account;
mod login;
mod owner_mail;
mod second_factor;

use std::sync::Arc;

use crate::store::{Store, StoreError};

pub use accounts::AccountSaved;

/// Whether `actor` may do what only an administrator does (API tokens, what staff own
/// of the settings): the command line is the operator's shell, which may do anything;
/// in the web admin, only an administrator's account.
pub(crate) async fn acts_as_administrator(
    store: &Store,
    actor: &crate::store::Actor,
) -> Result<bool, StoreError> {
    use crate::domain::{ActorKind, StaffDoor};
    match actor.kind() {
        ActorKind::Staff {
            door: StaffDoor::CommandLine,
            ..
        } => Ok(true),
        ActorKind::Staff {
            account,
            door: StaffDoor::Web,
        } => store.staff_is_admin(account).await,
        _ => Ok(false),
    }
}
pub use admin::{NewAccount, Reauth};
pub use first_account::{FirstAccountError, FirstAccountForm, readable_code};
pub use login::{FAILURE_WINDOW, LoginError, MAX_ACCOUNT_FAILURES, MAX_LOGIN_FAILURES};
pub use owner_mail::OwnerTold;
pub use second_factor::{Enrolment, MAX_CODE_FAILURES, RECOVERY_CODES, SecondFactorError};

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("a user name is 1–64 letters, digits and . - _ @")]
    BadUsername,
    #[error(
        "{0} cannot be a user name: the audit log uses it for what recipients do on the \
         public pages; choose another"
    )]
    ReservedUsername(String),
    #[error("there is already an account named {0}")]
    Exists(String),
    #[error("there is no account named {0}")]
    NoSuchAccount(String),
    #[error("you cannot disable your own account")]
    OwnAccount,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the new password was not typed the same twice")]
    Mismatch,
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("only an administrator manages other accounts")]
    NotAdmin,
    #[error("your own password is wrong")]
    ReauthPassword,
    #[error("the code from your authenticator app is missing, wrong or used already")]
    ReauthCode,
    #[error("too many wrong tries; wait 15 minutes")]
    ReauthThrottled,
    #[error("the address is not a valid e-mail address")]
    BadEmail,
    #[error("your second factor cannot be checked: {0}")]
    SecondFactorUnavailable(String),
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(StoreError),
}

#[derive(Clone)]
pub struct Staff {
    store: Store,
    /// Mails the owner of an account someone else changed; `None` in processes that
    /// send no mail (the command line, whose operator is the owner's administrator).
    owner_mail: Option<crate::mail::Outgoing>,
    /// Password checks at once (argon2 takes 19 MiB and tens of milliseconds each): one
    /// per core, since the process also serves the public pages and sends.
    password_checks: Arc<tokio::sync::Semaphore>,
    /// `token_key`: second-factor secrets are stored sealed with a key derived from it.
    key: Option<crate::domain::TokenKey>,
}

impl Staff {
    pub fn new(store: Store) -> Self {
        Self {
            key: None,
            store,
            owner_mail: None,
            password_checks: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }
}

/// The web account behind a stored actor (`web:kari`), if it is one.
pub fn staff_name_of(actor: &str) -> Option<&str> {
    crate::domain::ActorKind::of(actor).web_account()
}
