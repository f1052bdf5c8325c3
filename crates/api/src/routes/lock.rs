//! What the route files share about locks:
//!
//! - [`RowLock`], a row lock held by one request (the request ID is the
//!   owner, as in the original's `internal/api/lock.go`): taking it answers
//!   404 for a missing row and 409 when someone else holds it, and it is
//!   released on every path, also when the handler is dropped mid-way;
//! - [`security_routes`], the `/api/security/<resource>/{id}/…/{lock,unlock}`
//!   pairs that set and clear a resource's persistent lock flags.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::PathId;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use cloud_model::installation::Installation;
use cloud_store::SqlStore;
use cloud_store::lock::LockedTable;
use http::StatusCode;

/// How error messages name the rows of a table.
fn noun(table: LockedTable) -> &'static str {
    match table {
        LockedTable::Cluster | LockedTable::ClusterScheduling => "cluster",
        LockedTable::Installation => "installation",
        LockedTable::ClusterInstallation => "cluster installation",
        LockedTable::Group => "group",
        LockedTable::InstallationBackup => "installation backup",
        LockedTable::InstallationDbRestoration => "installation db restoration",
        LockedTable::InstallationDbMigration => "installation db migration",
        LockedTable::MultitenantDatabase => "multitenant database",
        LockedTable::LogicalDatabase => "logical database",
        LockedTable::DatabaseSchema => "database schema",
        LockedTable::Subscription => "subscription",
    }
}

/// A held row lock. Released explicitly ([`RowLock::release`],
/// [`RowLock::hold`]); if the handler is dropped first (client gone, panic)
/// the release is spawned, so a lock never outlives its request.
pub(crate) struct RowLock {
    store: SqlStore,
    table: LockedTable,
    id: String,
    owner: String,
    released: bool,
}

impl RowLock {
    /// Takes the lock: 404 when the row does not exist, 409 when the lock is
    /// held by someone else.
    pub(crate) async fn take(
        store: &SqlStore,
        table: LockedTable,
        id: &str,
        owner: &str,
    ) -> ApiResult<Self> {
        if !store.lock_rows(table, &[id], owner).await? {
            let what = noun(table);
            return Err(if store.lock_row_exists(table, id).await? {
                ApiError::conflict(format!(
                    "{what} {id} is locked by another operation; try again"
                ))
            } else {
                ApiError::not_found(format!("{what} {id}"))
            });
        }
        Ok(Self {
            store: store.clone(),
            table,
            id: id.to_string(),
            owner: owner.to_string(),
            released: false,
        })
    }

    /// Takes the lock, then runs `read` (which re-reads and checks the row)
    /// under it; when `read` fails the lock is released and its error
    /// returned.
    pub(crate) async fn take_then<T>(
        store: &SqlStore,
        table: LockedTable,
        id: &str,
        owner: &str,
        read: impl Future<Output = ApiResult<T>>,
    ) -> ApiResult<(Self, T)> {
        let lock = Self::take(store, table, id, owner).await?;
        match read.await {
            Ok(value) => Ok((lock, value)),
            Err(e) => {
                lock.release().await;
                Err(e)
            }
        }
    }

    /// Takes the lock and runs `work` under it ([`RowLock::take`] then
    /// [`RowLock::hold`]).
    pub(crate) async fn run<T>(
        store: &SqlStore,
        table: LockedTable,
        id: &str,
        owner: &str,
        work: impl Future<Output = ApiResult<T>>,
    ) -> ApiResult<T> {
        Self::take(store, table, id, owner).await?.hold(work).await
    }

    pub(crate) async fn release(mut self) {
        self.released = true;
        unlock(&self.store, self.table, &self.id, &self.owner).await;
    }

    /// Runs `work` under the lock and releases it before returning, on
    /// success and on error alike, so the next request never finds a lock
    /// that this one is about to drop.
    pub(crate) async fn hold<T>(self, work: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
        let result = work.await;
        self.release().await;
        result
    }
}

impl Drop for RowLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (store, table, id, owner) = (
            self.store.clone(),
            self.table,
            self.id.clone(),
            self.owner.clone(),
        );
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { unlock(&store, table, &id, &owner).await });
        }
    }
}

async fn unlock(store: &SqlStore, table: LockedTable, id: &str, owner: &str) {
    match store.unlock_rows(table, &[id], owner, false).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            table = table.table(),
            id,
            owner,
            "lock was not held at release"
        ),
        Err(e) => {
            tracing::error!(table = table.table(), id, error = %e, "failed to release a lock");
        }
    }
}

/// Locks the installation and reads it under the lock (404 when missing).
pub(crate) async fn lock_installation(
    state: &AppState,
    id: &str,
    owner: &str,
) -> ApiResult<(RowLock, Installation)> {
    RowLock::take_then(&state.store, LockedTable::Installation, id, owner, async {
        state
            .store
            .installation_get(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("installation {id}")))
    })
    .await
}

/// A persistent flag set and cleared by the `/api/security/…` routes. Unlike
/// a row lock it blocks API mutations only, never supervisors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecurityFlag {
    ClusterApi,
    InstallationApi,
    InstallationDeletion,
    ClusterInstallationApi,
    GroupApi,
    BackupApi,
}

/// `POST {prefix}/lock` and `POST {prefix}/unlock`: set or clear `flag` of
/// the resource `{id}`. 200 with no body, idempotent; 404 for an unknown ID.
/// Neither is blocked by the flag itself.
pub(crate) fn security_routes(prefix: &str, flag: SecurityFlag) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{prefix}/lock"),
            post(move |state, id| set_flag(state, id, flag, true)),
        )
        .route(
            &format!("{prefix}/unlock"),
            post(move |state, id| set_flag(state, id, flag, false)),
        )
}

async fn set_flag(
    State(state): State<AppState>,
    PathId(id): PathId,
    flag: SecurityFlag,
    on: bool,
) -> ApiResult<StatusCode> {
    let store = &state.store;
    match flag {
        SecurityFlag::ClusterApi => store.cluster_set_api_lock(&id, on).await?,
        SecurityFlag::InstallationApi => store.installation_set_api_lock(&id, on).await?,
        SecurityFlag::InstallationDeletion => store.installation_set_deletion_lock(&id, on).await?,
        SecurityFlag::ClusterInstallationApi => {
            store.cluster_installation_set_api_lock(&id, on).await?
        }
        SecurityFlag::GroupApi => store.group_set_api_lock(&id, on).await?,
        SecurityFlag::BackupApi => {
            if !store.installation_backup_update_api_lock(&id, on).await? {
                return Err(ApiError::not_found(format!("installation backup {id}")));
            }
        }
    }
    Ok(StatusCode::OK)
}
