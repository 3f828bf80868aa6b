//! A paragraph's text as Markdown that the issue parser reads back exactly: escaping,
//! bold, italic, links and line breaks.

use crate::docx::body::{Link, Piece};

/// A heading's text: escaped, and a `#` at its end kept as text (Markdown would read
/// it as a closing sequence).
pub(super) fn heading_text(title: &str) -> String {
    let mut text = escape(title);
    if text.ends_with('#') {
        text.insert(text.len() - 1, '\\');
    }
    text
}

/// Text as Markdown that reads back as exactly this text.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') =>
            {
                out.push_str("\\&");
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes what would start a block at the start of a line (a heading, a list, a
/// quote, a rule), and indents lines after the first by `column` (a list item's).
pub(super) fn indent_lines(text: &str, column: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(column));
        }
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        if line.starts_with(['#', '+', '-', '=']) {
            out.push('\\');
            out.push_str(line);
        } else if (1..=9).contains(&digits) && line[digits..].starts_with(['.', ')']) {
            out.push_str(&line[..digits]);
            out.push('\\');
            out.push_str(&line[digits..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A link's destination: spaces percent-encoded, Markdown's punctuation escaped.
fn destination(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '\\' | '&' | '(' | ')' | '<' | '>' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A paragraph's pieces as Markdown: bold, italic, links and line breaks.
pub(super) fn inlines(pieces: &[Piece], links: &[Link]) -> String {
    // Whitespace at the ends of the paragraph and around line breaks is not text.
    let mut clean: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            Piece::Break => {
                trim_last(&mut clean);
                if clean.iter().any(|p| matches!(p, Piece::Text { .. })) {
                    clean.push(Piece::Break);
                }
            }
            Piece::Text {
                text,
                bold,
                italic,
                link,
            } => {
                let text: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let text = match clean.last() {
                    None | Some(Piece::Break) => text.trim_start().to_owned(),
                    _ => text,
                };
                if !text.is_empty() {
                    clean.push(Piece::Text {
                        text,
                        bold: *bold,
                        italic: *italic,
                        link: *link,
                    });
                }
            }
        }
    }
    trim_last(&mut clean);
    while matches!(clean.last(), Some(Piece::Break)) {
        clean.pop();
        trim_last(&mut clean);
    }

    let mut out = String::new();
    let mut rest = clean.as_slice();
    while let Some(first) = rest.first() {
        let link = match first {
            Piece::Text { link, .. } => *link,
            Piece::Break => None,
        };
        let len = rest
            .iter()
            .take_while(|p| match p {
                Piece::Text { link: l, .. } => *l == link,
                Piece::Break => link.is_none(),
            })
            .count()
            .max(1);
        let (group, after) = rest.split_at(len);
        rest = after;
        let text = formatted(group);
        match link {
            Some(id) if !text.trim().is_empty() => {
                let (lead, core, trail) = split_space(&text);
                out.push_str(lead);
                if out.ends_with('!') {
                    // `![` would start an image.
                    out.insert(out.len() - 1, '\\');
                }
                out.push('[');
                out.push_str(core);
                out.push_str("](");
                out.push_str(&destination(&links[id].target));
                out.push(')');
                out.push_str(trail);
            }
            _ => out.push_str(&text),
        }
    }
    out
}

fn trim_last(pieces: &mut [Piece]) {
    if let Some(Piece::Text { text, .. }) = pieces.last_mut() {
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
    }
}

/// Bold runs, and italic runs within them, each wrapped in its delimiters.
fn formatted(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for (bold, run) in runs(pieces, |p| matches!(p, Piece::Text { bold: true, .. })) {
        let mut inner = String::new();
        for (italic, run) in runs(run, |p| matches!(p, Piece::Text { italic: true, .. })) {
            let text: String = run
                .iter()
                .map(|p| match p {
                    Piece::Text { text, .. } => escape(text),
                    Piece::Break => "\\\n".to_owned(),
                })
                .collect();
            inner.push_str(&wrap(&text, italic, "*"));
        }
        out.push_str(&wrap(&inner, bold, "**"));
    }
    out
}

/// Consecutive pieces by whether `test` holds for them.
fn runs(pieces: &[Piece], test: impl Fn(&Piece) -> bool) -> Vec<(bool, &[Piece])> {
    let mut out = Vec::new();
    let mut rest = pieces;
    while let Some(first) = rest.first() {
        let on = test(first);
        let len = rest.iter().take_while(|p| test(p) == on).count();
        let (run, after) = rest.split_at(len);
        out.push((on, run));
        rest = after;
    }
    out
}

/// `text` in delimiters, with its leading and trailing spaces outside them (Markdown
/// does not close `**` after a space).
fn wrap(text: &str, on: bool, delimiter: &str) -> String {
    let (lead, core, trail) = split_space(text);
    if !on || core.is_empty() {
        return text.to_owned();
    }
    format!("{lead}{delimiter}{core}{delimiter}{trail}")
}

fn split_space(text: &str) -> (&str, &str, &str) {
    let core_start = text.len() - text.trim_start().len();
    let core_end = text.trim_end().len().max(core_start);
    (
        &text[..core_start],
        &text[core_start..core_end],
        &text[core_end..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str, bold: bool, italic: bool) -> Piece {
        Piece::Text {
            text: t.into(),
            bold,
            italic,
            link: None,
        }
    }

    #[test]
    fn markdown_characters_in_text_stay_text() {
        assert_eq!(
            escape("a*b_c [d] <e> | ~ &amp; & x"),
            "a\\*b\\_c \\[d\\] \\<e\\> \\| \\~ \\&amp; & x"
        );
        assert_eq!(indent_lines("# x", 0), "\\# x");
        assert_eq!(indent_lines("2024. år", 0), "2024\\. år");
        assert_eq!(indent_lines("- punkt", 0), "\\- punkt");
        assert_eq!(heading_text("Sak nr. #"), "Sak nr. \\#");
    }

    #[test]
    fn formatting_keeps_spaces_outside_its_delimiters() {
        let pieces = [
            text("Det er ", false, false),
            text("viktig ", true, false),
            text("og ", true, true),
            text("nytt.", false, false),
        ];
        assert_eq!(inlines(&pieces, &[]), "Det er **viktig *og*** nytt.");
        let pieces = [
            text("  a", false, false),
            Piece::Break,
            text("  b  ", false, false),
        ];
        assert_eq!(inlines(&pieces, &[]), "a\\\nb");
    }
}
