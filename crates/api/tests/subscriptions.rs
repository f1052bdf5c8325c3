//! API tests of the subscription routes (99–102) over HTTP, on SQLite and
//! PostgreSQL: shapes, newest-first listing, the threshold and event-type
//! rules, deletion twice (400, as the original), and bad input leaving the
//! store unchanged.

use crate::common::*;
use cloud_model::event::EventType;
use cloud_model::filter::Paging;
use cloud_model::subscription::{
    CreateSubscriptionRequest, LastDeliveryStatus, MAX_FAILURE_THRESHOLD_NANOS, Subscription,
    SubscriptionFilter,
};
use cloud_store::SqlStore;
use serde_json::json;

async fn all_subscriptions(store: &SqlStore) -> Vec<Subscription> {
    store
        .subscription_list(&SubscriptionFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
}

api_test!(
    subscriptions_are_registered_listed_newest_first_and_deleted,
    |server| {
        let body = json!({
            "Name": "E2e Event Listener",
            "URL": "http://localhost:11112",
            "OwnerID": "e2e-test",
            "EventType": "resourceStateChange",
            "FailureThreshold": 30_000_000_000i64,
            "Headers": [{"key": "X-A", "value": "1"}]
        });
        let (status, mut created) =
            status_json(server.post_json("/api/subscriptions", &body).await).await;
        assert_eq!(status, 202, "{created}");
        let mut keys: Vec<&str> = created
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "CreateAt",
                "DeleteAt",
                "EventType",
                "FailureThreshold",
                "Headers",
                "ID",
                "LastDeliveryAttemptAt",
                "LastDeliveryStatus",
                "LockAcquiredAt",
                "LockAcquiredBy",
                "Name",
                "OwnerID",
                "Secret",
                "URL"
            ]
        );
        // The signing secret is shown once, here, and never read back.
        let secret = created.as_object_mut().unwrap().remove("Secret").unwrap();
        assert_eq!(secret.as_str().unwrap().len(), 64);
        assert_eq!(created["FailureThreshold"], 30_000_000_000i64);
        assert_eq!(created["LastDeliveryStatus"], "");
        assert_eq!(created["LockAcquiredBy"], json!(null));
        let first = created["ID"].as_str().unwrap().to_string();

        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let second = json!({"URL": "https://b.example.com", "OwnerID": "ops", "EventType": "resourceStateChange"});
        let (status, mut second) =
            status_json(server.post_json("/api/subscriptions", &second).await).await;
        assert_eq!(status, 202);
        second.as_object_mut().unwrap().remove("Secret");

        let (_, got) = status_json(server.get(&format!("/api/subscription/{first}")).await).await;
        assert_eq!(got, created);
        let (_, list) = status_json(server.get("/api/subscriptions").await).await;
        assert_eq!(list, json!([second, created]), "newest first");
        let (_, mine) = status_json(
            server
                .get("/api/subscriptions?owner=e2e-test&event_type=resourceStateChange")
                .await,
        )
        .await;
        assert_eq!(mine, json!([created]));
        let res = server.get("/api/subscriptions?owner=nobody").await;
        assert_eq!(res.text().await.unwrap().trim(), "[]");
        assert_error(
            server.get("/api/subscriptions?event_type=other").await,
            400,
            Some("event_type"),
        )
        .await;

        assert_eq!(
            server
                .delete(&format!("/api/subscription/{first}"))
                .await
                .status(),
            200
        );
        assert_error(
            server.delete(&format!("/api/subscription/{first}")).await,
            400,
            None,
        )
        .await;
        let (_, live) = status_json(server.get("/api/subscriptions").await).await;
        assert_eq!(live.as_array().unwrap().len(), 1);
        let (_, all) =
            status_json(server.get("/api/subscriptions?include_deleted=true").await).await;
        assert_eq!(all.as_array().unwrap().len(), 2);

        assert_error(
            server.get(&format!("/api/subscription/{UNKNOWN_ID}")).await,
            404,
            None,
        )
        .await;
        assert_error(
            server
                .delete(&format!("/api/subscription/{UNKNOWN_ID}"))
                .await,
            404,
            None,
        )
        .await;
    }
);

api_test!(
    bad_subscription_requests_are_4xx_and_store_nothing,
    |server| {
        let ok = |extra: &str| {
            format!(
                r#"{{"URL": "http://a", "OwnerID": "o", "EventType": "resourceStateChange"{extra}}}"#
            )
        };
        let too_long = MAX_FAILURE_THRESHOLD_NANOS + 1;
        let cases: Vec<(String, u16, Option<&str>)> = vec![
            ("{".into(), 400, None),
            ("".into(), 400, Some("URL")),
            (
                r#"{"OwnerID": "o", "EventType": "resourceStateChange"}"#.into(),
                400,
                Some("URL"),
            ),
            (
                r#"{"URL": "http://a", "EventType": "resourceStateChange"}"#.into(),
                400,
                Some("OwnerID"),
            ),
            (
                r#"{"URL": "http://a", "OwnerID": "o"}"#.into(),
                400,
                Some("EventType"),
            ),
            (
                r#"{"URL": "http://a", "OwnerID": "o", "EventType": "clusterCreated"}"#.into(),
                400,
                Some("EventType"),
            ),
            (
                r#"{"URL": "http://a", "OwnerID": "o", "EventType": 7}"#.into(),
                400,
                Some("EventType"),
            ),
            (
                ok(r#", "FailureThreshold": -1"#),
                400,
                Some("FailureThreshold"),
            ),
            (
                ok(&format!(r#", "FailureThreshold": {too_long}"#)),
                400,
                Some("FailureThreshold"),
            ),
            (
                ok(r#", "FailureThreshold": "30s""#),
                400,
                Some("FailureThreshold"),
            ),
            (
                ok(r#", "FailureThreshold": 1.5"#),
                400,
                Some("FailureThreshold"),
            ),
            (ok(r#", "Headers": [{"key": "A"}]"#), 400, Some("Headers")),
            (ok(r#", "Name": ["x"]"#), 400, Some("Name")),
            (
                ok(&format!(r#", "Name": "{}""#, "n".repeat(1 << 20))),
                413,
                None,
            ),
        ];
        for (raw, status, field) in cases {
            let preview: String = raw.chars().take(90).collect();
            let res = server.post_raw("/api/subscriptions", raw.clone()).await;
            assert_eq!(res.status().as_u16(), status, "{preview}");
            assert_error(res, status, field).await;
        }
        assert!(all_subscriptions(&server.store).await.is_empty());
        // The boundary itself is accepted.
        let res = server
            .post_raw(
                "/api/subscriptions",
                ok(&format!(
                    r#", "FailureThreshold": {MAX_FAILURE_THRESHOLD_NANOS}"#
                )),
            )
            .await;
        assert_eq!(res.status(), 202);
    }
);

api_test!(the_typed_client_round_trips, |server| {
    let client = server.client();
    let request = CreateSubscriptionRequest {
        name: "listener".into(),
        url: "http://localhost:8099".into(),
        owner_id: "me".into(),
        event_type: "resourceStateChange".into(),
        failure_threshold: 60_000_000_000,
        ..Default::default()
    };
    let mut created = client.create_subscription(&request).await.unwrap();
    assert!(created.secret.take().is_some(), "shown once, at creation");
    assert_eq!(created.last_delivery_status, LastDeliveryStatus::None);
    assert_eq!(created.event_type, EventType::ResourceStateChange);
    assert_eq!(
        client.get_subscription(&created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(client.get_subscription(UNKNOWN_ID).await.unwrap(), None);
    let mine = client
        .list_subscriptions(&SubscriptionFilter {
            owner: Some("me".into()),
            event_type: Some(EventType::ResourceStateChange),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine, vec![created.clone()]);
    client.delete_subscription(&created.id).await.unwrap();
    assert!(
        client
            .get_subscription(&created.id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted()
    );
    let err = client.delete_subscription(&created.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
});
