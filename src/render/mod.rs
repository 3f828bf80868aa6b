//! Markdown source → issue model → HTML mail, text mail and web version.
//!
//! Rendering happens once per issue. What differs per recipient (their address and
//! unsubscribe link) is left as slots in a [`Personalisable`], so personalising a
//! message is one pass of concatenation.

mod html;
mod source;
mod text;

pub use source::{
    MAX_SOURCE_BYTES, NoteKind, Parsed, Problem, SourceError, SourceNote, SourceParts,
    SourceProblem, parse_issue, parse_issue_as,
};

use crate::domain::{Issue, Publication};

/// Mail clients (Gmail) clip HTML larger than 102 KB; a rendered issue must stay under.
pub const MAX_HTML_BYTES: usize = 102 * 1024;

/// Settings the fixed parts of every issue use.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Public URL of the service: the web version and the unsubscribe page live there.
    pub base_url: String,
    /// Where readers write with questions ("Kontakt oss").
    pub contact_address: String,
    /// «Koordineringsenheten mot menneskehandel», over every issue.
    pub organisation_name: String,
    /// «KOM»: «Om KOM», «KOMs kontaktliste».
    pub organisation_short_name: String,
}

impl RenderContext {
    /// The context with the organisation's names as they were before staff set them.
    pub fn new(base_url: impl Into<String>, contact_address: impl Into<String>) -> Self {
        RenderContext {
            base_url: base_url.into(),
            contact_address: contact_address.into(),
            organisation_name: crate::domain::DEFAULT_ORGANISATION_NAME.to_owned(),
            organisation_short_name: crate::domain::DEFAULT_ORGANISATION_SHORT_NAME.to_owned(),
        }
    }

    /// The context with what staff have set over it (names, reply address).
    pub fn with_staff(&self, staff: &crate::domain::StaffSettings) -> Self {
        let name = |own: &Option<crate::domain::IdentityName>, default: &str| {
            own.as_ref()
                .map_or_else(|| default.to_owned(), |n| n.as_str().to_owned())
        };
        RenderContext {
            base_url: self.base_url.clone(),
            contact_address: staff
                .reply_address
                .as_ref()
                .map_or_else(|| self.contact_address.clone(), |a| a.to_string()),
            organisation_name: name(&staff.organisation_name, &self.organisation_name),
            organisation_short_name: name(
                &staff.organisation_short_name,
                &self.organisation_short_name,
            ),
        }
    }

    /// A publication's footer texts, defaults written with these names.
    pub fn footer(&self, publication: &Publication) -> crate::domain::FooterTexts {
        publication.footer.texts(crate::domain::FooterNames {
            organisation_name: &self.organisation_name,
            organisation_short_name: &self.organisation_short_name,
            reply_address: &self.contact_address,
        })
    }

    pub fn web_url(&self, issue: &Issue) -> String {
        format!(
            "{}/arkiv/{}",
            self.base_url.trim_end_matches('/'),
            issue.meta.slug
        )
    }
}

/// A per-recipient value in a rendered mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The recipient's address.
    Email,
    /// Their personal unsubscribe page.
    UnsubscribeUrl,
    /// Their personal page for choosing the publications they get.
    PreferencesUrl,
}

impl Slot {
    /// Characters from Unicode's private use area mark a slot in rendered output;
    /// they never occur in an issue's text.
    const fn marker(self) -> &'static str {
        match self {
            Slot::Email => "\u{E000}email\u{E001}",
            Slot::UnsubscribeUrl => "\u{E000}unsubscribe\u{E001}",
            Slot::PreferencesUrl => "\u{E000}preferences\u{E001}",
        }
    }

    const ALL: [Slot; 3] = [Slot::Email, Slot::UnsubscribeUrl, Slot::PreferencesUrl];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Slot(Slot),
}

/// Rendered output with slots for the personal parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalisable {
    parts: Vec<Part>,
    literal_len: usize,
}

/// A piece of rendered output: fixed text, or a per-recipient slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Literal(&'a str),
    Slot(Slot),
}

/// The values that fill the slots, already escaped for the output they go into.
#[derive(Debug, Clone, Copy)]
pub struct Personal<'a> {
    pub email: &'a str,
    pub unsubscribe_url: &'a str,
    pub preferences_url: &'a str,
}

impl Personal<'_> {
    pub fn value(&self, slot: Slot) -> &str {
        match slot {
            Slot::Email => self.email,
            Slot::UnsubscribeUrl => self.unsubscribe_url,
            Slot::PreferencesUrl => self.preferences_url,
        }
    }
}

impl Personalisable {
    fn from_marked(marked: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = marked;
        loop {
            let next = Slot::ALL
                .iter()
                .filter_map(|slot| rest.find(slot.marker()).map(|at| (at, *slot)))
                .min_by_key(|(at, _)| *at);
            match next {
                Some((at, slot)) => {
                    if at > 0 {
                        parts.push(Part::Literal(rest[..at].to_owned()));
                    }
                    parts.push(Part::Slot(slot));
                    rest = &rest[at + slot.marker().len()..];
                }
                None => {
                    if !rest.is_empty() {
                        parts.push(Part::Literal(rest.to_owned()));
                    }
                    break;
                }
            }
        }
        let literal_len = parts
            .iter()
            .map(|p| if let Part::Literal(l) = p { l.len() } else { 0 })
            .sum();
        Personalisable { parts, literal_len }
    }

    /// The output for one recipient.
    pub fn fill(&self, personal: &Personal<'_>) -> String {
        let mut out = String::with_capacity(self.literal_len + 256);
        self.fill_into(personal, &mut out);
        out
    }

    pub fn fill_into(&self, personal: &Personal<'_>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Slot(slot) => out.push_str(personal.value(*slot)),
            }
        }
    }

    /// The literal runs and slots in order, for encoders that work once per issue.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.parts.iter().map(|part| match part {
            Part::Literal(text) => Segment::Literal(text),
            Part::Slot(slot) => Segment::Slot(*slot),
        })
    }

    /// The size without the personal parts.
    pub fn literal_len(&self) -> usize {
        self.literal_len
    }
}

/// An issue rendered once, ready to be personalised for each recipient.
#[derive(Debug, Clone)]
pub struct RenderedIssue {
    pub html: Personalisable,
    pub text: Personalisable,
    /// The public web version: no personal parts.
    pub web: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not render the issue: {0}")]
    Template(askama::Error),
    #[error("could not inline the mail's CSS: {0}")]
    Css(String),
}

/// Renders an issue of `publication`: its name is the masthead and the text twin's
/// title.
pub fn render(
    issue: &Issue,
    publication: &Publication,
    context: &RenderContext,
) -> Result<RenderedIssue, RenderError> {
    Ok(RenderedIssue {
        html: Personalisable::from_marked(&html::mail(issue, publication, context)?),
        text: Personalisable::from_marked(&text::mail(issue, publication, context)),
        web: html::web(issue, publication, context)?,
    })
}

/// Only the web version, for the archive.
pub fn render_web(
    issue: &Issue,
    publication: &Publication,
    context: &RenderContext,
) -> Result<String, RenderError> {
    html::web(issue, publication, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_filled_in_place() {
        let marked = format!(
            "a{}b{}{}c{}",
            Slot::Email.marker(),
            Slot::UnsubscribeUrl.marker(),
            Slot::Email.marker(),
            Slot::PreferencesUrl.marker()
        );
        let template = Personalisable::from_marked(&marked);
        assert_eq!(template.literal_len(), 3);
        let personal = Personal {
            email: "ola@example.org",
            unsubscribe_url: "https://x.test/u/1",
            preferences_url: "https://x.test/p/1",
        };
        assert_eq!(
            template.fill(&personal),
            "aola@example.orgbhttps://x.test/u/1ola@example.orgchttps://x.test/p/1"
        );
    }
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(askama::Error => RenderError::Template);
