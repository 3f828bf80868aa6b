//! The claim (issue 17): what a worker pays in the database to take a send's deliveries,
//! batch by batch, before any message is built. 20,000 queued deliveries are claimed
//! in batches of 200 with the cursor a worker uses; the lease is given already expired,
//! so the next round claims the same rows again. On SQLite always, and on PostgreSQL
//! when `NYHETSBREV_BENCH_POSTGRES` names a server (a database is made and dropped).
//!
//!     cargo bench --bench claim
//!     NYHETSBREV_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench claim
//!
//! Uses only the store's public operations, so the same file measures an older build
//! (copy it into that tree): the figure before and after a change to the claim.

use divan::Bencher;
use nyhetsbrev::config::DatabaseUrl;
use nyhetsbrev::domain::{
    Consent, ConsentSource, ContactStatus, EmailAddress, IssueId, NewContact, Timestamp,
};
use nyhetsbrev::store::{Actor, Store};

const CONTACTS: usize = 20_000;
const BATCH: i64 = 200;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A store with `CONTACTS` confirmed contacts and the sample issue queued to them all.
async fn queued_send(url: &DatabaseUrl) -> (Store, IssueId) {
    let store = Store::open(url).await.unwrap();
    let actor = Actor::parse("bench");
    for i in 0..CONTACTS {
        let contact = NewContact {
            email: EmailAddress::parse(&format!("kontakt{i:06}@example.org")).unwrap(),
            name: None,
            organisation: None,
            status: ContactStatus::Confirmed,
            consent: Consent {
                source: ConsentSource::Import,
                at: Timestamp::now(),
                note: None,
            },
            publications: nyhetsbrev::domain::PublicationChoice::All,
        };
        store.add_contact(&contact, &actor).await.unwrap();
    }
    let source = include_str!("../examples/2024-q1.md");
    let parsed = nyhetsbrev::render::parse_issue("2024-q1.md", source).unwrap();
    store
        .save_draft(&parsed.issue, source, &actor)
        .await
        .unwrap();
    let enqueued = store
        .enqueue_issue(&parsed.issue.meta.slug, &actor)
        .await
        .unwrap();
    assert_eq!(enqueued.added as usize, CONTACTS);
    let issue_id = store
        .issue(&parsed.issue.meta.slug)
        .await
        .unwrap()
        .unwrap()
        .id;
    (store, issue_id)
}

/// Claims every queued delivery once, a batch at a time; returns how many.
async fn claim_all(store: &Store, issue_id: IssueId) -> usize {
    // Already expired: the rows are free for the next round as soon as it starts.
    let lease_until = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1);
    let mut after = None;
    let mut claimed = 0;
    loop {
        let batch = store
            .claim_deliveries("bench", BATCH, lease_until, Some(issue_id), after)
            .await
            .unwrap();
        // As the worker does: RETURNING gives no order on PostgreSQL.
        let Some(last) = batch.iter().map(|d| d.id).max() else {
            return claimed;
        };
        after = Some(last);
        claimed += batch.len();
    }
}

fn bench_on(bencher: Bencher, url: &DatabaseUrl) {
    let runtime = runtime();
    let (store, issue_id) = runtime.block_on(queued_send(url));
    bencher.bench_local(|| {
        let claimed = runtime.block_on(claim_all(&store, issue_id));
        assert_eq!(claimed, CONTACTS);
    });
    runtime.block_on(store.close());
}

/// 20,000 deliveries claimed in batches of 200, on SQLite (a file in a temporary folder).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn claim_20k_sqlite(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::new(format!(
        "sqlite://{}",
        dir.path().join("claim.db").display()
    ));
    bench_on(bencher, &url);
}

/// The same on PostgreSQL, when `NYHETSBREV_BENCH_POSTGRES` is set.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn claim_20k_postgres(bencher: Bencher) {
    let Ok(admin) = std::env::var("NYHETSBREV_BENCH_POSTGRES") else {
        eprintln!("claim_20k_postgres: NYHETSBREV_BENCH_POSTGRES is not set, not measured");
        bencher.bench_local(|| ());
        return;
    };
    use sqlx::{Connection, Executor};
    let runtime = runtime();
    let name = format!("bench_claim_{}", std::process::id());
    let database = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    });
    bench_on(bencher, &DatabaseUrl::new(database));
    runtime.block_on(async {
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
}
