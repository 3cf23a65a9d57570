//! The signed release channel, end to end: the real pane against the real
//! loopback release server, documents signed with real minisign keys (by
//! hand here for the hostile ones, by `xtask::channel` for the normal ones).

use serde_json::{json, Value};
use xtask::fixtures::TestKey;
use xtask::server::Fault;

use crate::common::World;

const REASON: &str = "corrupts config files on save";
const NOW: &str = "2026-12-01T12:00:00Z";

/// 1.1.3 and 1.2.0 released; 1.1.3 installed, then updated to 1.2.0 (so both
/// are verified here).
fn on_1_2_0() -> World {
    let world = World::installed(&["1.1.3", "1.2.0"]);
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    world
}

/// Writes `document` (serial taken from it) into the mirror, signed by `key`
/// with the trusted comment `comment` (default: the right one).
fn serve_signed(world: &World, document: &Value, key: &TestKey, comment: Option<&str>) {
    let text = serde_json::to_string_pretty(document).unwrap();
    serve_text(
        world,
        &text,
        key,
        comment,
        document["serial"].as_u64().unwrap(),
    );
}

fn serve_text(world: &World, text: &str, key: &TestKey, comment: Option<&str>, serial: u64) {
    let dir = world.root.join("channel");
    std::fs::create_dir_all(&dir).unwrap();
    let comment = comment.map_or_else(
        || xtask::channel::trusted_comment(serial, 1_796_119_200),
        str::to_string,
    );
    std::fs::write(dir.join("channel.json"), text).unwrap();
    std::fs::write(
        dir.join("channel.json.minisig"),
        key.sign_with_comment(text.as_bytes(), &comment),
    )
    .unwrap();
}

fn withdrawal_doc(serial: u64, replacement: &str) -> Value {
    json!({
        "schema": 1,
        "serial": serial,
        "issued": "2026-12-01T10:00:00Z",
        "expires": "2026-12-15T10:00:00Z",
        "withdrawn": [{"version": "1.2.0", "targets": ["*"], "reason": REASON, "replacement": replacement}],
    })
}

/// [`on_1_2_0`], pinned there with `pin`, and 1.2.0 withdrawn for the
/// pre-release 1.3.0-rc.1, which is released too.
fn withdrawn_for_a_pre_release(pin: bool) -> World {
    let world = on_1_2_0();
    world.publish("1.3.0-rc.1");
    if pin {
        world.pane(&["self", "pin", "1.2.0"]).success();
    }
    serve_signed(&world, &withdrawal_doc(1, "1.3.0-rc.1"), &world.key, None);
    world
}

fn empty_doc(serial: u64) -> Value {
    json!({"schema": 1, "serial": serial, "issued": "2026-12-01T09:00:00Z"})
}

fn at_now(world: &World, args: &[&str]) -> crate::common::Run {
    world.pane_env(args, &[("PANE_TEST_NOW", NOW)])
}

#[test]
fn a_withdrawn_release_is_replaced_by_an_authorised_downgrade() {
    let world = on_1_2_0();
    // Without a document (an old mirror: 404) nothing changes.
    world.pane(&["self", "check"]).success();
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
    let run = at_now(&world, &["self", "check"]).code(10);
    assert!(
        run.stdout.contains(REASON) && run.stdout.contains("1.1.3"),
        "{run}"
    );
    let json = at_now(&world, &["self", "check", "--json"]).code(10).json();
    assert_eq!(json["withdrawn"]["reason"], REASON, "{json}");
    assert_eq!(json["withdrawn"]["replacement"], "1.1.3");
    assert_eq!(json["available"], "1.1.3");
    assert_eq!(json["frozen"], false);
    // list and status mark it.
    let list = at_now(&world, &["self", "list", "--json"]).success().json();
    let row = |v: &str| {
        list["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["version"] == v)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("1.2.0")["withdrawn"], true, "{list}");
    assert_eq!(row("1.1.3")["withdrawn"], false);
    let run = at_now(&world, &["self", "list"]).success();
    assert!(
        run.stdout.contains(&format!("withdrawn: {REASON}")),
        "{run}"
    );
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["channel"]["serial"], 1, "{status}");
    assert_eq!(
        status["channel"]["withdrawn_installed"]["replacement"],
        "1.1.3"
    );
    assert_eq!(
        status["channel"]["withdrawn_verified"][0]["version"],
        "1.2.0"
    );
    let run = at_now(&world, &["self", "status"]).success();
    assert!(
        run.stdout
            .contains(&format!("withdrawn:     1.2.0 ({REASON})")),
        "{run}"
    );
    // An explicit update or pin of the withdrawn version is refused.
    let run = at_now(&world, &["self", "pin", "1.2.0"]).fails_with(REASON);
    assert!(run.stderr.contains("--allow-withdrawn"), "{run}");
    // `update` goes down to the replacement.
    let run = at_now(&world, &["self", "update"]).success();
    assert!(
        run.stderr.contains("downgraded pane 1.2.0 → 1.1.3"),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.1.3");
    let receipt = world.receipt();
    assert_eq!(receipt["verified"], json!(["1.1.3", "1.2.0"]), "{receipt}");
    // And stays there: 1.2.0 is never installed again without a version.
    let run = at_now(&world, &["self", "update"]).success();
    assert!(run.stderr.contains("1.2.0 has been withdrawn"), "{run}");
    at_now(&world, &["self", "check"]).success();
    let run = at_now(&world, &["self", "update", "1.2.0"]).fails_with(REASON);
    assert!(run.stderr.contains("--allow-withdrawn"), "{run}");
    at_now(&world, &["self", "update", "1.2.0", "--allow-withdrawn"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
}

#[test]
fn a_pinned_installation_keeps_its_pin_and_is_warned() {
    let world = on_1_2_0();
    world.pane(&["self", "pin", "1.2.0"]).success();
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
    let run = at_now(&world, &["self", "update"]).success();
    assert!(run.stderr.contains("held by the pin"), "{run}");
    assert_eq!(world.installed_version(), "1.2.0");
    for args in [
        &["self", "status"][..],
        &["self", "list"],
        &["self", "check"],
    ] {
        let run = at_now(&world, args);
        assert!(
            run.stderr.contains("(pinned by 1.2.0) has been withdrawn")
                && run.stderr.contains(REASON),
            "{args:?}: {run}"
        );
    }
    // A requirement pin never picks the withdrawn version.
    at_now(&world, &["self", "pin", "~1.2"]).fails_with("no release matches");
    at_now(&world, &["self", "pin", ">=1.1"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
}

/// A world on 1.2.0 served `bad`: every command warns with `expected`, and
/// `update` carries on as if there were no document.
fn ignored(serve: impl Fn(&World), expected: &str) {
    let world = on_1_2_0();
    serve(&world);
    let run = at_now(&world, &["self", "check"]).success();
    assert!(run.stderr.contains(expected), "wanted {expected:?}:\n{run}");
    let run = at_now(&world, &["self", "update"]).success();
    assert!(run.stderr.contains(expected), "{run}");
    assert_eq!(world.installed_version(), "1.2.0");
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["channel"]["serial"], Value::Null, "{status}");
}

#[test]
fn a_document_signed_by_an_untrusted_key_is_ignored() {
    ignored(
        |w| serve_signed(w, &withdrawal_doc(1, "1.1.3"), &TestKey::generate(), None),
        "which is not one of",
    );
}

#[test]
fn another_products_document_is_ignored() {
    let comment = "product:other\tfile:channel.json\tserial:1\ttimestamp:1";
    ignored(
        |w| serve_signed(w, &withdrawal_doc(1, "1.1.3"), &w.key, Some(comment)),
        "not pane",
    );
}

#[test]
fn a_serial_that_disagrees_with_its_comment_is_ignored() {
    let comment = xtask::channel::trusted_comment(7, 1);
    ignored(
        |w| serve_signed(w, &withdrawal_doc(1, "1.1.3"), &w.key, Some(&comment)),
        "the signature is for serial 7, but the document says 1",
    );
}

#[test]
fn an_oversized_document_is_ignored() {
    ignored(
        |w| {
            let mut doc = withdrawal_doc(1, "1.1.3");
            doc["padding"] = "x".repeat(70 * 1024).into();
            serve_signed(w, &doc, &w.key, None);
        },
        "more than 65536 bytes",
    );
}

#[test]
fn a_document_signed_by_a_release_key_is_ignored() {
    // The channel key is its own; the world's key is the release key.
    let channel_key = TestKey::generate();
    let mut world = on_1_2_0();
    world.extra_env.push((
        "PANE_TEST_CHANNEL_PUBKEY".into(),
        channel_key.public_key_line(),
    ));
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
    let run = at_now(&world, &["self", "update"]).success();
    assert!(
        run.stderr
            .contains("a release key: only a channel key may sign it"),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.2.0");
    // The same document signed by the channel key is accepted.
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &channel_key, None);
    at_now(&world, &["self", "check"]).code(10);
}

#[test]
fn a_replayed_older_document_and_a_withheld_one_change_nothing() {
    let world = on_1_2_0();
    serve_signed(&world, &withdrawal_doc(2, "1.1.3"), &world.key, None);
    at_now(&world, &["self", "check"]).code(10);
    // The server goes back to serial 1 without the withdrawal.
    serve_signed(&world, &empty_doc(1), &world.key, None);
    let run = at_now(&world, &["self", "check"]).code(10);
    assert!(run.stderr.contains("serial 2 was accepted before"), "{run}");
    // The server stops serving any document.
    std::fs::remove_dir_all(world.root.join("channel")).unwrap();
    let run = at_now(&world, &["self", "check"]).code(10);
    assert!(
        run.stderr.contains("no longer serves the channel document"),
        "{run}"
    );
    at_now(&world, &["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
}

#[test]
fn a_missing_or_tampered_replacement_fails_and_changes_nothing() {
    for tamper in [false, true] {
        let world = World::installed(&["1.2.0"]);
        world.publish("1.1.3");
        serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
        at_now(&world, &["self", "check"]).code(10);
        let archive = world.root.join("v1.1.3").join(format!(
            "pane-1.1.3-{}.tar.gz",
            xtask::fixtures::host_target()
        ));
        if tamper {
            let mut bytes = std::fs::read(&archive).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&archive, bytes).unwrap();
        } else {
            std::fs::remove_dir_all(world.root.join("v1.1.3")).unwrap();
        }
        let before = world.snapshot();
        let run = at_now(&world, &["self", "update"]);
        assert_eq!(run.code, Some(1), "{run}");
        before.assert_same(&world.snapshot());
        assert_eq!(world.installed_version(), "1.2.0");
    }
}

#[test]
fn a_replacement_below_the_compiled_in_minimum_is_refused() {
    let world = World::installed(&["1.2.0"]);
    world.publish("1.0.0");
    serve_signed(&world, &withdrawal_doc(1, "1.0.0"), &world.key, None);
    let run = at_now(&world, &["self", "check"]).success();
    assert!(run.stdout.contains("below 1.1.0"), "{run}");
    at_now(&world, &["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
}

#[test]
fn an_expired_document_is_a_freeze_not_a_failure() {
    let world = on_1_2_0();
    let mut doc = empty_doc(1);
    doc["expires"] = "2026-12-01T11:00:00Z".into();
    serve_signed(&world, &doc, &world.key, None);
    let run = at_now(&world, &["self", "check"]).success();
    assert!(run.stdout.contains("may be withheld"), "{run}");
    let json = at_now(&world, &["self", "check", "--json"])
        .success()
        .json();
    assert_eq!(json["frozen"], true);
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["channel"]["frozen"], true, "{status}");
    at_now(&world, &["self", "update"]).success();
}

fn with_number(world: &World, number: f64) {
    std::fs::write(
        world.data_dir.join("channel-state.json"),
        json!({"schema": 1, "rollout_number": number}).to_string(),
    )
    .unwrap();
}

fn rollout_doc(critical: bool) -> Value {
    json!({
        "schema": 1, "serial": 1, "issued": "2026-12-01T10:00:00Z",
        "rollout": {"version": "1.2.0", "start": "2026-12-01T00:00:00Z", "hours": 48},
        "critical": if critical { json!(["1.2.0"]) } else { json!([]) },
    })
}

#[test]
fn a_rollout_reaches_an_installation_when_its_number_comes_up() {
    // Hour 12 of 48: a quarter rolled out.
    for (number, reached) in [(0.9, false), (0.1, true)] {
        let world = World::installed(&["1.1.3", "1.2.0"]);
        with_number(&world, number);
        serve_signed(&world, &rollout_doc(false), &world.key, None);
        let json = at_now(&world, &["self", "check", "--json"]).json();
        assert_eq!(json["rollout"]["available"], reached, "{json}");
        assert_eq!(json["update_available"], reached);
        if !reached {
            assert_eq!(json["rollout"]["eta"], "2026-12-02T19:12:01Z");
            let run = at_now(&world, &["self", "update"]).success();
            assert!(run.stderr.contains("is rolling out"), "{run}");
            assert_eq!(world.installed_version(), "1.1.3");
            at_now(&world, &["self", "update", "--now"]).success();
        } else {
            at_now(&world, &["self", "update"]).success();
        }
        assert_eq!(world.installed_version(), "1.2.0");
    }
    // Critical skips the rollout.
    let world = World::installed(&["1.1.3", "1.2.0"]);
    with_number(&world, 0.9);
    serve_signed(&world, &rollout_doc(true), &world.key, None);
    let json = at_now(&world, &["self", "check", "--json"]).code(10).json();
    assert_eq!(json["critical"], true, "{json}");
}

#[test]
fn the_rollout_number_is_null_until_it_is_kept_then_the_same() {
    let world = World::installed(&["1.1.3"]);
    // No channel document yet: nothing is kept, and status invents nothing.
    for _ in 0..2 {
        let status = at_now(&world, &["self", "status", "--json"])
            .success()
            .json();
        assert_eq!(status["rollout"]["number"], Value::Null, "{status}");
    }
    assert!(!world.data_dir.join("channel-state.json").exists());
    // The first document accepted keeps the number drawn with it.
    serve_signed(&world, &empty_doc(1), &world.key, None);
    at_now(&world, &["self", "check"]).success();
    let numbers: Vec<Value> = (0..2)
        .map(|_| {
            at_now(&world, &["self", "status", "--json"])
                .success()
                .json()["rollout"]["number"]
                .clone()
        })
        .collect();
    assert!(numbers[0].is_f64(), "{numbers:?}");
    assert_eq!(numbers[0], numbers[1]);
    let state: Value =
        serde_json::from_slice(&std::fs::read(world.data_dir.join("channel-state.json")).unwrap())
            .unwrap();
    assert_eq!(state["rollout_number"], numbers[0]);
}

#[test]
fn the_update_policy_and_the_background_auto_update() {
    let world = World::installed(&["1.1.3", "1.2.0"]);
    let run = world.pane(&["self", "config"]).success();
    assert!(
        run.stdout.contains("updates = notify    (from default)"),
        "{run}"
    );
    world.pane(&["self", "config", "updates", "auto"]).success();
    let config = world.home.join(".config/pane/config.toml");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("updates = \"auto\""));
    let json = world.pane(&["self", "config", "--json"]).success().json();
    assert_eq!(json["updates"], "auto");
    assert!(
        json["source"].as_str().unwrap().starts_with("user file "),
        "{json}"
    );
    // The background check installs what `update` would, and logs it.
    at_now(&world, &["self", "background-check"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["policy"]["updates"], "auto", "{status}");
    assert_eq!(status["auto"]["last_run"], NOW);
    assert!(status["auto"]["last_action"]
        .as_str()
        .unwrap()
        .contains("1.1.3 → 1.2.0"));
    // At most one automatic install every four hours...
    world.publish("1.3.0");
    let at = |t: &'static str| [("PANE_TEST_NOW", t)];
    world
        .pane_env(&["self", "background-check"], &at("2026-12-01T13:00:00Z"))
        .success();
    assert_eq!(world.installed_version(), "1.2.0");
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert!(
        status["auto"]["last_action"]
            .as_str()
            .unwrap()
            .contains("less than four hours"),
        "{status}"
    );
    world
        .pane_env(&["self", "background-check"], &at("2026-12-01T16:00:01Z"))
        .success();
    assert_eq!(world.installed_version(), "1.3.0");
    // ...but moving off a withdrawn version does not wait.
    let mut doc = withdrawal_doc(1, "1.2.0");
    doc["withdrawn"][0]["version"] = "1.3.0".into();
    serve_signed(&world, &doc, &world.key, None);
    world
        .pane_env(&["self", "background-check"], &at("2026-12-01T16:30:00Z"))
        .success();
    assert_eq!(world.installed_version(), "1.2.0");
    // Never while a pin holds.
    world.pane(&["self", "pin", "1.2.0"]).success();
    world
        .pane_env(&["self", "background-check"], &at("2026-12-02T16:30:00Z"))
        .success();
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert!(
        status["auto"]["last_action"]
            .as_str()
            .unwrap()
            .contains("held by the pin"),
        "{status}"
    );
    world.pane(&["self", "unpin"]).success();
    // An administrator's `off` wins and stops update, pin and rollback.
    let system = world.tmp.path().join("etc-pane.toml");
    std::fs::write(&system, "updates = \"off\"\n").unwrap();
    let admin = [("PANE_TEST_SYSTEM_CONFIG", system.to_str().unwrap())];
    for args in [
        &["self", "update"][..],
        &["self", "pin", "1.1.3"],
        &["self", "rollback"],
    ] {
        let run = world.pane_env(args, &admin);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains(system.to_str().unwrap()), "{run}");
    }
    let run = world.pane_env(&["self", "config"], &admin).success();
    assert!(
        run.stdout.contains("updates = off    (from system file"),
        "{run}"
    );
    // Uninstall removes the config, the channel state and the log.
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!config.exists());
    assert!(
        !world.data_dir.exists(),
        "{:?}",
        std::fs::read_dir(&world.data_dir).map(|d| d.count())
    );
}

/// A dotfiles manager keeps config.toml as a link into its repository:
/// `self config` writes the setting there (the link stays, so pane reads
/// what it wrote), and uninstall leaves the link and the file alone.
#[test]
fn a_linked_config_file_is_written_through_and_left_by_uninstall() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::installed(&["1.1.3"]);
    let repo = world.home.join("dotfiles/pane");
    std::fs::create_dir_all(&repo).unwrap();
    let real = repo.join("config.toml");
    std::fs::write(&real, "updates = \"notify\"\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = world.home.join(".config/pane/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &config).unwrap();

    world.pane(&["self", "config", "updates", "off"]).success();
    let json = world.pane(&["self", "config", "--json"]).success().json();
    assert_eq!(json["updates"], "off", "{json}");
    assert!(std::fs::symlink_metadata(&config)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "updates = \"off\"\n"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);

    world.pane(&["self", "uninstall", "--yes"]).success();
    assert_eq!(std::fs::read_link(&config).unwrap(), real);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "updates = \"off\"\n"
    );
}

/// Uninstall removes the config file only when it holds nothing but what
/// `self config` writes. A setting a newer pane added, or a key that merely
/// starts with `updates`, or a table, keeps the file, byte for byte; the
/// file that holds only the setting goes, with its empty directory.
#[test]
fn uninstall_keeps_a_config_file_with_another_setting() {
    let config_of = |world: &World| world.home.join(".config/pane/config.toml");
    for theirs in [
        "updates = \"auto\"\nupdates_channel = \"beta\"\n",
        "updates = \"auto\"\n\n[mirror]\nurl = \"https://mirror.example\"\n",
        "# managed by hand\nupdates = \"off\"\ncolor = \"never\"\n",
    ] {
        let world = World::installed(&["1.1.3"]);
        let config = config_of(&world);
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, theirs).unwrap();
        world.pane(&["self", "uninstall", "--yes"]).success();
        assert_eq!(std::fs::read_to_string(&config).unwrap(), theirs);
    }
    let world = World::installed(&["1.1.3"]);
    world.pane(&["self", "config", "updates", "auto"]).success();
    let config = config_of(&world);
    assert!(config.exists());
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!config.exists());
    assert!(!config.parent().unwrap().exists());
}

#[test]
fn a_pre_release_called_latest_is_not_installed_on_the_stable_channel() {
    // Issue 12, finding 2.
    let world = World::installed(&["1.0.0", "1.0.1"]);
    world.publish("1.1.0-beta.1");
    for asset in ["SHA256SUMS", "SHA256SUMS.minisig"] {
        world.server().set_fault(
            format!("latest/download/{asset}"),
            Fault::RedirectTo(world.server().download_url("1.1.0-beta.1", asset)),
        );
    }
    let run = world.pane(&["self", "update"]).success();
    assert!(run.stderr.contains("pre-release 1.1.0-beta.1"), "{run}");
    assert_eq!(world.installed_version(), "1.0.1");
    world.pane(&["self", "check"]).success();
}

#[test]
fn a_receipt_with_fields_of_a_future_version_keeps_working_and_keeps_them() {
    let world = World::installed(&["1.1.3", "1.2.0"]);
    let mut receipt = world.receipt();
    receipt["rollout_cohort"] = json!({"number": 0.5, "since": "2027-01-01T00:00:00Z"});
    receipt["policy_applied"] = "auto".into();
    std::fs::write(world.receipt_path(), receipt.to_string()).unwrap();
    world.pane(&["self", "status"]).success();
    world.pane(&["self", "update"]).success();
    world.pane(&["self", "rollback"]).success();
    let after = world.receipt();
    assert_eq!(after["rollout_cohort"]["number"], 0.5, "{after}");
    assert_eq!(after["policy_applied"], "auto");
    assert_eq!(after["schema"], 1);
}

/// Bare `pane` with the notice forced on (no terminal needed), at [`NOW`].
fn notice(world: &World) -> crate::common::Run {
    let mut command = world.command(&world.install_path());
    command
        .env_remove("PANE_NO_UPDATE_CHECK")
        .env("PANE_FORCE_NOTICE", "1")
        .env("PANE_TEST_NO_SPAWN", "1")
        .env("PANE_TEST_NOW", NOW);
    crate::common::Run::from(command.output().unwrap())
}

#[test]
fn withdrawal_and_critical_notices_show_on_every_run() {
    let world = on_1_2_0();
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
    at_now(&world, &["self", "check"]).code(10);
    for _ in 0..2 {
        let run = notice(&world).success();
        assert!(
            run.stderr.contains("pane 1.2.0 has been withdrawn: ") && run.stderr.contains(REASON),
            "{run}"
        );
        assert!(run.stderr.contains("its replacement, 1.1.3"), "{run}");
    }
    // With a newer release that is not withdrawn, update fixes forward, and
    // the notice names where it goes.
    world.publish("1.3.0");
    at_now(&world, &["self", "check"]).code(10);
    let run = notice(&world).success();
    assert!(
        run.stderr
            .contains("`pane self update` installs 1.3.0, a newer release.")
            && !run.stderr.contains("replacement"),
        "{run}"
    );
    let run = at_now(&world, &["self", "update", "--dry-run"]).success();
    assert!(run.stderr.contains("1.2.0 → 1.3.0"), "{run}");
    // While 1.3.0 is still rolling out toward this installation, update goes
    // down to the replacement, and the notice says so.
    with_number(&world, 0.9);
    let mut doc = withdrawal_doc(2, "1.1.3");
    doc["rollout"] = json!({"version": "1.3.0", "start": "2026-12-01T10:00:00Z", "hours": 48});
    serve_signed(&world, &doc, &world.key, None);
    at_now(&world, &["self", "check"]).code(10);
    let run = notice(&world).success();
    assert!(run.stderr.contains("its replacement, 1.1.3"), "{run}");
    let run = at_now(&world, &["self", "update", "--dry-run"]).success();
    assert!(run.stderr.contains("1.2.0 → 1.1.3"), "{run}");
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert!(
        status["last_notice"]["text"]
            .as_str()
            .unwrap()
            .contains(REASON),
        "{status}"
    );
    assert_eq!(status["last_notice"]["at"], NOW);

    // A release rolling out is not announced before this installation's turn;
    // a critical one is, on every run.
    let world = World::installed(&["1.1.3", "1.2.0"]);
    with_number(&world, 0.9);
    serve_signed(&world, &rollout_doc(false), &world.key, None);
    at_now(&world, &["self", "check"]).success();
    let run = notice(&world).success();
    assert!(!run.stderr.contains("1.2.0"), "{run}");
    let mut doc = rollout_doc(true);
    doc["serial"] = 2.into();
    serve_signed(&world, &doc, &world.key, None);
    at_now(&world, &["self", "check"]).code(10);
    for _ in 0..2 {
        let run = notice(&world).success();
        assert!(
            run.stderr.contains("pane 1.2.0 is a critical update"),
            "{run}"
        );
    }
}

#[test]
fn a_withdrawn_release_handed_to_self_install_becomes_its_replacement() {
    // install.sh verified 1.2.0 ("latest" on this mirror) and hands it over
    // without a --version: the channel withdrew it, so 1.1.3 is installed.
    let world = World::new();
    world.publish("1.1.3");
    world.publish("1.2.0");
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &world.key, None);
    let downloaded = xtask::fixtures::build_pane("1.2.0");
    let run = world
        .run(
            &downloaded,
            &["self", "install", "--no-modify-path", "--follow-channel"],
            &[("PANE_TEST_NOW", NOW), ("PANE_INSTALLER", "install.sh")],
        )
        .success();
    assert!(run.stderr.contains(REASON), "{run}");
    assert_eq!(world.installed_version(), "1.1.3");
    // Under --json, one document that tells both.
    let again = World::new();
    again.publish("1.1.3");
    again.publish("1.2.0");
    serve_signed(&again, &withdrawal_doc(1, "1.1.3"), &again.key, None);
    let run = again
        .run(
            &downloaded,
            &[
                "self",
                "install",
                "--no-modify-path",
                "--follow-channel",
                "--json",
            ],
            &[("PANE_TEST_NOW", NOW)],
        )
        .success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{run}"));
    assert_eq!(doc["status"], "installed", "{doc:#}");
    assert_eq!(doc["version"], "1.2.0", "{doc:#}");
    assert_eq!(doc["followed"]["to"], "1.1.3", "{doc:#}");
    assert_eq!(doc["followed"]["withdrawn"]["reason"], REASON, "{doc:#}");
    // Asked for by name (install.sh --version 1.2.0 passes no --follow-channel),
    // the withdrawn release stays.
    let other = World::new();
    other.publish("1.1.3");
    other.publish("1.2.0");
    serve_signed(&other, &withdrawal_doc(1, "1.1.3"), &other.key, None);
    other
        .run(
            &downloaded,
            &["self", "install", "--no-modify-path"],
            &[("PANE_TEST_NOW", NOW)],
        )
        .success();
    assert_eq!(other.installed_version(), "1.2.0");
    // Where the administrator turned updates off, the install is done and the
    // withdrawn release stays, with a warning that says why.
    let managed = World::new();
    managed.publish("1.1.3");
    managed.publish("1.2.0");
    serve_signed(&managed, &withdrawal_doc(1, "1.1.3"), &managed.key, None);
    let system = managed.tmp.path().join("etc-pane.toml");
    std::fs::write(&system, "updates = \"off\"\n").unwrap();
    let run = managed
        .run(
            &downloaded,
            &["self", "install", "--no-modify-path", "--follow-channel"],
            &[
                ("PANE_TEST_NOW", NOW),
                ("PANE_TEST_SYSTEM_CONFIG", system.to_str().unwrap()),
            ],
        )
        .success();
    assert!(
        run.stderr
            .contains("staying on it, because updates are turned off by the administrator"),
        "{run}"
    );
    assert_eq!(managed.installed_version(), "1.2.0");
}

#[test]
fn a_document_signed_by_a_revoked_channel_key_is_ignored_and_dropped() {
    let world = on_1_2_0();
    let channel_key = TestKey::generate();
    let env = [
        ("PANE_TEST_NOW", NOW),
        ("PANE_TEST_CHANNEL_PUBKEY", &*channel_key.public_key_line()),
    ];
    serve_signed(&world, &withdrawal_doc(1, "1.1.3"), &channel_key, None);
    // Trusted: accepted and kept.
    let status = world
        .pane_env(&["self", "status", "--json"], &env)
        .success();
    assert!(status.stderr.is_empty() || !status.stderr.contains("revoked"));
    world.pane_env(&["self", "check"], &env).code(10);
    // The key's id is then revoked (as keys/revoked does in a release): its
    // documents, the one stored included, no longer count.
    let revoked_id = channel_key.key_id_hex();
    let mut revoked = env.to_vec();
    revoked.push(("PANE_TEST_REVOKED", &revoked_id));
    let run = world.pane_env(&["self", "check"], &revoked).success();
    assert!(run.stderr.contains("has been revoked"), "{run}");
    world.pane_env(&["self", "update"], &revoked).success();
    assert_eq!(world.installed_version(), "1.2.0");
}

/// The env of a pane trusting `key` as its only channel key: two of them
/// stand for an older and a newer release on one installation.
fn trusting(key: &TestKey) -> [(&'static str, String); 2] {
    [
        ("PANE_TEST_NOW", NOW.to_string()),
        ("PANE_TEST_CHANNEL_PUBKEY", key.public_key_line()),
    ]
}

fn run_trusting(
    world: &World,
    args: &[&str],
    env: &[(&'static str, String); 2],
) -> crate::common::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    world.pane_env(args, &env)
}

#[test]
fn a_document_an_older_pane_cannot_verify_is_kept_and_still_refuses_replays() {
    let world = on_1_2_0();
    // A newer release signs with a channel key the older one does not know
    // (as after `rollback`); the older one knows only its own key.
    let (newer_key, older_key) = (TestKey::generate(), TestKey::generate());
    let (newer, older) = (trusting(&newer_key), trusting(&older_key));
    serve_signed(&world, &withdrawal_doc(5, "1.1.3"), &newer_key, None);
    run_trusting(&world, &["self", "check"], &newer).code(10);
    let state = world.data_dir.join("channel-state.json");
    let stored = std::fs::read(&state).unwrap();

    // The older pane cannot apply it, says so, and leaves it as it is:
    // offline views and fetches alike.
    for args in [
        &["self", "status"][..],
        &["self", "list"],
        &["self", "check"],
        &["self", "update", "--dry-run"],
    ] {
        let run = run_trusting(&world, args, &older).success();
        assert_eq!(std::fs::read(&state).unwrap(), stored, "{args:?}: {run}");
        // `status` says it among its lines, `list` not at all.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            args[1] == "list"
                || said.contains("(serial 5) does not apply here")
                    && said.contains("which is not one of"),
            "{args:?}: {run}"
        );
    }
    // Its serial still refuses an older document the older pane could
    // verify.
    serve_signed(&world, &empty_doc(4), &older_key, None);
    let run = run_trusting(&world, &["self", "check"], &older).success();
    assert!(run.stderr.contains("serial 5 was accepted before"), "{run}");
    assert_eq!(std::fs::read(&state).unwrap(), stored);

    // Back on the newer pane, an older document of its own key is a replay:
    // the withdrawal stands.
    serve_signed(&world, &empty_doc(1), &newer_key, None);
    let run = run_trusting(&world, &["self", "check"], &newer).code(10);
    assert!(run.stderr.contains("serial 5 was accepted before"), "{run}");
    run_trusting(&world, &["self", "update"], &newer).success();
    assert_eq!(world.installed_version(), "1.1.3");
}

#[test]
fn a_stale_exact_pin_to_a_withdrawn_version_is_refused() {
    let world = World::installed(&["1.1.3", "1.2.0"]);
    at_now(&world, &["self", "pin", "1.1.3"]).success();
    let doc = json!({
        "schema": 1, "serial": 1, "issued": "2026-12-01T10:00:00Z",
        "withdrawn": [{"version": "1.1.3", "targets": ["*"], "reason": REASON, "replacement": "1.2.0"}],
    });
    serve_signed(&world, &doc, &world.key, None);
    // `self install` of 1.2.0 keeps the receipt's pin, which then names
    // another version.
    world.install("1.2.0");
    assert_eq!(world.receipt()["pin"], "1.1.3");
    at_now(&world, &["self", "check"]).fails_with(REASON);
    let before = world.snapshot();
    let run = at_now(&world, &["self", "update"]).fails_with(REASON);
    assert!(
        run.stderr.contains("its replacement is 1.2.0") && run.stderr.contains("--allow-withdrawn"),
        "{run}"
    );
    before.assert_same(&world.snapshot());
    assert_eq!(world.installed_version(), "1.2.0");
    // Asked for all the same, as `update 1.1.3 --allow-withdrawn` would be.
    at_now(&world, &["self", "update", "--allow-withdrawn"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
}

#[test]
fn a_requirement_pin_waits_for_the_rollout_too() {
    let world = World::installed(&["1.1.3"]);
    with_number(&world, 0.9);
    at_now(&world, &["self", "pin", "^1.1.3"]).success();
    world.publish("1.2.0");
    // Hour 12 of 48: not this installation's turn (0.9) yet.
    serve_signed(&world, &rollout_doc(false), &world.key, None);
    let json = at_now(&world, &["self", "check", "--json"])
        .success()
        .json();
    assert_eq!(json["rollout"]["available"], false, "{json}");
    assert_eq!(json["update_available"], false, "{json}");
    assert_eq!(json["available"], Value::Null, "{json}");
    let run = at_now(&world, &["self", "update"]).success();
    assert!(run.stderr.contains("is rolling out"), "{run}");
    assert_eq!(world.installed_version(), "1.1.3");
    // A requirement pinned again picks what has reached the installation.
    let run = at_now(&world, &["self", "pin", "^1.1"]).success();
    assert!(run.stderr.contains("pinned pane 1.1.3 to ^1.1"), "{run}");
    assert_eq!(world.installed_version(), "1.1.3");
    let run = at_now(&world, &["self", "pin", "^1.2"]).fails_with("no release matches ^1.2");
    assert!(
        run.stderr.contains("1.2.0 is rolling out toward it"),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.1.3");
    // `--now` does not wait.
    at_now(&world, &["self", "update", "--now"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
}

#[test]
fn rollback_to_a_withdrawn_version_is_refused_unless_allowed() {
    let world = on_1_2_0();
    let doc = json!({
        "schema": 1, "serial": 1, "issued": "2026-12-01T10:00:00Z",
        "withdrawn": [{"version": "1.1.3", "targets": ["*"], "reason": REASON, "replacement": "1.2.0"}],
    });
    serve_signed(&world, &doc, &world.key, None);
    at_now(&world, &["self", "check"]).success();
    // Offline: the stored document says 1.1.3 is withdrawn.
    std::fs::remove_dir_all(world.root.join("channel")).unwrap();
    let before = world.snapshot();
    let run = at_now(&world, &["self", "rollback"]).fails_with(REASON);
    assert!(
        run.stderr.contains("its replacement is 1.2.0") && run.stderr.contains("--allow-withdrawn"),
        "{run}"
    );
    before.assert_same(&world.snapshot());
    assert_eq!(world.installed_version(), "1.2.0");
    at_now(&world, &["self", "rollback", "--allow-withdrawn"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
    assert_eq!(world.receipt()["pin"], "1.1.3");
}

/// serde_json skips the string of a field it does not know without reading
/// it, so a signed document with a byte that is not UTF-8 there used to pass
/// the parser and then abort every command that fetched it: the way out of a
/// stolen channel key (an update to the release that revokes it) with it.
#[test]
fn a_signed_channel_document_that_is_not_utf8_is_refused_not_a_crash() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let mut text = br#"{"schema":1,"serial":7,"issued":"2026-12-01T09:00:00Z","note":""#.to_vec();
    text.extend_from_slice(b"\xff\"}");
    let dir = world.root.join("channel");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("channel.json"), &text).unwrap();
    let comment = xtask::channel::trusted_comment(7, 1_796_119_200);
    std::fs::write(
        dir.join("channel.json.minisig"),
        world.key.sign_with_comment(&text, &comment),
    )
    .unwrap();
    let run = at_now(&world, &["self", "check"]).code(10);
    assert!(run.stderr.contains("not UTF-8"), "{run}");
    let run = at_now(&world, &["self", "update"]).success();
    assert!(run.stderr.contains("not UTF-8"), "{run}");
    assert_eq!(world.installed_version(), "1.1.0");
    // Nothing of it is kept.
    let state: Value = std::fs::read(world.data_dir.join("channel-state.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    assert!(state["document"].is_null(), "{state}");
}

/// `hours` is capped at a year so that a rollout cannot hold a release back
/// for good; a start far ahead would do the same, so the whole rollout must
/// end within a year of the document's issue.
#[test]
fn a_rollout_that_ends_more_than_a_year_after_its_document_is_refused() {
    let world = World::installed(&["1.1.3", "1.2.0"]);
    with_number(&world, 0.0);
    for (start, hours, held) in [
        ("9999-01-01T00:00:00Z", 1, false),
        ("2027-12-01T10:00:01Z", 0, false),
        // Within the year: a rollout that has not begun holds 1.2.0 back.
        ("2027-11-30T10:00:00Z", 24, true),
    ] {
        let doc = json!({"schema": 1, "serial": 1, "issued": "2026-12-01T10:00:00Z",
            "rollout": {"version": "1.2.0", "start": start, "hours": hours}});
        serve_signed(&world, &doc, &world.key, None);
        let run = at_now(&world, &["self", "update", "--dry-run"]).success();
        assert_eq!(
            run.stderr.contains("is rolling out"),
            held,
            "{start}: {run}"
        );
        if !held {
            assert!(
                run.stderr.contains("more than a year after"),
                "{start}: {run}"
            );
        }
        std::fs::remove_file(world.data_dir.join("channel-state.json")).unwrap();
        with_number(&world, 0.0);
    }
}

/// An administrator's file that does not read may say `off`: update, pin and
/// rollback are refused, naming it, and the background check does nothing. A
/// user's own file that does not read does not stop a command they typed.
#[test]
fn an_administrator_file_that_does_not_read_fails_closed() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane(&["self", "update"]).success();
    let system = world.tmp.path().join("etc-pane.toml");
    let admin = [("PANE_TEST_SYSTEM_CONFIG", system.to_str().unwrap())];
    for broken in [
        "updates = \"Off\"\n",
        "updates = off\n",
        "updates = \"off\"\nupdates = \"off\"\n",
    ] {
        std::fs::write(&system, broken).unwrap();
        let before = world.snapshot();
        for args in [
            &["self", "update"][..],
            &["self", "pin", "1.0.0"],
            &["self", "rollback"],
        ] {
            let run = world.pane_env(args, &admin);
            assert_eq!(run.code, Some(1), "{broken:?} {args:?}: {run}");
            assert!(
                run.stderr.contains("update policy cannot be read")
                    && run.stderr.contains(system.to_str().unwrap()),
                "{run}"
            );
        }
        world
            .pane_env(&["self", "background-check"], &admin)
            .success();
        before.assert_same(&world.snapshot());
        assert!(!world.data_dir.join("update-check.json").exists());
    }
    assert_eq!(world.installed_version(), "1.1.0");
    // The user's own file with the same typo: their command goes ahead.
    let user = world.home.join(".config/pane/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "updates = \"Off\"\n").unwrap();
    world.pane(&["self", "rollback"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
}

/// With a pre-release called latest, the listing's highest stable release
/// is a hint: it is verified before `check` reports it or records it in the
/// update-check cache (which only holds versions read from a signature).
#[test]
fn a_stable_release_the_listing_names_is_verified_before_check_names_it() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.publish("1.2.0-rc.1");
    let server = world.server();
    let rc = server.download_url("1.2.0-rc.1", "SHA256SUMS.minisig");
    server.set_fault("*/latest/download/*", Fault::RedirectTo(rc));
    // Listed, nothing published.
    std::fs::create_dir_all(world.root.join("v9.9.9")).unwrap();
    let cache = world.data_dir.join("update-check.json");
    let run = world.pane(&["self", "check", "--json"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("9.9.9") && run.stderr.contains("404"),
        "{run}"
    );
    assert!(!std::fs::read_to_string(&cache)
        .unwrap_or_default()
        .contains("9.9.9"));
    // Published and signed, it is what check names, and records.
    std::fs::remove_dir(world.root.join("v9.9.9")).unwrap();
    let run = world.pane(&["self", "check", "--json"]).code(10);
    assert_eq!(run.json()["available"], "1.1.0", "{run}");
    assert!(std::fs::read_to_string(&cache)
        .unwrap()
        .contains("\"1.1.0\""));
    // Installed, the listed stable release is verified already: an update
    // that stays fetches none of its files again, so a server failing them
    // does not make it fail.
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    world
        .server()
        .set_fault("/v1.1.0/SHA256SUMS.minisig", Fault::Status(500));
    let run = world.pane(&["self", "update"]).success();
    assert!(run.stderr.contains("up to date"), "{run}");
}

/// A signed document that names a pre-release as the replacement (written by
/// hand, or by a tool that did not refuse it): an installation that did not
/// ask for pre-releases is not sent there. It goes where a withdrawal without
/// a replacement sends it, and `check`, `update`, the notice and `auto` say
/// why; asked for (`--prerelease`, or by name), the pre-release is installed.
#[test]
fn a_pre_release_replacement_is_not_where_a_stable_installation_goes() {
    let world = withdrawn_for_a_pre_release(false);
    let run = at_now(&world, &["self", "check"]).code(10);
    assert!(
        run.stdout.contains("pane 1.1.3 is its replacement")
            && run
                .stderr
                .contains("the replacement 1.3.0-rc.1 for 1.2.0 is a pre-release"),
        "{run}"
    );
    let json = at_now(&world, &["self", "check", "--json"]).code(10).json();
    assert_eq!(json["available"], "1.1.3", "{json}");
    assert_eq!(json["withdrawn"]["replacement"], "1.3.0-rc.1", "{json}");
    assert!(
        json["warning"]
            .as_str()
            .is_some_and(|w| w.contains("1.3.0-rc.1") && w.contains("pre-release")),
        "{json}"
    );
    // The notice does not promise it either.
    let run = notice(&world).success();
    assert!(
        run.stderr.contains(REASON)
            && !run.stderr.contains("installs its replacement")
            && run.stderr.contains("is a pre-release"),
        "{run}"
    );
    let json = at_now(&world, &["self", "update", "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "updated", "{json}");
    assert_eq!(json["to"], "1.1.3", "{json}");
    assert_eq!(json["withdrawn"]["reason"], REASON, "{json}");
    assert!(
        json["warning"]
            .as_str()
            .is_some_and(|w| w.contains("1.3.0-rc.1") && w.contains("pre-release")),
        "{json}"
    );
    assert_eq!(world.installed_version(), "1.1.3");
    at_now(&world, &["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
    // Asked for, it is installed.
    at_now(&world, &["self", "update", "1.2.0", "--allow-withdrawn"]).success();
    at_now(&world, &["self", "update", "--prerelease"]).success();
    assert_eq!(world.installed_version(), "1.3.0-rc.1");

    // With nothing good verified before, there is nowhere to go: it stays
    // and says why, also under `auto`, where nobody reads the words.
    let world = World::installed(&["1.2.0"]);
    world.publish("1.3.0-rc.1");
    serve_signed(&world, &withdrawal_doc(1, "1.3.0-rc.1"), &world.key, None);
    let json = at_now(&world, &["self", "check", "--json"])
        .success()
        .json();
    assert_eq!(json["available"], Value::Null, "{json}");
    assert!(
        json["warning"]
            .as_str()
            .is_some_and(|w| w.contains("pre-release")),
        "{json}"
    );
    let run = at_now(&world, &["self", "update"]).success();
    assert!(
        run.stderr.contains("nothing to go to") && run.stderr.contains("is a pre-release"),
        "{run}"
    );
    let json = at_now(&world, &["self", "update", "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "withdrawn", "{json}");
    assert!(
        json["problem"]
            .as_str()
            .is_some_and(|p| p.contains("1.3.0-rc.1")),
        "{json}"
    );
    world.pane(&["self", "config", "updates", "auto"]).success();
    at_now(&world, &["self", "background-check"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    assert!(
        status["auto"]["last_action"]
            .as_str()
            .is_some_and(|a| a.contains("is a pre-release")),
        "{status}"
    );
}

/// An installation on a pre-release asked for pre-releases: when the channel
/// withdraws it, it goes to the replacement the channel names, though that is
/// a pre-release too and `update` is run without `--prerelease`.
#[test]
fn a_withdrawn_pre_release_goes_to_its_pre_release_replacement() {
    let world = World::installed(&["1.2.0"]);
    world.publish("1.3.0-rc.1");
    world.publish("1.3.0-rc.2");
    world.pane(&["self", "update", "1.3.0-rc.1"]).success();
    let mut doc = withdrawal_doc(1, "1.3.0-rc.2");
    doc["withdrawn"][0]["version"] = "1.3.0-rc.1".into();
    serve_signed(&world, &doc, &world.key, None);
    let json = at_now(&world, &["self", "check", "--json"]).code(10).json();
    assert_eq!(json["available"], "1.3.0-rc.2", "{json}");
    assert_eq!(json["warning"], Value::Null, "{json}");
    let run = notice(&world).success();
    assert!(
        run.stderr.contains("installs its replacement, 1.3.0-rc.2"),
        "{run}"
    );
    let json = at_now(&world, &["self", "update", "--json"])
        .success()
        .json();
    assert_eq!(json["to"], "1.3.0-rc.2", "{json}");
    assert_eq!(world.installed_version(), "1.3.0-rc.2");
}

/// On a stable installation pinned to a version the channel withdrew for a
/// pre-release, the warning every command prints (and the notice) does not
/// point the pin at that pre-release: it says why, and names the highest
/// good version verified here instead. A replacement it may use is named as
/// before.
#[test]
fn a_pinned_installation_is_not_pointed_at_a_pre_release_replacement() {
    let world = withdrawn_for_a_pre_release(true);
    at_now(&world, &["self", "check"]).success();
    let said = |run: &crate::common::Run| {
        assert!(
            run.stderr.contains("(pinned by 1.2.0) has been withdrawn")
                && run.stderr.contains(REASON)
                && !run.stderr.contains("its replacement is 1.3.0-rc.1")
                && !run.stderr.contains("pane self pin 1.3.0-rc.1")
                && run
                    .stderr
                    .contains("the replacement 1.3.0-rc.1 for 1.2.0 is a pre-release")
                && run.stderr.contains("`pane self pin 1.1.3` moves the pin"),
            "{run}"
        );
    };
    for args in [&["self", "status"][..], &["self", "check"]] {
        said(&at_now(&world, args).success());
    }
    said(&notice(&world).success());
    assert_eq!(world.installed_version(), "1.2.0");

    // A stable replacement is named, as ever.
    serve_signed(&world, &withdrawal_doc(2, "1.1.3"), &world.key, None);
    at_now(&world, &["self", "check"]).success();
    let run = at_now(&world, &["self", "status"]).success();
    assert!(
        run.stderr
            .contains("; its replacement is 1.1.3 (`pane self pin 1.1.3` moves the pin)"),
        "{run}"
    );
}

/// `update 1.2.0`, `pin 1.2.0` and `rollback` to a version the channel
/// withdrew for a pre-release are refused as ever, and the hint does not
/// send a stable installation to the pre-release.
#[test]
fn a_refused_withdrawn_version_does_not_hint_at_a_pre_release_replacement() {
    let world = withdrawn_for_a_pre_release(false);
    at_now(&world, &["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.3");
    let hinted = |run: &crate::common::Run| {
        assert!(
            run.stderr.contains("--allow-withdrawn")
                && !run.stderr.contains("its replacement is 1.3.0-rc.1")
                && run
                    .stderr
                    .contains("the replacement 1.3.0-rc.1 for 1.2.0 is a pre-release"),
            "{run}"
        );
    };
    let before = world.snapshot();
    hinted(&at_now(&world, &["self", "update", "1.2.0"]).fails_with(REASON));
    hinted(&at_now(&world, &["self", "pin", "1.2.0"]).fails_with(REASON));
    hinted(&at_now(&world, &["self", "rollback"]).fails_with(REASON));
    before.assert_same(&world.snapshot());
    let json = at_now(&world, &["self", "update", "1.2.0", "--json"])
        .code(1)
        .json();
    assert!(
        json["hint"]
            .as_str()
            .is_some_and(|h| h.contains("is a pre-release") && !h.contains("its replacement is")),
        "{json}"
    );
    assert_eq!(world.installed_version(), "1.1.3");
}

/// `status` names the replacement the document names, and says when it is
/// not used here (`replacement_refused` in `--json`).
#[test]
fn status_says_a_pre_release_replacement_is_not_used_here() {
    let world = withdrawn_for_a_pre_release(true);
    at_now(&world, &["self", "check"]).success();
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    let withdrawn = &status["channel"]["withdrawn_installed"];
    assert_eq!(withdrawn["replacement"], "1.3.0-rc.1", "{status}");
    assert!(
        withdrawn["replacement_refused"]
            .as_str()
            .is_some_and(|r| r.contains("1.3.0-rc.1") && r.contains("pre-release")),
        "{status}"
    );
    let run = at_now(&world, &["self", "status"]).success();
    assert!(
        run.stdout.contains(&format!(
            "installed:     withdrawn: {REASON} (replacement 1.3.0-rc.1, not used here)"
        )) && run
            .stdout
            .contains("the replacement 1.3.0-rc.1 for 1.2.0 is a pre-release"),
        "{run}"
    );
    // A replacement that is used: null, and said as before.
    serve_signed(&world, &withdrawal_doc(2, "1.1.3"), &world.key, None);
    at_now(&world, &["self", "check"]).success();
    let status = at_now(&world, &["self", "status", "--json"])
        .success()
        .json();
    let withdrawn = &status["channel"]["withdrawn_installed"];
    assert_eq!(withdrawn["replacement"], "1.1.3", "{status}");
    assert_eq!(withdrawn["replacement_refused"], Value::Null, "{status}");
    let run = at_now(&world, &["self", "status"]).success();
    assert!(
        run.stdout.contains(&format!(
            "installed:     withdrawn: {REASON} (replacement 1.1.3)\n"
        )),
        "{run}"
    );
}

/// `update --dry-run --json` carries the warning `update --json` carries
/// when the channel's replacement is passed over; in words it is said once.
#[test]
fn a_dry_run_says_why_a_pre_release_replacement_is_passed_over() {
    let world = withdrawn_for_a_pre_release(false);
    let json = at_now(&world, &["self", "update", "--dry-run", "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "would-update", "{json}");
    assert_eq!(json["to"], "1.1.3", "{json}");
    assert!(
        json["warning"]
            .as_str()
            .is_some_and(|w| w.contains("1.3.0-rc.1")
                && w.contains("pre-release")
                && w.contains("pane goes to 1.1.3 instead")),
        "{json}"
    );
    let run = at_now(&world, &["self", "update", "--dry-run"]).success();
    assert_eq!(run.stderr.matches("is a pre-release").count(), 1, "{run}");
    assert!(
        run.stderr.contains("would update pane 1.2.0 → 1.1.3"),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.2.0");
    // Without a replacement passed over, the field is there, null.
    serve_signed(&world, &withdrawal_doc(2, "1.1.3"), &world.key, None);
    let json = at_now(&world, &["self", "update", "--dry-run", "--json"])
        .success()
        .json();
    assert_eq!(json["to"], "1.1.3", "{json}");
    assert_eq!(json["warning"], Value::Null, "{json}");
    assert!(json.as_object().unwrap().contains_key("warning"), "{json}");
}
