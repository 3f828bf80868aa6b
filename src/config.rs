//! Settings: built-in defaults, then a TOML file, then `NYHETSBREV_*` environment
//! variables (which win). One flat key per setting, the same name in both places.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "nyhetsbrev.toml";
pub const ENV_PREFIX: &str = "NYHETSBREV_";

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
    "dkim_selector",
    "dkim_key_file",
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
    "trusted_authserv_id",
    "trusted_proxies",
    "http_header_timeout",
    "http_body_timeout",
    "http_max_connections",
    "smtp_ca_file",
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
    pub dkim_selector: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
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
    /// Confirmation and leave-link mails at most in any hour, to all addresses together:
    /// a flood of requests for many addresses cannot make the service a mail cannon.
    pub confirmations_per_hour: u32,
    /// The authserv-id your receiving mail server writes in `Authentication-Results`
    /// (e.g. `mx.kom.example.no`): a request to leave by mail that this server shows to
    /// pass DMARC, or an aligned DKIM, takes effect at once; any other gets a mail with
    /// a leave link. Unset: every request to leave by mail gets the link.
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl("sqlite://nyhetsbrev.db".into()),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: "http://127.0.0.1:8080".into(),
            outbox: PathBuf::from("outbox"),
            smtp_url: None,
            from_address: "nyhetsbrev@example.org".into(),
            list_id: "nyhetsbrev.example.org".into(),
            send_rate: None,
            daily_cap: None,
            token_key: None,
            dkim_selector: None,
            dkim_key_file: None,
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
            trusted_authserv_id: None,
            trusted_proxies: Vec::new(),
            http_header_timeout: 10.0,
            http_body_timeout: 30.0,
            http_max_connections: 512,
            smtp_ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL. It may carry a password (`postgres://user:secret@host/db`), so its
/// `Debug` and `Display` hide that part.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
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
            .field("smtp_url", &self.smtp_url)
            .field("from_address", &self.from_address)
            .field("list_id", &self.list_id)
            .field("send_rate", &self.send_rate)
            .field("daily_cap", &self.daily_cap)
            .field("token_key", &self.token_key)
            .field("dkim_selector", &self.dkim_selector)
            .field("dkim_key_file", &self.dkim_key_file)
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
            .field("trusted_authserv_id", &self.trusted_authserv_id)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_body_timeout", &self.http_body_timeout)
            .field("http_max_connections", &self.http_max_connections)
            .field("smtp_ca_file", &self.smtp_ca_file)
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
    /// What the fixed parts of an issue need.
    pub fn render_context(&self) -> crate::render::RenderContext {
        crate::render::RenderContext {
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            contact_address: self
                .contact_address
                .clone()
                .unwrap_or_else(|| self.from_address.clone()),
        }
    }

    /// Who mail is from, checked: a bad `from_address` is a start-up error, not a
    /// failure at the first subscription.
    pub fn sender(&self) -> Result<crate::mail::Sender, ConfigError> {
        let from = crate::domain::EmailAddress::parse(&self.from_address).map_err(|e| {
            ConfigError::Invalid(format!("from_address {:?}: {e}", self.from_address))
        })?;
        Ok(crate::mail::Sender {
            unsubscribe_mailbox: self.own_addresses()?.leave,
            from_address: from,
            from_name: self.from_name.clone(),
            list_id: self.list_id.clone(),
        })
    }

    /// The mailbox to poll, when `imap_url` is set.
    pub fn imap_mailbox(&self) -> Result<Option<crate::inbound::imap::ImapMailbox>, ConfigError> {
        let Some(url) = &self.imap_url else {
            return Ok(None);
        };
        crate::inbound::imap::ImapMailbox::from_url(
            url.expose_secret(),
            &self.imap_processed_folder,
            self.imap_ca_file.as_deref(),
            std::time::Duration::from_secs_f64(self.smtp_timeout),
        )
        .map(Some)
        .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The service's own addresses, checked. The join and leave addresses default to
    /// `-join` and `-leave` variants of `from_address`.
    pub fn own_addresses(&self) -> Result<crate::inbound::OwnAddresses, ConfigError> {
        use crate::domain::EmailAddress;
        let parse = |key: &str, raw: &str| {
            EmailAddress::parse(raw)
                .map_err(|e| ConfigError::Invalid(format!("{key} {raw:?}: {e}")))
        };
        let from = parse("from_address", &self.from_address)?;
        let variant = |suffix: &str| {
            let (local, domain) = from
                .as_str()
                .rsplit_once('@')
                .unwrap_or((from.as_str(), ""));
            format!("{local}-{suffix}@{domain}")
        };
        let join = match &self.join_address {
            Some(raw) => parse("join_address", raw)?,
            None => parse("from_address", &variant("join"))?,
        };
        let leave = match &self.leave_address {
            Some(raw) => parse("leave_address", raw)?,
            None => parse("from_address", &variant("leave"))?,
        };
        Ok(crate::inbound::OwnAddresses {
            bounce: self.bounce_address()?,
            bounce_key: self.token_key_if_set()?,
            trusted_authserv_id: self
                .trusted_authserv_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            from,
            join,
            leave,
            list_id: self.list_id.clone(),
        })
    }

    /// Loads settings. With `file` given it must exist; otherwise `nyhetsbrev.toml` in
    /// the working directory is read if present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::Missing(path.to_owned())),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        for &key in KEYS {
            let var = format!("{ENV_PREFIX}{}", key.to_uppercase());
            let Some(raw) = std::env::var_os(&var) else {
                continue;
            };
            let raw = raw
                .into_string()
                .map_err(|_| ConfigError::Invalid(format!("{var} is not valid UTF-8")))?;
            // figment's own Env provider would read `NYHETSBREV_LIST_ID=2024` as a number
            // and then refuse it for a text setting: only numeric settings are parsed.
            let value = match key {
                "send_rate"
                | "daily_cap"
                | "confirm_valid_days"
                | "subscribe_limit_per_hour"
                | "smtp_connections"
                | "smtp_timeout"
                | "hourly_cap"
                | "max_attempts"
                | "retry_delay"
                | "bounce_threshold"
                | "lease_time"
                | "inbound_max_size"
                | "imap_poll_interval"
                | "confirmations_per_hour"
                | "http_header_timeout"
                | "http_body_timeout"
                | "http_max_connections" => parse_number(&raw).unwrap_or(Value::from(raw)),
                "trusted_proxies" => Value::from(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(Value::from)
                        .collect::<Vec<_>>(),
                ),
                _ => Value::from(raw),
            };
            figment = figment.merge(Serialized::default(key, value));
        }
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid(format!(
                "database_url {} is neither sqlite://FILE nor postgres://…",
                self.database_url
            )));
        }
        // Every number has a range: beyond it a value is a typo, and some (a retry
        // delay of 1e30 s, a rate of 1e-30 a second, a cap past i64::MAX) would crash
        // or silently stop the worker instead of being refused here.
        let whole: [(&str, Option<u64>, u64, u64); 10] = [
            (
                "subscribe_limit_per_hour",
                Some(self.subscribe_limit_per_hour.into()),
                1,
                1_000_000,
            ),
            (
                "smtp_connections",
                Some(self.smtp_connections.into()),
                1,
                100,
            ),
            ("max_attempts", Some(self.max_attempts.into()), 1, 100),
            (
                "bounce_threshold",
                Some(self.bounce_threshold.into()),
                1,
                100,
            ),
            (
                "confirm_valid_days",
                Some(self.confirm_valid_days.into()),
                1,
                365,
            ),
            ("hourly_cap", self.hourly_cap, 1, 1_000_000_000),
            ("daily_cap", self.daily_cap, 1, 1_000_000_000),
            (
                "inbound_max_size",
                Some(self.inbound_max_size as u64),
                512,
                1 << 30,
            ),
            (
                "confirmations_per_hour",
                Some(self.confirmations_per_hour.into()),
                1,
                1_000_000,
            ),
            (
                "http_max_connections",
                Some(self.http_max_connections.into()),
                1,
                100_000,
            ),
        ];
        for (key, value, min, max) in whole {
            if let Some(value) = value
                && !(min..=max).contains(&value)
            {
                return Err(ConfigError::Invalid(format!(
                    "{key} must be between {min} and {max}, not {value}"
                )));
            }
        }
        let seconds: [(&str, Option<f64>, f64, f64, &str); 7] = [
            (
                "send_rate",
                self.send_rate,
                0.01,
                100_000.0,
                "messages a second",
            ),
            (
                "smtp_timeout",
                Some(self.smtp_timeout),
                0.1,
                3600.0,
                "seconds",
            ),
            (
                "retry_delay",
                Some(self.retry_delay),
                0.01,
                86_400.0,
                "seconds",
            ),
            (
                "lease_time",
                Some(self.lease_time),
                1.0,
                86_400.0,
                "seconds",
            ),
            (
                "imap_poll_interval",
                Some(self.imap_poll_interval),
                0.1,
                86_400.0,
                "seconds",
            ),
            (
                "http_header_timeout",
                Some(self.http_header_timeout),
                0.1,
                600.0,
                "seconds",
            ),
            (
                "http_body_timeout",
                Some(self.http_body_timeout),
                0.1,
                3600.0,
                "seconds",
            ),
        ];
        for (key, value, min, max, unit) in seconds {
            if let Some(value) = value
                && !(value >= min && value <= max)
            {
                return Err(ConfigError::Invalid(format!(
                    "{key} is in {unit} and must be between {min} and {max}, not {value}"
                )));
            }
        }
        if self.lease_time < 2.0 * self.smtp_timeout + 5.0 {
            return Err(ConfigError::Invalid(format!(
                "lease_time ({} s) must be at least twice smtp_timeout ({} s) plus 5 s: a \
                 message is started only in the first half of its lease",
                self.lease_time, self.smtp_timeout
            )));
        }
        self.token_key_if_set()?;
        self.trusted_proxies()?;
        if self.smtp_url.is_some() {
            self.smtp_relay()?;
        }
        Ok(())
    }

    fn smtp_relay(&self) -> Result<Option<crate::mail::SmtpRelay>, ConfigError> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        let relay = crate::mail::SmtpRelay::from_url(url.expose_secret(), self.smtp_duration())
            .map_err(ConfigError::Invalid)?;
        match &self.smtp_ca_file {
            Some(path) => relay.with_ca_file(path).map(Some),
            None => Ok(Some(relay)),
        }
        .map_err(ConfigError::Invalid)
    }

    fn smtp_duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.smtp_timeout)
    }

    /// Where mail goes: the SMTP relay when `smtp_url` is set, else the outbox folder.
    pub fn transport(&self) -> Result<crate::mail::Transport, ConfigError> {
        Ok(match self.smtp_relay()? {
            Some(relay) => crate::mail::Transport::Smtp(std::sync::Arc::new(relay)),
            None => crate::mail::Transport::Outbox(self.outbox.clone()),
        })
    }

    /// The DKIM signer, when `dkim_selector` and `dkim_key_file` are set; it signs for
    /// the domain of `from_address`.
    pub fn dkim(&self) -> Result<Option<std::sync::Arc<crate::mail::DkimSigner>>, ConfigError> {
        let (selector, file) = match (&self.dkim_selector, &self.dkim_key_file) {
            (None, None) => return Ok(None),
            (Some(selector), Some(file)) => (selector, file),
            _ => {
                return Err(ConfigError::Invalid(
                    "set both dkim_selector and dkim_key_file, or neither".into(),
                ));
            }
        };
        let pem = std::fs::read_to_string(file)
            .map_err(|e| ConfigError::Invalid(format!("dkim_key_file {}: {e}", file.display())))?;
        let from = self.sender()?.from_address;
        let domain = crate::mail::header_address(&from)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?
            .domain()
            .to_owned();
        crate::mail::DkimSigner::from_pem(&domain, selector, &pem)
            .map(|signer| Some(std::sync::Arc::new(signer)))
            .map_err(|e| ConfigError::Invalid(format!("dkim_key_file {}: {e}", file.display())))
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

    /// The key that signs bounce addresses and Message-IDs: required for sending.
    pub fn token_key(&self) -> Result<crate::domain::TokenKey, ConfigError> {
        let Some(secret) = &self.token_key else {
            return Err(ConfigError::Invalid(
                crate::domain::KeyError::Missing.to_string(),
            ));
        };
        crate::domain::TokenKey::parse(secret.expose_secret())
            .map_err(|e| ConfigError::Invalid(e.to_string()))
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
    pub fn bounce_address(&self) -> Result<crate::domain::EmailAddress, ConfigError> {
        let raw = self.bounce_address.as_deref().unwrap_or(&self.from_address);
        crate::domain::EmailAddress::parse(raw)
            .map_err(|e| ConfigError::Invalid(format!("bounce_address {raw:?}: {e}")))
    }
}

/// A number from an environment variable: whole numbers as integers (serde takes them
/// for float settings too), others as floats; `None` if it is not a number at all, so
/// the error names the setting.
fn parse_number(raw: &str) -> Option<Value> {
    let raw = raw.trim();
    raw.parse::<u64>()
        .map(Value::from)
        .or_else(|_| raw.parse::<f64>().map(Value::from))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads settings inside a figment `Jail`: a temporary working directory and an
    /// environment restored afterwards, so tests do not see each other's variables.
    #[allow(clippy::result_large_err)] // figment's own error type, in test code only
    fn load_with(file_text: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut result = None;
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let path = file_text.map(|text| {
                jail.create_file("settings.toml", text).unwrap();
                PathBuf::from("settings.toml")
            });
            for (key, value) in env {
                jail.set_env(key, value);
            }
            result = Some(Settings::load(path.as_deref()));
            Ok(())
        });
        result.unwrap()
    }

    #[test]
    fn defaults_need_no_file() {
        let settings = load_with(None, &[]).unwrap();
        assert_eq!(settings.database_url.expose(), "sqlite://nyhetsbrev.db");
        assert_eq!(settings.outbox, PathBuf::from("outbox"));
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn environment_overrides_file() {
        let file = "list_id = \"fra-fil\"\nsend_rate = 5\nbind = \"127.0.0.1:9000\"\n";
        let settings = load_with(
            Some(file),
            &[
                ("NYHETSBREV_LIST_ID", "12345"),
                ("NYHETSBREV_SEND_RATE", "20"),
                ("NYHETSBREV_LEASE_TIME", "8"),
                ("NYHETSBREV_SMTP_TIMEOUT", "1"),
                ("NYHETSBREV_RETRY_DELAY", "0.5"),
                ("NYHETSBREV_TEST_POSTGRES", "x"),
            ],
        )
        .unwrap();
        assert_eq!((settings.lease_time, settings.retry_delay), (8.0, 0.5));
        assert_eq!(settings.list_id, "12345");
        assert_eq!(settings.send_rate, Some(20.0));
        assert_eq!(settings.bind.to_string(), "127.0.0.1:9000");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let err = load_with(Some("databse_url = \"sqlite://x.db\"\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("databse_url"), "{err}");
        let err = load_with(None, &[("NYHETSBREV_SEND_RATE", "fort")]).unwrap_err();
        assert!(err.to_string().contains("send_rate"), "{err}");
        let err = load_with(None, &[("NYHETSBREV_DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
    }

    #[test]
    fn numbers_out_of_range_are_refused_by_name() {
        for (key, value) in [
            ("NYHETSBREV_RETRY_DELAY", "1e30"),
            ("NYHETSBREV_SEND_RATE", "1e-30"),
            ("NYHETSBREV_SEND_RATE", "inf"),
            ("NYHETSBREV_SMTP_TIMEOUT", "NaN"),
            ("NYHETSBREV_DAILY_CAP", "9223372036854775808"),
            ("NYHETSBREV_HOURLY_CAP", "18446744073709551615"),
            ("NYHETSBREV_LEASE_TIME", "1e300"),
            ("NYHETSBREV_IMAP_POLL_INTERVAL", "-1"),
            ("NYHETSBREV_BOUNCE_THRESHOLD", "0"),
            ("NYHETSBREV_SMTP_CONNECTIONS", "100000"),
            ("NYHETSBREV_INBOUND_MAX_SIZE", "0"),
            ("NYHETSBREV_CONFIRMATIONS_PER_HOUR", "0"),
        ] {
            let err = load_with(None, &[(key, value)]).unwrap_err().to_string();
            let name = key.trim_start_matches(ENV_PREFIX).to_lowercase();
            assert!(
                err.contains(&name) && err.contains("between"),
                "{key}={value}: {err}"
            );
        }
        // The edges themselves are fine.
        let settings = load_with(
            None,
            &[
                ("NYHETSBREV_SEND_RATE", "0.01"),
                ("NYHETSBREV_DAILY_CAP", "1000000000"),
            ],
        )
        .unwrap();
        assert_eq!(settings.daily_cap, Some(1_000_000_000));
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_comma_separated() {
        let settings = load_with(
            None,
            &[("NYHETSBREV_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")],
        )
        .unwrap();
        assert_eq!(settings.trusted_proxies().unwrap().len(), 2);
        let settings = load_with(Some("trusted_proxies = [\"2001:db8::/32\"]\n"), &[]).unwrap();
        assert_eq!(settings.trusted_proxies().unwrap().len(), 1);
        let err = load_with(None, &[("NYHETSBREV_TRUSTED_PROXIES", "proxy.local")]).unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/nyhetsbrev.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Missing(_)));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let settings = load_with(
            None,
            &[
                (
                    "NYHETSBREV_SMTP_URL",
                    "smtp://kom:hemmelig-smtp@relay.example.org:587",
                ),
                (
                    "NYHETSBREV_TOKEN_KEY",
                    "hemmelig-nokkel-0123456789abcdef0123",
                ),
                (
                    "NYHETSBREV_IMAP_URL",
                    "imaps://kom:hemmelig-imap@imap.example.org/INBOX",
                ),
                (
                    "NYHETSBREV_DATABASE_URL",
                    "postgres://kom:hemmelig-db@db.example.org/nb",
                ),
            ],
        )
        .unwrap();
        let mailbox = settings.imap_mailbox().unwrap().unwrap();
        let shown = format!(
            "{settings:?} {} {mailbox:?} {}",
            settings.database_url,
            mailbox.describe()
        );
        for secret in [
            "hemmelig-smtp",
            "hemmelig-nokkel",
            "hemmelig-db",
            "hemmelig-imap",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("db.example.org"), "{shown}");
        assert_eq!(
            settings.token_key.unwrap().expose_secret(),
            "hemmelig-nokkel-0123456789abcdef0123"
        );
        assert!(settings.database_url.expose().contains("hemmelig-db"));
    }
}
