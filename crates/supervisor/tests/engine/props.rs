//! Random operation sequences on a seeded, flaky simulated cloud.
//!
//! Operations are what API clients do to clusters (create, provision,
//! upgrade, resize, add or delete node groups, delete), refused as the API
//! refuses them, interleaved with partial supervisor runs so that requests
//! land on work in flight. Afterwards:
//!
//! - with only transient trouble (errors, lost replies, slow and eventually
//!   consistent reads) every cluster ends `stable`, or `deleted` if its
//!   deletion was accepted;
//! - with user and permanent errors too, every cluster ends there or in a
//!   `*-failed` state that records its error class, and re-requesting as a
//!   person would gets every one of them deleted;
//! - always: each cluster's events form one unbroken chain ending in its
//!   state, no external resource is created twice, and once everything is
//!   deleted nothing is left in the cloud.

use crate::harness::{Db, Harness, assert_chain, config};
use cloud_model::cluster::{Cluster, ClusterState as S, NodeGroupMetadata, Provisioner};
use cloud_model::cluster_request::{
    CreateNodegroupsRequest, PatchClusterSizeRequest, PatchUpgradeClusterRequest,
};
use cloud_model::progress::ErrorClass;
use cloud_ports::sim::{SimConfig, cluster_key};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
enum Op {
    Create {
        eks: bool,
    },
    Provision(usize),
    Upgrade(usize),
    Resize(usize),
    AddNodeGroup(usize),
    DeleteNodeGroup(usize),
    Delete(usize),
    /// Let the supervisors make this many passes.
    Run(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(|eks| Op::Create { eks }),
        2 => any::<usize>().prop_map(Op::Provision),
        2 => any::<usize>().prop_map(Op::Upgrade),
        2 => any::<usize>().prop_map(Op::Resize),
        2 => any::<usize>().prop_map(Op::AddNodeGroup),
        2 => any::<usize>().prop_map(Op::DeleteNodeGroup),
        2 => any::<usize>().prop_map(Op::Delete),
        4 => (1..8usize).prop_map(Op::Run),
    ]
}

/// The same distribution from a seed (for the PostgreSQL runs).
fn ops_from_seed(seed: u64, n: usize) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let i = rng.random_range(0..64usize);
            match rng.random_range(0..19u32) {
                0..=2 => Op::Create {
                    eks: rng.random_bool(0.5),
                },
                3..=4 => Op::Provision(i),
                5..=6 => Op::Upgrade(i),
                7..=8 => Op::Resize(i),
                9..=10 => Op::AddNodeGroup(i),
                11..=12 => Op::DeleteNodeGroup(i),
                13..=14 => Op::Delete(i),
                _ => Op::Run(1 + i % 7),
            }
        })
        .collect()
}

fn flaky(seed: u64, with_permanent: bool) -> SimConfig {
    SimConfig {
        error_rate: if with_permanent { 0.08 } else { 0.15 },
        error_classes: if with_permanent {
            vec![
                (ErrorClass::Transient, 6),
                (ErrorClass::Permanent, 1),
                (ErrorClass::User, 1),
            ]
        } else {
            vec![(ErrorClass::Transient, 1)]
        },
        lost_reply_rate: 0.1,
        visible_after: 1,
        ready_after: 2,
        done_after: 2,
        ..SimConfig::instant(seed)
    }
}

/// A client's requests against the clusters of one scenario.
struct Client<'h> {
    h: &'h Harness,
    ids: Vec<String>,
    deleting: BTreeSet<String>,
    version: u32,
}

impl Client<'_> {
    fn pick(&self, i: usize) -> Option<String> {
        (!self.ids.is_empty()).then(|| self.ids[i % self.ids.len()].clone())
    }

    /// Changes a cluster that is `stable` (as a careful client would: the
    /// API also accepts re-requests, which replace a pending change).
    async fn change_stable(
        &self,
        id: &str,
        change: impl FnOnce(&mut Cluster) -> Option<S>,
    ) -> bool {
        self.h
            .request(id, |c| {
                if c.state != S::Stable {
                    return None;
                }
                change(c)
            })
            .await
    }

    async fn apply(&mut self, op: Op) {
        match op {
            Op::Create { eks } => {
                let request = if eks {
                    json!({
                                "provisioner": "eks",
                    "ami": "ami-0123456789",
                                "cluster-role-arn": "arn:aws:iam::1:role/cluster",
                                "node-role-arn": "arn:aws:iam::1:role/node",
                            })
                } else {
                    json!({})
                };
                let c = self.h.create_cluster(request).await;
                self.ids.push(c.id);
            }
            Op::Provision(i) => {
                if let Some(id) = self.pick(i) {
                    self.h.request_state(&id, S::ProvisioningRequested).await;
                }
            }
            Op::Upgrade(i) => {
                let Some(id) = self.pick(i) else { return };
                self.version += 1;
                let patch = PatchUpgradeClusterRequest {
                    version: Some(format!("1.{}.0", 20 + self.version)),
                    ..Default::default()
                };
                self.change_stable(&id, |c| {
                    let applied = match c.provisioner {
                        Provisioner::Kops => c
                            .provisioner_metadata_kops
                            .as_mut()
                            .is_some_and(|m| m.apply_upgrade_patch(&patch)),
                        Provisioner::Eks => c
                            .provisioner_metadata_eks
                            .as_mut()
                            .is_some_and(|m| m.apply_upgrade_patch(&patch)),
                        Provisioner::External => false,
                    };
                    applied.then_some(S::UpgradeRequested)
                })
                .await;
            }
            Op::Resize(i) => {
                let Some(id) = self.pick(i) else { return };
                let n = 2 + (i % 5) as i64;
                let patch = PatchClusterSizeRequest {
                    node_min_count: Some(n),
                    node_max_count: Some(n + 1),
                    node_groups: vec![],
                    ..Default::default()
                };
                self.change_stable(&id, |c| {
                    let applied = match c.provisioner {
                        Provisioner::Kops => {
                            c.provisioner_metadata_kops.as_mut().is_some_and(|m| {
                                m.validate_cluster_size_patch(&patch).is_ok()
                                    && m.apply_cluster_size_patch(&patch)
                            })
                        }
                        Provisioner::Eks => c.provisioner_metadata_eks.as_mut().is_some_and(|m| {
                            let patch = PatchClusterSizeRequest {
                                node_groups: vec!["worker".into()],
                                ..patch.clone()
                            };
                            m.validate_cluster_size_patch(&patch).is_ok()
                                && m.apply_cluster_size_patch(&patch)
                        }),
                        Provisioner::External => false,
                    };
                    applied.then_some(S::ResizeRequested)
                })
                .await;
            }
            Op::AddNodeGroup(i) => {
                let Some(id) = self.pick(i) else { return };
                let request = CreateNodegroupsRequest {
                    nodegroups: BTreeMap::from([(
                        format!("extra{}", i % 3),
                        NodeGroupMetadata {
                            instance_type: "m5.large".into(),
                            min_count: 1,
                            max_count: 2,
                            ..Default::default()
                        },
                    )]),
                    ..Default::default()
                };
                self.change_stable(&id, |c| {
                    let eks = c.provisioner_metadata_eks.as_mut()?;
                    eks.validate_nodegroups_create_request(&request).ok()?;
                    eks.apply_nodegroups_create_request(&request);
                    Some(S::NodegroupsCreationRequested)
                })
                .await;
            }
            Op::DeleteNodeGroup(i) => {
                let Some(id) = self.pick(i) else { return };
                self.change_stable(&id, |c| {
                    let eks = c.provisioner_metadata_eks.as_mut()?;
                    let prefix = eks.node_groups.keys().find(|k| *k != "worker")?.clone();
                    eks.validate_nodegroup_delete_request(&prefix).ok()?;
                    eks.apply_nodegroup_delete_request(&prefix);
                    Some(S::NodegroupsDeletionRequested)
                })
                .await;
            }
            Op::Delete(i) => {
                let Some(id) = self.pick(i) else { return };
                if self.h.request_state(&id, S::DeletionRequested).await {
                    self.deleting.insert(id);
                }
            }
            Op::Run(n) => {
                self.h.run(n).await;
            }
        }
    }
}

/// Checks what must hold for every cluster, whatever state it is in.
async fn check_invariants(h: &Harness, ids: &[String]) {
    assert!(
        h.sim.created_twice().is_empty(),
        "{:?}",
        h.sim.created_twice()
    );
    assert!(h.sim.orphaned().is_empty());
    for id in ids {
        let c = h.cluster(id).await;
        assert_chain(id, &h.transitions(id).await, "n/a", c.state.as_str());
        assert_eq!(c.lock_acquired_at, 0, "{id} is still locked");
        let live: Vec<String> = h
            .sim
            .live()
            .into_iter()
            .filter(|k| k.contains(id.as_str()))
            .collect();
        match c.state {
            S::Deleted => {
                assert!(live.is_empty(), "{id} deleted but left {live:?}");
                assert!(c.delete_at > 0);
            }
            S::Stable => {
                assert!(live.contains(&cluster_key(id)), "{id}: {live:?}");
                assert!(c.progress.step.is_empty(), "{id}: {:?}", c.progress);
                assert_eq!(c.progress.next_retry_at, 0);
                if let Some(eks) = &c.provisioner_metadata_eks {
                    let recorded: BTreeSet<String> = eks
                        .node_groups
                        .values()
                        .map(|ng| format!("nodegroup/{id}/{}", ng.name))
                        .collect();
                    let groups: BTreeSet<String> = live
                        .iter()
                        .filter(|k| k.starts_with("nodegroup/"))
                        .cloned()
                        .collect();
                    assert_eq!(groups, recorded, "{id}: node groups");
                }
            }
            _ => {}
        }
    }
}

/// Deletes every cluster, re-requesting failed work first where the API
/// does not allow deleting from the failed state.
async fn delete_everything(h: &Harness, ids: &[String]) {
    for _ in 0..6 {
        let mut pending = false;
        for id in ids {
            let state = h.cluster(id).await.state;
            if state == S::Deleted {
                continue;
            }
            pending = true;
            if S::DeletionRequested.can_request(state) {
                h.request_state(id, S::DeletionRequested).await;
            } else if let Some(retry) = S::REQUEST_STATES
                .iter()
                .chain([&S::NodegroupsDeletionRequested])
                .find(|r| r.can_request(state))
            {
                h.request_state(id, *retry).await;
            }
        }
        if !pending {
            break;
        }
        h.settle().await;
    }
    for id in ids {
        assert_eq!(h.cluster(id).await.state, S::Deleted, "{id}");
    }
    assert!(h.sim.live().is_empty(), "left behind: {:?}", h.sim.live());
    assert!(
        h.sim.created_twice().is_empty(),
        "{:?}",
        h.sim.created_twice()
    );
}

async fn scenario(db: Db, seed: u64, ops: Vec<Op>, with_permanent: bool) {
    let h = Harness::new(db, flaky(seed, with_permanent), config()).await;
    let mut client = Client {
        h: &h,
        ids: Vec::new(),
        deleting: BTreeSet::new(),
        version: 0,
    };
    for op in ops {
        client.apply(op).await;
    }
    h.settle().await;
    let ids = client.ids.clone();
    check_invariants(&h, &ids).await;
    for id in &ids {
        let c = h.cluster(id).await;
        let expected = if client.deleting.contains(id) {
            S::Deleted
        } else {
            S::Stable
        };
        if with_permanent && c.state != expected {
            assert!(
                c.state.as_str().ends_with("-failed"),
                "{id} ended in {} (expected {expected} or a failed state)",
                c.state
            );
            assert!(
                c.progress.last_error_class.is_some(),
                "{id}: no error recorded"
            );
        } else {
            assert_eq!(c.state, expected, "{id}: {:?}", c.progress);
        }
    }
    let (calls, errors) = h.sim.calls();
    let mut by_state = BTreeMap::<&str, usize>::new();
    for id in &ids {
        *by_state
            .entry(h.cluster(id).await.state.as_str())
            .or_default() += 1;
    }
    println!(
        "seed {seed}: {} clusters {by_state:?}, {calls} cloud calls, {errors} failed",
        ids.len()
    );
    h.sim.reconfigure(|c| {
        c.error_rate = 0.0;
        c.lost_reply_rate = 0.0;
    });
    delete_everything(&h, &ids).await;
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn clusters_converge_despite_transient_trouble(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        block_on(scenario(Db::Sqlite, seed, ops, false));
    }

    #[test]
    fn permanent_failures_end_in_failed_states_and_clean_up(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        block_on(scenario(Db::Sqlite, seed, ops, true));
    }
}

#[tokio::test]
async fn random_sequences_on_postgres() {
    for seed in [1, 2] {
        scenario(Db::Postgres, seed, ops_from_seed(seed, 30), seed % 2 == 0).await;
    }
}
