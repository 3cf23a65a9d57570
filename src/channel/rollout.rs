//! Phased rollouts (after Sparkle's `phasedRolloutInterval`): each
//! installation draws a random number in [0, 1) once and keeps it; a version
//! being rolled out is available to it once the elapsed fraction of the
//! rollout exceeds that number. A critical version skips the rollout; so
//! does an explicit request (`update 1.2.1`, `update --now`, a new install),
//! which the caller decides.

use semver::Version;

use super::document::{ChannelDocument, Rollout};
use super::time::Timestamp;

/// An installation's place in every rollout: uniform in [0, 1).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct RolloutNumber(f64);

impl RolloutNumber {
    /// From 8 random bytes: the top 53 bits over 2^53, so uniform in [0, 1)
    /// with every value a float can hold exactly.
    pub fn from_random_bytes(bytes: [u8; 8]) -> RolloutNumber {
        RolloutNumber((u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// A new number from the operating system's randomness.
    pub fn draw() -> std::io::Result<RolloutNumber> {
        crate::platform::os_random::<8>().map(RolloutNumber::from_random_bytes)
    }

    /// A stored number, if it is one (in [0, 1)); else `None`, and the caller
    /// draws a new one.
    pub fn from_stored(value: f64) -> Option<RolloutNumber> {
        (0.0..1.0).contains(&value).then_some(RolloutNumber(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// The installation's number kept in `stored` (the state's
/// `rollout_number`), or a new one drawn and put there: `true` when it was
/// drawn, and the state must be saved.
pub fn number_or_draw(stored: &mut Option<f64>) -> std::io::Result<(RolloutNumber, bool)> {
    if let Some(number) = stored.and_then(RolloutNumber::from_stored) {
        return Ok((number, false));
    }
    let number = RolloutNumber::draw()?;
    *stored = Some(number.value());
    Ok((number, true))
}

/// The fraction of `rollout` elapsed at `now`, clamped to [0, 1]. A rollout
/// of zero hours is whole from its start.
pub fn elapsed_fraction(rollout: &Rollout, now: Timestamp) -> f64 {
    let elapsed = (now.unix() - rollout.start.unix()) as f64;
    if elapsed < 0.0 {
        return 0.0;
    }
    let length = rollout.hours * 3600.0;
    if length <= 0.0 {
        return 1.0;
    }
    (elapsed / length).clamp(0.0, 1.0)
}

/// About when an installation with `number` gets the rollout's version: the
/// instant the elapsed fraction passes its number (rounded up to the second).
/// A parsed document's rollout is at most a year long; a longer one (built
/// by hand) saturates rather than overflows.
pub fn eta(rollout: &Rollout, number: RolloutNumber) -> Timestamp {
    // `as` saturates (and takes NaN to 0).
    let seconds = (number.value() * rollout.hours * 3600.0).floor() as i64;
    rollout.start.plus_seconds(seconds.saturating_add(1))
}

/// Whether a version is available to this installation now.
#[derive(Clone, Debug, PartialEq)]
pub enum Availability {
    /// Not under a rollout: available to everyone.
    Available,
    /// Critical: available to everyone at once, rollout or not, and its
    /// notice shows on every run until it is installed.
    Critical,
    /// Under a rollout that has reached this installation.
    RolledOut { fraction: f64 },
    /// Under a rollout that has not reached this installation yet.
    RollingOut {
        fraction: f64,
        /// About when this installation gets it.
        eta: Timestamp,
    },
}

impl Availability {
    pub fn is_available(&self) -> bool {
        !matches!(self, Availability::RollingOut { .. })
    }
}

/// Whether `version` is available to the installation with `number` at
/// `now`: available iff `number < elapsed fraction`, unless it is critical
/// or not the version being rolled out.
pub fn availability(
    document: &ChannelDocument,
    version: &Version,
    number: RolloutNumber,
    now: Timestamp,
) -> Availability {
    if document.is_critical(version) {
        return Availability::Critical;
    }
    match &document.rollout {
        Some(rollout) if &rollout.version == version => {
            let fraction = elapsed_fraction(rollout, now);
            if number.value() < fraction {
                Availability::RolledOut { fraction }
            } else {
                Availability::RollingOut {
                    fraction,
                    eta: eta(rollout, number),
                }
            }
        }
        _ => Availability::Available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn document(critical: Vec<Version>) -> ChannelDocument {
        ChannelDocument {
            schema: 1,
            serial: 1,
            issued: at("2026-12-01T10:00:00Z"),
            expires: None,
            withdrawn: vec![],
            rollout: Some(Rollout {
                version: Version::new(1, 2, 0),
                start: at("2026-12-01T12:00:00Z"),
                hours: 48.0,
            }),
            critical,
        }
    }

    #[test]
    fn numbers_are_in_the_unit_interval() {
        assert_eq!(RolloutNumber::from_random_bytes([0; 8]).value(), 0.0);
        let top = RolloutNumber::from_random_bytes([0xff; 8]).value();
        assert!(top < 1.0 && top > 0.999_999);
        for _ in 0..100 {
            let n = RolloutNumber::draw().unwrap().value();
            assert!((0.0..1.0).contains(&n));
        }
        assert_eq!(RolloutNumber::from_stored(1.0), None);
        assert_eq!(RolloutNumber::from_stored(-0.1), None);
        assert_eq!(RolloutNumber::from_stored(f64::NAN), None);
        assert_eq!(RolloutNumber::from_stored(0.5).unwrap().value(), 0.5);
    }

    #[test]
    fn a_number_is_drawn_once_and_kept() {
        let mut stored = None;
        let (first, drawn) = number_or_draw(&mut stored).unwrap();
        assert!(drawn);
        assert_eq!(stored, Some(first.value()));
        let (again, drawn) = number_or_draw(&mut stored).unwrap();
        assert!(!drawn);
        assert_eq!(again, first);
        // A stored value out of range is replaced.
        let mut broken = Some(7.0);
        let (fresh, drawn) = number_or_draw(&mut broken).unwrap();
        assert!(drawn && fresh.value() < 1.0 && broken == Some(fresh.value()));
    }

    #[test]
    fn the_elapsed_fraction_is_clamped() {
        let rollout = document(vec![]).rollout.unwrap();
        assert_eq!(elapsed_fraction(&rollout, at("2026-12-01T11:00:00Z")), 0.0);
        assert_eq!(elapsed_fraction(&rollout, at("2026-12-01T12:00:00Z")), 0.0);
        assert_eq!(elapsed_fraction(&rollout, at("2026-12-02T12:00:00Z")), 0.5);
        assert_eq!(elapsed_fraction(&rollout, at("2026-12-09T12:00:00Z")), 1.0);
        let instant = Rollout {
            hours: 0.0,
            ..rollout.clone()
        };
        assert_eq!(elapsed_fraction(&instant, at("2026-12-01T11:59:59Z")), 0.0);
        assert_eq!(elapsed_fraction(&instant, at("2026-12-01T12:00:00Z")), 1.0);
    }

    #[test]
    fn available_iff_the_number_is_below_the_fraction() {
        let doc = document(vec![]);
        let v120 = Version::new(1, 2, 0);
        let quarter = RolloutNumber::from_stored(0.25).unwrap();
        // Hour 6 of 48: 12.5% rolled out; 0.25 waits until hour 12.
        let hour6 = at("2026-12-01T18:00:00Z");
        match availability(&doc, &v120, quarter, hour6) {
            Availability::RollingOut { fraction, eta } => {
                assert_eq!(fraction, 0.125);
                assert_eq!(eta, at("2026-12-02T00:00:01Z"));
            }
            other => panic!("{other:?}"),
        }
        // At the eta it is there; a second before it is not.
        let eta = eta(doc.rollout.as_ref().unwrap(), quarter);
        assert!(availability(&doc, &v120, quarter, eta).is_available());
        assert!(!availability(&doc, &v120, quarter, eta.plus_seconds(-1)).is_available());
        // A number of 0 gets it as soon as the rollout starts.
        let zero = RolloutNumber::from_stored(0.0).unwrap();
        assert!(!availability(&doc, &v120, zero, at("2026-12-01T12:00:00Z")).is_available());
        assert!(availability(&doc, &v120, zero, at("2026-12-01T12:00:01Z")).is_available());
        // Other versions are not under the rollout.
        assert_eq!(
            availability(&doc, &Version::new(1, 1, 3), quarter, hour6),
            Availability::Available
        );
        // At the end everyone has it.
        let last = RolloutNumber::from_random_bytes([0xff; 8]);
        assert!(availability(&doc, &v120, last, at("2026-12-03T12:00:00Z")).is_available());
    }

    #[test]
    fn an_eta_saturates_however_long_the_rollout() {
        let start = at("2026-12-01T00:00:00Z");
        for hours in [1e300, f64::MAX, f64::INFINITY] {
            let rollout = Rollout {
                version: Version::new(1, 2, 0),
                start,
                hours,
            };
            let late = RolloutNumber::from_stored(0.5).unwrap();
            assert_eq!(eta(&rollout, late), start.plus_seconds(i64::MAX));
            assert!(!eta(&rollout, late).to_string().is_empty());
        }
    }

    #[test]
    fn critical_skips_the_rollout() {
        let doc = document(vec![Version::new(1, 2, 0)]);
        let late = RolloutNumber::from_stored(0.99).unwrap();
        assert_eq!(
            availability(
                &doc,
                &Version::new(1, 2, 0),
                late,
                at("2026-12-01T12:00:00Z")
            ),
            Availability::Critical
        );
    }
}
