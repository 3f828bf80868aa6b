//! Telling the owner of an account that someone else changed it (a new password, a
//! reset second factor), by mail: the change may be an attack, and the owner is the one
//! who notices.

use super::Staff;

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

impl Staff {
    /// Mails owners through `outgoing` when someone else changes their account.
    pub fn with_owner_mail(mut self, outgoing: crate::mail::Outgoing) -> Self {
        self.owner_mail = Some(outgoing);
        self
    }

    /// Mails the owner of `username` that `by` changed their account. A failure is
    /// logged and returned; the change stands.
    pub(super) async fn tell_owner(
        &self,
        username: &str,
        by: &str,
        what: &str,
        next: &str,
    ) -> OwnerTold {
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
