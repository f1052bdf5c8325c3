//! Installation backup routes (40–43 of the original's table) and the
//! backup API security lock (97–98).
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
use crate::routes::lock::{RowLock, SecurityFlag, lock_installation, security_routes};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloud_model::backup::{
    BackupState, InstallationBackup, InstallationBackupFilter, InstallationBackupRequest,
    ensure_backup_compatible,
};
use cloud_store::lock::LockedTable;
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
        .merge(security_routes(
            "/security/installation/backup/{id}/api",
            SecurityFlag::BackupApi,
        ))
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
    let store = &state.store;
    RowLock::run(store, LockedTable::InstallationBackup, &id, &request_id, async {
        let backup = store
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
        if store.installation_backup_is_used(&id).await? {
            return Err(ApiError::bad_request_general(format!(
                "installation backup {id} is used by a restoration or DB migration in progress"
            )));
        }
        Ok(store
            .installation_backup_update_state(&backup, BackupState::DeletionRequested)
            .await?)
    })
    .await?;
    state.wake.wake(SupervisorKind::Backup);
    Ok(StatusCode::ACCEPTED)
}
