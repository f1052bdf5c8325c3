//! `cloud database …` against a real `cloud server`, and the database
//! operations of installations that go with it: `cloud installation backup
//! …` and `cloud installation operation restoration|db-migration …`.

use crate::common::*;
use cloud_model::backup::BackupState;
use cloud_model::database::{
    DatabaseEngineType, DatabaseSchema, LogicalDatabase, MultitenantDatabase,
};
use cloud_model::installation::{DatabaseType, FilestoreType, Installation, InstallationState};
use cloud_store::SqlStore;
use serde_json::json;

async fn shared(
    store: &SqlStore,
    rds: &str,
    database_type: DatabaseEngineType,
    installations: Vec<String>,
) -> MultitenantDatabase {
    store
        .multitenant_database_create(&MultitenantDatabase {
            rds_cluster_id: rds.into(),
            vpc_id: "vpc-1".into(),
            database_type,
            writer_endpoint: format!("{rds}.writer"),
            installations,
            max_installations_per_logical_database: if database_type.is_proxy() { 10 } else { 0 },
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn hibernating(store: &SqlStore, name: &str) -> Installation {
    let mut installation = Installation {
        name: name.into(),
        owner_id: "owner".into(),
        state: InstallationState::Hibernating,
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        size: "100users".into(),
        version: "stable".into(),
        image: "mattermost/mattermost-enterprise-edition".into(),
        cr_version: "installation.mattermost.com/v1beta1".into(),
        ..Default::default()
    };
    store
        .installation_create(&mut installation, &[], &[format!("{name}.example.com")])
        .await
        .unwrap();
    installation
}

#[tokio::test]
async fn shared_databases_through_the_cli() {
    let server = CloudServer::start().await;
    let store = SqlStore::open(&server.database).await.unwrap();
    let pg = shared(
        &store,
        "rds-pg",
        DatabaseEngineType::Postgres,
        vec!["i1".into(), "i2".into()],
    )
    .await;
    let proxy = shared(
        &store,
        "rds-proxy",
        DatabaseEngineType::PostgresProxy,
        vec!["i3".into()],
    )
    .await;
    let logical = store
        .logical_database_create(&LogicalDatabase {
            multitenant_database_id: proxy.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let schema = store
        .database_schema_create(&DatabaseSchema {
            logical_database_id: logical.id.clone(),
            installation_id: "i3".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let table = server
        .cloud(&["database", "multitenant", "list"])
        .await
        .success()
        .stdout;
    assert_columns(
        &table,
        &["ID", "RDS CLUSTER ID", "TYPE", "STATE", "INSTALLATIONS"],
    );
    let pg_row = table.lines().find(|l| l.starts_with(&pg.id)).unwrap();
    assert!(
        pg_row.contains("rds-pg")
            && pg_row.contains("postgres")
            && pg_row.trim_end().ends_with('2'),
        "{pg_row}"
    );
    let proxies = server
        .cloud(&[
            "database",
            "multitenant",
            "list",
            "--json",
            "--database-type",
            "postgres-proxy",
        ])
        .await
        .success()
        .json();
    assert_eq!(proxies[0]["ID"], proxy.id.as_str());
    let got = server
        .cloud(&[
            "database",
            "multitenant",
            "get",
            "--multitenant-database",
            &proxy.id,
        ])
        .await
        .success()
        .json();
    assert_eq!(got["MaxInstallationsPerLogicalDatabase"], 10);

    // --dry-run prints the patch; without a flag nothing changes.
    let dry = server
        .cloud(&[
            "database",
            "multitenant",
            "update",
            "--multitenant-database",
            &proxy.id,
            "--max-installations-per-logical-db",
            "5",
            "--dry-run",
        ])
        .await
        .success()
        .json();
    assert_eq!(dry, json!({"MaxInstallationsPerLogicalDatabase": 5}));
    let updated = server
        .cloud(&[
            "database",
            "multitenant",
            "update",
            "--multitenant-database",
            &proxy.id,
            "--max-installations-per-logical-db",
            "5",
        ])
        .await
        .success()
        .json();
    assert_eq!(updated["MaxInstallationsPerLogicalDatabase"], 5);
    server
        .cloud(&[
            "database",
            "multitenant",
            "update",
            "--multitenant-database",
            &proxy.id,
            "--max-installations-per-logical-db",
            "0",
        ])
        .await
        .failure()
        .stderr_has(&["MaxInstallationsPerLogicalDatabase"]);

    let report = server
        .cloud(&[
            "database",
            "multitenant",
            "report",
            "--multitenant-database",
            &proxy.id,
            "--include-schema-counts",
        ])
        .await
        .success()
        .stdout;
    assert!(
        report.starts_with(&format!("Multitenant Database: {}", proxy.id)),
        "{report}"
    );
    assert!(report.contains(" ├ Type: postgres-proxy"), "{report}");
    assert!(report.contains(" └ Logical Databases: 1"), "{report}");
    assert!(
        report.contains("Average Installations Per Logical Database: 1.00"),
        "{report}"
    );
    assert!(report.contains(&format!("{} - 1", logical.id)), "{report}");

    let logical_table = server
        .cloud(&[
            "database",
            "logical",
            "list",
            "--multitenant-database-id",
            &proxy.id,
        ])
        .await
        .success()
        .stdout;
    assert!(
        logical_table
            .lines()
            .next()
            .unwrap()
            .contains("MULTITENANT DATABASE"),
        "{logical_table}"
    );
    assert!(
        logical_table.contains(&format!("cloud_{}", logical.id)),
        "{logical_table}"
    );
    let got = server
        .cloud(&[
            "database",
            "logical",
            "get",
            "--logical-database",
            &logical.id,
        ])
        .await
        .success()
        .json();
    assert_eq!(got["MultitenantDatabaseID"], proxy.id.as_str());
    let schemas = server
        .cloud(&[
            "database",
            "schema",
            "list",
            "--json",
            "--installation-id",
            "i3",
        ])
        .await
        .success()
        .json();
    assert_eq!(schemas[0]["ID"], schema.id.as_str());
    let schema_table = server
        .cloud(&["database", "schema", "list"])
        .await
        .success()
        .stdout;
    assert!(
        schema_table
            .lines()
            .next()
            .unwrap()
            .contains("LOGICAL DATABASE"),
        "{schema_table}"
    );
    let got = server
        .cloud(&["database", "schema", "get", "--database-schema", &schema.id])
        .await
        .success()
        .json();
    assert_eq!(got["Name"], "id_i3");

    // A logical database with a schema cannot be deleted; an empty one can.
    server
        .cloud(&[
            "database",
            "logical",
            "delete",
            "--logical-database",
            &logical.id,
        ])
        .await
        .failure()
        .stderr_has(&["400"]);
    store.database_schema_delete(&schema.id).await.unwrap();
    server
        .cloud(&[
            "database",
            "logical",
            "delete",
            "--logical-database",
            &logical.id,
        ])
        .await
        .success();

    // The validation report compares installations with database records.
    let inst = hibernating(&store, "alpha").await;
    let report = server
        .cloud(&["database", "validation-report"])
        .await
        .success()
        .stdout;
    assert!(
        report.contains("Database type: aws-multitenant-rds-postgres [Database=2,Installation=1]"),
        "{report}"
    );
    assert!(
        report.contains(&format!(" - Missing: {}", inst.id)),
        "{report}"
    );
    assert!(report.contains(" - Missing: i1"), "{report}");

    server
        .cloud(&[
            "database",
            "multitenant",
            "delete",
            "--multitenant-database",
            &pg.id,
            "--force",
        ])
        .await
        .success();
    let live = server
        .cloud(&["database", "multitenant", "list", "--json"])
        .await
        .success()
        .json();
    assert_eq!(live.as_array().unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn backups_and_database_operations_through_the_cli() {
    let server = CloudServer::start().await;
    let store = SqlStore::open(&server.database).await.unwrap();
    let inst = hibernating(&store, "alpha").await;

    let backup = server
        .cloud(&[
            "installation",
            "backup",
            "create",
            "--installation",
            &inst.id,
        ])
        .await
        .success()
        .json();
    assert_eq!(backup["State"], "backup-requested");
    let backup_id = backup["ID"].as_str().unwrap().to_string();
    server
        .cloud(&[
            "installation",
            "backup",
            "create",
            "--installation",
            &inst.id,
        ])
        .await
        .failure()
        .stderr_has(&["400"]);
    let table = server
        .cloud(&["installation", "backup", "list", "--installation", &inst.id])
        .await
        .success()
        .stdout;
    assert_columns(
        &table,
        &[
            "ID",
            "INSTALLATION ID",
            "STATE",
            "CLUSTER INSTALLATION ID",
            "REQUEST AT",
        ],
    );
    assert!(
        table.lines().nth(1).unwrap().starts_with(&backup_id),
        "{table}"
    );
    let listed = server
        .cloud(&[
            "installation",
            "backup",
            "list",
            "--json",
            "--state",
            "backup-requested",
        ])
        .await
        .success()
        .json();
    assert_eq!(listed, json!([backup]));
    let got = server
        .cloud(&["installation", "backup", "get", "--backup", &backup_id])
        .await
        .success()
        .json();
    assert_eq!(got, backup);

    // The supervisor's work, by hand: the backup succeeded.
    let mut stored = store
        .installation_backup_get(&backup_id)
        .await
        .unwrap()
        .unwrap();
    for next in [BackupState::BackupInProgress, BackupState::BackupSucceeded] {
        store
            .installation_backup_update_state(&stored, next)
            .await
            .unwrap();
        stored.state = next;
    }

    let restoration = server
        .cloud(&[
            "installation",
            "operation",
            "restoration",
            "request",
            "--installation",
            &inst.id,
            "--backup",
            &backup_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(
        restoration["State"],
        "installation-db-restoration-requested"
    );
    let restoration_id = restoration["ID"].as_str().unwrap().to_string();
    let table = server
        .cloud(&["installation", "operation", "restoration", "list"])
        .await
        .success()
        .stdout;
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .contains("TARGET INSTALLATION STATE"),
        "{table}"
    );
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&restoration_id) && row.contains("hibernating"),
        "{row}"
    );
    let got = server
        .cloud(&[
            "installation",
            "operation",
            "restoration",
            "get",
            "--restoration",
            &restoration_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(got, restoration);

    // The backup is in use now.
    server
        .cloud(&["installation", "backup", "delete", "--backup", &backup_id])
        .await
        .failure()
        .stderr_has(&["400"]);

    // A DB migration of another installation to another shared database.
    let beta = hibernating(&store, "beta").await;
    let source = shared(
        &store,
        "rds-a",
        DatabaseEngineType::Postgres,
        vec![beta.id.clone()],
    )
    .await;
    let destination = shared(&store, "rds-b", DatabaseEngineType::Postgres, vec![]).await;
    let migration = server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "request",
            "--installation",
            &beta.id,
            "--multi-tenant-db",
            &destination.id,
        ])
        .await
        .success()
        .json();
    assert_eq!(
        migration["SourceMultiTenant"],
        json!({"DatabaseID": source.id})
    );
    let migration_id = migration["ID"].as_str().unwrap().to_string();
    let table = server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "list",
            "--installation",
            &beta.id,
        ])
        .await
        .success()
        .stdout;
    assert!(
        table.lines().nth(1).unwrap().starts_with(&migration_id),
        "{table}"
    );
    let got = server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "get",
            "--db-migration",
            &migration_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(got, migration);
    server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "commit",
            "--db-migration",
            &migration_id,
        ])
        .await
        .failure()
        .stderr_has(&["400"]);

    let op = store
        .installation_db_migration_get(&migration_id)
        .await
        .unwrap()
        .unwrap();
    store
        .installation_db_migration_update_state(
            &op,
            cloud_model::db_migration::MigrationState::Succeeded,
        )
        .await
        .unwrap();
    let committed = server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "commit",
            "--db-migration",
            &migration_id,
        ])
        .await
        .success()
        .json();
    assert_eq!(committed["State"], "installation-db-migration-committed");
    server
        .cloud(&[
            "installation",
            "operation",
            "db-migration",
            "rollback",
            "--db-migration",
            &migration_id,
        ])
        .await
        .failure()
        .stderr_has(&["400"]);
    store.close().await;
}
