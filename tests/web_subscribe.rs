//! Subscribing on the web, end to end over HTTP: form → mail through the SMTP sink → link →
//! confirm page → confirmed. On SQLite and PostgreSQL.

mod common;

use common::{TestApp, TestDb, email, spawn_app};
use mail_parser::MessageParser;
use nyhetsbrev::domain::ContactStatus;

on_both_backends!(
    subscribe_confirm_by_link_and_button,
    invalid_input_is_shown_again_with_a_message_per_field,
    known_and_unknown_addresses_get_the_same_answer,
    the_honeypot_catches_bots_quietly,
    forged_and_used_links_get_a_clear_page,
    floods_from_one_client_are_held_back,
    without_a_relay_the_mail_goes_to_the_outbox,
    a_relay_that_is_down_gets_a_clear_page_and_asking_again_works,
);

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded(fields))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn serde_urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The confirmation link in a captured mail, checked as the recipient would see it.
fn confirmation_link(raw: &[u8]) -> String {
    let message = MessageParser::default()
        .parse(raw)
        .expect("the mail parses");
    assert_eq!(
        message.subject(),
        Some("Bekreft påmeldingen til KOMs kontaktliste")
    );
    assert!(message.body_html(0).unwrap().contains("lang=\"nb\""));
    format!(
        "https://nyhetsbrev.example.org{}",
        common::confirmation_path(raw)
    )
}

async fn subscribe_confirm_by_link_and_button(db: &TestDb) {
    let app = spawn_app(db).await;
    let form = reqwest::get(format!("{}/subscribe", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for field in [
        "name=\"email\"",
        "name=\"name\"",
        "name=\"organisation\"",
        "<label for=\"email\">",
    ] {
        assert!(form.contains(field), "{field}");
    }
    let (status, page) = post_form(
        &app,
        "/subscribe",
        &[
            ("email", "kari@example.no"),
            ("name", "Kari Ødegård"),
            ("organisation", "Bufdir"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Sjekk e-posten din"));
    let pending = app
        .store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(pending.status, ContactStatus::Pending);

    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    let envelope = &app.sink.as_ref().unwrap().received()[0];
    assert_eq!(envelope.mail_from, "nyhetsbrev@example.no");
    assert_eq!(envelope.rcpt_to, ["kari@example.no"]);
    let link = confirmation_link(&mails[0]);
    let path = link.trim_start_matches("https://nyhetsbrev.example.org");

    // A GET (as a link scanner would do) shows a button and changes nothing.
    let page = reqwest::get(format!("{}{path}", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<button type=\"submit\">Bekreft</button>")
            && page.contains(&format!("action=\"{path}\""))
    );
    assert_eq!(
        app.store
            .existing_contact(&email("kari@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Pending
    );

    let (status, receipt) = post_form(&app, path, &[]).await;
    assert_eq!(status, 200);
    assert!(
        receipt.contains("Du står nå på KOMs kontaktliste"),
        "{receipt}"
    );
    assert_eq!(
        app.store
            .existing_contact(&email("kari@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Confirmed
    );
}

async fn invalid_input_is_shown_again_with_a_message_per_field(db: &TestDb) {
    let app = spawn_app(db).await;
    let long = "x".repeat(201);
    let (status, page) = post_form(
        &app,
        "/subscribe",
        &[
            ("email", "kari@example"),
            ("name", "<script>alert('x')</script>"),
            ("organisation", &long),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("id=\"email-error\">Domenet etter @ ser ufullstendig ut"),
        "{page}"
    );
    assert!(
        page.contains("id=\"organisation-error\">Teksten er for lang"),
        "{page}"
    );
    assert!(
        !page.contains("id=\"name-error\""),
        "a valid name has no error"
    );
    assert!(page.contains("value=\"kari@example\""), "values are kept");
    assert!(!page.contains("<script>alert"), "input is rendered inert");
    assert!(
        page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"),
        "shown escaped"
    );
    assert!(page.contains("aria-describedby=\"email-error\""));
    let (_, injected) = post_form(
        &app,
        "/subscribe",
        &[("email", "x@example.no\r\nBcc: z@example.org")],
    )
    .await;
    assert!(injected.contains(
        "id=\"email-error\">E-postadressen kan ikke inneholde mellomrom eller linjeskift."
    ));
    assert!(app.mails().is_empty(), "no mail for invalid input");
    assert!(
        app.store
            .contact(&email("x@example.no"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn known_and_unknown_addresses_get_the_same_answer(db: &TestDb) {
    let app = spawn_app(db).await;
    let (_, first) = post_form(&app, "/subscribe", &[("email", "ola@example.org")]).await;
    let link = confirmation_link(&app.mails()[0]);
    post_form(
        &app,
        link.trim_start_matches("https://nyhetsbrev.example.org"),
        &[],
    )
    .await;

    let (known_status, known) =
        post_form(&app, "/subscribe", &[("email", "OLA@example.org")]).await;
    let (unknown_status, unknown) =
        post_form(&app, "/subscribe", &[("email", "ny@example.org")]).await;
    assert_eq!((known_status, unknown_status), (200, 200));
    assert_eq!(known, unknown, "the page never tells who is on the list");
    assert_eq!(known, first);
    // The confirmed address got no new mail; the new one did.
    assert_eq!(app.mails().len(), 2);
    // Asking again at once sends nothing more.
    post_form(&app, "/subscribe", &[("email", "ny@example.org")]).await;
    assert_eq!(
        app.mails().len(),
        2,
        "at most one confirmation per ten minutes"
    );
}

async fn the_honeypot_catches_bots_quietly(db: &TestDb) {
    let app = spawn_app(db).await;
    let (status, page) = post_form(
        &app,
        "/subscribe",
        &[
            ("email", "bot@example.org"),
            ("nettside", "http://spam.test"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Sjekk e-posten din"));
    assert!(app.mails().is_empty());
    assert!(
        app.store
            .contact(&email("bot@example.org"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn forged_and_used_links_get_a_clear_page(db: &TestDb) {
    let app = spawn_app(db).await;
    for path in [
        "/bekreft/forfalsket",
        "/bekreft/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, page) = post_form(&app, path, &[]).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            page.contains("Lenken virker ikke") && page.contains("href=\"/subscribe\""),
            "{page}"
        );
    }
    post_form(&app, "/subscribe", &[("email", "ola@example.org")]).await;
    let path = confirmation_link(&app.mails()[0])
        .trim_start_matches("https://nyhetsbrev.example.org")
        .to_owned();
    post_form(&app, &path, &[]).await;
    let (status, page) = post_form(&app, &path, &[]).await;
    assert_eq!(status, 200);
    assert!(page.contains("Allerede bekreftet"));
}

async fn floods_from_one_client_are_held_back(db: &TestDb) {
    let app = spawn_app(db).await;
    for i in 0..10 {
        let (status, _) = post_form(
            &app,
            "/subscribe",
            &[("email", &format!("p{i}@example.org"))],
        )
        .await;
        assert_eq!(status, 200, "request {i} is within the burst");
    }
    let response = reqwest::Client::new()
        .post(format!("{}/subscribe", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=flood%40example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert!(response.text().await.unwrap().contains("For mange forsøk"));
    assert!(
        app.store
            .contact(&email("flood@example.org"))
            .await
            .unwrap()
            .is_none(),
        "nothing written when held back"
    );
    assert_eq!(app.mails().len(), 10);
}

async fn without_a_relay_the_mail_goes_to_the_outbox(db: &TestDb) {
    let app = common::spawn_app_with_outbox(db).await;
    let (status, _) = post_form(&app, "/subscribe", &[("email", "ola@example.no")]).await;
    assert_eq!(status, 200);
    let files = common::outbox_messages(&app.outbox);
    assert_eq!(files.len(), 1);
    assert!(confirmation_link(&files[0]).contains("/bekreft/"));
}

async fn a_relay_that_is_down_gets_a_clear_page_and_asking_again_works(db: &TestDb) {
    let app = spawn_app(db).await;
    let sink = app.sink.clone().unwrap();
    sink.set(|b| b.down = true);
    let (status, page) = post_form(&app, "/subscribe", &[("email", "ola@example.no")]).await;
    assert_eq!(status, 503);
    assert!(page.contains("Vi fikk ikke sendt e-posten"), "{page}");
    assert!(page.contains("lang=\"nb\""));

    // Back up: asking again at once sends the mail (the failed one did not count).
    sink.set(|b| b.down = false);
    let (status, _) = post_form(&app, "/subscribe", &[("email", "ola@example.no")]).await;
    assert_eq!(status, 200);
    assert_eq!(app.mails().len(), 1);
    assert!(confirmation_link(&app.mails()[0]).contains("/bekreft/"));
}
