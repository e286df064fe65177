//! The documentation's links: every relative link and `#anchor` in `README.md`,
//! `docs/*.md` and the crates' READMEs must resolve, so moving a section cannot
//! leave a dead link behind. Anchors are GitHub's heading slugs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files checked: the front door, `docs/`, and the other READMEs.
fn markdown_files() -> Vec<PathBuf> {
    let root = repo();
    let mut files = vec![
        root.join("README.md"),
        root.join("emulator/README.md"),
        root.join("emulator/discovery/README.md"),
        root.join("src/config/README.md"),
    ];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The lines outside fenced code blocks, where links are links.
fn prose(text: &str) -> Vec<&str> {
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

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other
/// than `-` and `_` dropped (code spans keep their text).
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Every anchor a file defines; a repeated heading gets `-1`, `-2`, ... as on GitHub.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in prose(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#'));
        let mut candidate = base.clone();
        let mut n = 0;
        while !seen.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
    }
    seen
}

/// The targets of the inline links `[text](target)` in prose, code spans excluded.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        // Drop code spans: `[a](b)` inside backticks is not a link.
        let plain: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

/// Why `target`, linked from `file`, does not resolve; `None` when it does.
fn broken(file: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let dest = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().expect("a file has a directory").join(path)
    };
    if !dest.exists() {
        return Some(format!("{} does not exist", dest.display()));
    }
    let anchor = anchor?;
    let text = std::fs::read_to_string(&dest).ok()?;
    (!anchors(&text).contains(anchor))
        .then(|| format!("no heading with anchor #{anchor} in {}", dest.display()))
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for target in links(&text) {
            checked += 1;
            if let Some(why) = broken(&file, &target) {
                problems.push(format!("{}: ({target}): {why}", file.display()));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readme_is_a_front_door_of_at_most_10_kb() {
    let size = std::fs::metadata(repo().join("README.md"))
        .expect("README.md")
        .len();
    assert!(size <= 10 * 1024, "README.md is {size} bytes");
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("The JSON output (`schema_version` 1)"),
        "the-json-output-schema_version-1"
    );
    assert_eq!(
        slug("What `deploy` does, in order"),
        "what-deploy-does-in-order"
    );
    assert_eq!(
        slug("One-off env vars: `--set-env`"),
        "one-off-env-vars---set-env"
    );
    let twice = anchors("# A\n## A\n```\n# not a heading\n```\n");
    assert_eq!(twice, HashSet::from(["a".to_string(), "a-1".to_string()]));
}

#[test]
fn a_dead_link_and_a_dead_anchor_are_found() {
    let readme = repo().join("README.md");
    assert!(broken(&readme, "docs/nowhere.md").is_some());
    assert!(broken(&readme, "docs/plans.md#no-such-heading").is_some());
    assert!(broken(&readme, "docs/plans.md#saved-plans").is_none());
    assert!(broken(&readme, "#exit-codes").is_none());
    assert_eq!(
        links("see [a](b.md#c) and `[x](y)` and https://x.y"),
        vec!["b.md#c".to_string()]
    );
}
