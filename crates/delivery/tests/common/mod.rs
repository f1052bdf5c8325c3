//! Test support: a real HTTP receiver on 127.0.0.1:0 whose answers are
//! scripted per path (fail with 500, stall past the client's timeout, or
//! accept), which records every request it gets and counts the requests in
//! flight per path; and helpers to wait with a deadline.

#![allow(dead_code)] // each test uses a different part of this module

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Fail,
    /// Sleep this long, then accept (the client has given up by then).
    Stall(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answer: Answer,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    /// The event ID of a subscription or legacy webhook body.
    pub fn event_id(&self) -> String {
        let v = self.json();
        v.get("eventId")
            .or_else(|| v.get("event_id"))
            .and_then(|v| v.as_str())
            .unwrap()
            .to_string()
    }
}

#[derive(Default)]
struct Inner {
    script: HashMap<String, VecDeque<Answer>>,
    /// Answer once a path's script is used up.
    fallback: HashMap<String, Answer>,
    log: Vec<Received>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    accept_delay: Duration,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

/// Decrements the in-flight count even when the client hangs up and the
/// handler is dropped.
struct InFlight {
    inner: Arc<Mutex<Inner>>,
    path: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(n) = inner.in_flight.get_mut(&self.path) {
            *n -= 1;
        }
    }
}

async fn handle(
    State(receiver): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let answer = {
        let mut inner = receiver.inner.lock().unwrap();
        let n = inner.in_flight.entry(path.clone()).or_default();
        *n += 1;
        let now = *n;
        let max = inner.max_in_flight.entry(path.clone()).or_default();
        *max = (*max).max(now);
        let answer = inner
            .script
            .get_mut(&path)
            .and_then(VecDeque::pop_front)
            .or_else(|| inner.fallback.get(&path).copied())
            .unwrap_or(Answer::Accept);
        inner.log.push(Received {
            path: path.clone(),
            at: Instant::now(),
            headers,
            body,
            answer,
        });
        answer
    };
    let _guard = InFlight {
        inner: receiver.inner.clone(),
        path,
    };
    match answer {
        Answer::Accept => {
            // Long enough for an overlapping request to be seen.
            tokio::time::sleep(receiver.accept_delay).await;
            StatusCode::OK
        }
        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::Stall(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// A receiver whose accepted requests take `accept_delay`.
    pub async fn start(accept_delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let placeholder = Arc::new(tokio::spawn(async {}));
        let mut receiver = Receiver {
            base,
            inner,
            accept_delay,
            task: placeholder,
        };
        let app = Router::new()
            .route("/{*path}", post(handle))
            .with_state(receiver.clone());
        receiver.task = Arc::new(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The next answers for `path`, in order.
    pub fn script(&self, path: &str, answers: &[Answer]) {
        self.inner
            .lock()
            .unwrap()
            .script
            .entry(path.to_string())
            .or_default()
            .extend(answers.iter().copied());
    }

    /// The answer for `path` once its script is used up.
    pub fn fallback(&self, path: &str, answer: Answer) {
        self.inner
            .lock()
            .unwrap()
            .fallback
            .insert(path.to_string(), answer);
    }

    /// Every request to `path`, in arrival order.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.inner
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The event IDs `path` accepted, in order.
    pub fn accepted(&self, path: &str) -> Vec<String> {
        self.received(path)
            .iter()
            .filter(|r| r.answer == Answer::Accept)
            .map(Received::event_id)
            .collect()
    }

    pub fn max_in_flight(&self, path: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .max_in_flight
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// Polls `check` every 20 ms until it holds, failing the test after
/// `limit` with `what`.
pub async fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
