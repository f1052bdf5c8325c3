//! Request bodies of the installation routes, with the original's defaults
//! (`SetDefaults`) and validation, and the patch semantics (`Apply`).
//!
//! Server options that change what is valid (the operator flags and
//! `--require-annotated-installations`) come in through
//! [`InstallationRequestOptions`] rather than globals. "Now" is a parameter
//! so the time rules are testable.

use crate::ValidationError;
use crate::annotation::validate_annotation_names;
use crate::env::{EnvVarMap, clear_or_patch_env, validate_env_map};
use crate::filter::Paging;
use crate::installation::{
    Affinity, AllowedIPRange, DEFAULT_CR_VERSION, DEFAULT_IMAGE, DEFAULT_VERSION, DatabaseType,
    ExternalDatabaseConfig, FilestoreType, Installation, InstallationState, PodProbeOverrides,
    SingleTenantDatabaseConfig, VOLUME_TYPE_SECRET, Volume, null_as_default, validate_ip_ranges,
};
use crate::installation_dns::{first_label, validate_domain_name};
use crate::installation_size::{DEFAULT_SIZE, get_installation_size};
use data_encoding::BASE64;

/// The DNS route's body lives with the domain names; re-exported here with
/// the other installation request bodies.
pub use crate::installation_dns::AddDNSRecordRequest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Instance type of single-tenant RDS databases when none is given.
pub const DEFAULT_RDS_INSTANCE_TYPE: &str = "db.t4g.medium";
/// Most replicas a single-tenant RDS database may have.
pub const MAX_RDS_REPLICAS: i64 = 15;
/// A scheduled deletion must be at least this far in the future (ms).
pub const MIN_SCHEDULED_DELETION_DELAY_MS: i64 = 5 * 60 * 1000;
/// A new deletion-pending expiry may be this far in the past (ms).
pub const DELETION_EXPIRY_GRACE_MS: i64 = 5 * 1000;
/// Most files one volume may hold.
pub const MAX_VOLUME_DATA_ENTRIES: usize = 1_000_000;

/// Server options that decide what a create request may ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallationRequestOptions {
    /// `--deploy-mysql-operator`: allows the `mysql-operator` database.
    pub deploy_mysql_operator: bool,
    /// `--deploy-minio-operator`: allows the `minio-operator` filestore.
    pub deploy_minio_operator: bool,
    /// `--require-annotated-installations`: at least one annotation.
    pub require_annotated_installations: bool,
}

/// Single-tenant RDS settings of a create request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SingleTenantDatabaseRequest {
    pub primary_instance_type: String,
    pub replica_instance_type: String,
    pub replicas_count: i64,
}

impl SingleTenantDatabaseRequest {
    fn set_defaults(&mut self) {
        if self.primary_instance_type.is_empty() {
            self.primary_instance_type = DEFAULT_RDS_INSTANCE_TYPE.into();
        }
        if self.replica_instance_type.is_empty() {
            self.replica_instance_type = DEFAULT_RDS_INSTANCE_TYPE.into();
        }
    }

    fn validate(&self) -> Result<(), ValidationError> {
        if !(0..=MAX_RDS_REPLICAS).contains(&self.replicas_count) {
            return Err(ValidationError::new(
                "SingleTenantDatabaseConfig",
                format!("ReplicasCount must be between 0 and {MAX_RDS_REPLICAS}"),
            ));
        }
        Ok(())
    }
}

/// External database settings of a create request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExternalDatabaseRequest {
    pub secret_name: String,
}

/// Body of `POST /api/installations`. Plain strings where `""` means "use
/// the default"; [`CreateInstallationRequest::into_new_installation`] turns
/// it into a validated [`Installation`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateInstallationRequest {
    pub name: String,
    #[serde(rename = "OwnerID")]
    pub owner_id: String,
    #[serde(rename = "GroupID")]
    pub group_id: String,
    pub version: String,
    pub image: String,
    /// Deprecated single domain name; prepended to `DNSNames`.
    #[serde(rename = "DNS")]
    pub dns: String,
    #[serde(rename = "DNSNames", deserialize_with = "null_as_default")]
    pub dns_names: Vec<String>,
    pub license: String,
    pub size: String,
    pub affinity: String,
    pub database: String,
    pub filestore: String,
    #[serde(rename = "APISecurityLock")]
    pub api_security_lock: bool,
    /// Ignored by the original; honoured here.
    pub deletion_locked: bool,
    pub mattermost_env: Option<EnvVarMap>,
    pub priority_env: Option<EnvVarMap>,
    #[serde(deserialize_with = "null_as_default")]
    pub annotations: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub group_selection_annotations: Vec<String>,
    /// Milliseconds; 0 = none.
    pub scheduled_deletion_time: i64,
    /// Only used by the single-tenant RDS databases.
    #[serde(deserialize_with = "null_as_default")]
    pub single_tenant_database_config: SingleTenantDatabaseRequest,
    /// Only used by the `external` database.
    #[serde(deserialize_with = "null_as_default")]
    pub external_database_config: ExternalDatabaseRequest,
    pub pod_probe_overrides: Option<PodProbeOverrides>,
    pub command: Option<Vec<String>>,
}

/// A validated create request, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstallation {
    /// `ID` and `CreateAt` are left for the store to assign.
    pub installation: Installation,
    /// Lower-cased; the first is the primary.
    pub dns_names: Vec<String>,
    pub annotations: Vec<String>,
    /// Used by the API to pick a group when `GroupID` is empty.
    pub group_selection_annotations: Vec<String>,
}

/// The enums a valid create request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateInstallationTypes {
    pub affinity: Affinity,
    pub database: DatabaseType,
    pub filestore: FilestoreType,
}

fn no_spaces(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_whitespace) {
        return Err(ValidationError::new(field, "cannot contain spaces"));
    }
    Ok(())
}

fn parse_enum<T: std::str::FromStr<Err = String>>(
    field: &str,
    v: &str,
) -> Result<T, ValidationError> {
    v.parse()
        .map_err(|m: String| ValidationError::new(field, m))
}

impl CreateInstallationRequest {
    /// The original's `SetDefaults`: folds `DNS` into `DNSNames`, lower-cases
    /// the names, derives `Name` from the first domain name, and fills the
    /// defaults.
    pub fn set_defaults(&mut self) {
        if !self.dns.is_empty() {
            self.dns_names.insert(0, self.dns.clone());
        }
        self.dns = self.dns.to_lowercase();
        for name in &mut self.dns_names {
            *name = name.to_lowercase();
        }
        // The original derives the name from `DNS` only; falling back to the
        // first of `DNSNames` also accepts requests that give only those.
        if self.name.is_empty()
            && let Some(first) = self.dns_names.first()
        {
            self.name = first_label(first).to_string();
        }
        self.name = self.name.to_lowercase();
        for (field, default) in [
            (&mut self.version, DEFAULT_VERSION),
            (&mut self.image, DEFAULT_IMAGE),
            (&mut self.size, DEFAULT_SIZE),
            (&mut self.affinity, Affinity::Isolated.as_str()),
            (&mut self.database, DatabaseType::MysqlOperator.as_str()),
            (&mut self.filestore, FilestoreType::MinioOperator.as_str()),
        ] {
            if field.is_empty() {
                *field = default.to_string();
            }
        }
        if self
            .database
            .parse::<DatabaseType>()
            .is_ok_and(DatabaseType::is_single_tenant_rds)
        {
            self.single_tenant_database_config.set_defaults();
        }
    }

    /// The original's `Validate` (call after [`Self::set_defaults`]).
    /// `now` is in milliseconds.
    pub fn validate(
        &self,
        opts: &InstallationRequestOptions,
        now: i64,
    ) -> Result<CreateInstallationTypes, ValidationError> {
        if self.name.is_empty() {
            return Err(ValidationError::new("Name", "name needs to be specified"));
        }
        if self.owner_id.is_empty() {
            return Err(ValidationError::new("OwnerID", "must specify owner"));
        }
        self.validate_dns_names()?;
        get_installation_size(&self.size)
            .map_err(|e| ValidationError::new("Size", format!("invalid installation size: {e}")))?;
        let affinity: Affinity = parse_enum("Affinity", &self.affinity)?;
        let database: DatabaseType = parse_enum("Database", &self.database)?;
        let filestore: FilestoreType = parse_enum("Filestore", &self.filestore)?;
        if let Some(env) = &self.mattermost_env {
            validate_env_map("MattermostEnv", env)?;
        }
        if let Some(env) = &self.priority_env {
            validate_env_map("PriorityEnv", env)?;
        }
        if opts.require_annotated_installations && self.annotations.is_empty() {
            return Err(ValidationError::new(
                "Annotations",
                "at least one annotation is required",
            ));
        }
        validate_annotation_names("Annotations", &self.annotations)?;
        validate_annotation_names(
            "GroupSelectionAnnotations",
            &self.group_selection_annotations,
        )?;
        if database.is_single_tenant_rds() {
            self.single_tenant_database_config.validate()?;
        }
        if database.is_external() && self.external_database_config.secret_name.is_empty() {
            return Err(ValidationError::new(
                "ExternalDatabaseConfig",
                "SecretName is required for an external database",
            ));
        }
        if filestore == FilestoreType::MinioOperator && !opts.deploy_minio_operator {
            return Err(ValidationError::new(
                "Filestore",
                "minio filestore cannot be used when minio operator is not deployed",
            ));
        }
        if database == DatabaseType::MysqlOperator && !opts.deploy_mysql_operator {
            return Err(ValidationError::new(
                "Database",
                "mysql operator database cannot be used when mysql operator is not deployed",
            ));
        }
        if self.scheduled_deletion_time < 0 {
            return Err(ValidationError::new(
                "ScheduledDeletionTime",
                "must be 0 or more",
            ));
        }
        if self.scheduled_deletion_time > 0
            && self.scheduled_deletion_time < now + MIN_SCHEDULED_DELETION_DELAY_MS
        {
            return Err(ValidationError::new(
                "ScheduledDeletionTime",
                "must be at least 5 minutes in the future",
            ));
        }
        if let Some(p) = &self.pod_probe_overrides {
            p.validate("PodProbeOverrides")?;
        }
        no_spaces("Version", &self.version)?;
        no_spaces("Image", &self.image)?;
        no_spaces("License", &self.license)?;
        no_spaces("GroupID", &self.group_id)?;
        Ok(CreateInstallationTypes {
            affinity,
            database,
            filestore,
        })
    }

    fn validate_dns_names(&self) -> Result<(), ValidationError> {
        if self.dns_names.is_empty() {
            return Err(ValidationError::new(
                "DNSNames",
                "at least one DNS name is required",
            ));
        }
        for (i, dns) in self.dns_names.iter().enumerate() {
            // After set_defaults, index 0 is the deprecated DNS when given.
            let field = if i == 0 && !self.dns.is_empty() {
                "DNS"
            } else {
                "DNSNames"
            };
            validate_domain_name(dns).map_err(|m| ValidationError::new(field, m))?;
            if first_label(dns) != self.name {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "domain name {dns:?} must start with the installation name {:?}",
                        self.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Defaults, validates and builds the installation the store creates
    /// (state `creation-requested`, the default CR version).
    pub fn into_new_installation(
        mut self,
        opts: &InstallationRequestOptions,
        now: i64,
    ) -> Result<NewInstallation, ValidationError> {
        self.set_defaults();
        let types = self.validate(opts, now)?;
        let st = &self.single_tenant_database_config;
        let installation = Installation {
            owner_id: self.owner_id,
            // The original stores "" for "no group"; kept for compatibility.
            group_id: Some(self.group_id),
            version: self.version,
            image: self.image,
            command: self.command.filter(|c| !c.is_empty()),
            name: self.name,
            database: types.database,
            single_tenant_database_config: types.database.is_single_tenant_rds().then(|| {
                SingleTenantDatabaseConfig {
                    primary_instance_type: st.primary_instance_type.clone(),
                    replica_instance_type: st.replica_instance_type.clone(),
                    replicas_count: st.replicas_count,
                }
            }),
            external_database_config: types.database.is_external().then(|| {
                ExternalDatabaseConfig {
                    secret_name: self.external_database_config.secret_name.clone(),
                }
            }),
            filestore: types.filestore,
            license: self.license,
            mattermost_env: self.mattermost_env,
            priority_env: self.priority_env,
            size: self.size,
            affinity: types.affinity,
            state: InstallationState::CreationRequested,
            cr_version: DEFAULT_CR_VERSION.into(),
            scheduled_deletion_time: self.scheduled_deletion_time,
            api_security_lock: self.api_security_lock,
            deletion_locked: self.deletion_locked,
            pod_probe_overrides: self.pod_probe_overrides.filter(|p| !p.is_empty()),
            ..Default::default()
        };
        Ok(NewInstallation {
            installation,
            dns_names: self.dns_names,
            annotations: self.annotations,
            group_selection_annotations: self.group_selection_annotations,
        })
    }
}

fn paging_query(paging: &Paging, q: &mut Vec<(&'static str, String)>) {
    q.push(("page", paging.page.to_string()));
    q.push(("per_page", paging.per_page.to_string()));
    if paging.include_deleted {
        q.push(("include_deleted", "true".into()));
    }
}

/// Query of `GET /api/installation/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetInstallationRequest {
    pub include_group_config: bool,
    pub include_group_config_overrides: bool,
}

impl Default for GetInstallationRequest {
    fn default() -> Self {
        Self {
            include_group_config: true,
            include_group_config_overrides: true,
        }
    }
}

impl GetInstallationRequest {
    /// Like the Go client, sends the flags only when they are false.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.include_group_config {
            q.push(("include_group_config", "false".into()));
        }
        if !self.include_group_config_overrides {
            q.push(("include_group_config_overrides", "false".into()));
        }
        q
    }
}

/// Query of `GET /api/installations`. Empty strings mean "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetInstallationsRequest {
    pub paging: Paging,
    pub owner_id: String,
    pub group_id: String,
    pub state: String,
    /// Exact domain name, or a `LIKE` pattern when it contains `%`.
    pub dns: String,
    pub name: String,
    pub deletion_locked: Option<bool>,
    pub include_group_config: bool,
    pub include_group_config_overrides: bool,
}

impl Default for GetInstallationsRequest {
    fn default() -> Self {
        Self {
            paging: Paging::default(),
            owner_id: String::new(),
            group_id: String::new(),
            state: String::new(),
            dns: String::new(),
            name: String::new(),
            deletion_locked: None,
            include_group_config: true,
            include_group_config_overrides: true,
        }
    }
}

impl GetInstallationsRequest {
    /// The Go client's query: the filters always (even empty), the group
    /// flags only when false, `deletion_locked` only when set, then paging.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("owner", self.owner_id.clone()),
            ("group", self.group_id.clone()),
            ("state", self.state.clone()),
            ("dns_name", self.dns.clone()),
            ("name", self.name.clone()),
        ];
        if let Some(locked) = self.deletion_locked {
            q.push(("deletion_locked", locked.to_string()));
        }
        if !self.include_group_config {
            q.push(("include_group_config", "false".into()));
        }
        if !self.include_group_config_overrides {
            q.push(("include_group_config_overrides", "false".into()));
        }
        paging_query(&self.paging, &mut q);
        q
    }
}

/// Body of `PUT /api/installation/{id}/mattermost` (and of `…/wakeup`).
/// Every field is optional; `null` means "leave alone".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PatchInstallationRequest {
    #[serde(rename = "OwnerID")]
    pub owner_id: Option<String>,
    pub image: Option<String>,
    pub version: Option<String>,
    pub size: Option<String>,
    pub license: Option<String>,
    #[serde(rename = "AllowedIPRanges")]
    pub allowed_ip_ranges: Option<Vec<AllowedIPRange>>,
    /// `true` replaces the ranges; otherwise they are merged by CIDR block.
    #[serde(rename = "OverrideIPRanges")]
    pub override_ip_ranges: Option<bool>,
    pub priority_env: Option<EnvVarMap>,
    pub mattermost_env: Option<EnvVarMap>,
    pub pod_probe_overrides: Option<PodProbeOverrides>,
    pub command: Option<Vec<String>>,
}

/// Replaces `target` with `value` when given and different.
fn set_if_changed<T: Clone + PartialEq>(value: &Option<T>, target: &mut T) -> bool {
    match value {
        Some(v) if v != target => {
            *target = v.clone();
            true
        }
        _ => false,
    }
}

/// Merges `patch` into `existing` by CIDR block: entries with a known block
/// replace it in place, new blocks are appended in patch order.
pub fn merge_ip_ranges(
    existing: &[AllowedIPRange],
    patch: &[AllowedIPRange],
) -> Vec<AllowedIPRange> {
    let mut merged = existing.to_vec();
    for p in patch {
        match merged.iter_mut().find(|e| e.cidr_block == p.cidr_block) {
            Some(e) => *e = p.clone(),
            None => merged.push(p.clone()),
        }
    }
    merged
}

impl PatchInstallationRequest {
    /// Rejects blank versions and images, unknown sizes, invalid IP ranges
    /// and probe overrides that are not objects. Env maps are not validated:
    /// a value-less entry means "remove".
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.version.as_deref() == Some("") {
            return Err(ValidationError::new(
                "Version",
                "provided version update value was blank",
            ));
        }
        if self.image.as_deref() == Some("") {
            return Err(ValidationError::new(
                "Image",
                "provided image update value was blank",
            ));
        }
        if let Some(size) = &self.size {
            get_installation_size(size)
                .map_err(|e| ValidationError::new("Size", format!("invalid size: {e}")))?;
        }
        if let Some(ranges) = &self.allowed_ip_ranges {
            validate_ip_ranges("AllowedIPRanges", ranges)?;
        }
        if let Some(p) = &self.pod_probe_overrides {
            p.validate("PodProbeOverrides")?;
        }
        Ok(())
    }

    /// Applies the patch; returns whether the installation changed.
    ///
    /// Env maps follow `ClearOrPatch`. A `PodProbeOverrides` replaces each
    /// probe it names, and `{}` clears both; a `Command` replaces the
    /// command, and `[]` clears it. Invalid IP ranges are skipped (validate
    /// first to reject them).
    pub fn apply(&self, i: &mut Installation) -> bool {
        let mut changed = false;
        changed |= set_if_changed(&self.owner_id, &mut i.owner_id);
        changed |= set_if_changed(&self.version, &mut i.version);
        changed |= set_if_changed(&self.image, &mut i.image);
        changed |= set_if_changed(&self.size, &mut i.size);
        changed |= set_if_changed(&self.license, &mut i.license);
        if let Some(ranges) = &self.allowed_ip_ranges
            && validate_ip_ranges("AllowedIPRanges", ranges).is_ok()
        {
            let current = i.allowed_ip_ranges.clone().unwrap_or_default();
            let new = if self.override_ip_ranges == Some(true) {
                ranges.clone()
            } else {
                merge_ip_ranges(&current, ranges)
            };
            if new != current {
                i.allowed_ip_ranges = Some(new);
                changed = true;
            }
        }
        if let Some(env) = &self.mattermost_env {
            changed |= clear_or_patch_env(&mut i.mattermost_env, env);
        }
        if let Some(env) = &self.priority_env {
            changed |= clear_or_patch_env(&mut i.priority_env, env);
        }
        if let Some(p) = &self.pod_probe_overrides {
            let new = if p.is_empty() {
                None
            } else {
                let mut merged = i.pod_probe_overrides.clone().unwrap_or_default();
                if p.liveness_probe_override.is_some() {
                    merged.liveness_probe_override = p.liveness_probe_override.clone();
                }
                if p.readiness_probe_override.is_some() {
                    merged.readiness_probe_override = p.readiness_probe_override.clone();
                }
                Some(merged)
            };
            if new != i.pod_probe_overrides {
                i.pod_probe_overrides = new;
                changed = true;
            }
        }
        if let Some(command) = &self.command {
            let new = (!command.is_empty()).then(|| command.clone());
            if new != i.command {
                i.command = new;
                changed = true;
            }
        }
        changed
    }
}

/// Body of `PUT /api/installation/{id}/deletion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PatchInstallationDeletionRequest {
    pub deletion_pending_expiry: Option<i64>,
}

impl PatchInstallationDeletionRequest {
    /// The new expiry may not be more than 5 s in the past.
    pub fn validate(&self, now: i64) -> Result<(), ValidationError> {
        if let Some(expiry) = self.deletion_pending_expiry {
            let cutoff = now - DELETION_EXPIRY_GRACE_MS;
            if expiry < cutoff {
                return Err(ValidationError::new(
                    "DeletionPendingExpiry",
                    format!("must be {cutoff} or higher"),
                ));
            }
        }
        Ok(())
    }

    /// Returns whether the expiry changed.
    pub fn apply(&self, i: &mut Installation) -> bool {
        set_if_changed(
            &self.deletion_pending_expiry,
            &mut i.deletion_pending_expiry,
        )
    }
}

/// Body of `PUT /api/installation/{id}/deletion/schedule`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PatchInstallationScheduledDeletionRequest {
    /// Milliseconds; 0 cancels the schedule.
    pub scheduled_deletion_time: Option<i64>,
}

impl PatchInstallationScheduledDeletionRequest {
    /// 0 or a time in the future.
    pub fn validate(&self, now: i64) -> Result<(), ValidationError> {
        match self.scheduled_deletion_time {
            Some(t) if t < 0 => Err(ValidationError::new(
                "ScheduledDeletionTime",
                "must be 0 or more",
            )),
            Some(t) if t != 0 && t <= now => Err(ValidationError::new(
                "ScheduledDeletionTime",
                "must be in the future (or 0 to cancel)",
            )),
            _ => Ok(()),
        }
    }

    /// Sets the time when given; like the original, reports a change even
    /// when the value is the same.
    pub fn apply(&self, i: &mut Installation) -> bool {
        match self.scheduled_deletion_time {
            Some(t) => {
                i.scheduled_deletion_time = t;
                true
            }
            None => false,
        }
    }
}

/// Checks a volume name: 3–64 characters, `^[a-z]+[a-z0-9_-]*$`.
pub fn validate_volume_name(name: &str) -> Result<(), ValidationError> {
    let starts_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !(3..=64).contains(&name.len()) || !starts_ok || !rest_ok {
        return Err(ValidationError::new(
            "Name",
            format!("volume name {name:?} must be 3 to 64 characters matching ^[a-z]+[a-z0-9_-]*$"),
        ));
    }
    Ok(())
}

/// Volume `Data` holding one file, its content base64-encoded as Go's
/// `[]byte` JSON encoding does.
pub fn volume_file_data(file_name: impl Into<String>, content: &[u8]) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    data.insert(file_name.into(), BASE64.encode(content));
    data
}

/// Name of the Secrets Manager secret backing a volume.
pub fn volume_backing_secret_name(installation_id: &str, now: i64, volume_name: &str) -> String {
    format!("installation-secret-{installation_id}-{now}-{volume_name}")
}

fn validate_volume_data(data: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if data.is_empty() {
        return Err(ValidationError::new("Data", "volume data is required"));
    }
    if data.len() > MAX_VOLUME_DATA_ENTRIES {
        return Err(ValidationError::new(
            "Data",
            format!("at most {MAX_VOLUME_DATA_ENTRIES} entries are allowed"),
        ));
    }
    for (file, content) in data {
        if file.is_empty() {
            return Err(ValidationError::new("Data", "file names cannot be empty"));
        }
        BASE64.decode(content.as_bytes()).map_err(|_| {
            ValidationError::new("Data", format!("content of {file:?} is not base64"))
        })?;
    }
    Ok(())
}

fn mount_path_taken(i: &Installation, path: &str, except: Option<&str>) -> bool {
    i.volumes
        .iter()
        .flatten()
        .any(|(name, v)| Some(name.as_str()) != except && v.mount_path == path)
}

/// Body of `POST /api/installation/{id}/volumes`. `Data` maps file names to
/// base64 content (Go's `[]byte` JSON encoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateInstallationVolumeRequest {
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub data: BTreeMap<String, String>,
    pub volume: Option<Volume>,
}

impl CreateInstallationVolumeRequest {
    /// A request for one file, base64-encoding `content`.
    pub fn with_file(
        name: impl Into<String>,
        file_name: impl Into<String>,
        content: &[u8],
        mount_path: impl Into<String>,
        read_only: bool,
    ) -> Self {
        Self {
            name: name.into(),
            data: volume_file_data(file_name, content),
            volume: Some(Volume {
                volume_type: VOLUME_TYPE_SECRET.into(),
                backing_secret: String::new(),
                mount_path: mount_path.into(),
                read_only,
            }),
        }
    }

    /// Checks the request on its own and against the installation's
    /// existing volumes (unique name and mount path).
    pub fn validate(&self, installation: &Installation) -> Result<(), ValidationError> {
        validate_volume_name(&self.name)?;
        let Some(volume) = &self.volume else {
            return Err(ValidationError::new("Volume", "volume is required"));
        };
        if volume.volume_type != VOLUME_TYPE_SECRET {
            return Err(ValidationError::new("Volume", "Type must be \"secret\""));
        }
        if volume.mount_path.is_empty() {
            return Err(ValidationError::new("Volume", "MountPath is required"));
        }
        if !volume.backing_secret.is_empty() {
            return Err(ValidationError::new(
                "Volume",
                "BackingSecret is set by the server",
            ));
        }
        validate_volume_data(&self.data)?;
        if installation
            .volumes
            .as_ref()
            .is_some_and(|v| v.contains_key(&self.name))
        {
            return Err(ValidationError::new(
                "Name",
                format!("volume {:?} already exists", self.name),
            ));
        }
        if mount_path_taken(installation, &volume.mount_path, None) {
            return Err(ValidationError::new(
                "Volume",
                "MountPath is used by another volume",
            ));
        }
        Ok(())
    }
}

/// Body of `PUT /api/installation/{id}/volume/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PatchInstallationVolumeRequest {
    pub data: Option<BTreeMap<String, String>>,
    pub mount_path: Option<String>,
    pub read_only: Option<bool>,
}

impl PatchInstallationVolumeRequest {
    /// Checks the patch against the installation's other volumes.
    pub fn validate(
        &self,
        installation: &Installation,
        volume_name: &str,
    ) -> Result<(), ValidationError> {
        if let Some(path) = &self.mount_path {
            if path.is_empty() {
                return Err(ValidationError::new("MountPath", "cannot be blank"));
            }
            if mount_path_taken(installation, path, Some(volume_name)) {
                return Err(ValidationError::new(
                    "MountPath",
                    "is used by another volume",
                ));
            }
        }
        if let Some(data) = &self.data {
            validate_volume_data(data)?;
        }
        Ok(())
    }

    /// Applies the mount settings; returns whether anything changed
    /// (new `Data` always counts as a change: the secret is rewritten).
    pub fn apply(&self, volume: &mut Volume) -> bool {
        let mut changed = self.data.is_some();
        changed |= set_if_changed(&self.mount_path, &mut volume.mount_path);
        changed |= set_if_changed(&self.read_only, &mut volume.read_only);
        changed
    }
}

#[cfg(test)]
#[path = "installation_request/tests.rs"]
mod tests;
