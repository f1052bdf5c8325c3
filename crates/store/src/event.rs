//! State-change events, written in the same transaction as the change.
//!
//! [`record_state_change`] inserts the `event` row (numbered by `seq`, the
//! delivery order), its `state_change_event` row, one `event_delivery` row
//! (status `not-attempted`) per live subscription of the event type and one
//! `webhook_delivery` row per live legacy webhook ([`crate::delivery`]), so
//! the delivery engine finds every event it owes in the database even if the
//! server dies right after the commit.

use crate::SqlStore;
use crate::db::{Conn, Query, Tx};
use crate::error::Result;
use cloud_model::event::{
    Event, EventExtraData, EventType, NewStateChange, ResourceType, StateChangeEvent,
    StateChangeEventData, StateChangeEventFilter,
};
use cloud_model::{new_id, now_millis};

/// Records `change` inside `tx`. Call it in the transaction that writes the
/// new state, then commit.
pub async fn record_state_change(
    tx: &mut Tx,
    environment: &str,
    change: &NewStateChange,
) -> Result<StateChangeEventData> {
    let mut extra = EventExtraData {
        fields: change.extra.clone(),
    };
    extra
        .fields
        .insert("Environment".to_string(), environment.to_string());
    let event = Event {
        id: new_id(),
        event_type: EventType::ResourceStateChange,
        timestamp: now_millis(),
        extra_data: extra,
    };
    let state_change = StateChangeEvent {
        id: new_id(),
        event_id: event.id.clone(),
        old_state: change.old_state.clone(),
        new_state: change.new_state.clone(),
        resource_id: change.resource_id.clone(),
        resource_type: change.resource_type,
    };
    let seq = Query::new("INSERT INTO event (id, event_type, timestamp, extra_data, seq) VALUES (")
        .bind(&event.id)
        .sql(", ")
        .bind(event.event_type.as_str())
        .sql(", ")
        .bind(event.timestamp)
        .sql(", ")
        .bind(serde_json::to_string(&event.extra_data)?)
        .sql(", ")
        .sql(crate::delivery::next_event_seq_sql(tx.backend()))
        .sql(") RETURNING seq")
        .fetch_i64(&mut *tx)
        .await?;
    Query::new(
        "INSERT INTO state_change_event (id, event_id, resource_id, resource_type, old_state, new_state) VALUES (",
    )
    .bind(&state_change.id)
    .sql(", ")
    .bind(&state_change.event_id)
    .sql(", ")
    .bind(&state_change.resource_id)
    .sql(", ")
    .bind(state_change.resource_type.as_str())
    .sql(", ")
    .bind(&state_change.old_state)
    .sql(", ")
    .bind(&state_change.new_state)
    .sql(")")
    .execute(&mut *tx)
    .await?;
    crate::delivery::enqueue_deliveries(tx, &event, seq).await?;
    Ok(StateChangeEventData {
        event,
        state_change,
    })
}

/// One stored event with its state change, as the list and delivery queries
/// select them (`e.id AS event_id`, …, `s.id AS change_id`, …).
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    event_id: String,
    event_type: String,
    timestamp: i64,
    extra_data: String,
    change_id: String,
    resource_id: String,
    resource_type: String,
    old_state: String,
    new_state: String,
}

impl EventRow {
    pub(crate) fn into_model(self) -> Result<StateChangeEventData> {
        let bad = |what: &str, value: &str| {
            crate::StoreError::Invalid(format!("stored event has an unknown {what} {value:?}"))
        };
        let event_type = self
            .event_type
            .parse::<EventType>()
            .map_err(|_| bad("event type", &self.event_type))?;
        let resource_type = self
            .resource_type
            .parse::<ResourceType>()
            .map_err(|_| bad("resource type", &self.resource_type))?;
        Ok(StateChangeEventData {
            event: Event {
                id: self.event_id.clone(),
                event_type,
                timestamp: self.timestamp,
                extra_data: serde_json::from_str(&self.extra_data)?,
            },
            state_change: StateChangeEvent {
                id: self.change_id,
                event_id: self.event_id,
                old_state: self.old_state,
                new_state: self.new_state,
                resource_id: self.resource_id,
                resource_type,
            },
        })
    }
}

impl SqlStore {
    /// Records a state change on its own (for callers that hold no other
    /// write); most callers use [`record_state_change`] in their transaction.
    pub async fn event_record(&self, change: &NewStateChange) -> Result<StateChangeEventData> {
        let mut tx = self.begin().await?;
        let data = record_state_change(&mut tx, self.environment(), change).await?;
        tx.commit().await?;
        Ok(data)
    }

    /// State-change events, newest first (`GET /api/events/state_change`).
    /// Events are never deleted, so `include_deleted` does not apply.
    pub async fn event_list(
        &self,
        filter: &StateChangeEventFilter,
    ) -> Result<Vec<StateChangeEventData>> {
        event_list_on(self.conn(), filter).await
    }
}

async fn event_list_on(
    conn: Conn<'_>,
    filter: &StateChangeEventFilter,
) -> Result<Vec<StateChangeEventData>> {
    let mut q = Query::new(
        "SELECT e.id AS event_id, e.event_type, e.timestamp, e.extra_data, \
         s.id AS change_id, s.resource_id, s.resource_type, s.old_state, s.new_state \
         FROM state_change_event s JOIN event e ON e.id = s.event_id WHERE 1 = 1",
    );
    if let Some(t) = filter.resource_type {
        q.sql(" AND s.resource_type = ").bind(t.as_str());
    }
    if let Some(id) = &filter.resource_id {
        q.sql(" AND s.resource_id = ").bind(id);
    }
    if !filter.old_states.is_empty() {
        q.sql(" AND s.old_state IN ")
            .bind_list(filter.old_states.iter());
    }
    if !filter.new_states.is_empty() {
        q.sql(" AND s.new_state IN ")
            .bind_list(filter.new_states.iter());
    }
    // The id breaks ties between events of the same millisecond; it is random,
    // so order within one millisecond is by insertion on the engine's terms.
    q.sql(" ORDER BY e.timestamp DESC, e.id DESC")
        .paging(&filter.paging);
    let rows: Vec<EventRow> = q.fetch_all(conn).await?;
    rows.into_iter().map(EventRow::into_model).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use cloud_model::filter::Paging;

    backend_test!(events_are_listed_newest_first_with_filters, |store| {
        let a = NewStateChange::new(ResourceType::Cluster, "c1", "n/a", "creation-requested");
        let b = NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "n/a",
            "creation-requested",
        )
        .with("Name", "alpha");
        let c = NewStateChange::new(
            ResourceType::Installation,
            "i1",
            "creation-requested",
            "stable",
        );
        for change in [&a, &b, &c] {
            store.event_record(change).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        let all = store
            .event_list(&StateChangeEventFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].state_change.new_state, "stable");
        assert_eq!(all[2].state_change.resource_type, ResourceType::Cluster);
        assert_eq!(all[1].event.extra_data.fields["Name"], "alpha");
        assert_eq!(
            all[1].event.extra_data.fields["Environment"],
            store.environment()
        );

        let installation_only = store
            .event_list(&StateChangeEventFilter {
                resource_type: Some(ResourceType::Installation),
                resource_id: Some("i1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(installation_only.len(), 2);

        let new_stable = store
            .event_list(&StateChangeEventFilter {
                new_states: vec!["stable".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(new_stable.len(), 1);

        let page = store
            .event_list(&StateChangeEventFilter {
                paging: Paging {
                    page: 1,
                    per_page: 2,
                    include_deleted: false,
                },
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].state_change.resource_id, "c1");
    });

    backend_test!(a_rolled_back_transaction_leaves_no_event, |store| {
        let mut tx = store.begin().await.unwrap();
        let change = NewStateChange::new(ResourceType::Cluster, "c1", "n/a", "creation-requested");
        record_state_change(&mut tx, "dev", &change).await.unwrap();
        drop(tx);
        assert!(
            store
                .event_list(&StateChangeEventFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    });

    backend_test!(each_live_subscription_gets_a_delivery_row, |store| {
        for (id, deleted) in [("s1", 0i64), ("s2", 0), ("s3", 5)] {
            Query::new(
                "INSERT INTO subscription (id, url, owner_id, event_type, create_at, delete_at) VALUES (",
            )
            .bind(id)
            .sql(", 'http://x', 'o', 'resourceStateChange', 1, ")
            .bind(deleted)
            .sql(")")
            .execute(store.conn())
            .await
            .unwrap();
        }
        let data = store
            .event_record(&NewStateChange::new(ResourceType::Cluster, "c1", "a", "b"))
            .await
            .unwrap();
        let n = Query::new(
            "SELECT COUNT(*) FROM event_delivery WHERE status = 'not-attempted' AND event_id = ",
        )
        .bind(&data.event.id)
        .fetch_i64(store.conn())
        .await
        .unwrap();
        assert_eq!(n, 2);
    });
}
