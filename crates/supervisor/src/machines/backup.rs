//! The installation backup machine (original-core §3.5).
//!
//! - `backup-requested`: the installation must exist (else
//!   **backup-failed**), be hibernating or migrating (else wait) and use a
//!   database and filestore that support backups (else **backup-failed**, a
//!   user error the original retried forever); the job is created on the
//!   first live cluster installation → **backup-in-progress**.
//! - `backup-in-progress`: job succeeded → `StartAt` = job start,
//!   **backup-succeeded**; failed past its backoff limit → **backup-failed**;
//!   running → wait; vanished → created again.
//! - `deletion-requested`: delete the job, then the S3 object (only
//!   `s3.amazonaws.com` is supported, else **deletion-failed**) →
//!   **deleted** (the engine soft-deletes the row).
//!
//! A job or object already observed is not created or deleted twice.

use super::{ErrorClass, JobStatus, Presence};
use cloud_model::backup::{BackupState as B, InstallationBackup, ensure_backup_restore_compatible};
use cloud_model::installation::{DatabaseType, FilestoreType, InstallationState as S};

/// The only backup storage the original deletes from.
pub const SUPPORTED_BACKUP_URL: &str = "s3.amazonaws.com";

/// The parts of the installation a backup depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInstallation {
    pub state: S,
    pub database: DatabaseType,
    pub filestore: FilestoreType,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupObservation {
    /// `None` when the installation is missing.
    pub installation: Option<BackupInstallation>,
    /// The installation's first live cluster installation.
    pub first_cluster_installation: Option<String>,
    /// The job `database-backup-<backupID>`.
    pub job: JobStatus,
    /// The backup's S3 object.
    pub object: Presence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupAction {
    /// Create the backup job on this cluster installation and persist
    /// `ClusterInstallationID` and `DataResidence`.
    TriggerBackupJob { cluster_installation_id: String },
    /// Persist `StartAt`.
    SetStartAt { at: i64 },
    /// Delete the job (not-found is fine).
    DeleteBackupJob,
    /// Delete the S3 object `DataResidence.Bucket/FullPath`.
    DeleteBackupObject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupDecision {
    pub next_state: B,
    pub actions: Vec<BackupAction>,
    pub step: &'static str,
    /// A problem the pass found (recorded as the last error); `None` while
    /// the machine merely waits.
    pub problem: Option<String>,
}

fn decision(
    next_state: B,
    actions: Vec<BackupAction>,
    step: &'static str,
    problem: Option<String>,
) -> BackupDecision {
    BackupDecision {
        next_state,
        actions,
        step,
        problem,
    }
}

/// One pass over a backup.
pub fn decide(backup: &InstallationBackup, obs: &BackupObservation) -> BackupDecision {
    let state = backup.state;
    let cluster_installation = (!backup.cluster_installation_id.is_empty())
        .then(|| backup.cluster_installation_id.clone())
        .or_else(|| obs.first_cluster_installation.clone());
    match state {
        B::BackupRequested => {
            let Some(inst) = obs.installation else {
                let problem = Some("the installation does not exist".to_string());
                return decision(B::BackupFailed, Vec::new(), "check-installation", problem);
            };
            if let Err(e) = ensure_backup_restore_compatible(inst.database, inst.filestore) {
                return decision(
                    B::BackupFailed,
                    Vec::new(),
                    "check-installation",
                    Some(e.message),
                );
            }
            if !matches!(inst.state, S::Hibernating | S::DbMigrationInProgress) {
                return decision(state, Vec::new(), "check-installation", None);
            }
            if obs.job != JobStatus::NotFound {
                // Triggered before a crash: do not create it twice.
                return decision(B::BackupInProgress, Vec::new(), "wait-job", None);
            }
            let Some(cluster_installation_id) = cluster_installation else {
                let problem = Some("the installation has no cluster installation".to_string());
                return decision(state, Vec::new(), "trigger-job", problem);
            };
            let actions = vec![BackupAction::TriggerBackupJob {
                cluster_installation_id,
            }];
            decision(B::BackupInProgress, actions, "wait-job", None)
        }
        B::BackupInProgress => match obs.job {
            JobStatus::Succeeded { started_at, .. } => {
                let actions = vec![BackupAction::SetStartAt { at: started_at }];
                decision(B::BackupSucceeded, actions, "done", None)
            }
            JobStatus::Failed => {
                let problem = Some("the backup job failed".to_string());
                decision(B::BackupFailed, Vec::new(), "wait-job", problem)
            }
            JobStatus::Running => decision(state, Vec::new(), "wait-job", None),
            JobStatus::NotFound => {
                let Some(cluster_installation_id) = cluster_installation else {
                    let problem = Some(
                        "the backup job is gone and there is no cluster installation".to_string(),
                    );
                    return decision(state, Vec::new(), "trigger-job", problem);
                };
                let actions = vec![BackupAction::TriggerBackupJob {
                    cluster_installation_id,
                }];
                decision(state, actions, "wait-job", None)
            }
        },
        B::DeletionRequested => {
            let mut actions = Vec::new();
            if obs.job != JobStatus::NotFound {
                actions.push(BackupAction::DeleteBackupJob);
            }
            if let Some(residence) = &backup.data_residence {
                if residence.url != SUPPORTED_BACKUP_URL {
                    let problem = Some(format!(
                        "deleting backups stored at {:?} is not supported",
                        residence.url
                    ));
                    return decision(B::DeletionFailed, actions, "delete-object", problem);
                }
                if obs.object != Presence::Absent {
                    actions.push(BackupAction::DeleteBackupObject);
                }
            }
            decision(B::Deleted, actions, "done", None)
        }
        other => decision(other, Vec::new(), "idle", None),
    }
}

/// The state to persist when an action of a pass from `from` failed.
pub fn state_after_failure(from: B, _action: &BackupAction, class: ErrorClass) -> B {
    if class.is_retryable() {
        return from;
    }
    match from {
        B::BackupRequested | B::BackupInProgress => B::BackupFailed,
        B::DeletionRequested => B::DeletionFailed,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_model::backup::S3DataResidence;

    fn backup(state: B) -> InstallationBackup {
        InstallationBackup {
            id: "b".into(),
            installation_id: "i".into(),
            state,
            ..Default::default()
        }
    }

    fn ready() -> BackupObservation {
        BackupObservation {
            installation: Some(BackupInstallation {
                state: S::Hibernating,
                database: DatabaseType::AwsMultitenantRdsPostgres,
                filestore: FilestoreType::Bifrost,
            }),
            first_cluster_installation: Some("ci".into()),
            ..Default::default()
        }
    }

    #[test]
    fn requested_backup_triggers_the_job_once() {
        let d = decide(&backup(B::BackupRequested), &ready());
        assert_eq!(d.next_state, B::BackupInProgress);
        assert_eq!(
            d.actions,
            [BackupAction::TriggerBackupJob {
                cluster_installation_id: "ci".into()
            }]
        );
        let mut obs = ready();
        obs.job = JobStatus::Running;
        let d = decide(&backup(B::BackupRequested), &obs);
        assert_eq!((d.next_state, d.actions.len()), (B::BackupInProgress, 0));
    }

    #[test]
    fn requested_backup_checks_the_installation() {
        let mut obs = ready();
        obs.installation = None;
        assert_eq!(
            decide(&backup(B::BackupRequested), &obs).next_state,
            B::BackupFailed
        );

        for (state, db, fs, expected) in [
            (
                S::DbMigrationInProgress,
                DatabaseType::AwsMultitenantRdsPostgres,
                FilestoreType::Bifrost,
                B::BackupInProgress,
            ),
            (
                S::Stable,
                DatabaseType::AwsMultitenantRdsPostgres,
                FilestoreType::Bifrost,
                B::BackupRequested,
            ),
            (
                S::Hibernating,
                DatabaseType::AwsRds,
                FilestoreType::Bifrost,
                B::BackupFailed,
            ),
            (
                S::Hibernating,
                DatabaseType::AwsRdsPostgres,
                FilestoreType::MinioOperator,
                B::BackupFailed,
            ),
        ] {
            let mut obs = ready();
            obs.installation = Some(BackupInstallation {
                state,
                database: db,
                filestore: fs,
            });
            let d = decide(&backup(B::BackupRequested), &obs);
            assert_eq!(d.next_state, expected, "{state} {db} {fs}");
        }
        let mut obs = ready();
        obs.first_cluster_installation = None;
        let d = decide(&backup(B::BackupRequested), &obs);
        assert_eq!((d.next_state, d.actions.len()), (B::BackupRequested, 0));
        assert!(d.problem.is_some());
    }

    #[test]
    fn in_progress_follows_the_job() {
        let mut b = backup(B::BackupInProgress);
        b.cluster_installation_id = "claimed".into();
        let table = [
            (
                JobStatus::Succeeded {
                    started_at: 7,
                    completed_at: 9,
                },
                B::BackupSucceeded,
                vec![BackupAction::SetStartAt { at: 7 }],
            ),
            (JobStatus::Failed, B::BackupFailed, vec![]),
            (JobStatus::Running, B::BackupInProgress, vec![]),
            (
                JobStatus::NotFound,
                B::BackupInProgress,
                vec![BackupAction::TriggerBackupJob {
                    cluster_installation_id: "claimed".into(),
                }],
            ),
        ];
        for (job, state, actions) in table {
            let obs = BackupObservation { job, ..ready() };
            let d = decide(&b, &obs);
            assert_eq!((d.next_state, d.actions), (state, actions), "{job:?}");
        }
    }

    #[test]
    fn deletion_removes_job_and_object() {
        let mut b = backup(B::DeletionRequested);
        let obs = BackupObservation {
            job: JobStatus::Succeeded {
                started_at: 1,
                completed_at: 2,
            },
            ..ready()
        };
        // Never ran: nothing stored.
        assert_eq!(
            decide(&b, &BackupObservation::default()).next_state,
            B::Deleted
        );
        b.data_residence = Some(S3DataResidence {
            url: SUPPORTED_BACKUP_URL.into(),
            ..Default::default()
        });
        let d = decide(&b, &obs);
        assert_eq!(d.next_state, B::Deleted);
        assert_eq!(
            d.actions,
            [
                BackupAction::DeleteBackupJob,
                BackupAction::DeleteBackupObject
            ]
        );
        let gone = BackupObservation {
            object: Presence::Absent,
            ..Default::default()
        };
        assert!(decide(&b, &gone).actions.is_empty());
        b.data_residence = Some(S3DataResidence {
            url: "minio.local".into(),
            ..Default::default()
        });
        assert_eq!(decide(&b, &obs).next_state, B::DeletionFailed);
    }

    #[test]
    fn terminal_states_are_idle_and_failures_map() {
        for s in [
            B::BackupSucceeded,
            B::BackupFailed,
            B::DeletionFailed,
            B::Deleted,
        ] {
            let d = decide(&backup(s), &ready());
            assert_eq!((d.next_state, d.actions.len()), (s, 0));
        }
        let a = BackupAction::DeleteBackupJob;
        assert_eq!(
            state_after_failure(B::BackupRequested, &a, ErrorClass::Transient),
            B::BackupRequested
        );
        assert_eq!(
            state_after_failure(B::BackupInProgress, &a, ErrorClass::Permanent),
            B::BackupFailed
        );
        assert_eq!(
            state_after_failure(B::DeletionRequested, &a, ErrorClass::User),
            B::DeletionFailed
        );
    }
}
