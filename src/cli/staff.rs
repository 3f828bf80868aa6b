//! `nyhetsbrev staff`: staff accounts.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::ops::{AccountSaved, Staff, StaffError};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff account, or set a new password for one. The password is read from
    /// the first line of standard input (at least 12 characters).
    Add { username: String },
}

pub(super) async fn run(store: &Store, command: StaffCommand) -> anyhow::Result<ExitCode> {
    let StaffCommand::Add { username } = command;
    let mut password = String::new();
    io::stdin()
        .read_line(&mut password)
        .context("could not read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let saved = Staff::new(store.clone())
        .set_account(&username, password, &super::actor())
        .await
        .map_err(|e| match e {
            StaffError::ShortPassword => {
                anyhow::anyhow!("{e} (read from the first line of standard input)")
            }
            other => other.into(),
        })?;
    let username = username.trim();
    match saved {
        AccountSaved::Added => out!("staff account {username} added"),
        AccountSaved::PasswordChanged => out!("new password set for {username}"),
    }
    Ok(ExitCode::SUCCESS)
}
