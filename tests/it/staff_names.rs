//! A staff account may not have a name the audit log gives what recipients do: the log
//! keeps a web account as `web:<name>`, and `web:confirm` is the confirmation link, not
//! an account named `confirm`. Refused on the command line (in English) and on the
//! accounts page (in bokmål, at the name field); an account made before the rule keeps
//! working. On SQLite and PostgreSQL.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::common;

use common::TestDb;
use common::staff::{StaffClient, staff_app};
use nyhetsbrev::domain::Actor;

on_both_backends!(
    the_command_line_refuses_a_name_the_log_gives_recipients,
    the_accounts_page_refuses_a_name_the_log_gives_recipients,
);

/// The names `web:<name>` reads as a recipient's, in any case.
const TAKEN_BY_RECIPIENTS: [&str; 5] = [
    "confirm",
    "unsubscribe",
    "preferences",
    "subscribe",
    "Confirm",
];

/// Names that only look like the service's own: the log keeps the service as `worker`
/// and a token as `api:<name>`, never under `web:`, so these stay staff accounts.
const STAFF_NAMES: [&str; 2] = ["worker", "api"];

const PASSWORD: &[u8] = b"et langt passord 123\n";

fn with_password(db: &TestDb, args: &[&str]) -> Output {
    let mut child = common::nyhetsbrev(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nyhetsbrev");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(PASSWORD).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

async fn the_command_line_refuses_a_name_the_log_gives_recipients(db: &TestDb) {
    let store = db.store().await;
    for name in TAKEN_BY_RECIPIENTS {
        let output = with_password(db, &["staff", "add", name]);
        let error = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}: {error}");
        assert_eq!(
            error,
            format!(
                "error: {name} cannot be a user name: the audit log uses it for what \
                 recipients do on the public pages; choose another\n"
            ),
            "{name}"
        );
        assert!(output.stdout.is_empty(), "{name}");
        assert!(!store.staff_user_exists(name).await.unwrap(), "{name}");
    }
    for name in STAFF_NAMES {
        let output = with_password(db, &["staff", "add", name]);
        assert!(output.status.success(), "{name}");
        let actor = Actor::web(name);
        assert_eq!(actor.web_account(), Some(name), "{name} reads as staff");
    }

    // An account of such a name made before the rule still gets a new password.
    let hash = nyhetsbrev::auth::hash_password("et gammelt langt passord").unwrap();
    store
        .set_staff_user("preferences", &hash, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let output = with_password(db, &["staff", "passwd", "preferences"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn the_accounts_page_refuses_a_name_the_log_gives_recipients(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    for name in TAKEN_BY_RECIPIENTS {
        let response = kari
            .post_reauth(
                "/admin/staff",
                &[("username", name), ("password", "et langt nok passord")],
            )
            .await;
        assert_eq!(response.status(), 422, "{name}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(
                "<p class=\"field-error\" id=\"username-error\" role=\"alert\">Dette \
                 brukernavnet kan ikke brukes: loggen bruker det om det mottakerne gjør på de \
                 offentlige sidene. Velg et annet.</p>"
            ),
            "{name}: {page}"
        );
        assert!(
            page.contains("id=\"username\" name=\"username\" required maxlength=\"64\" autocomplete=\"off\" aria-invalid=\"true\""),
            "{name}: the field is marked"
        );
        assert!(!app.store.staff_user_exists(name).await.unwrap(), "{name}");
    }
    let response = kari
        .post_reauth(
            "/admin/staff",
            &[("username", "worker"), ("password", "et langt nok passord")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(app.store.staff_user_exists("worker").await.unwrap());
}
