//! Staff accounts in the web admin: add, disable (sessions end at once), enable, a
//! new password; each person's own password and sessions. On SQLite and PostgreSQL.

mod common;

use common::staff::{STAFF_PASSWORD, StaffClient, add_staff, http, location, set_cookie};
use common::{TestApp, TestDb};

on_both_backends!(
    account_pages_need_a_session_and_changes_a_token,
    accounts_are_added_disabled_enabled_and_given_passwords,
    each_person_changes_their_password_and_ends_their_sessions,
);

async fn app(db: &TestDb) -> TestApp {
    let app = common::spawn_app_at_own_address(db, common::test_settings(db), None).await;
    add_staff(&app.store, "kari").await;
    app
}

/// Signs `name` in with `password`: the session cookie, or `None` and the status.
async fn sign_in(app: &TestApp, name: &str, password: &str) -> Result<String, u16> {
    let response = http()
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .unwrap();
    match set_cookie(&response) {
        Some((cookie, _)) if response.status() == 303 => Ok(cookie),
        _ => Err(response.status().as_u16()),
    }
}

async fn account_pages_need_a_session_and_changes_a_token(db: &TestDb) {
    let app = app(db).await;
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
    let app = app(db).await;
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
            .post(
                "/admin/staff",
                &[("username", name), ("password", password)],
            )
            .await;
        assert_eq!(response.status(), 422, "{name}");
        assert!(response.text().await.unwrap().contains(message), "{name}");
    }
    let response = kari
        .post(
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
    let response = kari.post("/admin/staff/ola/disable", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(olas_page(ola.clone()).await, 303, "the session ended");
    assert_eq!(sign_in(&app, "ola", "olas lange passord").await, Err(401));
    let page = kari.get_ok("/admin/staff").await;
    assert!(page.contains("Deaktivert"), "{page}");
    // Nobody disables themselves.
    let own = kari.post("/admin/staff/kari/disable", &[]).await;
    assert_eq!(own.status(), 422);
    assert!(own.text().await.unwrap().contains("din egen konto"));
    let unknown = kari.post("/admin/staff/finnes-ikke/disable", &[]).await;
    assert_eq!(unknown.status(), 422);

    // Enabled again, then a new password: ola's sessions end, the new one works.
    assert_eq!(
        kari.post("/admin/staff/ola/enable", &[]).await.status(),
        303
    );
    let ola = sign_in(&app, "ola", "olas lange passord")
        .await
        .expect("enabled");
    let response = kari
        .post(
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
    let app = app(db).await;
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
            let at = row.find("name=\"session\" value=\"").unwrap() + 23;
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
