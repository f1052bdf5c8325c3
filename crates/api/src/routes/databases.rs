//! Shared-database routes (78–86 of the original's table): multitenant
//! databases (list, get, `MaxInstallationsPerLogicalDatabase` update, delete),
//! logical databases (list, get, delete) and schemas (list, get).
//!
//! The deletes are record-only for now. The multitenant delete answers 204
//! for an already-deleted row, as the original; its check that the RDS
//! cluster no longer exists (skipped by `?force=true`) comes with the AWS
//! issue, so until then every delete behaves as forced. The logical-database
//! delete refuses a database that still has live schemas (400); the
//! `DROP DATABASE` on the cluster's writer endpoint comes with the tenant
//! database (dbadmin) issue. Neither touches AWS resources.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams, RequestId};
use crate::routes::lock::RowLock;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloud_model::database::{
    DatabaseEngineType, DatabaseSchema, DatabaseSchemaFilter, LogicalDatabase,
    LogicalDatabaseFilter, MultitenantDatabase, MultitenantDatabaseFilter,
    PatchMultitenantDatabaseRequest,
};
use cloud_model::filter::Paging;
use cloud_store::lock::LockedTable;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/databases/multitenant_databases",
            get(list_multitenant_databases),
        )
        .route(
            "/databases/multitenant_database/{id}",
            get(get_multitenant_database)
                .put(update_multitenant_database)
                .delete(delete_multitenant_database),
        )
        .route("/databases/logical_databases", get(list_logical_databases))
        .route(
            "/databases/logical_database/{id}",
            get(get_logical_database).delete(delete_logical_database),
        )
        .route("/databases/database_schemas", get(list_database_schemas))
        .route("/databases/database_schema/{id}", get(get_database_schema))
}

/// `GET /api/databases/multitenant_databases?vpc_id=&database_type=`
async fn list_multitenant_databases(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<MultitenantDatabase>>> {
    let database_type = query
        .get("database_type")
        .map(|t| {
            t.parse::<DatabaseEngineType>()
                .map_err(|e| ApiError::bad_request("database_type", e))
        })
        .transpose()?;
    let filter = MultitenantDatabaseFilter {
        paging: query.paging()?,
        vpc_id: query.string("vpc_id"),
        database_type,
        ..Default::default()
    };
    Ok(Json(state.store.multitenant_database_list(&filter).await?))
}

/// `GET /api/databases/multitenant_database/{id}`
async fn get_multitenant_database(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<MultitenantDatabase>> {
    state
        .store
        .multitenant_database_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("multitenant database {id}")))
}

/// `PUT /api/databases/multitenant_database/{id}` (200): only
/// `MaxInstallationsPerLogicalDatabase` of a PgBouncer (`postgres-proxy`)
/// database changes; other types answer unchanged, as the original.
async fn update_multitenant_database(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    PathId(id): PathId,
    JsonBodyOrDefault(patch): JsonBodyOrDefault<PatchMultitenantDatabaseRequest>,
) -> ApiResult<Json<MultitenantDatabase>> {
    patch.validate()?;
    let store = &state.store;
    let table = LockedTable::MultitenantDatabase;
    let mut database = RowLock::run(store, table, &id, &request_id, async {
        let mut database = store
            .multitenant_database_get(&id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("multitenant database {id}")))?;
        if patch.apply(&mut database) {
            store.multitenant_database_update(&database).await?;
        }
        Ok(database)
    })
    .await?;
    // The lock columns read under the lock are ours; answer the row as it
    // stands after the release.
    database.lock_acquired_by = None;
    database.lock_acquired_at = 0;
    Ok(Json(database))
}

/// `DELETE /api/databases/multitenant_database/{id}?force=` (204).
async fn delete_multitenant_database(
    State(state): State<AppState>,
    PathId(id): PathId,
    query: QueryParams,
) -> ApiResult<StatusCode> {
    // Parsed so a bad value is a 400; it matters once the RDS check exists.
    let _force = query.bool_or("force", false)?;
    let database = state
        .store
        .multitenant_database_get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("multitenant database {id}")))?;
    if !database.is_deleted() {
        // Without `force`, the original first refuses (400) while the RDS
        // cluster still exists; that check comes with the AWS issue.
        state.store.multitenant_database_delete(&id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/databases/logical_databases?multitenant_database_id=`
async fn list_logical_databases(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<LogicalDatabase>>> {
    let filter = LogicalDatabaseFilter {
        paging: query.paging()?,
        multitenant_database_id: query.string("multitenant_database_id"),
    };
    Ok(Json(state.store.logical_database_list(&filter).await?))
}

/// `GET /api/databases/logical_database/{id}`
async fn get_logical_database(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<LogicalDatabase>> {
    state
        .store
        .logical_database_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("logical database {id}")))
}

/// `DELETE /api/databases/logical_database/{id}` (204).
async fn delete_logical_database(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let logical = state
        .store
        .logical_database_get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("logical database {id}")))?;
    if logical.is_deleted() {
        return Ok(StatusCode::NO_CONTENT);
    }
    // The parent's lock keeps provisioning from adding a schema meanwhile.
    let parent = &logical.multitenant_database_id;
    let table = LockedTable::MultitenantDatabase;
    RowLock::run(&state.store, table, parent, &request_id, async {
        let schemas = state
            .store
            .database_schema_list(&DatabaseSchemaFilter {
                paging: Paging::all_live(),
                logical_database_id: Some(id.clone()),
                ..Default::default()
            })
            .await?;
        if !schemas.is_empty() {
            return Err(ApiError::bad_request_general(format!(
                "logical database {id} still has {} schema(s); it can only be deleted when empty",
                schemas.len()
            )));
        }
        // `DROP DATABASE IF EXISTS <name>` on the writer endpoint comes with
        // the tenant-database (dbadmin) issue and will run here.
        Ok(state.store.logical_database_delete(&id).await?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/databases/database_schemas?logical_database_id=&installation_id=`
async fn list_database_schemas(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<DatabaseSchema>>> {
    let filter = DatabaseSchemaFilter {
        paging: query.paging()?,
        logical_database_id: query.string("logical_database_id"),
        installation_id: query.string("installation_id"),
    };
    Ok(Json(state.store.database_schema_list(&filter).await?))
}

/// `GET /api/databases/database_schema/{id}`
async fn get_database_schema(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<DatabaseSchema>> {
    state
        .store
        .database_schema_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("database schema {id}")))
}
