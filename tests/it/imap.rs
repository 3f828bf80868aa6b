//! Reading requests and bounces from a real IMAP mailbox: a throwaway Dovecot per test,
//! plain and TLS (STARTTLS and implicit), on SQLite and PostgreSQL.

use crate::common;

use std::time::Duration;

use common::dovecot::{self, Dovecot};
use common::smtp_sink::SmtpSink;
use common::{TestDb, email, new_contact};
use futures_util::TryStreamExt;
use nyhetsbrev::config::Settings;
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::inbound::Inbound;
use nyhetsbrev::inbound::imap::{HANDLED_FLAG, ImapMailbox, PollReport, REFUSED_FLAG};
use nyhetsbrev::store::{Actor, Store};

on_both_backends!(
    handled_mail_is_moved_never_deleted_and_read_once,
    a_message_that_cannot_be_handled_now_waits_for_the_next_poll,
    without_a_processed_folder_mail_is_flagged_in_place,
    an_oversized_message_is_left_for_staff_unread,
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/mail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

struct Setup {
    store: Store,
    sink: SmtpSink,
    settings: Settings,
}

async fn setup(db: &TestDb) -> Setup {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.smtp_timeout = 2.0;
    // The fixtures' requests to join carry this server's Authentication-Results.
    settings.trusted_authserv_id = Some("mx.example.no".into());
    Setup {
        store,
        sink,
        settings,
    }
}

impl Setup {
    fn mailbox(&self, url: &str, processed: &str) -> ImapMailbox {
        ImapMailbox::from_url(url, processed, None, Duration::from_secs(5)).unwrap()
    }

    fn inbound(&self) -> Inbound {
        nyhetsbrev::startup::inbound(self.store.clone(), &self.settings).unwrap()
    }
}

/// UIDs and flags of every message in a folder.
async fn folder(server: &Dovecot, name: &str) -> Vec<(u32, Vec<String>)> {
    let mut session = server.session().await;
    let mailbox = session.select(name).await.unwrap();
    let mut out = Vec::new();
    if mailbox.exists > 0 {
        let fetched: Vec<_> = session
            .fetch("1:*", "(UID FLAGS)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for f in fetched {
            let flags = f.flags().map(|flag| format!("{flag:?}")).collect();
            out.push((f.uid.unwrap(), flags));
        }
    }
    session.logout().await.unwrap();
    out
}

async fn append(server: &Dovecot, raws: &[Vec<u8>]) {
    let mut session = server.session().await;
    for raw in raws {
        session.append("INBOX", None, None, raw).await.unwrap();
    }
    session.logout().await.unwrap();
}

async fn handled_mail_is_moved_never_deleted_and_read_once(db: &TestDb) {
    if !dovecot::available() {
        return;
    }
    let s = setup(db).await;
    s.store
        .add_contact(
            &new_contact("kari.nordmann@example.org", ContactStatus::Confirmed),
            &Actor::parse("cli:test"),
        )
        .await
        .unwrap();
    let server = Dovecot::plain();
    let mail = [
        fixture("subscribe-nynorsk.eml"),
        fixture("unsubscribe-bokmal.eml"),
        fixture("vacation-english.eml"),
        fixture("question.eml"),
    ];
    append(&server, &mail).await;
    let mailbox = s.mailbox(&server.plain_url(), "Behandlet");
    let inbound = s.inbound();
    let report = mailbox.poll_once(&inbound).await.unwrap();
    assert_eq!(
        report,
        PollReport {
            handled: 4,
            refused: 0,
            deferred: 0
        }
    );
    // The request got its confirmation; the person who asked to leave got a leave link
    // (no receiving server vouched for the sender), and stays until they use it.
    let mailed = s.sink.received();
    assert_eq!(mailed.len(), 2);
    let mut to: Vec<String> = mailed.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    to.sort();
    assert_eq!(to, ["kari.nordmann@example.org", "ola.vik@example.no"]);
    let kari = s
        .store
        .existing_contact(&email("kari.nordmann@example.org"))
        .await
        .unwrap();
    assert_eq!(kari.status, ContactStatus::Confirmed);
    // All four moved, flagged as handled and still unread for staff; none deleted.
    assert!(folder(&server, "INBOX").await.is_empty());
    let processed = folder(&server, "Behandlet").await;
    assert_eq!(processed.len(), 4);
    for (_, flags) in &processed {
        assert!(flags.iter().any(|f| f.contains(HANDLED_FLAG)), "{flags:?}");
        assert!(
            !flags.iter().any(|f| f == "Seen"),
            "not marked read: {flags:?}"
        );
    }
    let recorded = s.store.list_inbound(None, 10).await.unwrap();
    assert_eq!(recorded.len(), 4);
    assert!(recorded.iter().all(|e| e.channel == "imap"));
    // Nothing new: the next poll does nothing.
    assert_eq!(
        mailbox.poll_once(&inbound).await.unwrap(),
        PollReport::default()
    );
    assert_eq!(s.sink.count(), 2);
}

async fn a_message_that_cannot_be_handled_now_waits_for_the_next_poll(db: &TestDb) {
    if !dovecot::available() {
        return;
    }
    let s = setup(db).await;
    let server = Dovecot::plain();
    append(&server, &[fixture("subscribe-english.eml")]).await;
    let mailbox = s.mailbox(&server.plain_url(), "Behandlet");
    let inbound = s.inbound();
    // The database cannot record it now (its table is away for a moment).
    db.execute("ALTER TABLE inbound_messages RENAME TO inbound_away")
        .await;
    let report = mailbox.poll_once(&inbound).await.unwrap();
    assert_eq!(report.deferred, 1);
    let inbox = folder(&server, "INBOX").await;
    assert_eq!(inbox.len(), 1, "left where it was");
    assert!(!inbox[0].1.iter().any(|f| f.contains(HANDLED_FLAG)));
    db.execute("ALTER TABLE inbound_away RENAME TO inbound_messages")
        .await;
    assert!(s.store.list_inbound(None, 10).await.unwrap().is_empty());
    let report = mailbox.poll_once(&inbound).await.unwrap();
    assert_eq!(report.handled, 1);
    assert_eq!(s.sink.count(), 1);
    assert!(folder(&server, "INBOX").await.is_empty());
}

async fn without_a_processed_folder_mail_is_flagged_in_place(db: &TestDb) {
    if !dovecot::available() {
        return;
    }
    let s = setup(db).await;
    let server = Dovecot::plain();
    append(
        &server,
        &[fixture("question.eml"), fixture("ambiguous.eml")],
    )
    .await;
    let mailbox = s.mailbox(&server.plain_url(), "");
    let inbound = s.inbound();
    assert_eq!(mailbox.poll_once(&inbound).await.unwrap().handled, 2);
    let inbox = folder(&server, "INBOX").await;
    assert_eq!(inbox.len(), 2, "nothing moved or deleted");
    assert!(
        inbox
            .iter()
            .all(|(_, f)| f.iter().any(|f| f.contains(HANDLED_FLAG)))
    );
    assert_eq!(
        mailbox.poll_once(&inbound).await.unwrap(),
        PollReport::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_verified_and_used_for_the_login() {
    if !dovecot::available() {
        return;
    }
    let db = TestDb::sqlite().await;
    let s = setup(&db).await;
    let server = Dovecot::tls();
    server.deliver("1.request", &fixture("subscribe-bokmal.eml"));
    let inbound = s.inbound();
    let cert = server.cert();
    let with_ca = |url: &str| {
        ImapMailbox::from_url(url, "Behandlet", Some(&cert), Duration::from_secs(5)).unwrap()
    };
    // Plain text is refused by a server that requires TLS for a remote client.
    let plain = s.mailbox(&server.plain_url(), "Behandlet");
    let error = plain.poll_once(&inbound).await.unwrap_err().to_string();
    assert!(error.contains("refused the login"), "{error}");
    // A certificate nobody vouches for is refused.
    let untrusted = s.mailbox(
        &format!(
            "imaps://kom:secret@{}:{}/INBOX",
            server.ip,
            server.tls_port.unwrap()
        ),
        "Behandlet",
    );
    let error = untrusted.poll_once(&inbound).await.unwrap_err().to_string();
    assert!(error.contains("TLS"), "{error}");
    assert!(!error.contains("secret"), "{error}");
    // STARTTLS with the server's CA trusted.
    let starttls = with_ca(&format!(
        "imap://kom:secret@{}:{}/INBOX",
        server.ip, server.port
    ));
    assert_eq!(starttls.poll_once(&inbound).await.unwrap().handled, 1);
    // Implicit TLS.
    server.deliver("2.request", &fixture("subscribe-english.eml"));
    let implicit = with_ca(&format!(
        "imaps://kom:secret@{}:{}/INBOX",
        server.ip,
        server.tls_port.unwrap()
    ));
    assert_eq!(implicit.poll_once(&inbound).await.unwrap().handled, 1);
    assert_eq!(s.sink.count(), 2);
}

#[test]
fn serve_reads_the_mailbox_and_poll_once_reports() {
    if !dovecot::available() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Dovecot::plain();
    runtime.block_on(append(
        &server,
        &[fixture("subscribe-bokmal.eml"), fixture("question.eml")],
    ));
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_nyhetsbrev");
    let polled = std::process::Command::new(bin)
        .args(["inbound", "poll", "--once"])
        .current_dir(dir.path())
        .env("NYHETSBREV_IMAP_URL", server.plain_url())
        .env("NYHETSBREV_TRUSTED_AUTHSERV_ID", "mx.example.no")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&polled.stdout);
    assert!(
        polled.status.success(),
        "{}",
        String::from_utf8_lossy(&polled.stderr)
    );
    assert!(
        out.contains("2 handled, 0 refused, 0 left for later"),
        "{out}"
    );
    assert!(
        !out.contains("secret"),
        "the password is never printed: {out}"
    );
    // No relay: the confirmation is in the outbox.
    assert_eq!(common::outbox_messages(&dir.path().join("outbox")).len(), 1);

    // `serve` polls on its own.
    runtime.block_on(append(&server, &[fixture("subscribe-english.eml")]));
    let mut serve = common::KillOnDrop(
        std::process::Command::new(bin)
            .arg("serve")
            .current_dir(dir.path())
            .env("NYHETSBREV_IMAP_URL", server.plain_url())
            .env("NYHETSBREV_IMAP_POLL_INTERVAL", "0.2")
            .env("NYHETSBREV_TRUSTED_AUTHSERV_ID", "mx.example.no")
            .env("NYHETSBREV_BIND", "127.0.0.1:0")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::eventually_blocking("serve reads the mailbox", Duration::from_secs(20), || {
        let mails = common::outbox_messages(&dir.path().join("outbox")).len();
        common::ok_if(mails >= 2, format!("{mails} mails in the outbox"))
    });
    // SIGTERM stops it cleanly, poller included.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = serve.0.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A message over `inbound_max_size` is judged by the size the server reports: flagged
/// and left in the folder for staff, never downloaded; the rest is handled as usual.
async fn an_oversized_message_is_left_for_staff_unread(db: &TestDb) {
    if !dovecot::available() {
        return;
    }
    let mut s = setup(db).await;
    s.settings.inbound_max_size = 100_000;
    let server = Dovecot::plain();
    let mut big = fixture("question.eml");
    big.extend(std::iter::repeat_n(b'x', 300_000));
    big.extend_from_slice(b"\r\n");
    append(&server, &[big, fixture("subscribe-english.eml")]).await;
    let mailbox = s.mailbox(&server.plain_url(), "Behandlet");
    let report = mailbox.poll_once(&s.inbound()).await.unwrap();
    assert_eq!(
        report,
        PollReport {
            handled: 1,
            refused: 1,
            deferred: 0
        }
    );
    let inbox = folder(&server, "INBOX").await;
    assert_eq!(inbox.len(), 1, "the big one stays where staff can find it");
    assert!(
        inbox[0].1.iter().any(|f| f.contains(REFUSED_FLAG)),
        "{inbox:?}"
    );
    assert!(!inbox[0].1.iter().any(|f| f == "Seen"), "{inbox:?}");
    let recorded = s.store.list_inbound(None, 10).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].kind, "subscribe");
    // Not looked at again.
    assert_eq!(
        mailbox.poll_once(&s.inbound()).await.unwrap(),
        PollReport::default()
    );
    // Never downloaded: no session sent the client anything like its 300 KB (Dovecot
    // logs each session's bytes out when it ends). Four sessions are looked for; after
    // 5 s the check goes on with those logged by then, at least three.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let sent: Vec<u64> = loop {
        let log = server.log();
        let sent: Vec<u64> = log
            .lines()
            .filter_map(|l| {
                l.split_once(" out=")?
                    .1
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        if sent.len() >= 4 || tokio::time::Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(sent.len() >= 3, "sessions logged: {sent:?}");
    assert!(
        sent.iter().all(|&bytes| bytes < 100_000),
        "bytes out per session: {sent:?}"
    );
}
