//! Cluster-installation lifecycles on the simulated cloud.

use crate::harness::{Harness, assert_chain};
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState as S};
use cloud_model::installation::{
    Affinity, DatabaseType, FilestoreType, Installation, InstallationState,
};
use cloud_model::progress::ErrorClass;
use cloud_ports::sim::{SimConfig, k8s_key};
use cloud_ports::{KubeCluster, PortError};
use cloud_supervisor::driver::BackgroundTask;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A stable cluster and an installation with a cluster installation in
/// `creation-requested` on it.
async fn setup(h: &Harness) -> ClusterInstallation {
    let cluster = h.create_cluster(json!({"allow-installations": true})).await;
    h.settle().await;
    let mut installation = Installation {
        name: "inst".into(),
        owner_id: "owner".into(),
        group_id: Some(String::new()),
        version: "stable".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        size: "100users".into(),
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        affinity: Affinity::Multitenant,
        state: InstallationState::CreationInProgress,
        cr_version: "installation.mattermost.com/v1beta1".into(),
        ..Default::default()
    };
    let dto = h
        .store
        .installation_create(&mut installation, &[], &["inst.example.com".to_string()])
        .await
        .unwrap();
    let ci = ClusterInstallation::new(&cluster.id, &dto.installation.id, S::CreationRequested);
    h.store.cluster_installation_create(&ci).await.unwrap()
}

async fn get(h: &Harness, id: &str) -> ClusterInstallation {
    h.store.cluster_installation_get(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_cluster_installation_is_created_reconciled_and_deleted() {
    let h = Harness::sqlite(SimConfig {
        ready_after: 2,
        done_after: 2,
        ..SimConfig::instant(20)
    })
    .await;
    let ci = setup(&h).await;
    h.settle().await;
    let stable = get(&h, &ci.id).await;
    assert_eq!(stable.state, S::Stable);
    assert!(stable.progress.is_empty(), "{:?}", stable.progress);
    let key = k8s_key(&ci.cluster_id, &ci.namespace);
    assert!(h.sim.live().contains(&key));
    let events = h.transitions(&ci.id).await;
    let states: Vec<&str> = events.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(states, ["reconciling", "ready", "stable"]);
    assert_chain(&ci.id, &events, "creation-requested", "stable");

    h.store
        .cluster_installation_update_state(&ci.id, S::DeletionRequested)
        .await
        .unwrap();
    h.settle().await;
    let deleted = get(&h, &ci.id).await;
    assert_eq!(deleted.state, S::Deleted);
    assert!(deleted.delete_at > 0);
    assert!(!h.sim.live().contains(&key));
    assert!(h.sim.created_twice().is_empty());
    assert!(h.sim.orphaned().is_empty());
}

#[tokio::test]
async fn a_missing_installation_fails_the_creation() {
    let h = Harness::sqlite(SimConfig::instant(21)).await;
    let cluster = h.create_cluster(json!({})).await;
    h.settle().await;
    let ci = h
        .store
        .cluster_installation_create(&ClusterInstallation::new(
            &cluster.id,
            "no-such-installation",
            S::CreationRequested,
        ))
        .await
        .unwrap();
    h.settle().await;
    let ci = get(&h, &ci.id).await;
    assert_eq!(ci.state, S::CreationFailed);
    assert_eq!(ci.progress.last_error_class, Some(ErrorClass::Permanent));
    assert!(ci.progress.last_error.contains("does not exist"));
}

#[tokio::test]
async fn a_permanent_apply_error_fails_the_creation_and_a_transient_one_retries() {
    let h = Harness::sqlite(SimConfig::instant(22)).await;
    h.sim.inject(
        "apply_installation",
        [
            PortError::Transient("apiserver timeout".into()),
            PortError::Permanent("admission webhook denied".into()),
        ],
    );
    let ci = setup(&h).await;
    h.round().await;
    let first = get(&h, &ci.id).await;
    assert_eq!(first.state, S::CreationRequested);
    assert_eq!(first.progress.retry_count, 1);
    h.settle().await;
    let failed = get(&h, &ci.id).await;
    assert_eq!(failed.state, S::CreationFailed);
    assert!(
        failed
            .progress
            .last_error
            .contains("admission webhook denied")
    );
}

#[tokio::test]
async fn a_resync_repairs_a_stable_installation_whose_objects_vanished() {
    let h = Harness::sqlite(SimConfig::instant(23)).await;
    let ci = setup(&h).await;
    h.settle().await;
    let cluster = h.cluster(&ci.cluster_id).await;
    let stable = get(&h, &ci.id).await;
    while !h
        .sim
        .delete_installation(&cluster, &stable)
        .await
        .unwrap()
        .is_done()
    {}

    let cancel = CancellationToken::new();
    assert_eq!(h.cis.activate(true, &cancel).await.advanced, 1);
    let repairing = get(&h, &ci.id).await;
    assert_eq!(repairing.state, S::Reconciling);
    assert_eq!(repairing.progress.step, "repair-installation");
    h.settle().await;
    assert_eq!(get(&h, &ci.id).await.state, S::Stable);
    assert!(
        h.sim
            .live()
            .contains(&k8s_key(&ci.cluster_id, &ci.namespace))
    );
}
