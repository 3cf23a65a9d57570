//! `cargo xtask bench`: pane's benchmarks, side by side in one run, as ratios
//! (the machines these run on are shared and noisy; absolute times are not
//! stable, ratios of medians over alternating runs are).
//!
//! - **Update time**: pane's full, verified update (signature, checksum,
//!   smoke test, fsync, kept version) against a peer built from the
//!   self_update crate's documented GitHub `Update` flow
//!   (`bench/self-update-peer`), and against the floor of the same bytes
//!   (one download, one SHA-256, one gunzip and untar of the binary, one
//!   rename: `floor_update`). All three fetch the same release from the
//!   same [`Server`] on loopback, in turn, round after round.
//! - **Memory**: peak RSS of a pane update of a 200 MiB release, from the
//!   kernel's own account (`wait4`'s `ru_maxrss` through `/usr/bin/time`).
//! - **Binary size** of `cargo build --release -p pane`, and what the updater
//!   adds: pane's pipeline alone (`pane-pipeline`, no CLI) and the self_update
//!   peer, each against a bare binary, all with pane's release profile.
//! - **Start-up**: `pane --version` against a bare binary printing one line.
//! - **Verification throughput**: pane's `sha256_file` against `sha256sum` and
//!   `openssl dgst -sha256` (which uses the CPU's SHA extensions) on the same
//!   file, and pane's whole signature check of a release's `SHA256SUMS`.
//!
//! The installed pane that updates is built with the release profile plus
//! debug assertions, the only difference that lets it trust the bench's key
//! (`PANE_TEST_PUBKEY`); the binary it installs, and the one measured for
//! size and start-up, is the plain release build.
//!
//! Results go to stdout as Markdown and, after a full run, into
//! `BENCHMARKS.md` between its result markers.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::archive::archive_folder;
use crate::error::{Context, Result};
use crate::fixtures::{host_target, Release, ReleaseDir, TestKey};
use crate::server::{Fault, Server};

/// The installed version, and the version every bench release offers.
const OLD: &str = "1.0.0";
const NEW: &str = "1.1.0";
const OWNER: &str = "pane-cli";
const REPO: &str = "pane";
const MIB: u64 = 1024 * 1024;
/// Where the results go in `BENCHMARKS.md`.
const RESULTS_BEGIN: &str = "<!-- bench:results:begin -->";
const RESULTS_END: &str = "<!-- bench:results:end -->";

/// `cargo xtask bench` options.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Options {
    /// A short run: fewer rounds, no throttled case; BENCHMARKS.md is left alone
    #[arg(long)]
    pub quick: bool,
    /// Rounds of the 40 MiB update case (default 7, 3 with --quick); the
    /// 3 MiB case runs three times as many
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// Only the update-time cases (no start-up, memory or throughput); like
    /// --quick, it leaves BENCHMARKS.md alone
    #[arg(long)]
    pub updates_only: bool,
    /// Run pane's timed updates under this command, for profiling: split on
    /// spaces, `{label}` replaced by the round's name, e.g.
    /// `--wrap-pane "perf record -g -o /tmp/pane-{label}.data"`. The times
    /// then include the wrapper's overhead.
    #[arg(long, value_name = "COMMAND")]
    pub wrap_pane: Option<String>,
}

/// How much of everything to run.
#[derive(Clone, Debug)]
struct Plan {
    quick: bool,
    updates_only: bool,
    wrap_pane: Option<String>,
    startup_runs: usize,
    memory_runs: usize,
    verify_rounds: usize,
    updates: Vec<UpdatePlan>,
    memory_size: u64,
}

/// One update case: a release of about `size` bytes, `rounds` rounds,
/// optionally served at `throttle` bytes per second.
#[derive(Clone, Copy, Debug)]
struct UpdatePlan {
    size: u64,
    rounds: usize,
    throttle: Option<u64>,
}

impl Plan {
    fn new(options: &Options) -> Plan {
        let quick = options.quick;
        let rounds = options.rounds.unwrap_or(if quick { 3 } else { 7 }).max(1);
        let mut updates = vec![
            // Small updates are quick and their fixed costs noisy: more rounds.
            UpdatePlan {
                size: 3 * MIB,
                rounds: rounds * 3,
                throttle: None,
            },
            UpdatePlan {
                size: 40 * MIB,
                rounds,
                throttle: None,
            },
        ];
        if !quick {
            // 100 Mbit/s, a good home connection: what a user waits for.
            updates.push(UpdatePlan {
                size: 40 * MIB,
                rounds: rounds.min(3),
                throttle: Some(12_500_000),
            });
        }
        Plan {
            quick,
            updates_only: options.updates_only,
            wrap_pane: options.wrap_pane.clone(),
            startup_runs: if quick { 100 } else { 500 },
            memory_runs: if quick { 1 } else { 3 },
            verify_rounds: if quick { 3 } else { 7 },
            updates,
            memory_size: 200 * MIB,
        }
    }
}

/// Runs the benchmarks, prints the results, and (after a full run) writes
/// them into `BENCHMARKS.md`.
pub fn run(options: &Options) -> Result<()> {
    let plan = Plan::new(options);
    let machine = Machine::detect();
    eprintln!("bench: building pane and the peers (the first run takes several minutes)");
    let bins = Binaries::build()?;
    let work = tempfile::Builder::new()
        .prefix("pane-bench-")
        .tempdir()
        .context("cannot make a temporary directory")?;
    let bench = Bench {
        bins,
        key: TestKey::try_generate()?,
        target: host_target().to_string(),
        work: work.path().to_path_buf(),
        time_program: Path::new("/usr/bin/time")
            .is_file()
            .then(|| PathBuf::from("/usr/bin/time")),
        wrap_pane: plan.wrap_pane.clone(),
    };

    let mut report = Report {
        machine,
        plan: plan.clone(),
        sizes: Sizes::measure(&bench.bins)?,
        startup: None,
        updates: Vec::new(),
        memory: None,
        verify: None,
    };
    if !plan.updates_only {
        eprintln!("bench: start-up, {} runs each", plan.startup_runs);
        report.startup = Some(startup(&bench.bins, plan.startup_runs)?);
    }

    for update in &plan.updates {
        eprintln!(
            "bench: update, ~{} MiB release{}, {} rounds",
            update.size / MIB,
            update
                .throttle
                .map(|rate| format!(" at {} Mbit/s", rate * 8 / 1_000_000))
                .unwrap_or_default(),
            update.rounds
        );
        let stage = bench.stage(&format!("update-{}", update.size / MIB), update.size)?;
        report
            .updates
            .push(bench.update_case(&stage, update.rounds, update.throttle)?);
    }

    if !plan.updates_only {
        bench.memory_and_throughput(&plan, &mut report)?;
    }

    let text = report.render();
    println!("{text}");
    if plan.quick || plan.updates_only {
        eprintln!("bench: a partial run; BENCHMARKS.md left as it was");
    } else {
        let path = crate::workspace::root().join("BENCHMARKS.md");
        write_results(&path, &text)?;
        eprintln!("bench: results written to {}", path.display());
    }
    Ok(())
}

impl Bench {
    /// The memory and verification-throughput cases, on one 200 MiB release.
    fn memory_and_throughput(&self, plan: &Plan, report: &mut Report) -> Result<()> {
        eprintln!(
            "bench: memory, ~{} MiB release, {} run(s)",
            plan.memory_size / MIB,
            plan.memory_runs
        );
        let big = self.stage("memory", plan.memory_size)?;
        report.memory = Some(self.memory(&big, plan.memory_runs)?);
        eprintln!(
            "bench: verification throughput, {} rounds",
            plan.verify_rounds
        );
        report.verify = Some(self.verify_throughput(&big, plan.verify_rounds)?);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Building

/// Every binary the bench runs.
struct Binaries {
    /// `cargo build --release -p pane`, stamped [`NEW`]: measured for size
    /// and start-up, and the binary every bench release ships.
    pane_release: PathBuf,
    /// The release profile with debug assertions, stamped [`OLD`]: the
    /// installed pane that updates (it honours `PANE_TEST_PUBKEY`).
    pane_updater: PathBuf,
    /// `bench/self-update-peer`: self_update's GitHub flow.
    peer: PathBuf,
    /// A bare binary printing one line.
    hello: PathBuf,
    /// pane's update pipeline without its CLI.
    pipeline: PathBuf,
    /// pane's `sha256_file` and signature check, alone.
    verify_speed: PathBuf,
}

impl Binaries {
    fn build() -> Result<Binaries> {
        let root = crate::workspace::root();
        let bench_target = root.join("target").join("bench");
        let release_dir = bench_target.join("release");
        let updater_dir = bench_target.join("release-debug-assertions");
        let peer_dir = bench_target.join("peer");
        let pane_build = ["--package", "pane", "--bin", "pane"];
        cargo_build(
            &root,
            &release_dir,
            &pane_build,
            &[("PANE_BUILD_VERSION", NEW)],
        )?;
        // Debug assertions in pane's own crate only (that is what makes it
        // trust the bench's key): its dependencies, whose inner loops
        // (zlib-rs, sha2) carry debug assertions of their own, stay exactly
        // as in the release build.
        let mut updater_build = pane_build.to_vec();
        updater_build.extend([
            "--config",
            "profile.release.package.pane.debug-assertions=true",
        ]);
        cargo_build(
            &root,
            &updater_dir,
            &updater_build,
            &[("PANE_BUILD_VERSION", OLD)],
        )?;
        // One package per build: features are then resolved per binary, as
        // in an application that uses only that crate.
        let peer_manifest = root.join("bench").join("self-update-peer");
        for package in ["self-update-peer", "hello", "pane-pipeline"] {
            cargo_build(&peer_manifest, &peer_dir, &["--package", package], &[])?;
        }
        let peer_bin = |name: &str| peer_dir.join("release").join(name);
        Ok(Binaries {
            pane_release: release_dir.join("release").join("pane"),
            pane_updater: updater_dir.join("release").join("pane"),
            peer: peer_bin("self-update-peer"),
            hello: peer_bin("hello"),
            pipeline: peer_bin("pane-pipeline"),
            verify_speed: peer_bin("verify-speed"),
        })
    }
}

/// `cargo build --release ARGS` in `dir` (a workspace root) into `target_dir`.
fn cargo_build(dir: &Path, target_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let mut command = crate::process::nested_cargo();
    command
        .current_dir(dir)
        .args(["build", "--release"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .envs(env.iter().copied());
    let what = format!(
        "`cargo build --release {}` in {}",
        args.join(" "),
        dir.display()
    );
    crate::process::checked_output(&mut command, &what).map(drop)
}

// ---------------------------------------------------------------------------
// The machine

struct Machine {
    cpus: usize,
    cpu_model: String,
    sha_extensions: bool,
    date: String,
    kernel: String,
    rustc: String,
}

impl Machine {
    fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_string())
        };
        let flags = field("flags").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: field("model name").unwrap_or_else(|| "unknown CPU".into()),
            sha_extensions: flags.split_whitespace().any(|f| f == "sha_ni"),
            date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
                .unwrap_or_else(|| "unknown date".into()),
            kernel: command_line("uname", &["-sr"]).unwrap_or_else(|| "unknown kernel".into()),
            rustc: command_line("rustc", &["-V"]).unwrap_or_else(|| "rustc".into()),
        }
    }
}

/// The first line a command prints, if it runs.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}

// ---------------------------------------------------------------------------
// Sizes and start-up

struct Sizes {
    pane: u64,
    hello: u64,
    pipeline: u64,
    peer: u64,
}

impl Sizes {
    fn measure(bins: &Binaries) -> Result<Sizes> {
        let size = |path: &Path| {
            std::fs::metadata(path)
                .map(|m| m.len())
                .with_context(|| format!("cannot read {}", path.display()))
        };
        Ok(Sizes {
            pane: size(&bins.pane_release)?,
            hello: size(&bins.hello)?,
            pipeline: size(&bins.pipeline)?,
            peer: size(&bins.peer)?,
        })
    }
}

struct Startup {
    pane: Samples,
    bare: Samples,
}

/// `pane --version` and the bare binary, alternating, `runs` times each.
fn startup(bins: &Binaries, runs: usize) -> Result<Startup> {
    let expected = format!("pane {NEW}");
    let output = Command::new(&bins.pane_release)
        .arg("--version")
        .output()
        .context("cannot run pane --version")?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if printed.trim() != expected {
        crate::bail!("pane --version printed {printed:?}, not {expected:?}");
    }
    let time = |program: &Path| -> Result<Duration> {
        let start = Instant::now();
        let status = Command::new(program)
            .arg("--version")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let elapsed = start.elapsed();
        if !status.success() {
            crate::bail!("{} --version failed: {status}", program.display());
        }
        Ok(elapsed)
    };
    let mut result = Startup {
        pane: Samples::default(),
        bare: Samples::default(),
    };
    // A few untimed runs first: page cache, dynamic loader.
    for _ in 0..5 {
        time(&bins.pane_release)?;
        time(&bins.hello)?;
    }
    for round in 0..runs {
        if round % 2 == 0 {
            result.pane.push(time(&bins.pane_release)?);
            result.bare.push(time(&bins.hello)?);
        } else {
            result.bare.push(time(&bins.hello)?);
            result.pane.push(time(&bins.pane_release)?);
        }
    }
    Ok(result)
}

// ---------------------------------------------------------------------------
// Update time

/// Everything the update, memory and verification cases share.
struct Bench {
    bins: Binaries,
    key: TestKey,
    target: String,
    work: PathBuf,
    time_program: Option<PathBuf>,
    /// `--wrap-pane`: a command pane's timed updates run under.
    wrap_pane: Option<String>,
}

/// One release of [`NEW`] served on loopback, with the API shim the peer needs.
struct Stage {
    root: PathBuf,
    release: ReleaseDir,
    archive_size: u64,
    /// The archive's SHA-256, in hex.
    sha256: String,
    server: Server,
    shim: ApiShim,
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Pane,
    Peer,
    Floor,
}

const TOOLS: [Tool; 3] = [Tool::Pane, Tool::Peer, Tool::Floor];

struct UpdateCase {
    archive_size: u64,
    throttle: Option<u64>,
    pane: Samples,
    peer: Samples,
    floor: Samples,
}

impl Bench {
    /// Publishes [`NEW`] (the release build, padded so that the archive is
    /// about `archive_size` bytes) under a fresh root and serves it.
    fn stage(&self, name: &str, archive_size: u64) -> Result<Stage> {
        let root = self.work.join(name);
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        // How big the archive is without padding; the padding does not compress.
        let bare = Release::new(NEW)
            .binary(&self.bins.pane_release)
            .target(&self.target)
            .try_write(&root, &self.key)?;
        let bare_size = file_size(&bare.archive)?;
        std::fs::remove_dir_all(&bare.dir)
            .with_context(|| format!("cannot remove {}", bare.dir.display()))?;
        let release = Release::new(NEW)
            .binary(&self.bins.pane_release)
            .target(&self.target)
            .padding(archive_size.saturating_sub(bare_size))
            .try_write(&root, &self.key)?;
        let sha256 = crate::checksums::sha256_file(&release.archive)?;
        let server = Server::builder(&root).repository(OWNER, REPO).start()?;
        let shim = ApiShim::start(server.base_url())?;
        Ok(Stage {
            archive_size: file_size(&release.archive)?,
            root,
            release,
            sha256,
            server,
            shim,
        })
    }

    /// `rounds` rounds of pane, the peer and the floor, in an order that
    /// rotates every round, after one untimed warm-up of each.
    fn update_case(
        &self,
        stage: &Stage,
        rounds: usize,
        throttle: Option<u64>,
    ) -> Result<UpdateCase> {
        for tool in TOOLS {
            self.update_once(tool, stage, "warm-up")?;
        }
        if let Some(rate) = throttle {
            stage.server.set_fault(
                ".tar.gz",
                Fault::Throttle {
                    bytes_per_sec: rate,
                },
            );
        }
        let mut case = UpdateCase {
            archive_size: stage.archive_size,
            throttle,
            pane: Samples::default(),
            peer: Samples::default(),
            floor: Samples::default(),
        };
        for round in 0..rounds {
            for offset in 0..TOOLS.len() {
                let tool = TOOLS[(round + offset) % TOOLS.len()];
                let elapsed = self.update_once(tool, stage, &format!("round-{round}"))?;
                match tool {
                    Tool::Pane => case.pane.push(elapsed),
                    Tool::Peer => case.peer.push(elapsed),
                    Tool::Floor => case.floor.push(elapsed),
                }
            }
        }
        stage.server.clear_faults();
        Ok(case)
    }

    /// One update from [`OLD`] to [`NEW`] by `tool` in a fresh directory;
    /// only the update itself is timed. The result is checked, then removed.
    fn update_once(&self, tool: Tool, stage: &Stage, label: &str) -> Result<Duration> {
        let dir = self.work.join(format!("{tool:?}-{label}").to_lowercase());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let result = (|| -> Result<Duration> {
            let (elapsed, installed) = match tool {
                Tool::Pane => {
                    let installed = self.install_pane(stage, &dir)?;
                    let wrapper = self.wrap_pane.as_deref().unwrap_or_default();
                    let prefix: Vec<OsString> = wrapper
                        .replace("{label}", label)
                        .split_whitespace()
                        .map(OsString::from)
                        .collect();
                    let mut command = self.pane_command(&prefix, &installed, stage, &dir);
                    (time_success(&mut command, "pane self update")?, installed)
                }
                Tool::Peer => {
                    let installed = self.install_peer(&dir)?;
                    let mut command = self.peer_command(&[], &installed, stage, &dir);
                    (time_success(&mut command, "self-update-peer")?, installed)
                }
                Tool::Floor => {
                    let installed = dir.join("bin").join("pane");
                    let url = stage
                        .server
                        .download_url(NEW, &stage.release.archive_name());
                    let top = archive_folder(NEW, &self.target);
                    let start = Instant::now();
                    floor_update(&url, &stage.sha256, &top, &installed)?;
                    (start.elapsed(), installed)
                }
            };
            check_version(&installed, NEW)?;
            Ok(elapsed)
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result.with_context(|| format!("{tool:?} update ({label}) failed"))
    }

    /// Installs the [`OLD`] pane into `home` as `pane self install` does.
    fn install_pane(&self, stage: &Stage, home: &Path) -> Result<PathBuf> {
        let mut command = isolated(&[], &self.bins.pane_updater, home);
        self.pane_env(&mut command, stage, home);
        command.args(["self", "install", "--no-modify-path", "--yes"]);
        run_success(&mut command, "pane self install")?;
        let installed = home.join(".local").join("bin").join("pane");
        check_version(&installed, OLD)?;
        Ok(installed)
    }

    /// `[prefix…] <home>/.local/bin/pane self update --yes` in `home`.
    fn pane_command(
        &self,
        prefix: &[OsString],
        pane: &Path,
        stage: &Stage,
        home: &Path,
    ) -> Command {
        let mut command = isolated(prefix, pane, home);
        self.pane_env(&mut command, stage, home);
        command.args(["self", "update", "--yes"]);
        command
    }

    /// The environment the integration tests give pane (tests/it/common.rs).
    fn pane_env(&self, command: &mut Command, stage: &Stage, home: &Path) {
        command
            .envs(crate::sandbox::pane_env(
                home,
                &self.key,
                Some(&stage.server),
            ))
            .env("PANE_HTTP_TIMEOUT", "30")
            .env("PANE_LOCK_TIMEOUT", "60");
    }

    /// A copy of the peer at `dir/bin/self-update-peer`; it replaces itself.
    fn install_peer(&self, dir: &Path) -> Result<PathBuf> {
        let bin_dir = dir.join("bin");
        std::fs::create_dir_all(&bin_dir)
            .with_context(|| format!("cannot create {}", bin_dir.display()))?;
        let installed = bin_dir.join("self-update-peer");
        std::fs::copy(&self.bins.peer, &installed)
            .with_context(|| format!("cannot copy the peer to {}", installed.display()))?;
        Ok(installed)
    }

    fn peer_command(&self, prefix: &[OsString], peer: &Path, stage: &Stage, dir: &Path) -> Command {
        let tmp = dir.join("tmp");
        let _ = std::fs::create_dir_all(&tmp);
        let mut command = isolated(prefix, peer, dir);
        // self_update downloads into a temporary directory: the same disk.
        command
            .env("TMPDIR", &tmp)
            .arg(stage.shim.base_url())
            .args([OWNER, REPO, &self.target, OLD]);
        command
    }
}

/// `program` (or `prefix[0] prefix[1..] program`) with only PATH and HOME
/// from the environment, run in `home`, its input and output detached.
fn isolated(prefix: &[OsString], program: &Path, home: &Path) -> Command {
    let mut command = match prefix.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    };
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run_success(command: &mut Command, what: &str) -> Result<()> {
    crate::process::checked_output(command, what).map(drop)
}

/// The wall time from spawning `command` to its successful exit.
fn time_success(command: &mut Command, what: &str) -> Result<Duration> {
    let start = Instant::now();
    run_success(command, what)?;
    Ok(start.elapsed())
}

/// `binary --version` must print `pane <version>`.
fn check_version(binary: &Path, version: &str) -> Result<()> {
    let output = Command::new(binary)
        .arg("--version")
        .env("PANE_NO_UPDATE_CHECK", "1")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if printed.trim() != format!("pane {version}") {
        crate::bail!(
            "{} --version printed {printed:?}, not `pane {version}`",
            binary.display()
        );
    }
    Ok(())
}

/// The floor: what any updater that checks a download before unpacking it
/// must at least do with these bytes. One HTTP GET streamed to a file while
/// one SHA-256 runs over it, the digest compared, one gunzip and untar of the
/// binary into the target's directory, one rename. No signature, no fsync,
/// no smoke test, no kept copy. Done as well as pane does it: the hash and
/// the write of the download on a second thread, the binary written in
/// 256 KiB pieces.
fn floor_update(url: &str, expected: &str, top: &str, target: &Path) -> Result<()> {
    let dir = target
        .parent()
        .context_none("the target has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let archive_path = dir.join(".floor-download.tar.gz");
    let mut response = http_get(url)?;
    if response.status != 200 {
        crate::bail!("GET {url}: status {}", response.status);
    }
    let archive = File::create(&archive_path)
        .with_context(|| format!("cannot create {}", archive_path.display()))?;
    let digest = download_on_two_threads(&mut response.body, archive)
        .with_context(|| format!("cannot download {url} to {}", archive_path.display()))?;
    if crate::checksums::hex(&digest) != expected {
        crate::bail!("the floor's download does not match its SHA-256");
    }

    let wanted = format!("{top}/pane");
    let staged = dir.join(".floor-staged");
    let file = File::open(&archive_path)
        .with_context(|| format!("cannot open {}", archive_path.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut found = false;
    for entry in tar.entries().context("the archive is not a .tar.gz")? {
        let mut entry = entry.context("the archive is not a .tar.gz")?;
        if entry.path_bytes().as_ref() != wanted.as_bytes() {
            continue;
        }
        let out =
            File::create(&staged).with_context(|| format!("cannot create {}", staged.display()))?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
        std::io::copy(&mut entry, &mut out).context("cannot unpack the binary")?;
        let out = out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot unpack the binary")?;
        out.set_permissions(std::fs::Permissions::from_mode(0o755))
            .context("cannot set the binary's mode")?;
        found = true;
        break;
    }
    let _ = std::fs::remove_file(&archive_path);
    if !found {
        crate::bail!("the archive has no {wanted}");
    }
    std::fs::rename(&staged, target).with_context(|| format!("cannot replace {}", target.display()))
}

/// Reads `body` to its end on this thread while a second one writes it to
/// `file` and hashes it; returns the SHA-256. Buffers go back and forth, so
/// nothing is allocated per chunk.
fn download_on_two_threads(body: &mut impl Read, mut file: File) -> std::io::Result<[u8; 32]> {
    const CHUNK: usize = 256 * 1024;
    std::thread::scope(|scope| {
        let (to_writer, full) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (to_reader, empty) = std::sync::mpsc::channel::<Vec<u8>>();
        let writer = scope.spawn(move || -> std::io::Result<[u8; 32]> {
            let mut hasher = Sha256::new();
            for chunk in full {
                file.write_all(&chunk)?;
                hasher.update(&chunk);
                let _ = to_reader.send(chunk);
            }
            Ok(hasher.finalize().into())
        });
        let mut made = 0;
        loop {
            let mut buffer = match empty.try_recv() {
                Ok(buffer) => buffer,
                Err(_) if made < 4 => {
                    made += 1;
                    vec![0u8; CHUNK]
                }
                Err(_) => match empty.recv() {
                    Ok(buffer) => buffer,
                    Err(_) => break,
                },
            };
            // Whole chunks: a socket read returns less than one.
            buffer.resize(CHUNK, 0);
            let mut filled = 0;
            while filled < CHUNK {
                let n = body.read(&mut buffer[filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            buffer.truncate(filled);
            if to_writer.send(buffer).is_err() || filled < CHUNK {
                break;
            }
        }
        drop(to_writer);
        writer.join().expect("the floor's writer thread panicked")
    })
}

/// `Option` → [`Result`] with a fixed message.
trait ContextNone<T> {
    fn context_none(self, message: &str) -> Result<T>;
}

impl<T> ContextNone<T> for Option<T> {
    fn context_none(self, message: &str) -> Result<T> {
        self.ok_or_else(|| crate::Error::msg(message))
    }
}

// ---------------------------------------------------------------------------
// Memory

struct Memory {
    /// How the peak was read.
    method: &'static str,
    archive_size: u64,
    pane: Vec<u64>,
    pane_time: Samples,
    peer: Vec<u64>,
}

impl Bench {
    /// Peak RSS of pane's update of the big release (and of the peer's, for
    /// comparison), `runs` times each.
    fn memory(&self, stage: &Stage, runs: usize) -> Result<Memory> {
        let mut memory = Memory {
            method: if self.time_program.is_some() {
                "wait4 ru_maxrss (/usr/bin/time -f %M)"
            } else {
                "VmHWM of /proc/<pid>/status, polled every millisecond"
            },
            archive_size: stage.archive_size,
            pane: Vec::new(),
            pane_time: Samples::default(),
            peer: Vec::new(),
        };
        for run in 0..runs {
            for tool in [Tool::Pane, Tool::Peer] {
                let dir = self
                    .work
                    .join(format!("memory-{tool:?}-{run}").to_lowercase());
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let result = (|| -> Result<(u64, Duration)> {
                    let (peak, elapsed, installed) = match tool {
                        Tool::Pane => {
                            let installed = self.install_pane(stage, &dir)?;
                            let (peak, elapsed) = self.peak_rss(|prefix| {
                                self.pane_command(prefix, &installed, stage, &dir)
                            })?;
                            (peak, elapsed, installed)
                        }
                        _ => {
                            let installed = self.install_peer(&dir)?;
                            let (peak, elapsed) = self.peak_rss(|prefix| {
                                self.peer_command(prefix, &installed, stage, &dir)
                            })?;
                            (peak, elapsed, installed)
                        }
                    };
                    check_version(&installed, NEW)?;
                    Ok((peak, elapsed))
                })();
                let _ = std::fs::remove_dir_all(&dir);
                let (peak, elapsed) =
                    result.with_context(|| format!("{tool:?} update of the big release failed"))?;
                match tool {
                    Tool::Pane => {
                        memory.pane.push(peak);
                        memory.pane_time.push(elapsed);
                    }
                    _ => memory.peer.push(peak),
                }
            }
        }
        Ok(memory)
    }

    /// Runs the command `make` builds and returns its peak RSS in bytes and
    /// its wall time.
    fn peak_rss(&self, make: impl Fn(&[OsString]) -> Command) -> Result<(u64, Duration)> {
        match &self.time_program {
            Some(time) => {
                let report =
                    tempfile::NamedTempFile::new().context("cannot make a temporary file")?;
                let prefix = [
                    time.clone().into_os_string(),
                    "-f".into(),
                    "%M".into(),
                    "-o".into(),
                    report.path().as_os_str().to_owned(),
                ];
                let elapsed = time_success(&mut make(&prefix), "the update under /usr/bin/time")?;
                let text = std::fs::read_to_string(report.path())
                    .context("cannot read /usr/bin/time's report")?;
                let kib: u64 = text
                    .lines()
                    .rev()
                    .find_map(|line| line.trim().parse().ok())
                    .context_none("/usr/bin/time printed no maximum RSS")?;
                Ok((kib * 1024, elapsed))
            }
            None => {
                let start = Instant::now();
                let mut child = make(&[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("cannot start the update")?;
                let status_path = format!("/proc/{}/status", child.id());
                let mut peak = 0;
                let status = loop {
                    if let Ok(text) = std::fs::read_to_string(&status_path) {
                        if let Some(kib) = text
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| {
                                v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
                            })
                        {
                            peak = peak.max(kib * 1024);
                        }
                    }
                    if let Some(status) = child.try_wait().context("cannot wait for the update")? {
                        break status;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                if !status.success() {
                    crate::bail!("the update failed: {status}");
                }
                Ok((peak, start.elapsed()))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Verification throughput

struct Verify {
    file_size: u64,
    pane: Samples,
    sha256sum: Samples,
    openssl: Option<Samples>,
    /// One signature check of `SHA256SUMS` (minisign, trusted comment, parse).
    signature_check: Duration,
    sums_size: u64,
    /// A minisign check over the whole file: pane's verifier, and the stock
    /// `minisign -V` when it is installed.
    minisign_pane: Samples,
    minisign_cli: Option<Samples>,
}

impl Bench {
    fn verify_throughput(&self, stage: &Stage, rounds: usize) -> Result<Verify> {
        let file = &stage.release.archive;
        let expected = &stage.sha256;
        // The same file through each tool; the whole process is timed.
        let time = |program: &Path, args: &[&str], what: &str| -> Result<Duration> {
            let mut command = Command::new(program);
            command.args(args).arg(file);
            time_digest(&mut command, expected, what)
        };
        let pane = || time(&self.bins.verify_speed, &["sha256"], "verify-speed sha256");
        let sha256sum = || time(Path::new("sha256sum"), &[], "sha256sum");
        let openssl = || time(Path::new("openssl"), &["dgst", "-sha256", "-r"], "openssl");
        let mut result = Verify {
            file_size: file_size(file)?,
            pane: Samples::default(),
            sha256sum: Samples::default(),
            openssl: command_line("openssl", &["version"]).map(|_| Samples::default()),
            signature_check: Duration::ZERO,
            sums_size: file_size(&stage.release.sums_path())?,
            minisign_pane: Samples::default(),
            minisign_cli: command_line("minisign", &["-v"]).map(|_| Samples::default()),
        };
        // Warm the page cache; every tool then reads the same cached file.
        pane()?;
        sha256sum()?;
        for round in 0..rounds {
            for offset in 0..3 {
                match (round + offset) % 3 {
                    0 => result.pane.push(pane()?),
                    1 => result.sha256sum.push(sha256sum()?),
                    _ => {
                        if let Some(samples) = &mut result.openssl {
                            samples.push(openssl()?);
                        }
                    }
                }
            }
        }

        // A minisign signature over the whole file, checked by pane's
        // verifier and by the stock CLI, alternating.
        let signature = stage.root.join("whole-file.minisig");
        let text = File::open(file)
            .context("cannot open the archive")
            .and_then(|f| crate::signing::signature_text(self.key.secret_key(), f, "bench"))?;
        std::fs::write(&signature, text)
            .with_context(|| format!("cannot write {}", signature.display()))?;
        let key = self.key.public_key_line();
        let pane_check = || {
            let mut command = Command::new(&self.bins.verify_speed);
            command
                .arg("minisign-file")
                .arg(file)
                .arg(&signature)
                .arg(&key);
            time_digest(&mut command, "verified", "verify-speed minisign-file")
        };
        let cli_check = || {
            let mut command = Command::new("minisign");
            command
                .args(["-V", "-m"])
                .arg(file)
                .arg("-x")
                .arg(&signature)
                .args(["-P", &key]);
            time_digest(&mut command, "Signature", "minisign -V")
        };
        pane_check()?;
        for round in 0..rounds {
            if round % 2 == 1 || result.minisign_cli.is_none() {
                result.minisign_pane.push(pane_check()?);
            }
            if let Some(samples) = &mut result.minisign_cli {
                samples.push(cli_check()?);
            }
            if round % 2 == 0 && result.minisign_cli.is_some() {
                result.minisign_pane.push(pane_check()?);
            }
        }

        let mut checks = Samples::default();
        for _ in 0..3 {
            let mut command = Command::new(&self.bins.verify_speed);
            command
                .arg("minisign")
                .arg(stage.release.sums_path())
                .arg(stage.release.signature_path())
                .arg(self.key.public_key_line())
                .arg(NEW)
                .arg("2000");
            let output = crate::process::checked_output(&mut command, "verify-speed minisign")?;
            let nanos: u64 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .context("verify-speed minisign printed no number")?;
            checks.push(Duration::from_nanos(nanos));
        }
        result.signature_check = checks.median();
        Ok(result)
    }
}

/// Times `command`, which must print `expected` as the first word.
fn time_digest(command: &mut Command, expected: &str, what: &str) -> Result<Duration> {
    let start = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let elapsed = start.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || printed.split_whitespace().next() != Some(expected) {
        crate::bail!(
            "{what} printed {printed:?} ({}), not the digest {expected}",
            output.status
        );
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------
// HTTP on loopback, for the floor and the shim

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Box<dyn Read + Send>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET url` over plain HTTP/1.1 (`http://host:port/path` only); the body is
/// limited to `Content-Length` when the server sends one.
fn http_get(url: &str) -> Result<HttpResponse> {
    let rest = url
        .strip_prefix("http://")
        .context_none("only http:// URLs are supported here")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let stream =
        TcpStream::connect(authority).with_context(|| format!("cannot connect to {authority}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .context("cannot set a timeout")?;
    let mut writer = stream.try_clone().context("cannot clone a socket")?;
    write!(
        writer,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: pane-bench\r\nConnection: close\r\n\r\n"
    )
    .with_context(|| format!("cannot send GET {url}"))?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .with_context(|| format!("no answer to GET {url}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| crate::Error::msg(format!("GET {url}: bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .with_context(|| format!("GET {url}: cannot read the headers"))?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let body: Box<dyn Read + Send> = match length {
        Some(length) => Box::new(reader.take(length)),
        None => Box::new(reader),
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// self_update's GitHub backend downloads an asset from the API `url` the
/// listing gives it; the bench server lists only `browser_download_url` (the
/// file URL pane uses). This shim answers the peer's API requests with the
/// server's own JSON plus `"url": <browser_download_url>` on every asset, so
/// the peer then downloads the archive straight from the same server as pane
/// and the floor. Answers are cached after the first (warm-up) request, so
/// during timed runs the shim costs the peer no more than the server would.
struct ApiShim {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type CachedAnswer = (u16, Vec<(String, String)>, Vec<u8>);

impl ApiShim {
    fn start(upstream: &str) -> Result<ApiShim> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let own_base = format!("http://{addr}");
        let cache: Mutex<Vec<(String, CachedAnswer)>> = Mutex::new(Vec::new());
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("bench api shim".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if thread_stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let _ = shim_answer(stream, &upstream, &own_base, &cache);
                    }
                }
            })
            .context("cannot start the shim thread")?;
        Ok(ApiShim {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ApiShim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn shim_answer(
    mut stream: TcpStream,
    upstream: &str,
    own_base: &str,
    cache: &Mutex<Vec<(String, CachedAnswer)>>,
) -> Result<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .context("cannot set a timeout")?;
    let mut reader = BufReader::new(stream.try_clone().context("cannot clone a socket")?);
    let mut request_line = String::new();
    reader
        .read_line(&mut request_line)
        .context("cannot read the request")?;
    let mut line = String::new();
    while reader
        .read_line(&mut line)
        .context("cannot read the request")?
        > 2
    {
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let cached = {
        let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, a)| a.clone())
    };
    let (status, headers, body) = match cached {
        Some(answer) => answer,
        None => {
            let answer = shim_fetch(&format!("{upstream}{path}"), upstream, own_base)?;
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((path, answer.clone()));
            answer
        }
    };
    let mut head = format!("HTTP/1.1 {status} Shim\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body))
        .context("cannot answer")
}

/// The server's answer for `url`, with `url` added to every asset and the
/// server's address in `Link` replaced by the shim's.
fn shim_fetch(url: &str, upstream: &str, own_base: &str) -> Result<CachedAnswer> {
    let mut response = http_get(url)?;
    let mut body = Vec::new();
    response
        .body
        .read_to_end(&mut body)
        .with_context(|| format!("cannot read {url}"))?;
    let mut headers = vec![(
        "Content-Type".to_string(),
        response
            .header("content-type")
            .unwrap_or("application/json")
            .to_string(),
    )];
    if let Some(link) = response.header("link") {
        headers.push(("Link".into(), link.replace(upstream, own_base)));
    }
    if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body) {
        add_asset_urls(&mut json);
        body = serde_json::to_vec(&json).context("cannot encode JSON")?;
    }
    Ok((response.status, headers, body))
}

fn add_asset_urls(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_asset_urls),
        serde_json::Value::Object(release) => {
            if let Some(serde_json::Value::Array(assets)) = release.get_mut("assets") {
                for asset in assets.iter_mut().filter_map(|a| a.as_object_mut()) {
                    if let Some(download) = asset.get("browser_download_url").cloned() {
                        asset.insert("url".into(), download);
                    }
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Statistics and the report

#[derive(Clone, Debug, Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted
    }

    fn median(&self) -> Duration {
        let sorted = self.sorted();
        match sorted.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
        }
    }

    fn min(&self) -> Duration {
        self.sorted().first().copied().unwrap_or_default()
    }

    fn max(&self) -> Duration {
        self.sorted().last().copied().unwrap_or_default()
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::NAN
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn spread(samples: &Samples) -> String {
    format!(
        "{} ({}–{})",
        ms(samples.median()),
        ms(samples.min()),
        ms(samples.max())
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

fn mb_per_s(bytes: u64, d: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / d.as_secs_f64())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

fn median_u64(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

struct Report {
    machine: Machine,
    plan: Plan,
    sizes: Sizes,
    startup: Option<Startup>,
    updates: Vec<UpdateCase>,
    memory: Option<Memory>,
    verify: Option<Verify>,
}

impl Report {
    /// The results as Markdown.
    fn render(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "Run {} on {} × {}{}, {}, {}; {}.",
            m.date,
            m.cpus,
            m.cpu_model,
            if m.sha_extensions {
                " (SHA extensions)"
            } else {
                ""
            },
            m.kernel,
            m.rustc,
            if self.plan.quick {
                "a --quick run"
            } else if self.plan.updates_only {
                "update times only"
            } else {
                "a full run"
            }
        ));
        line(String::new());

        let mut goals: Vec<(String, String, &'static str)> = Vec::new();

        line("### Update time".into());
        line(String::new());
        line("From 1.0.0 to 1.1.0, median (min–max) over alternating rounds; the order of the three rotates every round.".into());
        line(String::new());
        line(
            "| release | rounds | pane | self_update peer | floor | pane/peer | pane/floor |"
                .into(),
        );
        line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |".into());
        for case in &self.updates {
            let pane_peer = ratio(case.pane.median(), case.peer.median());
            let pane_floor = ratio(case.pane.median(), case.floor.median());
            let label = match case.throttle {
                Some(rate) => format!(
                    "{} at {} Mbit/s",
                    mib(case.archive_size),
                    rate * 8 / 1_000_000
                ),
                None => mib(case.archive_size),
            };
            line(format!(
                "| {label} | {} | {} | {} | {} | {pane_peer:.2} | {pane_floor:.2} |",
                case.pane.0.len(),
                spread(&case.pane),
                spread(&case.peer),
                spread(&case.floor),
            ));
            if case.throttle.is_none() {
                goals.push((
                    format!("pane/peer ≤ 1.0 at {}", mib(case.archive_size)),
                    format!("{pane_peer:.2}"),
                    verdict(pane_peer <= 1.0),
                ));
            }
        }
        line(String::new());

        if let Some(memory) = &self.memory {
            let pane = memory.pane.iter().copied().max().unwrap_or_default();
            let peer = median_u64(&memory.peer);
            line("### Memory".into());
            line(String::new());
            line(format!(
                "Peak RSS updating to a {} release, {} run(s) each; {}.",
                mib(memory.archive_size),
                memory.pane.len(),
                memory.method
            ));
            line(String::new());
            line("| | peak RSS (highest) | peak RSS (median) | update time (median) |".into());
            line("| --- | ---: | ---: | ---: |".into());
            line(format!(
                "| pane | {} | {} | {} |",
                mib(pane),
                mib(median_u64(&memory.pane)),
                ms(memory.pane_time.median())
            ));
            line(format!(
                "| self_update peer | {} | {} | |",
                mib(memory.peer.iter().copied().max().unwrap_or_default()),
                mib(peer)
            ));
            line(String::new());
            goals.push((
                format!("peak RSS ≤ 8 MiB at {}", mib(memory.archive_size)),
                mib(pane),
                verdict(pane <= 8 * MIB),
            ));
        }

        let s = &self.sizes;
        line("### Binary size".into());
        line(String::new());
        line("All with pane's release profile (`opt-level = \"s\"` with sha2 and zlib-rs at 3, fat LTO, one codegen unit, stripped, `panic = \"abort\"`).".into());
        line(String::new());
        line("| binary | size | over the bare binary |".into());
        line("| --- | ---: | ---: |".into());
        let over = |size: u64| mib(size.saturating_sub(s.hello));
        line(format!(
            "| pane (`cargo build --release -p pane`) | {} | {} |",
            mib(s.pane),
            over(s.pane)
        ));
        line(format!(
            "| pane's update pipeline alone (`pane-pipeline`: no CLI) | {} | {} |",
            mib(s.pipeline),
            over(s.pipeline)
        ));
        line(format!(
            "| self_update's GitHub flow alone (the peer) | {} | {} |",
            mib(s.peer),
            over(s.peer)
        ));
        line(format!(
            "| bare binary printing one line | {} | |",
            mib(s.hello)
        ));
        line(String::new());
        line(format!(
            "The updater adds {} to a bare binary (self_update: {}); pane's CLI and other commands add {} on top.",
            over(s.pipeline),
            over(s.peer),
            mib(s.pane.saturating_sub(s.pipeline))
        ));
        line(String::new());
        goals.push((
            "release binary ≤ 4 MiB".into(),
            mib(s.pane),
            verdict(s.pane <= 4 * MIB),
        ));

        if let Some(startup) = &self.startup {
            let r = ratio(startup.pane.median(), startup.bare.median());
            line("### Start-up".into());
            line(String::new());
            line(format!(
                "Spawn to exit, median (min–max) of {} alternating runs each.",
                startup.pane.0.len()
            ));
            line(String::new());
            line("| `pane --version` | bare binary | ratio |".into());
            line("| ---: | ---: | ---: |".into());
            line(format!(
                "| {} | {} | {r:.2} |",
                spread(&startup.pane),
                spread(&startup.bare)
            ));
            line(String::new());
            goals.push((
                "start-up ≤ 1.2 × bare".into(),
                format!("{r:.2}"),
                verdict(r <= 1.2),
            ));
        }

        if let Some(verify) = &self.verify {
            line("### Verification throughput".into());
            line(String::new());
            line(format!(
                "SHA-256 of the same {} file (in the page cache), whole process timed, median of {} alternating rounds.",
                mib(verify.file_size),
                verify.pane.0.len()
            ));
            line(String::new());
            line("| | median | throughput |".into());
            line("| --- | ---: | ---: |".into());
            let row = |name: &str, samples: &Samples| {
                format!(
                    "| {name} | {} | {} |",
                    ms(samples.median()),
                    mb_per_s(verify.file_size, samples.median())
                )
            };
            line(row(
                "pane (`pane::update::verify::sha256_file`)",
                &verify.pane,
            ));
            line(row("`sha256sum`", &verify.sha256sum));
            if let Some(openssl) = &verify.openssl {
                line(row("`openssl dgst -sha256`", openssl));
            }
            line(String::new());
            line(format!(
                "A minisign check of the same file (prehashed: BLAKE2b-512 of the file, then Ed25519), whole process timed, median of {} alternating rounds.",
                verify.minisign_pane.0.len()
            ));
            line(String::new());
            line("| | median | throughput |".into());
            line("| --- | ---: | ---: |".into());
            line(row(
                "pane's verifier (minisign-verify, streamed)",
                &verify.minisign_pane,
            ));
            if let Some(cli) = &verify.minisign_cli {
                line(row("`minisign -V`", cli));
            }
            line(String::new());
            line(format!(
                "pane's signature check of a release (`verify_sums`: minisign prehashed Ed25519 over the {}-byte `SHA256SUMS`, trusted comment, parsing): {:.1} µs, once per update.",
                verify.sums_size,
                verify.signature_check.as_secs_f64() * 1e6
            ));
            line(String::new());
            // OpenSSL's hand-scheduled assembly is the machine's SHA speed;
            // a compiled implementation on the same instructions lands
            // within a fifth of it, a software one (sha256sum) far below.
            if let Some(openssl) = &verify.openssl {
                let r = ratio(openssl.median(), verify.pane.median());
                goals.push((
                    "SHA-256 ≥ 0.8 × `openssl dgst` (SHA extensions)".into(),
                    format!("{r:.2} ×"),
                    verdict(r >= 0.8),
                ));
            }
        }

        line("### Goals".into());
        line(String::new());
        line("| goal | measured | |".into());
        line("| --- | ---: | --- |".into());
        for (goal, measured, verdict) in goals {
            line(format!("| {goal} | {measured} | {verdict} |"));
        }
        out
    }
}

/// Replaces the results between the markers of `BENCHMARKS.md` (or appends
/// them, with the markers, if there are none).
fn write_results(path: &Path, results: &str) -> Result<()> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{RESULTS_BEGIN}\n{results}{RESULTS_END}");
    let next = match (current.find(RESULTS_BEGIN), current.find(RESULTS_END)) {
        (Some(begin), Some(end)) if begin < end => format!(
            "{}{block}{}",
            &current[..begin],
            &current[end + RESULTS_END.len()..]
        ),
        _ => format!("{current}\n## Last results\n\n{block}\n"),
    };
    std::fs::write(path, next).with_context(|| format!("cannot write {}", path.display()))
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        let samples = |ms: &[u64]| Samples(ms.iter().map(|&m| Duration::from_millis(m)).collect());
        assert_eq!(samples(&[5, 1, 3]).median(), Duration::from_millis(3));
        assert_eq!(samples(&[4, 1, 3, 2]).median(), Duration::from_micros(2500));
        assert_eq!(samples(&[]).median(), Duration::ZERO);
    }

    #[test]
    fn the_shim_adds_asset_urls() {
        let mut json = serde_json::json!([{
            "tag_name": "v1.1.0",
            "assets": [{ "name": "a.tar.gz", "browser_download_url": "http://x/a.tar.gz" }]
        }]);
        add_asset_urls(&mut json);
        assert_eq!(json[0]["assets"][0]["url"], "http://x/a.tar.gz");
    }

    /// A report with every section, its figures fixed.
    fn sample_report(quick: bool) -> Report {
        let ms =
            |values: &[u64]| Samples(values.iter().map(|&m| Duration::from_millis(m)).collect());
        let plan = Plan::new(&Options {
            quick,
            ..Options::default()
        });
        let update =
            |archive_size, throttle, pane: &[u64], peer: &[u64], floor: &[u64]| UpdateCase {
                archive_size,
                throttle,
                pane: ms(pane),
                peer: ms(peer),
                floor: ms(floor),
            };
        Report {
            machine: Machine {
                cpus: 2,
                cpu_model: "Test CPU".into(),
                sha_extensions: !quick,
                date: "2026-01-02 03:04 UTC".into(),
                kernel: "Linux 6.1".into(),
                rustc: "rustc 1.89.0".into(),
            },
            plan,
            sizes: Sizes {
                pane: 3 * MIB,
                hello: MIB / 4,
                pipeline: 2 * MIB,
                peer: 5 * MIB,
            },
            startup: Some(Startup {
                pane: ms(&[2, 3, 4]),
                bare: ms(&[1, 2, 3]),
            }),
            updates: vec![
                update(3 * MIB, None, &[40, 50, 60], &[80, 90, 100], &[30, 35, 40]),
                update(40 * MIB, Some(12_500_000), &[3000], &[3100], &[2900]),
            ],
            memory: Some(Memory {
                method: "wait4 ru_maxrss (/usr/bin/time -f %M)",
                archive_size: 200 * MIB,
                pane: vec![6 * MIB, 7 * MIB],
                pane_time: ms(&[900, 1100]),
                peer: vec![300 * MIB, 310 * MIB, 305 * MIB],
            }),
            verify: Some(Verify {
                file_size: 200 * MIB,
                pane: ms(&[100, 110, 120]),
                sha256sum: ms(&[400]),
                openssl: quick.then(|| ms(&[110])),
                signature_check: Duration::from_micros(85),
                sums_size: 97,
                minisign_pane: ms(&[300]),
                minisign_cli: (!quick).then(|| ms(&[350])),
            }),
        }
    }

    /// Every section, both ways each optional row can go; the expected
    /// text is what `BENCHMARKS.md` gets, byte for byte.
    #[test]
    fn the_report_renders_every_section() {
        assert_eq!(
            sample_report(false).render(),
            include_str!("../testdata/bench-report-full.md")
        );
        assert_eq!(
            sample_report(true).render(),
            include_str!("../testdata/bench-report-quick.md")
        );
    }

    #[test]
    fn results_replace_the_marked_block_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BENCHMARKS.md");
        std::fs::write(
            &path,
            format!("# prose\n\n{RESULTS_BEGIN}\nold\n{RESULTS_END}\n\nmore prose\n"),
        )
        .unwrap();
        write_results(&path, "new\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("# prose\n\n{RESULTS_BEGIN}\nnew\n{RESULTS_END}\n\nmore prose\n")
        );
    }
}
