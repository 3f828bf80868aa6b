//! The command line: `nyhetsbrev <noun> <verb>`. Output goes to stdout, errors to stderr
//! as one line saying what to do; the exit code is 0 only on success.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::domain::EmailAddress;
use crate::store::Actor;

/// `println!` that returns an error instead of panicking when stdout is closed (as in
/// `nyhetsbrev contacts list | head`); `main` ends quietly on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(io::stdout(), $($arg)*)?
    };
}

mod api_tokens;
mod backup;
mod contacts;
mod contacts_csv;
mod doctor;
mod inbound;
mod issue;
mod publications;
mod service;
mod staff;

pub use contacts::ContactsCommand;
pub use contacts_csv::EXIT_ROWS_REJECTED;
pub use inbound::{EX_DATAERR, EX_TEMPFAIL, InboundArgs, InboundCommand};
pub use issue::IssueCommand;
pub use publications::PublicationsCommand;
pub use staff::StaffCommand;

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
    /// The publications the list gets (newsletter, court decisions, status report).
    #[command(subcommand)]
    Publications(PublicationsCommand),
    /// Read inbound mail. Without a subcommand: handle one raw message from standard
    /// input (for an MTA pipe); exit 0 when handled or ignored, 75 (EX_TEMPFAIL) when it
    /// could not be recorded so the MTA retries, 65 (EX_DATAERR) when refused.
    Inbound(InboundArgs),
    /// Staff accounts for the web admin, and the admin API's tokens.
    ///
    /// A new installation makes its first account in the browser (/admin), with the
    /// set-up code `serve` prints; `staff add` is for scripts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Print a fresh random secret for the token_key setting (sending needs one).
    NewTokenKey,
    /// Write a checked copy of the database to FILE, while the service runs and sends
    /// (SQLite: a new database file; PostgreSQL: a pg_dump in the custom format).
    Backup {
        /// The new file (never overwritten).
        file: PathBuf,
    },
    /// Apply the retention rules now (serve does it every six hours): remove the bytes
    /// of inbound mail older than inbound_retention_days and the contacts who never
    /// confirmed within pending_retention_days.
    Retention,
    /// Check the installation without sending anything: settings, database, relay,
    /// IMAP mailbox, DKIM key (and the DNS records to publish), base_url, folders. Exits
    /// 1 if any check failed.
    Doctor,
    /// Put a backup in place of the database, once checked. SQLite: only while no
    /// service uses the file, which is kept beside it. PostgreSQL: into an empty database.
    Restore {
        /// A file made by `nyhetsbrev backup`.
        file: PathBuf,
    },
}

impl Cli {
    /// How many threads the async runtime gets: one for a process that only sends
    /// (`worker`, `issue send --follow`), the machine's cores (tokio's default) for the
    /// rest. A send's async work (the SMTP dialogues, assembling each message, claiming
    /// and recording) is about 100 µs of CPU a message, so one thread carries thousands
    /// a second; a second thread added only wake-ups between the two (measured on two
    /// cores: 195–246 µs of CPU a message with two threads, 179–184 µs with one, at the
    /// same rate). DKIM signing has its own pool, one signature per core.
    pub fn runtime_threads(&self) -> Option<usize> {
        match &self.command {
            Command::Worker | Command::Issue(IssueCommand::Send { follow: true, .. }) => Some(1),
            _ => None,
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Inbound(args) = &cli.command
        && args.command.is_none()
    {
        return Ok(inbound::from_stdin(cli.config.as_deref(), args).await);
    }
    if let Command::NewTokenKey = cli.command {
        out!("{}", crate::domain::TokenKey::generate_secret());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Doctor = cli.command {
        return doctor::run(cli.config.as_deref()).await;
    }
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(
        &settings,
        matches!(cli.command, Command::Serve | Command::Worker),
    );
    if let Command::Restore { file } = &cli.command {
        return backup::restore(&settings, file).await;
    }
    let may =
        crate::startup::KeyFile::for_command(&settings, matches!(cli.command, Command::Serve));
    let settings = crate::startup::with_token_key(settings, may);
    tracing::debug!(?settings, "settings loaded");
    let store = crate::startup::store(&settings)
        .await
        .with_context(|| format!("could not open the database {}", settings.database_url))?;
    let code = match cli.command {
        Command::Migrate => {
            out!("database {} is up to date", settings.database_url);
            ExitCode::SUCCESS
        }
        Command::Serve => service::serve(&store, &settings).await?,
        Command::Worker => service::worker(&store, &settings).await?,
        Command::Contacts(command) => contacts::run(&store, &settings, command).await?,
        Command::Issue(command) => issue::run(&store, &settings, command).await?,
        Command::Publications(command) => publications::run(&store, command).await?,
        Command::Inbound(args) => inbound::run(&store, &settings, args.command).await?,
        Command::Staff(command) => staff::run(&store, command).await?,
        Command::Backup { file } => backup::backup(&store, &settings, &file).await?,
        Command::Retention => backup::retention(&store, &settings).await?,
        Command::NewTokenKey | Command::Doctor | Command::Restore { .. } => {
            unreachable!("answered before the database is opened")
        }
    };
    store.close().await;
    Ok(code)
}

/// Who the audit log says did it: the operating-system user running the command.
fn actor() -> Actor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Actor::command_line(&user)
}

/// Text from outside (a sender's subject, a stored result) made safe for a terminal:
/// control characters (escape sequences, carriage returns, C1 codes) and the invisible
/// bidirectional overrides that can disguise text are shown as `\u{1b}` escapes.
pub(crate) fn terminal_text(text: &str) -> std::borrow::Cow<'_, str> {
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

pub(crate) fn parse_email(input: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(input).with_context(|| format!("{input:?} is not a usable e-mail address"))
}

pub(crate) fn confirm(question: &str) -> anyhow::Result<bool> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn threads(args: &[&str]) -> Option<usize> {
        let cli = Cli::try_parse_from(std::iter::once("nyhetsbrev").chain(args.iter().copied()))
            .expect("a valid command line");
        cli.runtime_threads()
    }

    #[test]
    fn only_the_processes_that_send_run_on_one_thread() {
        assert_eq!(threads(&["worker"]), Some(1));
        assert_eq!(threads(&["issue", "send", "2024-q1", "--follow"]), Some(1));
        assert_eq!(threads(&["issue", "send", "2024-q1"]), None);
        assert_eq!(threads(&["serve"]), None);
        assert_eq!(threads(&["contacts", "list"]), None);
    }
}
