//! Cluster installations (`cluster_installation` table): one installation's
//! namespace on one cluster.
//!
//! Guarantees: a state change and its `cluster_installation` state-change
//! event (extra data `ClusterID`) are written in one transaction; deletes
//! are soft; `is_active` only changes through the migration code.

use crate::SqlStore;
use crate::db::{Conn, Query, Tx};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::lock::LockedTable;
use crate::progress::{PROGRESS_COLUMNS, ProgressRow};
use cloud_model::cluster_installation::{
    ClusterInstallation, ClusterInstallationFilter, ClusterInstallationState,
};
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::{new_id, now_millis};

const CI_COLUMNS: &str = "id, cluster_id, installation_id, namespace, state, is_active, create_at, \
     delete_at, api_security_lock, lock_acquired_by, lock_acquired_at";

#[derive(sqlx::FromRow)]
struct CiRow {
    id: String,
    cluster_id: String,
    installation_id: String,
    namespace: String,
    state: String,
    is_active: bool,
    create_at: i64,
    delete_at: i64,
    api_security_lock: bool,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
    #[sqlx(flatten)]
    progress: ProgressRow,
}

impl CiRow {
    fn into_model(self) -> Result<ClusterInstallation> {
        let state = self
            .state
            .parse::<ClusterInstallationState>()
            .map_err(|e| {
                StoreError::Invalid(format!("stored cluster installation {}: {e}", self.id))
            })?;
        Ok(ClusterInstallation {
            id: self.id,
            cluster_id: self.cluster_id,
            installation_id: self.installation_id,
            namespace: self.namespace,
            state,
            create_at: self.create_at,
            delete_at: self.delete_at,
            api_security_lock: self.api_security_lock,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
            is_active: self.is_active,
            progress: self.progress.into_model(),
        })
    }
}

/// Inserts `ci` inside `tx` (for callers that create cluster installations
/// together with other rows), giving it an ID and creation time; returns
/// the stored row. No event is written: the original emits none on creation.
pub async fn cluster_installation_insert(
    tx: &mut Tx,
    ci: &ClusterInstallation,
) -> Result<ClusterInstallation> {
    let mut ci = ci.clone();
    ci.id = new_id();
    ci.create_at = now_millis();
    ci.delete_at = 0;
    ci.lock_acquired_by = None;
    ci.lock_acquired_at = 0;
    Query::new(format!(
        "INSERT INTO cluster_installation ({CI_COLUMNS}) VALUES ("
    ))
    .bind(&ci.id)
    .sql(", ")
    .bind(&ci.cluster_id)
    .sql(", ")
    .bind(&ci.installation_id)
    .sql(", ")
    .bind(&ci.namespace)
    .sql(", ")
    .bind(ci.state.as_str())
    .sql(", ")
    .bind(ci.is_active)
    .sql(", ")
    .bind(ci.create_at)
    .sql(", 0, ")
    .bind(ci.api_security_lock)
    .sql(", NULL, 0)")
    .execute(&mut *tx)
    .await?;
    Ok(ci)
}

async fn ci_get_on(conn: Conn<'_>, id: &str) -> Result<Option<ClusterInstallation>> {
    let row: Option<CiRow> = Query::new(format!(
        "SELECT {CI_COLUMNS}, {PROGRESS_COLUMNS} FROM cluster_installation WHERE id = "
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(CiRow::into_model).transpose()
}

impl SqlStore {
    /// Creates a cluster installation (ID and creation time are assigned).
    pub async fn cluster_installation_create(
        &self,
        ci: &ClusterInstallation,
    ) -> Result<ClusterInstallation> {
        let mut tx = self.begin().await?;
        let stored = cluster_installation_insert(&mut tx, ci).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The cluster installation with this ID, deleted or not.
    pub async fn cluster_installation_get(&self, id: &str) -> Result<Option<ClusterInstallation>> {
        ci_get_on(self.conn(), id).await
    }

    /// Cluster installations oldest first, narrowed by `filter`.
    pub async fn cluster_installation_list(
        &self,
        filter: &ClusterInstallationFilter,
    ) -> Result<Vec<ClusterInstallation>> {
        let mut q = Query::new(format!(
            "SELECT {CI_COLUMNS}, {PROGRESS_COLUMNS} FROM cluster_installation WHERE 1 = 1"
        ));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if !filter.ids.is_empty() {
            q.sql(" AND id IN ").bind_list(filter.ids.iter());
        }
        if let Some(cluster_id) = &filter.cluster_id {
            q.sql(" AND cluster_id = ").bind(cluster_id);
        }
        if let Some(installation_id) = &filter.installation_id {
            q.sql(" AND installation_id = ").bind(installation_id);
        }
        if let Some(active) = filter.is_active {
            q.sql(" AND is_active = ").bind(active);
        }
        q.sql(" ORDER BY create_at ASC, id ASC")
            .paging(&filter.paging);
        let rows: Vec<CiRow> = q.fetch_all(self.conn()).await?;
        rows.into_iter().map(CiRow::into_model).collect()
    }

    /// Moves the cluster installation to `new_state` and records the change
    /// (resource type `cluster_installation`, extra data `ClusterID`) in the
    /// same transaction; an unchanged state writes nothing. Returns the
    /// stored row.
    pub async fn cluster_installation_update_state(
        &self,
        id: &str,
        new_state: ClusterInstallationState,
    ) -> Result<ClusterInstallation> {
        let mut tx = self.begin().await?;
        let mut ci = ci_get_on(Conn::Tx(&mut tx), id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster installation {id}")))?;
        if ci.state == new_state {
            return Ok(ci);
        }
        Query::new("UPDATE cluster_installation SET state = ")
            .bind(new_state.as_str())
            .sql(" WHERE id = ")
            .bind(id)
            .execute(&mut tx)
            .await?;
        let change = NewStateChange::new(
            ResourceType::ClusterInstallation,
            id,
            ci.state.as_str(),
            new_state.as_str(),
        )
        .with("ClusterID", ci.cluster_id.clone());
        record_state_change(&mut tx, self.environment(), &change).await?;
        tx.commit().await?;
        ci.state = new_state;
        Ok(ci)
    }

    /// Sets the API security lock (idempotent).
    pub async fn cluster_installation_set_api_lock(&self, id: &str, locked: bool) -> Result<()> {
        let n = Query::new("UPDATE cluster_installation SET api_security_lock = ")
            .bind(locked)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("cluster installation {id}")));
        }
        Ok(())
    }

    /// Takes the row lock for `locker`; false if someone holds it.
    pub async fn cluster_installation_lock(&self, id: &str, locker: &str) -> Result<bool> {
        self.lock_rows(LockedTable::ClusterInstallation, &[id], locker)
            .await
    }

    /// Releases the row lock held by `locker` (any holder with `force`).
    pub async fn cluster_installation_unlock(
        &self,
        id: &str,
        locker: &str,
        force: bool,
    ) -> Result<bool> {
        self.unlock_rows(LockedTable::ClusterInstallation, &[id], locker, force)
            .await
    }

    /// Soft-deletes the cluster installation; deleting a deleted one is a no-op.
    pub async fn cluster_installation_delete(&self, id: &str) -> Result<()> {
        let n = Query::new("UPDATE cluster_installation SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE delete_at = 0 AND id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        if n == 0 && self.cluster_installation_get(id).await?.is_none() {
            return Err(StoreError::NotFound(format!("cluster installation {id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use ClusterInstallationState as S;
    use cloud_model::event::StateChangeEventFilter;
    use cloud_model::filter::Paging;

    async fn create(store: &SqlStore, cluster: &str, installation: &str) -> ClusterInstallation {
        store
            .cluster_installation_create(&ClusterInstallation::new(
                cluster,
                installation,
                S::CreationRequested,
            ))
            .await
            .unwrap()
    }

    backend_test!(create_get_and_list, |store| {
        // Lists are ordered by CreateAt (milliseconds): space the creations
        // so the expected order is the creation order.
        let tick = || tokio::time::sleep(std::time::Duration::from_millis(3));
        let a = create(&store, "c1", "i1").await;
        assert_eq!(a.id.len(), 26);
        assert!(a.create_at > 0);
        assert_eq!(a.namespace, "i1");
        tick().await;
        let mut inactive = ClusterInstallation::new("c2", "i1", S::CreationRequested);
        inactive.is_active = false;
        let b = store.cluster_installation_create(&inactive).await.unwrap();
        tick().await;
        let c = create(&store, "c2", "i2").await;
        tick().await;
        let d = create(&store, "c1", "i3").await;
        store.cluster_installation_delete(&d.id).await.unwrap();

        assert_eq!(
            store
                .cluster_installation_get(&a.id)
                .await
                .unwrap()
                .unwrap(),
            a
        );
        assert!(
            store
                .cluster_installation_get(&d.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        assert!(
            store
                .cluster_installation_get("nope")
                .await
                .unwrap()
                .is_none()
        );

        let ids =
            |list: Vec<ClusterInstallation>| list.into_iter().map(|ci| ci.id).collect::<Vec<_>>();
        let all = store
            .cluster_installation_list(&ClusterInstallationFilter::default())
            .await
            .unwrap();
        assert_eq!(ids(all), [a.id.clone(), b.id.clone(), c.id.clone()]);
        let with_deleted = store
            .cluster_installation_list(&ClusterInstallationFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(with_deleted.len(), 4);
        let on_c2 = store
            .cluster_installation_list(&ClusterInstallationFilter {
                cluster_id: Some("c2".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(on_c2), [b.id.clone(), c.id.clone()]);
        let of_i1_active = store
            .cluster_installation_list(&ClusterInstallationFilter {
                installation_id: Some("i1".into()),
                is_active: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(of_i1_active), vec![a.id.clone()]);
        let inactive_only = store
            .cluster_installation_list(&ClusterInstallationFilter {
                is_active: Some(false),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(inactive_only), vec![b.id.clone()]);
        let by_ids = store
            .cluster_installation_list(&ClusterInstallationFilter {
                ids: vec![c.id.clone(), a.id.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(by_ids), [a.id.clone(), c.id.clone()]);
        let page = store
            .cluster_installation_list(&ClusterInstallationFilter {
                paging: Paging {
                    page: 1,
                    per_page: 2,
                    include_deleted: false,
                },
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(page), vec![c.id.clone()]);
    });

    backend_test!(state_changes_write_an_event, |store| {
        let ci = create(&store, "c1", "i1").await;
        let updated = store
            .cluster_installation_update_state(&ci.id, S::Reconciling)
            .await
            .unwrap();
        assert_eq!(updated.state, S::Reconciling);
        // Unchanged: no second event.
        store
            .cluster_installation_update_state(&ci.id, S::Reconciling)
            .await
            .unwrap();
        store
            .cluster_installation_update_state(&ci.id, S::Stable)
            .await
            .unwrap();
        assert_eq!(
            store
                .cluster_installation_get(&ci.id)
                .await
                .unwrap()
                .unwrap()
                .state,
            S::Stable
        );

        let events = store
            .event_list(&StateChangeEventFilter {
                resource_id: Some(ci.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1].state_change.resource_type,
            ResourceType::ClusterInstallation
        );
        assert_eq!(events[1].state_change.old_state, "creation-requested");
        assert_eq!(events[1].state_change.new_state, "reconciling");
        assert_eq!(events[0].state_change.new_state, "stable");
        assert_eq!(events[0].event.extra_data.fields["ClusterID"], "c1");
        assert!(matches!(
            store
                .cluster_installation_update_state("nope", S::Stable)
                .await,
            Err(StoreError::NotFound(_))
        ));
    });

    backend_test!(locks_and_delete, |store| {
        let ci = create(&store, "c1", "i1").await;
        store
            .cluster_installation_set_api_lock(&ci.id, true)
            .await
            .unwrap();
        assert!(
            store
                .cluster_installation_get(&ci.id)
                .await
                .unwrap()
                .unwrap()
                .api_security_lock
        );
        store
            .cluster_installation_set_api_lock(&ci.id, false)
            .await
            .unwrap();
        assert!(
            !store
                .cluster_installation_get(&ci.id)
                .await
                .unwrap()
                .unwrap()
                .api_security_lock
        );
        assert!(matches!(
            store.cluster_installation_set_api_lock("nope", true).await,
            Err(StoreError::NotFound(_))
        ));

        assert!(store.cluster_installation_lock(&ci.id, "a").await.unwrap());
        assert!(!store.cluster_installation_lock(&ci.id, "b").await.unwrap());
        assert!(
            !store
                .cluster_installation_unlock(&ci.id, "b", false)
                .await
                .unwrap()
        );
        assert!(
            store
                .cluster_installation_unlock(&ci.id, "a", false)
                .await
                .unwrap()
        );

        store.cluster_installation_delete(&ci.id).await.unwrap();
        let deleted = store
            .cluster_installation_get(&ci.id)
            .await
            .unwrap()
            .unwrap();
        store.cluster_installation_delete(&ci.id).await.unwrap();
        assert_eq!(
            store
                .cluster_installation_get(&ci.id)
                .await
                .unwrap()
                .unwrap()
                .delete_at,
            deleted.delete_at
        );
        assert!(matches!(
            store.cluster_installation_delete("nope").await,
            Err(StoreError::NotFound(_))
        ));
    });
}
