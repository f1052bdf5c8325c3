//! State-change events: one `Event` plus one `StateChangeEvent` per state
//! change of a cluster, installation, cluster installation, backup,
//! restoration or DB migration. Unlike the original (which writes the event
//! after the state and can lose it), the store writes both in the same
//! transaction as the change itself.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::filter::Paging;

/// The only event type the original has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum EventType {
    #[default]
    #[serde(rename = "resourceStateChange")]
    ResourceStateChange,
}

impl EventType {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::ResourceStateChange => "resourceStateChange",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "resourceStateChange" => Ok(EventType::ResourceStateChange),
            other => Err(format!(
                "unknown event type {other:?} (the only type is \"resourceStateChange\")"
            )),
        }
    }
}

/// Kinds of object whose state changes are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceType {
    #[serde(rename = "cluster")]
    Cluster,
    #[serde(rename = "installation")]
    Installation,
    #[serde(rename = "cluster_installation")]
    ClusterInstallation,
    #[serde(rename = "installation_backup")]
    InstallationBackup,
    #[serde(rename = "installation_db_restoration_operation")]
    InstallationDbRestorationOperation,
    #[serde(rename = "installation_db_migration_operation")]
    InstallationDbMigrationOperation,
}

impl ResourceType {
    pub const ALL: [ResourceType; 6] = [
        ResourceType::Cluster,
        ResourceType::Installation,
        ResourceType::ClusterInstallation,
        ResourceType::InstallationBackup,
        ResourceType::InstallationDbRestorationOperation,
        ResourceType::InstallationDbMigrationOperation,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ResourceType::Cluster => "cluster",
            ResourceType::Installation => "installation",
            ResourceType::ClusterInstallation => "cluster_installation",
            ResourceType::InstallationBackup => "installation_backup",
            ResourceType::InstallationDbRestorationOperation => {
                "installation_db_restoration_operation"
            }
            ResourceType::InstallationDbMigrationOperation => "installation_db_migration_operation",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown resource type {s:?} (one of {})", names.join(", "))
            })
    }
}

/// `Event.ExtraData`: `{"fields": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventExtraData {
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EventType")]
    pub event_type: EventType,
    /// Milliseconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "ExtraData")]
    pub extra_data: EventExtraData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangeEvent {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EventID")]
    pub event_id: String,
    #[serde(rename = "OldState")]
    pub old_state: String,
    #[serde(rename = "NewState")]
    pub new_state: String,
    #[serde(rename = "ResourceID")]
    pub resource_id: String,
    #[serde(rename = "ResourceType")]
    pub resource_type: ResourceType,
}

/// One element of `GET /api/events/state_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangeEventData {
    #[serde(rename = "Event")]
    pub event: Event,
    #[serde(rename = "StateChange")]
    pub state_change: StateChangeEvent,
}

/// What a caller hands the store to record a state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStateChange {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub old_state: String,
    pub new_state: String,
    /// Extra `ExtraData.fields` (e.g. `Name`, `ClusterID`, `actor_id`).
    /// `Environment` is added by the store.
    pub extra: BTreeMap<String, String>,
}

impl NewStateChange {
    pub fn new(
        resource_type: ResourceType,
        resource_id: impl Into<String>,
        old_state: impl Into<String>,
        new_state: impl Into<String>,
    ) -> Self {
        Self {
            resource_type,
            resource_id: resource_id.into(),
            old_state: old_state.into(),
            new_state: new_state.into(),
            extra: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// Filter of the state-change event list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChangeEventFilter {
    pub paging: Paging,
    pub resource_type: Option<ResourceType>,
    pub resource_id: Option<String>,
    pub old_states: Vec<String>,
    pub new_states: Vec<String>,
}

/// Delivery status of one event to one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventDeliveryStatus {
    #[serde(rename = "not-attempted")]
    NotAttempted,
    #[serde(rename = "delivered")]
    Delivered,
    #[serde(rename = "retrying")]
    Retrying,
    #[serde(rename = "failed")]
    Failed,
}

impl EventDeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventDeliveryStatus::NotAttempted => "not-attempted",
            EventDeliveryStatus::Delivered => "delivered",
            EventDeliveryStatus::Retrying => "retrying",
            EventDeliveryStatus::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_data_matches_the_original_shape() {
        let doc = r#"{"Event":{"ID":"a1b2c3d4e5f6g7h8i9j0k1l2m3","EventType":"resourceStateChange","Timestamp":1589188584607,"ExtraData":{"fields":{"Environment":"dev","Name":"stelios"}}},"StateChange":{"ID":"n1b2c3d4e5f6g7h8i9j0k1l2m3","EventID":"a1b2c3d4e5f6g7h8i9j0k1l2m3","OldState":"n/a","NewState":"creation-requested","ResourceID":"8npnfpbiitygxbsrpg1p5i1sse","ResourceType":"installation"}}"#;
        let data: StateChangeEventData = serde_json::from_str(doc).unwrap();
        assert_eq!(data.state_change.resource_type, ResourceType::Installation);
        assert_eq!(data.event.extra_data.fields["Name"], "stelios");
        assert_eq!(serde_json::to_string(&data).unwrap(), doc);
    }

    #[test]
    fn resource_types_parse_from_their_names() {
        for t in ResourceType::ALL {
            assert_eq!(t.as_str().parse::<ResourceType>().unwrap(), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert!("clusters".parse::<ResourceType>().is_err());
    }

    #[test]
    fn event_type_has_one_value() {
        assert_eq!(
            "resourceStateChange".parse::<EventType>().unwrap(),
            EventType::ResourceStateChange
        );
        assert!("other".parse::<EventType>().is_err());
    }
}
