//! `nyhetsbrev doctor`: checks an installation without sending anything or changing
//! the database: the settings (every problem), the database and its migrations, the
//! relay (connect, EHLO, STARTTLS, AUTH), the IMAP mailbox (login, folders), the DKIM
//! key, `base_url`, the outbox and backup folders. Each check gives one finding with a
//! fix when something is wrong, and the DNS records the sender's domain needs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Settings, TlsMode};
use crate::store::Store;

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

fn token_key(settings: &Settings) -> Finding {
    match settings.token_key() {
        Ok(_) => Finding::ok("token_key", "set, and long enough"),
        Err(_) if settings.token_key.is_none() => Finding::fail(
            "token_key",
            "not set: sending, leave links and bounce addresses need it",
            "make one with `nyhetsbrev new-token-key` and set token_key (keep it secret, \
             and keep it: links already mailed are signed with it)",
        ),
        Err(e) => Finding::fail(
            "token_key",
            plain(e),
            "make one with `nyhetsbrev new-token-key` and set token_key (keep it secret, \
             and keep it: links already mailed are signed with it)",
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

async fn database(settings: &Settings) -> Vec<Finding> {
    const CHECK: &str = "database";
    let url = &settings.database_url;
    let shown = url.redacted();
    if crate::store::Backend::of_url(url.expose()).is_none() {
        // Reported as a settings problem already.
        return vec![Finding::fail(
            CHECK,
            format!("{shown} is neither SQLite nor PostgreSQL"),
            "set database_url to sqlite://FILE or postgres://…",
        )];
    }
    if let Some(path) = url.sqlite_path()
        && !path.exists()
    {
        let folder = folder_of(&path);
        return vec![match writable(&folder) {
            Ok(()) => Finding::warn(
                CHECK,
                format!("{} does not exist yet", path.display()),
                "`nyhetsbrev migrate` or the first `serve` creates it; if it should exist, \
                 check database_url",
            ),
            Err(e) => Finding::fail(
                CHECK,
                format!(
                    "{} does not exist, and its folder {} cannot be written ({e})",
                    path.display(),
                    folder.display()
                ),
                "create the folder and give it to the user the service runs as",
            ),
        }];
    }
    let store = match tokio::time::timeout(NETWORK_TIMEOUT, Store::connect(url)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            return vec![Finding::fail(
                CHECK,
                format!("{shown}: {e}"),
                "check database_url (host, port, user, password, database name) and that \
                 the database server runs",
            )];
        }
        Err(_) => {
            return vec![Finding::fail(
                CHECK,
                format!(
                    "{shown} did not answer within {} s",
                    NETWORK_TIMEOUT.as_secs()
                ),
                "check the host and port in database_url, and that a firewall lets this machine reach it",
            )];
        }
    };
    let finding = match store.schema_state().await {
        Err(e) => Finding::fail(
            CHECK,
            format!("{shown} answers but cannot be read: {e}"),
            "check that database_url names this service's database and that its user may read it",
        ),
        Ok(schema) if !schema.unknown().is_empty() => Finding::fail(
            CHECK,
            format!(
                "{shown} has {} migrations newer than this build",
                schema.unknown().len()
            ),
            "a newer nyhetsbrev has used this database: install that version (or newer)",
        ),
        Ok(schema) if !schema.pending().is_empty() => Finding::warn(
            CHECK,
            format!(
                "{shown} answers; {} migrations are not applied yet",
                schema.pending().len()
            ),
            "`serve` applies them at its next start, or run `nyhetsbrev migrate` (make a backup first)",
        ),
        Ok(schema) => Finding::ok(
            CHECK,
            format!(
                "{shown} answers; its schema ({}) is this build's",
                schema.version().unwrap_or_default()
            ),
        ),
    };
    let current = finding.status == Status::Ok;
    let mut findings = vec![finding];
    if current {
        findings.push(address_duplicates(&store).await);
    }
    store.close().await;
    findings
}

/// Contacts the upgrade to A-label address keys found to be one mailbox written two
/// ways: kept apart (each has its own consent) until staff remove one.
async fn address_duplicates(store: &Store) -> Finding {
    const CHECK: &str = "addresses";
    match store.address_duplicates().await {
        Err(e) => Finding::fail(
            CHECK,
            format!("the list of duplicate addresses cannot be read: {e}"),
            "check that the database user may read every table",
        ),
        Ok(duplicates) if duplicates.is_empty() => {
            Finding::ok(CHECK, "no mailbox is on the list twice")
        }
        Ok(duplicates) => Finding::warn(
            CHECK,
            duplicates
                .iter()
                .map(|d| {
                    format!(
                        "contact #{} ({}) is the same mailbox as contact #{} ({})",
                        d.contact_id, d.email, d.same_as, d.same_as_email
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            "both get every mail: remove the one you do not want on its contact page \
             (Kontakter → the contact → Slett)",
        ),
    }
}

async fn relay(settings: &Settings) -> Vec<Finding> {
    const CHECK: &str = "relay";
    let url = match settings.relay() {
        Ok(Some(url)) => url,
        Ok(None) => {
            return vec![
                Finding::warn(
                    CHECK,
                    "no smtp_url: mail is written as files to the outbox folder and reaches nobody",
                    "set smtp_url to your mail relay, such as smtp://user:password@relay.example.no:587",
                ),
                outbox(&settings.outbox),
            ];
        }
        Err(e) => {
            return vec![Finding::fail(
                CHECK,
                plain(e),
                "correct smtp_url: smtp://user:password@host:587 (STARTTLS) or smtps://…:465",
            )];
        }
    };
    let user = url.credentials.as_ref().map(|(user, _)| user.clone());
    let described = format!(
        "{}:{} ({})",
        url.host,
        url.port,
        match url.tls {
            TlsMode::Implicit => "TLS",
            TlsMode::StartTls => "STARTTLS",
            TlsMode::None => "no TLS",
        }
    );
    let relay = crate::mail::SmtpRelay::new(url, NETWORK_TIMEOUT.min(settings.smtp_timeout()));
    let relay = match &settings.smtp_ca_file {
        Some(path) => match relay.with_ca_file(path) {
            Ok(relay) => relay,
            Err(e) => {
                return vec![Finding::fail(
                    CHECK,
                    e,
                    "point smtp_ca_file at a readable PEM file with the relay's CA certificate",
                )];
            }
        },
        None => relay,
    };
    let relay = Arc::new(relay);
    match relay.connect().await {
        Ok(connection) => {
            connection.quit().await;
            let mut steps = vec!["connected", "EHLO"];
            if relay.tls != TlsMode::None {
                steps.push("TLS certificate valid");
            }
            let login = user.map(|user| format!(", logged in as {user}"));
            let mut findings = vec![Finding::ok(
                CHECK,
                format!(
                    "{described}: {}{}",
                    steps.join(", "),
                    login.unwrap_or_default()
                ),
            )];
            if relay.tls == TlsMode::None {
                findings.push(Finding::warn(
                    CHECK,
                    format!("{described}: mail and the relay password travel unencrypted"),
                    "use STARTTLS (smtp://…:587) or smtps://…:465 unless the relay is on this machine",
                ));
            }
            findings
        }
        Err(e) => {
            let text = e.to_string();
            vec![Finding::fail(CHECK, text.clone(), relay_fix(&text))]
        }
    }
}

/// What to do about a relay error, from the step it names.
fn relay_fix(error: &str) -> &'static str {
    if error.contains("refused the login") {
        "check the user and password in smtp_url (percent-encode characters such as @ and /)"
    } else if error.contains("STARTTLS") {
        "the relay does not do STARTTLS: use smtps:// on its TLS port (465), or ?tls=none only \
         for a relay on this machine"
    } else if error.contains("TLS") || error.contains("certificate") {
        "the relay's certificate is not valid for the host in smtp_url: use the name on its \
         certificate, or set smtp_ca_file to the CA that issued it"
    } else if error.contains("could not connect") || error.contains("no answer") {
        "check the host and port in smtp_url, and that a firewall lets this machine reach the relay"
    } else {
        "check smtp_url; the relay's answer above says what it did not like"
    }
}

fn outbox(folder: &Path) -> Finding {
    const CHECK: &str = "outbox";
    if folder.exists() {
        if !folder.is_dir() {
            return Finding::fail(
                CHECK,
                format!("{} is not a folder", folder.display()),
                "set outbox to a folder",
            );
        }
        return match writable(folder) {
            Ok(()) => Finding::ok(CHECK, format!("{} can be written", folder.display())),
            Err(e) => Finding::fail(
                CHECK,
                format!("{} cannot be written ({e})", folder.display()),
                "give the folder to the user the service runs as",
            ),
        };
    }
    let parent = folder_of(folder);
    match writable(&parent) {
        Ok(()) => Finding::ok(
            CHECK,
            format!("{} is created at the first mail", folder.display()),
        ),
        Err(e) => Finding::fail(
            CHECK,
            format!(
                "{} does not exist and {} cannot be written ({e})",
                folder.display(),
                parent.display()
            ),
            "create the outbox folder for the user the service runs as",
        ),
    }
}

fn dkim(settings: &Settings) -> (Finding, Vec<DnsRecord>) {
    const CHECK: &str = "dkim";
    let Ok(from) = settings.from_address() else {
        return (
            Finding::skip(CHECK, "from_address cannot be read: no domain to sign for"),
            Vec::new(),
        );
    };
    let domain = from.domain().to_owned();
    let mut dns = Vec::new();
    let finding = match crate::startup::dkim_signer(settings) {
        Ok(None) => Finding::warn(
            CHECK,
            "mail is not DKIM-signed: many receivers file unsigned bulk mail as spam",
            "make a key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out \
             dkim.pem), set dkim_selector and dkim_key_file, and publish the record doctor then prints",
        ),
        Err(e) => Finding::fail(
            CHECK,
            plain(e),
            "dkim_key_file must be a readable RSA private key in PEM (openssl genpkey -algorithm RSA \
             -pkeyopt rsa_keygen_bits:2048)",
        ),
        Ok(Some(signer)) => {
            let bits = signer.key_bits();
            let (name, value) = signer.dns_record();
            dns.push(DnsRecord {
                name: name.clone(),
                kind: "TXT",
                value,
                note: "DKIM: the public half of dkim_key_file; receivers check each signature against it".into(),
            });
            let mut detail = format!("{bits}-bit RSA key for {domain}, published as {name}");
            if let Some((name, value)) = signer.ed25519_dns_record() {
                detail.push_str(&format!("; and an Ed25519 key, published as {name}"));
                dns.push(DnsRecord {
                    name,
                    kind: "TXT",
                    value,
                    note:
                        "DKIM: the public half of dkim_ed25519_key_file, for the second signature"
                            .into(),
                });
            }
            Finding::ok(CHECK, detail)
        }
    };
    let bounce_domain = settings
        .bounce_address()
        .map(|a| a.domain().to_owned())
        .unwrap_or_else(|_| domain.clone());
    let relay_host = settings.relay().ok().flatten().map(|url| url.host);
    dns.push(DnsRecord {
        name: bounce_domain.clone(),
        kind: "TXT",
        value: match &relay_host {
            Some(host) => format!("v=spf1 mx a:{host} ~all"),
            None => "v=spf1 mx ~all".into(),
        },
        note: format!(
            "SPF for the bounce address's domain ({bounce_domain}): it must allow the servers \
             your relay sends from; if your mail provider documents an include:, use theirs. \
             Keep one SPF record per domain: merge with an existing one."
        ),
    });
    dns.push(DnsRecord {
        name: format!("_dmarc.{domain}"),
        kind: "TXT",
        value: format!(
            "v=DMARC1; p=none; rua=mailto:{}",
            settings.contact_address()
        ),
        note: "DMARC: start with p=none and read the reports for a few weeks; then p=quarantine. \
               Mail passes when DKIM signs for this domain or SPF passes for it."
            .into(),
    });
    (finding, dns)
}

async fn imap(settings: &Settings) -> Finding {
    const CHECK: &str = "imap";
    if settings.imap_url.is_none() {
        return Finding::skip(
            CHECK,
            "no imap_url: requests and bounces arrive through `nyhetsbrev inbound` (MTA pipe), if routed",
        );
    }
    let mailbox = match crate::startup::imap_mailbox(settings) {
        Ok(Some(mailbox)) => mailbox,
        Ok(None) => unreachable!("imap_url is set"),
        Err(e) => {
            return Finding::fail(
                CHECK,
                plain(e),
                "correct imap_url: imaps://user:password@imap.example.no/INBOX",
            );
        }
    };
    // The doctor's own, shorter timeout for each step.
    let mailbox = mailbox.with_timeout(Duration::from_secs(5));
    match mailbox.check().await {
        Ok(found) if !found.folder_exists => Finding::fail(
            CHECK,
            format!(
                "{}: logged in, but there is no folder {:?} (the account has {})",
                mailbox.describe(),
                mailbox.folder,
                found.folders.join(", ")
            ),
            "name an existing folder in imap_url's path, or leave the path out for INBOX",
        ),
        Ok(found) if !found.processed_exists => Finding::ok(
            CHECK,
            format!(
                "{}: logged in, {} messages waiting; the folder {:?} is made at the first poll",
                mailbox.describe(),
                found.waiting,
                mailbox.processed_folder
            ),
        ),
        Ok(found) => Finding::ok(
            CHECK,
            format!(
                "{}: logged in, {} messages waiting, handled mail goes to {:?}",
                mailbox.describe(),
                found.waiting,
                mailbox.processed_folder
            ),
        ),
        Err(e) => {
            let text = e.to_string();
            let fix = match e {
                crate::inbound::imap::ImapError::Login(_) => {
                    "check the user and password in imap_url (percent-encode @ and /)"
                }
                crate::inbound::imap::ImapError::Connect(_)
                | crate::inbound::imap::ImapError::Timeout(_) => {
                    "check the host and port in imap_url (993 for imaps://, 143 for imap://), the \
                     certificate's name, or set imap_ca_file for a private CA"
                }
                _ => "check imap_url; the server's answer above says what it did not like",
            };
            Finding::fail(CHECK, text, fix)
        }
    }
}

fn backups(settings: &Settings) -> Finding {
    const CHECK: &str = "backups";
    let postgres = settings.database_url.sqlite_path().is_none();
    if postgres
        && let Err(e) = std::process::Command::new("pg_dump")
            .arg("--version")
            .output()
    {
        return Finding::fail(
            CHECK,
            format!("pg_dump cannot be run ({e}): backups of PostgreSQL need it"),
            "install it: apt install postgresql-client",
        );
    }
    let Some(folder) = &settings.backup_dir else {
        return Finding::warn(
            CHECK,
            "no backup_dir: serve makes no backups of its own",
            "set backup_dir and backup_every_hours, or run `nyhetsbrev backup FILE` from a timer",
        );
    };
    if !folder.is_dir() {
        return Finding::fail(
            CHECK,
            format!("backup_dir {} is not an existing folder", folder.display()),
            "create it for the user the service runs as (the Debian package makes /var/lib/nyhetsbrev/backups)",
        );
    }
    if let Err(e) = writable(folder) {
        return Finding::fail(
            CHECK,
            format!("backup_dir {} cannot be written ({e})", folder.display()),
            "give the folder to the user the service runs as",
        );
    }
    match settings.backup_every_hours {
        Some(hours) => Finding::ok(
            CHECK,
            format!(
                "every {hours} h into {}, keeping {}",
                folder.display(),
                settings.backup_keep
            ),
        ),
        None => Finding::warn(
            CHECK,
            format!(
                "{} can be written, but backup_every_hours is not set",
                folder.display()
            ),
            "set backup_every_hours (24 is usual), or run `nyhetsbrev backup FILE` from a timer",
        ),
    }
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
