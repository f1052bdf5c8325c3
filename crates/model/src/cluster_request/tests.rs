//! Tests of `cluster_request`.

use super::*;
use crate::cluster::NETWORKING_CALICO;
use serde_json::json;

fn eks_request() -> CreateClusterRequest {
    let mut r = CreateClusterRequest {
        provisioner: "eks".into(),
        cluster_role_arn: "arn:aws:iam::1:role/c".into(),
        node_role_arn: "arn:aws:iam::1:role/n".into(),
        ami: "ami-1".into(),
        ..Default::default()
    };
    r.set_defaults();
    r
}

type Mutation = Box<dyn Fn(&mut CreateClusterRequest)>;

fn defaulted() -> CreateClusterRequest {
    let mut r = CreateClusterRequest::default();
    r.set_defaults();
    r
}

#[test]
fn version_regex_is_the_original() {
    for ok in ["latest", "1.23", "1.28.4", "123.456.789", "1x23"] {
        assert!(valid_cluster_version(ok), "{ok}");
    }
    for bad in ["", "v1.23", "1", "1.2.3.4", "latest1", "a.b", "1.2.3-rc1"] {
        assert!(!valid_cluster_version(bad), "{bad}");
    }
    assert!(valid_kms_key_id(
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ));
    assert!(!valid_kms_key_id("arn:aws:kms:us-east-1:123:key/XYZ"));
}

#[test]
fn create_defaults_for_kops() {
    let r = defaulted();
    assert_eq!(
        (r.provider.as_str(), r.provisioner.as_str()),
        ("aws", "kops")
    );
    assert_eq!(
        (r.version.as_str(), r.zones.clone()),
        ("latest", vec!["us-east-1a".to_string()])
    );
    assert_eq!(
        (r.master_instance_type.as_str(), r.master_count),
        ("t3.medium", 1)
    );
    assert_eq!(
        (
            r.node_instance_type.as_str(),
            r.node_min_count,
            r.node_max_count
        ),
        ("m5.large", 2, 2)
    );
    assert_eq!(
        (r.max_pods_per_node, r.networking.as_str()),
        (200, NETWORKING_CALICO)
    );
    assert_eq!(r.utility_versions.len(), 13);
    assert_eq!(
        r.utility_versions["velero"].as_ref().unwrap().chart,
        "5.1.5"
    );
    assert!(
        r.utility_versions["velero"]
            .as_ref()
            .unwrap()
            .values_path
            .contains("velero_values.yaml")
    );
    assert_eq!(r.pgbouncer_config, Some(PgBouncerConfig::default()));
    assert_eq!(r.validate().unwrap(), Provisioner::Kops);
}

#[test]
fn create_defaults_for_eks_and_partial_utilities() {
    let mut r = CreateClusterRequest {
        provisioner: "eks".into(),
        node_min_count: 3,
        utility_versions: BTreeMap::from([
            ("nginx".into(), Some(HelmUtilityVersion::new("4.12.0", ""))),
            ("thanos".into(), None),
        ]),
        additional_node_groups: BTreeMap::from([("spot".into(), NodeGroupMetadata::default())]),
        pgbouncer_config: Some(PgBouncerConfig {
            min_pool_size: 4,
            ..PgBouncerConfig::zero()
        }),
        ..Default::default()
    };
    r.set_defaults();
    assert_eq!(r.version, "1.23");
    assert_eq!(r.zones, ["us-east-1a", "us-east-1b"]);
    assert_eq!(r.node_max_count, 3);
    let nginx = r.utility_versions["nginx"].as_ref().unwrap();
    assert_eq!(nginx.chart, "4.12.0");
    assert!(
        nginx
            .values_path
            .ends_with("dev%2Fnginx_values.yaml?ref=master")
    );
    assert_eq!(
        r.utility_versions["thanos"].as_ref().unwrap().chart,
        "13.2.2"
    );
    let spot = &r.additional_node_groups["spot"];
    assert_eq!(
        (spot.instance_type.as_str(), spot.min_count, spot.max_count),
        ("m5.large", 2, 2)
    );
    let pgb = r.pgbouncer_config.unwrap();
    assert_eq!((pgb.min_pool_size, pgb.default_pool_size), (4, 5));
}

#[test]
fn create_validation_names_the_key() {
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|r| r.provider = "gcp".into()), "provider"),
        (
            Box::new(|r| r.provisioner = "external".into()),
            "provisioner",
        ),
        (Box::new(|r| r.version = "1".into()), "version"),
        (Box::new(|r| r.master_count = -1), "master-count"),
        (Box::new(|r| r.node_min_count = -1), "node-min-count"),
        (Box::new(|r| r.node_max_count = 5), "node-max-count"),
        (Box::new(|r| r.max_pods_per_node = 9), "max-pods-per-node"),
        (
            Box::new(|r| {
                r.argocd_register.insert("force".into(), "true".into());
            }),
            "argocd-register",
        ),
        (
            Box::new(|r| r.networking = "amazon-vpc-cni".into()),
            "networking",
        ),
        (
            Box::new(|r| {
                r.utility_versions.insert("stackrox".into(), None);
            }),
            "utility-versions",
        ),
        (
            Box::new(|r| r.annotations = vec!["Bad Name".into()]),
            "annotations",
        ),
        (
            Box::new(|r| {
                r.pgbouncer_config = Some(PgBouncerConfig {
                    server_reset_query_always: 3,
                    ..Default::default()
                })
            }),
            "pgbouncer-config.ServerResetQueryAlways",
        ),
    ];
    for (mutate, field) in cases {
        let mut r = defaulted();
        mutate(&mut r);
        assert_eq!(r.validate().unwrap_err().field, field);
    }
}

#[test]
fn eks_validation() {
    assert_eq!(eks_request().validate().unwrap(), Provisioner::Eks);
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|r| r.cluster_role_arn.clear()), "cluster-role-arn"),
        (Box::new(|r| r.node_role_arn.clear()), "node-role-arn"),
        (Box::new(|r| r.ami.clear()), "ami"),
        (Box::new(|r| r.zones = vec!["us-east-1a".into()]), "zones"),
        (
            Box::new(|r| {
                r.additional_node_groups.insert(
                    "worker".into(),
                    NodeGroupMetadata {
                        min_count: 1,
                        max_count: 1,
                        ..Default::default()
                    },
                );
            }),
            "additional-node-groups",
        ),
        (
            Box::new(|r| {
                r.additional_node_groups.insert(
                    "spot".into(),
                    NodeGroupMetadata {
                        min_count: 1,
                        max_count: 2,
                        ..Default::default()
                    },
                );
            }),
            "additional-node-groups",
        ),
        (
            Box::new(|r| r.nodegroup_with_sg = vec!["gpu".into()]),
            "nodegroup-with-sg",
        ),
        (
            Box::new(|r| r.nodegroup_with_public_subnet = vec!["gpu".into()]),
            "nodegroup-with-public-subnet",
        ),
    ];
    for (mutate, field) in cases {
        let mut r = eks_request();
        mutate(&mut r);
        assert_eq!(r.validate().unwrap_err().field, field);
    }
    let mut ok = eks_request();
    ok.nodegroup_with_public_subnet = vec!["worker".into()];
    assert!(ok.validate().is_ok());
}

#[test]
fn create_request_json_uses_kebab_keys() {
    let doc = json!({
        "provider": "aws", "zones": ["us-east-1a"], "version": "1.28.4", "ami": "ami-1",
        "master-instance-type": "t3.large", "master-count": 3, "node-instance-type": "m5.large",
        "node-min-count": 4, "node-max-count": 4, "allow-installations": true,
        "api-security-lock": true,
        "utility-versions": {"nginx": {"Chart": "4.11.1", "ValuesPath": "n.yaml"}, "thanos": "13.2.2"},
        "annotations": ["multi-tenant"], "networking": "calico", "vpc": "vpc-1",
        "max-pods-per-node": 110, "cluster-role-arn": "c", "node-role-arn": "n", "provisioner": "kops",
        "additional-node-groups": {"spot": {"Name": "", "InstanceType": "m5.xlarge", "MinCount": 1, "MaxCount": 1}},
        "nodegroup-with-public-subnet": ["spot"], "nodegroup-with-sg": ["worker"],
        "kms-key-id": "k", "argocd-register": {"cluster-type": "customer"},
        "external-cluster-secret-name": "s",
        "pgbouncer-config": {"MinPoolSize": 1, "DefaultPoolSize": 5, "ReservePoolSize": 10,
            "MaxClientConnections": 20, "MaxDatabaseConnectionsPerPool": 30,
            "ServerIdleTimeout": 300, "ServerLifetime": 0, "ServerResetQueryAlways": 0}
    });
    let r: CreateClusterRequest = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(
        r.utility_versions["thanos"].as_ref().unwrap().chart,
        "13.2.2"
    );
    assert_eq!(r.additional_node_groups["spot"].instance_type, "m5.xlarge");
    let mut expected = doc;
    expected["utility-versions"]["thanos"] = json!({"Chart": "13.2.2", "ValuesPath": ""});
    assert_eq!(serde_json::to_value(&r).unwrap(), expected);
    assert_eq!(
        serde_json::to_value(CreateClusterRequest::default()).unwrap(),
        json!({})
    );
    let old: CreateClusterRequest =
        serde_json::from_value(json!({"kops-ami": "ami-old", "zones": null})).unwrap();
    assert_eq!(old.ami, "ami-old");
    assert!(
        serde_json::from_value::<CreateClusterRequest>(json!({"master-count": "three"})).is_err()
    );
}

#[test]
fn build_kops_cluster() {
    let mut r = defaulted();
    r.allow_installations = true;
    r.argocd_register = BTreeMap::from([("cluster-type".into(), "customer".into())]);
    let c = r.build_cluster().unwrap();
    assert_eq!(c.state, ClusterState::CreationRequested);
    assert_eq!(
        (c.provider, c.provisioner),
        (Provider::Aws, Provisioner::Kops)
    );
    assert_eq!(
        c.provider_metadata_aws.as_ref().unwrap().zones,
        ["us-east-1a"]
    );
    assert_eq!(
        c.provisioner_metadata_kops
            .as_ref()
            .unwrap()
            .change_request
            .as_ref()
            .unwrap()
            .version,
        "latest"
    );
    let um = c.utility_metadata.as_ref().unwrap();
    assert_eq!(um.desired_versions.0.len(), 13);
    assert!(um.managed_by_argocd);
    assert!(c.allow_installations && !c.api_security_lock);
    assert_eq!(c.pg_bouncer_config, Some(PgBouncerConfig::default()));
    assert!(crate::is_valid_id(&c.id) && c.id.starts_with(|ch: char| ch.is_ascii_lowercase()));
}

#[test]
fn build_eks_cluster() {
    let c = eks_request().build_cluster().unwrap();
    assert!(c.provisioner_metadata_kops.is_none());
    let eks = c.provisioner_metadata_eks.unwrap();
    assert!(
        eks.change_request.unwrap().node_groups["worker"]
            .name
            .starts_with("worker-")
    );
}

#[test]
fn import_request() {
    let r: ImportClusterRequest = serde_json::from_value(json!({
        "external-cluster-secret-name": "kc", "vpc-id": "vpc-1", "annotations": ["abc"],
        "allow-installations": true
    }))
    .unwrap();
    let c = r.build_cluster().unwrap();
    assert_eq!(
        (c.provider, c.provisioner),
        (Provider::External, Provisioner::External)
    );
    assert!(c.has_aws_infrastructure());
    assert_eq!(
        c.provisioner_metadata_external
            .as_ref()
            .unwrap()
            .secret_name,
        "kc"
    );
    assert_eq!(c.vpc_id(), "vpc-1");
    assert!(c.pg_bouncer_config.is_some());
    let no_vpc = ImportClusterRequest {
        external_cluster_secret_name: "kc".into(),
        ..Default::default()
    };
    let c = no_vpc.build_cluster().unwrap();
    assert!(!c.has_aws_infrastructure() && c.pg_bouncer_config.is_none());
    assert_eq!(
        ImportClusterRequest::default()
            .validate()
            .unwrap_err()
            .field,
        "external-cluster-secret-name"
    );
}

#[test]
fn update_request() {
    let mut c = defaulted().build_cluster().unwrap();
    let r: UpdateClusterRequest =
        serde_json::from_value(json!({"Name": "main", "AllowInstallations": null})).unwrap();
    assert!(r.apply(&mut c));
    assert_eq!(c.name, "main");
    assert!(!r.apply(&mut c));
    assert_eq!(serde_json::to_value(&r).unwrap(), json!({"Name": "main"}));
}

#[test]
fn provision_request() {
    let mut c = defaulted().build_cluster().unwrap();
    let um = c.utility_metadata_mut();
    for u in Utility::ALL {
        let desired = um.desired_versions.get(u).cloned().unwrap();
        um.set_actual_version(u, desired);
    }
    let r: ProvisionClusterRequest = serde_json::from_value(json!({
        "force": true,
        "utility-versions": {"nginx": {"Chart": "4.12.0", "ValuesPath": "n.yaml"}, "thanos": {"Chart": "", "ValuesPath": ""}},
        "argocd-register": {"cluster-type": "internal"},
        "pgbouncer-config": {"DefaultPoolSize": 8}
    }))
    .unwrap();
    r.apply(&mut c).unwrap();
    let um = c.utility_metadata.as_ref().unwrap();
    assert_eq!(
        um.desired_versions.get(Utility::Nginx).unwrap().chart,
        "4.12.0"
    );
    assert_eq!(
        um.desired_versions.get(Utility::Thanos).unwrap().chart,
        "13.2.2"
    );
    assert_eq!(um.argocd_cluster_register.cluster_type, "internal");
    assert_eq!(c.pg_bouncer_config.unwrap().default_pool_size, 8);
    let bad: ProvisionClusterRequest =
        serde_json::from_value(json!({"pgbouncer-config": {"DefaultPoolSize": 0}})).unwrap();
    assert_eq!(
        bad.validate().unwrap_err().field,
        "pgbouncer-config.DefaultPoolSize"
    );
    let unknown: ProvisionClusterRequest =
        serde_json::from_value(json!({"utility-versions": {"kubecost": "1"}})).unwrap();
    assert_eq!(unknown.validate().unwrap_err().field, "utility-versions");
}

#[test]
fn upgrade_request() {
    let r: PatchUpgradeClusterRequest = serde_json::from_value(json!({
        "version": "1.29.1", "kops-ami": "ami-2", "MaxPodsPerNode": 110,
        "kmsKeyId": "arn:aws:kms:us-east-1:1:key/abc-123",
        "rotatorConfig": {"use-rotator": false}
    }))
    .unwrap();
    assert!(r.validate().is_ok());
    assert_eq!(r.ami.as_deref(), Some("ami-2"));
    let mut c = defaulted().build_cluster().unwrap();
    assert!(r.apply(&mut c).unwrap());
    let kops = c.provisioner_metadata_kops.as_ref().unwrap();
    assert_eq!(
        kops.change_request.as_ref().unwrap().kms_key_id,
        "arn:aws:kms:us-east-1:1:key/abc-123"
    );
    assert_eq!(
        kops.rotator_request
            .as_ref()
            .unwrap()
            .config
            .as_ref()
            .unwrap()
            .use_rotator,
        Some(false)
    );
    for (doc, field) in [
        (json!({"version": "v2"}), "version"),
        (json!({"MaxPodsPerNode": 5}), "MaxPodsPerNode"),
        (json!({"kmsKeyId": "key"}), "kmsKeyId"),
        (
            json!({"rotatorConfig": {"use-rotator": true}}),
            "rotatorConfig.max-scaling",
        ),
        (json!({"rotatorConfig": {}}), "rotatorConfig.use-rotator"),
    ] {
        let r: PatchUpgradeClusterRequest = serde_json::from_value(doc).unwrap();
        assert_eq!(r.validate().unwrap_err().field, field);
    }
    let mut ext = ImportClusterRequest {
        external_cluster_secret_name: "s".into(),
        ..Default::default()
    }
    .build_cluster()
    .unwrap();
    assert_eq!(r.apply(&mut ext).unwrap_err().field, "provisioner");
}

#[test]
fn size_request() {
    let ok: PatchClusterSizeRequest = serde_json::from_value(json!({
        "node-instance-type": "m5.xlarge", "node-min-count": 2, "node-max-count": 3,
        "nodeGroups": ["worker"], "master-instance-type": "t3.large"
    }))
    .unwrap();
    assert!(ok.validate().is_ok());
    for (doc, field) in [
        (json!({"node-instance-type": ""}), "node-instance-type"),
        (json!({"master-instance-type": " "}), "master-instance-type"),
        (json!({"node-min-count": 0}), "node-min-count"),
        (
            json!({"node-min-count": 3, "node-max-count": 2}),
            "node-max-count",
        ),
        (
            json!({"rotatorConfig": {"use-rotator": true, "max-scaling": 1}}),
            "rotatorConfig.max-drain-retries",
        ),
    ] {
        let r: PatchClusterSizeRequest = serde_json::from_value(doc).unwrap();
        assert_eq!(r.validate().unwrap_err().field, field);
    }
    let mut c = defaulted().build_cluster().unwrap();
    let resize = PatchClusterSizeRequest {
        node_min_count: Some(4),
        node_max_count: Some(4),
        ..Default::default()
    };
    assert!(resize.apply(&mut c).unwrap());
    assert_eq!(
        c.provisioner_metadata_kops
            .unwrap()
            .change_request
            .unwrap()
            .node_min_count,
        4
    );
}

#[test]
fn nodegroups_request() {
    let mut r: CreateNodegroupsRequest = serde_json::from_value(json!({
        "nodegroups": {"spot": {"InstanceType": "m5.xlarge"}, "gpu": {"MinCount": 3}},
        "nodegroup-with-sg": ["gpu"]
    }))
    .unwrap();
    r.set_defaults();
    assert!(r.validate().is_ok());
    assert_eq!(
        (
            r.nodegroups["gpu"].instance_type.as_str(),
            r.nodegroups["gpu"].max_count
        ),
        ("m5.large", 3)
    );
    assert_eq!(r.nodegroups["spot"].min_count, 2);
    assert_eq!(
        CreateNodegroupsRequest::default()
            .validate()
            .unwrap_err()
            .field,
        "nodegroups"
    );
    r.nodegroup_with_public_subnet = vec!["cpu".into()];
    assert_eq!(
        r.validate().unwrap_err().field,
        "nodegroup-with-public-subnet"
    );
    r.nodegroup_with_public_subnet.clear();
    r.nodegroups.get_mut("gpu").unwrap().max_count = 1;
    assert_eq!(r.validate().unwrap_err().field, "nodegroups");
}
