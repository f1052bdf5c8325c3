//! Cluster routes (routes 1–15 and 87–88 of the original's table): list,
//! create, import, get, retry, configure, provision, upgrade, resize,
//! utilities, annotations, node groups, delete, and the API security lock.
//!
//! Mutations follow the original: take the cluster's row lock with the
//! request ID (409 when held), refuse an API-locked cluster (403), check the
//! requested state against the transition map (400), record the new state
//! with its event in one store transaction, release the lock and wake the
//! cluster supervisor; the cloud work itself is the supervisor's. Unlike the
//! original, every failure is a JSON error, an unknown cluster on
//! `/utilities` is a 404, and a bad provision body is a 400.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, JsonBodyOrDefault, PagingQuery, PathId, PathParams, RequestId};
use crate::routes::lock::{RowLock, SecurityFlag, security_routes};
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::cluster::{Cluster, ClusterDto, ClusterFilter, ClusterState, Provisioner};
use cloud_model::cluster_request::{
    CreateClusterRequest, CreateNodegroupsRequest, ImportClusterRequest, PatchClusterSizeRequest,
    PatchUpgradeClusterRequest, ProvisionClusterRequest, UpdateClusterRequest,
};
use cloud_model::utility::UtilityMetadata;
use cloud_store::SqlStore;
use cloud_store::lock::LockedTable;
use cloud_supervisor::SupervisorKind;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(list_clusters).post(create_cluster))
        .route("/clusters/import", post(import_cluster))
        .route(
            "/cluster/{id}",
            get(get_cluster)
                .post(retry_create_cluster)
                .put(update_cluster)
                .delete(delete_cluster),
        )
        .route("/cluster/{id}/provision", post(provision_cluster))
        .route(
            "/cluster/{id}/kubernetes",
            axum::routing::put(upgrade_cluster),
        )
        .route("/cluster/{id}/size", axum::routing::put(resize_cluster))
        .route("/cluster/{id}/utilities", get(get_utilities))
        .route("/cluster/{id}/annotations", post(add_annotations))
        .route("/cluster/{id}/annotation/{name}", delete(delete_annotation))
        .route("/cluster/{id}/nodegroups", post(create_nodegroups))
        .route(
            "/cluster/{id}/nodegroup/{nodegroup}",
            delete(delete_nodegroup),
        )
        .merge(security_routes(
            "/security/cluster/{id}/api",
            SecurityFlag::ClusterApi,
        ))
}

type Accepted = (StatusCode, Json<ClusterDto>);

/// Locks the cluster and reads it under the lock; refuses an API-locked or
/// deleted cluster.
async fn lock_for_change(state: &AppState, id: &str, owner: &str) -> ApiResult<(RowLock, Cluster)> {
    let store = &state.store;
    let read = read_locked(store, id);
    RowLock::take_then(store, LockedTable::Cluster, id, owner, read).await
}

async fn read_locked(store: &SqlStore, id: &str) -> ApiResult<Cluster> {
    let cluster = store
        .cluster_get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {id}")))?;
    if cluster.api_security_lock {
        return Err(ApiError::forbidden(format!(
            "cluster {id} has its API security lock set; unlock it to change it"
        )));
    }
    if cluster.is_deleted() {
        return Err(ApiError::bad_request_general(format!(
            "cluster {id} is deleted"
        )));
    }
    Ok(cluster)
}

/// 400 unless the API may move the cluster to `requested`.
fn check_transition(cluster: &Cluster, requested: ClusterState) -> ApiResult<()> {
    if requested.can_request(cluster.state) {
        return Ok(());
    }
    let allowed: Vec<&str> = requested
        .allowed_from()
        .iter()
        .map(|s| s.as_str())
        .collect();
    Err(ApiError::bad_request_general(format!(
        "cluster {} is in state {}; {} can only be requested from {}",
        cluster.id,
        cluster.state,
        requested,
        allowed.join(", ")
    )))
}

/// The cluster with its annotations, after a change.
async fn dto(state: &AppState, id: &str) -> ApiResult<ClusterDto> {
    state
        .store
        .cluster_get_dto(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {id}")))
}

/// Runs `change` on the locked cluster; when it returns a new state (or
/// `Some(current)` for a configuration-only change) the cluster is saved
/// with the state's event. Answers 202 with the DTO.
async fn change_cluster<F>(
    state: &AppState,
    id: &str,
    owner: &str,
    change: F,
) -> ApiResult<Accepted>
where
    F: FnOnce(&mut Cluster) -> ApiResult<Option<ClusterState>>,
{
    let (lock, mut cluster) = lock_for_change(state, id, owner).await?;
    let moved = lock
        .hold(async {
            let old_state = cluster.state;
            let Some(new_state) = change(&mut cluster)? else {
                return Ok(false);
            };
            cluster.state = new_state;
            state
                .store
                .cluster_update_with_event(&cluster, old_state)
                .await?;
            Ok(new_state != old_state)
        })
        .await?;
    if moved {
        state.wake.wake(SupervisorKind::Cluster);
    }
    Ok((StatusCode::ACCEPTED, Json(dto(state, id).await?)))
}

/// `GET /api/clusters`
async fn list_clusters(
    State(state): State<AppState>,
    PagingQuery(paging): PagingQuery,
) -> ApiResult<Json<Vec<ClusterDto>>> {
    let filter = ClusterFilter {
        paging,
        ..Default::default()
    };
    Ok(Json(state.store.cluster_list_dto(&filter).await?))
}

/// `POST /api/clusters`
async fn create_cluster(
    State(state): State<AppState>,
    JsonBodyOrDefault(mut request): JsonBodyOrDefault<CreateClusterRequest>,
) -> ApiResult<Accepted> {
    request.set_defaults();
    let mut cluster = request.build_cluster()?;
    let created = state
        .store
        .cluster_create(&mut cluster, &request.annotations)
        .await?;
    state.wake.wake(SupervisorKind::Cluster);
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `POST /api/clusters/import`
async fn import_cluster(
    State(state): State<AppState>,
    JsonBodyOrDefault(request): JsonBodyOrDefault<ImportClusterRequest>,
) -> ApiResult<Accepted> {
    // The original also checks here that the kubeconfig secret exists in
    // AWS Secrets Manager and that the VPC exists (400 otherwise). Those
    // checks need the AWS adapter (issue 6); until then the request is
    // recorded as given and the supervisor's creation step finds a bad
    // secret or VPC.
    let mut cluster = request.build_cluster()?;
    let created = state
        .store
        .cluster_create(&mut cluster, &request.annotations)
        .await?;
    state.wake.wake(SupervisorKind::Cluster);
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `GET /api/cluster/{id}` (deleted clusters too).
async fn get_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<ClusterDto>> {
    Ok(Json(dto(&state, &id).await?))
}

/// `POST /api/cluster/{id}`: retry creation.
async fn retry_create_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
) -> ApiResult<Accepted> {
    change_cluster(&state, &id, &owner, |cluster| {
        check_transition(cluster, ClusterState::CreationRequested)?;
        Ok(Some(ClusterState::CreationRequested))
    })
    .await
}

/// `PUT /api/cluster/{id}`: name and `AllowInstallations`; no state change.
async fn update_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<UpdateClusterRequest>,
) -> ApiResult<Accepted> {
    let (lock, mut cluster) = lock_for_change(&state, &id, &owner).await?;
    lock.hold(async {
        if request.apply(&mut cluster) {
            state.store.cluster_update(&cluster).await?;
        }
        Ok(())
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(dto(&state, &id).await?)))
}

/// `POST /api/cluster/{id}/provision`
async fn provision_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<ProvisionClusterRequest>,
) -> ApiResult<Accepted> {
    request.validate()?;
    change_cluster(&state, &id, &owner, |cluster| {
        check_transition(cluster, ClusterState::ProvisioningRequested)?;
        request.apply(cluster)?;
        Ok(Some(ClusterState::ProvisioningRequested))
    })
    .await
}

/// `PUT /api/cluster/{id}/kubernetes`: the state moves only when the patch
/// changes something.
async fn upgrade_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<PatchUpgradeClusterRequest>,
) -> ApiResult<Accepted> {
    request.validate()?;
    change_cluster(&state, &id, &owner, |cluster| {
        check_transition(cluster, ClusterState::UpgradeRequested)?;
        Ok(request
            .apply(cluster)?
            .then_some(ClusterState::UpgradeRequested))
    })
    .await
}

/// `PUT /api/cluster/{id}/size`: the state moves only when the patch
/// changes something.
async fn resize_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<PatchClusterSizeRequest>,
) -> ApiResult<Accepted> {
    request.validate()?;
    change_cluster(&state, &id, &owner, |cluster| {
        check_transition(cluster, ClusterState::ResizeRequested)?;
        Ok(request
            .apply(cluster)?
            .then_some(ClusterState::ResizeRequested))
    })
    .await
}

/// `GET /api/cluster/{id}/utilities`
async fn get_utilities(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<UtilityMetadata>> {
    let cluster = state
        .store
        .cluster_get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {id}")))?;
    Ok(Json(cluster.utility_metadata.unwrap_or_default()))
}

/// `POST /api/cluster/{id}/annotations` (200, as the original).
async fn add_annotations(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBody(request): JsonBody<AddAnnotationsRequest>,
) -> ApiResult<Json<ClusterDto>> {
    request.validate()?;
    let (lock, _cluster) = lock_for_change(&state, &id, &owner).await?;
    lock.hold(async {
        let store = &state.store;
        Ok(store
            .cluster_annotations_add(&id, &request.annotations)
            .await?)
    })
    .await?;
    Ok(Json(dto(&state, &id).await?))
}

/// `DELETE /api/cluster/{id}/annotation/{name}` (204; also when the cluster
/// did not carry it). 403 while a hosted installation carries it.
async fn delete_annotation(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    params: PathParams,
) -> ApiResult<StatusCode> {
    let name = params.get("name")?.to_string();
    let (lock, _cluster) = lock_for_change(&state, &id, &owner).await?;
    lock.hold(async { Ok(state.store.cluster_annotation_delete(&id, &name).await?) })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_eks(cluster: &Cluster) -> ApiResult<()> {
    if cluster.provisioner == Provisioner::Eks {
        Ok(())
    } else {
        Err(ApiError::bad_request_general(format!(
            "node groups can only be managed on EKS clusters; cluster {} is provisioned by {}",
            cluster.id, cluster.provisioner
        )))
    }
}

/// `POST /api/cluster/{id}/nodegroups` (EKS only).
async fn create_nodegroups(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    JsonBody(mut request): JsonBody<CreateNodegroupsRequest>,
) -> ApiResult<Accepted> {
    request.set_defaults();
    request.validate()?;
    change_cluster(&state, &id, &owner, |cluster| {
        require_eks(cluster)?;
        check_transition(cluster, ClusterState::NodegroupsCreationRequested)?;
        let eks = cluster.provisioner_metadata_eks.get_or_insert_default();
        eks.validate_nodegroups_create_request(&request)?;
        eks.apply_nodegroups_create_request(&request);
        Ok(Some(ClusterState::NodegroupsCreationRequested))
    })
    .await
}

/// `DELETE /api/cluster/{id}/nodegroup/{nodegroup}` (EKS only).
async fn delete_nodegroup(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
    params: PathParams,
) -> ApiResult<Accepted> {
    let nodegroup = params.get("nodegroup")?.to_string();
    change_cluster(&state, &id, &owner, |cluster| {
        require_eks(cluster)?;
        check_transition(cluster, ClusterState::NodegroupsDeletionRequested)?;
        let eks = cluster.provisioner_metadata_eks.get_or_insert_default();
        eks.validate_nodegroup_delete_request(&nodegroup)?;
        eks.apply_nodegroup_delete_request(&nodegroup);
        Ok(Some(ClusterState::NodegroupsDeletionRequested))
    })
    .await
}

/// `DELETE /api/cluster/{id}` (202, no body). Takes the scheduling lock,
/// so no installation is placed on the cluster meanwhile, then the row lock.
async fn delete_cluster(
    State(state): State<AppState>,
    PathId(id): PathId,
    RequestId(owner): RequestId,
) -> ApiResult<StatusCode> {
    let scheduling = LockedTable::ClusterScheduling;
    let deletion = request_deletion(&state, &id, &owner);
    if RowLock::run(&state.store, scheduling, &id, &owner, deletion).await? {
        state.wake.wake(SupervisorKind::Cluster);
    }
    Ok(StatusCode::ACCEPTED)
}

/// Moves the cluster to `deletion-requested`; returns whether it moved.
async fn request_deletion(state: &AppState, id: &str, owner: &str) -> ApiResult<bool> {
    let (lock, cluster) = lock_for_change(state, id, owner).await?;
    lock.hold(async {
        let live = state.store.cluster_installation_count_live(id).await?;
        if live > 0 {
            return Err(ApiError::forbidden(format!(
                "cluster {id} still hosts {live} cluster installation(s); delete or move them first"
            )));
        }
        let deleting = state.store.cluster_deleting_installation_count(id).await?;
        if deleting > 0 {
            return Err(ApiError::forbidden(format!(
                "{deleting} installation(s) being deleted still need cluster {id}; try again when their deletion is done"
            )));
        }
        check_transition(&cluster, ClusterState::DeletionRequested)?;
        let requested = ClusterState::DeletionRequested;
        state
            .store
            .cluster_update_state(id, cluster.state, requested)
            .await?;
        Ok(cluster.state != requested)
    })
    .await
}
