//! Cluster methods of the client (the original's `CreateCluster`,
//! `GetClusters`, `UpgradeCluster`, …), each expecting the status the route
//! answers on success.

use crate::{Client, Result};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::cluster::ClusterDto;
use cloud_model::cluster_request::{
    CreateClusterRequest, CreateNodegroupsRequest, ImportClusterRequest, PatchClusterSizeRequest,
    PatchUpgradeClusterRequest, ProvisionClusterRequest, UpdateClusterRequest,
};
use cloud_model::filter::Paging;
use cloud_model::utility::UtilityMetadata;
use reqwest::StatusCode;

/// The paging query the Go client sends: `page` and `per_page` always,
/// `include_deleted=true` only when set.
pub(crate) fn paging_query(paging: &Paging) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("page", paging.page.to_string()),
        ("per_page", paging.per_page.to_string()),
    ];
    if paging.include_deleted {
        query.push(("include_deleted", "true".to_string()));
    }
    query
}

/// Percent-encodes one path segment (annotation and node group names are
/// free text in the route).
pub(crate) fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Client {
    /// `POST /api/clusters` (202).
    pub async fn create_cluster(&self, request: &CreateClusterRequest) -> Result<ClusterDto> {
        self.post_json("/api/clusters", request, StatusCode::ACCEPTED)
            .await
    }

    /// `POST /api/cluster/{id}`: retries the creation of a failed cluster (202).
    pub async fn retry_create_cluster(&self, id: &str) -> Result<ClusterDto> {
        self.post_empty_json(&format!("/api/cluster/{id}"), StatusCode::ACCEPTED)
            .await
    }

    /// `POST /api/clusters/import` (202).
    pub async fn import_cluster(&self, request: &ImportClusterRequest) -> Result<ClusterDto> {
        self.post_json("/api/clusters/import", request, StatusCode::ACCEPTED)
            .await
    }

    /// `POST /api/cluster/{id}/provision` (202); no body when `request` is `None`.
    pub async fn provision_cluster(
        &self,
        id: &str,
        request: Option<&ProvisionClusterRequest>,
    ) -> Result<ClusterDto> {
        let path = format!("/api/cluster/{id}/provision");
        match request {
            Some(body) => self.post_json(&path, body, StatusCode::ACCEPTED).await,
            None => self.post_empty_json(&path, StatusCode::ACCEPTED).await,
        }
    }

    /// `GET /api/cluster/{id}` (deleted clusters too); `None` when unknown.
    pub async fn get_cluster(&self, id: &str) -> Result<Option<ClusterDto>> {
        self.get_json_opt(&format!("/api/cluster/{id}"), &[]).await
    }

    /// `GET /api/clusters`.
    pub async fn get_clusters(&self, paging: &Paging) -> Result<Vec<ClusterDto>> {
        self.get_json("/api/clusters", &paging_query(paging), StatusCode::OK)
            .await
    }

    /// `GET /api/cluster/{id}/utilities`.
    pub async fn get_cluster_utilities(&self, id: &str) -> Result<UtilityMetadata> {
        self.get_json(&format!("/api/cluster/{id}/utilities"), &[], StatusCode::OK)
            .await
    }

    /// `PUT /api/cluster/{id}`: name and `AllowInstallations` (202).
    pub async fn update_cluster(
        &self,
        id: &str,
        request: &UpdateClusterRequest,
    ) -> Result<ClusterDto> {
        self.put_json(&format!("/api/cluster/{id}"), request, StatusCode::ACCEPTED)
            .await
    }

    /// `PUT /api/cluster/{id}/kubernetes` (202).
    pub async fn upgrade_cluster(
        &self,
        id: &str,
        request: &PatchUpgradeClusterRequest,
    ) -> Result<ClusterDto> {
        self.put_json(
            &format!("/api/cluster/{id}/kubernetes"),
            request,
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `PUT /api/cluster/{id}/size` (202).
    pub async fn resize_cluster(
        &self,
        id: &str,
        request: &PatchClusterSizeRequest,
    ) -> Result<ClusterDto> {
        self.put_json(
            &format!("/api/cluster/{id}/size"),
            request,
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `POST /api/cluster/{id}/nodegroups` (202; EKS clusters only).
    pub async fn create_nodegroups(
        &self,
        id: &str,
        request: &CreateNodegroupsRequest,
    ) -> Result<ClusterDto> {
        self.post_json(
            &format!("/api/cluster/{id}/nodegroups"),
            request,
            StatusCode::ACCEPTED,
        )
        .await
    }

    /// `DELETE /api/cluster/{id}/nodegroup/{nodegroup}` (202; EKS only).
    pub async fn delete_nodegroup(&self, id: &str, nodegroup: &str) -> Result<ClusterDto> {
        let path = format!("/api/cluster/{id}/nodegroup/{}", path_segment(nodegroup));
        self.delete_json(&path, &[], StatusCode::ACCEPTED).await
    }

    /// `DELETE /api/cluster/{id}` (202).
    pub async fn delete_cluster(&self, id: &str) -> Result<()> {
        self.delete(&format!("/api/cluster/{id}"), &[], StatusCode::ACCEPTED)
            .await
    }

    /// `POST /api/cluster/{id}/annotations` (200).
    pub async fn add_cluster_annotations(
        &self,
        id: &str,
        request: &AddAnnotationsRequest,
    ) -> Result<ClusterDto> {
        self.post_json(
            &format!("/api/cluster/{id}/annotations"),
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/cluster/{id}/annotation/{name}` (204).
    pub async fn delete_cluster_annotation(&self, id: &str, name: &str) -> Result<()> {
        let path = format!("/api/cluster/{id}/annotation/{}", path_segment(name));
        self.delete(&path, &[], StatusCode::NO_CONTENT).await
    }

    /// `POST /api/security/cluster/{id}/api/lock` (200).
    pub async fn lock_api_for_cluster(&self, id: &str) -> Result<()> {
        self.security_call("cluster", id, "api", "lock").await
    }

    /// `POST /api/security/cluster/{id}/api/unlock` (200).
    pub async fn unlock_api_for_cluster(&self, id: &str) -> Result<()> {
        self.security_call("cluster", id, "api", "unlock").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_query_matches_the_go_client() {
        assert_eq!(
            paging_query(&Paging::default()),
            [("page", "0".to_string()), ("per_page", "100".to_string())]
        );
        let all = paging_query(&Paging::all());
        assert_eq!(all[1], ("per_page", "-1".to_string()));
        assert_eq!(all[2], ("include_deleted", "true".to_string()));
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("worker-1_a.b~"), "worker-1_a.b~");
        assert_eq!(path_segment("a b/c?"), "a%20b%2Fc%3F");
    }
}
