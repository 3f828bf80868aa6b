//! The command line: `nyhetsbrev <noun> <verb>`. Output goes to stdout, errors to stderr
//! as one line saying what to do; the exit code is 0 only on success.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::config::Settings;
use crate::contact_csv::{self, Encoding, ImportEvent, ImportOptions};
use crate::startup::shutdown_on_signal;
use crate::domain::{
    Consent, ConsentNote, ConsentSource, Contact, ContactChanges, ContactName, ContactStatus,
    EmailAddress, NewContact, Organisation, Timestamp,
};
use crate::domain::{Inline, Slug};
use crate::render::{MAX_HTML_BYTES, MAX_SOURCE_BYTES, Personal, parse_issue, render};
use crate::store::{Actor, ContactFilter, DraftSaved, SendCounts, Store};

/// `println!` that returns an error instead of panicking when stdout is closed (as in
/// `nyhetsbrev contacts list | head`); `main` ends quietly on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(io::stdout(), $($arg)*)?
    };
}

/// Exit code of an import that committed but rejected some rows.
pub const EXIT_ROWS_REJECTED: u8 = 3;

/// Newsletter contact list, issues and sending for KOM.
#[derive(Debug, Parser)]
#[command(name = "nyhetsbrev", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Settings file (TOML). Without it, nyhetsbrev.toml in the working directory is read
    /// if present. NYHETSBREV_* environment variables override the file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the database schema up to date (also done on every start).
    Migrate,
    /// Run the web service and a delivery worker, until SIGTERM or Ctrl-C.
    Serve,
    /// Run only a delivery worker (any number may run against one PostgreSQL database).
    Worker,
    /// Manage the contact list.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Import, inspect and preview quarterly issues.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Read inbound mail. Without a subcommand: handle one raw message from standard
    /// input (for an MTA pipe); exit 0 when handled or ignored, 75 (EX_TEMPFAIL) when it
    /// could not be recorded so the MTA retries, 65 (EX_DATAERR) when refused.
    Inbound(InboundArgs),
    /// Staff accounts, for the admin API.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Print a fresh random secret for the token_key setting (sending needs one).
    NewTokenKey,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InboundArgs {
    #[command(subcommand)]
    pub command: Option<InboundCommand>,
    /// Envelope sender, as the MTA passes it (Postfix pipe: ${sender}).
    #[arg(long, value_name = "ADDRESS")]
    pub sender: Option<String>,
    /// Envelope recipient, as the MTA passes it (Postfix pipe: ${original_recipient}).
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InboundCommand {
    /// List handled messages, newest first.
    List {
        /// Only this kind: subscribe, unsubscribe, bounce, forged, automatic, loop, other,
        /// unreadable.
        #[arg(long)]
        kind: Option<InboundKind>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Print one handled message as it arrived (raw RFC 5322). On a terminal, control
    /// characters and escape sequences are shown as \x1b-style escapes instead of
    /// being run by the terminal; piped, or with --raw, it is byte for byte.
    Show {
        id: i64,
        #[arg(long)]
        raw: bool,
    },
    /// Answer a forwarded request to join that was kept for staff: mail the confirmation
    /// link to the person who wrote the original (they still have to use it).
    Answer { id: i64 },
    /// Read the mailbox set by imap_url: once, or every imap_poll_interval seconds until
    /// SIGTERM or Ctrl-C.
    Poll {
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InboundKind {
    Subscribe,
    Unsubscribe,
    Bounce,
    Automatic,
    Loop,
    Other,
    Unreadable,
    /// A delivery report that failed its signature check.
    Forged,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff account, or set a new password for one. The password is read from
    /// the first line of standard input (at least 12 characters).
    Add { username: String },
}

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Import a Markdown issue as a draft (creates it, or replaces a draft with the same
    /// slug; an issue already sent is never changed).
    Import {
        /// The Markdown file, with front matter between +++ lines.
        file: PathBuf,
    },
    /// List issues, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an issue's status and outline.
    Show { slug: String },
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

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Add one contact, e.g. someone who asked by e-mail to join.
    Add(AddArgs),
    /// List contacts, optionally filtered by status and text.
    List(ListArgs),
    /// Show one contact: status, consent, dates.
    Show(ShowArgs),
    /// Change a contact's address, name, organisation or status.
    Edit(EditArgs),
    /// Erase a contact and its history for good.
    Remove(RemoveArgs),
    /// Import contacts from a CSV file (columns by header: email, name, organisation,
    /// optional status, consent_date, consent_source, consent_note).
    ///
    /// The whole file is one transaction: if the import is interrupted, nothing of it is
    /// kept and it can simply be run again. Exit code 3 means the import was committed
    /// but some rows were rejected (each is listed with its line number).
    Import(ImportArgs),
    /// Export contacts as CSV (any filter of `list`).
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Pending,
    Confirmed,
    Unsubscribed,
    Bounced,
}

impl From<StatusArg> for ContactStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => ContactStatus::Pending,
            StatusArg::Confirmed => ContactStatus::Confirmed,
            StatusArg::Unsubscribed => ContactStatus::Unsubscribed,
            StatusArg::Bounced => ContactStatus::Bounced,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SourceArg {
    Web,
    EmailRequest,
    Import,
    Staff,
}

impl From<SourceArg> for ConsentSource {
    fn from(s: SourceArg) -> Self {
        match s {
            SourceArg::Web => ConsentSource::Web,
            SourceArg::EmailRequest => ConsentSource::EmailRequest,
            SourceArg::Import => ConsentSource::Import,
            SourceArg::Staff => ConsentSource::Staff,
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The e-mail address.
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub organisation: Option<String>,
    /// Status to start with. Staff add people who asked to join, so: confirmed.
    #[arg(long, value_enum, default_value = "confirmed")]
    pub status: StatusArg,
    /// How the person asked to join.
    #[arg(long, value_enum, default_value = "staff")]
    pub source: SourceArg,
    /// Where the consent came from, e.g. "e-post 12.03.2025 fra kari@example.no".
    #[arg(long)]
    pub note: Option<String>,
    /// When consent was given (2025-03-12 or 12.03.2025); default now.
    #[arg(long, value_name = "DATE")]
    pub consent_date: Option<String>,
    /// Print the contact as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only contacts with this status.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only contacts whose address, name or organisation contains this text (any case).
    #[arg(long)]
    pub search: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> ContactFilter {
        ContactFilter {
            status: self.status.map(Into::into),
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Show at most this many.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print JSON (an array of contacts).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub email: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The contact's current address.
    pub email: String,
    /// A new address.
    #[arg(long = "email", value_name = "NEW_ADDRESS")]
    pub new_email: Option<String>,
    /// A new name ("" clears it).
    #[arg(long)]
    pub name: Option<String>,
    /// A new organisation ("" clears it).
    #[arg(long)]
    pub organisation: Option<String>,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// New consent: how and when the person asked. Required to confirm someone who
    /// unsubscribed or bounced.
    #[arg(long, value_name = "TEXT")]
    pub consent_note: Option<String>,
    /// Source of the new consent.
    #[arg(long, value_enum, default_value = "staff", requires = "consent_note")]
    pub consent_source: SourceArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub email: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    #[value(alias = "windows-1252", alias = "iso-8859-1")]
    Latin1,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file ("-" reads standard input).
    pub file: PathBuf,
    /// Update name and organisation of contacts already on the list (their status is
    /// never changed by an import).
    #[arg(long)]
    pub update: bool,
    /// Check the file and report what would happen, without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Column separator. Default: detected from the header (comma, semicolon or tab).
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: EncodingArg,
    /// Status of rows without a status cell.
    #[arg(long, value_enum, default_value = "confirmed")]
    pub status: StatusArg,
    /// Consent source of rows without a consent_source cell.
    #[arg(long, value_enum, default_value = "import")]
    pub source: SourceArg,
    /// Consent note of rows without a consent_note cell (default "importert fra FILE").
    #[arg(long)]
    pub note: Option<String>,
    /// Print the report as JSON lines: one per row not imported, then the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err("the delimiter is one character, such as ';' or ',' (or 'tab')".into()),
    }
}

/// sysexits(3): the input was refused for good (the MTA returns it to the sender).
pub const EX_DATAERR: u8 = 65;
/// sysexits(3): try again later (the MTA keeps the message and retries).
pub const EX_TEMPFAIL: u8 = 75;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Inbound(args) = &cli.command
        && args.command.is_none()
    {
        return Ok(inbound_from_stdin(cli.config.as_deref(), args).await);
    }
    if let Command::NewTokenKey = cli.command {
        out!("{}", crate::domain::TokenKey::generate_secret());
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(
        &settings,
        matches!(cli.command, Command::Serve | Command::Worker),
    );
    tracing::debug!(?settings, "settings loaded");
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("could not open the database {}", settings.database_url))?;
    let code = match cli.command {
        Command::Migrate => {
            out!("database {} is up to date", settings.database_url);
            ExitCode::SUCCESS
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.bind)
                .await
                .with_context(|| {
                    format!(
                        "could not listen on {} (set bind to a free address:port)",
                        settings.bind
                    )
                })?;
            eprintln!("nyhetsbrev listening on http://{}", listener.local_addr()?);
            let service = crate::startup::Service::build(store.clone(), &settings)?;
            if let Err(e) = settings.token_key() {
                eprintln!("not sending issues: {e}");
            }
            service.run(listener, shutdown_on_signal()).await?;
            ExitCode::SUCCESS
        }
        Command::Worker => {
            let dispatcher = crate::startup::dispatcher(store.clone(), &settings)?;
            eprintln!(
                "nyhetsbrev worker sending through {}",
                dispatcher.transport().describe()
            );
            let report = dispatcher.run(shutdown_on_signal()).await?;
            eprintln!(
                "worker stopped: {} sent, {} failed, {} to retry, {} skipped",
                report.sent, report.failed, report.retried, report.skipped
            );
            ExitCode::SUCCESS
        }
        Command::Contacts(command) => contacts(&store, command).await?,
        Command::Issue(command) => {
            issue(&store, &settings, command).await?;
            ExitCode::SUCCESS
        }
        Command::Inbound(args) => {
            inbound(&store, &settings, args.command).await?;
            ExitCode::SUCCESS
        }
        Command::Staff(StaffCommand::Add { username }) => {
            staff_add(&store, &username).await?;
            ExitCode::SUCCESS
        }
        Command::NewTokenKey => unreachable!("answered before the settings are read"),
    };
    store.close().await;
    Ok(code)
}

async fn contacts(store: &Store, command: ContactsCommand) -> anyhow::Result<ExitCode> {
    let actor = Actor::cli();
    match command {
        ContactsCommand::Add(args) => {
            let consent_at = match &args.consent_date {
                Some(date) => Timestamp::parse_date(date)?,
                None => Timestamp::now(),
            };
            let new = NewContact {
                email: parse_email(&args.email)?,
                name: ContactName::parse(args.name.as_deref().unwrap_or_default())?,
                organisation: Organisation::parse(
                    args.organisation.as_deref().unwrap_or_default(),
                )?,
                status: args.status.into(),
                consent: Consent {
                    source: args.source.into(),
                    at: consent_at,
                    note: ConsentNote::parse(args.note.as_deref().unwrap_or_default())?,
                },
            };
            let contact = store.add_contact(&new, &actor).await?;
            if args.json {
                out!("{}", contact_json(&contact));
            } else {
                out!("added {} ({})", contact.email, contact.status);
            }
        }
        ContactsCommand::List(args) => {
            let contacts = store
                .list_contacts(&args.filter.filter(), args.limit)
                .await?;
            let mut out = io::stdout().lock();
            if args.json {
                let list: Vec<_> = contacts.iter().map(contact_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                print_table(&mut out, &contacts)?;
            }
        }
        ContactsCommand::Show(args) => {
            let contact = store.existing_contact(&parse_email(&args.email)?).await?;
            if args.json {
                out!("{}", contact_json(&contact));
            } else {
                print_contact(&mut io::stdout().lock(), &contact)?;
            }
        }
        ContactsCommand::Edit(args) => {
            let changes = ContactChanges {
                email: args.new_email.as_deref().map(parse_email).transpose()?,
                name: args.name.as_deref().map(ContactName::parse).transpose()?,
                organisation: args
                    .organisation
                    .as_deref()
                    .map(Organisation::parse)
                    .transpose()?,
                status: args.status.map(Into::into),
                consent: match args.consent_note.as_deref() {
                    Some(note) => Some(Consent {
                        source: args.consent_source.into(),
                        at: Timestamp::now(),
                        note: Some(ConsentNote::parse(note)?.context(
                            "the consent note is empty: say how and when the person asked",
                        )?),
                    }),
                    None => None,
                },
            };
            if changes.is_empty() {
                bail!(
                    "nothing to change: give --email, --name, --organisation, --status or --consent-note"
                );
            }
            let contact = store
                .update_contact(&parse_email(&args.email)?, &changes, &actor)
                .await?;
            if args.json {
                out!("{}", contact_json(&contact));
            } else {
                out!("updated {} ({})", contact.email, contact.status);
            }
        }
        ContactsCommand::Remove(args) => {
            let email = parse_email(&args.email)?;
            let contact = store.existing_contact(&email).await?;
            if !args.yes
                && !confirm(&format!(
                    "Erase {} and all its history for good?",
                    contact.email
                ))?
            {
                eprintln!("nothing removed");
                return Ok(ExitCode::FAILURE);
            }
            store.remove_contact(&email, &actor).await?;
            out!("removed {}", contact.email);
        }
        ContactsCommand::Import(args) => return import(store, args, &actor).await,
        ContactsCommand::Export(args) => export(store, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(store: &Store, args: ImportArgs, actor: &Actor) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        delimiter: args.delimiter,
        encoding: match args.encoding {
            EncodingArg::Utf8 => Encoding::Utf8,
            EncodingArg::Latin1 => Encoding::Latin1,
        },
        update: args.update,
        dry_run: args.dry_run,
        status: args.status.into(),
        source: args.source.into(),
        note: ConsentNote::parse(args.note.as_deref().unwrap_or_default())?,
    };
    let (source, size, label): (Box<dyn Read + Send>, Option<u64>, String) =
        if args.file == Path::new("-") {
            (Box::new(io::stdin()), None, "standard input".into())
        } else {
            let file = File::open(&args.file)
                .with_context(|| format!("could not open {}", args.file.display()))?;
            let size = file.metadata().ok().map(|m| m.len());
            let label = args.file.file_name().map_or_else(
                || args.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            (Box::new(file), size, label)
        };
    let progress = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    // indicatif draws only on a terminal; in scripts and CI this prints nothing.
    if !io::stderr().is_terminal() {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut out = io::stdout().lock();
    let mut write_error = None;
    let json = args.json;
    let summary = contact_csv::import_csv(store, source, &label, &options, actor, |event| {
        let written = match event {
            ImportEvent::Started {
                ignored_columns, ..
            } if !ignored_columns.is_empty() && !json => progress
                .suspend(|| writeln!(out, "ignored columns: {}", ignored_columns.join(", "))),
            ImportEvent::Problem(problem) if json => progress.suspend(|| {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(problem).expect("serialisable")
                )
            }),
            ImportEvent::Problem(problem) => progress.suspend(|| writeln!(out, "{problem}")),
            ImportEvent::Progress { bytes } => {
                progress.set_position(bytes);
                Ok(())
            }
            ImportEvent::Started { .. } => Ok(()),
        };
        if let Err(e) = written {
            write_error.get_or_insert(e);
        }
    })
    .await;
    progress.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e).context("could not write the import report");
    }
    let summary = summary?;
    if json {
        writeln!(out, "{}", json!({ "summary": summary }))?;
    } else {
        writeln!(out, "{summary}")?;
    }
    Ok(if summary.rejected > 0 {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

async fn export(store: &Store, args: ExportArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    match &args.output {
        None => {
            let stdout = BufWriter::new(io::stdout().lock());
            contact_csv::export_csv(store, &filter, stdout, |_| {}).await?;
        }
        Some(path) => {
            // Written beside the target and renamed at the end, so a failed export never
            // leaves a half file that looks complete.
            let partial = path.with_extension("csv.part");
            let file = File::create(&partial)
                .with_context(|| format!("could not create {}", partial.display()))?;
            let total = store.count_contacts(&filter).await?;
            let progress = ProgressBar::new(total.max(0) as u64).with_style(
                ProgressStyle::with_template("exporting [{bar:30}] {pos}/{len}")
                    .expect("valid template"),
            );
            if !io::stderr().is_terminal() {
                progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let result = contact_csv::export_csv(store, &filter, BufWriter::new(file), |n| {
                if n % 1000 == 0 {
                    progress.set_position(n);
                }
            })
            .await;
            progress.finish_and_clear();
            let written = match result {
                Ok(written) => written,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(e.into());
                }
            };
            std::fs::rename(&partial, path)
                .with_context(|| format!("could not write {}", path.display()))?;
            eprintln!("exported {written} contacts to {}", path.display());
        }
    }
    Ok(())
}

/// The recipient shown in previews and test renders.
const PREVIEW_EMAIL: &str = "forhandsvisning@example.org";

async fn issue(store: &Store, settings: &Settings, command: IssueCommand) -> anyhow::Result<()> {
    let context = crate::startup::render_context(settings);
    let load = |slug: String| async move {
        let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
        let stored = store.existing_issue(&slug).await?;
        let parsed = parse_issue(&format!("issue {slug}"), &stored.source)?;
        anyhow::Ok((stored, parsed.issue))
    };
    match command {
        IssueCommand::Import { file } => {
            let source = read_source(&file)?;
            let label = file.display().to_string();
            let parsed = parse_issue(&label, &source)?;
            for note in &parsed.notes {
                eprintln!("{label}:{note}");
            }
            // Render before saving: a draft that cannot be rendered is not stored.
            let rendered = render(&parsed.issue, &context)?;
            let size = rendered.html.literal_len();
            if size > MAX_HTML_BYTES {
                bail!(
                    "the HTML mail would be {} KB, over Gmail's {} KB clipping limit: shorten the issue",
                    size / 1024,
                    MAX_HTML_BYTES / 1024
                );
            }
            let saved = store
                .save_draft(&parsed.issue, &source, &Actor::cli())
                .await?;
            let items: usize = parsed.issue.sections.iter().map(|s| s.items.len()).sum();
            let verb = if saved == DraftSaved::Created {
                "imported"
            } else {
                "updated"
            };
            out!(
                "{verb} draft {} ({} sections, {items} items, {} links, HTML {} KB)",
                parsed.issue.meta.slug,
                parsed.issue.sections.len(),
                parsed.issue.links().len(),
                size.div_ceil(1024)
            );
        }
        IssueCommand::List { json } => {
            let issues = store.list_issues().await?;
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
        IssueCommand::Show { slug } => {
            let (stored, issue) = load(slug).await?;
            out!("slug:      {}", stored.slug);
            out!("status:    {}", stored.status);
            out!("subject:   {}", issue.meta.subject);
            out!("period:    {}", issue.meta.period);
            out!("preheader: {}", issue.meta.preheader);
            out!("updated:   {}", stored.updated_at);
            for section in &issue.sections {
                out!("\n## {}", section.title);
                for item in &section.items {
                    out!("   ### {}", Inline::plain(&item.title));
                }
            }
        }
        IssueCommand::Render { slug, html, text } => {
            if html.is_none() && text.is_none() {
                bail!("say where to write: --html FILE and/or --text FILE");
            }
            let (_, issue) = load(slug).await?;
            let rendered = render(&issue, &context)?;
            let unsubscribe = format!("{}/avmeld/FORHANDSVISNING", context.base_url);
            let personal = Personal {
                email: PREVIEW_EMAIL,
                unsubscribe_url: &unsubscribe,
            };
            for (path, part) in [(html, &rendered.html), (text, &rendered.text)] {
                if let Some(path) = path {
                    std::fs::write(&path, part.fill(&personal))
                        .with_context(|| format!("could not write {}", path.display()))?;
                    out!("wrote {}", path.display());
                }
            }
        }
        IssueCommand::Preview { slug, dir } => {
            let (stored, issue) = load(slug).await?;
            let rendered = render(&issue, &context)?;
            let dir = dir.unwrap_or_else(|| Path::new("preview").join(stored.slug.as_str()));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            let unsubscribe = format!("{}/avmeld/FORHANDSVISNING", context.base_url);
            let personal = Personal {
                email: PREVIEW_EMAIL,
                unsubscribe_url: &unsubscribe,
            };
            let files = [
                ("e-post.html", rendered.html.fill(&personal)),
                ("e-post.txt", rendered.text.fill(&personal)),
                ("nettversjon.html", rendered.web),
            ];
            for (name, content) in files {
                let path = dir.join(name);
                std::fs::write(&path, content)
                    .with_context(|| format!("could not write {}", path.display()))?;
                out!("{}", path.display());
            }
        }
        IssueCommand::TestSend { slug, to } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let to = parse_email(&to)?;
            let dispatcher = crate::startup::dispatcher(store.clone(), settings)?;
            dispatcher.test_send(&slug, &to).await?;
            out!(
                "sent a test copy of {slug} to {to} through {}",
                dispatcher.transport().describe()
            );
        }
        IssueCommand::Send {
            slug,
            follow,
            dry_run,
        } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            if dry_run {
                let n = store.count_unqueued(&slug).await?;
                out!("{n} confirmed contacts would get {slug} (dry run: nothing queued)");
                return Ok(());
            }
            // Checked before anything is queued: no worker could send it without a key.
            settings.token_key()?;
            let queued = store.enqueue_issue(&slug, &Actor::cli()).await?;
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
                follow_send(store, settings, &slug).await?;
            } else {
                out!("a running worker sends it; watch with `nyhetsbrev issue status {slug}`");
            }
        }
        IssueCommand::Status { slug, json } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let stored = store.existing_issue(&slug).await?;
            let counts = store.send_counts(stored.id).await?;
            let problems = store.delivery_problems(stored.id).await?;
            if json {
                let list: Vec<_> = problems
                    .iter()
                    .map(|p| json!({ "email": p.email, "status": p.status, "attempts": p.attempts, "error": p.error }))
                    .collect();
                out!(
                    "{}",
                    json!({ "slug": slug.as_str(), "status": stored.status.as_str(), "total": counts.total,
                        "queued": counts.queued, "retrying": counts.retrying, "sent": counts.sent,
                        "failed": counts.failed, "skipped": counts.skipped, "cancelled": counts.cancelled,
                        "problems": list })
                );
            } else {
                out!("{slug}: {}", stored.status);
                out!("{}", counts_line(&counts));
                for p in &problems {
                    let label = if p.status == "queued" {
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
        IssueCommand::Cancel { slug } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let n = store.cancel_issue(&slug, &Actor::cli()).await?;
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
async fn follow_send(store: &Store, settings: &Settings, slug: &Slug) -> anyhow::Result<()> {
    let issue = store.existing_issue(slug).await?;
    let dispatcher = crate::startup::dispatcher(store.clone(), settings)?.with_settings(|s| {
        s.only_issue = Some(issue.id);
        s.until_done = true;
    });
    let shutdown = shutdown_on_signal();
    let mut worker = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { dispatcher.run(shutdown).await }
    });
    let counts = store.send_counts(issue.id).await?;
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
                let counts = store.send_counts(issue.id).await?;
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
    let counts = store.send_counts(issue.id).await?;
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

/// `nyhetsbrev inbound` on an MTA pipe. Every failure that is not the message's fault
/// (settings, database, relay) is EX_TEMPFAIL, so the MTA keeps the message and retries:
/// nothing is lost. Errors are one line on stderr, which the MTA logs.
async fn inbound_from_stdin(config: Option<&Path>, args: &InboundArgs) -> ExitCode {
    let tempfail = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("error: {what}: {e}; the message was not recorded, try again later");
        ExitCode::from(EX_TEMPFAIL)
    };
    let settings = match Settings::load(config) {
        Ok(settings) => settings,
        Err(e) => return tempfail("bad settings", &e),
    };
    crate::telemetry::init(&settings, false);
    let max = settings.inbound_max_size;
    let mut raw = Vec::new();
    // One byte more than allowed tells "too large" without reading all of a huge input.
    if let Err(e) = io::stdin().take(max as u64 + 1).read_to_end(&mut raw) {
        return tempfail("could not read standard input", &e);
    }
    if raw.len() > max {
        eprintln!("error: the message is larger than {max} bytes (inbound_max_size); refused");
        return ExitCode::from(EX_DATAERR);
    }
    let store = match Store::open(&settings.database_url).await {
        Ok(store) => store,
        Err(e) => return tempfail("could not open the database", &e),
    };
    let inbound = match crate::startup::inbound(store.clone(), &settings) {
        Ok(inbound) => inbound,
        Err(e) => return tempfail("bad settings", &e),
    };
    let envelope = crate::inbound::Envelope {
        sender: args.sender.clone(),
        recipient: args.recipient.clone(),
    };
    let code = match inbound
        .handle(&raw, crate::inbound::Channel::Stdin, &envelope)
        .await
    {
        Ok(handled) => {
            let again = if handled.duplicate {
                " (seen before)"
            } else {
                ""
            };
            let _ = writeln!(
                io::stdout(),
                "inbound #{} {}: {}{again}",
                handled.id,
                handled.kind,
                handled.result
            );
            ExitCode::SUCCESS
        }
        Err(e) if !e.is_temporary() => {
            eprintln!("error: {e}; refused");
            ExitCode::from(EX_DATAERR)
        }
        Err(e) => tempfail("inbound mail", &e),
    };
    store.close().await;
    code
}

async fn inbound(
    store: &Store,
    settings: &Settings,
    command: Option<InboundCommand>,
) -> anyhow::Result<()> {
    match command {
        None => unreachable!("handled by inbound_from_stdin"),
        Some(InboundCommand::List { kind, limit, json }) => {
            let kind = kind.map(|k| {
                k.to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default()
            });
            let entries = store
                .list_inbound(kind.as_deref(), i64::from(limit))
                .await?;
            if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        json!({
                            "id": e.id,
                            "received_at": e.received_at.to_rfc3339(),
                            "channel": e.channel,
                            "size": e.size,
                            "from": e.from_address,
                            "subject": e.subject,
                            "message_id": e.message_id,
                            "kind": e.kind,
                            "result": e.result,
                            "contact_id": e.contact_id,
                            "delivery_id": e.delivery_id,
                        })
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&rows)?);
            } else if entries.is_empty() {
                out!("no inbound messages");
            } else {
                // What a sender wrote reaches a staff member's terminal: escaped.
                for e in &entries {
                    out!(
                        "#{:<6} {}  {:<11} {:<30} {}",
                        e.id,
                        e.received_at.to_rfc3339(),
                        e.kind,
                        terminal_text(e.from_address.as_deref().unwrap_or("-")),
                        terminal_text(e.subject.as_deref().unwrap_or("(no subject)"))
                    );
                    out!("        {}", terminal_text(&e.result));
                }
            }
        }
        Some(InboundCommand::Show { id, raw: as_is }) => {
            let Some((_, raw)) = store.inbound_message(id).await? else {
                bail!("no inbound message #{id}: see `nyhetsbrev inbound list`");
            };
            if as_is || !io::IsTerminal::is_terminal(&io::stdout()) {
                io::stdout().write_all(&raw)?;
            } else {
                let text = String::from_utf8_lossy(&raw);
                let mut out = io::stdout().lock();
                for line in text.split_inclusive('\n') {
                    let (line, end) = match line.strip_suffix("\r\n") {
                        Some(line) => (line, "\n"),
                        None => line
                            .strip_suffix('\n')
                            .map_or((line, ""), |line| (line, "\n")),
                    };
                    write!(out, "{}{end}", terminal_text(line))?;
                }
            }
        }
        Some(InboundCommand::Answer { id }) => {
            let inbound = crate::startup::inbound(store.clone(), settings)?;
            let handled = inbound.answer_forwarded(id, &Actor::cli()).await?;
            out!(
                "inbound #{} {}: {}",
                handled.id,
                handled.kind,
                handled.result
            );
        }
        Some(InboundCommand::Poll { once }) => {
            let Some(mailbox) = crate::startup::imap_mailbox(settings)? else {
                bail!(
                    "no mailbox to read: set imap_url (e.g. imaps://user:password@imap.example.no/INBOX)"
                );
            };
            let inbound = crate::startup::inbound(store.clone(), settings)?;
            if once {
                let report = mailbox.poll_once(&inbound).await?;
                out!(
                    "{}: {} handled, {} refused, {} left for later",
                    mailbox.describe(),
                    report.handled,
                    report.refused,
                    report.deferred
                );
                if report.deferred > 0 {
                    bail!("some messages could not be handled now; they stay in the mailbox");
                }
            } else {
                let interval = std::time::Duration::from_secs_f64(settings.imap_poll_interval);
                mailbox.run(&inbound, interval, shutdown_on_signal()).await;
            }
        }
    }
    Ok(())
}

async fn staff_add(store: &Store, username: &str) -> anyhow::Result<()> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_alphanumeric() || ".-_@".contains(c))
    {
        bail!("a user name is 1–64 letters, digits and . - _ @");
    }
    let mut password = String::new();
    io::stdin()
        .read_line(&mut password)
        .context("could not read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < 12 {
        bail!(
            "the password must be at least 12 characters (read from the first line of standard input)"
        );
    }
    let hash = crate::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    let added = store.set_staff_user(username, &hash, &Actor::cli()).await?;
    if added {
        out!("staff account {username} added");
    } else {
        out!("new password set for {username}");
    }
    Ok(())
}

/// Reads an issue file, refusing what cannot be one before reading it whole.
fn read_source(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not open {}", path.display()))?
        .len();
    if size > MAX_SOURCE_BYTES as u64 {
        bail!(
            "{} is {} KiB: an issue file is at most {} KiB",
            path.display(),
            size / 1024,
            MAX_SOURCE_BYTES / 1024
        );
    }
    let bytes =
        std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (byte {}): save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Text from outside (a sender's subject, a stored result) made safe for a terminal:
/// control characters (escape sequences, carriage returns, C1 codes) and the invisible
/// bidirectional overrides that can disguise text are shown as `\u{1b}` escapes.
fn terminal_text(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && c != '\t') || crate::domain::is_direction_override(c);
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

fn parse_email(input: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(input).with_context(|| format!("{input:?} is not a usable e-mail address"))
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    if !io::stdin().is_terminal() {
        bail!("refusing to remove without confirmation: pass --yes");
    }
    eprint!("{question} [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "j" | "ja"
    ))
}

fn contact_json(contact: &Contact) -> serde_json::Value {
    json!({
        "email": contact.email.as_str(),
        "name": contact.name.as_ref().map(ContactName::as_str),
        "organisation": contact.organisation.as_ref().map(Organisation::as_str),
        "status": contact.status,
        "consent": {
            "source": contact.consent.source,
            "at": contact.consent.at,
            "note": contact.consent.note.as_ref().map(ConsentNote::as_str),
        },
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "confirmed_at": contact.confirmed_at,
        "unsubscribed_at": contact.unsubscribed_at,
        "bounce_count": contact.bounce_count,
    })
}

fn print_table(out: &mut impl Write, contacts: &[Contact]) -> io::Result<()> {
    let width = contacts
        .iter()
        .map(|c| c.email.as_str().chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "{:<width$}  {:<12}  NAME / ORGANISATION",
        "EMAIL", "STATUS"
    )?;
    for c in contacts {
        let who = match (&c.name, &c.organisation) {
            (Some(n), Some(o)) => format!("{n} / {o}"),
            (Some(n), None) => n.to_string(),
            (None, Some(o)) => format!("/ {o}"),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "{:<width$}  {:<12}  {who}",
            c.email.as_str(),
            c.status.as_str()
        )?;
    }
    writeln!(
        out,
        "{} contact{}",
        contacts.len(),
        if contacts.len() == 1 { "" } else { "s" }
    )
}

fn print_contact(out: &mut impl Write, c: &Contact) -> io::Result<()> {
    let optional = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
    writeln!(out, "email:         {}", c.email)?;
    writeln!(out, "status:        {}", c.status)?;
    writeln!(
        out,
        "name:          {}",
        c.name.as_ref().map_or("-", ContactName::as_str)
    )?;
    writeln!(
        out,
        "organisation:  {}",
        c.organisation.as_ref().map_or("-", Organisation::as_str)
    )?;
    writeln!(
        out,
        "consent:       {} at {}",
        c.consent.source, c.consent.at
    )?;
    if let Some(note) = &c.consent.note {
        writeln!(out, "consent note:  {note}")?;
    }
    writeln!(out, "added:         {}", c.created_at)?;
    writeln!(out, "changed:       {}", c.updated_at)?;
    writeln!(out, "confirmed:     {}", optional(c.confirmed_at))?;
    writeln!(out, "unsubscribed:  {}", optional(c.unsubscribed_at))?;
    writeln!(out, "bounces:       {}", c.bounce_count)
}
