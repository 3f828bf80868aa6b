//! The document's paragraphs as an issue source: the front matter from the front page
//! (what comes before the first Heading 1) and the options, then Markdown that the
//! issue parser reads back into exactly the text, formatting and links of the document.

use super::body::{Document, Para, Piece, collapse_spaces};
use super::styles::Role;
use super::{BadLink, Converted, DocxError, DocxOptions, Omission, OmissionKind, Place};
use crate::render::SourceParts;

const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

/// The masthead every mail has: the document's own copy is not reported as left out.
const ORGANISATION: &str = "koordineringsenheten mot menneskehandel";
const DEFAULT_TITLE: &str = "Nyhetsbrev fra KOM";

pub(super) fn source(document: Document, options: &DocxOptions) -> Result<Converted, DocxError> {
    let Document {
        paras,
        links,
        mut omissions,
        title: properties_title,
    } = document;
    let first_section = paras
        .iter()
        .position(|p| p.role == Role::Heading(1))
        .ok_or(DocxError::NoHeadings)?;
    let (front, body) = paras.split_at(first_section);

    let bad: Vec<BadLink> = used_links(body)
        .into_iter()
        .filter_map(|(id, text)| {
            let link = &links[id];
            (!allowed_link(&link.target)).then(|| BadLink {
                text,
                target: link.target.clone(),
                place: link.place.clone(),
            })
        })
        .collect();
    if !bad.is_empty() {
        return Err(DocxError::Links(bad));
    }

    let mut front_page = FrontPage::read(front, &mut omissions);
    if front_page.title.is_none() {
        front_page.title = properties_title.map(|t| collapse_spaces(&t));
    }
    let body_text = Writer::new(&links).body(body);
    let parts = front_page.fields(options, body, &mut omissions, body_text);
    // What was left out, in document order: the front page, then section by section.
    omissions.sort_by_key(|o| o.place.section.as_ref().map_or(0, |(n, _)| *n));
    Ok(Converted {
        source: parts.to_source(),
        report: omissions,
    })
}

fn allowed_link(target: &str) -> bool {
    !target.chars().any(char::is_control)
        && url::Url::parse(target).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
}

/// Every link used in these paragraphs, once, with its text.
fn used_links(paras: &[Para]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for para in paras {
        for piece in &para.pieces {
            if let Piece::Text {
                text,
                link: Some(id),
                ..
            } = piece
            {
                match out.iter_mut().find(|(i, _)| i == id) {
                    Some((_, t)) => t.push_str(text),
                    None => out.push((*id, text.clone())),
                }
            }
        }
    }
    for (_, text) in &mut out {
        *text = collapse_spaces(text);
    }
    out
}

/// What the front page says, read line by line as KOM lays it out: the organisation,
/// "Nyhetsbrev fra KOM", "januar - mars 2024", "Til KOMs samarbeidsaktører".
#[derive(Default)]
struct FrontPage {
    title: Option<String>,
    /// The title ends with the period, so it is the subject as it stands.
    title_has_period: bool,
    period: Option<(String, Option<String>)>,
    audience: Option<String>,
    date: Option<String>,
    preheader: Option<String>,
}

impl FrontPage {
    fn read(paras: &[Para], omissions: &mut Vec<Omission>) -> FrontPage {
        let mut page = FrontPage::default();
        for para in paras {
            let text = para.plain();
            if text.is_empty() {
                continue;
            }
            let lower = text.to_lowercase();
            let label_removed = |labels: &[&str]| {
                labels.iter().find_map(|label| {
                    lower
                        .strip_prefix(label)
                        .map(|_| text[label.len()..].trim().to_owned())
                })
            };
            if lower == ORGANISATION {
                continue;
            }
            if page.title.is_none()
                && (para.role == Role::Title || lower.starts_with("nyhetsbrev"))
                && period(&text).is_none()
            {
                // "Nyhetsbrev fra KOM januar - mars 2024": the title says the period too.
                if page.period.is_none()
                    && let Some(found) = period_at_end(&text)
                {
                    page.period = Some(found);
                    page.title_has_period = true;
                }
                page.title = Some(text);
                continue;
            }
            if page.period.is_none()
                && let Some(found) = period(&text)
            {
                page.period = Some(found);
                continue;
            }
            if page.audience.is_none() && lower.starts_with("til ") {
                page.audience = Some(text);
                continue;
            }
            if page.date.is_none()
                && let Some(date) = date(label_removed(&["dato:"]).as_deref().unwrap_or(&text))
            {
                page.date = Some(date);
                continue;
            }
            // One more short line is the preheader; a longer text is not one.
            let preheader = label_removed(&["ingress:"]).unwrap_or_else(|| text.clone());
            if page.preheader.is_none() && preheader.chars().count() <= 200 {
                page.preheader = Some(preheader);
                continue;
            }
            omissions.push(Omission {
                kind: OmissionKind::FrontPageText,
                place: Place::default(),
                excerpt: Some(super::body::excerpt(&text)),
            });
        }
        page
    }

    /// The front matter: what the options say, else what the front page says.
    fn fields(
        self,
        options: &DocxOptions,
        body: &[Para],
        omissions: &mut Vec<Omission>,
        body_text: String,
    ) -> SourceParts {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let period = given(&options.period)
            .or_else(|| self.period.as_ref().map(|(p, _)| p.clone()))
            .unwrap_or_default();
        let subject = given(&options.subject).unwrap_or_else(|| {
            let title = self.title.unwrap_or_else(|| DEFAULT_TITLE.to_owned());
            if period.is_empty() || self.title_has_period || title.contains(&period) {
                title
            } else {
                format!("{title}, {period}")
            }
        });
        let slug = given(&options.slug)
            .or_else(|| self.period.and_then(|(_, quarter)| quarter))
            .or_else(|| period_slug(&period))
            .unwrap_or_else(|| file_slug(&options.file_name));
        let preheader = given(&options.preheader)
            .or(self.preheader)
            .unwrap_or_else(|| {
                omissions.push(Omission {
                    kind: OmissionKind::PreheaderFromTitles,
                    place: Place::default(),
                    excerpt: None,
                });
                titles_preheader(body)
            });
        SourceParts {
            slug,
            subject,
            period,
            preheader,
            audience: given(&options.audience)
                .or(self.audience)
                .unwrap_or_default(),
            date: given(&options.date).or(self.date).unwrap_or_default(),
            publication: given(&options.publication).unwrap_or_default(),
            link: String::new(),
            link_text: String::new(),
            body: body_text,
        }
    }
}

/// "januar - mars 2024" → ("januar–mars 2024", Some("2024-q1")).
fn period(text: &str) -> Option<(String, Option<String>)> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—'))
        .filter(|w| !w.is_empty())
        .collect();
    let [from, to, year] = words.as_slice() else {
        return None;
    };
    let month = |name: &str| MONTHS.iter().position(|m| *m == name);
    let (from, to) = (month(from)?, month(to)?);
    let year: u16 = year.parse().ok().filter(|y| (1900..=2999).contains(y))?;
    if to < from {
        return None;
    }
    let quarter = (from % 3 == 0 && to == from + 2).then(|| format!("{year}-q{}", from / 3 + 1));
    Some((format!("{}–{} {year}", MONTHS[from], MONTHS[to]), quarter))
}

/// A period that ends a longer line: "Nyhetsbrev fra KOM, januar - mars 2024".
fn period_at_end(text: &str) -> Option<(String, Option<String>)> {
    let words: Vec<(usize, &str)> = text
        .char_indices()
        .filter(|(i, c)| {
            !c.is_whitespace() && (*i == 0 || text[..*i].ends_with(char::is_whitespace))
        })
        .map(|(i, _)| (i, &text[i..]))
        .collect();
    // The period is the last two to four words ("januar - mars 2024", "januar–mars 2024").
    (2..=4).rev().find_map(|n| {
        let (start, tail) = *words.get(words.len().checked_sub(n)?)?;
        (start > 0).then(|| period(tail)).flatten()
    })
}

fn period_slug(period: &str) -> Option<String> {
    self::period(period).and_then(|(_, quarter)| quarter)
}

/// "15. april 2024", "15.04.2024" or "2024-04-15" → "2024-04-15".
fn date(text: &str) -> Option<String> {
    let text = text.trim().to_lowercase();
    let (year, month, day): (i32, u8, u8) =
        if let [y, m, d] = text.split('-').collect::<Vec<_>>().as_slice() {
            (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        } else if let [d, m, y] = text.split('.').collect::<Vec<_>>().as_slice()
            && !m.trim().is_empty()
            && m.trim().bytes().all(|b| b.is_ascii_digit())
        {
            (
                y.trim().parse().ok()?,
                m.trim().parse().ok()?,
                d.parse().ok()?,
            )
        } else {
            let (day, rest) = text.split_once(". ")?;
            let (month, year) = rest.trim().split_once(' ')?;
            let month = MONTHS.iter().position(|m| *m == month)? as u8 + 1;
            (year.trim().parse().ok()?, month, day.trim().parse().ok()?)
        };
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// `KOM nyhetsbrev 2025.docx` → `kom-nyhetsbrev-2025`.
fn file_slug(file_name: &str) -> String {
    let stem = std::path::Path::new(file_name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let slug: String = crate::domain::dashed_words(stem)
        .chars()
        .take(crate::domain::Slug::MAX_LEN)
        .collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "utgave".to_owned()
    } else {
        slug
    }
}

/// The first item titles, as many as fit a preheader.
fn titles_preheader(body: &[Para]) -> String {
    const MAX: usize = 150;
    let mut out = String::new();
    for para in body.iter().filter(|p| p.role == Role::Heading(2)) {
        let title = para.plain();
        let next = out.chars().count() + title.chars().count() + 2;
        if !out.is_empty() && next > MAX {
            break;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&title);
    }
    out.chars().take(200).collect()
}

/// Markdown for the body, block by block.
struct Writer<'a> {
    links: &'a [super::body::Link],
    out: String,
    /// The open list levels, outermost first.
    lists: Vec<ListState>,
    /// The Word list the last item belonged to; `None` after any other block.
    last_list: Option<String>,
    /// `true`: the next list is marked `*` and `1)`, to keep it apart from the one
    /// just before it (Markdown would join them otherwise).
    other_marker: bool,
}

struct ListState {
    word_level: u32,
    ordered: bool,
    /// The column of this level's markers.
    indent: usize,
    next: u64,
    /// The column of the last item's text: where a list nested in it starts.
    content_column: usize,
}

impl<'a> Writer<'a> {
    fn new(links: &'a [super::body::Link]) -> Self {
        Writer {
            links,
            out: String::new(),
            lists: Vec::new(),
            last_list: None,
            other_marker: false,
        }
    }

    fn block(&mut self, text: &str) {
        self.lists.clear();
        self.last_list = None;
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn body(mut self, paras: &[Para]) -> String {
        for para in paras {
            match para.role {
                Role::Heading(level @ (1 | 2)) => {
                    let hashes = if level == 1 { "##" } else { "###" };
                    let title = heading_text(&para.plain());
                    self.block(&format!("{hashes} {title}"));
                }
                Role::Heading(_) => {
                    // Reported where it was read; bold text here.
                    let text = para.plain();
                    if !text.is_empty() {
                        self.block(&format!("**{}**", escape(&text)));
                    }
                }
                _ => {
                    let text = inlines(&para.pieces, self.links);
                    if text.is_empty() {
                        continue;
                    }
                    match &para.list {
                        Some((level, numbering, list)) => {
                            self.item(*level, numbering.ordered, numbering.start, list, &text)
                        }
                        None => self.block(&indent_lines(&text, 0)),
                    }
                }
            }
        }
        self.out
    }

    fn item(&mut self, level: u32, ordered: bool, start: u64, list: &str, text: &str) {
        let after_list = self.last_list.is_some();
        if !after_list {
            self.lists.clear();
            self.other_marker = false;
            if !self.out.is_empty() {
                self.out.push('\n');
            }
        }
        while self.lists.last().is_some_and(|l| l.word_level > level) {
            self.lists.pop();
        }
        let same_list = self.last_list.as_deref() == Some(list);
        if let Some(top) = self.lists.last()
            && top.word_level == level
            && (top.ordered != ordered || (!same_list && self.lists.len() == 1))
        {
            // Another list right after this one.
            self.lists.clear();
            self.other_marker = !self.other_marker;
        }
        if self.lists.last().is_none_or(|l| l.word_level < level) {
            let indent = self.lists.last().map_or(0, |l| l.content_column);
            self.lists.push(ListState {
                word_level: level,
                ordered,
                indent,
                next: start.min(999_999_999),
                content_column: indent + 2,
            });
        }
        let other_marker = self.other_marker;
        let state = self.lists.last_mut().expect("a level is open");
        let marker = if state.ordered {
            let marker = format!("{}{}", state.next, if other_marker { ')' } else { '.' });
            state.next += 1;
            marker
        } else if other_marker {
            "*".to_owned()
        } else {
            "-".to_owned()
        };
        state.content_column = state.indent + marker.len() + 1;
        let (indent, column) = (state.indent, state.content_column);
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(&marker);
        self.out.push(' ');
        self.out.push_str(&indent_lines(text, column));
        self.out.push('\n');
        self.last_list = Some(list.to_owned());
    }
}

/// A heading's text: escaped, and a `#` at its end kept as text (Markdown would read
/// it as a closing sequence).
fn heading_text(title: &str) -> String {
    let mut text = escape(title);
    if text.ends_with('#') {
        text.insert(text.len() - 1, '\\');
    }
    text
}

/// Text as Markdown that reads back as exactly this text.
fn escape(text: &str) -> String {
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
fn indent_lines(text: &str, column: usize) -> String {
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
fn inlines(pieces: &[Piece], links: &[super::body::Link]) -> String {
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
    fn periods_are_read_as_kom_writes_them() {
        assert_eq!(
            period("januar - mars 2024"),
            Some(("januar–mars 2024".into(), Some("2024-q1".into())))
        );
        assert_eq!(
            period("Oktober–desember 2025"),
            Some(("oktober–desember 2025".into(), Some("2025-q4".into())))
        );
        assert_eq!(
            period("januar-april 2025"),
            Some(("januar–april 2025".into(), None))
        );
        assert_eq!(period("Til KOMs samarbeidsaktører"), None);
        assert_eq!(
            period_at_end("Nyhetsbrev fra KOM, januar - mars 2024"),
            Some(("januar–mars 2024".into(), Some("2024-q1".into())))
        );
        assert_eq!(
            period_at_end("Nyhetsbrev fra KOM juli–september 2025"),
            Some(("juli–september 2025".into(), Some("2025-q3".into())))
        );
        assert_eq!(period_at_end("Nyhetsbrev fra KOM"), None);
        assert_eq!(period("mars - januar 2025"), None);
    }

    #[test]
    fn dates_are_read_in_three_forms() {
        for d in ["15. april 2024", "15.04.2024", "2024-04-15"] {
            assert_eq!(date(d).as_deref(), Some("2024-04-15"), "{d}");
        }
        assert_eq!(date("30. februar 2024"), None);
        assert_eq!(date("KOM 2024"), None);
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

    #[test]
    fn file_names_become_slugs() {
        assert_eq!(
            file_slug("KOM nyhetsbrev 2025 (endelig).docx"),
            "kom-nyhetsbrev-2025-endelig"
        );
        assert_eq!(file_slug("Æøå.docx"), "aeoa");
        assert_eq!(file_slug("....docx"), "utgave");
    }
}
