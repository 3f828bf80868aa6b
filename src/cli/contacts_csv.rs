//! `nyhetsbrev contacts import` and `export`: CSV files in and out, with progress.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::contacts::{FilterArgs, SourceArg, StatusArg};
use crate::contact_csv::{Encoding, ImportEvent, ImportOptions};
use crate::domain::ConsentNote;
use crate::ops::Contacts;
use crate::store::Actor;

/// Exit code of an import that committed but rejected some rows.
pub const EXIT_ROWS_REJECTED: u8 = 3;

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

pub(super) async fn import(
    ops: &Contacts,
    args: ImportArgs,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
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
    let (source, size, label) = open_source(&args.file)?;
    let progress = progress_bar(size);
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

/// The file to import (or standard input for `-`), its size when known, and the name
/// the audit log gives it.
fn open_source(file: &Path) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>, String)> {
    if file == Path::new("-") {
        return Ok((Box::new(io::stdin()), None, "standard input".into()));
    }
    let opened = File::open(file).with_context(|| format!("could not open {}", file.display()))?;
    let size = opened.metadata().ok().map(|m| m.len());
    let label = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((Box::new(opened), size, label))
}

/// A bar by bytes read when the size is known, else a spinner; drawn only on a terminal
/// (indicatif's own rule), so scripts and CI see nothing of it.
fn progress_bar(size: Option<u64>) -> ProgressBar {
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
    if !io::stderr().is_terminal() {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    progress
}

/// Writes the export; the operation records it in the audit log (who, filter, rows).
pub(super) async fn export(ops: &Contacts, args: ExportArgs, actor: &Actor) -> anyhow::Result<()> {
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
