//! `nyhetsbrev doctor` against real parts: a SQLite file and a PostgreSQL database, the
//! test SMTP sink (with a login), a throwaway Dovecot, a DKIM key from openssl whose
//! printed DNS record dkimpy verifies a signature with, and folders that cannot be used.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::dovecot::{self, Dovecot};
use common::smtp_sink::SmtpSink;
use common::{TEST_TOKEN_KEY, TestDb};
use nyhetsbrev::ops::doctor::{self, Finding, Report, Status};

on_both_backends!(the_database_check_follows_the_schema,);

/// A settings file in the database's folder with `lines` added to the basics.
fn settings_file(db: &TestDb, lines: &str) -> PathBuf {
    let path = db.dir().join("nyhetsbrev.toml");
    std::fs::write(
        &path,
        format!(
            "database_url = \"{}\"\n\
             token_key = \"{TEST_TOKEN_KEY}\"\n\
             from_address = \"nyhetsbrev@kom.example.no\"\n\
             base_url = \"https://nyhetsbrev.kom.example.no\"\n\
             outbox = \"{}\"\n\
             {lines}\n",
            db.url.expose(),
            db.dir().join("outbox").display()
        ),
    )
    .unwrap();
    path
}

fn found<'a>(report: &'a Report, check: &str) -> Vec<&'a Finding> {
    let findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == check)
        .collect();
    assert!(!findings.is_empty(), "no {check} finding in {report:#?}");
    findings
}

fn one<'a>(report: &'a Report, check: &str) -> &'a Finding {
    let findings = found(report, check);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings[0]
}

fn dkim_key(dir: &Path, name: &str, bits: u32) -> PathBuf {
    common::dkim_key(
        dir,
        &format!("{name}.pem"),
        common::DkimAlgorithm::Rsa(bits),
    )
}

/// A message signed with `key`, checked by dkimpy against `record` as the DNS answer
/// for `name`.
fn dkimpy_verifies(key: &Path, name: &str, record: &str) -> bool {
    let pem = std::fs::read_to_string(key).unwrap();
    let signer = nyhetsbrev::mail::DkimSigner::from_pem("kom.example.no", "kom2026", &pem).unwrap();
    let signed = signer
        .sign(
            b"From: KOM <nyhetsbrev@kom.example.no>\r\nTo: a@example.org\r\nSubject: Test\r\n\
              Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@kom.example.no>\r\n\r\nHei\r\n",
        )
        .unwrap();
    let script = format!(
        "import sys, dkim\n\
         def dns(name, timeout=5):\n\
         \x20   return b'{record}' if name == b'{name}.' else None\n\
         print(dkim.verify(sys.stdin.buffer.read(), dnsfunc=dns))\n"
    );
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with python3-dkim is installed");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &signed).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim() == "True"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_installation_passes_every_check_and_gets_its_dns_records() {
    assert!(dovecot::available(), "dovecot-imapd is installed");
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    // A sound installation has someone to sign in with.
    common::staff::add_staff(&store, "kari").await;
    store.close().await;
    let sink = SmtpSink::start().await;
    sink.set(|b| b.require_auth = Some(("kom@example.no".into(), "hemme lig!".into())));
    let imap = Dovecot::plain();
    let key = dkim_key(db.dir(), "dkim", 2048);
    let backups = db.dir().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let file = settings_file(
        &db,
        &format!(
            "smtp_url = \"smtp://kom%40example.no:hemme%20lig%21@127.0.0.1:{}?tls=none\"\n\
             imap_url = \"{}\"\n\
             dkim_selector = \"kom2026\"\n\
             dkim_key_file = \"{}\"\n\
             backup_dir = \"{}\"\n\
             backup_every_hours = 24\n",
            sink.port,
            imap.plain_url(),
            key.display(),
            backups.display()
        ),
    );

    let report = doctor::examine(Some(&file)).await;

    let not_ok: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Ok)
        .collect();
    // The one warning: this relay is spoken to without TLS.
    assert_eq!(not_ok.len(), 1, "{not_ok:#?}");
    assert!(not_ok[0].detail.contains("unencrypted"), "{not_ok:#?}");
    assert_eq!(report.failed(), 0);
    let relay = &found(&report, "relay")[0];
    assert_eq!(relay.status, Status::Ok);
    assert!(
        relay.detail.contains("logged in as kom@example.no"),
        "{relay:?}"
    );
    // Only the greeting, EHLO, AUTH and QUIT: nothing was sent.
    assert_eq!(sink.count(), 0);
    let imap_found = one(&report, "imap");
    assert!(
        imap_found.detail.contains("logged in, 0 messages waiting"),
        "{imap_found:?}"
    );
    // Looking changed nothing: the processed folder is not made by the doctor.
    assert!(
        imap_found.detail.contains("made at the first poll"),
        "{imap_found:?}"
    );
    assert!(one(&report, "dkim").detail.starts_with("2048-bit RSA key"));
    assert!(one(&report, "database").detail.contains("is this build's"));
    assert!(one(&report, "backups").detail.contains("every 24 h"));

    // The DKIM record printed is the one that verifies this key's signatures.
    let dkim = report
        .dns
        .iter()
        .find(|r| r.name == "kom2026._domainkey.kom.example.no")
        .expect("the DKIM record");
    assert!(dkim.value.starts_with("v=DKIM1; k=rsa; p=MII"), "{dkim:?}");
    if common::dkimpy_available() {
        assert!(dkimpy_verifies(&key, &dkim.name, &dkim.value));
        // And another key's record does not.
        let other = dkim_key(db.dir(), "other", 2048);
        assert!(!dkimpy_verifies(&other, &dkim.name, &dkim.value));
    }
    let names: Vec<_> = report.dns.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"kom.example.no"), "SPF: {names:?}");
    assert!(names.contains(&"_dmarc.kom.example.no"), "{names:?}");
    let spf = report
        .dns
        .iter()
        .find(|r| r.name == "kom.example.no")
        .unwrap();
    assert_eq!(spf.value, "v=spf1 mx a:127.0.0.1 ~all");

    // A key too small to sign with is named as such.
    let small = dkim_key(db.dir(), "small", 1024);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&key.display().to_string(), &small.display().to_string());
    std::fs::write(&file, text).unwrap();
    let report = doctor::examine(Some(&file)).await;
    let dkim = one(&report, "dkim");
    assert_eq!(dkim.status, Status::Fail);
    assert!(dkim.detail.contains("fewer than 2048 bits"), "{dkim:?}");
    assert!(!report.dns.iter().any(|r| r.name.contains("_domainkey")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_settings_problem_is_listed_not_only_the_first() {
    let db = TestDb::sqlite().await;
    let file = settings_file(
        &db,
        "send_rate = 0.0\n\
         backup_every_hours = 24\n\
         bind = \"127.0.0.1:8080\"\n\
         metrics_bind = \"127.0.0.1:8080\"\n\
         pending_retention_days = 3\n",
    );
    let report = doctor::examine(Some(&file)).await;
    let settings: Vec<_> = found(&report, "settings")
        .into_iter()
        .map(|f| {
            assert_eq!(f.status, Status::Fail);
            assert!(f.fix.is_some());
            f.detail.as_str()
        })
        .collect();
    assert_eq!(settings.len(), 4, "{settings:#?}");
    for expected in [
        "send_rate",
        "backup_every_hours needs backup_dir",
        "metrics_bind",
        "pending_retention_days",
    ] {
        assert!(
            settings.iter().any(|s| s.contains(expected)),
            "{expected} in {settings:#?}"
        );
    }
    // The other checks still ran.
    assert_eq!(one(&report, "database").status, Status::Warn, "no file yet");

    // A file that cannot be read at all stops there, with the reason.
    std::fs::write(&file, "send_rate = \"fast\"\nunknown_setting = 1\n").unwrap();
    let report = doctor::examine(Some(&file)).await;
    assert!(report.findings.iter().all(|f| f.check == "settings"));
    assert!(report.failed() >= 1);
    let missing = doctor::examine(Some(&db.dir().join("nowhere.toml"))).await;
    assert!(
        missing.findings[0].detail.contains("does not exist"),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_part_fails_with_its_own_fix() {
    assert!(dovecot::available(), "dovecot-imapd is installed");
    let db = TestDb::sqlite().await;
    db.store().await.close().await;
    // A relay that is not there: a port nothing listens on.
    let closed = common::ports::ClosedPort::bind();
    let closed_port = closed.port;
    let imap = Dovecot::plain();
    let wrong_password = imap.plain_url().replace(dovecot::PASSWORD, "wrong");
    let not_a_key = db.dir().join("dkim.pem");
    std::fs::write(&not_a_key, "not a key").unwrap();
    let file = settings_file(
        &db,
        &format!(
            "smtp_url = \"smtp://127.0.0.1:{closed_port}?tls=none\"\n\
             imap_url = \"{wrong_password}\"\n\
             dkim_selector = \"kom2026\"\n\
             dkim_key_file = \"{}\"\n\
             backup_dir = \"{}\"\n",
            not_a_key.display(),
            db.dir().join("no-such-folder").display()
        ),
    );
    let report = doctor::examine(Some(&file)).await;
    for (check, says, fix) in [
        ("relay", "could not connect", "host and port in smtp_url"),
        ("imap", "refused the login", "user and password in imap_url"),
        ("dkim", "not a PEM key", "RSA private key in PEM"),
        ("backups", "not an existing folder", "create it"),
    ] {
        let finding = one(&report, check);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(finding.detail.contains(says), "{finding:?}");
        assert!(finding.fix.as_deref().unwrap().contains(fix), "{finding:?}");
    }

    // A relay that wants a login it is not given, and one given the wrong password.
    let sink = SmtpSink::start().await;
    sink.set(|b| b.require_auth = Some(("kom@example.no".into(), "right".into())));
    let file = settings_file(
        &db,
        &format!(
            "smtp_url = \"smtp://kom%40example.no:wrong@127.0.0.1:{}?tls=none\"\n",
            sink.port
        ),
    );
    let report = doctor::examine(Some(&file)).await;
    let relay = one(&report, "relay");
    assert_eq!(relay.status, Status::Fail, "{relay:?}");
    assert!(relay.detail.contains("refused the login"), "{relay:?}");
    assert!(relay.fix.as_deref().unwrap().contains("user and password"));
    // A relay that demands STARTTLS it does not offer.
    let file = settings_file(
        &db,
        &format!("smtp_url = \"smtp://127.0.0.1:{}\"\n", sink.port),
    );
    let relay_found = doctor::examine(Some(&file)).await;
    let relay = one(&relay_found, "relay");
    assert_eq!(relay.status, Status::Fail, "{relay:?}");
    assert!(
        relay.fix.as_deref().unwrap().contains("STARTTLS"),
        "{relay:?}"
    );

    // No relay: the outbox is the transport, and a file in its place fails.
    std::fs::write(db.dir().join("outbox"), "a file").unwrap();
    let file = settings_file(&db, "base_url = \"http://127.0.0.1:8080\"\n");
    // base_url is given twice now: the file cannot be read, which is reported as such.
    let twice = doctor::examine(Some(&file)).await;
    assert_eq!(twice.failed(), 1, "{twice:#?}");
    assert!(twice.findings[0].detail.contains("base_url"), "{twice:#?}");
    std::fs::write(
        &file,
        format!(
            "database_url = \"{}\"\ntoken_key = \"short\"\nbase_url = \"http://localhost:8080\"\n\
             outbox = \"{}\"\n",
            db.url.expose(),
            db.dir().join("outbox").display()
        ),
    )
    .unwrap();
    let report = doctor::examine(Some(&file)).await;
    assert_eq!(one(&report, "relay").status, Status::Warn);
    let outbox = one(&report, "outbox");
    assert_eq!(outbox.status, Status::Fail, "{outbox:?}");
    assert!(outbox.detail.contains("is not a folder"));
    let base_url = one(&report, "base_url");
    assert_eq!(base_url.status, Status::Warn);
    assert!(
        base_url.detail.contains("links in mail will not open"),
        "{base_url:?}"
    );
    assert_eq!(one(&report, "token_key").status, Status::Fail);
    assert_eq!(one(&report, "dkim").status, Status::Warn);
    assert_eq!(one(&report, "imap").status, Status::Skip);
    assert_eq!(one(&report, "backups").status, Status::Warn);
}

async fn the_database_check_follows_the_schema(db: &TestDb) {
    let file = settings_file(db, "");
    // Nothing migrated yet (on SQLite: no file at all).
    let before = doctor::examine(Some(&file)).await;
    let database = one(&before, "database");
    assert_eq!(database.status, Status::Warn, "{database:?}");
    assert!(
        database.fix.as_deref().unwrap().contains("migrate"),
        "{database:?}"
    );
    // The doctor changed nothing.
    if let Some(path) = db.url.sqlite_path() {
        assert!(!path.exists(), "the doctor made the database file");
    } else {
        let store = nyhetsbrev::store::Store::connect(&db.url).await.unwrap();
        assert!(store.is_empty().await.unwrap());
        store.close().await;
    }

    db.store().await.close().await;
    let current = doctor::examine(Some(&file)).await;
    assert_eq!(one(&current, "database").status, Status::Ok);

    // A database a newer build has migrated.
    db.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, x'00', 1)"
            .replace(
                "x'00'",
                if db.kind == common::Kind::Postgres {
                    "'\\x00'::bytea"
                } else {
                    "x'00'"
                },
            )
            .as_str(),
    )
    .await;
    let newer = doctor::examine(Some(&file)).await;
    let database = one(&newer, "database");
    assert_eq!(database.status, Status::Fail, "{database:?}");
    assert!(
        database.detail.contains("newer than this build"),
        "{database:?}"
    );

    // A database server that is not there.
    if db.kind == common::Kind::Postgres {
        let closed = common::ports::ClosedPort::bind();
        let port = closed.port;
        let away = db.dir().join("away.toml");
        std::fs::write(
            &away,
            format!(
                "database_url = \"postgres://kom:hemmelig@127.0.0.1:{port}/kom\"\ntoken_key = \"{TEST_TOKEN_KEY}\"\n"
            ),
        )
        .unwrap();
        let report = doctor::examine(Some(&away)).await;
        let database = one(&report, "database");
        assert_eq!(database.status, Status::Fail, "{database:?}");
        assert!(
            !database.detail.contains("hemmelig"),
            "the password is never shown"
        );
        assert!(database.fix.as_deref().unwrap().contains("database_url"));
    }
}

/// The command itself: one line per check with the fix beside it, exit 1 on a failure,
/// 0 when only warnings remain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_one_line_per_check_and_exits_by_the_result() {
    let db = TestDb::sqlite().await;
    db.store().await.close().await;
    let file = settings_file(&db, "");
    let run = |file: &Path| {
        common::nyhetsbrev(&db)
            .env_remove("NYHETSBREV_DATABASE_URL")
            .env_remove("NYHETSBREV_TOKEN_KEY")
            .arg("--config")
            .arg(file)
            .arg("doctor")
            .output()
            .unwrap()
    };
    let output = run(&file);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("ok    settings"), "{stdout}");
    assert!(stdout.contains("WARN  relay"), "{stdout}");
    assert!(stdout.contains("-> fix: set smtp_url"), "{stdout}");
    assert!(
        stdout.contains("_dmarc.kom.example.no  TXT  \"v=DMARC1; p=none"),
        "{stdout}"
    );
    // No staff account yet: a warning with what to do.
    assert!(stdout.contains("WARN  staff"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 failed, 4 warnings"),
        "{stdout}"
    );
    // One line per finding.
    let lines = stdout
        .lines()
        .filter(|l| {
            ["ok  ", "WARN", "FAIL", "--  "]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .count();
    assert_eq!(lines, doctor::examine(Some(&file)).await.findings.len());

    std::fs::write(
        &file,
        format!(
            "database_url = \"{}\"\nsend_rate = 0.0\nmax_attempts = 0\n",
            db.url.expose()
        ),
    )
    .unwrap();
    let output = run(&file);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let fails: Vec<_> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(fails.len() >= 2, "send_rate, max_attempts: {stdout}");
    // Without token_key, where the first start will keep it; the doctor makes nothing.
    let key_file = db.dir().join("test.token_key");
    assert!(
        stdout.contains(&format!(
            "ok    token_key       not made yet: the first start makes it and keeps it in {}",
            key_file.display()
        )),
        "{stdout}"
    );
    assert!(!key_file.exists());
    assert!(fails.iter().all(|l| l.contains("-> fix: ")), "{stdout}");
}
