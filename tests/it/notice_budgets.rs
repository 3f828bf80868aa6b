//! Issue 29: a flood of mail must not close the list for everyone. Confirmations of
//! the web form, confirmations of requests by mail and leave links each have their own
//! hourly budget; what meets a full budget waits in the queue (counted on the
//! dashboard) and goes out when the hour has room; a request to join by mail whose
//! sender the receiving server did not verify spends nothing and waits for staff, who
//! answer it with one click. On SQLite and PostgreSQL, with real SMTP to the sink.

use crate::common;

use common::smtp_sink::SmtpSink;
use common::staff::{StaffClient, location};
use common::{TestApp, TestDb, email, new_contact};
use nyhetsbrev::config::Settings;
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::inbound::{Channel, Envelope, Handled, Inbound};
use nyhetsbrev::store::Actor;

on_both_backends!(
    a_flood_of_mail_requests_leaves_the_web_form_working,
    a_notice_that_meets_a_full_budget_is_sent_once_there_is_room,
    unverified_join_requests_are_kept_for_staff_and_answered_with_one_click,
    a_leave_link_flood_does_not_stop_web_confirmations,
    a_web_form_flood_does_not_stop_leave_links,
    the_dashboard_says_how_many_notices_wait_in_words,
    the_migration_gives_notices_queued_before_it_their_budget,
);

/// The authserv-id of the receiving server the settings trust.
const TRUSTED_MX: &str = "mx.example.no";

fn settings(db: &TestDb) -> Settings {
    let mut settings = common::test_settings(db);
    settings.smtp_timeout = 2.0;
    settings.trusted_authserv_id = Some(TRUSTED_MX.into());
    // The per-client limit of the form is not what these tests are about (it still
    // takes bursts of ten at most).
    settings.subscribe_limit_per_hour = 10_000;
    settings
}

/// The app (its `base_url` its own address, so staff can post), with staff member
/// `kari`, and an inbound handler as the MTA pipe runs it, on the same database.
async fn app_and_pipe(db: &TestDb, mut settings: Settings) -> (TestApp, Inbound) {
    let app = common::staff::staff_app_relaying(db, settings.clone()).await;
    // The pipe mails through the app's relay.
    settings.smtp_url = Some(app.sink.as_ref().unwrap().url().into());
    let pipe = nyhetsbrev::startup::inbound(app.store.clone(), &settings).unwrap();
    (app, pipe)
}

async fn handle(inbound: &Inbound, raw: &str) -> Handled {
    inbound
        .handle(raw.as_bytes(), Channel::Stdin, &Envelope::default())
        .await
        .expect("handled")
}

/// A request to join by mail from `from`; `verified` adds what our receiving server
/// writes above a message whose sender's domain passed DMARC.
fn join_request(from: &str, n: usize, verified: bool) -> String {
    let domain = from.rsplit_once('@').unwrap().1;
    let authentication = if verified {
        format!(
            "Authentication-Results: {TRUSTED_MX}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
        )
    } else {
        String::new()
    };
    format!(
        "{authentication}From: {from}\r\nTo: nyhetsbrev@example.no\r\nSubject: Meld meg p\u{e5}\r\n\
         Message-ID: <join-{n}@{domain}>\r\n\r\nJeg vil gjerne f\u{e5} nyhetsbrevet.\r\n"
    )
}

/// A request to leave by mail from `from` that nobody verified: it gets a leave link.
fn leave_request(from: &str, n: usize) -> String {
    format!(
        "From: {from}\r\nTo: nyhetsbrev-leave@example.no\r\nSubject: Meld meg av\r\n\
         Message-ID: <leave-{n}@example.org>\r\n\r\n"
    )
}

async fn sign_up_on_the_form(app: &TestApp, address: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/subscribe", app.address))
        .form(&[("email", address)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the form takes {address}");
}

/// Who the sink got mail for, one entry per message.
fn mailed_to(app: &TestApp) -> Vec<String> {
    app.sink
        .as_ref()
        .unwrap()
        .received()
        .iter()
        .flat_map(|m| m.rcpt_to.clone())
        .collect()
}

/// Waits (at most 20 s) until the sink has mail for `address`.
async fn mail_arrives_for(app: &TestApp, address: &str) {
    let what = format!("mail to {address}");
    common::eventually(&what, std::time::Duration::from_secs(20), async || {
        let mailed = mailed_to(app);
        common::ok_if(mailed.iter().any(|to| to == address), mailed)
    })
    .await
}

/// The attack: 200 requests to join by mail, each from a sender at a domain
/// that passes (made-up local parts), spend the budget of requests by mail; a partner
/// who signs up on the web form then still gets the confirmation at once, and the
/// requests beyond the budget wait in the queue, counted, none dropped.
async fn a_flood_of_mail_requests_leaves_the_web_form_working(db: &TestDb) {
    let mut settings = settings(db);
    settings.mail_confirmations_per_hour = 5;
    let (app, pipe) = app_and_pipe(db, settings).await;
    for n in 0..200 {
        let handled = handle(
            &pipe,
            &join_request(&format!("x{n}q@flood.example.org"), n, true),
        )
        .await;
        assert_eq!(handled.kind, "subscribe", "{}", handled.result);
        assert!(handled.result.ends_with("queued"), "{}", handled.result);
    }
    assert_eq!(mailed_to(&app).len(), 5, "the budget of requests by mail");

    sign_up_on_the_form(&app, "partner@example.no").await;
    mail_arrives_for(&app, "partner@example.no").await;
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 6, "five by mail and the partner's");

    // Nothing dropped: every request by mail has its pending contact and its queued
    // notice; those beyond the budget wait for room.
    let waiting = app
        .store
        .notices_waiting_for_room(app.notice_budgets)
        .await
        .unwrap();
    assert_eq!((waiting.mail, waiting.web, waiting.leave), (195, 0, 0));
    assert_eq!(db.count("notices WHERE budget = 'mail'").await, 200);
    assert_eq!(
        db.count("notices WHERE budget = 'mail' AND status = 'queued'")
            .await,
        195
    );
    assert_eq!(
        db.count("contacts WHERE status = 'pending' AND email LIKE '%@flood.example.org'")
            .await,
        200
    );
    let staff = StaffClient::log_in(&app.address, "kari").await;
    let dashboard = staff.get_ok("/admin").await;
    assert!(
        dashboard
            .contains("195 bekreftelser på ønsker sendt per e-post venter på plass i timekvoten"),
        "{dashboard}"
    );
}

/// A notice that met a full budget goes out once the hour has room: here the earlier
/// notices' times are moved back an hour, and the sender mails the one that waited,
/// with a link made when it was claimed (it works).
async fn a_notice_that_meets_a_full_budget_is_sent_once_there_is_room(db: &TestDb) {
    let store = db.store().await;
    let sink = SmtpSink::start().await;
    let mut settings = settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.mail_confirmations_per_hour = 2;
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let notices = nyhetsbrev::startup::notices(store.clone(), &settings).unwrap();
    for n in 0..3 {
        handle(
            &inbound,
            &join_request(&format!("person{n}@example.org"), n, true),
        )
        .await;
    }
    assert_eq!(sink.count(), 2);
    let budgets = nyhetsbrev::startup::notice_budgets(&settings);
    assert_eq!(
        store.notices_waiting_for_room(budgets).await.unwrap().mail,
        1
    );
    // Still the same hour: nothing more goes, however often the sender looks.
    assert_eq!(notices.send_due().await.unwrap(), 0);
    assert_eq!(sink.count(), 2);
    assert_eq!(
        db.count("tokens WHERE purpose = 'confirm'").await,
        2,
        "a waiting notice has no link yet"
    );

    // An hour later.
    db.execute(
        "UPDATE notices SET created_at = created_at - 3600001, sent_at = sent_at - 3600001 \
         WHERE status = 'sent'",
    )
    .await;
    assert_eq!(notices.send_due().await.unwrap(), 1);
    let mails = sink.received();
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2].rcpt_to, ["person2@example.org"]);
    assert_eq!(
        store.notices_waiting_for_room(budgets).await.unwrap(),
        Default::default()
    );
    let app = common::spawn_app(db).await;
    let path = common::confirmation_path(&mails[2].data);
    let confirmed = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert_eq!(
        store
            .existing_contact(&email("person2@example.org"))
            .await
            .unwrap()
            .status,
        ContactStatus::Confirmed
    );
}

/// 200 requests to join by mail whose senders nobody verified (anyone can write any
/// `From:`): no notice queued, no budget spent, no contact made, each kept for staff.
/// Staff answer one with one click on its page, and its confirmation goes out, on the
/// budget of requests by mail.
async fn unverified_join_requests_are_kept_for_staff_and_answered_with_one_click(db: &TestDb) {
    let mut settings = settings(db);
    settings.mail_confirmations_per_hour = 1;
    let (app, pipe) = app_and_pipe(db, settings).await;
    let mut kept = Vec::new();
    for n in 0..200 {
        // Half with no Authentication-Results, half with one from a server we do not
        // trust (the sender can write that too).
        let mut raw = join_request(&format!("made.up{n}@victim.example.org"), n, false);
        if n % 2 == 1 {
            raw = format!(
                "Authentication-Results: mx.evil.example; dmarc=pass header.from=victim.example.org\r\n{raw}"
            );
        }
        let handled = handle(&pipe, &raw).await;
        assert_eq!(handled.kind, "other", "{}", handled.result);
        assert!(
            handled.result.contains("ikke bekreftet avsenderen"),
            "{}",
            handled.result
        );
        kept.push(handled.id);
    }
    assert_eq!(db.count("notices").await, 0);
    assert_eq!(db.count("contacts").await, 0);
    assert!(mailed_to(&app).is_empty());
    assert_eq!(app.store.inbound_waiting().await.unwrap(), 200);
    // The web form is untouched by it all.
    sign_up_on_the_form(&app, "partner@example.no").await;
    mail_arrives_for(&app, "partner@example.no").await;

    // Staff read one and answer it with one click.
    let staff = StaffClient::log_in(&app.address, "kari").await;
    let button = format!("action=\"/admin/inbound/{}/answer\"", kept[7]);
    let page = staff.get_ok(&format!("/admin/inbound/{}", kept[7])).await;
    assert!(page.contains(&button), "{page}");
    assert!(page.contains("ikke bekreftet avsenderen"), "{page}");
    // Without the session's token nothing is sent.
    let forged = staff
        .post_raw(
            &format!("/admin/inbound/{}/answer", kept[7]),
            &[("csrf", "feil")],
            Some(&app.address),
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(db.count("notices WHERE budget = 'mail'").await, 0);
    let answered = staff
        .post(&format!("/admin/inbound/{}/answer", kept[7]), &[])
        .await;
    assert_eq!(answered.status(), 303);
    assert_eq!(
        location(&answered),
        format!("/admin/inbound/{}?melding=besvart", kept[7])
    );
    mail_arrives_for(&app, "made.up7@victim.example.org").await;
    let page = staff.get_ok(&location(&answered)).await;
    assert!(page.contains("bekreftelseslenken går ut"), "{page}");
    assert!(!page.contains(&button), "{page}");
    // What the service did, in bokmål: the stored sentence is the command line's.
    assert!(
        page.contains("bekreftelseslenke til made.up7@victim.example.org lagt i kø"),
        "{page}"
    );
    assert!(!page.contains("confirmation link"), "{page}");
    let pending = app
        .store
        .existing_contact(&email("made.up7@victim.example.org"))
        .await
        .unwrap();
    assert_eq!(pending.status, ContactStatus::Pending);
    assert!(
        pending
            .consent
            .note
            .as_ref()
            .unwrap()
            .as_str()
            .contains("besvart av kari"),
        "{:?}",
        pending.consent.note
    );
    // Once is enough.
    let again = staff
        .post(&format!("/admin/inbound/{}/answer", kept[7]), &[])
        .await;
    assert_eq!(again.status(), 409);
    // A second answer spends the same budget of requests by mail (one an hour here):
    // it waits for room.
    let second = staff
        .post(&format!("/admin/inbound/{}/answer", kept[8]), &[])
        .await;
    assert_eq!(second.status(), 303);
    app.settled_mails().await;
    let waiting = app
        .store
        .notices_waiting_for_room(app.notice_budgets)
        .await
        .unwrap();
    assert_eq!((waiting.mail, waiting.web), (1, 0));
    assert!(
        !mailed_to(&app)
            .iter()
            .any(|to| to == "made.up8@victim.example.org")
    );
    assert_eq!(
        mailed_to(&app).len(),
        2,
        "the partner's and the answered one"
    );
    // The CLI answers a kept request the same way.
    let cli = nyhetsbrev::ops::InboundMail::new(pipe.clone());
    let handled = cli
        .answer_held(kept[9], &Actor::parse("cli:test"))
        .await
        .unwrap();
    assert_eq!(handled.kind, "subscribe", "{}", handled.result);
}

/// Contacts `member0..count` on the list.
async fn members(app: &TestApp, count: usize) {
    for n in 0..count {
        app.store
            .add_contact(
                &new_contact(&format!("member{n}@example.org"), ContactStatus::Confirmed),
                &Actor::parse("cli:test"),
            )
            .await
            .unwrap();
    }
}

/// A flood of unverified requests to leave (each answered with a leave link) does not
/// hold back the web form's confirmations.
async fn a_leave_link_flood_does_not_stop_web_confirmations(db: &TestDb) {
    let mut settings = settings(db);
    settings.leave_links_per_hour = 3;
    let (app, pipe) = app_and_pipe(db, settings).await;
    members(&app, 20).await;
    for n in 0..20 {
        let handled = handle(&pipe, &leave_request(&format!("member{n}@example.org"), n)).await;
        assert!(handled.result.contains("leave link"), "{}", handled.result);
    }
    assert_eq!(mailed_to(&app).len(), 3, "the leave links' budget");
    sign_up_on_the_form(&app, "partner@example.no").await;
    mail_arrives_for(&app, "partner@example.no").await;
    app.settled_mails().await;
    let waiting = app
        .store
        .notices_waiting_for_room(app.notice_budgets)
        .await
        .unwrap();
    assert_eq!((waiting.leave, waiting.web), (17, 0));
    assert_eq!(mailed_to(&app).len(), 4);
}

/// A flood of sign-ups on the web form (for many addresses) does not hold back the
/// leave links.
async fn a_web_form_flood_does_not_stop_leave_links(db: &TestDb) {
    let mut settings = settings(db);
    settings.confirmations_per_hour = 3;
    let (app, pipe) = app_and_pipe(db, settings).await;
    members(&app, 1).await;
    // Ten: the form takes bursts of ten from one client.
    for n in 0..10 {
        sign_up_on_the_form(&app, &format!("signup{n}@example.org")).await;
    }
    app.settled_mails().await;
    assert_eq!(mailed_to(&app).len(), 3, "the form's budget");
    let handled = handle(&pipe, &leave_request("member0@example.org", 0)).await;
    assert!(handled.result.contains("leave link"), "{}", handled.result);
    mail_arrives_for(&app, "member0@example.org").await;
    app.settled_mails().await;
    let waiting = app
        .store
        .notices_waiting_for_room(app.notice_budgets)
        .await
        .unwrap();
    assert_eq!((waiting.web, waiting.leave), (7, 0));
    assert_eq!(mailed_to(&app).len(), 4);
}

/// The dashboard says, in words, how many notices wait for room in their hour, per
/// kind; nothing when none waits.
async fn the_dashboard_says_how_many_notices_wait_in_words(db: &TestDb) {
    let mut settings = settings(db);
    settings.confirmations_per_hour = 1;
    settings.mail_confirmations_per_hour = 1;
    settings.leave_links_per_hour = 1;
    let (app, pipe) = app_and_pipe(db, settings).await;
    let staff = StaffClient::log_in(&app.address, "kari").await;
    let quiet = staff.get_ok("/admin").await;
    assert!(!quiet.contains("timekvoten"), "{quiet}");

    for n in 0..3 {
        sign_up_on_the_form(&app, &format!("web{n}@example.org")).await;
    }
    for n in 0..2 {
        handle(
            &pipe,
            &join_request(&format!("mail{n}@example.org"), n, true),
        )
        .await;
    }
    app.settled_mails().await;
    let dashboard = staff.get_ok("/admin").await;
    assert!(
        dashboard.contains("2 bekreftelser fra skjemaet venter på plass i timekvoten"),
        "{dashboard}"
    );
    assert!(
        dashboard.contains("1 bekreftelse på ønske sendt per e-post venter på plass i timekvoten"),
        "{dashboard}"
    );
    assert!(!dashboard.contains("melde seg av venter"), "{dashboard}");
}

/// Notices queued before the budgets existed get theirs from what they are: a leave
/// link spends the leave links' budget, a confirmation of a request by mail the mail
/// budget, any other confirmation the web form's.
async fn the_migration_gives_notices_queued_before_it_their_budget(db: &TestDb) {
    const BUDGETS: i64 = 20261207000003;
    let store = nyhetsbrev::store::Store::connect(&db.url).await.unwrap();
    let backend = store.backend();
    store.close().await;
    let before = backend
        .migrator()
        .iter()
        .map(|m| m.version)
        .filter(|v| *v < BUDGETS)
        .max()
        .unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(db.url.expose())
        .await
        .unwrap();
    backend.migrator().run_to(before, &mut conn).await.unwrap();
    sqlx::Connection::close(conn).await.unwrap();
    let t = 1_796_342_400_000_i64;
    for (n, source) in ["web", "email-request", "web"].iter().enumerate() {
        db.execute(&format!(
            "INSERT INTO contacts (email, email_key, search_text, status, consent_source, \
             consent_at, bounce_count, created_at, updated_at) VALUES \
             ('old{n}@example.org', 'old{n}@example.org', 'old{n}@example.org', 'pending', \
             '{source}', {t}, 0, {t}, {t})"
        ))
        .await;
    }
    db.execute(&format!(
        "INSERT INTO notices (contact_id, purpose, status, created_at, attempts, next_attempt_at, \
         consent_source) VALUES \
         (1, 'confirm', 'queued', {t}, 0, {t}, 'web'), \
         (2, 'confirm', 'sent', {t}, 1, {t}, 'email-request'), \
         (3, 'leave', 'queued', {t}, 0, {t}, NULL)"
    ))
    .await;
    db.store().await;
    assert_eq!(
        db.query_strings("SELECT budget FROM notices ORDER BY id")
            .await,
        ["web", "mail", "leave"]
    );
}
