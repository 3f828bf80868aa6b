//! What a subscriber does on the public pages: ask to join, confirm, leave. Each is
//! recorded as done by the web (`web:subscribe`, `web:confirm`, `web:unsubscribe`).

use crate::domain::{ContactName, EmailAddress, Organisation, TokenSecret};
use crate::notices::Notices;
use crate::store::{Actor, ConfirmOutcome, Store, StoreError, UnsubscribeOutcome};

#[derive(Clone)]
pub struct Subscriptions {
    store: Store,
    notices: Notices,
}

impl Subscriptions {
    pub fn new(store: Store, notices: Notices) -> Self {
        Self { store, notices }
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
    pub async fn unsubscribe(
        &self,
        secret: &TokenSecret,
    ) -> Result<UnsubscribeOutcome, StoreError> {
        self.store
            .unsubscribe(secret, &Actor::new("web:unsubscribe"))
            .await
    }
}
