//! [`KubeCluster`], [`Dns`] and [`InstallationResources`] on the simulated
//! cloud.
//!
//! Resources: `k8s/<cluster>/<namespace>` (an installation's objects on a
//! cluster), `dns/<name>`, `database/<installation>` and
//! `filestore/<installation>`.

use super::{LedgerOp, Seen, SimCloud, State, cluster_key};
use crate::error::{PortError, PortResult, Progress};
use crate::installation::{
    Dns, DnsRecord, InstallationResources, InstallationTarget, KubeCluster, MattermostStatus,
};
use async_trait::async_trait;
use cloud_model::cluster::Cluster;
use cloud_model::cluster_installation::ClusterInstallation;
use cloud_model::installation::Installation;

/// Key of an installation's objects on a cluster.
pub fn k8s_key(cluster_id: &str, namespace: &str) -> String {
    format!("k8s/{cluster_id}/{namespace}")
}

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

/// Creates `key` and reports readiness on later calls, like a database
/// that takes a while to come up.
fn provision_slowly(s: &mut State, key: &str) -> Progress {
    if s.ensure(key, "") {
        return Progress::pending(format!("{key} is being created"));
    }
    match s.observe(key) {
        Seen::Ready(_) => Progress::Done,
        _ => Progress::pending(format!("{key} is being created")),
    }
}

fn teardown(s: &mut State, key: &str, keep_data: bool) -> Progress {
    if keep_data {
        s.remove(key, LedgerOp::Retained);
        Progress::Done
    } else {
        s.delete_slowly(key)
    }
}

#[async_trait]
impl KubeCluster for SimCloud {
    async fn apply_installation(&self, target: InstallationTarget<'_>) -> PortResult<()> {
        self.enter("apply_installation").await?;
        self.effect("apply_installation", |s| {
            require_cluster(s, target.cluster)?;
            let key = k8s_key(&target.cluster.id, &target.cluster_installation.namespace);
            if !s.ensure(&key, "") {
                // An update: the operator reconciles the new generation.
                s.restart(&key);
            }
            Ok(())
        })
    }

    async fn installation_status(
        &self,
        cluster: &Cluster,
        ci: &ClusterInstallation,
    ) -> PortResult<MattermostStatus> {
        self.enter("installation_status").await?;
        self.observe(|s| {
            Ok(match s.observe(&k8s_key(&cluster.id, &ci.namespace)) {
                Seen::Absent => MattermostStatus::Absent,
                Seen::NotReady => MattermostStatus::Reconciling,
                Seen::Ready(1) => MattermostStatus::Ready,
                Seen::Ready(_) => MattermostStatus::Stable,
            })
        })
    }

    async fn prune_installation(&self, target: InstallationTarget<'_>) -> PortResult<()> {
        self.enter("prune_installation").await?;
        self.effect("prune_installation", |s| require_cluster(s, target.cluster))
    }

    async fn delete_installation(
        &self,
        cluster: &Cluster,
        ci: &ClusterInstallation,
    ) -> PortResult<Progress> {
        self.enter("delete_installation").await?;
        self.effect("delete_installation", |s| {
            Ok(s.delete_slowly(&k8s_key(&cluster.id, &ci.namespace)))
        })
    }
}

#[async_trait]
impl Dns for SimCloud {
    async fn upsert_record(&self, record: &DnsRecord) -> PortResult<()> {
        self.enter("upsert_record").await?;
        self.effect("upsert_record", |s| {
            s.ensure(&format!("dns/{}", record.name), &record.target);
            Ok(())
        })
    }

    async fn delete_record(&self, name: &str) -> PortResult<()> {
        self.enter("delete_record").await?;
        self.effect("delete_record", |s| {
            s.remove(&format!("dns/{name}"), LedgerOp::Deleted);
            Ok(())
        })
    }
}

#[async_trait]
impl InstallationResources for SimCloud {
    async fn provision_database(&self, installation: &mut Installation) -> PortResult<Progress> {
        self.enter("provision_database").await?;
        self.effect("provision_database", |s| {
            Ok(provision_slowly(
                s,
                &format!("database/{}", installation.id),
            ))
        })
    }

    async fn teardown_database(
        &self,
        installation: &Installation,
        keep_data: bool,
    ) -> PortResult<Progress> {
        self.enter("teardown_database").await?;
        self.effect("teardown_database", |s| {
            Ok(teardown(
                s,
                &format!("database/{}", installation.id),
                keep_data,
            ))
        })
    }

    async fn provision_filestore(&self, installation: &mut Installation) -> PortResult<Progress> {
        self.enter("provision_filestore").await?;
        self.effect("provision_filestore", |s| {
            Ok(provision_slowly(
                s,
                &format!("filestore/{}", installation.id),
            ))
        })
    }

    async fn teardown_filestore(
        &self,
        installation: &Installation,
        keep_data: bool,
    ) -> PortResult<Progress> {
        self.enter("teardown_filestore").await?;
        self.effect("teardown_filestore", |s| {
            Ok(teardown(
                s,
                &format!("filestore/{}", installation.id),
                keep_data,
            ))
        })
    }
}
