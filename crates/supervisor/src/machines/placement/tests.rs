use super::*;
use cloud_model::cluster::{ExternalProviderMetadata, KopsMetadata, Provider, Provisioner};
use cloud_model::installation::{DatabaseType, FilestoreType};

const GI: i64 = 1024 * 1024 * 1024;

fn installation(affinity: Affinity) -> Installation {
    Installation {
        id: "inst".into(),
        size: "100users".into(),
        affinity,
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        ..Default::default()
    }
}

/// 10 CPUs, 40 GiB, 100 pods, `used` percent of each in use.
fn resources(used: i64) -> ClusterResources {
    ClusterResources {
        cpu_total_millis: 10_000,
        cpu_used_millis: 100 * used,
        memory_total_bytes: 40 * GI,
        memory_used_bytes: 40 * GI / 100 * used,
        pods_total: 100,
        pods_used: used,
    }
}

fn candidate(id: &str, create_at: i64, used: i64) -> ClusterCandidate {
    let mut cluster = Cluster::new(ClusterState::Stable, Provider::Aws, Provisioner::Kops);
    cluster.id = id.into();
    cluster.create_at = create_at;
    cluster.allow_installations = true;
    cluster.provisioner_metadata_kops = Some(KopsMetadata {
        node_min_count: 3,
        node_max_count: 6,
        ..Default::default()
    });
    ClusterCandidate {
        cluster,
        annotations: Vec::new(),
        installation_affinities: Vec::new(),
        resources: Ok(resources(used)),
    }
}

fn ids(r: &Ranking) -> Vec<&str> {
    r.accepted.iter().map(|p| p.cluster_id.as_str()).collect()
}

fn reason_for(r: &Ranking, id: &str) -> String {
    r.rejected
        .iter()
        .find(|x| x.cluster_id == id)
        .map(|x| x.reason.clone())
        .unwrap_or_else(|| panic!("{id} was not rejected: {r:?}"))
}

#[test]
fn usage_is_computed_like_the_original() {
    let req = requirements(&installation(Affinity::Multitenant)).unwrap();
    // 100users on a shared database and bifrost: one app pod only.
    assert_eq!(req.cpu_millis, 100);
    assert_eq!(req.memory_bytes, 256 * 1024 * 1024);
    assert_eq!(req.pod_count, 1);
    let u = resources(50).usage_after(&req);
    assert_eq!((u.cpu, u.memory, u.pods), (51, 50, 51));
    let empty = ClusterResources::default().usage_after(&req);
    assert_eq!(empty.cpu, i64::MAX);
    // In-cluster database and MinIO add their pods' requests.
    let mut i = installation(Affinity::Multitenant);
    i.database = DatabaseType::MysqlOperator;
    i.filestore = FilestoreType::MinioOperator;
    let full = requirements(&i).unwrap();
    assert_eq!(full.cpu_millis, 100 + 200 + 100);
}

#[test]
fn every_annotation_must_match() {
    let mut a = candidate("a", 1, 10);
    a.annotations = vec!["multi-tenant".into()];
    let mut b = candidate("b", 2, 10);
    b.annotations = vec!["multi-tenant".into(), "gpu".into()];
    let wanted = vec!["multi-tenant".to_string(), "gpu".to_string()];
    let r = rank(
        &installation(Affinity::Multitenant),
        &wanted,
        &[a, b],
        &PlacementOptions::default(),
    )
    .unwrap();
    assert_eq!(ids(&r), ["b"]);
    assert_eq!(reason_for(&r, "a"), "missing annotation(s) gpu");
}

#[test]
fn no_annotations_means_every_cluster_qualifies() {
    let mut a = candidate("a", 1, 10);
    a.annotations = vec!["x".into()];
    let r = rank(
        &installation(Affinity::Multitenant),
        &[],
        &[a],
        &PlacementOptions::default(),
    )
    .unwrap();
    assert_eq!(ids(&r), ["a"]);
}

#[test]
fn cluster_must_allow_installations_in_a_schedulable_state() {
    let mut closed = candidate("closed", 1, 10);
    closed.cluster.allow_installations = false;
    let mut creating = candidate("creating", 2, 10);
    creating.cluster.state = ClusterState::CreationInProgress;
    let mut deleted = candidate("deleted", 3, 10);
    deleted.cluster.delete_at = 5;
    let mut resizing = candidate("resizing", 4, 10);
    resizing.cluster.state = ClusterState::ResizeRequested;
    let r = rank(
        &installation(Affinity::Multitenant),
        &[],
        &[closed, creating, deleted, resizing],
        &PlacementOptions::default(),
    )
    .unwrap();
    assert_eq!(ids(&r), ["resizing"]);
    assert!(reason_for(&r, "closed").contains("does not allow installations"));
    assert!(reason_for(&r, "creating").contains("creation-in-progress"));
    assert!(reason_for(&r, "deleted").contains("deleted"));
}

#[test]
fn external_clusters_need_aws_infrastructure() {
    let mut ext = candidate("ext", 1, 10);
    ext.cluster.provider = Provider::External;
    ext.cluster.provisioner = Provisioner::External;
    let opts = PlacementOptions::default();
    let i = installation(Affinity::Multitenant);
    let r = rank(&i, &[], std::slice::from_ref(&ext), &opts).unwrap();
    assert_eq!(
        reason_for(&r, "ext"),
        "the cluster has no AWS infrastructure"
    );
    ext.cluster.provider_metadata_external = Some(ExternalProviderMetadata {
        has_aws_infrastructure: true,
    });
    assert_eq!(ids(&rank(&i, &[], &[ext], &opts).unwrap()), ["ext"]);
}

#[test]
fn affinity_rules() {
    use Affinity::{Isolated, Multitenant};
    // (installation affinity, affinities already on the cluster, accepted)
    let table: &[(Affinity, &[Affinity], bool)] = &[
        (Isolated, &[], true),
        (Isolated, &[Multitenant], false),
        (Isolated, &[Isolated], false),
        (Multitenant, &[], true),
        (Multitenant, &[Multitenant], true),
        (Multitenant, &[Multitenant, Multitenant], true),
        (Multitenant, &[Isolated], false),
        // Only a lone isolated installation blocks (the original's rule).
        (Multitenant, &[Isolated, Multitenant], true),
    ];
    for (affinity, on_cluster, accepted) in table {
        let mut c = candidate("c", 1, 10);
        c.installation_affinities = on_cluster.to_vec();
        let r = rank(
            &installation(*affinity),
            &[],
            &[c],
            &PlacementOptions::default(),
        )
        .unwrap();
        assert_eq!(
            r.accepted.len() == 1,
            *accepted,
            "{affinity} onto {on_cluster:?}: {r:?}"
        );
    }
}

#[test]
fn thresholds_reject_with_the_numbers() {
    let r = rank(
        &installation(Affinity::Multitenant),
        &[],
        &[candidate("full", 1, 80), candidate("ok", 2, 79)],
        &PlacementOptions::default(),
    )
    .unwrap();
    assert_eq!(ids(&r), ["ok"]);
    let reason = reason_for(&r, "full");
    assert!(
        reason.contains("CPU would reach 81% (threshold 80%)"),
        "{reason}"
    );
    assert!(reason.contains("pods would reach 81%"), "{reason}");

    // Per-resource overrides.
    let opts = PlacementOptions {
        thresholds: Thresholds {
            cpu: 90,
            memory: 90,
            pods: 90,
        },
        ..Default::default()
    };
    let r = rank(
        &installation(Affinity::Multitenant),
        &[],
        &[candidate("full", 1, 80)],
        &opts,
    )
    .unwrap();
    assert_eq!(ids(&r), ["full"]);
}

#[test]
fn unreadable_resources_reject_unless_external_clusters_are_always_scheduled() {
    let mut c = candidate("c", 1, 0);
    c.resources = Err("metrics unavailable".into());
    let i = installation(Affinity::Multitenant);
    let r = rank(
        &i,
        &[],
        std::slice::from_ref(&c),
        &PlacementOptions::default(),
    )
    .unwrap();
    assert_eq!(
        reason_for(&r, "c"),
        "resource usage unavailable: metrics unavailable"
    );

    c.cluster.provider = Provider::External;
    c.cluster.provider_metadata_external = Some(ExternalProviderMetadata {
        has_aws_infrastructure: true,
    });
    let always = PlacementOptions {
        always_schedule_external: true,
        ..Default::default()
    };
    assert_eq!(
        ids(&rank(&i, &[], std::slice::from_ref(&c), &always).unwrap()),
        ["c"]
    );
    // Also over the thresholds.
    c.resources = Ok(resources(99));
    assert_eq!(ids(&rank(&i, &[], &[c], &always).unwrap()), ["c"]);
}

#[test]
fn over_threshold_clusters_are_scaled_when_allowed() {
    let opts = PlacementOptions {
        scale_value: 2,
        ..Default::default()
    };
    let i = installation(Affinity::Multitenant);
    let p = place(&i, &[], &[candidate("c", 1, 95)], &opts).unwrap();
    assert_eq!(p.scale_to_node_min_count, Some(5));
    // Capped at the maximum.
    let opts10 = PlacementOptions {
        scale_value: 10,
        ..Default::default()
    };
    let p = place(&i, &[], &[candidate("c", 1, 95)], &opts10).unwrap();
    assert_eq!(p.scale_to_node_min_count, Some(6));

    // Fixed size, not stable, or no scale value: rejected.
    let mut fixed = candidate("fixed", 1, 95);
    if let Some(k) = fixed.cluster.provisioner_metadata_kops.as_mut() {
        k.node_max_count = 3;
    }
    let mut busy = candidate("busy", 2, 95);
    busy.cluster.state = ClusterState::UpgradeRequested;
    let r = rank(&i, &[], &[fixed, busy], &opts).unwrap();
    assert!(r.accepted.is_empty());
    assert!(reason_for(&r, "fixed").contains("node count is fixed"));
    assert!(reason_for(&r, "busy").contains("cannot scale up while upgrade-requested"));
    let err = place(
        &i,
        &[],
        &[candidate("c", 1, 95)],
        &PlacementOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no compatible cluster: c: CPU would reach")
    );
}

#[test]
fn balanced_puts_the_least_used_first() {
    let clusters = [
        candidate("old-busy", 1, 60),
        candidate("mid", 2, 30),
        candidate("young-idle", 3, 5),
        candidate("young-mid", 4, 30),
    ];
    let i = installation(Affinity::Multitenant);
    let r = rank(&i, &[], &clusters, &PlacementOptions::default()).unwrap();
    // Fully sorted; the tie keeps creation order.
    assert_eq!(ids(&r), ["young-idle", "mid", "young-mid", "old-busy"]);

    let unbalanced = PlacementOptions {
        balanced: false,
        ..Default::default()
    };
    let r = rank(&i, &[], &clusters, &unbalanced).unwrap();
    assert_eq!(ids(&r), ["old-busy", "mid", "young-idle", "young-mid"]);
}

#[test]
fn prefer_stable_moves_stable_clusters_ahead() {
    let mut upgrading = candidate("upgrading", 1, 5);
    upgrading.cluster.state = ClusterState::UpgradeRequested;
    let clusters = [upgrading, candidate("stable-busy", 2, 50)];
    let i = installation(Affinity::Multitenant);
    let r = rank(&i, &[], &clusters, &PlacementOptions::default()).unwrap();
    assert_eq!(ids(&r), ["upgrading", "stable-busy"]);
    let prefer = PlacementOptions {
        prefer_stable: true,
        ..Default::default()
    };
    let r = rank(&i, &[], &clusters, &prefer).unwrap();
    assert_eq!(ids(&r), ["stable-busy", "upgrading"]);
}

#[test]
fn invalid_size_and_no_clusters_are_errors() {
    let mut i = installation(Affinity::Multitenant);
    let err = place(&i, &[], &[], &PlacementOptions::default()).unwrap_err();
    assert_eq!(
        err,
        PlacementError::NoCompatibleCluster(Vec::new()),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "no compatible cluster: there are no clusters"
    );
    i.size = "hugeusers".into();
    let err = place(
        &i,
        &[],
        &[candidate("c", 1, 0)],
        &PlacementOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, PlacementError::InvalidSize(_)), "{err}");
}

#[test]
fn evaluate_rechecks_one_cluster() {
    let i = installation(Affinity::Isolated);
    let req = requirements(&i).unwrap();
    let mut c = candidate("c", 1, 10);
    let opts = PlacementOptions::default();
    assert!(evaluate(&i, &req, &[], &c, &opts).is_ok());
    // Someone else placed an installation there meanwhile.
    c.installation_affinities.push(Affinity::Multitenant);
    assert!(evaluate(&i, &req, &[], &c, &opts).is_err());
}
