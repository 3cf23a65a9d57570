//! The installation's channel state: the last channel document it accepted,
//! verbatim with its signature, and its rollout number.
//!
//! Anti-replay follows TUF's client workflow: fetch, verify, refuse a serial
//! lower than the one trusted, and only then persist the new document as the
//! trusted copy. So neither a replayed older document nor a server that stops
//! serving the document can undo a withdrawal: the stored one goes on
//! applying. The stored document is verified again each time it is used, so a
//! key revoked by a later release drops what it signed (and with it that
//! key's serial, so a thief's huge serial cannot lock the maintainers out).
//! A stored document that fails to verify for any other reason (a channel
//! key only a newer pane knows, after a rollback; a schema or a field only a
//! newer pane reads) is kept as it is but not applied, and its serial still
//! refuses older documents: older and newer panes share the file.
//!
//! Besides the document, the state keeps the highest serial accepted under
//! each channel key. Those of keys that are not revoked are a floor below
//! which no document is accepted, even once the stored document is dropped.
//!
//! The file (`channel-state.json` in pane's state dir, beside the receipt) is
//! JSON with a `schema` number; fields this version does not know are kept
//! when it rewrites the file, so older and newer panes can share it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rollout::RolloutNumber;
use super::verify::{key_id_to_hex, verify_document, ChannelKeys, VerifiedChannel};
use super::ChannelError;

/// The state file's name in the state dir.
pub const STATE_FILE_NAME: &str = "channel-state.json";

/// The schema this version writes (a newer one's number is kept).
pub const STATE_SCHEMA: u32 = 1;

/// The largest state file read: a document, its signature and some slack.
const MAX_STATE_BYTES: u64 = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredState {
    pub schema: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<StoredDocument>,
    /// This installation's rollout number in [0, 1), drawn once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_number: Option<f64>,
    /// The highest serial accepted under each channel key, by key id (as
    /// minisign prints it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub serials: BTreeMap<String, u64>,
    /// Fields a newer pane wrote, kept as they are.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

impl Default for StoredState {
    fn default() -> StoredState {
        StoredState {
            schema: STATE_SCHEMA,
            document: None,
            rollout_number: None,
            serials: BTreeMap::new(),
            unknown: Map::new(),
        }
    }
}

impl StoredState {
    /// The serial no accepted document may be below: the highest accepted
    /// under a key `keys` does not revoke, and the stored document's (which
    /// is kept even where it does not verify, unless its key is revoked).
    pub fn serial_floor(&self, keys: &ChannelKeys) -> Option<u64> {
        let revoked: Vec<String> = keys.revoked.iter().map(key_id_to_hex).collect();
        let by_key = self
            .serials
            .iter()
            .filter(|(id, _)| !revoked.iter().any(|r| r.eq_ignore_ascii_case(id)))
            .map(|(_, serial)| *serial);
        let stored = self
            .document
            .as_ref()
            .filter(|d| !d.revoked(keys))
            .and_then(StoredDocument::claimed_serial);
        by_key.chain(stored).max()
    }

    /// Records `serial` as accepted under `key_id`; `true` if that is news.
    fn record_serial(&mut self, key_id: &str, serial: u64) -> bool {
        let entry = self.serials.entry(key_id.to_string()).or_insert(0);
        let news = *entry < serial;
        *entry = (*entry).max(serial);
        news
    }
}

/// A document exactly as it was accepted, so it can be verified again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredDocument {
    /// `channel.json`, verbatim (UTF-8, as JSON is).
    pub text: String,
    /// `channel.json.minisig`, verbatim.
    pub signature: String,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

impl StoredDocument {
    /// The serial the document says, read without verifying it (it may be
    /// signed by a key, or written in a schema, that only a newer pane
    /// knows); `None` when the text has no number there.
    pub fn claimed_serial(&self) -> Option<u64> {
        serde_json::from_str::<Value>(&self.text).ok()?["serial"].as_u64()
    }

    /// Whether its signature names a key `keys` revokes (the key id alone:
    /// no signature check, which `accept` has made already).
    fn revoked(&self, keys: &ChannelKeys) -> bool {
        crate::signature::signer_key_id(&self.signature)
            .is_some_and(|id| keys.revoked.contains(&id))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a channel state file pane can read: {why}; remove it to start afresh")]
    Corrupt { path: PathBuf, why: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where the state lives. The directory is a parameter (pane's state dir in
/// use, a temporary one in tests).
#[derive(Clone, Debug)]
pub struct ChannelStore {
    path: PathBuf,
}

impl ChannelStore {
    pub fn in_dir(state_dir: &Path) -> ChannelStore {
        ChannelStore {
            path: state_dir.join(STATE_FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored state; the default (nothing accepted yet) when there is no
    /// file. A symlink, an oversized or unreadable file is an error.
    pub fn load(&self) -> Result<StoredState, StateError> {
        let bytes =
            crate::platform::read_limited(&self.path, MAX_STATE_BYTES).map_err(|source| {
                StateError::Read {
                    path: self.path.clone(),
                    source,
                }
            })?;
        let Some(bytes) = bytes else {
            return Ok(StoredState::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: self.path.clone(),
            why: e.to_string(),
        })
    }

    /// Writes what changed from `loaded` (the state as read earlier) to
    /// `ours` over the file as it is now, which another pane may have
    /// rewritten meanwhile: a document replaces the one on disk only if that
    /// is still the one `loaded` held or has a lower serial, so a slower
    /// writer never lowers the stored serial; the serials by key only rise;
    /// a rollout number is written only where the file has none. Nothing is
    /// written when nothing would change. Returns the state the file holds
    /// now.
    pub fn save_over(
        &self,
        loaded: &StoredState,
        ours: &StoredState,
    ) -> Result<StoredState, StateError> {
        let mut disk = self.load()?;
        let before = disk.clone();
        let claimed =
            |d: &Option<StoredDocument>| d.as_ref().and_then(StoredDocument::claimed_serial);
        if ours.document != loaded.document
            && (disk.document == loaded.document
                || claimed(&disk.document) < claimed(&ours.document))
        {
            disk.document.clone_from(&ours.document);
        }
        for (key_id, serial) in &ours.serials {
            disk.record_serial(key_id, *serial);
        }
        let has_number = disk
            .rollout_number
            .and_then(RolloutNumber::from_stored)
            .is_some();
        if !has_number && ours.rollout_number != loaded.rollout_number {
            disk.rollout_number = ours.rollout_number;
        }
        if disk != before {
            self.save(&disk)?;
        }
        Ok(disk)
    }

    /// Writes the state atomically, into a data dir that exists: only an
    /// installation pane manages keeps state, and one an uninstall removed
    /// while a command ran is not brought back.
    pub fn save(&self, state: &StoredState) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(state).expect("the state always serializes");
        bytes.push(b'\n');
        crate::platform::write_atomic_in_existing_dir(&self.path, &bytes, 0o644).map_err(|source| {
            StateError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }

    /// Removes the file (uninstall). Nothing to remove is fine.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// What fetching `channel.json` gave.
#[derive(Clone, Debug)]
pub enum Fetched {
    /// The document and its signature (both within their size caps).
    Document { bytes: Vec<u8>, signature: String },
    /// The server has no document (404): normal for old mirrors.
    Missing,
    /// The fetch failed (network, timeout, other status).
    Failed(String),
}

/// Something the caller may tell the user; only [`ChannelEvent::Accepted`]
/// and [`ChannelEvent::Unchanged`] are not warnings.
#[derive(Clone, Debug, PartialEq)]
pub enum ChannelEvent {
    /// A new document was accepted (and the state changed).
    Accepted { serial: u64, previous: Option<u64> },
    /// The server sent the document already held.
    Unchanged { serial: u64 },
    /// The fetched document was refused; the stored one (if any) applies.
    Rejected(ChannelError),
    /// The fetched document is older than one accepted before (`held` is
    /// the [`StoredState::serial_floor`]): a replay, or a stale mirror.
    /// Ignored.
    Replayed { offered: u64, held: u64 },
    /// The fetched document has the serial of the held one but other bytes:
    /// two documents signed with one serial. The held one applies.
    Conflict { serial: u64 },
    /// The server has no document, but one was accepted before: it goes on
    /// applying.
    Withheld { held: u64 },
    /// The fetch failed; the stored document (if any) applies.
    FetchFailed(String),
    /// The stored document's key was revoked since it was accepted: it is
    /// dropped.
    StoredRevoked(ChannelError),
    /// The stored document does not verify here for another reason (a key,
    /// a schema or a field only a newer pane knows): it is kept as it is,
    /// but does not apply; its serial (`None` if unreadable) still refuses
    /// older documents.
    StoredUnusable {
        serial: Option<u64>,
        error: ChannelError,
    },
}

impl ChannelEvent {
    pub fn is_warning(&self) -> bool {
        !matches!(
            self,
            ChannelEvent::Accepted { .. } | ChannelEvent::Unchanged { .. }
        )
    }
}

/// The outcome of [`accept`]: the document that applies now, what happened,
/// and whether `state` changed (and so should be saved).
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub current: Option<VerifiedChannel>,
    pub events: Vec<ChannelEvent>,
    pub changed: bool,
}

/// Verifies the stored document and the fetched one, and keeps the newer:
/// a higher serial replaces, an equal one is the same document, one below
/// the [`StoredState::serial_floor`] is ignored with a warning; a missing or
/// refused document leaves the stored one applying. A stored document whose
/// key is revoked is dropped; one that fails to verify otherwise is kept
/// but does not apply. Pure: the caller loads and saves the state.
pub fn accept(state: &mut StoredState, fetched: Fetched, keys: &ChannelKeys) -> Acceptance {
    let mut events = Vec::new();
    let mut changed = false;
    let held = match &state.document {
        None => None,
        Some(stored) => match verify_document(stored.text.as_bytes(), &stored.signature, keys) {
            Ok(verified) => Some(verified),
            Err(error @ ChannelError::RevokedKey { .. }) => {
                events.push(ChannelEvent::StoredRevoked(error));
                state.document = None;
                changed = true;
                None
            }
            Err(error) => {
                let serial = stored.claimed_serial();
                events.push(ChannelEvent::StoredUnusable { serial, error });
                None
            }
        },
    };
    if let Some(held) = &held {
        // A document accepted before the serials were kept by key.
        changed |= state.record_serial(&held.key_id, held.document.serial);
    }
    let current = match fetched {
        Fetched::Missing => {
            let held_serial = held.as_ref().map(|h| h.document.serial);
            events.extend(held_serial.map(|held| ChannelEvent::Withheld { held }));
            held
        }
        Fetched::Failed(why) => {
            events.push(ChannelEvent::FetchFailed(why));
            held
        }
        Fetched::Document { bytes, signature } => match verify_document(&bytes, &signature, keys)
            .and_then(|new| match String::from_utf8(bytes) {
                Ok(text) => Ok((new, text)),
                // `verify_document` refuses it first; this keeps a panic out.
                Err(e) => Err(ChannelError::InvalidJson(format!("it is not UTF-8 ({e})"))),
            }) {
            Err(error) => {
                events.push(ChannelEvent::Rejected(error));
                held
            }
            Ok((new, text)) => {
                let (current, event, replaced) =
                    keep_newer(state, keys, held, new, text, signature);
                events.push(event);
                changed |= replaced;
                current
            }
        },
    };
    Acceptance {
        current,
        events,
        changed,
    }
}

/// The newer of the held document and a verified new one; `true` when the
/// new one replaced the stored one in `state`.
fn keep_newer(
    state: &mut StoredState,
    keys: &ChannelKeys,
    held: Option<VerifiedChannel>,
    new: VerifiedChannel,
    text: String,
    signature: String,
) -> (Option<VerifiedChannel>, ChannelEvent, bool) {
    let offered = new.document.serial;
    if let Some(floor) = state.serial_floor(keys).filter(|floor| offered < *floor) {
        let event = ChannelEvent::Replayed {
            offered,
            held: floor,
        };
        return (held, event, false);
    }
    // The stored document's serial, verified here or not.
    let previous = match &held {
        Some(held) => Some(held.document.serial),
        None => state
            .document
            .as_ref()
            .and_then(StoredDocument::claimed_serial),
    };
    if previous == Some(offered) {
        let same = state.document.as_ref().map(|s| &s.text) == Some(&text);
        if same {
            // Where the stored copy does not verify here, this one does.
            let current = held.or(Some(new));
            return (current, ChannelEvent::Unchanged { serial: offered }, false);
        }
        return (held, ChannelEvent::Conflict { serial: offered }, false);
    }
    state.document = Some(StoredDocument {
        text,
        signature,
        unknown: Map::new(),
    });
    state.record_serial(&new.key_id, offered);
    let event = ChannelEvent::Accepted {
        serial: offered,
        previous,
    };
    (Some(new), event, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_default_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChannelStore::in_dir(dir.path());
        assert_eq!(store.load().unwrap(), StoredState::default());
        store.remove().unwrap();
    }

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChannelStore::in_dir(dir.path());
        // As a newer pane might write it.
        std::fs::write(
            store.path(),
            r#"{"schema":3,"document":{"text":"{}","signature":"s","fetched_from":"mirror"},
               "rollout_number":0.25,"auto_log":[{"at":1,"did":"update"}]}"#,
        )
        .unwrap();
        let mut state = store.load().unwrap();
        assert_eq!(state.schema, 3);
        assert_eq!(state.rollout_number, Some(0.25));
        state.rollout_number = Some(0.5);
        store.save(&state).unwrap();
        let value: Value = serde_json::from_slice(&std::fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(value["schema"], 3);
        assert_eq!(value["rollout_number"], 0.5);
        assert_eq!(value["auto_log"][0]["did"], "update");
        assert_eq!(value["document"]["fetched_from"], "mirror");
        assert_eq!(value["document"]["text"], "{}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChannelStore::in_dir(dir.path());
        for bad in ["", "[]", "{", r#"{"document":1}"#] {
            std::fs::write(store.path(), bad).unwrap();
            assert!(
                matches!(store.load(), Err(StateError::Corrupt { .. })),
                "{bad:?}"
            );
        }
    }
}
