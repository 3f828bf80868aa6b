//! A source as the form fields a stored issue is edited in, and back.

use super::{DateValue, FrontMatter, front_matter_span};

/// The front matter as text fields and the Markdown body after it: what a form shows
/// when a stored issue is edited. `None` when the source has no readable front matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceParts {
    pub slug: String,
    pub subject: String,
    pub period: String,
    pub preheader: String,
    pub audience: String,
    /// The publication's slug; empty is the newsletter.
    pub publication: String,
    /// An announcement's prominent link and its text; empty for a newsletter.
    pub link: String,
    pub link_text: String,
    /// `YYYY-MM-DD`, or empty.
    pub date: String,
    pub body: String,
}

impl SourceParts {
    /// Reads a source back into its fields.
    pub fn split(source: &str) -> Option<SourceParts> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let (front_text, body_start) = front_matter_span(source).ok()?;
        let front: FrontMatter = toml::from_str(&source[front_text.0..front_text.1]).ok()?;
        Some(SourceParts {
            slug: front.slug,
            subject: front.subject,
            period: front.period,
            preheader: front.preheader,
            audience: front.audience.unwrap_or_default(),
            publication: front.publication.unwrap_or_default(),
            link: front.link.unwrap_or_default(),
            link_text: front.link_text.unwrap_or_default(),
            date: match front.date {
                Some(DateValue::Date(d)) => d.to_string(),
                Some(DateValue::Text(t)) => t,
                None => String::new(),
            },
            body: source[body_start..].to_owned(),
        })
    }

    /// The source these fields make: a front matter staff never type, then the body.
    /// Values are written as TOML basic strings, so any text survives unchanged to be
    /// checked by [`parse_issue`]; a date that is not `YYYY-MM-DD` is written as a
    /// string, which the parser refuses with its line.
    pub fn to_source(&self) -> String {
        let mut out = self.front_matter();
        out.push_str(&self.body);
        out
    }

    /// How many lines come before the body in [`SourceParts::to_source`]: a problem on
    /// source line `n` is on line `n - offset` of the body.
    pub fn body_line_offset(&self) -> usize {
        self.front_matter().matches('\n').count()
    }

    fn front_matter(&self) -> String {
        let mut out = String::from("+++\n");
        for (key, value) in [
            ("slug", &self.slug),
            ("subject", &self.subject),
            ("period", &self.period),
            ("preheader", &self.preheader),
        ] {
            out.push_str(&format!("{key} = {}\n", toml_string(value)));
        }
        if !self.audience.trim().is_empty() {
            out.push_str(&format!("audience = {}\n", toml_string(&self.audience)));
        }
        // The newsletter is the default: its sources stay as they always were.
        let publication = self.publication.trim();
        if !publication.is_empty() && publication != crate::domain::DEFAULT_PUBLICATION {
            out.push_str(&format!("publication = {}\n", toml_string(publication)));
        }
        for (key, value) in [("link", &self.link), ("link_text", &self.link_text)] {
            if !value.trim().is_empty() {
                out.push_str(&format!("{key} = {}\n", toml_string(value)));
            }
        }
        let date = self.date.trim();
        if !date.is_empty() {
            let is_day = date.len() == 10
                && date.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if is_day {
                out.push_str(&format!("date = {date}\n"));
            } else {
                out.push_str(&format!("date = {}\n", toml_string(date)));
            }
        }
        out.push_str("+++\n");
        out
    }
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
