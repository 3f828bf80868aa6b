//! HTML: the mail (table layout, inline CSS) and the web version.

use askama::Template;

use super::{RenderContext, RenderError, Slot};
use crate::domain::{
    Block, EmailAddress, FooterBlock, FooterText, Inline, Issue, Publication, PublicationKind,
};

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn inlines(list: &[Inline], out: &mut String) {
    for inline in list {
        match inline {
            Inline::Text(t) => escape(t, out),
            Inline::Code(t) => {
                out.push_str("<code>");
                escape(t, out);
                out.push_str("</code>");
            }
            Inline::Strong(c) => wrap("strong", c, out),
            Inline::Emphasis(c) => wrap("em", c, out),
            Inline::Strikethrough(c) => wrap("s", c, out),
            Inline::Link { url, children } => {
                out.push_str("<a href=\"");
                escape(url, out);
                out.push_str("\">");
                inlines(children, out);
                out.push_str("</a>");
            }
            Inline::LineBreak => out.push_str("<br>"),
        }
    }
}

fn wrap(tag: &str, children: &[Inline], out: &mut String) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    inlines(children, out);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn blocks(list: &[Block], out: &mut String) {
    for block in list {
        match block {
            Block::Paragraph(i) => {
                out.push_str("<p>");
                inlines(i, out);
                out.push_str("</p>\n");
            }
            Block::List {
                ordered,
                start,
                items,
            } => {
                match (ordered, start) {
                    (true, 1) => out.push_str("<ol>\n"),
                    (true, n) => out.push_str(&format!("<ol start=\"{n}\">\n")),
                    (false, _) => out.push_str("<ul>\n"),
                }
                for item in items {
                    out.push_str("<li>");
                    // A one-paragraph item is written without <p>, as mail clients add
                    // space around paragraphs inside list items.
                    match item.as_slice() {
                        [Block::Paragraph(i)] => inlines(i, out),
                        other => blocks(other, out),
                    }
                    out.push_str("</li>\n");
                }
                out.push_str(if *ordered { "</ol>\n" } else { "</ul>\n" });
            }
            Block::Quote(b) => {
                out.push_str("<blockquote>\n");
                blocks(b, out);
                out.push_str("</blockquote>\n");
            }
            Block::Table { head, rows } => {
                out.push_str("<table class=\"data\" role=\"table\">\n<thead><tr>");
                for cell in head {
                    out.push_str("<th scope=\"col\">");
                    inlines(cell, out);
                    out.push_str("</th>");
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str("<td>");
                        inlines(cell, out);
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Preformatted(t) => {
                out.push_str("<pre>");
                escape(t, out);
                out.push_str("</pre>\n");
            }
        }
    }
}

/// A section, pre-rendered for the templates.
struct SectionView {
    title: String,
    anchor: String,
    intro_html: String,
    items: Vec<ItemView>,
}

struct ItemView {
    title_html: String,
    body_html: String,
}

/// An announcement's paragraphs before any section.
fn intro_html(issue: &Issue) -> String {
    let mut out = String::new();
    blocks(&issue.intro, &mut out);
    out
}

fn sections(issue: &Issue) -> Vec<SectionView> {
    issue
        .sections
        .iter()
        .map(|section| {
            let mut intro_html = String::new();
            blocks(&section.intro, &mut intro_html);
            SectionView {
                title: section.title.clone(),
                anchor: section.anchor.clone(),
                intro_html,
                items: section
                    .items
                    .iter()
                    .map(|item| {
                        let mut title_html = String::new();
                        inlines(&item.title, &mut title_html);
                        let mut body_html = String::new();
                        blocks(&item.blocks, &mut body_html);
                        ItemView {
                            title_html,
                            body_html,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A footer part as HTML: its paragraphs and lists, web and e-mail addresses as links.
fn footer_html(text: &FooterText) -> String {
    let mut out = String::new();
    for block in text.blocks() {
        match block {
            FooterBlock::Paragraph(p) => {
                out.push_str("<p>");
                linked(&p, &mut out);
                out.push_str("</p>\n");
            }
            FooterBlock::List(points) => {
                out.push_str("<ul>\n");
                for point in points {
                    out.push_str("<li>");
                    linked(&point, &mut out);
                    out.push_str("</li>\n");
                }
                out.push_str("</ul>\n");
            }
        }
    }
    out
}

/// Text with each word that is a web address or an e-mail address made a link; the
/// punctuation around it stays outside.
fn linked(text: &str, out: &mut String) {
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = word
            .trim_start_matches(['(', '«', '<'])
            .trim_end_matches(['.', ',', ';', ':', ')', '»', '>', '!', '?']);
        let start = word.find(core).unwrap_or(0);
        let (before, rest) = word.split_at(start);
        let after = &rest[core.len()..];
        let href =
            if (core.starts_with("https://") || core.starts_with("http://")) && core.len() > 8 {
                Some(core.to_owned())
            } else if core.contains('@') && EmailAddress::parse(core).is_ok() {
                Some(format!("mailto:{core}"))
            } else {
                None
            };
        match href {
            Some(href) => {
                escape(before, out);
                out.push_str("<a href=\"");
                escape(&href, out);
                out.push_str("\">");
                escape(core, out);
                out.push_str("</a>");
                escape(after, out);
            }
            None => escape(word, out),
        }
    }
}

/// The footer's three parts as HTML, and the names around them.
struct FooterView {
    contact: String,
    about: String,
    join: String,
    organisation: String,
    short_name: String,
}

impl FooterView {
    fn of(publication: &Publication, context: &RenderContext) -> Self {
        let texts = context.footer(publication);
        FooterView {
            contact: footer_html(&texts.contact),
            about: footer_html(&texts.about),
            join: footer_html(&texts.join),
            organisation: context.organisation_name.clone(),
            short_name: context.organisation_short_name.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "mail/issue.html")]
struct MailTemplate<'a> {
    issue: &'a Issue,
    publication: &'a str,
    /// An announcement: no table of contents; paragraphs and one prominent link.
    announcement: bool,
    intro_html: String,
    sections: Vec<SectionView>,
    web_url: String,
    footer: FooterView,
    email: &'static str,
    unsubscribe_url: &'static str,
    preferences_url: &'static str,
}

#[derive(Template)]
#[template(path = "web/issue.html")]
struct WebTemplate<'a> {
    issue: &'a Issue,
    publication: &'a str,
    announcement: bool,
    intro_html: String,
    sections: Vec<SectionView>,
    footer: FooterView,
}

/// The HTML mail, CSS inlined, with slot markers for the personal parts.
pub(super) fn mail(
    issue: &Issue,
    publication: &Publication,
    context: &RenderContext,
) -> Result<String, RenderError> {
    let page = MailTemplate {
        issue,
        publication: publication.name.as_str(),
        announcement: publication.kind == PublicationKind::Announcement,
        intro_html: intro_html(issue),
        sections: sections(issue),
        web_url: context.web_url(issue),
        footer: FooterView::of(publication, context),
        email: Slot::Email.marker(),
        unsubscribe_url: Slot::UnsubscribeUrl.marker(),
        preferences_url: Slot::PreferencesUrl.marker(),
    }
    .render()?;
    // Mail clients drop <style> blocks or parts of them; only what cannot be inline
    // (media queries: small screens, dark mode) stays in one.
    css_inline::CSSInliner::options()
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build()
        .inline(&page)
        .map_err(|e| RenderError::Css(e.to_string()))
}

pub(super) fn web(
    issue: &Issue,
    publication: &Publication,
    context: &RenderContext,
) -> Result<String, RenderError> {
    Ok(WebTemplate {
        issue,
        publication: publication.name.as_str(),
        announcement: publication.kind == PublicationKind::Announcement,
        intro_html: intro_html(issue),
        sections: sections(issue),
        footer: FooterView::of(publication, context),
    }
    .render()?)
}
