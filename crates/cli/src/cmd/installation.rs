//! `cloud installation …`: create, update, delete, volumes, deletion
//! scheduling, hibernation, get, list, status, the state report,
//! annotations and domain names, with the original's flags
//! (original-interfaces §2.5); `backup` and `operation` are wired from their
//! own files.
//!
//! Mutations print what the API returns as JSON (`--dry-run` prints the
//! request instead). `list` prints a table (`ID, STATE, VERSION, DATABASE,
//! FILESTORE, DNS, API-LOCKED, DELETION-LOCKED`) by default and the API's
//! JSON with `--json`; `get` and the JSON list hide the license and the
//! environment unless `--hide-license=false` / `--hide-env=false`.

use crate::args::{Ctx, PagingArgs, parse_go_duration};
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::env::{EnvVar, EnvVarMap, parse_env_assignments};
use cloud_model::installation::{
    AllowedIPRange, DatabaseType, Installation, InstallationDTO, PodProbeOverrides,
    installation_request_state_report,
};
use cloud_model::installation_dns::AddDNSRecordRequest;
use cloud_model::installation_request::{
    CreateInstallationRequest, CreateInstallationVolumeRequest, ExternalDatabaseRequest,
    GetInstallationRequest, GetInstallationsRequest, PatchInstallationDeletionRequest,
    PatchInstallationRequest, PatchInstallationScheduledDeletionRequest,
    PatchInstallationVolumeRequest, SingleTenantDatabaseRequest, volume_file_data,
};
use cloud_model::now_millis;
use serde_json::{Map, Value};
use std::time::Duration;

use super::installation_backup::InstallationBackupCmd;
use super::installation_operation::InstallationOperationCmd;

/// What `--hide-license` prints instead of the license.
pub const HIDDEN_LICENSE: &str = "hidden (--hide-license=true)";

/// Columns of `installation list`.
pub const TABLE_HEADERS: [&str; 8] = [
    "ID",
    "STATE",
    "VERSION",
    "DATABASE",
    "FILESTORE",
    "DNS",
    "API-LOCKED",
    "DELETION-LOCKED",
];

#[derive(Debug, Clone, Subcommand)]
pub enum InstallationCmd {
    /// Create an installation.
    #[command(disable_version_flag = true)]
    Create(Box<CreateArgs>),
    /// Update an installation's configuration.
    #[command(disable_version_flag = true)]
    Update(Box<UpdateArgs>),
    /// Delete an installation.
    Delete(InstallationArg),
    /// Add a custom secret volume to an installation.
    CreateVolume(CreateVolumeArgs),
    /// Update a custom volume of an installation.
    UpdateVolume(UpdateVolumeArgs),
    /// Remove a custom volume from an installation.
    DeleteVolume(VolumeArg),
    /// Change when an installation pending deletion is deleted.
    UpdateDeletion(UpdateDeletionArgs),
    /// Cancel the pending deletion of an installation.
    CancelDeletion(InstallationArg),
    /// Schedule (or with 0, cancel) the automatic deletion of an installation.
    ScheduleDeletion(ScheduleDeletionArgs),
    /// Put an installation into hibernation.
    Hibernate(InstallationArg),
    /// Wake an installation from hibernation (optionally changing its configuration).
    #[command(disable_version_flag = true)]
    WakeUp(Box<UpdateArgs>),
    /// Get a particular installation.
    Get(GetArgs),
    /// List installations.
    List(Box<ListArgs>),
    /// Get the status of all installations.
    Status,
    /// Print which states allow each installation request.
    StateReport,
    /// Manage installation annotations.
    #[command(subcommand)]
    Annotation(AnnotationCmd),
    /// Manage installation domain names.
    #[command(subcommand)]
    Dns(DnsCmd),
    /// Manage installation backups.
    #[command(subcommand)]
    Backup(InstallationBackupCmd),
    /// Manage installation operations.
    #[command(subcommand)]
    Operation(InstallationOperationCmd),
}

/// `--installation <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct InstallationArg {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
}

/// The ten probe flags. Zero (the default) leaves a value to the server.
#[derive(Debug, Clone, Default, Args)]
pub struct ProbeArgs {
    /// Override for the liveness probe failure threshold.
    #[arg(long)]
    pub probe_liveness_failure_threshold: Option<i32>,
    /// Override for the liveness probe success threshold.
    #[arg(long)]
    pub probe_liveness_success_threshold: Option<i32>,
    /// Override for the liveness probe initial delay seconds.
    #[arg(long)]
    pub probe_liveness_initial_delay_seconds: Option<i32>,
    /// Override for the liveness probe period seconds.
    #[arg(long)]
    pub probe_liveness_period_seconds: Option<i32>,
    /// Override for the liveness probe timeout seconds.
    #[arg(long)]
    pub probe_liveness_timeout_seconds: Option<i32>,
    /// Override for the readiness probe failure threshold.
    #[arg(long)]
    pub probe_readiness_failure_threshold: Option<i32>,
    /// Override for the readiness probe success threshold.
    #[arg(long)]
    pub probe_readiness_success_threshold: Option<i32>,
    /// Override for the readiness probe initial delay seconds.
    #[arg(long)]
    pub probe_readiness_initial_delay_seconds: Option<i32>,
    /// Override for the readiness probe period seconds.
    #[arg(long)]
    pub probe_readiness_period_seconds: Option<i32>,
    /// Override for the readiness probe timeout seconds.
    #[arg(long)]
    pub probe_readiness_timeout_seconds: Option<i32>,
}

impl ProbeArgs {
    /// The overrides to send: a probe object per probe with a flag kept by
    /// `keep` (on create, only values above 0; on update, any given value).
    pub fn overrides(&self, keep: impl Fn(i32) -> bool) -> Option<PodProbeOverrides> {
        let probe = |fields: [(&str, Option<i32>); 5]| {
            let map: Map<String, Value> = fields
                .into_iter()
                .filter_map(|(k, v)| {
                    v.filter(|v| keep(*v))
                        .map(|v| (k.to_string(), Value::from(v)))
                })
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        };
        let liveness = probe([
            ("failureThreshold", self.probe_liveness_failure_threshold),
            ("successThreshold", self.probe_liveness_success_threshold),
            (
                "initialDelaySeconds",
                self.probe_liveness_initial_delay_seconds,
            ),
            ("periodSeconds", self.probe_liveness_period_seconds),
            ("timeoutSeconds", self.probe_liveness_timeout_seconds),
        ]);
        let readiness = probe([
            ("failureThreshold", self.probe_readiness_failure_threshold),
            ("successThreshold", self.probe_readiness_success_threshold),
            (
                "initialDelaySeconds",
                self.probe_readiness_initial_delay_seconds,
            ),
            ("periodSeconds", self.probe_readiness_period_seconds),
            ("timeoutSeconds", self.probe_readiness_timeout_seconds),
        ]);
        (liveness.is_some() || readiness.is_some()).then_some(PodProbeOverrides {
            liveness_probe_override: liveness,
            readiness_probe_override: readiness,
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Unique installation name; the first label of its domain names (default: from --dns).
    #[arg(long, default_value = "")]
    pub name: String,
    /// An opaque identifier describing the owner of the installation.
    #[arg(long)]
    pub owner: String,
    /// The ID of the group to join.
    #[arg(long, default_value = "")]
    pub group: String,
    /// The Mattermost version to install.
    #[arg(long, default_value = "stable")]
    pub version: String,
    /// The Mattermost container image to use.
    #[arg(long, default_value = "mattermost/mattermost-enterprise-edition")]
    pub image: String,
    /// The size of the installation (100users, 1000users, 5000users, 10000users, 25000users, miniSingleton, miniHA, provisionerXL[-N], …).
    #[arg(long, default_value = "100users")]
    pub size: String,
    /// The Mattermost license to use in the server.
    #[arg(long, default_value = "")]
    pub license: String,
    /// Whether the installation may share its cluster: isolated or multitenant.
    #[arg(long, default_value = "isolated")]
    pub affinity: String,
    /// The database type (mysql-operator, aws-rds, aws-rds-postgres, aws-multitenant-rds, aws-multitenant-rds-postgres, aws-multitenant-rds-postgres-pgbouncer, perseus, external).
    #[arg(long, default_value = "mysql-operator")]
    pub database: String,
    /// The filestore type (minio-operator, aws-s3, aws-multitenant-s3, bifrost, local-ephemeral).
    #[arg(long, default_value = "minio-operator")]
    pub filestore: String,
    /// An environment variable, KEY=VALUE (repeatable).
    #[arg(long = "mattermost-env", value_name = "KEY=VALUE")]
    pub mattermost_env: Vec<String>,
    /// An environment variable that wins over the group's, KEY=VALUE (repeatable).
    #[arg(long = "priority-env", value_name = "KEY=VALUE")]
    pub priority_env: Vec<String>,
    /// An annotation of the installation (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// An annotation the group to join must carry (repeatable).
    #[arg(long = "group-selection-annotation")]
    pub group_selection_annotations: Vec<String>,
    /// Delete the installation automatically this long from now (0: never).
    #[arg(long, default_value = "0", value_parser = parse_go_duration)]
    pub scheduled_deletion_time: Duration,
    /// Override the container command (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub command: Vec<String>,
    #[command(flatten)]
    pub probes: ProbeArgs,
    /// Instance type of the primary of a single-tenant RDS database.
    #[arg(long, default_value = "")]
    pub rds_primary_instance: String,
    /// Instance type of the replicas of a single-tenant RDS database.
    #[arg(long, default_value = "")]
    pub rds_replica_instance: String,
    /// Number of replicas of a single-tenant RDS database (0–15).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub rds_replicas_count: i64,
    /// Domain names of the installation (comma-separated or repeated; the first is primary).
    #[arg(long, value_delimiter = ',', required = true)]
    pub dns: Vec<String>,
    /// AWS Secrets Manager secret holding the external database's connection.
    #[arg(long, default_value = "")]
    pub external_database_secret_name: String,
}

/// Flags of `update` and `wake-up`: only given values are sent.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// A new owner.
    #[arg(long)]
    pub owner: Option<String>,
    /// A new Mattermost version.
    #[arg(long)]
    pub version: Option<String>,
    /// A new container image.
    #[arg(long)]
    pub image: Option<String>,
    /// A new size.
    #[arg(long)]
    pub size: Option<String>,
    /// A new license.
    #[arg(long)]
    pub license: Option<String>,
    /// Allowed IP ranges as JSON: [{"CIDRBlock":"10.0.0.0/8","Description":"vpn","Enabled":true}].
    #[arg(long, value_name = "JSON")]
    pub allowed_ip_ranges: Option<String>,
    /// Whether the given IP ranges replace the current ones (else they are merged by CIDR block).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub override_ip_ranges: Option<bool>,
    /// An environment variable to set, KEY=VALUE; KEY= removes it (repeatable).
    #[arg(long = "mattermost-env", value_name = "KEY=VALUE")]
    pub mattermost_env: Vec<String>,
    /// Remove every environment variable.
    #[arg(long)]
    pub mattermost_env_clear: bool,
    /// A priority environment variable to set, KEY=VALUE; KEY= removes it (repeatable).
    #[arg(long = "priority-env", value_name = "KEY=VALUE")]
    pub priority_env: Vec<String>,
    /// Remove every priority environment variable.
    #[arg(long)]
    pub priority_env_clear: bool,
    /// Override the container command (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub command: Option<Vec<String>>,
    #[command(flatten)]
    pub probes: ProbeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VolumeArg {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The name of the volume.
    #[arg(long)]
    pub volume_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateVolumeArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The name of the volume to create.
    #[arg(long)]
    pub volume_name: String,
    /// The container path to mount the volume in.
    #[arg(long, default_value = "")]
    pub mount_path: String,
    /// Whether the volume is mounted read-only.
    #[arg(long, default_value_t = true)]
    pub read_only: bool,
    /// The name of the file in the volume.
    #[arg(long)]
    pub filename: String,
    /// The content of the file.
    #[arg(long)]
    pub data: String,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateVolumeArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The name of the volume to update.
    #[arg(long)]
    pub volume_name: String,
    /// A new container path to mount the volume in.
    #[arg(long)]
    pub mount_path: Option<String>,
    /// Whether the volume is mounted read-only.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub read_only: Option<bool>,
    /// The name of the file in the volume (with --data).
    #[arg(long, requires = "data")]
    pub filename: Option<String>,
    /// The new content of the file (with --filename).
    #[arg(long, requires = "filename")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateDeletionArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// Delete the installation this long from now (0s: as soon as possible).
    #[arg(long, value_parser = parse_go_duration)]
    pub future_expiry: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
pub struct ScheduleDeletionArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// Delete the installation automatically this long from now (0: cancel the schedule).
    #[arg(long, default_value = "0", value_parser = parse_go_duration)]
    pub scheduled_deletion_time: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// Merge the group's configuration into the installation.
    #[arg(long, default_value_t = true)]
    pub include_group_config: bool,
    /// Include a summary of the values the group overrides.
    #[arg(long, default_value_t = true)]
    pub include_group_config_overrides: bool,
    #[command(flatten)]
    pub hide: HideArgs,
}

/// `--hide-license`, `--hide-env`.
#[derive(Debug, Clone, Copy, Args)]
pub struct HideArgs {
    /// Hide the license value in the output.
    #[arg(long, default_value_t = true)]
    pub hide_license: bool,
    /// Hide the environment variables in the output.
    #[arg(long, default_value_t = true)]
    pub hide_env: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only installations of this owner.
    #[arg(long, default_value = "")]
    pub owner: String,
    /// Only installations of this group.
    #[arg(long, default_value = "")]
    pub group: String,
    /// Only installations in this state.
    #[arg(long, default_value = "")]
    pub state: String,
    /// Only installations with this domain name (`%` matches anything).
    #[arg(long, default_value = "")]
    pub dns: String,
    /// Only deletion-locked (true) or unlocked (false) installations.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub deletion_locked: Option<bool>,
    /// Merge the group's configuration into the installations.
    #[arg(long, default_value_t = true)]
    pub include_group_config: bool,
    /// Include a summary of the values the group overrides.
    #[arg(long, default_value_t = true)]
    pub include_group_config_overrides: bool,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub hide: HideArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AnnotationCmd {
    /// Add annotations to an installation.
    Add(AnnotationAddArgs),
    /// Remove an annotation from an installation.
    Delete(AnnotationDeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationAddArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// An annotation to add (repeatable).
    #[arg(long = "annotation", required = true)]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationDeleteArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The annotation to remove.
    #[arg(long)]
    pub annotation: String,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DnsCmd {
    /// Add a domain name to an installation.
    Add(DnsAddArgs),
    /// Make a domain name the installation's primary one.
    SetPrimary(DnsRecordArgs),
    /// Remove a (non-primary) domain name from an installation.
    Delete(DnsRecordArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DnsAddArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The domain name to add.
    #[arg(long)]
    pub domain: String,
}

#[derive(Debug, Clone, Args)]
pub struct DnsRecordArgs {
    /// The ID of the installation.
    #[arg(long)]
    pub installation: String,
    /// The ID of the domain name record.
    #[arg(long)]
    pub domain_id: String,
}

/// `now + d` in milliseconds.
fn from_now(d: Duration) -> i64 {
    now_millis().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The create request the flags describe.
pub fn create_request(args: &CreateArgs) -> anyhow::Result<CreateInstallationRequest> {
    let mattermost_env = parse_env_assignments("mattermost-env", &args.mattermost_env)?;
    let priority_env = parse_env_assignments("priority-env", &args.priority_env)?;
    let mut request = CreateInstallationRequest {
        name: args.name.clone(),
        owner_id: args.owner.clone(),
        group_id: args.group.clone(),
        version: args.version.clone(),
        image: args.image.clone(),
        size: args.size.clone(),
        license: args.license.clone(),
        affinity: args.affinity.clone(),
        database: args.database.clone(),
        filestore: args.filestore.clone(),
        mattermost_env: (!mattermost_env.is_empty()).then_some(mattermost_env),
        priority_env: (!priority_env.is_empty()).then_some(priority_env),
        annotations: args.annotations.clone(),
        group_selection_annotations: args.group_selection_annotations.clone(),
        pod_probe_overrides: args.probes.overrides(|v| v > 0),
        command: (!args.command.is_empty()).then(|| args.command.clone()),
        ..Default::default()
    };
    // One domain goes in the deprecated `DNS` field, as the original CLI
    // sends it, so older servers keep working.
    match args.dns.as_slice() {
        [one] => request.dns = one.clone(),
        many => request.dns_names = many.to_vec(),
    }
    if !args.scheduled_deletion_time.is_zero() {
        request.scheduled_deletion_time = from_now(args.scheduled_deletion_time);
    }
    let database = args.database.parse::<DatabaseType>().ok();
    if database.is_some_and(DatabaseType::is_single_tenant_rds) {
        request.single_tenant_database_config = SingleTenantDatabaseRequest {
            primary_instance_type: args.rds_primary_instance.clone(),
            replica_instance_type: args.rds_replica_instance.clone(),
            replicas_count: args.rds_replicas_count,
        };
    }
    if database == Some(DatabaseType::External) {
        request.external_database_config = ExternalDatabaseRequest {
            secret_name: args.external_database_secret_name.clone(),
        };
    }
    Ok(request)
}

/// `--X-env` / `--X-env-clear` as a patch: nothing, the given variables,
/// or an empty map (which clears them all).
fn env_patch(flag: &str, items: &[String], clear: bool) -> anyhow::Result<Option<EnvVarMap>> {
    if clear && !items.is_empty() {
        anyhow::bail!("--{flag} and --{flag}-clear cannot be used together; choose one");
    }
    if clear {
        return Ok(Some(EnvVarMap::new()));
    }
    let env = parse_env_assignments(flag, items)?;
    Ok((!env.is_empty()).then_some(env))
}

/// The patch the flags of `update` / `wake-up` describe.
pub fn patch_request(args: &UpdateArgs) -> anyhow::Result<PatchInstallationRequest> {
    let allowed_ip_ranges = args
        .allowed_ip_ranges
        .as_deref()
        .map(|text| {
            serde_json::from_str::<Vec<AllowedIPRange>>(text).with_context(|| {
                format!("--allowed-ip-ranges must be a JSON list such as [{{\"CIDRBlock\":\"10.0.0.0/8\",\"Enabled\":true}}]; got {text:?}")
            })
        })
        .transpose()?;
    Ok(PatchInstallationRequest {
        owner_id: args.owner.clone(),
        image: args.image.clone(),
        version: args.version.clone(),
        size: args.size.clone(),
        license: args.license.clone(),
        allowed_ip_ranges,
        override_ip_ranges: args.override_ip_ranges,
        priority_env: env_patch("priority-env", &args.priority_env, args.priority_env_clear)?,
        mattermost_env: env_patch(
            "mattermost-env",
            &args.mattermost_env,
            args.mattermost_env_clear,
        )?,
        pod_probe_overrides: args.probes.overrides(|_| true),
        command: args.command.clone(),
    })
}

/// The volume request of `create-volume`.
pub fn create_volume_request(args: &CreateVolumeArgs) -> CreateInstallationVolumeRequest {
    CreateInstallationVolumeRequest::with_file(
        &args.volume_name,
        &args.filename,
        args.data.as_bytes(),
        &args.mount_path,
        args.read_only,
    )
}

/// The volume patch of `update-volume`.
pub fn update_volume_request(args: &UpdateVolumeArgs) -> PatchInstallationVolumeRequest {
    let data = match (&args.filename, &args.data) {
        (Some(file), Some(data)) => Some(volume_file_data(file.clone(), data.as_bytes())),
        _ => None,
    };
    PatchInstallationVolumeRequest {
        data,
        mount_path: args.mount_path.clone(),
        read_only: args.read_only,
    }
}

/// Replaces the license and env with placeholders, as the original does.
pub fn hide(installation: &mut Installation, hide: HideArgs) {
    if hide.hide_license && !installation.license.is_empty() {
        installation.license = HIDDEN_LICENSE.to_string();
    }
    if hide.hide_env
        && let Some(env) = &installation.mattermost_env
    {
        let key = format!("hidden ({} env vars) (--hide-env=true)", env.len());
        installation.mattermost_env = Some([(key, EnvVar::default())].into());
    }
}

/// One `installation list` row.
pub fn table_row(dto: &InstallationDTO) -> Vec<String> {
    let i = &dto.installation;
    let dns: Vec<&str> = dto
        .dns_records
        .iter()
        .map(|r| r.domain_name.as_str())
        .collect();
    vec![
        i.id.clone(),
        i.state.to_string(),
        i.version.clone(),
        i.database.to_string(),
        i.filestore.to_string(),
        dns.join(","),
        i.api_security_lock.to_string(),
        i.deletion_locked.to_string(),
    ]
}

pub async fn run(cmd: InstallationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        InstallationCmd::Create(args) => {
            let request = create_request(&args)?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .create_installation(&request)
                .await
                .context("failed to create installation")?;
            print_json(&dto)
        }
        InstallationCmd::Update(args) => {
            let request = patch_request(&args)?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .update_installation(&args.installation, &request)
                .await
                .context("failed to update installation")?;
            print_json(&dto)
        }
        InstallationCmd::Delete(args) => client
            .delete_installation(&args.installation)
            .await
            .context("failed to delete installation"),
        InstallationCmd::CreateVolume(args) => {
            let request = create_volume_request(&args);
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .create_installation_volume(&args.installation, &request)
                .await
                .context("failed to create installation volume")?;
            print_json(&dto)
        }
        InstallationCmd::UpdateVolume(args) => {
            let request = update_volume_request(&args);
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .update_installation_volume(&args.installation, &args.volume_name, &request)
                .await
                .context("failed to update installation volume")?;
            print_json(&dto)
        }
        InstallationCmd::DeleteVolume(args) => {
            let dto = client
                .delete_installation_volume(&args.installation, &args.volume_name)
                .await
                .context("failed to delete installation volume")?;
            print_json(&dto)
        }
        InstallationCmd::UpdateDeletion(args) => {
            let request = PatchInstallationDeletionRequest {
                deletion_pending_expiry: args.future_expiry.map(from_now),
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .update_installation_deletion(&args.installation, &request)
                .await
                .context("failed to update installation deletion")?;
            print_json(&dto)
        }
        InstallationCmd::CancelDeletion(args) => client
            .cancel_installation_deletion(&args.installation)
            .await
            .context("failed to cancel installation deletion"),
        InstallationCmd::ScheduleDeletion(args) => {
            let time = if args.scheduled_deletion_time.is_zero() {
                0
            } else {
                from_now(args.scheduled_deletion_time)
            };
            let request = PatchInstallationScheduledDeletionRequest {
                scheduled_deletion_time: Some(time),
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .update_installation_scheduled_deletion(&args.installation, &request)
                .await
                .context("failed to schedule installation deletion")?;
            print_json(&dto)
        }
        InstallationCmd::Hibernate(args) => {
            let dto = client
                .hibernate_installation(&args.installation)
                .await
                .context("failed to hibernate installation")?;
            print_json(&dto)
        }
        InstallationCmd::WakeUp(args) => {
            let request = patch_request(&args)?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .wakeup_installation(&args.installation, Some(&request))
                .await
                .context("failed to wake up installation")?;
            print_json(&dto)
        }
        InstallationCmd::Get(args) => {
            let request = GetInstallationRequest {
                include_group_config: args.include_group_config,
                include_group_config_overrides: args.include_group_config_overrides,
            };
            match client
                .get_installation(&args.installation, &request)
                .await
                .context("failed to get installation")?
            {
                Some(mut dto) => {
                    hide(&mut dto.installation, args.hide);
                    print_json(&dto)
                }
                None => Ok(()),
            }
        }
        InstallationCmd::List(args) => {
            let request = GetInstallationsRequest {
                paging: args.paging.paging(),
                owner_id: args.owner.clone(),
                group_id: args.group.clone(),
                state: args.state.clone(),
                dns: args.dns.clone(),
                name: String::new(),
                deletion_locked: args.deletion_locked,
                include_group_config: args.include_group_config,
                include_group_config_overrides: args.include_group_config_overrides,
            };
            let mut installations = client
                .get_installations(&request)
                .await
                .context("failed to query installations")?;
            for dto in &mut installations {
                hide(&mut dto.installation, args.hide);
            }
            print_list(&installations, &TABLE_HEADERS, table_row, &args.output)
        }
        InstallationCmd::Status => {
            let status = client
                .get_installations_status()
                .await
                .context("failed to get installations status")?;
            print_json(&status)
        }
        InstallationCmd::StateReport => print_json(&installation_request_state_report()),
        InstallationCmd::Annotation(AnnotationCmd::Add(args)) => {
            let request = AddAnnotationsRequest {
                annotations: args.annotations,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .add_installation_annotations(&args.installation, &request)
                .await
                .context("failed to add installation annotations")?;
            print_json(&dto)
        }
        InstallationCmd::Annotation(AnnotationCmd::Delete(args)) => client
            .delete_installation_annotation(&args.installation, &args.annotation)
            .await
            .context("failed to delete installation annotation"),
        InstallationCmd::Dns(DnsCmd::Add(args)) => {
            let request = AddDNSRecordRequest { dns: args.domain };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let dto = client
                .add_installation_dns(&args.installation, &request)
                .await
                .context("failed to add installation domain name")?;
            print_json(&dto)
        }
        InstallationCmd::Dns(DnsCmd::SetPrimary(args)) => {
            let dto = client
                .set_installation_domain_primary(&args.installation, &args.domain_id)
                .await
                .context("failed to set the primary domain name")?;
            print_json(&dto)
        }
        InstallationCmd::Dns(DnsCmd::Delete(args)) => {
            let dto = client
                .delete_installation_dns(&args.installation, &args.domain_id)
                .await
                .context("failed to delete installation domain name")?;
            print_json(&dto)
        }
        InstallationCmd::Backup(cmd) => super::installation_backup::run(cmd, ctx).await,
        InstallationCmd::Operation(cmd) => super::installation_operation::run(cmd, ctx).await,
    }
}

#[cfg(test)]
#[path = "installation/tests.rs"]
mod tests;
