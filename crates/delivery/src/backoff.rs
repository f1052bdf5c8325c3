//! Retry delays: exponential from a base, capped, with "equal jitter" (half
//! of the delay fixed, half random). Equal jitter spreads the retries of many
//! targets that failed together, yet until the cap a delay is never shorter
//! than the one before it (the k-th lies in [d/2, d] with d = base·2^(k-1)).

use std::time::Duration;

/// The delay after the `attempt`-th failed attempt (1 = the first), with
/// `jitter` in [0, 1].
pub fn delay(attempt: i64, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(1u32 << doublings).min(cap);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// [`delay`] with a random jitter.
pub fn random_delay(attempt: i64, base: Duration, cap: Duration) -> Duration {
    delay(attempt, base, cap, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(300);

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        assert_eq!(delay(1, BASE, CAP, 1.0), Duration::from_secs(1));
        assert_eq!(delay(2, BASE, CAP, 1.0), Duration::from_secs(2));
        assert_eq!(delay(5, BASE, CAP, 1.0), Duration::from_secs(16));
        assert_eq!(delay(9, BASE, CAP, 1.0), Duration::from_secs(256));
        assert_eq!(delay(10, BASE, CAP, 1.0), CAP);
        assert_eq!(delay(1_000_000, BASE, CAP, 1.0), CAP);
        assert_eq!(delay(0, BASE, CAP, 1.0), BASE, "attempt 0 is treated as 1");
    }

    #[test]
    fn jitter_stays_in_the_upper_half_and_never_shrinks_the_delay() {
        assert_eq!(delay(3, BASE, CAP, 0.0), Duration::from_secs(2));
        for attempt in 1..20 {
            let d = random_delay(attempt, BASE, CAP);
            let full = delay(attempt, BASE, CAP, 1.0);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
            // The shortest next delay is at least the longest of this one.
            assert!(delay(attempt + 1, BASE, CAP, 0.0) >= full.min(CAP / 2));
        }
    }
}
