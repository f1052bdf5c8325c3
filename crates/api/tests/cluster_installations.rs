//! API tests of the cluster-installation routes: the reads, the security
//! lock, and the Kubernetes routes that answer 501 (after their 404, 410,
//! 403 and 400 checks), over HTTP on SQLite and PostgreSQL.

use crate::common::*;
use cloud_client::cluster_installations::GetClusterInstallationsRequest;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_model::filter::Paging;
use cloud_store::SqlStore;
use serde_json::{Value, json};

const CLUSTER_A: &str = "clusteraclusteraclusteraaa";
const CLUSTER_B: &str = "clusterbclusterbclusterbbb";

async fn create(store: &SqlStore, cluster: &str, installation: &str) -> ClusterInstallation {
    let ci = store
        .cluster_installation_create(&ClusterInstallation::new(
            cluster,
            installation,
            ClusterInstallationState::CreationRequested,
        ))
        .await
        .unwrap();
    // Lists are ordered by CreateAt (milliseconds): keep creation order unambiguous.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    ci
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|ci| ci["ID"].as_str().unwrap().to_string())
        .collect()
}

api_test!(list_and_get_in_the_original_shape, |server| {
    let (status, empty) = status_json(server.get("/api/cluster_installations").await).await;
    assert_eq!(status, 200);
    assert_eq!(empty, json!([]));

    let a = create(&server.store, CLUSTER_A, "installation1installation1").await;
    let b = create(&server.store, CLUSTER_B, "installation1installation1").await;
    let c = create(&server.store, CLUSTER_A, "installation2installation2").await;
    server
        .store
        .cluster_installation_delete(&c.id)
        .await
        .unwrap();

    let (status, one) = status_json(
        server
            .get(&format!("/api/cluster_installation/{}", a.id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        one,
        json!({
            "ID": a.id,
            "ClusterID": CLUSTER_A,
            "InstallationID": "installation1installation1",
            "Namespace": "installation1installation1",
            "State": "creation-requested",
            "CreateAt": a.create_at,
            "DeleteAt": 0,
            "APISecurityLock": false,
            "LockAcquiredBy": null,
            "LockAcquiredAt": 0,
            "IsActive": true
        })
    );
    // Deleted ones are still readable by ID.
    let (status, deleted) = status_json(
        server
            .get(&format!("/api/cluster_installation/{}", c.id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(deleted["DeleteAt"], 0);

    let (_, live) = status_json(server.get("/api/cluster_installations").await).await;
    assert_eq!(ids(&live), [a.id.clone(), b.id.clone()]);
    let (_, on_a) = status_json(
        server
            .get(&format!("/api/cluster_installations?cluster={CLUSTER_A}"))
            .await,
    )
    .await;
    assert_eq!(ids(&on_a), vec![a.id.clone()]);
    let (_, on_a_all) = status_json(
        server
            .get(&format!(
                "/api/cluster_installations?cluster={CLUSTER_A}&include_deleted=true"
            ))
            .await,
    )
    .await;
    assert_eq!(ids(&on_a_all), [a.id.clone(), c.id.clone()]);
    // Empty filters, as the Go client sends them, mean no filter.
    let (_, unfiltered) = status_json(
        server
            .get("/api/cluster_installations?cluster=&installation=")
            .await,
    )
    .await;
    assert_eq!(ids(&unfiltered).len(), 2);
    let (_, of_installation) = status_json(
        server
            .get("/api/cluster_installations?installation=installation1installation1&per_page=1&page=1")
            .await,
    )
    .await;
    assert_eq!(ids(&of_installation), vec![b.id.clone()]);

    for (query, field) in [
        ("page=-1", "page"),
        ("per_page=abc", "per_page"),
        ("include_deleted=2", "include_deleted"),
    ] {
        assert_error(
            server
                .get(&format!("/api/cluster_installations?{query}"))
                .await,
            400,
            Some(field),
        )
        .await;
    }
    assert_error(
        server
            .get(&format!("/api/cluster_installation/{UNKNOWN_ID}"))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server.get("/api/cluster_installation/not-an-id").await,
        404,
        None,
    )
    .await;
});

api_test!(
    kubernetes_routes_check_what_they_can_then_answer_501,
    |server| {
        let ci = create(&server.store, CLUSTER_A, "installation1installation1").await;
        let base = format!("/api/cluster_installation/{}", ci.id);

        for res in [
            server.get(&format!("{base}/config")).await,
            server
                .put_json(
                    &format!("{base}/config"),
                    &json!({"ServiceSettings": {"SiteURL": "https://x"}}),
                )
                .await,
            server
                .post_json(&format!("{base}/exec/mmctl"), &json!(["system", "status"]))
                .await,
            server
                .post_json(&format!("{base}/exec/mattermost"), &json!(["version"]))
                .await,
            server
                .post_json(&format!("{base}/mattermost_cli"), &json!(["version"]))
                .await,
            server.get(&format!("{base}/pprof")).await,
            server.get(&format!("{base}/status")).await,
        ] {
            let message = assert_error(res, 501, None).await;
            assert!(message.contains("Kubernetes"), "{message}");
        }

        // The client's own mistakes come first.
        assert_error(
            server
                .post_json(&format!("{base}/exec/bash"), &json!(["-c", "id"]))
                .await,
            400,
            Some("command"),
        )
        .await;
        assert_error(
            server
                .post_json(&format!("{base}/exec/mmctl"), &json!("system status"))
                .await,
            400,
            None,
        )
        .await;
        assert_error(
            server
                .post_json(&format!("{base}/exec/mmctl"), &json!([1]))
                .await,
            400,
            Some("[0]"),
        )
        .await;
        assert_error(
            server.post_raw(&format!("{base}/exec/mmctl"), "").await,
            400,
            None,
        )
        .await;
        assert_error(
            server
                .post_raw(&format!("{base}/mattermost_cli"), "[")
                .await,
            400,
            None,
        )
        .await;
        assert_error(
            server
                .put_json(
                    &format!("{base}/config"),
                    &json!({"ServiceSettings": {"EnableX": true}}),
                )
                .await,
            400,
            Some("ServiceSettings.EnableX"),
        )
        .await;
        assert_error(
            server.put_json(&format!("{base}/config"), &json!({})).await,
            400,
            None,
        )
        .await;
        assert_error(
            server
                .put_json(&format!("{base}/config"), &json!(["a"]))
                .await,
            400,
            None,
        )
        .await;
        let huge = json!({"A": "x".repeat((1 << 20) + 1)});
        assert_error(
            server.put_json(&format!("{base}/config"), &huge).await,
            413,
            None,
        )
        .await;

        // Unknown: 404. API-locked: 403 for the writes, reads still reach 501.
        assert_error(
            server
                .get(&format!("/api/cluster_installation/{UNKNOWN_ID}/status"))
                .await,
            404,
            None,
        )
        .await;
        server
            .store
            .cluster_installation_set_api_lock(&ci.id, true)
            .await
            .unwrap();
        assert_error(
            server
                .post_json(&format!("{base}/exec/mmctl"), &json!([]))
                .await,
            403,
            None,
        )
        .await;
        assert_error(
            server
                .put_json(&format!("{base}/config"), &json!({"A": "b"}))
                .await,
            403,
            None,
        )
        .await;
        assert_error(server.get(&format!("{base}/config")).await, 501, None).await;

        // Deleted: 410.
        server
            .store
            .cluster_installation_delete(&ci.id)
            .await
            .unwrap();
        assert_error(server.get(&format!("{base}/status")).await, 410, None).await;
        assert_error(server.get(&format!("{base}/pprof")).await, 410, None).await;

        // None of this changed the row beyond what the test did.
        let stored = server
            .store
            .cluster_installation_get(&ci.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, ClusterInstallationState::CreationRequested);
        assert_eq!(stored.lock_acquired_at, 0);
    }
);

api_test!(security_lock_and_unlock, |server| {
    let ci = create(&server.store, CLUSTER_A, "installation1installation1").await;
    for _ in 0..2 {
        let res = server
            .post_raw(
                &format!("/api/security/cluster_installation/{}/api/lock", ci.id),
                "",
            )
            .await;
        assert_eq!(res.status(), 200);
        assert!(
            server
                .store
                .cluster_installation_get(&ci.id)
                .await
                .unwrap()
                .unwrap()
                .api_security_lock
        );
    }
    let res = server
        .post_raw(
            &format!("/api/security/cluster_installation/{}/api/unlock", ci.id),
            "",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        !server
            .store
            .cluster_installation_get(&ci.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    assert_error(
        server
            .post_raw(
                &format!("/api/security/cluster_installation/{UNKNOWN_ID}/api/lock"),
                "",
            )
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .get(&format!(
                "/api/security/cluster_installation/{}/api/lock",
                ci.id
            ))
            .await,
        405,
        None,
    )
    .await;
});

api_test!(the_typed_client_reads_and_reports_501s, |server| {
    let client = server.client();
    let a = create(&server.store, CLUSTER_A, "installation1installation1").await;
    let b = create(&server.store, CLUSTER_B, "installation2installation2").await;
    assert_eq!(
        client
            .get_cluster_installation(&a.id)
            .await
            .unwrap()
            .unwrap(),
        a
    );
    assert!(
        client
            .get_cluster_installation(UNKNOWN_ID)
            .await
            .unwrap()
            .is_none()
    );
    let all = client
        .get_cluster_installations(&GetClusterInstallationsRequest::default())
        .await
        .unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    let on_b = client
        .get_cluster_installations(&GetClusterInstallationsRequest {
            cluster_id: CLUSTER_B.into(),
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(on_b, vec![b]);

    let err = client
        .get_cluster_installation_status(&a.id)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(501));
    assert!(err.to_string().contains("Kubernetes"), "{err}");
    let err = client
        .exec_cluster_installation_cli(&a.id, "mmctl", &["version".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(501));
    let err = client
        .exec_cluster_installation_pprof(&a.id)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(501));

    client
        .lock_api_for_cluster_installation(&a.id)
        .await
        .unwrap();
    let err = client
        .run_mattermost_cli_command_on_cluster_installation(&a.id, &[])
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    client
        .unlock_api_for_cluster_installation(&a.id)
        .await
        .unwrap();
    assert!(
        !client
            .get_cluster_installation(&a.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
});
