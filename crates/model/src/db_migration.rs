//! Installation database migrations (`InstallationDBMigrationOperation`).
//!
//! The only supported migration moves an installation between two shared
//! (multitenant) Postgres RDS clusters: backup → database switch → refresh
//! secrets → restore → update config → hibernating. A succeeded migration is
//! then committed (the old data is dropped) or rolled back. Every state
//! string carries the `installation-db-migration-` prefix, and one of them,
//! `installation-db-migration-database switch`, contains a space.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::backup::validate_id;
use crate::filter::Paging;
use crate::installation::DatabaseType;

/// The one installation database type that can be migrated (source and
/// destination).
pub const MIGRATABLE_DATABASE_TYPE: DatabaseType = DatabaseType::AwsMultitenantRdsPostgres;

/// Shared-database capacity limit checked when a migration is requested
/// (the original uses this constant, not the server flag).
pub const MIGRATION_DESTINATION_WEIGHT_LIMIT: f64 = 300.0;

/// `InstallationDBMigrationOperation.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum MigrationState {
    #[default]
    #[serde(rename = "installation-db-migration-requested")]
    Requested,
    #[serde(rename = "installation-db-migration-installation-backup-in-progress")]
    BackupInProgress,
    #[serde(rename = "installation-db-migration-database switch")]
    DatabaseSwitch,
    #[serde(rename = "installation-db-migration-refresh-secrets")]
    RefreshSecrets,
    #[serde(rename = "installation-db-migration-trigger-restoration")]
    TriggerRestoration,
    #[serde(rename = "installation-db-migration-restoration-in-progress")]
    RestorationInProgress,
    #[serde(rename = "installation-db-migration-updating-installation-config")]
    UpdatingInstallationConfig,
    #[serde(rename = "installation-db-migration-finalizing")]
    Finalizing,
    #[serde(rename = "installation-db-migration-failing")]
    Failing,
    #[serde(rename = "installation-db-migration-succeeded")]
    Succeeded,
    #[serde(rename = "installation-db-migration-failed")]
    Failed,
    #[serde(rename = "installation-db-migration-committed")]
    Committed,
    #[serde(rename = "installation-db-migration-rollback-requested")]
    RollbackRequested,
    #[serde(rename = "installation-db-migration-rollback-finished")]
    RollbackFinished,
    #[serde(rename = "installation-db-migration-deletion-requested")]
    DeletionRequested,
    #[serde(rename = "installation-db-migration-deleted")]
    Deleted,
}

impl MigrationState {
    pub const ALL: [MigrationState; 16] = [
        MigrationState::Requested,
        MigrationState::BackupInProgress,
        MigrationState::DatabaseSwitch,
        MigrationState::RefreshSecrets,
        MigrationState::TriggerRestoration,
        MigrationState::RestorationInProgress,
        MigrationState::UpdatingInstallationConfig,
        MigrationState::Finalizing,
        MigrationState::Failing,
        MigrationState::Succeeded,
        MigrationState::Failed,
        MigrationState::Committed,
        MigrationState::RollbackRequested,
        MigrationState::RollbackFinished,
        MigrationState::DeletionRequested,
        MigrationState::Deleted,
    ];

    /// States the migration supervisor works on.
    pub const PENDING_WORK: [MigrationState; 11] = [
        MigrationState::Requested,
        MigrationState::BackupInProgress,
        MigrationState::DatabaseSwitch,
        MigrationState::RefreshSecrets,
        MigrationState::TriggerRestoration,
        MigrationState::RestorationInProgress,
        MigrationState::UpdatingInstallationConfig,
        MigrationState::Finalizing,
        MigrationState::Failing,
        MigrationState::RollbackRequested,
        MigrationState::DeletionRequested,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MigrationState::Requested => "installation-db-migration-requested",
            MigrationState::BackupInProgress => {
                "installation-db-migration-installation-backup-in-progress"
            }
            MigrationState::DatabaseSwitch => "installation-db-migration-database switch",
            MigrationState::RefreshSecrets => "installation-db-migration-refresh-secrets",
            MigrationState::TriggerRestoration => "installation-db-migration-trigger-restoration",
            MigrationState::RestorationInProgress => {
                "installation-db-migration-restoration-in-progress"
            }
            MigrationState::UpdatingInstallationConfig => {
                "installation-db-migration-updating-installation-config"
            }
            MigrationState::Finalizing => "installation-db-migration-finalizing",
            MigrationState::Failing => "installation-db-migration-failing",
            MigrationState::Succeeded => "installation-db-migration-succeeded",
            MigrationState::Failed => "installation-db-migration-failed",
            MigrationState::Committed => "installation-db-migration-committed",
            MigrationState::RollbackRequested => "installation-db-migration-rollback-requested",
            MigrationState::RollbackFinished => "installation-db-migration-rollback-finished",
            MigrationState::DeletionRequested => "installation-db-migration-deletion-requested",
            MigrationState::Deleted => "installation-db-migration-deleted",
        }
    }

    pub fn is_pending_work(&self) -> bool {
        Self::PENDING_WORK.contains(self)
    }

    /// The API's transition map: only `rollback-requested` is reachable, and
    /// only from `succeeded`. Unlike backups, a target without an entry is
    /// refused.
    pub fn can_transition_to(&self, new: MigrationState) -> bool {
        matches!(
            (self, new),
            (MigrationState::Succeeded, MigrationState::RollbackRequested)
        )
    }

    /// Whether `POST …/migration/{id}/rollback` may proceed.
    pub fn can_request_rollback(&self) -> bool {
        self.can_transition_to(MigrationState::RollbackRequested)
    }

    /// Whether `POST …/migration/{id}/commit` may proceed.
    pub fn can_commit(&self) -> bool {
        *self == MigrationState::Succeeded
    }
}

impl fmt::Display for MigrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MigrationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!(
                    "unknown DB migration state {s:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

/// `{DatabaseID}`: a `MultitenantDatabase` row of a migration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiTenantDBMigrationData {
    #[serde(rename = "DatabaseID", default)]
    pub database_id: String,
}

/// A database migration of one installation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationDBMigrationOperation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    #[serde(rename = "RequestAt")]
    pub request_at: i64,
    #[serde(rename = "State")]
    pub state: MigrationState,
    /// Installation database type before the migration.
    #[serde(rename = "SourceDatabase", default)]
    pub source_database: DatabaseType,
    /// Installation database type after the migration.
    #[serde(rename = "DestinationDatabase", default)]
    pub destination_database: DatabaseType,
    #[serde(
        rename = "SourceMultiTenant",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_multi_tenant: Option<MultiTenantDBMigrationData>,
    #[serde(
        rename = "DestinationMultiTenant",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub destination_multi_tenant: Option<MultiTenantDBMigrationData>,
    #[serde(rename = "BackupID", default)]
    pub backup_id: String,
    #[serde(rename = "InstallationDBRestorationOperationID", default)]
    pub installation_db_restoration_operation_id: String,
    #[serde(rename = "CompleteAt", default)]
    pub complete_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl InstallationDBMigrationOperation {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// Store filter of DB migrations. Empty `ids` / `states` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationDBMigrationFilter {
    pub paging: Paging,
    pub ids: Vec<String>,
    pub installation_id: Option<String>,
    pub states: Vec<MigrationState>,
}

/// Body of `POST /api/installations/operations/database/migrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationDBMigrationRequest {
    #[serde(rename = "InstallationID", default)]
    pub installation_id: String,
    #[serde(rename = "DestinationDatabase", default)]
    pub destination_database: String,
    #[serde(
        rename = "DestinationMultiTenant",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub destination_multi_tenant: Option<MultiTenantDBMigrationData>,
}

impl InstallationDBMigrationRequest {
    /// What can be checked without the store: the IDs, and that the
    /// destination is the one migratable type with a database to move to.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_id("InstallationID", &self.installation_id)?;
        if self.destination_database != MIGRATABLE_DATABASE_TYPE.as_str() {
            return Err(ValidationError::new(
                "DestinationDatabase",
                format!(
                    "database migration is supported only to {:?}, got {:?}",
                    MIGRATABLE_DATABASE_TYPE.as_str(),
                    self.destination_database
                ),
            ));
        }
        let Some(destination) = &self.destination_multi_tenant else {
            return Err(ValidationError::new(
                "DestinationMultiTenant",
                "the destination multitenant database must be specified",
            ));
        };
        validate_id(
            "DestinationMultiTenant.DatabaseID",
            &destination.database_id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_I: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";
    const ID_D: &str = "d1b2c3d4e5f6g7h8i9j0k1l2m3";

    #[test]
    fn operation_round_trips_the_original_shape() {
        let doc = r#"{"ID":"m1b2c3d4e5f6g7h8i9j0k1l2m3","InstallationID":"i1b2c3d4e5f6g7h8i9j0k1l2m3","RequestAt":1620000000000,"State":"installation-db-migration-database switch","SourceDatabase":"aws-multitenant-rds-postgres","DestinationDatabase":"aws-multitenant-rds-postgres","SourceMultiTenant":{"DatabaseID":"s1b2c3d4e5f6g7h8i9j0k1l2m3"},"DestinationMultiTenant":{"DatabaseID":"d1b2c3d4e5f6g7h8i9j0k1l2m3"},"BackupID":"b1b2c3d4e5f6g7h8i9j0k1l2m3","InstallationDBRestorationOperationID":"","CompleteAt":0,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;
        let op: InstallationDBMigrationOperation = serde_json::from_str(doc).unwrap();
        assert_eq!(op.state, MigrationState::DatabaseSwitch);
        assert_eq!(
            op.destination_multi_tenant.as_ref().unwrap().database_id,
            ID_D
        );
        assert_eq!(serde_json::to_string(&op).unwrap(), doc);
    }

    #[test]
    fn multi_tenant_data_is_omitted_when_absent() {
        let doc = r#"{"ID":"m","InstallationID":"i","RequestAt":1,"State":"installation-db-migration-requested","SourceDatabase":"aws-multitenant-rds-postgres","DestinationDatabase":"aws-multitenant-rds-postgres","BackupID":"","InstallationDBRestorationOperationID":"","CompleteAt":0,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;
        let op: InstallationDBMigrationOperation = serde_json::from_str(doc).unwrap();
        assert_eq!(op.source_multi_tenant, None);
        assert_eq!(serde_json::to_string(&op).unwrap(), doc);
    }

    #[test]
    fn states_parse_from_their_names() {
        for s in MigrationState::ALL {
            assert!(s.as_str().starts_with("installation-db-migration-"));
            assert_eq!(s.as_str().parse::<MigrationState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(
            MigrationState::DatabaseSwitch.as_str(),
            "installation-db-migration-database switch"
        );
        assert!(
            "installation-db-migration-database-switch"
                .parse::<MigrationState>()
                .is_err()
        );
    }

    #[test]
    fn pending_work_list() {
        let idle = [
            MigrationState::Succeeded,
            MigrationState::Failed,
            MigrationState::Committed,
            MigrationState::RollbackFinished,
            MigrationState::Deleted,
        ];
        for s in MigrationState::ALL {
            assert_eq!(s.is_pending_work(), !idle.contains(&s), "{s}");
        }
    }

    #[test]
    fn rollback_and_commit_only_from_succeeded() {
        for s in MigrationState::ALL {
            let succeeded = s == MigrationState::Succeeded;
            assert_eq!(s.can_request_rollback(), succeeded, "{s}");
            assert_eq!(s.can_commit(), succeeded, "{s}");
            // No other target is reachable through the API.
            assert!(!s.can_transition_to(MigrationState::Committed));
        }
    }

    fn request() -> InstallationDBMigrationRequest {
        serde_json::from_str(&format!(
            r#"{{"InstallationID":"{ID_I}","DestinationDatabase":"aws-multitenant-rds-postgres","DestinationMultiTenant":{{"DatabaseID":"{ID_D}"}}}}"#
        ))
        .unwrap()
    }

    type Mutation = fn(&mut InstallationDBMigrationRequest);

    #[test]
    fn request_rules_name_the_field_at_fault() {
        assert!(request().validate().is_ok());
        let cases: [(&str, Mutation); 5] = [
            ("InstallationID", |r| r.installation_id.clear()),
            ("DestinationDatabase", |r| r.destination_database.clear()),
            ("DestinationDatabase", |r| {
                r.destination_database = "aws-rds-postgres".into()
            }),
            ("DestinationMultiTenant", |r| {
                r.destination_multi_tenant = None
            }),
            ("DestinationMultiTenant.DatabaseID", |r| {
                r.destination_multi_tenant = Some(MultiTenantDBMigrationData::default())
            }),
        ];
        for (field, mutate) in cases {
            let mut req = request();
            mutate(&mut req);
            assert_eq!(req.validate().unwrap_err().field, field);
        }
    }
}
