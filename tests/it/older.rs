//! An older pane on a receipt a newer one wrote: a downgrade or a rollback
//! must leave a working installation. The older pane here is built from the
//! commit before the release channel was wired in (its receipt had no
//! `verified` list and did not keep unknown fields).

use std::path::PathBuf;
use std::process::Command;

use xtask::fixtures::Release;

use crate::common::World;

/// The last commit before the channel changed the receipt.
const OLD_COMMIT: &str = "43239e9";

/// A pane binary built from [`OLD_COMMIT`] saying `pane <version>`; `None`
/// (with the reason) when it cannot be built here, which fails under CI.
fn old_pane(version: &str) -> Option<PathBuf> {
    let root = xtask::workspace::root();
    let fixtures = xtask::fixtures::fixtures_target_dir();
    let source = fixtures.join(format!("src-{OLD_COMMIT}"));
    let out = fixtures.join(format!("old-{OLD_COMMIT}-{version}"));
    let binary = out.join("pane");
    if binary.is_file() {
        return Some(binary);
    }
    // A shallow clone has no history to build from: that is the checkout,
    // not a missing tool, so it skips even under CI.
    let known = Command::new("git")
        .current_dir(&root)
        .args(["cat-file", "-e", &format!("{OLD_COMMIT}^{{commit}}")])
        .status()
        .is_ok_and(|s| s.success());
    if !known {
        eprintln!("skipped: this checkout does not have commit {OLD_COMMIT} (a shallow clone?)");
        return None;
    }
    let result = (|| -> Result<(), String> {
        if !source.join("Cargo.toml").is_file() {
            std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
            let archive = Command::new("git")
                .current_dir(&root)
                .args(["archive", "--format=tar", OLD_COMMIT])
                .output()
                .map_err(|e| format!("git: {e}"))?;
            if !archive.status.success() {
                return Err(format!(
                    "git archive {OLD_COMMIT}: {}",
                    String::from_utf8_lossy(&archive.stderr)
                ));
            }
            let mut tar = Command::new("tar")
                .current_dir(&source)
                .args(["-xf", "-"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("tar: {e}"))?;
            use std::io::Write;
            tar.stdin
                .take()
                .unwrap()
                .write_all(&archive.stdout)
                .unwrap();
            tar.wait().map_err(|e| e.to_string())?;
        }
        // Beside the fixtures' own builds (so the dependencies compiled
        // for them are reused), under their lock.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(fixtures.join("build.lock"))
            .map_err(|e| e.to_string())?;
        lock.lock().map_err(|e| e.to_string())?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let build = Command::new("nice")
            .arg("-n10")
            .arg(cargo)
            .current_dir(&source)
            .args(["build", "--locked", "--offline", "--bin", "pane"])
            .env(
                "CARGO_TARGET_DIR",
                fixtures.join(format!("old-target-{OLD_COMMIT}")),
            )
            .env("PANE_BUILD_VERSION", version)
            .output()
            .map_err(|e| format!("cargo: {e}"))?;
        if !build.status.success() {
            return Err(String::from_utf8_lossy(&build.stderr).into_owned());
        }
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        let built = fixtures
            .join(format!("old-target-{OLD_COMMIT}"))
            .join("debug/pane");
        std::fs::copy(built, &binary).map_err(|e| e.to_string())?;
        Ok(())
    })();
    match result {
        Ok(()) => Some(binary),
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: cannot build pane at {OLD_COMMIT}: {why}");
            None
        }
        Err(why) => panic!("cannot build pane at {OLD_COMMIT}: {why}"),
    }
}

#[test]
fn the_pane_before_the_channel_works_on_a_receipt_the_new_one_wrote() {
    let Some(old) = old_pane("1.1.0") else {
        return;
    };
    let world = World::installed(&["1.0.0", "1.2.0"]);
    Release::new("1.1.0")
        .binary(&old)
        .write(&world.root, &world.key);
    world.pane(&["self", "update"]).success();
    let receipt = world.receipt();
    assert_eq!(receipt["verified"], serde_json::json!(["1.0.0", "1.2.0"]));
    // Down to the old pane, by the new one.
    world.pane(&["self", "update", "1.1.0"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    // The cache as a newer pane leaves it after files came from a CDN
    // (`served_from`, which the old pane never heard of).
    let cache_path = world.data_dir.join("update-check.json");
    let mut cache: serde_json::Value = std::fs::read(&cache_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| serde_json::json!({"checked_at": 1, "latest": "1.2.0"}));
    cache["served_from"] = serde_json::json!({
        "releases": world.server().releases_url(),
        "origin": "http://127.0.0.2:9",
    });
    std::fs::write(&cache_path, cache.to_string()).unwrap();
    // The old pane reads the receipt and the cache, and manages the
    // installation.
    let status = world.pane(&["self", "status", "--json"]).success().json();
    assert_eq!(status["version"], "1.1.0", "{status}");
    assert_eq!(status["highest_verified"], "1.2.0");
    world.pane(&["self", "check"]).code(10);
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    // And back: the new pane reads what the old one wrote, and rolls back.
    world.pane(&["self", "status"]).success();
    world.pane(&["self", "rollback"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    world.pane(&["self", "unpin"]).success();
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    // The old pane dropped the list it did not know; the new one still
    // knows what was verified here (from the fields the old one kept).
    let status = world.pane(&["self", "status", "--json"]).success().json();
    let verified = status["verified"].as_array().unwrap();
    assert!(verified.contains(&"1.2.0".into()), "{status}");
}

/// Fields a newer pane adds inside the receipt's records (a kept version's,
/// a profile line's) survive this pane's rewrites, as its top-level fields
/// do: a rollback, a pin and an update leave them as they were.
#[test]
fn fields_a_newer_pane_added_inside_the_records_survive_a_rewrite() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane(&["self", "update"]).success();
    let profile = world.home.join(".profile");
    let line = format!("export PATH=\"{}:$PATH\"", world.bin_dir.display());
    std::fs::write(&profile, format!("{line}\n")).unwrap();
    let receipt_path = world.data_dir.join("install-receipt.json");
    let mut receipt = world.receipt();
    for kept in receipt["kept"].as_array_mut().unwrap() {
        kept["signed_by"] = "pane-release-1".into();
    }
    receipt["profile_edits"] = serde_json::json!([
        {"file": profile, "line": line, "shell": "sh"}
    ]);
    std::fs::write(&receipt_path, receipt.to_string()).unwrap();

    let assert_kept_fields = |after: &str| {
        let receipt = world.receipt();
        let kept = receipt["kept"].as_array().unwrap();
        assert!(!kept.is_empty(), "{after}: {receipt}");
        for entry in kept {
            assert_eq!(entry["signed_by"], "pane-release-1", "{after}: {receipt}");
        }
        assert_eq!(
            receipt["profile_edits"][0]["shell"], "sh",
            "{after}: {receipt}"
        );
    };
    world.pane(&["self", "rollback"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
    assert_kept_fields("rollback");
    world.pane(&["self", "pin", "1.0.0"]).success();
    assert_kept_fields("pin");
    world.pane(&["self", "unpin"]).success();
    assert_kept_fields("unpin");
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    // The incoming and the outgoing version were kept before, with the same
    // bytes: their records made anew keep what the old ones held.
    assert_kept_fields("update");
}

/// The update check's cache and the auto-update log keep the fields a
/// newer pane added when this one rewrites them (a check, an automatic
/// update), as the receipt does.
#[test]
fn fields_a_newer_pane_added_to_the_check_cache_and_the_auto_log_survive() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cache = world.data_dir.join("update-check.json");
    std::fs::write(
        &cache,
        r#"{"checked_at":1,"latest":"1.0.0","channel_seen":"stable-7"}"#,
    )
    .unwrap();
    let log = world.data_dir.join("auto-update.json");
    std::fs::write(&log, r#"{"last_run":1,"runs_skipped":3}"#).unwrap();

    world.pane(&["self", "check"]).code(10);
    let read = |path: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let rewritten = read(&cache);
    assert_eq!(rewritten["latest"], "1.1.0", "{rewritten}");
    assert_eq!(rewritten["channel_seen"], "stable-7", "{rewritten}");

    world.pane(&["self", "config", "updates", "auto"]).success();
    world.pane(&["self", "background-check"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let rewritten = read(&log);
    assert_ne!(rewritten["last_run"], 1, "{rewritten}");
    assert_eq!(rewritten["runs_skipped"], 3, "{rewritten}");
}
