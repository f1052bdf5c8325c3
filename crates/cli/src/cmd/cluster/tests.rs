//! Flag parsing and request building of `cloud cluster …`.

use super::*;
use crate::cli::{Command, try_parse_from};
use cloud_model::annotation::Annotation;
use cloud_model::cluster::{Cluster, ClusterState};
use cloud_model::utility::Utility;

fn cluster_cmd(args: &[&str]) -> ClusterCmd {
    let mut all = vec!["cloud", "cluster"];
    all.extend_from_slice(args);
    match try_parse_from(all)
        .unwrap_or_else(|e| panic!("{e}"))
        .command
    {
        Command::Cluster(g) => g.command,
        other => panic!("not a cluster command: {other:?}"),
    }
}

#[test]
fn create_defaults_follow_the_original() {
    let ClusterCmd::Create(args) = cluster_cmd(&["create"]) else {
        panic!()
    };
    let r = create_request(&args).unwrap();
    assert_eq!((r.provider.as_str(), r.version.as_str()), ("aws", "latest"));
    assert_eq!(r.zones, ["us-east-1a"]);
    assert!(r.allow_installations);
    assert_eq!(r.networking, "calico");
    // SizeAlef500.
    assert_eq!(
        (r.master_instance_type.as_str(), r.master_count),
        ("t3.small", 1)
    );
    assert_eq!(
        (
            r.node_instance_type.as_str(),
            r.node_min_count,
            r.node_max_count
        ),
        ("m5.large", 2, 2)
    );
    assert_eq!(r.utility_versions.len(), 13);
    assert!(
        r.utility_versions
            .values()
            .all(|v| v.as_ref().unwrap().is_blank())
    );
    let pgb = r.pgbouncer_config.unwrap();
    assert_eq!(
        (pgb.max_database_connections_per_pool, pgb.server_lifetime),
        (50, 300)
    );
    assert!(r.provisioner.is_empty());
}

#[test]
fn create_flags_override_the_size() {
    let ClusterCmd::Create(args) = cluster_cmd(&[
        "create",
        "--eks",
        "--zones",
        "us-east-1a,us-east-1b",
        "--size",
        "SizeAlef1000",
        "--size-node-count",
        "7",
        "--size-master-count",
        "3",
        "--allow-installations=false",
        "--annotation",
        "abc",
        "--annotation",
        "def",
        "--nginx-version",
        "4.12.0",
        "--nginx-values",
        "n.yaml",
        "--argocd-register",
        "cluster-type=customer,force=true",
        "--additional-nodegroups",
        "spot=SizeAlefDev",
        "--nodegroups-with-sg",
        "spot",
        "--pgbouncer-max-connections-per-pool",
        "20",
        "--version",
        "1.29",
    ]) else {
        panic!()
    };
    let r = create_request(&args).unwrap();
    assert_eq!(r.provisioner, "eks");
    assert_eq!(r.zones, ["us-east-1a", "us-east-1b"]);
    assert_eq!(
        (r.node_min_count, r.node_max_count, r.master_count),
        (7, 7, 3)
    );
    assert_eq!(r.master_instance_type, "t3.large");
    assert!(!r.allow_installations);
    assert_eq!(r.annotations, ["abc", "def"]);
    assert_eq!(r.version, "1.29");
    let nginx = r.utility_versions["nginx"].as_ref().unwrap();
    assert_eq!(
        (nginx.chart.as_str(), nginx.values_path.as_str()),
        ("4.12.0", "n.yaml")
    );
    assert_eq!(r.argocd_register["cluster-type"], "customer");
    assert_eq!(r.additional_node_groups["spot"].instance_type, "t3.medium");
    assert_eq!(r.nodegroup_with_sg, ["spot"]);
    assert_eq!(
        r.pgbouncer_config
            .unwrap()
            .max_database_connections_per_pool,
        20
    );
}

#[test]
fn unknown_sizes_are_refused() {
    let ClusterCmd::Create(args) = cluster_cmd(&["create", "--size", "Huge"]) else {
        panic!()
    };
    assert!(create_request(&args).is_err());
}

#[test]
fn provision_sends_only_what_was_asked() {
    let ClusterCmd::Provision(args) = cluster_cmd(&["provision", "--cluster", "c1"]) else {
        panic!()
    };
    assert_eq!(provision_request(&args), None);
    let ClusterCmd::Provision(args) = cluster_cmd(&[
        "provision",
        "--cluster",
        "c1",
        "--reprovision-all-utilities",
        "--velero-version",
        "6.0.0",
        "--pgbouncer-default-pool-size",
        "8",
    ]) else {
        panic!()
    };
    let r = provision_request(&args).unwrap();
    assert!(r.force);
    assert_eq!(r.utility_versions.len(), 1);
    assert_eq!(
        r.utility_versions["velero"].as_ref().unwrap().chart,
        "6.0.0"
    );
    let patch = r.pgbouncer_config.unwrap();
    assert_eq!(patch.default_pool_size, Some(8));
    assert_eq!(patch.min_pool_size, None);
    assert!(Utility::ALL.len() == 13);
}

#[test]
fn update_sends_allow_installations_only_when_given() {
    let ClusterCmd::Update(args) = cluster_cmd(&["update", "--cluster", "c1", "--name", "x"])
    else {
        panic!()
    };
    assert_eq!(args.allow_installations, None);
    let ClusterCmd::Update(args) =
        cluster_cmd(&["update", "--cluster", "c1", "--allow-installations"])
    else {
        panic!()
    };
    assert_eq!(args.allow_installations, Some(true));
    let ClusterCmd::Update(args) =
        cluster_cmd(&["update", "--cluster", "c1", "--allow-installations=false"])
    else {
        panic!()
    };
    assert_eq!(args.allow_installations, Some(false));
}

#[test]
fn upgrade_and_resize_always_send_the_rotator_config() {
    let ClusterCmd::Upgrade(args) =
        cluster_cmd(&["upgrade", "--cluster", "c1", "--version", "1.29.1"])
    else {
        panic!()
    };
    let rotator = args.rotator.config();
    assert_eq!(rotator.use_rotator, Some(true));
    assert_eq!(rotator.evict_grace_period, Some(3600));
    assert_eq!(rotator.wait_between_pod_evictions, Some(5));
    assert_eq!(args.version.as_deref(), Some("1.29.1"));
    assert_eq!(args.ami, None);

    let ClusterCmd::Resize(args) = cluster_cmd(&[
        "resize",
        "--cluster",
        "c1",
        "--size",
        "SizeAlef1000",
        "--size-node-max-count",
        "6",
        "--nodegroups",
        "worker,spot",
        "--use-rotator=false",
    ]) else {
        panic!()
    };
    let r = resize_request(&args).unwrap();
    assert_eq!((r.node_min_count, r.node_max_count), (Some(4), Some(6)));
    assert_eq!(r.node_groups, ["worker", "spot"]);
    assert_eq!(r.rotator_config.unwrap().use_rotator, Some(false));
    assert_eq!(r.master_instance_type, None);
}

#[test]
fn required_flags_are_required() {
    for args in [
        vec!["cloud", "cluster", "get"],
        vec!["cloud", "cluster", "import"],
        vec!["cloud", "cluster", "nodegroup", "create", "--cluster", "c1"],
        vec!["cloud", "cluster", "annotation", "add", "--cluster", "c1"],
        vec![
            "cloud",
            "cluster",
            "annotation",
            "delete",
            "--cluster",
            "c1",
        ],
    ] {
        assert!(try_parse_from(&args).is_err(), "{args:?}");
    }
    assert!(matches!(
        cluster_cmd(&["state-report"]),
        ClusterCmd::StateReport
    ));
    assert!(matches!(
        cluster_cmd(&["dictionary"]),
        ClusterCmd::Dictionary
    ));
}

#[test]
fn table_rows_per_provisioner() {
    let mut request = cloud_model::cluster_request::CreateClusterRequest::default();
    request.set_defaults();
    let mut kops: Cluster = request.build_cluster().unwrap();
    kops.state = ClusterState::Stable;
    let meta = kops.provisioner_metadata_kops.as_mut().unwrap();
    (meta.version, meta.master_count, meta.master_instance_type) =
        ("1.28.4".into(), 3, "t3.large".into());
    (
        meta.node_min_count,
        meta.node_max_count,
        meta.node_instance_type,
    ) = (2, 4, "m5.large".into());
    kops.networking = "calico".into();
    kops.allow_installations = true;
    let dto = kops.into_dto(vec![Annotation {
        id: "a".repeat(26),
        name: "gpu".into(),
    }]);
    let row = table_row(&dto, true);
    assert_eq!(row.len(), TABLE_HEADERS.len() + 1);
    assert_eq!(
        &row[2..],
        [
            "stable",
            "1.28.4",
            "3 x t3.large",
            "2 x m5.large (max 4)",
            "",
            "calico",
            "",
            "online",
            "gpu"
        ]
    );

    let external = cloud_model::cluster_request::ImportClusterRequest {
        external_cluster_secret_name: "s".into(),
        vpc_id: "vpc-9".into(),
        ..Default::default()
    }
    .build_cluster()
    .unwrap();
    let row = table_row(&external.into_dto(vec![]), false);
    assert_eq!(row.len(), TABLE_HEADERS.len());
    assert_eq!(
        &row[4..],
        ["external", "external", "", "", "vpc-9", "offline"]
    );
}
