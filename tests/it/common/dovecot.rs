//! A throwaway Dovecot IMAP server per test (see ../shared/recipes/dovecot-imap-for-tests.md):
//! its own config, users file and Maildir in a temporary folder, loopback only, user
//! `kom` with password `secret`. Stopped (SIGKILL) when dropped.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const DOVECOT: &str = "/usr/sbin/dovecot";
pub const USER: &str = "kom";
pub const PASSWORD: &str = "secret";

pub struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    pub ip: &'static str,
    /// Plain IMAP (with STARTTLS in TLS mode).
    pub port: u16,
    /// Implicit TLS, in TLS mode.
    pub tls_port: Option<u16>,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` (and a note) where Dovecot is not installed; CI installs it, so there it must be.
pub fn available() -> bool {
    if Path::new(DOVECOT).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "dovecot is missing: CI must install dovecot-imapd"
    );
    eprintln!("SKIPPED IMAP test: install dovecot-imapd to run it");
    false
}

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Dovecot {
    /// Plain IMAP on 127.0.0.1.
    pub fn plain() -> Dovecot {
        Self::start(false, "127.0.0.1")
    }

    /// TLS required, on 127.0.0.2 so that Dovecot does not treat the client as local
    /// (it allows plaintext logins from its own address): STARTTLS on `port`, implicit
    /// TLS on `tls_port`, a certificate signed by the CA at `cert()`.
    pub fn tls() -> Dovecot {
        Self::start(true, "127.0.0.2")
    }

    /// The CA that signed the server's certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Dovecot's own log (each session's "Logged out in=… out=…" says how many bytes it
    /// sent the client).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail/kom/Maildir")
    }

    fn start(tls: bool, ip: &'static str) -> Dovecot {
        // Short path: Dovecot's sockets live under it (108-byte limit).
        let dir = tempfile::Builder::new()
            .prefix("dc")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        for sub in [
            "run",
            "state",
            "mail/kom/Maildir/cur",
            "mail/kom/Maildir/new",
            "mail/kom/Maildir/tmp",
        ] {
            std::fs::create_dir_all(format!("{d}/{sub}")).unwrap();
        }
        let root = id(&["-u"]) == "0";
        // Dovecot will not serve mail as root: use nobody then; otherwise the caller.
        let (user, group) = if root {
            ("nobody".to_owned(), id(&["-gn", "nobody"]))
        } else {
            (id(&["-un"]), id(&["-gn"]))
        };
        let uid = id(&["-u", &user]);
        let gid = id(&["-g", &user]);
        std::fs::write(
            format!("{d}/users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{d}/mail/kom::\n"),
        )
        .unwrap();
        let port = super::ports::free_port(ip);
        let tls_port = tls.then(|| super::ports::free_port(ip));
        let ssl = if tls {
            super::tls::make(std::path::Path::new(&d), ip);
            format!("ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n")
        } else {
            "ssl = no\ndisable_plaintext_auth = no\n".to_owned()
        };
        let config = format!(
            "protocols = imap\nlisten = {ip}\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             instance_name = dovecot-test-{port}\nlog_path = {d}/dovecot.log\ninfo_log_path = {d}/dovecot.log\n\
             default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n\
             first_valid_uid = {uid}\nfirst_valid_gid = {gid}\n{ssl}auth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n}}\n\
             mail_location = maildir:~/Maildir\nnamespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
             service anvil {{\n  chroot =\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = {ip}\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    address = {ip}\n    port = {}\n  }}\n}}\n",
            tls_port.unwrap_or(0)
        );
        std::fs::write(format!("{d}/dovecot.conf"), config).unwrap();
        if root {
            let chown = Command::new("chown")
                .args(["-R", &format!("{user}:{group}"), &format!("{d}/mail")])
                .status()
                .unwrap();
            assert!(chown.success());
            let chmod = Command::new("chmod").args(["755", &d]).status().unwrap();
            assert!(chmod.success());
        }
        let mut child = Command::new(DOVECOT)
            .args(["-F", "-c", &format!("{d}/dovecot.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dovecot");
        super::eventually_blocking("dovecot greets", Duration::from_secs(10), || {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                let log = std::fs::read_to_string(format!("{d}/dovecot.log")).unwrap_or_default();
                panic!("dovecot exited ({status}): {err}\n{log}");
            }
            let mut s = TcpStream::connect((ip, port)).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut banner = [0u8; 64];
            let n = s.read(&mut banner).map_err(|e| e.to_string())?;
            super::ok_if(
                banner[..n].starts_with(b"* OK"),
                String::from_utf8_lossy(&banner[..n]).into_owned(),
            )
        });
        Dovecot {
            child,
            dir,
            ip,
            port,
            tls_port,
        }
    }

    /// Puts a message straight into the INBOX Maildir (written to tmp/, renamed into
    /// new/, as an MTA delivers), for servers the test cannot log in to in plain text.
    pub fn deliver(&self, name: &str, raw: &[u8]) {
        let maildir = self.maildir();
        let tmp = maildir.join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        if id(&["-u"]) == "0" {
            let owner = format!("nobody:{}", id(&["-gn", "nobody"]));
            assert!(
                Command::new("chown")
                    .args([&owner, tmp.to_str().unwrap()])
                    .status()
                    .unwrap()
                    .success()
            );
        }
        std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
    }

    /// `imap://kom:secret@ip:port/INBOX?tls=none`.
    pub fn plain_url(&self) -> String {
        format!(
            "imap://{USER}:{PASSWORD}@{}:{}/INBOX?tls=none",
            self.ip, self.port
        )
    }

    /// A logged-in session of the test's own, to put mail in and look at folders.
    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        assert!(
            self.tls_port.is_none(),
            "the helper session speaks plain IMAP"
        );
        let tcp = tokio::net::TcpStream::connect((self.ip, self.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }
}
