//! Short free-text fields (names, organisations, notes): bounded, single-line, trimmed.

use std::fmt;

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("the {field} contains a line break or another control character")]
    ControlCharacter { field: &'static str },
    #[error(
        "the {field} contains a bidirectional control character (U+202A–U+202E or U+2066–U+2069), which can make text show as something else: remove it"
    )]
    DirectionControl { field: &'static str },
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
            TextError::DirectionControl { field: f } => format!(
                "{} har et usynlig tegn som snur skriveretningen (U+202A–U+202E eller U+2066–U+2069) og kan få teksten til å se ut som noe annet: fjern det",
                field(f)
            ),
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
    // Not control characters to Unicode (they are format characters), but able to make
    // a staff page or a mail client show a name as something it is not.
    if trimmed.chars().any(is_bidi_control) {
        return Err(TextError::DirectionControl { field });
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

/// Bidirectional embedding, override and isolate characters (U+202A–U+202E,
/// U+2066–U+2069): invisible, and able to make text display as something else. Refused
/// in every field a person types; the marks U+200E and U+200F, which only nudge
/// neutral characters, are allowed in names.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

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
    fn bidirectional_controls_are_refused_with_the_field_named() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let input = format!("Ola {c}fdp.exe");
            assert_eq!(
                ContactName::parse(&input),
                Err(TextError::DirectionControl { field: "name" })
            );
            let error = Organisation::parse(&input).unwrap_err();
            assert_eq!(
                error,
                TextError::DirectionControl {
                    field: "organisation"
                }
            );
            assert!(error.to_string().contains("organisation"), "{error}");
            assert!(
                error.norwegian().starts_with("organisasjonen"),
                "{}",
                error.norwegian()
            );
            assert!(ConsentNote::parse(&input).is_err());
        }
        // A right-to-left mark only nudges neutral characters: allowed.
        assert!(
            ContactName::parse("\u{5d0}\u{5d1} \u{200f}(KOM)")
                .unwrap()
                .is_some()
        );
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
