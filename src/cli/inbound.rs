//! `nyhetsbrev inbound`: handle a raw message from an MTA pipe, list and read handled
//! messages, answer a forwarded request, read the mailbox.

use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::terminal_text;
use crate::config::Settings;
use crate::domain::{InboundId, InboundKind};
use crate::ops::{InboundMail, InboundOpsError, InboundRecord};
use crate::startup::shutdown_on_signal;
use crate::store::{InboundEntry, Store};

/// sysexits(3): the input was refused for good (the MTA returns it to the sender).
pub const EX_DATAERR: u8 = 65;
/// sysexits(3): try again later (the MTA keeps the message and retries).
pub const EX_TEMPFAIL: u8 = 75;

/// How long `inbound` waits for the database before it asks the MTA to retry.
const DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

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
        kind: Option<KindArg>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Print one handled message as it arrived (raw RFC 5322). On a terminal, control
    /// characters and escape sequences are shown as \x1b-style escapes instead of
    /// being run by the terminal; piped, or with --raw, it is byte for byte.
    Show {
        id: InboundId,
        #[arg(long)]
        raw: bool,
    },
    /// Answer a request to join that was kept for staff (forwarded, or from an
    /// unverified sender): mail the confirmation link to the address it names (they
    /// still have to use it).
    Answer { id: InboundId },
    /// Read the mailbox set by imap_url: once, or every imap_poll_interval seconds until
    /// SIGTERM or Ctrl-C.
    Poll {
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
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

/// `nyhetsbrev inbound` on an MTA pipe. Every failure that is not the message's fault
/// (settings, database, relay) is EX_TEMPFAIL, so the MTA keeps the message and retries:
/// nothing is lost. Errors are one line on stderr, which the MTA logs.
pub(super) async fn from_stdin(config: Option<&Path>, args: &InboundArgs) -> ExitCode {
    let tempfail = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("error: {what}: {e}; the message was not recorded, try again later");
        ExitCode::from(EX_TEMPFAIL)
    };
    let settings = match Settings::load(config) {
        Ok(settings) => settings,
        Err(e) => return tempfail("bad settings", &e),
    };
    crate::telemetry::init(&settings, false);
    let settings = crate::startup::with_token_key(settings, crate::startup::KeyFile::ReadOnly);
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
    // The MTA holds its delivery while we wait: a database that does not answer is
    // given up on soon, and the MTA retries later.
    let store = match tokio::time::timeout(DATABASE_WAIT, crate::startup::store(&settings)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => return tempfail("could not open the database", &e),
        Err(_) => {
            return tempfail(
                "could not open the database",
                &format!("no answer in {} s", DATABASE_WAIT.as_secs()),
            );
        }
    };
    let mail = match mail_ops(&store, &settings) {
        Ok(mail) => mail,
        Err(e) => return tempfail("bad settings", &e),
    };
    let envelope = crate::inbound::Envelope {
        sender: args.sender.clone(),
        recipient: args.recipient.clone(),
    };
    let code = match mail
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

impl From<KindArg> for InboundKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Subscribe => InboundKind::Subscribe,
            KindArg::Unsubscribe => InboundKind::Unsubscribe,
            KindArg::Bounce => InboundKind::Bounce,
            KindArg::Automatic => InboundKind::Automatic,
            KindArg::Loop => InboundKind::Loop,
            KindArg::Other => InboundKind::Other,
            KindArg::Unreadable => InboundKind::Unreadable,
            KindArg::Forged => InboundKind::Forged,
        }
    }
}

fn mail_ops(store: &Store, settings: &Settings) -> anyhow::Result<InboundMail> {
    Ok(InboundMail::new(crate::startup::inbound(
        store.clone(),
        settings,
    )?))
}

/// `NotFound` with where to look.
fn with_hint(e: InboundOpsError) -> anyhow::Error {
    match e {
        InboundOpsError::NotFound(id) => {
            anyhow::anyhow!("no inbound message #{id}: see `nyhetsbrev inbound list`")
        }
        other => other.into(),
    }
}

pub(super) async fn run(
    store: &Store,
    settings: &Settings,
    command: Option<InboundCommand>,
) -> anyhow::Result<ExitCode> {
    match command {
        None => unreachable!("handled by from_stdin"),
        Some(InboundCommand::List { kind, limit, json }) => {
            let entries = InboundRecord::new(store.clone())
                .list(kind.map(Into::into), limit)
                .await?;
            print_list(&entries, json)?;
        }
        Some(InboundCommand::Show { id, raw: as_is }) => {
            let (_, raw) = InboundRecord::new(store.clone())
                .raw(id)
                .await
                .map_err(with_hint)?;
            print_raw(&raw, as_is)?;
        }
        Some(InboundCommand::Answer { id }) => {
            let handled = mail_ops(store, settings)?
                .answer_held(id, &super::actor())
                .await
                .map_err(|e| match e {
                    InboundOpsError::NotFound(id) => anyhow::anyhow!(
                        "there is no inbound message {id}; see `nyhetsbrev inbound list`"
                    ),
                    other => other.into(),
                })?;
            out!(
                "inbound #{} {}: {}",
                handled.id,
                handled.kind,
                handled.result
            );
        }
        Some(InboundCommand::Poll { once }) => {
            let Some(mailbox) = crate::inbound::imap::ImapMailbox::from_settings(settings)? else {
                bail!(
                    "no mailbox to read: set imap_url (e.g. imaps://user:password@imap.example.no/INBOX)"
                );
            };
            let mail = mail_ops(store, settings)?;
            if once {
                let report = mail.poll_once(&mailbox).await?;
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
                mailbox
                    .run(mail.handler(), interval, shutdown_on_signal())
                    .await;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(entries: &[InboundEntry], json: bool) -> anyhow::Result<()> {
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
        for e in entries {
            out!(
                "#{:<6} {}  {:<11} {:<30} {}",
                e.id,
                e.received_at.to_rfc3339(),
                e.kind.as_str(),
                terminal_text(e.from_address.as_deref().unwrap_or("-")),
                terminal_text(e.subject.as_deref().unwrap_or("(no subject)"))
            );
            out!("        {}", terminal_text(&e.result));
        }
    }
    Ok(())
}

/// On a terminal, control characters are shown as escapes; piped or with `--raw`, the
/// message goes out byte for byte.
fn print_raw(raw: &[u8], as_is: bool) -> anyhow::Result<()> {
    if as_is || !io::stdout().is_terminal() {
        io::stdout().write_all(raw)?;
        return Ok(());
    }
    let text = String::from_utf8_lossy(raw);
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
    Ok(())
}
