//! What is installed where: the install receipt (docs/files.md, "The install
//! receipt"). Written atomically
//! (temp file, fsync, rename, fsync of the directory), so a reader sees the
//! whole old receipt or the whole new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::path_setup::ProfileEdit;
use crate::platform;

/// Bumped only on a change an older pane would misread. Added fields do not
/// bump it: an older pane ignores them and keeps them when it rewrites the
/// receipt ([`Receipt::other`]), so a downgrade or a rollback to it works.
pub const SCHEMA: u32 = 1;
pub const FILE_NAME: &str = "install-receipt.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub schema: u32,
    /// The version at the install path.
    pub version: Version,
    pub target: String,
    pub install_dir: PathBuf,
    /// Who made this installation: `install.sh`, `self install`, …
    pub installed_by: String,
    /// An exact version (`1.2.0`) or a semver requirement (`~1.2`).
    #[serde(default)]
    pub pin: Option<String>,
    /// Downgrade protection: `update` without a version never goes below this.
    pub highest_verified: Version,
    /// The same among releases that are not pre-releases: the floor for
    /// `update` without `--prerelease`, so trying a beta does not make the
    /// stable channel refuse every stable release below it.
    #[serde(default)]
    pub highest_verified_stable: Option<Version>,
    /// The version `rollback` returns to.
    #[serde(default)]
    pub previous: Option<Version>,
    /// Kept binaries under `<data dir>/versions/<version>/pane`.
    #[serde(default)]
    pub kept: Vec<KeptVersion>,
    /// Every shell-profile line pane added, so uninstall removes exactly those.
    #[serde(default)]
    pub profile_edits: Vec<ProfileEdit>,
    /// Files pane created for PATH set-up (`<install dir>/env`, fish conf.d).
    #[serde(default)]
    pub created_files: Vec<PathBuf>,
    /// Set just before the install path is swapped, cleared just after: if a
    /// crash falls between the two, the next run finds out which binary is in
    /// place and finishes or drops the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: u64,
    /// Every version this installation verified and installed, so the
    /// channel's withdrawals can take a version out of the downgrade floor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<Version>,
    /// Fields this pane does not know (a newer one wrote them): kept as they
    /// are when the receipt is rewritten.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptVersion {
    pub version: Version,
    /// Lowercase hex SHA-256 of `versions/<version>/pane`.
    pub sha256: String,
    /// Fields a newer pane added to the record: kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The receipt as it will be once the swap is done.
    pub after: Box<Receipt>,
    /// SHA-256 of the binary being swapped in.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("could not read the install receipt {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the install receipt {path} is corrupt ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the install receipt {path} has schema {found}, newer than this pane understands ({SCHEMA})")]
    FutureSchema { path: PathBuf, found: u64 },
    #[error("the installation was made by a newer pane (receipt schema {found}), and this pane cannot take over its receipt {path}: {reason}")]
    NewerUnreadable {
        path: PathBuf,
        found: u64,
        reason: String,
    },
    #[error("could not write the install receipt {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReceiptError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReceiptError::Corrupt { .. } => Some(
                "run `pane self install` from a working pane binary to repair the installation".into(),
            ),
            ReceiptError::FutureSchema { .. } => Some(
                "a newer pane manages this installation: run that one, or take it over with this one's `pane self install` (`--allow-downgrade` when this pane is older)".into(),
            ),
            ReceiptError::NewerUnreadable { path, .. } => Some(format!(
                "install with that pane (or a newer one); to start afresh with this one instead, move {} aside and run `pane self install` again, after which what the newer pane set up (shell profile lines, kept versions) is no longer pane's to undo",
                path.display()
            )),
            ReceiptError::Read { path, source } | ReceiptError::Write { path, source } => {
                platform::io_hint(source, path)
            }
        }
    }
}

impl Receipt {
    pub fn kept_version(&self, version: &Version) -> Option<&KeptVersion> {
        self.kept.iter().find(|k| &k.version == version)
    }

    /// Records that `version` was verified and installed.
    pub fn record_verified(&mut self, version: &Version) {
        if !self.verified.contains(version) {
            self.verified.push(version.clone());
            self.verified.sort();
        }
        self.highest_verified = self.highest_verified.clone().max(version.clone());
        if version.pre.is_empty() {
            let stable = self
                .highest_verified_stable
                .clone()
                .unwrap_or(Version::new(0, 0, 0));
            self.highest_verified_stable = Some(stable.max(version.clone()));
        }
    }

    /// What `update` without a version may not go below.
    pub fn downgrade_floor(&self, prerelease: bool) -> Version {
        if prerelease {
            return self.highest_verified.clone();
        }
        match &self.highest_verified_stable {
            Some(stable) => stable.clone(),
            None if self.highest_verified.pre.is_empty() => self.highest_verified.clone(),
            None => Version::new(0, 0, 0),
        }
    }

    /// Every version verified here: the list, and for a receipt an older
    /// pane wrote, the versions it recorded otherwise. Sorted, no repeats.
    pub fn verified_versions(&self) -> Vec<Version> {
        let mut all: Vec<Version> = self.verified.clone();
        all.push(self.highest_verified.clone());
        all.extend(self.highest_verified_stable.clone());
        all.push(self.version.clone());
        all.extend(self.kept.iter().map(|k| k.version.clone()));
        all.sort();
        all.dedup();
        all
    }

    /// [`Receipt::verified_versions`] an update counts: the stable ones,
    /// and pre-releases too with `prerelease` (`--prerelease`).
    pub fn verified_versions_for(&self, prerelease: bool) -> Vec<Version> {
        let mut all = self.verified_versions();
        all.retain(|v| prerelease || v.pre.is_empty());
        all
    }

    /// Read from a receipt of a newer schema ([`parse_newer`]).
    pub fn is_newer(&self) -> bool {
        self.schema > SCHEMA
    }

    pub fn install_path(&self) -> PathBuf {
        self.install_dir.join(crate::platform::BINARY_NAME)
    }
}

/// The largest receipt read: far more than any installation records.
const MAX_RECEIPT_BYTES: u64 = 4 * 1024 * 1024;

/// The receipt's bytes, read only from a regular file of at most
/// [`MAX_RECEIPT_BYTES`]; `None` when there is none.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, ReceiptError> {
    platform::read_regular(path, MAX_RECEIPT_BYTES).map_err(|source| ReceiptError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the receipt; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Receipt>, ReceiptError> {
    let Some(bytes) = read_bytes(path)? else {
        return Ok(None);
    };
    parse(&bytes, path).map(Some)
}

/// Parses receipt bytes; the schema is checked before anything else.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Receipt, ReceiptError> {
    let corrupt = |reason: String| ReceiptError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(corrupt("it is empty".into()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let schema = value
        .get("schema")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| corrupt("no schema number".into()))?;
    if schema > u64::from(SCHEMA) {
        return Err(ReceiptError::FutureSchema {
            path: path.to_path_buf(),
            found: schema,
        });
    }
    if schema != u64::from(SCHEMA) {
        return Err(corrupt(format!("unknown schema {schema}")));
    }
    let receipt: Receipt = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    // Recovery may make the journaled receipt the receipt: it must be one
    // this pane understands, and not journal a change of its own.
    if let Some(pending) = &receipt.pending {
        if pending.after.schema != SCHEMA || pending.after.pending.is_some() {
            return Err(corrupt(
                "its journaled change is not a receipt of this schema".into(),
            ));
        }
    }
    Ok(receipt)
}

/// Reads a receipt of a newer schema ([`ReceiptError::FutureSchema`]) for
/// `self install` to take the installation over; see [`parse_newer`].
pub fn load_newer(path: &Path) -> Result<Receipt, ReceiptError> {
    let bytes = read_bytes(path)?.ok_or_else(|| ReceiptError::Read {
        path: path.to_path_buf(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    parse_newer(&bytes, path)
}

/// The fields a newer receipt must hold, by name, to be taken over.
const NEWER_MUST_HOLD: [&str; 6] = [
    "version",
    "install_dir",
    "highest_verified",
    "kept",
    "profile_edits",
    "created_files",
];

/// A receipt of a newer schema, read so that `self install` can take the
/// installation over without losing what it records (the downgrade floor,
/// the PATH set-up, the kept versions): the fields this pane knows, as it
/// reads them, under this pane's schema. The fields it does not know are
/// dropped: a schema is raised only for a change an older pane would
/// misread, so nothing of the newer layout goes back under this schema. An
/// error, never a guess, when the known fields do not read, or when a change
/// the newer pane journaled is under way.
pub fn parse_newer(bytes: &[u8], path: &Path) -> Result<Receipt, ReceiptError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ReceiptError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("not JSON: {e}"),
        })?;
    let found = value
        .get("schema")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let unreadable = |reason: String| ReceiptError::NewerUnreadable {
        path: path.to_path_buf(),
        found,
        reason,
    };
    let serde_json::Value::Object(fields) = value else {
        return Err(unreadable("it is not a JSON object".into()));
    };
    if fields.get("pending").is_some_and(|p| !p.is_null()) {
        return Err(unreadable(
            "it journals a change still under way, which that pane finishes".into(),
        ));
    }
    // What a take-over must not lose is there by name, never a default: a
    // newer layout that keeps the PATH records or the kept versions elsewhere
    // would otherwise read as "none", and their lines and files be left.
    if let Some(missing) = NEWER_MUST_HOLD.iter().find(|k| !fields.contains_key(**k)) {
        return Err(unreadable(format!("it has no `{missing}`")));
    }
    // `schema` stays the newer one, so that `self install` replaces the file
    // only with its final receipt (`Receipt::is_newer`), never by a journal
    // or a restore.
    let mut receipt: Receipt = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| unreadable(format!("its fields do not read as this pane's: {e}")))?;
    receipt.pending = None;
    receipt.other.clear();
    for kept in &mut receipt.kept {
        kept.other.clear();
    }
    for edit in &mut receipt.profile_edits {
        edit.other.clear();
    }
    Ok(receipt)
}

/// Writes the receipt atomically.
pub fn save(path: &Path, receipt: &Receipt) -> Result<(), ReceiptError> {
    let mut bytes = serde_json::to_vec_pretty(receipt).expect("a receipt always serializes");
    bytes.push(b'\n');
    let write = |file: &mut fs::File| file.write_all(&bytes);
    platform::replace_file(path, 0o644, Some("receipt-written-temp"), write).map_err(|source| {
        ReceiptError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downgrade_floors() {
        let mut receipt = sample();
        receipt.highest_verified = Version::new(1, 0, 0);
        receipt.record_verified(&Version::parse("1.3.0-beta.1").unwrap());
        assert_eq!(
            receipt.downgrade_floor(true),
            Version::parse("1.3.0-beta.1").unwrap()
        );
        assert_eq!(receipt.downgrade_floor(false), Version::new(0, 0, 0));
        receipt.record_verified(&Version::new(1, 2, 0));
        assert_eq!(receipt.downgrade_floor(false), Version::new(1, 2, 0));
        assert_eq!(
            receipt.downgrade_floor(true),
            Version::parse("1.3.0-beta.1").unwrap()
        );
    }

    fn sample() -> Receipt {
        Receipt {
            schema: SCHEMA,
            version: Version::new(1, 2, 0),
            target: "x86_64-unknown-linux-musl".into(),
            install_dir: "/home/u/.local/bin".into(),
            installed_by: "install.sh".into(),
            pin: Some("~1.2".into()),
            highest_verified: Version::new(1, 3, 0),
            highest_verified_stable: None,
            previous: Some(Version::new(1, 1, 0)),
            kept: vec![KeptVersion {
                version: Version::new(1, 2, 0),
                sha256: "00".repeat(32),
                other: Default::default(),
            }],
            profile_edits: vec![],
            created_files: vec![],
            pending: None,
            updated_at: 7,
            verified: vec![Version::new(1, 2, 0)],
            other: serde_json::Map::new(),
        }
    }

    #[test]
    fn fields_of_a_newer_pane_are_kept() {
        let path = Path::new("r.json");
        let mut value = serde_json::to_value(sample()).unwrap();
        value["rollout_serial"] = 42.into();
        value["future"] = serde_json::json!({"nested": [1, 2]});
        value["pending"] = serde_json::json!(null);
        let receipt = parse(&serde_json::to_vec(&value).unwrap(), path).unwrap();
        assert_eq!(receipt.other["rollout_serial"], 42);
        let again = serde_json::to_value(&receipt).unwrap();
        assert_eq!(again["future"]["nested"][1], 2);
        assert_eq!(again["verified"][0], "1.2.0");
    }

    #[test]
    fn round_trip_and_refusals() {
        let path = Path::new("r.json");
        let receipt = sample();
        let bytes = serde_json::to_vec(&receipt).unwrap();
        assert_eq!(parse(&bytes, path).unwrap(), receipt);
        assert!(matches!(
            parse(b"", path),
            Err(ReceiptError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(b"{", path),
            Err(ReceiptError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(b"[]", path),
            Err(ReceiptError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(br#"{"schema":99,"whatever":1}"#, path),
            Err(ReceiptError::FutureSchema { found: 99, .. })
        ));
        assert!(matches!(
            parse(br#"{"schema":1,"version":"x"}"#, path),
            Err(ReceiptError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_newer_schema_is_read_by_the_fields_this_pane_knows() {
        let path = Path::new("r.json");
        let mut value = serde_json::to_value(sample()).unwrap();
        value["schema"] = 2.into();
        value["layout"] = "two".into();
        value["kept"][0]["layout"] = "two".into();
        value["profile_edits"] = serde_json::json!([{"file": "/p", "line": "L", "layout": "two"}]);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            parse(&bytes, path),
            Err(ReceiptError::FutureSchema { found: 2, .. })
        ));
        let mut taken = parse_newer(&bytes, path).unwrap();
        assert!(taken.is_newer());
        // Equal by file and line; what else the record held is dropped.
        let edit = taken.profile_edits.remove(0);
        assert_eq!((edit.file.to_str(), edit.line.as_str()), (Some("/p"), "L"));
        assert!(edit.other.is_empty(), "{:?}", edit.other);
        let sample_as_newer = Receipt {
            schema: 2,
            ..sample()
        };
        assert_eq!(taken, sample_as_newer, "known fields kept, unknown dropped");

        // Fields that no longer read as this pane's, or a journaled change:
        // refused, never guessed at.
        for (key, field) in [
            ("version", Some(serde_json::json!({"major": 2}))),
            (
                "pending",
                Some(serde_json::json!({"after": {}, "sha256": "00"})),
            ),
            // The records a take-over keeps, moved elsewhere by the newer layout.
            ("profile_edits", None),
            ("kept", None),
        ] {
            let mut odd = value.clone();
            match field {
                Some(field) => odd[key] = field,
                None => {
                    odd.as_object_mut().unwrap().remove(key);
                }
            }
            let bytes = serde_json::to_vec(&odd).unwrap();
            assert!(
                matches!(
                    parse_newer(&bytes, path),
                    Err(ReceiptError::NewerUnreadable { found: 2, .. })
                ),
                "{key}"
            );
        }
        assert!(matches!(
            parse_newer(br#"{"schema": 99}"#, path),
            Err(ReceiptError::NewerUnreadable { found: 99, .. })
        ));
    }
}
