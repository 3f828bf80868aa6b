//! `nyhetsbrev contacts`: add, list, show, edit, remove, import and export contacts.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::contacts_csv::{self, ExportArgs, ImportArgs};
use super::{confirm, parse_email};
use crate::domain::{
    Consent, ConsentNote, ConsentSource, Contact, ContactChanges, ContactName, ContactStatus,
    NewContact, Organisation, Timestamp,
};
use crate::ops::{ContactError, ContactField, Contacts};
use crate::store::{Actor, ContactFilter, Store};

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

/// The consent sources a staff member records ([`ConsentSource::RECORDED_BY_STAFF`]),
/// the only ones `add` and `edit` offer.
fn staff_source() -> impl clap::builder::TypedValueParser<Value = ConsentSource> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(
        ConsentSource::RECORDED_BY_STAFF.map(ConsentSource::as_str),
    )
    .map(|word| {
        word.parse::<ConsentSource>()
            .expect("a source of the list parses")
    })
}

/// A refusal in one line, each naming the option it concerns (`option` says which
/// option a field is; the address is the argument itself and needs no name).
fn refused(e: ContactError, option: fn(ContactField) -> Option<&'static str>) -> anyhow::Error {
    let ContactError::Refused(refusals) = e else {
        return e.into();
    };
    let words: Vec<String> = refusals
        .iter()
        .map(|r| match r.field().and_then(option) {
            Some(option) => format!("{r} ({option})"),
            None => r.to_string(),
        })
        .collect();
    anyhow::anyhow!("{}", words.join("; "))
}

fn add_option(field: ContactField) -> Option<&'static str> {
    match field {
        ContactField::ConsentSource => Some("--source"),
        ContactField::ConsentDate => Some("--consent-date"),
        ContactField::ConsentNote => Some("--note"),
        ContactField::Email => None,
    }
}

fn edit_option(field: ContactField) -> Option<&'static str> {
    match field {
        ContactField::ConsentSource => Some("--consent-source"),
        ContactField::ConsentNote => Some("--consent-note"),
        ContactField::Email | ContactField::ConsentDate => None,
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
    /// How the person asked to join: by e-mail, or another way (staff: a call, a
    /// meeting). A sign-up on the web and an import are the service's own records.
    #[arg(long, value_parser = staff_source(), default_value = "staff")]
    pub source: ConsentSource,
    /// Required: how and when the person asked, e.g. "e-post 12.03.2025 fra
    /// kari@example.no" (consent must be documented).
    #[arg(long)]
    pub note: Option<String>,
    /// When consent was given (2025-03-12 or 12.03.2025), not in the future; default now.
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
    pub(super) fn filter(&self) -> anyhow::Result<ContactFilter> {
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
    /// Source of the new consent: email-request or staff.
    #[arg(
        long,
        value_parser = staff_source(),
        default_value = "staff",
        requires = "consent_note"
    )]
    pub consent_source: ConsentSource,
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

pub(super) async fn run(
    store: &Store,
    settings: &crate::config::Settings,
    command: ContactsCommand,
) -> anyhow::Result<ExitCode> {
    let actor = super::actor();
    let ops = Contacts::new(store.clone()).with_key(settings.token_key_if_set()?);
    match command {
        ContactsCommand::Add(args) => add(&ops, args, &actor).await?,
        ContactsCommand::List(args) => list(&ops, args).await?,
        ContactsCommand::Show(args) => show(&ops, args).await?,
        ContactsCommand::Edit(args) => edit(&ops, args, &actor).await?,
        ContactsCommand::Remove(args) => return remove(&ops, args, &actor).await,
        ContactsCommand::Import(args) => return contacts_csv::import(&ops, args, &actor).await,
        ContactsCommand::Export(args) => contacts_csv::export(&ops, args, &actor).await?,
        ContactsCommand::ExportPerson(args) => {
            // Named as staff have named the organisation in the admin.
            let controller = crate::ops::staff_settings::StaffSettingsOps::new(
                store.clone(),
                crate::startup::identity(settings)?,
            )
            .controller(&crate::ops::DataController::from_settings(settings))
            .await?;
            export_person(&ops, args, &controller, &actor).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn add(ops: &Contacts, args: AddArgs, actor: &Actor) -> anyhow::Result<()> {
    let consent_at = match &args.consent_date {
        Some(date) => Timestamp::parse_date(date)?,
        None => Timestamp::now(),
    };
    let new = NewContact {
        email: parse_email(&args.email)?,
        name: ContactName::parse(args.name.as_deref().unwrap_or_default())?,
        organisation: Organisation::parse(args.organisation.as_deref().unwrap_or_default())?,
        status: args.status.into(),
        consent: Consent {
            source: args.source,
            at: consent_at,
            note: ConsentNote::parse(args.note.as_deref().unwrap_or_default())?,
        },
        publications: crate::domain::PublicationChoice::parse_list(
            args.publications.as_deref().unwrap_or_default(),
        )?,
    };
    let added = ops
        .add(&new, actor)
        .await
        .map_err(|e| refused(e, add_option))?;
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
    Ok(())
}

async fn list(ops: &Contacts, args: ListArgs) -> anyhow::Result<()> {
    let contacts = ops.list(&args.filter.filter()?, args.limit).await?;
    let mut out = io::stdout().lock();
    if args.json {
        let list: Vec<_> = contacts.iter().map(contact_json).collect();
        writeln!(out, "{}", serde_json::Value::Array(list))?;
    } else {
        print_table(&mut out, &contacts)?;
    }
    Ok(())
}

async fn show(ops: &Contacts, args: ShowArgs) -> anyhow::Result<()> {
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
    Ok(())
}

async fn edit(ops: &Contacts, args: EditArgs, actor: &Actor) -> anyhow::Result<()> {
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
                source: args.consent_source,
                at: Timestamp::now(),
                // An empty note is the operation's to refuse, as everywhere.
                note: ConsentNote::parse(note)?,
            }),
            None => None,
        },
    };
    let contact = ops
        .edit(&parse_email(&args.email)?, &changes, actor)
        .await
        .map_err(|e| match e {
            ContactError::NothingToChange => anyhow::anyhow!(
                "nothing to change: give --email, --name, --organisation, --status or --consent-note"
            ),
            other => refused(other, edit_option),
        })?;
    if args.json {
        out!("{}", contact_json(&contact));
    } else {
        out!("updated {} ({})", contact.email, contact.status);
    }
    Ok(())
}

async fn remove(ops: &Contacts, args: RemoveArgs, actor: &Actor) -> anyhow::Result<ExitCode> {
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
    ops.remove(&email, actor).await?;
    out!("removed {}", contact.email);
    Ok(ExitCode::SUCCESS)
}

async fn export_person(
    ops: &Contacts,
    args: ExportPersonArgs,
    controller: &crate::ops::DataController,
    actor: &Actor,
) -> anyhow::Result<()> {
    let email = parse_email(&args.email)?;
    let data = ops.personal_data_of(&email, controller, actor).await?;
    let json = serde_json::to_string_pretty(&data)?;
    match args.output {
        Some(path) => {
            std::fs::write(&path, json.as_bytes())
                .with_context(|| format!("could not write {}", path.display()))?;
            eprintln!("wrote everything held about {email} to {}", path.display());
        }
        None => out!("{json}"),
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
