//! The project's own commands, run as `cargo xtask <command>` (the alias is in
//! `.cargo/config.toml`).
//!
//! `cargo xtask test [cargo test arguments]` is the README's one test command. The suite
//! talks to real parts (a browser with axe-core, Dovecot, PostgreSQL, an independent DKIM
//! verifier), so a bare `cargo test` on a new machine fails or skips much of it. This
//! command first makes the machine ready — installs the Debian packages that are missing
//! when it may (as root, or with password-less sudo), starts the local PostgreSQL when it is
//! installed but not running, installs axe-core from the pinned lock file — and then runs
//! `cargo test` with `CI=true`, so that anything still missing fails instead of skipping.
//! CI (`.ci/run`) calls exactly this command.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::Duration;

/// The PostgreSQL server the storage tests create their databases on, unless
/// `NYHETSBREV_TEST_POSTGRES` names another.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let outcome = match command.as_ref().and_then(|c| c.to_str()) {
        Some("test") => test(&rest),
        Some("setup") => setup().map(|()| ExitCode::SUCCESS),
        _ => {
            eprintln!(
                "usage: cargo xtask test [cargo test arguments]\n       \
                 cargo xtask setup   (only make this machine ready for the tests)"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Readies the machine, then runs the whole suite (or what the arguments select).
fn test(cargo_test_args: &[OsString]) -> Result<ExitCode, String> {
    setup()?;
    let root = project_root();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(&root).arg("test").args(cargo_test_args);
    if env::var_os("NYHETSBREV_TEST_POSTGRES").is_none() {
        command.env("NYHETSBREV_TEST_POSTGRES", DEFAULT_POSTGRES);
    }
    // With CI set, a part the tests need and do not find is a failure, never a skip.
    if env::var_os("CI").is_none() {
        command.env("CI", "true");
    }
    say("running cargo test (SQLite and PostgreSQL)");
    let status = command
        .status()
        .map_err(|e| format!("could not run cargo test: {e}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// Everything the suite needs from the machine, installed or started if missing.
fn setup() -> Result<(), String> {
    install_missing_packages()?;
    ensure_postgres()?;
    install_axe()?;
    Ok(())
}

/// A Debian package set the suite needs, and how to tell it is already there.
struct Need {
    why: &'static str,
    packages: &'static [&'static str],
    /// Installed without the packages Debian recommends (Dovecot's would pull in a mail
    /// server configuration we never use).
    without_recommends: bool,
    present: fn() -> bool,
}

const NEEDS: &[Need] = &[
    Need {
        why: "the browser tests drive Chromium through ChromeDriver",
        packages: &["chromium", "chromium-driver"],
        without_recommends: false,
        present: || on_path("chromium") && on_path("chromedriver"),
    },
    Need {
        why: "the DKIM tests check signatures with an independent verifier (dkimpy) and make keys with openssl",
        packages: &["python3-dkim", "openssl"],
        without_recommends: false,
        present: || {
            on_path("openssl")
                && quietly(Command::new("/usr/bin/python3").args(["-c", "import dkim"]))
        },
    },
    Need {
        why: "the IMAP tests start a throwaway Dovecot of their own",
        packages: &["dovecot-imapd"],
        without_recommends: true,
        present: || Path::new("/usr/sbin/dovecot").is_file(),
    },
    Need {
        why: "the browser tests run axe-core, installed with npm",
        packages: &["npm"],
        without_recommends: false,
        present: || on_path("npm"),
    },
];

fn install_missing_packages() -> Result<(), String> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|need| !(need.present)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for need in &missing {
        say(&format!(
            "missing {}: {}",
            need.packages.join(" "),
            need.why
        ));
    }
    let Some(prefix) = privileged_prefix() else {
        let all: Vec<&str> = missing
            .iter()
            .flat_map(|n| n.packages.iter().copied())
            .collect();
        return Err(format!(
            "cannot install them without root: run `sudo apt-get install {}`, then this command again",
            all.join(" ")
        ));
    };
    if !on_path("apt-get") {
        return Err("this is not a Debian-like machine (no apt-get): install them by hand".into());
    }
    say("apt-get update");
    run(apt(&prefix).args(["update", "-qq"]))?;
    for need in missing {
        say(&format!("installing {}", need.packages.join(" ")));
        let mut install = apt(&prefix);
        install.args(["install", "-y", "-qq"]);
        if need.without_recommends {
            install.arg("--no-install-recommends");
        }
        run(install.args(need.packages))?;
        if !(need.present)() {
            return Err(format!(
                "{} installed, but still not usable",
                need.packages.join(" ")
            ));
        }
    }
    Ok(())
}

/// Starts the machine's own PostgreSQL when the tests use the default server and it is
/// installed but not listening. A server named in `NYHETSBREV_TEST_POSTGRES` is the
/// caller's to run.
fn ensure_postgres() -> Result<(), String> {
    if env::var_os("NYHETSBREV_TEST_POSTGRES").is_some() {
        return Ok(());
    }
    if postgres_ready() {
        return Ok(());
    }
    let clusters = installed_clusters();
    if clusters.is_empty() || !on_path("pg_ctlcluster") {
        return Err(format!(
            "no PostgreSQL listens on 127.0.0.1:5432 and none is installed here: install \
             Debian's postgresql, or set NYHETSBREV_TEST_POSTGRES to a server the tests may \
             create databases on (default {DEFAULT_POSTGRES})"
        ));
    }
    let Some(prefix) = privileged_prefix() else {
        return Err(
            "PostgreSQL is installed but not running, and starting it needs root: \
             `sudo pg_ctlcluster <version> main start`"
                .into(),
        );
    };
    for version in clusters {
        say(&format!("starting PostgreSQL {version}"));
        let mut start = privileged(&prefix, "pg_ctlcluster");
        start.args(["--skip-systemctl-redirect", &version, "main", "start"]);
        // A cluster that is already running, or not ours to start, is not an error here:
        // whether the server answers is what counts.
        let _ = start.stdout(Stdio::null()).status();
    }
    for _ in 0..30 {
        if postgres_ready() {
            return Ok(());
        }
        sleep(Duration::from_secs(1));
    }
    Err("PostgreSQL was started but does not answer on 127.0.0.1:5432".into())
}

fn postgres_ready() -> bool {
    on_path("pg_isready")
        && quietly(Command::new("pg_isready").args(["-q", "-h", "127.0.0.1", "-p", "5432"]))
}

/// The versions with a cluster under /etc/postgresql (Debian's layout).
fn installed_clusters() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/etc/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("main").is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
}

/// axe-core at the version pinned in tests/axe/package-lock.json, unless it is there
/// already and the lock file has not changed since.
fn install_axe() -> Result<(), String> {
    let axe = project_root().join("tests/axe");
    let installed = axe.join("node_modules/.package-lock.json");
    let up_to_date = match (
        modified(&installed),
        modified(&axe.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed >= locked,
        _ => false,
    } && axe.join("node_modules/axe-core/axe.min.js").is_file();
    if up_to_date {
        return Ok(());
    }
    say("installing axe-core (npm ci, pinned by tests/axe/package-lock.json)");
    run(Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(&axe)
        .args(["--no-audit", "--no-fund", "--silent"]))
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// How to run a command as root: directly when we are root, through password-less sudo
/// when that works, or not at all.
fn privileged_prefix() -> Option<Vec<&'static str>> {
    if is_root() {
        return Some(Vec::new());
    }
    if on_path("sudo") && quietly(Command::new("sudo").args(["-n", "true"])) {
        return Some(vec!["sudo", "-n"]);
    }
    None
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

fn privileged(prefix: &[&str], program: &str) -> Command {
    match prefix.split_first() {
        None => Command::new(program),
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
    }
}

/// apt-get, non-interactive (through `env`, because sudo resets the environment).
fn apt(prefix: &[&str]) -> Command {
    let mut command = privileged(prefix, "env");
    command.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("could not run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn quietly(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The workspace root: xtask/ is one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the project")
        .to_path_buf()
}

fn say(message: &str) {
    eprintln!("xtask: {message}");
}
