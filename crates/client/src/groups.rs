//! Group, membership and group-security methods (the original client's
//! `CreateGroup` … `LeaveGroup`, `AddGroupAnnotations`, `LockAPIForGroup`).

use crate::{Client, Result};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::filter::Paging;
use cloud_model::group::{
    AssignInstallationGroupRequest, CreateGroupRequest, GroupDto, GroupStatus, GroupsStatus,
    LeaveGroupRequest, PatchGroupRequest, SHOW_INSTALLATION_COUNT_PARAM,
};
use reqwest::StatusCode;

/// `GET /api/groups` parameters (`GetGroupsRequest`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetGroupsRequest {
    pub paging: Paging,
    /// Ask for each group's `installation_count`.
    pub with_installation_count: bool,
}

impl GetGroupsRequest {
    /// The query the original sends: `show_installation_count=true` only when
    /// asked, then the paging.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if self.with_installation_count {
            q.push((SHOW_INSTALLATION_COUNT_PARAM, "true".to_string()));
        }
        q.push(("page", self.paging.page.to_string()));
        q.push(("per_page", self.paging.per_page.to_string()));
        if self.paging.include_deleted {
            q.push(("include_deleted", "true".to_string()));
        }
        q
    }
}

impl Client {
    /// `POST /api/groups` (200).
    pub async fn create_group(&self, request: &CreateGroupRequest) -> Result<GroupDto> {
        self.post_json("/api/groups", request, StatusCode::OK).await
    }

    /// `PUT /api/group/{request.ID}` (200): the updated group.
    pub async fn update_group(&self, request: &PatchGroupRequest) -> Result<GroupDto> {
        self.put_json(
            &format!("/api/group/{}", request.id),
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/group/{id}` (200).
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.delete(&format!("/api/group/{id}"), &[], StatusCode::OK)
            .await
    }

    /// `GET /api/group/{id}`; `None` when it does not exist.
    pub async fn get_group(&self, id: &str) -> Result<Option<GroupDto>> {
        self.get_json_opt(&format!("/api/group/{id}"), &[]).await
    }

    /// `GET /api/groups`.
    pub async fn get_groups(&self, request: &GetGroupsRequest) -> Result<Vec<GroupDto>> {
        self.get_json("/api/groups", &request.query(), StatusCode::OK)
            .await
    }

    /// `GET /api/group/{id}/status`; `None` when the group does not exist.
    pub async fn get_group_status(&self, id: &str) -> Result<Option<GroupStatus>> {
        self.get_json_opt(&format!("/api/group/{id}/status"), &[])
            .await
    }

    /// `GET /api/groups/status`. An original server answers 404 when there
    /// are no groups; that reads as an empty list here.
    pub async fn get_groups_status(&self) -> Result<Vec<GroupsStatus>> {
        Ok(self
            .get_json_opt::<Option<Vec<GroupsStatus>>>("/api/groups/status", &[])
            .await?
            .flatten()
            .unwrap_or_default())
    }

    /// `PUT /api/installation/{installation_id}/group/{group_id}` (200).
    pub async fn join_group(&self, group_id: &str, installation_id: &str) -> Result<()> {
        self.put_no_content::<()>(
            &format!("/api/installation/{installation_id}/group/{group_id}"),
            None,
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/installation/{installation_id}/group/assign` (200): joins
    /// the least-used group carrying all the annotations.
    pub async fn assign_group(
        &self,
        installation_id: &str,
        request: &AssignInstallationGroupRequest,
    ) -> Result<()> {
        self.post_no_content(
            &format!("/api/installation/{installation_id}/group/assign"),
            Some(request),
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/installation/{installation_id}/group` (200);
    /// `retain_config=false` is sent only when config is not retained.
    pub async fn leave_group(
        &self,
        installation_id: &str,
        request: &LeaveGroupRequest,
    ) -> Result<()> {
        let query: Vec<(&str, String)> = if request.retain_config {
            Vec::new()
        } else {
            vec![("retain_config", "false".to_string())]
        };
        self.delete(
            &format!("/api/installation/{installation_id}/group"),
            &query,
            StatusCode::OK,
        )
        .await
    }

    /// `POST /api/group/{id}/annotations` (200).
    pub async fn add_group_annotations(
        &self,
        id: &str,
        request: &AddAnnotationsRequest,
    ) -> Result<GroupDto> {
        self.post_json(
            &format!("/api/group/{id}/annotations"),
            request,
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/group/{id}/annotation/{name}` (204).
    pub async fn delete_group_annotation(&self, id: &str, name: &str) -> Result<()> {
        self.delete(
            &format!("/api/group/{id}/annotation/{name}"),
            &[],
            StatusCode::NO_CONTENT,
        )
        .await
    }

    /// `POST /api/security/group/{id}/api/lock`.
    pub async fn lock_api_for_group(&self, id: &str) -> Result<()> {
        self.security_call("group", id, "api", "lock").await
    }

    /// `POST /api/security/group/{id}/api/unlock`.
    pub async fn unlock_api_for_group(&self, id: &str) -> Result<()> {
        self.security_call("group", id, "api", "unlock").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_query_matches_the_original() {
        let plain = GetGroupsRequest::default();
        assert_eq!(
            plain.query(),
            vec![("page", "0".to_string()), ("per_page", "100".to_string())]
        );
        let full = GetGroupsRequest {
            paging: Paging {
                page: 2,
                per_page: -1,
                include_deleted: true,
            },
            with_installation_count: true,
        };
        assert_eq!(
            full.query(),
            vec![
                ("show_installation_count", "true".to_string()),
                ("page", "2".to_string()),
                ("per_page", "-1".to_string()),
                ("include_deleted", "true".to_string()),
            ]
        );
    }
}
