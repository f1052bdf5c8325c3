//! Event subscriptions: persisted, ordered, retried delivery of state-change
//! events to a URL.
//!
//! `FailureThreshold` is a Go `time.Duration`, i.e. an integer number of
//! **nanoseconds** on the wire and in the store, allowed between 0 and 72 h.
//! The delivery body (`StateChangeEventPayload`) has camelCase keys except
//! `ExtraData`, which the original never tagged. Unlike the original (which
//! only runs `url.Parse`), the URL must be an http(s) URL with a host, as for
//! webhooks, and the headers are validated.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::event::{EventType, ResourceType, StateChangeEventData};
use crate::filter::Paging;
use crate::webhook::{Headers, validate_callback_url};

/// Largest `FailureThreshold`: 72 hours in nanoseconds.
pub const MAX_FAILURE_THRESHOLD_NANOS: i64 = 72 * 3600 * 1_000_000_000;

/// `Subscription.LastDeliveryStatus`. The original only ever writes `""` and
/// `failed`; `succeeded` is accepted when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum LastDeliveryStatus {
    #[default]
    #[serde(rename = "")]
    None,
    #[serde(rename = "succeeded")]
    Succeeded,
    #[serde(rename = "failed")]
    Failed,
}

impl LastDeliveryStatus {
    pub const ALL: [LastDeliveryStatus; 3] = [
        LastDeliveryStatus::None,
        LastDeliveryStatus::Succeeded,
        LastDeliveryStatus::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            LastDeliveryStatus::None => "",
            LastDeliveryStatus::Succeeded => "succeeded",
            LastDeliveryStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for LastDeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LastDeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown delivery status {s:?} (one of \"\", succeeded, failed)")
            })
    }
}

/// A registered event subscription. `Debug` redacts the secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "OwnerID")]
    pub owner_id: String,
    #[serde(rename = "EventType")]
    pub event_type: EventType,
    #[serde(rename = "LastDeliveryStatus", default)]
    pub last_delivery_status: LastDeliveryStatus,
    #[serde(rename = "LastDeliveryAttemptAt", default)]
    pub last_delivery_attempt_at: i64,
    /// Nanoseconds.
    #[serde(rename = "FailureThreshold", default)]
    pub failure_threshold: i64,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
    #[serde(rename = "Headers", default)]
    pub headers: Headers,
    /// The HMAC-SHA256 key of the delivery signature (our addition). Only the
    /// create response carries it; every later read leaves it out.
    #[serde(rename = "Secret", default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

// The secret never reaches a log through Debug.
impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("owner_id", &self.owner_id)
            .field("event_type", &self.event_type)
            .field("last_delivery_status", &self.last_delivery_status)
            .field("last_delivery_attempt_at", &self.last_delivery_attempt_at)
            .field("failure_threshold", &self.failure_threshold)
            .field("create_at", &self.create_at)
            .field("delete_at", &self.delete_at)
            .field("lock_acquired_by", &self.lock_acquired_by)
            .field("lock_acquired_at", &self.lock_acquired_at)
            .field("headers", &self.headers)
            .field("secret", &self.secret.as_ref().map(|_| "****"))
            .finish()
    }
}

impl Subscription {
    pub fn is_deleted(&self) -> bool {
        self.delete_at > 0
    }
}

/// Store filter of the subscription list (`?owner=&event_type=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    pub paging: Paging,
    pub owner: Option<String>,
    pub event_type: Option<EventType>,
}

/// Body of `POST /api/subscriptions`. `EventType` stays a string so that a
/// missing one is reported as "required" rather than as a decode error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSubscriptionRequest {
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "URL", default)]
    pub url: String,
    #[serde(rename = "OwnerID", default)]
    pub owner_id: String,
    #[serde(rename = "EventType", default)]
    pub event_type: String,
    /// Nanoseconds.
    #[serde(rename = "FailureThreshold", default)]
    pub failure_threshold: i64,
    #[serde(rename = "Headers", default)]
    pub headers: Headers,
}

impl CreateSubscriptionRequest {
    /// Validates the request and builds the subscription to store (ID and
    /// timestamps are set by the store).
    pub fn to_subscription(&self) -> Result<Subscription, ValidationError> {
        validate_callback_url("URL", &self.url)?;
        if self.event_type.is_empty() {
            return Err(ValidationError::new(
                "EventType",
                "event type is required when registering subscription",
            ));
        }
        let event_type: EventType = self
            .event_type
            .parse()
            .map_err(|e: String| ValidationError::new("EventType", e))?;
        if self.owner_id.is_empty() {
            return Err(ValidationError::new(
                "OwnerID",
                "owner ID is required when registering subscription",
            ));
        }
        if !(0..=MAX_FAILURE_THRESHOLD_NANOS).contains(&self.failure_threshold) {
            return Err(ValidationError::new(
                "FailureThreshold",
                "failure threshold need to be between 0 and 72 hours (in nanoseconds)",
            ));
        }
        self.headers.validate()?;
        Ok(Subscription {
            name: self.name.clone(),
            url: self.url.clone(),
            owner_id: self.owner_id.clone(),
            event_type,
            failure_threshold: self.failure_threshold,
            headers: self.headers.clone(),
            ..Subscription::default()
        })
    }
}

/// Body POSTed to a subscription's URL. `timestamp` is in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangeEventPayload {
    #[serde(rename = "eventId")]
    pub event_id: String,
    pub timestamp: i64,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    #[serde(rename = "resourceType")]
    pub resource_type: ResourceType,
    #[serde(rename = "newState")]
    pub new_state: String,
    #[serde(rename = "oldState")]
    pub old_state: String,
    #[serde(rename = "ExtraData", default)]
    pub extra_data: BTreeMap<String, String>,
}

impl From<&StateChangeEventData> for StateChangeEventPayload {
    fn from(data: &StateChangeEventData) -> Self {
        Self {
            event_id: data.event.id.clone(),
            timestamp: data.event.timestamp,
            resource_id: data.state_change.resource_id.clone(),
            resource_type: data.state_change.resource_type,
            new_state: data.state_change.new_state.clone(),
            old_state: data.state_change.old_state.clone(),
            extra_data: data.event.extra_data.fields.clone(),
        }
    }
}

/// Body of `POST /api/subscription/{id}/replay` (our addition): re-send the
/// subscription's events from an event (`FromEventID`, included) or from a
/// time (`FromTimestamp`, ms, included). With neither, delivery resumes after
/// the cursor (the last event delivered), which also revives a dead
/// subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRequest {
    #[serde(
        rename = "FromEventID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_event_id: Option<String>,
    #[serde(
        rename = "FromTimestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_timestamp: Option<i64>,
}

impl ReplayRequest {
    /// At most one starting point may be given.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.from_event_id.is_some() && self.from_timestamp.is_some() {
            return Err(ValidationError::new(
                "FromTimestamp",
                "give FromEventID or FromTimestamp, not both",
            ));
        }
        if self.from_event_id.as_deref() == Some("") {
            return Err(ValidationError::new(
                "FromEventID",
                "FromEventID must not be empty",
            ));
        }
        if self.from_timestamp.is_some_and(|t| t < 0) {
            return Err(ValidationError::new(
                "FromTimestamp",
                "FromTimestamp must be a time in milliseconds",
            ));
        }
        Ok(())
    }
}

/// Answer of a replay: how many deliveries were queued again and the new
/// cursor (the sequence number after which delivery resumes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayResponse {
    #[serde(rename = "SubscriptionID")]
    pub subscription_id: String,
    #[serde(rename = "Requeued")]
    pub requeued: i64,
    #[serde(rename = "Cursor")]
    pub cursor: i64,
}

/// One event owed to one subscription (our addition, listed by
/// `GET /api/subscription/{id}/deliveries`). `Sequence` orders deliveries;
/// `EventID` is also the `X-Cloud-Event-Id` idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EventID")]
    pub event_id: String,
    #[serde(rename = "Sequence")]
    pub sequence: i64,
    #[serde(rename = "EventTimestamp")]
    pub event_timestamp: i64,
    #[serde(rename = "Status")]
    pub status: crate::event::EventDeliveryStatus,
    #[serde(rename = "Attempts")]
    pub attempts: i64,
    #[serde(rename = "LastAttempt")]
    pub last_attempt: i64,
    #[serde(rename = "NextAttemptAt")]
    pub next_attempt_at: i64,
    #[serde(rename = "FirstFailureAt")]
    pub first_failure_at: i64,
    #[serde(rename = "LastError")]
    pub last_error: String,
    #[serde(rename = "DeliveredAt")]
    pub delivered_at: i64,
}

/// Delivery state of a subscription and its deliveries, newest first (our
/// addition). `DeadAt > 0` means the failure bound passed and delivery
/// stopped until a replay; `LeaseHolder` is the server delivering it now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionDeliveries {
    #[serde(rename = "SubscriptionID")]
    pub subscription_id: String,
    #[serde(rename = "LastDeliveryStatus")]
    pub last_delivery_status: LastDeliveryStatus,
    #[serde(rename = "LastDeliveryAttemptAt")]
    pub last_delivery_attempt_at: i64,
    #[serde(rename = "Cursor")]
    pub cursor: i64,
    #[serde(rename = "NextAttemptAt")]
    pub next_attempt_at: i64,
    #[serde(rename = "DeadAt")]
    pub dead_at: i64,
    #[serde(rename = "LeaseHolder")]
    pub lease_holder: Option<String>,
    #[serde(rename = "LeaseExpiresAt")]
    pub lease_expires_at: i64,
    #[serde(rename = "Deliveries")]
    pub deliveries: Vec<DeliveryRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventExtraData, StateChangeEvent};
    use crate::webhook::WebhookHeader;

    #[test]
    fn subscription_round_trips_the_original_shape() {
        let doc = r#"{"ID":"s1b2c3d4e5f6g7h8i9j0k1l2m3","Name":"e2e","URL":"http://localhost:11112","OwnerID":"e2e-test","EventType":"resourceStateChange","LastDeliveryStatus":"","LastDeliveryAttemptAt":0,"FailureThreshold":3600000000000,"CreateAt":1589188584607,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0,"Headers":[{"key":"A","value":"1"}]}"#;
        let sub: Subscription = serde_json::from_str(doc).unwrap();
        assert_eq!(sub.failure_threshold, 3_600_000_000_000);
        assert_eq!(sub.last_delivery_status, LastDeliveryStatus::None);
        assert!(!sub.is_deleted());
        assert_eq!(serde_json::to_string(&sub).unwrap(), doc);

        let failed = doc.replace(
            r#""LastDeliveryStatus":"""#,
            r#""LastDeliveryStatus":"failed""#,
        );
        let sub: Subscription = serde_json::from_str(&failed).unwrap();
        assert_eq!(sub.last_delivery_status, LastDeliveryStatus::Failed);
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let sub = Subscription {
            secret: Some("s3cr3t-value".into()),
            ..Default::default()
        };
        let shown = format!("{sub:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("****"), "{shown}");
    }

    #[test]
    fn the_secret_is_shown_only_when_set() {
        let mut sub = Subscription::default();
        let shown = serde_json::to_value(&sub).unwrap();
        assert!(shown.get("Secret").is_none(), "{shown}");
        sub.secret = Some("s3cr3t".into());
        let shown = serde_json::to_value(&sub).unwrap();
        assert_eq!(shown["Secret"], "s3cr3t");
    }

    #[test]
    fn replay_takes_one_starting_point() {
        let r: ReplayRequest = serde_json::from_str(r#"{"FromEventID":"e1"}"#).unwrap();
        assert_eq!(r.from_event_id.as_deref(), Some("e1"));
        r.validate().unwrap();
        let r: ReplayRequest = serde_json::from_str(r#"{"FromTimestamp":1712745600000}"#).unwrap();
        assert_eq!(r.from_timestamp, Some(1_712_745_600_000));
        r.validate().unwrap();
        ReplayRequest::default().validate().unwrap();
        let both = ReplayRequest {
            from_event_id: Some("e".into()),
            from_timestamp: Some(1),
        };
        assert_eq!(both.validate().unwrap_err().field, "FromTimestamp");
        let empty = ReplayRequest {
            from_event_id: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(empty.validate().unwrap_err().field, "FromEventID");
        let negative = ReplayRequest {
            from_timestamp: Some(-1),
            ..Default::default()
        };
        assert_eq!(negative.validate().unwrap_err().field, "FromTimestamp");
    }

    #[test]
    fn delivery_statuses_parse_from_their_names() {
        for s in LastDeliveryStatus::ALL {
            assert_eq!(s.as_str().parse::<LastDeliveryStatus>().unwrap(), s);
        }
        assert!("ok".parse::<LastDeliveryStatus>().is_err());
    }

    fn request() -> CreateSubscriptionRequest {
        serde_json::from_str(
            r#"{"Name":"n","URL":"https://example.com/events","OwnerID":"me","EventType":"resourceStateChange","FailureThreshold":0}"#,
        )
        .unwrap()
    }

    #[test]
    fn valid_request_builds_a_fresh_subscription() {
        let mut req = request();
        req.failure_threshold = MAX_FAILURE_THRESHOLD_NANOS;
        req.headers = Headers(vec![WebhookHeader::from_env("Auth", "TOKEN")]);
        let sub = req.to_subscription().unwrap();
        assert_eq!(sub.name, "n");
        assert_eq!(sub.owner_id, "me");
        assert_eq!(sub.event_type, EventType::ResourceStateChange);
        assert_eq!(sub.last_delivery_status, LastDeliveryStatus::None);
        assert_eq!(sub.failure_threshold, MAX_FAILURE_THRESHOLD_NANOS);
        assert_eq!(sub.headers.len(), 1);
        assert_eq!(sub.lock_acquired_by, None);
    }

    type Mutation = fn(&mut CreateSubscriptionRequest);

    #[test]
    fn request_rules_name_the_field_at_fault() {
        let cases: [(&str, Mutation); 8] = [
            ("URL", |r| r.url = "ftp://x".into()),
            ("URL", |r| r.url.clear()),
            ("EventType", |r| r.event_type.clear()),
            ("EventType", |r| r.event_type = "other".into()),
            ("OwnerID", |r| r.owner_id.clear()),
            ("FailureThreshold", |r| r.failure_threshold = -1),
            ("FailureThreshold", |r| {
                r.failure_threshold = MAX_FAILURE_THRESHOLD_NANOS + 1
            }),
            ("Headers", |r| {
                r.headers = Headers(vec![WebhookHeader::default()]);
            }),
        ];
        for (field, mutate) in cases {
            let mut req = request();
            mutate(&mut req);
            assert_eq!(req.to_subscription().unwrap_err().field, field);
        }
    }

    #[test]
    fn payload_has_camel_case_keys_and_pascal_extra_data() {
        let data = StateChangeEventData {
            event: Event {
                id: "e".into(),
                event_type: EventType::ResourceStateChange,
                timestamp: 1_712_745_600_000,
                extra_data: EventExtraData {
                    fields: BTreeMap::from([
                        ("Environment".to_string(), "prod".to_string()),
                        ("Name".to_string(), "myinst".to_string()),
                    ]),
                },
            },
            state_change: StateChangeEvent {
                id: "s".into(),
                event_id: "e".into(),
                old_state: "creation-final-tasks".into(),
                new_state: "stable".into(),
                resource_id: "r".into(),
                resource_type: ResourceType::Installation,
            },
        };
        let payload = StateChangeEventPayload::from(&data);
        let doc = r#"{"eventId":"e","timestamp":1712745600000,"resourceId":"r","resourceType":"installation","newState":"stable","oldState":"creation-final-tasks","ExtraData":{"Environment":"prod","Name":"myinst"}}"#;
        assert_eq!(serde_json::to_string(&payload).unwrap(), doc);
        let back: StateChangeEventPayload = serde_json::from_str(doc).unwrap();
        assert_eq!(back, payload);
    }
}
