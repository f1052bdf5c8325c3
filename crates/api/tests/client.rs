//! The typed client's transport against the real server: expected statuses,
//! 404 as `None`, server error messages carried into `ClientError`, custom
//! headers.

use crate::common::*;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_api::extract::{JsonBody, PathId};
use cloud_api::{ApiConfig, ApiError, AppState};
use cloud_client::{Client, ClientError};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/echo/{id}",
            get(|PathId(id): PathId, headers: HeaderMap| async move {
                let custom = headers
                    .get("x-custom")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                Json(json!({"ID": id, "Custom": custom}))
            }),
        )
        .route(
            "/echo",
            post(|JsonBody(v): JsonBody<Value>| async move { (StatusCode::ACCEPTED, Json(v)) }),
        )
        .route(
            "/security/{kind}/{id}/api/{action}",
            post(|| async { StatusCode::OK }),
        )
        .route(
            "/security/installation/backup/{id}/api/{action}",
            post(|| async { StatusCode::OK }),
        )
        .route(
            "/missing/{id}",
            get(|PathId(_): PathId| async { Err::<(), _>(ApiError::not_found("widget")) }),
        )
}

async fn server() -> TestServer {
    TestServer::start_with_routes(Backend::Sqlite, ApiConfig::default(), routes()).await
}

const ID: &str = "abcdefghijklmnopqrstuvwxyz";

#[tokio::test]
async fn gets_and_posts_check_the_status() {
    let server = server().await;
    let client = server.client();
    let v: Value = client
        .get_json(&format!("/api/echo/{ID}"), &[], StatusCode::OK)
        .await
        .unwrap();
    assert_eq!(v["ID"], ID);
    let v: Value = client
        .post_json("/api/echo", &json!({"A": 1}), StatusCode::ACCEPTED)
        .await
        .unwrap();
    assert_eq!(v, json!({"A": 1}));
    // The same call expecting another status is an error.
    let err = client
        .post_json::<_, Value>("/api/echo", &json!({"A": 1}), StatusCode::OK)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::ACCEPTED));
}

#[tokio::test]
async fn a_404_is_none_where_tolerated_and_errors_carry_the_message() {
    let server = server().await;
    let client = server.client();
    let none: Option<Value> = client
        .get_json_opt(&format!("/api/missing/{ID}"), &[])
        .await
        .unwrap();
    assert!(none.is_none());
    let err = client
        .get_json::<Value>(&format!("/api/missing/{ID}"), &[], StatusCode::OK)
        .await
        .unwrap_err();
    match &err {
        ClientError::Status {
            status,
            message,
            field,
        } => {
            assert_eq!(*status, StatusCode::NOT_FOUND);
            assert_eq!(message, "widget not found");
            assert_eq!(field, &None);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "failed with status code 404: widget not found"
    );

    let err = client
        .post_json::<_, Value>("/api/echo", &json!(null), StatusCode::ACCEPTED)
        .await;
    // `null` is a valid JSON body for `Value`.
    assert!(err.is_ok());
    let err = client
        .request(reqwest::Method::POST, "/api/echo")
        .body("{")
        .send()
        .await
        .unwrap();
    let err = cloud_client::check(err, StatusCode::ACCEPTED)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
}

#[tokio::test]
async fn custom_headers_go_on_every_request() {
    let server = server().await;
    let client = Client::with_headers(&server.base_url, [("X-Custom", "yes")]).unwrap();
    let v: Value = client
        .get_json(&format!("/api/echo/{ID}"), &[], StatusCode::OK)
        .await
        .unwrap();
    assert_eq!(v["Custom"], "yes");
}

#[tokio::test]
async fn security_calls_post_to_the_security_routes() {
    let server = server().await;
    let client = server.client();
    client
        .security_call("installation/backup", ID, "api", "unlock")
        .await
        .unwrap();
    client
        .security_call("cluster", ID, "api", "lock")
        .await
        .unwrap();
    let err = client
        .security_call("cluster", ID, "deletion", "lock")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn an_unreachable_server_is_an_http_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{addr}")).unwrap();
    let err = client
        .get_json::<Value>("/api/clusters", &[], StatusCode::OK)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Http(_)), "{err:?}");
}
