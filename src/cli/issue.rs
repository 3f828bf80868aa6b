//! `nyhetsbrev issue`: import, inspect, preview, test-send, queue, cancel and follow
//! quarterly issues.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::config::Settings;
use crate::domain::{DeliveryStatus, Inline, Slug, Timestamp};
use crate::ops::{IssueError, Issues, SendRequested};
use crate::render::MAX_SOURCE_BYTES;
use crate::startup::shutdown_on_signal;
use crate::store::{Actor, DraftSaved, SendCounts, Store};

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
    let actor = super::actor();
    match command {
        IssueCommand::Import { file, word } => {
            let label = file.display().to_string();
            let head = read_head(&file)?;
            if crate::docx::is_word_document(&file.to_string_lossy(), &head) {
                return import_word(&ops, &file, word, &actor).await;
            }
            if word.any() {
                bail!(
                    "--slug, --subject, --period, --preheader, --audience, --date, --publication, --accept-changes and --markdown are for Word documents: {label} is a Markdown file, whose front matter says these"
                );
            }
            let source = read_source(&file)?;
            let imported = ops.import_draft(&label, &source, &actor).await?;
            for note in &imported.notes {
                eprintln!("{label}:{note}");
            }
            let (verb, outline) = saved_draft(&imported);
            out!("{verb} draft {} ({outline})", imported.issue.meta.slug);
        }
        IssueCommand::List { json } => {
            let issues = ops.list().await?;
            if json {
                let list: Vec<_> = issues
                    .iter()
                    .map(|i| json!({ "slug": i.slug.as_str(), "status": i.status.as_str(), "subject": i.subject,
                        "period": i.period, "updated_at": i.updated_at, "sent_at": i.sent_at }))
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            } else {
                out!("{:<12}  {:<9}  SUBJECT", "SLUG", "STATUS");
                for i in &issues {
                    out!(
                        "{:<12}  {:<9}  {}",
                        i.slug.as_str(),
                        i.status.as_str(),
                        i.subject
                    );
                }
            }
        }
        IssueCommand::Show { slug: raw, source } => {
            let (stored, issue) = ops.get(&slug(&raw)?).await?;
            if source {
                print!("{}", stored.source);
                io::stdout().flush()?;
                return Ok(());
            }
            out!("slug:      {}", stored.slug);
            out!("publication: {}", issue.meta.publication);
            out!("status:    {}", stored.status);
            out!("subject:   {}", issue.meta.subject);
            out!("period:    {}", issue.meta.period);
            out!("preheader: {}", issue.meta.preheader);
            out!("updated:   {}", stored.updated_at);
            if let Some(link) = &issue.meta.link {
                out!("link:      {} <{}>", link.text, link.url);
            }
            for section in &issue.sections {
                out!("\n## {}", section.title);
                for item in &section.items {
                    out!("   ### {}", Inline::plain(&item.title));
                }
            }
        }
        IssueCommand::Render {
            slug: raw,
            html,
            text,
        } => {
            if html.is_none() && text.is_none() {
                bail!("say where to write: --html FILE and/or --text FILE");
            }
            let preview = ops.preview(&slug(&raw)?).await?;
            for (path, part) in [(html, &preview.html), (text, &preview.text)] {
                if let Some(path) = path {
                    std::fs::write(&path, part)
                        .with_context(|| format!("could not write {}", path.display()))?;
                    out!("wrote {}", path.display());
                }
            }
        }
        IssueCommand::Preview { slug: raw, dir } => {
            let preview = ops.preview(&slug(&raw)?).await?;
            let dir =
                dir.unwrap_or_else(|| Path::new("preview").join(preview.stored.slug.as_str()));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            let files = [
                ("e-post.html", &preview.html),
                ("e-post.txt", &preview.text),
                ("nettversjon.html", &preview.web),
            ];
            for (name, content) in files {
                let path = dir.join(name);
                std::fs::write(&path, content)
                    .with_context(|| format!("could not write {}", path.display()))?;
                out!("{}", path.display());
            }
        }
        IssueCommand::TestSend { slug: raw, to } => {
            let slug = slug(&raw)?;
            let to = super::parse_email(&to)?;
            let dispatcher = crate::startup::dispatcher(store.clone(), settings)?;
            ops.test_send(&dispatcher, &slug, &to, &actor).await?;
            out!(
                "sent a test copy of {slug} to {to} through {}",
                dispatcher.transport().describe()
            );
        }
        IssueCommand::Send {
            slug: raw,
            follow,
            dry_run,
            at,
        } => {
            let slug = slug(&raw)?;
            if dry_run {
                let n = ops.count_unqueued(&slug).await?;
                out!("{n} confirmed contacts would get {slug} (dry run: nothing queued)");
                return Ok(());
            }
            if let Some(at) = at {
                return plan_send(&ops, &slug, at, &actor).await;
            }
            let queued = ops.queue_send(&slug, &actor).await?;
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
                follow_send(store, settings, &ops, &slug).await?;
            } else {
                out!("a running worker sends it; watch with `nyhetsbrev issue status {slug}`");
            }
        }
        IssueCommand::Status { slug: raw, json } => {
            let slug = slug(&raw)?;
            let status = ops.status(&slug).await?;
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
        }
        IssueCommand::Links { slug: raw, json } => {
            let (stored, issue) = ops.get(&slug(&raw)?).await?;
            let checker = crate::ops::LinkChecker::new(settings.link_check_allow_private);
            let started = std::time::Instant::now();
            let reports = checker
                .check_issue(
                    &issue,
                    (stored.slug.to_string(), stored.updated_at.unix_ms()),
                    true,
                )
                .await;
            let broken: Vec<_> = reports.iter().filter(|r| r.state.is_broken()).collect();
            if json {
                let list: Vec<_> = reports
                    .iter()
                    .map(|r| json!({ "url": r.url, "places": r.places, "state": format!("{:?}", r.state), "broken": r.state.is_broken() }))
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            } else {
                for report in &broken {
                    out!(
                        "broken: {} in {}: {:?}",
                        report.url,
                        report.places.join(", "),
                        report.state
                    );
                }
                out!(
                    "{} links checked in {:.2} s, {} broken",
                    reports.len(),
                    started.elapsed().as_secs_f64(),
                    broken.len()
                );
            }
            if !broken.is_empty() {
                bail!("{} of {} links are broken", broken.len(), reports.len());
            }
        }
        IssueCommand::Cancel { slug: raw } => {
            let slug = slug(&raw)?;
            let n = ops.cancel(&slug, &actor).await?;
            out!("cancelled {slug}: {n} deliveries not sent (`issue send {slug}` resumes them)");
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

/// "imported" or "updated", and the draft's outline: sections, items, links, HTML size.
fn saved_draft(draft: &crate::ops::DraftImported) -> (&'static str, String) {
    let verb = if draft.saved == DraftSaved::Created {
        "imported"
    } else {
        "updated"
    };
    let outline = format!(
        "{} sections, {} items, {} links, HTML {} KB",
        draft.issue.sections.len(),
        draft.items(),
        draft.issue.links().len(),
        draft.html_bytes.div_ceil(1024)
    );
    (verb, outline)
}

/// The first bytes of a file, to tell a Word document from Markdown.
fn read_head(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut head = Vec::with_capacity(8);
    file.take(8)
        .read_to_end(&mut head)
        .with_context(|| format!("could not read {}", path.display()))?;
    Ok(head)
}

async fn import_word(
    ops: &Issues,
    file: &Path,
    word: WordOptions,
    actor: &crate::store::Actor,
) -> anyhow::Result<()> {
    let label = file.display().to_string();
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let max = crate::docx::MAX_DOCX_BYTES as u64;
    let bytes = if size > max {
        Vec::new()
    } else {
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
            .with_context(|| format!("could not read {label}"))?;
        bytes
    };
    if size > max || bytes.len() as u64 > max {
        return Err(IssueError::Docx {
            label,
            error: crate::docx::DocxError::TooLarge {
                size: size.max(bytes.len() as u64) as usize,
            },
        }
        .into());
    }
    let options = crate::docx::DocxOptions {
        slug: word.slug,
        subject: word.subject,
        period: word.period,
        preheader: word.preheader,
        audience: word.audience,
        date: word.date,
        publication: word.publication,
        accept_changes: word.accept_changes,
        file_name: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let write_markdown = |source: &str| -> anyhow::Result<()> {
        if let Some(path) = &word.markdown {
            std::fs::write(path, source)
                .with_context(|| format!("could not write {}", path.display()))?;
            eprintln!("wrote the Markdown to {}", path.display());
        }
        Ok(())
    };
    match ops.import_docx(&label, bytes, options, actor).await {
        Ok(imported) => {
            let stored = ops.get(&imported.draft.issue.meta.slug).await?.0;
            write_markdown(&stored.source)?;
            for omission in &imported.report {
                eprintln!("{label}: {omission}");
            }
            let (verb, outline) = saved_draft(&imported.draft);
            out!(
                "{verb} draft {} from Word ({outline}; {} things not carried over)",
                imported.draft.issue.meta.slug,
                imported.report.len()
            );
            out!(
                "its Markdown: `nyhetsbrev issue show {} --source`",
                imported.draft.issue.meta.slug
            );
            Ok(())
        }
        Err(IssueError::ConvertedWithProblems { converted, error }) => {
            write_markdown(&converted.source)?;
            let problems: Vec<String> = error
                .problems
                .iter()
                .map(|p| format!("{label} (as Markdown, line {}): {}", p.line, p.kind))
                .collect();
            bail!(
                "{}\nnothing was stored: give what is missing with --slug, --subject, --period or --preheader, mend the document, or see the Markdown with --markdown FILE",
                problems.join("\n")
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads an issue file, refusing one too large to be an issue before reading it whole
/// (the operation checks the size and the encoding again, for every front end).
fn read_source(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > MAX_SOURCE_BYTES as u64 {
        return Err(IssueError::SourceTooLarge {
            label: path.display().to_string(),
            size: (size / 1024) as usize,
        }
        .into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read {}", path.display()))?;
    Ok(bytes)
}
