//! The command line's contract as docs/commands.md states it: usage errors
//! pane finds itself (exit 2, `error:` and a hint, the JSON error document),
//! flags that mean nothing together, what `--quiet` says it does, values of
//! the environment pane cannot read, and hints that fit what is missing. The
//! real binary, in a throwaway HOME.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use serde_json::Value;
use xtask::fixtures::build_pane;

use crate::common::{Run, World};

/// The pane under test (not a fixture stamped with a version).
fn pane(world: &World, args: &[&str], env: &[(&str, &str)]) -> Run {
    world.run(Path::new(env!("CARGO_BIN_EXE_pane")), args, env)
}

/// Bare `pane` with the notice forced on (no terminal needed) and no
/// background check started.
fn notice(world: &World, env: &[(&str, &str)]) -> Run {
    let mut command = world.command(&world.install_path());
    command
        .env_remove("PANE_NO_UPDATE_CHECK")
        .env("PANE_FORCE_NOTICE", "1")
        .env("PANE_TEST_NO_SPAWN", "1")
        .envs(env.iter().copied());
    Run::from(command.output().unwrap())
}

/// `text` with its runs of white space made one space (clap wraps help).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn config_with_an_unknown_setting_or_value_is_a_usage_error() {
    let world = World::new();
    for args in [
        &["self", "config", "foo", "bar"][..],
        &["self", "config", "foo"],
        &["self", "config", "updates"],
        &["self", "config", "updates", "sometimes"],
    ] {
        let run = pane(&world, args, &[]).code(2);
        assert!(run.stderr.starts_with("error: "), "{args:?}:\n{run}");
        assert!(!run.stderr.contains("warning:"), "{args:?}:\n{run}");
        assert!(
            run.stderr.contains("hint: ") && run.stderr.contains("auto, notify or off"),
            "{args:?}:\n{run}"
        );
        assert!(run.stdout.is_empty(), "{args:?}:\n{run}");
        let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        let run = pane(&world, &json_args, &[]).code(2);
        let json = run.json();
        assert_eq!(json["status"], "error", "{json_args:?}:\n{run}");
        assert!(
            json["hint"]
                .as_str()
                .is_some_and(|hint| hint.contains("pane self config updates")),
            "{json_args:?}:\n{run}"
        );
    }
    // Refused before anything was written.
    assert!(
        world.files_in_home().is_empty(),
        "{:?}",
        world.files_in_home()
    );
    // The value may be in any case; what is written is the setting's own spelling.
    pane(&world, &["self", "config", "updates", "Auto"], &[]).success();
    let config = world.home.join(".config/pane/config.toml");
    assert_eq!(
        std::fs::read_to_string(config).unwrap(),
        "updates = \"auto\"\n"
    );
}

#[test]
fn uninstall_json_lists_what_the_words_do_and_the_notes() {
    // Two installations alike, with PATH set-up and completions; one
    // uninstalled in words, the other in JSON.
    let install = || {
        let world = World::new();
        world.publish("1.0.0");
        world
            .run(&build_pane("1.0.0"), &["self", "install"], &[])
            .success();
        // A file pane wrote that the user has made their own is kept.
        let fish = world.home.join(".config/fish/conf.d/pane.env.fish");
        std::fs::write(&fish, "set -gx PATH ~/bin $PATH\n").unwrap();
        world
    };
    let relative = |world: &World, path: &str| {
        Path::new(path)
            .strip_prefix(&world.home)
            .unwrap_or_else(|_| panic!("{path} is outside HOME"))
            .to_string_lossy()
            .into_owned()
    };

    let words = install();
    let run = words.pane(&["self", "uninstall", "--yes"]).success();
    let mut said: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("removed "))
        .filter(|rest| !rest.starts_with("pane's PATH line"))
        .map(|path| relative(&words, path))
        .collect();
    said.sort();

    let world = install();
    let run = world
        .pane(&["self", "uninstall", "--yes", "--json"])
        .success();
    let json: Value = run.json();
    assert_eq!(json["status"], "uninstalled");
    let mut removed: Vec<String> = json["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|path| relative(&world, path.as_str().unwrap()))
        .collect();
    removed.sort();
    assert_eq!(said, removed, "the words and the JSON differ");
    for expected in [
        ".local/bin/pane",
        ".local/bin/pane.env",
        ".local/share/pane/versions",
        ".local/share/pane/install-receipt.json",
        ".local/share/pane",
        ".profile",
        ".local/share/bash-completion/completions/pane",
        ".local/share/zsh/site-functions/_pane",
        ".config/fish/completions/pane.fish",
    ] {
        assert!(removed.iter().any(|r| r == expected), "{expected}: {json}");
    }
    assert!(
        !removed.iter().any(|r| r.ends_with("pane.env.fish")),
        "{json}"
    );
    let notes = json["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|note| {
            let note = note.as_str().unwrap();
            note.contains("pane.env.fish") && note.contains("kept")
        }),
        "{json}"
    );
    assert!(world
        .home
        .join(".config/fish/conf.d/pane.env.fish")
        .exists());
}

/// A FIFO at `path`.
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.unwrap().success(), "mkfifo {}", path.display());
}

/// A release of `version` published in `world`, its `~/Downloads`, and the
/// path its archive would have there (not copied yet).
fn downloads_of(
    world: &World,
    version: &str,
) -> (
    xtask::fixtures::ReleaseDir,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let release = world.publish(version);
    let downloads = world.home.join("Downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let archive = downloads.join(release.archive.file_name().unwrap());
    (release, downloads, archive)
}

#[test]
fn verify_says_which_file_is_missing_and_what_to_fetch() {
    let world = World::new();
    let (release, downloads, archive) = downloads_of(&world, "1.0.0");
    let archive_arg = archive.to_string_lossy().into_owned();

    // No archive: the archive is what is missing, not SHA256SUMS.minisig.
    let run = pane(&world, &["self", "verify", &archive_arg], &[])
        .fails_with(&format!("error: could not read the archive {archive_arg}"));
    assert!(!run.stderr.contains("SHA256SUMS"), "{run}");
    assert!(!run.stderr.contains("pane self install"), "{run}");

    // The archive alone: fetch the release's sums and signature, or name them.
    std::fs::copy(&release.archive, &archive).unwrap();
    let run = pane(&world, &["self", "verify", &archive_arg], &[])
        .fails_with("SHA256SUMS.minisig")
        .fails_with("beside the archive, or pass --sums FILE and --sig FILE");
    assert!(!run.stderr.contains("pane self install"), "{run}");
    std::fs::copy(
        release.signature_path(),
        downloads.join("SHA256SUMS.minisig"),
    )
    .unwrap();
    let run = pane(&world, &["self", "verify", &archive_arg, "--json"], &[])
        .fails_with("could not read the checksum file");
    let json = run.json();
    assert!(json["hint"].as_str().unwrap().contains("--sums"), "{run}");
    std::fs::copy(release.sums_path(), downloads.join("SHA256SUMS")).unwrap();
    pane(&world, &["self", "verify", &archive_arg], &[]).success();
}

/// `self verify` reads a FIFO, a device or a directory no more than an
/// update would download it, and no file larger than an update accepts:
/// each is refused by name before it is read (a FIFO would block the open,
/// `/dev/zero` never ends, a sparse file of 300 MiB costs nothing to make).
#[test]
fn verify_reads_only_regular_files_no_larger_than_a_download() {
    let world = World::new();
    let (release, downloads, archive) = downloads_of(&world, "1.0.0");
    let archive_arg = archive.to_string_lossy().into_owned();
    let sums = downloads.join("SHA256SUMS");
    let signature = downloads.join("SHA256SUMS.minisig");
    let genuine = || {
        for (from, to) in [
            (release.archive.clone(), &archive),
            (release.sums_path(), &sums),
            (release.signature_path(), &signature),
        ] {
            let _ = std::fs::remove_dir(to);
            let _ = std::fs::remove_file(to);
            std::fs::copy(from, to).unwrap();
        }
    };
    /// What takes the place of a genuine file.
    enum Odd {
        Fifo,
        Dir,
        DevZero,
        Larger(u64),
    }
    let replace = |path: &Path, odd: &Odd| {
        if !matches!(odd, Odd::Larger(_)) {
            std::fs::remove_file(path).unwrap();
        }
        match odd {
            Odd::Fifo => mkfifo(path),
            Odd::Dir => std::fs::create_dir(path).unwrap(),
            Odd::DevZero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
            Odd::Larger(size) => std::fs::File::create(path).unwrap().set_len(*size).unwrap(),
        }
    };
    let not_regular = "not a regular file";
    let cases = [
        (&archive, "the archive", Odd::Fifo, not_regular),
        (&archive, "the archive", Odd::Dir, not_regular),
        (
            &archive,
            "the archive",
            Odd::Larger(300 << 20),
            "more than the 268435456 bytes",
        ),
        (&sums, "the checksum file", Odd::DevZero, not_regular),
        (
            &sums,
            "the checksum file",
            Odd::Larger(64 * 1024 + 1),
            "more than the 65536 bytes",
        ),
        (&signature, "the signature", Odd::Fifo, not_regular),
        (
            &signature,
            "the signature",
            Odd::Larger(4097),
            "more than the 4096 bytes",
        ),
    ];
    for (path, file, odd, why) in &cases {
        genuine();
        replace(path, odd);
        let run = pane(&world, &["self", "verify", &archive_arg], &[])
            .fails_with(&format!("could not read {file}"))
            .fails_with(why);
        assert!(!run.stderr.contains("is genuine"), "{run}");
    }
    // Bytes that are not the signed ones are called that before anything
    // about the archive's structure: a flipped byte in the compressed
    // stream, a cut, a byte after the gzip stream.
    type Change = fn(&mut Vec<u8>);
    let changes: [Change; 3] = [
        |bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
        },
        |bytes| bytes.truncate(bytes.len() / 2),
        |bytes| bytes.push(0),
    ];
    for change in changes {
        genuine();
        let mut bytes = std::fs::read(&archive).unwrap();
        change(&mut bytes);
        std::fs::write(&archive, bytes).unwrap();
        let run =
            pane(&world, &["self", "verify", &archive_arg], &[]).fails_with("checksum mismatch");
        assert!(!run.stderr.contains("not a readable"), "{run}");
    }
    genuine();
    pane(&world, &["self", "verify", &archive_arg], &[]).success();
}

#[test]
fn a_missing_directory_of_the_shell_s_is_not_called_a_broken_installation() {
    let world = World::new();
    // Where bash completions go, a link to nowhere (a dotfiles manager's).
    let share = world.home.join(".local/share");
    std::fs::create_dir_all(&share).unwrap();
    std::os::unix::fs::symlink(world.home.join("nowhere"), share.join("bash-completion")).unwrap();
    let run = pane(&world, &["self", "install"], &[])
        .fails_with("bash-completion/completions")
        .fails_with("--no-completions");
    assert!(!run.stderr.contains("repair the installation"), "{run}");
}

#[test]
fn quiet_is_described_as_what_it_does() {
    let world = World::new();
    for command in ["update", "check", "status", "list", "config", "install"] {
        let help = one_line(
            &pane(&world, &["self", command, "--help"], &[])
                .success()
                .stdout,
        );
        assert!(!help.contains("Print only errors"), "{command}: {help}");
        assert!(
            help.contains("results, warnings and errors still print"),
            "{command}: {help}"
        );
    }
    let readme = one_line(include_str!("../../README.md"));
    assert!(!readme.contains("print only errors"), "README.md");
}

#[test]
fn update_flags_that_mean_nothing_together_are_usage_errors() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let before = world.snapshot();
    for (args, says) in [
        (
            &["self", "update", "1.1.0", "--prerelease"][..],
            "cannot be used with",
        ),
        (
            &["self", "update", "1.1.0", "--prerelease", "--now"],
            "cannot be used with",
        ),
    ] {
        let run = world.pane(args).code(2);
        assert!(run.stderr.contains(says), "{args:?}:\n{run}");
        assert!(run.stdout.is_empty(), "{args:?}:\n{run}");
    }
    before.assert_same(&world.snapshot());
    // What has a meaning stays accepted, -y (for scripts) included.
    for args in [
        &["self", "update", "-y", "--dry-run"][..],
        // Under an exact pin of a withdrawn version it has a meaning.
        &["self", "update", "--allow-withdrawn", "--dry-run"],
        &["self", "update", "--prerelease", "--now", "--dry-run"],
        &[
            "self",
            "update",
            "1.1.0",
            "--allow-withdrawn",
            "--now",
            "--dry-run",
        ],
    ] {
        world.pane(args).success();
    }
    let help = one_line(&world.pane(&["self", "update", "--help"]).success().stdout);
    assert!(!help.contains("Do not ask for confirmation"), "{help}");
}

#[test]
fn pane_updates_in_any_case_and_a_warning_for_a_value_it_cannot_read() {
    let world = World::installed(&["1.0.0"]);
    for value in ["OFF", "Off", " off "] {
        let json = world
            .pane_env(&["self", "config", "--json"], &[("PANE_UPDATES", value)])
            .success()
            .json();
        assert_eq!(json["updates"], "off", "{value:?}: {json}");
        assert_eq!(json["source"], "PANE_UPDATES", "{value:?}: {json}");
    }
    // `OFF` turns the background check off: bare `pane` starts none, so
    // records no attempt.
    let cache = world.data_dir.join("update-check.json");
    let run = notice(&world, &[("PANE_UPDATES", "OFF")]).success();
    assert!(!run.stderr.contains("warning"), "{run}");
    assert!(
        !cache.exists(),
        "a check was started under PANE_UPDATES=OFF"
    );

    // A value it cannot read is ignored, with one warning, where the policy
    // counts: the user's file (else the default) decides.
    world.pane(&["self", "config", "updates", "auto"]).success();
    let bogus = [("PANE_UPDATES", "bogus")];
    let warning = "warning: PANE_UPDATES=\"bogus\" is not an update policy";
    for args in [&["self", "config"][..], &["self", "status"]] {
        let run = world.pane_env(args, &bogus).success();
        assert_eq!(run.stderr.matches(warning).count(), 1, "{args:?}:\n{run}");
        assert!(run.stdout.contains("auto"), "{args:?}:\n{run}");
    }
    let run = world.pane_env(&["self", "config"], &bogus).success();
    assert!(
        run.stdout.contains("updates = auto    (from user file"),
        "{run}"
    );
    let run = world
        .pane_env(&["self", "config", "--json"], &bogus)
        .success();
    assert_eq!(run.json()["updates"], "auto", "{run}");
    assert!(run.stderr.is_empty(), "{run}");
    let run = notice(&world, &bogus).success();
    assert_eq!(run.stderr.matches(warning).count(), 1, "{run}");

    // The administrator's `off` still wins; the variable is not even read.
    let system = world.tmp.path().join("etc-pane.toml");
    std::fs::write(&system, "updates = \"off\"\n").unwrap();
    let admin = [
        ("PANE_TEST_SYSTEM_CONFIG", system.to_str().unwrap()),
        ("PANE_UPDATES", "bogus"),
    ];
    let run = world.pane_env(&["self", "config"], &admin).success();
    assert!(
        run.stdout.contains("updates = off    (from system file"),
        "{run}"
    );
    assert!(!run.stderr.contains("warning"), "{run}");
    world
        .pane_env(&["self", "update"], &admin)
        .fails_with("turned off by the administrator");
}

#[test]
fn an_unpublished_version_is_named_with_where_to_look() {
    let world = World::installed(&["1.0.0"]);
    for args in [&["self", "update", "9.9.9"][..], &["self", "pin", "9.9.9"]] {
        let run = world
            .pane(args)
            .fails_with("was not found (404)")
            .fails_with("no release 9.9.9 is published; see `pane self list`");
        assert!(!run.stderr.contains("caused by"), "{run}");
    }
}

/// A FIFO or a device where pane keeps a file (the receipt, the check's
/// cache, the user's `config.toml`) is refused or passed over, never waited
/// on or read without end; each run is killed after 20 seconds so that a
/// regression fails instead of hanging.
#[test]
fn a_fifo_or_a_device_in_place_of_pane_s_files_is_never_waited_on() {
    let bounded = |world: &World, args: &[&str]| {
        let mut child = world
            .command(&world.install_path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("pane {args:?} still running after 20 s: it waited on a FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        crate::common::Run::from(child.wait_with_output().unwrap())
    };
    let mkfifo = |path: &Path| {
        let _ = std::fs::remove_file(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        mkfifo(path);
    };

    // The receipt: a clear error, exit 1.
    let world = World::installed(&["1.0.0", "1.1.0"]);
    mkfifo(&world.receipt_path());
    bounded(&world, &["self", "status"])
        .fails_with("could not read the install receipt")
        .fails_with("not a regular file");

    // The check's cache: counted as empty, and the check goes on.
    let world = World::installed(&["1.0.0", "1.1.0"]);
    mkfifo(&world.data_dir.join("update-check.json"));
    let run = bounded(&world, &["self", "check"]).code(10);
    assert!(run.stdout.contains("1.1.0"), "{run}");

    // config.toml: named, whether it is a FIFO or a link to /dev/zero; and
    // uninstall leaves it.
    let config = world.home.join(".config/pane/config.toml");
    mkfifo(&config);
    bounded(&world, &["self", "config", "updates", "auto"])
        .fails_with("config.toml")
        .fails_with("not a regular file");
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    bounded(&world, &["self", "config"])
        .fails_with("config.toml")
        .fails_with("not a regular file");
    std::fs::remove_file(&config).unwrap();
    mkfifo(&config);
    bounded(&world, &["self", "uninstall", "--yes"]).success();
    assert!(config.symlink_metadata().unwrap().file_type().is_fifo());
}
