//! The CLI's cluster size dictionary (`clusterdictionary` in the original):
//! named presets the CLI expands into the instance types and node counts of
//! a create, resize or node group request. The server never sees a size name.

use crate::ValidationError;
use crate::cluster::NodeGroupMetadata;
use crate::cluster_request::{
    CreateClusterRequest, CreateNodegroupsRequest, PatchClusterSizeRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SIZE_ALEF_DEV: &str = "SizeAlefDev";
pub const SIZE_ALEF_500: &str = "SizeAlef500";
pub const SIZE_ALEF_1000: &str = "SizeAlef1000";
pub const SIZE_ALEF_5000: &str = "SizeAlef5000";
pub const SIZE_ALEF_10000: &str = "SizeAlef10000";

/// Size used by `cloud cluster create` when `--size` is not given.
pub const DEFAULT_CLUSTER_SIZE: &str = SIZE_ALEF_500;

/// One preset, printed by `cloud cluster dictionary` with these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterSize {
    pub master_instance_type: String,
    pub master_count: i64,
    pub node_instance_type: String,
    pub node_min_count: i64,
    pub node_max_count: i64,
}

fn size(master: &str, master_count: i64, node: &str, nodes: i64) -> ClusterSize {
    ClusterSize {
        master_instance_type: master.to_string(),
        master_count,
        node_instance_type: node.to_string(),
        node_min_count: nodes,
        node_max_count: nodes,
    }
}

/// Every preset by name (sorted, as the original prints its map).
pub fn valid_sizes() -> BTreeMap<&'static str, ClusterSize> {
    BTreeMap::from([
        (SIZE_ALEF_DEV, size("t3.small", 1, "t3.medium", 2)),
        (SIZE_ALEF_500, size("t3.small", 1, "m5.large", 2)),
        (SIZE_ALEF_1000, size("t3.large", 1, "m5.large", 4)),
        (SIZE_ALEF_5000, size("t3.large", 1, "m5.large", 6)),
        (SIZE_ALEF_10000, size("t3.large", 3, "m5.large", 10)),
    ])
}

/// The preset called `name`, or a validation error naming `field`.
pub fn lookup(field: &str, name: &str) -> Result<ClusterSize, ValidationError> {
    valid_sizes().remove(name).ok_or_else(|| {
        ValidationError::new(
            field,
            format!(
                "unsupported size {name}; valid sizes are {}",
                valid_sizes().keys().copied().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Fills the master and node settings of a create request from a preset. An
/// empty name changes nothing.
pub fn apply_to_create_cluster_request(
    name: &str,
    request: &mut CreateClusterRequest,
) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Ok(());
    }
    let s = lookup("size", name)?;
    request.master_instance_type = s.master_instance_type;
    request.master_count = s.master_count;
    request.node_instance_type = s.node_instance_type;
    request.node_min_count = s.node_min_count;
    request.node_max_count = s.node_max_count;
    Ok(())
}

/// Fills the worker settings of a resize request from a preset. An empty
/// name changes nothing.
pub fn apply_to_patch_cluster_size_request(
    name: &str,
    request: &mut PatchClusterSizeRequest,
) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Ok(());
    }
    let s = lookup("size", name)?;
    request.node_instance_type = Some(s.node_instance_type);
    request.node_min_count = Some(s.node_min_count);
    request.node_max_count = Some(s.node_max_count);
    Ok(())
}

/// Node group metadata for `name → size` pairs (`--additional-nodegroups`,
/// `--nodegroups`).
fn nodegroups_from_sizes(
    field: &str,
    nodegroups: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, NodeGroupMetadata>, ValidationError> {
    nodegroups
        .iter()
        .map(|(ng, size_name)| {
            let s = lookup(field, size_name)?;
            Ok((
                ng.clone(),
                NodeGroupMetadata {
                    instance_type: s.node_instance_type,
                    min_count: s.node_min_count,
                    max_count: s.node_max_count,
                    ..NodeGroupMetadata::default()
                },
            ))
        })
        .collect()
}

/// Adds the EKS node groups `name → size` to a create request.
pub fn add_to_create_cluster_request(
    nodegroups: &BTreeMap<String, String>,
    request: &mut CreateClusterRequest,
) -> Result<(), ValidationError> {
    let groups = nodegroups_from_sizes("additional-nodegroups", nodegroups)?;
    request.additional_node_groups.extend(groups);
    Ok(())
}

/// Adds the node groups `name → size` to a create-node-groups request.
pub fn add_to_create_nodegroups_request(
    nodegroups: &BTreeMap<String, String>,
    request: &mut CreateNodegroupsRequest,
) -> Result<(), ValidationError> {
    let groups = nodegroups_from_sizes("nodegroups", nodegroups)?;
    request.nodegroups.extend(groups);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dictionary_matches_the_original() {
        let sizes = valid_sizes();
        assert_eq!(sizes.len(), 5);
        assert_eq!(sizes[SIZE_ALEF_DEV], size("t3.small", 1, "t3.medium", 2));
        assert_eq!(sizes[SIZE_ALEF_500], size("t3.small", 1, "m5.large", 2));
        assert_eq!(sizes[SIZE_ALEF_1000], size("t3.large", 1, "m5.large", 4));
        assert_eq!(sizes[SIZE_ALEF_5000], size("t3.large", 1, "m5.large", 6));
        assert_eq!(sizes[SIZE_ALEF_10000], size("t3.large", 3, "m5.large", 10));
        assert_eq!(
            serde_json::to_value(&sizes[SIZE_ALEF_DEV]).unwrap(),
            json!({"MasterInstanceType": "t3.small", "MasterCount": 1,
                   "NodeInstanceType": "t3.medium", "NodeMinCount": 2, "NodeMaxCount": 2})
        );
        let keys: Vec<_> = sizes.keys().copied().collect();
        assert_eq!(
            keys,
            [
                "SizeAlef1000",
                "SizeAlef10000",
                "SizeAlef500",
                "SizeAlef5000",
                "SizeAlefDev"
            ]
        );
    }

    #[test]
    fn create_request_takes_the_preset() {
        let mut r = CreateClusterRequest::default();
        apply_to_create_cluster_request(SIZE_ALEF_10000, &mut r).unwrap();
        assert_eq!(
            (r.master_instance_type.as_str(), r.master_count),
            ("t3.large", 3)
        );
        assert_eq!((r.node_min_count, r.node_max_count), (10, 10));
        apply_to_create_cluster_request("", &mut r).unwrap();
        assert_eq!(r.master_count, 3);
        let err = apply_to_create_cluster_request("SizeAlef7", &mut r).unwrap_err();
        assert_eq!(err.field, "size");
    }

    #[test]
    fn resize_request_takes_the_worker_settings_only() {
        let mut r = PatchClusterSizeRequest::default();
        apply_to_patch_cluster_size_request(SIZE_ALEF_1000, &mut r).unwrap();
        assert_eq!(r.node_instance_type.as_deref(), Some("m5.large"));
        assert_eq!((r.node_min_count, r.node_max_count), (Some(4), Some(4)));
        assert!(r.master_instance_type.is_none());
    }

    #[test]
    fn nodegroups_from_presets() {
        let mut r = CreateNodegroupsRequest::default();
        let map = BTreeMap::from([("extra".to_string(), SIZE_ALEF_DEV.to_string())]);
        add_to_create_nodegroups_request(&map, &mut r).unwrap();
        assert_eq!(r.nodegroups["extra"].instance_type, "t3.medium");
        assert_eq!(r.nodegroups["extra"].min_count, 2);
        let bad = BTreeMap::from([("x".to_string(), "huge".to_string())]);
        assert_eq!(
            add_to_create_cluster_request(&bad, &mut CreateClusterRequest::default())
                .unwrap_err()
                .field,
            "additional-nodegroups"
        );
    }
}
