//! `issue import`: a Markdown file with its front matter, or a Word document.

use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, bail};

use crate::ops::{IssueError, Issues};
use crate::render::MAX_SOURCE_BYTES;
use crate::store::{Actor, DraftSaved};

/// `issue import FILE`: a Word document by its first bytes, else Markdown.
pub(super) async fn import(
    ops: &Issues,
    file: &Path,
    word: super::WordOptions,
    actor: &Actor,
) -> anyhow::Result<()> {
    let label = file.display().to_string();
    let head = read_head(file)?;
    if crate::docx::is_word_document(&file.to_string_lossy(), &head) {
        return import_word(ops, file, word, actor).await;
    }
    if word.any() {
        bail!(
            "--slug, --subject, --period, --preheader, --audience, --date, --publication, --accept-changes and --markdown are for Word documents: {label} is a Markdown file, whose front matter says these"
        );
    }
    let source = read_source(file)?;
    let imported = ops.import_draft(&label, &source, actor).await?;
    for note in &imported.notes {
        eprintln!("{label}:{note}");
    }
    let (verb, outline) = saved_draft(&imported);
    out!("{verb} draft {} ({outline})", imported.issue.meta.slug);
    Ok(())
}

/// "imported" or "updated", and the draft's outline: sections, items, links, HTML size.
fn saved_draft(draft: &crate::ops::DraftImported) -> (&'static str, String) {
    let verb = if draft.saved == DraftSaved::Created {
        "imported"
    } else {
        "updated"
    };
    let outline = format!(
        "{} sections, {} items, {} links, HTML {} KB",
        draft.issue.sections.len(),
        draft.items(),
        draft.issue.links().len(),
        draft.html_bytes.div_ceil(1024)
    );
    (verb, outline)
}

/// The first bytes of a file, to tell a Word document from Markdown.
fn read_head(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut head = Vec::with_capacity(8);
    file.take(8)
        .read_to_end(&mut head)
        .with_context(|| format!("could not read {}", path.display()))?;
    Ok(head)
}

/// A Word document's bytes, refusing one too large before reading it whole (a file that
/// grows while read is caught by the bytes read).
fn read_docx(file: &Path) -> anyhow::Result<Vec<u8>> {
    let label = file.display().to_string();
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let max = crate::docx::MAX_DOCX_BYTES as u64;
    let bytes = if size > max {
        Vec::new()
    } else {
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
            .with_context(|| format!("could not read {label}"))?;
        bytes
    };
    if size > max || bytes.len() as u64 > max {
        return Err(IssueError::Docx {
            label,
            error: crate::docx::DocxError::TooLarge {
                size: size.max(bytes.len() as u64) as usize,
            },
        }
        .into());
    }
    Ok(bytes)
}

async fn import_word(
    ops: &Issues,
    file: &Path,
    word: super::WordOptions,
    actor: &Actor,
) -> anyhow::Result<()> {
    let label = file.display().to_string();
    let bytes = read_docx(file)?;
    let options = crate::docx::DocxOptions {
        slug: word.slug,
        subject: word.subject,
        period: word.period,
        preheader: word.preheader,
        audience: word.audience,
        date: word.date,
        publication: word.publication,
        accept_changes: word.accept_changes,
        file_name: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let write_markdown = |source: &str| -> anyhow::Result<()> {
        if let Some(path) = &word.markdown {
            std::fs::write(path, source)
                .with_context(|| format!("could not write {}", path.display()))?;
            eprintln!("wrote the Markdown to {}", path.display());
        }
        Ok(())
    };
    match ops.import_docx(&label, bytes, options, actor).await {
        Ok(imported) => {
            let stored = ops.get(&imported.draft.issue.meta.slug).await?.0;
            write_markdown(&stored.source)?;
            for omission in &imported.report {
                eprintln!("{label}: {omission}");
            }
            let (verb, outline) = saved_draft(&imported.draft);
            out!(
                "{verb} draft {} from Word ({outline}; {} things not carried over)",
                imported.draft.issue.meta.slug,
                imported.report.len()
            );
            out!(
                "its Markdown: `nyhetsbrev issue show {} --source`",
                imported.draft.issue.meta.slug
            );
            Ok(())
        }
        Err(IssueError::ConvertedWithProblems { converted, error }) => {
            write_markdown(&converted.source)?;
            let problems: Vec<String> = error
                .problems
                .iter()
                .map(|p| format!("{label} (as Markdown, line {}): {}", p.line, p.kind))
                .collect();
            bail!(
                "{}\nnothing was stored: give what is missing with --slug, --subject, --period or --preheader, mend the document, or see the Markdown with --markdown FILE",
                problems.join("\n")
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads an issue file, refusing one too large to be an issue before reading it whole
/// (the operation checks the size and the encoding again, for every front end).
fn read_source(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > MAX_SOURCE_BYTES as u64 {
        return Err(IssueError::SourceTooLarge {
            label: path.display().to_string(),
            size: (size / 1024) as usize,
        }
        .into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read {}", path.display()))?;
    Ok(bytes)
}
