//! An update asks for the archive while `SHA256SUMS` and its signature are
//! on their way, so their round trips overlap; what it fetched early is
//! checked no earlier than before, and thrown away when it is not wanted.
//!
//! The overlap is shown without timing anything: the server answers the
//! signature and the sums only once the archive has been asked for
//! ([`Fault::AwaitRequest`]). A client that fetches them one after another,
//! the archive last, gets `503` after ten seconds and fails.

use crate::common::{assert_no_temp_files, World};
use xtask::server::Fault;

/// The signature and the sums of 1.1.0 wait for the archive's request.
fn await_the_archive(world: &World) {
    world.server().set_fault(
        "*/download/v1.1.0/SHA256SUMS*",
        Fault::AwaitRequest(".tar.gz".into()),
    );
}

fn archive_requests(world: &World) -> usize {
    requests_for(world, ".tar.gz")
}

fn requests_for(world: &World, text: &str) -> usize {
    world
        .server()
        .requests()
        .iter()
        .filter(|r| r.path.contains(text))
        .count()
}

/// 1.0.0 installed, 1.1.0 published, and a check (the update notice's) that
/// saw 1.1.0: the guess of the next `self update`.
fn after_a_check() -> World {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // `check` exits 10 when an update is available.
    world.pane(&["self", "check"]).code(10);
    world
}

/// `pattern` waits for the request of the guess, 1.1.0's archive.
fn await_the_guess(world: &World, pattern: &str) {
    world
        .server()
        .set_fault(pattern, Fault::AwaitRequest("pane-1.1.0-".into()));
}

#[test]
fn update_to_latest_asks_for_the_archive_before_its_sums_arrive() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    await_the_archive(&world);
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_eq!(archive_requests(&world), 1, "the archive is asked for once");
    assert_no_temp_files(&world.home);
}

#[test]
fn update_to_a_version_and_pin_ask_for_the_archive_at_once_too() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    await_the_archive(&world);
    world.pane(&["self", "update", "1.1.0", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let world = World::installed(&["1.0.0", "1.1.0"]);
    await_the_archive(&world);
    world.pane(&["self", "pin", "1.1.0"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
}

/// The archive came early, the signature does not verify: the error is the
/// signature's, and the early download is gone with everything else.
#[test]
fn an_early_archive_is_dropped_when_the_signature_fails() {
    let world = World::installed(&["1.0.0"]);
    let release = world.publish("1.1.0");
    let sums = std::fs::read_to_string(release.sums_path()).unwrap();
    std::fs::write(release.sums_path(), sums.replacen('0', "1", 1)).unwrap();
    // The sums wait for the archive's request, so the archive is always
    // fetched early (an update that did not would fail here for the wait,
    // not for the signature). Without the wait, a loaded machine may refuse
    // the signature before the early request reaches the server.
    await_the_archive(&world);
    let before = world.snapshot();
    world
        .pane(&["self", "update", "--yes"])
        .fails_with("does not verify");
    assert_eq!(archive_requests(&world), 1, "the archive is asked for once");
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
    assert_eq!(world.installed_version(), "1.0.0");
}

/// "latest" redirects to v1.1.0, whose files are 1.0.0's (genuinely signed):
/// the hint is contradicted, the archive fetched on it is discarded.
#[test]
fn an_early_archive_is_dropped_when_the_signed_version_contradicts_the_hint() {
    let world = World::installed(&["1.0.0"]);
    let fake = world.root.join("v1.1.0");
    std::fs::create_dir_all(&fake).unwrap();
    for entry in std::fs::read_dir(world.root.join("v1.0.0"))
        .unwrap()
        .flatten()
    {
        let name = entry
            .file_name()
            .to_string_lossy()
            .replace("1.0.0", "1.1.0");
        std::fs::copy(entry.path(), fake.join(name)).unwrap();
    }
    await_the_archive(&world);
    let before = world.snapshot();
    world
        .pane(&["self", "update", "--yes"])
        .fails_with("is version 1.0.0, but 1.1.0 was requested");
    assert_eq!(archive_requests(&world), 1, "the archive is asked for once");
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
}

/// After a check saw 1.1.0 (the update notice's check), an update to the
/// latest release asks for 1.1.0's archive before the server has said what
/// "latest" is: here the "latest" redirect waits for that request, so an
/// update that asked for the archive only after it would get `503` and fail.
#[test]
fn an_update_after_a_check_asks_for_the_archive_it_saw_before_latest_answers() {
    let world = after_a_check();
    await_the_guess(&world, "*/latest/download/*");
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_eq!(archive_requests(&world), 1, "the archive is asked for once");
    assert_no_temp_files(&world.home);
}

/// The check saw 1.1.0, and 1.2.0 is out since: the guess is asked for (the
/// redirect waits for it), its download never gets a byte (the server holds
/// it), and the update installs 1.2.0 without waiting for it, leaving no file
/// of it behind.
#[test]
fn a_guess_the_redirect_contradicts_is_dropped_unfinished() {
    let world = after_a_check();
    world.publish("1.2.0");
    world
        .server()
        .set_fault("*/download/v1.1.0/*.tar.gz", Fault::Stall);
    await_the_guess(&world, "*/latest/download/*");
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.2.0");
    assert_eq!(requests_for(&world, "pane-1.1.0-"), 1, "the guess");
    assert_eq!(requests_for(&world, "pane-1.2.0-"), 1, "the release");
    assert_no_temp_files(&world.home);
}

/// The check saw 1.1.0, but "latest" is the installed 1.0.0 again (1.1.0
/// pulled from it, its files still served). The guess is asked for (the
/// sums of 1.0.0 wait for it), its download never gets a byte (the server
/// holds it), and the update ends up to date without waiting for it,
/// changing nothing and leaving no file of it behind.
#[test]
fn a_running_guess_is_dropped_when_latest_is_the_installed_version() {
    let world = after_a_check();
    let server = world.server();
    server.set_fault("*/download/v1.1.0/*.tar.gz", Fault::Stall);
    server.set_fault(
        "*/latest/download/*",
        Fault::RedirectTo(server.download_url("1.0.0", "SHA256SUMS.minisig")),
    );
    await_the_guess(&world, "*/download/v1.0.0/SHA256SUMS*");
    let before = world.snapshot();
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
    assert_eq!(requests_for(&world, "pane-1.1.0-"), 1, "the guess");
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
}

/// The check saw 1.1.0; since then the server calls a pre-release (1.2.0-rc.1)
/// its latest. The update skips it for the highest stable release, 1.1.0,
/// the guess: its download, started first, is the one installed, not
/// cancelled and asked for again.
#[test]
fn a_guess_outlives_a_pre_release_called_latest() {
    let world = after_a_check();
    world.publish("1.2.0-rc.1");
    let server = world.server();
    server.set_fault(
        "*/latest/download/*",
        Fault::RedirectTo(server.download_url("1.2.0-rc.1", "SHA256SUMS.minisig")),
    );
    await_the_guess(&world, "*/download/v1.2.0-rc.1/SHA256SUMS*");
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_eq!(requests_for(&world, "pane-1.1.0-"), 1, "the guess, once");
    assert_no_temp_files(&world.home);
}

/// Nothing newer, or only a pre-release called latest: no archive is asked
/// for at all; nor by `--dry-run` or `check`, nor by `--dry-run` after a
/// check saw a newer release.
#[test]
fn no_archive_is_fetched_when_nothing_will_be_installed() {
    let world = World::installed(&["1.1.0"]);
    world.pane(&["self", "update", "--yes"]).success();
    world.publish("1.2.0-rc.1");
    world.pane(&["self", "update", "--yes"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    world.publish("1.2.0");
    world.pane(&["self", "update", "--dry-run"]).success();
    // `check` exits 10 when an update is available.
    world.pane(&["self", "check"]).code(10);
    world.pane(&["self", "update", "--dry-run"]).success();
    assert_eq!(
        archive_requests(&world),
        0,
        "{:#?}",
        world.server().requests()
    );
}
