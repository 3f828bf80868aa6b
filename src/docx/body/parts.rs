//! The document's other parts: its title, its footnotes and endnotes, its page headers
//! and footers, read for what a report of left-out things should quote.

use std::collections::HashMap;

use crate::docx::DocxError;
use crate::docx::xml::{Ev, Xml, attr, name};

/// `dc:title` from `docProps/core.xml`.
pub(super) fn core_title(part: &str, text: &str) -> Result<Option<String>, DocxError> {
    let mut xml = Xml::new(part, text);
    loop {
        match xml.next()? {
            Ev::Start(e) if name(&e) == "title" => {
                let title = xml.text_to_end()?;
                return Ok(Some(title).filter(|t| !t.trim().is_empty()));
            }
            Ev::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// The text of each footnote or endnote, by its id.
pub(super) fn notes_text(part: &str, text: &str) -> Result<HashMap<String, String>, DocxError> {
    let mut xml = Xml::new(part, text);
    let mut out = HashMap::new();
    loop {
        match xml.next()? {
            Ev::Start(e) if matches!(name(&e), "footnote" | "endnote") => {
                let id = attr(&e, "id").unwrap_or_default();
                let depth = xml.depth();
                let mut text = String::new();
                while xml.depth() >= depth {
                    if let Ev::Start(t) = xml.next()?
                        && name(&t) == "t"
                    {
                        text.push_str(&xml.text_to_end()?);
                    }
                }
                out.insert(id, collapse_spaces(&text));
            }
            Ev::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// The text of every `w:t` in a part (a page header or footer).
pub(super) fn visible_text(part: &str, text: &str) -> Result<String, DocxError> {
    let mut xml = Xml::new(part, text);
    let mut out = String::new();
    loop {
        match xml.next()? {
            Ev::Start(e) if name(&e) == "t" => {
                out.push_str(&xml.text_to_end()?);
                out.push(' ');
            }
            Ev::Eof => return Ok(collapse_spaces(&out)),
            _ => {}
        }
    }
}

pub(in crate::docx) fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first words of a text, for a report line.
pub(in crate::docx) fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    let text = collapse_spaces(text);
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("  kort\n tekst "), "kort tekst");
        let long = "ord ".repeat(40);
        assert!(excerpt(&long).chars().count() <= 61);
        assert!(excerpt(&long).ends_with('…'));
    }
}
