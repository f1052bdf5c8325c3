//! Rough measurements, run by hand (`--run-ignored only`), printing a
//! table: reaction latency from a write to the first transition, engine
//! throughput on the instant simulated cloud, and the raw
//! lock → read → unlock rate of the same database for comparison.

use crate::api::fast_engine;
use crate::harness::Db;
use cloud_model::cluster::ClusterState;
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_ports::sim::{SimCloud, SimConfig};
use cloud_store::testing::TestDb;
use cloud_store::{Query, SqlStore};
use cloud_supervisor::engine::Engine;
use cloud_supervisor::{SupervisorKind, Wake};
use std::time::{Duration, Instant};

async fn create(store: &SqlStore) -> String {
    let mut request = CreateClusterRequest::default();
    request.set_defaults();
    let mut cluster = request.build_cluster().unwrap();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    cluster.id
}

async fn state(store: &SqlStore, id: &str) -> ClusterState {
    store.cluster_get(id).await.unwrap().unwrap().state
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(db: Db) {
    let test_db = match db {
        Db::Sqlite => TestDb::sqlite().await,
        Db::Postgres => TestDb::postgres().await,
    };
    let store = test_db.store.clone();
    let wake = Wake::new();
    let sim = SimCloud::new(SimConfig::instant(1));
    let mut config = fast_engine("bench");
    config.reconcile.workers = 8;
    let engine = Engine::start(config, store.clone(), Some(sim.ports()), wake.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;

    // (a) Reaction: write + wake → the row leaves creation-requested.
    let mut reactions = Vec::new();
    for _ in 0..50 {
        let id = create(&store).await;
        let t = Instant::now();
        wake.wake(SupervisorKind::Cluster);
        while state(&store, &id).await == ClusterState::CreationRequested {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        reactions.push(t.elapsed());
        while state(&store, &id).await != ClusterState::Stable {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    reactions.sort();

    // (b) Throughput: N clusters at once, 4 transitions each.
    let n = 200;
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(create(&store).await);
    }
    let t = Instant::now();
    wake.wake(SupervisorKind::Cluster);
    for id in &ids {
        while state(&store, id).await != ClusterState::Stable {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let engine_rate = (4 * n) as f64 / t.elapsed().as_secs_f64();
    engine.shutdown(Duration::from_secs(5)).await;

    // Raw lock → read → unlock of the same rows, one at a time.
    let t = Instant::now();
    for id in &ids {
        assert!(store.cluster_lock(id, "raw").await.unwrap());
        store.cluster_get(id).await.unwrap();
        assert!(store.cluster_unlock(id, "raw").await.unwrap());
    }
    let raw_rate = n as f64 / t.elapsed().as_secs_f64();
    let events: i64 = Query::new("SELECT COUNT(*) FROM state_change_event")
        .fetch_i64(store.conn())
        .await
        .unwrap();
    println!(
        "| {db:?} | {:?} | {:?} | {engine_rate:.0} | {raw_rate:.0} | {events} |",
        percentile(&reactions, 0.5),
        percentile(&reactions, 0.99),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --run-ignored only --no-capture"]
async fn engine_reaction_and_throughput() {
    println!(
        "| db | reaction p50 | reaction p99 | transitions/s | raw lock-read-unlock/s | events |"
    );
    println!("|---|---|---|---|---|---|");
    measure(Db::Sqlite).await;
    measure(Db::Postgres).await;
}
