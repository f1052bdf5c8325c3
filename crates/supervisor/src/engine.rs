//! # The engine: the supervisors of one server
//!
//! [`Engine::start`] spawns, for each enabled supervisor, its driver
//! ([`crate::driver::drive`]) over a [`Reconciler`], and on PostgreSQL the
//! `LISTEN/NOTIFY` tasks of [`crate::listen`]. Broadcasting runs even when
//! no supervisor does (an API-only server must still wake the others).
//! [`Engine::shutdown`] cancels everything and waits for running steps to
//! finish or be released.
//!
//! Supervisors of this build: cluster and cluster installation. The others
//! (installation, group, deletion, backup, …) plug in the same way.

use crate::clock::Clock;
use crate::cluster::ClusterSupervisor;
use crate::cluster_installation::ClusterInstallationSupervisor;
use crate::driver::{BackgroundTask, DriverConfig, drive};
use crate::reconcile::{ReconcileConfig, Reconciler, Stats, Supervise};
use crate::{SupervisorKind, Wake, listen};
use cloud_ports::Ports;
use cloud_store::{Backend, SqlStore};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What the engine runs, and how.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Lock owner of this server's supervisors.
    pub owner: String,
    pub cluster: bool,
    pub cluster_installation: bool,
    pub driver: DriverConfig,
    pub reconcile: ReconcileConfig,
    pub clock: Clock,
}

impl EngineConfig {
    /// Every supervisor of this build on, with default tuning.
    pub fn all(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            cluster: true,
            cluster_installation: true,
            driver: DriverConfig::default(),
            reconcile: ReconcileConfig::default(),
            clock: Clock::System,
        }
    }
}

/// A lock owner unique to this process: `$HOSTNAME` (as the original) plus
/// a random suffix, so two servers on one host never share locks.
pub fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "cloud".to_string());
    let id = cloud_model::new_id();
    format!("{host}-{}", &id[..8])
}

/// The running supervisors of one server.
pub struct Engine {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    stats: BTreeMap<&'static str, Arc<Stats>>,
}

impl Engine {
    /// Starts the enabled supervisors over `ports` (none without ports:
    /// then only the cross-server wake-ups run).
    pub fn start(config: EngineConfig, store: SqlStore, ports: Option<Ports>, wake: Wake) -> Self {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut stats = BTreeMap::new();
        let postgres = store.backend() == Backend::Postgres;
        if postgres {
            wake.enable_broadcast();
            for kind in SupervisorKind::ALL {
                tasks.spawn(listen::broadcast(
                    store.clone(),
                    wake.clone(),
                    kind,
                    cancel.child_token(),
                ));
            }
        }
        let mut supervised: Vec<Arc<dyn BackgroundTask>> = Vec::new();
        if let Some(ports) = ports {
            if config.cluster {
                let sup = ClusterSupervisor::new(store.clone(), ports.clone());
                let r = reconciler(&config, &store, &wake, sup);
                stats.insert(SupervisorKind::Cluster.as_str(), r.stats.clone());
                supervised.push(r);
            }
            if config.cluster_installation {
                let sup = ClusterInstallationSupervisor::new(store.clone(), ports.clone());
                let r = reconciler(&config, &store, &wake, sup);
                stats.insert(
                    SupervisorKind::ClusterInstallation.as_str(),
                    r.stats.clone(),
                );
                supervised.push(r);
            }
        }
        if postgres && !supervised.is_empty() {
            tasks.spawn(listen::listen(
                store.clone(),
                wake.clone(),
                cancel.child_token(),
            ));
        }
        for task in supervised {
            tracing::info!(kind = task.kind().as_str(), owner = %config.owner, "starting supervisor");
            tasks.spawn(drive(
                task,
                wake.clone(),
                config.clock.clone(),
                config.driver,
                cancel.child_token(),
            ));
        }
        Self {
            cancel,
            tasks,
            stats,
        }
    }

    /// Counters of a running supervisor (`"cluster"`, `"cluster_installation"`).
    pub fn stats(&self, kind: SupervisorKind) -> Option<&Arc<Stats>> {
        self.stats.get(kind.as_str())
    }

    /// Stops every supervisor: no new step starts, running ones get the
    /// reconcile `shutdown_grace` and are then released; gives up after
    /// `timeout`.
    pub async fn shutdown(mut self, timeout: Duration) {
        self.cancel.cancel();
        let drained = tokio::time::timeout(timeout, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("supervisors still running after {timeout:?}; stopping them");
            self.tasks.abort_all();
        }
    }
}

fn reconciler<S: Supervise>(
    config: &EngineConfig,
    store: &SqlStore,
    wake: &Wake,
    supervisor: S,
) -> Arc<Reconciler<S>> {
    Arc::new(Reconciler::new(
        supervisor,
        store.clone(),
        wake.clone(),
        config.clock.clone(),
        config.owner.clone(),
        config.reconcile.clone(),
    ))
}
