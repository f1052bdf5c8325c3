//! `cloud security …` and `cloud cluster installation …` against a real
//! `cloud server`.

use crate::common::*;
use cloud_model::cluster_installation::{ClusterInstallation, ClusterInstallationState};
use cloud_store::SqlStore;

const CLUSTER: &str = "clusteraclusteraclusteraaa";

async fn create_ci(database: &str, installation: &str) -> ClusterInstallation {
    let store = SqlStore::open(database).await.unwrap();
    let ci = store
        .cluster_installation_create(&ClusterInstallation::new(
            CLUSTER,
            installation,
            ClusterInstallationState::Stable,
        ))
        .await
        .unwrap();
    store.close().await;
    ci
}

async fn ci_locked(database: &str, id: &str) -> bool {
    let store = SqlStore::open(database).await.unwrap();
    let ci = store.cluster_installation_get(id).await.unwrap().unwrap();
    store.close().await;
    ci.api_security_lock
}

#[tokio::test]
async fn group_api_lock_blocks_updates_until_unlocked() {
    let server = CloudServer::start().await;
    let group = server
        .cloud(&["group", "create", "--name", "g"])
        .await
        .success()
        .json();
    let id = group["ID"].as_str().unwrap();

    let out = server
        .cloud(&["security", "group", "api-lock", "--group", id])
        .await
        .success();
    assert_eq!(out.stdout, "");
    let refused = server
        .cloud(&["group", "update", "--group", id, "--name", "x"])
        .await
        .failure();
    assert!(refused.stderr.contains("403"), "{}", refused.stderr);
    assert!(refused.stderr.contains("API-locked"), "{}", refused.stderr);
    // The ID flag may also come before the action.
    server
        .cloud(&["security", "group", "--group", id, "api-unlock"])
        .await
        .success();
    server
        .cloud(&["group", "update", "--group", id, "--name", "x"])
        .await
        .success();

    server
        .cloud(&["security", "group", "api-lock"])
        .await
        .failure()
        .stderr_has(&["--group"]);
    server
        .cloud(&[
            "security",
            "group",
            "api-lock",
            "--group",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa",
        ])
        .await
        .failure()
        .stderr_has(&["404"]);
}

#[tokio::test]
async fn cluster_installation_commands_and_lock() {
    let server = CloudServer::start().await;
    let ci = create_ci(&server.database, "installation1installation1").await;
    create_ci(&server.database, "installation2installation2").await;

    server
        .cloud(&[
            "security",
            "cluster-installation",
            "api-lock",
            "--cluster-installation",
            &ci.id,
        ])
        .await
        .success();
    assert!(ci_locked(&server.database, &ci.id).await);
    server
        .cloud(&[
            "security",
            "cluster-installation",
            "api-unlock",
            "--cluster-installation",
            &ci.id,
        ])
        .await
        .success();
    assert!(!ci_locked(&server.database, &ci.id).await);

    let got = server
        .cloud(&[
            "cluster",
            "installation",
            "get",
            "--cluster-installation",
            &ci.id,
        ])
        .await
        .success()
        .json();
    assert_eq!(got["ID"], ci.id.as_str());
    assert_eq!(got["State"], "stable");

    let table = server
        .cloud(&[
            "cluster",
            "installation",
            "list",
            "--installation",
            "installation1installation1",
        ])
        .await
        .success()
        .stdout;
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["ID", "STATE", "INSTALLATION", "ID", "CLUSTER", "ID"]
    );
    assert_eq!(
        lines[1],
        [
            ci.id.as_str(),
            "stable",
            "installation1installation1",
            CLUSTER
        ]
    );
    assert_eq!(lines.len(), 2);
    let all = server
        .cloud(&[
            "cluster",
            "installation",
            "list",
            "--cluster",
            CLUSTER,
            "--json",
        ])
        .await
        .success()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Kubernetes-backed commands say why they cannot run.
    for args in [
        vec![
            "cluster",
            "installation",
            "status",
            "--cluster-installation",
            &ci.id,
        ],
        vec![
            "cluster",
            "installation",
            "mmctl",
            "--cluster-installation",
            &ci.id,
            "--command",
            "system status",
        ],
        vec![
            "cluster",
            "installation",
            "config",
            "get",
            "--cluster-installation",
            &ci.id,
        ],
    ] {
        let out = server.cloud(&args).await.failure();
        assert!(out.stderr.contains("501"), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("Kubernetes"),
            "{args:?}: {}",
            out.stderr
        );
    }
    server
        .cloud(&[
            "cluster",
            "installation",
            "config",
            "set",
            "--cluster-installation",
            &ci.id,
            "--key",
            "A..B",
            "--value",
            "v",
        ])
        .await
        .failure()
        .stderr_has(&["dotted"]);
}
