//! Which release `update` without a version means, under the pin, the
//! downgrade floor and the channel: the one decision that `update`, `check`,
//! the notice's background check and auto-update all make.
//!
//! - "latest" is what the server says, verified; a pre-release it calls
//!   latest is skipped without `--prerelease` (the highest stable listed
//!   release stands in for it);
//! - with a channel document, [`crate::channel::plan::plan_update`] holds a
//!   withdrawn or rolling-out release back, or sends a withdrawn installation
//!   to its replacement (a pre-release one only when the installation takes
//!   pre-releases: `--prerelease`, or it runs one);
//! - under a requirement pin, the highest listed release it matches that is
//!   neither withdrawn nor rolling out toward this installation; under an
//!   exact pin that no longer matches, that version, refused if withdrawn;
//! - a latest below the downgrade floor is not an error: the installation is
//!   newer than what the server offers, and says so (a replay, perhaps).

use semver::Version;

use super::channel_view::ChannelView;
use super::receipt::Receipt;
use super::{Pin, Resolved, UpdateError, Updater};
use crate::channel::decide::{downgrade_floor, takes_prereleases};
use crate::channel::plan::{self, plan_update, Installation, Plan};
use crate::channel::rollout::Availability;
use crate::channel::{Timestamp, Withdrawal};

/// Why `update` installs what it installs, or stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// A newer release, available here.
    Newer,
    /// The installed version is withdrawn: go to its replacement, or, when
    /// that cannot be used, to the floor without it; `passed_over` then says
    /// why, and where it goes instead.
    Replacement {
        withdrawal: Withdrawal,
        passed_over: Option<String>,
    },
    UpToDate,
    HeldByPin(String),
    /// The installed version is newer than the server's latest; `replayed`
    /// when the latest is below a version verified here.
    Ahead {
        latest: Version,
        replayed: bool,
    },
    /// The newest release is rolling out and reaches this installation about `eta`.
    RollingOut {
        version: Version,
        eta: Timestamp,
    },
    /// The newest release is withdrawn.
    LatestWithdrawn(Withdrawal),
    /// The installed version is withdrawn, but there is no usable way out.
    NoWayOut {
        withdrawal: Withdrawal,
        problem: Option<String>,
    },
}

/// The decision: the version to install (if any) and why.
pub struct Choice {
    pub to: Option<Version>,
    /// `to`, already fetched and verified (the latest release).
    pub resolved: Option<Resolved>,
    pub why: Why,
    /// The server's latest (after skipping a pre-release).
    pub latest: Option<Version>,
    /// `latest` was read from its signature, not only from the listing.
    pub latest_verified: bool,
    pub warnings: Vec<String>,
}

impl Choice {
    fn stay(why: Why) -> Choice {
        Choice {
            to: None,
            resolved: None,
            why,
            latest: None,
            latest_verified: false,
            warnings: Vec::new(),
        }
    }
}

impl Updater<'_> {
    /// What `update` without a version would do for the installation of
    /// `receipt`, given the channel `view`; `now_flag` skips a rollout,
    /// `allow_withdrawn` lets an exact pin name a withdrawn version.
    pub fn choose(
        &self,
        receipt: &Receipt,
        prerelease: bool,
        now_flag: bool,
        allow_withdrawn: bool,
        view: &ChannelView,
    ) -> Result<Choice, UpdateError> {
        let current = &receipt.version;
        match receipt.pin.as_deref().map(Pin::parse_stored).transpose()? {
            Some(Pin::Exact(v)) if &v == current => Ok(Choice::stay(Why::HeldByPin(v.to_string()))),
            // A pin that no longer matches (`self install` of another
            // version keeps the receipt's pin): going there is asking for
            // that version by name, so a withdrawn one is refused as
            // `update VERSION` refuses it.
            Some(Pin::Exact(v)) => {
                self.guard_withdrawn(&v, view, allow_withdrawn, current, prerelease)?;
                Ok(Choice {
                    to: Some(v),
                    ..Choice::stay(Why::Newer)
                })
            }
            Some(pin @ Pin::Req(_)) => {
                self.choose_within(receipt, &pin, prerelease, now_flag, view)
            }
            None => self.choose_latest(receipt, prerelease, now_flag, view),
        }
    }

    /// Under a requirement pin: the highest listed release it matches that
    /// the channel allows here, neither withdrawn nor still rolling out
    /// toward this installation (unless `now_flag`).
    fn choose_within(
        &self,
        receipt: &Receipt,
        pin: &Pin,
        prerelease: bool,
        now_flag: bool,
        view: &ChannelView,
    ) -> Result<Choice, UpdateError> {
        let current = &receipt.version;
        let listed = self.listed_within(pin, prerelease, view)?;
        let waiting = |v: &Version| match view.availability(v) {
            Availability::RollingOut { eta, .. } if !now_flag => Some(eta),
            _ => None,
        };
        let Some(highest) = listed.iter().max() else {
            return Err(UpdateError::NoMatch(pin.to_string()));
        };
        let ready = listed.iter().filter(|v| waiting(v).is_none()).max();
        match ready {
            Some(v) if v > current || (v < current && !pin.matches(current)) => Ok(Choice {
                to: Some(v.clone()),
                ..Choice::stay(Why::Newer)
            }),
            _ => match waiting(highest) {
                Some(eta) if highest > current => Ok(Choice::stay(Why::RollingOut {
                    version: highest.clone(),
                    eta,
                })),
                _ => Ok(Choice::stay(Why::HeldByPin(pin.to_string()))),
            },
        }
    }

    /// The server's latest release, verified; a pre-release it calls latest
    /// is replaced by the highest stable listed release unless `prerelease`.
    fn latest(
        &self,
        prerelease: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(Version, Option<Resolved>)>, UpdateError> {
        if prerelease {
            let best = self
                .highest_listed(true, &|_| true)?
                .ok_or_else(|| UpdateError::NoMatch("any release".into()))?;
            let resolved = self.resolve(Some(&best))?;
            return Ok(Some((best, Some(resolved))));
        }
        let resolved = self.resolve_latest()?;
        let latest = resolved.version().clone();
        if latest.pre.is_empty() {
            return Ok(Some((latest, Some(resolved))));
        }
        let stable = self
            .highest_listed(false, &|v| v.pre.is_empty())
            .ok()
            .flatten();
        warnings.push(format!(
            "the server calls the pre-release {latest} its latest release; without --prerelease pane skips it{}",
            stable.as_ref().map_or(String::new(), |v| format!(" and considers {v}, the highest stable release"))
        ));
        // The listing is a hint, not verified here: `update` fetches what it
        // chooses with its archive at once, and `available` verifies it before
        // `check` names it (`Choice::latest_verified`).
        Ok(stable.map(|v| (v, None)))
    }

    fn choose_latest(
        &self,
        receipt: &Receipt,
        prerelease: bool,
        now_flag: bool,
        view: &ChannelView,
    ) -> Result<Choice, UpdateError> {
        let mut warnings = Vec::new();
        let Some((latest, resolved)) = self.latest(prerelease, &mut warnings)? else {
            let mut choice = Choice::stay(Why::UpToDate);
            choice.warnings = warnings;
            return Ok(choice);
        };
        let running = &receipt.version;
        let verified = receipt.verified_versions_for(prerelease);
        let target = self.ctx.target.as_str();
        let (to, why) = match &view.document {
            None => {
                let floor = verified.iter().max().cloned();
                plain(running, &latest, floor.as_ref())
            }
            Some(document) => {
                let installation = Installation {
                    target,
                    running,
                    verified: &verified,
                    number: view.number,
                    prerelease,
                };
                let plan = plan_update(document, &installation, &latest, view.now, now_flag);
                let prereleases = takes_prereleases(running, prerelease);
                let floor = downgrade_floor(document, target, running, &verified, prereleases);
                from_plan(plan, running, &latest, floor.as_ref())
            }
        };
        let latest_verified = resolved.is_some();
        let resolved = resolved.filter(|r| Some(r.version()) == to.as_ref());
        Ok(Choice {
            to,
            resolved,
            why,
            latest: Some(latest),
            latest_verified,
            warnings,
        })
    }
}

/// Without a channel document: up to `latest` if it is newer and not below
/// the floor.
fn plain(running: &Version, latest: &Version, floor: Option<&Version>) -> (Option<Version>, Why) {
    let replayed = floor.is_some_and(|f| latest < f);
    if latest > running && !replayed {
        (Some(latest.clone()), Why::Newer)
    } else if latest == running {
        (None, Why::UpToDate)
    } else {
        let why = Why::Ahead {
            latest: latest.clone(),
            replayed,
        };
        (None, why)
    }
}

fn from_plan(
    plan: Plan,
    running: &Version,
    latest: &Version,
    floor: Option<&Version>,
) -> (Option<Version>, Why) {
    match plan {
        Plan::Install {
            version,
            why:
                plan::Why::Withdrawn {
                    withdrawal,
                    passed_over,
                },
        } => {
            let passed_over = passed_over.map(|p| format!("{p}; pane goes to {version} instead"));
            let why = Why::Replacement {
                withdrawal,
                passed_over,
            };
            (Some(version), why)
        }
        Plan::Install { version, .. } => {
            if floor.is_some_and(|f| &version < f) {
                let why = Why::Ahead {
                    latest: latest.clone(),
                    replayed: true,
                };
                (None, why)
            } else {
                (Some(version), Why::Newer)
            }
        }
        Plan::Stay { why } => (
            None,
            match why {
                plan::Stay::UpToDate => plain(running, latest, floor).1,
                plan::Stay::LatestWithdrawn(withdrawal) => Why::LatestWithdrawn(withdrawal),
                plan::Stay::RollingOut { version, eta } => Why::RollingOut { version, eta },
                plan::Stay::WithdrawnWithoutWayOut {
                    withdrawal,
                    problem,
                } => Why::NoWayOut {
                    withdrawal,
                    problem: problem.map(|p| p.to_string()),
                },
            },
        ),
    }
}
