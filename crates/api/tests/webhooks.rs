//! API tests of the legacy webhook routes (74–77) over HTTP, on SQLite and
//! PostgreSQL: the original's shapes and statuses, the fixed quirks (`[]`
//! for an empty list, JSON errors, validated headers) and bad input leaving
//! the store unchanged.

use crate::common::*;
use cloud_model::filter::Paging;
use cloud_model::webhook::{CreateWebhookRequest, Headers, Webhook, WebhookFilter, WebhookHeader};
use cloud_store::SqlStore;
use serde_json::json;

async fn all_webhooks(store: &SqlStore) -> Vec<Webhook> {
    store
        .webhook_list(&WebhookFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
}

api_test!(webhooks_are_created_read_listed_and_deleted, |server| {
    let body = json!({
        "OwnerID": "e2e",
        "URL": "http://localhost:11111/hook",
        "Headers": [{"key": "X-Token", "value": "t"}, {"key": "X-Secret", "value_from_env": "SECRET"}]
    });
    let (status, created) = status_json(server.post_json("/api/webhooks", &body).await).await;
    assert_eq!(status, 202, "{created}");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["CreateAt", "DeleteAt", "Headers", "ID", "OwnerID", "URL"]
    );
    assert_eq!(created["Headers"], body["Headers"]);
    assert_eq!(created["DeleteAt"], 0);
    let id = created["ID"].as_str().unwrap().to_string();
    assert!(cloud_model::is_valid_id(&id));

    let (status, got) = status_json(server.get(&format!("/api/webhook/{id}")).await).await;
    assert_eq!((status, &got), (200, &created));

    server
        .post_json(
            "/api/webhooks",
            &json!({"OwnerID": "ops", "URL": "https://ops.example.com"}),
        )
        .await;
    let (status, list) = status_json(server.get("/api/webhooks").await).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["ID"], id.as_str(), "oldest first");
    let (_, mine) = status_json(server.get("/api/webhooks?owner=e2e").await).await;
    assert_eq!(mine, json!([created]));
    // An empty list is `[]`, not `null`.
    let res = server.get("/api/webhooks?owner=nobody").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap().trim(), "[]");

    let res = server.delete(&format!("/api/webhook/{id}")).await;
    assert_eq!(res.status(), 200);
    let message = assert_error(
        server.delete(&format!("/api/webhook/{id}")).await,
        400,
        None,
    )
    .await;
    assert!(message.contains("already deleted"), "{message}");
    let (_, deleted) = status_json(server.get(&format!("/api/webhook/{id}")).await).await;
    assert!(deleted["DeleteAt"].as_i64().unwrap() > 0);
    let (_, live) = status_json(server.get("/api/webhooks").await).await;
    assert_eq!(live.as_array().unwrap().len(), 1);
    let (_, everything) = status_json(server.get("/api/webhooks?include_deleted=true").await).await;
    assert_eq!(everything.as_array().unwrap().len(), 2);
    let (_, page) = status_json(
        server
            .get("/api/webhooks?include_deleted=true&page=1&per_page=1")
            .await,
    )
    .await;
    assert_eq!(page[0]["OwnerID"], "ops");

    assert_error(
        server.get(&format!("/api/webhook/{UNKNOWN_ID}")).await,
        404,
        None,
    )
    .await;
    assert_error(
        server.delete(&format!("/api/webhook/{UNKNOWN_ID}")).await,
        404,
        None,
    )
    .await;
    assert_error(server.get("/api/webhook/not-an-id").await, 404, None).await;
    assert_error(
        server.get("/api/webhooks?per_page=x").await,
        400,
        Some("per_page"),
    )
    .await;
});

api_test!(bad_webhook_requests_are_4xx_and_store_nothing, |server| {
    let too_big = "x".repeat((1 << 20) + 10);
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (r#"{"OwnerID": "o", "URL": "#.into(), 400, None),
        ("not json".into(), 400, None),
        ("".into(), 400, Some("OwnerID")),
        (r#"{"OwnerID": 5, "URL": "http://a"}"#.into(), 400, Some("OwnerID")),
        (r#"{"OwnerID": "o", "URL": ["http://a"]}"#.into(), 400, Some("URL")),
        (r#"{"OwnerID": "o", "URL": "http://a", "Headers": {"k": "v"}}"#.into(), 400, Some("Headers")),
        (r#"{"OwnerID": "o", "URL": "http://a", "Headers": [{"key": 1, "value": "v"}]}"#.into(), 400, Some("Headers[0].key")),
        (r#"{"URL": "http://a"}"#.into(), 400, Some("OwnerID")),
        (r#"{"OwnerID": "o"}"#.into(), 400, Some("URL")),
        (r#"{"OwnerID": "o", "URL": "ftp://a"}"#.into(), 400, Some("URL")),
        (r#"{"OwnerID": "o", "URL": "http://"}"#.into(), 400, Some("URL")),
        (r#"{"OwnerID": "o", "URL": "a.example.com"}"#.into(), 400, Some("URL")),
        (
            r#"{"OwnerID": "o", "URL": "http://a", "Headers": [{"key": "A", "value": "1", "value_from_env": "B"}]}"#.into(),
            400,
            Some("Headers"),
        ),
        (r#"{"OwnerID": "o", "URL": "http://a", "Headers": [{"key": "A"}]}"#.into(), 400, Some("Headers")),
        (
            r#"{"OwnerID": "o", "URL": "http://a", "Headers": [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}]}"#.into(),
            400,
            Some("Headers"),
        ),
        (format!(r#"{{"OwnerID": "{too_big}", "URL": "http://a"}}"#), 413, None),
    ];
    for (raw, status, field) in cases {
        let res = server.post_raw("/api/webhooks", raw.clone()).await;
        let preview: String = raw.chars().take(80).collect();
        let got = res.status().as_u16();
        assert_eq!(got, status, "{preview}");
        assert_error(res, status, field).await;
    }
    assert!(all_webhooks(&server.store).await.is_empty());
});

api_test!(a_live_url_can_be_registered_once, |server| {
    let body = json!({"OwnerID": "a", "URL": "http://same"});
    assert_eq!(server.post_json("/api/webhooks", &body).await.status(), 202);
    assert_error(server.post_json("/api/webhooks", &body).await, 409, None).await;
    assert_eq!(all_webhooks(&server.store).await.len(), 1);
});

api_test!(the_typed_client_round_trips, |server| {
    let client = server.client();
    let request = CreateWebhookRequest {
        owner_id: "owner".into(),
        url: "https://hooks.example.com/x".into(),
        headers: Headers(vec![WebhookHeader::from_env("Authorization", "HOOK_TOKEN")]),
    };
    let created = client.create_webhook(&request).await.unwrap();
    assert_eq!(created.headers, request.headers);
    assert_eq!(
        client.get_webhook(&created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(client.get_webhook(UNKNOWN_ID).await.unwrap(), None);
    let filter = WebhookFilter {
        owner_id: Some("owner".into()),
        ..Default::default()
    };
    assert_eq!(
        client.get_webhooks(&filter).await.unwrap(),
        vec![created.clone()]
    );
    assert!(
        client
            .get_webhooks(&WebhookFilter {
                owner_id: Some("x".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    client.delete_webhook(&created.id).await.unwrap();
    let err = client.delete_webhook(&created.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let err = client
        .create_webhook(&CreateWebhookRequest::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("owner"), "{err}");
});
