//! `cloud cluster …` against a real `cloud server` (SQLite, no supervisors,
//! so clusters stay in the states the commands put them in).

use crate::common::*;
use serde_json::Value;

async fn server() -> CloudServer {
    CloudServer::start_with(&["--disable-all-supervisors"]).await
}

#[tokio::test]
async fn create_list_get_update_and_delete() {
    let server = server().await;
    let out = server
        .cloud(&[
            "cluster",
            "create",
            "--size",
            "SizeAlef1000",
            "--annotation",
            "gpu",
            "--zones",
            "us-east-1b",
            "--nginx-version",
            "4.12.0",
            "--nginx-values",
            "n.yaml",
        ])
        .await
        .success();
    let created = out.json();
    let id = created["ID"].as_str().unwrap().to_string();
    assert_eq!(created["State"], "creation-requested");
    assert_eq!(created["AllowInstallations"], true);
    assert_eq!(created["ProviderMetadataAWS"]["Zones"][0], "us-east-1b");
    let cr = &created["ProvisionerMetadataKops"]["ChangeRequest"];
    assert_eq!(
        (
            cr["MasterInstanceType"].as_str(),
            cr["NodeMinCount"].as_i64()
        ),
        (Some("t3.large"), Some(4))
    );
    assert_eq!(
        created["UtilityMetadata"]["DesiredVersions"]["Nginx"]["Chart"],
        "4.12.0"
    );
    assert_eq!(
        created["UtilityMetadata"]["DesiredVersions"]["Thanos"]["Chart"],
        "13.2.2"
    );
    assert_eq!(created["Annotations"][0]["Name"], "gpu");
    assert!(
        out.stdout.contains("\n    \"ID\""),
        "four-space JSON: {}",
        out.stdout
    );

    let table = server
        .cloud(&["cluster", "list", "--show-tags"])
        .await
        .success()
        .stdout;
    assert_columns(
        &table,
        &[
            "ID",
            "NAME",
            "STATE",
            "VERSION",
            "MASTER NODES",
            "WORKER NODES",
            "NETWORKING",
            "VPC",
            "STATUS",
            "TAG",
        ],
    );
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.contains(&id)
            && row.contains("creation-requested")
            && row.contains("online")
            && row.contains("gpu"),
        "{row}"
    );

    let list = server
        .cloud(&["cluster", "list", "--json"])
        .await
        .success()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["ID"], Value::String(id.clone()));

    let got = server
        .cloud(&["cluster", "get", "--cluster", &id])
        .await
        .success()
        .json();
    assert_eq!(got, created);
    let updated = server
        .cloud(&[
            "cluster",
            "update",
            "--cluster",
            &id,
            "--name",
            "main",
            "--allow-installations=false",
        ])
        .await
        .success()
        .json();
    assert_eq!(
        (
            updated["Name"].as_str(),
            updated["AllowInstallations"].as_bool()
        ),
        (Some("main"), Some(false))
    );

    let utilities = server
        .cloud(&["cluster", "utilities", "--cluster", &id])
        .await
        .success()
        .json();
    assert_eq!(
        utilities["DesiredVersions"]["Nginx"]["ValuesPath"],
        "n.yaml"
    );

    server
        .cloud(&["cluster", "delete", "--cluster", &id])
        .await
        .success();
    let got = server
        .cloud(&["cluster", "get", "--cluster", &id])
        .await
        .success()
        .json();
    assert_eq!(got["State"], "deletion-requested");
}

#[tokio::test]
async fn annotations_and_api_errors() {
    let server = server().await;
    let id = server.cloud(&["cluster", "create"]).await.success().json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let dto = server
        .cloud(&[
            "cluster",
            "annotation",
            "add",
            "--cluster",
            &id,
            "--annotation",
            "abc",
            "--annotation",
            "def",
        ])
        .await
        .success()
        .json();
    assert_eq!(dto["Annotations"].as_array().unwrap().len(), 2);
    server
        .cloud(&[
            "cluster",
            "annotation",
            "delete",
            "--cluster",
            &id,
            "--annotation",
            "abc",
        ])
        .await
        .success();
    let got = server
        .cloud(&["cluster", "get", "--cluster", &id])
        .await
        .success()
        .json();
    assert_eq!(got["Annotations"][0]["Name"], "def");

    // The server's JSON error reaches the user.
    server
        .cloud(&[
            "cluster",
            "annotation",
            "add",
            "--cluster",
            &id,
            "--annotation",
            "Bad Name",
        ])
        .await
        .failure()
        .stderr_has(&["400", "annotation"]);
    server
        .cloud(&["cluster", "provision", "--cluster", &id])
        .await
        .failure()
        .stderr_has(&["400", "creation-requested"]);
    server
        .cloud(&[
            "cluster",
            "nodegroup",
            "delete",
            "--cluster",
            &id,
            "--nodegroup",
            "worker",
        ])
        .await
        .failure()
        .stderr_has(&["EKS"]);
    server
        .cloud(&["cluster", "create", "--size", "Huge"])
        .await
        .failure();
}

#[tokio::test]
async fn offline_commands_and_dry_run() {
    // No server needed: nothing is sent.
    let sizes = cloud(&["cluster", "dictionary"]).await.success().json();
    assert_eq!(sizes["SizeAlef10000"]["MasterCount"], 3);
    assert_eq!(sizes.as_object().unwrap().len(), 5);
    let report = cloud(&["cluster", "state-report"]).await.success().json();
    assert_eq!(report[0]["RequestedState"], "creation-requested");
    assert_eq!(
        report[0]["ValidStates"],
        serde_json::json!(["creation-requested", "creation-failed"])
    );

    let request = cloud(&[
        "cluster",
        "create",
        "--dry-run",
        "--eks",
        "--size",
        "SizeAlefDev",
    ])
    .await
    .success()
    .json();
    assert_eq!(request["provisioner"], "eks");
    assert_eq!(request["node-instance-type"], "t3.medium");
    assert_eq!(request["utility-versions"].as_object().unwrap().len(), 13);
    let request = cloud(&[
        "cluster",
        "upgrade",
        "--cluster",
        "c1",
        "--version",
        "1.29.0",
        "--dry-run",
    ])
    .await
    .success()
    .json();
    assert_eq!(request["version"], "1.29.0");
    assert_eq!(request["rotatorConfig"]["max-scaling"], 5);
    assert!(request.get("ami").is_none());
    let request = cloud(&["cluster", "provision", "--cluster", "c1", "--dry-run"])
        .await
        .success();
    assert_eq!(request.stdout.trim(), "null");
}
