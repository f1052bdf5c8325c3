//! Subscription methods of the client (the original's `CreateSubscription`,
//! `GetSubscription`, `ListSubscriptions`, `DeleteSubscription`).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::subscription::{CreateSubscriptionRequest, Subscription, SubscriptionFilter};
use reqwest::StatusCode;

impl Client {
    /// `POST /api/subscriptions` (202).
    pub async fn create_subscription(
        &self,
        request: &CreateSubscriptionRequest,
    ) -> Result<Subscription> {
        self.post_json("/api/subscriptions", request, StatusCode::ACCEPTED)
            .await
    }

    /// `GET /api/subscription/{id}`; `None` when there is no such subscription.
    pub async fn get_subscription(&self, id: &str) -> Result<Option<Subscription>> {
        self.get_json_opt(&format!("/api/subscription/{id}"), &[])
            .await
    }

    /// `GET /api/subscriptions?owner=&event_type=`
    pub async fn list_subscriptions(
        &self,
        filter: &SubscriptionFilter,
    ) -> Result<Vec<Subscription>> {
        let mut query = vec![
            ("owner", filter.owner.clone().unwrap_or_default()),
            (
                "event_type",
                filter
                    .event_type
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json("/api/subscriptions", &query, StatusCode::OK)
            .await
    }

    /// `DELETE /api/subscription/{id}` (200).
    pub async fn delete_subscription(&self, id: &str) -> Result<()> {
        self.delete(&format!("/api/subscription/{id}"), &[], StatusCode::OK)
            .await
    }
}
