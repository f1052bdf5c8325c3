//! The database restoration machine (original-core §3.6).
//!
//! - `requested`: claim the first live cluster installation (persisted on
//!   the operation), create the restore job → **in-progress**.
//! - `in-progress`: job succeeded → `CompleteAt` = job completion,
//!   **finishing**; failed past its backoff limit → **failing**; running →
//!   wait; vanished → created again.
//! - `finishing`: the installation goes back to `TargetInstallationState`
//!   (hibernating, or db-migration-in-progress for a migration) →
//!   **succeeded**.
//! - `failing`: the installation goes to `db-restoration-failed` →
//!   **failed**.
//! - `deletion-requested`: delete the restore job while the backup still
//!   exists → **deleted** (the engine soft-deletes the row).
//!
//! A missing installation fails the operation (the original could only
//! retry forever).

use super::{ErrorClass, JobStatus};
use cloud_model::db_restoration::{InstallationDBRestorationOperation, RestorationState as R};
use cloud_model::installation::InstallationState as S;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestorationObservation {
    /// The installation's state; `None` when it is missing.
    pub installation_state: Option<S>,
    /// The installation's first live cluster installation.
    pub first_cluster_installation: Option<String>,
    /// The job `database-restore-<backupID>`.
    pub job: JobStatus,
    /// The backup still exists (not soft-deleted).
    pub backup_exists: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestorationAction {
    /// Persist the operation's `ClusterInstallationID`.
    ClaimClusterInstallation {
        id: String,
    },
    /// Create the restore job on the cluster installation.
    TriggerRestoreJob {
        cluster_installation_id: String,
    },
    /// Persist `CompleteAt`.
    SetCompleteAt {
        at: i64,
    },
    /// Set the installation's state (with its event).
    SetInstallationState {
        state: S,
    },
    DeleteRestoreJob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorationDecision {
    pub next_state: R,
    pub actions: Vec<RestorationAction>,
    pub step: &'static str,
    /// A problem the pass found (recorded as the last error); `None` while
    /// the machine merely waits.
    pub problem: Option<String>,
}

fn decision(
    next_state: R,
    actions: Vec<RestorationAction>,
    step: &'static str,
    problem: Option<String>,
) -> RestorationDecision {
    RestorationDecision {
        next_state,
        actions,
        step,
        problem,
    }
}

/// One pass over a restoration operation.
pub fn decide(
    op: &InstallationDBRestorationOperation,
    obs: &RestorationObservation,
) -> RestorationDecision {
    use RestorationAction as A;
    let state = op.state;
    let needs_installation = matches!(state, R::Requested | R::InProgress | R::Finishing);
    if needs_installation && obs.installation_state.is_none() {
        let problem = Some("the installation does not exist".to_string());
        return decision(R::Failed, Vec::new(), "check-installation", problem);
    }
    let claimed =
        (!op.cluster_installation_id.is_empty()).then(|| op.cluster_installation_id.clone());
    match state {
        R::Requested | R::InProgress => {
            if state == R::InProgress {
                match obs.job {
                    JobStatus::Succeeded { completed_at, .. } => {
                        let actions = vec![A::SetCompleteAt { at: completed_at }];
                        return decision(R::Finishing, actions, "finish", None);
                    }
                    JobStatus::Failed => {
                        let problem = Some("the restore job failed".to_string());
                        return decision(R::Failing, Vec::new(), "wait-job", problem);
                    }
                    JobStatus::Running => return decision(state, Vec::new(), "wait-job", None),
                    JobStatus::NotFound => {}
                }
            } else if obs.job != JobStatus::NotFound {
                // Triggered before a crash: do not create it twice.
                return decision(R::InProgress, Vec::new(), "wait-job", None);
            }
            let mut actions = Vec::new();
            let ci = match (claimed, &obs.first_cluster_installation) {
                (Some(ci), _) => ci,
                (None, Some(first)) => {
                    actions.push(A::ClaimClusterInstallation { id: first.clone() });
                    first.clone()
                }
                (None, None) => {
                    let problem = Some("the installation has no cluster installation".to_string());
                    return decision(state, actions, "claim-cluster-installation", problem);
                }
            };
            actions.push(A::TriggerRestoreJob {
                cluster_installation_id: ci,
            });
            decision(R::InProgress, actions, "wait-job", None)
        }
        R::Finishing => {
            let actions = vec![A::SetInstallationState {
                state: op.target_installation_state,
            }];
            decision(R::Succeeded, actions, "done", None)
        }
        R::Failing => {
            // A vanished installation has no state left to mark.
            let actions = obs
                .installation_state
                .map(|_| A::SetInstallationState {
                    state: S::DbRestorationFailed,
                })
                .into_iter()
                .collect();
            decision(R::Failed, actions, "done", None)
        }
        R::DeletionRequested => {
            let mut actions = Vec::new();
            if obs.backup_exists && obs.job != JobStatus::NotFound {
                actions.push(A::DeleteRestoreJob);
            }
            decision(R::Deleted, actions, "done", None)
        }
        other => decision(other, Vec::new(), "idle", None),
    }
}

/// The state to persist when an action of a pass from `from` failed.
pub fn state_after_failure(from: R, _action: &RestorationAction, class: ErrorClass) -> R {
    if class.is_retryable() {
        return from;
    }
    match from {
        R::Requested | R::InProgress | R::Finishing => R::Failing,
        R::Failing => R::Failed,
        // No deletion-failed state: keep retrying, with the error shown.
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RestorationAction as A;

    fn op(state: R) -> InstallationDBRestorationOperation {
        InstallationDBRestorationOperation {
            id: "r".into(),
            installation_id: "i".into(),
            backup_id: "b".into(),
            state,
            target_installation_state: S::Hibernating,
            ..Default::default()
        }
    }

    fn obs() -> RestorationObservation {
        RestorationObservation {
            installation_state: Some(S::DbRestorationInProgress),
            first_cluster_installation: Some("ci".into()),
            job: JobStatus::NotFound,
            backup_exists: true,
        }
    }

    #[test]
    fn requested_claims_and_triggers() {
        let d = decide(&op(R::Requested), &obs());
        assert_eq!(d.next_state, R::InProgress);
        assert_eq!(
            d.actions,
            [
                A::ClaimClusterInstallation { id: "ci".into() },
                A::TriggerRestoreJob {
                    cluster_installation_id: "ci".into()
                }
            ]
        );
        let mut claimed = op(R::Requested);
        claimed.cluster_installation_id = "other".into();
        let d = decide(&claimed, &obs());
        assert_eq!(
            d.actions,
            [A::TriggerRestoreJob {
                cluster_installation_id: "other".into()
            }]
        );
        let running = RestorationObservation {
            job: JobStatus::Running,
            ..obs()
        };
        assert!(decide(&claimed, &running).actions.is_empty());
        let no_ci = RestorationObservation {
            first_cluster_installation: None,
            ..obs()
        };
        let d = decide(&op(R::Requested), &no_ci);
        assert_eq!((d.next_state, d.actions.len()), (R::Requested, 0));
    }

    #[test]
    fn in_progress_follows_the_job() {
        let mut o = op(R::InProgress);
        o.cluster_installation_id = "ci".into();
        let done = JobStatus::Succeeded {
            started_at: 1,
            completed_at: 5,
        };
        let table = [
            (done, R::Finishing, vec![A::SetCompleteAt { at: 5 }]),
            (JobStatus::Failed, R::Failing, vec![]),
            (JobStatus::Running, R::InProgress, vec![]),
            (
                JobStatus::NotFound,
                R::InProgress,
                vec![A::TriggerRestoreJob {
                    cluster_installation_id: "ci".into(),
                }],
            ),
        ];
        for (job, state, actions) in table {
            let d = decide(&o, &RestorationObservation { job, ..obs() });
            assert_eq!((d.next_state, d.actions), (state, actions), "{job:?}");
        }
    }

    #[test]
    fn finishing_and_failing_set_the_installation_state() {
        let mut o = op(R::Finishing);
        o.target_installation_state = S::DbMigrationInProgress;
        let d = decide(&o, &obs());
        assert_eq!(d.next_state, R::Succeeded);
        assert_eq!(
            d.actions,
            [A::SetInstallationState {
                state: S::DbMigrationInProgress
            }]
        );
        let d = decide(&op(R::Failing), &obs());
        assert_eq!(d.next_state, R::Failed);
        assert_eq!(
            d.actions,
            [A::SetInstallationState {
                state: S::DbRestorationFailed
            }]
        );
        let gone = RestorationObservation {
            installation_state: None,
            ..obs()
        };
        assert_eq!(decide(&op(R::Failing), &gone).actions, []);
        for s in [R::Requested, R::InProgress, R::Finishing] {
            assert_eq!(decide(&op(s), &gone).next_state, R::Failed, "{s}");
        }
    }

    #[test]
    fn deletion_removes_the_job_while_the_backup_exists() {
        let with_job = RestorationObservation {
            job: JobStatus::Failed,
            ..obs()
        };
        let d = decide(&op(R::DeletionRequested), &with_job);
        assert_eq!(
            (d.next_state, d.actions),
            (R::Deleted, vec![A::DeleteRestoreJob])
        );
        let no_backup = RestorationObservation {
            backup_exists: false,
            ..with_job
        };
        assert_eq!(decide(&op(R::DeletionRequested), &no_backup).actions, []);
        assert_eq!(decide(&op(R::DeletionRequested), &obs()).actions, []);
    }

    #[test]
    fn idle_states_and_failure_mapping() {
        for s in [R::Succeeded, R::Failed, R::Invalid, R::Deleted] {
            let d = decide(&op(s), &obs());
            assert_eq!((d.next_state, d.actions.len()), (s, 0));
        }
        let a = A::DeleteRestoreJob;
        assert_eq!(
            state_after_failure(R::InProgress, &a, ErrorClass::Transient),
            R::InProgress
        );
        assert_eq!(
            state_after_failure(R::Requested, &a, ErrorClass::Permanent),
            R::Failing
        );
        assert_eq!(
            state_after_failure(R::Failing, &a, ErrorClass::Permanent),
            R::Failed
        );
        assert_eq!(
            state_after_failure(R::DeletionRequested, &a, ErrorClass::Permanent),
            R::DeletionRequested
        );
    }
}
