//! Signature and checksum verification: bytes and keys in, a verdict out.
//!
//! The order of checks is the one docs/release-artifacts.md gives ("What makes
//! a release genuine"), each before the next byte is
//! trusted:
//! 1. `SHA256SUMS.minisig` verifies under a trusted, non-revoked key; legacy
//!    (non-prehashed `Ed`) signatures are refused;
//! 2. its trusted comment names `product:pane`, `file:SHA256SUMS` and the exact
//!    version being installed;
//! 3. `SHA256SUMS` holds exactly one line for the archive name pane computed;
//! 4. the archive's SHA-256 (computed while it streams in) equals that line.
//!
//! Nothing here does I/O, so every rule has a table test below.

use semver::Version;

pub use super::digest::hex;

use crate::signature::{self, SignatureError};
pub use crate::signature::{key_id_to_hex, parse_key_id, PublicKey as TrustedKey};

/// A key line of `name`, or the error that names it.
fn trusted_key(name: &str, line: &str) -> Result<TrustedKey, VerifyError> {
    TrustedKey::from_base64(name, line).ok_or_else(|| VerifyError::BadPublicKey {
        name: name.to_string(),
    })
}

/// The keys a release may be signed with, and the ids that are refused.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    pub keys: Vec<TrustedKey>,
    pub revoked: Vec<[u8; 8]>,
    /// Where the keys came from, for messages ("compiled-in keys/" or "PANE_TEST_PUBKEY").
    pub origin: String,
}

impl TrustStore {
    /// The keys compiled in from `keys/` at build time.
    pub fn compiled() -> Result<Self, VerifyError> {
        let keys = crate::keys::COMPILED_KEYS
            .iter()
            .map(|(name, line)| trusted_key(name, line))
            .collect::<Result<Vec<_>, _>>()?;
        let revoked = crate::keys::REVOKED_KEY_IDS
            .iter()
            .map(|id| parse_key_id(id).ok_or(VerifyError::BadRevokedId(id.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            keys,
            revoked,
            origin: "the keys compiled into pane".into(),
        })
    }

    /// A single key given as a base64 key line (tests, forks).
    pub fn single(name: &str, line: &str) -> Result<Self, VerifyError> {
        Ok(Self {
            keys: vec![trusted_key(name, line)?],
            revoked: Vec::new(),
            origin: format!("the key in {name}"),
        })
    }
}

/// The fields of a trusted comment that pane relies on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedComment {
    pub product: String,
    pub version: Version,
    pub file: String,
    pub timestamp: Option<u64>,
}

/// `SHA256SUMS` after its signature and trusted comment have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedSums {
    pub comment: TrustedComment,
    pub key_name: String,
    entries: Vec<(String, [u8; 32])>,
}

impl VerifiedSums {
    /// The expected SHA-256 of `file_name`: exactly one line must name it.
    pub fn expected(&self, file_name: &str) -> Result<[u8; 32], VerifyError> {
        let mut found = self.entries.iter().filter(|(name, _)| name == file_name);
        match (found.next(), found.next()) {
            (Some((_, digest)), None) => Ok(*digest),
            (None, _) => Err(VerifyError::NotInSums(file_name.to_string())),
            (Some(_), Some(_)) => Err(VerifyError::DuplicateInSums(file_name.to_string())),
        }
    }

    pub fn version(&self) -> &Version {
        &self.comment.version
    }
}

/// The release archive of one version for one target: the file name pane
/// computes (never the one a server or a user offers) and the directory the
/// binary sits in inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveName {
    pub version: Version,
    pub target: String,
}

impl ArchiveName {
    pub fn file_name(&self) -> String {
        format!("{}.tar.gz", self.top())
    }

    /// `pane-<version>-<target>`, the archive's top directory.
    pub fn top(&self) -> String {
        format!("pane-{}-{}", self.version, self.target)
    }

    /// The archive of `version` that `file_name` names, if it names one.
    pub fn parse(file_name: &str, version: &Version) -> Option<ArchiveName> {
        let target = file_name
            .strip_prefix(&format!("pane-{version}-"))?
            .strip_suffix(".tar.gz")
            .filter(|t| !t.is_empty() && !t.contains('/'))?;
        Some(ArchiveName {
            version: version.clone(),
            target: target.to_string(),
        })
    }
}

/// An archive of a verified release, waiting for its bytes' SHA-256 (step 4).
/// Updates and `self verify` both check an archive through this one type.
#[derive(Clone, Debug)]
pub struct ArchiveCheck {
    pub name: ArchiveName,
    pub expected: [u8; 32],
    pub key_name: String,
}

/// An archive whose SHA-256 equals the signed one.
#[derive(Clone, Debug)]
pub struct VerifiedArchive {
    pub name: ArchiveName,
    pub sha256: [u8; 32],
    pub key_name: String,
}

impl VerifiedSums {
    /// The check of this release's archive for `target`.
    pub fn archive_for(&self, target: &str) -> Result<ArchiveCheck, VerifyError> {
        self.check_of(ArchiveName {
            version: self.version().clone(),
            target: target.to_string(),
        })
    }

    /// The check of the archive called `file_name`, which must be an archive
    /// of this release: a file of another release, or renamed, is refused.
    pub fn archive_named(&self, file_name: &str) -> Result<ArchiveCheck, VerifyError> {
        let name = ArchiveName::parse(file_name, self.version()).ok_or_else(|| {
            VerifyError::NotThisRelease {
                file: file_name.to_string(),
                version: self.version().clone(),
            }
        })?;
        self.check_of(name)
    }

    fn check_of(&self, name: ArchiveName) -> Result<ArchiveCheck, VerifyError> {
        let expected = self.expected(&name.file_name())?;
        Ok(ArchiveCheck {
            name,
            expected,
            key_name: self.key_name.clone(),
        })
    }
}

impl ArchiveCheck {
    /// Step 4: the archive's bytes hashed to `actual`.
    pub fn finish(self, actual: &[u8; 32]) -> Result<VerifiedArchive, VerifyError> {
        check_digest(&self.name.file_name(), &self.expected, actual)?;
        Ok(VerifiedArchive {
            name: self.name,
            sha256: *actual,
            key_name: self.key_name,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("public key {name} is not a minisign Ed25519 public key")]
    BadPublicKey { name: String },
    #[error("keys/revoked holds {0:?}, which is not a 16-hex-digit key id")]
    BadRevokedId(String),
    #[error("SHA256SUMS.minisig is not a minisign signature")]
    MalformedSignature,
    #[error("SHA256SUMS.minisig is a legacy (non-prehashed) signature, which pane refuses")]
    LegacySignature,
    #[error("SHA256SUMS.minisig was made by key {key_id}, which has been revoked")]
    RevokedKey { key_id: String },
    #[error("SHA256SUMS.minisig was made by key {key_id}, which is not one of {origin}")]
    UnknownKey { key_id: String, origin: String },
    #[error("the signature of SHA256SUMS does not verify under key {key_id}: the file or its signature was altered")]
    BadSignature { key_id: String },
    #[error("the trusted comment is malformed: {0}")]
    MalformedComment(String),
    #[error("the signed release is for product {found:?}, not pane")]
    WrongProduct { found: String },
    #[error("the signature covers {found:?}, not SHA256SUMS")]
    WrongFile { found: String },
    #[error("the signed release is version {found}, but {expected} was requested")]
    WrongVersion { expected: Version, found: Version },
    #[error("SHA256SUMS is malformed at line {line}")]
    MalformedSums { line: usize },
    #[error(
        "{file} is not an archive of pane {version}, the release this SHA256SUMS is signed for"
    )]
    NotThisRelease { file: String, version: Version },
    #[error("SHA256SUMS has no line for {0}")]
    NotInSums(String),
    #[error("SHA256SUMS has more than one line for {0}")]
    DuplicateInSums(String),
    #[error("checksum mismatch for {file}: SHA256SUMS says {expected}, the download is {actual}")]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
    },
}

/// Checks `SHA256SUMS` against its signature and trusted comment (steps 1–2),
/// then parses it. `expected_version` is `None` only when asking what "latest"
/// is, in which case the signed comment is what says it.
pub fn verify_sums(
    sums: &[u8],
    signature_text: &str,
    store: &TrustStore,
    expected_version: Option<&Version>,
) -> Result<VerifiedSums, VerifyError> {
    let (key, comment) = signature::check(sums, signature_text, &store.keys, &store.revoked)
        .map_err(|e| signature_error(e, store))?;
    let comment = parse_trusted_comment(&comment)?;
    if comment.product != "pane" {
        return Err(VerifyError::WrongProduct {
            found: comment.product,
        });
    }
    if comment.file != "SHA256SUMS" {
        return Err(VerifyError::WrongFile {
            found: comment.file,
        });
    }
    if let Some(expected) = expected_version {
        if &comment.version != expected {
            return Err(VerifyError::WrongVersion {
                expected: expected.clone(),
                found: comment.version,
            });
        }
    }
    let entries = parse_sums(sums)?;
    Ok(VerifiedSums {
        comment,
        key_name: key.name.clone(),
        entries,
    })
}

/// The release's words for a refused signature.
fn signature_error(error: SignatureError, store: &TrustStore) -> VerifyError {
    match error {
        SignatureError::Malformed => VerifyError::MalformedSignature,
        SignatureError::Legacy => VerifyError::LegacySignature,
        SignatureError::Revoked { key_id } => VerifyError::RevokedKey { key_id },
        SignatureError::Unknown { key_id } => VerifyError::UnknownKey {
            key_id: key_id_to_hex(&key_id),
            origin: store.origin.clone(),
        },
        SignatureError::Bad { key_id } => VerifyError::BadSignature { key_id },
    }
}

/// Parses a trusted comment: tab-separated `key:value` pairs. `product`,
/// `version` and `file` are required; a key may not appear twice; unknown keys
/// are ignored. The `trusted comment: ` prefix is accepted and stripped.
pub fn parse_trusted_comment(text: &str) -> Result<TrustedComment, VerifyError> {
    let fields = signature::comment_fields(text).map_err(VerifyError::MalformedComment)?;
    let required = |key| signature::required(&fields, key).map_err(VerifyError::MalformedComment);
    let product = required("product")?.to_string();
    let version_text = required("version")?;
    let version = Version::parse(version_text).map_err(|_| {
        VerifyError::MalformedComment(format!("version {version_text:?} is not semver"))
    })?;
    let file = required("file")?.to_string();
    let timestamp = match fields.get("timestamp") {
        None => None,
        Some(t) => Some(signature::digits(t).ok_or_else(|| {
            VerifyError::MalformedComment(format!("timestamp {t:?} is not a number"))
        })?),
    };
    Ok(TrustedComment {
        product,
        version,
        file,
        timestamp,
    })
}

/// Parses `SHA256SUMS` (`<64 lowercase hex>  <name>` per line, as
/// `sha256sum` writes it; `*` marks binary mode and is accepted). Any other
/// line makes the whole file malformed: it is signed, so a bad line means it is
/// not what the release tooling wrote.
pub fn parse_sums(bytes: &[u8]) -> Result<Vec<(String, [u8; 32])>, VerifyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| VerifyError::MalformedSums { line: 0 })?;
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let malformed = VerifyError::MalformedSums { line: index + 1 };
        if line.is_empty() {
            continue;
        }
        if line.len() < 67 || !line.is_char_boundary(64) {
            return Err(malformed);
        }
        let (hex, rest) = line.split_at(64);
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or(VerifyError::MalformedSums { line: index + 1 })?;
        let digest = parse_hex32(hex).ok_or(VerifyError::MalformedSums { line: index + 1 })?;
        if name.is_empty() || name.contains('/') || name.contains('\\') || name.trim() != name {
            return Err(malformed);
        }
        entries.push((name.to_string(), digest));
    }
    Ok(entries)
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Compares a computed digest with the signed one (step 4).
pub fn check_digest(file: &str, expected: &[u8; 32], actual: &[u8; 32]) -> Result<(), VerifyError> {
    if expected == actual {
        Ok(())
    } else {
        Err(VerifyError::ChecksumMismatch {
            file: file.to_string(),
            expected: hex(expected),
            actual: hex(actual),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn trusted_comment_table() {
        let ok = parse_trusted_comment("product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:5")
            .unwrap();
        assert_eq!(ok.version, Version::new(1, 2, 0));
        assert_eq!(ok.timestamp, Some(5));
        let with_prefix = parse_trusted_comment(
            "trusted comment: file:SHA256SUMS\tversion:1.0.0\tproduct:pane\tx:y",
        )
        .unwrap();
        assert_eq!(with_prefix.product, "pane");
        for bad in [
            "",
            "product:pane\tversion:1.2.0",
            "product:pane\tversion:1.2.0\tfile:SHA256SUMS\tversion:1.3.0",
            "product:pane\tversion:one\tfile:SHA256SUMS",
            "product:pane version:1.2.0 file:SHA256SUMS",
            "product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:soon",
            ":x\tproduct:pane\tversion:1.2.0\tfile:SHA256SUMS",
        ] {
            assert!(parse_trusted_comment(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn sums_table() {
        let good = format!("{H}  pane-1.0.0-x.tar.gz\n{H} *install.sh\n");
        let entries = parse_sums(good.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0, "install.sh");
        for bad in [
            format!("{H} pane.tar.gz"),
            format!("{}  pane.tar.gz", H.to_uppercase()),
            format!("{}  pane.tar.gz", &H[1..]),
            format!("{H}  ../pane.tar.gz"),
            format!("{H}  "),
            "garbage".to_string(),
        ] {
            assert!(parse_sums(bad.as_bytes()).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn one_line_per_name() {
        let sums = VerifiedSums {
            comment: parse_trusted_comment("product:pane\tversion:1.0.0\tfile:SHA256SUMS").unwrap(),
            key_name: "k".into(),
            entries: parse_sums(format!("{H}  a\n{H}  a\n{H}  b\n").as_bytes()).unwrap(),
        };
        assert_eq!(
            sums.expected("a"),
            Err(VerifyError::DuplicateInSums("a".into()))
        );
        assert!(sums.expected("b").is_ok());
        assert_eq!(sums.expected("c"), Err(VerifyError::NotInSums("c".into())));
    }

    #[test]
    fn key_ids_round_trip() {
        let id = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(key_id_to_hex(&id), "0807060504030201");
        assert_eq!(parse_key_id("0807060504030201"), Some(id));
        assert_eq!(parse_key_id("xyz"), None);
    }

    #[test]
    fn compiled_keys_parse() {
        // keys/ must always hold valid keys, or every release would be refused.
        let store = TrustStore::compiled().unwrap();
        assert_eq!(store.keys.len(), crate::keys::COMPILED_KEYS.len());
        assert!(
            store
                .keys
                .iter()
                .any(|k| !store.revoked.contains(&k.key_id)),
            "every compiled key is revoked: no release could be installed"
        );
    }

    #[test]
    fn malformed_signatures_are_refused_before_any_key_lookup() {
        let store = TrustStore::default();
        for bad in ["", "untrusted comment: x", "untrusted comment: x\nAAAA\n"] {
            assert_eq!(
                verify_sums(b"", bad, &store, None).unwrap_err(),
                VerifyError::MalformedSignature
            );
        }
    }
}
