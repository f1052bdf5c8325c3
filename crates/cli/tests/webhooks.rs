//! `cloud webhook …` against a real `cloud server`: create with custom
//! headers, list (table and `--json`), get, delete, and the errors.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn webhook_lifecycle_through_the_cli() {
    let server = CloudServer::start().await;
    let created = server
        .cloud(&[
            "webhook",
            "create",
            "--owner",
            "e2e",
            "--url",
            "http://localhost:11111",
            "--header",
            "X-Token=abc",
            "--header-from-env",
            "X-Secret=HOOK_SECRET",
        ])
        .await
        .success()
        .json();
    assert_eq!(created["OwnerID"], "e2e");
    assert_eq!(
        created["Headers"],
        json!([{"key": "X-Token", "value": "abc"}, {"key": "X-Secret", "value_from_env": "HOOK_SECRET"}])
    );
    let id = created["ID"].as_str().unwrap().to_string();
    // Four-space indented JSON, as the original prints.
    let out = server
        .cloud(&["webhook", "get", "--webhook", &id])
        .await
        .success();
    assert!(out.stdout.contains("\n    \"ID\": "), "{}", out.stdout);
    assert_eq!(out.json(), created);

    let table = server.cloud(&["webhook", "list"]).await.success().stdout;
    assert_columns(&table, &["ID", "OWNER", "URL", "HTTP HEADERS"]);
    let row = table.lines().nth(1).unwrap();
    assert!(row.starts_with(&id), "{row}");
    assert!(
        row.contains("X-Token: abc, X-Secret: ${HOOK_SECRET}"),
        "{row}"
    );

    let listed = server
        .cloud(&["webhook", "list", "--json", "--owner", "e2e"])
        .await
        .success()
        .json();
    assert_eq!(listed, json!([created]));
    let none = server
        .cloud(&["webhook", "list", "--json", "--owner", "nobody"])
        .await
        .success()
        .json();
    assert_eq!(none, Value::Array(vec![]));

    server
        .cloud(&["webhook", "delete", "--webhook", &id])
        .await
        .success();
    let deleted = server
        .cloud(&["webhook", "get", "--webhook", &id])
        .await
        .success()
        .json();
    assert!(deleted["DeleteAt"].as_i64().unwrap() > 0);
    server
        .cloud(&["webhook", "delete", "--webhook", &id])
        .await
        .failure()
        .stderr_has(&["400", "already deleted"]);
    let with_deleted = server
        .cloud(&["webhook", "list", "--json", "--include-deleted"])
        .await
        .success()
        .json();
    assert_eq!(with_deleted.as_array().unwrap().len(), 1);

    // An unknown webhook prints nothing; a bad URL or a duplicated header is refused.
    let missing = server
        .cloud(&["webhook", "get", "--webhook", "aaaaaaaaaaaaaaaaaaaaaaaaaa"])
        .await
        .success();
    assert_eq!(missing.stdout, "");
    server
        .cloud(&["webhook", "create", "--owner", "o", "--url", "ftp://x"])
        .await
        .failure()
        .stderr_has(&["400", "URL"]);
    server
        .cloud(&[
            "webhook", "create", "--owner", "o", "--url", "http://x", "--header", "A=1",
            "--header", "A=2",
        ])
        .await
        .failure()
        .stderr_has(&["duplicated"]);
    server
        .cloud(&["webhook", "create", "--owner", "o"])
        .await
        .failure()
        .stderr_has(&["--url"]);
}
