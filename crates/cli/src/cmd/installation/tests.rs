//! Unit tests of `cloud installation …` flag parsing and request building.

use super::*;
use crate::cli::{Command, try_parse_from};

fn installation_cmd(args: &[&str]) -> InstallationCmd {
    let mut argv = vec!["cloud", "installation"];
    argv.extend_from_slice(args);
    match try_parse_from(argv).unwrap().command {
        Command::Installation(g) => g.command,
        other => panic!("not an installation command: {other:?}"),
    }
}

#[test]
fn one_dns_goes_in_the_deprecated_field() {
    let InstallationCmd::Create(args) = installation_cmd(&[
        "create",
        "--owner",
        "stelios",
        "--dns",
        "stelios.test.cloud.mattermost.com",
        "--size",
        "100users",
        "--affinity",
        "multitenant",
    ]) else {
        panic!("not create")
    };
    let request = create_request(&args).unwrap();
    assert_eq!(request.dns, "stelios.test.cloud.mattermost.com");
    assert!(request.dns_names.is_empty());
    assert_eq!(request.affinity, "multitenant");
    assert_eq!(request.version, "stable");
    assert_eq!(request.database, "mysql-operator");
    assert_eq!(request.scheduled_deletion_time, 0);
    assert!(request.pod_probe_overrides.is_none() && request.command.is_none());
    let doc = serde_json::to_value(&request).unwrap();
    assert_eq!(doc["DNS"], "stelios.test.cloud.mattermost.com");
    assert_eq!(doc["OwnerID"], "stelios");

    let InstallationCmd::Create(args) = installation_cmd(&[
        "create",
        "--owner",
        "o",
        "--dns",
        "a.example.com,a.example.org",
        "--dns",
        "a.example.net",
    ]) else {
        panic!("not create")
    };
    let request = create_request(&args).unwrap();
    assert_eq!(request.dns, "");
    assert_eq!(
        request.dns_names,
        ["a.example.com", "a.example.org", "a.example.net"]
    );
    assert!(try_parse_from(["cloud", "installation", "create", "--owner", "o"]).is_err());
    assert!(try_parse_from(["cloud", "installation", "create", "--dns", "a.b.c"]).is_err());
}

#[test]
fn create_flags_fill_every_field() {
    let InstallationCmd::Create(args) = installation_cmd(&[
        "create",
        "--owner",
        "o",
        "--dns",
        "x.example.com",
        "--database",
        "aws-rds-postgres",
        "--rds-primary-instance",
        "db.r5.large",
        "--rds-replicas-count",
        "2",
        "--mattermost-env",
        "A=1",
        "--priority-env",
        "B=2",
        "--annotation",
        "team-a",
        "--group-selection-annotation",
        "pool",
        "--scheduled-deletion-time",
        "2h",
        "--command",
        "mattermost,server",
        "--probe-liveness-failure-threshold",
        "5",
        "--probe-readiness-period-seconds",
        "0",
        "--external-database-secret-name",
        "ignored",
    ]) else {
        panic!("not create")
    };
    let before = now_millis();
    let request = create_request(&args).unwrap();
    assert_eq!(
        request.single_tenant_database_config.primary_instance_type,
        "db.r5.large"
    );
    assert_eq!(request.single_tenant_database_config.replicas_count, 2);
    assert_eq!(
        request.external_database_config.secret_name, "",
        "only for external databases"
    );
    assert_eq!(request.mattermost_env.unwrap()["A"], EnvVar::value("1"));
    assert_eq!(request.priority_env.unwrap()["B"], EnvVar::value("2"));
    assert_eq!(request.annotations, ["team-a"]);
    assert_eq!(request.group_selection_annotations, ["pool"]);
    let two_hours = 2 * 3_600_000;
    assert!(request.scheduled_deletion_time >= before + two_hours);
    assert!(request.scheduled_deletion_time <= now_millis() + two_hours);
    assert_eq!(
        request.command,
        Some(vec!["mattermost".to_string(), "server".to_string()])
    );
    let probes = request.pod_probe_overrides.unwrap();
    assert_eq!(
        probes.liveness_probe_override,
        Some(serde_json::json!({"failureThreshold": 5}))
    );
    assert_eq!(
        probes.readiness_probe_override, None,
        "0 leaves the value to the server"
    );

    let InstallationCmd::Create(args) = installation_cmd(&[
        "create",
        "--owner",
        "o",
        "--dns",
        "x.example.com",
        "--database",
        "external",
        "--external-database-secret-name",
        "my-secret",
        "--mattermost-env",
        "BAD",
    ]) else {
        panic!("not create")
    };
    assert!(create_request(&args).is_err());
}

#[test]
fn update_sends_only_what_was_given() {
    let InstallationCmd::Update(args) = installation_cmd(&["update", "--installation", "i1"])
    else {
        panic!("not update")
    };
    assert_eq!(
        patch_request(&args).unwrap(),
        PatchInstallationRequest::default()
    );

    let InstallationCmd::Update(args) = installation_cmd(&[
        "update",
        "--installation",
        "i1",
        "--version",
        "9.1",
        "--mattermost-env",
        "A=",
        "--priority-env-clear",
        "--allowed-ip-ranges",
        r#"[{"CIDRBlock":"10.0.0.0/8","Enabled":true}]"#,
        "--override-ip-ranges=false",
        "--probe-readiness-timeout-seconds",
        "0",
    ]) else {
        panic!("not update")
    };
    let patch = patch_request(&args).unwrap();
    assert_eq!(patch.version.as_deref(), Some("9.1"));
    assert_eq!(patch.owner_id, None);
    assert_eq!(patch.mattermost_env.unwrap()["A"], EnvVar::value(""));
    assert_eq!(patch.priority_env, Some(EnvVarMap::new()));
    assert_eq!(patch.allowed_ip_ranges.unwrap()[0].cidr_block, "10.0.0.0/8");
    assert_eq!(patch.override_ip_ranges, Some(false));
    let probes = patch.pod_probe_overrides.unwrap();
    assert_eq!(
        probes.readiness_probe_override,
        Some(serde_json::json!({"timeoutSeconds": 0}))
    );

    let InstallationCmd::Update(args) = installation_cmd(&[
        "update",
        "--installation",
        "i1",
        "--mattermost-env",
        "A=1",
        "--mattermost-env-clear",
    ]) else {
        panic!("not update")
    };
    assert!(patch_request(&args).is_err());
    let InstallationCmd::Update(args) = installation_cmd(&[
        "update",
        "--installation",
        "i1",
        "--allowed-ip-ranges",
        "{nope",
    ]) else {
        panic!("not update")
    };
    assert!(patch_request(&args).is_err());
    let InstallationCmd::WakeUp(args) =
        installation_cmd(&["wake-up", "--installation", "i1", "--size", "miniHA"])
    else {
        panic!("not wake-up")
    };
    assert_eq!(
        patch_request(&args).unwrap().size.as_deref(),
        Some("miniHA")
    );
}

#[test]
fn volume_requests_encode_the_file() {
    let InstallationCmd::CreateVolume(args) = installation_cmd(&[
        "create-volume",
        "--installation",
        "i1",
        "--volume-name",
        "certs",
        "--filename",
        "ca.pem",
        "--data",
        "hello",
        "--mount-path",
        "/certs",
    ]) else {
        panic!("not create-volume")
    };
    let request = create_volume_request(&args);
    let doc = serde_json::to_value(&request).unwrap();
    assert_eq!(doc["Data"]["ca.pem"], "aGVsbG8=");
    assert_eq!(doc["Volume"]["ReadOnly"], true);
    assert_eq!(doc["Volume"]["MountPath"], "/certs");

    let InstallationCmd::UpdateVolume(args) = installation_cmd(&[
        "update-volume",
        "--installation",
        "i1",
        "--volume-name",
        "certs",
        "--read-only=false",
    ]) else {
        panic!("not update-volume")
    };
    let patch = update_volume_request(&args);
    assert_eq!(
        (patch.read_only, patch.data, patch.mount_path),
        (Some(false), None, None)
    );
    assert!(
        try_parse_from([
            "cloud",
            "installation",
            "update-volume",
            "--installation",
            "i",
            "--volume-name",
            "v",
            "--data",
            "x"
        ])
        .is_err()
    );
}

#[test]
fn hiding_replaces_license_and_env() {
    let mut i = Installation {
        license: "secret".into(),
        mattermost_env: Some(
            [
                ("A".to_string(), EnvVar::value("1")),
                ("B".to_string(), EnvVar::value("2")),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let shown = i.clone();
    hide(
        &mut i,
        HideArgs {
            hide_license: false,
            hide_env: false,
        },
    );
    assert_eq!(i, shown);
    hide(
        &mut i,
        HideArgs {
            hide_license: true,
            hide_env: true,
        },
    );
    assert_eq!(i.license, HIDDEN_LICENSE);
    let env = i.mattermost_env.unwrap();
    assert_eq!(
        env.keys().collect::<Vec<_>>(),
        ["hidden (2 env vars) (--hide-env=true)"]
    );
    let mut empty = Installation::default();
    hide(
        &mut empty,
        HideArgs {
            hide_license: true,
            hide_env: true,
        },
    );
    assert_eq!(empty.license, "");
    assert_eq!(empty.mattermost_env, None);
}

#[test]
fn list_and_get_flags() {
    let InstallationCmd::List(args) = installation_cmd(&["list"]) else {
        panic!("not list")
    };
    assert_eq!(args.deletion_locked, None);
    assert!(args.include_group_config && args.hide.hide_license && args.hide.hide_env);
    let InstallationCmd::List(args) = installation_cmd(&[
        "list",
        "--deletion-locked",
        "--hide-env=false",
        "--json",
        "--per-page",
        "-1",
    ]) else {
        panic!("not list")
    };
    assert_eq!(args.deletion_locked, Some(true));
    assert!(!args.hide.hide_env && args.output.json);
    assert_eq!(args.paging.per_page, -1);
    let InstallationCmd::Get(args) = installation_cmd(&[
        "get",
        "--installation",
        "i1",
        "--include-group-config=false",
    ]) else {
        panic!("not get")
    };
    assert!(!args.include_group_config && args.include_group_config_overrides);
    for sub in [
        vec!["status"],
        vec!["state-report"],
        vec![
            "annotation",
            "add",
            "--installation",
            "i",
            "--annotation",
            "a",
        ],
        vec![
            "dns",
            "set-primary",
            "--installation",
            "i",
            "--domain-id",
            "d",
        ],
        vec![
            "schedule-deletion",
            "--installation",
            "i",
            "--scheduled-deletion-time",
            "1h",
        ],
        vec![
            "update-deletion",
            "--installation",
            "i",
            "--future-expiry",
            "0s",
        ],
        vec!["cancel-deletion", "--installation", "i"],
        vec!["delete-volume", "--installation", "i", "--volume-name", "v"],
    ] {
        let mut argv = vec!["cloud", "installation"];
        argv.extend(sub.iter().copied());
        assert!(try_parse_from(argv).is_ok(), "{sub:?}");
    }
}

#[test]
fn table_rows_list_every_domain() {
    let dto = Installation {
        id: "i1".into(),
        version: "stable".into(),
        deletion_locked: true,
        ..Default::default()
    }
    .into_dto(
        Vec::new(),
        vec![
            cloud_model::installation_dns::InstallationDNS {
                domain_name: "a.example.com".into(),
                is_primary: true,
                ..Default::default()
            },
            cloud_model::installation_dns::InstallationDNS {
                domain_name: "a.example.org".into(),
                ..Default::default()
            },
        ],
    );
    assert_eq!(
        table_row(&dto),
        [
            "i1",
            "creation-requested",
            "stable",
            "mysql-operator",
            "minio-operator",
            "a.example.com,a.example.org",
            "false",
            "true"
        ]
    );
}
