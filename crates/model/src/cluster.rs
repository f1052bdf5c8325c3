//! Clusters (`model/cluster*.go`): the Kubernetes clusters installations run
//! on, with their provider and provisioner metadata, utility versions and
//! PgBouncer settings, the `ClusterDTO` the API returns, and the state
//! machine (in `state`). kops and EKS metadata live in their own files.
//!
//! The JSON is the original's. Reading also accepts the old document shape
//! of the seed README (`ProviderMetadata` / `ProvisionerMetadata` /
//! `UtilityMetadata` as base64-encoded JSON, plus the dropped `Size` and
//! `Version` keys); writing always produces the current shape.

mod eks;
mod kops;
mod state;

pub use eks::{
    EksMetadata, EksMetadataRequestedState, NODE_GROUP_WORKER, NodeGroupMetadata, eks_cluster_name,
    new_node_group_name, new_node_group_suffix,
};
pub use kops::{
    KopsInstanceGroupMetadata, KopsInstanceGroupsMetadata, KopsMetadata,
    KopsMetadataRequestedState, RotatorAutoscalingGroup, RotatorConfig, RotatorMetadata,
    RotatorStatus, kops_cluster_name,
};
pub use state::{
    ClusterState, StateReportEntry, UnknownClusterState, cluster_request_state_report,
};

use crate::ValidationError;
use crate::annotation::Annotation;
use crate::filter::Paging;
use crate::progress::Progress;
use crate::utility::UtilityMetadata;
use data_encoding::BASE64;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// Reads a JSON `null` (Go's nil slice or map) as the type's default.
pub fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

pub const PROVIDER_AWS: &str = "aws";
pub const PROVIDER_EXTERNAL: &str = "external";
pub const PROVISIONER_KOPS: &str = "kops";
pub const PROVISIONER_EKS: &str = "eks";
pub const PROVISIONER_EXTERNAL: &str = "external";

/// The default CNI of new clusters.
pub const NETWORKING_CALICO: &str = "calico";
/// AWS VPC routed ENI networking.
pub const NETWORKING_AMAZON: &str = "amazon-vpc-routed-eni";
/// The CNI EKS sets on its own; not accepted in create requests.
pub const NETWORKING_VPC_CNI: &str = "amazon-vpc-cni";

/// `GetSupportedCniList`: the networking values a create request may name.
pub const SUPPORTED_CNI_LIST: [&str; 5] = [
    "amazon-vpc-routed-eni",
    "amazonvpc",
    "weave",
    "canal",
    "calico",
];

/// Who hosts the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provider {
    #[default]
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "external")]
    External,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => PROVIDER_AWS,
            Provider::External => PROVIDER_EXTERNAL,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            PROVIDER_AWS => Ok(Provider::Aws),
            PROVIDER_EXTERNAL => Ok(Provider::External),
            other => Err(format!("unsupported provider {other}")),
        }
    }
}

/// What builds and maintains the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Provisioner {
    #[default]
    #[serde(rename = "kops")]
    Kops,
    #[serde(rename = "eks")]
    Eks,
    #[serde(rename = "external")]
    External,
}

impl Provisioner {
    pub fn as_str(self) -> &'static str {
        match self {
            Provisioner::Kops => PROVISIONER_KOPS,
            Provisioner::Eks => PROVISIONER_EKS,
            Provisioner::External => PROVISIONER_EXTERNAL,
        }
    }
}

impl fmt::Display for Provisioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provisioner {
    type Err = String;
    /// `""` is kops: rows written before the provisioner column existed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | PROVISIONER_KOPS => Ok(Provisioner::Kops),
            PROVISIONER_EKS => Ok(Provisioner::Eks),
            PROVISIONER_EXTERNAL => Ok(Provisioner::External),
            other => Err(format!("unsupported provisioner {other}")),
        }
    }
}

impl<'de> Deserialize<'de> for Provisioner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// AWS provider metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsMetadata {
    #[serde(rename = "Zones", default, deserialize_with = "null_default")]
    pub zones: Vec<String>,
}

/// Provider metadata of an imported (external) cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProviderMetadata {
    #[serde(rename = "HasAWSInfrastructure", default)]
    pub has_aws_infrastructure: bool,
}

/// Provisioner metadata of an imported cluster, whose kubeconfig lives in an
/// AWS Secrets Manager secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExternalClusterMetadata {
    pub name: String,
    pub secret_name: String,
    pub version: String,
    #[serde(rename = "VPC", skip_serializing_if = "String::is_empty")]
    pub vpc: String,
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub warnings: Vec<String>,
}

/// The external cluster name of a cluster.
pub fn external_cluster_name(cluster_id: &str) -> String {
    format!("{cluster_id}-external-k8s")
}

/// A normalised, never stored view of whichever provisioner metadata
/// applies (`GetCommonMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionerMetadata {
    pub name: String,
    pub version: String,
    #[serde(rename = "AMI")]
    pub ami: String,
    pub node_instance_type: String,
    pub node_min_count: i64,
    pub node_max_count: i64,
    pub max_pods_per_node: i64,
    #[serde(rename = "VPC")]
    pub vpc: String,
    pub networking: String,
    pub kms_key_id: String,
}

/// PgBouncer settings of the cluster's `pgbouncer.ini`. A zero value means
/// "use the default" until [`PgBouncerConfig::set_defaults`] fills it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PgBouncerConfig {
    #[serde(default)]
    pub min_pool_size: i64,
    #[serde(default)]
    pub default_pool_size: i64,
    #[serde(default)]
    pub reserve_pool_size: i64,
    #[serde(default)]
    pub max_client_connections: i64,
    #[serde(default)]
    pub max_database_connections_per_pool: i64,
    #[serde(default)]
    pub server_idle_timeout: i64,
    #[serde(default)]
    pub server_lifetime: i64,
    #[serde(default)]
    pub server_reset_query_always: i64,
}

impl PgBouncerConfig {
    pub const DEFAULT_MIN_POOL_SIZE: i64 = 1;
    pub const DEFAULT_DEFAULT_POOL_SIZE: i64 = 5;
    pub const DEFAULT_RESERVE_POOL_SIZE: i64 = 10;
    pub const DEFAULT_MAX_CLIENT_CONNECTIONS: i64 = 25000;
    pub const DEFAULT_MAX_DATABASE_CONNECTIONS_PER_POOL: i64 = 50;
    pub const DEFAULT_SERVER_IDLE_TIMEOUT: i64 = 30;
    pub const DEFAULT_SERVER_LIFETIME: i64 = 300;
    pub const DEFAULT_SERVER_RESET_QUERY_ALWAYS: i64 = 0;

    /// All zeros: every value still to be defaulted.
    pub fn zero() -> Self {
        Self {
            min_pool_size: 0,
            default_pool_size: 0,
            reserve_pool_size: 0,
            max_client_connections: 0,
            max_database_connections_per_pool: 0,
            server_idle_timeout: 0,
            server_lifetime: 0,
            server_reset_query_always: 0,
        }
    }

    /// Replaces every zero with its default.
    pub fn set_defaults(&mut self) {
        let fill = |v: &mut i64, default: i64| {
            if *v == 0 {
                *v = default;
            }
        };
        fill(&mut self.min_pool_size, Self::DEFAULT_MIN_POOL_SIZE);
        fill(&mut self.default_pool_size, Self::DEFAULT_DEFAULT_POOL_SIZE);
        fill(&mut self.reserve_pool_size, Self::DEFAULT_RESERVE_POOL_SIZE);
        fill(
            &mut self.max_client_connections,
            Self::DEFAULT_MAX_CLIENT_CONNECTIONS,
        );
        fill(
            &mut self.max_database_connections_per_pool,
            Self::DEFAULT_MAX_DATABASE_CONNECTIONS_PER_POOL,
        );
        fill(
            &mut self.server_idle_timeout,
            Self::DEFAULT_SERVER_IDLE_TIMEOUT,
        );
        fill(&mut self.server_lifetime, Self::DEFAULT_SERVER_LIFETIME);
    }

    /// The original's rules (`MaxDatabaseConnectionsPerPool` and
    /// `DefaultPoolSize` at least 1, `ServerResetQueryAlways` 0 or 1), plus
    /// no negative values, which pgbouncer would refuse to start with.
    /// `field` prefixes the key in the error (`pgbouncer-config`).
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let values = [
            ("MinPoolSize", self.min_pool_size),
            ("DefaultPoolSize", self.default_pool_size),
            ("ReservePoolSize", self.reserve_pool_size),
            ("MaxClientConnections", self.max_client_connections),
            (
                "MaxDatabaseConnectionsPerPool",
                self.max_database_connections_per_pool,
            ),
            ("ServerIdleTimeout", self.server_idle_timeout),
            ("ServerLifetime", self.server_lifetime),
            ("ServerResetQueryAlways", self.server_reset_query_always),
        ];
        for (key, value) in values {
            check_pgbouncer_value(field, key, value)?;
        }
        Ok(())
    }
}

fn check_pgbouncer_value(field: &str, key: &str, value: i64) -> Result<(), ValidationError> {
    let err = |message: &str| Err(ValidationError::new(format!("{field}.{key}"), message));
    match key {
        "MaxDatabaseConnectionsPerPool" | "DefaultPoolSize" if value < 1 => {
            err("must be 1 or greater")
        }
        "ServerResetQueryAlways" if value != 0 && value != 1 => err("must be 0 or 1"),
        _ if value < 0 => err("must not be negative"),
        _ => Ok(()),
    }
}

impl Default for PgBouncerConfig {
    /// The defaults: 1, 5, 10, 25000, 50, 30, 300, 0.
    fn default() -> Self {
        let mut config = Self::zero();
        config.set_defaults();
        config
    }
}

/// A partial PgBouncer change (`pgbouncer-config` of a provision request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PatchPgBouncerConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pool_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_pool_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_pool_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_client_connections: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_database_connections_per_pool: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_idle_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_lifetime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_reset_query_always: Option<i64>,
}

impl PatchPgBouncerConfig {
    fn pairs(&self) -> [(&'static str, Option<i64>); 8] {
        [
            ("MinPoolSize", self.min_pool_size),
            ("DefaultPoolSize", self.default_pool_size),
            ("ReservePoolSize", self.reserve_pool_size),
            ("MaxClientConnections", self.max_client_connections),
            (
                "MaxDatabaseConnectionsPerPool",
                self.max_database_connections_per_pool,
            ),
            ("ServerIdleTimeout", self.server_idle_timeout),
            ("ServerLifetime", self.server_lifetime),
            ("ServerResetQueryAlways", self.server_reset_query_always),
        ]
    }

    /// Same rules as [`PgBouncerConfig::validate`] for the values present.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        for (key, value) in self.pairs() {
            if let Some(value) = value {
                check_pgbouncer_value(field, key, value)?;
            }
        }
        Ok(())
    }

    /// Applies the values present; returns whether anything changed.
    pub fn apply(&self, config: &mut PgBouncerConfig) -> bool {
        let before = *config;
        let set = |target: &mut i64, value: Option<i64>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut config.min_pool_size, self.min_pool_size);
        set(&mut config.default_pool_size, self.default_pool_size);
        set(&mut config.reserve_pool_size, self.reserve_pool_size);
        set(
            &mut config.max_client_connections,
            self.max_client_connections,
        );
        set(
            &mut config.max_database_connections_per_pool,
            self.max_database_connections_per_pool,
        );
        set(&mut config.server_idle_timeout, self.server_idle_timeout);
        set(&mut config.server_lifetime, self.server_lifetime);
        set(
            &mut config.server_reset_query_always,
            self.server_reset_query_always,
        );
        *config != before
    }
}

/// A Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ClusterWire")]
pub struct Cluster {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "State")]
    pub state: ClusterState,
    #[serde(rename = "Provider")]
    pub provider: Provider,
    #[serde(
        rename = "ProviderMetadataAWS",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_metadata_aws: Option<AwsMetadata>,
    #[serde(
        rename = "ProviderMetadataExternal",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_metadata_external: Option<ExternalProviderMetadata>,
    #[serde(rename = "Provisioner")]
    pub provisioner: Provisioner,
    #[serde(
        rename = "ProvisionerMetadataKops",
        skip_serializing_if = "Option::is_none"
    )]
    pub provisioner_metadata_kops: Option<KopsMetadata>,
    #[serde(
        rename = "ProvisionerMetadataEKS",
        skip_serializing_if = "Option::is_none"
    )]
    pub provisioner_metadata_eks: Option<EksMetadata>,
    #[serde(
        rename = "ProvisionerMetadataExternal",
        skip_serializing_if = "Option::is_none"
    )]
    pub provisioner_metadata_external: Option<ExternalClusterMetadata>,
    /// Not stored: the store fills it from the provisioner metadata.
    #[serde(rename = "Networking")]
    pub networking: String,
    #[serde(rename = "UtilityMetadata")]
    pub utility_metadata: Option<UtilityMetadata>,
    #[serde(rename = "PgBouncerConfig")]
    pub pg_bouncer_config: Option<PgBouncerConfig>,
    #[serde(rename = "AllowInstallations")]
    pub allow_installations: bool,
    #[serde(rename = "CreateAt")]
    pub create_at: i64,
    #[serde(rename = "DeleteAt")]
    pub delete_at: i64,
    #[serde(rename = "APISecurityLock")]
    pub api_security_lock: bool,
    #[serde(rename = "SchedulingLockAcquiredBy")]
    pub scheduling_lock_acquired_by: Option<String>,
    #[serde(rename = "SchedulingLockAcquiredAt")]
    pub scheduling_lock_acquired_at: i64,
    #[serde(rename = "LockAcquiredBy")]
    pub lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt")]
    pub lock_acquired_at: i64,
    /// Supervisor progress (our addition; no keys while empty).
    #[serde(flatten)]
    pub progress: Progress,
}

impl Cluster {
    /// An empty cluster in `state`, with a fresh cluster ID.
    pub fn new(state: ClusterState, provider: Provider, provisioner: Provisioner) -> Self {
        Self {
            id: crate::new_cluster_id(),
            name: String::new(),
            state,
            provider,
            provider_metadata_aws: None,
            provider_metadata_external: None,
            provisioner,
            provisioner_metadata_kops: None,
            provisioner_metadata_eks: None,
            provisioner_metadata_external: None,
            networking: String::new(),
            utility_metadata: None,
            pg_bouncer_config: None,
            allow_installations: false,
            create_at: 0,
            delete_at: 0,
            api_security_lock: false,
            scheduling_lock_acquired_by: None,
            scheduling_lock_acquired_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            progress: Progress::default(),
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.delete_at > 0
    }

    /// `IsExternallyManaged`: imported clusters.
    pub fn is_externally_managed(&self) -> bool {
        self.provider == Provider::External
    }

    /// External clusters have AWS infrastructure only when imported with a
    /// VPC; every other cluster has it.
    pub fn has_aws_infrastructure(&self) -> bool {
        if self.is_externally_managed() {
            self.provider_metadata_external
                .as_ref()
                .is_some_and(|m| m.has_aws_infrastructure)
        } else {
            true
        }
    }

    /// The VPC of whichever provisioner metadata applies.
    pub fn vpc_id(&self) -> &str {
        match self.provisioner {
            Provisioner::Kops => self
                .provisioner_metadata_kops
                .as_ref()
                .map(|m| m.vpc.as_str()),
            Provisioner::Eks => self
                .provisioner_metadata_eks
                .as_ref()
                .map(|m| m.vpc.as_str()),
            Provisioner::External => self
                .provisioner_metadata_external
                .as_ref()
                .map(|m| m.vpc.as_str()),
        }
        .unwrap_or("")
    }

    /// The networking of the provisioner metadata (what the store reports
    /// in `Networking`).
    pub fn metadata_networking(&self) -> Option<&str> {
        match self.provisioner {
            Provisioner::Kops => self
                .provisioner_metadata_kops
                .as_ref()
                .map(|m| m.networking.as_str()),
            Provisioner::Eks => self
                .provisioner_metadata_eks
                .as_ref()
                .map(|m| m.networking.as_str()),
            Provisioner::External => None,
        }
    }

    /// `GetCommonMetadata` of the applicable provisioner.
    pub fn common_metadata(&self) -> ProvisionerMetadata {
        match self.provisioner {
            Provisioner::Kops => self
                .provisioner_metadata_kops
                .as_ref()
                .map(KopsMetadata::common_metadata)
                .unwrap_or_default(),
            Provisioner::Eks => self
                .provisioner_metadata_eks
                .as_ref()
                .map(EksMetadata::common_metadata)
                .unwrap_or_default(),
            Provisioner::External => self
                .provisioner_metadata_external
                .as_ref()
                .map(|m| ProvisionerMetadata {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    vpc: m.vpc.clone(),
                    ..Default::default()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether new installations may be placed here.
    pub fn can_schedule_installations(&self) -> bool {
        self.allow_installations && self.state.is_installation_schedulable()
    }

    /// The utility metadata, created empty when missing.
    pub fn utility_metadata_mut(&mut self) -> &mut UtilityMetadata {
        self.utility_metadata
            .get_or_insert_with(UtilityMetadata::default)
    }

    /// The DTO with these annotations.
    pub fn into_dto(self, annotations: Vec<Annotation>) -> ClusterDto {
        ClusterDto {
            cluster: self,
            annotations,
        }
    }
}

/// Everything a cluster document may carry, old keys included.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ClusterWire {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Name", deserialize_with = "null_default")]
    name: String,
    #[serde(rename = "State")]
    state: Option<ClusterState>,
    #[serde(rename = "Provider", deserialize_with = "null_default")]
    provider: String,
    #[serde(rename = "ProviderMetadataAWS")]
    provider_metadata_aws: Option<AwsMetadata>,
    #[serde(rename = "ProviderMetadataExternal")]
    provider_metadata_external: Option<ExternalProviderMetadata>,
    #[serde(rename = "Provisioner")]
    provisioner: Provisioner,
    #[serde(rename = "ProvisionerMetadataKops")]
    provisioner_metadata_kops: Option<KopsMetadata>,
    #[serde(rename = "ProvisionerMetadataEKS")]
    provisioner_metadata_eks: Option<EksMetadata>,
    #[serde(rename = "ProvisionerMetadataExternal")]
    provisioner_metadata_external: Option<ExternalClusterMetadata>,
    #[serde(rename = "Networking", deserialize_with = "null_default")]
    networking: String,
    /// Current shape: an object; old shape: base64 of that object.
    #[serde(rename = "UtilityMetadata")]
    utility_metadata: Option<serde_json::Value>,
    #[serde(rename = "PgBouncerConfig")]
    pg_bouncer_config: Option<PgBouncerConfig>,
    #[serde(rename = "AllowInstallations")]
    allow_installations: bool,
    #[serde(rename = "CreateAt")]
    create_at: i64,
    #[serde(rename = "DeleteAt")]
    delete_at: i64,
    #[serde(rename = "APISecurityLock")]
    api_security_lock: bool,
    #[serde(rename = "SchedulingLockAcquiredBy")]
    scheduling_lock_acquired_by: Option<String>,
    #[serde(rename = "SchedulingLockAcquiredAt")]
    scheduling_lock_acquired_at: i64,
    #[serde(rename = "LockAcquiredBy")]
    lock_acquired_by: Option<String>,
    #[serde(rename = "LockAcquiredAt")]
    lock_acquired_at: i64,
    #[serde(flatten)]
    progress: Progress,
    /// Old shape: base64 of `{"Zones": [...]}`.
    #[serde(rename = "ProviderMetadata")]
    legacy_provider_metadata: Option<String>,
    /// Old shape: base64 of the kops metadata.
    #[serde(rename = "ProvisionerMetadata")]
    legacy_provisioner_metadata: Option<String>,
}

/// Decodes an old base64 metadata field; empty or `null` content is none.
fn decode_legacy<T: serde::de::DeserializeOwned>(
    key: &str,
    encoded: &str,
) -> Result<Option<T>, String> {
    let bytes = BASE64
        .decode(encoded.as_bytes())
        .map_err(|e| format!("{key}: invalid base64: {e}"))?;
    if bytes.is_empty() || bytes == b"null" {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("{key}: {e}"))
}

impl TryFrom<ClusterWire> for Cluster {
    type Error = String;

    fn try_from(w: ClusterWire) -> Result<Self, Self::Error> {
        let state = w.state.ok_or("missing field `State`")?;
        let provider = if w.provider.is_empty() {
            Provider::Aws
        } else {
            w.provider.parse()?
        };
        let mut provider_metadata_aws = w.provider_metadata_aws;
        if provider_metadata_aws.is_none()
            && provider == Provider::Aws
            && let Some(encoded) = &w.legacy_provider_metadata
        {
            provider_metadata_aws = decode_legacy("ProviderMetadata", encoded)?;
        }
        let mut provisioner_metadata_kops = w.provisioner_metadata_kops;
        if provisioner_metadata_kops.is_none()
            && w.provisioner == Provisioner::Kops
            && let Some(encoded) = &w.legacy_provisioner_metadata
        {
            provisioner_metadata_kops = decode_legacy("ProvisionerMetadata", encoded)?;
        }
        let utility_metadata = match w.utility_metadata {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(encoded)) => decode_legacy("UtilityMetadata", &encoded)?,
            Some(value) => {
                Some(serde_json::from_value(value).map_err(|e| format!("UtilityMetadata: {e}"))?)
            }
        };
        Ok(Cluster {
            id: w.id,
            name: w.name,
            state,
            provider,
            provider_metadata_aws,
            provider_metadata_external: w.provider_metadata_external,
            provisioner: w.provisioner,
            provisioner_metadata_kops,
            provisioner_metadata_eks: w.provisioner_metadata_eks,
            provisioner_metadata_external: w.provisioner_metadata_external,
            networking: w.networking,
            utility_metadata,
            pg_bouncer_config: w.pg_bouncer_config,
            allow_installations: w.allow_installations,
            create_at: w.create_at,
            delete_at: w.delete_at,
            api_security_lock: w.api_security_lock,
            scheduling_lock_acquired_by: w.scheduling_lock_acquired_by,
            scheduling_lock_acquired_at: w.scheduling_lock_acquired_at,
            lock_acquired_by: w.lock_acquired_by,
            lock_acquired_at: w.lock_acquired_at,
            progress: w.progress,
        })
    }
}

/// What the API returns: the cluster's fields plus its annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterDto {
    #[serde(flatten)]
    pub cluster: Cluster,
    #[serde(
        rename = "Annotations",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub annotations: Vec<Annotation>,
}

/// Which clusters a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFilter {
    pub paging: Paging,
    /// Only clusters carrying every one of these annotation IDs.
    pub annotation_ids_match_all: Option<Vec<String>>,
}

#[cfg(test)]
#[path = "cluster/tests.rs"]
mod tests;
