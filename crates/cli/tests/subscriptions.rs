//! `cloud subscription …` against a real `cloud server`: create (with a Go
//! duration threshold), list (table and `--json`), get, delete, errors.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn subscription_lifecycle_through_the_cli() {
    let server = CloudServer::start().await;
    let mut created = server
        .cloud(&[
            "subscription",
            "create",
            "--name",
            "E2e Event Listener",
            "--url",
            "http://localhost:11112",
            "--owner",
            "e2e-test",
            "--failure-threshold",
            "30s",
            "--header",
            "X-A=1",
        ])
        .await
        .success()
        .json();
    // The signing secret is shown once, by create.
    let secret = created.as_object_mut().unwrap().remove("Secret").unwrap();
    assert_eq!(secret.as_str().unwrap().len(), 64);
    assert_eq!(created["FailureThreshold"], 30_000_000_000i64);
    assert_eq!(created["EventType"], "resourceStateChange");
    assert_eq!(created["LastDeliveryStatus"], "");
    assert_eq!(created["Headers"], json!([{"key": "X-A", "value": "1"}]));
    let id = created["ID"].as_str().unwrap().to_string();

    let got = server
        .cloud(&["subscription", "get", "--subscription", &id])
        .await
        .success()
        .json();
    assert_eq!(got, created);

    let table = server
        .cloud(&["subscription", "list"])
        .await
        .success()
        .stdout;
    assert_columns(
        &table,
        &[
            "ID",
            "EVENT TYPE",
            "OWNER",
            "LAST DELIVERY ATTEMPT",
            "LAST DELIVERY STATUS",
        ],
    );
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&id) && row.contains("resourceStateChange") && row.contains("e2e-test"),
        "{row}"
    );

    let mine = server
        .cloud(&[
            "subscription",
            "list",
            "--json",
            "--owner",
            "e2e-test",
            "--event-type",
            "resourceStateChange",
        ])
        .await
        .success()
        .json();
    assert_eq!(mine, json!([created]));

    server
        .cloud(&["subscription", "delete", "--subscription", &id])
        .await
        .success();
    let live = server
        .cloud(&["subscription", "list", "--json"])
        .await
        .success()
        .json();
    assert_eq!(live, json!([]));
    server
        .cloud(&["subscription", "delete", "--subscription", &id])
        .await
        .failure()
        .stderr_has(&["400"]);

    server
        .cloud(&[
            "subscription",
            "create",
            "--url",
            "http://a",
            "--owner",
            "o",
            "--failure-threshold",
            "73h",
        ])
        .await
        .failure()
        .stderr_has(&["FailureThreshold"]);
    server
        .cloud(&[
            "subscription",
            "create",
            "--url",
            "http://a",
            "--owner",
            "o",
            "--event-type",
            "other",
        ])
        .await
        .failure()
        .stderr_has(&["EventType"]);
}
