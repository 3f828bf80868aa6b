//! The command line as staff run it: the real binary against a real database.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{KillOnDrop, Kind, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_nyhetsbrev");

use common::nyhetsbrev;

fn run(db: &TestDb, args: &[&str]) -> Output {
    nyhetsbrev(db).args(args).output().expect("run nyhetsbrev")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn contact_count(db: &TestDb) -> usize {
    let output = run(db, &["contacts", "list", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout(&output))
        .unwrap()
        .len()
}

on_both_backends!(
    a_staff_session,
    bad_input_is_refused_in_one_line_and_nothing_is_written,
    remove_asks_first,
    import_reports_rows_and_export_writes_a_whole_file,
    a_killed_import_keeps_nothing,
    serve_answers_health_and_stops_on_sigterm,
    secrets_stay_out_of_the_logs,
    sending_an_issue_from_the_command_line,
    inbound_mail_on_an_mta_pipe,
    forged_bounces_on_the_pipe_count_nothing,
    a_spoofed_unsubscribe_on_the_pipe_only_mails_a_leave_link,
    a_forwarded_request_waits_for_staff,
    sending_makes_its_key_or_says_why_it_cannot,
    staff_accounts_take_their_password_on_stdin,
    api_tokens_are_made_listed_and_revoked_on_the_command_line,
    staff_add_makes_administrators_and_keeps_an_address,
    login_names_never_reach_the_log_raw,
    attacker_text_never_runs_in_a_staff_terminal,
    a_persons_data_is_exported_from_the_command_line,
    a_requests_log_lines_carry_its_id,
    contacts_taken_off_on_the_command_line_are_skipped_at_once,
    consent_is_recorded_by_the_rules_the_web_keeps,
    a_send_is_planned_for_a_time_ahead_never_one_past,
);

async fn a_persons_data_is_exported_from_the_command_line(db: &TestDb) {
    let added = run(
        db,
        &[
            "contacts",
            "add",
            "nora@example.no",
            "--name",
            "Nora Ås",
            "--note",
            "telefon 02.12.2026",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let output = run(db, &["contacts", "export-person", "NORA@example.no"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let data: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(data["kontakt"]["adresse"], "nora@example.no");
    assert_eq!(data["kontakt"]["navn"], "Nora Ås");
    assert_eq!(data["samtykke"]["notat"], "telefon 02.12.2026");
    let file = db.dir().join("nora.json");
    let to_file = run(
        db,
        &[
            "contacts",
            "export-person",
            "nora@example.no",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(to_file.status.success());
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("\"adresse\": \"nora@example.no\"")
    );
    let store = db.store().await;
    let exports = store
        .audit_about("nora@example.no", 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "contact.export")
        .count();
    assert_eq!(exports, 2, "each copy is in the log");
    let missing = run(db, &["contacts", "export-person", "ingen@example.no"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("not on the list"),
        "{}",
        stderr(&missing)
    );
}

async fn a_staff_session(db: &TestDb) {
    let added = run(
        db,
        &[
            "contacts",
            "add",
            "Ase.Odegard@Blåbær.Example.NO",
            "--name",
            "Åse Ødegård",
            "--organisation",
            "Kirkens Bymisjon",
            "--source",
            "email-request",
            "--note",
            "e-post 12.03.2025 fra Åse",
            "--consent-date",
            "12.03.2025",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(
        stdout(&added),
        "added Ase.Odegard@blåbær.example.no (confirmed)\n"
    );

    let shown = run(db, &["contacts", "show", "ase.odegard@BLÅBÆR.example.no"]);
    let text = stdout(&shown);
    assert!(text.contains("status:        confirmed"), "{text}");
    assert!(
        text.contains("consent:       email-request at 2025-03-12T00:00:00Z"),
        "{text}"
    );
    assert!(
        text.contains("consent note:  e-post 12.03.2025 fra Åse"),
        "{text}"
    );

    run(
        db,
        &[
            "contacts",
            "add",
            "ola@example.org",
            "--status",
            "pending",
            "--note",
            "telefon 02.12.2026",
        ],
    );
    let listed = run(db, &["contacts", "list", "--status", "pending", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["email"], "ola@example.org");
    assert_eq!(list[0]["status"], "pending");
    let table = stdout(&run(db, &["contacts", "list", "--search", "BYMISJON"]));
    assert!(
        table.contains("Ase.Odegard@blåbær.example.no  confirmed")
            && table.ends_with("1 contact\n"),
        "{table}"
    );

    let edited = run(
        db,
        &[
            "contacts",
            "edit",
            "ola@example.org",
            "--name",
            "Ola N",
            "--status",
            "unsubscribed",
            "--json",
        ],
    );
    let contact: serde_json::Value = serde_json::from_str(&stdout(&edited)).unwrap();
    assert_eq!(
        (contact["name"].as_str(), contact["status"].as_str()),
        (Some("Ola N"), Some("unsubscribed"))
    );
    let back = run(
        db,
        &[
            "contacts",
            "edit",
            "ola@example.org",
            "--status",
            "confirmed",
        ],
    );
    assert_eq!(back.status.code(), Some(1));
    assert!(
        stderr(&back).contains("needs new consent"),
        "{}",
        stderr(&back)
    );

    let removed = run(db, &["contacts", "remove", "ola@example.org", "--yes"]);
    assert_eq!(stdout(&removed), "removed ola@example.org\n");
    let gone = run(db, &["contacts", "show", "ola@example.org"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(stderr(&gone), "error: ola@example.org is not on the list\n");
}

async fn bad_input_is_refused_in_one_line_and_nothing_is_written(db: &TestDb) {
    let long = format!("{}@example.org", "a".repeat(290));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["contacts", "add", "a@"], "no domain"),
        (vec!["contacts", "add", "@b"], "nothing before the @"),
        (vec!["contacts", "add", "a b@c.no"], "contains a space"),
        (vec!["contacts", "add", &long], "longer than 254"),
        (
            vec!["contacts", "add", "x@y.no\r\nBcc: z@w.no"],
            "line break",
        ),
        (
            vec![
                "contacts",
                "add",
                "ola@example.org",
                "--name",
                "Ola\r\nBcc: z@w.no",
            ],
            "name contains a line break",
        ),
        (
            vec![
                "contacts",
                "add",
                "ola@example.org",
                "--organisation",
                "Org\u{1b}[31m",
            ],
            "organisation contains",
        ),
        (
            vec![
                "contacts",
                "add",
                "ola@example.org",
                "--name",
                "Ola \u{202e}gro.elpmaxe",
            ],
            "name contains a bidirectional control character",
        ),
        (
            vec![
                "contacts",
                "add",
                "ola@example.org",
                "--consent-date",
                "i går",
            ],
            "not a date",
        ),
        (vec!["contacts", "show", "not-an-address"], "no @"),
        (vec!["contacts", "add", "åse@example.no"], "æ, ø, å"),
    ];
    for (args, expected) in cases {
        let output = run(db, &args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(stdout(&output).is_empty());
    }
    let usage = run(
        db,
        &["contacts", "add", "ola@example.org", "--status", "active"],
    );
    assert_eq!(
        usage.status.code(),
        Some(2),
        "clap reports usage errors with 2"
    );
    assert_eq!(contact_count(db), 0, "nothing written");

    run(
        db,
        &["contacts", "add", "ola@example.org", "--note", "telefon"],
    );
    let nothing = run(db, &["contacts", "edit", "ola@example.org"]);
    assert!(
        stderr(&nothing).contains("nothing to change"),
        "{}",
        stderr(&nothing)
    );
    let taken = run(
        db,
        &["contacts", "add", "OLA@example.org", "--note", "telefon"],
    );
    assert_eq!(
        stderr(&taken),
        "error: OLA@example.org is already on the list\n"
    );
    assert_eq!(contact_count(db), 1);
}

async fn remove_asks_first(db: &TestDb) {
    run(
        db,
        &["contacts", "add", "ola@example.org", "--note", "telefon"],
    );
    let refused = run(db, &["contacts", "remove", "ola@example.org"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("pass --yes"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(contact_count(db), 1);
}

async fn import_reports_rows_and_export_writes_a_whole_file(db: &TestDb) {
    let file = db.dir().join("kontakter.csv");
    std::fs::write(
        &file,
        "e-post;navn;organisasjon\nola@example.org;Ola;=1+1\nbad;X;Y\nOLA@example.org;Ola;Z\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let dry = run(db, &["contacts", "import", file, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(3));
    assert!(
        stdout(&dry).contains("(dry run: nothing was written)"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(contact_count(db), 0);

    let imported = run(db, &["contacts", "import", file]);
    assert_eq!(imported.status.code(), Some(3), "rows rejected: exit 3");
    let report = stdout(&imported);
    assert_eq!(
        report.lines().collect::<Vec<_>>(),
        [
            "line 3: rejected: the e-mail address has no @: \"bad\"",
            "line 4: skipped: OLA@example.org already appears on line 2",
            "3 rows read: imported 1, updated 0, unchanged 0, already on the list 0, repeated in the file 1, rejected 1",
        ]
    );
    let json = run(db, &["contacts", "import", file, "--json"]);
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<_> = lines[..3]
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (2, "already_on_list"),
            (3, "rejected"),
            (4, "duplicate_in_file")
        ]
    );
    assert_eq!(lines[3]["summary"]["already_on_list"], 1);

    let export = db.dir().join("eksport.csv");
    let exported = run(
        db,
        &[
            "contacts",
            "export",
            "--status",
            "confirmed",
            "--output",
            export.to_str().unwrap(),
        ],
    );
    assert!(exported.status.success(), "{}", stderr(&exported));
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        text.starts_with("email,name,organisation,status,"),
        "{text}"
    );
    assert!(
        text.contains("ola@example.org,Ola,'=1+1,confirmed"),
        "{text}"
    );
    assert!(!db.dir().join("eksport.csv.part").exists());
    assert_eq!(
        stdout(&run(db, &["contacts", "export"])),
        text,
        "stdout and file agree"
    );
}

/// SIGKILL in the middle of an import: the transaction dies with the process and the
/// list is as before; running the import again imports everything.
async fn a_killed_import_keeps_nothing(db: &TestDb) {
    let fifo = db.dir().join("import.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let mut rows = String::from("email,name\n");
    for i in 0..30_000 {
        rows.push_str(&format!("person{i}@example.org,Person {i}\n"));
    }
    let mut child = nyhetsbrev(db)
        .args(["contacts", "import", fifo.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Hand over most of the file, keep the pipe open, and kill the importer mid-way.
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    pipe.write_all(&rows.as_bytes()[..rows.len() * 2 / 3])
        .unwrap();
    common::eventually(
        "the import writes contacts in its transaction",
        Duration::from_secs(20),
        async || common::ok_if(db.has_open_write_to("contacts").await, "no write yet"),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    drop(pipe);
    assert_eq!(contact_count(db), 0, "nothing of a killed import is kept");

    let file = db.dir().join("kontakter.csv");
    std::fs::write(&file, &rows).unwrap();
    let again = run(db, &["contacts", "import", file.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(contact_count(db), 30_000);
}

async fn serve_answers_health_and_stops_on_sigterm(db: &TestDb) {
    // Something for serve's worker to send, queued from the command line.
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    for args in [
        &["issue", "import", fixture][..],
        &["contacts", "add", "leser@example.org", "--note", "telefon"],
        &["issue", "send", "2024-q1"],
    ] {
        let output = run(db, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    let (mut child, address, _log) = start_serve(db, "warn");
    let response = http_get(&address, "/health");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    assert!(http_get(&address, "/nope").starts_with("HTTP/1.1 404"));

    // The real server gives the form its client address (for the rate limit).
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let body = "email=ny%40example.org&name=&organisation=";
    write!(
        stream,
        "POST /subscribe HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Its worker sends the queued issue to the outbox, next to the confirmation mail.
    let outbox = db.dir().join("outbox");
    common::eventually_blocking(
        "the issue and the confirmation in the outbox",
        Duration::from_secs(20),
        || {
            let mails: Vec<String> = std::fs::read_dir(&outbox)
                .map(|dir| {
                    dir.filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                        .collect()
                })
                .unwrap_or_default();
            common::ok_if(
                mails.len() == 2 && mails.iter().any(|m| m.contains("To: leser@example.org")),
                mails,
            )
        },
    );
    // Recorded as sent once the worker sees the queue empty (it looks every second).
    let status = common::eventually_blocking(
        "the issue recorded as sent",
        Duration::from_secs(20),
        || {
            let status = stdout(&run(db, &["issue", "status", "2024-q1"]));
            if status.contains("2024-q1: sent") {
                Ok(status)
            } else {
                Err(status)
            }
        },
    );
    assert!(status.contains("sent 1"), "{status}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

/// Every log line of a request carries its span: the id its response names, the
/// method and the route, and nothing of the path or the query (JSON logs, as a log
/// collector reads them).
async fn a_requests_log_lines_carry_its_id(db: &TestDb) {
    let (_child, address, log) = start_serve_with(
        db,
        "info,tower_http=debug",
        &[("NYHETSBREV_LOG_FORMAT", "json")],
    );
    let response = http_get(&address, "/arkiv/2024-q1?epost=kari%40example.no");
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    let id = response
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("the response names its request")
        .trim()
        .to_owned();
    // Read on another thread: a line that never comes must fail the test, not hang it.
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in log.map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let line = loop {
        let line = received
            .recv_timeout(Duration::from_secs(10))
            .expect("a log line of the request");
        if line.contains(&id) {
            break line;
        }
    };
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["span"]["name"], "http", "{line}");
    assert_eq!(entry["span"]["request_id"], id.as_str(), "{line}");
    assert_eq!(entry["span"]["method"], "GET", "{line}");
    assert_eq!(entry["span"]["route"], "/arkiv/{slug}", "{line}");
    for personal in ["2024-q1", "epost", "example.no"] {
        assert!(!line.contains(personal), "{personal} in {line}");
    }
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

async fn secrets_stay_out_of_the_logs(db: &TestDb) {
    let output = nyhetsbrev(db)
        .args(["contacts", "list"])
        .env("RUST_LOG", "debug")
        .env(
            "NYHETSBREV_SMTP_URL",
            "smtp://kom:smtp-hemmelig@relay.example.org:587",
        )
        .env(
            "NYHETSBREV_TOKEN_KEY",
            "token-hemmelig-0123456789abcdef0123",
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let logs = stderr(&output);
    assert!(
        logs.contains("settings loaded"),
        "debug logs were on: {logs}"
    );
    assert!(
        !logs.contains("smtp-hemmelig") && !logs.contains("token-hemmelig"),
        "{logs}"
    );
    if db.kind == Kind::Postgres {
        // The database URL is logged with any password replaced.
        assert!(logs.contains("database_url"), "{logs}");
    }
}

#[test]
fn a_fresh_directory_runs_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["contacts", "add", "ola@example.org", "--note", "telefon"])
        .current_dir(dir.path())
        .env_remove("NYHETSBREV_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        Path::new(&dir.path().join("nyhetsbrev.db")).exists(),
        "sqlite://nyhetsbrev.db is the default"
    );
}

#[test]
fn serve_refuses_a_bad_smtp_url_without_printing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve"])
        .current_dir(dir.path())
        .env(
            "NYHETSBREV_SMTP_URL",
            "smtp://kom:hemmelig@relay.example.org:587?tls=maybe",
        )
        .env("NYHETSBREV_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("smtp_url has an unknown option tls=maybe") && !err.contains("hemmelig"),
        "{err}"
    );
}

#[test]
fn a_missing_settings_file_is_named() {
    let output = Command::new(BIN)
        .args(["--config", "/nonexistent/nb.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("/nonexistent/nb.toml does not exist"), "{err}");
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["contacts", "--help"],
        vec!["contacts", "add", "--help"],
        vec!["contacts", "list", "--help"],
        vec!["contacts", "show", "--help"],
        vec!["contacts", "edit", "--help"],
        vec!["contacts", "remove", "--help"],
        vec!["contacts", "import", "--help"],
        vec!["contacts", "export", "--help"],
        vec!["migrate", "--help"],
        vec!["serve", "--help"],
        vec!["worker", "--help"],
        vec!["issue", "--help"],
        vec!["issue", "send", "--help"],
        vec!["inbound", "--help"],
        vec!["inbound", "list", "--help"],
        vec!["inbound", "show", "--help"],
        vec!["inbound", "poll", "--help"],
        vec!["staff", "--help"],
        vec!["staff", "add", "--help"],
    ] {
        let output = Command::new(BIN).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: nyhetsbrev"),
            "{args:?}"
        );
    }
}

async fn sending_an_issue_from_the_command_line(db: &TestDb) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    for args in [
        &["issue", "import", fixture][..],
        &["contacts", "add", "en@example.org", "--note", "telefon"],
        &["contacts", "add", "to@example.org", "--note", "telefon"],
        &[
            "contacts",
            "add",
            "tre@example.org",
            "--status",
            "pending",
            "--note",
            "telefon",
        ],
    ] {
        let output = run(db, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    let dry = run(db, &["issue", "send", "2024-q1", "--dry-run"]);
    assert!(
        stdout(&dry).contains("2 confirmed contacts would get 2024-q1"),
        "{}",
        stdout(&dry)
    );

    let test = run(
        db,
        &[
            "issue",
            "test-send",
            "2024-q1",
            "--to",
            "redaktor@example.no",
        ],
    );
    assert!(test.status.success(), "{}", stderr(&test));
    assert!(stdout(&test).contains("the outbox folder"));

    // No service runs: --follow sends from the command line until done.
    let sent = run(db, &["issue", "send", "2024-q1", "--follow"]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let out = stdout(&sent);
    assert!(out.contains("queued 2024-q1 for 2 contacts"), "{out}");
    assert!(out.contains("total 2  sent 2  failed 0"), "{out}");
    let outbox = std::fs::read_dir(db.dir().join("outbox")).unwrap().count();
    assert_eq!(outbox, 3, "the test copy and two issues");

    let again = run(db, &["issue", "send", "2024-q1"]);
    assert!(
        stdout(&again).contains("queued 2024-q1 for 0 contacts (2 already had it"),
        "{}",
        stdout(&again)
    );
    let status = run(db, &["issue", "status", "2024-q1", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["sent"], 2);
    assert_eq!(json["status"], "sent");

    let unknown = run(db, &["issue", "send", "1999-q1"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("issue 1999-q1 does not exist"));
}

/// Runs the binary with `input` on standard input.
fn run_with_input(mut command: Command, args: &[&str], input: &[u8]) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nyhetsbrev");
    let mut stdin = child.stdin.take().unwrap();
    // The binary may stop reading early (a message over the limit): ignore EPIPE.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn mail_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mail")
            .join(name),
    )
    .unwrap()
}

/// The binary as the MTA runs it, trusting the receiving server's
/// `Authentication-Results` (which the fixtures' requests to join carry).
fn behind_our_mx(db: &TestDb) -> Command {
    let mut command = nyhetsbrev(db);
    command.env("NYHETSBREV_TRUSTED_AUTHSERV_ID", "mx.example.no");
    command
}

async fn inbound_mail_on_an_mta_pipe(db: &TestDb) {
    let request = mail_fixture("subscribe-bokmal.eml");
    let handled = run_with_input(behind_our_mx(db), &["inbound"], &request);
    assert_eq!(handled.status.code(), Some(0), "{}", stderr(&handled));
    assert_eq!(
        stdout(&handled),
        "inbound #1 subscribe: confirmation link to kari.nordmann@example.org queued\n"
    );
    // No relay set: the confirmation is in the outbox.
    assert_eq!(common::outbox_messages(&db.dir().join("outbox")).len(), 1);
    // The MTA delivering it again changes nothing.
    let again = run_with_input(behind_our_mx(db), &["inbound"], &request);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).ends_with("(seen before)\n"),
        "{}",
        stdout(&again)
    );
    assert_eq!(common::outbox_messages(&db.dir().join("outbox")).len(), 1);
    // The envelope recipient from the pipe: mail to the leave address.
    let leave = b"From: kari.nordmann@example.org\r\nSubject: x\r\nMessage-ID: <pipe-leave@example.org>\r\n\r\n";
    let left = run_with_input(
        nyhetsbrev(db),
        &[
            "inbound",
            "--sender",
            "kari.nordmann@example.org",
            "--recipient",
            "nyhetsbrev-leave@example.org",
        ],
        leave,
    );
    assert_eq!(left.status.code(), Some(0), "{}", stderr(&left));
    assert!(
        stdout(&left).contains(" unsubscribe: "),
        "{}",
        stdout(&left)
    );
    // Garbage is kept for staff, and the MTA is told it was taken.
    let garbage = run_with_input(
        nyhetsbrev(db),
        &["inbound"],
        &mail_fixture("binary-garbage.bin"),
    );
    assert_eq!(garbage.status.code(), Some(0), "{}", stderr(&garbage));
    assert!(
        stdout(&garbage).contains(" unreadable: "),
        "{}",
        stdout(&garbage)
    );
    // Too large: refused for good (EX_DATAERR), with the reason for the bounce.
    let mut big = nyhetsbrev(db);
    big.env("NYHETSBREV_INBOUND_MAX_SIZE", "1000");
    let refused = run_with_input(big, &["inbound"], &vec![b'x'; 5000]);
    assert_eq!(refused.status.code(), Some(65));
    assert!(
        stderr(&refused).contains("inbound_max_size"),
        "{}",
        stderr(&refused)
    );

    let listed = run(db, &["inbound", "list", "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&listed)).unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["unreadable", "unsubscribe", "subscribe"]);
    let listed = run(db, &["inbound", "list", "--kind", "subscribe"]);
    assert!(
        stdout(&listed).contains("kari.nordmann@example.org"),
        "{}",
        stdout(&listed)
    );
    let shown = run(db, &["inbound", "show", "1"]);
    assert!(shown.status.success());
    assert_eq!(shown.stdout, request, "byte for byte as it came");
    let missing = run(db, &["inbound", "show", "99"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("inbound list"),
        "{}",
        stderr(&missing)
    );

    // A request to join whose sender no trusted server vouched for: kept for staff,
    // nothing sent, until `inbound answer` sends the confirmation.
    let unverified = b"From: ola.vik@example.no\r\nSubject: Meld meg p\xc3\xa5\r\nMessage-ID: <pipe-join@example.no>\r\n\r\n";
    let kept = run_with_input(behind_our_mx(db), &["inbound"], unverified);
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    assert!(
        stdout(&kept).starts_with("inbound #4 other: ") && stdout(&kept).contains("ikke besvart"),
        "{}",
        stdout(&kept)
    );
    assert_eq!(common::outbox_messages(&db.dir().join("outbox")).len(), 1);
    let answered = run(db, &["inbound", "answer", "4"]);
    assert!(answered.status.success(), "{}", stderr(&answered));
    assert_eq!(
        stdout(&answered),
        "inbound #4 subscribe: confirmation link to ola.vik@example.no queued\n"
    );
    assert_eq!(common::outbox_messages(&db.dir().join("outbox")).len(), 2);
    let again = run(db, &["inbound", "answer", "4"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("answered already"),
        "{}",
        stderr(&again)
    );
}

/// A delivery report as an attacker would write it: `X-Failed-Recipients` naming the
/// victim, sent to `to`, quoting `message_id` as the bounced message.
fn forged_report(to: &str, victim: &str, message_id: &str, n: u32) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <forged-{n}@mx.example.org>\r\nX-Failed-Recipients: {victim}\r\n\r\n\
         This message could not be delivered to {victim}: user unknown.\r\n\r\n\
         Message-ID: <{message_id}>\r\n"
    )
    .into_bytes()
}

fn bounce_count(db: &TestDb, address: &str) -> (String, i64) {
    let shown = run(db, &["contacts", "show", address, "--json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    (
        json["status"].as_str().unwrap().to_owned(),
        json["bounce_count"].as_i64().unwrap(),
    )
}

/// The attack of issue 16: reports that anyone can write (a guessed VERP id, the
/// Message-ID, a made-up signature) used to make a confirmed contact bounced. Only a
/// report to the signed bounce address of the real delivery counts.
async fn forged_bounces_on_the_pipe_count_nothing(db: &TestDb) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    let victim = "offer@example.org";
    for args in [
        &["issue", "import", fixture][..],
        &["contacts", "add", victim, "--note", "telefon"],
        &["issue", "send", "2024-q1", "--follow"],
    ] {
        let output = run(db, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    let sent = common::outbox_messages(&db.dir().join("outbox"));
    assert_eq!(sent.len(), 1);
    let message = mail_parser::MessageParser::default()
        .parse(&sent[0])
        .unwrap();
    let message_id = message.message_id().unwrap().to_owned();
    let return_path = message.header_raw("Return-Path").unwrap().trim();
    let signed = return_path.trim_matches(['<', '>']).to_owned();
    // nyhetsbrev+d<id>-<16 hex digits>@example.org
    let (unsigned, signature) = signed.rsplit_once('-').unwrap();
    assert!(unsigned.starts_with("nyhetsbrev+d"), "{signed}");
    assert_eq!(signature.len(), 16 + "@example.org".len(), "{signed}");
    assert!(
        !message_id.starts_with("1."),
        "no contact id in {message_id}"
    );

    let forgeries = [
        // The old guess: delivery 1, Message-ID <contact id>.<slug>@domain.
        forged_report(
            "nyhetsbrev+d1@example.org",
            victim,
            "1.2024-q1@example.org",
            1,
        ),
        // The real Message-ID, to the plain from address.
        forged_report("nyhetsbrev@example.org", victim, &message_id, 2),
        // The right delivery with a made-up signature.
        forged_report(
            &format!("{unsigned}-0123456789abcdef@example.org"),
            victim,
            &message_id,
            3,
        ),
    ];
    for (i, forged) in forgeries.iter().enumerate() {
        let handled = run_with_input(nyhetsbrev(db), &["inbound"], forged);
        assert_eq!(handled.status.code(), Some(0), "{}", stderr(&handled));
        assert!(
            stdout(&handled).contains(" forged: ") && stdout(&handled).contains("not counted"),
            "forgery {i}: {}",
            stdout(&handled)
        );
    }
    assert_eq!(bounce_count(db, victim), ("confirmed".into(), 0));
    let listed = run(db, &["inbound", "list", "--kind", "forged", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");

    // The receiving server's report, to the address it saw, counts once.
    let genuine = forged_report(&signed, victim, &message_id, 4);
    let handled = run_with_input(nyhetsbrev(db), &["inbound"], &genuine);
    assert!(
        stdout(&handled).contains(" bounce: hard bounce"),
        "{}",
        stdout(&handled)
    );
    assert_eq!(bounce_count(db, victim), ("confirmed".into(), 1));
    // The same report through the envelope only (an MTA pipe's ${original_recipient}).
    let by_envelope = forged_report("nyhetsbrev@example.org", victim, &message_id, 5);
    let handled = run_with_input(
        nyhetsbrev(db),
        &["inbound", "--recipient", &signed],
        &by_envelope,
    );
    assert!(
        stdout(&handled).contains("already counted"),
        "{}",
        stdout(&handled)
    );
}

/// Anyone can write `From: victim` and "meld meg av": that used to remove the victim.
/// Now only a sender the receiving server vouches for leaves at once; otherwise the
/// victim's own mailbox gets a leave link (once per ten minutes, however many forgeries).
async fn a_spoofed_unsubscribe_on_the_pipe_only_mails_a_leave_link(db: &TestDb) {
    let victim = "offer@example.org";
    assert!(
        run(db, &["contacts", "add", victim, "--note", "telefon"])
            .status
            .success()
    );
    let forged = |n: u32, headers: &str| {
        format!(
            "{headers}From: {victim}\r\nTo: nyhetsbrev@example.org\r\nSubject: Meld meg av\r\n\
             Message-ID: <spoof-{n}@evil.example>\r\n\r\nFjern meg fra listen.\r\n"
        )
        .into_bytes()
    };
    let mut trusting = nyhetsbrev(db);
    trusting.env("NYHETSBREV_TRUSTED_AUTHSERV_ID", "mx.kom.example.org");
    let handled = run_with_input(
        trusting,
        &["inbound"],
        // The forger's own Authentication-Results, naming some other server.
        &forged(
            1,
            "Authentication-Results: mx.evil.example; dmarc=pass header.from=example.org\r\n",
        ),
    );
    assert_eq!(handled.status.code(), Some(0), "{}", stderr(&handled));
    assert!(
        stdout(&handled).contains("leave link"),
        "{}",
        stdout(&handled)
    );
    for n in 2..5 {
        let handled = run_with_input(nyhetsbrev(db), &["inbound"], &forged(n, ""));
        assert!(
            stdout(&handled).contains("rate limit"),
            "{}",
            stdout(&handled)
        );
    }
    assert_eq!(bounce_count(db, victim).0, "confirmed", "still on the list");
    let mails = common::outbox_messages(&db.dir().join("outbox"));
    assert_eq!(mails.len(), 1, "one leave link for four forgeries");
    let mail = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert_eq!(mail.to().unwrap().first().unwrap().address(), Some(victim));
    let text = mail.body_text(0).unwrap().into_owned();
    let start = text.find("/avmeld/").unwrap();
    let token: String = text[start + "/avmeld/".len()..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    // The mailbox's owner uses the link: out.
    let secret = nyhetsbrev::domain::TokenSecret::parse(&token).expect("a link token");
    let left = db
        .store()
        .await
        .unsubscribe(&secret, &nyhetsbrev::store::Actor::parse("web:unsubscribe"))
        .await
        .unwrap();
    assert!(
        matches!(left, nyhetsbrev::store::UnsubscribeOutcome::Unsubscribed(_)),
        "{left:?}"
    );

    // A real request, vouched for by the receiving server, takes effect at once.
    let other = "ekte@example.org";
    assert!(
        run(db, &["contacts", "add", other, "--note", "telefon"])
            .status
            .success()
    );
    let mut trusting = nyhetsbrev(db);
    trusting.env("NYHETSBREV_TRUSTED_AUTHSERV_ID", "mx.kom.example.org");
    let real = format!(
        "Authentication-Results: mx.kom.example.org; dkim=pass header.d=example.org;\r\n \
         dmarc=pass header.from=example.org\r\nFrom: {other}\r\nSubject: Meld meg av\r\n\
         Message-ID: <real@example.org>\r\n\r\n"
    );
    let handled = run_with_input(trusting, &["inbound"], real.as_bytes());
    assert!(
        stdout(&handled).contains("sender verified"),
        "{}",
        stdout(&handled)
    );
    assert_eq!(bounce_count(db, other).0, "unsubscribed");
}

/// A forwarded request would let anyone make us mail a third party: it waits for
/// staff, who answer it with `inbound answer`.
async fn a_forwarded_request_waits_for_staff(db: &TestDb) {
    let handled = run_with_input(
        nyhetsbrev(db),
        &["inbound"],
        &mail_fixture("subscribe-forwarded-inline.eml"),
    );
    assert!(
        stdout(&handled).contains("inbound #1 other: ")
            && stdout(&handled).contains("ikke besvart"),
        "{}",
        stdout(&handled)
    );
    assert!(common::outbox_messages(&db.dir().join("outbox")).is_empty());
    let answered = run(db, &["inbound", "answer", "1"]);
    assert!(answered.status.success(), "{}", stderr(&answered));
    assert!(
        stdout(&answered).contains("confirmation link to nina.lund@example.org queued"),
        "{}",
        stdout(&answered)
    );
    let mails = common::outbox_messages(&db.dir().join("outbox"));
    assert_eq!(mails.len(), 1);
    let mail = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("nina.lund@example.org")
    );
    // Answered once only; an ordinary message cannot be "answered".
    let twice = run(db, &["inbound", "answer", "1"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        stderr(&twice).contains("answered already"),
        "{}",
        stderr(&twice)
    );
    let missing = run(db, &["inbound", "answer", "99"]);
    assert!(
        stderr(&missing).contains("no inbound message 99"),
        "{}",
        stderr(&missing)
    );
    let audit = run(db, &["contacts", "show", "nina.lund@example.org"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
}

/// Without token_key in the settings, the first command that needs one makes the key
/// file beside the database and sends; where no file can be made, nothing is queued and
/// the error says why, in words (a clear refusal, never a panic).
async fn sending_makes_its_key_or_says_why_it_cannot(db: &TestDb) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    for args in [
        &["issue", "import", fixture][..],
        &["contacts", "add", "en@example.org", "--note", "telefon"],
    ] {
        assert!(run(db, args).status.success());
    }
    // A folder that cannot hold the file: its "folder" is a file (root passes every
    // permission check, so a read-only mode would not stop a test run as root).
    let not_a_folder = db.dir().join("ikke-en-mappe");
    std::fs::write(&not_a_folder, "").unwrap();
    let mut nowhere = nyhetsbrev(db);
    nowhere.env_remove("NYHETSBREV_TOKEN_KEY").env(
        "NYHETSBREV_TOKEN_KEY_FILE",
        not_a_folder.join("nyhetsbrev.token_key"),
    );
    let refused = nowhere.args(["issue", "send", "2024-q1"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let error = stderr(&refused);
    assert!(
        error.contains("token_key is not set") && error.contains("nyhetsbrev new-token-key"),
        "{error}"
    );
    // On PostgreSQL a command only reads the file (only serve makes it).
    if db.kind == Kind::Sqlite {
        assert!(
            error.contains("could not make the token key file"),
            "{error}"
        );
    }
    assert!(!error.contains("panicked"), "{error}");
    let status = run(db, &["issue", "status", "2024-q1", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        (json["total"].as_i64(), json["status"].as_str()),
        (Some(0), Some("draft"))
    );
    // Where it can be made, the send makes it beside the database and is queued. On
    // PostgreSQL a command other than serve makes none: one made on another machine
    // would sign mail the service cannot check.
    let mut without = nyhetsbrev(db);
    without.env_remove("NYHETSBREV_TOKEN_KEY");
    let sent = without.args(["issue", "send", "2024-q1"]).output().unwrap();
    if db.kind == Kind::Sqlite {
        assert!(sent.status.success(), "{}", stderr(&sent));
        let file = db.dir().join("test.token_key");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim().len(), 64);
    } else {
        assert_eq!(sent.status.code(), Some(1));
        assert!(stderr(&sent).contains("no key file"), "{}", stderr(&sent));
        assert!(!db.dir().join("nyhetsbrev.token_key").exists());
    }
    // The command that makes a key by hand still makes one the service accepts.
    let made = run(db, &["new-token-key"]);
    assert_eq!(stdout(&made).trim().len(), 64);
}

#[test]
fn inbound_asks_the_mta_to_retry_when_it_cannot_record() {
    let dir = tempfile::tempdir().unwrap();
    let request = mail_fixture("subscribe-english.eml");
    // A database that does not answer.
    let mut down = Command::new(BIN);
    down.current_dir(dir.path())
        .env(
            "NYHETSBREV_DATABASE_URL",
            "postgres://nyhetsbrev@127.0.0.1:1/nyhetsbrev",
        )
        .env_remove("RUST_LOG");
    let started = std::time::Instant::now();
    let output = run_with_input(down, &["inbound"], &request);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
    // It gives up after 5 s, not sqlx's 30 (issue 17); the bound leaves room for a slow
    // machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let error = stderr(&output);
    assert!(
        error.starts_with("error: could not open the database"),
        "{error}"
    );
    assert!(error.contains("try again later"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    // Broken settings are the operator's to fix: the MTA keeps the message meanwhile.
    let mut bad = Command::new(BIN);
    bad.current_dir(dir.path())
        .env("NYHETSBREV_SEND_RATE", "fast")
        .env_remove("RUST_LOG");
    let output = run_with_input(bad, &["inbound"], &request);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
}

async fn staff_accounts_take_their_password_on_stdin(db: &TestDb) {
    let short = run_with_input(nyhetsbrev(db), &["staff", "add", "kom"], b"kort\n");
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("at least 12"), "{}", stderr(&short));
    let added = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "kom"],
        b"et langt passord 123\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(
        stdout(&added),
        "staff account kom added as an administrator (it manages accounts in the web admin)\n",
        "the first account is an administrator"
    );
    let again = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "kom"],
        b"et annet langt passord\n",
    );
    assert_eq!(stdout(&again), "new password set for kom\n");
    let store = db.store().await;
    let hash = store.staff_password_hash("kom").await.unwrap().unwrap();
    assert!(nyhetsbrev::auth::verify_password(
        "et annet langt passord",
        &hash
    ));
    assert!(!hash.contains("passord"), "only the hash is stored");

    // list, passwd, disable, enable.
    let list = run(db, &["staff", "list"]);
    assert!(list.status.success());
    assert!(
        stdout(&list).starts_with("kom ") && stdout(&list).contains("active"),
        "{}",
        stdout(&list)
    );
    let passwd = run_with_input(
        nyhetsbrev(db),
        &["staff", "passwd", "kom"],
        b"et tredje langt passord\n",
    );
    assert!(passwd.status.success(), "{}", stderr(&passwd));
    let hash = store.staff_password_hash("kom").await.unwrap().unwrap();
    assert!(nyhetsbrev::auth::verify_password(
        "et tredje langt passord",
        &hash
    ));
    let unknown = run_with_input(
        nyhetsbrev(db),
        &["staff", "passwd", "ingen"],
        b"et tredje langt passord\n",
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no account named ingen"),
        "{}",
        stderr(&unknown)
    );
    let disabled = run(db, &["staff", "disable", "kom"]);
    assert_eq!(stdout(&disabled), "kom disabled; its sessions ended\n");
    assert!(
        store.staff_password_hash("kom").await.unwrap().is_none(),
        "cannot sign in"
    );
    assert!(stdout(&run(db, &["staff", "list"])).contains("disabled"));
    let enabled = run(db, &["staff", "enable", "kom"]);
    assert_eq!(stdout(&enabled), "kom can sign in again\n");
    assert!(store.staff_password_hash("kom").await.unwrap().is_some());
}

/// Starts `serve` on a free port with `RUST_LOG` at `level`; its address and stderr.
fn start_serve(
    db: &TestDb,
    level: &str,
) -> (
    KillOnDrop,
    String,
    std::io::Lines<BufReader<std::process::ChildStderr>>,
) {
    start_serve_with(db, level, &[])
}

/// [`start_serve`] with more settings in its environment.
fn start_serve_with(
    db: &TestDb,
    level: &str,
    env: &[(&str, &str)],
) -> (
    KillOnDrop,
    String,
    std::io::Lines<BufReader<std::process::ChildStderr>>,
) {
    let mut child = KillOnDrop(
        nyhetsbrev(db)
            .args(["serve"])
            .env("NYHETSBREV_BIND", "127.0.0.1:0")
            .env("RUST_LOG", level)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(address) = line.strip_prefix("nyhetsbrev listening on http://") {
            break address.to_owned();
        }
    };
    (child, address, lines)
}

/// `staff api-token add|list|revoke` end to end with the real binary: the secret is
/// printed once by `add` and opens the API of a running `serve`; `list` never shows
/// it; after `revoke` it opens nothing. Nothing of it reaches the service's log.
async fn api_tokens_are_made_listed_and_revoked_on_the_command_line(db: &TestDb) {
    let bad = run(db, &["staff", "api-token", "add", "a/b"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("1–64"), "{}", stderr(&bad));
    let bad_scope = run(
        db,
        &[
            "staff",
            "api-token",
            "add",
            "Postmottak",
            "--scope",
            "admin",
        ],
    );
    assert!(!bad_scope.status.success());
    assert!(
        stderr(&bad_scope).contains("inbound"),
        "{}",
        stderr(&bad_scope)
    );

    let added = run(
        db,
        &[
            "staff",
            "api-token",
            "add",
            "Postmottak",
            "--scope",
            "inbound",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let printed = stdout(&added);
    assert!(printed.contains("shown this once"), "{printed}");
    let token = printed
        .lines()
        .find(|l| l.starts_with("nbk_"))
        .expect("the secret on a line of its own")
        .to_owned();
    assert_eq!(token.len(), 47);
    let taken = run(db, &["staff", "api-token", "add", "Postmottak"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(stderr(&taken).contains("already"), "{}", stderr(&taken));

    let (mut child, address, lines) = start_serve(db, "info");
    let post = |authorization: &str| {
        let body = "From: ola@example.org\r\nSubject: Meld meg pa\r\n\r\nHei\r\n";
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /admin/api/inbound HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: {authorization}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let accepted = post(&format!("Bearer {token}"));
    assert!(accepted.starts_with("HTTP/1.1 200"), "{accepted}");

    let list = run(db, &["staff", "api-token", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let listed = stdout(&list);
    assert!(
        listed.starts_with("Postmottak ")
            && listed.contains("inbound")
            && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains("never"), "it was used: {listed}");
    let json = run(db, &["staff", "api-token", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "Postmottak");
    assert_eq!(rows[0]["scope"], "inbound");
    assert!(rows[0]["created_by"].as_str().unwrap().starts_with("cli:"));
    assert!(rows[0]["last_used_at"].is_string());
    assert!(rows[0]["revoked_at"].is_null());
    for shown in [&listed, &stdout(&json)] {
        assert!(
            !shown.contains(&token[4..]),
            "no secret in the list: {shown}"
        );
    }

    let revoked = run(db, &["staff", "api-token", "revoke", "Postmottak"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(stdout(&revoked).contains("revoked"));
    let again = run(db, &["staff", "api-token", "revoke", "Postmottak"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("revoked already"),
        "{}",
        stderr(&again)
    );
    let unknown = run(db, &["staff", "api-token", "revoke", "Ingen"]);
    assert_eq!(unknown.status.code(), Some(1));
    let refused = post(&format!("Bearer {token}"));
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let list = stdout(&run(db, &["staff", "api-token", "list"]));
    assert!(list.contains("revoked "), "{list}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
    let log: Vec<String> = lines.map_while(Result::ok).collect();
    let log = log.join("\n");
    assert!(log.contains("inbound message posted"), "{log}");
    assert!(!log.contains(&token[4..]), "no secret in the log: {log}");
}

/// What a Basic-auth name holds is the client's to choose: a line break and escape
/// codes (a forged log line), or a password typed into the wrong field. Neither may
/// reach the log as it was sent (the API takes no passwords: they are not even read).
async fn login_names_never_reach_the_log_raw(db: &TestDb) {
    use base64::Engine;
    let added = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "kom"],
        b"et langt passord 123\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let (mut child, address, lines) = start_serve(db, "info");
    let post = |credentials: &str| {
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /admin/api/inbound HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: Basic {basic}\r\nContent-Length: 1\r\n\r\nx"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    };
    post("ukjent\nFALSK LOGGLINJE admin login ok\x1b[2J:x");
    post("hemmelig-passord-i-navnefeltet:");
    post("kom\n\x1b[31m:feil passord");
    // Each refusal was logged (to stderr, at once) before its answer was sent: the log
    // holds all three by now.
    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
    let log: Vec<String> = lines.map_while(Result::ok).collect();
    let log = log.join("\n");
    assert!(log.contains("admin API refused"), "{log}");
    // Each line carries its request's span: its id, the method and the route, not the
    // path.
    assert!(
        log.lines().any(|l| l.contains("http{request_id=")
            && l.contains(r#" method=POST route="/admin/api/inbound"}"#)),
        "{log}"
    );
    assert!(!log.contains('\x1b'), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("FALSK")), "{log}");
    assert!(!log.contains("FALSK LOGGLINJE"), "{log}");
    assert!(!log.contains("hemmelig-passord-i-navnefeltet"), "{log}");
}

/// A subject with escape codes or a bidirectional override is shown, never run: in
/// `inbound list` always, in `inbound show` on a terminal (piped it stays byte for byte).
async fn attacker_text_never_runs_in_a_staff_terminal(db: &TestDb) {
    let hostile = b"From: angriper@example.org\r\nSubject: =?utf-8?q?Faktura=1B]0;eid=07=1B[2J_=E2=80=AEfdp.exe?=\r\nMessage-ID: <esc@example.org>\r\n\r\nHei\x1b[31m r\xc3\xb8d\x1b[0m\r\n";
    let handled = run_with_input(nyhetsbrev(db), &["inbound"], hostile);
    assert_eq!(handled.status.code(), Some(0), "{}", stderr(&handled));
    // A row recorded before subjects were stored as one line.
    db.execute(
        "INSERT INTO inbound_messages (received_at, channel, raw_sha256, raw, size, subject, kind, result) \
         VALUES (0, 'stdin', 'old', 'x', 1, 'gammel\x1b[2Jlinje\r\nFALSK', 'other', 'kept')",
    )
    .await;
    let listed = run(db, &["inbound", "list"]);
    let text = stdout(&listed);
    assert!(listed.status.success(), "{}", stderr(&listed));
    for bad in ['\x1b', '\u{202e}', '\x07', '\r'] {
        assert!(!text.contains(bad), "{bad:?} in {text:?}");
    }
    assert!(text.contains("Faktura"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("FALSK")), "{text}");

    // Piped: exactly as it came.
    let shown = run(db, &["inbound", "show", "1"]);
    assert_eq!(shown.stdout, hostile);
    // On a terminal (a pseudo-terminal through script(1)): escaped.
    let command = format!("{BIN} inbound show 1");
    let terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(db.dir())
        .env("NYHETSBREV_DATABASE_URL", db.url.expose())
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    assert!(terminal.status.success(), "{}", stderr(&terminal));
    let seen = String::from_utf8_lossy(&terminal.stdout);
    assert!(!seen.contains('\x1b'), "{seen:?}");
    assert!(seen.contains("\\u{1b}[31m"), "{seen:?}");
    assert!(seen.contains("Message-ID: <esc@example.org>"), "{seen:?}");
}

/// `staff add`: the first account is an administrator, later ones only with `--admin`;
/// `--email` keeps the address the owner is told at (a bad one is refused).
async fn staff_add_makes_administrators_and_keeps_an_address(db: &TestDb) {
    let password = b"et langt passord 123\n";
    let first = run_with_input(nyhetsbrev(db), &["staff", "add", "kari"], password);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("as an administrator"),
        "{}",
        stdout(&first)
    );
    let plain = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "ola", "--email", "ola@example.no"],
        password,
    );
    assert_eq!(stdout(&plain), "staff account ola added\n");
    let admin = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "--admin", "per"],
        password,
    );
    assert!(
        stdout(&admin).contains("as an administrator"),
        "{}",
        stdout(&admin)
    );
    let bad = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "lise", "--email", "ikke en adresse"],
        password,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("not a valid e-mail"),
        "{}",
        stderr(&bad)
    );

    let store = db.store().await;
    let accounts = store.staff_accounts().await.unwrap();
    let of = |name: &str| accounts.iter().find(|a| a.username == name).unwrap();
    assert!(of("kari").is_admin);
    assert!(!of("ola").is_admin);
    assert_eq!(of("ola").email.as_deref(), Some("ola@example.no"));
    assert!(of("per").is_admin);
    assert!(
        !accounts.iter().any(|a| a.username == "lise"),
        "nothing made"
    );
    // An existing account is made an administrator with `--admin`.
    let promoted = run_with_input(
        nyhetsbrev(db),
        &["staff", "add", "--admin", "ola"],
        password,
    );
    assert_eq!(
        stdout(&promoted),
        "new password set for ola, now an administrator\n"
    );
    assert!(store.staff_is_admin("ola").await.unwrap());
    let list = stdout(&run(db, &["staff", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("ola ") && l.ends_with("administrator")),
        "{list}"
    );
}

/// `contacts edit --status` off the list and `contacts remove` skip the contact's queued
/// deliveries of an issue being sent in that same change, before any worker claims
/// them; unsubscribed by staff leaves every publication, as the person's own link does.
async fn contacts_taken_off_on_the_command_line_are_skipped_at_once(db: &TestDb) {
    let store = db.store().await;
    let mut id = std::collections::BTreeMap::new();
    for address in [
        "blir@example.org",
        "av@example.org",
        "avvist@example.org",
        "venter@example.org",
        "slett@example.org",
    ] {
        let contact = store
            .add_contact(
                &common::new_contact(address, nyhetsbrev::domain::ContactStatus::Confirmed),
                &nyhetsbrev::store::Actor::parse("cli:test"),
            )
            .await
            .unwrap();
        id.insert(address, contact.id);
    }
    let issue = common::queue::sending_newsletter(&store, "2024-q1").await;
    for (address, status) in [
        ("av@example.org", "unsubscribed"),
        ("avvist@example.org", "bounced"),
        ("venter@example.org", "pending"),
    ] {
        let edited = run(db, &["contacts", "edit", address, "--status", status]);
        assert!(edited.status.success(), "{}", stderr(&edited));
    }
    let removed = run(db, &["contacts", "remove", "slett@example.org", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));

    let off = [
        id["av@example.org"],
        id["avvist@example.org"],
        id["venter@example.org"],
    ];
    common::queue::assert_skipped_at_once(db, issue, &off).await;
    assert_eq!(
        common::queue::delivery_status(db, issue, id["slett@example.org"]).await,
        None
    );
    assert_eq!(
        common::queue::claim_all(&store, issue).await,
        [id["blir@example.org"]].into()
    );
    assert!(
        common::subscribed_to(&store, id["av@example.org"])
            .await
            .is_empty()
    );
    assert_eq!(
        common::subscribed_to(&store, id["avvist@example.org"])
            .await
            .len(),
        3
    );
}

/// Issue 30's consent rules, kept by the operation for every front end (tests/
/// web_contacts.rs runs them on the staff pages): a note, a day that has come, and a
/// source staff record; each refusal names its option, in one line.
async fn consent_is_recorded_by_the_rules_the_web_keeps(db: &TestDb) {
    let bare = run(db, &["contacts", "add", "kari@example.org"]);
    assert_eq!(bare.status.code(), Some(1));
    let err = stderr(&bare);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: a consent note is required") && err.contains("(--note)"),
        "{err}"
    );
    let both = run(
        db,
        &[
            "contacts",
            "add",
            "kari@example.org",
            "--consent-date",
            "2999-01-01",
        ],
    );
    let err = stderr(&both);
    assert_eq!(both.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the consent date is in the future: give the day the person asked (--consent-date); a consent note is required"),
        "{err}"
    );
    // The sources the service records itself are not offered.
    for source in ["web", "import"] {
        let out = run(
            db,
            &[
                "contacts",
                "add",
                "kari@example.org",
                "--note",
                "telefon",
                "--source",
                source,
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{source}: {err}");
        assert!(
            err.contains("[possible values: email-request, staff]"),
            "{err}"
        );
    }
    // Read as one line: clap wraps the help to the terminal's width.
    let help = stdout(&run(db, &["contacts", "add", "--help"]))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("[possible values: email-request, staff]"),
        "{help}"
    );
    assert_eq!(contact_count(db), 0, "nothing written");

    // Confirming someone who left: new consent, documented, from a staff source.
    let added = run(
        db,
        &[
            "contacts",
            "add",
            "kari@example.org",
            "--note",
            "e-post 12.03.2025",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let left = run(
        db,
        &[
            "contacts",
            "edit",
            "kari@example.org",
            "--status",
            "unsubscribed",
        ],
    );
    assert!(left.status.success(), "{}", stderr(&left));
    let empty = run(
        db,
        &[
            "contacts",
            "edit",
            "kari@example.org",
            "--status",
            "confirmed",
            "--consent-note",
            " ",
        ],
    );
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        stderr(&empty).contains("a consent note is required")
            && stderr(&empty).contains("(--consent-note)"),
        "{}",
        stderr(&empty)
    );
    let web = run(
        db,
        &[
            "contacts",
            "edit",
            "kari@example.org",
            "--status",
            "confirmed",
            "--consent-note",
            "ringte",
            "--consent-source",
            "web",
        ],
    );
    assert_eq!(web.status.code(), Some(2), "{}", stderr(&web));

    // An import refuses a row dated ahead, naming the column, and carries an old
    // list's sources over.
    let file = db.dir().join("gammel.csv");
    std::fs::write(
        &file,
        "email,consent_date,consent_source\nfram@example.org,2999-01-01,staff\ngammel@example.org,2024-01-10,web\n",
    )
    .unwrap();
    let imported = run(db, &["contacts", "import", file.to_str().unwrap()]);
    assert_eq!(imported.status.code(), Some(3), "{}", stderr(&imported));
    assert!(
        stdout(&imported).starts_with(
            "line 2: rejected: consent_date: the consent date is in the future: give the day the person asked\n"
        ),
        "{}",
        stdout(&imported)
    );
    let shown = stdout(&run(db, &["contacts", "show", "gammel@example.org"]));
    assert!(
        shown.contains("consent:       web at 2024-01-10T00:00:00Z")
            && shown.contains("consent note:  importert fra gammel.csv"),
        "{shown}"
    );
}

/// A planned send's time is the operation's rule (the web's send page keeps it too,
/// tests/web_staff.rs): one that has passed is refused, never sent at once.
async fn a_send_is_planned_for_a_time_ahead_never_one_past(db: &TestDb) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    for args in [
        &["issue", "import", fixture][..],
        &["contacts", "add", "en@example.org", "--note", "telefon"],
    ] {
        let output = run(db, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    let past = run(
        db,
        &[
            "issue",
            "send",
            "2024-q1",
            "--at",
            "2020-01-01T09:00:00+01:00",
        ],
    );
    assert_eq!(past.status.code(), Some(1));
    assert_eq!(
        stderr(&past),
        "error: the planned time 2020-01-01T08:00:00Z has passed: give a time ahead, or send now\n"
    );
    let store = db.store().await;
    let slug = nyhetsbrev::domain::Slug::parse("2024-q1").unwrap();
    let issue = store.issue(&slug).await.unwrap().unwrap();
    assert_eq!(issue.status.as_str(), "draft", "nothing sent");
    assert!(issue.plan.is_none());

    let ahead = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let planned = run(db, &["issue", "send", "2024-q1", "--at", &ahead]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    assert!(
        stdout(&planned).starts_with("planned 2024-q1 for 1 contacts at "),
        "{}",
        stdout(&planned)
    );
    let issue = store.issue(&slug).await.unwrap().unwrap();
    assert_eq!(issue.status.as_str(), "draft", "not yet");
    assert!(issue.plan.is_some());
}
