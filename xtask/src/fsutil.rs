//! Writing outputs so that a failure leaves nothing behind: every file is
//! written to a temporary file beside its destination and renamed into place.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Context, Result};

/// Prefix of the temporary files this tool writes; `checksums` skips them.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Writes `path` atomically with permission bits `mode`: `write` fills a
/// temporary file in the same directory, which is then synced and renamed
/// over `path`. On any error the temporary file is removed.
pub fn write_atomically(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let mut temp = temp_beside(path)?;
    write(temp.as_file_mut())?;
    finish(temp, path, mode, false)
}

/// Like [`write_atomically`] but refuses to replace an existing file.
pub fn write_new(path: &Path, mode: u32, contents: &[u8]) -> Result<()> {
    let mut temp = temp_beside(path)?;
    temp.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    finish(temp, path, mode, true)
}

fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn finish(temp: tempfile::NamedTempFile, path: &Path, mode: u32, no_clobber: bool) -> Result<()> {
    let mut file = temp.as_file();
    file.flush()
        .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let persisted = if no_clobber {
        temp.persist_noclobber(path)
    } else {
        temp.persist(path)
    };
    persisted
        .map(drop)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))
}
