//! Packaging on fixture trees built in temporary directories.

use std::io::Read;
use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// (path, mode, uid, gid, mtime, link target) of each archive entry, in order.
fn listing(archive: &[u8]) -> Vec<(String, u32, u64, u64, u64, Option<String>)> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                e.link_name().unwrap().map(|l| l.display().to_string()),
            )
        })
        .collect()
}

fn paths(archive: &[u8]) -> Vec<String> {
    listing(archive).into_iter().map(|e| e.0).collect()
}

#[test]
fn gcloudignore_rules_apply_with_negation_and_include() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Dockerfile", "FROM scratch\n");
    write(root, "app/main.py", "print('hi')\n");
    write(root, "app/secret.env", "K=V\n");
    write(root, "logs/a.log", "x\n");
    write(root, "keep.log", "x\n");
    write(root, "node_modules/x/index.js", "x\n");
    write(root, ".gitignore", "node_modules/\n");
    write(
        root,
        ".gcloudignore",
        "# comment\n*.log\n!keep.log\n*.env\n#!include:.gitignore\n",
    );
    let p = package(root).unwrap();
    assert_eq!(
        paths(&p.archive),
        [
            ".gcloudignore",
            ".gitignore",
            "Dockerfile",
            "app/main.py",
            "keep.log"
        ]
    );
    assert_eq!(p.summary.ignore, ".gcloudignore");
    assert!(p.summary.root_dockerfile);
}

#[test]
fn without_gcloudignore_a_git_checkout_gets_gclouds_default_and_its_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".git/HEAD", "ref: refs/heads/main\n");
    write(root, ".gitignore", "target/\n*.tmp\n");
    write(root, "src/main.rs", "fn main() {}\n");
    write(root, "target/debug/big", "binary\n");
    write(root, "scratch.tmp", "x\n");
    let p = package(root).unwrap();
    assert_eq!(paths(&p.archive), ["src/main.rs"]);
    assert!(p.summary.ignore.contains("patterns of .gitignore"));
    assert!(!p.summary.root_dockerfile);
}

#[test]
fn a_plain_directory_uploads_everything() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", "1");
    write(dir.path(), "b/c", "22");
    let p = package(dir.path()).unwrap();
    assert_eq!(paths(&p.archive), ["a", "b/c"]);
    assert_eq!((p.summary.files, p.summary.bytes), (2, 3));
    assert!(p.summary.ignore.starts_with("none"));
}

#[test]
fn the_archive_is_a_content_address() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    // Written in different orders, at different times.
    write(one.path(), "x/y", "y");
    write(one.path(), "a", "a");
    write(two.path(), "a", "a");
    write(two.path(), "x/y", "y");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(two.path().join("a"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (p1, p2) = (package(one.path()).unwrap(), package(two.path()).unwrap());
    assert_eq!(p1.archive, p2.archive);
    assert_eq!(p1.summary.sha256, p2.summary.sha256);
    assert_eq!(p1.summary.sha256.len(), 64);
    for (_, mode, uid, gid, mtime, _) in listing(&p1.archive) {
        assert_eq!((mode, uid, gid, mtime), (0o644, 0, 0, 0));
    }
    write(two.path(), "a", "b");
    assert_ne!(
        package(two.path()).unwrap().summary.sha256,
        p1.summary.sha256
    );
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_kept_as_links_and_outside_are_left_out() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "credentials.json", "{}");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "bin/run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        root.join("bin/run.sh"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    symlink("bin/run.sh", root.join("start")).unwrap();
    symlink(outside.path().join("credentials.json"), root.join("creds")).unwrap();
    symlink(outside.path(), root.join("elsewhere")).unwrap();
    symlink("missing", root.join("dangling")).unwrap();
    let p = package(root).unwrap();
    let listing = listing(&p.archive);
    assert_eq!(
        listing
            .iter()
            .map(|e| (e.0.as_str(), e.1, e.5.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("bin/run.sh", 0o755, None),
            ("start", 0o755, Some("bin/run.sh"))
        ]
    );
    assert_eq!(p.summary.skipped_links, ["creds", "dangling", "elsewhere"]);
}

#[test]
fn the_summary_lists_the_ten_largest_files() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12 {
        write(dir.path(), &format!("f{i:02}"), &"x".repeat(i + 1));
    }
    let s = package(dir.path()).unwrap().summary;
    assert_eq!(s.files, 12);
    assert_eq!(s.bytes, (1..=12).sum::<u64>());
    let largest: Vec<_> = s
        .largest
        .iter()
        .map(|f| (f.path.as_str(), f.bytes))
        .collect();
    assert_eq!(largest.len(), 10);
    assert_eq!(largest[0], ("f11", 12));
    assert_eq!(largest[9], ("f02", 3));
}

#[test]
fn an_empty_or_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        package(dir.path()),
        Err(SourceError::Empty { .. })
    ));
    assert!(matches!(
        package(&dir.path().join("nope")),
        Err(SourceError::NotADirectory { .. })
    ));
}

#[test]
fn the_head_commit_is_read_from_loose_and_packed_refs() {
    let id = "0123456789abcdef0123456789abcdef01234567";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert_eq!(git::head_commit(root), None);
    write(root, ".git/HEAD", "ref: refs/heads/main\n");
    write(
        root,
        ".git/packed-refs",
        &format!("# pack-refs\n{id} refs/heads/main\n"),
    );
    assert_eq!(git::head_commit(root).as_deref(), Some(id));
    let loose = "89abcdef0123456789abcdef0123456789abcdef";
    write(root, ".git/refs/heads/main", &format!("{loose}\n"));
    assert_eq!(git::head_commit(root).as_deref(), Some(loose));
    write(root, ".git/HEAD", &format!("{id}\n"));
    assert_eq!(git::head_commit(root).as_deref(), Some(id));
}
