//! API tests of the group routes, installation membership and the group
//! security lock, over HTTP on SQLite and PostgreSQL.

use crate::common::*;
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::event::{ResourceType, StateChangeEventFilter};
use cloud_model::filter::Paging;
use cloud_model::group::{
    AssignInstallationGroupRequest, CreateGroupRequest, GroupFilter, LeaveGroupRequest,
    PatchGroupRequest,
};
use cloud_store::lock::LockedTable;
use cloud_store::{Query, SqlStore};
use serde_json::{Value, json};

/// Creates a group through the API and returns its JSON.
async fn create_group(server: &TestServer, body: Value) -> Value {
    let (status, group) = status_json(server.post_json("/api/groups", &body).await).await;
    assert_eq!(status, 200, "{group}");
    group
}

/// Every group the store holds, deleted ones included.
async fn all_groups(store: &SqlStore) -> Vec<cloud_model::group::GroupDto> {
    store
        .group_list(&GroupFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// A bare installation row (the membership routes only need these columns).
async fn insert_installation(store: &SqlStore, id: &str, state: &str, group_id: Option<&str>) {
    Query::new(
        "INSERT INTO installation (id, name, owner_id, group_id, state, size, version, image, \
         database_type, filestore_type, affinity, mattermost_env, cr_version, create_at) VALUES (",
    )
    .bind(id)
    .sql(", ")
    .bind(format!("n{}", &id[..8]))
    .sql(", 'owner', ")
    .bind(group_id)
    .sql(", ")
    .bind(state)
    .sql(", '100users', '9.0.0', 'own/image', 'mysql-operator', 'minio-operator', 'isolated', ")
    .sql(r#"'{"OWN":{"value":"1"}}', 'installation.mattermost.com/v1beta1', 1)"#)
    .execute(store.conn())
    .await
    .unwrap();
}

struct Membership {
    group_id: Option<String>,
    state: String,
    version: String,
}

async fn membership(store: &SqlStore, id: &str) -> Membership {
    let (group_id, state, version): (Option<String>, String, String) =
        Query::new("SELECT group_id, state, version FROM installation WHERE id = ")
            .bind(id)
            .fetch_optional(store.conn())
            .await
            .unwrap()
            .unwrap();
    Membership {
        group_id,
        state,
        version,
    }
}

api_test!(create_returns_the_dto_in_the_original_shape, |server| {
    let group = create_group(
        &server,
        json!({
            "Name": "prod",
            "Description": "production",
            "Version": "9.5.0",
            "Image": "mattermost/mattermost-enterprise-edition",
            "MaxRolling": 2,
            "MattermostEnv": {"MM_A": {"value": "1"}},
            "Scheduling": {"NodeSelector": {"pool": "mm"}, "Tolerations": [{"key": "k", "operator": "Exists"}]},
            "Annotations": ["prod-tag", "europe"]
        }),
    )
    .await;
    assert_eq!(group["Name"], "prod");
    assert_eq!(group["Sequence"], 0);
    assert_eq!(group["MaxRolling"], 2);
    assert_eq!(group["APISecurityLock"], false);
    assert_eq!(group["LockAcquiredBy"], Value::Null);
    assert_eq!(group["MattermostEnv"], json!({"MM_A": {"value": "1"}}));
    assert_eq!(group["Scheduling"]["NodeSelector"], json!({"pool": "mm"}));
    let names: Vec<&str> = group["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["europe", "prod-tag"]);
    assert!(group.get("installation_count").is_none());
    let id = id_of(&group);
    assert!(cloud_model::is_valid_id(&id));

    let (status, fetched) = status_json(server.get(&format!("/api/group/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, group);

    let (status, list) = status_json(server.get("/api/groups").await).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([group]));
    let (_, counted) =
        status_json(server.get("/api/groups?show_installation_count=true").await).await;
    assert_eq!(counted[0]["installation_count"], 0);
    assert_error(
        server
            .get("/api/groups?show_installation_count=maybe")
            .await,
        400,
        Some("show_installation_count"),
    )
    .await;
    assert_error(
        server.get("/api/groups?per_page=x").await,
        400,
        Some("per_page"),
    )
    .await;

    // Names are unique among live groups.
    let dup = server
        .post_json("/api/groups", &json!({"Name": "prod"}))
        .await;
    assert_error(dup, 409, None).await;
    assert_eq!(all_groups(&server.store).await.len(), 1);
});

api_test!(bad_create_bodies_are_4xx_and_store_nothing, |server| {
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!({}), Some("Name")),
        (json!({"Name": "  "}), Some("Name")),
        (json!({"Name": 5}), Some("Name")),
        (json!({"Name": "g", "MaxRolling": "1"}), Some("MaxRolling")),
        (json!({"Name": "g", "MaxRolling": -1}), Some("MaxRolling")),
        (
            json!({"Name": "g", "MattermostEnv": {"A": {}}}),
            Some("MattermostEnv"),
        ),
        (
            json!({"Name": "g", "MattermostEnv": []}),
            Some("MattermostEnv"),
        ),
        (
            json!({"Name": "g", "Annotations": ["Bad Name"]}),
            Some("Annotations"),
        ),
        (
            json!({"Name": "g", "Annotations": "abc"}),
            Some("Annotations"),
        ),
        (
            json!({"Name": "g", "Scheduling": {"Tolerations": [{"operator": "Maybe"}]}}),
            Some("Scheduling"),
        ),
        (
            json!({"Name": "g", "Scheduling": {"NodeSelector": {"a": 1}}}),
            Some("Scheduling.NodeSelector.a"),
        ),
        (json!("a string"), None),
        (json!(42), None),
    ];
    for (body, field) in cases {
        let res = server.post_json("/api/groups", &body).await;
        assert_error(res, 400, field).await;
    }
    for raw in ["{", "{\"Name\":\"g\"} trailing", "not json"] {
        assert_error(server.post_raw("/api/groups", raw).await, 400, None).await;
    }
    // An empty body is an empty request, which lacks the name.
    assert_error(server.post_raw("/api/groups", "").await, 400, Some("Name")).await;
    let huge = json!({"Name": "g", "Description": "x".repeat((1 << 20) + 1)});
    assert_error(server.post_json("/api/groups", &huge).await, 413, None).await;
    assert!(all_groups(&server.store).await.is_empty());
    assert!(
        server
            .store
            .annotation_get_by_names(&["abc".to_string()])
            .await
            .unwrap()
            .is_empty()
    );
});

api_test!(
    update_bumps_the_sequence_for_installation_config_only,
    |server| {
        let group = create_group(
            &server,
            json!({"Name": "g", "Version": "1", "MaxRolling": 1}),
        )
        .await;
        let id = id_of(&group);
        let path = format!("/api/group/{id}");

        let (status, renamed) = status_json(
            server
                .put_json(&path, &json!({"Name": "g2", "MaxRolling": 4}))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{renamed}");
        assert_eq!(renamed["Name"], "g2");
        assert_eq!(renamed["MaxRolling"], 4);
        assert_eq!(renamed["Sequence"], 0);
        assert_eq!(renamed["LockAcquiredBy"], Value::Null);
        assert_eq!(renamed["annotations"], json!([]));

        let (_, bumped) = status_json(server.put_json(&path, &json!({"Version": "2"})).await).await;
        assert_eq!(bumped["Sequence"], 1);
        // The same value again changes nothing.
        let (_, same) = status_json(server.put_json(&path, &json!({"Version": "2"})).await).await;
        assert_eq!(same["Sequence"], 1);
        let (_, forced) = status_json(
            server
                .put_json(&path, &json!({"ForceSequenceUpdate": true}))
                .await,
        )
        .await;
        assert_eq!(forced["Sequence"], 2);
        let (_, restart) = status_json(
            server
                .put_json(&path, &json!({"ForceInstallationsRestart": true}))
                .await,
        )
        .await;
        assert_eq!(restart["Sequence"], 3);
        assert_eq!(
            restart["MattermostEnv"]["CLOUD_PROVISIONER_ENFORCED_RESTART"]["value"],
            "force-restart-at-sequence-2"
        );
        let (_, cleared) =
            status_json(server.put_json(&path, &json!({"MattermostEnv": {}})).await).await;
        assert_eq!(cleared["MattermostEnv"], Value::Null);
        assert_eq!(cleared["Sequence"], 4);
        let (_, sched) = status_json(
            server
                .put_json(&path, &json!({"Scheduling": {"NodeSelector": {"a": "b"}}}))
                .await,
        )
        .await;
        assert_eq!(sched["Sequence"], 5);
        assert_eq!(sched["Scheduling"], json!({"NodeSelector": {"a": "b"}}));
        let (_, unsched) =
            status_json(server.put_json(&path, &json!({"Scheduling": {}})).await).await;
        assert_eq!(unsched["Sequence"], 6);
        assert!(unsched.get("Scheduling").is_none());
        // An empty body is an empty patch.
        let (status, noop) = status_json(server.put_json(&path, &json!(null)).await).await;
        assert_eq!(status, 200);
        assert_eq!(noop["Sequence"], 6);

        let (_, stored) = status_json(server.get(&path).await).await;
        assert_eq!(stored, noop);
    }
);

api_test!(bad_updates_are_4xx_and_change_nothing, |server| {
    let group = create_group(&server, json!({"Name": "g", "Version": "1"})).await;
    let id = id_of(&group);
    let path = format!("/api/group/{id}");
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!({"Name": ""}), Some("Name")),
        (json!({"MaxRolling": -3}), Some("MaxRolling")),
        (json!({"MaxRolling": 1.5}), Some("MaxRolling")),
        (json!({"Version": 2}), Some("Version")),
        (
            json!({"ForceSequenceUpdate": "yes"}),
            Some("ForceSequenceUpdate"),
        ),
        (
            json!({"Scheduling": {"Tolerations": ["x"]}}),
            Some("Scheduling"),
        ),
    ];
    for (body, field) in cases {
        assert_error(server.put_json(&path, &body).await, 400, field).await;
    }
    let raw = server
        .http()
        .put(server.url(&path))
        .body("{\"Name\":")
        .send()
        .await
        .unwrap();
    assert_error(raw, 400, None).await;
    let huge = json!({"Description": "x".repeat((1 << 20) + 1)});
    assert_error(server.put_json(&path, &huge).await, 413, None).await;
    assert_error(
        server
            .put_json(&format!("/api/group/{UNKNOWN_ID}"), &json!({}))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server.put_json("/api/group/short", &json!({})).await,
        404,
        None,
    )
    .await;

    // Held by someone else: 409. API-locked: 403.
    let body = json!({"Version": "9"});
    let update = server.put_json(&path, &body);
    assert_409_while_locked(&server, LockedTable::Group, &id, update).await;
    server.store.group_set_api_lock(&id, true).await.unwrap();
    assert_error(
        server.put_json(&path, &json!({"Version": "9"})).await,
        403,
        None,
    )
    .await;

    let stored = server.store.group_get(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, "1");
    assert_eq!(stored.name, "g");
    assert_eq!(stored.sequence, 0);
    // The failed request released its lock.
    assert_eq!(stored.lock_acquired_at, 0);
});

api_test!(delete_needs_an_empty_group, |server| {
    let group = create_group(&server, json!({"Name": "g"})).await;
    let id = id_of(&group);
    insert_installation(
        &server.store,
        "inst1inst1inst1inst1inst1a",
        "stable",
        Some(&id),
    )
    .await;
    assert_error(server.delete(&format!("/api/group/{id}")).await, 403, None).await;
    assert!(
        !server
            .store
            .group_get(&id)
            .await
            .unwrap()
            .unwrap()
            .is_deleted()
    );

    let res = server
        .delete("/api/installation/inst1inst1inst1inst1inst1a/group?retain_config=false")
        .await;
    assert_eq!(res.status(), 200);
    let res = server.delete(&format!("/api/group/{id}")).await;
    assert_eq!(res.status(), 200);
    let (_, deleted) = status_json(server.get(&format!("/api/group/{id}")).await).await;
    assert_ne!(deleted["DeleteAt"], 0);
    let (_, live) = status_json(server.get("/api/groups").await).await;
    assert_eq!(live, json!([]));
    let (_, all) = status_json(server.get("/api/groups?include_deleted=true").await).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_error(
        server.delete(&format!("/api/group/{UNKNOWN_ID}")).await,
        404,
        None,
    )
    .await;

    let locked = create_group(&server, json!({"Name": "locked", "APISecurityLock": true})).await;
    assert_error(
        server
            .delete(&format!("/api/group/{}", id_of(&locked)))
            .await,
        403,
        None,
    )
    .await;
});

api_test!(statuses_count_members_and_empty_is_a_200, |server| {
    let (status, body) = status_json(server.get("/api/groups/status").await).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!([]));

    let group = create_group(&server, json!({"Name": "g"})).await;
    let id = id_of(&group);
    insert_installation(
        &server.store,
        "stablestablestablestable01",
        "stable",
        Some(&id),
    )
    .await;
    insert_installation(
        &server.store,
        "sleepsleepsleepsleepsleep1",
        "hibernating",
        Some(&id),
    )
    .await;
    insert_installation(
        &server.store,
        "goinggoinggoinggoinggoing1",
        "deletion-pending",
        Some(&id),
    )
    .await;
    insert_installation(
        &server.store,
        "busybusybusybusybusybusy01",
        "update-in-progress",
        Some(&id),
    )
    .await;

    let (status, one) = status_json(server.get(&format!("/api/group/{id}/status")).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        one,
        json!({
            "InstallationsTotal": 4,
            "InstallationsUpdated": 0,
            "InstallationsUpdating": 1,
            "InstallationsHibernating": 1,
            "InstallationsPendingDeletion": 1,
            "InstallationsAwaitingUpdate": 1
        })
    );
    let (_, all) = status_json(server.get("/api/groups/status").await).await;
    assert_eq!(all, json!([{"ID": id, "Status": one}]));
    assert_error(
        server.get(&format!("/api/group/{UNKNOWN_ID}/status")).await,
        404,
        None,
    )
    .await;
});

api_test!(annotations_are_added_and_removed, |server| {
    let group = create_group(&server, json!({"Name": "g", "Annotations": ["one"]})).await;
    let id = id_of(&group);
    let path = format!("/api/group/{id}/annotations");
    let (status, dto) = status_json(
        server
            .post_json(&path, &json!({"annotations": ["two", "one"]}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{dto}");
    assert_eq!(dto["annotations"].as_array().unwrap().len(), 2);
    assert_eq!(dto["LockAcquiredBy"], Value::Null);

    assert_error(
        server.post_json(&path, &json!({"annotations": []})).await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"annotations": ["UP"]}))
            .await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"annotations": "one"}))
            .await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(server.post_raw(&path, "").await, 400, None).await;
    assert_error(
        server
            .post_json(
                &format!("/api/group/{UNKNOWN_ID}/annotations"),
                &json!({"annotations": ["abc"]}),
            )
            .await,
        404,
        None,
    )
    .await;

    let res = server
        .delete(&format!("/api/group/{id}/annotation/one"))
        .await;
    assert_eq!(res.status(), 204);
    let (_, fetched) = status_json(server.get(&format!("/api/group/{id}")).await).await;
    assert_eq!(fetched["annotations"].as_array().unwrap().len(), 1);
    assert_eq!(fetched["annotations"][0]["Name"], "two");

    server.store.group_set_api_lock(&id, true).await.unwrap();
    assert_error(
        server
            .delete(&format!("/api/group/{id}/annotation/two"))
            .await,
        403,
        None,
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"annotations": ["three"]}))
            .await,
        403,
        None,
    )
    .await;
    let dto = server.store.group_get_dto(&id).await.unwrap().unwrap();
    assert_eq!(dto.annotations.len(), 1);
});

api_test!(join_assign_and_leave, |server| {
    let a = id_of(
        &create_group(
            &server,
            json!({"Name": "a", "Version": "10.0", "Annotations": ["prod"]}),
        )
        .await,
    );
    let b = id_of(&create_group(&server, json!({"Name": "b", "Annotations": ["prod"]})).await);
    let inst = "installationinstallation01";
    let other = "otherotherotherotherother1";
    insert_installation(&server.store, inst, "stable", None).await;
    insert_installation(&server.store, other, "stable", Some(&a)).await;

    // Join: 200 with no body, the membership is stored, the state is not touched.
    let res = server
        .put_json(&format!("/api/installation/{inst}/group/{b}"), &json!(null))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "");
    let m = membership(&server.store, inst).await;
    assert_eq!(m.group_id.as_deref(), Some(b.as_str()));
    assert_eq!(m.state, "stable");

    assert_error(
        server
            .put_json(
                &format!("/api/installation/{inst}/group/{UNKNOWN_ID}"),
                &json!(null),
            )
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .put_json(
                &format!("/api/installation/{UNKNOWN_ID}/group/{a}"),
                &json!(null),
            )
            .await,
        404,
        None,
    )
    .await;

    // Assign: the least used group carrying the annotations; the path value is ignored.
    let res = server
        .post_json(
            &format!("/api/installation/{inst}/group/assign"),
            &json!({"GroupSelectionAnnotations": ["prod"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // `a` has one member, `b` has `inst` itself: a tie goes to the oldest, `a`.
    assert_eq!(
        membership(&server.store, inst).await.group_id.as_deref(),
        Some(a.as_str())
    );
    for (body, field) in [
        (
            json!({"GroupSelectionAnnotations": ["nope"]}),
            Some("GroupSelectionAnnotations"),
        ),
        (
            json!({"GroupSelectionAnnotations": []}),
            Some("GroupSelectionAnnotations"),
        ),
        (json!({}), Some("GroupSelectionAnnotations")),
        (
            json!({"GroupSelectionAnnotations": "prod"}),
            Some("GroupSelectionAnnotations"),
        ),
    ] {
        let res = server
            .post_json(&format!("/api/installation/{inst}/group/whatever"), &body)
            .await;
        assert_error(res, 400, field).await;
    }
    assert_error(
        server
            .post_raw(&format!("/api/installation/{inst}/group/assign"), "{")
            .await,
        400,
        None,
    )
    .await;
    assert_eq!(
        membership(&server.store, inst).await.group_id.as_deref(),
        Some(a.as_str())
    );

    // Leave: a bad retain_config is a 400 and changes nothing.
    assert_error(
        server
            .delete(&format!(
                "/api/installation/{inst}/group?retain_config=maybe"
            ))
            .await,
        400,
        Some("retain_config"),
    )
    .await;
    assert_eq!(
        membership(&server.store, inst).await.group_id.as_deref(),
        Some(a.as_str())
    );
    let res = server
        .delete(&format!("/api/installation/{inst}/group"))
        .await;
    assert_eq!(res.status(), 200);
    let m = membership(&server.store, inst).await;
    assert_eq!(m.group_id, None);
    assert_eq!(m.state, "update-requested");
    assert_eq!(m.version, "10.0"); // retained from group `a`
    let events = server
        .store
        .event_list(&StateChangeEventFilter {
            resource_type: Some(ResourceType::Installation),
            resource_id: Some(inst.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].state_change.new_state, "update-requested");

    // Leaving again from update-requested is fine and does nothing.
    assert_eq!(
        server
            .delete(&format!("/api/installation/{inst}/group"))
            .await
            .status(),
        200
    );
    // A state that cannot be updated: 400.
    let sleepy = "sleepysleepysleepysleepy01";
    insert_installation(&server.store, sleepy, "hibernating", Some(&b)).await;
    assert_error(
        server
            .delete(&format!("/api/installation/{sleepy}/group"))
            .await,
        400,
        None,
    )
    .await;
    assert_eq!(
        membership(&server.store, sleepy).await.group_id.as_deref(),
        Some(b.as_str())
    );
    assert_error(
        server
            .delete(&format!("/api/installation/{UNKNOWN_ID}/group"))
            .await,
        404,
        None,
    )
    .await;

    // A deleted group cannot be joined.
    server
        .delete(&format!(
            "/api/group/{}",
            id_of(&create_group(&server, json!({"Name": "gone"})).await)
        ))
        .await;
    let gone = all_groups(&server.store)
        .await
        .into_iter()
        .find(|g| g.group.name == "gone")
        .unwrap();
    assert_error(
        server
            .put_json(
                &format!("/api/installation/{inst}/group/{}", gone.group.id),
                &json!(null),
            )
            .await,
        400,
        None,
    )
    .await;
});

api_test!(security_lock_blocks_mutations_but_not_reads, |server| {
    let id = id_of(&create_group(&server, json!({"Name": "g"})).await);
    let res = server
        .post_raw(&format!("/api/security/group/{id}/api/lock"), "")
        .await;
    assert_eq!(res.status(), 200);
    // Idempotent.
    assert_eq!(
        server
            .post_raw(&format!("/api/security/group/{id}/api/lock"), "")
            .await
            .status(),
        200
    );
    assert_error(
        server
            .put_json(&format!("/api/group/{id}"), &json!({"Name": "x"}))
            .await,
        403,
        None,
    )
    .await;
    assert_eq!(server.get(&format!("/api/group/{id}")).await.status(), 200);
    let res = server
        .post_raw(&format!("/api/security/group/{id}/api/unlock"), "")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        server
            .put_json(&format!("/api/group/{id}"), &json!({"Name": "x"}))
            .await
            .status(),
        200
    );
    assert_error(
        server
            .post_raw(&format!("/api/security/group/{UNKNOWN_ID}/api/lock"), "")
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .post_raw("/api/security/group/bad/api/lock", "")
            .await,
        404,
        None,
    )
    .await;
});

api_test!(the_typed_client_covers_every_group_call, |server| {
    let client = server.client();
    let created = client
        .create_group(&CreateGroupRequest {
            name: "g".into(),
            version: "1".into(),
            max_rolling: 1,
            annotations: vec!["tag-a".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let id = created.group.id.clone();
    assert_eq!(created.annotations[0].name, "tag-a");
    assert_eq!(client.get_group(&id).await.unwrap().unwrap(), created);
    assert!(client.get_group(UNKNOWN_ID).await.unwrap().is_none());

    let updated = client
        .update_group(&PatchGroupRequest {
            id: id.clone(),
            version: Some("2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.group.sequence, 1);

    let list = client
        .get_groups(&cloud_client::groups::GetGroupsRequest {
            with_installation_count: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list[0].installation_count, Some(0));

    insert_installation(&server.store, "clientinstallationabcdefgh", "stable", None).await;
    client
        .join_group(&id, "clientinstallationabcdefgh")
        .await
        .unwrap();
    assert_eq!(
        client
            .get_group_status(&id)
            .await
            .unwrap()
            .unwrap()
            .installations_total,
        1
    );
    assert!(client.get_group_status(UNKNOWN_ID).await.unwrap().is_none());
    assert_eq!(client.get_groups_status().await.unwrap().len(), 1);
    client
        .leave_group(
            "clientinstallationabcdefgh",
            &LeaveGroupRequest {
                retain_config: false,
            },
        )
        .await
        .unwrap();
    let m = membership(&server.store, "clientinstallationabcdefgh").await;
    assert_eq!(m.version, "9.0.0"); // not retained
    // Back to update-requested, which may leave again; assign to the group.
    client
        .assign_group(
            "clientinstallationabcdefgh",
            &AssignInstallationGroupRequest {
                group_selection_annotations: vec!["tag-a".into()],
            },
        )
        .await
        .unwrap();
    client
        .leave_group("clientinstallationabcdefgh", &LeaveGroupRequest::default())
        .await
        .unwrap();
    assert_eq!(
        membership(&server.store, "clientinstallationabcdefgh")
            .await
            .version,
        "2"
    );

    let annotated = client
        .add_group_annotations(
            &id,
            &AddAnnotationsRequest {
                annotations: vec!["tag-b".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(annotated.annotations.len(), 2);
    client.delete_group_annotation(&id, "tag-b").await.unwrap();

    client.lock_api_for_group(&id).await.unwrap();
    let err = client.delete_group(&id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    client.unlock_api_for_group(&id).await.unwrap();
    client.delete_group(&id).await.unwrap();
    assert!(
        client
            .get_group(&id)
            .await
            .unwrap()
            .unwrap()
            .group
            .is_deleted()
    );
    assert!(client.get_groups_status().await.unwrap().is_empty());
});
