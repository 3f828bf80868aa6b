//! The documents agree with the program and with each other: the README's test command
//! is where CI reads it, every setting is in the operator guide, and every link between
//! the README, ARCHITECTURE.md and the guides in docs/ finds its file and its heading
//! (by the anchor GitHub gives a heading, which the admin's «Hjelp» page gives too).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use nyhetsbrev::config::KEYS;

const DOCUMENTS: &[&str] = &[
    "README.md",
    "ARCHITECTURE.md",
    "docs/operator-guide.md",
    "docs/authoring-guide.md",
    "docs/staff-guide.md",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// GitHub's anchor for a heading: lower case; letters, digits, `-` and `_` kept; spaces
/// become `-`; the rest dropped; a repeated one gets `-1`, `-2`, ….
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in prose_lines(text) {
        let Some(title) = line
            .strip_prefix('#')
            .map(|rest| rest.trim_start_matches('#'))
            .and_then(|rest| rest.strip_prefix(' '))
        else {
            continue;
        };
        let title = title.replace('`', "");
        let base: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// Every `](target)` of a Markdown text outside code: the link targets.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(text) {
        // Inline code is not a link.
        let line: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        for piece in line.split("](").skip(1) {
            if let Some(end) = piece.find(')') {
                targets.push(piece[..end].to_owned());
            }
        }
    }
    targets
}

#[test]
fn the_readme_gives_the_test_command_where_ci_reads_it() {
    let readme = read(&root().join("README.md"));
    let between: Vec<&str> = readme
        .split("<!-- test-command -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /test-command -->").next())
        .expect("the README has its test-command markers")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("```"))
        .collect();
    assert_eq!(between, ["cargo xtask test"]);
    let ci = read(&root().join(".ci/run"));
    assert!(ci.contains("<!-- test-command -->") && ci.contains("README.md"));
}

#[test]
fn the_operator_guide_names_every_setting() {
    let guide = read(&root().join("docs/operator-guide.md"));
    let in_a_table = |key: &str| {
        guide
            .lines()
            .filter(|line| line.starts_with("| `"))
            .any(|line| {
                line.split('|')
                    .nth(1)
                    .is_some_and(|cell| cell.contains(&format!("`{key}`")))
            })
    };
    let missing: Vec<_> = KEYS.iter().filter(|key| !in_a_table(key)).collect();
    assert!(
        missing.is_empty(),
        "not in the operator guide's settings: {missing:?}"
    );
}

#[test]
fn every_link_between_the_documents_finds_its_file_and_heading() {
    let mut broken = Vec::new();
    for document in DOCUMENTS {
        let path = root().join(document);
        let text = read(&path);
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked: PathBuf = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            if !linked.exists() {
                broken.push(format!("{document}: {target} (no such file)"));
                continue;
            }
            if let Some(fragment) = fragment
                && !anchors(&read(&linked)).contains(fragment)
            {
                broken.push(format!("{document}: {target} (no such heading)"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}
