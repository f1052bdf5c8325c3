//! The installation state machine (original-core §3.2) as a pure function.
//!
//! [`decide`] takes the installation **merged with its group** (so
//! `merged_group_sequence` is the group's current sequence) and an
//! [`InstallationObservation`], and returns the actions for this pass and the
//! state to persist once they all succeeded. [`state_after_failure`] says
//! what to persist when an action fails instead.
//!
//! One pass chains what the original chains, so the happy paths emit exactly
//! the e2e event pairs: `creation-requested → creation-in-progress` (place,
//! create the cluster installation, provision database and filestore, upsert
//! DNS) then `creation-in-progress → stable` (cluster installations ready;
//! the log-only final tasks are folded in); `deletion-requested →
//! deletion-in-progress` (cluster installations marked for deletion) then
//! `deletion-in-progress → deleted` (final cleanup folded in). The
//! intermediate states (`creation-pre-provisioning`, `-configuring-dns`,
//! `deletion-final-cleanup`, …) are persisted only when a pass stops there:
//! a failed action resumes in them, and final cleanup waits in its state for
//! backups and operations to be deleted.
//!
//! Work already observed done is never issued again: a `Present` database or
//! filestore is not provisioned, an `Absent` one not torn down, an up-to-date
//! DNS name not upserted, a cluster installation already marked for deletion
//! not marked again, an existing cluster installation not placed again.
//!
//! Deliberate departures from the original, each a listed quirk or a hole:
//! - a cluster installation in `ready` is deleted like a stable one instead
//!   of failing the deletion (quirk 5);
//! - update, wake-up and hibernation only re-apply cluster installations
//!   whose custom resource exists (`reconciling`, `ready`, `stable`); a
//!   `creation-requested` one is left to the cluster-installation machine,
//!   a deleting one is not resurrected;
//! - a retried creation (`creation-requested` again) also retries a
//!   cluster installation in `creation-failed` instead of failing again;
//! - a creation state without any live cluster installation places the
//!   installation again instead of waiting forever;
//! - `stable` and `hibernating` repair DNS records observed stale (resync);
//! - permanent errors end in `creation-failed`, `update-failed` or
//!   `deletion-failed` (the original retries forever); hibernation and
//!   pending deletion have no failure state and keep retrying;
//! - a missing cluster row during update is a permanent error of the apply
//!   action, so it becomes `update-failed`, never a cluster-installation
//!   state string (quirk 4).

use super::placement::{self, ClusterCandidate, PlacementError, PlacementOptions};
use super::{ErrorClass, Presence};
use cloud_model::backup::BackupState;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState as Ci};
use cloud_model::db_migration::MigrationState;
use cloud_model::db_restoration::RestorationState;
use cloud_model::installation::{DEFAULT_CR_VERSION, Installation, InstallationState as S};
use std::collections::BTreeMap;

mod flow;

/// One cluster installation of the installation, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedClusterInstallation {
    pub id: String,
    pub cluster_id: String,
    pub state: Ci,
    pub is_active: bool,
    /// Soft-deleted (`DeleteAt != 0`).
    pub deleted: bool,
}

impl From<&ClusterInstallation> for ObservedClusterInstallation {
    fn from(ci: &ClusterInstallation) -> Self {
        Self {
            id: ci.id.clone(),
            cluster_id: ci.cluster_id.clone(),
            state: ci.state,
            is_active: ci.is_active,
            deleted: ci.is_deleted(),
        }
    }
}

/// Whether a DNS name already points at the load balancer of the
/// installation's active cluster installations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DnsStatus {
    #[default]
    Unknown,
    UpToDate,
    /// Missing or pointing elsewhere.
    Stale,
}

/// A live `InstallationDNS` record and what the DNS provider holds for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDns {
    pub name: String,
    pub status: DnsStatus,
}

/// Scheduling input, needed only while the installation has no live
/// cluster installation in a creation state (see [`needs_placement`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlacementInput {
    /// Names of the installation's annotations.
    pub annotations: Vec<String>,
    pub candidates: Vec<ClusterCandidate>,
    pub options: PlacementOptions,
}

/// Server flags that change what a pass does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstallationSettings {
    /// `--keep-database-data`: teardown keeps the data.
    pub keep_database_data: bool,
    /// `--keep-filestore-data`: teardown keeps the files and the backups.
    pub keep_filestore_data: bool,
    /// `--disable-dns-updates`: no CNAME upsert on update (nor on resync).
    pub disable_dns_updates: bool,
    /// `--force-cr-upgrade`: updates move the CR version to the latest.
    pub force_cr_upgrade: bool,
}

/// What the engine observed about the installation before this pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallationObservation {
    /// Every cluster installation of the installation, soft-deleted ones
    /// included (deletion counts them).
    pub cluster_installations: Vec<ObservedClusterInstallation>,
    /// Whether the database is provisioned for this installation.
    pub database: Presence,
    /// Whether the filestore is provisioned for this installation.
    pub filestore: Presence,
    /// Live DNS records.
    pub dns: Vec<ObservedDns>,
    /// Backups of the installation not yet soft-deleted (`ID`, state).
    pub backups: Vec<(String, BackupState)>,
    /// Restoration operations not yet soft-deleted.
    pub restorations: Vec<(String, RestorationState)>,
    /// Migration operations not yet soft-deleted.
    pub migrations: Vec<(String, MigrationState)>,
    /// Volume backing secrets by name (missing key = `Unknown`).
    pub volume_secrets: BTreeMap<String, Presence>,
    pub placement: PlacementInput,
    pub settings: InstallationSettings,
}

/// What a pass asks the engine to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallationAction {
    /// Persist `GroupSequence` (the group config this pass applies).
    SyncGroupSequence {
        sequence: i64,
    },
    /// Persist the latest `CRVersion` (`--force-cr-upgrade`).
    SetCrVersion {
        version: String,
    },
    /// Move the stable cluster to `resize-requested` with this many worker
    /// nodes before placing the installation on it (autoscale).
    ScaleUpCluster {
        cluster_id: String,
        node_min_count: i64,
    },
    /// Under the cluster's scheduling lease, re-check the cluster
    /// ([`placement::evaluate`]) and create an active cluster installation
    /// in `creation-requested` (with its event).
    CreateClusterInstallation {
        cluster_id: String,
    },
    /// Put a `creation-failed` cluster installation back to
    /// `creation-requested`.
    RetryClusterInstallation {
        id: String,
    },
    ProvisionDatabase,
    ProvisionFilestore,
    /// Refresh the database's metadata (the shared-database weight changes
    /// with hibernation).
    RefreshDatabaseMetadata,
    /// Point these names at the load balancer of the active cluster
    /// installations.
    UpsertDns {
        names: Vec<String>,
    },
    /// Apply the installation's spec to the cluster installation's custom
    /// resource and mark it `reconciling` (with its event).
    ApplyClusterInstallation {
        id: String,
    },
    /// Apply the hibernated spec and mark it `reconciling`.
    HibernateClusterInstallation {
        id: String,
    },
    /// Mark the cluster installation `deletion-requested` (with its event).
    DeleteClusterInstallation {
        id: String,
    },
    /// Delete the provider records and soft-delete the DNS rows.
    DeleteDns {
        names: Vec<String>,
    },
    /// Mark the backup `deletion-requested`.
    DeleteBackup {
        id: String,
    },
    /// Mark the restoration operation deletion-requested.
    DeleteRestoration {
        id: String,
    },
    /// Mark the migration operation deletion-requested.
    DeleteMigration {
        id: String,
    },
    /// Delete a volume's backing secret.
    DeleteVolumeSecret {
        name: String,
    },
    TeardownDatabase {
        keep_data: bool,
    },
    TeardownFilestore {
        keep_data: bool,
    },
}

impl InstallationAction {
    /// The step an action belongs to (the object's "current step" when it
    /// fails).
    pub fn step(&self) -> &'static str {
        use InstallationAction as A;
        match self {
            A::SyncGroupSequence { .. } | A::SetCrVersion { .. } => "sync-config",
            A::ScaleUpCluster { .. } | A::CreateClusterInstallation { .. } => "place",
            A::RetryClusterInstallation { .. } => "retry-cluster-installation",
            A::ProvisionDatabase | A::ProvisionFilestore => "provision",
            A::RefreshDatabaseMetadata => "refresh-database-metadata",
            A::UpsertDns { .. } => "configure-dns",
            A::ApplyClusterInstallation { .. } => "apply",
            A::HibernateClusterInstallation { .. } => "hibernate",
            A::DeleteClusterInstallation { .. } => "delete-cluster-installations",
            A::DeleteDns { .. } => "delete-dns",
            A::DeleteBackup { .. } => "delete-backups",
            A::DeleteRestoration { .. } | A::DeleteMigration { .. } => "delete-operations",
            A::DeleteVolumeSecret { .. } => "delete-volume-secrets",
            A::TeardownDatabase { .. } => "teardown-database",
            A::TeardownFilestore { .. } => "teardown-filestore",
        }
    }

    /// Part of the final cleanup (resumes in `deletion-final-cleanup`).
    fn is_cleanup(&self) -> bool {
        use InstallationAction as A;
        matches!(
            self,
            A::DeleteDns { .. }
                | A::DeleteBackup { .. }
                | A::DeleteRestoration { .. }
                | A::DeleteMigration { .. }
                | A::DeleteVolumeSecret { .. }
                | A::TeardownDatabase { .. }
                | A::TeardownFilestore { .. }
        )
    }
}

/// The outcome of one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationDecision {
    /// The state to persist once every action succeeded. `deleted` also
    /// means soft-deleting the row, in the same transaction.
    pub next_state: S,
    pub actions: Vec<InstallationAction>,
    /// Where the pass ended.
    pub step: &'static str,
    /// A problem the pass found (recorded as the object's last error): no
    /// compatible cluster, a failed cluster installation, … `None` while
    /// the machine merely waits.
    pub problem: Option<String>,
}

impl InstallationDecision {
    /// Nothing to do and nothing to persist.
    pub fn is_noop(&self, current: S) -> bool {
        self.actions.is_empty() && self.next_state == current
    }
}

/// The latest CR version (what `--force-cr-upgrade` moves to).
pub const LATEST_CR_VERSION: &str = DEFAULT_CR_VERSION;

/// Whether the engine must gather [`PlacementInput`] for this pass: a
/// creation state with no live cluster installation.
pub fn needs_placement(state: S, cluster_installations: &[ObservedClusterInstallation]) -> bool {
    is_creation_state(state) && !cluster_installations.iter().any(|c| !c.deleted)
}

fn is_creation_state(state: S) -> bool {
    matches!(
        state,
        S::CreationRequested
            | S::CreationNoCompatibleClusters
            | S::CreationPreProvisioning
            | S::CreationConfiguringDns
            | S::CreationInProgress
            | S::CreationFinalTasks
    )
}

/// One pass of the installation supervisor.
pub fn decide(
    installation: &Installation,
    observation: &InstallationObservation,
) -> InstallationDecision {
    flow::Pass::new(installation, observation).run()
}

/// The state to persist when `action`, issued by a pass from `from`, failed
/// with `class` (the actions before it succeeded, the ones after it were not
/// run). Transient errors resume at the failed step; permanent and user
/// errors end in the flow's `*-failed` state where it has one.
pub fn state_after_failure(from: S, action: &InstallationAction, class: ErrorClass) -> S {
    use InstallationAction as A;
    let permanent = !class.is_retryable();
    if is_creation_state(from) {
        if permanent {
            return S::CreationFailed;
        }
        return match action {
            A::ProvisionDatabase | A::ProvisionFilestore => S::CreationPreProvisioning,
            A::UpsertDns { .. } => S::CreationConfiguringDns,
            _ => from,
        };
    }
    match from {
        S::UpdateRequested
        | S::UpdateInProgress
        | S::WakeUpRequested
        | S::DeletionCancellationRequested
            if permanent =>
        {
            S::UpdateFailed
        }
        S::DeletionRequested | S::DeletionInProgress | S::DeletionFinalCleanup if permanent => {
            S::DeletionFailed
        }
        S::DeletionRequested | S::DeletionInProgress if action.is_cleanup() => {
            S::DeletionFinalCleanup
        }
        _ => from,
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod teardown_tests;
#[cfg(test)]
mod tests;
