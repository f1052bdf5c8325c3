//! Shared-database methods of the client (the original's
//! `GetMultitenantDatabases`, `GetMultitenantDatabase`,
//! `UpdateMultitenantDatabase`, `DeleteMultitenantDatabase`,
//! `GetLogicalDatabases`, `GetLogicalDatabase`, `DeleteLogicalDatabase`,
//! `GetDatabaseSchemas`, `GetDatabaseSchema`).

use crate::clusters::paging_query;
use crate::{Client, Result};
use cloud_model::database::{
    DatabaseSchema, DatabaseSchemaFilter, LogicalDatabase, LogicalDatabaseFilter,
    MultitenantDatabase, MultitenantDatabaseFilter, PatchMultitenantDatabaseRequest,
};
use reqwest::StatusCode;

impl Client {
    /// `GET /api/databases/multitenant_databases?vpc_id=&database_type=`
    pub async fn get_multitenant_databases(
        &self,
        filter: &MultitenantDatabaseFilter,
    ) -> Result<Vec<MultitenantDatabase>> {
        let mut query = vec![
            ("vpc_id", filter.vpc_id.clone().unwrap_or_default()),
            (
                "database_type",
                filter
                    .database_type
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json(
            "/api/databases/multitenant_databases",
            &query,
            StatusCode::OK,
        )
        .await
    }

    /// `GET /api/databases/multitenant_database/{id}`; `None` when missing.
    pub async fn get_multitenant_database(&self, id: &str) -> Result<Option<MultitenantDatabase>> {
        self.get_json_opt(&format!("/api/databases/multitenant_database/{id}"), &[])
            .await
    }

    /// `PUT /api/databases/multitenant_database/{id}` (200).
    pub async fn update_multitenant_database(
        &self,
        id: &str,
        patch: &PatchMultitenantDatabaseRequest,
    ) -> Result<MultitenantDatabase> {
        self.put_json(
            &format!("/api/databases/multitenant_database/{id}"),
            patch,
            StatusCode::OK,
        )
        .await
    }

    /// `DELETE /api/databases/multitenant_database/{id}?force=` (204).
    pub async fn delete_multitenant_database(&self, id: &str, force: bool) -> Result<()> {
        self.delete(
            &format!("/api/databases/multitenant_database/{id}"),
            &[("force", force.to_string())],
            StatusCode::NO_CONTENT,
        )
        .await
    }

    /// `GET /api/databases/logical_databases?multitenant_database_id=`
    pub async fn get_logical_databases(
        &self,
        filter: &LogicalDatabaseFilter,
    ) -> Result<Vec<LogicalDatabase>> {
        let mut query = vec![(
            "multitenant_database_id",
            filter.multitenant_database_id.clone().unwrap_or_default(),
        )];
        query.extend(paging_query(&filter.paging));
        self.get_json("/api/databases/logical_databases", &query, StatusCode::OK)
            .await
    }

    /// `GET /api/databases/logical_database/{id}`; `None` when missing.
    pub async fn get_logical_database(&self, id: &str) -> Result<Option<LogicalDatabase>> {
        self.get_json_opt(&format!("/api/databases/logical_database/{id}"), &[])
            .await
    }

    /// `DELETE /api/databases/logical_database/{id}` (204).
    pub async fn delete_logical_database(&self, id: &str) -> Result<()> {
        self.delete(
            &format!("/api/databases/logical_database/{id}"),
            &[],
            StatusCode::NO_CONTENT,
        )
        .await
    }

    /// `GET /api/databases/database_schemas?logical_database_id=&installation_id=`
    pub async fn get_database_schemas(
        &self,
        filter: &DatabaseSchemaFilter,
    ) -> Result<Vec<DatabaseSchema>> {
        let mut query = vec![
            (
                "logical_database_id",
                filter.logical_database_id.clone().unwrap_or_default(),
            ),
            (
                "installation_id",
                filter.installation_id.clone().unwrap_or_default(),
            ),
        ];
        query.extend(paging_query(&filter.paging));
        self.get_json("/api/databases/database_schemas", &query, StatusCode::OK)
            .await
    }

    /// `GET /api/databases/database_schema/{id}`; `None` when missing.
    pub async fn get_database_schema(&self, id: &str) -> Result<Option<DatabaseSchema>> {
        self.get_json_opt(&format!("/api/databases/database_schema/{id}"), &[])
            .await
    }
}
