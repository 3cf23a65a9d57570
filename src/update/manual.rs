//! The offline check of a manual download (`pane self verify`): the same
//! steps as an update, in the same order, through the same types
//! ([`verify::verify_sums`], then an [`ArchiveCheck`]), over files on disk.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::digest::StreamingSha256;
use super::verify::{self, ArchiveCheck, VerifiedArchive, VerifyError};
use super::{archive, source, swap::SwapError, UpdateError};
use crate::platform;
use verify::TrustStore;

/// The files `pane self verify` reads, for its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManualFile {
    Archive,
    Sums,
    Signature,
}

impl std::fmt::Display for ManualFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ManualFile::Archive => "the archive",
            ManualFile::Sums => "the checksum file",
            ManualFile::Signature => "the signature",
        })
    }
}

/// The error of reading `file` at `path`, for `map_err`.
fn unreadable(file: ManualFile, path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError {
    let path = path.to_path_buf();
    move |source| UpdateError::Manual { file, path, source }
}

/// A manual download that verified, and the size of the binary inside it.
pub struct VerifiedDownload {
    pub archive: VerifiedArchive,
    pub binary_size: u64,
}

/// Verifies `archive_path` against `sums_path` and its signature `sig_path`:
/// signature, trusted comment, the archive's name (it must be an archive of
/// the signed release), its line, its SHA-256, then its structure.
pub fn verify_download(
    archive_path: &Path,
    sums_path: &Path,
    sig_path: &Path,
    trust: &TrustStore,
) -> Result<VerifiedDownload, UpdateError> {
    // The archive first: without it, whatever else is missing does not matter.
    let archive_file = open_regular(archive_path, source::ARCHIVE_CAP)
        .map_err(unreadable(ManualFile::Archive, archive_path))?;
    let name = archive_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| VerifyError::NotInSums(archive_path.display().to_string()))?;
    let signature = read_regular(sig_path, source::SIGNATURE_CAP)
        .map_err(unreadable(ManualFile::Signature, sig_path))?;
    let signature = String::from_utf8(signature).map_err(|_| VerifyError::MalformedSignature)?;
    let sums = read_regular(sums_path, source::SUMS_CAP)
        .map_err(unreadable(ManualFile::Sums, sums_path))?;
    let verified = verify::verify_sums(&sums, &signature, trust, None)?;
    let check: ArchiveCheck = verified.archive_named(name)?;
    // One pass: the bytes unpacked are the bytes hashed, whatever writes to
    // the file meanwhile. What the unpacking did not read (it stopped at a
    // refusal) is hashed after it, so that a file that is not the signed
    // one is called that, before anything about its structure.
    let mut reader = Hashing {
        inner: archive_file.take(source::ARCHIVE_CAP + 1),
        hasher: StreamingSha256::default(),
    };
    let extracted = archive::extract_from(
        &mut reader,
        &check.name.top(),
        &mut std::io::sink(),
        archive::UNPACKED_CAP,
    );
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(unreadable(ManualFile::Archive, archive_path))?;
    // The limit used up: the file grew past the cap after it was opened.
    if reader.inner.limit() == 0 {
        return Err(unreadable(ManualFile::Archive, archive_path)(too_large(
            source::ARCHIVE_CAP,
        )));
    }
    let archive = check.finish(&reader.hasher.finish())?;
    let binary_size = extracted.map_err(SwapError::from)?;
    Ok(VerifiedDownload {
        archive,
        binary_size,
    })
}

/// Hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hasher: StreamingSha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn too_large(cap: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it holds more than the {cap} bytes an update accepts"),
    )
}

/// Opens `path` for reading when it is a regular file of at most `cap`
/// bytes, the most an update would download of it. Anything else (a
/// directory, a FIFO, a device that never ends, a file larger than any
/// release holds) is refused before it is read.
fn open_regular(path: &Path, cap: u64) -> std::io::Result<File> {
    let file = platform::open_regular_file(path, true).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidInput {
            std::io::Error::new(error.kind(), "it is not a regular file")
        } else {
            error
        }
    })?;
    let size = file.metadata()?.len();
    if size > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it holds {size} bytes, more than the {cap} bytes an update accepts"),
        ));
    }
    Ok(file)
}

/// The whole of a regular file of at most `cap` bytes ([`open_regular`]);
/// a file that grows past the cap while it is read is refused too.
fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path, cap)?
        .take(cap + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(bytes)
}
