//! `nyhetsbrev contacts`: add, list, show, edit, remove, import and export contacts.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{confirm, parse_email};
use crate::contact_csv::{Encoding, ImportEvent, ImportOptions};
use crate::domain::{
    Consent, ConsentNote, ConsentSource, Contact, ContactChanges, ContactName, ContactStatus,
    NewContact, Organisation, Timestamp,
};
use crate::ops::{ContactError, Contacts};
use crate::store::{Actor, ContactFilter, Store};

/// Exit code of an import that committed but rejected some rows.
pub const EXIT_ROWS_REJECTED: u8 = 3;

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
    /// optional status, consent_date, consent_source, consent_note, publications: slugs
    /// separated by commas, empty for all).
    ///
    /// The whole file is one transaction: if the import is interrupted, nothing of it is
    /// kept and it can simply be run again. Exit code 3 means the import was committed
    /// but some rows were rejected (each is listed with its line number).
    Import(ImportArgs),
    /// Export contacts as CSV (any filter of `list`).
    Export(ExportArgs),
    /// Everything held about one person (GDPR article 15) as JSON: contact, consent
    /// and its evidence, deliveries, mails that answered requests, mail from the
    /// address, the log of what staff did. Written to the audit log.
    ExportPerson(ExportPersonArgs),
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
    /// The publications the person asked for, by slug, comma-separated (default: all;
    /// `nyhetsbrev publications list` shows them).
    #[arg(long, value_name = "SLUGS")]
    pub publications: Option<String>,
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
    /// Only contacts who get this publication (its slug).
    #[arg(long, value_name = "SLUG")]
    pub publication: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> anyhow::Result<ContactFilter> {
        Ok(ContactFilter {
            status: self.status.map(Into::into),
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
            publication: self
                .publication
                .as_deref()
                .map(crate::domain::PublicationSlug::parse)
                .transpose()?,
        })
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
pub struct ExportPersonArgs {
    pub email: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<std::path::PathBuf>,
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

pub(super) async fn run(
    store: &Store,
    settings: &crate::config::Settings,
    command: ContactsCommand,
) -> anyhow::Result<ExitCode> {
    let actor = super::actor();
    let ops = Contacts::new(store.clone()).with_key(settings.token_key_if_set()?);
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
                publications: crate::domain::PublicationChoice::parse_list(
                    args.publications.as_deref().unwrap_or_default(),
                )?,
            };
            let added = ops.add(&new, &actor).await?;
            if let Some(erased) = added.erased_on {
                eprintln!(
                    "warning: {} was erased at the person's request on {}: keep it only if they asked to be added again",
                    added.contact.email,
                    erased.to_rfc3339().get(..10).unwrap_or_default()
                );
            }
            let contact = added.contact;
            if args.json {
                out!("{}", contact_json(&contact));
            } else {
                out!("added {} ({})", contact.email, contact.status);
            }
        }
        ContactsCommand::List(args) => {
            let contacts = ops.list(&args.filter.filter()?, args.limit).await?;
            let mut out = io::stdout().lock();
            if args.json {
                let list: Vec<_> = contacts.iter().map(contact_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                print_table(&mut out, &contacts)?;
            }
        }
        ContactsCommand::Show(args) => {
            let contact = ops.get(&parse_email(&args.email)?).await?;
            let subscriptions = ops.subscriptions(contact.id).await?;
            if args.json {
                let mut value = contact_json(&contact);
                value["publications"] = subscriptions
                    .iter()
                    .map(|s| {
                        json!({
                            "publication": s.publication.as_str(),
                            "name": s.name.as_str(),
                            "consent": {
                                "source": s.consent.source,
                                "at": s.consent.at,
                                "note": s.consent.note.as_ref().map(ConsentNote::as_str),
                            },
                            "left_at": s.left_at,
                        })
                    })
                    .collect();
                out!("{value}");
            } else {
                let mut out = io::stdout().lock();
                print_contact(&mut out, &contact)?;
                print_subscriptions(&mut out, &subscriptions)?;
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
            let contact = ops
                .edit(&parse_email(&args.email)?, &changes, &actor)
                .await
                .map_err(|e| match e {
                    ContactError::NothingToChange => anyhow::anyhow!(
                        "nothing to change: give --email, --name, --organisation, --status or --consent-note"
                    ),
                    other => other.into(),
                })?;
            if args.json {
                out!("{}", contact_json(&contact));
            } else {
                out!("updated {} ({})", contact.email, contact.status);
            }
        }
        ContactsCommand::Remove(args) => {
            let email = parse_email(&args.email)?;
            let contact = ops.get(&email).await?;
            if !args.yes
                && !confirm(&format!(
                    "Erase {} and all its history for good?",
                    contact.email
                ))?
            {
                eprintln!("nothing removed");
                return Ok(ExitCode::FAILURE);
            }
            ops.remove(&email, &actor).await?;
            out!("removed {}", contact.email);
        }
        ContactsCommand::Import(args) => return import(&ops, args, &actor).await,
        ContactsCommand::Export(args) => export(&ops, args, &actor).await?,
        ContactsCommand::ExportPerson(args) => {
            let email = parse_email(&args.email)?;
            let data = ops
                .personal_data_of(&email, crate::ops::PersonalDataFormat::Json, &actor)
                .await?;
            let json = serde_json::to_string_pretty(&data)?;
            match args.output {
                Some(path) => {
                    std::fs::write(&path, json.as_bytes())
                        .with_context(|| format!("could not write {}", path.display()))?;
                    eprintln!("wrote everything held about {email} to {}", path.display());
                }
                None => out!("{json}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(ops: &Contacts, args: ImportArgs, actor: &Actor) -> anyhow::Result<ExitCode> {
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
        // The operation adds token_key, so erased addresses are recognised.
        erased_key: None,
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
    let summary = ops
        .import(source, &label, &options, actor, |event| {
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

/// Writes the export; the operation records it in the audit log (who, filter, rows).
async fn export(ops: &Contacts, args: ExportArgs, actor: &Actor) -> anyhow::Result<()> {
    let filter = args.filter.filter()?;
    match &args.output {
        None => {
            let stdout = BufWriter::new(io::stdout().lock());
            ops.export(&filter, stdout, |_| {}, actor).await?;
        }
        Some(path) => {
            // Written beside the target and renamed at the end, so a failed export never
            // leaves a half file that looks complete.
            let partial = path.with_extension("csv.part");
            let file = File::create(&partial)
                .with_context(|| format!("could not create {}", partial.display()))?;
            let total = ops.count(&filter).await?;
            let progress = ProgressBar::new(total.max(0) as u64).with_style(
                ProgressStyle::with_template("exporting [{bar:30}] {pos}/{len}")
                    .expect("valid template"),
            );
            if !io::stderr().is_terminal() {
                progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let result = ops
                .export(
                    &filter,
                    BufWriter::new(file),
                    |n| {
                        if n % 1000 == 0 {
                            progress.set_position(n);
                        }
                    },
                    actor,
                )
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

fn print_subscriptions(
    out: &mut impl Write,
    subscriptions: &[crate::domain::Subscription],
) -> io::Result<()> {
    if subscriptions.is_empty() {
        return writeln!(out, "publications:  none");
    }
    writeln!(out, "publications:")?;
    for s in subscriptions {
        let state = match s.left_at {
            Some(at) => format!("left {at}"),
            None => "subscribed".to_owned(),
        };
        writeln!(
            out,
            "  {:<22} {:<26} {} at {}",
            s.publication.as_str(),
            state,
            s.consent.source,
            s.consent.at
        )?;
    }
    Ok(())
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
