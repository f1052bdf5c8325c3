//! # cloud-store
//!
//! The provisioner's state, in SQL: embedded SQLite (the default: `cloud
//! server` with no flags keeps everything in `./cloud.db`) or PostgreSQL (for
//! several servers sharing the work). Both run the same SQL through
//! [`db::Query`]; only the migrations are kept per backend, in lock-step
//! numbering, under `migrations/{sqlite,postgres}`.
//!
//! ## What the store guarantees
//! - A brand-new database is created at the latest schema when opened; an
//!   existing one that is older than this binary is refused with a message
//!   naming `cloud schema migrate` (see [`migrate`]).
//! - A state change and its `StateChangeEvent` are written in one transaction
//!   ([`event`]): the event cannot be lost, unlike in the original.
//! - Soft delete through `delete_at`; unique indexes include it so names can be
//!   reused after a deletion.
//!
//! Each table has its own file with an `impl SqlStore` block whose methods are
//! named `resource_verb` (`cluster_get`, `installation_update_state`, …).

pub mod annotation;
pub mod backup;
pub mod cluster;
pub mod cluster_installation;
pub mod cluster_installation_migration;
pub mod db;
pub mod db_migration;
pub mod db_restoration;
pub mod delivery;
pub mod delivery_lease;
pub mod error;
pub mod event;
pub mod group;
pub mod installation;
pub mod installation_dns;
pub mod lock;
pub mod migrate;
pub mod multitenant_database;
pub mod notify;
#[cfg(test)]
mod paging_props;
pub mod progress;
pub mod subscription;
pub mod testing;
pub mod webhook;

pub use db::{Backend, Conn, Query, Tx};
pub use error::{Result, StoreError};

use db::Pool;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Options for [`SqlStore::open_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Maximum pool size (PostgreSQL; SQLite uses a small fixed pool).
    pub max_connections: u32,
    /// `Environment` written into every event's extra data.
    pub environment: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 20,
            environment: "dev".to_string(),
        }
    }
}

/// The store: cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: Pool,
    environment: Arc<str>,
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path (`sqlite://cloud.db`, `sqlite:cloud.db`, or a bare path).
    Sqlite(String),
    /// A PostgreSQL URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl(url.to_string()));
            }
            return Ok(DatabaseUrl::Sqlite(path.to_string()));
        }
        if url.is_empty() || url.contains("://") {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        Ok(DatabaseUrl::Sqlite(url.to_string()))
    }
}

impl SqlStore {
    /// Opens the database at `url`, creating a brand-new one at the latest
    /// schema, and refusing an existing one whose schema is not current.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Self> {
        let store = Self::connect(url, &options).await?;
        migrate::ensure_current(&store).await?;
        Ok(store)
    }

    /// Connects without looking at the schema (used by `schema migrate`).
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let pool = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10));
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(4)
                        .connect_with(opts)
                        .await?,
                )
            }
            DatabaseUrl::Postgres(url) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&url)
                    .await?,
            ),
        };
        Ok(Self {
            pool,
            environment: Arc::from(options.environment.as_str()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// The pool, as a place to run a [`Query`].
    pub fn conn(&self) -> Conn<'_> {
        Conn::Pool(&self.pool)
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        self.pool.begin().await
    }

    /// `Environment` recorded in event extra data.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Checks that the database answers (health route).
    pub async fn ping(&self) -> Result<()> {
        Query::new("SELECT CAST(1 AS BIGINT)")
            .fetch_i64(self.conn())
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_recognised() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://cloud.db").unwrap(),
            DatabaseUrl::Sqlite("cloud.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("./data/cloud.db").unwrap(),
            DatabaseUrl::Sqlite("./data/cloud.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        for bad in ["mysql://x", "", "sqlite://", "http://x"] {
            assert!(
                matches!(DatabaseUrl::parse(bad), Err(StoreError::UnsupportedUrl(_))),
                "{bad}"
            );
        }
    }
}
