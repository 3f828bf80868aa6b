//! Staff sessions for the web admin: what a cookie opens, and when it stops opening it.

use crate::common;

use std::time::Duration;

use common::TestDb;
use nyhetsbrev::domain::Timestamp;
use nyhetsbrev::ops::Sessions;
use nyhetsbrev::store::{Actor, Store};

on_both_backends!(
    a_session_opens_for_its_cookie_only_and_the_database_holds_its_hash,
    a_session_ends_after_an_idle_hour_and_after_twelve_hours_in_any_case,
    signing_out_or_a_new_password_ends_sessions,
    the_service_sweeps_sessions_that_ran_out,
);

const IDLE: Duration = Duration::from_secs(60 * 60);

async fn with_account(db: &TestDb) -> (Store, Sessions) {
    let store = db.store().await;
    let hash = nyhetsbrev::auth::hash_password("et langt passord 123").unwrap();
    store
        .set_staff_user("kari", &hash, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let sessions = Sessions::new(store.clone(), IDLE);
    (store, sessions)
}

fn later(minutes: i64) -> Timestamp {
    Timestamp::from_unix_ms(Timestamp::now().unix_ms() + minutes * 60_000)
}

async fn a_session_opens_for_its_cookie_only_and_the_database_holds_its_hash(db: &TestDb) {
    let (_store, sessions) = with_account(db).await;
    let started = sessions.start("kari").await.unwrap();
    let session = sessions
        .check(started.secret.as_str())
        .await
        .unwrap()
        .expect("the cookie opens its session");
    assert_eq!(session.username, "kari");
    assert!(session.csrf_matches(&started.csrf_token));
    assert!(!session.csrf_matches(""));
    assert!(!session.csrf_matches(&started.secret.as_str()[..20]));
    // Another session's secret, a mangled one and garbage open nothing.
    let other = sessions.start("kari").await.unwrap();
    assert_ne!(other.secret.as_str(), started.secret.as_str());
    assert_ne!(other.csrf_token, started.csrf_token);
    let mut mangled = started.secret.as_str().to_owned();
    mangled.replace_range(0..1, if mangled.starts_with('A') { "B" } else { "A" });
    for cookie in [mangled.as_str(), "", "'; DROP TABLE staff_sessions; --"] {
        assert_eq!(sessions.check(cookie).await.unwrap(), None, "{cookie}");
    }
    // A copy of the database signs nobody in: it holds hashes, not the cookies.
    let rows = db.query_strings("SELECT id_hash FROM staff_sessions").await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_ne!(row, started.secret.as_str());
        assert_ne!(row, other.secret.as_str());
    }
    assert!(rows.contains(&started.secret.hash().as_str().to_owned()));
}

async fn a_session_ends_after_an_idle_hour_and_after_twelve_hours_in_any_case(db: &TestDb) {
    let (_store, sessions) = with_account(db).await;
    let idle = sessions.start("kari").await.unwrap();
    let cookie = idle.secret.as_str();
    assert!(
        sessions
            .check_at(cookie, later(59))
            .await
            .unwrap()
            .is_some()
    );
    // Used at 59 minutes: the hour counts from then.
    assert!(
        sessions
            .check_at(cookie, later(118))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(sessions.check_at(cookie, later(180)).await.unwrap(), None);
    // Once run out, it stays ended, even at a time it would have been fine.
    assert_eq!(sessions.check_at(cookie, later(0)).await.unwrap(), None);

    let busy = sessions.start("kari").await.unwrap();
    let cookie = busy.secret.as_str();
    let mut minute = 0;
    while minute <= 12 * 60 - 50 {
        minute += 50;
        let open = sessions.check_at(cookie, later(minute)).await.unwrap();
        assert_eq!(open.is_some(), minute <= 12 * 60, "at {minute} minutes");
    }
    assert_eq!(
        sessions.check_at(cookie, later(12 * 60 + 1)).await.unwrap(),
        None
    );
}

async fn signing_out_or_a_new_password_ends_sessions(db: &TestDb) {
    let (store, sessions) = with_account(db).await;
    let first = sessions.start("kari").await.unwrap();
    let second = sessions.start("kari").await.unwrap();
    sessions.end(first.secret.as_str()).await.unwrap();
    assert_eq!(sessions.check(first.secret.as_str()).await.unwrap(), None);
    assert!(
        sessions
            .check(second.secret.as_str())
            .await
            .unwrap()
            .is_some()
    );
    // A new password signs out whoever knew the old one.
    let hash = nyhetsbrev::auth::hash_password("et nytt langt passord 456").unwrap();
    store
        .set_staff_user("kari", &hash, &Actor::parse("cli:test"))
        .await
        .unwrap();
    assert_eq!(sessions.check(second.secret.as_str()).await.unwrap(), None);
    // Stale sessions are swept; live ones stay.
    let live = sessions.start("kari").await.unwrap();
    assert_eq!(sessions.sweep().await.unwrap(), 0);
    assert!(
        sessions
            .check(live.secret.as_str())
            .await
            .unwrap()
            .is_some()
    );
}

/// `serve` deletes sessions that ran out even when nobody uses them again.
async fn the_service_sweeps_sessions_that_ran_out(db: &TestDb) {
    let (_store, sessions) = with_account(db).await;
    let old = sessions.start("kari").await.unwrap();
    let live = sessions.start("kari").await.unwrap();
    let thirteen_hours_ago = Timestamp::now().unix_ms() - 13 * 3600 * 1000;
    db.execute(&format!(
        "UPDATE staff_sessions SET created_at = {thirteen_hours_ago}, last_seen_at = {thirteen_hours_ago} \
         WHERE id_hash = '{}'",
        old.secret.hash().as_str()
    ))
    .await;
    let _app = common::spawn_app(db).await;
    common::eventually(
        "the old session is swept",
        Duration::from_secs(10),
        async || {
            let left = db.query_strings("SELECT id_hash FROM staff_sessions").await;
            common::ok_if(left == [live.secret.hash().as_str().to_owned()], left)
        },
    )
    .await;
}
