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
//! - **Update time over the network** ([`network`]): the same over TLS from
//!   three release servers in GitHub's shape (pane's own, a Python
//!   `http.server`, nginx), through a relay that adds a round-trip time and
//!   a bandwidth ([`crate::net::relay`]), against `curl` fetching the
//!   archive alone.
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

mod build;
mod floor;
mod http;
mod machine;
mod memory;
mod network;
mod report;
mod report_network;
mod stage;
mod startup;
mod stats;
mod update;
mod verify;

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use crate::fixtures::{host_target, TestKey};

use self::build::Binaries;
use self::machine::Machine;
use self::report::{write_results, Report};
use self::startup::{startup, Sizes};

/// The installed version, and the version every bench release offers.
const OLD: &str = "1.0.0";
const NEW: &str = "1.1.0";
const OWNER: &str = "pane-cli";
const REPO: &str = "pane";
const MIB: u64 = 1024 * 1024;

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
    /// Only the network cases (TLS, three servers, shaped links); like
    /// --quick, it leaves BENCHMARKS.md alone
    #[arg(long)]
    pub network_only: bool,
    /// Run pane's timed updates under this command, for profiling: split on
    /// spaces, `{label}` replaced by the round's name (with `-after-check`
    /// for pane after a check), e.g.
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
    network_only: bool,
    wrap_pane: Option<String>,
    startup_runs: usize,
    memory_runs: usize,
    verify_rounds: usize,
    updates: Vec<UpdatePlan>,
    network: Vec<network::NetworkPlan>,
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
    fn new(options: &Options, shaped_server: crate::net::ServerKind) -> Plan {
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
            network_only: options.network_only,
            wrap_pane: options.wrap_pane.clone(),
            startup_runs: if quick { 100 } else { 500 },
            memory_runs: if quick { 1 } else { 3 },
            verify_rounds: if quick { 3 } else { 7 },
            updates: if options.network_only {
                Vec::new()
            } else {
                updates
            },
            network: if options.updates_only {
                Vec::new()
            } else {
                network::plan(quick, shaped_server)
            },
            memory_size: 200 * MIB,
        }
    }
}

/// Runs the benchmarks, prints the results, and (after a full run) writes
/// them into `BENCHMARKS.md`.
pub fn run(options: &Options) -> Result<()> {
    let plan = Plan::new(options, network::shaped_server()?);
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
        network: Vec::new(),
        memory: None,
        verify: None,
    };
    let partial = plan.updates_only || plan.network_only;
    if !partial {
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

    report.network = bench.network_cases(&plan.network)?;

    if !partial {
        bench.memory_and_throughput(&plan, &mut report)?;
    }

    let text = report.render();
    println!("{text}");
    if plan.quick || partial {
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

/// `Option` → [`Result`] with a fixed message.
trait ContextNone<T> {
    fn context_none(self, message: &str) -> Result<T>;
}

impl<T> ContextNone<T> for Option<T> {
    fn context_none(self, message: &str) -> Result<T> {
        self.ok_or_else(|| crate::Error::msg(message))
    }
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .with_context(|| format!("cannot read {}", path.display()))
}
