//! Start-up: builds the running parts (store, transport, signer, mailbox, notice sender,
//! inbound handler, worker, web state) from settings, once each, for `serve`, `worker`,
//! the commands and the tests alike. Settings stay plain data; this is the one module
//! that turns them into objects that talk to the outside.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{ConfigError, Settings};
use crate::dispatch::{DispatchError, DispatchSettings, Dispatcher};
use crate::inbound::imap::ImapMailbox;
use crate::inbound::{Inbound, OwnAddresses};
use crate::mail::{ConfirmationMailer, DkimSigner, Outgoing, Sender, SmtpRelay, Transport};
use crate::notices::{NoticeCaps, Notices};
use crate::render::RenderContext;
use crate::store::{Store, StoreError};
use crate::web::AppState;

/// What the fixed parts of an issue need.
pub fn render_context(settings: &Settings) -> RenderContext {
    RenderContext::new(settings.base_url(), settings.contact_address())
}

/// Who sends, as the settings file says (staff may set their own over it).
pub fn identity(settings: &Settings) -> Result<crate::domain::Identity, ConfigError> {
    Ok(crate::domain::Identity {
        organisation_name: crate::domain::DEFAULT_ORGANISATION_NAME.to_owned(),
        organisation_short_name: crate::domain::DEFAULT_ORGANISATION_SHORT_NAME.to_owned(),
        from_name: settings.from_name.clone(),
        from_address: settings.from_address()?,
        reply_address: crate::domain::EmailAddress::parse(settings.contact_address())
            .map_err(|e| ConfigError::Invalid(format!("contact_address: {e}")))?,
    })
}

/// The service's own addresses, checked.
pub fn own_addresses(settings: &Settings) -> Result<OwnAddresses, ConfigError> {
    let (join, leave) = settings.join_and_leave_addresses()?;
    Ok(OwnAddresses {
        from: settings.from_address()?,
        join,
        leave,
        bounce: settings.bounce_address()?,
        bounce_key: settings.token_key_if_set()?,
        trusted_authserv_id: settings.trusted_authserv_id(),
        list_id: settings.list_id.clone(),
    })
}

/// Who mail is from.
pub fn sender(settings: &Settings) -> Result<Sender, ConfigError> {
    let (_, leave) = settings.join_and_leave_addresses()?;
    Ok(Sender {
        from_address: settings.from_address()?,
        from_name: settings.from_name.clone(),
        list_id: settings.list_id.clone(),
        unsubscribe_mailbox: leave,
        organisation_name: crate::domain::DEFAULT_ORGANISATION_NAME.to_owned(),
        organisation_short_name: crate::domain::DEFAULT_ORGANISATION_SHORT_NAME.to_owned(),
    })
}

/// Where mail goes: the SMTP relay when `smtp_url` is set, else the outbox folder.
pub fn transport(settings: &Settings) -> Result<Transport, ConfigError> {
    let Some(url) = settings.relay()? else {
        return Ok(Transport::Outbox(settings.outbox.clone()));
    };
    let relay = SmtpRelay::new(url, settings.smtp_timeout());
    let relay = match &settings.smtp_ca_file {
        Some(path) => relay.with_ca_file(path).map_err(ConfigError::Invalid)?,
        None => relay,
    };
    Ok(Transport::Smtp(Arc::new(relay)))
}

/// Transport, sender and signer together: what every outgoing mail needs.
pub fn outgoing(settings: &Settings) -> Result<Outgoing, ConfigError> {
    Ok(Outgoing {
        transport: transport(settings)?,
        sender: sender(settings)?,
        dkim: DkimSigner::from_settings(settings)?.map(Arc::new),
    })
}

/// The worker, sending through `outgoing`. Needs `token_key`.
pub fn dispatcher_with(
    store: Store,
    outgoing: Outgoing,
    settings: &Settings,
) -> Result<Dispatcher, ConfigError> {
    Dispatcher::new(
        store,
        outgoing,
        render_context(settings),
        settings.token_key()?,
        &settings.bounce_address()?,
        DispatchSettings::from_settings(settings),
    )
}

/// The worker with its own outgoing parts (`worker`, `issue send --follow`).
pub fn dispatcher(store: Store, settings: &Settings) -> Result<Dispatcher, ConfigError> {
    dispatcher_with(store, outgoing(settings)?, settings)
}

/// The notice sender, mailing through `outgoing`.
pub fn notices_with(store: Store, outgoing: Outgoing, settings: &Settings) -> Notices {
    let mailer = ConfirmationMailer {
        outgoing,
        base_url: settings.base_url().to_owned(),
        valid_days: settings.confirm_valid_days,
    };
    Notices::new(
        store,
        mailer,
        NoticeCaps {
            budgets: notice_budgets(settings),
            hourly_cap: settings.hourly_cap,
            daily_cap: settings.daily_cap,
        },
    )
}

/// The hourly budgets of confirmations and leave links, from settings.
pub fn notice_budgets(settings: &Settings) -> crate::store::NoticeBudgets {
    crate::store::NoticeBudgets {
        web: settings.confirmations_per_hour,
        mail: settings.mail_confirmations_per_hour,
        leave: settings.leave_links_per_hour,
    }
}

pub fn notices(store: Store, settings: &Settings) -> Result<Notices, ConfigError> {
    Ok(notices_with(store, outgoing(settings)?, settings))
}

/// The inbound handler, queueing its answers through `notices`.
pub fn inbound_with(
    store: Store,
    notices: Notices,
    settings: &Settings,
) -> Result<Inbound, ConfigError> {
    Ok(Inbound::new(
        store,
        own_addresses(settings)?,
        notices,
        settings.bounce_threshold,
        settings.inbound_max_size,
    ))
}

pub fn inbound(store: Store, settings: &Settings) -> Result<Inbound, ConfigError> {
    let notices = notices(store.clone(), settings)?;
    inbound_with(store, notices, settings)
}

/// The staff pages' operations: issues, the dashboard (probing the relay `outgoing`
/// uses) and the test-copy sender.
pub fn admin_parts(
    store: Store,
    outgoing: &Outgoing,
    test_sender: Option<Dispatcher>,
    settings: &Settings,
) -> Result<crate::web::AdminParts, ConfigError> {
    let issues = crate::ops::Issues::new(
        store.clone(),
        render_context(settings),
        settings.token_key().map_err(|e| e.to_string()),
    )
    .with_send_approval(settings.send_approval);
    let contacts = crate::ops::Contacts::new(store.clone()).with_key(settings.token_key_if_set()?);
    let inbound = crate::ops::InboundRecord::new(store.clone());
    let audit = crate::ops::AuditLog::new(store.clone());
    let publications = crate::ops::publications::Publications::new(store.clone());
    let imports = crate::ops::imports::ImportJobs::new(contacts.clone(), std::env::temp_dir());
    let staff_settings =
        crate::ops::staff_settings::StaffSettingsOps::new(store.clone(), identity(settings)?);
    let dashboard =
        crate::ops::Dashboard::new(store, outgoing.transport.clone(), test_sender.is_some())
            .with_rules(
                settings.send_approval,
                settings.hourly_cap,
                settings.daily_cap,
            )
            .with_notice_budgets(notice_budgets(settings));
    Ok(crate::web::AdminParts {
        staff_settings,
        operator_settings: settings.operator_settings(),
        issues,
        contacts,
        audit,
        imports,
        inbound,
        dashboard,
        publications,
        links: crate::ops::LinkChecker::new(settings.link_check_allow_private),
        test_sender,
        origin: crate::web::staff::origin_of(settings.base_url()),
        account_mail: outgoing.clone(),
        secure_cookies: settings.base_url().starts_with("https://"),
        require_totp: settings.staff_require_totp,
        controller: crate::ops::DataController::from_settings(settings),
    })
}

/// How often `serve` deletes staff sessions that ran out.
const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Everything `serve` runs: the web state, and beside it the notice sender, the worker
/// (when `token_key` is set) and the mailbox poller (when `imap_url` is set), all
/// sharing one store and one set of outgoing parts.
pub struct Service {
    pub state: AppState,
    pub worker: Option<Dispatcher>,
    pub mailbox: Option<(ImapMailbox, Duration)>,
    pub backups: Option<crate::ops::backup::BackupSchedule>,
    pub retention: crate::ops::Retention,
    pub metrics: crate::ops::metrics::Metrics,
    /// Where `GET /metrics` is served (`metrics_bind`), bound by the caller.
    pub metrics_listener: Option<tokio::net::TcpListener>,
}

/// How often `serve` applies the retention rules.
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The retention rules from settings.
pub fn retention(store: Store, settings: &Settings) -> crate::ops::Retention {
    crate::ops::Retention::new(
        store,
        crate::ops::RetentionRules {
            inbound_days: settings.inbound_retention_days,
            pending_days: settings.pending_retention_days,
        },
    )
}

impl Service {
    pub fn build(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let outgoing = outgoing(settings)?;
        let notices = notices_with(store.clone(), outgoing.clone(), settings);
        let inbound = inbound_with(store.clone(), notices.clone(), settings)?;
        // Without token_key the pages run and nothing is sent (`issue send` refuses to
        // queue an issue, with how to make a key).
        let worker = match settings.token_key() {
            Ok(_) => Some(dispatcher_with(store.clone(), outgoing.clone(), settings)?),
            Err(e) => {
                tracing::warn!("no delivery worker: {e}");
                None
            }
        };
        let admin = admin_parts(store.clone(), &outgoing, worker.clone(), settings)?;
        let state = AppState::new(
            store.clone(),
            render_context(settings),
            notices,
            inbound,
            admin,
            settings,
        )?;
        let mailbox = ImapMailbox::from_settings(settings)?.map(|mailbox| {
            (
                mailbox,
                Duration::from_secs_f64(settings.imap_poll_interval),
            )
        });
        let backups = match (&settings.backup_dir, settings.backup_every_hours) {
            (Some(dir), Some(hours)) => Some(crate::ops::backup::BackupSchedule {
                backups: crate::ops::Backups::new(store.clone(), settings.database_url.clone()),
                dir: dir.clone(),
                every: Duration::from_secs(u64::from(hours) * 3600),
                keep: settings.backup_keep,
            }),
            _ => None,
        };
        let metrics = crate::ops::metrics::Metrics::new(
            store.clone(),
            settings
                .relay()?
                .is_some()
                .then(|| state.admin.dashboard.clone()),
            crate::ops::metrics::Caps {
                hourly: settings.hourly_cap,
                daily: settings.daily_cap,
                rate: settings.send_rate,
            },
        );
        Ok(Self {
            metrics,
            metrics_listener: None,
            retention: retention(store.clone(), settings),
            state,
            worker,
            mailbox,
            backups,
        })
    }

    /// Runs every part until `shutdown` turns true, then waits for each to finish what
    /// it has in flight.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServeError> {
        // Second-factor secrets written in clear by an earlier version, or sealed with
        // a key that has since been replaced, are sealed with the current key. A store
        // opened by `startup::store` has had this done already; one opened otherwise
        // (the tests' app opens its own) has not.
        if let Err(e) = self.state.staff.seal_stored_secrets().await {
            tracing::warn!(error = %e, "could not seal the stored second-factor secrets");
        }
        let worker = self.worker.map(|dispatcher| {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { dispatcher.run(shutdown).await })
        });
        let mailbox = self.mailbox.map(|(mailbox, interval)| {
            let inbound = self.state.inbound.handler().clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { mailbox.run(&inbound, interval, shutdown).await })
        });
        let notices = tokio::spawn({
            let notices = self.state.notices.clone();
            let shutdown = shutdown.clone();
            async move { notices.run(shutdown).await }
        });
        // Sessions that ran out are deleted when next used; the rest are swept here.
        let sweeper = tokio::spawn({
            let sessions = self.state.sessions.clone();
            let mut shutdown = shutdown.clone();
            async move {
                loop {
                    if let Err(e) = sessions.sweep().await {
                        tracing::warn!(error = %e, "could not sweep ended staff sessions");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(SESSION_SWEEP_EVERY) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
            }
        });
        let backups = self.backups.map(|schedule| {
            let shutdown = shutdown.clone();
            tokio::spawn(schedule.run(shutdown))
        });
        let retention = tokio::spawn(self.retention.run_every(RETENTION_EVERY, shutdown.clone()));
        let metrics = self.metrics_listener.map(|listener| {
            let router = crate::web::metrics_router(self.metrics);
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(error = %e, "the metrics server stopped");
                }
            })
        });
        crate::web::serve(listener, self.state, shutdown).await?;
        retention.await?;
        if let Some(metrics) = metrics {
            metrics.await?;
        }
        if let Some(backups) = backups {
            backups.await?;
        }
        notices.await?;
        sweeper.await?;
        if let Some(worker) = worker {
            worker.await??;
        }
        if let Some(mailbox) = mailbox {
            mailbox.await?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the web server stopped: {0}")]
    Http(std::io::Error),
    #[error("the delivery worker stopped: {0}")]
    Worker(DispatchError),
    #[error("a background task failed: {0}")]
    Task(tokio::task::JoinError),
}

/// Whether a command may make the key file or only read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFile {
    /// Every command that works on the data: the first one makes the key, as it makes
    /// the SQLite file.
    ReadOrMake,
    /// A process that must not leave files behind (the MTA's pipe runs as the mail
    /// system's user; a key made there would be unreadable to the service).
    ReadOnly,
}

impl KeyFile {
    /// On SQLite every command may make the key: it lives beside the database, which
    /// is on this machine. On PostgreSQL only `serve` does: a worker or a command on
    /// another machine (or in another folder) that made its own key would sign mail
    /// that the service cannot check; it reads the file, or refuses to send.
    pub fn for_command(settings: &Settings, serve: bool) -> Self {
        if serve || settings.database_url.sqlite_path().is_some() {
            Self::ReadOrMake
        } else {
            Self::ReadOnly
        }
    }
}

/// `settings` with `token_key` from its file (`Settings::token_key_path`) when the
/// settings give none, the file made first when `may` allows and there is none. A key
/// that cannot be read or made leaves `token_key` unset: the service runs without
/// sending, the commands that need a key refuse as before, and this says why (on
/// stderr and in the log), once.
pub fn with_token_key(mut settings: Settings, may: KeyFile) -> Settings {
    if settings.token_key.is_some() {
        return settings;
    }
    let path = settings.token_key_path();
    let kept = match may {
        KeyFile::ReadOrMake => crate::ops::token_key_file::read_or_make(&path).map(Some),
        KeyFile::ReadOnly => crate::ops::token_key_file::read(&path).map(|secret| {
            secret.map(|secret| crate::ops::token_key_file::KeptKey {
                secret,
                made: false,
            })
        }),
    };
    match kept {
        Ok(Some(kept)) => {
            if kept.made {
                tracing::info!(file = %path.display(), "made a new token key");
                say(&format!(
                    "made a new token key in {} (keep it with the database: links in mail are signed with it)",
                    path.display()
                ));
            }
            settings.token_key = Some(kept.secret);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!("no token key: {e}");
            say(&format!("warning: {e}"));
        }
    }
    settings
}

/// A line on stderr for whoever started the process; a closed stderr (a pipe whose
/// reader left) must not stop it, as `eprintln!` would.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Opens the database (bringing its schema up to date). With `token_key` set, the
/// second-factor secrets an earlier version stored in clear, or sealed with a key since
/// replaced, are sealed with the current key at once. Every command that works on the
/// database opens it here, save `restore` (which replaces it) and `doctor` (which only
/// reads), so none (a `backup` above all) finds them in clear after an upgrade.
pub async fn store(settings: &Settings) -> Result<Store, StoreError> {
    let store = Store::open(&settings.database_url).await?;
    if let Ok(Some(key)) = settings.token_key_if_set() {
        crate::ops::Staff::new(store.clone())
            .with_key(Some(key))
            .seal_stored_secrets()
            .await?;
    }
    Ok(store)
}

/// A flag that turns true on SIGINT or SIGTERM. The sender lives as long as the process,
/// so receivers never see it closed.
pub fn shutdown_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        tracing::info!("shutting down: finishing what is in flight");
        let _ = tx.send(true);
        // Keep the sender alive: a closed channel would read as a change forever.
        std::future::pending::<()>().await;
    });
    rx
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(std::io::Error => ServeError::Http);
crate::from_cause!(DispatchError => ServeError::Worker);
crate::from_cause!(tokio::task::JoinError => ServeError::Task);
