//! Secrets sent in links (confirmation, unsubscribe). The mail carries the secret; the
//! database keeps only its SHA-256 hash, so a copy of the database opens no link.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 256 random bits, written as 43 URL-safe base64 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

/// The stored form of a [`TokenSecret`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43;

impl TokenSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts what [`TokenSecret::generate`] makes and nothing else, so a forged or
    /// mangled link is refused before any database lookup.
    pub fn parse(input: &str) -> Option<Self> {
        let valid = input.len() == SECRET_CHARS
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(input)
                .is_ok_and(|bytes| bytes.len() == SECRET_BYTES);
        valid.then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        TokenHash(hex)
    }
}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_well_formed_and_hashed() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(TokenSecret::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.hash(), TokenSecret::parse(a.as_str()).unwrap().hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(
            !format!("{a:?}").contains(a.as_str()),
            "Debug hides the secret"
        );
    }

    #[test]
    fn forged_secrets_are_refused() {
        let good = TokenSecret::generate();
        for bad in [
            "",
            "abc",
            &good.as_str()[..42],
            &format!("{}A", good.as_str()),
            &good.as_str().replace(|c: char| c.is_alphanumeric(), "/"),
            "../../etc/passwd",
        ] {
            assert_eq!(TokenSecret::parse(bad), None, "{bad:?}");
        }
    }
}
