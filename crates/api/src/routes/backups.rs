//! Installation backup routes (40–43 of the original's table) and the
//! backup API security lock (97–98), plus [`RowLock`], the row-lock guard
//! the backup, operation and database routes share.
//!
//! A backup request locks the installation, which must be `hibernating`,
//! have a Postgres RDS database type and a filestore other than
//! `minio-operator`, and have no backup running; it answers 200 (not 202, as
//! the original). Deleting a backup locks it, refuses an API-locked one
//! (403), one already deleted (400) and one a pending restoration or
//! migration uses (400), then requests `deletion-requested` (202).

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams, RequestId};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_model::backup::{
    BackupState, InstallationBackup, InstallationBackupFilter, InstallationBackupRequest,
    ensure_backup_compatible,
};
use cloud_model::installation::Installation;
use cloud_store::SqlStore;
use cloud_supervisor::SupervisorKind;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/installations/backups",
            get(list_backups).post(request_backup),
        )
        .route(
            "/installations/backup/{id}",
            get(get_backup).delete(delete_backup),
        )
        .route(
            "/security/installation/backup/{id}/api/lock",
            post(lock_api),
        )
        .route(
            "/security/installation/backup/{id}/api/unlock",
            post(unlock_api),
        )
}

/// The kinds of row a [`RowLock`] can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Installation,
    Backup,
    DbMigration,
    MultitenantDatabase,
}

impl LockKind {
    fn name(self) -> &'static str {
        match self {
            LockKind::Installation => "installation",
            LockKind::Backup => "installation backup",
            LockKind::DbMigration => "installation db migration",
            LockKind::MultitenantDatabase => "multitenant database",
        }
    }
}

/// A held row lock, taken with the request ID as owner (as the original
/// does). Released explicitly; if the handler is dropped first (client gone,
/// panic) the release is spawned, so a lock never outlives its request.
pub(crate) struct RowLock {
    store: SqlStore,
    kind: LockKind,
    id: String,
    owner: String,
    released: bool,
}

impl RowLock {
    /// Takes the lock: 404 when the row does not exist, 409 when the lock is
    /// held by someone else.
    pub(crate) async fn take(
        store: &SqlStore,
        kind: LockKind,
        id: &str,
        owner: &str,
    ) -> ApiResult<Self> {
        let taken = match kind {
            LockKind::Installation => store.installation_lock(id, owner).await?,
            LockKind::Backup => store.installation_backup_lock(id, owner).await?,
            LockKind::DbMigration => store.installation_db_migration_lock(id, owner).await?,
            LockKind::MultitenantDatabase => store.multitenant_database_lock(id, owner).await?,
        };
        if !taken {
            let exists = match kind {
                LockKind::Installation => store.installation_get(id).await?.is_some(),
                LockKind::Backup => store.installation_backup_get(id).await?.is_some(),
                LockKind::DbMigration => store.installation_db_migration_get(id).await?.is_some(),
                LockKind::MultitenantDatabase => {
                    store.multitenant_database_get(id).await?.is_some()
                }
            };
            return Err(if exists {
                ApiError::conflict(format!(
                    "{} {id} is locked by another operation; try again",
                    kind.name()
                ))
            } else {
                ApiError::not_found(format!("{} {id}", kind.name()))
            });
        }
        Ok(Self {
            store: store.clone(),
            kind,
            id: id.to_string(),
            owner: owner.to_string(),
            released: false,
        })
    }

    pub(crate) async fn release(mut self) {
        self.released = true;
        unlock(&self.store, self.kind, &self.id, &self.owner).await;
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
        let (store, kind, id, owner) = (
            self.store.clone(),
            self.kind,
            self.id.clone(),
            self.owner.clone(),
        );
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { unlock(&store, kind, &id, &owner).await });
        }
    }
}

async fn unlock(store: &SqlStore, kind: LockKind, id: &str, owner: &str) {
    let result = match kind {
        LockKind::Installation => store.installation_unlock(id, owner).await,
        LockKind::Backup => store.installation_backup_unlock(id, owner, false).await,
        LockKind::DbMigration => {
            store
                .installation_db_migration_unlock(id, owner, false)
                .await
        }
        LockKind::MultitenantDatabase => store.multitenant_database_unlock(id, owner, false).await,
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            kind = kind.name(),
            id,
            owner,
            "lock was not held at release"
        ),
        Err(e) => tracing::error!(kind = kind.name(), id, error = %e, "failed to release a lock"),
    }
}

/// Locks the installation and reads it under the lock (404 when missing).
pub(crate) async fn lock_installation(
    state: &AppState,
    id: &str,
    owner: &str,
) -> ApiResult<(RowLock, Installation)> {
    let lock = RowLock::take(&state.store, LockKind::Installation, id, owner).await?;
    match state.store.installation_get(id).await {
        Ok(Some(installation)) => Ok((lock, installation)),
        other => {
            lock.release().await;
            Err(match other {
                Err(e) => e.into(),
                _ => ApiError::not_found(format!("installation {id}")),
            })
        }
    }
}

/// `POST /api/installations/backups` (200).
async fn request_backup(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<InstallationBackupRequest>,
) -> ApiResult<Json<InstallationBackup>> {
    request.validate()?;
    let id = &request.installation_id;
    let (lock, installation) = lock_installation(&state, id, &request_id).await?;
    let backup = lock
        .hold(async {
            ensure_backup_compatible(
                installation.state,
                installation.database,
                installation.filestore,
            )
            .map_err(|e| {
                ApiError::bad_request(
                    "InstallationID",
                    format!("installation {id} cannot be backed up: {}", e.message),
                )
            })?;
            // Refuses a second running backup in the same transaction.
            Ok(state
                .store
                .installation_backup_create(&installation)
                .await?)
        })
        .await?;
    state.wake.wake(SupervisorKind::Backup);
    Ok(Json(backup))
}

/// `GET /api/installations/backups?installation=&cluster_installation=&state=`
async fn list_backups(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<InstallationBackup>>> {
    let filter = InstallationBackupFilter {
        paging: query.paging()?,
        installation_id: query.string("installation"),
        cluster_installation_id: query.string("cluster_installation"),
        states: parse_state(&query)?.into_iter().collect(),
        ..Default::default()
    };
    Ok(Json(state.store.installation_backup_list(&filter).await?))
}

fn parse_state(query: &QueryParams) -> ApiResult<Option<BackupState>> {
    query
        .get("state")
        .map(|s| {
            s.parse()
                .map_err(|e: String| ApiError::bad_request("state", e))
        })
        .transpose()
}

/// `GET /api/installations/backup/{id}`
async fn get_backup(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<InstallationBackup>> {
    state
        .store
        .installation_backup_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("installation backup {id}")))
}

/// `DELETE /api/installations/backup/{id}` (202, no body).
async fn delete_backup(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let lock = RowLock::take(&state.store, LockKind::Backup, &id, &request_id).await?;
    lock.hold(async {
        let backup = state
            .store
            .installation_backup_get(&id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("installation backup {id}")))?;
        if backup.api_security_lock {
            return Err(ApiError::forbidden(format!(
                "installation backup {id} is API-locked; unlock it with `cloud security backup api-unlock`"
            )));
        }
        if !backup.state.can_request_deletion() {
            return Err(ApiError::bad_request_general(format!(
                "installation backup {id} cannot be deleted in state {}",
                backup.state
            )));
        }
        if state.store.installation_backup_is_used(&id).await? {
            return Err(ApiError::bad_request_general(format!(
                "installation backup {id} is used by a restoration or DB migration in progress"
            )));
        }
        Ok(state
            .store
            .installation_backup_update_state(&backup, BackupState::DeletionRequested)
            .await?)
    })
    .await?;
    state.wake.wake(SupervisorKind::Backup);
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/security/installation/backup/{id}/api/lock` (200, no body;
/// idempotent).
async fn lock_api(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<StatusCode> {
    set_api_lock(&state, &id, true).await
}

/// `POST /api/security/installation/backup/{id}/api/unlock` (200, no body;
/// idempotent).
async fn unlock_api(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<StatusCode> {
    set_api_lock(&state, &id, false).await
}

async fn set_api_lock(state: &AppState, id: &str, locked: bool) -> ApiResult<StatusCode> {
    if state
        .store
        .installation_backup_update_api_lock(id, locked)
        .await?
    {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found(format!("installation backup {id}")))
    }
}
