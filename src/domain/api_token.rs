//! Credentials of the admin API: a name per integration, what it may do, and the
//! secret the integration sends as `Authorization: Bearer <secret>`.

use std::fmt;

use sha2::{Digest, Sha256};

use super::TokenSecret;

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiScope {
    /// Post raw inbound mail to `POST /admin/api/inbound`.
    Inbound,
}

impl ApiScope {
    pub const ALL: [ApiScope; 1] = [ApiScope::Inbound];

    /// The stored word (the column is CHECK-constrained to these).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Inbound => "inbound",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word.trim())
    }

    /// What the token may do, as staff read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            ApiScope::Inbound => "Levere innkommende e-post",
        }
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name staff give an integration's token: 1–64 letters, digits, spaces and
/// `. - _`, trimmed. It is in the audit log as `api:<name>`, so nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenName(String);

impl ApiTokenName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Option<Self> {
        let name = input.trim();
        let valid = !name.is_empty()
            && name.chars().count() <= Self::MAX_CHARS
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || ".-_".contains(c));
        valid.then(|| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiTokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The audit actors of API tokens start with this.
pub const API_ACTOR_PREFIX: &str = "api:";

/// The secret of an API token: `nbk_` and 256 random bits in URL-safe base64. Shown
/// once when made; only its SHA-256 is stored. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

const SECRET_PREFIX: &str = "nbk_";

impl ApiSecret {
    pub fn generate() -> Self {
        Self(format!(
            "{SECRET_PREFIX}{}",
            TokenSecret::generate().as_str()
        ))
    }

    /// Accepts what [`ApiSecret::generate`] makes and nothing else, so a mangled or
    /// foreign credential is refused before any database lookup.
    pub fn parse(input: &str) -> Option<Self> {
        let rest = input.strip_prefix(SECRET_PREFIX)?;
        TokenSecret::parse(rest).map(|_| Self(input.to_owned()))
    }

    /// The secret itself, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: SHA-256 of the whole secret, in hex. The secret has 256 random
    /// bits, so a fast hash is enough: nothing can be guessed from it.
    pub fn hash_hex(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_parse_back_and_hide_in_debug() {
        let a = ApiSecret::generate();
        let b = ApiSecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("nbk_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_eq!(ApiSecret::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash_hex().len(), 64);
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
        for bad in [
            "",
            "nbk_",
            &a.expose()[4..],
            &format!("xyz_{}", &a.expose()[4..]),
            &format!("{}=", a.expose()),
            "nbk_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert_eq!(ApiSecret::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_short_plain_words() {
        assert_eq!(
            ApiTokenName::parse("  Mailgun inn-2.a_b ")
                .unwrap()
                .as_str(),
            "Mailgun inn-2.a_b"
        );
        assert_eq!(
            ApiTokenName::parse("Tjener på Ålesund").unwrap().as_str(),
            "Tjener på Ålesund"
        );
        for bad in [
            "",
            "   ",
            "a:b",
            "a/b",
            "a\nb",
            "a\u{202e}b",
            &"x".repeat(65),
        ] {
            assert_eq!(ApiTokenName::parse(bad), None, "{bad:?}");
        }
        assert!(ApiTokenName::parse(&"x".repeat(64)).is_some());
        assert_eq!(
            crate::domain::Actor::api_token(&ApiTokenName::parse("mx").unwrap()),
            "api:mx"
        );
    }

    #[test]
    fn scopes_read_back() {
        assert_eq!(ApiScope::parse("inbound"), Some(ApiScope::Inbound));
        assert_eq!(ApiScope::parse("admin"), None);
    }
}
