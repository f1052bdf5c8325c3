//! Installation database restorations (`InstallationDBRestorationOperation`).
//!
//! A restoration loads a succeeded backup back into the installation's
//! database. It is requested through the API (installation `hibernating`) or
//! by a DB migration (installation `db-migration-in-progress`); on success
//! the installation returns to `TargetInstallationState`. Every state string
//! carries the `installation-db-restoration-` prefix.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::backup::{
    BackupState, InstallationBackup, ensure_backup_restore_compatible, validate_id,
};
use crate::filter::Paging;
use crate::installation::{Installation, InstallationState};

/// Installation states from which a restoration may start; the operation
/// returns the installation to the same state on success.
pub const RESTORATION_INSTALLATION_STATES: [InstallationState; 2] = [
    InstallationState::Hibernating,
    InstallationState::DbMigrationInProgress,
];

/// `InstallationDBRestorationOperation.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RestorationState {
    #[default]
    #[serde(rename = "installation-db-restoration-requested")]
    Requested,
    #[serde(rename = "installation-db-restoration-in-progress")]
    InProgress,
    /// The original's `Finalizing` constant.
    #[serde(rename = "installation-db-restoration-finishing")]
    Finishing,
    #[serde(rename = "installation-db-restoration-succeeded")]
    Succeeded,
    #[serde(rename = "installation-db-restoration-failing")]
    Failing,
    #[serde(rename = "installation-db-restoration-failed")]
    Failed,
    /// Defined by the original but never set.
    #[serde(rename = "installation-db-restoration-invalid")]
    Invalid,
    #[serde(rename = "installation-db-restoration-deletion-requested")]
    DeletionRequested,
    #[serde(rename = "installation-db-restoration-deleted")]
    Deleted,
}

impl RestorationState {
    pub const ALL: [RestorationState; 9] = [
        RestorationState::Requested,
        RestorationState::InProgress,
        RestorationState::Finishing,
        RestorationState::Succeeded,
        RestorationState::Failing,
        RestorationState::Failed,
        RestorationState::Invalid,
        RestorationState::DeletionRequested,
        RestorationState::Deleted,
    ];

    /// States the restoration supervisor works on.
    pub const PENDING_WORK: [RestorationState; 5] = [
        RestorationState::Requested,
        RestorationState::InProgress,
        RestorationState::Finishing,
        RestorationState::Failing,
        RestorationState::DeletionRequested,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RestorationState::Requested => "installation-db-restoration-requested",
            RestorationState::InProgress => "installation-db-restoration-in-progress",
            RestorationState::Finishing => "installation-db-restoration-finishing",
            RestorationState::Succeeded => "installation-db-restoration-succeeded",
            RestorationState::Failing => "installation-db-restoration-failing",
            RestorationState::Failed => "installation-db-restoration-failed",
            RestorationState::Invalid => "installation-db-restoration-invalid",
            RestorationState::DeletionRequested => "installation-db-restoration-deletion-requested",
            RestorationState::Deleted => "installation-db-restoration-deleted",
        }
    }

    pub fn is_pending_work(&self) -> bool {
        Self::PENDING_WORK.contains(self)
    }
}

impl fmt::Display for RestorationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RestorationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!(
                    "unknown restoration state {s:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

/// A database restoration of one installation from one backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationDBRestorationOperation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    #[serde(rename = "BackupID")]
    pub backup_id: String,
    #[serde(rename = "RequestAt")]
    pub request_at: i64,
    #[serde(rename = "State")]
    pub state: RestorationState,
    /// Installation state set when the restoration succeeds.
    #[serde(rename = "TargetInstallationState", default)]
    pub target_installation_state: InstallationState,
    /// Claimed when the restore job is triggered.
    #[serde(rename = "ClusterInstallationID", default)]
    pub cluster_installation_id: String,
    #[serde(rename = "CompleteAt", default)]
    pub complete_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl InstallationDBRestorationOperation {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// Store filter of restorations. Empty `ids` / `states` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationDBRestorationFilter {
    pub paging: Paging,
    pub ids: Vec<String>,
    pub installation_id: Option<String>,
    pub cluster_installation_id: Option<String>,
    pub states: Vec<RestorationState>,
}

/// Body of `POST /api/installations/operations/database/restorations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationDBRestorationRequest {
    #[serde(rename = "InstallationID", default)]
    pub installation_id: String,
    #[serde(rename = "BackupID", default)]
    pub backup_id: String,
}

impl InstallationDBRestorationRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_id("InstallationID", &self.installation_id)?;
        validate_id("BackupID", &self.backup_id)
    }
}

/// The original's `EnsureInstallationReadyForDBRestoration`: the backup
/// belongs to the installation, has succeeded and is not deleted; the
/// installation is hibernating or migrating; database and filestore support
/// backups. Returns the installation state to restore on success.
pub fn ensure_ready_for_restoration(
    installation: &Installation,
    backup: &InstallationBackup,
) -> Result<InstallationState, ValidationError> {
    if backup.installation_id != installation.id {
        return Err(ValidationError::new(
            "BackupID",
            "backup belongs to a different installation",
        ));
    }
    if backup.state != BackupState::BackupSucceeded {
        return Err(ValidationError::new(
            "BackupID",
            format!(
                "only backups in succeeded state can be restored, the state is {:?}",
                backup.state.as_str()
            ),
        ));
    }
    if backup.is_deleted() {
        return Err(ValidationError::new("BackupID", "backup files are deleted"));
    }
    if !RESTORATION_INSTALLATION_STATES.contains(&installation.state) {
        return Err(ValidationError::new(
            "InstallationID",
            format!(
                "invalid installation state, only hibernated installations can be restored, state is {:?}",
                installation.state.as_str()
            ),
        ));
    }
    ensure_backup_restore_compatible(installation.database, installation.filestore)?;
    Ok(installation.state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installation::{DatabaseType, FilestoreType};

    const ID_I: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";
    const ID_B: &str = "b1b2c3d4e5f6g7h8i9j0k1l2m3";

    #[test]
    fn operation_round_trips_the_original_shape() {
        let doc = r#"{"ID":"r1b2c3d4e5f6g7h8i9j0k1l2m3","InstallationID":"i1b2c3d4e5f6g7h8i9j0k1l2m3","BackupID":"b1b2c3d4e5f6g7h8i9j0k1l2m3","RequestAt":1620000000000,"State":"installation-db-restoration-in-progress","TargetInstallationState":"hibernating","ClusterInstallationID":"c1b2c3d4e5f6g7h8i9j0k1l2m3","CompleteAt":0,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;
        let op: InstallationDBRestorationOperation = serde_json::from_str(doc).unwrap();
        assert_eq!(op.state, RestorationState::InProgress);
        assert_eq!(op.target_installation_state, InstallationState::Hibernating);
        assert_eq!(serde_json::to_string(&op).unwrap(), doc);
    }

    #[test]
    fn states_parse_from_their_names() {
        for s in RestorationState::ALL {
            assert!(s.as_str().starts_with("installation-db-restoration-"));
            assert_eq!(s.as_str().parse::<RestorationState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!(
            "installation-db-restoration-finalizing"
                .parse::<RestorationState>()
                .is_err()
        );
    }

    #[test]
    fn pending_work_list() {
        let pending: Vec<_> = RestorationState::ALL
            .into_iter()
            .filter(RestorationState::is_pending_work)
            .collect();
        assert_eq!(pending, RestorationState::PENDING_WORK);
        assert!(!RestorationState::Succeeded.is_pending_work());
        assert!(!RestorationState::Invalid.is_pending_work());
    }

    #[test]
    fn request_needs_both_ids() {
        let mut req = InstallationDBRestorationRequest {
            installation_id: ID_I.into(),
            backup_id: ID_B.into(),
        };
        assert!(req.validate().is_ok());
        req.backup_id.clear();
        assert_eq!(req.validate().unwrap_err().field, "BackupID");
        req.installation_id = "x".into();
        assert_eq!(req.validate().unwrap_err().field, "InstallationID");
    }

    fn backup() -> InstallationBackup {
        InstallationBackup {
            id: ID_B.into(),
            installation_id: ID_I.into(),
            state: BackupState::BackupSucceeded,
            ..Default::default()
        }
    }

    fn installation(state: InstallationState) -> Installation {
        Installation {
            id: ID_I.into(),
            state,
            database: DatabaseType::AwsMultitenantRdsPostgres,
            filestore: FilestoreType::Bifrost,
            ..Default::default()
        }
    }

    #[test]
    fn readiness_rules() {
        use InstallationState as S;
        let field = |r: Result<InstallationState, ValidationError>| r.unwrap_err().field;
        assert_eq!(
            ensure_ready_for_restoration(&installation(S::Hibernating), &backup()).unwrap(),
            S::Hibernating
        );
        assert_eq!(
            ensure_ready_for_restoration(&installation(S::DbMigrationInProgress), &backup())
                .unwrap(),
            S::DbMigrationInProgress
        );

        let mut other = installation(S::Hibernating);
        other.id = ID_B.into();
        assert_eq!(
            field(ensure_ready_for_restoration(&other, &backup())),
            "BackupID"
        );

        let mut failed = backup();
        failed.state = BackupState::BackupFailed;
        let hibernating = installation(S::Hibernating);
        assert_eq!(
            field(ensure_ready_for_restoration(&hibernating, &failed)),
            "BackupID"
        );

        let mut deleted = backup();
        deleted.delete_at = 5;
        assert_eq!(
            field(ensure_ready_for_restoration(&hibernating, &deleted)),
            "BackupID"
        );

        let stable = installation(S::Stable);
        assert_eq!(
            field(ensure_ready_for_restoration(&stable, &backup())),
            "InstallationID"
        );

        let mut mysql = installation(S::Hibernating);
        mysql.database = DatabaseType::AwsRds;
        assert_eq!(
            field(ensure_ready_for_restoration(&mysql, &backup())),
            "Database"
        );
    }
}
