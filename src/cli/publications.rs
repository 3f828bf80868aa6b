//! `nyhetsbrev publications`: what the contact list gets besides the newsletter.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::ops::publications::{PublicationEdit, PublicationInput, Publications};
use crate::store::{PublicationCount, Store};

#[derive(Debug, Subcommand)]
pub enum PublicationsCommand {
    /// List the publications: slug, kind, confirmed subscribers, name.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Add a publication. Nobody is subscribed to it until they choose it.
    Add(AddArgs),
    /// Change a publication's name, description or kind (its slug stays: mailed
    /// List-Ids and archive links carry it).
    Edit(EditArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Short name: lower-case letters a–z, digits and dashes, e.g. rettsavgjorelser.
    slug: String,
    /// The name shown as the masthead, e.g. "Oversikt over rettsavgjørelser".
    #[arg(long)]
    name: String,
    /// newsletter (sections with a table of contents) or announcement (a short mail
    /// with one prominent link).
    #[arg(long)]
    kind: String,
    /// One line shown to subscribers beside the checkbox.
    #[arg(long)]
    description: String,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    slug: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    description: Option<String>,
}

pub(super) async fn run(store: &Store, command: PublicationsCommand) -> anyhow::Result<ExitCode> {
    let publications = Publications::new(store.clone());
    let actor = super::actor();
    match command {
        PublicationsCommand::List { json } => print_list(&publications.list().await?, json)?,
        PublicationsCommand::Add(args) => {
            let added = publications
                .add(
                    &PublicationInput {
                        slug: args.slug,
                        name: args.name,
                        description: args.description,
                        kind: args.kind,
                    },
                    &actor,
                )
                .await?;
            out!(
                "publication {} added ({}): nobody gets it until they choose it",
                added.slug,
                added.kind
            );
        }
        PublicationsCommand::Edit(args) => {
            let changed = publications
                .edit(
                    &args.slug,
                    &PublicationEdit {
                        name: args.name,
                        description: args.description,
                        kind: args.kind,
                    },
                    &actor,
                )
                .await?;
            out!(
                "publication {} changed: {} ({})",
                changed.slug,
                changed.name.as_str(),
                changed.kind
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(list: &[PublicationCount], json: bool) -> io::Result<()> {
    if json {
        let list: Vec<_> = list
            .iter()
            .map(|line| {
                let p = &line.publication;
                json!({
                    "slug": p.slug.as_str(),
                    "name": p.name.as_str(),
                    "description": p.description.as_str(),
                    "kind": p.kind.as_str(),
                    "subscribers": line.subscribers,
                })
            })
            .collect();
        out!("{}", serde_json::Value::Array(list));
    } else {
        for line in list {
            let p = &line.publication;
            out!(
                "{:<24} {:<12} {:>8} subscribers  {}",
                p.slug.as_str(),
                p.kind.as_str(),
                line.subscribers,
                p.name.as_str()
            );
        }
    }
    Ok(())
}
