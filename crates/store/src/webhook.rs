//! Legacy webhooks (`webhook` table): create, get, list by owner, soft
//! delete. Webhooks have no state and no events. Their URL is unique among
//! live rows (`UNIQUE (url, delete_at)`), so registering the same URL twice
//! is a [`StoreError::Conflict`](crate::StoreError::Conflict).

use crate::SqlStore;
use crate::db::{Query, from_json_or_default, json};
use crate::error::Result;
use cloud_model::webhook::{Webhook, WebhookFilter};
use cloud_model::{new_id, now_millis};

const COLUMNS: &str = "id, owner_id, url, headers, create_at, delete_at";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    owner_id: String,
    url: String,
    headers: Option<String>,
    create_at: i64,
    delete_at: i64,
}

impl WebhookRow {
    fn into_model(self) -> Result<Webhook> {
        Ok(Webhook {
            id: self.id,
            owner_id: self.owner_id,
            url: self.url,
            create_at: self.create_at,
            delete_at: self.delete_at,
            headers: from_json_or_default(&self.headers)?,
        })
    }
}

impl SqlStore {
    /// Stores a new webhook from `webhook`'s owner, URL and headers; the ID
    /// and creation time are assigned here. Returns the stored webhook.
    pub async fn webhook_create(&self, webhook: &Webhook) -> Result<Webhook> {
        let stored = Webhook {
            id: new_id(),
            create_at: now_millis(),
            delete_at: 0,
            ..webhook.clone()
        };
        Query::new(format!("INSERT INTO webhook ({COLUMNS}) VALUES ("))
            .bind(&stored.id)
            .sql(", ")
            .bind(&stored.owner_id)
            .sql(", ")
            .bind(&stored.url)
            .sql(", ")
            .bind(json(&stored.headers)?)
            .sql(", ")
            .bind(stored.create_at)
            .sql(", 0)")
            .execute(self.conn())
            .await?;
        Ok(stored)
    }

    /// The webhook `id`, deleted or not.
    pub async fn webhook_get(&self, id: &str) -> Result<Option<Webhook>> {
        let row: Option<WebhookRow> =
            Query::new(format!("SELECT {COLUMNS} FROM webhook WHERE id = "))
                .bind(id)
                .fetch_optional(self.conn())
                .await?;
        row.map(WebhookRow::into_model).transpose()
    }

    /// Webhooks, oldest first.
    pub async fn webhook_list(&self, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        let mut q = Query::new(format!("SELECT {COLUMNS} FROM webhook WHERE 1 = 1"));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if let Some(owner) = &filter.owner_id {
            q.sql(" AND owner_id = ").bind(owner);
        }
        q.sql(" ORDER BY create_at ASC, id ASC")
            .paging(&filter.paging);
        let rows: Vec<WebhookRow> = q.fetch_all(self.conn()).await?;
        rows.into_iter().map(WebhookRow::into_model).collect()
    }

    /// Marks the webhook deleted. Returns `false` when there was no live row
    /// with that ID (missing or already deleted).
    pub async fn webhook_delete(&self, id: &str) -> Result<bool> {
        let n = Query::new("UPDATE webhook SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND delete_at = 0")
            .execute(self.conn())
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreError, backend_test};
    use cloud_model::filter::Paging;
    use cloud_model::webhook::{Headers, WebhookHeader};

    fn webhook(owner: &str, url: &str) -> Webhook {
        Webhook {
            owner_id: owner.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    backend_test!(webhooks_are_created_listed_and_soft_deleted, |store| {
        let mut first = webhook("alice", "http://one");
        first.headers = Headers(vec![
            WebhookHeader::value("X-A", "1"),
            WebhookHeader::from_env("X-B", "VAR"),
        ]);
        let first = store.webhook_create(&first).await.unwrap();
        assert_eq!(first.id.len(), 26);
        assert!(first.create_at > 0);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let second = store
            .webhook_create(&webhook("bob", "http://two"))
            .await
            .unwrap();

        let got = store.webhook_get(&first.id).await.unwrap().unwrap();
        assert_eq!(got, first);
        assert!(store.webhook_get("nonexistent").await.unwrap().is_none());

        let all = store.webhook_list(&WebhookFilter::default()).await.unwrap();
        assert_eq!(
            all.iter().map(|w| &w.id).collect::<Vec<_>>(),
            [&first.id, &second.id]
        );
        let bobs = store
            .webhook_list(&WebhookFilter {
                owner_id: Some("bob".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(bobs, vec![second.clone()]);

        assert!(store.webhook_delete(&first.id).await.unwrap());
        assert!(
            !store.webhook_delete(&first.id).await.unwrap(),
            "already deleted"
        );
        assert!(!store.webhook_delete("nonexistent").await.unwrap());
        let deleted = store.webhook_get(&first.id).await.unwrap().unwrap();
        assert!(deleted.is_deleted());

        let live = store.webhook_list(&WebhookFilter::default()).await.unwrap();
        assert_eq!(live, vec![second]);
        let everything = store
            .webhook_list(&WebhookFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(everything.len(), 2);
        let page = store
            .webhook_list(&WebhookFilter {
                paging: Paging {
                    page: 1,
                    per_page: 1,
                    include_deleted: true,
                },
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].owner_id, "bob");
    });

    backend_test!(a_live_url_is_unique_but_reusable_after_deletion, |store| {
        let first = store
            .webhook_create(&webhook("a", "http://same"))
            .await
            .unwrap();
        let err = store
            .webhook_create(&webhook("b", "http://same"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        store.webhook_delete(&first.id).await.unwrap();
        store
            .webhook_create(&webhook("b", "http://same"))
            .await
            .unwrap();
    });
}
