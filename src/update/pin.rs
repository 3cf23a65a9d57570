//! What the user asks for (a version, "latest", a pin) and what came of it.

use semver::{Version, VersionReq};

use super::UpdateError;

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
    Ahead {
        version: Version,
        latest: Version,
    },
    HeldByPin {
        version: Version,
        pin: String,
    },
    Changed {
        from: Version,
        to: Version,
    },
    WouldChange {
        from: Version,
        to: Version,
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

/// Refuses `offered` below the downgrade floor `highest`.
pub(super) fn guard_downgrade(offered: &Version, highest: &Version) -> Result<(), UpdateError> {
    if offered < highest {
        return Err(UpdateError::Downgrade {
            offered: offered.clone(),
            highest: highest.clone(),
        });
    }
    Ok(())
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

    #[test]
    fn downgrade_guard() {
        assert!(guard_downgrade(&Version::new(1, 0, 0), &Version::new(1, 1, 0)).is_err());
        assert!(guard_downgrade(&Version::new(1, 1, 0), &Version::new(1, 1, 0)).is_ok());
        assert!(guard_downgrade(&Version::new(1, 2, 0), &Version::new(1, 1, 0)).is_ok());
    }
}
