//! API tests of the restoration and DB-migration routes (44–51) over HTTP,
//! on SQLite and PostgreSQL: the installation transitions, the store-only
//! validations of the original, commit and rollback, and bad input leaving
//! the store unchanged.

use crate::common::*;
use cloud_model::backup::{BackupState, InstallationBackup};
use cloud_model::database::{DatabaseEngineType, MultitenantDatabase};
use cloud_model::db_migration::{
    InstallationDBMigrationFilter, InstallationDBMigrationOperation,
    InstallationDBMigrationRequest, MigrationState, MultiTenantDBMigrationData,
};
use cloud_model::db_restoration::{InstallationDBRestorationFilter, RestorationState};
use cloud_model::event::{ResourceType, StateChangeEventFilter};
use cloud_model::filter::Paging;
use cloud_model::installation::{DatabaseType, FilestoreType, Installation, InstallationState};
use cloud_store::lock::LockedTable;
use cloud_store::{Query, SqlStore};
use cloud_supervisor::SupervisorKind;
use serde_json::json;

const RESTORATIONS: &str = "/api/installations/operations/database/restorations";
const MIGRATIONS: &str = "/api/installations/operations/database/migrations";

async fn succeeded_backup(store: &SqlStore, installation: &Installation) -> InstallationBackup {
    let mut backup = store
        .installation_backup_create(installation)
        .await
        .unwrap();
    for next in [BackupState::BackupInProgress, BackupState::BackupSucceeded] {
        store
            .installation_backup_update_state(&backup, next)
            .await
            .unwrap();
        backup.state = next;
    }
    backup
}

async fn installation_state(store: &SqlStore, id: &str) -> InstallationState {
    store.installation_get(id).await.unwrap().unwrap().state
}

async fn set_installation_state(store: &SqlStore, id: &str, state: InstallationState) {
    Query::new("UPDATE installation SET state = ")
        .bind(state.as_str())
        .sql(" WHERE id = ")
        .bind(id)
        .execute(store.conn())
        .await
        .unwrap();
}

async fn restoration_count(store: &SqlStore) -> usize {
    store
        .installation_db_restoration_list(&InstallationDBRestorationFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn migrations(store: &SqlStore) -> Vec<InstallationDBMigrationOperation> {
    store
        .installation_db_migration_list(&InstallationDBMigrationFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
}

api_test!(a_restoration_moves_the_installation, |server| {
    let inst = backupable(&server.store, "alpha").await;
    let backup = succeeded_backup(&server.store, &inst).await;
    let body = json!({"InstallationID": inst.id, "BackupID": backup.id});
    let (status, op) = status_json(server.post_json(RESTORATIONS, &body).await).await;
    assert_eq!(status, 202, "{op}");
    assert_eq!(op["State"], "installation-db-restoration-requested");
    assert_eq!(op["TargetInstallationState"], "hibernating");
    assert_eq!(op["BackupID"], backup.id.as_str());
    assert!(was_woken(&server, SupervisorKind::DbRestoration).await);
    assert_eq!(
        installation_state(&server.store, &inst.id).await,
        InstallationState::DbRestorationInProgress
    );
    let events = server
        .store
        .event_list(&StateChangeEventFilter {
            resource_type: Some(ResourceType::Installation),
            resource_id: Some(inst.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events[0].state_change.old_state, "hibernating");
    assert_eq!(
        events[0].state_change.new_state,
        "db-restoration-in-progress"
    );

    let id = op["ID"].as_str().unwrap().to_string();
    let (_, got) = status_json(
        server
            .get(&format!(
                "/api/installations/operations/database/restoration/{id}"
            ))
            .await,
    )
    .await;
    assert_eq!(got, op);
    let (_, list) = status_json(
        server
            .get(&format!("{RESTORATIONS}?installation={}", inst.id))
            .await,
    )
    .await;
    assert_eq!(list, json!([op]));
    let res = server
        .get(&format!(
            "{RESTORATIONS}?state=installation-db-restoration-failed"
        ))
        .await;
    assert_eq!(res.text().await.unwrap().trim(), "[]");
    assert_error(
        server.get(&format!("{RESTORATIONS}?state=failed")).await,
        400,
        Some("state"),
    )
    .await;
    assert_error(
        server
            .get(&format!(
                "/api/installations/operations/database/restoration/{UNKNOWN_ID}"
            ))
            .await,
        404,
        None,
    )
    .await;

    // Not hibernating any more: the same request is refused.
    let res = server.post_json(RESTORATIONS, &body).await;
    assert_error(res, 400, Some("InstallationID")).await;

    let client = server.client();
    let typed = client
        .get_installation_db_restoration_operations(&InstallationDBRestorationFilter {
            states: vec![RestorationState::Requested],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(typed.len(), 1);
    assert!(
        client
            .get_installation_db_restoration(&id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        client
            .get_installation_db_restoration(UNKNOWN_ID)
            .await
            .unwrap()
            .is_none()
    );
    let other = backupable(&server.store, "beta").await;
    let other_backup = succeeded_backup(&server.store, &other).await;
    let op = client
        .restore_installation_database(&other.id, &other_backup.id)
        .await
        .unwrap();
    assert_eq!(op.state, RestorationState::Requested);
});

api_test!(restoration_requests_are_checked, |server| {
    let inst = backupable(&server.store, "alpha").await;
    let backup = succeeded_backup(&server.store, &inst).await;
    let other = backupable(&server.store, "beta").await;
    let others_backup = succeeded_backup(&server.store, &other).await;
    let mut failed = server
        .store
        .installation_backup_create(&inst)
        .await
        .unwrap();
    server
        .store
        .installation_backup_update_state(&failed, BackupState::BackupFailed)
        .await
        .unwrap();
    failed.state = BackupState::BackupFailed;

    let request = |backup: &str| json!({"InstallationID": inst.id, "BackupID": backup});
    assert_error(
        server
            .post_json(RESTORATIONS, &request(&others_backup.id))
            .await,
        400,
        Some("BackupID"),
    )
    .await;
    assert_error(
        server.post_json(RESTORATIONS, &request(&failed.id)).await,
        400,
        Some("BackupID"),
    )
    .await;
    assert_error(
        server.post_json(RESTORATIONS, &request(UNKNOWN_ID)).await,
        404,
        None,
    )
    .await;
    let res = server
        .post_json(
            RESTORATIONS,
            &json!({"InstallationID": UNKNOWN_ID, "BackupID": backup.id}),
        )
        .await;
    assert_error(res, 404, None).await;

    server
        .store
        .installation_set_api_lock(&inst.id, true)
        .await
        .unwrap();
    assert_error(
        server.post_json(RESTORATIONS, &request(&backup.id)).await,
        403,
        None,
    )
    .await;
    server
        .store
        .installation_set_api_lock(&inst.id, false)
        .await
        .unwrap();

    let stable = create_installation(
        &server.store,
        "stable",
        InstallationState::Stable,
        DatabaseType::AwsMultitenantRdsPostgres,
        FilestoreType::Bifrost,
    )
    .await;
    let res = server
        .post_json(
            RESTORATIONS,
            &json!({"InstallationID": stable.id, "BackupID": backup.id}),
        )
        .await;
    assert_error(res, 400, Some("InstallationID")).await;

    let bad: Vec<(String, u16, Option<&str>)> = vec![
        ("{".into(), 400, None),
        ("".into(), 400, Some("InstallationID")),
        (
            format!(r#"{{"InstallationID": "{}"}}"#, inst.id),
            400,
            Some("BackupID"),
        ),
        (
            format!(r#"{{"InstallationID": "{}", "BackupID": 5}}"#, inst.id),
            400,
            Some("BackupID"),
        ),
        (
            format!(
                r#"{{"InstallationID": "{}", "BackupID": "{}", "X": "{}"}}"#,
                inst.id,
                backup.id,
                "x".repeat(1 << 20)
            ),
            413,
            None,
        ),
    ];
    for (raw, status, field) in bad {
        let res = server.post_raw(RESTORATIONS, raw).await;
        assert_eq!(res.status().as_u16(), status);
        assert_error(res, status, field).await;
    }
    assert_eq!(restoration_count(&server.store).await, 0);
    assert_eq!(
        installation_state(&server.store, &inst.id).await,
        InstallationState::Hibernating
    );
    assert_eq!(
        server
            .store
            .installation_get(&inst.id)
            .await
            .unwrap()
            .unwrap()
            .lock_acquired_at,
        0
    );
});

/// An installation hibernating in shared database A (vpc-1), with B in the
/// same VPC and C in another.
struct MigrationSetup {
    inst: Installation,
    a: MultitenantDatabase,
    b: MultitenantDatabase,
    c: MultitenantDatabase,
}

async fn migration_setup(store: &SqlStore) -> MigrationSetup {
    let inst = backupable(store, "alpha").await;
    let db = |rds: &str, vpc: &str, installations: Vec<String>| MultitenantDatabase {
        rds_cluster_id: rds.into(),
        vpc_id: vpc.into(),
        database_type: DatabaseEngineType::Postgres,
        installations,
        ..Default::default()
    };
    let a = store
        .multitenant_database_create(&db("rds-a", "vpc-1", vec![inst.id.clone()]))
        .await
        .unwrap();
    let b = store
        .multitenant_database_create(&db("rds-b", "vpc-1", vec![]))
        .await
        .unwrap();
    let c = store
        .multitenant_database_create(&db("rds-c", "vpc-2", vec![]))
        .await
        .unwrap();
    MigrationSetup { inst, a, b, c }
}

fn migration_body(installation: &str, destination: &str) -> serde_json::Value {
    json!({
        "InstallationID": installation,
        "DestinationDatabase": "aws-multitenant-rds-postgres",
        "DestinationMultiTenant": {"DatabaseID": destination}
    })
}

api_test!(
    a_migration_is_requested_committed_or_rolled_back,
    |server| {
        let s = migration_setup(&server.store).await;
        let (status, op) = status_json(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.b.id))
                .await,
        )
        .await;
        assert_eq!(status, 202, "{op}");
        assert_eq!(op["State"], "installation-db-migration-requested");
        assert_eq!(op["SourceDatabase"], "aws-multitenant-rds-postgres");
        assert_eq!(op["SourceMultiTenant"], json!({"DatabaseID": s.a.id}));
        assert_eq!(op["DestinationMultiTenant"], json!({"DatabaseID": s.b.id}));
        assert!(was_woken(&server, SupervisorKind::DbMigration).await);
        assert_eq!(
            installation_state(&server.store, &s.inst.id).await,
            InstallationState::DbMigrationInProgress
        );
        let id = op["ID"].as_str().unwrap().to_string();
        let (_, got) = status_json(
            server
                .get(&format!(
                    "/api/installations/operations/database/migration/{id}"
                ))
                .await,
        )
        .await;
        assert_eq!(got, op);
        let (_, list) = status_json(
            server
                .get(&format!(
                    "{MIGRATIONS}?installation={}&cluster_installation=",
                    s.inst.id
                ))
                .await,
        )
        .await;
        assert_eq!(list, json!([op]));
        assert_error(
            server.get(&format!("{MIGRATIONS}?state=nope")).await,
            400,
            Some("state"),
        )
        .await;

        let commit = format!("/api/installations/operations/database/migration/{id}/commit");
        let rollback = format!("/api/installations/operations/database/migration/{id}/rollback");
        // Only a succeeded migration can be committed or rolled back.
        assert_error(server.post_raw(&commit, "").await, 400, None).await;
        assert_error(server.post_raw(&rollback, "").await, 400, None).await;

        // The supervisor's work, done by hand: succeeded, installation hibernating,
        // its old data left on A.
        let stored = server
            .store
            .installation_db_migration_get(&id)
            .await
            .unwrap()
            .unwrap();
        server
            .store
            .installation_db_migration_update_state(&stored, MigrationState::Succeeded)
            .await
            .unwrap();
        set_installation_state(&server.store, &s.inst.id, InstallationState::Hibernating).await;
        let mut a = s.a.clone();
        a.installations.clear();
        a.migrated_installations = vec![s.inst.id.clone()];
        server.store.multitenant_database_update(&a).await.unwrap();

        // Another migration cannot start while this one is not committed.
        let res = server
            .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.c.id))
            .await;
        assert_error(res, 400, None).await;

        // Rollback needs the installation hibernating.
        set_installation_state(&server.store, &s.inst.id, InstallationState::Stable).await;
        assert_error(server.post_raw(&rollback, "").await, 400, None).await;
        set_installation_state(&server.store, &s.inst.id, InstallationState::Hibernating).await;
        // A locked operation is a 409.
        let request = server.post_raw(&rollback, "");
        assert_409_while_locked(&server, LockedTable::InstallationDbMigration, &id, request).await;

        let (status, committed) = status_json(server.post_raw(&commit, "").await).await;
        assert_eq!(status, 200, "{committed}");
        assert_eq!(committed["State"], "installation-db-migration-committed");
        let a = server
            .store
            .multitenant_database_get(&s.a.id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            a.migrated_installations.is_empty(),
            "commit forgets the old data"
        );
        assert_error(server.post_raw(&commit, "").await, 400, None).await;
        assert_error(
            server
                .post_raw(
                    &format!(
                        "/api/installations/operations/database/migration/{UNKNOWN_ID}/commit"
                    ),
                    "",
                )
                .await,
            404,
            None,
        )
        .await;

        // A second migration (B → C is another VPC, so back to A), then a rollback.
        let mut b = server
            .store
            .multitenant_database_get(&s.b.id)
            .await
            .unwrap()
            .unwrap();
        b.installations = vec![s.inst.id.clone()];
        server.store.multitenant_database_update(&b).await.unwrap();
        let client = server.client();
        let request = InstallationDBMigrationRequest {
            installation_id: s.inst.id.clone(),
            destination_database: "aws-multitenant-rds-postgres".into(),
            destination_multi_tenant: Some(MultiTenantDBMigrationData {
                database_id: s.a.id.clone(),
            }),
        };
        let second = client
            .migrate_installation_database(&request)
            .await
            .unwrap();
        assert_eq!(
            second.source_multi_tenant.as_ref().unwrap().database_id,
            s.b.id
        );
        server
            .store
            .installation_db_migration_update_state(&second, MigrationState::Succeeded)
            .await
            .unwrap();
        set_installation_state(&server.store, &s.inst.id, InstallationState::Hibernating).await;
        let rolled = client
            .rollback_installation_db_migration(&second.id)
            .await
            .unwrap();
        assert_eq!(rolled.state, MigrationState::RollbackRequested);
        assert_eq!(
            installation_state(&server.store, &s.inst.id).await,
            InstallationState::DbMigrationRollbackInProgress
        );
        let listed = client
            .get_installation_db_migration_operations(&InstallationDBMigrationFilter {
                installation_id: Some(s.inst.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|o| o.state).collect::<Vec<_>>(),
            [MigrationState::RollbackRequested, MigrationState::Committed]
        );
        assert!(
            client
                .get_installation_db_migration_operation(&second.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            client
                .get_installation_db_migration_operation(UNKNOWN_ID)
                .await
                .unwrap()
                .is_none()
        );
        let err = client
            .commit_installation_db_migration(&second.id)
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    }
);

api_test!(
    migration_requests_are_validated_against_the_store,
    |server| {
        let s = migration_setup(&server.store).await;
        let field = Some("DestinationMultiTenant.DatabaseID");
        // Same database, other VPC, unknown or deleted destination.
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.a.id))
                .await,
            400,
            field,
        )
        .await;
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.c.id))
                .await,
            400,
            field,
        )
        .await;
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, UNKNOWN_ID))
                .await,
            400,
            field,
        )
        .await;
        // The destination still holds this installation's migrated data.
        let mut b = s.b.clone();
        b.migrated_installations = vec![s.inst.id.clone()];
        server.store.multitenant_database_update(&b).await.unwrap();
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.b.id))
                .await,
            400,
            field,
        )
        .await;
        b.migrated_installations.clear();
        server.store.multitenant_database_update(&b).await.unwrap();
        server
            .store
            .multitenant_database_delete(&s.b.id)
            .await
            .unwrap();
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &s.b.id))
                .await,
            400,
            field,
        )
        .await;

        // Not in any shared database, or not a migratable database type.
        let lonely = backupable(&server.store, "lonely").await;
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&lonely.id, &s.a.id))
                .await,
            400,
            Some("InstallationID"),
        )
        .await;
        let single = create_installation(
            &server.store,
            "single",
            InstallationState::Hibernating,
            DatabaseType::AwsRdsPostgres,
            FilestoreType::AwsS3,
        )
        .await;
        let mut a = s.a.clone();
        a.installations.push(single.id.clone());
        server.store.multitenant_database_update(&a).await.unwrap();
        let d = server
            .store
            .multitenant_database_create(&MultitenantDatabase {
                rds_cluster_id: "rds-d".into(),
                vpc_id: "vpc-1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&single.id, &d.id))
                .await,
            400,
            Some("InstallationID"),
        )
        .await;
        // Not hibernating, or API-locked.
        set_installation_state(&server.store, &s.inst.id, InstallationState::Stable).await;
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &d.id))
                .await,
            400,
            Some("InstallationID"),
        )
        .await;
        set_installation_state(&server.store, &s.inst.id, InstallationState::Hibernating).await;
        server
            .store
            .installation_set_api_lock(&s.inst.id, true)
            .await
            .unwrap();
        assert_error(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &d.id))
                .await,
            403,
            None,
        )
        .await;
        server
            .store
            .installation_set_api_lock(&s.inst.id, false)
            .await
            .unwrap();

        let bad: Vec<(String, u16, Option<&str>)> = vec![
            ("{".into(), 400, None),
            ("".into(), 400, Some("InstallationID")),
            (
                format!(
                    r#"{{"InstallationID": "{}", "DestinationDatabase": "aws-rds", "DestinationMultiTenant": {{"DatabaseID": "{}"}}}}"#,
                    s.inst.id, d.id
                ),
                400,
                Some("DestinationDatabase"),
            ),
            (
                format!(
                    r#"{{"InstallationID": "{}", "DestinationDatabase": "aws-multitenant-rds-postgres"}}"#,
                    s.inst.id
                ),
                400,
                Some("DestinationMultiTenant"),
            ),
            (
                format!(
                    r#"{{"InstallationID": "{}", "DestinationDatabase": "aws-multitenant-rds-postgres", "DestinationMultiTenant": "x"}}"#,
                    s.inst.id
                ),
                400,
                Some("DestinationMultiTenant"),
            ),
            (
                format!(
                    r#"{{"InstallationID": "{}", "DestinationDatabase": "aws-multitenant-rds-postgres", "DestinationMultiTenant": {{"DatabaseID": 3}}}}"#,
                    s.inst.id
                ),
                400,
                Some("DestinationMultiTenant.DatabaseID"),
            ),
            (
                format!(
                    r#"{{"InstallationID": "{}", "DestinationDatabase": "{}"}}"#,
                    s.inst.id,
                    "x".repeat(1 << 20)
                ),
                413,
                None,
            ),
        ];
        for (raw, status, field) in bad {
            let preview: String = raw.chars().take(100).collect();
            let res = server.post_raw(MIGRATIONS, raw).await;
            assert_eq!(res.status().as_u16(), status, "{preview}");
            assert_error(res, status, field).await;
        }
        assert!(migrations(&server.store).await.is_empty());
        assert_eq!(
            installation_state(&server.store, &s.inst.id).await,
            InstallationState::Hibernating
        );
        // And the valid request still works afterwards (every lock was released).
        assert_eq!(
            server
                .post_json(MIGRATIONS, &migration_body(&s.inst.id, &d.id))
                .await
                .status(),
            202
        );
    }
);
