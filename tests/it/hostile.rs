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
        .pane_env(&["self", "update"], &[("GITHUB_TOKEN", token)])
        .success();
    world
        .pane_env(&["self", "list"], &[("GITHUB_TOKEN", token)])
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
        .pane_env(&["self", "list"], &[("GITHUB_TOKEN", token)])
        .success();
    let seen = other.requests();
    assert!(!seen.is_empty(), "the redirect was not followed");
    assert!(
        seen.iter().all(|r| r.authorization.is_none()),
        "the token crossed to another host: {seen:?}"
    );
}

#[test]
fn api_403_says_how_to_pass_a_token() {
    let world = World::installed(&["1.0.0"]);
    world.server().set_fault("/releases", Fault::Status(403));
    world.pane(&["self", "list"]).fails_with("GITHUB_TOKEN");
}

#[test]
fn corrupt_receipts_get_a_way_out() {
    for (bytes, needle) in [
        (&b""[..], "is empty"),
        (b"{not json", "not JSON"),
        (br#"{"schema": 99}"#, "newer than this pane"),
    ] {
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
