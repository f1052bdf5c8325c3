//! Shared ("multitenant") databases: `MultitenantDatabase` (one RDS cluster
//! hosting many installations), and for the proxy engine types its
//! `LogicalDatabase`s and their per-installation `DatabaseSchema`s.
//!
//! Rows are created lazily from AWS tags by the database provisioning code;
//! the API only reads them, changes `MaxInstallationsPerLogicalDatabase` and
//! marks them deleted. `DatabaseType` here is the **engine** type (`mysql`,
//! `postgres`, `postgres-proxy`, `postgres-proxy-perseus`), not the
//! installation database type.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::filter::Paging;
use crate::installation::{Installation, InstallationState};

/// Default `MaxInstallationsPerLogicalDatabase` of new proxy databases
/// (server flag `--default-max-schemas-per-logical-database`).
pub const DEFAULT_MAX_INSTALLATIONS_PER_LOGICAL_DATABASE: i64 = 10;

/// How much an installation in `state` counts towards a shared database's
/// capacity ([`Installation::database_weight`], for callers that only have
/// the state).
pub fn database_weight(state: InstallationState) -> f64 {
    Installation {
        state,
        ..Default::default()
    }
    .database_weight()
}

/// Engine type of a shared database (`MultitenantDatabase.DatabaseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DatabaseEngineType {
    #[serde(rename = "mysql")]
    MySql,
    #[default]
    #[serde(rename = "postgres")]
    Postgres,
    /// PgBouncer-proxied Postgres.
    #[serde(rename = "postgres-proxy")]
    PostgresProxy,
    /// Perseus-proxied Postgres.
    #[serde(rename = "postgres-proxy-perseus")]
    PostgresProxyPerseus,
}

impl DatabaseEngineType {
    pub const ALL: [DatabaseEngineType; 4] = [
        DatabaseEngineType::MySql,
        DatabaseEngineType::Postgres,
        DatabaseEngineType::PostgresProxy,
        DatabaseEngineType::PostgresProxyPerseus,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DatabaseEngineType::MySql => "mysql",
            DatabaseEngineType::Postgres => "postgres",
            DatabaseEngineType::PostgresProxy => "postgres-proxy",
            DatabaseEngineType::PostgresProxyPerseus => "postgres-proxy-perseus",
        }
    }

    /// Proxy types have logical databases and schemas.
    pub fn is_proxy(&self) -> bool {
        matches!(
            self,
            DatabaseEngineType::PostgresProxy | DatabaseEngineType::PostgresProxyPerseus
        )
    }
}

impl fmt::Display for DatabaseEngineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatabaseEngineType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("unknown database type {s:?} (one of {})", names.join(", "))
            })
    }
}

/// `MultitenantDatabase.State`. There is no supervisor: a proxy database
/// starts in `provisioning-requested` and its first installation's
/// provisioning runs the one-time setup and sets `stable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum MultitenantDatabaseState {
    #[default]
    #[serde(rename = "stable")]
    Stable,
    #[serde(rename = "provisioning-requested")]
    ProvisioningRequested,
}

impl MultitenantDatabaseState {
    pub const ALL: [MultitenantDatabaseState; 2] = [
        MultitenantDatabaseState::Stable,
        MultitenantDatabaseState::ProvisioningRequested,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MultitenantDatabaseState::Stable => "stable",
            MultitenantDatabaseState::ProvisioningRequested => "provisioning-requested",
        }
    }
}

impl fmt::Display for MultitenantDatabaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MultitenantDatabaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown database state {s:?} (one of stable, provisioning-requested)")
            })
    }
}

/// `null` reads as an empty list (the original writes `null` for a nil
/// slice); lists are always written as arrays.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A shared RDS cluster hosting the databases of many installations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultitenantDatabase {
    #[serde(rename = "ID")]
    pub id: String,
    /// AWS RDS cluster identifier; unique among live rows.
    #[serde(rename = "RdsClusterID", default)]
    pub rds_cluster_id: String,
    #[serde(rename = "VpcID", default)]
    pub vpc_id: String,
    #[serde(rename = "DatabaseType")]
    pub database_type: DatabaseEngineType,
    #[serde(rename = "State", default)]
    pub state: MultitenantDatabaseState,
    #[serde(rename = "WriterEndpoint", default)]
    pub writer_endpoint: String,
    #[serde(rename = "ReaderEndpoint", default)]
    pub reader_endpoint: String,
    /// IDs of the installations hosted here.
    #[serde(rename = "Installations", default, deserialize_with = "null_as_empty")]
    pub installations: Vec<String>,
    /// Installations that migrated away but whose data is still here.
    #[serde(
        rename = "MigratedInstallations",
        default,
        deserialize_with = "null_as_empty"
    )]
    pub migrated_installations: Vec<String>,
    /// Proxy types only.
    #[serde(
        rename = "MaxInstallationsPerLogicalDatabase",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub max_installations_per_logical_database: i64,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl MultitenantDatabase {
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }

    /// The reader endpoint, or the writer when there is no reader.
    pub fn reader_endpoint_or_writer(&self) -> &str {
        if self.reader_endpoint.is_empty() {
            &self.writer_endpoint
        } else {
            &self.reader_endpoint
        }
    }

    pub fn hosts(&self, installation_id: &str) -> bool {
        self.installations.iter().any(|id| id == installation_id)
    }

    pub fn hosted_migrated(&self, installation_id: &str) -> bool {
        self.migrated_installations
            .iter()
            .any(|id| id == installation_id)
    }
}

/// A physical database inside a proxy-type shared database, holding up to
/// `MaxInstallationsPerLogicalDatabase` schemas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalDatabase {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "MultitenantDatabaseID")]
    pub multitenant_database_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl LogicalDatabase {
    /// The name of a new logical database: `cloud_<id>`.
    pub fn default_name(id: &str) -> String {
        format!("cloud_{id}")
    }

    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// One installation's schema inside a logical database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSchema {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "LogicalDatabaseID")]
    pub logical_database_id: String,
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt", default)]
    pub delete_at: i64,
    #[serde(rename = "LockAcquiredBy", default)]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt", default)]
    pub lock_acquired_at: i64,
}

impl DatabaseSchema {
    /// The name of an installation's schema: `id_<installationID>`.
    pub fn default_name(installation_id: &str) -> String {
        format!("id_{installation_id}")
    }

    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }
}

/// The three rows that make up a proxy installation's database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseResourceGrouping {
    #[serde(rename = "MultitenantDatabase")]
    pub multitenant_database: Option<MultitenantDatabase>,
    #[serde(rename = "LogicalDatabase")]
    pub logical_database: Option<LogicalDatabase>,
    #[serde(rename = "DatabaseSchema")]
    pub database_schema: Option<DatabaseSchema>,
}

/// Store filter of shared databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultitenantDatabaseFilter {
    pub paging: Paging,
    /// Rows locked by this owner.
    pub locker_id: Option<String>,
    /// Rows whose `Installations` contain this ID.
    pub installation_id: Option<String>,
    /// Rows whose `MigratedInstallations` contain this ID.
    pub migrated_installation_id: Option<String>,
    pub vpc_id: Option<String>,
    pub database_type: Option<DatabaseEngineType>,
    /// Only rows with `ceil(total weight) < limit`; `None` is the original's
    /// `NoInstallationsLimit` (-1).
    pub max_installations_limit: Option<i64>,
}

/// Store filter of logical databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalDatabaseFilter {
    pub paging: Paging,
    pub multitenant_database_id: Option<String>,
}

/// Store filter of database schemas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSchemaFilter {
    pub paging: Paging,
    pub logical_database_id: Option<String>,
    pub installation_id: Option<String>,
}

/// Body of `PUT /api/databases/multitenant_database/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchMultitenantDatabaseRequest {
    #[serde(
        rename = "MaxInstallationsPerLogicalDatabase",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_installations_per_logical_database: Option<i64>,
}

impl PatchMultitenantDatabaseRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self.max_installations_per_logical_database {
            Some(max) if max < 1 => Err(ValidationError::new(
                "MaxInstallationsPerLogicalDatabase",
                "MaxInstallationsPerLogicalDatabase must be 1 or greater",
            )),
            _ => Ok(()),
        }
    }

    /// Applies the patch; returns whether anything changed. As in the
    /// original, only PgBouncer (`postgres-proxy`) databases take the value.
    pub fn apply(&self, database: &mut MultitenantDatabase) -> bool {
        match self.max_installations_per_logical_database {
            Some(max)
                if database.database_type == DatabaseEngineType::PostgresProxy
                    && max != database.max_installations_per_logical_database =>
            {
                database.max_installations_per_logical_database = max;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"ID":"d1b2c3d4e5f6g7h8i9j0k1l2m3","RdsClusterID":"rds-cluster-multitenant-0123456789ab-cd","VpcID":"vpc-1","DatabaseType":"postgres-proxy","State":"stable","WriterEndpoint":"w.example.com","ReaderEndpoint":"","Installations":["i1b2c3d4e5f6g7h8i9j0k1l2m3"],"MigratedInstallations":[],"MaxInstallationsPerLogicalDatabase":10,"CreateAt":1620000000000,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;

    #[test]
    fn multitenant_database_round_trips_the_original_shape() {
        let db: MultitenantDatabase = serde_json::from_str(DOC).unwrap();
        assert_eq!(db.database_type, DatabaseEngineType::PostgresProxy);
        assert!(db.hosts("i1b2c3d4e5f6g7h8i9j0k1l2m3"));
        assert!(!db.hosted_migrated("i1b2c3d4e5f6g7h8i9j0k1l2m3"));
        assert_eq!(db.reader_endpoint_or_writer(), "w.example.com");
        assert_eq!(serde_json::to_string(&db).unwrap(), DOC);
    }

    #[test]
    fn null_lists_read_as_empty_and_zero_max_is_omitted() {
        let doc = r#"{"ID":"d","RdsClusterID":"r","VpcID":"v","DatabaseType":"mysql","State":"stable","WriterEndpoint":"","ReaderEndpoint":"","Installations":null,"MigratedInstallations":null,"CreateAt":1,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;
        let db: MultitenantDatabase = serde_json::from_str(doc).unwrap();
        assert!(db.installations.is_empty());
        let out = serde_json::to_string(&db).unwrap();
        assert_eq!(
            out,
            doc.replace("\"Installations\":null", "\"Installations\":[]")
                .replace(
                    "\"MigratedInstallations\":null",
                    "\"MigratedInstallations\":[]"
                )
        );
        assert!(!out.contains("MaxInstallationsPerLogicalDatabase"));
    }

    #[test]
    fn logical_database_and_schema_round_trip() {
        let doc = r#"{"ID":"l","MultitenantDatabaseID":"d","Name":"cloud_l","CreateAt":1,"DeleteAt":0,"LockAcquiredBy":null,"LockAcquiredAt":0}"#;
        let ld: LogicalDatabase = serde_json::from_str(doc).unwrap();
        assert_eq!(ld.name, LogicalDatabase::default_name("l"));
        assert_eq!(serde_json::to_string(&ld).unwrap(), doc);

        let doc = r#"{"ID":"s","LogicalDatabaseID":"l","InstallationID":"i","Name":"id_i","CreateAt":1,"DeleteAt":3,"LockAcquiredBy":"x","LockAcquiredAt":2}"#;
        let schema: DatabaseSchema = serde_json::from_str(doc).unwrap();
        assert_eq!(schema.name, DatabaseSchema::default_name("i"));
        assert!(schema.is_deleted());
        assert_eq!(serde_json::to_string(&schema).unwrap(), doc);
    }

    #[test]
    fn enums_parse_from_their_names() {
        for t in DatabaseEngineType::ALL {
            assert_eq!(t.as_str().parse::<DatabaseEngineType>().unwrap(), t);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
        assert!("postgresql".parse::<DatabaseEngineType>().is_err());
        assert!(DatabaseEngineType::PostgresProxy.is_proxy());
        assert!(DatabaseEngineType::PostgresProxyPerseus.is_proxy());
        assert!(!DatabaseEngineType::Postgres.is_proxy());
        for s in MultitenantDatabaseState::ALL {
            assert_eq!(s.as_str().parse::<MultitenantDatabaseState>().unwrap(), s);
        }
        assert!("deleted".parse::<MultitenantDatabaseState>().is_err());
    }

    #[test]
    fn weights() {
        assert_eq!(database_weight(InstallationState::Stable), 1.0);
        assert_eq!(database_weight(InstallationState::Hibernating), 0.75);
        assert_eq!(database_weight(InstallationState::DeletionPending), 0.75);
        assert_eq!(database_weight(InstallationState::CreationRequested), 1.0);
    }

    #[test]
    fn patch_validates_and_applies_to_pgbouncer_only() {
        let patch: PatchMultitenantDatabaseRequest =
            serde_json::from_str(r#"{"MaxInstallationsPerLogicalDatabase":0}"#).unwrap();
        assert_eq!(
            patch.validate().unwrap_err().field,
            "MaxInstallationsPerLogicalDatabase"
        );
        let empty: PatchMultitenantDatabaseRequest = serde_json::from_str("{}").unwrap();
        assert!(empty.validate().is_ok());

        let patch = PatchMultitenantDatabaseRequest {
            max_installations_per_logical_database: Some(20),
        };
        assert!(patch.validate().is_ok());
        let mut db: MultitenantDatabase = serde_json::from_str(DOC).unwrap();
        assert!(patch.apply(&mut db));
        assert_eq!(db.max_installations_per_logical_database, 20);
        assert!(!patch.apply(&mut db), "same value is no change");
        assert!(!empty.apply(&mut db));

        db.database_type = DatabaseEngineType::PostgresProxyPerseus;
        let other = PatchMultitenantDatabaseRequest {
            max_installations_per_logical_database: Some(5),
        };
        assert!(!other.apply(&mut db));
        assert_eq!(db.max_installations_per_logical_database, 20);
    }
}
