//! One pass of the installation machine: a method per step of the original
//! supervisor, chained the way the original chains them.

use super::{DnsStatus, S};
use super::{
    InstallationAction as A, InstallationDecision, InstallationObservation, LATEST_CR_VERSION,
    ObservedClusterInstallation, PlacementError, Presence, placement,
};
use cloud_model::backup::BackupState;
use cloud_model::cluster_installation::ClusterInstallationState as Ci;
use cloud_model::db_migration::MigrationState;
use cloud_model::db_restoration::RestorationState;
use cloud_model::installation::Installation;

/// Where a creation pass starts, in the original's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    Place,
    Provision,
    Dns,
    Wait,
}

pub(super) struct Pass<'a> {
    inst: &'a Installation,
    obs: &'a InstallationObservation,
    actions: Vec<A>,
    /// `GroupSequence` is (being) set to the merged group's sequence.
    synced: bool,
}

/// Cluster installation states whose custom resource exists, the ones an
/// update or a hibernation re-applies.
fn has_resource(state: Ci) -> bool {
    matches!(state, Ci::Reconciling | Ci::Ready | Ci::Stable)
}

fn describe(cis: &[&ObservedClusterInstallation]) -> String {
    let parts: Vec<String> = cis
        .iter()
        .map(|c| format!("{} is {}", c.id, c.state))
        .collect();
    parts.join(", ")
}

impl<'a> Pass<'a> {
    pub(super) fn new(inst: &'a Installation, obs: &'a InstallationObservation) -> Self {
        Self {
            inst,
            obs,
            actions: Vec::new(),
            synced: false,
        }
    }

    pub(super) fn run(mut self) -> InstallationDecision {
        match self.inst.state {
            S::CreationRequested | S::CreationNoCompatibleClusters => self.create(Entry::Place),
            S::CreationPreProvisioning => self.create(Entry::Provision),
            S::CreationConfiguringDns => self.create(Entry::Dns),
            S::CreationInProgress | S::CreationFinalTasks => self.create(Entry::Wait),
            S::UpdateRequested => self.update(),
            S::WakeUpRequested | S::DeletionCancellationRequested => {
                // Weight back to 1.0, then the full update path.
                self.actions.push(A::RefreshDatabaseMetadata);
                self.update()
            }
            S::UpdateInProgress => self.wait_updated(),
            S::HibernationRequested => self.hibernate(S::HibernationInProgress, S::Hibernating),
            S::HibernationInProgress => {
                self.wait_hibernated(S::HibernationInProgress, S::Hibernating)
            }
            S::DeletionPendingRequested => {
                self.hibernate(S::DeletionPendingInProgress, S::DeletionPending)
            }
            S::DeletionPendingInProgress => {
                self.wait_hibernated(S::DeletionPendingInProgress, S::DeletionPending)
            }
            S::DnsMigrationHibernated => {
                self.upsert_dns(|s| s != DnsStatus::UpToDate);
                self.wait_hibernated(S::HibernationInProgress, S::Hibernating)
            }
            S::DeletionRequested | S::DeletionInProgress => self.delete(),
            S::DeletionFinalCleanup => self.final_cleanup(),
            S::Stable | S::Hibernating => {
                // Resync: repair DNS drift without changing state.
                if !self.obs.settings.disable_dns_updates {
                    self.upsert_dns(|s| s == DnsStatus::Stale);
                }
                let state = self.inst.state;
                self.finish(state, "resync", None)
            }
            other => self.finish(other, "idle", None),
        }
    }

    fn finish(
        self,
        next_state: S,
        step: &'static str,
        problem: Option<String>,
    ) -> InstallationDecision {
        InstallationDecision {
            next_state,
            actions: self.actions,
            step,
            problem,
        }
    }

    fn live(&self) -> impl Iterator<Item = &'a ObservedClusterInstallation> + 'a {
        self.obs.cluster_installations.iter().filter(|c| !c.deleted)
    }

    /// Live cluster installations that are not being deleted: the ones the
    /// installation waits for.
    fn waitable(&self) -> Vec<&'a ObservedClusterInstallation> {
        self.live()
            .filter(|c| {
                !matches!(
                    c.state,
                    Ci::DeletionRequested | Ci::DeletionFailed | Ci::Deleted
                )
            })
            .collect()
    }

    fn sync_group_sequence(&mut self) {
        if let (true, Some(seq)) = (self.inst.is_in_group(), self.inst.merged_group_sequence) {
            if self.inst.group_sequence != Some(seq) {
                self.actions.push(A::SyncGroupSequence { sequence: seq });
            }
            self.synced = true;
        }
    }

    /// The group's configuration moved on since this installation's
    /// `GroupSequence` was recorded.
    fn group_behind(&self) -> bool {
        !self.synced
            && self.inst.is_in_group()
            && self
                .inst
                .merged_group_sequence
                .is_some_and(|seq| self.inst.group_sequence != Some(seq))
    }

    /// The original's group final check before `stable`.
    fn finish_stable(self, step: &'static str) -> InstallationDecision {
        if self.group_behind() {
            return self.finish(S::UpdateRequested, "group-changed", None);
        }
        self.finish(S::Stable, step, None)
    }

    /// Upserts the live DNS names whose status passes `wanted`.
    fn upsert_dns(&mut self, wanted: impl Fn(DnsStatus) -> bool) {
        let names: Vec<String> = (self.obs.dns.iter())
            .filter(|d| wanted(d.status))
            .map(|d| d.name.clone())
            .collect();
        if !names.is_empty() {
            self.actions.push(A::UpsertDns { names });
        }
    }

    fn create(mut self, entry: Entry) -> InstallationDecision {
        if entry == Entry::Place {
            self.sync_group_sequence();
        }
        let mut placed = false;
        if self.live().next().is_none() {
            let input = &self.obs.placement;
            match placement::place(
                self.inst,
                &input.annotations,
                &input.candidates,
                &input.options,
            ) {
                Ok(p) => {
                    if let Some(node_min_count) = p.scale_to_node_min_count {
                        self.actions.push(A::ScaleUpCluster {
                            cluster_id: p.cluster_id.clone(),
                            node_min_count,
                        });
                    }
                    self.actions.push(A::CreateClusterInstallation {
                        cluster_id: p.cluster_id,
                    });
                    placed = true;
                }
                Err(e @ PlacementError::InvalidSize(_)) => {
                    return self.finish(S::CreationFailed, "place", Some(e.to_string()));
                }
                Err(e) => {
                    let problem = Some(e.to_string());
                    return self.finish(S::CreationNoCompatibleClusters, "place", problem);
                }
            }
        }
        // A creation requested again (after `creation-failed`) retries its
        // failed cluster installations too.
        let mut retried = Vec::new();
        if self.inst.state == S::CreationRequested {
            for ci in self
                .live()
                .filter(|c| c.is_active && c.state == Ci::CreationFailed)
            {
                self.actions
                    .push(A::RetryClusterInstallation { id: ci.id.clone() });
                retried.push(ci.id.as_str());
            }
        }
        if entry <= Entry::Provision {
            if self.obs.database != Presence::Present {
                self.actions.push(A::ProvisionDatabase);
            }
            if self.obs.filestore != Presence::Present {
                self.actions.push(A::ProvisionFilestore);
            }
        }
        if placed {
            // A new cluster means a new load balancer: every name moves.
            self.upsert_dns(|_| true);
            return self.finish(S::CreationInProgress, "wait-cluster-installations", None);
        }
        if entry <= Entry::Dns {
            self.upsert_dns(|s| s != DnsStatus::UpToDate);
        }
        let cis = self.waitable();
        let failed: Vec<_> = (cis.iter().copied())
            .filter(|c| c.state == Ci::CreationFailed && !retried.contains(&c.id.as_str()))
            .collect();
        if !failed.is_empty() {
            let problem = Some(format!(
                "cluster installation failed: {}",
                describe(&failed)
            ));
            return self.finish(S::CreationFailed, "wait-cluster-installations", problem);
        }
        let ready = |c: &&ObservedClusterInstallation| matches!(c.state, Ci::Stable | Ci::Ready);
        if !cis.is_empty() && cis.iter().all(ready) {
            return self.finish_stable("final-tasks");
        }
        self.finish(S::CreationInProgress, "wait-cluster-installations", None)
    }

    fn update(mut self) -> InstallationDecision {
        self.sync_group_sequence();
        if self.obs.settings.force_cr_upgrade && self.inst.cr_version != LATEST_CR_VERSION {
            self.actions.push(A::SetCrVersion {
                version: LATEST_CR_VERSION.to_string(),
            });
        }
        let targets: Vec<String> = (self.live())
            .filter(|c| has_resource(c.state))
            .map(|c| c.id.clone())
            .collect();
        if targets.is_empty() {
            return self.wait_updated();
        }
        for id in targets {
            self.actions.push(A::ApplyClusterInstallation { id });
        }
        self.finish(S::UpdateInProgress, "wait-cluster-installations", None)
    }

    fn wait_updated(mut self) -> InstallationDecision {
        if self.group_behind() {
            return self.finish(S::UpdateRequested, "group-changed", None);
        }
        let cis = self.waitable();
        let failed: Vec<_> = (cis.iter().copied())
            .filter(|c| c.state == Ci::CreationFailed)
            .collect();
        if !failed.is_empty() {
            let problem = Some(format!(
                "cluster installation failed: {}",
                describe(&failed)
            ));
            return self.finish(S::UpdateFailed, "wait-cluster-installations", problem);
        }
        let pending: Vec<_> = (cis.iter().copied())
            .filter(|c| c.state != Ci::Stable)
            .collect();
        if cis.is_empty() || !pending.is_empty() {
            return self.finish(S::UpdateInProgress, "wait-cluster-installations", None);
        }
        if !self.obs.settings.disable_dns_updates {
            self.upsert_dns(|s| s != DnsStatus::UpToDate);
        }
        self.finish_stable("configure-dns")
    }

    fn hibernate(mut self, waiting: S, done: S) -> InstallationDecision {
        // The shared-database weight drops to 0.75.
        self.actions.push(A::RefreshDatabaseMetadata);
        let targets: Vec<String> = (self.live())
            .filter(|c| has_resource(c.state))
            .map(|c| c.id.clone())
            .collect();
        if targets.is_empty() {
            return self.wait_hibernated(waiting, done);
        }
        for id in targets {
            self.actions.push(A::HibernateClusterInstallation { id });
        }
        self.finish(waiting, "wait-cluster-installations", None)
    }

    /// No failure state: a cluster installation that never settles keeps
    /// the installation waiting (its problem says which failed).
    fn wait_hibernated(self, waiting: S, done: S) -> InstallationDecision {
        let pending: Vec<_> = (self.waitable().into_iter())
            .filter(|c| c.state != Ci::Stable)
            .collect();
        if pending.is_empty() {
            return self.finish(done, "done", None);
        }
        let failed: Vec<_> = (pending.iter().copied())
            .filter(|c| c.state == Ci::CreationFailed)
            .collect();
        let problem = (!failed.is_empty())
            .then(|| format!("cluster installation failed: {}", describe(&failed)));
        self.finish(waiting, "wait-cluster-installations", problem)
    }

    fn delete(mut self) -> InstallationDecision {
        let all = &self.obs.cluster_installations;
        let mut failed = Vec::new();
        let mut deleted = 0;
        for ci in all {
            if ci.deleted || ci.state == Ci::Deleted {
                deleted += 1;
                continue;
            }
            match ci.state {
                Ci::DeletionRequested => {}
                // A failure seen again after the installation was already
                // deleting is final; the first time it is retried.
                Ci::DeletionFailed if self.inst.state == S::DeletionInProgress => failed.push(ci),
                _ => self
                    .actions
                    .push(A::DeleteClusterInstallation { id: ci.id.clone() }),
            }
        }
        if !failed.is_empty() {
            let problem = Some(format!(
                "cluster installation deletion failed: {}",
                describe(&failed)
            ));
            return self.finish(S::DeletionFailed, "wait-cluster-installations", problem);
        }
        if deleted < all.len() {
            return self.finish(S::DeletionInProgress, "wait-cluster-installations", None);
        }
        self.final_cleanup()
    }

    fn final_cleanup(mut self) -> InstallationDecision {
        let names: Vec<String> = self.obs.dns.iter().map(|d| d.name.clone()).collect();
        if !names.is_empty() {
            self.actions.push(A::DeleteDns { names });
        }
        if !self.obs.settings.keep_filestore_data {
            let backups = &self.obs.backups;
            if let Some((id, _)) = backups
                .iter()
                .find(|(_, s)| *s == BackupState::DeletionFailed)
            {
                let problem = Some(format!("backup {id} failed to be deleted"));
                return self.finish(S::DeletionFailed, "delete-backups", problem);
            }
            for (id, state) in backups {
                if !matches!(state, BackupState::DeletionRequested | BackupState::Deleted) {
                    self.actions.push(A::DeleteBackup { id: id.clone() });
                }
            }
            let left = backups
                .iter()
                .filter(|(_, s)| *s != BackupState::Deleted)
                .count();
            if left > 0 {
                return self.finish(S::DeletionFinalCleanup, "delete-backups", None);
            }
        }
        for (id, state) in &self.obs.restorations {
            if !matches!(
                state,
                RestorationState::DeletionRequested | RestorationState::Deleted
            ) {
                self.actions.push(A::DeleteRestoration { id: id.clone() });
            }
        }
        for (id, state) in &self.obs.migrations {
            if !matches!(
                state,
                MigrationState::DeletionRequested | MigrationState::Deleted
            ) {
                self.actions.push(A::DeleteMigration { id: id.clone() });
            }
        }
        let left = (self.obs.restorations.iter())
            .filter(|(_, s)| *s != RestorationState::Deleted)
            .count()
            + (self.obs.migrations.iter())
                .filter(|(_, s)| *s != MigrationState::Deleted)
                .count();
        if left > 0 {
            return self.finish(S::DeletionFinalCleanup, "delete-operations", None);
        }
        let volumes = self.inst.volumes.iter().flat_map(|v| v.values());
        for secret in volumes.map(|v| &v.backing_secret).filter(|s| !s.is_empty()) {
            if self.obs.volume_secrets.get(secret) != Some(&Presence::Absent) {
                self.actions.push(A::DeleteVolumeSecret {
                    name: secret.clone(),
                });
            }
        }
        let settings = self.obs.settings;
        if self.obs.database != Presence::Absent {
            self.actions.push(A::TeardownDatabase {
                keep_data: settings.keep_database_data,
            });
        }
        if self.obs.filestore != Presence::Absent {
            self.actions.push(A::TeardownFilestore {
                keep_data: settings.keep_filestore_data,
            });
        }
        self.finish(S::Deleted, "done", None)
    }
}
