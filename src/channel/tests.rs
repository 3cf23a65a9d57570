//! The channel against real minisign signatures made at test time: every
//! hostile document of the issue, and the anti-replay store end to end.

use xtask::fixtures::TestKey;

use super::state::{accept, ChannelEvent, ChannelStore, Fetched, StoredState};
use super::verify::{verify_document, ChannelKeys};
use super::ChannelError;

#[test]
fn the_document_url_follows_the_mirror() {
    assert_eq!(
        super::document_url(
            Some("https://example.test/c.json"),
            Some("https://m.test/r")
        ),
        "https://example.test/c.json"
    );
    assert_eq!(
        super::document_url(None, Some("http://127.0.0.1:8080/o/r/releases/")),
        "http://127.0.0.1:8080/o/r/releases/download/channel/channel.json"
    );
    assert_eq!(
        super::document_url(Some(""), None),
        "https://raw.githubusercontent.com/pane-cli/pane/channel/channel.json"
    );
    assert_eq!(
        super::signature_url("https://h.test/channel.json"),
        "https://h.test/channel.json.minisig"
    );
}

fn document(serial: u64) -> String {
    format!(
        r#"{{"schema":1,"serial":{serial},"issued":"2026-12-01T10:00:00Z","expires":"2026-12-15T10:00:00Z",
"withdrawn":[{{"version":"1.2.0","targets":["*"],"reason":"corrupts config files on save","replacement":"1.1.3"}}],
"rollout":{{"version":"1.2.1","start":"2026-12-01T12:00:00Z","hours":48}},"critical":["1.2.1"]}}"#
    )
}

fn comment(serial: u64) -> String {
    format!("product:pane\tfile:channel.json\tserial:{serial}\ttimestamp:1796119200")
}

fn signed(key: &TestKey, serial: u64) -> (Vec<u8>, String) {
    let bytes = document(serial).into_bytes();
    let signature = key.sign_with_comment(&bytes, &comment(serial));
    (bytes, signature)
}

fn keys_for(key: &TestKey) -> ChannelKeys {
    ChannelKeys::single("test channel key", &key.public_key_line()).unwrap()
}

#[test]
fn a_channel_signature_verifies() {
    let key = TestKey::generate();
    let (bytes, signature) = signed(&key, 42);
    let verified = verify_document(&bytes, &signature, &keys_for(&key)).unwrap();
    assert_eq!(verified.document.serial, 42);
    assert_eq!(verified.key_id, key.key_id_hex());
    assert_eq!(verified.signed_at, Some(1_796_119_200));
}

#[test]
fn hostile_documents_are_typed_rejections() {
    let key = TestKey::generate();
    let keys = keys_for(&key);
    let bytes = document(7).into_bytes();
    let sign = |text: &[u8], comment: &str| key.sign_with_comment(text, comment);
    let reject =
        |text: &[u8], signature: &str| verify_document(text, signature, &keys).unwrap_err();

    // Altered after signing.
    let good = sign(&bytes, &comment(7));
    let mut altered = bytes.clone();
    altered[40] ^= 1;
    assert!(matches!(
        reject(&altered, &good),
        ChannelError::BadSignature { .. }
    ));
    // Another product's document; a release's signature (other file).
    let other = sign(&bytes, "product:other\tfile:channel.json\tserial:7");
    assert!(matches!(
        reject(&bytes, &other),
        ChannelError::WrongProduct { .. }
    ));
    let release = sign(
        &bytes,
        "product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:1",
    );
    assert!(matches!(
        reject(&bytes, &release),
        ChannelError::WrongFile { .. }
    ));
    // A serial that disagrees with its comment.
    let mismatch = sign(&bytes, &comment(8));
    assert_eq!(
        reject(&bytes, &mismatch),
        ChannelError::SerialMismatch {
            signed: 8,
            document: 7
        }
    );
    // Signed but invalid JSON; signed but oversized.
    let garbage = b"{\"schema\":1,".to_vec();
    let signature = sign(&garbage, &comment(7));
    assert!(matches!(
        reject(&garbage, &signature),
        ChannelError::InvalidJson(_)
    ));
    let mut big = document(7).into_bytes();
    big.truncate(big.len() - 1);
    big.extend(format!(",\"pad\":\"{}\"}}", "x".repeat(64 * 1024)).bytes());
    let signature = sign(&big, &comment(7));
    assert!(matches!(
        reject(&big, &signature),
        ChannelError::Oversized { .. }
    ));
    // A legacy (non-prehashed) signature.
    let legacy = key.sign_legacy(&bytes, &comment(7));
    assert_eq!(reject(&bytes, &legacy), ChannelError::LegacySignature);
}

#[test]
fn only_a_trusted_unrevoked_channel_key_may_sign() {
    let channel = TestKey::generate();
    let release = TestKey::generate();
    let stranger = TestKey::generate();
    let (bytes, by_release) = signed(&release, 3);
    let by_stranger = stranger.sign_with_comment(&bytes, &comment(3));
    let by_channel = channel.sign_with_comment(&bytes, &comment(3));

    // As a debug build sets it up from PANE_TEST_CHANNEL_PUBKEY and PANE_TEST_PUBKEY.
    let keys = ChannelKeys::for_build(
        Some(&channel.public_key_line()),
        Some(&release.public_key_line()),
    )
    .unwrap();
    if !cfg!(debug_assertions) {
        // A release build ignores both variables: the test keys are strangers.
        assert!(matches!(
            verify_document(&bytes, &by_channel, &keys).unwrap_err(),
            ChannelError::UnknownKey { .. }
        ));
        return;
    }
    assert!(verify_document(&bytes, &by_channel, &keys).is_ok());
    assert_eq!(
        verify_document(&bytes, &by_release, &keys).unwrap_err(),
        ChannelError::ReleaseKey {
            key_id: release.key_id_hex()
        }
    );
    assert!(matches!(
        verify_document(&bytes, &by_stranger, &keys).unwrap_err(),
        ChannelError::UnknownKey { .. }
    ));
    let mut revoked = keys.clone();
    revoked
        .revoked
        .push(channel.public_key().keynum().try_into().unwrap());
    assert_eq!(
        verify_document(&bytes, &by_channel, &revoked).unwrap_err(),
        ChannelError::RevokedKey {
            key_id: channel.key_id_hex()
        }
    );
    // Without PANE_TEST_CHANNEL_PUBKEY, PANE_TEST_PUBKEY is the channel key.
    let one_key = ChannelKeys::for_build(None, Some(&release.public_key_line())).unwrap();
    assert!(verify_document(&bytes, &by_release, &one_key).is_ok());
    // The compiled channel keys trust none of these test keys, and refuse a
    // compiled release key's signature by role (checked in verify's tests).
    let compiled = ChannelKeys::compiled().unwrap();
    assert!(matches!(
        verify_document(&bytes, &by_channel, &compiled).unwrap_err(),
        ChannelError::UnknownKey { .. }
    ));
}

#[test]
fn the_store_keeps_the_highest_serial_through_replays_and_withholding() {
    let key = TestKey::generate();
    let keys = keys_for(&key);
    let dir = tempfile::tempdir().unwrap();
    let store = ChannelStore::in_dir(dir.path());
    let fetch = |serial| {
        let (bytes, signature) = signed(&key, serial);
        Fetched::Document { bytes, signature }
    };
    let round = |fetched: Fetched| {
        let mut state = store.load().unwrap();
        let outcome = accept(&mut state, fetched, &keys);
        if outcome.changed {
            store.save(&state).unwrap();
        }
        outcome
    };

    // First contact without a document: normal, nothing to say.
    let first = round(Fetched::Missing);
    assert!(first.current.is_none() && first.events.is_empty() && !first.changed);

    let accepted = round(fetch(5));
    assert_eq!(
        accepted.events,
        [ChannelEvent::Accepted {
            serial: 5,
            previous: None
        }]
    );
    let same = round(fetch(5));
    assert_eq!(same.events, [ChannelEvent::Unchanged { serial: 5 }]);
    assert!(!same.changed);

    // A replayed older document is ignored with a warning.
    let replay = round(fetch(4));
    assert_eq!(
        replay.events,
        [ChannelEvent::Replayed {
            offered: 4,
            held: 5
        }]
    );
    assert_eq!(replay.current.unwrap().document.serial, 5);

    // The server withholds the document: the stored one goes on applying.
    let withheld = round(Fetched::Missing);
    assert_eq!(withheld.events, [ChannelEvent::Withheld { held: 5 }]);
    assert_eq!(withheld.current.unwrap().document.serial, 5);
    let failed = round(Fetched::Failed("timed out".into()));
    assert_eq!(failed.current.unwrap().document.serial, 5);

    // A forged document is refused; the stored one applies.
    let (mut bytes, signature) = signed(&key, 9);
    bytes[30] ^= 1;
    let forged = round(Fetched::Document { bytes, signature });
    assert!(matches!(forged.events[..], [ChannelEvent::Rejected(_)]));
    assert_eq!(forged.current.unwrap().document.serial, 5);

    // Same serial, other bytes: a conflict; the held one stays.
    let other = document(5).replace("corrupts", "breaks").into_bytes();
    let signature = key.sign_with_comment(&other, &comment(5));
    let conflict = round(Fetched::Document {
        bytes: other,
        signature,
    });
    assert_eq!(conflict.events, [ChannelEvent::Conflict { serial: 5 }]);

    let newer = round(fetch(6));
    assert_eq!(
        newer.events,
        [ChannelEvent::Accepted {
            serial: 6,
            previous: Some(5)
        }]
    );
    let state = store.load().unwrap();
    assert_eq!(state.document.unwrap().text, document(6));
}

#[test]
fn a_stored_document_whose_key_was_revoked_is_dropped() {
    let old = TestKey::generate();
    let mut state = StoredState::default();
    let (bytes, signature) = signed(&old, 1_000_000);
    let outcome = accept(
        &mut state,
        Fetched::Document { bytes, signature },
        &keys_for(&old),
    );
    assert!(outcome.changed);

    // A later release revokes that key and trusts a new one: the thief's
    // huge serial no longer holds the maintainers' documents back.
    let new = TestKey::generate();
    let mut keys = keys_for(&new);
    keys.revoked
        .push(old.public_key().keynum().try_into().unwrap());
    let (bytes, signature) = signed(&new, 2);
    let outcome = accept(&mut state, Fetched::Document { bytes, signature }, &keys);
    assert!(matches!(
        outcome.events[0],
        ChannelEvent::StoredRevoked(ChannelError::RevokedKey { .. })
    ));
    assert_eq!(
        outcome.events[1],
        ChannelEvent::Accepted {
            serial: 2,
            previous: None
        }
    );
    assert_eq!(outcome.current.unwrap().document.serial, 2);
}

#[test]
fn a_revoked_keys_document_goes_but_the_serials_of_other_keys_stay() {
    let maintainers = TestKey::generate();
    let thief = TestKey::generate();
    let mut both = keys_for(&maintainers);
    both.keys.extend(keys_for(&thief).keys);
    let mut state = StoredState::default();
    let (bytes, signature) = signed(&maintainers, 10);
    accept(&mut state, Fetched::Document { bytes, signature }, &both);
    let (bytes, signature) = signed(&thief, 1_000_000);
    accept(&mut state, Fetched::Document { bytes, signature }, &both);
    assert_eq!(state.serial_floor(&both), Some(1_000_000));

    // The thief's key is revoked: its document and its serial no longer
    // count, but the maintainers' serial 10 still refuses older documents.
    let mut revoked = both.clone();
    revoked
        .revoked
        .push(thief.public_key().keynum().try_into().unwrap());
    assert_eq!(state.serial_floor(&revoked), Some(10));
    let (bytes, signature) = signed(&maintainers, 9);
    let replay = accept(&mut state, Fetched::Document { bytes, signature }, &revoked);
    assert!(matches!(
        replay.events[..],
        [
            ChannelEvent::StoredRevoked(ChannelError::RevokedKey { .. }),
            ChannelEvent::Replayed {
                offered: 9,
                held: 10
            }
        ]
    ));
    assert!(replay.current.is_none() && state.document.is_none());
    let (bytes, signature) = signed(&maintainers, 11);
    let next = accept(&mut state, Fetched::Document { bytes, signature }, &revoked);
    assert_eq!(next.current.unwrap().document.serial, 11);
}

#[test]
fn a_stored_document_this_pane_cannot_verify_is_kept_and_still_refuses_replays() {
    // A newer release's channel key signed the stored document; this pane
    // (after a rollback) knows only the older key.
    let newer = TestKey::generate();
    let older = TestKey::generate();
    let mut state = StoredState::default();
    let (bytes, signature) = signed(&newer, 5);
    accept(
        &mut state,
        Fetched::Document { bytes, signature },
        &keys_for(&newer),
    );
    let stored = state.clone();
    let keys = keys_for(&older);
    for fetched in [Fetched::Missing, Fetched::Failed("offline".into())] {
        let outcome = accept(&mut state, fetched, &keys);
        assert!(outcome.current.is_none());
        assert!(matches!(
            outcome.events[0],
            ChannelEvent::StoredUnusable {
                serial: Some(5),
                error: ChannelError::UnknownKey { .. }
            }
        ));
        assert!(!outcome.changed);
        assert_eq!(state, stored);
    }
    // An older document signed by the key this pane knows is a replay.
    let (bytes, signature) = signed(&older, 4);
    let replay = accept(&mut state, Fetched::Document { bytes, signature }, &keys);
    assert_eq!(
        replay.events[1],
        ChannelEvent::Replayed {
            offered: 4,
            held: 5
        }
    );
    assert_eq!(state, stored);
    // The same document, signed by a key this pane knows, applies; a newer
    // one replaces it.
    let (bytes, signature) = signed(&older, 5);
    let same = accept(&mut state, Fetched::Document { bytes, signature }, &keys);
    assert_eq!(same.events[1], ChannelEvent::Unchanged { serial: 5 });
    assert_eq!(same.current.unwrap().document.serial, 5);
    assert_eq!(state, stored);
    let (bytes, signature) = signed(&older, 6);
    let newer_doc = accept(&mut state, Fetched::Document { bytes, signature }, &keys);
    assert_eq!(
        newer_doc.events[1],
        ChannelEvent::Accepted {
            serial: 6,
            previous: Some(5)
        }
    );

    // A schema only a newer pane reads, signed by a key this one trusts.
    let mut state = StoredState::default();
    let text = document(7).replace(r#""schema":1"#, r#""schema":2"#);
    state.document = Some(super::state::StoredDocument {
        signature: older.sign_with_comment(text.as_bytes(), &comment(7)),
        text,
        unknown: Default::default(),
    });
    let stored = state.clone();
    let outcome = accept(&mut state, Fetched::Missing, &keys);
    assert!(matches!(
        outcome.events[..],
        [ChannelEvent::StoredUnusable {
            serial: Some(7),
            error: ChannelError::UnsupportedSchema(2)
        }]
    ));
    assert_eq!(state, stored);
}

#[test]
fn a_slower_writer_never_lowers_the_stored_serial() {
    let key = TestKey::generate();
    let keys = keys_for(&key);
    let dir = tempfile::tempdir().unwrap();
    let store = ChannelStore::in_dir(dir.path());
    let (bytes, signature) = signed(&key, 5);
    let mut first = StoredState::default();
    accept(&mut first, Fetched::Document { bytes, signature }, &keys);
    store.save(&first).unwrap();

    // Two panes read serial 5; one accepts 7, the other 6 and saves last.
    let loaded = store.load().unwrap();
    let (mut fast, mut slow) = (loaded.clone(), loaded.clone());
    let (bytes, signature) = signed(&key, 7);
    accept(&mut fast, Fetched::Document { bytes, signature }, &keys);
    let (bytes, signature) = signed(&key, 6);
    accept(&mut slow, Fetched::Document { bytes, signature }, &keys);
    slow.rollout_number = Some(0.25);
    store.save_over(&loaded, &fast).unwrap();
    store.save_over(&loaded, &slow).unwrap();
    let state = store.load().unwrap();
    assert_eq!(state.document.as_ref().unwrap().text, document(7));
    assert_eq!(state.serial_floor(&keys), Some(7));
    // The slower one's first draw of the number is still kept.
    assert_eq!(state.rollout_number, Some(0.25));
}
