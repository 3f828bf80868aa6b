//! Staff accounts: set one up, and sign in.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::AuditAction;
use crate::store::{Actor, Store, StoreError};

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

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("a user name is 1–64 letters, digits and . - _ @")]
    BadUsername,
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

/// Whether an account was made or its password replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSaved {
    Added,
    PasswordChanged,
}

/// The acting administrator proving again who they are before managing an account:
/// what they typed, and the client it came from (wrong tries count like failed logins).
#[derive(Debug, Clone, Copy)]
pub struct Reauth<'a> {
    pub client: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    /// From the authenticator app (or a recovery code); needed when the acting account
    /// has a second factor.
    pub code: &'a str,
}

/// Whether the owner of an account someone else changed was told by mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerTold {
    /// Mailed to this address.
    Mailed(String),
    /// The account has no address, and its name is none.
    NoAddress,
    /// The mail could not be sent (logged); the change stands.
    Failed(String),
}

/// A new account from the web admin.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// Optional: where to tell the owner things.
    pub email: &'a str,
    pub admin: bool,
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

/// What a TOTP secret is sealed for (see `TokenKey::seal`): bound to its account, so a
/// sealed secret copied onto another account's row opens nothing there.
fn totp_seal(username: &str) -> String {
    format!("staff-totp-secret\0{username}")
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

    /// With `token_key`, which second factors need: their secrets are kept sealed.
    pub fn with_key(mut self, key: Option<crate::domain::TokenKey>) -> Self {
        self.key = key;
        self
    }

    /// The TOTP secret an account's stored value holds: sealed (opened with the key),
    /// or in clear as versions before sealing wrote it (sealed at the next start). A
    /// sealed secret that no key here opens is [`SecondFactorError::NoKey`].
    fn totp_secret_of(
        &self,
        username: &str,
        stored: Option<&str>,
    ) -> Result<Option<String>, SecondFactorError> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        if !stored.starts_with(crate::domain::SEALED_PREFIX) {
            return Ok(Some(stored.to_owned()));
        }
        match self
            .key
            .as_ref()
            .and_then(|key| key.open(&totp_seal(username), stored))
        {
            Some(secret) => Ok(Some(secret)),
            None => {
                tracing::error!(
                    "a second-factor secret cannot be opened: was token_key changed without \
                     keeping the old one as token_key_previous?"
                );
                Err(SecondFactorError::NoKey)
            }
        }
    }

    /// Seals every second-factor secret still stored in clear (written before this
    /// version) or sealed with a previous `token_key`; `serve` does it at start.
    /// Returns how many were sealed.
    pub async fn seal_stored_secrets(&self) -> Result<u64, StoreError> {
        let Some(key) = &self.key else {
            return Ok(0);
        };
        let mut sealed = 0;
        for (username, stored) in self.store.stored_totp_secrets().await? {
            if key.sealed_with_current(&stored) {
                continue;
            }
            let Ok(Some(secret)) = self.totp_secret_of(&username, Some(&stored)) else {
                continue;
            };
            let resealed = key.seal(&totp_seal(&username), &secret);
            if self
                .store
                .replace_totp_secret(&username, &stored, &resealed)
                .await?
            {
                sealed += 1;
            }
        }
        if sealed > 0 {
            tracing::info!(sealed, "second-factor secrets sealed with token_key");
        }
        Ok(sealed)
    }

    /// Mails owners through `outgoing` when someone else changes their account.
    pub fn with_owner_mail(mut self, outgoing: crate::mail::Outgoing) -> Self {
        self.owner_mail = Some(outgoing);
        self
    }

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
            Some("unknown account".to_owned())
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

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<crate::store::StaffAccount>, StaffError> {
        self.store.staff_accounts().await.map_err(StaffError::Store)
    }

    /// Adds a new account; an existing name is refused (use [`Staff::set_account`] to
    /// give an account a new password).
    pub async fn add(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<(), StaffError> {
        let username = username.trim();
        if self
            .store
            .staff_user_exists(username)
            .await
            .map_err(StaffError::Store)?
        {
            return Err(StaffError::Exists(username.to_owned()));
        }
        self.set_account(username, password, actor)
            .await
            .map(|_| ())
    }

    /// Refuses a name that is no account.
    async fn existing(&self, username: &str) -> Result<(), StaffError> {
        match self.store.staff_user_exists(username).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StaffError::NoSuchAccount(username.to_owned())),
            Err(e) => Err(StaffError::Store(e)),
        }
    }

    /// Gives an existing account a new password (its sessions end).
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<(), StaffError> {
        self.existing(username).await?;
        self.set_account(username, password, actor)
            .await
            .map(|_| ())
    }

    /// Disables an account, `by` being the one who asks: nobody disables themselves
    /// (the last one in could lock everyone out). Its sessions end at once.
    pub async fn disable(
        &self,
        username: &str,
        by: &str,
        actor: &Actor,
    ) -> Result<bool, StaffError> {
        if username == by {
            return Err(StaffError::OwnAccount);
        }
        self.existing(username).await?;
        self.store
            .set_staff_disabled(username, true, actor)
            .await
            .map_err(StaffError::Store)
    }

    /// Lets a disabled account sign in again.
    pub async fn enable(&self, username: &str, actor: &Actor) -> Result<bool, StaffError> {
        self.existing(username).await?;
        self.store
            .set_staff_disabled(username, false, actor)
            .await
            .map_err(StaffError::Store)
    }

    /// A signed-in person changes their own password: the current one is checked (as a
    /// login from `client`, so guesses are counted), the new one typed twice. Every
    /// session of the account ends, this one too.
    pub async fn change_own_password(
        &self,
        client: &str,
        username: &str,
        current: &str,
        new: &str,
        repeated: &str,
    ) -> Result<(), StaffError> {
        if new != repeated {
            return Err(StaffError::Mismatch);
        }
        if new.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StaffError::ShortPassword);
        }
        match self.log_in(client, username, current).await {
            Ok(_) => {}
            Err(LoginError::Unavailable(e)) => return Err(StaffError::Store(e)),
            Err(_) => return Err(StaffError::WrongPassword),
        }
        self.set_account(username, new, &Actor::web(username))
            .await
            .map(|_| ())
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

    /// Adds the account `username`, or gives it a new password.
    pub async fn set_account(
        &self,
        username: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<AccountSaved, StaffError> {
        // The account itself (a web actor changing its own password) or the command line.
        let by = staff_name_of(actor.as_str()).filter(|name| *name == username.trim());
        self.write_account(username, password, false, None, by, actor)
            .await
    }
}

/// The web account behind a stored actor (`web:kari`), if it is one.
pub fn staff_name_of(actor: &str) -> Option<&str> {
    crate::domain::ActorKind::of(actor).web_account()
}

/// A user name as an account may have it.
fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || ".-_@".contains(c))
}

/// Managing accounts from the web admin: only administrators, each time proving again
/// who they are (their password, and their code when they have a second factor), so an
/// unattended session cannot make or take over accounts.
impl Staff {
    /// Adds an account, or sets a new password for one, from the command line (the
    /// operator's shell: no re-authentication). `admin` makes it an administrator;
    /// `email` is where to tell its owner things.
    pub async fn set_account_from_shell(
        &self,
        username: &str,
        password: &str,
        admin: bool,
        email: Option<&str>,
        actor: &Actor,
    ) -> Result<AccountSaved, StaffError> {
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(
                crate::domain::EmailAddress::parse(e)
                    .map_err(|_| StaffError::BadEmail)?
                    .to_string(),
            ),
            None => None,
        };
        self.write_account(username, password, admin, email.as_deref(), None, actor)
            .await
    }

    async fn write_account(
        &self,
        username: &str,
        password: &str,
        admin: bool,
        email: Option<&str>,
        by: Option<&str>,
        actor: &Actor,
    ) -> Result<AccountSaved, StaffError> {
        let username = username.trim();
        if !valid_username(username) {
            return Err(StaffError::BadUsername);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StaffError::ShortPassword);
        }
        let hash = crate::auth::hash_password(password).map_err(StaffError::Hash)?;
        let added = self
            .store
            .write_staff_user(
                &crate::store::StaffUserWrite {
                    username,
                    password_hash: &hash,
                    admin,
                    email,
                    by,
                },
                actor,
            )
            .await
            .map_err(StaffError::Store)?;
        Ok(if added {
            AccountSaved::Added
        } else {
            AccountSaved::PasswordChanged
        })
    }

    /// Whether the account may manage other accounts.
    pub async fn is_admin(&self, username: &str) -> Result<bool, StaffError> {
        self.store
            .staff_is_admin(username)
            .await
            .map_err(StaffError::Store)
    }

    /// The acting account must be an administrator and type its password (and code)
    /// again. Wrong passwords count as failed logins from the client and for the
    /// account; wrong codes as wrong second-factor codes.
    async fn authorise(&self, reauth: &Reauth<'_>) -> Result<(), StaffError> {
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        match self
            .log_in(reauth.client, reauth.username, reauth.password)
            .await
        {
            Ok(_) => {}
            Err(LoginError::Unavailable(e)) => return Err(StaffError::Store(e)),
            Err(LoginError::Refused) => return Err(StaffError::ReauthPassword),
            Err(LoginError::TooManyFailures | LoginError::AccountThrottled | LoginError::Busy) => {
                return Err(StaffError::ReauthThrottled);
            }
        }
        let (enrolled, _) = self
            .second_factor(reauth.username)
            .await
            .map_err(StaffError::Store)?;
        if enrolled {
            if reauth.code.trim().is_empty() {
                return Err(StaffError::ReauthCode);
            }
            match self.check_second_factor(reauth.username, reauth.code).await {
                Ok(()) => {}
                Err(SecondFactorError::TooManyTries) => return Err(StaffError::ReauthThrottled),
                Err(SecondFactorError::WrongCode | SecondFactorError::NotEnrolled) => {
                    return Err(StaffError::ReauthCode);
                }
                Err(e @ SecondFactorError::NoKey) => {
                    return Err(StaffError::SecondFactorUnavailable(e.to_string()));
                }
                Err(SecondFactorError::Store(e)) => return Err(StaffError::Store(e)),
            }
        }
        Ok(())
    }

    fn actor_of(reauth: &Reauth<'_>) -> Actor {
        Actor::web(reauth.username)
    }

    /// An administrator adds an account.
    pub async fn admin_add(
        &self,
        reauth: &Reauth<'_>,
        new: &NewAccount<'_>,
    ) -> Result<(), StaffError> {
        let username = new.username.trim();
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        if !valid_username(username) {
            return Err(StaffError::BadUsername);
        }
        if new.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StaffError::ShortPassword);
        }
        let email = match new.email.trim() {
            "" => None,
            e => Some(
                crate::domain::EmailAddress::parse(e)
                    .map_err(|_| StaffError::BadEmail)?
                    .to_string(),
            ),
        };
        if self
            .store
            .staff_user_exists(username)
            .await
            .map_err(StaffError::Store)?
        {
            return Err(StaffError::Exists(username.to_owned()));
        }
        self.authorise(reauth).await?;
        self.write_account(
            username,
            new.password,
            new.admin,
            email.as_deref(),
            Some(reauth.username),
            &Self::actor_of(reauth),
        )
        .await
        .map(|_| ())
    }

    /// An administrator sets another account's password: its sessions end, and its
    /// owner is told by mail (`None` when it was the administrator's own).
    pub async fn admin_set_password(
        &self,
        reauth: &Reauth<'_>,
        username: &str,
        password: &str,
    ) -> Result<Option<OwnerTold>, StaffError> {
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        self.existing(username).await?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StaffError::ShortPassword);
        }
        self.authorise(reauth).await?;
        self.write_account(
            username,
            password,
            false,
            None,
            Some(reauth.username),
            &Self::actor_of(reauth),
        )
        .await?;
        if username == reauth.username {
            return Ok(None);
        }
        Ok(Some(
            self.tell_owner(
                username,
                reauth.username,
                "Passordet er endret",
                "Du er logget ut overalt. Logg inn med passordet du har fått fra den som endret det, og bytt det til ditt eget under «Din konto».",
            )
            .await,
        ))
    }

    /// An administrator disables an account (never their own).
    pub async fn admin_disable(
        &self,
        reauth: &Reauth<'_>,
        username: &str,
    ) -> Result<bool, StaffError> {
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        if username == reauth.username {
            return Err(StaffError::OwnAccount);
        }
        self.existing(username).await?;
        self.authorise(reauth).await?;
        self.store
            .set_staff_disabled(username, true, &Self::actor_of(reauth))
            .await
            .map_err(StaffError::Store)
    }

    /// An administrator lets a disabled account sign in again.
    pub async fn admin_enable(
        &self,
        reauth: &Reauth<'_>,
        username: &str,
    ) -> Result<bool, StaffError> {
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        self.existing(username).await?;
        self.authorise(reauth).await?;
        self.store
            .set_staff_disabled(username, false, &Self::actor_of(reauth))
            .await
            .map_err(StaffError::Store)
    }

    /// An administrator resets another account's second factor (a lost phone): its
    /// sessions end, it sets one up again at its next sign-in, and its owner is told.
    pub async fn admin_reset_second_factor(
        &self,
        reauth: &Reauth<'_>,
        username: &str,
    ) -> Result<Option<OwnerTold>, StaffError> {
        if !self.is_admin(reauth.username).await? {
            return Err(StaffError::NotAdmin);
        }
        self.existing(username).await?;
        self.authorise(reauth).await?;
        self.store
            .reset_second_factor(username, Some(reauth.username), &Self::actor_of(reauth))
            .await
            .map_err(StaffError::Store)?;
        if username == reauth.username {
            return Ok(None);
        }
        Ok(Some(
            self.tell_owner(
                username,
                reauth.username,
                "Tofaktor er nullstilt",
                "Du er logget ut overalt. Neste gang du logger inn, må du sette opp tofaktor på nytt med appen på telefonen.",
            )
            .await,
        ))
    }

    /// Mails the owner of `username` that `by` changed their account. A failure is
    /// logged and returned; the change stands.
    async fn tell_owner(&self, username: &str, by: &str, what: &str, next: &str) -> OwnerTold {
        let stored = match self.store.staff_email(username).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a staff account's address");
                None
            }
        };
        let Some(to) = stored
            .as_deref()
            .or(Some(username))
            .and_then(|a| crate::domain::EmailAddress::parse(a).ok())
        else {
            return OwnerTold::NoAddress;
        };
        let Some(outgoing) = &self.owner_mail else {
            return OwnerTold::Failed("this process sends no mail".to_owned());
        };
        let when = crate::domain::oslo_time(crate::domain::Timestamp::now());
        let notice = crate::mail::AccountChangedNotice {
            username,
            what,
            when: &when,
            by,
            next,
        };
        let sent = match crate::mail::account_changed_message(&outgoing.sender, &to, &notice) {
            Ok(message) => outgoing
                .send_one(&to, &message)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(()) => OwnerTold::Mailed(to.to_string()),
            Err(e) => {
                tracing::warn!(error = %e, user = ?username, "could not mail a staff account's owner");
                OwnerTold::Failed(e)
            }
        }
    }
}

/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Wrong second-factor codes allowed per account in [`FAILURE_WINDOW`].
pub const MAX_CODE_FAILURES: u32 = 10;
/// The name an authenticator app shows for the account.
const TOTP_ISSUER: &str = "Nyhetsbrev fra KOM";

/// What a person needs to set up their authenticator app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub url: String,
    /// The QR code as an SVG element.
    pub qr_svg: String,
}

/// Why a second-factor code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error("the code is wrong, too old or used already")]
    WrongCode,
    #[error("too many wrong codes for this account; wait 15 minutes")]
    TooManyTries,
    #[error("this account has no second factor set up")]
    NotEnrolled,
    #[error(
        "the second factor's secret is sealed with token_key, and no key here opens it (or \
         token_key is not set): set token_key, or the key it replaced as token_key_previous"
    )]
    NoKey,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SecondFactorError {
    fn from(e: StoreError) -> Self {
        SecondFactorError::Store(e)
    }
}

fn totp_of(secret_base32: &str) -> Option<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).ok()?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_step_duration(30)
        .with_digits(6)
        .build()
        .ok()
}

fn unix_seconds() -> u64 {
    (crate::domain::Timestamp::now().unix_ms() / 1000) as u64
}

/// A recovery code as typed (any case, spaces and dashes) in the form it is hashed.
fn recovery_key(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Ten new recovery codes (`abcde-fghij`, 50 random bits each) and their hashes.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes).expect("the system's random source");
        let chars: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        codes.push(format!("{}-{}", &chars[..5], &chars[5..]));
    }
    let hashes = codes.iter().map(|c| sha256_hex(&recovery_key(c))).collect();
    (codes, hashes)
}

impl Staff {
    /// What a session must pass after the password: a code when the account has a
    /// second factor, enrolment when `require` says every account must have one.
    pub async fn due_after_password(
        &self,
        username: &str,
        require: bool,
    ) -> Result<crate::ops::SecondFactorDue, StoreError> {
        use crate::ops::SecondFactorDue;
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        Ok(if state.enabled {
            SecondFactorDue::Code
        } else if require || self.store.staff_must_enrol(username).await? {
            SecondFactorDue::Enrolment
        } else {
            SecondFactorDue::Nothing
        })
    }

    /// Whether the account has a second factor in force, and how many recovery codes
    /// it has left.
    pub async fn second_factor(&self, username: &str) -> Result<(bool, i64), StoreError> {
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let left = self.store.recovery_codes_left(username).await?;
        Ok((state.enabled, left))
    }

    /// Starts (or shows again) setting up an authenticator app: a new secret unless
    /// one is waiting for its first code.
    pub async fn totp_enrolment(&self, username: &str) -> Result<Enrolment, SecondFactorError> {
        let Some(key) = &self.key else {
            return Err(SecondFactorError::NoKey);
        };
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        // A waiting secret that cannot be opened is replaced by a new one: nothing
        // depends on it yet.
        let waiting = self
            .totp_secret_of(username, state.secret.as_deref().filter(|_| !state.enabled))
            .unwrap_or(None);
        let secret = match waiting {
            Some(secret) => secret,
            None => {
                let mut bytes = vec![0u8; 20];
                getrandom::fill(&mut bytes).expect("the system's random source");
                let secret = totp_rs::Secret::from(bytes).to_base32();
                self.store
                    .set_totp_secret(username, &key.seal(&totp_seal(username), &secret))
                    .await?;
                secret
            }
        };
        let label =
            url::form_urlencoded::byte_serialize(format!("{TOTP_ISSUER}:{username}").as_bytes())
                .collect::<String>()
                .replace('+', "%20");
        let issuer = url::form_urlencoded::byte_serialize(TOTP_ISSUER.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let url = format!(
            "otpauth://totp/{label}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30"
        );
        let qr_svg = qrcode::QrCode::new(url.as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default();
        Ok(Enrolment {
            secret,
            url,
            qr_svg,
        })
    }

    /// Puts the second factor in force once a code from the new secret is typed;
    /// returns the recovery codes, shown once and stored only as hashes.
    pub async fn confirm_totp(
        &self,
        username: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<Vec<String>, SecondFactorError> {
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let Some(totp) = self
            .totp_secret_of(username, state.secret.as_deref())?
            .as_deref()
            .and_then(totp_of)
        else {
            return Err(SecondFactorError::NotEnrolled);
        };
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let Some(step) = totp.check(&code, unix_seconds()) else {
            return Err(SecondFactorError::WrongCode);
        };
        let (codes, hashes) = new_recovery_codes();
        self.store
            .enable_totp(username, step as i64, &hashes, actor)
            .await?;
        Ok(codes)
    }

    /// Checks the second factor at sign-in: a code from the app (each time step once,
    /// one step of clock drift either way) or an unused recovery code. Wrong codes are
    /// counted per account before the check.
    pub async fn check_second_factor(
        &self,
        username: &str,
        code: &str,
    ) -> Result<(), SecondFactorError> {
        let Some(attempt) = self
            .store
            .count_login_attempt(
                &format!("totp:{username}"),
                MAX_CODE_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await?
        else {
            return Err(SecondFactorError::TooManyTries);
        };
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let Some(totp) = self
            .totp_secret_of(username, state.secret.as_deref().filter(|_| state.enabled))?
            .as_deref()
            .and_then(totp_of)
        else {
            return Err(SecondFactorError::NotEnrolled);
        };
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        let accepted = if digits.len() == 6 && digits.len() == code.trim().len() {
            match totp.check(&digits, unix_seconds()) {
                Some(step) => self.store.take_totp_step(username, step as i64).await?,
                None => false,
            }
        } else {
            let key = recovery_key(code);
            key.len() == 10
                && self
                    .store
                    .use_recovery_code(username, &sha256_hex(&key))
                    .await?
        };
        if !accepted {
            if let Err(e) = self
                .store
                .log_action(
                    &Actor::web(username),
                    AuditAction::StaffTotpFailed,
                    username,
                    None,
                )
                .await
            {
                tracing::warn!(error = %e, "could not log a wrong second-factor code");
            }
            return Err(SecondFactorError::WrongCode);
        }
        self.store.login_succeeded(attempt).await?;
        Ok(())
    }
}
