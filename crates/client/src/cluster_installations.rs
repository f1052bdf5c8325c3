//! Cluster-installation methods: reads, the Kubernetes-backed calls
//! (config, exec, pprof, status), the cluster-migration calls and the
//! security lock, as in the original client.

use crate::{Client, Result};
use cloud_model::cluster_installation::{
    ClusterInstallation, ClusterInstallationConfig, ClusterInstallationStatus,
    MigrateClusterInstallationRequest, MigrateClusterInstallationResponse,
};
use cloud_model::filter::Paging;
use reqwest::StatusCode;

/// `GET /api/cluster_installations` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetClusterInstallationsRequest {
    /// `""` for any cluster.
    pub cluster_id: String,
    /// `""` for any installation.
    pub installation_id: String,
    pub paging: Paging,
}

impl GetClusterInstallationsRequest {
    /// The query the original sends: both filters even when empty, then the
    /// paging.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("cluster", self.cluster_id.clone()),
            ("installation", self.installation_id.clone()),
            ("page", self.paging.page.to_string()),
            ("per_page", self.paging.per_page.to_string()),
        ];
        if self.paging.include_deleted {
            q.push(("include_deleted", "true".to_string()));
        }
        q
    }
}

impl Client {
    /// `GET /api/cluster_installation/{id}`; `None` when it does not exist.
    pub async fn get_cluster_installation(&self, id: &str) -> Result<Option<ClusterInstallation>> {
        self.get_json_opt(&format!("/api/cluster_installation/{id}"), &[])
            .await
    }

    /// `GET /api/cluster_installations`.
    pub async fn get_cluster_installations(
        &self,
        request: &GetClusterInstallationsRequest,
    ) -> Result<Vec<ClusterInstallation>> {
        self.get_json(
            "/api/cluster_installations",
            &request.query(),
            StatusCode::OK,
        )
        .await
    }

    /// `GET /api/cluster_installation/{id}/config`: the Mattermost config;
    /// `None` when the cluster installation does not exist.
    pub async fn get_cluster_installation_config(
        &self,
        id: &str,
    ) -> Result<Option<ClusterInstallationConfig>> {
        self.get_json_opt(&format!("/api/cluster_installation/{id}/config"), &[])
            .await
    }

    /// `PUT /api/cluster_installation/{id}/config` (200): sets every string
    /// leaf of `config`.
    pub async fn set_cluster_installation_config(
        &self,
        id: &str,
        config: &ClusterInstallationConfig,
    ) -> Result<()> {
        self.put_no_content(
            &format!("/api/cluster_installation/{id}/config"),
            Some(config),
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/cluster_installation/{id}/exec/{command}` (200) with the
    /// arguments; returns the command's output. On failure the error's
    /// message carries the output the server sent.
    pub async fn exec_cluster_installation_cli(
        &self,
        id: &str,
        command: &str,
        args: &[String],
    ) -> Result<Vec<u8>> {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/api/cluster_installation/{id}/exec/{command}"),
            )
            .json(args)
            .send()
            .await?;
        Ok(crate::check(response, StatusCode::OK)
            .await?
            .bytes()
            .await?
            .to_vec())
    }

    /// The `mattermost` CLI through the exec route.
    pub async fn run_mattermost_cli_command_on_cluster_installation(
        &self,
        id: &str,
        args: &[String],
    ) -> Result<Vec<u8>> {
        self.exec_cluster_installation_cli(id, "mattermost", args)
            .await
    }

    /// `GET /api/cluster_installation/{id}/pprof` (200): a zip archive.
    pub async fn exec_cluster_installation_pprof(&self, id: &str) -> Result<Vec<u8>> {
        self.get_bytes(
            &format!("/api/cluster_installation/{id}/pprof"),
            &[],
            StatusCode::OK,
        )
        .await
    }

    /// `GET /api/cluster_installation/{id}/status` (200).
    pub async fn get_cluster_installation_status(
        &self,
        id: &str,
    ) -> Result<ClusterInstallationStatus> {
        self.get_json(
            &format!("/api/cluster_installation/{id}/status"),
            &[],
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/cluster_installations/migrate` (200).
    pub async fn migrate_cluster_installation(
        &self,
        request: &MigrateClusterInstallationRequest,
    ) -> Result<MigrateClusterInstallationResponse> {
        self.post_json(
            "/api/cluster_installations/migrate",
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/cluster_installations/migrate/dns` (200).
    pub async fn migrate_dns(
        &self,
        request: &MigrateClusterInstallationRequest,
    ) -> Result<MigrateClusterInstallationResponse> {
        self.post_json(
            "/api/cluster_installations/migrate/dns",
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/cluster_installations/migrate/delete_inactive/{cluster_id}` (200).
    pub async fn delete_inactive_cluster_installations_by_cluster(
        &self,
        cluster_id: &str,
    ) -> Result<MigrateClusterInstallationResponse> {
        self.delete_json(
            &format!("/api/cluster_installations/migrate/delete_inactive/{cluster_id}"),
            &[],
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/cluster_installations/migrate/delete_inactive/cluster_installation/{id}` (200).
    pub async fn delete_inactive_cluster_installation_by_id(
        &self,
        id: &str,
    ) -> Result<ClusterInstallation> {
        self.delete_json(
            &format!(
                "/api/cluster_installations/migrate/delete_inactive/cluster_installation/{id}"
            ),
            &[],
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/cluster_installations/migrate/switch_cluster_roles` (200).
    pub async fn switch_cluster_roles(
        &self,
        request: &MigrateClusterInstallationRequest,
    ) -> Result<MigrateClusterInstallationResponse> {
        self.post_json(
            "/api/cluster_installations/migrate/switch_cluster_roles",
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/security/cluster_installation/{id}/api/lock`.
    pub async fn lock_api_for_cluster_installation(&self, id: &str) -> Result<()> {
        self.security_call("cluster_installation", id, "api", "lock")
            .await
    }

    /// `POST /api/security/cluster_installation/{id}/api/unlock`.
    pub async fn unlock_api_for_cluster_installation(&self, id: &str) -> Result<()> {
        self.security_call("cluster_installation", id, "api", "unlock")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_sends_empty_filters() {
        let q = GetClusterInstallationsRequest::default().query();
        assert_eq!(
            q,
            vec![
                ("cluster", String::new()),
                ("installation", String::new()),
                ("page", "0".to_string()),
                ("per_page", "100".to_string()),
            ]
        );
        let deleted = GetClusterInstallationsRequest {
            cluster_id: "c".into(),
            paging: Paging {
                include_deleted: true,
                ..Paging::default()
            },
            ..Default::default()
        };
        assert_eq!(deleted.query()[0], ("cluster", "c".to_string()));
        assert_eq!(
            deleted.query().last(),
            Some(&("include_deleted", "true".to_string()))
        );
    }
}
