//! Help that teaches: every `pane self` command's help ends with an example
//! of that command, and the common slips (`pane update`, `pane self upgrade`,
//! `pane self pin latest`, `--install-dir=~/bin`) are usage errors (exit 2)
//! that name what was meant. The real binary, in a throwaway HOME.

use std::path::Path;

use crate::common::{Run, World};

fn pane(world: &World, args: &[&str]) -> Run {
    world.run(Path::new(env!("CARGO_BIN_EXE_pane")), args, &[])
}

/// The visible subcommands `pane self --help` lists.
fn self_commands(world: &World) -> Vec<String> {
    let help = pane(world, &["self", "--help"]).success().stdout;
    let listing = help
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("no Commands: in\n{help}"));
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The help's example: `Example: <what>` then `  $ <command line>`, last.
fn example(help: &str) -> (String, String) {
    let at = help
        .rfind("Example: ")
        .unwrap_or_else(|| panic!("no example in\n{help}"));
    let mut lines = help[at..].lines();
    let what = lines.next().unwrap()["Example: ".len()..].to_string();
    let command = lines
        .next()
        .and_then(|line| line.strip_prefix("  $ "))
        .unwrap_or_else(|| panic!("no `  $ <command>` line after the example in\n{help}"));
    assert!(lines.next().is_none(), "the example is not last:\n{help}");
    (what, command.to_string())
}

#[test]
fn every_self_command_shows_an_example_of_itself() {
    let world = World::new();
    let commands = self_commands(&world);
    for expected in ["update", "pin", "unpin", "rollback", "status", "verify"] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} missing from {commands:?}"
        );
    }
    assert!(!commands.iter().any(|c| c == "background-check"));

    let (what, line) = example(&pane(&world, &["self", "--help"]).success().stdout);
    assert!(line.starts_with("pane self "), "{line}");
    assert!(!what.is_empty());
    for command in &commands {
        for flag in ["--help", "-h"] {
            let help = pane(&world, &["self", command, flag]).success().stdout;
            let (what, line) = example(&help);
            assert!(
                line.starts_with(&format!("pane self {command}"))
                    || line.starts_with(&format!("./pane self {command}")),
                "`pane self {command} {flag}`: the example runs something else: {line}"
            );
            assert!(what.len() > 10, "{command}: {what:?}");
        }
    }
    let (_, line) = example(&pane(&world, &["--help"]).success().stdout);
    assert_eq!(line, "pane self update");
    let (_, line) = example(&pane(&world, &["completions", "--help"]).success().stdout);
    assert!(line.starts_with("pane completions bash"), "{line}");
}

/// A slip, its exit status 2 and the command its tip names.
fn assert_suggests(world: &World, args: &[&str], unknown: &str, meant: &str) {
    let run = pane(world, args).code(2);
    assert!(
        run.stderr
            .contains(&format!("unrecognized subcommand '{unknown}'")),
        "pane {args:?}:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("tip: did you mean '{meant}'?")),
        "pane {args:?} does not suggest `{meant}`:\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn slips_name_the_command_meant() {
    let world = World::new();
    assert_suggests(&world, &["update"], "update", "pane self update");
    assert_suggests(
        &world,
        &["update", "1.2.0"],
        "update",
        "pane self update 1.2.0",
    );
    assert_suggests(&world, &["self", "upgrade"], "upgrade", "pane self update");
    assert_suggests(
        &world,
        &["self", "upgrade", "--dry-run"],
        "upgrade",
        "pane self update --dry-run",
    );
    assert_suggests(&world, &["upgrade"], "upgrade", "pane self update");
    assert_suggests(&world, &["self-update"], "self-update", "pane self update");
    assert_suggests(&world, &["pin", "~1.2"], "pin", "pane self pin '~1.2'");
    assert_suggests(&world, &["rollback"], "rollback", "pane self rollback");
    assert_suggests(&world, &["self", "remove"], "remove", "pane self uninstall");

    // Not a slip pane knows: clap's own error, no invented command.
    let run = pane(&world, &["self", "frobnicate"]).code(2);
    assert!(run.stderr.contains("unrecognized subcommand 'frobnicate'"));
    assert!(!run.stderr.contains("did you mean"), "{}", run.stderr);
    // Hidden commands are not suggested either.
    let run = pane(&world, &["background-check"]).code(2);
    assert!(!run.stderr.contains("pane self"), "{}", run.stderr);
    assert!(world.files_in_home().is_empty());
}

#[test]
fn pin_latest_and_update_latest_say_what_was_meant() {
    let world = World::new();
    let run = pane(&world, &["self", "pin", "latest"]).code(2);
    assert!(
        run.stderr
            .contains("error: \"latest\" is neither a version (1.2.0) nor a version requirement"),
        "{}",
        run.stderr
    );
    let hint = run
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint:\n{}", run.stderr));
    let unpin = hint.find("`pane self unpin`").expect(hint);
    let update = hint.find("`pane self update`").expect(hint);
    assert!(unpin < update, "{hint}");

    let run = pane(&world, &["self", "pin", "LATEST", "--json"]).code(2);
    let json = run.json();
    assert_eq!(json["status"], "error");
    assert!(json["hint"]
        .as_str()
        .unwrap()
        .contains("run `pane self unpin`, then `pane self update`"));

    let run = pane(&world, &["self", "update", "latest"]).code(2);
    assert!(
        run.stderr.contains(
            "hint: leave the version out: `pane self update` installs the latest release"
        ),
        "{}",
        run.stderr
    );
    // Refused before anything was looked at or written.
    assert!(world.files_in_home().is_empty());
}

#[test]
fn an_install_dir_starting_with_an_unexpanded_tilde_is_refused() {
    // `--install-dir=~/bin`: no shell expands that `~`, and taken as it is the binary would go
    // to ./~/bin. A usage error, with what to write instead, before anything is written.
    let world = World::new();
    let run = pane(&world, &["self", "install", "--install-dir=~/bin"]).code(2);
    assert!(
        run.stderr
            .contains("error: --install-dir \"~/bin\" starts with a `~` that no shell expanded"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: for a directory in your home, write $HOME/bin")
            && run
                .stderr
                .contains("for a directory named `~` here, write ./~/bin"),
        "{}",
        run.stderr
    );
    // PANE_INSTALL_DIR, the flag's default, the same; with --json, the error document.
    let run = world
        .run(
            Path::new(env!("CARGO_BIN_EXE_pane")),
            &["self", "install", "--json"],
            &[("PANE_INSTALL_DIR", "~")],
        )
        .code(2);
    let json = run.json();
    assert_eq!(json["status"], "error");
    assert_eq!(
        json["error"],
        "PANE_INSTALL_DIR \"~\" starts with a `~` that no shell expanded"
    );
    assert!(json["hint"].as_str().unwrap().contains("write $HOME ("));
    assert!(!world.home.join("~").exists());
    assert!(
        world.files_in_home().is_empty(),
        "{:?}",
        world.files_in_home()
    );

    // A `~` that is not the first component, and `./~`, are directories like any other.
    let run = pane(&world, &["self", "install", "--install-dir", "./~/bin"]).success();
    assert!(world.home.join("~/bin/pane").is_file(), "{run}");
}
