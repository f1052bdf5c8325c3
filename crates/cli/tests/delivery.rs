//! End to end: a real `cloud server` delivers the events of API writes to a
//! subscription (signed) and a legacy webhook (nanosecond payload) on a
//! local receiver, and `cloud subscription deliveries|replay` show and
//! re-send them.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Log = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Log) {
    async fn record(
        State(log): State<Log>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        log.lock()
            .unwrap()
            .push((uri.path().to_string(), headers, body));
        "ok"
    }
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/{*path}", post(record))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, log)
}

fn bodies(log: &Log, path: &str) -> Vec<(HeaderMap, Bytes, serde_json::Value)> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, h, b)| (h.clone(), b.clone(), serde_json::from_slice(b).unwrap()))
        .collect()
}

async fn wait_for_requests(log: &Log, path: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while bodies(log, path).len() < n {
        assert!(Instant::now() < deadline, "{path}: fewer than {n} requests");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_server_delivers_events_to_subscriptions_and_webhooks() {
    let (base, log) = receiver().await;
    let server = CloudServer::start().await;
    let sub = server
        .cloud(&[
            "subscription",
            "create",
            "--url",
            &format!("{base}/sub"),
            "--owner",
            "e2e",
        ])
        .await
        .success()
        .json();
    let secret = sub["Secret"].as_str().unwrap().to_string();
    let sub_id = sub["ID"].as_str().unwrap().to_string();
    let shown = server
        .cloud(&["subscription", "get", "--subscription", &sub_id])
        .await
        .success()
        .json();
    assert!(shown.get("Secret").is_none(), "shown once");
    server
        .cloud(&[
            "webhook",
            "create",
            "--owner",
            "e2e",
            "--url",
            &format!("{base}/hook"),
        ])
        .await
        .success();

    let started = Instant::now();
    let cluster = server
        .cloud(&[
            "cluster",
            "create",
            "--size",
            "SizeAlef1000",
            "--zones",
            "us-east-1b",
        ])
        .await
        .success()
        .json();
    let cluster_id = cluster["ID"].as_str().unwrap();
    wait_for_requests(&log, "/sub", 1).await;
    wait_for_requests(&log, "/hook", 1).await;
    // Woken by the API write, not by a poll.
    assert!(started.elapsed() < Duration::from_secs(5));

    let (headers, raw, body) = bodies(&log, "/sub").remove(0);
    assert_eq!(body["resourceId"], cluster_id);
    assert_eq!(body["resourceType"], "cluster");
    assert_eq!(body["newState"], "creation-requested");
    let signature = headers["x-cloud-signature"].to_str().unwrap();
    assert!(cloud_delivery::verify(&secret, &raw, signature));
    let event_id = headers["x-cloud-event-id"].to_str().unwrap().to_string();
    assert_eq!(body["eventId"], event_id.as_str());

    let (_, _, hook) = bodies(&log, "/hook").remove(0);
    assert_eq!(hook["id"], cluster_id);
    assert_eq!(hook["type"], "cluster");
    assert!(hook["timestamp"].as_i64().unwrap() > 1_000_000_000_000_000_000);

    // The delivery is recorded, then replayed on request.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = server
            .cloud(&[
                "subscription",
                "deliveries",
                "--subscription",
                &sub_id,
                "--json",
            ])
            .await
            .success()
            .json();
        if state["Deliveries"][0]["Status"] == "delivered" {
            assert_eq!(state["Deliveries"][0]["EventID"], event_id.as_str());
            assert_eq!(state["LastDeliveryStatus"], "succeeded");
            break;
        }
        assert!(Instant::now() < deadline, "not recorded: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let table = server
        .cloud(&["subscription", "deliveries", "--subscription", &sub_id])
        .await
        .success()
        .stdout;
    assert!(
        table.contains("delivered") && table.contains(&event_id),
        "{table}"
    );
    let replayed = server
        .cloud(&[
            "subscription",
            "replay",
            "--subscription",
            &sub_id,
            "--from-event-id",
            &event_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(replayed["Requeued"], 1);
    wait_for_requests(&log, "/sub", 2).await;
    let (again, _, _) = bodies(&log, "/sub").remove(1);
    assert_eq!(again["x-cloud-event-id"].to_str().unwrap(), event_id);
    server.stop().await;
}
