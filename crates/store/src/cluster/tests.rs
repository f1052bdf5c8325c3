//! Cluster store tests; each runs on SQLite and PostgreSQL.

use super::*;
use crate::backend_test;
use cloud_model::cluster_request::{CreateClusterRequest, ImportClusterRequest};
use cloud_model::event::StateChangeEventFilter;
use cloud_model::filter::Paging;

fn kops_cluster() -> Cluster {
    let mut r = CreateClusterRequest {
        allow_installations: true,
        ..Default::default()
    };
    r.set_defaults();
    r.build_cluster().unwrap()
}

fn eks_cluster() -> Cluster {
    let mut r = CreateClusterRequest {
        provisioner: "eks".into(),
        cluster_role_arn: "arn:c".into(),
        node_role_arn: "arn:n".into(),
        ami: "ami-1".into(),
        ..Default::default()
    };
    r.set_defaults();
    r.build_cluster().unwrap()
}

fn external_cluster() -> Cluster {
    ImportClusterRequest {
        external_cluster_secret_name: "kubeconfig".into(),
        vpc_id: "vpc-1".into(),
        ..Default::default()
    }
    .build_cluster()
    .unwrap()
}

async fn cluster_events(store: &SqlStore, id: &str) -> Vec<(String, String)> {
    let events = store
        .event_list(&StateChangeEventFilter {
            resource_type: Some(ResourceType::Cluster),
            resource_id: Some(id.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    events
        .into_iter()
        .rev()
        .map(|e| (e.state_change.old_state, e.state_change.new_state))
        .collect()
}

async fn insert_installation(store: &SqlStore, id: &str, name: &str, state: &str) {
    Query::new(
        "INSERT INTO installation (id, name, owner_id, state, size, version, image, database_type, \
         filestore_type, affinity, cr_version, create_at) VALUES (",
    )
    .bind(id)
    .sql(", ")
    .bind(name)
    .sql(", 'owner', ")
    .bind(state)
    .sql(", '100users', 'stable', 'img', 'mysql-operator', 'minio-operator', 'isolated', 'v1beta1', 1)")
    .execute(store.conn())
    .await
    .unwrap();
}

async fn insert_cluster_installation(
    store: &SqlStore,
    id: &str,
    cluster: &str,
    installation: &str,
    deleted: i64,
) {
    Query::new(
        "INSERT INTO cluster_installation (id, cluster_id, installation_id, namespace, state, create_at, delete_at) VALUES (",
    )
    .bind(id)
    .sql(", ")
    .bind(cluster)
    .sql(", ")
    .bind(installation)
    .sql(", ")
    .bind(installation)
    .sql(", 'stable', 1, ")
    .bind(deleted)
    .sql(")")
    .execute(store.conn())
    .await
    .unwrap();
}

backend_test!(create_records_cluster_annotations_and_event, |store| {
    let mut cluster = kops_cluster();
    let names = vec!["multi-tenant".to_string(), "alpha".to_string()];
    let dto = store.cluster_create(&mut cluster, &names).await.unwrap();
    assert!(cluster.create_at > 0);
    assert_eq!(
        dto.annotations
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["alpha", "multi-tenant"]
    );
    assert_eq!(dto.cluster.networking, "calico");

    let read = store.cluster_get_dto(&cluster.id).await.unwrap().unwrap();
    assert_eq!(read, dto);
    let mut expected = cluster.clone();
    expected.networking = "calico".into();
    assert_eq!(read.cluster, expected);
    assert_eq!(
        cluster_events(&store, &cluster.id).await,
        [("n/a".to_string(), "creation-requested".to_string())]
    );
    assert!(store.cluster_get("nope").await.unwrap().is_none());
});

backend_test!(every_provisioner_round_trips, |store| {
    for mut cluster in [kops_cluster(), eks_cluster(), external_cluster()] {
        store.cluster_create(&mut cluster, &[]).await.unwrap();
        let read = store.cluster_get(&cluster.id).await.unwrap().unwrap();
        let expected = {
            let mut c = cluster.clone();
            c.networking = stored_networking(&c);
            c
        };
        assert_eq!(read, expected, "{}", cluster.provisioner);
    }
    let ext = store.cluster_list(&ClusterFilter::default()).await.unwrap();
    let imported = ext
        .iter()
        .find(|c| c.provisioner == Provisioner::External)
        .unwrap();
    assert!(imported.has_aws_infrastructure());
    assert_eq!(imported.pg_bouncer_config, Some(PgBouncerConfig::default()));
    let mut no_vpc = ImportClusterRequest {
        external_cluster_secret_name: "kc".into(),
        ..Default::default()
    }
    .build_cluster()
    .unwrap();
    store.cluster_create(&mut no_vpc, &[]).await.unwrap();
    let read = store.cluster_get(&no_vpc.id).await.unwrap().unwrap();
    assert_eq!(read.pg_bouncer_config, None);
});

backend_test!(list_pages_filters_and_hides_deleted, |store| {
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut c = kops_cluster();
        let names = if i == 1 {
            vec!["gpu".to_string(), "big".to_string()]
        } else {
            vec!["gpu".to_string()]
        };
        store.cluster_create(&mut c, &names).await.unwrap();
        ids.push(c.id.clone());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let all = store
        .cluster_list_dto(&ClusterFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|c| c.cluster.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(all[1].annotations.len(), 2);

    let page = store
        .cluster_list(&ClusterFilter {
            paging: Paging {
                page: 1,
                per_page: 2,
                include_deleted: false,
            },
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, ids[2]);

    let big = store
        .annotation_get_by_names(&["big".to_string(), "gpu".to_string()])
        .await
        .unwrap();
    let both = store
        .cluster_list(&ClusterFilter {
            annotation_ids_match_all: Some(big.iter().map(|a| a.id.clone()).collect()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].id, ids[1]);
    let none = store
        .cluster_list(&ClusterFilter {
            annotation_ids_match_all: Some(vec!["missing".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    store.cluster_delete(&ids[0]).await.unwrap();
    let live = store.cluster_list(&ClusterFilter::default()).await.unwrap();
    assert_eq!(live.len(), 2);
    let with_deleted = store
        .cluster_list(&ClusterFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(with_deleted.len(), 3);
    let deleted = store.cluster_get(&ids[0]).await.unwrap().unwrap();
    assert!(deleted.is_deleted());
});

backend_test!(config_updates_never_touch_the_state, |store| {
    let mut cluster = kops_cluster();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    let mut changed = cluster.clone();
    changed.name = "renamed".into();
    changed.allow_installations = false;
    changed.state = ClusterState::Stable;
    changed.api_security_lock = true;
    changed.pg_bouncer_config = Some(PgBouncerConfig {
        default_pool_size: 9,
        ..Default::default()
    });
    store.cluster_update(&changed).await.unwrap();
    let read = store.cluster_get(&cluster.id).await.unwrap().unwrap();
    assert_eq!(read.name, "renamed");
    assert!(!read.allow_installations);
    assert_eq!(read.pg_bouncer_config.unwrap().default_pool_size, 9);
    assert_eq!(read.state, ClusterState::CreationRequested);
    assert!(!read.api_security_lock);
    assert_eq!(cluster_events(&store, &cluster.id).await.len(), 1);

    let mut ghost = cluster.clone();
    ghost.id = "ghost".into();
    assert!(matches!(
        store.cluster_update(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
});

backend_test!(state_changes_come_with_their_event, |store| {
    let mut cluster = kops_cluster();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    store
        .cluster_update_state(
            &cluster.id,
            ClusterState::CreationRequested,
            ClusterState::Stable,
        )
        .await
        .unwrap();
    // A stale old state is refused and writes nothing.
    let stale = store
        .cluster_update_state(
            &cluster.id,
            ClusterState::CreationRequested,
            ClusterState::DeletionRequested,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::InvalidTransition(_))));
    let missing = store
        .cluster_update_state(
            "ghost",
            ClusterState::Stable,
            ClusterState::DeletionRequested,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    // Same state: nothing recorded.
    store
        .cluster_update_state(&cluster.id, ClusterState::Stable, ClusterState::Stable)
        .await
        .unwrap();

    let mut upgrade = store.cluster_get(&cluster.id).await.unwrap().unwrap();
    upgrade.state = ClusterState::UpgradeRequested;
    upgrade
        .provisioner_metadata_kops
        .as_mut()
        .unwrap()
        .max_pods_per_node = 42;
    store
        .cluster_update_with_event(&upgrade, ClusterState::Stable)
        .await
        .unwrap();
    let read = store.cluster_get(&cluster.id).await.unwrap().unwrap();
    assert_eq!(read.state, ClusterState::UpgradeRequested);
    assert_eq!(
        read.provisioner_metadata_kops
            .as_ref()
            .unwrap()
            .max_pods_per_node,
        42
    );
    assert_eq!(
        cluster_events(&store, &cluster.id).await,
        [
            ("n/a".to_string(), "creation-requested".to_string()),
            ("creation-requested".to_string(), "stable".to_string()),
            ("stable".to_string(), "upgrade-requested".to_string()),
        ]
    );
    // A failed state move rolls the configuration back too.
    let mut again = read.clone();
    again.name = "should-not-stick".into();
    again.state = ClusterState::ResizeRequested;
    assert!(
        store
            .cluster_update_with_event(&again, ClusterState::Stable)
            .await
            .is_err()
    );
    assert_eq!(
        store.cluster_get(&cluster.id).await.unwrap().unwrap().name,
        ""
    );
});

backend_test!(
    annotations_in_use_by_hosted_installations_cannot_be_removed,
    |store| {
        let mut cluster = kops_cluster();
        store
            .cluster_create(&mut cluster, &["shared".to_string()])
            .await
            .unwrap();
        let all = store
            .cluster_annotations_add(&cluster.id, &["extra".to_string(), "shared".to_string()])
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["extra", "shared"]
        );
        assert!(matches!(
            store
                .cluster_annotations_add("ghost", &["extra".to_string()])
                .await,
            Err(StoreError::NotFound(_))
        ));

        insert_installation(&store, "inst1", "inst1", "stable").await;
        insert_cluster_installation(&store, "ci1", &cluster.id, "inst1", 0).await;
        store
            .installation_annotations_add("inst1", &["shared".to_string()])
            .await
            .unwrap();

        let refused = store.cluster_annotation_delete(&cluster.id, "shared").await;
        assert!(
            matches!(refused, Err(StoreError::Forbidden(_))),
            "{refused:?}"
        );
        assert!(
            store
                .cluster_annotation_delete(&cluster.id, "extra")
                .await
                .unwrap()
        );
        assert!(
            !store
                .cluster_annotation_delete(&cluster.id, "extra")
                .await
                .unwrap()
        );

        // Once the cluster installation is gone the annotation may go.
        Query::new("UPDATE cluster_installation SET delete_at = 5 WHERE id = 'ci1'")
            .execute(store.conn())
            .await
            .unwrap();
        assert!(
            store
                .cluster_annotation_delete(&cluster.id, "shared")
                .await
                .unwrap()
        );
        let left = store.cluster_get_dto(&cluster.id).await.unwrap().unwrap();
        assert!(left.annotations.is_empty());
    }
);

backend_test!(installation_counts_for_the_delete_rules, |store| {
    let mut cluster = kops_cluster();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    assert_eq!(
        store
            .cluster_installation_count_live(&cluster.id)
            .await
            .unwrap(),
        0
    );
    insert_installation(&store, "i1", "i1", "stable").await;
    insert_installation(&store, "i2", "i2", "deletion-in-progress").await;
    insert_cluster_installation(&store, "ci1", &cluster.id, "i1", 0).await;
    insert_cluster_installation(&store, "ci2", &cluster.id, "i2", 7).await;
    insert_cluster_installation(&store, "ci3", "other", "i1", 0).await;
    assert_eq!(
        store
            .cluster_installation_count_live(&cluster.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .cluster_deleting_installation_count(&cluster.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .cluster_deleting_installation_count("other")
            .await
            .unwrap(),
        0
    );
});

backend_test!(api_lock_and_row_locks, |store| {
    let mut cluster = kops_cluster();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    store.cluster_set_api_lock(&cluster.id, true).await.unwrap();
    store.cluster_set_api_lock(&cluster.id, true).await.unwrap();
    assert!(
        store
            .cluster_get(&cluster.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    store
        .cluster_set_api_lock(&cluster.id, false)
        .await
        .unwrap();
    assert!(
        !store
            .cluster_get(&cluster.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    assert!(matches!(
        store.cluster_set_api_lock("ghost", true).await,
        Err(StoreError::NotFound(_))
    ));

    assert!(store.cluster_lock(&cluster.id, "r1").await.unwrap());
    assert!(!store.cluster_lock(&cluster.id, "r2").await.unwrap());
    // The scheduling lock is independent of the row lock.
    assert!(
        store
            .cluster_lock_scheduling(&cluster.id, "r2")
            .await
            .unwrap()
    );
    assert!(
        !store
            .cluster_lock_scheduling(&cluster.id, "r1")
            .await
            .unwrap()
    );
    let locked = store.cluster_get(&cluster.id).await.unwrap().unwrap();
    assert_eq!(locked.lock_acquired_by.as_deref(), Some("r1"));
    assert_eq!(locked.scheduling_lock_acquired_by.as_deref(), Some("r2"));
    assert!(!store.cluster_unlock(&cluster.id, "r2").await.unwrap());
    assert!(store.cluster_unlock(&cluster.id, "r1").await.unwrap());
    assert!(
        store
            .cluster_unlock_scheduling(&cluster.id, "r2")
            .await
            .unwrap()
    );
    let free = store.cluster_get(&cluster.id).await.unwrap().unwrap();
    assert_eq!(
        (free.lock_acquired_at, free.scheduling_lock_acquired_at),
        (0, 0)
    );
    assert!(free.lock_acquired_by.is_none());
    assert!(!store.cluster_lock("ghost", "r1").await.unwrap());
});
