//! Supervisor progress columns (`last_error`, `last_error_class`, `step`,
//! `retry_count`, `next_retry_at`) of the tables the reconcile engine drives,
//! and the work-discovery query over them.
//!
//! Work discovery returns only `(id, state, create_at)`: the supervisor locks
//! a row and re-reads it through the entity's own `*_get` before acting, so
//! the list may be stale and need not decode whole rows. It does not filter
//! on the lock columns either: whether a lock is free (or, with leases,
//! expired) is for the try-lock to say, so this query stays right whatever a
//! lock becomes. Nor does it filter on `delete_at`, as in the original: a
//! soft-deleted row whose final state write was lost must still be finished.
//!
//! The progress write is separate from the state change (which has its own
//! transaction with its event); a crash between the two leaves the previous
//! step's progress, which the next activation overwrites.

use crate::SqlStore;
use crate::db::Query;
use crate::error::Result;
use cloud_model::progress::{ErrorClass, Progress};

/// The progress columns, for `SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM …`
/// (a single table, so the names need no qualifier).
pub const PROGRESS_COLUMNS: &str = "last_error, last_error_class, step, retry_count, next_retry_at";

/// The progress columns of a row (`#[sqlx(flatten)]` into an entity's row).
#[derive(Debug, Default, sqlx::FromRow)]
pub struct ProgressRow {
    last_error: String,
    last_error_class: Option<String>,
    step: String,
    retry_count: i64,
    next_retry_at: i64,
}

impl ProgressRow {
    /// The model value; an unknown stored class reads as none rather than
    /// failing the whole row (the columns are informational).
    pub fn into_model(self) -> Progress {
        Progress {
            last_error: self.last_error,
            last_error_class: self
                .last_error_class
                .and_then(|c| c.parse::<ErrorClass>().ok()),
            step: self.step,
            retry_count: self.retry_count,
            next_retry_at: self.next_retry_at,
        }
    }
}

/// A table with progress columns. Closed, so a table name never comes from
/// input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgressTable {
    Cluster,
    Installation,
    ClusterInstallation,
}

impl ProgressTable {
    pub const ALL: [ProgressTable; 3] = [
        ProgressTable::Cluster,
        ProgressTable::Installation,
        ProgressTable::ClusterInstallation,
    ];

    pub fn table(self) -> &'static str {
        match self {
            ProgressTable::Cluster => "cluster",
            ProgressTable::Installation => "installation",
            ProgressTable::ClusterInstallation => "cluster_installation",
        }
    }
}

/// A row that may have work: enough to order and lock it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueRow {
    pub id: String,
    pub state: String,
    pub create_at: i64,
}

impl SqlStore {
    /// Rows in one of `states` that are due at `now` (`next_retry_at <= now`),
    /// oldest first, at most `limit`.
    pub async fn progress_list_due(
        &self,
        table: ProgressTable,
        states: &[&str],
        now: i64,
        limit: i64,
    ) -> Result<Vec<DueRow>> {
        Query::new(format!(
            "SELECT id, state, create_at FROM {} WHERE state IN ",
            table.table()
        ))
        .bind_list(states.iter().copied())
        .sql(" AND next_retry_at <= ")
        .bind(now)
        .sql(" ORDER BY create_at ASC, id ASC LIMIT ")
        .bind(limit)
        .fetch_all(self.conn())
        .await
    }

    /// The earliest `next_retry_at` after `now` among rows in `states` (when
    /// the supervisor should look again without being woken).
    pub async fn progress_next_due(
        &self,
        table: ProgressTable,
        states: &[&str],
        now: i64,
    ) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> = Query::new(format!(
            "SELECT MIN(next_retry_at) FROM {} WHERE state IN ",
            table.table()
        ))
        .bind_list(states.iter().copied())
        .sql(" AND next_retry_at > ")
        .bind(now)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.and_then(|(n,)| n))
    }

    /// Writes the progress of row `id`; `false` when there is no such row.
    pub async fn progress_record(
        &self,
        table: ProgressTable,
        id: &str,
        progress: &Progress,
    ) -> Result<bool> {
        let n = Query::new(format!("UPDATE {} SET last_error = ", table.table()))
            .bind(progress.last_error.as_str())
            .sql(", last_error_class = ")
            .bind(progress.last_error_class.map(ErrorClass::as_str))
            .sql(", step = ")
            .bind(progress.step.as_str())
            .sql(", retry_count = ")
            .bind(progress.retry_count)
            .sql(", next_retry_at = ")
            .bind(progress.next_retry_at)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(n > 0)
    }

    /// The progress of row `id`.
    pub async fn progress_get(&self, table: ProgressTable, id: &str) -> Result<Option<Progress>> {
        let row: Option<ProgressRow> = Query::new(format!(
            "SELECT {PROGRESS_COLUMNS} FROM {} WHERE id = ",
            table.table()
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(ProgressRow::into_model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;

    async fn insert_cluster(store: &SqlStore, id: &str, state: &str, create_at: i64) {
        Query::new(
            "INSERT INTO cluster (id, state, provider, provisioner, pgbouncer_config, \
             allow_installations, create_at) VALUES (",
        )
        .bind(id)
        .sql(", ")
        .bind(state)
        .sql(", 'aws', 'kops', 'null', TRUE, ")
        .bind(create_at)
        .sql(")")
        .execute(store.conn())
        .await
        .unwrap();
    }

    backend_test!(progress_round_trips_on_every_table, |store| {
        for table in ProgressTable::ALL {
            // Every table has the columns, with empty defaults.
            assert_eq!(store.progress_get(table, "missing").await.unwrap(), None);
            assert!(
                !store
                    .progress_record(table, "missing", &Progress::default())
                    .await
                    .unwrap()
            );
        }
        insert_cluster(&store, "c1", "creation-requested", 1).await;
        let t = ProgressTable::Cluster;
        assert_eq!(
            store.progress_get(t, "c1").await.unwrap(),
            Some(Progress::default())
        );
        let p = Progress {
            last_error: "throttled".into(),
            last_error_class: Some(ErrorClass::Transient),
            step: "create-cluster".into(),
            retry_count: 2,
            next_retry_at: 500,
        };
        assert!(store.progress_record(t, "c1", &p).await.unwrap());
        assert_eq!(store.progress_get(t, "c1").await.unwrap(), Some(p));
    });

    backend_test!(due_rows_follow_state_and_retry_time, |store| {
        let t = ProgressTable::Cluster;
        insert_cluster(&store, "b", "creation-requested", 2).await;
        insert_cluster(&store, "a", "creation-requested", 1).await;
        insert_cluster(&store, "s", "stable", 0).await;
        insert_cluster(&store, "later", "deletion-requested", 3).await;
        let later = Progress {
            next_retry_at: 1_000,
            ..Progress::default()
        };
        store.progress_record(t, "later", &later).await.unwrap();

        let pending = ["creation-requested", "deletion-requested"];
        let ids = |rows: Vec<DueRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let due = store.progress_list_due(t, &pending, 999, 10).await.unwrap();
        assert_eq!(ids(due), ["a", "b"]);
        let due = store
            .progress_list_due(t, &pending, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(ids(due), ["a", "b", "later"]);
        let due = store
            .progress_list_due(t, &pending, 1_000, 1)
            .await
            .unwrap();
        assert_eq!(ids(due), ["a"]);
        assert_eq!(
            store.progress_next_due(t, &pending, 999).await.unwrap(),
            Some(1_000)
        );
        assert_eq!(
            store.progress_next_due(t, &pending, 1_000).await.unwrap(),
            None
        );
        let with_stable = ["stable"];
        let due = store
            .progress_list_due(t, &with_stable, 0, 10)
            .await
            .unwrap();
        assert_eq!(ids(due), ["s"]);
    });
}
