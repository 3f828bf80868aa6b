//! The issue model: an issue has sections (`##`), a section has items (`###`), an item
//! has blocks (paragraphs, lists, tables) made of inline text.

use std::fmt;

/// The short name of an issue, e.g. `2024-q1`: lower-case letters, digits and dashes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Slug, String> {
        let s = input.trim();
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if valid {
            Ok(Slug(s.to_owned()))
        } else {
            Err(format!(
                "slug {input:?} must be 1–{} lower-case letters a–z, digits and dashes, such as \"2024-q1\"",
                Self::MAX_LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({:?})", self.0)
    }
}

/// "Aktuelle norske tiltak" → "aktuelle-norske-tiltak": lower-case letters a–z and
/// digits (æ, ø and å spelled ae, o, a), one dash for anything between words.
pub fn dashed_words(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'å' => out.push('a'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ if !out.ends_with('-') && !out.is_empty() => out.push('-'),
            _ => {}
        }
    }
    out.truncate(out.trim_end_matches('-').len());
    out
}

/// What the front matter says about an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueMeta {
    pub slug: Slug,
    /// The publication it belongs to (its front matter's `publication`, else the
    /// newsletter).
    pub publication: super::PublicationSlug,
    /// The mail's subject: one line, no control characters (it becomes a header).
    pub subject: String,
    /// "januar–mars 2024".
    pub period: String,
    /// The line mail clients show after the subject.
    pub preheader: String,
    /// "Til KOMs samarbeidsaktører".
    pub audience: Option<String>,
    pub date: Option<time::Date>,
    /// An announcement's one prominent link (the report's PDF); newsletters have none.
    pub link: Option<CallToAction>,
}

/// The prominent link of an announcement: "Last ned oversikten (PDF)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallToAction {
    pub text: String,
    /// An absolute http(s) address.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub meta: IssueMeta,
    /// Text before the first section: an announcement's paragraphs (a newsletter has
    /// none; its text starts with a section).
    pub intro: Vec<Block>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    /// Unique within the issue, for the table of contents.
    pub anchor: String,
    /// Blocks between the section heading and its first item.
    pub intro: Vec<Block>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub title: Vec<Inline>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    List {
        ordered: bool,
        start: u64,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Preformatted(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Strikethrough(Vec<Inline>),
    Link { url: String, children: Vec<Inline> },
    LineBreak,
}

impl Inline {
    /// The text without markup, as a screen reader or a subject line would have it.
    pub fn plain(inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            match inline {
                Inline::Text(t) | Inline::Code(t) => out.push_str(t),
                Inline::Strong(c)
                | Inline::Emphasis(c)
                | Inline::Strikethrough(c)
                | Inline::Link { children: c, .. } => {
                    out.push_str(&Inline::plain(c));
                }
                Inline::LineBreak => out.push(' '),
            }
        }
        out
    }
}

impl Issue {
    /// Every link URL in the issue, in order of appearance.
    pub fn links(&self) -> Vec<&str> {
        self.located_links().into_iter().map(|l| l.url).collect()
    }

    /// Every link with the section and item it is in, in order of appearance.
    pub fn located_links(&self) -> Vec<LocatedLink<'_>> {
        fn inlines<'a>(list: &'a [Inline], out: &mut Vec<&'a str>) {
            for inline in list {
                match inline {
                    Inline::Link { url, children } => {
                        out.push(url);
                        inlines(children, out);
                    }
                    Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strikethrough(c) => {
                        inlines(c, out)
                    }
                    Inline::Text(_) | Inline::Code(_) | Inline::LineBreak => {}
                }
            }
        }
        fn blocks<'a>(list: &'a [Block], out: &mut Vec<&'a str>) {
            for block in list {
                match block {
                    Block::Paragraph(i) => inlines(i, out),
                    Block::List { items, .. } => items.iter().for_each(|b| blocks(b, out)),
                    Block::Quote(b) => blocks(b, out),
                    Block::Table { head, rows } => {
                        head.iter().for_each(|c| inlines(c, out));
                        rows.iter().flatten().for_each(|c| inlines(c, out));
                    }
                    Block::Preformatted(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        let mut urls = Vec::new();
        blocks(&self.intro, &mut urls);
        out.extend(urls.into_iter().map(|url| LocatedLink {
            url,
            section: &self.meta.subject,
            item: None,
        }));
        if let Some(link) = &self.meta.link {
            out.push(LocatedLink {
                url: &link.url,
                section: &self.meta.subject,
                item: Some(link.text.clone()),
            });
        }
        for section in &self.sections {
            let mut urls = Vec::new();
            blocks(&section.intro, &mut urls);
            out.extend(urls.into_iter().map(|url| LocatedLink {
                url,
                section: &section.title,
                item: None,
            }));
            for item in &section.items {
                let mut urls = Vec::new();
                inlines(&item.title, &mut urls);
                blocks(&item.blocks, &mut urls);
                let title = Inline::plain(&item.title);
                out.extend(urls.into_iter().map(|url| LocatedLink {
                    url,
                    section: &section.title,
                    item: Some(title.clone()),
                }));
            }
        }
        out
    }
}

/// A link and where it is in the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedLink<'a> {
    pub url: &'a str,
    pub section: &'a str,
    /// The item's title, or `None` for a section's introduction.
    pub item: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lower_case_names() {
        assert_eq!(Slug::parse(" 2024-q1 ").unwrap().as_str(), "2024-q1");
        for bad in [
            "",
            "2024 q1",
            "2024/q1",
            "Q1",
            "-x",
            "../etc",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
