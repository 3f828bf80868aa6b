//! Word documents made in the test: a package with the parts Word writes, and the body
//! the test gives.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

pub const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
pub const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="TOC1"><w:name w:val="toc 1"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="character" w:styleId="Strong"><w:name w:val="Strong"/><w:rPr><w:b/></w:rPr></w:style>
</w:styles>"#;

const NUMBERING: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:abstractNum w:abstractNumId="0">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="bullet"/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="1">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/></w:lvl>
</w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
<w:num w:numId="3"><w:abstractNumId w:val="1"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="4"/></w:lvlOverride></w:num>
</w:numbering>"#;

/// A package to put a document in.
pub struct Package {
    pub files: Vec<(String, Vec<u8>)>,
    /// `(id, type, target, external)` of the document's relationships.
    pub rels: Vec<(String, String, String, bool)>,
}

impl Package {
    /// A package with Word's parts around `body` (the children of `w:body`).
    pub fn word(body: &str) -> Package {
        let document = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W}" xmlns:r="{R}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" xmlns:v="urn:schemas-microsoft-com:vml"><w:body>{body}</w:body></w:document>"#
        );
        Package {
            files: vec![
                (
                    "[Content_Types].xml".into(),
                    br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_vec(),
                ),
                (
                    "_rels/.rels".into(),
                    br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_vec(),
                ),
                ("word/document.xml".into(), document.into_bytes()),
                ("word/styles.xml".into(), STYLES.as_bytes().to_vec()),
                ("word/numbering.xml".into(), NUMBERING.as_bytes().to_vec()),
            ],
            rels: vec![
                ("rStyles".into(), "styles".into(), "styles.xml".into(), false),
                (
                    "rNumbering".into(),
                    "numbering".into(),
                    "numbering.xml".into(),
                    false,
                ),
            ],
        }
    }

    pub fn link(mut self, id: &str, target: &str) -> Package {
        self.rels
            .push((id.into(), "hyperlink".into(), target.into(), true));
        self
    }

    pub fn part(mut self, name: &str, kind: &str, id: &str, content: &str) -> Package {
        self.files
            .push((format!("word/{name}"), content.as_bytes().to_vec()));
        self.rels.push((id.into(), kind.into(), name.into(), false));
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut rels = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        for (id, kind, target, external) in &self.rels {
            let mode = if *external {
                r#" TargetMode="External""#
            } else {
                ""
            };
            let target = target.replace('&', "&amp;").replace('"', "&quot;");
            rels.push_str(&format!(
                r#"<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" Target="{target}"{mode}/>"#
            ));
        }
        rels.push_str("</Relationships>");
        let mut files = self.files.clone();
        files.push(("word/_rels/document.xml.rels".into(), rels.into_bytes()));
        zip_of(&files)
    }
}

/// A zip of these files, deflated.
pub fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A paragraph in a style (`""` for Normal) holding these runs.
pub fn p(style: &str, runs: &str) -> String {
    if style.is_empty() {
        format!("<w:p>{runs}</w:p>")
    } else {
        format!(r#"<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{runs}</w:p>"#)
    }
}

/// A run of plain text.
pub fn r(text: &str) -> String {
    format!(
        r#"<w:r><w:t xml:space="preserve">{}</w:t></w:r>"#,
        escape(text)
    )
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// KOM's front page and one section with one item, around `content` (in the item).
pub fn issue_with(content: &str) -> String {
    format!(
        "{}{}{}{}{}{}",
        p("Title", &r("Nyhetsbrev fra KOM")),
        p("", &r("april–juni 2025")),
        p("", &r("Til KOMs samarbeidsaktører")),
        p("Heading1", &r("Verdt å merke seg")),
        p("Heading2", &r("Ny veileder")),
        content
    )
}
