//! Installation database backups (`InstallationBackup`) and their states.
//!
//! A backup is requested through the API in `backup-requested`, run by the
//! backup supervisor as a Kubernetes job, and deleted through
//! `deletion-requested`. The API may only request deletion, from any state
//! but `deleted`. The database and filestore rules of
//! [`ensure_backup_compatible`] are shared with restorations.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::filter::Paging;
use crate::installation::{DatabaseType, FilestoreType, InstallationState};

/// `InstallationBackup.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum BackupState {
    #[default]
    #[serde(rename = "backup-requested")]
    BackupRequested,
    #[serde(rename = "backup-in-progress")]
    BackupInProgress,
    #[serde(rename = "backup-succeeded")]
    BackupSucceeded,
    #[serde(rename = "backup-failed")]
    BackupFailed,
    #[serde(rename = "deletion-requested")]
    DeletionRequested,
    #[serde(rename = "deletion-failed")]
    DeletionFailed,
    #[serde(rename = "deleted")]
    Deleted,
}

impl BackupState {
    pub const ALL: [BackupState; 7] = [
        BackupState::BackupRequested,
        BackupState::BackupInProgress,
        BackupState::BackupSucceeded,
        BackupState::BackupFailed,
        BackupState::DeletionRequested,
        BackupState::DeletionFailed,
        BackupState::Deleted,
    ];

    /// States the backup supervisor works on.
    pub const PENDING_WORK: [BackupState; 3] = [
        BackupState::BackupRequested,
        BackupState::BackupInProgress,
        BackupState::DeletionRequested,
    ];

    /// States of a backup that is still running (at most one per
    /// installation).
    pub const RUNNING: [BackupState; 2] =
        [BackupState::BackupRequested, BackupState::BackupInProgress];

    pub fn as_str(&self) -> &'static str {
        match self {
            BackupState::BackupRequested => "backup-requested",
            BackupState::BackupInProgress => "backup-in-progress",
            BackupState::BackupSucceeded => "backup-succeeded",
            BackupState::BackupFailed => "backup-failed",
            BackupState::DeletionRequested => "deletion-requested",
            BackupState::DeletionFailed => "deletion-failed",
            BackupState::Deleted => "deleted",
        }
    }

    pub fn is_pending_work(&self) -> bool {
        Self::PENDING_WORK.contains(self)
    }

    pub fn is_running(&self) -> bool {
        Self::RUNNING.contains(self)
    }

    /// The API's transition map: whether a backup in `self` may be moved to
    /// `new`. Only `deletion-requested` is gated (from anything but
    /// `deleted`); the original lets any other target through.
    pub fn can_transition_to(&self, new: BackupState) -> bool {
        match new {
            BackupState::DeletionRequested => *self != BackupState::Deleted,
            _ => true,
        }
    }

    /// Whether `DELETE /api/installations/backup/{id}` may request deletion.
    pub fn can_request_deletion(&self) -> bool {
        self.can_transition_to(BackupState::DeletionRequested)
    }
}

impl fmt::Display for BackupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackupState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("unknown backup state {s:?} (one of {})", names.join(", "))
            })
    }
}

/// Where a backup's data lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3DataResidence {
    #[serde(rename = "Region", default)]
    pub region: String,
    #[serde(rename = "URL", default)]
    pub url: String,
    #[serde(rename = "Bucket", default)]
    pub bucket: String,
    #[serde(rename = "PathPrefix", default)]
    pub path_prefix: String,
    #[serde(rename = "ObjectKey", default)]
    pub object_key: String,
}

impl S3DataResidence {
    /// `PathPrefix/ObjectKey`, joined like Go's `filepath.Join` (empty parts
    /// dropped, no doubled slashes).
    pub fn full_path(&self) -> String {
        let parts: Vec<&str> = [self.path_prefix.as_str(), self.object_key.as_str()]
            .into_iter()
            .flat_map(|p| p.split('/'))
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let joined = parts.join("/");
        if self.path_prefix.starts_with('/') {
            format!("/{joined}")
        } else {
            joined
        }
    }

    /// The object key of a backup: `backup-<backupID>`.
    pub fn object_key_for(backup_id: &str) -> String {
        format!("backup-{backup_id}")
    }
}

/// An installation database backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationBackup {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    /// Set when the backup job is triggered.
    #[serde(rename = "ClusterInstallationID", default)]
    pub cluster_installation_id: String,
    /// The installation's database type at request time.
    #[serde(rename = "BackedUpDatabaseType", default)]
    pub backed_up_database_type: DatabaseType,
    #[serde(rename = "DataResidence", default)]
    pub data_residence: Option<S3DataResidence>,
    #[serde(rename = "State")]
    pub state: BackupState,
    #[serde(rename = "RequestAt")]
    pub request_at: i64,
    /// Start time of the job that completed the backup.
    #[serde(rename = "StartAt", default)]
    pub start_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "APISecurityLock", default)]
    pub api_security_lock: bool,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl InstallationBackup {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// Store filter of backups. Empty `ids` / `states` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationBackupFilter {
    pub paging: Paging,
    pub ids: Vec<String>,
    pub installation_id: Option<String>,
    pub cluster_installation_id: Option<String>,
    pub states: Vec<BackupState>,
}

/// Body of `POST /api/installations/backups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationBackupRequest {
    #[serde(rename = "InstallationID", default)]
    pub installation_id: String,
}

impl InstallationBackupRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_id("InstallationID", &self.installation_id)
    }
}

/// `field` must hold an ID (present, 26 letters or digits).
pub(crate) fn validate_id(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must be specified"));
    }
    if !crate::is_valid_id(value) {
        return Err(ValidationError::new(
            field,
            format!("{value:?} is not a valid ID (26 letters or digits)"),
        ));
    }
    Ok(())
}

/// The database and filestore half of the original's compatibility check:
/// backups need a Postgres RDS database type and a filestore other than the
/// in-cluster MinIO. Errors name the installation field at fault.
pub fn ensure_backup_restore_compatible(
    database: DatabaseType,
    filestore: FilestoreType,
) -> Result<(), ValidationError> {
    if !database.supports_backup() {
        return Err(ValidationError::new(
            "Database",
            format!(
                "invalid installation database, backup is supported only for Postgres database, the database type is {:?}",
                database.as_str()
            ),
        ));
    }
    if filestore == FilestoreType::MinioOperator {
        return Err(ValidationError::new(
            "Filestore",
            "invalid installation file store, cannot backup database for installation using local Minio file store",
        ));
    }
    Ok(())
}

/// Whether an installation in `state` with `database` and `filestore` can be
/// backed up through the API (it must be hibernating).
pub fn ensure_backup_compatible(
    state: InstallationState,
    database: DatabaseType,
    filestore: FilestoreType,
) -> Result<(), ValidationError> {
    if state != InstallationState::Hibernating {
        return Err(ValidationError::new(
            "State",
            format!(
                "invalid installation state, only hibernated installations can be backed up, state is {:?}",
                state.as_str()
            ),
        ));
    }
    ensure_backup_restore_compatible(database, filestore)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"ID":"b1b2c3d4e5f6g7h8i9j0k1l2m3","InstallationID":"i1b2c3d4e5f6g7h8i9j0k1l2m3","ClusterInstallationID":"c1b2c3d4e5f6g7h8i9j0k1l2m3","BackedUpDatabaseType":"aws-multitenant-rds-postgres","DataResidence":{"Region":"us-east-1","URL":"s3.amazonaws.com","Bucket":"mattermost-cloud-dev-provisioning-vpc-1","PathPrefix":"i1b2c3d4e5f6g7h8i9j0k1l2m3","ObjectKey":"backup-b1b2c3d4e5f6g7h8i9j0k1l2m3"},"State":"backup-succeeded","RequestAt":1620000000000,"StartAt":1620000001000,"DeleteAt":0,"APISecurityLock":false,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;

    #[test]
    fn backup_round_trips_the_original_shape() {
        let backup: InstallationBackup = serde_json::from_str(DOC).unwrap();
        assert_eq!(backup.state, BackupState::BackupSucceeded);
        assert_eq!(
            backup.backed_up_database_type,
            DatabaseType::AwsMultitenantRdsPostgres
        );
        let residence = backup.data_residence.as_ref().unwrap();
        assert_eq!(
            residence.full_path(),
            "i1b2c3d4e5f6g7h8i9j0k1l2m3/backup-b1b2c3d4e5f6g7h8i9j0k1l2m3"
        );
        assert!(!backup.is_deleted());
        assert_eq!(serde_json::to_string(&backup).unwrap(), DOC);
    }

    #[test]
    fn a_fresh_backup_has_a_null_data_residence() {
        let doc = r#"{"ID":"b","InstallationID":"i","ClusterInstallationID":"","BackedUpDatabaseType":"aws-rds-postgres","DataResidence":null,"State":"backup-requested","RequestAt":1,"StartAt":0,"DeleteAt":0,"APISecurityLock":true,"LockAcquiredBy":"me","LockAcquiredAt":2}"#;
        let backup: InstallationBackup = serde_json::from_str(doc).unwrap();
        assert_eq!(backup.data_residence, None);
        assert_eq!(backup.lock_acquired_by.as_deref(), Some("me"));
        assert_eq!(serde_json::to_string(&backup).unwrap(), doc);
    }

    #[test]
    fn states_parse_from_their_names() {
        for s in BackupState::ALL {
            assert_eq!(s.as_str().parse::<BackupState>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("backup-done".parse::<BackupState>().is_err());
    }

    #[test]
    fn pending_work_and_running_lists() {
        let pending: Vec<_> = BackupState::ALL
            .into_iter()
            .filter(BackupState::is_pending_work)
            .collect();
        assert_eq!(
            pending,
            [
                BackupState::BackupRequested,
                BackupState::BackupInProgress,
                BackupState::DeletionRequested
            ]
        );
        let running: Vec<_> = BackupState::ALL
            .into_iter()
            .filter(BackupState::is_running)
            .collect();
        assert_eq!(
            running,
            [BackupState::BackupRequested, BackupState::BackupInProgress]
        );
    }

    #[test]
    fn deletion_can_be_requested_from_every_state_but_deleted() {
        for s in BackupState::ALL {
            assert_eq!(s.can_request_deletion(), s != BackupState::Deleted, "{s}");
        }
        // Targets without an entry in the map are not gated.
        assert!(BackupState::Deleted.can_transition_to(BackupState::BackupFailed));
    }

    #[test]
    fn full_path_joins_like_go() {
        let mut r = S3DataResidence {
            path_prefix: "prefix/".into(),
            object_key: "key".into(),
            ..Default::default()
        };
        assert_eq!(r.full_path(), "prefix/key");
        r.path_prefix.clear();
        assert_eq!(r.full_path(), "key");
        r.path_prefix = "/a//b".into();
        assert_eq!(r.full_path(), "/a/b/key");
        assert_eq!(S3DataResidence::object_key_for("x"), "backup-x");
    }

    #[test]
    fn request_needs_an_installation_id() {
        let req: InstallationBackupRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(req.validate().unwrap_err().field, "InstallationID");
        let req: InstallationBackupRequest =
            serde_json::from_str(r#"{"InstallationID":"short"}"#).unwrap();
        assert_eq!(req.validate().unwrap_err().field, "InstallationID");
        let req: InstallationBackupRequest =
            serde_json::from_str(r#"{"InstallationID":"i1b2c3d4e5f6g7h8i9j0k1l2m3"}"#).unwrap();
        assert!(req.validate().is_ok());
    }

    #[test]
    fn compatibility_rules() {
        use DatabaseType as D;
        use FilestoreType as F;
        use InstallationState as S;
        assert!(ensure_backup_compatible(S::Hibernating, D::AwsRdsPostgres, F::AwsS3).is_ok());
        assert!(
            ensure_backup_compatible(S::Hibernating, D::AwsMultitenantRdsPostgres, F::Bifrost)
                .is_ok()
        );
        let field = |r: Result<(), ValidationError>| r.unwrap_err().field;
        assert_eq!(
            field(ensure_backup_compatible(
                S::Stable,
                D::AwsRdsPostgres,
                F::AwsS3
            )),
            "State"
        );
        for db in [D::AwsRds, D::MysqlOperator, D::Perseus, D::External] {
            assert_eq!(
                field(ensure_backup_compatible(S::Hibernating, db, F::AwsS3)),
                "Database"
            );
        }
        assert_eq!(
            field(ensure_backup_compatible(
                S::Hibernating,
                D::AwsRdsPostgres,
                F::MinioOperator
            )),
            "Filestore"
        );
    }
}
