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
                     "--window-size=900,1000", "--hide-scrollbars"]
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

/// The width of the narrowest phone the pages must fit without sideways scrolling.
pub const PHONE_WIDTH: u32 = 390;
/// A desktop window.
pub const DESKTOP_WIDTH: u32 = 1280;

/// Makes the page's layout `width` CSS pixels wide and the window as tall as the page
/// (up to 8,000 px), so that a screenshot shows all of it. The window is sized until the
/// page itself says so: the window's frame takes some of its size.
pub async fn show_whole_page_at(client: &fantoccini::Client, width: u32) {
    let mut window = width;
    for _ in 0..3 {
        client.set_window_size(window, 1000).await.unwrap();
        let inner = page_number(client, "document.documentElement.clientWidth").await;
        if inner == u64::from(width) {
            break;
        }
        window = (i64::from(window) + i64::from(width) - inner as i64) as u32;
    }
    let inner = page_number(client, "document.documentElement.clientWidth").await;
    assert_eq!(inner, u64::from(width), "the page is {width} px wide");
    let (_, outer) = client.get_window_size().await.unwrap();
    let frame = outer.saturating_sub(page_number(client, "window.innerHeight").await);
    let page = page_number(client, "document.documentElement.scrollHeight").await;
    let height = (page + frame).clamp(600, 8000);
    client.set_window_size(window, height as u32).await.unwrap();
}

async fn page_number(client: &fantoccini::Client, expression: &str) -> u64 {
    client
        .execute(&format!("return {expression}"), vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or_else(|| panic!("{expression} is a number"))
}

/// Fails when the page is wider than the window: the reader would scroll sideways.
/// Names the elements that stick out of a parent that does not, to find the cause.
pub async fn assert_no_sideways_scrolling(client: &fantoccini::Client, page: &str) {
    let widths = client
        .execute(
            "const root = document.documentElement;\n\
             const sticksOut = e => e.getBoundingClientRect().right > root.clientWidth + 0.5;\n\
             const out = [...document.querySelectorAll('body *')]\n\
               .filter(e => sticksOut(e) && !sticksOut(e.parentElement))\n\
               .slice(0, 8)\n\
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\n\
                    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +\n\
                    ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')');\n\
             return { scroll: root.scrollWidth, client: root.clientWidth, out: out };",
            vec![],
        )
        .await
        .unwrap();
    let scroll = widths["scroll"].as_u64().unwrap();
    let visible = widths["client"].as_u64().unwrap();
    assert!(
        scroll <= visible,
        "{page}: the page is {scroll} px wide in a {visible} px window; sticking out: {}",
        widths["out"]
    );
}

/// The page's `h1`, as the reader sees it.
pub async fn heading(client: &fantoccini::Client) -> String {
    client
        .find(Locator::Css("h1"))
        .await
        .unwrap_or_else(|e| panic!("a page with a heading: {e}"))
        .text()
        .await
        .unwrap()
}

/// The page the browser shows, at desktop width and at [`PHONE_WIDTH`]: headed
/// `expected_heading` (so that a wrong page fails), a screenshot each
/// (`{name}-desktop`, `{name}-phone`), no axe-core violation of impact serious or
/// critical, and no sideways scrolling. Leaves the window at desktop width.
///
/// The browser shows no scroll bars (`--hide-scrollbars`), as a phone shows none that
/// take room: the page's width is the window's.
pub async fn check_page_at_both_widths(
    client: &fantoccini::Client,
    axe: &str,
    name: &str,
    expected_heading: &str,
) {
    for (width, suffix) in [(DESKTOP_WIDTH, "desktop"), (PHONE_WIDTH, "phone")] {
        show_whole_page_at(client, width).await;
        let page = format!("{name}-{suffix}");
        assert_eq!(
            heading(client).await,
            expected_heading,
            "{page}: its heading"
        );
        screenshot(client, &page).await;
        let rules = assert_accessible(client, axe, &page).await;
        assert!(rules > 20, "{page}: axe ran its rules ({rules})");
        assert_no_sideways_scrolling(client, &page).await;
    }
    client.set_window_size(DESKTOP_WIDTH, 1000).await.unwrap();
}

/// Types `text` into the field with this `id`, replacing what was there.
pub async fn fill(client: &fantoccini::Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks the element `css` finds.
pub async fn click(client: &fantoccini::Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The text of the element `css` finds.
pub async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits (up to `seconds`) until the element's text contains `expected`.
pub async fn wait_for_text(client: &fantoccini::Client, css: &str, expected: &str, seconds: u64) {
    let what = format!("{css} says {expected:?}");
    super::eventually(&what, Duration::from_secs(seconds), async || {
        let element = client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        let text = element.text().await.map_err(|e| e.to_string())?;
        super::ok_if(text.contains(expected), text)
    })
    .await
}

/// Signs `name` in through the staff login form, with the tests' password.
pub async fn sign_in_as(client: &fantoccini::Client, base: &str, name: &str) {
    client.goto(&format!("{base}/admin/login")).await.unwrap();
    wait_for_heading(client, "Logg inn").await;
    fill(client, "username", name).await;
    fill(client, "password", super::staff::STAFF_PASSWORD).await;
    click(client, "main button[type=submit]").await;
    wait_for_heading(client, "Oversikt").await;
}
