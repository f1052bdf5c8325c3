//! # Cluster supervisor
//!
//! Owns every cluster state with pending work (original-core §3.1); the
//! decisions are [`crate::machines::cluster`], the effects go through
//! [`cloud_ports::ClusterProvisioner`]. Locks: the cluster's row lock only.
//! What the provisioner learns (names, VPC, node groups) is saved with the
//! next state in one transaction with its event, or alone when the step
//! stops early, so a retry starts from what is known.
//!
//! "Done" for a cluster is `stable` (or `deleted`); every other outcome is
//! either a wait (looked at again after `recheck`), a retry with backoff,
//! or a `*-failed` state that waits for a person.

use crate::SupervisorKind;
use crate::machines::Decision;
use crate::machines::cluster::{self as machine, Action, Observation};
use crate::reconcile::{ReconcileConfig, StepError, StepReport, Supervise, gives_up};
use async_trait::async_trait;
use cloud_model::cluster::{Cluster, ClusterState};
use cloud_model::progress::ErrorClass;
use cloud_ports::{Ports, Progress};
use cloud_store::progress::ProgressTable;
use cloud_store::{SqlStore, StoreError};

pub struct ClusterSupervisor {
    store: SqlStore,
    ports: Ports,
}

impl ClusterSupervisor {
    pub fn new(store: SqlStore, ports: Ports) -> Self {
        Self { store, ports }
    }

    async fn observe(&self, cluster: &Cluster) -> Result<Observation, StepError> {
        if !machine::needs_cluster_status(cluster.state) {
            return Ok(Observation::Nothing);
        }
        self.ports
            .provisioner
            .cluster_status(cluster)
            .await
            .map(Observation::Cluster)
            .map_err(|e| StepError::from_port("observe", &e))
    }

    async fn apply(&self, action: Action, cluster: &mut Cluster) -> Result<Progress, StepError> {
        let p = &self.ports.provisioner;
        let done = |r: Result<(), cloud_ports::PortError>| r.map(|()| Progress::Done);
        let result = match action {
            Action::PrepareMetadata => {
                machine::prepare_metadata(cluster);
                Ok(Progress::Done)
            }
            Action::CreateCluster => done(p.create_cluster(cluster).await),
            Action::CreateNodeGroups => done(p.create_node_groups(cluster).await),
            Action::AwaitNodeGroups => p.node_groups_status(cluster).await,
            Action::DeleteNodeGroups => p.delete_node_groups(cluster).await,
            Action::Provision => p.provision(cluster).await,
            Action::Upgrade => p.upgrade(cluster).await,
            Action::Resize => p.resize(cluster).await,
            Action::RefreshMetadata => done(p.refresh_metadata(cluster).await),
            Action::DeleteCluster => p.delete_cluster(cluster).await,
            Action::SoftDelete => {
                return self
                    .store
                    .cluster_delete(&cluster.id)
                    .await
                    .map(|()| Progress::Done)
                    .map_err(|e| StepError::from_store(action.as_str(), &e));
            }
            Action::Observe => Ok(Progress::Done),
        };
        result.map_err(|e| StepError::from_port(action.as_str(), &e))
    }

    /// Saves what changed: the configuration, and the state with its event
    /// when it moved. Returns the move.
    async fn save(
        &self,
        cluster: &Cluster,
        before: &Cluster,
    ) -> Result<Option<(String, String)>, StoreError> {
        if cluster.state != before.state {
            self.store
                .cluster_update_with_event(cluster, before.state)
                .await?;
            return Ok(Some((
                before.state.as_str().to_string(),
                cluster.state.as_str().to_string(),
            )));
        }
        if without_progress(cluster) != without_progress(before) {
            self.store.cluster_update(cluster).await?;
        }
        Ok(None)
    }

    /// The report after `action` failed with `err`.
    async fn failed(
        &self,
        mut cluster: Cluster,
        before: &Cluster,
        action: Action,
        err: StepError,
        step: &'static str,
        config: &ReconcileConfig,
    ) -> StepReport {
        let state = before.state;
        let failures_before = before.progress.retry_count;
        let next = if gives_up(err.class, failures_before, config.max_transient_failures) {
            let class = if err.class.is_retryable() {
                ErrorClass::Permanent
            } else {
                err.class
            };
            machine::on_failure(state, action, class).unwrap_or(state)
        } else {
            state
        };
        cluster.state = next;
        let (moved, error) = match self.save(&cluster, before).await {
            Ok(moved) => (moved, err),
            Err(e) => (None, StepError::from_store("save", &e)),
        };
        StepReport::Done {
            step,
            retry: moved.is_none(),
            moved,
            waiting: false,
            error: Some(error),
            failures_before,
        }
    }
}

/// The cluster without its progress (which is written separately).
fn without_progress(c: &Cluster) -> Cluster {
    let mut c = c.clone();
    c.progress = Default::default();
    c
}

#[async_trait]
impl Supervise for ClusterSupervisor {
    fn kind(&self) -> SupervisorKind {
        SupervisorKind::Cluster
    }

    fn table(&self) -> ProgressTable {
        ProgressTable::Cluster
    }

    fn pending_states(&self) -> Vec<&'static str> {
        machine::pending_states()
            .iter()
            .map(|s| s.as_str())
            .collect()
    }

    fn resync_states(&self) -> Vec<&'static str> {
        machine::RESYNC_STATES.iter().map(|s| s.as_str()).collect()
    }

    fn priority(&self, state: &str) -> i32 {
        state
            .parse::<ClusterState>()
            .map(ClusterState::work_priority)
            .unwrap_or(0)
    }

    fn dependents(&self) -> &'static [SupervisorKind] {
        // Installations wait for schedulable clusters.
        &[SupervisorKind::Installation]
    }

    async fn lock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        self.store.cluster_lock(id, owner).await
    }

    async fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        self.store.cluster_unlock(id, owner).await
    }

    async fn step(&self, id: &str, listed_state: &str, config: &ReconcileConfig) -> StepReport {
        let before = match self.store.cluster_get(id).await {
            Ok(Some(c)) if c.state.as_str() == listed_state => c,
            Ok(_) => return StepReport::Skipped,
            Err(e) => {
                return StepReport::Done {
                    step: "load",
                    moved: None,
                    waiting: false,
                    error: Some(StepError::from_store("load", &e)),
                    retry: true,
                    failures_before: 0,
                };
            }
        };
        let mut cluster = before.clone();
        let observation = match self.observe(&cluster).await {
            Ok(o) => o,
            Err(e) => {
                return self
                    .failed(cluster, &before, Action::Observe, e, "observe", config)
                    .await;
            }
        };
        let Decision {
            next_state,
            actions,
            step,
            problem,
        } = machine::decide(&cluster, &observation);
        for action in actions {
            match self.apply(action, &mut cluster).await {
                Ok(Progress::Done) => {}
                Ok(Progress::Pending(_)) => {
                    let error = self
                        .save(&cluster, &before)
                        .await
                        .err()
                        .map(|e| StepError::from_store("save", &e));
                    return StepReport::Done {
                        step,
                        moved: None,
                        waiting: error.is_none(),
                        retry: error.is_some(),
                        error,
                        failures_before: before.progress.retry_count,
                    };
                }
                Err(e) => {
                    return self.failed(cluster, &before, action, e, step, config).await;
                }
            }
        }
        cluster.state = next_state;
        match self.save(&cluster, &before).await {
            Ok(moved) => StepReport::Done {
                step,
                waiting: moved.is_none() && next_state.is_pending_work(),
                moved,
                error: problem.map(StepError::problem),
                retry: false,
                failures_before: before.progress.retry_count,
            },
            Err(e) => StepReport::Done {
                step,
                moved: None,
                waiting: false,
                error: Some(StepError::from_store("save", &e)),
                retry: true,
                failures_before: before.progress.retry_count,
            },
        }
    }
}
