//! The worker as a real process: killed with SIGKILL mid-send and restarted, and two
//! workers sharing one PostgreSQL database.

use crate::common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::smtp_sink::SmtpSink;
use common::{KillOnDrop, Kind, TestDb};
use nyhetsbrev::domain::IssueId;
use nyhetsbrev::store::{Actor, Store};

const BIN: &str = env!("CARGO_BIN_EXE_nyhetsbrev");

on_both_backends!(a_worker_killed_mid_send_loses_no_one_and_repeats_only_what_was_in_flight);

/// A queued issue for `n` confirmed contacts; returns the store and the issue's id.
async fn queued_issue(db: &TestDb, n: usize) -> (Store, IssueId) {
    let store = db.store().await;
    let (slug, id) = common::sample_draft(&store).await;
    common::add_confirmed(&store, 0..n).await;
    store
        .enqueue_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    (store, id)
}

fn start_worker(db: &TestDb, sink: &SmtpSink, rate: &str) -> KillOnDrop {
    let child = Command::new(BIN)
        .arg("worker")
        .current_dir(db.dir())
        .env("NYHETSBREV_DATABASE_URL", db.url.expose())
        .env("NYHETSBREV_SMTP_URL", sink.url())
        .env("NYHETSBREV_TOKEN_KEY", common::TEST_TOKEN_KEY)
        .env("NYHETSBREV_FROM_ADDRESS", "nyhetsbrev@example.no")
        .env("NYHETSBREV_BASE_URL", "https://nyhetsbrev.example.org")
        .env("NYHETSBREV_SEND_RATE", rate)
        .env("NYHETSBREV_LEASE_TIME", "8")
        .env("NYHETSBREV_SMTP_TIMEOUT", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the worker");
    KillOnDrop(child)
}

/// SIGTERM, then the worker's last line on stderr.
fn stop_worker(mut worker: KillOnDrop) -> String {
    let child = &mut worker.0;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = {
        let status = child.wait().unwrap();
        assert!(status.success(), "the worker stops cleanly on SIGTERM");
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        err
    };
    output
        .lines()
        .rfind(|l| l.starts_with("worker stopped"))
        .unwrap_or_else(|| panic!("no summary in: {output}"))
        .to_owned()
}

async fn wait_until_done(store: &Store, issue_id: IssueId, within: Duration) {
    common::eventually("nothing left queued", within, async || {
        let counts = store.send_counts(issue_id).await.unwrap();
        common::ok_if(counts.queued == 0, counts)
    })
    .await
}

async fn a_worker_killed_mid_send_loses_no_one_and_repeats_only_what_was_in_flight(db: &TestDb) {
    const N: usize = 600;
    let (store, issue_id) = queued_issue(db, N).await;
    let sink = SmtpSink::start().await;
    let mut worker = start_worker(db, &sink, "300");
    sink.wait_for(200, Duration::from_secs(30)).await;
    worker.0.kill().unwrap(); // SIGKILL: no chance to record or release anything
    worker.0.wait().unwrap();
    // The sink finishes reading what the killed worker had sent.
    sink.wait_until_idle(Duration::from_secs(10)).await;
    let accepted_at_kill = sink.count() as i64;
    let recorded_at_kill = store.send_counts(issue_id).await.unwrap().sent;
    let in_flight_at_kill = accepted_at_kill - recorded_at_kill;
    assert!(
        accepted_at_kill < N as i64,
        "killed in the middle of the send"
    );

    // Restarted, it takes over once the dead worker's leases (8 s here) run out.
    let worker = start_worker(db, &sink, "300");
    wait_until_done(&store, issue_id, Duration::from_secs(60)).await;
    stop_worker(worker);

    let received = sink.received();
    let mut per_recipient: HashMap<&str, Vec<&[u8]>> = HashMap::new();
    for message in &received {
        per_recipient
            .entry(&message.rcpt_to[0])
            .or_default()
            .push(&message.data);
    }
    assert_eq!(per_recipient.len(), N, "every contact got the issue");
    let counts = store.send_counts(issue_id).await.unwrap();
    assert_eq!((counts.sent, counts.queued), (N as i64, 0));
    let duplicates = received.len() as i64 - N as i64;
    eprintln!(
        "SIGKILL after {accepted_at_kill} accepted, {recorded_at_kill} recorded: \
         {in_flight_at_kill} in flight, {duplicates} duplicates"
    );
    assert_eq!(
        duplicates, in_flight_at_kill,
        "only what the relay had accepted but the database had not recorded went twice"
    );
    // A duplicate carries the same Message-ID, so it can be recognised.
    let message_id = |raw: &[u8]| {
        mail_parser::MessageParser::default()
            .parse(raw)
            .unwrap()
            .message_id()
            .unwrap()
            .to_owned()
    };
    for copies in per_recipient.values().filter(|c| c.len() > 1) {
        assert_eq!(message_id(copies[0]), message_id(copies[1]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_send_each_contact_once() {
    let Some(db) = TestDb::of(Kind::Postgres).await else {
        return; // TestDb says why; under CI this cannot happen
    };
    const N: usize = 1000;
    let (store, issue_id) = queued_issue(&db, N).await;
    let sink = SmtpSink::start().await;
    // 200 a second each: the send lasts long enough for both to take part.
    let first = start_worker(&db, &sink, "200");
    let second = start_worker(&db, &sink, "200");
    wait_until_done(&store, issue_id, Duration::from_secs(60)).await;
    let summaries = [stop_worker(first), stop_worker(second)];

    let received = sink.received();
    let mut per_recipient: HashMap<&str, usize> = HashMap::new();
    for message in &received {
        *per_recipient.entry(&message.rcpt_to[0]).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), N);
    assert!(per_recipient.values().all(|&n| n == 1), "nobody twice");
    assert_eq!(received.len(), N);
    let sent_by: Vec<u64> = summaries
        .iter()
        .map(|s| {
            s.split_whitespace()
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a count in {s:?}"))
        })
        .collect();
    eprintln!("sent by each worker: {sent_by:?}");
    assert_eq!(sent_by.iter().sum::<u64>(), N as u64);
    assert!(
        sent_by.iter().all(|&n| n > 0),
        "both took part: {sent_by:?}"
    );
}
