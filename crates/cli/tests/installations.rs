//! `cloud installation …` against a real `cloud server`: the seed README's
//! workflow, the output formats (JSON objects, a table or `--json` for
//! lists, hidden license and env) and the errors.

use crate::common::*;
use cloud_model::installation::InstallationState;
use cloud_store::SqlStore;
use serde_json::Value;

async fn set_state(database: &str, id: &str, state: InstallationState) {
    let store = SqlStore::open(database).await.unwrap();
    let mut i = store.installation_get(id).await.unwrap().unwrap();
    let old = i.state;
    i.state = state;
    store.installation_update_state(&i, old).await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn the_readme_workflow_through_the_cli() {
    let server =
        CloudServer::start_with(&["--deploy-mysql-operator", "--deploy-minio-operator"]).await;
    let create = [
        "installation",
        "create",
        "--owner",
        "stelios",
        "--dns",
        "stelios.test.cloud.mattermost.com",
        "--size",
        "100users",
        "--affinity",
        "multitenant",
    ];

    // --dry-run prints the request (one --dns goes in the deprecated DNS) and creates nothing.
    let mut dry = create.to_vec();
    dry.push("--dry-run");
    let request = server.cloud(&dry).await.success().json();
    assert_eq!(request["DNS"], "stelios.test.cloud.mattermost.com");
    assert_eq!(request["DNSNames"], Value::Array(vec![]));
    assert_eq!(
        server
            .cloud(&["installation", "list", "--json"])
            .await
            .success()
            .json(),
        Value::Array(vec![])
    );

    let mut with_license = create.to_vec();
    with_license.extend(["--license", "secret-license", "--mattermost-env", "MM_A=1"]);
    let created = server.cloud(&with_license).await.success().json();
    let id = created["ID"].as_str().unwrap().to_string();
    assert_eq!(created["State"], "creation-requested");
    assert_eq!(created["Database"], "mysql-operator");
    assert_eq!(created["Affinity"], "multitenant");
    assert_eq!(created["License"], "secret-license");

    // The list is a table by default, JSON with --json; both hide the license.
    let table = server
        .cloud(&["installation", "list"])
        .await
        .success()
        .stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "STATE",
            "VERSION",
            "DATABASE",
            "FILESTORE",
            "DNS",
            "API-LOCKED",
            "DELETION-LOCKED"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        row,
        [
            id.as_str(),
            "creation-requested",
            "stable",
            "mysql-operator",
            "minio-operator",
            "stelios.test.cloud.mattermost.com",
            "false",
            "false"
        ]
    );
    let list = server
        .cloud(&["installation", "list", "--json", "--owner", "stelios"])
        .await
        .success()
        .json();
    assert_eq!(list[0]["License"], "hidden (--hide-license=true)");
    assert_eq!(
        list[0]["MattermostEnv"],
        serde_json::json!({"hidden (1 env vars) (--hide-env=true)": {}})
    );
    let none = server
        .cloud(&["installation", "list", "--json", "--owner", "nobody"])
        .await
        .success()
        .json();
    assert_eq!(none, Value::Array(vec![]));

    let got = server
        .cloud(&["installation", "get", "--installation", &id])
        .await
        .success()
        .json();
    assert_eq!(got["License"], "hidden (--hide-license=true)");
    let shown = server
        .cloud(&[
            "installation",
            "get",
            "--installation",
            &id,
            "--hide-license=false",
            "--hide-env=false",
        ])
        .await
        .success()
        .json();
    assert_eq!(shown["License"], "secret-license");
    assert_eq!(shown["MattermostEnv"]["MM_A"]["value"], "1");
    let missing = server
        .cloud(&[
            "installation",
            "get",
            "--installation",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa",
        ])
        .await
        .success();
    assert_eq!(missing.stdout, "");

    let status = server
        .cloud(&["installation", "status"])
        .await
        .success()
        .json();
    assert_eq!(status["InstallationsTotal"], 1);
    let report = server
        .cloud(&["installation", "state-report"])
        .await
        .success()
        .json();
    assert_eq!(report[0]["RequestedState"], "creation-requested");

    // Annotations and domain names.
    let annotated = server
        .cloud(&[
            "installation",
            "annotation",
            "add",
            "--installation",
            &id,
            "--annotation",
            "team-a",
        ])
        .await
        .success()
        .json();
    assert_eq!(annotated["Annotations"][0]["Name"], "team-a");
    server
        .cloud(&[
            "installation",
            "annotation",
            "delete",
            "--installation",
            &id,
            "--annotation",
            "team-a",
        ])
        .await
        .success();
    server
        .cloud(&[
            "installation",
            "dns",
            "add",
            "--installation",
            &id,
            "--domain",
            "other.example.com",
        ])
        .await
        .failure()
        .stderr_has(&["400"]);
    set_state(&server.database, &id, InstallationState::Stable).await;
    let added = server
        .cloud(&[
            "installation",
            "dns",
            "add",
            "--installation",
            &id,
            "--domain",
            "other.example.com",
        ])
        .await
        .success()
        .json();
    assert_eq!(added["State"], "update-requested");
    let other_id = added["DNSRecords"][1]["ID"].as_str().unwrap().to_string();
    set_state(&server.database, &id, InstallationState::Stable).await;
    let switched = server
        .cloud(&[
            "installation",
            "dns",
            "set-primary",
            "--installation",
            &id,
            "--domain-id",
            &other_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(switched["Name"], "other");

    // Update, hibernate, delete.
    set_state(&server.database, &id, InstallationState::Stable).await;
    let updated = server
        .cloud(&[
            "installation",
            "update",
            "--installation",
            &id,
            "--version",
            "9.11.0",
        ])
        .await
        .success()
        .json();
    assert_eq!(updated["Version"], "9.11.0");
    assert_eq!(updated["State"], "update-requested");
    set_state(&server.database, &id, InstallationState::Stable).await;
    let hibernating = server
        .cloud(&["installation", "hibernate", "--installation", &id])
        .await
        .success()
        .json();
    assert_eq!(hibernating["State"], "hibernation-requested");
    set_state(&server.database, &id, InstallationState::Hibernating).await;
    server
        .cloud(&["installation", "delete", "--installation", &id])
        .await
        .success();
    let after = server
        .cloud(&["installation", "get", "--installation", &id])
        .await
        .success()
        .json();
    assert_eq!(after["State"], "deletion-pending-requested");

    server
        .cloud(&[
            "installation",
            "delete",
            "--installation",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa",
        ])
        .await
        .failure()
        .stderr_has(&["404"]);
}

#[tokio::test]
async fn the_default_server_refuses_in_cluster_operators() {
    let server = CloudServer::start().await;
    server
        .cloud(&[
            "installation",
            "create",
            "--owner",
            "o",
            "--dns",
            "x1.example.com",
        ])
        .await
        .failure()
        .stderr_has(&["400", "minio"]);
    let ok = server
        .cloud(&[
            "installation",
            "create",
            "--owner",
            "o",
            "--dns",
            "x1.example.com,x1.example.org",
            "--database",
            "aws-multitenant-rds-postgres",
            "--filestore",
            "bifrost",
        ])
        .await
        .success()
        .json();
    assert_eq!(ok["DNSRecords"].as_array().unwrap().len(), 2);
}
