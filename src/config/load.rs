//! Where settings come from: the file, then `NYHETSBREV_*` variables over it.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;

use super::{ConfigError, DEFAULT_CONFIG_FILE, ENV_PREFIX, KEYS, Settings};

impl Settings {
    /// Loads settings. With `file` given it must exist; otherwise `nyhetsbrev.toml` in
    /// the working directory is read if present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut settings: Settings = Self::figment(file)?
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.check()?;
        settings.loaded_from = file
            .map(Path::to_path_buf)
            .or_else(|| Some(std::path::PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()));
        Ok(settings)
    }

    /// Reads the settings as [`Settings::load`] does, without checking them, and with
    /// every error found while reading rather than the first (for `nyhetsbrev doctor`).
    pub fn read_unchecked(file: Option<&Path>) -> Result<Self, Vec<String>> {
        Self::figment(file)
            .map_err(|e| vec![e.to_string()])?
            .extract()
            .map_err(|errors| errors.into_iter().map(|e| e.to_string()).collect())
    }

    /// Where the settings come from: the file, then the environment over it.
    fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
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
                | "mail_confirmations_per_hour"
                | "leave_links_per_hour"
                | "http_header_timeout"
                | "http_body_timeout"
                | "http_max_connections"
                | "session_idle_minutes"
                | "schedule_grace_minutes"
                | "backup_every_hours"
                | "backup_keep"
                | "inbound_retention_days"
                | "pending_retention_days" => parse_number(&raw).unwrap_or(Value::from(raw)),
                "link_check_allow_private" | "send_approval" | "staff_require_totp" => {
                    match raw.trim() {
                        "true" | "1" | "yes" => Value::from(true),
                        "false" | "0" | "no" | "" => Value::from(false),
                        _ => Value::from(raw),
                    }
                }
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
        Ok(figment)
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
