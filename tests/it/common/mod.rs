//! Shared test set-up: a fresh database per test, on SQLite and on PostgreSQL.
//!
//! PostgreSQL tests read the server from `NYHETSBREV_TEST_POSTGRES` (a URL whose
//! database the tests may connect to, e.g. `postgres://postgres@127.0.0.1:5432/postgres`)
//! and create and drop a database of their own. Without it they say they were skipped;
//! under CI (`CI` set) a missing server is a failure, never a skip.

pub mod browser;
pub mod docx;
pub mod dovecot;
pub mod links;
pub mod ports;
pub mod publications;
pub mod queue;
pub mod smtp_sink;
pub mod staff;
pub mod tls;
pub mod umask;
pub mod wait;

pub use wait::{eventually, eventually_blocking, ok_if};

use std::sync::atomic::{AtomicU32, Ordering};

use nyhetsbrev::config::DatabaseUrl;
use nyhetsbrev::domain::ContactId;
use nyhetsbrev::domain::{
    Consent, ConsentSource, ContactStatus, EmailAddress, IssueId, NewContact, Timestamp,
};
use nyhetsbrev::store::Store;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

pub const PG_ENV: &str = "NYHETSBREV_TEST_POSTGRES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// `sqlite` or `postgres`: to tell apart what a test on each backend leaves behind
    /// (its screenshots, say).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub kind: Kind,
    pub url: DatabaseUrl,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (admin URL, database name) to drop afterwards
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("test.db").display()));
        TestDb {
            kind: Kind::Sqlite,
            url,
            dir,
            pg: None,
        }
    }

    /// An existing SQLite file (a backup, say), to query as a test database.
    pub fn sqlite_at(path: &std::path::Path) -> TestDb {
        TestDb {
            kind: Kind::Sqlite,
            url: DatabaseUrl::new(format!("sqlite://{}", path.display())),
            dir: tempfile::tempdir().expect("temporary directory"),
            pg: None,
        }
    }

    /// `None` (with a message) when no PostgreSQL server is configured outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin) = std::env::var(PG_ENV) else {
            if std::env::var_os("CI").is_some() {
                panic!("{PG_ENV} is not set: CI must run the PostgreSQL tests");
            }
            eprintln!("SKIPPED on PostgreSQL: set {PG_ENV}=postgres://user@host:port/db to run it");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!(
            "nyhetsbrev_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut conn = AnyConnection::connect(&admin)
            .await
            .expect("connect to the PostgreSQL test server");
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("valid PostgreSQL URL");
        url.set_path(&name);
        Some(TestDb {
            kind: Kind::Postgres,
            url: DatabaseUrl::new(url.to_string()),
            dir: tempfile::tempdir().expect("temporary directory"),
            pg: Some((admin, name)),
        })
    }

    pub async fn of(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(Self::sqlite().await),
            Kind::Postgres => Self::postgres().await,
        }
    }

    /// A connected, migrated store.
    pub async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("open test store")
    }

    /// Runs one statement on its own connection: for tests that must change what the
    /// store would never change, such as moving time.
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(self.url.expose())
            .await
            .expect("connect to the test database");
        conn.execute(AssertSqlSafe(sql.to_owned()))
            .await
            .expect("the statement runs");
        // Closed, not dropped: the server then knows at once that it is gone.
        conn.close().await.ok();
    }

    /// The first column of every row a query returns, as text: for tests that check
    /// what is (and is not) stored.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(self.url.expose())
            .await
            .expect("connect to the test database");
        let rows = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .expect("the query runs");
        conn.close().await.ok();
        rows
    }

    /// How many rows `SELECT COUNT(*) FROM {from}` counts (`from` may end in a `WHERE`).
    pub async fn count(&self, from: &str) -> i64 {
        self.query_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {from}"))
            .await[0]
            .parse()
            .expect("a count")
    }

    /// Whether another connection (another process's, say) has written to `table` in a
    /// transaction not yet committed: on PostgreSQL it holds the row-exclusive lock a
    /// write takes on the table until its transaction ends; SQLite lets one writer at a
    /// time take its write lock, so a `BEGIN IMMEDIATE` that finds it taken means a
    /// write (to some table) is open.
    pub async fn has_open_write_to(&self, table: &str) -> bool {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(self.url.expose())
            .await
            .expect("connect to the test database");
        let open = match self.kind {
            Kind::Postgres => {
                // Every test database is migrated alike, so table OIDs repeat across
                // them: only this database's locks count.
                let writers: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM pg_locks \
                     WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND relation = '{table}'::regclass AND mode = 'RowExclusiveLock' \
                     AND pid <> pg_backend_pid()"
                )))
                .fetch_one(&mut conn)
                .await
                .expect("pg_locks is readable");
                writers > 0
            }
            Kind::Sqlite => {
                conn.execute("PRAGMA busy_timeout = 0")
                    .await
                    .expect("set busy_timeout");
                match conn.execute("BEGIN IMMEDIATE").await {
                    Ok(_) => {
                        conn.execute("ROLLBACK").await.expect("roll back");
                        false
                    }
                    Err(e) if e.to_string().contains("database is locked") => true,
                    Err(e) => panic!("BEGIN IMMEDIATE: {e}"),
                }
            }
        };
        conn.close().await.ok();
        open
    }

    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside async code; a small runtime of its own does the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                    let _ = conn
                        .execute(AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Generates, for each named `async fn(&TestDb)`, a test on SQLite and one on PostgreSQL.
/// (In scope in every test module: main.rs declares `common` first, with `#[macro_use]`.)
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::common::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// A child process that is killed if the test fails before it stops it: an orphan
/// holding the test's output open would keep `cargo test` waiting forever, and one still
/// serving would outlive the test process.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The built binary, run in the database's folder against it, as an operator runs it.
pub fn nyhetsbrev(db: &TestDb) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nyhetsbrev"));
    command
        .current_dir(db.dir())
        .env("NYHETSBREV_DATABASE_URL", db.url.expose())
        .env("NYHETSBREV_TOKEN_KEY", TEST_TOKEN_KEY)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    command
}

/// The publications a contact is subscribed to now (not left), by slug.
pub async fn subscribed_to(store: &Store, contact_id: ContactId) -> Vec<String> {
    store
        .subscriptions(contact_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.left_at.is_none())
        .map(|s| s.publication.to_string())
        .collect()
}

pub fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("test address is valid")
}

pub fn new_contact(address: &str, status: ContactStatus) -> NewContact {
    NewContact {
        email: email(address),
        name: None,
        organisation: None,
        status,
        consent: Consent {
            source: ConsentSource::Staff,
            at: Timestamp::now(),
            note: None,
        },
        publications: nyhetsbrev::domain::PublicationChoice::All,
    }
}

/// The 2024 sample issue (examples/2024-q1.md).
pub const SAMPLE_ISSUE: &str = include_str!("../../../examples/2024-q1.md");

/// The sample issue imported as a draft: its slug and id.
pub async fn sample_draft(store: &Store) -> (nyhetsbrev::domain::Slug, IssueId) {
    let parsed = nyhetsbrev::render::parse_issue("2024-q1.md", SAMPLE_ISSUE).unwrap();
    store
        .save_draft(
            &parsed.issue,
            SAMPLE_ISSUE,
            &nyhetsbrev::store::Actor::parse("cli:test"),
        )
        .await
        .unwrap();
    let slug = parsed.issue.meta.slug;
    let id = store.existing_issue(&slug).await.unwrap().id;
    (slug, id)
}

/// Contact number `n` as a URL would name it, whether or not it exists.
pub fn contact_number(n: u32) -> ContactId {
    ContactId::parse(&n.to_string()).expect("a whole number above zero")
}

/// Issue number `n` as a link or a URL would name it, whether or not it exists.
pub fn issue_number(n: u32) -> IssueId {
    IssueId::parse(&n.to_string()).expect("a whole number above zero")
}

/// `kontakt00042@example.org` for 42.
pub fn numbered_address(i: usize) -> String {
    format!("kontakt{i:05}@example.org")
}

/// Confirmed contacts with the numbered addresses of `range`.
pub async fn add_confirmed(store: &Store, range: std::ops::Range<usize>) {
    for i in range {
        store
            .add_contact(
                &new_contact(&numbered_address(i), ContactStatus::Confirmed),
                &nyhetsbrev::store::Actor::parse("cli:test"),
            )
            .await
            .unwrap();
    }
}

/// The real web app on a random port, with a fresh database behind it.
pub struct TestApp {
    pub address: String,
    pub store: Store,
    /// The relay the app sends through, when it has one.
    pub sink: Option<smtp_sink::SmtpSink>,
    /// Where the app's mail goes without a relay (one .eml per message).
    pub outbox: std::path::PathBuf,
    /// The hourly budgets of its notice sender.
    pub notice_budgets: nyhetsbrev::store::NoticeBudgets,
}

impl TestApp {
    /// Every message the app sent, oldest first: from the relay, or else the outbox.
    pub fn mails(&self) -> Vec<Vec<u8>> {
        match &self.sink {
            Some(sink) => sink.received().into_iter().map(|r| r.data).collect(),
            None => outbox_messages(&self.outbox),
        }
    }

    /// The app's mail once its queue of confirmations is empty, but for those that
    /// wait for room in their hourly budget: requests only queue their mail, and the
    /// app's background sender mails it (or panics after 20 s).
    pub async fn settled_mails(&self) -> Vec<Vec<u8>> {
        eventually(
            "queued confirmations are mailed (but for those waiting for room)",
            std::time::Duration::from_secs(20),
            async || {
                let queued = self.store.queued_notices().await.unwrap();
                let waiting = self
                    .store
                    .notices_waiting_for_room(self.notice_budgets)
                    .await
                    .unwrap()
                    .total();
                ok_if(
                    queued <= waiting,
                    format!("{queued} queued, {waiting} waiting"),
                )
            },
        )
        .await;
        self.mails()
    }
}

/// The tests' `token_key`.
pub const TEST_TOKEN_KEY: &str = "test-token-key-0123456789abcdef0123456789";

pub fn test_key() -> nyhetsbrev::domain::TokenKey {
    nyhetsbrev::domain::TokenKey::parse(TEST_TOKEN_KEY).unwrap()
}

/// Settings shared by the tests' apps and workers.
pub fn test_settings(db: &TestDb) -> nyhetsbrev::config::Settings {
    nyhetsbrev::config::Settings {
        token_key: Some(TEST_TOKEN_KEY.into()),
        base_url: "https://nyhetsbrev.example.org".into(),
        contact_address: Some("kom@example.no".into()),
        from_address: "nyhetsbrev@example.no".into(),
        outbox: db.dir().join("outbox"),
        // The tests' link targets are servers on 127.0.0.1.
        link_check_allow_private: true,
        ..Default::default()
    }
}

/// The app, sending through an in-process SMTP sink.
pub async fn spawn_app(db: &TestDb) -> TestApp {
    let sink = smtp_sink::SmtpSink::start().await;
    let mut settings = test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    spawn_app_with(db, settings, Some(sink)).await
}

/// The app with no relay: mail goes to the outbox folder (the default for a new user).
pub async fn spawn_app_with_outbox(db: &TestDb) -> TestApp {
    spawn_app_with(db, test_settings(db), None).await
}

/// The app with these settings (and the sink they point at, if any).
pub async fn spawn_app_with(
    db: &TestDb,
    settings: nyhetsbrev::config::Settings,
    sink: Option<smtp_sink::SmtpSink>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    spawn_app_on(db, listener, settings, sink).await
}

/// The app whose `base_url` is its own address, as a browser reaches it: the staff
/// pages accept changes only from pages of `base_url`.
pub async fn spawn_app_at_own_address(
    db: &TestDb,
    mut settings: nyhetsbrev::config::Settings,
    sink: Option<smtp_sink::SmtpSink>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    settings.base_url = format!("http://{}", listener.local_addr().unwrap());
    spawn_app_on(db, listener, settings, sink).await
}

async fn spawn_app_on(
    db: &TestDb,
    listener: tokio::net::TcpListener,
    settings: nyhetsbrev::config::Settings,
    sink: Option<smtp_sink::SmtpSink>,
) -> TestApp {
    let store = db.store().await;
    // Built as `serve` builds it; the worker is left out, so a test decides when
    // issues are sent (the notice sender runs, as in `serve`).
    let mut service =
        nyhetsbrev::startup::Service::build(store.clone(), &settings).expect("valid settings");
    service.worker = None;
    let address = format!("http://{}", listener.local_addr().unwrap());
    // Runs until the test's runtime ends.
    tokio::spawn(async move {
        let (_keep, shutdown) = tokio::sync::watch::channel(false);
        service.run(listener, shutdown).await
    });
    TestApp {
        address,
        store,
        sink,
        outbox: settings.outbox.clone(),
        notice_budgets: nyhetsbrev::startup::notice_budgets(&settings),
    }
}

/// The messages in an outbox folder, oldest first.
pub fn outbox_messages(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// The path (`/bekreft/…`) of the link in a captured confirmation mail, from its text
/// part, checked to be in the HTML part too.
pub fn confirmation_path(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("the mail parses");
    let text = message.body_text(0).expect("a text part");
    let start = text
        .find("/bekreft/")
        .expect("a confirmation link in the text part");
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        message.body_html(0).expect("an HTML part").contains(&path),
        "the same link in the HTML part"
    );
    path
}

/// A DKIM key's algorithm, for [`dkim_key`].
#[derive(Debug, Clone, Copy)]
pub enum DkimAlgorithm {
    /// RSA with this many bits.
    Rsa(u32),
    Ed25519,
}

/// Whether the independent DKIM verifier (Debian's python3-dkim) and openssl are here.
/// Without them a DKIM test says it was skipped; under CI (`cargo xtask test` sets it,
/// having installed both) their absence is a failure, never a skip.
pub fn dkimpy_available() -> bool {
    let quiet = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if quiet("/usr/bin/python3", &["-c", "import dkim"]) && quiet("openssl", &["version"]) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3-dkim or openssl is missing: `cargo xtask test` installs them"
    );
    eprintln!("SKIPPED DKIM verification: install python3-dkim and openssl to run it");
    false
}

/// A private key made by openssl as `dir/file_name` (PEM), as an operator makes one.
pub fn dkim_key(
    dir: &std::path::Path,
    file_name: &str,
    algorithm: DkimAlgorithm,
) -> std::path::PathBuf {
    let key = dir.join(file_name);
    let mut command = std::process::Command::new("openssl");
    command.arg("genpkey");
    match algorithm {
        DkimAlgorithm::Rsa(bits) => command
            .args(["-algorithm", "RSA", "-pkeyopt"])
            .arg(format!("rsa_keygen_bits:{bits}")),
        DkimAlgorithm::Ed25519 => command.args(["-algorithm", "ed25519"]),
    };
    let made = command
        .arg("-out")
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(made.success(), "openssl made the key");
    key
}

/// Makes an API token that may post inbound mail, through the same operation as
/// `nyhetsbrev staff api-token add NAME`; returns its secret (shown once).
pub async fn api_token(store: &Store, name: &str) -> String {
    nyhetsbrev::ops::ApiTokens::new(store.clone())
        .add(
            name,
            nyhetsbrev::domain::ApiScope::Inbound,
            &nyhetsbrev::store::Actor::parse("cli:test"),
        )
        .await
        .expect("API token")
        .secret
        .expose()
        .to_owned()
}
