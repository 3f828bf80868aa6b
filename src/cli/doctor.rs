//! `nyhetsbrev doctor`: one line per check, with the fix beside each problem, then the
//! DNS records to publish.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::ops::doctor::{self, Status};

pub async fn run(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let spinner = io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner().with_message("checking…");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let report = doctor::examine(config).await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    match &report.settings_file {
        Some(path) => out!("settings: {}", path.display()),
        None => out!("settings: no file; defaults and NYHETSBREV_* variables"),
    }
    let width = report
        .findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(0);
    for finding in &report.findings {
        let status = match finding.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "--  ",
        };
        let detail = super::terminal_text(&finding.detail);
        match &finding.fix {
            Some(fix) => out!("{status}  {:width$}  {detail} -> fix: {fix}", finding.check),
            None => out!("{status}  {:width$}  {detail}", finding.check),
        }
    }
    if !report.dns.is_empty() {
        out!("");
        out!("DNS records for the sending domain (publish or compare):");
        for record in &report.dns {
            out!("  {}  {}  \"{}\"", record.name, record.kind, record.value);
            out!("      {}", record.note);
        }
        if report.dns.iter().any(|r| r.value.len() > 255) {
            out!(
                "  (in a zone file, split a value longer than 255 characters into several quoted strings)"
            );
        }
    }
    out!("");
    let failed = report.failed();
    let warned = report.count(Status::Warn);
    out!(
        "{} checks: {} failed, {} warnings",
        report.findings.len(),
        failed,
        warned
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
