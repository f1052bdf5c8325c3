//! Database restoration and migration routes (44–51 of the original's
//! table).
//!
//! - Restoration request: lock the installation (404/409), refuse an
//!   API-locked one (403), check it may move to `db-restoration-in-progress`
//!   (from `hibernating`, 400), find the backup (404) and check it can be
//!   restored (400); the operation and the installation's new state are one
//!   store transaction. 202.
//! - Migration request: the same lock and checks towards
//!   `db-migration-in-progress`, no succeeded-but-uncommitted migration, and
//!   the destination rules that need only the store: both databases
//!   `aws-multitenant-rds-postgres`, the destination shared database exists,
//!   differs from the current one, is in the same VPC, does not still hold
//!   the installation's migrated data and has capacity (weight < 300). 202.
//! - Commit (200) from `succeeded`; rollback (202) from `succeeded` with the
//!   installation `hibernating`.
//!
//! What needs AWS or the tenant databases comes with those issues: the
//! commit's `DROP DATABASE` of the old data on the source cluster (the
//! original's `TeardownMigrated`; this route does the record half), and the
//! supervisors that run the backup, restore and switch.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams, RequestId};
use crate::routes::lock::{RowLock, lock_installation};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_model::database::MultitenantDatabase;
use cloud_model::db_migration::{
    InstallationDBMigrationFilter, InstallationDBMigrationOperation,
    InstallationDBMigrationRequest, MIGRATABLE_DATABASE_TYPE, MIGRATION_DESTINATION_WEIGHT_LIMIT,
    MigrationState, MultiTenantDBMigrationData,
};
use cloud_model::db_restoration::{
    InstallationDBRestorationFilter, InstallationDBRestorationOperation,
    InstallationDBRestorationRequest, RestorationState, ensure_ready_for_restoration,
};
use cloud_model::filter::Paging;
use cloud_model::installation::{Installation, InstallationState};
use cloud_store::lock::LockedTable;
use cloud_supervisor::SupervisorKind;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/installations/operations/database/restorations",
            get(list_restorations).post(request_restoration),
        )
        .route(
            "/installations/operations/database/restoration/{id}",
            get(get_restoration),
        )
        .route(
            "/installations/operations/database/migrations",
            get(list_migrations).post(request_migration),
        )
        .route(
            "/installations/operations/database/migration/{id}",
            get(get_migration),
        )
        .route(
            "/installations/operations/database/migration/{id}/commit",
            post(commit_migration),
        )
        .route(
            "/installations/operations/database/migration/{id}/rollback",
            post(rollback_migration),
        )
}

/// The checks of the original's `getInstallationForTransition` once the
/// installation is locked: refuse an API-locked installation (403) or one
/// that may not move to `new_state` (400).
fn check_transition(installation: &Installation, new_state: InstallationState) -> ApiResult<()> {
    let id = &installation.id;
    if installation.api_security_lock {
        return Err(ApiError::forbidden(format!(
            "installation {id} is API-locked; unlock it with `cloud security installation api-unlock`"
        )));
    }
    if !new_state.can_be_requested_from(installation.state) {
        return Err(ApiError::bad_request(
            "InstallationID",
            format!(
                "installation {id} cannot move to {new_state} from state {}",
                installation.state
            ),
        ));
    }
    Ok(())
}

/// `POST /api/installations/operations/database/restorations` (202).
async fn request_restoration(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<InstallationDBRestorationRequest>,
) -> ApiResult<(StatusCode, Json<InstallationDBRestorationOperation>)> {
    request.validate()?;
    let (lock, installation) =
        lock_installation(&state, &request.installation_id, &request_id).await?;
    let operation = lock
        .hold(restore_locked(&state, &installation, &request))
        .await?;
    state.wake.wake(SupervisorKind::DbRestoration);
    Ok((StatusCode::ACCEPTED, Json(operation)))
}

/// The restoration request once the installation is locked.
async fn restore_locked(
    state: &AppState,
    installation: &Installation,
    request: &InstallationDBRestorationRequest,
) -> ApiResult<InstallationDBRestorationOperation> {
    check_transition(installation, InstallationState::DbRestorationInProgress)?;
    let backup = state
        .store
        .installation_backup_get(&request.backup_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("installation backup {}", request.backup_id)))?;
    ensure_ready_for_restoration(installation, &backup).map_err(|e| {
        let field = if e.field == "BackupID" {
            "BackupID"
        } else {
            "InstallationID"
        };
        ApiError::bad_request(field, e.message)
    })?;
    Ok(state
        .store
        .installation_db_restoration_trigger(installation, &backup)
        .await?)
}

/// `GET /api/installations/operations/database/restorations?installation=&cluster_installation=&state=`
async fn list_restorations(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<InstallationDBRestorationOperation>>> {
    let states: Vec<RestorationState> = query
        .get("state")
        .map(|s| {
            s.parse()
                .map_err(|e: String| ApiError::bad_request("state", e))
        })
        .transpose()?
        .into_iter()
        .collect();
    let filter = InstallationDBRestorationFilter {
        paging: query.paging()?,
        installation_id: query.string("installation"),
        cluster_installation_id: query.string("cluster_installation"),
        states,
        ..Default::default()
    };
    Ok(Json(
        state
            .store
            .installation_db_restoration_list(&filter)
            .await?,
    ))
}

/// `GET /api/installations/operations/database/restoration/{id}`
async fn get_restoration(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<InstallationDBRestorationOperation>> {
    state
        .store
        .installation_db_restoration_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("installation db restoration {id}")))
}

/// `POST /api/installations/operations/database/migrations` (202).
async fn request_migration(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<InstallationDBMigrationRequest>,
) -> ApiResult<(StatusCode, Json<InstallationDBMigrationOperation>)> {
    request.validate()?;
    let (lock, installation) =
        lock_installation(&state, &request.installation_id, &request_id).await?;
    let operation = lock
        .hold(migrate_locked(&state, &installation, &request))
        .await?;
    state.wake.wake(SupervisorKind::DbMigration);
    Ok((StatusCode::ACCEPTED, Json(operation)))
}

/// The migration request once the installation is locked.
async fn migrate_locked(
    state: &AppState,
    installation: &Installation,
    request: &InstallationDBMigrationRequest,
) -> ApiResult<InstallationDBMigrationOperation> {
    check_transition(installation, InstallationState::DbMigrationInProgress)?;
    let uncommitted = state
        .store
        .installation_db_migration_list(&InstallationDBMigrationFilter {
            paging: Paging::all_live(),
            installation_id: Some(installation.id.clone()),
            states: vec![MigrationState::Succeeded],
            ..Default::default()
        })
        .await?;
    if !uncommitted.is_empty() {
        return Err(ApiError::bad_request_general(format!(
            "installation {} has a succeeded DB migration that is not committed; commit or roll it back first",
            installation.id
        )));
    }
    let current = state
        .store
        .multitenant_database_get_for_installation(&installation.id)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                "InstallationID",
                format!(
                    "installation {} is not in a multitenant database",
                    installation.id
                ),
            )
        })?;
    let destination = validate_destination(state, installation, request, &current).await?;
    let operation = InstallationDBMigrationOperation {
        installation_id: installation.id.clone(),
        source_database: installation.database,
        destination_database: MIGRATABLE_DATABASE_TYPE,
        source_multi_tenant: Some(MultiTenantDBMigrationData {
            database_id: current.id.clone(),
        }),
        destination_multi_tenant: Some(MultiTenantDBMigrationData {
            database_id: destination.id,
        }),
        ..Default::default()
    };
    Ok(state
        .store
        .installation_db_migration_trigger(&operation, installation)
        .await?)
}

/// The original's `validateDBMigration` (its store-only part).
async fn validate_destination(
    state: &AppState,
    installation: &Installation,
    request: &InstallationDBMigrationRequest,
    current: &MultitenantDatabase,
) -> ApiResult<MultitenantDatabase> {
    if installation.database != MIGRATABLE_DATABASE_TYPE {
        return Err(ApiError::bad_request(
            "InstallationID",
            format!(
                "db migration is supported only when both source and destination are {:?} database types; installation {} uses {:?}",
                MIGRATABLE_DATABASE_TYPE.as_str(),
                installation.id,
                installation.database.as_str()
            ),
        ));
    }
    let field = "DestinationMultiTenant.DatabaseID";
    let destination_id = request
        .destination_multi_tenant
        .as_ref()
        .map(|d| d.database_id.as_str())
        .unwrap_or_default();
    let destination = state
        .store
        .multitenant_database_get(destination_id)
        .await?
        .filter(|d| !d.is_deleted())
        .ok_or_else(|| {
            ApiError::bad_request(
                field,
                format!("destination database with id {destination_id:?} not found"),
            )
        })?;
    if destination.id == current.id {
        return Err(ApiError::bad_request(
            field,
            "destination database is the same as current",
        ));
    }
    if destination.vpc_id != current.vpc_id {
        return Err(ApiError::bad_request(
            field,
            "databases VPCs do not match, only migration inside the same VPC is supported",
        ));
    }
    if destination.hosted_migrated(&installation.id) {
        return Err(ApiError::bad_request(
            field,
            format!(
                "installation {} still exists in migrated installations for {} database, clean it up before migration",
                installation.id, destination.id
            ),
        ));
    }
    let weight = state
        .store
        .multitenant_database_total_weight(&destination.installations)
        .await?;
    if weight >= MIGRATION_DESTINATION_WEIGHT_LIMIT {
        return Err(ApiError::bad_request(
            field,
            format!("cannot migrate to database, installations weight reached the limit: {weight}"),
        ));
    }
    Ok(destination)
}

/// `GET /api/installations/operations/database/migrations?installation=&state=`
/// (`cluster_installation`, which the Go client sends, is ignored as by the
/// original).
async fn list_migrations(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<InstallationDBMigrationOperation>>> {
    let states: Vec<MigrationState> = query
        .get("state")
        .map(|s| {
            s.parse()
                .map_err(|e: String| ApiError::bad_request("state", e))
        })
        .transpose()?
        .into_iter()
        .collect();
    let filter = InstallationDBMigrationFilter {
        paging: query.paging()?,
        installation_id: query.string("installation"),
        states,
        ..Default::default()
    };
    Ok(Json(
        state.store.installation_db_migration_list(&filter).await?,
    ))
}

/// `GET /api/installations/operations/database/migration/{id}`
async fn get_migration(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<InstallationDBMigrationOperation>> {
    state
        .store
        .installation_db_migration_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("installation db migration {id}")))
}

/// Locks the migration and reads it under the lock.
async fn lock_migration(
    state: &AppState,
    id: &str,
    owner: &str,
) -> ApiResult<(RowLock, InstallationDBMigrationOperation)> {
    let store = &state.store;
    let table = LockedTable::InstallationDbMigration;
    RowLock::take_then(store, table, id, owner, async {
        store
            .installation_db_migration_get(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("installation db migration {id}")))
    })
    .await
}

/// `POST /api/installations/operations/database/migration/{id}/commit` (200).
async fn commit_migration(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    PathId(id): PathId,
) -> ApiResult<Json<InstallationDBMigrationOperation>> {
    let (lock, operation) = lock_migration(&state, &id, &request_id).await?;
    let committed = lock
        .hold(async {
            if !operation.state.can_commit() {
                return Err(ApiError::bad_request_general(format!(
                    "installation db migration {id} cannot be committed in state {}; only a succeeded migration can",
                    operation.state
                )));
            }
            // Dropping the installation's old database on the source cluster
            // (the original's `TeardownMigrated`) comes with the AWS /
            // tenant-database issue and will run here, before the record is
            // committed.
            Ok(state
                .store
                .installation_db_migration_commit(&operation)
                .await?)
        })
        .await?;
    Ok(Json(committed))
}

/// `POST /api/installations/operations/database/migration/{id}/rollback` (202).
async fn rollback_migration(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    PathId(id): PathId,
) -> ApiResult<(StatusCode, Json<InstallationDBMigrationOperation>)> {
    let (lock, operation) = lock_migration(&state, &id, &request_id).await?;
    let rolled_back = lock
        .hold(async {
            if !operation.state.can_request_rollback() {
                return Err(ApiError::bad_request_general(format!(
                    "installation db migration {id} cannot be rolled back in state {}; only a succeeded migration can",
                    operation.state
                )));
            }
            let (installation_lock, installation) =
                lock_installation(&state, &operation.installation_id, &request_id).await?;
            installation_lock
                .hold(async {
                    if installation.state != InstallationState::Hibernating {
                        return Err(ApiError::bad_request_general(format!(
                            "installation {} must be hibernating to roll back its DB migration (state {})",
                            installation.id, installation.state
                        )));
                    }
                    Ok(state
                        .store
                        .installation_db_migration_rollback(&operation, &installation)
                        .await?)
                })
                .await
        })
        .await?;
    state.wake.wake(SupervisorKind::DbMigration);
    Ok((StatusCode::ACCEPTED, Json(rolled_back)))
}
