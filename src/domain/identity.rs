//! Who sends: the organisation's name, the sender's name and address, and the reply
//! address (issue 31). Staff own these and change them in the admin; what they have not
//! set comes from the settings file. A publication's footer (contact text, mandate, how
//! to join) is staff's too: [`PublicationFooter`], with defaults written from the
//! current identity.

use super::{EmailAddress, Timestamp, is_bidi_control};

/// The organisation's full name before staff change it.
pub const DEFAULT_ORGANISATION_NAME: &str = "Koordineringsenheten mot menneskehandel";
/// Its short name: «Om KOM», «KOMs kontaktliste».
pub const DEFAULT_ORGANISATION_SHORT_NAME: &str = "KOM";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("{field} is empty")]
    Empty { field: IdentityField },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: IdentityField, max: usize },
    #[error("{field} holds a control character")]
    Control { field: IdentityField },
    #[error("{field} is not an e-mail address")]
    NotAnAddress { field: IdentityField },
    /// The sender's address must stay in the domain the mail is signed for.
    #[error("the sender's address must be in {domain}")]
    OtherDomain { domain: String },
}

/// The staff-owned fields, each with its label in the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    OrganisationName,
    OrganisationShortName,
    FromName,
    FromAddress,
    ReplyAddress,
    FooterContact,
    FooterAbout,
    FooterJoin,
}

impl IdentityField {
    const ALL: [IdentityField; 8] = [
        IdentityField::OrganisationName,
        IdentityField::OrganisationShortName,
        IdentityField::FromName,
        IdentityField::FromAddress,
        IdentityField::ReplyAddress,
        IdentityField::FooterContact,
        IdentityField::FooterAbout,
        IdentityField::FooterJoin,
    ];

    /// The field's name as the audit log stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityField::OrganisationName => "organisation_name",
            IdentityField::OrganisationShortName => "organisation_short_name",
            IdentityField::FromName => "from_name",
            IdentityField::FromAddress => "from_address",
            IdentityField::ReplyAddress => "reply_address",
            IdentityField::FooterContact => "footer_contact",
            IdentityField::FooterAbout => "footer_about",
            IdentityField::FooterJoin => "footer_join",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == stored)
    }

    pub fn norwegian(self) -> &'static str {
        match self {
            IdentityField::OrganisationName => "organisasjonens navn",
            IdentityField::OrganisationShortName => "forkortelsen",
            IdentityField::FromName => "avsenderens navn",
            IdentityField::FromAddress => "avsenderadressen",
            IdentityField::ReplyAddress => "svaradressen",
            IdentityField::FooterContact => "teksten under «Kontakt oss»",
            IdentityField::FooterAbout => "teksten om organisasjonen",
            IdentityField::FooterJoin => "teksten om kontaktlisten",
        }
    }
}

impl std::fmt::Display for IdentityField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.norwegian())
    }
}

impl IdentityError {
    /// The refusal as staff read it.
    pub fn norwegian(&self) -> String {
        match self {
            IdentityError::Empty { field } => format!("Fyll inn {field}."),
            IdentityError::TooLong { field, max } => {
                format!(
                    "{} kan være høyst {max} tegn.",
                    capitalised(field.norwegian())
                )
            }
            IdentityError::Control { field } => format!(
                "{} inneholder usynlige styretegn. Skriv teksten inn på nytt.",
                capitalised(field.norwegian())
            ),
            IdentityError::NotAnAddress { field } => format!(
                "{} er ikke en e-postadresse (den skal se ut som navn@example.no).",
                capitalised(field.norwegian())
            ),
            IdentityError::OtherDomain { domain } => format!(
                "Avsenderadressen må slutte på @{domain}: e-posten signeres for det domenet, og \
                 mottakernes e-posttjenester avviser post fra andre domener. Spør den som drifter \
                 tjenesten om et annet domene skal brukes."
            ),
        }
    }

    pub fn field(&self) -> Option<IdentityField> {
        match self {
            IdentityError::Empty { field }
            | IdentityError::TooLong { field, .. }
            | IdentityError::Control { field }
            | IdentityError::NotAnAddress { field } => Some(*field),
            IdentityError::OtherDomain { .. } => Some(IdentityField::FromAddress),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A one-line name: the organisation's, its short name, the sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityName(String);

impl IdentityName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str, field: IdentityField) -> Result<Self, IdentityError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(IdentityError::Empty { field });
        }
        if text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err(IdentityError::Control { field });
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(IdentityError::TooLong {
                field,
                max: Self::MAX_CHARS,
            });
        }
        Ok(IdentityName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What staff have set; `None` is "as the settings file says".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffSettings {
    pub organisation_name: Option<IdentityName>,
    pub organisation_short_name: Option<IdentityName>,
    pub from_name: Option<IdentityName>,
    pub from_address: Option<EmailAddress>,
    pub reply_address: Option<EmailAddress>,
    /// When staff last saved them; `None` if never.
    pub updated_at: Option<Timestamp>,
}

/// Who sends, every field filled in: staff's choice where they made one, else the
/// settings file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub organisation_name: String,
    pub organisation_short_name: String,
    pub from_name: String,
    pub from_address: EmailAddress,
    /// Where readers write with questions («Kontakt oss»).
    pub reply_address: EmailAddress,
}

impl Identity {
    /// `self` (the settings file's) with what staff have set over it.
    pub fn with(&self, staff: &StaffSettings) -> Identity {
        let name = |own: &Option<IdentityName>, default: &str| {
            own.as_ref()
                .map_or_else(|| default.to_owned(), |n| n.as_str().to_owned())
        };
        Identity {
            organisation_name: name(&staff.organisation_name, &self.organisation_name),
            organisation_short_name: name(
                &staff.organisation_short_name,
                &self.organisation_short_name,
            ),
            from_name: name(&staff.from_name, &self.from_name),
            // Only within the file's domain: mail is signed and allowed for it alone.
            from_address: staff
                .from_address
                .clone()
                .filter(|a| a.domain().eq_ignore_ascii_case(self.from_address.domain()))
                .unwrap_or_else(|| self.from_address.clone()),
            reply_address: staff
                .reply_address
                .clone()
                .unwrap_or_else(|| self.reply_address.clone()),
        }
    }

    /// The signature line of the service's own mails: «KOM – Koordineringsenheten …».
    pub fn signature(&self) -> String {
        signature(&self.organisation_short_name, &self.organisation_name)
    }
}

/// «KOM – Koordineringsenheten mot menneskehandel»; the name alone when both are one.
pub fn signature(short_name: &str, name: &str) -> String {
    if short_name == name {
        name.to_owned()
    } else {
        format!("{short_name} – {name}")
    }
}

/// Text of a footer part as staff write it: paragraphs split by a blank line, a
/// paragraph whose lines start with «- » is a list; addresses and web addresses become
/// links in the HTML mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterText(String);

/// A paragraph or a list of a footer part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FooterBlock {
    Paragraph(String),
    List(Vec<String>),
}

impl FooterText {
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(input: &str, field: IdentityField) -> Result<Self, IdentityError> {
        let text = input.replace("\r\n", "\n").replace('\r', "\n");
        let text = text.trim();
        if text.is_empty() {
            return Err(IdentityError::Empty { field });
        }
        if text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
        {
            return Err(IdentityError::Control { field });
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(IdentityError::TooLong {
                field,
                max: Self::MAX_CHARS,
            });
        }
        Ok(FooterText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn blocks(&self) -> Vec<FooterBlock> {
        self.0
            .split("\n\n")
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(|block| {
                let lines: Vec<&str> = block.lines().map(str::trim).collect();
                if lines.iter().all(|l| l.starts_with("- ")) {
                    FooterBlock::List(lines.iter().map(|l| l[2..].trim().to_owned()).collect())
                } else {
                    FooterBlock::Paragraph(lines.join(" "))
                }
            })
            .collect()
    }
}

/// A publication's footer as staff set it; `None` parts are the default text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicationFooter {
    /// Under «Kontakt oss».
    pub contact: Option<FooterText>,
    /// Under «Om KOM»: the mandate.
    pub about: Option<FooterText>,
    /// Under «KOMs kontaktliste», after the line naming the recipient: what the list
    /// gets and how others join.
    pub join: Option<FooterText>,
}

/// A footer with every part's text, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterTexts {
    pub contact: FooterText,
    pub about: FooterText,
    pub join: FooterText,
}

/// The names a default footer is written with.
#[derive(Debug, Clone, Copy)]
pub struct FooterNames<'a> {
    pub organisation_name: &'a str,
    pub organisation_short_name: &'a str,
    pub reply_address: &'a str,
}

impl PublicationFooter {
    pub fn texts(&self, names: FooterNames<'_>) -> FooterTexts {
        let or =
            |own: &Option<FooterText>, default: String| own.clone().unwrap_or(FooterText(default));
        FooterTexts {
            contact: or(&self.contact, default_contact(names)),
            about: or(&self.about, default_about(names)),
            join: or(&self.join, default_join(names)),
        }
    }
}

impl Identity {
    pub fn footer_names(&self) -> FooterNames<'_> {
        FooterNames {
            organisation_name: &self.organisation_name,
            organisation_short_name: &self.organisation_short_name,
            reply_address: self.reply_address.as_str(),
        }
    }
}

fn default_contact(identity: FooterNames<'_>) -> String {
    format!(
        "På politiets nettsider om menneskehandel finner du publikasjoner fra {short}: \
         https://www.politiet.no/menneskehandel. For innspill eller spørsmål, kontakt oss på {reply}.",
        short = identity.organisation_short_name,
        reply = identity.reply_address
    )
}

fn default_about(identity: FooterNames<'_>) -> String {
    format!(
        "{name} ({short}) er et av tiltakene i myndighetenes arbeid mot menneskehandel, med en \
         overordnet funksjon å være pådriver for tverretatlig og tverrfaglig samarbeid. {short} er \
         administrativt underlagt Politidirektoratet og har et eget mandat fra Justis- og \
         beredskapsdepartementet.\n\n\
         {short} skal\n\n\
         - være et virkemiddel for samordning mellom myndigheter og organisasjoner\n\
         - bistå med metoder for identifisering og mobilisering av bistand og beskyttelse til ofre\n\
         - bidra med tverrfaglig informasjonsutveksling og kompetanseheving\n\
         - ikke ha en operativ rolle i enkeltsaker\n\n\
         Nyhetsbrevet inngår som del av oppdraget i mandatet om å bidra til tverrfaglig \
         informasjonsutveksling og kompetanseheving innen feltet menneskehandel.",
        name = identity.organisation_name,
        short = identity.organisation_short_name
    )
}

fn default_join(identity: FooterNames<'_>) -> String {
    format!(
        "{short} sender jevnlig ut informasjon til alle på kontaktlisten: nyhetsbrev, oversikt \
         over rettsavgjørelser og tilstandsrapport.\n\n\
         Vil andre i din organisasjon ha nyhetsbrevet? De kan skrive til {reply}.",
        short = identity.organisation_short_name,
        reply = identity.reply_address
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            organisation_name: DEFAULT_ORGANISATION_NAME.to_owned(),
            organisation_short_name: DEFAULT_ORGANISATION_SHORT_NAME.to_owned(),
            from_name: "KOM".to_owned(),
            from_address: EmailAddress::parse("kom@example.no").unwrap(),
            reply_address: EmailAddress::parse("post@example.no").unwrap(),
        }
    }

    #[test]
    fn staff_choices_win_over_the_file_and_the_rest_stays() {
        let staff = StaffSettings {
            organisation_name: Some(
                IdentityName::parse("  Ny enhet ", IdentityField::OrganisationName).unwrap(),
            ),
            reply_address: Some(EmailAddress::parse("svar@example.no").unwrap()),
            ..StaffSettings::default()
        };
        let live = identity().with(&staff);
        assert_eq!(live.organisation_name, "Ny enhet");
        assert_eq!(live.reply_address.as_str(), "svar@example.no");
        assert_eq!(live.from_address.as_str(), "kom@example.no");
        assert_eq!(live.signature(), "KOM – Ny enhet");
    }

    #[test]
    fn the_default_footer_carries_the_current_name_and_reply_address() {
        let texts = PublicationFooter::default().texts(identity().footer_names());
        assert!(
            texts
                .about
                .as_str()
                .starts_with("Koordineringsenheten mot menneskehandel (KOM)")
        );
        assert!(!texts.about.as_str().contains("for ofre for"));
        assert!(texts.contact.as_str().contains("post@example.no"));
        assert!(texts.join.as_str().contains("post@example.no"));
        let blocks = texts.about.blocks();
        assert_eq!(blocks.len(), 4);
        assert!(matches!(&blocks[2], FooterBlock::List(points) if points.len() == 4));
    }

    #[test]
    fn footer_text_refuses_control_characters_and_too_much() {
        let field = IdentityField::FooterAbout;
        assert_eq!(
            FooterText::parse("a\u{7}b", field),
            Err(IdentityError::Control { field })
        );
        assert_eq!(
            FooterText::parse("\u{202E}abc", field),
            Err(IdentityError::Control { field })
        );
        assert!(matches!(
            FooterText::parse(&"x".repeat(FooterText::MAX_CHARS + 1), field),
            Err(IdentityError::TooLong { .. })
        ));
        assert_eq!(
            FooterText::parse(" \r\n ", field),
            Err(IdentityError::Empty { field })
        );
        let text = FooterText::parse("Første\r\nlinje\r\n\r\n- en\n- to", field).unwrap();
        assert_eq!(
            text.blocks(),
            vec![
                FooterBlock::Paragraph("Første linje".to_owned()),
                FooterBlock::List(vec!["en".to_owned(), "to".to_owned()])
            ]
        );
    }

    #[test]
    fn names_are_one_line_and_bounded() {
        let field = IdentityField::FromName;
        assert!(IdentityName::parse("a\nb", field).is_err());
        assert!(IdentityName::parse(&"x".repeat(101), field).is_err());
        assert_eq!(
            IdentityName::parse("", field),
            Err(IdentityError::Empty { field })
        );
    }
}
