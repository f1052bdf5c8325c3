//! # The reconcile template
//!
//! Every supervisor runs the same pass ([`Reconciler::activate`]):
//!
//! 1. list the due rows: state in the pending-work list (plus `stable` on a
//!    periodic resync) and `next_retry_at <= now`, highest priority first;
//! 2. for each (a few at a time), try-lock it with the per-table lock
//!    method; a held row is skipped, never waited for;
//! 3. [`Supervise::step`]: re-read the row (skip it if its state moved since
//!    the listing), observe through the ports, `decide` (pure), run the
//!    actions, write the new state with its event;
//! 4. record the progress on the row: the step, the last error and its
//!    class, and when to look again: at once after a state change, after
//!    `recheck` while a peer is still working, after an exponential backoff
//!    with jitter after a failure;
//! 5. unlock, always, and wake the supervisors that depend on the change.
//!
//! A step is never interrupted on its own; on shutdown the pass starts
//! nothing new and gives running steps `shutdown_grace` to finish before
//! dropping them (every action is idempotent, so a dropped step is simply
//! redone) and releasing their locks.

use crate::backoff::Backoff;
use crate::clock::{Clock, millis};
use crate::driver::{Activation, BackgroundTask};
use crate::{SupervisorKind, Wake};
use async_trait::async_trait;
use cloud_model::progress::{ErrorClass, Progress};
use cloud_ports::PortError;
use cloud_store::progress::{DueRow, ProgressTable};
use cloud_store::{SqlStore, StoreError};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Tuning shared by every supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileConfig {
    /// Backoff after failures.
    pub backoff: Backoff,
    /// How soon to look again at an object whose peer is still working
    /// ("still creating").
    pub recheck: Duration,
    /// Consecutive transient failures after which a step counts as failed
    /// for good (and goes to its `*-failed` state where there is one).
    pub max_transient_failures: i64,
    /// Objects worked on at once by one supervisor.
    pub workers: usize,
    /// Rows listed per pass.
    pub batch: i64,
    /// How long running steps may finish after shutdown is asked.
    pub shutdown_grace: Duration,
    /// Seed of the backoff jitter.
    pub seed: u64,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            recheck: Duration::from_secs(5),
            max_transient_failures: 20,
            workers: 4,
            batch: 500,
            shutdown_grace: Duration::from_secs(10),
            seed: cloud_model::now_millis().unsigned_abs() ^ u64::from(std::process::id()),
        }
    }
}

/// A step's failure, or a problem an observation revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub class: ErrorClass,
    pub message: String,
    /// A wait the peer asked for (throttling), a floor for the backoff.
    pub retry_after: Option<Duration>,
}

impl StepError {
    pub fn from_port(action: &str, e: &PortError) -> Self {
        Self {
            class: e.class(),
            message: format!("{action}: {e}"),
            retry_after: e.retry_after(),
        }
    }

    pub fn from_store(action: &str, e: &StoreError) -> Self {
        Self {
            class: ErrorClass::Transient,
            message: format!("{action}: {e}"),
            retry_after: None,
        }
    }

    pub fn problem(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Permanent,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// What one step did to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepReport {
    /// The row vanished or its state moved since it was listed: nothing was
    /// done and nothing is recorded.
    Skipped,
    Done {
        /// The step's name (`Step` on the object).
        step: &'static str,
        /// The state change written, `(from, to)`.
        moved: Option<(String, String)>,
        /// A peer is still working: look again after `recheck`.
        waiting: bool,
        /// The failure or problem to show, if any.
        error: Option<StepError>,
        /// Retry the same state with backoff (false once the failure moved
        /// the object to its failed state, or for a reported problem).
        retry: bool,
        /// The object's consecutive failures before this step.
        failures_before: i64,
    },
}

/// Whether a failure of `class` after `failures_before` earlier failures is
/// final (not retried in the same state).
pub fn gives_up(class: ErrorClass, failures_before: i64, max_transient: i64) -> bool {
    !class.is_retryable() || failures_before + 1 >= max_transient
}

/// One supervisor kind, as the template sees it.
#[async_trait]
pub trait Supervise: Send + Sync + 'static {
    fn kind(&self) -> SupervisorKind;
    fn table(&self) -> ProgressTable;
    /// States with work (the pending-work list).
    fn pending_states(&self) -> Vec<&'static str>;
    /// States also checked on a periodic resync.
    fn resync_states(&self) -> Vec<&'static str>;
    /// Higher is worked on first.
    fn priority(&self, state: &str) -> i32;
    /// Supervisors to wake after a state change.
    fn dependents(&self) -> &'static [SupervisorKind];
    async fn lock(&self, id: &str, owner: &str) -> Result<bool, StoreError>;
    async fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError>;
    /// Re-read, observe, decide, act, write the state (steps 3 of the
    /// template); the row is locked by the caller.
    async fn step(&self, id: &str, listed_state: &str, config: &ReconcileConfig) -> StepReport;
}

/// Counters of one supervisor (for tests, benchmarks and logs).
#[derive(Debug, Default)]
pub struct Stats {
    pub activations: AtomicU64,
    pub steps: AtomicU64,
    pub transitions: AtomicU64,
    pub failures: AtomicU64,
    pub lock_misses: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Runs a [`Supervise`] through the template; the driver's task.
pub struct Reconciler<S> {
    supervisor: S,
    store: SqlStore,
    wake: Wake,
    clock: Clock,
    owner: String,
    config: ReconcileConfig,
    jitter: Mutex<StdRng>,
    pub stats: std::sync::Arc<Stats>,
}

impl<S: Supervise> Reconciler<S> {
    pub fn new(
        supervisor: S,
        store: SqlStore,
        wake: Wake,
        clock: Clock,
        owner: impl Into<String>,
        config: ReconcileConfig,
    ) -> Self {
        Self {
            jitter: Mutex::new(StdRng::seed_from_u64(config.seed)),
            supervisor,
            store,
            wake,
            clock,
            owner: owner.into(),
            config,
            stats: Default::default(),
        }
    }

    pub fn supervisor(&self) -> &S {
        &self.supervisor
    }

    fn jitter(&self) -> f64 {
        let mut rng = self.jitter.lock().unwrap_or_else(|e| e.into_inner());
        rng.random_range(0.0..1.0)
    }

    /// The progress to record after `report`.
    fn progress_after(&self, report: &StepReport) -> Option<Progress> {
        let StepReport::Done {
            step,
            moved,
            waiting,
            error,
            retry,
            failures_before,
        } = report
        else {
            return None;
        };
        let now = self.clock.now_millis();
        // An object that reached a state without work (stable, deleted) is
        // at no step; a failed one keeps the step that failed.
        let settled = moved
            .as_ref()
            .is_some_and(|(_, to)| !self.supervisor.pending_states().contains(&to.as_str()));
        let mut p = Progress {
            step: if settled && error.is_none() {
                String::new()
            } else {
                step.to_string()
            },
            ..Progress::default()
        };
        if let Some(e) = error {
            p.last_error = e.message.clone();
            p.last_error_class = Some(e.class);
        }
        if *retry {
            p.retry_count = failures_before + 1;
            let wait = self.config.backoff.delay(
                p.retry_count,
                self.jitter(),
                error.as_ref().and_then(|e| e.retry_after),
            );
            p.next_retry_at = now + millis(wait);
        } else if *waiting {
            p.next_retry_at = now + millis(self.config.recheck);
        }
        Some(p)
    }

    /// Locks, steps, records and unlocks one row; whether it moved.
    async fn process(&self, row: DueRow, cancel: &CancellationToken) -> Option<StepReport> {
        if cancel.is_cancelled() {
            return None;
        }
        let sup = &self.supervisor;
        match sup.lock(&row.id, &self.owner).await {
            Ok(true) => {}
            Ok(false) => {
                Stats::add(&self.stats.lock_misses, 1);
                return None;
            }
            Err(e) => {
                tracing::warn!(kind = sup.kind().as_str(), id = %row.id, error = %e, "cannot lock");
                return None;
            }
        }
        let grace = async {
            cancel.cancelled().await;
            tokio::time::sleep(self.config.shutdown_grace).await;
        };
        let report = tokio::select! {
            r = sup.step(&row.id, &row.state, &self.config) => Some(r),
            () = grace => {
                tracing::warn!(kind = sup.kind().as_str(), id = %row.id, "shutting down: step abandoned, releasing the object");
                None
            }
        };
        if let Some(r) = &report
            && let Some(progress) = self.progress_after(r)
            && let Err(e) = self
                .store
                .progress_record(sup.table(), &row.id, &progress)
                .await
        {
            tracing::warn!(kind = sup.kind().as_str(), id = %row.id, error = %e, "cannot record progress");
        }
        match sup.unlock(&row.id, &self.owner).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(kind = sup.kind().as_str(), id = %row.id, "lock was lost"),
            Err(e) => {
                tracing::warn!(kind = sup.kind().as_str(), id = %row.id, error = %e, "cannot unlock")
            }
        }
        report
    }
}

#[async_trait]
impl<S: Supervise> BackgroundTask for Reconciler<S> {
    fn kind(&self) -> SupervisorKind {
        self.supervisor.kind()
    }

    async fn activate(&self, resync: bool, cancel: &CancellationToken) -> Activation {
        let sup = &self.supervisor;
        Stats::add(&self.stats.activations, 1);
        let pending = sup.pending_states();
        let mut states = pending.clone();
        if resync {
            states.extend(sup.resync_states());
        }
        let now = self.clock.now_millis();
        let mut due = match self
            .store
            .progress_list_due(sup.table(), &states, now, self.config.batch)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                return Activation {
                    error: Some(format!("cannot list work: {e}")),
                    ..Activation::default()
                };
            }
        };
        let full_batch = i64::try_from(due.len()).unwrap_or(i64::MAX) >= self.config.batch;
        // Stable sort: equal priorities keep the oldest-first listing order.
        due.sort_by_key(|r| std::cmp::Reverse(sup.priority(&r.state)));
        let reports: Vec<StepReport> = futures::stream::iter(due)
            .map(|row| self.process(row, cancel))
            .buffer_unordered(self.config.workers.max(1))
            .filter_map(|r| async move { r })
            .collect()
            .await;

        let mut out = Activation {
            processed: reports.len(),
            ..Activation::default()
        };
        for r in &reports {
            if let StepReport::Done { moved, error, .. } = r {
                if moved.is_some() {
                    out.advanced += 1;
                }
                if error.is_some() {
                    out.failed += 1;
                }
            }
        }
        Stats::add(&self.stats.steps, reports.len() as u64);
        Stats::add(&self.stats.transitions, out.advanced as u64);
        Stats::add(&self.stats.failures, out.failed as u64);
        if out.advanced > 0 {
            for kind in sup.dependents() {
                self.wake.wake(*kind);
            }
        }
        out.more = !cancel.is_cancelled() && (out.advanced > 0 || full_batch);
        // Measured from the listing time, not from now: a row whose retry
        // time passed while this pass ran must count (the driver then runs
        // at once), while rows that were due but skipped (held by another
        // server) must not make it spin.
        out.next_due_ms = match self
            .store
            .progress_next_due(sup.table(), &pending, now)
            .await
        {
            Ok(at) => at,
            Err(e) => {
                out.error = Some(format!("cannot read the next retry time: {e}"));
                None
            }
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_give_up_after_the_limit_and_others_at_once() {
        assert!(!gives_up(ErrorClass::Transient, 0, 3));
        assert!(!gives_up(ErrorClass::Transient, 1, 3));
        assert!(gives_up(ErrorClass::Transient, 2, 3));
        assert!(gives_up(ErrorClass::Permanent, 0, 3));
        assert!(gives_up(ErrorClass::User, 0, 3));
    }

    #[test]
    fn port_errors_keep_their_class_and_wait() {
        let e = StepError::from_port(
            "create-cluster",
            &PortError::Throttled {
                retry_after: Duration::from_secs(2),
            },
        );
        assert_eq!(e.class, ErrorClass::Transient);
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert!(e.message.starts_with("create-cluster: throttled"));
    }
}
