//! Tests of `cluster`.

use super::*;
use crate::utility::Utility;
use serde_json::json;

fn full_document() -> serde_json::Value {
    json!({
        "ID": "a1b2c3d4e5f6g7h8i9j1k3m4n5",
        "Name": "main",
        "State": "stable",
        "Provider": "aws",
        "ProviderMetadataAWS": {"Zones": ["us-east-1a"]},
        "Provisioner": "kops",
        "ProvisionerMetadataKops": {
            "Name": "a1b2c3d4e5f6g7h8i9j1k3m4n5-kops.k8s.local", "Version": "1.28.4",
            "AMI": "ami-1", "MasterInstanceType": "t3.medium", "MasterCount": 1,
            "NodeInstanceType": "m5.large", "NodeMinCount": 2, "NodeMaxCount": 2,
            "MaxPodsPerNode": 200, "VPC": "vpc-1", "Networking": "calico", "KmsKeyId": "",
            "MasterInstanceGroups": {}, "NodeInstanceGroups": {}
        },
        "Networking": "calico",
        "UtilityMetadata": {
            "DesiredVersions": {"PrometheusOperator": null, "Thanos": null, "Nginx": null,
                "NginxInternal": null, "Fluentbit": null, "Teleport": null, "Pgbouncer": null,
                "Promtail": null, "Rtcd": null, "NodeProblemDetector": null,
                "MetricsServer": null, "Velero": null, "Cloudprober": null},
            "ActualVersions": {"PrometheusOperator": null, "Thanos": null,
                "Nginx": {"Chart": "ingress-nginx-4.11.1", "ValuesPath": "n.yaml"},
                "NginxInternal": null, "Fluentbit": null, "Teleport": null, "Pgbouncer": null,
                "Promtail": null, "Rtcd": null, "NodeProblemDetector": null,
                "MetricsServer": null, "Velero": null, "Cloudprober": null},
            "ManagedByArgocd": false,
            "ArgocdClusterRegister": {"ClusterType": "", "Registered": false}
        },
        "PgBouncerConfig": {"MinPoolSize": 1, "DefaultPoolSize": 5, "ReservePoolSize": 10,
            "MaxClientConnections": 25000, "MaxDatabaseConnectionsPerPool": 50,
            "ServerIdleTimeout": 30, "ServerLifetime": 300, "ServerResetQueryAlways": 0},
        "AllowInstallations": true,
        "CreateAt": 1589188584607_i64,
        "DeleteAt": 0,
        "APISecurityLock": false,
        "SchedulingLockAcquiredBy": null,
        "SchedulingLockAcquiredAt": 0,
        "LockAcquiredBy": "4z4f3xf6sfgnbrxfze94zrbb5y",
        "LockAcquiredAt": 1589211779835_i64
    })
}

#[test]
fn cluster_round_trips_in_the_original_shape() {
    let doc = full_document();
    let cluster: Cluster = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(cluster.state, ClusterState::Stable);
    assert_eq!(cluster.pg_bouncer_config, Some(PgBouncerConfig::default()));
    assert_eq!(cluster.vpc_id(), "vpc-1");
    assert_eq!(serde_json::to_value(&cluster).unwrap(), doc);
}

#[test]
fn dto_flattens_the_cluster_and_omits_empty_annotations() {
    let cluster: Cluster = serde_json::from_value(full_document()).unwrap();
    let bare = serde_json::to_value(cluster.clone().into_dto(vec![])).unwrap();
    assert_eq!(bare, full_document());
    let dto = cluster.into_dto(vec![Annotation {
        id: "x".repeat(26),
        name: "multi-tenant".into(),
    }]);
    let mut doc = full_document();
    doc["Annotations"] = json!([{"ID": "x".repeat(26), "Name": "multi-tenant"}]);
    assert_eq!(serde_json::to_value(&dto).unwrap(), doc);
    let back: ClusterDto = serde_json::from_value(doc).unwrap();
    assert_eq!(back, dto);
    let mut null_annotations = full_document();
    null_annotations["Annotations"] = json!(null);
    let back: ClusterDto = serde_json::from_value(null_annotations).unwrap();
    assert!(back.annotations.is_empty());
}

#[test]
fn eks_and_external_round_trip() {
    let eks = json!({
        "ID": "c1", "Name": "", "State": "creation-requested", "Provider": "aws",
        "ProviderMetadataAWS": {"Zones": ["us-east-1a", "us-east-1b"]},
        "Provisioner": "eks",
        "ProvisionerMetadataEKS": {"Name": "", "Version": "", "AMI": "", "VPC": "", "Networking": "",
            "ClusterRoleARN": "", "NodeRoleARN": "", "MaxPodsPerNode": 0, "NodeGroups": {},
            "ChangeRequest": {"Version": "1.23", "NodeGroups": {"worker": {"Name": "worker-abcdef", "Type": "worker"}}}},
        "Networking": "", "UtilityMetadata": null, "PgBouncerConfig": null,
        "AllowInstallations": false, "CreateAt": 1, "DeleteAt": 0, "APISecurityLock": true,
        "SchedulingLockAcquiredBy": null, "SchedulingLockAcquiredAt": 0,
        "LockAcquiredBy": null, "LockAcquiredAt": 0
    });
    let c: Cluster = serde_json::from_value(eks.clone()).unwrap();
    assert_eq!(c.provisioner, Provisioner::Eks);
    assert_eq!(serde_json::to_value(&c).unwrap(), eks);

    let ext = json!({
        "ID": "c2", "Name": "imported", "State": "stable", "Provider": "external",
        "ProviderMetadataExternal": {"HasAWSInfrastructure": true},
        "Provisioner": "external",
        "ProvisionerMetadataExternal": {"Name": "c2-external-k8s", "SecretName": "kubeconfig",
            "Version": "1.29", "VPC": "vpc-2"},
        "Networking": "", "UtilityMetadata": null, "PgBouncerConfig": null,
        "AllowInstallations": true, "CreateAt": 1, "DeleteAt": 0, "APISecurityLock": false,
        "SchedulingLockAcquiredBy": null, "SchedulingLockAcquiredAt": 0,
        "LockAcquiredBy": null, "LockAcquiredAt": 0
    });
    let c: Cluster = serde_json::from_value(ext.clone()).unwrap();
    assert!(c.is_externally_managed() && c.has_aws_infrastructure());
    assert_eq!(c.vpc_id(), "vpc-2");
    assert_eq!(c.common_metadata().version, "1.29");
    assert_eq!(serde_json::to_value(&c).unwrap(), ext);
}

#[test]
fn the_seed_readme_document_parses() {
    let text = std::fs::read_to_string("/work/shared/seed/mattermost-cloud-README.md");
    // The README sample, verbatim; also read from the seed when present.
    let sample = r#"[
{
"ID": "tetw1yt3yinjdbhctsstcrybch",
"Provider": "aws",
"Provisioner": "kops",
"ProviderMetadata": "eyJab25lcyI6WyJ1cy1lYXN0LTFjIl19",
"ProvisionerMetadata": "eyJOYW1lIjoidGV0dzF5dDN5aW5qZGJoY3Rzc3RjcnliY2gta29wcy5rOHMubG9jYWwiLCJWZXJzaW9uIjoibGF0ZXN0IiwiQU1JIjoiIn0=",
"AllowInstallations": true,
"Version": "1.16.9",
"Size": "SizeAlef500",
"State": "creation-requested",
"CreateAt": 1589188584607,
"DeleteAt": 0,
"LockAcquiredBy": "4z4f3xf6sfgnbrxfze94zrbb5y",
"LockAcquiredAt": 1589211779835,
"UtilityMetadata": "eyJkZXNpcmVkVmVyc2lvbnMiOnsiUHJvbWV0aGV1cyI6IjEwLjQuMCIsIk5naW54IjoiMS4zMC4wIiwiRmx1ZW50Yml0IjoiMi44LjciLCJDZXJ0TWFuYWdlciI6InYwLjEzLjEiLCJQdWJsaWNOZ2lueCI6IjEuMzAuMCJ9LCJhY3R1YWxWZXJzaW9ucyI6eyJQcm9tZXRoZXVzIjoiMTAuNC4wIiwiTmdpbngiOiIxLjMwLjAiLCJGbHVlbnRiaXQiOiIyLjguNyIsIkNlcnRNYW5hZ2VyIjoidjAuMTMuMSIsIlB1YmxpY05naW54IjoiMS4zMC4wIn19"
}
]"#;
    let mut documents = vec![sample.to_string()];
    if let Ok(text) = text {
        let start = text.find("[\n{\n\"ID\"").expect("README sample start");
        let end = start + text[start..].find("\n]").expect("README sample end") + 2;
        documents.push(text[start..end].to_string());
    }
    for doc in documents {
        let clusters: Vec<ClusterDto> = serde_json::from_str(&doc).unwrap();
        let c = &clusters[0].cluster;
        assert_eq!(c.id, "tetw1yt3yinjdbhctsstcrybch");
        assert_eq!(c.state, ClusterState::CreationRequested);
        assert_eq!(
            c.provider_metadata_aws.as_ref().unwrap().zones,
            ["us-east-1c"]
        );
        let kops = c.provisioner_metadata_kops.as_ref().unwrap();
        assert_eq!(kops.name, "tetw1yt3yinjdbhctsstcrybch-kops.k8s.local");
        assert_eq!(kops.version, "latest");
        let utilities = c.utility_metadata.as_ref().unwrap();
        assert_eq!(
            utilities
                .desired_versions
                .get(Utility::Nginx)
                .unwrap()
                .chart,
            "1.30.0"
        );
        assert_eq!(
            utilities
                .actual_versions
                .get(Utility::Fluentbit)
                .unwrap()
                .chart,
            "2.8.7"
        );
        assert_eq!(
            c.lock_acquired_by.as_deref(),
            Some("4z4f3xf6sfgnbrxfze94zrbb5y")
        );
        // Written back in the current shape only.
        let out = serde_json::to_value(c).unwrap();
        assert!(out.get("ProviderMetadata").is_none() && out.get("Size").is_none());
        assert_eq!(out["ProviderMetadataAWS"]["Zones"][0], "us-east-1c");
        assert!(out["UtilityMetadata"]["DesiredVersions"].is_object());
    }
}

#[test]
fn bad_documents_are_rejected() {
    let mut doc = full_document();
    doc["State"] = json!("sleeping");
    assert!(serde_json::from_value::<Cluster>(doc).is_err());
    let mut doc = full_document();
    doc.as_object_mut().unwrap().remove("State");
    assert!(serde_json::from_value::<Cluster>(doc).is_err());
    let mut doc = full_document();
    doc["Provider"] = json!("gcp");
    assert!(serde_json::from_value::<Cluster>(doc).is_err());
    let mut doc = full_document();
    doc["ProvisionerMetadataKops"] = json!(null);
    doc["ProvisionerMetadata"] = json!("!!not base64!!");
    assert!(serde_json::from_value::<Cluster>(doc).is_err());
}

#[test]
fn empty_provisioner_is_kops() {
    let mut doc = full_document();
    doc["Provisioner"] = json!("");
    let c: Cluster = serde_json::from_value(doc).unwrap();
    assert_eq!(c.provisioner, Provisioner::Kops);
    assert!("gke".parse::<Provisioner>().is_err());
    assert_eq!("external".parse::<Provider>().unwrap(), Provider::External);
}

#[test]
fn helpers() {
    let mut c: Cluster = serde_json::from_value(full_document()).unwrap();
    assert!(c.can_schedule_installations());
    assert!(c.has_aws_infrastructure());
    assert_eq!(c.metadata_networking(), Some("calico"));
    assert_eq!(c.common_metadata().node_min_count, 2);
    c.state = ClusterState::CreationInProgress;
    assert!(!c.can_schedule_installations());
    c.state = ClusterState::Stable;
    c.allow_installations = false;
    assert!(!c.can_schedule_installations());
    c.provider = Provider::External;
    c.provider_metadata_external = None;
    assert!(!c.has_aws_infrastructure());
    assert!(!c.is_deleted());
    assert_eq!(kops_cluster_name("abc"), "abc-kops.k8s.local");
    assert_eq!(eks_cluster_name("abc"), "abc-eks-k8s-local");
    assert_eq!(external_cluster_name("abc"), "abc-external-k8s");
    let new = Cluster::new(
        ClusterState::CreationRequested,
        Provider::Aws,
        Provisioner::Eks,
    );
    assert!(crate::is_valid_id(&new.id));
}

#[test]
fn pgbouncer_defaults_and_validation() {
    let mut config: PgBouncerConfig = serde_json::from_value(json!({"MinPoolSize": 3})).unwrap();
    assert_eq!(config.default_pool_size, 0);
    config.set_defaults();
    assert_eq!(
        (
            config.min_pool_size,
            config.default_pool_size,
            config.reserve_pool_size
        ),
        (3, 5, 10)
    );
    assert_eq!(
        (
            config.max_client_connections,
            config.max_database_connections_per_pool
        ),
        (25000, 50)
    );
    assert_eq!(
        (
            config.server_idle_timeout,
            config.server_lifetime,
            config.server_reset_query_always
        ),
        (30, 300, 0)
    );
    assert!(config.validate("pgbouncer-config").is_ok());
    config.server_reset_query_always = 2;
    assert_eq!(
        config.validate("pgbouncer-config").unwrap_err().field,
        "pgbouncer-config.ServerResetQueryAlways"
    );
    config.server_reset_query_always = 1;
    config.max_database_connections_per_pool = -1;
    assert_eq!(
        config.validate("pgbouncer-config").unwrap_err().field,
        "pgbouncer-config.MaxDatabaseConnectionsPerPool"
    );
    config.max_database_connections_per_pool = 5;
    config.server_lifetime = -5;
    assert!(config.validate("pgbouncer-config").is_err());
}

#[test]
fn pgbouncer_patch() {
    let patch: PatchPgBouncerConfig =
        serde_json::from_value(json!({"DefaultPoolSize": 7, "ServerResetQueryAlways": 1})).unwrap();
    assert!(patch.validate("pgbouncer-config").is_ok());
    let mut config = PgBouncerConfig::default();
    assert!(patch.apply(&mut config));
    assert_eq!(
        (config.default_pool_size, config.server_reset_query_always),
        (7, 1)
    );
    assert!(!patch.apply(&mut config));
    assert_eq!(
        serde_json::to_value(patch).unwrap(),
        json!({"DefaultPoolSize": 7, "ServerResetQueryAlways": 1})
    );
    let bad = PatchPgBouncerConfig {
        default_pool_size: Some(0),
        ..Default::default()
    };
    assert_eq!(
        bad.validate("pgbouncer-config").unwrap_err().field,
        "pgbouncer-config.DefaultPoolSize"
    );
}
