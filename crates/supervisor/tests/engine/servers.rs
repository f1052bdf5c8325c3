//! Several engines on one PostgreSQL database: a write on one server wakes
//! the others through `LISTEN/NOTIFY`, and two servers share the work
//! without stepping on each other.

use crate::api::fast_engine;
use crate::harness::assert_chain;
use cloud_model::cluster::ClusterState;
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_ports::sim::{SimCloud, SimConfig};
use cloud_store::testing::TestDb;
use cloud_store::{Query, SqlStore};
use cloud_supervisor::driver::DriverConfig;
use cloud_supervisor::engine::{Engine, EngineConfig};
use cloud_supervisor::{SupervisorKind, Wake};
use std::time::{Duration, Instant};

async fn create(store: &SqlStore) -> String {
    let mut request = CreateClusterRequest::default();
    request.set_defaults();
    let mut cluster = request.build_cluster().unwrap();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    cluster.id
}

async fn wait_all(store: &SqlStore, ids: &[String], state: ClusterState, within: Duration) {
    let deadline = Instant::now() + within;
    for id in ids {
        loop {
            let c = store.cluster_get(id).await.unwrap().unwrap();
            if c.state == state {
                break;
            }
            assert!(Instant::now() < deadline, "{id} is {} not {state}", c.state);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_server_wakes_the_supervisor_of_another() {
    let db = TestDb::postgres().await;
    let sim = SimCloud::new(SimConfig::instant(1));
    // Server A: API only. Server B: the cluster supervisor, never polling.
    let store_a = SqlStore::open(&db.url).await.unwrap();
    let wake_a = Wake::new();
    let a = Engine::start(
        EngineConfig {
            cluster: false,
            cluster_installation: false,
            ..fast_engine("server-a")
        },
        store_a.clone(),
        Some(sim.ports()),
        wake_a.clone(),
    );
    let store_b = SqlStore::open(&db.url).await.unwrap();
    let b = Engine::start(
        EngineConfig {
            driver: DriverConfig {
                resync: None,
                ..DriverConfig::default()
            },
            ..fast_engine("server-b")
        },
        store_b.clone(),
        Some(sim.ports()),
        Wake::new(),
    );
    // Let B finish its start-up pass and start listening.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let id = create(&store_a).await;
    wake_a.wake(SupervisorKind::Cluster);
    wait_all(
        &store_b,
        std::slice::from_ref(&id),
        ClusterState::Stable,
        Duration::from_secs(10),
    )
    .await;
    println!("write on A → stable on B in {:?}", started.elapsed());
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_work_without_doing_it_twice() {
    let db = TestDb::postgres().await;
    let sim = SimCloud::new(SimConfig {
        latency: (Duration::from_millis(1), Duration::from_millis(10)),
        ready_after: 2,
        done_after: 1,
        ..SimConfig::instant(2)
    });
    let mut engines = Vec::new();
    let mut stores = Vec::new();
    let mut wakes = Vec::new();
    for name in ["server-1", "server-2"] {
        let store = SqlStore::open(&db.url).await.unwrap();
        let wake = Wake::new();
        engines.push(Engine::start(
            fast_engine(name),
            store.clone(),
            Some(sim.ports()),
            wake.clone(),
        ));
        stores.push(store);
        wakes.push(wake);
    }
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(create(&stores[i % 2]).await);
        // As the API does; on PostgreSQL this wakes both servers, which
        // then race for every row.
        wakes[i % 2].wake(SupervisorKind::Cluster);
    }
    wait_all(
        &stores[0],
        &ids,
        ClusterState::Stable,
        Duration::from_secs(60),
    )
    .await;
    for id in &ids {
        let events: Vec<(String, String)> = Query::new(
            "SELECT s.old_state, s.new_state FROM state_change_event s \
             JOIN event e ON e.id = s.event_id WHERE s.resource_id = ",
        )
        .bind(id)
        .sql(" ORDER BY e.seq")
        .fetch_all(stores[0].conn())
        .await
        .unwrap();
        assert_chain(id, &events, "n/a", "stable");
        assert_eq!(events.len(), 5, "{id}: {events:?}");
    }
    assert!(sim.created_twice().is_empty());
    let steps: Vec<u64> = engines
        .iter()
        .map(|e| {
            cloud_supervisor::reconcile::Stats::get(
                &e.stats(SupervisorKind::Cluster).unwrap().steps,
            )
        })
        .collect();
    println!("steps per server: {steps:?}");
    for e in engines {
        e.shutdown(Duration::from_secs(5)).await;
    }
}
