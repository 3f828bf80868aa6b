//! The subscribe and unsubscribe journeys in a real browser: headless Chromium driven
//! through chromedriver. Screenshots of every page go to target/screenshots/ for review.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them the test says it was skipped; under CI it fails instead.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestDb, email, spawn_app};
use fantoccini::{ClientBuilder, Locator};
use nyhetsbrev::domain::ContactStatus;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_chromedriver() -> Option<(Driver, String)> {
    if Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is missing: CI must install chromium-driver"
        );
        eprintln!("SKIPPED browser test: install chromium and chromium-driver to run it");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((Driver(child), url));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("chromedriver did not start");
}

/// Waits (up to 10 s) for the page whose heading is `expected`: after a click the old
/// page's elements go stale while the next one loads.
async fn wait_for_heading(client: &fantoccini::Client, expected: &str) {
    let mut seen = String::new();
    for _ in 0..200 {
        if let Ok(h1) = client.find(Locator::Css("h1")).await
            && let Ok(text) = h1.text().await
        {
            if text == expected {
                return;
            }
            seen = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected a page headed {expected:?}, saw {seen:?}");
}

async fn screenshot(client: &fantoccini::Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a real screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// A headless Chromium session.
async fn browser(webdriver: &str) -> fantoccini::Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=900,1000"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("a browser session")
}

/// The HTML part of a mail, opened in the browser as a file (as a mail client shows
/// it), with its heading checked and a screenshot taken.
async fn show_mail(client: &fantoccini::Client, raw: &[u8], name: &str, heading: &str) {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    let html = message.body_html(0).expect("an HTML part").into_owned();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, html).unwrap();
    client
        .goto(&format!("file://{}", file.display()))
        .await
        .unwrap();
    wait_for_heading(client, heading).await;
    let lang = client
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(lang.as_deref(), Some("nb"));
    screenshot(client, name).await;
}

/// The leave-link mail (for a request to leave by mail that could not be verified), as
/// its recipient sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leave_link_mail_in_a_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let client = browser(&webdriver).await;
    let sender = nyhetsbrev::mail::Sender {
        from_address: email("nyhetsbrev@example.no"),
        from_name: "KOM".into(),
        list_id: "nyhetsbrev.example.no".into(),
        unsubscribe_mailbox: email("nyhetsbrev-leave@example.no"),
    };
    let raw = nyhetsbrev::mail::leave_link_message(
        &sender,
        &email("kari@example.org"),
        "https://nyhetsbrev.example.org/avmeld/AbCdEf",
    )
    .unwrap();
    show_mail(
        &client,
        &raw,
        "mail-leave-link",
        "Melde deg av KOMs kontaktliste?",
    )
    .await;
    let button = client.find(Locator::Css("a")).await.unwrap();
    assert_eq!(
        button.attr("href").await.unwrap().as_deref(),
        Some("https://nyhetsbrev.example.org/avmeld/AbCdEf")
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_confirm_and_unsubscribe_in_a_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = spawn_app(&db).await;

    let client = browser(&webdriver).await;

    // Fill in the form as a person would: find fields by their labels' targets.
    client
        .goto(&format!("{}/subscribe", app.address))
        .await
        .unwrap();
    assert_eq!(
        client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("nb")
    );
    client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("aase@example.no")
        .await
        .unwrap();
    client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Åse Ødegård")
        .await
        .unwrap();
    client
        .find(Locator::Id("organisation"))
        .await
        .unwrap()
        .send_keys("Kirkens Bymisjon")
        .await
        .unwrap();
    screenshot(&client, "1-subscribe-form").await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Sjekk e-posten din").await;
    screenshot(&client, "2-check-your-inbox").await;

    // Follow the link in the captured mail.
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1, "one confirmation mail");
    show_mail(
        &client,
        &mails[0],
        "2b-confirmation-mail",
        "Bekreft påmeldingen",
    )
    .await;
    let path = common::confirmation_path(&mails[0]);
    client
        .goto(&format!("{}{path}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Bekreft påmeldingen").await;
    screenshot(&client, "3-confirm-page").await;
    assert_eq!(
        app.store
            .existing_contact(&email("aase@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Pending
    );
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Du står nå på KOMs kontaktliste").await;
    screenshot(&client, "4-confirmed").await;
    let contact = app
        .store
        .existing_contact(&email("aase@example.no"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);

    // Leave with the personal link, as from the footer of a newsletter.
    let secret = app.store.issue_unsubscribe_token(contact.id).await.unwrap();
    client
        .goto(&format!("{}/avmeld/{}", app.address, secret.as_str()))
        .await
        .unwrap();
    wait_for_heading(&client, "Meld deg av KOMs kontaktliste").await;
    screenshot(&client, "5-unsubscribe-page").await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Du er meldt av").await;
    screenshot(&client, "6-unsubscribed").await;
    assert_eq!(
        app.store
            .existing_contact(&email("aase@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Unsubscribed
    );

    client.close().await.unwrap();
}
