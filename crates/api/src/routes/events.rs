//! `GET /api/events/state_change` (route 103): recorded state changes,
//! newest first, filtered by `resource_type` and `resource_id`, paged.
//! Events are never deleted, so `include_deleted` changes nothing.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloud_model::event::{ResourceType, StateChangeEventData, StateChangeEventFilter};

pub fn router() -> Router<AppState> {
    Router::new().route("/events/state_change", get(list_state_change_events))
}

/// `GET /api/events/state_change?resource_type=&resource_id=`
async fn list_state_change_events(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<Vec<StateChangeEventData>>> {
    let resource_type = query
        .get("resource_type")
        .map(|t| {
            t.parse::<ResourceType>()
                .map_err(|e| ApiError::bad_request("resource_type", e))
        })
        .transpose()?;
    let filter = StateChangeEventFilter {
        paging: query.paging()?,
        resource_type,
        resource_id: query.string("resource_id"),
        ..Default::default()
    };
    Ok(Json(state.store.event_list(&filter).await?))
}
