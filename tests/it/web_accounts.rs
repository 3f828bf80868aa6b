//! Staff accounts in the web admin: add, disable (sessions end at once), enable, a
//! new password; each person's own password and sessions. On SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use common::staff::{
    STAFF_PASSWORD, StaffClient, add_staff, http, location, sign_in, staff_app, totp_code,
};

on_both_backends!(
    account_pages_need_a_session_and_changes_a_token,
    accounts_are_added_disabled_enabled_and_given_passwords,
    each_person_changes_their_password_and_ends_their_sessions,
    a_second_factor_is_set_up_and_asked_for_at_sign_in,
    a_required_second_factor_is_set_up_before_any_page_opens,
);

async fn account_pages_need_a_session_and_changes_a_token(db: &TestDb) {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    for path in ["/admin/staff", "/admin/account"] {
        let response = http()
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert!(location(&response).starts_with("/admin/login"));
    }
    let kari = StaffClient::log_in(&app.address, "kari").await;
    for path in [
        "/admin/staff",
        "/admin/staff/ola/password",
        "/admin/staff/ola/disable",
        "/admin/staff/ola/second-factor/reset",
        "/admin/account/password",
        "/admin/account/sessions/end",
    ] {
        let fields = [
            ("csrf", "feil"),
            ("username", "ny"),
            ("password", "et nytt langt passord"),
        ];
        let response = kari.post_raw(path, &fields, Some(&app.address)).await;
        assert_eq!(response.status(), 403, "{path} with a wrong token");
    }
    assert!(!app.store.staff_user_exists("ny").await.unwrap());
    assert!(
        sign_in(&app, "ola", STAFF_PASSWORD).await.is_ok(),
        "ola untouched"
    );
}

async fn accounts_are_added_disabled_enabled_and_given_passwords(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/staff").await;
    assert!(page.contains("kari</bdi> (deg)"), "{page}");

    // Refusals in words: a short password, a bad name, a name taken.
    for (name, password, message) in [
        ("ola", "kort", "minst 12 tegn"),
        ("ola nordmann", "et langt nok passord", "1–64 bokstaver"),
        ("kari", "et langt nok passord", "finnes allerede"),
    ] {
        let response = kari
            .post_reauth(
                "/admin/staff",
                &[("username", name), ("password", password)],
            )
            .await;
        assert_eq!(response.status(), 422, "{name}");
        assert!(response.text().await.unwrap().contains(message), "{name}");
    }
    let response = kari
        .post_reauth(
            "/admin/staff",
            &[("username", "ola"), ("password", "olas lange passord")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let ola = sign_in(&app, "ola", "olas lange passord")
        .await
        .expect("ola signs in");
    let olas_page = |cookie: String| {
        let base = app.address.clone();
        async move {
            http()
                .get(format!("{base}/admin"))
                .header("cookie", format!("nyhetsbrev_stab={cookie}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(olas_page(ola.clone()).await, 200);

    // Disabling ends ola's session at once, and ola cannot sign in.
    let response = kari.post_reauth("/admin/staff/ola/disable", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(olas_page(ola.clone()).await, 303, "the session ended");
    assert_eq!(sign_in(&app, "ola", "olas lange passord").await, Err(401));
    let page = kari.get_ok("/admin/staff").await;
    assert!(page.contains("Deaktivert"), "{page}");
    // Nobody disables themselves.
    let own = kari.post_reauth("/admin/staff/kari/disable", &[]).await;
    assert_eq!(own.status(), 422);
    assert!(own.text().await.unwrap().contains("din egen konto"));
    let unknown = kari
        .post_reauth("/admin/staff/finnes-ikke/disable", &[])
        .await;
    assert_eq!(unknown.status(), 422);

    // Enabled again, then a new password: ola's sessions end, the new one works.
    assert_eq!(
        kari.post_reauth("/admin/staff/ola/enable", &[])
            .await
            .status(),
        303
    );
    let ola = sign_in(&app, "ola", "olas lange passord")
        .await
        .expect("enabled");
    let response = kari
        .post_reauth(
            "/admin/staff/ola/password",
            &[("password", "et helt nytt passord")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        olas_page(ola).await,
        303,
        "a new password ends the sessions"
    );
    assert_eq!(sign_in(&app, "ola", "olas lange passord").await, Err(401));
    assert!(sign_in(&app, "ola", "et helt nytt passord").await.is_ok());

    let log = app.store.audit_about("ola", 20).await.unwrap();
    for action in [
        "staff.add",
        "staff.disable",
        "staff.enable",
        "staff.password",
    ] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor == "web:kari"),
            "{action}: {log:?}"
        );
    }
}

async fn each_person_changes_their_password_and_ends_their_sessions(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let other = sign_in(&app, "kari", STAFF_PASSWORD).await.unwrap();
    let page = kari.get_ok("/admin/account").await;
    assert_eq!(page.matches("name=\"session\"").count(), 2, "{page}");
    assert!(page.contains("(denne nettleseren)"));

    // End the other browser's session.
    // The row not marked as this browser holds the other session.
    let other_hash = page
        .split("<tr>")
        .filter(|row| row.contains("name=\"session\"") && !row.contains("(denne nettleseren)"))
        .map(|row| {
            let at = row.find("name=\"session\" value=\"").unwrap() + 22;
            row[at..].split('"').next().unwrap().to_owned()
        })
        .next()
        .expect("the other session's row");
    let response = kari
        .post(
            "/admin/account/sessions/end",
            &[("session", other_hash.as_str())],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/account?melding=avsluttet");
    let ended = http()
        .get(format!("{}/admin", app.address))
        .header("cookie", format!("nyhetsbrev_stab={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 303, "the other browser is signed out");
    kari.get_ok("/admin").await;

    // Changing the password: the current one is checked, the new one typed twice.
    for (current, new, repeated, message) in [
        (
            "feil passord",
            "et helt nytt passord",
            "et helt nytt passord",
            "nåværende passordet er feil",
        ),
        (
            STAFF_PASSWORD,
            "et helt nytt passord",
            "et annet nytt passord",
            "ikke skrevet likt",
        ),
        (STAFF_PASSWORD, "kort", "kort", "minst 12 tegn"),
    ] {
        let response = kari
            .post(
                "/admin/account/password",
                &[("current", current), ("new", new), ("repeated", repeated)],
            )
            .await;
        assert_eq!(response.status(), 422, "{message}");
        assert!(
            response.text().await.unwrap().contains(message),
            "{message}"
        );
    }
    let response = kari
        .post(
            "/admin/account/password",
            &[
                ("current", STAFF_PASSWORD),
                ("new", "et helt nytt passord"),
                ("repeated", "et helt nytt passord"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/admin/login"));
    assert_eq!(
        kari.get("/admin").await.status(),
        303,
        "signed out everywhere"
    );
    assert_eq!(sign_in(&app, "kari", STAFF_PASSWORD).await, Err(401));
    assert!(sign_in(&app, "kari", "et helt nytt passord").await.is_ok());
}

/// The secret shown on the enrolment page.
fn secret_on(page: &str) -> String {
    let at = page.find("<code class=\"secret\">").expect("the secret") + 21;
    page[at..].split('<').next().unwrap().to_owned()
}

async fn a_second_factor_is_set_up_and_asked_for_at_sign_in(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/totp").await;
    assert!(page.contains("<svg") && page.contains("Slå på"), "{page}");
    let secret = secret_on(&page);
    assert_eq!(
        secret_on(&kari.get_ok("/admin/totp").await),
        secret,
        "the same secret until it is used"
    );
    let wrong = kari.post("/admin/totp", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), 422);
    let page = kari
        .post("/admin/totp", &[("code", &totp_code(&secret, 0))])
        .await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    assert!(kari.get_ok("/admin/totp").await.contains("10 ubrukte"));

    // Signing in now asks for a code; until then no page opens and no change goes through.
    let cookie = sign_in(&app, "kari", STAFF_PASSWORD).await.unwrap();
    let half = StaffClient::for_session(&app.address, cookie);
    let response = half.get("/admin").await;
    assert_eq!(location(&response), "/admin/login/kode");
    let half = half.with_csrf_from("/admin/login/kode").await;
    let refused = half
        .post(
            "/admin/contacts/new",
            &[
                ("email", "x@example.no"),
                ("source", "staff"),
                ("asked_on", "2025-03-12"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 303);
    assert_eq!(location(&refused), "/admin/login/kode");
    assert!(
        app.store
            .contact(&common::email("x@example.no"))
            .await
            .unwrap()
            .is_none()
    );

    // The code used at enrolment, and one two steps away, are refused.
    for code in [
        totp_code(&secret, 0),
        totp_code(&secret, 95),
        "12345".to_owned(),
    ] {
        let response = half.post("/admin/login/kode", &[("code", &code)]).await;
        assert_eq!(response.status(), 401, "{code}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Koden stemmer ikke")
        );
    }
    // The next step's code (one step of drift) works, once.
    let next = totp_code(&secret, 30);
    let response = half.post("/admin/login/kode", &[("code", &next)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin");
    half.get_ok("/admin").await;
    let again = StaffClient::for_session(
        &app.address,
        sign_in(&app, "kari", STAFF_PASSWORD).await.unwrap(),
    )
    .with_csrf_from("/admin/login/kode")
    .await;
    let reused = again.post("/admin/login/kode", &[("code", &next)]).await;
    assert_eq!(reused.status(), 401, "a code works once");

    // A recovery code works once, in any case and with or without its dash.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let response = again.post("/admin/login/kode", &[("code", &typed)]).await;
    assert_eq!(response.status(), 303);
    again.get_ok("/admin").await;
    let third = StaffClient::for_session(
        &app.address,
        sign_in(&app, "kari", STAFF_PASSWORD).await.unwrap(),
    )
    .with_csrf_from("/admin/login/kode")
    .await;
    assert_eq!(
        third
            .post("/admin/login/kode", &[("code", &codes[3])])
            .await
            .status(),
        401
    );
    // A session that owes its code cannot start enrolling a new app either.
    assert_eq!(
        location(&third.get("/admin/totp").await),
        "/admin/login/kode"
    );
    assert!(
        third
            .get_ok("/admin/login/kode")
            .await
            .contains("Kode fra appen")
    );

    let log = app.store.audit_about("kari", 50).await.unwrap();
    assert!(log.iter().any(|e| e.action == "staff.totp"));
    assert!(
        log.iter()
            .filter(|e| e.action == "staff.totp_failed")
            .count()
            >= 4
    );
}

async fn a_required_second_factor_is_set_up_before_any_page_opens(db: &TestDb) {
    let mut settings = common::test_settings(db);
    settings.staff_require_totp = true;
    let app = common::spawn_app_at_own_address(db, settings, None).await;
    add_staff(&app.store, "ola").await;
    let cookie = sign_in(&app, "ola", STAFF_PASSWORD).await.unwrap();
    let half = StaffClient::for_session(&app.address, cookie);
    for path in ["/admin", "/admin/contacts", "/admin/login/kode"] {
        let response = half.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        let expected = if path == "/admin/login/kode" {
            "/admin"
        } else {
            "/admin/totp"
        };
        assert_eq!(location(&response), expected, "{path}");
    }
    let half = half.with_csrf_from("/admin/totp").await;
    let page = half.get_ok("/admin/totp").await;
    assert!(page.contains("krever tofaktor"), "{page}");
    let secret = secret_on(&page);
    let response = half
        .post("/admin/totp", &[("code", &totp_code(&secret, 0))])
        .await;
    assert_eq!(response.status(), 200);
    half.get_ok("/admin").await;
    half.get_ok("/admin/contacts").await;
}
