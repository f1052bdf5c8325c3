//! Database restoration and migration methods of the client (the original's
//! `RestoreInstallationDatabase`, `GetInstallationDBRestorationOperations`,
//! `GetInstallationDBRestoration`, `MigrateInstallationDatabase`,
//! `CommitInstallationDBMigration`, `RollbackInstallationDBMigration`,
//! `GetInstallationDBMigrationOperations`,
//! `GetInstallationDBMigrationOperation`).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::db_migration::{
    InstallationDBMigrationFilter, InstallationDBMigrationOperation, InstallationDBMigrationRequest,
};
use cloud_model::db_restoration::{
    InstallationDBRestorationFilter, InstallationDBRestorationOperation,
    InstallationDBRestorationRequest,
};
use reqwest::StatusCode;

const RESTORATIONS: &str = "/api/installations/operations/database/restorations";
const MIGRATIONS: &str = "/api/installations/operations/database/migrations";

impl Client {
    /// `POST …/database/restorations` (202).
    pub async fn restore_installation_database(
        &self,
        installation_id: &str,
        backup_id: &str,
    ) -> Result<InstallationDBRestorationOperation> {
        let request = InstallationDBRestorationRequest {
            installation_id: installation_id.to_string(),
            backup_id: backup_id.to_string(),
        };
        self.post_json(RESTORATIONS, &request, StatusCode::ACCEPTED)
            .await
    }

    /// `GET …/database/restorations?installation=&cluster_installation=&state=`
    /// (the first of `filter.states` is sent).
    pub async fn get_installation_db_restoration_operations(
        &self,
        filter: &InstallationDBRestorationFilter,
    ) -> Result<Vec<InstallationDBRestorationOperation>> {
        let mut query = vec![
            (
                "installation",
                filter.installation_id.clone().unwrap_or_default(),
            ),
            (
                "cluster_installation",
                filter.cluster_installation_id.clone().unwrap_or_default(),
            ),
            (
                "state",
                filter
                    .states
                    .first()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json(RESTORATIONS, &query, StatusCode::OK).await
    }

    /// `GET …/database/restoration/{id}`; `None` when there is no such operation.
    pub async fn get_installation_db_restoration(
        &self,
        id: &str,
    ) -> Result<Option<InstallationDBRestorationOperation>> {
        self.get_json_opt(
            &format!("/api/installations/operations/database/restoration/{id}"),
            &[],
        )
        .await
    }

    /// `POST …/database/migrations` (202).
    pub async fn migrate_installation_database(
        &self,
        request: &InstallationDBMigrationRequest,
    ) -> Result<InstallationDBMigrationOperation> {
        self.post_json(MIGRATIONS, request, StatusCode::ACCEPTED)
            .await
    }

    /// `POST …/database/migration/{id}/commit` (200).
    pub async fn commit_installation_db_migration(
        &self,
        id: &str,
    ) -> Result<InstallationDBMigrationOperation> {
        self.post_empty_json(
            &format!("/api/installations/operations/database/migration/{id}/commit"),
            StatusCode::OK,
        )
        .await
    }

    /// `POST …/database/migration/{id}/rollback` (202).
    pub async fn rollback_installation_db_migration(
        &self,
        id: &str,
    ) -> Result<InstallationDBMigrationOperation> {
        self.post_empty_json(
            &format!("/api/installations/operations/database/migration/{id}/rollback"),
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `GET …/database/migrations?installation=&state=` (with an empty
    /// `cluster_installation`, as the Go client sends).
    pub async fn get_installation_db_migration_operations(
        &self,
        filter: &InstallationDBMigrationFilter,
    ) -> Result<Vec<InstallationDBMigrationOperation>> {
        let mut query = vec![
            (
                "installation",
                filter.installation_id.clone().unwrap_or_default(),
            ),
            ("cluster_installation", String::new()),
            (
                "state",
                filter
                    .states
                    .first()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json(MIGRATIONS, &query, StatusCode::OK).await
    }

    /// `GET …/database/migration/{id}`; `None` when there is no such operation.
    pub async fn get_installation_db_migration_operation(
        &self,
        id: &str,
    ) -> Result<Option<InstallationDBMigrationOperation>> {
        self.get_json_opt(
            &format!("/api/installations/operations/database/migration/{id}"),
            &[],
        )
        .await
    }
}
