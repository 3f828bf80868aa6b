//! What the import needs from `styles.xml`, `numbering.xml` and a part's relationships:
//! which paragraph styles are headings (by name, in English or Norwegian, or by outline
//! level, through the styles they are based on), which character styles are bold or
//! italic, and which numbering levels are bulleted or numbered.

use std::collections::HashMap;

use super::DocxError;
use super::xml::{Ev, Xml, attr, name, on};

/// What a paragraph's style makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Body,
    /// "Innhold" above a table of contents.
    TocHeading,
    Title,
    Subtitle,
    /// 1 for Heading 1 and up.
    Heading(u8),
}

#[derive(Debug, Default, Clone)]
struct Style {
    name: String,
    based_on: Option<String>,
    /// `w:outlineLvl`: 0 for a first-level heading; 9 is body text.
    outline: Option<u8>,
    bold: Option<bool>,
    italic: Option<bool>,
    numbering: Option<(String, u32)>,
}

#[derive(Debug, Default)]
pub(super) struct Styles {
    by_id: HashMap<String, Style>,
    default_paragraph: Option<String>,
}

/// Styles are found through `basedOn` at most this far (a loop in a hostile file ends).
const MAX_CHAIN: usize = 16;

impl Styles {
    pub fn parse(part: &str, text: &str) -> Result<Styles, DocxError> {
        let mut xml = Xml::new(part, text);
        let mut styles = Styles::default();
        loop {
            match xml.next()? {
                Ev::Start(e) if name(&e) == "style" => {
                    let id = attr(&e, "styleId").unwrap_or_default();
                    if attr(&e, "type").as_deref() == Some("paragraph")
                        && attr(&e, "default").is_some_and(|d| d == "1" || d == "true")
                    {
                        styles.default_paragraph = Some(id.clone());
                    }
                    let style = Self::style(&mut xml)?;
                    styles.by_id.insert(id, style);
                }
                Ev::Eof => return Ok(styles),
                _ => {}
            }
        }
    }

    fn style(xml: &mut Xml<'_>) -> Result<Style, DocxError> {
        let depth = xml.depth();
        let mut style = Style::default();
        let mut num_id = None;
        let mut ilvl = 0;
        while xml.depth() >= depth {
            if let Ev::Start(e) = xml.next()? {
                match name(&e) {
                    "name" => style.name = attr(&e, "val").unwrap_or_default(),
                    "basedOn" => style.based_on = attr(&e, "val"),
                    "outlineLvl" => {
                        style.outline = attr(&e, "val").and_then(|v| v.parse().ok());
                    }
                    "b" => style.bold = Some(on(&e)),
                    "i" => style.italic = Some(on(&e)),
                    "numId" => num_id = attr(&e, "val"),
                    "ilvl" => ilvl = attr(&e, "val").and_then(|v| v.parse().ok()).unwrap_or(0),
                    // A change to the style, tracked: the style as it is now counts.
                    "pPrChange" | "rPrChange" => xml.skip()?,
                    _ => {}
                }
            }
        }
        style.numbering = num_id.map(|id| (id, ilvl));
        Ok(style)
    }

    /// The styles from `id` through what they are based on.
    fn chain<'s>(&'s self, id: Option<&'s str>) -> impl Iterator<Item = &'s Style> + 's {
        let mut next = id;
        std::iter::from_fn(move || {
            let style = self.by_id.get(next?)?;
            next = style.based_on.as_deref();
            Some(style)
        })
        .take(MAX_CHAIN)
    }

    /// The paragraph style in force: the named one, or the document's default.
    pub fn paragraph_style<'s>(&'s self, id: Option<&'s str>) -> Option<&'s str> {
        id.or(self.default_paragraph.as_deref())
    }

    /// What a paragraph with this style (and its own outline level, if any) is.
    pub fn role(&self, style: Option<&str>, own_outline: Option<u8>) -> Role {
        if let Some(level) = own_outline.filter(|l| *l < 9) {
            return Role::Heading(level + 1);
        }
        for style in self.chain(self.paragraph_style(style)) {
            if let Some(role) = role_by_name(&style.name) {
                return role;
            }
            if let Some(level) = style.outline {
                return if level < 9 {
                    Role::Heading(level + 1)
                } else {
                    Role::Body
                };
            }
        }
        Role::Body
    }

    /// The numbering a paragraph style gives its paragraphs (Word's "List Bullet").
    pub fn numbering(&self, style: Option<&str>) -> Option<(String, u32)> {
        self.chain(self.paragraph_style(style))
            .find_map(|s| s.numbering.clone())
    }

    /// Bold and italic from a character style.
    pub fn run_format(&self, style: &str) -> (Option<bool>, Option<bool>) {
        let mut bold = None;
        let mut italic = None;
        for s in self.chain(Some(style)) {
            bold = bold.or(s.bold);
            italic = italic.or(s.italic);
        }
        (bold, italic)
    }
}

/// Built-in style names as Word, LibreOffice and Google Docs write them, in English
/// and Norwegian (Word writes the English name even in a Norwegian Word; LibreOffice
/// and hand-made templates write "Overskrift 1").
fn role_by_name(style_name: &str) -> Option<Role> {
    let lower = style_name.trim().to_lowercase();
    if matches!(lower.as_str(), "title" | "tittel" | "titel") {
        return Some(Role::Title);
    }
    if matches!(lower.as_str(), "subtitle" | "undertittel" | "undertitel") {
        return Some(Role::Subtitle);
    }
    if matches!(
        lower.as_str(),
        "toc heading" | "overskrift for innholdsfortegnelse" | "innholdsfortegnelse"
    ) {
        return Some(Role::TocHeading);
    }
    for prefix in ["heading", "overskrift", "rubrik", "überschrift"] {
        if let Some(rest) = lower.strip_prefix(prefix)
            && let Ok(level) = rest.trim().parse::<u8>()
            && (1..=9).contains(&level)
        {
            return Some(Role::Heading(level));
        }
    }
    None
}

/// One level of a numbered or bulleted list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListLevel {
    pub ordered: bool,
    pub start: u64,
}

#[derive(Debug, Default)]
pub(super) struct Numbering {
    /// numId → (abstractNumId, start overrides by level)
    nums: HashMap<String, (String, HashMap<u32, u64>)>,
    /// abstractNumId → levels
    abstracts: HashMap<String, HashMap<u32, ListLevel>>,
}

impl Numbering {
    pub fn parse(part: &str, text: &str) -> Result<Numbering, DocxError> {
        let mut xml = Xml::new(part, text);
        let mut numbering = Numbering::default();
        loop {
            match xml.next()? {
                Ev::Start(e) if name(&e) == "abstractNum" => {
                    let id = attr(&e, "abstractNumId").unwrap_or_default();
                    let levels = Self::levels(&mut xml)?;
                    numbering.abstracts.insert(id, levels);
                }
                Ev::Start(e) if name(&e) == "num" => {
                    let id = attr(&e, "numId").unwrap_or_default();
                    let entry = Self::num(&mut xml)?;
                    numbering.nums.insert(id, entry);
                }
                Ev::Eof => return Ok(numbering),
                _ => {}
            }
        }
    }

    fn levels(xml: &mut Xml<'_>) -> Result<HashMap<u32, ListLevel>, DocxError> {
        let depth = xml.depth();
        let mut levels = HashMap::new();
        let mut current: Option<(u32, ListLevel)> = None;
        while xml.depth() >= depth {
            match xml.next()? {
                Ev::Start(e) => match name(&e) {
                    "lvl" => {
                        if let Some((i, l)) = current.take() {
                            levels.insert(i, l);
                        }
                        let ilvl = attr(&e, "ilvl").and_then(|v| v.parse().ok()).unwrap_or(0);
                        current = Some((
                            ilvl,
                            ListLevel {
                                ordered: false,
                                start: 1,
                            },
                        ));
                    }
                    "start" => {
                        if let Some((_, l)) = &mut current {
                            l.start = attr(&e, "val").and_then(|v| v.parse().ok()).unwrap_or(1);
                        }
                    }
                    "numFmt" => {
                        if let Some((_, l)) = &mut current {
                            l.ordered = !matches!(
                                attr(&e, "val").as_deref(),
                                Some("bullet" | "none") | None
                            );
                        }
                    }
                    _ => {}
                },
                Ev::Eof => break,
                _ => {}
            }
        }
        if let Some((i, l)) = current {
            levels.insert(i, l);
        }
        Ok(levels)
    }

    fn num(xml: &mut Xml<'_>) -> Result<(String, HashMap<u32, u64>), DocxError> {
        let depth = xml.depth();
        let mut abstract_id = String::new();
        let mut overrides = HashMap::new();
        let mut level = 0;
        while xml.depth() >= depth {
            if let Ev::Start(e) = xml.next()? {
                match name(&e) {
                    "abstractNumId" => abstract_id = attr(&e, "val").unwrap_or_default(),
                    "lvlOverride" => {
                        level = attr(&e, "ilvl").and_then(|v| v.parse().ok()).unwrap_or(0)
                    }
                    "startOverride" => {
                        if let Some(start) = attr(&e, "val").and_then(|v| v.parse().ok()) {
                            overrides.insert(level, start);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok((abstract_id, overrides))
    }

    /// The list level of a paragraph numbered `num_id` at `ilvl`; `None` for numId 0,
    /// which Word writes to take numbering away.
    pub fn level(&self, num_id: &str, ilvl: u32) -> Option<ListLevel> {
        if num_id == "0" {
            return None;
        }
        let fallback = ListLevel {
            ordered: false,
            start: 1,
        };
        let Some((abstract_id, overrides)) = self.nums.get(num_id) else {
            return Some(fallback);
        };
        let mut level = self
            .abstracts
            .get(abstract_id)
            .and_then(|levels| levels.get(&ilvl))
            .copied()
            .unwrap_or(fallback);
        if let Some(start) = overrides.get(&ilvl) {
            level.start = *start;
        }
        Some(level)
    }
}

/// A relationship of a part: what it is (the end of its type URI) and its target.
#[derive(Debug, Clone)]
pub(super) struct Relationship {
    pub kind: String,
    pub target: String,
    pub external: bool,
}

pub(super) fn relationships(
    part: &str,
    text: &str,
) -> Result<HashMap<String, Relationship>, DocxError> {
    let mut xml = Xml::new(part, text);
    let mut out = HashMap::new();
    loop {
        match xml.next()? {
            Ev::Start(e) if name(&e) == "Relationship" => {
                let kind = attr(&e, "Type").unwrap_or_default();
                let kind = kind.rsplit('/').next().unwrap_or_default().to_owned();
                out.insert(
                    attr(&e, "Id").unwrap_or_default(),
                    Relationship {
                        kind,
                        target: attr(&e, "Target").unwrap_or_default(),
                        external: attr(&e, "TargetMode").as_deref() == Some("External"),
                    },
                );
            }
            Ev::Eof => return Ok(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_found_by_name_in_either_language_or_by_outline_level() {
        let xml = r#"<w:styles xmlns:w="x">
          <w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
          <w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/></w:style>
          <w:style w:type="paragraph" w:styleId="Overskrift2"><w:name w:val="Overskrift 2"/></w:style>
          <w:style w:type="paragraph" w:styleId="KOMSeksjon"><w:name w:val="KOM seksjon"/><w:basedOn w:val="Heading1"/></w:style>
          <w:style w:type="paragraph" w:styleId="Egen"><w:name w:val="Min sak"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
          <w:style w:type="paragraph" w:styleId="Loop"><w:name w:val="a"/><w:basedOn w:val="Loop"/></w:style>
          <w:style w:type="paragraph" w:styleId="Tittel"><w:name w:val="Tittel"/></w:style>
        </w:styles>"#;
        let styles = Styles::parse("styles.xml", xml).unwrap();
        assert_eq!(styles.role(Some("Heading1"), None), Role::Heading(1));
        assert_eq!(styles.role(Some("Overskrift2"), None), Role::Heading(2));
        assert_eq!(styles.role(Some("KOMSeksjon"), None), Role::Heading(1));
        assert_eq!(styles.role(Some("Egen"), None), Role::Heading(2));
        assert_eq!(styles.role(Some("Loop"), None), Role::Body);
        assert_eq!(styles.role(Some("Tittel"), None), Role::Title);
        assert_eq!(styles.role(None, None), Role::Body);
        assert_eq!(styles.role(None, Some(0)), Role::Heading(1));
        assert_eq!(styles.role(Some("Missing"), None), Role::Body);
    }
}
