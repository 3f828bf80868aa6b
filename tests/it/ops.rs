//! The staff operations, called as a front end calls them: the rules they keep, the
//! audit entries they write, and errors that name each cause once.

use crate::common;

use common::{TestDb, add_confirmed, numbered_address};
use nyhetsbrev::domain::{ContactStatus, Slug, Timestamp};
use nyhetsbrev::ops::{IssueError, Issues};
use nyhetsbrev::store::{Actor, Outcome, Store, StoreError};

on_both_backends!(
    a_hard_bounce_at_send_time_follows_the_same_rule_as_a_report,
    a_draft_that_cannot_be_an_issue_is_refused_before_anything_is_stored,
    a_test_copy_is_audited_with_who_sent_it_and_to_whom,
    second_factor_secrets_are_kept_sealed_in_the_database,
);

fn issues(store: &Store) -> Issues {
    Issues::new(
        store.clone(),
        nyhetsbrev::startup::render_context(&Settings::default()),
        Ok(common::test_key()),
    )
}

use nyhetsbrev::config::Settings;

/// A second issue from the sample, under another slug.
async fn second_draft(store: &Store) -> (Slug, nyhetsbrev::domain::IssueId) {
    let source = common::SAMPLE_ISSUE.replacen("slug = \"2024-q1\"", "slug = \"2024-q1b\"", 1);
    assert_ne!(source, common::SAMPLE_ISSUE, "the sample names its slug");
    let imported = issues(store)
        .import_draft("2024-q1b.md", source.as_bytes(), &Actor::parse("cli:test"))
        .await
        .unwrap();
    let slug = imported.issue.meta.slug;
    let id = store.existing_issue(&slug).await.unwrap().id;
    (slug, id)
}

/// A relay's 5xx at send time used to count only the bounce; a report also marked the
/// delivery, skipped what was queued and wrote an audit entry. Now both take one path.
async fn a_hard_bounce_at_send_time_follows_the_same_rule_as_a_report(db: &TestDb) {
    let store = db.store().await;
    let (first, first_id) = common::sample_draft(&store).await;
    let (second, _) = second_draft(&store).await;
    add_confirmed(&store, 0..1).await;
    let staff = Actor::parse("cli:test");
    store.enqueue_issue(&first, &staff).await.unwrap();
    store.enqueue_issue(&second, &staff).await.unwrap();
    let lease = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000);
    let claimed = store
        .claim_deliveries("test-worker", 10, lease, Some(first_id), None)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let refused = Outcome::Failed {
        error: "550 5.1.1 no such user".into(),
        hard_bounce: true,
    };
    store
        .record_outcomes(
            "test-worker",
            &[(claimed[0].id, refused)],
            1,
            &Actor::parse("worker"),
        )
        .await
        .unwrap();
    let contact = store
        .existing_contact(&common::email(&numbered_address(0)))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Bounced);
    assert_eq!(contact.bounce_count, 1);
    // The other issue's queued delivery to the same address will not go out.
    let second_id = store.existing_issue(&second).await.unwrap().id;
    let counts = store.send_counts(second_id).await.unwrap();
    assert_eq!((counts.queued, counts.skipped), (0, 1), "{counts:?}");
    let audit = store.audit_log(10).await.unwrap();
    let bounced = audit
        .iter()
        .find(|e| e.action == "contact.bounced")
        .expect("the bounce is in the audit log");
    assert_eq!(bounced.actor, "worker");
}

async fn a_draft_that_cannot_be_an_issue_is_refused_before_anything_is_stored(db: &TestDb) {
    let store = db.store().await;
    let ops = issues(&store);
    let actor = Actor::parse("cli:test");
    let latin1 = b"+++\nslug = \"x\"\n+++\n# Overskrift \xe6\xf8\xe5\n";
    match ops.import_draft("latin1.md", latin1, &actor).await {
        Err(IssueError::NotUtf8 { valid_up_to, .. }) => assert_eq!(valid_up_to, 32),
        other => panic!("not UTF-8 is refused: {other:?}"),
    }
    let huge = vec![b'a'; nyhetsbrev::render::MAX_SOURCE_BYTES + 1];
    let refused = ops
        .import_draft("huge.md", &huge, &actor)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IssueError::SourceTooLarge { .. }),
        "{refused}"
    );
    // An issue that went out is never replaced.
    let (slug, _) = common::sample_draft(&store).await;
    add_confirmed(&store, 0..1).await;
    ops.queue_send(&slug, &actor).await.unwrap();
    let again = ops
        .import_draft("2024-q1.md", common::SAMPLE_ISSUE.as_bytes(), &actor)
        .await
        .unwrap_err();
    assert!(matches!(again, IssueError::NotDraft { .. }), "{again}");
    assert_eq!(store.list_issues().await.unwrap().len(), 1);
    // The error says where to look, and names its cause once.
    let missing = ops
        .get(&Slug::parse("finnes-ikke").unwrap())
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "issue finnes-ikke does not exist");
}

async fn a_test_copy_is_audited_with_who_sent_it_and_to_whom(db: &TestDb) {
    let store = db.store().await;
    let (slug, _) = common::sample_draft(&store).await;
    let settings = common::test_settings(db);
    let dispatcher = nyhetsbrev::startup::dispatcher(store.clone(), &settings).unwrap();
    let to = common::email("redaktor@example.no");
    issues(&store)
        .test_send(&dispatcher, &slug, &to, &Actor::parse("cli:kari"))
        .await
        .unwrap();
    assert_eq!(common::outbox_messages(&settings.outbox).len(), 1);
    let entry = store.audit_log(1).await.unwrap().remove(0);
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.subject.as_deref(),
            entry.detail.as_deref()
        ),
        (
            "cli:kari",
            "issue.test_send",
            Some("2024-q1"),
            Some("redaktor@example.no")
        )
    );
}

#[test]
fn an_error_chain_names_each_cause_once() {
    let error = anyhow::Error::from(StoreError::from(sqlx::Error::PoolTimedOut));
    let shown = format!("{error:#}");
    assert_eq!(
        shown.matches("pool timed out").count(),
        1,
        "the cause is printed once: {shown}"
    );
}

/// A backup or a copy of the database used to hold every staff member's TOTP secret in
/// clear, enough to make their codes. The secret is stored sealed with a key derived
/// from `token_key`; one stored in clear by an earlier version is sealed at the next
/// start and still works; without the key, no second factor is set up at all.
async fn second_factor_secrets_are_kept_sealed_in_the_database(db: &TestDb) {
    let store = db.store().await;
    common::staff::add_staff(&store, "kari").await;
    let staff = nyhetsbrev::ops::Staff::new(store.clone()).with_key(Some(common::test_key()));
    let enrolment = staff.totp_enrolment("kari").await.unwrap();
    let secret = enrolment.secret.clone();
    let stored = || async move {
        db.query_strings("SELECT totp_secret FROM staff_users WHERE username = 'kari'")
            .await
            .remove(0)
    };
    let sealed = stored().await;
    assert!(sealed.starts_with("sealed1."), "{sealed}");
    assert!(!sealed.contains(&secret), "{sealed}");
    staff
        .confirm_totp(
            "kari",
            &common::staff::totp_code(&secret, 0),
            &Actor::parse("web:kari"),
        )
        .await
        .unwrap();
    assert!(!stored().await.contains(&secret));
    staff
        .check_second_factor("kari", &common::staff::totp_code(&secret, 30))
        .await
        .unwrap();

    // As an earlier version left it: in clear. The start seals it; codes keep working.
    db.execute(&format!(
        "UPDATE staff_users SET totp_secret = '{secret}', totp_last_step = NULL WHERE username = 'kari'"
    ))
    .await;
    assert_eq!(staff.seal_stored_secrets().await.unwrap(), 1);
    assert_eq!(staff.seal_stored_secrets().await.unwrap(), 0, "once");
    let resealed = stored().await;
    assert!(resealed.starts_with("sealed1.") && !resealed.contains(&secret));
    staff
        .check_second_factor("kari", &common::staff::totp_code(&secret, -30))
        .await
        .unwrap();

    // Someone with the database but not the key cannot use it: another key opens nothing.
    let other_key =
        nyhetsbrev::domain::TokenKey::parse("another-key-0123456789abcdefghijklmnop").unwrap();
    let stranger = nyhetsbrev::ops::Staff::new(store.clone()).with_key(Some(other_key));
    assert!(matches!(
        stranger
            .check_second_factor("kari", &common::staff::totp_code(&secret, 0))
            .await,
        Err(nyhetsbrev::ops::SecondFactorError::NoKey)
    ));
    // A sealed secret copied onto another account's row opens nothing there.
    common::staff::add_staff(&store, "ola").await;
    db.execute(&format!(
        "UPDATE staff_users SET totp_secret = '{resealed}', totp_enabled_at = 1 WHERE username = 'ola'"
    ))
    .await;
    assert!(matches!(
        staff
            .check_second_factor("ola", &common::staff::totp_code(&secret, 0))
            .await,
        Err(nyhetsbrev::ops::SecondFactorError::NoKey)
    ));
    db.execute(
        "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL WHERE username = 'ola'",
    )
    .await;
    // No key, no enrolment (rather than a secret in clear).
    assert!(matches!(
        nyhetsbrev::ops::Staff::new(store.clone())
            .totp_enrolment("ola")
            .await,
        Err(nyhetsbrev::ops::SecondFactorError::NoKey)
    ));
}
