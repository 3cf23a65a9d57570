//! The command line's contract as docs/commands.md states it: usage errors
//! pane finds itself (exit 2, `error:` and a hint, the JSON error document),
//! flags that mean nothing together, what `--quiet` says it does, values of
//! the environment pane cannot read, and hints that fit what is missing. The
//! real binary, in a throwaway HOME.

use std::path::Path;

use crate::common::{Run, World};

/// The pane under test (not a fixture stamped with a version).
fn pane(world: &World, args: &[&str], env: &[(&str, &str)]) -> Run {
    world.run(Path::new(env!("CARGO_BIN_EXE_pane")), args, env)
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
