//! Watching: contacts who left (the list, or one publication) and issues that were
//! cancelled, seen every quarter second, so a job not yet handed to the relay is dropped
//! instead of sent.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::{ContactId, IssueId, Timestamp};
use crate::store::{ClaimedDelivery, Store};

/// What the watcher has seen leave, and when. A departure matters only to deliveries
/// claimed before it, which are all sent or given up within a lease: it is forgotten
/// after `keep` (a lease and a margin), so the sets stay small for the life of a worker.
pub(super) struct Departures {
    contacts: RwLock<HashMap<ContactId, Instant>>,
    issues: RwLock<HashMap<IssueId, Instant>>,
    /// (contact, issue): the contact left the issue's publication, not the list.
    left_publication: RwLock<HashMap<(ContactId, IssueId), Instant>>,
    keep: Duration,
}

impl Departures {
    pub(super) fn new(keep: Duration) -> Self {
        Departures {
            contacts: RwLock::default(),
            issues: RwLock::default(),
            left_publication: RwLock::default(),
            keep,
        }
    }

    pub(super) fn reason(&self, delivery: &ClaimedDelivery) -> Option<&'static str> {
        if self.issues.read().unwrap().contains_key(&delivery.issue_id) {
            Some("the issue was cancelled")
        } else if self
            .contacts
            .read()
            .unwrap()
            .contains_key(&delivery.contact_id)
        {
            Some("the contact left the list before it went out")
        } else if self
            .left_publication
            .read()
            .unwrap()
            .contains_key(&(delivery.contact_id, delivery.issue_id))
        {
            Some("the contact left this publication before it went out")
        } else {
            None
        }
    }

    /// Records what left, seen at `now`, and forgets what left longer ago than `keep`.
    fn remember(
        &self,
        contacts: Vec<ContactId>,
        issues: Vec<IssueId>,
        left_publication: Vec<(ContactId, IssueId)>,
        now: Instant,
    ) {
        remember_in(
            &mut self.contacts.write().unwrap(),
            contacts,
            now,
            self.keep,
        );
        remember_in(&mut self.issues.write().unwrap(), issues, now, self.keep);
        remember_in(
            &mut self.left_publication.write().unwrap(),
            left_publication,
            now,
            self.keep,
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.contacts.read().unwrap().len()
            + self.issues.read().unwrap().len()
            + self.left_publication.read().unwrap().len()
    }
}

fn remember_in<K: std::hash::Hash + Eq>(
    set: &mut HashMap<K, Instant>,
    keys: Vec<K>,
    now: Instant,
    keep: Duration,
) {
    set.extend(keys.into_iter().map(|key| (key, now)));
    set.retain(|_, seen| now.duration_since(*seen) <= keep);
}

pub(super) async fn watch_departures(store: Store, departures: Arc<Departures>) {
    let mut since = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
    loop {
        let checked_at = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
        let seen = match store.departures_since(since).await {
            Ok((contacts, issues)) => store
                .publication_departures_since(since)
                .await
                .map(|pairs| (contacts, issues, pairs)),
            Err(e) => Err(e),
        };
        match seen {
            Ok((contacts, issues, left_publication)) => {
                departures.remember(contacts, issues, left_publication, Instant::now());
                // Overlap by a second: a change committed just after the query started
                // but stamped just before is not missed.
                since = checked_at;
            }
            Err(e) => tracing::warn!(error = %e, "could not check for departures"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(number: u32) -> ContactId {
        ContactId::parse(&number.to_string()).unwrap()
    }

    fn issue(number: u32) -> IssueId {
        IssueId::parse(&number.to_string()).unwrap()
    }

    #[test]
    fn departures_are_forgotten_once_no_claimed_delivery_can_need_them() {
        let departures = Departures::new(Duration::from_secs(60));
        let start = Instant::now();
        departures.remember(
            (1..=10_000).map(contact).collect(),
            vec![issue(7)],
            vec![(contact(1), issue(2))],
            start,
        );
        assert_eq!(departures.len(), 10_002);
        // Within the keep time they are all there, with what left since.
        departures.remember(
            vec![contact(20_000)],
            Vec::new(),
            vec![(contact(3), issue(4))],
            start + Duration::from_secs(30),
        );
        assert_eq!(departures.len(), 10_004);
        // After it, only the newer ones.
        departures.remember(
            Vec::new(),
            Vec::new(),
            Vec::new(),
            start + Duration::from_secs(61),
        );
        assert_eq!(departures.len(), 2);
    }
}
