//! Event subscriptions (`subscription` table): create, get, list by owner
//! and event type (newest first, as in the original), soft delete.
//! `failure_threshold` is stored in nanoseconds. Delivery bookkeeping
//! (`last_delivery_*`, row locks) belongs to the delivery engine
//! ([`crate::delivery`]). Each subscription gets a random signing secret at
//! creation; only the value returned by [`SqlStore::subscription_create`]
//! carries it, every read leaves it out.

use crate::SqlStore;
use crate::db::{Query, from_json_or_default, json};
use crate::error::{Result, StoreError};
use cloud_model::event::EventType;
use cloud_model::subscription::{LastDeliveryStatus, Subscription, SubscriptionFilter};
use cloud_model::{new_id, now_millis};

const COLUMNS: &str = "id, name, url, owner_id, event_type, headers, failure_threshold, \
    last_delivery_status, last_delivery_attempt_at, create_at, delete_at, lock_acquired_by, \
    lock_acquired_at";

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: String,
    name: String,
    url: String,
    owner_id: String,
    event_type: String,
    headers: Option<String>,
    failure_threshold: i64,
    last_delivery_status: String,
    last_delivery_attempt_at: i64,
    create_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl SubscriptionRow {
    fn into_model(self) -> Result<Subscription> {
        let event_type: EventType = self.event_type.parse().map_err(|_| {
            StoreError::Invalid(format!(
                "stored subscription has an unknown event type {:?}",
                self.event_type
            ))
        })?;
        let last_delivery_status: LastDeliveryStatus =
            self.last_delivery_status.parse().map_err(|_| {
                StoreError::Invalid(format!(
                    "stored subscription has an unknown delivery status {:?}",
                    self.last_delivery_status
                ))
            })?;
        Ok(Subscription {
            id: self.id,
            name: self.name,
            url: self.url,
            owner_id: self.owner_id,
            event_type,
            last_delivery_status,
            last_delivery_attempt_at: self.last_delivery_attempt_at,
            failure_threshold: self.failure_threshold,
            create_at: self.create_at,
            delete_at: self.delete_at,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
            headers: from_json_or_default(&self.headers)?,
            // Never read back: the secret is shown once, at creation.
            secret: None,
        })
    }
}

impl SqlStore {
    /// Stores a new subscription from `subscription`'s name, URL, owner,
    /// event type, threshold and headers. ID and creation time are assigned
    /// here; delivery status starts empty and the row unlocked. The returned
    /// subscription carries its new signing secret (`Secret`).
    pub async fn subscription_create(&self, subscription: &Subscription) -> Result<Subscription> {
        let secret = crate::delivery::new_secret();
        let stored = Subscription {
            id: new_id(),
            create_at: now_millis(),
            delete_at: 0,
            last_delivery_status: LastDeliveryStatus::None,
            last_delivery_attempt_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            secret: Some(secret.clone()),
            ..subscription.clone()
        };
        Query::new(format!(
            "INSERT INTO subscription ({COLUMNS}, secret) VALUES ("
        ))
        .bind(&stored.id)
        .sql(", ")
        .bind(&stored.name)
        .sql(", ")
        .bind(&stored.url)
        .sql(", ")
        .bind(&stored.owner_id)
        .sql(", ")
        .bind(stored.event_type.as_str())
        .sql(", ")
        .bind(json(&stored.headers)?)
        .sql(", ")
        .bind(stored.failure_threshold)
        .sql(", ")
        .bind(stored.last_delivery_status.as_str())
        .sql(", 0, ")
        .bind(stored.create_at)
        .sql(", 0, NULL, 0, ")
        .bind(secret)
        .sql(")")
        .execute(self.conn())
        .await?;
        Ok(stored)
    }

    /// The subscription `id`, deleted or not.
    pub async fn subscription_get(&self, id: &str) -> Result<Option<Subscription>> {
        let row: Option<SubscriptionRow> =
            Query::new(format!("SELECT {COLUMNS} FROM subscription WHERE id = "))
                .bind(id)
                .fetch_optional(self.conn())
                .await?;
        row.map(SubscriptionRow::into_model).transpose()
    }

    /// Subscriptions, newest first.
    pub async fn subscription_list(
        &self,
        filter: &SubscriptionFilter,
    ) -> Result<Vec<Subscription>> {
        let mut q = Query::new(format!("SELECT {COLUMNS} FROM subscription WHERE 1 = 1"));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if let Some(owner) = &filter.owner {
            q.sql(" AND owner_id = ").bind(owner);
        }
        if let Some(event_type) = filter.event_type {
            q.sql(" AND event_type = ").bind(event_type.as_str());
        }
        q.sql(" ORDER BY create_at DESC, id DESC")
            .paging(&filter.paging);
        let rows: Vec<SubscriptionRow> = q.fetch_all(self.conn()).await?;
        rows.into_iter().map(SubscriptionRow::into_model).collect()
    }

    /// Marks the subscription deleted. Returns `false` when there was no
    /// live row with that ID (missing or already deleted).
    pub async fn subscription_delete(&self, id: &str) -> Result<bool> {
        let n = Query::new("UPDATE subscription SET delete_at = ")
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
    use crate::backend_test;
    use cloud_model::event::{NewStateChange, ResourceType};
    use cloud_model::filter::Paging;
    use cloud_model::webhook::{Headers, WebhookHeader};

    fn subscription(owner: &str, url: &str) -> Subscription {
        Subscription {
            name: format!("{owner} listener"),
            url: url.into(),
            owner_id: owner.into(),
            failure_threshold: 30_000_000_000,
            headers: Headers(vec![WebhookHeader::value("X-Token", "t")]),
            // Ignored by create: a new subscription starts clean.
            last_delivery_status: LastDeliveryStatus::Failed,
            lock_acquired_by: Some("someone".into()),
            ..Default::default()
        }
    }

    backend_test!(
        subscriptions_are_created_listed_newest_first_and_deleted,
        |store| {
            let first = store
                .subscription_create(&subscription("e2e", "http://a"))
                .await
                .unwrap();
            assert_eq!(first.last_delivery_status, LastDeliveryStatus::None);
            assert_eq!(first.lock_acquired_by, None);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            let second = store
                .subscription_create(&subscription("e2e", "http://b"))
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            let other = store
                .subscription_create(&subscription("ops", "http://c"))
                .await
                .unwrap();

            let got = store.subscription_get(&first.id).await.unwrap().unwrap();
            let secret = first.secret.clone().unwrap();
            assert_eq!(secret.len(), 64, "256 bits, hex");
            assert_ne!(second.secret, first.secret);
            assert_eq!(got.secret, None, "a read never shows the secret");
            assert_eq!(
                got,
                Subscription {
                    secret: None,
                    ..first.clone()
                }
            );
            assert_eq!(got.failure_threshold, 30_000_000_000);
            assert!(store.subscription_get("missing").await.unwrap().is_none());

            let all = store
                .subscription_list(&SubscriptionFilter::default())
                .await
                .unwrap();
            assert_eq!(
                all.iter().map(|s| &s.id).collect::<Vec<_>>(),
                [&other.id, &second.id, &first.id]
            );
            let e2e = store
                .subscription_list(&SubscriptionFilter {
                    owner: Some("e2e".into()),
                    event_type: Some(EventType::ResourceStateChange),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(e2e.len(), 2);

            assert!(store.subscription_delete(&second.id).await.unwrap());
            assert!(!store.subscription_delete(&second.id).await.unwrap());
            assert!(
                store
                    .subscription_get(&second.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .is_deleted()
            );
            let live = store
                .subscription_list(&SubscriptionFilter::default())
                .await
                .unwrap();
            assert_eq!(live.len(), 2);
            let with_deleted = store
                .subscription_list(&SubscriptionFilter {
                    paging: Paging::all(),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(with_deleted.len(), 3);
        }
    );

    backend_test!(only_live_subscriptions_are_owed_deliveries, |store| {
        let live = store
            .subscription_create(&subscription("o", "http://live"))
            .await
            .unwrap();
        let gone = store
            .subscription_create(&subscription("o", "http://gone"))
            .await
            .unwrap();
        store.subscription_delete(&gone.id).await.unwrap();
        let data = store
            .event_record(&NewStateChange::new(ResourceType::Cluster, "c", "a", "b"))
            .await
            .unwrap();
        let owed: Vec<(String,)> =
            Query::new("SELECT subscription_id FROM event_delivery WHERE event_id = ")
                .bind(&data.event.id)
                .fetch_all(store.conn())
                .await
                .unwrap();
        assert_eq!(owed, vec![(live.id,)]);
    });
}
