//! Property tests of list paging, on both backends: for any page size and
//! page number, pages are disjoint, ordered, and together are exactly the
//! full list; `per_page = -1` is the full list; `include_deleted` adds exactly
//! the soft-deleted rows.

use crate::SqlStore;
use crate::testing::TestDb;
use cloud_model::cluster::ClusterFilter;
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_model::filter::Paging;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Creates `n` clusters and deletes those whose index is in `deleted`.
/// Returns (live ids, all ids) in creation order.
async fn seed(store: &SqlStore, n: usize, deleted: &[usize]) -> (Vec<String>, Vec<String>) {
    let mut all = Vec::new();
    let mut live = Vec::new();
    for i in 0..n {
        let mut req = CreateClusterRequest::default();
        req.set_defaults();
        let mut cluster = req.build_cluster().unwrap();
        store.cluster_create(&mut cluster, &[]).await.unwrap();
        if deleted.contains(&i) {
            store.cluster_delete(&cluster.id).await.unwrap();
        } else {
            live.push(cluster.id.clone());
        }
        all.push(cluster.id);
    }
    (live, all)
}

async fn list(store: &SqlStore, paging: Paging) -> Vec<String> {
    let filter = ClusterFilter {
        paging,
        ..Default::default()
    };
    store
        .cluster_list(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

async fn check_paging(db: TestDb) {
    let store = db.store.clone();
    let (live, all) = seed(&store, 23, &[0, 4, 5, 17, 22]).await;
    // The full lists define the order every page must follow.
    let full_live = list(&store, Paging::all_live()).await;
    let full_all = list(&store, Paging::all()).await;
    assert_eq!(full_live.len(), live.len());
    assert_eq!(full_all.len(), all.len());
    let mut sorted_live = live.clone();
    sorted_live.sort();
    let mut got = full_live.clone();
    got.sort();
    assert_eq!(got, sorted_live, "per_page=-1 lists exactly the live rows");
    assert!(full_live.iter().all(|id| full_all.contains(id)));

    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let strategy = (1i64..30, any::<bool>());
    runner
        .run(&strategy, |(per_page, include_deleted)| {
            let expected = if include_deleted {
                &full_all
            } else {
                &full_live
            };
            // Walk every page until an empty one: concatenated, they are the full list.
            let mut walked = Vec::new();
            let mut page = 0;
            loop {
                let paging = Paging {
                    page,
                    per_page,
                    include_deleted,
                };
                let ids = tokio::task::block_in_place(|| handle.block_on(list(&store, paging)));
                prop_assert!(ids.len() as i64 <= per_page);
                if ids.is_empty() {
                    break;
                }
                walked.extend(ids);
                page += 1;
                prop_assert!(page < 100, "paging does not end");
            }
            prop_assert_eq!(&walked, expected);
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_partition_the_list_sqlite() {
    check_paging(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_partition_the_list_postgres() {
    check_paging(TestDb::postgres().await).await;
}
