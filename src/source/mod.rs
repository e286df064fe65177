//! Packaging a source directory for a build, as `gcloud run deploy --source`
//! does, but reproducibly.
//!
//! - Which files: gcloud's ignore rules ([`rules`]): `.gcloudignore` when the
//!   directory has one; else, when `.git` or `.gitignore` exist, gcloud's
//!   default (`.gcloudignore`, `.git`, `.gitignore` and `#!include:.gitignore`);
//!   else every file (gcloud 578.0.0 `command_lib/util/gcloudignore.py`). An
//!   ignored directory is not entered, so, as in git, nothing under it can be
//!   re-included.
//! - Symlinks are never followed. A link whose target stays inside the tree
//!   is archived as a link (the build sees the same tree); a link that points
//!   out of it, or nowhere, is left out with a warning: following it would
//!   upload files from outside the directory that was asked for.
//! - The archive ([`archive`]) is a tar.gz with sorted paths, zeroed times,
//!   uid/gid 0 and normalised modes, so its SHA-256 depends only on the
//!   content: the object name in the staging bucket, and why an unchanged tree
//!   is uploaded once.
//!
//! Packaging is pure apart from reading the directory; `build.rs` does the
//! uploads and the build through `gcp`.

mod archive;
pub(crate) mod build;
pub(crate) mod git;
mod rules;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) use rules::Rules;

/// How many of the largest files a summary lists.
const LARGEST: usize = 10;

/// A packaged source tree: the archive and what it holds.
pub(crate) struct Package {
    pub(crate) archive: Vec<u8>,
    pub(crate) summary: Summary,
}

/// What would be uploaded: shown by `plan --source`, part of the plan's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// The directory, as given.
    pub(crate) dir: String,
    /// Which ignore rules applied, in words.
    pub(crate) ignore: String,
    pub(crate) files: usize,
    /// Total size of the files, uncompressed.
    pub(crate) bytes: u64,
    pub(crate) archive_bytes: u64,
    /// SHA-256 of the archive, hex.
    pub(crate) sha256: String,
    /// The largest files, largest first (ties by path).
    pub(crate) largest: Vec<FileSize>,
    /// Symlinks left out because they point outside the tree (or nowhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) skipped_links: Vec<String>,
    /// Whether the tree has a `Dockerfile` at its root.
    pub(crate) root_dockerfile: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSize {
    pub(crate) path: String,
    pub(crate) bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error("the source directory `{}` does not exist or is not a directory", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("`{}`: {message}", path.display())]
    IgnoreFile { path: PathBuf, message: String },
    #[error("`{}` has a name that is not UTF-8; the archive cannot hold it portably", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("the source directory `{}` has no files to upload after its ignore rules", dir.display())]
    Empty { dir: PathBuf },
}

/// One entry of the tree, after the ignore rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    File {
        path: String,
        bytes: u64,
        executable: bool,
    },
    /// A link that stays inside the tree, with its target as written.
    Link { path: String, target: String },
}

impl Entry {
    fn path(&self) -> &str {
        match self {
            Entry::File { path, .. } | Entry::Link { path, .. } => path,
        }
    }
}

/// Package `dir`: select its files, archive them, summarise.
pub(crate) fn package(dir: &Path) -> Result<Package, SourceError> {
    if !dir.is_dir() {
        return Err(SourceError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let rules = Rules::for_dir(dir)?;
    let (entries, skipped_links) = select(dir, &rules)?;
    if entries.is_empty() {
        return Err(SourceError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    let archive = archive::tar_gz(dir, &entries)?;
    let mut files: Vec<FileSize> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::File { path, bytes, .. } => Some(FileSize {
                path: path.clone(),
                bytes: *bytes,
            }),
            Entry::Link { .. } => None,
        })
        .collect();
    let bytes = files.iter().map(|f| f.bytes).sum();
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    files.truncate(LARGEST);
    let summary = Summary {
        dir: dir.display().to_string(),
        ignore: rules.describe(),
        files: entries.len(),
        bytes,
        archive_bytes: archive.len() as u64,
        sha256: hex(&Sha256::digest(&archive)),
        largest: files,
        skipped_links,
        root_dockerfile: entries
            .iter()
            .any(|e| matches!(e, Entry::File { path, .. } if path == "Dockerfile")),
    };
    Ok(Package { archive, summary })
}

/// Package `dir` for `env`'s service and say where it goes and how it is
/// built.
pub(crate) fn prepare(
    env: &crate::config::Environment,
    dir: &Path,
) -> Result<(Package, build::SourcePlan), SourceError> {
    let package = package(dir)?;
    let plan = build::SourcePlan::new(env, &package, git::head_commit(dir));
    Ok((package, plan))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Walk `root` in sorted order, applying `rules`; symlinks are classified,
/// never followed.
pub(crate) fn select(root: &Path, rules: &Rules) -> Result<(Vec<Entry>, Vec<String>), SourceError> {
    let canonical_root = root.canonicalize().map_err(|cause| SourceError::Read {
        path: root.to_path_buf(),
        cause,
    })?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let read = |cause| SourceError::Read {
            path: dir.clone(),
            cause,
        };
        let mut children: Vec<(String, PathBuf)> = Vec::new();
        for child in std::fs::read_dir(&dir).map_err(read)? {
            let child = child.map_err(read)?;
            let name = child
                .file_name()
                .into_string()
                .map_err(|_| SourceError::NotUtf8 { path: child.path() })?;
            children.push((name, child.path()));
        }
        children.sort();
        // Directories are pushed in reverse so that the walk stays sorted.
        let mut subdirs = Vec::new();
        for (name, path) in children {
            let rel = format!("{prefix}{name}");
            let meta = std::fs::symlink_metadata(&path).map_err(|cause| SourceError::Read {
                path: path.clone(),
                cause,
            })?;
            let kind = meta.file_type();
            if rules.ignored(&rel, kind.is_dir()) {
                continue;
            }
            if kind.is_symlink() {
                match link_inside(&canonical_root, &path) {
                    Some(target) => entries.push(Entry::Link { path: rel, target }),
                    None => skipped.push(rel),
                }
            } else if kind.is_dir() {
                subdirs.push((path, format!("{rel}/")));
            } else if kind.is_file() {
                entries.push(Entry::File {
                    path: rel,
                    bytes: meta.len(),
                    executable: executable(&meta),
                });
            }
            // Sockets, fifos and devices are not source.
        }
        stack.extend(subdirs.into_iter().rev());
    }
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    Ok((entries, skipped))
}

/// The link's target as written, when it resolves inside `root`.
fn link_inside(root: &Path, link: &Path) -> Option<String> {
    let target = std::fs::read_link(link).ok()?;
    let resolved = link.canonicalize().ok()?;
    let text = target.to_str()?.to_owned();
    resolved.starts_with(root).then_some(text)
}

#[cfg(unix)]
fn executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    false
}
