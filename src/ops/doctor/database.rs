//! The database (reachable, migrated, no two contacts under one address) and the backups.

use super::{Finding, NETWORK_TIMEOUT, Status, folder_of, writable};
use crate::config::Settings;
use crate::store::Store;

pub(super) async fn database(settings: &Settings) -> Vec<Finding> {
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
        findings.push(first_account(&store, settings).await);
    }
    store.close().await;
    findings
}

/// Whether anyone can sign in; on a new installation, the set-up code `serve` printed
/// (repeated here for whoever started it and lost the terminal).
pub(super) async fn first_account(store: &Store, settings: &Settings) -> Finding {
    const CHECK: &str = "staff";
    let staff = crate::ops::Staff::new(store.clone());
    let page = format!("{}/admin", settings.base_url());
    match (
        staff.needs_first_account().await,
        staff.stored_first_account_code().await,
    ) {
        (Err(e), _) | (_, Err(e)) => Finding::fail(
            CHECK,
            format!("the staff accounts cannot be read: {e}"),
            "check that the database user may read every table",
        ),
        (Ok(false), _) => Finding::ok(CHECK, "there is a staff account to sign in with"),
        (Ok(true), Ok(Some(code))) => Finding::warn(
            CHECK,
            format!("no staff account yet; the set-up code is {code}"),
            format!("open {page} and make the first account (an administrator) with that code"),
        ),
        (Ok(true), Ok(None)) => Finding::warn(
            CHECK,
            "no staff account yet",
            format!(
                "start `nyhetsbrev serve`: it prints a set-up code for the first account, made at {page} \
                 (or make one with `nyhetsbrev staff add NAME --admin`)"
            ),
        ),
    }
}

/// Contacts the upgrade to A-label address keys found to be one mailbox written two
/// ways: kept apart (each has its own consent) until staff remove one.
pub(super) async fn address_duplicates(store: &Store) -> Finding {
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

pub(super) fn backups(settings: &Settings) -> Finding {
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
