//! A store, a simulated cloud and the two supervisors, driven by hand on a
//! manual clock: [`Harness::settle`] activates them until nothing is due,
//! jumping the clock to the next retry time when they wait. Fully
//! deterministic with one worker.

#![allow(dead_code)] // each test module uses a different part

use cloud_model::cluster::{Cluster, ClusterState};
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_ports::sim::{SimCloud, SimConfig};
use cloud_store::progress::ProgressTable;
use cloud_store::testing::TestDb;
use cloud_store::{Query, SqlStore};
use cloud_supervisor::Wake;
use cloud_supervisor::backoff::Backoff;
use cloud_supervisor::clock::Clock;
use cloud_supervisor::cluster::ClusterSupervisor;
use cloud_supervisor::cluster_installation::ClusterInstallationSupervisor;
use cloud_supervisor::driver::{Activation, BackgroundTask};
use cloud_supervisor::reconcile::{ReconcileConfig, Reconciler};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const OWNER: &str = "test-engine";

/// Tuning for hand-driven tests: one worker, short waits.
pub fn config() -> ReconcileConfig {
    ReconcileConfig {
        backoff: Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        },
        recheck: Duration::from_secs(2),
        max_transient_failures: 30,
        workers: 1,
        batch: 100,
        shutdown_grace: Duration::from_secs(1),
        seed: 42,
    }
}

pub struct Harness {
    pub db: TestDb,
    pub store: SqlStore,
    pub sim: Arc<SimCloud>,
    pub clock: Clock,
    pub clusters: Reconciler<ClusterSupervisor>,
    pub cis: Reconciler<ClusterInstallationSupervisor>,
    cancel: CancellationToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Harness {
    pub async fn new(db: Db, sim: SimConfig, config: ReconcileConfig) -> Self {
        let db = match db {
            Db::Sqlite => TestDb::sqlite().await,
            Db::Postgres => TestDb::postgres().await,
        };
        let store = db.store.clone();
        let sim = SimCloud::new(sim);
        let clock = Clock::manual(1_700_000_000_000);
        let wake = Wake::new();
        let clusters = Reconciler::new(
            ClusterSupervisor::new(store.clone(), sim.ports()),
            store.clone(),
            wake.clone(),
            clock.clone(),
            OWNER,
            config.clone(),
        );
        let cis = Reconciler::new(
            ClusterInstallationSupervisor::new(store.clone(), sim.ports()),
            store.clone(),
            wake,
            clock.clone(),
            OWNER,
            config,
        );
        Self {
            db,
            store,
            sim,
            clock,
            clusters,
            cis,
            cancel: CancellationToken::new(),
        }
    }

    pub async fn sqlite(sim: SimConfig) -> Self {
        Self::new(Db::Sqlite, sim, config()).await
    }

    /// One activation of each supervisor; whether anything was stepped.
    pub async fn round(&self) -> (Activation, Activation) {
        let a = self.clusters.activate(false, &self.cancel).await;
        let b = self.cis.activate(false, &self.cancel).await;
        assert_eq!(a.error, None);
        assert_eq!(b.error, None);
        (a, b)
    }

    /// Runs up to `rounds` activations, advancing the clock to the next
    /// retry time whenever nothing is due; returns the rounds used, or
    /// `None` when work remained.
    pub async fn run(&self, rounds: usize) -> Option<usize> {
        for n in 0..rounds {
            let (a, b) = self.round().await;
            if a.processed + b.processed > 0 {
                continue;
            }
            let next = [a.next_due_ms, b.next_due_ms].into_iter().flatten().min();
            match next {
                Some(at) => self.clock.advance(self.clock.until(at)),
                None => return Some(n),
            }
        }
        None
    }

    /// Runs until nothing is due or waiting.
    pub async fn settle(&self) -> usize {
        self.run(20_000).await.expect("the engine did not settle")
    }

    /// A cluster as `POST /api/clusters` creates it (JSON request body).
    pub async fn create_cluster(&self, request: serde_json::Value) -> Cluster {
        let mut request: CreateClusterRequest = serde_json::from_value(request).unwrap();
        request.set_defaults();
        let mut cluster = request.build_cluster().unwrap();
        self.store
            .cluster_create(&mut cluster, &request.annotations)
            .await
            .unwrap();
        cluster
    }

    pub async fn cluster(&self, id: &str) -> Cluster {
        self.store.cluster_get(id).await.unwrap().unwrap()
    }

    /// `(old, new)` state pairs of a resource's events, in the order they
    /// were recorded.
    pub async fn transitions(&self, id: &str) -> Vec<(String, String)> {
        Query::new(
            "SELECT s.old_state, s.new_state FROM state_change_event s \
             JOIN event e ON e.id = s.event_id WHERE s.resource_id = ",
        )
        .bind(id)
        .sql(" ORDER BY e.seq ASC")
        .fetch_all(self.store.conn())
        .await
        .unwrap()
    }

    /// Changes a cluster as an API request does: under its lock, re-read,
    /// `change` returns the new state (or `None` to refuse, like a 400),
    /// saved with its event. `false` when refused or locked.
    pub async fn request(
        &self,
        id: &str,
        change: impl FnOnce(&mut Cluster) -> Option<ClusterState>,
    ) -> bool {
        if !self.store.cluster_lock(id, "api").await.unwrap() {
            return false;
        }
        let mut c = self.cluster(id).await;
        let from = c.state;
        let moved = match change(&mut c) {
            Some(to) if to.can_request(from) || to == from => {
                c.state = to;
                self.store
                    .cluster_update_with_event(&c, from)
                    .await
                    .unwrap();
                true
            }
            _ => false,
        };
        self.store.cluster_unlock(id, "api").await.unwrap();
        moved
    }

    /// [`Self::request`] of a plain state change.
    pub async fn request_state(&self, id: &str, to: ClusterState) -> bool {
        self.request(id, |_| Some(to)).await
    }

    pub async fn progress(
        &self,
        table: ProgressTable,
        id: &str,
    ) -> cloud_model::progress::Progress {
        self.store.progress_get(table, id).await.unwrap().unwrap()
    }
}

/// Asserts the events of `id` form one chain from `first` to `last`.
pub fn assert_chain(id: &str, events: &[(String, String)], first: &str, last: &str) {
    let mut at = first.to_string();
    for (old, new) in events {
        assert_eq!(
            *old, at,
            "{id}: event {old} → {new} does not follow {at}: {events:?}"
        );
        at = new.clone();
    }
    assert_eq!(
        at, last,
        "{id}: events end in {at}, the row is {last}: {events:?}"
    );
}
