//! Issues as staff handle them: import a draft, re-import it, never change a sent one.

use crate::common;

use std::process::Command;

use common::TestDb;
use nyhetsbrev::render::parse_issue;
use nyhetsbrev::store::{Actor, DraftSaved, IssueStatus, StoreError};
use sqlx::{AnyConnection, Connection};

const BIN: &str = env!("CARGO_BIN_EXE_nyhetsbrev");
const FIXTURE: &str = include_str!("../../examples/2024-q1.md");

on_both_backends!(
    drafts_are_created_replaced_and_never_changed_once_sent,
    the_issue_commands
);

async fn mark_sent(db: &TestDb, slug: &str) {
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    sqlx::query("UPDATE issues SET status = 'sent', sent_at = 1 WHERE slug = $1")
        .bind(slug)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn drafts_are_created_replaced_and_never_changed_once_sent(db: &TestDb) {
    let store = db.store().await;
    let actor = Actor::parse("test");
    let issue = parse_issue("2024-q1.md", FIXTURE).unwrap().issue;
    assert_eq!(
        store.save_draft(&issue, FIXTURE, &actor).await.unwrap(),
        DraftSaved::Created
    );
    let changed = FIXTURE.replace(
        "januar–mars 2024\"\npreheader",
        "januar-mars 2024\"\npreheader",
    );
    let issue2 = parse_issue("2024-q1.md", &changed).unwrap().issue;
    assert_eq!(
        store.save_draft(&issue2, &changed, &actor).await.unwrap(),
        DraftSaved::Updated
    );

    let stored = store.existing_issue(&issue.meta.slug).await.unwrap();
    assert_eq!(
        (stored.status, stored.period.as_str()),
        (IssueStatus::Draft, "januar-mars 2024")
    );
    assert_eq!(stored.source, changed, "the source is kept as imported");
    assert_eq!(store.list_issues().await.unwrap().len(), 1);

    mark_sent(db, "2024-q1").await;
    let refused = store.save_draft(&issue, FIXTURE, &actor).await;
    assert!(
        matches!(&refused, Err(StoreError::IssueNotDraft { status, .. }) if status == "sent"),
        "{refused:?}"
    );
    assert_eq!(
        store.existing_issue(&issue.meta.slug).await.unwrap().source,
        changed,
        "a sent issue is unchanged"
    );
    let actions: Vec<_> = store
        .audit_log(5)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["issue.update", "issue.create"]);
}

async fn the_issue_commands(db: &TestDb) {
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(db.dir())
            .env("NYHETSBREV_DATABASE_URL", db.url.expose())
            .env("NYHETSBREV_BASE_URL", "https://nyhetsbrev.example.org")
            .output()
            .unwrap()
    };
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md");
    let imported = run(&["issue", "import", fixture]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(
        said.starts_with("imported draft 2024-q1 (4 sections, 35 items, 70 links, HTML"),
        "{said}"
    );

    let listed = String::from_utf8(run(&["issue", "list"]).stdout).unwrap();
    assert!(
        listed.contains("2024-q1       draft      Nyhetsbrev fra KOM, januar–mars 2024"),
        "{listed}"
    );
    let shown = String::from_utf8(run(&["issue", "show", "2024-q1"]).stdout).unwrap();
    assert!(
        shown.contains("## Aktuelle internasjonale tiltak, rapporter og forskning\n   ### ILO"),
        "{shown}"
    );

    let preview = run(&["issue", "preview", "2024-q1"]);
    let paths = String::from_utf8(preview.stdout).unwrap();
    assert_eq!(paths.lines().count(), 3, "{paths}");
    let html = std::fs::read_to_string(db.dir().join("preview/2024-q1/e-post.html")).unwrap();
    assert!(html.contains("href=\"https://nyhetsbrev.example.org/arkiv/2024-q1\""));
    let text = std::fs::read_to_string(db.dir().join("preview/2024-q1/e-post.txt")).unwrap();
    assert!(text.contains("https://nyhetsbrev.example.org/avmeld/FORHANDSVISNING"));

    let out = db.dir().join("mail.txt");
    let rendered = run(&[
        "issue",
        "render",
        "2024-q1",
        "--text",
        out.to_str().unwrap(),
    ]);
    assert!(rendered.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);

    let broken = db.dir().join("2025-q1.md");
    std::fs::write(&broken, "+++\nslug = \"2025-q1\"\nsubject = \"S\"\nperiod = \"P\"\npreheader = \"H\"\n+++\n## A\n### B\nSe [her](#).\n").unwrap();
    let refused = run(&["issue", "import", broken.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(
        err.starts_with("error: ")
            && err.contains("2025-q1.md:9: the link \"her\" points to \"#\""),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let missing = run(&["issue", "show", "2025-q1"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("issue 2025-q1 does not exist"));

    mark_sent(db, "2024-q1").await;
    let again = run(&["issue", "import", fixture]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("issue 2024-q1 is sent: a sent issue cannot be changed")
    );
}
