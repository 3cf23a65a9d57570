//! What the user asks for (a version, "latest", a pin) and what came of it.

use semver::{Version, VersionReq};

use super::choose::Why;
use super::UpdateError;
use crate::channel::Withdrawal;

/// What the user asked `update` for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    Latest { prerelease: bool },
    Exact(Version),
}

/// A pin: an exact version or a semver requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    Exact(Version),
    Req(VersionReq),
}

impl Pin {
    pub fn parse(text: &str) -> Result<Pin, UpdateError> {
        if let Ok(version) = parse_version(text) {
            return Ok(Pin::Exact(version));
        }
        let text = text.trim();
        let bare = text.strip_prefix('=').unwrap_or("");
        if let Ok(version) = Version::parse(bare.trim()) {
            return Ok(Pin::Exact(version));
        }
        VersionReq::parse(text)
            .map(Pin::Req)
            .map_err(|_| UpdateError::BadRequirement(text.to_string()))
    }

    /// The pin stored in the receipt: a text that does not parse is named
    /// as the receipt's, with the way out.
    pub fn parse_stored(text: &str) -> Result<Pin, UpdateError> {
        Pin::parse(text).map_err(|_| UpdateError::BadStoredPin(text.to_string()))
    }

    pub fn matches(&self, version: &Version) -> bool {
        match self {
            Pin::Exact(v) => v == version,
            Pin::Req(req) => req.matches(version),
        }
    }
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pin::Exact(v) => write!(f, "{v}"),
            Pin::Req(r) => write!(f, "{r}"),
        }
    }
}

pub fn parse_version(text: &str) -> Result<Version, UpdateError> {
    let bare = text.trim().strip_prefix('v').unwrap_or(text.trim());
    Version::parse(bare).map_err(|_| UpdateError::BadRequirement(text.to_string()))
}

/// The outcome of a command that may change the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    UpToDate {
        version: Version,
    },
    /// `rollback` swapped back to the previous version and pinned it.
    RolledBack {
        from: Version,
        to: Version,
    },
    /// Newer than the latest release; going down takes an explicit version.
    /// `replayed`: the latest is below a version verified here.
    Ahead {
        version: Version,
        latest: Version,
        replayed: bool,
    },
    /// Nothing installed because of the channel (rolling out, withdrawn).
    Stayed {
        version: Version,
        why: Why,
    },
    /// The installed version was withdrawn: its replacement is installed,
    /// or, when that cannot be used (`passed_over` says why), the floor
    /// without it.
    Replaced {
        from: Version,
        to: Version,
        withdrawal: Withdrawal,
        passed_over: Option<String>,
    },
    HeldByPin {
        version: Version,
        pin: String,
    },
    Changed {
        from: Version,
        to: Version,
    },
    /// A dry run: what `update` would do. `warning` says why the channel's
    /// replacement is passed over, as [`Outcome::Replaced`]'s `passed_over`.
    WouldChange {
        from: Version,
        to: Version,
        warning: Option<String>,
    },
    Pinned {
        version: Version,
        pin: String,
        changed_from: Option<Version>,
    },
    Unpinned {
        was: Option<String>,
    },
}

/// How `update` goes about it.
#[derive(Clone, Copy, Debug, Default)]
pub struct UpdateOptions {
    /// Show what would happen, change nothing.
    pub dry_run: bool,
    /// `--now`: install a release that is rolling out at once.
    pub now: bool,
    /// `--allow-withdrawn`: install an explicitly named withdrawn version.
    pub allow_withdrawn: bool,
}

/// The outcome of staying where we are, for `why`.
pub(super) fn stayed(version: Version, why: Why) -> Outcome {
    match why {
        Why::UpToDate | Why::Newer | Why::Replacement { .. } => Outcome::UpToDate { version },
        Why::HeldByPin(pin) => Outcome::HeldByPin { version, pin },
        Why::Ahead { latest, replayed } => Outcome::Ahead {
            version,
            latest,
            replayed,
        },
        why => Outcome::Stayed { version, why },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert_eq!(
            Pin::parse("1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        assert_eq!(
            Pin::parse("v1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        assert_eq!(
            Pin::parse("=1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        let req = Pin::parse("~1.2").unwrap();
        assert!(req.matches(&Version::new(1, 2, 9)));
        assert!(!req.matches(&Version::new(1, 3, 0)));
        assert!(Pin::parse("one").is_err());
        // An exact pin must not silently become a caret requirement.
        assert!(!Pin::parse("1.2.0").unwrap().matches(&Version::new(1, 2, 1)));
    }
}
