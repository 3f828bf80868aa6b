//! What a paragraph holds: runs and their formatting, links, simple fields, tracked
//! changes, drawings and text boxes, read into pieces of text.

use super::fields::FieldShows;
use super::{Ctx, Link, Piece, Walker};
use crate::docx::xml::{Ev, Xml, attr, name, on};
use crate::docx::{DocxError, OmissionKind};

impl Walker<'_> {
    /// One element inside a paragraph (a run, a link, a field, a change...), read to its
    /// end; its text goes to `out`.
    pub(super) fn inline(
        &mut self,
        xml: &mut Xml<'_>,
        e: &quick_xml::events::BytesStart<'_>,
        ctx: Ctx,
        out: &mut Vec<Piece>,
    ) -> Result<(), DocxError> {
        match name(e) {
            "r" => self.run(xml, ctx, out)?,
            "hyperlink" => {
                let mut inner = ctx;
                match (attr(e, "id"), attr(e, "anchor")) {
                    (Some(id), _) => match self.rels.get(&id) {
                        Some(rel) => inner.link = Some(self.link(rel.target.clone())),
                        None => self.omit(OmissionKind::LinkWithoutTarget, None),
                    },
                    // A table of contents' entries link within the document: the
                    // table is reported once, not each entry.
                    (None, Some(_)) if self.shows_text() => {
                        self.omit(OmissionKind::InternalLink, None)
                    }
                    (None, Some(_)) => {}
                    (None, None) => {}
                }
                self.children(xml, inner, out)?;
            }
            "fldSimple" => {
                let instruction = attr(e, "instr").unwrap_or_default();
                match self.field_shows(&instruction) {
                    FieldShows::Result => self.children(xml, ctx, out)?,
                    FieldShows::Link(id) => self.children(
                        xml,
                        Ctx {
                            link: Some(id),
                            ..ctx
                        },
                        out,
                    )?,
                    FieldShows::Nothing => xml.skip()?,
                }
            }
            "ins" | "moveTo" => {
                if self.accept_changes {
                    self.children(xml, ctx, out)?;
                } else {
                    let text = xml.text_to_end()?;
                    self.omit(OmissionKind::TrackedInsertion, Some(&text));
                }
            }
            "del" | "moveFrom" => {
                if self.accept_changes {
                    xml.skip()?;
                } else {
                    let mut kept = Vec::new();
                    self.children(
                        xml,
                        Ctx {
                            deleted: true,
                            ..ctx
                        },
                        &mut kept,
                    )?;
                    let text: String = kept
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Text { text, .. } => Some(text.as_str()),
                            Piece::Break => None,
                        })
                        .collect();
                    self.omit(OmissionKind::TrackedDeletion, Some(&text));
                    out.extend(kept);
                }
            }
            "smartTag" | "customXml" | "sdt" | "sdtContent" | "dir" | "bdo" => {
                self.children(xml, ctx, out)?
            }
            "oMath" | "oMathPara" => {
                self.omit(OmissionKind::Equation, None);
                xml.skip()?;
            }
            "AlternateContent" => {
                let mut pieces = Vec::new();
                self.alternate(xml, |w, xml| w.children(xml, ctx, &mut pieces))?;
                out.extend(pieces);
            }
            // Bookmarks, comment ranges, proofing marks, properties.
            _ => xml.skip()?,
        }
        Ok(())
    }

    /// Every child of the element just started, as inline content.
    pub(super) fn children(
        &mut self,
        xml: &mut Xml<'_>,
        ctx: Ctx,
        out: &mut Vec<Piece>,
    ) -> Result<(), DocxError> {
        let depth = xml.depth();
        while xml.depth() >= depth {
            if let Ev::Start(e) = xml.next()? {
                if name(&e) == "r" {
                    self.run(xml, ctx, out)?;
                } else {
                    self.inline(xml, &e, ctx, out)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn link(&mut self, target: String) -> usize {
        self.doc.links.push(Link {
            target,
            place: self.place.clone(),
        });
        self.doc.links.len() - 1
    }

    fn run(&mut self, xml: &mut Xml<'_>, ctx: Ctx, out: &mut Vec<Piece>) -> Result<(), DocxError> {
        let depth = xml.depth();
        let mut ctx = ctx;
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            match name(&e) {
                "rPr" => ctx = self.run_properties(xml, ctx)?,
                "t" | "delText" => {
                    let text = xml.text_to_end()?;
                    let deleted = name(&e) == "delText";
                    if deleted == ctx.deleted {
                        self.text(text, ctx, out);
                    }
                }
                "tab" | "ptab" => {
                    self.text(" ".into(), ctx, out);
                    xml.skip()?;
                }
                "noBreakHyphen" => {
                    self.text("-".into(), ctx, out);
                    xml.skip()?;
                }
                "br" | "cr" => {
                    // A page or column break ends nothing in a mail.
                    let kind = attr(&e, "type");
                    if !matches!(kind.as_deref(), Some("page" | "column")) && self.shows_text() {
                        out.push(Piece::Break);
                    }
                    xml.skip()?;
                }
                "instrText" => {
                    let text = xml.text_to_end()?;
                    if let Some(field) = self.fields.last_mut()
                        && !field.in_result
                    {
                        field.instruction.push_str(&text);
                    }
                }
                "fldChar" => {
                    self.field_char(attr(&e, "fldCharType").as_deref());
                    xml.skip()?;
                }
                "drawing" | "pict" | "object" => {
                    let (kind, text) = self.drawing(xml, name(&e) == "object")?;
                    self.omit(kind, Some(&text));
                }
                "footnoteReference" | "endnoteReference" => {
                    let (kind, notes) = if name(&e) == "footnoteReference" {
                        (OmissionKind::Footnote, self.footnotes)
                    } else {
                        (OmissionKind::Endnote, self.endnotes)
                    };
                    let text = attr(&e, "id").and_then(|id| notes.get(&id));
                    self.omit(kind, text.map(String::as_str));
                    xml.skip()?;
                }
                "commentReference" => {
                    self.omit(OmissionKind::Comment, None);
                    xml.skip()?;
                }
                "sym" => {
                    self.omit(OmissionKind::Symbol, None);
                    xml.skip()?;
                }
                "AlternateContent" => {
                    let mut pieces = Vec::new();
                    self.alternate(xml, |w, xml| w.run_content(xml, ctx, &mut pieces))?;
                    out.extend(pieces);
                }
                _ => xml.skip()?,
            }
        }
        Ok(())
    }

    /// A run's content inside `mc:Choice` (a drawing, usually).
    fn run_content(
        &mut self,
        xml: &mut Xml<'_>,
        ctx: Ctx,
        out: &mut Vec<Piece>,
    ) -> Result<(), DocxError> {
        // The choice's children are what a run would hold; read them as a run.
        self.run(xml, ctx, out)
    }

    fn run_properties(&mut self, xml: &mut Xml<'_>, ctx: Ctx) -> Result<Ctx, DocxError> {
        let depth = xml.depth();
        let mut ctx = ctx;
        let mut bold = None;
        let mut italic = None;
        let mut style = None;
        while xml.depth() >= depth {
            let Ev::Start(e) = xml.next()? else { continue };
            match name(&e) {
                "b" => bold = Some(on(&e)),
                "i" => italic = Some(on(&e)),
                "vanish" => ctx.hidden = on(&e),
                "rStyle" => style = attr(&e, "val"),
                "rPrChange" => xml.skip()?,
                _ => {}
            }
        }
        let (style_bold, style_italic) = style
            .map(|s| self.styles.run_format(&s))
            .unwrap_or_default();
        ctx.bold = bold.or(style_bold).unwrap_or(ctx.bold);
        ctx.italic = italic.or(style_italic).unwrap_or(ctx.italic);
        Ok(ctx)
    }

    /// What a drawing, picture or object is, and the text or description it has.
    fn drawing(
        &mut self,
        xml: &mut Xml<'_>,
        object: bool,
    ) -> Result<(OmissionKind, String), DocxError> {
        let depth = xml.depth();
        let (mut text_box, mut chart, mut image) = (false, false, false);
        let mut description = String::new();
        let mut text = String::new();
        while xml.depth() >= depth {
            match xml.next()? {
                Ev::Start(e) => match name(&e) {
                    "txbx" | "txbxContent" | "textbox" => text_box = true,
                    "chart" => chart = true,
                    "blip" | "imagedata" | "pic" => image = true,
                    "docPr" => description = attr(&e, "descr").unwrap_or_default(),
                    _ => {}
                },
                Ev::Text(t) => text.push_str(&t),
                _ => {}
            }
        }
        let kind = if object {
            OmissionKind::EmbeddedObject
        } else if text_box {
            OmissionKind::TextBox
        } else if chart {
            OmissionKind::Chart
        } else if image {
            OmissionKind::Image
        } else {
            OmissionKind::Shape
        };
        let shown = if kind == OmissionKind::TextBox || description.trim().is_empty() {
            text
        } else {
            description
        };
        Ok((kind, shown))
    }

    fn text(&mut self, text: String, ctx: Ctx, out: &mut Vec<Piece>) {
        if !self.shows_text() || text.is_empty() {
            return;
        }
        if ctx.hidden {
            self.omit(OmissionKind::HiddenText, Some(&text));
            return;
        }
        let link = ctx.link.or(self.field_link());
        if let Some(Piece::Text {
            text: last,
            bold,
            italic,
            link: last_link,
        }) = out.last_mut()
            && *bold == ctx.bold
            && *italic == ctx.italic
            && *last_link == link
        {
            last.push_str(&text);
            return;
        }
        out.push(Piece::Text {
            text,
            bold: ctx.bold,
            italic: ctx.italic,
            link,
        });
    }
}
