//! Leaving the list over HTTP: the personal link with its button, RFC 8058 one-click,
//! and coming back. On SQLite and PostgreSQL.

use crate::common;

use common::{TestApp, TestDb, email, new_contact, spawn_app};
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::store::Actor;

on_both_backends!(
    the_link_shows_a_button_and_the_button_unsubscribes,
    one_click_unsubscribes_without_a_page_or_redirect,
    forged_links_change_nothing,
    signed_links_work_without_a_stored_row_and_across_a_key_change,
    someone_who_left_can_subscribe_again,
    leaving_by_link_skips_queued_deliveries_at_once,
);

async fn confirmed_contact(app: &TestApp, address: &str) -> nyhetsbrev::domain::Contact {
    app.store
        .add_contact(
            &new_contact(address, ContactStatus::Confirmed),
            &Actor::parse("test"),
        )
        .await
        .unwrap()
}

/// A confirmed contact and the path of a stored-secret leave link for them (as mailed
/// before links were derived, and on request).
async fn confirmed_contact_with_link(app: &TestApp, address: &str) -> String {
    let contact = confirmed_contact(app, address).await;
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
    // A link that names no issue (mailed before publications, or on request) offers
    // leaving everything, and choosing instead.
    assert!(
        page.contains("value=\"alt\">Meld meg av alt fra KOM</button>")
            && page.contains(&format!("action=\"{path}\""))
            && !page.contains("value=\"dette\""),
        "{page}"
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
        receipt.contains("Du er meldt av")
            && receipt.contains(&format!(
                "href=\"{}\"",
                path.replace("/avmeld/", "/innstillinger/")
            )),
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

/// Issue mail carries a leave link signed with `token_key` (nothing stored for it).
/// After the key is replaced, with the old one as `token_key_previous`, links signed
/// with either work; a link changed in any part, or signed with another key, does not.
async fn signed_links_work_without_a_stored_row_and_across_a_key_change(db: &TestDb) {
    use nyhetsbrev::domain::TokenKey;
    const NEW_KEY: &str = "the-replacement-key-0123456789abcdef01234";
    let mut settings = common::test_settings(db);
    settings.token_key = Some(NEW_KEY.into());
    settings.token_key_previous = Some(common::TEST_TOKEN_KEY.into());
    let app = common::spawn_app_with(db, settings, None).await;
    let mut ids = Vec::new();
    for address in ["gammel@example.org", "ny@example.org", "urort@example.org"] {
        ids.push(confirmed_contact(&app, address).await.id);
    }
    let old_key = TokenKey::parse(common::TEST_TOKEN_KEY).unwrap();
    let new_key = TokenKey::parse(NEW_KEY).unwrap();
    let stranger = TokenKey::parse("a-key-this-service-never-had-0123456789").unwrap();

    // Forged: another contact's number with a valid link's signature, a changed
    // signature, a link signed with a key the service never had.
    let valid = new_key.leave_token(ids[2], common::issue_number(1));
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[0] = ids[0].to_string();
    let other_contact = parts.join(".");
    let last = if valid.ends_with('0') { '1' } else { '0' };
    let flipped = format!("{}{last}", &valid[..valid.len() - 1]);
    for token in [
        other_contact,
        flipped,
        stranger.leave_token(ids[2], common::issue_number(1)),
    ] {
        let path = format!("/avmeld/{token}");
        let page = reqwest::get(format!("{}{path}", app.address))
            .await
            .unwrap();
        assert_eq!(page.status(), 404, "{token}");
        assert_eq!(post(&app, &path, "").await.status(), 404, "{token}");
        assert_eq!(
            post(&app, &path, "List-Unsubscribe=One-Click")
                .await
                .status(),
            404,
            "{token}"
        );
    }
    for address in ["gammel@example.org", "urort@example.org"] {
        assert_eq!(status_of(&app, address).await, ContactStatus::Confirmed);
    }

    // A link from mail sent before the key changed: the page, then the button.
    let old_link = format!(
        "/avmeld/{}",
        old_key.leave_token(ids[0], common::issue_number(1))
    );
    let page = reqwest::get(format!("{}{old_link}", app.address))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("action=\"{old_link}\""))
    );
    assert_eq!(post(&app, &old_link, "").await.status(), 200);
    assert_eq!(
        status_of(&app, "gammel@example.org").await,
        ContactStatus::Unsubscribed
    );
    // A link signed with the new key, by one click.
    let new_link = format!(
        "/avmeld/{}",
        new_key.leave_token(ids[1], common::issue_number(2))
    );
    assert_eq!(
        post(&app, &new_link, "List-Unsubscribe=One-Click")
            .await
            .status(),
        200
    );
    assert_eq!(
        status_of(&app, "ny@example.org").await,
        ContactStatus::Unsubscribed
    );
    assert_eq!(
        status_of(&app, "urort@example.org").await,
        ContactStatus::Confirmed
    );
    // Nothing was stored for any of it.
    assert_eq!(db.count("tokens").await, 0);
}

/// Leaving by link, with the page's button or by one click, skips the contact's queued
/// deliveries of an issue being sent in that same change, before any worker claims
/// them: a stored link leaves the list, a signed one-click leaves the mail's
/// publication.
async fn leaving_by_link_skips_queued_deliveries_at_once(db: &TestDb) {
    let app = spawn_app(db).await;
    let stays = confirmed_contact(&app, "blir@example.org").await.id;
    let mut stored = Vec::new();
    for address in ["knapp@example.org", "ettklikk@example.org"] {
        let id = confirmed_contact(&app, address).await.id;
        let secret = app.store.issue_unsubscribe_token(id).await.unwrap();
        stored.push((id, format!("/avmeld/{}", secret.as_str())));
    }
    let signed = confirmed_contact(&app, "signert@example.org").await.id;
    let issue = common::queue::sending_newsletter(&app.store, "2024-q1").await;

    assert_eq!(post(&app, &stored[0].1, "").await.status(), 200);
    let one_click = "List-Unsubscribe=One-Click";
    assert_eq!(post(&app, &stored[1].1, one_click).await.status(), 200);
    let signed_link = format!("/avmeld/{}", common::test_key().leave_token(signed, issue));
    assert_eq!(post(&app, &signed_link, one_click).await.status(), 200);

    let off = [stored[0].0, stored[1].0, signed];
    common::queue::assert_skipped_at_once(db, issue, &off).await;
    assert_eq!(
        common::queue::claim_all(&app.store, issue).await,
        [stays].into()
    );
    for (id, _) in &stored {
        assert!(common::subscribed_to(&app.store, *id).await.is_empty());
    }
    assert_eq!(
        common::subscribed_to(&app.store, signed).await,
        ["rettsavgjorelser", "tilstandsrapport"]
    );
    assert_eq!(
        status_of(&app, "signert@example.org").await,
        ContactStatus::Confirmed
    );
}
