//! `nyhetsbrev doctor`: checks an installation without sending anything or changing
//! the database: the settings (every problem), the database and its migrations, the
//! relay (connect, EHLO, STARTTLS, AUTH), the IMAP mailbox (login, folders), the DKIM
//! key, `base_url`, the outbox and backup folders. Each check gives one finding with a
//! fix when something is wrong, and the DNS records the sender's domain needs.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod database;
mod mail;

use database::{backups, database};
use mail::{dkim, imap, relay};

use crate::config::Settings;

/// How long any one network check may take, whatever `smtp_timeout` says: a doctor that
/// hangs for a minute on a firewalled port helps nobody.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but probably not what a real installation wants.
    Warn,
    Fail,
    /// Not configured, and that is fine.
    Skip,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about a warning or a failure.
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, detail: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    fn skip(check: &'static str, detail: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
    fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A DNS record the sending domain should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub name: String,
    /// Always TXT here.
    pub kind: &'static str,
    pub value: String,
    /// Why, and what to adjust.
    pub note: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Where the settings were read from (`None`: defaults and environment only).
    pub settings_file: Option<PathBuf>,
    pub findings: Vec<Finding>,
    pub dns: Vec<DnsRecord>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.count(Status::Fail)
    }
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }
}

/// Runs every check. `file` is `--config`; without it `nyhetsbrev.toml` in the working
/// directory, as for every other command.
pub async fn examine(file: Option<&Path>) -> Report {
    let mut report = Report {
        settings_file: file.map(Path::to_owned).or_else(|| {
            let default = Path::new(crate::config::DEFAULT_CONFIG_FILE);
            default.exists().then(|| default.to_owned())
        }),
        ..Report::default()
    };
    let settings = match Settings::read_unchecked(file) {
        Ok(settings) => settings,
        Err(errors) => {
            for error in errors {
                report.findings.push(Finding::fail(
                    "settings",
                    error,
                    "correct the settings file or the NYHETSBREV_* variable it names; \
                     the other checks need settings that can be read",
                ));
            }
            return report;
        }
    };
    let problems = settings.problems();
    if problems.is_empty() {
        report.findings.push(Finding::ok(
            "settings",
            match &report.settings_file {
                Some(path) => format!("{} can be read and every value is in range", path.display()),
                None => {
                    "no settings file: defaults and NYHETSBREV_* variables, all in range".into()
                }
            },
        ));
    }
    for problem in problems {
        report.findings.push(Finding::fail(
            "settings",
            problem,
            "correct this setting; the service refuses to start until it is",
        ));
    }
    report.findings.push(token_key(&settings));
    report.findings.extend(addresses(&settings));
    report.findings.push(base_url(&settings));
    report.findings.extend(database(&settings).await);
    report.findings.extend(relay(&settings).await);
    let (finding, dns) = dkim(&settings);
    report.findings.push(finding);
    report.dns = dns;
    report.findings.push(imap(&settings).await);
    report.findings.push(backups(&settings));
    report
}

/// Where the key is, or will be: a `token_key` setting wins; else its file, made by
/// the first start that needs it. Only read here: the doctor makes nothing.
fn token_key(settings: &Settings) -> Finding {
    const CHECK: &str = "token_key";
    let keep = "keep it secret, and keep it: links already mailed are signed with it";
    if settings.token_key.is_some() {
        return match settings.token_key() {
            Ok(_) => Finding::ok(CHECK, "set in the settings, and long enough"),
            Err(e) => Finding::fail(
                CHECK,
                plain(e),
                format!(
                    "make one with `nyhetsbrev new-token-key` and set token_key ({keep}), or remove token_key to have one made and kept in {}",
                    settings.token_key_path().display()
                ),
            ),
        };
    }
    let path = settings.token_key_path();
    let shown = path.display();
    let same_everywhere = if settings.database_url.sqlite_path().is_none() {
        "; on PostgreSQL every machine that sends needs this same key (copy the file, or set token_key)"
    } else {
        ""
    };
    match super::token_key_file::read(&path) {
        Ok(Some(_)) if super::token_key_file::readable_by_others(&path) => Finding::warn(
            CHECK,
            format!("kept in {shown}, which others than its owner may read"),
            format!("chmod 600 {shown}"),
        ),
        Ok(Some(_)) => Finding::ok(CHECK, format!("kept in {shown}{same_everywhere}")),
        Ok(None) => match writable(&folder_of(&path)) {
            Ok(()) => Finding::ok(
                CHECK,
                format!(
                    "not made yet: the first start makes it and keeps it in {shown}{same_everywhere}"
                ),
            ),
            Err(e) => Finding::fail(
                CHECK,
                format!("not made yet, and it cannot be made in {shown} ({e})"),
                "make that folder writable for the user the service runs as, set token_key_file \
                 to a place it can write, or set token_key",
            ),
        },
        Err(e) => Finding::fail(
            CHECK,
            e.to_string(),
            format!("give the service's user read access to {shown}, or set token_key ({keep})"),
        ),
    }
}

fn addresses(settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    let fix = "give a whole address such as nyhetsbrev@kom.example.no";
    match settings.from_address() {
        Ok(from) => findings.push(Finding::ok("from_address", from.as_str())),
        Err(e) => findings.push(Finding::fail("from_address", plain(e), fix)),
    }
    match settings.join_and_leave_addresses() {
        Ok((join, leave)) => findings.push(Finding::ok(
            "join and leave",
            format!(
                "requests to {} and {} (route both to `nyhetsbrev inbound` or the IMAP mailbox)",
                join.as_str(),
                leave.as_str()
            ),
        )),
        Err(e) => findings.push(Finding::fail("join and leave", plain(e), fix)),
    }
    if let Err(e) = settings.bounce_address() {
        findings.push(Finding::fail("bounce_address", plain(e), fix));
    }
    findings
}

fn base_url(settings: &Settings) -> Finding {
    const CHECK: &str = "base_url";
    let raw = settings.base_url();
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(e) => {
            return Finding::fail(
                CHECK,
                format!("{raw:?} is not a URL ({e})"),
                "set base_url to the address people open, such as https://nyhetsbrev.kom.example.no",
            );
        }
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Finding::fail(
            CHECK,
            format!("{raw} is not an http(s) address"),
            "set base_url to the address people open, such as https://nyhetsbrev.kom.example.no",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Finding::fail(
            CHECK,
            format!("{raw} has a query or fragment, which would break every mailed link"),
            "remove what follows ? or # from base_url",
        );
    }
    let host = url.host_str().unwrap_or_default();
    let local = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    if local {
        return Finding::warn(
            CHECK,
            format!("{raw} is this machine only: links in mail will not open for recipients"),
            "set base_url to the public address of the service (behind the TLS proxy, see deploy/)",
        );
    }
    if url.scheme() == "http" {
        return Finding::warn(
            CHECK,
            format!(
                "{raw} is not encrypted: leave links and the staff sign-in travel in the clear"
            ),
            "serve the site over https (deploy/ has a Caddy and an nginx example) and set base_url to https://…",
        );
    }
    Finding::ok(CHECK, format!("{raw}: links in mail point here"))
}

/// A settings error without the "bad settings:" in front: the check names it already.
fn plain(e: crate::config::ConfigError) -> String {
    match e {
        crate::config::ConfigError::Invalid(problem) => problem,
        other => other.to_string(),
    }
}

/// The folder a path is in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Whether a file can be made in `folder`: tried by making one and removing it, since
/// permission bits say nothing of a read-only mount, and root passes every access check.
fn writable(folder: &Path) -> std::io::Result<()> {
    let probe = folder.join(format!(".nyhetsbrev-doctor-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}
