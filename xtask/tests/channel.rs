//! `cargo xtask channel` end to end: the real binary writes and signs the
//! document in a mirror laid out as `cargo xtask serve` serves it, and pane's
//! own channel verifier (the library an installation runs) checks the result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pane::channel::decide;
use pane::channel::rollout::{availability, Availability, RolloutNumber};
use pane::channel::{verify_document, ChannelError, ChannelKeys, Timestamp, VerifiedChannel};
use semver::Version;
use xtask::fixtures::{Release, TestKey};

const TARGET: &str = "x86_64-unknown-linux-musl";

struct Mirror {
    root: tempfile::TempDir,
    scratch: tempfile::TempDir,
    /// The channel key.
    key: TestKey,
    /// The key the mirror's releases are signed with.
    release_key: TestKey,
}

impl Mirror {
    /// A mirror holding releases of `versions`, signed by a release key of
    /// its own (not the channel key).
    fn new(versions: &[&str]) -> Mirror {
        let mirror = Mirror {
            root: tempfile::tempdir().unwrap(),
            scratch: tempfile::tempdir().unwrap(),
            key: TestKey::generate(),
            release_key: TestKey::generate(),
        };
        for version in versions {
            mirror.publish(version, &mirror.release_key);
        }
        mirror
    }

    /// Writes a release of `version` into the mirror, signed by `key`.
    fn publish(&self, version: &str, key: &TestKey) {
        let binary: PathBuf = self.scratch.path().join("pane-binary");
        std::fs::write(&binary, "#!/bin/sh\necho pane\n").unwrap();
        Release::new(version)
            .binary(&binary)
            .write(self.path(), key);
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// `cargo xtask channel --mirror ROOT --key KEY --release-pub PUB <args>`:
    /// the mirror's own release key is the one its releases are checked under.
    fn channel(&self, args: &[&str]) -> Output {
        self.trusting(&[&self.release_key.pub_path()], args)
    }

    /// The same, trusting the release keys in `release_pubs` (none: the keys
    /// compiled from keys/).
    fn trusting(&self, release_pubs: &[&Path], args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .arg("channel")
            .arg("--mirror")
            .arg(self.path())
            .arg("--key")
            .arg(self.key.secret_key_path());
        for path in release_pubs {
            command.arg("--release-pub").arg(path);
        }
        command
            .args(args)
            .env_remove("MINISIGN_PASSWORD")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.channel(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Fails, leaving the document as it was, with `needle` in its message.
    fn refused(&self, args: &[&str], needle: &str) {
        self.refused_trusting(&[&self.release_key.pub_path()], args, needle);
    }

    fn refused_trusting(&self, release_pubs: &[&Path], args: &[&str], needle: &str) {
        let before = self.files();
        let output = self.trusting(release_pubs, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
        assert_eq!(self.files(), before, "{args:?} changed the document");
    }

    fn files(&self) -> (Vec<u8>, String) {
        let dir = self.path().join("channel");
        (
            std::fs::read(dir.join("channel.json")).unwrap_or_default(),
            std::fs::read_to_string(dir.join("channel.json.minisig")).unwrap_or_default(),
        )
    }

    /// The document as an installation that trusts this channel key sees it.
    fn verified(&self) -> Result<VerifiedChannel, ChannelError> {
        let (bytes, signature) = self.files();
        let keys = ChannelKeys::single("channel key", &self.key.public_key_line()).unwrap();
        verify_document(&bytes, &signature, &keys)
    }
}

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

/// `withdraw VERSION --replacement REPLACEMENT --reason broken`.
fn withdraw<'a>(version: &'a str, replacement: &'a str) -> [&'a str; 6] {
    [
        "withdraw",
        version,
        "--replacement",
        replacement,
        "--reason",
        "broken",
    ]
}

#[test]
fn rollout_withdraw_and_critical_make_documents_pane_accepts() {
    let mirror = Mirror::new(&["1.1.3", "1.2.0", "1.2.1"]);
    assert!(mirror.ok(&["show"]).contains("does not exist yet"));

    mirror.ok(&[
        "rollout",
        "1.2.0",
        "--hours",
        "48",
        "--start",
        "2026-12-01T12:00:00Z",
    ]);
    let first = mirror.verified().unwrap();
    assert_eq!(first.document.serial, 1);
    assert_eq!(first.key_id, mirror.key.key_id_hex());
    let rollout = first.document.rollout.clone().unwrap();
    assert_eq!((rollout.version, rollout.hours), (v("1.2.0"), 48.0));
    assert_eq!(rollout.start.to_string(), "2026-12-01T12:00:00Z");
    let issued = first.document.issued;
    assert_eq!(
        first.document.expires,
        Some(issued.plus_seconds(14 * 86_400))
    );
    // Hour 6: an installation at 0.25 waits, one at 0.1 has it.
    let hour6 = Timestamp::parse("2026-12-01T18:00:00Z").unwrap();
    let late = RolloutNumber::from_stored(0.25).unwrap();
    let early = RolloutNumber::from_stored(0.1).unwrap();
    assert!(matches!(
        availability(&first.document, &v("1.2.0"), late, hour6),
        Availability::RollingOut { .. }
    ));
    assert!(availability(&first.document, &v("1.2.0"), early, hour6).is_available());

    let printed = mirror.ok(&[
        "withdraw",
        "1.2.0",
        "--replacement",
        "1.1.3",
        "--reason",
        "corrupts config files on save",
    ]);
    assert!(printed.contains("serial 2"), "{printed}");
    let second = mirror.verified().unwrap();
    assert_eq!(second.document.serial, 2);
    let withdrawal = decide::withdrawal(&second.document, &v("1.2.0"), TARGET).unwrap();
    assert_eq!(withdrawal.reason, "corrupts config files on save");
    assert_eq!(
        decide::replacement(&second.document, &v("1.2.0"), TARGET, &v("1.2.0"), false),
        Ok(Some(v("1.1.3")))
    );
    // The withdrawn version's rollout is gone with it.
    assert_eq!(second.document.rollout, None);
    let floor = decide::downgrade_floor(
        &second.document,
        TARGET,
        &v("1.2.0"),
        &[v("1.1.0"), v("1.2.0")],
        false,
    );
    assert_eq!(floor, Some(v("1.1.3")));

    mirror.ok(&["critical", "1.2.1"]);
    let third = mirror.verified().unwrap();
    assert_eq!(third.document.serial, 3);
    assert!(third.document.is_critical(&v("1.2.1")));
    assert!(third.document.withdrawal(&v("1.2.0"), TARGET).is_some());

    let shown = mirror.ok(&["show"]);
    assert!(
        shown.contains("\"serial\": 3") && shown.contains("serial:3"),
        "{shown}"
    );
}

#[test]
fn bad_replacements_and_tampered_documents_are_refused() {
    let mirror = Mirror::new(&["1.1.2", "1.1.3", "1.2.0"]);
    mirror.refused(&withdraw("1.2.0", "1.1.9"), "not released");
    mirror.refused(&withdraw("1.2.0", "1.2.0"), "its own replacement");
    mirror.refused(&["critical", "1.3.0"], "not released");
    mirror.refused(
        &["rollout", "1.2.0", "--hours", "4", "--start", "tomorrow"],
        "--start",
    );

    mirror.ok(&withdraw("1.1.3", "1.1.2"));
    // 1.1.3 is withdrawn, so it cannot be a replacement...
    mirror.refused(&withdraw("1.2.0", "1.1.3"), "itself withdrawn");
    mirror.refused(&["critical", "1.1.3"], "withdrawn");
    // ...and 1.1.2, the replacement of 1.1.3, cannot be withdrawn under it.
    mirror.refused(&withdraw("1.1.2", "1.2.0"), "replacement for 1.1.3");
    // A withdrawal on one target leaves the replacement usable elsewhere.
    mirror.ok(&[
        "withdraw",
        "1.2.0",
        "--replacement",
        "1.1.2",
        "--reason",
        "crashes on arm",
        "--target",
        "aarch64-apple-darwin",
    ]);
    let document = mirror.verified().unwrap().document;
    assert_eq!(document.serial, 2);
    assert!(document
        .withdrawal(&v("1.2.0"), "aarch64-apple-darwin")
        .is_some());
    assert!(document.withdrawal(&v("1.2.0"), TARGET).is_none());

    // Someone edits the mirror's document: the tool will not sign over it.
    let path = mirror.path().join("channel/channel.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("crashes on arm", "fine")).unwrap();
    mirror.refused(&["critical", "1.1.2"], "does not verify");
    assert!(matches!(
        mirror.verified(),
        Err(ChannelError::BadSignature { .. })
    ));
}

#[test]
fn fields_the_tool_does_not_know_are_kept() {
    let mirror = Mirror::new(&["1.2.0"]);
    mirror.ok(&["critical", "1.2.0"]);
    // A later tool added a field; re-sign it as that tool would.
    let path = mirror.path().join("channel/channel.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    value["notes"] = serde_json::json!({ "ticket": 1234 });
    let text = serde_json::to_string(&value).unwrap();
    std::fs::write(&path, &text).unwrap();
    let signature = mirror.key.sign_with_comment(
        text.as_bytes(),
        "product:pane\tfile:channel.json\tserial:1\ttimestamp:1",
    );
    std::fs::write(
        mirror.path().join("channel/channel.json.minisig"),
        signature,
    )
    .unwrap();
    assert!(mirror.verified().is_ok());

    mirror.ok(&["rollout", "1.2.0", "--hours", "0"]);
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(value["notes"]["ticket"], 1234);
    assert_eq!(mirror.verified().unwrap().document.serial, 2);
}

#[test]
fn a_withdrawal_on_another_target_keeps_the_first() {
    let mirror = Mirror::new(&["1.1.2", "1.1.3", "1.2.0"]);
    let on = |target: &'static str, replacement: &'static str| {
        [
            "withdraw",
            "1.2.0",
            "--replacement",
            replacement,
            "--reason",
            "crashes at start",
            "--target",
            target,
        ]
    };
    mirror.ok(&on(TARGET, "1.1.3"));
    mirror.ok(&on("aarch64-apple-darwin", "1.1.3"));
    let document = mirror.verified().unwrap().document;
    assert_eq!(document.withdrawn.len(), 1, "{:?}", document.withdrawn);
    for target in [TARGET, "aarch64-apple-darwin"] {
        let withdrawal = document.withdrawal(&v("1.2.0"), target);
        assert_eq!(
            withdrawal.and_then(|w| w.replacement.clone()),
            Some(v("1.1.3")),
            "{target}"
        );
    }
    assert!(document
        .withdrawal(&v("1.2.0"), "x86_64-apple-darwin")
        .is_none());
    // One entry names one replacement: another one for a third target
    // would change it for the first two.
    mirror.refused(
        &on("x86_64-apple-darwin", "1.1.2"),
        "withdrawn already on x86_64-unknown-linux-musl, aarch64-apple-darwin with the replacement 1.1.3",
    );
    // On every target, with any replacement: it covers them all, and a
    // later withdrawal on one target leaves it covering them all.
    mirror.ok(&[
        "withdraw",
        "1.2.0",
        "--replacement",
        "1.1.2",
        "--reason",
        "corrupts config files on save",
    ]);
    mirror.refused(&on(TARGET, "1.1.3"), "withdrawn already on every target");
    mirror.ok(&on(TARGET, "1.1.2"));
    let document = mirror.verified().unwrap().document;
    assert_eq!(document.withdrawn.len(), 1, "{:?}", document.withdrawn);
    let withdrawal = &document.withdrawn[0];
    assert_eq!(withdrawal.targets, pane::channel::Targets::All);
    assert_eq!(withdrawal.replacement, Some(v("1.1.2")));
    assert_eq!(withdrawal.reason, "crashes at start");
}

#[test]
fn a_replacement_the_withdrawn_release_would_refuse_is_refused() {
    let mirror = Mirror::new(&["1.0.5", "1.1.0", "1.2.0"]);
    // pane 1.2.0 lets a channel send it no lower than 1.1.0.
    mirror.refused(&withdraw("1.2.0", "1.0.5"), "below 1.1.0");
    mirror.ok(&withdraw("1.2.0", "1.1.0"));
    let document = mirror.verified().unwrap().document;
    assert_eq!(
        decide::replacement(&document, &v("1.2.0"), TARGET, &v("1.2.0"), false),
        Ok(Some(v("1.1.0")))
    );
}

#[test]
fn a_rollout_longer_than_a_year_is_refused() {
    let mirror = Mirror::new(&["1.2.0"]);
    for hours in ["1e300", "8760.5", "inf", "NaN", "-1"] {
        mirror.refused(&["rollout", "1.2.0", "--hours", hours], "--hours");
    }
    mirror.ok(&["rollout", "1.2.0", "--hours", "8760"]);
    let rollout = mirror.verified().unwrap().document.rollout.unwrap();
    assert_eq!(rollout.hours, 8760.0);
    // Nor one that starts so far ahead that it ends more than a year from
    // now: pane would refuse the document, withdrawals and all.
    for (start, hours) in [("9999-01-01T00:00:00Z", "1"), ("2099-01-01T00:00:00Z", "0")] {
        mirror.refused(
            &["rollout", "1.2.0", "--hours", hours, "--start", start],
            "a rollout ends within a year",
        );
    }
}

/// A replacement must be a stable release that is really there: a
/// pre-release would send stable installations to it, and a folder whose
/// signature names another release, or is no signature, is not that release.
#[test]
fn a_replacement_must_be_a_stable_release_signed_as_itself() {
    let mirror = Mirror::new(&["1.1.3", "1.2.0", "1.3.0-rc.1", "1.1.4"]);
    mirror.refused(&withdraw("1.2.0", "1.3.0-rc.1"), "is a pre-release");
    // 1.1.4's folder holding 1.1.3's signed files.
    let (from, to) = (mirror.path().join("v1.1.3"), mirror.path().join("v1.1.4"));
    for name in ["SHA256SUMS", "SHA256SUMS.minisig"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    mirror.refused(&withdraw("1.2.0", "1.1.4"), "not pane 1.1.4's SHA256SUMS");
    std::fs::write(to.join("SHA256SUMS.minisig"), "garbage\n").unwrap();
    mirror.refused(&withdraw("1.2.0", "1.1.4"), "is not a minisign signature");
    mirror.ok(&withdraw("1.2.0", "1.1.3"));
}

/// Releases approved out of order: the rollout never goes back to an older
/// release than the one the document rolls out.
#[test]
fn a_rollout_never_goes_back_to_an_older_release() {
    let mirror = Mirror::new(&["1.2.0", "1.2.1"]);
    mirror.ok(&["rollout", "1.2.1", "--hours", "48"]);
    mirror.refused(
        &["rollout", "1.2.0", "--hours", "48"],
        "never goes back to an older release",
    );
    mirror.ok(&["rollout", "1.2.1", "--hours", "24"]);
}

/// A release the document names (a replacement, a rollout, a critical mark)
/// must be signed by a key pane trusts for releases: those compiled from
/// keys/, or the ones given with --release-pub. One signed by another key,
/// the channel key among them, is refused, though its trusted comment names
/// it as it should.
#[test]
fn a_release_signed_by_a_key_pane_does_not_trust_is_refused() {
    let mirror = Mirror::new(&["1.1.3", "1.2.0"]);
    // Signed with the channel key, the wrong secret for a release.
    mirror.publish("1.1.4", &mirror.key);
    mirror.refused(
        &withdraw("1.2.0", "1.1.4"),
        &format!(
            "v1.1.4/SHA256SUMS.minisig does not verify under a release key pane trusts: \
             SHA256SUMS.minisig was made by key {}",
            mirror.key.key_id_hex()
        ),
    );
    let stranger = TestKey::generate();
    mirror.publish("1.2.1", &stranger);
    for args in [
        &["critical", "1.2.1"][..],
        &["rollout", "1.2.1", "--hours", "4"],
    ] {
        mirror.refused(args, &stranger.key_id_hex());
    }
    // Without --release-pub, the keys compiled from keys/ are the trusted
    // ones, and the mirror's test key is none of them.
    mirror.refused_trusting(
        &[],
        &withdraw("1.2.0", "1.1.3"),
        "which is not one of the release keys compiled from keys/",
    );
    // Each key given is trusted (the active key and the backup, say)...
    let (ours, theirs) = (mirror.release_key.pub_path(), stranger.pub_path());
    mirror.refused_trusting(
        &[&ours, &theirs],
        &withdraw("1.2.0", "1.1.4"),
        "was made by key",
    );
    let output = mirror.trusting(&[&ours, &theirs], &["critical", "1.2.1"]);
    assert!(output.status.success(), "{output:?}");
    // ...but never the channel key: a key holds one role only.
    mirror.refused_trusting(
        &[&ours, &mirror.key.pub_path()],
        &withdraw("1.2.0", "1.1.3"),
        "is a channel key",
    );
    // Nor the key of the document before a rotation (--base-pub), nor one
    // compiled into pane from keys/channel/.
    let former = TestKey::generate();
    let mut rotated = withdraw("1.2.0", "1.1.3").to_vec();
    let former_pub = former.pub_path();
    rotated.extend(["--base-pub", former_pub.to_str().unwrap()]);
    mirror.refused_trusting(&[&ours, &former_pub], &rotated, "is a channel key");
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys/channel/pane-channel-1.pub");
    assert!(compiled.is_file(), "{}", compiled.display());
    mirror.refused_trusting(
        &[&ours, &compiled],
        &withdraw("1.2.0", "1.1.3"),
        "is a channel key",
    );
    mirror.ok(&withdraw("1.2.0", "1.1.3"));
    let document = mirror.verified().unwrap().document;
    assert_eq!(
        document
            .withdrawal(&v("1.2.0"), TARGET)
            .unwrap()
            .replacement,
        Some(v("1.1.3"))
    );
    assert!(document.is_critical(&v("1.2.1")));
}
