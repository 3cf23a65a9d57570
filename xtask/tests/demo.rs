//! `cargo xtask demo` end to end: the real binary, real pane builds, a real
//! server on loopback, install.sh under `sh`. Its temporary directories go to
//! a TMPDIR of the test's own, which must be empty once the demo has ended.

use std::process::Command;

#[test]
fn demo_runs_the_whole_life_cycle_and_cleans_up() {
    let tmp = tempfile::Builder::new()
        .prefix("pane-demo-test-")
        .tempdir()
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(output.status.success(), "the demo failed:\n{report}");

    // Every step, in order, each with its verdict.
    let mut rest = stdout.as_ref();
    for command in [
        "sh install.sh",
        "$ pane --version",
        "$ pane self check",
        "$ pane self update",
        "$ pane self pin 1.1.0",
        "$ pane self update",
        "the release server is stopped",
        "$ pane self rollback",
        "$ pane self status",
        "$ pane self uninstall --yes",
        "── summary",
    ] {
        let at = rest
            .find(command)
            .unwrap_or_else(|| panic!("{command:?} missing or out of order:\n{report}"));
        rest = &rest[at + command.len()..];
    }
    assert!(stdout.contains("exit 10 as expected"), "{report}");
    assert_eq!(stdout.matches("  ✓ ").count(), 2 * 9, "{report}");
    assert!(!stdout.contains('✗'), "{report}");
    assert!(
        stdout.contains("9 of 9 steps did what was expected"),
        "{report}"
    );

    // Nothing left behind: sandbox, HOME, release tree, signing key.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}\n{report}");
}
