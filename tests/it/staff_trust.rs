//! Issue 29, "one person gets past the second approval": managing accounts is for
//! administrators who type their own password (and code) again, an approval by an
//! account the requester made or changed (or that anyone changed in the last day) does
//! not count, and the owner of an account someone else changed is told by mail. Each
//! test makes the attack and shows it refused. On SQLite and PostgreSQL.

use crate::common;

use common::staff::{
    STAFF_PASSWORD, StaffClient, add_admin, add_staff, add_staff_with_email, location, sign_in,
    staff_app, staff_app_relaying, totp_code,
};
use common::{TestApp, TestDb};
use nyhetsbrev::domain::{Slug, Timestamp};

on_both_backends!(
    an_account_the_requester_made_cannot_approve_their_send,
    a_colleague_whose_password_the_requester_set_cannot_approve_and_is_told,
    an_account_changed_by_a_third_person_waits_a_day_before_approving,
    a_non_administrator_cannot_manage_accounts,
    account_changes_need_the_administrators_own_password_and_code,
    resetting_a_second_factor_ends_sessions_and_asks_for_enrolment,
    an_owner_mail_that_cannot_be_sent_is_shown_and_the_change_stands,
    the_maker_of_the_asking_account_cannot_approve_its_send,
    a_chain_of_accounts_is_still_one_person,
);

/// The app with `send_approval` on, sending through the SMTP sink, staff account
/// `kari` (an administrator) and two confirmed contacts.
async fn approval_app(db: &TestDb) -> TestApp {
    let mut settings = common::test_settings(db);
    settings.send_approval = true;
    let app = staff_app_relaying(db, settings).await;
    common::add_confirmed(&app.store, 0..2).await;
    app
}

const ISSUE_FIELDS: [(&str, &str); 7] = [
    ("slug", "2025-q1"),
    ("subject", "Nyhetsbrev fra KOM, januar–mars 2025"),
    ("period", "januar–mars 2025"),
    ("preheader", "Det viktigste fra KOM dette kvartalet"),
    ("audience", "Til KOMs samarbeidsaktører"),
    ("date", "2025-04-10"),
    (
        "body",
        "## Verdt å merke seg\r\n\r\n### Ny veileder\r\n\r\nLes [veilederen](https://www.example.org/veileder).\r\n",
    ),
];

/// kari writes the issue and asks for it to be sent now: with `send_approval` it waits.
async fn kari_asks_for_a_send(kari: &StaffClient) {
    assert_eq!(
        kari.post("/admin/issues/new", &ISSUE_FIELDS).await.status(),
        303
    );
    let response = kari
        .post(
            "/admin/issues/2025-q1/send",
            &[("antall", "2"), ("naar", "na")],
        )
        .await;
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/send?melding=venter-godkjenning"
    );
}

async fn issue(app: &TestApp) -> nyhetsbrev::store::StoredIssue {
    app.store
        .issue(&Slug::parse("2025-q1").unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// The send still waits: a draft, its plan not approved, nothing queued or mailed.
async fn still_waits(app: &TestApp, db: &TestDb) {
    let issue = issue(app).await;
    assert_eq!(issue.status.as_str(), "draft");
    let plan = issue.plan.expect("the plan is still there");
    assert_eq!(plan.approved_by, None);
    assert_eq!(db.count("deliveries").await, 0, "nothing queued");
}

/// Tries to approve as `approver`: the refusal's page, checked to be a 403.
async fn refused_approval(approver: &StaffClient) -> String {
    let response = approver.post("/admin/issues/2025-q1/approve", &[]).await;
    assert_eq!(response.status(), 403);
    response.text().await.unwrap()
}

/// Sends whatever is queued, as the worker does, and returns how many went.
async fn run_worker(app: &TestApp, db: &TestDb) -> u64 {
    let issue = issue(app).await;
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(app.sink.as_ref().unwrap().url().into());
    let worker = nyhetsbrev::startup::dispatcher(app.store.clone(), &settings)
        .unwrap()
        .with_settings(|s| {
            s.only_issue = Some(issue.id);
            s.until_done = true;
            s.idle_poll = std::time::Duration::from_millis(50);
        });
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::time::timeout(std::time::Duration::from_secs(60), worker.run(shutdown))
        .await
        .expect("sent within a minute")
        .unwrap()
        .sent
}

async fn refusals_logged(db: &TestDb, actor: &str) -> usize {
    db.query_strings(&format!(
        "SELECT subject FROM audit_log WHERE action = 'staff.approval_refused' AND actor = '{actor}'"
    ))
    .await
    .len()
}

/// The issue's attack: kari asks for a send, makes a second account, signs in as it
/// and approves her own send.
async fn an_account_the_requester_made_cannot_approve_their_send(db: &TestDb) {
    let app = approval_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    kari_asks_for_a_send(&kari).await;

    let response = kari
        .post_reauth(
            "/admin/staff",
            &[("username", "ola2"), ("password", STAFF_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 303, "kari may add accounts");
    let ola2 = StaffClient::log_in(&app.address, "ola2").await;
    let page = refused_approval(&ola2).await;
    assert!(
        page.contains("Kontoen din ble laget av den som ba om utsendingen"),
        "{page}"
    );
    assert!(page.contains("En annen kollega må godkjenne"), "{page}");
    still_waits(&app, db).await;
    assert_eq!(run_worker(&app, db).await, 0);
    assert_eq!(app.mails().len(), 0, "nothing mailed");
    assert_eq!(refusals_logged(db, "web:ola2").await, 1);
}

/// The same with a colleague's password: kari sets ola's password and approves as ola.
/// ola is told by mail.
async fn a_colleague_whose_password_the_requester_set_cannot_approve_and_is_told(db: &TestDb) {
    let app = approval_app(db).await;
    add_staff_with_email(&app.store, "ola", "ola@example.no").await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    kari_asks_for_a_send(&kari).await;

    let response = kari
        .post_reauth(
            "/admin/staff/ola/password",
            &[("password", "et passord kari kan")],
        )
        .await;
    assert_eq!(location(&response), "/admin/staff?melding=passord-varslet");
    assert!(
        kari.get_ok("/admin/staff?melding=passord-varslet")
            .await
            .contains("har fått en e-post om endringen")
    );
    let cookie = sign_in(&app, "ola", "et passord kari kan").await.unwrap();
    let ola = StaffClient::for_session(&app.address, cookie)
        .with_csrf_from("/admin")
        .await;
    let page = refused_approval(&ola).await;
    assert!(
        page.contains("Passordet ditt ble satt av den som ba om utsendingen"),
        "{page}"
    );
    still_waits(&app, db).await;
    assert_eq!(run_worker(&app, db).await, 0);

    // The one mail is ola's: what changed, by whom.
    let sink = app.sink.as_ref().unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1, "only the owner mail");
    assert_eq!(received[0].rcpt_to, ["ola@example.no"]);
    let text = String::from_utf8_lossy(&received[0].data).to_string();
    assert!(text.contains("Passordet er endret"), "{text}");
    assert!(text.contains("av kari"), "{text}");
    assert!(text.contains("si fra til en administrator"), "{text}");
}

/// An account a third person changed in the last day cannot approve; once a day has
/// passed since another account made it, it can, and the send goes out.
async fn an_account_changed_by_a_third_person_waits_a_day_before_approving(db: &TestDb) {
    let app = approval_app(db).await;
    add_admin(&app.store, "per", None).await;
    add_staff(&app.store, "ola").await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    kari_asks_for_a_send(&kari).await;

    // per, not kari, sets ola's password and makes lise.
    let per = StaffClient::log_in(&app.address, "per").await;
    assert_eq!(
        per.post_reauth("/admin/staff/ola/password", &[("password", STAFF_PASSWORD)])
            .await
            .status(),
        303
    );
    assert_eq!(
        per.post_reauth(
            "/admin/staff",
            &[("username", "lise"), ("password", STAFF_PASSWORD)],
        )
        .await
        .status(),
        303
    );
    for name in ["ola", "lise"] {
        let approver = StaffClient::log_in(&app.address, name).await;
        let page = refused_approval(&approver).await;
        assert!(page.contains("det siste døgnet"), "{name}: {page}");
        still_waits(&app, db).await;
    }
    assert_eq!(app.mails().len(), 0);

    // A day and an hour later (set in the table), lise's approval counts.
    let day_ago = Timestamp::now().unix_ms() - 25 * 3600 * 1000;
    db.execute(&format!(
        "UPDATE staff_account_changes SET at = {day_ago} WHERE staff_user_id = \
         (SELECT id FROM staff_users WHERE username = 'lise')"
    ))
    .await;
    let lise = StaffClient::log_in(&app.address, "lise").await;
    let response = lise.post("/admin/issues/2025-q1/approve", &[]).await;
    assert_eq!(
        location(&response),
        "/admin/issues/2025-q1/report?melding=startet"
    );
    assert_eq!(run_worker(&app, db).await, 2);
    assert_eq!(app.mails().len(), 2, "the issue went to both contacts");
}

async fn plain_app(db: &TestDb) -> TestApp {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    app
}

/// ola, no administrator, tries every account change, with her own password typed
/// right: each is refused and nothing changes.
async fn a_non_administrator_cannot_manage_accounts(db: &TestDb) {
    let app = plain_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    let page = ola.get_ok("/admin/staff").await;
    assert!(page.contains("Bare en administrator"), "{page}");
    for form in [
        "action=\"/admin/staff\"",
        "/password\"",
        "/disable\"",
        "second-factor/reset",
    ] {
        assert!(!page.contains(form), "no {form} form for ola");
    }
    for (path, fields) in [
        (
            "/admin/staff",
            vec![("username", "bakdor"), ("password", STAFF_PASSWORD)],
        ),
        (
            "/admin/staff/kari/password",
            vec![("password", "olas passord for kari")],
        ),
        ("/admin/staff/kari/disable", vec![]),
        ("/admin/staff/kari/second-factor/reset", vec![]),
        ("/admin/staff/kari/enable", vec![]),
    ] {
        let response = ola.post_reauth(path, &fields).await;
        assert_eq!(response.status(), 403, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Bare for administratorer"),
            "{path}"
        );
    }
    assert!(!app.store.staff_user_exists("bakdor").await.unwrap());
    assert!(sign_in(&app, "kari", STAFF_PASSWORD).await.is_ok());
    kari.get_ok("/admin").await;
    let log = app.store.audit_about("kari", 50).await.unwrap();
    assert!(
        !log.iter().any(|e| e.actor == "web:ola"),
        "nothing done as ola: {log:?}"
    );
}

/// The secret shown on the enrolment page.
fn secret_on(page: &str) -> String {
    let at = page.find("<code class=\"secret\">").expect("the secret") + 21;
    page[at..].split('<').next().unwrap().to_owned()
}

/// Sets up a second factor for the signed-in `client`; returns its secret (the code of
/// this time step is used).
async fn enrol(client: &StaffClient) -> String {
    let secret = secret_on(&client.get_ok("/admin/totp").await);
    let response = client
        .post("/admin/totp", &[("code", &totp_code(&secret, 0))])
        .await;
    assert_eq!(response.status(), 200);
    secret
}

async fn is_active(app: &TestApp, name: &str) -> bool {
    app.store
        .staff_accounts()
        .await
        .unwrap()
        .iter()
        .any(|a| a.username == name && a.disabled_at.is_none())
}

/// An unattended session of an administrator cannot change accounts: without her
/// password, with a wrong one, and once she has a second factor without or with a wrong
/// code, nothing changes; wrong tries count as failed logins.
async fn account_changes_need_the_administrators_own_password_and_code(db: &TestDb) {
    let app = plain_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/staff").await;
    assert!(page.contains("Ditt passord") && !page.contains("Kode fra appen"));
    for (mine, message) in [
        (None, "Passordet ditt stemmer ikke"),
        (Some("et gjettet passord"), "Passordet ditt stemmer ikke"),
    ] {
        let mut fields = vec![];
        if let Some(mine) = mine {
            fields.push(("my_password", mine));
        }
        let response = kari.post("/admin/staff/ola/disable", &fields).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{page}");
        assert!(page.contains("aria-invalid=\"true\""), "at the field");
        let response = kari
            .post(
                "/admin/staff",
                &[
                    ("username", "bakdor"),
                    ("password", STAFF_PASSWORD),
                    ("my_password", mine.unwrap_or("")),
                ],
            )
            .await;
        assert_eq!(response.status(), 422);
    }
    assert!(is_active(&app, "ola").await);
    assert!(!app.store.staff_user_exists("bakdor").await.unwrap());
    assert!(
        db.query_strings("SELECT client_key FROM login_attempts")
            .await
            .contains(&"account:kari".to_owned()),
        "counted as failed logins for the account"
    );
    let failed = db
        .query_strings(
            "SELECT subject FROM audit_log WHERE action = 'staff.login_failed' AND subject = 'kari'",
        )
        .await;
    assert_eq!(failed.len(), 4, "each wrong password is a failed login");

    // With a second factor, the code is asked for too.
    let secret = enrol(&kari).await;
    assert!(kari.get_ok("/admin/staff").await.contains("Kode fra appen"));
    // The code used at enrolment (or, if the clock moved on since, the step before the
    // one in use) is refused: a code works once, and never an older one.
    for code in [
        None,
        Some("000000".to_owned()),
        Some(totp_code(&secret, -30)),
    ] {
        let mut fields = vec![];
        if let Some(code) = &code {
            fields.push(("my_code", code.as_str()));
        }
        let response = kari.post_reauth("/admin/staff/ola/disable", &fields).await;
        assert_eq!(response.status(), 422, "{code:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Koden fra appen mangler, stemmer ikke eller er brukt"),
            "{code:?}"
        );
    }
    assert!(is_active(&app, "ola").await, "ola is still active");

    // The right password and a fresh code: ola is disabled, then kari adds an account.
    let response = kari
        .post_reauth(
            "/admin/staff/ola/disable",
            &[("my_code", &totp_code(&secret, 30))],
        )
        .await;
    assert_eq!(location(&response), "/admin/staff?melding=deaktivert");
    assert!(!is_active(&app, "ola").await);
    assert!(
        db.query_strings(
            "SELECT action FROM audit_log WHERE action = 'staff.disable' AND actor = 'web:kari'"
        )
        .await
        .len()
            == 1
    );
}

/// «Nullstill tofaktor»: the account's sessions end and it must set up a second factor
/// again at its next sign-in; with no address, the page says the owner was not told.
async fn resetting_a_second_factor_ends_sessions_and_asks_for_enrolment(db: &TestDb) {
    let app = plain_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    enrol(&ola).await;
    ola.get_ok("/admin").await;

    let response = kari
        .post_reauth("/admin/staff/ola/second-factor/reset", &[])
        .await;
    assert_eq!(
        location(&response),
        "/admin/staff?melding=tofaktor-uten-adresse"
    );
    assert!(
        kari.get_ok("/admin/staff?melding=tofaktor-uten-adresse")
            .await
            .contains("Vi kunne ikke si fra til personen")
    );
    assert_eq!(ola.get("/admin").await.status(), 303, "ola's session ended");
    let state = app.store.totp_state("ola").await.unwrap().unwrap();
    assert!(!state.enabled && state.secret.is_none());

    // Signing in again: no page opens before a new second factor is set up.
    let cookie = sign_in(&app, "ola", STAFF_PASSWORD).await.unwrap();
    let half = StaffClient::for_session(&app.address, cookie);
    assert_eq!(location(&half.get("/admin").await), "/admin/totp");
    let half = half.with_csrf_from("/admin/totp").await;
    enrol(&half).await;
    half.get_ok("/admin").await;
    assert!(
        app.store
            .audit_about("ola", 50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "staff.second_factor_reset" && e.actor == "web:kari")
    );
    // Enrolled again: the next sign-in asks for a code, not a new set-up.
    let cookie = sign_in(&app, "ola", STAFF_PASSWORD).await.unwrap();
    let again = StaffClient::for_session(&app.address, cookie);
    assert_eq!(location(&again.get("/admin").await), "/admin/login/kode");
}

/// The relay refuses the owner's address: the administrator is told the owner was not
/// told, and the reset stands.
async fn an_owner_mail_that_cannot_be_sent_is_shown_and_the_change_stands(db: &TestDb) {
    let app = approval_app(db).await;
    add_staff_with_email(&app.store, "ola", "ola@example.no").await;
    app.sink.as_ref().unwrap().set(|b| {
        b.rcpt_always
            .insert("ola@example.no".to_owned(), "550 5.1.1 no such mailbox");
    });
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let response = kari
        .post_reauth("/admin/staff/ola/second-factor/reset", &[])
        .await;
    assert_eq!(
        location(&response),
        "/admin/staff?melding=tofaktor-varsel-feilet"
    );
    assert!(
        kari.get_ok("/admin/staff?melding=tofaktor-varsel-feilet")
            .await
            .contains("kunne ikke sendes. Si fra selv.")
    );
    assert_eq!(app.mails().len(), 0);
    let cookie = sign_in(&app, "ola", STAFF_PASSWORD).await.unwrap();
    let half = StaffClient::for_session(&app.address, cookie);
    assert_eq!(
        location(&half.get("/admin").await),
        "/admin/totp",
        "the reset stands: ola sets up a second factor"
    );
}

/// The review's attack, the other way round: kari makes account «b», asks for the send
/// as b, and approves it as herself. Her own account was changed by nobody, but she
/// made the one that asked: refused, nothing sent.
async fn the_maker_of_the_asking_account_cannot_approve_its_send(db: &TestDb) {
    let app = approval_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let made = kari
        .post_reauth(
            "/admin/staff",
            &[("username", "b"), ("password", STAFF_PASSWORD)],
        )
        .await;
    assert_eq!(made.status(), 303);
    // A day later, so that only who made whom can refuse it.
    let day_ago = Timestamp::now().unix_ms() - 25 * 3600 * 1000;
    db.execute(&format!("UPDATE staff_account_changes SET at = {day_ago}"))
        .await;
    let b = StaffClient::log_in(&app.address, "b").await;
    kari_asks_for_a_send(&b).await;
    let page = refused_approval(&kari).await;
    assert!(
        page.contains("Du laget eller endret kontoen til den som ba om utsendingen"),
        "{page}"
    );
    still_waits(&app, db).await;
    assert_eq!(run_worker(&app, db).await, 0);
    assert_eq!(app.mails().len(), 0);
    assert_eq!(refusals_logged(db, "web:kari").await, 1);
}

/// kari makes an administrator «b», b makes «c»; a day later kari asks and c approves.
/// c was made by b, not by kari, but b was made by kari: still one person. Refused.
async fn a_chain_of_accounts_is_still_one_person(db: &TestDb) {
    let app = approval_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let made = kari
        .post_reauth(
            "/admin/staff",
            &[
                ("username", "b"),
                ("password", STAFF_PASSWORD),
                ("admin", "1"),
            ],
        )
        .await;
    assert_eq!(made.status(), 303);
    let b = StaffClient::log_in(&app.address, "b").await;
    let made = b
        .post_reauth(
            "/admin/staff",
            &[("username", "c"), ("password", STAFF_PASSWORD)],
        )
        .await;
    assert_eq!(made.status(), 303, "b is an administrator");
    let day_ago = Timestamp::now().unix_ms() - 25 * 3600 * 1000;
    db.execute(&format!("UPDATE staff_account_changes SET at = {day_ago}"))
        .await;
    kari_asks_for_a_send(&kari).await;
    let c = StaffClient::log_in(&app.address, "c").await;
    let page = refused_approval(&c).await;
    assert!(
        page.contains("laget eller endret av en konto som den som ba om utsendingen selv laget"),
        "{page}"
    );
    still_waits(&app, db).await;
    assert_eq!(run_worker(&app, db).await, 0);
    assert_eq!(app.mails().len(), 0);
}
