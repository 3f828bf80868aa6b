//! Leaving the list over HTTP: the personal link with its button, RFC 8058 one-click,
//! and coming back. On SQLite and PostgreSQL.

mod common;

use common::{TestApp, TestDb, email, new_contact, spawn_app};
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::store::Actor;

on_both_backends!(
    the_link_shows_a_button_and_the_button_unsubscribes,
    one_click_unsubscribes_without_a_page_or_redirect,
    forged_links_change_nothing,
    someone_who_left_can_subscribe_again,
);

async fn confirmed_contact_with_link(app: &TestApp, address: &str) -> String {
    let contact = app
        .store
        .add_contact(
            &new_contact(address, ContactStatus::Confirmed),
            &Actor::new("test"),
        )
        .await
        .unwrap();
    let secret = app.store.issue_unsubscribe_token(contact.id).await.unwrap();
    format!("/avmeld/{}", secret.as_str())
}

async fn post(app: &TestApp, path: &str, body: &'static str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, address: &str) -> ContactStatus {
    app.store
        .existing_contact(&email(address))
        .await
        .unwrap()
        .status
}

async fn the_link_shows_a_button_and_the_button_unsubscribes(db: &TestDb) {
    let app = spawn_app(db).await;
    let path = confirmed_contact_with_link(&app, "ola@example.org").await;
    let page = reqwest::get(format!("{}{path}", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<button type=\"submit\">Meld meg av</button>")
            && page.contains(&format!("action=\"{path}\""))
    );
    assert_eq!(
        status_of(&app, "ola@example.org").await,
        ContactStatus::Confirmed,
        "a GET changes nothing"
    );

    let response = post(&app, &path, "").await;
    assert_eq!(response.status(), 200);
    let receipt = response.text().await.unwrap();
    assert!(
        receipt.contains("Du er meldt av") && receipt.contains("href=\"/subscribe\""),
        "{receipt}"
    );
    let contact = app
        .store
        .existing_contact(&email("ola@example.org"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Unsubscribed);
    assert!(contact.unsubscribed_at.is_some());

    let twice = post(&app, &path, "").await;
    assert_eq!(twice.status(), 200, "unsubscribing twice is fine");
    assert_eq!(
        status_of(&app, "ola@example.org").await,
        ContactStatus::Unsubscribed
    );
}

async fn one_click_unsubscribes_without_a_page_or_redirect(db: &TestDb) {
    let app = spawn_app(db).await;
    let path = confirmed_contact_with_link(&app, "kari@example.no").await;
    // No cookie, no CSRF token: exactly what a mail client sends.
    let response = post(&app, &path, "List-Unsubscribe=One-Click").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("location").is_none());
    assert_eq!(
        status_of(&app, "kari@example.no").await,
        ContactStatus::Unsubscribed
    );
    assert_eq!(
        post(&app, &path, "List-Unsubscribe=One-Click")
            .await
            .status(),
        200
    );
}

async fn forged_links_change_nothing(db: &TestDb) {
    let app = spawn_app(db).await;
    confirmed_contact_with_link(&app, "per@example.org").await;
    for path in [
        "/avmeld/forfalsket",
        "/avmeld/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let response = post(&app, path, "").await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Lenken virker ikke")
        );
        assert_eq!(
            post(&app, path, "List-Unsubscribe=One-Click")
                .await
                .status(),
            404
        );
    }
    assert_eq!(
        status_of(&app, "per@example.org").await,
        ContactStatus::Confirmed
    );
}

async fn someone_who_left_can_subscribe_again(db: &TestDb) {
    let app = spawn_app(db).await;
    let path = confirmed_contact_with_link(&app, "anne@example.org").await;
    post(&app, &path, "List-Unsubscribe=One-Click").await;
    let response = reqwest::Client::new()
        .post(format!("{}/subscribe", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=anne%40example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, "anne@example.org").await,
        ContactStatus::Unsubscribed,
        "asking is not confirming"
    );
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1);
    let confirm = common::confirmation_path(&mails[0]);
    post(&app, &confirm, "").await;
    assert_eq!(
        status_of(&app, "anne@example.org").await,
        ContactStatus::Confirmed
    );
}
