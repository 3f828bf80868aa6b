//! Managing accounts from the web admin: only administrators, each time proving again
//! who they are (their password, and their code when they have a second factor), so an
//! unattended session cannot make or take over accounts.

use super::accounts::{reads_as_another_actor, valid_username};
use super::login::LoginError;
use super::owner_mail::OwnerTold;
use super::second_factor::SecondFactorError;
use super::{MIN_PASSWORD_CHARS, Staff, StaffError};
use crate::store::Actor;

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

/// A new account from the web admin.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// Optional: where to tell the owner things.
    pub email: &'a str,
    pub admin: bool,
}

impl Staff {
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
        if reads_as_another_actor(username) {
            return Err(StaffError::ReservedUsername(username.to_owned()));
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
        self.set_disabled(reauth, username, true).await
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
        self.set_disabled(reauth, username, false).await
    }

    /// Disables or enables an account that exists, once the administrator's password
    /// (and code) is checked again.
    async fn set_disabled(
        &self,
        reauth: &Reauth<'_>,
        username: &str,
        disabled: bool,
    ) -> Result<bool, StaffError> {
        self.existing(username).await?;
        self.authorise(reauth).await?;
        self.store
            .set_staff_disabled(username, disabled, &Self::actor_of(reauth))
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
}
