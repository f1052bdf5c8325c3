//! API tests of `GET /api/events/state_change` (route 103) over HTTP, on
//! SQLite and PostgreSQL: the original's shape, newest first, the
//! `resource_type` / `resource_id` filters, paging and bad parameters.

use crate::common::*;
use cloud_model::event::{NewStateChange, ResourceType, StateChangeEventFilter};
use cloud_model::filter::Paging;
use serde_json::json;

api_test!(state_change_events_are_listed_newest_first, |server| {
    let changes = [
        NewStateChange::new(ResourceType::Cluster, "c1", "n/a", "creation-requested"),
        NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "n/a",
            "creation-requested",
        )
        .with("Name", "alpha"),
        NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "creation-requested",
            "creation-in-progress",
        )
        .with("Name", "alpha"),
    ];
    for change in &changes {
        server.store.event_record(change).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }

    let (status, all) = status_json(server.get("/api/events/state_change").await).await;
    assert_eq!(status, 200);
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    let newest = &all[0];
    assert_eq!(newest["StateChange"]["NewState"], "creation-in-progress");
    assert_eq!(newest["StateChange"]["ResourceType"], "installation");
    assert_eq!(newest["Event"]["EventType"], "resourceStateChange");
    assert_eq!(newest["Event"]["ExtraData"]["fields"]["Name"], "alpha");
    assert!(newest["Event"]["ExtraData"]["fields"]["Environment"].is_string());
    assert_eq!(newest["StateChange"]["EventID"], newest["Event"]["ID"]);
    let mut keys: Vec<&str> = newest["StateChange"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "EventID",
            "ID",
            "NewState",
            "OldState",
            "ResourceID",
            "ResourceType"
        ]
    );

    let (_, installation) = status_json(
        server
            .get("/api/events/state_change?resource_type=installation&resource_id=i1")
            .await,
    )
    .await;
    assert_eq!(installation.as_array().unwrap().len(), 2);
    let (_, clusters) = status_json(
        server
            .get("/api/events/state_change?resource_type=cluster")
            .await,
    )
    .await;
    assert_eq!(clusters.as_array().unwrap().len(), 1);
    let (_, page) = status_json(
        server
            .get("/api/events/state_change?page=1&per_page=2")
            .await,
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["StateChange"]["ResourceID"], "c1");
    let res = server
        .get("/api/events/state_change?resource_id=nothing")
        .await;
    assert_eq!(res.text().await.unwrap().trim(), "[]");

    assert_error(
        server
            .get("/api/events/state_change?resource_type=clusters")
            .await,
        400,
        Some("resource_type"),
    )
    .await;
    assert_error(
        server.get("/api/events/state_change?page=-1").await,
        400,
        Some("page"),
    )
    .await;

    let typed = server
        .client()
        .list_state_change_events(&StateChangeEventFilter {
            resource_type: Some(ResourceType::Installation),
            resource_id: Some("i1".into()),
            paging: Paging {
                page: 0,
                per_page: 1,
                include_deleted: false,
            },
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].state_change.new_state, "creation-in-progress");
    assert_eq!(json!(typed[0]), all[0]);
});
