//! Per-object exponential backoff with jitter.
//!
//! After the n-th consecutive failure of an object's step the next attempt
//! waits `min(max, base · 2ⁿ⁻¹)`, of which the second half is random ("equal
//! jitter": never less than half the nominal wait, so a failing peer is not
//! hammered, and spread so that objects that failed together do not retry
//! together). A peer's `retry_after` is a floor.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The nominal wait after `failures` consecutive failures (≥ 1).
    pub fn nominal(&self, failures: i64) -> Duration {
        let exp = u32::try_from(failures.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
        self.base
            .checked_mul(1u32 << exp.min(31))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The wait to use: half the nominal wait plus `jitter` (in `[0, 1)`)
    /// times the other half, and at least `floor`.
    pub fn delay(&self, failures: i64, jitter: f64, floor: Option<Duration>) -> Duration {
        let nominal = self.nominal(failures);
        let half = nominal / 2;
        let wait = half + half.mul_f64(jitter.clamp(0.0, 1.0));
        wait.max(floor.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(10),
    };

    #[test]
    fn nominal_waits_double_up_to_the_cap() {
        let waits: Vec<u128> = (1..=9).map(|n| B.nominal(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]);
        assert_eq!(B.nominal(0), Duration::from_millis(100));
        assert_eq!(B.nominal(i64::MAX), Duration::from_secs(10));
    }

    #[test]
    fn jitter_spreads_over_the_upper_half_and_respects_the_floor() {
        assert_eq!(B.delay(3, 0.0, None), Duration::from_millis(200));
        assert_eq!(B.delay(3, 0.5, None), Duration::from_millis(300));
        assert!(B.delay(3, 0.999, None) < Duration::from_millis(400));
        assert_eq!(
            B.delay(1, 0.0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
