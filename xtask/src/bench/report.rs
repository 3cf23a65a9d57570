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
    pub(super) memory: Option<Memory>,
    pub(super) verify: Option<Verify>,
}

impl Report {
    /// The results as Markdown.
    pub(super) fn render(&self) -> String {
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
    use crate::bench::startup::{Sizes, Startup};
    use crate::bench::update::UpdateCase;
    use crate::bench::verify::Verify;
    use crate::bench::{Options, Plan, MIB};

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
