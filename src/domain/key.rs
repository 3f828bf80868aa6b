//! The service's secret key (`token_key`): it signs what the service hands out and must
//! recognise again without a stored row, such as the per-delivery bounce address.

use std::fmt;

use ring::hmac;

/// At least this many characters: 32 random bytes as hex or base64 are 64 or 44.
pub const MIN_KEY_CHARS: usize = 32;

/// How to make a key, for error messages.
pub const HOW_TO_MAKE_A_KEY: &str = "make one with `nyhetsbrev new-token-key` (or `openssl rand -hex 32`) \
     and set it as token_key in nyhetsbrev.toml or as NYHETSBREV_TOKEN_KEY";

/// A validated secret key. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct TokenKey(hmac::Key);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "token_key is not set: sending needs it to sign bounce addresses and Message-IDs; {HOW_TO_MAKE_A_KEY}"
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
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())))
    }

    /// A fresh random key as 64 hex digits.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        hex(&bytes)
    }

    /// HMAC-SHA256 over `purpose` and `data`, kept apart so that a signature made for
    /// one purpose is never valid for another.
    fn sign(&self, purpose: &str, data: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(data);
        context.sign()
    }

    /// The signature in delivery `id`'s bounce address (lower-case hex: mail servers may
    /// change the case of an address).
    pub fn bounce_tag(&self, delivery_id: i64) -> String {
        let tag = self.sign("bounce-address", delivery_id.to_string().as_bytes());
        hex(&tag.as_ref()[..BOUNCE_TAG_HEX / 2])
    }

    /// Whether `tag` is delivery `id`'s bounce signature, compared in constant time.
    pub fn verify_bounce_tag(&self, delivery_id: i64, tag: &str) -> bool {
        let expected = self.bounce_tag(delivery_id);
        let tag = tag.to_ascii_lowercase();
        expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The unguessable part of the Message-ID of issue `slug` to contact `contact_id`:
    /// the same for every attempt, so a duplicate can still be recognised, but nobody
    /// without the key can name another person's message.
    pub fn message_id_tag(&self, slug: &str, contact_id: i64) -> String {
        let tag = self.sign("message-id", format!("{slug}\0{contact_id}").as_bytes());
        hex(&tag.as_ref()[..12])
    }
}

impl TokenKey {
    /// The keyed hash by which an erased address is remembered (`email_key`: the
    /// lower-cased address). Without the key it cannot be turned back into the address
    /// nor checked against a guess.
    pub fn erased_address_hash(&self, email_key: &str) -> String {
        hex(self.sign("erased-address", email_key.as_bytes()).as_ref())
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
        let tag = a.bounce_tag(42);
        assert_eq!(tag.len(), 16);
        assert!(a.verify_bounce_tag(42, &tag));
        assert!(a.verify_bounce_tag(42, &tag.to_uppercase()));
        assert!(!a.verify_bounce_tag(43, &tag));
        assert!(!b.verify_bounce_tag(42, &tag));
        assert!(!a.verify_bounce_tag(42, &tag[..15]));
        assert!(!a.verify_bounce_tag(42, ""));
    }

    #[test]
    fn message_id_tags_differ_per_contact_and_issue_and_hide_the_key() {
        let a = key("a-test-key-that-is-long-enough-0001");
        let one = a.message_id_tag("2025-q1", 1);
        assert_eq!(one, a.message_id_tag("2025-q1", 1));
        assert_ne!(one, a.message_id_tag("2025-q1", 2));
        assert_ne!(one, a.message_id_tag("2025-q2", 1));
        assert!(!format!("{a:?}").contains("a-test-key"));
    }
}
