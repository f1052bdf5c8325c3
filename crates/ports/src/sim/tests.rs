use super::*;
use crate::cluster::{ClusterProvisioner, ClusterStatus};
use crate::installation::{Dns, DnsRecord, InstallationTarget, KubeCluster, MattermostStatus};
use cloud_model::cluster::{
    Cluster, ClusterState, EksMetadata, EksMetadataRequestedState, NodeGroupMetadata, Provider,
    Provisioner,
};
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_model::installation::Installation;

fn kops() -> Cluster {
    Cluster::new(
        ClusterState::CreationRequested,
        Provider::Aws,
        Provisioner::Kops,
    )
}

fn eks(groups: &[(&str, &str)]) -> Cluster {
    let mut c = Cluster::new(
        ClusterState::CreationRequested,
        Provider::Aws,
        Provisioner::Eks,
    );
    let node_groups = groups
        .iter()
        .map(|(prefix, name)| {
            (
                prefix.to_string(),
                NodeGroupMetadata {
                    name: name.to_string(),
                    node_group_type: prefix.to_string(),
                    ..Default::default()
                },
            )
        })
        .collect();
    c.provisioner_metadata_eks = Some(EksMetadata {
        change_request: Some(EksMetadataRequestedState {
            node_groups,
            ..Default::default()
        }),
        ..Default::default()
    });
    c
}

#[tokio::test]
async fn creating_twice_creates_once_and_readiness_takes_observations() {
    let sim = SimCloud::new(SimConfig {
        visible_after: 1,
        ready_after: 2,
        ..SimConfig::instant(1)
    });
    let mut c = kops();
    sim.create_cluster(&mut c).await.unwrap();
    sim.create_cluster(&mut c).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(sim.cluster_status(&c).await.unwrap());
    }
    assert_eq!(
        seen,
        [
            ClusterStatus::Absent,
            ClusterStatus::Creating("control plane is CREATING".into()),
            ClusterStatus::Creating("control plane is CREATING".into()),
            ClusterStatus::Ready,
        ]
    );
    assert_eq!(sim.live(), [cluster_key(&c.id)]);
    assert!(sim.created_twice().is_empty());
}

#[tokio::test(start_paused = true)]
async fn latency_runs_on_the_tokio_clock() {
    let sim = SimCloud::new(SimConfig {
        latency: (Duration::from_secs(30), Duration::from_secs(60)),
        ..SimConfig::instant(2)
    });
    let start = tokio::time::Instant::now();
    let wall = std::time::Instant::now();
    sim.create_cluster(&mut kops()).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited <= Duration::from_secs(61),
        "{waited:?}"
    );
    assert!(wall.elapsed() < Duration::from_secs(5));
}

/// The outcomes (ok or error class) of `n` create calls.
async fn outcomes(config: SimConfig, n: usize) -> Vec<Option<ErrorClass>> {
    let sim = SimCloud::new(config);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            sim.create_cluster(&mut kops())
                .await
                .err()
                .map(|e| e.class()),
        );
    }
    out
}

#[tokio::test]
async fn errors_follow_the_rate_the_classes_and_the_seed() {
    let config = |seed| SimConfig {
        error_rate: 0.3,
        error_classes: vec![(ErrorClass::Transient, 3), (ErrorClass::Permanent, 1)],
        ..SimConfig::instant(seed)
    };
    let a = outcomes(config(7), 400).await;
    assert_eq!(a, outcomes(config(7), 400).await, "same seed, same run");
    assert_ne!(a, outcomes(config(8), 400).await, "another seed differs");
    let failed = a.iter().filter(|o| o.is_some()).count();
    assert!((80..=160).contains(&failed), "{failed} of 400 failed");
    let permanent = a
        .iter()
        .filter(|o| **o == Some(ErrorClass::Permanent))
        .count();
    assert!(permanent > 0 && permanent < failed / 2, "{permanent}");
}

#[tokio::test]
async fn injected_errors_come_first_and_in_order() {
    let sim = SimCloud::new(SimConfig::instant(3));
    sim.inject(
        "create_cluster",
        [
            PortError::User("bad AMI".into()),
            PortError::Transient("503".into()),
        ],
    );
    let mut c = kops();
    assert_eq!(
        sim.create_cluster(&mut c).await,
        Err(PortError::User("bad AMI".into()))
    );
    assert_eq!(
        sim.create_cluster(&mut c).await,
        Err(PortError::Transient("503".into()))
    );
    assert!(sim.live().is_empty(), "a failed call does nothing");
    sim.create_cluster(&mut c).await.unwrap();
    assert_eq!(sim.calls(), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn an_empty_bucket_throttles_until_it_refills() {
    let sim = SimCloud::new(SimConfig {
        throttle: Some(Throttle {
            per_second: 2.0,
            burst: 2.0,
        }),
        ..SimConfig::instant(4)
    });
    let c = kops();
    sim.cluster_status(&c).await.unwrap();
    sim.cluster_status(&c).await.unwrap();
    let err = sim.cluster_status(&c).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(500),
        "{wait:?}"
    );
    tokio::time::advance(wait).await;
    sim.cluster_status(&c).await.unwrap();
}

#[tokio::test]
async fn a_lost_reply_still_did_the_work_once() {
    let sim = SimCloud::new(SimConfig {
        lost_reply_rate: 1.0,
        ..SimConfig::instant(5)
    });
    let mut c = kops();
    let err = sim.create_cluster(&mut c).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(sim.live(), [cluster_key(&c.id)]);
    // The retry (reply lost again) creates nothing new.
    let _ = sim.create_cluster(&mut c).await;
    assert!(sim.created_twice().is_empty());
    // Observations never lose their reply.
    assert_eq!(sim.cluster_status(&c).await.unwrap(), ClusterStatus::Ready);
}

#[tokio::test]
async fn deletion_takes_calls_and_takes_what_lives_inside() {
    let sim = SimCloud::new(SimConfig {
        done_after: 2,
        ..SimConfig::instant(6)
    });
    let mut c = kops();
    sim.create_cluster(&mut c).await.unwrap();
    while !sim.provision(&mut c).await.unwrap().is_done() {}
    let installation = Installation {
        id: "inst".into(),
        ..Default::default()
    };
    let ci = ClusterInstallation::new(&c.id, "inst", ClusterInstallationState::CreationRequested);
    let target = InstallationTarget {
        cluster: &c,
        installation: &installation,
        cluster_installation: &ci,
        dns_names: &[],
    };
    sim.apply_installation(target).await.unwrap();
    assert_eq!(sim.live().len(), 3, "{:?}", sim.live());

    let mut answers = Vec::new();
    loop {
        let p = sim.delete_cluster(&mut c).await.unwrap();
        answers.push(p.clone());
        if p.is_done() {
            break;
        }
        assert!(answers.len() < 20, "deletion never finished");
    }
    assert!(answers.len() > 2, "{answers:?}");
    assert!(sim.live().is_empty(), "{:?}", sim.live());
    assert_eq!(
        sim.orphaned().into_iter().collect::<Vec<_>>(),
        [installation::k8s_key(&c.id, "inst")]
    );
    // Deleting what is gone is done at once.
    assert_eq!(sim.delete_cluster(&mut c).await.unwrap(), Progress::Done);
}

#[tokio::test]
async fn eks_node_groups_are_created_recorded_and_migrated() {
    let sim = SimCloud::new(SimConfig::instant(7));
    let mut c = eks(&[("worker", "worker-aaaaaa"), ("extra", "extra-bbbbbb")]);
    sim.create_cluster(&mut c).await.unwrap();
    sim.create_node_groups(&mut c).await.unwrap();
    assert_eq!(
        sim.node_groups_status(&mut c).await.unwrap(),
        Progress::Done
    );
    let recorded = &c.provisioner_metadata_eks.as_ref().unwrap().node_groups;
    assert_eq!(recorded["worker"].name, "worker-aaaaaa");
    sim.refresh_metadata(&mut c).await.unwrap();
    assert!(
        c.provisioner_metadata_eks
            .as_ref()
            .unwrap()
            .change_request
            .is_none()
    );

    // An upgrade replaces the worker group under a new name.
    let renamed = eks(&[("worker", "worker-cccccc")]);
    c.provisioner_metadata_eks.as_mut().unwrap().change_request = renamed
        .provisioner_metadata_eks
        .and_then(|m| m.change_request);
    assert_eq!(sim.upgrade(&mut c).await.unwrap(), Progress::Done);
    let id = c.id.clone();
    assert_eq!(
        sim.live_with_prefix("nodegroup/"),
        [
            format!("nodegroup/{id}/extra-bbbbbb"),
            format!("nodegroup/{id}/worker-cccccc")
        ]
    );
    // Deleting one node group.
    let delete = eks(&[("extra", "extra-bbbbbb")]);
    c.provisioner_metadata_eks.as_mut().unwrap().change_request = delete
        .provisioner_metadata_eks
        .and_then(|m| m.change_request);
    assert_eq!(
        sim.delete_node_groups(&mut c).await.unwrap(),
        Progress::Done
    );
    assert!(
        !c.provisioner_metadata_eks
            .as_ref()
            .unwrap()
            .node_groups
            .contains_key("extra")
    );
    assert_eq!(
        sim.live_with_prefix("nodegroup/"),
        [format!("nodegroup/{id}/worker-cccccc")]
    );
    assert!(sim.created_twice().is_empty());
}

#[tokio::test]
async fn installation_status_goes_through_ready_to_stable_and_restarts_on_update() {
    let sim = SimCloud::new(SimConfig {
        ready_after: 1,
        ..SimConfig::instant(8)
    });
    let mut c = kops();
    sim.create_cluster(&mut c).await.unwrap();
    let installation = Installation::default();
    let ci = ClusterInstallation::new(&c.id, "ns", ClusterInstallationState::CreationRequested);
    let target = InstallationTarget {
        cluster: &c,
        installation: &installation,
        cluster_installation: &ci,
        dns_names: &[],
    };
    assert_eq!(
        sim.installation_status(&c, &ci).await.unwrap(),
        MattermostStatus::Absent
    );
    sim.apply_installation(target).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(sim.installation_status(&c, &ci).await.unwrap());
    }
    use MattermostStatus::*;
    assert_eq!(seen, [Reconciling, Ready, Stable]);
    sim.apply_installation(target).await.unwrap();
    assert_eq!(sim.installation_status(&c, &ci).await.unwrap(), Reconciling);
    assert!(sim.created_twice().is_empty());
}

#[tokio::test]
async fn applying_to_a_missing_cluster_is_a_permanent_error() {
    let sim = SimCloud::new(SimConfig::instant(9));
    let c = kops();
    let installation = Installation::default();
    let ci = ClusterInstallation::new(&c.id, "ns", ClusterInstallationState::CreationRequested);
    let err = sim
        .apply_installation(InstallationTarget {
            cluster: &c,
            installation: &installation,
            cluster_installation: &ci,
            dns_names: &[],
        })
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
}

#[tokio::test]
async fn dns_records_are_upserted_and_deleted() {
    let sim = SimCloud::new(SimConfig::instant(10));
    let record = |target: &str| DnsRecord {
        name: "a.example.com".into(),
        target: target.into(),
    };
    sim.upsert_record(&record("lb-1")).await.unwrap();
    sim.upsert_record(&record("lb-2")).await.unwrap();
    assert_eq!(sim.live(), ["dns/a.example.com"]);
    assert!(sim.created_twice().is_empty());
    sim.delete_record("a.example.com").await.unwrap();
    sim.delete_record("a.example.com").await.unwrap();
    assert!(sim.live().is_empty());
}
