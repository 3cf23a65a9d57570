//! What `update` without a version (and `check`, the notice and the
//! background auto-update alike) should do, given the channel: one pure
//! function over the document, the installation and the newest release.
//!
//! The newest release is what the release source says (its signed trusted
//! comment); the channel may only hold it back (withdrawn, rolling out) or
//! send the installation down to a replacement, never name a release of its
//! own: every version planned here is still fetched and verified through
//! `SHA256SUMS` and a release key.

use semver::Version;

use super::decide::{
    downgrade_floor, is_withdrawn, minimum_version, replacement, takes_prereleases,
    ReplacementError,
};
use super::document::{ChannelDocument, Withdrawal};
use super::rollout::{availability, Availability, RolloutNumber};
use super::time::Timestamp;

/// The installation as the plan sees it.
#[derive(Clone, Debug)]
pub struct Installation<'a> {
    /// This build's target triple.
    pub target: &'a str,
    /// The installed (running) version.
    pub running: &'a Version,
    /// Every version this installation has verified (the receipt's list).
    pub verified: &'a [Version],
    /// Its rollout number.
    pub number: RolloutNumber,
    /// It asked for pre-releases (`--prerelease`). Running one counts as
    /// asking too ([`takes_prereleases`]); otherwise a pre-release the
    /// channel names as a replacement is not used.
    pub prerelease: bool,
}

/// The plan, with what the user should be told.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Install `version`.
    Install { version: Version, why: Why },
    /// Nothing to install now.
    Stay { why: Stay },
}

/// Why a version is to be installed.
#[derive(Clone, Debug, PartialEq)]
pub enum Why {
    /// A newer release, available to this installation.
    Newer(Availability),
    /// The running version is withdrawn: go to the replacement (or the floor
    /// above it), a downgrade the maintainers' signature authorises.
    /// `passed_over` says why the replacement the withdrawal names is not
    /// where it goes (withdrawn, below the minimum, a pre-release this
    /// installation does not take): the floor without it is.
    Withdrawn {
        withdrawal: Withdrawal,
        passed_over: Option<Box<ReplacementError>>,
    },
}

/// Why nothing is installed.
#[derive(Clone, Debug, PartialEq)]
pub enum Stay {
    /// The running version is the newest.
    UpToDate,
    /// The newest release is withdrawn here.
    LatestWithdrawn(Withdrawal),
    /// The newest release is rolling out and has not reached this
    /// installation; it gets it about `eta` (or now, with `--now`).
    RollingOut { version: Version, eta: Timestamp },
    /// The running version is withdrawn, but the channel's replacement
    /// cannot be used, and nothing newer can be: warn, keep running.
    WithdrawnWithoutWayOut {
        withdrawal: Withdrawal,
        problem: Option<ReplacementError>,
    },
}

/// The plan for `update` without a version. `latest` is the newest release
/// the source offers; `now_flag` is `update --now` (skip the rollout).
pub fn plan_update(
    document: &ChannelDocument,
    installation: &Installation<'_>,
    latest: &Version,
    now: Timestamp,
    now_flag: bool,
) -> Plan {
    let Installation {
        target, running, ..
    } = *installation;
    let newer = newer_plan(document, installation, latest, now, now_flag);
    let Some(withdrawal) = document.withdrawal(running, target).cloned() else {
        return newer;
    };
    // The running version is withdrawn. A newer release available here
    // (a fix forward) beats going down.
    if let Plan::Install { .. } = newer {
        return newer;
    }
    let prereleases = takes_prereleases(running, installation.prerelease);
    let checked = replacement(document, running, target, running, prereleases);
    let problem = checked.as_ref().err().cloned();
    // Down to the floor: the replacement, or a verified version above it
    // that is not withdrawn. The running version's own replacement counts
    // even when `verified` leaves the running version out (a pre-release,
    // when only stable versions are given). Never below the compiled-in
    // minimum. A replacement that cannot be used counts as none.
    let floor = downgrade_floor(
        document,
        target,
        running,
        installation.verified,
        prereleases,
    )
    .max(checked.ok().flatten());
    match floor {
        Some(version)
            if &version != running
                && !is_withdrawn(document, &version, target)
                && version >= minimum_version(running) =>
        {
            Plan::Install {
                version,
                why: Why::Withdrawn {
                    withdrawal,
                    passed_over: problem.map(Box::new),
                },
            }
        }
        _ => Plan::Stay {
            why: Stay::WithdrawnWithoutWayOut {
                withdrawal,
                problem,
            },
        },
    }
}

/// The plan that ignores the running version's withdrawal: go up to
/// `latest` if it is newer, not withdrawn, and available here.
fn newer_plan(
    document: &ChannelDocument,
    installation: &Installation<'_>,
    latest: &Version,
    now: Timestamp,
    now_flag: bool,
) -> Plan {
    if latest <= installation.running {
        return Plan::Stay {
            why: Stay::UpToDate,
        };
    }
    if let Some(withdrawal) = document.withdrawal(latest, installation.target) {
        return Plan::Stay {
            why: Stay::LatestWithdrawn(withdrawal.clone()),
        };
    }
    match availability(document, latest, installation.number, now) {
        Availability::RollingOut { eta, .. } if !now_flag => Plan::Stay {
            why: Stay::RollingOut {
                version: latest.clone(),
                eta,
            },
        },
        available => Plan::Install {
            version: latest.clone(),
            why: Why::Newer(available),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::document::{Rollout, Targets};

    const TARGET: &str = "x86_64-unknown-linux-musl";

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn at(hour: i64) -> Timestamp {
        Timestamp::parse("2026-12-01T00:00:00Z")
            .unwrap()
            .plus_seconds(hour * 3600)
    }

    /// 1.2.0 rolled out over 48 h from hour 0; withdrawn for 1.1.3 when
    /// `withdrawn`; 1.2.1 critical when `fixed`.
    fn document(withdrawn: bool, fixed: bool) -> ChannelDocument {
        ChannelDocument {
            schema: 1,
            serial: 1,
            issued: at(0),
            expires: None,
            withdrawn: withdrawn
                .then(|| Withdrawal {
                    version: v("1.2.0"),
                    targets: Targets::All,
                    reason: "corrupts config files on save".into(),
                    replacement: Some(v("1.1.3")),
                })
                .into_iter()
                .collect(),
            rollout: Some(Rollout {
                version: v("1.2.0"),
                start: at(0),
                hours: 48.0,
            }),
            critical: if fixed { vec![v("1.2.1")] } else { vec![] },
        }
    }

    fn plan(doc: &ChannelDocument, running: &str, number: f64, latest: &str, hour: i64) -> Plan {
        let running = v(running);
        let verified = [v("1.1.0"), v("1.1.3"), running.clone()];
        let installation = Installation {
            target: TARGET,
            running: &running,
            verified: &verified,
            number: RolloutNumber::from_stored(number).unwrap(),
            prerelease: false,
        };
        plan_update(doc, &installation, &v(latest), at(hour), false)
    }

    fn installs(plan: &Plan) -> Option<String> {
        match plan {
            Plan::Install { version, .. } => Some(version.to_string()),
            Plan::Stay { .. } => None,
        }
    }

    #[test]
    fn the_incident_timeline() {
        let rolling = document(false, false);
        // Hour 6 of 48 (12.5%): 0.1 gets 1.2.0, 0.5 waits until about hour 24.
        assert_eq!(
            installs(&plan(&rolling, "1.1.3", 0.1, "1.2.0", 6)).as_deref(),
            Some("1.2.0")
        );
        match plan(&rolling, "1.1.3", 0.5, "1.2.0", 6) {
            Plan::Stay {
                why: Stay::RollingOut { eta, .. },
            } => assert_eq!(eta, at(24).plus_seconds(1)),
            other => panic!("{other:?}"),
        }
        // Hour 6.25: withdrawn. 1.2.0 goes down to 1.1.3; 1.1.3 stays.
        let withdrawn = document(true, false);
        let down = plan(&withdrawn, "1.2.0", 0.1, "1.2.0", 7);
        assert_eq!(installs(&down).as_deref(), Some("1.1.3"));
        assert!(matches!(
            down,
            Plan::Install {
                why: Why::Withdrawn {
                    passed_over: None,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            plan(&withdrawn, "1.1.3", 0.5, "1.2.0", 30),
            Plan::Stay {
                why: Stay::LatestWithdrawn(_)
            }
        ));
        // Hour 20: 1.2.1, critical, reaches everyone at once, also the 1.2.0s.
        let fixed = document(true, true);
        for running in ["1.1.3", "1.2.0"] {
            let plan = plan(&fixed, running, 0.99, "1.2.1", 20);
            assert_eq!(installs(&plan).as_deref(), Some("1.2.1"), "{running}");
            assert!(matches!(
                plan,
                Plan::Install {
                    why: Why::Newer(Availability::Critical),
                    ..
                }
            ));
        }
        assert_eq!(
            plan(&fixed, "1.2.1", 0.5, "1.2.1", 21),
            Plan::Stay {
                why: Stay::UpToDate
            }
        );
    }

    #[test]
    fn update_now_skips_the_rollout() {
        let rolling = document(false, false);
        let running = v("1.1.3");
        let installation = Installation {
            target: TARGET,
            running: &running,
            verified: &[],
            number: RolloutNumber::from_stored(0.9).unwrap(),
            prerelease: false,
        };
        let plan = plan_update(&rolling, &installation, &v("1.2.0"), at(1), true);
        assert_eq!(installs(&plan).as_deref(), Some("1.2.0"));
    }

    #[test]
    fn no_way_out_is_a_warning_not_a_downgrade() {
        let mut doc = document(true, false);
        // A replacement below the minimum compiled into 1.2.0 (1.1.0), and
        // nothing else verified: stay, and say why.
        doc.withdrawn[0].replacement = Some(v("1.0.9"));
        let running = v("1.2.0");
        let installation = Installation {
            target: TARGET,
            running: &running,
            verified: std::slice::from_ref(&running),
            number: RolloutNumber::from_stored(0.1).unwrap(),
            prerelease: false,
        };
        match plan_update(&doc, &installation, &v("1.2.0"), at(8), false) {
            Plan::Stay {
                why: Stay::WithdrawnWithoutWayOut { problem, .. },
            } => assert!(matches!(
                problem,
                Some(ReplacementError::BelowMinimum { .. })
            )),
            other => panic!("{other:?}"),
        }
        // With 1.1.3 verified before, the floor is 1.1.3 and the way down is there.
        let verified = [v("1.1.3"), running.clone()];
        let installation = Installation {
            verified: &verified,
            ..installation
        };
        let plan = plan_update(&doc, &installation, &v("1.2.0"), at(8), false);
        assert_eq!(installs(&plan).as_deref(), Some("1.1.3"));
    }

    /// A pre-release named as the replacement: a stable installation that
    /// did not ask for pre-releases goes where a withdrawal without a
    /// replacement sends it, and is told why; one that asked, or that runs a
    /// pre-release, goes to it.
    #[test]
    fn a_pre_release_replacement_is_for_installations_that_take_pre_releases() {
        let mut doc = document(true, false);
        doc.rollout = None;
        doc.withdrawn[0].replacement = Some(v("1.3.0-rc.1"));
        let plan_for = |doc: &ChannelDocument, running: &str, verified: &[Version], prerelease| {
            let running = v(running);
            let installation = Installation {
                target: TARGET,
                running: &running,
                verified,
                number: RolloutNumber::from_stored(0.1).unwrap(),
                prerelease,
            };
            plan_update(doc, &installation, &v("1.2.0"), at(8), false)
        };
        let stable = [v("1.1.3"), v("1.2.0")];
        match plan_for(&doc, "1.2.0", &stable, false) {
            Plan::Install {
                version,
                why:
                    Why::Withdrawn {
                        passed_over: Some(problem),
                        ..
                    },
            } => {
                assert_eq!(version, v("1.1.3"));
                assert_eq!(
                    *problem,
                    ReplacementError::PreRelease {
                        version: v("1.2.0"),
                        replacement: v("1.3.0-rc.1"),
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        match plan_for(&doc, "1.2.0", &[v("1.2.0")], false) {
            Plan::Stay {
                why:
                    Stay::WithdrawnWithoutWayOut {
                        problem: Some(ReplacementError::PreRelease { .. }),
                        ..
                    },
            } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            installs(&plan_for(&doc, "1.2.0", &stable, true)).as_deref(),
            Some("1.3.0-rc.1")
        );
        // Running a pre-release: its own replacement counts although only
        // stable versions are given as verified, a pre-release or not.
        doc.withdrawn[0].version = v("1.3.0-rc.1");
        doc.withdrawn[0].replacement = Some(v("1.3.0-rc.2"));
        assert_eq!(
            installs(&plan_for(&doc, "1.3.0-rc.1", &stable, false)).as_deref(),
            Some("1.3.0-rc.2")
        );
        doc.withdrawn[0].replacement = Some(v("1.2.1"));
        assert_eq!(
            installs(&plan_for(&doc, "1.3.0-rc.1", &stable, false)).as_deref(),
            Some("1.2.1")
        );
    }

    #[test]
    fn a_withdrawal_elsewhere_changes_nothing_here() {
        let mut doc = document(true, false);
        doc.withdrawn[0].targets = Targets::Only(vec!["aarch64-apple-darwin".into()]);
        assert_eq!(
            plan(&doc, "1.2.0", 0.1, "1.2.0", 8),
            Plan::Stay {
                why: Stay::UpToDate
            }
        );
    }
}
