//! `cargo xtask demo`: pane's whole life cycle, end to end, on this machine
//! and with no network but loopback.
//!
//! It builds real pane binaries stamped 1.0.0, 1.1.0 and 1.2.0 (debug builds,
//! so they trust `PANE_TEST_PUBKEY`), signs the three releases with a key
//! generated now, serves them with the release server behind
//! `cargo xtask serve` on 127.0.0.1 and a free port, and then, in a throwaway
//! `HOME` with its own XDG dirs and `TMPDIR`, runs what a user would:
//!
//! 1. `sh install.sh` (`PANE_VERSION=1.0.0`, trusting the test key)
//! 2. `pane --version`
//! 3. `pane self check` (exit 10: an update is available)
//! 4. `pane self update` (to 1.2.0)
//! 5. `pane self pin 1.1.0`
//! 6. `pane self update` (held by the pin)
//! 7. `pane self rollback`, with the server stopped (offline)
//! 8. `pane self status`
//! 9. `pane self uninstall --yes`
//!
//! Each step prints its command line, its output (indented) and its result
//! against what it is expected to do: the exit status, and the installed
//! state read back afterwards (`pane self status --json`, the files in
//! `HOME`). Every child process runs with an empty environment except `PATH`
//! and the variables shown. The demo fails (non-zero exit) if any step did not
//! do what was expected; the temporary directories and the key are removed
//! when it ends, whichever way it ends (they are owned by values whose `Drop`
//! removes them).

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Context, Result};
use crate::fixtures::{host_target, try_build_pane, Release};
use crate::sandbox::Sandbox;

/// The versions released, oldest first: installed, pinned, latest.
const FIRST: &str = "1.0.0";
const MIDDLE: &str = "1.1.0";
const LATEST: &str = "1.2.0";
const VERSIONS: [&str; 3] = [FIRST, MIDDLE, LATEST];

/// No step of a healthy run takes more than a few seconds.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the demo, printing to stdout. `Err` when it could not be set up or
/// when any step did not do what was expected.
pub fn run() -> Result<()> {
    let started = Instant::now();
    println!("pane demo: install → update → pin → rollback → uninstall, on a local release server");
    println!();

    let sandbox = demo_sandbox()?;
    println!("setting up");
    let install_sh = publish(&sandbox)?;
    let setup_time = started.elapsed();

    let mut demo = Demo {
        env: sandbox.env(),
        sandbox,
        results: Vec::new(),
    };
    demo.steps(&install_sh);
    let Demo {
        sandbox, results, ..
    } = demo;

    let passed = results.iter().filter(|r| r.ok).count();
    let total = results.len();
    println!();
    println!("── summary {}", "─".repeat(60));
    for (n, result) in results.iter().enumerate() {
        println!(
            "  {} {}. {:<36} {}",
            mark(result.ok),
            n + 1,
            result.title,
            result.verdict
        );
    }
    let root = sandbox.tmp.path().to_path_buf();
    // The sandbox owns the signing key: closing it removes both.
    let cleaned = sandbox.close();
    println!();
    println!(
        "{passed} of {total} steps did what was expected (set-up {}, total {}).",
        seconds(setup_time),
        seconds(started.elapsed())
    );
    match &cleaned {
        Ok(()) => println!("removed {} and the signing key", root.display()),
        Err(e) => println!("could not remove {}: {e:#}", root.display()),
    }
    if passed != total {
        crate::bail!(
            "the demo failed: {} of {total} steps did not do what was expected",
            total - passed
        );
    }
    cleaned
}

/// The throwaway world, `<tmp>/pane-demo-XXXX/{home,tmp,releases}`: the
/// shared [`Sandbox`] with the XDG dirs made, a `TMPDIR` of its own, the
/// user's `PATH` (install.sh needs a downloader) and patient timeouts.
fn demo_sandbox() -> Result<Sandbox> {
    let mut sandbox = Sandbox::new("pane-demo-")?;
    let tmp = sandbox.tmp.path().join("tmp");
    let xdg = sandbox
        .env()
        .into_iter()
        .filter(|(name, _)| name.starts_with("XDG_"))
        .map(|(_, path)| PathBuf::from(path));
    for path in std::iter::once(tmp.clone()).chain(xdg) {
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    let path = std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| crate::sandbox::SYSTEM_PATH.into());
    sandbox.extra_env.extend(
        [
            ("PATH", path),
            ("TMPDIR", tmp.display().to_string()),
            ("PANE_HTTP_TIMEOUT", "10".into()),
            ("PANE_LOCK_TIMEOUT", "30".into()),
        ]
        .map(|(name, value)| (name.to_string(), value)),
    );
    Ok(sandbox)
}

/// Builds the three versions and publishes them, with install.sh, into the
/// sandbox's release root; says what it did. Returns install.sh's path.
fn publish(sandbox: &Sandbox) -> Result<PathBuf> {
    let mut binaries = Vec::new();
    for version in VERSIONS {
        let t = Instant::now();
        let binary = try_build_pane(version, "dev")?;
        println!(
            "  built pane {version:<7} {} ({})",
            show_path(&binary),
            seconds(t.elapsed())
        );
        binaries.push((version, binary));
    }
    let t = Instant::now();
    let install_sh = crate::workspace::root().join("install.sh");
    let install_sh_bytes = std::fs::read(&install_sh)
        .with_context(|| format!("cannot read {}", install_sh.display()))?;
    for (version, binary) in &binaries {
        sandbox.publish(
            Release::new(*version)
                .binary(binary)
                .asset("install.sh", install_sh_bytes.clone()),
        )?;
    }
    let key = &sandbox.key;
    println!(
        "  signing key {} (id {}), generated now, removed at the end",
        key.public_key_line(),
        key.key_id_hex()
    );
    println!(
        "  releases    v{FIRST}, v{MIDDLE}, v{LATEST} for {} in {} (packaged and signed in {})",
        host_target(),
        sandbox.root.display(),
        seconds(t.elapsed())
    );
    println!("  server      {}", sandbox.server().releases_url());
    println!(
        "  HOME (~)    {} (with its own XDG dirs and TMPDIR)",
        sandbox.home.display()
    );
    println!(
        "  every command below runs with only PATH from your environment, plus HOME, XDG_*, TMPDIR,"
    );
    println!(
        "  PANE_RELEASES_URL and PANE_RELEASES_API_URL (that server), PANE_TEST_PUBKEY (the key above)"
    );
    println!("  and PANE_NO_UPDATE_CHECK=1; `pane` is ~/.local/bin/pane, where install.sh put it");
    Ok(install_sh)
}

/// What a finished child process did.
struct Outcome {
    /// `None`: killed by a signal, timed out, or never started.
    code: Option<i32>,
    /// stdout and stderr, interleaved as written.
    output: String,
    /// Why it has no exit code, if it has none.
    problem: Option<String>,
    elapsed: Duration,
}

struct StepResult {
    title: String,
    ok: bool,
    verdict: String,
}

/// What a step's check sees after the command ran.
type Check<'a> = Box<dyn Fn(&Outcome, &Demo) -> std::result::Result<String, String> + 'a>;

struct Demo {
    sandbox: Sandbox,
    /// The sandbox's environment as it was with the server running: the
    /// server's URLs stay when it is stopped, so rollback finds nothing there.
    env: Vec<(String, OsString)>,
    results: Vec<StepResult>,
}

impl Demo {
    /// The nine steps, in order.
    fn steps(&mut self, install_sh: &Path) {
        self.install_and_update(install_sh);
        self.pin_roll_back_and_uninstall();
    }

    /// install.sh, `--version`, `self check`, `self update`.
    fn install_and_update(&mut self, install_sh: &Path) {
        let target = host_target();
        let key_line = self.sandbox.key.public_key_line();
        let mut install = self.command("sh");
        install
            .arg(install_sh)
            .env("PANE_VERSION", FIRST)
            .env("PANE_INSTALL_PUBKEY", &key_line)
            // install.sh picks the musl build on Linux; these are host builds.
            .env("PANE_TARGET", target);
        self.step(
            &format!("install pane {FIRST} with install.sh"),
            &format!(
                "PANE_VERSION={FIRST} PANE_INSTALL_PUBKEY={key_line} PANE_TARGET={target} sh install.sh"
            ),
            install,
            0,
            Box::new(|_, demo| {
                demo.expect_state(FIRST, None)?;
                Ok(format!("pane {FIRST} installed at ~/.local/bin/pane"))
            }),
        );

        self.pane_step(
            "the installed version",
            &["--version"],
            0,
            Box::new(|outcome, _| {
                let expected = format!("pane {FIRST}");
                if outcome.output.trim() == expected {
                    Ok(format!("says `{expected}`"))
                } else {
                    Err(format!("expected `{expected}`"))
                }
            }),
        );

        self.pane_step(
            "check for an update",
            &["self", "check"],
            10,
            Box::new(|outcome, demo| {
                if !outcome.output.contains(LATEST) {
                    return Err(format!("the output does not name {LATEST}"));
                }
                demo.expect_state(FIRST, None)?;
                Ok(format!("{LATEST} is available; nothing installed"))
            }),
        );

        self.pane_step(
            "update to the latest release",
            &["self", "update"],
            0,
            Box::new(|_, demo| {
                demo.expect_state(LATEST, None)?;
                Ok(format!("{FIRST} → {LATEST}"))
            }),
        );
    }

    /// `self pin`, `self update` held by the pin, `self rollback` with the
    /// server stopped, `self status`, `self uninstall`.
    fn pin_roll_back_and_uninstall(&mut self) {
        self.pane_step(
            &format!("pin to {MIDDLE}"),
            &["self", "pin", MIDDLE],
            0,
            Box::new(|_, demo| {
                demo.expect_state(MIDDLE, Some(MIDDLE))?;
                Ok(format!("{LATEST} → {MIDDLE}, pinned"))
            }),
        );

        self.pane_step(
            "update while pinned",
            &["self", "update"],
            0,
            Box::new(|_, demo| {
                demo.expect_state(MIDDLE, Some(MIDDLE))?;
                Ok(format!("held at {MIDDLE} by the pin"))
            }),
        );

        // Rollback must not need the network: take the server away first.
        if let Some(server) = self.sandbox.server.take() {
            let url = server.releases_url();
            drop(server);
            println!();
            println!("── the release server is stopped: nothing answers at {url} now");
        }
        self.pane_step(
            "roll back, offline",
            &["self", "rollback"],
            0,
            Box::new(|_, demo| {
                demo.expect_state(LATEST, Some(LATEST))?;
                Ok(format!("{MIDDLE} → {LATEST} with no server, pinned"))
            }),
        );

        self.pane_step(
            "status",
            &["self", "status"],
            0,
            Box::new(|outcome, demo| {
                demo.expect_state(LATEST, Some(LATEST))?;
                let first_line = outcome.output.lines().next().unwrap_or_default();
                if !first_line.contains(&format!("pane {LATEST}")) {
                    return Err(format!("its first line does not say pane {LATEST}"));
                }
                Ok(format!("reports {LATEST}, pinned, with kept versions"))
            }),
        );

        self.pane_step(
            "uninstall",
            &["self", "uninstall", "--yes"],
            0,
            Box::new(|_, demo| {
                let left: Vec<String> = demo
                    .sandbox
                    .files_in_home()
                    .iter()
                    .map(|file| format!("~/{}", file.display()))
                    .collect();
                if left.is_empty() {
                    Ok("no file left in ~ (binary, data, profile lines all gone)".into())
                } else {
                    Err(format!("left behind: {}", left.join(", ")))
                }
            }),
        );
    }

    /// A step running the installed pane, shown as `pane ARGS`.
    fn pane_step(&mut self, title: &str, args: &[&str], expected: i32, check: Check<'_>) {
        let mut command = self.command(self.sandbox.install_path());
        command.args(args);
        let display = format!("pane {}", args.join(" "));
        self.step(title, &display, command, expected, check);
    }

    fn step(
        &mut self,
        title: &str,
        display: &str,
        command: Command,
        expected: i32,
        check: Check<'_>,
    ) {
        let n = self.results.len() + 1;
        println!();
        println!(
            "── {n}. {title} {}",
            "─".repeat(60usize.saturating_sub(title.len()))
        );
        println!("$ {display}");
        flush();
        let outcome = run_captured(command, STEP_TIMEOUT, true);
        for line in self.show(&outcome.output).lines() {
            println!("  │ {line}");
        }
        let verdict = match (outcome.code, &outcome.problem) {
            (_, Some(problem)) => Err(problem.clone()),
            (Some(code), None) if code != expected => {
                Err(format!("exit {code}, expected {expected}"))
            }
            (Some(_), None) => check(&outcome, self)
                .map_err(|why| format!("exit {expected} as expected, but {why}")),
            (None, None) => Err("no exit status".into()),
        };
        let (ok, verdict) = match verdict {
            Ok(what) => (true, format!("exit {expected} as expected: {what}")),
            Err(why) => (false, why),
        };
        println!("  {} {verdict} ({})", mark(ok), seconds(outcome.elapsed));
        flush();
        self.results.push(StepResult {
            title: title.to_string(),
            ok,
            verdict,
        });
    }

    /// `program` with an empty environment but for [`Demo::env`], in
    /// `HOME`. (`env_clear` drops variables set before it, so it comes first.)
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().current_dir(&self.sandbox.home);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Reads the installed state back with `pane self status --json` and
    /// compares the version and the pin.
    fn expect_state(&self, version: &str, pin: Option<&str>) -> std::result::Result<(), String> {
        let pane = self.sandbox.install_path();
        if !pane.is_file() {
            return Err("~/.local/bin/pane does not exist".into());
        }
        let mut command = self.command(&pane);
        command.args(["self", "status", "--json"]);
        let outcome = run_captured_stdout(command);
        let status: serde_json::Value = serde_json::from_str(&outcome)
            .map_err(|e| format!("`pane self status --json` gave no JSON ({e})"))?;
        let installed = status["version"].as_str().unwrap_or("none");
        if installed != version {
            return Err(format!("pane {installed} is installed, not {version}"));
        }
        let actual_pin = status["pin"].as_str();
        if actual_pin != pin {
            return Err(format!(
                "the pin is {}, not {}",
                actual_pin.unwrap_or("none"),
                pin.unwrap_or("none")
            ));
        }
        let mut command = self.command(&pane);
        command.arg("--version");
        let says = run_captured_stdout(command);
        if says.trim() != format!("pane {version}") {
            return Err(format!(
                "the receipt says {version}, but the binary says {:?}",
                says.trim()
            ));
        }
        Ok(())
    }

    /// Output as shown: the throwaway HOME as `~`.
    fn show(&self, text: &str) -> String {
        let mut text = text.to_string();
        let mut homes = vec![self.sandbox.home.clone()];
        if let Ok(canonical) = self.sandbox.home.canonicalize() {
            homes.push(canonical);
        }
        for home in homes {
            text = text.replace(&home.display().to_string(), "~");
        }
        text
    }
}

/// Runs `command` with stdin empty and stdout and stderr (or only stdout,
/// without `with_stderr`) on one pipe, killing it after `timeout`.
fn run_captured(mut command: Command, timeout: Duration, with_stderr: bool) -> Outcome {
    let started = Instant::now();
    let failed = |problem: String| Outcome {
        code: None,
        output: String::new(),
        problem: Some(problem),
        elapsed: started.elapsed(),
    };
    let (mut reader, writer) = match std::io::pipe() {
        Ok(pair) => pair,
        Err(e) => return failed(format!("cannot make a pipe: {e}")),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return failed(format!("cannot make a pipe: {e}")),
    };
    command.stdin(Stdio::null()).stdout(writer2);
    if with_stderr {
        command.stderr(writer);
    } else {
        drop(writer);
        command.stderr(Stdio::null());
    }
    let program = command.get_program().to_string_lossy().into_owned();
    let spawned = command.spawn();
    // The command holds our copies of the pipe's write end: without dropping
    // it, the reader would never see the end of the output.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return failed(format!("cannot run {program}: {e}")),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    let deadline = started + timeout;
    let (code, problem) = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt as _;
                break match (status.code(), status.signal()) {
                    (Some(code), _) => (Some(code), None),
                    (None, Some(signal)) => (None, Some(format!("killed by signal {signal}"))),
                    (None, None) => (None, Some("no exit status".into())),
                };
            }
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break (
                    None,
                    Some(format!(
                        "still running after {}s: killed",
                        timeout.as_secs()
                    )),
                );
            }
            Err(e) => break (None, Some(format!("cannot wait for {program}: {e}"))),
        }
    };
    // A grandchild still holding the pipe must not hang the demo.
    let bytes = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    Outcome {
        code,
        output: String::from_utf8_lossy(&bytes).into_owned(),
        problem,
        elapsed: started.elapsed(),
    }
}

/// stdout of a quick command run only to look at the state (stderr dropped).
fn run_captured_stdout(command: Command) -> String {
    run_captured(command, Duration::from_secs(30), false).output
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn show_path(path: &Path) -> String {
    let root = crate::workspace::root();
    match path.strip_prefix(&root) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

fn flush() {
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_interleaved_and_the_exit_code_kept() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; echo out again; exit 3"]);
        let outcome = run_captured(command, Duration::from_secs(30), true);
        assert_eq!(outcome.code, Some(3));
        assert_eq!(outcome.output, "out\nerr\nout again\n");
        assert!(outcome.problem.is_none());

        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2"]);
        let outcome = run_captured(command, Duration::from_secs(30), false);
        assert_eq!((outcome.code, outcome.output.as_str()), (Some(0), "out\n"));
    }

    #[test]
    fn a_hung_step_is_killed_and_reported() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let outcome = run_captured(command, Duration::from_millis(200), true);
        assert_eq!(outcome.code, None);
        assert!(
            outcome
                .problem
                .as_deref()
                .unwrap_or_default()
                .contains("killed"),
            "{:?}",
            outcome.problem
        );
        assert!(outcome.elapsed < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_a_failed_step_not_a_panic() {
        let command = Command::new("/nonexistent/pane-demo-program");
        let outcome = run_captured(command, Duration::from_secs(5), true);
        assert_eq!(outcome.code, None);
        assert!(outcome.problem.unwrap().contains("cannot run"));
    }
}
