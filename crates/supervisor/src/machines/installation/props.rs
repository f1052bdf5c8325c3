//! Random-sequence property tests of the installation machine.
//!
//! [`World`] is a miniature cloud: one cluster, the cluster-installation
//! supervisor (progressing at random, sometimes failing), the backup
//! supervisor, DNS, database, filestore and volume secrets. It runs the
//! machine the way the engine does (observe, decide, execute actions in
//! order until one fails, persist the next state or the failure state),
//! with injected action failures, observations that sometimes cannot tell
//! (`Unknown`) and random API requests. Every pass is checked against the
//! invariants; every run ends by deleting the installation and checking
//! that nothing it created is left.

use super::*;
use crate::machines::placement::{ClusterResources, PlacementOptions};
use crate::machines::test_rng::Rng;
use cloud_model::cluster::{Cluster, ClusterState, KopsMetadata, Provider, Provisioner};
use cloud_model::installation::{Affinity, DatabaseType, FilestoreType, Volume};
use std::collections::BTreeSet;

use InstallationAction as A;

/// `(resource type, id, old state, new state)`, as the event stream has it.
pub(super) type Event = (&'static str, String, String, String);

pub(super) struct World {
    pub inst: Installation,
    /// The group's current sequence (the installation is in a group).
    pub group_sequence: i64,
    pub cis: Vec<ObservedClusterInstallation>,
    pub cluster_available: bool,
    pub database: bool,
    pub filestore: bool,
    /// DNS rows (live) and the provider's records (name → cluster).
    pub dns_rows: Vec<String>,
    pub dns_records: BTreeMap<String, String>,
    pub backups: Vec<(String, BackupState)>,
    pub secrets: BTreeSet<String>,
    pub events: Vec<Event>,
    pub rng: Rng,
    /// Percent of actions that fail, and of those, the permanent ones.
    pub fail: u64,
    pub permanent: u64,
    /// Percent of presence observations that come back `Unknown`.
    pub unknown: u64,
    /// Percent of cluster-installation steps that fail.
    pub ci_fail: u64,
    pub settings: InstallationSettings,
    next_id: usize,
}

fn cluster() -> ClusterCandidate {
    let mut c = Cluster::new(ClusterState::Stable, Provider::Aws, Provisioner::Kops);
    c.id = "cluster1".into();
    c.allow_installations = true;
    c.provisioner_metadata_kops = Some(KopsMetadata {
        node_min_count: 2,
        node_max_count: 4,
        ..Default::default()
    });
    ClusterCandidate {
        cluster: c,
        annotations: Vec::new(),
        installation_affinities: Vec::new(),
        resources: Ok(ClusterResources {
            cpu_total_millis: 10_000,
            memory_total_bytes: 1 << 40,
            pods_total: 100,
            ..Default::default()
        }),
    }
}

impl World {
    pub fn new(seed: u64) -> Self {
        let mut volumes = BTreeMap::new();
        volumes.insert(
            "certs".to_string(),
            Volume {
                volume_type: "secret".into(),
                backing_secret: "secret-certs".into(),
                ..Default::default()
            },
        );
        let inst = Installation {
            id: "inst".into(),
            group_id: Some("group".into()),
            size: "100users".into(),
            affinity: Affinity::Multitenant,
            database: DatabaseType::AwsMultitenantRdsPostgres,
            filestore: FilestoreType::Bifrost,
            cr_version: LATEST_CR_VERSION.into(),
            volumes: Some(volumes),
            state: S::CreationRequested,
            ..Default::default()
        };
        Self {
            inst,
            group_sequence: 1,
            cis: Vec::new(),
            cluster_available: true,
            database: false,
            filestore: false,
            dns_rows: vec!["a.example.com".into(), "b.example.com".into()],
            dns_records: BTreeMap::new(),
            backups: Vec::new(),
            secrets: BTreeSet::from(["secret-certs".to_string()]),
            events: vec![(
                "installation",
                "inst".into(),
                "n/a".into(),
                "creation-requested".into(),
            )],
            rng: Rng::new(seed),
            fail: 0,
            permanent: 0,
            unknown: 0,
            ci_fail: 0,
            settings: InstallationSettings::default(),
            next_id: 0,
        }
    }

    fn presence(&mut self, present: bool) -> Presence {
        match (self.rng.chance(self.unknown), present) {
            (true, _) => Presence::Unknown,
            (false, true) => Presence::Present,
            (false, false) => Presence::Absent,
        }
    }

    fn observe(&mut self) -> InstallationObservation {
        let active = self.cis.iter().find(|c| !c.deleted && c.is_active);
        let target = active.map(|c| c.cluster_id.clone());
        let mut dns = Vec::new();
        for name in self.dns_rows.clone() {
            let status = if self.rng.chance(self.unknown) {
                DnsStatus::Unknown
            } else if target.is_some() && self.dns_records.get(&name) == target.as_ref() {
                DnsStatus::UpToDate
            } else {
                DnsStatus::Stale
            };
            dns.push(ObservedDns { name, status });
        }
        let (db, fs) = (self.database, self.filestore);
        let secrets = self.secrets.clone();
        let volume_secrets = [("secret-certs".to_string(), secrets.contains("secret-certs"))]
            .into_iter()
            .map(|(k, present)| (k, self.presence(present)))
            .collect();
        InstallationObservation {
            cluster_installations: self.cis.clone(),
            database: self.presence(db),
            filestore: self.presence(fs),
            dns,
            backups: self.backups.clone(),
            restorations: Vec::new(),
            migrations: Vec::new(),
            volume_secrets,
            placement: PlacementInput {
                annotations: Vec::new(),
                candidates: if self.cluster_available {
                    vec![cluster()]
                } else {
                    Vec::new()
                },
                options: PlacementOptions::default(),
            },
            settings: self.settings,
        }
    }

    fn ci_event(&mut self, id: &str, old: &str, new: Ci) {
        (self.events).push((
            "cluster_installation",
            id.into(),
            old.into(),
            new.as_str().into(),
        ));
    }

    fn set_ci(&mut self, id: &str, state: Ci) {
        let Some(i) = self.cis.iter().position(|c| c.id == id) else {
            panic!("no cluster installation {id}");
        };
        let old = self.cis[i].state;
        if old != state {
            self.cis[i].state = state;
            self.ci_event(id, old.as_str(), state);
        }
        if state == Ci::Deleted {
            self.cis[i].deleted = true;
        }
    }

    /// Runs one action; `false` when it failed (nothing happened).
    fn execute(&mut self, action: &A) -> bool {
        if self.rng.chance(self.fail) {
            return false;
        }
        match action {
            A::SyncGroupSequence { sequence } => self.inst.group_sequence = Some(*sequence),
            A::SetCrVersion { version } => self.inst.cr_version = version.clone(),
            A::ScaleUpCluster { .. } => {}
            A::CreateClusterInstallation { cluster_id } => {
                assert!(
                    self.cis.iter().all(|c| c.deleted),
                    "a second live cluster installation"
                );
                self.next_id += 1;
                let id = format!("ci{}", self.next_id);
                self.cis.push(ObservedClusterInstallation {
                    id: id.clone(),
                    cluster_id: cluster_id.clone(),
                    state: Ci::CreationRequested,
                    is_active: true,
                    deleted: false,
                });
                self.ci_event(&id, "n/a", Ci::CreationRequested);
            }
            A::RetryClusterInstallation { id } => self.set_ci(id, Ci::CreationRequested),
            A::ProvisionDatabase => self.database = true,
            A::ProvisionFilestore => self.filestore = true,
            A::RefreshDatabaseMetadata => {}
            A::UpsertDns { names } => {
                let Some(target) = self.cis.iter().find(|c| !c.deleted && c.is_active) else {
                    return false; // no load balancer to point at
                };
                let target = target.cluster_id.clone();
                for n in names {
                    self.dns_records.insert(n.clone(), target.clone());
                }
            }
            A::ApplyClusterInstallation { id } | A::HibernateClusterInstallation { id } => {
                self.set_ci(id, Ci::Reconciling)
            }
            A::DeleteClusterInstallation { id } => self.set_ci(id, Ci::DeletionRequested),
            A::DeleteDns { names } => {
                for n in names {
                    self.dns_records.remove(n);
                    self.dns_rows.retain(|r| r != n);
                }
            }
            A::DeleteBackup { id } => {
                for b in self.backups.iter_mut().filter(|(b, _)| b == id) {
                    b.1 = BackupState::DeletionRequested;
                }
            }
            A::DeleteRestoration { .. } | A::DeleteMigration { .. } => {}
            A::DeleteVolumeSecret { name } => {
                self.secrets.remove(name);
            }
            A::TeardownDatabase { .. } => self.database = false,
            A::TeardownFilestore { .. } => self.filestore = false,
        }
        true
    }

    /// One pass of the installation machine, checked against the
    /// invariants.
    pub fn pass(&mut self) -> InstallationDecision {
        let obs = self.observe();
        let mut merged = self.inst.clone();
        merged.merged_group_sequence = Some(self.group_sequence);
        let from = merged.state;
        let d = decide(&merged, &obs);
        check_decision(from, &obs, &d);
        let mut next = d.next_state;
        for action in &d.actions {
            if !self.execute(action) {
                let class = if self.rng.chance(self.permanent) {
                    ErrorClass::Permanent
                } else {
                    ErrorClass::Transient
                };
                next = state_after_failure(from, action, class);
                break;
            }
        }
        if next != from {
            self.set_state(next);
        }
        d
    }

    pub fn set_state(&mut self, state: S) {
        let old = self.inst.state;
        self.inst.state = state;
        (self.events).push((
            "installation",
            "inst".into(),
            old.as_str().into(),
            state.as_str().into(),
        ));
        if state == S::Deleted {
            self.inst.delete_at = 1;
        }
    }

    /// The cluster-installation and backup supervisors take a step.
    pub fn tick_others(&mut self) {
        for i in 0..self.cis.len() {
            let (id, state) = (self.cis[i].id.clone(), self.cis[i].state);
            let failing = self.rng.chance(self.ci_fail);
            let next = match state {
                Ci::CreationRequested if failing => Ci::CreationFailed,
                Ci::CreationRequested => Ci::Reconciling,
                Ci::Reconciling if self.rng.chance(30) => Ci::Ready,
                Ci::Reconciling | Ci::Ready => Ci::Stable,
                Ci::DeletionRequested if failing => Ci::DeletionFailed,
                Ci::DeletionRequested => Ci::Deleted,
                other => other,
            };
            if self.rng.chance(70) {
                self.set_ci(&id, next);
            }
        }
        for b in self.backups.iter_mut() {
            b.1 = match b.1 {
                BackupState::BackupRequested => BackupState::BackupSucceeded,
                BackupState::DeletionRequested => BackupState::Deleted,
                other => other,
            };
        }
    }

    /// Whatever the installation created that still exists.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.database {
            left.push("database".to_string());
        }
        if self.filestore {
            left.push("filestore".to_string());
        }
        left.extend(self.dns_records.keys().map(|k| format!("dns {k}")));
        left.extend(self.dns_rows.iter().map(|k| format!("dns row {k}")));
        left.extend(self.secrets.iter().map(|k| format!("secret {k}")));
        left.extend((self.cis.iter().filter(|c| !c.deleted)).map(|c| format!("ci {}", c.id)));
        if !self.settings.keep_filestore_data {
            left.extend(
                (self.backups.iter())
                    .filter(|(_, s)| *s != BackupState::Deleted)
                    .map(|(b, _)| format!("backup {b}")),
            );
        }
        left
    }

    fn request(&mut self, to: S) -> bool {
        if to.can_be_requested_from(self.inst.state) && self.inst.state != to {
            self.set_state(to);
            return true;
        }
        false
    }

    /// `DELETE /api/installation/{id}`.
    pub fn request_deletion(&mut self) {
        if !self.request(S::DeletionRequested) {
            self.request(S::DeletionPendingRequested);
        }
    }

    /// A random API request or outside change.
    pub fn random_request(&mut self) {
        match self.rng.below(10) {
            0 => drop(self.request(S::HibernationRequested)),
            1 => drop(self.request(S::WakeUpRequested)),
            2 => drop(self.request(S::UpdateRequested)),
            3 => drop(self.request(S::CreationRequested)),
            4 => drop(self.request(S::DeletionCancellationRequested)),
            5 if self.inst.state == S::DeletionPending => self.set_state(S::DeletionRequested),
            5 => self.group_sequence += 1,
            6 => self.cluster_available = !self.cluster_available,
            7 if self.inst.state == S::Hibernating => {
                self.next_id += 1;
                self.backups
                    .push((format!("b{}", self.next_id), BackupState::BackupRequested));
            }
            // Someone repointed a record behind our back.
            8 if self.dns_records.contains_key("a.example.com") => {
                self.dns_records
                    .insert("a.example.com".into(), "elsewhere".into());
            }
            9 if self.rng.chance(20) => self.request_deletion(),
            _ => {}
        }
    }
}

/// Checks one decision against what was observed.
fn check_decision(from: S, obs: &InstallationObservation, d: &InstallationDecision) {
    let ci = |id: &str| obs.cluster_installations.iter().find(|c| c.id == id);
    let placing = d
        .actions
        .iter()
        .any(|a| matches!(a, A::CreateClusterInstallation { .. }));
    for (i, a) in d.actions.iter().enumerate() {
        assert!(
            !d.actions[..i].contains(a),
            "{a:?} twice in one pass from {from}: {d:?}"
        );
        let done = match a {
            A::ProvisionDatabase => obs.database == Presence::Present,
            A::ProvisionFilestore => obs.filestore == Presence::Present,
            A::TeardownDatabase { .. } => obs.database == Presence::Absent,
            A::TeardownFilestore { .. } => obs.filestore == Presence::Absent,
            A::CreateClusterInstallation { .. } => {
                obs.cluster_installations.iter().any(|c| !c.deleted)
            }
            A::DeleteClusterInstallation { id } => ci(id).is_none_or(|c| {
                c.deleted || matches!(c.state, Ci::DeletionRequested | Ci::Deleted)
            }),
            A::ApplyClusterInstallation { id } | A::HibernateClusterInstallation { id } => {
                ci(id).is_none_or(|c| !matches!(c.state, Ci::Reconciling | Ci::Ready | Ci::Stable))
            }
            A::UpsertDns { names } if !placing => names.iter().any(|n| {
                obs.dns
                    .iter()
                    .any(|d| &d.name == n && d.status == DnsStatus::UpToDate)
            }),
            A::DeleteDns { names } => names.iter().any(|n| obs.dns.iter().all(|d| &d.name != n)),
            A::DeleteBackup { id } => obs.backups.iter().any(|(b, s)| {
                b == id && matches!(s, BackupState::DeletionRequested | BackupState::Deleted)
            }),
            A::DeleteVolumeSecret { name } => {
                obs.volume_secrets.get(name) == Some(&Presence::Absent)
            }
            _ => false,
        };
        assert!(
            !done,
            "{a:?} issued from {from} although observed done: {obs:?}"
        );
    }
    if d.next_state == S::Stable && from != S::Stable {
        let waited: Vec<_> = (obs.cluster_installations.iter())
            .filter(|c| {
                !c.deleted && !matches!(c.state, Ci::DeletionRequested | Ci::DeletionFailed)
            })
            .collect();
        assert!(
            !waited.is_empty(),
            "stable from {from} without a cluster installation"
        );
        for c in waited {
            assert!(
                matches!(c.state, Ci::Stable | Ci::Ready),
                "stable from {from} while {} is {}",
                c.id,
                c.state
            );
        }
        let reapplied = d.actions.iter().any(|a| {
            matches!(
                a,
                A::CreateClusterInstallation { .. }
                    | A::RetryClusterInstallation { .. }
                    | A::ApplyClusterInstallation { .. }
                    | A::HibernateClusterInstallation { .. }
            )
        });
        assert!(
            !reapplied,
            "stable in the pass that changes its cluster installations: {d:?}"
        );
    }
}

/// Drives a world to `deleted`: no more failures or outside changes, the
/// installation is deleted through the API as soon as the API allows it.
fn drain(w: &mut World, seed: u64) {
    (w.fail, w.permanent, w.ci_fail) = (10, 0, 0);
    w.cluster_available = true;
    for _ in 0..400 {
        if w.inst.state == S::Deleted {
            return;
        }
        // As a client would: delete once, and again after a failure.
        if !w.inst.state.is_deletion_state() || w.inst.state == S::DeletionFailed {
            w.request_deletion();
        }
        if w.inst.state == S::DeletionPending {
            w.set_state(S::DeletionRequested);
        }
        w.pass();
        w.tick_others();
    }
    panic!(
        "seed {seed}: not deleted, stuck in {} ({:?})",
        w.inst.state, w.cis
    );
}

#[test]
fn random_lives_keep_the_invariants_and_leave_nothing_behind() {
    for seed in 0..400 {
        let mut w = World::new(seed);
        w.fail = w.rng.below(30) as u64;
        w.permanent = w.rng.below(20) as u64;
        w.unknown = w.rng.below(50) as u64;
        w.ci_fail = w.rng.below(10) as u64;
        w.settings.keep_database_data = w.rng.chance(30);
        w.settings.keep_filestore_data = w.rng.chance(30);
        w.settings.force_cr_upgrade = w.rng.chance(50);
        let steps = 20 + w.rng.below(150);
        for _ in 0..steps {
            if w.rng.chance(30) {
                w.random_request();
            }
            w.pass();
            w.tick_others();
        }
        drain(&mut w, seed);
        // Backups are kept with the filestore data, and only then.
        assert_eq!(w.leftovers(), Vec::<String>::new(), "seed {seed}");
    }
}

#[test]
fn without_failures_creation_always_reaches_stable() {
    for seed in 0..300 {
        let mut w = World::new(seed);
        w.unknown = w.rng.below(60) as u64;
        let mut passes = 0;
        while w.inst.state != S::Stable {
            w.pass();
            w.tick_others();
            passes += 1;
            assert!(passes < 50, "seed {seed}: stuck in {}", w.inst.state);
        }
        // Nothing provisioned twice even though observations were vague.
        let created = w
            .events
            .iter()
            .filter(|e| e.0 == "cluster_installation" && e.2 == "n/a");
        assert_eq!(created.count(), 1, "seed {seed}");
        assert_eq!(w.inst.group_sequence, Some(w.group_sequence));
    }
}
