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
        let version = world.installed_version();
        assert!(
            version == "1.0.0" || version == "1.1.0",
            "after {step}: {version}"
        );
        world.pane(&["self", "status"]).success();
        // The receipt names what is installed, or journals the change to it.
        let receipt = world.receipt();
        let named = receipt["version"] == version.as_str()
            || receipt["pending"]["after"]["version"] == version.as_str();
        assert!(
            named,
            "after {step}: {version} installed, receipt {receipt:#}"
        );
        // The next command that takes the lock settles it and cleans up.
        world.pane(&["self", "unpin"]).success();
        assert_eq!(world.receipt()["version"], version.as_str(), "after {step}");
        assert_no_temp_files(&world.home);
    }
}
