//! Cluster installations: one installation's namespace and `Mattermost`
//! custom resource on one cluster, with the state machine the cluster
//! installation supervisor drives (original-core §1.3, §3.3), the Kubernetes
//! status report and the bodies of the cluster-migration routes.
//!
//! The API never requests cluster-installation states itself (only the
//! delete-inactive migration routes write `deletion-requested`), so there is
//! no transition map here, only the supervisor's pending-work list.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::filter::Paging;
use crate::progress::Progress;

/// The states of §3.3, serialised as the original's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClusterInstallationState {
    #[serde(rename = "creation-requested")]
    CreationRequested,
    #[serde(rename = "creation-failed")]
    CreationFailed,
    #[serde(rename = "reconciling")]
    Reconciling,
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "stable")]
    Stable,
    #[serde(rename = "deletion-requested")]
    DeletionRequested,
    #[serde(rename = "deletion-failed")]
    DeletionFailed,
    #[serde(rename = "deleted")]
    Deleted,
}

impl ClusterInstallationState {
    /// Every state (`AllClusterInstallationStates`).
    pub const ALL: [ClusterInstallationState; 8] = [
        ClusterInstallationState::CreationRequested,
        ClusterInstallationState::CreationFailed,
        ClusterInstallationState::Reconciling,
        ClusterInstallationState::Ready,
        ClusterInstallationState::Stable,
        ClusterInstallationState::DeletionRequested,
        ClusterInstallationState::DeletionFailed,
        ClusterInstallationState::Deleted,
    ];

    /// States the supervisor works on, highest priority first
    /// (creation 3, reconciling 2, ready 1, deletion 0).
    pub const PENDING_WORK: [ClusterInstallationState; 4] = [
        ClusterInstallationState::CreationRequested,
        ClusterInstallationState::Reconciling,
        ClusterInstallationState::Ready,
        ClusterInstallationState::DeletionRequested,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ClusterInstallationState::CreationRequested => "creation-requested",
            ClusterInstallationState::CreationFailed => "creation-failed",
            ClusterInstallationState::Reconciling => "reconciling",
            ClusterInstallationState::Ready => "ready",
            ClusterInstallationState::Stable => "stable",
            ClusterInstallationState::DeletionRequested => "deletion-requested",
            ClusterInstallationState::DeletionFailed => "deletion-failed",
            ClusterInstallationState::Deleted => "deleted",
        }
    }

    /// Whether the supervisor has work to do in this state.
    pub fn is_pending_work(&self) -> bool {
        Self::PENDING_WORK.contains(self)
    }

    /// The supervisor's ordering of pending work: higher runs first; `None`
    /// for states without pending work.
    pub fn pending_work_priority(&self) -> Option<u8> {
        match self {
            ClusterInstallationState::CreationRequested => Some(3),
            ClusterInstallationState::Reconciling => Some(2),
            ClusterInstallationState::Ready => Some(1),
            ClusterInstallationState::DeletionRequested => Some(0),
            _ => None,
        }
    }

    /// The state a missing cluster or installation sends a cluster
    /// installation to (`failedClusterInstallationState`): a requested
    /// creation or deletion fails, anything else is left as it is.
    pub fn failed(&self) -> ClusterInstallationState {
        match self {
            ClusterInstallationState::CreationRequested => ClusterInstallationState::CreationFailed,
            ClusterInstallationState::DeletionRequested => ClusterInstallationState::DeletionFailed,
            other => *other,
        }
    }
}

impl fmt::Display for ClusterInstallationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClusterInstallationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown cluster installation state {s:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

/// One installation on one cluster (`model.ClusterInstallation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInstallation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    /// Always the installation ID.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "State")]
    pub state: ClusterInstallationState,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
    #[serde(rename = "APISecurityLock")]
    pub api_security_lock: bool,
    #[serde(rename = "LockAcquiredBy")]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt")]
    pub lock_acquired_at: i64,
    /// False for cluster-migration targets until the DNS switch.
    #[serde(rename = "IsActive")]
    pub is_active: bool,
    /// Supervisor progress (our addition; no keys while empty).
    #[serde(flatten)]
    pub progress: Progress,
}

impl ClusterInstallation {
    /// A live, active cluster installation of `installation_id` on
    /// `cluster_id`, before the store assigns its ID and creation time.
    pub fn new(
        cluster_id: impl Into<String>,
        installation_id: impl Into<String>,
        state: ClusterInstallationState,
    ) -> Self {
        let installation_id = installation_id.into();
        Self {
            id: String::new(),
            cluster_id: cluster_id.into(),
            namespace: installation_id.clone(),
            installation_id,
            state,
            create_at: 0,
            delete_at: 0,
            api_security_lock: false,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            is_active: true,
            progress: Progress::default(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// What `GET /api/cluster_installations` and the store may filter on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterInstallationFilter {
    pub paging: Paging,
    /// Only these IDs (no restriction when empty).
    pub ids: Vec<String>,
    pub installation_id: Option<String>,
    pub cluster_id: Option<String>,
    pub is_active: Option<bool>,
}

/// The Kubernetes view of a cluster installation
/// (`GET /api/cluster_installation/{id}/status`); every key is omitted when
/// unset, so a missing deployment answers `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInstallationStatus {
    #[serde(
        rename = "InstallationFound",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub installation_found: bool,
    #[serde(rename = "Replicas", default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(rename = "TotalPod", default, skip_serializing_if = "Option::is_none")]
    pub total_pod: Option<i32>,
    #[serde(
        rename = "RunningPod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub running_pod: Option<i32>,
    #[serde(rename = "ReadyPod", default, skip_serializing_if = "Option::is_none")]
    pub ready_pod: Option<i32>,
    #[serde(
        rename = "StartedPod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub started_pod: Option<i32>,
    #[serde(
        rename = "ReadyLocalServer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_local_server: Option<i32>,
}

/// Body of the cluster-migration routes (`POST /api/cluster_installations/migrate`
/// and `…/migrate/dns`, `…/migrate/switch_cluster_roles`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateClusterInstallationRequest {
    /// Narrows the migration to one installation; `""` means all.
    #[serde(rename = "InstallationID", default)]
    pub installation_id: String,
    #[serde(rename = "SourceClusterID", default)]
    pub source_cluster_id: String,
    #[serde(rename = "TargetClusterID", default)]
    pub target_cluster_id: String,
    #[serde(rename = "DNSSwitch", default)]
    pub dns_switch: bool,
    #[serde(rename = "LockInstallation", default)]
    pub lock_installation: bool,
}

impl MigrateClusterInstallationRequest {
    /// Both clusters are required and must differ; the installation, when
    /// given, must look like an ID.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, value) in [
            ("SourceClusterID", &self.source_cluster_id),
            ("TargetClusterID", &self.target_cluster_id),
        ] {
            if value.is_empty() {
                return Err(ValidationError::new(field, "is required"));
            }
            if !crate::is_valid_id(value) {
                return Err(ValidationError::new(field, "is not a valid ID"));
            }
        }
        if self.source_cluster_id == self.target_cluster_id {
            return Err(ValidationError::new(
                "TargetClusterID",
                "must differ from SourceClusterID",
            ));
        }
        if !self.installation_id.is_empty() && !crate::is_valid_id(&self.installation_id) {
            return Err(ValidationError::new("InstallationID", "is not a valid ID"));
        }
        Ok(())
    }
}

/// `MigrateClusterInstallationResponse.Operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MigrationOperation {
    #[serde(rename = "MigratingClusterInstallation")]
    MigratingClusterInstallation,
    #[serde(rename = "DNSSwitch")]
    DnsSwitch,
    #[serde(rename = "SwitchClusterRoles")]
    SwitchClusterRoles,
    #[serde(rename = "DeletingInActiveClusterInstallations")]
    DeletingInactiveClusterInstallations,
}

impl MigrationOperation {
    pub const ALL: [MigrationOperation; 4] = [
        MigrationOperation::MigratingClusterInstallation,
        MigrationOperation::DnsSwitch,
        MigrationOperation::SwitchClusterRoles,
        MigrationOperation::DeletingInactiveClusterInstallations,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MigrationOperation::MigratingClusterInstallation => "MigratingClusterInstallation",
            MigrationOperation::DnsSwitch => "DNSSwitch",
            MigrationOperation::SwitchClusterRoles => "SwitchClusterRoles",
            MigrationOperation::DeletingInactiveClusterInstallations => {
                "DeletingInActiveClusterInstallations"
            }
        }
    }
}

impl fmt::Display for MigrationOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MigrationOperation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| format!("unknown migration operation {s:?}"))
    }
}

/// Summary answered by the cluster-migration routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateClusterInstallationResponse {
    #[serde(rename = "SourceClusterID")]
    pub source_cluster_id: String,
    #[serde(rename = "TargetClusterID")]
    pub target_cluster_id: String,
    #[serde(rename = "Operation")]
    pub operation: MigrationOperation,
    #[serde(rename = "TotalClusterInstallations")]
    pub total_cluster_installations: i64,
}

/// Body of `PUT /api/cluster_installation/{id}/config`: a nested JSON object
/// whose string leaves are set one `mmctl config set` at a time.
pub type ClusterInstallationConfig = serde_json::Map<String, serde_json::Value>;

/// Builds the nested config object the CLI sends for `--key A.B.C --value v`:
/// `{"A":{"B":{"C":"v"}}}`. Empty path segments are rejected.
pub fn config_from_dotted_key(
    key: &str,
    value: &str,
) -> Result<ClusterInstallationConfig, ValidationError> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ValidationError::new(
            "key",
            "must be a dotted config path such as ServiceSettings.SiteURL",
        ));
    }
    let mut leaf = serde_json::Value::String(value.to_owned());
    for part in parts.iter().skip(1).rev() {
        let mut map = serde_json::Map::new();
        map.insert((*part).to_owned(), leaf);
        leaf = serde_json::Value::Object(map);
    }
    let mut root = serde_json::Map::new();
    // `parts` has at least one element because `split` never yields none.
    root.insert(parts[0].to_owned(), leaf);
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI_DOC: &str = r#"{"ID":"a1b2c3d4e5f6g7h8i9j0k1l2m3","ClusterID":"cabcdefghijklmnopqrstuvwxy","InstallationID":"tetw1yt3yinjdbhctsstcrybch","Namespace":"tetw1yt3yinjdbhctsstcrybch","State":"reconciling","CreateAt":1700000000000,"DeleteAt":0,"APISecurityLock":false,"LockAcquiredBy":null,"LockAcquiredAt":0,"IsActive":true}"#;

    #[test]
    fn cluster_installation_json_round_trips() {
        let ci: ClusterInstallation = serde_json::from_str(CI_DOC).unwrap();
        assert_eq!(ci.state, ClusterInstallationState::Reconciling);
        assert_eq!(ci.namespace, ci.installation_id);
        assert!(ci.is_active);
        assert!(!ci.is_deleted());
        assert_eq!(serde_json::to_string(&ci).unwrap(), CI_DOC);
    }

    #[test]
    fn locked_and_deleted_cluster_installation_round_trips() {
        let doc = CI_DOC
            .replace(r#""LockAcquiredBy":null"#, r#""LockAcquiredBy":"req1""#)
            .replace(r#""DeleteAt":0"#, r#""DeleteAt":1700000000001"#)
            .replace(r#""IsActive":true"#, r#""IsActive":false"#);
        let ci: ClusterInstallation = serde_json::from_str(&doc).unwrap();
        assert_eq!(ci.lock_acquired_by.as_deref(), Some("req1"));
        assert!(ci.is_deleted());
        assert_eq!(serde_json::to_string(&ci).unwrap(), doc);
    }

    #[test]
    fn unknown_state_is_rejected() {
        let doc = CI_DOC.replace("reconciling", "exploded");
        assert!(serde_json::from_str::<ClusterInstallation>(&doc).is_err());
    }

    #[test]
    fn states_have_the_original_strings() {
        let expected = [
            "creation-requested",
            "creation-failed",
            "reconciling",
            "ready",
            "stable",
            "deletion-requested",
            "deletion-failed",
            "deleted",
        ];
        for (state, name) in ClusterInstallationState::ALL.iter().zip(expected) {
            assert_eq!(state.as_str(), name);
            assert_eq!(state.to_string(), name);
            assert_eq!(name.parse::<ClusterInstallationState>().unwrap(), *state);
            assert_eq!(serde_json::to_string(state).unwrap(), format!("\"{name}\""));
        }
        assert!("Stable".parse::<ClusterInstallationState>().is_err());
    }

    #[test]
    fn pending_work_is_ordered_by_priority() {
        let priorities: Vec<_> = ClusterInstallationState::PENDING_WORK
            .iter()
            .map(|s| s.pending_work_priority())
            .collect();
        assert_eq!(priorities, vec![Some(3), Some(2), Some(1), Some(0)]);
        for state in ClusterInstallationState::ALL {
            assert_eq!(
                state.is_pending_work(),
                state.pending_work_priority().is_some(),
                "{state}"
            );
        }
        assert!(!ClusterInstallationState::Stable.is_pending_work());
        assert!(!ClusterInstallationState::CreationFailed.is_pending_work());
    }

    #[test]
    fn failure_maps_requested_states_only() {
        use ClusterInstallationState as S;
        assert_eq!(S::CreationRequested.failed(), S::CreationFailed);
        assert_eq!(S::DeletionRequested.failed(), S::DeletionFailed);
        assert_eq!(S::Reconciling.failed(), S::Reconciling);
        assert_eq!(S::Stable.failed(), S::Stable);
    }

    #[test]
    fn status_omits_unset_keys() {
        assert_eq!(
            serde_json::to_string(&ClusterInstallationStatus::default()).unwrap(),
            "{}"
        );
        let doc = r#"{"InstallationFound":true,"Replicas":2,"TotalPod":2,"RunningPod":2,"ReadyPod":1,"StartedPod":2,"ReadyLocalServer":1}"#;
        let status: ClusterInstallationStatus = serde_json::from_str(doc).unwrap();
        assert_eq!(status.ready_pod, Some(1));
        assert_eq!(serde_json::to_string(&status).unwrap(), doc);
        let partial: ClusterInstallationStatus =
            serde_json::from_str(r#"{"InstallationFound":true,"Replicas":0}"#).unwrap();
        assert_eq!(partial.replicas, Some(0));
        assert_eq!(partial.total_pod, None);
    }

    #[test]
    fn migrate_request_round_trips_and_validates() {
        let doc = r#"{"InstallationID":"","SourceClusterID":"cabcdefghijklmnopqrstuvwxy","TargetClusterID":"dabcdefghijklmnopqrstuvwxy","DNSSwitch":true,"LockInstallation":false}"#;
        let req: MigrateClusterInstallationRequest = serde_json::from_str(doc).unwrap();
        assert!(req.dns_switch);
        assert!(req.validate().is_ok());
        assert_eq!(serde_json::to_string(&req).unwrap(), doc);

        let empty: MigrateClusterInstallationRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.validate().unwrap_err().field, "SourceClusterID");

        let same = MigrateClusterInstallationRequest {
            target_cluster_id: req.source_cluster_id.clone(),
            ..req.clone()
        };
        assert_eq!(same.validate().unwrap_err().field, "TargetClusterID");

        let bad_installation = MigrateClusterInstallationRequest {
            installation_id: "short".into(),
            ..req.clone()
        };
        assert_eq!(
            bad_installation.validate().unwrap_err().field,
            "InstallationID"
        );
        let bad_target = MigrateClusterInstallationRequest {
            target_cluster_id: "x".into(),
            ..req
        };
        assert_eq!(bad_target.validate().unwrap_err().field, "TargetClusterID");
    }

    #[test]
    fn migrate_response_round_trips() {
        let doc = r#"{"SourceClusterID":"a","TargetClusterID":"b","Operation":"DeletingInActiveClusterInstallations","TotalClusterInstallations":3}"#;
        let resp: MigrateClusterInstallationResponse = serde_json::from_str(doc).unwrap();
        assert_eq!(
            resp.operation,
            MigrationOperation::DeletingInactiveClusterInstallations
        );
        assert_eq!(serde_json::to_string(&resp).unwrap(), doc);
        for op in MigrationOperation::ALL {
            assert_eq!(op.as_str().parse::<MigrationOperation>().unwrap(), op);
            assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{op}\""));
        }
    }

    #[test]
    fn dotted_keys_become_nested_objects() {
        let config =
            config_from_dotted_key("ServiceSettings.SiteURL", "https://x.example").unwrap();
        assert_eq!(
            serde_json::Value::Object(config),
            serde_json::json!({"ServiceSettings": {"SiteURL": "https://x.example"}})
        );
        let flat = config_from_dotted_key("Top", "v").unwrap();
        assert_eq!(
            serde_json::Value::Object(flat),
            serde_json::json!({"Top": "v"})
        );
        for bad in ["", ".a", "a.", "a..b"] {
            assert_eq!(config_from_dotted_key(bad, "v").unwrap_err().field, "key");
        }
    }

    #[test]
    fn new_cluster_installation_uses_the_installation_as_namespace() {
        let ci = ClusterInstallation::new("c1", "i1", ClusterInstallationState::CreationRequested);
        assert_eq!(ci.namespace, "i1");
        assert!(ci.is_active);
        assert!(ci.lock_acquired_by.is_none());
    }
}
