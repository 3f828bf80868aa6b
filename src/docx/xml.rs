//! A pull reader over one XML part that keeps the import's rules: no DOCTYPE (so no
//! entity can be declared, let alone expanded), only the five predefined entities and
//! character references to characters XML allows, and at most [`MAX_DEPTH`] open
//! elements. Elements are named by their local name: Office's prefixes are fixed by
//! convention, and the import never needs to tell two namespaces' `t` apart because it
//! skips the drawings that hold the other one.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::DocxError;

/// Word nests tables in tables and content controls in paragraphs, but never this deep.
pub const MAX_DEPTH: usize = 200;

pub(super) enum Ev<'a> {
    Start(BytesStart<'a>),
    End,
    Text(Cow<'a, str>),
    Eof,
}

pub(super) struct Xml<'a> {
    reader: Reader<&'a [u8]>,
    part: &'a str,
    depth: usize,
}

impl<'a> Xml<'a> {
    pub fn new(part: &'a str, text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        Xml {
            reader,
            part,
            depth: 0,
        }
    }

    /// How many elements are open.
    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn next(&mut self) -> Result<Ev<'a>, DocxError> {
        loop {
            let event = self.reader.read_event().map_err(|e| self.malformed(e))?;
            return Ok(match event {
                Event::Start(start) => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(DocxError::TooDeep(self.part.to_owned()));
                    }
                    Ev::Start(start)
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    Ev::End
                }
                Event::Empty(_) => unreachable!("empty elements are expanded"),
                Event::Text(text) => Ev::Text(text.xml10_content()),
                Event::CData(text) => Ev::Text(text.xml10_content()),
                Event::GeneralRef(reference) => {
                    let resolved = if reference.is_char_ref() {
                        reference
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .filter(|c| xml_allows(*c))
                            .map(|c| Cow::Owned(c.to_string()))
                    } else {
                        quick_xml::escape::resolve_predefined_entity(&reference.xml10_content())
                            .map(Cow::Borrowed)
                    };
                    match resolved {
                        Some(text) => Ev::Text(text),
                        None => return Err(DocxError::Entity(self.part.to_owned())),
                    }
                }
                Event::DocType(_) => return Err(DocxError::Doctype(self.part.to_owned())),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
                Event::Eof => {
                    if self.depth != 0 {
                        return Err(DocxError::Xml(self.part.to_owned()));
                    }
                    Ev::Eof
                }
            });
        }
    }

    /// Reads past the rest of the element just started.
    pub fn skip(&mut self) -> Result<(), DocxError> {
        let depth = self.depth;
        while self.depth >= depth {
            if let Ev::Eof = self.next()? {
                return Err(DocxError::Xml(self.part.to_owned()));
            }
        }
        Ok(())
    }

    /// The text inside the element just started, to its end.
    pub fn text_to_end(&mut self) -> Result<String, DocxError> {
        let depth = self.depth;
        let mut out = String::new();
        while self.depth >= depth {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Eof => return Err(DocxError::Xml(self.part.to_owned())),
                Ev::Start(_) | Ev::End => {}
            }
        }
        Ok(out)
    }

    fn malformed(&self, _error: quick_xml::Error) -> DocxError {
        DocxError::Xml(self.part.to_owned())
    }
}

/// The element's local name (`w:p` → `p`).
pub(super) fn name<'e>(element: &'e BytesStart<'_>) -> &'e str {
    let name = element.name().0;
    match name.rsplit_once(':') {
        Some((_, local)) => local,
        None => name,
    }
}

/// The value of the attribute with this local name (`w:val` → `val`).
pub(super) fn attr(element: &BytesStart<'_>, local: &str) -> Option<String> {
    element.attributes().flatten().find_map(|a| {
        let key = a.key.0;
        let key_local = key.rsplit_once(':').map_or(key, |(_, l)| l);
        (key_local == local)
            .then(|| a.normalized_value(XmlVersion::Implicit1_0).ok())
            .flatten()
            .map(Cow::into_owned)
    })
}

/// An on/off property (`<w:b/>`, `<w:b w:val="0"/>`).
pub(super) fn on(element: &BytesStart<'_>) -> bool {
    !matches!(
        attr(element, "val").as_deref(),
        Some("0" | "false" | "off" | "none")
    )
}

/// Characters XML 1.0 allows in a document.
fn xml_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Result<String, DocxError> {
        let mut xml = Xml::new("t.xml", text);
        let mut out = String::new();
        loop {
            match xml.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Eof => return Ok(out),
                _ => {}
            }
        }
    }

    #[test]
    fn predefined_entities_and_character_references_are_read() {
        assert_eq!(
            read_all("<a>x &amp; y &#229;&#x2013;</a>").unwrap(),
            "x & y å–"
        );
    }

    #[test]
    fn doctype_and_declared_entities_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;">]><a>&y;</a>"#;
        assert!(matches!(read_all(bomb), Err(DocxError::Doctype(_))));
        assert!(matches!(
            read_all("<a>&nbsp;</a>"),
            Err(DocxError::Entity(_))
        ));
        assert!(matches!(read_all("<a>&#1;</a>"), Err(DocxError::Entity(_))));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(read_all(&deep), Err(DocxError::TooDeep(_))));
        let fine = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(read_all(&fine).is_ok());
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(matches!(read_all("<a><b></a>"), Err(DocxError::Xml(_))));
        assert!(matches!(read_all("<a>"), Err(DocxError::Xml(_))));
    }
}
