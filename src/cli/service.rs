//! The service commands: `serve` and `worker`.

use std::process::ExitCode;

use anyhow::Context;

use crate::config::Settings;
use crate::startup::{Service, shutdown_on_signal};
use crate::store::Store;

/// The web service with its worker, notice sender and mailbox poller, until SIGTERM.
pub(super) async fn serve(store: &Store, settings: &Settings) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| {
            format!(
                "could not listen on {} (set bind to a free address:port)",
                settings.bind
            )
        })?;
    eprintln!("nyhetsbrev listening on http://{}", listener.local_addr()?);
    let mut service = Service::build(store.clone(), settings)?;
    if let Some(address) = settings.metrics_bind {
        let metrics = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| {
                format!(
                    "could not listen on metrics_bind {address} (set it to a free address:port)"
                )
            })?;
        eprintln!("metrics on http://{}/metrics", metrics.local_addr()?);
        service.metrics_listener = Some(metrics);
    }
    if let Err(e) = settings.token_key() {
        eprintln!("not sending issues: {e}");
    }
    first_account_code(&service, settings).await;
    service.run(listener, shutdown_on_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// While no staff account exists: the one-time code that makes the first one, on the
/// terminal and in the log (only whoever started the service sees either).
async fn first_account_code(service: &Service, settings: &Settings) {
    use std::io::Write;
    match service.state.staff.first_account_code().await {
        Ok(Some(code)) => {
            let page = format!("{}/admin", settings.base_url());
            let _ = writeln!(
                std::io::stderr(),
                "no staff account yet: open {page} and make the first one (an administrator) \
                 with the set-up code {code}\n(it works once; `nyhetsbrev doctor` shows it again)"
            );
            tracing::warn!(set_up_code = %code, %page, "no staff account yet: the set-up code makes the first one");
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "could not make the set-up code for the first account")
        }
    }
}

/// A delivery worker alone, until SIGTERM.
pub(super) async fn worker(store: &Store, settings: &Settings) -> anyhow::Result<ExitCode> {
    let dispatcher = crate::startup::dispatcher(store.clone(), settings)?;
    eprintln!(
        "nyhetsbrev worker sending through {}",
        dispatcher.transport().describe()
    );
    let report = dispatcher.run(shutdown_on_signal()).await?;
    eprintln!(
        "worker stopped: {} sent, {} failed, {} to retry, {} skipped",
        report.sent, report.failed, report.retried, report.skipped
    );
    Ok(ExitCode::SUCCESS)
}
