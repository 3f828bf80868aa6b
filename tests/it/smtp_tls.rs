//! TLS to the relay against a server that speaks it: a scripted SMTP server in the test
//! with a certificate from a test CA (trusted through `smtp_ca_file`), STARTTLS and
//! implicit TLS. It can misbehave as a man in the middle would: drop STARTTLS from its
//! offer, or append text to its STARTTLS reply before the handshake.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nyhetsbrev::mail::{Envelope, SendError, SmtpRelay, Transport};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

#[derive(Clone, Copy, PartialEq)]
enum Script {
    /// STARTTLS offered and done properly.
    Honest,
    /// STARTTLS not offered (stripped on the way).
    NoStartTls,
    /// Text appended to the STARTTLS reply, before the handshake.
    Injects,
    /// TLS from the first byte.
    Implicit,
}

struct FakeRelay {
    port: u16,
    /// Message data received over TLS.
    received: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
}

fn acceptor(ca: &common::tls::TestCa) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<_> = CertificateDer::pem_file_iter(&ca.cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&ca.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

impl FakeRelay {
    async fn start(script: Script) -> FakeRelay {
        let dir = tempfile::tempdir().unwrap();
        let ca = common::tls::make(dir.path(), "127.0.0.1");
        let acceptor = acceptor(&ca);
        // Every loopback address: 127.0.0.2 reaches it too, under a name the
        // certificate does not have.
        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    if script == Script::Implicit {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let mut tls = BufReader::new(tls);
                        let _ = tls.get_mut().write_all(b"220 fake ESMTP\r\n").await;
                        dialogue(tls, store).await;
                        return;
                    }
                    let _ = tcp.write_all(b"220 fake ESMTP\r\n").await;
                    // Plain text, read by line (this side does not care about read-ahead).
                    let mut line = String::new();
                    let mut plain = BufReader::new(&mut tcp);
                    loop {
                        line.clear();
                        if plain.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim().to_uppercase();
                        let offer: &[u8] = if script == Script::NoStartTls {
                            b"250-fake\r\n250 8BITMIME\r\n"
                        } else {
                            b"250-fake\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
                        };
                        if command.starts_with("EHLO") {
                            let _ = plain.get_mut().write_all(offer).await;
                        } else if command == "STARTTLS" {
                            let reply: &[u8] = if script == Script::Injects {
                                b"220 Go ahead\r\n250-fake\r\n250 AUTH PLAIN\r\n"
                            } else {
                                b"220 Go ahead\r\n"
                            };
                            let _ = plain.get_mut().write_all(reply).await;
                            break;
                        } else if command == "QUIT" {
                            let _ = plain.get_mut().write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            let _ = plain.get_mut().write_all(b"530 STARTTLS first\r\n").await;
                        }
                    }
                    drop(plain);
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    dialogue(BufReader::new(tls), store).await;
                });
            }
        });
        FakeRelay {
            port,
            received,
            ca: ca.ca.clone(),
            _dir: dir,
        }
    }

    fn relay(&self, host: &str, trust: bool) -> SmtpRelay {
        let relay = SmtpRelay::from_url(
            &format!("smtp://{host}:{}", self.port),
            Duration::from_secs(5),
        )
        .unwrap();
        if trust {
            relay.with_ca_file(&self.ca).unwrap()
        } else {
            relay
        }
    }

    fn implicit_relay(&self) -> SmtpRelay {
        SmtpRelay::from_url(
            &format!("smtps://localhost:{}", self.port),
            Duration::from_secs(5),
        )
        .unwrap()
        .with_ca_file(&self.ca)
        .unwrap()
    }
}

/// The dialogue after TLS: EHLO, MAIL, RCPT, DATA, QUIT.
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: BufReader<S>,
    store: Arc<Mutex<Vec<String>>>,
) {
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim().to_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-fake over TLS\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL") || command.starts_with("RCPT") {
            b"250 ok\r\n"
        } else if command == "DATA" {
            let _ = stream.get_mut().write_all(b"354 go on\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            store.lock().unwrap().push(data);
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = stream.get_mut().write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"500 what\r\n"
        };
        let _ = stream.get_mut().write_all(reply).await;
    }
}

fn envelope() -> Envelope {
    Envelope {
        from: Some("nyhetsbrev@example.no".parse().unwrap()),
        to: "kari@example.org".parse().unwrap(),
    }
}

async fn send(relay: SmtpRelay) -> Result<(), SendError> {
    Transport::Smtp(Arc::new(relay))
        .send(&envelope(), b"Subject: TLS\r\n\r\nHei over TLS\r\n")
        .await
}

#[tokio::test]
async fn starttls_with_a_trusted_certificate_sends() {
    let fake = FakeRelay::start(Script::Honest).await;
    send(fake.relay("localhost", true)).await.unwrap();
    let received = fake.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert!(received[0].contains("Hei over TLS"), "{received:?}");
}

#[tokio::test]
async fn implicit_tls_with_a_trusted_certificate_sends() {
    let fake = FakeRelay::start(Script::Implicit).await;
    send(fake.implicit_relay()).await.unwrap();
    assert_eq!(fake.received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_or_a_wrong_name_is_refused() {
    let fake = FakeRelay::start(Script::Honest).await;
    let untrusted = send(fake.relay("localhost", false)).await.unwrap_err();
    assert!(untrusted.to_string().contains("TLS failed"), "{untrusted}");
    assert!(
        untrusted.to_string().to_lowercase().contains("certificate"),
        "{untrusted}"
    );
    // The certificate is for localhost and 127.0.0.1; 127.0.0.2 is the same server
    // under a name it does not carry.
    let wrong = send(fake.relay("127.0.0.2", true)).await.unwrap_err();
    assert!(wrong.to_string().contains("TLS failed"), "{wrong}");
    assert!(
        wrong.to_string().to_lowercase().contains("not valid for"),
        "{wrong}"
    );
    assert!(fake.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_relay_that_drops_starttls_is_refused() {
    let fake = FakeRelay::start(Script::NoStartTls).await;
    let refused = send(fake.relay("localhost", true)).await.unwrap_err();
    assert!(
        refused.to_string().contains("does not offer STARTTLS"),
        "{refused}"
    );
}

/// Text appended to the STARTTLS reply must never be read as if it came through TLS
/// (lettre's own STARTTLS kept it in its read buffer across the upgrade).
#[tokio::test]
async fn text_injected_before_the_handshake_is_refused() {
    let fake = FakeRelay::start(Script::Injects).await;
    let refused = send(fake.relay("localhost", true)).await.unwrap_err();
    assert!(refused.to_string().contains("injected"), "{refused}");
    assert!(fake.received.lock().unwrap().is_empty());
}

/// `nyhetsbrev doctor` against the same relay: a valid certificate passes and says so;
/// an untrusted CA, a wrong host name and a relay without STARTTLS each fail with a fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_checks_the_relays_tls() {
    use nyhetsbrev::ops::doctor::{self, Status};
    let honest = FakeRelay::start(Script::Honest).await;
    let stripped = FakeRelay::start(Script::NoStartTls).await;
    let dir = tempfile::tempdir().unwrap();
    let relay_finding = |url: String, ca: Option<&std::path::Path>| {
        let file = dir.path().join("nyhetsbrev.toml");
        let mut text = format!(
            "database_url = \"sqlite://{}\"\ntoken_key = \"{}\"\nsmtp_url = \"{url}\"\n",
            dir.path().join("n.db").display(),
            common::TEST_TOKEN_KEY
        );
        if let Some(ca) = ca {
            text.push_str(&format!("smtp_ca_file = \"{}\"\n", ca.display()));
        }
        std::fs::write(&file, text).unwrap();
        async move {
            doctor::examine(Some(&file))
                .await
                .findings
                .into_iter()
                .find(|f| f.check == "relay")
                .unwrap()
        }
    };

    let ok = relay_finding(
        format!("smtp://localhost:{}", honest.port),
        Some(&honest.ca),
    )
    .await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert!(
        ok.detail
            .contains("STARTTLS): connected, EHLO, TLS certificate valid"),
        "{ok:?}"
    );
    assert!(
        honest.received.lock().unwrap().is_empty(),
        "nothing was sent"
    );

    let untrusted = relay_finding(format!("smtp://localhost:{}", honest.port), None).await;
    assert_eq!(untrusted.status, Status::Fail, "{untrusted:?}");
    assert!(
        untrusted.fix.as_deref().unwrap().contains("smtp_ca_file"),
        "{untrusted:?}"
    );

    // 127.0.0.2 reaches the relay, but its certificate does not name it.
    let wrong_name = relay_finding(
        format!("smtp://127.0.0.2:{}", honest.port),
        Some(&honest.ca),
    )
    .await;
    assert_eq!(wrong_name.status, Status::Fail, "{wrong_name:?}");
    assert!(
        wrong_name.fix.as_deref().unwrap().contains("certificate"),
        "{wrong_name:?}"
    );

    let no_starttls = relay_finding(
        format!("smtp://localhost:{}", stripped.port),
        Some(&stripped.ca),
    )
    .await;
    assert_eq!(no_starttls.status, Status::Fail, "{no_starttls:?}");
    assert!(
        no_starttls.detail.contains("does not offer STARTTLS"),
        "{no_starttls:?}"
    );
    assert!(
        no_starttls.fix.as_deref().unwrap().contains("smtps://"),
        "{no_starttls:?}"
    );
}
