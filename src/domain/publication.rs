//! Publications: what the contact list gets (the newsletter, the overview of court
//! decisions, the status report), each with its own subscribers.

use std::fmt;

use super::text::is_bidi_control;
use super::{Consent, PublicationId, Timestamp};

/// The slug of the publication every issue belongs to unless its front matter names
/// another, and that a deployment which never adds one sends as before.
pub const DEFAULT_PUBLICATION: &str = "nyhetsbrev";

/// Why a publication's slug, name or description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicationError {
    #[error(
        "the publication slug {0:?} must be 1–{max} lower-case letters a–z, digits and dashes between them, such as \"rettsavgjorelser\"",
        max = PublicationSlug::MAX_LEN
    )]
    BadSlug(String),
    #[error("the publication's {field} is empty")]
    Empty { field: &'static str },
    #[error("the publication's {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "the publication's {field} contains a line break, a control character or a bidirectional control character"
    )]
    Control { field: &'static str },
    #[error("the publication kind {0:?} is not known: use newsletter or announcement")]
    UnknownKind(String),
    #[error("no publication was chosen: choose at least one, or leave the list")]
    NoneChosen,
}

impl PublicationError {
    /// What is wrong, in bokmål, for the staff admin.
    pub fn norwegian(&self) -> String {
        let field = |f: &str| match f {
            "name" => "Navnet",
            "description" => "Beskrivelsen",
            _ => "Teksten",
        };
        match self {
            PublicationError::BadSlug(slug) => format!(
                "Kortnavnet «{slug}» må være 1–{} små bokstaver a–z, sifre og bindestreker mellom dem, for eksempel «rettsavgjorelser»",
                PublicationSlug::MAX_LEN
            ),
            PublicationError::Empty { field: f } => format!("{} mangler", field(f)),
            PublicationError::TooLong { field: f, max } => {
                format!("{} er lengre enn {max} tegn", field(f))
            }
            PublicationError::Control { field: f } => {
                format!(
                    "{} har et linjeskift eller et usynlig kontrolltegn",
                    field(f)
                )
            }
            PublicationError::UnknownKind(kind) => {
                format!("Typen «{kind}» finnes ikke: velg nyhetsbrev eller kunngjøring")
            }
            PublicationError::NoneChosen => {
                "Du har ikke krysset av for noe: kryss av for minst én, eller meld deg av alt"
                    .to_owned()
            }
        }
    }
}

/// A publication's short name: `rettsavgjorelser`. It appears in `List-Id`, in the
/// archive's paths and in an issue's front matter, so it is plain ASCII: lower-case
/// letters, digits and single dashes between them (no `../`, no capitals).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicationSlug(String);

impl PublicationSlug {
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, PublicationError> {
        let s = input.trim();
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if valid {
            Ok(PublicationSlug(s.to_owned()))
        } else {
            Err(PublicationError::BadSlug(input.to_owned()))
        }
    }

    /// The slug of the newsletter, which every deployment has.
    pub fn default_publication() -> Self {
        PublicationSlug(DEFAULT_PUBLICATION.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicationSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PublicationSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicationSlug({:?})", self.0)
    }
}

/// What a publication's mail looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationKind {
    /// The sectioned issue with its table of contents.
    Newsletter,
    /// A short mail: a title, a few paragraphs and one prominent link (a report's PDF).
    Announcement,
}

impl PublicationKind {
    pub const ALL: [PublicationKind; 2] =
        [PublicationKind::Newsletter, PublicationKind::Announcement];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicationKind::Newsletter => "newsletter",
            PublicationKind::Announcement => "announcement",
        }
    }

    pub fn parse(input: &str) -> Result<Self, PublicationError> {
        match input.trim() {
            "newsletter" => Ok(PublicationKind::Newsletter),
            "announcement" => Ok(PublicationKind::Announcement),
            other => Err(PublicationError::UnknownKind(other.to_owned())),
        }
    }

    pub fn norwegian(self) -> &'static str {
        match self {
            PublicationKind::Newsletter => "nyhetsbrev",
            PublicationKind::Announcement => "kunngjøring",
        }
    }
}

impl fmt::Display for PublicationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A one-line text of a publication (its name or description): trimmed, not empty,
/// bounded, without line breaks or characters that disguise what is shown.
fn one_line(input: &str, field: &'static str, max: usize) -> Result<String, PublicationError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PublicationError::Empty { field });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c))
    {
        return Err(PublicationError::Control { field });
    }
    if trimmed.chars().count() > max {
        return Err(PublicationError::TooLong { field, max });
    }
    Ok(trimmed.to_owned())
}

/// A publication's name, shown as the masthead, the mail's `List-Id` phrase and the
/// archive's heading: "Oversikt over rettsavgjørelser".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationName(String);

impl PublicationName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(input: &str) -> Result<Self, PublicationError> {
        one_line(input, "name", Self::MAX_CHARS).map(PublicationName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The line shown to subscribers beside the checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationDescription(String);

impl PublicationDescription {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, PublicationError> {
        one_line(input, "description", Self::MAX_CHARS).map(PublicationDescription)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A publication as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub id: PublicationId,
    pub slug: PublicationSlug,
    pub name: PublicationName,
    pub description: PublicationDescription,
    pub kind: PublicationKind,
    /// The footer's texts as staff set them (issue 31).
    pub footer: super::PublicationFooter,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A publication to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublication {
    pub slug: PublicationSlug,
    pub name: PublicationName,
    pub description: PublicationDescription,
    pub kind: PublicationKind,
}

/// What staff change of a publication; `None` leaves a field as it is. The slug never
/// changes: mailed `List-Id`s and archive links carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicationChanges {
    pub name: Option<PublicationName>,
    pub description: Option<PublicationDescription>,
    pub kind: Option<PublicationKind>,
}

/// Which publications a new contact or a request joins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PublicationChoice {
    /// Every publication there is (what KOM's list always meant: "alt KOM sender").
    #[default]
    All,
    /// These, and no others; never empty.
    Only(Vec<PublicationSlug>),
}

impl PublicationChoice {
    /// The publications named, once each; an empty list is refused (a person who wants
    /// nothing leaves the list instead).
    pub fn only(mut slugs: Vec<PublicationSlug>) -> Result<Self, PublicationError> {
        slugs.sort();
        slugs.dedup();
        if slugs.is_empty() {
            Err(PublicationError::NoneChosen)
        } else {
            Ok(PublicationChoice::Only(slugs))
        }
    }

    /// Parses "nyhetsbrev, rettsavgjorelser" (commas, semicolons or spaces between);
    /// blank means all.
    pub fn parse_list(input: &str) -> Result<Self, PublicationError> {
        let slugs = input
            .split([',', ';', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(PublicationSlug::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if slugs.is_empty() {
            Ok(PublicationChoice::All)
        } else {
            PublicationChoice::only(slugs)
        }
    }
}

/// One publication a contact is or was subscribed to, with the consent for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub publication: PublicationSlug,
    pub name: PublicationName,
    pub consent: Consent,
    /// When the contact left it; `None` while subscribed.
    pub left_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_plain_lower_case_words() {
        for good in ["nyhetsbrev", "rettsavgjorelser", "rapport-2025", "a"] {
            assert_eq!(PublicationSlug::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "../etc",
            "Nyhetsbrev",
            "rett/avgjorelser",
            "-a",
            "a-",
            "a--b",
            "rettsavgjørelser",
            "a b",
            &"a".repeat(41),
        ] {
            assert!(
                matches!(
                    PublicationSlug::parse(bad),
                    Err(PublicationError::BadSlug(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_one_bounded_line() {
        assert_eq!(
            PublicationName::parse("  Oversikt over rettsavgjørelser ")
                .unwrap()
                .as_str(),
            "Oversikt over rettsavgjørelser"
        );
        assert_eq!(
            PublicationName::parse(" "),
            Err(PublicationError::Empty { field: "name" })
        );
        assert_eq!(
            PublicationName::parse("a\nb"),
            Err(PublicationError::Control { field: "name" })
        );
        assert_eq!(
            PublicationDescription::parse("a\u{202E}b"),
            Err(PublicationError::Control {
                field: "description"
            })
        );
        assert!(matches!(
            PublicationName::parse(&"x".repeat(81)),
            Err(PublicationError::TooLong { .. })
        ));
        assert_eq!(
            PublicationKind::parse("announcement"),
            Ok(PublicationKind::Announcement)
        );
        assert!(PublicationKind::parse("weekly").is_err());
    }

    #[test]
    fn a_choice_names_each_publication_once_and_never_none() {
        assert_eq!(
            PublicationChoice::parse_list(" "),
            Ok(PublicationChoice::All)
        );
        let PublicationChoice::Only(slugs) =
            PublicationChoice::parse_list("rettsavgjorelser; nyhetsbrev,rettsavgjorelser").unwrap()
        else {
            panic!("a list is a choice of some")
        };
        let slugs: Vec<&str> = slugs.iter().map(PublicationSlug::as_str).collect();
        assert_eq!(slugs, ["nyhetsbrev", "rettsavgjorelser"]);
        assert_eq!(
            PublicationChoice::only(Vec::new()),
            Err(PublicationError::NoneChosen)
        );
        assert!(PublicationChoice::parse_list("nyhetsbrev, ../x").is_err());
    }
}
