//! Sending an issue: the queue, the worker and the relay, with real SMTP conversations
//! against the in-process sink. On SQLite and PostgreSQL.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::smtp_sink::{Received, SmtpSink};
use common::{TestDb, add_confirmed, email, new_contact, numbered_address as address};
use mail_parser::MessageParser;
use nyhetsbrev::config::Settings;
use nyhetsbrev::dispatch::{DispatchSettings, Dispatcher, RunReport};
use nyhetsbrev::domain::{ContactStatus, IssueId, Slug};
use nyhetsbrev::store::{Actor, Store};

on_both_backends!(
    every_confirmed_contact_gets_one_complete_message,
    several_issues_sending_at_once_all_reach_every_contact,
    late_joiners_are_queued_and_nobody_gets_it_twice,
    a_contact_who_unsubscribes_mid_send_is_skipped,
    temporary_failures_are_retried_until_accepted,
    a_permanent_failure_fails_at_once_and_counts_as_a_bounce,
    a_relay_that_is_down_pauses_the_send,
    timeouts_and_dropped_connections_are_retried,
    the_daily_cap_pauses_and_the_send_continues_later,
    cancel_stops_what_is_not_sent_and_send_resumes_it,
    a_test_copy_goes_to_any_address_marked_as_a_test,
    the_relay_login_is_used_and_starttls_is_required_by_default,
);

struct Setup {
    store: Store,
    sink: SmtpSink,
    settings: Settings,
    issue_id: IssueId,
    slug: Slug,
}

async fn setup(db: &TestDb, confirmed: usize) -> Setup {
    let store = db.store().await;
    let (slug, issue_id) = common::sample_draft(&store).await;
    add_confirmed(&store, 0..confirmed).await;
    let sink = SmtpSink::start().await;
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.bounce_address = Some("bounces@example.no".into());
    settings.retry_delay = 0.05;
    settings.max_attempts = 4;
    settings.smtp_timeout = 2.0;
    Setup {
        store,
        sink,
        settings,
        issue_id,
        slug,
    }
}

impl Setup {
    fn dispatcher(&self, change: impl FnOnce(&mut DispatchSettings)) -> Dispatcher {
        let issue_id = self.issue_id;
        nyhetsbrev::startup::dispatcher(self.store.clone(), &self.settings)
            .unwrap()
            .with_settings(|s| {
                s.only_issue = Some(issue_id);
                s.until_done = true;
                s.idle_poll = Duration::from_millis(50);
                change(s);
            })
    }

    /// Sends until the issue has nothing queued (or panics after a minute).
    async fn send_until_done(&self, change: impl FnOnce(&mut DispatchSettings)) -> RunReport {
        finish(self.start_worker(change)).await
    }

    /// A worker sending in the background until the issue has nothing queued.
    fn start_worker(&self, change: impl FnOnce(&mut DispatchSettings)) -> Worker {
        let dispatcher = self.dispatcher(change);
        tokio::spawn(async move {
            // The sender lives as long as the run: a dropped one would read as a stop.
            let (_stop, shutdown) = tokio::sync::watch::channel(false);
            dispatcher.run(shutdown).await
        })
    }

    async fn enqueue(&self) -> nyhetsbrev::store::Enqueued {
        self.store
            .enqueue_issue(&self.slug, &Actor::parse("cli:test"))
            .await
            .unwrap()
    }

    async fn delivery(&self, address: &str) -> (String, i64, Option<String>) {
        let contact = self.store.existing_contact(&email(address)).await.unwrap();
        let problems = self.store.delivery_problems(self.issue_id).await.unwrap();
        match problems.into_iter().find(|p| p.email == address) {
            Some(p) => (p.status.to_string(), p.attempts, p.error),
            None => {
                // Not a problem: sent (or never queued).
                let counts = self.store.send_counts(self.issue_id).await.unwrap();
                assert!(counts.total > 0, "{contact:?}");
                ("sent".into(), -1, None)
            }
        }
    }
}

type Worker = tokio::task::JoinHandle<Result<RunReport, nyhetsbrev::dispatch::DispatchError>>;

/// Waits for a worker to finish (or panics after a minute).
async fn finish(worker: Worker) -> RunReport {
    tokio::time::timeout(Duration::from_secs(60), worker)
        .await
        .expect("the send finishes within a minute")
        .expect("the worker task does not panic")
        .expect("the worker runs without error")
}

/// How many messages each recipient got.
fn per_recipient(received: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in received {
        for to in &message.rcpt_to {
            *counts.entry(to.clone()).or_default() += 1;
        }
    }
    counts
}

async fn every_confirmed_contact_gets_one_complete_message(db: &TestDb) {
    let s = setup(db, 1000).await;
    for (address, status) in [
        ("venter@example.org", ContactStatus::Pending),
        ("borte@example.org", ContactStatus::Unsubscribed),
    ] {
        s.store
            .add_contact(&new_contact(address, status), &Actor::parse("cli:test"))
            .await
            .unwrap();
    }
    assert_eq!(s.store.count_unqueued(&s.slug).await.unwrap(), 1000);
    let queued = s.enqueue().await;
    assert_eq!(queued.added, 1000);
    let report = s.send_until_done(|_| {}).await;
    assert_eq!(report.sent, 1000);

    let received = s.sink.received();
    assert_eq!(received.len(), 1000);
    let counts = per_recipient(&received);
    assert_eq!(counts.len(), 1000, "1000 different recipients");
    assert!(counts.values().all(|&n| n == 1));
    assert!(!counts.contains_key("venter@example.org"));
    assert!(!counts.contains_key("borte@example.org"));
    let sent = s.store.send_counts(s.issue_id).await.unwrap();
    assert_eq!((sent.total, sent.sent, sent.queued), (1000, 1000, 0));
    let stored = s.store.existing_issue(&s.slug).await.unwrap();
    assert_eq!(stored.status.as_str(), "sent");
    // Leave links prove themselves: nothing was written for them (issue 17).
    assert_eq!(db.count("tokens").await, 0);

    // Every message, parsed back.
    let mut message_ids = std::collections::HashSet::new();
    for r in &received {
        let message = MessageParser::default().parse(&r.data).expect("parses");
        let to = message.to().unwrap().first().unwrap().address().unwrap();
        assert_eq!(r.rcpt_to, [to]);
        assert_eq!(
            message.subject(),
            Some("Nyhetsbrev fra KOM, januar–mars 2024")
        );
        assert_eq!(
            message.from().unwrap().first().unwrap().address(),
            Some("nyhetsbrev@example.no")
        );
        assert!(message.date().is_some());
        let message_id = message.message_id().unwrap();
        assert!(message_id.ends_with(".2024-q1@example.no"), "{message_id}");
        assert!(
            message_ids.insert(message_id.to_owned()),
            "unique Message-ID"
        );
        let header = |name: &str| {
            message
                .header_raw(name)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        assert!(header("List-Id").contains("<nyhetsbrev.nyhetsbrev.example.org>"));
        let unsubscribe = header("List-Unsubscribe");
        assert!(
            unsubscribe.starts_with("<https://nyhetsbrev.example.org/avmeld/")
                && unsubscribe.contains("<mailto:"),
            "{unsubscribe}"
        );
        assert_eq!(
            header("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert_eq!(header("Precedence"), "bulk");
        // VERP: the envelope sender names the delivery, and so does Return-Path.
        assert!(
            r.mail_from.starts_with("bounces+d") && r.mail_from.ends_with("@example.no"),
            "{}",
            r.mail_from
        );
        assert_eq!(header("Return-Path"), format!("<{}>", r.mail_from));
        assert!(message.body_text(0).unwrap().contains(to));
        assert!(message.body_html(0).unwrap().contains("<table"));
    }

    // A personal link works against the running app: one-click unsubscribes its owner.
    let app = common::spawn_app(db).await;
    let first = MessageParser::default().parse(&received[0].data).unwrap();
    let link = first.header_raw("List-Unsubscribe").unwrap().trim();
    let path = &link[1..link.find('>').unwrap()].replace("https://nyhetsbrev.example.org", "");
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // One-click leaves the list the message belongs to (RFC 8058): the newsletter.
    let owner = &received[0].rcpt_to[0];
    let contact = s.store.existing_contact(&email(owner)).await.unwrap();
    let newsletter = s
        .store
        .subscriptions(contact.id)
        .await
        .unwrap()
        .into_iter()
        .find(|sub| sub.publication.as_str() == "nyhetsbrev")
        .unwrap();
    assert!(newsletter.left_at.is_some(), "{newsletter:?}");
    assert_eq!(
        s.store.count_unqueued(&s.slug).await.unwrap(),
        0,
        "and is not queued for it again"
    );
}

/// Three issues queued together: one claim holds deliveries of several issues for the
/// same contact, and every one of them must go out (a lookup that consumed the contact
/// once skipped the others as "removed").
async fn several_issues_sending_at_once_all_reach_every_contact(db: &TestDb) {
    let s = setup(db, 5).await;
    let mut slugs = vec![s.slug.clone()];
    for other in ["2024-q2", "2024-q3"] {
        let source =
            common::SAMPLE_ISSUE.replace("slug = \"2024-q1\"", &format!("slug = \"{other}\""));
        let parsed = nyhetsbrev::render::parse_issue("other.md", &source).unwrap();
        s.store
            .save_draft(&parsed.issue, &source, &Actor::parse("cli:test"))
            .await
            .unwrap();
        slugs.push(parsed.issue.meta.slug);
    }
    for slug in &slugs {
        s.store
            .enqueue_issue(slug, &Actor::parse("cli:test"))
            .await
            .unwrap();
    }
    // One worker for any issue: its claims mix the three issues' rows. It runs until
    // every issue is sent, then stops.
    let dispatcher = s.dispatcher(|settings| {
        settings.only_issue = None;
        settings.until_done = false;
    });
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(async move { dispatcher.run(shutdown).await });
    common::eventually("every issue sent", Duration::from_secs(60), async || {
        let mut statuses = Vec::new();
        for slug in &slugs {
            statuses.push(s.store.existing_issue(slug).await.unwrap().status);
        }
        common::ok_if(
            statuses.iter().all(|status| status.as_str() == "sent"),
            statuses,
        )
    })
    .await;
    stop.send(true).unwrap();
    let report = finish(worker).await;
    assert_eq!(report.sent, 15, "{report:?}");
    assert_eq!(report.skipped, 0, "{report:?}");
    let counts = per_recipient(&s.sink.received());
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
    for slug in &slugs {
        let id = s.store.existing_issue(slug).await.unwrap().id;
        let sent = s.store.send_counts(id).await.unwrap();
        assert_eq!((sent.total, sent.sent, sent.skipped), (5, 5, 0), "{slug}");
    }
}

async fn late_joiners_are_queued_and_nobody_gets_it_twice(db: &TestDb) {
    let s = setup(db, 3).await;
    s.enqueue().await;
    s.send_until_done(|_| {}).await;
    assert_eq!(s.sink.count(), 3);

    add_confirmed(&s.store, 3..5).await;
    let again = s.enqueue().await;
    assert_eq!((again.added, again.existing), (2, 3));
    s.send_until_done(|_| {}).await;
    let counts = per_recipient(&s.sink.received());
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");

    // A third time with no one new: nothing queued, nothing sent.
    assert_eq!(s.enqueue().await.added, 0);
    s.send_until_done(|_| {}).await;
    assert_eq!(s.sink.count(), 5);
}

async fn a_contact_who_unsubscribes_mid_send_is_skipped(db: &TestDb) {
    let mut s = setup(db, 40).await;
    s.settings.send_rate = Some(20.0);
    s.enqueue().await;
    let leaver = s
        .store
        .existing_contact(&email(&address(35)))
        .await
        .unwrap();
    let token = s.store.issue_unsubscribe_token(leaver.id).await.unwrap();
    let worker = s.start_worker(|_| {});
    // At 20 a second the whole batch is claimed at once: the worker holds the leaver's
    // delivery when the unsubscribe comes.
    s.sink.wait_for(5, Duration::from_secs(10)).await;
    s.store
        .unsubscribe(&token, &Actor::parse("web:unsubscribe"))
        .await
        .unwrap();
    finish(worker).await;
    let counts = per_recipient(&s.sink.received());
    assert_eq!(counts.len(), 39);
    assert!(!counts.contains_key(&address(35)));
    let (status, _, reason) = s.delivery(&address(35)).await;
    assert_eq!(status, "skipped");
    assert!(reason.unwrap().contains("left"));
}

async fn temporary_failures_are_retried_until_accepted(db: &TestDb) {
    let s = setup(db, 5).await;
    s.sink.set(|b| {
        b.rcpt_replies.insert(
            address(2),
            vec!["451 4.7.1 Try again later", "452 4.2.2 Mailbox full"],
        );
    });
    s.enqueue().await;
    let report = s.send_until_done(|_| {}).await;
    assert_eq!(report.retried, 2);
    let counts = per_recipient(&s.sink.received());
    assert_eq!(counts.len(), 5);
    assert_eq!(counts[&address(2)], 1);
    let sent = s.store.send_counts(s.issue_id).await.unwrap();
    assert_eq!(sent.sent, 5);
}

async fn a_permanent_failure_fails_at_once_and_counts_as_a_bounce(db: &TestDb) {
    let mut s = setup(db, 4).await;
    s.settings.bounce_threshold = 1;
    s.sink.set(|b| {
        b.rcpt_always
            .insert(address(1), "550 5.1.1 No such user here");
    });
    s.enqueue().await;
    let report = s.send_until_done(|_| {}).await;
    assert_eq!((report.sent, report.failed, report.retried), (3, 1, 0));
    let (status, attempts, error) = s.delivery(&address(1)).await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    assert!(error.unwrap().contains("No such user"));
    let contact = s.store.existing_contact(&email(&address(1))).await.unwrap();
    assert_eq!(contact.status, ContactStatus::Bounced);

    // `issue status` names the failure and its reason.
    let problems = s.store.delivery_problems(s.issue_id).await.unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].email, address(1));
}

async fn a_relay_that_is_down_pauses_the_send(db: &TestDb) {
    let s = setup(db, 20).await;
    s.sink.set(|b| b.down = true);
    s.enqueue().await;
    let worker = s.start_worker(|_| {});
    common::eventually(
        "the worker tries again",
        Duration::from_secs(20),
        async || {
            let tries = s.sink.connections();
            common::ok_if(tries >= 2, format!("{tries} connections"))
        },
    )
    .await;
    let counts = s.store.send_counts(s.issue_id).await.unwrap();
    assert_eq!((counts.queued, counts.failed, counts.retrying), (20, 0, 0));

    s.sink.set(|b| b.down = false);
    finish(worker).await;
    assert_eq!(per_recipient(&s.sink.received()).len(), 20);
    let counts = s.store.send_counts(s.issue_id).await.unwrap();
    assert_eq!((counts.sent, counts.failed), (20, 0));
}

async fn timeouts_and_dropped_connections_are_retried(db: &TestDb) {
    let mut s = setup(db, 6).await;
    s.settings.smtp_timeout = 0.5;
    s.settings.smtp_connections = 1;
    s.sink.set(|b| b.drop_after_data = 1);
    s.enqueue().await;
    s.sink.set(|b| b.stall_after_data = true);
    let worker = s.start_worker(|_| {});
    // A third connection: the first was dropped and the second timed out.
    common::eventually(
        "a dropped and a timed-out connection",
        Duration::from_secs(20),
        async || {
            let tries = s.sink.connections();
            common::ok_if(tries >= 3, format!("{tries} connections"))
        },
    )
    .await;
    s.sink.set(|b| b.stall_after_data = false);
    let report = finish(worker).await;
    assert!(report.retried >= 2, "{report:?}");
    let counts = per_recipient(&s.sink.received());
    assert_eq!(counts.len(), 6);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let problems = s.store.delivery_problems(s.issue_id).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

async fn the_daily_cap_pauses_and_the_send_continues_later(db: &TestDb) {
    let mut s = setup(db, 5).await;
    s.settings.daily_cap = Some(3);
    s.enqueue().await;
    let worker = s.start_worker(|d| d.cap_recheck = Duration::from_millis(100));
    s.sink.wait_for(3, Duration::from_secs(10)).await;
    // Nothing more may happen: a fixed wait of eight of the worker's rechecks of the cap.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(s.sink.count(), 3, "the cap holds");
    assert_eq!(s.store.send_counts(s.issue_id).await.unwrap().queued, 2);

    // A day passes: the sends move out of the 24-hour window.
    db.execute("UPDATE deliveries SET sent_at = sent_at - 90000000 WHERE sent_at IS NOT NULL")
        .await;
    finish(worker).await;
    assert_eq!(per_recipient(&s.sink.received()).len(), 5);
}

async fn cancel_stops_what_is_not_sent_and_send_resumes_it(db: &TestDb) {
    let s = setup(db, 4).await;
    s.enqueue().await;
    let cancelled = s
        .store
        .cancel_issue(&s.slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    assert_eq!(cancelled, 4);
    s.send_until_done(|_| {}).await;
    assert_eq!(s.sink.count(), 0, "nothing goes out of a cancelled issue");
    let again = s.enqueue().await;
    assert_eq!((again.added, again.resumed), (0, 4));
    s.send_until_done(|_| {}).await;
    assert_eq!(per_recipient(&s.sink.received()).len(), 4);
}

async fn a_test_copy_goes_to_any_address_marked_as_a_test(db: &TestDb) {
    let s = setup(db, 2).await;
    let dispatcher = s.dispatcher(|_| {});
    dispatcher
        .test_send(&s.slug, &email("redaktor@example.no"))
        .await
        .unwrap();
    let received = s.sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["redaktor@example.no"]);
    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(
        message.subject(),
        Some("[TEST] Nyhetsbrev fra KOM, januar–mars 2024")
    );
    // Nothing was queued or recorded: a test is not a send.
    assert_eq!(s.store.send_counts(s.issue_id).await.unwrap().total, 0);
    let stored = s.store.existing_issue(&s.slug).await.unwrap();
    assert_eq!(stored.status.as_str(), "draft");
}

/// DKIM, checked by an independent verifier: dkimpy (Debian's python3-dkim), given the
/// public key in place of a DNS lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_signatures_verify_with_the_public_key_and_cover_the_list_headers() {
    if !common::dkimpy_available() {
        return;
    }
    use std::process::{Command, Stdio};
    let db = TestDb::sqlite().await;
    let key = common::dkim_key(db.dir(), "dkim.pem", common::DkimAlgorithm::Rsa(2048));
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    use base64::Engine;
    let public = base64::engine::general_purpose::STANDARD.encode(public.stdout);

    let mut s = setup(&db, 3).await;
    s.settings.dkim_selector = Some("nyhetsbrev2026".into());
    s.settings.dkim_key_file = Some(key);
    s.enqueue().await;
    s.send_until_done(|_| {}).await;
    let received = s.sink.received();
    assert_eq!(received.len(), 3);

    let verify = |message: &[u8]| -> String {
        let script = format!(
            "import sys, dkim\n\
             def dns(name, timeout=5):\n\
             \x20   assert name == b'nyhetsbrev2026._domainkey.example.no.', name\n\
             \x20   return b'v=DKIM1; k=rsa; p={public}'\n\
             print(dkim.verify(sys.stdin.buffer.read(), dnsfunc=dns))\n"
        );
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 with python3-dkim is installed");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), message).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    for r in &received {
        assert_eq!(verify(&r.data), "True");
        let parsed = MessageParser::default().parse(&r.data).unwrap();
        let signature = parsed
            .header_raw("DKIM-Signature")
            .unwrap()
            .replace(['\r', '\n', '\t', ' '], "");
        assert!(
            signature.contains("d=example.no;s=nyhetsbrev2026;"),
            "{signature}"
        );
        assert!(
            signature.contains("list-unsubscribe:list-unsubscribe-post"),
            "{signature}"
        );
        assert!(
            signature.contains(":content-type:from:subject:to:reply-to:cc;"),
            "{signature}"
        );
    }
    // Change the unsubscribe header and the signature no longer holds.
    let text = String::from_utf8(received[0].data.clone()).unwrap();
    let forged = text.replacen(
        "List-Unsubscribe: <https://",
        "List-Unsubscribe: <https://evil.",
        1,
    );
    assert_ne!(forged, text);
    assert_eq!(verify(forged.as_bytes()), "False");
    // A recipient who adds a second Subject, From or To, or a Reply-To or Cc, to a signed
    // issue and sends it on breaks the signature: those names are signed once more than
    // they occur (oversigning).
    let body_start = text.find("\r\nTo: ").unwrap() + 2;
    for added in [
        "Subject: Viktig: oppdater passordet ditt\r\n",
        "From: KOM <kom@example.org>\r\n",
        "To: noen.andre@example.org\r\n",
        "Reply-To: angriper@example.org\r\n",
        "Cc: noen.andre@example.org\r\n",
    ] {
        let mut resent = text.clone();
        resent.insert_str(body_start, added);
        assert_eq!(verify(resent.as_bytes()), "False", "{added}");
    }
}

async fn the_relay_login_is_used_and_starttls_is_required_by_default(db: &TestDb) {
    let mut s = setup(db, 0).await;
    s.sink
        .set(|b| b.require_auth = Some(("kom@example.no".into(), "hemme lig!".into())));
    let to = email("redaktor@example.no");

    // Without the password the relay refuses the message.
    let err = s
        .dispatcher(|_| {})
        .test_send(&s.slug, &to)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Authentication required"), "{err}");

    // With it (percent-encoded in the URL) the message goes through.
    s.settings.smtp_url = Some(
        format!(
            "smtp://kom%40example.no:hemme%20lig%21@127.0.0.1:{}?tls=none",
            s.sink.port
        )
        .into(),
    );
    s.dispatcher(|_| {}).test_send(&s.slug, &to).await.unwrap();
    assert_eq!(s.sink.count(), 1);

    // A plain smtp:// URL demands STARTTLS, which this relay does not offer.
    s.settings.smtp_url = Some(format!("smtp://127.0.0.1:{}", s.sink.port).into());
    let err = s
        .dispatcher(|_| {})
        .test_send(&s.slug, &to)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not offer STARTTLS"), "{err}");
    assert_eq!(s.sink.count(), 1, "nothing sent in the clear");
}

/// With `dkim_ed25519_key_file` a second signature (ed25519-sha256, RFC 8463) goes beside
/// the RSA one; dkimpy checks each against the record `nyhetsbrev doctor` prints for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ed25519_signature_goes_beside_the_rsa_one_and_both_verify() {
    if !common::dkimpy_available() {
        return;
    }
    use std::process::{Command, Stdio};
    let db = TestDb::sqlite().await;
    let rsa = common::dkim_key(db.dir(), "dkim.pem", common::DkimAlgorithm::Rsa(2048));
    let ed25519 = common::dkim_key(db.dir(), "dkim-ed25519.pem", common::DkimAlgorithm::Ed25519);

    let mut s = setup(&db, 2).await;
    s.settings.dkim_selector = Some("kom2026".into());
    s.settings.dkim_key_file = Some(rsa);
    s.settings.dkim_ed25519_key_file = Some(ed25519);
    // The records to publish, as the doctor gives them.
    let signer = nyhetsbrev::mail::DkimSigner::from_settings(&s.settings)
        .unwrap()
        .expect("a signer");
    let (rsa_name, rsa_record) = signer.dns_record();
    let (ed_name, ed_record) = signer.ed25519_dns_record().expect("the Ed25519 record");
    assert_eq!(ed_name, "kom2026-ed25519._domainkey.example.no");
    assert!(
        ed_record.starts_with("v=DKIM1; k=ed25519; p="),
        "{ed_record}"
    );
    s.enqueue().await;
    s.send_until_done(|_| {}).await;
    let received = s.sink.received();
    assert_eq!(received.len(), 2);

    // Each signature by its index; `records` is what DNS answers for each name.
    let verify = |message: &[u8], records: &[(&str, &str)]| -> Vec<String> {
        let answers: String = records
            .iter()
            .map(|(name, record)| format!("b'{name}.': b'{record}', "))
            .collect();
        let script = format!(
            "import sys, dkim\n\
             records = {{{answers}}}\n\
             def dns(name, timeout=5):\n\
             \x20   return records.get(name)\n\
             message = sys.stdin.buffer.read()\n\
             d = dkim.DKIM(message)\n\
             for i in range(2):\n\
             \x20   ok = d.verify(idx=i, dnsfunc=dns)\n\
             \x20   print(d.signature_fields.get(b'a').decode(), ok)\n"
        );
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 with python3-dkim is installed");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), message).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let both = [
        (rsa_name.as_str(), rsa_record.as_str()),
        (ed_name.as_str(), ed_record.as_str()),
    ];
    for r in &received {
        let results = verify(&r.data, &both);
        assert!(
            results.contains(&"rsa-sha256 True".to_owned()),
            "{results:?}"
        );
        assert!(
            results.contains(&"ed25519-sha256 True".to_owned()),
            "{results:?}"
        );
    }
    // The Ed25519 signature stands on its own: against another Ed25519 key it fails
    // while the RSA one still holds.
    let other = common::dkim_key(
        db.dir(),
        "other-ed25519.pem",
        common::DkimAlgorithm::Ed25519,
    );
    let other_signer = nyhetsbrev::mail::DkimSigner::from_pem(
        "example.no",
        "kom2026",
        &std::fs::read_to_string(db.dir().join("dkim.pem")).unwrap(),
    )
    .unwrap()
    .with_ed25519("kom2026-ed25519", &std::fs::read_to_string(other).unwrap())
    .unwrap();
    let (_, other_record) = other_signer.ed25519_dns_record().unwrap();
    let results = verify(
        &received[0].data,
        &[
            (rsa_name.as_str(), rsa_record.as_str()),
            (ed_name.as_str(), other_record.as_str()),
        ],
    );
    assert!(
        results.contains(&"rsa-sha256 True".to_owned()),
        "{results:?}"
    );
    assert!(
        results.contains(&"ed25519-sha256 False".to_owned()),
        "{results:?}"
    );
}
