//! `nyhetsbrev staff api-token`: the admin API's credentials, one per integration.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::domain::ApiScope;
use crate::ops::ApiTokens;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Make a token for an integration and print its secret: it is shown this once and
    /// cannot be read again (only its hash is stored).
    Add {
        /// 1–64 letters, digits, spaces and . - _ (the audit log names what the
        /// token's holder does by it).
        name: String,
        /// What the token may do: `inbound` (post raw mail to /admin/api/inbound).
        #[arg(long, default_value = "inbound", value_parser = parse_scope)]
        scope: ApiScope,
    },
    /// List the tokens, revoked ones too (never a secret).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once and for good (its name stays in the list and the log).
    Revoke { name: String },
}

fn parse_scope(word: &str) -> Result<ApiScope, String> {
    ApiScope::parse(word).ok_or_else(|| {
        let known: Vec<&str> = ApiScope::ALL.iter().map(|s| s.as_str()).collect();
        format!("the scopes are: {}", known.join(", "))
    })
}

pub(super) async fn run(store: &Store, command: ApiTokenCommand) -> anyhow::Result<ExitCode> {
    let tokens = ApiTokens::new(store.clone());
    let actor = super::actor();
    match command {
        ApiTokenCommand::Add { name, scope } => {
            let made = tokens.add(&name, scope, &actor).await?;
            out!(
                "API token {} made (scope {}). Its secret, shown this once only:",
                made.name,
                made.scope
            );
            out!("{}", made.secret.expose());
            out!(
                "Send it as `Authorization: Bearer <secret>`. A lost secret cannot be read again: revoke the token and make a new one."
            );
        }
        ApiTokenCommand::List { json } => {
            let list = tokens.list().await?;
            let time = |t: Option<crate::domain::Timestamp>| t.map(|t| t.to_rfc3339());
            if json {
                let list: Vec<_> = list
                    .iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "scope": t.scope.as_str(),
                            "created_at": t.created_at.to_rfc3339(),
                            "created_by": t.created_by,
                            "last_used_at": time(t.last_used_at),
                            "revoked_at": time(t.revoked_at),
                            "revoked_by": t.revoked_by,
                        })
                    })
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            } else {
                for t in list {
                    let state = match (&t.revoked_at, &t.revoked_by) {
                        (Some(at), by) => format!(
                            "revoked {} by {}",
                            at.to_rfc3339(),
                            super::terminal_text(by.as_deref().unwrap_or("?"))
                        ),
                        (None, _) => "active".to_owned(),
                    };
                    out!(
                        "{:<32} {:<8} made {} by {}  last used {}  {}",
                        t.name,
                        t.scope.as_str(),
                        t.created_at.to_rfc3339(),
                        super::terminal_text(&t.created_by),
                        time(t.last_used_at).unwrap_or_else(|| "never".to_owned()),
                        state
                    );
                }
            }
        }
        ApiTokenCommand::Revoke { name } => {
            tokens.revoke(&name, &actor).await?;
            out!(
                "API token {} revoked: it opens nothing from now on",
                name.trim()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
