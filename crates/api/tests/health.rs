//! The server's own behaviour, independent of any resource: the health route,
//! JSON errors for unknown routes and wrong methods, body and query
//! parsing, path IDs, request IDs, panics and metrics. Also the example to
//! copy for resource tests (`api_test!` + `assert_error`).

use crate::common::*;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_api::extract::{JsonBody, JsonBodyOrDefault, PagingQuery, PathId, PathParams, RequestId};
use cloud_api::{ApiConfig, ApiError, AppState};
use cloud_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

api_test!(healthz_answers_ok_when_the_database_does, |server| {
    let res = server.get("/healthz").await;
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(cloud_model::is_valid_id(&request_id), "{request_id:?}");
    let (status, body) = status_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"Status": "ok"}));
});

api_test!(healthz_is_503_when_the_database_is_gone, |server| {
    server.store.close().await;
    assert_error(server.get("/healthz").await, 503, None).await;
});

api_test!(unknown_routes_are_json_404s, |server| {
    for path in ["/api/nope", "/nope", "/api", "/api/clusters/x/y/z"] {
        assert_error(server.get(path).await, 404, None).await;
    }
});

api_test!(a_wrong_method_is_a_json_405_with_allow, |server| {
    let res = server.post_json("/healthz", &json!({})).await;
    let allow = res
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(allow.contains("GET"), "allow {allow:?}");
    assert_error(res, 405, None).await;
});

#[derive(Debug, Default, Serialize, Deserialize)]
struct Sample {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Size", default)]
    size: Option<SizeKind>,
    #[serde(rename = "Inner", default)]
    inner: Inner,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Inner {
    #[serde(rename = "Count")]
    count: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SizeKind {
    Small,
    Large,
}

/// Routes made for these tests, mounted under `/api`.
fn test_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/items",
            get(|PagingQuery(p): PagingQuery| async move { Json(p) }),
        )
        .route(
            "/test/item/{id}",
            get(|PathId(id): PathId| async move { Json(json!({"ID": id})) }),
        )
        .route(
            "/test/item/{id}/dns/{dnsID}",
            get(|params: PathParams| async move {
                Ok::<_, ApiError>(Json(
                    json!({"ID": params.id("id")?, "DNS": params.id("dnsID")?}),
                ))
            }),
        )
        .route(
            "/test/body",
            post(|JsonBody(s): JsonBody<Sample>| async move { Json(s) })
                .put(|JsonBody(s): JsonBody<Sample>| async move { Json(s) }),
        )
        .route(
            "/test/body-or-default",
            post(|JsonBodyOrDefault(s): JsonBodyOrDefault<Sample>| async move { Json(s) }),
        )
        .route(
            "/test/store-error",
            get(|| async { Err::<(), _>(ApiError::from(StoreError::Locked("cluster".into()))) }),
        )
        .route(
            "/test/request-id",
            get(|RequestId(id): RequestId| async move { id }),
        )
        .route(
            "/test/panic",
            get(|| async {
                if true {
                    panic!("boom");
                }
            }),
        )
}

async fn layered_server() -> TestServer {
    TestServer::start_with_routes(Backend::Sqlite, ApiConfig::default(), test_routes()).await
}

#[tokio::test]
async fn a_bad_paging_parameter_is_a_400_naming_it() {
    let server = layered_server().await;
    for (query, field) in [
        ("page=x", "page"),
        ("per_page=ten", "per_page"),
        ("include_deleted=maybe", "include_deleted"),
        ("page=-1", "page"),
    ] {
        let res = server.get(&format!("/api/test/items?{query}")).await;
        assert_error(res, 400, Some(field)).await;
    }
    let (status, body) = status_json(
        server
            .get("/api/test/items?per_page=-1&include_deleted=true")
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"Page": 0, "PerPage": -1, "IncludeDeleted": true})
    );
}

#[tokio::test]
async fn a_wrong_method_on_an_api_route_is_a_json_405() {
    let server = layered_server().await;
    let res = server.delete("/api/test/items").await;
    assert_eq!(res.headers()["allow"].to_str().unwrap(), "GET,HEAD");
    assert_error(res, 405, None).await;
}

#[tokio::test]
async fn malformed_path_ids_are_json_404s() {
    let server = layered_server().await;
    let id = "abcdefghijklmnopqrstuvwxyz";
    let (status, body) = status_json(server.get(&format!("/api/test/item/{id}")).await).await;
    assert_eq!((status, body), (200, json!({"ID": id})));
    for bad in [
        "short",
        "abcdefghijklmnopqrstuvwxy-",
        "abcdefghijklmnopqrstuvwxyz0",
    ] {
        assert_error(
            server.get(&format!("/api/test/item/{bad}")).await,
            404,
            None,
        )
        .await;
    }
    let (status, body) =
        status_json(server.get(&format!("/api/test/item/{id}/dns/{id}")).await).await;
    assert_eq!((status, body), (200, json!({"ID": id, "DNS": id})));
    assert_error(
        server.get(&format!("/api/test/item/{id}/dns/bad")).await,
        404,
        None,
    )
    .await;
}

#[tokio::test]
async fn json_bodies_are_checked_and_errors_name_the_field() {
    let server = layered_server().await;
    // A good body, with an unknown key (ignored as in the original) and no
    // Content-Type header (the Go client sends none on PUT).
    let res = server
        .put_json(
            "/api/test/body",
            &json!({"Name": "a", "Size": "small", "Other": 1}),
        )
        .await;
    let (status, body) = status_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(body["Name"], "a");
    assert_eq!(body["Size"], "small");

    let cases = [
        (r#"{"Name": "a", "Size": "huge"}"#, Some("Size")),
        (
            r#"{"Name": "a", "Inner": {"Count": "x"}}"#,
            Some("Inner.Count"),
        ),
        (r#"{"Size": "small"}"#, Some("Name")),
        (r#"{"Name": 5}"#, Some("Name")),
        (r#"{"Name": "a""#, None),
        (r#"not json"#, None),
        ("", None),
    ];
    for (raw, field) in cases {
        let res = server.post_raw("/api/test/body", raw).await;
        let message = assert_error(res, 400, field).await;
        if let Some(f) = field {
            assert!(message.contains(f), "{message:?} names {f}");
        }
    }
}

#[tokio::test]
async fn an_empty_body_means_defaults_where_the_original_accepts_it() {
    let server = layered_server().await;
    for raw in ["", "  \n", "null"] {
        let (status, body) =
            status_json(server.post_raw("/api/test/body-or-default", raw).await).await;
        assert_eq!(status, 200, "{raw:?}");
        assert_eq!(
            body,
            json!({"Name": "", "Size": null, "Inner": {"Count": 0}})
        );
    }
    let res = server
        .post_raw("/api/test/body-or-default", r#"{"Size": 1}"#)
        .await;
    assert_error(res, 400, Some("Size")).await;
}

#[tokio::test]
async fn bodies_over_one_mib_are_a_json_413() {
    let server = layered_server().await;
    let name = "x".repeat((1 << 20) + 1);
    let res = server
        .post_json("/api/test/body", &json!({ "Name": name }))
        .await;
    assert_error(res, 413, None).await;
    // Just under the limit is fine.
    let name = "x".repeat((1 << 20) - 100);
    let res = server
        .post_json("/api/test/body", &json!({ "Name": name }))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn store_errors_and_panics_are_json() {
    let server = layered_server().await;
    let message = assert_error(server.get("/api/test/store-error").await, 409, None).await;
    assert!(message.contains("cluster"), "{message}");
    let message = assert_error(server.get("/api/test/panic").await, 500, None).await;
    assert_eq!(message, "internal server error");
    // The server is still up.
    assert_eq!(server.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn each_request_gets_its_own_id() {
    let server = layered_server().await;
    let res = server.get("/api/test/request-id").await;
    let header = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert_eq!(body, header, "the handler sees the ID sent back");
    let other = server
        .get("/api/test/request-id")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(other, body);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let server = layered_server().await;
    let id = "abcdefghijklmnopqrstuvwxyz";
    server.get(&format!("/api/test/item/{id}")).await;
    server.get(&format!("/api/test/item/{id}")).await;
    server.get("/api/unknown/thing").await;
    server.post_raw("/api/test/body", "{").await;
    let text = server.metrics_text();
    let expect = [
        r#"provisioner_api_requests_total{handler="/api/test/item/{id}",method="GET",status_code="200"} 2"#,
        r#"provisioner_api_requests_total{handler="unmatched",method="GET",status_code="404"} 1"#,
        r#"provisioner_api_requests_total{handler="/api/test/body",method="POST",status_code="400"} 1"#,
        r#"provisioner_api_requests_duration_count{handler="/api/test/item/{id}",method="GET",status_code="200"} 2"#,
    ];
    for line in expect {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

#[tokio::test]
async fn the_metrics_router_serves_the_text_format() {
    let server = layered_server().await;
    server.get("/healthz").await;
    let app = cloud_api::metrics_router(server.state.metrics.registry().clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let res = server
        .http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"provisioner_api_requests_total{handler="/healthz",method="GET",status_code="200"} 1"#
        ),
        "{text}"
    );
    task.abort();
}

#[tokio::test]
async fn json_errors_are_valid_json_values() {
    // `Field` is null (not absent) when no field is at fault.
    let server = layered_server().await;
    let (_, body) = status_json(server.get("/api/nope").await).await;
    assert_eq!(body.get("Field"), Some(&Value::Null));
}
