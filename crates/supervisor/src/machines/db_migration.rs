//! The database migration machine (original-core §3.7): multitenant
//! Postgres to multitenant Postgres, backup → switch → refresh secrets →
//! restore → config job → hibernating, with rollback and deletion.
//!
//! | state | actions | next |
//! |---|---|---|
//! | requested | create the backup (persist `BackupID`) | installation-backup-in-progress |
//! | installation-backup-in-progress | — (succeeded / failed / wait) | database switch / failing |
//! | database switch | migrate out of the source, into the destination, set the installation's database | refresh-secrets |
//! | refresh-secrets | refresh secrets on every live cluster installation | trigger-restoration |
//! | trigger-restoration | create the restoration (persist its ID) | restoration-in-progress |
//! | restoration-in-progress | — (succeeded / failed or invalid / wait) | updating-installation-config / failing |
//! | updating-installation-config | config job on the first cluster installation | finalizing |
//! | finalizing | installation → hibernating, `CompleteAt` | succeeded |
//! | failing | installation → db-migration-failed | failed |
//! | rollback-requested | roll the destination back, restore the source database type, refresh secrets, installation → hibernating | rollback-finished |
//! | deletion-requested | drop the migrated source data | deleted |
//!
//! A backup or restoration already created is not created again; database
//! membership observed done is not redone. A missing installation fails the
//! operation; an operation without its database IDs goes to failing.

use super::{ErrorClass, Presence};
use cloud_model::backup::BackupState;
use cloud_model::db_migration::{InstallationDBMigrationOperation, MigrationState as M};
use cloud_model::db_restoration::RestorationState;
use cloud_model::installation::{DatabaseType, InstallationState as S};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationObservation {
    pub now: i64,
    /// The installation's state; `None` when it is missing.
    pub installation_state: Option<S>,
    /// State of the operation's backup; `None` when unset or missing.
    pub backup: Option<BackupState>,
    /// State of the operation's restoration; `None` when unset or missing.
    pub restoration: Option<RestorationState>,
    /// Live cluster installations, first one first.
    pub cluster_installations: Vec<String>,
    /// The installation is in the source database's `Installations`.
    pub in_source: Presence,
    /// The installation is in the destination database's `Installations`.
    pub in_destination: Presence,
    /// The installation is in the source database's `MigratedInstallations`
    /// (its old data is still there).
    pub source_holds_migrated_data: Presence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationAction {
    /// Create a backup of the installation and persist `BackupID`.
    TriggerBackup,
    MigrateOutOfSource {
        database_id: String,
    },
    MigrateIntoDestination {
        database_id: String,
    },
    /// Persist the installation's database type.
    SetInstallationDatabase {
        database: DatabaseType,
    },
    RefreshSecrets {
        cluster_installation_id: String,
    },
    /// Create the restoration (installation → db-restoration-in-progress,
    /// target db-migration-in-progress) and persist its ID.
    TriggerRestoration {
        backup_id: String,
    },
    RunConfigUpdateJob {
        cluster_installation_id: String,
    },
    SetInstallationState {
        state: S,
    },
    SetCompleteAt {
        at: i64,
    },
    RollbackDestination {
        database_id: String,
    },
    TeardownMigratedSource {
        database_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationDecision {
    pub next_state: M,
    pub actions: Vec<MigrationAction>,
    pub step: &'static str,
    /// A problem the pass found (recorded as the last error); `None` while
    /// the machine merely waits.
    pub problem: Option<String>,
}

fn decision(
    next_state: M,
    actions: Vec<MigrationAction>,
    step: &'static str,
    problem: Option<String>,
) -> MigrationDecision {
    MigrationDecision {
        next_state,
        actions,
        step,
        problem,
    }
}

fn wait(state: M, step: &'static str, problem: impl Into<String>) -> MigrationDecision {
    decision(state, Vec::new(), step, Some(problem.into()))
}

/// One pass over a migration operation.
pub fn decide(
    op: &InstallationDBMigrationOperation,
    obs: &MigrationObservation,
) -> MigrationDecision {
    use MigrationAction as A;
    let state = op.state;
    let source = op
        .source_multi_tenant
        .as_ref()
        .map(|d| d.database_id.clone());
    let destination = op
        .destination_multi_tenant
        .as_ref()
        .map(|d| d.database_id.clone());
    let refresh = |actions: &mut Vec<A>| {
        for ci in &obs.cluster_installations {
            actions.push(A::RefreshSecrets {
                cluster_installation_id: ci.clone(),
            });
        }
    };
    let works_on_installation = state.is_pending_work() && state != M::DeletionRequested;
    if works_on_installation && state != M::Failing && obs.installation_state.is_none() {
        return decision(
            M::Failed,
            Vec::new(),
            "check-installation",
            Some("the installation does not exist".into()),
        );
    }
    match state {
        M::Requested => {
            if obs
                .installation_state
                .is_some_and(|s| !matches!(s, S::Hibernating | S::DbMigrationInProgress))
            {
                return decision(state, Vec::new(), "backup", None);
            }
            let mut actions = Vec::new();
            if op.backup_id.is_empty() || obs.backup.is_none() {
                actions.push(A::TriggerBackup);
            }
            decision(M::BackupInProgress, actions, "wait-backup", None)
        }
        M::BackupInProgress => match obs.backup {
            Some(BackupState::BackupSucceeded) => {
                decision(M::DatabaseSwitch, Vec::new(), "database-switch", None)
            }
            Some(BackupState::BackupRequested | BackupState::BackupInProgress) => {
                decision(state, Vec::new(), "wait-backup", None)
            }
            other => {
                let what = other.map_or("missing".to_string(), |s| s.to_string());
                decision(
                    M::Failing,
                    Vec::new(),
                    "wait-backup",
                    Some(format!("the backup is {what}")),
                )
            }
        },
        M::DatabaseSwitch => {
            let (Some(source), Some(destination)) = (source, destination) else {
                return decision(
                    M::Failing,
                    Vec::new(),
                    "database-switch",
                    Some("the operation names no source or destination database".into()),
                );
            };
            let mut actions = Vec::new();
            if obs.in_source != Presence::Absent {
                actions.push(A::MigrateOutOfSource {
                    database_id: source,
                });
            }
            if obs.in_destination != Presence::Present {
                actions.push(A::MigrateIntoDestination {
                    database_id: destination,
                });
            }
            actions.push(A::SetInstallationDatabase {
                database: op.destination_database,
            });
            decision(M::RefreshSecrets, actions, "refresh-secrets", None)
        }
        M::RefreshSecrets => {
            let mut actions = Vec::new();
            refresh(&mut actions);
            decision(M::TriggerRestoration, actions, "trigger-restoration", None)
        }
        M::TriggerRestoration => {
            if obs.backup != Some(BackupState::BackupSucceeded) {
                return decision(
                    M::Failing,
                    Vec::new(),
                    "trigger-restoration",
                    Some("the backup is not available".into()),
                );
            }
            let mut actions = Vec::new();
            if op.installation_db_restoration_operation_id.is_empty() || obs.restoration.is_none() {
                actions.push(A::TriggerRestoration {
                    backup_id: op.backup_id.clone(),
                });
            }
            decision(M::RestorationInProgress, actions, "wait-restoration", None)
        }
        M::RestorationInProgress => match obs.restoration {
            Some(RestorationState::Succeeded) => decision(
                M::UpdatingInstallationConfig,
                Vec::new(),
                "update-config",
                None,
            ),
            Some(
                RestorationState::Requested
                | RestorationState::InProgress
                | RestorationState::Finishing
                | RestorationState::Failing,
            ) => decision(state, Vec::new(), "wait-restoration", None),
            other => {
                let what = other.map_or("missing".to_string(), |s| s.to_string());
                let problem = Some(format!("the restoration is {what}"));
                decision(M::Failing, Vec::new(), "wait-restoration", problem)
            }
        },
        M::UpdatingInstallationConfig => match obs.cluster_installations.first() {
            Some(ci) => {
                let actions = vec![A::RunConfigUpdateJob {
                    cluster_installation_id: ci.clone(),
                }];
                decision(M::Finalizing, actions, "finalize", None)
            }
            None => wait(
                state,
                "update-config",
                "the installation has no cluster installation",
            ),
        },
        M::Finalizing => {
            let actions = vec![
                A::SetInstallationState {
                    state: S::Hibernating,
                },
                A::SetCompleteAt { at: obs.now },
            ];
            decision(M::Succeeded, actions, "done", None)
        }
        M::Failing => {
            let actions = (obs.installation_state.iter())
                .map(|_| A::SetInstallationState {
                    state: S::DbMigrationFailed,
                })
                .collect();
            decision(M::Failed, actions, "done", None)
        }
        M::RollbackRequested => {
            let (Some(_), Some(destination)) = (source, destination) else {
                return wait(
                    state,
                    "rollback",
                    "the operation names no source or destination database",
                );
            };
            let mut actions = Vec::new();
            let rolled_back =
                obs.in_source == Presence::Present && obs.in_destination == Presence::Absent;
            if !rolled_back {
                actions.push(A::RollbackDestination {
                    database_id: destination,
                });
            }
            actions.push(A::SetInstallationDatabase {
                database: op.source_database,
            });
            refresh(&mut actions);
            actions.push(A::SetInstallationState {
                state: S::Hibernating,
            });
            decision(M::RollbackFinished, actions, "done", None)
        }
        M::DeletionRequested => {
            let mut actions = Vec::new();
            if let Some(source) =
                source.filter(|_| obs.source_holds_migrated_data != Presence::Absent)
            {
                actions.push(A::TeardownMigratedSource {
                    database_id: source,
                });
            }
            decision(M::Deleted, actions, "done", None)
        }
        other => decision(other, Vec::new(), "idle", None),
    }
}

/// The state to persist when an action of a pass from `from` failed.
pub fn state_after_failure(from: M, _action: &MigrationAction, class: ErrorClass) -> M {
    if class.is_retryable() {
        return from;
    }
    match from {
        M::Requested
        | M::BackupInProgress
        | M::DatabaseSwitch
        | M::RefreshSecrets
        | M::TriggerRestoration
        | M::RestorationInProgress
        | M::UpdatingInstallationConfig
        | M::Finalizing => M::Failing,
        M::Failing => M::Failed,
        // No failure state for rollback and deletion: keep retrying.
        other => other,
    }
}

#[cfg(test)]
mod tests;
