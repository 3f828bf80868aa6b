//! Upgrades: a database made by the first released schema (the first migration only),
//! filled with data written the way that version wrote it, is brought up to the current
//! schema by the same start-up a new version runs; nothing in it is lost, and what
//! later migrations added (counts, the search index) covers the old rows.

use crate::common;

use common::TestDb;
use nyhetsbrev::domain::{ConsentSource, ContactStatus, Slug, TokenSecret};
use nyhetsbrev::store::{Actor, ContactFilter, PageStart, Store, UnsubscribeOutcome};
use sqlx::{AnyConnection, Connection};

on_both_backends!(
    a_database_of_the_first_release_upgrades_with_nothing_lost,
    one_mailbox_written_two_ways_is_reported_not_merged,
);

/// The first released schema: migration 20261124000001_initial.
const FIRST_RELEASE: i64 = 20261124000001;

const DAY: i64 = 86_400_000;
/// 1 November 2026, in Unix milliseconds.
const T0: i64 = 1_793_491_200_000;

/// The empty database (on SQLite: the file) with the first schema only.
async fn first_release_schema(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let backend = store.backend();
    store.close().await;
    drop(store);
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    backend
        .migrator()
        .run_to(FIRST_RELEASE, &mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn a_database_of_the_first_release_upgrades_with_nothing_lost(db: &TestDb) {
    first_release_schema(db).await;
    let version = db
        .query_strings("SELECT CAST(MAX(version) AS TEXT) FROM _sqlx_migrations")
        .await;
    assert_eq!(version, vec![FIRST_RELEASE.to_string()]);

    // Data as the first release wrote it (ids from each table's own sequence, as the
    // release made them: a fresh database numbers these rows 1, 2, 3, …).
    let unsubscribe_secret = TokenSecret::generate();
    let password_hash = nyhetsbrev::auth::hash_password("et langt passord for kom").unwrap();
    for sql in [
        format!(
            "INSERT INTO contacts (email, email_key, name, organisation, search_text, status, \
             consent_source, consent_at, consent_note, confirmed_at, bounce_count, created_at, updated_at) VALUES \
             ('Kari.Nordmann@example.no', 'kari.nordmann@example.no', 'Kari Nordmann', 'Støttesenteret', \
              'kari.nordmann@example.no kari nordmann støttesenteret', 'confirmed', 'web', {t}, NULL, {t1}, 0, {t}, {t1}), \
             ('ola@example.org', 'ola@example.org', 'Ola Ærlig', NULL, 'ola@example.org ola ærlig', \
              'confirmed', 'import', {t}, 'Liste fra 2024-samlingen', {t}, 1, {t}, {t}), \
             ('borte@example.org', 'borte@example.org', NULL, 'Poli\u{2066}tiet\u{202e}', 'borte@example.org politiet', \
              'unsubscribed', 'staff', {t}, NULL, {t}, 0, {t}, {t2}), \
             ('venter@example.org', 'venter@example.org', NULL, NULL, 'venter@example.org', \
              'pending', 'web', {t2}, NULL, NULL, 0, {t2}, {t2})",
            t = T0,
            t1 = T0 + DAY,
            t2 = T0 + 2 * DAY
        ),
        format!(
            "INSERT INTO issues (slug, subject, period, preheader, audience, issue_date, source, status, \
             created_at, updated_at, send_started_at, sent_at) VALUES \
             ('2024-q1', 'Nyhetsbrev fra KOM juli–september 2026', 'juli–september 2026', 'Nytt fra KOM', \
              'Til samarbeidspartnere', '1. oktober 2026', '{source}', 'sending', {t}, {t}, {t}, NULL)",
            source = common::SAMPLE_ISSUE.replace('\'', "''"),
            t = T0 + 3 * DAY
        ),
        format!(
            "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, last_error, \
             message_id, created_at, updated_at, sent_at) VALUES \
             (1, 1, 'sent', 1, {t}, NULL, '<d1.2026-q3@example.org>', {t}, {t}, {t}), \
             (1, 2, 'queued', 2, {t}, '451 try later', NULL, {t}, {t}, NULL), \
             (1, 3, 'skipped', 0, {t}, NULL, NULL, {t}, {t}, NULL)",
            t = T0 + 3 * DAY
        ),
        format!(
            "INSERT INTO tokens (token_hash, contact_id, purpose, created_at, expires_at, used_at) VALUES \
             ('{hash}', 1, 'unsubscribe', {t}, NULL, NULL)",
            hash = unsubscribe_secret.hash().as_str(),
            t = T0 + 3 * DAY
        ),
        format!(
            "INSERT INTO staff_users (username, password_hash, created_at, updated_at) VALUES \
             ('kom', '{password_hash}', {T0}, {T0}), ('ola', '{password_hash}', {T0}, {T0})"
        ),
        format!(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES \
             ({T0}, 'cli:root', 'contact.add', 'kari.nordmann@example.no', 'source=web'), \
             ({t}, 'web:unsubscribe', 'contact.unsubscribe', 'borte@example.org', NULL), \
             ({t}, 'web:kom', 'staff.add', 'ola', NULL), \
             ({t}, 'web:ola', 'staff.password', 'ola', NULL)",
            t = T0 + 2 * DAY
        ),
    ] {
        db.execute(&sql).await;
    }

    // The new version starts: every later migration runs.
    let store = Store::open(&db.url).await.expect("the upgrade migrates");
    let state = store.schema_state().await.unwrap();
    assert!(state.pending().is_empty() && state.unknown().is_empty());

    // Every contact with its consent, as it was.
    let page = store
        .contact_page(&ContactFilter::default(), &PageStart::First, 50)
        .await
        .unwrap();
    assert_eq!(page.contacts.len(), 4);
    let kari = store
        .contact(&common::email("kari.nordmann@example.no"))
        .await
        .unwrap()
        .expect("Kari is still on the list");
    assert_eq!(kari.status, ContactStatus::Confirmed);
    assert_eq!(kari.consent.source, ConsentSource::Web);
    assert_eq!(kari.consent.at.unix_ms(), T0);
    assert_eq!(kari.confirmed_at.map(|t| t.unix_ms()), Some(T0 + DAY));
    assert_eq!(
        kari.organisation.as_ref().unwrap().as_str(),
        "Støttesenteret"
    );
    let ola = store
        .contact(&common::email("ola@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ola.consent.source, ConsentSource::Import);
    assert_eq!(
        ola.consent.note.as_ref().unwrap().as_str(),
        "Liste fra 2024-samlingen"
    );
    assert_eq!(ola.bounce_count, 1);
    // Bidirectional controls, accepted then and refused now, are gone from what was
    // stored, so the contact still reads.
    let borte = store
        .contact(&common::email("borte@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(borte.organisation.as_ref().unwrap().as_str(), "Politiet");

    // The counts later migrations keep by trigger start from the old rows.
    let mut counts = store.contact_counts().await.unwrap();
    counts.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(
        counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (s.as_str(), *n))
            .collect::<Vec<_>>(),
        vec![("confirmed", 2), ("pending", 1), ("unsubscribed", 1)]
    );
    let issue = store
        .issue(&Slug::parse("2024-q1").unwrap())
        .await
        .unwrap()
        .expect("the issue is kept");
    let sent = store.send_counts(issue.id).await.unwrap();
    assert_eq!(
        (
            sent.total,
            sent.sent,
            sent.queued,
            sent.retrying,
            sent.skipped
        ),
        (3, 1, 1, 1, 1)
    );
    // Publications (issue 18): the old issue is a newsletter; everyone still on the
    // list gets all three, with the consent they gave ("alt KOM sender"); who left
    // gets nothing.
    let newsletter = store
        .existing_publication(&nyhetsbrev::domain::PublicationSlug::default_publication())
        .await
        .unwrap();
    assert_eq!(issue.publication_id, newsletter.id);
    let subscribed = |subscriptions: Vec<nyhetsbrev::domain::Subscription>| {
        subscriptions
            .into_iter()
            .filter(|s| s.left_at.is_none())
            .map(|s| {
                (
                    s.publication.to_string(),
                    s.consent.source,
                    s.consent.at.unix_ms(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subscribed(store.subscriptions(ola.id).await.unwrap()),
        ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"].map(|p| (
            p.to_owned(),
            ConsentSource::Import,
            T0
        ))
    );
    assert_eq!(
        subscribed(store.subscriptions(kari.id).await.unwrap()).len(),
        3
    );
    assert!(subscribed(store.subscriptions(borte.id).await.unwrap()).is_empty());
    // So the send that was under way goes on to the same people.
    assert_eq!(store.count_unqueued(&issue.slug).await.unwrap(), 0);

    // The search index covers the old rows.
    let found = store
        .contact_page(
            &ContactFilter {
                search: Some("ærlig".into()),
                ..ContactFilter::default()
            },
            &PageStart::First,
            10,
        )
        .await
        .unwrap();
    assert_eq!(found.contacts.len(), 1, "search for a name from before");
    assert_eq!(found.contacts[0].email.as_str(), "ola@example.org");

    // Every audit entry, in order.
    let audit = store.audit_log(50).await.unwrap();
    for action in ["contact.add", "contact.unsubscribe"] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "{action} in {audit:?}"
        );
    }

    // A leave link mailed by the first release still works.
    let outcome = store
        .unsubscribe(&unsubscribe_secret, &Actor::parse("web:unsubscribe"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, UnsubscribeOutcome::Unsubscribed(ref e) if e.as_str() == "Kari.Nordmann@example.no"),
        "{outcome:?}"
    );
    // The staff account signs in with its old password.
    let staff = nyhetsbrev::ops::Staff::new(store.clone());
    let name = staff
        .log_in("127.0.0.1", "kom", "et langt passord for kom")
        .await
        .expect("the old password works");
    assert_eq!(name, "kom");
    // The earliest account manages accounts after the upgrade; the others do not.
    assert!(store.staff_is_admin("kom").await.unwrap());
    assert!(!store.staff_is_admin("ola").await.unwrap());
    // That kom made ola's account (in the audit log only, before this version) is
    // known to the approval rule; ola's own new password is not a change by another.
    let changes = store.account_changes_by_others("ola").await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].by.as_deref(), Some("kom"));
    assert_eq!(changes[0].at.unix_ms(), T0 + 2 * DAY);
    // And the sent message's Message-ID is still the ledger's.
    let ids = db
        .query_strings("SELECT message_id FROM deliveries WHERE status = 'sent'")
        .await;
    assert_eq!(ids, vec!["<d1.2026-q3@example.org>".to_owned()]);
    store.close().await;
}

/// Before issue 17 an address's key was its text lower-cased, so a mailbox written with
/// its domain in Unicode and as an A-label could be two contacts. The upgrade gives every
/// key the A-label form, and reports the contacts it cannot (another has the mailbox)
/// without merging them.
async fn one_mailbox_written_two_ways_is_reported_not_merged(db: &TestDb) {
    first_release_schema(db).await;
    let row = |email: &str, key: &str, name: &str| {
        format!(
            "('{email}', '{key}', '{name}', NULL, '{key}', 'confirmed', 'import', {T0}, NULL, {T0}, 0, {T0}, {T0})"
        )
    };
    db.execute(&format!(
        "INSERT INTO contacts (email, email_key, name, organisation, search_text, status, \
         consent_source, consent_at, consent_note, confirmed_at, bounce_count, created_at, updated_at) VALUES {}, {}, {}, {}",
        row("User@xn--bcher-kva.example", "user@xn--bcher-kva.example", "Første"),
        row("user@bücher.example", "user@bücher.example", "Andre"),
        row("post@blåbær.example.no", "post@blåbær.example.no", "Blåbær"),
        row("ola@example.org", "ola@example.org", "Ola"),
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES \
         ({T0}, 'cli:root', 'contact.add', 'post@blåbær.example.no', 'source=import')"
    ))
    .await;

    let store = Store::open(&db.url).await.expect("the upgrade migrates");
    // The later contact is reported, both kept.
    let duplicates = store.address_duplicates().await.unwrap();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert_eq!(
        (duplicates[0].contact_id, duplicates[0].same_as),
        (common::contact_number(2), common::contact_number(1)),
        "{duplicates:?}"
    );
    assert_eq!(duplicates[0].email, "user@bücher.example");
    let audit = store.audit_log(50).await.unwrap();
    let reported = audit
        .iter()
        .find(|e| e.action == "contact.duplicate_address")
        .expect("the duplicate is in the log");
    assert!(
        reported
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("contact #1"),
        "{reported:?}"
    );
    let page = store
        .contact_page(&ContactFilter::default(), &PageStart::First, 50)
        .await
        .unwrap();
    assert_eq!(page.contacts.len(), 4, "nothing merged");
    // Staff see it on the dashboard.
    let dashboard = nyhetsbrev::ops::Dashboard::new(
        store.clone(),
        nyhetsbrev::mail::Transport::Outbox(std::env::temp_dir()),
        true,
    );
    let warnings = dashboard.overview().await.unwrap().warnings;
    assert!(
        warnings.contains(&nyhetsbrev::ops::dashboard::Warning::SameMailbox {
            contact_id: common::contact_number(2),
            email: "user@bücher.example".into(),
            same_as: common::contact_number(1)
        }),
        "{warnings:?}"
    );
    // Either spelling finds the first contact, shown in Unicode.
    for spelling in ["user@bücher.example", "USER@xn--bcher-kva.example"] {
        let found = store
            .contact(&common::email(spelling))
            .await
            .unwrap()
            .expect(spelling);
        assert_eq!(found.id, common::contact_number(1), "{spelling}");
        assert_eq!(found.email.as_str(), "User@bücher.example");
    }
    // A contact alone with its mailbox gets the A-label key; its log entry follows it;
    // a search by either form finds it.
    let keys = db
        .query_strings("SELECT email_key FROM contacts WHERE id = 3")
        .await;
    assert_eq!(keys, vec!["post@xn--blbr-roah.example.no".to_owned()]);
    assert!(
        store
            .audit_log(50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.subject.as_deref() == Some("post@xn--blbr-roah.example.no"))
    );
    for search in ["blåbær", "xn--blbr"] {
        let found = store
            .contact_page(
                &ContactFilter {
                    search: Some(search.into()),
                    ..ContactFilter::default()
                },
                &PageStart::First,
                10,
            )
            .await
            .unwrap();
        assert_eq!(found.contacts.len(), 1, "search {search}");
    }
    // A new contact in the other spelling is the same mailbox: refused as existing.
    let added = store
        .add_contact(
            &common::new_contact("post@XN--BLBR-ROAH.example.no", ContactStatus::Confirmed),
            &Actor::parse("test"),
        )
        .await;
    assert!(added.is_err(), "{added:?}");
    // Opening again rewrites nothing more.
    store.close().await;
    let store = Store::open(&db.url).await.unwrap();
    assert_eq!(store.address_duplicates().await.unwrap().len(), 1);
    // Staff remove the duplicate by its number: the other contact stays.
    assert!(
        store
            .remove_contact_by_id(common::contact_number(2), &Actor::parse("test"))
            .await
            .unwrap()
    );
    assert!(store.address_duplicates().await.unwrap().is_empty());
    let first = store
        .contact(&common::email("user@bücher.example"))
        .await
        .unwrap();
    assert_eq!(first.map(|c| c.id), Some(common::contact_number(1)));
    store.close().await;
}
