//! minisign as pane checks it, for every signed file it reads (`SHA256SUMS`
//! and the channel document): the public key line, the signature's header
//! (read before anything of it is trusted), revocation, prehashed signatures
//! only, the signature over the bytes and its trusted comment, and the
//! comment's `key:value` fields. What each file's comment must say is its own
//! verifier's business (`update::verify`, `channel::verify`).
//!
//! Nothing here does I/O.

use std::collections::HashMap;

use base64::Engine as _;

/// One trusted minisign public key.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub key_id: [u8; 8],
    pub name: String,
    key: minisign_verify::PublicKey,
}

impl PublicKey {
    /// Parses the base64 key line of a minisign `.pub` file; `None` if it is
    /// not an Ed25519 minisign key.
    pub fn from_base64(name: &str, line: &str) -> Option<PublicKey> {
        let key_id = key_id_of(line)?;
        let key = minisign_verify::PublicKey::from_base64(line.trim()).ok()?;
        Some(PublicKey {
            key_id,
            name: name.to_string(),
            key,
        })
    }
}

/// The key id of a base64 public key line, if it is one.
pub fn key_id_of(line: &str) -> Option<[u8; 8]> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .ok()?;
    if raw.len() != 42 || &raw[..2] != b"Ed" {
        return None;
    }
    raw[2..10].try_into().ok()
}

/// Why a signature was refused, before any file-specific check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    Malformed,
    /// A legacy (non-prehashed) `Ed` signature.
    Legacy,
    Revoked {
        key_id: String,
    },
    /// Made by a key not in the list (the caller may know it by another role).
    Unknown {
        key_id: [u8; 8],
    },
    /// The bytes or the signature were altered.
    Bad {
        key_id: String,
    },
}

/// Checks `signature_text` over `bytes` under one of `keys`, in order: the
/// header, prehashed, not revoked, a known key, the signature (which covers
/// the trusted comment). Returns the key and the trusted comment's text.
pub fn check<'k>(
    bytes: &[u8],
    signature_text: &str,
    keys: &'k [PublicKey],
    revoked: &[[u8; 8]],
) -> Result<(&'k PublicKey, String), SignatureError> {
    let (algorithm, key_id) = header(signature_text)?;
    if &algorithm == b"Ed" {
        return Err(SignatureError::Legacy);
    }
    if revoked.contains(&key_id) {
        return Err(SignatureError::Revoked {
            key_id: key_id_to_hex(&key_id),
        });
    }
    let key = keys
        .iter()
        .find(|k| k.key_id == key_id)
        .ok_or(SignatureError::Unknown { key_id })?;
    let signature = minisign_verify::Signature::decode(signature_text)
        .map_err(|_| SignatureError::Malformed)?;
    key.key
        .verify(bytes, &signature, false)
        .map_err(|_| SignatureError::Bad {
            key_id: key_id_to_hex(&key_id),
        })?;
    Ok((key, signature.trusted_comment().to_string()))
}

/// The id of the key a minisign signature names, read without verifying it.
pub fn signer_key_id(signature_text: &str) -> Option<[u8; 8]> {
    header(signature_text).ok().map(|(_, key_id)| key_id)
}

/// The algorithm and key id of a minisign signature's second line.
fn header(signature_text: &str) -> Result<([u8; 2], [u8; 8]), SignatureError> {
    let mut lines = signature_text.lines();
    let first = lines.next().ok_or(SignatureError::Malformed)?;
    if !first.starts_with("untrusted comment:") {
        return Err(SignatureError::Malformed);
    }
    let line = lines.next().ok_or(SignatureError::Malformed)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .map_err(|_| SignatureError::Malformed)?;
    if raw.len() != 74 || (&raw[..2] != b"Ed" && &raw[..2] != b"ED") {
        return Err(SignatureError::Malformed);
    }
    let algorithm = [raw[0], raw[1]];
    let key_id = raw[2..10].try_into().expect("8 bytes");
    Ok((algorithm, key_id))
}

/// The fields of a trusted comment: tab-separated `key:value` pairs, no key
/// twice, no empty key; the `trusted comment: ` prefix is accepted and
/// stripped. The error says what is malformed.
pub fn comment_fields(text: &str) -> Result<HashMap<&str, &str>, String> {
    let text = text.strip_prefix("trusted comment: ").unwrap_or(text);
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for pair in text.split('\t') {
        let (key, value) = pair
            .split_once(':')
            .ok_or_else(|| format!("{pair:?} is not key:value"))?;
        if key.is_empty() {
            return Err(format!("{pair:?} has an empty key"));
        }
        if fields.insert(key, value).is_some() {
            return Err(format!("{key:?} appears twice"));
        }
    }
    Ok(fields)
}

/// The value of a required field, or what is missing.
pub fn required<'a>(fields: &HashMap<&str, &'a str>, key: &str) -> Result<&'a str, String> {
    fields
        .get(key)
        .copied()
        .ok_or_else(|| format!("no {key:?}"))
}

/// Unsigned decimal digits only (`parse` alone would take "+5").
pub fn digits(text: &str) -> Option<u64> {
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
