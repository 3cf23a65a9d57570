//! `cargo xtask demo --record FILE` and `cargo xtask recording`: the demo's
//! real run kept as an asciicast, and that recording rendered as the animated
//! SVG the README shows.
//!
//! Recording runs the demo as a child process with its stdout and stderr on
//! one pipe, passes every chunk through to this process's stdout as it
//! arrives, and keeps it with the time it arrived ([`Recorder`]). Nothing is
//! staged or replayed: the times are the run's own, the text is what it
//! printed. The file is written only when the demo succeeded.
//!
//! Rendering retimes a copy for watching: pauses are shortened to
//! [`IDLE_LIMIT`] (the set-up's builds), as asciinema's player does with the
//! header's `idle_time_limit`, and each step is shown at least
//! [`STEP_PAUSE`] before the next (the commands take hundredths of a
//! second). svg-term-cli from npm, installed into `target/` on first use,
//! draws it.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::asciicast::{Cast, Header, Recorder};
use crate::error::{Context, Result};
use crate::fsutil::write_atomically;

/// Pauses longer than this (seconds) are shortened to it when played.
pub const IDLE_LIMIT: f64 = 0.5;
/// When played, each of the demo's steps (a `── ` heading) comes at least
/// this long (seconds) after what came before it, so that the one before can
/// be read: the commands themselves take a few hundredths of a second.
pub const STEP_PAUSE: f64 = 0.8;
/// The terminal the recording is shown in: at least this wide, wider if a
/// line needs it (up to [`MAX_WIDTH`]), and this tall.
pub const MIN_WIDTH: u32 = 80;
pub const MAX_WIDTH: u32 = 120;
pub const HEIGHT: u32 = 32;
/// The renderer, pinned.
pub const SVG_TERM: &str = "svg-term-cli@2.1.1";
/// How long the last screen stays up before the animation starts again.
const FINAL_HOLD: f64 = 4.0;

/// Runs `command` to its end, its output passed through to `tee` as it
/// comes, and writes what it printed, timed, to `out` as an asciicast v2.
/// `Err` (and no file) if it could not run or did not exit 0.
pub fn record(
    mut command: Command,
    title: &str,
    out: &Path,
    tee: &mut dyn std::io::Write,
) -> Result<Cast> {
    let program = command.get_program().to_string_lossy().into_owned();
    let (mut reader, writer) = std::io::pipe().context("cannot make a pipe")?;
    let writer2 = writer.try_clone().context("cannot make a pipe")?;
    command.stdin(Stdio::null()).stdout(writer2).stderr(writer);
    let started = Instant::now();
    let spawned = command.spawn();
    // Our copies of the write end must go, or the read below never ends.
    drop(command);
    let mut child = spawned.with_context(|| format!("cannot run {program}"))?;

    let mut recorder = Recorder::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot read the recorded output"),
        };
        recorder.push(started.elapsed(), &buffer[..n]);
        let _ = tee.write_all(&buffer[..n]);
        let _ = tee.flush();
    }
    let events = recorder.finish(started.elapsed());
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for {program}"))?;
    if !status.success() {
        crate::bail!("{program} failed ({status}); no recording written");
    }
    let mut cast = Cast {
        header: Header {
            width: MIN_WIDTH,
            height: HEIGHT,
            title: Some(title.to_string()),
            idle_time_limit: Some(IDLE_LIMIT),
        },
        events,
    };
    let widest = u32::try_from(cast.widest_line()).unwrap_or(u32::MAX);
    cast.header.width = widest.clamp(MIN_WIDTH, MAX_WIDTH);
    write_atomically(out, 0o644, |file| {
        cast.write_to(file)
            .with_context(|| format!("cannot write {}", out.display()))
    })?;
    Ok(cast)
}

/// `cargo xtask demo`, run by `exe` (this xtask), recorded into `out`.
pub fn record_demo(exe: &Path, out: &Path) -> Result<Cast> {
    let mut demo = Command::new(exe);
    demo.arg("demo");
    record(
        demo,
        "pane: install → update → pin → rollback (cargo xtask demo)",
        out,
        &mut std::io::stdout(),
    )
}

/// What `cargo xtask recording` made.
#[derive(Debug)]
pub struct Rendered {
    pub cast: PathBuf,
    pub cast_bytes: u64,
    pub svg: PathBuf,
    pub svg_bytes: u64,
    /// Seconds the run took, and the animation lasts.
    pub recorded: f64,
    pub played: f64,
}

/// `cargo xtask recording`: records the demo into `docs/demo.cast` and
/// renders it to `docs/demo.svg`.
pub fn regenerate(exe: &Path) -> Result<Rendered> {
    let root = crate::workspace::root();
    let svg_term = install_svg_term(&root.join("target").join("recording-tools"))?;
    let cast_path = root.join("docs").join("demo.cast");
    let svg_path = root.join("docs").join("demo.svg");
    let cast = record_demo(exe, &cast_path)?;
    let played = render(&cast, &svg_term, &svg_path)?;
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .with_context(|| format!("cannot read {}", path.display()))
    };
    Ok(Rendered {
        cast_bytes: size(&cast_path)?,
        svg_bytes: size(&svg_path)?,
        cast: cast_path,
        svg: svg_path,
        recorded: cast.duration(),
        played,
    })
}

/// Renders `cast` with its pauses capped into `svg`; returns how long the
/// animation lasts (seconds).
pub fn render(cast: &Cast, svg_term: &Path, svg: &Path) -> Result<f64> {
    let mut played = cast.with_pauses(IDLE_LIMIT, |text| {
        if text.trim_start().starts_with("── ") {
            STEP_PAUSE
        } else {
            0.0
        }
    });
    // Its pauses are final: svg-term would cap them again at the header's
    // limit.
    played.header.idle_time_limit = None;
    // The last screen (the summary) stays up a while before the loop starts
    // again: a final event that writes nothing visible.
    let end = played.duration() + FINAL_HOLD;
    played.events.push(crate::asciicast::Event {
        time: end,
        text: "\u{1b}[0m".into(),
    });
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let input = scratch.path().join("played.cast");
    let mut bytes = Vec::new();
    played
        .write_to(&mut bytes)
        .context("cannot write the cast")?;
    std::fs::write(&input, bytes).with_context(|| format!("cannot write {}", input.display()))?;
    let output = scratch.path().join("demo.svg");
    let mut command = Command::new(svg_term);
    command
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&output)
        .args(["--window", "--no-cursor"])
        .args(["--width", &cast.header.width.to_string()])
        .args(["--height", &cast.header.height.to_string()]);
    crate::process::checked_output(&mut command, "svg-term")?;
    let rendered =
        std::fs::read(&output).with_context(|| format!("cannot read {}", output.display()))?;
    write_atomically(svg, 0o644, |file| {
        file.write_all(&rendered)
            .with_context(|| format!("cannot write {}", svg.display()))
    })?;
    Ok(end)
}

/// `svg-term` from [`SVG_TERM`], installed with npm under `tools` unless it
/// is there already.
pub fn install_svg_term(tools: &Path) -> Result<PathBuf> {
    let bin = tools.join("node_modules").join(".bin").join("svg-term");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(tools).with_context(|| format!("cannot create {}", tools.display()))?;
    let mut npm = Command::new("npm");
    npm.arg("install").arg("--prefix").arg(tools).args([
        "--no-audit",
        "--no-fund",
        "--silent",
        SVG_TERM,
    ]);
    crate::process::checked_output(
        &mut npm,
        &format!("npm install {SVG_TERM} (needs Node.js and npm)"),
    )?;
    if !bin.is_file() {
        crate::bail!(
            "npm installed {SVG_TERM}, but {} is not there",
            bin.display()
        );
    }
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_keeps_the_output_and_its_times() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run.cast");
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; sleep 0.3; echo two >&2; printf 'three ✓'"]);
        let cast = record(command, "probe", &out, &mut std::io::sink()).unwrap();
        let text: String = cast.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(text, "one\r\ntwo\r\nthree ✓");
        let two = cast.events.iter().find(|e| e.text.contains("two")).unwrap();
        assert!(two.time >= 0.3, "{:?}", cast.events);
        assert_eq!(cast.header.width, MIN_WIDTH);
        let read = Cast::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(read, cast);
    }

    #[test]
    fn a_failed_run_writes_no_recording() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run.cast");
        let mut command = Command::new("sh");
        command.args(["-c", "echo partial; exit 3"]);
        let error = record(command, "probe", &out, &mut std::io::sink()).unwrap_err();
        assert!(
            error.to_string().contains("no recording written"),
            "{error}"
        );
        assert!(!out.exists());
    }
}
