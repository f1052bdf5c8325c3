//! API tests of the cluster-migration routes (53–57) over HTTP, on SQLite and
//! PostgreSQL: the whole flow through the typed client, the exact JSON of
//! the answers, and bad input answered with a JSON 4xx that changes nothing.

use crate::backups::{UNKNOWN_ID, create_installation, was_woken};
use crate::common::*;
use cloud_model::cluster::Cluster;
use cloud_model::cluster_installation::{
    ClusterInstallation, ClusterInstallationFilter, ClusterInstallationState,
    MigrateClusterInstallationRequest, MigrationOperation,
};
use cloud_model::cluster_request::CreateClusterRequest;
use cloud_model::event::StateChangeEventFilter;
use cloud_model::filter::Paging;
use cloud_model::installation::{DatabaseType, FilestoreType, Installation, InstallationState};
use cloud_store::SqlStore;
use cloud_supervisor::SupervisorKind;
use serde_json::{Value, json};

const MIGRATE: &str = "/api/cluster_installations/migrate";
const MIGRATE_DNS: &str = "/api/cluster_installations/migrate/dns";
const SWITCH_ROLES: &str = "/api/cluster_installations/migrate/switch_cluster_roles";
const DELETE_INACTIVE: &str = "/api/cluster_installations/migrate/delete_inactive";

async fn cluster(store: &SqlStore, allow_installations: bool) -> Cluster {
    let mut request = CreateClusterRequest {
        allow_installations,
        ..Default::default()
    };
    request.set_defaults();
    let mut cluster = request.build_cluster().unwrap();
    store.cluster_create(&mut cluster, &[]).await.unwrap();
    cluster
}

async fn installation(store: &SqlStore, name: &str, state: InstallationState) -> Installation {
    create_installation(
        store,
        name,
        state,
        DatabaseType::AwsMultitenantRdsPostgres,
        FilestoreType::Bifrost,
    )
    .await
}

async fn ci(
    store: &SqlStore,
    cluster: &str,
    installation: &str,
    active: bool,
) -> ClusterInstallation {
    let mut ci = ClusterInstallation::new(cluster, installation, ClusterInstallationState::Stable);
    ci.is_active = active;
    store.cluster_installation_create(&ci).await.unwrap()
}

async fn cis(store: &SqlStore, cluster: &str, active: bool) -> Vec<ClusterInstallation> {
    store
        .cluster_installation_list(&ClusterInstallationFilter {
            paging: Paging::all_live(),
            cluster_id: Some(cluster.into()),
            is_active: Some(active),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn state_of(store: &SqlStore, id: &str) -> InstallationState {
    store.installation_get(id).await.unwrap().unwrap().state
}

/// Everything the routes may write: cluster installations, installation
/// states and locks, and the number of events.
async fn snapshot(store: &SqlStore) -> (Vec<ClusterInstallation>, Vec<String>, usize) {
    let all_cis = store
        .cluster_installation_list(&ClusterInstallationFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap();
    let installations = store
        .installation_list(&cloud_model::installation::InstallationFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|i| format!("{} {} {:?}", i.id, i.state, i.lock_acquired_by))
        .collect();
    let events = store
        .event_list(&StateChangeEventFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    (all_cis, installations, events)
}

fn body(source: &str, target: &str) -> Value {
    json!({"SourceClusterID": source, "TargetClusterID": target})
}

/// A source cluster closed to new installations with two installations
/// (one stable, one hibernating), and an open target cluster.
struct Setup {
    source: Cluster,
    target: Cluster,
    stable: Installation,
    sleeping: Installation,
}

async fn setup(store: &SqlStore) -> Setup {
    let source = cluster(store, false).await;
    let target = cluster(store, true).await;
    let stable = installation(store, "stable", InstallationState::Stable).await;
    let sleeping = installation(store, "sleeping", InstallationState::Hibernating).await;
    ci(store, &source.id, &stable.id, true).await;
    ci(store, &source.id, &sleeping.id, true).await;
    Setup {
        source,
        target,
        stable,
        sleeping,
    }
}

api_test!(
    migrate_switch_dns_and_delete_inactive_end_to_end,
    |server| {
        let s = setup(&server.store).await;
        let store = &server.store;
        let client = server.client();
        let request = MigrateClusterInstallationRequest {
            source_cluster_id: s.source.id.clone(),
            target_cluster_id: s.target.id.clone(),
            ..Default::default()
        };

        // The answer in the original's shape.
        let (status, answer) = status_json(
            server
                .post_json(MIGRATE, &body(&s.source.id, &s.target.id))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            answer,
            json!({
                "SourceClusterID": s.source.id,
                "TargetClusterID": s.target.id,
                "Operation": "MigratingClusterInstallation",
                "TotalClusterInstallations": 2
            })
        );
        assert!(was_woken(&server, SupervisorKind::ClusterInstallation).await);
        let copies = cis(store, &s.target.id, false).await;
        assert_eq!(copies.len(), 2);
        assert!(
            copies
                .iter()
                .all(|c| c.state == ClusterInstallationState::CreationRequested)
        );
        // Again: nothing more to copy.
        let again = client.migrate_cluster_installation(&request).await.unwrap();
        assert_eq!(again.total_cluster_installations, 0);
        assert_eq!(cis(store, &s.target.id, false).await.len(), 2);

        let switched = client
            .migrate_dns(&MigrateClusterInstallationRequest {
                dns_switch: true,
                lock_installation: true,
                ..request.clone()
            })
            .await
            .unwrap();
        assert_eq!(switched.operation, MigrationOperation::DnsSwitch);
        assert_eq!(switched.total_cluster_installations, 2);
        assert_eq!(switched.source_cluster_id, s.source.id);
        assert!(was_woken(&server, SupervisorKind::Installation).await);
        assert!(cis(store, &s.source.id, true).await.is_empty());
        assert_eq!(cis(store, &s.target.id, true).await.len(), 2);
        assert_eq!(
            state_of(store, &s.stable.id).await,
            InstallationState::CreationConfiguringDns
        );
        assert_eq!(
            state_of(store, &s.sleeping.id).await,
            InstallationState::DnsMigrationHibernated
        );
        let locker = store
            .installation_get(&s.stable.id)
            .await
            .unwrap()
            .unwrap()
            .lock_acquired_by;
        assert_eq!(locker, None);

        // Already switched: one JSON 404, nothing changed.
        let before = snapshot(store).await;
        let message = assert_error(
            server
                .post_json(MIGRATE_DNS, &body(&s.source.id, &s.target.id))
                .await,
            404,
            None,
        )
        .await;
        assert!(message.contains(&s.source.id), "{message}");
        assert_eq!(snapshot(store).await, before);

        // The originals, now inactive, are deleted.
        let (status, answer) = status_json(
            server
                .delete(&format!("{DELETE_INACTIVE}/{}", s.source.id))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            answer,
            json!({
                "SourceClusterID": s.source.id,
                "TargetClusterID": "",
                "Operation": "DeletingInActiveClusterInstallations",
                "TotalClusterInstallations": 2
            })
        );
        assert!(was_woken(&server, SupervisorKind::ClusterInstallation).await);
        let leftovers = cis(store, &s.source.id, false).await;
        assert_eq!(leftovers.len(), 2);
        assert!(
            leftovers
                .iter()
                .all(|c| c.state == ClusterInstallationState::DeletionRequested)
        );
        let none_left = client
            .delete_inactive_cluster_installations_by_cluster(&s.source.id)
            .await
            .unwrap();
        assert_eq!(none_left.total_cluster_installations, 0);
    }
);

api_test!(migrate_narrows_to_one_installation, |server| {
    let s = setup(&server.store).await;
    let mut request = body(&s.source.id, &s.target.id);
    request["InstallationID"] = json!(s.sleeping.id);
    let (status, answer) = status_json(server.post_json(MIGRATE, &request).await).await;
    assert_eq!(status, 200);
    assert_eq!(answer["TotalClusterInstallations"], 1);
    let copies = cis(&server.store, &s.target.id, false).await;
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].installation_id, s.sleeping.id);

    // An installation with nothing on the source: 404.
    request["InstallationID"] = json!(UNKNOWN_ID);
    let before = snapshot(&server.store).await;
    assert_error(server.post_json(MIGRATE, &request).await, 404, None).await;
    assert_error(server.post_json(MIGRATE_DNS, &request).await, 404, None).await;
    assert_eq!(snapshot(&server.store).await, before);
});

api_test!(
    bad_migration_requests_are_4xx_and_change_nothing,
    |server| {
        let s = setup(&server.store).await;
        let open = cluster(&server.store, true).await;
        ci(&server.store, &open.id, &s.stable.id, true).await;
        let empty = cluster(&server.store, false).await;
        let before = snapshot(&server.store).await;

        for path in [MIGRATE, MIGRATE_DNS, SWITCH_ROLES] {
            // Not JSON, no body, the wrong JSON type.
            assert_error(
                server.post_raw(path, "{\"SourceClusterID\":").await,
                400,
                None,
            )
            .await;
            assert_error(server.post_raw(path, "").await, 400, None).await;
            assert_error(server.post_raw(path, "[]").await, 400, None).await;
            assert_error(
                server
                    .post_json(
                        path,
                        &json!({"SourceClusterID": 7, "TargetClusterID": s.target.id}),
                    )
                    .await,
                400,
                Some("SourceClusterID"),
            )
            .await;
            // Missing, malformed or equal IDs.
            assert_error(
                server
                    .post_json(path, &json!({"TargetClusterID": s.target.id}))
                    .await,
                400,
                Some("SourceClusterID"),
            )
            .await;
            assert_error(
                server
                    .post_json(path, &json!({"SourceClusterID": s.source.id}))
                    .await,
                400,
                Some("TargetClusterID"),
            )
            .await;
            assert_error(
                server.post_json(path, &body(&s.source.id, "short")).await,
                400,
                Some("TargetClusterID"),
            )
            .await;
            assert_error(
                server
                    .post_json(path, &body(&s.source.id, &s.source.id))
                    .await,
                400,
                Some("TargetClusterID"),
            )
            .await;
            // Unknown clusters.
            assert_error(
                server
                    .post_json(path, &body(UNKNOWN_ID, &s.target.id))
                    .await,
                404,
                Some("SourceClusterID"),
            )
            .await;
            assert_error(
                server
                    .post_json(path, &body(&s.source.id, UNKNOWN_ID))
                    .await,
                404,
                Some("TargetClusterID"),
            )
            .await;
        }
        for path in [MIGRATE, MIGRATE_DNS] {
            // The source still takes installations.
            let message = assert_error(
                server.post_json(path, &body(&open.id, &s.target.id)).await,
                400,
                Some("SourceClusterID"),
            )
            .await;
            assert!(message.contains("AllowInstallations"), "{message}");
            // Nothing to migrate or switch.
            assert_error(
                server.post_json(path, &body(&empty.id, &s.target.id)).await,
                404,
                None,
            )
            .await;
        }
        // Nothing copied yet: nothing to switch.
        let message = assert_error(
            server
                .post_json(MIGRATE_DNS, &body(&s.source.id, &s.target.id))
                .await,
            404,
            None,
        )
        .await;
        assert!(message.contains(&s.target.id), "{message}");
        // A deleted target is unknown.
        let deleted = cluster(&server.store, true).await;
        server.store.cluster_delete(&deleted.id).await.unwrap();
        let before_deleted = snapshot(&server.store).await;
        assert_error(
            server
                .post_json(MIGRATE, &body(&s.source.id, &deleted.id))
                .await,
            404,
            Some("TargetClusterID"),
        )
        .await;
        assert_eq!(snapshot(&server.store).await, before_deleted);

        // The wrong verb is a JSON 405.
        let res = server.get(MIGRATE).await;
        assert_eq!(res.status(), 405);

        let after = snapshot(&server.store).await;
        assert_eq!(after.0, before.0);
        assert_eq!(after.1, before.1);
        assert!(!was_woken(&server, SupervisorKind::ClusterInstallation).await);
    }
);

api_test!(
    dns_switch_with_a_locked_installation_is_a_conflict,
    |server| {
        let s = setup(&server.store).await;
        server
            .client()
            .migrate_cluster_installation(&MigrateClusterInstallationRequest {
                source_cluster_id: s.source.id.clone(),
                target_cluster_id: s.target.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            server
                .store
                .installation_lock(&s.sleeping.id, "supervisor")
                .await
                .unwrap()
        );
        let before = snapshot(&server.store).await;
        let mut request = body(&s.source.id, &s.target.id);
        request["LockInstallation"] = json!(true);
        let message = assert_error(server.post_json(MIGRATE_DNS, &request).await, 409, None).await;
        assert!(message.contains(&s.sleeping.id), "{message}");
        assert_eq!(snapshot(&server.store).await, before);

        // Without LockInstallation the supervisor's lock is not consulted.
        request["LockInstallation"] = json!(false);
        let (status, answer) = status_json(server.post_json(MIGRATE_DNS, &request).await).await;
        assert_eq!(status, 200);
        assert_eq!(answer["Operation"], "DNSSwitch");
        assert_eq!(answer["TotalClusterInstallations"], 2);
    }
);

api_test!(delete_one_inactive_cluster_installation, |server| {
    let s = setup(&server.store).await;
    let inactive = ci(&server.store, &s.target.id, &s.stable.id, false).await;
    let active = cis(&server.store, &s.source.id, true).await.remove(0);
    let path = |id: &str| format!("{DELETE_INACTIVE}/cluster_installation/{id}");

    // An active one is refused (the original deleted it).
    let before = snapshot(&server.store).await;
    let message = assert_error(server.delete(&path(&active.id)).await, 400, None).await;
    assert!(message.contains("active"), "{message}");
    assert_error(server.delete(&path(UNKNOWN_ID)).await, 404, None).await;
    assert_error(server.delete(&path("not-an-id")).await, 404, None).await;
    assert_error(
        server
            .delete(&format!("{DELETE_INACTIVE}/{UNKNOWN_ID}"))
            .await,
        404,
        None,
    )
    .await;
    assert_eq!(snapshot(&server.store).await, before);

    let (status, answer) = status_json(server.delete(&path(&inactive.id)).await).await;
    assert_eq!(status, 200);
    assert_eq!(answer["ID"], json!(inactive.id));
    assert_eq!(answer["State"], "deletion-requested");
    assert_eq!(answer["IsActive"], false);
    assert!(was_woken(&server, SupervisorKind::ClusterInstallation).await);
    let through_client = server
        .client()
        .delete_inactive_cluster_installation_by_id(&inactive.id)
        .await
        .unwrap();
    assert_eq!(
        through_client.state,
        ClusterInstallationState::DeletionRequested
    );
    let events = server
        .store
        .event_list(&StateChangeEventFilter {
            resource_id: Some(inactive.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].state_change.new_state, "deletion-requested");
});

api_test!(switch_cluster_roles_needs_aws, |server| {
    let s = setup(&server.store).await;
    let message = assert_error(
        server
            .post_json(SWITCH_ROLES, &body(&s.source.id, &s.target.id))
            .await,
        501,
        None,
    )
    .await;
    assert!(message.contains("AWS"), "{message}");
    assert!(
        server
            .client()
            .switch_cluster_roles(&MigrateClusterInstallationRequest {
                source_cluster_id: s.source.id.clone(),
                target_cluster_id: s.target.id.clone(),
                ..Default::default()
            })
            .await
            .is_err()
    );
});
