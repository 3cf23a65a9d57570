//! The results as Markdown, and their place in `BENCHMARKS.md`.

use std::path::Path;
use std::time::Duration;

use super::machine::Machine;
use super::memory::Memory;
use super::startup::{Sizes, Startup};
use super::stats::{median_u64, ratio, Samples};
use super::update::UpdateCase;
use super::verify::Verify;
use super::{Plan, MIB};
use crate::error::{Context, Result};

/// Where the results go in `BENCHMARKS.md`.
const RESULTS_BEGIN: &str = "<!-- bench:results:begin -->";
const RESULTS_END: &str = "<!-- bench:results:end -->";

pub(super) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

pub(super) fn spread(samples: &Samples) -> String {
    format!(
        "{} ({}–{})",
        ms(samples.median()),
        ms(samples.min()),
        ms(samples.max())
    )
}

pub(super) fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

pub(super) fn mb_per_s(bytes: u64, d: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / d.as_secs_f64())
}

pub(super) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

pub(super) struct Report {
    pub(super) machine: Machine,
    pub(super) plan: Plan,
    pub(super) sizes: Sizes,
    pub(super) startup: Option<Startup>,
    pub(super) updates: Vec<UpdateCase>,
    /// The network cases ([`super::network`]).
    pub(super) network: Vec<UpdateCase>,
    pub(super) memory: Option<Memory>,
    pub(super) verify: Option<Verify>,
}

/// The goals the report ends with: what, the figure, met or missed.
pub(super) type Goals = Vec<(String, String, &'static str)>;

/// Markdown, a line at a time.
#[derive(Default)]
pub(super) struct Markdown(String);

impl Markdown {
    pub(super) fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    pub(super) fn blank(&mut self) {
        self.0.push('\n');
    }
}

impl Report {
    /// The results as Markdown: a section for each measurement made, then
    /// the goals they meet or miss.
    pub(super) fn render(&self) -> String {
        let mut out = Markdown::default();
        let mut goals = Goals::new();
        self.render_machine(&mut out);
        if !self.updates.is_empty() {
            self.render_updates(&mut out, &mut goals);
        }
        self.render_network(&mut out, &mut goals);
        if let Some(memory) = &self.memory {
            render_memory(memory, &mut out, &mut goals);
        }
        render_sizes(&self.sizes, &mut out, &mut goals);
        if let Some(startup) = &self.startup {
            render_startup(startup, &mut out, &mut goals);
        }
        if let Some(verify) = &self.verify {
            render_verify(verify, &mut out, &mut goals);
        }
        render_goals(goals, &mut out);
        out.0
    }

    /// What ran, where, and how much of it.
    fn render_machine(&self, out: &mut Markdown) {
        out.line(format!(
            "Run {} on {} × {}{}, {}, {}; {}.",
            self.machine.date,
            self.machine.cpus,
            self.machine.cpu_model,
            if self.machine.sha_extensions {
                " (SHA extensions)"
            } else {
                ""
            },
            self.machine.kernel,
            self.machine.rustc,
            if self.plan.quick {
                "a --quick run"
            } else if self.plan.updates_only {
                "update times only"
            } else if self.plan.network_only {
                "the network cases only"
            } else {
                "a full run"
            }
        ));
        out.blank();
    }

    fn render_updates(&self, out: &mut Markdown, goals: &mut Goals) {
        out.line("### Update time");
        out.blank();
        out.line("From 1.0.0 to 1.1.0, median (min–max) over alternating rounds; the order of the three rotates every round.");
        out.blank();
        out.line("| release | rounds | pane | self_update peer | floor | pane/peer | pane/floor |");
        out.line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
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
            out.line(format!(
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
        out.blank();
    }
}

fn render_memory(memory: &Memory, out: &mut Markdown, goals: &mut Goals) {
    let pane = memory.pane.iter().copied().max().unwrap_or_default();
    let peer = median_u64(&memory.peer);
    out.line("### Memory");
    out.blank();
    out.line(format!(
        "Peak RSS updating to a {} release, {} run(s) each; {}.",
        mib(memory.archive_size),
        memory.pane.len(),
        memory.method
    ));
    out.blank();
    out.line("| | peak RSS (highest) | peak RSS (median) | update time (median) |");
    out.line("| --- | ---: | ---: | ---: |");
    out.line(format!(
        "| pane | {} | {} | {} |",
        mib(pane),
        mib(median_u64(&memory.pane)),
        ms(memory.pane_time.median())
    ));
    out.line(format!(
        "| self_update peer | {} | {} | |",
        mib(memory.peer.iter().copied().max().unwrap_or_default()),
        mib(peer)
    ));
    out.blank();
    goals.push((
        format!("peak RSS ≤ 8 MiB at {}", mib(memory.archive_size)),
        mib(pane),
        verdict(pane <= 8 * MIB),
    ));
}

fn render_sizes(s: &Sizes, out: &mut Markdown, goals: &mut Goals) {
    out.line("### Binary size");
    out.blank();
    out.line("All with pane's release profile (`opt-level = \"s\"` with sha2 and zlib-rs at 3, fat LTO, one codegen unit, stripped, `panic = \"abort\"`).");
    out.blank();
    out.line("| binary | size | over the bare binary |");
    out.line("| --- | ---: | ---: |");
    let over = |size: u64| mib(size.saturating_sub(s.hello));
    out.line(format!(
        "| pane (`cargo build --release -p pane`) | {} | {} |",
        mib(s.pane),
        over(s.pane)
    ));
    out.line(format!(
        "| pane's update pipeline alone (`pane-pipeline`: no CLI) | {} | {} |",
        mib(s.pipeline),
        over(s.pipeline)
    ));
    out.line(format!(
        "| self_update's GitHub flow alone (the peer) | {} | {} |",
        mib(s.peer),
        over(s.peer)
    ));
    out.line(format!(
        "| bare binary printing one line | {} | |",
        mib(s.hello)
    ));
    out.blank();
    out.line(format!(
            "The updater adds {} to a bare binary (self_update: {}); pane's CLI and other commands add {} on top.",
            over(s.pipeline),
            over(s.peer),
            mib(s.pane.saturating_sub(s.pipeline))
        ));
    out.blank();
    goals.push((
        "release binary ≤ 3.5 MiB".into(),
        mib(s.pane),
        verdict(s.pane * 2 <= 7 * MIB),
    ));
}

fn render_startup(startup: &Startup, out: &mut Markdown, goals: &mut Goals) {
    let r = ratio(startup.pane.median(), startup.bare.median());
    out.line("### Start-up");
    out.blank();
    out.line(format!(
        "Spawn to exit, median (min–max) of {} alternating runs each.",
        startup.pane.0.len()
    ));
    out.blank();
    out.line("| `pane --version` | bare binary | ratio |");
    out.line("| ---: | ---: | ---: |");
    out.line(format!(
        "| {} | {} | {r:.2} |",
        spread(&startup.pane),
        spread(&startup.bare)
    ));
    out.blank();
    goals.push((
        "`pane --version` ≤ 1.1 × bare".into(),
        format!("{r:.2}"),
        verdict(r <= 1.1),
    ));
}

fn render_verify(verify: &Verify, out: &mut Markdown, goals: &mut Goals) {
    out.line("### Verification throughput");
    out.blank();
    out.line(format!(
            "SHA-256 of the same {} file (in the page cache), whole process timed, median of {} alternating rounds.",
            mib(verify.file_size),
            verify.pane.0.len()
        ));
    out.blank();
    out.line("| | median | throughput |");
    out.line("| --- | ---: | ---: |");
    let row = |name: &str, samples: &Samples| {
        format!(
            "| {name} | {} | {} |",
            ms(samples.median()),
            mb_per_s(verify.file_size, samples.median())
        )
    };
    out.line(row(
        "pane (`pane::update::digest::sha256_file`)",
        &verify.pane,
    ));
    out.line(row("`sha256sum`", &verify.sha256sum));
    if let Some(openssl) = &verify.openssl {
        out.line(row("`openssl dgst -sha256`", openssl));
    }
    out.blank();
    out.line(format!(
            "A minisign check of the same file (prehashed: BLAKE2b-512 of the file, then Ed25519), whole process timed, median of {} alternating rounds.",
            verify.minisign_pane.0.len()
        ));
    out.blank();
    out.line("| | median | throughput |");
    out.line("| --- | ---: | ---: |");
    out.line(row(
        "pane's verifier (minisign-verify, streamed)",
        &verify.minisign_pane,
    ));
    if let Some(cli) = &verify.minisign_cli {
        out.line(row("`minisign -V`", cli));
    }
    out.blank();
    out.line(format!(
            "pane's signature check of a release (`verify_sums`: minisign prehashed Ed25519 over the {}-byte `SHA256SUMS`, trusted comment, parsing): {:.1} µs, once per update.",
            verify.sums_size,
            verify.signature_check.as_secs_f64() * 1e6
        ));
    out.blank();
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

fn render_goals(goals: Goals, out: &mut Markdown) {
    out.line("### Goals");
    out.blank();
    out.line("| goal | measured | |");
    out.line("| --- | ---: | --- |");
    let out_of_reach = goals
        .iter()
        .any(|(_, _, v)| *v == super::report_network::OUT_OF_REACH);
    for (goal, measured, verdict) in goals {
        out.line(format!("| {goal} | {measured} | {verdict} |"));
    }
    if out_of_reach {
        out.blank();
        out.line("Out of reach: the time the goal asks for is below curl's time plus the round trips that contender waits beyond curl's by its design (pane told nothing: one, the answer that names the latest release; after a check: none), so no saving in pane's own work could meet it on this link.");
    }
}

/// Replaces the results between the markers of `BENCHMARKS.md` (or appends
/// them, with the markers, if there are none).
pub(super) fn write_results(path: &Path, results: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::memory::Memory;
    use crate::bench::report_network::sample_network;
    use crate::bench::startup::{Sizes, Startup};
    use crate::bench::update::UpdateCase;
    use crate::bench::verify::Verify;
    use crate::bench::{Options, Plan, MIB};
    use crate::net::ServerKind;

    /// A report with every section, its figures fixed.
    fn sample_report(quick: bool) -> Report {
        let ms =
            |values: &[u64]| Samples(values.iter().map(|&m| Duration::from_millis(m)).collect());
        let plan = Plan::new(
            &Options {
                quick,
                ..Options::default()
            },
            ServerKind::Nginx,
        );
        let update =
            |archive_size, throttle, pane: &[u64], peer: &[u64], floor: &[u64]| UpdateCase {
                archive_size,
                throttle,
                network: None,
                pane: ms(pane),
                peer: ms(peer),
                floor: ms(floor),
                after_check: Samples::default(),
                traffic: None,
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
            network: sample_network(),
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
        // UPDATE_GOLDEN=1 rewrites the expected files from the code.
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let testdata = crate::workspace::root().join("xtask/testdata");
            std::fs::write(
                testdata.join("bench-report-full.md"),
                sample_report(false).render(),
            )
            .unwrap();
            std::fs::write(
                testdata.join("bench-report-quick.md"),
                sample_report(true).render(),
            )
            .unwrap();
        }
        assert_eq!(
            sample_report(false).render(),
            include_str!("../../testdata/bench-report-full.md")
        );
        assert_eq!(
            sample_report(true).render(),
            include_str!("../../testdata/bench-report-quick.md")
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
