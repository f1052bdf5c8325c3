//! Test support: a fresh, migrated store per test, on either backend.
//!
//! - SQLite: a file in a temporary directory that lives as long as the
//!   [`TestDb`].
//! - PostgreSQL: a new database `t_<random>` on the server named by
//!   `CLOUD_TEST_PG_URL` (started by `scripts/testenv.sh up`), dropped when
//!   the [`TestDb`] is dropped. Without the variable the test fails with a
//!   message saying how to start the environment: a PostgreSQL test is never
//!   silently skipped.
//!
//! [`backend_test!`](crate::backend_test) turns one test body into a SQLite
//! test and a PostgreSQL test.

use crate::{SqlStore, StoreOptions};

/// Environment variable naming the test PostgreSQL server.
pub const PG_URL_VAR: &str = "CLOUD_TEST_PG_URL";

pub struct TestDb {
    pub store: SqlStore,
    /// The URL the store was opened with (for a second store or a server process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite store.
    pub async fn sqlite() -> Self {
        let (url, dir) = Self::sqlite_url();
        let store = SqlStore::open(&url)
            .await
            .unwrap_or_else(|e| panic!("open test SQLite store: {e}"));
        Self {
            store,
            url,
            _dir: Some(dir),
            pg_drop: None,
        }
    }

    /// A URL for a fresh SQLite file, and the directory that holds it.
    pub fn sqlite_url() -> (String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("cloud.db").display());
        (url, dir)
    }

    /// A fresh PostgreSQL store in its own new database on the server of
    /// `CLOUD_TEST_PG_URL`.
    pub async fn postgres() -> Self {
        Self::postgres_at(&Self::pg_admin_url()).await
    }

    /// A fresh PostgreSQL store in its own new database on the server `admin_url`.
    pub async fn postgres_at(admin_url: &str) -> Self {
        let (url, admin_url, name) = Self::postgres_database_at(admin_url).await;
        let store = SqlStore::open(&url)
            .await
            .unwrap_or_else(|e| panic!("open test PostgreSQL store: {e}"));
        Self {
            store,
            url,
            _dir: None,
            pg_drop: Some((admin_url, name)),
        }
    }

    /// Creates an empty PostgreSQL database; returns (its URL, the admin URL, its name).
    /// The caller owns the database (see [`TestDb::drop_postgres_database`]).
    pub async fn postgres_database() -> (String, String, String) {
        Self::postgres_database_at(&Self::pg_admin_url()).await
    }

    /// The test server's URL from `CLOUD_TEST_PG_URL`; panics with how to start it.
    pub fn pg_admin_url() -> String {
        std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{PG_URL_VAR} is not set: start the test environment with \
                 `scripts/testenv.sh up` and `. /var/tmp/cloud-testenv/env`"
            )
        })
    }

    /// Like [`TestDb::postgres_database`] on the server `admin_url`.
    pub async fn postgres_database_at(admin_url: &str) -> (String, String, String) {
        let admin_url = admin_url.to_string();
        let name = format!("t_{}", cloud_model::new_id());
        let admin = SqlStore::connect(
            &admin_url,
            &StoreOptions {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR}: {e}"));
        crate::Query::new(format!("CREATE DATABASE {name}"))
            .execute(admin.conn())
            .await
            .unwrap_or_else(|e| panic!("create test database: {e}"));
        admin.close().await;
        let url = match admin_url.rfind('/') {
            Some(slash)
                if admin_url[..slash].contains("://")
                    && slash > admin_url.find("://").unwrap_or(0) + 2 =>
            {
                let rest = &admin_url[slash + 1..];
                let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
                format!("{}/{name}{query}", &admin_url[..slash])
            }
            _ => format!("{admin_url}/{name}"),
        };
        (url, admin_url, name)
    }

    /// Drops a database made by [`TestDb::postgres_database`].
    pub async fn drop_postgres_database(admin_url: &str, name: &str) {
        if let Ok(admin) = SqlStore::connect(
            admin_url,
            &StoreOptions {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        {
            let _ = crate::Query::new(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(admin.conn())
                .await;
            admin.close().await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            // Drop runs outside async context: use a short-lived runtime on its own thread.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(TestDb::drop_postgres_database(&admin_url, &name));
                }
            })
            .join();
        }
    }
}

/// Expands one async test body into `<name>::sqlite` and `<name>::postgres`,
/// each with its own fresh store bound to `$store`.
#[macro_export]
macro_rules! backend_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite().await;
                let $store = db.store.clone();
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDb::postgres().await;
                let $store = db.store.clone();
                $body
            }
        }
    };
}
