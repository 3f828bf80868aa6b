//! A new installation, as KOM meets it (issue 31): the real binary's `serve` in an empty
//! folder with no settings file, then only the browser: the set-up page with the code
//! `serve` printed, the first account, the dashboard's first steps, importing the
//! contacts, writing the issue, a test copy, the send and its report. No command in
//! between. Every page at desktop width and at 390 px: a screenshot, axe-core with no
//! violation of impact serious or critical, and no page wider than the phone's window.
//!
//! Only where it listens is given (`NYHETSBREV_BIND` and `NYHETSBREV_BASE_URL`): tests
//! run side by side, and the default port may be taken.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::KillOnDrop;
use common::browser::{
    axe_script, browser, check_page_at_both_widths, click, fill, start_chromedriver, text_of,
    wait_for_heading, wait_for_text,
};
use fantoccini::Locator;

const PASSWORD: &str = "et langt passord for den første kontoen";

/// `serve` started in `dir` with nothing but where to listen, and what it has printed
/// so far (read on a thread so that the pipe never fills).
fn start_serve(dir: &std::path::Path, port: u16) -> (KillOnDrop, Arc<Mutex<String>>) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nyhetsbrev"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NYHETSBREV_") {
            command.env_remove(name);
        }
    }
    let mut child = KillOnDrop(
        command
            .current_dir(dir)
            .arg("serve")
            .env("NYHETSBREV_BIND", format!("127.0.0.1:{port}"))
            .env("NYHETSBREV_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts"),
    );
    let printed = Arc::new(Mutex::new(String::new()));
    let stderr = child.0.stderr.take().unwrap();
    let sink = Arc::clone(&printed);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (child, printed)
}

/// The set-up code in what `serve` printed, once it has printed it.
async fn set_up_code(printed: &Mutex<String>) -> String {
    let mut code = None;
    common::eventually(
        "serve prints the set-up code",
        Duration::from_secs(30),
        async || {
            let text = printed.lock().unwrap().clone();
            code = text
                .split("set-up code ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned);
            common::ok_if(code.is_some(), text)
        },
    )
    .await;
    code.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_installation_goes_from_serve_to_a_sent_issue_in_the_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = common::ports::free_port("127.0.0.1");
    let base = format!("http://127.0.0.1:{port}");
    let (_serve, printed) = start_serve(dir.path(), port);
    let code = set_up_code(&printed).await;
    // It made what it needs, and kept it: the database, the outbox, the signing key.
    assert!(dir.path().join("nyhetsbrev.db").exists());
    let key = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().contains("token_key"))
        .expect("a key file beside the database");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = key.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the service reads the key");
    }

    let client = browser(&webdriver).await;
    let page = async |path: &str, heading: &str, name: &str| {
        client.goto(&format!("{base}{path}")).await.unwrap();
        wait_for_heading(&client, heading).await;
        check_page_at_both_widths(&client, &axe, &format!("new-installation-{name}"), heading)
            .await;
    };

    // The set-up page, with the printed code.
    page("/admin", "Opprett den første kontoen", "01-set-up").await;
    fill(&client, "code", &code).await;
    fill(&client, "username", "kari").await;
    fill(&client, "email", "kari@example.no").await;
    fill(&client, "password", PASSWORD).await;
    fill(&client, "repeated", PASSWORD).await;
    click(&client, "main button[type=submit]").await;
    wait_for_heading(&client, "Oversikt").await;
    check_page_at_both_widths(&client, &axe, "new-installation-02-dashboard", "Oversikt").await;
    let steps = text_of(&client, "#forste-steg").await;
    assert!(steps.contains("Kom i gang"), "{steps}");

    // The code is spent: signed out, /admin asks for a sign-in, and the new account
    // signs in with its password.
    click(&client, "form.logout button").await;
    wait_for_heading(&client, "Logg inn").await;
    page("/admin", "Logg inn", "02a-sign-in").await;
    fill(&client, "username", "kari").await;
    fill(&client, "password", PASSWORD).await;
    click(&client, "main button[type=submit]").await;
    wait_for_heading(&client, "Oversikt").await;

    // The contacts, imported from a file.
    page(
        "/admin/contacts/import",
        "Importer kontakter fra en fil",
        "03-import",
    )
    .await;
    let csv = dir.path().join("kontakter.csv");
    std::fs::write(
        &csv,
        "email,name,organisation\nanne@example.no,Anne Berg,UDI\nper@example.org,Per Dahl,Politiet\nsiri@example.no,Siri Lie,Bufdir\n",
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
    click(&client, "form[action$='/confirm'] button").await;
    wait_for_text(&client, "main", "Importen er ferdig", 20).await;
    let heading = common::browser::heading(&client).await;
    check_page_at_both_widths(&client, &axe, "new-installation-04-imported", &heading).await;

    // The issue, written in the form.
    page("/admin/issues/new", "Ny utgave", "05-new-issue").await;
    fill(&client, "slug", "2025-q1").await;
    fill(&client, "subject", "Nyhetsbrev fra KOM, januar–mars 2025").await;
    fill(&client, "period", "januar–mars 2025").await;
    fill(
        &client,
        "preheader",
        "Det viktigste fra KOM dette kvartalet",
    )
    .await;
    fill(
        &client,
        "body",
        "## Verdt å merke seg\n\n### Ny veileder\n\nKOM har laget en ny veileder for dem som møter mulige ofre.\n",
    )
    .await;
    click(&client, "form.issue-form button[type=submit]").await;
    wait_for_heading(&client, "Utgave 2025-q1").await;
    check_page_at_both_widths(&client, &axe, "new-installation-06-issue", "Utgave 2025-q1").await;

    // A test copy to oneself, then the send to the three.
    page(
        "/admin/issues/2025-q1/send",
        "Før du sender 2025-q1",
        "07-checklist",
    )
    .await;
    fill(&client, "to", "kari@example.no").await;
    click(&client, "form[action$='/test'] button").await;
    wait_for_text(&client, ".notice", "Testkopien er sendt", 10).await;
    fill(&client, "antall", "3").await;
    click(&client, "form[action$='/send'] button").await;
    wait_for_heading(&client, "Utsending av 2025-q1").await;
    wait_for_text(&client, "[data-field=status]", "Sendt", 60).await;
    wait_for_text(&client, "dd[data-field=sent]", "3", 5).await;
    check_page_at_both_widths(
        &client,
        &axe,
        "new-installation-08-report",
        "Utsending av 2025-q1",
    )
    .await;

    // The outbox holds the test copy and the three.
    let mails = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count();
    assert_eq!(mails, 4);

    // The dashboard's first steps are all done, so they are gone.
    client.goto(&format!("{base}/admin")).await.unwrap();
    wait_for_heading(&client, "Oversikt").await;
    assert!(
        client.find(Locator::Id("forste-steg")).await.is_err(),
        "no first steps once an issue has gone out"
    );
    check_page_at_both_widths(&client, &axe, "new-installation-09-dashboard", "Oversikt").await;
    client.close().await.unwrap();
}
