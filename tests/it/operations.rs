//! Running it for real: backups that restore, readiness. On SQLite and PostgreSQL, with
//! real files, real mounts (a full and a read-only file system) and the real pg_dump.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::smtp_sink::SmtpSink;
use common::{Kind, TestDb, add_confirmed};
use nyhetsbrev::ops::backup::{self, BackupError, BackupSchedule, Backups};
use nyhetsbrev::store::{Actor, CopyError, Store};

on_both_backends!(
    a_backup_made_during_a_send_restores_every_row,
    a_backup_never_overwrites_and_says_what_to_do,
    a_full_or_read_only_disk_leaves_no_backup_behind,
    a_restore_refuses_what_is_not_a_whole_backup,
    a_restore_refuses_a_backup_of_a_newer_schema,
    a_restore_refuses_a_database_in_use,
    serve_keeps_its_newest_backups,
    ready_answers_only_when_the_schema_is_current,
    retention_removes_old_mail_bytes_and_contacts_who_never_confirmed,
    an_erased_address_is_recognised_without_being_kept,
    metrics_are_served_on_their_own_address_and_every_line_parses,
);

fn actor() -> Actor {
    Actor::parse("cli:test")
}

fn extension(db: &TestDb) -> &'static str {
    match db.kind {
        Kind::Sqlite => "db",
        Kind::Postgres => "pgdump",
    }
}

/// Contacts with their consent, every column a person would miss, one line each.
const CONTACT_ROWS: &str = "SELECT CAST(id AS TEXT) || '|' || email || '|' || status || '|' || \
     consent_source || '|' || CAST(consent_at AS TEXT) || '|' || coalesce(consent_note, '') || '|' || \
     coalesce(CAST(confirmed_at AS TEXT), '') || '|' || coalesce(name, '') || '|' || \
     coalesce(organisation, '') FROM contacts ORDER BY id";
const DELIVERY_ROWS: &str = "SELECT CAST(id AS TEXT) || '|' || CAST(issue_id AS TEXT) || '|' || \
     CAST(contact_id AS TEXT) FROM deliveries ORDER BY id";
const SENT_ROWS: &str = "SELECT CAST(id AS TEXT) || '|' || coalesce(message_id, '') FROM deliveries \
     WHERE status = 'sent' ORDER BY id";
const AUDIT_ROWS: &str = "SELECT CAST(id AS TEXT) || '|' || CAST(at AS TEXT) || '|' || actor || '|' || \
     action || '|' || coalesce(subject, '') || '|' || coalesce(detail, '') FROM audit_log ORDER BY id";

/// What the tests compare to show the live database was not touched.
async fn fingerprint(db: &TestDb) -> (Vec<String>, Vec<String>) {
    (
        db.query_strings(CONTACT_ROWS).await,
        db.query_strings(AUDIT_ROWS).await,
    )
}

/// The files in a folder, by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A backup taken while a worker sends, restored into a fresh database: every contact
/// with its consent, every delivery and every audit entry is found again, and the copy
/// caught the send midway (some sent, some still queued).
async fn a_backup_made_during_a_send_restores_every_row(db: &TestDb) {
    let store = db.store().await;
    let (slug, issue_id) = common::sample_draft(&store).await;
    add_confirmed(&store, 0..150).await;
    let sink = SmtpSink::start().await;
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.send_rate = Some(100.0);
    store.enqueue_issue(&slug, &actor()).await.unwrap();
    let dispatcher = nyhetsbrev::startup::dispatcher(store.clone(), &settings)
        .unwrap()
        .with_settings(|s| {
            s.only_issue = Some(issue_id);
            s.until_done = true;
            s.idle_poll = Duration::from_millis(50);
        });
    let worker = tokio::spawn(async move {
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        dispatcher.run(shutdown).await
    });
    sink.wait_for(10, Duration::from_secs(30)).await;

    let target = db.dir().join(format!("during-send.{}", extension(db)));
    let made = Backups::new(store.clone(), db.url.clone())
        .make(&target, &actor())
        .await
        .unwrap();
    assert_eq!(made.contents.counts.get("contacts"), 150);
    assert_eq!(made.contents.counts.get("deliveries"), 150);
    assert!(made.contents.schema.is_current());
    assert!(made.bytes > 0 && made.path.is_absolute());

    let report = tokio::time::timeout(Duration::from_secs(60), worker)
        .await
        .expect("the send finishes")
        .unwrap()
        .unwrap();
    assert_eq!(report.sent, 150);

    let fresh = TestDb::of(db.kind).await.unwrap();
    let restored = backup::restore(&fresh.url, &target, &actor())
        .await
        .unwrap();
    assert_eq!(restored.contents.counts, made.contents.counts);
    assert_eq!(restored.migrated, 0);
    assert!(restored.replaced.is_none(), "nothing was there to replace");

    assert_eq!(
        fresh.query_strings(CONTACT_ROWS).await,
        db.query_strings(CONTACT_ROWS).await,
        "every contact with its consent"
    );
    assert_eq!(
        fresh.query_strings(DELIVERY_ROWS).await,
        db.query_strings(DELIVERY_ROWS).await,
        "every delivery"
    );
    let statuses = fresh
        .query_strings("SELECT DISTINCT status FROM deliveries")
        .await;
    assert!(
        statuses.contains(&"sent".to_owned()) && statuses.contains(&"queued".to_owned()),
        "the copy was made during the send: {statuses:?}"
    );
    // What the copy records as sent was sent, with the same Message-ID.
    let live_sent = db.query_strings(SENT_ROWS).await;
    let copy_sent = fresh.query_strings(SENT_ROWS).await;
    assert!(!copy_sent.is_empty() && copy_sent.len() < 150);
    assert!(copy_sent.iter().all(|row| live_sent.contains(row)));
    // Every audit entry up to the backup, then the restore's own entry.
    let live_audit = db.query_strings(AUDIT_ROWS).await;
    let copy_audit = fresh.query_strings(AUDIT_ROWS).await;
    let (restore_entry, before) = copy_audit.split_last().unwrap();
    assert!(
        restore_entry.contains("|database.restored|"),
        "{restore_entry}"
    );
    assert_eq!(before, &live_audit[..before.len()]);
    assert!(
        live_audit[before.len()].contains("|backup.made|"),
        "the live log records the backup right after what it copied"
    );

    // The restored database serves: a store opens it and finds a contact.
    let reopened = fresh.store().await;
    assert!(
        reopened
            .existing_contact(&common::email(&common::numbered_address(7)))
            .await
            .is_ok()
    );
}

async fn a_backup_never_overwrites_and_says_what_to_do(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..3).await;
    let before = fingerprint(db).await;
    let backups = Backups::new(store.clone(), db.url.clone());

    let existing = db.dir().join("exists.bak");
    std::fs::write(&existing, b"an earlier file").unwrap();
    let e = backups.make(&existing, &actor()).await.unwrap_err();
    assert!(matches!(e, BackupError::Exists(_)), "{e}");
    assert!(e.to_string().contains("never overwrites"), "{e}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"an earlier file");

    let e = backups.make(db.dir(), &actor()).await.unwrap_err();
    assert!(matches!(e, BackupError::Folder(..)), "{e}");
    assert!(
        e.to_string()
            .contains("give the backup a file name, such as "),
        "{e}"
    );
    assert!(e.to_string().contains("nyhetsbrev-"), "{e}");

    let nowhere = db.dir().join("no-such-folder").join("b.db");
    let e = backups.make(&nowhere, &actor()).await.unwrap_err();
    assert!(matches!(e, BackupError::NoFolder(_)), "{e}");
    assert!(e.to_string().contains("does not exist: create it"), "{e}");

    assert_eq!(
        fingerprint(db).await,
        before,
        "the live database is untouched"
    );
}

/// A file system mounted for one test, unmounted when it ends.
struct Mount(PathBuf);

impl Mount {
    /// `None` (said) when this user may not mount: only root may, and CI runs as root.
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .expect("run mount");
        if status.success() {
            return Some(Mount(at.to_owned()));
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must be able to mount a tmpfs"
        );
        eprintln!("SKIPPED: mounting a tmpfs needs root");
        None
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

async fn a_full_or_read_only_disk_leaves_no_backup_behind(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..50).await;
    let before = fingerprint(db).await;
    let backups = Backups::new(store.clone(), db.url.clone());

    // One page of room: the copy starts and runs out of space.
    let Some(full) = Mount::tmpfs(&db.dir().join("full"), "size=4k") else {
        return;
    };
    let target = full.0.join(format!("backup.{}", extension(db)));
    let e = backups.make(&target, &actor()).await.unwrap_err();
    assert!(matches!(e, BackupError::DiskFull { .. }), "{e}");
    assert!(e.to_string().contains("is full"), "{e}");
    assert!(
        e.to_string()
            .contains("free space there or choose another place"),
        "{e}"
    );
    assert!(!target.exists(), "no half-written backup is left");

    let Some(read_only) = Mount::tmpfs(&db.dir().join("ro"), "ro,size=1m") else {
        return;
    };
    let target = read_only.0.join(format!("backup.{}", extension(db)));
    let e = backups.make(&target, &actor()).await.unwrap_err();
    assert!(matches!(e, BackupError::NotWritable { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("choose a folder this user may write to"),
        "{e}"
    );

    assert_eq!(
        fingerprint(db).await,
        before,
        "the live database is untouched"
    );
}

/// Makes a good backup of `db` and returns its path.
async fn good_backup(db: &TestDb, store: &Store, name: &str) -> PathBuf {
    let target = db.dir().join(format!("{name}.{}", extension(db)));
    Backups::new(store.clone(), db.url.clone())
        .make(&target, &actor())
        .await
        .unwrap();
    target
}

async fn a_restore_refuses_what_is_not_a_whole_backup(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..200).await;
    let backup = good_backup(db, &store, "good").await;
    store.close().await;
    // Restores go to a database of their own, which must stay as it is.
    let target = TestDb::of(db.kind).await.unwrap();
    let target_store = target.store().await;
    add_confirmed(&target_store, 0..2).await;
    target_store.close().await;
    let before = fingerprint(&target).await;
    let files_before = files_in(target.dir());

    let text = db.dir().join("notes.txt");
    std::fs::write(&text, "Dette er ikke en sikkerhetskopi.\n".repeat(10)).unwrap();
    let e = backup::restore(&target.url, &text, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(e, BackupError::Copy(CopyError::NotABackup { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("is not a nyhetsbrev backup"), "{e}");

    let bytes = std::fs::read(&backup).unwrap();
    let truncated = db.dir().join(format!("truncated.{}", extension(db)));
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = backup::restore(&target.url, &truncated, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(e, BackupError::Copy(CopyError::Damaged { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("is damaged"), "{e}");
    assert!(e.to_string().contains("take an older backup"), "{e}");

    let missing = db.dir().join("missing.db");
    let e = backup::restore(&target.url, &missing, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, BackupError::Unreadable { .. }), "{e}");

    // A backup of the other kind of database says which database_url it needs.
    let other = match db.kind {
        Kind::Sqlite => "restore it with a postgres:// database_url",
        Kind::Postgres => "restore it with a sqlite:// database_url",
    };
    let wrong_kind = db.dir().join("wrong-kind");
    std::fs::write(
        &wrong_kind,
        match db.kind {
            Kind::Sqlite => b"PGDMP\x01\x0e\x00".to_vec(),
            Kind::Postgres => b"SQLite format 3\0 and more".to_vec(),
        },
    )
    .unwrap();
    let e = backup::restore(&target.url, &wrong_kind, &actor())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(other), "{e}");

    assert_eq!(
        fingerprint(&target).await,
        before,
        "the database is untouched"
    );
    assert_eq!(
        files_in(target.dir()),
        files_before,
        "nothing was moved aside"
    );
}

async fn a_restore_refuses_a_backup_of_a_newer_schema(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..3).await;
    let future = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (29991231000001, 'from a newer version', TRUE, ";
    let backup = match db.kind {
        Kind::Sqlite => {
            let backup = good_backup(db, &store, "newer").await;
            let copy = TestDb::sqlite_at(&backup);
            copy.execute(&format!("{future} x'00', 0)")).await;
            backup
        }
        Kind::Postgres => {
            // The live database briefly claims a newer migration while it is dumped.
            db.execute(&format!("{future} '\\x00'::bytea, 0)")).await;
            let backup = good_backup(db, &store, "newer").await;
            db.execute("DELETE FROM _sqlx_migrations WHERE version = 29991231000001")
                .await;
            backup
        }
    };
    store.close().await;
    let target = TestDb::of(db.kind).await.unwrap();
    let e = backup::restore(&target.url, &backup, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BackupError::Copy(CopyError::NewerSchema {
                newest: 29991231000001,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("made by a newer nyhetsbrev"), "{e}");
    assert!(e.to_string().contains("install that version"), "{e}");
    match db.kind {
        Kind::Sqlite => assert!(!target.dir().join("test.db").exists()),
        Kind::Postgres => assert_eq!(
            target
                .query_strings(
                    "SELECT CAST(count(*) AS TEXT) FROM information_schema.tables \
                     WHERE table_schema = 'public'"
                )
                .await,
            ["0"],
            "nothing was restored"
        ),
    }
}

async fn a_restore_refuses_a_database_in_use(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..5).await;
    let backup = good_backup(db, &store, "in-use").await;
    add_confirmed(&store, 5..7).await;
    let before = fingerprint(db).await;
    let files_before = files_in(db.dir());

    // The store is open, as a running service's is.
    let e = backup::restore(&db.url, &backup, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, BackupError::InUse), "{e}");
    assert!(e.to_string().contains("stop it first"), "{e}");
    assert_eq!(fingerprint(db).await, before);
    assert_eq!(files_in(db.dir()), files_before);

    // Once it is closed: SQLite puts the backup in place and keeps the old file;
    // PostgreSQL restores only into an empty database.
    store.close().await;
    drop(store);
    match db.kind {
        Kind::Sqlite => {
            let restored = backup::restore(&db.url, &backup, &actor()).await.unwrap();
            let kept = restored.replaced.expect("the replaced file is kept");
            assert!(kept.exists(), "{}", kept.display());
            assert_eq!(db.count("contacts").await, 5, "the backup is in place");
            let old = TestDb::sqlite_at(&kept);
            assert_eq!(old.count("contacts").await, 7, "the old file is whole");
        }
        Kind::Postgres => {
            // A connection just closed can linger in pg_stat_activity for a moment.
            let e = common::eventually(
                "the closed store's connections go",
                Duration::from_secs(5),
                async || match backup::restore(&db.url, &backup, &actor())
                    .await
                    .unwrap_err()
                {
                    BackupError::InUse => Err("in use"),
                    e => Ok(e),
                },
            )
            .await;
            assert!(matches!(e, BackupError::NotEmpty(_)), "{e}");
            assert!(e.to_string().contains("a new, empty database"), "{e}");
            assert_eq!(fingerprint(db).await, before);
        }
    }
}

/// `serve`'s own backups: dated names in `backup_dir`, the newest `backup_keep` kept,
/// nothing else in the folder touched.
async fn serve_keeps_its_newest_backups(db: &TestDb) {
    let store = db.store().await;
    add_confirmed(&store, 0..2).await;
    let dir = db.dir().join("backups");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "staff notes").unwrap();
    let schedule = BackupSchedule {
        backups: Backups::new(store.clone(), db.url.clone()),
        dir: dir.clone(),
        every: Duration::from_secs(6 * 3600),
        keep: 2,
    };
    assert_eq!(
        schedule.due_in(),
        Duration::ZERO,
        "no backup yet: one is due"
    );
    let mut made = Vec::new();
    for _ in 0..3 {
        let (backup, _) = schedule
            .backups
            .make_in(&dir, schedule.keep, &actor())
            .await
            .unwrap();
        made.push(
            backup
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
        // Each backup's name has its time to the millisecond: the next one is later.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut expected = vec![made[1].clone(), made[2].clone(), "notes.txt".into()];
    expected.sort();
    assert_eq!(files_in(&dir), expected);
    assert!(schedule.due_in() > Duration::from_secs(5 * 3600));
    let last = schedule.backups.last_made().await.unwrap().unwrap();
    assert!(nyhetsbrev::domain::Timestamp::now().unix_ms() - last.unix_ms() < 60_000);
}

async fn ready_answers_only_when_the_schema_is_current(db: &TestDb) {
    let app = common::spawn_app(db).await;
    let ready = reqwest::get(format!("{}/ready", app.address))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&ready.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "ready");
    assert!(body["schema"].as_i64().unwrap() > 20261124000000);

    let newest = db
        .query_strings("SELECT CAST(max(version) AS TEXT) FROM _sqlx_migrations")
        .await;
    db.execute(&format!(
        "UPDATE _sqlx_migrations SET version = 29991231000001 WHERE version = {}",
        newest[0]
    ))
    .await;
    let not_ready = reqwest::get(format!("{}/ready", app.address))
        .await
        .unwrap();
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = serde_json::from_str(&not_ready.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "not ready");
    let reasons = body["reasons"].to_string();
    assert!(
        reasons.contains("1 migrations are not applied yet"),
        "{reasons}"
    );
    assert!(
        reasons.contains("1 migrations newer than this build"),
        "{reasons}"
    );
    // Liveness is another question: the process is up.
    let health = reqwest::get(format!("{}/health", app.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A question by mail that the service keeps for staff.
fn question(n: usize) -> Vec<u8> {
    format!(
        "From: Kari Nordmann <kari{n}@example.no>\r\nTo: nyhetsbrev@example.no\r\n\
         Subject: Spørsmål {n}\r\nMessage-ID: <q{n}@example.no>\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\n\r\nHei, kan dere sende meg rapporten?\r\n"
    )
    .into_bytes()
}

async fn retention_removes_old_mail_bytes_and_contacts_who_never_confirmed(db: &TestDb) {
    let store = db.store().await;
    let settings = common::test_settings(db);
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let envelope = nyhetsbrev::inbound::Envelope::default();
    for n in [1, 2] {
        inbound
            .handle(&question(n), nyhetsbrev::inbound::Channel::Stdin, &envelope)
            .await
            .unwrap();
    }
    let now = nyhetsbrev::domain::Timestamp::now().unix_ms();
    // The first question is 91 days old; the second is new.
    db.execute(&format!(
        "UPDATE inbound_messages SET received_at = {} WHERE subject = 'Spørsmål 1'",
        now - 91 * DAY_MS
    ))
    .await;
    let stale = "glemt@example.org";
    let recent = "nylig@example.org";
    for address in [stale, recent] {
        store
            .add_contact(
                &common::new_contact(address, nyhetsbrev::domain::ContactStatus::Pending),
                &actor(),
            )
            .await
            .unwrap();
    }
    add_confirmed(&store, 0..1).await;
    db.execute(&format!(
        "UPDATE contacts SET created_at = {old}, updated_at = {old} \
         WHERE email IN ('{stale}', '{}')",
        common::numbered_address(0),
        old = now - 40 * DAY_MS
    ))
    .await;

    let retention = nyhetsbrev::startup::retention(store.clone(), &settings);
    let robot = Actor::parse("serve:retention");
    let run = retention
        .run(nyhetsbrev::domain::Timestamp::now(), &robot)
        .await
        .unwrap();
    assert_eq!(run.inbound_emptied, 1);
    assert_eq!(run.unconfirmed_removed, 1);

    // The old mail keeps what it was and what was done; only its bytes are gone.
    let rows = db
        .query_strings(
            "SELECT subject || '|' || kind || '|' || CAST(length(raw) AS TEXT) || '|' || \
             CAST(size AS TEXT) || '|' || CASE WHEN raw_removed_at IS NULL THEN 'kept' ELSE 'removed' END \
             FROM inbound_messages ORDER BY id",
        )
        .await;
    let size = question(1).len();
    assert_eq!(
        rows,
        [
            format!("Spørsmål 1|other|0|{size}|removed"),
            format!("Spørsmål 2|other|{size}|{size}|kept"),
        ]
    );
    // The contact who never confirmed is gone, and so is their address from the log.
    let emails = db
        .query_strings("SELECT email FROM contacts ORDER BY email")
        .await;
    assert_eq!(emails, [common::numbered_address(0), recent.to_owned()]);
    let mentions = db
        .query_strings(&format!(
            "SELECT action FROM audit_log WHERE subject LIKE '%{stale}%' OR detail LIKE '%{stale}%'"
        ))
        .await;
    assert!(mentions.is_empty(), "{mentions:?}");
    let runs = db
        .query_strings(
            "SELECT actor || '|' || detail FROM audit_log WHERE action = 'retention.run'",
        )
        .await;
    assert_eq!(runs.len(), 1);
    assert!(runs[0].starts_with("serve:retention|"), "{}", runs[0]);
    assert!(runs[0].contains("\"unconfirmed_removed\":1"), "{}", runs[0]);

    // Nothing more to do: nothing removed, nothing more in the log.
    let again = retention
        .run(nyhetsbrev::domain::Timestamp::now(), &robot)
        .await
        .unwrap();
    assert_eq!(again, nyhetsbrev::ops::RetentionRun::default());
    assert_eq!(
        db.query_strings("SELECT action FROM audit_log WHERE action = 'retention.run'")
            .await
            .len(),
        1
    );

    // Staff reading the old mail see that its bytes went, and why.
    let app = common::staff::staff_app_with(db, settings.clone()).await;
    let staff = common::staff::StaffClient::log_in(&app.address, "kari").await;
    let id = db
        .query_strings("SELECT CAST(id AS TEXT) FROM inbound_messages WHERE subject = 'Spørsmål 1'")
        .await;
    let page = staff.get_ok(&format!("/admin/inbound/{}", id[0])).await;
    assert!(page.contains("Selve e-posten ble slettet"), "{page}");
    assert!(page.contains("Spørsmål 1"), "what it was stays: {page}");
}

async fn an_erased_address_is_recognised_without_being_kept(db: &TestDb) {
    let store = db.store().await;
    let contacts = nyhetsbrev::ops::Contacts::new(store.clone()).with_key(Some(common::test_key()));
    let address = "slett.meg@example.org";
    let mut new = common::new_contact(address, nyhetsbrev::domain::ContactStatus::Confirmed);
    // Staff add only with a consent note (the rule of `ops::Contacts::add`).
    new.consent.note = nyhetsbrev::domain::ConsentNote::parse("telefon").unwrap();
    let first = contacts.add(&new, &actor()).await.unwrap();
    assert!(first.erased_on.is_none());
    contacts.erase(first.contact.id, &actor()).await.unwrap();

    // Only a keyed hash is kept: no table holds the address.
    let hashes = db
        .query_strings("SELECT address_hash FROM erased_addresses")
        .await;
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].len(), 64);
    assert!(!hashes[0].contains("slett"));
    let sha256_of_address = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(address.as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_ne!(
        hashes[0], sha256_of_address,
        "keyed, not a plain hash anyone can check"
    );
    for (table, column) in [
        ("contacts", "email"),
        ("audit_log", "subject"),
        ("audit_log", "detail"),
        ("inbound_messages", "from_address"),
    ] {
        let found = db
            .query_strings(&format!(
                "SELECT CAST(count(*) AS TEXT) FROM {table} WHERE {column} LIKE '%slett.meg%'"
            ))
            .await;
        assert_eq!(found, ["0"], "{table}.{column}");
    }

    // An import of an old spreadsheet does not bring the person back: the row is
    // skipped and reported.
    let csv = "email;name\nny@example.org;Ny Person\nSLETT.MEG@example.org;Slettet Person\n";
    let mut reported = Vec::new();
    let summary = contacts
        .import(
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            "gammel-liste.csv",
            &nyhetsbrev::contact_csv::ImportOptions::default(),
            &actor(),
            |event| {
                if let nyhetsbrev::contact_csv::ImportEvent::Problem(p) = event {
                    reported.push(p.to_string());
                }
            },
        )
        .await
        .unwrap();
    assert_eq!((summary.inserted, summary.erased_before), (1, 1));
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(
        reported[0].starts_with("line 3: skipped: SLETT.MEG@example.org was erased"),
        "{reported:?}"
    );
    assert!(
        summary
            .to_string()
            .contains("skipped 1 the people had asked to be erased")
    );
    let emails = db.query_strings("SELECT email FROM contacts").await;
    assert_eq!(emails, ["ny@example.org"]);

    // Added again (in another case): staff are told it was erased.
    let mut again = new.clone();
    again.email = common::email("Slett.Meg@example.org");
    let added = contacts.add(&again, &actor()).await.unwrap();
    assert!(added.erased_on.is_some());
    // Without the key nothing can be recognised.
    contacts.remove(&again.email, &actor()).await.unwrap();
    let keyless = nyhetsbrev::ops::Contacts::new(store.clone());
    assert!(
        keyless
            .add(&new, &actor())
            .await
            .unwrap()
            .erased_on
            .is_none()
    );
}

/// Parses a scrape in the text format: every line is a comment the format knows or a
/// sample with a number; returns the samples by name with labels.
fn parse_scrape(text: &str) -> std::collections::HashMap<String, f64> {
    let mut samples = std::collections::HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            assert!(["HELP", "TYPE", "UNIT"].contains(&keyword), "{line}");
            assert!(parts.next().unwrap().starts_with("nyhetsbrev_"), "{line}");
            if keyword == "TYPE" {
                let kind = parts.next().unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.starts_with("nyhetsbrev_")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let labels = &series[name.len()..];
        assert!(
            labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
            "{line}"
        );
        samples.insert(series.to_owned(), value);
    }
    samples
}

async fn metrics_are_served_on_their_own_address_and_every_line_parses(db: &TestDb) {
    let store = db.store().await;
    let (slug, _) = common::sample_draft(&store).await;
    add_confirmed(&store, 0..3).await;
    store.enqueue_issue(&slug, &actor()).await.unwrap();
    good_backup(db, &store, "for-metrics").await;
    let sink = SmtpSink::start().await;
    let mut settings = common::test_settings(db);
    // No worker (no token_key): the queue holds still while it is measured.
    settings.token_key = None;
    settings.smtp_url = Some(sink.url().into());
    settings.hourly_cap = Some(5000);
    settings.send_rate = Some(20.0);
    let mut service = nyhetsbrev::startup::Service::build(store.clone(), &settings).unwrap();
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_address = format!("http://{}", metrics.local_addr().unwrap());
    service.metrics_listener = Some(metrics);
    let web = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_address = format!("http://{}", web.local_addr().unwrap());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(service.run(web, shutdown));
    // A fixed wait, the point of it: the queued deliveries have been due over a second
    // (`oldest_due_delivery_seconds` below).
    tokio::time::sleep(Duration::from_millis(1100)).await;

    assert_eq!(
        reqwest::get(format!("{web_address}/ready"))
            .await
            .unwrap()
            .status(),
        200
    );
    // The metrics are not on the public address.
    assert_eq!(
        reqwest::get(format!("{web_address}/metrics"))
            .await
            .unwrap()
            .status(),
        404
    );
    let scrape = reqwest::get(format!("{metrics_address}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let samples = parse_scrape(&scrape.text().await.unwrap());
    let value = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("{series} in {:?}", samples.keys().collect::<Vec<_>>()))
    };
    assert_eq!(value("nyhetsbrev_deliveries{status=\"queued\"}"), 3.0);
    assert_eq!(value("nyhetsbrev_queue_depth"), 3.0);
    assert!(value("nyhetsbrev_oldest_due_delivery_seconds") >= 1.0);
    assert_eq!(value("nyhetsbrev_send_rate_per_second"), 0.0);
    assert_eq!(value("nyhetsbrev_contacts{status=\"confirmed\"}"), 3.0);
    assert_eq!(value("nyhetsbrev_hourly_cap"), 5000.0);
    assert_eq!(value("nyhetsbrev_send_rate_limit"), 20.0);
    assert_eq!(value("nyhetsbrev_relay_up"), 1.0);
    let age = value("nyhetsbrev_last_backup_age_seconds");
    assert!((0.0..60.0).contains(&age), "{age}");
    assert!(value("nyhetsbrev_db_connections{state=\"idle\"}") >= 0.0);
    assert!(value("nyhetsbrev_http_requests_total{route=\"/ready\",status=\"200\"}") >= 1.0);
    assert!(value("nyhetsbrev_http_requests_total{route=\"(unmatched)\",status=\"404\"}") >= 1.0);
    assert!(value("nyhetsbrev_http_request_duration_seconds_count{route=\"/ready\"}") >= 1.0);
    assert!(samples.contains_key("nyhetsbrev_messages_sent_total"));

    // Three messages go out (as a worker would record them): the next scrape, over a
    // second later, shows a rate from the change of the sent total.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    db.execute(&format!(
        "UPDATE deliveries SET status = 'sent', sent_at = {} WHERE status = 'queued'",
        nyhetsbrev::domain::Timestamp::now().unix_ms()
    ))
    .await;
    let text = reqwest::get(format!("{metrics_address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_scrape(&text);
    let rate = samples["nyhetsbrev_send_rate_per_second"];
    assert!(rate > 0.0 && rate <= 3.0, "{rate}");
    assert_eq!(samples["nyhetsbrev_queue_depth"], 0.0);
    assert_eq!(samples["nyhetsbrev_deliveries{status=\"sent\"}"], 3.0);

    // A relay nobody answers at: relay_up is 0.
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    let closed = common::ports::ClosedPort::bind();
    settings.smtp_url = Some(format!("smtp://127.0.0.1:{}?tls=none", closed.port).into());
    let service = nyhetsbrev::startup::Service::build(store.clone(), &settings).unwrap();
    let text = service.metrics.render().await.unwrap();
    let samples = parse_scrape(&text);
    assert_eq!(samples["nyhetsbrev_relay_up"], 0.0);
}

// The command line, as an operator runs it.

use common::nyhetsbrev;

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_backs_up_and_restores_a_stopped_service() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    add_confirmed(&store, 0..4).await;
    store.close().await;
    drop(store);

    let output = nyhetsbrev(&db)
        .args(["backup", "kopi.db"])
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(out.contains("backup written to "), "{out}");
    assert!(out.contains("kopi.db ("), "{out}");
    assert!(out.contains("checked: integrity ok, schema 2026"), "{out}");
    assert!(
        out.contains("it holds 4 contacts, 0 deliveries, 0 issues"),
        "{out}"
    );

    let again = nyhetsbrev(&db)
        .args(["backup", "kopi.db"])
        .output()
        .unwrap();
    let (_, err) = text(&again);
    assert_eq!(again.status.code(), Some(1));
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    // A service runs: the restore is refused and says what to do.
    let mut serve = nyhetsbrev(&db)
        .args(["serve"])
        .env("NYHETSBREV_BIND", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut listening = String::new();
    {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(serve.stderr.take().unwrap());
        while !listening.contains("listening on") {
            listening.clear();
            assert!(lines.read_line(&mut listening).unwrap() > 0, "serve ended");
        }
        std::thread::spawn(move || for _ in lines.lines() {});
    }
    let refused = nyhetsbrev(&db)
        .args(["restore", "kopi.db"])
        .output()
        .unwrap();
    let (_, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("in use by a running nyhetsbrev"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    serve.wait().unwrap();

    let restored = nyhetsbrev(&db)
        .args(["restore", "kopi.db"])
        .output()
        .unwrap();
    let (out, err) = text(&restored);
    assert!(restored.status.success(), "{err}");
    assert!(out.contains("restored kopi.db into sqlite://"), "{out}");
    assert!(out.contains("4 contacts"), "{out}");
    assert!(out.contains("is kept as "), "{out}");
    assert!(out.contains("test.db.replaced-"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_pg_dump_names_the_package() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.store().await.close().await;
    let output = nyhetsbrev(&db)
        .args(["backup", "kopi.pgdump"])
        .env("PATH", db.dir())
        .output()
        .unwrap();
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("pg_dump was not found"), "{err}");
    assert!(err.contains("apt install postgresql-client"), "{err}");
    assert!(!db.dir().join("kopi.pgdump").exists());
}

/// The mode bits of a file, as `ls -l` shows them in octal.
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The command line run under `umask 000`, the worst an operator's shell can have: a
/// file the program leaves to the umask comes out 0666.
fn under_open_umask(db: &TestDb, args: &str) -> Output {
    let binary = env!("CARGO_BIN_EXE_nyhetsbrev");
    let template = nyhetsbrev(db);
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("umask 000; exec '{binary}' {args}"))
        .current_dir(db.dir())
        .stdin(Stdio::null());
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    shell.output().unwrap()
}

/// Backups hold every address, the staff's password hashes and their second factors:
/// made under an open umask, a backup (SQLite copy or pg_dump file) is still 0600, and
/// a restored SQLite database is 0600 even when the backup file itself was left 0644.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_and_restored_databases_are_private_whatever_the_umask() {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let Some(db) = TestDb::of(kind).await else {
            continue;
        };
        let store = db.store().await;
        add_confirmed(&store, 0..2).await;
        store.close().await;
        drop(store);
        if kind == Kind::Sqlite {
            let live = db.url.sqlite_path().unwrap();
            assert_eq!(mode_of(&live), 0o600, "a database the service made");
        }
        let name = format!("kopi.{}", extension(&db));
        let made = under_open_umask(&db, &format!("backup {name}"));
        let (_, err) = text(&made);
        assert!(made.status.success(), "{kind:?}: {err}");
        assert_eq!(mode_of(&db.dir().join(&name)), 0o600, "{kind:?} backup");
        if kind == Kind::Sqlite {
            // A backup copied around and left readable by everyone.
            std::fs::set_permissions(
                db.dir().join(&name),
                std::os::unix::fs::PermissionsExt::from_mode(0o644),
            )
            .unwrap();
            let restored = under_open_umask(&db, &format!("restore {name}"));
            let (_, err) = text(&restored);
            assert!(restored.status.success(), "{err}");
            let live = db.url.sqlite_path().unwrap();
            assert_eq!(mode_of(&live), 0o600, "the restored database");
            let replaced: Vec<_> = std::fs::read_dir(db.dir())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains(".replaced-"))
                .collect();
            assert!(!replaced.is_empty());
            for file in replaced {
                assert_eq!(mode_of(&file), 0o600, "{}", file.display());
            }
        }
    }
}

/// The bytes of a SQLite database as they lie on disk: the file and its write-ahead log.
fn database_bytes(db: &TestDb) -> Vec<u8> {
    let live = db.url.sqlite_path().unwrap();
    let mut bytes = std::fs::read(&live).unwrap();
    let mut wal = live.clone().into_os_string();
    wal.push("-wal");
    if let Ok(log) = std::fs::read(&wal) {
        bytes.extend(log);
    }
    bytes
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    memchr::memmem::find(bytes, needle.as_bytes()).is_some()
}

/// An erasure and a retention run leave nothing of the person in the database file's
/// bytes: not in free pages, not in the write-ahead log, not in the search index (the
/// review found 147 of 150 lines of "removed" mail and an erased person's name, address
/// and organisation in the file). Each value is first shown to be in the file, so the
/// test would see it if it stayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_and_expired_mail_leave_no_bytes_in_the_sqlite_file() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let settings = common::test_settings(&db);
    let contacts = nyhetsbrev::ops::Contacts::new(store.clone()).with_key(Some(common::test_key()));
    let address = "ingrid.saerpreg@example.no";
    let mut new = common::new_contact(address, nyhetsbrev::domain::ContactStatus::Confirmed);
    new.consent.note = nyhetsbrev::domain::ConsentNote::parse("telefon").unwrap();
    new.name = nyhetsbrev::domain::ContactName::parse("Ingrid Særpreg-Olsen").unwrap();
    new.organisation =
        nyhetsbrev::domain::Organisation::parse("Frelsesarmeen Testavdelingen").unwrap();
    let added = contacts.add(&new, &actor()).await.unwrap();
    add_confirmed(&store, 0..50).await;
    // Mail she sent, and mail from someone else that only expires.
    let inbound = nyhetsbrev::startup::inbound(store.clone(), &settings).unwrap();
    let envelope = nyhetsbrev::inbound::Envelope::default();
    let from_her = format!(
        "From: Ingrid <{address}>\r\nTo: nyhetsbrev@example.no\r\nSubject: Hei\r\n\
         Message-ID: <ingrid@example.no>\r\n\r\nMitt telefonnummer er 99887766.\r\n"
    );
    let body: String = (0..150)
        .map(|n| format!("Linje {n:03} av en fortrolig melding om en sak.\r\n"))
        .collect();
    let expiring = format!(
        "From: Ola <ola@example.org>\r\nTo: nyhetsbrev@example.no\r\nSubject: Sak\r\n\
         Message-ID: <sak@example.org>\r\n\r\n{body}"
    );
    for raw in [&from_her, &expiring] {
        inbound
            .handle(
                raw.as_bytes(),
                nyhetsbrev::inbound::Channel::Stdin,
                &envelope,
            )
            .await
            .unwrap();
    }
    let values = [
        address,
        "Ingrid Særpreg-Olsen",
        "ingrid særpreg-olsen",
        "Frelsesarmeen Testavdelingen",
        "99887766",
    ];
    store.scrub_deleted().await.unwrap();
    let before = database_bytes(&db);
    for value in values {
        assert!(
            holds(&before, value),
            "{value} is in the file to begin with"
        );
    }
    assert!(holds(&before, "Linje 077 av en fortrolig melding"));

    contacts.erase(added.contact.id, &actor()).await.unwrap();
    // Gone at once, not only after the next retention run.
    let erased = database_bytes(&db);
    for value in values {
        assert!(
            !holds(&erased, value),
            "{value} is still in the file after the erasure"
        );
    }
    assert!(
        holds(&erased, "Linje 077 av en fortrolig melding"),
        "not expired yet"
    );
    let now = nyhetsbrev::domain::Timestamp::now().unix_ms();
    db.execute(&format!(
        "UPDATE inbound_messages SET received_at = {} WHERE subject = 'Sak'",
        now - 91 * DAY_MS
    ))
    .await;
    let run = nyhetsbrev::startup::retention(store.clone(), &settings)
        .run(nyhetsbrev::domain::Timestamp::now(), &actor())
        .await
        .unwrap();
    assert_eq!(run.inbound_emptied, 1);

    let after = database_bytes(&db);
    for value in values {
        assert!(!holds(&after, value), "{value} is still in the file");
    }
    let lines = (0..150)
        .filter(|n| holds(&after, &format!("Linje {n:03} av en fortrolig")))
        .count();
    assert_eq!(lines, 0, "lines of the expired mail still in the file");
    // The rest of the list is untouched.
    assert_eq!(db.count("contacts").await, 50);
}

/// A second-factor secret an earlier version stored in clear is sealed by the first
/// command that opens the database after the upgrade: a backup made before `serve` ever
/// ran again holds no secret in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_after_the_upgrade_holds_no_second_factor_in_clear() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    common::staff::add_staff(&store, "kari").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    db.execute(&format!(
        "UPDATE staff_users SET totp_secret = '{secret}', totp_enabled_at = 1 WHERE username = 'kari'"
    ))
    .await;
    store.close().await;
    drop(store);
    let output = nyhetsbrev(&db)
        .args(["backup", "kopi.db"])
        .output()
        .unwrap();
    let (_, err) = text(&output);
    assert!(output.status.success(), "{err}");
    let copy = std::fs::read(db.dir().join("kopi.db")).unwrap();
    assert!(!holds(&copy, secret), "the secret in clear in the backup");
    assert!(
        holds(&copy, "sealed1."),
        "the sealed secret is in the backup"
    );
}
