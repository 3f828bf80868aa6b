//! Issue source → HTML mail, text mail and web version, checked on the 2024 fixture.

use html5gum::{Token, Tokenizer};
use nyhetsbrev::domain::{Inline, Issue};
use nyhetsbrev::render::{
    MAX_HTML_BYTES, Personal, RenderContext, RenderedIssue, parse_issue, render,
};

use crate::common::publications;

const FIXTURE: &str = include_str!("../../examples/2024-q1.md");
const UNSUBSCRIBE: &str = "https://nyhetsbrev.example.org/avmeld/AbC-123_xyz";
const PREFERENCES: &str = "https://nyhetsbrev.example.org/innstillinger/AbC-123_xyz";
const EMAIL: &str = "ola.nordmann@example.org";

fn context() -> RenderContext {
    RenderContext::new("https://nyhetsbrev.example.org", "kom@example.no")
}

fn fixture() -> (Issue, RenderedIssue) {
    let parsed = parse_issue("examples/2024-q1.md", FIXTURE).expect("the fixture parses");
    assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
    let rendered = render(&parsed.issue, &publications::newsletter(), &context())
        .expect("the fixture renders");
    (parsed.issue, rendered)
}

fn personal() -> Personal<'static> {
    Personal {
        email: EMAIL,
        unsubscribe_url: UNSUBSCRIBE,
        preferences_url: PREFERENCES,
    }
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Collapses whitespace, so text wrapped across lines can be searched.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_fixture_has_every_section_item_and_link_of_the_sample() {
    let (issue, _) = fixture();
    let sections: Vec<_> = issue.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        sections,
        [
            "Verdt å merke seg",
            "KOMs hovedaktiviteter i januar–mars",
            "Aktuelle norske tiltak, rapporter og forskning",
            "Aktuelle internasjonale tiltak, rapporter og forskning"
        ]
    );
    assert_eq!(
        issue.sections.iter().map(|s| s.items.len()).sum::<usize>(),
        35
    );
    // The sample has 71 links: 70 in the issue, and "Kontakt oss" in the fixed footer.
    assert_eq!(issue.links().len(), 70);
    assert_eq!(
        issue.meta.audience.as_deref(),
        Some("Til KOMs samarbeidsaktører")
    );
}

#[test]
fn every_item_heading_and_link_is_in_all_three_outputs() {
    let (issue, rendered) = fixture();
    let html = rendered.html.fill(&personal());
    let text = flat(&rendered.text.fill(&personal()));
    let web = &rendered.web;
    for section in &issue.sections {
        let title = html_escaped(&section.title);
        assert!(
            html.contains(&title) && web.contains(&title),
            "section {title}"
        );
        assert!(
            text.contains(&section.title.to_uppercase()),
            "section {} in text",
            section.title
        );
        for item in &section.items {
            let plain = Inline::plain(&item.title);
            assert!(
                html.contains(&html_escaped(&plain)),
                "item {plain:?} in HTML"
            );
            assert!(
                web.contains(&html_escaped(&plain)),
                "item {plain:?} in web version"
            );
            assert!(text.contains(&flat(&plain)), "item {plain:?} in text");
        }
    }
    for url in issue.links() {
        let href = format!("href=\"{}\"", html_escaped(url));
        assert!(html.contains(&href), "{url} in HTML");
        assert!(web.contains(&href), "{url} in web version");
        assert!(
            text.contains(&format!("<{url}>")),
            "{url} written out in text"
        );
    }
    // Bullets survive as list items.
    assert_eq!(
        html.matches("<li").count() - 4, /* table of contents */
        14 + 4                           /* mandate */
    );
}

#[test]
fn the_html_mail_is_well_formed_small_and_made_for_mail_clients() {
    let (_, rendered) = fixture();
    let html = rendered.html.fill(&personal());
    assert!(html.len() < MAX_HTML_BYTES, "{} bytes", html.len());
    assert_well_formed(&html);
    assert_well_formed(&rendered.web);
    for needle in [
        "<html lang=\"nb\"",
        "role=\"presentation\"",
        "width=\"600\"",
        "<meta name=\"color-scheme\" content=\"light dark\">",
        "KOM-funksjonen er midlertidig flyttet til JD, nye publikasjoner", // preheader
        "href=\"#verdt-a-merke-seg\"",
        "id=\"verdt-a-merke-seg\"",
        "Vis i nettleser",
        "href=\"https://nyhetsbrev.example.org/arkiv/2024-q1\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // CSS is inline; only media queries stay in the one <style> block.
    assert_eq!(html.matches("<style").count(), 1);
    let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
    // Outside the @media blocks (brace depth 0) there must be nothing.
    let mut depth = 0;
    let mut outside = String::new();
    let mut rest = style;
    while let Some(c) = rest.chars().next() {
        if depth == 0 && rest.starts_with("@media") {
            let open = rest.find('{').unwrap();
            rest = &rest[open..];
            continue;
        }
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 => outside.push(c),
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    assert!(
        outside.trim().is_empty(),
        "rules outside @media left in <style>: {outside:?}"
    );
    assert!(style.contains("prefers-color-scheme: dark"));
    assert!(html.contains("<h3 style="), "headings carry inline styles");
    assert_eq!(html.matches("<h1").count(), 1);
}

fn assert_well_formed(html: &str) {
    const VOID: [&str; 6] = ["meta", "br", "img", "hr", "link", "input"];
    let mut open: Vec<String> = Vec::new();
    for token in Tokenizer::new(html) {
        match token.unwrap() {
            Token::Error(e) => panic!("HTML error {e:?}"),
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).into_owned();
                if !VOID.contains(&name.as_str()) && !tag.self_closing {
                    open.push(name);
                }
            }
            Token::EndTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).into_owned();
                assert_eq!(
                    open.pop().as_deref(),
                    Some(name.as_str()),
                    "unbalanced </{name}>"
                );
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

#[test]
fn norwegian_letters_survive_everywhere() {
    let (_, rendered) = fixture();
    let text = rendered.text.fill(&personal());
    let html = rendered.html.fill(&personal());
    for word in [
        "Østersjørådet",
        "Grünerløkka",
        "Økokrim",
        "Høringsfrist",
        "samarbeidsaktører",
    ] {
        assert!(
            html.contains(word) && text.contains(word) && rendered.web.contains(word),
            "{word}"
        );
    }
}

#[test]
fn personal_parts_go_to_the_mail_only() {
    let (_, rendered) = fixture();
    let html = rendered.html.fill(&personal());
    let text = rendered.text.fill(&personal());
    assert!(
        html.contains(&format!("href=\"{UNSUBSCRIBE}\"")),
        "unsubscribe link in HTML"
    );
    assert!(html.contains(EMAIL));
    assert!(text.contains(UNSUBSCRIBE) && text.contains(EMAIL));
    // Every mail carries the personal page for choosing what one gets.
    assert!(
        html.contains(&format!("href=\"{PREFERENCES}\"")) && html.contains(">Velg hva du får</a>"),
        "preferences link in HTML"
    );
    assert!(text.contains(&format!("Velg hva du får:\n{PREFERENCES}")));
    assert!(
        !rendered.web.contains("avmeld")
            && !rendered.web.contains("innstillinger")
            && !rendered.web.contains('\u{E000}'),
        "web version is impersonal"
    );
    let other = rendered.html.fill(&Personal {
        email: "kari@example.no",
        unsubscribe_url: "https://x.test/u",
        preferences_url: "https://x.test/p",
    });
    assert!(!other.contains(EMAIL) && other.contains("kari@example.no"));
    assert!(
        !html.contains('\u{E000}') && !text.contains('\u{E000}'),
        "no slot marker left"
    );
}

#[test]
fn the_text_part_is_wrapped_and_marks_headings() {
    let (_, rendered) = fixture();
    let text = rendered.text.fill(&personal());
    for line in text.lines() {
        let too_long = line.chars().count() > 78;
        let only_url = !line.trim_start_matches(['<', '-', ' ']).contains(' ');
        assert!(!too_long || only_url, "line over 78 columns: {line:?}");
    }
    assert!(text.contains("VERDT Å MERKE SEG\n================="));
    assert!(text.contains("Utviklingsarbeid i JD\n---------------------"));
    assert!(text.contains("- hva menneskehandel er\n"));
}

#[test]
fn snapshots_of_the_rendered_fixture() {
    let (_, rendered) = fixture();
    // The footer's sentence is wrapped with the address inside it (issue 17).
    assert!(rendered.text.fill(&personal()).contains(&format!(
        "Du får denne e-posten fordi {EMAIL} står på KOMs\nkontaktliste."
    )),);
    insta::assert_snapshot!("fixture_text", rendered.text.fill(&personal()));
    insta::assert_snapshot!("fixture_html", rendered.html.fill(&personal()));
    insta::assert_snapshot!("fixture_web", rendered.web);
}

// ---- bad input -------------------------------------------------------------

const FRONT: &str = "+++\nslug = \"2025-q1\"\nsubject = \"Nyhetsbrev fra KOM\"\nperiod = \"januar–mars 2025\"\npreheader = \"Nytt fra KOM\"\n+++\n";

fn error_of(source: &str) -> String {
    parse_issue("2025-q1.md", source)
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn front_matter_errors_name_file_line_and_key() {
    assert_eq!(
        error_of("## A\n### b\ntext\n"),
        "2025-q1.md:1: the file must start with a front matter between +++ lines (slug, subject, period, preheader)"
    );
    assert!(
        error_of("+++\nslug = \"x\"\n").starts_with("2025-q1.md:1: the front matter is not closed")
    );
    let missing =
        error_of("+++\nslug = \"2025-q1\"\nsubject = \"S\"\nperiod = \"P\"\n+++\n## A\n### b\nt\n");
    assert!(missing.contains("missing field `preheader`"), "{missing}");
    let unknown = error_of(&FRONT.replace("+++\n## ", "").replacen(
        "preheader",
        "forfatter = \"Ola\"\npreheader",
        1,
    ));
    assert!(
        unknown.starts_with("2025-q1.md:5:") && unknown.contains("unknown field `forfatter`"),
        "{unknown}"
    );
    let bad_toml = error_of("+++\nslug = \"2025-q1\"\nsubject = \"Nyhetsbrev\n+++\n## A\n");
    assert!(
        bad_toml.starts_with("2025-q1.md:3: front matter:"),
        "{bad_toml}"
    );
    let injection = error_of(&FRONT.replace(
        "subject = \"Nyhetsbrev fra KOM\"",
        "subject = \"Hei\\r\\nBcc: x@example.org\"",
    ));
    assert!(
        injection.starts_with("2025-q1.md:3:") && injection.contains("subject must be one line"),
        "{injection}"
    );
    let slug = error_of(&FRONT.replace("2025-q1", "../2025 q1"));
    assert!(slug.contains("slug \"../2025 q1\" must be"), "{slug}");
}

#[test]
fn markdown_errors_name_the_line() {
    let cases = [
        (
            "## Tom\n\n## Neste\n### Sak\nTekst.\n",
            "2025-q1.md:7: section \"Tom\" is empty",
        ),
        (
            "## A\n### Sak\nSe [her](javascript:alert(1)).\n",
            "2025-q1.md:9: the link \"her\" uses javascript",
        ),
        (
            "## A\n### Sak\nSe [her](#).\n",
            "2025-q1.md:9: the link \"her\" points to \"#\"",
        ),
        (
            "## A\n### Sak\nSe [her](ftp://example.org/x).\n",
            "2025-q1.md:9: the link \"her\" uses ftp",
        ),
        (
            "Innledning.\n## A\n### Sak\nT\n",
            "2025-q1.md:7: text before the first ## section",
        ),
        (
            "# Tittel\n## A\n### Sak\nT\n",
            "2025-q1.md:7: # headings are not used",
        ),
        (
            "## A\n### Sak\n#### Under\nT\n",
            "2025-q1.md:9: only ## (sections) and ### (items)",
        ),
        (
            "## A\n### Sak\n![bilde](https://example.org/a.png)\n",
            "2025-q1.md:9: images are not supported",
        ),
        (
            "### Sak\nT\n",
            "2025-q1.md:7: a ### item comes before the first ## section",
        ),
        ("\n", "2025-q1.md:7: the issue has no sections"),
    ];
    for (body, expected) in cases {
        let error = error_of(&format!("{FRONT}{body}"));
        assert!(
            error.starts_with(expected),
            "{body:?}\n  got: {error}\n want: {expected}"
        );
    }
}

#[test]
fn raw_html_is_shown_as_text_with_a_note() {
    let source = format!(
        "{FRONT}## A\n### Sak\nHei <script>alert(1)</script> og <b>fet</b>.\n\n<div onclick=\"x()\">blokk</div>\n"
    );
    let parsed = parse_issue("2025-q1.md", &source).unwrap();
    let lines: Vec<_> = parsed
        .notes
        .iter()
        .map(|n| (n.line, n.kind.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                9,
                "raw HTML is shown as text, not passed through".to_owned()
            ),
            (
                11,
                "raw HTML is shown as text, not passed through".to_owned()
            )
        ]
    );
    let rendered = render(&parsed.issue, &publications::newsletter(), &context()).unwrap();
    let html = rendered.html.fill(&personal());
    assert!(
        !html.contains("<script") && !html.contains("<div onclick"),
        "raw HTML passed through"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(rendered.web.contains("&lt;b&gt;fet&lt;/b&gt;"));
    assert!(
        rendered
            .text
            .fill(&personal())
            .contains("<script>alert(1)</script>"),
        "text shows it literally"
    );
}

#[test]
fn an_oversized_source_is_refused() {
    let huge = format!(
        "{FRONT}## A\n### Sak\n{}\n",
        "x".repeat(nyhetsbrev::render::MAX_SOURCE_BYTES)
    );
    assert!(error_of(&huge).contains("larger than 1024 KiB"));
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let source = "+++\nslug = \"2025 Q1\"\nsubject = \"\"\nperiod = \"januar–mars 2025\"\npreheader = \"P\"\ndate = \"i morgen\"\n+++\nInnledning uten seksjon.\n## Tom\n## A\n### Sak\nSe [her](javascript:alert(1)) og ![bilde](https://example.org/a.png).\n#### Dypt\n";
    let error = parse_issue("2025-q1.md", source).expect_err("refused");
    let found: Vec<(usize, String)> = error
        .problems
        .iter()
        .map(|p| (p.line, p.kind.to_string()))
        .collect();
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [2, 3, 6, 8, 9, 12, 12, 13], "{found:#?}");
    assert!(found[0].1.contains("slug \"2025 Q1\""), "{found:#?}");
    assert_eq!(found[1].1, "front matter: subject is empty");
    assert!(found[2].1.contains("date must be a day"));
    assert!(found[3].1.starts_with("text before the first ## section"));
    assert!(found[4].1.starts_with("section \"Tom\" is empty"));
    assert!(found.iter().any(|(_, m)| m.contains("uses javascript")));
    assert!(
        found
            .iter()
            .any(|(_, m)| m.starts_with("images are not supported"))
    );
    assert!(found[7].1.starts_with("only ## (sections)"));
    // Each is also said in bokmål for the web admin, and the field ones name their field.
    let fields: Vec<Option<&str>> = error.problems.iter().map(|p| p.kind.field()).collect();
    assert_eq!(&fields[..3], [Some("slug"), Some("subject"), Some("date")]);
    assert!(
        error.problems[1]
            .kind
            .norwegian()
            .starts_with("Emnet må fylles ut")
    );
    // The command line prints one line per problem.
    assert_eq!(error.to_string().lines().count(), 8);
}

#[test]
fn form_fields_make_a_source_and_read_back_unchanged() {
    use nyhetsbrev::render::SourceParts;
    let parts = SourceParts {
        slug: "2025-q1".into(),
        subject: "Nyhetsbrev fra KOM, «januar–mars» \"2025\" \\ del 1".into(),
        period: "januar–mars 2025".into(),
        preheader: "Det viktigste = +++ dette kvartalet".into(),
        audience: "Til KOMs samarbeidsaktører".into(),
        date: "2025-04-10".into(),
        publication: "rettsavgjorelser".into(),
        link: String::new(),
        link_text: String::new(),
        body: "## A\n### Sak\nTekst.\n".into(),
    };
    let source = parts.to_source();
    assert_eq!(SourceParts::split(&source).as_ref(), Some(&parts));
    let parsed = parse_issue("skjema", &source).unwrap();
    assert_eq!(parsed.issue.meta.subject, parts.subject);
    assert_eq!(parsed.issue.meta.preheader, parts.preheader);
    assert_eq!(parsed.issue.meta.date.unwrap().to_string(), "2025-04-10");
    assert_eq!(parsed.issue.meta.publication.as_str(), "rettsavgjorelser");
    // A header injection typed into a field stays a problem of that field.
    let injected = SourceParts {
        subject: "Hei\r\nBcc: x@example.org".into(),
        ..parts.clone()
    };
    let error = parse_issue("skjema", &injected.to_source()).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].kind.field(), Some("subject"));
    // Body lines are counted from the body's first line.
    let broken = SourceParts {
        body: "## A\n### Sak\nSe [her](ftp://example.org).\n".into(),
        ..parts
    };
    let error = parse_issue("skjema", &broken.to_source()).unwrap_err();
    assert_eq!(error.problems[0].line - broken.body_line_offset(), 3);
}

const COURT: &str = include_str!("../../examples/2025-04-rettsavgjorelser.md");

/// An announcement (issue 18): the court-decision overview as KOM describes it, a short
/// mail with its paragraphs and one prominent link, no table of contents.
#[test]
fn an_announcement_is_its_paragraphs_and_one_prominent_link() {
    use nyhetsbrev::domain::PublicationKind;
    let parsed =
        nyhetsbrev::render::parse_issue_as("court.md", COURT, PublicationKind::Announcement)
            .unwrap();
    let court = publications::publication(
        "rettsavgjorelser",
        "Oversikt over rettsavgjørelser",
        PublicationKind::Announcement,
    );
    let issue = &parsed.issue;
    assert!(issue.sections.is_empty());
    assert_eq!(issue.intro.len(), 3);
    let link = issue.meta.link.as_ref().unwrap();
    assert_eq!(link.text, "Last ned oversikten (PDF)");
    assert_eq!(issue.links(), [link.url.as_str()]);

    let rendered = render(issue, &court, &context()).unwrap();
    let html = rendered.html.fill(&personal());
    let text = rendered.text.fill(&personal());
    assert!(html.contains(">Oversikt over rettsavgjørelser</h1>"));
    assert!(html.contains("KOMs oversikt over rettsavgjørelser per 30. april 2025</h2>"));
    assert!(html.contains("sammendrag av to fellende lagmannsrettsdommer"));
    assert!(!html.contains("I denne utgaven"), "no table of contents");
    assert!(
        html.contains("href=\"https://example.org/kom/rettsavgjorelser-2025-04-30.pdf\" style=")
            && html.contains(">Last ned oversikten (PDF)</a>"),
        "the prominent link"
    );
    assert!(html.len() < MAX_HTML_BYTES / 4, "a short mail");
    assert!(!text.contains("I denne utgaven"));
    assert!(text.starts_with(
        "Koordineringsenheten mot menneskehandel\n\nOversikt over rettsavgjørelser, per 30. april 2025\n"
    ));
    assert!(text.contains(
        "Last ned oversikten (PDF):\nhttps://example.org/kom/rettsavgjorelser-2025-04-30.pdf\n"
    ));
    assert!(rendered.web.contains("<a class=\"cta\" href=\"https://example.org/kom/rettsavgjorelser-2025-04-30.pdf\">Last ned oversikten (PDF)</a>"));
    assert!(!rendered.web.contains("I denne utgaven"));
}

#[test]
fn an_announcement_needs_its_link_and_a_newsletter_has_none() {
    use nyhetsbrev::domain::PublicationKind::{Announcement, Newsletter};
    use nyhetsbrev::render::{Problem, parse_issue_as};
    let kinds = |source: &str, kind| {
        parse_issue_as("f.md", source, kind)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| (p.line, p.kind))
            .collect::<Vec<_>>()
    };
    let without_link = COURT
        .lines()
        .filter(|l| !l.starts_with("link"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        kinds(&without_link, Announcement),
        [(1, Problem::NoAnnouncementLink)]
    );
    for bad in [
        "rapport.pdf",
        "ftp://example.org/r.pdf",
        "javascript:alert(1)",
    ] {
        let source = COURT.replace(
            "https://example.org/kom/rettsavgjorelser-2025-04-30.pdf",
            bad,
        );
        assert_eq!(
            kinds(&source, Announcement),
            [(9, Problem::BadAnnouncementLink(bad.to_owned()))],
            "{bad}"
        );
    }
    let empty = COURT.split("+++\n\n").next().unwrap().to_owned() + "+++\n";
    assert_eq!(
        kinds(&empty, Announcement),
        [(12, Problem::EmptyAnnouncement)]
    );
    // As a newsletter the same source is refused twice over: it has a link, and text
    // before its first section.
    let problems = kinds(COURT, Newsletter);
    assert!(
        problems.contains(&(9, Problem::LinkInNewsletter)),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|(_, p)| *p == Problem::TextBeforeSection)
    );
}
