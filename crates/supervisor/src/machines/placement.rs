//! Cluster placement (original-core §5.6): which cluster a new installation
//! goes to, as a pure function over the candidates the engine gathered.
//!
//! A cluster is acceptable when, in this order:
//! 1. it carries **all** the installation's annotations;
//! 2. it allows installations and its state is installation-schedulable;
//! 3. it has AWS infrastructure (every installation requires it);
//! 4. affinity holds: `isolated` needs a cluster with no live cluster
//!    installation; `multitenant` refuses only a cluster holding exactly one
//!    cluster installation whose installation is isolated;
//! 5. CPU, memory and pod usage after adding the installation's requirement
//!    (`installation_size`) stay within the thresholds (default 80 %), unless
//!    the cluster is external and `always_schedule_external` is set. Over a
//!    threshold, a `stable`, non-fixed-size cluster with a scale value is
//!    still accepted, together with the worker count to scale it to.
//!
//! Acceptable clusters keep `CreateAt` order (fill the oldest first) or, with
//! `balanced` (the default), are sorted by combined usage, least used first.
//! The original only guarantees that the first element is the least used
//! (quirk 14); here the whole list is sorted. `prefer_stable` then moves
//! `stable` clusters to the front. Every rejected cluster gets a readable
//! reason, so "no compatible cluster" says why for each.
//!
//! Two servers may choose the same cluster at once: the engine takes the
//! cluster's scheduling lease and calls [`evaluate`] again with fresh data
//! before creating the cluster installation.

use cloud_model::cluster::{Cluster, ClusterState};
use cloud_model::installation::{Affinity, Installation};
use cloud_model::installation_size::{SchedulingRequirements, get_installation_size};

/// The `--cluster-resource-threshold` default, in percent.
pub const DEFAULT_THRESHOLD_PERCENT: i64 = 80;

/// Per-resource usage limits, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub cpu: i64,
    pub memory: i64,
    pub pods: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu: DEFAULT_THRESHOLD_PERCENT,
            memory: DEFAULT_THRESHOLD_PERCENT,
            pods: DEFAULT_THRESHOLD_PERCENT,
        }
    }
}

/// The scheduling flags of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementOptions {
    /// `--balanced-installation-scheduling` (default true).
    pub balanced: bool,
    /// `--prefer-stable-cluster-installation-scheduling` (default false).
    pub prefer_stable: bool,
    /// `--always-schedule-external-clusters` (default false).
    pub always_schedule_external: bool,
    pub thresholds: Thresholds,
    /// `--cluster-resource-threshold-scale-value` (0 = never scale).
    pub scale_value: i64,
}

impl Default for PlacementOptions {
    fn default() -> Self {
        Self {
            balanced: true,
            prefer_stable: false,
            always_schedule_external: false,
            thresholds: Thresholds::default(),
            scale_value: 0,
        }
    }
}

/// A cluster's schedulable capacity and what its pods request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClusterResources {
    pub cpu_total_millis: i64,
    pub cpu_used_millis: i64,
    pub memory_total_bytes: i64,
    pub memory_used_bytes: i64,
    pub pods_total: i64,
    pub pods_used: i64,
}

/// Usage in percent after adding an installation; `i64::MAX` when the
/// cluster has none of that resource at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cpu: i64,
    pub memory: i64,
    pub pods: i64,
}

impl Usage {
    /// `(cpu + memory + pods) / 3`, the balancing key.
    pub fn combined(&self) -> f64 {
        (self.cpu as f64 + self.memory as f64 + self.pods as f64) / 3.0
    }
}

fn percent(used: i64, additional: i64, total: i64) -> i64 {
    if total <= 0 {
        return i64::MAX;
    }
    // The original's int((used + additional) / total * 100).
    ((used.saturating_add(additional)) as f64 / total as f64 * 100.0) as i64
}

impl ClusterResources {
    pub fn usage_after(&self, req: &SchedulingRequirements) -> Usage {
        Usage {
            cpu: percent(self.cpu_used_millis, req.cpu_millis, self.cpu_total_millis),
            memory: percent(
                self.memory_used_bytes,
                req.memory_bytes,
                self.memory_total_bytes,
            ),
            pods: percent(self.pods_used, req.pod_count, self.pods_total),
        }
    }
}

/// One cluster the installation might go to.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterCandidate {
    pub cluster: Cluster,
    /// Names of the cluster's annotations.
    pub annotations: Vec<String>,
    /// The affinity of the installation behind each live cluster
    /// installation on this cluster.
    pub installation_affinities: Vec<Affinity>,
    /// The resource snapshot, or why it could not be read.
    pub resources: Result<ClusterResources, String>,
}

/// An acceptable cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub cluster_id: String,
    /// Set when the cluster is over a threshold and must first be scaled to
    /// this many worker nodes (`NodeMinCount`).
    pub scale_to_node_min_count: Option<i64>,
    /// Usage after adding the installation, when it was computed.
    pub usage: Option<Usage>,
}

/// A cluster that was turned down, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub cluster_id: String,
    pub reason: String,
}

/// Every candidate, split into acceptable clusters (best first) and
/// rejected ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ranking {
    pub accepted: Vec<Placement>,
    pub rejected: Vec<Rejection>,
}

/// Why no cluster was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// The installation's size is not a size: no cluster can ever fit it.
    #[error("invalid installation size: {0}")]
    InvalidSize(String),
    #[error("{}", describe_rejections(.0))]
    NoCompatibleCluster(Vec<Rejection>),
}

fn describe_rejections(rejections: &[Rejection]) -> String {
    if rejections.is_empty() {
        return "no compatible cluster: there are no clusters".into();
    }
    let parts: Vec<String> = rejections
        .iter()
        .map(|r| format!("{}: {}", r.cluster_id, r.reason))
        .collect();
    format!("no compatible cluster: {}", parts.join("; "))
}

/// What the installation needs from a cluster: the app pods, plus the
/// in-cluster database and MinIO pods when it uses them.
pub fn requirements(installation: &Installation) -> Result<SchedulingRequirements, PlacementError> {
    let size = get_installation_size(&installation.size)
        .map_err(|e| PlacementError::InvalidSize(e.to_string()))?;
    Ok(size.requirements(
        installation.database.is_internal(),
        installation.filestore.is_internal(),
    ))
}

/// Whether `candidate` can take the installation; `Ok` carries the usage
/// and the scale-up the placement needs, `Err` the reason it cannot.
pub fn evaluate(
    installation: &Installation,
    req: &SchedulingRequirements,
    installation_annotations: &[String],
    candidate: &ClusterCandidate,
    options: &PlacementOptions,
) -> Result<Placement, String> {
    let cluster = &candidate.cluster;
    if cluster.is_deleted() {
        return Err("the cluster is deleted".into());
    }
    let missing: Vec<&str> = installation_annotations
        .iter()
        .filter(|a| !candidate.annotations.contains(a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing annotation(s) {}", missing.join(", ")));
    }
    if !cluster.allow_installations {
        return Err("the cluster does not allow installations".into());
    }
    if !cluster.state.is_installation_schedulable() {
        return Err(format!(
            "the cluster is {}, which does not accept installations",
            cluster.state
        ));
    }
    if installation.requires_aws_infrastructure() && !cluster.has_aws_infrastructure() {
        return Err("the cluster has no AWS infrastructure".into());
    }
    check_affinity(installation.affinity, &candidate.installation_affinities)?;

    let skip_resources = cluster.is_externally_managed() && options.always_schedule_external;
    let usage = match (&candidate.resources, skip_resources) {
        (Ok(r), _) => Some(r.usage_after(req)),
        (Err(_), true) => None,
        (Err(e), false) => return Err(format!("resource usage unavailable: {e}")),
    };
    let mut placement = Placement {
        cluster_id: cluster.id.clone(),
        scale_to_node_min_count: None,
        usage,
    };
    let (Some(u), false) = (usage, skip_resources) else {
        return Ok(placement);
    };
    let over = over_thresholds(&u, &options.thresholds);
    if over.is_empty() {
        return Ok(placement);
    }
    let over = over.join(", ");
    let nodes = cluster.common_metadata();
    if options.scale_value <= 0 {
        return Err(over);
    }
    if nodes.node_min_count == nodes.node_max_count {
        return Err(format!("{over}, and its node count is fixed"));
    }
    if cluster.state != ClusterState::Stable {
        return Err(format!(
            "{over}, and it cannot scale up while {}",
            cluster.state
        ));
    }
    let target = (nodes.node_min_count + options.scale_value).min(nodes.node_max_count);
    if target <= nodes.node_min_count {
        return Err(format!(
            "{over}, and it is already at its maximum node count"
        ));
    }
    placement.scale_to_node_min_count = Some(target);
    Ok(placement)
}

fn check_affinity(affinity: Affinity, on_cluster: &[Affinity]) -> Result<(), String> {
    match affinity {
        Affinity::Isolated if !on_cluster.is_empty() => Err(format!(
            "an isolated installation needs an empty cluster, this one holds {} cluster installation(s)",
            on_cluster.len()
        )),
        Affinity::Multitenant if on_cluster == [Affinity::Isolated] => {
            Err("the cluster holds an isolated installation".into())
        }
        _ => Ok(()),
    }
}

fn over_thresholds(u: &Usage, t: &Thresholds) -> Vec<String> {
    let mut over = Vec::new();
    for (name, value, limit) in [
        ("CPU", u.cpu, t.cpu),
        ("memory", u.memory, t.memory),
        ("pods", u.pods, t.pods),
    ] {
        if value == i64::MAX {
            over.push(format!("the cluster has no schedulable {name}"));
        } else if value > limit {
            over.push(format!("{name} would reach {value}% (threshold {limit}%)"));
        }
    }
    over
}

/// Evaluates every candidate and orders the acceptable ones.
pub fn rank(
    installation: &Installation,
    installation_annotations: &[String],
    candidates: &[ClusterCandidate],
    options: &PlacementOptions,
) -> Result<Ranking, PlacementError> {
    let req = requirements(installation)?;
    let mut ordered: Vec<&ClusterCandidate> = candidates.iter().collect();
    // Oldest first, as the original's `CreateAt ASC` query.
    ordered.sort_by_key(|c| c.cluster.create_at);
    let mut ranking = Ranking::default();
    let mut stable = Vec::new();
    for candidate in ordered {
        match evaluate(
            installation,
            &req,
            installation_annotations,
            candidate,
            options,
        ) {
            Ok(p) => {
                stable.push(candidate.cluster.state == ClusterState::Stable);
                ranking.accepted.push(p);
            }
            Err(reason) => ranking.rejected.push(Rejection {
                cluster_id: candidate.cluster.id.clone(),
                reason,
            }),
        }
    }
    let mut keyed: Vec<(bool, Placement)> = stable.into_iter().zip(ranking.accepted).collect();
    if options.balanced {
        // Stable sort: equal usage keeps the oldest first. A cluster whose
        // usage was not computed (external, check skipped) goes last.
        keyed.sort_by(|(_, a), (_, b)| {
            let key = |p: &Placement| p.usage.map_or(f64::INFINITY, |u| u.combined());
            key(a).total_cmp(&key(b))
        });
    }
    if options.prefer_stable {
        keyed.sort_by_key(|(is_stable, _)| !is_stable);
    }
    ranking.accepted = keyed.into_iter().map(|(_, p)| p).collect();
    Ok(ranking)
}

/// The best cluster for the installation, or why there is none.
pub fn place(
    installation: &Installation,
    installation_annotations: &[String],
    candidates: &[ClusterCandidate],
    options: &PlacementOptions,
) -> Result<Placement, PlacementError> {
    let mut ranking = rank(installation, installation_annotations, candidates, options)?;
    if ranking.accepted.is_empty() {
        return Err(PlacementError::NoCompatibleCluster(ranking.rejected));
    }
    Ok(ranking.accepted.swap_remove(0))
}

#[cfg(test)]
mod tests;
