//! Installation methods of the client (the original `model.Client`'s
//! installation calls, except the group, backup and operation ones, which
//! live with their resources). Each checks for exactly the status the route
//! answers on success.

use crate::{Client, ClientError, Result};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::filter::Paging;
use cloud_model::installation::{InstallationDTO, InstallationsCount, InstallationsStatus};
use cloud_model::installation_dns::AddDNSRecordRequest;
use cloud_model::installation_request::{
    CreateInstallationRequest, CreateInstallationVolumeRequest, GetInstallationRequest,
    GetInstallationsRequest, PatchInstallationDeletionRequest, PatchInstallationRequest,
    PatchInstallationScheduledDeletionRequest, PatchInstallationVolumeRequest,
};
use reqwest::StatusCode;

/// Percent-encodes one path segment (volume and annotation names are not IDs).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn installation_path(id: &str) -> String {
    format!("/api/installation/{}", segment(id))
}

impl Client {
    /// `POST /api/installations` (202).
    pub async fn create_installation(
        &self,
        request: &CreateInstallationRequest,
    ) -> Result<InstallationDTO> {
        self.post_json("/api/installations", request, StatusCode::ACCEPTED)
            .await
    }

    /// `POST /api/installation/{id}`: retries a failed creation (202).
    pub async fn retry_create_installation(&self, id: &str) -> Result<InstallationDTO> {
        self.post_empty_json(&installation_path(id), StatusCode::ACCEPTED)
            .await
    }

    /// `GET /api/installation/{id}`; `None` when it does not exist.
    pub async fn get_installation(
        &self,
        id: &str,
        request: &GetInstallationRequest,
    ) -> Result<Option<InstallationDTO>> {
        self.get_json_opt(&installation_path(id), &request.query_pairs())
            .await
    }

    /// `GET /api/installations` with filters and paging.
    pub async fn get_installations(
        &self,
        request: &GetInstallationsRequest,
    ) -> Result<Vec<InstallationDTO>> {
        self.get_json("/api/installations", &request.query_pairs(), StatusCode::OK)
            .await
    }

    /// The live installation with domain name `dns` (all pages are
    /// searched); an error when several match.
    pub async fn get_installation_by_dns(
        &self,
        dns: &str,
        request: &GetInstallationRequest,
    ) -> Result<Option<InstallationDTO>> {
        let mut found = self
            .get_installations(&GetInstallationsRequest {
                paging: Paging::all_live(),
                dns: dns.to_string(),
                include_group_config: request.include_group_config,
                include_group_config_overrides: request.include_group_config_overrides,
                ..Default::default()
            })
            .await?;
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => Err(ClientError::Decode(format!(
                "expected at most one installation with domain name {dns:?}, found {n}"
            ))),
        }
    }

    /// `GET /api/installations/count`.
    pub async fn get_installations_count(&self, include_deleted: bool) -> Result<i64> {
        let count: InstallationsCount = self
            .get_json(
                "/api/installations/count",
                &[("include_deleted", include_deleted.to_string())],
                StatusCode::OK,
            )
            .await?;
        Ok(count.count)
    }

    /// `GET /api/installations/status`.
    pub async fn get_installations_status(&self) -> Result<InstallationsStatus> {
        self.get_json("/api/installations/status", &[], StatusCode::OK)
            .await
    }

    /// `PUT /api/installation/{id}/mattermost` (202).
    pub async fn update_installation(
        &self,
        id: &str,
        request: &PatchInstallationRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/mattermost", installation_path(id));
        self.put_json(&path, request, StatusCode::ACCEPTED).await
    }

    /// `POST /api/installation/{id}/volumes` (202).
    pub async fn create_installation_volume(
        &self,
        id: &str,
        request: &CreateInstallationVolumeRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/volumes", installation_path(id));
        self.post_json(&path, request, StatusCode::ACCEPTED).await
    }

    /// `PUT /api/installation/{id}/volume/{name}` (202).
    pub async fn update_installation_volume(
        &self,
        id: &str,
        name: &str,
        request: &PatchInstallationVolumeRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/volume/{}", installation_path(id), segment(name));
        self.put_json(&path, request, StatusCode::ACCEPTED).await
    }

    /// `DELETE /api/installation/{id}/volume/{name}` (202).
    pub async fn delete_installation_volume(
        &self,
        id: &str,
        name: &str,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/volume/{}", installation_path(id), segment(name));
        self.delete_json(&path, &[], StatusCode::ACCEPTED).await
    }

    /// `POST /api/installation/{id}/hibernate` (202).
    pub async fn hibernate_installation(&self, id: &str) -> Result<InstallationDTO> {
        let path = format!("{}/hibernate", installation_path(id));
        self.post_empty_json(&path, StatusCode::ACCEPTED).await
    }

    /// `POST /api/installation/{id}/wakeup` with an optional patch (202).
    pub async fn wakeup_installation(
        &self,
        id: &str,
        request: Option<&PatchInstallationRequest>,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/wakeup", installation_path(id));
        match request {
            Some(r) => self.post_json(&path, r, StatusCode::ACCEPTED).await,
            None => self.post_empty_json(&path, StatusCode::ACCEPTED).await,
        }
    }

    /// `DELETE /api/installation/{id}` (202, no body).
    pub async fn delete_installation(&self, id: &str) -> Result<()> {
        self.delete(&installation_path(id), &[], StatusCode::ACCEPTED)
            .await
    }

    /// `PUT /api/installation/{id}/deletion` (200).
    pub async fn update_installation_deletion(
        &self,
        id: &str,
        request: &PatchInstallationDeletionRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/deletion", installation_path(id));
        self.put_json(&path, request, StatusCode::OK).await
    }

    /// `POST /api/installation/{id}/deletion/cancel` (202, no body).
    pub async fn cancel_installation_deletion(&self, id: &str) -> Result<()> {
        let path = format!("{}/deletion/cancel", installation_path(id));
        self.post_no_content::<()>(&path, None, StatusCode::ACCEPTED)
            .await
    }

    /// `PUT /api/installation/{id}/deletion/schedule` (200).
    pub async fn update_installation_scheduled_deletion(
        &self,
        id: &str,
        request: &PatchInstallationScheduledDeletionRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/deletion/schedule", installation_path(id));
        self.put_json(&path, request, StatusCode::OK).await
    }

    /// `POST /api/installation/{id}/dns` (202).
    pub async fn add_installation_dns(
        &self,
        id: &str,
        request: &AddDNSRecordRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/dns", installation_path(id));
        self.post_json(&path, request, StatusCode::ACCEPTED).await
    }

    /// `POST /api/installation/{id}/dns/{dns_id}/set-primary` (202).
    pub async fn set_installation_domain_primary(
        &self,
        id: &str,
        dns_id: &str,
    ) -> Result<InstallationDTO> {
        let path = format!(
            "{}/dns/{}/set-primary",
            installation_path(id),
            segment(dns_id)
        );
        self.post_empty_json(&path, StatusCode::ACCEPTED).await
    }

    /// `DELETE /api/installation/{id}/dns/{dns_id}` (202).
    pub async fn delete_installation_dns(&self, id: &str, dns_id: &str) -> Result<InstallationDTO> {
        let path = format!("{}/dns/{}", installation_path(id), segment(dns_id));
        self.delete_json(&path, &[], StatusCode::ACCEPTED).await
    }

    /// `POST /api/installation/{id}/annotations` (200).
    pub async fn add_installation_annotations(
        &self,
        id: &str,
        request: &AddAnnotationsRequest,
    ) -> Result<InstallationDTO> {
        let path = format!("{}/annotations", installation_path(id));
        self.post_json(&path, request, StatusCode::OK).await
    }

    /// `DELETE /api/installation/{id}/annotation/{name}` (204).
    pub async fn delete_installation_annotation(&self, id: &str, name: &str) -> Result<()> {
        let path = format!("{}/annotation/{}", installation_path(id), segment(name));
        self.delete(&path, &[], StatusCode::NO_CONTENT).await
    }

    /// `POST /api/security/installation/{id}/api/lock`.
    pub async fn lock_api_for_installation(&self, id: &str) -> Result<()> {
        self.security_call("installation", id, "api", "lock").await
    }

    /// `POST /api/security/installation/{id}/api/unlock`.
    pub async fn unlock_api_for_installation(&self, id: &str) -> Result<()> {
        self.security_call("installation", id, "api", "unlock")
            .await
    }

    /// `POST /api/security/installation/{id}/deletion/lock`.
    pub async fn lock_deletion_lock_for_installation(&self, id: &str) -> Result<()> {
        self.security_call("installation", id, "deletion", "lock")
            .await
    }

    /// `POST /api/security/installation/{id}/deletion/unlock`.
    pub async fn unlock_deletion_lock_for_installation(&self, id: &str) -> Result<()> {
        self.security_call("installation", id, "deletion", "unlock")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("certs_1-a.b~"), "certs_1-a.b~");
        assert_eq!(segment("a b/c?"), "a%20b%2Fc%3F");
        assert_eq!(installation_path("abc"), "/api/installation/abc");
    }
}
