//! Stage, smoke-test, keep and swap a binary.
//!
//! Crash invariant: at every instant the install path holds the whole old
//! binary or the whole new one. The new binary is written to a temp file in
//! the install directory itself (same filesystem, so the final `rename` is
//! atomic; `/tmp` may be another filesystem or `noexec`), fsynced, made 0755,
//! run once (`--version` must print `pane <expected>`), copied to
//! `versions/<version>/pane`, and only then renamed over the install path,
//! after which the directory is fsynced. Temp files are named `.pane-tmp-*`
//! and removed by the next run if a crash left them.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use semver::Version;

use super::archive::{self, ArchiveError};
use super::digest::{self, hex};
use super::receipt::KeptVersion;
use super::sink::HashingSink;
use crate::failpoint;
use crate::platform;

#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("the new binary did not run: {0}")]
    SmokeDidNotRun(String),
    #[error(
        "the new binary printed {found:?} to `--version`, not \"pane {expected}\"; refusing it"
    )]
    SmokeWrongVersion { expected: Version, found: String },
    #[error("the kept binary {path} does not match its recorded SHA-256 (expected {expected}, found {actual})")]
    KeptTampered {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

impl SwapError {
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SwapError {
        let path = path.to_path_buf();
        move |source| SwapError::Io {
            action,
            path,
            source,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SwapError::Io { source, path, .. } => platform::io_hint(source, path),
            SwapError::Archive(ArchiveError::Write(source)) => {
                platform::io_hint(source, Path::new(""))
            }
            _ => None,
        }
    }
}

/// A binary written to a temp file in the install directory. Removed on drop
/// unless it was swapped into place.
pub struct Staged {
    pub path: PathBuf,
    pub sha256: [u8; 32],
    done: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The purpose in a staged binary's temp name (`.pane-tmp-staged-…`).
pub const STAGED: &str = "staged";

fn create_staging(install_dir: &Path) -> Result<(PathBuf, File), SwapError> {
    platform::create_temp_in(install_dir, STAGED)
        .map_err(SwapError::io("create a file in", install_dir))
}

/// Unpacks `<top>/pane` of a verified archive into the install directory.
pub fn stage_from_archive(
    archive_path: &Path,
    top: &str,
    install_dir: &Path,
) -> Result<Staged, SwapError> {
    let (path, file) = create_staging(install_dir)?;
    let mut staged = Staged {
        path,
        sha256: [0; 32],
        done: false,
    };
    let (file, sha256) = std::thread::scope(|scope| {
        let mut sink = HashingSink::new(scope, platform::WriteBehind::new(file));
        archive::extract_binary(archive_path, top, &mut sink, archive::UNPACKED_CAP)?;
        let (file, sha256) = sink.finish().map_err(ArchiveError::Write)?;
        let file = file.into_inner().map_err(ArchiveError::Write)?;
        Ok::<_, ArchiveError>((file, sha256))
    })?;
    staged.sha256 = sha256;
    finish_staging(&file, &staged.path)?;
    Ok(staged)
}

/// Copies an existing binary (the running one, or a kept one) into the
/// install directory.
pub fn stage_copy(source: &Path, install_dir: &Path) -> Result<Staged, SwapError> {
    let (path, mut file) = create_staging(install_dir)?;
    let mut staged = Staged {
        path,
        sha256: [0; 32],
        done: false,
    };
    staged.sha256 =
        copy_hashing(source, &mut file).map_err(SwapError::io("write a copy of", source))?;
    finish_staging(&file, &staged.path)?;
    Ok(staged)
}

/// Copies `source` into `file` (the hash and the write on a second thread,
/// see [`HashingSink`]) and returns the SHA-256 of what was copied.
fn copy_hashing(source: &Path, file: &mut File) -> io::Result<[u8; 32]> {
    let mut input = File::open(source)?;
    std::thread::scope(|scope| {
        let mut sink = HashingSink::new(scope, platform::WriteBehind::new(&mut *file));
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            sink.write_all(&buffer[..n])?;
        }
        let (file, sha256) = sink.finish()?;
        file.into_inner()?;
        Ok(sha256)
    })
}

fn finish_staging(file: &File, path: &Path) -> Result<(), SwapError> {
    platform::make_executable(file).map_err(SwapError::io("set the mode of", path))?;
    file.sync_all().map_err(SwapError::io("flush", path))?;
    failpoint::hit("staged");
    Ok(())
}

/// Runs `<binary> --version` and requires `pane <expected>`.
pub fn smoke_test(binary: &Path, expected: &Version) -> Result<(), SwapError> {
    let mut child = Command::new(binary)
        .arg("--version")
        .env("PANE_NO_UPDATE_CHECK", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| SwapError::SmokeDidNotRun(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SwapError::SmokeDidNotRun(
                    "`--version` did not finish within 20 seconds".into(),
                ));
            }
            Err(e) => return Err(SwapError::SmokeDidNotRun(e.to_string())),
        }
    };
    let mut output = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = stdout.take(4096).read_to_string(&mut output);
    }
    if !status.success() {
        return Err(SwapError::SmokeDidNotRun(format!(
            "`--version` exited with {status}"
        )));
    }
    let found = output.trim_end().to_string();
    if found != format!("pane {expected}") {
        return Err(SwapError::SmokeWrongVersion {
            expected: expected.clone(),
            found,
        });
    }
    failpoint::hit("smoke-tested");
    Ok(())
}

pub fn kept_path(data_dir: &Path, version: &Version) -> PathBuf {
    data_dir
        .join("versions")
        .join(version.to_string())
        .join(platform::BINARY_NAME)
}

/// Copies `binary` to `versions/<version>/pane` (temp, fsync, rename), unless
/// an identical copy is already there. Returns the record for the receipt and
/// whether this call created its directory (only then may a failed change
/// remove it).
pub fn keep(
    data_dir: &Path,
    version: &Version,
    binary: &Path,
) -> Result<(KeptVersion, bool), SwapError> {
    let target = kept_path(data_dir, version);
    let dir = target.parent().expect("kept path has a parent");
    // Usually nothing is kept for this version yet, and then there is no
    // reason to read the binary an extra time.
    if let Ok(existing) = digest::sha256_file(&target) {
        let expected = digest::sha256_file(binary).map_err(SwapError::io("read", binary))?;
        if existing == expected {
            return Ok((record(version, &expected), false));
        }
    }
    let created = !dir.exists();
    fs::create_dir_all(dir).map_err(SwapError::io("create", dir))?;
    let digest = platform::replace_file(&target, 0o755, None, |file| copy_hashing(binary, file))
        .map_err(SwapError::io("keep a copy of", binary))
        .inspect_err(|_| remove_if_created(dir, created))?;
    Ok((record(version, &digest), created))
}

/// A failed keep takes away the version folder it made.
fn remove_if_created(dir: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Keeps a staged binary as `versions/<version>/pane`: a hard link to the
/// staged file when the data dir is on the same filesystem (no second write,
/// hash or fsync of tens of MiB: the staged file is already synced and its
/// digest known), else a copy. The kept file may then share its inode with
/// the installed binary; updates never write a binary in place, and
/// `rollback` re-checks the recorded SHA-256 before trusting it.
pub fn keep_staged(
    data_dir: &Path,
    version: &Version,
    staged: &Staged,
) -> Result<(KeptVersion, bool), SwapError> {
    let target = kept_path(data_dir, version);
    let dir = target.parent().expect("kept path has a parent");
    if digest::sha256_file(&target).ok() == Some(staged.sha256) {
        return Ok((record(version, &staged.sha256), false));
    }
    let created = !dir.exists();
    fs::create_dir_all(dir).map_err(SwapError::io("create", dir))?;
    let temp = platform::temp_path_in(dir, "kept");
    let linked = fs::hard_link(&staged.path, &temp).is_ok()
        && fs::rename(&temp, &target).is_ok()
        && platform::sync_dir(dir).is_ok();
    if linked {
        return Ok((record(version, &staged.sha256), created));
    }
    let _ = fs::remove_file(&temp);
    let (record, _) =
        keep(data_dir, version, &staged.path).inspect_err(|_| remove_if_created(dir, created))?;
    Ok((record, created))
}

fn record(version: &Version, digest: &[u8; 32]) -> KeptVersion {
    KeptVersion {
        version: version.clone(),
        sha256: hex(digest),
        other: Default::default(),
    }
}

/// Stages a copy of a kept binary, refusing it unless the bytes copied have
/// the SHA-256 recorded for it: one read of the kept file, and the check is
/// of exactly what will be installed.
pub fn stage_kept(
    data_dir: &Path,
    kept: &KeptVersion,
    install_dir: &Path,
) -> Result<Staged, SwapError> {
    let path = kept_path(data_dir, &kept.version);
    let staged = stage_copy(&path, install_dir)?;
    let actual = hex(&staged.sha256);
    if actual != kept.sha256 {
        // Dropping `staged` removes the copy.
        return Err(SwapError::KeptTampered {
            path,
            expected: kept.sha256.clone(),
            actual,
        });
    }
    Ok(staged)
}

/// The file a swap replaces: the install path, or the file it links to (so a
/// symlinked install path keeps its link and the target is replaced).
pub fn swap_target(install_path: &Path) -> PathBuf {
    match fs::symlink_metadata(install_path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(install_path).unwrap_or_else(|_| install_path.to_path_buf())
        }
        _ => install_path.to_path_buf(),
    }
}

/// Renames the staged binary over `target` and fsyncs the directory (best
/// effort once the rename is done).
pub fn swap(mut staged: Staged, target: &Path) -> Result<(), SwapError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let staged_dir = staged.path.parent().unwrap_or(Path::new("."));
    if staged_dir != dir {
        // The install path links into another directory: stage again there so
        // the rename stays on one filesystem.
        let again = stage_copy(&staged.path, dir)?;
        drop(std::mem::replace(&mut staged, again));
    }
    fs::rename(&staged.path, target).map_err(SwapError::io("replace", target))?;
    staged.done = true;
    failpoint::hit("swapped");
    // The swap has happened: a directory that cannot be fsynced (some FUSE
    // and network filesystems refuse it) must not turn it into a reported
    // failure, which would restore a receipt naming the old binary.
    let _ = platform::sync_dir(dir);
    Ok(())
}

/// Removes kept versions not listed in `keep`.
pub fn prune_kept(data_dir: &Path, keep: &[KeptVersion]) {
    let root = data_dir.join("versions");
    let Ok(entries) = fs::read_dir(&root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let listed = keep.iter().any(|k| k.version.to_string() == name);
        if !listed {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
