//! `backup FILE`, `restore FILE` and `retention`: keeping the data, and keeping it no
//! longer than needed.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::ops::backup::{self, Backups, megabytes};
use crate::store::Store;

/// A spinner with the time taken, on a terminal only: a copy of a large database takes
/// a while and tells nothing of its progress.
fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
    );
    bar.set_message(message);
    if io::stderr().is_terminal() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

pub(super) async fn backup(
    store: &Store,
    settings: &Settings,
    target: &Path,
) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(store.clone(), settings.database_url.clone());
    let bar = spinner("copying and checking the database");
    let made = backups.make(target, &super::actor()).await;
    bar.finish_and_clear();
    let made = made?;
    out!(
        "backup written to {} ({}) in {:.1} s and checked: integrity ok, schema {}",
        made.path.display(),
        megabytes(made.bytes),
        made.took.as_secs_f64(),
        made.contents.schema.version().unwrap_or(0)
    );
    out!("it holds {}", made.contents.counts.describe());
    out!("{}", key_reminder(settings));
    Ok(ExitCode::SUCCESS)
}

/// A backup holds no key (a copy of the key beside every backup would put the secret
/// wherever backups go): where the key is, and why it must be kept apart.
fn key_reminder(settings: &Settings) -> String {
    use secrecy::ExposeSecret;
    let path = settings.token_key_path();
    let in_file = matches!(
        (crate::ops::token_key_file::read(&path), &settings.token_key),
        (Ok(Some(file)), Some(used)) if file.expose_secret() == used.expose_secret()
    );
    let key = if in_file {
        format!("the token key file {}", path.display())
    } else {
        "the token_key setting".to_owned()
    };
    format!(
        "the backup does not hold the token key: keep a copy of {key} safe, apart from the \
         backups; a restore needs it (leave links in mail already sent and second factors \
         are signed or sealed with it)"
    )
}

/// Runs without opening the database the usual way: that would mark it in use (and
/// migrate it) before the restore could check that nothing else uses it.
pub(super) async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let bar = spinner("checking the backup and putting it in place");
    let restored = backup::restore(&settings.database_url, file, &super::actor()).await;
    bar.finish_and_clear();
    let restored = restored?;
    out!(
        "restored {} into {}: {}",
        file.display(),
        settings.database_url,
        restored.contents.counts.describe()
    );
    if restored.migrated > 0 {
        out!(
            "the backup's schema was brought up to date ({} migrations)",
            restored.migrated
        );
    }
    let key_file = settings.token_key_path();
    if settings.token_key.is_none() && !key_file.exists() {
        out!(
            "there is no token key at {}: put the key kept with this backup there before the \
             next start (otherwise a new one is made, and leave links in mail already sent \
             and second factors stop working)",
            key_file.display()
        );
    }
    if let Some(replaced) = &restored.replaced {
        out!(
            "the database it replaced is kept as {} (remove it once you are sure)",
            replaced.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn retention(store: &Store, settings: &Settings) -> anyhow::Result<ExitCode> {
    let retention = crate::startup::retention(store.clone(), settings);
    let rules = retention.rules();
    let run = retention
        .run(crate::domain::Timestamp::now(), &super::actor())
        .await?;
    out!(
        "removed the bytes of {} inbound messages older than {} days (what was done with them is kept)",
        run.inbound_emptied,
        rules.inbound_days
    );
    out!(
        "removed {} contacts who did not confirm within {} days",
        run.unconfirmed_removed,
        rules.pending_days
    );
    Ok(ExitCode::SUCCESS)
}
