//! The installation's channel state: the last channel document it accepted,
//! verbatim with its signature, and its rollout number.
//!
//! Anti-replay follows TUF's client workflow: fetch, verify, refuse a serial
//! lower than the one trusted, and only then persist the new document as the
//! trusted copy. So neither a replayed older document nor a server that stops
//! serving the document can undo a withdrawal: the stored one goes on
//! applying. The stored document is verified again each time it is used, so a
//! key revoked by a later release drops what it signed (and with it the
//! serial, so a thief's huge serial cannot lock the maintainers out).
//!
//! The file (`channel-state.json` in pane's state dir, beside the receipt) is
//! JSON with a `schema` number; fields this version does not know are kept
//! when it rewrites the file, so older and newer panes can share it.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::verify::{verify_document, ChannelKeys, VerifiedChannel};
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
            unknown: Map::new(),
        }
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
    /// The fetched document is older than the one held: a replay, or a stale
    /// mirror. Ignored.
    Replayed { offered: u64, held: u64 },
    /// The fetched document has the serial of the held one but other bytes:
    /// two documents signed with one serial. The held one applies.
    Conflict { serial: u64 },
    /// The server has no document, but one was accepted before: it goes on
    /// applying.
    Withheld { held: u64 },
    /// The fetch failed; the stored document (if any) applies.
    FetchFailed(String),
    /// The stored document no longer verifies (its key was revoked since):
    /// it is dropped.
    StoredInvalid(ChannelError),
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
/// a higher serial replaces, an equal one is the same document, a lower one
/// is ignored with a warning; a missing or refused document leaves the
/// stored one applying. Pure: the caller loads and saves the state.
pub fn accept(state: &mut StoredState, fetched: Fetched, keys: &ChannelKeys) -> Acceptance {
    let mut events = Vec::new();
    let held = match &state.document {
        None => None,
        Some(stored) => match verify_document(stored.text.as_bytes(), &stored.signature, keys) {
            Ok(verified) => Some(verified),
            Err(error) => {
                events.push(ChannelEvent::StoredInvalid(error));
                None
            }
        },
    };
    let mut changed = false;
    if held.is_none() && state.document.is_some() {
        state.document = None;
        changed = true;
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
        Fetched::Document { bytes, signature } => match verify_document(&bytes, &signature, keys) {
            Err(error) => {
                events.push(ChannelEvent::Rejected(error));
                held
            }
            Ok(new) => {
                let (current, event, replaced) = keep_newer(state, held, new, bytes, signature);
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
/// new one replaced the held one in `state`.
fn keep_newer(
    state: &mut StoredState,
    held: Option<VerifiedChannel>,
    new: VerifiedChannel,
    bytes: Vec<u8>,
    signature: String,
) -> (Option<VerifiedChannel>, ChannelEvent, bool) {
    let offered = new.document.serial;
    let previous = held.as_ref().map(|h| h.document.serial);
    if let Some(held) = held {
        let held_serial = held.document.serial;
        if offered < held_serial {
            let event = ChannelEvent::Replayed {
                offered,
                held: held_serial,
            };
            return (Some(held), event, false);
        }
        if offered == held_serial {
            let same = state.document.as_ref().map(|s| s.text.as_bytes()) == Some(&bytes[..]);
            let event = if same {
                ChannelEvent::Unchanged { serial: offered }
            } else {
                ChannelEvent::Conflict { serial: offered }
            };
            return (Some(held), event, false);
        }
    }
    // A verified document parsed as JSON, and so is UTF-8.
    let text = String::from_utf8(bytes).expect("a verified document is UTF-8 JSON");
    state.document = Some(StoredDocument {
        text,
        signature,
        unknown: Map::new(),
    });
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
