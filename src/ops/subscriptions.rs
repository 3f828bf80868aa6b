//! What a subscriber does on the public pages: ask to join, confirm, leave. Each is
//! recorded as done by the web (`web:subscribe`, `web:confirm`, `web:unsubscribe`).

use crate::domain::{ContactName, EmailAddress, LeaveLink, Organisation, TokenKey, TokenSecret};
use crate::notices::Notices;
use crate::store::{Actor, ConfirmOutcome, Store, StoreError, UnsubscribeOutcome};

#[derive(Clone)]
pub struct Subscriptions {
    store: Store,
    notices: Notices,
    /// Verifies signed leave links; `None` without `token_key` (then nothing was sent
    /// with one).
    key: Option<TokenKey>,
}

/// The personal part of a leave link, its form checked.
#[derive(Debug, Clone)]
pub enum LeaveToken {
    /// Signed with `token_key` (every issue mail since links were derived): its
    /// signature is already verified.
    Signed(LeaveLink),
    /// A random secret whose hash is stored (issue mail before that, and the leave
    /// link mailed on request).
    Stored(TokenSecret),
}

impl Subscriptions {
    pub fn new(store: Store, notices: Notices, key: Option<TokenKey>) -> Self {
        Self {
            store,
            notices,
            key,
        }
    }

    /// Reads the token of a leave link: a signed one whose signature holds, or one in
    /// the form of a stored secret. `None`: not a link this service made (nothing is
    /// looked up).
    pub fn leave_token(&self, text: &str) -> Option<LeaveToken> {
        if let Some(link) = self.key.as_ref().and_then(|k| k.verify_leave_token(text)) {
            return Some(LeaveToken::Signed(link));
        }
        TokenSecret::parse(text).map(LeaveToken::Stored)
    }

    /// Queues a request to join and wakes the notice sender, which makes the pending
    /// contact and its capped confirmation mail. One insert, whatever the address, so
    /// the answer takes the same time for every address and tells nobody who is on
    /// the list.
    pub async fn request(
        &self,
        email: &EmailAddress,
        name: Option<&ContactName>,
        organisation: Option<&Organisation>,
    ) -> Result<(), StoreError> {
        self.store
            .queue_subscription_request(email, name, organisation)
            .await?;
        self.notices.wake();
        Ok(())
    }

    /// Uses a confirmation link (once).
    pub async fn confirm(&self, secret: &TokenSecret) -> Result<ConfirmOutcome, StoreError> {
        self.store
            .confirm_subscription(secret, &Actor::new("web:confirm"))
            .await
    }

    /// Uses a personal unsubscribe link: the contact leaves at once.
    pub async fn unsubscribe(&self, token: &LeaveToken) -> Result<UnsubscribeOutcome, StoreError> {
        let actor = Actor::new("web:unsubscribe");
        match token {
            LeaveToken::Signed(link) => {
                self.store
                    .unsubscribe_contact(link.contact_id, &actor)
                    .await
            }
            LeaveToken::Stored(secret) => self.store.unsubscribe(secret, &actor).await,
        }
    }
}
