//! Installations: one Mattermost deployment (its namespace and custom
//! resource on one or more clusters, its database and its filestore).
//!
//! The JSON shape is the original's `Installation` / `InstallationDTO`
//! (PascalCase keys, lower-case `command`, `omitempty` where Go has it).
//! States, database and filestore types and affinity are enums serialised as
//! the exact original strings. An installation read "merged" with its group's
//! configuration ([`Installation::merge_with_group`]) must never be saved
//! whole; only its state may be written (the store enforces this).

use crate::annotation::Annotation;
use crate::env::{EnvVarMap, overlay_env};
use crate::filter::Paging;
use crate::group::{Group, Scheduling};
use crate::installation_dns::InstallationDNS;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// CR API version written for new installations.
pub const DEFAULT_CR_VERSION: &str = "installation.mattermost.com/v1beta1";
/// CR API version of legacy rows.
pub const LEGACY_CR_VERSION: &str = "mattermost.com/v1alpha1";
/// Image used when a create request names none.
pub const DEFAULT_IMAGE: &str = "mattermost/mattermost-enterprise-edition";
/// Version used when a create request names none.
pub const DEFAULT_VERSION: &str = "stable";
/// Multitenant database weight of an active installation.
pub const DEFAULT_DATABASE_WEIGHT: f64 = 1.0;
/// Multitenant database weight of a hibernating (or pending deletion) one.
pub const HIBERNATING_DATABASE_WEIGHT: f64 = 0.75;
/// The only volume type.
pub const VOLUME_TYPE_SECRET: &str = "secret";

/// Deserialises `null` as the type's default: Go clients send `null` for
/// every nil slice or map they marshal.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Declares a closed set serialised as exact strings, with `ALL`,
/// `as_str`, `Display`, `FromStr` and serde impls.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The original's string.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    other => {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        Err(format!("unsupported {} {other:?} (one of {})", $kind, names.join(", ")))
                    }
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}

string_enum! {
    /// Installation states (the original's 32).
    InstallationState, "installation state" {
        #[default]
        CreationRequested => "creation-requested",
        CreationNoCompatibleClusters => "creation-no-compatible-clusters",
        CreationPreProvisioning => "creation-pre-provisioning",
        CreationInProgress => "creation-in-progress",
        CreationConfiguringDns => "creation-configuring-dns",
        CreationFinalTasks => "creation-final-tasks",
        CreationFailed => "creation-failed",
        Stable => "stable",
        HibernationRequested => "hibernation-requested",
        HibernationInProgress => "hibernation-in-progress",
        Hibernating => "hibernating",
        WakeUpRequested => "wake-up-requested",
        UpdateRequested => "update-requested",
        UpdateInProgress => "update-in-progress",
        UpdateFailed => "update-failed",
        ImportInProgress => "import-in-progress",
        ImportComplete => "import-complete",
        DeletionPendingRequested => "deletion-pending-requested",
        DeletionPendingInProgress => "deletion-pending-in-progress",
        DeletionPending => "deletion-pending",
        DeletionCancellationRequested => "deletion-cancellation-requested",
        DeletionRequested => "deletion-requested",
        DeletionInProgress => "deletion-in-progress",
        DeletionFinalCleanup => "deletion-final-cleanup",
        DeletionFailed => "deletion-failed",
        Deleted => "deleted",
        DbRestorationInProgress => "db-restoration-in-progress",
        DbMigrationInProgress => "db-migration-in-progress",
        DbMigrationRollbackInProgress => "db-migration-rollback-in-progress",
        DbRestorationFailed => "db-restoration-failed",
        DbMigrationFailed => "db-migration-failed",
        DnsMigrationHibernated => "dns-migration-hibernated",
    }
}

use InstallationState as S;

/// States the installation supervisor works on, in `(state, priority)`
/// pairs; higher priority is picked first.
pub const PENDING_WORK_STATES: [(InstallationState, u8); 18] = [
    (S::CreationRequested, 5),
    (S::CreationNoCompatibleClusters, 4),
    (S::CreationPreProvisioning, 3),
    (S::CreationInProgress, 2),
    (S::CreationConfiguringDns, 1),
    (S::CreationFinalTasks, 0),
    (S::HibernationRequested, 0),
    (S::HibernationInProgress, 0),
    (S::WakeUpRequested, 0),
    (S::UpdateRequested, 0),
    (S::UpdateInProgress, 0),
    (S::DeletionPendingRequested, 0),
    (S::DeletionPendingInProgress, 0),
    (S::DeletionCancellationRequested, 0),
    (S::DeletionRequested, 0),
    (S::DeletionInProgress, 0),
    (S::DeletionFinalCleanup, 0),
    (S::DnsMigrationHibernated, 0),
];

/// States the API may request (`InstallationStateRequestList`).
pub const API_REQUEST_STATES: [InstallationState; 8] = [
    S::CreationRequested,
    S::HibernationRequested,
    S::WakeUpRequested,
    S::UpdateRequested,
    S::DeletionPendingRequested,
    S::DeletionCancellationRequested,
    S::DeletionRequested,
    S::DnsMigrationHibernated,
];

/// `AllInstallationDeletionStates`.
pub const DELETION_STATES: [InstallationState; 9] = [
    S::DeletionPendingRequested,
    S::DeletionPendingInProgress,
    S::DeletionPending,
    S::DeletionCancellationRequested,
    S::DeletionRequested,
    S::DeletionInProgress,
    S::DeletionFinalCleanup,
    S::DeletionFailed,
    S::Deleted,
];

impl InstallationState {
    /// Whether the installation supervisor has work in this state.
    pub fn is_pending_work(self) -> bool {
        PENDING_WORK_STATES.iter().any(|(s, _)| *s == self)
    }

    /// Supervisor priority (higher first); `None` when not pending work.
    pub fn priority(self) -> Option<u8> {
        PENDING_WORK_STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, p)| *p)
    }

    /// Whether this is one of the deletion states.
    pub fn is_deletion_state(self) -> bool {
        DELETION_STATES.contains(&self)
    }

    /// The states from which the API may move an installation to `self`
    /// (`validInstallationTransitions`). Empty for states the API never
    /// requests.
    pub fn valid_sources(self) -> &'static [InstallationState] {
        match self {
            S::CreationRequested => &[S::CreationRequested, S::CreationFailed],
            S::HibernationRequested => &[S::Stable],
            S::WakeUpRequested => &[S::Hibernating],
            S::UpdateRequested => &[S::Stable, S::UpdateRequested, S::UpdateFailed],
            S::DeletionPendingRequested => &[
                S::Stable,
                S::UpdateRequested,
                S::UpdateInProgress,
                S::UpdateFailed,
                S::Hibernating,
                S::DeletionPendingRequested,
                S::DeletionPendingInProgress,
            ],
            // The "edit deletion" check: only a pending deletion can be edited.
            S::DeletionPending => &[S::DeletionPending],
            S::DeletionCancellationRequested => &[S::DeletionPending],
            S::DeletionRequested => &[
                S::CreationRequested,
                S::CreationPreProvisioning,
                S::CreationInProgress,
                S::CreationConfiguringDns,
                S::CreationNoCompatibleClusters,
                S::CreationFinalTasks,
                S::CreationFailed,
                S::DeletionRequested,
                S::DeletionInProgress,
                S::DeletionFinalCleanup,
                S::DeletionFailed,
            ],
            S::DbRestorationInProgress => &[S::Hibernating],
            S::DbMigrationInProgress => &[S::Hibernating],
            S::DnsMigrationHibernated => &[S::Hibernating],
            _ => &[],
        }
    }

    /// Whether the API may move an installation from `from` to `self`.
    pub fn can_be_requested_from(self, from: InstallationState) -> bool {
        self.valid_sources().contains(&from)
    }
}

/// `cloud installation state-report` (`GetInstallationRequestStateReport`):
/// for each state the API may request, the current states that allow the
/// request and those that do not. Empty lists are `null`, as Go's nil slices.
pub fn installation_request_state_report() -> Vec<crate::cluster::StateReportEntry> {
    API_REQUEST_STATES
        .iter()
        .map(|requested| {
            let (valid, invalid): (Vec<_>, Vec<_>) = InstallationState::ALL
                .iter()
                .partition(|current| requested.can_be_requested_from(**current));
            let names = |v: Vec<&InstallationState>| {
                (!v.is_empty()).then(|| v.iter().map(|s| s.as_str().to_string()).collect())
            };
            crate::cluster::StateReportEntry {
                requested_state: requested.as_str().to_string(),
                valid_states: names(valid),
                invalid_states: names(invalid),
            }
        })
        .collect()
}

string_enum! {
    /// Where an installation's database lives.
    DatabaseType, "database" {
        /// The create request's default (only with `--deploy-mysql-operator`).
        #[default]
        MysqlOperator => "mysql-operator",
        AwsRds => "aws-rds",
        AwsRdsPostgres => "aws-rds-postgres",
        AwsMultitenantRds => "aws-multitenant-rds",
        AwsMultitenantRdsPostgres => "aws-multitenant-rds-postgres",
        AwsMultitenantRdsPostgresPgbouncer => "aws-multitenant-rds-postgres-pgbouncer",
        Perseus => "perseus",
        External => "external",
    }
}

impl DatabaseType {
    /// In-cluster MySQL run by the operator.
    pub fn is_internal(self) -> bool {
        self == DatabaseType::MysqlOperator
    }

    /// A database the user supplies (an AWS Secrets Manager secret).
    pub fn is_external(self) -> bool {
        self == DatabaseType::External
    }

    /// One Aurora cluster per installation.
    pub fn is_single_tenant_rds(self) -> bool {
        matches!(self, DatabaseType::AwsRds | DatabaseType::AwsRdsPostgres)
    }

    /// A shared RDS cluster (directly or through a proxy).
    pub fn is_multitenant(self) -> bool {
        matches!(
            self,
            DatabaseType::AwsMultitenantRds
                | DatabaseType::AwsMultitenantRdsPostgres
                | DatabaseType::AwsMultitenantRdsPostgresPgbouncer
                | DatabaseType::Perseus
        )
    }

    /// Whether backups and restorations are supported.
    pub fn supports_backup(self) -> bool {
        matches!(
            self,
            DatabaseType::AwsRdsPostgres | DatabaseType::AwsMultitenantRdsPostgres
        )
    }

    /// Whether database migrations are supported (the only migratable type).
    pub fn supports_migration(self) -> bool {
        self == DatabaseType::AwsMultitenantRdsPostgres
    }
}

string_enum! {
    /// Where an installation's files live.
    FilestoreType, "filestore" {
        /// The create request's default (only with `--deploy-minio-operator`).
        #[default]
        MinioOperator => "minio-operator",
        AwsS3 => "aws-s3",
        AwsMultitenantS3 => "aws-multitenant-s3",
        Bifrost => "bifrost",
        LocalEphemeral => "local-ephemeral",
    }
}

impl FilestoreType {
    /// Runs inside the cluster (MinIO, or the pod's local disk).
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            FilestoreType::MinioOperator | FilestoreType::LocalEphemeral
        )
    }

    /// The original's `ExternalFilestore()`: no type is external.
    pub fn is_external(self) -> bool {
        false
    }
}

string_enum! {
    /// Whether an installation shares its cluster.
    Affinity, "affinity" {
        #[default]
        Isolated => "isolated",
        Multitenant => "multitenant",
    }
}

/// Instance types and replica count of a single-tenant RDS database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SingleTenantDatabaseConfig {
    pub primary_instance_type: String,
    pub replica_instance_type: String,
    pub replicas_count: i64,
}

/// The Secrets Manager secret holding an external database's connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExternalDatabaseConfig {
    pub secret_name: String,
}

/// One ingress allow-list entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllowedIPRange {
    #[serde(rename = "CIDRBlock")]
    pub cidr_block: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Enabled")]
    pub enabled: bool,
    #[serde(rename = "OwnerID")]
    pub owner_id: String,
}

/// The original's `IsIPRangeValid`: a plain IP address, or a CIDR block
/// (`address/prefix`, prefix within the address family's length).
pub fn is_valid_ip_range(s: &str) -> bool {
    match s.split_once('/') {
        None => s.parse::<std::net::IpAddr>().is_ok(),
        Some((ip, prefix)) => {
            let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
                return false;
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            !prefix.is_empty()
                && prefix.bytes().all(|b| b.is_ascii_digit())
                && prefix.parse::<u8>().is_ok_and(|p| p <= max)
        }
    }
}

/// Validates every entry, naming `field` on failure.
pub fn validate_ip_ranges(
    field: &str,
    ranges: &[AllowedIPRange],
) -> Result<(), crate::ValidationError> {
    for r in ranges {
        if !is_valid_ip_range(&r.cidr_block) {
            return Err(crate::ValidationError::new(
                field,
                format!("{:?} is not a valid IP address or CIDR block", r.cidr_block),
            ));
        }
    }
    Ok(())
}

/// The ingress `whitelist-source-range` value: the blocks joined with `,`.
pub fn ip_ranges_annotation(ranges: &[AllowedIPRange]) -> String {
    ranges
        .iter()
        .map(|r| r.cidr_block.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether no entry is enabled (an empty list counts as all disabled).
pub fn all_ip_rules_disabled(ranges: &[AllowedIPRange]) -> bool {
    ranges.iter().all(|r| !r.enabled)
}

/// A custom volume mounted into the Mattermost pods, backed by a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Volume {
    /// Always `secret`.
    #[serde(rename = "Type")]
    pub volume_type: String,
    /// Name of the AWS Secrets Manager secret (set by the server).
    pub backing_secret: String,
    pub mount_path: String,
    pub read_only: bool,
}

/// Kubernetes probe overrides for the Mattermost container. The probes are
/// `corev1.Probe` objects kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PodProbeOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe_override: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe_override: Option<serde_json::Value>,
}

impl PodProbeOverrides {
    /// Neither probe is overridden.
    pub fn is_empty(&self) -> bool {
        self.liveness_probe_override.is_none() && self.readiness_probe_override.is_none()
    }

    /// Each given probe must be a JSON object (a `corev1.Probe`).
    pub fn validate(&self, field: &str) -> Result<(), crate::ValidationError> {
        for (name, probe) in [
            ("LivenessProbeOverride", &self.liveness_probe_override),
            ("ReadinessProbeOverride", &self.readiness_probe_override),
        ] {
            if probe.as_ref().is_some_and(|p| !p.is_object()) {
                return Err(crate::ValidationError::new(
                    format!("{field}.{name}"),
                    "must be a probe object",
                ));
            }
        }
        Ok(())
    }
}

fn map_is_empty<K, V>(m: &Option<BTreeMap<K, V>>) -> bool {
    m.as_ref().is_none_or(BTreeMap::is_empty)
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A Mattermost installation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Installation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "OwnerID")]
    pub owner_id: String,
    /// Group membership. New installations without a group store `""`, as
    /// the original does; [`Installation::group_id`] treats it as none.
    #[serde(rename = "GroupID")]
    pub group_id: Option<String>,
    /// Group `Sequence` last reconciled; `None` means never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_sequence: Option<i64>,
    pub version: String,
    pub image: String,
    /// Overrides the container command (`spec.podTemplate.command`).
    #[serde(rename = "command", skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    pub name: String,
    pub database: DatabaseType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_tenant_database_config: Option<SingleTenantDatabaseConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_database_config: Option<ExternalDatabaseConfig>,
    pub filestore: FilestoreType,
    pub license: String,
    #[serde(rename = "AllowedIPRanges")]
    pub allowed_ip_ranges: Option<Vec<AllowedIPRange>>,
    pub volumes: Option<BTreeMap<String, Volume>>,
    pub mattermost_env: Option<EnvVarMap>,
    /// Wins over `MattermostEnv` and over the group's env.
    pub priority_env: Option<EnvVarMap>,
    pub size: String,
    pub affinity: Affinity,
    pub state: InstallationState,
    #[serde(rename = "CRVersion")]
    pub cr_version: String,
    pub create_at: i64,
    pub delete_at: i64,
    /// When a `deletion-pending` installation may be deleted (ms; 0 = unset).
    #[serde(skip_serializing_if = "is_zero")]
    pub deletion_pending_expiry: i64,
    /// When a stable or hibernating installation gets queued for deletion.
    #[serde(skip_serializing_if = "is_zero")]
    pub scheduled_deletion_time: i64,
    #[serde(rename = "APISecurityLock")]
    pub api_security_lock: bool,
    pub deletion_locked: bool,
    pub lock_acquired_by: Option<String>,
    pub lock_acquired_at: i64,
    /// Computed on read when group overrides are requested.
    #[serde(skip_serializing_if = "map_is_empty")]
    pub group_overrides: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_probe_overrides: Option<PodProbeOverrides>,
    /// Not stored: filled only by merging the group's configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,
    /// The group `Sequence` this object was merged with, when it was
    /// ([`Installation::merge_with_group`]). Never serialised: a merged
    /// object must not be saved whole, and the store checks this field.
    #[serde(skip)]
    pub merged_group_sequence: Option<i64>,
    /// Supervisor progress (our addition; no keys while empty).
    #[serde(flatten)]
    pub progress: crate::progress::Progress,
}

impl Installation {
    /// The group ID, `None` when not in a group (`NULL` or `""`).
    pub fn group_id(&self) -> Option<&str> {
        self.group_id.as_deref().filter(|g| !g.is_empty())
    }

    /// Whether the installation belongs to a group.
    pub fn is_in_group(&self) -> bool {
        self.group_id().is_some()
    }

    /// Whether the row is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.delete_at != 0
    }

    /// Weight in a multitenant database: hibernating and pending-deletion
    /// installations count less.
    pub fn database_weight(&self) -> f64 {
        match self.state {
            S::HibernationRequested
            | S::HibernationInProgress
            | S::Hibernating
            | S::DeletionPendingRequested
            | S::DeletionPendingInProgress
            | S::DeletionPending => HIBERNATING_DATABASE_WEIGHT,
            _ => DEFAULT_DATABASE_WEIGHT,
        }
    }

    /// The env the pods get: `MattermostEnv` overlaid with `PriorityEnv`.
    pub fn env_vars(&self) -> EnvVarMap {
        overlay_env(self.mattermost_env.as_ref(), self.priority_env.as_ref())
    }

    /// The original's `RequiresAWSInfrasctructure()`, which is always true
    /// (`!ExternalDatabase || !ExternalFilestore`, and no filestore is
    /// external), so installations only go to clusters with AWS resources.
    pub fn requires_aws_infrastructure(&self) -> bool {
        !self.database.is_external() || !self.filestore.is_external()
    }

    /// Whether this object carries group configuration (and so must not be
    /// saved whole).
    pub fn config_merged_with_group(&self) -> bool {
        self.merged_group_sequence.is_some()
    }

    /// True when not merged, or when `GroupSequence` equals the sequence of
    /// the merged group.
    pub fn sequence_matches_merged_group(&self) -> bool {
        match self.merged_group_sequence {
            None => true,
            Some(seq) => self.group_sequence == Some(seq),
        }
    }

    /// Sets `GroupSequence` to the merged group's sequence.
    pub fn sync_group_sequence(&mut self) {
        if let Some(seq) = self.merged_group_sequence {
            self.group_sequence = Some(seq);
        }
    }

    /// Overlays the group's configuration (idempotent): a non-empty group
    /// Version or Image replaces the installation's, group env keys replace
    /// installation keys, and a group Scheduling replaces the installation's.
    /// With `include_overrides`, `GroupOverrides` records each replaced value
    /// as `"Installation X"` / `"Group X"` pairs. Afterwards the object must
    /// not be saved whole.
    pub fn merge_with_group(&mut self, group: &Group, include_overrides: bool) {
        if self.config_merged_with_group() {
            return;
        }
        self.merged_group_sequence = Some(group.sequence);
        let mut overrides = BTreeMap::new();
        if !group.version.is_empty() && self.version != group.version {
            if include_overrides {
                overrides.insert("Installation Version".into(), self.version.clone());
                overrides.insert("Group Version".into(), group.version.clone());
            }
            self.version = group.version.clone();
        }
        if !group.image.is_empty() && self.image != group.image {
            if include_overrides {
                overrides.insert("Installation Image".into(), self.image.clone());
                overrides.insert("Group Image".into(), group.image.clone());
            }
            self.image = group.image.clone();
        }
        if let Some(group_env) = &group.mattermost_env {
            let env = self.mattermost_env.get_or_insert_with(EnvVarMap::new);
            for (key, value) in group_env {
                if include_overrides && let Some(own) = env.get(key) {
                    overrides.insert(
                        format!("Installation MattermostEnv[{key}]"),
                        own.value.clone(),
                    );
                    overrides.insert(format!("Group MattermostEnv[{key}]"), value.value.clone());
                }
                env.insert(key.clone(), value.clone());
            }
        }
        if group.scheduling.is_some() {
            self.scheduling = group.scheduling.clone();
        }
        self.group_overrides = Some(overrides);
    }

    /// The DTO: the installation plus its annotations and domain names.
    /// `DNS` (deprecated) is the primary name, or the first one.
    pub fn into_dto(
        self,
        annotations: Vec<Annotation>,
        dns_records: Vec<InstallationDNS>,
    ) -> InstallationDTO {
        let dns = dns_records
            .iter()
            .find(|r| r.is_primary)
            .or(dns_records.first())
            .map(|r| r.domain_name.clone())
            .unwrap_or_default();
        InstallationDTO {
            installation: self,
            annotations,
            dns,
            dns_records,
            cluster_ids: Vec::new(),
        }
    }
}

/// `Installation` with its annotations, domain names and clusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallationDTO {
    #[serde(flatten)]
    pub installation: Installation,
    #[serde(
        rename = "Annotations",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub annotations: Vec<Annotation>,
    /// Deprecated: the primary domain name.
    #[serde(rename = "DNS", default)]
    pub dns: String,
    #[serde(rename = "DNSRecords", default, deserialize_with = "null_as_default")]
    pub dns_records: Vec<InstallationDNS>,
    /// Clusters of the live cluster installations.
    #[serde(
        rename = "ClusterIDs",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cluster_ids: Vec<String>,
}

/// `GET /api/installations/status`. `Updating` = total − stable −
/// hibernating − pending deletion, over live rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct InstallationsStatus {
    pub installations_total: i64,
    pub installations_stable: i64,
    pub installations_hibernating: i64,
    pub installations_pending_deletion: i64,
    pub installations_updating: i64,
}

/// `GET /api/installations/count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct InstallationsCount {
    pub count: i64,
}

/// Filter of the installation list. `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationFilter {
    pub paging: Paging,
    /// Restrict to these IDs (an empty list matches nothing).
    pub installation_ids: Option<Vec<String>>,
    pub owner_id: Option<String>,
    pub group_id: Option<String>,
    pub state: Option<InstallationState>,
    /// Exact domain name, or a SQL `LIKE` pattern when it contains `%`.
    pub dns: Option<String>,
    pub name: Option<String>,
    pub deletion_locked: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvVar;
    use serde_json::{Value, json};

    #[test]
    fn there_are_32_states_with_unique_strings() {
        assert_eq!(InstallationState::ALL.len(), 32);
        let mut names: Vec<_> = InstallationState::ALL.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 32);
        for s in InstallationState::ALL {
            assert_eq!(s.as_str().parse::<InstallationState>(), Ok(*s));
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        assert!("Stable".parse::<InstallationState>().is_err());
        assert!(serde_json::from_str::<InstallationState>("\"bogus\"").is_err());
    }

    #[test]
    fn pending_work_and_priorities() {
        assert_eq!(S::CreationRequested.priority(), Some(5));
        assert_eq!(S::CreationConfiguringDns.priority(), Some(1));
        assert!(S::DnsMigrationHibernated.is_pending_work());
        for idle in [
            S::Stable,
            S::Hibernating,
            S::DeletionPending,
            S::Deleted,
            S::CreationFailed,
        ] {
            assert!(!idle.is_pending_work(), "{idle}");
        }
        assert!(S::Deleted.is_deletion_state());
        assert!(!S::Stable.is_deletion_state());
    }

    #[test]
    fn api_transitions_follow_the_map() {
        assert!(S::HibernationRequested.can_be_requested_from(S::Stable));
        assert!(!S::HibernationRequested.can_be_requested_from(S::Hibernating));
        assert!(S::UpdateRequested.can_be_requested_from(S::UpdateFailed));
        assert!(!S::UpdateRequested.can_be_requested_from(S::UpdateInProgress));
        assert!(S::DeletionRequested.can_be_requested_from(S::CreationFailed));
        assert!(!S::DeletionRequested.can_be_requested_from(S::Stable));
        assert!(S::DeletionPendingRequested.can_be_requested_from(S::Stable));
        assert!(S::DeletionCancellationRequested.can_be_requested_from(S::DeletionPending));
        assert!(S::WakeUpRequested.can_be_requested_from(S::Hibernating));
        assert!(!S::Stable.can_be_requested_from(S::Stable));
        for s in API_REQUEST_STATES {
            assert!(!s.valid_sources().is_empty(), "{s}");
        }
    }

    #[test]
    fn state_report_lists_every_request_state() {
        let report = installation_request_state_report();
        assert_eq!(report.len(), API_REQUEST_STATES.len());
        let hibernate = report
            .iter()
            .find(|e| e.requested_state == "hibernation-requested")
            .unwrap();
        assert_eq!(hibernate.valid_states, Some(vec!["stable".to_string()]));
        assert_eq!(hibernate.invalid_states.as_ref().unwrap().len(), 31);
        let v = serde_json::to_value(&report[0]).unwrap();
        assert_eq!(v["RequestedState"], "creation-requested");
    }

    #[test]
    fn type_enums_use_the_original_strings() {
        assert_eq!(DatabaseType::ALL.len(), 8);
        assert_eq!(
            "aws-multitenant-rds-postgres-pgbouncer".parse::<DatabaseType>(),
            Ok(DatabaseType::AwsMultitenantRdsPostgresPgbouncer)
        );
        assert!(DatabaseType::MysqlOperator.is_internal());
        assert!(DatabaseType::AwsRds.is_single_tenant_rds());
        assert!(DatabaseType::Perseus.is_multitenant());
        assert!(DatabaseType::AwsMultitenantRdsPostgres.supports_migration());
        assert!(!DatabaseType::AwsRds.supports_backup());
        assert_eq!(FilestoreType::ALL.len(), 5);
        assert!(FilestoreType::LocalEphemeral.is_internal());
        assert!(!FilestoreType::Bifrost.is_internal());
        assert_eq!(Affinity::default().as_str(), "isolated");
        let err = "none".parse::<DatabaseType>().unwrap_err();
        assert!(err.contains("none") && err.contains("perseus"), "{err}");
    }

    #[test]
    fn database_weight_drops_when_hibernating() {
        let mut i = Installation {
            state: S::Stable,
            ..Default::default()
        };
        assert_eq!(i.database_weight(), DEFAULT_DATABASE_WEIGHT);
        for s in [
            S::Hibernating,
            S::DeletionPendingRequested,
            S::DeletionPending,
        ] {
            i.state = s;
            assert_eq!(i.database_weight(), HIBERNATING_DATABASE_WEIGHT);
        }
        i.state = S::UpdateInProgress;
        assert_eq!(i.database_weight(), DEFAULT_DATABASE_WEIGHT);
    }

    #[test]
    fn aws_infrastructure_is_always_required() {
        for db in DatabaseType::ALL {
            for fs in FilestoreType::ALL {
                let i = Installation {
                    database: *db,
                    filestore: *fs,
                    ..Default::default()
                };
                assert!(i.requires_aws_infrastructure());
            }
        }
    }

    #[test]
    fn empty_group_id_means_no_group() {
        let mut i = Installation {
            group_id: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(i.group_id(), None);
        assert!(!i.is_in_group());
        i.group_id = Some("g".into());
        assert!(i.is_in_group());
    }

    #[test]
    fn ip_ranges_are_checked_like_the_original() {
        for ok in [
            "127.0.0.1",
            "192.168.0.1/24",
            "10.0.0.0/8",
            "::1",
            "2001:db8::/32",
        ] {
            assert!(is_valid_ip_range(ok), "{ok}");
        }
        for bad in [
            "blahblah",
            "1002.980.12.1",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "",
        ] {
            assert!(!is_valid_ip_range(bad), "{bad}");
        }
        let ranges = vec![
            AllowedIPRange {
                cidr_block: "192.168.0.0/24".into(),
                enabled: false,
                ..Default::default()
            },
            AllowedIPRange {
                cidr_block: "10.0.0.0/8".into(),
                enabled: true,
                ..Default::default()
            },
        ];
        assert_eq!(ip_ranges_annotation(&ranges), "192.168.0.0/24,10.0.0.0/8");
        assert!(!all_ip_rules_disabled(&ranges));
        assert!(all_ip_rules_disabled(&[]));
    }

    /// The installation JSON of the seed README (an old DTO).
    const README_INSTALLATION: &str = r#"{
        "ID": "8npnfpbiitygxbsrpg1p5i1sse",
        "OwnerID": "stelios",
        "GroupID": "",
        "Version": "stable",
        "Image": "mattermost/mattermost-enterprise-edition",
        "DNS": "stelios.test.cloud.mattermost.com",
        "Database": "mysql-operator",
        "Filestore": "minio-operator",
        "License": "",
        "MattermostEnv": null,
        "Size": "100users",
        "Affinity": "multitenant",
        "State": "creation-final-tasks",
        "CreateAt": 1589359071894,
        "DeleteAt": 0,
        "LockAcquiredBy": "m6sj6oc7fg93jkfgh3tjqw",
        "LockAcquiredAt": 1589359923924
    }"#;

    #[test]
    fn the_readme_installation_parses() {
        let dto: InstallationDTO = serde_json::from_str(README_INSTALLATION).unwrap();
        let i = &dto.installation;
        assert_eq!(i.id, "8npnfpbiitygxbsrpg1p5i1sse");
        assert_eq!(i.group_id.as_deref(), Some(""));
        assert_eq!(i.database, DatabaseType::MysqlOperator);
        assert_eq!(i.affinity, Affinity::Multitenant);
        assert_eq!(i.state, S::CreationFinalTasks);
        assert_eq!(i.mattermost_env, None);
        assert_eq!(
            i.lock_acquired_by.as_deref(),
            Some("m6sj6oc7fg93jkfgh3tjqw")
        );
        assert_eq!(dto.dns, "stelios.test.cloud.mattermost.com");
        assert!(dto.dns_records.is_empty());
        // Every key of the README document survives a round trip.
        let out: Value = serde_json::to_value(&dto).unwrap();
        let input: Value = serde_json::from_str(README_INSTALLATION).unwrap();
        for (k, v) in input.as_object().unwrap() {
            assert_eq!(out.get(k), Some(v), "{k}");
        }
    }

    fn full_installation() -> Installation {
        let mut env = EnvVarMap::new();
        env.insert("MM_A".into(), EnvVar::value("1"));
        let mut volumes = BTreeMap::new();
        volumes.insert(
            "certs".into(),
            Volume {
                volume_type: "secret".into(),
                backing_secret: "installation-secret-x-1-certs".into(),
                mount_path: "/certs".into(),
                read_only: true,
            },
        );
        Installation {
            id: "8npnfpbiitygxbsrpg1p5i1sse".into(),
            owner_id: "owner".into(),
            group_id: Some("tetw1yt3yinjdbhctsstcrybch".into()),
            group_sequence: Some(3),
            version: "9.11.0".into(),
            image: DEFAULT_IMAGE.into(),
            command: Some(vec!["mattermost".into(), "server".into()]),
            name: "stelios".into(),
            database: DatabaseType::AwsRdsPostgres,
            single_tenant_database_config: Some(SingleTenantDatabaseConfig {
                primary_instance_type: "db.t4g.medium".into(),
                replica_instance_type: "db.t4g.medium".into(),
                replicas_count: 1,
            }),
            external_database_config: None,
            filestore: FilestoreType::Bifrost,
            license: "lic".into(),
            allowed_ip_ranges: Some(vec![AllowedIPRange {
                cidr_block: "10.0.0.0/8".into(),
                description: "vpn".into(),
                enabled: true,
                owner_id: "o".into(),
            }]),
            volumes: Some(volumes),
            mattermost_env: Some(env),
            priority_env: None,
            size: "1000users".into(),
            affinity: Affinity::Multitenant,
            state: S::Stable,
            cr_version: DEFAULT_CR_VERSION.into(),
            create_at: 10,
            delete_at: 0,
            deletion_pending_expiry: 0,
            scheduled_deletion_time: 99,
            api_security_lock: false,
            deletion_locked: true,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            group_overrides: None,
            pod_probe_overrides: Some(PodProbeOverrides {
                liveness_probe_override: Some(json!({"failureThreshold": 8})),
                readiness_probe_override: None,
            }),
            scheduling: None,
            merged_group_sequence: None,
            progress: Default::default(),
        }
    }

    #[test]
    fn installation_json_has_the_original_keys() {
        let i = full_installation();
        let v = serde_json::to_value(&i).unwrap();
        let expected = json!({
            "ID": "8npnfpbiitygxbsrpg1p5i1sse",
            "OwnerID": "owner",
            "GroupID": "tetw1yt3yinjdbhctsstcrybch",
            "GroupSequence": 3,
            "Version": "9.11.0",
            "Image": "mattermost/mattermost-enterprise-edition",
            "command": ["mattermost", "server"],
            "Name": "stelios",
            "Database": "aws-rds-postgres",
            "SingleTenantDatabaseConfig": {"PrimaryInstanceType": "db.t4g.medium", "ReplicaInstanceType": "db.t4g.medium", "ReplicasCount": 1},
            "Filestore": "bifrost",
            "License": "lic",
            "AllowedIPRanges": [{"CIDRBlock": "10.0.0.0/8", "Description": "vpn", "Enabled": true, "OwnerID": "o"}],
            "Volumes": {"certs": {"Type": "secret", "BackingSecret": "installation-secret-x-1-certs", "MountPath": "/certs", "ReadOnly": true}},
            "MattermostEnv": {"MM_A": {"value": "1"}},
            "PriorityEnv": null,
            "Size": "1000users",
            "Affinity": "multitenant",
            "State": "stable",
            "CRVersion": "installation.mattermost.com/v1beta1",
            "CreateAt": 10,
            "DeleteAt": 0,
            "ScheduledDeletionTime": 99,
            "APISecurityLock": false,
            "DeletionLocked": true,
            "LockAcquiredBy": null,
            "LockAcquiredAt": 0,
            "PodProbeOverrides": {"LivenessProbeOverride": {"failureThreshold": 8}}
        });
        assert_eq!(v, expected);
        let back: Installation = serde_json::from_value(v).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn dto_adds_dns_annotations_and_clusters() {
        let records = vec![
            InstallationDNS {
                id: "d1".into(),
                domain_name: "alt.example.com".into(),
                installation_id: "i".into(),
                is_primary: false,
                create_at: 1,
                delete_at: 0,
            },
            InstallationDNS {
                id: "d2".into(),
                domain_name: "stelios.example.com".into(),
                installation_id: "i".into(),
                is_primary: true,
                create_at: 2,
                delete_at: 0,
            },
        ];
        let mut dto = full_installation().into_dto(Vec::new(), records);
        assert_eq!(dto.dns, "stelios.example.com");
        let v = serde_json::to_value(&dto).unwrap();
        assert!(v.get("Annotations").is_none());
        assert!(v.get("ClusterIDs").is_none());
        assert_eq!(v["DNSRecords"].as_array().unwrap().len(), 2);
        assert_eq!(v["ID"], "8npnfpbiitygxbsrpg1p5i1sse");

        dto.annotations = vec![Annotation {
            id: "a".into(),
            name: "multi-tenant".into(),
        }];
        dto.cluster_ids = vec!["c1".into()];
        let v = serde_json::to_value(&dto).unwrap();
        assert_eq!(
            v["Annotations"],
            json!([{"ID": "a", "Name": "multi-tenant"}])
        );
        assert_eq!(v["ClusterIDs"], json!(["c1"]));
        let back: InstallationDTO = serde_json::from_value(v).unwrap();
        assert_eq!(back, dto);
    }

    #[test]
    fn omitempty_fields_are_left_out_when_zero() {
        let v = serde_json::to_value(Installation::default()).unwrap();
        for key in [
            "GroupSequence",
            "command",
            "SingleTenantDatabaseConfig",
            "ExternalDatabaseConfig",
            "DeletionPendingExpiry",
            "ScheduledDeletionTime",
            "GroupOverrides",
            "PodProbeOverrides",
            "Scheduling",
        ] {
            assert!(v.get(key).is_none(), "{key}");
        }
        for key in [
            "GroupID",
            "AllowedIPRanges",
            "Volumes",
            "MattermostEnv",
            "LockAcquiredBy",
        ] {
            assert_eq!(v[key], Value::Null, "{key}");
        }
    }

    #[test]
    fn status_and_count_shapes() {
        let s = InstallationsStatus {
            installations_total: 5,
            installations_stable: 2,
            installations_hibernating: 1,
            installations_pending_deletion: 1,
            installations_updating: 1,
        };
        let doc = r#"{"InstallationsTotal":5,"InstallationsStable":2,"InstallationsHibernating":1,"InstallationsPendingDeletion":1,"InstallationsUpdating":1}"#;
        assert_eq!(serde_json::to_string(&s).unwrap(), doc);
        assert_eq!(serde_json::from_str::<InstallationsStatus>(doc).unwrap(), s);
        assert_eq!(
            serde_json::to_string(&InstallationsCount { count: 7 }).unwrap(),
            r#"{"Count":7}"#
        );
    }

    fn group() -> Group {
        let mut env = EnvVarMap::new();
        env.insert("key1".into(), EnvVar::value("value1"));
        env.insert("key2".into(), EnvVar::value("value2"));
        Group {
            id: "g".into(),
            sequence: 2,
            version: "gversion".into(),
            image: "gImage".into(),
            mattermost_env: Some(env),
            scheduling: Some(Scheduling {
                node_selector: [("pool".to_string(), "mm".to_string())].into(),
                tolerations: Vec::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn merge_with_group_overlays_and_records_overrides() {
        let mut i = full_installation();
        i.group_sequence = Some(1);
        let mut own = EnvVarMap::new();
        own.insert("key2".into(), EnvVar::value("ivalue"));
        own.insert("key3".into(), EnvVar::value("mine"));
        i.mattermost_env = Some(own);
        let g = group();
        i.merge_with_group(&g, true);
        assert!(i.config_merged_with_group());
        assert_eq!(i.version, "gversion");
        assert_eq!(i.image, "gImage");
        let env = i.mattermost_env.clone().unwrap();
        assert_eq!(env["key1"].value, "value1");
        assert_eq!(env["key2"].value, "value2");
        assert_eq!(env["key3"].value, "mine");
        assert_eq!(i.scheduling, g.scheduling);
        let o = i.group_overrides.clone().unwrap();
        assert_eq!(o["Installation Version"], "9.11.0");
        assert_eq!(o["Group Version"], "gversion");
        assert_eq!(o["Installation Image"], DEFAULT_IMAGE);
        assert_eq!(o["Installation MattermostEnv[key2]"], "ivalue");
        assert_eq!(o["Group MattermostEnv[key2]"], "value2");
        assert!(!o.contains_key("Installation MattermostEnv[key1]"));
        // Sequence bookkeeping.
        assert!(!i.sequence_matches_merged_group());
        i.sync_group_sequence();
        assert_eq!(i.group_sequence, Some(2));
        assert!(i.sequence_matches_merged_group());
        // Idempotent: a second merge changes nothing.
        let before = i.clone();
        let mut other = g.clone();
        other.version = "later".into();
        i.merge_with_group(&other, true);
        assert_eq!(i, before);
        // GroupOverrides shows in JSON; the merge marker never does.
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["GroupOverrides"]["Group Image"], "gImage");
        assert_eq!(v["Scheduling"]["NodeSelector"]["pool"], "mm");
    }

    #[test]
    fn merge_without_overrides_or_group_values() {
        let mut i = full_installation();
        let empty = Group {
            sequence: 0,
            ..Default::default()
        };
        i.merge_with_group(&empty, true);
        assert_eq!(i.version, "9.11.0");
        assert_eq!(i.image, DEFAULT_IMAGE);
        assert_eq!(i.scheduling, None);
        assert!(
            serde_json::to_value(&i)
                .unwrap()
                .get("GroupOverrides")
                .is_none()
        );

        let mut i = full_installation();
        i.merge_with_group(&group(), false);
        assert_eq!(i.version, "gversion");
        assert_eq!(i.group_overrides, Some(BTreeMap::new()));
        assert!(!i.sequence_matches_merged_group());
        assert!(Installation::default().sequence_matches_merged_group());
    }

    #[test]
    fn env_vars_overlay_priority_env() {
        let mut i = full_installation();
        let mut prio = EnvVarMap::new();
        prio.insert("MM_A".into(), EnvVar::value("prio"));
        i.priority_env = Some(prio);
        assert_eq!(i.env_vars()["MM_A"], EnvVar::value("prio"));
    }
}
