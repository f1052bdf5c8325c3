//! Versioned schema migrations.
//!
//! Each backend has its own numbered SQL files (`migrations/sqlite`,
//! `migrations/postgres`) with the same numbers; they are embedded in the
//! binary. `cloud schema migrate` applies what is missing. A server refuses a
//! database whose schema is older (or newer) than the one it was built for,
//! except a brand-new, empty database, which it creates at the latest schema:
//! that is what makes `cloud server` with no flags work on first start.

use crate::SqlStore;
use crate::db::{Backend, Pool, Query};
use crate::error::{Result, StoreError};
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// The schema version this binary was built for.
pub fn latest_version(backend: Backend) -> i64 {
    migrator(backend)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The schema version of the database, `None` when it has never been migrated.
pub async fn current_version(store: &SqlStore) -> Result<Option<i64>> {
    let table_count = match store.backend() {
        Backend::Sqlite => Query::new(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        ),
        Backend::Postgres => Query::new(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()",
        ),
    }
    .fetch_i64(store.conn())
    .await?;
    if table_count == 0 {
        return Ok(None);
    }
    let version =
        Query::new("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_i64(store.conn())
            .await?;
    Ok(Some(version))
}

/// Applies every missing migration and returns the versions applied (empty
/// when the schema was already current).
pub async fn migrate(store: &SqlStore) -> Result<Vec<i64>> {
    let before = current_version(store).await?.unwrap_or(0);
    let known = latest_version(store.backend());
    if before > known {
        return Err(StoreError::SchemaTooNew {
            current: before,
            known,
        });
    }
    match &store.pool {
        Pool::Sqlite(p) => SQLITE.run(p).await?,
        Pool::Postgres(p) => POSTGRES.run(p).await?,
    }
    Ok(migrator(store.backend())
        .iter()
        .map(|m| m.version)
        .filter(|v| *v > before)
        .collect())
}

/// Makes sure the schema is the one this binary needs: a never-migrated
/// database is migrated; an older or newer one is refused.
pub async fn ensure_current(store: &SqlStore) -> Result<()> {
    let required = latest_version(store.backend());
    match current_version(store).await? {
        None => {
            tracing::info!(version = required, "new database: creating the schema");
            migrate(store).await.map(|_| ())
        }
        Some(current) if current < required => {
            Err(StoreError::SchemaOutdated { current, required })
        }
        Some(current) if current > required => Err(StoreError::SchemaTooNew {
            current,
            known: required,
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use crate::{StoreOptions, backend_test};

    async fn columns(store: &SqlStore) -> Vec<(String, String)> {
        let q = match store.backend() {
            Backend::Sqlite => Query::new(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
                 ORDER BY m.name, p.name",
            ),
            Backend::Postgres => Query::new(
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
                 ORDER BY 1, 2",
            ),
        };
        q.fetch_all(store.conn()).await.unwrap()
    }

    backend_test!(a_new_database_is_created_at_the_latest_schema, |store| {
        let latest = latest_version(store.backend());
        assert!(latest >= 1);
        assert_eq!(current_version(&store).await.unwrap(), Some(latest));
        // A second migrate is a no-op.
        assert!(migrate(&store).await.unwrap().is_empty());
        assert_eq!(current_version(&store).await.unwrap(), Some(latest));
    });

    backend_test!(
        an_older_schema_is_refused_with_the_migrate_command,
        |store| {
            Query::new("DELETE FROM _sqlx_migrations WHERE version = ")
                .bind(latest_version(store.backend()))
                .execute(store.conn())
                .await
                .unwrap();
            let err = ensure_current(&store).await.unwrap_err();
            assert!(matches!(err, StoreError::SchemaOutdated { .. }), "{err:?}");
            assert!(err.to_string().contains("cloud schema migrate"), "{err}");
        }
    );

    backend_test!(a_newer_schema_is_refused, |store| {
        Query::new(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             SELECT 999999, 'future', success, checksum, execution_time FROM _sqlx_migrations WHERE version = ",
        )
        .bind(latest_version(store.backend()))
        .execute(store.conn())
        .await
        .unwrap();
        let err = ensure_current(&store).await.unwrap_err();
        assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
        assert!(matches!(
            migrate(&store).await,
            Err(StoreError::SchemaTooNew { .. })
        ));
    });

    #[tokio::test]
    async fn explicit_migrate_of_an_empty_database_then_no_op() {
        let (url, _dir) = TestDb::sqlite_url();
        let store = SqlStore::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(current_version(&store).await.unwrap(), None);
        let applied = migrate(&store).await.unwrap();
        assert_eq!(
            applied.last().copied(),
            Some(latest_version(Backend::Sqlite))
        );
        assert!(migrate(&store).await.unwrap().is_empty());
        store.close().await;

        let (pg_url, admin, name) = TestDb::postgres_database().await;
        let pg = SqlStore::connect(&pg_url, &StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(current_version(&pg).await.unwrap(), None);
        let applied = migrate(&pg).await.unwrap();
        assert_eq!(
            applied.last().copied(),
            Some(latest_version(Backend::Postgres))
        );
        assert!(migrate(&pg).await.unwrap().is_empty());
        pg.close().await;
        TestDb::drop_postgres_database(&admin, &name).await;
    }

    #[tokio::test]
    async fn both_backends_have_the_same_tables_and_columns() {
        assert_eq!(
            latest_version(Backend::Sqlite),
            latest_version(Backend::Postgres)
        );
        let sqlite = TestDb::sqlite().await;
        let pg = TestDb::postgres().await;
        let a = columns(&sqlite.store).await;
        let b = columns(&pg.store).await;
        assert!(
            a.len() > 100,
            "expected the full schema, got {} columns",
            a.len()
        );
        assert_eq!(a, b);
    }
}
