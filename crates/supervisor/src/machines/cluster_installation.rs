//! The cluster-installation state machine (original-core §3.3), as pure
//! functions.
//!
//! | state | observation | actions | next |
//! |---|---|---|---|
//! | creation-requested | | apply the installation's objects | reconciling |
//! | reconciling, ready | resource absent | apply again | reconciling |
//! | reconciling, ready | reconciling | wait | reconciling |
//! | reconciling, ready | ready | wait | ready |
//! | reconciling, ready | stable | prune old license secrets | stable |
//! | stable (resync) | absent | apply again (repair) | reconciling |
//! | stable (resync) | reconciling | | reconciling |
//! | deletion-requested | backup running | wait | deletion-requested |
//! | deletion-requested | | delete the objects, soft-delete the row | deleted |
//! | any | cluster or installation row missing | | `failed()` of the state |
//!
//! Failures: transient errors retry with backoff; user or permanent errors
//! (or too many transient ones) end a creation in `creation-failed` and a
//! deletion in `deletion-failed`; other states have no failed state and
//! keep retrying, as in the original. Unlike the original, a creation that
//! fails for good does not retry forever, and a stable installation whose
//! resource disappeared is repaired on the periodic resync.

use super::Decision;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_ports::{ErrorClass, MattermostStatus};

use ClusterInstallationState as S;

/// What the supervisor observed before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Nothing was needed in this state.
    Nothing,
    /// The cluster or the installation row does not exist.
    Missing(String),
    /// The `Mattermost` resource's status.
    Resource(MattermostStatus),
    /// Whether a backup of the installation is requested or running.
    BackupRunning(bool),
}

/// An effect the supervisor runs through the ports (or the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Observing the cluster failed (for [`on_failure`]).
    Observe,
    /// Create or update the namespace, secrets and `Mattermost` resource.
    Apply,
    /// Delete license secrets other than the current one.
    Prune,
    /// Delete the installation's objects from the cluster.
    Delete,
    /// Soft-delete the row (before the final state is written).
    SoftDelete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Observe => "observe",
            Action::Apply => "apply-installation",
            Action::Prune => "prune-secrets",
            Action::Delete => "delete-installation",
            Action::SoftDelete => "soft-delete",
        }
    }
}

/// States the supervisor works on (the original's pending-work list).
pub fn pending_states() -> &'static [ClusterInstallationState] {
    &ClusterInstallationState::PENDING_WORK
}

/// States also checked on a periodic resync.
pub const RESYNC_STATES: [ClusterInstallationState; 1] = [S::Stable];

/// What deciding in `state` needs to observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    ResourceStatus,
    BackupStatus,
}

pub fn needs(state: ClusterInstallationState) -> Needs {
    match state {
        S::Reconciling | S::Ready | S::Stable => Needs::ResourceStatus,
        S::DeletionRequested => Needs::BackupStatus,
        _ => Needs::Nothing,
    }
}

/// The next step for `ci` given what was observed.
pub fn decide(
    ci: &ClusterInstallation,
    observation: &Observation,
) -> Decision<ClusterInstallationState, Action> {
    use Action as A;
    let state = ci.state;
    if let Observation::Missing(what) = observation {
        return Decision::new(state.failed(), vec![], "load").with_problem(what.clone());
    }
    match state {
        S::CreationRequested => {
            Decision::new(S::Reconciling, vec![A::Apply], "create-installation")
        }
        S::Reconciling | S::Ready | S::Stable => match observation {
            Observation::Resource(MattermostStatus::Absent) => {
                let step = if state == S::Stable {
                    "repair-installation"
                } else {
                    "apply-installation"
                };
                Decision::new(S::Reconciling, vec![A::Apply], step)
            }
            Observation::Resource(MattermostStatus::Reconciling) => {
                Decision::new(S::Reconciling, vec![], "wait-for-installation")
            }
            Observation::Resource(MattermostStatus::Ready) if state != S::Stable => {
                Decision::new(S::Ready, vec![], "wait-for-installation")
            }
            Observation::Resource(MattermostStatus::Stable) if state != S::Stable => {
                Decision::new(S::Stable, vec![A::Prune], "prune-secrets")
            }
            // Stable and serving: nothing to do.
            Observation::Resource(_) => Decision::new(state, vec![], ""),
            // Not observed: look again.
            _ => Decision::new(state, vec![], "wait-for-installation"),
        },
        S::DeletionRequested => match observation {
            Observation::BackupRunning(true) => Decision::new(state, vec![], "wait-for-backup"),
            _ => Decision::new(
                S::Deleted,
                vec![A::Delete, A::SoftDelete],
                "delete-installation",
            ),
        },
        S::CreationFailed | S::DeletionFailed | S::Deleted => Decision::new(state, vec![], ""),
    }
}

/// The state after `action` failed with `class` in `state`: `None` to retry
/// the same state later (with backoff).
pub fn on_failure(
    state: ClusterInstallationState,
    _action: Action,
    class: ErrorClass,
) -> Option<ClusterInstallationState> {
    if class.is_retryable() {
        return None;
    }
    let failed = state.failed();
    (failed != state).then_some(failed)
}

#[cfg(test)]
#[path = "cluster_installation_tests.rs"]
mod tests;
