//! Every hostile release fails with a clear, specific message, a non-zero
//! exit and no panic, and leaves the installed binary, the kept versions and
//! the receipt byte-identical, with no files left behind.

use std::path::Path;

use crate::common::{assert_no_temp_files, World};
use xtask::archive::RawTarGz;
use xtask::fixtures::{build_pane, host_target, Release, TestKey};
use xtask::server::{Fault, Server};

/// Installs 1.0.0, lets `arrange` make the server hostile, runs `args` and
/// checks the failure and the invariant.
fn refused(arrange: impl FnOnce(&World), args: &[&str], needle: &str) {
    let world = World::installed(&["1.0.0"]);
    arrange(&world);
    let before = world.snapshot();
    world.pane(args).fails_with(needle);
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
    assert_eq!(world.installed_version(), "1.0.0");
}

fn update(arrange: impl FnOnce(&World), needle: &str) {
    refused(arrange, &["self", "update"], needle);
}

fn top(version: &str) -> String {
    format!("pane-{version}-{}", host_target())
}

#[test]
fn untrusted_key() {
    update(
        |w| drop(Release::new("1.1.0").write(&w.root, &TestKey::generate())),
        "not one of the key",
    );
}

#[test]
fn tampered_sums() {
    update(
        |w| {
            let release = w.publish("1.1.0");
            let mut sums = std::fs::read_to_string(release.sums_path()).unwrap();
            sums = sums.replacen('0', "1", 1);
            std::fs::write(release.sums_path(), sums).unwrap();
        },
        "does not verify",
    );
}

#[test]
fn tampered_archive() {
    update(
        |w| {
            let release = w.publish("1.1.0");
            let mut bytes = std::fs::read(&release.archive).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x55;
            std::fs::write(&release.archive, bytes).unwrap();
        },
        "checksum mismatch",
    );
}

#[test]
fn missing_signature() {
    update(
        |w| drop(Release::new("1.1.0").unsigned().write(&w.root, &w.key)),
        "not found (404)",
    );
}

#[test]
fn comment_names_another_version() {
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .trusted_comment("product:pane\tversion:1.0.5\tfile:SHA256SUMS")
                    .write(&w.root, &w.key),
            )
        },
        "version 1.0.5",
    );
    refused(
        |w| {
            drop(
                Release::new("1.1.0")
                    .trusted_comment("product:pane\tversion:1.0.5\tfile:SHA256SUMS")
                    .write(&w.root, &w.key),
            )
        },
        &["self", "update", "1.1.0"],
        "is version 1.0.5, but 1.1.0 was requested",
    );
}

#[test]
fn comment_names_another_product_or_file() {
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .trusted_comment("product:other\tversion:1.1.0\tfile:SHA256SUMS")
                    .write(&w.root, &w.key),
            )
        },
        "for product \"other\"",
    );
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .trusted_comment("product:pane\tversion:1.1.0\tfile:other")
                    .write(&w.root, &w.key),
            )
        },
        "not SHA256SUMS",
    );
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .trusted_comment("product:pane\tversion:1.1.0\tfile:SHA256SUMS\tversion:9.9.9")
                    .write(&w.root, &w.key),
            )
        },
        "appears twice",
    );
}

#[test]
fn legacy_signature() {
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .legacy_signature()
                    .write(&w.root, &w.key),
            )
        },
        "legacy",
    );
}

#[test]
fn older_release_replayed_as_latest() {
    let world = World::installed(&["1.0.0", "1.1.0", "1.2.0"]);
    world.pane(&["self", "update"]).success();
    world.pane(&["self", "update", "1.1.0"]).success();
    // The mirror now serves 1.0.0 (genuinely signed) as "latest".
    std::fs::remove_dir_all(world.root.join("v1.2.0")).unwrap();
    std::fs::remove_dir_all(world.root.join("v1.1.0")).unwrap();
    let before = world.snapshot();
    // Not an error (there is nothing newer to install), but not a downgrade
    // either: it says so, and warns of the replay (issue 12, finding 4).
    let run = world.pane(&["self", "update"]).success();
    assert!(
        run.stderr
            .contains("newer than what the server offers (1.0.0)"),
        "{run}"
    );
    assert!(run.stderr.contains("replayed"), "{run}");
    let json = world.pane(&["self", "update", "--json"]).success().json();
    assert_eq!(json["status"], "up-to-date", "{json}");
    assert!(
        json["warning"].as_str().unwrap().contains("replayed"),
        "{json}"
    );
    before.assert_same(&world.snapshot());
    let run = world.pane(&["self", "check"]).success();
    assert!(
        run.stdout.contains("newer than what the server offers"),
        "{run}"
    );
    assert!(run.stderr.contains("replayed"), "{run}");
    assert_eq!(world.installed_version(), "1.1.0");
}

/// Copies v1.0.0's genuine files under v1.1.0, renamed to 1.1.0's names.
fn replay_1_0_0_as_1_1_0(w: &World) {
    let fake = w.root.join("v1.1.0");
    std::fs::create_dir_all(&fake).unwrap();
    for entry in std::fs::read_dir(w.root.join("v1.0.0")).unwrap().flatten() {
        let name = entry
            .file_name()
            .to_string_lossy()
            .replace("1.0.0", "1.1.0");
        std::fs::copy(entry.path(), fake.join(name)).unwrap();
    }
}

#[test]
fn older_release_served_under_a_newer_tag() {
    let needle = "is version 1.0.0, but 1.1.0 was requested";
    refused(replay_1_0_0_as_1_1_0, &["self", "update", "1.1.0"], needle);
    // and as "latest", which redirects to the v1.1.0 tag
    update(replay_1_0_0_as_1_1_0, needle);
}

/// The same replay from a mirror whose own path holds a `download/v…`
/// (the owner `download`, the repository `vendor`): the tag that counts is
/// the segment after the path's last `download`, so the replay is still
/// caught, and a genuine release still installs.
#[test]
fn older_release_under_a_newer_tag_on_a_mirror_path_with_download_in_it() {
    let world = World::installed(&["1.0.0"]);
    replay_1_0_0_as_1_1_0(&world);
    let mirror = Server::builder(&world.root)
        .repository("download", "vendor")
        .start()
        .unwrap();
    let releases = mirror.releases_url();
    assert!(releases.contains("/download/vendor/"), "{releases}");
    let env = [
        ("PANE_RELEASES_URL", releases.as_str()),
        ("PANE_RELEASES_API_URL", &mirror.api_url()),
    ];
    let before = world.snapshot();
    world
        .pane_env(&["self", "update"], &env)
        .fails_with("is version 1.0.0, but 1.1.0 was requested");
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);

    // The genuine 1.1.0 in its place: the hint agrees, and it installs.
    std::fs::remove_dir_all(world.root.join("v1.1.0")).unwrap();
    world.publish("1.1.0");
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");
}

#[test]
fn duplicate_lines_in_sums() {
    update(
        |w| {
            let good = w.publish("1.1.0");
            let digest = good.archive_sha256();
            let name = good.archive_name();
            let sums = format!("{digest}  {name}\n{}  {name}\n", "0".repeat(64));
            drop(Release::new("1.1.0").sums(sums).write(&w.root, &w.key));
        },
        "more than one line",
    );
}

fn raw(version: &str, archive: RawTarGz) -> impl FnOnce(&World) {
    let version = version.to_string();
    move |w| {
        drop(
            Release::new(version)
                .raw_archive(archive)
                .write(&w.root, &w.key),
        )
    }
}

#[test]
fn archive_without_pane() {
    let t = top("1.1.0");
    update(
        raw(
            "1.1.0",
            RawTarGz::new().file(format!("{t}/README.md"), b"hi".to_vec(), 0o644),
        ),
        "has no",
    );
}

#[test]
fn archive_with_a_symlink_or_hard_link() {
    let t = top("1.1.0");
    let binary = build_pane("1.1.0");
    update(
        raw(
            "1.1.0",
            RawTarGz::new()
                .file_from(format!("{t}/pane"), &binary, 0o755)
                .symlink(format!("{t}/evil"), "/etc/passwd"),
        ),
        "symbolic link",
    );
    update(
        raw(
            "1.1.0",
            RawTarGz::new().symlink(format!("{t}/pane"), "/bin/sh"),
        ),
        "symbolic link",
    );
    update(
        raw(
            "1.1.0",
            RawTarGz::new()
                .file_from(format!("{t}/pane"), &binary, 0o755)
                .hardlink(format!("{t}/evil"), "/etc/passwd"),
        ),
        "hard link",
    );
}

#[test]
fn archive_with_dot_dot_or_absolute_or_duplicate_entries() {
    let t = top("1.1.0");
    let binary = build_pane("1.1.0");
    update(
        raw(
            "1.1.0",
            RawTarGz::new()
                .file(format!("{t}/../../escape"), b"x".to_vec(), 0o644)
                .file_from(format!("{t}/pane"), &binary, 0o755),
        ),
        "unsafe path",
    );
    update(
        raw(
            "1.1.0",
            RawTarGz::new().file("/tmp/pane-escape", b"x".to_vec(), 0o644),
        ),
        "unsafe path",
    );
    update(
        raw(
            "1.1.0",
            RawTarGz::new()
                .file_from(format!("{t}/pane"), &binary, 0o755)
                .file(
                    format!("{t}/pane"),
                    b"#!/bin/sh\necho pane 1.1.0\n".to_vec(),
                    0o755,
                ),
        ),
        "twice",
    );
    assert!(!Path::new("/tmp/pane-escape").exists());
}

#[test]
fn gzip_bomb() {
    let t = top("1.1.0");
    update(
        raw(
            "1.1.0",
            RawTarGz::new().zeros(format!("{t}/pane"), 600 << 20, 0o755),
        ),
        "more than",
    );
}

#[test]
fn truncated_body() {
    update(
        |w| {
            w.publish("1.1.0");
            w.server()
                .set_fault(".tar.gz", Fault::Truncate { after: 4096 });
        },
        "end of file before message length reached",
    );
}

#[test]
fn endless_body() {
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault("SHA256SUMS", Fault::Endless);
        },
        "sent more than",
    );
}

#[test]
fn stalled_server() {
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault(".tar.gz", Fault::Stall);
        },
        "timed out",
    );
}

#[test]
fn not_found_and_server_error() {
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault(".tar.gz", Fault::Status(404));
        },
        "not found (404)",
    );
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault("SHA256SUMS", Fault::Status(500));
        },
        "HTTP 500",
    );
    // Each with what to do about it.
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault("SHA256SUMS", Fault::Status(503));
        },
        "hint: the server failed to answer; try again later",
    );
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault("SHA256SUMS", Fault::Status(401));
        },
        "https://user:password@host/",
    );
    update(
        |w| {
            w.publish("1.1.0");
            let itself = w.server().download_url("1.1.0", "SHA256SUMS");
            w.server()
                .set_fault("SHA256SUMS", Fault::RedirectTo(itself));
        },
        "hint: the server redirects in a loop",
    );
}

#[test]
fn redirect_to_plain_http_elsewhere_is_refused() {
    update(
        |w| {
            w.publish("1.1.0");
            w.server().set_fault(
                ".tar.gz",
                Fault::RedirectTo("http://releases.example.invalid/pane.tar.gz".into()),
            );
        },
        "only https:// is allowed",
    );
}

#[test]
fn staged_binary_printing_another_version() {
    update(
        |w| {
            drop(
                Release::new("1.1.0")
                    .binary(build_pane("1.2.0"))
                    .write(&w.root, &w.key),
            )
        },
        "not \"pane 1.1.0\"",
    );
}

#[test]
fn staged_binary_exiting_non_zero() {
    update(
        |w| {
            let script = w.tmp.path().join("broken-pane");
            std::fs::write(&script, "#!/bin/sh\necho pane 1.1.0\nexit 3\n").unwrap();
            drop(Release::new("1.1.0").binary(&script).write(&w.root, &w.key));
        },
        "exited with",
    );
}

#[test]
fn tokens_go_to_the_api_host_only() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let token = "ghp_test_token_value";
    world
        .pane_env(&["self", "update"], &[("PANE_GITHUB_TOKEN", token)])
        .success();
    world
        .pane_env(&["self", "list"], &[("PANE_GITHUB_TOKEN", token)])
        .success();
    let requests = world.server().requests();
    let with_token: Vec<_> = requests
        .iter()
        .filter(|r| r.authorization.is_some())
        .collect();
    assert!(
        !with_token.is_empty(),
        "the API listing carried no token: {requests:#?}"
    );
    for request in &requests {
        let is_api = request.path.starts_with("/repos/");
        if !is_api {
            assert!(
                request.authorization.is_none(),
                "a download carried the token: {request:?}"
            );
        } else {
            assert_eq!(
                request.authorization.as_deref(),
                Some(&*format!("Bearer {token}"))
            );
        }
    }
    // The API redirecting to another host gets no token there.
    let other = Server::builder(&world.root)
        .host("127.0.0.2".parse().unwrap())
        .start()
        .unwrap();
    world.server().set_fault(
        "/releases",
        Fault::RedirectTo(format!("{}/releases?per_page=100&page=1", other.api_url())),
    );
    world
        .pane_env(&["self", "list"], &[("PANE_GITHUB_TOKEN", token)])
        .success();
    let seen = other.requests();
    assert!(!seen.is_empty(), "the redirect was not followed");
    assert!(
        seen.iter().all(|r| r.authorization.is_none()),
        "the token crossed to another host: {seen:?}"
    );
}

#[test]
fn the_generic_github_token_goes_to_githubs_api_only() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let token = "ghp_job_wide_token";
    // CI sets GITHUB_TOKEN for the whole job; the API here is a mirror's.
    world
        .pane_env(&["self", "list"], &[("GITHUB_TOKEN", token)])
        .success();
    let requests = world.server().requests();
    assert!(
        requests.iter().any(|r| r.path.starts_with("/repos/")),
        "no API request was made: {requests:#?}"
    );
    assert!(
        requests.iter().all(|r| r.authorization.is_none()),
        "GITHUB_TOKEN went to a host that is not GitHub's API: {requests:#?}"
    );
    // GitHub Actions names its API (GitHub Enterprise's too) in GITHUB_API_URL.
    world.server().clear_requests();
    let api = world.server().base_url().to_string();
    world
        .pane_env(
            &["self", "list"],
            &[("GITHUB_TOKEN", token), ("GITHUB_API_URL", &api)],
        )
        .success();
    let expected = format!("Bearer {token}");
    let api_requests: Vec<_> = world
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/repos/"))
        .collect();
    assert!(!api_requests.is_empty());
    assert!(
        api_requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&*expected)),
        "{api_requests:#?}"
    );
}

#[test]
fn api_403_says_how_to_pass_a_token() {
    let world = World::installed(&["1.0.0"]);
    world.server().set_fault("/releases", Fault::Status(403));
    world.pane(&["self", "list"]).fails_with("GITHUB_TOKEN");
    // A 401 from the API is about the token, not a mirror's login.
    world.server().set_fault("/releases", Fault::Status(401));
    let run = world
        .pane(&["self", "list"])
        .fails_with("refused the token or wants one (401)")
        .fails_with("hint: check PANE_GITHUB_TOKEN");
    assert!(!run.stderr.contains("user:password"), "{run}");
}

#[test]
fn corrupt_receipts_get_a_way_out() {
    for (bytes, needle) in [(&b""[..], "is empty"), (b"{not json", "not JSON")] {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        std::fs::write(world.receipt_path(), bytes).unwrap();
        let before = world.snapshot();
        world
            .pane(&["self", "update"])
            .fails_with(needle)
            .fails_with("pane self install");
        before.assert_same(&world.snapshot());
        // and `pane self install` repairs it
        world
            .pane(&["self", "install", "--no-modify-path"])
            .success();
        world.pane(&["self", "update"]).success();
        assert_eq!(world.installed_version(), "1.1.0");
    }
}

#[test]
fn rollback_refuses_a_tampered_kept_binary() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane(&["self", "update"]).success();
    let kept = world.data_dir.join("versions/1.0.0/pane");
    let mut bytes = std::fs::read(&kept).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&kept, bytes).unwrap();
    let before = world.snapshot();
    world
        .pane(&["self", "rollback"])
        .fails_with("does not match its recorded SHA-256");
    before.assert_same(&world.snapshot());
}

#[test]
fn test_key_is_ignored_by_release_builds() {
    let world = World::new();
    let release = world.publish("1.0.0");
    let archive = release.archive.to_string_lossy().into_owned();
    // A debug build trusts PANE_TEST_PUBKEY...
    world
        .run(&build_pane("1.0.0"), &["self", "verify", &archive], &[])
        .success();
    // ...a build without debug assertions does not.
    let release_build = xtask::fixtures::build_pane_with_profile("1.0.0", "fastrelease");
    world
        .run(&release_build, &["self", "verify", &archive], &[])
        .fails_with("not one of the keys compiled into pane");
}

#[test]
fn offline_verify_of_another_releases_archive_names_the_files_to_pass() {
    let world = World::new();
    let old = world.publish("1.0.0");
    let new = world.publish("1.1.0");
    // The 1.0.0 archive, downloaded beside 1.1.0's SHA256SUMS and signature.
    let dir = world.home.join("Downloads");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(old.archive.file_name().unwrap());
    std::fs::copy(&old.archive, &archive).unwrap();
    for name in ["SHA256SUMS", "SHA256SUMS.minisig"] {
        std::fs::copy(new.dir.join(name), dir.join(name)).unwrap();
    }
    let before = world.snapshot();
    let run = world
        .run(
            &build_pane("1.0.0"),
            &["self", "verify", &archive.to_string_lossy()],
            &[],
        )
        .fails_with("is not an archive of pane 1.1.0, the release this SHA256SUMS is signed for")
        .fails_with("--sums and --sig");
    // Offline: the hint sends nobody to the network.
    assert!(!run.stderr.contains("pane self list"), "{run}");
    before.assert_same(&world.snapshot());
}

#[test]
fn out_of_range_timeouts_are_ignored_with_a_warning_not_a_crash() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    for value in ["inf", "1e300", "NaN", "-1", "ten"] {
        let run = world
            .pane_env(
                &["self", "update", "--dry-run"],
                &[("PANE_LOCK_TIMEOUT", value), ("PANE_HTTP_TIMEOUT", value)],
            )
            .success();
        for (name, default) in [("PANE_LOCK_TIMEOUT", 120), ("PANE_HTTP_TIMEOUT", 30)] {
            let warning = format!(
                "warning: {name}={value:?} is not a number of seconds; using the default, {default}"
            );
            assert_eq!(run.stderr.matches(&warning).count(), 1, "{run}");
        }
        // Under --json, stdout holds the document only.
        let run = world
            .pane_env(
                &["self", "status", "--json"],
                &[("PANE_LOCK_TIMEOUT", value)],
            )
            .success();
        run.json();
    }
    // Readable values say nothing.
    let run = world
        .pane_env(
            &["self", "update", "--dry-run"],
            &[("PANE_LOCK_TIMEOUT", "0.5"), ("PANE_HTTP_TIMEOUT", "7")],
        )
        .success();
    assert!(!run.stderr.contains("warning"), "{run}");
}

#[test]
fn uninstall_removes_a_symlinked_install_path_not_its_target() {
    let world = World::installed(&["1.0.0"]);
    // The install path is a link into the user's dotfiles.
    let dotfiles = world.home.join("dotfiles/bin");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("pane");
    std::fs::copy(world.install_path(), &real).unwrap();
    std::fs::remove_file(world.install_path()).unwrap();
    std::os::unix::fs::symlink(&real, world.install_path()).unwrap();
    let kept = std::fs::read(&real).unwrap();
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(
        std::fs::symlink_metadata(world.install_path()).is_err(),
        "the link is still there"
    );
    assert_eq!(
        std::fs::read(&real).unwrap(),
        kept,
        "the link's target changed"
    );
}

#[test]
fn a_lock_file_that_is_a_symlink_is_refused_not_followed() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // Someone plants update.lock as a link to a file of the user's.
    let victim = world.home.join(".important");
    std::fs::write(&victim, "the user's words\n").unwrap();
    let lock = world.data_dir.join("update.lock");
    let _ = std::fs::remove_file(&lock);
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let before = world.snapshot();
    world
        .pane(&["self", "update"])
        .fails_with("update lock")
        .fails_with("is a symbolic link");
    before.assert_same(&world.snapshot());
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the user's words\n"
    );
    assert_eq!(world.installed_version(), "1.0.0");
}

#[test]
fn self_install_of_an_older_binary_refuses_unless_asked() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane(&["self", "update"]).success();
    let older = build_pane("1.0.0");
    let before = world.snapshot();
    world
        .run(&older, &["self", "install", "--no-modify-path"], &[])
        .fails_with("this pane is 1.0.0, older than the pane 1.1.0 installed now")
        .fails_with("--allow-downgrade");
    before.assert_same(&world.snapshot());
    assert_eq!(world.installed_version(), "1.1.0");
    world
        .run(
            &older,
            &["self", "install", "--no-modify-path", "--allow-downgrade"],
            &[],
        )
        .success();
    assert_eq!(world.installed_version(), "1.0.0");
    // Going down does not lower the floor.
    assert_eq!(world.receipt()["highest_verified"], "1.1.0");
}

/// A newer pane raised the receipt's schema: an older pane's `self install`
/// does not replace that receipt unread. It reads the fields it knows, so
/// the downgrade floor holds and, when asked to go down, carries the newer
/// pane's records over (uninstall then undoes its PATH set-up); a receipt
/// whose fields it cannot read even so is refused, never replaced.
#[test]
fn self_install_over_a_receipt_of_a_newer_schema_keeps_its_floor_and_records() {
    let world = World::new();
    std::fs::write(world.home.join(".profile"), "# mine\n").unwrap();
    world
        .run(&build_pane("1.1.0"), &["self", "install"], &[])
        .success();
    let mut newer = world.receipt();
    newer["schema"] = 2.into();
    newer["layout"] = "of schema 2".into();
    std::fs::write(world.receipt_path(), newer.to_string()).unwrap();
    assert!(!newer["profile_edits"].as_array().unwrap().is_empty());

    let older = build_pane("1.0.0");
    let before = world.snapshot();
    world
        .run(&older, &["self", "install"], &[])
        .fails_with("this pane is 1.0.0, older than the pane 1.1.0 installed now")
        .fails_with("--allow-downgrade");
    before.assert_same(&world.snapshot());
    world
        .run(&older, &["self", "update"], &[])
        .fails_with("newer than this pane")
        .fails_with("--allow-downgrade");
    before.assert_same(&world.snapshot());

    world
        .run(&older, &["self", "install", "--allow-downgrade"], &[])
        .success();
    assert_eq!(world.installed_version(), "1.0.0");
    let taken = world.receipt();
    assert_eq!(taken["schema"], 1, "{taken:#}");
    assert_eq!(taken["highest_verified"], "1.1.0", "{taken:#}");
    assert_eq!(taken["previous"], "1.1.0", "{taken:#}");
    assert_eq!(taken["profile_edits"], newer["profile_edits"]);
    assert_eq!(taken["created_files"], newer["created_files"]);
    assert!(taken.get("layout").is_none(), "{taken:#}");
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert_eq!(
        std::fs::read_to_string(world.home.join(".profile")).unwrap(),
        "# mine\n"
    );

    // One whose fields do not read as this pane's: refused, with the way
    // out, which works.
    world
        .run(&older, &["self", "install", "--no-modify-path"], &[])
        .success();
    std::fs::write(world.receipt_path(), br#"{"schema": 99}"#).unwrap();
    let before = world.snapshot();
    for args in [
        &["self", "install"][..],
        &["self", "install", "--allow-downgrade"],
    ] {
        world
            .run(&older, args, &[])
            .fails_with("made by a newer pane (receipt schema 99)")
            .fails_with("install with that pane")
            .fails_with("move");
        before.assert_same(&world.snapshot());
    }
    let aside = world.home.join("receipt-of-schema-99.json");
    std::fs::rename(world.receipt_path(), &aside).unwrap();
    world
        .run(&older, &["self", "install", "--no-modify-path"], &[])
        .success();
    assert_eq!(world.receipt()["schema"], 1);
}

#[test]
fn the_downgrade_floor_follows_the_installation_to_another_directory() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane(&["self", "update"]).success();
    world.pane(&["self", "rollback"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
    let other = world.home.join("elsewhere/bin");
    world
        .pane(&[
            "self",
            "install",
            "--install-dir",
            &other.to_string_lossy(),
            "--no-modify-path",
        ])
        .success();
    let receipt = world.receipt();
    assert_eq!(receipt["install_dir"], other.to_string_lossy().as_ref());
    assert_eq!(receipt["highest_verified"], "1.1.0", "{receipt:#}");
    // The binary it moved from goes with the move; uninstall would not know of it.
    assert!(!world.install_path().exists());
    assert_eq!(receipt["highest_verified_stable"], "1.1.0", "{receipt:#}");
}

#[test]
fn a_trickling_server_cannot_hold_an_update() {
    // PANE_HTTP_TIMEOUT is 3 s here: the grace each download gets.
    for (pattern, rate) in [("SHA256SUMS.minisig", 2), (".tar.gz", 1024)] {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        world.server().set_fault(
            pattern,
            Fault::Throttle {
                bytes_per_sec: rate,
            },
        );
        let before = world.snapshot();
        let started = std::time::Instant::now();
        world
            .pane(&["self", "update"])
            .fails_with("came too slowly")
            .fails_with("check your connection");
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(20),
            "{pattern} at {rate} B/s held the update for {took:?}"
        );
        before.assert_same(&world.snapshot());
        assert_no_temp_files(&world.home);
        // The lock is free again: the next update goes through.
        world.server().clear_faults();
        world.pane(&["self", "update"]).success();
    }
}

#[test]
fn a_first_install_replaces_a_link_at_the_install_path_not_what_it_points_to() {
    let world = World::new();
    // Another tool's file, linked at the path pane is about to take.
    let other = world.home.join("other/tool");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, "#!/bin/sh\necho other\n").unwrap();
    std::fs::create_dir_all(world.install_path().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&other, world.install_path()).unwrap();
    let pane = build_pane("1.0.0");
    world
        .run(&pane, &["self", "install", "--no-modify-path"], &[])
        .success();
    assert_eq!(
        std::fs::read(&other).unwrap(),
        b"#!/bin/sh\necho other\n",
        "the link's target was overwritten"
    );
    let placed = std::fs::symlink_metadata(world.install_path()).unwrap();
    assert!(placed.file_type().is_file(), "{placed:?}");
    assert_eq!(world.installed_version(), "1.0.0");
    // Updates from here on follow what pane placed, and uninstall removes it.
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(std::fs::symlink_metadata(world.install_path()).is_err());
    assert!(other.is_file());
}

#[test]
fn a_move_to_another_directory_leaves_a_binary_that_is_not_pane_s() {
    let world = World::installed(&["1.0.0"]);
    // Since the install, another tool put its own file at pane's old path.
    std::fs::write(world.install_path(), "#!/bin/sh\necho other\n").unwrap();
    let other = world.home.join("elsewhere/bin");
    let run = world
        .run(
            &build_pane("1.0.0"),
            &[
                "self",
                "install",
                "--install-dir",
                &other.to_string_lossy(),
                "--no-modify-path",
            ],
            &[],
        )
        .success();
    assert!(
        run.stderr
            .contains("it is not the binary pane installed there"),
        "{run}"
    );
    assert_eq!(
        std::fs::read(world.install_path()).unwrap(),
        b"#!/bin/sh\necho other\n"
    );
}

#[test]
fn a_re_install_into_a_dir_that_became_a_link_is_the_same_installation() {
    let world = World::installed(&["1.0.0"]);
    // A dotfiles manager folds ~/.local/bin into a link to its own tree.
    let bin = world.install_path().parent().unwrap().to_path_buf();
    let dotfiles = world.home.join("dotfiles/bin");
    std::fs::create_dir_all(dotfiles.parent().unwrap()).unwrap();
    std::fs::rename(&bin, &dotfiles).unwrap();
    std::os::unix::fs::symlink(&dotfiles, &bin).unwrap();
    let run = world
        .run(
            &build_pane("1.0.0"),
            &["self", "install", "--no-modify-path"],
            &[],
        )
        .success();
    assert!(!run.stderr.contains("removed"), "{run}");
    assert_eq!(world.installed_version(), "1.0.0");
}

#[test]
fn a_failed_take_over_of_a_newer_receipt_leaves_its_bytes() {
    let world = World::installed(&["1.1.0"]);
    let mut newer = world.receipt();
    newer["schema"] = 2.into();
    newer["layout"] = "of schema 2".into();
    let bytes = newer.to_string();
    std::fs::write(world.receipt_path(), &bytes).unwrap();
    // The swap fails: the install path is a directory now.
    std::fs::remove_file(world.install_path()).unwrap();
    std::fs::create_dir(world.install_path()).unwrap();
    world
        .run(
            &build_pane("1.0.0"),
            &["self", "install", "--no-modify-path", "--allow-downgrade"],
            &[],
        )
        .fails_with("could not replace");
    assert_eq!(
        std::fs::read_to_string(world.receipt_path()).unwrap(),
        bytes
    );
}

/// A receipt whose `pin` was edited into something that does not parse:
/// `update` and `check` are usage errors (exit 2) that name the receipt's pin
/// and the way out, and change nothing; `pin` replaces it and `unpin` removes it.
#[test]
fn a_stored_pin_that_does_not_parse_names_the_way_out() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let mut receipt = world.receipt();
    receipt["pin"] = "not a req!!".into();
    std::fs::write(world.receipt_path(), receipt.to_string()).unwrap();
    let before = world.snapshot();
    for args in [&["self", "update"][..], &["self", "check"]] {
        let run = world.pane(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run}");
        assert!(
            run.stderr
                .contains("the pin stored in the install receipt, \"not a req!!\"")
                && run.stderr.contains("hint: `pane self unpin` removes it"),
            "{args:?}: {run}"
        );
    }
    before.assert_same(&world.snapshot());
    world.pane(&["self", "unpin"]).success();
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
}

/// The signature and the sums are fetched at once. When the signature fails
/// (here a 404: no such release), the error comes at once, not after a
/// stalled fetch of the sums has run into the idle timeout with the lock held.
#[test]
fn a_failed_signature_does_not_wait_for_stalled_sums() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.server().set_fault("/v1.1.0/SHA256SUMS", Fault::Stall);
    world
        .server()
        .set_fault("/v1.1.0/SHA256SUMS.minisig", Fault::Status(404));
    let before = world.snapshot();
    let started = std::time::Instant::now();
    let run = world.pane_env(
        &["self", "update", "1.1.0"],
        &[("PANE_HTTP_TIMEOUT", "120")],
    );
    // A deadline against the hang, far below the idle timeout it would be.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}: {run}",
        started.elapsed()
    );
    run.fails_with("SHA256SUMS.minisig was not found (404)")
        .fails_with("no release 1.1.0 is published");
    before.assert_same(&world.snapshot());
}

/// Another installer (`cargo install --root ~/.local`) put its own pane at the install path
/// after pane's: uninstall removes it only when it is the binary pane kept, as a move does.
#[test]
fn uninstall_leaves_a_binary_at_the_install_path_that_is_not_pane_s() {
    let world = World::installed(&["1.0.0"]);
    let theirs = "#!/bin/sh\necho 'pane (another installer)'\n";
    std::fs::write(world.install_path(), theirs).unwrap();
    let run = world
        .run(&build_pane("1.0.0"), &["self", "uninstall", "--yes"], &[])
        .success();
    assert_eq!(
        std::fs::read_to_string(world.install_path())
            .ok()
            .as_deref(),
        Some(theirs),
        "uninstall removed another installer's binary"
    );
    // Said so, and the rest of the installation is gone.
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("it is not a binary pane installed there"),
        "{run}"
    );
    assert!(!world.receipt_path().exists());
}

/// The channel document and its signature are fetched at once. With no document (a 404,
/// as before the first one), the command goes on at once, not after a stalled fetch of the
/// signature has run into the idle timeout.
#[test]
fn a_missing_channel_document_does_not_wait_for_its_stalled_signature() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // Files there, for the server's faults to answer in their place.
    let channel = world.root.join("channel");
    std::fs::create_dir_all(&channel).unwrap();
    std::fs::write(channel.join("channel.json"), "{}").unwrap();
    std::fs::write(channel.join("channel.json.minisig"), "x").unwrap();
    world
        .server()
        .set_fault("channel.json.minisig", Fault::Stall);
    world
        .server()
        .set_fault("/channel/channel.json", Fault::Status(404));
    let started = std::time::Instant::now();
    let run = world.pane_env(&["self", "update"], &[("PANE_HTTP_TIMEOUT", "120")]);
    // A deadline against the hang, far below the idle timeout it would be.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}: {run}",
        started.elapsed()
    );
    run.success();
    assert_eq!(world.installed_version(), "1.1.0");
}
