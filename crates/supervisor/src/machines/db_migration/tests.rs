use super::*;
use crate::machines::test_rng::Rng;
use MigrationAction as A;
use cloud_model::db_migration::MultiTenantDBMigrationData;

fn op(state: M) -> InstallationDBMigrationOperation {
    InstallationDBMigrationOperation {
        id: "m".into(),
        installation_id: "i".into(),
        state,
        source_database: DatabaseType::AwsMultitenantRdsPostgres,
        destination_database: DatabaseType::AwsMultitenantRdsPostgres,
        source_multi_tenant: Some(MultiTenantDBMigrationData {
            database_id: "src".into(),
        }),
        destination_multi_tenant: Some(MultiTenantDBMigrationData {
            database_id: "dst".into(),
        }),
        ..Default::default()
    }
}

fn obs() -> MigrationObservation {
    MigrationObservation {
        now: 42,
        installation_state: Some(S::DbMigrationInProgress),
        cluster_installations: vec!["ci1".into(), "ci2".into()],
        ..Default::default()
    }
}

#[test]
fn requested_triggers_one_backup() {
    let d = decide(&op(M::Requested), &obs());
    assert_eq!(
        (d.next_state, d.actions),
        (M::BackupInProgress, vec![A::TriggerBackup])
    );
    let mut o = op(M::Requested);
    o.backup_id = "b".into();
    let with_backup = MigrationObservation {
        backup: Some(BackupState::BackupRequested),
        ..obs()
    };
    assert_eq!(decide(&o, &with_backup).actions, []);
    let stable = MigrationObservation {
        installation_state: Some(S::Stable),
        ..obs()
    };
    let d = decide(&op(M::Requested), &stable);
    assert_eq!((d.next_state, d.actions.len()), (M::Requested, 0));
}

#[test]
fn backup_outcome_decides() {
    let table = [
        (Some(BackupState::BackupSucceeded), M::DatabaseSwitch),
        (Some(BackupState::BackupInProgress), M::BackupInProgress),
        (Some(BackupState::BackupRequested), M::BackupInProgress),
        (Some(BackupState::BackupFailed), M::Failing),
        (Some(BackupState::Deleted), M::Failing),
        (None, M::Failing),
    ];
    for (backup, expected) in table {
        let d = decide(
            &op(M::BackupInProgress),
            &MigrationObservation { backup, ..obs() },
        );
        assert_eq!(d.next_state, expected, "{backup:?}");
    }
}

#[test]
fn database_switch_moves_membership_once() {
    let d = decide(&op(M::DatabaseSwitch), &obs());
    assert_eq!(d.next_state, M::RefreshSecrets);
    assert_eq!(
        d.actions,
        [
            A::MigrateOutOfSource {
                database_id: "src".into()
            },
            A::MigrateIntoDestination {
                database_id: "dst".into()
            },
            A::SetInstallationDatabase {
                database: DatabaseType::AwsMultitenantRdsPostgres
            },
        ]
    );
    let done = MigrationObservation {
        in_source: Presence::Absent,
        in_destination: Presence::Present,
        ..obs()
    };
    assert_eq!(decide(&op(M::DatabaseSwitch), &done).actions.len(), 1);
    let mut broken = op(M::DatabaseSwitch);
    broken.destination_multi_tenant = None;
    assert_eq!(decide(&broken, &obs()).next_state, M::Failing);
}

#[test]
fn secrets_restoration_and_config() {
    let d = decide(&op(M::RefreshSecrets), &obs());
    assert_eq!(d.next_state, M::TriggerRestoration);
    assert_eq!(d.actions.len(), 2);

    let mut o = op(M::TriggerRestoration);
    o.backup_id = "b".into();
    let ok = MigrationObservation {
        backup: Some(BackupState::BackupSucceeded),
        ..obs()
    };
    let d = decide(&o, &ok);
    assert_eq!(
        (d.next_state, d.actions),
        (
            M::RestorationInProgress,
            vec![A::TriggerRestoration {
                backup_id: "b".into()
            }]
        )
    );
    o.installation_db_restoration_operation_id = "r".into();
    let existing = MigrationObservation {
        restoration: Some(RestorationState::Requested),
        ..ok.clone()
    };
    assert_eq!(decide(&o, &existing).actions, []);
    assert_eq!(decide(&o, &obs()).next_state, M::Failing);

    let table = [
        (
            Some(RestorationState::Succeeded),
            M::UpdatingInstallationConfig,
        ),
        (Some(RestorationState::InProgress), M::RestorationInProgress),
        (Some(RestorationState::Failing), M::RestorationInProgress),
        (Some(RestorationState::Failed), M::Failing),
        (Some(RestorationState::Invalid), M::Failing),
        (Some(RestorationState::Deleted), M::Failing),
        (None, M::Failing),
    ];
    for (restoration, expected) in table {
        let o = MigrationObservation {
            restoration,
            ..obs()
        };
        assert_eq!(
            decide(&op(M::RestorationInProgress), &o).next_state,
            expected
        );
    }

    let d = decide(&op(M::UpdatingInstallationConfig), &obs());
    assert_eq!(
        (d.next_state, d.actions),
        (
            M::Finalizing,
            vec![A::RunConfigUpdateJob {
                cluster_installation_id: "ci1".into()
            }]
        )
    );
    let none = MigrationObservation {
        cluster_installations: vec![],
        ..obs()
    };
    assert_eq!(
        decide(&op(M::UpdatingInstallationConfig), &none).next_state,
        M::UpdatingInstallationConfig
    );
}

#[test]
fn endings_rollback_and_deletion() {
    let d = decide(&op(M::Finalizing), &obs());
    assert_eq!(d.next_state, M::Succeeded);
    assert_eq!(
        d.actions,
        [
            A::SetInstallationState {
                state: S::Hibernating
            },
            A::SetCompleteAt { at: 42 }
        ]
    );
    let d = decide(&op(M::Failing), &obs());
    assert_eq!(
        (d.next_state, d.actions),
        (
            M::Failed,
            vec![A::SetInstallationState {
                state: S::DbMigrationFailed
            }]
        )
    );
    let d = decide(&op(M::RollbackRequested), &obs());
    assert_eq!(d.next_state, M::RollbackFinished);
    assert_eq!(
        d.actions.first(),
        Some(&A::RollbackDestination {
            database_id: "dst".into()
        })
    );
    assert_eq!(
        d.actions.last(),
        Some(&A::SetInstallationState {
            state: S::Hibernating
        })
    );
    let d = decide(&op(M::DeletionRequested), &obs());
    assert_eq!(
        (d.next_state, d.actions),
        (
            M::Deleted,
            vec![A::TeardownMigratedSource {
                database_id: "src".into()
            }]
        )
    );
    let clean = MigrationObservation {
        source_holds_migrated_data: Presence::Absent,
        installation_state: None,
        ..obs()
    };
    assert_eq!(decide(&op(M::DeletionRequested), &clean).actions, []);
    let gone = MigrationObservation {
        installation_state: None,
        ..obs()
    };
    assert_eq!(decide(&op(M::DatabaseSwitch), &gone).next_state, M::Failed);
    for s in [
        M::Succeeded,
        M::Failed,
        M::Committed,
        M::RollbackFinished,
        M::Deleted,
    ] {
        assert_eq!(decide(&op(s), &obs()).next_state, s);
    }
    let a = A::TriggerBackup;
    assert_eq!(
        state_after_failure(M::DatabaseSwitch, &a, ErrorClass::Permanent),
        M::Failing
    );
    assert_eq!(
        state_after_failure(M::DatabaseSwitch, &a, ErrorClass::Transient),
        M::DatabaseSwitch
    );
    assert_eq!(
        state_after_failure(M::Failing, &a, ErrorClass::User),
        M::Failed
    );
    assert_eq!(
        state_after_failure(M::RollbackRequested, &a, ErrorClass::Permanent),
        M::RollbackRequested
    );
}

/// A simulated migration with transient failures, slow jobs and partial
/// observations: it always ends succeeded with the installation moved, the
/// backup and the restoration are created exactly once, and a rollback
/// puts everything back.
#[test]
fn random_runs_migrate_then_roll_back() {
    for seed in 0..400 {
        let mut rng = Rng::new(seed);
        let mut op = op(M::Requested);
        let (mut in_src, mut in_dst) = (true, false);
        let mut backup: Option<BackupState> = None;
        let mut restoration: Option<RestorationState> = None;
        let mut installation = S::DbMigrationInProgress;
        let (mut backups, mut restorations) = (0, 0);
        let observe = |known: bool, present: bool| match (known, present) {
            (false, _) => Presence::Unknown,
            (true, true) => Presence::Present,
            (true, false) => Presence::Absent,
        };
        for _ in 0..300 {
            if matches!(op.state, M::Succeeded) && rng.chance(30) {
                op.state = M::RollbackRequested;
                installation = S::DbMigrationRollbackInProgress;
            }
            let o = MigrationObservation {
                now: 1,
                installation_state: Some(installation),
                backup,
                restoration,
                cluster_installations: vec!["ci".into()],
                in_source: observe(rng.chance(70), in_src),
                in_destination: observe(rng.chance(70), in_dst),
                source_holds_migrated_data: Presence::Unknown,
            };
            let d = decide(&op, &o);
            let mut failed = None;
            for a in &d.actions {
                if rng.chance(10) {
                    failed = Some(a.clone());
                    break;
                }
                match a {
                    A::TriggerBackup => {
                        backups += 1;
                        backup = Some(BackupState::BackupRequested);
                        op.backup_id = "b".into();
                    }
                    A::TriggerRestoration { .. } => {
                        restorations += 1;
                        restoration = Some(RestorationState::Requested);
                        op.installation_db_restoration_operation_id = "r".into();
                    }
                    A::MigrateOutOfSource { .. } => in_src = false,
                    A::MigrateIntoDestination { .. } => in_dst = true,
                    A::RollbackDestination { .. } => (in_src, in_dst) = (true, false),
                    A::SetInstallationState { state } => installation = *state,
                    _ => {}
                }
            }
            op.state = match failed {
                Some(a) => state_after_failure(op.state, &a, ErrorClass::Transient),
                None => d.next_state,
            };
            if op.state == M::Succeeded {
                assert!(!in_src && in_dst, "seed {seed}: succeeded before moving");
                assert_eq!(installation, S::Hibernating, "seed {seed}");
            }
            // The backup and restoration supervisors make progress.
            if rng.chance(50) {
                backup = backup.map(|b| match b {
                    BackupState::BackupRequested => BackupState::BackupInProgress,
                    _ => BackupState::BackupSucceeded,
                });
                restoration = restoration.map(|r| match r {
                    RestorationState::Requested => RestorationState::InProgress,
                    _ => RestorationState::Succeeded,
                });
            }
            if op.state == M::RollbackFinished {
                break;
            }
        }
        assert_eq!(op.state, M::RollbackFinished, "seed {seed}");
        assert_eq!((backups, restorations), (1, 1), "seed {seed}");
        assert!(in_src && !in_dst, "seed {seed}");
        assert_eq!(installation, S::Hibernating, "seed {seed}");
    }
}
