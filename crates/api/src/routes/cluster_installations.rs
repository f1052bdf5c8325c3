//! Cluster-installation routes: the reads (original route table 52 and 58),
//! the security lock (93–94), and the routes that need a Kubernetes
//! connection (59–64: config, exec, mattermost_cli, pprof, status). Those
//! check everything they can without Kubernetes (the object exists: 404; it
//! is not deleted: 410; it is not API-locked for writes: 403; the body and
//! the command are well formed: 400) and then answer 501 with a JSON error
//! saying that the Kubernetes connection is not available yet. The
//! migration routes (53–57) live with the migration work.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PagingQuery, PathId, PathParams, QueryParams};
use crate::routes::lock::{SecurityFlag, security_routes};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_model::cluster_installation::{
    ClusterInstallation, ClusterInstallationConfig, ClusterInstallationFilter,
};
use http::StatusCode;

/// Commands `POST …/exec/{command}` may run.
pub const EXEC_COMMANDS: [&str; 2] = ["mmctl", "mattermost"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cluster_installations", get(list))
        .route("/cluster_installation/{id}", get(get_one))
        .route(
            "/cluster_installation/{id}/config",
            get(get_config).put(set_config),
        )
        .route("/cluster_installation/{id}/exec/{command}", post(exec))
        .route(
            "/cluster_installation/{id}/mattermost_cli",
            post(mattermost_cli),
        )
        .route("/cluster_installation/{id}/pprof", get(pprof))
        .route("/cluster_installation/{id}/status", get(status))
        .merge(security_routes(
            "/security/cluster_installation/{id}/api",
            SecurityFlag::ClusterInstallationApi,
        ))
}

/// `GET /cluster_installations?cluster=&installation=` plus paging; an
/// empty filter value means no filter, as in the original.
async fn list(
    State(state): State<AppState>,
    PagingQuery(paging): PagingQuery,
    query: QueryParams,
) -> ApiResult<Json<Vec<ClusterInstallation>>> {
    let filter = ClusterInstallationFilter {
        paging,
        cluster_id: query.string("cluster"),
        installation_id: query.string("installation"),
        ..ClusterInstallationFilter::default()
    };
    Ok(Json(state.store.cluster_installation_list(&filter).await?))
}

/// `GET /cluster_installation/{id}`: deleted ones included.
async fn get_one(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<ClusterInstallation>> {
    state
        .store
        .cluster_installation_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("cluster installation {id}")))
}

/// `GET /cluster_installation/{id}/config`.
async fn get_config(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<StatusCode> {
    live(&state, &id).await?;
    Err(needs_kubernetes("reading the Mattermost configuration"))
}

/// `PUT /cluster_installation/{id}/config`: the body is a nested object
/// whose leaves must be strings (each becomes one `mmctl config set`).
async fn set_config(
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonBody(config): JsonBody<ClusterInstallationConfig>,
) -> ApiResult<StatusCode> {
    check_config_leaves(&config, "")?;
    writable(&state, &id).await?;
    Err(needs_kubernetes("setting the Mattermost configuration"))
}

/// `POST /cluster_installation/{id}/exec/{command}`: `mmctl` or
/// `mattermost`, with a JSON array of arguments.
async fn exec(
    State(state): State<AppState>,
    params: PathParams,
    JsonBody(_args): JsonBody<Vec<String>>,
) -> ApiResult<StatusCode> {
    let id = params.id("id")?;
    let command = params.get("command")?;
    if !EXEC_COMMANDS.contains(&command) {
        return Err(ApiError::bad_request(
            "command",
            format!("command {command:?} is not allowed; use mmctl or mattermost"),
        ));
    }
    writable(&state, &id).await?;
    Err(needs_kubernetes(&format!("running {command}")))
}

/// `POST /cluster_installation/{id}/mattermost_cli` (deprecated): a JSON
/// array of `mattermost` arguments.
async fn mattermost_cli(
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonBody(_args): JsonBody<Vec<String>>,
) -> ApiResult<StatusCode> {
    writable(&state, &id).await?;
    Err(needs_kubernetes("running the mattermost CLI"))
}

/// `GET /cluster_installation/{id}/pprof`.
async fn pprof(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<StatusCode> {
    live(&state, &id).await?;
    Err(needs_kubernetes("collecting pprof profiles"))
}

/// `GET /cluster_installation/{id}/status`.
async fn status(State(state): State<AppState>, PathId(id): PathId) -> ApiResult<StatusCode> {
    live(&state, &id).await?;
    Err(needs_kubernetes("reading the pods' status"))
}

/// The cluster installation, which must exist (404) and not be deleted (410).
async fn live(state: &AppState, id: &str) -> ApiResult<ClusterInstallation> {
    let ci = state
        .store
        .cluster_installation_get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster installation {id}")))?;
    if ci.is_deleted() {
        return Err(ApiError::gone(format!(
            "cluster installation {id} is deleted"
        )));
    }
    Ok(ci)
}

/// Like [`live`], and not API-locked (403).
async fn writable(state: &AppState, id: &str) -> ApiResult<ClusterInstallation> {
    let ci = live(state, id).await?;
    if ci.api_security_lock {
        return Err(ApiError::forbidden(format!(
            "cluster installation {id} is API-locked; unlock it with `cloud security cluster-installation api-unlock`"
        )));
    }
    Ok(ci)
}

/// Every leaf of a config document must be a string (the original answers
/// 500 for anything else; it is the client's mistake, so 400 here).
fn check_config_leaves(config: &ClusterInstallationConfig, prefix: &str) -> ApiResult<()> {
    if config.is_empty() && prefix.is_empty() {
        return Err(ApiError::bad_request_general(
            "the config document is empty",
        ));
    }
    for (key, value) in config {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::String(_) => {}
            serde_json::Value::Object(inner) => check_config_leaves(inner, &path)?,
            _ => {
                return Err(ApiError::bad_request(
                    path.clone(),
                    format!("config value {path} must be a string or an object"),
                ));
            }
        }
    }
    Ok(())
}

fn needs_kubernetes(what: &str) -> ApiError {
    ApiError::not_implemented(format!(
        "{what} needs a Kubernetes connection to the cluster, which this server does not have yet"
    ))
}
