//! Property tests of every parser that reads bytes from outside: `SHA256SUMS`,
//! the trusted comment, minisign signatures, the listing API's JSON, the
//! install receipt and release archives (gzip and tar headers).
//!
//! Each property runs thousands of cases (`PROPTEST_CASES` overrides the
//! count) on random bytes and on real inputs mutated byte by byte, and
//! asserts two things: nothing panics, and nothing malformed is accepted.
//! "Malformed" is judged by a reference reading of the format written here
//! from the contract (docs/release-artifacts.md), not by calling the parser under test again.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use semver::Version;

use pane::update::{archive, receipt, source, verify};
use xtask::archive::{package_with, PackageOptions};
use xtask::fixtures::TestKey;

/// Runs `test` on `cases` values of `strategy` (or `PROPTEST_CASES`), with
/// nothing persisted into the source tree, and says how many ran and how
/// many inputs the parser accepted (`test` returns whether it did; an
/// accepted input has passed the test's checks).
fn fuzz<S>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let (ran, accepted) = (AtomicU32::new(0), AtomicU32::new(0));
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        let was_accepted = test(value)?;
        accepted.fetch_add(u32::from(was_accepted), Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("fuzz {name}: {failure}");
    }
    eprintln!(
        "fuzz {name}: {} cases, {} accepted",
        ran.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed)
    );
}

/// One byte-level edit of an input.
#[derive(Clone, Debug)]
enum Edit {
    FlipBit(u8),
    Set(u8),
    Insert(u8),
    Delete,
}

/// Bytes that matter to the formats here.
const INTERESTING: &[u8] = b"\t\n\r :*/\\.-+=0aAfFgz{}[]\",v";

/// Interesting bytes, and any byte at all.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), prop::sample::select(INTERESTING.to_vec())]
}

/// xorshift64: random inputs are drawn from a seed, because proptest's
/// value tree per byte is slow in a debug build.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn edits(max: usize) -> impl Strategy<Value = Vec<(Index, Edit)>> {
    let edit = prop_oneof![
        (0u8..8).prop_map(Edit::FlipBit),
        interesting_byte().prop_map(Edit::Set),
        interesting_byte().prop_map(Edit::Insert),
        Just(Edit::Delete),
    ];
    prop::collection::vec((any::<Index>(), edit), 1..=max)
}

fn apply(original: &[u8], edits: &[(Index, Edit)]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for (at, edit) in edits {
        if bytes.is_empty() {
            bytes.push(0);
        }
        let i = at.index(bytes.len());
        match edit {
            Edit::FlipBit(bit) => bytes[i] ^= 1 << bit,
            Edit::Set(b) => bytes[i] = *b,
            Edit::Insert(b) => bytes.insert(i, *b),
            Edit::Delete => {
                bytes.remove(i);
            }
        }
    }
    bytes
}

/// Up to `max` random bytes, half of them interesting ones.
fn random_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    (any::<u64>(), 0..max).prop_map(|(seed, len)| {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                let r = xorshift(&mut state);
                if r & 1 == 0 {
                    INTERESTING[(r >> 8) as usize % INTERESTING.len()]
                } else {
                    (r >> 16) as u8
                }
            })
            .collect()
    })
}

// ---------------------------------------------------------------- SHA256SUMS

/// The reference reading of `SHA256SUMS`: lines of exactly 64 lowercase hex
/// digits, two spaces (or space and `*`) and a bare file name; blank lines
/// are skipped; anything else makes the whole file malformed.
fn sums_reference(bytes: &[u8]) -> Option<Vec<(String, [u8; 32])>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut entries = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        let raw = line.as_bytes();
        if raw.len() < 67 || !raw[..64].iter().all(|b| b"0123456789abcdef".contains(b)) {
            return None;
        }
        if &raw[64..66] != b"  " && &raw[64..66] != b" *" {
            return None;
        }
        let name = &line[66..];
        let bare = !name.is_empty()
            && !name.contains(['/', '\\'])
            && !name.starts_with(char::is_whitespace)
            && !name.ends_with(char::is_whitespace);
        if !bare {
            return None;
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&line[2 * i..2 * i + 2], 16).ok()?;
        }
        entries.push((name.to_string(), digest));
    }
    Some(entries)
}

fn sums_line() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "pane-1.2.0-x86_64-unknown-linux-musl.tar.gz",
            "install.sh",
            "SHA256SUMS",
            "a",
        ])
        .prop_map(String::from),
        "[A-Za-z0-9._+-]{1,12}",
    ];
    (any::<u64>(), prop::bool::ANY, name).prop_map(|(seed, binary, name)| {
        let mut state = seed | 1;
        let digest: Vec<u8> = (0..32).map(|_| xorshift(&mut state) as u8).collect();
        let mark = if binary { " *" } else { "  " };
        format!("{}{mark}{name}", verify::hex(&digest))
    })
}

fn sums_file() -> impl Strategy<Value = String> {
    (prop::collection::vec(sums_line(), 1..6), prop::bool::ANY).prop_map(|(lines, newline)| {
        let mut text = lines.join("\n");
        if newline {
            text.push('\n');
        }
        text
    })
}

fn check_sums(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let parsed = verify::parse_sums(bytes).ok();
    let expected = sums_reference(bytes);
    prop_assert_eq!(
        &parsed,
        &expected,
        "parse_sums disagrees with the reference on {:?}",
        String::from_utf8_lossy(bytes)
    );
    Ok(parsed.is_some())
}

#[test]
fn sums_random_bytes() {
    fuzz("SHA256SUMS random", 4000, random_bytes(300), |bytes| {
        check_sums(&bytes)
    });
}

#[test]
fn sums_mutated() {
    fuzz(
        "SHA256SUMS mutated",
        4000,
        (sums_file(), edits(4)),
        |(text, edits)| {
            prop_assert!(verify::parse_sums(text.as_bytes()).is_ok());
            check_sums(&apply(text.as_bytes(), &edits))
        },
    );
}

// ----------------------------------------------------------- trusted comment

type Comment = (String, Version, String, Option<u64>);

/// The reference reading of a trusted comment: tab-separated `key:value`
/// pairs, no key twice, `product`, `version` (semver) and `file` required,
/// `timestamp` (unix seconds) optional, other keys ignored.
fn comment_reference(text: &str) -> Option<Comment> {
    let text = text.strip_prefix("trusted comment: ").unwrap_or(text);
    let mut fields = BTreeMap::new();
    for pair in text.split('\t') {
        let colon = pair.find(':')?;
        let (key, value) = (&pair[..colon], &pair[colon + 1..]);
        if key.is_empty() || fields.insert(key, value).is_some() {
            return None;
        }
    }
    let version = Version::parse(fields.get("version")?).ok()?;
    let timestamp = match fields.get("timestamp") {
        None => None,
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => Some(t.parse().ok()?),
        Some(_) => return None,
    };
    Some((
        fields.get("product")?.to_string(),
        version,
        fields.get("file")?.to_string(),
        timestamp,
    ))
}

fn comment_field() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(vec!["product", "version", "file", "timestamp", "x", ""])
            .prop_map(String::from),
        "[a-z:]{0,8}",
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "pane",
            "SHA256SUMS",
            "1.2.0",
            "1.3.0-beta.1",
            "01.2.0",
            "1.2",
            "1700000000",
            "",
            " 1.2.0",
        ])
        .prop_map(String::from),
        "[ -~]{0,12}",
    ];
    (key, value).prop_map(|(k, v)| format!("{k}:{v}"))
}

/// Comments made of the real fields (each usually there, with a usual or
/// odd value) and random ones, in any order.
fn comment_text() -> impl Strategy<Value = String> {
    let required = |key: &'static str, usual: &'static str| {
        prop_oneof![
            6 => Just(Some(format!("{key}:{usual}"))),
            2 => comment_field().prop_map(move |f| Some(format!("{key}:{}", f.split_once(':').unwrap().1))),
            1 => Just(None),
        ]
    };
    (
        required("product", "pane"),
        required("version", "1.2.0"),
        required("file", "SHA256SUMS"),
        required("timestamp", "1700000000"),
        prop::collection::vec(comment_field(), 0..3),
        prop::bool::ANY,
    )
        .prop_flat_map(|(product, version, file, timestamp, extra, prefix)| {
            let fields: Vec<String> = [product, version, file, timestamp]
                .into_iter()
                .flatten()
                .chain(extra)
                .collect();
            (Just(fields).prop_shuffle(), Just(prefix))
        })
        .prop_map(|(fields, prefix)| {
            let text = fields.join("\t");
            if prefix {
                format!("trusted comment: {text}")
            } else {
                text
            }
        })
}

fn check_comment(text: &str) -> Result<bool, TestCaseError> {
    let parsed = verify::parse_trusted_comment(text)
        .ok()
        .map(|c| (c.product, c.version, c.file, c.timestamp));
    prop_assert_eq!(
        &parsed,
        &comment_reference(text),
        "parse_trusted_comment disagrees with the reference on {:?}",
        text
    );
    Ok(parsed.is_some())
}

#[test]
fn trusted_comment_fields() {
    fuzz("trusted comment fields", 4000, comment_text(), |text| {
        check_comment(&text)
    });
}

#[test]
fn trusted_comment_mutated() {
    let good = "product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:1700000000";
    fuzz("trusted comment mutated", 4000, edits(3), |edits| {
        let bytes = apply(good.as_bytes(), &edits);
        match std::str::from_utf8(&bytes) {
            Ok(text) => check_comment(text),
            Err(_) => Ok(false),
        }
    });
}

// ---------------------------------------------------------------- signatures

/// A release's `SHA256SUMS`, its real signature, and a store trusting the key.
struct Signed {
    sums: Vec<u8>,
    signature: String,
    store: verify::TrustStore,
    version: Version,
}

fn signed_release() -> Signed {
    let key = TestKey::generate();
    let sums = format!(
        "{}  pane-1.2.0-x86_64-unknown-linux-musl.tar.gz\n{}  install.sh\n",
        "ab".repeat(32),
        "0f".repeat(32)
    )
    .into_bytes();
    let signature = key.sign_release_sums(&sums, "1.2.0");
    let store = verify::TrustStore::single("test key", &key.public_key_line()).unwrap();
    let version = Version::new(1, 2, 0);
    verify::verify_sums(&sums, &signature, &store, Some(&version))
        .expect("the real signature verifies");
    Signed {
        sums,
        signature,
        store,
        version,
    }
}

/// What a minisign signature file says, as minisign defines it: the
/// signature line and global signature (base64), the trusted comment.
/// The untrusted comment and anything after line 4 are not signed.
fn signed_content(text: &str) -> Option<(Vec<u8>, String, Vec<u8>)> {
    let mut lines = text.lines();
    lines.next()?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signature = b64.decode(lines.next()?.trim()).ok()?;
    let comment = lines.next()?.strip_prefix("trusted comment: ")?.to_string();
    let global = b64.decode(lines.next()?.trim()).ok()?;
    Some((signature, comment, global))
}

#[test]
fn signatures_mutated() {
    let signed = signed_release();
    let original = signed_content(&signed.signature).unwrap();
    fuzz("minisig mutated", 3000, edits(4), |edits| {
        let bytes = apply(signed.signature.as_bytes(), &edits);
        // pane reads the signature as UTF-8 and refuses anything else.
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(false);
        };
        let verdict =
            verify::verify_sums(&signed.sums, &text, &signed.store, Some(&signed.version));
        if verdict.is_ok() {
            let content = signed_content(&text);
            prop_assert_eq!(
                content.as_ref(),
                Some(&original),
                "a changed signature was accepted:\n{}",
                text
            );
        }
        Ok(verdict.is_ok())
    });
}

#[test]
fn signed_sums_mutated() {
    let signed = signed_release();
    fuzz(
        "SHA256SUMS under its signature, mutated",
        3000,
        edits(3),
        |edits| {
            let sums = apply(&signed.sums, &edits);
            let verdict = verify::verify_sums(
                &sums,
                &signed.signature,
                &signed.store,
                Some(&signed.version),
            );
            prop_assert!(
                verdict.is_err() || sums == signed.sums,
                "altered SHA256SUMS accepted: {:?}",
                String::from_utf8_lossy(&sums)
            );
            Ok(verdict.is_ok())
        },
    );
}

#[test]
fn signatures_random_text() {
    let signed = signed_release();
    fuzz("minisig random", 3000, random_bytes(400), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(verify::verify_sums(&signed.sums, &text, &signed.store, None).is_err());
        Ok(false)
    });
}

// ------------------------------------------------------------- listing API

#[derive(Clone, Debug)]
struct Item {
    tag: serde_json::Value,
    prerelease: Option<serde_json::Value>,
    draft: Option<serde_json::Value>,
    published_at: Option<serde_json::Value>,
}

fn listing_item() -> impl Strategy<Value = Item> {
    let tag = prop_oneof![
        8 => prop::sample::select(vec!["v1.2.0", "v1.3.0-beta.1", "1.2.0", "nightly", "v1.2", "v01.2.0", "v1.2.0+build.5", "V1.0.0", ""])
            .prop_map(serde_json::Value::from),
        2 => "v[0-9.]{1,7}".prop_map(serde_json::Value::from),
        1 => Just(serde_json::Value::from(5)),
    ];
    let flag = prop::option::of(prop_oneof![
        9 => any::<bool>().prop_map(serde_json::Value::from),
        1 => Just(serde_json::Value::from("yes")),
    ]);
    let published = prop::option::of(prop_oneof![
        Just(serde_json::Value::Null),
        Just(serde_json::Value::from("2024-01-01T00:00:00Z")),
    ]);
    (tag, flag.clone(), flag, published).prop_map(|(tag, prerelease, draft, published_at)| Item {
        tag,
        prerelease,
        draft,
        published_at,
    })
}

/// What a listing of `items` means: `None` if any item is not shaped like
/// GitHub's, else the non-draft `v<semver>` tags with their pre-release mark.
fn listing_reference(items: &[Item]) -> Option<Vec<(Version, String, bool)>> {
    let mut out = Vec::new();
    for item in items {
        let tag = item.tag.as_str()?;
        let flag = |v: &Option<serde_json::Value>| match v {
            None => Some(false),
            Some(v) => v.as_bool(),
        };
        let (prerelease, draft) = (flag(&item.prerelease)?, flag(&item.draft)?);
        if draft {
            continue;
        }
        let Some(version) = tag.strip_prefix('v').and_then(|t| Version::parse(t).ok()) else {
            continue;
        };
        let prerelease = prerelease || !version.pre.is_empty();
        out.push((version, tag.to_string(), prerelease));
    }
    Some(out)
}

fn listing_json(items: &[Item]) -> Vec<u8> {
    let array: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            let mut object = serde_json::Map::new();
            object.insert("tag_name".into(), item.tag.clone());
            object.insert("name".into(), "a release".into());
            for (key, value) in [
                ("prerelease", &item.prerelease),
                ("draft", &item.draft),
                ("published_at", &item.published_at),
            ] {
                if let Some(value) = value {
                    object.insert(key.into(), value.clone());
                }
            }
            object.insert("assets".into(), serde_json::json!([{"name": "SHA256SUMS"}]));
            serde_json::Value::Object(object)
        })
        .collect();
    serde_json::to_vec(&array).unwrap()
}

#[test]
fn listing_items() {
    fuzz(
        "listing items",
        3000,
        prop::collection::vec(listing_item(), 0..8),
        |items| {
            let parsed = source::parse_listing(&listing_json(&items)).map(|releases| {
                releases
                    .into_iter()
                    .map(|r| (r.version, r.tag, r.prerelease))
                    .collect()
            });
            prop_assert_eq!(&parsed, &listing_reference(&items));
            Ok(parsed.is_some())
        },
    );
}

#[test]
fn listing_mutated_and_random() {
    let base = listing_json(&[
        Item {
            tag: "v1.2.0".into(),
            prerelease: Some(false.into()),
            draft: Some(false.into()),
            published_at: Some("2024-01-01T00:00:00Z".into()),
        },
        Item {
            tag: "v1.3.0-beta.1".into(),
            prerelease: Some(true.into()),
            draft: None,
            published_at: None,
        },
    ]);
    let input = prop_oneof![
        edits(4).prop_map(move |edits| apply(&base, &edits)),
        random_bytes(200),
    ];
    fuzz("listing mutated/random", 4000, input, |bytes| {
        let Some(releases) = source::parse_listing(&bytes) else {
            return Ok(false);
        };
        // Accepted: a JSON array (`IgnoredAny` checks the syntax only: a lone
        // surrogate escape in a field pane ignores is valid JSON), and every
        // release read from a `v<semver>` tag.
        let syntax = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes);
        prop_assert!(syntax.is_ok(), "accepted invalid JSON: {:?}", syntax);
        prop_assert!(bytes.trim_ascii_start().starts_with(b"["));
        for release in releases {
            let tagged = release
                .tag
                .strip_prefix('v')
                .and_then(|t| Version::parse(t).ok());
            prop_assert_eq!(tagged.as_ref(), Some(&release.version));
            prop_assert!(release.prerelease || release.version.pre.is_empty());
        }
        Ok(true)
    });
}

// ------------------------------------------------------------------- receipt

const RECEIPT: &str = r#"{
  "schema": 1,
  "version": "1.2.0",
  "target": "x86_64-unknown-linux-musl",
  "install_dir": "/home/u/.local/bin",
  "installed_by": "install.sh",
  "pin": "~1.2",
  "highest_verified": "1.3.0",
  "previous": "1.1.0",
  "kept": [
    {"version": "1.2.0", "sha256": "0000000000000000000000000000000000000000000000000000000000000000"},
    {"version": "1.1.0", "sha256": "1111111111111111111111111111111111111111111111111111111111111111"}
  ],
  "profile_edits": [{"file": "/home/u/.profile", "line": ". \"$HOME/.local/bin/env\""}],
  "created_files": ["/home/u/.local/bin/env"],
  "pending": {
    "after": {
      "schema": 1,
      "version": "1.3.0",
      "target": "x86_64-unknown-linux-musl",
      "install_dir": "/home/u/.local/bin",
      "installed_by": "install.sh",
      "highest_verified": "1.3.0",
      "updated_at": 8
    },
    "sha256": "2222222222222222222222222222222222222222222222222222222222222222"
  },
  "updated_at": 7
}
"#;

fn check_receipt(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let path = Path::new("install-receipt.json");
    let Ok(parsed) = receipt::parse(bytes, path) else {
        return Ok(false);
    };
    // Accepted: a JSON object of this schema, with a journaled change (if
    // any) of this schema too, that reads back the same.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| TestCaseError::fail(format!("accepted non-JSON: {e}")))?;
    prop_assert_eq!(
        value.get("schema").and_then(|s| s.as_u64()),
        Some(u64::from(receipt::SCHEMA))
    );
    if let Some(pending) = &parsed.pending {
        prop_assert_eq!(
            pending.after.schema,
            receipt::SCHEMA,
            "a journaled change of another schema"
        );
    }
    let again = receipt::parse(&serde_json::to_vec(&parsed).unwrap(), path);
    let again = again.ok();
    prop_assert_eq!(again.as_ref(), Some(&parsed));
    Ok(true)
}

#[test]
fn receipt_mutated_and_random() {
    receipt::parse(RECEIPT.as_bytes(), Path::new("r")).expect("the sample receipt parses");
    let input = prop_oneof![
        3 => edits(4).prop_map(|edits| apply(RECEIPT.as_bytes(), &edits)),
        1 => random_bytes(200),
    ];
    fuzz("receipt mutated/random", 4000, input, |bytes| {
        check_receipt(&bytes)
    });
}

// ------------------------------------------------------------------- archive

const TOP: &str = "pane-1.2.0-x86_64-unknown-linux-musl";

/// A real release archive (made by the release tooling) around a small
/// stand-in binary, half text and half noise, plus a README; and the binary.
fn real_archive(level: u32) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let mut binary = b"#!/bin/sh\necho 'pane 1.2.0'\n".repeat(40);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    binary.extend((0..1500).map(|_| xorshift(&mut state) as u8));
    let binary_path = dir.path().join("pane");
    let readme = dir.path().join("README.md");
    std::fs::write(&binary_path, &binary).unwrap();
    std::fs::write(&readme, "# pane\n").unwrap();
    let options = PackageOptions {
        mtime: 0,
        level,
        extra_files: vec![("README.md".into(), readme)],
        contents: Vec::new(),
    };
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let path = package_with(
        &binary_path,
        "1.2.0",
        "x86_64-unknown-linux-musl",
        &out,
        &options,
    )
    .unwrap();
    (std::fs::read(path).unwrap(), binary)
}

fn extract(gz: &[u8]) -> Result<Vec<u8>, archive::ArchiveError> {
    let mut out = Vec::new();
    archive::extract_from(gz, TOP, &mut out, 1 << 20).map(|_| out)
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(tar).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut tar)
        .unwrap();
    tar
}

#[test]
fn archive_gzip_mutated() {
    let archives: Vec<_> = [1, 6, 9].into_iter().map(real_archive).collect();
    for (gz, binary) in &archives {
        assert_eq!(&extract(gz).unwrap(), binary);
    }
    let input = (0..archives.len(), edits(3));
    fuzz("archive gzip mutated", 3000, input, |(which, edits)| {
        let (gz, binary) = &archives[which];
        let mutated = apply(gz, &edits);
        let out = extract(&mutated);
        if let Ok(out) = &out {
            prop_assert!(out == binary, "a damaged archive unpacked to other bytes");
        }
        Ok(out.is_ok())
    });
}

/// A tar header field: where it is and how long.
const FIELDS: &[(&str, usize, usize)] = &[
    ("name", 0, 100),
    ("mode", 100, 8),
    ("size", 124, 12),
    ("typeflag", 156, 1),
    ("linkname", 157, 100),
    ("magic", 257, 8),
    ("prefix", 345, 155),
];

/// Values a hostile archive would put in a field.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            format!("{TOP}/pane"),
            format!("{TOP}/../pane"),
            format!("/{TOP}/pane"),
            format!("{TOP}//pane"),
            format!("./{TOP}/pane"),
            format!("{TOP}/pane/"),
            format!("{TOP}\\pane"),
            "pane".to_string(),
            TOP.to_string(),
            "..".to_string(),
            "/etc/passwd".to_string(),
            "00000000000".to_string(),
            "77777777777".to_string(),
            "ustar\0".to_string(),
            "ustar  ".to_string(),
        ])
        .prop_map(String::into_bytes),
        prop::sample::select(b"0123456789\0ALKSxgDV".to_vec()).prop_map(|b| vec![b]),
        prop::collection::vec(any::<u8>(), 1..12),
    ]
}

/// Writes `value` into `field` of the header at `block`, NUL-padded, and
/// makes the header checksum right again so the parser reads the rest.
fn set_field(tar: &mut [u8], block: usize, field: usize, value: &[u8]) {
    let (_, offset, len) = FIELDS[field];
    let header = &mut tar[block * 512..block * 512 + 512];
    let slot = &mut header[offset..offset + len];
    slot.fill(0);
    let n = value.len().min(len);
    slot[..n].copy_from_slice(&value[..n]);
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// The header blocks of a tar stream, by walking sizes.
fn header_blocks(tar: &[u8]) -> Vec<usize> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        blocks.push(at / 512);
        let size_field = std::str::from_utf8(&tar[at + 124..at + 136]).unwrap();
        let size = u64::from_str_radix(size_field.trim_matches(['\0', ' ']), 8).unwrap() as usize;
        at += 512 + size.div_ceil(512) * 512;
    }
    blocks
}

/// The reference judgment of an archive pane accepted: every entry a plain
/// file or folder at a safe path inside the top folder, no name twice, and
/// the output exactly the data of the one `<top>/pane` file.
fn check_accepted(tar: &[u8], out: &[u8]) -> Result<(), TestCaseError> {
    let mut archive = tar::Archive::new(tar);
    let mut names = Vec::new();
    let mut binary = None;
    for entry in archive
        .entries()
        .map_err(|e| TestCaseError::fail(e.to_string()))?
    {
        let mut entry = entry.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let kind = entry.header().entry_type();
        prop_assert!(
            kind.is_file() || kind.is_dir(),
            "accepted an entry of type {:?}",
            kind
        );
        let raw = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| TestCaseError::fail("accepted a non-UTF-8 name"))?;
        prop_assert!(
            !raw.starts_with('/') && !raw.contains('\\') && !raw.contains('\0'),
            "unsafe name {:?}",
            raw
        );
        let parts: Vec<&str> = raw
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        prop_assert!(!parts.contains(&".."), "accepted {:?}", raw);
        prop_assert!(
            parts.first() == Some(&TOP),
            "accepted {:?} outside the top folder",
            raw
        );
        let name = parts.join("/");
        prop_assert!(!names.contains(&name), "accepted {:?} twice", name);
        if name == format!("{TOP}/pane") {
            prop_assert!(kind.is_file());
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            binary = Some(data);
        }
        names.push(name);
    }
    prop_assert_eq!(
        binary.as_deref(),
        Some(out),
        "the output is not the binary's data"
    );
    Ok(())
}

#[test]
fn archive_tar_headers_mutated() {
    let (gz, _) = real_archive(6);
    let tar = gunzip(&gz);
    let blocks = header_blocks(&tar);
    assert_eq!(blocks.len(), 3, "folder, pane, README.md");
    let change = (any::<Index>(), 0..FIELDS.len(), field_value());
    fuzz(
        "archive tar headers mutated",
        3000,
        prop::collection::vec(change, 1..3),
        |changes| {
            let mut mutated = tar.clone();
            for (block, field, value) in &changes {
                set_field(
                    &mut mutated,
                    blocks[block.index(blocks.len())],
                    *field,
                    value,
                );
            }
            let out = extract(&gzip(&mutated));
            if let Ok(out) = &out {
                check_accepted(&mutated, out)?;
            }
            Ok(out.is_ok())
        },
    );
}

#[test]
fn archive_tar_bytes_mutated_and_random() {
    let (gz, _) = real_archive(6);
    let tar = gunzip(&gz);
    let input = prop_oneof![
        3 => edits(6).prop_map(move |edits| apply(&tar, &edits)),
        1 => random_bytes(2048),
    ];
    fuzz("archive tar bytes mutated/random", 3000, input, |tar| {
        let out = extract(&gzip(&tar));
        if let Ok(out) = &out {
            check_accepted(&tar, out)?;
        }
        Ok(out.is_ok())
    });
}

/// The inputs these properties found that pane once accepted, kept as plain
/// cases so they stay refused whatever the random draw.
#[test]
fn found_by_fuzzing() {
    // A damaged gzip stream whose deflate blocks still decode: only its
    // CRC-32 tells, and the tar end marker comes before it.
    let (gz, _) = real_archive(6);
    let mut stored = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    stored.write_all(&gunzip(&gz)).unwrap();
    let mut stored = stored.finish().unwrap();
    let at = stored
        .windows(17)
        .position(|w| w == b"echo 'pane 1.2.0'")
        .unwrap();
    stored[at + 5] ^= 0x01;
    assert!(matches!(
        extract(&stored),
        Err(archive::ArchiveError::Corrupt(_))
    ));

    // A timestamp that `u64::from_str` takes but is not unix seconds.
    assert!(verify::parse_trusted_comment(
        "product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:+1700000000"
    )
    .is_err());

    // A journaled change that recovery would make a receipt of another schema.
    let older = RECEIPT.replacen(
        "\"schema\": 1,\n      \"version\": \"1.3.0\"",
        "\"schema\": 0,\n      \"version\": \"1.3.0\"",
        1,
    );
    assert_ne!(older, RECEIPT);
    assert!(matches!(
        receipt::parse(older.as_bytes(), Path::new("r")),
        Err(receipt::ReceiptError::Corrupt { .. })
    ));
}
