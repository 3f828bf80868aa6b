//! `smtp_url`, read into plain values: where the relay is and how to talk to it.

use secrecy::SecretString;

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS, required: a server that does not offer it is refused (the default for
    /// `smtp://` and `imap://`).
    StartTls,
    /// TLS from the first byte (`smtps://`, usually port 465; `imaps://`).
    Implicit,
    /// Plain text (`?tls=none`): only for a server on loopback or a trusted network.
    None,
}

/// The relay as `smtp_url` gives it. `Debug` never shows the password.
#[derive(Clone)]
pub struct RelayUrl {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<(String, SecretString)>,
}

impl std::fmt::Debug for RelayUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

impl RelayUrl {
    /// Parses `smtp://[user:pass@]host[:port][?tls=starttls|none]` or
    /// `smtps://[user:pass@]host[:port]`. The error never repeats the password.
    pub fn parse(raw: &str) -> Result<RelayUrl, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("smtp_url is not a URL ({e})"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "smtp_url has scheme {other}: use smtp:// (STARTTLS) or smtps:// (TLS)"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("smtp_url names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut tls = if implicit {
            TlsMode::Implicit
        } else {
            TlsMode::StartTls
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "starttls" | "required") if !implicit => tls = TlsMode::StartTls,
                ("tls", "none") if !implicit => tls = TlsMode::None,
                ("tls", "implicit") => tls = TlsMode::Implicit,
                _ => {
                    return Err(format!(
                        "smtp_url has an unknown option {key}={value}: the only option is \
                         tls=starttls|none|implicit"
                    ));
                }
            }
        }
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 465,
            _ => 587,
        });
        let credentials = if url.username().is_empty() {
            None
        } else {
            let decode = |s: &str| {
                percent_decode(s).ok_or("smtp_url user or password is not valid percent-encoding")
            };
            Some((
                decode(url.username())?,
                SecretString::from(decode(url.password().unwrap_or(""))?),
            ))
        };
        Ok(RelayUrl {
            host,
            port,
            tls,
            credentials,
        })
    }
}

/// Decodes `%XX` escapes (user names and passwords in URLs); `None` if malformed.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
