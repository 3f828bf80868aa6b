//! Reading a 40-page Word document into an issue. Issue 14's target: under 200 ms.
//!
//!     cargo bench --bench docx
//!
//! The document is the Word fixture of the 2024 sample (about 8 pages) with its body
//! five times over: 42 pages as LibreOffice lays it out on A4 (`DOCX_OUT=FILE` writes it,
//! so that the pages can be counted: `soffice --headless --convert-to pdf FILE`).

use std::io::{Cursor, Read, Write};

use divan::{Bencher, black_box};
use nyhetsbrev::docx::{DocxOptions, convert};
use nyhetsbrev::render::parse_issue;

const WORD: &[u8] = include_bytes!("../tests/fixtures/docx/2024-q1-word.docx");
const COPIES: usize = 5;

fn main() {
    if let Ok(path) = std::env::var("DOCX_OUT") {
        std::fs::write(&path, forty_pages()).unwrap();
        eprintln!("wrote {path}");
    }
    divan::main();
}

/// The fixture with the body of its document repeated.
fn forty_pages() -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(WORD)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if name == "word/document.xml" {
            let text = String::from_utf8(bytes).unwrap();
            let start = text.find("<w:body>").unwrap() + "<w:body>".len();
            let end = text.find("<w:sectPr").unwrap();
            let body = &text[start..end];
            // The front page once; the sections again and again.
            let first_section = body
                .find("_GoBack")
                .map(|i| body[..i].rfind("<w:p ").unwrap())
                .unwrap();
            let repeated = body[first_section..].repeat(COPIES - 1);
            bytes = format!("{}{}{}", &text[..end], repeated, &text[end..]).into_bytes();
        }
        out.start_file(name, options).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn options() -> DocxOptions {
    DocxOptions {
        preheader: Some("Det viktigste fra KOM".into()),
        file_name: "40 sider.docx".into(),
        ..Default::default()
    }
}

/// The .docx to the Markdown source and the report.
#[divan::bench]
fn convert_40_pages(bencher: Bencher) {
    let bytes = forty_pages();
    bencher.bench_local(|| black_box(convert(black_box(&bytes), &options()).unwrap()));
}

/// The .docx to the issue model, as an import does before it renders and stores.
#[divan::bench]
fn convert_and_parse_40_pages(bencher: Bencher) {
    let bytes = forty_pages();
    bencher.bench_local(|| {
        let converted = convert(black_box(&bytes), &options()).unwrap();
        black_box(parse_issue("40 sider.docx", &converted.source).unwrap())
    });
}

/// The Markdown of the same issue to the model: what the Word step adds to it.
#[divan::bench]
fn parse_markdown_of_40_pages(bencher: Bencher) {
    let source = convert(&forty_pages(), &options()).unwrap().source;
    bencher.bench_local(|| black_box(parse_issue("40 sider.md", black_box(&source)).unwrap()));
}
