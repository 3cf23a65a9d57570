//! What a verified channel document means for one installation: pure
//! functions of the document, the target, the versions and the time.
//!
//! - A version is **withdrawn** on a target when a withdrawal names it with
//!   `"*"` or that target.
//! - The **downgrade floor** (below which `update` without a version refuses
//!   to go) is the higher of the replacements for the withdrawn versions the
//!   installation verified and the highest verified version that is not
//!   withdrawn: withdrawn versions no longer count toward it, so the
//!   maintainers' signature authorises the way down to the replacement.
//! - A channel may never send an installation to a withdrawn version, nor
//!   below the **minimum** compiled into the running release, nor to a
//!   pre-release unless the installation **takes pre-releases** (`--prerelease`,
//!   or it runs one): a replacement it may not use counts as no replacement.
//! - Past `expires`, the document may be a stale one that a server keeps
//!   serving to hide a newer one: a **freeze**, said but not fatal.

use semver::Version;

use super::document::{ChannelDocument, Withdrawal};
use super::time::Timestamp;

/// The lowest version a channel document may send an installation running
/// `running` to: the oldest release of the previous minor line (`1.2.x` →
/// `1.1.0`; `2.0.x` → `1.0.0`; `0.3.x` → `0.2.0`; `0.0.x` → `0.0.0`). It is
/// a function of the running binary's own version, so every release compiles
/// in its own bound and a stolen channel key cannot replay ancient releases.
pub const fn minimum_version(running: &Version) -> Version {
    if running.minor > 0 {
        Version::new(running.major, running.minor - 1, 0)
    } else if running.major > 0 {
        Version::new(running.major - 1, 0, 0)
    } else {
        Version::new(0, 0, 0)
    }
}

/// The withdrawal of `version` on `target`, if it is withdrawn there.
pub fn withdrawal<'a>(
    document: &'a ChannelDocument,
    version: &Version,
    target: &str,
) -> Option<&'a Withdrawal> {
    document.withdrawal(version, target)
}

pub fn is_withdrawn(document: &ChannelDocument, version: &Version, target: &str) -> bool {
    document.withdrawal(version, target).is_some()
}

/// Whether an installation running `running` takes pre-releases from the
/// channel: it asked for them (`asked`: `update --prerelease`, `check
/// --prerelease`), or it runs one, which it was given only by asking.
pub fn takes_prereleases(running: &Version, asked: bool) -> bool {
    asked || !running.pre.is_empty()
}

/// Why a channel's replacement cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplacementError {
    #[error("the replacement {replacement} for {version} is itself withdrawn")]
    Withdrawn {
        version: Version,
        replacement: Version,
    },
    #[error("the replacement {replacement} for {version} is below {minimum}, the oldest version this pane lets a channel send it to")]
    BelowMinimum {
        version: Version,
        replacement: Version,
        minimum: Version,
    },
    #[error("the replacement {replacement} for {version} is a pre-release, which pane installs only when asked for (by name, or with --prerelease)")]
    PreRelease {
        version: Version,
        replacement: Version,
    },
}

/// The replacement the channel names for `version` on `target`, checked:
/// `Ok(None)` when `version` is not withdrawn there or the withdrawal names
/// no replacement; an error when the replacement is itself withdrawn, below
/// [`minimum_version`] of `running`, or a pre-release and `prereleases`
/// (see [`takes_prereleases`]) is false. The maintainers' tool refuses to
/// name a pre-release; a document written by hand may, and a stable
/// installation is not moved to a pre-release it did not ask for.
pub fn replacement(
    document: &ChannelDocument,
    version: &Version,
    target: &str,
    running: &Version,
    prereleases: bool,
) -> Result<Option<Version>, ReplacementError> {
    let Some(replacement) = document
        .withdrawal(version, target)
        .and_then(|w| w.replacement.clone())
    else {
        return Ok(None);
    };
    if is_withdrawn(document, &replacement, target) {
        return Err(ReplacementError::Withdrawn {
            version: version.clone(),
            replacement,
        });
    }
    let minimum = minimum_version(running);
    if replacement < minimum {
        return Err(ReplacementError::BelowMinimum {
            version: version.clone(),
            replacement,
            minimum,
        });
    }
    if !prereleases && !replacement.pre.is_empty() {
        return Err(ReplacementError::PreRelease {
            version: version.clone(),
            replacement,
        });
    }
    Ok(Some(replacement))
}

/// The downgrade floor: the higher of (a) the usable replacements of the
/// withdrawn versions among `verified` and (b) the highest of `verified` that
/// is not withdrawn on `target`. `None` when neither exists (nothing verified
/// yet, or everything withdrawn without a usable replacement).
///
/// A replacement that is withdrawn, below the minimum, or a pre-release the
/// installation does not take (`prereleases`) does not count (see
/// [`replacement`]); so a channel cannot lower the floor below what the
/// installation verified and the running release allows, nor raise it to a
/// pre-release.
pub fn downgrade_floor(
    document: &ChannelDocument,
    target: &str,
    running: &Version,
    verified: &[Version],
    prereleases: bool,
) -> Option<Version> {
    let highest_kept = verified
        .iter()
        .filter(|v| !is_withdrawn(document, v, target))
        .max();
    let highest_replacement = verified
        .iter()
        .filter_map(|v| {
            replacement(document, v, target, running, prereleases)
                .ok()
                .flatten()
        })
        .max();
    highest_kept.cloned().max(highest_replacement)
}

/// Whether a channel may send this installation to `candidate`: not
/// withdrawn on `target`, and not below the minimum of `running`.
pub fn channel_may_send(
    document: &ChannelDocument,
    candidate: &Version,
    target: &str,
    running: &Version,
) -> bool {
    !is_withdrawn(document, candidate, target) && *candidate >= minimum_version(running)
}

/// Whether the document has expired at `now`: release information may then
/// be withheld by the server (a freeze). Nothing fails; pane says so.
pub fn is_frozen(document: &ChannelDocument, now: Timestamp) -> bool {
    document.expires.is_some_and(|expires| now >= expires)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::document::Targets;

    const TARGET: &str = "x86_64-unknown-linux-musl";

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn withdrawal(version: &str, targets: Targets, replacement: Option<&str>) -> Withdrawal {
        Withdrawal {
            version: v(version),
            targets,
            reason: "broken".into(),
            replacement: replacement.map(v),
        }
    }

    fn document(withdrawn: Vec<Withdrawal>) -> ChannelDocument {
        ChannelDocument {
            schema: 1,
            serial: 1,
            issued: Timestamp::parse("2026-12-01T10:00:00Z").unwrap(),
            expires: Some(Timestamp::parse("2026-12-15T10:00:00Z").unwrap()),
            withdrawn,
            rollout: None,
            critical: vec![],
        }
    }

    #[test]
    fn minimum_is_the_previous_minor_line() {
        for (running, minimum) in [
            ("1.2.0", "1.1.0"),
            ("1.2.7", "1.1.0"),
            ("1.0.3", "0.0.0"),
            ("2.0.0", "1.0.0"),
            ("0.3.1", "0.2.0"),
            ("0.0.4", "0.0.0"),
        ] {
            assert_eq!(minimum_version(&v(running)), v(minimum), "{running}");
        }
    }

    #[test]
    fn withdrawn_by_target() {
        let doc = document(vec![
            withdrawal("1.2.0", Targets::All, Some("1.1.3")),
            withdrawal(
                "1.1.9",
                Targets::Only(vec!["aarch64-apple-darwin".into()]),
                None,
            ),
        ]);
        assert!(is_withdrawn(&doc, &v("1.2.0"), TARGET));
        assert!(is_withdrawn(&doc, &v("1.2.0"), "aarch64-apple-darwin"));
        assert!(!is_withdrawn(&doc, &v("1.1.9"), TARGET));
        assert!(is_withdrawn(&doc, &v("1.1.9"), "aarch64-apple-darwin"));
        assert!(!is_withdrawn(&doc, &v("1.1.3"), TARGET));
        assert_eq!(
            super::withdrawal(&doc, &v("1.2.0"), TARGET).unwrap().reason,
            "broken"
        );
    }

    #[test]
    fn the_floor_drops_withdrawn_versions_and_rises_to_the_replacement() {
        let running = v("1.2.0");
        let verified = [v("1.0.0"), v("1.1.0"), v("1.2.0")];
        let none = document(vec![]);
        assert_eq!(
            downgrade_floor(&none, TARGET, &running, &verified, false),
            Some(v("1.2.0"))
        );
        // 1.2.0 withdrawn for 1.1.3: the floor is 1.1.3, above 1.1.0.
        let doc = document(vec![withdrawal("1.2.0", Targets::All, Some("1.1.3"))]);
        assert_eq!(
            downgrade_floor(&doc, TARGET, &running, &verified, false),
            Some(v("1.1.3"))
        );
        // Without a replacement: the highest verified that is not withdrawn.
        let bare = document(vec![withdrawal("1.2.0", Targets::All, None)]);
        assert_eq!(
            downgrade_floor(&bare, TARGET, &running, &verified, false),
            Some(v("1.1.0"))
        );
        // Withdrawn elsewhere only: no change here.
        let mac = document(vec![withdrawal(
            "1.2.0",
            Targets::Only(vec!["aarch64-apple-darwin".into()]),
            Some("1.1.3"),
        )]);
        assert_eq!(
            downgrade_floor(&mac, TARGET, &running, &verified, false),
            Some(v("1.2.0"))
        );
        // A replacement below a version verified and not withdrawn does not
        // lower the floor.
        let low = document(vec![withdrawal("1.2.0", Targets::All, Some("1.1.1"))]);
        let verified_more = [v("1.1.2"), v("1.2.0")];
        assert_eq!(
            downgrade_floor(&low, TARGET, &running, &verified_more, false),
            Some(v("1.1.2"))
        );
        assert_eq!(downgrade_floor(&none, TARGET, &running, &[], false), None);
    }

    #[test]
    fn replacements_are_checked() {
        let running = v("1.2.0");
        let good = document(vec![withdrawal("1.2.0", Targets::All, Some("1.1.3"))]);
        assert_eq!(
            replacement(&good, &v("1.2.0"), TARGET, &running, false),
            Ok(Some(v("1.1.3")))
        );
        assert_eq!(
            replacement(&good, &v("1.1.3"), TARGET, &running, false),
            Ok(None)
        );
        let chained = document(vec![
            withdrawal("1.2.0", Targets::All, Some("1.1.3")),
            withdrawal("1.1.3", Targets::All, Some("1.1.2")),
        ]);
        assert!(matches!(
            replacement(&chained, &v("1.2.0"), TARGET, &running, false),
            Err(ReplacementError::Withdrawn { .. })
        ));
        let ancient = document(vec![withdrawal("1.2.0", Targets::All, Some("1.0.9"))]);
        assert!(matches!(
            replacement(&ancient, &v("1.2.0"), TARGET, &running, false),
            Err(ReplacementError::BelowMinimum { .. })
        ));
        // An unusable replacement does not count toward the floor.
        let verified = [v("1.1.0"), v("1.2.0")];
        assert_eq!(
            downgrade_floor(&ancient, TARGET, &running, &verified, false),
            Some(v("1.1.0"))
        );
        assert_eq!(
            downgrade_floor(&chained, TARGET, &running, &verified, false),
            Some(v("1.1.0"))
        );
    }

    #[test]
    fn a_pre_release_replacement_only_for_an_installation_that_takes_them() {
        let running = v("1.2.0");
        let doc = document(vec![withdrawal("1.2.0", Targets::All, Some("1.3.0-rc.1"))]);
        assert!(!takes_prereleases(&running, false));
        assert_eq!(
            replacement(&doc, &running, TARGET, &running, false),
            Err(ReplacementError::PreRelease {
                version: v("1.2.0"),
                replacement: v("1.3.0-rc.1"),
            })
        );
        assert_eq!(
            replacement(&doc, &running, TARGET, &running, true),
            Ok(Some(v("1.3.0-rc.1")))
        );
        // Not taken, it counts as no replacement: the floor is the highest
        // verified version that is not withdrawn, as without one.
        let verified = [v("1.1.3"), v("1.2.0")];
        assert_eq!(
            downgrade_floor(&doc, TARGET, &running, &verified, false),
            Some(v("1.1.3"))
        );
        assert_eq!(
            downgrade_floor(&doc, TARGET, &running, &verified, true),
            Some(v("1.3.0-rc.1"))
        );
        // Running a pre-release is taking them; asking is too.
        assert!(takes_prereleases(&v("1.3.0-rc.1"), false));
        assert!(takes_prereleases(&running, true));
    }

    #[test]
    fn where_a_channel_may_send_an_installation() {
        let running = v("1.2.0");
        let doc = document(vec![withdrawal("1.2.0", Targets::All, Some("1.1.3"))]);
        assert!(channel_may_send(&doc, &v("1.1.3"), TARGET, &running));
        assert!(channel_may_send(&doc, &v("1.1.0"), TARGET, &running));
        assert!(!channel_may_send(&doc, &v("1.0.9"), TARGET, &running));
        assert!(!channel_may_send(&doc, &v("1.2.0"), TARGET, &running));
    }

    #[test]
    fn frozen_once_expired() {
        let doc = document(vec![]);
        let expires = doc.expires.unwrap();
        assert!(!is_frozen(&doc, expires.plus_seconds(-1)));
        assert!(is_frozen(&doc, expires));
        let mut forever = doc.clone();
        forever.expires = None;
        assert!(!is_frozen(&forever, expires.plus_seconds(1 << 40)));
    }
}
