//! Delivery leases and attempts: the store side of the delivery engine.
//!
//! A deliverer works on a target (a subscription or a legacy webhook) only
//! while it holds the target's lease: `delivery_lease_holder`, a fencing
//! token that grows with every claim, and an expiry. Claiming is a
//! compare-and-set on the expiry, so on one database (several servers on
//! PostgreSQL) at most one deliverer holds a target at a time, and a crashed
//! holder's target is claimed by another once the lease expires. The holder
//! renews the lease before every attempt to cover the whole request, and
//! every write of an attempt's outcome is fenced by the token, so a holder
//! that lost its lease writes nothing.
//!
//! A target is claimable when it is live, not dead, not waiting for a
//! back-off (`delivery_next_at`) and owes at least one delivery. Its
//! deliveries are handed out one at a time, lowest `seq` first.

use crate::SqlStore;
use crate::db::{Query, from_json_or_default};
use crate::delivery::{Channel, PENDING};
use crate::error::Result;
use cloud_model::event::StateChangeEventData;
use cloud_model::webhook::Headers;

/// A target leased to one deliverer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLease {
    pub channel: Channel,
    pub target_id: String,
    pub holder: String,
    /// Fencing token: grows with every claim of the target.
    pub token: i64,
}

/// Where and how to send a target's events (read when the lease is renewed,
/// so a change of URL or headers applies to the next attempt). The secret is
/// empty for legacy webhooks and for subscriptions created before signing.
#[derive(Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub url: String,
    pub headers: Headers,
    pub secret: String,
    /// Nanoseconds; 0 means "use the deliverer's default bound".
    pub failure_threshold: i64,
}

// The secret never reaches a log through Debug.
impl std::fmt::Debug for DeliveryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryTarget")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("secret", &"****")
            .field("failure_threshold", &self.failure_threshold)
            .finish()
    }
}

/// The next event owed to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedDelivery {
    pub id: String,
    pub seq: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the current run of failures began (0: no failure yet).
    pub first_failure_at: i64,
    pub event: StateChangeEventData,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Failed; try again at `next_attempt_at` (ms).
    Retry { next_attempt_at: i64, error: String },
    /// Failed past the failure bound: the delivery is `failed` and the
    /// target dead until a replay.
    Dead { error: String },
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    url: String,
    headers: Option<String>,
    secret: String,
    failure_threshold: i64,
}

#[derive(sqlx::FromRow)]
struct OwedRow {
    id: String,
    event_seq: i64,
    attempts: i64,
    first_failure_at: i64,
    #[sqlx(flatten)]
    event: crate::event::EventRow,
}

impl OwedRow {
    fn into_model(self) -> Result<OwedDelivery> {
        Ok(OwedDelivery {
            id: self.id,
            seq: self.event_seq,
            attempts: self.attempts,
            first_failure_at: self.first_failure_at,
            event: self.event.into_model()?,
        })
    }
}

/// `AND EXISTS (the lease is still ours)`, appended to a delivery update.
fn fence(q: &mut Query, lease: &DeliveryLease) {
    q.sql(&format!(
        " AND EXISTS (SELECT 1 FROM {} t WHERE t.id = ",
        lease.channel.target_table()
    ))
    .bind(&lease.target_id)
    .sql(" AND t.delivery_lease_token = ")
    .bind(lease.token)
    .sql(" AND t.delivery_lease_holder = ")
    .bind(&lease.holder)
    .sql(")");
}

impl SqlStore {
    /// Claims up to `limit` targets of `channel` that owe a delivery now,
    /// for `holder`, until `now + ttl_ms`. Targets that another deliverer
    /// claims first are skipped.
    pub async fn delivery_claim(
        &self,
        channel: Channel,
        holder: &str,
        now: i64,
        ttl_ms: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryLease>> {
        let target = channel.target_table();
        let mut q = Query::new(format!(
            "SELECT t.id FROM {target} t WHERE t.delete_at = 0 AND t.delivery_dead_at = 0 \
             AND t.delivery_next_at <= "
        ));
        q.bind(now)
            .sql(" AND t.delivery_lease_expires_at < ")
            .bind(now)
            .sql(&format!(
                " AND EXISTS (SELECT 1 FROM {} d WHERE d.{} = t.id AND d.status IN ",
                channel.delivery_table(),
                channel.target_column()
            ))
            .bind_list(PENDING)
            .sql(") ORDER BY t.last_delivery_attempt_at ASC, t.id ASC LIMIT ")
            .bind(limit);
        let candidates: Vec<(String,)> = q.fetch_all(self.conn()).await?;
        let mut leases = Vec::new();
        for (id,) in candidates {
            // Compare-and-set: only one claimant sees the old expiry.
            let token: Option<(i64,)> = Query::new(format!(
                "UPDATE {target} SET delivery_lease_holder = "
            ))
            .bind(holder)
            .sql(", delivery_lease_token = delivery_lease_token + 1, delivery_lease_expires_at = ")
            .bind(now + ttl_ms)
            .sql(" WHERE id = ")
            .bind(&id)
            .sql(" AND delivery_lease_expires_at < ")
            .bind(now)
            .sql(" AND delete_at = 0 AND delivery_dead_at = 0 RETURNING delivery_lease_token")
            .fetch_optional(self.conn())
            .await?;
            if let Some((token,)) = token {
                leases.push(DeliveryLease {
                    channel,
                    target_id: id,
                    holder: holder.to_string(),
                    token,
                });
            }
        }
        Ok(leases)
    }

    /// Extends a lease to `now + ttl_ms` and returns where to send. `None`
    /// when the lease was lost (expired or taken over) or the target was
    /// deleted or went dead: the holder must stop.
    pub async fn delivery_renew(
        &self,
        lease: &DeliveryLease,
        now: i64,
        ttl_ms: i64,
    ) -> Result<Option<DeliveryTarget>> {
        let row: Option<TargetRow> = Query::new(format!(
            "UPDATE {} SET delivery_lease_expires_at = ",
            lease.channel.target_table()
        ))
        .bind(now + ttl_ms)
        .sql(" WHERE id = ")
        .bind(&lease.target_id)
        .sql(" AND delivery_lease_token = ")
        .bind(lease.token)
        .sql(" AND delivery_lease_holder = ")
        .bind(&lease.holder)
        .sql(" AND delivery_lease_expires_at > ")
        .bind(now)
        .sql(&format!(
            " AND delete_at = 0 AND delivery_dead_at = 0 RETURNING url, headers, {}",
            lease.channel.secret_and_threshold_sql()
        ))
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| {
            Ok(DeliveryTarget {
                url: r.url,
                headers: from_json_or_default(&r.headers)?,
                secret: r.secret,
                failure_threshold: r.failure_threshold,
            })
        })
        .transpose()
    }

    /// Gives a lease up (a no-op when it was already lost).
    pub async fn delivery_release(&self, lease: &DeliveryLease) -> Result<()> {
        Query::new(format!(
            "UPDATE {} SET delivery_lease_holder = NULL, delivery_lease_expires_at = 0 WHERE id = ",
            lease.channel.target_table()
        ))
        .bind(&lease.target_id)
        .sql(" AND delivery_lease_token = ")
        .bind(lease.token)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The lowest-`seq` delivery the leased target still owes, with its event.
    pub async fn delivery_next(&self, lease: &DeliveryLease) -> Result<Option<OwedDelivery>> {
        let channel = lease.channel;
        let mut q = Query::new(format!(
            "SELECT d.id, d.event_seq, CAST(d.attempts AS BIGINT) AS attempts, d.first_failure_at, \
             d.event_id, e.event_type, e.timestamp, e.extra_data, s.id AS change_id, \
             s.resource_id, s.resource_type, s.old_state, s.new_state \
             FROM {} d JOIN event e ON e.id = d.event_id \
             JOIN state_change_event s ON s.event_id = e.id WHERE d.{} = ",
            channel.delivery_table(),
            channel.target_column()
        ));
        q.bind(&lease.target_id)
            .sql(" AND d.status IN ")
            .bind_list(PENDING)
            .sql(" ORDER BY d.event_seq ASC, d.id ASC LIMIT 1");
        let row: Option<OwedRow> = q.fetch_optional(self.conn()).await?;
        row.map(OwedRow::into_model).transpose()
    }

    /// Records the start of an attempt (`attempts + 1`, `last_attempt =
    /// started_at`). `false` when the lease was lost or the delivery is no
    /// longer owed: do not send.
    pub async fn delivery_start_attempt(
        &self,
        lease: &DeliveryLease,
        delivery_id: &str,
        started_at: i64,
    ) -> Result<bool> {
        let mut q = Query::new(format!(
            "UPDATE {} SET attempts = attempts + 1, last_attempt = ",
            lease.channel.delivery_table()
        ));
        q.bind(started_at)
            .sql(" WHERE id = ")
            .bind(delivery_id)
            .sql(" AND status IN ")
            .bind_list(PENDING);
        fence(&mut q, lease);
        Ok(q.execute(self.conn()).await? > 0)
    }

    /// Records how the attempt started at `started_at` ended, on the
    /// delivery and on its target. `false` (nothing written) when the lease
    /// was lost or a replay re-queued the delivery meanwhile.
    pub async fn delivery_finish(
        &self,
        lease: &DeliveryLease,
        delivery: &OwedDelivery,
        started_at: i64,
        now: i64,
        outcome: &AttemptOutcome,
    ) -> Result<bool> {
        let channel = lease.channel;
        let mut tx = self.begin().await?;
        let mut q = Query::new(format!("UPDATE {} SET ", channel.delivery_table()));
        match outcome {
            AttemptOutcome::Delivered => {
                q.sql(
                    "status = 'delivered', next_attempt_at = 0, last_error = '', delivered_at = ",
                )
                .bind(now);
            }
            AttemptOutcome::Retry {
                next_attempt_at,
                error,
            } => {
                q.sql("status = 'retrying', next_attempt_at = ")
                    .bind(*next_attempt_at)
                    .sql(", last_error = ")
                    .bind(error.as_str());
            }
            AttemptOutcome::Dead { error } => {
                q.sql("status = 'failed', next_attempt_at = 0, last_error = ")
                    .bind(error.as_str());
            }
        }
        if !matches!(outcome, AttemptOutcome::Delivered) {
            // The run of failures starts at its first failure.
            q.sql(", first_failure_at = CASE WHEN first_failure_at = 0 THEN ")
                .bind(now)
                .sql(" ELSE first_failure_at END");
        }
        q.sql(" WHERE id = ")
            .bind(&delivery.id)
            .sql(" AND last_attempt = ")
            .bind(started_at);
        fence(&mut q, lease);
        if q.execute(&mut tx).await? == 0 {
            return Ok(false);
        }
        let mut t = Query::new(format!(
            "UPDATE {} SET last_delivery_attempt_at = ",
            channel.target_table()
        ));
        t.bind(now);
        match outcome {
            AttemptOutcome::Delivered => {
                t.sql(", last_delivery_status = 'succeeded', delivery_next_at = 0, delivery_cursor = CASE WHEN delivery_cursor < ")
                    .bind(delivery.seq)
                    .sql(" THEN ")
                    .bind(delivery.seq)
                    .sql(" ELSE delivery_cursor END");
            }
            AttemptOutcome::Retry {
                next_attempt_at, ..
            } => {
                t.sql(", last_delivery_status = 'failed', delivery_next_at = ")
                    .bind(*next_attempt_at);
            }
            AttemptOutcome::Dead { .. } => {
                t.sql(
                    ", last_delivery_status = 'failed', delivery_next_at = 0, delivery_dead_at = ",
                )
                .bind(now);
            }
        }
        t.sql(" WHERE id = ")
            .bind(&lease.target_id)
            .sql(" AND delivery_lease_token = ")
            .bind(lease.token);
        t.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use crate::delivery::ReplayFrom;
    use cloud_model::event::{EventDeliveryStatus, NewStateChange, ResourceType};
    use cloud_model::filter::Paging;
    use cloud_model::subscription::{LastDeliveryStatus, Subscription};

    async fn setup(store: &SqlStore, events: usize) -> Subscription {
        let sub = store
            .subscription_create(&Subscription {
                url: "http://receiver".into(),
                owner_id: "o".into(),
                failure_threshold: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        for i in 0..events {
            store
                .event_record(&NewStateChange::new(
                    ResourceType::Installation,
                    "i1",
                    format!("s{i}"),
                    format!("s{}", i + 1),
                ))
                .await
                .unwrap();
        }
        sub
    }

    backend_test!(one_holder_at_a_time_and_takeover_after_expiry, |store| {
        let sub = setup(&store, 1).await;
        let now = 1_000_000;
        let a = store
            .delivery_claim(Channel::Subscription, "a", now, 100, 10)
            .await
            .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].target_id, sub.id);
        let b = store
            .delivery_claim(Channel::Subscription, "b", now + 50, 100, 10)
            .await
            .unwrap();
        assert!(b.is_empty(), "the lease is held");
        let target = store
            .delivery_renew(&a[0], now + 60, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(target.url, "http://receiver");
        assert_eq!(target.secret.len(), 64);
        assert_eq!(target.failure_threshold, 5);
        assert!(!format!("{target:?}").contains(&target.secret));
        // a stops renewing (a crash): b takes over after the expiry.
        let b = store
            .delivery_claim(Channel::Subscription, "b", now + 161, 100, 10)
            .await
            .unwrap();
        assert_eq!(b.len(), 1);
        assert!(b[0].token > a[0].token);
        // a's lease is gone: it can neither renew nor write.
        assert!(
            store
                .delivery_renew(&a[0], now + 162, 100)
                .await
                .unwrap()
                .is_none()
        );
        let owed = store.delivery_next(&b[0]).await.unwrap().unwrap();
        assert!(
            !store
                .delivery_start_attempt(&a[0], &owed.id, now + 163)
                .await
                .unwrap()
        );
        assert!(
            store
                .delivery_start_attempt(&b[0], &owed.id, now + 163)
                .await
                .unwrap()
        );
        assert!(
            !store
                .delivery_finish(
                    &a[0],
                    &owed,
                    now + 163,
                    now + 164,
                    &AttemptOutcome::Delivered
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .delivery_finish(
                    &b[0],
                    &owed,
                    now + 163,
                    now + 164,
                    &AttemptOutcome::Delivered
                )
                .await
                .unwrap()
        );
        store.delivery_release(&b[0]).await.unwrap();
        let list = store
            .delivery_list(Channel::Subscription, &sub.id, None, &Paging::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(list.deliveries[0].status, EventDeliveryStatus::Delivered);
        assert_eq!(list.deliveries[0].attempts, 1);
        assert_eq!(list.cursor, owed.seq);
        assert_eq!(list.last_delivery_status, LastDeliveryStatus::Succeeded);
        assert_eq!(list.lease_holder, None);
        // Nothing is owed any more: nothing to claim.
        assert!(
            store
                .delivery_claim(Channel::Subscription, "a", now + 500, 100, 10)
                .await
                .unwrap()
                .is_empty()
        );
    });

    backend_test!(deliveries_come_in_order_with_backoff_and_death, |store| {
        let sub = setup(&store, 3).await;
        let now = 2_000_000;
        let lease = store
            .delivery_claim(Channel::Subscription, "a", now, 1000, 10)
            .await
            .unwrap()
            .remove(0);
        let first = store.delivery_next(&lease).await.unwrap().unwrap();
        assert_eq!(first.event.state_change.old_state, "s0");
        assert!(
            store
                .delivery_start_attempt(&lease, &first.id, now)
                .await
                .unwrap()
        );
        let retry = AttemptOutcome::Retry {
            next_attempt_at: now + 300,
            error: "HTTP 500".into(),
        };
        assert!(
            store
                .delivery_finish(&lease, &first, now, now + 1, &retry)
                .await
                .unwrap()
        );
        store.delivery_release(&lease).await.unwrap();
        // Backing off: not claimable before the next attempt is due.
        assert!(
            store
                .delivery_claim(Channel::Subscription, "a", now + 299, 1000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let lease = store
            .delivery_claim(Channel::Subscription, "a", now + 300, 1000, 10)
            .await
            .unwrap()
            .remove(0);
        let again = store.delivery_next(&lease).await.unwrap().unwrap();
        assert_eq!(
            again.id, first.id,
            "the head is retried before later events"
        );
        assert_eq!(again.attempts, 1);
        assert_eq!(again.first_failure_at, now + 1);
        assert!(
            store
                .delivery_start_attempt(&lease, &again.id, now + 301)
                .await
                .unwrap()
        );
        let dead = AttemptOutcome::Dead {
            error: "HTTP 500".into(),
        };
        assert!(
            store
                .delivery_finish(&lease, &again, now + 301, now + 302, &dead)
                .await
                .unwrap()
        );
        let list = store
            .delivery_list(Channel::Subscription, &sub.id, None, &Paging::all())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(list.dead_at, now + 302);
        assert_eq!(list.last_delivery_status, LastDeliveryStatus::Failed);
        let head = list.deliveries.last().unwrap();
        assert_eq!(head.status, EventDeliveryStatus::Failed);
        assert_eq!(head.first_failure_at, now + 1);
        assert_eq!(head.last_error, "HTTP 500");
        assert_eq!(head.attempts, 2);
        // Dead: no renewal, no claim, but later events stay owed.
        assert!(
            store
                .delivery_renew(&lease, now + 303, 1000)
                .await
                .unwrap()
                .is_none()
        );
        store.delivery_release(&lease).await.unwrap();
        assert!(
            store
                .delivery_claim(Channel::Subscription, "a", now + 10_000, 1000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            list.deliveries
                .iter()
                .filter(|d| d.status == EventDeliveryStatus::NotAttempted)
                .count(),
            2
        );
        // A replay from the cursor revives it and starts with the dead one.
        let (n, _) = store
            .delivery_replay(Channel::Subscription, &sub.id, &ReplayFrom::Cursor)
            .await
            .unwrap();
        assert_eq!(n, 3);
        let lease = store
            .delivery_claim(Channel::Subscription, "a", now + 10_001, 1000, 10)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            store.delivery_next(&lease).await.unwrap().unwrap().id,
            first.id
        );
    });

    backend_test!(a_replay_during_an_attempt_wins, |store| {
        let sub = setup(&store, 1).await;
        let now = 3_000_000;
        let lease = store
            .delivery_claim(Channel::Subscription, "a", now, 1000, 10)
            .await
            .unwrap()
            .remove(0);
        let owed = store.delivery_next(&lease).await.unwrap().unwrap();
        assert!(
            store
                .delivery_start_attempt(&lease, &owed.id, now)
                .await
                .unwrap()
        );
        store
            .delivery_replay(Channel::Subscription, &sub.id, &ReplayFrom::Cursor)
            .await
            .unwrap();
        assert!(
            !store
                .delivery_finish(&lease, &owed, now, now + 1, &AttemptOutcome::Delivered)
                .await
                .unwrap(),
            "the replayed delivery stays owed"
        );
        assert_eq!(
            store.delivery_next(&lease).await.unwrap().unwrap().id,
            owed.id
        );
    });
}
