//! API tests of the installation routes (original route table 16–25, 29–39)
//! and the installation security locks (89–92), over HTTP, on SQLite and
//! PostgreSQL.

use crate::common::*;
use cloud_api::ApiConfig;
use cloud_model::event::StateChangeEventFilter;
use cloud_model::group::Group;
use cloud_model::installation::{InstallationFilter, InstallationState};
use cloud_model::installation_request::{
    CreateInstallationRequest, GetInstallationRequest, GetInstallationsRequest,
    PatchInstallationRequest,
};
use cloud_store::{Query, SqlStore};
use cloud_supervisor::SupervisorKind;
use serde_json::{Value, json};
use std::time::Duration;

/// A create body every server accepts (no in-cluster operators needed).
fn body(name: &str) -> Value {
    json!({
        "OwnerID": "stelios",
        "DNS": format!("{name}.test.cloud.mattermost.com"),
        "Size": "100users",
        "Affinity": "multitenant",
        "Database": "aws-multitenant-rds-postgres",
        "Filestore": "bifrost",
    })
}

async fn create(server: &TestServer, name: &str) -> Value {
    let (status, dto) =
        status_json(server.post_json("/api/installations", &body(name)).await).await;
    assert_eq!(status, 202, "{dto}");
    dto
}

/// Sets the state directly in the store (what a supervisor would do).
async fn set_state(store: &SqlStore, id: &str, state: InstallationState) {
    let mut i = store.installation_get(id).await.unwrap().unwrap();
    let old = i.state;
    i.state = state;
    store.installation_update_state(&i, old).await.unwrap();
}

async fn state_of(server: &TestServer, id: &str) -> String {
    let (_, dto) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    dto["State"].as_str().unwrap().to_string()
}

async fn event_count(store: &SqlStore) -> usize {
    store
        .event_list(&StateChangeEventFilter::default())
        .await
        .unwrap()
        .len()
}

async fn installation_count(store: &SqlStore) -> i64 {
    let all = InstallationFilter {
        paging: cloud_model::filter::Paging::all(),
        ..Default::default()
    };
    store.installation_count(&all).await.unwrap()
}

api_test!(create_answers_the_readme_shape, |server| {
    let woken = {
        let wake = server.wake.clone();
        tokio::spawn(async move { wake.woken(SupervisorKind::Installation).await })
    };
    let dto = create(&server, "stelios").await;
    // Every key of the seed README's installation, with the original's values.
    for (key, expected) in [
        ("OwnerID", json!("stelios")),
        ("GroupID", json!("")),
        ("Version", json!("stable")),
        ("Image", json!("mattermost/mattermost-enterprise-edition")),
        ("DNS", json!("stelios.test.cloud.mattermost.com")),
        ("Database", json!("aws-multitenant-rds-postgres")),
        ("Filestore", json!("bifrost")),
        ("License", json!("")),
        ("MattermostEnv", Value::Null),
        ("Size", json!("100users")),
        ("Affinity", json!("multitenant")),
        ("State", json!("creation-requested")),
        ("DeleteAt", json!(0)),
        ("LockAcquiredBy", Value::Null),
        ("LockAcquiredAt", json!(0)),
    ] {
        assert_eq!(dto[key], expected, "{key} in {dto}");
    }
    let id = id_of(&dto);
    assert_eq!(id.len(), 26);
    assert!(dto["CreateAt"].as_i64().unwrap() > 0);
    assert_eq!(dto["Name"], "stelios");
    assert_eq!(dto["CRVersion"], "installation.mattermost.com/v1beta1");
    assert_eq!(
        dto["DNSRecords"][0]["DomainName"],
        "stelios.test.cloud.mattermost.com"
    );
    assert_eq!(dto["DNSRecords"][0]["IsPrimary"], true);
    assert!(dto.get("Annotations").is_none());
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .unwrap()
        .unwrap();

    let (status, got) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(got, dto);
    let (status, list) = status_json(server.get("/api/installations").await).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([dto]));
    let (_, count) = status_json(server.get("/api/installations/count").await).await;
    assert_eq!(count, json!({"Count": 1}));
    let (_, status_doc) = status_json(server.get("/api/installations/status").await).await;
    assert_eq!(
        status_doc,
        json!({"InstallationsTotal": 1, "InstallationsStable": 0, "InstallationsHibernating": 0,
               "InstallationsPendingDeletion": 0, "InstallationsUpdating": 1})
    );
    let events = server
        .store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].state_change.old_state, "n/a");
    assert_eq!(events[0].state_change.new_state, "creation-requested");

    let missing = server
        .get("/api/installation/aaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert_error(missing, 404, None).await;
});

api_test!(defaults_need_the_operators, |server| {
    let minimal = json!({"OwnerID": "me", "DNS": "mine.example.com"});
    let res = server.post_json("/api/installations", &minimal).await;
    assert_error(res, 400, Some("Filestore")).await;
    let res = server
        .post_json(
            "/api/installations",
            &json!({"OwnerID": "me", "DNS": "mine.example.com", "Filestore": "bifrost"}),
        )
        .await;
    assert_error(res, 400, Some("Database")).await;
    assert_eq!(installation_count(&server.store).await, 0);

    let with_operators = TestServer::start(
        server.backend,
        ApiConfig {
            deploy_mysql_operator: true,
            deploy_minio_operator: true,
            ..ApiConfig::default()
        },
    )
    .await;
    let (status, dto) = status_json(
        with_operators
            .post_json("/api/installations", &minimal)
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["Database"], "mysql-operator");
    assert_eq!(dto["Filestore"], "minio-operator");
    assert_eq!(dto["Affinity"], "isolated");

    let annotated = TestServer::start(
        server.backend,
        ApiConfig {
            require_annotated_installations: true,
            ..ApiConfig::default()
        },
    )
    .await;
    let res = annotated
        .post_json("/api/installations", &body("plain"))
        .await;
    assert_error(res, 400, Some("Annotations")).await;
    let mut with_annotation = body("annotated");
    with_annotation["Annotations"] = json!(["team-a"]);
    let (status, dto) = status_json(
        annotated
            .post_json("/api/installations", &with_annotation)
            .await,
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(dto["Annotations"][0]["Name"], "team-a");
});

api_test!(bad_input_is_a_4xx_and_changes_nothing, |server| {
    let post_raw = |text: &'static str| server.post_raw("/api/installations", text);
    assert_error(post_raw("{\"OwnerID\":").await, 400, None).await;
    assert_error(post_raw("\"text\"").await, 400, None).await;
    assert_error(post_raw("").await, 400, Some("Name")).await;
    let mut wrong_type = body("typed");
    wrong_type["Size"] = json!(5);
    assert_error(
        server.post_json("/api/installations", &wrong_type).await,
        400,
        Some("Size"),
    )
    .await;
    let mut wrong_list = body("typed");
    wrong_list["DNSNames"] = json!("x.com");
    assert_error(
        server.post_json("/api/installations", &wrong_list).await,
        400,
        Some("DNSNames"),
    )
    .await;
    for (key, value) in [
        ("Database", "none"),
        ("Filestore", "nfs"),
        ("Affinity", "solo"),
        ("Size", "jumbo"),
        ("DNS", "-bad.example.com"),
        ("DNS", "a.example.com"),
        ("DNS", "bad name.example.com"),
        ("Version", "1 2"),
    ] {
        let mut b = body("valid");
        b[key] = json!(value);
        let res = server.post_json("/api/installations", &b).await;
        assert_error(res, 400, Some(key)).await;
    }
    let mut soon = body("soon");
    soon["ScheduledDeletionTime"] = json!(cloud_model::now_millis() + 1000);
    assert_error(
        server.post_json("/api/installations", &soon).await,
        400,
        Some("ScheduledDeletionTime"),
    )
    .await;
    let mut external = body("ext");
    external["Database"] = json!("external");
    assert_error(
        server.post_json("/api/installations", &external).await,
        400,
        Some("ExternalDatabaseConfig"),
    )
    .await;
    let mut mismatch = body("one");
    mismatch["DNSNames"] = json!(["two.example.com"]);
    assert_error(
        server.post_json("/api/installations", &mismatch).await,
        400,
        Some("DNSNames"),
    )
    .await;

    let mut huge = body("huge");
    huge["License"] = json!("x".repeat(2 * 1024 * 1024));
    assert_error(
        server.post_json("/api/installations", &huge).await,
        413,
        None,
    )
    .await;

    for (query, field) in [
        ("state=bogus", "state"),
        ("per_page=-2", "per_page"),
        ("page=x", "page"),
        ("deletion_locked=maybe", "deletion_locked"),
        ("include_group_config=perhaps", "include_group_config"),
    ] {
        let res = server.get(&format!("/api/installations?{query}")).await;
        assert_error(res, 400, Some(field)).await;
    }
    let res = server
        .get("/api/installations/count?include_deleted=nope")
        .await;
    assert_error(res, 400, Some("include_deleted")).await;
    assert_error(server.get("/api/installation/short").await, 404, None).await;

    assert_eq!(installation_count(&server.store).await, 0);
    assert_eq!(event_count(&server.store).await, 0);
});

api_test!(taken_names_and_domains_are_409, |server| {
    let alpha = id_of(&create(&server, "alpha").await);
    set_state(&server.store, &alpha, InstallationState::Stable).await;
    // alpha also answers to beta.example.com (extra names need not match).
    let res = server
        .post_json(
            &format!("/api/installation/{alpha}/dns"),
            &json!({"DNS": "beta.example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let events_before = event_count(&server.store).await;

    let mut taken_domain = body("beta");
    taken_domain["DNS"] = json!("beta.example.com");
    assert_error(
        server.post_json("/api/installations", &taken_domain).await,
        409,
        None,
    )
    .await;
    let mut taken_name = body("alpha");
    taken_name["DNS"] = json!("alpha.elsewhere.org");
    assert_error(
        server.post_json("/api/installations", &taken_name).await,
        409,
        None,
    )
    .await;
    assert_eq!(installation_count(&server.store).await, 1);
    assert_eq!(event_count(&server.store).await, events_before);
});

api_test!(list_filters_and_paging, |server| {
    let a = id_of(&create(&server, "alpha").await);
    tokio::time::sleep(Duration::from_millis(3)).await;
    let mut other_owner = body("beta");
    other_owner["OwnerID"] = json!("someone");
    other_owner["DNSNames"] = json!(["beta.example.org"]);
    let (_, b) = status_json(server.post_json("/api/installations", &other_owner).await).await;
    let b = id_of(&b);
    tokio::time::sleep(Duration::from_millis(3)).await;
    let c = id_of(&create(&server, "gamma").await);
    set_state(&server.store, &b, InstallationState::Stable).await;
    server
        .store
        .installation_set_deletion_lock(&c, true)
        .await
        .unwrap();

    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| i["Name"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, expected) in [
        ("", vec!["alpha", "beta", "gamma"]),
        ("owner=someone", vec!["beta"]),
        (
            "owner=&state=&group=&dns_name=&name=",
            vec!["alpha", "beta", "gamma"],
        ),
        ("state=stable", vec!["beta"]),
        ("name=gamma", vec!["gamma"]),
        ("dns_name=beta.example.org", vec!["beta"]),
        ("dns_name=%25.example.org", vec!["beta"]),
        (
            "dns_name=%25.test.cloud.mattermost.com",
            vec!["alpha", "beta", "gamma"],
        ),
        ("deletion_locked=true", vec!["gamma"]),
        ("deletion_locked=false", vec!["alpha", "beta"]),
        ("page=1&per_page=2", vec!["gamma"]),
        ("per_page=-1", vec!["alpha", "beta", "gamma"]),
        ("group=nope", vec![]),
    ] {
        let (status, list) =
            status_json(server.get(&format!("/api/installations?{query}")).await).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(names(&list), expected, "{query}");
    }
    server.store.installation_delete(&a).await.unwrap();
    let (_, list) = status_json(server.get("/api/installations").await).await;
    assert_eq!(names(&list), ["beta", "gamma"]);
    let (_, list) = status_json(server.get("/api/installations?include_deleted=true").await).await;
    assert_eq!(names(&list), ["alpha", "beta", "gamma"]);
    let (_, count) = status_json(
        server
            .get("/api/installations/count?include_deleted=true")
            .await,
    )
    .await;
    assert_eq!(count["Count"], 3);
    let (_, count) = status_json(server.get("/api/installations/count").await).await;
    assert_eq!(count["Count"], 2);
});

api_test!(update_applies_patches_by_the_rules, |server| {
    let id = id_of(&create(&server, "alpha").await);
    let path = format!("/api/installation/{id}/mattermost");
    // Not yet stable: an update cannot be requested.
    assert_error(
        server.put_json(&path, &json!({"Version": "9.1"})).await,
        400,
        None,
    )
    .await;
    set_state(&server.store, &id, InstallationState::Stable).await;
    let events_before = event_count(&server.store).await;

    // Nothing changes: 202, still stable, no event.
    let (status, dto) =
        status_json(server.put_json(&path, &json!({"Version": "stable"})).await).await;
    assert_eq!(status, 202);
    assert_eq!(dto["State"], "stable");
    assert_eq!(event_count(&server.store).await, events_before);

    let patch = json!({
        "Version": "9.1", "OwnerID": null, "MattermostEnv": {"MM_A": {"value": "1"}},
        "AllowedIPRanges": [{"CIDRBlock": "10.0.0.0/8", "Description": "vpn", "Enabled": true, "OwnerID": "o"}],
        "Command": ["mattermost", "server"]
    });
    let (status, dto) = status_json(server.put_json(&path, &patch).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "update-requested");
    assert_eq!(dto["Version"], "9.1");
    assert_eq!(dto["MattermostEnv"], json!({"MM_A": {"value": "1"}}));
    assert_eq!(dto["AllowedIPRanges"][0]["CIDRBlock"], "10.0.0.0/8");
    assert_eq!(dto["command"], json!(["mattermost", "server"]));
    assert_eq!(dto["LockAcquiredBy"], Value::Null);
    assert_eq!(event_count(&server.store).await, events_before + 1);
    let stored = server.store.installation_get(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, "9.1");
    assert_eq!(stored.lock_acquired_at, 0, "the row lock is released");

    // Bad values are 400s naming the key, and change nothing.
    for (patch, field) in [
        (json!({"Size": "jumbo"}), "Size"),
        (json!({"Version": ""}), "Version"),
        (json!({"Size": 3}), "Size"),
        (
            json!({"AllowedIPRanges": [{"CIDRBlock": "10.0.0.0/33"}]}),
            "AllowedIPRanges",
        ),
    ] {
        assert_error(server.put_json(&path, &patch).await, 400, Some(field)).await;
    }
    assert_eq!(
        server.store.installation_get(&id).await.unwrap().unwrap(),
        stored
    );

    // A held row lock is a 409; the API lock a 403.
    assert!(
        server
            .store
            .installation_lock(&id, "someone-else")
            .await
            .unwrap()
    );
    assert_error(
        server.put_json(&path, &json!({"Version": "9.2"})).await,
        409,
        None,
    )
    .await;
    server
        .store
        .installation_unlock(&id, "someone-else")
        .await
        .unwrap();
    server
        .store
        .installation_set_api_lock(&id, true)
        .await
        .unwrap();
    assert_error(
        server.put_json(&path, &json!({"Version": "9.2"})).await,
        403,
        None,
    )
    .await;
    assert_eq!(
        server
            .store
            .installation_get(&id)
            .await
            .unwrap()
            .unwrap()
            .version,
        "9.1"
    );
});

api_test!(hibernate_wake_up_and_retry, |server| {
    let id = id_of(&create(&server, "alpha").await);
    let hibernate = format!("/api/installation/{id}/hibernate");
    assert_error(server.post_raw(&hibernate, "").await, 400, None).await;
    set_state(&server.store, &id, InstallationState::Stable).await;
    let (status, dto) = status_json(server.post_raw(&hibernate, "").await).await;
    assert_eq!(
        (status, dto["State"].as_str()),
        (202, Some("hibernation-requested"))
    );
    assert_error(server.post_raw(&hibernate, "").await, 400, None).await;

    let wakeup = format!("/api/installation/{id}/wakeup");
    assert_error(server.post_raw(&wakeup, "").await, 400, None).await;
    set_state(&server.store, &id, InstallationState::Hibernating).await;
    let (status, dto) =
        status_json(server.post_json(&wakeup, &json!({"Version": "9.3"})).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "wake-up-requested");
    assert_eq!(dto["Version"], "9.3");
    set_state(&server.store, &id, InstallationState::Hibernating).await;
    let (status, dto) = status_json(server.post_raw(&wakeup, "").await).await;
    assert_eq!(
        (status, dto["State"].as_str()),
        (202, Some("wake-up-requested"))
    );

    let retry = format!("/api/installation/{id}");
    assert_error(server.post_raw(&retry, "").await, 400, None).await;
    set_state(&server.store, &id, InstallationState::CreationFailed).await;
    let (status, dto) = status_json(server.post_raw(&retry, "").await).await;
    assert_eq!(
        (status, dto["State"].as_str()),
        (202, Some("creation-requested"))
    );
});

api_test!(deletion_requests_schedules_and_cancellations, |server| {
    // A failed creation goes straight to deletion.
    let failed = id_of(&create(&server, "failed").await);
    set_state(&server.store, &failed, InstallationState::CreationFailed).await;
    let res = server.delete(&format!("/api/installation/{failed}")).await;
    assert_eq!(res.status(), 202);
    assert_eq!(state_of(&server, &failed).await, "deletion-requested");

    // A stable one waits in deletion-pending first.
    let id = id_of(&create(&server, "alpha").await);
    set_state(&server.store, &id, InstallationState::Stable).await;
    server
        .store
        .installation_set_deletion_lock(&id, true)
        .await
        .unwrap();
    assert_error(
        server.delete(&format!("/api/installation/{id}")).await,
        403,
        None,
    )
    .await;
    server
        .store
        .installation_set_deletion_lock(&id, false)
        .await
        .unwrap();

    let installation = server.store.installation_get(&id).await.unwrap().unwrap();
    set_state(&server.store, &id, InstallationState::Hibernating).await;
    server
        .store
        .installation_backup_create(&installation)
        .await
        .unwrap();
    assert_error(
        server.delete(&format!("/api/installation/{id}")).await,
        400,
        None,
    )
    .await;
    Query::new("UPDATE installation_backup SET state = 'backup-succeeded'")
        .execute(server.store.conn())
        .await
        .unwrap();

    // Scheduling works until a deletion starts.
    let schedule = format!("/api/installation/{id}/deletion/schedule");
    let later = cloud_model::now_millis() + 3_600_000;
    let (status, dto) = status_json(
        server
            .put_json(&schedule, &json!({"ScheduledDeletionTime": later}))
            .await,
    )
    .await;
    assert_eq!(
        (status, dto["ScheduledDeletionTime"].as_i64()),
        (200, Some(later))
    );
    assert_error(
        server
            .put_json(&schedule, &json!({"ScheduledDeletionTime": 1000}))
            .await,
        400,
        Some("ScheduledDeletionTime"),
    )
    .await;

    let before = cloud_model::now_millis();
    let res = server.delete(&format!("/api/installation/{id}")).await;
    assert_eq!(res.status(), 202);
    let stored = server.store.installation_get(&id).await.unwrap().unwrap();
    assert_eq!(stored.state, InstallationState::DeletionPendingRequested);
    let expiry = stored.deletion_pending_expiry;
    assert!(
        expiry >= before + 180_000 && expiry <= cloud_model::now_millis() + 180_000,
        "{expiry}"
    );
    assert_error(
        server
            .put_json(&schedule, &json!({"ScheduledDeletionTime": 0}))
            .await,
        400,
        None,
    )
    .await;

    // The expiry can only be edited in deletion-pending.
    let deletion = format!("/api/installation/{id}/deletion");
    let new_expiry = cloud_model::now_millis() + 60_000;
    assert_error(
        server
            .put_json(&deletion, &json!({"DeletionPendingExpiry": new_expiry}))
            .await,
        400,
        None,
    )
    .await;
    set_state(&server.store, &id, InstallationState::DeletionPending).await;
    let (status, dto) = status_json(
        server
            .put_json(&deletion, &json!({"DeletionPendingExpiry": new_expiry}))
            .await,
    )
    .await;
    assert_eq!(
        (status, dto["DeletionPendingExpiry"].as_i64()),
        (200, Some(new_expiry))
    );
    assert_error(
        server
            .put_json(&deletion, &json!({"DeletionPendingExpiry": 5}))
            .await,
        400,
        Some("DeletionPendingExpiry"),
    )
    .await;

    let events_before = event_count(&server.store).await;
    let res = server
        .post_raw(&format!("/api/installation/{id}/deletion/cancel"), "")
        .await;
    assert_eq!(res.status(), 202);
    let stored = server.store.installation_get(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        InstallationState::DeletionCancellationRequested
    );
    assert_eq!(stored.scheduled_deletion_time, 0);
    assert_eq!(event_count(&server.store).await, events_before + 1);
    assert_error(
        server
            .post_raw(&format!("/api/installation/{id}/deletion/cancel"), "")
            .await,
        400,
        None,
    )
    .await;
});

api_test!(annotations_follow_the_cluster_rule, |server| {
    let id = id_of(&create(&server, "alpha").await);
    let path = format!("/api/installation/{id}/annotations");
    let (status, dto) = status_json(
        server
            .post_json(&path, &json!({"annotations": ["team-a", "team-b"]}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{dto}");
    let names: Vec<_> = dto["Annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].clone())
        .collect();
    assert_eq!(names, [json!("team-a"), json!("team-b")]);
    assert_error(
        server
            .post_json(&path, &json!({"annotations": ["BAD"]}))
            .await,
        400,
        Some("annotations"),
    )
    .await;
    assert_error(
        server
            .post_json(&path, &json!({"annotations": "team"}))
            .await,
        400,
        Some("annotations"),
    )
    .await;

    // Hosted on a cluster without the annotation: 403.
    Query::new("INSERT INTO cluster_installation (id, cluster_id, installation_id, namespace, state, create_at) VALUES ('ci1', 'cluster1', ")
        .bind(id.as_str())
        .sql(", ")
        .bind(id.as_str())
        .sql(", 'stable', 1)")
        .execute(server.store.conn())
        .await
        .unwrap();
    assert_error(
        server
            .post_json(&path, &json!({"annotations": ["team-c"]}))
            .await,
        403,
        None,
    )
    .await;
    let (_, dto) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    assert_eq!(dto["ClusterIDs"], json!(["cluster1"]));
    assert_eq!(dto["Annotations"].as_array().unwrap().len(), 2);

    let res = server
        .delete(&format!("/api/installation/{id}/annotation/team-a"))
        .await;
    assert_eq!(res.status(), 204);
    let (_, dto) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    assert_eq!(dto["Annotations"].as_array().unwrap().len(), 1);
});

api_test!(domain_names_can_be_added_switched_and_removed, |server| {
    let id = id_of(&create(&server, "alpha").await);
    let dns = format!("/api/installation/{id}/dns");
    assert_error(
        server
            .post_json(&dns, &json!({"DNS": "beta.example.com"}))
            .await,
        400,
        None,
    )
    .await;
    set_state(&server.store, &id, InstallationState::Stable).await;
    assert_error(
        server.post_json(&dns, &json!({"DNS": "x"})).await,
        400,
        Some("DNS"),
    )
    .await;
    assert_error(server.post_json(&dns, &json!({})).await, 400, Some("DNS")).await;

    let (status, dto) = status_json(
        server
            .post_json(&dns, &json!({"DNS": "Beta.Example.com"}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "update-requested");
    let records = dto["DNSRecords"].as_array().unwrap().clone();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["DomainName"], "beta.example.com");
    let beta_id = records[1]["ID"].as_str().unwrap().to_string();
    let alpha_id = records[0]["ID"].as_str().unwrap().to_string();

    let other = id_of(&create(&server, "gamma").await);
    set_state(&server.store, &other, InstallationState::Stable).await;
    let res = server
        .post_json(
            &format!("/api/installation/{other}/dns"),
            &json!({"DNS": "beta.example.com"}),
        )
        .await;
    assert_error(res, 409, None).await;
    let res = server
        .post_raw(
            &format!("/api/installation/{other}/dns/{beta_id}/set-primary"),
            "",
        )
        .await;
    assert_error(res, 404, None).await;

    set_state(&server.store, &id, InstallationState::Stable).await;
    let res = server
        .post_raw(
            &format!("/api/installation/{id}/dns/{alpha_id}/set-primary"),
            "",
        )
        .await;
    assert_error(res, 400, None).await;
    let (status, dto) = status_json(
        server
            .post_raw(
                &format!("/api/installation/{id}/dns/{beta_id}/set-primary"),
                "",
            )
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["Name"], "beta");
    assert_eq!(dto["DNS"], "beta.example.com");

    set_state(&server.store, &id, InstallationState::Stable).await;
    assert_error(
        server
            .delete(&format!("/api/installation/{id}/dns/{beta_id}"))
            .await,
        400,
        None,
    )
    .await;
    let (status, dto) = status_json(
        server
            .delete(&format!("/api/installation/{id}/dns/{alpha_id}"))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["DNSRecords"].as_array().unwrap().len(), 1);
    set_state(&server.store, &id, InstallationState::Stable).await;
    assert_error(
        server
            .delete(&format!("/api/installation/{id}/dns/{alpha_id}"))
            .await,
        400,
        None,
    )
    .await;
});

api_test!(volumes_are_recorded_and_request_updates, |server| {
    let id = id_of(&create(&server, "alpha").await);
    set_state(&server.store, &id, InstallationState::Stable).await;
    let path = format!("/api/installation/{id}/volumes");
    let volume = json!({
        "Name": "certs",
        "Data": {"ca.pem": "aGVsbG8="},
        "Volume": {"Type": "secret", "MountPath": "/certs", "ReadOnly": true}
    });
    let (status, dto) = status_json(server.post_json(&path, &volume).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["State"], "update-requested");
    let secret = dto["Volumes"]["certs"]["BackingSecret"].as_str().unwrap();
    assert!(
        secret.starts_with(&format!("installation-secret-{id}-")) && secret.ends_with("-certs"),
        "{secret}"
    );
    assert_eq!(dto["Volumes"]["certs"]["MountPath"], "/certs");

    set_state(&server.store, &id, InstallationState::Stable).await;
    assert_error(server.post_json(&path, &volume).await, 400, Some("Name")).await;
    let mut bad = volume.clone();
    bad["Name"] = json!("other");
    bad["Data"] = json!({"x": "not base64!"});
    assert_error(server.post_json(&path, &bad).await, 400, Some("Data")).await;
    bad["Data"] = json!({"x": "aGk="});
    bad["Volume"]["Type"] = json!("configmap");
    assert_error(server.post_json(&path, &bad).await, 400, Some("Volume")).await;

    let one = format!("/api/installation/{id}/volume/certs");
    let (status, dto) = status_json(
        server
            .put_json(&one, &json!({"MountPath": "/etc/certs", "ReadOnly": false}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["Volumes"]["certs"]["MountPath"], "/etc/certs");
    assert_eq!(dto["Volumes"]["certs"]["BackingSecret"], secret);
    set_state(&server.store, &id, InstallationState::Stable).await;
    assert_error(
        server
            .put_json(&format!("/api/installation/{id}/volume/nope"), &json!({}))
            .await,
        404,
        None,
    )
    .await;
    assert_error(
        server
            .delete(&format!("/api/installation/{id}/volume/nope"))
            .await,
        404,
        None,
    )
    .await;
    let (status, dto) = status_json(server.delete(&one).await).await;
    assert_eq!(status, 202);
    assert_eq!(dto["Volumes"], Value::Null);
});

api_test!(security_locks, |server| {
    let id = id_of(&create(&server, "alpha").await);
    set_state(&server.store, &id, InstallationState::Stable).await;
    let res = server
        .post_raw(&format!("/api/security/installation/{id}/api/lock"), "")
        .await;
    assert_eq!(res.status(), 200);
    assert_error(
        server
            .post_raw(&format!("/api/installation/{id}/hibernate"), "")
            .await,
        403,
        None,
    )
    .await;
    assert_error(
        server.delete(&format!("/api/installation/{id}")).await,
        403,
        None,
    )
    .await;
    assert_eq!(
        server
            .get(&format!("/api/installation/{id}"))
            .await
            .status(),
        200
    );
    let res = server
        .post_raw(&format!("/api/security/installation/{id}/api/unlock"), "")
        .await;
    assert_eq!(res.status(), 200);

    let res = server
        .post_raw(
            &format!("/api/security/installation/{id}/deletion/lock"),
            "",
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, dto) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    assert_eq!(dto["DeletionLocked"], true);
    assert_error(
        server.delete(&format!("/api/installation/{id}")).await,
        403,
        None,
    )
    .await;
    let res = server
        .post_raw(
            &format!("/api/security/installation/{id}/deletion/unlock"),
            "",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        server
            .delete(&format!("/api/installation/{id}"))
            .await
            .status(),
        202
    );

    let res = server
        .post_raw(
            "/api/security/installation/aaaaaaaaaaaaaaaaaaaaaaaaaa/api/lock",
            "",
        )
        .await;
    assert_error(res, 404, None).await;
});

api_test!(group_config_is_merged_on_read, |server| {
    let small = server
        .store
        .group_create(
            &Group {
                name: "small".into(),
                version: "9.9".into(),
                image: "img".into(),
                ..Default::default()
            },
            &["pool".to_string()],
        )
        .await
        .unwrap();
    let big = server
        .store
        .group_create(
            &Group {
                name: "big".into(),
                ..Default::default()
            },
            &["pool".to_string()],
        )
        .await
        .unwrap();
    let mut in_big = body("member");
    in_big["GroupID"] = json!(big.group.id);
    let (status, _) = status_json(server.post_json("/api/installations", &in_big).await).await;
    assert_eq!(status, 202);

    // Picked by annotations: the group with the fewest installations.
    let mut by_annotation = body("picked");
    by_annotation["GroupSelectionAnnotations"] = json!(["pool"]);
    let (status, dto) =
        status_json(server.post_json("/api/installations", &by_annotation).await).await;
    assert_eq!(status, 202, "{dto}");
    assert_eq!(dto["GroupID"], json!(small.group.id));
    let id = id_of(&dto);
    let mut no_match = body("lonely");
    no_match["GroupSelectionAnnotations"] = json!(["unknown-annotation"]);
    let res = server.post_json("/api/installations", &no_match).await;
    assert_error(res, 400, Some("GroupSelectionAnnotations")).await;
    let mut missing_group = body("orphan");
    missing_group["GroupID"] = json!("aaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_error(
        server.post_json("/api/installations", &missing_group).await,
        400,
        Some("GroupID"),
    )
    .await;

    let (_, merged) = status_json(server.get(&format!("/api/installation/{id}")).await).await;
    assert_eq!(merged["Version"], "9.9");
    assert_eq!(merged["Image"], "img");
    assert_eq!(merged["GroupOverrides"]["Group Version"], "9.9");
    assert_eq!(merged["GroupOverrides"]["Installation Version"], "stable");
    let (_, plain) = status_json(
        server
            .get(&format!(
                "/api/installation/{id}?include_group_config=false"
            ))
            .await,
    )
    .await;
    assert_eq!(plain["Version"], "stable");
    assert!(plain.get("GroupOverrides").is_none());
    let (_, quiet) = status_json(
        server
            .get(&format!(
                "/api/installation/{id}?include_group_config_overrides=false"
            ))
            .await,
    )
    .await;
    assert_eq!(quiet["Version"], "9.9");
    assert!(quiet.get("GroupOverrides").is_none());
    let (_, list) = status_json(
        server
            .get(&format!("/api/installations?group={}", small.group.id))
            .await,
    )
    .await;
    assert_eq!(list[0]["Version"], "9.9");
    // The stored installation keeps its own values.
    assert_eq!(
        server
            .store
            .installation_get(&id)
            .await
            .unwrap()
            .unwrap()
            .version,
        "stable"
    );
});

api_test!(the_typed_client_covers_the_routes, |server| {
    let client = server.client();
    let request = CreateInstallationRequest {
        owner_id: "owner".into(),
        dns_names: vec!["typed.example.com".into()],
        name: "typed".into(),
        database: "aws-multitenant-rds-postgres".into(),
        filestore: "bifrost".into(),
        ..Default::default()
    };
    let dto = client.create_installation(&request).await.unwrap();
    let id = dto.installation.id.clone();
    let got = client
        .get_installation(&id, &GetInstallationRequest::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.installation.name, "typed");
    assert!(
        client
            .get_installation(
                "aaaaaaaaaaaaaaaaaaaaaaaaaa",
                &GetInstallationRequest::default()
            )
            .await
            .unwrap()
            .is_none()
    );
    let by_dns = client
        .get_installation_by_dns("typed.example.com", &GetInstallationRequest::default())
        .await
        .unwrap();
    assert_eq!(by_dns.unwrap().installation.id, id);
    let list = client
        .get_installations(&GetInstallationsRequest {
            owner_id: "owner".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(client.get_installations_count(false).await.unwrap(), 1);
    assert_eq!(
        client
            .get_installations_status()
            .await
            .unwrap()
            .installations_total,
        1
    );

    set_state(&server.store, &id, InstallationState::Stable).await;
    let patch = PatchInstallationRequest {
        version: Some("9.5".into()),
        ..Default::default()
    };
    let updated = client.update_installation(&id, &patch).await.unwrap();
    assert_eq!(
        updated.installation.state,
        InstallationState::UpdateRequested
    );
    let err = client.hibernate_installation(&id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    set_state(&server.store, &id, InstallationState::Stable).await;
    client.hibernate_installation(&id).await.unwrap();
    set_state(&server.store, &id, InstallationState::Hibernating).await;
    client.wakeup_installation(&id, None).await.unwrap();
    client.lock_api_for_installation(&id).await.unwrap();
    client.unlock_api_for_installation(&id).await.unwrap();
    client
        .lock_deletion_lock_for_installation(&id)
        .await
        .unwrap();
    assert_eq!(
        client
            .delete_installation(&id)
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(403)
    );
    client
        .unlock_deletion_lock_for_installation(&id)
        .await
        .unwrap();
    set_state(&server.store, &id, InstallationState::Stable).await;
    client.delete_installation(&id).await.unwrap();
    assert_eq!(state_of(&server, &id).await, "deletion-pending-requested");
});
