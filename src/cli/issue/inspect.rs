//! `issue list`, `show`, `render`, `preview` and `links`: reading an issue.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;

use super::slug;
use crate::config::Settings;
use crate::domain::{Inline, Slug};
use crate::ops::Issues;

/// `issue list`: newest first.
pub(super) async fn list(ops: &Issues, json: bool) -> anyhow::Result<()> {
    let issues = ops.list().await?;
    if json {
        let list: Vec<_> = issues
            .iter()
            .map(|i| {
                json!({ "slug": i.slug.as_str(), "status": i.status.as_str(), "subject": i.subject,
                "period": i.period, "updated_at": i.updated_at, "sent_at": i.sent_at })
            })
            .collect();
        out!("{}", serde_json::Value::Array(list));
    } else {
        out!("{:<12}  {:<9}  SUBJECT", "SLUG", "STATUS");
        for i in &issues {
            out!(
                "{:<12}  {:<9}  {}",
                i.slug.as_str(),
                i.status.as_str(),
                i.subject
            );
        }
    }
    Ok(())
}

/// `issue show`: status and outline, or the Markdown source.
pub(super) async fn show(ops: &Issues, slug: &Slug, source: bool) -> anyhow::Result<()> {
    let (stored, issue) = ops.get(slug).await?;
    if source {
        print!("{}", stored.source);
        io::stdout().flush()?;
        return Ok(());
    }
    out!("slug:      {}", stored.slug);
    out!("publication: {}", issue.meta.publication);
    out!("status:    {}", stored.status);
    out!("subject:   {}", issue.meta.subject);
    out!("period:    {}", issue.meta.period);
    out!("preheader: {}", issue.meta.preheader);
    out!("updated:   {}", stored.updated_at);
    if let Some(link) = &issue.meta.link {
        out!("link:      {} <{}>", link.text, link.url);
    }
    for section in &issue.sections {
        out!("\n## {}", section.title);
        for item in &section.items {
            out!("   ### {}", Inline::plain(&item.title));
        }
    }
    Ok(())
}

/// `issue render`: the mail's parts to files.
pub(super) async fn render(
    ops: &Issues,
    raw: &str,
    html: Option<PathBuf>,
    text: Option<PathBuf>,
) -> anyhow::Result<()> {
    if html.is_none() && text.is_none() {
        bail!("say where to write: --html FILE and/or --text FILE");
    }
    let preview = ops.preview(&slug(raw)?).await?;
    for (path, part) in [(html, &preview.html), (text, &preview.text)] {
        if let Some(path) = path {
            std::fs::write(&path, part)
                .with_context(|| format!("could not write {}", path.display()))?;
            out!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// `issue preview`: both parts and the web version to a folder.
pub(super) async fn preview(ops: &Issues, slug: &Slug, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let preview = ops.preview(slug).await?;
    let dir = dir.unwrap_or_else(|| Path::new("preview").join(preview.stored.slug.as_str()));
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let files = [
        ("e-post.html", &preview.html),
        ("e-post.txt", &preview.text),
        ("nettversjon.html", &preview.web),
    ];
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content)
            .with_context(|| format!("could not write {}", path.display()))?;
        out!("{}", path.display());
    }
    Ok(())
}

/// `issue links`: every link fetched; an error when any is broken.
pub(super) async fn links(
    ops: &Issues,
    settings: &Settings,
    slug: &Slug,
    json: bool,
) -> anyhow::Result<()> {
    let (stored, issue) = ops.get(slug).await?;
    let checker = crate::ops::LinkChecker::new(settings.link_check_allow_private);
    let started = std::time::Instant::now();
    let reports = checker
        .check_issue(
            &issue,
            (stored.slug.to_string(), stored.updated_at.unix_ms()),
            true,
        )
        .await;
    let broken: Vec<_> = reports.iter().filter(|r| r.state.is_broken()).collect();
    if json {
        let list: Vec<_> = reports
            .iter()
            .map(|r| json!({ "url": r.url, "places": r.places, "state": format!("{:?}", r.state), "broken": r.state.is_broken() }))
            .collect();
        out!("{}", serde_json::Value::Array(list));
    } else {
        for report in &broken {
            out!(
                "broken: {} in {}: {:?}",
                report.url,
                report.places.join(", "),
                report.state
            );
        }
        out!(
            "{} links checked in {:.2} s, {} broken",
            reports.len(),
            started.elapsed().as_secs_f64(),
            broken.len()
        );
    }
    if !broken.is_empty() {
        bail!("{} of {} links are broken", broken.len(), reports.len());
    }
    Ok(())
}
