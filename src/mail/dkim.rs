//! DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed, with the List-* headers
//! covered, so a receiver can tell that the unsubscribe headers came from us.
//!
//! Written here rather than taken from lettre because lettre signs only its own
//! `Message` type, and the messages here are assembled from pre-encoded parts. The
//! signing itself is ring's, which the TLS stack already brings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// Signed once more than they occur, present or not (oversigning, RFC 6376 8.15): a
/// verifier then counts an added second Subject, From or To, or an added Reply-To or Cc,
/// as a change, so a signed issue cannot be re-sent with a new subject or reply address.
const OVERSIGNED_HEADERS: &[&str] = &["from", "subject", "to", "reply-to", "cc"];

/// Headers signed when present, in this order. `Return-Path` is not: relays replace it.
const SIGNED_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
];

pub struct DkimSigner {
    domain: String,
    selector: String,
    key: RsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl std::fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigner")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl DkimSigner {
    /// An RSA key in PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(domain: &str, selector: &str, pem: &str) -> Result<DkimSigner, String> {
        let (label, der) = pem_body(pem).ok_or("the DKIM key file is not a PEM key")?;
        let key = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => return Err(format!("the DKIM key is a {other}, not an RSA private key")),
        }
        .map_err(|e| match e.to_string().as_str() {
            "TooSmall" => "the DKIM key has fewer than 2048 bits, too few to sign with today: \
                           make a 2048-bit key"
                .to_owned(),
            _ => format!("the DKIM key cannot be used: {e}"),
        })?;
        Ok(DkimSigner {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            key,
            rng: ring::rand::SystemRandom::new(),
        })
    }

    /// The key's size in bits.
    pub fn key_bits(&self) -> usize {
        self.key.public().modulus_len() * 8
    }

    /// The DNS TXT record that publishes this key: its name
    /// (`selector._domainkey.domain`) and its text (`v=DKIM1; k=rsa; p=…`, the public key
    /// as a SubjectPublicKeyInfo, the form `openssl rsa -pubout` writes and every
    /// verifier reads).
    pub fn dns_record(&self) -> (String, String) {
        let name = format!("{}._domainkey.{}", self.selector, self.domain);
        let spki = subject_public_key_info(self.key.public().as_ref());
        (name, format!("v=DKIM1; k=rsa; p={}", STANDARD.encode(spki)))
    }

    /// The message with a `DKIM-Signature` header in front.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let split = find(message, b"\r\n\r\n").ok_or("a message without a body")?;
        let (head, body) = (&message[..split + 2], &message[split + 4..]);
        let body_hash = STANDARD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            &relaxed_body(body),
        ));
        let headers = parse_headers(head);
        let mut signed_names = Vec::new();
        let mut data = Vec::with_capacity(2048);
        for &name in SIGNED_HEADERS {
            // The last occurrence is the one a verifier takes first.
            if let Some((raw_name, value)) = headers
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                relaxed_header(raw_name, value, &mut data);
                signed_names.push(name);
            }
        }
        // A name listed beyond its occurrences stands for an empty header: it adds
        // nothing to the signed data, only to h=.
        signed_names.extend_from_slice(OVERSIGNED_HEADERS);
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let unsigned = format!(
            "v=1; a=rsa-sha256; c=relaxed/relaxed; d={}; s={};\r\n\tt={timestamp}; h={};\r\n\tbh={body_hash};\r\n\tb=",
            self.domain,
            self.selector,
            signed_names.join(":"),
        );
        let mut canonical_self = Vec::new();
        relaxed_header("DKIM-Signature", unsigned.as_bytes(), &mut canonical_self);
        // Signed without its own line end (RFC 6376, 3.7).
        canonical_self.truncate(canonical_self.len() - 2);
        data.extend_from_slice(&canonical_self);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, &data, &mut signature)
            .map_err(|_| "RSA signing failed".to_owned())?;
        let mut out = Vec::with_capacity(message.len() + unsigned.len() + 400);
        out.extend_from_slice(b"DKIM-Signature: ");
        out.extend_from_slice(unsigned.as_bytes());
        out.extend_from_slice(STANDARD.encode(&signature).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(message);
        Ok(out)
    }
}

/// Wraps a DER `RSAPublicKey` (what ring gives) in a `SubjectPublicKeyInfo` with the
/// rsaEncryption algorithm.
fn subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
    const RSA_ENCRYPTION: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8]; // no unused bits
    bits.extend_from_slice(rsa_public_key);
    let mut body = RSA_ENCRYPTION.to_vec();
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

fn pem_body(pem: &str) -> Option<(String, Vec<u8>)> {
    let begin = pem.find("-----BEGIN ")?;
    let rest = &pem[begin + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end = rest.find("-----END ")?;
    let b64: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some((label, STANDARD.decode(b64).ok()?))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Header fields as (name, raw value with folding), in order.
fn parse_headers(head: &[u8]) -> Vec<(String, &[u8])> {
    let mut fields: Vec<(String, &[u8])> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < head.len() {
        if head[i] == b'\r' && head[i + 1] == b'\n' {
            let next = head.get(i + 2).copied();
            if !matches!(next, Some(b' ' | b'\t')) {
                let line = &head[start..i];
                if let Some(colon) = line.iter().position(|&b| b == b':') {
                    let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
                    fields.push((name, &line[colon + 1..]));
                }
                start = i + 2;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    fields
}

/// Relaxed header canonicalization: lower-case name, unfolded value with runs of
/// whitespace made one space and none at either end.
fn relaxed_header(name: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend(name.trim().bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Relaxed body canonicalization: whitespace runs made one space, none at line ends,
/// no empty lines at the end, and a final CRLF unless the body is empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut pending_space = false;
        for &b in line {
            if b == b' ' || b == b'\t' {
                pending_space = true;
            } else {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    while out.ends_with(b"\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    if out == b"\r\n" {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_body_follows_the_rfc_example() {
        // RFC 6376, 3.4.5.
        assert_eq!(
            relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C\r\nD E\r\n".to_vec()
        );
        assert_eq!(relaxed_body(b""), b"".to_vec());
        assert_eq!(relaxed_body(b"\r\n\r\n"), b"".to_vec());
    }

    #[test]
    fn relaxed_headers_follow_the_rfc_example() {
        let mut out = Vec::new();
        relaxed_header("A", b" X\r\n", &mut out);
        relaxed_header("B ", b" Y\t\r\n\tZ  \r\n", &mut out);
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n".to_vec());
    }

    #[test]
    fn folded_headers_are_one_field() {
        let head = b"Subject: a\r\n b\r\nTo: x@example.org\r\n";
        let fields = parse_headers(head);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].0, "Subject");
        assert_eq!(fields[0].1, b" a\r\n b");
    }
}
