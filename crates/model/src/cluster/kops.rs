//! kops provisioner metadata (`model/kops_metadata.go`): what the cluster
//! looks like, the pending change the API asked for (`ChangeRequest`), the
//! node rotator request, and how requests are folded into the metadata.

use super::{ProvisionerMetadata, null_default};
use crate::ValidationError;
use crate::cluster_request::{
    CreateClusterRequest, PatchClusterSizeRequest, PatchUpgradeClusterRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kops cluster name of a cluster.
pub fn kops_cluster_name(cluster_id: &str) -> String {
    format!("{cluster_id}-kops.k8s.local")
}

/// One kops instance group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KopsInstanceGroupMetadata {
    pub node_instance_type: String,
    pub node_min_count: i64,
    pub node_max_count: i64,
    #[serde(rename = "AMI")]
    pub ami: String,
}

/// Instance groups by name.
pub type KopsInstanceGroupsMetadata = BTreeMap<String, KopsInstanceGroupMetadata>;

/// A change the API asked for; zero values mean "no change".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KopsMetadataRequestedState {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(rename = "AMI", skip_serializing_if = "String::is_empty")]
    pub ami: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub master_instance_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub master_count: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_instance_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub node_min_count: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub node_max_count: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_pods_per_node: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub networking: String,
    #[serde(rename = "VPC", skip_serializing_if = "String::is_empty")]
    pub vpc: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kms_key_id: String,
}

pub(crate) fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Settings of a mattermost/rotator node rotation (kebab-case keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RotatorConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_rotator: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_scaling: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_drain_retries: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evict_grace_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_between_rotations: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_between_drains: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_between_pod_evictions: Option<i64>,
}

impl RotatorConfig {
    /// `use-rotator` is required; when it is true every other setting is.
    /// `field` is the request key the config came in (`rotatorConfig`).
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let Some(use_rotator) = self.use_rotator else {
            return Err(ValidationError::new(
                format!("{field}.use-rotator"),
                "rotator config use rotator should be set",
            ));
        };
        if !use_rotator {
            return Ok(());
        }
        let required = [
            ("max-scaling", self.max_scaling),
            ("max-drain-retries", self.max_drain_retries),
            ("evict-grace-period", self.evict_grace_period),
            ("wait-between-rotations", self.wait_between_rotations),
            ("wait-between-drains", self.wait_between_drains),
            (
                "wait-between-pod-evictions",
                self.wait_between_pod_evictions,
            ),
        ];
        for (key, value) in required {
            if value.is_none() {
                return Err(ValidationError::new(
                    format!("{field}.{key}"),
                    format!("rotator config {} should be set", key.replace('-', " ")),
                ));
            }
        }
        Ok(())
    }
}

/// An autoscaling group as the rotator reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotatorAutoscalingGroup {
    pub name: String,
    pub desired_capacity: i64,
    #[serde(deserialize_with = "null_default")]
    pub nodes: Vec<String>,
}

/// Progress of a rotation (`rotator.RotatorMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotatorStatus {
    #[serde(deserialize_with = "null_default")]
    pub master_groups: Vec<RotatorAutoscalingGroup>,
    #[serde(deserialize_with = "null_default")]
    pub worker_groups: Vec<RotatorAutoscalingGroup>,
}

/// A requested rotation and its progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotatorMetadata {
    pub status: Option<RotatorStatus>,
    pub config: Option<RotatorConfig>,
}

/// Metadata of a kops cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KopsMetadata {
    pub name: String,
    pub version: String,
    #[serde(rename = "AMI")]
    pub ami: String,
    pub master_instance_type: String,
    pub master_count: i64,
    pub node_instance_type: String,
    pub node_min_count: i64,
    pub node_max_count: i64,
    pub max_pods_per_node: i64,
    #[serde(rename = "VPC")]
    pub vpc: String,
    pub networking: String,
    pub kms_key_id: String,
    #[serde(deserialize_with = "null_default")]
    pub master_instance_groups: KopsInstanceGroupsMetadata,
    #[serde(deserialize_with = "null_default")]
    pub node_instance_groups: KopsInstanceGroupsMetadata,
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub custom_instance_groups: KopsInstanceGroupsMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_request: Option<KopsMetadataRequestedState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotator_request: Option<RotatorMetadata>,
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub warnings: Vec<String>,
}

impl KopsMetadata {
    /// Records everything a create request asks for as the pending change.
    pub fn apply_cluster_create_request(&mut self, request: &CreateClusterRequest) {
        self.change_request = Some(KopsMetadataRequestedState {
            version: request.version.clone(),
            ami: request.ami.clone(),
            master_instance_type: request.master_instance_type.clone(),
            master_count: request.master_count,
            node_instance_type: request.node_instance_type.clone(),
            node_min_count: request.node_min_count,
            node_max_count: request.node_max_count,
            max_pods_per_node: request.max_pods_per_node,
            networking: request.networking.clone(),
            vpc: request.vpc.clone(),
            kms_key_id: String::new(),
        });
    }

    /// Records the parts of an upgrade that differ from the current state.
    /// Returns whether anything changed (only then is a rotation recorded).
    pub fn apply_upgrade_patch(&mut self, patch: &PatchUpgradeClusterRequest) -> bool {
        let mut changes = KopsMetadataRequestedState::default();
        let mut applied = false;
        if let Some(v) = patch.version.as_ref().filter(|v| **v != self.version) {
            changes.version = v.clone();
            applied = true;
        }
        if let Some(v) = patch.ami.as_ref().filter(|v| **v != self.ami) {
            changes.ami = v.clone();
            applied = true;
        }
        if let Some(v) = patch
            .max_pods_per_node
            .filter(|v| *v != self.max_pods_per_node)
        {
            changes.max_pods_per_node = v;
            applied = true;
        }
        if let Some(v) = patch.kms_key_id.as_ref().filter(|v| **v != self.kms_key_id) {
            changes.kms_key_id = v.clone();
            applied = true;
        }
        if applied {
            self.change_request = Some(changes);
            self.set_rotator_config(patch.rotator_config.clone());
        }
        applied
    }

    /// Rejects a resize that would leave min above max.
    pub fn validate_cluster_size_patch(
        &self,
        patch: &PatchClusterSizeRequest,
    ) -> Result<(), ValidationError> {
        match (patch.node_min_count, patch.node_max_count) {
            (Some(min), None) if min > self.node_max_count => Err(ValidationError::new(
                "node-min-count",
                "resize patch would set min node count higher than max node count",
            )),
            (None, Some(max)) if max < self.node_min_count => Err(ValidationError::new(
                "node-max-count",
                "resize patch would set max node count lower than min node count",
            )),
            _ => Ok(()),
        }
    }

    /// Records the parts of a resize that differ from the current state.
    pub fn apply_cluster_size_patch(&mut self, patch: &PatchClusterSizeRequest) -> bool {
        let mut changes = KopsMetadataRequestedState::default();
        let mut applied = false;
        if let Some(v) = patch
            .node_instance_type
            .as_ref()
            .filter(|v| **v != self.node_instance_type)
        {
            changes.node_instance_type = v.clone();
            applied = true;
        }
        if let Some(v) = patch.node_min_count.filter(|v| *v != self.node_min_count) {
            changes.node_min_count = v;
            applied = true;
        }
        if let Some(v) = patch.node_max_count.filter(|v| *v != self.node_max_count) {
            changes.node_max_count = v;
            applied = true;
        }
        if let Some(v) = patch
            .master_instance_type
            .as_ref()
            .filter(|v| **v != self.master_instance_type)
        {
            changes.master_instance_type = v.clone();
            applied = true;
        }
        if applied {
            self.change_request = Some(changes);
            self.set_rotator_config(patch.rotator_config.clone());
        }
        applied
    }

    fn set_rotator_config(&mut self, config: Option<RotatorConfig>) {
        self.rotator_request
            .get_or_insert_with(RotatorMetadata::default)
            .config = config;
    }

    /// Whether the pending change has at least one value to act on.
    pub fn validate_change_request(&self) -> Result<(), String> {
        let Some(cr) = &self.change_request else {
            return Err("the KopsMetadata ChangeRequest is nil".to_string());
        };
        if cr == &KopsMetadataRequestedState::default() {
            return Err("the KopsMetadata ChangeRequest has no change values set".to_string());
        }
        Ok(())
    }

    /// Values refresh cannot read back from kops (`ApplyChangeRequest`).
    pub fn apply_change_request(&mut self) {
        if let Some(cr) = &self.change_request
            && cr.node_max_count != 0
        {
            self.node_max_count = cr.node_max_count;
        }
    }

    pub fn clear_change_request(&mut self) {
        self.change_request = None;
    }

    pub fn clear_rotator_request(&mut self) {
        self.rotator_request = None;
    }

    pub fn clear_warnings(&mut self) {
        self.warnings.clear();
    }

    pub fn add_warning(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// The worker instance groups after the pending resize: a new instance
    /// type applies to all of them; a new node count is spread round-robin,
    /// growing the smallest groups first (name order) or shrinking the
    /// largest first (reverse name order). Changed groups get min = max.
    pub fn worker_nodes_resize_changes(&self) -> KopsInstanceGroupsMetadata {
        let mut changes = self.node_instance_groups.clone();
        let Some(cr) = &self.change_request else {
            return changes;
        };
        if !cr.node_instance_type.is_empty() {
            for ig in changes.values_mut() {
                ig.node_instance_type = cr.node_instance_type.clone();
            }
        }
        if cr.node_min_count == 0 || changes.is_empty() {
            return changes;
        }
        let mut difference = cr.node_min_count - self.node_min_count;
        let keys: Vec<String> = changes.keys().cloned().collect();
        let resize = |ig: &mut KopsInstanceGroupMetadata, count: i64| {
            ig.node_min_count = count;
            ig.node_max_count = count;
        };
        if difference > 0 {
            let mut balance = 1;
            while difference > 0 {
                for key in &keys {
                    let Some(ig) = changes.get_mut(key) else {
                        continue;
                    };
                    if ig.node_min_count >= balance {
                        continue;
                    }
                    let count = ig.node_min_count + 1;
                    resize(ig, count);
                    difference -= 1;
                    if difference == 0 {
                        break;
                    }
                }
                balance += 1;
            }
        } else if difference < 0 {
            let mut balance = changes
                .values()
                .map(|ig| ig.node_min_count)
                .max()
                .unwrap_or(0);
            // Stop at zero nodes per group: a larger decrease cannot be met.
            while difference < 0 && balance >= 0 {
                for key in keys.iter().rev() {
                    let Some(ig) = changes.get_mut(key) else {
                        continue;
                    };
                    if ig.node_min_count <= balance {
                        continue;
                    }
                    let count = ig.node_min_count - 1;
                    resize(ig, count);
                    difference += 1;
                    if difference == 0 {
                        break;
                    }
                }
                balance -= 1;
            }
        }
        changes
    }

    /// The provisioner-independent view.
    pub fn common_metadata(&self) -> ProvisionerMetadata {
        ProvisionerMetadata {
            name: self.name.clone(),
            version: self.version.clone(),
            ami: self.ami.clone(),
            node_instance_type: self.node_instance_type.clone(),
            node_min_count: self.node_min_count,
            node_max_count: self.node_max_count,
            max_pods_per_node: self.max_pods_per_node,
            vpc: self.vpc.clone(),
            networking: self.networking.clone(),
            kms_key_id: self.kms_key_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ig(min: i64) -> KopsInstanceGroupMetadata {
        KopsInstanceGroupMetadata {
            node_instance_type: "m5.large".into(),
            node_min_count: min,
            node_max_count: min,
            ami: String::new(),
        }
    }

    #[test]
    fn round_trip_in_the_original_shape() {
        let doc = json!({
            "Name": "abc-kops.k8s.local", "Version": "1.28.4", "AMI": "ami-1",
            "MasterInstanceType": "t3.medium", "MasterCount": 1,
            "NodeInstanceType": "m5.large", "NodeMinCount": 2, "NodeMaxCount": 2,
            "MaxPodsPerNode": 200, "VPC": "vpc-1", "Networking": "calico", "KmsKeyId": "",
            "MasterInstanceGroups": {"master-us-east-1a": {"NodeInstanceType": "t3.medium",
                "NodeMinCount": 1, "NodeMaxCount": 1, "AMI": "ami-1"}},
            "NodeInstanceGroups": {},
            "ChangeRequest": {"Version": "1.29.0", "MaxPodsPerNode": 110},
            "RotatorRequest": {"Status": null, "Config": {"use-rotator": true, "max-scaling": 5}},
            "Warnings": ["w1"]
        });
        let m: KopsMetadata = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(m.change_request.as_ref().unwrap().max_pods_per_node, 110);
        assert_eq!(
            m.rotator_request
                .as_ref()
                .unwrap()
                .config
                .as_ref()
                .unwrap()
                .max_scaling,
            Some(5)
        );
        assert_eq!(serde_json::to_value(&m).unwrap(), doc);
    }

    #[test]
    fn go_nulls_are_accepted() {
        let m: KopsMetadata = serde_json::from_value(json!({
            "Name": "x", "MasterInstanceGroups": null, "NodeInstanceGroups": null,
            "Warnings": null, "RotatorRequest": {"Status": {"MasterGroups": null,
            "WorkerGroups": [{"Name": "nodes", "DesiredCapacity": 2, "Nodes": null}]}, "Config": null}
        }))
        .unwrap();
        assert!(m.master_instance_groups.is_empty());
        let status = m.rotator_request.unwrap().status.unwrap();
        assert_eq!(status.worker_groups[0].desired_capacity, 2);
    }

    #[test]
    fn create_request_becomes_the_change_request() {
        let mut r = CreateClusterRequest::default();
        r.set_defaults();
        r.vpc = "vpc-9".into();
        let mut m = KopsMetadata::default();
        m.apply_cluster_create_request(&r);
        let cr = m.change_request.unwrap();
        assert_eq!(cr.version, "latest");
        assert_eq!(
            (cr.master_count, cr.node_min_count, cr.node_max_count),
            (1, 2, 2)
        );
        assert_eq!(
            (cr.max_pods_per_node, cr.networking.as_str()),
            (200, "calico")
        );
        assert_eq!(cr.vpc, "vpc-9");
    }

    #[test]
    fn upgrade_patch_only_records_changes() {
        let mut m = KopsMetadata {
            version: "1.28.0".into(),
            ..Default::default()
        };
        let same = PatchUpgradeClusterRequest {
            version: Some("1.28.0".into()),
            ..Default::default()
        };
        assert!(!m.apply_upgrade_patch(&same));
        assert!(m.change_request.is_none() && m.rotator_request.is_none());
        let patch = PatchUpgradeClusterRequest {
            version: Some("1.29.0".into()),
            kms_key_id: Some("arn:aws:kms:us-east-1:1:key/ab".into()),
            rotator_config: Some(RotatorConfig {
                use_rotator: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(m.apply_upgrade_patch(&patch));
        let cr = m.change_request.as_ref().unwrap();
        assert_eq!(
            (cr.version.as_str(), cr.kms_key_id.as_str()),
            ("1.29.0", "arn:aws:kms:us-east-1:1:key/ab")
        );
        assert_eq!(
            m.rotator_request.unwrap().config.unwrap().use_rotator,
            Some(false)
        );
    }

    #[test]
    fn size_patch_validation_and_apply() {
        let mut m = KopsMetadata {
            node_min_count: 2,
            node_max_count: 4,
            node_instance_type: "m5.large".into(),
            ..Default::default()
        };
        let too_high = PatchClusterSizeRequest {
            node_min_count: Some(5),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&too_high).unwrap_err().field,
            "node-min-count"
        );
        let too_low = PatchClusterSizeRequest {
            node_max_count: Some(1),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&too_low).unwrap_err().field,
            "node-max-count"
        );
        let both = PatchClusterSizeRequest {
            node_min_count: Some(5),
            node_max_count: Some(6),
            ..Default::default()
        };
        assert!(m.validate_cluster_size_patch(&both).is_ok());
        let same = PatchClusterSizeRequest {
            node_instance_type: Some("m5.large".into()),
            ..Default::default()
        };
        assert!(!m.apply_cluster_size_patch(&same));
        let master = PatchClusterSizeRequest {
            master_instance_type: Some("t3.large".into()),
            ..Default::default()
        };
        assert!(m.apply_cluster_size_patch(&master));
        assert_eq!(m.change_request.unwrap().master_instance_type, "t3.large");
    }

    #[test]
    fn resize_spreads_increases_over_the_smallest_groups() {
        let mut m = KopsMetadata {
            node_min_count: 3,
            ..Default::default()
        };
        m.node_instance_groups =
            BTreeMap::from([("nodes-a".into(), ig(1)), ("nodes-b".into(), ig(2))]);
        m.change_request = Some(KopsMetadataRequestedState {
            node_min_count: 6,
            ..Default::default()
        });
        let c = m.worker_nodes_resize_changes();
        assert_eq!(
            (c["nodes-a"].node_min_count, c["nodes-b"].node_min_count),
            (3, 3)
        );
        assert_eq!(c["nodes-a"].node_max_count, 3);
    }

    #[test]
    fn resize_spreads_decreases_from_the_largest_groups_in_reverse_order() {
        let mut m = KopsMetadata {
            node_min_count: 6,
            ..Default::default()
        };
        m.node_instance_groups =
            BTreeMap::from([("nodes-a".into(), ig(3)), ("nodes-b".into(), ig(3))]);
        m.change_request = Some(KopsMetadataRequestedState {
            node_min_count: 5,
            node_instance_type: "m5.xlarge".into(),
            ..Default::default()
        });
        let c = m.worker_nodes_resize_changes();
        assert_eq!(
            (c["nodes-a"].node_min_count, c["nodes-b"].node_min_count),
            (3, 2)
        );
        assert!(c.values().all(|g| g.node_instance_type == "m5.xlarge"));
        // An impossible decrease stops at zero instead of looping forever.
        m.change_request = Some(KopsMetadataRequestedState {
            node_min_count: -10,
            ..Default::default()
        });
        let c = m.worker_nodes_resize_changes();
        assert!(c.values().all(|g| g.node_min_count == 0));
    }

    #[test]
    fn rotator_validation() {
        let none = RotatorConfig::default();
        assert_eq!(
            none.validate("rotatorConfig").unwrap_err().field,
            "rotatorConfig.use-rotator"
        );
        let off = RotatorConfig {
            use_rotator: Some(false),
            ..Default::default()
        };
        assert!(off.validate("rotatorConfig").is_ok());
        let mut on = RotatorConfig {
            use_rotator: Some(true),
            max_scaling: Some(5),
            max_drain_retries: Some(10),
            evict_grace_period: Some(3600),
            wait_between_rotations: Some(120),
            wait_between_drains: Some(900),
            wait_between_pod_evictions: None,
        };
        assert_eq!(
            on.validate("rotatorConfig").unwrap_err().field,
            "rotatorConfig.wait-between-pod-evictions"
        );
        on.wait_between_pod_evictions = Some(5);
        assert!(on.validate("rotatorConfig").is_ok());
        assert_eq!(
            serde_json::to_value(&on).unwrap(),
            json!({"use-rotator": true, "max-scaling": 5, "max-drain-retries": 10,
                   "evict-grace-period": 3600, "wait-between-rotations": 120,
                   "wait-between-drains": 900, "wait-between-pod-evictions": 5})
        );
    }

    #[test]
    fn change_request_validation() {
        let mut m = KopsMetadata::default();
        assert!(m.validate_change_request().is_err());
        m.change_request = Some(KopsMetadataRequestedState::default());
        assert!(m.validate_change_request().is_err());
        m.change_request = Some(KopsMetadataRequestedState {
            node_max_count: 3,
            ..Default::default()
        });
        assert!(m.validate_change_request().is_ok());
        m.apply_change_request();
        assert_eq!(m.node_max_count, 3);
    }
}
