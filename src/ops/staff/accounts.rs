//! Accounts as the command line manages them (the operator's shell: no
//! re-authentication): list, add, set a password, disable, enable; each person's own
//! password; and the one write every path that adds an account or sets a password takes.

use super::login::LoginError;
use super::{MIN_PASSWORD_CHARS, Staff, StaffError, staff_name_of};
use crate::store::Actor;

/// Whether an account was made or its password replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSaved {
    Added,
    PasswordChanged,
}

impl Staff {
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
    pub(super) async fn existing(&self, username: &str) -> Result<(), StaffError> {
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

    pub(super) async fn write_account(
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
        // Only a new account is refused: one made before the rule keeps working.
        if reads_as_another_actor(username)
            && !self
                .store
                .staff_user_exists(username)
                .await
                .map_err(StaffError::Store)?
        {
            return Err(StaffError::ReservedUsername(username.to_owned()));
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
}

/// A user name as an account may have it.
pub(super) fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || ".-_@".contains(c))
}

/// Whether the audit log would read what this account does as someone else's: it
/// keeps a web account as `web:<name>`, and `web:confirm`, `web:unsubscribe`,
/// `web:preferences` and `web:subscribe` are recipients on the public pages. Compared
/// without case, since staff read names, not bytes.
pub(super) fn reads_as_another_actor(username: &str) -> bool {
    let name = username.to_lowercase();
    Actor::web(&name).web_account() != Some(name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_the_log_reads_as_recipients_are_taken() {
        for name in [
            "confirm",
            "unsubscribe",
            "preferences",
            "subscribe",
            "SUBSCRIBE",
        ] {
            assert!(reads_as_another_actor(name), "{name}");
        }
        for name in ["kari", "worker", "api", "confirmer", "kari@kom.no"] {
            assert!(!reads_as_another_actor(name), "{name}");
        }
    }
}
