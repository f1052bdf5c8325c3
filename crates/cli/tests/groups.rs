//! `cloud group …` against a real `cloud server`: every command, its output
//! (JSON for objects, a table or `--json` for lists) and its errors.

use crate::common::*;
use cloud_store::{Query, SqlStore};
use serde_json::Value;

/// A bare installation row in the server's database.
async fn insert_installation(database: &str, id: &str) {
    let store = SqlStore::open(database).await.unwrap();
    Query::new(
        "INSERT INTO installation (id, name, owner_id, state, size, version, image, database_type, \
         filestore_type, affinity, cr_version, create_at) VALUES (",
    )
    .bind(id)
    .sql(
        ", 'inst', 'owner', 'stable', '100users', 'own-version', 'own/image', 'mysql-operator', \
          'minio-operator', 'isolated', 'installation.mattermost.com/v1beta1', 1)",
    )
    .execute(store.conn())
    .await
    .unwrap();
    store.close().await;
}

async fn installation_column(database: &str, id: &str, column: &str) -> Option<String> {
    let store = SqlStore::open(database).await.unwrap();
    let value: Option<(Option<String>,)> =
        Query::new(format!("SELECT {column} FROM installation WHERE id = "))
            .bind(id)
            .fetch_optional(store.conn())
            .await
            .unwrap();
    store.close().await;
    value.and_then(|(v,)| v)
}

#[tokio::test]
async fn group_lifecycle_through_the_cli() {
    let server = CloudServer::start().await;

    // --dry-run prints the request and creates nothing.
    let dry = server
        .cloud(&[
            "group",
            "create",
            "--name",
            "g1",
            "--max-rolling",
            "3",
            "--dry-run",
        ])
        .await
        .success()
        .json();
    assert_eq!(dry["Name"], "g1");
    assert_eq!(dry["MaxRolling"], 3);
    let none = server
        .cloud(&["group", "list", "--json"])
        .await
        .success()
        .json();
    assert_eq!(none, Value::Array(vec![]));

    let created = server
        .cloud(&[
            "group",
            "create",
            "--name",
            "g1",
            "--version",
            "9.5.0",
            "--mattermost-env",
            "MM_A=1",
            "--annotation",
            "prod-tag",
            "--scheduling",
            r#"{"NodeSelector":{"pool":"mm"}}"#,
        ])
        .await
        .success()
        .json();
    let id = created["ID"].as_str().unwrap().to_string();
    assert_eq!(created["MaxRolling"], 1);
    assert_eq!(created["MattermostEnv"]["MM_A"]["value"], "1");
    assert_eq!(created["annotations"][0]["Name"], "prod-tag");
    assert_eq!(created["Scheduling"]["NodeSelector"]["pool"], "mm");

    let got = server
        .cloud(&["group", "get", "--group", &id])
        .await
        .success()
        .json();
    assert_eq!(got, created);

    // The table by default, JSON on request.
    let table = server.cloud(&["group", "list"]).await.success().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "NAME", "SEQ", "ROL", "IMAGE", "VERSION", "ENV?"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row, [id.as_str(), "g1", "0", "1", "9.5.0", "yes"]);
    let counted = server
        .cloud(&["group", "list", "--include-installation-count", "--json"])
        .await
        .success()
        .json();
    assert_eq!(counted[0]["installation_count"], 0);

    let updated = server
        .cloud(&[
            "group",
            "update",
            "--group",
            &id,
            "--version",
            "10.0.0",
            "--max-rolling",
            "0",
        ])
        .await
        .success()
        .json();
    assert_eq!(updated["Sequence"], 1);
    assert_eq!(updated["MaxRolling"], 0);
    assert_eq!(updated["Name"], "g1");
    let cleared = server
        .cloud(&[
            "group",
            "update",
            "--group",
            &id,
            "--mattermost-env-clear",
            "--force-sequence-update",
        ])
        .await
        .success()
        .json();
    assert_eq!(cleared["Sequence"], 2);
    assert_eq!(cleared["MattermostEnv"], Value::Null);

    // Membership.
    let inst = "cliinstallationcliinstall1";
    insert_installation(&server.database, inst).await;
    server
        .cloud(&["group", "join", "--group", &id, "--installation", inst])
        .await
        .success();
    assert_eq!(
        installation_column(&server.database, inst, "group_id")
            .await
            .as_deref(),
        Some(id.as_str())
    );
    let status = server
        .cloud(&["group", "status", "--group", &id])
        .await
        .success()
        .json();
    assert_eq!(status["InstallationsTotal"], 1);
    assert_eq!(status["InstallationsAwaitingUpdate"], 1);
    let statuses = server.cloud(&["group", "statuses"]).await.success().json();
    assert_eq!(statuses[0]["ID"], id.as_str());
    server
        .cloud(&["group", "delete", "--group", &id])
        .await
        .failure()
        .stderr_has(&["403"]);

    server
        .cloud(&["group", "leave", "--installation", inst])
        .await
        .success();
    assert_eq!(
        installation_column(&server.database, inst, "group_id").await,
        None
    );
    // Config retained from the group: its version.
    assert_eq!(
        installation_column(&server.database, inst, "version")
            .await
            .as_deref(),
        Some("10.0.0")
    );
    assert_eq!(
        installation_column(&server.database, inst, "state")
            .await
            .as_deref(),
        Some("update-requested")
    );
    server
        .cloud(&[
            "group",
            "assign",
            "--installation",
            inst,
            "--group-selection-annotation",
            "prod-tag",
        ])
        .await
        .success();
    assert_eq!(
        installation_column(&server.database, inst, "group_id")
            .await
            .as_deref(),
        Some(id.as_str())
    );
    server
        .cloud(&[
            "group",
            "leave",
            "--installation",
            inst,
            "--retain-config=false",
        ])
        .await
        .success();

    // Annotations.
    let annotated = server
        .cloud(&[
            "group",
            "annotation",
            "add",
            "--group",
            &id,
            "--annotation",
            "second-tag",
        ])
        .await
        .success()
        .json();
    assert_eq!(annotated["annotations"].as_array().unwrap().len(), 2);
    server
        .cloud(&[
            "group",
            "annotation",
            "delete",
            "--group",
            &id,
            "--annotation",
            "prod-tag",
        ])
        .await
        .success();
    let got = server
        .cloud(&["group", "get", "--group", &id])
        .await
        .success()
        .json();
    assert_eq!(got["annotations"][0]["Name"], "second-tag");

    server
        .cloud(&["group", "delete", "--group", &id])
        .await
        .success();
    let table = server.cloud(&["group", "list"]).await.success().stdout;
    assert_eq!(table.lines().count(), 1, "only the header: {table}");
    let deleted = server
        .cloud(&["group", "get", "--group", &id])
        .await
        .success()
        .json();
    assert_ne!(deleted["DeleteAt"], 0);
}

#[tokio::test]
async fn cli_mistakes_and_server_errors_are_reported() {
    let server = CloudServer::start().await;
    server
        .cloud(&["group", "create"])
        .await
        .failure()
        .stderr_has(&["--name"]);

    server
        .cloud(&["group", "create", "--name", "g", "--max-rolling", "-1"])
        .await
        .failure()
        .stderr_has(&["MaxRolling"]);
    server
        .cloud(&["group", "create", "--name", "g", "--scheduling", "{broken"])
        .await
        .failure()
        .stderr_has(&["--scheduling"]);

    server
        .cloud(&[
            "group",
            "update",
            "--group",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa",
            "--name",
            "x",
        ])
        .await
        .failure()
        .stderr_has(&["404"]);
    // Unknown objects print nothing on get, as in the original.
    let got = server
        .cloud(&["group", "get", "--group", "aaaaaaaaaaaaaaaaaaaaaaaaaa"])
        .await
        .success();
    assert_eq!(got.stdout, "");
    server
        .cloud(&[
            "group",
            "update",
            "--group",
            "x",
            "--mattermost-env",
            "A=1",
            "--mattermost-env-clear",
        ])
        .await
        .failure()
        .stderr_has(&["--mattermost-env-clear"]);
    server
        .cloud(&[
            "group",
            "leave",
            "--installation",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa",
            "--retain-config=maybe",
        ])
        .await
        .failure()
        .stderr_has(&["retain-config"]);
    assert_eq!(
        server
            .cloud(&["group", "list", "--json"])
            .await
            .success()
            .json(),
        Value::Array(vec![])
    );
}
