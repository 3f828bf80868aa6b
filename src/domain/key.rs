//! The service's secret key (`token_key`): it signs what the service hands out and must
//! recognise again without a stored row, such as the per-delivery bounce address.

use std::fmt;

use ring::hmac;

use super::{ContactId, DeliveryId, IssueId};

/// At least this many characters: 32 random bytes as hex or base64 are 64 or 44.
pub const MIN_KEY_CHARS: usize = 32;

/// How to make a key, for error messages.
pub const HOW_TO_MAKE_A_KEY: &str = "make one with `nyhetsbrev new-token-key` (or `openssl rand -hex 32`) \
     and set it as token_key in nyhetsbrev.toml or as NYHETSBREV_TOKEN_KEY";

/// A validated secret key, and the key it replaced while links signed with that one
/// are still honoured. Everything is signed with the current key; what comes back
/// (leave links, bounce addresses) is checked against both. Its `Debug` shows nothing
/// of either.
#[derive(Clone)]
pub struct TokenKey {
    current: SigningKey,
    previous: Option<SigningKey>,
}

#[derive(Clone)]
struct SigningKey {
    key: hmac::Key,
    /// Names the key in a leave link, so a link says which key to check it with
    /// (8 hex digits of an HMAC: says nothing about the key).
    id: String,
}

impl SigningKey {
    fn new(secret: &str) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let id = hex(&hmac::sign(&key, b"key-id").as_ref()[..4]);
        Self { key, id }
    }

    /// HMAC-SHA256 over `purpose` and `data`, kept apart so that a signature made for
    /// one purpose is never valid for another.
    fn sign(&self, purpose: &str, data: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(data);
        context.sign()
    }

    fn bounce_tag(&self, delivery_id: DeliveryId) -> String {
        let tag = self.sign("bounce-address", delivery_id.to_string().as_bytes());
        hex(&tag.as_ref()[..BOUNCE_TAG_HEX / 2])
    }

    fn leave_tag(&self, contact_id: ContactId, issue_id: IssueId) -> String {
        let tag = self.sign("leave-link", format!("{contact_id}\0{issue_id}").as_bytes());
        hex(&tag.as_ref()[..LEAVE_TAG_HEX / 2])
    }
}

/// What a verified leave link names: whose it is and which issue's mail carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaveLink {
    pub contact_id: ContactId,
    pub issue_id: IssueId,
}

/// Length of the signature in a leave link, in hex digits (128 bits).
const LEAVE_TAG_HEX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "token_key is not set and there is no key file: sending needs it to sign bounce addresses and Message-IDs; `nyhetsbrev serve` makes the file at its first start (on PostgreSQL every machine that sends needs the same key: copy the file or set token_key), or {HOW_TO_MAKE_A_KEY}"
    )]
    Missing,
    #[error(
        "token_key is too short ({0} characters; at least {MIN_KEY_CHARS}); {HOW_TO_MAKE_A_KEY}"
    )]
    TooShort(usize),
}

/// Length of the signature in a bounce address, in hex digits (64 bits).
const BOUNCE_TAG_HEX: usize = 16;

impl TokenKey {
    pub fn parse(secret: &str) -> Result<Self, KeyError> {
        let secret = secret.trim();
        let chars = secret.chars().count();
        if chars < MIN_KEY_CHARS {
            return Err(KeyError::TooShort(chars));
        }
        Ok(Self {
            current: SigningKey::new(secret),
            previous: None,
        })
    }

    /// Also honours what `previous` signed (`token_key_previous`): set it to the old key
    /// when `token_key` is replaced, for as long as mail signed with it may still be
    /// answered (a leave link is clicked months later; a bounce comes within days).
    pub fn with_previous(mut self, previous: &str) -> Result<Self, KeyError> {
        let previous = Self::parse(previous)?.current;
        self.previous = Some(previous);
        Ok(self)
    }

    /// The current key, then the previous one.
    fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    /// A fresh random key as 64 hex digits.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        hex(&bytes)
    }

    /// The signature in delivery `id`'s bounce address (lower-case hex: mail servers may
    /// change the case of an address).
    pub fn bounce_tag(&self, delivery_id: DeliveryId) -> String {
        self.current.bounce_tag(delivery_id)
    }

    /// Whether `tag` is delivery `id`'s bounce signature by either key, compared in
    /// constant time.
    pub fn verify_bounce_tag(&self, delivery_id: DeliveryId, tag: &str) -> bool {
        let tag = tag.to_ascii_lowercase();
        self.keys()
            .any(|key| same_text(&key.bounce_tag(delivery_id), &tag))
    }

    /// The personal part of a leave link in issue `issue_id`'s mail to `contact_id`:
    /// `contact.issue.key-id.signature`. Nothing is stored for it; the link proves
    /// itself, and works for as long as its key is current or previous.
    pub fn leave_token(&self, contact_id: ContactId, issue_id: IssueId) -> String {
        format!(
            "{contact_id}.{issue_id}.{}.{}",
            self.current.id,
            self.current.leave_tag(contact_id, issue_id)
        )
    }

    /// What a leave link names, if `token` is one this service signed (with the
    /// current or the previous key); the signature compared in constant time. `None`
    /// for anything else, including a stored-secret link from before derived links.
    pub fn verify_leave_token(&self, token: &str) -> Option<LeaveLink> {
        let mut parts = token.split('.');
        let (Some(contact), Some(issue), Some(key_id), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        // Digits only: `parse` alone would take a sign, and the same link must never
        // have two spellings.
        fn digits(text: &str) -> Option<&str> {
            (!text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()))
                .then_some(text)
        }
        let contact_id = ContactId::parse(digits(contact)?)?;
        let issue_id = IssueId::parse(digits(issue)?)?;
        let key = self.keys().find(|key| key.id == key_id)?;
        same_text(&key.leave_tag(contact_id, issue_id), tag).then_some(LeaveLink {
            contact_id,
            issue_id,
        })
    }

    /// The unguessable part of the Message-ID of issue `slug` to contact `contact_id`:
    /// the same for every attempt, so a duplicate can still be recognised, but nobody
    /// without the key can name another person's message. `None` is a test copy, which
    /// goes to no contact: it is signed as number 0, which no contact has.
    pub fn message_id_tag(&self, slug: &str, contact_id: Option<ContactId>) -> String {
        let contact = contact_id.map_or(0, ContactId::get);
        let tag = self
            .current
            .sign("message-id", format!("{slug}\0{contact}").as_bytes());
        hex(&tag.as_ref()[..12])
    }
}

/// Whether two strings are equal, in time that depends on their length only.
fn same_text(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl TokenKey {
    /// The keyed hash by which an erased address is remembered (`email_key`: the
    /// lower-cased address). Without the key it cannot be turned back into the address
    /// nor checked against a guess.
    pub fn erased_address_hash(&self, email_key: &str) -> String {
        hex(self
            .current
            .sign("erased-address", email_key.as_bytes())
            .as_ref())
    }

    /// The hashes an erased address may be remembered by: under the current key and,
    /// while it is set, the previous one; of its key and, for an internationalised
    /// domain, of the Unicode form keys had before they held the A-label.
    pub fn erased_address_hashes(&self, email: &crate::domain::EmailAddress) -> Vec<String> {
        let mut forms = vec![email.key()];
        let before_a_labels = email.as_str().to_lowercase();
        if before_a_labels != forms[0] {
            forms.push(before_a_labels);
        }
        self.keys()
            .flat_map(|key| {
                forms
                    .iter()
                    .map(|form| hex(key.sign("erased-address", form.as_bytes()).as_ref()))
            })
            .collect()
    }
}

/// The start of a value sealed by [`TokenKey::seal`]: a stored value without it was
/// written before secrets were sealed.
pub const SEALED_PREFIX: &str = "sealed1.";

const NONCE_BYTES: usize = 12;

impl SigningKey {
    /// An AES-256-GCM key for `purpose`, derived from this key (HMAC-SHA256 of the
    /// purpose): one key a purpose, none of them the HMAC key itself.
    fn sealing_key(&self, purpose: &str) -> ring::aead::LessSafeKey {
        let derived = self.sign("sealing-key", purpose.as_bytes());
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, derived.as_ref())
            .expect("an HMAC-SHA256 tag is an AES-256 key's length");
        ring::aead::LessSafeKey::new(unbound)
    }
}

impl TokenKey {
    /// Encrypts a secret the service must read back (a staff member's TOTP secret), so
    /// that the database and its backups do not hold it in clear. The result names the
    /// key it was sealed with, so a value sealed before a key change still opens while
    /// `token_key_previous` is set; the purpose is bound in as associated data.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        use base64::Engine;
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the system's random source");
        let mut sealed = plaintext.as_bytes().to_vec();
        self.current
            .sealing_key(purpose)
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(purpose.as_bytes()),
                &mut sealed,
            )
            .expect("a short secret fits AES-GCM's limits");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!(
            "{SEALED_PREFIX}{}.{}",
            self.current.id,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Opens what [`TokenKey::seal`] made for `purpose`, with the key it names (the
    /// current or the previous one); `None` when it is not sealed, was sealed with
    /// another key or for another purpose, or was changed.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<String> {
        use base64::Engine;
        let (key_id, data) = sealed.strip_prefix(SEALED_PREFIX)?.split_once('.')?;
        let key = self.keys().find(|k| k.id == key_id)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(data)
            .ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let mut buffer = ciphertext.to_vec();
        let plain = key
            .sealing_key(purpose)
            .open_in_place(
                ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
                ring::aead::Aad::from(purpose.as_bytes()),
                &mut buffer,
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// Whether a sealed value was sealed with the current key (a value sealed with the
    /// previous one is sealed again when read).
    pub fn sealed_with_current(&self, sealed: &str) -> bool {
        sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(id, _)| id == self.current.id)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([REDACTED])")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_purpose() {
        let key = key("k-abcdefghijklmnopqrstuvwxyz0123456789");
        let sealed = key.seal("totp-secret", "JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            key.seal("totp-secret", "JBSWY3DPEHPK3PXP"),
            "a fresh nonce"
        );
        assert_eq!(
            key.open("totp-secret", &sealed).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(key.open("another-purpose", &sealed), None);
        let other = super::TokenKey::parse("another-key-0123456789abcdefghijklmnop").unwrap();
        assert_eq!(other.open("totp-secret", &sealed), None);
        // A changed byte is refused, not opened into something else.
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.open("totp-secret", &String::from_utf8(tampered).unwrap()),
            None
        );
        assert_eq!(key.open("totp-secret", "JBSWY3DPEHPK3PXP"), None);
        // After a key change the old value still opens while the old key is kept.
        let rotated = super::TokenKey::parse("another-key-0123456789abcdefghijklmnop")
            .unwrap()
            .with_previous("k-abcdefghijklmnopqrstuvwxyz0123456789")
            .unwrap();
        assert_eq!(
            rotated.open("totp-secret", &sealed).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert!(!rotated.sealed_with_current(&sealed));
        assert!(key.sealed_with_current(&sealed));
    }

    fn delivery(number: u32) -> DeliveryId {
        DeliveryId::parse(&number.to_string()).unwrap()
    }

    fn contact(number: u32) -> ContactId {
        ContactId::parse(&number.to_string()).unwrap()
    }

    fn issue(number: u32) -> IssueId {
        IssueId::parse(&number.to_string()).unwrap()
    }

    fn key(secret: &str) -> TokenKey {
        TokenKey::parse(secret).unwrap()
    }

    #[test]
    fn short_keys_are_refused_with_how_to_make_one() {
        let err = TokenKey::parse("kort").unwrap_err();
        assert_eq!(err, KeyError::TooShort(4));
        assert!(err.to_string().contains("new-token-key"), "{err}");
        assert!(TokenKey::parse(&TokenKey::generate_secret()).is_ok());
    }

    #[test]
    fn bounce_tags_verify_only_for_their_delivery_and_key() {
        let a = key("a-test-key-that-is-long-enough-0001");
        let b = key("a-test-key-that-is-long-enough-0002");
        let tag = a.bounce_tag(delivery(42));
        assert_eq!(tag.len(), 16);
        assert!(a.verify_bounce_tag(delivery(42), &tag));
        assert!(a.verify_bounce_tag(delivery(42), &tag.to_uppercase()));
        assert!(!a.verify_bounce_tag(delivery(43), &tag));
        assert!(!b.verify_bounce_tag(delivery(42), &tag));
        assert!(!a.verify_bounce_tag(delivery(42), &tag[..15]));
        assert!(!a.verify_bounce_tag(delivery(42), ""));
    }

    #[test]
    fn leave_links_prove_themselves_and_survive_a_key_change() {
        let old = key("a-test-key-that-is-long-enough-0001");
        let token = old.leave_token(contact(1234), issue(7));
        assert_eq!(
            old.verify_leave_token(&token),
            Some(LeaveLink {
                contact_id: contact(1234),
                issue_id: issue(7)
            })
        );
        // Another contact, another issue, a changed signature or key id: refused.
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 4, "{token}");
        for forged in [
            format!("1235.7.{}.{}", parts[2], parts[3]),
            format!("1234.8.{}.{}", parts[2], parts[3]),
            format!("1234.7.{}.{}0", parts[2], &parts[3][1..]),
            format!("1234.7.00000000.{}", parts[3]),
            format!("1234.7.{}.{}", parts[2], &parts[3][..31]),
            format!("1234.7.{}.{}.x", parts[2], parts[3]),
            format!("+1234.7.{}.{}", parts[2], parts[3]),
            "1234.7".to_owned(),
            String::new(),
        ] {
            assert_eq!(old.verify_leave_token(&forged), None, "{forged}");
        }
        // A new key alone does not know the old links; with the old one as previous it
        // does, and signs new links with the new key.
        let new = key("a-test-key-that-is-long-enough-0002");
        assert_eq!(new.verify_leave_token(&token), None);
        let rotated = new
            .clone()
            .with_previous("a-test-key-that-is-long-enough-0001")
            .unwrap();
        assert!(rotated.verify_leave_token(&token).is_some());
        let fresh = rotated.leave_token(contact(1234), issue(7));
        assert_ne!(fresh, token);
        assert!(
            key("a-test-key-that-is-long-enough-0002")
                .verify_leave_token(&fresh)
                .is_some()
        );
        assert_eq!(old.verify_leave_token(&fresh), None);
        // Bounce tags too.
        assert!(rotated.verify_bounce_tag(delivery(42), &old.bounce_tag(delivery(42))));
        assert!(!new.verify_bounce_tag(delivery(42), &old.bounce_tag(delivery(42))));
        // And an address erased under the old key, in the key form before A-labels.
        let email = crate::domain::EmailAddress::parse("ola@bücher.example").unwrap();
        let remembered = old.erased_address_hash("ola@bücher.example");
        assert!(rotated.erased_address_hashes(&email).contains(&remembered));
        assert!(!new.erased_address_hashes(&email).contains(&remembered));
    }

    #[test]
    fn message_id_tags_differ_per_contact_and_issue_and_hide_the_key() {
        let a = key("a-test-key-that-is-long-enough-0001");
        let one = a.message_id_tag("2025-q1", Some(contact(1)));
        assert_eq!(one, a.message_id_tag("2025-q1", Some(contact(1))));
        assert_ne!(one, a.message_id_tag("2025-q1", Some(contact(2))));
        assert_ne!(one, a.message_id_tag("2025-q2", Some(contact(1))));
        assert_ne!(one, a.message_id_tag("2025-q1", None));
        assert!(!format!("{a:?}").contains("a-test-key"));
    }
}
