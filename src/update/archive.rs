//! Finds and extracts the one binary of a release archive, refusing anything odd.
//!
//! The `tar` crate's `unpack` follows the archive's word on links, modes and
//! paths; pane wants exactly one regular file out of it, so this walks the
//! entries itself and refuses the whole archive on the first surprise:
//! symlinks, hard links, devices, FIFOs, sparse files, absolute paths, `..`,
//! duplicate names, entries outside the top folder, or more unpacked bytes
//! than the cap. The mode of the extracted file is set here (0755), never
//! taken from the archive.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::bufread::GzDecoder;

/// At most this many unpacked bytes (docs/release-artifacts.md, "Transport rules and limits"):
/// the binary and everything around it.
pub const UNPACKED_CAP: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive is not a readable .tar.gz")]
    Corrupt(#[source] std::io::Error),
    #[error("the archive holds {kind} {name:?}, which pane refuses to unpack")]
    ForbiddenEntry { kind: &'static str, name: String },
    #[error("the archive holds an entry with an unsafe path: {0:?}")]
    UnsafePath(String),
    #[error("the archive holds {0:?} twice")]
    Duplicate(String),
    #[error("the archive holds {name:?} outside its top folder {top}/")]
    OutsideTop { name: String, top: String },
    #[error("the archive unpacks to more than {cap} bytes; refusing it")]
    TooLarge { cap: u64 },
    #[error("the archive has no {0}")]
    NoBinary(String),
    #[error("could not write the unpacked binary")]
    Write(#[source] std::io::Error),
}

/// Extracts `<top>/pane` from the archive at `archive` into `out`. Returns the
/// number of bytes written. Every entry is checked, also after the binary.
pub fn extract_binary(
    archive: &Path,
    top: &str,
    out: &mut dyn Write,
    cap: u64,
) -> Result<u64, ArchiveError> {
    let file = File::open(archive).map_err(ArchiveError::Corrupt)?;
    extract_from(file, top, out, cap)
}

pub fn extract_from(
    reader: impl Read,
    top: &str,
    out: &mut dyn Write,
    cap: u64,
) -> Result<u64, ArchiveError> {
    // The whole tar stream is read through one limit of `cap + 1` bytes: the
    // `tar` crate reads a GNU long name or a pax header into memory whole,
    // and those count towards the cap like the entries they describe.
    let gzip = GzDecoder::new(BufReader::new(reader));
    let mut archive = tar::Archive::new(gzip.take(cap.saturating_add(1)));
    let walked = walk(&mut archive, top, out, cap);
    let mut tar_stream = archive.into_inner();
    let walked = walked.and_then(|written| {
        // The tar end marker comes before the end of the gzip stream: read on
        // to its end, so that its CRC-32 and length are checked too and a
        // damaged stream is refused rather than unpacked to other bytes.
        std::io::copy(&mut tar_stream, &mut std::io::sink()).map_err(ArchiveError::Corrupt)?;
        Ok(written)
    });
    if tar_stream.limit() == 0 {
        return Err(ArchiveError::TooLarge { cap });
    }
    let written = walked?;
    // One gzip member and nothing after it. GNU tar and `gzip -d` go on
    // through bytes after the first member (a second member is unpacked as
    // more of the tar stream), so an archive with more would unpack to one
    // thing here and another there; `self verify` must not bless it.
    let mut rest = tar_stream.into_inner().into_inner();
    let after = rest.fill_buf().map_err(ArchiveError::Corrupt)?;
    if !after.is_empty() {
        return Err(ArchiveError::Corrupt(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "bytes follow the end of the gzip stream",
        )));
    }
    Ok(written)
}

/// Checks every entry of the archive and copies `<top>/pane` into `out`.
fn walk(
    archive: &mut tar::Archive<impl Read>,
    top: &str,
    out: &mut dyn Write,
    cap: u64,
) -> Result<u64, ArchiveError> {
    let wanted = format!("{top}/pane");
    let mut seen = HashSet::new();
    let mut unpacked: u64 = 0;
    let mut written = None;
    for entry in archive.entries().map_err(ArchiveError::Corrupt)? {
        let mut entry = entry.map_err(ArchiveError::Corrupt)?;
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw_name)
            .map_err(|e| ArchiveError::UnsafePath(String::from_utf8_lossy(e.as_bytes()).into()))?;
        let kind = entry.header().entry_type();
        if let Some(kind) = forbidden_kind(kind) {
            return Err(ArchiveError::ForbiddenEntry { kind, name });
        }
        let normalized = normalize(&name)?;
        if normalized != top && !normalized.starts_with(&format!("{top}/")) {
            return Err(ArchiveError::OutsideTop {
                name,
                top: top.to_string(),
            });
        }
        if !seen.insert(normalized.clone()) {
            return Err(ArchiveError::Duplicate(name));
        }
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > cap {
            return Err(ArchiveError::TooLarge { cap });
        }
        if normalized == wanted {
            if !kind.is_file() {
                return Err(ArchiveError::NoBinary(wanted));
            }
            let mut limited = (&mut entry).take(cap + 1);
            let n = copy_in_large_writes(&mut limited, out)?;
            if n != entry.size() {
                return Err(ArchiveError::Corrupt(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the binary is shorter than its header says",
                )));
            }
            written = Some(n);
        }
    }
    written.ok_or(ArchiveError::NoBinary(wanted))
}

/// What an entry of this type is, when pane refuses it: anything but a
/// regular file or a directory.
fn forbidden_kind(kind: tar::EntryType) -> Option<&'static str> {
    if kind.is_symlink() {
        Some("a symbolic link")
    } else if kind.is_hard_link() {
        Some("a hard link")
    } else if kind.is_character_special() || kind.is_block_special() {
        Some("a device")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_gnu_sparse() {
        Some("a sparse file")
    } else if !(kind.is_file() || kind.is_dir()) {
        Some("an entry of unknown type")
    } else {
        None
    }
}

/// `std::io::copy` through a 256 KiB buffer: alone it writes 8 KiB at a time,
/// 5,000 writes for a 40 MiB binary instead of 160 (`cargo xtask bench`).
///
/// An error of the writer is always [`ArchiveError::Write`], whatever its
/// kind (an `EINVAL` from the disk is not a corrupt archive); an error of the
/// reader is [`ArchiveError::Corrupt`] when the decoder or the tar reader
/// found bad bytes, and `Write` otherwise, as before.
fn copy_in_large_writes(reader: &mut impl Read, out: &mut dyn Write) -> Result<u64, ArchiveError> {
    /// Remembers whether the reading side failed.
    struct Reading<R> {
        inner: R,
        failed: bool,
    }
    impl<R: Read> Read for Reading<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let read = self.inner.read(buf);
            self.failed = matches!(&read, Err(e) if e.kind() != std::io::ErrorKind::Interrupted);
            read
        }
    }
    let mut reading = Reading {
        inner: reader,
        failed: false,
    };
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
    let n = std::io::copy(&mut reading, &mut out).map_err(|e| {
        let bad_bytes = matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
        );
        if reading.failed && bad_bytes {
            ArchiveError::Corrupt(e)
        } else {
            ArchiveError::Write(e)
        }
    })?;
    out.flush().map_err(ArchiveError::Write)?;
    Ok(n)
}

/// Checks a tar path and folds away `./` and a trailing `/`. Refuses absolute
/// paths, `..`, backslashes, NULs and empty names.
fn normalize(name: &str) -> Result<String, ArchiveError> {
    let unsafe_path = || ArchiveError::UnsafePath(name.to_string());
    if name.is_empty() || name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return Err(unsafe_path());
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err(unsafe_path()),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path());
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table() {
        assert_eq!(normalize("a/b").unwrap(), "a/b");
        assert_eq!(normalize("./a/./b/").unwrap(), "a/b");
        for bad in ["", "/a", "a/../b", "..", "a\\b", "./", "a/\0"] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn tar_gz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if kind.is_symlink() || kind.is_hard_link() {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    /// Room for a few entries: the cap counts the whole tar stream, headers
    /// and the end marker included.
    const TEST_CAP: u64 = 16 * 1024;

    fn run(entries: &[(&str, tar::EntryType, &[u8])]) -> Result<Vec<u8>, ArchiveError> {
        let mut out = Vec::new();
        extract_from(&tar_gz(entries)[..], "p", &mut out, TEST_CAP).map(|_| out)
    }

    fn variant(error: &ArchiveError) -> &'static str {
        match error {
            ArchiveError::Corrupt(_) => "Corrupt",
            ArchiveError::ForbiddenEntry { .. } => "ForbiddenEntry",
            ArchiveError::UnsafePath(_) => "UnsafePath",
            ArchiveError::Duplicate(_) => "Duplicate",
            ArchiveError::OutsideTop { .. } => "OutsideTop",
            ArchiveError::TooLarge { .. } => "TooLarge",
            ArchiveError::NoBinary(_) => "NoBinary",
            ArchiveError::Write(_) => "Write",
        }
    }

    #[test]
    fn extraction_table() {
        use tar::EntryType as T;
        assert_eq!(
            run(&[("p/", T::Directory, b""), ("p/pane", T::Regular, b"bin")]).unwrap(),
            b"bin"
        );
        assert_eq!(
            run(&[
                ("p/README.md", T::Regular, b"r"),
                ("p/pane", T::Regular, b"x")
            ])
            .unwrap(),
            b"x"
        );
        // Each refusal for its own reason: a check that went missing would
        // otherwise hide behind a later one (`q/pane` is also "no binary").
        type Entries<'a> = Vec<(&'a str, T, &'a [u8])>;
        let refused: Vec<(Entries, &str)> = vec![
            (vec![("p/README.md", T::Regular, b"r")], "NoBinary"),
            (vec![("p/pane", T::Symlink, b"")], "ForbiddenEntry"),
            (
                vec![("p/pane", T::Regular, b"x"), ("p/evil", T::Symlink, b"")],
                "ForbiddenEntry",
            ),
            (
                vec![("p/pane", T::Regular, b"x"), ("p/evil", T::Link, b"")],
                "ForbiddenEntry",
            ),
            (
                vec![("p/pane", T::Regular, b"x"), ("p/dev", T::Char, b"")],
                "ForbiddenEntry",
            ),
            (
                vec![("p/pane", T::Regular, b"x"), ("p/fifo", T::Fifo, b"")],
                "ForbiddenEntry",
            ),
            (vec![("p/../pane", T::Regular, b"x")], "UnsafePath"),
            (vec![("/p/pane", T::Regular, b"x")], "UnsafePath"),
            (vec![("q/pane", T::Regular, b"x")], "OutsideTop"),
            (
                vec![("p/pane", T::Regular, b"x"), ("p/./pane", T::Regular, b"y")],
                "Duplicate",
            ),
            (vec![("p/pane", T::Directory, b"")], "NoBinary"),
            (vec![("p/pane", T::Regular, &[0u8; 20 * 1024])], "TooLarge"),
        ];
        for (entries, expected) in refused {
            let names: Vec<_> = entries.iter().map(|e| e.0).collect();
            match run(&entries) {
                Ok(_) => panic!("{names:?} accepted"),
                Err(error) => assert_eq!(
                    variant(&error),
                    expected,
                    "{names:?} refused for another reason: {error}"
                ),
            }
        }
        let mut out = Vec::new();
        assert!(matches!(
            extract_from(&b"not gzip"[..], "p", &mut out, TEST_CAP),
            Err(ArchiveError::Corrupt(_))
        ));
    }

    /// A writer's error of a kind a decoder also returns (`EINVAL` from a
    /// flush to the disk is `InvalidInput`) is a write error, not a corrupt
    /// archive; the same kind from the archive's bytes stays `Corrupt`.
    #[test]
    fn a_writers_error_is_never_a_corrupt_archive() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::InvalidInput.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let archive = tar_gz(&[("p/pane", tar::EntryType::Regular, b"bin")]);
        let error = extract_from(&archive[..], "p", &mut Failing, TEST_CAP).unwrap_err();
        assert_eq!(variant(&error), "Write", "{error}");
        let truncated = &archive[..archive.len() / 2];
        let error = extract_from(truncated, "p", &mut Vec::new(), TEST_CAP).unwrap_err();
        assert_eq!(variant(&error), "Corrupt", "{error}");
    }

    /// GNU tar and `gzip -d` read on through a second gzip member (more of
    /// the tar stream) and warn about other trailing bytes; pane refuses
    /// both, so that what `self verify` accepts unpacks the same everywhere.
    #[test]
    fn bytes_after_the_gzip_stream_are_refused() {
        let archive = tar_gz(&[("p/pane", tar::EntryType::Regular, b"bin")]);
        let mut out = Vec::new();
        extract_from(&archive[..], "p", &mut out, TEST_CAP).unwrap();
        assert_eq!(out, b"bin");
        let second_member = tar_gz(&[("p/pane", tar::EntryType::Regular, b"other")]);
        for after in [&second_member[..], b"\0", b"junk"] {
            let mut joined = archive.clone();
            joined.extend_from_slice(after);
            let error = extract_from(&joined[..], "p", &mut Vec::new(), TEST_CAP).unwrap_err();
            assert_eq!(variant(&error), "Corrupt", "{error}");
            assert!(
                format!("{:?}", error).contains("bytes follow the end of the gzip stream"),
                "{error:?}"
            );
        }
    }

    /// A GNU long name or a pax header is read into memory by the `tar`
    /// crate; its bytes count towards the cap like an entry's.
    #[test]
    fn long_names_and_pax_headers_count_towards_the_cap() {
        fn finish(builder: tar::Builder<Vec<u8>>) -> Vec<u8> {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&builder.into_inner().unwrap()).unwrap();
            gz.finish().unwrap()
        }
        fn with_binary() -> tar::Builder<Vec<u8>> {
            let mut builder = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(3);
            header.set_mode(0o755);
            builder
                .append_data(&mut header, "p/pane", &b"bin"[..])
                .unwrap();
            builder
        }
        /// One more entry of one byte under `name` (a GNU long name when
        /// the name does not fit the header).
        fn append(builder: &mut tar::Builder<Vec<u8>>, name: &str) {
            let mut header = tar::Header::new_gnu();
            header.set_size(1);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, &b"x"[..]).unwrap();
        }
        let long = format!("p/{}", "a".repeat(2 * TEST_CAP as usize));
        let mut named = with_binary();
        append(&mut named, &long);
        let mut short = with_binary();
        append(&mut short, "p/a");

        let mut pax = with_binary();
        let body = format!(" comment={long}\n");
        let mut length = body.len();
        while format!("{length}{body}").len() != length {
            length = format!("{length}{body}").len();
        }
        let record = format!("{length}{body}");
        let mut header = tar::Header::new_ustar();
        header.set_path("p/PaxHeader").unwrap();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(record.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        pax.append(&header, record.as_bytes()).unwrap();
        append(&mut pax, "p/b");

        let extract = |archive: Vec<u8>| extract_from(&archive[..], "p", &mut Vec::new(), TEST_CAP);
        assert_eq!(extract(finish(short)).unwrap(), 3);
        for (what, archive) in [("long name", finish(named)), ("pax header", finish(pax))] {
            let error = extract(archive).unwrap_err();
            assert_eq!(variant(&error), "TooLarge", "{what}: {error}");
        }
    }
}
