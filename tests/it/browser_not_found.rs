//! The 404 pages in a real browser (headless Chromium through chromedriver): what a
//! visitor or a staff member sees for a URL that names nothing, whether the name is
//! unknown (an issue slug, a contact number that does not exist) or malformed (`abc`
//! for a number, capitals and spaces in a slug). Each page at desktop width and at
//! 390 px: its Norwegian heading and words, a screenshot under target/screenshots/,
//! axe-core with no violation of impact serious or critical, no sideways scrolling.
//! On SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use common::browser::{
    axe_script, browser, check_page_at_both_widths, sign_in_as, start_chromedriver, text_of,
};

on_both_backends!(
    public_not_found_pages_in_the_browser,
    staff_not_found_pages_in_the_browser,
);

/// (path, screenshot name, heading, words the page must also say)
type NotFound = (&'static str, &'static str, &'static str, &'static str);

const PUBLIC: &[NotFound] = &[
    (
        "/arkiv/2099-q1",
        "unknown-issue",
        "Fant ikke siden",
        "Siden du ba om finnes ikke.",
    ),
    (
        "/arkiv/Ikke%20et%20kortnavn",
        "malformed-slug",
        "Fant ikke siden",
        "Siden du ba om finnes ikke.",
    ),
    (
        "/arkiv/finnes-ikke/feed.xml",
        "unknown-publication-feed",
        "Fant ikke siden",
        "Siden du ba om finnes ikke.",
    ),
    (
        "/finnes/ikke",
        "unknown-path",
        "Fant ikke siden",
        "Siden du ba om finnes ikke.",
    ),
    (
        "/bekreft/ugyldig",
        "confirm-link",
        "Lenken virker ikke",
        "Du kan melde deg på på nytt.",
    ),
    (
        "/avmeld/ugyldig",
        "leave-link",
        "Lenken virker ikke",
        "Vi kjenner ikke igjen denne avmeldingslenken.",
    ),
    (
        "/innstillinger/ugyldig",
        "preferences-link",
        "Lenken virker ikke",
        "Vi kjenner ikke igjen denne avmeldingslenken.",
    ),
];

const STAFF: &[NotFound] = &[
    (
        "/admin/contacts/999999",
        "unknown-contact",
        "Fant ikke kontakten",
        "Det finnes ingen kontakt med dette nummeret.",
    ),
    (
        "/admin/contacts/abc",
        "malformed-contact",
        "Fant ikke kontakten",
        "Det finnes ingen kontakt med dette nummeret.",
    ),
    (
        "/admin/contacts/999999/edit",
        "unknown-contact-edit",
        "Fant ikke kontakten",
        "Det finnes ingen kontakt med dette nummeret.",
    ),
    (
        "/admin/contacts/0/remove",
        "malformed-contact-remove",
        "Fant ikke kontakten",
        "Det finnes ingen kontakt med dette nummeret.",
    ),
    (
        "/admin/issues/2099-q1",
        "unknown-issue",
        "Fant ikke utgaven",
        "Det finnes ingen utgave med dette kortnavnet.",
    ),
    (
        "/admin/issues/Ikke%20et%20kortnavn/preview",
        "malformed-issue-preview",
        "Fant ikke utgaven",
        "Det finnes ingen utgave med dette kortnavnet.",
    ),
    (
        "/admin/issues/2099-q1/report",
        "unknown-issue-report",
        "Fant ikke utgaven",
        "Det finnes ingen utgave med dette kortnavnet.",
    ),
    (
        "/admin/publications/finnes-ikke",
        "unknown-publication",
        "Fant ikke publikasjonen",
        "Det finnes ingen publikasjon med dette kortnavnet.",
    ),
    (
        "/admin/publications/IKKE..GYLDIG",
        "malformed-publication",
        "Fant ikke publikasjonen",
        "Det finnes ingen publikasjon med dette kortnavnet.",
    ),
    (
        "/admin/inbound/999999",
        "unknown-inbound",
        "Fant ikke e-posten",
        "Det finnes ingen lagret e-post med dette nummeret.",
    ),
    (
        "/admin/inbound/abc",
        "malformed-inbound",
        "Fant ikke e-posten",
        "Det finnes ingen lagret e-post med dette nummeret.",
    ),
    (
        "/admin/contacts/import/ugyldig",
        "unknown-import",
        "Fant ikke importen",
        "Denne importen finnes ikke (lenger)",
    ),
];

/// Visits each page of `pages` under `prefix` and checks it at both widths.
async fn visit_each(
    client: &fantoccini::Client,
    axe: &str,
    base: &str,
    prefix: &str,
    pages: &[NotFound],
) {
    for (path, name, heading, words) in pages {
        client.goto(&format!("{base}{path}")).await.unwrap();
        let name = format!("{prefix}-{name}");
        check_page_at_both_widths(client, axe, &name, heading).await;
        let main = text_of(client, "main").await;
        assert!(main.contains(words), "{name} ({path}): {main}");
    }
}

async fn public_not_found_pages_in_the_browser(db: &TestDb) {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let app = common::spawn_app(db).await;
    // Each path answers 404, in the page's words and not the framework's.
    for (path, ..) in PUBLIC {
        let status = reqwest::get(format!("{}{path}", app.address))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    let client = browser(&webdriver).await;
    let prefix = format!("404-public-{}", db.kind.name());
    visit_each(&client, &axe, &app.address, &prefix, PUBLIC).await;
    client.close().await.unwrap();
}

async fn staff_not_found_pages_in_the_browser(db: &TestDb) {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let app = common::staff::staff_app(db).await;
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;
    let prefix = format!("404-staff-{}", db.kind.name());
    visit_each(&client, &axe, &app.address, &prefix, STAFF).await;
    client.close().await.unwrap();
}
