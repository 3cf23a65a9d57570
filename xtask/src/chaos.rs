//! Chaos runs of pane's self-updater, with real pane binaries against the
//! local release server, in a throwaway home:
//!
//! - [`kill_chaos`]: `pane self update` to a large release (tens of MiB,
//!   incompressible, served slowly) killed with SIGKILL after a random delay,
//!   many times. After every kill the installed pane runs and says the old or
//!   the new version, the receipt parses and names that version (or journals
//!   the change to it), and the next update succeeds and leaves no
//!   `.pane-tmp-*` file, with the kept versions matching their recorded
//!   SHA-256.
//! - [`race_chaos`]: several `pane self update` at once for each new release:
//!   exactly one installs, the others wait (or, impatient, name the holder of
//!   the lock), and the binary, the receipt and the kept versions agree.
//!
//! `cargo xtask chaos` runs many of each; pane's test suite runs a few through
//! the same code (`tests/it/chaos.rs`). Delays come from a seeded RNG, so a
//! run can be repeated (timing on a busy machine still varies).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Context, Result};
use crate::fixtures::{Release, Run};
use crate::sandbox::{walk, Sandbox};
use crate::server::Fault;

/// xorshift64*: a small, seeded, deterministic RNG (no dependency needed).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Any seed, even 0, gives a non-zero state.
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The sandbox chaos runs in: patient timeouts, for a busy machine.
fn sandbox() -> Result<Sandbox> {
    let mut sandbox = Sandbox::new("pane-chaos-")?;
    sandbox.extra_env.extend([
        ("PANE_HTTP_TIMEOUT".to_string(), "10".to_string()),
        ("PANE_LOCK_TIMEOUT".to_string(), "120".to_string()),
    ]);
    Ok(sandbox)
}

/// The receipt, which must parse and have schema 1.
fn receipt(sandbox: &Sandbox) -> Result<serde_json::Value> {
    let value = sandbox.receipt()?;
    if value["schema"] != 1 {
        crate::bail!("the receipt has schema {}, not 1", value["schema"]);
    }
    Ok(value)
}

/// `.pane-tmp-*` files anywhere in the home.
fn temp_files(sandbox: &Sandbox) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(&sandbox.home, &mut |path, _| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(".pane-tmp-") {
            found.push(path.to_path_buf());
        }
    });
    found
}

/// The whole installation agrees with itself, at `version`: the binary
/// says it, the receipt names it with no change journaled, every kept
/// binary has its recorded SHA-256, the installed binary is the kept copy
/// of `version`, `previous` (if given) is kept, and no temp file is left.
pub fn check_consistent(sandbox: &Sandbox, version: &str, previous: Option<&str>) -> Result<()> {
    let installed = sandbox.installed_version()?;
    if installed != version {
        crate::bail!("pane {installed} is installed, not {version}");
    }
    let receipt = receipt(sandbox)?;
    if receipt["version"] != version {
        crate::bail!("the receipt names {}, not {version}", receipt["version"]);
    }
    if receipt.get("pending").is_some() {
        crate::bail!("the receipt still journals a change: {receipt:#}");
    }
    let kept_versions = check_kept(sandbox, &receipt)?;
    for wanted in std::iter::once(version).chain(previous) {
        if !kept_versions.iter().any(|k| k == wanted) {
            crate::bail!("{wanted} is not kept (kept: {kept_versions:?})");
        }
    }
    let installed_digest = crate::checksums::sha256_file(&sandbox.install_path())?;
    let kept_digest = crate::checksums::sha256_file(&kept_binary(sandbox, version))?;
    if installed_digest != kept_digest {
        crate::bail!("the installed binary is not the kept copy of {version}");
    }
    if previous.is_some() && receipt["previous"].as_str() != previous {
        crate::bail!(
            "the receipt's previous is {}, not {previous:?}",
            receipt["previous"]
        );
    }
    let leftovers = temp_files(sandbox);
    if !leftovers.is_empty() {
        crate::bail!("temp files left behind: {leftovers:?}");
    }
    // The lock is free and names no holder that has gone.
    let holder = std::fs::read_to_string(sandbox.data_dir.join("update.lock")).unwrap_or_default();
    if !holder.is_empty() {
        crate::bail!("update.lock still names a holder: {holder:?}");
    }
    Ok(())
}

/// `versions/<version>/pane` in the data dir.
fn kept_binary(sandbox: &Sandbox, version: &str) -> PathBuf {
    sandbox.data_dir.join("versions").join(version).join("pane")
}

/// Every kept binary has the SHA-256 the receipt records; returns the kept versions.
fn check_kept(sandbox: &Sandbox, receipt: &serde_json::Value) -> Result<Vec<String>> {
    let kept = receipt["kept"].as_array().cloned().unwrap_or_default();
    let mut kept_versions = Vec::new();
    for entry in &kept {
        let kept_version = entry["version"].as_str().unwrap_or_default();
        let digest = crate::checksums::sha256_file(&kept_binary(sandbox, kept_version))?;
        if entry["sha256"] != digest.as_str() {
            crate::bail!("kept {kept_version} does not match its recorded SHA-256");
        }
        kept_versions.push(kept_version.to_string());
    }
    Ok(kept_versions)
}

// ------------------------------------------------------------------ kill -9

/// How a kill run goes.
#[derive(Clone, Debug)]
pub struct KillOptions {
    /// SIGKILLs to deliver (updates that finish before their kill do not count).
    pub kills: u32,
    /// Incompressible bytes appended to each release's binary.
    pub padding: u64,
    /// How fast the server sends archives during a killed update.
    pub bytes_per_sec: u64,
    pub seed: u64,
    /// Releases the updates go round (at least three, so the target of each
    /// update is never already kept and every phase has work to do).
    pub versions: Vec<String>,
}

impl Default for KillOptions {
    fn default() -> Self {
        KillOptions {
            kills: 200,
            padding: 40 << 20,
            bytes_per_sec: 32 << 20,
            seed: 0x5eed,
            versions: ["1.0.0", "1.1.0", "1.2.0"].map(String::from).to_vec(),
        }
    }
}

/// Where an update was when it was killed, read from what it left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Nothing written yet: lock, signature, checksums.
    Starting,
    /// The archive is streaming into the data dir.
    Downloading,
    /// The verified archive is being unpacked into the install dir.
    Unpacking,
    /// Staged, not yet kept: fsync and the `--version` smoke test.
    SmokeTesting,
    /// The new binary is being copied under `versions/`.
    Keeping,
    /// Kept; the receipt journal is being written.
    Journaling,
    /// The receipt journals the change; the old binary is still in place.
    JournaledBeforeSwap,
    /// The new binary is in place; the receipt still journals the change.
    SwappedBeforeReceipt,
    /// The new binary and the final receipt are in place (pruning, exiting).
    Finished,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Starting => "starting",
            Phase::Downloading => "downloading",
            Phase::Unpacking => "unpacking",
            Phase::SmokeTesting => "smoke-testing",
            Phase::Keeping => "keeping",
            Phase::Journaling => "journaling",
            Phase::JournaledBeforeSwap => "journaled, before the swap",
            Phase::SwappedBeforeReceipt => "swapped, before the receipt",
            Phase::Finished => "finished",
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct KillReport {
    pub kills: u32,
    pub survived: u32,
    /// Updates that finished before their kill landed (not counted as kills).
    pub finished_first: u32,
    pub phases: BTreeMap<Phase, u32>,
    /// When the phases of an unkilled, throttled update fell.
    pub calibration: Timeline,
    pub elapsed: Duration,
    /// What went wrong, if a kill was not survived (the run stops there).
    pub failure: Option<String>,
}

impl fmt::Display for KillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kills survived: {}/{}", self.survived, self.kills)?;
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(phase, n)| format!("{phase} {n}"))
            .collect();
        write!(
            f,
            " (killed while {}; {} finished before their kill; a throttled update: {}; {:.0?} in all)",
            if phases.is_empty() { "-".to_string() } else { phases.join(", ") },
            self.finished_first,
            self.calibration,
            self.elapsed
        )?;
        if let Some(failure) = &self.failure {
            write!(f, "\nFAILED: {failure}")?;
        }
        Ok(())
    }
}

/// Kills `pane self update` at random moments, `options.kills` times, checking
/// the installation after each kill and after the update that follows it.
/// Progress goes to `log`.
pub fn kill_chaos(options: &KillOptions, log: &mut dyn Write) -> Result<KillReport> {
    if options.versions.len() < 3 {
        crate::bail!("kill_chaos needs at least three versions to go round");
    }
    let started = Instant::now();
    let throttle = Fault::Throttle {
        bytes_per_sec: options.bytes_per_sec,
    };
    let (sandbox, calibration) = kill_setup(options, &throttle, log)?;
    let mut current = 1;

    let mut report = KillReport {
        calibration,
        ..KillReport::default()
    };
    let mut rng = Rng::new(options.seed);
    while report.kills < options.kills {
        let from = options.versions[current].clone();
        let next = (current + 1) % options.versions.len();
        let to = options.versions[next].clone();
        let attempt = report.kills + report.finished_first;
        let plan = KillPlan::draw(attempt, &mut rng, &calibration);
        sandbox.server().set_fault(".tar.gz", throttle.clone());
        let outcome = kill_once(&sandbox, &to, &plan);
        sandbox.server().clear_faults();
        let number = report.kills + 1;
        let killed = match outcome {
            Err(e) => {
                report.failure = Some(format!("kill {number} ({plan}): {e:#}"));
                report.kills += 1;
                break;
            }
            Ok(None) => {
                report.finished_first += 1;
                let _ = writeln!(log, "  update to {to} finished before its kill ({plan})");
                false
            }
            Ok(Some(phase)) => {
                report.kills += 1;
                *report.phases.entry(phase).or_default() += 1;
                let _ = writeln!(
                    log,
                    "  kill {number:>3}/{} ({plan}): {from} → {to} killed while {phase}",
                    options.kills
                );
                true
            }
        };
        // Whatever the kill left, the next update must finish the job.
        let recovered = sandbox
            .pane(&["self", "update", &to])
            .and_then(|run| match run.code {
                Some(0) => Ok(()),
                _ => crate::bail!("the update after the kill failed:\n{run}"),
            })
            .and_then(|()| check_consistent(&sandbox, &to, Some(&from)));
        if let Err(e) = recovered {
            report.failure = Some(format!("after kill {number} ({plan}): {e:#}"));
            break;
        }
        if killed {
            report.survived += 1;
        }
        current = next;
    }
    report.elapsed = started.elapsed();
    if report.failure.is_some() {
        let kept = sandbox.keep();
        if let Some(failure) = &mut report.failure {
            failure.push_str(&format!("\n(the sandbox is kept at {})", kept.display()));
        }
    }
    Ok(report)
}

/// A sandbox with the padded releases published and `versions[1]` installed
/// by one whole throttled update from `versions[0]`, watched to know when
/// its phases fall.
fn kill_setup(
    options: &KillOptions,
    throttle: &Fault,
    log: &mut dyn Write,
) -> Result<(Sandbox, Timeline)> {
    let sandbox = sandbox()?;
    let _ = writeln!(
        log,
        "chaos: publishing {} releases padded with {} MiB…",
        options.versions.len(),
        options.padding >> 20
    );
    for version in &options.versions {
        sandbox.publish(Release::new(version.clone()).padding(options.padding))?;
    }
    sandbox.install(&options.versions[0])?;
    sandbox.server().set_fault(".tar.gz", throttle.clone());
    let calibration = calibrate(&sandbox, &options.versions[1])?;
    sandbox.server().clear_faults();
    check_consistent(&sandbox, &options.versions[1], Some(&options.versions[0]))?;
    Ok((sandbox, calibration))
}

/// When the phases of one update fell, from its start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline {
    /// The staged file appeared: the download was done.
    pub downloaded: Duration,
    /// `versions/<new>/` appeared: unpacking and the smoke test were done.
    pub keeping: Duration,
    /// The process exited.
    pub total: Duration,
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "downloaded at {:.2?}, keeping at {:.2?}, done at {:.2?}",
            self.downloaded, self.keeping, self.total
        )
    }
}

/// Runs one throttled update to `to` while watching the files, to learn
/// when its phases fall.
fn calibrate(sandbox: &Sandbox, to: &str) -> Result<Timeline> {
    let mut child = spawn_update(sandbox, to)?;
    let started = Instant::now();
    let (mut downloaded, mut keeping) = (None, None);
    let kept_dir = sandbox.data_dir.join("versions").join(to);
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for pane")? {
            break status;
        }
        if downloaded.is_none() && has_temp(&sandbox.bin_dir, "staged") {
            downloaded = Some(started.elapsed());
        }
        if keeping.is_none() && kept_dir.exists() {
            keeping = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let total = started.elapsed();
    if !status.success() {
        let run = Run::from(child.wait_with_output().context("cannot wait for pane")?);
        crate::bail!("the calibrating update failed:\n{run}");
    }
    let downloaded = downloaded.unwrap_or(total / 2);
    Ok(Timeline {
        downloaded,
        keeping: keeping.unwrap_or(downloaded).max(downloaded),
        total,
    })
}

fn spawn_update(sandbox: &Sandbox, to: &str) -> Result<Child> {
    sandbox
        .command(sandbox.install_path())
        .args(["self", "update", to])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start pane self update")
}

fn has_temp(dir: &Path, purpose: &str) -> bool {
    let prefix = format!(".pane-tmp-{purpose}");
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    })
}

/// What a kill waits for before its random delay starts. The phases after
/// the download last milliseconds, so a delay from the start alone would
/// rarely land in them: most kills wait for a sign of a phase first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// The update started.
    Start,
    /// The staged binary appeared in the install dir: the download is done.
    Staged,
    /// The download's temp file is gone and the staged binary is there:
    /// unpacking is done, the smoke test runs.
    Unpacked,
    /// `versions/<new>/` has a file made by this update: keeping has begun.
    /// (The folder alone may be left from a run killed before it pruned.)
    Keeping,
    /// The receipt journals the change.
    Journaled,
    /// The install path is another file.
    Swapped,
}

#[derive(Clone, Debug)]
struct KillPlan {
    trigger: Trigger,
    delay: Duration,
}

impl KillPlan {
    /// The triggers in turn (so a few kills already cover every one), each
    /// with a random delay as long as what follows it. Eight turns against
    /// the three versions going round, so no trigger stays with one update.
    fn draw(attempt: u32, rng: &mut Rng, timeline: &Timeline) -> KillPlan {
        let unpacking_and_smoke = timeline.keeping.saturating_sub(timeline.downloaded);
        let after_download = timeline.total.saturating_sub(timeline.downloaded);
        let keeping_on = timeline.total.saturating_sub(timeline.keeping);
        let (trigger, span) = match attempt % 8 {
            0 => (Trigger::Start, timeline.total.mul_f64(1.05)),
            // Before the download: the lock, the signature, the checksums.
            1 => (Trigger::Start, Duration::from_millis(60)),
            2 => (Trigger::Staged, unpacking_and_smoke),
            3 => (Trigger::Unpacked, Duration::from_millis(15)),
            4 => (Trigger::Keeping, keeping_on),
            5 => (Trigger::Journaled, Duration::from_micros(1500)),
            6 => (Trigger::Swapped, Duration::from_micros(1500)),
            _ => (Trigger::Staged, after_download),
        };
        KillPlan {
            trigger,
            delay: span.mul_f64(rng.unit()),
        }
    }
}

impl fmt::Display for KillPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trigger = match self.trigger {
            Trigger::Start => "the start",
            Trigger::Staged => "the download",
            Trigger::Unpacked => "unpacking",
            Trigger::Keeping => "keeping began",
            Trigger::Journaled => "the journal",
            Trigger::Swapped => "the swap",
        };
        write!(f, "{:.1?} after {trigger}", self.delay)
    }
}

/// Whether the sign `trigger` waits for is there, for an update that
/// started at `since` with the install path at `inode`.
fn fired(sandbox: &Sandbox, to: &str, trigger: Trigger, inode: u64, since: SystemTime) -> bool {
    use std::os::unix::fs::MetadataExt;
    match trigger {
        Trigger::Start => true,
        Trigger::Staged => has_temp(&sandbox.bin_dir, "staged"),
        Trigger::Unpacked => {
            has_temp(&sandbox.bin_dir, "staged") && !has_temp(&sandbox.data_dir, "download")
        }
        Trigger::Keeping => {
            let kept_dir = sandbox.data_dir.join("versions").join(to);
            has_temp(&kept_dir, "kept")
                || std::fs::metadata(kept_dir.join("pane"))
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified >= since)
        }
        Trigger::Journaled => std::fs::read(sandbox.receipt_path())
            .is_ok_and(|bytes| bytes.windows(9).any(|w| w == b"\"pending\"")),
        Trigger::Swapped => {
            std::fs::symlink_metadata(sandbox.install_path()).is_ok_and(|m| m.ino() != inode)
        }
    }
}

/// Starts an update to `to`, SIGKILLs it as `plan` says, and checks what is
/// left: the installed pane runs and is the old or the new version, and the
/// receipt parses and names it, or journals the change to it. Returns the
/// phase the kill hit, or `None` if the update finished first.
fn kill_once(sandbox: &Sandbox, to: &str, plan: &KillPlan) -> Result<Option<Phase>> {
    use std::os::unix::fs::MetadataExt;
    let from = sandbox.installed_version()?;
    let inode = std::fs::metadata(sandbox.install_path())
        .context("the installed pane is missing")?
        .ino();
    let since = SystemTime::now();
    let mut child = spawn_update(sandbox, to)?;
    loop {
        if child.try_wait().context("cannot wait for pane")?.is_some() {
            break;
        }
        if fired(sandbox, to, plan.trigger, inode, since) {
            std::thread::sleep(plan.delay);
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let run = Run::from(child.wait_with_output().context("cannot wait for pane")?);
    if run.signal != Some(9) {
        if run.code != Some(0) {
            crate::bail!("the update failed on its own:\n{run}");
        }
        return Ok(None);
    }
    let phase = phase_left(sandbox, &from, to)?;

    let installed = sandbox.installed_version()?;
    if installed != from && installed != to {
        crate::bail!("pane {installed} is installed, neither {from} nor {to}");
    }
    let receipt = receipt(sandbox)?;
    let journaled = receipt["pending"]["after"]["version"] == installed.as_str();
    if receipt["version"] != installed.as_str() && !journaled {
        crate::bail!("pane {installed} is installed but the receipt says {receipt:#}");
    }
    // pane's own reading of the receipt, as every command does it.
    let status = sandbox.pane(&["self", "status", "--json"])?;
    if status.code != Some(0) {
        crate::bail!("pane self status fails after the kill:\n{status}");
    }
    Ok(Some(phase))
}

/// Reads the phase of a killed update from the files it left.
fn phase_left(sandbox: &Sandbox, from: &str, to: &str) -> Result<Phase> {
    let receipt = receipt(sandbox)?;
    let installed = sandbox.installed_version()?;
    let kept_dir = sandbox.data_dir.join("versions").join(to);
    Ok(if receipt.get("pending").is_some() {
        if installed == to {
            Phase::SwappedBeforeReceipt
        } else {
            Phase::JournaledBeforeSwap
        }
    } else if installed == to && installed != from {
        Phase::Finished
    } else if has_temp(&sandbox.data_dir, "install-receipt") {
        Phase::Journaling
    } else if has_temp(&sandbox.data_dir, "download") {
        if has_temp(&sandbox.bin_dir, "staged") {
            Phase::Unpacking
        } else {
            Phase::Downloading
        }
    } else if has_temp(&kept_dir, "kept") {
        Phase::Keeping
    } else if has_temp(&sandbox.bin_dir, "staged") {
        if kept_dir.join("pane").exists() {
            Phase::Journaling
        } else {
            Phase::SmokeTesting
        }
    } else {
        Phase::Starting
    })
}

// ----------------------------------------------------------- racing updaters

#[derive(Clone, Debug)]
pub struct RaceOptions {
    /// The version installed first (published too).
    pub installed: String,
    /// One new release per round, in increasing order.
    pub releases: Vec<String>,
    /// Updaters started at once in each round.
    pub racers: u32,
}

impl RaceOptions {
    /// `rounds` rounds: 1.0.0 installed, then 1.0.1, 1.1.0, 1.2.0 (the test
    /// suite's fixtures), then 1.3.0, 1.4.0, … (built on first use).
    pub fn rounds(rounds: u32) -> RaceOptions {
        let mut releases: Vec<String> = ["1.0.1", "1.1.0", "1.2.0"].map(String::from).to_vec();
        for minor in 3.. {
            if releases.len() >= rounds as usize {
                break;
            }
            releases.push(format!("1.{minor}.0"));
        }
        releases.truncate(rounds as usize);
        RaceOptions {
            installed: "1.0.0".into(),
            releases,
            racers: 8,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RaceReport {
    pub rounds: u32,
    pub consistent: u32,
    pub racers: u32,
    /// Updaters that installed (exactly one per round).
    pub installs: u32,
    /// Updaters that said they were waiting for the lock's holder.
    pub waited: u32,
    /// Impatient updaters that gave up and named the lock's holder.
    pub reported_holder: u32,
    pub up_to_date: u32,
    pub elapsed: Duration,
    pub failure: Option<String>,
}

impl fmt::Display for RaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "racing rounds consistent: {}/{} ({} updaters at once: {} installs, {} waited for the lock, {} gave up naming its holder, {} found it up to date; {:.0?} in all)",
            self.consistent,
            self.rounds,
            self.racers,
            self.installs,
            self.waited,
            self.reported_holder,
            self.up_to_date,
            self.elapsed
        )?;
        if let Some(failure) = &self.failure {
            write!(f, "\nFAILED: {failure}")?;
        }
        Ok(())
    }
}

/// Publishes one new release per round and starts `racers` updates to it at
/// once. Even rounds wait for the lock (the default); odd rounds give up
/// at once and must name the holder.
pub fn race_chaos(options: &RaceOptions, log: &mut dyn Write) -> Result<RaceReport> {
    let started = Instant::now();
    let sandbox = sandbox()?;
    sandbox.publish(Release::new(options.installed.clone()))?;
    sandbox.install(&options.installed)?;
    let mut report = RaceReport {
        racers: options.racers,
        ..RaceReport::default()
    };
    let mut previous = options.installed.clone();
    for (round, release) in options.releases.iter().enumerate() {
        sandbox.publish(Release::new(release.clone()))?;
        let impatient = round % 2 == 1;
        report.rounds += 1;
        match race_once(&sandbox, options.racers, impatient, &previous, release) {
            Ok(tally) => {
                report.consistent += 1;
                report.installs += tally.installs;
                report.waited += tally.waited;
                report.reported_holder += tally.reported_holder;
                report.up_to_date += tally.up_to_date;
                let _ = writeln!(
                    log,
                    "  round {}/{}: {previous} → {release}{}: 1 install, {} waited, {} named the holder, {} up to date",
                    round + 1,
                    options.releases.len(),
                    if impatient { " (impatient)" } else { "" },
                    tally.waited,
                    tally.reported_holder,
                    tally.up_to_date
                );
            }
            Err(e) => {
                let kept = sandbox.keep();
                report.failure = Some(format!(
                    "round {} ({previous} → {release}): {e:#}\n(the sandbox is kept at {})",
                    round + 1,
                    kept.display()
                ));
                break;
            }
        }
        previous = release.clone();
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

#[derive(Default)]
struct Tally {
    installs: u32,
    waited: u32,
    reported_holder: u32,
    up_to_date: u32,
}

fn race_once(
    sandbox: &Sandbox,
    racers: u32,
    impatient: bool,
    from: &str,
    to: &str,
) -> Result<Tally> {
    let mut children = Vec::new();
    for _ in 0..racers {
        let mut command = sandbox.command(sandbox.install_path());
        command
            .args(["self", "update"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if impatient {
            command.env("PANE_LOCK_TIMEOUT", "0");
        }
        children.push(command.spawn().context("cannot start pane self update")?);
    }
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let mut runs = Vec::new();
    for child in children {
        let pid = child.id();
        runs.push((
            pid,
            Run::from(child.wait_with_output().context("cannot wait for pane")?),
        ));
    }
    let mut tally = Tally::default();
    let mut winner = None;
    for (pid, run) in &runs {
        let names_a_racer = |text: &str| pids.iter().any(|p| text.contains(&format!("pid {p} ")));
        if let Some(line) = run
            .stderr
            .lines()
            .find(|l| l.contains("waiting for another pane to finish"))
        {
            if !names_a_racer(line) && !line.contains("(another process)") {
                crate::bail!("pid {pid} waited for a process that is not racing: {line}");
            }
            tally.waited += 1;
        }
        match run.code {
            Some(0) if run.stderr.contains(&format!("updated pane {from} → {to}")) => {
                tally.installs += 1;
                winner = Some(*pid);
            }
            Some(0) if run.stderr.contains(&format!("pane {to} is up to date")) => {
                tally.up_to_date += 1;
            }
            Some(1)
                if impatient
                    && run
                        .stderr
                        .contains("another pane is changing this installation") =>
            {
                if !names_a_racer(&run.stderr) || !run.stderr.contains("hint:") {
                    crate::bail!("pid {pid} gave up without naming the holder:\n{run}");
                }
                tally.reported_holder += 1;
            }
            _ => crate::bail!("pid {pid} did something unexpected:\n{run}"),
        }
    }
    if tally.installs != 1 {
        crate::bail!("{} installs in one round, not exactly one", tally.installs);
    }
    // Whoever gave up must have named the one that installed.
    if let Some(winner) = winner {
        for (pid, run) in &runs {
            if run.code == Some(1) && !run.stderr.contains(&format!("pid {winner} ")) {
                crate::bail!("pid {pid} named another holder than {winner}:\n{run}");
            }
        }
    }
    check_consistent(sandbox, to, Some(from))?;
    Ok(tally)
}
