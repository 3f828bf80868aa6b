//! The front matter from the front page (what comes before the first Heading 1), as
//! KOM lays it out, with the file name and the options filling what it lacks.

use crate::docx::body::{Para, excerpt};
use crate::docx::styles::Role;
use crate::docx::{DocxOptions, Omission, OmissionKind, Place};
use crate::render::SourceParts;

use crate::domain::MONTHS;

/// The masthead every mail has: the document's own copy is not reported as left out.
const ORGANISATION: &str = "koordineringsenheten mot menneskehandel";
const DEFAULT_TITLE: &str = "Nyhetsbrev fra KOM";

/// What the front page says, read line by line as KOM lays it out: the organisation,
/// "Nyhetsbrev fra KOM", "januar - mars 2024", "Til KOMs samarbeidsaktører".
#[derive(Default)]
pub(super) struct FrontPage {
    pub(super) title: Option<String>,
    /// The title ends with the period, so it is the subject as it stands.
    title_has_period: bool,
    period: Option<(String, Option<String>)>,
    audience: Option<String>,
    date: Option<String>,
    preheader: Option<String>,
}

impl FrontPage {
    pub(super) fn read(paras: &[Para], omissions: &mut Vec<Omission>) -> FrontPage {
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
                excerpt: Some(excerpt(&text)),
            });
        }
        page
    }

    /// The front matter: what the options say, else what the front page says.
    pub(super) fn fields(
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
    if let Some(found) = quarter_period(&words) {
        return Some(found);
    }
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

/// A quarter by its number: "1. kvartal 2025", "Q1 2025", "første kvartal 2025" →
/// ("januar–mars 2025", Some("2025-q1")).
fn quarter_period(words: &[&str]) -> Option<(String, Option<String>)> {
    let number = |word: &str| match word.trim_end_matches('.') {
        "1" | "første" => Some(1),
        "2" | "andre" => Some(2),
        "3" | "tredje" => Some(3),
        "4" | "fjerde" => Some(4),
        _ => None,
    };
    let (quarter, year) = match words {
        [q, year] => (number(q.strip_prefix('q')?)?, year),
        [q, number_word, year] if *q == "q" => (number(number_word)?, year),
        [n, "kvartal", year] => (number(n)?, year),
        _ => return None,
    };
    let year: u16 = year.parse().ok().filter(|y| (1900..=2999).contains(y))?;
    let from = (quarter - 1) * 3;
    Some((
        format!("{}–{} {year}", MONTHS[from], MONTHS[from + 2]),
        Some(format!("{year}-q{quarter}")),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_quarter_by_its_number_is_its_months() {
        for text in [
            "1. kvartal 2025",
            "Q1 2025",
            "q 1 2025",
            "første kvartal 2025",
            "Første kvartal 2025",
        ] {
            assert_eq!(
                period(text),
                Some(("januar–mars 2025".into(), Some("2025-q1".into()))),
                "{text}"
            );
        }
        assert_eq!(
            period_at_end("Nyhetsbrev fra KOM, 4. kvartal 2024"),
            Some(("oktober–desember 2024".into(), Some("2024-q4".into())))
        );
        assert_eq!(
            period_at_end("Nyhetsbrev fra KOM – Q3 2025"),
            Some(("juli–september 2025".into(), Some("2025-q3".into())))
        );
        for text in [
            "5. kvartal 2025",
            "Q0 2025",
            "femte kvartal 2025",
            "1. kvartal",
            "Q1 25",
        ] {
            assert_eq!(period(text), None, "{text}");
        }
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
    fn file_names_become_slugs() {
        assert_eq!(
            file_slug("KOM nyhetsbrev 2025 (endelig).docx"),
            "kom-nyhetsbrev-2025-endelig"
        );
        assert_eq!(file_slug("Æøå.docx"), "aeoa");
        assert_eq!(file_slug("....docx"), "utgave");
    }
}
