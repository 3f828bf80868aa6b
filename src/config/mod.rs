//! Settings: built-in defaults, then a TOML file, then `NYHETSBREV_*` environment
//! variables (which win). One flat key per setting, the same name in both places.

mod load;
mod problems;
mod relay;
mod sources;
mod values;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::EmailAddress;
pub use relay::{RelayUrl, TlsMode, percent_decode};
pub use sources::{OperatorSetting, SettingSource};
pub use values::{DatabaseUrl, LogFormat};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "nyhetsbrev.toml";
pub const ENV_PREFIX: &str = "NYHETSBREV_";
/// The key file's name when no SQLite database names it (PostgreSQL): in the working
/// folder.
pub const DEFAULT_TOKEN_KEY_FILE: &str = "nyhetsbrev.token_key";

/// Every key a settings file or the environment may set. Unknown keys in a file are an
/// error (a typo must not silently fall back to a default); other `NYHETSBREV_*`
/// variables, such as the test suite's, are ignored.
pub const KEYS: &[&str] = &[
    "database_url",
    "bind",
    "base_url",
    "outbox",
    "smtp_url",
    "from_address",
    "list_id",
    "send_rate",
    "daily_cap",
    "token_key",
    "token_key_previous",
    "token_key_file",
    "dkim_selector",
    "dkim_key_file",
    "dkim_ed25519_selector",
    "dkim_ed25519_key_file",
    "log_format",
    "contact_address",
    "from_name",
    "confirm_valid_days",
    "subscribe_limit_per_hour",
    "smtp_connections",
    "smtp_timeout",
    "hourly_cap",
    "bounce_address",
    "max_attempts",
    "retry_delay",
    "bounce_threshold",
    "lease_time",
    "join_address",
    "leave_address",
    "inbound_max_size",
    "imap_url",
    "imap_processed_folder",
    "imap_poll_interval",
    "imap_ca_file",
    "confirmations_per_hour",
    "mail_confirmations_per_hour",
    "leave_links_per_hour",
    "trusted_authserv_id",
    "trusted_proxies",
    "http_header_timeout",
    "http_body_timeout",
    "http_max_connections",
    "smtp_ca_file",
    "session_idle_minutes",
    "link_check_allow_private",
    "send_approval",
    "schedule_grace_minutes",
    "staff_require_totp",
    "backup_dir",
    "backup_every_hours",
    "backup_keep",
    "inbound_retention_days",
    "pending_retention_days",
    "metrics_bind",
];

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://FILE` (created if missing) or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// Address and port of the web server.
    pub bind: SocketAddr,
    /// Public URL used in every mailed link.
    pub base_url: String,
    /// Folder of `.eml` files: the transport when no SMTP relay is set.
    pub outbox: PathBuf,
    /// SMTP relay, e.g. `smtp://user:pass@relay:587?tls=starttls`. Secret: holds a password.
    pub smtp_url: Option<SecretString>,
    pub from_address: String,
    pub list_id: String,
    /// Messages per second; unset means unlimited (fine for the outbox).
    pub send_rate: Option<f64>,
    pub daily_cap: Option<u64>,
    /// Key for signing tokens. Secret.
    pub token_key: Option<SecretString>,
    /// The key `token_key` replaced: leave links and bounce addresses it signed are still
    /// honoured while it is set. Secret.
    pub token_key_previous: Option<SecretString>,
    /// Where the key is kept when `token_key` is not set: made there (mode 0600) by the
    /// first start that needs it, read from there after. Default: beside the SQLite
    /// database (`nyhetsbrev.db` → `nyhetsbrev.token_key`); on PostgreSQL
    /// `nyhetsbrev.token_key` in the working folder.
    pub token_key_file: Option<PathBuf>,
    pub dkim_selector: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
    /// A second DKIM signature, Ed25519-SHA256 (RFC 8463), beside the RSA one: a key in
    /// PEM (`openssl genpkey -algorithm ed25519`).
    pub dkim_ed25519_key_file: Option<PathBuf>,
    /// Its selector; default `<dkim_selector>-ed25519`.
    pub dkim_ed25519_selector: Option<String>,
    /// `text` (default) or `json` logs on stderr.
    pub log_format: LogFormat,
    /// Where readers write with questions ("Kontakt oss" in every issue); default
    /// `from_address`.
    pub contact_address: Option<String>,
    /// The `From` display name.
    pub from_name: String,
    /// How long a confirmation link works.
    pub confirm_valid_days: u32,
    /// Subscription requests accepted per client address per hour (bursts of up to 10).
    pub subscribe_limit_per_hour: u32,
    /// Connections to the relay a sending process keeps open at once.
    pub smtp_connections: u32,
    /// Seconds one connect, command or message may take before it counts as failed.
    pub smtp_timeout: f64,
    /// At most this many messages in any 60 minutes (all processes together).
    pub hourly_cap: Option<u64>,
    /// Bounce address (`MAIL FROM`, `Return-Path`); each delivery gets its own
    /// `local+d<id>@domain` variant so a bounce names the delivery. Default `from_address`.
    pub bounce_address: Option<String>,
    /// Tries per delivery before a temporary failure becomes final.
    pub max_attempts: u32,
    /// Seconds before the first retry; doubled for each further try (with jitter).
    pub retry_delay: f64,
    /// Hard bounces after which a contact counts as bounced and gets no more mail.
    pub bounce_threshold: u32,
    /// Seconds a worker holds the deliveries it claimed; a crashed worker's are taken
    /// over after this.
    pub lease_time: f64,
    /// Mail to this address is a request to join. Default `<from local part>-join@<domain>`.
    pub join_address: Option<String>,
    /// Mail to this address is a request to leave; it is the mailto of
    /// `List-Unsubscribe`. Default `<from local part>-leave@<domain>`.
    pub leave_address: Option<String>,
    /// Inbound messages larger than this many bytes are refused.
    pub inbound_max_size: usize,
    /// Mailbox to read requests and bounces from, e.g.
    /// `imaps://user:pass@imap.example.no/INBOX` or `imap://…?tls=starttls`. Secret.
    pub imap_url: Option<SecretString>,
    /// Where handled mail is moved (never deleted); empty: flag it instead.
    pub imap_processed_folder: String,
    /// Seconds between polls of the mailbox.
    pub imap_poll_interval: f64,
    /// PEM certificates to trust for the IMAP server besides the public roots.
    pub imap_ca_file: Option<PathBuf>,
    /// Confirmation mails for sign-ups on the web form at most in any hour, to all
    /// addresses together: a flood of requests for many addresses cannot make the
    /// service a mail cannon. More wait in the queue for the next hour; none is lost.
    pub confirmations_per_hour: u32,
    /// The same for confirmations of requests to join by mail (verified senders, and
    /// held requests staff answer): their own budget, so a flood of mail cannot hold
    /// back the web form's confirmations.
    pub mail_confirmations_per_hour: u32,
    /// The same for leave links mailed for unverified requests to leave by mail.
    pub leave_links_per_hour: u32,
    /// The authserv-id your receiving mail server writes in `Authentication-Results`
    /// (e.g. `mx.kom.example.no`): a request to leave by mail that this server shows to
    /// pass DMARC, or an aligned DKIM, takes effect at once; any other gets a mail with
    /// a leave link. A request to join by mail is answered with a confirmation only
    /// when the server shows the same; any other is kept for staff to answer. Unset:
    /// every request to leave by mail gets the link, and every request to join by mail
    /// waits for staff.
    pub trusted_authserv_id: Option<String>,
    /// Reverse proxies in front of the service (addresses or blocks such as
    /// `10.0.0.0/8`): only from these is `X-Forwarded-For` believed for per-client
    /// limits. In the environment: comma-separated.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client may take to send a request's headers; then the connection is
    /// closed (a half-sent request must not hold a connection open).
    pub http_header_timeout: f64,
    /// Seconds a client may take to send a request's body.
    pub http_body_timeout: f64,
    /// Connections the web server keeps at once; more are closed at once.
    pub http_max_connections: u32,
    /// PEM certificates to trust for the SMTP relay besides the public roots.
    pub smtp_ca_file: Option<PathBuf>,
    /// Minutes a staff member's web admin session lasts without use (at most 12 hours
    /// in any case).
    pub session_idle_minutes: u32,
    /// Whether the link check may fetch loopback, private and link-local addresses
    /// (off: the check must not become a way to probe the internal network).
    pub link_check_allow_private: bool,
    /// Whether a send starts only once a second staff account approved it.
    pub send_approval: bool,
    /// Whether every staff account must sign in with a second factor (TOTP): one
    /// without sets it up at its next sign-in.
    pub staff_require_totp: bool,
    /// A planned send found later than this many minutes is not started but shown to
    /// staff.
    pub schedule_grace_minutes: u32,
    /// Folder where `serve` writes its own backups (`nyhetsbrev-DATE.db`, or `.pgdump`
    /// on PostgreSQL).
    pub backup_dir: Option<PathBuf>,
    /// Hours between the backups `serve` makes; unset: none (make them with
    /// `nyhetsbrev backup FILE` from cron or a timer instead).
    pub backup_every_hours: Option<u32>,
    /// How many of its own backups `serve` keeps in `backup_dir`; older ones are removed.
    pub backup_keep: u32,
    /// Days the bytes of an inbound message are kept; after that only what it was taken
    /// for and what was done with it stay.
    pub inbound_retention_days: u32,
    /// Days a contact who never confirmed stays on the list as pending.
    pub pending_retention_days: u32,
    /// Address and port of `GET /metrics` (Prometheus); unset: no metrics. Its own
    /// address, so that it is never public by accident.
    pub metrics_bind: Option<SocketAddr>,
    /// The file these settings were read from, if any (not a setting).
    #[serde(skip)]
    pub loaded_from: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::new("sqlite://nyhetsbrev.db"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: "http://127.0.0.1:8080".into(),
            outbox: PathBuf::from("outbox"),
            loaded_from: None,
            smtp_url: None,
            from_address: "nyhetsbrev@example.org".into(),
            list_id: "nyhetsbrev.example.org".into(),
            send_rate: None,
            daily_cap: None,
            token_key: None,
            token_key_previous: None,
            token_key_file: None,
            dkim_selector: None,
            dkim_key_file: None,
            dkim_ed25519_key_file: None,
            dkim_ed25519_selector: None,
            log_format: LogFormat::Text,
            contact_address: None,
            from_name: "KOM".into(),
            confirm_valid_days: 7,
            subscribe_limit_per_hour: 30,
            smtp_connections: 4,
            smtp_timeout: 60.0,
            hourly_cap: None,
            bounce_address: None,
            max_attempts: 8,
            retry_delay: 60.0,
            bounce_threshold: 3,
            lease_time: 300.0,
            join_address: None,
            leave_address: None,
            inbound_max_size: 25 * 1024 * 1024,
            imap_url: None,
            imap_processed_folder: "Behandlet".into(),
            imap_poll_interval: 60.0,
            imap_ca_file: None,
            confirmations_per_hour: 200,
            mail_confirmations_per_hour: 50,
            leave_links_per_hour: 50,
            trusted_authserv_id: None,
            trusted_proxies: Vec::new(),
            http_header_timeout: 10.0,
            http_body_timeout: 30.0,
            http_max_connections: 512,
            smtp_ca_file: None,
            session_idle_minutes: 60,
            link_check_allow_private: false,
            send_approval: false,
            staff_require_totp: false,
            schedule_grace_minutes: 60,
            backup_dir: None,
            backup_every_hours: None,
            backup_keep: 14,
            inbound_retention_days: 90,
            pending_retention_days: 30,
            metrics_bind: None,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out rather than derived so that a secret added later cannot slip into
        // logs by default: SecretString prints as [REDACTED].
        f.debug_struct("Settings")
            .field("database_url", &self.database_url)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("outbox", &self.outbox)
            .field("loaded_from", &self.loaded_from)
            .field("smtp_url", &self.smtp_url)
            .field("from_address", &self.from_address)
            .field("list_id", &self.list_id)
            .field("send_rate", &self.send_rate)
            .field("daily_cap", &self.daily_cap)
            .field("token_key", &self.token_key)
            .field("token_key_previous", &self.token_key_previous)
            .field("token_key_file", &self.token_key_file)
            .field("dkim_selector", &self.dkim_selector)
            .field("dkim_key_file", &self.dkim_key_file)
            .field("dkim_ed25519_key_file", &self.dkim_ed25519_key_file)
            .field("dkim_ed25519_selector", &self.dkim_ed25519_selector)
            .field("log_format", &self.log_format)
            .field("contact_address", &self.contact_address)
            .field("from_name", &self.from_name)
            .field("confirm_valid_days", &self.confirm_valid_days)
            .field("subscribe_limit_per_hour", &self.subscribe_limit_per_hour)
            .field("smtp_connections", &self.smtp_connections)
            .field("smtp_timeout", &self.smtp_timeout)
            .field("hourly_cap", &self.hourly_cap)
            .field("bounce_address", &self.bounce_address)
            .field("max_attempts", &self.max_attempts)
            .field("retry_delay", &self.retry_delay)
            .field("bounce_threshold", &self.bounce_threshold)
            .field("lease_time", &self.lease_time)
            .field("join_address", &self.join_address)
            .field("leave_address", &self.leave_address)
            .field("inbound_max_size", &self.inbound_max_size)
            .field("imap_url", &self.imap_url)
            .field("imap_processed_folder", &self.imap_processed_folder)
            .field("imap_poll_interval", &self.imap_poll_interval)
            .field("imap_ca_file", &self.imap_ca_file)
            .field("confirmations_per_hour", &self.confirmations_per_hour)
            .field(
                "mail_confirmations_per_hour",
                &self.mail_confirmations_per_hour,
            )
            .field("leave_links_per_hour", &self.leave_links_per_hour)
            .field("trusted_authserv_id", &self.trusted_authserv_id)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_body_timeout", &self.http_body_timeout)
            .field("http_max_connections", &self.http_max_connections)
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("link_check_allow_private", &self.link_check_allow_private)
            .field("send_approval", &self.send_approval)
            .field("staff_require_totp", &self.staff_require_totp)
            .field("schedule_grace_minutes", &self.schedule_grace_minutes)
            .field("backup_dir", &self.backup_dir)
            .field("backup_every_hours", &self.backup_every_hours)
            .field("backup_keep", &self.backup_keep)
            .field("inbound_retention_days", &self.inbound_retention_days)
            .field("pending_retention_days", &self.pending_retention_days)
            .field("metrics_bind", &self.metrics_bind)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("settings file {0} does not exist: check --config")]
    Missing(PathBuf),
    #[error("bad settings: {0}")]
    Invalid(String),
}

impl Settings {
    /// `base_url` without a trailing slash: links are written as `{base}/path`.
    pub fn base_url(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// Where readers write with questions: `contact_address`, else `from_address`.
    pub fn contact_address(&self) -> &str {
        self.contact_address
            .as_deref()
            .unwrap_or(&self.from_address)
    }

    /// `from_address`, checked: a bad one is a start-up error, not a failure at the
    /// first subscription.
    pub fn from_address(&self) -> Result<EmailAddress, ConfigError> {
        parse_address("from_address", &self.from_address)
    }

    /// The join and leave addresses: set, or `-join` and `-leave` variants of
    /// `from_address`.
    pub fn join_and_leave_addresses(&self) -> Result<(EmailAddress, EmailAddress), ConfigError> {
        let from = self.from_address()?;
        let variant = |suffix: &str| {
            let (local, domain) = from
                .as_str()
                .rsplit_once('@')
                .unwrap_or((from.as_str(), ""));
            format!("{local}-{suffix}@{domain}")
        };
        let join = match &self.join_address {
            Some(raw) => parse_address("join_address", raw)?,
            None => parse_address("from_address", &variant("join"))?,
        };
        let leave = match &self.leave_address {
            Some(raw) => parse_address("leave_address", raw)?,
            None => parse_address("from_address", &variant("leave"))?,
        };
        Ok((join, leave))
    }

    /// `trusted_authserv_id`, trimmed; `None` when unset or blank.
    pub fn trusted_authserv_id(&self) -> Option<String> {
        self.trusted_authserv_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }

    /// The relay `smtp_url` names; `None`: mail goes to the outbox folder.
    pub fn relay(&self) -> Result<Option<RelayUrl>, ConfigError> {
        self.smtp_url
            .as_ref()
            .map(|url| RelayUrl::parse(url.expose_secret()).map_err(ConfigError::Invalid))
            .transpose()
    }

    /// `smtp_timeout` as a duration.
    pub fn smtp_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.smtp_timeout)
    }

    /// The Ed25519 signature's selector and key file, when one is set; it needs the RSA
    /// signature beside it (receivers that do not know Ed25519 check that one).
    pub fn dkim_ed25519(&self) -> Result<Option<(String, &Path)>, ConfigError> {
        let Some(file) = &self.dkim_ed25519_key_file else {
            if self.dkim_ed25519_selector.is_some() {
                return Err(ConfigError::Invalid(
                    "dkim_ed25519_selector is set without dkim_ed25519_key_file".into(),
                ));
            }
            return Ok(None);
        };
        let Some((rsa_selector, _)) = self.dkim()? else {
            return Err(ConfigError::Invalid(
                "dkim_ed25519_key_file adds a second signature beside the RSA one: set \
                 dkim_selector and dkim_key_file too (many receivers do not check Ed25519 yet)"
                    .into(),
            ));
        };
        let selector = self
            .dkim_ed25519_selector
            .clone()
            .unwrap_or_else(|| format!("{rsa_selector}-ed25519"));
        if selector == rsa_selector {
            return Err(ConfigError::Invalid(
                "dkim_ed25519_selector must differ from dkim_selector: each key has its own DNS record"
                    .into(),
            ));
        }
        Ok(Some((selector, file)))
    }

    /// `dkim_selector` and `dkim_key_file`, both or neither.
    pub fn dkim(&self) -> Result<Option<(&str, &Path)>, ConfigError> {
        match (&self.dkim_selector, &self.dkim_key_file) {
            (None, None) => Ok(None),
            (Some(selector), Some(file)) => Ok(Some((selector, file))),
            _ => Err(ConfigError::Invalid(
                "set both dkim_selector and dkim_key_file, or neither".into(),
            )),
        }
    }

    /// `trusted_proxies`, parsed.
    pub fn trusted_proxies(&self) -> Result<Vec<crate::domain::IpBlock>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                crate::domain::IpBlock::parse(p)
                    .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))
            })
            .collect()
    }

    /// Where the key file is (see `token_key_file`): the setting, else beside the SQLite
    /// database, else `nyhetsbrev.token_key` in the working folder. Only a path: reading
    /// and making the file is `startup`'s.
    pub fn token_key_path(&self) -> PathBuf {
        if let Some(path) = &self.token_key_file {
            return path.clone();
        }
        match self.database_url.sqlite_path() {
            Some(database) => database.with_extension("token_key"),
            None => PathBuf::from(DEFAULT_TOKEN_KEY_FILE),
        }
    }

    /// The key that signs bounce addresses and Message-IDs: required for sending.
    pub fn token_key(&self) -> Result<crate::domain::TokenKey, ConfigError> {
        let Some(secret) = &self.token_key else {
            return Err(ConfigError::Invalid(
                crate::domain::KeyError::Missing.to_string(),
            ));
        };
        let key = crate::domain::TokenKey::parse(secret.expose_secret())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        match &self.token_key_previous {
            None => Ok(key),
            Some(previous) if previous.expose_secret().trim() == secret.expose_secret().trim() => {
                Err(ConfigError::Invalid(
                    "token_key_previous is the same as token_key: set it to the key token_key replaced, or remove it".into(),
                ))
            }
            Some(previous) => key.with_previous(previous.expose_secret()).map_err(|e| {
                ConfigError::Invalid(format!("token_key_previous: {}", e.to_string().replacen("token_key", "the key", 1)))
            }),
        }
    }

    /// The key when one is set (inbound mail can verify bounce addresses with it);
    /// a key that is set but unusable is still an error.
    pub fn token_key_if_set(&self) -> Result<Option<crate::domain::TokenKey>, ConfigError> {
        match &self.token_key {
            None => Ok(None),
            Some(_) => self.token_key().map(Some),
        }
    }

    /// The address bounces go to (the envelope sender).
    pub fn bounce_address(&self) -> Result<EmailAddress, ConfigError> {
        let raw = self.bounce_address.as_deref().unwrap_or(&self.from_address);
        parse_address("bounce_address", raw)
    }
}

fn parse_address(key: &str, raw: &str) -> Result<EmailAddress, ConfigError> {
    EmailAddress::parse(raw).map_err(|e| ConfigError::Invalid(format!("{key} {raw:?}: {e}")))
}

#[cfg(test)]
mod tests;
