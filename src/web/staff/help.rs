//! GET /admin/hjelp: the staff guide (`docs/staff-guide.md`) inside the admin's frame.
//!
//! The guide is part of the binary (`include_str!`), so the page always matches the
//! version that runs. It is rendered once, with pulldown-cmark as issues are: raw HTML
//! in the file is shown as text, and every heading gets the id GitHub gives it, so the
//! guide's table of contents works here and on GitHub alike.

use std::collections::HashMap;
use std::sync::LazyLock;

use askama::Template;
use axum::response::Response;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::guard::StaffUser;
use super::page::{Chrome, render};

/// The guide as written.
const STAFF_GUIDE: &str = include_str!("../../../docs/staff-guide.md");

/// The guide as HTML, made at the first request.
static STAFF_GUIDE_HTML: LazyLock<String> = LazyLock::new(|| guide_html(STAFF_GUIDE));

#[derive(Template)]
#[template(path = "admin/help.html")]
struct HelpPage {
    chrome: Chrome,
    guide: &'static str,
}

/// GET /admin/hjelp
pub async fn show(user: StaffUser) -> Response {
    render(HelpPage {
        chrome: Chrome::new(&user, None),
        guide: STAFF_GUIDE_HTML.as_str(),
    })
}

/// Markdown to HTML: headings with GitHub's ids, raw HTML as text.
pub fn guide_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event> = Vec::new();
    // Where the open heading's start is in `events`, and its text so far.
    let mut heading: Option<(usize, String)> = None;
    let mut taken: HashMap<String, usize> = HashMap::new();
    for event in Parser::new_ext(markdown, options) {
        let event = match event {
            Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
            other => other,
        };
        match &event {
            Event::Start(Tag::Heading { .. }) => heading = Some((events.len(), String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = heading.as_mut() {
                    text.push_str(t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((at, text)) = heading.take()
                    && let Event::Start(Tag::Heading { id, .. }) = &mut events[at]
                {
                    *id = Some(CowStr::from(unique_anchor(&text, &mut taken)));
                }
            }
            _ => {}
        }
        events.push(event);
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// GitHub's anchor for a heading: lower case; letters, digits, `-` and `_` kept;
/// spaces become `-`; anything else dropped. A repeated one gets `-1`, `-2`, ….
fn unique_anchor(text: &str, taken: &mut HashMap<String, usize>) -> String {
    let anchor: String = text
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect();
    let seen = taken.entry(anchor.clone()).or_insert(0);
    let unique = if *seen == 0 {
        anchor
    } else {
        format!("{anchor}-{seen}")
    };
    *seen += 1;
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_githubs_anchors_and_raw_html_is_text() {
        let html = guide_html(
            "# Hjelp\n\n[Til sending](#sende-en-utgave-æøå)\n\n## Sende en utgave: «æøå»\n\n\
             ## Sende en utgave: «æøå»\n\n<script>alert(1)</script>\n\nTekst <b>fet</b>.\n",
        );
        assert!(html.contains(r#"<h1 id="hjelp">Hjelp</h1>"#), "{html}");
        assert!(html.contains(r#"<h2 id="sende-en-utgave-æøå">"#), "{html}");
        assert!(
            html.contains(r#"<h2 id="sende-en-utgave-æøå-1">"#),
            "{html}"
        );
        // The link is percent-encoded; browsers decode a fragment before matching ids.
        assert!(html.contains(r##"<a href="#sende-en-utgave-%C3%A6%C3%B8%C3%A5">"##));
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn every_link_in_the_staff_guides_contents_finds_its_heading() {
        let html = guide_html(STAFF_GUIDE);
        let targets: Vec<String> = html
            .split(r##"href="#"##)
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .map(|target| crate::config::percent_decode(target).expect("a fragment"))
            .collect();
        assert!(targets.len() > 10, "the guide has a table of contents");
        for target in targets {
            assert!(
                html.contains(&format!(r#" id="{target}""#)),
                "no heading for #{target}"
            );
        }
    }
}
