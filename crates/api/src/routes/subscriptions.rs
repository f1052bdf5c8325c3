//! Event subscription routes (99–102 of the original's table): list by
//! owner and event type (newest first), register (202), get, delete (200;
//! 400 when already deleted, as the original). Unlike the original, the URL
//! must be an http(s) URL with a host and the headers are validated. The
//! create answer carries the subscription's signing secret (`Secret`), which
//! no later read shows.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloud_model::event::EventType;
use cloud_model::subscription::{CreateSubscriptionRequest, Subscription, SubscriptionFilter};
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions",
            get(list_subscriptions).post(create_subscription),
        )
        .route(
            "/subscription/{id}",
            get(get_subscription).delete(delete_subscription),
        )
}

/// `GET /api/subscriptions?owner=&event_type=`
async fn list_subscriptions(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<Subscription>>> {
    let event_type = query
        .get("event_type")
        .map(|t| {
            t.parse::<EventType>()
                .map_err(|e| ApiError::bad_request("event_type", e))
        })
        .transpose()?;
    let filter = SubscriptionFilter {
        paging: query.paging()?,
        owner: query.string("owner"),
        event_type,
    };
    Ok(Json(state.store.subscription_list(&filter).await?))
}

/// `POST /api/subscriptions` (202).
async fn create_subscription(
    State(state): State<AppState>,
    JsonBodyOrDefault(request): JsonBodyOrDefault<CreateSubscriptionRequest>,
) -> ApiResult<(StatusCode, Json<Subscription>)> {
    let subscription = request.to_subscription()?;
    let created = state.store.subscription_create(&subscription).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `GET /api/subscription/{id}`
async fn get_subscription(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<Subscription>> {
    state
        .store
        .subscription_get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("subscription {id}")))
}

/// `DELETE /api/subscription/{id}` (200, no body).
async fn delete_subscription(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let subscription = state
        .store
        .subscription_get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("subscription {id}")))?;
    if subscription.is_deleted() || !state.store.subscription_delete(&id).await? {
        return Err(ApiError::bad_request_general(format!(
            "subscription {id} is already deleted"
        )));
    }
    Ok(StatusCode::OK)
}
