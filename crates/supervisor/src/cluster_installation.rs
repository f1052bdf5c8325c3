//! # Cluster-installation supervisor
//!
//! Owns the cluster-installation states with pending work (original-core
//! §3.3): it puts an installation's objects on its cluster, waits for the
//! `Mattermost` resource to be stable, and deletes them. Decisions are
//! [`crate::machines::cluster_installation`]; effects go through
//! [`cloud_ports::KubeCluster`]. Locks: the cluster installation's row lock
//! only. It reads the cluster and the installation (merged with its group's
//! configuration, as every supervisor path does in the original) without
//! locking them: it never writes them.

use crate::SupervisorKind;
use crate::machines::Decision;
use crate::machines::cluster_installation::{self as machine, Action, Needs, Observation};
use crate::reconcile::{ReconcileConfig, StepError, StepReport, Supervise, gives_up};
use async_trait::async_trait;
use cloud_model::cluster::Cluster;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_model::installation::Installation;
use cloud_model::progress::ErrorClass;
use cloud_ports::{InstallationTarget, Ports, Progress};
use cloud_store::progress::ProgressTable;
use cloud_store::{SqlStore, StoreError};

pub struct ClusterInstallationSupervisor {
    store: SqlStore,
    ports: Ports,
}

/// What a step works with besides the cluster installation itself.
struct Loaded {
    cluster: Cluster,
    installation: Installation,
    dns_names: Vec<String>,
}

impl ClusterInstallationSupervisor {
    pub fn new(store: SqlStore, ports: Ports) -> Self {
        Self { store, ports }
    }

    /// The cluster and the merged installation; `Ok(None)` when either row
    /// is missing.
    async fn load(&self, ci: &ClusterInstallation) -> Result<Option<Loaded>, StoreError> {
        let Some(cluster) = self.store.cluster_get(&ci.cluster_id).await? else {
            return Ok(None);
        };
        let Some(mut installation) = self.store.installation_get(&ci.installation_id).await? else {
            return Ok(None);
        };
        if let Some(group_id) = installation.group_id().map(str::to_string)
            && let Some(group) = self.store.group_get(&group_id).await?
        {
            installation.merge_with_group(&group, false);
        }
        let mut records = self.store.installation_dns_list(&installation.id).await?;
        records.sort_by_key(|r| !r.is_primary);
        Ok(Some(Loaded {
            cluster,
            installation,
            dns_names: records.into_iter().map(|r| r.domain_name).collect(),
        }))
    }

    async fn observe(
        &self,
        ci: &ClusterInstallation,
        loaded: &Loaded,
    ) -> Result<Observation, StepError> {
        match machine::needs(ci.state) {
            Needs::Nothing => Ok(Observation::Nothing),
            Needs::ResourceStatus => self
                .ports
                .kube
                .installation_status(&loaded.cluster, ci)
                .await
                .map(Observation::Resource)
                .map_err(|e| StepError::from_port("observe", &e)),
            Needs::BackupStatus => self
                .store
                .installation_backup_is_running(&ci.installation_id)
                .await
                .map(Observation::BackupRunning)
                .map_err(|e| StepError::from_store("observe", &e)),
        }
    }

    async fn apply(
        &self,
        action: Action,
        ci: &ClusterInstallation,
        loaded: &Loaded,
    ) -> Result<Progress, StepError> {
        let kube = &self.ports.kube;
        let target = InstallationTarget {
            cluster: &loaded.cluster,
            installation: &loaded.installation,
            cluster_installation: ci,
            dns_names: &loaded.dns_names,
        };
        let result = match action {
            Action::Observe => Ok(Progress::Done),
            Action::Apply => kube
                .apply_installation(target)
                .await
                .map(|()| Progress::Done),
            Action::Prune => kube
                .prune_installation(target)
                .await
                .map(|()| Progress::Done),
            Action::Delete => kube.delete_installation(&loaded.cluster, ci).await,
            Action::SoftDelete => {
                return self
                    .store
                    .cluster_installation_delete(&ci.id)
                    .await
                    .map(|()| Progress::Done)
                    .map_err(|e| StepError::from_store(action.as_str(), &e));
            }
        };
        result.map_err(|e| StepError::from_port(action.as_str(), &e))
    }

    /// Writes `next` with its event when it differs from `before`.
    async fn save(
        &self,
        before: &ClusterInstallation,
        next: ClusterInstallationState,
    ) -> Result<Option<(String, String)>, StoreError> {
        if next == before.state {
            return Ok(None);
        }
        self.store
            .cluster_installation_update_state(&before.id, next)
            .await?;
        Ok(Some((
            before.state.as_str().to_string(),
            next.as_str().to_string(),
        )))
    }

    async fn failed(
        &self,
        before: &ClusterInstallation,
        action: Action,
        err: StepError,
        step: &'static str,
        config: &ReconcileConfig,
    ) -> StepReport {
        let failures_before = before.progress.retry_count;
        let next = if gives_up(err.class, failures_before, config.max_transient_failures) {
            let class = if err.class.is_retryable() {
                ErrorClass::Permanent
            } else {
                err.class
            };
            machine::on_failure(before.state, action, class).unwrap_or(before.state)
        } else {
            before.state
        };
        let (moved, error) = match self.save(before, next).await {
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

fn load_failed(e: &StoreError, failures_before: i64) -> StepReport {
    StepReport::Done {
        step: "load",
        moved: None,
        waiting: false,
        error: Some(StepError::from_store("load", e)),
        retry: true,
        failures_before,
    }
}

#[async_trait]
impl Supervise for ClusterInstallationSupervisor {
    fn kind(&self) -> SupervisorKind {
        SupervisorKind::ClusterInstallation
    }

    fn table(&self) -> ProgressTable {
        ProgressTable::ClusterInstallation
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
            .parse::<ClusterInstallationState>()
            .ok()
            .and_then(|s| s.pending_work_priority())
            .map(i32::from)
            .unwrap_or(0)
    }

    fn dependents(&self) -> &'static [SupervisorKind] {
        // The installation supervisor waits for its cluster installations.
        &[SupervisorKind::Installation]
    }

    async fn lock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        self.store.cluster_installation_lock(id, owner).await
    }

    async fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        self.store
            .cluster_installation_unlock(id, owner, false)
            .await
    }

    async fn step(&self, id: &str, listed_state: &str, config: &ReconcileConfig) -> StepReport {
        let before = match self.store.cluster_installation_get(id).await {
            Ok(Some(ci)) if ci.state.as_str() == listed_state => ci,
            Ok(_) => return StepReport::Skipped,
            Err(e) => return load_failed(&e, 0),
        };
        let failures_before = before.progress.retry_count;
        let loaded = match self.load(&before).await {
            Ok(loaded) => loaded,
            Err(e) => return load_failed(&e, failures_before),
        };
        let observation = match &loaded {
            None => Observation::Missing(format!(
                "cluster {} or installation {} does not exist",
                before.cluster_id, before.installation_id
            )),
            Some(loaded) => match self.observe(&before, loaded).await {
                Ok(o) => o,
                Err(e) => {
                    return self
                        .failed(&before, Action::Observe, e, "observe", config)
                        .await;
                }
            },
        };
        let Decision {
            next_state,
            actions,
            step,
            problem,
        } = machine::decide(&before, &observation);
        if let Some(loaded) = &loaded {
            for action in actions {
                match self.apply(action, &before, loaded).await {
                    Ok(Progress::Done) => {}
                    Ok(Progress::Pending(_)) => {
                        return StepReport::Done {
                            step,
                            moved: None,
                            waiting: true,
                            error: None,
                            retry: false,
                            failures_before,
                        };
                    }
                    Err(e) => return self.failed(&before, action, e, step, config).await,
                }
            }
        }
        match self.save(&before, next_state).await {
            Ok(moved) => StepReport::Done {
                step,
                waiting: moved.is_none() && next_state.is_pending_work(),
                moved,
                error: problem.map(StepError::problem),
                retry: false,
                failures_before,
            },
            Err(e) => StepReport::Done {
                step,
                moved: None,
                waiting: false,
                error: Some(StepError::from_store("save", &e)),
                retry: true,
                failures_before,
            },
        }
    }
}
