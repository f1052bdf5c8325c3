//! Installation backup methods of the client (the original's
//! `CreateInstallationBackup`, `GetInstallationBackups`,
//! `GetInstallationBackup`, `DeleteInstallationBackup` and the backup API
//! lock).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::backup::{
    InstallationBackup, InstallationBackupFilter, InstallationBackupRequest,
};
use reqwest::StatusCode;

impl Client {
    /// `POST /api/installations/backups` (200).
    pub async fn create_installation_backup(
        &self,
        installation_id: &str,
    ) -> Result<InstallationBackup> {
        let request = InstallationBackupRequest {
            installation_id: installation_id.to_string(),
        };
        self.post_json("/api/installations/backups", &request, StatusCode::OK)
            .await
    }

    /// `GET /api/installations/backups?installation=&cluster_installation=&state=`
    /// (the first of `filter.states` is sent; the route takes one).
    pub async fn get_installation_backups(
        &self,
        filter: &InstallationBackupFilter,
    ) -> Result<Vec<InstallationBackup>> {
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
        self.get_json("/api/installations/backups", &query, StatusCode::OK)
            .await
    }

    /// `GET /api/installations/backup/{id}`; `None` when there is no such backup.
    pub async fn get_installation_backup(&self, id: &str) -> Result<Option<InstallationBackup>> {
        self.get_json_opt(&format!("/api/installations/backup/{id}"), &[])
            .await
    }

    /// `DELETE /api/installations/backup/{id}` (202).
    pub async fn delete_installation_backup(&self, id: &str) -> Result<()> {
        self.delete(
            &format!("/api/installations/backup/{id}"),
            &[],
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `POST /api/security/installation/backup/{id}/api/lock` (200).
    pub async fn lock_api_for_backup(&self, id: &str) -> Result<()> {
        self.security_call("installation/backup", id, "api", "lock")
            .await
    }

    /// `POST /api/security/installation/backup/{id}/api/unlock` (200).
    pub async fn unlock_api_for_backup(&self, id: &str) -> Result<()> {
        self.security_call("installation/backup", id, "api", "unlock")
            .await
    }
}
