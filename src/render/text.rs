//! The plain-text twin of the mail: the same content, wrapped, with every URL written out.

use std::fmt::Write;

use super::{RenderContext, Slot};
use crate::domain::{Block, FooterBlock, FooterText, Inline, Issue, Publication, PublicationKind};

/// Lines are wrapped at 76 columns; a URL longer than that stays whole on its own line.
const WIDTH: usize = 76;

fn inline_text(list: &[Inline], out: &mut String) {
    for inline in list {
        match inline {
            Inline::Text(t) => out.push_str(t),
            Inline::Code(t) => out.push_str(t),
            Inline::Strong(c) => inline_text(c, out),
            Inline::Emphasis(c) => {
                out.push('_');
                inline_text(c, out);
                out.push('_');
            }
            Inline::Strikethrough(c) => inline_text(c, out),
            Inline::Link { url, children } => {
                let text = Inline::plain(children);
                let shown = url.strip_prefix("mailto:").unwrap_or(url);
                inline_text(children, out);
                if text.trim() != shown {
                    // The URL follows its text, as in "se her <https://…>".
                    let _ = write!(out, " <{shown}>");
                }
            }
            Inline::LineBreak => out.push('\n'),
        }
    }
}

fn wrap(text: &str, first: &str, rest: &str, out: &mut String) {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        // Never split at hyphens: URLs and words such as "2024-q1" stay whole.
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for (i, paragraph_line) in text.split('\n').enumerate() {
        let indent = if i == 0 { first } else { rest };
        for line in textwrap::wrap(paragraph_line, options.clone().initial_indent(indent)) {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

fn blocks(list: &[Block], indent: &str, out: &mut String) {
    for block in list {
        match block {
            Block::Paragraph(i) => {
                let mut text = String::new();
                inline_text(i, &mut text);
                wrap(&text, indent, indent, out);
                out.push('\n');
            }
            Block::List {
                ordered,
                start,
                items,
            } => {
                for (n, item) in items.iter().enumerate() {
                    let marker = if *ordered {
                        format!("{}. ", *start + n as u64)
                    } else {
                        "- ".to_owned()
                    };
                    let first = format!("{indent}{marker}");
                    let rest = format!("{indent}{}", " ".repeat(marker.chars().count()));
                    for (k, block) in item.iter().enumerate() {
                        match block {
                            Block::Paragraph(i) => {
                                let mut text = String::new();
                                inline_text(i, &mut text);
                                wrap(&text, if k == 0 { &first } else { &rest }, &rest, out);
                            }
                            other => blocks(std::slice::from_ref(other), &rest, out),
                        }
                    }
                }
                out.push('\n');
            }
            Block::Quote(b) => blocks(b, &format!("{indent}> "), out),
            Block::Table { head, rows } => {
                for row in std::iter::once(head).chain(rows) {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|cell| {
                            let mut text = String::new();
                            inline_text(cell, &mut text);
                            text
                        })
                        .collect();
                    wrap(&cells.join(" | "), indent, indent, out);
                }
                out.push('\n');
            }
            Block::Preformatted(t) => {
                for line in t.lines() {
                    let _ = writeln!(out, "{indent}    {line}");
                }
                out.push('\n');
            }
        }
    }
}

fn heading(title: &str, underline: char, out: &mut String) {
    let mut wrapped = String::new();
    wrap(title, "", "", &mut wrapped);
    let width = wrapped
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    out.push_str(&wrapped);
    out.extend(std::iter::repeat_n(underline, width));
    out.push_str("\n\n");
}

/// The text mail, with slot markers for the personal parts.
pub(super) fn mail(issue: &Issue, publication: &Publication, context: &RenderContext) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let meta = &issue.meta;
    let _ = writeln!(out, "{}\n", context.organisation_name);
    heading(
        &format!("{}, {}", publication.name.as_str(), meta.period),
        '=',
        &mut out,
    );
    if let Some(audience) = &meta.audience {
        let _ = writeln!(out, "{audience}\n");
    }
    let _ = writeln!(out, "Vis i nettleser: {}\n", context.web_url(issue));
    if publication.kind == PublicationKind::Announcement {
        // A short mail: its title, its paragraphs, then the one link that matters.
        heading(&meta.subject, '-', &mut out);
        blocks(&issue.intro, "", &mut out);
        if let Some(link) = &meta.link {
            let _ = writeln!(out, "{}:\n{}\n", link.text, link.url);
        }
    } else {
        out.push_str("I denne utgaven:\n");
        for section in &issue.sections {
            wrap(&section.title, "- ", "  ", &mut out);
        }
        out.push('\n');
    }
    for section in &issue.sections {
        out.push('\n');
        heading(&section.title.to_uppercase(), '=', &mut out);
        blocks(&section.intro, "", &mut out);
        for item in &section.items {
            let mut title = String::new();
            inline_text(&item.title, &mut title);
            heading(&title, '-', &mut out);
            blocks(&item.blocks, "", &mut out);
        }
    }
    out.push('\n');
    let footer = context.footer(publication);
    let short = &context.organisation_short_name;
    heading("Kontakt oss", '-', &mut out);
    footer_text(&footer.contact, &mut out);
    heading(&format!("Om {short}"), '-', &mut out);
    footer_text(&footer.about, &mut out);
    heading(&format!("{short}s kontaktliste"), '-', &mut out);
    // The address is only known per recipient and wrapping happens before: the sentence
    // is wrapped with room for a typical address where the slot goes.
    let room = "\u{E002}".repeat(ADDRESS_ROOM);
    let mut sentence = String::new();
    wrap(
        &format!("Du får denne e-posten fordi {room} står på {short}s kontaktliste."),
        "",
        "",
        &mut sentence,
    );
    out.push_str(&sentence.replace(&room, Slot::Email.marker()));
    out.push('\n');
    footer_text(&footer.join, &mut out);
    let _ = writeln!(
        out,
        "Velg hva du får:\n{}\n\nMeld deg av:\n{}",
        Slot::PreferencesUrl.marker(),
        Slot::UnsubscribeUrl.marker()
    );
    out
}

/// The width kept for the recipient's address in the footer's sentence.
const ADDRESS_ROOM: usize = 28;

/// A footer part: paragraphs wrapped, lists as dashes, each followed by a blank line.
fn footer_text(text: &FooterText, out: &mut String) {
    for block in text.blocks() {
        match block {
            FooterBlock::Paragraph(p) => wrap(&p, "", "", out),
            FooterBlock::List(points) => {
                for point in points {
                    wrap(&point, "- ", "  ", out);
                }
            }
        }
        out.push('\n');
    }
}
