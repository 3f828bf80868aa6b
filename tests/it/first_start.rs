//! A new installation's first start (issue 31), with the real binary and the real
//! server: `serve` makes the token key beside the database (0600) and keeps it, and
//! prints a one-time set-up code; `doctor` repeats the code and names the key's file;
//! a key in the settings wins; the code makes one administrator, once, whatever comes
//! at the same time; wrong codes are throttled like sign-ins; the dashboard's first
//! steps tick themselves off. On SQLite and PostgreSQL.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::staff::{STAFF_PASSWORD, StaffClient, add_staff, http, location, set_cookie};
use common::{KillOnDrop, Kind, TestApp, TestDb, nyhetsbrev};
use nyhetsbrev::config::Settings;
use nyhetsbrev::startup::{KeyFile, with_token_key};
use secrecy::ExposeSecret;

on_both_backends!(
    serve_makes_the_key_once_and_prints_the_set_up_code,
    the_set_up_code_makes_one_administrator_once,
    set_up_forms_sent_at_once_make_one_account,
    wrong_set_up_codes_are_throttled_like_sign_ins,
    staff_add_spends_the_set_up_code,
    the_dashboard_ticks_off_the_first_steps,
);

/// Where `serve` keeps the key of this test database when no setting says.
fn key_file_of(db: &TestDb) -> std::path::PathBuf {
    match db.kind {
        Kind::Sqlite => db.dir().join("test.token_key"),
        Kind::Postgres => db.dir().join("nyhetsbrev.token_key"),
    }
}

/// `serve` with no key in its settings, until it has printed its set-up code: the code
/// and everything it printed so far.
fn serve_until_code(db: &TestDb) -> (KillOnDrop, Option<String>, Vec<String>) {
    let mut child = KillOnDrop(
        nyhetsbrev(db)
            .env_remove("NYHETSBREV_TOKEN_KEY")
            .env("NYHETSBREV_BIND", "127.0.0.1:0")
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut printed = Vec::new();
    let mut code = None;
    for line in BufReader::new(child.0.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((_, rest)) = line.split_once("with the set-up code ") {
            code = Some(rest.chars().take(14).collect());
        }
        let listening = line.starts_with("nyhetsbrev listening on");
        printed.push(line);
        if code.is_some() || (listening && printed.len() > 40) {
            break;
        }
    }
    (child, code, printed)
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn serve_makes_the_key_once_and_prints_the_set_up_code(db: &TestDb) {
    let key_file = key_file_of(db);
    assert!(!key_file.exists());
    let (first, code, printed) = serve_until_code(db);
    drop(first);
    let code = code.unwrap_or_else(|| panic!("serve prints a set-up code: {printed:#?}"));
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        printed.iter().any(|l| l.contains("made a new token key")),
        "{printed:#?}"
    );
    assert_eq!(
        mode_of(&key_file),
        0o600,
        "only the service's user reads the key"
    );
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64, "{key}");

    // The next start reads the same key and prints the same code.
    let (second, again, printed) = serve_until_code(db);
    drop(second);
    assert_eq!(again.as_deref(), Some(code.as_str()), "{printed:#?}");
    assert!(!printed.iter().any(|l| l.contains("made a new token key")));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);

    // The doctor repeats the code and says where the key is, and makes nothing.
    let doctor = nyhetsbrev(db)
        .env_remove("NYHETSBREV_TOKEN_KEY")
        .arg("doctor")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        said.contains(&format!("the set-up code is {code}")),
        "{said}"
    );
    let key_line = said
        .lines()
        .find(|l| l.contains("token_key"))
        .unwrap_or_default();
    assert!(
        key_line.starts_with("ok")
            && key_line.contains("kept in")
            && key_line.contains(key_file.file_name().unwrap().to_str().unwrap()),
        "{said}"
    );
}

#[test]
fn a_key_in_the_settings_wins_and_the_doctor_makes_none() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: nyhetsbrev::config::DatabaseUrl::new(format!(
            "sqlite://{}",
            dir.path().join("n.db").display()
        )),
        token_key: Some("a key from the settings, long enough to use".into()),
        ..Settings::default()
    };
    let file = dir.path().join("n.token_key");
    assert_eq!(settings.token_key_path(), file);
    let key = |s: &Settings| s.token_key.as_ref().unwrap().expose_secret().to_owned();
    let used = with_token_key(settings.clone(), KeyFile::ReadOrMake);
    assert_eq!(key(&used), "a key from the settings, long enough to use");
    assert!(
        !file.exists(),
        "no file is made when the settings give the key"
    );
    // A file beside it does not change that.
    std::fs::write(&file, "a key kept in the file, also long enough\n").unwrap();
    let used = with_token_key(settings.clone(), KeyFile::ReadOrMake);
    assert_eq!(key(&used), "a key from the settings, long enough to use");
    // Without the setting, the file's key; reading only makes nothing new.
    let without = Settings {
        token_key: None,
        ..settings.clone()
    };
    let used = with_token_key(without.clone(), KeyFile::ReadOnly);
    assert_eq!(key(&used), "a key kept in the file, also long enough");
    std::fs::remove_file(&file).unwrap();
    assert!(
        with_token_key(without, KeyFile::ReadOnly)
            .token_key
            .is_none()
    );
    assert!(!file.exists());
    // On PostgreSQL only `serve` makes it; a worker elsewhere must not make its own.
    let postgres = Settings {
        database_url: nyhetsbrev::config::DatabaseUrl::new("postgres://h/db"),
        ..Settings::default()
    };
    assert_eq!(KeyFile::for_command(&postgres, false), KeyFile::ReadOnly);
    assert_eq!(KeyFile::for_command(&postgres, true), KeyFile::ReadOrMake);
}

/// A staff app with no account: a new installation.
async fn new_installation(db: &TestDb) -> TestApp {
    common::spawn_app_at_own_address(db, common::test_settings(db), None).await
}

async fn code_of(app: &TestApp) -> String {
    nyhetsbrev::ops::Staff::new(app.store.clone())
        .first_account_code()
        .await
        .unwrap()
        .expect("a set-up code while no account exists")
}

async fn send_setup(
    app: &TestApp,
    code: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    http()
        .post(format!("{}/admin/oppstart", app.address))
        .header("origin", &app.address)
        .form(&[
            ("code", code),
            ("username", username),
            ("email", "kari@example.no"),
            ("password", password),
            ("repeated", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn the_set_up_code_makes_one_administrator_once(db: &TestDb) {
    let app = new_installation(db).await;
    let http = http();
    let get = async |path: &str| {
        http.get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap()
    };
    // The admin and its login page lead to the set-up page.
    assert_eq!(location(&get("/admin").await), "/admin/login");
    assert_eq!(location(&get("/admin/login").await), "/admin/oppstart");
    let page = get("/admin/oppstart").await.text().await.unwrap();
    assert!(page.contains("Opprett den første kontoen"), "{page}");
    let code = code_of(&app).await;

    // From another site: refused.
    let foreign = http
        .post(format!("{}/admin/oppstart", app.address))
        .header("origin", "https://angriper.example.org")
        .form(&[("code", code.as_str()), ("username", "mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // A wrong code makes nothing, and is in the log.
    let wrong = send_setup(&app, "AAAA-BBBB-CCCC", "kari", STAFF_PASSWORD).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Engangskoden stemmer ikke")
    );
    assert_eq!(
        db.count("audit_log WHERE action = 'staff.login_failed'")
            .await,
        1
    );
    // A password too short makes nothing, and leaves the code usable.
    let short = send_setup(&app, &code, "kari", "kort").await;
    assert_eq!(short.status(), 422);
    assert_eq!(db.count("staff_users").await, 0);

    // The right code, typed loosely: an administrator, signed in at once, audited.
    let typed = code.to_lowercase().replace('-', " ");
    let made = send_setup(&app, &typed, "kari", STAFF_PASSWORD).await;
    assert_eq!(made.status(), 303);
    assert_eq!(location(&made), "/admin");
    let (cookie, _) = set_cookie(&made).expect("signed in");
    let kari = StaffClient::for_session(&app.address, cookie);
    assert!(kari.get_ok("/admin").await.contains("Oversikt"));
    let staff = nyhetsbrev::ops::Staff::new(app.store.clone());
    assert!(staff.is_admin("kari").await.unwrap());
    assert_eq!(
        db.count(
            "audit_log WHERE action = 'staff.add' AND subject = 'kari' AND actor = 'web:kari'"
        )
        .await,
        1
    );
    assert_eq!(db.count("first_account_code").await, 0);

    // Once: the code is spent, no new one is made, and the pages lead to sign-in.
    let again = send_setup(&app, &code, "mallory", STAFF_PASSWORD).await;
    assert_eq!(location(&again), "/admin/login");
    assert_eq!(db.count("staff_users").await, 1);
    assert_eq!(staff.first_account_code().await.unwrap(), None);
    assert_eq!(location(&get("/admin/oppstart").await), "/admin/login");
    assert!(
        get("/admin/login")
            .await
            .text()
            .await
            .unwrap()
            .contains("Logg inn")
    );
}

async fn set_up_forms_sent_at_once_make_one_account(db: &TestDb) {
    let app = new_installation(db).await;
    let code = code_of(&app).await;
    let tries: Vec<_> = (0..4)
        .map(|i| {
            let (address, code) = (app.address.clone(), code.clone());
            tokio::spawn(async move {
                http()
                    .post(format!("{address}/admin/oppstart"))
                    .header("origin", &address)
                    .form(&[
                        ("code", code.as_str()),
                        ("username", &format!("konto{i}")),
                        ("email", &format!("konto{i}@example.no")),
                        ("password", STAFF_PASSWORD),
                        ("repeated", STAFF_PASSWORD),
                    ])
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut signed_in = 0;
    for attempt in tries {
        let response = attempt.await.unwrap();
        assert_eq!(response.status(), 303);
        if location(&response) == "/admin" {
            signed_in += 1;
        } else {
            assert_eq!(location(&response), "/admin/login");
        }
    }
    assert_eq!(signed_in, 1);
    assert_eq!(db.count("staff_users").await, 1);
    assert_eq!(db.count("audit_log WHERE action = 'staff.add'").await, 1);
}

async fn wrong_set_up_codes_are_throttled_like_sign_ins(db: &TestDb) {
    let app = new_installation(db).await;
    let code = code_of(&app).await;
    for _ in 0..nyhetsbrev::ops::staff::MAX_LOGIN_FAILURES {
        let wrong = send_setup(&app, "ZZZZ-ZZZZ-ZZZZ", "kari", STAFF_PASSWORD).await;
        assert_eq!(wrong.status(), 401);
    }
    // Then even the right code waits: guessing gets nowhere.
    let refused = send_setup(&app, &code, "kari", STAFF_PASSWORD).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(db.count("staff_users").await, 0);
    assert_eq!(code_of(&app).await, code, "the code is kept for later");
}

async fn staff_add_spends_the_set_up_code(db: &TestDb) {
    let app = new_installation(db).await;
    let code = code_of(&app).await;
    add_staff(&app.store, "kari").await;
    assert_eq!(db.count("first_account_code").await, 0);
    let late = send_setup(&app, &code, "mallory", STAFF_PASSWORD).await;
    assert_eq!(location(&late), "/admin/login");
    assert_eq!(db.count("staff_users").await, 1);
}

/// Which of the dashboard's first steps are ticked off; empty when it shows none.
fn steps_done(page: &str) -> Vec<bool> {
    let Some(start) = page.find("<ol class=\"first-steps\">") else {
        return Vec::new();
    };
    let list = &page[start..];
    let list = &list[..list.find("</ol>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|step| step.contains("Gjort"))
        .collect()
}

async fn the_dashboard_ticks_off_the_first_steps(db: &TestDb) {
    let app = common::staff::staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin").await;
    assert!(page.contains("Kom i gang"), "{page}");
    assert_eq!(steps_done(&page), [false; 4]);
    assert!(page.contains("href=\"/admin/contacts/import\""));
    assert!(page.contains("href=\"/admin/issues/new\""));

    common::add_confirmed(&app.store, 0..2).await;
    assert_eq!(
        steps_done(&kari.get_ok("/admin").await),
        [true, false, false, false]
    );
    let created = kari
        .post(
            "/admin/issues/new",
            &[
                ("slug", "2025-q1"),
                ("subject", "Nyhetsbrev fra KOM, januar–mars 2025"),
                ("period", "januar–mars 2025"),
                ("preheader", "Det viktigste fra KOM dette kvartalet"),
                ("audience", "Til KOMs samarbeidsaktører"),
                ("date", "2025-04-10"),
                (
                    "body",
                    "## Verdt å merke seg\r\n\r\n### Ny veileder\r\n\r\nLes veilederen.\r\n",
                ),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let page = kari.get_ok("/admin").await;
    assert_eq!(steps_done(&page), [true, true, false, false]);
    assert!(
        page.contains("href=\"/admin/issues/2025-q1/send\""),
        "{page}"
    );

    let tested = kari
        .post("/admin/issues/2025-q1/test", &[("to", "kari@example.no")])
        .await;
    assert_eq!(tested.status(), 303);
    assert_eq!(
        steps_done(&kari.get_ok("/admin").await),
        [true, true, true, false]
    );
    let sent = kari
        .post("/admin/issues/2025-q1/send", &[("antall", "2")])
        .await;
    assert_eq!(sent.status(), 303);
    let page = kari.get_ok("/admin").await;
    assert!(!page.contains("Kom i gang"), "all done: the list is gone");
}

/// A backup holds no key: `backup` names the key file to keep apart from it, and a
/// restore where no key is says to put it back before the next start (else a new one
/// would be made and the links in mail already sent would stop working).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_say_where_the_key_must_be_kept() {
    let db = TestDb::sqlite().await;
    let run = |args: &[&str], database: &str| {
        let output = nyhetsbrev(&db)
            .env_remove("NYHETSBREV_TOKEN_KEY")
            .env("NYHETSBREV_DATABASE_URL", database)
            .args(args)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    };
    let live = db.url.expose().to_owned();
    let said = run(&["backup", "kopi.db"], &live);
    let key_file = db.dir().join("test.token_key");
    assert!(key_file.exists(), "the first command made the key");
    assert!(
        said.contains(&format!(
            "the backup does not hold the token key: keep a copy of the token key file {}",
            key_file.display()
        )),
        "{said}"
    );
    // Restored on a new machine (a folder with no key yet).
    let elsewhere = db.dir().join("ny-maskin");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = format!("sqlite://{}", elsewhere.join("nyhetsbrev.db").display());
    let said = run(&["restore", "kopi.db"], &target);
    assert!(
        said.contains(&format!(
            "there is no token key at {}: put the key kept with this backup there",
            elsewhere.join("nyhetsbrev.token_key").display()
        )),
        "{said}"
    );
    assert!(!elsewhere.join("nyhetsbrev.token_key").exists());
}
