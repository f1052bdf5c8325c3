//! Group routes (original route table 65–73), installation membership
//! (26–28) and the group security lock (95–96). Paths are relative to `/api`.
//!
//! Every mutation of a group takes the group's row lock with the request ID
//! (409 when someone holds it, e.g. the group supervisor mid-rollout) and is
//! refused with 403 while the group is API-locked. Fixes of the original's
//! quirks: `GET /groups/status` with no groups is `200 []` (not 404), a bad
//! `retain_config` is a 400 (not 500), and every failure has a JSON body.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    JsonBody, JsonBodyOrDefault, PagingQuery, PathId, PathParams, QueryParams, RequestId,
};
use crate::routes::lock::{RowLock, SecurityFlag, security_routes};
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::group::{
    AssignInstallationGroupRequest, CreateGroupRequest, Group, GroupDto, GroupFilter, GroupStatus,
    GroupsStatus, PatchGroupRequest, SHOW_INSTALLATION_COUNT_PARAM,
};
use cloud_store::lock::LockedTable;
use cloud_supervisor::SupervisorKind;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/status", get(groups_status))
        .route(
            "/group/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route("/group/{id}/status", get(group_status))
        .route("/group/{id}/annotations", post(add_annotations))
        .route(
            "/group/{id}/annotation/{name}",
            axum::routing::delete(delete_annotation),
        )
        .route(
            "/installation/{id}/group/{group}",
            put(join_group).post(assign_group),
        )
        .route(
            "/installation/{id}/group",
            axum::routing::delete(leave_group),
        )
        .merge(security_routes(
            "/security/group/{id}/api",
            SecurityFlag::GroupApi,
        ))
}

/// `GET /groups`: paging and `show_installation_count`.
async fn list_groups(
    State(state): State<AppState>,
    PagingQuery(paging): PagingQuery,
    query: QueryParams,
) -> ApiResult<Json<Vec<GroupDto>>> {
    let filter = GroupFilter {
        paging,
        with_installation_count: query.bool_or(SHOW_INSTALLATION_COUNT_PARAM, false)?,
        ..GroupFilter::default()
    };
    Ok(Json(state.store.group_list(&filter).await?))
}

/// `POST /groups`: 200 (not 202) with the new group's DTO.
async fn create_group(
    State(state): State<AppState>,
    JsonBodyOrDefault(request): JsonBodyOrDefault<CreateGroupRequest>,
) -> ApiResult<Json<GroupDto>> {
    request.validate()?;
    let dto = state
        .store
        .group_create(&request.to_group(), &request.annotations)
        .await?;
    state.wake.wake(SupervisorKind::Group);
    Ok(Json(released(dto)))
}

/// `GET /groups/status`: every live group's rollout status (`[]` when there
/// are no groups).
async fn groups_status(State(state): State<AppState>) -> ApiResult<Json<Vec<GroupsStatus>>> {
    Ok(Json(state.store.groups_status().await?))
}

/// `GET /group/{id}`: deleted groups included, as in the original.
async fn get_group(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<Json<GroupDto>> {
    state
        .store
        .group_get_dto(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("group {id}")))
}

/// `GET /group/{id}/status`.
async fn group_status(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<GroupStatus>> {
    state
        .store
        .group_status(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("group {id}")))
}

/// `PUT /group/{id}`: applies the patch; the sequence is bumped by the store
/// when the installation-facing configuration changed or a bump is forced.
async fn update_group(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(request_id): RequestId,
    JsonBodyOrDefault(patch): JsonBodyOrDefault<PatchGroupRequest>,
) -> ApiResult<Json<GroupDto>> {
    patch.validate()?;
    let store = state.store.clone();
    let dto = with_group_lock(&state, &id, &request_id, |mut group| async move {
        if patch.apply(&mut group) {
            group = store
                .group_update(&group, patch.forces_sequence_bump())
                .await?;
        }
        let annotations = store
            .group_get_dto(&group.id)
            .await?
            .map(|d| d.annotations)
            .unwrap_or_default();
        Ok(group.to_dto(annotations))
    })
    .await?;
    state.wake.wake(SupervisorKind::Group);
    Ok(Json(released(dto)))
}

/// `DELETE /group/{id}`: 403 while the group has live members.
async fn delete_group(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(request_id): RequestId,
) -> ApiResult<StatusCode> {
    let store = state.store.clone();
    with_group_lock(&state, &id, &request_id, |group| async move {
        store.group_delete(&group.id).await?;
        Ok(())
    })
    .await?;
    state.wake.wake(SupervisorKind::Group);
    Ok(StatusCode::OK)
}

/// `POST /group/{id}/annotations`: 200 with the group's DTO.
async fn add_annotations(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(request_id): RequestId,
    JsonBody(request): JsonBody<AddAnnotationsRequest>,
) -> ApiResult<Json<GroupDto>> {
    request.validate()?;
    let store = state.store.clone();
    let dto = with_group_lock(&state, &id, &request_id, |group| async move {
        let annotations = store
            .group_annotations_add(&group.id, &request.annotations)
            .await?;
        Ok(group.to_dto(annotations))
    })
    .await?;
    Ok(Json(released(dto)))
}

/// `DELETE /group/{id}/annotation/{name}`: 204 (also when it was not attached).
async fn delete_annotation(
    State(state): State<AppState>,
    params: PathParams,
    RequestId(request_id): RequestId,
) -> ApiResult<StatusCode> {
    let id = params.id("id")?;
    let name = params.get("name")?.to_string();
    let store = state.store.clone();
    with_group_lock(&state, &id, &request_id, |group| async move {
        store.group_annotation_delete(&group.id, &name).await?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /installation/{id}/group/{group}`: joins the group (200, no body).
/// The configuration is rolled out later by the group supervisor.
async fn join_group(State(state): State<AppState>, params: PathParams) -> ApiResult<StatusCode> {
    let installation_id = params.id("id")?;
    let group_id = params.get("group")?;
    state
        .store
        .installation_join_group(&installation_id, group_id)
        .await?;
    wake_membership(&state);
    Ok(StatusCode::OK)
}

/// `POST /installation/{id}/group/{anything}` (the client sends `assign`):
/// joins the live group that carries all the given annotations and has the
/// fewest installations.
async fn assign_group(
    State(state): State<AppState>,
    params: PathParams,
    JsonBodyOrDefault(request): JsonBodyOrDefault<AssignInstallationGroupRequest>,
) -> ApiResult<StatusCode> {
    let installation_id = params.id("id")?;
    request.validate()?;
    let group = state
        .store
        .group_select_for_annotations(&request.group_selection_annotations)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                "GroupSelectionAnnotations",
                "no group carries all of the given annotations",
            )
        })?;
    state
        .store
        .installation_join_group(&installation_id, &group.id)
        .await?;
    wake_membership(&state);
    Ok(StatusCode::OK)
}

/// `DELETE /installation/{id}/group?retain_config=`: leaves the group and
/// requests an update (200, no body). `retain_config` defaults to true.
async fn leave_group(
    State(state): State<AppState>,
    PathId(installation_id): PathId,
    query: QueryParams,
) -> ApiResult<StatusCode> {
    let retain_config = query.bool_or("retain_config", true)?;
    state
        .store
        .installation_leave_group(&installation_id, retain_config)
        .await?;
    wake_membership(&state);
    Ok(StatusCode::OK)
}

/// The DTO as it is once this request's row lock is released.
fn released(mut dto: GroupDto) -> GroupDto {
    dto.group.lock_acquired_by = None;
    dto.group.lock_acquired_at = 0;
    dto
}

fn wake_membership(state: &AppState) {
    state.wake.wake(SupervisorKind::Installation);
    state.wake.wake(SupervisorKind::Group);
}

/// Runs `f` on the group `id` while holding its row lock for this request:
/// 404 if it does not exist, 409 if the lock is held, 403 if the group is
/// API-locked. The lock is released whatever `f` returns.
async fn with_group_lock<T, F, Fut>(
    state: &AppState,
    id: &str,
    request_id: &str,
    f: F,
) -> ApiResult<T>
where
    F: FnOnce(Group) -> Fut,
    Fut: std::future::Future<Output = ApiResult<T>>,
{
    let store = &state.store;
    let (lock, group) = RowLock::take_then(store, LockedTable::Group, id, request_id, async {
        // Read under the lock: the group may have changed meanwhile.
        let group = store
            .group_get(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("group {id}")))?;
        if group.api_security_lock {
            return Err(ApiError::forbidden(format!(
                "group {id} is API-locked; unlock it with `cloud security group api-unlock`"
            )));
        }
        Ok(group)
    })
    .await?;
    lock.hold(f(group)).await
}
