//! Store tests for groups and membership, on SQLite and PostgreSQL.

use super::*;
use crate::backend_test;
use cloud_model::env::EnvVar;
use cloud_model::event::StateChangeEventFilter;
use cloud_model::filter::Paging;

fn group(name: &str) -> Group {
    Group {
        name: name.to_string(),
        description: format!("{name} description"),
        version: "9.5.0".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        max_rolling: 1,
        ..Group::default()
    }
}

fn env(pairs: &[(&str, &str)]) -> Option<EnvVarMap> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), EnvVar::value(*v)))
            .collect(),
    )
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A bare installation row: the membership code only reads the columns set here.
struct Member<'a> {
    id: &'a str,
    state: &'a str,
    group_id: Option<&'a str>,
    group_sequence: Option<i64>,
    env: Option<&'a str>,
}

impl<'a> Member<'a> {
    fn new(id: &'a str, state: &'a str, group_id: Option<&'a str>) -> Self {
        Self {
            id,
            state,
            group_id,
            group_sequence: None,
            env: None,
        }
    }
}

async fn insert_installation(store: &SqlStore, m: Member<'_>) {
    Query::new(
        "INSERT INTO installation (id, name, owner_id, group_id, group_sequence, state, size, version, image, \
         database_type, filestore_type, affinity, mattermost_env, cr_version, create_at) VALUES (",
    )
    .bind(m.id)
    .sql(", ")
    .bind(format!("name-{}", m.id))
    .sql(", 'owner', ")
    .bind(m.group_id)
    .sql(", ")
    .bind(m.group_sequence)
    .sql(", ")
    .bind(m.state)
    .sql(", '100users', 'own-version', 'own/image', 'mysql-operator', 'minio-operator', 'isolated', ")
    .bind(m.env)
    .sql(", 'installation.mattermost.com/v1beta1', ")
    .bind(now_millis())
    .sql(")")
    .execute(store.conn())
    .await
    .unwrap();
}

#[derive(sqlx::FromRow, Debug)]
struct Stored {
    group_id: Option<String>,
    group_sequence: Option<i64>,
    state: String,
    version: String,
    image: String,
    mattermost_env: Option<String>,
}

async fn stored(store: &SqlStore, id: &str) -> Stored {
    Query::new("SELECT group_id, group_sequence, state, version, image, mattermost_env FROM installation WHERE id = ")
        .bind(id)
        .fetch_optional(store.conn())
        .await
        .unwrap()
        .unwrap()
}

async fn set(store: &SqlStore, sql: &str, id: &str) {
    Query::new(sql)
        .bind(id)
        .execute(store.conn())
        .await
        .unwrap();
}

backend_test!(create_stores_group_and_annotations, |store| {
    let mut g = group("alpha");
    g.mattermost_env = env(&[("MM_A", "1")]);
    g.scheduling = Some(Scheduling {
        node_selector: [("pool".to_string(), "mm".to_string())].into(),
        tolerations: vec![serde_json::json!({"key": "dedicated", "operator": "Exists"})],
    });
    g.api_security_lock = true;
    g.sequence = 42; // ignored: a new group starts at 0
    let dto = store
        .group_create(&g, &names(&["zeta", "alpha-tag", "zeta"]))
        .await
        .unwrap();
    assert_eq!(dto.group.id.len(), 26);
    assert_eq!(dto.group.sequence, 0);
    assert!(dto.group.create_at > 0);
    assert_eq!(
        dto.annotations
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["alpha-tag", "zeta"]
    );

    let read = store.group_get(&dto.group.id).await.unwrap().unwrap();
    assert_eq!(read, dto.group);
    assert_eq!(read.mattermost_env, env(&[("MM_A", "1")]));
    assert!(read.api_security_lock);
    assert_eq!(read.scheduling, g.scheduling);
    let read_dto = store.group_get_dto(&dto.group.id).await.unwrap().unwrap();
    assert_eq!(read_dto, dto);
    assert!(store.group_get("nope").await.unwrap().is_none());
    assert!(store.group_get_dto("nope").await.unwrap().is_none());

    // A live group's name is unique; after deletion it can be reused.
    let dup = store.group_create(&group("alpha"), &[]).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    store.group_delete(&dto.group.id).await.unwrap();
    let again = store.group_create(&group("alpha"), &[]).await.unwrap();
    assert_ne!(again.group.id, dto.group.id);
    assert!(again.annotations.is_empty());
    assert!(again.group.mattermost_env.is_none());
});

backend_test!(a_failed_create_leaves_nothing_behind, |store| {
    store.group_create(&group("alpha"), &[]).await.unwrap();
    // The duplicate fails on the group insert, before its annotations.
    assert!(
        store
            .group_create(&group("alpha"), &names(&["fresh-tag"]))
            .await
            .is_err()
    );
    assert!(
        store
            .annotation_get_by_names(&names(&["fresh-tag"]))
            .await
            .unwrap()
            .is_empty()
    );
    let all = store
        .group_list(&GroupFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
});

backend_test!(list_pages_filters_and_counts, |store| {
    let a = store
        .group_create(&group("a"), &names(&["red", "blue"]))
        .await
        .unwrap()
        .group;
    let b = store
        .group_create(&group("b"), &names(&["red"]))
        .await
        .unwrap()
        .group;
    let c = store.group_create(&group("c"), &[]).await.unwrap().group;
    insert_installation(&store, Member::new("i1", "stable", Some(&a.id))).await;
    insert_installation(&store, Member::new("i2", "stable", Some(&a.id))).await;
    insert_installation(&store, Member::new("i3", "stable", Some(&b.id))).await;
    insert_installation(&store, Member::new("i4", "stable", None)).await;
    // A deleted installation is not counted.
    insert_installation(&store, Member::new("i5", "deleted", Some(&b.id))).await;
    set(
        &store,
        "UPDATE installation SET delete_at = 5 WHERE id = ",
        "i5",
    )
    .await;
    store.group_delete(&c.id).await.unwrap();

    let live = store.group_list(&GroupFilter::default()).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|d| d.group.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(live.iter().all(|d| d.installation_count.is_none()));
    assert_eq!(live[0].annotations.len(), 2);

    let with_deleted = store
        .group_list(&GroupFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(with_deleted.len(), 3);

    let page = store
        .group_list(&GroupFilter {
            paging: Paging {
                page: 1,
                per_page: 1,
                include_deleted: false,
            },
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].group.id, b.id);

    let counted = store
        .group_list(&GroupFilter {
            with_installation_count: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(counted[0].installation_count, Some(2));
    assert_eq!(counted[1].installation_count, Some(1));

    let red = store
        .group_list(&GroupFilter {
            annotation_names: names(&["red"]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(red.len(), 2);
    let red_blue = store
        .group_list(&GroupFilter {
            annotation_names: names(&["blue", "red", "red"]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(red_blue.len(), 1);
    assert_eq!(red_blue[0].group.id, a.id);
    let unknown = store
        .group_list(&GroupFilter {
            annotation_names: names(&["red", "green"]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(unknown.is_empty());
});

backend_test!(
    update_bumps_sequence_only_for_installation_config,
    |store| {
        let created = store.group_create(&group("g"), &[]).await.unwrap().group;

        // Name, description and max rolling keep the sequence.
        let mut g = created.clone();
        g.name = "renamed".into();
        g.description = "new".into();
        g.max_rolling = 5;
        let saved = store.group_update(&g, false).await.unwrap();
        assert_eq!(saved.sequence, 0);
        assert_eq!(saved.name, "renamed");
        assert_eq!(saved.max_rolling, 5);

        // Each installation-facing field bumps it by one.
        let mut g = saved.clone();
        g.version = "10.0.0".into();
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 1);
        g.image = "other/image".into();
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 2);
        g.mattermost_env = env(&[("K", "v")]);
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 3);
        g.scheduling = Some(Scheduling {
            node_selector: [("a".to_string(), "b".to_string())].into(),
            tolerations: vec![],
        });
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 4);
        // Nothing changed: no bump, unless forced.
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 4);
        let forced = store.group_update(&g, true).await.unwrap();
        assert_eq!(forced.sequence, 5);
        // The caller's sequence is not trusted.
        g.sequence = 100;
        assert_eq!(store.group_update(&g, false).await.unwrap().sequence, 5);

        let read = store.group_get(&created.id).await.unwrap().unwrap();
        assert_eq!(read, forced);
        assert_eq!(read.mattermost_env, env(&[("K", "v")]));

        let missing = Group {
            id: "nope".into(),
            ..group("x")
        };
        assert!(matches!(
            store.group_update(&missing, false).await,
            Err(StoreError::NotFound(_))
        ));
        // Renaming onto a live name conflicts.
        let other = store
            .group_create(&group("other"), &[])
            .await
            .unwrap()
            .group;
        let clash = Group {
            name: "other".into(),
            ..read
        };
        assert!(matches!(
            store.group_update(&clash, false).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.group_get(&other.id).await.unwrap().unwrap().name,
            "other"
        );
    }
);

backend_test!(delete_refuses_groups_with_members, |store| {
    let g = store.group_create(&group("g"), &[]).await.unwrap().group;
    insert_installation(&store, Member::new("i1", "stable", Some(&g.id))).await;
    let err = store.group_delete(&g.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert!(!store.group_get(&g.id).await.unwrap().unwrap().is_deleted());

    set(
        &store,
        "UPDATE installation SET group_id = NULL WHERE id = ",
        "i1",
    )
    .await;
    store.group_delete(&g.id).await.unwrap();
    let deleted = store.group_get(&g.id).await.unwrap().unwrap();
    assert!(deleted.is_deleted());
    // Deleting again is a no-op and keeps the first deletion time.
    store.group_delete(&g.id).await.unwrap();
    assert_eq!(
        store.group_get(&g.id).await.unwrap().unwrap().delete_at,
        deleted.delete_at
    );
    assert!(matches!(
        store.group_delete("nope").await,
        Err(StoreError::NotFound(_))
    ));
});

backend_test!(status_counts_every_bucket, |store| {
    assert!(store.groups_status().await.unwrap().is_empty());
    let g = store.group_create(&group("g"), &[]).await.unwrap().group;
    let mut g2 = g.clone();
    g2.version = "new".into();
    let g = store.group_update(&g2, false).await.unwrap(); // sequence 1
    let gid = g.id.as_str();
    let members = [
        Member {
            group_sequence: Some(1),
            ..Member::new("updated1", "stable", Some(gid))
        },
        Member {
            group_sequence: Some(1),
            ..Member::new("updated2", "stable", Some(gid))
        },
        Member {
            group_sequence: Some(0),
            ..Member::new("behind", "stable", Some(gid))
        },
        Member::new("never", "stable", Some(gid)),
        Member::new("sleeping", "hibernating", Some(gid)),
        Member::new("going", "deletion-pending", Some(gid)),
        Member::new("going2", "deletion-requested", Some(gid)),
        Member::new("working", "update-in-progress", Some(gid)),
        Member::new("creating", "creation-requested", Some(gid)),
        Member::new("outsider", "stable", None),
    ];
    for m in members {
        insert_installation(&store, m).await;
    }
    let status = store.group_status(gid).await.unwrap().unwrap();
    assert_eq!(
        status,
        GroupStatus {
            installations_total: 9,
            installations_updated: 2,
            installations_updating: 2,
            installations_hibernating: 1,
            installations_pending_deletion: 2,
            installations_awaiting_update: 2,
        }
    );
    assert!(store.group_status("nope").await.unwrap().is_none());

    let empty = store
        .group_create(&group("empty"), &[])
        .await
        .unwrap()
        .group;
    let deleted = store
        .group_create(&group("deleted"), &[])
        .await
        .unwrap()
        .group;
    store.group_delete(&deleted.id).await.unwrap();
    let all = store.groups_status().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [gid, empty.id.as_str()]
    );
    assert_eq!(all[0].status, status);
    assert_eq!(all[1].status, GroupStatus::default());
});

backend_test!(annotations_are_added_and_removed, |store| {
    let g = store
        .group_create(&group("g"), &names(&["one"]))
        .await
        .unwrap()
        .group;
    let all = store
        .group_annotations_add(&g.id, &names(&["two", "one"]))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert!(store.group_annotation_delete(&g.id, "one").await.unwrap());
    assert!(!store.group_annotation_delete(&g.id, "one").await.unwrap());
    let dto = store.group_get_dto(&g.id).await.unwrap().unwrap();
    assert_eq!(dto.annotations.len(), 1);
    assert!(matches!(
        store.group_annotations_add("nope", &names(&["x-y"])).await,
        Err(StoreError::NotFound(_))
    ));
});

backend_test!(selection_picks_the_least_used_matching_group, |store| {
    let busy = store
        .group_create(&group("busy"), &names(&["prod", "eu"]))
        .await
        .unwrap()
        .group;
    let quiet = store
        .group_create(&group("quiet"), &names(&["prod", "eu"]))
        .await
        .unwrap()
        .group;
    let other = store
        .group_create(&group("other"), &names(&["prod"]))
        .await
        .unwrap()
        .group;
    insert_installation(&store, Member::new("i1", "stable", Some(&busy.id))).await;
    let both = names(&["prod", "eu"]);
    assert_eq!(
        store
            .group_select_for_annotations(&both)
            .await
            .unwrap()
            .unwrap()
            .id,
        quiet.id
    );
    insert_installation(&store, Member::new("i2", "stable", Some(&quiet.id))).await;
    // A tie goes to the oldest group.
    assert_eq!(
        store
            .group_select_for_annotations(&both)
            .await
            .unwrap()
            .unwrap()
            .id,
        busy.id
    );
    assert_eq!(
        store
            .group_select_for_annotations(&names(&["prod"]))
            .await
            .unwrap()
            .unwrap()
            .id,
        other.id
    );
    assert!(
        store
            .group_select_for_annotations(&names(&["prod", "unknown"]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .group_select_for_annotations(&[])
            .await
            .unwrap()
            .is_none()
    );
    // Deleted groups are never picked.
    store.group_delete(&other.id).await.unwrap();
    assert_eq!(
        store
            .group_select_for_annotations(&names(&["prod"]))
            .await
            .unwrap()
            .unwrap()
            .id,
        busy.id
    );
});

backend_test!(join_sets_membership_and_checks_locks, |store| {
    let g1 = store.group_create(&group("g1"), &[]).await.unwrap().group;
    let g2 = store.group_create(&group("g2"), &[]).await.unwrap().group;
    insert_installation(
        &store,
        Member {
            group_sequence: Some(0),
            ..Member::new("i1", "stable", Some(&g1.id))
        },
    )
    .await;

    // Joining the group it is in changes nothing.
    store.installation_join_group("i1", &g1.id).await.unwrap();
    assert_eq!(stored(&store, "i1").await.group_sequence, Some(0));

    store.installation_join_group("i1", &g2.id).await.unwrap();
    let row = stored(&store, "i1").await;
    assert_eq!(row.group_id.as_deref(), Some(g2.id.as_str()));
    assert_eq!(row.group_sequence, None);
    assert_eq!(row.state, "stable");
    assert_eq!(row.version, "own-version");

    let err = store
        .installation_join_group("nope", &g1.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = store
        .installation_join_group("i1", "nope")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let g3 = store.group_create(&group("g3"), &[]).await.unwrap().group;
    store.group_delete(&g3.id).await.unwrap();
    let err = store
        .installation_join_group("i1", &g3.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidTransition(_)), "{err:?}");

    assert!(store.group_lock(&g1.id, "someone").await.unwrap());
    let err = store
        .installation_join_group("i1", &g1.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    assert!(store.group_unlock(&g1.id, "someone", false).await.unwrap());

    set(
        &store,
        "UPDATE installation SET lock_acquired_at = 1, lock_acquired_by = 'x' WHERE id = ",
        "i1",
    )
    .await;
    let err = store
        .installation_join_group("i1", &g1.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    set(
        &store,
        "UPDATE installation SET lock_acquired_at = 0, api_security_lock = TRUE WHERE id = ",
        "i1",
    )
    .await;
    let err = store
        .installation_join_group("i1", &g1.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert_eq!(
        stored(&store, "i1").await.group_id.as_deref(),
        Some(g2.id.as_str())
    );

    set(
        &store,
        "UPDATE installation SET api_security_lock = FALSE, delete_at = 7 WHERE id = ",
        "i1",
    )
    .await;
    let err = store
        .installation_join_group("i1", &g1.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
});

backend_test!(leave_retains_merged_config_and_records_the_event, |store| {
    let mut g = group("g");
    g.version = "group-version".into();
    g.image = String::new(); // an empty group image does not override
    g.mattermost_env = env(&[("SHARED", "group"), ("GROUP_ONLY", "g")]);
    let g = store.group_create(&g, &[]).await.unwrap().group;
    let own_env = r#"{"SHARED":{"value":"own"},"OWN_ONLY":{"value":"o"}}"#;
    insert_installation(
        &store,
        Member {
            group_sequence: Some(0),
            env: Some(own_env),
            ..Member::new("keep", "stable", Some(&g.id))
        },
    )
    .await;
    insert_installation(
        &store,
        Member {
            env: Some(own_env),
            ..Member::new("drop", "update-failed", Some(&g.id))
        },
    )
    .await;

    assert!(store.installation_leave_group("keep", true).await.unwrap());
    let keep = stored(&store, "keep").await;
    assert_eq!(keep.group_id, None);
    assert_eq!(keep.group_sequence, None);
    assert_eq!(keep.state, "update-requested");
    assert_eq!(keep.version, "group-version");
    assert_eq!(keep.image, "own/image");
    let keep_env: EnvVarMap =
        serde_json::from_str(keep.mattermost_env.as_deref().unwrap()).unwrap();
    assert_eq!(
        keep_env,
        env(&[("SHARED", "group"), ("GROUP_ONLY", "g"), ("OWN_ONLY", "o")]).unwrap()
    );

    assert!(store.installation_leave_group("drop", false).await.unwrap());
    let dropped = stored(&store, "drop").await;
    assert_eq!(dropped.state, "update-requested");
    assert_eq!(dropped.version, "own-version");
    let drop_env: EnvVarMap =
        serde_json::from_str(dropped.mattermost_env.as_deref().unwrap()).unwrap();
    assert_eq!(
        drop_env,
        env(&[("SHARED", "own"), ("OWN_ONLY", "o")]).unwrap()
    );

    let events = store
        .event_list(&StateChangeEventFilter {
            resource_type: Some(ResourceType::Installation),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    let keep_event = events
        .iter()
        .find(|e| e.state_change.resource_id == "keep")
        .unwrap();
    assert_eq!(keep_event.state_change.old_state, "stable");
    assert_eq!(keep_event.state_change.new_state, "update-requested");
    assert_eq!(keep_event.event.extra_data.fields["Name"], "name-keep");

    // Not in a group any more: nothing to do, no event.
    assert!(!store.installation_leave_group("keep", true).await.unwrap());
    assert_eq!(
        store
            .event_list(&StateChangeEventFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
});

backend_test!(leave_needs_a_state_that_can_be_updated, |store| {
    let g = store.group_create(&group("g"), &[]).await.unwrap().group;
    insert_installation(&store, Member::new("sleepy", "hibernating", Some(&g.id))).await;
    let err = store
        .installation_leave_group("sleepy", true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidTransition(_)), "{err:?}");
    let row = stored(&store, "sleepy").await;
    assert_eq!(row.group_id.as_deref(), Some(g.id.as_str()));
    assert_eq!(row.state, "hibernating");

    insert_installation(&store, Member::new("locked", "stable", Some(&g.id))).await;
    set(
        &store,
        "UPDATE installation SET api_security_lock = TRUE WHERE id = ",
        "locked",
    )
    .await;
    let err = store
        .installation_leave_group("locked", true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert!(matches!(
        store.installation_leave_group("nope", true).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .event_list(&StateChangeEventFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
});

backend_test!(api_lock_and_row_lock, |store| {
    let g = store.group_create(&group("g"), &[]).await.unwrap().group;
    store.group_set_api_lock(&g.id, true).await.unwrap();
    store.group_set_api_lock(&g.id, true).await.unwrap();
    assert!(
        store
            .group_get(&g.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    store.group_set_api_lock(&g.id, false).await.unwrap();
    assert!(
        !store
            .group_get(&g.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    assert!(matches!(
        store.group_set_api_lock("nope", true).await,
        Err(StoreError::NotFound(_))
    ));

    assert!(store.group_lock(&g.id, "a").await.unwrap());
    assert!(!store.group_lock(&g.id, "b").await.unwrap());
    let locked = store.group_get(&g.id).await.unwrap().unwrap();
    assert_eq!(locked.lock_acquired_by.as_deref(), Some("a"));
    assert!(!store.group_unlock(&g.id, "b", false).await.unwrap());
    assert!(store.group_unlock(&g.id, "b", true).await.unwrap());
    assert!(store.group_lock(&g.id, "b").await.unwrap());
});
