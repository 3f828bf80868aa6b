//! The contact store, the same suite on SQLite and PostgreSQL.

use crate::common;

use common::{TestDb, email, new_contact};
use nyhetsbrev::domain::{
    ChangeError, Consent, ConsentNote, ConsentSource, ContactChanges, ContactId, ContactName,
    ContactStatus, DeliveryId, Organisation, Timestamp,
};
use nyhetsbrev::store::{
    Actor, AddressUnsubscribed, ContactFilter, Outcome, PublicationLeft, StoreError,
    UnsubscribeOutcome,
};

on_both_backends!(
    adds_and_reads_a_contact,
    addresses_are_unique_across_letter_case,
    lists_filter_by_status_and_search_text,
    edits_change_fields_and_keep_status_times,
    an_edit_cannot_take_an_address_in_use,
    confirming_again_after_unsubscribing_needs_consent,
    removal_erases_the_contact_and_anonymises_the_log,
    concurrent_adds_of_one_address_insert_it_once,
    counts_by_status,
    every_way_off_the_list_skips_queued_deliveries_at_once,
    a_hard_bounce_at_send_skips_the_contacts_other_deliveries_at_once,
    staff_taking_a_contact_off_and_back_keeps_what_it_gets,
);

fn staff() -> Actor {
    Actor::parse("test:staff")
}

async fn adds_and_reads_a_contact(db: &TestDb) {
    let store = db.store().await;
    let mut new = new_contact("Kari.Nordmann@Example.NO", ContactStatus::Confirmed);
    new.name = ContactName::parse("Kari Nordmann").unwrap();
    new.organisation = Organisation::parse("Politiet Øst").unwrap();
    new.consent = Consent {
        source: ConsentSource::EmailRequest,
        at: Timestamp::parse_date("2025-03-12").unwrap(),
        note: ConsentNote::parse("e-post 12.03.2025 fra Kari").unwrap(),
    };
    let added = store.add_contact(&new, &staff()).await.unwrap();

    let read = store
        .contact(&email("KARI.NORDMANN@example.no"))
        .await
        .unwrap()
        .expect("found in any case");
    assert_eq!(read, added);
    assert_eq!(read.email.as_str(), "Kari.Nordmann@example.no");
    assert_eq!(read.name.as_ref().unwrap().as_str(), "Kari Nordmann");
    assert_eq!(read.organisation.as_ref().unwrap().as_str(), "Politiet Øst");
    assert_eq!(read.consent, new.consent);
    assert_eq!(read.confirmed_at, Some(new.consent.at));
    assert_eq!(read.bounce_count, 0);
    assert!(
        store
            .contact(&email("ola@example.org"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn addresses_are_unique_across_letter_case(db: &TestDb) {
    let store = db.store().await;
    store
        .add_contact(
            &new_contact("Kari@Example.no", ContactStatus::Pending),
            &staff(),
        )
        .await
        .unwrap();
    let again = store
        .add_contact(
            &new_contact("kari@EXAMPLE.NO", ContactStatus::Confirmed),
            &staff(),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::ContactExists(_))),
        "{again:?}"
    );
    assert_eq!(
        store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        1
    );
    let kept = store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(
        kept.status,
        ContactStatus::Pending,
        "the first one is left as it was"
    );
}

async fn lists_filter_by_status_and_search_text(db: &TestDb) {
    let store = db.store().await;
    let entries = [
        (
            "ola@example.org",
            ContactStatus::Confirmed,
            "Ola Nordmann",
            "Politiet Østfold",
        ),
        (
            "kari@example.no",
            ContactStatus::Confirmed,
            "Kari Holm",
            "Kirkens Bymisjon",
        ),
        (
            "per@example.org",
            ContactStatus::Pending,
            "Per Østby",
            "UDI",
        ),
        (
            "anne@example.org",
            ContactStatus::Unsubscribed,
            "Anne 100% Berg",
            "Bufdir",
        ),
    ];
    for (address, status, name, org) in entries {
        let mut new = new_contact(address, status);
        new.name = ContactName::parse(name).unwrap();
        new.organisation = Organisation::parse(org).unwrap();
        store.add_contact(&new, &staff()).await.unwrap();
    }
    let addresses = |contacts: Vec<nyhetsbrev::domain::Contact>| {
        contacts
            .into_iter()
            .map(|c| c.email.to_string())
            .collect::<Vec<_>>()
    };
    let all = store
        .list_contacts(&ContactFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(
        addresses(all),
        [
            "anne@example.org",
            "kari@example.no",
            "ola@example.org",
            "per@example.org"
        ]
    );

    let confirmed = ContactFilter {
        status: Some(ContactStatus::Confirmed),
        search: None,
        publication: None,
    };
    assert_eq!(
        addresses(store.list_contacts(&confirmed, None).await.unwrap()),
        ["kari@example.no", "ola@example.org"]
    );

    // Non-ASCII letters match across case on SQLite too.
    let search = |text: &str| ContactFilter {
        status: None,
        search: Some(text.into()),
        publication: None,
    };
    assert_eq!(
        addresses(store.list_contacts(&search("øST"), None).await.unwrap()),
        ["ola@example.org", "per@example.org"]
    );
    assert_eq!(
        addresses(
            store
                .list_contacts(&search("EXAMPLE.NO"), None)
                .await
                .unwrap()
        ),
        ["kari@example.no"]
    );
    // LIKE's wildcards are taken literally.
    assert_eq!(
        addresses(store.list_contacts(&search("100%"), None).await.unwrap()),
        ["anne@example.org"]
    );
    assert!(
        store
            .list_contacts(&search("_"), None)
            .await
            .unwrap()
            .is_empty()
    );

    let both = ContactFilter {
        status: Some(ContactStatus::Pending),
        search: Some("øst".into()),
        publication: None,
    };
    assert_eq!(
        addresses(store.list_contacts(&both, None).await.unwrap()),
        ["per@example.org"]
    );
    assert_eq!(store.count_contacts(&both).await.unwrap(), 1);
    assert_eq!(
        store
            .list_contacts(&ContactFilter::default(), Some(2))
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn edits_change_fields_and_keep_status_times(db: &TestDb) {
    let store = db.store().await;
    store
        .add_contact(
            &new_contact("ola@example.org", ContactStatus::Pending),
            &staff(),
        )
        .await
        .unwrap();
    let changes = ContactChanges {
        email: Some(email("ola.nordmann@example.org")),
        name: Some(ContactName::parse("Ola Nordmann").unwrap()),
        organisation: Some(Organisation::parse("Politiet").unwrap()),
        status: Some(ContactStatus::Confirmed),
        consent: None,
    };
    let edited = store
        .update_contact(&email("ola@example.org"), &changes, &staff())
        .await
        .unwrap();
    assert_eq!(edited.status, ContactStatus::Confirmed);
    assert!(edited.confirmed_at.is_some());
    assert!(
        store
            .contact(&email("ola@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    let read = store
        .existing_contact(&email("OLA.NORDMANN@example.org"))
        .await
        .unwrap();
    assert_eq!(read, edited);

    let clear = ContactChanges {
        name: Some(None),
        status: Some(ContactStatus::Unsubscribed),
        ..Default::default()
    };
    let left = store
        .update_contact(&read.email, &clear, &staff())
        .await
        .unwrap();
    assert_eq!(left.name, None);
    assert!(left.unsubscribed_at.is_some());
    assert_eq!(store.existing_contact(&read.email).await.unwrap(), left);

    let missing = store
        .update_contact(&email("nobody@example.org"), &clear, &staff())
        .await;
    assert!(
        matches!(missing, Err(StoreError::ContactNotFound(_))),
        "{missing:?}"
    );
}

async fn an_edit_cannot_take_an_address_in_use(db: &TestDb) {
    let store = db.store().await;
    store
        .add_contact(
            &new_contact("ola@example.org", ContactStatus::Confirmed),
            &staff(),
        )
        .await
        .unwrap();
    store
        .add_contact(
            &new_contact("kari@example.org", ContactStatus::Confirmed),
            &staff(),
        )
        .await
        .unwrap();
    let change = ContactChanges {
        email: Some(email("KARI@example.org")),
        ..Default::default()
    };
    let result = store
        .update_contact(&email("ola@example.org"), &change, &staff())
        .await;
    assert!(
        matches!(result, Err(StoreError::ContactExists(_))),
        "{result:?}"
    );
    assert!(
        store
            .contact(&email("ola@example.org"))
            .await
            .unwrap()
            .is_some(),
        "nothing changed"
    );
}

async fn confirming_again_after_unsubscribing_needs_consent(db: &TestDb) {
    let store = db.store().await;
    store
        .add_contact(
            &new_contact("ola@example.org", ContactStatus::Unsubscribed),
            &staff(),
        )
        .await
        .unwrap();
    let confirm = ContactChanges {
        status: Some(ContactStatus::Confirmed),
        ..Default::default()
    };
    let refused = store
        .update_contact(&email("ola@example.org"), &confirm, &staff())
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused(ChangeError::ConsentRequired { .. }))
        ),
        "{refused:?}"
    );
    assert_eq!(
        store
            .existing_contact(&email("ola@example.org"))
            .await
            .unwrap()
            .status,
        ContactStatus::Unsubscribed
    );

    let consent = Consent {
        source: ConsentSource::EmailRequest,
        at: Timestamp::now(),
        note: ConsentNote::parse("ny påmelding på e-post").unwrap(),
    };
    let with_consent = ContactChanges {
        consent: Some(consent.clone()),
        ..confirm
    };
    let back = store
        .update_contact(&email("ola@example.org"), &with_consent, &staff())
        .await
        .unwrap();
    assert_eq!(back.status, ContactStatus::Confirmed);
    assert_eq!(
        store
            .existing_contact(&email("ola@example.org"))
            .await
            .unwrap()
            .consent,
        consent
    );
}

async fn removal_erases_the_contact_and_anonymises_the_log(db: &TestDb) {
    let store = db.store().await;
    let mut new = new_contact("ola@example.org", ContactStatus::Confirmed);
    new.name = ContactName::parse("Ola Hemmelig").unwrap();
    store.add_contact(&new, &staff()).await.unwrap();
    let rename = ContactChanges {
        name: Some(ContactName::parse("Ola Nordmann").unwrap()),
        ..Default::default()
    };
    store
        .update_contact(&email("ola@example.org"), &rename, &staff())
        .await
        .unwrap();

    assert!(
        store
            .remove_contact(&email("OLA@example.org"), &staff())
            .await
            .unwrap()
    );
    assert!(
        store
            .contact(&email("ola@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .remove_contact(&email("ola@example.org"), &staff())
            .await
            .unwrap(),
        "second time: nothing to do"
    );

    let log = store.audit_log(10).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["contact.remove", "contact.edit", "contact.add"]);
    for entry in &log {
        assert_eq!(entry.actor, "test:staff");
        let text = format!("{:?} {:?}", entry.subject, entry.detail);
        assert!(
            !text.contains("ola@example.org") && !text.contains("Ola"),
            "personal data kept: {text}"
        );
        assert!(
            entry.subject.as_deref().unwrap().ends_with("(erased)"),
            "{entry:?}"
        );
    }
}

async fn concurrent_adds_of_one_address_insert_it_once(db: &TestDb) {
    let store = db.store().await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            let address = if i % 2 == 0 {
                "Samtidig@Example.org"
            } else {
                "samtidig@example.ORG"
            };
            tokio::spawn(async move {
                store
                    .add_contact(&new_contact(address, ContactStatus::Confirmed), &staff())
                    .await
            })
        })
        .collect();
    let mut inserted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => inserted += 1,
            Err(StoreError::ContactExists(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(inserted, 1);
    assert_eq!(
        store
            .count_contacts(&ContactFilter::default())
            .await
            .unwrap(),
        1
    );
}

async fn counts_by_status(db: &TestDb) {
    let store = db.store().await;
    for (i, status) in [
        ContactStatus::Confirmed,
        ContactStatus::Confirmed,
        ContactStatus::Bounced,
    ]
    .into_iter()
    .enumerate()
    {
        store
            .add_contact(&new_contact(&format!("k{i}@example.org"), status), &staff())
            .await
            .unwrap();
    }
    let counts = store.count_by_status().await.unwrap();
    assert_eq!(
        counts,
        [
            (ContactStatus::Pending, 0),
            (ContactStatus::Confirmed, 2),
            (ContactStatus::Unsubscribed, 0),
            (ContactStatus::Bounced, 1)
        ]
    );
}

/// Every way a contact leaves the list or is taken off it skips its queued deliveries in
/// the change's own transaction, before any worker claims them (not only when a claim
/// finds the contact gone); a claim then hands out only those of contacts still on it.
async fn every_way_off_the_list_skips_queued_deliveries_at_once(db: &TestDb) {
    let store = db.store().await;
    let people = [
        "blir",
        "lenke",
        "gammel-lenke",
        "epost",
        "siste",
        "stab-av",
        "stab-avvist",
        "stab-venter",
        "slettes",
    ];
    let mut id = std::collections::BTreeMap::new();
    for who in people {
        let mut new = new_contact(&format!("{who}@example.org"), ContactStatus::Confirmed);
        if who == "siste" {
            new.publications = nyhetsbrev::domain::PublicationChoice::only(vec![
                nyhetsbrev::domain::PublicationSlug::parse("nyhetsbrev").unwrap(),
            ])
            .unwrap();
        }
        id.insert(who, store.add_contact(&new, &staff()).await.unwrap().id);
    }
    let stored_link = store
        .issue_unsubscribe_token(id["gammel-lenke"])
        .await
        .unwrap();
    let issue = common::queue::sending_newsletter(&store, "2024-q1").await;
    let link = Actor::parse("web:unsubscribe");

    // A signed leave link (and one-click) names the contact; a stored one is looked up.
    assert!(matches!(
        store.unsubscribe_contact(id["lenke"], &link).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed(_)
    ));
    assert!(matches!(
        store.unsubscribe(&stored_link, &link).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed(_)
    ));
    // Mail to the list from a verified sender.
    assert!(matches!(
        store
            .unsubscribe_address(
                &email("EPOST@example.org"),
                &Actor::parse("inbound:unsubscribe")
            )
            .await
            .unwrap(),
        AddressUnsubscribed::Unsubscribed { .. }
    ));
    // The last publication left.
    let newsletter = store
        .existing_publication(&nyhetsbrev::domain::PublicationSlug::parse("nyhetsbrev").unwrap())
        .await
        .unwrap();
    assert!(matches!(
        store
            .leave_publication(id["siste"], &newsletter, &link)
            .await
            .unwrap(),
        PublicationLeft::LeftEverything { .. }
    ));
    // Staff edits, and an erasure.
    for (who, status) in [
        ("stab-av", ContactStatus::Unsubscribed),
        ("stab-avvist", ContactStatus::Bounced),
        ("stab-venter", ContactStatus::Pending),
    ] {
        let edit = ContactChanges {
            status: Some(status),
            ..Default::default()
        };
        store
            .update_contact(&email(&format!("{who}@example.org")), &edit, &staff())
            .await
            .unwrap();
    }
    assert!(
        store
            .remove_contact(&email("slettes@example.org"), &staff())
            .await
            .unwrap()
    );

    let off: Vec<ContactId> = people[1..8].iter().map(|who| id[who]).collect();
    common::queue::assert_skipped_at_once(db, issue, &off).await;
    assert_eq!(
        common::queue::delivery_status(db, issue, id["slettes"]).await,
        None,
        "an erased contact's deliveries go with it"
    );
    assert_eq!(
        common::queue::claim_all(&store, issue).await,
        [id["blir"]].into()
    );

    // Leaving the list leaves every publication, whoever records it; bounced and
    // pending contacts keep theirs (a bounce is not a withdrawal; a confirmation starts
    // what a pending one chose).
    for who in ["lenke", "gammel-lenke", "epost", "siste", "stab-av"] {
        assert!(
            common::subscribed_to(&store, id[who]).await.is_empty(),
            "{who} left every publication"
        );
    }
    for who in ["stab-avvist", "stab-venter"] {
        assert_eq!(
            common::subscribed_to(&store, id[who]).await.len(),
            3,
            "{who} keeps its publications"
        );
    }
    // A staff edit stays one entry in the log, in its own words.
    let log = store.audit_about("stab-av@example.org", 10).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["contact.edit", "contact.add"]);
    assert!(
        log[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("status=confirmed->unsubscribed"),
        "{log:?}"
    );
}

/// A hard bounce at send time that reaches the threshold bounces the contact and skips
/// its deliveries of other issues at once, also when the count was past the threshold
/// already (the threshold lowered since).
async fn a_hard_bounce_at_send_skips_the_contacts_other_deliveries_at_once(db: &TestDb) {
    let store = db.store().await;
    let mut id = std::collections::BTreeMap::new();
    for who in ["blir", "full", "gammel-teller"] {
        let new = new_contact(&format!("{who}@example.org"), ContactStatus::Confirmed);
        id.insert(who, store.add_contact(&new, &staff()).await.unwrap().id);
    }
    db.execute(&format!(
        "UPDATE contacts SET bounce_count = 5 WHERE id = {}",
        id["gammel-teller"]
    ))
    .await;
    let first = common::queue::sending_newsletter(&store, "2024-q1").await;
    let second = common::queue::sending_newsletter(&store, "2024-q1-b").await;
    let lease_until = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000);
    let claimed = store
        .claim_deliveries("worker-1", 100, lease_until, Some(first), None)
        .await
        .unwrap();
    let refused: Vec<(DeliveryId, Outcome)> = claimed
        .iter()
        .filter(|d| d.contact_id != id["blir"])
        .map(|d| {
            (
                d.id,
                Outcome::Failed {
                    error: "550 5.1.1 no such user".into(),
                    hard_bounce: true,
                },
            )
        })
        .collect();
    assert_eq!(refused.len(), 2);
    store
        .record_outcomes("worker-1", &refused, 2, &Actor::parse("worker"))
        .await
        .unwrap();

    let full = store
        .existing_contact(&email("full@example.org"))
        .await
        .unwrap();
    assert_eq!(
        (full.status, full.bounce_count),
        (ContactStatus::Confirmed, 1),
        "one bounce of two"
    );
    let past = store
        .existing_contact(&email("gammel-teller@example.org"))
        .await
        .unwrap();
    assert_eq!(past.status, ContactStatus::Bounced);
    common::queue::assert_skipped_at_once(db, second, &[id["gammel-teller"]]).await;
    assert_eq!(
        common::queue::claim_all(&store, second).await,
        [id["blir"], id["full"]].into()
    );
    assert_eq!(common::subscribed_to(&store, past.id).await.len(), 3);
    let log = store
        .audit_about("gammel-teller@example.org", 10)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "contact.bounced" && e.actor == "worker"),
        "{log:?}"
    );
}

/// A staff edit to unsubscribed leaves what the contact got, as its own leave link
/// would; staff putting it back with new consent restores it. A bounced or pending
/// contact keeps its publications and gets them again once back.
async fn staff_taking_a_contact_off_and_back_keeps_what_it_gets(db: &TestDb) {
    let store = db.store().await;
    let consent = Consent {
        source: ConsentSource::EmailRequest,
        at: Timestamp::now(),
        note: ConsentNote::parse("ba om å stå på listen igjen").unwrap(),
    };
    for (address, off) in [
        ("av@example.org", ContactStatus::Unsubscribed),
        ("avvist@example.org", ContactStatus::Bounced),
        ("venter@example.org", ContactStatus::Pending),
    ] {
        let mut new = new_contact(address, ContactStatus::Confirmed);
        new.publications = nyhetsbrev::domain::PublicationChoice::only(vec![
            nyhetsbrev::domain::PublicationSlug::parse("nyhetsbrev").unwrap(),
            nyhetsbrev::domain::PublicationSlug::parse("rettsavgjorelser").unwrap(),
        ])
        .unwrap();
        let id = store.add_contact(&new, &staff()).await.unwrap().id;
        let take_off = ContactChanges {
            status: Some(off),
            ..Default::default()
        };
        store
            .update_contact(&email(address), &take_off, &staff())
            .await
            .unwrap();
        let kept = common::subscribed_to(&store, id).await;
        if off == ContactStatus::Unsubscribed {
            assert!(kept.is_empty(), "{address}: {kept:?}");
        } else {
            assert_eq!(kept, ["nyhetsbrev", "rettsavgjorelser"], "{address}");
        }
        let put_back = ContactChanges {
            status: Some(ContactStatus::Confirmed),
            consent: Some(consent.clone()),
            ..Default::default()
        };
        let back = store
            .update_contact(&email(address), &put_back, &staff())
            .await
            .unwrap();
        assert_eq!(back.status, ContactStatus::Confirmed);
        assert_eq!(
            common::subscribed_to(&store, id).await,
            ["nyhetsbrev", "rettsavgjorelser"],
            "{address}: back with what it had"
        );
    }
    // A bounced contact put back with a note keeps its publications too.
    let mut new = new_contact("full@example.org", ContactStatus::Bounced);
    new.publications = nyhetsbrev::domain::PublicationChoice::only(vec![
        nyhetsbrev::domain::PublicationSlug::parse("tilstandsrapport").unwrap(),
    ])
    .unwrap();
    let full = store.add_contact(&new, &staff()).await.unwrap();
    let back = store
        .reset_bounced(
            full.id,
            &ConsentNote::parse("ny postkasse").unwrap().unwrap(),
            &staff(),
        )
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.bounce_count),
        (ContactStatus::Confirmed, 0)
    );
    assert_eq!(
        common::subscribed_to(&store, full.id).await,
        ["tilstandsrapport"]
    );
}
