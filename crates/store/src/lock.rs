//! Row locks, for every lockable table in one place (core notes §5.4).
//!
//! A lock is two columns of the row, `<prefix>_acquired_by` (the owner: a
//! supervisor's instance ID or an API request ID) and `<prefix>_acquired_at`
//! (milliseconds; `0` means unlocked). Every acquisition is a try-lock.
//!
//! Guarantees, which fix two flaws of the original:
//! - locking several rows is all or nothing: if any of them is missing or
//!   held, none is locked (the original kept a partial lock);
//! - unlocking succeeds only when every row was released: by its owner, or
//!   with `force` by whoever held it (a row that was not locked does not
//!   count as released).
//!
//! The per-table methods (`cluster_lock`, `installation_backup_unlock`, …)
//! are thin wrappers over [`SqlStore::lock_rows`] and
//! [`SqlStore::unlock_rows`], so a change of what a lock is (e.g. an expiry)
//! is made here once.

use crate::SqlStore;
use crate::db::Query;
use crate::error::Result;
use cloud_model::now_millis;

/// A lock that can be taken: a table and, for clusters, which of its two
/// locks. Closed, so a table or column name never comes from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedTable {
    /// The cluster's row lock.
    Cluster,
    /// The cluster's separate scheduling lock, held while installations are
    /// placed on it.
    ClusterScheduling,
    Installation,
    ClusterInstallation,
    Group,
    InstallationBackup,
    InstallationDbRestoration,
    InstallationDbMigration,
    MultitenantDatabase,
    LogicalDatabase,
    DatabaseSchema,
    Subscription,
}

impl LockedTable {
    /// Every lock, for tests that check each one's SQL.
    pub const ALL: [LockedTable; 12] = [
        LockedTable::Cluster,
        LockedTable::ClusterScheduling,
        LockedTable::Installation,
        LockedTable::ClusterInstallation,
        LockedTable::Group,
        LockedTable::InstallationBackup,
        LockedTable::InstallationDbRestoration,
        LockedTable::InstallationDbMigration,
        LockedTable::MultitenantDatabase,
        LockedTable::LogicalDatabase,
        LockedTable::DatabaseSchema,
        LockedTable::Subscription,
    ];

    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            LockedTable::Cluster | LockedTable::ClusterScheduling => "cluster",
            LockedTable::Installation => "installation",
            LockedTable::ClusterInstallation => "cluster_installation",
            LockedTable::Group => "groups",
            LockedTable::InstallationBackup => "installation_backup",
            LockedTable::InstallationDbRestoration => "installation_db_restoration_operation",
            LockedTable::InstallationDbMigration => "installation_db_migration_operation",
            LockedTable::MultitenantDatabase => "multitenant_database",
            LockedTable::LogicalDatabase => "logical_database",
            LockedTable::DatabaseSchema => "database_schema",
            LockedTable::Subscription => "subscription",
        }
    }

    /// The (owner, time) columns of the lock.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            LockedTable::ClusterScheduling => {
                ("scheduling_lock_acquired_by", "scheduling_lock_acquired_at")
            }
            _ => ("lock_acquired_by", "lock_acquired_at"),
        }
    }
}

/// The IDs sorted and without repeats, so that a repeated ID does not make
/// the row count differ from the number of rows asked for.
fn distinct<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl SqlStore {
    /// Locks every row of `ids` for `owner`, or none: `false` when any of
    /// them is missing or already locked (by anyone, `owner` included).
    pub async fn lock_rows(&self, lock: LockedTable, ids: &[&str], owner: &str) -> Result<bool> {
        let ids = distinct(ids);
        let (by, at) = lock.columns();
        let mut q = Query::new(format!("UPDATE {} SET {by} = ", lock.table()));
        q.bind(owner)
            .sql(&format!(", {at} = "))
            .bind(now_millis())
            .sql(&format!(" WHERE {at} = 0 AND id IN "))
            .bind_list(ids.iter().copied());
        let all = |n: u64| usize::try_from(n).ok() == Some(ids.len());
        if ids.len() <= 1 {
            // One statement on one row is all or nothing by itself.
            return Ok(all(q.execute(self.conn()).await?));
        }
        let mut tx = self.begin().await?;
        if !all(q.execute(&mut tx).await?) {
            // Dropping the transaction rolls back the rows that did lock.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Unlocks the rows of `ids` held by `owner` (held by anyone with
    /// `force`); `true` when every one of them was locked and is now free.
    pub async fn unlock_rows(
        &self,
        lock: LockedTable,
        ids: &[&str],
        owner: &str,
        force: bool,
    ) -> Result<bool> {
        let ids = distinct(ids);
        let (by, at) = lock.columns();
        let mut q = Query::new(format!(
            "UPDATE {} SET {by} = NULL, {at} = 0 WHERE {at} != 0 AND id IN ",
            lock.table()
        ));
        q.bind_list(ids.iter().copied());
        if !force {
            q.sql(&format!(" AND {by} = ")).bind(owner);
        }
        let n = q.execute(self.conn()).await?;
        Ok(usize::try_from(n).ok() == Some(ids.len()))
    }

    /// Whether the table has a row `id`, deleted or not (to tell "missing"
    /// from "held" when a lock is refused).
    pub async fn lock_row_exists(&self, lock: LockedTable, id: &str) -> Result<bool> {
        let n = Query::new(format!("SELECT COUNT(*) FROM {} WHERE id = ", lock.table()))
            .bind(id)
            .fetch_i64(self.conn())
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;

    async fn insert_rows(store: &SqlStore, ids: &[&str]) {
        for id in ids {
            Query::new(
                "INSERT INTO logical_database (id, multitenant_database_id, name, create_at) \
                 VALUES (",
            )
            .bind(*id)
            .sql(", 'mt', ")
            .bind(format!("cloud_{id}"))
            .sql(", 1)")
            .execute(store.conn())
            .await
            .unwrap();
        }
    }

    async fn holder(store: &SqlStore, id: &str) -> (Option<String>, i64) {
        let row: Option<(Option<String>, i64)> = Query::new(
            "SELECT lock_acquired_by, lock_acquired_at FROM logical_database WHERE id = ",
        )
        .bind(id)
        .fetch_optional(store.conn())
        .await
        .unwrap();
        row.unwrap()
    }

    const T: LockedTable = LockedTable::LogicalDatabase;

    backend_test!(several_rows_lock_all_or_nothing, |store| {
        insert_rows(&store, &["a", "b", "c"]).await;
        assert!(store.lock_rows(T, &["a", "b", "a"], "me").await.unwrap());
        let (by, at) = holder(&store, "b").await;
        assert_eq!(by.as_deref(), Some("me"));
        assert!(at > 0);

        // `b` is held, so `c` stays free too; so does a list with a missing row.
        assert!(!store.lock_rows(T, &["b", "c"], "other").await.unwrap());
        assert!(
            !store
                .lock_rows(T, &["c", "missing"], "other")
                .await
                .unwrap()
        );
        assert_eq!(holder(&store, "c").await, (None, 0));
        // Held means held, also for its owner.
        assert!(!store.lock_rows(T, &["a"], "me").await.unwrap());
        assert!(store.lock_rows(T, &["c"], "other").await.unwrap());
    });

    backend_test!(unlock_needs_the_owner_or_force, |store| {
        insert_rows(&store, &["a", "b", "c"]).await;
        assert!(store.lock_rows(T, &["a", "b"], "me").await.unwrap());
        assert!(!store.unlock_rows(T, &["a"], "other", false).await.unwrap());
        assert_eq!(holder(&store, "a").await.0.as_deref(), Some("me"));
        // Only some of the rows released (`c` was not locked) is not success.
        assert!(
            !store
                .unlock_rows(T, &["a", "c"], "me", false)
                .await
                .unwrap()
        );
        assert_eq!(holder(&store, "a").await, (None, 0));
        assert!(store.unlock_rows(T, &["b"], "other", true).await.unwrap());
        assert_eq!(holder(&store, "b").await, (None, 0));
        // Nothing to release, forced or not.
        assert!(!store.unlock_rows(T, &["b"], "other", true).await.unwrap());
        assert!(
            !store
                .unlock_rows(T, &["missing"], "me", false)
                .await
                .unwrap()
        );
    });

    backend_test!(every_lock_names_real_columns, |store| {
        for lock in LockedTable::ALL {
            assert!(!store.lock_rows(lock, &["missing"], "me").await.unwrap());
            assert!(
                !store
                    .unlock_rows(lock, &["missing"], "me", true)
                    .await
                    .unwrap()
            );
            assert!(!store.lock_row_exists(lock, "missing").await.unwrap());
        }
        insert_rows(&store, &["a"]).await;
        assert!(store.lock_row_exists(T, "a").await.unwrap());
    });
}
