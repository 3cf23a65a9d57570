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

/// `--record FILE`: the same run, passed through to stdout as it happens,
/// and kept in FILE as an asciicast v2, read back here with serde_json alone.
#[test]
fn demo_record_writes_the_run_as_an_asciicast() {
    let tmp = tempfile::Builder::new()
        .prefix("pane-demo-record-test-")
        .tempdir()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let cast = out.path().join("demo.cast");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["demo", "--record"])
        .arg(&cast)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(output.status.success(), "the demo failed:\n{report}");
    assert!(
        stdout.contains("9 of 9 steps did what was expected"),
        "{report}"
    );

    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    let width = header["width"].as_u64().unwrap();
    assert!((80..=120).contains(&width), "{header}");
    assert!(header["height"].as_u64().unwrap() >= 24, "{header}");

    let mut last = 0.0;
    let mut played = String::new();
    let mut times = Vec::new();
    for line in lines {
        let (time, code, output): (f64, String, String) =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(code, "o", "{line}");
        assert!(time >= last, "{time} after {last}: {line}");
        last = time;
        played.push_str(&output);
        times.push((time, played.len()));
    }
    // Exactly what was printed, with the line ends a terminal needs.
    assert!(!played.replace("\r\n", "").contains('\n'));
    assert_eq!(played.replace("\r\n", "\n"), stdout, "{report}");
    // Real times: the update comes before the rollback, which takes time to reach.
    let at = |needle: &str| {
        let offset = played.find(needle).unwrap_or_else(|| panic!("{needle}"));
        times.iter().find(|(_, end)| *end > offset).unwrap().0
    };
    let (update, rollback) = (at("$ pane self update"), at("$ pane self rollback"));
    assert!(update < rollback, "{update} {rollback}");
    assert!(last > 0.1, "{last}");

    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The recording the README shows is valid v2 and small.
#[test]
fn the_committed_recording_is_valid_and_small() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let text = std::fs::read_to_string(docs.join("demo.cast")).unwrap();
    let cast = xtask::asciicast::Cast::parse(&text).unwrap();
    let played: String = cast.events.iter().map(|e| e.text.as_str()).collect();
    for step in [
        "install.sh",
        "$ pane self update",
        "$ pane self pin",
        "$ pane self rollback",
    ] {
        assert!(played.contains(step), "{step} is not in docs/demo.cast");
    }
    let svg = std::fs::read_to_string(docs.join("demo.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(
        svg.len() < 400 * 1024,
        "docs/demo.svg is {} bytes",
        svg.len()
    );
    let readme = std::fs::read_to_string(docs.join("../README.md")).unwrap();
    let first_section = readme.find("\n## ").unwrap();
    assert!(
        readme[..first_section].contains("](docs/demo.svg)"),
        "README shows docs/demo.svg before its first section"
    );
}
