//! Watching: contacts who left and issues that were cancelled, seen every quarter
//! second, so a job not yet handed to the relay is dropped instead of sent.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::domain::Timestamp;
use crate::store::{ClaimedDelivery, Store};

/// What the watcher has seen leave.
#[derive(Default)]
pub(super) struct Departures {
    contacts: RwLock<HashSet<i64>>,
    issues: RwLock<HashSet<i64>>,
}

impl Departures {
    pub(super) fn reason(&self, delivery: &ClaimedDelivery) -> Option<&'static str> {
        if self.issues.read().unwrap().contains(&delivery.issue_id) {
            Some("the issue was cancelled")
        } else if self.contacts.read().unwrap().contains(&delivery.contact_id) {
            Some("the contact left the list before it went out")
        } else {
            None
        }
    }
}

pub(super) async fn watch_departures(store: Store, departures: Arc<Departures>) {
    let mut since = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
    loop {
        let checked_at = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
        match store.departures_since(since).await {
            Ok((contacts, issues)) => {
                departures.contacts.write().unwrap().extend(contacts);
                departures.issues.write().unwrap().extend(issues);
                // Overlap by a second: a change committed just after the query started
                // but stamped just before is not missed.
                since = checked_at;
            }
            Err(e) => tracing::warn!(error = %e, "could not check for departures"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
