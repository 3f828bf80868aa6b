//! Subscribing on the web, end to end over HTTP: form → mail through the SMTP sink → link →
//! confirm page → confirmed. On SQLite and PostgreSQL.

use crate::common;

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
    a_relay_that_is_down_answers_alike_and_mails_later,
    parallel_requests_for_one_address_get_one_mail,
    the_hourly_cap_holds_for_all_addresses_together,
    confirmations_count_toward_the_relays_caps,
    per_client_limits_follow_trusted_proxies_and_ipv6_blocks,
    the_form_offers_each_publication_and_takes_what_is_ticked,
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

/// POSTs each form body to /subscribe, all at once; their statuses in order.
async fn post_at_once(app: &TestApp, bodies: Vec<String>) -> Vec<u16> {
    let posts: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let address = app.address.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{address}/subscribe"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for post in posts {
        statuses.push(post.await.unwrap());
    }
    statuses
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
    // The service's own address leads to the form, which links to the archive.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = http.get(format!("{}/", app.address)).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/subscribe");
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
        "<a href=\"/arkiv\">",
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
    // The request is taken in the background: a pending contact, then the mail.
    let mails = app.settled_mails().await;
    let pending = app
        .store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(pending.status, ContactStatus::Pending);
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
    // An address literal reaches no domain's mail server: refused in words (issue 17).
    let (status, literal) = post_form(&app, "/subscribe", &[("email", "kari@[127.0.0.1]")]).await;
    assert_eq!(status, 422);
    assert!(
        literal.contains("id=\"email-error\">Skriv e-postadressen med domenenavn etter @"),
        "{literal}"
    );
    // A bidirectional override in the organisation: refused at its field (issue 17).
    let (status, disguised) = post_form(
        &app,
        "/subscribe",
        &[
            ("email", "kari@example.no"),
            ("organisation", "KOM \u{202e}fdp.exe"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        disguised.contains("id=\"organisation-error\">Teksten har et usynlig tegn"),
        "{disguised}"
    );
    assert!(
        app.settled_mails().await.is_empty(),
        "no mail for invalid input"
    );
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
    let link = confirmation_link(&app.settled_mails().await[0]);
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
    assert_eq!(app.settled_mails().await.len(), 2);
    // Asking again at once sends nothing more.
    post_form(&app, "/subscribe", &[("email", "ny@example.org")]).await;
    assert_eq!(
        app.settled_mails().await.len(),
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
    assert!(app.settled_mails().await.is_empty());
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
    let path = confirmation_link(&app.settled_mails().await[0])
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
    assert_eq!(app.settled_mails().await.len(), 10);
}

async fn without_a_relay_the_mail_goes_to_the_outbox(db: &TestDb) {
    let app = common::spawn_app_with_outbox(db).await;
    let (status, _) = post_form(&app, "/subscribe", &[("email", "ola@example.no")]).await;
    assert_eq!(status, 200);
    let files = app.settled_mails().await;
    assert_eq!(files.len(), 1);
    assert!(confirmation_link(&files[0]).contains("/bekreft/"));
}

/// The answer never waits for the relay (it used to tell, by its time, whether an
/// address was new): with the relay away every request gets the same page at once, and
/// the confirmation goes out when the relay is back.
async fn a_relay_that_is_down_answers_alike_and_mails_later(db: &TestDb) {
    let app = spawn_app(db).await;
    let sink = app.sink.clone().unwrap();
    app.store
        .add_contact(
            &common::new_contact("kjent@example.no", ContactStatus::Confirmed),
            &nyhetsbrev::store::Actor::parse("cli:test"),
        )
        .await
        .unwrap();
    sink.set(|b| b.down = true);
    let (status, new_page) = post_form(&app, "/subscribe", &[("email", "ola@example.no")]).await;
    assert_eq!(status, 200);
    let (status, known_page) =
        post_form(&app, "/subscribe", &[("email", "kjent@example.no")]).await;
    assert_eq!(status, 200);
    assert_eq!(new_page, known_page);
    assert!(new_page.contains("Sjekk e-posten din"), "{new_page}");
    assert!(app.mails().is_empty());
    // Both requests are taken in the background: only the new address waits for a mail.
    common::eventually(
        "one confirmation waits",
        std::time::Duration::from_secs(20),
        async || {
            let queued = app.store.queued_notices().await.unwrap();
            common::ok_if(queued == 1, queued)
        },
    )
    .await;
    assert!(app.mails().is_empty());

    // Back up, and the retry made due as soon as the failed attempt is recorded: the
    // background sender mails it.
    sink.set(|b| b.down = false);
    common::eventually(
        "mailed once the relay is back",
        std::time::Duration::from_secs(20),
        async || {
            db.execute("UPDATE notices SET next_attempt_at = 0 WHERE attempts > 0")
                .await;
            common::ok_if(!app.mails().is_empty(), "no mail yet")
        },
    )
    .await;
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1);
    assert!(confirmation_link(&mails[0]).contains("/bekreft/"));
}

/// Ten requests for one address at once: the cap is checked and written in one
/// statement, so exactly one mail goes out.
async fn parallel_requests_for_one_address_get_one_mail(db: &TestDb) {
    let app = spawn_app(db).await;
    let bodies = vec!["email=offer%40example.org".to_owned(); 10];
    for status in post_at_once(&app, bodies).await {
        assert_eq!(status, 200);
    }
    assert_eq!(app.settled_mails().await.len(), 1);
}

/// Requests for many addresses cannot make the service a mail cannon:
/// `confirmations_per_hour` holds for all of them together. What does not fit waits in
/// the queue for the next hour's room; nothing is dropped.
async fn the_hourly_cap_holds_for_all_addresses_together(db: &TestDb) {
    let mut settings = common::test_settings(db);
    let sink = common::smtp_sink::SmtpSink::start().await;
    settings.smtp_url = Some(sink.url().into());
    settings.confirmations_per_hour = 3;
    let app = common::spawn_app_with(db, settings, Some(sink)).await;
    let bodies = (0..8).map(|i| format!("email=mottaker{i}%40example.org"));
    for status in post_at_once(&app, bodies.collect()).await {
        assert_eq!(status, 200, "the same answer for everyone");
    }
    assert_eq!(app.settled_mails().await.len(), 3);
    let waiting = app
        .store
        .notices_waiting_for_room(app.notice_budgets)
        .await
        .unwrap();
    assert_eq!(
        waiting.web, 5,
        "{waiting:?}: the other five wait for room, none dropped"
    );
}

/// Confirmation mails go through the same relay as the issues, so they count toward
/// its `hourly_cap` (and `daily_cap`) too; what does not fit waits in the queue.
async fn confirmations_count_toward_the_relays_caps(db: &TestDb) {
    let mut settings = common::test_settings(db);
    let sink = common::smtp_sink::SmtpSink::start().await;
    settings.smtp_url = Some(sink.url().into());
    settings.hourly_cap = Some(2);
    let app = common::spawn_app_with(db, settings, Some(sink)).await;
    for i in 0..3 {
        let email = format!("mottaker{i}@example.org");
        let (status, _) = post_form(&app, "/subscribe", &[("email", &email)]).await;
        assert_eq!(status, 200);
    }
    common::eventually(
        "two mails go out",
        std::time::Duration::from_secs(20),
        async || {
            let mailed = app.mails().len();
            common::ok_if(mailed >= 2, mailed)
        },
    )
    .await;
    // The sender looks again every two seconds: the third still waits after that (a
    // fixed wait, the point of it: nothing more may go out).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(app.mails().len(), 2);
    assert_eq!(app.store.queued_notices().await.unwrap(), 1);
    let hour_ago = nyhetsbrev::domain::Timestamp::from_unix_ms(
        nyhetsbrev::domain::Timestamp::now().unix_ms() - 3_600_000,
    );
    assert_eq!(app.store.sent_since(hour_ago).await.unwrap(), 2);
}

/// Behind a proxy named in `trusted_proxies` each forwarded client has its own limit,
/// an IPv6 client by its /64; a forwarded address from anyone else is ignored.
async fn per_client_limits_follow_trusted_proxies_and_ipv6_blocks(db: &TestDb) {
    let post_from = |address: String, forwarded: &'static str, i: usize| async move {
        reqwest::Client::new()
            .post(format!("{address}/subscribe"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", forwarded)
            .body(format!("email=p{i}%40example.org"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let mut settings = common::test_settings(db);
    settings.trusted_proxies = vec!["127.0.0.1".into()];
    let app = common::spawn_app_with(db, settings, None).await;
    // Ten from one /64 (different addresses in it) use up its burst ...
    for i in 0..10 {
        let client = ["2001:db8:1:2::1", "2001:db8:1:2::ffff:2"][i % 2];
        let client: &'static str = client;
        assert_eq!(post_from(app.address.clone(), client, i).await, 200, "{i}");
    }
    assert_eq!(
        post_from(app.address.clone(), "2001:db8:1:2:9::9", 10).await,
        429
    );
    // ... and the next /64, or an IPv4 client, still gets in.
    assert_eq!(
        post_from(app.address.clone(), "2001:db8:1:3::1", 11).await,
        200
    );
    assert_eq!(
        post_from(app.address.clone(), "198.51.100.7", 12).await,
        200
    );

    // Without trusted proxies the header is anyone's to write: it changes nothing.
    let other = TestDb::sqlite().await;
    let app = common::spawn_app_with_outbox(&other).await;
    for i in 0..10 {
        let forged: &'static str = ["198.51.100.1", "198.51.100.2"][i % 2];
        assert_eq!(post_from(app.address.clone(), forged, i).await, 200);
    }
    assert_eq!(
        post_from(app.address.clone(), "198.51.100.3", 10).await,
        429
    );
}

/// Issue 18: the form shows the publications as checkboxes, all ticked; what is ticked
/// is what the confirmation starts; nothing ticked, or a publication that is not
/// offered, is shown again with its message and nothing is queued.
async fn the_form_offers_each_publication_and_takes_what_is_ticked(db: &TestDb) {
    let app = spawn_app(db).await;
    let form = reqwest::get(format!("{}/subscribe", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for slug in ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"] {
        assert!(
            form.contains(&format!("name=\"publikasjon\" value=\"{slug}\" checked")),
            "{slug}: {form}"
        );
    }
    assert!(
        form.contains("<label for=\"p-rettsavgjorelser\">Oversikt over rettsavgjørelser</label>")
    );

    for (fields, says) in [
        (vec![("valg", "1")], "Kryss av for minst én"),
        (
            vec![("valg", "1"), ("publikasjon", "domstolene")],
            "Velg blant publikasjonene",
        ),
        (
            vec![
                ("valg", "1"),
                ("publikasjon", "nyhetsbrev"),
                ("publikasjon", "../x"),
            ],
            "Velg blant publikasjonene",
        ),
    ] {
        let mut all = vec![("email", "ola@example.org")];
        all.extend(fields.iter().copied());
        let (status, page) = post_form(&app, "/subscribe", &all).await;
        assert_eq!(status, 422, "{fields:?}");
        assert!(page.contains(says), "{says}: {page}");
        assert!(
            page.contains("value=\"ola@example.org\""),
            "what was typed is kept"
        );
    }
    assert_eq!(db.count("subscription_requests").await, 0, "nothing queued");

    let (status, _) = post_form(
        &app,
        "/subscribe",
        &[
            ("email", "kari@example.no"),
            ("valg", "1"),
            ("publikasjon", "rettsavgjorelser"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1);
    let path = common::confirmation_path(&mails[0]);
    let (status, _) = post_form(&app, &path, &[]).await;
    assert_eq!(status, 200);
    let contact = app
        .store
        .existing_contact(&email("kari@example.no"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    let gets: Vec<(String, nyhetsbrev::domain::ConsentSource)> = app
        .store
        .subscriptions(contact.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.left_at.is_none())
        .map(|s| (s.publication.to_string(), s.consent.source))
        .collect();
    assert_eq!(
        gets,
        [(
            "rettsavgjorelser".to_owned(),
            nyhetsbrev::domain::ConsentSource::Web
        )]
    );
}
