//! Cluster states (`model/cluster_states.go`): every state string, the lists
//! the supervisor and scheduler work from, and the API's transition map
//! (which current states each requested state may be entered from).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The state of a cluster, serialised as the original's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClusterState {
    #[serde(rename = "stable")]
    Stable,
    #[serde(rename = "refresh-metadata")]
    RefreshMetadata,
    #[serde(rename = "creation-requested")]
    CreationRequested,
    #[serde(rename = "creation-in-progress")]
    CreationInProgress,
    #[serde(rename = "waiting-for-nodes")]
    WaitingForNodes,
    #[serde(rename = "provision-in-progress")]
    ProvisionInProgress,
    #[serde(rename = "creation-failed")]
    CreationFailed,
    #[serde(rename = "provisioning-requested")]
    ProvisioningRequested,
    #[serde(rename = "provisioning-failed")]
    ProvisioningFailed,
    #[serde(rename = "nodegroups-creation-requested")]
    NodegroupsCreationRequested,
    #[serde(rename = "nodegroups-creation-failed")]
    NodegroupsCreationFailed,
    #[serde(rename = "nodegroups-deletion-requested")]
    NodegroupsDeletionRequested,
    #[serde(rename = "nodegroups-deletion-failed")]
    NodegroupsDeletionFailed,
    #[serde(rename = "upgrade-requested")]
    UpgradeRequested,
    #[serde(rename = "upgrade-failed")]
    UpgradeFailed,
    #[serde(rename = "resize-requested")]
    ResizeRequested,
    #[serde(rename = "resize-failed")]
    ResizeFailed,
    #[serde(rename = "deletion-requested")]
    DeletionRequested,
    #[serde(rename = "deletion-failed")]
    DeletionFailed,
    #[serde(rename = "deleted")]
    Deleted,
}

use ClusterState as S;

impl ClusterState {
    /// Every state there is.
    pub const EVERY: [ClusterState; 20] = [
        S::Stable,
        S::RefreshMetadata,
        S::CreationRequested,
        S::CreationInProgress,
        S::WaitingForNodes,
        S::ProvisionInProgress,
        S::CreationFailed,
        S::ProvisioningRequested,
        S::ProvisioningFailed,
        S::NodegroupsCreationRequested,
        S::NodegroupsCreationFailed,
        S::NodegroupsDeletionRequested,
        S::NodegroupsDeletionFailed,
        S::UpgradeRequested,
        S::UpgradeFailed,
        S::ResizeRequested,
        S::ResizeFailed,
        S::DeletionRequested,
        S::DeletionFailed,
        S::Deleted,
    ];

    /// The original's `AllClusterStates`, which lacks the two
    /// `nodegroups-deletion-*` states (quirk 9; it only shows in the state
    /// report, which is kept identical).
    pub const ALL: [ClusterState; 18] = [
        S::Stable,
        S::RefreshMetadata,
        S::CreationRequested,
        S::CreationInProgress,
        S::WaitingForNodes,
        S::ProvisionInProgress,
        S::CreationFailed,
        S::ProvisioningRequested,
        S::ProvisioningFailed,
        S::NodegroupsCreationRequested,
        S::NodegroupsCreationFailed,
        S::UpgradeRequested,
        S::UpgradeFailed,
        S::ResizeRequested,
        S::ResizeFailed,
        S::DeletionRequested,
        S::DeletionFailed,
        S::Deleted,
    ];

    /// `AllClusterStatesPendingWork`: the states the supervisor polls for.
    pub const PENDING_WORK: [ClusterState; 11] = [
        S::CreationRequested,
        S::CreationInProgress,
        S::WaitingForNodes,
        S::ProvisionInProgress,
        S::ProvisioningRequested,
        S::RefreshMetadata,
        S::UpgradeRequested,
        S::ResizeRequested,
        S::NodegroupsCreationRequested,
        S::NodegroupsDeletionRequested,
        S::DeletionRequested,
    ];

    /// `AllClusterRequestStates`: the states the API's request list names
    /// (`nodegroups-deletion-requested` is set by the API but not listed).
    pub const REQUEST_STATES: [ClusterState; 6] = [
        S::CreationRequested,
        S::ProvisioningRequested,
        S::UpgradeRequested,
        S::ResizeRequested,
        S::NodegroupsCreationRequested,
        S::DeletionRequested,
    ];

    /// `ClusterStatesInstallationScheduable`: states in which new
    /// installations may be placed on the cluster.
    pub const INSTALLATION_SCHEDULABLE: [ClusterState; 14] = [
        S::Stable,
        S::RefreshMetadata,
        S::WaitingForNodes,
        S::ProvisionInProgress,
        S::ProvisioningRequested,
        S::ProvisioningFailed,
        S::NodegroupsCreationRequested,
        S::NodegroupsCreationFailed,
        S::NodegroupsDeletionRequested,
        S::NodegroupsDeletionFailed,
        S::UpgradeRequested,
        S::UpgradeFailed,
        S::ResizeRequested,
        S::ResizeFailed,
    ];

    /// The exact state string.
    pub fn as_str(self) -> &'static str {
        match self {
            S::Stable => "stable",
            S::RefreshMetadata => "refresh-metadata",
            S::CreationRequested => "creation-requested",
            S::CreationInProgress => "creation-in-progress",
            S::WaitingForNodes => "waiting-for-nodes",
            S::ProvisionInProgress => "provision-in-progress",
            S::CreationFailed => "creation-failed",
            S::ProvisioningRequested => "provisioning-requested",
            S::ProvisioningFailed => "provisioning-failed",
            S::NodegroupsCreationRequested => "nodegroups-creation-requested",
            S::NodegroupsCreationFailed => "nodegroups-creation-failed",
            S::NodegroupsDeletionRequested => "nodegroups-deletion-requested",
            S::NodegroupsDeletionFailed => "nodegroups-deletion-failed",
            S::UpgradeRequested => "upgrade-requested",
            S::UpgradeFailed => "upgrade-failed",
            S::ResizeRequested => "resize-requested",
            S::ResizeFailed => "resize-failed",
            S::DeletionRequested => "deletion-requested",
            S::DeletionFailed => "deletion-failed",
            S::Deleted => "deleted",
        }
    }

    /// Whether the supervisor has work to do in this state.
    pub fn is_pending_work(self) -> bool {
        Self::PENDING_WORK.contains(&self)
    }

    /// Whether installations may be scheduled onto a cluster in this state.
    pub fn is_installation_schedulable(self) -> bool {
        Self::INSTALLATION_SCHEDULABLE.contains(&self)
    }

    /// `ClusterStateWorkPriority`: higher is worked on first; default 0.
    pub fn work_priority(self) -> i32 {
        match self {
            S::CreationRequested => 4,
            S::CreationInProgress => 3,
            S::WaitingForNodes => 2,
            S::ProvisionInProgress => 1,
            _ => 0,
        }
    }

    /// `validClusterTransitions[self]`: the current states from which the API
    /// may move a cluster into `self`. Empty for states the API never sets.
    pub fn allowed_from(self) -> &'static [ClusterState] {
        match self {
            S::CreationRequested => &[S::CreationRequested, S::CreationFailed],
            S::ProvisioningRequested => {
                &[S::Stable, S::ProvisioningFailed, S::ProvisioningRequested]
            }
            S::UpgradeRequested => &[S::Stable, S::UpgradeRequested, S::UpgradeFailed],
            S::ResizeRequested => &[S::Stable, S::ResizeRequested, S::ResizeFailed],
            S::NodegroupsCreationRequested => &[
                S::Stable,
                S::NodegroupsCreationRequested,
                S::NodegroupsCreationFailed,
            ],
            S::NodegroupsDeletionRequested => &[
                S::Stable,
                S::NodegroupsDeletionRequested,
                S::NodegroupsDeletionFailed,
            ],
            S::DeletionRequested => &[
                S::Stable,
                S::CreationRequested,
                S::CreationFailed,
                S::ProvisioningFailed,
                S::UpgradeRequested,
                S::UpgradeFailed,
                S::DeletionRequested,
                S::DeletionFailed,
            ],
            _ => &[],
        }
    }

    /// Whether the API may request `self` for a cluster currently in `from`.
    pub fn can_request(self, from: ClusterState) -> bool {
        self.allowed_from().contains(&from)
    }
}

impl fmt::Display for ClusterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`ClusterState::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cluster state {0:?}")]
pub struct UnknownClusterState(pub String);

impl FromStr for ClusterState {
    type Err = UnknownClusterState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::EVERY
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownClusterState(s.to_string()))
    }
}

/// One line of `cloud cluster state-report`: for a requestable state, which
/// current states allow the request and which do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReportEntry {
    #[serde(rename = "RequestedState")]
    pub requested_state: String,
    #[serde(rename = "ValidStates")]
    pub valid_states: Option<Vec<String>>,
    #[serde(rename = "InvalidStates")]
    pub invalid_states: Option<Vec<String>>,
}

/// `GetClusterRequestStateReport`: one entry per request state, checked
/// against `AllClusterStates`. Empty lists are `null`, as Go's nil slices.
pub fn cluster_request_state_report() -> Vec<StateReportEntry> {
    ClusterState::REQUEST_STATES
        .into_iter()
        .map(|requested| {
            let (valid, invalid): (Vec<_>, Vec<_>) = ClusterState::ALL
                .into_iter()
                .partition(|current| requested.can_request(*current));
            let names = |v: Vec<ClusterState>| {
                (!v.is_empty()).then(|| v.iter().map(|s| s.as_str().to_string()).collect())
            };
            StateReportEntry {
                requested_state: requested.as_str().to_string(),
                valid_states: names(valid),
                invalid_states: names(invalid),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        for state in ClusterState::EVERY {
            assert_eq!(state.as_str().parse::<ClusterState>().unwrap(), state);
            assert_eq!(state.to_string(), state.as_str());
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<ClusterState>(&json).unwrap(), state);
        }
        assert!("Stable".parse::<ClusterState>().is_err());
        assert!(serde_json::from_str::<ClusterState>("\"bogus\"").is_err());
    }

    #[test]
    fn all_lacks_only_the_nodegroup_deletion_states() {
        let missing: Vec<_> = ClusterState::EVERY
            .into_iter()
            .filter(|s| !ClusterState::ALL.contains(s))
            .collect();
        assert_eq!(
            missing,
            [S::NodegroupsDeletionRequested, S::NodegroupsDeletionFailed]
        );
    }

    #[test]
    fn pending_work_and_priorities() {
        assert!(S::RefreshMetadata.is_pending_work());
        assert!(S::NodegroupsDeletionRequested.is_pending_work());
        assert!(!S::Stable.is_pending_work());
        assert!(!S::CreationFailed.is_pending_work());
        assert_eq!(S::CreationRequested.work_priority(), 4);
        assert_eq!(S::ProvisionInProgress.work_priority(), 1);
        assert_eq!(S::DeletionRequested.work_priority(), 0);
    }

    #[test]
    fn schedulable_states() {
        assert!(S::Stable.is_installation_schedulable());
        assert!(S::ResizeFailed.is_installation_schedulable());
        assert!(!S::CreationRequested.is_installation_schedulable());
        assert!(!S::CreationInProgress.is_installation_schedulable());
        assert!(!S::DeletionRequested.is_installation_schedulable());
        assert!(!S::Deleted.is_installation_schedulable());
    }

    #[test]
    fn transition_map_matches_the_original() {
        assert!(S::CreationRequested.can_request(S::CreationFailed));
        assert!(!S::CreationRequested.can_request(S::Stable));
        assert!(S::ProvisioningRequested.can_request(S::Stable));
        assert!(!S::ProvisioningRequested.can_request(S::UpgradeFailed));
        assert!(S::UpgradeRequested.can_request(S::UpgradeFailed));
        assert!(!S::ResizeRequested.can_request(S::UpgradeFailed));
        assert!(S::NodegroupsDeletionRequested.can_request(S::NodegroupsDeletionFailed));
        assert!(S::DeletionRequested.can_request(S::ProvisioningFailed));
        assert!(!S::DeletionRequested.can_request(S::ResizeFailed));
        assert!(!S::DeletionRequested.can_request(S::Deleted));
        assert!(!S::Stable.can_request(S::Stable));
        assert_eq!(S::DeletionRequested.allowed_from().len(), 8);
    }

    #[test]
    fn state_report() {
        let report = cluster_request_state_report();
        assert_eq!(report.len(), 6);
        let creation = &report[0];
        assert_eq!(creation.requested_state, "creation-requested");
        assert_eq!(
            creation.valid_states.as_deref().unwrap(),
            ["creation-requested", "creation-failed"]
        );
        assert_eq!(creation.invalid_states.as_ref().unwrap().len(), 16);
        let json = serde_json::to_value(&report[1]).unwrap();
        assert_eq!(json["RequestedState"], "provisioning-requested");
        assert_eq!(json["ValidStates"][0], "stable");
    }
}
