//! Store tests of installations and their domain names, on both backends.

use super::*;
use crate::backend_test;
use cloud_model::event::StateChangeEventFilter;
use cloud_model::filter::Paging;
use cloud_model::group::Group;
use cloud_model::installation::{Affinity, DatabaseType, FilestoreType};
use cloud_model::installation_dns::InstallationDNS;

fn sample(name: &str) -> Installation {
    Installation {
        name: name.into(),
        owner_id: "owner".into(),
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
    }
}

async fn create(store: &SqlStore, name: &str, domains: &[&str]) -> InstallationDTO {
    let mut i = sample(name);
    let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
    store
        .installation_create(&mut i, &[], &domains)
        .await
        .unwrap()
}

async fn events_for(store: &SqlStore, id: &str) -> Vec<(String, String)> {
    store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(id.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.state_change.old_state, e.state_change.new_state))
        .collect()
}

async fn count_rows(store: &SqlStore, table: &str) -> i64 {
    Query::new(format!("SELECT COUNT(*) FROM {table}"))
        .fetch_i64(store.conn())
        .await
        .unwrap()
}

backend_test!(create_writes_everything_in_one_go, |store| {
    let mut i = sample("alpha");
    i.mattermost_env = Some([("MM_A".to_string(), cloud_model::env::EnvVar::value("1"))].into());
    i.command = Some(vec!["mattermost".into()]);
    let dto = store
        .installation_create(
            &mut i,
            &["team-b".to_string(), "team-a".to_string()],
            &[
                "alpha.example.com".to_string(),
                "alpha.other.org".to_string(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(dto.installation.id.len(), 26);
    assert!(dto.installation.create_at > 0);
    assert_eq!(dto.dns, "alpha.example.com");
    assert_eq!(dto.dns_records.len(), 2);
    assert!(dto.dns_records[0].is_primary && !dto.dns_records[1].is_primary);
    let names: Vec<_> = dto.annotations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["team-a", "team-b"]);

    let read = store
        .installation_get_dto(&dto.installation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.installation, i);
    assert_eq!(read.dns_records, dto.dns_records);
    assert_eq!(read.annotations, dto.annotations);
    assert!(read.cluster_ids.is_empty());

    let events = store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(i.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].state_change.old_state, "n/a");
    assert_eq!(events[0].state_change.new_state, "creation-requested");
    assert_eq!(events[0].event.extra_data.fields["Name"], "alpha");
    assert!(store.installation_get("nope").await.unwrap().is_none());
});

backend_test!(
    taken_names_and_domains_conflict_and_leave_nothing,
    |store| {
        create(&store, "alpha", &["alpha.example.com"]).await;
        let before = (
            count_rows(&store, "installation").await,
            count_rows(&store, "installation_dns").await,
        );
        let events_before = count_rows(&store, "event").await;

        let mut same_domain = sample("beta");
        let err = store
            .installation_create(
                &mut same_domain,
                &["x-annotation".to_string()],
                &[
                    "beta.example.com".to_string(),
                    "alpha.example.com".to_string(),
                ],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref m) if m.contains("alpha.example.com")),
            "{err}"
        );

        let mut same_name = sample("alpha");
        let err = store
            .installation_create(&mut same_name, &[], &["alpha.elsewhere.com".to_string()])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");

        let after = (
            count_rows(&store, "installation").await,
            count_rows(&store, "installation_dns").await,
        );
        assert_eq!(before, after);
        assert_eq!(count_rows(&store, "event").await, events_before);
        assert_eq!(count_rows(&store, "installation_annotation").await, 0);
    }
);

backend_test!(names_are_reusable_after_deletion, |store| {
    let first = create(&store, "alpha", &["alpha.example.com"]).await;
    store
        .installation_delete(&first.installation.id)
        .await
        .unwrap();
    store
        .installation_dns_delete_all(&first.installation.id)
        .await
        .unwrap();
    let second = create(&store, "alpha", &["alpha.example.com"]).await;
    assert_ne!(first.installation.id, second.installation.id);
    assert!(
        store
            .installation_get(&first.installation.id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted()
    );
});

backend_test!(list_applies_every_filter, |store| {
    let a = create(&store, "alpha", &["alpha.example.com"])
        .await
        .installation;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let mut b = sample("beta");
    b.owner_id = "other".into();
    b.group_id = Some("g1".into());
    b.state = InstallationState::Stable;
    b.deletion_locked = true;
    store
        .installation_create(
            &mut b,
            &[],
            &[
                "beta.example.com".to_string(),
                "beta_x.test.org".to_string(),
            ],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let c = create(&store, "gamma", &["gamma.test.org"])
        .await
        .installation;
    store.installation_delete(&c.id).await.unwrap();

    let ids = |v: Vec<Installation>| v.into_iter().map(|i| i.name).collect::<Vec<_>>();
    let list = |f: InstallationFilter| {
        let store = store.clone();
        async move { ids(store.installation_list(&f).await.unwrap()) }
    };
    assert_eq!(list(InstallationFilter::default()).await, ["alpha", "beta"]);
    let all = InstallationFilter {
        paging: Paging::all(),
        ..Default::default()
    };
    assert_eq!(list(all.clone()).await, ["alpha", "beta", "gamma"]);
    assert_eq!(
        list(InstallationFilter {
            owner_id: Some("other".into()),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            group_id: Some("g1".into()),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            state: Some(InstallationState::Stable),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            name: Some("alpha".into()),
            ..Default::default()
        })
        .await,
        ["alpha"]
    );
    assert_eq!(
        list(InstallationFilter {
            deletion_locked: Some(true),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            deletion_locked: Some(false),
            ..Default::default()
        })
        .await,
        ["alpha"]
    );
    assert_eq!(
        list(InstallationFilter {
            dns: Some("BETA_X.test.org".into()),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            dns: Some("%.example.com".into()),
            ..Default::default()
        })
        .await,
        ["alpha", "beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            dns: Some("%.test.org".into()),
            ..Default::default()
        })
        .await,
        ["beta"]
    );
    assert_eq!(
        list(InstallationFilter {
            dns: Some("%.test.org".into()),
            paging: Paging::all(),
            ..Default::default()
        })
        .await,
        ["beta", "gamma"]
    );
    assert!(
        list(InstallationFilter {
            dns: Some("example.com".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(InstallationFilter {
            installation_ids: Some(vec![a.id.clone(), c.id.clone()]),
            ..Default::default()
        })
        .await,
        ["alpha"]
    );
    assert!(
        list(InstallationFilter {
            installation_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let page = InstallationFilter {
        paging: Paging {
            page: 1,
            per_page: 1,
            include_deleted: false,
        },
        ..Default::default()
    };
    assert_eq!(list(page).await, ["beta"]);

    assert_eq!(
        store
            .installation_count(&InstallationFilter::default())
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.installation_count(&all).await.unwrap(), 3);

    let dtos = store
        .installation_list_dto(&InstallationFilter::default())
        .await
        .unwrap();
    assert_eq!(dtos[1].dns_records.len(), 2);
    assert_eq!(dtos[1].dns, "beta.example.com");
});

backend_test!(status_counts_live_rows_by_bucket, |store| {
    for (name, state) in [
        ("s1", InstallationState::Stable),
        ("s2", InstallationState::Stable),
        ("h1", InstallationState::Hibernating),
        ("d1", InstallationState::DeletionPending),
        ("u1", InstallationState::UpdateInProgress),
        ("x1", InstallationState::Stable),
    ] {
        let mut i = sample(name);
        i.state = state;
        store
            .installation_create(&mut i, &[], &[format!("{name}.example.com")])
            .await
            .unwrap();
        if name == "x1" {
            store.installation_delete(&i.id).await.unwrap();
        }
    }
    let s = store.installation_status().await.unwrap();
    assert_eq!(
        s,
        InstallationsStatus {
            installations_total: 5,
            installations_stable: 2,
            installations_hibernating: 1,
            installations_pending_deletion: 1,
            installations_updating: 1,
        }
    );
});

backend_test!(updates_write_fields_and_events, |store| {
    let mut i = create(&store, "alpha", &["alpha.example.com"])
        .await
        .installation;
    i.state = InstallationState::Stable;
    store
        .installation_update_state(&i, InstallationState::CreationRequested)
        .await
        .unwrap();
    // Same state again: no second event.
    store
        .installation_update_state(&i, InstallationState::Stable)
        .await
        .unwrap();

    i.version = "9.0".into();
    i.allowed_ip_ranges = Some(vec![cloud_model::installation::AllowedIPRange {
        cidr_block: "10.0.0.0/8".into(),
        ..Default::default()
    }]);
    i.state = InstallationState::UpdateRequested;
    // The locks are not written by a full update.
    i.api_security_lock = true;
    store
        .installation_update_with_event(&i, InstallationState::Stable, &[("actor_id", "me")])
        .await
        .unwrap();
    let read = store.installation_get(&i.id).await.unwrap().unwrap();
    assert_eq!(read.version, "9.0");
    assert_eq!(read.allowed_ip_ranges, i.allowed_ip_ranges);
    assert_eq!(read.state, InstallationState::UpdateRequested);
    assert!(!read.api_security_lock);

    assert_eq!(
        events_for(&store, &i.id).await,
        [
            ("stable".to_string(), "update-requested".to_string()),
            ("creation-requested".to_string(), "stable".to_string()),
            ("n/a".to_string(), "creation-requested".to_string()),
        ]
    );
    let latest = store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(i.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(latest[0].event.extra_data.fields["actor_id"], "me");

    i.group_sequence = Some(4);
    store.installation_update_group_sequence(&i).await.unwrap();
    assert_eq!(
        store
            .installation_get(&i.id)
            .await
            .unwrap()
            .unwrap()
            .group_sequence,
        Some(4)
    );

    let missing = sample("ghost");
    assert!(matches!(
        store.installation_update(&missing).await,
        Err(StoreError::NotFound(_))
    ));
});

backend_test!(merged_installations_cannot_be_saved_whole, |store| {
    let mut i = create(&store, "alpha", &["alpha.example.com"])
        .await
        .installation;
    i.group_id = Some("g".into());
    i.merge_with_group(
        &Group {
            version: "group-version".into(),
            sequence: 3,
            ..Default::default()
        },
        true,
    );
    assert!(matches!(
        store.installation_update(&i).await,
        Err(StoreError::Invalid(_))
    ));
    let read = store.installation_get(&i.id).await.unwrap().unwrap();
    assert_eq!(read.version, "stable");
    // The state alone may be written.
    i.state = InstallationState::CreationFailed;
    store
        .installation_update_state(&i, InstallationState::CreationRequested)
        .await
        .unwrap();
    assert_eq!(
        store.installation_get(&i.id).await.unwrap().unwrap().state,
        InstallationState::CreationFailed
    );
});

backend_test!(row_lock_and_security_flags, |store| {
    let id = create(&store, "alpha", &["alpha.example.com"])
        .await
        .installation
        .id;
    assert!(store.installation_lock(&id, "r1").await.unwrap());
    assert!(!store.installation_lock(&id, "r2").await.unwrap());
    let locked = store.installation_get(&id).await.unwrap().unwrap();
    assert_eq!(locked.lock_acquired_by.as_deref(), Some("r1"));
    assert!(!store.installation_unlock(&id, "r2").await.unwrap());
    assert!(store.installation_unlock(&id, "r1").await.unwrap());
    assert!(store.installation_lock(&id, "r2").await.unwrap());
    assert!(!store.installation_lock("missing", "r2").await.unwrap());

    store.installation_set_api_lock(&id, true).await.unwrap();
    store
        .installation_set_deletion_lock(&id, true)
        .await
        .unwrap();
    store
        .installation_set_deletion_lock(&id, true)
        .await
        .unwrap();
    let read = store.installation_get(&id).await.unwrap().unwrap();
    assert!(read.api_security_lock && read.deletion_locked);
    store.installation_set_api_lock(&id, false).await.unwrap();
    assert!(
        !store
            .installation_get(&id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    assert!(matches!(
        store.installation_set_api_lock("missing", true).await,
        Err(StoreError::NotFound(_))
    ));
});

async fn host_on_cluster(
    store: &SqlStore,
    installation_id: &str,
    cluster_id: &str,
    annotations: &[&str],
    at: i64,
) {
    Query::new("INSERT INTO cluster_installation (id, cluster_id, installation_id, namespace, state, create_at) VALUES (")
        .bind(cloud_model::new_id())
        .sql(", ")
        .bind(cluster_id)
        .sql(", ")
        .bind(installation_id)
        .sql(", ")
        .bind(installation_id)
        .sql(", 'stable', ")
        .bind(at)
        .sql(")")
        .execute(store.conn())
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let names: Vec<String> = annotations.iter().map(|a| a.to_string()).collect();
    let found = crate::annotation::annotations_get_or_create(&mut tx, &names)
        .await
        .unwrap();
    annotations_attach(&mut tx, AnnotatedKind::Cluster, cluster_id, &found)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

backend_test!(annotations_must_match_hosting_clusters, |store| {
    let id = create(&store, "alpha", &["alpha.example.com"])
        .await
        .installation
        .id;
    // Not hosted anywhere yet: anything goes.
    let added = store
        .installation_annotations_add(&id, &["free".to_string()])
        .await
        .unwrap();
    assert_eq!(added[0].name, "free");

    host_on_cluster(&store, &id, "c1", &["shared", "only-c1"], 1).await;
    host_on_cluster(&store, &id, "c2", &["shared"], 2).await;
    let err = store
        .installation_annotations_add(&id, &["only-c1".to_string()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
    let err = store
        .installation_annotations_add(&id, &["brand-new".to_string()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
    store
        .installation_annotations_add(&id, &["shared".to_string()])
        .await
        .unwrap();

    let dto = store.installation_get_dto(&id).await.unwrap().unwrap();
    let names: Vec<_> = dto.annotations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["free", "shared"]);
    assert_eq!(dto.cluster_ids, ["c1", "c2"]);

    assert!(
        store
            .installation_annotation_delete(&id, "free")
            .await
            .unwrap()
    );
    assert!(
        !store
            .installation_annotation_delete(&id, "free")
            .await
            .unwrap()
    );
    let dto = store.installation_get_dto(&id).await.unwrap().unwrap();
    assert_eq!(dto.annotations.len(), 1);
});

backend_test!(domain_names_add_switch_and_delete, |store| {
    let created = create(&store, "alpha", &["alpha.example.com"]).await;
    let mut i = created.installation;
    i.state = InstallationState::Stable;
    store
        .installation_update_state(&i, InstallationState::CreationRequested)
        .await
        .unwrap();

    i.state = InstallationState::UpdateRequested;
    let added = store
        .installation_dns_add(&i, InstallationState::Stable, "beta.example.com")
        .await
        .unwrap();
    assert!(!added.is_primary);
    let err = store
        .installation_dns_add(&i, InstallationState::UpdateRequested, "beta.example.com")
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))));

    i.name = "beta".into();
    store
        .installation_dns_set_primary(&i, InstallationState::UpdateRequested, &added.id)
        .await
        .unwrap();
    let records: Vec<InstallationDNS> = store.installation_dns_list(&i.id).await.unwrap();
    let primary: Vec<_> = records
        .iter()
        .filter(|r| r.is_primary)
        .map(|r| r.domain_name.as_str())
        .collect();
    assert_eq!(primary, ["beta.example.com"]);
    assert_eq!(
        store.installation_get(&i.id).await.unwrap().unwrap().name,
        "beta"
    );

    // The primary cannot be deleted; the other one can, once.
    let err = store
        .installation_dns_delete(&i, InstallationState::UpdateRequested, &added.id)
        .await;
    assert!(matches!(err, Err(StoreError::NotFound(_))));
    let old = &records.iter().find(|r| !r.is_primary).unwrap().id;
    store
        .installation_dns_delete(&i, InstallationState::UpdateRequested, old)
        .await
        .unwrap();
    assert!(
        store
            .installation_dns_delete(&i, InstallationState::UpdateRequested, old)
            .await
            .is_err()
    );
    assert!(
        store
            .installation_dns_get(old)
            .await
            .unwrap()
            .unwrap()
            .delete_at
            > 0
    );
    assert_eq!(store.installation_dns_list(&i.id).await.unwrap().len(), 1);
    // The freed domain can be used again.
    create(&store, "alpha", &["alpha.example.com"]).await;

    // A record of another installation cannot be switched to.
    let other = create(&store, "gamma", &["gamma.example.com"]).await;
    let err = store
        .installation_dns_set_primary(
            &i,
            InstallationState::UpdateRequested,
            &other.dns_records[0].id,
        )
        .await;
    assert!(matches!(err, Err(StoreError::NotFound(_))));

    assert_eq!(
        events_for(&store, &i.id).await,
        [
            ("creation-requested".to_string(), "stable".to_string()),
            ("n/a".to_string(), "creation-requested".to_string()),
        ]
        .into_iter()
        .rev()
        .chain([("stable".to_string(), "update-requested".to_string())])
        .rev()
        .collect::<Vec<_>>()
    );
});
