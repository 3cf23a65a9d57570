//! How slow a download may be. An idle timeout alone bounds each read, not
//! the download: a server that sends one byte a second would hold an update,
//! and its lock, for as long as it liked (TUF's slow-retrieval attack). So
//! every download gets a grace period (the idle timeout) to get going, must
//! then average at least [`MIN_RATE`], and may never take longer than the
//! grace plus what its byte cap takes at that rate: tens of seconds for the
//! signature and the sums, and a minimum average rate for archives.

use std::time::{Duration, Instant};

/// The slowest average rate pane accepts once a download is past its grace:
/// 16 KiB/s, so a 40 MiB release may take 40 minutes and a 3 MiB one 3.
pub const MIN_RATE: u64 = 16 * 1024;

#[derive(Clone, Copy, Debug)]
pub struct Pace {
    started: Instant,
    grace: Duration,
    deadline: Duration,
}

impl Pace {
    /// Starts the clock for a download of at most `cap` bytes.
    pub fn start(grace: Duration, cap: u64) -> Pace {
        let at_min_rate = Duration::from_secs_f64(cap as f64 / MIN_RATE as f64);
        Pace {
            started: Instant::now(),
            grace,
            deadline: grace.saturating_add(at_min_rate),
        }
    }

    /// `false` once the download, `received` bytes in, is too slow.
    pub fn on_time(&self, received: u64) -> bool {
        let elapsed = self.started.elapsed();
        if elapsed > self.deadline {
            return false;
        }
        let past_grace = elapsed.saturating_sub(self.grace).as_secs_f64();
        received as f64 >= MIN_RATE as f64 * past_grace
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_then_rate_then_deadline() {
        let pace = Pace {
            started: Instant::now() - Duration::from_secs(5),
            grace: Duration::from_secs(10),
            deadline: Duration::from_secs(20),
        };
        assert!(pace.on_time(0), "within the grace anything goes");
        let late = Pace {
            started: Instant::now() - Duration::from_secs(12),
            ..pace
        };
        assert!(!late.on_time(100), "a trickle past the grace");
        assert!(late.on_time(3 * MIN_RATE), "a fair rate past the grace");
        let over = Pace {
            started: Instant::now() - Duration::from_secs(21),
            ..pace
        };
        assert!(
            !over.on_time(u64::MAX),
            "past the deadline whatever the rate"
        );
    }

    #[test]
    fn small_files_get_tens_of_seconds() {
        let pace = Pace::start(Duration::from_secs(30), 4 * 1024);
        assert!(pace.deadline < Duration::from_secs(31));
        let pace = Pace::start(Duration::from_secs(30), 64 * 1024);
        assert!(pace.deadline < Duration::from_secs(35));
    }
}
