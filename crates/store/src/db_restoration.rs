//! Installation database restorations
//! (`installation_db_restoration_operation` table).
//!
//! [`SqlStore::installation_db_restoration_trigger`] is the original's
//! `TriggerInstallationRestoration`: the operation row and the installation's
//! move to `db-restoration-in-progress` are one transaction, with both
//! state-change events. State updates are compare-and-set and record their
//! event (see [`crate::backup`]).

use crate::SqlStore;
use crate::backup::{
    OperationFilter, OperationRow, found, operation_get, operation_list,
    operation_list_pending_work, operation_update_state, parse_stored, soft_delete,
    update_installation_state_in,
};
use crate::db::{Query, Tx};
use crate::error::Result;
use crate::event::record_state_change;
use crate::lock::LockedTable;
use cloud_model::backup::InstallationBackup;
use cloud_model::db_restoration::{
    InstallationDBRestorationFilter, InstallationDBRestorationOperation, RestorationState,
};
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::installation::{Installation, InstallationState};
use cloud_model::{NON_APPLICABLE_STATE, new_id, now_millis};

const COLUMNS: &str = "id, installation_id, backup_id, state, target_installation_state, \
    cluster_installation_id, request_at, complete_at, delete_at, lock_acquired_by, lock_acquired_at";

const TABLE: &str = "installation_db_restoration_operation";

#[derive(sqlx::FromRow)]
struct RestorationRow {
    id: String,
    installation_id: String,
    backup_id: String,
    state: String,
    target_installation_state: String,
    cluster_installation_id: String,
    request_at: i64,
    complete_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl OperationRow for RestorationRow {
    type Model = InstallationDBRestorationOperation;
    const TABLE: &'static str = TABLE;
    const COLUMNS: &'static str = COLUMNS;

    fn into_model(self) -> Result<InstallationDBRestorationOperation> {
        Ok(InstallationDBRestorationOperation {
            state: parse_stored("restoration state", &self.state)?,
            target_installation_state: parse_stored(
                "installation state",
                &self.target_installation_state,
            )?,
            id: self.id,
            installation_id: self.installation_id,
            backup_id: self.backup_id,
            request_at: self.request_at,
            cluster_installation_id: self.cluster_installation_id,
            complete_at: self.complete_at,
            delete_at: self.delete_at,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
        })
    }
}

/// Inserts a `requested` restoration of `installation` from `backup` that
/// returns the installation to its current state, and moves the
/// installation to `db-restoration-in-progress`, inside `tx`. Shared with
/// the DB-migration supervisor step that triggers a restoration.
pub(crate) async fn trigger_restoration_in(
    tx: &mut Tx,
    environment: &str,
    installation: &Installation,
    backup: &InstallationBackup,
) -> Result<InstallationDBRestorationOperation> {
    let operation = InstallationDBRestorationOperation {
        id: new_id(),
        installation_id: installation.id.clone(),
        backup_id: backup.id.clone(),
        request_at: now_millis(),
        state: RestorationState::Requested,
        target_installation_state: installation.state,
        ..Default::default()
    };
    Query::new(format!("INSERT INTO {TABLE} ({COLUMNS}) VALUES ("))
        .bind(&operation.id)
        .sql(", ")
        .bind(&operation.installation_id)
        .sql(", ")
        .bind(&operation.backup_id)
        .sql(", ")
        .bind(operation.state.as_str())
        .sql(", ")
        .bind(operation.target_installation_state.as_str())
        .sql(", '', ")
        .bind(operation.request_at)
        .sql(", 0, 0, NULL, 0)")
        .execute(&mut *tx)
        .await?;
    let change = NewStateChange::new(
        ResourceType::InstallationDbRestorationOperation,
        &operation.id,
        NON_APPLICABLE_STATE,
        operation.state.as_str(),
    )
    .with("Installation", &operation.installation_id)
    .with("Backup", &operation.backup_id);
    record_state_change(tx, environment, &change).await?;
    update_installation_state_in(
        tx,
        environment,
        installation,
        InstallationState::DbRestorationInProgress,
    )
    .await?;
    Ok(operation)
}

impl SqlStore {
    /// Requests a restoration of `installation` (as read by the caller,
    /// normally under its row lock) from `backup`. Fails with
    /// [`crate::StoreError::InvalidTransition`] and changes nothing when the
    /// installation's stored state is no longer `installation.state`.
    pub async fn installation_db_restoration_trigger(
        &self,
        installation: &Installation,
        backup: &InstallationBackup,
    ) -> Result<InstallationDBRestorationOperation> {
        let mut tx = self.begin().await?;
        let operation =
            trigger_restoration_in(&mut tx, self.environment(), installation, backup).await?;
        tx.commit().await?;
        Ok(operation)
    }

    /// The restoration `id`, deleted or not.
    pub async fn installation_db_restoration_get(
        &self,
        id: &str,
    ) -> Result<Option<InstallationDBRestorationOperation>> {
        operation_get::<RestorationRow>(self, id).await
    }

    /// Restorations, most recently requested first.
    pub async fn installation_db_restoration_list(
        &self,
        filter: &InstallationDBRestorationFilter,
    ) -> Result<Vec<InstallationDBRestorationOperation>> {
        let filter = OperationFilter {
            paging: &filter.paging,
            ids: &filter.ids,
            installation_id: &filter.installation_id,
            cluster_installation_id: &filter.cluster_installation_id,
            states: filter.states.iter().map(|s| s.as_str()).collect(),
        };
        operation_list::<RestorationRow>(self, filter).await
    }

    /// Unlocked restorations the supervisor has work on, oldest first.
    pub async fn installation_db_restoration_list_pending_work(
        &self,
    ) -> Result<Vec<InstallationDBRestorationOperation>> {
        let states = RestorationState::PENDING_WORK.iter().map(|s| s.as_str());
        operation_list_pending_work::<RestorationRow>(self, states).await
    }

    /// Moves `operation` from the state it holds to `new_state` with its
    /// event (compare-and-set; a no-op when the states are equal).
    pub async fn installation_db_restoration_update_state(
        &self,
        operation: &InstallationDBRestorationOperation,
        new_state: RestorationState,
    ) -> Result<()> {
        let change = NewStateChange::new(
            ResourceType::InstallationDbRestorationOperation,
            &operation.id,
            operation.state.as_str(),
            new_state.as_str(),
        )
        .with("Installation", &operation.installation_id);
        operation_update_state(self, TABLE, "installation db restoration", &change).await
    }

    /// Writes the supervisor's fields: target installation state, claimed
    /// cluster installation and completion time.
    pub async fn installation_db_restoration_update(
        &self,
        operation: &InstallationDBRestorationOperation,
    ) -> Result<()> {
        let n = Query::new(format!("UPDATE {TABLE} SET target_installation_state = "))
            .bind(operation.target_installation_state.as_str())
            .sql(", cluster_installation_id = ")
            .bind(&operation.cluster_installation_id)
            .sql(", complete_at = ")
            .bind(operation.complete_at)
            .sql(" WHERE id = ")
            .bind(&operation.id)
            .execute(self.conn())
            .await?;
        found(n, "installation db restoration")
    }

    /// Marks the restoration deleted; `false` when there was no live row.
    pub async fn installation_db_restoration_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, TABLE, id).await
    }

    /// Takes the row lock for `owner`; `false` when it is held.
    pub async fn installation_db_restoration_lock(&self, id: &str, owner: &str) -> Result<bool> {
        self.lock_rows(LockedTable::InstallationDbRestoration, &[id], owner)
            .await
    }

    /// Releases the row lock held by `owner` (any owner with `force`).
    pub async fn installation_db_restoration_unlock(
        &self,
        id: &str,
        owner: &str,
        force: bool,
    ) -> Result<bool> {
        self.unlock_rows(LockedTable::InstallationDbRestoration, &[id], owner, force)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use crate::backend_test;
    use crate::backup::tests::{insert_installation, installation_state};
    use cloud_model::backup::BackupState;
    use cloud_model::event::StateChangeEventFilter;
    use cloud_model::filter::Paging;

    const INST: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";

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

    backend_test!(
        triggering_moves_the_installation_in_one_transaction,
        |store| {
            let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
            let backup = succeeded_backup(&store, &inst).await;
            let op = store
                .installation_db_restoration_trigger(&inst, &backup)
                .await
                .unwrap();
            assert_eq!(op.state, RestorationState::Requested);
            assert_eq!(op.target_installation_state, InstallationState::Hibernating);
            assert_eq!(
                store
                    .installation_db_restoration_get(&op.id)
                    .await
                    .unwrap()
                    .unwrap(),
                op
            );
            assert_eq!(
                installation_state(&store, INST).await,
                "db-restoration-in-progress"
            );
            assert!(store.installation_backup_is_used(&backup.id).await.unwrap());

            let installation_events = store
                .event_list(&StateChangeEventFilter {
                    resource_type: Some(ResourceType::Installation),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(installation_events.len(), 1);
            assert_eq!(
                installation_events[0].state_change.new_state,
                "db-restoration-in-progress"
            );
            let op_events = store
                .event_list(&StateChangeEventFilter {
                    resource_id: Some(op.id.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(op_events.len(), 1);
            assert_eq!(op_events[0].event.extra_data.fields["Backup"], backup.id);

            // The installation moved on: a second trigger from the stale read fails
            // and leaves no operation behind.
            let err = store
                .installation_db_restoration_trigger(&inst, &backup)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
            let all = store
                .installation_db_restoration_list(&InstallationDBRestorationFilter::default())
                .await
                .unwrap();
            assert_eq!(all.len(), 1);
        }
    );

    backend_test!(restorations_are_listed_filtered_and_updated, |store| {
        let a = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let b = insert_installation(
            &store,
            "j1b2c3d4e5f6g7h8i9j0k1l2m3",
            InstallationState::DbMigrationInProgress,
        )
        .await;
        let first = store
            .installation_db_restoration_trigger(&a, &succeeded_backup(&store, &a).await)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let mut second = store
            .installation_db_restoration_trigger(&b, &succeeded_backup(&store, &b).await)
            .await
            .unwrap();
        assert_eq!(
            second.target_installation_state,
            InstallationState::DbMigrationInProgress
        );

        second.cluster_installation_id = "ci-9".into();
        second.complete_at = 77;
        store
            .installation_db_restoration_update(&second)
            .await
            .unwrap();
        store
            .installation_db_restoration_update_state(&second, RestorationState::InProgress)
            .await
            .unwrap();
        second.state = RestorationState::InProgress;
        assert_eq!(
            store
                .installation_db_restoration_get(&second.id)
                .await
                .unwrap()
                .unwrap(),
            second
        );

        let list = |f: InstallationDBRestorationFilter| {
            let store = store.clone();
            async move { store.installation_db_restoration_list(&f).await.unwrap() }
        };
        let all = list(Default::default()).await;
        assert_eq!(
            all.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&second.id, &first.id]
        );
        assert_eq!(
            list(InstallationDBRestorationFilter {
                installation_id: Some(INST.into()),
                ..Default::default()
            })
            .await[0]
                .id,
            first.id
        );
        assert_eq!(
            list(InstallationDBRestorationFilter {
                cluster_installation_id: Some("ci-9".into()),
                ..Default::default()
            })
            .await[0]
                .id,
            second.id
        );
        assert_eq!(
            list(InstallationDBRestorationFilter {
                states: vec![RestorationState::Requested],
                ..Default::default()
            })
            .await[0]
                .id,
            first.id
        );
        assert_eq!(
            list(InstallationDBRestorationFilter {
                ids: vec![second.id.clone()],
                ..Default::default()
            })
            .await
            .len(),
            1
        );

        assert!(
            store
                .installation_db_restoration_lock(&first.id, "me")
                .await
                .unwrap()
        );
        let pending = store
            .installation_db_restoration_list_pending_work()
            .await
            .unwrap();
        assert_eq!(
            pending.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&second.id]
        );
        assert!(
            store
                .installation_db_restoration_unlock(&first.id, "me", false)
                .await
                .unwrap()
        );

        assert!(
            store
                .installation_db_restoration_delete(&first.id)
                .await
                .unwrap()
        );
        assert_eq!(list(Default::default()).await.len(), 1);
        assert_eq!(
            list(InstallationDBRestorationFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .len(),
            2
        );
    });
}
