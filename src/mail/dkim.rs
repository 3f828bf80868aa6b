//! DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed, with the List-* headers
//! covered, so a receiver can tell that the unsubscribe headers came from us; and,
//! when a second key is set, an ed25519-sha256 signature beside it (RFC 8463).
//!
//! Written here rather than taken from lettre because lettre signs only its own
//! `Message` type, and the messages here are assembled from pre-encoded parts. The
//! signing itself is AWS-LC's (aws-lc-rs): its RSA is about twice ring's speed on the
//! machines this runs on, and a signature per message is what bounds a signed send.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

use crate::config::{ConfigError, Settings};

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
    rng: aws_lc_rs::rand::SystemRandom,
    /// The second signature's selector and key.
    ed25519: Option<(String, Ed25519KeyPair)>,
    /// One permit per core: how many signatures are computed at once.
    pool: tokio::sync::Semaphore,
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
    /// The signer `settings` ask for, when `dkim_selector` and `dkim_key_file` are set;
    /// it signs for the domain of `from_address`. The key files are read here, once.
    /// Beside the type rather than in `startup`, so that `doctor` checks the very signer
    /// `serve` would build.
    pub fn from_settings(settings: &Settings) -> Result<Option<DkimSigner>, ConfigError> {
        let Some((selector, file)) = settings.dkim()? else {
            return Ok(None);
        };
        let bad = |e: &dyn std::fmt::Display| {
            ConfigError::Invalid(format!("dkim_key_file {}: {e}", file.display()))
        };
        let pem = std::fs::read_to_string(file).map_err(|e| bad(&e))?;
        let from = settings.from_address()?;
        let domain = super::header_address(&from)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?
            .domain()
            .to_owned();
        let signer = DkimSigner::from_pem(&domain, selector, &pem).map_err(|e| bad(&e))?;
        let signer = match settings.dkim_ed25519()? {
            Some((selector, file)) => {
                let bad = |e: &dyn std::fmt::Display| {
                    ConfigError::Invalid(format!("dkim_ed25519_key_file {}: {e}", file.display()))
                };
                let pem = std::fs::read_to_string(file).map_err(|e| bad(&e))?;
                signer.with_ed25519(&selector, &pem).map_err(|e| bad(&e))?
            }
            None => signer,
        };
        Ok(Some(signer))
    }

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
            rng: aws_lc_rs::rand::SystemRandom::new(),
            ed25519: None,
            pool: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        })
    }

    /// Adds the Ed25519 signature (RFC 8463) under `selector`, with a key in PEM: PKCS#8
    /// as `openssl genpkey -algorithm ed25519` writes it.
    pub fn with_ed25519(mut self, selector: &str, pem: &str) -> Result<DkimSigner, String> {
        let (label, der) = pem_body(pem).ok_or("the Ed25519 key file is not a PEM key")?;
        if label != "PRIVATE KEY" {
            return Err(format!("the Ed25519 key is a {label}, not a private key"));
        }
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|e| format!("the Ed25519 key cannot be used ({e}): make one with openssl genpkey -algorithm ed25519"))?;
        self.ed25519 = Some((selector.to_owned(), key));
        Ok(self)
    }

    /// The key's size in bits.
    pub fn key_bits(&self) -> usize {
        self.key.public_modulus_len() * 8
    }

    /// The DNS TXT record that publishes this key: its name
    /// (`selector._domainkey.domain`) and its text (`v=DKIM1; k=rsa; p=…`, the public key
    /// as a SubjectPublicKeyInfo, the form `openssl rsa -pubout` writes and every
    /// verifier reads).
    pub fn dns_record(&self) -> (String, String) {
        let name = format!("{}._domainkey.{}", self.selector, self.domain);
        let spki = subject_public_key_info(self.key.public_key().as_ref());
        (name, format!("v=DKIM1; k=rsa; p={}", STANDARD.encode(spki)))
    }

    /// The Ed25519 key's DNS TXT record, when there is one: `k=ed25519` and the raw
    /// 32-byte public key (RFC 8463, 4.2).
    pub fn ed25519_dns_record(&self) -> Option<(String, String)> {
        let (selector, key) = self.ed25519.as_ref()?;
        Some((
            format!("{selector}._domainkey.{}", self.domain),
            format!(
                "v=DKIM1; k=ed25519; p={}",
                STANDARD.encode(key.public_key().as_ref())
            ),
        ))
    }

    /// The message with a `DKIM-Signature` header in front.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let header = self.signature_header(message)?;
        let mut out = Vec::with_capacity(header.len() + message.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(message);
        Ok(out)
    }

    /// Signs `message` on the signing pool, off the async runtime's threads (an RSA
    /// signature is about a millisecond of CPU, which would stall every connection the
    /// thread serves), and puts the `DKIM-Signature` header in front of it in place.
    /// At most one signature per core is computed at a time; senders wait their turn,
    /// so memory stays one message per sender.
    pub async fn sign_in_place(self: &Arc<Self>, message: &mut String) -> Result<(), String> {
        let _turn = self
            .pool
            .acquire()
            .await
            .map_err(|_| "the signing pool is closed".to_owned())?;
        let signer = Arc::clone(self);
        let text = std::mem::take(message);
        let (text, header) = tokio::task::spawn_blocking(move || {
            let header = signer.signature_header(text.as_bytes());
            (text, header)
        })
        .await
        .map_err(|e| format!("the signing thread failed: {e}"))?;
        *message = text;
        message.insert_str(0, &header?);
        Ok(())
    }

    /// The `DKIM-Signature` header line (with its CRLF) for `message`.
    pub fn signature_header(&self, message: &[u8]) -> Result<String, String> {
        let split = find(message, b"\r\n\r\n").ok_or("a message without a body")?;
        let (head, body) = (&message[..split + 2], &message[split + 4..]);
        let body_hash = STANDARD.encode(relaxed_body_hash(body));
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
        let tags = |algorithm: &str, selector: &str| {
            format!(
                "v=1; a={algorithm}; c=relaxed/relaxed; d={}; s={selector};\r\n\tt={timestamp}; h={};\r\n\tbh={body_hash};\r\n\tb=",
                self.domain,
                signed_names.join(":"),
            )
        };
        // What is signed: the headers, then this signature's own header without its
        // value and its line end (RFC 6376, 3.7).
        let signed_data = |unsigned: &str| {
            let mut canonical_self = Vec::new();
            relaxed_header("DKIM-Signature", unsigned.as_bytes(), &mut canonical_self);
            canonical_self.truncate(canonical_self.len() - 2);
            let mut all = Vec::with_capacity(data.len() + canonical_self.len());
            all.extend_from_slice(&data);
            all.extend_from_slice(&canonical_self);
            all
        };
        let unsigned = tags("rsa-sha256", &self.selector);
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                &signed_data(&unsigned),
                &mut signature,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        let mut header = format!(
            "DKIM-Signature: {unsigned}{}\r\n",
            STANDARD.encode(&signature)
        );
        if let Some((selector, key)) = &self.ed25519 {
            // Ed25519 signs the SHA-256 hash of the data, not the data (RFC 8463, 3).
            let unsigned = tags("ed25519-sha256", selector);
            let hash =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &signed_data(&unsigned));
            let signature = key.sign(hash.as_ref());
            header.push_str(&format!(
                "DKIM-Signature: {unsigned}{}\r\n",
                STANDARD.encode(signature.as_ref())
            ));
        }
        Ok(header)
    }
}

/// Wraps a DER `RSAPublicKey` (what aws-lc-rs gives) in a `SubjectPublicKeyInfo` with the
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
    memchr::memmem::find(haystack, needle)
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

/// SHA-256 of the body in relaxed canonical form (RFC 6376, 3.4.4), computed without
/// a canonical copy. Most lines of encoded mail are canonical as they stand (quoted-
/// printable and base64 have no tabs, no space before a line end, no bare LF); the few
/// that are not (a text twin's indented list line, say) are found with memchr's
/// vectorised searches, not by looking at every byte, and only those are rewritten.
/// Everything between them goes to the hash as it is.
fn relaxed_body_hash(body: &[u8]) -> aws_lc_rs::digest::Digest {
    let mut hash = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let content = &body[..content_end(body)];
    if content.is_empty() {
        return hash.finish();
    }
    let mut fed = 0;
    for at in lines_to_rewrite(content) {
        if at < fed {
            continue; // a second flaw on a line already rewritten
        }
        let line_start = memchr::memrchr(b'\n', &content[..at]).map_or(0, |p| p + 1);
        let line_end = memchr::memchr(b'\n', &content[at..]).map_or(content.len(), |p| at + p);
        hash.update(&content[fed..line_start]);
        relaxed_line(&content[line_start..line_end], &mut hash);
        fed = (line_end + 1).min(content.len());
    }
    hash.update(&content[fed..]);
    hash.finish()
}

/// Where the body's last line that is not blank ends (before its line break): blank
/// lines at the end are dropped, and the last line is always rewritten (it gets its
/// CRLF there).
fn content_end(body: &[u8]) -> usize {
    let mut end = body.len();
    loop {
        let start = memchr::memrchr(b'\n', &body[..end]).map_or(0, |p| p + 1);
        let line = &body[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(|&b| b == b' ' || b == b'\t') {
            return end;
        }
        if start == 0 {
            return 0;
        }
        end = start - 1;
    }
}

/// A position in each line of `content` that is not canonical as it stands, in order
/// (a line may be named more than once): a tab, two spaces, a space before a line end,
/// a bare LF; and the last line, which has no line end in `content`.
fn lines_to_rewrite(content: &[u8]) -> Vec<usize> {
    let mut at: Vec<usize> = memchr::memchr_iter(b'\t', content).collect();
    at.extend(memchr::memmem::find_iter(content, b"  "));
    at.extend(memchr::memmem::find_iter(content, b" \r\n"));
    at.extend(memchr::memchr_iter(b'\n', content).filter(|&n| n == 0 || content[n - 1] != b'\r'));
    at.push(memchr::memrchr(b'\n', content).map_or(0, |p| p + 1));
    at.sort_unstable();
    at
}

/// One line (without its LF; a CR before it is its line end) in relaxed canonical
/// form, with CRLF: runs of white space made one space, none at the end.
fn relaxed_line(line: &[u8], hash: &mut aws_lc_rs::digest::Context) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let wsp = |b: u8| b == b' ' || b == b'\t';
    let text = &line[..line.iter().rposition(|&b| !wsp(b)).map_or(0, |p| p + 1)];
    let mut clean_from = 0;
    let mut i = 0;
    while i < text.len() {
        if wsp(text[i]) {
            let run = i;
            while wsp(text[i]) {
                i += 1; // the text ends in a non-space, so this stops inside it
            }
            if i - run > 1 || text[run] == b'\t' {
                hash.update(&text[clean_from..run]);
                hash.update(b" ");
                clean_from = i;
            }
        } else {
            i += 1;
        }
    }
    hash.update(&text[clean_from..]);
    hash.update(b"\r\n");
}

/// Relaxed body canonicalization: whitespace runs made one space, none at line ends,
/// no empty lines at the end, and a final CRLF unless the body is empty. The definition
/// [`relaxed_body_hash`] is tested against.
#[cfg(test)]
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

    /// The streamed hash equals the hash of the canonical copy, for every body of a
    /// small alphabet that has each case in it (white space runs, tabs, bare CR and LF,
    /// blank lines in the middle and at the end).
    #[test]
    fn the_streamed_body_hash_is_the_hash_of_the_canonical_body() {
        let alphabet = [b'a', b'b', b' ', b'\t', b'\r', b'\n'];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..50_000 {
            let len = (next() % 24) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let expected =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &relaxed_body(&body));
            assert_eq!(
                relaxed_body_hash(&body).as_ref(),
                expected.as_ref(),
                "case {case}: {:?}",
                String::from_utf8_lossy(&body)
            );
        }
        // Bodies already canonical but for their ends (the fast path), and ones that are
        // not in one place only.
        let line = "Nyhetsbrev fra KOM =C3=A6 lenke: https://example.org/a=\r\n";
        for ending in ["", "\r\n", "\r\n\r\n\r\n"] {
            for flaw in ["", "  ", "\t", " \r\n", "\n", "\r"] {
                let body = format!("{}{flaw}{}{ending}", line.repeat(40), line.repeat(3));
                let expected = aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    &relaxed_body(body.as_bytes()),
                );
                assert_eq!(
                    relaxed_body_hash(body.as_bytes()).as_ref(),
                    expected.as_ref(),
                    "{flaw:?} {ending:?}"
                );
            }
        }
        for empty in ["\r\n", "\r\n\r\n", ""] {
            let expected = aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                &relaxed_body(empty.as_bytes()),
            );
            assert_eq!(
                relaxed_body_hash(empty.as_bytes()).as_ref(),
                expected.as_ref()
            );
        }
        // And a real message body, long lines and all.
        let body = include_bytes!("../../examples/2024-q1.md");
        let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &relaxed_body(body));
        assert_eq!(relaxed_body_hash(body).as_ref(), expected.as_ref());
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
