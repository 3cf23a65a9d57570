//! The whole life cycle with real pane binaries of several versions.

use crate::common::{assert_no_temp_files, on_terminal, World};
use xtask::fixtures::Release;
use xtask::server::Fault;
use xtask::server::Server;

#[test]
fn install_update_pin_rollback_uninstall() {
    let mut world = World::installed(&["1.0.0", "1.1.0", "1.2.0"]);
    world.publish("1.3.0-beta.1");

    // status after install
    let status = world.pane(&["self", "status", "--json"]).success().json();
    assert_eq!(status["version"], "1.0.0");
    assert_eq!(status["installed_by"], "self install");
    assert_eq!(status["pin"], serde_json::Value::Null);

    // check: an update is available → exit 10
    let check = world.pane(&["self", "check", "--json"]).code(10).json();
    assert_eq!(check["available"], "1.2.0");
    assert_eq!(check["update_available"], true);

    // dry run changes nothing
    let before = world.snapshot();
    world.pane(&["self", "update", "--dry-run"]).success();
    before.assert_same(&world.snapshot());

    // update to latest (never a pre-release unless asked)
    let run = world.pane(&["self", "update"]).success();
    assert!(run.stderr.contains("1.0.0 → 1.2.0"), "{run}");
    assert_eq!(world.installed_version(), "1.2.0");
    let receipt = world.receipt();
    assert_eq!(receipt["highest_verified"], "1.2.0");
    assert_eq!(receipt["previous"], "1.0.0");
    assert!(world.data_dir.join("versions/1.0.0/pane").is_file());
    assert!(world.data_dir.join("versions/1.2.0/pane").is_file());

    // no-op when current, and nothing touched
    let before = world.snapshot();
    let run = world.pane(&["self", "update", "--json"]).success();
    assert_eq!(run.json()["status"], "up-to-date");
    before.assert_same(&world.snapshot());

    // explicit downgrade
    world.pane(&["self", "update", "1.1.0"]).success();
    assert_eq!(world.installed_version(), "1.1.0");

    // pin holds
    world.pane(&["self", "pin", "1.1.0"]).success();
    let run = world.pane(&["self", "update", "--json"]).success();
    assert_eq!(run.json()["status"], "held-by-pin");
    assert_eq!(world.installed_version(), "1.1.0");
    world
        .pane(&["self", "update", "1.2.0"])
        .fails_with("outside the pin")
        .fails_with("pane self unpin");
    world.pane(&["self", "check"]).success();

    // requirement pin: highest matching ~1.0, then follows new 1.0.x releases
    world.pane(&["self", "pin", "~1.0"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
    world.publish("1.0.1");
    let check = world.pane(&["self", "check", "--json"]).code(10).json();
    assert_eq!(check["available"], "1.0.1", "check stays within the pin");
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.0.1");
    assert_eq!(world.receipt()["pin"], "~1.0");

    // unpin: update follows the latest release again
    world.pane(&["self", "unpin"]).success();
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.2.0");

    // pre-releases only on request
    world.pane(&["self", "update", "--prerelease"]).success();
    assert_eq!(world.installed_version(), "1.3.0-beta.1");
    // the stable channel does not pull a beta tester back down
    let run = world.pane(&["self", "update"]).success();
    assert!(
        run.stderr
            .contains("newer than what the server offers (1.2.0)"),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.3.0-beta.1");
    world.pane(&["self", "update", "1.2.0"]).success();

    // rollback with the server stopped: offline, back to the previous, pinned
    world.stop_server();
    let run = world.pane(&["self", "rollback", "--json"]).success();
    assert_eq!(run.json()["version"], "1.3.0-beta.1");
    assert_eq!(world.installed_version(), "1.3.0-beta.1");
    assert_eq!(world.receipt()["pin"], "1.3.0-beta.1");
    // and again: rollback toggles back
    world.pane(&["self", "rollback"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    // Offline means the server's address answers nothing; pane is still
    // pointed there, never at the built-in GitHub URLs.
    let run = world.pane(&["self", "list"]).fails_with("could not fetch");
    assert!(
        run.stderr.contains("http://127.0.0.1:") && !run.stderr.contains("github"),
        "{run}"
    );

    // list/status/check with a server again
    world.server = Some(Server::start(&world.root).unwrap());
    let list = world
        .pane(&["self", "list", "--json", "--prerelease"])
        .success()
        .json();
    let releases = list["releases"].as_array().unwrap();
    let find = |v: &str| {
        releases
            .iter()
            .find(|r| r["version"] == v)
            .unwrap_or_else(|| panic!("{v} not listed"))
    };
    assert_eq!(find("1.2.0")["installed"], true);
    assert_eq!(find("1.2.0")["pinned"], true);
    assert_eq!(find("1.3.0-beta.1")["prerelease"], true);
    assert_eq!(find("1.3.0-beta.1")["kept"], true);
    assert_eq!(find("1.0.0")["installed"], false);
    let list = world.pane(&["self", "list"]).success();
    assert!(list.stdout.contains("installed, pinned, kept"), "{list}");
    let status = world.pane(&["self", "status"]).success();
    assert!(status.stdout.contains("pin:           1.2.0"), "{status}");
    world.pane(&["self", "unpin"]).success();
    world.pane(&["self", "check"]).success();

    // uninstall removes everything pane made
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!world.install_path().exists());
    assert!(
        !world.data_dir.exists(),
        "data dir left: {:?}",
        std::fs::read_dir(&world.data_dir).map(|d| d.count())
    );
    assert_no_temp_files(&world.home);
}

#[test]
fn version_and_usage_exit_codes() {
    let world = World::installed(&["1.0.0"]);
    let run = world.pane(&["--version"]).success();
    assert_eq!(run.stdout, "pane 1.0.0\n");
    world.pane(&["self", "frobnicate"]).code(2);
    world.pane(&["self", "update", "--bogus"]).code(2);
    world.pane(&["self", "pin", "not-a-version"]).code(2);
    let run = world.pane(&["completions", "bash"]).success();
    assert!(run.stdout.contains("pane"), "{run}");
    // A reader that stops early is no reason to panic.
    for args in ["completions bash", "self status --json", "--version"] {
        // The reader (`true`) is gone before pane writes: EPIPE for sure.
        let line = format!(
            "{{ sleep 1; {} {args}; echo \"pane-exit=$?\" >&2; }} | true",
            world.install_path().display()
        );
        let run = world
            .run(std::path::Path::new("sh"), &["-c", &line], &[])
            .success();
        assert!(!run.stderr.contains("panicked"), "{args}:\n{run}");
        // The pipeline's status is `true`'s; pane's own is the echo's.
        assert!(run.stderr.contains("pane-exit=0"), "{args}:\n{run}");
    }
}

#[test]
fn installs_managed_by_other_tools_are_refused_with_their_command() {
    let world = World::new();
    world.publish("1.0.0");
    let exe = xtask::fixtures::build_pane("1.0.0");
    for (dir, command) in [
        ("opt/homebrew/bin", "brew upgrade pane"),
        (".cargo/bin", "cargo install pane --force"),
    ] {
        let dir = world.home.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("pane");
        std::fs::copy(&exe, &copy).unwrap();
        let before = world.snapshot();
        for args in [
            &["self", "update"][..],
            &["self", "pin", "1.0.0"],
            &["self", "rollback"],
        ] {
            world.run(&copy, args, &[]).fails_with(command);
        }
        before.assert_same(&world.snapshot());
    }
}

#[test]
fn racing_updaters_install_once() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut command = world.command(&world.install_path());
            command.args(["self", "update", "--json"]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut updated = 0;
    for child in children {
        let run = crate::common::Run::from(child.wait_with_output().unwrap()).success();
        match run.json()["status"].as_str().unwrap() {
            "updated" => updated += 1,
            "up-to-date" => {}
            other => panic!("unexpected {other}:\n{run}"),
        }
    }
    assert_eq!(updated, 1, "exactly one install");
    assert_eq!(world.installed_version(), "1.1.0");
    assert_eq!(world.receipt()["version"], "1.1.0");
    assert_no_temp_files(&world.home);
}

/// The next command that takes the lock removes what a killed command under
/// the lock left in the data dir, but not the temp file of a command that
/// takes no lock (`self check` writing the update-check cache) while it is
/// young enough to be in use.
#[test]
fn recovery_leaves_the_temp_files_of_commands_without_the_lock() {
    let world = World::installed(&["1.0.0"]);
    let temp = |purpose: &str, age: u64| {
        let path = world
            .data_dir
            .join(format!(".pane-tmp-{purpose}-999999-0-0123456789abcdef"));
        let file = std::fs::File::create(&path).unwrap();
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        file.set_modified(when).unwrap();
        path
    };
    let killed_download = temp("download", 0);
    let killed_receipt = temp("install-receipt.json", 0);
    let live_check = temp("update-check.json", 1);
    let killed_check = temp("channel-state.json", 3600);
    let run = world.pane(&["self", "unpin"]).success();
    assert!(run.stderr.contains("removed leftovers"), "{run}");
    for gone in [&killed_download, &killed_receipt, &killed_check] {
        assert!(!gone.exists(), "{} was left", gone.display());
    }
    assert!(live_check.exists(), "a live writer's temp file was removed");
    // Uninstall takes it too: nothing of pane's stays.
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!world.data_dir.exists());
}

#[test]
fn progress_bar_on_a_terminal_only() {
    let world = World::new();
    world.publish("1.0.0");
    world.publish("1.1.0");
    Release::new("1.2.0")
        .padding(4 << 20)
        .write(&world.root, &world.key);
    world.install("1.0.0");
    // Slow enough for the bar to draw a few times.
    world.server().set_fault(
        ".tar.gz",
        Fault::Throttle {
            bytes_per_sec: 4 << 20,
        },
    );
    let run = on_terminal(
        &world,
        "self update 1.1.0",
        &[("PANE_NO_UPDATE_CHECK", "1")],
    )
    .success();
    assert!(
        run.stdout.contains("downloading pane-1.1.0-"),
        "no bar on a terminal:\n{run}"
    );
    assert!(run.stdout.contains("MiB"), "no byte counts:\n{run}");
    let run = world.pane(&["self", "update", "1.2.0"]).success();
    assert!(
        !run.stderr.contains("downloading"),
        "a bar off a terminal:\n{run}"
    );
    assert!(
        !run.stderr.contains('\x1b'),
        "escape codes off a terminal:\n{run}"
    );
    // NO_COLOR on a terminal: words, no colour codes.
    let run = on_terminal(
        &world,
        "self update 1.1.0",
        &[("PANE_NO_UPDATE_CHECK", "1"), ("NO_COLOR", "1")],
    )
    .success();
    assert!(
        !run.stdout.contains("\x1b[1;32m"),
        "colour despite NO_COLOR:\n{run}"
    );
    assert!(
        run.stdout.contains("downgraded pane 1.2.0 → 1.1.0"),
        "{run}"
    );
}

/// The release workflow's steps, run locally through `cargo xtask` (dist,
/// checksums, sign, serve's layout), make a release `pane self update` takes.
#[test]
fn release_made_by_the_xtask_pipeline_is_accepted() {
    let world = World::installed(&["1.0.0"]);
    let dist = world.tmp.path().join("dist");
    let xtask = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--quiet", "--package", "xtask", "--"])
            .args(args)
            .env_remove("MINISIGN_PASSWORD")
            .output()
            .unwrap();
        let run = crate::common::Run::from(output);
        assert_eq!(run.code, Some(0), "cargo xtask {args:?}:\n{run}");
    };
    let dist_text = dist.to_str().unwrap();
    // `fastrelease` is the release profile without LTO: the same code, quicker.
    xtask(&[
        "dist",
        "--version",
        "1.1.0",
        "--profile",
        "fastrelease",
        "--out",
        dist_text,
    ]);
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh"),
        dist.join("install.sh"),
    )
    .unwrap();
    xtask(&["checksums", dist_text]);
    xtask(&[
        "sign",
        dist_text,
        "--key",
        world.key.secret_key_path().to_str().unwrap(),
    ]);
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains("  install.sh\n"),
        "install.sh is listed:\n{sums}"
    );
    std::fs::rename(&dist, world.root.join("v1.1.0")).unwrap();

    let run = world.pane(&["self", "update", "--json"]).success();
    assert_eq!(run.json()["status"], "updated");
    assert_eq!(world.installed_version(), "1.1.0");
}

#[test]
fn self_update_from_another_copy_says_what_it_updates() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let copy = world.home.join("Downloads/pane");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(world.install_path(), &copy).unwrap();
    let run = world.run(&copy, &["self", "update"], &[]).success();
    assert!(
        run.stderr.contains("not the installed pane")
            && run
                .stderr
                .contains(&world.install_path().display().to_string()),
        "{run}"
    );
    assert_eq!(world.installed_version(), "1.1.0");
    let copy_version = world.run(&copy, &["--version"], &[]).success();
    assert_eq!(copy_version.stdout.trim(), "pane 1.0.0", "the copy changed");
}

#[test]
fn the_binary_is_replaced_while_another_pane_runs_it() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // A long-running pane: its listing request stalls until it times out.
    world
        .server()
        .set_fault("/releases", xtask::server::Fault::Stall);
    let mut running = world.command(&world.install_path());
    running.args(["self", "list"]);
    running.stdout(std::process::Stdio::piped());
    running.stderr(std::process::Stdio::piped());
    let child = running.spawn().unwrap();
    let started = std::time::Instant::now();
    while !world
        .server()
        .requests()
        .iter()
        .any(|r| r.path.contains("/releases"))
    {
        assert!(
            started.elapsed().as_secs() < 30,
            "the listing never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Meanwhile the binary it runs from is replaced.
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    // The old process goes on undisturbed from its own (old) file and ends
    // with its own error, not a crash.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    world.pane(&["self", "status"]).success();
}
