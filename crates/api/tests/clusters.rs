//! The cluster routes over HTTP, on SQLite and PostgreSQL: bodies and
//! statuses of the original, the transition map, the API and row locks, the
//! delete and annotation rules, and bad input that must leave the store as it
//! was.

use crate::common::*;
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::cluster::{Cluster, ClusterFilter, ClusterState, NodeGroupMetadata, Provisioner};
use cloud_model::cluster_request::{
    CreateClusterRequest, PatchUpgradeClusterRequest, UpdateClusterRequest,
};
use cloud_model::event::{ResourceType, StateChangeEventFilter};
use cloud_model::filter::Paging;
use cloud_store::lock::LockedTable;
use cloud_store::{Query, SqlStore};
use cloud_supervisor::SupervisorKind;
use serde_json::{Value, json};
use std::time::Duration;

const UNKNOWN: &str = "abcdefghijklmnopqrstuvwxyz";

/// Creates a default kops cluster through the API; returns its ID.
async fn create(server: &TestServer, body: Value) -> String {
    let (status, dto) = status_json(server.post_json("/api/clusters", &body).await).await;
    assert_eq!(status, 202, "{dto}");
    dto["ID"].as_str().unwrap().to_string()
}

/// Moves a cluster to `state` behind the API's back (as a supervisor would).
async fn set_state(store: &SqlStore, id: &str, state: ClusterState) {
    let current = store.cluster_get(id).await.unwrap().unwrap().state;
    store
        .cluster_update_state(id, current, state)
        .await
        .unwrap();
}

async fn state_of(store: &SqlStore, id: &str) -> ClusterState {
    store.cluster_get(id).await.unwrap().unwrap().state
}

async fn events(store: &SqlStore, id: &str) -> Vec<(String, String)> {
    let filter = StateChangeEventFilter {
        resource_type: Some(ResourceType::Cluster),
        resource_id: Some(id.to_string()),
        ..Default::default()
    };
    let mut list: Vec<_> = store
        .event_list(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.state_change.old_state, e.state_change.new_state))
        .collect();
    list.reverse();
    list
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

async fn assert_woken(server: &TestServer) {
    tokio::time::timeout(
        Duration::from_secs(2),
        server.wake.woken(SupervisorKind::Cluster),
    )
    .await
    .expect("the cluster supervisor was woken");
}

/// An EKS cluster in `stable` with a `worker` node group, made in the store.
async fn stable_eks(store: &SqlStore) -> Cluster {
    let mut request = CreateClusterRequest {
        provisioner: "eks".into(),
        cluster_role_arn: "arn:c".into(),
        node_role_arn: "arn:n".into(),
        ami: "ami-1".into(),
        ..Default::default()
    };
    request.set_defaults();
    let mut cluster = request.build_cluster().unwrap();
    let eks = cluster.provisioner_metadata_eks.as_mut().unwrap();
    eks.change_request = None;
    eks.node_groups.insert(
        "worker".into(),
        NodeGroupMetadata {
            name: "worker-abcdef".into(),
            node_group_type: "worker".into(),
            instance_type: "m5.large".into(),
            min_count: 2,
            max_count: 4,
            ..Default::default()
        },
    );
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    set_state(store, &cluster.id, ClusterState::Stable).await;
    cluster
}

api_test!(
    create_records_the_request_and_wakes_the_supervisor,
    |server| {
        let (status, dto) = status_json(server.post_json("/api/clusters", &json!({})).await).await;
        assert_eq!(status, 202, "{dto}");
        let id = dto["ID"].as_str().unwrap().to_string();
        assert!(cloud_model::is_valid_id(&id) && id.starts_with(|c: char| c.is_ascii_lowercase()));
        assert_eq!(dto["State"], "creation-requested");
        assert_eq!(dto["Provider"], "aws");
        assert_eq!(dto["Provisioner"], "kops");
        assert_eq!(dto["ProviderMetadataAWS"], json!({"Zones": ["us-east-1a"]}));
        let cr = &dto["ProvisionerMetadataKops"]["ChangeRequest"];
        assert_eq!(cr["Version"], "latest");
        assert_eq!(cr["MasterInstanceType"], "t3.medium");
        assert_eq!(cr["NodeMinCount"], 2);
        assert_eq!(cr["MaxPodsPerNode"], 200);
        assert_eq!(dto["Networking"], "calico");
        assert_eq!(
            dto["UtilityMetadata"]["DesiredVersions"]["Velero"]["Chart"],
            "5.1.5"
        );
        assert_eq!(dto["PgBouncerConfig"]["MaxClientConnections"], 25000);
        assert_eq!(dto["AllowInstallations"], false);
        assert!(
            dto.get("Annotations").is_none(),
            "omitted when empty: {dto}"
        );
        assert!(dto["CreateAt"].as_i64().unwrap() > 0);
        assert_woken(&server).await;
        assert_eq!(
            events(&server.store, &id).await,
            [pair("n/a", "creation-requested")]
        );

        let (status, got) = status_json(server.get(&format!("/api/cluster/{id}")).await).await;
        assert_eq!(status, 200);
        assert_eq!(got, dto);
        let (status, list) = status_json(server.get("/api/clusters").await).await;
        assert_eq!(status, 200);
        assert_eq!(list, json!([dto]));
    }
);

api_test!(create_takes_the_original_kebab_keys, |server| {
    let body = json!({
        "provisioner": "eks", "zones": ["us-east-1a", "us-east-1c"], "version": "1.29",
        "ami": "ami-7", "cluster-role-arn": "arn:c", "node-role-arn": "arn:n",
        "node-min-count": 3, "allow-installations": true, "api-security-lock": true,
        "annotations": ["multi-tenant", "gpu"], "vpc": "vpc-1", "max-pods-per-node": 110,
        "additional-node-groups": {"spot": {"InstanceType": "m5.xlarge", "MinCount": 1}},
        "nodegroup-with-public-subnet": ["spot"],
        "utility-versions": {"nginx": "4.12.0", "velero": {"Chart": "unmanaged"}},
        "argocd-register": {"cluster-type": "customer"},
        "pgbouncer-config": {"DefaultPoolSize": 9}
    });
    let (status, dto) = status_json(server.post_json("/api/clusters", &body).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["Provisioner"], "eks");
    let cr = &dto["ProvisionerMetadataEKS"]["ChangeRequest"];
    assert_eq!(cr["Version"], "1.29");
    assert_eq!(cr["VPC"], "vpc-1");
    assert!(
        cr["NodeGroups"]["worker"]["Name"]
            .as_str()
            .unwrap()
            .starts_with("worker-")
    );
    assert_eq!(cr["NodeGroups"]["worker"]["MinCount"], 3);
    assert_eq!(cr["NodeGroups"]["spot"]["InstanceType"], "m5.xlarge");
    assert_eq!(cr["NodeGroups"]["spot"]["MaxCount"], 1);
    assert_eq!(cr["NodeGroups"]["spot"]["WithPublicSubnet"], true);
    let desired = &dto["UtilityMetadata"]["DesiredVersions"];
    assert_eq!(desired["Nginx"]["Chart"], "4.12.0");
    assert!(
        desired["Nginx"]["ValuesPath"]
            .as_str()
            .unwrap()
            .ends_with("nginx_values.yaml?ref=master")
    );
    assert_eq!(desired["Velero"]["Chart"], "unmanaged");
    assert_eq!(dto["UtilityMetadata"]["ManagedByArgocd"], true);
    assert_eq!(
        dto["UtilityMetadata"]["ArgocdClusterRegister"]["ClusterType"],
        "customer"
    );
    assert_eq!(dto["PgBouncerConfig"]["DefaultPoolSize"], 9);
    assert_eq!(dto["PgBouncerConfig"]["MinPoolSize"], 1);
    assert_eq!(dto["APISecurityLock"], true);
    assert_eq!(dto["AllowInstallations"], true);
    let names: Vec<&str> = dto["Annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpu", "multi-tenant"]);
});

api_test!(bad_create_bodies_are_400s_and_create_nothing, |server| {
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!({"provider": "gcp"}), Some("provider")),
        (json!({"provisioner": "gke"}), Some("provisioner")),
        (json!({"provisioner": "external"}), Some("provisioner")),
        (json!({"version": "v1.2"}), Some("version")),
        (json!({"master-count": "three"}), Some("master-count")),
        (
            json!({"node-min-count": 2, "node-max-count": 3}),
            Some("node-max-count"),
        ),
        (json!({"max-pods-per-node": 5}), Some("max-pods-per-node")),
        (json!({"networking": "flannel"}), Some("networking")),
        (json!({"annotations": ["Not Valid"]}), Some("annotations")),
        (json!({"annotations": "abc"}), Some("annotations")),
        (
            json!({"utility-versions": {"stackrox": "1.0"}}),
            Some("utility-versions"),
        ),
        (
            json!({"utility-versions": {"nginx": 4}}),
            Some("utility-versions.nginx"),
        ),
        (
            json!({"argocd-register": {"force": "true"}}),
            Some("argocd-register"),
        ),
        (
            json!({"pgbouncer-config": {"ServerResetQueryAlways": 2}}),
            Some("pgbouncer-config.ServerResetQueryAlways"),
        ),
        (
            json!({"provisioner": "eks", "ami": "a", "node-role-arn": "n"}),
            Some("cluster-role-arn"),
        ),
        (json!("a string"), None),
        (json!(42), None),
    ];
    for (body, field) in cases {
        let res = server.post_json("/api/clusters", &body).await;
        assert_error(res, 400, field).await;
    }
    assert_error(
        server.post_raw("/api/clusters", "{\"provider\": ").await,
        400,
        None,
    )
    .await;
    assert_error(
        server.post_raw("/api/clusters", "{} trailing").await,
        400,
        None,
    )
    .await;
    let huge = format!("{{\"vpc\": \"{}\"}}", "x".repeat(2 << 20));
    let res = server.post_raw("/api/clusters", huge).await;
    assert_eq!(res.status().as_u16(), 413);
    let all = server
        .store
        .cluster_list(&ClusterFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.is_empty(), "nothing stored: {all:?}");
    let n = Query::new("SELECT COUNT(*) FROM event")
        .fetch_i64(server.store.conn())
        .await
        .unwrap();
    assert_eq!(n, 0);
});

api_test!(import_records_an_external_cluster, |server| {
    assert_error(
        server.post_raw("/api/clusters/import", "").await,
        400,
        Some("external-cluster-secret-name"),
    )
    .await;
    assert_error(
        server
            .post_json(
                "/api/clusters/import",
                &json!({"external-cluster-secret-name": 5}),
            )
            .await,
        400,
        Some("external-cluster-secret-name"),
    )
    .await;
    let body = json!({"external-cluster-secret-name": "kubeconfig", "vpc-id": "vpc-3",
                      "annotations": ["imported"], "allow-installations": true});
    let (status, dto) = status_json(server.post_json("/api/clusters/import", &body).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(
        (dto["Provider"].as_str(), dto["Provisioner"].as_str()),
        (Some("external"), Some("external"))
    );
    assert_eq!(
        dto["ProviderMetadataExternal"],
        json!({"HasAWSInfrastructure": true})
    );
    assert_eq!(
        dto["ProvisionerMetadataExternal"]["SecretName"],
        "kubeconfig"
    );
    assert_eq!(dto["ProvisionerMetadataExternal"]["VPC"], "vpc-3");
    assert_eq!(dto["PgBouncerConfig"]["DefaultPoolSize"], 5);
    assert_eq!(dto["State"], "creation-requested");
    let (_, no_vpc) = status_json(
        server
            .post_json(
                "/api/clusters/import",
                &json!({"external-cluster-secret-name": "kc"}),
            )
            .await,
    )
    .await;
    assert_eq!(no_vpc["PgBouncerConfig"], Value::Null);
    assert_eq!(
        no_vpc["ProviderMetadataExternal"]["HasAWSInfrastructure"],
        false
    );
});

api_test!(unknown_and_malformed_ids_are_404s, |server| {
    assert_error(
        server.get(&format!("/api/cluster/{UNKNOWN}")).await,
        404,
        None,
    )
    .await;
    assert_error(server.get("/api/cluster/short").await, 404, None).await;
    // Quirk 1 of the original (a dropped connection) is a plain 404 here.
    assert_error(
        server
            .get(&format!("/api/cluster/{UNKNOWN}/utilities"))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .post_json(&format!("/api/cluster/{UNKNOWN}"), &json!({}))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server.delete(&format!("/api/cluster/{UNKNOWN}")).await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .put_json(&format!("/api/cluster/{UNKNOWN}/size"), &json!({}))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .post_raw(&format!("/api/security/cluster/{UNKNOWN}/api/lock"), "")
            .await,
        404,
        None,
    )
    .await;
    assert!(
        server
            .client()
            .get_cluster(UNKNOWN)
            .await
            .unwrap()
            .is_none()
    );
});

api_test!(retry_follows_the_transition_map, |server| {
    let id = create(&server, json!({})).await;
    // Already requested: accepted, nothing new recorded.
    let (status, dto) = status_json(server.post_raw(&format!("/api/cluster/{id}"), "").await).await;
    assert_eq!(
        (status, dto["State"].as_str()),
        (202, Some("creation-requested"))
    );
    assert_eq!(events(&server.store, &id).await.len(), 1);

    set_state(&server.store, &id, ClusterState::Stable).await;
    let msg = assert_error(
        server.post_raw(&format!("/api/cluster/{id}"), "").await,
        400,
        None,
    )
    .await;
    assert!(msg.contains("stable"), "{msg}");
    assert_eq!(state_of(&server.store, &id).await, ClusterState::Stable);

    set_state(&server.store, &id, ClusterState::CreationFailed).await;
    let dto = server.client().retry_create_cluster(&id).await.unwrap();
    assert_eq!(dto.cluster.state, ClusterState::CreationRequested);
    assert_eq!(
        events(&server.store, &id).await.last().unwrap(),
        &pair("creation-failed", "creation-requested")
    );
    assert!(
        dto.cluster.lock_acquired_by.is_none(),
        "the lock is released"
    );
});

api_test!(update_changes_configuration_only, |server| {
    let id = create(&server, json!({})).await;
    let path = format!("/api/cluster/{id}");
    let (status, dto) = status_json(
        server
            .put_json(&path, &json!({"Name": "main", "AllowInstallations": true}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(
        (dto["Name"].as_str(), dto["AllowInstallations"].as_bool()),
        (Some("main"), Some(true))
    );
    assert_eq!(dto["State"], "creation-requested");
    assert_eq!(
        events(&server.store, &id).await.len(),
        1,
        "no event for a configuration change"
    );

    for (body, field) in [
        (json!({"Name": 5}), Some("Name")),
        (
            json!({"AllowInstallations": "yes"}),
            Some("AllowInstallations"),
        ),
    ] {
        assert_error(server.put_json(&path, &body).await, 400, field).await;
    }
    let dto = server
        .client()
        .update_cluster(
            &id,
            &UpdateClusterRequest {
                name: None,
                allow_installations: Some(false),
            },
        )
        .await
        .unwrap();
    assert_eq!(dto.cluster.name, "main");
    assert!(!dto.cluster.allow_installations);
});

api_test!(the_api_security_lock_forbids_changes, |server| {
    let id = create(&server, json!({})).await;
    let client = server.client();
    client.lock_api_for_cluster(&id).await.unwrap();
    client.lock_api_for_cluster(&id).await.unwrap();
    set_state(&server.store, &id, ClusterState::Stable).await;
    let base = format!("/api/cluster/{id}");
    assert_error(
        server.put_json(&base, &json!({"Name": "x"})).await,
        403,
        None,
    )
    .await;
    assert_error(
        server.post_raw(&format!("{base}/provision"), "").await,
        403,
        None,
    )
    .await;
    assert_error(
        server
            .put_json(&format!("{base}/kubernetes"), &json!({"version": "1.29.0"}))
            .await,
        403,
        None,
    )
    .await;
    assert_error(
        server
            .put_json(&format!("{base}/size"), &json!({"node-min-count": 4}))
            .await,
        403,
        None,
    )
    .await;
    assert_error(
        server
            .post_json(
                &format!("{base}/annotations"),
                &json!({"annotations": ["abc"]}),
            )
            .await,
        403,
        None,
    )
    .await;
    assert_error(
        server.delete(&format!("{base}/annotation/abc")).await,
        403,
        None,
    )
    .await;
    assert_error(server.delete(&base).await, 403, None).await;
    // Reads still work.
    let dto = client.get_cluster(&id).await.unwrap().unwrap();
    assert!(dto.cluster.api_security_lock);
    assert_eq!(dto.cluster.name, "");
    assert_eq!(state_of(&server.store, &id).await, ClusterState::Stable);
    let res = server
        .post_raw(&format!("/api/security/cluster/{id}/api/unlock"), "")
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().is_empty());
    client.delete_cluster(&id).await.unwrap();
    assert_eq!(
        state_of(&server.store, &id).await,
        ClusterState::DeletionRequested
    );
});

api_test!(a_held_row_lock_is_a_409, |server| {
    let id = create(&server, json!({})).await;
    assert!(
        server
            .store
            .cluster_lock(&id, "someone-else")
            .await
            .unwrap()
    );
    assert_error(
        server
            .put_json(&format!("/api/cluster/{id}"), &json!({"Name": "x"}))
            .await,
        409,
        None,
    )
    .await;
    assert_error(
        server.post_raw(&format!("/api/cluster/{id}"), "").await,
        409,
        None,
    )
    .await;
    assert!(
        server
            .store
            .cluster_unlock(&id, "someone-else")
            .await
            .unwrap()
    );
    let path = format!("/api/cluster/{id}");
    let delete = server.delete(&path);
    assert_409_while_locked(&server, LockedTable::ClusterScheduling, &id, delete).await;
    assert_eq!(
        state_of(&server.store, &id).await,
        ClusterState::CreationRequested
    );
});

api_test!(provision_applies_versions_and_pgbouncer, |server| {
    let id = create(&server, json!({})).await;
    let path = format!("/api/cluster/{id}/provision");
    assert_error(server.post_raw(&path, "").await, 400, None).await;
    set_state(&server.store, &id, ClusterState::Stable).await;
    // The original answers 500 to a bad body; we answer 400 and change nothing.
    assert_error(
        server.post_json(&path, &json!({"force": "yes"})).await,
        400,
        Some("force"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"pgbouncer-config": {"DefaultPoolSize": 0}}))
            .await,
        400,
        Some("pgbouncer-config.DefaultPoolSize"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"utility-versions": {"kubecost": "1"}}))
            .await,
        400,
        Some("utility-versions"),
    )
    .await;
    assert_eq!(state_of(&server.store, &id).await, ClusterState::Stable);

    let body = json!({"utility-versions": {"thanos": {"Chart": "14.0.0", "ValuesPath": "t.yaml"}},
                      "pgbouncer-config": {"MaxClientConnections": 1000}, "argocd-register": {"cluster-type": "internal"}});
    let (status, dto) = status_json(server.post_json(&path, &body).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "provisioning-requested");
    assert_eq!(
        dto["UtilityMetadata"]["DesiredVersions"]["Thanos"]["Chart"],
        "14.0.0"
    );
    assert_eq!(dto["PgBouncerConfig"]["MaxClientConnections"], 1000);
    assert_eq!(dto["PgBouncerConfig"]["DefaultPoolSize"], 5);
    assert_eq!(
        dto["UtilityMetadata"]["ArgocdClusterRegister"]["ClusterType"],
        "internal"
    );
    assert_eq!(
        events(&server.store, &id).await.last().unwrap(),
        &pair("stable", "provisioning-requested")
    );
    assert_woken(&server).await;
    // Again from provisioning-requested: allowed, no new event.
    let dto = server.client().provision_cluster(&id, None).await.unwrap();
    assert_eq!(dto.cluster.state, ClusterState::ProvisioningRequested);
    assert_eq!(events(&server.store, &id).await.len(), 3);
});

api_test!(upgrade_moves_only_when_something_changes, |server| {
    let id = create(&server, json!({})).await;
    let path = format!("/api/cluster/{id}/kubernetes");
    set_state(&server.store, &id, ClusterState::Stable).await;
    for (body, field) in [
        (json!({"version": "one"}), Some("version")),
        (json!({"kmsKeyId": "key-1"}), Some("kmsKeyId")),
        (json!({"MaxPodsPerNode": 3}), Some("MaxPodsPerNode")),
        (
            json!({"rotatorConfig": {"use-rotator": true}}),
            Some("rotatorConfig.max-scaling"),
        ),
        (
            json!({"rotatorConfig": {"max-scaling": "5"}}),
            Some("rotatorConfig.max-scaling"),
        ),
    ] {
        assert_error(server.put_json(&path, &body).await, 400, field).await;
    }
    // Nothing differs from the current metadata: accepted, unchanged.
    let (status, dto) = status_json(server.put_json(&path, &json!({})).await).await;
    assert_eq!((status, dto["State"].as_str()), (202, Some("stable")));

    let patch = PatchUpgradeClusterRequest {
        version: Some("1.29.1".into()),
        kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/abcd-1234".into()),
        rotator_config: Some(serde_json::from_value(json!({"use-rotator": false})).unwrap()),
        ..Default::default()
    };
    let dto = server.client().upgrade_cluster(&id, &patch).await.unwrap();
    assert_eq!(dto.cluster.state, ClusterState::UpgradeRequested);
    let kops = dto.cluster.provisioner_metadata_kops.unwrap();
    assert_eq!(kops.change_request.as_ref().unwrap().version, "1.29.1");
    assert_eq!(
        kops.rotator_request.unwrap().config.unwrap().use_rotator,
        Some(false)
    );
    assert_eq!(
        events(&server.store, &id).await.last().unwrap(),
        &pair("stable", "upgrade-requested")
    );

    set_state(&server.store, &id, ClusterState::ResizeFailed).await;
    assert_error(
        server.put_json(&path, &json!({"version": "1.30.0"})).await,
        400,
        None,
    )
    .await;
});

api_test!(resize_checks_the_provisioner_rules, |server| {
    let id = create(&server, json!({})).await;
    let path = format!("/api/cluster/{id}/size");
    set_state(&server.store, &id, ClusterState::Stable).await;
    for (body, field) in [
        (
            json!({"node-instance-type": ""}),
            Some("node-instance-type"),
        ),
        (json!({"node-min-count": 0}), Some("node-min-count")),
        (
            json!({"node-min-count": 4, "node-max-count": 3}),
            Some("node-max-count"),
        ),
        (json!({"nodeGroups": "worker"}), Some("nodeGroups")),
    ] {
        assert_error(server.put_json(&path, &body).await, 400, field).await;
    }
    // kops metadata is still 0/0 before the first refresh: min 5 > max 0.
    assert_error(
        server.put_json(&path, &json!({"node-min-count": 5})).await,
        400,
        Some("node-min-count"),
    )
    .await;
    let (status, dto) = status_json(server.put_json(&path, &json!({"node-min-count": 5, "node-max-count": 5, "master-instance-type": "t3.large"})).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "resize-requested");
    assert_eq!(
        dto["ProvisionerMetadataKops"]["ChangeRequest"]["NodeMinCount"],
        5
    );
    assert_eq!(
        dto["ProvisionerMetadataKops"]["ChangeRequest"]["MasterInstanceType"],
        "t3.large"
    );

    let eks = stable_eks(&server.store).await;
    let eks_path = format!("/api/cluster/{}/size", eks.id);
    assert_error(
        server
            .put_json(&eks_path, &json!({"master-instance-type": "t3.large"}))
            .await,
        400,
        Some("master-instance-type"),
    )
    .await;
    assert_error(
        server
            .put_json(
                &eks_path,
                &json!({"nodeGroups": ["gpu"], "node-min-count": 1}),
            )
            .await,
        400,
        Some("nodeGroups"),
    )
    .await;
    let (status, dto) = status_json(
        server
            .put_json(&eks_path, &json!({"node-min-count": 3}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    let worker = &dto["ProvisionerMetadataEKS"]["ChangeRequest"]["NodeGroups"]["worker"];
    assert_eq!(worker["MinCount"], 3);
    assert_ne!(worker["Name"], "worker-abcdef");
});

api_test!(utilities_return_the_metadata, |server| {
    let id = create(
        &server,
        json!({"utility-versions": {"rtcd": {"Chart": "1.4.0", "ValuesPath": "r.yaml"}}}),
    )
    .await;
    let (status, body) =
        status_json(server.get(&format!("/api/cluster/{id}/utilities")).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["DesiredVersions"]["Rtcd"],
        json!({"Chart": "1.4.0", "ValuesPath": "r.yaml"})
    );
    assert_eq!(body["ActualVersions"]["Rtcd"], Value::Null);
    assert_eq!(body["ManagedByArgocd"], false);
    let typed = server.client().get_cluster_utilities(&id).await.unwrap();
    assert_eq!(typed.desired_versions.0.len(), 13);
});

api_test!(annotations_are_added_and_removed, |server| {
    let id = create(&server, json!({"annotations": ["base"]})).await;
    let path = format!("/api/cluster/{id}/annotations");
    assert_error(server.post_raw(&path, "").await, 400, None).await;
    assert_error(
        server.post_json(&path, &json!({"annotations": []})).await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"annotations": ["UPPER"]}))
            .await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(
        server.post_json(&path, &json!({"annotations": [1]})).await,
        400,
        Some("annotations[0]"),
    )
    .await;
    let (status, dto) = status_json(
        server
            .post_json(&path, &json!({"annotations": ["extra", "base"]}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{dto}");
    let names: Vec<&str> = dto["Annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["base", "extra"]);

    // An installation on the cluster carrying "base" keeps it there.
    Query::new(
        "INSERT INTO installation (id, name, owner_id, state, size, version, image, database_type, \
         filestore_type, affinity, cr_version, create_at) VALUES ('i1', 'i1', 'o', 'stable', '100users', \
         'stable', 'img', 'mysql-operator', 'minio-operator', 'isolated', 'v1beta1', 1)",
    )
    .execute(server.store.conn())
    .await
    .unwrap();
    Query::new("INSERT INTO cluster_installation (id, cluster_id, installation_id, namespace, state, create_at) VALUES ('ci1', ")
        .bind(&id)
        .sql(", 'i1', 'i1', 'stable', 1)")
        .execute(server.store.conn())
        .await
        .unwrap();
    server
        .store
        .installation_annotations_add("i1", &["base".to_string()])
        .await
        .unwrap();
    assert_error(
        server
            .delete(&format!("/api/cluster/{id}/annotation/base"))
            .await,
        403,
        None,
    )
    .await;

    let res = server
        .delete(&format!("/api/cluster/{id}/annotation/extra"))
        .await;
    assert_eq!(res.status().as_u16(), 204);
    server
        .client()
        .delete_cluster_annotation(&id, "never-there")
        .await
        .unwrap();
    let dto = server
        .client()
        .add_cluster_annotations(
            &id,
            &AddAnnotationsRequest {
                annotations: vec!["third".into()],
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = dto.annotations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["base", "third"]);
});

api_test!(nodegroups_are_for_eks_only, |server| {
    let kops = create(&server, json!({})).await;
    set_state(&server.store, &kops, ClusterState::Stable).await;
    let body = json!({"nodegroups": {"spot": {"InstanceType": "m5.xlarge"}}});
    assert_error(
        server
            .post_json(&format!("/api/cluster/{kops}/nodegroups"), &body)
            .await,
        400,
        None,
    )
    .await;
    assert_error(
        server
            .delete(&format!("/api/cluster/{kops}/nodegroup/worker"))
            .await,
        400,
        None,
    )
    .await;

    let eks = stable_eks(&server.store).await.id;
    let path = format!("/api/cluster/{eks}/nodegroups");
    assert_error(server.post_raw(&path, "").await, 400, None).await;
    assert_error(
        server.post_json(&path, &json!({"nodegroups": {}})).await,
        400,
        Some("nodegroups"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"nodegroups": {"worker": {}}}))
            .await,
        400,
        Some("nodegroups"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"nodegroups": {"x": {"MinCount": "2"}}}))
            .await,
        400,
        Some("nodegroups.x.MinCount"),
    )
    .await;
    assert_eq!(state_of(&server.store, &eks).await, ClusterState::Stable);

    let (status, dto) = status_json(server.post_json(&path, &json!({"nodegroups": {"spot": {"InstanceType": "m5.xlarge"}}, "nodegroup-with-sg": ["spot"]})).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "nodegroups-creation-requested");
    let spot = &dto["ProvisionerMetadataEKS"]["ChangeRequest"]["NodeGroups"]["spot"];
    assert_eq!(
        (spot["MinCount"].as_i64(), spot["MaxCount"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(spot["WithSecurityGroup"], true);

    set_state(&server.store, &eks, ClusterState::Stable).await;
    assert_error(
        server
            .delete(&format!("/api/cluster/{eks}/nodegroup/gpu"))
            .await,
        400,
        Some("nodegroup"),
    )
    .await;
    let dto = server
        .client()
        .delete_nodegroup(&eks, "worker")
        .await
        .unwrap();
    assert_eq!(dto.cluster.state, ClusterState::NodegroupsDeletionRequested);
    assert_eq!(
        dto.cluster
            .provisioner_metadata_eks
            .unwrap()
            .change_request
            .unwrap()
            .node_groups["worker"]
            .name,
        "worker-abcdef"
    );
    assert_eq!(dto.cluster.provisioner, Provisioner::Eks);
});

api_test!(delete_respects_the_hosted_installations, |server| {
    let id = create(&server, json!({})).await;
    set_state(&server.store, &id, ClusterState::ResizeFailed).await;
    assert_error(
        server.delete(&format!("/api/cluster/{id}")).await,
        400,
        None,
    )
    .await;
    set_state(&server.store, &id, ClusterState::Stable).await;

    Query::new(
        "INSERT INTO installation (id, name, owner_id, state, size, version, image, database_type, \
         filestore_type, affinity, cr_version, create_at) VALUES ('i1', 'i1', 'o', 'deletion-in-progress', \
         '100users', 'stable', 'img', 'mysql-operator', 'minio-operator', 'isolated', 'v1beta1', 1)",
    )
    .execute(server.store.conn())
    .await
    .unwrap();
    Query::new("INSERT INTO cluster_installation (id, cluster_id, installation_id, namespace, state, create_at) VALUES ('ci1', ")
        .bind(&id)
        .sql(", 'i1', 'i1', 'deleting', 1)")
        .execute(server.store.conn())
        .await
        .unwrap();
    let msg = assert_error(
        server.delete(&format!("/api/cluster/{id}")).await,
        403,
        None,
    )
    .await;
    assert!(msg.contains("cluster installation"), "{msg}");
    Query::new("UPDATE cluster_installation SET delete_at = 9 WHERE id = 'ci1'")
        .execute(server.store.conn())
        .await
        .unwrap();
    let msg = assert_error(
        server.delete(&format!("/api/cluster/{id}")).await,
        403,
        None,
    )
    .await;
    assert!(msg.contains("being deleted"), "{msg}");
    Query::new("UPDATE installation SET state = 'deleted' WHERE id = 'i1'")
        .execute(server.store.conn())
        .await
        .unwrap();
    assert_eq!(state_of(&server.store, &id).await, ClusterState::Stable);

    let res = server.delete(&format!("/api/cluster/{id}")).await;
    assert_eq!(res.status().as_u16(), 202);
    assert!(res.text().await.unwrap().is_empty(), "no body");
    assert_eq!(
        state_of(&server.store, &id).await,
        ClusterState::DeletionRequested
    );
    assert_eq!(
        events(&server.store, &id).await.last().unwrap(),
        &pair("stable", "deletion-requested")
    );
    assert_woken(&server).await;
    let c = server.store.cluster_get(&id).await.unwrap().unwrap();
    assert_eq!(
        (c.lock_acquired_at, c.scheduling_lock_acquired_at),
        (0, 0),
        "both locks released"
    );
    // Again: accepted, nothing new.
    let before = events(&server.store, &id).await.len();
    server.client().delete_cluster(&id).await.unwrap();
    assert_eq!(events(&server.store, &id).await.len(), before);
});

api_test!(list_pages_and_includes_deleted_on_request, |server| {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(&server, json!({})).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    server.store.cluster_delete(&ids[0]).await.unwrap();
    let client = server.client();
    let live = client.get_clusters(&Paging::default()).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|c| c.cluster.id.clone())
            .collect::<Vec<_>>(),
        ids[1..]
    );
    let all = client.get_clusters(&Paging::all()).await.unwrap();
    assert_eq!(all.len(), 3);
    let page = client
        .get_clusters(&Paging {
            page: 1,
            per_page: 1,
            include_deleted: false,
        })
        .await
        .unwrap();
    assert_eq!(page[0].cluster.id, ids[2]);
    assert_error(
        server.get("/api/clusters?per_page=x").await,
        400,
        Some("per_page"),
    )
    .await;
    assert_error(
        server.get("/api/clusters?include_deleted=maybe").await,
        400,
        Some("include_deleted"),
    )
    .await;
    // A deleted cluster is still readable but no longer changeable.
    assert!(
        client
            .get_cluster(&ids[0])
            .await
            .unwrap()
            .unwrap()
            .cluster
            .is_deleted()
    );
    assert_error(
        server
            .put_json(&format!("/api/cluster/{}", ids[0]), &json!({"Name": "x"}))
            .await,
        400,
        None,
    )
    .await;
});
