//! The admin API's own credentials (issue 29, "a password alone is still enough"):
//! each test makes the attack against the real server and shows it refused. On SQLite
//! and PostgreSQL.
//!
//! - a staff password, even the right one of an account with a second factor, opens
//!   nothing;
//! - an `Authentication-Results` header in a posted mail verifies nobody: a request to
//!   leave gets the leave link, as from any other door;
//! - a revoked token opens nothing; a secret is stored only as its hash and never
//!   listed;
//! - every post is in the audit log as the token's, and so is what the mail changed;
//! - tokens are made (shown once) and revoked in the admin, with a session and a CSRF
//!   token.

use crate::common;

use common::staff::{StaffClient, http, location, totp_code};
use common::{TestApp, TestDb, email, new_contact};
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::store::Actor;

on_both_backends!(
    a_staff_password_never_opens_the_api,
    a_posted_authentication_results_header_verifies_nobody,
    a_revoked_token_opens_nothing_and_secrets_are_kept_only_as_hashes,
    every_api_post_is_audited_as_the_token,
    tokens_are_made_once_and_revoked_in_the_admin,
    only_an_administrator_makes_or_revokes_a_token,
);

const TRUSTED: &str = "mx.kom.example.no";

/// The app (mail to the in-process sink), its `base_url` its own address, with the
/// trusted receiving server set, staff account `kari`, and the confirmed contact
/// kari@example.org.
async fn app(db: &TestDb) -> TestApp {
    app_requiring_totp(db, false).await
}

/// [`app`], with `staff_require_totp` as given.
async fn app_requiring_totp(db: &TestDb, require_totp: bool) -> TestApp {
    let mut settings = common::test_settings(db);
    settings.trusted_authserv_id = Some(TRUSTED.into());
    settings.staff_require_totp = require_totp;
    let app = common::staff::staff_app_relaying(db, settings).await;
    app.store
        .add_contact(
            &new_contact("kari@example.org", ContactStatus::Confirmed),
            &Actor::parse("cli:test"),
        )
        .await
        .unwrap();
    app
}

fn api(app: &TestApp) -> String {
    format!("{}/admin/api/inbound", app.address)
}

/// A request to leave from kari@example.org that claims our receiving server checked
/// it: DKIM and DMARC pass for the From domain.
fn vouched_leave_request(n: usize) -> Vec<u8> {
    format!(
        "Authentication-Results: {TRUSTED}; spf=pass smtp.mailfrom=example.org;\r\n \
         dkim=pass header.d=example.org header.s=mail; dmarc=pass header.from=example.org\r\n\
         From: Kari <kari@example.org>\r\nTo: nyhetsbrev-leave@example.no\r\n\
         Subject: Meld meg av\r\nMessage-ID: <leave-{n}@example.org>\r\n\r\nMeld meg av, takk.\r\n"
    )
    .into_bytes()
}

async fn post(app: &TestApp, auth: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(api(app)).body(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The attack of the issue: a phished password (HTTP Basic) of an account that has a
/// second factor, with `staff_require_totp`, posting a leave request that claims to be
/// verified. 401, and nothing is recorded, changed, mailed or counted.
async fn a_staff_password_never_opens_the_api(db: &TestDb) {
    use base64::Engine;
    let app = app_requiring_totp(db, true).await;
    // kari has a second factor in force.
    let staff = nyhetsbrev::ops::Staff::new(app.store.clone()).with_key(Some(common::test_key()));
    let enrolment = staff.totp_enrolment("kari").await.unwrap();
    staff
        .confirm_totp(
            "kari",
            &totp_code(&enrolment.secret, 0),
            &Actor::parse("web:kari"),
        )
        .await
        .unwrap();
    let audit_before = db.count("audit_log").await;
    let password = common::staff::STAFF_PASSWORD;
    for credentials in [
        format!("kari:{password}"),
        format!("kari:{password}{}", totp_code(&enrolment.secret, 0)),
    ] {
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        let response = post(
            &app,
            Some(&format!("Basic {basic}")),
            vouched_leave_request(0),
        )
        .await;
        assert_eq!(response.status(), 401);
        let body = json(response).await;
        assert!(
            body["error"].as_str().unwrap().contains("API token"),
            "{body}"
        );
    }
    // No credential at all, or a password sent as a bearer token: the same.
    assert_eq!(
        post(&app, None, vouched_leave_request(0)).await.status(),
        401
    );
    assert_eq!(
        post(
            &app,
            Some(&format!("Bearer {password}")),
            vouched_leave_request(0)
        )
        .await
        .status(),
        401
    );
    assert!(app.store.list_inbound(None, 10).await.unwrap().is_empty());
    let kari = app
        .store
        .existing_contact(&email("kari@example.org"))
        .await
        .unwrap();
    assert_eq!(kari.status, ContactStatus::Confirmed);
    assert_eq!(app.store.queued_notices().await.unwrap(), 0);
    assert!(app.mails().is_empty());
    assert_eq!(
        db.count("audit_log").await,
        audit_before,
        "nothing in the audit log"
    );
}

/// A token's holder posts a leave request carrying our trusted server's
/// `Authentication-Results` (dkim and dmarc pass): the header is the poster's own
/// word, so kari stays on the list and gets a leave link, as from any other door.
async fn a_posted_authentication_results_header_verifies_nobody(db: &TestDb) {
    let app = app(db).await;
    let token = common::api_token(&app.store, "Postmottak").await;
    let response = post(
        &app,
        Some(&format!("Bearer {token}")),
        vouched_leave_request(1),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["kind"], "unsubscribe", "{body}");
    let result = body["result"].as_str().unwrap();
    assert!(
        result.contains("sender not verified") && result.contains("leave link"),
        "{result}"
    );
    let kari = app
        .store
        .existing_contact(&email("kari@example.org"))
        .await
        .unwrap();
    assert_eq!(kari.status, ContactStatus::Confirmed, "not unsubscribed");
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1, "one leave link");
    let mail = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("kari@example.org")
    );
    assert!(
        mail.body_text(0).unwrap().contains("/avmeld/"),
        "a leave link in the mail"
    );

    // The same header through the MTA pipe, where our own server put it, is believed:
    // it is the door, not the header, that the API cannot vouch for.
    let settings = {
        let mut s = common::test_settings(db);
        s.trusted_authserv_id = Some(TRUSTED.into());
        s
    };
    let pipe = nyhetsbrev::startup::inbound(app.store.clone(), &settings).unwrap();
    let handled = pipe
        .handle(
            &vouched_leave_request(2),
            nyhetsbrev::inbound::Channel::Stdin,
            &nyhetsbrev::inbound::Envelope::default(),
        )
        .await
        .unwrap();
    assert!(
        handled.result.contains("sender verified"),
        "{}",
        handled.result
    );
}

async fn a_revoked_token_opens_nothing_and_secrets_are_kept_only_as_hashes(db: &TestDb) {
    let app = app(db).await;
    let tokens = nyhetsbrev::ops::ApiTokens::new(app.store.clone());
    let token = common::api_token(&app.store, "Postmottak").await;
    let other = common::api_token(&app.store, "Reserve").await;
    assert!(token.starts_with("nbk_") && token.len() == 47, "{token}");
    let bearer = format!("Bearer {token}");
    let request = |n: usize| {
        format!(
            "From: ola@example.org\r\nSubject: Meld meg på\r\nMessage-ID: <join-{n}@example.org>\r\n\r\nHei\r\n"
        )
        .into_bytes()
    };
    assert_eq!(post(&app, Some(&bearer), request(1)).await.status(), 200);

    // Only the hash is in the table: neither the secret nor its random part.
    let stored = db
        .query_strings(
            "SELECT name || '|' || token_hash || '|' || scope || '|' || created_by FROM api_tokens",
        )
        .await
        .join("\n");
    for secret in [&token, &other] {
        assert!(!stored.contains(&secret[4..]), "{stored}");
        let hash: String = {
            use sha2::Digest;
            sha2::Sha256::digest(secret.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert!(stored.contains(&hash), "stored as its SHA-256");
    }
    // The list shows no secret either, in any form it can be printed in.
    let list = tokens.list().await.unwrap();
    assert_eq!(list.len(), 2);
    let printed = format!("{list:?}");
    assert!(!printed.contains(&token[4..]) && !printed.contains(&other[4..]));
    assert!(list[0].last_used_at.is_some(), "Postmottak was used");
    assert!(list[1].last_used_at.is_none(), "Reserve was not");

    tokens
        .revoke("Postmottak", &Actor::parse("cli:test"))
        .await
        .unwrap();
    let refused = post(&app, Some(&bearer), request(2)).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(app.store.list_inbound(None, 10).await.unwrap().len(), 1);
    // Revoked is for good; the row stays, so the log's name keeps meaning one token.
    assert!(matches!(
        tokens.revoke("Postmottak", &Actor::parse("cli:test")).await,
        Err(nyhetsbrev::ops::ApiTokenError::AlreadyRevoked(_))
    ));
    assert!(matches!(
        tokens
            .add(
                "Postmottak",
                nyhetsbrev::domain::ApiScope::Inbound,
                &Actor::parse("cli:test")
            )
            .await,
        Err(nyhetsbrev::ops::ApiTokenError::NameTaken(_))
    ));
    let list = tokens.list().await.unwrap();
    assert!(list[0].revoked_at.is_some());
    assert_eq!(list[0].revoked_by.as_deref(), Some("cli:test"));
    // The other token still works.
    let response = post(&app, Some(&format!("Bearer {other}")), request(3)).await;
    assert_eq!(response.status(), 200);
}

/// Every post is in the log as the token's (`api:<name>`), and so is each change its
/// mail makes (the leave link it asked for); a request to join is kept for staff and
/// adds nobody. Staff read the token's name, not `inbound:unsubscribe`.
async fn every_api_post_is_audited_as_the_token(db: &TestDb) {
    let app = app(db).await;
    let token = common::api_token(&app.store, "Postmottak").await;
    let bearer = format!("Bearer {token}");
    let leave = post(&app, Some(&bearer), vouched_leave_request(3)).await;
    assert_eq!(leave.status(), 200);
    let leave = json(leave).await;
    let join = post(
        &app,
        Some(&bearer),
        "From: Ola <ola@example.org>\r\nSubject: Meld meg på\r\nMessage-ID: <join@example.org>\r\n\r\nHei\r\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(join.status(), 200);
    let join = json(join).await;
    // A request to join through the API verifies no sender either: kept for staff.
    assert_eq!(join["kind"], "other", "{join}");
    // The same bytes again: a post all the same, and in the log.
    let again = post(&app, Some(&bearer), vouched_leave_request(3)).await;
    let again = json(again).await;
    assert_eq!(again["duplicate"], true);

    let log = app.store.audit_log(100).await.unwrap();
    let posts: Vec<_> = log
        .iter()
        .filter(|e| e.action == "inbound.api_post")
        .collect();
    assert_eq!(posts.len(), 3, "{log:#?}");
    assert!(posts.iter().all(|e| e.actor == "api:Postmottak"));
    let subjects: Vec<_> = posts.iter().map(|e| e.subject.clone().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            format!("inbound #{}", leave["id"]),
            format!("inbound #{}", join["id"]),
            format!("inbound #{}", leave["id"]),
        ]
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
    );
    assert!(
        posts[0].detail.as_deref().unwrap().contains("mottatt før"),
        "{:?}",
        posts[0]
    );
    let leave_link = log
        .iter()
        .find(|e| e.action == "contact.leave_link")
        .expect("the leave link is in the log");
    assert_eq!(leave_link.actor, "api:Postmottak");
    assert_eq!(leave_link.subject.as_deref(), Some("kari@example.org"));
    // Nobody is added before staff answer the request.
    assert!(
        !log.iter()
            .any(|e| e.action == "contact.add" && e.subject.as_deref() == Some("ola@example.org")),
        "{log:#?}"
    );
    assert!(
        app.store
            .contact(&common::email("ola@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !log.iter().any(|e| e.actor.as_str().starts_with("inbound:")),
        "{log:#?}"
    );

    // Staff read the token's name in words on the log page and the contact's page.
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/audit?hvem=api%3APostmottak").await;
    assert!(
        page.contains("Et program med API-nøkkelen «Postmottak»"),
        "{page}"
    );
    assert!(page.contains("e-post levert gjennom API-et"), "{page}");
    assert!(page.contains("ba om å melde seg av på e-post"), "{page}");
}

/// Staff make a token in the admin: the page that answers the POST shows its secret,
/// and no later page does. Making and revoking need a session and the CSRF token.
async fn tokens_are_made_once_and_revoked_in_the_admin(db: &TestDb) {
    let app = app(db).await;
    // Without a session: to the login page, nothing made.
    let anonymous = http()
        .get(format!("{}/admin/api-tokens", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(location(&anonymous).starts_with("/admin/login"));
    let anonymous = http()
        .post(format!("{}/admin/api-tokens", app.address))
        .header("origin", &app.address)
        .form(&[("name", "Bakdør")])
        .send()
        .await
        .unwrap();
    assert!(
        [303, 401, 403].contains(&anonymous.status().as_u16()),
        "{}",
        anonymous.status()
    );

    let kari = StaffClient::log_in(&app.address, "kari").await;
    let staff_page = kari.get_ok("/admin/staff").await;
    assert!(staff_page.contains("href=\"/admin/api-tokens\""));
    // A forged or missing CSRF token makes nothing.
    for csrf in ["feil", ""] {
        let forged = kari
            .post_raw(
                "/admin/api-tokens",
                &[("csrf", csrf), ("name", "Bakdør")],
                Some(&app.address),
            )
            .await;
        assert_eq!(forged.status(), 403);
    }
    assert!(
        nyhetsbrev::ops::ApiTokens::new(app.store.clone())
            .list()
            .await
            .unwrap()
            .is_empty()
    );

    let made = kari
        .post("/admin/api-tokens", &[("name", "Postmottak")])
        .await;
    assert_eq!(made.status(), 200);
    let page = made.text().await.unwrap();
    assert!(page.contains("Kopier nøkkelen nå"), "{page}");
    let start = page.find("value=\"nbk_").expect("the secret on the page") + 7;
    let token: String = page[start..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(token.len(), 47, "{token}");
    assert_eq!(
        post(
            &app,
            Some(&format!("Bearer {token}")),
            vouched_leave_request(4)
        )
        .await
        .status(),
        200
    );
    // Shown once: the list does not show it again.
    let list = kari.get_ok("/admin/api-tokens").await;
    assert!(
        !list.contains(&token[4..]) && !list.contains("nbk_"),
        "{list}"
    );
    assert!(list.contains("Postmottak") && list.contains("Levere innkommende e-post"));
    assert!(list.contains("<bdi>kari</bdi>"), "who made it: {list}");
    // A name that is taken, or not a name, is refused in words.
    let taken = kari
        .post("/admin/api-tokens", &[("name", "Postmottak")])
        .await;
    assert_eq!(taken.status(), 422);
    assert!(taken.text().await.unwrap().contains("allerede en nøkkel"));
    let bad = kari
        .post("/admin/api-tokens", &[("name", "a/b<script>")])
        .await;
    assert_eq!(bad.status(), 422);

    // Revoking needs the token too.
    let forged = kari
        .post_raw(
            "/admin/api-tokens/revoke",
            &[("csrf", "feil"), ("name", "Postmottak")],
            Some(&app.address),
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        post(
            &app,
            Some(&format!("Bearer {token}")),
            vouched_leave_request(5)
        )
        .await
        .status(),
        200,
        "still works"
    );
    let revoked = kari
        .post("/admin/api-tokens/revoke", &[("name", "Postmottak")])
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(location(&revoked), "/admin/api-tokens?melding=trukket");
    assert_eq!(
        post(
            &app,
            Some(&format!("Bearer {token}")),
            vouched_leave_request(6)
        )
        .await
        .status(),
        401
    );
    let list = kari.get_ok("/admin/api-tokens").await;
    assert!(list.contains("Trukket tilbake"), "{list}");
    let log = app.store.audit_log(100).await.unwrap();
    for action in ["api_token.add", "api_token.revoke"] {
        let entry = log.iter().find(|e| e.action == action).unwrap();
        assert_eq!(entry.actor, "web:kari");
        assert_eq!(entry.subject.as_deref(), Some("Postmottak"));
    }
}

/// A token is a credential: a staff member who is not an administrator (or a session
/// left open at their desk) can neither make one nor revoke the integration's.
async fn only_an_administrator_makes_or_revokes_a_token(db: &TestDb) {
    let app = app(db).await;
    let token = common::api_token(&app.store, "Postmottak").await;
    common::staff::add_staff(&app.store, "ola").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    let made = ola.post("/admin/api-tokens", &[("name", "Bakdør")]).await;
    assert_eq!(made.status(), 403);
    let page = made.text().await.unwrap();
    assert!(page.contains("Bare en administrator"), "{page}");
    assert!(!page.contains("nbk_"), "{page}");
    let revoked = ola
        .post("/admin/api-tokens/revoke", &[("name", "Postmottak")])
        .await;
    assert_eq!(revoked.status(), 403);
    let names: Vec<String> = app
        .store
        .api_tokens()
        .await
        .unwrap()
        .iter()
        .map(|t| format!("{}|{}", t.name, t.revoked_at.is_some()))
        .collect();
    assert_eq!(names, ["Postmottak|false"]);
    let still = post(
        &app,
        Some(&format!("Bearer {token}")),
        vouched_leave_request(5),
    )
    .await;
    assert_eq!(still.status(), 200, "the integration's token still works");
    // kari, the first account, is the administrator: she may.
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let made = kari.post("/admin/api-tokens", &[("name", "Reserve")]).await;
    assert_eq!(made.status(), 200);
}
