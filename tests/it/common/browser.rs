//! A real browser for the tests: headless Chromium through chromedriver, screenshots
//! under target/screenshots/, and axe-core's accessibility check on a page.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and axe-core in tests/axe
//! (`cargo xtask test` installs all three). Without them a test says it was skipped; under CI it
//! fails instead.

use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use super::KillOnDrop;

/// chromedriver on a port of its own, and its URL; `None` (with a message) where it is
/// not installed outside CI.
pub fn start_chromedriver() -> Option<(KillOnDrop, String)> {
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
    let port = super::ports::free_port("127.0.0.1");
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let driver = KillOnDrop(child);
    super::eventually_blocking("chromedriver listens", Duration::from_secs(5), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())
    });
    Some((driver, format!("http://127.0.0.1:{port}")))
}

/// Waits (up to 10 s) for the page whose heading is `expected`: after a click the old
/// page's elements go stale while the next one loads.
pub async fn wait_for_heading(client: &fantoccini::Client, expected: &str) {
    let what = format!("a page headed {expected:?}");
    super::eventually(&what, Duration::from_secs(10), async || {
        let h1 = client
            .find(Locator::Css("h1"))
            .await
            .map_err(|e| e.to_string())?;
        let text = h1.text().await.map_err(|e| e.to_string())?;
        super::ok_if(text == expected, format!("a page headed {text:?}"))
    })
    .await
}

pub async fn screenshot(client: &fantoccini::Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a real screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// A headless Chromium session.
pub async fn browser(webdriver: &str) -> fantoccini::Client {
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
pub async fn show_mail(client: &fantoccini::Client, raw: &[u8], name: &str, heading: &str) {
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
    if let Some(axe) = axe_script() {
        assert_accessible(client, &axe, name).await;
    }
}

/// axe-core's script, or `None` (with a message) when tests/axe is not installed
/// outside CI.
pub fn axe_script() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "axe-core is missing: CI must run `npm ci --prefix tests/axe`"
            );
            eprintln!("SKIPPED accessibility check: run `npm ci --prefix tests/axe`");
            None
        }
    }
}

/// Runs axe-core on the page the browser shows and fails on any violation of impact
/// serious or critical, naming the rule and the elements. Returns how many rules ran.
pub async fn assert_accessible(client: &fantoccini::Client, axe: &str, page: &str) -> usize {
    // Injected by the driver, not as a page script: the pages' CSP allows no inline script.
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\n\
             axe.run(document, { resultTypes: ['violations'] })\n\
               .then(r => done({ rules: r.passes.length + r.violations.length + r.incomplete.length + r.inapplicable.length,\n\
                 violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,\n\
                   nodes: v.nodes.map(n => n.target.join(' ')) })) }))\n\
               .catch(e => done({ error: String(e) }));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    assert!(
        result.get("error").is_none(),
        "{page}: axe failed: {result}"
    );
    let serious: Vec<&serde_json::Value> = result["violations"]
        .as_array()
        .expect("a list of violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "{page}: accessibility violations of impact serious or critical: {serious:#?}"
    );
    result["rules"].as_u64().unwrap_or(0) as usize
}
