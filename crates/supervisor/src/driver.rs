//! # The driver: one background task per supervisor kind
//!
//! A supervisor is an idempotent activation with no input
//! ([`BackgroundTask::activate`]): it reads what is due from the database
//! and works on it, so running it too often is harmless and running it
//! late loses nothing. The driver runs it:
//!
//! - at start (a full pass, so a restarted server picks up everything);
//! - on a [`Wake`] for its kind (an API write, a dependent supervisor, or
//!   another server through `LISTEN/NOTIFY`), coalesced while busy;
//! - at once again when the pass moved objects (they may be due in their
//!   next state) or listed a full batch;
//! - when the earliest per-object retry time comes (backoff, recheck);
//! - every `resync` period with `resync = true`, which also looks at stable
//!   objects to find drift (level-triggered);
//! - never again once the cancellation token fires; a running pass is left
//!   to finish (it stops starting steps and bounds running ones).

use crate::clock::Clock;
use crate::{SupervisorKind, Wake};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What one activation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activation {
    /// Objects stepped.
    pub processed: usize,
    /// Objects whose state changed.
    pub advanced: usize,
    /// Objects whose step failed (or reported a problem).
    pub failed: usize,
    /// Run again at once.
    pub more: bool,
    /// The earliest retry time (ms) of an object that was not due when the
    /// pass started (it may have passed since: then run again at once).
    pub next_due_ms: Option<i64>,
    /// The pass could not run (the database is unreachable).
    pub error: Option<String>,
}

/// A supervisor as the driver sees it.
#[async_trait]
pub trait BackgroundTask: Send + Sync {
    fn kind(&self) -> SupervisorKind;
    /// One pass; `resync` also checks objects that have no pending work.
    async fn activate(&self, resync: bool, cancel: &CancellationToken) -> Activation;
}

/// When the driver activates its task without being woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    /// Period of the full resync pass (`--poll`); `None` disables it.
    pub resync: Option<Duration>,
    /// Longest sleep when nothing is scheduled (a safety net).
    pub idle: Duration,
    /// Pause after a pass that could not reach the database.
    pub error_pause: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            resync: Some(Duration::from_secs(30)),
            idle: Duration::from_secs(3600),
            error_pause: Duration::from_secs(1),
        }
    }
}

/// Runs `task` until `cancel` fires.
pub async fn drive(
    task: Arc<dyn BackgroundTask>,
    wake: Wake,
    clock: Clock,
    config: DriverConfig,
    cancel: CancellationToken,
) {
    let kind = task.kind();
    let mut next_resync = config.resync.map(|p| Instant::now() + p);
    let mut resync = true;
    tracing::debug!(kind = kind.as_str(), "supervisor started");
    while !cancel.is_cancelled() {
        let report = task.activate(resync, &cancel).await;
        resync = false;
        if let Some(e) = &report.error {
            tracing::warn!(kind = kind.as_str(), error = %e, "supervisor pass failed");
        }
        if cancel.is_cancelled() {
            break;
        }
        if report.more && report.error.is_none() {
            // Let wake-ups and other tasks in between passes.
            tokio::task::yield_now().await;
        } else {
            let mut sleep_for = config.idle;
            if let Some(at) = report.next_due_ms {
                sleep_for = sleep_for.min(clock.until(at));
            }
            if let Some(at) = next_resync {
                sleep_for = sleep_for.min(at.saturating_duration_since(Instant::now()));
            }
            if report.error.is_some() {
                sleep_for = sleep_for.min(config.error_pause);
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = wake.woken(kind) => {}
                () = tokio::time::sleep(sleep_for) => {}
            }
        }
        if let (Some(at), Some(period)) = (next_resync, config.resync)
            && Instant::now() >= at
        {
            resync = true;
            next_resync = Some(Instant::now() + period);
        }
    }
    tracing::debug!(kind = kind.as_str(), "supervisor stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records each activation's time and resync flag; reports `more` for
    /// the first `more_times` activations and `next_due_ms` when asked.
    struct Probe {
        clock: Clock,
        seen: Mutex<Vec<(i64, bool)>>,
        more_times: usize,
        next_due_in_ms: Option<i64>,
    }

    #[async_trait]
    impl BackgroundTask for Probe {
        fn kind(&self) -> SupervisorKind {
            SupervisorKind::Cluster
        }
        async fn activate(&self, resync: bool, _: &CancellationToken) -> Activation {
            let now = self.clock.now_millis();
            let mut seen = self.seen.lock().unwrap();
            seen.push((now, resync));
            Activation {
                more: seen.len() <= self.more_times,
                next_due_ms: self.next_due_in_ms.map(|d| now + d),
                ..Activation::default()
            }
        }
    }

    fn probe(more_times: usize, next_due_in_ms: Option<i64>) -> Arc<Probe> {
        Arc::new(Probe {
            clock: Clock::tokio(),
            seen: Mutex::new(Vec::new()),
            more_times,
            next_due_in_ms,
        })
    }

    async fn run_for(p: &Arc<Probe>, wake: &Wake, config: DriverConfig, d: Duration) {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(drive(
            p.clone(),
            wake.clone(),
            p.clock.clone(),
            config,
            cancel.clone(),
        ));
        tokio::time::sleep(d).await;
        cancel.cancel();
        task.await.unwrap();
    }

    fn elapsed(seen: &[(i64, bool)]) -> Vec<(i64, bool)> {
        let start = seen[0].0;
        seen.iter().map(|(t, r)| (t - start, *r)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn resyncs_periodically_starting_with_a_full_pass() {
        let p = probe(0, None);
        let config = DriverConfig {
            resync: Some(Duration::from_secs(10)),
            ..DriverConfig::default()
        };
        run_for(&p, &Wake::new(), config, Duration::from_secs(35)).await;
        let seen = elapsed(&p.seen.lock().unwrap());
        assert_eq!(
            seen,
            [(0, true), (10_000, true), (20_000, true), (30_000, true)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_runs_a_pass_at_once_and_more_runs_again() {
        let p = probe(2, None);
        let wake = Wake::new();
        let w = wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            w.wake(SupervisorKind::Cluster);
        });
        let config = DriverConfig {
            resync: None,
            ..DriverConfig::default()
        };
        run_for(&p, &wake, config, Duration::from_secs(60)).await;
        let seen = elapsed(&p.seen.lock().unwrap());
        // Start (full pass), two "more" passes at once, then the wake-up.
        assert_eq!(seen, [(0, true), (0, false), (0, false), (5_000, false)]);
    }

    #[tokio::test(start_paused = true)]
    async fn sleeps_until_the_next_retry_time() {
        let p = probe(0, Some(1_500));
        let config = DriverConfig {
            resync: None,
            ..DriverConfig::default()
        };
        run_for(&p, &Wake::new(), config, Duration::from_millis(4_000)).await;
        let seen = elapsed(&p.seen.lock().unwrap());
        assert_eq!(
            seen,
            [(0, true), (1_500, false), (3_000, false)],
            "{seen:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_the_driver_while_it_sleeps() {
        let p = probe(0, None);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(drive(
            p.clone(),
            Wake::new(),
            Clock::tokio(),
            DriverConfig::default(),
            cancel.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the driver stops promptly")
            .unwrap();
        assert_eq!(p.seen.lock().unwrap().len(), 1);
    }
}
