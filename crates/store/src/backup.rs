//! Installation backups (`installation_backup` table), plus the helpers the
//! backup, restoration and DB-migration tables share: compare-and-set state
//! updates that record their state-change event in the same transaction
//! ([`update_state_in`]), and the installation state write those operations
//! make ([`update_installation_state_in`]).
//!
//! Guarantees: at most one running backup per installation (checked in the
//! creating transaction); a state update only applies when the row is still
//! in the state the caller read, so two writers cannot both move it; a lock
//! of several rows is all or nothing (the original could leave a partial
//! lock behind; see [`crate::lock`]).

use crate::SqlStore;
use crate::db::{Query, Tx, from_json_opt, json_opt};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::lock::LockedTable;
use cloud_model::backup::{
    BackupState, InstallationBackup, InstallationBackupFilter, S3DataResidence,
};
use cloud_model::db_migration::MigrationState;
use cloud_model::db_restoration::RestorationState;
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::filter::Paging;
use cloud_model::installation::{Installation, InstallationState};
use cloud_model::{NON_APPLICABLE_STATE, new_id, now_millis};
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

const COLUMNS: &str = "id, installation_id, cluster_installation_id, backed_up_database_type, \
    data_residence, state, request_at, start_at, delete_at, api_security_lock, lock_acquired_by, \
    lock_acquired_at";

const TABLE: &str = "installation_backup";

#[derive(sqlx::FromRow)]
struct BackupRow {
    id: String,
    installation_id: String,
    cluster_installation_id: String,
    backed_up_database_type: String,
    data_residence: Option<String>,
    state: String,
    request_at: i64,
    start_at: i64,
    delete_at: i64,
    api_security_lock: bool,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl OperationRow for BackupRow {
    type Model = InstallationBackup;
    const TABLE: &'static str = TABLE;
    const COLUMNS: &'static str = COLUMNS;

    fn into_model(self) -> Result<InstallationBackup> {
        Ok(InstallationBackup {
            backed_up_database_type: parse_stored("database type", &self.backed_up_database_type)?,
            state: parse_stored("backup state", &self.state)?,
            data_residence: from_json_opt(&self.data_residence)?,
            id: self.id,
            installation_id: self.installation_id,
            cluster_installation_id: self.cluster_installation_id,
            request_at: self.request_at,
            start_at: self.start_at,
            delete_at: self.delete_at,
            api_security_lock: self.api_security_lock,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
        })
    }
}

/// Parses a stored enum column; an unknown value is bad stored data (500).
pub(crate) fn parse_stored<T: std::str::FromStr>(what: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| StoreError::Invalid(format!("stored row has an unknown {what} {value:?}")))
}

impl SqlStore {
    /// Requests a backup of `installation`: a `backup-requested` row with
    /// the installation's current database type, and its creation event.
    /// Fails with [`StoreError::InvalidTransition`] when a backup of the
    /// installation is already requested or in progress.
    pub async fn installation_backup_create(
        &self,
        installation: &Installation,
    ) -> Result<InstallationBackup> {
        let backup = InstallationBackup {
            id: new_id(),
            installation_id: installation.id.clone(),
            backed_up_database_type: installation.database,
            state: BackupState::BackupRequested,
            request_at: now_millis(),
            ..Default::default()
        };
        let mut tx = self.begin().await?;
        let running = Query::new(format!(
            "SELECT COUNT(*) FROM {TABLE} WHERE installation_id = "
        ))
        .bind(&backup.installation_id)
        .sql(" AND delete_at = 0 AND state IN ")
        .bind_list(BackupState::RUNNING.iter().map(|s| s.as_str()))
        .fetch_i64(&mut tx)
        .await?;
        if running > 0 {
            return Err(StoreError::InvalidTransition(format!(
                "a backup of installation {} is already requested or in progress",
                backup.installation_id
            )));
        }
        Query::new(format!("INSERT INTO {TABLE} ({COLUMNS}) VALUES ("))
            .bind(&backup.id)
            .sql(", ")
            .bind(&backup.installation_id)
            .sql(", '', ")
            .bind(backup.backed_up_database_type.as_str())
            .sql(", NULL, ")
            .bind(backup.state.as_str())
            .sql(", ")
            .bind(backup.request_at)
            .sql(", 0, 0, FALSE, NULL, 0)")
            .execute(&mut tx)
            .await?;
        let change = NewStateChange::new(
            ResourceType::InstallationBackup,
            &backup.id,
            NON_APPLICABLE_STATE,
            backup.state.as_str(),
        )
        .with("Installation", &backup.installation_id);
        record_state_change(&mut tx, self.environment(), &change).await?;
        tx.commit().await?;
        Ok(backup)
    }

    /// The backup `id`, deleted or not.
    pub async fn installation_backup_get(&self, id: &str) -> Result<Option<InstallationBackup>> {
        operation_get::<BackupRow>(self, id).await
    }

    /// Backups, most recently requested first.
    pub async fn installation_backup_list(
        &self,
        filter: &InstallationBackupFilter,
    ) -> Result<Vec<InstallationBackup>> {
        let filter = OperationFilter {
            paging: &filter.paging,
            ids: &filter.ids,
            installation_id: &filter.installation_id,
            cluster_installation_id: &filter.cluster_installation_id,
            states: filter.states.iter().map(|s| s.as_str()).collect(),
        };
        operation_list::<BackupRow>(self, filter).await
    }

    /// Unlocked backups the supervisor has work on, oldest request first.
    pub async fn installation_backup_list_pending_work(&self) -> Result<Vec<InstallationBackup>> {
        let states = BackupState::PENDING_WORK.iter().map(|s| s.as_str());
        operation_list_pending_work::<BackupRow>(self, states).await
    }

    /// Whether a live backup of the installation is requested or running.
    pub async fn installation_backup_is_running(&self, installation_id: &str) -> Result<bool> {
        let n = Query::new(format!(
            "SELECT COUNT(*) FROM {TABLE} WHERE installation_id = "
        ))
        .bind(installation_id)
        .sql(" AND delete_at = 0 AND state IN ")
        .bind_list(BackupState::RUNNING.iter().map(|s| s.as_str()))
        .fetch_i64(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// Whether a live restoration or DB migration that still has work to do
    /// uses the backup (such a backup cannot be deleted).
    pub async fn installation_backup_is_used(&self, backup_id: &str) -> Result<bool> {
        let restorations = Query::new(
            "SELECT COUNT(*) FROM installation_db_restoration_operation WHERE delete_at = 0 AND backup_id = ",
        )
        .bind(backup_id)
        .sql(" AND state IN ")
        .bind_list(RestorationState::PENDING_WORK.iter().map(|s| s.as_str()))
        .fetch_i64(self.conn())
        .await?;
        let migrations = Query::new(
            "SELECT COUNT(*) FROM installation_db_migration_operation WHERE delete_at = 0 AND backup_id = ",
        )
        .bind(backup_id)
        .sql(" AND state IN ")
        .bind_list(MigrationState::PENDING_WORK.iter().map(|s| s.as_str()))
        .fetch_i64(self.conn())
        .await?;
        Ok(restorations + migrations > 0)
    }

    /// Moves `backup` from the state it holds to `new_state` and records the
    /// event, in one transaction. Fails with
    /// [`StoreError::InvalidTransition`] when the stored state is no longer
    /// `backup.state`; a no-op when the states are equal.
    pub async fn installation_backup_update_state(
        &self,
        backup: &InstallationBackup,
        new_state: BackupState,
    ) -> Result<()> {
        let change = NewStateChange::new(
            ResourceType::InstallationBackup,
            &backup.id,
            backup.state.as_str(),
            new_state.as_str(),
        )
        .with("Installation", &backup.installation_id);
        operation_update_state(self, TABLE, "installation backup", &change).await
    }

    /// Records where the backup goes and the cluster installation running it.
    pub async fn installation_backup_update_scheduling_data(
        &self,
        id: &str,
        data_residence: &S3DataResidence,
        cluster_installation_id: &str,
    ) -> Result<()> {
        let n = Query::new(format!("UPDATE {TABLE} SET data_residence = "))
            .bind(json_opt(&Some(data_residence))?)
            .sql(", cluster_installation_id = ")
            .bind(cluster_installation_id)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        found(n, "installation backup")
    }

    /// Records the start time of the job that completed the backup.
    pub async fn installation_backup_update_start_time(
        &self,
        id: &str,
        start_at: i64,
    ) -> Result<()> {
        let n = Query::new(format!("UPDATE {TABLE} SET start_at = "))
            .bind(start_at)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        found(n, "installation backup")
    }

    /// Marks the backup deleted (after its data is gone). Returns `false`
    /// when there was no live row.
    pub async fn installation_backup_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, TABLE, id).await
    }

    /// Sets or clears the backup's API security lock. Returns `false` when
    /// there is no such backup.
    pub async fn installation_backup_update_api_lock(
        &self,
        id: &str,
        locked: bool,
    ) -> Result<bool> {
        let n = Query::new(format!("UPDATE {TABLE} SET api_security_lock = "))
            .bind(locked)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(n > 0)
    }

    /// Takes the row lock of the backup for `owner`; `false` when it is held.
    pub async fn installation_backup_lock(&self, id: &str, owner: &str) -> Result<bool> {
        self.lock_rows(LockedTable::InstallationBackup, &[id], owner)
            .await
    }

    /// Releases the row lock held by `owner` (any owner with `force`).
    pub async fn installation_backup_unlock(
        &self,
        id: &str,
        owner: &str,
        force: bool,
    ) -> Result<bool> {
        self.unlock_rows(LockedTable::InstallationBackup, &[id], owner, force)
            .await
    }
}

/// `Ok` when an update touched a row, else [`StoreError::NotFound`].
pub(crate) fn found(rows: u64, what: &str) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound(what.to_string()))
    } else {
        Ok(())
    }
}

/// Compare-and-set of `table.state` from `change.old_state` to
/// `change.new_state` for `change.resource_id`, recording the event in `tx`.
/// `what` names the object in errors.
pub(crate) async fn update_state_in(
    tx: &mut Tx,
    environment: &str,
    table: &str,
    what: &str,
    change: &NewStateChange,
) -> Result<()> {
    let n = Query::new(format!("UPDATE {table} SET state = "))
        .bind(&change.new_state)
        .sql(" WHERE id = ")
        .bind(&change.resource_id)
        .sql(" AND state = ")
        .bind(&change.old_state)
        .execute(&mut *tx)
        .await?;
    if n == 0 {
        let current: Option<(String,)> =
            Query::new(format!("SELECT state FROM {table} WHERE id = "))
                .bind(&change.resource_id)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match current {
            None => StoreError::NotFound(what.to_string()),
            Some((state,)) => StoreError::InvalidTransition(format!(
                "{what} {} is in state {state}, not {}",
                change.resource_id, change.old_state
            )),
        });
    }
    record_state_change(tx, environment, change).await?;
    Ok(())
}

/// Moves an operation from `change.old_state` to `change.new_state` with its
/// event, in a transaction of its own (see [`update_state_in`]); a no-op
/// when the states are equal.
pub(crate) async fn operation_update_state(
    store: &SqlStore,
    table: &str,
    what: &str,
    change: &NewStateChange,
) -> Result<()> {
    if change.old_state == change.new_state {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    update_state_in(&mut tx, store.environment(), table, what, change).await?;
    tx.commit().await
}

/// Marks the row `id` of `table` deleted; `false` when there was no live row.
pub(crate) async fn soft_delete(store: &SqlStore, table: &str, id: &str) -> Result<bool> {
    let n = Query::new(format!("UPDATE {table} SET delete_at = "))
        .bind(now_millis())
        .sql(" WHERE id = ")
        .bind(id)
        .sql(" AND delete_at = 0")
        .execute(store.conn())
        .await?;
    Ok(n > 0)
}

/// The row type of an operation table (backups, restorations, DB
/// migrations): `COLUMNS` of `TABLE`, which has `id`, `installation_id`,
/// `state`, `request_at`, `delete_at` and a row lock.
pub(crate) trait OperationRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
    type Model;
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn into_model(self) -> Result<Self::Model>;
}

/// The list filter the operation tables share (`cluster_installation_id`
/// stays `None` for DB migrations, which have no such column).
pub(crate) struct OperationFilter<'a> {
    pub(crate) paging: &'a Paging,
    pub(crate) ids: &'a [String],
    pub(crate) installation_id: &'a Option<String>,
    pub(crate) cluster_installation_id: &'a Option<String>,
    pub(crate) states: Vec<&'static str>,
}

/// The operation `id`, deleted or not.
pub(crate) async fn operation_get<R: OperationRow>(
    store: &SqlStore,
    id: &str,
) -> Result<Option<R::Model>> {
    let row: Option<R> = Query::new(format!(
        "SELECT {} FROM {} WHERE id = ",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(id)
    .fetch_optional(store.conn())
    .await?;
    row.map(R::into_model).transpose()
}

/// Operations matching `filter`, most recently requested first.
pub(crate) async fn operation_list<R: OperationRow>(
    store: &SqlStore,
    filter: OperationFilter<'_>,
) -> Result<Vec<R::Model>> {
    let mut q = Query::new(format!(
        "SELECT {} FROM {} WHERE 1 = 1",
        R::COLUMNS,
        R::TABLE
    ));
    if !filter.paging.include_deleted {
        q.sql(" AND delete_at = 0");
    }
    if !filter.ids.is_empty() {
        q.sql(" AND id IN ").bind_list(filter.ids.iter());
    }
    if let Some(id) = filter.installation_id {
        q.sql(" AND installation_id = ").bind(id);
    }
    if let Some(id) = filter.cluster_installation_id {
        q.sql(" AND cluster_installation_id = ").bind(id);
    }
    if !filter.states.is_empty() {
        q.sql(" AND state IN ").bind_list(filter.states);
    }
    q.sql(" ORDER BY request_at DESC, id DESC")
        .paging(filter.paging);
    let rows: Vec<R> = q.fetch_all(store.conn()).await?;
    rows.into_iter().map(R::into_model).collect()
}

/// Unlocked operations in one of `states` (the supervisor's work), oldest
/// request first.
pub(crate) async fn operation_list_pending_work<R: OperationRow>(
    store: &SqlStore,
    states: impl IntoIterator<Item = &'static str>,
) -> Result<Vec<R::Model>> {
    let rows: Vec<R> = Query::new(format!(
        "SELECT {} FROM {} WHERE lock_acquired_at = 0 AND state IN ",
        R::COLUMNS,
        R::TABLE
    ))
    .bind_list(states)
    .sql(" ORDER BY request_at ASC, id ASC")
    .fetch_all(store.conn())
    .await?;
    rows.into_iter().map(R::into_model).collect()
}

/// Moves `installation` from its state to `new_state` inside `tx`, with the
/// installation event (extra `Name`, as the original's producer adds).
pub(crate) async fn update_installation_state_in(
    tx: &mut Tx,
    environment: &str,
    installation: &Installation,
    new_state: InstallationState,
) -> Result<()> {
    let change = NewStateChange::new(
        ResourceType::Installation,
        &installation.id,
        installation.state.as_str(),
        new_state.as_str(),
    )
    .with("Name", &installation.name);
    update_state_in(tx, environment, "installation", "installation", &change).await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend_test;
    use cloud_model::event::StateChangeEventFilter;
    use cloud_model::filter::Paging;
    use cloud_model::installation::DatabaseType;

    /// Inserts a minimal installation row for tests of this slice.
    pub(crate) async fn insert_installation(
        store: &SqlStore,
        id: &str,
        state: InstallationState,
    ) -> Installation {
        let installation = Installation {
            id: id.to_string(),
            name: format!("inst-{}", &id[..4]),
            state,
            database: DatabaseType::AwsMultitenantRdsPostgres,
            ..Default::default()
        };
        Query::new(
            "INSERT INTO installation (id, name, owner_id, state, size, version, image, database_type, \
             filestore_type, affinity, cr_version, create_at) VALUES (",
        )
        .bind(id)
        .sql(", ")
        .bind(&installation.name)
        .sql(", 'owner', ")
        .bind(state.as_str())
        .sql(", '100users', 'stable', 'mattermost/mattermost-enterprise-edition', ")
        .bind(installation.database.as_str())
        .sql(", 'bifrost', 'isolated', 'installation.mattermost.com/v1beta1', 1)")
        .execute(store.conn())
        .await
        .unwrap();
        installation
    }

    pub(crate) async fn installation_state(store: &SqlStore, id: &str) -> String {
        let (state,): (String,) = Query::new("SELECT state FROM installation WHERE id = ")
            .bind(id)
            .fetch_optional(store.conn())
            .await
            .unwrap()
            .unwrap();
        state
    }

    const INST: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";

    backend_test!(a_backup_is_requested_once_at_a_time, |store| {
        let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let backup = store.installation_backup_create(&inst).await.unwrap();
        assert_eq!(backup.state, BackupState::BackupRequested);
        assert_eq!(
            backup.backed_up_database_type,
            DatabaseType::AwsMultitenantRdsPostgres
        );
        assert!(store.installation_backup_is_running(INST).await.unwrap());

        let err = store.installation_backup_create(&inst).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
        let all = store
            .installation_backup_list(&InstallationBackupFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "the refused request left no row");

        let events = store
            .event_list(&StateChangeEventFilter {
                resource_type: Some(ResourceType::InstallationBackup),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].state_change.old_state, "n/a");
        assert_eq!(events[0].state_change.new_state, "backup-requested");
        assert_eq!(events[0].event.extra_data.fields["Installation"], INST);

        // Once it has finished, another one may be requested.
        store
            .installation_backup_update_state(&backup, BackupState::BackupFailed)
            .await
            .unwrap();
        assert!(!store.installation_backup_is_running(INST).await.unwrap());
        store.installation_backup_create(&inst).await.unwrap();
    });

    backend_test!(backups_are_filtered_and_ordered_newest_first, |store| {
        let a = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let b = insert_installation(
            &store,
            "j1b2c3d4e5f6g7h8i9j0k1l2m3",
            InstallationState::Hibernating,
        )
        .await;
        let first = store.installation_backup_create(&a).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let second = store.installation_backup_create(&b).await.unwrap();
        store
            .installation_backup_update_scheduling_data(
                &second.id,
                &S3DataResidence {
                    url: "s3.amazonaws.com".into(),
                    object_key: S3DataResidence::object_key_for(&second.id),
                    ..Default::default()
                },
                "ci1",
            )
            .await
            .unwrap();
        store
            .installation_backup_update_start_time(&second.id, 42)
            .await
            .unwrap();

        let all = store
            .installation_backup_list(&InstallationBackupFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&second.id, &first.id]
        );
        let got = store
            .installation_backup_get(&second.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.cluster_installation_id, "ci1");
        assert_eq!(got.start_at, 42);
        assert_eq!(got.data_residence.unwrap().url, "s3.amazonaws.com");

        let by = |f: InstallationBackupFilter| {
            let store = store.clone();
            async move { store.installation_backup_list(&f).await.unwrap() }
        };
        assert_eq!(
            by(InstallationBackupFilter {
                installation_id: Some(INST.into()),
                ..Default::default()
            })
            .await
            .len(),
            1
        );
        assert_eq!(
            by(InstallationBackupFilter {
                cluster_installation_id: Some("ci1".into()),
                ..Default::default()
            })
            .await[0]
                .id,
            second.id
        );
        assert_eq!(
            by(InstallationBackupFilter {
                ids: vec![first.id.clone()],
                ..Default::default()
            })
            .await[0]
                .id,
            first.id
        );
        assert!(
            by(InstallationBackupFilter {
                states: vec![BackupState::BackupSucceeded],
                ..Default::default()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            by(InstallationBackupFilter {
                states: vec![BackupState::BackupRequested],
                ..Default::default()
            })
            .await
            .len(),
            2
        );

        let pending = store.installation_backup_list_pending_work().await.unwrap();
        assert_eq!(
            pending.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&first.id, &second.id]
        );
        assert!(
            store
                .installation_backup_lock(&first.id, "me")
                .await
                .unwrap()
        );
        let pending = store.installation_backup_list_pending_work().await.unwrap();
        assert_eq!(pending.len(), 1, "locked rows are not offered");

        assert!(store.installation_backup_delete(&first.id).await.unwrap());
        assert!(!store.installation_backup_delete(&first.id).await.unwrap());
        assert_eq!(
            store
                .installation_backup_list(&InstallationBackupFilter::default())
                .await
                .unwrap()
                .len(),
            1
        );
        let everything = InstallationBackupFilter {
            paging: Paging::all(),
            ..Default::default()
        };
        assert_eq!(
            store
                .installation_backup_list(&everything)
                .await
                .unwrap()
                .len(),
            2
        );
    });

    backend_test!(state_updates_are_compare_and_set_with_events, |store| {
        let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let backup = store.installation_backup_create(&inst).await.unwrap();
        store
            .installation_backup_update_state(&backup, BackupState::DeletionRequested)
            .await
            .unwrap();
        // A second writer that read the old state loses.
        let err = store
            .installation_backup_update_state(&backup, BackupState::BackupInProgress)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
        let got = store
            .installation_backup_get(&backup.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.state, BackupState::DeletionRequested);

        let mut missing = backup.clone();
        missing.id = "x".repeat(26);
        let err = store
            .installation_backup_update_state(&missing, BackupState::BackupFailed)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");

        let events = store
            .event_list(&StateChangeEventFilter {
                resource_id: Some(backup.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].state_change.new_state, "deletion-requested");
        assert_eq!(events[0].state_change.old_state, "backup-requested");
    });

    backend_test!(row_and_api_locks, |store| {
        let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let backup = store.installation_backup_create(&inst).await.unwrap();
        assert!(
            store
                .installation_backup_lock(&backup.id, "a")
                .await
                .unwrap()
        );
        assert!(
            !store
                .installation_backup_lock(&backup.id, "b")
                .await
                .unwrap()
        );
        assert!(
            !store
                .installation_backup_unlock(&backup.id, "b", false)
                .await
                .unwrap()
        );
        let got = store
            .installation_backup_get(&backup.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.lock_acquired_by.as_deref(), Some("a"));
        assert!(got.lock_acquired_at > 0);
        assert!(
            store
                .installation_backup_unlock(&backup.id, "a", false)
                .await
                .unwrap()
        );
        assert!(
            store
                .installation_backup_lock(&backup.id, "b")
                .await
                .unwrap()
        );
        assert!(
            store
                .installation_backup_unlock(&backup.id, "other", true)
                .await
                .unwrap()
        );
        assert!(
            !store
                .installation_backup_lock("missing", "a")
                .await
                .unwrap()
        );

        // All or nothing: one held row means no row gets locked.
        assert!(
            store
                .installation_backup_lock(&backup.id, "a")
                .await
                .unwrap()
        );
        let other = insert_installation(
            &store,
            "k1b2c3d4e5f6g7h8i9j0k1l2m3",
            InstallationState::Hibernating,
        )
        .await;
        let free = store.installation_backup_create(&other).await.unwrap();
        assert!(
            !store
                .lock_rows(
                    LockedTable::InstallationBackup,
                    &[&backup.id, &free.id],
                    "b"
                )
                .await
                .unwrap()
        );
        let free_now = store
            .installation_backup_get(&free.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(free_now.lock_acquired_at, 0);

        assert!(
            store
                .installation_backup_update_api_lock(&backup.id, true)
                .await
                .unwrap()
        );
        assert!(
            store
                .installation_backup_get(&backup.id)
                .await
                .unwrap()
                .unwrap()
                .api_security_lock
        );
        assert!(
            store
                .installation_backup_update_api_lock(&backup.id, false)
                .await
                .unwrap()
        );
        assert!(
            !store
                .installation_backup_get(&backup.id)
                .await
                .unwrap()
                .unwrap()
                .api_security_lock
        );
        assert!(
            !store
                .installation_backup_update_api_lock("missing", true)
                .await
                .unwrap()
        );
    });

    backend_test!(a_backup_in_use_by_pending_operations_is_reported, |store| {
        let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let backup = store.installation_backup_create(&inst).await.unwrap();
        assert!(!store.installation_backup_is_used(&backup.id).await.unwrap());
        for (table, state) in [
            (
                "installation_db_restoration_operation",
                RestorationState::InProgress.as_str(),
            ),
            (
                "installation_db_migration_operation",
                MigrationState::RestorationInProgress.as_str(),
            ),
        ] {
            let extra = if table.contains("migration") {
                ", source_database, destination_database"
            } else {
                ""
            };
            let extra_values = if table.contains("migration") {
                ", 'a', 'b'"
            } else {
                ""
            };
            Query::new(format!("INSERT INTO {table} (id, installation_id, backup_id, state, request_at{extra}) VALUES ("))
                .bind(new_id())
                .sql(", ")
                .bind(INST)
                .sql(", ")
                .bind(&backup.id)
                .sql(", ")
                .bind(state)
                .sql(&format!(", 1{extra_values})"))
                .execute(store.conn())
                .await
                .unwrap();
            assert!(
                store.installation_backup_is_used(&backup.id).await.unwrap(),
                "{table}"
            );
            Query::new(format!("UPDATE {table} SET delete_at = 1"))
                .execute(store.conn())
                .await
                .unwrap();
            assert!(
                !store.installation_backup_is_used(&backup.id).await.unwrap(),
                "{table}"
            );
        }
    });

    backend_test!(installation_state_writes_carry_an_event, |store| {
        let inst = insert_installation(&store, INST, InstallationState::Hibernating).await;
        let mut tx = store.begin().await.unwrap();
        update_installation_state_in(
            &mut tx,
            "dev",
            &inst,
            InstallationState::DbRestorationInProgress,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            installation_state(&store, INST).await,
            "db-restoration-in-progress"
        );
        let events = store
            .event_list(&StateChangeEventFilter {
                resource_type: Some(ResourceType::Installation),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.extra_data.fields["Name"], inst.name);

        // The read state is stale now: the write is refused and nothing is recorded.
        let mut tx = store.begin().await.unwrap();
        let err = update_installation_state_in(
            &mut tx,
            "dev",
            &inst,
            InstallationState::DbMigrationInProgress,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
    });
}
