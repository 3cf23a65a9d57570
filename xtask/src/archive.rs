//! Release archives: `pane-<version>-<target>.tar.gz` holding one folder
//! `pane-<version>-<target>/` with `pane` (mode 0755) and the docs.
//!
//! Archives are reproducible: entries in sorted order, a fixed mtime, uid and
//! gid 0, empty owner names, and a gzip header with no file name and mtime 0.
//! The same inputs give the same bytes.
//!
//! [`RawTarGz`] writes archives that break those rules on purpose (links,
//! `..` and absolute names, duplicates, gzip bombs) for the updater's tests.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};

use crate::error::{Context, Result};
use crate::fsutil::write_atomically;

/// `pane-<version>-<target>.tar.gz`
pub fn archive_name(version: &str, target: &str) -> String {
    format!("pane-{version}-{target}.tar.gz")
}

/// The folder at the top of an archive: `pane-<version>-<target>`.
pub fn archive_folder(version: &str, target: &str) -> String {
    format!("pane-{version}-{target}")
}

/// Splits `pane-<version>-<target>.tar.gz` into version and target triple.
///
/// A pre-release version may itself hold dashes (`1.0.0-rc-1`), so the split
/// is the one where the left part is semver and the right part starts with
/// a known architecture; without such a split, the shortest valid version.
pub fn parse_archive_name(name: &str) -> Option<(semver::Version, String)> {
    let rest = name.strip_prefix("pane-")?.strip_suffix(".tar.gz")?;
    let mut candidates = Vec::new();
    for (index, _) in rest.match_indices('-') {
        let (left, right) = (&rest[..index], &rest[index + 1..]);
        let Ok(version) = semver::Version::parse(left) else {
            continue;
        };
        let looks_like_triple = right.contains('-')
            && !right.starts_with('-')
            && right
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if looks_like_triple {
            candidates.push((version, right.to_string()));
        }
    }
    const ARCHITECTURES: &[&str] = &[
        "x86_64",
        "i686",
        "i586",
        "i386",
        "aarch64",
        "arm",
        "thumb",
        "riscv",
        "powerpc",
        "mips",
        "s390x",
        "sparc",
        "loongarch",
        "wasm",
        "m68k",
        "csky",
        "hexagon",
        "nvptx",
        "bpf",
        "avr",
        "msp430",
        "xtensa",
    ];
    let known_architecture = candidates.iter().position(|(_, target)| {
        let architecture = target.split('-').next().unwrap_or_default();
        ARCHITECTURES.iter().any(|a| architecture.starts_with(a))
    });
    let index = known_architecture.unwrap_or(0);
    (index < candidates.len()).then(|| candidates.swap_remove(index))
}

/// How [`package_with`] builds an archive.
#[derive(Clone, Debug)]
pub struct PackageOptions {
    /// The mtime of every entry (seconds since the epoch).
    pub mtime: u64,
    /// gzip level, 0 to 9. Any level is reproducible; 9 for releases, lower
    /// for big test fixtures.
    pub level: u32,
    /// Files placed beside `pane` in the archive: `(name in archive, source)`.
    pub extra_files: Vec<(String, PathBuf)>,
    /// Files placed beside `pane` given by their bytes: `(name in archive,
    /// contents)`. A name may hold folders (`man/pane.1`); each folder gets
    /// its own entry.
    pub contents: Vec<(String, Vec<u8>)>,
}

impl PackageOptions {
    /// What `dist` ships: mtime 0 (or the given one), level 9, `README.md`
    /// and `LICENSE*` from the workspace root if present, and the man pages
    /// and shell completions made from pane's command line ([`crate::man`]).
    pub fn for_workspace(mtime: u64) -> Result<PackageOptions> {
        let root = crate::workspace::root();
        let mut extra_files = Vec::new();
        let entries = std::fs::read_dir(&root)
            .with_context(|| format!("cannot read directory {}", root.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", root.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if is_file && (name == "README.md" || name.starts_with("LICENSE")) {
                extra_files.push((name, entry.path()));
            }
        }
        Ok(PackageOptions {
            mtime,
            level: 9,
            extra_files,
            contents: crate::man::archive_files()?,
        })
    }
}

/// Packages `binary` as `out_dir/pane-<version>-<target>.tar.gz` with
/// `options` (the workspace's docs, mtime, level), and returns the archive's
/// path. `dist` and the test fixtures both call this.
pub fn package_with(
    binary: &Path,
    version: &str,
    target: &str,
    out_dir: &Path,
    options: &PackageOptions,
) -> Result<PathBuf> {
    semver::Version::parse(version)
        .with_context(|| format!("version {version:?} is not semver (e.g. 1.2.0)"))?;
    if target.is_empty()
        || !target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        crate::bail!("target {target:?} is not a target triple");
    }
    let binary_size = std::fs::metadata(binary)
        .with_context(|| format!("cannot read the binary {}", binary.display()))?
        .len();

    let folder = archive_folder(version, target);
    let files = entries(&folder, binary, binary_size, options)?;

    let path = out_dir.join(archive_name(version, target));
    write_atomically(&path, 0o644, |file| {
        let result = (|| -> io::Result<()> {
            let mut tar = tar::Builder::new(gzip(BufWriter::new(file), options.level));
            let mut header = plain_header(EntryType::Directory, 0, 0o755, options.mtime);
            tar.append_data(&mut header, format!("{folder}/"), io::empty())?;
            for (name, body) in &files {
                match body {
                    Body::Folder => {
                        let mut header =
                            plain_header(EntryType::Directory, 0, 0o755, options.mtime);
                        tar.append_data(&mut header, name, io::empty())?;
                    }
                    Body::File(source, size, mode) => {
                        let mut header =
                            plain_header(EntryType::Regular, *size, *mode, options.mtime);
                        let reader = File::open(source)?.take(*size);
                        tar.append_data(&mut header, name, reader)?;
                    }
                    Body::Bytes(bytes) => {
                        let size = bytes.len() as u64;
                        let mut header =
                            plain_header(EntryType::Regular, size, 0o644, options.mtime);
                        tar.append_data(&mut header, name, *bytes)?;
                    }
                }
            }
            tar.into_inner()?.finish()?.flush()
        })();
        result.with_context(|| format!("cannot write {}", path.display()))
    })?;
    Ok(path)
}

/// What one archive entry holds.
enum Body<'a> {
    Folder,
    /// A file on disk: its path, size and mode.
    File(&'a Path, u64, u32),
    /// A file given by its bytes (mode 0644).
    Bytes(&'a [u8]),
}

/// The entries under `folder/`, sorted by name: the binary, the extra files,
/// the given contents and the folders these sit in.
fn entries<'a>(
    folder: &str,
    binary: &'a Path,
    binary_size: u64,
    options: &'a PackageOptions,
) -> Result<Vec<(String, Body<'a>)>> {
    let mut files = vec![(
        format!("{folder}/pane"),
        Body::File(binary, binary_size, 0o755),
    )];
    for (name, source) in &options.extra_files {
        let size = std::fs::metadata(source)
            .with_context(|| format!("cannot read {}", source.display()))?
            .len();
        files.push((format!("{folder}/{name}"), Body::File(source, size, 0o644)));
    }
    for (name, bytes) in &options.contents {
        files.push((format!("{folder}/{name}"), Body::Bytes(bytes)));
    }
    let mut folders = std::collections::BTreeSet::new();
    for (name, _) in &files {
        let inner = &name[folder.len() + 1..];
        for (at, _) in inner.match_indices('/') {
            folders.insert(format!("{folder}/{}/", &inner[..at]));
        }
    }
    files.extend(folders.into_iter().map(|name| (name, Body::Folder)));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = files.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        crate::bail!("two files would be packaged as {}", pair[0].0);
    }
    Ok(files)
}

/// A gzip stream with a reproducible header: no name, mtime 0, OS "unknown".
fn gzip<W: Write>(writer: W, level: u32) -> flate2::write::GzEncoder<W> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(writer, Compression::new(level))
}

fn plain_header(kind: EntryType, size: u64, mode: u32, mtime: u64) -> Header {
    let mut header = Header::new_ustar();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    // Empty owner names: extracting as root then keeps uid/gid 0, not a
    // build machine's user. Both calls only fail on names over 32 bytes.
    header.set_username("").expect("empty name fits");
    header.set_groupname("").expect("empty name fits");
    header
}

/// The contents of one [`RawTarGz`] entry.
#[derive(Clone, Debug)]
pub enum RawData {
    Bytes(Vec<u8>),
    /// `n` zero bytes, streamed: a few of these make a gzip bomb.
    Zeros(u64),
    /// A file's bytes, streamed.
    File(PathBuf),
}

/// What kind of entry a [`RawEntry`] is.
#[derive(Clone, Debug)]
pub enum RawKind {
    File(RawData),
    Directory,
    Symlink { target: Vec<u8> },
    HardLink { target: Vec<u8> },
}

/// One entry written as given: the name bytes go into the header untouched,
/// so it may be absolute, hold `..`, or repeat an earlier name.
#[derive(Clone, Debug)]
pub struct RawEntry {
    pub name: Vec<u8>,
    pub kind: RawKind,
    pub mode: u32,
}

/// A `.tar.gz` with arbitrary entries, for archives the updater must refuse.
///
/// ```no_run
/// # use xtask::archive::RawTarGz;
/// RawTarGz::new()
///     .file("pane-1.0.0-x/pane", b"#!/bin/sh\n".to_vec(), 0o755)
///     .symlink("pane-1.0.0-x/evil", "/etc/passwd")
///     .file("../escape", b"x".to_vec(), 0o644)
///     .zeros("pane-1.0.0-x/pane", 700 << 20, 0o755)
///     .write(std::path::Path::new("/tmp/hostile.tar.gz"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct RawTarGz {
    pub entries: Vec<RawEntry>,
}

impl RawTarGz {
    pub fn new() -> RawTarGz {
        RawTarGz::default()
    }

    pub fn entry(mut self, entry: RawEntry) -> RawTarGz {
        self.entries.push(entry);
        self
    }

    pub fn file(self, name: impl AsRef<[u8]>, data: impl Into<Vec<u8>>, mode: u32) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::File(RawData::Bytes(data.into())),
            mode,
        })
    }

    /// A regular file whose bytes are streamed from `source`.
    pub fn file_from(
        self,
        name: impl AsRef<[u8]>,
        source: impl Into<PathBuf>,
        mode: u32,
    ) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::File(RawData::File(source.into())),
            mode,
        })
    }

    /// A regular file of `len` zero bytes (streamed; compresses ~1000:1).
    pub fn zeros(self, name: impl AsRef<[u8]>, len: u64, mode: u32) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::File(RawData::Zeros(len)),
            mode,
        })
    }

    pub fn directory(self, name: impl AsRef<[u8]>) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::Directory,
            mode: 0o755,
        })
    }

    pub fn symlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::Symlink {
                target: target.as_ref().to_vec(),
            },
            mode: 0o777,
        })
    }

    pub fn hardlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> RawTarGz {
        self.entry(RawEntry {
            name: name.as_ref().to_vec(),
            kind: RawKind::HardLink {
                target: target.as_ref().to_vec(),
            },
            mode: 0o644,
        })
    }

    /// Writes the archive to `path` (atomically), streaming every entry.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, 0o644, |file| {
            // Level 9, as releases are packed; the bombs are zeros, which
            // deflate squeezes about 1000:1 at any level.
            let result = (|| -> io::Result<()> {
                let mut tar = tar::Builder::new(gzip(BufWriter::new(file), 9));
                for entry in &self.entries {
                    self.append(&mut tar, entry)?;
                }
                tar.into_inner()?.finish()?.flush()
            })();
            result.with_context(|| format!("cannot write {}", path.display()))
        })
    }

    fn append<W: Write>(&self, tar: &mut tar::Builder<W>, entry: &RawEntry) -> io::Result<()> {
        let (kind, size, link) = match &entry.kind {
            RawKind::File(RawData::Bytes(bytes)) => (EntryType::Regular, bytes.len() as u64, None),
            RawKind::File(RawData::Zeros(len)) => (EntryType::Regular, *len, None),
            RawKind::File(RawData::File(path)) => {
                (EntryType::Regular, std::fs::metadata(path)?.len(), None)
            }
            RawKind::Directory => (EntryType::Directory, 0, None),
            RawKind::Symlink { target } => (EntryType::Symlink, 0, Some(target)),
            RawKind::HardLink { target } => (EntryType::Link, 0, Some(target)),
        };
        let mut header = plain_header(kind, size, entry.mode, 0);
        // The name and link name go straight into the ustar fields: the tar
        // crate's setters refuse `..` and absolute paths, which is the point.
        let bytes = header.as_mut_bytes();
        put_field(&mut bytes[0..100], &entry.name, "name")?;
        if let Some(link) = link {
            put_field(&mut bytes[157..257], link, "link name")?;
        }
        header.set_cksum();
        match &entry.kind {
            RawKind::File(RawData::Bytes(bytes)) => tar.append(&header, bytes.as_slice()),
            RawKind::File(RawData::Zeros(len)) => tar.append(&header, io::repeat(0).take(*len)),
            RawKind::File(RawData::File(path)) => tar.append(&header, File::open(path)?.take(size)),
            _ => tar.append(&header, io::empty()),
        }
    }
}

fn put_field(field: &mut [u8], value: &[u8], what: &str) -> io::Result<()> {
    if value.len() > field.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("raw tar {what} is longer than {} bytes", field.len()),
        ));
    }
    field.fill(0);
    field[..value.len()].copy_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_round_trip() {
        for (version, target) in [
            ("1.2.0", "x86_64-unknown-linux-musl"),
            ("1.3.0-beta.1", "aarch64-apple-darwin"),
            ("1.0.0-rc-1", "aarch64-unknown-linux-musl"),
            ("2.0.0+build.5", "x86_64-unknown-linux-gnu"),
        ] {
            let (parsed_version, parsed_target) =
                parse_archive_name(&archive_name(version, target)).unwrap();
            assert_eq!(parsed_version.to_string(), version);
            assert_eq!(parsed_target, target);
        }
    }

    #[test]
    fn other_names_are_not_archives() {
        for name in [
            "SHA256SUMS",
            "install.sh",
            "pane-1.2.0.tar.gz",
            "pane-x-y-z.tar.gz",
            "pane-1.2.0-x86_64-unknown-linux-musl.zip",
        ] {
            assert!(parse_archive_name(name).is_none(), "{name}");
        }
    }
}
