//! API tests of the backup routes (40–43) and the backup security lock
//! (97–98) over HTTP, on SQLite and PostgreSQL.

use crate::common::*;
use cloud_model::backup::{BackupState, InstallationBackup, InstallationBackupFilter};
use cloud_model::filter::Paging;
use cloud_model::installation::{DatabaseType, FilestoreType, InstallationState};
use cloud_store::SqlStore;
use cloud_store::lock::LockedTable;
use cloud_supervisor::SupervisorKind;
use serde_json::json;

// `cluster_installation_migration.rs` imports these from here.
pub(crate) use crate::common::{UNKNOWN_ID, create_installation, was_woken};

pub(crate) async fn all_backups(store: &SqlStore) -> Vec<InstallationBackup> {
    store
        .installation_backup_list(&InstallationBackupFilter {
            paging: Paging::all(),
            ..Default::default()
        })
        .await
        .unwrap()
}

api_test!(a_backup_is_requested_listed_and_read, |server| {
    let inst = backupable(&server.store, "alpha").await;
    let (status, backup) = status_json(
        server
            .post_json(
                "/api/installations/backups",
                &json!({"InstallationID": inst.id}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{backup}");
    let mut keys: Vec<&str> = backup
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "APISecurityLock",
            "BackedUpDatabaseType",
            "ClusterInstallationID",
            "DataResidence",
            "DeleteAt",
            "ID",
            "InstallationID",
            "LockAcquiredAt",
            "LockAcquiredBy",
            "RequestAt",
            "StartAt",
            "State"
        ]
    );
    assert_eq!(backup["State"], "backup-requested");
    assert_eq!(
        backup["BackedUpDatabaseType"],
        "aws-multitenant-rds-postgres"
    );
    assert_eq!(backup["DataResidence"], json!(null));
    assert!(was_woken(&server, SupervisorKind::Backup).await);
    let id = backup["ID"].as_str().unwrap().to_string();
    // The installation lock was released.
    let after = server
        .store
        .installation_get(&inst.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.lock_acquired_at, 0);

    // A second one while the first runs is refused.
    let res = server
        .post_json(
            "/api/installations/backups",
            &json!({"InstallationID": inst.id}),
        )
        .await;
    let message = assert_error(res, 400, None).await;
    assert!(message.contains("already"), "{message}");

    let (_, got) = status_json(server.get(&format!("/api/installations/backup/{id}")).await).await;
    assert_eq!(got, backup);
    let other = backupable(&server.store, "beta").await;
    server
        .client()
        .create_installation_backup(&other.id)
        .await
        .unwrap();
    let (_, list) = status_json(server.get("/api/installations/backups").await).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["ID"], id.as_str(), "newest first");
    let (_, mine) = status_json(
        server
            .get(&format!(
                "/api/installations/backups?installation={}",
                inst.id
            ))
            .await,
    )
    .await;
    assert_eq!(mine, json!([backup]));
    let (_, requested) = status_json(
        server
            .get("/api/installations/backups?state=backup-requested")
            .await,
    )
    .await;
    assert_eq!(requested.as_array().unwrap().len(), 2);
    let res = server
        .get("/api/installations/backups?state=backup-succeeded")
        .await;
    assert_eq!(res.text().await.unwrap().trim(), "[]");
    assert_error(
        server.get("/api/installations/backups?state=done").await,
        400,
        Some("state"),
    )
    .await;
    assert_error(
        server
            .get(&format!("/api/installations/backup/{UNKNOWN_ID}"))
            .await,
        404,
        None,
    )
    .await;

    let client = server.client();
    let typed = client
        .get_installation_backups(&InstallationBackupFilter {
            installation_id: Some(inst.id.clone()),
            states: vec![BackupState::BackupRequested],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(typed.len(), 1);
    assert_eq!(
        client
            .get_installation_backup(&id)
            .await
            .unwrap()
            .unwrap()
            .id,
        id
    );
    assert_eq!(
        client.get_installation_backup(UNKNOWN_ID).await.unwrap(),
        None
    );
});

api_test!(backup_requests_check_the_installation, |server| {
    use DatabaseType as D;
    use FilestoreType as F;
    use InstallationState as S;
    let cases = [
        (
            "stable",
            S::Stable,
            D::AwsMultitenantRdsPostgres,
            F::Bifrost,
        ),
        ("mysql", S::Hibernating, D::AwsMultitenantRds, F::Bifrost),
        ("rds", S::Hibernating, D::AwsRds, F::AwsS3),
        ("minio", S::Hibernating, D::AwsRdsPostgres, F::MinioOperator),
    ];
    for (name, state, database, filestore) in cases {
        let inst = create_installation(&server.store, name, state, database, filestore).await;
        let res = server
            .post_json(
                "/api/installations/backups",
                &json!({"InstallationID": inst.id}),
            )
            .await;
        assert_error(res, 400, Some("InstallationID")).await;
        let unlocked = server
            .store
            .installation_get(&inst.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            unlocked.lock_acquired_at, 0,
            "{name}: lock released on refusal"
        );
    }
    // A single-tenant Postgres database is fine too.
    let ok = create_installation(
        &server.store,
        "pg",
        S::Hibernating,
        D::AwsRdsPostgres,
        F::AwsS3,
    )
    .await;
    let res = server
        .post_json(
            "/api/installations/backups",
            &json!({"InstallationID": ok.id}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = server
        .post_json(
            "/api/installations/backups",
            &json!({"InstallationID": UNKNOWN_ID}),
        )
        .await;
    assert_error(res, 404, None).await;

    // Someone else holds the installation: 409, and no backup.
    let busy = backupable(&server.store, "busy").await;
    assert!(
        server
            .store
            .installation_lock(&busy.id, "other")
            .await
            .unwrap()
    );
    let res = server
        .post_json(
            "/api/installations/backups",
            &json!({"InstallationID": busy.id}),
        )
        .await;
    assert_error(res, 409, None).await;
    assert_eq!(all_backups(&server.store).await.len(), 1);
});

api_test!(bad_backup_requests_are_4xx_and_store_nothing, |server| {
    let inst = backupable(&server.store, "alpha").await;
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("{".into(), 400, None),
        ("[]".into(), 400, None),
        ("".into(), 400, Some("InstallationID")),
        ("{}".into(), 400, Some("InstallationID")),
        (
            r#"{"InstallationID": 12}"#.into(),
            400,
            Some("InstallationID"),
        ),
        (
            r#"{"InstallationID": "short"}"#.into(),
            400,
            Some("InstallationID"),
        ),
        (
            format!(
                r#"{{"InstallationID": "{}", "Pad": "{}"}}"#,
                inst.id,
                "p".repeat(1 << 20)
            ),
            413,
            None,
        ),
    ];
    for (raw, status, field) in cases {
        let preview: String = raw.chars().take(60).collect();
        let res = server
            .post_raw("/api/installations/backups", raw.clone())
            .await;
        assert_eq!(res.status().as_u16(), status, "{preview}");
        assert_error(res, status, field).await;
    }
    assert!(all_backups(&server.store).await.is_empty());
    let unlocked = server
        .store
        .installation_get(&inst.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unlocked.lock_acquired_at, 0);
});

api_test!(deleting_a_backup_follows_the_original_rules, |server| {
    let inst = backupable(&server.store, "alpha").await;
    let backup = server
        .client()
        .create_installation_backup(&inst.id)
        .await
        .unwrap();
    let path = format!("/api/installations/backup/{}", backup.id);

    // API-locked: 403, through the security routes.
    let lock = format!("/api/security/installation/backup/{}/api/lock", backup.id);
    let unlock = format!("/api/security/installation/backup/{}/api/unlock", backup.id);
    assert_eq!(server.post_raw(&lock, "").await.status(), 200);
    assert_eq!(server.post_raw(&lock, "").await.status(), 200, "idempotent");
    assert!(
        server
            .store
            .installation_backup_get(&backup.id)
            .await
            .unwrap()
            .unwrap()
            .api_security_lock
    );
    assert_error(server.delete(&path).await, 403, None).await;
    assert_eq!(server.post_raw(&unlock, "").await.status(), 200);
    assert_error(
        server
            .post_raw(
                &format!("/api/security/installation/backup/{UNKNOWN_ID}/api/lock"),
                "",
            )
            .await,
        404,
        None,
    )
    .await;

    // Row lock held by someone else: 409.
    let table = LockedTable::InstallationBackup;
    assert_409_while_locked(&server, table, &backup.id, server.delete(&path)).await;

    // Used by a pending restoration: 400.
    let mut succeeded = backup.clone();
    for next in [BackupState::BackupInProgress, BackupState::BackupSucceeded] {
        server
            .store
            .installation_backup_update_state(&succeeded, next)
            .await
            .unwrap();
        succeeded.state = next;
    }
    let op = server
        .store
        .installation_db_restoration_trigger(&inst, &succeeded)
        .await
        .unwrap();
    assert_error(server.delete(&path).await, 400, None).await;
    server
        .store
        .installation_db_restoration_delete(&op.id)
        .await
        .unwrap();

    // Consume the creation's wake-up so the next check sees the delete's.
    assert!(was_woken(&server, SupervisorKind::Backup).await);
    assert!(!was_woken(&server, SupervisorKind::Backup).await);
    let res = server.delete(&path).await;
    assert_eq!(res.status(), 202);
    assert!(was_woken(&server, SupervisorKind::Backup).await);
    let got = server
        .store
        .installation_backup_get(&backup.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, BackupState::DeletionRequested);
    assert_eq!(got.lock_acquired_at, 0);
    // Requesting deletion again is accepted and changes nothing.
    assert_eq!(server.delete(&path).await.status(), 202);

    // A deleted backup cannot be deleted again.
    server
        .store
        .installation_backup_update_state(&got, BackupState::Deleted)
        .await
        .unwrap();
    assert_error(server.delete(&path).await, 400, None).await;
    assert_error(
        server
            .delete(&format!("/api/installations/backup/{UNKNOWN_ID}"))
            .await,
        404,
        None,
    )
    .await;

    // The typed client's security and delete calls.
    let other = backupable(&server.store, "beta").await;
    let client = server.client();
    let b = client.create_installation_backup(&other.id).await.unwrap();
    client.lock_api_for_backup(&b.id).await.unwrap();
    let err = client.delete_installation_backup(&b.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    client.unlock_api_for_backup(&b.id).await.unwrap();
    client.delete_installation_backup(&b.id).await.unwrap();
});
