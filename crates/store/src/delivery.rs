//! The delivery outbox: what is owed to whom, listed and replayed.
//!
//! Every recorded event gets a `seq` (a number that only grows: a
//! PostgreSQL sequence, or `MAX + 1` under SQLite's single writer) and, in
//! the transaction that records it, one delivery row per live target:
//! `event_delivery` for subscriptions of the event type, `webhook_delivery`
//! for legacy webhooks ([`enqueue_deliveries`]). A target's deliveries are
//! made in `seq` order, so two changes of one object (serialised by the
//! object's row) always arrive in the order they happened.
//!
//! A target ([`Channel`]) also holds its delivery state: a lease (see
//! [`crate::delivery_lease`]), the cursor (the `seq` of the last event
//! delivered), when the next attempt is due, and `delivery_dead_at` once the
//! failure bound has passed. [`SqlStore::delivery_replay`] moves the cursor
//! back and queues the deliveries after it again, which also revives a dead
//! target.

use crate::SqlStore;
use crate::db::{Backend, Query, Tx};
use crate::error::{Result, StoreError};
use cloud_model::event::{Event, EventDeliveryStatus};
use cloud_model::filter::Paging;
use cloud_model::new_id;
use cloud_model::subscription::{DeliveryRecord, SubscriptionDeliveries};

/// Statuses of a delivery that is still owed.
pub(crate) const PENDING: [&str; 2] = ["not-attempted", "retrying"];

/// The two kinds of delivery target. Closed, so table and column names never
/// come from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Event subscriptions (`subscription`, `event_delivery`): signed.
    Subscription,
    /// Legacy webhooks (`webhook`, `webhook_delivery`): the original's
    /// payload, unsigned (webhooks have no secret).
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Subscription, Channel::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Subscription => "subscription",
            Channel::Webhook => "webhook",
        }
    }

    pub(crate) fn target_table(self) -> &'static str {
        match self {
            Channel::Subscription => "subscription",
            Channel::Webhook => "webhook",
        }
    }

    pub(crate) fn delivery_table(self) -> &'static str {
        match self {
            Channel::Subscription => "event_delivery",
            Channel::Webhook => "webhook_delivery",
        }
    }

    pub(crate) fn target_column(self) -> &'static str {
        match self {
            Channel::Subscription => "subscription_id",
            Channel::Webhook => "webhook_id",
        }
    }

    /// The target's secret and failure threshold (ns) as SQL expressions;
    /// webhooks have neither column.
    pub(crate) fn secret_and_threshold_sql(self) -> &'static str {
        match self {
            Channel::Subscription => "secret, failure_threshold",
            Channel::Webhook => "'' AS secret, CAST(0 AS BIGINT) AS failure_threshold",
        }
    }
}

/// A new signing secret: 256 random bits, hex-encoded.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SQL expression giving the next event's `seq`.
pub(crate) fn next_event_seq_sql(backend: Backend) -> &'static str {
    match backend {
        // Concurrent writers: a sequence never hands a number out twice.
        Backend::Postgres => "nextval('event_seq')",
        // Writers are serialised (BEGIN IMMEDIATE), so MAX + 1 is unique.
        Backend::Sqlite => "(SELECT COALESCE(MAX(seq), 0) + 1 FROM event)",
    }
}

/// Queues `event` (numbered `seq`) for every live subscription of its type
/// and every live legacy webhook, inside the transaction that records it.
pub(crate) async fn enqueue_deliveries(tx: &mut Tx, event: &Event, seq: i64) -> Result<()> {
    let subscriptions: Vec<(String,)> =
        Query::new("SELECT id FROM subscription WHERE delete_at = 0 AND event_type = ")
            .bind(event.event_type.as_str())
            .fetch_all(&mut *tx)
            .await?;
    let webhooks: Vec<(String,)> = Query::new("SELECT id FROM webhook WHERE delete_at = 0")
        .fetch_all(&mut *tx)
        .await?;
    let owed = subscriptions
        .into_iter()
        .map(|(id,)| (Channel::Subscription, id))
        .chain(webhooks.into_iter().map(|(id,)| (Channel::Webhook, id)));
    for (channel, target_id) in owed {
        Query::new(format!(
            "INSERT INTO {} (id, event_id, {}, status, last_attempt, attempts, event_seq) VALUES (",
            channel.delivery_table(),
            channel.target_column()
        ))
        .bind(new_id())
        .sql(", ")
        .bind(&event.id)
        .sql(", ")
        .bind(target_id)
        .sql(", ")
        .bind(EventDeliveryStatus::NotAttempted.as_str())
        .sql(", 0, 0, ")
        .bind(seq)
        .sql(")")
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayFrom {
    /// Right after the cursor: everything not delivered yet.
    Cursor,
    /// From this event, included.
    Event(String),
    /// From the first event at or after this time (ms), included.
    Timestamp(i64),
}

pub(crate) fn parse_delivery_status(s: &str) -> Result<EventDeliveryStatus> {
    Ok(match s {
        "not-attempted" => EventDeliveryStatus::NotAttempted,
        "delivered" => EventDeliveryStatus::Delivered,
        "retrying" => EventDeliveryStatus::Retrying,
        "failed" => EventDeliveryStatus::Failed,
        other => {
            return Err(StoreError::Invalid(format!(
                "stored delivery has an unknown status {other:?}"
            )));
        }
    })
}

#[derive(sqlx::FromRow)]
struct TargetStateRow {
    last_delivery_status: String,
    last_delivery_attempt_at: i64,
    delivery_cursor: i64,
    delivery_next_at: i64,
    delivery_dead_at: i64,
    delivery_lease_holder: Option<String>,
    delivery_lease_expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_id: String,
    event_seq: i64,
    event_timestamp: i64,
    status: String,
    attempts: i64,
    last_attempt: i64,
    next_attempt_at: i64,
    first_failure_at: i64,
    last_error: String,
    delivered_at: i64,
}

impl DeliveryRow {
    fn into_model(self) -> Result<DeliveryRecord> {
        Ok(DeliveryRecord {
            status: parse_delivery_status(&self.status)?,
            id: self.id,
            event_id: self.event_id,
            sequence: self.event_seq,
            event_timestamp: self.event_timestamp,
            attempts: self.attempts,
            last_attempt: self.last_attempt,
            next_attempt_at: self.next_attempt_at,
            first_failure_at: self.first_failure_at,
            last_error: self.last_error,
            delivered_at: self.delivered_at,
        })
    }
}

impl SqlStore {
    async fn delivery_target_state(
        &self,
        channel: Channel,
        target_id: &str,
    ) -> Result<Option<TargetStateRow>> {
        Query::new(format!(
            "SELECT last_delivery_status, last_delivery_attempt_at, delivery_cursor, \
             delivery_next_at, delivery_dead_at, delivery_lease_holder, delivery_lease_expires_at \
             FROM {} WHERE id = ",
            channel.target_table()
        ))
        .bind(target_id)
        .fetch_optional(self.conn())
        .await
    }

    /// The delivery state of a target and its deliveries, newest first,
    /// optionally only those in `status`. `None` when there is no such target.
    pub async fn delivery_list(
        &self,
        channel: Channel,
        target_id: &str,
        status: Option<EventDeliveryStatus>,
        paging: &Paging,
    ) -> Result<Option<SubscriptionDeliveries>> {
        let Some(state) = self.delivery_target_state(channel, target_id).await? else {
            return Ok(None);
        };
        let mut q = Query::new(format!(
            "SELECT d.id, d.event_id, d.event_seq, COALESCE(e.timestamp, 0) AS event_timestamp, \
             d.status, CAST(d.attempts AS BIGINT) AS attempts, d.last_attempt, d.next_attempt_at, \
             d.first_failure_at, d.last_error, d.delivered_at \
             FROM {} d LEFT JOIN event e ON e.id = d.event_id WHERE d.{} = ",
            channel.delivery_table(),
            channel.target_column()
        ));
        q.bind(target_id);
        if let Some(status) = status {
            q.sql(" AND d.status = ").bind(status.as_str());
        }
        q.sql(" ORDER BY d.event_seq DESC, d.id DESC")
            .paging(paging);
        let rows: Vec<DeliveryRow> = q.fetch_all(self.conn()).await?;
        Ok(Some(SubscriptionDeliveries {
            subscription_id: target_id.to_string(),
            last_delivery_status: state.last_delivery_status.parse().map_err(|_| {
                StoreError::Invalid(format!(
                    "stored {} has an unknown delivery status {:?}",
                    channel.as_str(),
                    state.last_delivery_status
                ))
            })?,
            last_delivery_attempt_at: state.last_delivery_attempt_at,
            cursor: state.delivery_cursor,
            next_attempt_at: state.delivery_next_at,
            dead_at: state.delivery_dead_at,
            lease_holder: state.delivery_lease_holder,
            lease_expires_at: state.delivery_lease_expires_at,
            deliveries: rows
                .into_iter()
                .map(DeliveryRow::into_model)
                .collect::<Result<_>>()?,
        }))
    }

    /// Queues a target's deliveries again from `from` (included) and moves
    /// its cursor just before it; clears the dead state and any pending
    /// back-off. Returns (deliveries queued again, new cursor).
    ///
    /// Errors: [`StoreError::NotFound`] for a missing target or an unknown
    /// `FromEventID`; [`StoreError::InvalidTransition`] for a deleted target.
    pub async fn delivery_replay(
        &self,
        channel: Channel,
        target_id: &str,
        from: &ReplayFrom,
    ) -> Result<(i64, i64)> {
        let mut tx = self.begin().await?;
        let state: Option<(i64, i64)> = Query::new(format!(
            "SELECT delete_at, delivery_cursor FROM {} WHERE id = ",
            channel.target_table()
        ))
        .bind(target_id)
        .fetch_optional(&mut tx)
        .await?;
        let Some((delete_at, cursor)) = state else {
            return Err(StoreError::NotFound(format!(
                "{} {target_id}",
                channel.as_str()
            )));
        };
        if delete_at > 0 {
            return Err(StoreError::InvalidTransition(format!(
                "{} {target_id} is deleted",
                channel.as_str()
            )));
        }
        let from_seq = match from {
            ReplayFrom::Cursor => cursor + 1,
            ReplayFrom::Event(id) => {
                let seq: Option<(i64,)> = Query::new("SELECT seq FROM event WHERE id = ")
                    .bind(id)
                    .fetch_optional(&mut tx)
                    .await?;
                seq.ok_or_else(|| StoreError::NotFound(format!("event {id}")))?
                    .0
            }
            ReplayFrom::Timestamp(ms) => {
                // No event that late: nothing to resend, delivery resumes
                // with the next event.
                let seq: Option<(Option<i64>,)> =
                    Query::new("SELECT MIN(seq) FROM event WHERE timestamp >= ")
                        .bind(*ms)
                        .fetch_optional(&mut tx)
                        .await?;
                match seq.and_then(|(s,)| s) {
                    Some(s) => s,
                    None => {
                        Query::new("SELECT COALESCE(MAX(seq), 0) + 1 FROM event")
                            .fetch_i64(&mut tx)
                            .await?
                    }
                }
            }
        };
        // `last_attempt = 0` also fences an attempt in flight: its outcome
        // is recorded only if the row still shows that attempt's start.
        let requeued = Query::new(format!(
            "UPDATE {} SET status = 'not-attempted', next_attempt_at = 0, first_failure_at = 0, \
             last_error = '', last_attempt = 0, delivered_at = 0 WHERE {} = ",
            channel.delivery_table(),
            channel.target_column()
        ))
        .bind(target_id)
        .sql(" AND event_seq >= ")
        .bind(from_seq)
        .execute(&mut tx)
        .await?;
        let new_cursor = (from_seq - 1).max(0);
        Query::new(format!(
            "UPDATE {} SET delivery_cursor = ",
            channel.target_table()
        ))
        .bind(new_cursor)
        .sql(", delivery_dead_at = 0, delivery_next_at = 0 WHERE id = ")
        .bind(target_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok((i64::try_from(requeued).unwrap_or(i64::MAX), new_cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use cloud_model::event::{NewStateChange, ResourceType};
    use cloud_model::subscription::Subscription;
    use cloud_model::webhook::Webhook;

    async fn subscription(store: &SqlStore, url: &str) -> Subscription {
        store
            .subscription_create(&Subscription {
                url: url.into(),
                owner_id: "o".into(),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    async fn record(store: &SqlStore, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..n {
            let change = NewStateChange::new(ResourceType::Cluster, "c1", format!("s{i}"), "next");
            ids.push(store.event_record(&change).await.unwrap().event.id);
        }
        ids
    }

    backend_test!(events_are_numbered_and_queued_for_every_target, |store| {
        let sub = subscription(&store, "http://sub").await;
        let hook = store
            .webhook_create(&Webhook {
                owner_id: "o".into(),
                url: "http://hook".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let gone = store
            .webhook_create(&Webhook {
                owner_id: "o".into(),
                url: "http://gone".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        store.webhook_delete(&gone.id).await.unwrap();
        let ids = record(&store, 3).await;
        for (channel, id) in [
            (Channel::Subscription, &sub.id),
            (Channel::Webhook, &hook.id),
        ] {
            let list = store
                .delivery_list(channel, id, None, &Paging::all())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(list.deliveries.len(), 3, "{channel:?}");
            // Newest first, numbered in recording order.
            let event_ids: Vec<_> = list.deliveries.iter().rev().map(|d| &d.event_id).collect();
            assert_eq!(event_ids, ids.iter().collect::<Vec<_>>());
            let seqs: Vec<_> = list.deliveries.iter().rev().map(|d| d.sequence).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
            assert!(
                list.deliveries
                    .iter()
                    .all(|d| d.status == EventDeliveryStatus::NotAttempted)
            );
            assert_eq!(list.cursor, 0);
            assert_eq!(list.dead_at, 0);
        }
        let none = store
            .delivery_list(Channel::Webhook, &gone.id, None, &Paging::all())
            .await
            .unwrap()
            .unwrap();
        assert!(
            none.deliveries.is_empty(),
            "a deleted webhook is owed nothing"
        );
        assert!(
            store
                .delivery_list(Channel::Subscription, "missing", None, &Paging::all())
                .await
                .unwrap()
                .is_none()
        );
    });

    backend_test!(replay_requeues_from_an_event_or_a_time, |store| {
        let sub = subscription(&store, "http://sub").await;
        let ids = record(&store, 4).await;
        let seq_of = |list: &SubscriptionDeliveries, id: &str| {
            list.deliveries
                .iter()
                .find(|d| d.event_id == id)
                .unwrap()
                .sequence
        };
        // Mark everything delivered, cursor at the end.
        Query::new("UPDATE event_delivery SET status = 'delivered', delivered_at = 5")
            .execute(store.conn())
            .await
            .unwrap();
        let list = store
            .delivery_list(Channel::Subscription, &sub.id, None, &Paging::all())
            .await
            .unwrap()
            .unwrap();
        let last = seq_of(&list, &ids[3]);
        Query::new("UPDATE subscription SET delivery_cursor = ")
            .bind(last)
            .sql(", delivery_dead_at = 7")
            .execute(store.conn())
            .await
            .unwrap();

        let (n, cursor) = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Event(ids[2].clone()),
            )
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(cursor, seq_of(&list, &ids[2]) - 1);
        let after = store
            .delivery_list(
                Channel::Subscription,
                &sub.id,
                Some(EventDeliveryStatus::NotAttempted),
                &Paging::all(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after
                .deliveries
                .iter()
                .map(|d| &d.event_id)
                .collect::<Vec<_>>(),
            [&ids[3], &ids[2]]
        );
        assert_eq!(after.dead_at, 0, "a replay revives a dead subscription");
        assert_eq!(after.cursor, cursor);

        // From the cursor: the same two again (nothing was delivered since).
        let (n, _) = store
            .delivery_replay(Channel::Subscription, &sub.id, &ReplayFrom::Cursor)
            .await
            .unwrap();
        assert_eq!(n, 2);
        // From a time: the first event's timestamp covers all four.
        let first_ts = list.deliveries.last().unwrap().event_timestamp;
        let (n, cursor) = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Timestamp(first_ts),
            )
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert_eq!(cursor, seq_of(&list, &ids[0]) - 1);
        // From the future: nothing to resend.
        let (n, _) = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Timestamp(i64::MAX),
            )
            .await
            .unwrap();
        assert_eq!(n, 0);

        let err = store
            .delivery_replay(
                Channel::Subscription,
                &sub.id,
                &ReplayFrom::Event("nope".into()),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        let err = store
            .delivery_replay(Channel::Subscription, "missing", &ReplayFrom::Cursor)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        store.subscription_delete(&sub.id).await.unwrap();
        let err = store
            .delivery_replay(Channel::Subscription, &sub.id, &ReplayFrom::Cursor)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
    });

    /// Migrates a database holding version-1 data to the latest schema:
    /// old events are numbered by time, their deliveries follow, and new
    /// events continue the numbering.
    async fn upgrade_numbers_existing_events(url: &str, backend: &str) {
        let store = SqlStore::connect(url, &crate::StoreOptions::default())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let initial = format!(
            "{}/migrations/{backend}/0001_initial.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::copy(&initial, dir.path().join("0001_initial.sql")).unwrap();
        let v1 = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
        match &store.pool {
            crate::db::Pool::Sqlite(p) => v1.run(p).await.unwrap(),
            crate::db::Pool::Postgres(p) => v1.run(p).await.unwrap(),
        }
        for (id, ts) in [("e1", 100i64), ("e2", 50), ("e3", 100)] {
            Query::new("INSERT INTO event (id, event_type, timestamp, extra_data) VALUES (")
                .bind(id)
                .sql(", 'resourceStateChange', ")
                .bind(ts)
                .sql(", '{\"fields\":{}}')")
                .execute(store.conn())
                .await
                .unwrap();
        }
        Query::new(
            "INSERT INTO event_delivery (id, event_id, subscription_id, status) \
             VALUES ('d1', 'e3', 's1', 'not-attempted')",
        )
        .execute(store.conn())
        .await
        .unwrap();
        crate::migrate::migrate(&store).await.unwrap();
        let seqs: Vec<(String, i64)> = Query::new("SELECT id, seq FROM event ORDER BY id")
            .fetch_all(store.conn())
            .await
            .unwrap();
        assert_eq!(
            seqs,
            [("e1".into(), 2), ("e2".into(), 1), ("e3".into(), 3)],
            "{backend}"
        );
        let owed = Query::new("SELECT event_seq FROM event_delivery WHERE id = 'd1'")
            .fetch_i64(store.conn())
            .await
            .unwrap();
        assert_eq!(owed, 3);
        let next = store
            .event_record(&NewStateChange::new(ResourceType::Cluster, "c", "a", "b"))
            .await
            .unwrap();
        let seq = Query::new("SELECT seq FROM event WHERE id = ")
            .bind(&next.event.id)
            .fetch_i64(store.conn())
            .await
            .unwrap();
        assert_eq!(seq, 4, "{backend}: numbering continues");
        store.close().await;
    }

    #[tokio::test]
    async fn an_upgraded_database_numbers_its_existing_events() {
        let (url, _dir) = crate::testing::TestDb::sqlite_url();
        upgrade_numbers_existing_events(&url, "sqlite").await;
        let (url, admin, name) = crate::testing::TestDb::postgres_database().await;
        upgrade_numbers_existing_events(&url, "postgres").await;
        crate::testing::TestDb::drop_postgres_database(&admin, &name).await;
    }

    #[test]
    fn secrets_are_long_random_hex() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_secret());
    }
}
