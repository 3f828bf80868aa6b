//! Short free-text fields (names, organisations, notes): bounded, single-line, trimmed.

use std::fmt;

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("the {field} contains a line break or another control character")]
    ControlCharacter { field: &'static str },
}

impl TextError {
    /// What is wrong, in bokmål.
    pub fn norwegian(&self) -> String {
        let field = |field: &str| match field {
            "name" => "navnet",
            "organisation" => "organisasjonen",
            "consent note" => "samtykkenotatet",
            _ => "teksten",
        };
        match self {
            TextError::TooLong { field: f, max } => {
                format!("{} er lengre enn {max} tegn", field(f))
            }
            TextError::ControlCharacter { field: f } => {
                format!("{} har et linjeskift eller et annet kontrolltegn", field(f))
            }
        }
    }
}

/// Shared rules for the text newtypes below. Returns `None` for blank input, so optional
/// fields read naturally as `Option<ContactName>`.
fn clean(input: &str, field: &'static str, max: usize) -> Result<Option<String>, TextError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Names and organisations end up in mail headers (`To: "Name" <addr>`): a CR or LF
    // there is a header injection, and other control characters are never intended.
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter { field });
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { field, max });
    }
    Ok(Some(trimmed.to_owned()))
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            /// Parses user input; blank input is `Ok(None)`.
            pub fn parse(input: &str) -> Result<Option<Self>, TextError> {
                Ok(clean(input, $field, $max)?.map(Self))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }
    };
}

bounded_text!(
    /// A contact's name as they gave it.
    ContactName,
    "name",
    200
);
bounded_text!(
    /// The organisation a contact works for (police district, directorate, NGO, …).
    Organisation,
    "organisation",
    200
);
bounded_text!(
    /// Free text about where consent came from, such as "e-post 12.03.2025 fra …".
    ConsentNote,
    "consent note",
    500
);

/// A bidirectional mark or override: invisible, and able to make text read other than it
/// is ("fdp.exe" shown as "exe.pdf"). Dropped or escaped wherever outside text is shown.
pub fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_none_and_text_is_trimmed() {
        assert_eq!(ContactName::parse("   ").unwrap(), None);
        let name = ContactName::parse("  Åse Ødegård ").unwrap().unwrap();
        assert_eq!(name.as_str(), "Åse Ødegård");
    }

    #[test]
    fn control_characters_are_refused() {
        for input in [
            "Ola\r\nBcc: x@example.org",
            "Ola\u{7}",
            "Kari\tNordmann",
            "A\u{85}B",
        ] {
            assert_eq!(
                ContactName::parse(input),
                Err(TextError::ControlCharacter { field: "name" }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        let ok = "Ø".repeat(200);
        assert!(Organisation::parse(&ok).unwrap().is_some());
        let too_long = "Ø".repeat(201);
        assert_eq!(
            Organisation::parse(&too_long),
            Err(TextError::TooLong {
                field: "organisation",
                max: 200
            })
        );
    }
}
