//! `cargo xtask drill`: a rehearsal of a bad release on a fleet of real
//! installations, in simulated time.
//!
//! The drill builds pane at four versions (the `drill` cargo profile: debug
//! assertions, so `PANE_TEST_NOW` and the test keys are honoured, without
//! debug info), serves them from a local mirror ([`crate::server`]), and
//! installs a fleet in throwaway homes under one temporary directory, each
//! with the real `pane self install`. It then drives simulated time
//! (`PANE_TEST_NOW`) through the incident:
//!
//! | hour | what the maintainers do |
//! | --- | --- |
//! | 0 | release 1.2.0, rolled out over 48 hours (`cargo xtask channel rollout`) |
//! | 6 | a user reports that 1.2.0 is bad |
//! | 6.25 | withdraw 1.2.0, replacement 1.1.3 (`cargo xtask channel withdraw`) |
//! | 20 | release 1.2.1, the fix, marked critical (`cargo xtask channel critical`) |
//!
//! Usage model: each installation runs pane as a Poisson process whose mean
//! interval is drawn from 1, 8 and 48 hours. Each run is a user's bare `pane`
//! with `PANE_FORCE_NOTICE=1` (its notice captured from stderr), preceded,
//! when due, by the installation's scheduled background check
//! (`pane self background-check`, run synchronously: once a day under
//! `notify`, once an hour under `auto`, never under `off`). A `notify`
//! user who is shown a notice acts on it (`pane self update`) with
//! probability one half. Some users (`notify` and `auto`) ask for the rolling-out release
//! at once (`pane self update --now`). Every action is a real pane process
//! against the mirror; after each, `pane self status --json` is read, and
//! every figure and check below comes from those answers and from the
//! receipts, not from the drill's own plan. A seed fixes the fleet, the
//! schedule and the rollout numbers (written into each installation's
//! channel state before its first contact, and read back from `status`).
//!
//! The drill prints the fleet, a table of how many installations run each
//! version at each hour, writes an SVG chart of the same, and checks:
//!
//! 1. no installation whose rollout number was above the elapsed fraction
//!    ran 1.2.0 unless it asked for it explicitly;
//! 2. every `auto` installation that runs pane at least every two hours is
//!    off 1.2.0 within four hours of the withdrawal (and the longest time any
//!    `auto` installation spent on 1.2.0 is printed);
//! 3. every `notify` installation on 1.2.0 is shown the withdrawal, with its
//!    reason, on its first run after its background check learned of it;
//! 4. pinned and `off` installations are untouched, and every installation's
//!    binary, kept versions and receipt agree at the end.
//!
//! Two inputs of the checks are the scenario's, not measurements: which
//! users asked for 1.2.0 explicitly (`update --now`), and which ran pane at
//! least every two hours around the withdrawal (their scheduled runs from
//! the last before the withdrawal to the first four hours after it). What
//! each installation ran, when it learned of the withdrawal, what it was
//! told, and its rollout number come from pane. An installation counts as
//! on 1.2.0 from the first `status` that says so; the rollout check compares
//! its number with the elapsed fraction at that moment, after the install.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::channel::{self as channel_doc, Action};
use crate::chaos::Rng;
use crate::error::{Context, Result};
use crate::fixtures::{try_build_pane, Release, Run, TestKey};
use crate::sandbox::pane_env as sandbox_env;
use crate::server::Server;

/// The cargo profile the fleet's binaries are built with.
pub const PROFILE: &str = "drill";

pub const OLD: &str = "1.1.2";
pub const GOOD: &str = "1.1.3";
pub const BAD: &str = "1.2.0";
pub const FIX: &str = "1.2.1";
pub const VERSIONS: [&str; 4] = [OLD, GOOD, BAD, FIX];

/// The incident's timeline, in hours from the release of 1.2.0.
pub const ROLLOUT_HOURS: f64 = 48.0;
pub const REPORT_AT: f64 = 6.0;
pub const WITHDRAW_AT: f64 = 6.25;
pub const FIX_AT: f64 = 20.0;
pub const END: f64 = 30.0;
pub const SHORT_END: f64 = 26.0;
pub const REASON: &str = "corrupts config files on save";

/// Mean intervals between a user's runs, in hours.
pub const MEAN_INTERVALS: [f64; 3] = [1.0, 8.0, 48.0];
/// How often the background check runs, by policy.
pub const NOTIFY_CHECK_HOURS: f64 = 24.0;
pub const AUTO_CHECK_HOURS: f64 = 1.0;
/// The chance that a `notify` user acts on a notice with `pane self update`.
pub const ACT_ON_NOTICE: f64 = 0.5;
/// Check 2's bounds.
pub const AUTO_EVERY_HOURS: f64 = 2.0;
pub const AUTO_OFF_WITHIN_HOURS: f64 = 4.0;

/// `cargo xtask drill`'s arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Installations in the fleet (default: 200; 12 with --short)
    #[arg(long)]
    pub fleet: Option<usize>,
    /// Seed of the fleet, the usage schedule and the rollout numbers
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// A small, quicker drill: 12 installations, ending at hour 26
    #[arg(long)]
    pub short: bool,
    /// pane processes run at once (1 to 4)
    #[arg(long, default_value_t = 3)]
    pub threads: usize,
    /// Where the table and the chart go (default: target/drill)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep the fleet's homes and the mirror after the run
    #[arg(long)]
    pub keep: bool,
    /// The cargo profile of the fleet's binaries (any with debug assertions;
    /// the test suite's short drill shares the `dev` builds of the other tests)
    #[arg(long, default_value = PROFILE)]
    pub profile: String,
}

impl Options {
    pub fn fleet_size(&self) -> usize {
        self.fleet.unwrap_or(if self.short { 12 } else { 200 })
    }

    pub fn end(&self) -> f64 {
        if self.short {
            SHORT_END
        } else {
            END
        }
    }
}

/// The update policy an installation is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    Notify,
    Auto,
    Off,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Notify => "notify",
            Policy::Auto => "auto",
            Policy::Off => "off",
        }
    }

    fn check_hours(self) -> Option<f64> {
        match self {
            Policy::Notify => Some(NOTIFY_CHECK_HOURS),
            Policy::Auto => Some(AUTO_CHECK_HOURS),
            Policy::Off => None,
        }
    }
}

/// One installation as planned: the input of the drill, never its measure.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub policy: Policy,
    /// Set with `pane self config updates` (else the default, or `PANE_UPDATES`).
    pub policy_by_config: bool,
    pub version: &'static str,
    pub pin: Option<&'static str>,
    pub mean_hours: f64,
    pub rollout_number: f64,
    /// When the installation was made (and first checked), hours (negative).
    pub installed_at: f64,
    /// `pane self update --now` at this hour.
    pub eager_at: Option<f64>,
    /// The user's runs, in hours.
    pub runs: Vec<f64>,
    /// Seed of this user's choices.
    pub seed: u64,
}

/// The fleet's composition repeats every 12 installations, so every kind is
/// present even in a short drill; versions, intervals, rollout numbers and
/// schedules are drawn from the seed.
fn kind(index: usize) -> (Policy, bool, &'static str, Option<&'static str>, bool) {
    // (policy, set with `self config`, version, pin, eager)
    match index % 12 {
        0 => (Policy::Notify, false, GOOD, None, false),
        1 => (Policy::Auto, true, GOOD, None, false),
        2 => (Policy::Auto, true, GOOD, None, true),
        3 => (Policy::Notify, true, OLD, None, false),
        4 => (Policy::Off, true, GOOD, None, false),
        5 => (Policy::Auto, false, OLD, None, false),
        6 => (Policy::Notify, true, GOOD, Some(GOOD), false),
        7 => (Policy::Auto, false, GOOD, None, true),
        8 => (Policy::Notify, false, GOOD, None, true),
        9 => (Policy::Auto, true, GOOD, Some("~1.1"), false),
        10 => (Policy::Notify, true, GOOD, None, false),
        _ => (Policy::Off, false, OLD, None, false),
    }
}

/// The fleet for a seed.
pub fn plan_fleet(size: usize, seed: u64, end: f64) -> Vec<Plan> {
    let mut rng = Rng::new(seed);
    (0..size)
        .map(|index| {
            let (policy, policy_by_config, version, pin, eager) = kind(index);
            let mean_hours = MEAN_INTERVALS[(rng.next_u64() % 3) as usize];
            let rollout_number = rng.unit();
            let spread = policy.check_hours().unwrap_or(NOTIFY_CHECK_HOURS);
            let installed_at = -(0.5 + rng.unit() * (spread - 0.5));
            let eager_at = eager.then(|| 1.0 + rng.unit() * 4.0);
            let mut runs = Vec::new();
            let mut t = 0.0;
            loop {
                t += -mean_hours * (1.0 - rng.unit()).ln();
                if t >= end {
                    break;
                }
                runs.push(t);
            }
            Plan {
                index,
                policy,
                policy_by_config,
                version,
                pin,
                mean_hours,
                rollout_number,
                installed_at,
                eager_at,
                runs,
                seed: rng.next_u64(),
            }
        })
        .collect()
}

/// What happened at one step of an installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Install,
    Check,
    Eager,
    Run,
    Update,
}

/// `pane self status --json` after a step, with that step's output.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub at: f64,
    pub step: Step,
    /// The step's exit code and stderr (the notice, for a run).
    pub code: Option<i32>,
    pub stderr: String,
    pub status: Value,
}

impl Snapshot {
    pub fn version(&self) -> Option<&str> {
        self.status["version"].as_str()
    }

    fn withdrawn_known(&self) -> bool {
        !self.status["channel"]["withdrawn_installed"].is_null()
    }

    fn notice_text(&self) -> String {
        let mut text = self.stderr.clone();
        if let Some(last) = self.status["last_notice"]["text"].as_str() {
            text.push('\n');
            text.push_str(last);
        }
        text
    }
}

/// One installation as it went.
#[derive(Debug)]
pub struct Installation {
    pub plan: Plan,
    pub home: PathBuf,
    pub snapshots: Vec<Snapshot>,
    /// pane processes that failed (command, output).
    pub failures: Vec<String>,
    last_check: f64,
    rng: Rng,
}

impl Installation {
    fn last_version_at(&self, at: f64) -> Option<&str> {
        self.snapshots
            .iter()
            .rev()
            .find(|s| s.at <= at && s.version().is_some())
            .and_then(Snapshot::version)
    }

    fn last_status(&self) -> Option<&Value> {
        self.snapshots.last().map(|s| &s.status)
    }

    fn reported_policy(&self) -> Option<&str> {
        self.last_status()
            .and_then(|s| s["policy"]["updates"].as_str())
    }

    fn reported_pin(&self) -> Option<&str> {
        self.last_status().and_then(|s| s["pin"].as_str())
    }

    fn reported_rollout_number(&self) -> Option<f64> {
        self.snapshots
            .iter()
            .rev()
            .find_map(|s| s.status["rollout"]["number"].as_f64())
    }
}

/// The outcome of one check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// What a drill measured.
#[derive(Debug)]
pub struct Report {
    pub seed: u64,
    pub fleet: usize,
    pub processes: usize,
    pub failed_processes: usize,
    pub table: String,
    pub chart: PathBuf,
    pub table_path: PathBuf,
    pub checks: Vec<CheckResult>,
    pub summary: String,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// The mirror, keys and clock the fleet shares.
struct World {
    base: i64,
    mirror: PathBuf,
    release_key: TestKey,
    channel_key: TestKey,
    server: Server,
    binaries: BTreeMap<&'static str, PathBuf>,
    processes: AtomicUsize,
}

impl World {
    fn now(&self, hours: f64) -> i64 {
        self.base + (hours * 3600.0).round() as i64
    }

    fn publish_release(&self, version: &str) -> Result<()> {
        Release::new(version)
            .binary(&self.binaries[version])
            .try_write(&self.mirror, &self.release_key)
            .map(drop)
    }

    fn channel(&self, hours: f64, action: Action) -> Result<u64> {
        let releases = channel_doc::release_keys(&[self.release_key.pub_path()])?;
        let document = channel_doc::publish(
            &self.mirror,
            &action,
            self.channel_key.secret_key(),
            None,
            &releases,
            self.now(hours) as u64,
            14,
        )?;
        Ok(document["serial"].as_u64().unwrap_or_default())
    }

    /// A pane process of installation `home` at simulated `hours`.
    fn command(&self, exe: &Path, home: &Path, hours: f64) -> Command {
        let mut command = Command::new(exe);
        command
            .env_clear()
            .envs(
                sandbox_env(home, &self.release_key, Some(&self.server))
                    .into_iter()
                    .filter(|(name, _)| *name != "PANE_NO_UPDATE_CHECK"),
            )
            .env(
                "PANE_TEST_CHANNEL_PUBKEY",
                self.channel_key.public_key_line(),
            )
            .env(
                "PANE_TEST_NOW",
                channel_doc::rfc3339(self.now(hours) as u64),
            )
            .env("PANE_TEST_NO_SPAWN", "1")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("PANE_HTTP_TIMEOUT", "20")
            .env("PANE_LOCK_TIMEOUT", "120")
            .current_dir(home)
            .stdin(Stdio::null());
        command
    }

    fn run(
        &self,
        exe: &Path,
        home: &Path,
        hours: f64,
        args: &[&str],
        notice: bool,
        policy_env: Option<&str>,
    ) -> Result<Run> {
        let mut command = self.command(exe, home, hours);
        command.args(args);
        if let Some(policy) = policy_env {
            command.env("PANE_UPDATES", policy);
        }
        if notice {
            command.env("PANE_FORCE_NOTICE", "1");
        }
        self.processes.fetch_add(1, Ordering::Relaxed);
        let output = command
            .output()
            .with_context(|| format!("cannot run {} {}", exe.display(), args.join(" ")))?;
        Ok(Run::from(output))
    }
}

fn install_path(home: &Path) -> PathBuf {
    home.join(".local/bin/pane")
}

fn data_dir(home: &Path) -> PathBuf {
    home.join(".local/share/pane")
}

impl Installation {
    /// Runs `pane ARGS` (the installed one) and then `status --json`,
    /// recording both.
    fn step(&mut self, world: &World, hours: f64, step: Step, args: &[&str], notice: bool) -> Run {
        let exe = install_path(&self.home);
        let run = match world.run(&exe, &self.home, hours, args, notice, self.policy_env()) {
            Ok(run) => run,
            Err(error) => Run {
                code: None,
                signal: None,
                stdout: String::new(),
                stderr: format!("{error:#}"),
            },
        };
        let clean = match step {
            Step::Run => run.code == Some(0),
            // `update` may refuse (a rollout not reached, a withdrawal); it
            // must not crash.
            _ => run.code.is_some() && !run.stderr.contains("panicked"),
        };
        if !clean || run.stderr.contains("panicked") {
            self.failures.push(format!(
                "pane {} at hour {hours:.2}:\n{run}",
                args.join(" ")
            ));
        }
        self.snapshot(world, hours, step, &run);
        run
    }

    fn snapshot(&mut self, world: &World, hours: f64, step: Step, run: &Run) {
        let exe = install_path(&self.home);
        let status = match world.run(
            &exe,
            &self.home,
            hours,
            &["self", "status", "--json"],
            false,
            self.policy_env(),
        ) {
            Ok(status) if status.code == Some(0) => {
                serde_json::from_str(&status.stdout).unwrap_or(Value::Null)
            }
            Ok(status) => {
                self.failures.push(format!(
                    "pane self status --json at hour {hours:.2}:\n{status}"
                ));
                Value::Null
            }
            Err(error) => {
                self.failures.push(format!("{error:#}"));
                Value::Null
            }
        };
        self.snapshots.push(Snapshot {
            at: hours,
            step,
            code: run.code,
            stderr: run.stderr.clone(),
            status,
        });
    }

    /// `PANE_UPDATES` on every command of an installation whose policy is
    /// not set with `pane self config` (nothing for the default, `notify`).
    fn policy_env(&self) -> Option<&'static str> {
        (!self.plan.policy_by_config && self.plan.policy != Policy::Notify)
            .then(|| self.plan.policy.name())
    }

    /// `pane self install` and the set-up of policy, pin and rollout number.
    fn install(&mut self, world: &World) -> Result<()> {
        let at = self.plan.installed_at;
        std::fs::create_dir_all(&self.home)
            .with_context(|| format!("cannot create {}", self.home.display()))?;
        let fixture = &world.binaries[self.plan.version];
        let run = world.run(
            fixture,
            &self.home,
            at,
            &["self", "install", "--no-modify-path"],
            false,
            self.policy_env(),
        )?;
        if run.code != Some(0) {
            crate::bail!(
                "pane self install failed in {}:\n{run}",
                self.home.display()
            );
        }
        seed_rollout_number(&self.home, self.plan.rollout_number)?;
        if self.plan.policy_by_config {
            let policy = self.plan.policy.name();
            self.step(
                world,
                at,
                Step::Install,
                &["self", "config", "updates", policy],
                false,
            );
        }
        if let Some(pin) = self.plan.pin {
            self.step(world, at, Step::Install, &["self", "pin", pin], false);
        }
        self.last_check = at;
        if self.plan.policy != Policy::Off {
            self.step(world, at, Step::Check, &["self", "background-check"], false);
        } else {
            self.snapshot(world, at, Step::Install, &run);
        }
        Ok(())
    }

    /// Everything this installation does in `[from, to)`.
    fn advance(&mut self, world: &World, from: f64, to: f64) {
        let mut events: Vec<(f64, bool)> = self
            .plan
            .runs
            .iter()
            .map(|t| (*t, false))
            .chain(self.plan.eager_at.map(|t| (t, true)))
            .filter(|(t, _)| *t >= from && *t < to)
            .collect();
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, eager) in events {
            if eager {
                // The eager user's own request for the rolling-out release.
                self.step(world, at, Step::Eager, &["self", "update", "--now"], false);
                continue;
            }
            if let Some(every) = self.plan.policy.check_hours() {
                if at - self.last_check >= every {
                    self.last_check = at;
                    self.step(world, at, Step::Check, &["self", "background-check"], false);
                }
            }
            let run = self.step(world, at, Step::Run, &[], true);
            let shown = ["available", "withdrawn", "critical"]
                .iter()
                .any(|word| run.stderr.contains(word));
            if shown && self.plan.policy == Policy::Notify && self.rng.unit() < ACT_ON_NOTICE {
                self.step(world, at, Step::Update, &["self", "update"], false);
            }
        }
    }
}

/// Puts the seeded rollout number into the installation's channel state
/// (`<data dir>/channel-state.json`), keeping whatever else is there.
fn seed_rollout_number(home: &Path, number: f64) -> Result<()> {
    let path = data_dir(home).join("channel-state.json");
    let mut state: Value = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({ "schema": 1 }));
    state["rollout_number"] = serde_json::json!(number);
    std::fs::create_dir_all(data_dir(home))
        .with_context(|| format!("cannot create {}", data_dir(home).display()))?;
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&state).expect("JSON values serialize"),
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// Waits until no process runs a binary under `homes` (a background check
/// that a user's run spawned detached), and says how many there were.
fn wait_for_detached(homes: &Path) -> usize {
    let prefix = homes.to_string_lossy().into_owned();
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let running: Vec<u32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|exe| exe.to_string_lossy().starts_with(&prefix))
            })
            .collect();
        if running.is_empty() || Instant::now() > deadline {
            return seen.len();
        }
        seen.extend(running);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Runs `work` for every installation on `threads` threads.
fn parallel(
    fleet: &[Mutex<Installation>],
    threads: usize,
    work: &(dyn Fn(&mut Installation) + Sync),
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, 4) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = fleet.get(index) else {
                    break;
                };
                let mut installation = slot.lock().unwrap_or_else(|e| e.into_inner());
                work(&mut installation);
            });
        }
    });
}

/// Runs a drill. Progress goes to `log`; the report holds the figures.
pub fn run(options: &Options, log: &mut dyn std::io::Write) -> Result<Report> {
    let started = Instant::now();
    let size = options.fleet_size();
    let end = options.end();
    let plans = plan_fleet(size, options.seed, end);
    let out_dir = match &options.out {
        Some(dir) => dir.clone(),
        None => crate::workspace::root().join("target").join("drill"),
    };
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;

    let _ = writeln!(
        log,
        "drill: seed {} (repeat with --seed {0}), {size} installations",
        options.seed
    );
    let _ = writeln!(log, "{}", model_text(end));
    let _ = writeln!(
        log,
        "building pane {} (profile `{}`)…",
        VERSIONS.join(", "),
        options.profile
    );
    let mut binaries = BTreeMap::new();
    for version in VERSIONS {
        binaries.insert(version, try_build_pane(version, &options.profile)?);
    }

    let scratch = tempfile::Builder::new()
        .prefix("pane-drill-")
        .tempdir()
        .context("cannot make a temporary directory")?;
    let mirror = scratch.path().join("mirror");
    std::fs::create_dir_all(&mirror)
        .with_context(|| format!("cannot create {}", mirror.display()))?;
    let server = Server::start(&mirror)?;
    // Hour 0 is a whole hour, 26 hours ahead of the real clock: the earliest
    // installation (24 hours before hour 0) still comes after the real time
    // at which the releases were signed.
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let world = World {
        base: (real / 3600 + 26) * 3600,
        mirror,
        release_key: TestKey::try_generate()?,
        channel_key: TestKey::try_generate()?,
        server,
        binaries,
        processes: AtomicUsize::new(0),
    };
    let _ = writeln!(
        log,
        "hour 0 is {}; fleet in {}",
        channel_doc::rfc3339(world.base as u64),
        scratch.path().display()
    );
    world.publish_release(OLD)?;
    world.publish_release(GOOD)?;

    let homes = scratch.path().join("homes");
    let fleet: Vec<Mutex<Installation>> = plans
        .into_iter()
        .map(|plan| {
            Mutex::new(Installation {
                home: homes.join(format!("{:03}", plan.index)),
                rng: Rng::new(plan.seed),
                plan,
                snapshots: Vec::new(),
                failures: Vec::new(),
                last_check: f64::NEG_INFINITY,
            })
        })
        .collect();

    let _ = writeln!(log, "installing {size} installations…");
    let install_errors = Mutex::new(Vec::new());
    parallel(&fleet, options.threads, &|installation| {
        if let Err(error) = installation.install(&world) {
            installation.failures.push(format!("{error:#}"));
            install_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{error:#}"));
        }
    });
    let install_errors = install_errors.into_inner().unwrap_or_default();
    if install_errors.len() == size {
        crate::bail!("no installation could be made:\n{}", install_errors[0]);
    }

    // The maintainers' actions, in order.
    let mut serials = BTreeMap::new();
    let mut detached = wait_for_detached(&homes);
    let mut actions: Vec<(f64, &str)> = vec![
        (0.0, "release 1.2.0, 48-hour rollout"),
        (REPORT_AT, "bad report on 1.2.0"),
        (WITHDRAW_AT, "withdraw 1.2.0 (replacement 1.1.3)"),
        (FIX_AT, "release 1.2.1, critical"),
    ];
    actions.retain(|(at, _)| *at < end);
    let mut boundaries: Vec<f64> = (0..=end.ceil() as i64).map(|h| h as f64).collect();
    boundaries.push(WITHDRAW_AT);
    boundaries.push(end);
    boundaries.sort_by(f64::total_cmp);
    boundaries.dedup();
    for window in boundaries.windows(2) {
        let (from, to) = (window[0], window[1]);
        for (at, what) in actions.iter().filter(|(at, _)| *at == from) {
            let _ = writeln!(log, "hour {at:>5.2}: {what}");
            match *what {
                w if w.starts_with("release 1.2.0") => {
                    world.publish_release(BAD)?;
                    let serial = world.channel(
                        *at,
                        Action::Rollout {
                            version: BAD.into(),
                            hours: ROLLOUT_HOURS,
                            start: Some(channel_doc::rfc3339(world.now(*at) as u64)),
                        },
                    )?;
                    serials.insert("rollout", serial);
                }
                w if w.starts_with("withdraw") => {
                    let serial = world.channel(
                        *at,
                        Action::Withdraw {
                            version: BAD.into(),
                            replacement: GOOD.into(),
                            reason: REASON.into(),
                            targets: Vec::new(),
                        },
                    )?;
                    serials.insert("withdraw", serial);
                }
                w if w.starts_with("release 1.2.1") => {
                    world.publish_release(FIX)?;
                    let serial = world.channel(
                        *at,
                        Action::Critical {
                            version: FIX.into(),
                        },
                    )?;
                    serials.insert("critical", serial);
                }
                _ => {}
            }
        }
        let before = world.processes.load(Ordering::Relaxed);
        parallel(&fleet, options.threads, &|installation| {
            installation.advance(&world, from, to);
        });
        // A background check pane spawned itself (detached) must finish
        // before simulated time moves on.
        detached += wait_for_detached(&homes);
        let counts = version_counts(&fleet, to - 1e-9);
        let _ = writeln!(
            log,
            "hour {from:>5.2}-{to:>5.2}: {:>5} processes; {} ({:.0?})",
            world.processes.load(Ordering::Relaxed) - before,
            counts
                .iter()
                .map(|(v, n)| format!("{v}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed()
        );
    }

    let fleet: Vec<Installation> = fleet
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let final_state: Vec<Result<String>> = fleet.iter().map(|i| consistent(&i.home)).collect();

    let table = hour_table(&fleet, end);
    let table_path = out_dir.join(format!("drill-{}.txt", options.seed));
    std::fs::write(&table_path, &table)
        .with_context(|| format!("cannot write {}", table_path.display()))?;
    let chart = out_dir.join(format!("drill-{}.svg", options.seed));
    std::fs::write(&chart, svg_chart(&fleet, end))
        .with_context(|| format!("cannot write {}", chart.display()))?;

    let checks = checks(&fleet, &final_state);
    let failed_processes = fleet.iter().map(|i| i.failures.len()).sum();
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "drill: seed {}, {} installations ({}), {} pane processes ({} failed), {:.0?}",
        options.seed,
        fleet.len(),
        fleet_mix(&fleet),
        world.processes.load(Ordering::Relaxed),
        failed_processes,
        started.elapsed()
    );
    let _ = writeln!(
        summary,
        "channel serials: {serials:?}; background checks pane spawned itself (detached): {detached}"
    );
    let _ = writeln!(
        summary,
        "fleet on disk at the end: {:.0} MiB (hard links counted once); fixture binary of 1.2.0: {:.1} MiB",
        disk_usage(&homes) as f64 / (1 << 20) as f64,
        std::fs::metadata(&world.binaries[BAD]).map_or(0, |m| m.len()) as f64 / (1 << 20) as f64
    );
    let _ = writeln!(summary, "{}", still_on_bad(&fleet));
    for check in &checks {
        let _ = writeln!(
            summary,
            "[{}] {}: {}",
            if check.passed { "ok" } else { "FAIL" },
            check.name,
            check.detail
        );
    }
    let _ = writeln!(summary, "table: {}", table_path.display());
    let _ = writeln!(summary, "chart: {}", chart.display());

    if failed_processes > 0 {
        let _ = writeln!(log, "first failures:");
        for failure in fleet.iter().flat_map(|i| i.failures.iter()).take(3) {
            let _ = writeln!(log, "{failure}");
        }
    }
    let report = Report {
        seed: options.seed,
        fleet: fleet.len(),
        processes: world.processes.load(Ordering::Relaxed),
        failed_processes,
        table,
        chart,
        table_path,
        checks,
        summary,
    };
    if options.keep || !report.passed() {
        let kept = scratch.keep();
        let _ = writeln!(
            log,
            "the fleet's homes and mirror are kept in {}",
            kept.display()
        );
    }
    Ok(report)
}

/// The model, as printed at the start.
pub fn model_text(end: f64) -> String {
    format!(
        "model: each installation runs pane as a Poisson process, mean interval drawn from {:?} hours; \
         before a run, its background check when due (notify: every {NOTIFY_CHECK_HOURS} h, auto: every {AUTO_CHECK_HOURS} h, off: never); \
         a notify user acts on a notice with probability {ACT_ON_NOTICE}; \
         timeline: 1.2.0 rolled out over {ROLLOUT_HOURS} h at hour 0, bad report at {REPORT_AT}, \
         withdrawal at {WITHDRAW_AT} (replacement 1.1.3), 1.2.1 critical at {FIX_AT}, end at {end}",
        MEAN_INTERVALS
    )
}

/// Bytes allocated under `dir`, each inode once.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.path().symlink_metadata() else {
                continue;
            };
            if seen.insert((metadata.dev(), metadata.ino())) {
                *total += metadata.blocks() * 512;
            }
            if metadata.is_dir() {
                walk(&entry.path(), seen, total);
            }
        }
    }
    let mut total = 0;
    walk(dir, &mut std::collections::HashSet::new(), &mut total);
    total
}

/// Who still runs 1.2.0 at the end, by policy, pin and usage (from status).
fn still_on_bad(fleet: &[Installation]) -> String {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for installation in fleet {
        let Some(last) = installation.snapshots.last() else {
            continue;
        };
        if last.version() != Some(BAD) {
            continue;
        }
        total += 1;
        let key = format!(
            "{}{}, runs every {} h on average",
            installation.reported_policy().unwrap_or("?"),
            if installation.reported_pin().is_some() {
                " pinned"
            } else {
                ""
            },
            installation.plan.mean_hours
        );
        *groups.entry(key).or_insert(0) += 1;
    }
    let groups: Vec<String> = groups.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "on 1.2.0 at the end: {total}{}{}",
        if groups.is_empty() { "" } else { ": " },
        groups.join("; ")
    )
}

fn fleet_mix(fleet: &[Installation]) -> String {
    let mut by_policy = BTreeMap::new();
    for installation in fleet {
        *by_policy
            .entry(installation.plan.policy.name())
            .or_insert(0) += 1;
    }
    let pinned = fleet.iter().filter(|i| i.plan.pin.is_some()).count();
    let eager = fleet.iter().filter(|i| i.plan.eager_at.is_some()).count();
    let mut text: Vec<String> = by_policy.iter().map(|(p, n)| format!("{n} {p}")).collect();
    text.push(format!("{pinned} pinned"));
    text.push(format!("{eager} asking for 1.2.0 early"));
    text.join(", ")
}

fn version_counts(fleet: &[Mutex<Installation>], at: f64) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for slot in fleet {
        let installation = slot.lock().unwrap_or_else(|e| e.into_inner());
        let version = installation.last_version_at(at).unwrap_or("?").to_string();
        *counts.entry(version).or_insert(0) += 1;
    }
    counts
}

fn counts_at(fleet: &[Installation], at: f64) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for installation in fleet {
        let version = installation.last_version_at(at).unwrap_or("?").to_string();
        *counts.entry(version).or_insert(0) += 1;
    }
    counts
}

fn all_versions(fleet: &[Installation]) -> Vec<String> {
    let mut versions: Vec<String> = VERSIONS.iter().map(|v| v.to_string()).collect();
    for installation in fleet {
        for snapshot in &installation.snapshots {
            if let Some(v) = snapshot.version() {
                if !versions.iter().any(|known| known == v) {
                    versions.push(v.to_string());
                }
            }
        }
    }
    versions
}

/// Per hour: how many installations run each version (as `status` last
/// said before the end of that hour).
pub fn hour_table(fleet: &[Installation], end: f64) -> String {
    let versions = all_versions(fleet);
    let mut table = String::new();
    let _ = write!(table, "| hour |");
    for v in &versions {
        let _ = write!(table, " {v} |");
    }
    let _ = writeln!(table, " unknown |");
    let _ = writeln!(table, "|---:|{}---:|", "---:|".repeat(versions.len()));
    let mut hour = 0.0;
    while hour <= end {
        let counts = counts_at(fleet, hour);
        let _ = write!(table, "| {hour:>4} |");
        for v in &versions {
            let _ = write!(table, " {} |", counts.get(v).copied().unwrap_or(0));
        }
        let known: usize = versions.iter().filter_map(|v| counts.get(v)).sum();
        let _ = writeln!(table, " {} |", fleet.len() - known);
        hour += 1.0;
    }
    table
}

/// A stacked-area chart of the versions the fleet runs over time.
pub fn svg_chart(fleet: &[Installation], end: f64) -> String {
    let versions = all_versions(fleet);
    let colors = [
        "#9e9e9e", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    ];
    let (width, height) = (960.0, 440.0);
    let (left, right, top, bottom) = (60.0, 170.0, 30.0, 50.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let total = fleet.len().max(1) as f64;
    let x = |hour: f64| left + hour / end * plot_w;
    let y = |count: f64| top + plot_h - count / total * plot_h;
    let steps = (end * 12.0) as usize;
    let samples: Vec<(f64, BTreeMap<String, usize>)> = (0..=steps)
        .map(|i| {
            let hour = end * i as f64 / steps as f64;
            (hour, counts_at(fleet, hour))
        })
        .collect();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="18" font-size="14">pane fleet drill: installations by version over simulated hours ({} installations)</text>"#,
        fleet.len()
    );
    let mut lower = vec![0.0f64; samples.len()];
    for (k, version) in versions.iter().enumerate() {
        let upper: Vec<f64> = samples
            .iter()
            .zip(&lower)
            .map(|((_, counts), low)| low + counts.get(version).copied().unwrap_or(0) as f64)
            .collect();
        let mut path = String::new();
        for (i, ((hour, _), up)) in samples.iter().zip(&upper).enumerate() {
            let _ = write!(
                path,
                "{}{:.1},{:.1} ",
                if i == 0 { "M" } else { "L" },
                x(*hour),
                y(*up)
            );
        }
        for ((hour, _), low) in samples.iter().zip(&lower).rev() {
            let _ = write!(path, "L{:.1},{:.1} ", x(*hour), y(*low));
        }
        let color = colors[k % colors.len()];
        let _ = writeln!(
            svg,
            r#"<path d="{}Z" fill="{color}" fill-opacity="0.85" stroke="none"/>"#,
            path.trim_end()
        );
        let ly = top + 20.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{}" y="{ly}" width="14" height="14" fill="{color}"/><text x="{}" y="{}">{version}</text>"#,
            width - right + 20.0,
            width - right + 40.0,
            ly + 12.0
        );
        lower = upper;
    }
    // Axes and ticks.
    let _ = writeln!(
        svg,
        r#"<path d="M{left},{top} L{left},{} L{},{}" fill="none" stroke="black"/>"#,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    let mut hour = 0.0;
    while hour <= end {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{hour}</text>"#,
            x(hour),
            top + plot_h + 16.0
        );
        hour += 2.0;
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">simulated hours since the release of 1.2.0</text>"#,
        left + plot_w / 2.0,
        height - 10.0
    );
    for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let count = total * fraction;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{count:.0}</text>"#,
            left - 6.0,
            y(count) + 4.0
        );
    }
    for (at, label) in [
        (REPORT_AT, "bad report"),
        (WITHDRAW_AT, "withdrawn"),
        (FIX_AT, "1.2.1 critical"),
    ] {
        if at > end {
            continue;
        }
        let _ = writeln!(
            svg,
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1}" stroke="black" stroke-dasharray="4,3"/><text x="{2:.1}" y="{3}">{label}</text>"#,
            x(at),
            top + plot_h,
            x(at) + 3.0,
            if label == "bad report" {
                top + 12.0
            } else {
                top + 26.0
            }
        );
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

/// The installation agrees with itself: `pane --version`, the receipt, the
/// kept binaries and their recorded SHA-256, no change half done, no temp
/// file. Returns the installed version.
pub fn consistent(home: &Path) -> Result<String> {
    let exe = install_path(home);
    let output = Command::new(&exe)
        .arg("--version")
        .env_clear()
        .env("HOME", home)
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(version) = stdout.trim().strip_prefix("pane ").map(str::to_string) else {
        crate::bail!("{} does not run: {}", exe.display(), stdout.trim());
    };
    let data = data_dir(home);
    let receipt_path = data.join("install-receipt.json");
    let receipt: Value = serde_json::from_slice(
        &std::fs::read(&receipt_path)
            .with_context(|| format!("cannot read {}", receipt_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", receipt_path.display()))?;
    if receipt["version"].as_str() != Some(version.as_str()) {
        crate::bail!(
            "the binary says {version}, the receipt {}",
            receipt["version"]
        );
    }
    if receipt.get("pending").is_some_and(|p| !p.is_null()) {
        crate::bail!("the receipt still journals a change");
    }
    let mut kept = Vec::new();
    for entry in receipt["kept"].as_array().into_iter().flatten() {
        let kept_version = entry["version"].as_str().unwrap_or_default();
        let path = data.join("versions").join(kept_version).join("pane");
        let digest = crate::checksums::sha256_file(&path)
            .with_context(|| format!("kept {kept_version} is lost"))?;
        if entry["sha256"].as_str() != Some(digest.as_str()) {
            crate::bail!("kept {kept_version} does not match its recorded SHA-256");
        }
        kept.push(kept_version.to_string());
    }
    let wanted = std::iter::once(version.as_str()).chain(receipt["previous"].as_str());
    for wanted in wanted {
        if !kept.iter().any(|k| k == wanted) {
            crate::bail!("{wanted} is not kept (kept: {kept:?})");
        }
    }
    let installed = crate::checksums::sha256_file(&exe)?;
    let kept_copy =
        crate::checksums::sha256_file(&data.join("versions").join(&version).join("pane"))?;
    if installed != kept_copy {
        crate::bail!("the installed binary is not the kept copy of {version}");
    }
    let mut leftovers = Vec::new();
    find_temp_files(home, &mut leftovers);
    if !leftovers.is_empty() {
        crate::bail!("temp files left: {leftovers:?}");
    }
    Ok(version)
}

fn find_temp_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".pane-tmp-")
        {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            find_temp_files(&path, found);
        }
    }
}

fn explicit(installation: &Installation) -> bool {
    installation.plan.eager_at.is_some()
}

/// The four checks, from the snapshots (`status --json`) and the final
/// state of each installation.
pub fn checks(fleet: &[Installation], final_state: &[Result<String>]) -> Vec<CheckResult> {
    let mut results = Vec::new();

    // 1. Nobody above the elapsed fraction ran 1.2.0 (unless asked).
    {
        let mut on_bad = 0;
        let mut bad = Vec::new();
        let mut unknown_number = 0;
        for installation in fleet.iter().filter(|i| !explicit(i)) {
            let Some(first) = installation
                .snapshots
                .iter()
                .find(|s| s.version() == Some(BAD))
            else {
                continue;
            };
            on_bad += 1;
            let fraction = (first.at / ROLLOUT_HOURS).clamp(0.0, 1.0);
            match installation.reported_rollout_number() {
                Some(number) if number > fraction => bad.push(format!(
                    "#{} (number {number:.3}, on 1.2.0 at hour {:.2}, fraction {fraction:.3})",
                    installation.plan.index, first.at
                )),
                Some(_) => {}
                None => unknown_number += 1,
            }
        }
        let passed = bad.is_empty() && unknown_number == 0;
        results.push(CheckResult {
            name: "rollout respected".into(),
            passed,
            detail: format!(
                "{on_bad} installations ran 1.2.0 without asking, {} of them above the elapsed fraction{}{}",
                bad.len(),
                if unknown_number > 0 { format!(", {unknown_number} with no rollout number in status") } else { String::new() },
                if bad.is_empty() { String::new() } else { format!(": {}", bad.join(", ")) }
            ),
        });
    }

    // 2. Auto installations off 1.2.0 within four hours of the withdrawal.
    {
        let mut longest_on: f64 = 0.0;
        let mut longest_after: f64 = 0.0;
        let mut frequent = 0;
        let mut frequent_on_bad = 0;
        let mut late = Vec::new();
        let mut auto_count = 0;
        let mut hourly_on_bad = 0;
        let mut longest_frequent: f64 = 0.0;
        let mut longest_hourly: f64 = 0.0;
        for installation in fleet {
            let auto = installation.reported_policy() == Some("auto")
                && installation.reported_pin().is_none();
            if !auto {
                continue;
            }
            auto_count += 1;
            // Time on 1.2.0, from status.
            let mut on_since: Option<f64> = None;
            let mut off_after_withdrawal: Option<f64> = None;
            let mut on_at_withdrawal = false;
            for snapshot in &installation.snapshots {
                let on = snapshot.version() == Some(BAD);
                if snapshot.at <= WITHDRAW_AT {
                    on_at_withdrawal = on;
                }
                match (on, on_since) {
                    (true, None) => on_since = Some(snapshot.at),
                    (false, Some(since)) => {
                        longest_on = longest_on.max(snapshot.at - since);
                        if snapshot.at > WITHDRAW_AT
                            && off_after_withdrawal.is_none()
                            && on_at_withdrawal
                        {
                            off_after_withdrawal = Some(snapshot.at);
                        }
                        on_since = None;
                    }
                    _ => {}
                }
            }
            let end_at = installation.snapshots.last().map_or(0.0, |s| s.at);
            if let Some(since) = on_since {
                longest_on = longest_on.max(end_at - since);
            }
            if on_at_withdrawal {
                let off = off_after_withdrawal.unwrap_or(f64::INFINITY);
                longest_after = longest_after.max(off.min(end_at) - WITHDRAW_AT);
            }
            if on_at_withdrawal && installation.plan.mean_hours <= AUTO_EVERY_HOURS {
                hourly_on_bad += 1;
                let off = off_after_withdrawal.unwrap_or(f64::INFINITY);
                longest_hourly = longest_hourly.max(off.min(end_at) - WITHDRAW_AT);
            }
            // Runs at least every two hours around the window.
            let runs = &installation.plan.runs;
            let window_end = WITHDRAW_AT + AUTO_OFF_WITHIN_HOURS;
            let before = runs.iter().copied().rfind(|t| *t <= WITHDRAW_AT);
            let after = runs.iter().copied().find(|t| *t >= window_end);
            let mut points: Vec<f64> = before.into_iter().collect();
            points.extend(
                runs.iter()
                    .copied()
                    .filter(|t| *t > WITHDRAW_AT && *t < window_end),
            );
            points.extend(after);
            let covers = before.is_some() && after.is_some();
            let gaps_ok = points.windows(2).all(|w| w[1] - w[0] <= AUTO_EVERY_HOURS);
            if !(covers && gaps_ok) {
                continue;
            }
            frequent += 1;
            if on_at_withdrawal {
                frequent_on_bad += 1;
                let off = off_after_withdrawal.unwrap_or(f64::INFINITY);
                longest_frequent = longest_frequent.max(off.min(end_at) - WITHDRAW_AT);
                if off - WITHDRAW_AT > AUTO_OFF_WITHIN_HOURS {
                    // Its background checks around the withdrawal, and
                    // what auto-update said after each (from status).
                    let checks: Vec<String> = installation
                        .snapshots
                        .iter()
                        .filter(|s| {
                            s.step == Step::Check
                                && s.at > WITHDRAW_AT - AUTO_CHECK_HOURS
                                && s.at <= off.min(WITHDRAW_AT + 12.0)
                        })
                        .map(|s| {
                            format!(
                                "{:.2} ({})",
                                s.at,
                                s.status["auto"]["last_action"].as_str().unwrap_or("-")
                            )
                        })
                        .collect();
                    late.push(format!(
                        "#{} ({}; checks at hours {})",
                        installation.plan.index,
                        if off.is_finite() {
                            format!("off at hour {off:.2}")
                        } else {
                            "never off".to_string()
                        },
                        checks.join(", ")
                    ));
                }
            }
        }
        results.push(CheckResult {
            name: "auto off 1.2.0 within 4 h".into(),
            passed: late.is_empty() && auto_count > 0,
            detail: format!(
                "{auto_count} auto installations, {frequent} run pane at least every {AUTO_EVERY_HOURS} h around the withdrawal, \
                 {frequent_on_bad} of those were on 1.2.0 at the withdrawal, {} late (the longest of them stayed {longest_frequent:.2} h after it); longest on 1.2.0 after the withdrawal (any auto): {longest_after:.2} h; \
                 longest on 1.2.0 in all (any auto): {longest_on:.2} h; \
                 {hourly_on_bad} auto installations with a 1-hour mean interval were on 1.2.0 at the withdrawal, the longest of them stayed {longest_hourly:.2} h{}",
                late.len(),
                if late.is_empty() { String::new() } else { format!(": {}", late.join(", ")) }
            ),
        });
    }

    // 3. Notify installations on 1.2.0 see the withdrawal on their next run.
    {
        let mut on_bad = 0;
        let mut shown = 0;
        let mut missed = Vec::new();
        for installation in fleet {
            if installation.reported_policy() != Some("notify")
                || installation.reported_pin().is_some()
            {
                continue;
            }
            let snapshots = &installation.snapshots;
            let Some(learned) = snapshots.iter().position(|s| {
                s.step == Step::Check
                    && s.at >= WITHDRAW_AT
                    && s.version() == Some(BAD)
                    && s.withdrawn_known()
            }) else {
                // On 1.2.0 at a check after the withdrawal, yet not told?
                if let Some(s) = snapshots.iter().find(|s| {
                    s.step == Step::Check && s.at >= WITHDRAW_AT && s.version() == Some(BAD)
                }) {
                    on_bad += 1;
                    missed.push(format!(
                        "#{}: its check at hour {:.2} did not learn of the withdrawal (serial {})",
                        installation.plan.index, s.at, s.status["channel"]["serial"]
                    ));
                }
                continue;
            };
            on_bad += 1;
            let Some(run) = snapshots[learned..].iter().find(|s| s.step == Step::Run) else {
                shown += 1; // no run after it: nothing to show yet
                continue;
            };
            let text = run.notice_text();
            if text.contains("withdrawn") && text.contains(REASON) {
                shown += 1;
            } else {
                missed.push(format!(
                    "#{} at hour {:.2}: notice {:?}",
                    installation.plan.index,
                    run.at,
                    run.stderr.trim()
                ));
            }
        }
        results.push(CheckResult {
            name: "notify shown the withdrawal".into(),
            passed: missed.is_empty(),
            detail: format!(
                "{on_bad} notify installations on 1.2.0 after the withdrawal, {shown} shown it with its reason on their first run after their check{}",
                if missed.is_empty() { String::new() } else { format!("; missed: {}", missed.join("; ")) }
            ),
        });
    }

    // 4. Pinned and off untouched; everyone consistent.
    {
        let mut touched = Vec::new();
        let mut held = 0;
        for installation in fleet {
            let pinned = installation.plan.pin.is_some();
            let off = installation.plan.policy == Policy::Off;
            if !(pinned || off) {
                continue;
            }
            held += 1;
            let versions: Vec<Option<&str>> = installation
                .snapshots
                .iter()
                .map(Snapshot::version)
                .collect();
            let first = versions.first().copied().flatten();
            let same = first.is_some() && versions.iter().all(|v| *v == first);
            let pin_kept = !pinned || installation.reported_pin() == installation.plan.pin;
            let policy_kept = !off || installation.reported_policy() == Some("off");
            if !(same && pin_kept && policy_kept) {
                touched.push(format!(
                    "#{} (versions {:?}, pin {:?}, policy {:?})",
                    installation.plan.index,
                    {
                        let mut v: Vec<_> = versions.iter().map(|v| v.unwrap_or("?")).collect();
                        v.dedup();
                        v
                    },
                    installation.reported_pin(),
                    installation.reported_policy()
                ));
            }
        }
        let inconsistent: Vec<String> = fleet
            .iter()
            .zip(final_state)
            .filter_map(|(i, state)| {
                state
                    .as_ref()
                    .err()
                    .map(|e| format!("#{}: {e:#}", i.plan.index))
            })
            .collect();
        let mismatched: Vec<String> = fleet
            .iter()
            .zip(final_state)
            .filter_map(|(i, state)| {
                let status = i.last_status().and_then(|s| s["version"].as_str());
                match state {
                    Ok(version) if status != Some(version.as_str()) => Some(format!(
                        "#{}: binary {version}, status {status:?}",
                        i.plan.index
                    )),
                    _ => None,
                }
            })
            .collect();
        results.push(CheckResult {
            name: "pinned and off untouched, nothing lost".into(),
            passed: touched.is_empty() && inconsistent.is_empty() && mismatched.is_empty(),
            detail: format!(
                "{held} pinned or off installations, {} touched; {} of {} installations consistent at the end{}{}{}",
                touched.len(),
                fleet.len() - inconsistent.len() - mismatched.len(),
                fleet.len(),
                if touched.is_empty() { String::new() } else { format!("; touched: {}", touched.join(", ")) },
                inconsistent.first().map(|e| format!("; e.g. {e}")).unwrap_or_default(),
                mismatched.first().map(|e| format!("; e.g. {e}")).unwrap_or_default(),
            ),
        });
    }

    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_fleet() {
        let a = plan_fleet(24, 7, END);
        let b = plan_fleet(24, 7, END);
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.runs, b.runs);
            assert_eq!(a.rollout_number, b.rollout_number);
            assert_eq!(a.mean_hours, b.mean_hours);
        }
        assert_ne!(plan_fleet(24, 8, END)[0].runs, a[0].runs);
    }

    #[test]
    fn every_kind_is_in_a_short_fleet() {
        let fleet = plan_fleet(12, 1, SHORT_END);
        for policy in [Policy::Notify, Policy::Auto, Policy::Off] {
            assert!(fleet.iter().any(|p| p.policy == policy));
        }
        assert!(fleet.iter().any(|p| p.pin.is_some()));
        assert!(fleet.iter().any(|p| p.eager_at.is_some()));
        assert!(fleet.iter().all(|p| p.runs.windows(2).all(|w| w[0] < w[1])));
    }

    #[test]
    fn poisson_runs_have_about_their_mean_interval() {
        let fleet = plan_fleet(600, 3, 1000.0);
        for mean in MEAN_INTERVALS {
            let (runs, count): (usize, usize) = fleet
                .iter()
                .filter(|p| p.mean_hours == mean)
                .fold((0, 0), |(r, c), p| (r + p.runs.len(), c + 1));
            let observed = 1000.0 * count as f64 / runs as f64;
            assert!(
                (observed / mean - 1.0).abs() < 0.15,
                "mean {mean}: observed {observed}"
            );
        }
    }
}
