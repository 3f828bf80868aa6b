//! Mail: the relay (connect, EHLO, STARTTLS, AUTH; nothing sent), the outbox folder, the
//! DKIM key and its DNS records, the IMAP mailbox (login, folders; nothing changed).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{DnsRecord, Finding, NETWORK_TIMEOUT, folder_of, plain, writable};
use crate::config::{Settings, TlsMode};

pub(super) async fn relay(settings: &Settings) -> Vec<Finding> {
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
pub(super) fn relay_fix(error: &str) -> &'static str {
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

pub(super) fn outbox(folder: &Path) -> Finding {
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

pub(super) fn dkim(settings: &Settings) -> (Finding, Vec<DnsRecord>) {
    const CHECK: &str = "dkim";
    let Ok(from) = settings.from_address() else {
        return (
            Finding::skip(CHECK, "from_address cannot be read: no domain to sign for"),
            Vec::new(),
        );
    };
    let domain = from.domain().to_owned();
    let mut dns = Vec::new();
    let finding = match crate::mail::DkimSigner::from_settings(settings) {
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

pub(super) async fn imap(settings: &Settings) -> Finding {
    const CHECK: &str = "imap";
    if settings.imap_url.is_none() {
        return Finding::skip(
            CHECK,
            "no imap_url: requests and bounces arrive through `nyhetsbrev inbound` (MTA pipe), if routed",
        );
    }
    let mailbox = match crate::inbound::imap::ImapMailbox::from_settings(settings) {
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
