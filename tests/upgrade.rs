//! Upgrades: a database made by the first released schema (the first migration only),
//! filled with data written the way that version wrote it, is brought up to the current
//! schema by the same start-up a new version runs; nothing in it is lost, and what
//! later migrations added (counts, the search index) covers the old rows.

mod common;

use common::TestDb;
use nyhetsbrev::domain::{ConsentSource, ContactStatus, Slug, TokenSecret};
use nyhetsbrev::store::{Actor, ContactFilter, PageStart, Store, UnsubscribeOutcome};
use sqlx::{AnyConnection, Connection};

on_both_backends!(a_database_of_the_first_release_upgrades_with_nothing_lost,);

/// The first released schema: migration 20261124000001_initial.
const FIRST_RELEASE: i64 = 20261124000001;

const DAY: i64 = 86_400_000;
/// 1 November 2026, in Unix milliseconds.
const T0: i64 = 1_793_491_200_000;

async fn a_database_of_the_first_release_upgrades_with_nothing_lost(db: &TestDb) {
    // The empty database (on SQLite: the file) and the first schema only.
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
             ('borte@example.org', 'borte@example.org', NULL, 'Politiet', 'borte@example.org politiet', \
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
             ('kom', '{password_hash}', {T0}, {T0})"
        ),
        format!(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES \
             ({T0}, 'cli:root', 'contact.add', 'kari.nordmann@example.no', 'source=web'), \
             ({t}, 'web:unsubscribe', 'contact.unsubscribe', 'borte@example.org', NULL)",
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
        .unsubscribe(&unsubscribe_secret, &Actor::new("web:unsubscribe"))
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
    // And the sent message's Message-ID is still the ledger's.
    let ids = db
        .query_strings("SELECT message_id FROM deliveries WHERE status = 'sent'")
        .await;
    assert_eq!(ids, vec!["<d1.2026-q3@example.org>".to_owned()]);
    store.close().await;
}
