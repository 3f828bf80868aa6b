//! Reading a mailbox over IMAP: every message not yet handled is fetched (without
//! marking it read), handled, flagged `$NyhetsbrevHandled` and moved to the processed
//! folder. Nothing is ever deleted. A message whose handling fails for a temporary
//! reason stays where it is and is tried again at the next poll; handling the same
//! bytes twice is a no-op, so a poll cut off between handling and moving is harmless.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Client;
use futures_util::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::{Channel, Envelope, Inbound, InboundError};
use crate::config::{ConfigError, Settings, TlsMode};

/// Set on every message once handled (or refused), so it is not read again even
/// where it cannot be moved.
pub const HANDLED_FLAG: &str = "$NyhetsbrevHandled";
/// Set on a message refused for good (too large); it stays in the folder for staff.
pub const REFUSED_FLAG: &str = "$NyhetsbrevRefused";

/// At most this many messages per poll, so one poll ends in reasonable time.
const MESSAGES_PER_POLL: usize = 200;

/// A mailbox as given by `imap_url`.
#[derive(Clone)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    user: String,
    password: SecretString,
    /// The folder read, `INBOX` unless the URL names one.
    pub folder: String,
    /// Where handled mail goes; empty: only flagged.
    pub processed_folder: String,
    /// Certificates trusted besides the public roots (a private CA, a test server).
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("folder", &self.folder)
            .field("processed_folder", &self.processed_folder)
            .finish()
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Messages handled (including ones seen before).
    pub handled: usize,
    /// Messages refused for good (too large), flagged and left in the folder.
    pub refused: usize,
    /// Messages left for the next poll because handling failed for now.
    pub deferred: usize,
}

/// What `ImapMailbox::check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxCheck {
    /// Every folder the account has.
    pub folders: Vec<String>,
    /// Whether the folder read (the URL's path, `INBOX` by default) exists.
    pub folder_exists: bool,
    /// Whether `imap_processed_folder` exists (or none is set); the first poll makes it.
    pub processed_exists: bool,
    /// Messages in the read folder now.
    pub waiting: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("imap_url: {0}")]
    Config(String),
    #[error("could not reach the IMAP server {0}")]
    Connect(String),
    #[error("the IMAP server refused the login for {0}")]
    Login(String),
    #[error("IMAP: {0}")]
    Protocol(String),
    #[error("IMAP: no answer within {0:?}")]
    Timeout(Duration),
}

impl From<async_imap::error::Error> for ImapError {
    fn from(e: async_imap::error::Error) -> Self {
        ImapError::Protocol(e.to_string())
    }
}

impl ImapMailbox {
    /// The mailbox `settings` name, when `imap_url` is set. Beside the type rather than
    /// in `startup`, so that `doctor` checks the very mailbox `serve` would poll.
    pub fn from_settings(settings: &Settings) -> Result<Option<ImapMailbox>, ConfigError> {
        let Some(url) = &settings.imap_url else {
            return Ok(None);
        };
        ImapMailbox::from_url(
            url.expose_secret(),
            &settings.imap_processed_folder,
            settings.imap_ca_file.as_deref(),
            settings.smtp_timeout(),
        )
        .map(Some)
        .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// Parses `imap://user:pass@host[:port][/FOLDER][?tls=starttls|none]` or
    /// `imaps://user:pass@host[:port][/FOLDER]`. The error never repeats the password.
    pub fn from_url(
        raw: &str,
        processed_folder: &str,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, ImapError> {
        let bad = |m: &str| ImapError::Config(m.to_owned());
        let url =
            url::Url::parse(raw).map_err(|e| ImapError::Config(format!("not a URL ({e})")))?;
        let mut tls = match url.scheme() {
            "imap" => TlsMode::StartTls,
            "imaps" => TlsMode::Implicit,
            other => {
                return Err(ImapError::Config(format!(
                    "scheme {other}: use imaps:// (TLS) or imap:// (STARTTLS)"
                )));
            }
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "starttls" | "required", TlsMode::StartTls) => {}
                ("tls", "none", TlsMode::StartTls) => tls = TlsMode::None,
                _ => {
                    return Err(ImapError::Config(format!(
                        "unknown option {key}={value}: the only option is tls=starttls|none (imap://)"
                    )));
                }
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("names no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 993,
            _ => 143,
        });
        let decode = |s: &str| {
            crate::config::percent_decode(s)
                .ok_or_else(|| bad("user or password is not valid percent-encoding"))
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(bad("names no user (imaps://user:password@host/INBOX)"));
        }
        let password = SecretString::from(decode(url.password().unwrap_or(""))?);
        let folder = decode(url.path().trim_start_matches('/'))?;
        let folder = if folder.is_empty() {
            "INBOX".to_owned()
        } else {
            folder
        };
        let mut extra_roots = Vec::new();
        if let Some(path) = ca_file {
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| ImapError::Config(format!("imap_ca_file {}: {e}", path.display())))?
            {
                extra_roots.push(cert.map_err(|e| {
                    ImapError::Config(format!("imap_ca_file {}: {e}", path.display()))
                })?);
            }
        }
        Ok(Self {
            host,
            port,
            tls,
            user,
            password,
            folder,
            processed_folder: processed_folder.to_owned(),
            extra_roots,
            timeout,
        })
    }

    /// The same mailbox with another limit per step.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// `imap[s]://user@host:port/folder`, without the password.
    pub fn describe(&self) -> String {
        let scheme = if self.tls == TlsMode::Implicit {
            "imaps"
        } else {
            "imap"
        };
        format!(
            "{scheme}://{}@{}:{}/{}",
            self.user, self.host, self.port, self.folder
        )
    }

    async fn tls(&self, tcp: TcpStream) -> Result<MailStream, ImapError> {
        let stream = crate::mail::tls_handshake(&self.host, tcp, &self.extra_roots)
            .await
            .map_err(|e| ImapError::Connect(format!("{}: TLS: {e}", self.host)))?;
        Ok(MailStream::Tls(Box::new(stream)))
    }

    async fn session(&self) -> Result<async_imap::Session<MailStream>, ImapError> {
        let address = format!("{}:{}", self.host, self.port);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| ImapError::Connect(format!("{address}: {e}")))?;
        let client = match self.tls {
            TlsMode::Implicit => {
                let mut client = Client::new(self.tls(tcp).await?);
                greeting(&mut client).await?;
                client
            }
            TlsMode::None => {
                let mut client = Client::new(MailStream::Plain(tcp));
                greeting(&mut client).await?;
                client
            }
            TlsMode::StartTls => {
                let mut client = Client::new(MailStream::Plain(tcp));
                greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| {
                    ImapError::Protocol(format!("{address} refused STARTTLS ({e}); use imaps:// or, on a trusted network only, ?tls=none"))
                })?;
                let MailStream::Plain(tcp) = client.into_inner() else {
                    unreachable!("the stream was plain before STARTTLS");
                };
                // No greeting after STARTTLS.
                Client::new(self.tls(tcp).await?)
            }
        };
        client
            .login(&self.user, self.password.expose_secret())
            .await
            .map_err(|(e, _)| ImapError::Login(format!("{} ({e})", self.user)))
    }

    /// Logs in and looks at the folders without changing anything (for `nyhetsbrev
    /// doctor`): the read folder opened read-only (EXAMINE), the processed one only listed.
    pub async fn check(&self) -> Result<MailboxCheck, ImapError> {
        let deadline = self.timeout * 3;
        tokio::time::timeout(deadline, self.check_inner())
            .await
            .map_err(|_| ImapError::Timeout(deadline))?
    }

    async fn check_inner(&self) -> Result<MailboxCheck, ImapError> {
        let mut session = self.session().await?;
        let folders: Vec<String> = session
            .list(None, Some("*"))
            .await?
            .map_ok(|name| name.name().to_owned())
            .try_collect()
            .await?;
        let same = |a: &str, b: &str| {
            a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
        };
        let has = |wanted: &str| folders.iter().any(|f| same(f, wanted));
        let waiting = if has(&self.folder) {
            Some(session.examine(&self.folder).await?.exists)
        } else {
            None
        };
        let processed_exists = self.processed_folder.is_empty() || has(&self.processed_folder);
        let _ = session.logout().await;
        Ok(MailboxCheck {
            folder_exists: waiting.is_some(),
            processed_exists,
            waiting: waiting.unwrap_or(0),
            folders,
        })
    }

    /// Handles every message waiting in the folder (up to [`MESSAGES_PER_POLL`]).
    pub async fn poll_once(&self, inbound: &Inbound) -> Result<PollReport, ImapError> {
        let deadline = self.timeout * 10;
        tokio::time::timeout(deadline, self.poll_inner(inbound))
            .await
            .map_err(|_| ImapError::Timeout(deadline))?
    }

    async fn poll_inner(&self, inbound: &Inbound) -> Result<PollReport, ImapError> {
        let mut session = self.session().await?;
        if !self.processed_folder.is_empty() {
            // Fails harmlessly when the folder exists.
            let _ = session.create(&self.processed_folder).await;
        }
        session.select(&self.folder).await?;
        let capabilities = session.capabilities().await?;
        let can_move = capabilities.has_str("MOVE");
        let mut uids: Vec<u32> = session
            .uid_search(format!("UNKEYWORD {HANDLED_FLAG}"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        uids.truncate(MESSAGES_PER_POLL);
        let mut report = PollReport::default();
        for uid in uids {
            // The size first: an oversized message is left for staff without being
            // downloaded (a mailbox can hold messages far larger than memory allows).
            let sized: Vec<_> = session
                .uid_fetch(uid.to_string(), "RFC822.SIZE")
                .await?
                .try_collect()
                .await?;
            let size = sized.iter().find_map(|f| f.size).map_or(0, |s| s as usize);
            if size > inbound.max_size() {
                tracing::warn!(
                    uid,
                    size,
                    limit = inbound.max_size(),
                    "IMAP message over inbound_max_size: not fetched, left in the folder for staff"
                );
                self.set_flag(&mut session, uid, REFUSED_FLAG).await?;
                self.set_flag(&mut session, uid, HANDLED_FLAG).await?;
                report.refused += 1;
                continue;
            }
            let fetched: Vec<_> = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await?
                .try_collect()
                .await?;
            let Some(raw) = fetched.iter().find_map(|f| f.body()) else {
                continue;
            };
            let envelope = Envelope::default();
            match inbound.handle(raw, Channel::Imap, &envelope).await {
                Ok(handled) => {
                    tracing::info!(uid, id = %handled.id, kind = %handled.kind, "IMAP message handled");
                    self.set_flag(&mut session, uid, HANDLED_FLAG).await?;
                    if !self.processed_folder.is_empty() {
                        if can_move {
                            session
                                .uid_mv(uid.to_string(), &self.processed_folder)
                                .await?;
                        } else {
                            // COPY keeps the original in place, flagged: never delete.
                            session
                                .uid_copy(uid.to_string(), &self.processed_folder)
                                .await?;
                        }
                    }
                    report.handled += 1;
                }
                Err(e @ InboundError::TooLarge { .. }) => {
                    tracing::warn!(uid, error = %e, "IMAP message refused; left in the folder for staff");
                    self.set_flag(&mut session, uid, REFUSED_FLAG).await?;
                    self.set_flag(&mut session, uid, HANDLED_FLAG).await?;
                    report.refused += 1;
                }
                Err(e) => {
                    // The database or the relay is away: the rest waits for the next poll.
                    tracing::warn!(uid, error = %e, "IMAP message left for the next poll");
                    report.deferred += 1;
                    break;
                }
            }
        }
        let _ = session.logout().await;
        Ok(report)
    }

    async fn set_flag(
        &self,
        session: &mut async_imap::Session<MailStream>,
        uid: u32,
        flag: &str,
    ) -> Result<(), ImapError> {
        let _: Vec<_> = session
            .uid_store(uid.to_string(), format!("+FLAGS ({flag})"))
            .await?
            .try_collect()
            .await?;
        Ok(())
    }

    /// Polls every `interval` until `shutdown` turns true. Errors are logged and the
    /// next poll tries again.
    pub async fn run(
        &self,
        inbound: &Inbound,
        interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!(mailbox = %self.describe(), "reading inbound mail");
        loop {
            match self.poll_once(inbound).await {
                Ok(report) if report != PollReport::default() => {
                    tracing::info!(?report, "mailbox polled");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mailbox poll failed; trying again later"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

async fn greeting(client: &mut Client<MailStream>) -> Result<(), ImapError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Protocol(
            "the server closed the connection".into(),
        )),
        Err(e) => Err(ImapError::Protocol(e.to_string())),
    }
}

/// A plain or TLS connection, one type for the IMAP client.
#[derive(Debug)]
enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<ImapMailbox, ImapError> {
        ImapMailbox::from_url(url, "Behandlet", None, Duration::from_secs(5))
    }

    #[test]
    fn urls_give_host_port_tls_and_folder() {
        let m = parse("imaps://kom%40example.no:hemmelig%2F1@imap.example.no/Innboks").unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.tls),
            ("imap.example.no", 993, TlsMode::Implicit)
        );
        assert_eq!(m.user, "kom@example.no");
        assert_eq!(m.password.expose_secret(), "hemmelig/1");
        assert_eq!(m.folder, "Innboks");
        let m = parse("imap://kom:pw@127.0.0.1:1430?tls=none").unwrap();
        assert_eq!(
            (m.port, m.tls, m.folder.as_str()),
            (1430, TlsMode::None, "INBOX")
        );
        assert_eq!(parse("imap://kom:pw@h").unwrap().tls, TlsMode::StartTls);
    }

    #[test]
    fn bad_urls_are_explained_without_the_password() {
        for url in [
            "pop3://kom:hemmelig@h",
            "imaps://kom:hemmelig@h?tls=none",
            "imaps://:hemmelig@h",
            "imap://kom:hemmelig%zz@h",
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(!e.contains("hemmelig"), "{e}");
            assert!(e.starts_with("imap_url: "), "{e}");
        }
        assert!(!format!("{:?}", parse("imaps://kom:hemmelig@h").unwrap()).contains("hemmelig"));
    }

    #[test]
    fn the_mailbox_never_shows_its_password() {
        let settings = Settings {
            imap_url: Some("imaps://kom:hemmelig-imap@imap.example.org/INBOX".into()),
            ..Default::default()
        };
        let mailbox = ImapMailbox::from_settings(&settings).unwrap().unwrap();
        let shown = format!("{mailbox:?} {}", mailbox.describe());
        assert!(!shown.contains("hemmelig-imap"), "{shown}");
        assert!(shown.contains("imap.example.org"), "{shown}");
    }
}
