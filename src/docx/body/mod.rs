//! The document part, read into paragraphs of formatted text and links, with each thing
//! the issue cannot carry noted where it is.
//!
//! Blocks and paragraphs are read here; what a paragraph holds in `runs.rs`, complex
//! fields in `fields.rs`, the package's other parts in `parts.rs`.

use std::collections::HashMap;

use crate::docx::package::{Package, rels_of, resolve};
use crate::docx::styles::{ListLevel, Numbering, Relationship, Role, Styles, relationships};
use crate::docx::xml::{Ev, Xml, attr, name};
use crate::docx::{DocxError, Omission, OmissionKind, Place};

mod fields;
mod parts;
mod runs;

use fields::Field;
pub(super) use parts::{collapse_spaces, excerpt};
use parts::{core_title, notes_text, visible_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Text {
        text: String,
        bold: bool,
        italic: bool,
        /// Index into [`Document::links`].
        link: Option<usize>,
    },
    Break,
}

#[derive(Debug, Clone)]
pub(super) struct Para {
    pub role: Role,
    /// (level of nesting, its numbering, the list it belongs to)
    pub list: Option<(u32, ListLevel, String)>,
    pub pieces: Vec<Piece>,
}

impl Para {
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text { text, .. } => out.push_str(text),
                Piece::Break => out.push(' '),
            }
        }
        collapse_spaces(&out)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Link {
    pub target: String,
    pub place: Place,
}

pub(super) struct Document {
    pub paras: Vec<Para>,
    pub links: Vec<Link>,
    pub omissions: Vec<Omission>,
    /// The title in the document's properties (File → Info).
    pub title: Option<String>,
}

/// Reads the main document of the package.
pub(super) fn read(package: &mut Package<'_>, accept_changes: bool) -> Result<Document, DocxError> {
    if package.has("mimetype") && !package.has("_rels/.rels") {
        return Err(DocxError::OpenDocument);
    }
    let root_rels = match package.text("_rels/.rels")? {
        Some(text) => relationships("_rels/.rels", &text)?,
        None => HashMap::new(),
    };
    let main = root_rels
        .values()
        .find(|r| r.kind == "officeDocument")
        .map(|r| resolve("", &r.target))
        .or_else(|| {
            package
                .has("word/document.xml")
                .then(|| "word/document.xml".to_owned())
        })
        .ok_or(DocxError::NotWord)?;
    let title = match root_rels.values().find(|r| r.kind == "core-properties") {
        Some(core) => {
            let part = resolve("", &core.target);
            match package.text(&part)? {
                Some(text) => core_title(&part, &text)?,
                None => None,
            }
        }
        None => None,
    };
    let rels_part = rels_of(&main);
    let rels = match package.text(&rels_part)? {
        Some(text) => relationships(&rels_part, &text)?,
        None => HashMap::new(),
    };
    let mut part_of = |kind: &str| -> Result<Option<(String, String)>, DocxError> {
        let Some(rel) = rels.values().find(|r| r.kind == kind && !r.external) else {
            return Ok(None);
        };
        let part = resolve(&main, &rel.target);
        Ok(package.text(&part)?.map(|text| (part, text)))
    };
    let styles = match part_of("styles")? {
        Some((part, text)) => Styles::parse(&part, &text)?,
        None => Styles::default(),
    };
    let numbering = match part_of("numbering")? {
        Some((part, text)) => Numbering::parse(&part, &text)?,
        None => Numbering::default(),
    };
    let footnotes = match part_of("footnotes")? {
        Some((part, text)) => notes_text(&part, &text)?,
        None => HashMap::new(),
    };
    let endnotes = match part_of("endnotes")? {
        Some((part, text)) => notes_text(&part, &text)?,
        None => HashMap::new(),
    };
    let Some(text) = package.text(&main)? else {
        return Err(DocxError::NotWord);
    };
    let mut walker = Walker {
        styles: &styles,
        numbering: &numbering,
        rels: &rels,
        accept_changes,
        doc: Document {
            paras: Vec::new(),
            links: Vec::new(),
            omissions: Vec::new(),
            title,
        },
        place: Place::default(),
        sections: 0,
        fields: Vec::new(),
        page_parts: Vec::new(),
        footnotes: &footnotes,
        endnotes: &endnotes,
    };
    walker.document(&main, &text)?;
    // Page headers and footers with text in them, once each.
    let page_parts = std::mem::take(&mut walker.page_parts);
    let mut seen = Vec::new();
    for (kind, id) in page_parts {
        let Some(rel) = rels.get(&id) else { continue };
        let part = resolve(&main, &rel.target);
        if seen.contains(&part) {
            continue;
        }
        seen.push(part.clone());
        if let Some(text) = package.text(&part)? {
            let visible = visible_text(&part, &text)?;
            if !visible.is_empty() {
                walker.doc.omissions.push(Omission {
                    kind,
                    place: Place::default(),
                    excerpt: Some(excerpt(&visible)),
                });
            }
        }
    }
    Ok(walker.doc)
}

/// How the text being read is formatted and where it belongs.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    bold: bool,
    italic: bool,
    hidden: bool,
    link: Option<usize>,
    /// Inside a tracked deletion that is kept.
    deleted: bool,
}

struct Walker<'a> {
    styles: &'a Styles,
    numbering: &'a Numbering,
    rels: &'a HashMap<String, Relationship>,
    accept_changes: bool,
    doc: Document,
    place: Place,
    sections: usize,
    /// Open complex fields (`w:fldChar`), which may span runs and paragraphs.
    fields: Vec<Field>,
    /// (header or footer, relationship id) from each section's properties.
    page_parts: Vec<(OmissionKind, String)>,
    /// Footnotes' and endnotes' text by id, to show what was left out.
    footnotes: &'a HashMap<String, String>,
    endnotes: &'a HashMap<String, String>,
}

impl Walker<'_> {
    fn document(&mut self, part: &str, text: &str) -> Result<(), DocxError> {
        let mut xml = Xml::new(part, text);
        loop {
            match xml.next()? {
                Ev::Start(e) => {
                    if name(&e) != "document" {
                        return Err(DocxError::NotWord);
                    }
                    break;
                }
                Ev::Eof => return Err(DocxError::NotWord),
                _ => {}
            }
        }
        loop {
            match xml.next()? {
                Ev::Start(e) if name(&e) == "body" => self.blocks(&mut xml)?,
                Ev::Start(_) => xml.skip()?,
                Ev::Eof => return Ok(()),
                _ => {}
            }
        }
    }

    fn omit(&mut self, kind: OmissionKind, excerpt_of: Option<&str>) {
        let excerpt = excerpt_of.map(excerpt).filter(|e| !e.is_empty());
        self.doc.omissions.push(Omission {
            kind,
            place: self.place.clone(),
            excerpt,
        });
    }

    /// Block-level content to the end of the element just started.
    fn blocks(&mut self, xml: &mut Xml<'_>) -> Result<(), DocxError> {
        let depth = xml.depth();
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            match name(&e) {
                "p" => self.paragraph(xml)?,
                "tbl" => {
                    let text = xml.text_to_end()?;
                    self.omit(OmissionKind::Table, Some(&text));
                }
                "sdtContent" | "customXml" | "sdt" | "ins" | "moveTo" => self.blocks(xml)?,
                "sectPr" => self.section_properties(xml)?,
                "altChunk" => {
                    self.omit(OmissionKind::EmbeddedDocument, None);
                    xml.skip()?;
                }
                "AlternateContent" => self.alternate(xml, |w, xml| w.blocks(xml))?,
                _ => xml.skip()?,
            }
        }
        Ok(())
    }

    /// `mc:AlternateContent`: the first choice is read, the fallback (the same content
    /// for older readers) is not.
    fn alternate(
        &mut self,
        xml: &mut Xml<'_>,
        mut read: impl FnMut(&mut Self, &mut Xml<'_>) -> Result<(), DocxError>,
    ) -> Result<(), DocxError> {
        let depth = xml.depth();
        let mut chosen = false;
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            if name(&e) == "Choice" && !chosen {
                chosen = true;
                read(self, xml)?;
            } else {
                xml.skip()?;
            }
        }
        Ok(())
    }

    fn section_properties(&mut self, xml: &mut Xml<'_>) -> Result<(), DocxError> {
        let depth = xml.depth();
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            let kind = match name(&e) {
                "headerReference" => OmissionKind::PageHeader,
                "footerReference" => OmissionKind::PageFooter,
                _ => continue,
            };
            if let Some(id) = attr(&e, "id") {
                self.page_parts.push((kind, id));
            }
        }
        Ok(())
    }

    fn paragraph(&mut self, xml: &mut Xml<'_>) -> Result<(), DocxError> {
        let depth = xml.depth();
        let mut style = None;
        let mut outline = None;
        let mut num: Option<(Option<String>, Option<u32>)> = None;
        let mut para = Para {
            role: Role::Body,
            list: None,
            pieces: Vec::new(),
        };
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            if name(&e) == "pPr" {
                let inner = xml.depth();
                while xml.depth() >= inner {
                    let Ev::Start(p) = xml.next()? else { continue };
                    match name(&p) {
                        "pStyle" => style = attr(&p, "val"),
                        "outlineLvl" => outline = attr(&p, "val").and_then(|v| v.parse().ok()),
                        "numId" => num.get_or_insert((None, None)).0 = attr(&p, "val"),
                        "ilvl" => {
                            num.get_or_insert((None, None)).1 =
                                attr(&p, "val").and_then(|v| v.parse().ok())
                        }
                        "sectPr" => self.section_properties(xml)?,
                        "rPr" | "pPrChange" => xml.skip()?,
                        _ => {}
                    }
                }
                para.role = self.styles.role(style.as_deref(), outline);
                continue;
            }
            self.inline(xml, &e, Ctx::default(), &mut para.pieces)?;
        }
        let numbering = match num {
            Some((Some(id), level)) => Some((id, level.unwrap_or(0))),
            Some((None, Some(level))) => self
                .styles
                .numbering(style.as_deref())
                .map(|(id, _)| (id, level)),
            _ => self.styles.numbering(style.as_deref()),
        };
        let text = para.plain();
        if para.role != Role::Body && text.is_empty() {
            // An empty line in a heading style: a blank line, as Word shows it.
            para.role = Role::Body;
        }
        if para.role == Role::TocHeading {
            // "Innhold" above a table of contents: the mail makes its own.
            self.omit(OmissionKind::TableOfContents, Some(&text));
            return Ok(());
        }
        if matches!(para.role, Role::Heading(_))
            && para
                .pieces
                .iter()
                .any(|p| matches!(p, Piece::Text { link: Some(_), .. }))
        {
            self.omit(OmissionKind::LinkInHeading, Some(&text));
        }
        if matches!(para.role, Role::Body)
            && let Some((id, ilvl)) = numbering
            && let Some(level) = self.numbering.level(&id, ilvl)
        {
            para.list = Some((ilvl, level, id));
        }
        match para.role {
            Role::Heading(level) if level > 2 => {
                self.omit(OmissionKind::DeepHeading, Some(&text));
            }
            Role::Heading(1) => {
                self.sections += 1;
                self.place = Place {
                    section: Some((self.sections, text)),
                    item: None,
                };
            }
            Role::Heading(2) => self.place.item = Some(text),
            _ => {}
        }
        self.doc.paras.push(para);
        Ok(())
    }
}
