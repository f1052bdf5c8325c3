//! The deliverer against a real local HTTP receiver that fails, stalls and
//! recovers, on SQLite and PostgreSQL: order per subscription, retries with
//! growing delays, nothing lost, signatures, stable idempotency keys, the
//! dead state, replay, legacy webhooks, and two deliverers on one
//! PostgreSQL database. Every wait is bounded.

#![allow(clippy::unwrap_used)]

mod common;

use cloud_delivery::config::EnvLookup;
use cloud_delivery::{Deliverer, DelivererConfig, verify};
use cloud_model::event::{EventDeliveryStatus, NewStateChange, ResourceType};
use cloud_model::filter::Paging;
use cloud_model::subscription::{LastDeliveryStatus, Subscription, SubscriptionDeliveries};
use cloud_model::webhook::{Headers, Webhook, WebhookHeader};
use cloud_store::SqlStore;
use cloud_store::delivery::{Channel, ReplayFrom};
use cloud_store::testing::TestDb;
use cloud_supervisor::{SupervisorKind, Wake};
use common::{Answer, Receiver, wait_until};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_millis(300);
const BASE: Duration = Duration::from_millis(100);

/// Runs one test body on SQLite (`<name>::sqlite`) and PostgreSQL.
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let $db = TestDb::sqlite().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let $db = TestDb::postgres().await;
                $body
            }
        }
    };
}

fn no_env() -> EnvLookup {
    Arc::new(|_| None)
}

fn config(instance: &str, env: EnvLookup) -> DelivererConfig {
    DelivererConfig {
        instance_id: instance.to_string(),
        poll_interval: Duration::from_millis(50),
        lease_ttl: Duration::from_millis(1600),
        subscription_timeout: TIMEOUT,
        webhook_timeout: TIMEOUT,
        connect_timeout: TIMEOUT,
        backoff_base: BASE,
        backoff_cap: Duration::from_secs(2),
        max_in_flight: 8,
        env,
        ..Default::default()
    }
}

struct Running {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

impl Running {
    fn start(store: &SqlStore, wake: &Wake, config: DelivererConfig) -> Self {
        let cancel = CancellationToken::new();
        let deliverer = Deliverer::new(store.clone(), wake.clone(), config).unwrap();
        let handle = tokio::spawn(deliverer.run(cancel.clone()));
        Self { cancel, handle }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .expect("the deliverer stops when cancelled")
            .unwrap();
    }
}

async fn subscribe(
    store: &SqlStore,
    url: String,
    threshold: Duration,
    headers: Headers,
) -> Subscription {
    store
        .subscription_create(&Subscription {
            name: "test".into(),
            url,
            owner_id: "tester".into(),
            failure_threshold: i64::try_from(threshold.as_nanos()).unwrap(),
            headers,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Records the state change `s<i> → s<i+1>` of one installation.
async fn record(store: &SqlStore, i: usize) -> String {
    let change = NewStateChange::new(
        ResourceType::Installation,
        "inst1",
        format!("s{i}"),
        format!("s{}", i + 1),
    )
    .with("Name", "myinst");
    store.event_record(&change).await.unwrap().event.id
}

async fn deliveries(store: &SqlStore, id: &str) -> SubscriptionDeliveries {
    store
        .delivery_list(Channel::Subscription, id, None, &Paging::all())
        .await
        .unwrap()
        .unwrap()
}

/// Waits until the store shows every delivery of `id` delivered (the
/// receiver sees an event before the deliverer records the answer).
async fn all_delivered(store: &SqlStore, id: &str) {
    wait_for(
        Duration::from_secs(5),
        "the store records the deliveries",
        || async {
            deliveries(store, id)
                .await
                .deliveries
                .iter()
                .all(|d| d.status == EventDeliveryStatus::Delivered)
        },
    )
    .await;
}

/// Like [`wait_until`] for an async check.
async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lower bound of the delay after the `attempt`-th failure (equal jitter).
fn min_backoff(attempt: u32) -> Duration {
    BASE * 2u32.pow(attempt - 1) / 2
}

both_backends!(
    fails_stalls_and_recovers_in_order_signed_and_nothing_lost,
    |db| {
        let store = db.store.clone();
        let wake = Wake::new();
        let rx = Receiver::start(Duration::from_millis(5)).await;
        let token = Arc::new(Mutex::new("v1".to_string()));
        let env: EnvLookup = {
            let token = token.clone();
            Arc::new(move |name| {
                (name == "DELIVERY_TEST_TOKEN").then(|| token.lock().unwrap().clone())
            })
        };
        let sub = subscribe(
            &store,
            rx.url("sub"),
            Duration::ZERO,
            Headers(vec![
                WebhookHeader::from_env("X-Token", "DELIVERY_TEST_TOKEN"),
                WebhookHeader::value("X-Static", "s"),
                // A custom header cannot forge ours.
                WebhookHeader::value("X-Cloud-Signature", "sha256=forged"),
            ]),
        )
        .await;
        let secret = sub.secret.clone().unwrap();
        rx.script(
            "sub",
            &[
                Answer::Fail,
                Answer::Fail,
                Answer::Stall(Duration::from_millis(700)),
                Answer::Fail,
            ],
        );
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(record(&store, i).await);
        }
        // `value_from_env` is read when sending, not when subscribing.
        *token.lock().unwrap() = "v2".to_string();
        let running = Running::start(&store, &wake, config("a", env));
        for i in 5..8 {
            ids.push(record(&store, i).await);
            wake.wake(SupervisorKind::Webhook);
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        wait_until(Duration::from_secs(20), "every event accepted", || {
            rx.accepted("sub").len() >= ids.len()
        })
        .await;
        running.stop().await;

        let got = rx.received("sub");
        // Strict order: each request is for the oldest event not yet accepted,
        // so no event is sent before the previous one went through, and each
        // is accepted exactly once.
        let mut expected = 0;
        for r in &got {
            assert_eq!(r.event_id(), ids[expected], "request out of order");
            if r.answer == Answer::Accept {
                expected += 1;
            }
        }
        assert_eq!(expected, ids.len(), "every event delivered");
        assert_eq!(rx.accepted("sub"), ids);

        // The first event: fail, fail, stall (client timeout), fail, accept,
        // with growing delays in between.
        let first: Vec<_> = got.iter().filter(|r| r.event_id() == ids[0]).collect();
        assert_eq!(first.len(), 5);
        let gaps: Vec<Duration> = first.windows(2).map(|w| w[1].at - w[0].at).collect();
        let slack = Duration::from_millis(5);
        assert!(gaps[0] + slack >= min_backoff(1), "{gaps:?}");
        assert!(gaps[1] + slack >= min_backoff(2), "{gaps:?}");
        assert!(gaps[2] + slack >= TIMEOUT + min_backoff(3), "{gaps:?}");
        assert!(gaps[3] + slack >= min_backoff(4), "{gaps:?}");
        assert!(
            gaps[3] > gaps[0] && gaps[2] > gaps[1],
            "delays grow: {gaps:?}"
        );

        for (n, r) in first.iter().enumerate() {
            assert_eq!(r.header("x-cloud-event-id").unwrap(), ids[0], "stable key");
            assert_eq!(
                r.header("x-cloud-delivery-attempt").unwrap(),
                (n + 1).to_string()
            );
        }
        for r in &got {
            let signature = r.header("x-cloud-signature").unwrap();
            assert!(verify(&secret, &r.body, &signature), "signature of {r:?}");
            assert!(!verify("another secret", &r.body, &signature));
            assert_eq!(r.header("x-cloud-event-id").unwrap(), r.event_id());
            assert_eq!(r.header("content-type").unwrap(), "application/json");
            assert_eq!(r.header("x-token").unwrap(), "v2");
            assert_eq!(r.header("x-static").unwrap(), "s");
            let sent: i64 = r.header("x-cloud-timestamp").unwrap().parse().unwrap();
            assert!(sent > 1_600_000_000_000 && sent < 100_000_000_000_000, "ms");
        }
        let body = got.last().unwrap().json();
        let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "ExtraData",
                "eventId",
                "newState",
                "oldState",
                "resourceId",
                "resourceType",
                "timestamp"
            ]
        );
        assert_eq!(body["resourceType"], "installation");
        assert_eq!(body["oldState"], "s7");
        assert_eq!(body["ExtraData"]["Name"], "myinst");
        assert!(
            body["timestamp"].as_i64().unwrap() < 100_000_000_000_000,
            "ms"
        );

        let state = deliveries(&store, &sub.id).await;
        assert!(
            state
                .deliveries
                .iter()
                .all(|d| d.status == EventDeliveryStatus::Delivered && d.last_error.is_empty())
        );
        assert_eq!(state.cursor, state.deliveries[0].sequence);
        assert_eq!(state.dead_at, 0);
        assert_eq!(state.lease_holder, None, "released on shutdown");
        assert_eq!(state.deliveries.last().unwrap().attempts, 5);
        assert_eq!(state.last_delivery_status, LastDeliveryStatus::Succeeded);
        let stored = store.subscription_get(&sub.id).await.unwrap().unwrap();
        assert_eq!(stored.last_delivery_status, LastDeliveryStatus::Succeeded);
        assert!(stored.last_delivery_attempt_at > 0);
    }
);

both_backends!(
    dead_after_the_failure_bound_then_replay_resends_from_the_cursor,
    |db| {
        let store = db.store.clone();
        let wake = Wake::new();
        let rx = Receiver::start(Duration::from_millis(1)).await;
        let sub = subscribe(
            &store,
            rx.url("dead"),
            Duration::from_millis(400),
            Headers::default(),
        )
        .await;
        rx.fallback("dead", Answer::Fail);
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(record(&store, i).await);
            // Distinct milliseconds, for the replay from a time below.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let running = Running::start(&store, &wake, config("a", no_env()));
        wait_for(Duration::from_secs(10), "the subscription dies", || async {
            deliveries(&store, &sub.id).await.dead_at > 0
        })
        .await;
        let state = deliveries(&store, &sub.id).await;
        let head = state.deliveries.last().unwrap();
        assert_eq!(head.event_id, ids[0]);
        assert_eq!(head.status, EventDeliveryStatus::Failed);
        assert_eq!(head.last_error, "HTTP 500");
        assert!(head.attempts >= 2, "retried before dying: {head:?}");
        assert!(state.dead_at - head.first_failure_at >= 400, "{state:?}");
        assert!(
            state.deliveries[..2]
                .iter()
                .all(|d| d.status == EventDeliveryStatus::NotAttempted),
            "later events are kept, not sent out of order"
        );
        assert_eq!(
            store
                .subscription_get(&sub.id)
                .await
                .unwrap()
                .unwrap()
                .last_delivery_status,
            LastDeliveryStatus::Failed
        );
        assert!(rx.received("dead").iter().all(|r| r.event_id() == ids[0]));
        // Dead means no more attempts.
        let attempts = rx.received("dead").len();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(rx.received("dead").len(), attempts);

        // The receiver recovers; a replay from the cursor revives the
        // subscription and sends everything not delivered, in order.
        rx.fallback("dead", Answer::Accept);
        let (requeued, cursor) = store
            .delivery_replay(Channel::Subscription, &sub.id, &ReplayFrom::Cursor)
            .await
            .unwrap();
        assert_eq!((requeued, cursor), (3, 0));
        wake.wake(SupervisorKind::Webhook);
        wait_until(
            Duration::from_secs(10),
            "delivered after the replay",
            || rx.accepted("dead").len() == 3,
        )
        .await;
        assert_eq!(rx.accepted("dead"), ids);
        all_delivered(&store, &sub.id).await;
        let state = deliveries(&store, &sub.id).await;
        assert_eq!(state.dead_at, 0);
        assert_eq!(state.cursor, state.deliveries[0].sequence);

        // Replays from an event and from a time re-send from there, in order.
        let (requeued, _) = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Event(ids[1].clone()),
            )
            .await
            .unwrap();
        assert_eq!(requeued, 2);
        wake.wake(SupervisorKind::Webhook);
        wait_until(Duration::from_secs(10), "the replay from an event", || {
            rx.accepted("dead").len() == 5
        })
        .await;
        all_delivered(&store, &sub.id).await;
        let third_at = state.deliveries[0].event_timestamp;
        let (requeued, _) = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Timestamp(third_at),
            )
            .await
            .unwrap();
        assert_eq!(requeued, 1);
        wake.wake(SupervisorKind::Webhook);
        wait_until(Duration::from_secs(10), "the replay from a time", || {
            rx.accepted("dead").len() == 6
        })
        .await;
        all_delivered(&store, &sub.id).await;
        running.stop().await;
        let mut expected = ids.clone();
        expected.extend([ids[1].clone(), ids[2].clone(), ids[2].clone()]);
        assert_eq!(rx.accepted("dead"), expected);
    }
);

both_backends!(
    legacy_webhooks_get_the_original_payload_through_the_outbox,
    |db| {
        let store = db.store.clone();
        let wake = Wake::new();
        let rx = Receiver::start(Duration::from_millis(1)).await;
        store
            .webhook_create(&Webhook {
                owner_id: "o".into(),
                url: rx.url("hook"),
                headers: Headers(vec![WebhookHeader::value("X-Hook", "h")]),
                ..Default::default()
            })
            .await
            .unwrap();
        // Retried, unlike the original's fire-and-forget.
        rx.script("hook", &[Answer::Fail]);
        // Only wake-ups and the retry timer can drive it: no useful poll.
        let running = Running::start(
            &store,
            &wake,
            DelivererConfig {
                poll_interval: Duration::from_secs(60),
                ..config("a", no_env())
            },
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let change = NewStateChange::new(
            ResourceType::Installation,
            "inst1",
            "creation-final-tasks",
            "stable",
        )
        .with("Name", "myinst");
        let started = Instant::now();
        let data = store.event_record(&change).await.unwrap();
        wake.wake(SupervisorKind::Webhook);
        wait_until(
            Duration::from_secs(5),
            "the webhook accepts the event",
            || rx.accepted("hook").len() == 1,
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "woken, not polled"
        );
        running.stop().await;

        let got = rx.received("hook");
        assert_eq!(got.len(), 2);
        let body = got[1].json();
        let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "event_id",
                "extra_data",
                "id",
                "new_state",
                "old_state",
                "timestamp",
                "type"
            ]
        );
        assert_eq!(body["event_id"], data.event.id.as_str());
        let nanos = body["timestamp"].as_i64().unwrap();
        assert_eq!(nanos, data.event.timestamp * 1_000_000, "nanoseconds");
        assert!(nanos > 1_000_000_000_000_000_000);
        assert_eq!(body["id"], "inst1");
        assert_eq!(body["type"], "installation");
        assert_eq!(body["new_state"], "stable");
        assert_eq!(body["old_state"], "creation-final-tasks");
        assert_eq!(body["extra_data"]["Name"], "myinst");
        assert_eq!(body["extra_data"]["Environment"], store.environment());
        assert_eq!(got[0].body, got[1].body, "a retry sends the same bytes");
        for r in &got {
            assert_eq!(r.header("x-hook").unwrap(), "h");
            assert_eq!(r.header("x-cloud-event-id").unwrap(), data.event.id);
            assert!(
                r.header("x-cloud-signature").is_none(),
                "webhooks have no secret"
            );
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_deliverers_on_one_postgres_never_send_a_subscription_concurrently() {
    let db = TestDb::postgres().await;
    let store_a = db.store.clone();
    let store_b = SqlStore::open(&db.url).await.unwrap();
    let rx = Receiver::start(Duration::from_millis(15)).await;
    let paths = ["p0", "p1", "p2", "p3", "p4", "p5"];
    for path in paths {
        subscribe(&store_a, rx.url(path), Duration::ZERO, Headers::default()).await;
    }
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(record(&store_a, i).await);
    }
    let (wake_a, wake_b) = (Wake::new(), Wake::new());
    let a = Running::start(&store_a, &wake_a, config("a", no_env()));
    let b = Running::start(&store_b, &wake_b, config("b", no_env()));
    for i in 8..20 {
        let store = if i % 2 == 0 { &store_a } else { &store_b };
        ids.push(record(store, i).await);
        wake_a.wake(SupervisorKind::Webhook);
        wake_b.wake(SupervisorKind::Webhook);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_until(
        Duration::from_secs(30),
        "every subscription got every event",
        || paths.iter().all(|p| rx.accepted(p).len() >= ids.len()),
    )
    .await;
    a.stop().await;
    b.stop().await;
    for path in paths {
        assert_eq!(rx.max_in_flight(path), 1, "{path}: one request at a time");
        assert_eq!(rx.accepted(path), ids, "{path}: in order, each once");
    }
    store_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_deliverers_subscription_is_taken_over_when_its_lease_expires() {
    let db = TestDb::postgres().await;
    let store_a = db.store.clone();
    let store_b = SqlStore::open(&db.url).await.unwrap();
    let rx = Receiver::start(Duration::from_millis(1)).await;
    // The first request hangs; the deliverer sending it dies meanwhile.
    rx.script("s", &[Answer::Stall(Duration::from_millis(800))]);
    let sub = subscribe(&store_a, rx.url("s"), Duration::ZERO, Headers::default()).await;
    let id = record(&store_a, 0).await;
    let a = Running::start(&store_a, &Wake::new(), config("a", no_env()));
    wait_until(
        Duration::from_secs(5),
        "the first attempt is in flight",
        || !rx.received("s").is_empty(),
    )
    .await;
    // A crash: the task is dropped mid-request, its lease is not released.
    a.handle.abort();
    let _ = a.handle.await;
    assert_eq!(
        deliveries(&store_b, &sub.id).await.lease_holder.as_deref(),
        Some("a")
    );
    let b = Running::start(&store_b, &Wake::new(), config("b", no_env()));
    wait_until(Duration::from_secs(10), "b delivers the event", || {
        rx.accepted("s").len() == 1
    })
    .await;
    b.stop().await;
    let got = rx.received("s");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].event_id(), id);
    assert_eq!(got[1].header("x-cloud-event-id").unwrap(), id, "same key");
    assert_eq!(got[1].header("x-cloud-delivery-attempt").unwrap(), "2");
    // b waited for a's lease (1.6 s from its renewal just before the send),
    // which outlasts a's request (at most TIMEOUT).
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(1000).max(TIMEOUT),
        "taken over after {:?}",
        got[1].at - got[0].at
    );
    assert_eq!(rx.max_in_flight("s"), 1);
    let state = deliveries(&store_b, &sub.id).await;
    assert_eq!(state.deliveries[0].status, EventDeliveryStatus::Delivered);
    assert_eq!(state.lease_holder, None);
    store_b.close().await;
}
