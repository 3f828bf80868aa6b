//! `EmailAddress`: an address a message may be sent to, valid by construction.

use std::fmt;

use validator::ValidateEmail;

/// RFC 5321 caps a forward path at 256 octets including the angle brackets.
pub const MAX_EMAIL_LEN: usize = 254;

/// A syntactically valid e-mail address, normalised: surrounding whitespace trimmed and
/// the domain lower-cased (the local part keeps its case, because a few servers still
/// treat it as significant when delivering). An internationalised domain is shown to
/// people in its Unicode form (`bücher.example`) however it was written.
///
/// Uniqueness on the list is case-insensitive and by the domain's ASCII form (the
/// A-label, `xn--bcher-kva.example`): [`EmailAddress::key`] is the value that the store
/// keeps unique, so `user@bücher.example` and `user@xn--bcher-kva.example` are one
/// contact.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    /// As shown: the local part as written, the domain lower-case in Unicode.
    shown: String,
    /// The identity: the local part lower-cased, the domain as its A-label.
    key: String,
}

/// Why a string is not an acceptable address. The messages are shown to staff and, via
/// the web form, to the public, so they say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the e-mail address is empty")]
    Empty,
    #[error("the e-mail address is longer than {MAX_EMAIL_LEN} characters")]
    TooLong,
    #[error("the e-mail address contains a line break or another control character")]
    ControlCharacter,
    #[error("the e-mail address has no @")]
    NoAt,
    #[error("the e-mail address has nothing before the @")]
    NoLocalPart,
    #[error("the e-mail address has no domain after the @")]
    NoDomain,
    #[error("the domain of the e-mail address has no dot (such as example.no)")]
    DomainWithoutDot,
    #[error("the e-mail address contains a space")]
    Whitespace,
    #[error(
        "the part before the @ may only hold the letters a–z, digits and . _ - +: \
         most mail servers do not accept æ, ø, å or other letters there"
    )]
    NonAsciiLocalPart,
    #[error(
        "the e-mail address names a server by its IP address ([…]) instead of a domain: write it with the domain, such as navn@example.no"
    )]
    AddressLiteral,
    #[error("the e-mail address is not valid")]
    Invalid,
}

impl EmailError {
    /// What is wrong, in bokmål, for staff and visitors.
    pub fn norwegian(&self) -> String {
        match self {
            EmailError::Empty => "e-postadressen mangler".into(),
            EmailError::TooLong => format!("e-postadressen er lengre enn {MAX_EMAIL_LEN} tegn"),
            EmailError::ControlCharacter => {
                "e-postadressen har et linjeskift eller et annet kontrolltegn".into()
            }
            EmailError::NoAt => "e-postadressen mangler @".into(),
            EmailError::NoLocalPart => "e-postadressen har ingenting foran @".into(),
            EmailError::NoDomain => "e-postadressen har ikke noe domene etter @".into(),
            EmailError::DomainWithoutDot => {
                "domenet i e-postadressen mangler punktum (som example.no)".into()
            }
            EmailError::Whitespace => "e-postadressen har et mellomrom".into(),
            EmailError::NonAsciiLocalPart => {
                "delen foran @ kan bare ha bokstavene a–z, sifre og . _ - + (æ, ø og å tas ikke imot av de fleste e-posttjenere)".into()
            }
            EmailError::AddressLiteral => {
                "e-postadressen har en IP-adresse i stedet for et domene: skriv den med domenet, som navn@example.no".into()
            }
            EmailError::Invalid => "e-postadressen er ikke gyldig".into(),
        }
    }
}

impl EmailAddress {
    /// Parses and normalises user input.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        // Control characters first: an address carrying "\r\nBcc: …" must be named for
        // what it is (a header injection attempt), not just "too long" or "invalid".
        if trimmed.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacter);
        }
        if trimmed.chars().count() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(EmailError::Whitespace);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::NoAt)?;
        if local.is_empty() {
            return Err(EmailError::NoLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::NoDomain);
        }
        // validator accepts address literals ("user@[127.0.0.1]"): they bypass the
        // domain's MX and policy, and are never how a partner organisation is reached.
        if domain.starts_with('[') {
            return Err(EmailError::AddressLiteral);
        }
        // validator accepts single-label domains ("a@localhost"); for a mailing list
        // those are always typos such as "ola@gmailcom".
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        // Letters outside ASCII before the @ need SMTPUTF8, which relays such as
        // Microsoft 365 do not offer for bulk mail; the domain may be internationalised.
        if !local.is_ascii() {
            return Err(EmailError::NonAsciiLocalPart);
        }
        // One form of the domain for identity (the A-label, which is also what goes on
        // the wire) and one for people (Unicode): UTS 46 maps case and compatibility
        // forms, so every way of writing the domain gives the same two.
        let ascii_domain = idna::domain_to_ascii(domain).map_err(|_| EmailError::Invalid)?;
        let (shown_domain, decoded) = idna::domain_to_unicode(&ascii_domain);
        if decoded.is_err() {
            return Err(EmailError::Invalid);
        }
        let key = format!("{}@{ascii_domain}", local.to_ascii_lowercase());
        if !key.validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            shown: format!("{local}@{shown_domain}"),
            key,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The case-insensitive identity of the address, with the domain as its A-label:
    /// what the store keeps unique.
    pub fn key(&self) -> String {
        self.key.clone()
    }

    /// The domain as people read it (Unicode).
    pub fn domain(&self) -> &str {
        self.shown
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }

    /// The domain as its A-label: ASCII, as it goes in headers and on the wire.
    pub fn ascii_domain(&self) -> &str {
        self.key
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }

    /// The local part as written.
    pub fn local_part(&self) -> &str {
        self.shown
            .rsplit_once('@')
            .map(|(l, _)| l)
            .unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.shown)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.shown
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let e = EmailAddress::parse("  Ola.Nordmann@Example.NO \n").unwrap();
        assert_eq!(e.as_str(), "Ola.Nordmann@example.no");
        assert_eq!(e.key(), "ola.nordmann@example.no");
        assert_eq!(e.domain(), "example.no");
    }

    #[test]
    fn accepts_internationalised_domains() {
        let e = EmailAddress::parse("post@BLÅBÆR.example.no").unwrap();
        assert_eq!(e.as_str(), "post@blåbær.example.no");
        assert_eq!(e.key(), "post@xn--blbr-roah.example.no");
        assert_eq!(e.ascii_domain(), "xn--blbr-roah.example.no");
    }

    /// Every spelling of one mailbox has one key, and people see the Unicode form.
    #[test]
    fn one_mailbox_has_one_key_however_its_domain_is_written() {
        let forms = [
            "user@bücher.example",
            "user@xn--bcher-kva.example",
            "User@XN--BCHER-KVA.example",
            "user@BÜCHER.EXAMPLE",
            // "ü" as u and a combining diaeresis: UTS 46 composes it.
            "user@bu\u{308}cher.example",
        ];
        for form in forms {
            let e = EmailAddress::parse(form).unwrap();
            assert_eq!(e.key(), "user@xn--bcher-kva.example", "{form}");
            assert_eq!(e.domain(), "bücher.example", "{form}");
        }
        assert_eq!(
            EmailAddress::parse("Ola@xn--bcher-kva.example")
                .unwrap()
                .as_str(),
            "Ola@bücher.example"
        );
        // A label that claims to be punycode but is not.
        assert_eq!(
            EmailAddress::parse("user@xn--zz.example"),
            Err(EmailError::Invalid)
        );
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("a@", EmailError::NoDomain),
            ("@b", EmailError::NoLocalPart),
            ("a b@c.no", EmailError::Whitespace),
            ("ab.no", EmailError::NoAt),
            ("a@localhost", EmailError::DomainWithoutDot),
            ("x@y.no\r\nBcc: z@w.no", EmailError::ControlCharacter),
            ("x@y.no\0", EmailError::ControlCharacter),
            ("a<b>@c.no", EmailError::Invalid),
            ("åse@example.no", EmailError::NonAsciiLocalPart),
            ("a@-c.no", EmailError::Invalid),
            ("user@[127.0.0.1]", EmailError::AddressLiteral),
            ("user@[IPv6:2001:db8::1]", EmailError::AddressLiteral),
        ];
        for (input, expected) in cases {
            assert_eq!(EmailAddress::parse(input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn rejects_addresses_over_254_characters() {
        let long = format!("{}@{}.example.org", "a".repeat(60), "b".repeat(240));
        assert!(long.len() >= 300);
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
        // 254 itself is fine if the parts are legal.
        let label = "c".repeat(60);
        let domain = format!("{label}.{label}.{label}.{}.no", "d".repeat(47));
        let ok = format!("{}@{domain}", "a".repeat(254 - domain.len() - 1));
        assert_eq!(ok.len(), 254);
        assert!(EmailAddress::parse(&ok).is_ok(), "{ok}");
    }
}
