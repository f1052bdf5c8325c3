//! Event methods of the client (the original's `ListStateChangeEvents`).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::event::{StateChangeEventData, StateChangeEventFilter};
use reqwest::StatusCode;

impl Client {
    /// `GET /api/events/state_change?resource_type=&resource_id=`, newest
    /// first. The filter's old/new state lists are not sent: the route has
    /// no such parameters.
    pub async fn list_state_change_events(
        &self,
        filter: &StateChangeEventFilter,
    ) -> Result<Vec<StateChangeEventData>> {
        let mut query = vec![
            (
                "resource_type",
                filter
                    .resource_type
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            ),
            (
                "resource_id",
                filter.resource_id.clone().unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json("/api/events/state_change", &query, StatusCode::OK)
            .await
    }
}
