//! Every problem of a set of settings, one sentence each.

use super::{ConfigError, Settings};

impl Settings {
    /// Refuses the settings with their first problem (see [`Settings::problems`]).
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(ConfigError::Invalid(problem)),
            None => Ok(()),
        }
    }

    /// Every problem of these settings, one sentence each (`nyhetsbrev doctor` lists
    /// them all; loading stops at the first).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            problems.push(format!(
                "database_url {} is neither sqlite://FILE nor postgres://…",
                self.database_url
            ));
        }
        // Every number has a range: beyond it a value is a typo, and some (a retry
        // delay of 1e30 s, a rate of 1e-30 a second, a cap past i64::MAX) would crash
        // or silently stop the worker instead of being refused here.
        let whole: [(&str, Option<u64>, u64, u64); 18] = [
            (
                "inbound_retention_days",
                Some(self.inbound_retention_days.into()),
                1,
                3650,
            ),
            (
                "pending_retention_days",
                Some(self.pending_retention_days.into()),
                1,
                3650,
            ),
            (
                "backup_every_hours",
                self.backup_every_hours.map(u64::from),
                1,
                24 * 31,
            ),
            ("backup_keep", Some(self.backup_keep.into()), 1, 10_000),
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
                "mail_confirmations_per_hour",
                Some(self.mail_confirmations_per_hour.into()),
                1,
                1_000_000,
            ),
            (
                "leave_links_per_hour",
                Some(self.leave_links_per_hour.into()),
                1,
                1_000_000,
            ),
            (
                "http_max_connections",
                Some(self.http_max_connections.into()),
                1,
                100_000,
            ),
            (
                "session_idle_minutes",
                Some(self.session_idle_minutes.into()),
                1,
                720,
            ),
            (
                "schedule_grace_minutes",
                Some(self.schedule_grace_minutes.into()),
                1,
                7 * 24 * 60,
            ),
        ];
        for (key, value, min, max) in whole {
            if let Some(value) = value
                && !(min..=max).contains(&value)
            {
                problems.push(format!(
                    "{key} must be between {min} and {max}, not {value}"
                ));
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
                problems.push(format!(
                    "{key} is in {unit} and must be between {min} and {max}, not {value}"
                ));
            }
        }
        if self.lease_time < 2.0 * self.smtp_timeout + 5.0 {
            problems.push(format!(
                "lease_time ({} s) must be at least twice smtp_timeout ({} s) plus 5 s: a \
                 message is started only in the first half of its lease",
                self.lease_time, self.smtp_timeout
            ));
        }
        if self.pending_retention_days < self.confirm_valid_days {
            problems.push(format!(
                "pending_retention_days ({}) must be at least confirm_valid_days ({}): a person \
                 must not be removed while their confirmation link still works",
                self.pending_retention_days, self.confirm_valid_days
            ));
        }
        if let Some(metrics) = self.metrics_bind
            && (metrics == self.bind
                || (metrics.port() == self.bind.port()
                    && (metrics.ip().is_unspecified() || self.bind.ip().is_unspecified())))
            && metrics.port() != 0
        {
            problems.push(format!(
                "metrics_bind ({metrics}) is the web service's address (bind = {}): give the \
                 metrics an address of their own, such as 127.0.0.1:9090",
                self.bind
            ));
        }
        if self.token_key_previous.is_some() && self.token_key.is_none() {
            problems.push(
                "token_key_previous is set without token_key: it is the key token_key replaced, and only checks what that key signed".into(),
            );
        }
        if self.backup_every_hours.is_some() && self.backup_dir.is_none() {
            problems.push(
                "backup_every_hours needs backup_dir: the folder where the backups go".into(),
            );
        }
        let parsed = [
            self.token_key_if_set().err(),
            self.trusted_proxies().err(),
            self.relay().err(),
            self.dkim().err(),
            self.dkim_ed25519().err(),
        ];
        problems.extend(parsed.into_iter().flatten().map(|e| match e {
            ConfigError::Invalid(problem) => problem,
            other => other.to_string(),
        }));
        problems
    }
}
