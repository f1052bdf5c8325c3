//! `cloud event list` and `cloud events state-change list` against a real
//! `cloud server`: both spellings, filters, table and `--json`.

use crate::common::*;
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_store::SqlStore;

#[tokio::test]
async fn state_change_events_through_the_cli() {
    let server = CloudServer::start().await;
    let store = SqlStore::open(&server.database).await.unwrap();
    for change in [
        NewStateChange::new(ResourceType::Cluster, "c1", "n/a", "creation-requested"),
        NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "n/a",
            "creation-requested",
        ),
        NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "creation-requested",
            "stable",
        ),
    ] {
        store.event_record(&change).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    store.close().await;

    let all = server
        .cloud(&["event", "list", "--json"])
        .await
        .success()
        .json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["StateChange"]["NewState"], "stable");

    let table = server
        .cloud(&[
            "events",
            "state-change",
            "list",
            "--resource-type",
            "installation",
            "--resource-id",
            "i1",
        ])
        .await
        .success()
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for column in [
        "ID",
        "RESOURCE TYPE",
        "RESOURCE ID",
        "OLD STATE",
        "NEW STATE",
        "TIMESTAMP",
    ] {
        assert!(lines[0].contains(column), "{table}");
    }
    assert!(
        lines[1].contains("installation") && lines[1].contains("stable"),
        "{table}"
    );
    assert!(lines[1].contains("+0000 UTC"), "{table}");

    let page = server
        .cloud(&["event", "list", "--json", "--page", "1", "--per-page", "2"])
        .await
        .success()
        .json();
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["StateChange"]["ResourceID"], "c1");

    server
        .cloud(&["event", "list", "--resource-type", "clusters"])
        .await
        .failure()
        .stderr_has(&["clusters"]);
}
