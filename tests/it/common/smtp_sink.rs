//! An SMTP server for tests, on a random loopback port, that records every message it
//! accepts. It speaks real SMTP over TCP, so the code under test runs its real client;
//! tests can make it answer 4xx or 5xx for chosen recipients, drop connections, stall,
//! or refuse to serve at all (a relay that is down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

/// What the sink does instead of accepting.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Answers to RCPT TO for an address (lower-case): each entry is used once, in
    /// order; when they run out the recipient is accepted.
    pub rcpt_replies: HashMap<String, Vec<&'static str>>,
    /// Answers to RCPT TO for an address, every time.
    pub rcpt_always: HashMap<String, &'static str>,
    /// Close every new connection at once, without a greeting.
    pub down: bool,
    /// After the message data, answer nothing (the client must time out).
    pub stall_after_data: bool,
    /// After the message data, close the connection without an answer, this many times.
    pub drop_after_data: usize,
    /// Offer AUTH PLAIN and require this user and password before MAIL.
    pub require_auth: Option<(String, String)>,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    connections: Arc<Mutex<usize>>,
    /// Sessions not yet over (a client gone mid-message ends its session at once).
    open_sessions: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            received: Arc::default(),
            behaviour: Arc::default(),
            connections: Arc::default(),
            open_sessions: Arc::default(),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *server.connections.lock().unwrap() += 1;
                server.open_sessions.fetch_add(1, Ordering::SeqCst);
                let session = server.clone();
                tokio::spawn(async move {
                    let _ = session.serve(stream).await;
                    session.open_sessions.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        sink
    }

    /// `smtp_url` for this sink (plain text: it is on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.behaviour.lock().unwrap());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }

    /// Waits until every session is over (its client said QUIT or went away), or
    /// panics after `within`: what the sink has then is all it will get.
    pub async fn wait_until_idle(&self, within: Duration) {
        super::eventually("the sink's sessions end", within, async || {
            let open = self.open_sessions.load(Ordering::SeqCst);
            super::ok_if(open == 0, format!("{open} open sessions"))
        })
        .await
    }

    /// Waits until at least `n` messages have arrived, or panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let what = format!("the sink gets {n} messages");
        super::eventually(&what, within, async || {
            let received = self.received();
            if received.len() >= n {
                Ok(received)
            } else {
                Err(format!("{} messages", received.len()))
            }
        })
        .await
    }

    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        if self.behaviour.lock().unwrap().down {
            return Ok(()); // dropped: no greeting
        }
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        let required = self.behaviour.lock().unwrap().require_auth.clone();
        let mut authenticated = required.is_none();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                if required.is_some() {
                    "250-sink.test\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SIZE 10000000".into()
                } else {
                    "250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000".into()
                }
            } else if upper.starts_with("AUTH PLAIN ") {
                use base64::Engine;
                let given = base64::engine::general_purpose::STANDARD
                    .decode(command[11..].trim())
                    .unwrap_or_default();
                let (user, password) = required.clone().unwrap_or_default();
                if given == format!("\0{user}\0{password}").into_bytes() {
                    authenticated = true;
                    "235 2.7.0 Authentication successful".into()
                } else {
                    "535 5.7.8 Authentication credentials invalid".into()
                }
            } else if upper.starts_with("MAIL FROM:") && !authenticated {
                "530 5.7.0 Authentication required".into()
            } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
                "250 OK".into()
            } else if upper.starts_with("RSET") {
                mail_from.clear();
                rcpt_to.clear();
                "250 OK".into()
            } else if upper.starts_with("MAIL FROM:") {
                mail_from = angle(&command[10..]);
                rcpt_to.clear();
                "250 OK".into()
            } else if upper.starts_with("RCPT TO:") {
                let to = angle(&command[8..]);
                match self.rcpt_reply(&to) {
                    Some(reply) => reply.to_owned(),
                    None => {
                        rcpt_to.push(to);
                        "250 OK".into()
                    }
                }
            } else if upper == "DATA" {
                if rcpt_to.is_empty() {
                    "554 no valid recipients".into()
                } else {
                    write.write_all(b"354 go ahead\r\n").await?;
                    let data = read_data(&mut lines).await?;
                    let (stall, drop) = {
                        let mut b = self.behaviour.lock().unwrap();
                        let drop = b.drop_after_data > 0;
                        if drop {
                            b.drop_after_data -= 1;
                        }
                        (b.stall_after_data, drop)
                    };
                    if stall {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    if drop {
                        return Ok(());
                    }
                    self.received.lock().unwrap().push(Received {
                        mail_from: std::mem::take(&mut mail_from),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                    });
                    "250 queued".into()
                }
            } else if upper.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                "502 not implemented".into()
            };
            write.write_all(reply.as_bytes()).await?;
            write.write_all(b"\r\n").await?;
        }
    }

    fn rcpt_reply(&self, to: &str) -> Option<&'static str> {
        let mut b = self.behaviour.lock().unwrap();
        let key = to.to_lowercase();
        if let Some(reply) = b.rcpt_always.get(&key) {
            return Some(reply);
        }
        let queue = b.rcpt_replies.get_mut(&key)?;
        (!queue.is_empty()).then(|| queue.remove(0))
    }
}

/// The address in `<…>` of a MAIL FROM or RCPT TO argument (parameters after it ignored).
fn angle(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(open), Some(close)) if open < close => s[open + 1..close].to_owned(),
        _ => s.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}
