//! Webhook methods of the client (the original's `CreateWebhook`,
//! `GetWebhook`, `GetWebhooks`, `DeleteWebhook`).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::webhook::{CreateWebhookRequest, Webhook, WebhookFilter};
use reqwest::StatusCode;

impl Client {
    /// `POST /api/webhooks` (202).
    pub async fn create_webhook(&self, request: &CreateWebhookRequest) -> Result<Webhook> {
        self.post_json("/api/webhooks", request, StatusCode::ACCEPTED)
            .await
    }

    /// `GET /api/webhook/{id}`; `None` when there is no such webhook.
    pub async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>> {
        self.get_json_opt(&format!("/api/webhook/{id}"), &[]).await
    }

    /// `GET /api/webhooks?owner=` (the owner is sent even when empty, as the
    /// Go client does).
    pub async fn get_webhooks(&self, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        let mut query = vec![("owner", filter.owner_id.clone().unwrap_or_default())];
        query.extend(paging_query(&filter.paging));
        self.get_json("/api/webhooks", &query, StatusCode::OK).await
    }

    /// `DELETE /api/webhook/{id}` (200).
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        self.delete(&format!("/api/webhook/{id}"), &[], StatusCode::OK)
            .await
    }
}
