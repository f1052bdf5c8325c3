//! Tests of the installation request bodies, mirroring the original's
//! table tests where they exist.

use super::*;
use crate::env::EnvVar;
use serde_json::json;

const NOW: i64 = 1_700_000_000_000;

fn opts() -> InstallationRequestOptions {
    InstallationRequestOptions {
        deploy_mysql_operator: true,
        deploy_minio_operator: true,
        require_annotated_installations: false,
    }
}

fn base() -> CreateInstallationRequest {
    CreateInstallationRequest {
        owner_id: "owner1".into(),
        dns: "domain4321.com".into(),
        ..Default::default()
    }
}

fn check(
    mut req: CreateInstallationRequest,
    o: &InstallationRequestOptions,
) -> Result<CreateInstallationTypes, ValidationError> {
    req.set_defaults();
    req.validate(o, NOW)
}

#[test]
fn defaults_are_the_originals() {
    let mut req = base();
    req.set_defaults();
    assert_eq!(req.name, "domain4321");
    assert_eq!(req.dns_names, vec!["domain4321.com"]);
    assert_eq!(req.version, "stable");
    assert_eq!(req.image, "mattermost/mattermost-enterprise-edition");
    assert_eq!(req.size, "100users");
    assert_eq!(req.affinity, "isolated");
    assert_eq!(req.database, "mysql-operator");
    assert_eq!(req.filestore, "minio-operator");
    assert!(req.validate(&opts(), NOW).is_ok());
}

#[test]
fn dns_and_name_are_lower_cased() {
    let mut req = CreateInstallationRequest {
        owner_id: "owner1".into(),
        dns: "AWesoMeDomaiN4321.cOM".into(),
        dns_names: vec!["SOME-dnS123.COM".into()],
        name: "My-INSTALLATION".into(),
        ..Default::default()
    };
    req.set_defaults();
    assert_eq!(req.dns, "awesomedomain4321.com");
    assert_eq!(
        req.dns_names,
        vec!["awesomedomain4321.com", "some-dns123.com"]
    );
    assert_eq!(req.name, "my-installation");
}

#[test]
fn single_tenant_defaults_only_for_rds() {
    let mut req = CreateInstallationRequest {
        database: "aws-rds-postgres".into(),
        ..base()
    };
    req.set_defaults();
    assert_eq!(
        req.single_tenant_database_config.primary_instance_type,
        "db.t4g.medium"
    );
    assert_eq!(
        req.single_tenant_database_config.replica_instance_type,
        "db.t4g.medium"
    );
    let mut other = CreateInstallationRequest {
        database: "aws-multitenant-rds-postgres".into(),
        ..base()
    };
    other.set_defaults();
    assert_eq!(
        other.single_tenant_database_config.primary_instance_type,
        ""
    );
}

#[test]
fn invalid_create_requests_name_the_field() {
    let cases: Vec<(&str, CreateInstallationRequest)> = vec![
        (
            "OwnerID",
            CreateInstallationRequest {
                owner_id: String::new(),
                ..base()
            },
        ),
        (
            "Name",
            CreateInstallationRequest {
                dns: String::new(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "a.com".into(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "-domain4321.com".into(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "letseat🍕.com".into(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "joram&gabe.com".into(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "domain4321.com ".into(),
                ..base()
            },
        ),
        (
            "DNS",
            CreateInstallationRequest {
                dns: "asupersupersupersupersupersupersupersupersupersupersupersuperlongname.com"
                    .into(),
                ..base()
            },
        ),
        (
            "Size",
            CreateInstallationRequest {
                size: "jumbo".into(),
                ..base()
            },
        ),
        (
            "Size",
            CreateInstallationRequest {
                size: "provisionerXL-a".into(),
                ..base()
            },
        ),
        (
            "Affinity",
            CreateInstallationRequest {
                affinity: "solo".into(),
                ..base()
            },
        ),
        (
            "Database",
            CreateInstallationRequest {
                database: "none".into(),
                ..base()
            },
        ),
        (
            "Filestore",
            CreateInstallationRequest {
                filestore: "none".into(),
                ..base()
            },
        ),
        (
            "MattermostEnv",
            CreateInstallationRequest {
                mattermost_env: Some([("key1".to_string(), EnvVar::value(""))].into()),
                ..base()
            },
        ),
        (
            "PriorityEnv",
            CreateInstallationRequest {
                priority_env: Some([("key1".to_string(), EnvVar::value(""))].into()),
                ..base()
            },
        ),
        (
            "SingleTenantDatabaseConfig",
            CreateInstallationRequest {
                database: "aws-rds-postgres".into(),
                single_tenant_database_config: SingleTenantDatabaseRequest {
                    replicas_count: 33,
                    ..Default::default()
                },
                ..base()
            },
        ),
        (
            "ExternalDatabaseConfig",
            CreateInstallationRequest {
                database: "external".into(),
                ..base()
            },
        ),
        (
            "Version",
            CreateInstallationRequest {
                version: "1 2".into(),
                ..base()
            },
        ),
        (
            "Image",
            CreateInstallationRequest {
                image: "a b".into(),
                ..base()
            },
        ),
        (
            "License",
            CreateInstallationRequest {
                license: "x y".into(),
                ..base()
            },
        ),
        (
            "GroupID",
            CreateInstallationRequest {
                group_id: "g g".into(),
                ..base()
            },
        ),
        (
            "Annotations",
            CreateInstallationRequest {
                annotations: vec!["NO".into()],
                ..base()
            },
        ),
        (
            "GroupSelectionAnnotations",
            CreateInstallationRequest {
                group_selection_annotations: vec!["x".into()],
                ..base()
            },
        ),
        (
            "ScheduledDeletionTime",
            CreateInstallationRequest {
                scheduled_deletion_time: -1,
                ..base()
            },
        ),
        (
            "ScheduledDeletionTime",
            CreateInstallationRequest {
                scheduled_deletion_time: NOW + 60_000,
                ..base()
            },
        ),
        (
            "PodProbeOverrides.LivenessProbeOverride",
            CreateInstallationRequest {
                pod_probe_overrides: Some(PodProbeOverrides {
                    liveness_probe_override: Some(json!(5)),
                    readiness_probe_override: None,
                }),
                ..base()
            },
        ),
    ];
    for (field, req) in cases {
        let err = check(req.clone(), &opts()).expect_err(field);
        assert_eq!(err.field, field, "{req:?}: {err}");
    }
}

#[test]
fn valid_create_requests() {
    let cases = vec![
        CreateInstallationRequest {
            size: "5000users".into(),
            ..base()
        },
        CreateInstallationRequest {
            size: "provisionerXL-10".into(),
            ..base()
        },
        CreateInstallationRequest {
            database: "aws-multitenant-rds-postgres".into(),
            single_tenant_database_config: SingleTenantDatabaseRequest {
                replicas_count: 33,
                ..Default::default()
            },
            ..base()
        },
        CreateInstallationRequest {
            dns: String::new(),
            name: "my-installation".into(),
            dns_names: vec!["my-installation.example.com".into()],
            ..base()
        },
        CreateInstallationRequest {
            dns: String::new(),
            name: "my-installation".into(),
            dns_names: vec!["my-installation.example.com".into()],
            database: "external".into(),
            external_database_config: ExternalDatabaseRequest {
                secret_name: "test-secret".into(),
            },
            ..base()
        },
        CreateInstallationRequest {
            filestore: "local-ephemeral".into(),
            ..base()
        },
        CreateInstallationRequest {
            scheduled_deletion_time: NOW + 6 * 60_000,
            ..base()
        },
    ];
    for req in cases {
        assert!(check(req.clone(), &opts()).is_ok(), "{req:?}");
    }
}

#[test]
fn dns_names_must_all_match_the_name() {
    let req = CreateInstallationRequest {
        dns: String::new(),
        name: "some-installation".into(),
        dns_names: vec![
            "my-installation.example.com".into(),
            "some-installation.example.com".into(),
        ],
        ..base()
    };
    assert_eq!(check(req, &opts()).unwrap_err().field, "DNSNames");
    // Without a name, the first domain name gives it (the original needs
    // `DNS` for that).
    let mut no_name = CreateInstallationRequest {
        dns: String::new(),
        dns_names: vec![
            "My-Installation.example.com".into(),
            "my-installation.example.org".into(),
        ],
        ..base()
    };
    no_name.set_defaults();
    assert_eq!(no_name.name, "my-installation");
    assert!(no_name.validate(&opts(), NOW).is_ok());
    let none = CreateInstallationRequest {
        dns: String::new(),
        name: "x1".into(),
        ..base()
    };
    assert_eq!(check(none, &opts()).unwrap_err().field, "DNSNames");
}

#[test]
fn operators_and_annotations_depend_on_server_options() {
    let off = InstallationRequestOptions::default();
    assert_eq!(check(base(), &off).unwrap_err().field, "Filestore");
    let req = CreateInstallationRequest {
        filestore: "bifrost".into(),
        ..base()
    };
    assert_eq!(check(req.clone(), &off).unwrap_err().field, "Database");
    let req = CreateInstallationRequest {
        database: "aws-multitenant-rds-postgres".into(),
        ..req
    };
    assert!(check(req.clone(), &off).is_ok());

    let annotated = InstallationRequestOptions {
        require_annotated_installations: true,
        ..off
    };
    assert_eq!(
        check(req.clone(), &annotated).unwrap_err().field,
        "Annotations"
    );
    let req = CreateInstallationRequest {
        annotations: vec!["my-annotation".into()],
        ..req
    };
    assert!(check(req, &annotated).is_ok());
}

#[test]
fn new_installation_is_built_from_the_request() {
    let req = CreateInstallationRequest {
        database: "aws-rds".into(),
        filestore: "aws-s3".into(),
        affinity: "multitenant".into(),
        dns_names: vec!["domain4321.example.org".into()],
        annotations: vec!["multi-tenant".into()],
        deletion_locked: true,
        api_security_lock: true,
        command: Some(vec![]),
        ..base()
    };
    let new = req.into_new_installation(&opts(), NOW).unwrap();
    let i = &new.installation;
    assert_eq!(
        new.dns_names,
        vec!["domain4321.com", "domain4321.example.org"]
    );
    assert_eq!(new.annotations, vec!["multi-tenant"]);
    assert_eq!(i.name, "domain4321");
    assert_eq!(i.state, InstallationState::CreationRequested);
    assert_eq!(i.cr_version, DEFAULT_CR_VERSION);
    assert_eq!(i.group_id.as_deref(), Some(""));
    assert_eq!(i.database, DatabaseType::AwsRds);
    assert_eq!(i.filestore, FilestoreType::AwsS3);
    assert_eq!(i.affinity, Affinity::Multitenant);
    assert_eq!(
        i.single_tenant_database_config
            .as_ref()
            .unwrap()
            .primary_instance_type,
        "db.t4g.medium"
    );
    assert!(i.external_database_config.is_none());
    assert!(i.deletion_locked && i.api_security_lock);
    assert_eq!(i.command, None);
    assert!(i.id.is_empty());
}

#[test]
fn go_client_body_with_nulls_parses() {
    // What the Go client marshals for a minimal request: nil slices and
    // maps become null, structs are objects.
    let doc = r#"{"Name":"","OwnerID":"owner","GroupID":"","Version":"","Image":"","DNS":"dns4321.com",
        "DNSNames":null,"License":"","Size":"","Affinity":"multitenant","Database":"","Filestore":"",
        "APISecurityLock":false,"DeletionLocked":false,"MattermostEnv":{"key1":{"Value":"value1"}},"PriorityEnv":null,
        "Annotations":null,"GroupSelectionAnnotations":null,"ScheduledDeletionTime":0,
        "SingleTenantDatabaseConfig":{"PrimaryInstanceType":"","ReplicaInstanceType":"","ReplicasCount":0},
        "ExternalDatabaseConfig":{"SecretName":""},"PodProbeOverrides":null,"Command":null}"#;
    let req: CreateInstallationRequest = serde_json::from_str(doc).unwrap();
    assert_eq!(req.dns, "dns4321.com");
    assert!(req.dns_names.is_empty());
    assert_eq!(
        req.mattermost_env.as_ref().unwrap()["key1"],
        EnvVar::value("value1")
    );
    let new = req.into_new_installation(&opts(), NOW).unwrap();
    assert_eq!(new.installation.name, "dns4321");
    // Round trip of our own serialisation.
    let ours = serde_json::to_string(&base()).unwrap();
    assert_eq!(
        serde_json::from_str::<CreateInstallationRequest>(&ours).unwrap(),
        base()
    );
}

#[test]
fn wrong_types_fail_to_parse() {
    assert!(serde_json::from_str::<CreateInstallationRequest>(r#"{"Size": 5}"#).is_err());
    assert!(serde_json::from_str::<CreateInstallationRequest>(r#"{"DNSNames": "x.com"}"#).is_err());
    assert!(
        serde_json::from_str::<PatchInstallationRequest>(r#"{"OverrideIPRanges": "yes"}"#).is_err()
    );
}

#[test]
fn patch_validation() {
    assert!(PatchInstallationRequest::default().validate().is_ok());
    let p = PatchInstallationRequest {
        version: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(p.validate().unwrap_err().field, "Version");
    let p = PatchInstallationRequest {
        image: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(p.validate().unwrap_err().field, "Image");
    let p = PatchInstallationRequest {
        size: Some("some-size".into()),
        ..Default::default()
    };
    assert_eq!(p.validate().unwrap_err().field, "Size");
    let p = PatchInstallationRequest {
        size: Some("provisionerXL-10".into()),
        ..Default::default()
    };
    assert!(p.validate().is_ok());
    let p = PatchInstallationRequest {
        allowed_ip_ranges: Some(vec![AllowedIPRange {
            cidr_block: "blahblah".into(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    assert_eq!(p.validate().unwrap_err().field, "AllowedIPRanges");
}

fn range(cidr: &str) -> AllowedIPRange {
    AllowedIPRange {
        cidr_block: cidr.into(),
        ..Default::default()
    }
}

#[test]
fn patch_apply_reports_changes() {
    let mut i = Installation::default();
    assert!(!PatchInstallationRequest::default().apply(&mut i));
    let p = PatchInstallationRequest {
        owner_id: Some("new-owner".into()),
        ..Default::default()
    };
    assert!(p.apply(&mut i));
    assert_eq!(i.owner_id, "new-owner");
    assert!(!p.apply(&mut i), "same value is no change");

    let env = |k: &str, v: &str| -> EnvVarMap { [(k.to_string(), EnvVar::value(v))].into() };
    let p = PatchInstallationRequest {
        mattermost_env: Some(env("key1", "value1")),
        ..Default::default()
    };
    assert!(p.apply(&mut i));
    assert!(!p.apply(&mut i));
    let p = PatchInstallationRequest {
        mattermost_env: Some(env("key1", "")),
        ..Default::default()
    };
    assert!(p.apply(&mut i));
    assert_eq!(i.mattermost_env, Some(EnvVarMap::new()));
    let p = PatchInstallationRequest {
        priority_env: Some(env("P", "1")),
        ..Default::default()
    };
    assert!(p.apply(&mut i));
    let clear = PatchInstallationRequest {
        priority_env: Some(EnvVarMap::new()),
        ..Default::default()
    };
    assert!(clear.apply(&mut i));
    assert_eq!(i.priority_env, None);
}

#[test]
fn ip_ranges_merge_or_override() {
    let mut i = Installation {
        allowed_ip_ranges: Some(vec![range("192.168.1.1/24")]),
        ..Default::default()
    };
    let over = PatchInstallationRequest {
        allowed_ip_ranges: Some(vec![range("127.0.0.1"), range("192.168.0.1/24")]),
        override_ip_ranges: Some(true),
        ..Default::default()
    };
    assert!(over.apply(&mut i));
    assert_eq!(
        i.allowed_ip_ranges,
        Some(vec![range("127.0.0.1"), range("192.168.0.1/24")])
    );

    let mut i = Installation {
        allowed_ip_ranges: Some(vec![range("192.168.1.1/24")]),
        ..Default::default()
    };
    let invalid = PatchInstallationRequest {
        allowed_ip_ranges: Some(vec![
            range("127.0.0.1"),
            range("blahblah"),
            range("1002.980.12.1"),
        ]),
        ..Default::default()
    };
    assert!(!invalid.apply(&mut i));
    assert_eq!(i.allowed_ip_ranges, Some(vec![range("192.168.1.1/24")]));

    let existing = vec![
        AllowedIPRange {
            cidr_block: "192.168.0.0/24".into(),
            description: "Test".into(),
            enabled: true,
            ..Default::default()
        },
        AllowedIPRange {
            cidr_block: "10.0.0.0/8".into(),
            description: "Another".into(),
            ..Default::default()
        },
    ];
    let patch = vec![
        AllowedIPRange {
            cidr_block: "172.16.0.0/12".into(),
            description: "New".into(),
            enabled: true,
            ..Default::default()
        },
        AllowedIPRange {
            cidr_block: "192.168.0.0/24".into(),
            description: "Updated".into(),
            ..Default::default()
        },
    ];
    let merged = merge_ip_ranges(&existing, &patch);
    assert_eq!(
        merged,
        vec![patch[1].clone(), existing[1].clone(), patch[0].clone()]
    );
    let mut i = Installation {
        allowed_ip_ranges: Some(existing.clone()),
        ..Default::default()
    };
    let p = PatchInstallationRequest {
        allowed_ip_ranges: Some(patch),
        ..Default::default()
    };
    assert!(p.apply(&mut i));
    assert!(
        !p.apply(&mut i),
        "merging the same ranges again changes nothing"
    );
}

#[test]
fn probes_and_command_patch() {
    let mut i = Installation::default();
    let live = PatchInstallationRequest {
        pod_probe_overrides: Some(PodProbeOverrides {
            liveness_probe_override: Some(json!({"failureThreshold": 5})),
            readiness_probe_override: None,
        }),
        ..Default::default()
    };
    assert!(live.apply(&mut i));
    let ready = PatchInstallationRequest {
        pod_probe_overrides: Some(PodProbeOverrides {
            liveness_probe_override: None,
            readiness_probe_override: Some(json!({"periodSeconds": 3})),
        }),
        ..Default::default()
    };
    assert!(ready.apply(&mut i));
    let p = i.pod_probe_overrides.clone().unwrap();
    assert!(p.liveness_probe_override.is_some() && p.readiness_probe_override.is_some());
    let clear = PatchInstallationRequest {
        pod_probe_overrides: Some(PodProbeOverrides::default()),
        ..Default::default()
    };
    assert!(clear.apply(&mut i));
    assert_eq!(i.pod_probe_overrides, None);

    let cmd = PatchInstallationRequest {
        command: Some(vec!["mattermost".into()]),
        ..Default::default()
    };
    assert!(cmd.apply(&mut i));
    assert!(!cmd.apply(&mut i));
    let clear = PatchInstallationRequest {
        command: Some(vec![]),
        ..Default::default()
    };
    assert!(clear.apply(&mut i));
    assert_eq!(i.command, None);
}

#[test]
fn deletion_patches() {
    let p = PatchInstallationDeletionRequest {
        deletion_pending_expiry: Some(NOW),
    };
    assert!(p.validate(NOW).is_ok());
    assert!(
        PatchInstallationDeletionRequest {
            deletion_pending_expiry: Some(NOW - 4_000)
        }
        .validate(NOW)
        .is_ok()
    );
    let old = PatchInstallationDeletionRequest {
        deletion_pending_expiry: Some(NOW - 3_600_000),
    };
    assert_eq!(
        old.validate(NOW).unwrap_err().field,
        "DeletionPendingExpiry"
    );
    let mut i = Installation::default();
    assert!(!PatchInstallationDeletionRequest::default().apply(&mut i));
    let p = PatchInstallationDeletionRequest {
        deletion_pending_expiry: Some(999),
    };
    assert!(p.apply(&mut i));
    assert!(!p.apply(&mut i));

    let s = |t| PatchInstallationScheduledDeletionRequest {
        scheduled_deletion_time: t,
    };
    assert!(s(None).validate(NOW).is_ok());
    assert!(s(Some(0)).validate(NOW).is_ok());
    assert!(s(Some(-100)).validate(NOW).is_err());
    assert!(s(Some(NOW - 3_600_000)).validate(NOW).is_err());
    assert!(s(Some(NOW + 86_400_000)).validate(NOW).is_ok());
    let mut i = Installation {
        scheduled_deletion_time: 300_000,
        ..Default::default()
    };
    assert!(!s(None).apply(&mut i));
    assert!(s(Some(300_000)).apply(&mut i));
    assert!(s(Some(0)).apply(&mut i));
    assert_eq!(i.scheduled_deletion_time, 0);
}

#[test]
fn query_pairs_match_the_go_client() {
    let q = GetInstallationsRequest {
        owner_id: "me".into(),
        deletion_locked: Some(true),
        include_group_config: false,
        ..Default::default()
    }
    .query_pairs();
    let keys: Vec<_> = q.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "owner",
            "group",
            "state",
            "dns_name",
            "name",
            "deletion_locked",
            "include_group_config",
            "page",
            "per_page"
        ]
    );
    assert_eq!(q[0].1, "me");
    assert!(GetInstallationRequest::default().query_pairs().is_empty());
}

#[test]
fn volume_requests() {
    let req =
        CreateInstallationVolumeRequest::with_file("certs", "ca.pem", b"hello", "/certs", true);
    let doc = serde_json::to_value(&req).unwrap();
    assert_eq!(doc["Data"]["ca.pem"], "aGVsbG8=");
    assert_eq!(doc["Volume"]["Type"], "secret");
    let mut i = Installation::default();
    assert!(req.validate(&i).is_ok());

    let bad_name = CreateInstallationVolumeRequest {
        name: "1x".into(),
        ..req.clone()
    };
    assert_eq!(bad_name.validate(&i).unwrap_err().field, "Name");
    let no_data = CreateInstallationVolumeRequest {
        data: BTreeMap::new(),
        ..req.clone()
    };
    assert_eq!(no_data.validate(&i).unwrap_err().field, "Data");
    let mut not_b64 = req.clone();
    not_b64.data.insert("x".into(), "***".into());
    assert_eq!(not_b64.validate(&i).unwrap_err().field, "Data");
    let mut secret_set = req.clone();
    if let Some(v) = secret_set.volume.as_mut() {
        v.backing_secret = "mine".into();
    }
    assert_eq!(secret_set.validate(&i).unwrap_err().field, "Volume");
    let no_volume = CreateInstallationVolumeRequest {
        volume: None,
        ..req.clone()
    };
    assert_eq!(no_volume.validate(&i).unwrap_err().field, "Volume");

    let mut volumes = BTreeMap::new();
    volumes.insert("certs".to_string(), req.volume.clone().unwrap());
    i.volumes = Some(volumes);
    assert_eq!(req.validate(&i).unwrap_err().field, "Name");
    let same_path = CreateInstallationVolumeRequest {
        name: "other".into(),
        ..req.clone()
    };
    assert_eq!(same_path.validate(&i).unwrap_err().field, "Volume");

    let patch = PatchInstallationVolumeRequest {
        mount_path: Some("/certs".into()),
        ..Default::default()
    };
    assert!(patch.validate(&i, "certs").is_ok(), "its own path is fine");
    assert_eq!(patch.validate(&i, "other").unwrap_err().field, "MountPath");
    let mut v = req.volume.clone().unwrap();
    assert!(!patch.apply(&mut v));
    let ro = PatchInstallationVolumeRequest {
        read_only: Some(false),
        ..Default::default()
    };
    assert!(ro.apply(&mut v));
    assert_eq!(
        volume_backing_secret_name("abc", 12, "certs"),
        "installation-secret-abc-12-certs"
    );
}
