//! Row numbers, one type per table: a function that takes a contact's number cannot be
//! handed an issue's or a delivery's.
//!
//! Where they are made is the rule: the store makes them from the rows it reads (they
//! decode as a column, `sqlx(transparent)`), and a front end makes one from the text a
//! person or a mail gave it (a URL's path, a command-line argument, a signed bounce
//! address) with [`ContactId::parse`]. There is no conversion from any `i64`: a number
//! computed in code is not a row.

use std::fmt;
use std::str::FromStr;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(i64);

        impl $name {
            /// A row number as text: a whole number above zero, as the database makes
            /// them. Whether a row has it is the store's to say.
            pub fn parse(raw: &str) -> Option<$name> {
                raw.parse::<i64>().ok().filter(|id| *id > 0).map($name)
            }

            /// The number, for the store's binds and a mail's signed tags.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// The bare number, as the plain `i64` showed: logs and `Debug` output of the
        /// structs holding one read as they did before the type.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// For argument parsers (clap): the same rule as [`Self::parse`].
        impl FromStr for $name {
            type Err = String;

            fn from_str(raw: &str) -> Result<$name, String> {
                $name::parse(raw).ok_or_else(|| {
                    format!(concat!("a ", $what, " number is a whole number above zero, not {:?}"), raw)
                })
            }
        }
    };
}

row_id!(
    /// A row of `contacts`.
    ContactId,
    "contact"
);

row_id!(
    /// A row of `issues`.
    IssueId,
    "issue"
);

row_id!(
    /// A row of `deliveries`: one issue to one contact.
    DeliveryId,
    "delivery"
);

row_id!(
    /// A row of `publications`.
    PublicationId,
    "publication"
);

row_id!(
    /// A row of `inbound_messages`: a mail that came in.
    InboundId,
    "message"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_whole_numbers_above_zero_only() {
        assert_eq!(ContactId::parse("42").map(ContactId::get), Some(42));
        for bad in ["0", "-3", "", " 4", "4.0", "x", "99999999999999999999"] {
            assert_eq!(ContactId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shows_and_serialises_as_the_number() {
        let id = IssueId::parse("7").unwrap();
        assert_eq!(id.to_string(), "7");
        assert_eq!(format!("{:?}", [id]), "[7]");
        assert_eq!(serde_json::to_string(&id).unwrap(), "7");
        assert!(
            "0".parse::<DeliveryId>()
                .unwrap_err()
                .contains("above zero")
        );
    }
}
