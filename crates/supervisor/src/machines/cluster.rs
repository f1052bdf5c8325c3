//! The cluster state machine (original-core §3.1), as pure functions.
//!
//! | state | actions | next |
//! |---|---|---|
//! | creation-requested | prepare metadata, create cluster | creation-in-progress |
//! | creation-in-progress | (observe) absent: create again; creating: wait; ready: create node groups | waiting-for-nodes |
//! | waiting-for-nodes | create node groups, await them | provision-in-progress |
//! | provision-in-progress, provisioning-requested | provision, refresh | stable |
//! | upgrade-requested | upgrade, refresh | stable |
//! | resize-requested | resize, refresh | stable |
//! | nodegroups-creation-requested | create node groups, await them, refresh | stable |
//! | nodegroups-deletion-requested | delete node groups, refresh | stable |
//! | refresh-metadata | refresh | stable |
//! | deletion-requested | delete cluster, soft-delete the row | deleted |
//! | stable (resync) | (observe) a cluster the provider lost is reported, not recreated | stable |
//!
//! Failures (`on_failure`): transient errors retry the same state with
//! backoff (the original failed at once, or blocked for up to an hour); a
//! user or permanent error, or too many transient ones, ends in the state's
//! `*-failed` state as in the original, except that a failed metadata
//! refresh goes to `refresh-metadata`, which retries.
//!
//! Differences from the original: waits are observations between
//! activations instead of blocking calls, and a cluster the provider
//! reports `Absent` while creating (eventual consistency) is asked for again
//! (idempotently) instead of failing.

use super::Decision;
use cloud_model::cluster::{
    Cluster, ClusterState, EksMetadata, ExternalClusterMetadata, KopsMetadata, Provisioner,
    eks_cluster_name, external_cluster_name, kops_cluster_name,
};
use cloud_ports::{ClusterStatus, ErrorClass};

use ClusterState as S;

/// What the supervisor observed before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Nothing was needed in this state.
    Nothing,
    /// The provider's view of the control plane.
    Cluster(ClusterStatus),
}

/// An effect the supervisor runs through the ports (or the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Observing the provider failed (for [`on_failure`]).
    Observe,
    /// Give the provisioner metadata its name (`PrepareCluster`).
    PrepareMetadata,
    CreateCluster,
    CreateNodeGroups,
    /// Done once the change request's node groups are ready.
    AwaitNodeGroups,
    DeleteNodeGroups,
    Provision,
    Upgrade,
    Resize,
    RefreshMetadata,
    DeleteCluster,
    /// Soft-delete the row (before the final state is written, so a crash
    /// in between is finished by the next activation).
    SoftDelete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Observe => "observe",
            Action::PrepareMetadata => "prepare-metadata",
            Action::CreateCluster => "create-cluster",
            Action::CreateNodeGroups => "create-node-groups",
            Action::AwaitNodeGroups => "wait-for-nodes",
            Action::DeleteNodeGroups => "delete-node-groups",
            Action::Provision => "provision",
            Action::Upgrade => "upgrade",
            Action::Resize => "resize",
            Action::RefreshMetadata => "refresh-metadata",
            Action::DeleteCluster => "delete-cluster",
            Action::SoftDelete => "soft-delete",
        }
    }
}

/// States the supervisor works on (the original's pending-work list).
pub fn pending_states() -> &'static [ClusterState] {
    &ClusterState::PENDING_WORK
}

/// States also checked on a periodic resync.
pub const RESYNC_STATES: [ClusterState; 1] = [S::Stable];

/// Whether deciding in `state` needs the provider's view of the cluster.
pub fn needs_cluster_status(state: ClusterState) -> bool {
    matches!(state, S::CreationInProgress | S::Stable)
}

/// The next step for `cluster` given what was observed.
pub fn decide(cluster: &Cluster, observation: &Observation) -> Decision<ClusterState, Action> {
    use Action as A;
    let state = cluster.state;
    match state {
        S::CreationRequested => Decision::new(
            S::CreationInProgress,
            vec![A::PrepareMetadata, A::CreateCluster],
            "create-cluster",
        ),
        S::CreationInProgress => match observation {
            Observation::Cluster(ClusterStatus::Ready) => Decision::new(
                S::WaitingForNodes,
                vec![A::CreateNodeGroups],
                "create-node-groups",
            ),
            Observation::Cluster(ClusterStatus::Creating(_)) => {
                Decision::new(state, vec![], "wait-for-cluster")
            }
            Observation::Cluster(ClusterStatus::Failed(why)) => {
                Decision::new(S::CreationFailed, vec![], "wait-for-cluster")
                    .with_problem(format!("the provider failed the cluster: {why}"))
            }
            // Not there (yet): ask again; creating is idempotent.
            Observation::Cluster(ClusterStatus::Absent) | Observation::Nothing => {
                Decision::new(state, vec![A::CreateCluster], "create-cluster")
            }
        },
        S::WaitingForNodes => Decision::new(
            S::ProvisionInProgress,
            vec![A::CreateNodeGroups, A::AwaitNodeGroups],
            "wait-for-nodes",
        ),
        S::ProvisionInProgress | S::ProvisioningRequested => Decision::new(
            S::Stable,
            vec![A::Provision, A::RefreshMetadata],
            "provision",
        ),
        S::UpgradeRequested => {
            Decision::new(S::Stable, vec![A::Upgrade, A::RefreshMetadata], "upgrade")
        }
        S::ResizeRequested => {
            Decision::new(S::Stable, vec![A::Resize, A::RefreshMetadata], "resize")
        }
        S::NodegroupsCreationRequested => Decision::new(
            S::Stable,
            vec![A::CreateNodeGroups, A::AwaitNodeGroups, A::RefreshMetadata],
            "create-node-groups",
        ),
        S::NodegroupsDeletionRequested => Decision::new(
            S::Stable,
            vec![A::DeleteNodeGroups, A::RefreshMetadata],
            "delete-node-groups",
        ),
        S::RefreshMetadata => {
            Decision::new(S::Stable, vec![A::RefreshMetadata], "refresh-metadata")
        }
        S::DeletionRequested => Decision::new(
            S::Deleted,
            vec![A::DeleteCluster, A::SoftDelete],
            "delete-cluster",
        ),
        S::Stable => match observation {
            Observation::Cluster(ClusterStatus::Absent) => Decision::new(state, vec![], "resync")
                .with_problem("the provider no longer has this cluster"),
            Observation::Cluster(ClusterStatus::Failed(why)) => {
                Decision::new(state, vec![], "resync")
                    .with_problem(format!("the provider reports the cluster failed: {why}"))
            }
            _ => Decision::new(state, vec![], ""),
        },
        // Failed and deleted states wait for a person (or are final).
        S::CreationFailed
        | S::ProvisioningFailed
        | S::UpgradeFailed
        | S::ResizeFailed
        | S::NodegroupsCreationFailed
        | S::NodegroupsDeletionFailed
        | S::DeletionFailed
        | S::Deleted => Decision::new(state, vec![], ""),
    }
}

/// Where a state's work ends when it fails for good.
pub fn failed_state(state: ClusterState) -> ClusterState {
    match state {
        S::CreationRequested | S::CreationInProgress | S::WaitingForNodes => S::CreationFailed,
        S::ProvisionInProgress | S::ProvisioningRequested => S::ProvisioningFailed,
        S::UpgradeRequested => S::UpgradeFailed,
        S::ResizeRequested => S::ResizeFailed,
        S::NodegroupsCreationRequested => S::NodegroupsCreationFailed,
        S::NodegroupsDeletionRequested => S::NodegroupsDeletionFailed,
        S::DeletionRequested => S::DeletionFailed,
        other => other,
    }
}

/// The state after `action` failed with `class` in `state`: `None` to retry
/// the same state later (with backoff).
pub fn on_failure(state: ClusterState, action: Action, class: ErrorClass) -> Option<ClusterState> {
    if class.is_retryable() {
        return None;
    }
    if action == Action::RefreshMetadata && state != S::DeletionRequested {
        // The change itself is done; only reading it back failed.
        return Some(S::RefreshMetadata);
    }
    Some(failed_state(state))
}

/// `PrepareCluster`: names the provisioner metadata when it has no name yet
/// (kops `<id>-kops.k8s.local`, EKS `<id>-eks-k8s-local`, external
/// `<id>-external-k8s`). Returns whether it changed anything.
pub fn prepare_metadata(cluster: &mut Cluster) -> bool {
    let id = cluster.id.clone();
    let name = match cluster.provisioner {
        Provisioner::Kops => {
            &mut cluster
                .provisioner_metadata_kops
                .get_or_insert_with(KopsMetadata::default)
                .name
        }
        Provisioner::Eks => {
            &mut cluster
                .provisioner_metadata_eks
                .get_or_insert_with(EksMetadata::default)
                .name
        }
        Provisioner::External => {
            &mut cluster
                .provisioner_metadata_external
                .get_or_insert_with(ExternalClusterMetadata::default)
                .name
        }
    };
    if !name.is_empty() {
        return false;
    }
    *name = match cluster.provisioner {
        Provisioner::Kops => kops_cluster_name(&id),
        Provisioner::Eks => eks_cluster_name(&id),
        Provisioner::External => external_cluster_name(&id),
    };
    true
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
