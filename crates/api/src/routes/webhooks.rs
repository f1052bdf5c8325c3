//! Legacy webhook routes (74–77 of the original's table): list by owner,
//! create (202), get, delete (200; 400 when already deleted, as the
//! original). Unlike the original, a create request's headers are validated
//! (unique keys, exactly one of `value` / `value_from_env`) and every error
//! has a JSON body.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloud_model::webhook::{CreateWebhookRequest, Webhook, WebhookFilter};
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhook/{id}", get(get_webhook).delete(delete_webhook))
}

/// `GET /api/webhooks?owner=`
async fn list_webhooks(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<Webhook>>> {
    let filter = WebhookFilter {
        paging: query.paging()?,
        owner_id: query.string("owner"),
    };
    Ok(Json(state.store.webhook_list(&filter).await?))
}

/// `POST /api/webhooks` (202). An empty body reads as an empty request and
/// fails validation on `OwnerID`, as the original.
async fn create_webhook(
    State(state): State<AppState>,
    JsonBodyOrDefault(request): JsonBodyOrDefault<CreateWebhookRequest>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    request.validate()?;
    let webhook = Webhook {
        owner_id: request.owner_id,
        url: request.url,
        headers: request.headers,
        ..Default::default()
    };
    let created = state.store.webhook_create(&webhook).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `GET /api/webhook/{id}`
async fn get_webhook(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Webhook>> {
    state
        .store
        .webhook_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))
}

/// `DELETE /api/webhook/{id}` (200, no body).
async fn delete_webhook(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let webhook = state
        .store
        .webhook_get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    // `webhook_delete` is false when a concurrent delete won: same answer.
    if webhook.is_deleted() || !state.store.webhook_delete(&id).await? {
        return Err(ApiError::bad_request_general(format!(
            "webhook {id} is already deleted"
        )));
    }
    Ok(StatusCode::OK)
}
