//! Deletion, final cleanup, resync, failure mapping and the e2e event
//! sequences of the installation machine.

use super::props::World;
use super::tests::{ci, dns, inst, obs, run, upsert};
use super::*;
use cloud_model::installation::Volume;

use InstallationAction as A;

#[test]
fn deletion_marks_cluster_installations_by_state() {
    // (cluster installation state, marked from deletion-requested, marked
    // from deletion-in-progress)
    let table = [
        (Ci::CreationRequested, true, true),
        (Ci::CreationFailed, true, true),
        (Ci::Reconciling, true, true),
        (Ci::Ready, true, true),
        (Ci::Stable, true, true),
        (Ci::DeletionRequested, false, false),
        (Ci::DeletionFailed, true, false),
        (Ci::Deleted, false, false),
    ];
    for (state, from_requested, from_in_progress) in table {
        for (inst_state, marked) in [
            (S::DeletionRequested, from_requested),
            (S::DeletionInProgress, from_in_progress),
        ] {
            let d = run(inst_state, &obs(vec![ci("x", state)]));
            let mark = A::DeleteClusterInstallation { id: "x".into() };
            assert_eq!(
                d.actions.contains(&mark),
                marked,
                "{inst_state} with {state}"
            );
        }
    }
    let d = run(
        S::DeletionInProgress,
        &obs(vec![ci("x", Ci::DeletionFailed)]),
    );
    assert_eq!(d.next_state, S::DeletionFailed);
    assert!(d.problem.is_some());
    let d = run(
        S::DeletionRequested,
        &obs(vec![ci("x", Ci::Stable), ci("y", Ci::Deleted)]),
    );
    assert_eq!(d.next_state, S::DeletionInProgress);
}

fn cleanup_obs() -> InstallationObservation {
    let mut o = obs(vec![ci("x", Ci::Deleted)]);
    o.database = Presence::Present;
    o.filestore = Presence::Unknown;
    o
}

#[test]
fn final_cleanup_tears_everything_down_in_order() {
    let mut i = inst(S::DeletionInProgress);
    let mut volumes = BTreeMap::new();
    for (name, secret) in [("v1", "s1"), ("v2", "s2")] {
        let v = Volume {
            backing_secret: secret.into(),
            ..Default::default()
        };
        volumes.insert(name.to_string(), v);
    }
    i.volumes = Some(volumes);
    let mut o = cleanup_obs();
    o.volume_secrets.insert("s2".into(), Presence::Absent);
    o.settings.keep_database_data = true;
    let d = decide(&i, &o);
    assert_eq!(d.next_state, S::Deleted);
    assert_eq!(
        d.actions,
        [
            A::DeleteDns {
                names: vec!["a.example.com".into(), "b.example.com".into()]
            },
            A::DeleteVolumeSecret { name: "s1".into() },
            A::TeardownDatabase { keep_data: true },
            A::TeardownFilestore { keep_data: false },
        ]
    );
    // Already torn down: nothing left to do.
    let done = InstallationObservation {
        database: Presence::Absent,
        filestore: Presence::Absent,
        ..Default::default()
    };
    let d = run(S::DeletionFinalCleanup, &done);
    assert_eq!((d.next_state, d.actions), (S::Deleted, vec![]));
}

#[test]
fn final_cleanup_waits_for_backups_and_operations() {
    let mut o = cleanup_obs();
    o.backups = vec![
        ("b1".into(), BackupState::BackupSucceeded),
        ("b2".into(), BackupState::DeletionRequested),
        ("b3".into(), BackupState::Deleted),
    ];
    let d = run(S::DeletionInProgress, &o);
    assert_eq!(d.next_state, S::DeletionFinalCleanup);
    assert_eq!(d.actions[1..], [A::DeleteBackup { id: "b1".into() }]);
    assert_eq!(d.problem, None);

    o.backups[0].1 = BackupState::DeletionFailed;
    let d = run(S::DeletionFinalCleanup, &o);
    assert_eq!(d.next_state, S::DeletionFailed);
    assert!(d.problem.is_some());

    // Keeping filestore data keeps the backups.
    o.settings.keep_filestore_data = true;
    assert_eq!(run(S::DeletionFinalCleanup, &o).next_state, S::Deleted);

    let mut o = cleanup_obs();
    o.restorations = vec![
        ("r1".into(), RestorationState::Succeeded),
        ("r2".into(), RestorationState::Deleted),
    ];
    o.migrations = vec![("m1".into(), MigrationState::Committed)];
    let d = run(S::DeletionFinalCleanup, &o);
    assert_eq!(d.next_state, S::DeletionFinalCleanup);
    assert_eq!(
        d.actions[1..],
        [
            A::DeleteRestoration { id: "r1".into() },
            A::DeleteMigration { id: "m1".into() }
        ]
    );
    o.restorations[0].1 = RestorationState::Deleted;
    o.migrations[0].1 = MigrationState::Deleted;
    assert_eq!(run(S::DeletionFinalCleanup, &o).next_state, S::Deleted);
}

#[test]
fn stable_and_hibernating_repair_dns_drift_only() {
    for state in [S::Stable, S::Hibernating] {
        let mut o = obs(vec![ci("a", Ci::Stable)]);
        let d = run(state, &o);
        assert_eq!(
            (d.next_state, d.actions),
            (state, vec![upsert(&["a.example.com"])])
        );
        o.dns = dns(DnsStatus::Unknown);
        assert!(run(state, &o).is_noop(state));
        o.dns = dns(DnsStatus::Stale);
        o.settings.disable_dns_updates = true;
        assert!(run(state, &o).is_noop(state));
    }
}

#[test]
fn states_without_work_are_left_alone() {
    for state in S::ALL.iter().copied().filter(|s| !s.is_pending_work()) {
        if matches!(state, S::Stable | S::Hibernating) {
            continue;
        }
        let d = run(state, &obs(vec![ci("a", Ci::Stable)]));
        assert!(d.is_noop(state), "{state}: {d:?}");
    }
    // Every pending-work state has a rule that is not "idle".
    for (state, _) in cloud_model::installation::PENDING_WORK_STATES {
        assert_ne!(
            run(state, &obs(vec![ci("a", Ci::Stable)])).step,
            "idle",
            "{state}"
        );
    }
}

#[test]
fn failures_resume_or_fail_by_class() {
    let t = ErrorClass::Transient;
    let p = ErrorClass::Permanent;
    let create = A::CreateClusterInstallation {
        cluster_id: "c".into(),
    };
    let dns = upsert(&["a"]);
    let apply = A::ApplyClusterInstallation { id: "x".into() };
    let teardown = A::TeardownDatabase { keep_data: false };
    let mark = A::DeleteClusterInstallation { id: "x".into() };
    let table = [
        (S::CreationRequested, &create, t, S::CreationRequested),
        (
            S::CreationNoCompatibleClusters,
            &create,
            t,
            S::CreationNoCompatibleClusters,
        ),
        (
            S::CreationRequested,
            &A::ProvisionDatabase,
            t,
            S::CreationPreProvisioning,
        ),
        (S::CreationRequested, &dns, t, S::CreationConfiguringDns),
        (S::CreationInProgress, &dns, t, S::CreationConfiguringDns),
        (
            S::CreationRequested,
            &A::ProvisionFilestore,
            p,
            S::CreationFailed,
        ),
        (
            S::CreationConfiguringDns,
            &dns,
            ErrorClass::User,
            S::CreationFailed,
        ),
        (S::UpdateRequested, &apply, t, S::UpdateRequested),
        (S::UpdateRequested, &apply, p, S::UpdateFailed),
        (
            S::WakeUpRequested,
            &A::RefreshDatabaseMetadata,
            p,
            S::UpdateFailed,
        ),
        (S::UpdateInProgress, &dns, p, S::UpdateFailed),
        (S::HibernationRequested, &apply, p, S::HibernationRequested),
        (
            S::DeletionPendingRequested,
            &apply,
            p,
            S::DeletionPendingRequested,
        ),
        (S::DeletionRequested, &mark, t, S::DeletionRequested),
        (S::DeletionInProgress, &teardown, t, S::DeletionFinalCleanup),
        (S::DeletionInProgress, &teardown, p, S::DeletionFailed),
        (
            S::DeletionFinalCleanup,
            &teardown,
            t,
            S::DeletionFinalCleanup,
        ),
        (S::Stable, &dns, p, S::Stable),
    ];
    for (from, action, class, expected) in table {
        assert_eq!(
            state_after_failure(from, action, class),
            expected,
            "{from} {action:?} {class}"
        );
    }
}

#[test]
fn placement_input_is_needed_only_to_place() {
    assert!(needs_placement(S::CreationRequested, &[]));
    assert!(needs_placement(
        S::CreationInProgress,
        &[ci("a", Ci::Deleted)]
    ));
    assert!(!needs_placement(
        S::CreationRequested,
        &[ci("a", Ci::Stable)]
    ));
    assert!(!needs_placement(S::UpdateRequested, &[]));
}

/// The event pairs the original's e2e suite expects (original-interfaces
/// §5.5), produced by the machine with an ideal cloud.
#[test]
fn happy_paths_emit_exactly_the_e2e_event_sequences() {
    let mut w = World::new(1);
    w.inst.group_id = None;
    let run_until = |w: &mut World, state: S| {
        for _ in 0..20 {
            if w.inst.state == state {
                return;
            }
            w.pass();
            // The cluster-installation supervisor, deterministic here.
            for i in 0..w.cis.len() {
                let next = match w.cis[i].state {
                    Ci::CreationRequested | Ci::Ready => Ci::Reconciling,
                    Ci::Reconciling => Ci::Stable,
                    Ci::DeletionRequested => Ci::Deleted,
                    other => other,
                };
                let (id, old) = (w.cis[i].id.clone(), w.cis[i].state);
                if next != old {
                    w.cis[i].state = next;
                    w.cis[i].deleted = next == Ci::Deleted;
                    w.events.push((
                        "cluster_installation",
                        id,
                        old.to_string(),
                        next.to_string(),
                    ));
                }
            }
        }
        panic!("never reached {state}: {:?}", w.events);
    };
    run_until(&mut w, S::Stable);
    w.request_deletion();
    run_until(&mut w, S::DeletionPending);
    w.set_state(S::DeletionRequested); // the deletion supervisor
    run_until(&mut w, S::Deleted);

    let e = |t: &'static str, id: &str, old: &str, new: &str| {
        (t, id.to_string(), old.to_string(), new.to_string())
    };
    let i = |old: &str, new: &str| e("installation", "inst", old, new);
    let c = |old: &str, new: &str| e("cluster_installation", "ci1", old, new);
    let expected = vec![
        i("n/a", "creation-requested"),
        c("n/a", "creation-requested"),
        i("creation-requested", "creation-in-progress"),
        c("creation-requested", "reconciling"),
        c("reconciling", "stable"),
        i("creation-in-progress", "stable"),
        i("stable", "deletion-pending-requested"),
        i("deletion-pending-requested", "deletion-pending-in-progress"),
        i("deletion-pending-in-progress", "deletion-pending"),
        i("deletion-pending", "deletion-requested"),
        c("stable", "deletion-requested"),
        i("deletion-requested", "deletion-in-progress"),
        c("deletion-requested", "deleted"),
        i("deletion-in-progress", "deleted"),
    ];
    // The installation's own events are exactly these (no internal state
    // leaks out)…
    let installation: Vec<_> = w
        .events
        .iter()
        .filter(|e| e.0 == "installation")
        .cloned()
        .collect();
    let expected_installation: Vec<_> = expected
        .iter()
        .filter(|e| e.0 == "installation")
        .cloned()
        .collect();
    assert_eq!(installation, expected_installation);
    // …and the whole expected list appears in order (VerifyInOrder).
    let mut rest = expected.iter().peekable();
    for event in &w.events {
        if rest.peek() == Some(&event) {
            rest.next();
        }
    }
    assert_eq!(rest.next(), None, "events: {:#?}", w.events);
    assert!(w.leftovers().is_empty(), "{:?}", w.leftovers());
}
