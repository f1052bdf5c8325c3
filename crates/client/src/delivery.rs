//! Event delivery methods of the client (our addition): replay a
//! subscription's events from a cursor, list its deliveries.

use crate::{Client, Result, paging_query};
use cloud_model::event::EventDeliveryStatus;
use cloud_model::filter::Paging;
use cloud_model::subscription::{ReplayRequest, ReplayResponse, SubscriptionDeliveries};
use reqwest::StatusCode;

impl Client {
    /// `POST /api/subscription/{id}/replay` (202).
    pub async fn replay_subscription(
        &self,
        id: &str,
        request: &ReplayRequest,
    ) -> Result<ReplayResponse> {
        self.post_json(
            &format!("/api/subscription/{id}/replay"),
            request,
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `GET /api/subscription/{id}/deliveries?status=`; `None` when there is
    /// no such subscription.
    pub async fn list_subscription_deliveries(
        &self,
        id: &str,
        status: Option<EventDeliveryStatus>,
        paging: &Paging,
    ) -> Result<Option<SubscriptionDeliveries>> {
        let mut query = vec![(
            "status",
            status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        )];
        query.extend(paging_query(paging));
        self.get_json_opt(&format!("/api/subscription/{id}/deliveries"), &query)
            .await
    }
}
