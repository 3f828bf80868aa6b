//! Settings loading: defaults, file, environment, and what is refused.

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
    let relay = settings.relay().unwrap().unwrap();
    let shown = format!("{settings:?} {} {relay:?}", settings.database_url);
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

#[test]
fn the_metrics_get_an_address_of_their_own() {
    let same = load_with(
        Some("bind = \"127.0.0.1:8080\"\nmetrics_bind = \"127.0.0.1:8080\"\n"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        same.contains("metrics_bind (127.0.0.1:8080) is the web service's address"),
        "{same}"
    );
    assert!(same.contains("such as 127.0.0.1:9090"), "{same}");
    // 0.0.0.0:8080 takes 127.0.0.1:8080 too.
    let all = load_with(
        Some("bind = \"0.0.0.0:8080\"\nmetrics_bind = \"127.0.0.1:8080\"\n"),
        &[],
    );
    assert!(all.is_err());
    let own = load_with(Some("metrics_bind = \"127.0.0.1:9090\"\n"), &[]).unwrap();
    assert_eq!(own.metrics_bind.unwrap().to_string(), "127.0.0.1:9090");
}

#[test]
fn retention_and_backups_are_checked() {
    let short = load_with(Some("pending_retention_days = 3\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("must be at least confirm_valid_days (7)"),
        "{short}"
    );
    let no_dir = load_with(Some("backup_every_hours = 24\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        no_dir.contains("backup_every_hours needs backup_dir"),
        "{no_dir}"
    );
    let env = load_with(
        None,
        &[
            ("NYHETSBREV_BACKUP_DIR", "/var/backups/nyhetsbrev"),
            ("NYHETSBREV_BACKUP_EVERY_HOURS", "6"),
            ("NYHETSBREV_INBOUND_RETENTION_DAYS", "30"),
        ],
    )
    .unwrap();
    assert_eq!(env.backup_every_hours, Some(6));
    assert_eq!(env.backup_keep, 14);
    assert_eq!(env.inbound_retention_days, 30);
    assert_eq!(env.pending_retention_days, 30);
}
