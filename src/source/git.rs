//! The commit a checkout is at, read from `.git` without running git: an
//! image tag when known. `HEAD` is a commit id, or `ref: refs/heads/X`
//! resolved through the loose ref file or `packed-refs`; a `.git` file
//! (worktrees, submodules) points to the real git directory with `gitdir:`,
//! and refs may then live in its `commondir`. Anything else: unknown.

use std::path::{Path, PathBuf};

/// The 40-hex commit id `dir`'s checkout is at, when it can be read.
pub(crate) fn head_commit(dir: &Path) -> Option<String> {
    let git_dir = git_dir(dir)?;
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:") else {
        return commit_id(head);
    };
    let reference = reference.trim();
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for base in [&git_dir, &common] {
        if let Ok(id) = std::fs::read_to_string(base.join(reference)) {
            return commit_id(id.trim());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name.trim() == reference).then(|| commit_id(id)).flatten()
    })
}

fn git_dir(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    Some(dir.join(target))
}

fn commit_id(s: &str) -> Option<String> {
    (s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}
