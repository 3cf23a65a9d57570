//! A short fleet drill (`cargo xtask drill --short`): twelve real
//! installations, every kind of the full drill (`notify`, `auto`, `off`,
//! pinned, asking for the rolling-out release early), through the same
//! incident in simulated time: 1.2.0 rolled out at hour 0, withdrawn at 6.25,
//! 1.2.1 critical at 20. The drill's four checks must hold. It uses the
//! `dev` fixture binaries the other tests build (the full drill's `drill`
//! profile only makes them smaller).

use xtask::drill::{self, Options};

#[test]
fn a_short_drill_passes_its_checks() {
    let out = tempfile::tempdir().unwrap();
    let options = Options {
        fleet: Some(12),
        seed: 2026,
        short: true,
        threads: 2,
        out: Some(out.path().to_path_buf()),
        keep: false,
        // The other tests' fixture builds: no extra profile to compile.
        profile: "dev".into(),
    };
    let report = drill::run(&options, &mut std::io::stderr()).unwrap();
    eprintln!("{}\n{}", report.table, report.summary);
    assert_eq!(report.fleet, 12);
    assert!(
        report.chart.is_file(),
        "no chart at {}",
        report.chart.display()
    );
    let svg = std::fs::read_to_string(&report.chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(report.table.contains("| hour |"));
    assert_eq!(report.checks.len(), 4);
    assert!(
        report.passed(),
        "the drill's checks failed:\n{}",
        report.summary
    );
}
