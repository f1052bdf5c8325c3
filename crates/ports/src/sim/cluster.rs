//! [`ClusterProvisioner`] on the simulated cloud.
//!
//! Resources: `cluster/<id>` (the control plane), `nodegroup/<id>/<name>`
//! (EKS node groups, under their real names) and `utilities/<id>` (what
//! provisioning installs). kops and external clusters have no separate node
//! groups, as in the original where those steps are no-ops.

use super::{LedgerOp, Seen, SimCloud, State, cluster_key};
use crate::cluster::{ClusterProvisioner, ClusterStatus};
use crate::error::{PortError, PortResult, Progress};
use async_trait::async_trait;
use cloud_model::cluster::{Cluster, Provisioner};

fn node_group_key(cluster_id: &str, name: &str) -> String {
    format!("nodegroup/{cluster_id}/{name}")
}

fn utilities_key(cluster_id: &str) -> String {
    format!("utilities/{cluster_id}")
}

/// Refuses to act on a cluster the cloud does not have: the engine must
/// never get there, so the error is permanent and shows in tests.
fn require_cluster(s: &State, cluster: &Cluster) -> PortResult<()> {
    if s.live.contains_key(&cluster_key(&cluster.id)) {
        Ok(())
    } else {
        Err(PortError::Permanent(format!(
            "cluster {} does not exist",
            cluster.id
        )))
    }
}

/// The change request's EKS node groups: (type prefix, real name).
fn requested_node_groups(cluster: &Cluster) -> Vec<(String, String)> {
    cluster
        .provisioner_metadata_eks
        .as_ref()
        .and_then(|m| m.change_request.as_ref())
        .map(|cr| {
            cr.node_groups
                .iter()
                .map(|(prefix, ng)| (prefix.clone(), ng.name.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces each requested EKS node group whose name changed (upgrade and
/// resize migrate node groups under new names): create the new one, delete
/// the old one, record the new one in the metadata.
fn migrate_node_groups(s: &mut State, cluster: &mut Cluster) {
    let id = cluster.id.clone();
    let Some(eks) = cluster.provisioner_metadata_eks.as_mut() else {
        return;
    };
    let Some(cr) = eks.change_request.clone() else {
        return;
    };
    for (prefix, wanted) in cr.node_groups {
        s.ensure(&node_group_key(&id, &wanted.name), "");
        if let Some(old) = eks.node_groups.get(&prefix)
            && old.name != wanted.name
        {
            s.remove(&node_group_key(&id, &old.name), LedgerOp::Deleted);
        }
        let mut merged = wanted;
        if let Some(old) = eks.node_groups.get(&prefix) {
            merged.copy_missing_fields_from(old);
        }
        eks.node_groups.insert(prefix, merged);
    }
}

/// What refresh reads back: the requested values become the actual ones.
fn apply_change_request(cluster: &mut Cluster) {
    if let Some(kops) = cluster.provisioner_metadata_kops.as_mut() {
        if let Some(cr) = kops.change_request.clone() {
            let set = |target: &mut String, v: &str| {
                if !v.is_empty() {
                    *target = v.to_string();
                }
            };
            set(&mut kops.version, &cr.version);
            set(&mut kops.ami, &cr.ami);
            set(&mut kops.master_instance_type, &cr.master_instance_type);
            set(&mut kops.node_instance_type, &cr.node_instance_type);
            set(&mut kops.networking, &cr.networking);
            set(&mut kops.vpc, &cr.vpc);
            for (target, v) in [
                (&mut kops.master_count, cr.master_count),
                (&mut kops.node_min_count, cr.node_min_count),
                (&mut kops.node_max_count, cr.node_max_count),
                (&mut kops.max_pods_per_node, cr.max_pods_per_node),
            ] {
                if v != 0 {
                    *target = v;
                }
            }
        }
        kops.clear_change_request();
        kops.clear_rotator_request();
        kops.clear_warnings();
    }
    if let Some(eks) = cluster.provisioner_metadata_eks.as_mut() {
        if let Some(cr) = eks.change_request.take() {
            if !cr.version.is_empty() {
                eks.version = cr.version;
            }
            if !cr.ami.is_empty() {
                eks.ami = cr.ami;
            }
            if cr.max_pods_per_node != 0 {
                eks.max_pods_per_node = cr.max_pods_per_node;
            }
        }
        eks.clear_warnings();
    }
    if let Some(ext) = cluster.provisioner_metadata_external.as_mut() {
        ext.warnings.clear();
    }
}

#[async_trait]
impl ClusterProvisioner for SimCloud {
    async fn create_cluster(&self, cluster: &mut Cluster) -> PortResult<()> {
        self.enter("create_cluster").await?;
        self.effect("create_cluster", |s| {
            s.ensure(&cluster_key(&cluster.id), "");
            Ok(())
        })
    }

    async fn cluster_status(&self, cluster: &Cluster) -> PortResult<ClusterStatus> {
        self.enter("cluster_status").await?;
        self.observe(|s| {
            let key = cluster_key(&cluster.id);
            let deleting = s.live.get(&key).is_some_and(|r| r.deleting.is_some());
            Ok(match s.observe(&key) {
                Seen::Absent => ClusterStatus::Absent,
                Seen::NotReady => ClusterStatus::Creating("control plane is CREATING".into()),
                Seen::Ready(_) if deleting => ClusterStatus::Failed("cluster is DELETING".into()),
                Seen::Ready(_) => ClusterStatus::Ready,
            })
        })
    }

    async fn create_node_groups(&self, cluster: &mut Cluster) -> PortResult<()> {
        self.enter("create_node_groups").await?;
        self.effect("create_node_groups", |s| {
            require_cluster(s, cluster)?;
            for (_, name) in requested_node_groups(cluster) {
                s.ensure(&node_group_key(&cluster.id, &name), "");
            }
            Ok(())
        })
    }

    async fn node_groups_status(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("node_groups_status").await?;
        self.observe(|s| {
            for (_, name) in requested_node_groups(cluster) {
                match s.observe(&node_group_key(&cluster.id, &name)) {
                    Seen::Ready(_) => {}
                    Seen::Absent => return Ok(Progress::pending(format!("{name} not found"))),
                    Seen::NotReady => return Ok(Progress::pending(format!("{name} is CREATING"))),
                }
            }
            // All ready: record them as the cluster's node groups.
            if cluster.provisioner == Provisioner::Eks
                && let Some(eks) = cluster.provisioner_metadata_eks.as_mut()
                && let Some(cr) = &eks.change_request
            {
                for (prefix, ng) in &cr.node_groups {
                    eks.node_groups.insert(prefix.clone(), ng.clone());
                }
            }
            Ok(Progress::Done)
        })
    }

    async fn delete_node_groups(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("delete_node_groups").await?;
        self.effect("delete_node_groups", |s| {
            let mut progress = Progress::Done;
            for (prefix, name) in requested_node_groups(cluster) {
                match s.delete_slowly(&node_group_key(&cluster.id, &name)) {
                    Progress::Done => {
                        if let Some(eks) = cluster.provisioner_metadata_eks.as_mut() {
                            eks.node_groups.remove(&prefix);
                        }
                    }
                    pending => progress = pending,
                }
            }
            Ok(progress)
        })
    }

    async fn provision(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("provision").await?;
        self.effect("provision", |s| {
            require_cluster(s, cluster)?;
            s.ensure(&utilities_key(&cluster.id), "");
            Ok(s.operation(
                &format!("provision/{}", cluster.id),
                "utilities are rolling out",
            ))
        })
    }

    async fn upgrade(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("upgrade").await?;
        self.effect("upgrade", |s| {
            require_cluster(s, cluster)?;
            migrate_node_groups(s, cluster);
            Ok(s.operation(&format!("upgrade/{}", cluster.id), "nodes are rolling"))
        })
    }

    async fn resize(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("resize").await?;
        self.effect("resize", |s| {
            require_cluster(s, cluster)?;
            migrate_node_groups(s, cluster);
            Ok(s.operation(&format!("resize/{}", cluster.id), "nodes are resizing"))
        })
    }

    async fn refresh_metadata(&self, cluster: &mut Cluster) -> PortResult<()> {
        self.enter("refresh_metadata").await?;
        self.effect("refresh_metadata", |s| {
            require_cluster(s, cluster)?;
            apply_change_request(cluster);
            Ok(())
        })
    }

    async fn delete_cluster(&self, cluster: &mut Cluster) -> PortResult<Progress> {
        self.enter("delete_cluster").await?;
        self.effect("delete_cluster", |s| {
            let id = &cluster.id;
            // Node groups and utilities first, as the provisioners do.
            let mut progress = Progress::Done;
            let owned: Vec<String> = s
                .live
                .keys()
                .filter(|k| k.starts_with(&format!("nodegroup/{id}/")) || **k == utilities_key(id))
                .cloned()
                .collect();
            for key in owned {
                if let pending @ Progress::Pending(_) = s.delete_slowly(&key) {
                    progress = pending;
                }
            }
            if progress.is_done() {
                progress = s.delete_slowly(&cluster_key(id));
            }
            if progress.is_done() {
                // Whatever still lived inside the cluster went with it.
                let inside: Vec<String> = s
                    .live
                    .keys()
                    .filter(|k| k.starts_with("k8s/") && k.split('/').nth(1) == Some(id))
                    .cloned()
                    .collect();
                for key in inside {
                    s.remove(&key, LedgerOp::Orphaned);
                }
            }
            Ok(progress)
        })
    }
}
