//! Ports for installations: [`KubeCluster`] (an installation's namespace,
//! `Mattermost` resource, secrets and policies on one cluster; original-core
//! §3.3.2), [`Dns`] (its records) and [`InstallationResources`] (its
//! database and filestore). Same contract as every port: idempotent,
//! non-blocking, classified errors.

use crate::error::{PortResult, Progress};
use async_trait::async_trait;
use cloud_model::cluster::Cluster;
use cloud_model::cluster_installation::ClusterInstallation;
use cloud_model::installation::Installation;

/// Everything needed to put one installation on one cluster.
#[derive(Debug, Clone, Copy)]
pub struct InstallationTarget<'a> {
    pub cluster: &'a Cluster,
    /// Merged with its group's configuration.
    pub installation: &'a Installation,
    pub cluster_installation: &'a ClusterInstallation,
    /// The installation's domain names, primary first.
    pub dns_names: &'a [String],
}

/// The state the `Mattermost` custom resource reports (`status.state`, and
/// whether `status.observedGeneration` caught up with `generation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MattermostStatus {
    /// No resource (never applied, deleted, or not visible yet).
    Absent,
    /// The operator has not finished with the current generation.
    Reconciling,
    /// Serving, but not yet stable.
    Ready,
    /// Serving and stable.
    Stable,
}

/// One installation's objects on a Kubernetes cluster.
#[async_trait]
pub trait KubeCluster: Send + Sync {
    /// Creates or updates the namespace, secrets, network policy, PDB and
    /// the `Mattermost` resource (create-or-update: never "already exists").
    async fn apply_installation(&self, target: InstallationTarget<'_>) -> PortResult<()>;

    /// Observes the `Mattermost` resource.
    async fn installation_status(
        &self,
        cluster: &Cluster,
        cluster_installation: &ClusterInstallation,
    ) -> PortResult<MattermostStatus>;

    /// Deletes license secrets other than the current one.
    async fn prune_installation(&self, target: InstallationTarget<'_>) -> PortResult<()>;

    /// Deletes the resource, secrets, PDB and namespace; done once gone.
    async fn delete_installation(
        &self,
        cluster: &Cluster,
        cluster_installation: &ClusterInstallation,
    ) -> PortResult<Progress>;
}

/// A DNS record of an installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// The fully qualified name.
    pub name: String,
    /// What it points at (the cluster's ingress load balancer).
    pub target: String,
}

/// Installation DNS records (Route53, Cloudflare).
#[async_trait]
pub trait Dns: Send + Sync {
    /// Creates the record, or repoints it when it exists.
    async fn upsert_record(&self, record: &DnsRecord) -> PortResult<()>;
    /// Deletes the record; a missing one is fine.
    async fn delete_record(&self, name: &str) -> PortResult<()>;
}

/// An installation's database and filestore, whatever their types
/// (original-core §2.5, §2.6).
#[async_trait]
pub trait InstallationResources: Send + Sync {
    /// Creates (or joins, for the multitenant types) the database.
    async fn provision_database(&self, installation: &mut Installation) -> PortResult<Progress>;
    /// Removes the database, or only access to it with `keep_data`.
    async fn teardown_database(
        &self,
        installation: &Installation,
        keep_data: bool,
    ) -> PortResult<Progress>;
    /// Creates the filestore (bucket, or a prefix of a shared one).
    async fn provision_filestore(&self, installation: &mut Installation) -> PortResult<Progress>;
    /// Removes the filestore, or only access to it with `keep_data`.
    async fn teardown_filestore(
        &self,
        installation: &Installation,
        keep_data: bool,
    ) -> PortResult<Progress>;
}
