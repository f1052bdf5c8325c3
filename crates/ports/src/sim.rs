//! # The simulated cloud
//!
//! One in-memory implementation of every port ([`SimCloud::ports`]), driven
//! by a seed, for tests and `cloud server --simulate-cloud`. It is a test
//! tool: it checks that the engine copes with an unreliable, slow,
//! eventually consistent world, not that real adapters work.
//!
//! ## What it simulates ([`SimConfig`])
//! - **Latency:** every call sleeps a random time in `latency` with
//!   `tokio::time::sleep`, so tests on a paused clock run instantly.
//! - **Errors:** a call fails before doing anything with probability
//!   `error_rate`, with a class drawn from `error_classes`; a changing call
//!   that did its work reports a transient "reply lost" error with
//!   probability `lost_reply_rate` (the ambiguous case idempotency is for).
//!   [`SimCloud::inject`] makes the next calls of one operation fail.
//! - **Throttling:** a token bucket per cloud (`throttle`), refilled on the
//!   tokio clock; an empty bucket answers [`PortError::Throttled`].
//! - **Eventual consistency:** a new object is invisible to observations for
//!   `visible_after` observations and then not ready for `ready_after` more;
//!   long operations (provision, upgrade, resize, deletions) answer
//!   [`Progress::Pending`] `done_after` times before they are done.
//!
//! ## What it records
//! Every external resource created or deleted goes into a ledger keyed by
//! `kind/owner/name`, so tests assert that nothing was created twice
//! ([`SimCloud::created_twice`]) and nothing was left behind
//! ([`SimCloud::live`]). Objects that vanish with their cluster are listed as
//! orphaned ([`SimCloud::orphaned`]).
//!
//! The random stream is shared by all calls, so a run is reproducible when
//! the calls happen in the same order (one worker, or a current-thread
//! runtime).

mod cluster;
mod installation;

pub use installation::k8s_key;

use crate::Ports;
use crate::error::{ErrorClass, PortError, PortResult, Progress};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Token-bucket throttling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

/// How unreliable the simulated cloud is.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Latency of every call, uniformly in `[min, max]`.
    pub latency: (Duration, Duration),
    /// Probability that a call fails before doing anything.
    pub error_rate: f64,
    /// Relative weights of the classes of injected errors.
    pub error_classes: Vec<(ErrorClass, u32)>,
    /// Probability that a changing call does its work and then reports a
    /// transient error.
    pub lost_reply_rate: f64,
    pub throttle: Option<Throttle>,
    /// Observations during which a new object is not visible.
    pub visible_after: u32,
    /// Observations (after it became visible) during which it is not ready.
    pub ready_after: u32,
    /// Calls a long operation answers "pending" before it is done.
    pub done_after: u32,
}

impl SimConfig {
    /// A perfect, instant cloud.
    pub fn instant(seed: u64) -> Self {
        Self {
            seed,
            latency: (Duration::ZERO, Duration::ZERO),
            error_rate: 0.0,
            error_classes: vec![(ErrorClass::Transient, 1)],
            lost_reply_rate: 0.0,
            throttle: None,
            visible_after: 0,
            ready_after: 0,
            done_after: 0,
        }
    }

    /// A cloud with some latency and waiting, and no errors: what
    /// `cloud server --simulate-cloud` uses.
    pub fn dev(seed: u64) -> Self {
        Self {
            latency: (Duration::from_millis(5), Duration::from_millis(50)),
            ready_after: 2,
            done_after: 1,
            ..Self::instant(seed)
        }
    }

    /// A hostile cloud with only transient trouble: everything must still
    /// converge.
    pub fn flaky(seed: u64) -> Self {
        Self {
            latency: (Duration::from_millis(1), Duration::from_millis(200)),
            error_rate: 0.15,
            lost_reply_rate: 0.1,
            throttle: Some(Throttle {
                per_second: 50.0,
                burst: 20.0,
            }),
            visible_after: 1,
            ready_after: 3,
            done_after: 2,
            ..Self::instant(seed)
        }
    }
}

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerOp {
    Created,
    Deleted,
    /// Vanished because the cluster it lived in was deleted.
    Orphaned,
    /// Detached but kept (`keep_data` teardown).
    Retained,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub key: String,
    pub op: LedgerOp,
}

/// A live simulated resource.
#[derive(Debug, Clone)]
struct Resource {
    /// Observations so far (drives visibility and readiness).
    observations: u32,
    /// Remaining "pending" answers of a deletion in progress.
    deleting: Option<u32>,
    /// Free-form data (a DNS target).
    data: String,
}

/// How an observation sees a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Absent,
    NotReady,
    /// Ready, and how many observations it has been ready for (from 1).
    Ready(u32),
}

#[derive(Debug)]
struct State {
    config: SimConfig,
    rng: StdRng,
    live: BTreeMap<String, Resource>,
    ledger: Vec<LedgerEntry>,
    created: BTreeMap<String, u32>,
    /// Long operations in progress: key → remaining "pending" answers.
    operations: BTreeMap<String, u32>,
    /// Targeted failures: operation → errors still to return.
    injected: BTreeMap<String, Vec<PortError>>,
    tokens: f64,
    refilled: tokio::time::Instant,
    calls: u64,
    errors: u64,
}

impl State {
    fn record(&mut self, key: &str, op: LedgerOp) {
        self.ledger.push(LedgerEntry {
            key: key.to_string(),
            op,
        });
    }

    /// Creates `key` unless it is live; returns whether it was created.
    fn ensure(&mut self, key: &str, data: &str) -> bool {
        if let Some(r) = self.live.get_mut(key) {
            r.data = data.to_string();
            return false;
        }
        self.live.insert(
            key.to_string(),
            Resource {
                observations: 0,
                deleting: None,
                data: data.to_string(),
            },
        );
        *self.created.entry(key.to_string()).or_default() += 1;
        self.record(key, LedgerOp::Created);
        true
    }

    fn remove(&mut self, key: &str, op: LedgerOp) -> bool {
        if self.live.remove(key).is_some() {
            self.record(key, op);
            true
        } else {
            false
        }
    }

    /// Observes `key`, counting the observation.
    fn observe(&mut self, key: &str) -> Seen {
        let (visible_after, ready_after) = (self.config.visible_after, self.config.ready_after);
        let Some(r) = self.live.get_mut(key) else {
            return Seen::Absent;
        };
        r.observations = r.observations.saturating_add(1);
        let n = r.observations;
        if n <= visible_after {
            Seen::Absent
        } else if n <= visible_after + ready_after {
            Seen::NotReady
        } else {
            Seen::Ready(n - visible_after - ready_after)
        }
    }

    /// Makes a live resource go through readiness again (an update).
    fn restart(&mut self, key: &str) {
        let visible_after = self.config.visible_after;
        if let Some(r) = self.live.get_mut(key) {
            r.observations = r.observations.min(visible_after);
        }
    }

    /// Advances the long operation `key`: `Done` once it has answered
    /// "pending" `done_after` times since it started.
    fn operation(&mut self, key: &str, what: &str) -> Progress {
        let done_after = self.config.done_after;
        let remaining = self.operations.entry(key.to_string()).or_insert(done_after);
        if *remaining == 0 {
            self.operations.remove(key);
            Progress::Done
        } else {
            *remaining -= 1;
            Progress::pending(what)
        }
    }

    /// Deletes `key` over `done_after` calls; `Done` once it is gone.
    fn delete_slowly(&mut self, key: &str) -> Progress {
        let done_after = self.config.done_after;
        let Some(r) = self.live.get_mut(key) else {
            return Progress::Done;
        };
        let remaining = r.deleting.get_or_insert(done_after);
        if *remaining == 0 {
            self.remove(key, LedgerOp::Deleted);
            Progress::Done
        } else {
            *remaining -= 1;
            Progress::pending(format!("{key} is being deleted"))
        }
    }

    fn latency(&mut self) -> Duration {
        let (min, max) = self.config.latency;
        if max <= min {
            return min;
        }
        let nanos = self
            .rng
            .random_range(min.as_nanos() as u64..=max.as_nanos() as u64);
        Duration::from_nanos(nanos)
    }

    /// The failure, if any, of a call to `op` (before its effect).
    fn fault(&mut self, op: &str) -> Option<PortError> {
        if let Some(queue) = self.injected.get_mut(op)
            && !queue.is_empty()
        {
            return Some(queue.remove(0));
        }
        if let Some(t) = self.config.throttle {
            let now = tokio::time::Instant::now();
            let elapsed = now.duration_since(self.refilled).as_secs_f64();
            self.refilled = now;
            self.tokens = (self.tokens + elapsed * t.per_second).min(t.burst);
            if self.tokens < 1.0 {
                let wait = (1.0 - self.tokens) / t.per_second.max(f64::MIN_POSITIVE);
                return Some(PortError::Throttled {
                    retry_after: Duration::from_secs_f64(wait.min(60.0)),
                });
            }
            self.tokens -= 1.0;
        }
        if self.config.error_rate > 0.0 && self.rng.random_bool(self.config.error_rate.min(1.0)) {
            let class = self.pick_class();
            return Some(PortError::of_class(
                class,
                format!("simulated {op} failure"),
            ));
        }
        None
    }

    fn pick_class(&mut self) -> ErrorClass {
        let total: u32 = self.config.error_classes.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return ErrorClass::Transient;
        }
        let mut pick = self.rng.random_range(0..total);
        for (class, weight) in &self.config.error_classes {
            if pick < *weight {
                return *class;
            }
            pick -= weight;
        }
        ErrorClass::Transient
    }

    /// Whether a changing call that did its work loses its reply.
    fn lose_reply(&mut self) -> bool {
        self.config.lost_reply_rate > 0.0
            && self.rng.random_bool(self.config.lost_reply_rate.min(1.0))
    }
}

/// The simulated cloud; cheap to share (`Arc`).
#[derive(Debug)]
pub struct SimCloud {
    state: Mutex<State>,
}

impl SimCloud {
    pub fn new(config: SimConfig) -> Arc<Self> {
        let burst = config.throttle.map(|t| t.burst).unwrap_or(0.0);
        Arc::new(Self {
            state: Mutex::new(State {
                rng: StdRng::seed_from_u64(config.seed),
                config,
                live: BTreeMap::new(),
                ledger: Vec::new(),
                created: BTreeMap::new(),
                operations: BTreeMap::new(),
                injected: BTreeMap::new(),
                tokens: burst,
                refilled: tokio::time::Instant::now(),
                calls: 0,
                errors: 0,
            }),
        })
    }

    /// Every port, implemented by this cloud.
    pub fn ports(self: &Arc<Self>) -> Ports {
        Ports {
            provisioner: self.clone(),
            kube: self.clone(),
            dns: self.clone(),
            resources: self.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every
        // change is a single map operation), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits the call's latency and decides whether it fails.
    async fn enter(&self, op: &str) -> PortResult<()> {
        let (delay, fault) = {
            let mut s = self.lock();
            s.calls += 1;
            let delay = s.latency();
            (delay, s.fault(op))
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match fault {
            Some(e) => {
                self.lock().errors += 1;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Runs the effect of a changing call, then maybe loses its reply.
    fn effect<T>(&self, op: &str, f: impl FnOnce(&mut State) -> PortResult<T>) -> PortResult<T> {
        let mut s = self.lock();
        let out = f(&mut s)?;
        if s.lose_reply() {
            s.errors += 1;
            return Err(PortError::Transient(format!("{op}: reply lost")));
        }
        Ok(out)
    }

    /// Runs an observation (never loses its reply: it changed nothing).
    fn observe<T>(&self, f: impl FnOnce(&mut State) -> PortResult<T>) -> PortResult<T> {
        f(&mut self.lock())
    }

    /// Makes the next calls of `op` (e.g. `"create_cluster"`) fail with
    /// `errors`, in order.
    pub fn inject(&self, op: &str, errors: impl IntoIterator<Item = PortError>) {
        self.lock()
            .injected
            .entry(op.to_string())
            .or_default()
            .extend(errors);
    }

    /// Changes how unreliable the cloud is from now on (the seed stays).
    pub fn reconfigure(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut self.lock().config);
    }

    /// Live resources (keys), sorted.
    pub fn live(&self) -> Vec<String> {
        self.lock().live.keys().cloned().collect()
    }

    /// Live resources whose key starts with `prefix`.
    pub fn live_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.lock()
            .live
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Keys created more than once.
    pub fn created_twice(&self) -> Vec<String> {
        self.lock()
            .created
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Keys that vanished with their cluster instead of being deleted.
    pub fn orphaned(&self) -> BTreeSet<String> {
        self.lock()
            .ledger
            .iter()
            .filter(|e| e.op == LedgerOp::Orphaned)
            .map(|e| e.key.clone())
            .collect()
    }

    /// Every creation and deletion, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.lock().ledger.clone()
    }

    /// Calls made, and how many of them failed (injected, random, throttled
    /// or lost replies).
    pub fn calls(&self) -> (u64, u64) {
        let s = self.lock();
        (s.calls, s.errors)
    }
}

/// Key of a cluster's control plane.
pub fn cluster_key(cluster_id: &str) -> String {
    format!("cluster/{cluster_id}")
}

#[cfg(test)]
mod tests;
