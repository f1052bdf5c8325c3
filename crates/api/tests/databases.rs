//! API tests of the shared-database routes (78–86) over HTTP, on SQLite and
//! PostgreSQL: listing with filters, the `MaxInstallationsPerLogicalDatabase`
//! update (PgBouncer databases only), the record-only deletes and bad input
//! leaving the store unchanged.

use crate::common::*;
use cloud_model::database::{
    DatabaseEngineType, DatabaseSchema, DatabaseSchemaFilter, LogicalDatabase,
    LogicalDatabaseFilter, MultitenantDatabase, MultitenantDatabaseFilter,
    PatchMultitenantDatabaseRequest,
};
use cloud_store::SqlStore;
use cloud_store::lock::LockedTable;
use serde_json::json;

async fn shared(
    store: &SqlStore,
    rds: &str,
    vpc: &str,
    database_type: DatabaseEngineType,
) -> MultitenantDatabase {
    store
        .multitenant_database_create(&MultitenantDatabase {
            rds_cluster_id: rds.into(),
            vpc_id: vpc.into(),
            database_type,
            writer_endpoint: format!("{rds}.cluster.example.com"),
            installations: vec!["i1b2c3d4e5f6g7h8i9j0k1l2m3".into()],
            max_installations_per_logical_database: if database_type.is_proxy() { 10 } else { 0 },
            ..Default::default()
        })
        .await
        .unwrap()
}

api_test!(
    multitenant_databases_are_listed_read_updated_and_deleted,
    |server| {
        let pg = shared(
            &server.store,
            "rds-pg",
            "vpc-1",
            DatabaseEngineType::Postgres,
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let proxy = shared(
            &server.store,
            "rds-proxy",
            "vpc-2",
            DatabaseEngineType::PostgresProxy,
        )
        .await;

        let (status, list) =
            status_json(server.get("/api/databases/multitenant_databases").await).await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert_eq!(list[0]["ID"], pg.id.as_str(), "oldest first");
        assert_eq!(
            list[0]["Installations"],
            json!(["i1b2c3d4e5f6g7h8i9j0k1l2m3"])
        );
        assert_eq!(list[0]["MigratedInstallations"], json!([]));
        assert!(
            list[0].get("MaxInstallationsPerLogicalDatabase").is_none(),
            "omitted when 0"
        );
        assert_eq!(list[1]["MaxInstallationsPerLogicalDatabase"], 10);
        let (_, by_vpc) = status_json(
            server
                .get("/api/databases/multitenant_databases?vpc_id=vpc-2")
                .await,
        )
        .await;
        assert_eq!(by_vpc.as_array().unwrap().len(), 1);
        assert_eq!(by_vpc[0]["DatabaseType"], "postgres-proxy");
        let (_, by_type) = status_json(
            server
                .get("/api/databases/multitenant_databases?database_type=postgres")
                .await,
        )
        .await;
        assert_eq!(by_type[0]["ID"], pg.id.as_str());
        let res = server
            .get("/api/databases/multitenant_databases?database_type=mysql")
            .await;
        assert_eq!(res.text().await.unwrap().trim(), "[]");
        assert_error(
            server
                .get("/api/databases/multitenant_databases?database_type=oracle")
                .await,
            400,
            Some("database_type"),
        )
        .await;

        let path = |id: &str| format!("/api/databases/multitenant_database/{id}");
        let (_, got) = status_json(server.get(&path(&proxy.id)).await).await;
        assert_eq!(got, list[1]);
        assert_error(server.get(&path(UNKNOWN_ID)).await, 404, None).await;

        // PUT (no Content-Type, as the Go client sends it) on a PgBouncer database.
        let (status, updated) = status_json(
            server
                .put_json(
                    &path(&proxy.id),
                    &json!({"MaxInstallationsPerLogicalDatabase": 25}),
                )
                .await,
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["MaxInstallationsPerLogicalDatabase"], 25);
        assert_eq!(updated["LockAcquiredBy"], json!(null));
        let stored = server
            .store
            .multitenant_database_get(&proxy.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.max_installations_per_logical_database, 25);
        assert_eq!(stored.lock_acquired_at, 0);
        // Other engine types answer unchanged.
        let (status, same) = status_json(
            server
                .put_json(
                    &path(&pg.id),
                    &json!({"MaxInstallationsPerLogicalDatabase": 25}),
                )
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert!(same.get("MaxInstallationsPerLogicalDatabase").is_none());
        assert_error(
            server
                .put_json(
                    &path(UNKNOWN_ID),
                    &json!({"MaxInstallationsPerLogicalDatabase": 2}),
                )
                .await,
            404,
            None,
        )
        .await;
        let (proxy_path, body) = (
            path(&proxy.id),
            json!({"MaxInstallationsPerLogicalDatabase": 2}),
        );
        let update = server.put_json(&proxy_path, &body);
        let table = LockedTable::MultitenantDatabase;
        assert_409_while_locked(&server, table, &proxy.id, update).await;

        // Bad bodies: 4xx, nothing written.
        let cases: Vec<(String, u16, Option<&str>)> = vec![
            ("{".into(), 400, None),
            (
                r#"{"MaxInstallationsPerLogicalDatabase": 0}"#.into(),
                400,
                Some("MaxInstallationsPerLogicalDatabase"),
            ),
            (
                r#"{"MaxInstallationsPerLogicalDatabase": -3}"#.into(),
                400,
                Some("MaxInstallationsPerLogicalDatabase"),
            ),
            (
                r#"{"MaxInstallationsPerLogicalDatabase": "9"}"#.into(),
                400,
                Some("MaxInstallationsPerLogicalDatabase"),
            ),
            (
                r#"{"MaxInstallationsPerLogicalDatabase": 1.5}"#.into(),
                400,
                Some("MaxInstallationsPerLogicalDatabase"),
            ),
            (
                format!(r#"{{"Pad": "{}"}}"#, "p".repeat(1 << 20)),
                413,
                None,
            ),
        ];
        for (raw, status, field) in cases {
            let res = server
                .http()
                .put(server.url(&path(&proxy.id)))
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status().as_u16(),
                status,
                "{}",
                &raw[..raw.len().min(60)]
            );
            assert_error(res, status, field).await;
        }
        let stored = server
            .store
            .multitenant_database_get(&proxy.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.max_installations_per_logical_database, 25);

        // Delete: record only, 204, again 204; unknown 404; a bad `force` 400.
        assert_error(
            server
                .delete(&format!("{}?force=perhaps", path(&pg.id)))
                .await,
            400,
            Some("force"),
        )
        .await;
        assert!(
            !server
                .store
                .multitenant_database_get(&pg.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        assert_eq!(server.delete(&path(&pg.id)).await.status(), 204);
        assert!(
            server
                .store
                .multitenant_database_get(&pg.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        assert_eq!(
            server
                .delete(&format!("{}?force=true", path(&pg.id)))
                .await
                .status(),
            204
        );
        assert_error(server.delete(&path(UNKNOWN_ID)).await, 404, None).await;
        let (_, live) = status_json(server.get("/api/databases/multitenant_databases").await).await;
        assert_eq!(live.as_array().unwrap().len(), 1);
        let (_, all) = status_json(
            server
                .get("/api/databases/multitenant_databases?include_deleted=true")
                .await,
        )
        .await;
        assert_eq!(all.as_array().unwrap().len(), 2);

        let client = server.client();
        let proxies = client
            .get_multitenant_databases(&MultitenantDatabaseFilter {
                database_type: Some(DatabaseEngineType::PostgresProxy),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(proxies.len(), 1);
        let patched = client
            .update_multitenant_database(
                &proxy.id,
                &PatchMultitenantDatabaseRequest {
                    max_installations_per_logical_database: Some(7),
                },
            )
            .await
            .unwrap();
        assert_eq!(patched.max_installations_per_logical_database, 7);
        assert_eq!(
            client.get_multitenant_database(UNKNOWN_ID).await.unwrap(),
            None
        );
        client
            .delete_multitenant_database(&proxy.id, true)
            .await
            .unwrap();
        assert!(
            client
                .get_multitenant_database(&proxy.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
    }
);

api_test!(
    logical_databases_and_schemas_are_read_and_deleted_when_empty,
    |server| {
        let proxy = shared(
            &server.store,
            "rds-proxy",
            "vpc-1",
            DatabaseEngineType::PostgresProxy,
        )
        .await;
        let logical = server
            .store
            .logical_database_create(&LogicalDatabase {
                multitenant_database_id: proxy.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let empty = server
            .store
            .logical_database_create(&LogicalDatabase {
                multitenant_database_id: proxy.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let schema = server
            .store
            .database_schema_create(&DatabaseSchema {
                logical_database_id: logical.id.clone(),
                installation_id: "i1b2c3d4e5f6g7h8i9j0k1l2m3".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        let (status, list) = status_json(
            server
                .get(&format!(
                    "/api/databases/logical_databases?multitenant_database_id={}",
                    proxy.id
                ))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert_eq!(list[0]["Name"], format!("cloud_{}", logical.id));
        let res = server
            .get("/api/databases/logical_databases?multitenant_database_id=other")
            .await;
        assert_eq!(res.text().await.unwrap().trim(), "[]");
        let (_, got) = status_json(
            server
                .get(&format!("/api/databases/logical_database/{}", logical.id))
                .await,
        )
        .await;
        assert_eq!(got, list[0]);
        assert_error(
            server
                .get(&format!("/api/databases/logical_database/{UNKNOWN_ID}"))
                .await,
            404,
            None,
        )
        .await;

        let (_, schemas) = status_json(
            server
                .get(&format!(
                    "/api/databases/database_schemas?logical_database_id={}",
                    logical.id
                ))
                .await,
        )
        .await;
        assert_eq!(schemas[0]["Name"], "id_i1b2c3d4e5f6g7h8i9j0k1l2m3");
        assert_eq!(schemas[0]["InstallationID"], "i1b2c3d4e5f6g7h8i9j0k1l2m3");
        let (_, by_installation) = status_json(
            server
                .get("/api/databases/database_schemas?installation_id=i1b2c3d4e5f6g7h8i9j0k1l2m3")
                .await,
        )
        .await;
        assert_eq!(by_installation, schemas);
        let (_, one) = status_json(
            server
                .get(&format!("/api/databases/database_schema/{}", schema.id))
                .await,
        )
        .await;
        assert_eq!(one, schemas[0]);
        assert_error(
            server
                .get(&format!("/api/databases/database_schema/{UNKNOWN_ID}"))
                .await,
            404,
            None,
        )
        .await;

        // A logical database with a live schema cannot be deleted.
        let path = format!("/api/databases/logical_database/{}", logical.id);
        assert_error(server.delete(&path).await, 400, None).await;
        assert!(
            !server
                .store
                .logical_database_get(&logical.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        // Nor while its shared database is locked.
        let empty_path = format!("/api/databases/logical_database/{}", empty.id);
        let delete = server.delete(&empty_path);
        let table = LockedTable::MultitenantDatabase;
        assert_409_while_locked(&server, table, &proxy.id, delete).await;
        assert_eq!(
            server
                .delete(&format!("/api/databases/logical_database/{}", empty.id))
                .await
                .status(),
            204
        );
        assert_eq!(
            server
                .delete(&format!("/api/databases/logical_database/{}", empty.id))
                .await
                .status(),
            204
        );

        server
            .store
            .database_schema_delete(&schema.id)
            .await
            .unwrap();
        assert_eq!(server.delete(&path).await.status(), 204);
        assert!(
            server
                .store
                .logical_database_get(&logical.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        assert_error(
            server
                .delete(&format!("/api/databases/logical_database/{UNKNOWN_ID}"))
                .await,
            404,
            None,
        )
        .await;
        assert_eq!(
            server
                .store
                .multitenant_database_get(&proxy.id)
                .await
                .unwrap()
                .unwrap()
                .lock_acquired_at,
            0
        );

        let client = server.client();
        let all = client
            .get_logical_databases(&LogicalDatabaseFilter {
                paging: cloud_model::filter::Paging::all(),
                multitenant_database_id: Some(proxy.id.clone()),
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert!(
            client
                .get_logical_database(&logical.id)
                .await
                .unwrap()
                .is_some()
        );
        let schemas = client
            .get_database_schemas(&DatabaseSchemaFilter {
                paging: cloud_model::filter::Paging::all(),
                logical_database_id: Some(logical.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(schemas.len(), 1);
        assert!(
            client
                .get_database_schema(&schema.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        let err = client
            .delete_logical_database(UNKNOWN_ID)
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    }
);
