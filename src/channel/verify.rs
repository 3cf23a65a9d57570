//! Checking a channel document's signature: bytes and channel keys in, a
//! verified document or a typed rejection out.
//!
//! The order, each step before the next byte is trusted:
//! 1. the document is at most 64 KiB and its signature at most 4 KiB;
//! 2. the signature is prehashed minisign (`ED`; legacy `Ed` is refused);
//! 3. its key is not revoked, and is a **channel** key: a release key (one
//!    that may sign `SHA256SUMS`) is refused by name, so a stolen release key
//!    cannot withdraw releases or steer installations;
//! 4. the signature verifies over the document and its trusted comment;
//! 5. the trusted comment says `product:pane`, `file:channel.json` and a
//!    `serial:<n>` (and may say `timestamp:<unix seconds>`);
//! 6. the document parses, and its `serial` equals the comment's.
//!
//! Nothing here does I/O.

use super::document::{ChannelDocument, FILE_NAME, MAX_DOCUMENT_BYTES};
use super::ChannelError;

/// The largest signature file read.
pub const MAX_SIGNATURE_BYTES: usize = 4 * 1024;

use crate::signature::{self, key_id_of, SignatureError};
pub use crate::signature::{key_id_to_hex, parse_key_id, PublicKey as ChannelKey};

/// A key line of `name`, or the error that names it.
fn channel_key(name: &str, line: &str) -> Result<ChannelKey, ChannelError> {
    ChannelKey::from_base64(name, line).ok_or_else(|| ChannelError::BadPublicKey {
        name: name.to_string(),
    })
}

/// The keys a channel document may be signed with, the ids that are refused,
/// and the ids of release keys (refused here, with their own message).
#[derive(Clone, Debug, Default)]
pub struct ChannelKeys {
    pub keys: Vec<ChannelKey>,
    pub revoked: Vec<[u8; 8]>,
    pub release_key_ids: Vec<[u8; 8]>,
    /// Where the keys came from, for messages.
    pub origin: String,
}

impl ChannelKeys {
    /// The channel keys compiled in from `keys/channel/`, with the revoked ids
    /// of `keys/revoked` and the release keys of `keys/*.pub`.
    pub fn compiled() -> Result<ChannelKeys, ChannelError> {
        let keys = crate::keys::CHANNEL_KEYS
            .iter()
            .map(|(name, line)| channel_key(name, line))
            .collect::<Result<Vec<_>, _>>()?;
        let revoked = crate::keys::REVOKED_KEY_IDS
            .iter()
            .map(|id| parse_key_id(id).ok_or_else(|| ChannelError::BadRevokedId(id.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChannelKeys {
            keys,
            revoked,
            release_key_ids: compiled_release_key_ids(),
            origin: "the channel keys compiled into pane".into(),
        })
    }

    /// One key given as a base64 key line (tests, forks).
    pub fn single(name: &str, line: &str) -> Result<ChannelKeys, ChannelError> {
        Ok(ChannelKeys {
            keys: vec![channel_key(name, line)?],
            revoked: Vec::new(),
            release_key_ids: Vec::new(),
            origin: format!("the key in {name}"),
        })
    }

    /// The channel keys of this build, given the values of
    /// `PANE_TEST_CHANNEL_PUBKEY` and `PANE_TEST_PUBKEY`. In builds with debug
    /// assertions the first (else the second) replaces the compiled channel
    /// keys, and `PANE_TEST_PUBKEY` replaces the release keys that are
    /// refused here; a release build ignores both.
    pub fn for_build(
        test_channel_pubkey: Option<&str>,
        test_pubkey: Option<&str>,
    ) -> Result<ChannelKeys, ChannelError> {
        if !cfg!(debug_assertions) {
            return ChannelKeys::compiled();
        }
        let release_key_ids = match test_pubkey {
            Some(line) => key_id_of(line).into_iter().collect(),
            None => compiled_release_key_ids(),
        };
        let (name, line) = match (test_channel_pubkey, test_pubkey) {
            (Some(line), _) => ("PANE_TEST_CHANNEL_PUBKEY", line),
            (None, Some(line)) => ("PANE_TEST_PUBKEY", line),
            (None, None) => return ChannelKeys::compiled(),
        };
        let mut keys = ChannelKeys::single(name, line)?;
        // With one test key for both roles, that key is the channel key.
        let channel_id = keys.keys[0].key_id;
        keys.release_key_ids = release_key_ids
            .into_iter()
            .filter(|id| *id != channel_id)
            .collect();
        Ok(keys)
    }
}

fn compiled_release_key_ids() -> Vec<[u8; 8]> {
    crate::keys::RELEASE_KEYS
        .iter()
        .filter_map(|(_, line)| key_id_of(line))
        .collect()
}

/// A document whose signature, trusted comment and contents were checked.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedChannel {
    pub document: ChannelDocument,
    /// The id of the key that signed it, as minisign prints it.
    pub key_id: String,
    /// The signing time from the trusted comment, if it says one.
    pub signed_at: Option<u64>,
}

/// Steps 1–6 above.
pub fn verify_document(
    document: &[u8],
    signature_text: &str,
    keys: &ChannelKeys,
) -> Result<VerifiedChannel, ChannelError> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(ChannelError::Oversized {
            size: document.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    if signature_text.len() > MAX_SIGNATURE_BYTES {
        return Err(ChannelError::MalformedSignature);
    }
    let (key, comment) = signature::check(document, signature_text, &keys.keys, &keys.revoked)
        .map_err(|e| signature_error(e, keys))?;
    let comment = parse_comment(&comment)?;
    let parsed = ChannelDocument::parse(document)?;
    if parsed.serial != comment.serial {
        return Err(ChannelError::SerialMismatch {
            signed: comment.serial,
            document: parsed.serial,
        });
    }
    Ok(VerifiedChannel {
        document: parsed,
        key_id: key_id_to_hex(&key.key_id),
        signed_at: comment.timestamp,
    })
}

/// The channel's words for a refused signature; a release key, which the
/// channel keys do not hold, is refused by name.
fn signature_error(error: SignatureError, keys: &ChannelKeys) -> ChannelError {
    match error {
        SignatureError::Malformed => ChannelError::MalformedSignature,
        SignatureError::Legacy => ChannelError::LegacySignature,
        SignatureError::Revoked { key_id } => ChannelError::RevokedKey { key_id },
        SignatureError::Unknown { key_id } if keys.release_key_ids.contains(&key_id) => {
            ChannelError::ReleaseKey {
                key_id: key_id_to_hex(&key_id),
            }
        }
        SignatureError::Unknown { key_id } => ChannelError::UnknownKey {
            key_id: key_id_to_hex(&key_id),
            origin: keys.origin.clone(),
        },
        SignatureError::Bad { key_id } => ChannelError::BadSignature { key_id },
    }
}

/// The fields of a channel signature's trusted comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelComment {
    pub serial: u64,
    pub timestamp: Option<u64>,
}

/// Parses and checks a trusted comment: tab-separated `key:value` pairs, no
/// key twice, `product:pane`, `file:channel.json` and `serial:<digits>`
/// required, `timestamp:<digits>` optional, other keys ignored.
pub fn parse_comment(text: &str) -> Result<ChannelComment, ChannelError> {
    let fields = signature::comment_fields(text).map_err(ChannelError::MalformedComment)?;
    let required = |key| signature::required(&fields, key).map_err(ChannelError::MalformedComment);
    let product = required("product")?;
    if product != "pane" {
        return Err(ChannelError::WrongProduct {
            found: product.to_string(),
        });
    }
    let file = required("file")?;
    if file != FILE_NAME {
        return Err(ChannelError::WrongFile {
            found: file.to_string(),
        });
    }
    let serial = signature::digits(required("serial")?)
        .ok_or_else(|| ChannelError::MalformedComment("the serial is not a number".into()))?;
    let timestamp = match fields.get("timestamp") {
        None => None,
        Some(t) => Some(
            signature::digits(t)
                .ok_or_else(|| ChannelError::MalformedComment(format!("timestamp {t:?}")))?,
        ),
    };
    Ok(ChannelComment { serial, timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_table() {
        let ok = parse_comment("product:pane\tfile:channel.json\tserial:42\ttimestamp:7").unwrap();
        assert_eq!(
            ok,
            ChannelComment {
                serial: 42,
                timestamp: Some(7)
            }
        );
        let prefixed =
            parse_comment("trusted comment: serial:1\tfile:channel.json\tproduct:pane\tx:y")
                .unwrap();
        assert_eq!(prefixed.timestamp, None);
        assert!(matches!(
            parse_comment("product:other\tfile:channel.json\tserial:1"),
            Err(ChannelError::WrongProduct { .. })
        ));
        assert!(matches!(
            parse_comment("product:pane\tfile:SHA256SUMS\tserial:1\tversion:1.0.0"),
            Err(ChannelError::WrongFile { .. })
        ));
        // Spaces are not separators: the product is then "pane file:…".
        assert!(matches!(
            parse_comment("product:pane file:channel.json serial:1"),
            Err(ChannelError::WrongProduct { .. })
        ));
        for bad in [
            "",
            "product:pane\tfile:channel.json",
            "product:pane\tfile:channel.json\tserial:+1",
            "product:pane\tfile:channel.json\tserial:",
            "product:pane\tfile:channel.json\tserial:1\tserial:2",
            "product:pane\tfile:channel.json\tserial:1\ttimestamp:soon",
            ":x\tproduct:pane\tfile:channel.json\tserial:1",
        ] {
            assert!(
                matches!(parse_comment(bad), Err(ChannelError::MalformedComment(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn compiled_channel_keys_parse_and_are_not_release_keys() {
        let keys = ChannelKeys::compiled().unwrap();
        assert_eq!(keys.keys.len(), crate::keys::CHANNEL_KEYS.len());
        assert!(
            keys.keys.iter().any(|k| !keys.revoked.contains(&k.key_id)),
            "every compiled channel key is revoked: no channel document could be accepted"
        );
        assert!(!keys.release_key_ids.is_empty());
        // The release verifier reads COMPILED_KEYS: it must hold no channel
        // key, so a channel key cannot sign a release.
        for (name, line) in crate::keys::CHANNEL_KEYS {
            assert!(
                !crate::keys::COMPILED_KEYS.iter().any(|(_, l)| l == line),
                "channel key {name} is trusted for releases"
            );
        }
        assert_eq!(crate::keys::COMPILED_KEYS, crate::keys::RELEASE_KEYS);
        for key in &keys.keys {
            assert!(
                !keys.release_key_ids.contains(&key.key_id),
                "{} is both a channel and a release key",
                key.name
            );
        }
    }

    #[test]
    fn malformed_signatures_are_refused_before_any_key_lookup() {
        let keys = ChannelKeys::default();
        let document = br#"{"schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z"}"#;
        for bad in ["", "untrusted comment: x", "untrusted comment: x\nAAAA\n"] {
            assert_eq!(
                verify_document(document, bad, &keys).unwrap_err(),
                ChannelError::MalformedSignature
            );
        }
        let huge = format!("untrusted comment: {}", "x".repeat(MAX_SIGNATURE_BYTES));
        assert_eq!(
            verify_document(document, &huge, &keys).unwrap_err(),
            ChannelError::MalformedSignature
        );
    }

    #[test]
    fn key_ids_round_trip() {
        let id = [1, 2, 3, 4, 5, 6, 7, 0xab];
        assert_eq!(key_id_to_hex(&id), "AB07060504030201");
        assert_eq!(parse_key_id("ab07060504030201"), Some(id));
        assert_eq!(parse_key_id("+B07060504030201"), None);
    }
}
