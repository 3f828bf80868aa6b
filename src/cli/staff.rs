//! `nyhetsbrev staff`: staff accounts.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::ops::{AccountSaved, Staff, StaffError};
use crate::store::{Actor, Store};

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// List the accounts: name, when made, whether disabled, open sessions.
    List,
    /// Add a staff account, or set a new password for one. The password is read from
    /// the first line of standard input (at least 12 characters). The first account
    /// ever made is an administrator.
    Add {
        username: String,
        /// Make the account an administrator: it adds, disables and changes other
        /// accounts in the web admin (also for an existing account).
        #[arg(long)]
        admin: bool,
        /// Where to tell the owner when someone else changes their password or second
        /// factor (a user name that is an address is used without it).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// Set a new password for an existing account (read from the first line of
    /// standard input); its sessions end.
    Passwd { username: String },
    /// Disable an account: it cannot sign in, and its sessions end at once.
    Disable { username: String },
    /// Let a disabled account sign in again.
    Enable { username: String },
    /// API tokens: the admin API's credentials, one per integration.
    #[command(subcommand)]
    ApiToken(super::api_tokens::ApiTokenCommand),
}

fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    io::stdin()
        .read_line(&mut password)
        .context("could not read the password from standard input")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

fn with_stdin_hint(e: StaffError) -> anyhow::Error {
    match e {
        StaffError::ShortPassword => {
            anyhow::anyhow!("{e} (read from the first line of standard input)")
        }
        other => other.into(),
    }
}

pub(super) async fn run(store: &Store, command: StaffCommand) -> anyhow::Result<ExitCode> {
    let staff = Staff::new(store.clone());
    let actor = super::actor();
    match command {
        StaffCommand::List => print_accounts(&staff).await?,
        StaffCommand::Add {
            username,
            admin,
            email,
        } => add(&staff, &username, admin, email.as_deref(), &actor).await?,
        StaffCommand::Passwd { username } => {
            let password = read_password()?;
            staff
                .set_password(username.trim(), &password, &actor)
                .await
                .map_err(with_stdin_hint)?;
            out!(
                "new password set for {}; its sessions ended",
                username.trim()
            );
        }
        StaffCommand::Disable { username } => {
            // The command line is nobody's own account.
            if staff.disable(username.trim(), "", &actor).await? {
                out!("{} disabled; its sessions ended", username.trim());
            } else {
                out!("{} was disabled already", username.trim());
            }
        }
        StaffCommand::ApiToken(command) => return super::api_tokens::run(store, command).await,
        StaffCommand::Enable { username } => {
            if staff.enable(username.trim(), &actor).await? {
                out!("{} can sign in again", username.trim());
            } else {
                out!("{} was not disabled", username.trim());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_accounts(staff: &Staff) -> anyhow::Result<()> {
    for account in staff.accounts().await? {
        let state = match account.disabled_at {
            Some(at) => format!("disabled {}", at.to_rfc3339()),
            None => "active".to_owned(),
        };
        out!(
            "{:<32} added {}  {}  {} session(s){}",
            account.username.escape_debug(),
            account.created_at.to_rfc3339(),
            state,
            account.sessions,
            if account.is_admin {
                "  administrator"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Adds an account, or sets a new password for one that exists.
async fn add(
    staff: &Staff,
    username: &str,
    admin: bool,
    email: Option<&str>,
    actor: &Actor,
) -> anyhow::Result<()> {
    let password = read_password()?;
    let saved = staff
        .set_account_from_shell(username, &password, admin, email, actor)
        .await
        .map_err(with_stdin_hint)?;
    let username = username.trim();
    let is_admin = staff.is_admin(username).await?;
    match saved {
        AccountSaved::Added if is_admin => out!(
            "staff account {username} added as an administrator (it manages accounts in the web admin)"
        ),
        AccountSaved::Added => out!("staff account {username} added"),
        AccountSaved::PasswordChanged if admin => {
            out!("new password set for {username}, now an administrator")
        }
        AccountSaved::PasswordChanged => out!("new password set for {username}"),
    }
    Ok(())
}
