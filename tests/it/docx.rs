//! Issues written in Word: the three fixtures of the 2024 sample make the same issue
//! and the same mail as its Markdown, what an issue cannot carry is reported where it
//! is, and hostile files are refused with nothing stored.

use crate::common;

use std::process::Command;

use common::TestDb;
use common::docx::{Package, issue_with, p, r, zip_of};
use nyhetsbrev::docx::{
    Converted, DocxError, DocxOptions, MAX_DEPTH, MAX_DOCX_BYTES, MAX_ENTRIES, OmissionKind,
    convert,
};
use nyhetsbrev::domain::{Block, Inline, Issue};
use nyhetsbrev::ops::{IssueError, Issues};
use nyhetsbrev::render::{Personal, RenderContext, parse_issue, render};
use nyhetsbrev::store::Actor;

const BIN: &str = env!("CARGO_BIN_EXE_nyhetsbrev");
const MARKDOWN: &str = include_str!("../../examples/2024-q1.md");
const WORD: &[u8] = include_bytes!("../fixtures/docx/2024-q1-word.docx");
const NORWEGIAN_STYLES: &[u8] = include_bytes!("../fixtures/docx/2024-q1-norske-stiler.docx");
const LIBREOFFICE: &[u8] = include_bytes!("../fixtures/docx/2024-q1-libreoffice.docx");

fn options() -> DocxOptions {
    DocxOptions {
        file_name: "utgave.docx".into(),
        ..Default::default()
    }
}

fn issue_of(converted: &Converted) -> Issue {
    match parse_issue("utgave.docx", &converted.source) {
        Ok(parsed) => parsed.issue,
        Err(e) => panic!("{e}\n{}", converted.source),
    }
}

fn mail(issue: &Issue) -> (String, String) {
    let context = RenderContext::new("https://nyhetsbrev.example.org", "kom@example.org");
    let rendered = render(issue, &common::publications::newsletter(), &context).unwrap();
    let personal = Personal {
        email: "kari@example.org",
        unsubscribe_url: "https://nyhetsbrev.example.org/avmeld/abc",
        preferences_url: "https://nyhetsbrev.example.org/innstillinger/abc",
    };
    (rendered.html.fill(&personal), rendered.text.fill(&personal))
}

fn kinds(converted: &Converted) -> Vec<OmissionKind> {
    converted.report.iter().map(|o| o.kind).collect()
}

#[test]
fn the_three_fixtures_make_the_markdown_issue_and_its_mail_byte_for_byte() {
    let expected = parse_issue("2024-q1.md", MARKDOWN).unwrap().issue;
    let expected_mail = mail(&expected);
    // Word's layout has no preheader or date: the staff member gives them.
    let word = convert(
        WORD,
        &DocxOptions {
            preheader: Some(expected.meta.preheader.clone()),
            date: Some("2024-04-15".into()),
            ..options()
        },
    )
    .unwrap();
    let norwegian = convert(NORWEGIAN_STYLES, &options()).unwrap();
    let libreoffice = convert(LIBREOFFICE, &options()).unwrap();
    for (name, converted) in [
        ("Word", &word),
        ("Norwegian styles", &norwegian),
        ("LibreOffice", &libreoffice),
    ] {
        let issue = issue_of(converted);
        assert_eq!(issue.meta, expected.meta, "{name}");
        assert_eq!(issue.sections.len(), expected.sections.len(), "{name}");
        for (got, want) in issue.sections.iter().zip(&expected.sections) {
            assert_eq!(got, want, "{name}: section {:?}", want.title);
        }
        assert_eq!(issue.links(), expected.links(), "{name}");
        let (html, text) = mail(&issue);
        assert!(html == expected_mail.0, "{name}: the HTML mail differs");
        assert!(text == expected_mail.1, "{name}: the text mail differs");
    }
    // The page footers are the one thing the fixtures hold that an issue does not.
    assert_eq!(kinds(&word), [OmissionKind::PageFooter]);
    assert_eq!(
        word.report[0].to_string(),
        "page footer \"Nyhetsbrev fra KOM, side 1\" on the front page: not carried over"
    );
    assert_eq!(kinds(&norwegian), [OmissionKind::PageFooter]);
    assert_eq!(kinds(&libreoffice), []);
}

#[test]
fn what_an_issue_cannot_carry_is_reported_by_kind_and_place() {
    let body = issue_with(&format!(
        "{}{}{}{}{}{}{}{}{}",
        p(
            "",
            &format!(
                "{}{}",
                r("Se figuren"),
                r#"<w:r><w:drawing><wp:inline><wp:docPr id="1" name="Bilde 1" descr="Forsiden av veilederen"/><a:graphic><a:graphicData><pic:pic xmlns:pic="p"><pic:blipFill><a:blip r:embed="rImg"/></pic:blipFill></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"#
            )
        ),
        r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Dom</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Straff</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
        p(
            "",
            &format!(
                "{}{}",
                r("Med fotnote"),
                r#"<w:r><w:footnoteReference w:id="2"/></w:r><w:commentRangeStart w:id="0"/><w:r><w:t>kommentert</w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>"#
            )
        ),
        p(
            "",
            r#"<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><wp:docPr id="2" name="Tekstboks 2"/><a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>Viktig melding i boks</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p><w:r><w:t>Viktig melding i boks</w:t></w:r></w:p></w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>"#
        ),
        p("Heading3", &r("Bakgrunn")),
        p(
            "",
            r##"<w:hyperlink w:anchor="_Toc1"><w:r><w:t>se over</w:t></w:r></w:hyperlink>"##
        ),
        p(
            "",
            r#"<w:r><w:t>Skjult: </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>hemmelig</w:t></w:r>"#
        ),
        p(
            "TOC1",
            r#"<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> TOC \o "1-3" \h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Verdt å merke seg 1</w:t></w:r>"#
        ),
        p(
            "TOC1",
            r#"<w:r><w:t>Ny veileder 2</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>"#
        ),
    ));
    let package = Package::word(&format!(
        r#"{body}<w:sectPr><w:headerReference w:type="default" r:id="rHeader"/></w:sectPr>"#
    ))
    .part(
        "footnotes.xml",
        "footnotes",
        "rNotes",
        &format!(
            r#"<w:footnotes xmlns:w="{}"><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="2"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> Se NOU 2024:3, side 12.</w:t></w:r></w:p></w:footnote></w:footnotes>"#,
            common::docx::W
        ),
    )
    .part(
        "header1.xml",
        "header",
        "rHeader",
        &format!(
            r#"<w:hdr xmlns:w="{}"><w:p><w:r><w:t>KOM – internt</w:t></w:r></w:p></w:hdr>"#,
            common::docx::W
        ),
    );
    let converted = convert(&package.bytes(), &options()).unwrap();
    let lines: Vec<String> = converted.report.iter().map(|o| o.to_string()).collect();
    let place = "in section 1 (\"Verdt å merke seg\"), item \"Ny veileder\"";
    assert_eq!(
        lines,
        [
            "page header \"KOM – internt\" on the front page: not carried over".to_owned(),
            "the document has no preheader: it was made from the first item titles (change it, or give --preheader)"
                .to_owned(),
            format!("image \"Forsiden av veilederen\" {place}: not carried over"),
            format!("table \"DomStraff\" {place}: not carried over"),
            format!("footnote \"Se NOU 2024:3, side 12.\" {place}: not carried over"),
            format!("comment {place}: not carried over"),
            format!("text box \"Viktig melding i boks\" {place}: not carried over"),
            format!(
                "heading below level 2 \"Bakgrunn\" {place}: made bold text (Heading 1 is a section, Heading 2 an item)"
            ),
            format!("link within the document {place}: its text is kept, without the link"),
            format!("hidden text \"hemmelig\" {place}: not carried over"),
            format!("table of contents {place}: not carried over (the mail makes its own)"),
        ],
        "{:#?}",
        converted.report
    );
    assert_eq!(
        converted.report[2].norwegian(),
        "Bilde «Forsiden av veilederen» i seksjon 1 «Verdt å merke seg», sak «Ny veileder»: ikke overført."
    );
    // The text around what was left out is all there, once.
    let issue = issue_of(&converted);
    let item = &issue.sections[0].items[0];
    let texts: Vec<String> = item
        .blocks
        .iter()
        .map(|b| match b {
            Block::Paragraph(inlines) => Inline::plain(inlines),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Se figuren",
            "Med fotnotekommentert",
            "Bakgrunn",
            "se over",
            "Skjult:"
        ]
    );
    assert_eq!(issue.meta.preheader, "Ny veileder");
    assert_eq!(issue.meta.slug.as_str(), "2025-q2");
    assert_eq!(issue.meta.subject, "Nyhetsbrev fra KOM, april–juni 2025");
}

#[test]
fn tracked_changes_are_read_as_before_them_unless_accepted() {
    let body = issue_with(&p(
        "",
        r#"<w:r><w:t xml:space="preserve">Fristen er </w:t></w:r><w:del w:id="1" w:author="Kari"><w:r><w:delText>1. mai</w:delText></w:r></w:del><w:ins w:id="2" w:author="Kari"><w:r><w:t>13. mai</w:t></w:r></w:ins><w:r><w:t>.</w:t></w:r>"#,
    ));
    let bytes = Package::word(&body).bytes();
    let before = convert(&bytes, &options()).unwrap();
    assert_eq!(
        kinds(&before),
        [
            OmissionKind::PreheaderFromTitles,
            OmissionKind::TrackedDeletion,
            OmissionKind::TrackedInsertion
        ]
    );
    assert!(
        before.source.contains("Fristen er 1. mai."),
        "{}",
        before.source
    );
    assert!(
        before.report[2]
            .norwegian()
            .contains("last opp med «Godta sporede endringer»"),
        "{}",
        before.report[2].norwegian()
    );
    let accepted = convert(
        &bytes,
        &DocxOptions {
            accept_changes: true,
            ..options()
        },
    )
    .unwrap();
    assert!(
        accepted.source.contains("Fristen er 13. mai."),
        "{}",
        accepted.source
    );
    assert!(
        !kinds(&accepted).contains(&OmissionKind::TrackedInsertion),
        "{:?}",
        accepted.report
    );
}

fn list_paragraph(num_id: u32, level: u32, text: &str) -> String {
    format!(
        r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr></w:pPr>{}</w:p>"#,
        r(text)
    )
}

#[test]
fn lists_keep_their_kind_start_and_nesting_and_formatting_its_place() {
    let body = issue_with(&format!(
        "{}{}{}{}{}{}{}{}",
        list_paragraph(1, 0, "første punkt"),
        list_paragraph(1, 1, "underpunkt"),
        list_paragraph(1, 0, "andre punkt"),
        p("", &r("Mellom listene.")),
        list_paragraph(3, 0, "fjerde"),
        list_paragraph(3, 1, "a-punkt"),
        list_paragraph(3, 0, "femte"),
        p(
            "",
            r#"<w:r><w:t xml:space="preserve">Det er </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">viktig </w:t></w:r><w:r><w:rPr><w:b/><w:i/></w:rPr><w:t>og nytt</w:t></w:r><w:r><w:rPr><w:rStyle w:val="Strong"/></w:rPr><w:t xml:space="preserve"> nå</w:t></w:r><w:r><w:br/><w:t xml:space="preserve">  ny linje</w:t></w:r>"#
        ),
    ));
    let converted = convert(&Package::word(&body).bytes(), &options()).unwrap();
    let issue = issue_of(&converted);
    let blocks = &issue.sections[0].items[0].blocks;
    let Block::List {
        ordered: false,
        items,
        ..
    } = &blocks[0]
    else {
        panic!("{blocks:#?}\n{}", converted.source)
    };
    assert_eq!(items.len(), 2, "{}", converted.source);
    assert!(
        matches!(&items[0][1], Block::List { ordered: false, items, .. } if items.len() == 1),
        "{:#?}",
        items[0]
    );
    assert!(
        matches!(&blocks[2], Block::List { ordered: true, start: 4, items, .. } if items.len() == 2),
        "{blocks:#?}\n{}",
        converted.source
    );
    let Block::Paragraph(last) = &blocks[3] else {
        panic!("{blocks:#?}")
    };
    assert_eq!(
        last,
        &[
            Inline::Text("Det er ".into()),
            Inline::Strong(vec![
                Inline::Text("viktig ".into()),
                Inline::Emphasis(vec![Inline::Text("og nytt".into())]),
                Inline::Text(" nå".into()),
            ]),
            Inline::LineBreak,
            Inline::Text("ny linje".into()),
        ]
    );
}

#[test]
fn markdown_in_the_text_stays_text_and_links_come_from_relationships_and_fields() {
    let tricky = "*stjerne* _strek_ [klammer](x) <b>fet</b> `kode` | ~ &amp; 1. ikke liste";
    let body = issue_with(&format!(
        "{}{}{}{}",
        p("", &r(tricky)),
        p("", &r("- ikke et punkt")),
        p("", &r("# ikke en overskrift")),
        p(
            "",
            r#"<w:r><w:t xml:space="preserve">Se </w:t></w:r><w:hyperlink r:id="rLink"><w:r><w:t>rapporten (PDF)</w:t></w:r></w:hyperlink><w:r><w:t xml:space="preserve"> og </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> HYPERLINK "mailto:kom@example.org" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>skriv til oss</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>!</w:t></w:r><w:fldSimple w:instr=" HYPERLINK &quot;https://example.org/b&quot; "><w:r><w:t>b</w:t></w:r></w:fldSimple>"#
        ),
    ));
    let package =
        Package::word(&body).link("rLink", "https://example.org/rapport (endelig).pdf?a=1&b=2");
    let converted = convert(&package.bytes(), &options()).unwrap();
    let issue = issue_of(&converted);
    let blocks = &issue.sections[0].items[0].blocks;
    let plain: Vec<String> = blocks
        .iter()
        .map(|b| match b {
            Block::Paragraph(i) => Inline::plain(i),
            other => panic!("{other:?}\n{}", converted.source),
        })
        .collect();
    assert_eq!(
        plain,
        [
            tricky.to_owned(),
            "- ikke et punkt".into(),
            "# ikke en overskrift".into(),
            "Se rapporten (PDF) og skriv til oss!b".into()
        ]
    );
    assert_eq!(
        issue.links(),
        [
            "https://example.org/rapport%20(endelig).pdf?a=1&b=2",
            "mailto:kom@example.org",
            "https://example.org/b"
        ]
    );
}

#[test]
fn headings_are_found_in_norwegian_custom_and_outline_level_styles() {
    let styles = r#"<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Overskrift1"><w:name w:val="Overskrift 1"/></w:style>
<w:style w:type="paragraph" w:styleId="MinSak"><w:name w:val="Min sakstittel"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
</w:styles>"#;
    let mut package = Package::word(&format!(
        "{}{}{}{}{}",
        p("", &r("januar - mars 2026")),
        p("Overskrift1", &r("Seksjon")),
        p("MinSak", &r("Sak")),
        p("", &r("Tekst.")),
        r#"<w:p><w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:r><w:t>Sak med eget nivå</w:t></w:r></w:p>"#,
    ));
    package.files[3].1 = styles.as_bytes().to_vec();
    let converted = convert(&package.bytes(), &options()).unwrap();
    let issue = issue_of(&converted);
    assert_eq!(issue.sections[0].title, "Seksjon");
    let titles: Vec<String> = issue.sections[0]
        .items
        .iter()
        .map(|i| Inline::plain(&i.title))
        .collect();
    assert_eq!(titles, ["Sak", "Sak med eget nivå"]);
    assert_eq!(issue.meta.subject, "Nyhetsbrev fra KOM, januar–mars 2026");
    assert_eq!(issue.meta.slug.as_str(), "2026-q1");
}

fn refused(bytes: &[u8]) -> DocxError {
    match convert(bytes, &options()) {
        Err(e) => e,
        Ok(c) => panic!("accepted: {}", c.source),
    }
}

#[test]
fn hostile_files_are_refused_with_a_clear_error() {
    // Not a zip.
    assert_eq!(
        refused(b"Nyhetsbrev fra KOM\n\nbare tekst"),
        DocxError::NotZip
    );
    // A zip, but not a Word document.
    let other = zip_of(&[("bilde.png".into(), vec![0x89, b'P', b'N', b'G'])]);
    assert_eq!(refused(&other), DocxError::NotWord);
    let spreadsheet = zip_of(&[
        ("_rels/.rels".into(), br#"<Relationships xmlns="x"><Relationship Id="r" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_vec()),
        ("xl/workbook.xml".into(), b"<workbook/>".to_vec()),
    ]);
    assert_eq!(refused(&spreadsheet), DocxError::NotWord);
    let odt = zip_of(&[
        (
            "mimetype".into(),
            b"application/vnd.oasis.opendocument.text".to_vec(),
        ),
        ("content.xml".into(), b"<office:document-content/>".to_vec()),
    ]);
    assert_eq!(refused(&odt), DocxError::OpenDocument);
    // A password-protected document: Word writes a compound file with the encrypted
    // package inside; a compound file without one is an old .doc.
    let mut encrypted = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    encrypted.extend(vec![0; 504]);
    let stream_name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut doc = encrypted.clone();
    encrypted.extend(&stream_name);
    assert_eq!(refused(&encrypted), DocxError::PasswordProtected);
    doc.extend("WordDocument".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(refused(&doc), DocxError::OldWordFormat);
    // A zip bomb: 50 MB of one letter, a few kB packed.
    let mut bomb = Package::word(&issue_with(""));
    bomb.files[2].1 = format!(
        r#"<w:document xmlns:w="{}"><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>"#,
        common::docx::W,
        "A".repeat(50_000_000)
    )
    .into_bytes();
    let bomb = bomb.bytes();
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    assert_eq!(
        refused(&bomb),
        DocxError::PartTooLarge("word/document.xml".into())
    );
    // Parts each under the limit, together over it.
    let mut heavy = Package::word(&issue_with(""));
    let padding = format!("<!-- {} -->", "x".repeat(12_000_000));
    heavy.files[3].1.extend(padding.as_bytes());
    heavy.files[4].1.extend(padding.as_bytes());
    assert_eq!(refused(&heavy.bytes()), DocxError::TotalTooLarge);
    // Too many entries.
    let mut crowded = Package::word(&issue_with(""));
    for i in 0..MAX_ENTRIES {
        crowded
            .files
            .push((format!("word/media/bilde{i}.png"), Vec::new()));
    }
    assert!(matches!(
        refused(&crowded.bytes()),
        DocxError::TooManyEntries { .. }
    ));
    // A 50 MB file.
    let mut large = Package::word(&issue_with("")).bytes();
    large.resize(50 * 1024 * 1024, 0);
    assert!(matches!(refused(&large), DocxError::TooLarge { size } if size > MAX_DOCX_BYTES));
    // Deeply nested XML.
    let deep = format!(
        "{}{}",
        r#"<w:sdt><w:sdtContent>"#.repeat(MAX_DEPTH),
        r#"</w:sdtContent></w:sdt>"#.repeat(MAX_DEPTH)
    );
    assert!(matches!(
        refused(&Package::word(&deep).bytes()),
        DocxError::TooDeep(_)
    ));
    // A DOCTYPE with entities ("billion laughs"): refused, never expanded.
    let mut laughs = Package::word(&issue_with(""));
    laughs.files[2].1 = br#"<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "hahahahaha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><w:document xmlns:w="x"><w:body><w:p><w:r><w:t>&c;</w:t></w:r></w:p></w:body></w:document>"#.to_vec();
    assert_eq!(
        refused(&laughs.bytes()),
        DocxError::Doctype("word/document.xml".into())
    );
    // A javascript: link, from a relationship and from a field.
    let links = Package::word(&issue_with(&p(
        "",
        r#"<w:hyperlink r:id="rBad"><w:r><w:t>klikk</w:t></w:r></w:hyperlink><w:fldSimple w:instr="HYPERLINK &quot;file:///C:/hemmelig.docx&quot;"><w:r><w:t>fil</w:t></w:r></w:fldSimple>"#,
    )))
    .link("rBad", "javascript:alert(1)");
    let DocxError::Links(bad) = refused(&links.bytes()) else {
        panic!("links accepted")
    };
    let found: Vec<(&str, &str)> = bad
        .iter()
        .map(|l| (l.text.as_str(), l.target.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("klikk", "javascript:alert(1)"),
            ("fil", "file:///C:/hemmelig.docx")
        ]
    );
    assert!(
        DocxError::Links(bad.clone())
            .norwegian()
            .contains("Lenken «klikk» i seksjon 1 «Verdt å merke seg», sak «Ny veileder» peker til «javascript:alert(1)»"),
    );
    // A character XML does not allow, in the title.
    let control = Package::word(&format!(
        "{}{}",
        p("Title", r#"<w:r><w:t>Nyhetsbrev&#7;fra KOM</w:t></w:r>"#),
        p("Heading1", &r("Seksjon"))
    ));
    assert_eq!(
        refused(&control.bytes()),
        DocxError::Entity("word/document.xml".into())
    );
    // A document without headings says which styles to use.
    let flat = Package::word(&p("", &r("Bare tekst uten overskrifter.")));
    let error = refused(&flat.bytes());
    assert_eq!(error, DocxError::NoHeadings);
    assert!(error.norwegian().contains("«Overskrift 1»"));
}

on_both_backends!(
    hostile_documents_store_nothing,
    a_word_import_keeps_its_markdown_and_its_report_with_the_draft
);

async fn hostile_documents_store_nothing(db: &TestDb) {
    let ops = Issues::new(
        db.store().await,
        nyhetsbrev::startup::render_context(&Default::default()),
        Ok(common::test_key()),
    );
    let actor = Actor::parse("test");
    let links = Package::word(&issue_with(&p(
        "",
        r#"<w:hyperlink r:id="rBad"><w:r><w:t>klikk</w:t></w:r></w:hyperlink>"#,
    )))
    .link("rBad", "javascript:alert(1)")
    .bytes();
    let subject_with_control = DocxOptions {
        subject: Some("Nyhetsbrev\u{7} fra KOM".into()),
        ..options()
    };
    for (bytes, options) in [
        (b"ikke en zip".to_vec(), options()),
        (links, options()),
        (Package::word(&issue_with("")).bytes(), subject_with_control),
    ] {
        let result = ops.import_docx("utgave.docx", bytes, options, &actor).await;
        assert!(
            matches!(
                result,
                Err(IssueError::Docx { .. } | IssueError::ConvertedWithProblems { .. })
            ),
            "{result:?}"
        );
    }
    assert!(ops.list().await.unwrap().is_empty());
    assert!(
        db.query_strings("SELECT action FROM audit_log")
            .await
            .is_empty(),
        "nothing is logged either"
    );
}

async fn a_word_import_keeps_its_markdown_and_its_report_with_the_draft(db: &TestDb) {
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(db.dir())
            .env("NYHETSBREV_DATABASE_URL", db.url.expose())
            .env("NYHETSBREV_BASE_URL", "https://nyhetsbrev.example.org")
            .output()
            .unwrap()
    };
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docx/2024-q1-word.docx"
    );
    // Without a period the document still has one; without a preheader one is made.
    let imported = run(&["issue", "import", fixture, "--date", "2024-04-15"]);
    let (said, told) = (
        String::from_utf8_lossy(&imported.stdout),
        String::from_utf8_lossy(&imported.stderr),
    );
    assert!(imported.status.success(), "{told}");
    assert!(
        said.starts_with("imported draft 2024-q1 from Word (4 sections, 35 items, 70 links, HTML"),
        "{said}"
    );
    assert!(said.contains("2 things not carried over"), "{said}");
    assert!(
        told.contains("2024-q1-word.docx: page footer \"Nyhetsbrev fra KOM, side 1\""),
        "{told}"
    );
    assert!(
        told.contains("the document has no preheader: it was made from the first item titles"),
        "{told}"
    );

    let source = run(&["issue", "show", "2024-q1", "--source"]);
    let source = String::from_utf8(source.stdout).unwrap();
    assert!(source.starts_with("+++\nslug = \"2024-q1\"\nsubject = \"Nyhetsbrev fra KOM, januar–mars 2024\"\nperiod = \"januar–mars 2024\"\npreheader = \"KOM-funksjonen er flyttet midlertidig til JD i 2024, "), "{source}");
    assert!(
        source.contains(
            "\n## Verdt å merke seg\n\n### KOM-funksjonen er flyttet midlertidig til JD i 2024\n"
        ),
        "{source}"
    );

    // The report is kept with this version of the draft, and goes when it is saved
    // otherwise.
    let ops = Issues::new(
        db.store().await,
        nyhetsbrev::startup::render_context(&Default::default()),
        Ok(common::test_key()),
    );
    let (stored, _) = ops
        .get(&nyhetsbrev::domain::Slug::parse("2024-q1").unwrap())
        .await
        .unwrap();
    let report = ops.docx_report(&stored).await.unwrap();
    assert_eq!(report.len(), 2, "{report:?}");
    let markdown = run(&[
        "issue",
        "import",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md"),
    ]);
    assert!(markdown.status.success());
    let (stored, _) = ops
        .get(&nyhetsbrev::domain::Slug::parse("2024-q1").unwrap())
        .await
        .unwrap();
    assert!(ops.docx_report(&stored).await.unwrap().is_empty());

    // Options are for Word documents; a missing field is named with its option.
    let misused = run(&[
        "issue",
        "import",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/2024-q1.md"),
        "--period",
        "x",
    ]);
    assert!(!misused.status.success());
    assert!(String::from_utf8_lossy(&misused.stderr).contains("are for Word documents"));
    let empty_period = run(&[
        "issue",
        "import",
        fixture,
        "--slug",
        "tom",
        "--subject",
        "\u{7}",
    ]);
    assert!(!empty_period.status.success());
    let told = String::from_utf8_lossy(&empty_period.stderr);
    assert!(told.contains("subject must be one line"), "{told}");
    assert!(told.contains("nothing was stored"), "{told}");
}

/// A small deterministic random source, so that a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn damaged_documents_give_an_answer_never_a_panic() {
    let mut random = XorShift(0x5eed_1234_abcd_0042);
    // Each answer is an issue or an error; both must occur, or the damage missed.
    let (mut read, mut refused) = (0, 0);
    let mut count = |result: Result<Converted, DocxError>| match result {
        Ok(_) => read += 1,
        Err(_) => refused += 1,
    };
    // Damaged packages: bytes of the zip changed.
    for _ in 0..150 {
        let mut bytes = WORD.to_vec();
        for _ in 0..1 + random.below(8) {
            let at = random.below(bytes.len());
            bytes[at] = random.next() as u8;
        }
        count(convert(&bytes, &options()));
    }
    // Damaged XML in a sound package: characters of the document changed, cut or
    // repeated, where Word's markup is.
    let document = {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(WORD)).unwrap();
        let mut text = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let pieces = [
        "<",
        ">",
        "/",
        "\"",
        "&",
        "w:p",
        "w:r",
        "w:t",
        "=",
        " ",
        "<w:fldChar w:fldCharType=\"begin\"/>",
        "</w:p>",
        "<w:p>",
    ];
    for _ in 0..150 {
        let mut text = document.clone();
        for _ in 0..1 + random.below(6) {
            let mut at = random.below(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match random.below(3) {
                0 => text.insert_str(at, pieces[random.below(pieces.len())]),
                1 => {
                    let mut end = (at + random.below(40)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let mut end = (at + random.below(200)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    let copy = text[at..end].to_owned();
                    text.insert_str(at, &copy);
                }
            }
        }
        let mut package = Package::word("");
        package.files[2].1 = text.into_bytes();
        count(convert(&package.bytes(), &options()));
    }
    assert!(
        read >= 10 && refused >= 10,
        "read {read}, refused {refused}"
    );
}

#[test]
fn empty_headings_a_table_of_contents_and_long_front_text_are_handled_as_word_shows_them() {
    let styles = r#"<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="TOCHeading"><w:name w:val="TOC Heading"/><w:basedOn w:val="Heading1"/></w:style>
</w:styles>"#;
    let intro =
        "KOM arbeider for at ofre for menneskehandel blir identifisert og får hjelp. ".repeat(4);
    let toc_entry = |anchor: &str, text: &str| {
        format!(
            r#"<w:p><w:hyperlink w:anchor="{anchor}"><w:r><w:t>{text}</w:t></w:r></w:hyperlink></w:p>"#
        )
    };
    let mut package = Package::word(&format!(
        "{}{}{}{}{}{}{}{}{}{}{}{}",
        p("", &r("Nyhetsbrev fra KOM")),
        p("", &r("april - juni 2025")),
        p("", &r(&intro)),
        p("TOCHeading", &r("Innhold")),
        r#"<w:sdt><w:sdtContent><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> TOC \o "1-2" \h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r></w:p>"#,
        toc_entry("_Toc1", "Verdt å merke seg"),
        toc_entry("_Toc2", "Ny veileder"),
        r#"<w:p><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:sdtContent></w:sdt>"#,
        p("Heading1", ""),
        p("Heading1", &r("Verdt å merke seg")),
        p(
            "Heading2",
            r#"<w:hyperlink r:id="rVeileder"><w:r><w:t>Ny veileder</w:t></w:r></w:hyperlink>"#
        ),
        p("", &r("Tekst.")),
    ));
    package.files[3].1 = styles.as_bytes().to_vec();
    let package = package.link("rVeileder", "https://example.org/veileder");
    let converted = convert(&package.bytes(), &options()).unwrap();
    assert_eq!(
        kinds(&converted),
        [
            OmissionKind::TableOfContents,
            OmissionKind::TableOfContents,
            OmissionKind::FrontPageText,
            OmissionKind::PreheaderFromTitles,
            OmissionKind::LinkInHeading,
        ],
        "{:#?}",
        converted.report
    );
    assert_eq!(converted.report[0].excerpt.as_deref(), Some("Innhold"));
    let issue = issue_of(&converted);
    assert_eq!(issue.sections.len(), 1, "the empty heading is a blank line");
    assert_eq!(
        Inline::plain(&issue.sections[0].items[0].title),
        "Ny veileder"
    );
    assert_eq!(issue.meta.preheader, "Ny veileder");
}

#[test]
fn a_title_that_names_the_period_is_the_subject_as_it_stands() {
    let package = Package::word(&format!(
        "{}{}{}{}",
        p("Title", &r("Nyhetsbrev fra KOM, juli - september 2025")),
        p("Heading1", &r("Verdt å merke seg")),
        p("Heading2", &r("Ny veileder")),
        p("", &r("Tekst.")),
    ));
    let issue = issue_of(&convert(&package.bytes(), &options()).unwrap());
    assert_eq!(
        issue.meta.subject,
        "Nyhetsbrev fra KOM, juli - september 2025"
    );
    assert_eq!(issue.meta.period, "juli–september 2025");
    assert_eq!(issue.meta.slug.as_str(), "2025-q3");
}
