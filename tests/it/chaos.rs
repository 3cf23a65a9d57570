//! A small dose of `cargo xtask chaos`, through the same code: `pane self
//! update` to a 40 MiB release killed with SIGKILL at random moments, and
//! eight updaters racing for each new release. The command runs hundreds of
//! kills and more rounds; the figures of both go in docs/robustness.md.

use xtask::chaos::{kill_chaos, race_chaos, KillOptions, RaceOptions};

#[test]
fn random_kills_during_updates_are_survived() {
    let options = KillOptions {
        kills: 10,
        ..KillOptions::default()
    };
    let mut log = Vec::new();
    let report = kill_chaos(&options, &mut log).unwrap();
    eprintln!("{}{report}", String::from_utf8_lossy(&log));
    assert!(report.failure.is_none(), "{report}");
    assert_eq!(report.survived, options.kills, "{report}");
    // The kills must land in more than one phase to prove anything.
    assert!(report.phases.len() >= 3, "{report}");
}

#[test]
fn racing_updaters_install_once_per_release() {
    let mut log = Vec::new();
    let report = race_chaos(&RaceOptions::rounds(2), &mut log).unwrap();
    eprintln!("{}{report}", String::from_utf8_lossy(&log));
    assert!(report.failure.is_none(), "{report}");
    assert_eq!(report.consistent, 2, "{report}");
    assert_eq!(report.installs, 2, "{report}");
}
