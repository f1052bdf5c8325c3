//! Property tests of list paging and filters, on both backends: for any page size and
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

mod installation_filters {
    //! Installation list filters: for any combination of owner, state,
    //! deletion lock, domain (exact or `LIKE`), deleted rows and page, the
    //! store returns exactly the rows an in-memory filter keeps, in creation
    //! order.

    use super::*;
    use cloud_model::installation::{
        Affinity, DatabaseType, FilestoreType, Installation, InstallationFilter, InstallationState,
    };

    const OWNERS: [&str; 3] = ["ann", "bob", "cid"];

    #[derive(Debug, Clone)]
    struct Row {
        id: String,
        owner: &'static str,
        state: InstallationState,
        locked: bool,
        domain: String,
        deleted: bool,
    }

    async fn seed(store: &SqlStore) -> Vec<Row> {
        let mut rows = Vec::new();
        for i in 0..18usize {
            let owner = OWNERS[i % 3];
            let domain = if i % 2 == 0 {
                format!("n{i}.alpha.example.com")
            } else {
                format!("n{i}.beta.example.org")
            };
            let mut inst = Installation {
                name: format!("n{i}"),
                owner_id: owner.into(),
                group_id: Some(String::new()),
                version: "stable".into(),
                image: "mattermost/mattermost-enterprise-edition".into(),
                size: "100users".into(),
                database: DatabaseType::AwsMultitenantRdsPostgres,
                filestore: FilestoreType::Bifrost,
                affinity: Affinity::Multitenant,
                state: InstallationState::CreationRequested,
                cr_version: "installation.mattermost.com/v1beta1".into(),
                ..Default::default()
            };
            store
                .installation_create(&mut inst, &[], std::slice::from_ref(&domain))
                .await
                .unwrap();
            let mut state = InstallationState::CreationRequested;
            if i % 4 == 1 {
                let old = inst.state;
                inst.state = InstallationState::Stable;
                store.installation_update_state(&inst, old).await.unwrap();
                state = InstallationState::Stable;
            }
            let locked = i % 5 == 2;
            if locked {
                store
                    .installation_set_deletion_lock(&inst.id, true)
                    .await
                    .unwrap();
            }
            let deleted = i % 7 == 3;
            if deleted {
                store.installation_delete(&inst.id).await.unwrap();
            }
            rows.push(Row {
                id: inst.id,
                owner,
                state,
                locked,
                domain,
                deleted,
            });
            // CreateAt is in milliseconds: keep creation order unambiguous.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        rows
    }

    #[derive(Debug, Clone)]
    enum Dns {
        Exact(usize),
        Like(&'static str),
    }

    fn dns_strategy() -> impl Strategy<Value = Option<Dns>> {
        prop_oneof![
            Just(None),
            (0usize..18).prop_map(|i| Some(Dns::Exact(i))),
            prop_oneof![Just("%.alpha.%"), Just("%.org"), Just("n1%")]
                .prop_map(|p| Some(Dns::Like(p))),
        ]
    }

    fn like(pattern: &str, value: &str) -> bool {
        // The three patterns used: "%x%", "%x" and "x%".
        let inner = pattern.trim_matches('%');
        match (pattern.starts_with('%'), pattern.ends_with('%')) {
            (true, true) => value.contains(inner),
            (true, false) => value.ends_with(inner),
            (false, true) => value.starts_with(inner),
            (false, false) => value == inner,
        }
    }

    async fn check(db: TestDb) {
        let store = db.store.clone();
        let rows = seed(&store).await;
        // The store's creation order is the reference order.
        let order: Vec<String> = store
            .installation_list(&InstallationFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(order, rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>());

        let handle = tokio::runtime::Handle::current();
        let mut runner = TestRunner::new(Config {
            cases: 64,
            ..Config::default()
        });
        let strategy = (
            proptest::option::of(0usize..3),
            proptest::option::of(prop_oneof![
                Just(InstallationState::CreationRequested),
                Just(InstallationState::Stable),
                Just(InstallationState::Hibernating),
            ]),
            proptest::option::of(any::<bool>()),
            dns_strategy(),
            any::<bool>(),
            prop_oneof![Just(-1i64), 1i64..8],
            0i64..4,
        );
        runner
            .run(
                &strategy,
                |(owner, state, locked, dns, include_deleted, per_page, page)| {
                    let dns_value = dns.as_ref().map(|d| match d {
                        Dns::Exact(i) => rows[*i].domain.clone(),
                        Dns::Like(p) => p.to_string(),
                    });
                    let filter = InstallationFilter {
                        paging: Paging {
                            page: if per_page == -1 { 0 } else { page },
                            per_page,
                            include_deleted,
                        },
                        owner_id: owner.map(|o| OWNERS[o].to_string()),
                        state,
                        deletion_locked: locked,
                        dns: dns_value.clone(),
                        ..Default::default()
                    };
                    let got: Vec<String> = tokio::task::block_in_place(|| {
                        handle.block_on(store.installation_list(&filter))
                    })
                    .unwrap()
                    .into_iter()
                    .map(|i| i.id)
                    .collect();
                    let kept: Vec<String> = rows
                        .iter()
                        .filter(|r| include_deleted || !r.deleted)
                        .filter(|r| owner.is_none_or(|o| r.owner == OWNERS[o]))
                        .filter(|r| state.is_none_or(|s| r.state == s))
                        .filter(|r| locked.is_none_or(|l| r.locked == l))
                        .filter(|r| match &dns {
                            None => true,
                            Some(Dns::Exact(i)) => r.domain == rows[*i].domain,
                            Some(Dns::Like(p)) => like(p, &r.domain),
                        })
                        .map(|r| r.id.clone())
                        .collect();
                    let expected: Vec<String> = if per_page == -1 {
                        kept
                    } else {
                        kept.into_iter()
                            .skip((page * per_page) as usize)
                            .take(per_page as usize)
                            .collect()
                    };
                    prop_assert_eq!(got, expected, "filter {:?}", filter);
                    Ok(())
                },
            )
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filters_match_an_in_memory_filter_sqlite() {
        check(TestDb::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filters_match_an_in_memory_filter_postgres() {
        check(TestDb::postgres().await).await;
    }
}
