//! [`ClusterProvisioner`]: the Kubernetes clusters themselves (original-core
//! §3.1.1: kops, EKS, external). Each method is one step of the cluster
//! state machine, idempotent and non-blocking (see the crate notes).

use crate::error::{PortResult, Progress};
use async_trait::async_trait;
use cloud_model::cluster::Cluster;

/// What the provider sees of a cluster's control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterStatus {
    /// Not there (never created, deleted, or not visible yet).
    Absent,
    /// Being created; ask again later.
    Creating(String),
    /// Up and answering.
    Ready,
    /// The provider gave up on it (e.g. EKS `FAILED`).
    Failed(String),
}

/// Creates, changes and deletes clusters.
///
/// `&mut Cluster` methods may record what they learn in the cluster's
/// metadata (the VPC claimed, node group names, versions); the supervisor
/// persists it together with the next state.
#[async_trait]
pub trait ClusterProvisioner: Send + Sync {
    /// Starts creating the control plane (claims a VPC, creates the cluster).
    /// A cluster that already exists is left alone.
    async fn create_cluster(&self, cluster: &mut Cluster) -> PortResult<()>;

    /// Observes the control plane.
    async fn cluster_status(&self, cluster: &Cluster) -> PortResult<ClusterStatus>;

    /// Starts creating the node groups of the cluster's change request.
    async fn create_node_groups(&self, cluster: &mut Cluster) -> PortResult<()>;

    /// Observes the node groups of the change request: done when all are
    /// ready (their real sizes are then recorded in the metadata).
    async fn node_groups_status(&self, cluster: &mut Cluster) -> PortResult<Progress>;

    /// Deletes the node groups of the change request.
    async fn delete_node_groups(&self, cluster: &mut Cluster) -> PortResult<Progress>;

    /// Installs or upgrades what every cluster runs (operators, utilities,
    /// CRDs; original-core §3.1.3).
    async fn provision(&self, cluster: &mut Cluster) -> PortResult<Progress>;

    /// Applies the change request's version / AMI / max-pods upgrade.
    async fn upgrade(&self, cluster: &mut Cluster) -> PortResult<Progress>;

    /// Applies the change request's node sizes.
    async fn resize(&self, cluster: &mut Cluster) -> PortResult<Progress>;

    /// Reads the cluster's real settings back into its metadata and clears
    /// the change request.
    async fn refresh_metadata(&self, cluster: &mut Cluster) -> PortResult<()>;

    /// Deletes the cluster and everything the provisioner made for it (node
    /// groups, utilities; releases the VPC). Done once nothing is left.
    async fn delete_cluster(&self, cluster: &mut Cluster) -> PortResult<Progress>;
}
