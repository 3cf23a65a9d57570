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

use std::collections::HashMap;

use base64::Engine as _;

use super::document::{ChannelDocument, FILE_NAME, MAX_DOCUMENT_BYTES};
use super::ChannelError;

/// The largest signature file read.
pub const MAX_SIGNATURE_BYTES: usize = 4 * 1024;

/// One trusted channel key.
#[derive(Clone, Debug)]
pub struct ChannelKey {
    pub key_id: [u8; 8],
    pub name: String,
    key: minisign_verify::PublicKey,
}

impl ChannelKey {
    /// Parses the base64 key line of a minisign `.pub` file.
    pub fn from_base64(name: &str, line: &str) -> Result<ChannelKey, ChannelError> {
        let key_id = key_id_of(line).ok_or_else(|| ChannelError::BadPublicKey {
            name: name.to_string(),
        })?;
        let key = minisign_verify::PublicKey::from_base64(line.trim()).map_err(|_| {
            ChannelError::BadPublicKey {
                name: name.to_string(),
            }
        })?;
        Ok(ChannelKey {
            key_id,
            name: name.to_string(),
            key,
        })
    }
}

/// The key id of a base64 public key line, if it is one.
fn key_id_of(line: &str) -> Option<[u8; 8]> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .ok()?;
    if raw.len() != 42 || &raw[..2] != b"Ed" {
        return None;
    }
    raw[2..10].try_into().ok()
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
            .map(|(name, line)| ChannelKey::from_base64(name, line))
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
            keys: vec![ChannelKey::from_base64(name, line)?],
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
    let (algorithm, key_id) = signature_header(signature_text)?;
    if &algorithm == b"Ed" {
        return Err(ChannelError::LegacySignature);
    }
    let key = find_key(keys, key_id)?;
    let signature = minisign_verify::Signature::decode(signature_text)
        .map_err(|_| ChannelError::MalformedSignature)?;
    key.key
        .verify(document, &signature, false)
        .map_err(|_| ChannelError::BadSignature {
            key_id: key_id_to_hex(&key_id),
        })?;
    let comment = parse_comment(signature.trusted_comment())?;
    let parsed = ChannelDocument::parse(document)?;
    if parsed.serial != comment.serial {
        return Err(ChannelError::SerialMismatch {
            signed: comment.serial,
            document: parsed.serial,
        });
    }
    Ok(VerifiedChannel {
        document: parsed,
        key_id: key_id_to_hex(&key_id),
        signed_at: comment.timestamp,
    })
}

fn find_key(keys: &ChannelKeys, key_id: [u8; 8]) -> Result<&ChannelKey, ChannelError> {
    let key_id_hex = key_id_to_hex(&key_id);
    if keys.revoked.contains(&key_id) {
        return Err(ChannelError::RevokedKey { key_id: key_id_hex });
    }
    if let Some(key) = keys.keys.iter().find(|k| k.key_id == key_id) {
        return Ok(key);
    }
    if keys.release_key_ids.contains(&key_id) {
        return Err(ChannelError::ReleaseKey { key_id: key_id_hex });
    }
    Err(ChannelError::UnknownKey {
        key_id: key_id_hex,
        origin: keys.origin.clone(),
    })
}

/// The algorithm and key id of a minisign signature's second line, read
/// before anything else of it is trusted.
fn signature_header(signature_text: &str) -> Result<([u8; 2], [u8; 8]), ChannelError> {
    let mut lines = signature_text.lines();
    let first = lines.next().ok_or(ChannelError::MalformedSignature)?;
    if !first.starts_with("untrusted comment:") {
        return Err(ChannelError::MalformedSignature);
    }
    let line = lines.next().ok_or(ChannelError::MalformedSignature)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .map_err(|_| ChannelError::MalformedSignature)?;
    if raw.len() != 74 || (&raw[..2] != b"Ed" && &raw[..2] != b"ED") {
        return Err(ChannelError::MalformedSignature);
    }
    let algorithm = [raw[0], raw[1]];
    let key_id = raw[2..10].try_into().expect("8 bytes");
    Ok((algorithm, key_id))
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
    let text = text.strip_prefix("trusted comment: ").unwrap_or(text);
    let malformed = |why: String| ChannelError::MalformedComment(why);
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for pair in text.split('\t') {
        let (key, value) = pair
            .split_once(':')
            .ok_or_else(|| malformed(format!("{pair:?} is not key:value")))?;
        if key.is_empty() {
            return Err(malformed(format!("{pair:?} has an empty key")));
        }
        if fields.insert(key, value).is_some() {
            return Err(malformed(format!("{key:?} appears twice")));
        }
    }
    let required = |key: &str| {
        fields
            .get(key)
            .copied()
            .ok_or_else(|| malformed(format!("no {key:?}")))
    };
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
    let serial = digits(required("serial")?)
        .ok_or_else(|| malformed("the serial is not a number".into()))?;
    let timestamp = match fields.get("timestamp") {
        None => None,
        Some(t) => Some(digits(t).ok_or_else(|| malformed(format!("timestamp {t:?}")))?),
    };
    Ok(ChannelComment { serial, timestamp })
}

/// Unsigned decimal digits only (`parse` alone would take "+5").
fn digits(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

/// Key ids as minisign prints them: 16 uppercase hex digits of the id read as
/// a little-endian number.
pub fn key_id_to_hex(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// The inverse of [`key_id_to_hex`] (case-insensitive).
pub fn parse_key_id(text: &str) -> Option<[u8; 8]> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok().map(u64::to_le_bytes)
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
