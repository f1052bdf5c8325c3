use super::*;
use crate::machines::placement::ClusterResources;
use cloud_model::cluster::{Cluster, ClusterState, KopsMetadata, Provider, Provisioner};
use cloud_model::installation::{Affinity, DatabaseType, FilestoreType};

use InstallationAction as A;

pub(super) fn inst(state: S) -> Installation {
    Installation {
        id: "inst".into(),
        size: "100users".into(),
        affinity: Affinity::Multitenant,
        database: DatabaseType::AwsMultitenantRdsPostgres,
        filestore: FilestoreType::Bifrost,
        cr_version: LATEST_CR_VERSION.into(),
        state,
        ..Default::default()
    }
}

pub(super) fn ci(id: &str, state: Ci) -> ObservedClusterInstallation {
    ObservedClusterInstallation {
        id: id.into(),
        cluster_id: "c1".into(),
        state,
        is_active: true,
        deleted: state == Ci::Deleted,
    }
}

pub(super) fn candidate(used_percent: i64) -> ClusterCandidate {
    let mut c = Cluster::new(ClusterState::Stable, Provider::Aws, Provisioner::Kops);
    c.id = "c1".into();
    c.allow_installations = true;
    c.provisioner_metadata_kops = Some(KopsMetadata {
        node_min_count: 2,
        node_max_count: 5,
        ..Default::default()
    });
    ClusterCandidate {
        cluster: c,
        annotations: Vec::new(),
        installation_affinities: Vec::new(),
        resources: Ok(ClusterResources {
            cpu_total_millis: 10_000,
            cpu_used_millis: 100 * used_percent,
            memory_total_bytes: 1 << 40,
            memory_used_bytes: 0,
            pods_total: 100,
            pods_used: 0,
        }),
    }
}

pub(super) fn dns(status: DnsStatus) -> Vec<ObservedDns> {
    vec![
        ObservedDns {
            name: "a.example.com".into(),
            status,
        },
        ObservedDns {
            name: "b.example.com".into(),
            status: DnsStatus::UpToDate,
        },
    ]
}

pub(super) fn obs(cis: Vec<ObservedClusterInstallation>) -> InstallationObservation {
    InstallationObservation {
        cluster_installations: cis,
        dns: dns(DnsStatus::Stale),
        placement: PlacementInput {
            candidates: vec![candidate(10)],
            ..Default::default()
        },
        ..Default::default()
    }
}

pub(super) fn upsert(names: &[&str]) -> A {
    A::UpsertDns {
        names: names.iter().map(|n| n.to_string()).collect(),
    }
}

pub(super) fn run(state: S, o: &InstallationObservation) -> InstallationDecision {
    decide(&inst(state), o)
}

#[test]
fn first_creation_pass_places_provisions_and_points_dns() {
    for state in [S::CreationRequested, S::CreationNoCompatibleClusters] {
        let d = run(state, &obs(vec![]));
        assert_eq!(d.next_state, S::CreationInProgress);
        assert_eq!(
            d.actions,
            [
                A::CreateClusterInstallation {
                    cluster_id: "c1".into()
                },
                A::ProvisionDatabase,
                A::ProvisionFilestore,
                // Every name: the new cluster has a new load balancer.
                upsert(&["a.example.com", "b.example.com"]),
            ]
        );
        assert_eq!(d.problem, None);
    }
}

#[test]
fn placement_failures() {
    let mut o = obs(vec![]);
    o.placement.candidates.clear();
    let d = run(S::CreationRequested, &o);
    assert_eq!(d.next_state, S::CreationNoCompatibleClusters);
    assert!(d.actions.is_empty());
    assert_eq!(
        d.problem.as_deref(),
        Some("no compatible cluster: there are no clusters")
    );
    let mut bad = inst(S::CreationRequested);
    bad.size = "tiny".into();
    let d = decide(&bad, &obs(vec![]));
    assert_eq!(d.next_state, S::CreationFailed);
    assert!(
        d.problem
            .is_some_and(|p| p.contains("invalid installation size"))
    );
}

#[test]
fn autoscale_precedes_the_cluster_installation() {
    let mut o = obs(vec![]);
    o.placement.candidates = vec![candidate(95)];
    o.placement.options.scale_value = 1;
    let d = run(S::CreationRequested, &o);
    assert_eq!(
        d.actions[..2],
        [
            A::ScaleUpCluster {
                cluster_id: "c1".into(),
                node_min_count: 3
            },
            A::CreateClusterInstallation {
                cluster_id: "c1".into()
            }
        ]
    );
}

#[test]
fn existing_work_is_not_redone() {
    // A cluster installation exists: no second placement.
    let mut o = obs(vec![ci("ci1", Ci::Reconciling)]);
    o.database = Presence::Present;
    o.filestore = Presence::Present;
    o.dns = dns(DnsStatus::UpToDate);
    let d = run(S::CreationRequested, &o);
    assert_eq!((d.next_state, d.actions), (S::CreationInProgress, vec![]));
    // Only what is not known to be done.
    o.filestore = Presence::Unknown;
    o.dns = dns(DnsStatus::Unknown);
    let d = run(S::CreationRequested, &o);
    assert_eq!(
        d.actions,
        [A::ProvisionFilestore, upsert(&["a.example.com"])]
    );
}

#[test]
fn creation_resumes_at_its_state() {
    let o = obs(vec![ci("ci1", Ci::Reconciling)]);
    // (state, expected actions)
    let table: Vec<(S, Vec<A>)> = vec![
        (
            S::CreationPreProvisioning,
            vec![
                A::ProvisionDatabase,
                A::ProvisionFilestore,
                upsert(&["a.example.com"]),
            ],
        ),
        (S::CreationConfiguringDns, vec![upsert(&["a.example.com"])]),
        (S::CreationInProgress, vec![]),
        (S::CreationFinalTasks, vec![]),
    ];
    for (state, actions) in table {
        let d = run(state, &o);
        assert_eq!(d.actions, actions, "{state}");
        assert_eq!(d.next_state, S::CreationInProgress, "{state}");
    }
    // A creation state that lost its cluster installation places it again.
    let d = run(S::CreationInProgress, &obs(vec![]));
    assert_eq!(
        d.actions,
        [
            A::CreateClusterInstallation {
                cluster_id: "c1".into()
            },
            upsert(&["a.example.com", "b.example.com"])
        ]
    );
}

#[test]
fn creation_waits_for_its_cluster_installations() {
    // (cluster installation states, next state, problem expected)
    let table: &[(&[Ci], S, bool)] = &[
        (&[Ci::Stable], S::Stable, false),
        (&[Ci::Ready], S::Stable, false),
        (&[Ci::Stable, Ci::Ready], S::Stable, false),
        (&[Ci::Reconciling], S::CreationInProgress, false),
        (&[Ci::CreationRequested], S::CreationInProgress, false),
        (&[Ci::Stable, Ci::Reconciling], S::CreationInProgress, false),
        (&[Ci::CreationFailed], S::CreationFailed, true),
        (&[Ci::Stable, Ci::CreationFailed], S::CreationFailed, true),
        // Deleting ones are not waited for, but one must remain.
        (&[Ci::Stable, Ci::DeletionRequested], S::Stable, false),
        (&[Ci::DeletionRequested], S::CreationInProgress, false),
    ];
    for (states, expected, problem) in table {
        let cis = (states.iter().enumerate())
            .map(|(i, s)| ci(&format!("ci{i}"), *s))
            .collect();
        let d = run(S::CreationInProgress, &obs(cis));
        assert_eq!(d.next_state, *expected, "{states:?}");
        assert_eq!(d.problem.is_some(), *problem, "{states:?}: {:?}", d.problem);
        assert!(d.actions.is_empty());
    }
}

#[test]
fn a_retried_creation_retries_failed_cluster_installations() {
    let d = run(
        S::CreationRequested,
        &obs(vec![ci("ci1", Ci::CreationFailed)]),
    );
    assert_eq!(d.next_state, S::CreationInProgress);
    assert_eq!(
        d.actions[0],
        A::RetryClusterInstallation { id: "ci1".into() }
    );
    // Not from the other creation states.
    let d = run(
        S::CreationInProgress,
        &obs(vec![ci("ci1", Ci::CreationFailed)]),
    );
    assert_eq!(d.next_state, S::CreationFailed);
}

fn grouped(state: S, recorded: Option<i64>, current: i64) -> Installation {
    let mut i = inst(state);
    i.group_id = Some("g".into());
    i.group_sequence = recorded;
    i.merged_group_sequence = Some(current);
    i
}

#[test]
fn group_sequence_is_synced_at_start_and_checked_at_the_end() {
    let d = decide(&grouped(S::CreationRequested, Some(2), 3), &obs(vec![]));
    assert_eq!(d.actions[0], A::SyncGroupSequence { sequence: 3 });
    let d = decide(&grouped(S::CreationRequested, None, 3), &obs(vec![]));
    assert_eq!(d.actions[0], A::SyncGroupSequence { sequence: 3 });
    let d = decide(&grouped(S::CreationRequested, Some(3), 3), &obs(vec![]));
    assert!(!d.actions.contains(&A::SyncGroupSequence { sequence: 3 }));

    // The group moved on while creating: update instead of stable.
    let stable = obs(vec![ci("ci1", Ci::Stable)]);
    let d = decide(&grouped(S::CreationInProgress, Some(2), 3), &stable);
    assert_eq!(d.next_state, S::UpdateRequested);
    let d = decide(&grouped(S::CreationInProgress, Some(3), 3), &stable);
    assert_eq!(d.next_state, S::Stable);
    let d = decide(&grouped(S::UpdateInProgress, Some(2), 3), &stable);
    assert_eq!(
        (d.next_state, d.step),
        (S::UpdateRequested, "group-changed")
    );
    // An update syncs first, so it is not sent back.
    let d = decide(&grouped(S::UpdateRequested, Some(2), 3), &obs(vec![]));
    assert_eq!(d.actions[0], A::SyncGroupSequence { sequence: 3 });
    assert_eq!(d.next_state, S::UpdateInProgress);
}

#[test]
fn update_reapplies_cluster_installations_with_a_resource() {
    let cis = vec![
        ci("stable", Ci::Stable),
        ci("reconciling", Ci::Reconciling),
        ci("ready", Ci::Ready),
        ci("creating", Ci::CreationRequested),
        ci("deleting", Ci::DeletionRequested),
        ci("gone", Ci::Deleted),
    ];
    for (state, first) in [
        (S::UpdateRequested, None),
        (S::WakeUpRequested, Some(A::RefreshDatabaseMetadata)),
        (
            S::DeletionCancellationRequested,
            Some(A::RefreshDatabaseMetadata),
        ),
    ] {
        let d = run(state, &obs(cis.clone()));
        let mut expected: Vec<A> = first.into_iter().collect();
        for id in ["stable", "reconciling", "ready"] {
            expected.push(A::ApplyClusterInstallation { id: id.into() });
        }
        assert_eq!(d.actions, expected, "{state}");
        assert_eq!(d.next_state, S::UpdateInProgress, "{state}");
    }
    let mut old = inst(S::UpdateRequested);
    old.cr_version = "mattermost.com/v1alpha1".into();
    let mut o = obs(vec![]);
    assert!(
        !decide(&old, &o)
            .actions
            .iter()
            .any(|a| matches!(a, A::SetCrVersion { .. }))
    );
    o.settings.force_cr_upgrade = true;
    assert_eq!(
        decide(&old, &o).actions[0],
        A::SetCrVersion {
            version: LATEST_CR_VERSION.into()
        }
    );
}

#[test]
fn update_waits_for_stable_then_repairs_dns() {
    let table: &[(&[Ci], S)] = &[
        (&[Ci::Stable], S::Stable),
        (&[Ci::Ready], S::UpdateInProgress),
        (&[Ci::Reconciling], S::UpdateInProgress),
        (&[Ci::CreationFailed], S::UpdateFailed),
        (&[], S::UpdateInProgress),
    ];
    for (states, expected) in table {
        let cis = states.iter().map(|s| ci("ci", *s)).collect();
        let d = run(S::UpdateInProgress, &obs(cis));
        assert_eq!(d.next_state, *expected, "{states:?}");
        let dns_actions = if *expected == S::Stable {
            vec![upsert(&["a.example.com"])]
        } else {
            vec![]
        };
        assert_eq!(d.actions, dns_actions, "{states:?}");
    }
    let mut o = obs(vec![ci("ci", Ci::Stable)]);
    o.settings.disable_dns_updates = true;
    assert_eq!(run(S::UpdateInProgress, &o).actions, []);
}

#[test]
fn hibernation_and_pending_deletion() {
    for (request, waiting, done) in [
        (
            S::HibernationRequested,
            S::HibernationInProgress,
            S::Hibernating,
        ),
        (
            S::DeletionPendingRequested,
            S::DeletionPendingInProgress,
            S::DeletionPending,
        ),
    ] {
        let d = run(
            request,
            &obs(vec![ci("a", Ci::Stable), ci("b", Ci::CreationRequested)]),
        );
        assert_eq!(
            d.actions,
            [
                A::RefreshDatabaseMetadata,
                A::HibernateClusterInstallation { id: "a".into() }
            ]
        );
        assert_eq!(d.next_state, waiting);
        // Nothing to hibernate: done at once.
        let d = run(request, &obs(vec![]));
        assert_eq!(
            (d.next_state, d.actions),
            (done, vec![A::RefreshDatabaseMetadata])
        );

        // (states, next, problem)
        let table: &[(&[Ci], S, bool)] = &[
            (&[Ci::Stable], done, false),
            (&[Ci::Stable, Ci::Deleted], done, false),
            (&[Ci::Reconciling], waiting, false),
            (&[Ci::Ready], waiting, false),
            // No failure state: it waits, and says why.
            (&[Ci::CreationFailed], waiting, true),
        ];
        for (states, next, problem) in table {
            let cis = states
                .iter()
                .enumerate()
                .map(|(i, s)| ci(&format!("c{i}"), *s))
                .collect();
            let d = run(waiting, &obs(cis));
            assert_eq!(
                (d.next_state, d.problem.is_some()),
                (*next, *problem),
                "{states:?}"
            );
            assert!(d.actions.is_empty());
        }
    }
}

#[test]
fn dns_migration_of_a_hibernating_installation() {
    let d = run(S::DnsMigrationHibernated, &obs(vec![ci("a", Ci::Stable)]));
    assert_eq!(
        (d.next_state, d.actions),
        (S::Hibernating, vec![upsert(&["a.example.com"])])
    );
    let d = run(
        S::DnsMigrationHibernated,
        &obs(vec![ci("a", Ci::Reconciling)]),
    );
    assert_eq!(d.next_state, S::HibernationInProgress);
}
