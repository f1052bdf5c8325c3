//! Installation database migrations (`installation_db_migration_operation`
//! table).
//!
//! The API's three writes are single transactions, each with its events:
//! - trigger: the `requested` operation and the installation's move to
//!   `db-migration-in-progress` (the original's
//!   `TriggerInstallationDBMigration`);
//! - rollback: the operation to `rollback-requested` and the installation to
//!   `db-migration-rollback-in-progress` (the original records no
//!   installation event here; this store records every state change);
//! - commit: the operation to `committed` and the installation's removal
//!   from the source database's `MigratedInstallations` (the record half of
//!   the original's `TeardownMigrated`; dropping the old database itself is
//!   the tenant-database code's job and must run before).

use crate::SqlStore;
use crate::backup::{
    OperationFilter, OperationRow, found, operation_get, operation_list,
    operation_list_pending_work, operation_update_state, parse_stored, soft_delete,
    update_installation_state_in, update_state_in,
};
use crate::db::{Query, from_json_opt, json_opt};
use crate::error::Result;
use crate::event::record_state_change;
use crate::lock::LockedTable;
use crate::multitenant_database::remove_migrated_installation_in;
use cloud_model::db_migration::{
    InstallationDBMigrationFilter, InstallationDBMigrationOperation, MigrationState,
};
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::installation::{Installation, InstallationState};
use cloud_model::{NON_APPLICABLE_STATE, new_id, now_millis};

const COLUMNS: &str = "id, installation_id, state, source_database, destination_database, \
    source_multi_tenant, destination_multi_tenant, backup_id, \
    installation_db_restoration_operation_id, request_at, complete_at, delete_at, lock_acquired_by, \
    lock_acquired_at";

const TABLE: &str = "installation_db_migration_operation";

const WHAT: &str = "installation db migration";

#[derive(sqlx::FromRow)]
struct MigrationRow {
    id: String,
    installation_id: String,
    state: String,
    source_database: String,
    destination_database: String,
    source_multi_tenant: Option<String>,
    destination_multi_tenant: Option<String>,
    backup_id: String,
    installation_db_restoration_operation_id: String,
    request_at: i64,
    complete_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl OperationRow for MigrationRow {
    type Model = InstallationDBMigrationOperation;
    const TABLE: &'static str = TABLE;
    const COLUMNS: &'static str = COLUMNS;

    fn into_model(self) -> Result<InstallationDBMigrationOperation> {
        Ok(InstallationDBMigrationOperation {
            state: parse_stored("DB migration state", &self.state)?,
            source_database: parse_stored("database type", &self.source_database)?,
            destination_database: parse_stored("database type", &self.destination_database)?,
            source_multi_tenant: from_json_opt(&self.source_multi_tenant)?,
            destination_multi_tenant: from_json_opt(&self.destination_multi_tenant)?,
            id: self.id,
            installation_id: self.installation_id,
            request_at: self.request_at,
            backup_id: self.backup_id,
            installation_db_restoration_operation_id: self.installation_db_restoration_operation_id,
            complete_at: self.complete_at,
            delete_at: self.delete_at,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
        })
    }
}

fn change(
    operation: &InstallationDBMigrationOperation,
    old: &str,
    new: MigrationState,
) -> NewStateChange {
    NewStateChange::new(
        ResourceType::InstallationDbMigrationOperation,
        &operation.id,
        old,
        new.as_str(),
    )
    .with("Installation", &operation.installation_id)
}

impl SqlStore {
    /// Requests the migration described by `request` (installation, source
    /// and destination types and databases) for `installation`, as read by
    /// the caller under its row lock. The operation is stored `requested`
    /// with a new ID and request time, and the installation moves to
    /// `db-migration-in-progress`; a stale installation state fails with
    /// [`crate::StoreError::InvalidTransition`] and changes nothing.
    pub async fn installation_db_migration_trigger(
        &self,
        request: &InstallationDBMigrationOperation,
        installation: &Installation,
    ) -> Result<InstallationDBMigrationOperation> {
        let operation = InstallationDBMigrationOperation {
            id: new_id(),
            installation_id: installation.id.clone(),
            request_at: now_millis(),
            state: MigrationState::Requested,
            backup_id: String::new(),
            installation_db_restoration_operation_id: String::new(),
            complete_at: 0,
            delete_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            ..request.clone()
        };
        let mut tx = self.begin().await?;
        Query::new(format!("INSERT INTO {TABLE} ({COLUMNS}) VALUES ("))
            .bind(&operation.id)
            .sql(", ")
            .bind(&operation.installation_id)
            .sql(", ")
            .bind(operation.state.as_str())
            .sql(", ")
            .bind(operation.source_database.as_str())
            .sql(", ")
            .bind(operation.destination_database.as_str())
            .sql(", ")
            .bind(json_opt(&operation.source_multi_tenant)?)
            .sql(", ")
            .bind(json_opt(&operation.destination_multi_tenant)?)
            .sql(", '', '', ")
            .bind(operation.request_at)
            .sql(", 0, 0, NULL, 0)")
            .execute(&mut tx)
            .await?;
        let created = change(&operation, NON_APPLICABLE_STATE, operation.state);
        record_state_change(&mut tx, self.environment(), &created).await?;
        update_installation_state_in(
            &mut tx,
            self.environment(),
            installation,
            InstallationState::DbMigrationInProgress,
        )
        .await?;
        tx.commit().await?;
        Ok(operation)
    }

    /// Requests the rollback of a succeeded migration: the operation goes to
    /// `rollback-requested` and `installation` (read under its row lock) to
    /// `db-migration-rollback-in-progress`, both compare-and-set.
    pub async fn installation_db_migration_rollback(
        &self,
        operation: &InstallationDBMigrationOperation,
        installation: &Installation,
    ) -> Result<InstallationDBMigrationOperation> {
        let new_state = MigrationState::RollbackRequested;
        let mut tx = self.begin().await?;
        let rollback = change(operation, operation.state.as_str(), new_state);
        update_state_in(&mut tx, self.environment(), TABLE, WHAT, &rollback).await?;
        update_installation_state_in(
            &mut tx,
            self.environment(),
            installation,
            InstallationState::DbMigrationRollbackInProgress,
        )
        .await?;
        tx.commit().await?;
        Ok(InstallationDBMigrationOperation {
            state: new_state,
            ..operation.clone()
        })
    }

    /// Commits a succeeded migration: the operation goes to `committed` and
    /// the installation leaves the source database's
    /// `MigratedInstallations`, in one transaction.
    pub async fn installation_db_migration_commit(
        &self,
        operation: &InstallationDBMigrationOperation,
    ) -> Result<InstallationDBMigrationOperation> {
        let new_state = MigrationState::Committed;
        let mut tx = self.begin().await?;
        let commit = change(operation, operation.state.as_str(), new_state);
        update_state_in(&mut tx, self.environment(), TABLE, WHAT, &commit).await?;
        if let Some(source) = &operation.source_multi_tenant {
            remove_migrated_installation_in(
                &mut tx,
                &source.database_id,
                &operation.installation_id,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(InstallationDBMigrationOperation {
            state: new_state,
            ..operation.clone()
        })
    }

    /// The migration `id`, deleted or not.
    pub async fn installation_db_migration_get(
        &self,
        id: &str,
    ) -> Result<Option<InstallationDBMigrationOperation>> {
        operation_get::<MigrationRow>(self, id).await
    }

    /// Migrations, most recently requested first.
    pub async fn installation_db_migration_list(
        &self,
        filter: &InstallationDBMigrationFilter,
    ) -> Result<Vec<InstallationDBMigrationOperation>> {
        let filter = OperationFilter {
            paging: &filter.paging,
            ids: &filter.ids,
            installation_id: &filter.installation_id,
            cluster_installation_id: &None,
            states: filter.states.iter().map(|s| s.as_str()).collect(),
        };
        operation_list::<MigrationRow>(self, filter).await
    }

    /// Unlocked migrations the supervisor has work on, oldest first.
    pub async fn installation_db_migration_list_pending_work(
        &self,
    ) -> Result<Vec<InstallationDBMigrationOperation>> {
        let states = MigrationState::PENDING_WORK.iter().map(|s| s.as_str());
        operation_list_pending_work::<MigrationRow>(self, states).await
    }

    /// Moves `operation` from the state it holds to `new_state` with its
    /// event (compare-and-set; a no-op when the states are equal).
    pub async fn installation_db_migration_update_state(
        &self,
        operation: &InstallationDBMigrationOperation,
        new_state: MigrationState,
    ) -> Result<()> {
        let update = change(operation, operation.state.as_str(), new_state);
        operation_update_state(self, TABLE, WHAT, &update).await
    }

    /// Writes the supervisor's fields: backup, restoration and completion
    /// time.
    pub async fn installation_db_migration_update(
        &self,
        operation: &InstallationDBMigrationOperation,
    ) -> Result<()> {
        let n = Query::new(format!("UPDATE {TABLE} SET backup_id = "))
            .bind(&operation.backup_id)
            .sql(", installation_db_restoration_operation_id = ")
            .bind(&operation.installation_db_restoration_operation_id)
            .sql(", complete_at = ")
            .bind(operation.complete_at)
            .sql(" WHERE id = ")
            .bind(&operation.id)
            .execute(self.conn())
            .await?;
        found(n, WHAT)
    }

    /// Marks the migration deleted; `false` when there was no live row.
    pub async fn installation_db_migration_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, TABLE, id).await
    }

    /// Takes the row lock for `owner`; `false` when it is held.
    pub async fn installation_db_migration_lock(&self, id: &str, owner: &str) -> Result<bool> {
        self.lock_rows(LockedTable::InstallationDbMigration, &[id], owner)
            .await
    }

    /// Releases the row lock held by `owner` (any owner with `force`).
    pub async fn installation_db_migration_unlock(
        &self,
        id: &str,
        owner: &str,
        force: bool,
    ) -> Result<bool> {
        self.unlock_rows(LockedTable::InstallationDbMigration, &[id], owner, force)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use crate::backend_test;
    use crate::backup::tests::{insert_installation, installation_state};
    use cloud_model::database::{DatabaseEngineType, MultitenantDatabase};
    use cloud_model::db_migration::MultiTenantDBMigrationData;
    use cloud_model::event::StateChangeEventFilter;
    use cloud_model::filter::Paging;
    use cloud_model::installation::DatabaseType;

    const INST: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";

    fn request(source: &str, destination: &str) -> InstallationDBMigrationOperation {
        InstallationDBMigrationOperation {
            installation_id: INST.into(),
            source_database: DatabaseType::AwsMultitenantRdsPostgres,
            destination_database: DatabaseType::AwsMultitenantRdsPostgres,
            source_multi_tenant: Some(MultiTenantDBMigrationData {
                database_id: source.into(),
            }),
            destination_multi_tenant: Some(MultiTenantDBMigrationData {
                database_id: destination.into(),
            }),
            // Ignored by trigger.
            state: MigrationState::Committed,
            backup_id: "stale".into(),
            ..Default::default()
        }
    }

    backend_test!(
        trigger_rollback_and_commit_are_transactions_with_events,
        |store| {
            let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
            let op = store
                .installation_db_migration_trigger(&request("src", "dst"), &inst)
                .await
                .unwrap();
            assert_eq!(op.state, MigrationState::Requested);
            assert_eq!(op.backup_id, "");
            assert_eq!(
                op.destination_multi_tenant.as_ref().unwrap().database_id,
                "dst"
            );
            assert_eq!(
                store
                    .installation_db_migration_get(&op.id)
                    .await
                    .unwrap()
                    .unwrap(),
                op
            );
            assert_eq!(
                installation_state(&store, INST).await,
                "db-migration-in-progress"
            );

            // A stale installation read cannot trigger a second migration.
            let err = store
                .installation_db_migration_trigger(&request("src", "dst"), &inst)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
            assert_eq!(
                store
                    .installation_db_migration_list(&Default::default())
                    .await
                    .unwrap()
                    .len(),
                1
            );

            // The supervisor finishes: succeeded, installation hibernating again.
            store
                .installation_db_migration_update_state(&op, MigrationState::Succeeded)
                .await
                .unwrap();
            let mut op = store
                .installation_db_migration_get(&op.id)
                .await
                .unwrap()
                .unwrap();
            Query::new("UPDATE installation SET state = 'hibernating' WHERE id = ")
                .bind(INST)
                .execute(store.conn())
                .await
                .unwrap();

            let rolled = store
                .installation_db_migration_rollback(&op, &inst)
                .await
                .unwrap();
            assert_eq!(rolled.state, MigrationState::RollbackRequested);
            assert_eq!(
                installation_state(&store, INST).await,
                "db-migration-rollback-in-progress"
            );
            // Rolling back twice from the stale read fails as a whole.
            let err = store
                .installation_db_migration_rollback(&op, &inst)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");

            // Commit from succeeded (on a fresh operation state).
            store
                .installation_db_migration_update_state(&rolled, MigrationState::Succeeded)
                .await
                .unwrap();
            op.state = MigrationState::Succeeded;
            let mut source = MultitenantDatabase {
                rds_cluster_id: "rds-cluster-multitenant-src".into(),
                vpc_id: "vpc".into(),
                database_type: DatabaseEngineType::Postgres,
                migrated_installations: vec!["other".into(), INST.into()],
                ..Default::default()
            };
            source = store.multitenant_database_create(&source).await.unwrap();
            let mut op_with_source = op.clone();
            op_with_source.source_multi_tenant = Some(MultiTenantDBMigrationData {
                database_id: source.id.clone(),
            });
            let committed = store
                .installation_db_migration_commit(&op_with_source)
                .await
                .unwrap();
            assert_eq!(committed.state, MigrationState::Committed);
            let source = store
                .multitenant_database_get(&source.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(source.migrated_installations, vec!["other".to_string()]);

            let events = store
                .event_list(&StateChangeEventFilter {
                    resource_id: Some(op.id.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let pairs: Vec<_> = events
                .iter()
                .rev()
                .map(|e| {
                    (
                        e.state_change.old_state.as_str(),
                        e.state_change.new_state.as_str(),
                    )
                })
                .collect();
            assert_eq!(
                pairs,
                [
                    ("n/a", "installation-db-migration-requested"),
                    (
                        "installation-db-migration-requested",
                        "installation-db-migration-succeeded"
                    ),
                    (
                        "installation-db-migration-succeeded",
                        "installation-db-migration-rollback-requested"
                    ),
                    (
                        "installation-db-migration-rollback-requested",
                        "installation-db-migration-succeeded"
                    ),
                    (
                        "installation-db-migration-succeeded",
                        "installation-db-migration-committed"
                    ),
                ]
            );
        }
    );

    backend_test!(migrations_are_listed_filtered_and_updated, |store| {
        let a = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let b = insert_installation(
            &store,
            "j1b2c3d4e5f6g7h8i9j0k1l2m3",
            InstallationState::Hibernating,
        )
        .await;
        let first = store
            .installation_db_migration_trigger(&request("s", "d"), &a)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let mut req = request("s", "d");
        req.installation_id = b.id.clone();
        let mut second = store
            .installation_db_migration_trigger(&req, &b)
            .await
            .unwrap();
        assert_eq!(second.installation_id, b.id);

        second.backup_id = "b".into();
        second.installation_db_restoration_operation_id = "r".into();
        second.complete_at = 9;
        store
            .installation_db_migration_update(&second)
            .await
            .unwrap();
        assert_eq!(
            store
                .installation_db_migration_get(&second.id)
                .await
                .unwrap()
                .unwrap(),
            second
        );

        let list = |f: InstallationDBMigrationFilter| {
            let store = store.clone();
            async move { store.installation_db_migration_list(&f).await.unwrap() }
        };
        let all = list(Default::default()).await;
        assert_eq!(
            all.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&second.id, &first.id]
        );
        assert_eq!(
            list(InstallationDBMigrationFilter {
                installation_id: Some(INST.into()),
                ..Default::default()
            })
            .await[0]
                .id,
            first.id
        );
        assert_eq!(
            list(InstallationDBMigrationFilter {
                ids: vec![second.id.clone()],
                ..Default::default()
            })
            .await
            .len(),
            1
        );
        assert!(
            list(InstallationDBMigrationFilter {
                states: vec![MigrationState::Succeeded],
                ..Default::default()
            })
            .await
            .is_empty()
        );

        assert!(
            store
                .installation_db_migration_lock(&second.id, "x")
                .await
                .unwrap()
        );
        assert!(
            !store
                .installation_db_migration_lock(&second.id, "y")
                .await
                .unwrap()
        );
        let pending = store
            .installation_db_migration_list_pending_work()
            .await
            .unwrap();
        assert_eq!(
            pending.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&first.id]
        );
        assert!(
            store
                .installation_db_migration_unlock(&second.id, "x", false)
                .await
                .unwrap()
        );

        assert!(
            store
                .installation_db_migration_delete(&first.id)
                .await
                .unwrap()
        );
        assert_eq!(list(Default::default()).await.len(), 1);
        assert_eq!(
            list(InstallationDBMigrationFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .len(),
            2
        );
    });
}
