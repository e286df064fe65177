//! gcloud's rules for which files of a directory are uploaded
//! (gcloud 578.0.0 `command_lib/util/gcloudignore.py`; `gcloud topic
//! gcloudignore`): gitignore syntax, matched by the `ignore` crate's
//! gitignore matcher, plus gcloud's `#!include:FILE` directive, which adds
//! the patterns of FILE (relative to the directory) in its place. As in
//! gcloud, an included file's own `#!include:` lines are plain comments.

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::SourceError;

/// gcloud's ignore file name.
pub(crate) const GCLOUDIGNORE: &str = ".gcloudignore";
const INCLUDE: &str = "#!include:";

/// gcloud's default when the directory has no `.gcloudignore` but is a git
/// checkout (`.git` or `.gitignore` exists); `#!include:.gitignore` is added
/// when `.gitignore` exists.
const GIT_DEFAULT: &[&str] = &[".gcloudignore", ".git", ".gitignore"];

/// Where the rules came from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    GcloudIgnore,
    GitDefault { gitignore: bool },
    Nothing,
}

pub(crate) struct Rules {
    origin: Origin,
    matcher: Option<Gitignore>,
}

impl Rules {
    /// The rules gcloud would apply to `dir`.
    pub(crate) fn for_dir(dir: &Path) -> Result<Rules, SourceError> {
        let own = dir.join(GCLOUDIGNORE);
        let (origin, lines) = if own.is_file() {
            (Origin::GcloudIgnore, read_lines(&own)?)
        } else if dir.join(".git").exists() || dir.join(".gitignore").exists() {
            let gitignore = dir.join(".gitignore").is_file();
            let mut lines: Vec<String> = GIT_DEFAULT.iter().map(|s| s.to_string()).collect();
            if gitignore {
                lines.push(format!("{INCLUDE}.gitignore"));
            }
            (Origin::GitDefault { gitignore }, lines)
        } else {
            return Ok(Rules {
                origin: Origin::Nothing,
                matcher: None,
            });
        };
        let mut builder = GitignoreBuilder::new(dir);
        for line in &lines {
            match line.strip_prefix(INCLUDE) {
                Some(file) => {
                    let path = dir.join(file.trim());
                    for included in read_lines(&path)? {
                        add(&mut builder, &path, &included)?;
                    }
                }
                None => add(&mut builder, &own, line)?,
            }
        }
        let matcher = builder.build().map_err(|e| SourceError::IgnoreFile {
            path: own.clone(),
            message: e.to_string(),
        })?;
        Ok(Rules {
            origin,
            matcher: Some(matcher),
        })
    }

    /// Whether `rel` (a `/`-separated path relative to the directory) is left out.
    pub(crate) fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|m| m.matched(rel, is_dir).is_ignore())
    }

    /// The rules in words, for the summary.
    pub(crate) fn describe(&self) -> String {
        match self.origin {
            Origin::GcloudIgnore => ".gcloudignore".into(),
            Origin::GitDefault { gitignore: true } => {
                "gcloud's default for git checkouts (.git, .gitignore, .gcloudignore and the \
                 patterns of .gitignore)"
                    .into()
            }
            Origin::GitDefault { gitignore: false } => {
                "gcloud's default for git checkouts (.git, .gitignore, .gcloudignore)".into()
            }
            Origin::Nothing => "none (no .gcloudignore, not a git checkout)".into(),
        }
    }
}

fn add(builder: &mut GitignoreBuilder, from: &Path, line: &str) -> Result<(), SourceError> {
    builder
        .add_line(Some(from.to_path_buf()), line)
        .map(|_| ())
        .map_err(|e| SourceError::IgnoreFile {
            path: from.to_path_buf(),
            message: e.to_string(),
        })
}

fn read_lines(path: &Path) -> Result<Vec<String>, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|cause| SourceError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(text.lines().map(str::to_owned).collect())
}
