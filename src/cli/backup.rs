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
    Ok(ExitCode::SUCCESS)
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
