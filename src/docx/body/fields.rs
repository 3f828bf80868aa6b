//! Complex fields (`w:fldChar` … `w:instrText` … `w:fldChar`): a hyperlink field is a
//! link, a table of contents is left out (the mail makes its own), any other field shows
//! its result.

use super::Walker;
use crate::docx::OmissionKind;

#[derive(Debug)]
pub(super) struct Field {
    pub(super) instruction: String,
    /// Past `separate`: what follows is the field's result.
    pub(super) in_result: bool,
    pub(super) shows: FieldShows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldShows {
    Result,
    Link(usize),
    Nothing,
}

impl Walker<'_> {
    pub(super) fn field_char(&mut self, kind: Option<&str>) {
        match kind {
            Some("begin") => self.fields.push(Field {
                instruction: String::new(),
                in_result: false,
                shows: FieldShows::Result,
            }),
            Some("separate") => {
                if let Some(mut field) = self.fields.pop() {
                    field.in_result = true;
                    field.shows = self.field_shows(&field.instruction);
                    self.fields.push(field);
                }
            }
            Some("end") => {
                self.fields.pop();
            }
            _ => {}
        }
    }

    /// What a field shows: a hyperlink's text as a link, a table of contents nothing
    /// (the mail makes its own), any other field (a page number, a date) its result.
    pub(super) fn field_shows(&mut self, instruction: &str) -> FieldShows {
        let mut words = field_words(instruction).into_iter();
        let code = words.next().unwrap_or_default().to_ascii_uppercase();
        match code.as_str() {
            "HYPERLINK" => {
                let mut target = None;
                let mut anchor = false;
                while let Some(word) = words.next() {
                    match word.as_str() {
                        "\\l" => {
                            anchor = true;
                            words.next();
                        }
                        w if w.starts_with('\\') => {
                            // \o "tooltip", \t "frame": a switch with an argument.
                            if matches!(w, "\\o" | "\\t") {
                                words.next();
                            }
                        }
                        _ if target.is_none() => target = Some(word),
                        _ => {}
                    }
                }
                match target {
                    Some(target) => FieldShows::Link(self.link(target)),
                    None => {
                        if anchor {
                            self.omit(OmissionKind::InternalLink, None);
                        }
                        FieldShows::Result
                    }
                }
            }
            "TOC" => {
                self.omit(OmissionKind::TableOfContents, None);
                FieldShows::Nothing
            }
            _ => FieldShows::Result,
        }
    }

    /// Whether text read now is shown: not inside a field's instruction, nor in the
    /// result of a field that shows nothing.
    pub(super) fn shows_text(&self) -> bool {
        self.fields
            .iter()
            .all(|f| f.in_result && f.shows != FieldShows::Nothing)
    }

    pub(super) fn field_link(&self) -> Option<usize> {
        self.fields.iter().rev().find_map(|f| match f.shows {
            FieldShows::Link(id) if f.in_result => Some(id),
            _ => None,
        })
    }
}

/// A field instruction's words; quoted words keep their spaces.
fn field_words(instruction: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = instruction.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                word.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_instructions_split_into_words() {
        assert_eq!(
            field_words(r#" HYPERLINK "https://example.org/a b" \o "Tips" "#),
            ["HYPERLINK", "https://example.org/a b", "\\o", "Tips"]
        );
        assert_eq!(field_words("PAGE"), ["PAGE"]);
    }
}
