//! The offline check of a manual download (`pane self verify`): the same
//! steps as an update, in the same order, through the same types
//! ([`verify::verify_sums`], then an [`ArchiveCheck`]), over files on disk.

use std::path::Path;

use super::verify::{self, ArchiveCheck, VerifiedArchive, VerifyError};
use super::{archive, digest, swap::SwapError, UpdateError};
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
    std::fs::metadata(archive_path).map_err(unreadable(ManualFile::Archive, archive_path))?;
    let name = archive_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| VerifyError::NotInSums(archive_path.display().to_string()))?;
    let signature = std::fs::read(sig_path).map_err(unreadable(ManualFile::Signature, sig_path))?;
    let signature = String::from_utf8(signature).map_err(|_| VerifyError::MalformedSignature)?;
    let sums = std::fs::read(sums_path).map_err(unreadable(ManualFile::Sums, sums_path))?;
    let verified = verify::verify_sums(&sums, &signature, trust, None)?;
    let check: ArchiveCheck = verified.archive_named(name)?;
    let actual =
        digest::sha256_file(archive_path).map_err(unreadable(ManualFile::Archive, archive_path))?;
    let archive = check.finish(&actual)?;
    let binary_size = archive::extract_binary(
        archive_path,
        &archive.name.top(),
        &mut std::io::sink(),
        archive::UNPACKED_CAP,
    )
    .map_err(SwapError::from)?;
    Ok(VerifiedDownload {
        archive,
        binary_size,
    })
}
