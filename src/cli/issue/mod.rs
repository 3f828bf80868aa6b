//! `nyhetsbrev issue`: import, inspect, preview, test-send, queue, cancel and follow
//! quarterly issues. The commands by concern: `import` (Markdown or a Word document),
//! `inspect` (list, show, render, preview, links), `send` (test copy, send or plan,
//! follow, status, cancel).

mod import;
mod inspect;
mod send;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{Slug, Timestamp};
use crate::ops::{IssueError, Issues};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Import an issue as a draft from a Markdown file or a Word document (.docx):
    /// creates it, or replaces a draft with the same slug; an issue already sent is
    /// never changed. From Word, Heading 1 starts a section and Heading 2 an item; the
    /// title, period and audience are read from the lines before the first heading, and
    /// what the document holds that an issue cannot (images, tables, comments...) is
    /// listed.
    Import {
        /// The Markdown file (with front matter between +++ lines) or the .docx file.
        file: PathBuf,
        #[command(flatten)]
        word: WordOptions,
    },
    /// List issues, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an issue's status and outline.
    Show {
        slug: String,
        /// Print the issue's Markdown source instead (what a Word import became).
        #[arg(long)]
        source: bool,
    },
    /// Fetch every link of the issue (as the web admin's checklist does) and list the
    /// broken ones with the item they are in. Exit code 1 if any is broken.
    Links {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the HTML and text parts of the mail, for a sample recipient.
    Render {
        slug: String,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        text: Option<PathBuf>,
    },
    /// Write both parts and the web version to a folder and print where.
    Preview {
        slug: String,
        /// Default: preview/SLUG
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Send one copy, marked as a test, to any address.
    TestSend {
        slug: String,
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
    /// Queue the issue for every confirmed contact and return; a worker (`serve` or
    /// `worker`) sends it. Again later, it queues only contacts confirmed since.
    Send {
        slug: String,
        /// Stay, send (alongside any running worker) and show progress until done.
        #[arg(long)]
        follow: bool,
        /// Only say how many contacts would be queued.
        #[arg(long, conflicts_with = "follow")]
        dry_run: bool,
        /// Plan the send for this time instead, as RFC 3339 with its offset (e.g.
        /// 2026-12-03T09:00:00+01:00): a running worker starts it then. A time that has
        /// passed is refused.
        #[arg(long, value_name = "TIME", value_parser = planned_time, conflicts_with_all = ["follow", "dry_run"])]
        at: Option<Timestamp>,
    },
    /// Counts of a send, and every delivery that failed or waits for a retry, with why.
    Status {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop sending: what is not yet sent is cancelled (`send` again resumes it).
    Cancel { slug: String },
}

/// What a Word document does not say about itself; each is read from the document when
/// not given.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WordOptions {
    /// The issue's short name, e.g. 2025-q1 (default: from the period).
    #[arg(long)]
    slug: Option<String>,
    /// The mail's subject (default: the title and the period).
    #[arg(long)]
    subject: Option<String>,
    /// e.g. "januar–mars 2025" (default: the line that says it under the title).
    #[arg(long)]
    period: Option<String>,
    /// The line mail clients show after the subject (default: the first other line of
    /// the front page, else the first item titles).
    #[arg(long)]
    preheader: Option<String>,
    /// e.g. "Til KOMs samarbeidsaktører".
    #[arg(long)]
    audience: Option<String>,
    /// The issue's date, YYYY-MM-DD.
    #[arg(long)]
    date: Option<String>,
    /// The publication it belongs to, by slug (default: nyhetsbrev; `nyhetsbrev
    /// publications list` shows them).
    #[arg(long)]
    publication: Option<String>,
    /// Read tracked changes as accepted (otherwise the text before them is read, and
    /// each change is listed).
    #[arg(long)]
    accept_changes: bool,
    /// Also write the Markdown the document became to FILE (even when it has problems).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

impl WordOptions {
    fn any(&self) -> bool {
        self.slug.is_some()
            || self.subject.is_some()
            || self.period.is_some()
            || self.preheader.is_some()
            || self.audience.is_some()
            || self.date.is_some()
            || self.publication.is_some()
            || self.accept_changes
            || self.markdown.is_some()
    }
}

/// `--at`: an instant with its offset, so that nobody's time zone is guessed.
fn planned_time(text: &str) -> Result<Timestamp, String> {
    let at =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| format!("{text:?} is not a time: write e.g. 2026-12-03T09:00:00+01:00"))?;
    Ok(Timestamp::from_unix_ms(
        (at.unix_timestamp_nanos() / 1_000_000) as i64,
    ))
}

/// Issue operations as this command line's settings set them up.
fn issues(store: &Store, settings: &Settings) -> Issues {
    Issues::new(
        store.clone(),
        crate::startup::render_context(settings),
        settings.token_key().map_err(|e| e.to_string()),
    )
    .with_send_approval(settings.send_approval)
}

/// The error, with a hint at the command that helps.
fn with_hint(e: IssueError) -> anyhow::Error {
    match e {
        IssueError::NotFound(slug) => anyhow::anyhow!(
            "issue {slug} does not exist: import it with `nyhetsbrev issue import FILE`"
        ),
        other => other.into(),
    }
}

fn slug(raw: &str) -> anyhow::Result<Slug> {
    Slug::parse(raw).map_err(anyhow::Error::msg)
}

pub(super) async fn run(
    store: &Store,
    settings: &Settings,
    command: IssueCommand,
) -> anyhow::Result<ExitCode> {
    run_inner(store, settings, command)
        .await
        .map_err(|e| match e.downcast::<IssueError>() {
            Ok(e) => with_hint(e),
            Err(e) => e,
        })?;
    Ok(ExitCode::SUCCESS)
}

async fn run_inner(
    store: &Store,
    settings: &Settings,
    command: IssueCommand,
) -> anyhow::Result<()> {
    let ops = issues(store, settings);
    let actor = &super::actor();
    let ops = &ops;
    match command {
        IssueCommand::Import { file, word } => import::import(ops, &file, word, actor).await,
        IssueCommand::List { json } => inspect::list(ops, json).await,
        IssueCommand::Show { slug: raw, source } => inspect::show(ops, &slug(&raw)?, source).await,
        IssueCommand::Render {
            slug: raw,
            html,
            text,
        } => inspect::render(ops, &raw, html, text).await,
        IssueCommand::Preview { slug: raw, dir } => inspect::preview(ops, &slug(&raw)?, dir).await,
        IssueCommand::Links { slug: raw, json } => {
            inspect::links(ops, settings, &slug(&raw)?, json).await
        }
        IssueCommand::TestSend { slug: raw, to } => {
            send::test_send(store, settings, ops, &slug(&raw)?, &to, actor).await
        }
        IssueCommand::Send {
            slug: raw,
            follow,
            dry_run,
            at,
        } => {
            let slug = slug(&raw)?;
            send::send(store, settings, ops, &slug, follow, dry_run, at, actor).await
        }
        IssueCommand::Status { slug: raw, json } => send::status(ops, &slug(&raw)?, json).await,
        IssueCommand::Cancel { slug: raw } => send::cancel(ops, &slug(&raw)?, actor).await,
    }
}
