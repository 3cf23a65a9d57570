//! The update notice: once a day, on a terminal only, never in CI, never
//! with PANE_NO_UPDATE_CHECK, never from `pane self …`, and no network wait.
//! A terminal is a real pty from util-linux `script`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{on_terminal, Run, World};
use xtask::server::Fault;

fn off_terminal(world: &World, args: &[&str]) -> Run {
    let mut command: Command = world.command(&world.install_path());
    command.env_remove("PANE_NO_UPDATE_CHECK").args(args);
    Run::from(command.output().unwrap())
}

const NOTICE: &str = "pane 1.1.0 is available";

/// Waits up to 10 s for a request whose path `matches`; panics if none comes.
fn wait_for_request(world: &World, matches: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let asked = || world.server().requests().iter().any(|r| matches(&r.path));
    while !asked() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(asked(), "the background check never asked the server");
}

fn wait_for_cache(world: &World) {
    let cache = world.data_dir.join("update-check.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let checked = std::fs::read(&cache)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["latest"] == "1.1.0");
        if checked {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the background check never wrote {}", cache.display());
}

fn reset_notified(world: &World) {
    let path = world.data_dir.join("update-check.json");
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    cache["notified_at"] = 0.into();
    std::fs::write(&path, serde_json::to_vec(&cache).unwrap()).unwrap();
}

#[test]
fn notice_once_a_day_on_a_terminal_only() {
    let world = World::installed(&["1.0.0", "1.1.0"]);

    // Off a terminal nothing is checked or shown.
    let run = off_terminal(&world, &[]).success();
    assert!(!run.stderr.contains(NOTICE), "{run}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !world.data_dir.join("update-check.json").exists(),
        "checked off a terminal"
    );

    // First run on a terminal: nothing known yet, a background check starts.
    let run = on_terminal(&world, "", &[]).success();
    assert!(!run.stdout.contains(NOTICE), "{run}");
    wait_for_cache(&world);

    // The next run shows it, once.
    let run = on_terminal(&world, "", &[]).success();
    assert!(run.stdout.contains(NOTICE), "no notice:\n{run}");
    assert!(run.stdout.contains("pane self update"), "{run}");
    let run = on_terminal(&world, "", &[]).success();
    assert!(!run.stdout.contains(NOTICE), "shown twice in a day:\n{run}");

    // Never in CI, with PANE_NO_UPDATE_CHECK, from `pane self …`, or off a terminal.
    for (args, env) in [
        ("", &[("CI", "true")][..]),
        ("", &[("PANE_NO_UPDATE_CHECK", "1")]),
        ("self status", &[]),
    ] {
        reset_notified(&world);
        let run = on_terminal(&world, args, env).success();
        assert!(!run.stdout.contains(NOTICE), "{args:?} {env:?}:\n{run}");
    }
    reset_notified(&world);
    let run = off_terminal(&world, &[]).success();
    assert!(!run.stderr.contains(NOTICE), "{run}");

    // And once a day means again after a day.
    reset_notified(&world);
    let run = on_terminal(&world, "", &[]).success();
    assert!(run.stdout.contains(NOTICE), "{run}");
}

#[test]
fn a_stalled_server_adds_no_wait() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.server().set_fault("SHA256SUMS.minisig", Fault::Stall);
    // The background check stalls on the server (until its own 5 s idle
    // deadline); the command must return while that check is still waiting,
    // so the check's process is still there when the command is done.
    on_terminal(&world, "", &[]).success();
    let check = format!("{} self background-check", world.install_path().display());
    let alive = std::process::Command::new("pgrep")
        .args(["-f", &check])
        .output()
        .expect("pgrep (procps) runs");
    assert!(
        alive.status.success(),
        "the command waited for the network: its background check had already ended"
    );
    // And the stalled server really is what it waits on.
    wait_for_request(&world, |path| path.ends_with("SHA256SUMS.minisig"));
}

/// What is in the data dir now, for a message.
fn listing(world: &World) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(&world.data_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}

/// The background check runs detached, and an uninstall may finish while it
/// waits on the network: what it then finds is not written, and the data
/// dir the uninstall removed stays removed.
#[test]
fn a_background_check_that_outlasts_an_uninstall_writes_nothing() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world
        .server()
        .set_fault("SHA256SUMS", Fault::Throttle { bytes_per_sec: 60 });
    let mut check = world
        .command(&world.install_path())
        .args(["self", "background-check"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_request(&world, |path| path.contains("SHA256SUMS"));
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!world.data_dir.exists(), "{:?}", listing(&world));
    assert!(check.wait().unwrap().success());
    assert!(
        !world.data_dir.exists(),
        "the background check wrote after the uninstall: {:?}",
        listing(&world)
    );
}

/// Under `auto` the background check waits for the lock, and an uninstall
/// that holds it removes the data dir before it lets go: the update that
/// then fails is not logged into a data dir made anew.
#[test]
fn an_automatic_update_that_waited_for_an_uninstall_logs_nothing() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(world.data_dir.join("update.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut check = world
        .command(&world.install_path())
        .args(["self", "background-check"])
        .env("PANE_UPDATES", "auto")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The cache is written before the update starts and waits for the lock.
    wait_for_cache(&world);
    std::thread::sleep(Duration::from_millis(500));
    // What uninstall does at its end, the lock still held.
    std::fs::remove_dir_all(&world.data_dir).unwrap();
    drop(lock);
    assert!(check.wait().unwrap().success());
    assert!(
        !world.data_dir.exists(),
        "the automatic update wrote after the uninstall: {:?}",
        listing(&world)
    );
    assert_eq!(world.installed_version(), "1.0.0");
}
