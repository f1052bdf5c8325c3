use super::*;
use Action as A;
use MattermostStatus as M;

fn ci(state: ClusterInstallationState) -> ClusterInstallation {
    ClusterInstallation::new("cluster", "installation", state)
}

fn res(status: MattermostStatus) -> Observation {
    Observation::Resource(status)
}

#[test]
fn every_transition() {
    use Observation::{BackupRunning, Nothing};
    let table: Vec<(S, Observation, S, Vec<Action>, &str)> = vec![
        (
            S::CreationRequested,
            Nothing,
            S::Reconciling,
            vec![A::Apply],
            "create-installation",
        ),
        (
            S::Reconciling,
            res(M::Absent),
            S::Reconciling,
            vec![A::Apply],
            "apply-installation",
        ),
        (
            S::Reconciling,
            res(M::Reconciling),
            S::Reconciling,
            vec![],
            "wait-for-installation",
        ),
        (
            S::Reconciling,
            res(M::Ready),
            S::Ready,
            vec![],
            "wait-for-installation",
        ),
        (
            S::Reconciling,
            res(M::Stable),
            S::Stable,
            vec![A::Prune],
            "prune-secrets",
        ),
        (
            S::Ready,
            res(M::Absent),
            S::Reconciling,
            vec![A::Apply],
            "apply-installation",
        ),
        (
            S::Ready,
            res(M::Reconciling),
            S::Reconciling,
            vec![],
            "wait-for-installation",
        ),
        (
            S::Ready,
            res(M::Ready),
            S::Ready,
            vec![],
            "wait-for-installation",
        ),
        (
            S::Ready,
            res(M::Stable),
            S::Stable,
            vec![A::Prune],
            "prune-secrets",
        ),
        (
            S::Reconciling,
            Nothing,
            S::Reconciling,
            vec![],
            "wait-for-installation",
        ),
        (S::Stable, res(M::Stable), S::Stable, vec![], ""),
        (S::Stable, res(M::Ready), S::Stable, vec![], ""),
        (
            S::Stable,
            res(M::Reconciling),
            S::Reconciling,
            vec![],
            "wait-for-installation",
        ),
        (
            S::Stable,
            res(M::Absent),
            S::Reconciling,
            vec![A::Apply],
            "repair-installation",
        ),
        (
            S::DeletionRequested,
            BackupRunning(true),
            S::DeletionRequested,
            vec![],
            "wait-for-backup",
        ),
        (
            S::DeletionRequested,
            BackupRunning(false),
            S::Deleted,
            vec![A::Delete, A::SoftDelete],
            "delete-installation",
        ),
        (S::CreationFailed, Nothing, S::CreationFailed, vec![], ""),
        (S::DeletionFailed, Nothing, S::DeletionFailed, vec![], ""),
        (S::Deleted, Nothing, S::Deleted, vec![], ""),
    ];
    for (state, obs, next, actions, step) in table {
        let d = decide(&ci(state), &obs);
        assert_eq!(d.next_state, next, "{state} with {obs:?}");
        assert_eq!(d.actions, actions, "{state} with {obs:?}");
        assert_eq!(d.step, step, "{state} with {obs:?}");
        assert_eq!(d.problem, None, "{state} with {obs:?}");
    }
}

#[test]
fn a_missing_cluster_or_installation_fails_requests_only() {
    let missing = Observation::Missing("cluster c not found".into());
    for (state, next) in [
        (S::CreationRequested, S::CreationFailed),
        (S::DeletionRequested, S::DeletionFailed),
        (S::Reconciling, S::Reconciling),
        (S::Ready, S::Ready),
        (S::Stable, S::Stable),
    ] {
        let d = decide(&ci(state), &missing);
        assert_eq!(d.next_state, next, "{state}");
        assert!(d.actions.is_empty());
        assert_eq!(d.problem.as_deref(), Some("cluster c not found"));
    }
}

#[test]
fn failures_end_requests_in_their_failed_states() {
    for class in [ErrorClass::Permanent, ErrorClass::User] {
        assert_eq!(
            on_failure(S::CreationRequested, A::Apply, class),
            Some(S::CreationFailed)
        );
        assert_eq!(
            on_failure(S::DeletionRequested, A::Delete, class),
            Some(S::DeletionFailed)
        );
        assert_eq!(
            on_failure(S::DeletionRequested, A::SoftDelete, class),
            Some(S::DeletionFailed)
        );
        // No failed state: keep retrying (with backoff).
        assert_eq!(on_failure(S::Reconciling, A::Apply, class), None);
        assert_eq!(on_failure(S::Ready, A::Prune, class), None);
        assert_eq!(on_failure(S::Stable, A::Apply, class), None);
    }
    for state in pending_states() {
        for action in [A::Apply, A::Prune, A::Delete, A::SoftDelete] {
            assert_eq!(on_failure(*state, action, ErrorClass::Transient), None);
        }
    }
}

#[test]
fn observations_needed_match_the_states() {
    assert_eq!(needs(S::CreationRequested), Needs::Nothing);
    assert_eq!(needs(S::Reconciling), Needs::ResourceStatus);
    assert_eq!(needs(S::Ready), Needs::ResourceStatus);
    assert_eq!(needs(S::Stable), Needs::ResourceStatus);
    assert_eq!(needs(S::DeletionRequested), Needs::BackupStatus);
    for state in RESYNC_STATES {
        assert!(!state.is_pending_work());
    }
}
