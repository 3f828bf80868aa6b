//! Double opt-in in the store: pending, confirmation tokens, confirming, on both backends.

use crate::common;

use common::{TestDb, email};
use nyhetsbrev::domain::{ConsentSource, ContactName, ContactStatus, Timestamp, TokenSecret};
use nyhetsbrev::store::{
    Actor, ConfirmOutcome, ContactChanges, NoticeBudgets, NoticeOutcome, Store, SubscribeOutcome,
};
use sqlx::{AnyConnection, Connection};

on_both_backends!(
    a_new_address_is_pending_until_confirmed_once,
    resends_wait_ten_minutes_and_confirmed_addresses_get_nothing,
    expired_and_forged_links_confirm_nothing,
    someone_who_left_can_come_back_by_confirming,
    two_clicks_at_once_confirm_once,
    only_the_hash_of_a_secret_is_stored,
);

const WEEK: i64 = 7 * 24 * 3600 * 1000;
const BUDGETS: NoticeBudgets = NoticeBudgets {
    web: 200,
    mail: 200,
    leave: 200,
};

/// The secret a notice sender would mail for a queued confirmation, its link valid for
/// `valid_ms`.
async fn secret_of(store: &Store, outcome: SubscribeOutcome, valid_ms: i64) -> TokenSecret {
    assert!(
        matches!(outcome, SubscribeOutcome::Queued { .. }),
        "expected a queued confirmation, got {outcome:?}"
    );
    let lease = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000);
    let mut claimed = store
        .claim_notices(10, lease, valid_ms, BUDGETS)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let notice = claimed.pop().unwrap();
    store
        .record_notice(notice.id, &NoticeOutcome::Sent)
        .await
        .unwrap();
    notice.secret
}

async fn a_new_address_is_pending_until_confirmed_once(db: &TestDb) {
    let store = db.store().await;
    let name = ContactName::parse("Kari Nordmann").unwrap();
    let secret = secret_of(
        &store,
        store
            .request_subscription(
                &email("Kari@Example.no"),
                name.as_ref(),
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    let pending = store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(
        (pending.status, pending.consent.source),
        (ContactStatus::Pending, ConsentSource::Web)
    );
    assert_eq!(pending.name, name);

    let confirmed = store
        .confirm_subscription(&secret, &Actor::parse("web:confirm"))
        .await
        .unwrap();
    assert_eq!(
        confirmed,
        ConfirmOutcome::Confirmed(email("Kari@example.no"))
    );
    let contact = store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    assert_eq!(
        contact.consent.note.unwrap().as_str(),
        "bekreftet med lenke i e-post"
    );
    assert!(contact.confirmed_at.is_some());
    assert_eq!(
        store
            .confirm_subscription(&secret, &Actor::parse("web:confirm"))
            .await
            .unwrap(),
        ConfirmOutcome::AlreadyUsed
    );
}

async fn resends_wait_ten_minutes_and_confirmed_addresses_get_nothing(db: &TestDb) {
    let store = db.store().await;
    let secret = secret_of(
        &store,
        store
            .request_subscription(
                &email("ola@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    let again = store
        .request_subscription(
            &email("OLA@example.org"),
            None,
            None,
            &nyhetsbrev::domain::PublicationChoice::All,
            &Actor::parse("web:subscribe"),
        )
        .await
        .unwrap();
    assert!(matches!(again, SubscribeOutcome::RecentlySent), "{again:?}");
    store
        .confirm_subscription(&secret, &Actor::parse("web:confirm"))
        .await
        .unwrap();
    let confirmed = store
        .request_subscription(
            &email("ola@example.org"),
            None,
            None,
            &nyhetsbrev::domain::PublicationChoice::All,
            &Actor::parse("web:subscribe"),
        )
        .await
        .unwrap();
    assert!(
        matches!(confirmed, SubscribeOutcome::AlreadyConfirmed),
        "{confirmed:?}"
    );
}

async fn expired_and_forged_links_confirm_nothing(db: &TestDb) {
    let store = db.store().await;
    let expired = secret_of(
        &store,
        store
            .request_subscription(
                &email("ola@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        -1,
    )
    .await;
    assert_eq!(
        store
            .confirm_subscription(&expired, &Actor::parse("web:confirm"))
            .await
            .unwrap(),
        ConfirmOutcome::Expired
    );
    assert_eq!(
        store
            .confirm_subscription(&TokenSecret::generate(), &Actor::parse("web:confirm"))
            .await
            .unwrap(),
        ConfirmOutcome::Unknown
    );
    let contact = store
        .existing_contact(&email("ola@example.org"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Pending);
}

async fn someone_who_left_can_come_back_by_confirming(db: &TestDb) {
    let store = db.store().await;
    let secret = secret_of(
        &store,
        store
            .request_subscription(
                &email("per@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    store
        .confirm_subscription(&secret, &Actor::parse("web:confirm"))
        .await
        .unwrap();
    let leave = ContactChanges {
        status: Some(ContactStatus::Unsubscribed),
        ..Default::default()
    };
    store
        .update_contact(&email("per@example.org"), &leave, &Actor::parse("test"))
        .await
        .unwrap();
    // The earlier confirmation was over ten minutes ago, as far as this test is concerned.
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    sqlx::query("UPDATE notices SET created_at = created_at - 3600000")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let back = secret_of(
        &store,
        store
            .request_subscription(
                &email("per@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    let still_out = store
        .existing_contact(&email("per@example.org"))
        .await
        .unwrap();
    assert_eq!(
        still_out.status,
        ContactStatus::Unsubscribed,
        "asking is not confirming"
    );
    store
        .confirm_subscription(&back, &Actor::parse("web:confirm"))
        .await
        .unwrap();
    let contact = store
        .existing_contact(&email("per@example.org"))
        .await
        .unwrap();
    assert_eq!(
        (contact.status, contact.unsubscribed_at),
        (ContactStatus::Confirmed, None)
    );
}

async fn two_clicks_at_once_confirm_once(db: &TestDb) {
    let store = db.store().await;
    let secret = secret_of(
        &store,
        store
            .request_subscription(
                &email("ola@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, secret) = (store.clone(), secret.clone());
            tokio::spawn(async move {
                store
                    .confirm_subscription(&secret, &Actor::parse("web:confirm"))
                    .await
            })
        })
        .collect();
    let mut confirmed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(ConfirmOutcome::Confirmed(_)) => confirmed += 1,
            Ok(ConfirmOutcome::AlreadyUsed) => {}
            other => panic!("every click gets a clean answer, got {other:?}"),
        }
    }
    assert_eq!(confirmed, 1);
}

async fn only_the_hash_of_a_secret_is_stored(db: &TestDb) {
    let store = db.store().await;
    let secret = secret_of(
        &store,
        store
            .request_subscription(
                &email("ola@example.org"),
                None,
                None,
                &nyhetsbrev::domain::PublicationChoice::All,
                &Actor::parse("web:subscribe"),
            )
            .await
            .unwrap(),
        WEEK,
    )
    .await;
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM tokens")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(stored, [secret.hash().as_str().to_owned()]);
    assert!(!stored[0].contains(secret.as_str()));
}
