//! # cloud-api
//!
//! The REST server: everything under `/api` with the original's paths, verbs,
//! JSON keys and success statuses, plus `GET /healthz`. Failures always carry
//! a JSON body `{"Error": "...", "Field": ...}` ([`error`]), including the
//! router's own 404/405/413 answers. [`router`] builds the whole service;
//! each resource adds its routes in `routes/<resource>.rs`.
//!
//! Layers (outermost first): request ID (a new ID per request, sent back as
//! `X-Request-Id` and used as the row-lock owner), request tracing, metrics
//! ([`metrics`]), JSON errors for anything the router answers itself, a
//! 1 MiB body limit, and panic recovery (a panicking handler is a JSON 500,
//! never a dropped connection as in the original).

pub mod error;
pub mod extract;
pub mod metrics;
pub mod routes;

pub use error::{ApiError, ApiResult};
pub use extract::{
    JsonBody, JsonBodyOrDefault, PagingQuery, PathId, PathParams, QueryParams, RequestId,
};
pub use metrics::{ApiMetrics, metrics_router};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cloud_store::SqlStore;
use cloud_supervisor::Wake;
use http::{HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Server options the handlers need (from `cloud server` flags).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// `--deploy-mysql-operator`: allows the `mysql-operator` database type.
    pub deploy_mysql_operator: bool,
    /// `--deploy-minio-operator`: allows the `minio-operator` filestore type.
    pub deploy_minio_operator: bool,
    /// `--require-annotated-installations`: creation needs ≥ 1 annotation.
    pub require_annotated_installations: bool,
    /// `--installation-deletion-pending-time`: default `DeletionPendingExpiry` offset.
    pub installation_deletion_pending_time: Duration,
    /// `--default-max-schemas-per-logical-database` for new proxy databases.
    pub default_max_schemas_per_logical_database: i64,
}

impl Default for ApiConfig {
    /// The original's flag defaults.
    fn default() -> Self {
        Self {
            deploy_mysql_operator: false,
            deploy_minio_operator: false,
            require_annotated_installations: false,
            installation_deletion_pending_time: Duration::from_secs(3 * 60),
            default_max_schemas_per_logical_database: 10,
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: SqlStore,
    pub wake: Wake,
    pub config: Arc<ApiConfig>,
    pub metrics: ApiMetrics,
}

impl AppState {
    /// A state whose metrics live in a new registry (see
    /// [`ApiMetrics::registry`] to serve them).
    pub fn new(store: SqlStore, wake: Wake, config: ApiConfig) -> Result<Self, prometheus::Error> {
        let metrics = ApiMetrics::new(prometheus::Registry::new())?;
        Ok(Self::with_metrics(store, wake, config, metrics))
    }

    pub fn with_metrics(
        store: SqlStore,
        wake: Wake,
        config: ApiConfig,
        metrics: ApiMetrics,
    ) -> Self {
        Self {
            store,
            wake,
            config: Arc::new(config),
            metrics,
        }
    }
}

/// The whole API service.
pub fn router(state: AppState) -> Router {
    router_with(state, routes::router())
}

/// The service with `api` as the `/api` routes (tests mount extra routes
/// here to exercise the layers).
pub fn router_with(state: AppState, api: Router<AppState>) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api", api)
        .fallback(unknown_route)
        // `Router::layer`: the first layer added is the innermost.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// `GET /healthz`: 200 `{"Status":"ok"}` when the database answers, else 503.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"Status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found")
}

fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The panic message itself is printed by the panic hook.
    tracing::error!("handler panicked");
    error::error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal server error",
        None,
    )
}

fn make_span(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = id,
        method = %req.method(),
        path = %req.uri().path(),
        route,
    )
}

/// Header carrying the request ID back to the client.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

async fn request_id(mut req: Request, next: Next) -> Response {
    let id = cloud_model::new_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Marker a handler puts in its response extensions to keep a non-JSON
/// error body as it is (the exec routes return command output on failure).
#[derive(Debug, Clone, Copy)]
pub struct RawErrorBody;

/// Largest non-JSON error body turned into a JSON message.
const MAX_WRAPPED_ERROR: usize = 16 * 1024;

/// Turns any error response that is not JSON (axum's 405 with an empty body,
/// a plain-text rejection) into the JSON error shape, keeping its status
/// and headers (such as `Allow`).
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || response.extensions().get::<RawErrorBody>().is_some()
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_WRAPPED_ERROR)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text.to_string()
    };
    let mut wrapped = error::error_response(status, &message, None);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            wrapped.headers_mut().append(name.clone(), value.clone());
        }
    }
    wrapped
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
