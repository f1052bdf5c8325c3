//! Cluster lifecycles on the simulated cloud, driven by hand.

use crate::harness::{Db, Harness, assert_chain, config};
use cloud_model::cluster::ClusterState as S;
use cloud_model::progress::{ErrorClass, Progress};
use cloud_ports::sim::{SimConfig, cluster_key};
use cloud_ports::{ClusterProvisioner, PortError};
use cloud_store::progress::ProgressTable;
use cloud_supervisor::driver::BackgroundTask;
use cloud_supervisor::reconcile::{ReconcileConfig, Stats};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const T: ProgressTable = ProgressTable::Cluster;

async fn created_to_stable(db: Db) {
    let h = Harness::new(db, SimConfig::instant(1), config()).await;
    let c = h.create_cluster(json!({"zones": ["us-east-1a"]})).await;
    h.settle().await;
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::Stable);
    assert_eq!(c.common_metadata().name, format!("{}-kops.k8s.local", c.id));
    assert!(c.progress.is_empty(), "{:?}", c.progress);
    let events = h.transitions(&c.id).await;
    assert_eq!(
        events.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        [
            "creation-requested",
            "creation-in-progress",
            "waiting-for-nodes",
            "provision-in-progress",
            "stable"
        ]
    );
    assert_chain(&c.id, &events, "n/a", "stable");
    assert_eq!(
        h.sim.live(),
        [cluster_key(&c.id), format!("utilities/{}", c.id)]
    );
    // The lock is released.
    assert_eq!(c.lock_acquired_at, 0);
}

#[tokio::test]
async fn a_cluster_goes_from_creation_requested_to_stable_sqlite() {
    created_to_stable(Db::Sqlite).await;
}

#[tokio::test]
async fn a_cluster_goes_from_creation_requested_to_stable_postgres() {
    created_to_stable(Db::Postgres).await;
}

#[tokio::test]
async fn an_eks_cluster_creates_and_records_its_node_groups() {
    let h = Harness::sqlite(SimConfig {
        visible_after: 1,
        ready_after: 2,
        done_after: 2,
        ..SimConfig::instant(2)
    })
    .await;
    let c = h
        .create_cluster(json!({
            "provisioner": "eks",
            "ami": "ami-0123456789",
            "cluster-role-arn": "arn:aws:iam::1:role/cluster",
            "node-role-arn": "arn:aws:iam::1:role/node",
            "additional-node-groups": {"spot": {"instance-type": "m5.large", "min-count": 1, "max-count": 2}}
        }))
        .await;
    h.settle().await;
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::Stable);
    let eks = c.provisioner_metadata_eks.clone().unwrap();
    assert!(eks.change_request.is_none(), "refresh clears the request");
    let mut recorded: Vec<String> = eks
        .node_groups
        .values()
        .map(|ng| format!("nodegroup/{}/{}", c.id, ng.name))
        .collect();
    recorded.sort();
    assert_eq!(recorded.len(), 2);
    assert_eq!(h.sim.live_with_prefix("nodegroup/"), recorded);
    assert!(h.sim.created_twice().is_empty());
}

#[tokio::test]
async fn waiting_is_rechecked_after_the_recheck_interval() {
    let h = Harness::sqlite(SimConfig {
        ready_after: 5,
        ..SimConfig::instant(3)
    })
    .await;
    let c = h.create_cluster(json!({})).await;
    h.round().await; // creation-requested → creation-in-progress
    h.round().await; // observes "creating"
    let now = h.clock.now_millis();
    let p = h.progress(T, &c.id).await;
    assert_eq!(p.step, "wait-for-cluster");
    assert_eq!(p.next_retry_at, now + 2_000);
    assert_eq!(p.retry_count, 0);
    assert_eq!(p.last_error_class, None);
    // Nothing is due before then.
    let (a, _) = h.round().await;
    assert_eq!(a.processed, 0);
    assert_eq!(a.next_due_ms, Some(now + 2_000));
    h.settle().await;
    assert_eq!(h.cluster(&c.id).await.state, S::Stable);
}

#[tokio::test]
async fn transient_failures_back_off_then_recover() {
    let h = Harness::sqlite(SimConfig::instant(4)).await;
    h.sim.inject(
        "create_cluster",
        (0..3).map(|_| PortError::Transient("503".into())),
    );
    let c = h.create_cluster(json!({})).await;
    let mut waits = Vec::new();
    for failures in 1..=3 {
        let now = h.clock.now_millis();
        h.round().await;
        let p = h.progress(T, &c.id).await;
        assert_eq!(p.retry_count, failures);
        assert_eq!(p.last_error_class, Some(ErrorClass::Transient));
        assert_eq!(p.step, "create-cluster");
        assert!(p.last_error.contains("503"), "{}", p.last_error);
        waits.push(p.next_retry_at - now);
        assert_eq!(h.cluster(&c.id).await.state, S::CreationRequested);
        h.clock.advance(h.clock.until(p.next_retry_at));
    }
    // Equal jitter: 0.5–1 s, 1–2 s, 2–4 s.
    for (i, w) in waits.iter().enumerate() {
        let nominal = 1_000 << i;
        assert!(*w >= nominal / 2 && *w < nominal, "wait {i}: {w} ms");
    }
    h.settle().await;
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::Stable);
    assert_eq!(c.progress, Progress::default(), "success clears the error");
}

#[tokio::test]
async fn a_permanent_failure_ends_in_creation_failed_and_can_be_retried() {
    let h = Harness::sqlite(SimConfig::instant(5)).await;
    h.sim.inject(
        "create_cluster",
        [PortError::Permanent("VPC quota exceeded".into())],
    );
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    let failed = h.cluster(&c.id).await;
    assert_eq!(failed.state, S::CreationFailed);
    assert_eq!(
        failed.progress.last_error_class,
        Some(ErrorClass::Permanent)
    );
    assert!(failed.progress.last_error.contains("VPC quota exceeded"));
    assert_eq!(failed.progress.step, "create-cluster");
    assert_eq!(failed.progress.next_retry_at, 0);
    assert!(h.sim.live().is_empty());

    // The API's retry (creation-requested is allowed from creation-failed).
    assert!(h.request_state(&c.id, S::CreationRequested).await);
    h.settle().await;
    assert_eq!(h.cluster(&c.id).await.state, S::Stable);
    assert_chain(&c.id, &h.transitions(&c.id).await, "n/a", "stable");
}

#[tokio::test]
async fn user_and_permanent_errors_end_each_request_in_its_failed_state() {
    let cases = [
        (S::ProvisioningRequested, "provision", S::ProvisioningFailed),
        (S::UpgradeRequested, "upgrade", S::UpgradeFailed),
        (S::ResizeRequested, "resize", S::ResizeFailed),
        (S::DeletionRequested, "delete_cluster", S::DeletionFailed),
    ];
    let h = Harness::sqlite(SimConfig::instant(6)).await;
    for (i, (request, op, failed)) in cases.into_iter().enumerate() {
        let c = h.create_cluster(json!({})).await;
        h.settle().await;
        let error = if i % 2 == 0 {
            PortError::User(format!("bad {op}"))
        } else {
            PortError::Permanent(format!("broken {op}"))
        };
        let class = error.class();
        h.sim.inject(op, [error]);
        assert!(h.request_state(&c.id, request).await);
        h.settle().await;
        let c = h.cluster(&c.id).await;
        assert_eq!(c.state, failed, "{request}");
        assert_eq!(c.progress.last_error_class, Some(class), "{request}");
        assert_chain(&c.id, &h.transitions(&c.id).await, "n/a", failed.as_str());
    }
}

#[tokio::test]
async fn too_many_transient_failures_count_as_permanent() {
    let h = Harness::new(
        Db::Sqlite,
        SimConfig::instant(7),
        ReconcileConfig {
            max_transient_failures: 3,
            ..config()
        },
    )
    .await;
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    h.sim.inject(
        "provision",
        (0..3).map(|_| PortError::Transient("timeout".into())),
    );
    assert!(h.request_state(&c.id, S::ProvisioningRequested).await);
    h.settle().await;
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::ProvisioningFailed);
    assert_eq!(c.progress.last_error_class, Some(ErrorClass::Transient));
    assert_eq!(c.progress.retry_count, 0);
}

#[tokio::test]
async fn a_failed_refresh_goes_to_refresh_metadata_which_retries() {
    let h = Harness::sqlite(SimConfig::instant(8)).await;
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    h.sim.inject(
        "refresh_metadata",
        [PortError::Permanent("API server unreachable".into())],
    );
    assert!(h.request_state(&c.id, S::ProvisioningRequested).await);
    h.settle().await;
    let events = h.transitions(&c.id).await;
    let tail: Vec<&str> = events[events.len() - 3..]
        .iter()
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        tail,
        ["provisioning-requested", "refresh-metadata", "stable"]
    );
    assert_eq!(h.cluster(&c.id).await.state, S::Stable);
}

#[tokio::test]
async fn deletion_leaves_nothing_behind() {
    let h = Harness::sqlite(SimConfig {
        done_after: 3,
        ..SimConfig::instant(9)
    })
    .await;
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    assert!(h.request_state(&c.id, S::DeletionRequested).await);
    h.settle().await;
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::Deleted);
    assert!(c.delete_at > 0);
    assert!(h.sim.live().is_empty(), "{:?}", h.sim.live());
    assert!(h.sim.created_twice().is_empty());
}

#[tokio::test]
async fn a_soft_deleted_cluster_whose_final_write_was_lost_is_finished() {
    let h = Harness::sqlite(SimConfig::instant(10)).await;
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    assert!(h.request_state(&c.id, S::DeletionRequested).await);
    // As if a server died after the soft delete, before the state write.
    let mut gone = h.cluster(&c.id).await;
    while !h.sim.delete_cluster(&mut gone).await.unwrap().is_done() {}
    h.store.cluster_delete(&c.id).await.unwrap();
    h.settle().await;
    assert_eq!(h.cluster(&c.id).await.state, S::Deleted);
}

#[tokio::test]
async fn a_resync_reports_a_cluster_the_provider_lost() {
    let h = Harness::sqlite(SimConfig::instant(11)).await;
    let c = h.create_cluster(json!({})).await;
    h.settle().await;
    let mut gone = h.cluster(&c.id).await;
    while !h.sim.delete_cluster(&mut gone).await.unwrap().is_done() {}
    // An ordinary pass does not look at stable clusters; a resync does.
    let cancel = CancellationToken::new();
    assert_eq!(h.clusters.activate(false, &cancel).await.processed, 0);
    assert_eq!(h.clusters.activate(true, &cancel).await.processed, 1);
    let c = h.cluster(&c.id).await;
    assert_eq!(c.state, S::Stable, "drift is reported, not acted on");
    assert_eq!(c.progress.step, "resync");
    assert_eq!(c.progress.last_error_class, Some(ErrorClass::Permanent));
    assert!(c.progress.last_error.contains("no longer has this cluster"));
}

#[tokio::test]
async fn a_locked_cluster_is_skipped_not_waited_for() {
    let h = Harness::sqlite(SimConfig::instant(12)).await;
    let c = h.create_cluster(json!({})).await;
    assert!(h.store.cluster_lock(&c.id, "someone-else").await.unwrap());
    let (a, _) = h.round().await;
    assert_eq!(a.processed, 0);
    assert_eq!(Stats::get(&h.clusters.stats.lock_misses), 1);
    assert_eq!(h.cluster(&c.id).await.state, S::CreationRequested);
    h.store.cluster_unlock(&c.id, "someone-else").await.unwrap();
    h.settle().await;
    assert_eq!(h.cluster(&c.id).await.state, S::Stable);
}

#[tokio::test]
async fn a_state_changed_since_listing_is_skipped() {
    use cloud_supervisor::reconcile::{StepReport, Supervise};
    let h = Harness::sqlite(SimConfig::instant(13)).await;
    let c = h.create_cluster(json!({})).await;
    let report = h
        .clusters
        .supervisor()
        .step(&c.id, "stable", &config())
        .await;
    assert_eq!(report, StepReport::Skipped);
    assert!(h.sim.live().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_a_step_that_does_not_finish_in_time() {
    let h = Harness::new(
        Db::Sqlite,
        SimConfig {
            latency: (
                std::time::Duration::from_secs(30),
                std::time::Duration::from_secs(30),
            ),
            ..SimConfig::instant(14)
        },
        ReconcileConfig {
            shutdown_grace: std::time::Duration::from_millis(100),
            ..config()
        },
    )
    .await;
    let c = h.create_cluster(json!({})).await;
    let cancel = CancellationToken::new();
    let started = std::time::Instant::now();
    let pass = h.clusters.activate(false, &cancel);
    let (report, ()) = tokio::join!(pass, async {
        // Wait until the step holds the lock and is in the cloud call.
        loop {
            let held = h.cluster(&c.id).await.lock_acquired_at != 0;
            if held {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        cancel.cancel();
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(report.processed, 0, "the abandoned step reports nothing");
    assert!(!report.more);
    let c = h.cluster(&c.id).await;
    assert_eq!(c.lock_acquired_at, 0, "the lock is released");
    assert_eq!(c.state, S::CreationRequested, "nothing was written");
    assert!(h.sim.live().is_empty());
}
