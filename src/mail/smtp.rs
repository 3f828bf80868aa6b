//! Sending through an SMTP relay.
//!
//! Each sending task owns one connection, opened here over a tokio `TcpStream` with
//! `TCP_NODELAY`, and reuses it for message after message. lettre's pooled transport was
//! measured on this machine to stall about 40 ms per message for some sizes (it never
//! sets `TCP_NODELAY` and sends a NOOP each time it hands out a connection, which meets
//! the peer's delayed ACK). The SMTP dialogue itself is lettre's `AsyncSmtpConnection`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::extension::ClientId;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::transport::{Envelope, SendError};

pub use crate::config::TlsMode;

/// A relay as given by `smtp_url`.
#[derive(Clone)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    credentials: Option<(String, SecretString)>,
    /// How long one connect, command or message may take.
    pub timeout: Duration,
    hello: ClientId,
    /// Certificates to trust besides the public roots (`smtp_ca_file`).
    extra_roots: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpRelay {
    /// The relay `smtp_url` names (see `config::RelayUrl::parse`).
    pub fn from_url(raw: &str, timeout: Duration) -> Result<SmtpRelay, String> {
        crate::config::RelayUrl::parse(raw).map(|url| SmtpRelay::new(url, timeout))
    }

    pub fn new(url: crate::config::RelayUrl, timeout: Duration) -> SmtpRelay {
        SmtpRelay {
            host: url.host,
            port: url.port,
            tls: url.tls,
            credentials: url.credentials,
            timeout,
            hello: ClientId::default(),
            extra_roots: Vec::new(),
        }
    }

    /// Also trusts the PEM certificates in `path` (a private CA for the relay).
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<SmtpRelay, String> {
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let bad = |e: &dyn std::fmt::Display| format!("smtp_ca_file {}: {e}", path.display());
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            self.extra_roots.push(cert.map_err(|e| bad(&e))?);
        }
        if self.extra_roots.is_empty() {
            return Err(bad(&"no PEM certificate in it"));
        }
        Ok(self)
    }

    /// Opens a connection: TCP (no Nagle), greeting, EHLO, TLS as configured, AUTH.
    pub async fn connect(self: &Arc<Self>) -> Result<SmtpConnection, SendError> {
        tokio::time::timeout(self.timeout, self.connect_inner())
            .await
            .map_err(|_| {
                SendError::Unavailable(format!(
                    "no answer from the relay {}:{} within {} s",
                    self.host,
                    self.port,
                    self.timeout.as_secs()
                ))
            })?
    }

    async fn connect_inner(self: &Arc<Self>) -> Result<SmtpConnection, SendError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Unavailable(format!("{what} {}:{}: {e}", self.host, self.port))
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| unavailable("could not connect to the relay", &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| unavailable("could not set up the connection to", &e))?;
        let stream: Box<dyn AsyncTokioStream> = match self.tls {
            TlsMode::Implicit => Box::new(RelayTls {
                stream: tls_handshake(&self.host, tcp, &self.extra_roots)
                    .await
                    .map_err(|e| unavailable("TLS failed with the relay", &e))?,
                replay: Vec::new(),
            }),
            TlsMode::StartTls => Box::new(self.starttls(tcp).await?),
            TlsMode::None => Box::new(tcp),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| unavailable("the relay did not greet us properly at", &e))?;
        if let Some((user, password)) = &self.credentials {
            let credentials = Credentials::new(user.clone(), password.expose_secret().to_owned());
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| {
                    SendError::Unavailable(format!(
                        "the relay {}:{} refused the login of {user}: {e}",
                        self.host, self.port
                    ))
                })?;
        }
        Ok(SmtpConnection {
            inner: connection,
            timeout: self.timeout,
            timed_out: false,
        })
    }
}

/// One open connection to the relay.
pub struct SmtpConnection {
    inner: AsyncSmtpConnection,
    timeout: Duration,
    /// The relay stopped answering mid-dialogue: the connection is only dropped (lettre's
    /// own `abort` would send QUIT and wait for an answer that may never come).
    timed_out: bool,
}

impl SmtpConnection {
    /// Sends one message. After an `Unavailable` or `Transient` error from a broken
    /// connection, [`SmtpConnection::is_usable`] says whether to open a new one.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let lettre_envelope =
            lettre::address::Envelope::new(envelope.from.clone(), vec![envelope.to.clone()])
                .map_err(|e| SendError::Permanent(format!("bad envelope: {e}")))?;
        match tokio::time::timeout(self.timeout, self.inner.send(&lettre_envelope, message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => {
                // The dialogue is in an unknown state: this connection is done.
                self.timed_out = true;
                Err(SendError::Transient(format!(
                    "the relay did not answer within {} s",
                    self.timeout.as_secs()
                )))
            }
        }
    }

    /// False once the connection broke or timed out; a new one must be opened.
    pub fn is_usable(&self) -> bool {
        !self.timed_out && !self.inner.has_broken()
    }

    /// Says goodbye politely if the relay still listens; errors do not matter any more.
    pub async fn quit(mut self) {
        if self.is_usable() {
            let _ = tokio::time::timeout(self.timeout, self.inner.quit()).await;
        }
    }
}

/// Sorts a relay's answer: 5xx is final for this message, everything else may work later.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

impl SmtpRelay {
    /// The plain-text part of a STARTTLS connection, done here rather than by lettre:
    /// lettre reads the reply to STARTTLS through a buffer that it keeps across the TLS
    /// upgrade, so text a man in the middle appends to that reply ("220 Go ahead\r\n250
    /// …") would be read later as if it had come through TLS. Here every reply is read
    /// byte by byte, nothing is read ahead, and anything the relay sends between its
    /// STARTTLS reply and the TLS handshake is refused. Returns the TLS stream, set up
    /// to replay a greeting for lettre's dialogue (which starts by reading one).
    async fn starttls(&self, mut tcp: TcpStream) -> Result<RelayTls, SendError> {
        use tokio::io::AsyncWriteExt;
        let refuse = |what: String| {
            SendError::Unavailable(format!("the relay {}:{} {what}", self.host, self.port))
        };
        let io = |e: std::io::Error| refuse(format!("broke off the connection ({e})"));
        let greeting = read_reply(&mut tcp).await.map_err(io)?;
        if !greeting.starts_with("220") {
            return Err(refuse(format!("did not greet us: {}", one_line(&greeting))));
        }
        tcp.write_all(format!("EHLO {}\r\n", self.hello).as_bytes())
            .await
            .map_err(io)?;
        let ehlo = read_reply(&mut tcp).await.map_err(io)?;
        let offers_starttls = ehlo.starts_with("250")
            && ehlo.lines().any(|line| {
                line.get(4..)
                    .is_some_and(|ext| ext.trim().eq_ignore_ascii_case("STARTTLS"))
            });
        if !offers_starttls {
            return Err(refuse(
                "does not offer STARTTLS, which is required: use smtps:// or, on a trusted \
                 network only, ?tls=none"
                    .into(),
            ));
        }
        tcp.write_all(b"STARTTLS\r\n").await.map_err(io)?;
        let reply = read_reply(&mut tcp).await.map_err(io)?;
        if !reply.starts_with("220") {
            return Err(refuse(format!("refused STARTTLS: {}", one_line(&reply))));
        }
        let mut probe = [0u8; 1];
        if matches!(tcp.try_read(&mut probe), Ok(n) if n > 0) {
            return Err(refuse(
                "sent data after its STARTTLS reply, before TLS (text injected on the way?): \
                 refused"
                    .into(),
            ));
        }
        let stream = tls_handshake(&self.host, tcp, &self.extra_roots)
            .await
            .map_err(|e| refuse(format!("TLS failed: {e}")))?;
        Ok(RelayTls {
            stream,
            replay: b"220 TLS established\r\n".to_vec(),
        })
    }
}

/// An SMTP reply (all its lines), read one byte at a time so that nothing after it is
/// taken off the socket. At most 16 KiB.
async fn read_reply(tcp: &mut TcpStream) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    let mut reply = Vec::new();
    let mut line_start = 0;
    loop {
        let byte = tcp.read_u8().await?;
        reply.push(byte);
        if reply.len() > 16 * 1024 {
            return Err(std::io::Error::other("a reply longer than 16 KiB"));
        }
        if byte == b'\n' {
            let line = &reply[line_start..];
            // "250-…" continues, "250 …" (or a bare code) ends the reply.
            if line.len() < 4 || line[3] != b'-' {
                return Ok(String::from_utf8_lossy(&reply).into_owned());
            }
            line_start = reply.len();
        }
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A TLS stream that lettre can speak SMTP over: lettre's own connect cannot be given a
/// socket with `TCP_NODELAY` set (and its STARTTLS keeps a plain-text buffer), so the
/// handshake is done here. After STARTTLS the relay sends no new greeting, but lettre's
/// dialogue begins by reading one: `replay` holds it.
#[derive(Debug)]
struct RelayTls {
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    replay: Vec<u8>,
}

/// A TLS client handshake over `tcp` (ring, safe protocol versions), verifying `host`
/// against the public web roots and any `extra_roots` (a private CA).
pub(crate) async fn tls_handshake(
    host: &str,
    tcp: TcpStream,
    extra_roots: &[tokio_rustls::rustls::pki_types::CertificateDer<'static>],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = tokio_rustls::rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(std::io::Error::other)?;
    }
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(std::io::Error::other)?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

impl AsyncRead for RelayTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..n]);
            self.replay.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for RelayTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for RelayTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.stream.get_ref().0.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpRelay, String> {
        SmtpRelay::from_url(url, Duration::from_secs(30))
    }

    #[test]
    fn starttls_is_required_unless_switched_off() {
        let relay = parse("smtp://relay.example.org").unwrap();
        assert_eq!((relay.tls, relay.port), (TlsMode::StartTls, 587));
        let relay = parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((relay.tls, relay.port), (TlsMode::None, 2525));
        let relay = parse("smtps://relay.example.org").unwrap();
        assert_eq!((relay.tls, relay.port), (TlsMode::Implicit, 465));
    }

    #[test]
    fn credentials_are_decoded_and_never_printed() {
        let relay = parse("smtp://kom%40example.org:hemmelig%21@relay.example.org").unwrap();
        let (user, password) = relay.credentials.as_ref().unwrap();
        assert_eq!(user, "kom@example.org");
        assert_eq!(password.expose_secret(), "hemmelig!");
        assert!(!format!("{relay:?}").contains("hemmelig"));
    }

    #[test]
    fn bad_urls_are_explained() {
        assert!(parse("http://relay").unwrap_err().contains("smtp://"));
        assert!(
            parse("smtp://relay?tls=maybe")
                .unwrap_err()
                .contains("tls=")
        );
        let err = parse("smtp://user:hemmelig@relay?x=1").unwrap_err();
        assert!(!err.contains("hemmelig"), "{err}");
    }
}
