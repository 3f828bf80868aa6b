//! `issue test-send`, `send` (now, planned with `--at`, or followed here), `status` and
//! `cancel`.

use std::io::{self, IsTerminal, Write};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::config::Settings;
use crate::domain::{DeliveryStatus, Slug, Timestamp};
use crate::ops::{IssueError, Issues, SendRequested};
use crate::startup::shutdown_on_signal;
use crate::store::{Actor, SendCounts, Store};

/// `issue test-send`: one copy marked as a test.
pub(super) async fn test_send(
    store: &Store,
    settings: &Settings,
    ops: &Issues,
    slug: &Slug,
    to: &str,
    actor: &Actor,
) -> anyhow::Result<()> {
    let to = super::super::parse_email(to)?;
    let dispatcher = crate::startup::dispatcher(store.clone(), settings)?;
    ops.test_send(&dispatcher, slug, &to, actor).await?;
    out!(
        "sent a test copy of {slug} to {to} through {}",
        dispatcher.transport().describe()
    );
    Ok(())
}

/// `issue send`: a dry run, a plan (`--at`), or queued now (and followed here).
#[allow(clippy::too_many_arguments)]
pub(super) async fn send(
    store: &Store,
    settings: &Settings,
    ops: &Issues,
    slug: &Slug,
    follow: bool,
    dry_run: bool,
    at: Option<Timestamp>,
    actor: &Actor,
) -> anyhow::Result<()> {
    if dry_run {
        let n = ops.count_unqueued(slug).await?;
        out!("{n} confirmed contacts would get {slug} (dry run: nothing queued)");
        return Ok(());
    }
    if let Some(at) = at {
        return plan_send(ops, slug, at, actor).await;
    }
    let queued = ops.queue_send(slug, actor).await?;
    out!(
        "queued {slug} for {} contacts{}{}",
        queued.added,
        if queued.existing > 0 {
            format!(" ({} already had it queued or sent)", queued.existing)
        } else {
            String::new()
        },
        if queued.resumed > 0 {
            format!("; resumed {} cancelled", queued.resumed)
        } else {
            String::new()
        }
    );
    if follow {
        follow_send(store, settings, ops, slug).await?;
    } else {
        out!("a running worker sends it; watch with `nyhetsbrev issue status {slug}`");
    }
    Ok(())
}

/// `issue status`: counts and every problem.
pub(super) async fn status(ops: &Issues, slug: &Slug, json: bool) -> anyhow::Result<()> {
    let status = ops.status(slug).await?;
    let counts = &status.counts;
    if json {
        let list: Vec<_> = status
            .problems
            .iter()
            .map(|p| json!({ "email": p.email, "status": p.status, "attempts": p.attempts, "error": p.error }))
            .collect();
        out!(
            "{}",
            json!({ "slug": slug.as_str(), "status": status.issue.status.as_str(), "total": counts.total,
                "queued": counts.queued, "retrying": counts.retrying, "sent": counts.sent,
                "failed": counts.failed, "skipped": counts.skipped, "cancelled": counts.cancelled,
                "problems": list })
        );
    } else {
        out!("{slug}: {}", status.issue.status);
        out!("{}", counts_line(counts));
        for p in &status.problems {
            let label = if p.status == DeliveryStatus::Queued {
                "retrying"
            } else {
                p.status.as_str()
            };
            out!(
                "{label:<9} {}  ({} attempt{}) {}",
                p.email,
                p.attempts,
                if p.attempts == 1 { "" } else { "s" },
                p.error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// `issue cancel`: what is not yet sent is cancelled.
pub(super) async fn cancel(ops: &Issues, slug: &Slug, actor: &Actor) -> anyhow::Result<()> {
    let n = ops.cancel(slug, actor).await?;
    out!("cancelled {slug}: {n} deliveries not sent (`issue send {slug}` resumes them)");
    Ok(())
}

/// `issue send --at`: the send planned, for the contacts a send would queue now (the
/// operation's rules hold: a time that has passed is refused, and with
/// `send_approval` another staff account approves it in the web admin).
async fn plan_send(ops: &Issues, slug: &Slug, at: Timestamp, actor: &Actor) -> anyhow::Result<()> {
    let expected = ops.count_unqueued(slug).await?;
    let requested = match ops
        .request_send(slug, &expected.to_string(), Some(at), actor)
        .await
    {
        Err(IssueError::WrongCount { expected: 0, .. }) => {
            bail!("no confirmed contact is waiting for {slug}: there is nobody to send it to")
        }
        other => other?,
    };
    match requested {
        SendRequested::Planned { at, needs_approval } => {
            out!("planned {slug} for {expected} contacts at {at}");
            if needs_approval {
                out!("send_approval is on: another staff account approves it in the web admin");
            } else {
                out!(
                    "a running worker starts it then; `nyhetsbrev issue status {slug}` shows how it goes"
                );
            }
        }
        SendRequested::Started(queued) => {
            out!("queued {slug} for {} contacts", queued.added);
        }
    }
    Ok(())
}

fn counts_line(c: &SendCounts) -> String {
    format!(
        "total {}  sent {}  failed {}  skipped {}  cancelled {}  queued {}{}",
        c.total,
        c.sent,
        c.failed,
        c.skipped,
        c.cancelled,
        c.queued,
        if c.retrying > 0 {
            format!(" ({} waiting to retry)", c.retrying)
        } else {
            String::new()
        }
    )
}

/// `issue send --follow`: sends in this process (alongside any other worker) with a
/// progress bar until nothing of the issue is left in the queue.
async fn follow_send(
    store: &Store,
    settings: &Settings,
    ops: &Issues,
    slug: &Slug,
) -> anyhow::Result<()> {
    let (issue, _) = ops.get(slug).await?;
    let dispatcher = crate::startup::dispatcher(store.clone(), settings)?.with_settings(|s| {
        s.only_issue = Some(issue.id);
        s.until_done = true;
    });
    let shutdown = shutdown_on_signal();
    let mut worker = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { dispatcher.run(shutdown).await }
    });
    let counts = ops.counts(issue.id).await?;
    let bar = ProgressBar::new(counts.total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} ETA {eta}")
            .expect("a valid template"),
    );
    // Counting costs a query over the issue's deliveries: only while someone watches.
    let watching = io::stderr().is_terminal();
    let report = loop {
        tokio::select! {
            result = &mut worker => break result??,
            () = tokio::time::sleep(std::time::Duration::from_millis(500)), if watching => {
                let counts = ops.counts(issue.id).await?;
                bar.set_length(counts.total as u64);
                bar.set_position(counts.done() as u64);
                bar.set_message(format!(
                    "sent {} failed {} skipped {} left {}",
                    counts.sent, counts.failed, counts.skipped, counts.queued
                ));
            }
        }
    };
    bar.finish_and_clear();
    let counts = ops.counts(issue.id).await?;
    out!("{}", counts_line(&counts));
    if counts.queued > 0 {
        out!(
            "stopped with {} still queued ({} sent by this process): any worker, or `issue send {slug} --follow`, goes on",
            counts.queued,
            report.sent
        );
    }
    if counts.failed > 0 {
        out!("see why with `nyhetsbrev issue status {slug}`");
    }
    Ok(())
}
