//! Inbound mail: requests to join and leave by e-mail, auto-replies and loops, bounces.
//! The corpus in tests/fixtures/mail/ is classified without a database; the rest runs on
//! SQLite and PostgreSQL with real SMTP to the in-process sink.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::smtp_sink::SmtpSink;
use common::{TestDb, email, new_contact};
use mail_parser::MessageParser;
use nyhetsbrev::config::Settings;
use nyhetsbrev::domain::{ConsentSource, ContactStatus, DeliveryId, IssueId};
use nyhetsbrev::inbound::{Channel, Envelope, Inbound, InboundError, Kind, classify};
use nyhetsbrev::store::{Actor, Store};

on_both_backends!(
    every_fixture_is_recorded_and_none_is_lost,
    a_request_by_mail_is_confirmed_only_by_the_link,
    requests_are_rate_limited_per_address,
    the_same_message_twice_is_handled_once,
    mailto_unsubscribe_from_a_sent_issue_needs_a_verified_sender_or_the_link,
    bounces_of_every_shape_are_matched_to_their_delivery,
    a_relay_that_is_down_delays_the_confirmation,
    a_large_attachment_is_handled_and_an_oversized_message_refused,
    erasing_a_contact_erases_every_mail_from_the_address,
    a_request_by_mail_joins_all_or_the_publication_it_names,
    mail_to_leave_and_bounce_reports_skip_queued_deliveries_at_once,
);

fn fixture_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The delivery the bounce fixtures name unless a test makes its own.
fn delivery_42() -> DeliveryId {
    DeliveryId::parse("42").unwrap()
}

/// A bounce fixture made to point at one delivery.
fn bounce_fixture(
    name: &str,
    delivery_id: DeliveryId,
    message_id: &str,
    recipient: &str,
) -> Vec<u8> {
    String::from_utf8(fixture(name))
        .unwrap()
        .replace("{{DELIVERY}}", &delivery_id.to_string())
        .replace("{{SIGNATURE}}", &common::test_key().bounce_tag(delivery_id))
        .replace("{{MESSAGE_ID}}", message_id)
        .replace("ola.nordmann@example.org", recipient)
        .replace("ola.nordmann wasn't", "the recipient wasn't")
        .into_bytes()
}

/// The authserv-id of the receiving server the tests' settings trust.
const TRUSTED_MX: &str = "mx.example.no";

/// What our receiving server writes above a message whose sender at `domain` passed
/// DMARC: a request to join by mail is answered only with this.
fn verified(domain: &str) -> String {
    format!(
        "Authentication-Results: {TRUSTED_MX}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
    )
}

fn settings_for(db: &TestDb, sink: &SmtpSink) -> Settings {
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.smtp_timeout = 2.0;
    settings.trusted_authserv_id = Some(TRUSTED_MX.into());
    settings
}

async fn setup(db: &TestDb) -> (Store, SmtpSink, Settings, Inbound) {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let settings = settings_for(db, &sink);
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    (store, sink, settings, inbound)
}

async fn handle(inbound: &Inbound, raw: &[u8]) -> nyhetsbrev::inbound::Handled {
    inbound
        .handle(raw, Channel::Stdin, &Envelope::default())
        .await
        .expect("handled")
}

/// What each fixture is taken for; for requests, whose address.
const CORPUS: &[(&str, &str, Option<&str>)] = &[
    (
        "subscribe-bokmal.eml",
        "subscribe",
        Some("kari.nordmann@example.org"),
    ),
    (
        "subscribe-nynorsk.eml",
        "subscribe",
        Some("ola.vik@example.no"),
    ),
    (
        "subscribe-english.eml",
        "subscribe",
        Some("jane.doe@example.org"),
    ),
    (
        "subscribe-body-only.eml",
        "subscribe",
        Some("per.hansen@example.no"),
    ),
    (
        "subscribe-html-only.eml",
        "subscribe",
        Some("lise.berg@example.org"),
    ),
    (
        "subscribe-quoted-printable.eml",
        "subscribe",
        Some("bjorn.asen@example.no"),
    ),
    (
        "subscribe-base64.eml",
        "subscribe",
        Some("siri.dahl@example.org"),
    ),
    ("subscribe-latin1.eml", "subscribe", Some("geir@example.no")),
    (
        "subscribe-utf8-subject.eml",
        "subscribe",
        Some("aeren.ostbo@example.org"),
    ),
    (
        "subscribe-forwarded-inline.eml",
        "subscribe",
        Some("nina.lund@example.org"),
    ),
    (
        "subscribe-forwarded-attached.eml",
        "subscribe",
        Some("tor.eng@example.org"),
    ),
    (
        "subscribe-join-address.eml",
        "subscribe",
        Some("hege.moen@example.no"),
    ),
    (
        "truncated-mime.eml",
        "subscribe",
        Some("truls.berg@example.org"),
    ),
    (
        "encoded-word-injection.eml",
        "subscribe",
        Some("kari.injection@example.org"),
    ),
    (
        "unsubscribe-bokmal.eml",
        "unsubscribe",
        Some("kari.nordmann@example.org"),
    ),
    (
        "unsubscribe-mailto.eml",
        "unsubscribe",
        Some("ola.nordmann@example.org"),
    ),
    (
        "unsubscribe-english.eml",
        "unsubscribe",
        Some("jane.doe@example.org"),
    ),
    (
        "unsubscribe-remove-from-list.eml",
        "unsubscribe",
        Some("per.hansen@example.no"),
    ),
    ("reply-to-newsletter.eml", "other", None),
    ("reply-outlook-style.eml", "other", None),
    ("reply-to-confirmation.eml", "other", None),
    ("ambiguous.eml", "other", None),
    ("question.eml", "other", None),
    ("no-from.eml", "other", None),
    ("bad-from.eml", "other", None),
    ("vacation-bokmal.eml", "automatic", None),
    ("vacation-english.eml", "automatic", None),
    ("vacation-subject-only.eml", "automatic", None),
    ("autoreply-precedence.eml", "automatic", None),
    ("autoreply-x-autoreply.eml", "automatic", None),
    ("mailer-daemon-warning.eml", "automatic", None),
    ("loop-own-address.eml", "loop", None),
    ("loop-list-id.eml", "loop", None),
    ("bounce-postfix.eml", "bounce", None),
    ("bounce-exim.eml", "bounce", None),
    ("bounce-m365.eml", "bounce", None),
    ("bounce-gmail.eml", "bounce", None),
    ("bounce-exchange-legacy.eml", "bounce", None),
    ("bounce-qmail.eml", "bounce", None),
    ("bounce-soft-mailbox-full.eml", "bounce", None),
    ("bounce-delayed.eml", "bounce", None),
    ("bounce-by-message-id.eml", "bounce", None),
    ("bounce-forged.eml", "bounce", None),
    ("empty.eml", "unreadable", None),
    ("binary-garbage.bin", "unreadable", None),
];

fn test_own() -> nyhetsbrev::inbound::OwnAddresses {
    let settings = Settings {
        from_address: "nyhetsbrev@example.no".into(),
        token_key: Some(common::TEST_TOKEN_KEY.into()),
        ..Default::default()
    };
    nyhetsbrev::startup::own_addresses(&settings).unwrap()
}

#[test]
fn the_corpus_covers_every_fixture() {
    let mut files: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every fixture has an expected outcome");
}

#[test]
fn every_fixture_is_taken_for_what_it_is() {
    let own = test_own();
    for (file, kind, address) in CORPUS {
        let raw = if file.starts_with("bounce-") {
            bounce_fixture(
                file,
                delivery_42(),
                "7.2024-q1@example.no",
                "ola.nordmann@example.org",
            )
        } else {
            fixture(file)
        };
        let classified = classify(&raw, &own, &Envelope::default());
        assert_eq!(
            classified.kind.as_str(),
            *kind,
            "{file}: {:?}",
            classified.kind
        );
        match (&classified.kind, address) {
            (
                Kind::Subscribe { address: a, .. } | Kind::Unsubscribe { address: a, .. },
                Some(want),
            ) => {
                assert_eq!(a.as_str(), *want, "{file}")
            }
            (_, None) => {}
            (other, Some(_)) => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn bounce_reports_name_delivery_recipient_and_severity() {
    let own = test_own();
    // (file, hard, status, matched by the bounce address)
    let shapes = [
        ("bounce-postfix.eml", true, "5.1.1", true),
        ("bounce-exim.eml", true, "5.1.1", true),
        ("bounce-m365.eml", true, "5.1.10", true),
        ("bounce-gmail.eml", true, "5.1.1", true),
        ("bounce-exchange-legacy.eml", true, "5.1.10", true),
        ("bounce-qmail.eml", true, "5.1.1", true),
        ("bounce-soft-mailbox-full.eml", false, "4.2.2", true),
        ("bounce-delayed.eml", false, "4.4.1", true),
        ("bounce-by-message-id.eml", true, "5.1.1", false),
    ];
    for (file, hard, status, by_address) in shapes {
        let raw = bounce_fixture(
            file,
            delivery_42(),
            "7.2024-q1@example.no",
            "ola.nordmann@example.org",
        );
        let Kind::Bounce(report) = classify(&raw, &own, &Envelope::default()).kind else {
            panic!("{file} is a bounce");
        };
        assert_eq!(
            report.signed_delivery(),
            by_address.then(delivery_42),
            "{file}"
        );
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("7.2024-q1@example.no"),
            "{file}"
        );
        let recipient = report
            .recipient("ola.nordmann@example.org")
            .unwrap_or_else(|| panic!("{file} names the recipient: {report:?}"));
        assert_eq!(recipient.hard, hard, "{file}");
        assert_eq!(recipient.status.as_deref(), Some(status), "{file}");
    }
}

#[test]
fn the_envelope_recipient_counts_like_a_to_header() {
    let own = test_own();
    let raw = b"From: kari@example.org\r\nTo: undisclosed-recipients:;\r\nSubject: hei\r\nMessage-ID: <e@example.org>\r\n\r\n\r\n";
    let envelope = Envelope {
        sender: Some("kari@example.org".into()),
        recipient: Some("nyhetsbrev-leave@example.no".into()),
    };
    let kind = classify(raw, &own, &envelope).kind;
    assert!(matches!(kind, Kind::Unsubscribe { .. }), "{kind:?}");
    // A null envelope sender is never answered.
    let raw = b"From: kari@example.org\r\nSubject: Meld meg p\xc3\xa5\r\n\r\n";
    let envelope = Envelope {
        sender: Some(String::new()),
        recipient: None,
    };
    assert_eq!(classify(raw, &own, &envelope).kind.as_str(), "automatic");
}

async fn every_fixture_is_recorded_and_none_is_lost(db: &TestDb) {
    let (store, sink, _settings, inbound) = setup(db).await;
    for (file, kind, _) in CORPUS {
        // Reports for a delivery that does not exist: signed, but matched to nothing.
        let raw = if file.starts_with("bounce-") {
            bounce_fixture(
                file,
                delivery_42(),
                "7.2024-q1@example.no",
                "ola.nordmann@example.org",
            )
        } else {
            fixture(file)
        };
        let handled = handle(&inbound, &raw).await;
        // A forwarded request is not answered to a third party: staff decide.
        let kind = if file.starts_with("subscribe-forwarded-") {
            assert!(
                handled.result.contains("ikke besvart"),
                "{}",
                handled.result
            );
            "other"
        } else {
            kind
        };
        assert_eq!(handled.kind, kind, "{file}: {}", handled.result);
        assert!(!handled.result.is_empty());
        let (entry, stored) = store.inbound_message(handled.id).await.unwrap().unwrap();
        assert_eq!(stored, raw, "{file}: kept byte for byte");
        assert_eq!(entry.kind, kind);
    }
    let all = store.list_inbound(None, 1000).await.unwrap();
    assert_eq!(all.len(), CORPUS.len());
    let others = store
        .list_inbound(Some(nyhetsbrev::domain::InboundKind::Other), 1000)
        .await
        .unwrap();
    let forwarded = |f: &str| f.starts_with("subscribe-forwarded-");
    assert_eq!(
        others.len(),
        CORPUS
            .iter()
            .filter(|(f, k, _)| *k == "other" || forwarded(f))
            .count()
    );
    // One confirmation per distinct address asking to join; nothing answered anything else.
    let mut asked: Vec<&str> = CORPUS
        .iter()
        .filter(|(f, k, _)| *k == "subscribe" && !forwarded(f))
        .filter_map(|(_, _, a)| *a)
        .collect();
    asked.sort();
    asked.dedup();
    let mut mailed: Vec<String> = sink
        .received()
        .iter()
        .flat_map(|r| r.rcpt_to.clone())
        .collect();
    mailed.sort();
    assert_eq!(mailed, asked);
}

/// The app with staff account `kom` (password "et langt passord 123") and an API
/// token for posting inbound mail: the app, the URL of its inbound-mail API, the
/// token's secret.
async fn app_with_staff_account(db: &TestDb) -> (common::TestApp, String, String) {
    let app = common::spawn_app_at_own_address(db, common::test_settings(db), None).await;
    let hash = nyhetsbrev::auth::hash_password("et langt passord 123").unwrap();
    app.store
        .set_staff_user("kom", &hash, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let token = common::api_token(&app.store, "Postmottak").await;
    let url = format!("{}/admin/api/inbound", app.address);
    (app, url, token)
}

async fn a_request_by_mail_is_confirmed_only_by_the_link(db: &TestDb) {
    // Through the admin API, as a provider posting inbound mail would.
    let (app, url, token) = app_with_staff_account(db).await;
    let client = reqwest::Client::new();
    let raw = fixture("subscribe-bokmal.eml");
    let refused = client.post(&url).body(raw.clone()).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    let wrong = client
        .post(&url)
        .bearer_auth(format!("nbk_{:0>43}", 1))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A staff account's right password opens nothing either.
    let password = client
        .post(&url)
        .basic_auth("kom", Some("et langt passord 123"))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), 401);
    assert!(
        app.settled_mails().await.is_empty(),
        "nothing handled without a login"
    );

    let response = client
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    // Posted mail verifies no sender from its own headers (issue 29): the request is
    // kept for staff, who answer it with one click; nothing is mailed before that.
    assert_eq!(body["kind"], "other", "{body}");
    assert!(app.settled_mails().await.is_empty(), "{body}");
    let kari = email("kari.nordmann@example.org");
    assert!(app.store.contact(&kari).await.unwrap().is_none());
    common::staff::add_staff(&app.store, "kari").await;
    let staff = common::staff::StaffClient::log_in(&app.address, "kari").await;
    let id = body["id"].as_i64().unwrap();
    let answered = staff
        .post(&format!("/admin/inbound/{id}/answer"), &[])
        .await;
    assert_eq!(answered.status(), 303);

    let pending = app.store.existing_contact(&kari).await.unwrap();
    assert_eq!(
        pending.status,
        ContactStatus::Pending,
        "not subscribed by the mail alone"
    );
    assert_eq!(pending.consent.source, ConsentSource::EmailRequest);
    assert_eq!(pending.name.as_ref().unwrap().as_str(), "Kari Nordmann");

    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1);
    let mail = MessageParser::default().parse(&mails[0]).unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("kari.nordmann@example.org")
    );
    let path = common::confirmation_path(&mails[0]);
    let confirmed = client
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let contact = app.store.existing_contact(&kari).await.unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    assert_eq!(contact.consent.source, ConsentSource::EmailRequest);
    let note = contact.consent.note.unwrap();
    assert!(
        note.as_str().contains("<request-bokmal@mail.example.org>")
            && note.as_str().contains("2025-03-03T09:15:00Z")
            && note.as_str().ends_with("bekreftet med lenke i e-post"),
        "{note:?}"
    );
}

async fn requests_are_rate_limited_per_address(db: &TestDb) {
    let (store, sink, _settings, inbound) = setup(db).await;
    let request = |n: usize| {
        format!(
            "{}From: kari.nordmann@example.org\r\nSubject: Meld meg på\r\nMessage-ID: <rate-{n}@example.org>\r\n\r\nHei\r\n",
            verified("example.org")
        )
        .into_bytes()
    };
    let first = handle(&inbound, &request(0)).await;
    assert_eq!(
        first.result, "confirmation link to kari.nordmann@example.org queued",
        "{}",
        first.result
    );
    let second = handle(&inbound, &request(1)).await;
    assert!(second.result.contains("rate limit"), "{}", second.result);
    assert_eq!(sink.count(), 1);
    // Ten minutes later another goes out, up to five a day.
    for n in 2..12 {
        db.execute("UPDATE notices SET created_at = created_at - 660000")
            .await;
        handle(&inbound, &request(n)).await;
    }
    assert_eq!(
        sink.count(),
        nyhetsbrev::store::NOTICES_PER_DAY as usize,
        "at most five confirmations a day to one address"
    );
    assert!(
        store
            .list_inbound(Some(nyhetsbrev::domain::InboundKind::Subscribe), 100)
            .await
            .unwrap()
            .len()
            == 12
    );
}

async fn the_same_message_twice_is_handled_once(db: &TestDb) {
    let (store, sink, _settings, inbound) = setup(db).await;
    let raw = fixture("subscribe-english.eml");
    let first = handle(&inbound, &raw).await;
    // An MTA retry or a poll cut off before the move brings the same bytes again.
    let again = handle(&inbound, &raw).await;
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.id, first.id);
    assert_eq!(sink.count(), 1);
    assert_eq!(store.list_inbound(None, 10).await.unwrap().len(), 1);
}

/// What a mail client does with `List-Unsubscribe: <mailto:…>`: a mail from the
/// recipient to the leave address. The receiving server vouching for the sender (an
/// aligned DKIM pass in its Authentication-Results) makes it take effect at once;
/// without that anyone could have written it, so the address gets a leave link.
async fn mailto_unsubscribe_from_a_sent_issue_needs_a_verified_sender_or_the_link(db: &TestDb) {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let mut settings = settings_for(db, &sink);
    settings.trusted_authserv_id = Some("mx.example.no".into());
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let (slug, issue_id) = common::sample_draft(&store).await;
    common::add_confirmed(&store, 0..3).await;
    store
        .enqueue_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    send_until_done(&store, &settings, issue_id).await;
    let sent = sink.received();
    assert_eq!(sent.len(), 3);
    let unsubscribe_mail = |n: usize, authentication: &str| {
        let message = MessageParser::default().parse(&sent[n].data).unwrap();
        let to = message
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_owned();
        let header = message.header_raw("List-Unsubscribe").unwrap().to_owned();
        let mailto = header
            .split(['<', '>'])
            .find(|p| p.starts_with("mailto:"))
            .expect("a mailto in List-Unsubscribe")
            .to_owned();
        let (leave, query) = mailto["mailto:".len()..].split_once('?').unwrap();
        assert_eq!(leave, "nyhetsbrev-leave@example.no");
        let subject = query.strip_prefix("subject=").unwrap();
        let raw = format!(
            "{authentication}From: {to}\r\nTo: {leave}\r\nSubject: {subject}\r\nMessage-ID: <mailto-unsub-{n}@example.org>\r\n\r\n"
        );
        (to, raw.into_bytes())
    };
    // Vouched for by our receiving server: out at once, no reply.
    let (first, raw) = unsubscribe_mail(
        0,
        "Authentication-Results: mx.example.no; spf=pass smtp.mailfrom=example.org;\r\n dkim=pass header.d=example.org header.s=mail\r\n",
    );
    let handled = handle(&inbound, &raw).await;
    assert_eq!(handled.kind, "unsubscribe", "{}", handled.result);
    assert!(
        handled.result.contains("sender verified"),
        "{}",
        handled.result
    );
    let contact = store.existing_contact(&email(&first)).await.unwrap();
    assert_eq!(contact.status, ContactStatus::Unsubscribed);
    assert_eq!(sink.count(), 3, "no reply to an unsubscribe");

    // Not vouched for (a look-alike header from another server counts nothing): the
    // contact stays on the list and gets a leave link, once however often it is asked.
    let (second, raw) = unsubscribe_mail(
        1,
        "Authentication-Results: mx.evil.example; dkim=pass header.d=example.org\r\n",
    );
    let handled = handle(&inbound, &raw).await;
    assert_eq!(handled.kind, "unsubscribe", "{}", handled.result);
    assert!(handled.result.contains("leave link"), "{}", handled.result);
    let contact = store.existing_contact(&email(&second)).await.unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    let again = String::from_utf8(raw)
        .unwrap()
        .replace("mailto-unsub-1", "mailto-unsub-1b");
    let handled = handle(&inbound, again.as_bytes()).await;
    assert!(handled.result.contains("rate limit"), "{}", handled.result);
    let mails = sink.received();
    assert_eq!(mails.len(), 4, "one leave link");
    assert_eq!(mails[3].rcpt_to, std::slice::from_ref(&second));
    let link = MessageParser::default().parse(&mails[3].data).unwrap();
    assert_eq!(
        link.subject(),
        Some("Vil du melde deg av KOMs kontaktliste?")
    );
    let text = link.body_text(0).unwrap().into_owned();
    let start = text.find("/avmeld/").expect("a leave link");
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(link.body_html(0).unwrap().contains(&path));
    // The owner of the mailbox uses it on the real site.
    let app = common::spawn_app(db).await;
    let page = reqwest::get(format!("{}{path}", app.address))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        store
            .existing_contact(&email(&second))
            .await
            .unwrap()
            .status,
        ContactStatus::Confirmed,
        "a GET changes nothing"
    );
    let left = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 200);
    assert_eq!(
        store
            .existing_contact(&email(&second))
            .await
            .unwrap()
            .status,
        ContactStatus::Unsubscribed
    );
    // Nobody else changed.
    let others = store
        .count_contacts(&nyhetsbrev::store::ContactFilter {
            status: Some(ContactStatus::Confirmed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(others, 1);
}

async fn send_until_done(store: &Store, settings: &Settings, issue_id: IssueId) {
    let dispatcher = nyhetsbrev::startup::dispatcher(store.clone(), settings)
        .unwrap()
        .with_settings(|s| {
            s.only_issue = Some(issue_id);
            s.until_done = true;
            s.idle_poll = Duration::from_millis(50);
        });
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::time::timeout(Duration::from_secs(60), dispatcher.run(shutdown))
        .await
        .expect("the send finishes within a minute")
        .expect("the worker runs");
}

async fn bounces_of_every_shape_are_matched_to_their_delivery(db: &TestDb) {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let mut settings = settings_for(db, &sink);
    settings.bounce_address = Some("retur@example.no".into());
    settings.bounce_threshold = 1;
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    // (fixture, the contact's address ends up bounced)
    let shapes = [
        ("bounce-postfix.eml", true),
        ("bounce-exim.eml", true),
        ("bounce-m365.eml", true),
        ("bounce-gmail.eml", true),
        ("bounce-exchange-legacy.eml", true),
        ("bounce-qmail.eml", true),
        ("bounce-by-message-id.eml", false),
        ("bounce-soft-mailbox-full.eml", false),
        ("bounce-delayed.eml", false),
        ("bounce-forged.eml", false),
    ];
    let (slug, issue_id) = common::sample_draft(&store).await;
    for i in 0..shapes.len() {
        store
            .add_contact(
                &new_contact(
                    &format!("mottaker{i}@example.org"),
                    ContactStatus::Confirmed,
                ),
                &Actor::parse("cli:test"),
            )
            .await
            .unwrap();
    }
    store
        .enqueue_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    send_until_done(&store, &settings, issue_id).await;
    // Each message's bounce address and Message-ID, by recipient.
    let mut sent = std::collections::HashMap::new();
    for received in sink.received() {
        let message = MessageParser::default().parse(&received.data).unwrap();
        let verp = received.mail_from.clone();
        // retur+d<id>-<signature>@example.no
        let (delivery, signature) = verp
            .strip_prefix("retur+d")
            .and_then(|rest| rest.strip_suffix("@example.no"))
            .and_then(|rest| rest.split_once('-'))
            .unwrap();
        let delivery: DeliveryId = delivery.parse().unwrap();
        assert_eq!(signature, common::test_key().bounce_tag(delivery));
        let message_id = message.message_id().unwrap().to_owned();
        sent.insert(received.rcpt_to[0].clone(), (delivery, message_id));
    }
    for (i, (file, bounced)) in shapes.iter().enumerate() {
        let address = format!("mottaker{i}@example.org");
        let (delivery, message_id) = &sent[&address];
        let raw = String::from_utf8(bounce_fixture(file, *delivery, message_id, &address))
            .unwrap()
            .replace("nyhetsbrev+d", "retur+d")
            .into_bytes();
        let handled = handle(&inbound, &raw).await;
        // A report that names its delivery only by Message-ID did not come to the
        // signed bounce address: anyone could have written it.
        let kind = if *file == "bounce-by-message-id.eml" {
            "forged"
        } else {
            "bounce"
        };
        assert_eq!(handled.kind, kind, "{file}: {}", handled.result);
        let contact = store.existing_contact(&email(&address)).await.unwrap();
        let expected = if *bounced {
            ContactStatus::Bounced
        } else {
            ContactStatus::Confirmed
        };
        assert_eq!(contact.status, expected, "{file}: {}", handled.result);
        assert_eq!(contact.bounce_count, i64::from(*bounced), "{file}");
        let entry = store.inbound_message(handled.id).await.unwrap().unwrap().0;
        assert_eq!(
            entry.delivery_id,
            Some(*delivery),
            "{file}: {}",
            handled.result
        );
    }
    // A second report for the same delivery counts nothing more.
    let (delivery, message_id) = &sent["mottaker0@example.org"];
    let again = String::from_utf8(bounce_fixture(
        "bounce-gmail.eml",
        *delivery,
        message_id,
        "mottaker0@example.org",
    ))
    .unwrap()
    .replace("nyhetsbrev+d", "retur+d");
    let handled = handle(&inbound, again.as_bytes()).await;
    assert!(
        handled.result.contains("already counted"),
        "{}",
        handled.result
    );
    let contact = store
        .existing_contact(&email("mottaker0@example.org"))
        .await
        .unwrap();
    assert_eq!(contact.bounce_count, 1);
    // A report for no delivery of ours is kept for staff, counted nowhere.
    let stray = bounce_fixture(
        "bounce-postfix.eml",
        DeliveryId::parse("999999").unwrap(),
        "nope@example.no",
        "x@example.org",
    );
    let stray = String::from_utf8(stray)
        .unwrap()
        .replace("nyhetsbrev+d", "retur+d");
    let handled = handle(&inbound, stray.as_bytes()).await;
    assert!(handled.result.contains("not matched"), "{}", handled.result);
    // Nothing was ever sent in reply to a report.
    assert_eq!(sink.count(), shapes.len());
}

/// The request is recorded at once; its confirmation waits in the queue for the relay.
async fn a_relay_that_is_down_delays_the_confirmation(db: &TestDb) {
    let (store, sink, settings, inbound) = setup(db).await;
    sink.set(|b| b.down = true);
    let raw = fixture("subscribe-nynorsk.eml");
    let handled = handle(&inbound, &raw).await;
    assert_eq!(handled.kind, "subscribe", "{}", handled.result);
    assert!(handled.result.ends_with("queued"), "{}", handled.result);
    assert_eq!(sink.count(), 0);
    assert_eq!(store.queued_notices().await.unwrap(), 1, "kept for a retry");
    // The relay is back and the retry is due: the service's sender mails it, once.
    sink.set(|b| b.down = false);
    db.execute("UPDATE notices SET next_attempt_at = 0").await;
    let notices = nyhetsbrev::startup::notices(store.clone(), &settings).unwrap();
    assert_eq!(notices.send_due().await.unwrap(), 1);
    assert_eq!(notices.send_due().await.unwrap(), 0);
    assert_eq!(sink.count(), 1);
    assert_eq!(store.queued_notices().await.unwrap(), 0);
}

async fn a_large_attachment_is_handled_and_an_oversized_message_refused(db: &TestDb) {
    let (store, sink, mut settings, inbound) = setup(db).await;
    let attachment = vec![b'A'; 10 * 1024 * 1024];
    let mut raw = verified("example.org");
    raw.push_str(
        "From: Stor Fil <stor.fil@example.org>\r\nSubject: Meld meg på\r\nMessage-ID: <big@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nVedlagt er CV-en min.\r\n--b\r\n\
         Content-Type: application/pdf; name=\"cv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    for line in encoded.as_bytes().chunks(76) {
        raw.push_str(std::str::from_utf8(line).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("--b--\r\n");
    assert!(raw.len() > 13_000_000);
    let handled = handle(&inbound, raw.as_bytes()).await;
    assert_eq!(handled.kind, "subscribe", "{}", handled.result);
    assert_eq!(sink.count(), 1);
    let (entry, _) = store.inbound_message(handled.id).await.unwrap().unwrap();
    assert_eq!(entry.size as usize, raw.len());

    settings.inbound_max_size = 1024 * 1024;
    let small_limit = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let error = small_limit
        .handle(raw.as_bytes(), Channel::Stdin, &Envelope::default())
        .await
        .expect_err("too large");
    assert!(matches!(error, InboundError::TooLarge { .. }));
    assert!(!error.is_temporary());
    assert!(error.to_string().contains("inbound_max_size"), "{error}");
}

/// A person asks to be erased: the mail they wrote goes with their contact, also mail
/// that was never linked to it (a question kept for staff).
async fn erasing_a_contact_erases_every_mail_from_the_address(db: &TestDb) {
    let (store, _sink, _settings, inbound) = setup(db).await;
    let question = "From: Ola <Ola.Vik@Example.org>\r\nSubject: Et spørsmål\r\nMessage-ID: <q1@example.org>\r\n\r\nNår kommer neste nummer?\r\n".as_bytes();
    let asked = handle(&inbound, question).await;
    assert_eq!(asked.kind, "other", "{}", asked.result);
    let join = format!(
        "{}From: ola.vik@example.org\r\nSubject: Meld meg p\u{e5}\r\nMessage-ID: <j1@example.org>\r\n\r\n",
        verified("example.org")
    );
    assert_eq!(handle(&inbound, join.as_bytes()).await.kind, "subscribe");
    let other =
        b"From: kari@example.org\r\nSubject: Hei\r\nMessage-ID: <k1@example.org>\r\n\r\nHei\r\n";
    handle(&inbound, other).await;
    assert_eq!(store.list_inbound(None, 10).await.unwrap().len(), 3);
    assert!(
        store
            .remove_contact(&email("ola.vik@example.org"), &Actor::parse("cli:test"))
            .await
            .unwrap()
    );
    let left = store.list_inbound(None, 10).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].from_address.as_deref(), Some("kari@example.org"));
}

/// Issue 18: a request to join by mail asks for everything, unless it names a
/// publication (by its name or its short name); then only that one.
async fn a_request_by_mail_joins_all_or_the_publication_it_names(db: &TestDb) {
    let (store, _sink, _settings, inbound) = setup(db).await;
    let requests: [(&str, &str, &[&str]); 4] = [
        (
            "alt@example.org",
            "Subject: Meld meg p\u{e5}\r\n\r\nJeg vil gjerne st\u{e5} p\u{e5} kontaktlisten.\r\n",
            &["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"],
        ),
        (
            "dommer@example.org",
            "Subject: P\u{e5}melding\r\n\r\nKan jeg f\u{e5} Oversikt over rettsavgj\u{f8}relser tilsendt?\r\n",
            &["rettsavgjorelser"],
        ),
        (
            "rapport@example.org",
            "Subject: Meld meg p\u{e5} tilstandsrapport\r\n\r\n",
            &["tilstandsrapport"],
        ),
        (
            // "nyhetsbrevet" is how people speak of the whole list: no one publication.
            "brevet@example.org",
            "Subject: Meld meg p\u{e5} nyhetsbrevet\r\n\r\n",
            &["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"],
        ),
    ];
    for (i, (address, rest, expected)) in requests.iter().enumerate() {
        let raw = format!(
            "{}From: {address}\r\nMessage-ID: <r{i}@example.org>\r\n{rest}",
            verified("example.org")
        );
        let handled = handle(&inbound, raw.as_bytes()).await;
        assert_eq!(handled.kind, "subscribe", "{address}: {}", handled.result);
        let contact = store.existing_contact(&email(address)).await.unwrap();
        let chosen: Vec<String> = store
            .subscriptions(contact.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.left_at.is_none())
            .map(|s| {
                assert_eq!(s.consent.source, ConsentSource::EmailRequest);
                s.publication.to_string()
            })
            .collect();
        assert_eq!(chosen, *expected, "{address}");
    }
}

/// A verified request to leave by mail, and a bounce report that reaches the threshold,
/// skip the contact's queued deliveries of an issue being sent in that same change,
/// before any worker claims them: the one who left also leaves every publication, the
/// bounced one keeps them.
async fn mail_to_leave_and_bounce_reports_skip_queued_deliveries_at_once(db: &TestDb) {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let mut settings = settings_for(db, &sink);
    settings.bounce_address = Some("retur@example.no".into());
    settings.bounce_threshold = 1;
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let mut id = std::collections::BTreeMap::new();
    for address in [
        "blir@example.org",
        "kari.nordmann@example.org",
        "mottaker@example.org",
    ] {
        let contact = store
            .add_contact(
                &new_contact(address, ContactStatus::Confirmed),
                &Actor::parse("cli:test"),
            )
            .await
            .unwrap();
        id.insert(address, contact.id);
    }
    // The first issue went out; the second is being sent, nothing of it claimed yet.
    let first = common::queue::sending_newsletter(&store, "2024-q1").await;
    send_until_done(&store, &settings, first).await;
    let second = common::queue::sending_newsletter(&store, "2024-q1-b").await;

    let leave = format!(
        "{}From: kari.nordmann@example.org\r\nSubject: Meld meg av\r\nMessage-ID: <av1@example.org>\r\n\r\n",
        verified("example.org")
    );
    let handled = handle(&inbound, leave.as_bytes()).await;
    assert!(
        handled.result.contains("unsubscribed"),
        "{}",
        handled.result
    );

    let sent = sink
        .received()
        .into_iter()
        .find(|m| m.rcpt_to == ["mottaker@example.org"])
        .expect("the first issue went to mottaker");
    let delivery: DeliveryId = sent
        .mail_from
        .strip_prefix("retur+d")
        .and_then(|rest| rest.split_once('-'))
        .map(|(delivery, _)| delivery.parse().unwrap())
        .expect("a signed bounce address");
    let message_id = MessageParser::default()
        .parse(&sent.data)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned();
    let report = String::from_utf8(bounce_fixture(
        "bounce-postfix.eml",
        delivery,
        &message_id,
        "mottaker@example.org",
    ))
    .unwrap()
    .replace("nyhetsbrev+d", "retur+d");
    let handled = handle(&inbound, report.as_bytes()).await;
    assert!(
        handled.result.contains("now marked bounced"),
        "{}",
        handled.result
    );

    let off = [id["kari.nordmann@example.org"], id["mottaker@example.org"]];
    common::queue::assert_skipped_at_once(db, second, &off).await;
    assert_eq!(
        common::queue::claim_all(&store, second).await,
        [id["blir@example.org"]].into()
    );
    assert!(
        common::subscribed_to(&store, id["kari.nordmann@example.org"])
            .await
            .is_empty()
    );
    assert_eq!(
        common::subscribed_to(&store, id["mottaker@example.org"])
            .await
            .len(),
        3
    );
}
