//! A person's copy of their data (Innsyn) in a real browser (headless Chromium through
//! chromedriver): opened from the contact's page, at desktop width and at 390 px (its
//! heading, a screenshot, axe-core, no sideways scrolling), then as the print dialogue
//! lays it out: print media emulated through Chrome's DevTools protocol, the staff box
//! gone, a screenshot, and the PDF Chrome prints of it, kept under target/screenshots/.
//! On SQLite and PostgreSQL.

use crate::common;

use base64::Engine;
use common::browser::{
    axe_script, browser, check_page_at_both_widths, click, screenshot, sign_in_as,
    start_chromedriver, text_of, wait_for_heading,
};
use common::{TestDb, new_contact};
use fantoccini::Client;
use nyhetsbrev::domain::{ContactName, ContactStatus, InboundKind, Organisation};
use nyhetsbrev::store::{Actor, NewInbound};

on_both_backends!(the_readable_copy_fits_a_phone_and_prints_without_the_staff_box);

/// A long address with no place to break it: the document must still fit a phone.
const LONG_ADDRESS: &str =
    "anne-kristine.haugland-johannessen@kommunal-og-distriktsdepartementet.example.no";

/// A command of Chrome's DevTools protocol, sent through chromedriver's own endpoint
/// for it (`goog/cdp/execute`): WebDriver has no print media emulation.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("a browser session");
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.command, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

async fn dev_tools(
    client: &Client,
    command: &'static str,
    params: serde_json::Value,
) -> serde_json::Value {
    client
        .issue_cmd(DevTools { command, params })
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"))
}

/// The computed `display` of the first element `css` finds.
async fn display_of(client: &Client, css: &str) -> String {
    client
        .execute(
            "return getComputedStyle(document.querySelector(arguments[0])).display",
            vec![css.into()],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// The first page's size in a PDF Chrome printed, in whole millimetres (its page
/// dictionaries are not compressed).
fn page_size_in_mm(pdf: &[u8]) -> (u32, u32) {
    let text = String::from_utf8_lossy(pdf);
    let start = text.find("/MediaBox [").expect("a page size") + "/MediaBox [".len();
    let numbers: Vec<f64> = text[start..]
        .split(']')
        .next()
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let mm = |points: f64| (points / 72.0 * 25.4).round() as u32;
    (mm(numbers[2] - numbers[0]), mm(numbers[3] - numbers[1]))
}

async fn the_readable_copy_fits_a_phone_and_prints_without_the_staff_box(db: &TestDb) {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let app = common::staff::staff_app(db).await;
    let actor = Actor::parse("cli:test");
    let mut person = new_contact(LONG_ADDRESS, ContactStatus::Confirmed);
    person.name = ContactName::parse("Anne-Kristine Haugland Johannessen").unwrap();
    person.organisation = Organisation::parse("Kommunal- og distriktsdepartementet").unwrap();
    let id = app.store.add_contact(&person, &actor).await.unwrap().id;
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &actor).await.unwrap();
    app.store
        .record_inbound(&NewInbound {
            channel: "api",
            raw: b"From: anne@example.no\r\nSubject: Hva har dere lagret om meg?\r\n\r\nHei!\r\n\r\nJeg vil gjerne vite hva dere har lagret om meg, og hvorfor.\r\n",
            raw_sha256: "innsyn-browser",
            from_address: Some(LONG_ADDRESS),
            subject: Some("Hva har dere lagret om meg?"),
            message_id: Some("<innsyn-3@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(id),
            delivery_id: None,
        })
        .await
        .unwrap();
    let name = |page: &str| format!("innsyn-{}-{page}", db.kind.name());
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;

    // From the contact's page, which says how to hand it over.
    client
        .goto(&format!("{}/admin/contacts/{id}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, LONG_ADDRESS).await;
    assert!(
        text_of(&client, "section[aria-labelledby=innsyn]")
            .await
            .contains("Lagre som PDF")
    );
    click(
        &client,
        "form[action$='/innsyn'] input[value=html] ~ button",
    )
    .await;
    let heading = "Dette har vi lagret om deg";
    wait_for_heading(&client, heading).await;
    check_page_at_both_widths(&client, &axe, &name("document"), heading).await;
    let document = text_of(&client, "main").await;
    assert!(
        document.contains("Koordineringsenheten mot menneskehandel (KOM)")
            && document.contains("Jeg vil gjerne vite hva dere har lagret om meg"),
        "{document}"
    );
    assert_eq!(
        display_of(&client, ".for-staff").await,
        "block",
        "on screen"
    );

    // As the print dialogue lays it out: the staff box is gone, the document stays.
    dev_tools(
        &client,
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "print" }),
    )
    .await;
    assert_eq!(display_of(&client, ".for-staff").await, "none", "on paper");
    assert_eq!(display_of(&client, "main").await, "block");
    screenshot(&client, &name("document-print")).await;
    let pdf = dev_tools(
        &client,
        "Page.printToPDF",
        serde_json::json!({ "preferCSSPageSize": true }),
    )
    .await;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(pdf["data"].as_str().expect("the PDF, in base64"))
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(
        page_size_in_mm(&pdf),
        (210, 297),
        "A4, as the stylesheet asks"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::write(dir.join(format!("{}.pdf", name("document"))), &pdf).unwrap();
    dev_tools(
        &client,
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "" }),
    )
    .await;
    assert_eq!(display_of(&client, ".for-staff").await, "block");

    // Back to the contact.
    click(&client, ".for-staff a").await;
    wait_for_heading(&client, LONG_ADDRESS).await;
    client.close().await.unwrap();
}
