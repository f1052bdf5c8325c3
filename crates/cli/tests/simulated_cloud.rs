//! `cloud server --simulate-cloud`: the supervisors run against the
//! in-memory cloud, so a cluster created with `cloud cluster create` moves
//! to `stable` by itself, and a deleted one to `deleted`, on SQLite and on
//! PostgreSQL.

use crate::common::*;
use cloud_store::testing::TestDb;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn wait_for_state(server: &CloudServer, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = server
            .cloud(&["cluster", "get", "--cluster", id])
            .await
            .success()
            .json();
        if got["State"] == state {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "cluster {id} did not reach {state}: {got}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_then_delete(server: &CloudServer) {
    let id = server.cloud(&["cluster", "create"]).await.success().json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let stable = wait_for_state(server, &id, "stable").await;
    assert!(stable.get("Step").is_none(), "{stable}");
    assert!(stable.get("LastError").is_none(), "{stable}");
    server
        .cloud(&["cluster", "delete", "--cluster", &id])
        .await
        .success();
    let deleted = wait_for_state(server, &id, "deleted").await;
    assert!(deleted["DeleteAt"].as_i64().unwrap() > 0, "{deleted}");
}

#[tokio::test]
async fn a_cluster_reaches_stable_on_its_own_with_sqlite() {
    let server = CloudServer::start_with(&["--simulate-cloud", "--poll", "5"]).await;
    create_then_delete(&server).await;
    assert!(
        server.log().contains("the cloud is simulated"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn a_cluster_reaches_stable_on_its_own_with_postgres() {
    let (url, admin, name) = TestDb::postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let server = CloudServer::spawn(dir, Some(url), &["--simulate-cloud"])
        .await
        .unwrap_or_else(|log| panic!("server did not start:\n{log}"));
    create_then_delete(&server).await;
    drop(server);
    TestDb::drop_postgres_database(&admin, &name).await;
}

#[tokio::test]
async fn without_the_simulation_clusters_wait_and_the_server_says_why() {
    let server = CloudServer::start().await;
    let id = server.cloud(&["cluster", "create"]).await.success().json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = server
        .cloud(&["cluster", "get", "--cluster", &id])
        .await
        .success()
        .json();
    assert_eq!(got["State"], "creation-requested");
    assert!(
        server.log().contains("run only with --simulate-cloud"),
        "{}",
        server.log()
    );
}
