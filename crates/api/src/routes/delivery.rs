//! Event delivery routes (our addition; the original has neither):
//!
//! - `POST /api/subscription/{id}/replay` with `{"FromEventID": "…"}`,
//!   `{"FromTimestamp": <ms>}` or `{}` queues the subscription's deliveries
//!   again from that event (or time, or the cursor) and revives a dead
//!   subscription. 202 with `{SubscriptionID, Requeued, Cursor}`; 404 for an
//!   unknown subscription; 400 for a deleted subscription, an unknown event
//!   or a body with both starting points.
//! - `GET /api/subscription/{id}/deliveries?status=&page=&per_page=` shows
//!   the subscription's delivery state and its deliveries, newest first.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBodyOrDefault, PathId, QueryParams};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloud_model::event::EventDeliveryStatus;
use cloud_model::subscription::{ReplayRequest, ReplayResponse, SubscriptionDeliveries};
use cloud_store::StoreError;
use cloud_store::delivery::{Channel, ReplayFrom};
use cloud_supervisor::SupervisorKind;
use http::StatusCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscription/{id}/replay", post(replay))
        .route("/subscription/{id}/deliveries", get(deliveries))
}

/// `POST /api/subscription/{id}/replay` (202).
async fn replay(
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonBodyOrDefault(request): JsonBodyOrDefault<ReplayRequest>,
) -> ApiResult<(StatusCode, Json<ReplayResponse>)> {
    request.validate()?;
    let from = match (request.from_event_id, request.from_timestamp) {
        (Some(event_id), _) => ReplayFrom::Event(event_id),
        (None, Some(ms)) => ReplayFrom::Timestamp(ms),
        (None, None) => ReplayFrom::Cursor,
    };
    let (requeued, cursor) = state
        .store
        .delivery_replay(Channel::Subscription, &id, &from)
        .await
        .map_err(|e| match e {
            // The subscription exists; the event the body names does not.
            StoreError::NotFound(what) if what.starts_with("event ") => {
                ApiError::bad_request("FromEventID", format!("{what} not found"))
            }
            e => e.into(),
        })?;
    state.wake.wake(SupervisorKind::Webhook);
    Ok((
        StatusCode::ACCEPTED,
        Json(ReplayResponse {
            subscription_id: id,
            requeued,
            cursor,
        }),
    ))
}

fn parse_status(s: &str) -> Result<EventDeliveryStatus, ApiError> {
    Ok(match s {
        "not-attempted" => EventDeliveryStatus::NotAttempted,
        "delivered" => EventDeliveryStatus::Delivered,
        "retrying" => EventDeliveryStatus::Retrying,
        "failed" => EventDeliveryStatus::Failed,
        other => {
            return Err(ApiError::bad_request(
                "status",
                format!(
                    "unknown delivery status {other:?} (one of not-attempted, delivered, retrying, failed)"
                ),
            ));
        }
    })
}

/// `GET /api/subscription/{id}/deliveries?status=`
async fn deliveries(
    State(state): State<AppState>,
    PathId(id): PathId,
    query: QueryParams,
) -> ApiResult<Json<SubscriptionDeliveries>> {
    let status = query
        .get("status")
        .filter(|s| !s.is_empty())
        .map(parse_status)
        .transpose()?;
    let paging = query.paging()?;
    state
        .store
        .delivery_list(Channel::Subscription, &id, status, &paging)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("subscription {id}")))
}
