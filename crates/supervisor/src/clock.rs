//! The supervisors' clock, in milliseconds since the epoch.
//!
//! Retry times (`next_retry_at`) are written and compared with one clock so
//! that tests can run the engine on virtual time: [`Clock::Tokio`] follows the
//! tokio clock (which `start_paused` tests advance instantly) and
//! [`Clock::Manual`] only moves when the test says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Clock {
    /// Wall-clock time (what the servers of one database share).
    System,
    /// Wall-clock time at creation, then advanced by the tokio clock.
    Tokio {
        origin_ms: i64,
        origin: tokio::time::Instant,
    },
    /// Set by hand.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn tokio() -> Self {
        Clock::Tokio {
            origin_ms: cloud_model::now_millis(),
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn manual(start_ms: i64) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn now_millis(&self) -> i64 {
        match self {
            Clock::System => cloud_model::now_millis(),
            Clock::Tokio { origin_ms, origin } => {
                let elapsed = i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX);
                origin_ms.saturating_add(elapsed)
            }
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward (other clocks move by themselves).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(now) = self {
            let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            now.fetch_add(ms, Ordering::SeqCst);
        }
    }

    /// How long from now until `at_ms` (zero when it has passed).
    pub fn until(&self, at_ms: i64) -> Duration {
        let ms = at_ms.saturating_sub(self.now_millis()).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}

/// A duration in whole milliseconds, for adding to a clock reading.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now_millis(), 1_000);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now_millis(), 1_250);
        assert_eq!(clock.until(2_000), Duration::from_millis(750));
        assert_eq!(clock.until(10), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_virtual_time() {
        let clock = Clock::tokio();
        let before = clock.now_millis();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let after = clock.now_millis();
        assert!(
            (3_600_000..3_601_000).contains(&(after - before)),
            "{}",
            after - before
        );
    }
}
