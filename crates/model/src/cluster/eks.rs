//! EKS provisioner metadata (`model/eks_metadata.go`): the cluster, its node
//! groups keyed by prefix (`worker`, ...), and the pending change. Every
//! node group change gets a fresh real name `<prefix>-<6 chars>`, because
//! EKS node groups are replaced rather than modified.

use super::{ProvisionerMetadata, null_default};
use crate::ValidationError;
use crate::cluster_request::{
    CreateClusterRequest, CreateNodegroupsRequest, PatchClusterSizeRequest,
    PatchUpgradeClusterRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mandatory default node group.
pub const NODE_GROUP_WORKER: &str = "worker";

/// The EKS cluster name of a cluster.
pub fn eks_cluster_name(cluster_id: &str) -> String {
    format!("{cluster_id}-eks-k8s-local")
}

/// `NewNodeGroupSuffix`: the first six characters of a new ID.
pub fn new_node_group_suffix() -> String {
    crate::new_id().chars().take(6).collect()
}

/// A real node group name for `prefix`.
pub fn new_node_group_name(prefix: &str) -> String {
    format!("{prefix}-{}", new_node_group_suffix())
}

/// One EKS node group. Everything but `Name` is omitted when zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeGroupMetadata {
    pub name: String,
    #[serde(rename = "Type", skip_serializing_if = "String::is_empty")]
    pub node_group_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_type: String,
    #[serde(skip_serializing_if = "super::kops::is_zero")]
    pub min_count: i64,
    #[serde(skip_serializing_if = "super::kops::is_zero")]
    pub max_count: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub with_public_subnet: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub with_security_group: bool,
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl NodeGroupMetadata {
    /// The create-request defaults: `m5.large`, two nodes, max = min.
    pub fn set_defaults(&mut self) {
        if self.instance_type.is_empty() {
            self.instance_type = "m5.large".to_string();
        }
        if self.min_count == 0 {
            self.min_count = 2;
        }
        if self.max_count == 0 {
            self.max_count = self.min_count;
        }
    }

    /// Fills empty fields from `other`.
    pub fn copy_missing_fields_from(&mut self, other: &NodeGroupMetadata) {
        if self.node_group_type.is_empty() {
            self.node_group_type = other.node_group_type.clone();
        }
        if self.instance_type.is_empty() {
            self.instance_type = other.instance_type.clone();
        }
        if self.min_count == 0 {
            self.min_count = other.min_count;
        }
        if self.max_count == 0 {
            self.max_count = other.max_count;
        }
        self.with_public_subnet |= other.with_public_subnet;
        self.with_security_group |= other.with_security_group;
    }
}

/// A change the API asked for; zero values mean "no change".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksMetadataRequestedState {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(rename = "AMI", skip_serializing_if = "String::is_empty")]
    pub ami: String,
    #[serde(skip_serializing_if = "super::kops::is_zero")]
    pub max_pods_per_node: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub networking: String,
    #[serde(rename = "VPC", skip_serializing_if = "String::is_empty")]
    pub vpc: String,
    #[serde(rename = "ClusterRoleARN", skip_serializing_if = "String::is_empty")]
    pub cluster_role_arn: String,
    #[serde(rename = "NodeRoleARN", skip_serializing_if = "String::is_empty")]
    pub node_role_arn: String,
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub node_groups: BTreeMap<String, NodeGroupMetadata>,
}

/// Metadata of an EKS cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksMetadata {
    pub name: String,
    pub version: String,
    #[serde(rename = "AMI")]
    pub ami: String,
    #[serde(rename = "VPC")]
    pub vpc: String,
    pub networking: String,
    #[serde(rename = "ClusterRoleARN")]
    pub cluster_role_arn: String,
    #[serde(rename = "NodeRoleARN")]
    pub node_role_arn: String,
    pub max_pods_per_node: i64,
    #[serde(deserialize_with = "null_default")]
    pub node_groups: BTreeMap<String, NodeGroupMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_request: Option<EksMetadataRequestedState>,
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub warnings: Vec<String>,
}

impl EksMetadata {
    /// Records a create request: cluster settings plus every node group
    /// (the `worker` group from the node settings, and the additional ones),
    /// each with a fresh real name.
    pub fn apply_cluster_create_request(&mut self, request: &CreateClusterRequest) {
        let mut groups = request.additional_node_groups.clone();
        groups.insert(
            NODE_GROUP_WORKER.to_string(),
            NodeGroupMetadata {
                instance_type: request.node_instance_type.clone(),
                min_count: request.node_min_count,
                max_count: request.node_max_count,
                ..Default::default()
            },
        );
        for ng in &request.nodegroup_with_public_subnet {
            groups.entry(ng.clone()).or_default().with_public_subnet = true;
        }
        for ng in &request.nodegroup_with_sg {
            groups.entry(ng.clone()).or_default().with_security_group = true;
        }
        let node_groups = groups
            .into_iter()
            .map(|(prefix, ng)| {
                let named = NodeGroupMetadata {
                    name: new_node_group_name(&prefix),
                    node_group_type: prefix.clone(),
                    ..ng
                };
                (prefix, named)
            })
            .collect();
        self.change_request = Some(EksMetadataRequestedState {
            version: request.version.clone(),
            ami: request.ami.clone(),
            max_pods_per_node: request.max_pods_per_node,
            networking: request.networking.clone(),
            vpc: request.vpc.clone(),
            cluster_role_arn: request.cluster_role_arn.clone(),
            node_role_arn: request.node_role_arn.clone(),
            node_groups,
        });
        self.node_groups.clear();
    }

    /// Records the parts of an upgrade that differ; every existing node group
    /// is then replaced under a new name.
    pub fn apply_upgrade_patch(&mut self, patch: &PatchUpgradeClusterRequest) -> bool {
        let mut changes = EksMetadataRequestedState::default();
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
        if applied {
            changes.node_groups = self
                .node_groups
                .keys()
                .map(|prefix| {
                    let ng = NodeGroupMetadata {
                        name: new_node_group_name(prefix),
                        ..Default::default()
                    };
                    (prefix.clone(), ng)
                })
                .collect();
            self.change_request = Some(changes);
        }
        applied
    }

    /// The node groups a resize targets: the named ones, or the only one.
    fn resize_targets(&self, patch: &PatchClusterSizeRequest) -> Vec<String> {
        if patch.node_groups.is_empty() {
            self.node_groups.keys().cloned().collect()
        } else {
            patch.node_groups.clone()
        }
    }

    /// Checks a resize against the existing node groups.
    pub fn validate_cluster_size_patch(
        &self,
        patch: &PatchClusterSizeRequest,
    ) -> Result<(), ValidationError> {
        if patch.master_instance_type.is_some() {
            return Err(ValidationError::new(
                "master-instance-type",
                "EKS clusters have no master nodes to resize",
            ));
        }
        if self.node_groups.is_empty() {
            return Err(ValidationError::new(
                "nodeGroups",
                "no nodegroups available to resize",
            ));
        }
        if patch.node_groups.is_empty() && self.node_groups.len() > 1 {
            return Err(ValidationError::new(
                "nodeGroups",
                "must specify nodegroups to resize",
            ));
        }
        let targets = self.resize_targets(patch);
        if let Some(missing) = targets
            .iter()
            .find(|ng| !self.node_groups.contains_key(*ng))
        {
            return Err(ValidationError::new(
                "nodeGroups",
                format!("nodegroup {missing} not found to resize"),
            ));
        }
        match (patch.node_min_count, patch.node_max_count) {
            (Some(min), Some(max)) if min > max => Err(ValidationError::new(
                "node-min-count",
                "min node count cannot be greater than max node count",
            )),
            (Some(_), Some(_)) => Ok(()),
            (Some(min), None)
                if targets
                    .iter()
                    .any(|ng| min > self.node_groups[ng].max_count) =>
            {
                Err(ValidationError::new(
                    "node-min-count",
                    "resize patch would set min node count higher than max node count",
                ))
            }
            (None, Some(max))
                if targets
                    .iter()
                    .any(|ng| max < self.node_groups[ng].min_count) =>
            {
                Err(ValidationError::new(
                    "node-max-count",
                    "resize patch would set max node count lower than min node count",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Records a resize of the targeted node groups, each under a new name.
    pub fn apply_cluster_size_patch(&mut self, patch: &PatchClusterSizeRequest) -> bool {
        let applied = patch.node_instance_type.is_some()
            || patch.node_min_count.is_some()
            || patch.node_max_count.is_some();
        if !applied {
            return false;
        }
        let node_groups = self
            .resize_targets(patch)
            .into_iter()
            .map(|prefix| {
                let ng = NodeGroupMetadata {
                    name: new_node_group_name(&prefix),
                    instance_type: patch.node_instance_type.clone().unwrap_or_default(),
                    min_count: patch.node_min_count.unwrap_or_default(),
                    max_count: patch.node_max_count.unwrap_or_default(),
                    ..Default::default()
                };
                (prefix, ng)
            })
            .collect();
        self.change_request = Some(EksMetadataRequestedState {
            node_groups,
            ..Default::default()
        });
        true
    }

    /// New node groups must not exist yet.
    pub fn validate_nodegroups_create_request(
        &self,
        request: &CreateNodegroupsRequest,
    ) -> Result<(), ValidationError> {
        match request
            .nodegroups
            .keys()
            .find(|ng| self.node_groups.contains_key(*ng))
        {
            Some(existing) => Err(ValidationError::new(
                "nodegroups",
                format!("nodegroup {existing} already exists"),
            )),
            None => Ok(()),
        }
    }

    /// Records the node groups to create.
    pub fn apply_nodegroups_create_request(&mut self, request: &CreateNodegroupsRequest) {
        let node_groups = request
            .nodegroups
            .iter()
            .map(|(prefix, ng)| {
                let named = NodeGroupMetadata {
                    name: new_node_group_name(prefix),
                    node_group_type: prefix.clone(),
                    instance_type: ng.instance_type.clone(),
                    min_count: ng.min_count,
                    max_count: ng.max_count,
                    with_public_subnet: ng.with_public_subnet
                        || request.nodegroup_with_public_subnet.contains(prefix),
                    with_security_group: ng.with_security_group
                        || request.nodegroup_with_sg.contains(prefix),
                };
                (prefix.clone(), named)
            })
            .collect();
        self.change_request = Some(EksMetadataRequestedState {
            node_groups,
            ..Default::default()
        });
    }

    /// The node group to delete must exist.
    pub fn validate_nodegroup_delete_request(
        &self,
        nodegroup: &str,
    ) -> Result<(), ValidationError> {
        if self.node_groups.contains_key(nodegroup) {
            Ok(())
        } else {
            Err(ValidationError::new(
                "nodegroup",
                format!("nodegroup {nodegroup} not found"),
            ))
        }
    }

    /// Records the node group to delete.
    pub fn apply_nodegroup_delete_request(&mut self, nodegroup: &str) {
        let node_groups = self
            .node_groups
            .get(nodegroup)
            .map(|ng| BTreeMap::from([(nodegroup.to_string(), ng.clone())]))
            .unwrap_or_default();
        self.change_request = Some(EksMetadataRequestedState {
            node_groups,
            ..Default::default()
        });
    }

    /// Whether the pending change has at least one value to act on.
    pub fn validate_change_request(&self) -> Result<(), String> {
        let Some(cr) = &self.change_request else {
            return Err("the EKS Metadata ChangeRequest is nil".to_string());
        };
        let cluster_change =
            !cr.version.is_empty() || !cr.ami.is_empty() || cr.max_pods_per_node != 0;
        let group_change = cr
            .node_groups
            .values()
            .any(|ng| !ng.instance_type.is_empty() || ng.min_count != 0 || ng.max_count != 0);
        if cluster_change || group_change {
            Ok(())
        } else {
            Err("the EKS Metadata ChangeRequest has no change values set".to_string())
        }
    }

    pub fn clear_change_request(&mut self) {
        self.change_request = None;
    }

    pub fn clear_warnings(&mut self) {
        self.warnings.clear();
    }

    /// The provisioner-independent view, using the `worker` node group.
    pub fn common_metadata(&self) -> ProvisionerMetadata {
        let worker = self
            .node_groups
            .get(NODE_GROUP_WORKER)
            .cloned()
            .unwrap_or_default();
        ProvisionerMetadata {
            name: self.name.clone(),
            version: self.version.clone(),
            ami: self.ami.clone(),
            node_instance_type: worker.instance_type,
            node_min_count: worker.min_count,
            node_max_count: worker.max_count,
            max_pods_per_node: self.max_pods_per_node,
            vpc: self.vpc.clone(),
            networking: self.networking.clone(),
            kms_key_id: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ng(min: i64, max: i64) -> NodeGroupMetadata {
        NodeGroupMetadata {
            name: "x-abcdef".into(),
            instance_type: "m5.large".into(),
            min_count: min,
            max_count: max,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_in_the_original_shape() {
        let doc = json!({
            "Name": "c1-eks-k8s-local", "Version": "1.23", "AMI": "ami-1", "VPC": "vpc-1",
            "Networking": "amazon-vpc-cni", "ClusterRoleARN": "arn:c", "NodeRoleARN": "arn:n",
            "MaxPodsPerNode": 110,
            "NodeGroups": {"worker": {"Name": "worker-abcdef", "Type": "worker",
                "InstanceType": "m5.large", "MinCount": 2, "MaxCount": 2, "WithPublicSubnet": true}},
            "ChangeRequest": {"NodeGroups": {"worker": {"Name": "worker-ghijkl"}}}
        });
        let m: EksMetadata = serde_json::from_value(doc.clone()).unwrap();
        assert!(m.node_groups["worker"].with_public_subnet);
        assert_eq!(serde_json::to_value(&m).unwrap(), doc);
        let bare: EksMetadata =
            serde_json::from_value(json!({"NodeGroups": null, "Warnings": null})).unwrap();
        assert!(bare.node_groups.is_empty());
    }

    #[test]
    fn suffixes_are_six_id_characters() {
        let name = new_node_group_name("worker");
        assert!(name.starts_with("worker-"));
        assert_eq!(name.len(), "worker-".len() + 6);
        assert_ne!(new_node_group_suffix(), new_node_group_suffix());
    }

    #[test]
    fn create_request_names_every_node_group() {
        let mut r = CreateClusterRequest {
            provisioner: "eks".into(),
            additional_node_groups: BTreeMap::from([("spot".into(), ng(1, 1))]),
            nodegroup_with_public_subnet: vec!["worker".into()],
            nodegroup_with_sg: vec!["spot".into()],
            ..Default::default()
        };
        r.set_defaults();
        let mut m = EksMetadata::default();
        m.apply_cluster_create_request(&r);
        let cr = m.change_request.unwrap();
        assert_eq!(cr.version, "1.23");
        let worker = &cr.node_groups["worker"];
        assert!(worker.name.starts_with("worker-") && worker.with_public_subnet);
        assert_eq!(
            (worker.node_group_type.as_str(), worker.min_count),
            ("worker", 2)
        );
        let spot = &cr.node_groups["spot"];
        assert!(
            spot.name.starts_with("spot-") && spot.with_security_group && !spot.with_public_subnet
        );
    }

    #[test]
    fn upgrade_renames_every_node_group() {
        let mut m = EksMetadata {
            version: "1.23".into(),
            ..Default::default()
        };
        m.node_groups.insert("worker".into(), ng(2, 2));
        assert!(!m.apply_upgrade_patch(&PatchUpgradeClusterRequest {
            version: Some("1.23".into()),
            ..Default::default()
        }));
        assert!(m.apply_upgrade_patch(&PatchUpgradeClusterRequest {
            max_pods_per_node: Some(50),
            ..Default::default()
        }));
        let cr = m.change_request.unwrap();
        assert_eq!(cr.max_pods_per_node, 50);
        assert!(cr.node_groups["worker"].name.starts_with("worker-"));
    }

    #[test]
    fn size_patch_rules() {
        let mut m = EksMetadata::default();
        let patch = PatchClusterSizeRequest {
            node_min_count: Some(3),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&patch).unwrap_err().message,
            "no nodegroups available to resize"
        );
        m.node_groups.insert("worker".into(), ng(2, 4));
        assert!(m.validate_cluster_size_patch(&patch).is_ok());
        let too_high = PatchClusterSizeRequest {
            node_min_count: Some(5),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&too_high).unwrap_err().field,
            "node-min-count"
        );
        let master = PatchClusterSizeRequest {
            master_instance_type: Some("t3.large".into()),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&master).unwrap_err().field,
            "master-instance-type"
        );
        m.node_groups.insert("spot".into(), ng(1, 1));
        assert_eq!(
            m.validate_cluster_size_patch(&patch).unwrap_err().message,
            "must specify nodegroups to resize"
        );
        let named = PatchClusterSizeRequest {
            node_groups: vec!["gpu".into()],
            node_min_count: Some(1),
            ..Default::default()
        };
        assert_eq!(
            m.validate_cluster_size_patch(&named).unwrap_err().field,
            "nodeGroups"
        );
        let good = PatchClusterSizeRequest {
            node_groups: vec!["spot".into()],
            node_min_count: Some(1),
            ..Default::default()
        };
        assert!(m.validate_cluster_size_patch(&good).is_ok());
        assert!(m.apply_cluster_size_patch(&good));
        let cr = m.change_request.as_ref().unwrap();
        assert_eq!(cr.node_groups.len(), 1);
        assert!(cr.node_groups["spot"].name.starts_with("spot-"));
        assert_eq!(cr.node_groups["spot"].min_count, 1);
        assert!(!m.apply_cluster_size_patch(&PatchClusterSizeRequest {
            node_groups: vec!["spot".into()],
            ..Default::default()
        }));
    }

    #[test]
    fn nodegroup_create_and_delete() {
        let mut m = EksMetadata::default();
        m.node_groups.insert("worker".into(), ng(2, 2));
        let mut r = CreateNodegroupsRequest {
            nodegroups: BTreeMap::from([("worker".into(), NodeGroupMetadata::default())]),
            ..Default::default()
        };
        assert_eq!(
            m.validate_nodegroups_create_request(&r)
                .unwrap_err()
                .message,
            "nodegroup worker already exists"
        );
        r.nodegroups = BTreeMap::from([("extra".into(), NodeGroupMetadata::default())]);
        r.nodegroup_with_sg = vec!["extra".into()];
        r.set_defaults();
        assert!(m.validate_nodegroups_create_request(&r).is_ok());
        m.apply_nodegroups_create_request(&r);
        let extra = &m.change_request.as_ref().unwrap().node_groups["extra"];
        assert!(extra.with_security_group && extra.name.starts_with("extra-"));
        assert_eq!(
            (
                extra.instance_type.as_str(),
                extra.min_count,
                extra.max_count
            ),
            ("m5.large", 2, 2)
        );
        assert!(m.validate_nodegroup_delete_request("extra").is_err());
        assert!(m.validate_nodegroup_delete_request("worker").is_ok());
        m.apply_nodegroup_delete_request("worker");
        assert_eq!(
            m.change_request.unwrap().node_groups["worker"].name,
            "x-abcdef"
        );
    }
}
