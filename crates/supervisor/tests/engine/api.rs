//! Over HTTP: a server with the engine on the simulated cloud moves a
//! cluster created through the API to `stable` by itself, and shows the
//! progress fields only while there is something to show.

use crate::harness::{Db, assert_chain};
use cloud_api::{ApiConfig, AppState};
use cloud_ports::PortError;
use cloud_ports::sim::{SimCloud, SimConfig};
use cloud_store::Query;
use cloud_store::testing::TestDb;
use cloud_supervisor::Wake;
use cloud_supervisor::backoff::Backoff;
use cloud_supervisor::driver::DriverConfig;
use cloud_supervisor::engine::{Engine, EngineConfig};
use cloud_supervisor::reconcile::ReconcileConfig;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Engine tuning for real-time tests: quick rechecks and retries.
pub fn fast_engine(owner: &str) -> EngineConfig {
    EngineConfig {
        driver: DriverConfig {
            resync: Some(Duration::from_secs(30)),
            ..DriverConfig::default()
        },
        reconcile: ReconcileConfig {
            recheck: Duration::from_millis(20),
            backoff: Backoff {
                base: Duration::from_millis(20),
                max: Duration::from_millis(500),
            },
            ..ReconcileConfig::default()
        },
        ..EngineConfig::all(owner)
    }
}

struct Served {
    base: String,
    http: reqwest::Client,
    engine: Engine,
    sim: Arc<SimCloud>,
    db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

async fn serve(db: Db) -> Served {
    let db = match db {
        Db::Sqlite => TestDb::sqlite().await,
        Db::Postgres => TestDb::postgres().await,
    };
    let wake = Wake::new();
    let state = AppState::new(db.store.clone(), wake.clone(), ApiConfig::default()).unwrap();
    let app = cloud_api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    // Every cloud call takes 60–120 ms, so a 10 ms poll sees each step even
    // on a loaded machine (the test asserts that the step is visible).
    let sim = SimCloud::new(SimConfig {
        latency: (Duration::from_millis(60), Duration::from_millis(120)),
        ..SimConfig::dev(7)
    });
    let engine = Engine::start(
        fast_engine("api-test"),
        db.store.clone(),
        Some(sim.ports()),
        wake,
    );
    cloud_client::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Served {
        base,
        http,
        engine,
        sim,
        db,
        server,
    }
}

impl Served {
    async fn create(&self) -> Value {
        let res = self
            .http
            .post(format!("{}/api/clusters", self.base))
            .json(&json!({"zones": ["us-east-1a"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        res.json().await.unwrap()
    }

    async fn get(&self, id: &str) -> Value {
        let res = self
            .http
            .get(format!("{}/api/cluster/{id}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Polls until the cluster's `State` is `want`; every document seen.
    async fn poll_until(&self, id: &str, want: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let doc = self.get(id).await;
            let done = doc["State"] == want;
            seen.push(doc);
            if done {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "cluster {id} is not {want} after 30s: {}",
                seen.last().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.engine.shutdown(Duration::from_secs(5)).await;
        self.server.abort();
        drop(self.db);
    }
}

async fn a_cluster_created_over_http_becomes_stable(db: Db) {
    let s = serve(db).await;
    let started = Instant::now();
    let created = s.create().await;
    assert_eq!(created["State"], "creation-requested");
    for key in [
        "Step",
        "LastError",
        "LastErrorClass",
        "RetryCount",
        "NextRetryAt",
    ] {
        assert!(created.get(key).is_none(), "{key} in {created}");
    }
    let id = created["ID"].as_str().unwrap().to_string();
    let seen = s.poll_until(&id, "stable").await;
    let elapsed = started.elapsed();
    let stable = seen.last().unwrap();
    for key in [
        "Step",
        "LastError",
        "LastErrorClass",
        "RetryCount",
        "NextRetryAt",
    ] {
        assert!(stable.get(key).is_none(), "{key} left in {stable}");
    }
    assert!(
        seen.iter().any(|d| d.get("Step").is_some()),
        "the step shows while the cluster is worked on"
    );
    let events: Vec<(String, String)> = Query::new(
        "SELECT s.old_state, s.new_state FROM state_change_event s \
         JOIN event e ON e.id = s.event_id WHERE s.resource_id = ",
    )
    .bind(&id)
    .sql(" ORDER BY e.seq")
    .fetch_all(s.db.store.conn())
    .await
    .unwrap();
    assert_chain(&id, &events, "n/a", "stable");
    assert_eq!(events.len(), 5, "{events:?}");
    println!(
        "{db:?}: POST → stable in {elapsed:?} over {} polls",
        seen.len()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_created_over_http_becomes_stable_sqlite() {
    a_cluster_created_over_http_becomes_stable(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_created_over_http_becomes_stable_postgres() {
    a_cluster_created_over_http_becomes_stable(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cluster_shows_its_error_over_http() {
    let s = serve(Db::Sqlite).await;
    s.sim.inject(
        "create_cluster",
        [PortError::User("AMI ami-123 does not exist".into())],
    );
    let id = s.create().await["ID"].as_str().unwrap().to_string();
    let failed = s.poll_until(&id, "creation-failed").await.pop().unwrap();
    assert_eq!(failed["LastErrorClass"], "user");
    assert_eq!(failed["Step"], "create-cluster");
    assert!(
        failed["LastError"]
            .as_str()
            .unwrap()
            .contains("ami-123 does not exist"),
        "{failed}"
    );
    assert!(
        failed.get("NextRetryAt").is_none(),
        "a failed state is not retried"
    );

    // Retrying through the API clears it on success.
    let res = s
        .http
        .post(format!("{}/api/cluster/{id}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let stable = s.poll_until(&id, "stable").await.pop().unwrap();
    assert!(stable.get("LastError").is_none(), "{stable}");
    s.stop().await;
}
