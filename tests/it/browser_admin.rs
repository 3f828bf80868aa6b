//! The quarterly dispatch in a real browser (headless Chromium through chromedriver):
//! sign in, write an issue with a mistake, see it at its line, fix it, preview, send a
//! test copy to oneself, fix a broken link the check found, send to 200 contacts, watch
//! the counts reach done, download the report. axe-core checks every staff page (no
//! violation of impact serious or critical); screenshots go to target/screenshots/.

use crate::common;

use std::time::Duration;

use common::browser::{
    assert_accessible, axe_script, browser, click, fill, screenshot, sign_in_as,
    start_chromedriver, text_of, wait_for_heading, wait_for_text,
};
use common::staff::{STAFF_PASSWORD, add_staff, totp_code};
use common::{TestDb, add_confirmed};
use fantoccini::{Client, Locator};

/// Screenshot, then axe-core.
async fn check_page(client: &Client, axe: &str, name: &str) {
    screenshot(client, name).await;
    let rules = assert_accessible(client, axe, name).await;
    assert!(rules > 20, "{name}: axe ran its rules ({rules})");
}

/// Waits until the page has loaded, its frames included (a frame holds up its page's
/// load event until it has loaded itself).
async fn wait_for_load(client: &Client) {
    common::eventually(
        "the page and its frames load",
        Duration::from_secs(10),
        async || {
            let state = client
                .execute("return document.readyState", vec![])
                .await
                .map_err(|e| e.to_string())?;
            common::ok_if(state == "complete", state)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarterly_dispatch_in_the_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let links = common::links::start_link_server().await;
    let db = TestDb::sqlite().await;
    let settings = common::test_settings(&db);
    let app = common::spawn_app_at_own_address(&db, settings.clone(), None).await;
    add_staff(&app.store, "kari@example.no").await;
    add_confirmed(&app.store, 0..200).await;
    // A worker beside the service, as `serve` runs one.
    let worker = nyhetsbrev::startup::dispatcher(app.store.clone(), &settings)
        .unwrap()
        .with_settings(|s| s.idle_poll = Duration::from_millis(100));
    let (_stop_worker, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(async move { worker.run(shutdown).await });

    let client = browser(&webdriver).await;

    // Signing in.
    client
        .goto(&format!("{}/admin", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Logg inn").await;
    check_page(&client, &axe, "admin-01-login").await;
    fill(&client, "username", "kari@example.no").await;
    fill(&client, "password", STAFF_PASSWORD).await;
    click(&client, "main button[type=submit]").await;
    wait_for_heading(&client, "Oversikt").await;
    check_page(&client, &axe, "admin-02-dashboard-empty").await;

    // Writing the issue, with a mistake on line 5 of the text.
    click(&client, "nav a[href='/admin/issues/new']").await;
    wait_for_heading(&client, "Ny utgave").await;
    check_page(&client, &axe, "admin-03-new-issue").await;
    fill(&client, "slug", "2025-q1").await;
    fill(&client, "subject", "Nyhetsbrev fra KOM, januar–mars 2025").await;
    fill(&client, "period", "januar–mars 2025").await;
    fill(
        &client,
        "preheader",
        "Det viktigste fra KOM dette kvartalet",
    )
    .await;
    fill(&client, "audience", "Til KOMs samarbeidsaktører").await;
    let body = format!(
        "## Verdt å merke seg\n\n### Ny veileder\n\nLes [veilederen](www.example.org/veileder) og [rapporten]({links}/borte).\n\n### Kurs\n\nPåmelding [her]({links}/ok).\n"
    );
    fill(&client, "body", &body).await;
    click(&client, "form.issue-form button[type=submit]").await;
    wait_for_text(&client, ".error-summary h2", "1 feil må rettes", 10).await;
    let problems = text_of(&client, ".line-problems").await;
    assert!(
        problems.contains("Linje 5:") && problems.contains("www.example.org/veileder"),
        "{problems}"
    );
    let kept = client
        .find(Locator::Id("body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(body.as_str()),
        "what was typed is kept"
    );
    check_page(&client, &axe, "admin-04-issue-with-a-mistake").await;

    fill(
        &client,
        "body",
        &body.replace("www.example.org/veileder", &format!("{links}/veileder")),
    )
    .await;
    click(&client, "form.issue-form button[type=submit]").await;
    wait_for_heading(&client, "Utgave 2025-q1").await;
    wait_for_text(&client, ".notice", "Utkastet er opprettet", 5).await;
    check_page(&client, &axe, "admin-05-issue-saved").await;

    // The preview: the mail at desktop and phone width, the text part, the web version.
    click(&client, "main a[href='/admin/issues/2025-q1/preview']").await;
    wait_for_heading(&client, "Forhåndsvisning av 2025-q1").await;
    let frames = client
        .find_all(Locator::Css("iframe[sandbox]"))
        .await
        .unwrap();
    assert_eq!(frames.len(), 3);
    wait_for_load(&client).await;
    check_page(&client, &axe, "admin-06-preview").await;

    // Before sending: a test copy to oneself, and the link the check found broken.
    client
        .goto(&format!("{}/admin/issues/2025-q1/send", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Før du sender 2025-q1").await;
    let broken = text_of(&client, ".broken-links").await;
    assert!(
        broken.contains("/borte") && broken.contains("Ny veileder") && broken.contains("404"),
        "{broken}"
    );
    check_page(&client, &axe, "admin-07-checklist-broken-link").await;
    let to = client
        .find(Locator::Id("to"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(to.as_deref(), Some("kari@example.no"), "a test to me");
    click(&client, "form[action$='/test'] button").await;
    wait_for_text(&client, ".notice", "Testkopien er sendt", 10).await;
    assert!(
        text_of(&client, "dl.checklist")
            .await
            .contains("Til kari@example.no, sendt av kari@example.no")
    );
    assert_eq!(app.mails().len(), 1, "the test copy is in the outbox");

    client
        .goto(&format!("{}/admin/issues/2025-q1", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Utgave 2025-q1").await;
    let current = client
        .find(Locator::Id("body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    fill(&client, "body", &current.replace("/borte", "/ok")).await;
    click(&client, "form.issue-form button[type=submit]").await;
    wait_for_text(&client, ".notice", "Utkastet er lagret", 5).await;
    client
        .goto(&format!("{}/admin/issues/2025-q1/send", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Før du sender 2025-q1").await;
    let checklist = text_of(&client, "dl.checklist").await;
    assert!(checklist.contains("Alle 2 lenker virker."), "{checklist}");
    check_page(&client, &axe, "admin-08-checklist-ready").await;

    // Confirm with the number of recipients, then follow the send to the end.
    fill(&client, "antall", "200").await;
    click(&client, "form[action$='/send'] button").await;
    wait_for_heading(&client, "Utsending av 2025-q1").await;
    check_page(&client, &axe, "admin-09-report-sending").await;
    // The page's own script updates the counts and reloads when the send is done.
    wait_for_text(&client, "[data-field=status]", "Sendt", 60).await;
    wait_for_text(&client, "dd[data-field=sent]", "200", 5).await;
    check_page(&client, &axe, "admin-10-report-done").await;

    // The report as a spreadsheet, fetched as the browser downloads it.
    let csv = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const form = document.querySelector('form[action$=\"report.csv\"]');\
             fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) })\
             .then(r => r.text()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    assert_eq!(csv.lines().count(), 201, "a header and 200 deliveries");
    assert_eq!(
        csv.lines()
            .skip(1)
            .filter(|l| l.contains(",sendt,"))
            .count(),
        200
    );

    // The issue as a recipient's mail client shows it (the first mail is the test copy).
    let mails = app.mails();
    assert_eq!(mails.len(), 201);
    common::browser::show_mail(&client, &mails[1], "mail-issue", "Nyhetsbrev fra KOM").await;

    client
        .goto(&format!("{}/admin", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Oversikt").await;
    check_page(&client, &axe, "admin-11-dashboard").await;
    client
        .goto(&format!("{}/admin/issues", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Utgaver").await;
    check_page(&client, &axe, "admin-12-issues").await;

    // The next issue, written in Word: uploaded, then read with what was not carried
    // over.
    client
        .goto(&format!("{}/admin/issues/new", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Ny utgave").await;
    let word = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docx/2024-q1-word.docx"
    );
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(word)
        .await
        .unwrap();
    click(&client, "form[action='/admin/issues/upload'] button").await;
    wait_for_heading(&client, "Utgave 2024-q1").await;
    wait_for_text(&client, ".notice", "Word-dokumentet er lest", 5).await;
    let report = text_of(&client, ".word-report").await;
    assert!(
        report.contains("Bunntekst «Nyhetsbrev fra KOM, side 1» på forsiden: ikke overført."),
        "{report}"
    );
    check_page(&client, &axe, "admin-12b-issue-from-word").await;

    // Publications (issue 18): the list, a refused addition, a publication's page.
    client
        .goto(&format!("{}/admin/publications", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Publikasjoner").await;
    check_page(&client, &axe, "admin-12c-publications").await;
    fill(&client, "slug", "Års-rapport").await;
    fill(&client, "name", "KOMs årsrapport").await;
    fill(&client, "description", "Én gang i året.").await;
    click(&client, "form[action='/admin/publications'] button").await;
    wait_for_text(&client, "#slug-error", "Kortnavnet «Års-rapport»", 5).await;
    check_page(&client, &axe, "admin-12d-publication-refused").await;
    client
        .goto(&format!(
            "{}/admin/publications/rettsavgjorelser",
            app.address
        ))
        .await
        .unwrap();
    wait_for_heading(&client, "Oversikt over rettsavgjørelser").await;
    check_page(&client, &axe, "admin-12e-publication").await;
    // Signing out.
    click(&client, "form.logout button").await;
    wait_for_heading(&client, "Logg inn").await;
    check_page(&client, &axe, "admin-13-signed-out").await;
    client.close().await.unwrap();
}

/// A privacy request in the browser: find the person, read their consent and history,
/// look at the mail they sent, hand them their data, erase them; add a contact with a
/// mistake first; read the log. axe-core on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_request_in_the_browser() {
    use nyhetsbrev::domain::{ContactName, ContactStatus, InboundKind, Organisation};
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = common::staff::staff_app(&db).await;
    add_confirmed(&app.store, 0..60).await;
    let actor = nyhetsbrev::store::Actor::parse("cli:test");
    let mut person = common::new_contact("per.andersen@example.no", ContactStatus::Confirmed);
    person.name = ContactName::parse("Per Andersen").unwrap();
    person.organisation = Organisation::parse("Øst politidistrikt").unwrap();
    app.store.add_contact(&person, &actor).await.unwrap();
    let id = app
        .store
        .contact(&common::email("per.andersen@example.no"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &actor).await.unwrap();
    let raw = b"From: Per Andersen <per.andersen@example.no>\r\nSubject: Sp\xc3\xb8rsm\xc3\xa5l\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hva har dere lagret om meg?</p><img src=\"https://tracker.example.org/p.png\">\r\n";
    let message = app
        .store
        .record_inbound(&nyhetsbrev::store::NewInbound {
            channel: "api",
            raw,
            raw_sha256: "bb",
            from_address: Some("per.andersen@example.no"),
            subject: Some("Spørsmål"),
            message_id: Some("<q@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(id),
            delivery_id: None,
        })
        .await
        .unwrap();

    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;

    // Importing a file with bad rows: the check first, then the import.
    click(&client, "nav a[href='/admin/contacts']").await;
    wait_for_heading(&client, "Kontakter").await;
    check_page(&client, &axe, "contacts-01-list").await;
    click(&client, "a[href='/admin/contacts/import']").await;
    wait_for_heading(&client, "Importer kontakter fra en fil").await;
    check_page(&client, &axe, "contacts-01a-import-form").await;
    let csv = db.dir().join("kontakter.csv");
    std::fs::write(
        &csv,
        "email,name,organisation\nny1@example.no,Ny En,UDI\nikke-en-adresse,Feil,UDI\nny2@example.no,Ny To,UDI\n",
    )
    .unwrap();
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, "main", "Filen er sjekket", 20).await;
    assert!(
        text_of(&client, "main table")
            .await
            .contains("e-postadressen mangler @")
    );
    check_page(&client, &axe, "contacts-01b-import-checked").await;
    click(&client, "form[action$='/confirm'] button").await;
    wait_for_text(&client, "main", "Importen er ferdig", 20).await;
    check_page(&client, &axe, "contacts-01c-imported").await;
    assert!(
        app.store
            .contact(&common::email("ny2@example.no"))
            .await
            .unwrap()
            .is_some()
    );

    // Adding someone, with a mistake first.
    click(&client, "nav a[href='/admin/contacts']").await;
    wait_for_heading(&client, "Kontakter").await;
    click(&client, "a[href='/admin/contacts/new']").await;
    wait_for_heading(&client, "Legg til kontakt").await;
    check_page(&client, &axe, "contacts-02-new").await;
    fill(&client, "email", "liv.berg@example").await;
    fill(&client, "note", "e-post 12.03.2025").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".error-summary", "gyldig e-postadresse", 10).await;
    check_page(&client, &axe, "contacts-03-new-with-problem").await;
    fill(&client, "email", "liv.berg@example.no").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "Kontakten er lagt til.", 10).await;
    check_page(&client, &axe, "contacts-04-added").await;

    // Finding the person by part of their name.
    click(&client, "nav a[href='/admin/contacts']").await;
    wait_for_heading(&client, "Kontakter").await;
    fill(&client, "q", "ndersen").await;
    click(&client, "form.search button").await;
    wait_for_text(&client, "main", "1 treff.", 10).await;
    check_page(&client, &axe, "contacts-05-search").await;
    click(&client, &format!("a[href='/admin/contacts/{id}']")).await;
    wait_for_heading(&client, "per.andersen@example.no").await;
    let page = text_of(&client, "main").await;
    assert!(
        page.contains("lagt inn av staben") && page.contains("i kø"),
        "{page}"
    );
    check_page(&client, &axe, "contacts-06-contact").await;

    // The mail they sent, as text.
    click(&client, &format!("a[href='/admin/inbound/{message}']")).await;
    wait_for_heading(&client, "E-post: Spørsmål").await;
    assert!(
        text_of(&client, "pre")
            .await
            .contains("Hva har dere lagret om meg?")
    );
    check_page(&client, &axe, "contacts-07-mail").await;
    client.back().await.unwrap();
    wait_for_heading(&client, "per.andersen@example.no").await;

    // Their data, as a readable page.
    click(
        &client,
        "form[action$='/innsyn'] input[value=html] ~ button",
    )
    .await;
    wait_for_heading(&client, "Dette har vi lagret om deg").await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Hva har dere lagret om meg?")
    );
    check_page(&client, &axe, "contacts-08-personal-data").await;
    client.back().await.unwrap();
    wait_for_heading(&client, "per.andersen@example.no").await;

    // Erasing them, with the confirmation.
    click(&client, &format!("a[href='/admin/contacts/{id}/remove']")).await;
    wait_for_heading(&client, "Slett per.andersen@example.no for godt?").await;
    check_page(&client, &axe, "contacts-09-remove").await;
    click(&client, "input[name=confirm]").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "er slettet", 10).await;
    assert!(
        app.store
            .contact(&common::email("per.andersen@example.no"))
            .await
            .unwrap()
            .is_none()
    );

    // A later import that has the erased person in it skips the row, and says why.
    click(&client, "nav a[href='/admin/contacts']").await;
    wait_for_heading(&client, "Kontakter").await;
    click(&client, "a[href='/admin/contacts/import']").await;
    wait_for_heading(&client, "Importer kontakter fra en fil").await;
    let old_list = db.dir().join("gammel-liste.csv");
    std::fs::write(
        &old_list,
        "email,name\nPer.Andersen@example.no,Per Andersen\nny3@example.no,Ny Tre\n",
    )
    .unwrap();
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(old_list.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, "main", "Filen er sjekket", 20).await;
    let checked = text_of(&client, "main table").await;
    assert!(
        checked.contains("tidligere bedt om å bli slettet") && checked.contains("Per.Andersen"),
        "{checked}"
    );
    check_page(&client, &axe, "contacts-09a-import-skips-erased").await;

    // Adding the person again by hand is allowed, with a warning.
    click(&client, "nav a[href='/admin/contacts']").await;
    wait_for_heading(&client, "Kontakter").await;
    click(&client, "a[href='/admin/contacts/new']").await;
    wait_for_heading(&client, "Legg til kontakt").await;
    fill(&client, "email", "per.andersen@example.no").await;
    fill(
        &client,
        "note",
        "ba selv om å komme tilbake, e-post 02.12.2026",
    )
    .await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "slettet tidligere fordi personen", 10).await;
    check_page(&client, &axe, "contacts-09b-added-after-erasure").await;

    // A request kept for staff: read it, and add its sender as a contact.
    let asking = app
        .store
        .record_inbound(&nyhetsbrev::store::NewInbound {
            channel: "api",
            raw: b"From: Siri Dahl <siri@example.no>\r\nSubject: Nyhetsbrev\r\n\r\nKan jeg f\xc3\xa5 nyhetsbrevet?\r\n",
            raw_sha256: "cc",
            from_address: Some("siri@example.no"),
            subject: Some("Nyhetsbrev"),
            message_id: Some("<siri-1@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: None,
            delivery_id: None,
        })
        .await
        .unwrap();
    click(&client, "nav a[href='/admin/inbound']").await;
    wait_for_heading(&client, "E-post til KOM").await;
    check_page(&client, &axe, "contacts-10a-inbound").await;
    click(&client, &format!("a[href='/admin/inbound/{asking}']")).await;
    wait_for_heading(&client, "E-post: Nyhetsbrev").await;
    click(
        &client,
        &format!("a[href='/admin/inbound/{asking}/add-contact']"),
    )
    .await;
    wait_for_heading(&client, "Legg til siri@example.no som kontakt?").await;
    check_page(&client, &axe, "contacts-10b-add-sender").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "Kontakten er lagt til.", 10).await;
    assert!(text_of(&client, "main").await.contains("siri-1@example.no"));

    // A request to join from a sender nobody verified, kept for staff: one click
    // sends the confirmation link.
    let joining = app
        .store
        .record_inbound(&nyhetsbrev::store::NewInbound {
            channel: "stdin",
            raw: b"From: Per Lie <per.lie@example.no>\r\nSubject: Meld meg p\xc3\xa5\r\n\r\nHei\r\n",
            raw_sha256: "dd",
            from_address: Some("per.lie@example.no"),
            subject: Some("Meld meg p\u{e5}"),
            message_id: Some("<per-1@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "\u{f8}nske om \u{e5} st\u{e5} p\u{e5} listen fra per.lie@example.no, men mottakerserveren har ikke bekreftet avsenderen: ikke besvart.",
            contact_id: None,
            delivery_id: None,
        })
        .await
        .unwrap();
    client
        .goto(&format!("{}/admin/inbound/{joining}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "E-post: Meld meg p\u{e5}").await;
    check_page(&client, &axe, "contacts-10d-held-request").await;
    click(&client, "main form[action$='/answer'] button[type=submit]").await;
    wait_for_text(&client, ".notice", "bekreftelseslenken g\u{e5}r ut", 10).await;

    // After inbound_retention_days the message's bytes are gone; what it was stays.
    let now = nyhetsbrev::domain::Timestamp::now();
    let later = nyhetsbrev::domain::Timestamp::from_unix_ms(now.unix_ms() + 1000);
    assert!(app.store.forget_inbound_bytes(later, now).await.unwrap() >= 1);
    client
        .goto(&format!("{}/admin/inbound/{asking}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "E-post: Nyhetsbrev").await;
    wait_for_text(&client, ".notice", "Selve e-posten ble slettet", 10).await;
    assert!(!text_of(&client, "main").await.contains("Kan jeg få"));
    check_page(&client, &axe, "contacts-10e-mail-bytes-removed").await;
    client
        .goto(&format!("{}/admin/bounces", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Adresser som ikke virker").await;
    check_page(&client, &axe, "contacts-10c-bounces").await;

    // The log says who did what.
    click(&client, "nav a[href='/admin/audit']").await;
    wait_for_heading(&client, "Logg over endringer").await;
    let log = text_of(&client, "main").await;
    assert!(log.contains("slettet") && log.contains("innsyn"), "{log}");
    check_page(&client, &axe, "contacts-10-audit").await;
    client.close().await.unwrap();
}

/// Setting up a second factor and signing in with it, in the browser; the staff and
/// account pages on the way. axe-core on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_in_the_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = common::staff::staff_app(&db).await;
    add_staff(&app.store, "ola").await;
    let client = browser(&webdriver).await;
    let sign_in = |client: Client| {
        let base = app.address.clone();
        async move {
            client.goto(&format!("{base}/admin/login")).await.unwrap();
            wait_for_heading(&client, "Logg inn").await;
            fill(&client, "username", "kari").await;
            fill(&client, "password", STAFF_PASSWORD).await;
            click(&client, "main button[type=submit]").await;
            client
        }
    };
    let client = sign_in(client).await;
    wait_for_heading(&client, "Oversikt").await;

    click(&client, "nav a[href='/admin/staff']").await;
    wait_for_heading(&client, "Stabskontoer").await;
    check_page(&client, &axe, "staff-01-accounts").await;
    // An administrator's actions on another account, each asking for her own password.
    click(&client, "main details summary").await;
    wait_for_text(&client, "main", "Nullstill tofaktor", 10).await;
    check_page(&client, &axe, "staff-01b-account-actions").await;
    client
        .goto(&format!("{}/admin/account", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Din konto").await;
    check_page(&client, &axe, "staff-02-own-account").await;

    // The admin API's tokens, from the accounts page: made (its secret shown once),
    // then revoked.
    client
        .goto(&format!("{}/admin/staff", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Stabskontoer").await;
    click(&client, "main a[href='/admin/api-tokens']").await;
    wait_for_heading(&client, "API-nøkler").await;
    check_page(&client, &axe, "staff-02a-api-tokens").await;
    fill(&client, "name", "Postmottak hos leverandøren").await;
    click(&client, "main form[action='/admin/api-tokens'] button").await;
    wait_for_text(&client, "main", "Kopier nøkkelen nå", 10).await;
    check_page(&client, &axe, "staff-02b-api-token-made").await;
    click(
        &client,
        "main form[action='/admin/api-tokens/revoke'] button",
    )
    .await;
    wait_for_text(&client, "main", "Trukket tilbake", 10).await;
    check_page(&client, &axe, "staff-02c-api-token-revoked").await;
    client
        .goto(&format!("{}/admin/account", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Din konto").await;

    click(&client, "a[href='/admin/totp']").await;
    wait_for_heading(&client, "Tofaktor-innlogging").await;
    check_page(&client, &axe, "staff-03-totp-enrol").await;
    let secret = text_of(&client, "code.secret").await;
    fill(&client, "code", &totp_code(&secret, 0)).await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, "main", "Gjenopprettingskoder", 10).await;
    check_page(&client, &axe, "staff-04-recovery-codes").await;

    // Signing out and in again asks for the code.
    click(&client, "form.logout button").await;
    wait_for_heading(&client, "Logg inn").await;
    let client = sign_in(client).await;
    wait_for_heading(&client, "Kode fra appen").await;
    check_page(&client, &axe, "staff-05-code").await;
    fill(&client, "code", &totp_code(&secret, 30)).await;
    click(&client, "main form button[type=submit]").await;
    wait_for_heading(&client, "Oversikt").await;
    client.close().await.unwrap();
}
