use super::*;
use Action as A;
use cloud_model::cluster::Provider;

fn cluster(state: ClusterState) -> Cluster {
    Cluster::new(state, Provider::Aws, Provisioner::Kops)
}

fn status(s: ClusterStatus) -> Observation {
    Observation::Cluster(s)
}

fn creating() -> ClusterStatus {
    ClusterStatus::Creating("CREATING".into())
}

/// (state, observation) → (next state, actions, step, has a problem).
type Row = (
    ClusterState,
    Observation,
    ClusterState,
    Vec<Action>,
    &'static str,
    bool,
);

#[test]
fn every_transition() {
    let n = Observation::Nothing;
    let table: Vec<Row> = vec![
        (
            S::CreationRequested,
            n.clone(),
            S::CreationInProgress,
            vec![A::PrepareMetadata, A::CreateCluster],
            "create-cluster",
            false,
        ),
        (
            S::CreationInProgress,
            status(ClusterStatus::Absent),
            S::CreationInProgress,
            vec![A::CreateCluster],
            "create-cluster",
            false,
        ),
        (
            S::CreationInProgress,
            status(creating()),
            S::CreationInProgress,
            vec![],
            "wait-for-cluster",
            false,
        ),
        (
            S::CreationInProgress,
            status(ClusterStatus::Ready),
            S::WaitingForNodes,
            vec![A::CreateNodeGroups],
            "create-node-groups",
            false,
        ),
        (
            S::CreationInProgress,
            status(ClusterStatus::Failed("FAILED".into())),
            S::CreationFailed,
            vec![],
            "wait-for-cluster",
            true,
        ),
        (
            S::WaitingForNodes,
            n.clone(),
            S::ProvisionInProgress,
            vec![A::CreateNodeGroups, A::AwaitNodeGroups],
            "wait-for-nodes",
            false,
        ),
        (
            S::ProvisionInProgress,
            n.clone(),
            S::Stable,
            vec![A::Provision, A::RefreshMetadata],
            "provision",
            false,
        ),
        (
            S::ProvisioningRequested,
            n.clone(),
            S::Stable,
            vec![A::Provision, A::RefreshMetadata],
            "provision",
            false,
        ),
        (
            S::UpgradeRequested,
            n.clone(),
            S::Stable,
            vec![A::Upgrade, A::RefreshMetadata],
            "upgrade",
            false,
        ),
        (
            S::ResizeRequested,
            n.clone(),
            S::Stable,
            vec![A::Resize, A::RefreshMetadata],
            "resize",
            false,
        ),
        (
            S::NodegroupsCreationRequested,
            n.clone(),
            S::Stable,
            vec![A::CreateNodeGroups, A::AwaitNodeGroups, A::RefreshMetadata],
            "create-node-groups",
            false,
        ),
        (
            S::NodegroupsDeletionRequested,
            n.clone(),
            S::Stable,
            vec![A::DeleteNodeGroups, A::RefreshMetadata],
            "delete-node-groups",
            false,
        ),
        (
            S::RefreshMetadata,
            n.clone(),
            S::Stable,
            vec![A::RefreshMetadata],
            "refresh-metadata",
            false,
        ),
        (
            S::DeletionRequested,
            n.clone(),
            S::Deleted,
            vec![A::DeleteCluster, A::SoftDelete],
            "delete-cluster",
            false,
        ),
        (
            S::Stable,
            status(ClusterStatus::Ready),
            S::Stable,
            vec![],
            "",
            false,
        ),
        (S::Stable, status(creating()), S::Stable, vec![], "", false),
        (
            S::Stable,
            status(ClusterStatus::Absent),
            S::Stable,
            vec![],
            "resync",
            true,
        ),
        (
            S::Stable,
            status(ClusterStatus::Failed("gone".into())),
            S::Stable,
            vec![],
            "resync",
            true,
        ),
    ];
    for (state, obs, next, actions, step, problem) in table {
        let d = decide(&cluster(state), &obs);
        assert_eq!(d.next_state, next, "{state} with {obs:?}");
        assert_eq!(d.actions, actions, "{state} with {obs:?}");
        assert_eq!(d.step, step, "{state} with {obs:?}");
        assert_eq!(d.problem.is_some(), problem, "{state} with {obs:?}");
    }
}

#[test]
fn terminal_and_failed_states_do_nothing() {
    for state in [
        S::CreationFailed,
        S::ProvisioningFailed,
        S::UpgradeFailed,
        S::ResizeFailed,
        S::NodegroupsCreationFailed,
        S::NodegroupsDeletionFailed,
        S::DeletionFailed,
        S::Deleted,
    ] {
        let d = decide(&cluster(state), &Observation::Nothing);
        assert_eq!(d, Decision::new(state, vec![], ""), "{state}");
        assert!(!state.is_pending_work(), "{state}");
    }
}

#[test]
fn every_pending_state_has_work() {
    for state in pending_states() {
        let obs = if needs_cluster_status(*state) {
            status(ClusterStatus::Ready)
        } else {
            Observation::Nothing
        };
        let d = decide(&cluster(*state), &obs);
        assert!(
            !d.actions.is_empty() || d.next_state != *state,
            "{state} would never progress"
        );
    }
}

#[test]
fn transient_failures_retry_the_same_state() {
    for state in pending_states() {
        for action in decide(&cluster(*state), &status(ClusterStatus::Ready)).actions {
            assert_eq!(
                on_failure(*state, action, ErrorClass::Transient),
                None,
                "{state} {action:?}"
            );
        }
    }
}

#[test]
fn permanent_and_user_failures_end_in_the_failed_states() {
    let cases = [
        (S::CreationRequested, A::CreateCluster, S::CreationFailed),
        (S::CreationRequested, A::PrepareMetadata, S::CreationFailed),
        (
            S::CreationInProgress,
            A::CreateNodeGroups,
            S::CreationFailed,
        ),
        (S::WaitingForNodes, A::AwaitNodeGroups, S::CreationFailed),
        (S::ProvisionInProgress, A::Provision, S::ProvisioningFailed),
        (
            S::ProvisioningRequested,
            A::Provision,
            S::ProvisioningFailed,
        ),
        (S::UpgradeRequested, A::Upgrade, S::UpgradeFailed),
        (S::ResizeRequested, A::Resize, S::ResizeFailed),
        (
            S::NodegroupsCreationRequested,
            A::CreateNodeGroups,
            S::NodegroupsCreationFailed,
        ),
        (
            S::NodegroupsCreationRequested,
            A::AwaitNodeGroups,
            S::NodegroupsCreationFailed,
        ),
        (
            S::NodegroupsDeletionRequested,
            A::DeleteNodeGroups,
            S::NodegroupsDeletionFailed,
        ),
        (S::DeletionRequested, A::DeleteCluster, S::DeletionFailed),
        (S::DeletionRequested, A::SoftDelete, S::DeletionFailed),
        (S::CreationInProgress, A::Observe, S::CreationFailed),
        // A failed read-back goes to refresh-metadata, which retries.
        (
            S::ProvisionInProgress,
            A::RefreshMetadata,
            S::RefreshMetadata,
        ),
        (S::UpgradeRequested, A::RefreshMetadata, S::RefreshMetadata),
        (S::RefreshMetadata, A::RefreshMetadata, S::RefreshMetadata),
    ];
    for (state, action, failed) in cases {
        for class in [ErrorClass::Permanent, ErrorClass::User] {
            assert_eq!(
                on_failure(state, action, class),
                Some(failed),
                "{state} {action:?} {class}"
            );
        }
    }
}

#[test]
fn failed_states_are_ones_the_api_can_retry_or_delete_from() {
    for state in pending_states() {
        let failed = failed_state(*state);
        if failed == *state {
            continue;
        }
        let retry = ClusterState::REQUEST_STATES
            .iter()
            .chain([&S::NodegroupsDeletionRequested])
            .any(|req| req.can_request(failed));
        assert!(retry, "{failed} cannot be left through the API");
    }
}

#[test]
fn metadata_gets_its_name_once() {
    for (provisioner, suffix) in [
        (Provisioner::Kops, "-kops.k8s.local"),
        (Provisioner::Eks, "-eks-k8s-local"),
        (Provisioner::External, "-external-k8s"),
    ] {
        let mut c = Cluster::new(S::CreationRequested, Provider::Aws, provisioner);
        assert!(prepare_metadata(&mut c));
        assert_eq!(c.common_metadata().name, format!("{}{suffix}", c.id));
        assert!(!prepare_metadata(&mut c), "already named");
    }
    let mut c = cluster(S::CreationRequested);
    c.provisioner_metadata_kops = Some(KopsMetadata {
        name: "custom".into(),
        ..Default::default()
    });
    assert!(!prepare_metadata(&mut c));
    assert_eq!(c.common_metadata().name, "custom");
}
