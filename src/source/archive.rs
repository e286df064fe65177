//! The deterministic tar.gz: the same tree gives the same bytes, so the
//! archive's SHA-256 is a content address. Entries in path order; mtime 0,
//! uid/gid 0, no user or group names; mode 0755 for executables and links,
//! 0644 otherwise; the gzip header carries no name and time 0.

use std::io::Write;
use std::path::Path;

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};

use super::{Entry, SourceError};

pub(super) fn tar_gz(root: &Path, entries: &[Entry]) -> Result<Vec<u8>, SourceError> {
    let io = |cause| SourceError::Read {
        path: root.to_path_buf(),
        cause,
    };
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match entry {
            Entry::File {
                path, executable, ..
            } => {
                let full = root.join(path);
                let data = std::fs::read(&full).map_err(|cause| SourceError::Read {
                    path: full.clone(),
                    cause,
                })?;
                header.set_entry_type(EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(data.len() as u64);
                tar.append_data(&mut header, path, data.as_slice())
                    .map_err(io)?;
            }
            Entry::Link { path, target } => {
                header.set_entry_type(EntryType::Symlink);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_link(&mut header, path, target).map_err(io)?;
            }
        }
    }
    let mut gz = tar.into_inner().map_err(io)?;
    gz.flush().map_err(io)?;
    gz.finish().map_err(io)
}
