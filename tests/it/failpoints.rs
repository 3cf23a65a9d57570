//! A debug-build failpoint aborts the process right after each step of an
//! update, as `kill -9` would. After every one: the install path holds the
//! whole old or the whole new binary (it runs and says which), the receipt
//! parses, and the next update finishes the job and leaves no temp files.

use crate::common::{assert_no_temp_files, World};

#[test]
fn every_step_of_an_update_survives_an_abort() {
    for step in pane::failpoint::UPDATE_STEPS {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        let run = world.pane_env(&["self", "update"], &[("PANE_FAILPOINT", step)]);
        assert!(
            run.signal.is_some(),
            "failpoint {step} did not abort:\n{run}"
        );
        let version = world.installed_version();
        assert!(
            version == "1.0.0" || version == "1.1.0",
            "after {step}: {version}"
        );
        let receipt = world.receipt();
        assert_eq!(receipt["schema"], 1, "after {step}");
        // status works and tells of an interrupted change if there is one
        world.pane(&["self", "status", "--json"]).success();
        // the next update recovers and finishes
        world.pane(&["self", "update"]).success();
        assert_eq!(world.installed_version(), "1.1.0", "after {step}");
        let receipt = world.receipt();
        assert_eq!(receipt["version"], "1.1.0", "after {step}");
        assert!(receipt.get("pending").is_none(), "after {step}");
        assert_no_temp_files(&world.home);
        // and rollback still has the old version to go back to
        world.pane(&["self", "rollback"]).success();
        assert_eq!(world.installed_version(), "1.0.0", "after {step}");
    }
}

#[test]
fn every_step_of_a_rollback_survives_an_abort() {
    for step in [
        "staged",
        "smoke-tested",
        "receipt-pending",
        "swapped",
        "receipt-final",
    ] {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        world.pane(&["self", "update"]).success();
        let run = world.pane_env(&["self", "rollback"], &[("PANE_FAILPOINT", step)]);
        assert!(
            run.signal.is_some(),
            "failpoint {step} did not abort:\n{run}"
        );
        // The receipt names what is installed, or journals the change to it;
        // the next command that takes the lock settles it and cleans up.
        consistent_after_abort(&world, step, ["1.0.0", "1.1.0"]);
    }
}

/// The steps inside the one install transaction (`update::transaction`)
/// that every command changing the binary passes.
const TRANSACTION_STEPS: &[&str] = &[
    "staged",
    "smoke-tested",
    "kept",
    "receipt-pending",
    "swapped",
    "receipt-final",
];

/// After an abort: the installed binary is one of `versions` and runs, the
/// receipt names it or journals the change to it, and the next command that
/// takes the lock settles it and leaves no temp file.
fn consistent_after_abort(world: &World, step: &str, versions: [&str; 2]) -> String {
    let version = world.installed_version();
    assert!(
        versions.contains(&version.as_str()),
        "after {step}: {version}"
    );
    world.pane(&["self", "status"]).success();
    let receipt = world.receipt();
    let named = receipt["version"] == version.as_str()
        || receipt["pending"]["after"]["version"] == version.as_str();
    assert!(
        named,
        "after {step}: {version} installed, receipt {receipt:#}"
    );
    world.pane(&["self", "unpin"]).success();
    assert_eq!(world.receipt()["version"], version.as_str(), "after {step}");
    assert!(world.receipt().get("pending").is_none(), "after {step}");
    assert_no_temp_files(&world.home);
    version
}

#[test]
fn every_step_of_a_pin_survives_an_abort() {
    for step in TRANSACTION_STEPS {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        let run = world.pane_env(&["self", "pin", "1.1.0"], &[("PANE_FAILPOINT", step)]);
        assert!(
            run.signal.is_some(),
            "failpoint {step} did not abort:\n{run}"
        );
        consistent_after_abort(&world, step, ["1.0.0", "1.1.0"]);
        // The pin can be made again and holds.
        world.pane(&["self", "pin", "1.1.0"]).success();
        assert_eq!(world.installed_version(), "1.1.0", "after {step}");
        assert_eq!(world.receipt()["pin"], "1.1.0", "after {step}");
    }
}

#[test]
fn every_step_of_a_self_install_survives_an_abort() {
    for step in TRANSACTION_STEPS {
        let world = World::installed(&["1.0.0"]);
        // A manual download of a newer version, installed over the old one.
        let newer = xtask::fixtures::build_pane("1.1.0");
        let run = world.run(
            &newer,
            &["self", "install", "--no-modify-path"],
            &[("PANE_FAILPOINT", step)],
        );
        assert!(
            run.signal.is_some(),
            "failpoint {step} did not abort:\n{run}"
        );
        consistent_after_abort(&world, step, ["1.0.0", "1.1.0"]);
        // Installing again finishes the job.
        world
            .run(&newer, &["self", "install", "--no-modify-path"], &[])
            .success();
        assert_eq!(world.installed_version(), "1.1.0", "after {step}");
        assert_eq!(world.receipt()["version"], "1.1.0", "after {step}");
        assert_no_temp_files(&world.home);
    }
}

/// The user's profiles, as a test world starts them.
fn write_profiles(world: &World) -> [(std::path::PathBuf, &'static str); 2] {
    let profiles = [
        (world.home.join(".profile"), "# the user's profile\n"),
        (world.home.join(".bashrc"), "# no newline at the end"),
    ];
    for (path, text) in &profiles {
        std::fs::write(path, text).unwrap();
    }
    profiles
}

#[test]
fn every_step_of_a_self_install_with_path_set_up_leaves_no_line_unrecorded() {
    let newer = xtask::fixtures::build_pane("1.1.0");
    for step in TRANSACTION_STEPS {
        for first in [true, false] {
            let world = if first {
                let world = World::new();
                world.publish("1.1.0");
                world
            } else {
                World::installed(&["1.0.0", "1.1.0"])
            };
            let profiles = write_profiles(&world);
            let run = world.run(&newer, &["self", "install"], &[("PANE_FAILPOINT", step)]);
            // A first install has no receipt to journal in.
            let journals = !(first && *step == "receipt-pending");
            assert!(
                run.signal.is_some() || !journals,
                "failpoint {step} did not abort:\n{run}"
            );
            // Installing again finishes; uninstalling then gives every profile back.
            world.run(&newer, &["self", "install"], &[]).success();
            assert_eq!(world.installed_version(), "1.1.0", "after {step}");
            let env_line = ". \"$HOME/.local/bin/pane.env\"";
            let profile = std::fs::read_to_string(world.home.join(".profile")).unwrap();
            assert_eq!(
                profile.matches(env_line).count(),
                1,
                "after {step}: {profile}"
            );
            world.pane(&["self", "uninstall", "--yes"]).success();
            for (path, text) in &profiles {
                assert_eq!(
                    std::fs::read_to_string(path).unwrap(),
                    *text,
                    "after {step} (first install: {first}): {}",
                    path.display()
                );
            }
            for left in [".zshenv", ".local/bin/pane.env", ".config/fish"] {
                assert!(
                    !world.home.join(left).exists(),
                    "after {step} (first install: {first}): {left} is left"
                );
            }
        }
    }
}

#[test]
fn the_path_set_up_of_a_killed_first_install_goes_with_uninstall_or_is_named() {
    let newer = xtask::fixtures::build_pane("1.1.0");
    // Killed after the swap of a first install: a binary, profile lines, no receipt.
    let world = World::new();
    world.publish("1.1.0");
    let profiles = write_profiles(&world);
    let run = world.run(
        &newer,
        &["self", "install"],
        &[("PANE_FAILPOINT", "swapped")],
    );
    assert!(run.signal.is_some(), "{run}");
    assert!(world.receipt_path().symlink_metadata().is_err());
    let run = world
        .pane(&["self", "uninstall", "--yes"])
        .fails_with("not installed");
    assert!(run.stderr.contains("took back the PATH set-up"), "{run}");
    for (path, text) in &profiles {
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            *text,
            "{}",
            path.display()
        );
    }

    // A profile that can no longer be rewritten: named, to edit by hand, and the
    // next install goes on.
    let world = World::new();
    world.publish("1.1.0");
    write_profiles(&world);
    let run = world.run(
        &newer,
        &["self", "install"],
        &[("PANE_FAILPOINT", "swapped")],
    );
    assert!(run.signal.is_some(), "{run}");
    let bashrc = world.home.join(".bashrc");
    std::fs::remove_file(&bashrc).unwrap();
    std::fs::create_dir(&bashrc).unwrap();
    let run = world
        .run(&newer, &["self", "install", "--no-modify-path"], &[])
        .success();
    assert!(
        run.stderr.contains("could not take back the PATH set-up")
            && run.stderr.contains("by hand"),
        "{run}"
    );
    world
        .run(&newer, &["self", "install", "--no-modify-path"], &[])
        .success();
}
