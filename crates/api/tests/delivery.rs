//! API tests of the delivery routes (our addition) over HTTP, on SQLite and
//! PostgreSQL: the deliveries listing, replay from the cursor, an event or a
//! time, the wake-up of the deliverer, and the 4xx answers.

use crate::common::*;
use cloud_model::event::{EventDeliveryStatus, NewStateChange, ResourceType};
use cloud_model::filter::Paging;
use cloud_model::subscription::{CreateSubscriptionRequest, ReplayRequest};
use cloud_supervisor::SupervisorKind;
use serde_json::json;

const UNKNOWN_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";

api_test!(deliveries_are_listed_and_replayed, |server| {
    let client = server.client();
    let sub = client
        .create_subscription(&CreateSubscriptionRequest {
            url: "http://127.0.0.1:9/events".into(),
            owner_id: "me".into(),
            event_type: "resourceStateChange".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    for i in 0..3 {
        let change = NewStateChange::new(ResourceType::Cluster, "c1", format!("s{i}"), "next");
        events.push(server.store.event_record(&change).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }

    let (status, listed) = status_json(
        server
            .get(&format!("/api/subscription/{}/deliveries", sub.id))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["SubscriptionID"], sub.id.as_str());
    assert_eq!(listed["Cursor"], 0);
    assert_eq!(listed["DeadAt"], 0);
    let rows = listed["Deliveries"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0]["EventID"],
        events[2].event.id.as_str(),
        "newest first"
    );
    assert_eq!(rows[0]["Status"], "not-attempted");
    for key in [
        "Sequence",
        "Attempts",
        "NextAttemptAt",
        "LastError",
        "DeliveredAt",
    ] {
        assert!(rows[0].get(key).is_some(), "{key} in {}", rows[0]);
    }

    // Typed client, with a status filter and paging.
    let page = client
        .list_subscription_deliveries(
            &sub.id,
            Some(EventDeliveryStatus::NotAttempted),
            &Paging {
                page: 0,
                per_page: 2,
                include_deleted: false,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.deliveries.len(), 2);
    let none = client
        .list_subscription_deliveries(
            &sub.id,
            Some(EventDeliveryStatus::Delivered),
            &Paging::all(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(none.deliveries.is_empty());
    assert!(
        client
            .list_subscription_deliveries(UNKNOWN_ID, None, &Paging::all())
            .await
            .unwrap()
            .is_none()
    );

    // Replays: from an event, from a time, from the cursor (empty body).
    let _ = was_woken(&server, SupervisorKind::Webhook).await;
    let replayed = client
        .replay_subscription(
            &sub.id,
            &ReplayRequest {
                from_event_id: Some(events[1].event.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(replayed.subscription_id, sub.id);
    assert_eq!(replayed.requeued, 2);
    assert_eq!(
        replayed.cursor,
        page.deliveries[1].sequence - 1,
        "just before it"
    );
    assert!(was_woken(&server, SupervisorKind::Webhook).await);
    let (status, body) = status_json(
        server
            .post_json(
                &format!("/api/subscription/{}/replay", sub.id),
                &json!({"FromTimestamp": events[0].event.timestamp}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["Requeued"], 3);
    let res = server
        .post_raw(&format!("/api/subscription/{}/replay", sub.id), "")
        .await;
    let (status, body) = status_json(res).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["Requeued"], 3,
        "from the cursor: nothing was delivered"
    );

    // Client mistakes are 4xx with a JSON body naming the field.
    let path = format!("/api/subscription/{}/replay", sub.id);
    assert_error(
        server
            .post_json(&path, &json!({"FromEventID": "x", "FromTimestamp": 1}))
            .await,
        400,
        Some("FromTimestamp"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"FromEventID": UNKNOWN_ID}))
            .await,
        400,
        Some("FromEventID"),
    )
    .await;
    assert_error(server.post_raw(&path, "{").await, 400, None).await;
    assert_error(
        server
            .post_json(
                &format!("/api/subscription/{UNKNOWN_ID}/replay"),
                &json!({}),
            )
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .get(&format!(
                "/api/subscription/{}/deliveries?status=lost",
                sub.id
            ))
            .await,
        400,
        Some("status"),
    )
    .await;
    client.delete_subscription(&sub.id).await.unwrap();
    assert_error(server.post_json(&path, &json!({})).await, 400, None).await;
});
