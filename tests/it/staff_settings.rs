//! What staff own of the settings (issue 31): an administrator changes who sends and each
//! publication's footer in the admin; the next mail says it without a restart, each change
//! is in the log, and the footer names KOM by its current name. On SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use common::staff::{StaffClient, add_staff, staff_app};
use mail_parser::MessageParser;
use nyhetsbrev::domain::{AuditAction, StaffSettings};
use nyhetsbrev::render::{Personalisable, RenderContext, Segment, parse_issue, render};

on_both_backends!(
    a_change_of_who_sends_is_in_the_next_mail_and_in_the_log,
    a_publications_footer_is_staffs_own_text_and_empty_goes_back_to_the_default,
    only_an_administrator_changes_them_and_bad_input_is_refused_in_words,
);

fn settings_form<'a>(
    organisation: &'a str,
    short: &'a str,
    from_name: &'a str,
    from_address: &'a str,
    reply: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("organisation_name", organisation),
        ("organisation_short_name", short),
        ("from_name", from_name),
        ("from_address", from_address),
        ("reply_address", reply),
    ]
}

/// The test copy's From header and its text part.
fn from_and_text(raw: &[u8]) -> (String, String) {
    let message = MessageParser::default().parse(raw).expect("a mail");
    let from = message.from().and_then(|f| f.first()).expect("a From");
    (
        format!(
            "{} <{}>",
            from.name().unwrap_or_default(),
            from.address().unwrap_or_default()
        ),
        message.body_text(0).expect("a text part").into_owned(),
    )
}

async fn a_change_of_who_sends_is_in_the_next_mail_and_in_the_log(db: &TestDb) {
    let app = staff_app(db).await;
    let (slug, _) = common::sample_draft(&app.store).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;

    let page = kari.get_ok("/admin/innstillinger").await;
    assert!(
        page.contains("Koordineringsenheten mot menneskehandel"),
        "{page}"
    );
    assert!(page.contains("nyhetsbrev@example.no"), "the file's sender");
    assert!(page.contains("Databasen"), "operator settings are listed");
    assert!(page.contains("standardverdien"), "and where they come from");

    let response = kari
        .post(
            "/admin/innstillinger",
            &settings_form(
                "Koordineringsenheten mot menneskehandel og utnytting",
                "KOM",
                "KOM nyhetsbrev",
                "post@example.no",
                "svar@example.no",
            ),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/admin/innstillinger?melding=lagret"
    );

    // No restart: the next test copy is from the new sender and names the new name.
    let response = kari
        .post(
            &format!("/admin/issues/{slug}/test"),
            &[("to", "kari@example.no")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    let (from, text) = from_and_text(&mails[0]);
    assert_eq!(from, "KOM nyhetsbrev <post@example.no>");
    assert!(
        text.starts_with("Koordineringsenheten mot menneskehandel og utnytting"),
        "{text}"
    );
    assert!(
        text.contains("svar@example.no"),
        "the reply address: {text}"
    );
    assert!(!text.contains("kom@example.no"), "not the file's: {text}");

    let stored = app.store.staff_settings().await.unwrap();
    assert_eq!(stored.from_address.unwrap().as_str(), "post@example.no");

    // A person's copy of their data names the organisation as it is called now.
    common::add_confirmed(&app.store, 0..1).await;
    let copy = kari
        .post(
            &format!("/admin/contacts/{}/innsyn", common::contact_number(1)),
            &[("format", "html")],
        )
        .await;
    assert_eq!(copy.status(), 200);
    let copy = copy.text().await.unwrap();
    assert!(
        copy.contains("Koordineringsenheten mot menneskehandel og utnytting (KOM)"),
        "{copy}"
    );
    assert!(copy.contains("svar@example.no"), "where to write: {copy}");

    // The service's own mails too: a confirmation asked for on the public form now.
    let form = reqwest::Client::new()
        .post(format!("{}/subscribe", app.address))
        .form(&[("email", "ny@example.org"), ("name", "Ny Leser")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let mails = app.settled_mails().await;
    let confirmation = mails
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap())
        .find(|m| m.subject().is_some_and(|s| s.starts_with("Bekreft")))
        .expect("a confirmation mail");
    let (from, text) = from_and_text(confirmation.raw_message());
    assert_eq!(from, "KOM nyhetsbrev <post@example.no>");
    assert!(
        text.contains("KOM – Koordineringsenheten mot menneskehandel og utnytting"),
        "signed with the new name: {text}"
    );
    let flowing = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flowing.contains("publikasjoner fra Koordineringsenheten mot menneskehandel og utnytting"),
        "{text}"
    );
    let log = kari.get_ok("/admin/audit").await;
    assert!(
        log.contains(AuditAction::SettingsEdit.norwegian()),
        "the change is in the log: {log}"
    );
    assert!(
        log.contains("avsenderens navn"),
        "and what changed, in words: {log}"
    );

    // Empty fields, or the file's own values, are "as the file says" again.
    let response = kari
        .post(
            "/admin/innstillinger",
            &settings_form("", "", "", "nyhetsbrev@example.no", ""),
        )
        .await;
    assert_eq!(response.status(), 303);
    let stored = app.store.staff_settings().await.unwrap();
    assert_eq!(
        StaffSettings {
            updated_at: None,
            ..stored
        },
        StaffSettings::default()
    );
    let page = kari.get_ok("/admin/innstillinger").await;
    assert!(page.contains("value=\"nyhetsbrev@example.no\""), "{page}");
}

async fn a_publications_footer_is_staffs_own_text_and_empty_goes_back_to_the_default(db: &TestDb) {
    let app = staff_app(db).await;
    let (slug, _) = common::sample_draft(&app.store).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;

    let page = kari
        .get_ok("/admin/publications/nyhetsbrev/bunntekst")
        .await;
    assert!(page.contains("Dette er standardteksten."), "{page}");
    assert!(
        page.contains("Koordineringsenheten mot menneskehandel (KOM) er et av tiltakene"),
        "the default names KOM by its current name: {page}"
    );
    assert!(!page.contains("for ofre for"), "not the old name");

    let response = kari
        .post(
            "/admin/publications/nyhetsbrev/bunntekst",
            &[
                (
                    "contact",
                    "Skriv til oss på post@example.no eller les https://example.no/kom.",
                ),
                ("about", "Vi er en test.\r\n\r\n- punkt en\r\n- punkt to"),
                ("join", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    let mail = kari
        .get_ok(&format!("/admin/issues/{slug}/preview/mail"))
        .await;
    assert!(mail.contains(">punkt en</li>"), "a list: {mail}");
    assert!(
        mail.contains("href=\"mailto:post@example.no\"")
            && mail.contains(">post@example.no</a> eller"),
        "an address becomes a link, the full stop outside it: {mail}"
    );
    assert!(
        mail.contains(">https://example.no/kom</a>.</p>"),
        "a web address becomes a link, the full stop outside it: {mail}"
    );
    assert!(
        !mail.contains("ikke ha en operativ rolle i enkeltsaker"),
        "the default is replaced"
    );
    assert!(
        mail.contains("Vil andre i din organisasjon ha nyhetsbrevet?"),
        "the part left empty is the default"
    );
    let log = app.store.last_action_at(AuditAction::PublicationEdit).await;
    assert!(log.unwrap().is_some(), "the footer change is audited");

    // Emptied, it is the default again.
    let response = kari
        .post(
            "/admin/publications/nyhetsbrev/bunntekst",
            &[("contact", ""), ("about", " "), ("join", "")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mail = kari
        .get_ok(&format!("/admin/issues/{slug}/preview/mail"))
        .await;
    assert!(
        mail.contains("ikke ha en operativ rolle i enkeltsaker"),
        "{mail}"
    );
}

async fn only_an_administrator_changes_them_and_bad_input_is_refused_in_words(db: &TestDb) {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    let good = settings_form(
        "Ny enhet",
        "NE",
        "NE",
        "nyhetsbrev@example.no",
        "svar@example.no",
    );
    let response = ola.post("/admin/innstillinger", &good).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Bare en administrator"), "{page}");
    let response = ola
        .post(
            "/admin/publications/nyhetsbrev/bunntekst",
            &[("contact", "Ny tekst"), ("about", ""), ("join", "")],
        )
        .await;
    assert_eq!(response.status(), 422);

    let kari = StaffClient::log_in(&app.address, "kari").await;
    let long = "x".repeat(101);
    let cases: [([(&str, &str); 5], &str); 4] = [
        (
            settings_form("Ny enhet", "NE", "NE", "nyhetsbrev@annet.test", ""),
            "må slutte på @example.no",
        ),
        (
            settings_form("Ny enhet", "NE", "NE", "ikke en adresse", ""),
            "er ikke en e-postadresse",
        ),
        (
            settings_form("Ny\u{202E}enhet", "NE", "NE", "", ""),
            "usynlige styretegn",
        ),
        (settings_form(&long, "NE", "NE", "", ""), "høyst 100 tegn"),
    ];
    for (form, words) in cases {
        let response = kari.post("/admin/innstillinger", &form).await;
        assert_eq!(response.status(), 422, "{form:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(words), "{words}: {page}");
        assert!(
            page.contains("aria-invalid=\"true\""),
            "marked at its field"
        );
    }
    let too_long = "y".repeat(4001);
    let response = kari
        .post(
            "/admin/publications/nyhetsbrev/bunntekst",
            &[("contact", too_long.as_str()), ("about", ""), ("join", "")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let response = kari
        .post(
            "/admin/publications/finnes-ikke/bunntekst",
            &[("contact", "x"), ("about", ""), ("join", "")],
        )
        .await;
    assert_eq!(response.status(), 404);

    // Nothing refused was written.
    assert_eq!(
        app.store.staff_settings().await.unwrap(),
        StaffSettings::default()
    );
    let newsletter = app
        .store
        .existing_publication(&nyhetsbrev::domain::PublicationSlug::default_publication())
        .await
        .unwrap();
    assert_eq!(newsletter.footer, Default::default());
}

fn literal(part: &Personalisable) -> String {
    part.segments()
        .filter_map(|s| match s {
            Segment::Literal(text) => Some(text),
            Segment::Slot(_) => None,
        })
        .collect()
}

#[test]
fn the_footer_names_kom_by_its_current_name_in_both_parts() {
    let parsed = parse_issue("2024-q1.md", common::SAMPLE_ISSUE).unwrap();
    let context = RenderContext::new("https://nyhetsbrev.example.org", "kom@example.no");
    let rendered = render(&parsed.issue, &common::publications::newsletter(), &context).unwrap();
    for part in [literal(&rendered.html), literal(&rendered.text)] {
        assert!(part.contains("Koordineringsenheten mot menneskehandel (KOM) er et av"));
        assert!(!part.contains("Koordineringsenheten for ofre for menneskehandel"));
        assert!(part.contains("Om KOM"));
        assert!(part.contains("KOMs kontaktliste"));
    }
}

/// The settings page and a footer page in a real browser, at desktop width and 390 px:
/// axe-core, screenshots, no sideways scrolling; a change saved and a refusal shown at
/// its field. SQLite only: the pages are the same on both, and the store's part is
/// tested above on both.
#[tokio::test]
async fn the_settings_pages_in_the_browser() {
    use common::browser::{
        axe_script, browser, check_page_at_both_widths, click, fill, sign_in_as,
        start_chromedriver, text_of, wait_for_text,
    };
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = staff_app(&db).await;
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;

    client
        .goto(&format!("{}/admin/innstillinger", app.address))
        .await
        .unwrap();
    check_page_at_both_widths(&client, &axe, "settings", "Innstillinger").await;
    fill(&client, "from_name", "KOM nyhetsbrev").await;
    click(
        &client,
        "form[action='/admin/innstillinger'] button[type=submit]",
    )
    .await;
    // The page it leads to has the same heading: wait for its notice.
    wait_for_text(&client, ".notice", "Endringene er lagret", 10).await;
    assert_eq!(
        app.store
            .staff_settings()
            .await
            .unwrap()
            .from_name
            .unwrap()
            .as_str(),
        "KOM nyhetsbrev"
    );

    fill(&client, "from_address", "kom@annet.test").await;
    click(
        &client,
        "form[action='/admin/innstillinger'] button[type=submit]",
    )
    .await;
    wait_for_text(&client, "#from_address-error", "@example.no", 10).await;
    check_page_at_both_widths(&client, &axe, "settings-refused", "Innstillinger").await;
    assert!(
        text_of(&client, "#from_address-error")
            .await
            .contains("@example.no")
    );

    client
        .goto(&format!(
            "{}/admin/publications/nyhetsbrev/bunntekst",
            app.address
        ))
        .await
        .unwrap();
    check_page_at_both_widths(
        &client,
        &axe,
        "settings-footer",
        "Teksten nederst i Nyhetsbrev fra KOM",
    )
    .await;
    client.close().await.unwrap();
}
