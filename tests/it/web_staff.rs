//! The staff web admin over HTTP, against the real server: sign in and out, the
//! session cookie, the refusals (no session, wrong or missing CSRF token, foreign
//! Origin), writing an issue with every problem shown at its line, and taking it from
//! draft to sent. On SQLite and PostgreSQL.

use crate::common;

use common::staff::{
    STAFF_PASSWORD, StaffClient, add_staff, http, location, multipart, set_cookie, staff_app,
};
use common::{TestApp, TestDb};
use nyhetsbrev::domain::Slug;

on_both_backends!(
    every_admin_page_needs_a_session,
    signing_in_sets_a_strict_cookie_and_signing_out_ends_it,
    failed_logins_are_throttled_per_account_across_addresses,
    changes_without_the_sessions_token_or_from_elsewhere_are_refused,
    an_issue_is_written_with_every_problem_at_its_line,
    hostile_issue_input_is_refused_or_shown_as_text,
    an_issue_goes_from_draft_to_sent_with_a_report,
    the_checklist_names_broken_links_until_they_are_fixed,
    a_planned_send_starts_when_due_and_one_found_too_late_does_not,
    a_time_that_will_not_do_is_refused_at_the_time_field,
    a_second_account_must_approve_the_send,
    the_dashboard_says_when_a_send_waits_for_a_cap,
    an_issue_file_is_uploaded_or_shown_with_its_problems,
    a_word_document_is_uploaded_with_what_was_not_carried_over,
    failed_deliveries_are_sent_again_but_never_to_anyone_who_got_it,
    the_ledger_csv_holds_every_delivery_of_a_large_send,
    an_announcement_is_written_for_its_publication,
    malformed_names_in_staff_urls_get_the_staff_404,
);

const ISSUE_FIELDS: [(&str, &str); 6] = [
    ("slug", "2025-q1"),
    ("subject", "Nyhetsbrev fra KOM, januar–mars 2025"),
    ("period", "januar–mars 2025"),
    ("preheader", "Det viktigste fra KOM dette kvartalet"),
    ("audience", "Til KOMs samarbeidsaktører"),
    ("date", "2025-04-10"),
];

fn with_body(body: &str) -> Vec<(&str, &str)> {
    let mut fields = ISSUE_FIELDS.to_vec();
    fields.push(("body", body));
    fields
}

const GOOD_BODY: &str = "## Verdt å merke seg\r\n\r\n### Ny veileder\r\n\r\nLes [veilederen](https://www.example.org/veileder).\r\n";

async fn source_of(app: &TestApp, slug: &str) -> Option<String> {
    app.store
        .issue(&Slug::parse(slug).unwrap())
        .await
        .unwrap()
        .map(|i| i.source)
}

async fn every_admin_page_needs_a_session(db: &TestDb) {
    let app = staff_app(db).await;
    let http = http();
    for path in [
        "/admin",
        "/admin/issues",
        "/admin/issues/new",
        "/admin/issues/2025-q1",
        "/admin/issues/2025-q1/preview",
        "/admin/issues/2025-q1/preview/mail",
        "/admin/issues/2025-q1/send",
        "/admin/issues/2025-q1/report",
        "/admin/issues/2025-q1/report.json",
        "/admin/issues/2025-q1/report.csv",
    ] {
        let response = http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "GET {path}");
        assert!(location(&response).starts_with("/admin/login"), "{path}");
        assert!(
            response.text().await.unwrap().is_empty(),
            "{path} shows nothing"
        );
    }
    // Where the login page sends one afterwards: only paths of the admin.
    let response = http
        .get(format!("{}/admin/issues", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/admin/login?neste=/admin/issues");
    let login = http
        .get(format!(
            "{}/admin/login?neste=https://evil.example.org/",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("evil.example.org"));
    // A forged, a foreign-looking and an empty cookie open nothing.
    for cookie in [
        "nyhetsbrev_stab=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "nyhetsbrev_stab=' OR 1=1 --",
        "nyhetsbrev_stab=",
        "annen=verdi",
    ] {
        let response = http
            .get(format!("{}/admin", app.address))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{cookie}");
    }
    // A change without a session changes nothing.
    let response = http
        .post(format!("{}/admin/issues/new", app.address))
        .header("origin", &app.address)
        .form(&with_body(GOOD_BODY))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(source_of(&app, "2025-q1").await, None);
}

async fn signing_in_sets_a_strict_cookie_and_signing_out_ends_it(db: &TestDb) {
    let app = staff_app(db).await;
    let http = http();
    let page = http
        .get(format!("{}/admin/login", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("lang=\"nb\"")
            && page.contains("name=\"username\"")
            && page.contains("name=\"password\"")
    );

    let wrong = http
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[("username", "kari"), ("password", "feil passord her")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong).is_none());
    let text = wrong.text().await.unwrap();
    assert!(text.contains("Feil brukernavn eller passord"), "{text}");
    assert!(text.contains("value=\"kari\""), "the name is kept");

    // A login posted from another site is refused before the password is checked.
    let foreign = http
        .post(format!("{}/admin/login", app.address))
        .header("origin", "https://evil.example.org")
        .form(&[("username", "kari"), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(set_cookie(&foreign).is_none());

    let ok = http
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[
            ("username", "kari"),
            ("password", STAFF_PASSWORD),
            ("neste", "/admin/issues"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/admin/issues");
    let (cookie, line) = set_cookie(&ok).unwrap();
    assert_eq!(cookie.len(), 43, "256 random bits");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(line.contains(attribute), "{line}");
    }
    assert!(!line.contains("Secure"), "base_url is http here: {line}");
    // The database holds a hash of the cookie, never the cookie.
    let stored = db.query_strings("SELECT id_hash FROM staff_sessions").await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], cookie);

    let client = StaffClient::log_in(&app.address, "kari").await;
    let dashboard = client.get_ok("/admin").await;
    assert!(dashboard.contains("Innlogget som kari"));
    let out = client.post("/admin/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/admin/login?ut=1");
    assert!(set_cookie(&out).unwrap().1.contains("Max-Age=0"));
    assert_eq!(
        client.get("/admin").await.status(),
        303,
        "the session ended"
    );
}

async fn failed_logins_are_throttled_per_account_across_addresses(db: &TestDb) {
    let mut settings = common::test_settings(db);
    settings.trusted_proxies = vec!["127.0.0.1/32".into()];
    let app = common::staff::staff_app_with(db, settings).await;
    let http = http();
    let attempt = |from: String, password: &'static str| {
        http.post(format!("{}/admin/login", app.address))
            .header("origin", &app.address)
            .header("x-forwarded-for", from)
            .form(&[("username", "kari"), ("password", password)])
            .send()
    };
    // Twenty guesses, two from each of ten addresses: no address reaches its own limit.
    for i in 0..nyhetsbrev::ops::staff::MAX_ACCOUNT_FAILURES {
        let response = attempt(format!("192.0.2.{}", i / 2 + 1), "gjetting gjetting")
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "guess {i}");
    }
    // The account is now refused, unchecked, from a fresh address, even with the right
    // password; the count is in the database, shared by every process.
    let blocked = attempt("198.51.100.7".into(), STAFF_PASSWORD)
        .await
        .unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(set_cookie(&blocked).is_none());
    assert!(blocked.text().await.unwrap().contains("Vent 15 minutter"));
    let counted = db
        .query_strings("SELECT client_key FROM login_attempts WHERE client_key LIKE 'account:%'")
        .await;
    assert_eq!(
        counted.len() as u32,
        nyhetsbrev::ops::staff::MAX_ACCOUNT_FAILURES
    );
    // Another account is not affected.
    add_staff(&app.store, "ola").await;
    let other = http
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .header("x-forwarded-for", "198.51.100.8")
        .form(&[("username", "ola"), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 303);
}

async fn changes_without_the_sessions_token_or_from_elsewhere_are_refused(db: &TestDb) {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    assert_ne!(kari.csrf, ola.csrf, "a token per session");
    let fields = with_body(GOOD_BODY);

    let mut no_token = fields.clone();
    no_token.insert(0, ("csrf", ""));
    let mut others_token = fields.clone();
    others_token.insert(0, ("csrf", &ola.csrf));
    let mut own_token = fields.clone();
    own_token.insert(0, ("csrf", &kari.csrf));
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Form, Option<&str>); 5] = [
        ("no token", &fields, Some(&app.address)),
        ("empty token", &no_token, Some(&app.address)),
        ("another session's token", &others_token, Some(&app.address)),
        (
            "foreign Origin",
            &own_token,
            Some("https://evil.example.org"),
        ),
        ("no Origin or Referer", &own_token, None),
    ];
    for (what, form, origin) in cases {
        let response = kari.post_raw("/admin/issues/new", form, origin).await;
        assert_eq!(response.status(), 403, "{what}");
        let text = response.text().await.unwrap();
        assert!(text.contains("Ingenting ble endret"), "{what}: {text}");
        assert_eq!(source_of(&app, "2025-q1").await, None, "{what}");
    }
    // A Referer from our own pages stands in for a missing Origin.
    let response = kari
        .http
        .post(format!("{}/admin/issues/new", app.address))
        .header("cookie", format!("nyhetsbrev_stab={}", kari.cookie))
        .header("referer", format!("{}/admin/issues/new", app.address))
        .form(&own_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(source_of(&app, "2025-q1").await.is_some());
    // Sign-out needs the token too.
    let out = kari
        .post_raw("/admin/logout", &[("csrf", &ola.csrf)], Some(&app.address))
        .await;
    assert_eq!(out.status(), 403);
    assert_eq!(kari.get("/admin").await.status(), 200, "still signed in");
}

async fn an_issue_is_written_with_every_problem_at_its_line(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let new = kari.get_ok("/admin/issues/new").await;
    assert!(new.contains("name=\"subject\"") && new.contains("<textarea"));
    assert!(!new.contains("slug ="), "staff never see TOML");

    // Three mistakes: an empty subject, a link without https, an empty section.
    let body = "## Verdt å merke seg\r\n\r\n### Ny veileder\r\n\r\nSe [her](www.example.org/veileder).\r\n\r\n## Tom seksjon\r\n";
    let mut fields = with_body(body);
    fields[1] = ("subject", "");
    let response = kari.post("/admin/issues/new", &fields).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("3 feil må rettes"), "{page}");
    assert!(page.contains("Emnet må fylles ut."), "next to its field");
    assert!(
        page.contains(
            "<strong>Linje 5:</strong> Lenken «her» peker til «www.example.org/veileder»"
        ),
        "{page}"
    );
    assert!(
        page.contains("<strong>Linje 7:</strong> Seksjonen «Tom seksjon» er tom"),
        "{page}"
    );
    // What was typed is kept.
    assert!(page.contains("value=\"januar–mars 2025\""));
    assert!(page.contains("Se [her](www.example.org/veileder)."));
    assert_eq!(source_of(&app, "2025-q1").await, None, "nothing stored");

    // Fixed: saved, and the edit page shows the fields again.
    let response = kari.post("/admin/issues/new", &with_body(GOOD_BODY)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1?melding=opprettet"
    );
    let source = source_of(&app, "2025-q1").await.unwrap();
    assert!(source.starts_with("+++\nslug = \"2025-q1\"\n"), "{source}");
    assert!(!source.contains('\r'), "line ends are LF");
    let edit = kari.get_ok("/admin/issues/2025-q1?melding=opprettet").await;
    assert!(edit.contains("Utkastet er opprettet."));
    assert!(edit.contains("value=\"Det viktigste fra KOM dette kvartalet\""));
    assert!(edit.contains("value=\"2025-04-10\""));

    // A second new issue with the same slug does not overwrite the first.
    let mut same = with_body("## A\n### B\nannen tekst\n");
    same[1] = ("subject", "Et annet nyhetsbrev");
    let response = kari.post("/admin/issues/new", &same).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("finnes allerede en utgave med kortnavnet «2025-q1»")
    );
    assert_eq!(source_of(&app, "2025-q1").await.unwrap(), source);

    // Editing keeps the URL's slug whatever the form says.
    let mut edited = with_body("## Verdt å merke seg\n### Ny veileder\nOppdatert tekst.\n");
    edited[0] = ("slug", "noe-annet");
    let response = kari.post("/admin/issues/2025-q1", &edited).await;
    assert_eq!(response.status(), 303);
    assert!(
        source_of(&app, "2025-q1")
            .await
            .unwrap()
            .contains("Oppdatert tekst.")
    );
    assert_eq!(source_of(&app, "noe-annet").await, None);

    // The preview: the mail in a sandboxed frame, the text part, the size against Gmail's.
    let preview = kari.get_ok("/admin/issues/2025-q1/preview").await;
    assert!(preview.contains("sandbox=\"\" src=\"/admin/issues/2025-q1/preview/mail\""));
    assert!(preview.contains("av Gmails grense på 102 KB"));
    assert!(
        preview.contains("Det viktigste fra KOM dette kvartalet"),
        "the preheader"
    );
    assert!(preview.contains("Oppdatert tekst."), "the text part");
    let mail = kari.get("/admin/issues/2025-q1/preview/mail").await;
    assert_eq!(mail.status(), 200);
    let csp = mail.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("sandbox")
            && csp.contains("frame-ancestors 'self'")
            && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(mail.text().await.unwrap().contains("Oppdatert tekst."));
}

async fn hostile_issue_input_is_refused_or_shown_as_text(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    // 10 MB in the text area: refused before it is read, nothing stored.
    let huge = "a".repeat(10 * 1024 * 1024);
    let response = kari.post("/admin/issues/new", &with_body(&huge)).await;
    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ingenting ble lagret")
    );
    assert_eq!(source_of(&app, "2025-q1").await, None);

    // HTML, a javascript: link and a bidirectional override in the body.
    let body = "## A\n### Sak\nHei <script>alert(1)</script>\n\nSe [her](javascript:alert(1)).\n\nVedlegg: \u{202e}fdp.exe\n";
    let response = kari.post("/admin/issues/new", &with_body(body)).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Lenken «her» bruker javascript"), "{page}");
    assert!(
        page.contains(
            "<strong>Linje 7:</strong> Linjen inneholder usynlige tegn som snur skriveretningen"
        ),
        "{page}"
    );
    let mut disguised = with_body(GOOD_BODY);
    disguised[1] = ("subject", "Faktura \u{202e}fdp.exe");
    let subject_page = kari
        .post("/admin/issues/new", &disguised)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        subject_page.contains("Emnet inneholder usynlige tegn"),
        "{subject_page}"
    );
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "typed HTML is escaped on the page"
    );
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "kept, as text"
    );
    assert_eq!(source_of(&app, "2025-q1").await, None);

    // Without the link, the HTML is kept as text, with a note at its line.
    let body = "## A\n### Sak\nHei <script>alert(1)</script>\n";
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(body))
            .await
            .status(),
        303
    );
    let edit = kari.get_ok("/admin/issues/2025-q1").await;
    assert!(edit.contains("Linje 3: HTML vises som tekst"), "{edit}");
    let mail = kari
        .get("/admin/issues/2025-q1/preview/mail")
        .await
        .text()
        .await
        .unwrap();
    assert!(!mail.contains("<script"));

    // Subject with a line break (a header injection) is a problem of that field.
    let mut fields = with_body(GOOD_BODY);
    fields[0] = ("slug", "2025-q2");
    fields[1] = ("subject", "Hei\r\nBcc: x@example.org");
    let page = kari
        .post("/admin/issues/new", &fields)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Emnet må være én linje uten kontrolltegn."),
        "{page}"
    );

    // Slugs in the URL that are not slugs, or name nothing.
    for path in [
        "/admin/issues/finnes-ikke",
        "/admin/issues/..%2F..%2Fetc",
        "/admin/issues/2025-Q1/preview",
        "/admin/issues/finnes-ikke/report",
    ] {
        let response = kari.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.text().await.unwrap().contains("Fant ikke utgaven"));
    }
    let response = kari
        .post("/admin/issues/finnes-ikke", &with_body(GOOD_BODY))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(source_of(&app, "finnes-ikke").await, None);
}

async fn an_issue_goes_from_draft_to_sent_with_a_report(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..3).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );

    let checklist = kari.get_ok("/admin/issues/2025-q1/send").await;
    assert!(checklist.contains("3 kontakter"), "{checklist}");
    assert!(checklist.contains("nyhetsbrev@example.no"), "the From line");
    assert!(checklist.contains("Ingen ennå"), "no test copy yet");

    // A test copy to oneself (the outbox here).
    let response = kari
        .post("/admin/issues/2025-q1/test", &[("to", "kari@example.no")])
        .await;
    assert_eq!(response.status(), 303);
    let checklist = kari.get_ok("/admin/issues/2025-q1/send?melding=test").await;
    assert!(
        checklist.contains("Til kari@example.no, sendt av kari"),
        "{checklist}"
    );
    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    assert!(String::from_utf8_lossy(&mails[0]).contains("[TEST]"));
    let response = kari
        .post("/admin/issues/2025-q1/test", &[("to", "ikke en adresse")])
        .await;
    assert_eq!(response.status(), 422);

    // Confirming with the wrong number starts nothing.
    for typed in ["2", "", "tre", "3000"] {
        let response = kari
            .post("/admin/issues/2025-q1/send", &[("antall", typed)])
            .await;
        assert_eq!(response.status(), 422, "{typed:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("skriv 3 for å sende")
        );
        let issue = app
            .store
            .issue(&Slug::parse("2025-q1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(issue.status.as_str(), "draft", "{typed:?}");
    }
    let response = kari
        .post("/admin/issues/2025-q1/send", &[("antall", "3")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/report?melding=startet"
    );
    let issue = app
        .store
        .issue(&Slug::parse("2025-q1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(issue.status.as_str(), "sending");

    // Sent now, a draft no longer: the form is locked and a save is refused.
    let edit = kari.get_ok("/admin/issues/2025-q1").await;
    assert!(edit.contains("kan ikke endres"));
    let response = kari
        .post("/admin/issues/2025-q1", &with_body("## X\n### Y\nendret\n"))
        .await;
    assert_eq!(response.status(), 422);
    // The one wording of "not a draft", as the upload and the send page say it too.
    let page = response.text().await.unwrap();
    assert!(
        page.contains("sendes eller er sendt allerede, så den kan ikke endres"),
        "{page}"
    );
    assert!(!source_of(&app, "2025-q1").await.unwrap().contains("endret"));

    let report = kari
        .get_ok("/admin/issues/2025-q1/report?melding=startet")
        .await;
    assert!(report.contains("Utsendingen er startet."));
    assert!(report.contains("data-live=\"/admin/issues/2025-q1/report.json\""));
    let live: serde_json::Value =
        serde_json::from_str(&kari.get_ok("/admin/issues/2025-q1/report.json").await).unwrap();
    assert_eq!(live["queued"], "3");
    assert_eq!(live["sending"], true);

    // Pause: no worker claims it; resume.
    assert_eq!(
        kari.post("/admin/issues/2025-q1/pause", &[]).await.status(),
        303
    );
    let report = kari.get_ok("/admin/issues/2025-q1/report").await;
    assert!(report.contains("Fortsett utsendingen"));
    let dashboard = kari.get_ok("/admin").await;
    assert!(dashboard.contains("er satt på pause"), "{dashboard}");
    let claimed = app
        .store
        .claim_deliveries(
            "test",
            100,
            nyhetsbrev::domain::Timestamp::now(),
            None,
            None,
        )
        .await
        .unwrap();
    assert!(claimed.is_empty(), "a paused send is not claimed");
    assert_eq!(
        kari.post("/admin/issues/2025-q1/resume", &[])
            .await
            .status(),
        303
    );

    // A worker sends it; the report and its CSV say who got it.
    let worker = nyhetsbrev::startup::dispatcher(app.store.clone(), &common::test_settings(db))
        .unwrap()
        .with_settings(|s| {
            s.only_issue = Some(issue.id);
            s.until_done = true;
            s.idle_poll = std::time::Duration::from_millis(50);
        });
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let sent = tokio::time::timeout(std::time::Duration::from_secs(60), worker.run(shutdown))
        .await
        .expect("sent within a minute")
        .unwrap();
    assert_eq!(sent.sent, 3);
    app.store.finish_issues().await.unwrap();
    let report = kari.get_ok("/admin/issues/2025-q1/report").await;
    assert!(
        report.contains("Status: <span data-field=\"status\">Sendt</span>"),
        "{report}"
    );
    // Every recipient's address: a GET hands out nothing, a POST is in the log.
    let by_get = kari.get("/admin/issues/2025-q1/report.csv").await;
    assert_eq!(by_get.status(), 303);
    assert_eq!(location(&by_get), "/admin/issues/2025-q1/report");
    assert!(by_get.text().await.unwrap().is_empty());
    assert!(
        report.contains("action=\"/admin/issues/2025-q1/report.csv\""),
        "{report}"
    );
    let csv = kari.post("/admin/issues/2025-q1/report.csv", &[]).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let downloads = app
        .store
        .audit_log(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "issue.export_ledger")
        .map(|e| {
            format!(
                "{}|{}|{}",
                e.actor,
                e.subject.unwrap_or_default(),
                e.detail.unwrap_or_default()
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(downloads, ["web:kari|2025-q1|3 leveringer"]);
    let forged = kari
        .post_raw(
            "/admin/issues/2025-q1/report.csv",
            &[("csrf", "feil")],
            Some(&kari.base),
        )
        .await;
    assert_eq!(
        forged.status(),
        403,
        "no download without the session's token"
    );
    assert!(csv.contains("kontakt00000@example.org,sendt,1,"), "{csv}");
    // Nobody who got it is sent it again.
    assert_eq!(
        kari.post("/admin/issues/2025-q1/retry", &[]).await.status(),
        303
    );
    assert!(
        kari.get_ok("/admin/issues/2025-q1/report?melding=ingen-ny-runde")
            .await
            .contains("Ingen mottakere hadde en midlertidig feil")
    );
}

async fn the_checklist_names_broken_links_until_they_are_fixed(db: &TestDb) {
    let links = common::links::start_link_server().await;
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let body = format!(
        "## Verdt å merke seg\n### Ny veileder\nLes [veilederen]({links}/borte) og [mer]({links}/ok).\n"
    );
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(&body))
            .await
            .status(),
        303
    );
    let checklist = kari.get_ok("/admin/issues/2025-q1/send").await;
    assert!(
        checklist.contains("1 av 2 lenker virker ikke"),
        "{checklist}"
    );
    assert!(
        checklist.contains(&format!(
            "{links}/borte</a> i «Ny veileder»: Siden finnes ikke (404)."
        )),
        "{checklist}"
    );
    // Fixed in the draft: the saved version is checked afresh.
    let fixed = body.replace("/borte", "/veileder");
    assert_eq!(
        kari.post("/admin/issues/2025-q1", &with_body(&fixed))
            .await
            .status(),
        303
    );
    let checklist = kari.get_ok("/admin/issues/2025-q1/send").await;
    assert!(checklist.contains("Alle 2 lenker virker."), "{checklist}");
}

/// `2026-12-03T09:00` for a moment, in Norwegian time (as a datetime-local field sends).
fn oslo_local(at: time::OffsetDateTime) -> String {
    // Norway is UTC+1 in winter and UTC+2 in summer; the page reads either correctly.
    let offset = if (4..=9).contains(&u8::from(at.month())) {
        2
    } else {
        1
    };
    let local = at.to_offset(time::UtcOffset::from_hms(offset, 0, 0).unwrap());
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

async fn status_of(app: &TestApp, slug: &str) -> nyhetsbrev::store::StoredIssue {
    app.store
        .issue(&Slug::parse(slug).unwrap())
        .await
        .unwrap()
        .unwrap()
}

async fn a_planned_send_starts_when_due_and_one_found_too_late_does_not(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..3).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );

    // A time that has passed is refused; a time ahead is planned.
    let past = oslo_local(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let response = kari
        .post(
            "/admin/issues/2025-q1/send",
            &[("antall", "3"), ("naar", "senere"), ("tidspunkt", &past)],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Tidspunktet har allerede vært")
    );
    let later = oslo_local(time::OffsetDateTime::now_utc() + time::Duration::hours(2));
    let response = kari
        .post(
            "/admin/issues/2025-q1/send",
            &[("antall", "3"), ("naar", "senere"), ("tidspunkt", &later)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/send?melding=planlagt"
    );
    let issue = status_of(&app, "2025-q1").await;
    assert_eq!(issue.status.as_str(), "draft");
    let plan = issue.plan.expect("a plan");
    let ahead = plan.at.unix_ms() - nyhetsbrev::domain::Timestamp::now().unix_ms();
    assert!(
        (7_000_000..7_300_000).contains(&ahead),
        "two hours ahead: {ahead} ms"
    );
    let checklist = kari
        .get_ok("/admin/issues/2025-q1/send?melding=planlagt")
        .await;
    assert!(
        checklist.contains("Planlagt ") && checklist.contains("bedt om av kari"),
        "{checklist}"
    );
    // The planned draft is locked.
    let response = kari
        .post("/admin/issues/2025-q1", &with_body("## X\n### Y\nendret\n"))
        .await;
    assert_eq!(response.status(), 422);
    assert!(!source_of(&app, "2025-q1").await.unwrap().contains("endret"));

    // Due now: a running worker starts it within its look-around.
    db.execute(&format!(
        "UPDATE issues SET send_at = {} WHERE slug = '2025-q1'",
        nyhetsbrev::domain::Timestamp::now().unix_ms() - 30_000
    ))
    .await;
    let worker = nyhetsbrev::startup::dispatcher(app.store.clone(), &common::test_settings(db))
        .unwrap()
        .with_settings(|s| {
            s.schedule_poll = std::time::Duration::from_millis(100);
            s.idle_poll = std::time::Duration::from_millis(100);
        });
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(shutdown).await });
    common::eventually(
        "the worker starts the plan",
        std::time::Duration::from_secs(20),
        async || {
            let status = status_of(&app, "2025-q1").await.status;
            common::ok_if(status.as_str() != "draft", status)
        },
    )
    .await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    let issue = status_of(&app, "2025-q1").await;
    assert!(issue.plan.is_none());
    let audit = db
        .query_strings("SELECT actor FROM audit_log WHERE action = 'issue.send'")
        .await;
    assert_eq!(audit, ["worker:plan"]);

    // Found two hours late (the service was down): not started, shown to staff.
    let mut fields = with_body(GOOD_BODY);
    fields[0] = ("slug", "2025-q2");
    assert_eq!(kari.post("/admin/issues/new", &fields).await.status(), 303);
    let response = kari
        .post(
            "/admin/issues/2025-q2/send",
            &[("antall", "3"), ("naar", "senere"), ("tidspunkt", &later)],
        )
        .await;
    assert_eq!(response.status(), 303);
    db.execute(&format!(
        "UPDATE issues SET send_at = {} WHERE slug = '2025-q2'",
        nyhetsbrev::domain::Timestamp::now().unix_ms() - 2 * 3_600_000
    ))
    .await;
    nyhetsbrev::dispatch::schedule::start_due_sends(
        &app.store,
        std::time::Duration::from_secs(3600),
        false,
    )
    .await
    .unwrap();
    let issue = status_of(&app, "2025-q2").await;
    assert_eq!(issue.status.as_str(), "draft", "not started");
    assert!(issue.plan.unwrap().missed_at.is_some());
    let dashboard = kari.get_ok("/admin").await;
    assert!(dashboard.contains("ble ikke startet"), "{dashboard}");
    // Staff cancel the plan; the draft can be changed again.
    assert_eq!(
        kari.post("/admin/issues/2025-q2/cancel-plan", &[])
            .await
            .status(),
        303
    );
    assert!(status_of(&app, "2025-q2").await.plan.is_none());
    assert_eq!(
        kari.post("/admin/issues/2025-q2", &with_body("## X\n### Y\nendret\n"))
            .await
            .status(),
        303
    );
}

/// The send time's refusals ("has passed", "cannot be read") are shown at the time
/// field, not at the number of recipients; a wrong number stays at the number.
async fn a_time_that_will_not_do_is_refused_at_the_time_field(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..3).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );
    let past = oslo_local(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    for (time, words) in [
        (past.as_str(), "Tidspunktet har allerede vært"),
        (
            "i morgen tidlig",
            "Skriv dato og klokkeslett for utsendingen",
        ),
    ] {
        let response = kari
            .post(
                "/admin/issues/2025-q1/send",
                &[("antall", "3"), ("naar", "senere"), ("tidspunkt", time)],
            )
            .await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!(
                "<p class=\"field-error\" id=\"tidspunkt-error\" role=\"alert\">{words}"
            )),
            "{page}"
        );
        assert!(
            page.contains("aria-describedby=\"tidspunkt-error\""),
            "{page}"
        );
        assert!(!page.contains("id=\"antall-error\""), "{page}");
    }
    let response = kari
        .post("/admin/issues/2025-q1/send", &[("antall", "4")])
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"antall-error\" role=\"alert\">Tallet stemmer ikke"),
        "{page}"
    );
    assert!(!page.contains("id=\"tidspunkt-error\""), "{page}");
    assert_eq!(status_of(&app, "2025-q1").await.status.as_str(), "draft");
}

async fn a_second_account_must_approve_the_send(db: &TestDb) {
    let mut settings = common::test_settings(db);
    settings.send_approval = true;
    let app = common::staff::staff_app_with(db, settings).await;
    add_staff(&app.store, "ola").await;
    common::add_confirmed(&app.store, 0..2).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );

    let response = kari
        .post(
            "/admin/issues/2025-q1/send",
            &[("antall", "2"), ("naar", "na")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/send?melding=venter-godkjenning"
    );
    assert_eq!(status_of(&app, "2025-q1").await.status.as_str(), "draft");
    let dashboard = ola.get_ok("/admin").await;
    assert!(
        dashboard.contains("venter på godkjenning fra en annen i staben"),
        "{dashboard}"
    );

    // The one who asked cannot approve.
    let own = kari.get_ok("/admin/issues/2025-q1/send").await;
    assert!(
        !own.contains("Godkjenn utsendingen"),
        "no button for the one who asked"
    );
    let response = kari.post("/admin/issues/2025-q1/approve", &[]).await;
    assert_eq!(response.status(), 403);
    let issue = status_of(&app, "2025-q1").await;
    assert_eq!(issue.status.as_str(), "draft");
    assert_eq!(issue.plan.unwrap().approved_by, None);
    // Nor can the command line go around it.
    let ops = nyhetsbrev::ops::Issues::new(
        app.store.clone(),
        nyhetsbrev::startup::render_context(&common::test_settings(db)),
        Ok(common::test_key()),
    )
    .with_send_approval(true);
    let refused = ops
        .queue_send(
            &Slug::parse("2025-q1").unwrap(),
            &nyhetsbrev::store::Actor::parse("cli:kari"),
        )
        .await;
    assert!(matches!(
        refused,
        Err(nyhetsbrev::ops::IssueError::NeedsApproval)
    ));

    // Another account approves; the send was for now, so it starts.
    let page = ola.get_ok("/admin/issues/2025-q1/send").await;
    assert!(page.contains("Godkjenn utsendingen"));
    let response = ola.post("/admin/issues/2025-q1/approve", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/report?melding=startet"
    );
    assert_eq!(status_of(&app, "2025-q1").await.status.as_str(), "sending");
    let approvals = db
        .query_strings("SELECT actor FROM audit_log WHERE action = 'issue.approve_send'")
        .await;
    assert_eq!(approvals, ["web:ola"]);
    // A second approval finds nothing to approve.
    assert_eq!(
        ola.post("/admin/issues/2025-q1/approve", &[])
            .await
            .status(),
        409
    );
}

async fn the_dashboard_says_when_a_send_waits_for_a_cap(db: &TestDb) {
    let mut settings = common::test_settings(db);
    settings.hourly_cap = Some(2);
    let app = common::staff::staff_app_with(db, settings).await;
    common::add_confirmed(&app.store, 0..3).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );
    assert_eq!(
        kari.post("/admin/issues/2025-q1/send", &[("antall", "3")])
            .await
            .status(),
        303
    );
    let dashboard = kari.get_ok("/admin").await;
    assert!(!dashboard.contains("grensen på"), "under the cap");
    // Two sent in the last hour: the cap of two an hour holds the rest back.
    db.execute(&format!(
        "UPDATE deliveries SET status = 'sent', sent_at = {} WHERE id IN (SELECT id FROM deliveries ORDER BY id LIMIT 2)",
        nyhetsbrev::domain::Timestamp::now().unix_ms()
    ))
    .await;
    let dashboard = kari.get_ok("/admin").await;
    assert!(
        dashboard.contains("grensen på 2 e-poster i timen er nådd"),
        "{dashboard}"
    );
    assert!(
        dashboard.contains("Sendes nå: Nyhetsbrev fra KOM"),
        "the send in progress"
    );
}

/// A multipart form as a browser sends a file input: (name, file name, bytes).
async fn upload(kari: &StaffClient, parts: &[(&str, Option<&str>, &[u8])]) -> reqwest::Response {
    let (content_type, body) = multipart(parts);
    kari.http
        .post(format!("{}/admin/issues/upload", kari.base))
        .header("cookie", format!("nyhetsbrev_stab={}", kari.cookie))
        .header("origin", &kari.base)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn an_issue_file_is_uploaded_or_shown_with_its_problems(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let csrf = kari.csrf.clone();
    let sample = common::SAMPLE_ISSUE.as_bytes();

    // Without the session's token: refused, nothing stored.
    let response = upload(
        &kari,
        &[
            ("csrf", None, b"feil"),
            ("file", Some("2024-q1.md"), sample),
        ],
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(source_of(&app, "2024-q1").await, None);

    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("2024-q1.md"), sample),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/issues/2024-q1?melding=lastet-opp"
    );
    assert_eq!(
        source_of(&app, "2024-q1").await.as_deref(),
        Some(common::SAMPLE_ISSUE)
    );
    let list = kari.get_ok("/admin/issues").await;
    assert!(
        list.contains("2024-q1") && list.contains("Utkast"),
        "{list}"
    );
    let web = kari.get("/admin/issues/2024-q1/preview/web").await;
    assert_eq!(web.status(), 200);
    assert!(
        web.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );

    // A file with mistakes opens in the form, with each problem at its line of the text.
    let broken = common::SAMPLE_ISSUE
        .replace("slug = \"2024-q1\"", "slug = \"2024-q2\"")
        .replacen("](https://", "](ftp://", 1);
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("2024-q2.md"), broken.as_bytes()),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("bruker ftp"), "{page}");
    assert!(
        page.contains("value=\"2024-q2\""),
        "the fields are filled from the file"
    );
    let line_in_file = broken.lines().position(|l| l.contains("](ftp://")).unwrap() + 1;
    let front_lines = broken.split("\n+++\n").next().unwrap().lines().count() + 1;
    assert!(
        page.contains(&format!(
            "<strong>Linje {}:</strong>",
            line_in_file - front_lines
        )),
        "line {} of the text: {page}",
        line_in_file - front_lines
    );
    assert_eq!(source_of(&app, "2024-q2").await, None);

    // Too large for an issue: refused in words.
    let huge = vec![b'a'; 10 * 1024 * 1024];
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("stor.md"), &huge),
        ],
    )
    .await;
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("høyst 1 MiB"));
    // Too large for any upload: refused in words, after the browser has sent it all.
    let huge = vec![b'a'; nyhetsbrev::web::staff::issues::MAX_ISSUE_UPLOAD_BYTES + 1];
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("stor.md"), &huge),
        ],
    )
    .await;
    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("for stor til å tas imot")
    );

    // Not text: refused in words.
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("utgave.md"), b"\xff\xfe\x00"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("ikke tekst i UTF-8")
    );
}

const WORD_FIXTURE: &[u8] = include_bytes!("../fixtures/docx/2024-q1-word.docx");

async fn a_word_document_is_uploaded_with_what_was_not_carried_over(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let csrf = kari.csrf.clone();

    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            (
                "file",
                Some("Nyhetsbrev januar-mars 2024.docx"),
                WORD_FIXTURE,
            ),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/issues/2024-q1?melding=word");
    let page = kari.get_ok("/admin/issues/2024-q1?melding=word").await;
    assert!(
        page.contains("Word-dokumentet er lest og lagret som utkast"),
        "{page}"
    );
    assert!(
        page.contains("Bunntekst «Nyhetsbrev fra KOM, side 1» på forsiden: ikke overført."),
        "{page}"
    );
    assert!(
        page.contains("Dokumentet har ingen ingress: den er laget av de første sakstitlene."),
        "{page}"
    );
    assert!(
        page.contains("### KOM-funksjonen er flyttet midlertidig til JD i 2024"),
        "the Markdown is in the text area: {page}"
    );
    assert!(page.contains("value=\"januar–mars 2024\""), "{page}");
    // Saved again from the form, the draft is the staff member's own: the report goes.
    let source = source_of(&app, "2024-q1").await.unwrap();
    let parts = nyhetsbrev::render::SourceParts::split(&source).unwrap();
    let response = kari
        .post(
            "/admin/issues/2024-q1",
            &[
                ("subject", parts.subject.as_str()),
                ("period", parts.period.as_str()),
                ("preheader", "Det viktigste fra KOM i første kvartal"),
                ("audience", parts.audience.as_str()),
                ("date", "2024-04-15"),
                ("body", parts.body.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = kari.get_ok("/admin/issues/2024-q1").await;
    assert!(!page.contains("Fra Word-dokumentet"), "{page}");

    // A file that is no Word document, or a hostile one: refused in words, nothing stored.
    for (name, bytes, says) in [
        (
            "utgave.docx",
            b"PK\x03\x04\xff\xfe\x00".to_vec(),
            "ikke et Word-dokument (.docx)",
        ),
        (
            "passord.docx",
            [
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
                &"EncryptedPackage"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<u8>>(),
            ]
            .concat(),
            "beskyttet med passord",
        ),
    ] {
        let response = upload(
            &kari,
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some(name), &bytes),
            ],
        )
        .await;
        assert_eq!(response.status(), 422, "{name}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains("Ingenting ble lagret"),
            "{page}"
        );
    }
    assert_eq!(app.store.list_issues().await.unwrap().len(), 1);

    // A document whose front page gives no period: the form, filled, with the problem
    // at the field and what was not carried over.
    let body = format!(
        "{}{}{}{}",
        common::docx::p("Title", &common::docx::r("Nyhetsbrev fra KOM")),
        common::docx::p("Heading1", &common::docx::r("Verdt å merke seg")),
        common::docx::p("Heading2", &common::docx::r("Ny veileder")),
        common::docx::p(
            "",
            r#"<w:r><w:t xml:space="preserve">Fristen er </w:t></w:r><w:del w:id="1" w:author="Kari"><w:r><w:delText>1. mai</w:delText></w:r></w:del><w:ins w:id="2" w:author="Kari"><w:r><w:t>13. mai</w:t></w:r></w:ins>"#
        ),
    );
    let tracked = common::docx::Package::word(&body).bytes();
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("Uten periode.docx"), &tracked),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Perioden må fylles ut."), "{page}");
    assert!(page.contains("Fristen er 1. mai"), "{page}");
    assert!(page.contains("Sporet innsetting «13. mai»"), "{page}");
    assert_eq!(app.store.list_issues().await.unwrap().len(), 1);

    // With the box ticked, tracked changes are read as accepted.
    let response = upload(
        &kari,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("godta-endringer", None, b"ja"),
            ("file", Some("Uten periode.docx"), &tracked),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Fristen er 13. mai"), "{page}");
}

async fn failed_deliveries_are_sent_again_but_never_to_anyone_who_got_it(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..4).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );
    assert_eq!(
        kari.post("/admin/issues/2025-q1/send", &[("antall", "4")])
            .await
            .status(),
        303
    );
    // One sent, one failed for a passing reason, one bounced for good, one skipped.
    let ids = db
        .query_strings("SELECT CAST(id AS TEXT) FROM deliveries ORDER BY id")
        .await;
    let now = nyhetsbrev::domain::Timestamp::now().unix_ms();
    db.execute(&format!(
        "UPDATE deliveries SET status = 'sent', attempts = 1, sent_at = {now} WHERE id = {}",
        ids[0]
    ))
    .await;
    db.execute(&format!("UPDATE deliveries SET status = 'failed', attempts = 8, last_error = '451 4.3.0 prøv igjen' WHERE id = {}", ids[1])).await;
    db.execute(&format!("UPDATE deliveries SET status = 'failed', attempts = 1, bounced_at = {now}, last_error = '550 5.1.1 ukjent' WHERE id = {}", ids[2])).await;
    db.execute(&format!(
        "UPDATE deliveries SET status = 'skipped', last_error = 'the contact unsubscribed' WHERE id = {}",
        ids[3]
    ))
    .await;
    db.execute("UPDATE issues SET status = 'sent'").await;

    let report = kari.get_ok("/admin/issues/2025-q1/report").await;
    assert!(report.contains("Svar fra e-postserveren: 451 4.3.0 prøv igjen"));
    assert!(report.contains("Svar fra e-postserveren: 550 5.1.1 ukjent"));
    assert!(
        report.contains("Kontakten meldte seg av før utgaven gikk ut."),
        "skips with why, in bokmål"
    );
    assert!(report.contains("Send på nytt til dem som fikk en midlertidig feil"));
    let response = kari.post("/admin/issues/2025-q1/retry", &[]).await;
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/report?melding=ny-runde"
    );
    let statuses = db
        .query_strings("SELECT status || ':' || CAST(attempts AS TEXT) FROM deliveries ORDER BY id")
        .await;
    assert_eq!(statuses, ["sent:1", "queued:0", "failed:1", "skipped:0"]);
    assert_eq!(status_of(&app, "2025-q1").await.status.as_str(), "sending");
}

async fn the_ledger_csv_holds_every_delivery_of_a_large_send(db: &TestDb) {
    let app = staff_app(db).await;
    // More contacts than one page of the ledger (5,000), made in one statement.
    db.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5003) \
         INSERT INTO contacts (email, email_key, search_text, status, consent_source, consent_at, created_at, updated_at) \
         SELECT 'k' || CAST(i AS TEXT) || '@example.org', 'k' || CAST(i AS TEXT) || '@example.org', \
         'k' || CAST(i AS TEXT) || '@example.org', 'confirmed', 'import', 0, 0, 0 FROM s",
    )
    .await;
    db.execute("UPDATE contacts SET email = '=HYPERLINK(1)@example.org' WHERE id = 1")
        .await;
    db.execute(
        "INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at) \
         SELECT c.id, p.id, 'import', 0 FROM contacts c CROSS JOIN publications p",
    )
    .await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert_eq!(
        kari.post("/admin/issues/new", &with_body(GOOD_BODY))
            .await
            .status(),
        303
    );
    assert_eq!(
        kari.post("/admin/issues/2025-q1/send", &[("antall", "5003")])
            .await
            .status(),
        303
    );
    let csv = kari.post("/admin/issues/2025-q1/report.csv", &[]).await;
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"utsending-2025-q1.csv\""
    );
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 5004, "a header and every delivery");
    assert_eq!(
        csv.lines()
            .skip(1)
            .filter(|l| l.contains(",i kø,0,"))
            .count(),
        5003
    );
    assert!(
        csv.contains("\n'=HYPERLINK(1)@example.org,"),
        "no formula from an address"
    );
}

/// Issue 18: an issue belongs to a publication chosen in the form; an announcement has
/// its paragraphs and one link, each problem shown at its field.
async fn an_announcement_is_written_for_its_publication(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let new = kari.get_ok("/admin/issues/new").await;
    assert!(
        new.contains("<option value=\"nyhetsbrev\" selected>Nyhetsbrev fra KOM</option>"),
        "the newsletter is the default: {new}"
    );
    assert!(new.contains(
        "<option value=\"rettsavgjorelser\">Oversikt over rettsavgjørelser (kunngjøring)</option>"
    ));
    let fields = |publication: &'static str, link: &'static str| {
        vec![
            ("slug", "2025-04-rettsavgjorelser"),
            ("publication", publication),
            (
                "subject",
                "KOMs oversikt over rettsavgjørelser per 30. april 2025",
            ),
            ("period", "per 30. april 2025"),
            (
                "preheader",
                "Oppdatert oversikt med sammendrag av to fellende lagmannsrettsdommer",
            ),
            ("link", link),
            ("link_text", "Last ned oversikten (PDF)"),
            (
                "body",
                "KOM har oppdatert oversikten over rettsavgjørelser om menneskehandel.\r\n\r\nDenne gangen med sammendrag av to fellende lagmannsrettsdommer.\r\n",
            ),
        ]
    };
    // Without its link; with a link that is not an address; for a publication that does
    // not exist (a changed form): each refused at its field, nothing stored.
    for (publication, link, says) in [
        (
            "rettsavgjorelser",
            "",
            "En kunngjøring har én tydelig lenke",
        ),
        (
            "rettsavgjorelser",
            "oversikt.pdf",
            "er ikke en hel nettadresse",
        ),
        (
            "domstolene",
            "https://example.org/r.pdf",
            "Publikasjonen «domstolene» finnes ikke",
        ),
    ] {
        let response = kari
            .post("/admin/issues/new", &fields(publication, link))
            .await;
        assert_eq!(response.status(), 422, "{publication} {link}");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{says}: {page}");
        assert_eq!(source_of(&app, "2025-04-rettsavgjorelser").await, None);
    }
    let response = kari
        .post(
            "/admin/issues/new",
            &fields(
                "rettsavgjorelser",
                "https://example.org/kom/oversikt-2025-04.pdf",
            ),
        )
        .await;
    assert_eq!(response.status(), 303);
    let source = source_of(&app, "2025-04-rettsavgjorelser").await.unwrap();
    assert!(
        source.contains("publication = \"rettsavgjorelser\"\n"),
        "{source}"
    );
    let edit = kari.get_ok("/admin/issues/2025-04-rettsavgjorelser").await;
    assert!(edit.contains("<option value=\"rettsavgjorelser\" selected>"));
    assert!(edit.contains("value=\"https://example.org/kom/oversikt-2025-04.pdf\""));
    let preview = kari
        .get_ok("/admin/issues/2025-04-rettsavgjorelser/preview")
        .await;
    assert!(
        preview.contains("Oversikt over rettsavgjørelser"),
        "{preview}"
    );
    // Only those who chose the court decisions count as its recipients.
    let publication = app
        .store
        .existing_publication(
            &nyhetsbrev::domain::PublicationSlug::parse("rettsavgjorelser").unwrap(),
        )
        .await
        .unwrap();
    let mut only_news = common::new_contact(
        "nytt@example.org",
        nyhetsbrev::domain::ContactStatus::Confirmed,
    );
    only_news.publications =
        nyhetsbrev::domain::PublicationChoice::parse_list("nyhetsbrev").unwrap();
    app.store
        .add_contact(&only_news, &nyhetsbrev::store::Actor::parse("test"))
        .await
        .unwrap();
    common::add_confirmed(&app.store, 0..2).await;
    assert_eq!(
        app.store
            .count_unqueued(&Slug::parse("2025-04-rettsavgjorelser").unwrap())
            .await
            .unwrap(),
        2,
        "{publication:?}"
    );
}

/// A slug, number or token in a staff URL that cannot be one gets the staff pages' 404
/// for what the URL names, in bokmål (never the framework's English refusal), and
/// changes nothing; a visitor who is not signed in is still sent to sign in.
async fn malformed_names_in_staff_urls_get_the_staff_404(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let issue = "Fant ikke utgaven";
    let message = "Fant ikke e-posten";
    let publication = "Fant ikke publikasjonen";
    let import = "Fant ikke importen";
    for (path, title) in [
        ("/admin/issues/%FF", issue),
        ("/admin/issues/%C3%28/send", issue),
        ("/admin/issues/Stor-Bokstav/report.json", issue),
        ("/admin/issues/-ledende/preview/web", issue),
        ("/admin/inbound/abc", message),
        ("/admin/inbound/0", message),
        ("/admin/inbound/-4", message),
        ("/admin/inbound/1.5", message),
        ("/admin/inbound/99999999999999999999", message),
        ("/admin/inbound/%FF", message),
        ("/admin/inbound/%FF/add-contact", message),
        // Well-formed, but there is no such message: the same page.
        ("/admin/inbound/424242", message),
        ("/admin/publications/to--streker", publication),
        ("/admin/publications/%FF", publication),
        ("/admin/contacts/import/kort", import),
        ("/admin/contacts/import/%FF", import),
    ] {
        let response = kari.get(path).await;
        assert_eq!(response.status(), 404, "GET {path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(title) && page.contains("lang=\"nb\"") && page.contains("(stab)"),
            "GET {path}: {page}"
        );
        assert!(!page.contains("Invalid URL"), "GET {path}: {page}");
    }
    for (path, title) in [
        ("/admin/issues/%FF", issue),
        ("/admin/issues/Stor-Bokstav/pause", issue),
        ("/admin/inbound/abc/handled", message),
        ("/admin/inbound/0/answer", message),
        ("/admin/publications/%FF", publication),
        ("/admin/contacts/import/kort/confirm", import),
        ("/admin/staff/%FF/disable", "Fant ikke kontoen"),
    ] {
        let response = kari.post(path, &[]).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(title) && page.contains("lang=\"nb\""),
            "POST {path}: {page}"
        );
    }
    // Signed out, a malformed URL leads to the sign-in page like any other.
    let response = http()
        .get(format!("{}/admin/inbound/abc", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/admin/login"));
}
