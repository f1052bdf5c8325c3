//! # cloud-ports
//!
//! The outside worlds the supervisors act on, as small object-safe traits:
//! [`ClusterProvisioner`] (Kubernetes clusters on a cloud: kops, EKS or an
//! imported cluster), [`KubeCluster`] (an installation's objects inside a
//! cluster), [`Dns`] (installation records) and [`InstallationResources`]
//! (an installation's database and filestore). Real adapters (Kubernetes,
//! AWS, Cloudflare) implement them in their own crates; [`sim`] implements
//! all of them in memory for tests and `cloud server --simulate-cloud`.
//!
//! ## Contract shared by every port
//! - **Idempotent.** Every call may be repeated after a crash or a lost
//!   answer: creating what exists, or deleting what is gone, succeeds
//!   without doing anything twice.
//! - **Non-blocking.** A call starts work and reports where it is
//!   ([`Progress::Pending`] for "still creating"); the supervisor asks again
//!   later instead of holding a worker for twenty minutes as the original
//!   did. Observations never change anything.
//! - **Classified errors.** Every failure is a [`PortError`] whose
//!   [`ErrorClass`] tells the supervisor whether to retry with backoff
//!   (transient), or to stop in the original's `*-failed` state (user,
//!   permanent).
//! - Methods that may learn facts the store must keep (a VPC claimed, a node
//!   group's real name) take `&mut` model objects; the supervisor saves them
//!   with the next state.

mod cluster;
mod error;
mod installation;

#[cfg(feature = "sim")]
pub mod sim;

pub use cluster::{ClusterProvisioner, ClusterStatus};
pub use error::{ErrorClass, PortError, PortResult, Progress};
pub use installation::{
    Dns, DnsRecord, InstallationResources, InstallationTarget, KubeCluster, MattermostStatus,
};

use std::sync::Arc;

/// One implementation of every port, as the supervisors receive them.
#[derive(Clone)]
pub struct Ports {
    pub provisioner: Arc<dyn ClusterProvisioner>,
    pub kube: Arc<dyn KubeCluster>,
    pub dns: Arc<dyn Dns>,
    pub resources: Arc<dyn InstallationResources>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}
