//! `cloud server`: every flag of the original (same names, defaults and
//! `CP_*` variables), the API on `--listen` and Prometheus metrics on
//! `--metrics-port`, stopped gracefully on SIGINT/SIGTERM.
//!
//! Differences from the original, on purpose:
//! - Subscription events and legacy webhooks are delivered from a durable
//!   outbox by a background deliverer (ordered, signed, retried with
//!   back-off; see `docs/events-and-webhooks.md`), woken by API writes.
//! - `--database` defaults to `sqlite://cloud.db` (an embedded database in
//!   the working directory, created on first start), so `cloud server` runs
//!   with no flags; `postgres://` / `postgresql://` select PostgreSQL.
//! - `--utilities-git-url` / `--utilities-git-path` are not required (the
//!   original refuses to start without them): the cluster utilities that need
//!   them are not part of this server yet.
//! - `--simulate-cloud` (implied by `--dev` while there are no cloud
//!   adapters) runs the supervisors against an in-memory simulated cloud, so
//!   a cluster created through the API moves to `stable` by itself.
//! - Flags whose features come later (state store, AWS, Kubernetes, auth, …)
//!   are accepted; when one is given a non-default value the server logs
//!   "flag --x is accepted but not yet supported" instead of ignoring it
//!   silently.

use crate::args::{format_go_duration, parse_go_duration};
use anyhow::Context as _;
use clap::Args;
use cloud_api::{ApiConfig, AppState};
use cloud_ports::sim::{SimCloud, SimConfig};
use cloud_store::{SqlStore, StoreError};
use cloud_supervisor::Wake;
use cloud_supervisor::engine::{Engine, EngineConfig, instance_id};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long in-flight requests get after SIGINT/SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Default `--database`.
pub const DEFAULT_DATABASE: &str = "sqlite://cloud.db";

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    // --- Core ---
    /// The interface and port on which to listen.
    #[arg(long, default_value = ":8075")]
    pub listen: String,
    /// Port on which the Prometheus metrics are served.
    #[arg(long, default_value_t = 8076)]
    pub metrics_port: u16,
    /// The database backend: a SQLite file (sqlite://cloud.db, or a path) or postgres://…
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Whether to output debug logs.
    #[arg(long)]
    pub debug: bool,
    /// Set to run in dev mode (debug logs; also --simulate-cloud while this build has no cloud adapters).
    #[arg(long)]
    pub dev: bool,
    /// Run the supervisors against an in-memory simulated cloud instead of AWS and Kubernetes (for trying the server out and for tests).
    #[arg(long)]
    pub simulate_cloud: bool,
    /// Output the logs in a machine-readable (JSON) format.
    #[arg(long)]
    pub machine_readable_logs: bool,
    /// Add a stacktrace field to error logs (not yet supported).
    #[arg(long)]
    pub enable_log_stacktrace: bool,
    /// Write one log file per cluster and installation (not yet supported).
    #[arg(long)]
    pub enable_log_files_per_cluster: bool,
    /// Directory of the per-cluster log files (not yet supported).
    #[arg(long, default_value = "")]
    pub log_files_per_cluster_path: String,
    /// Grafana URL for annotations (not yet supported).
    #[arg(long, default_value = "")]
    pub grafana_url: String,
    /// Grafana API tokens (not yet supported).
    #[arg(long, value_delimiter = ',', default_value = "")]
    pub grafana_tokens: Vec<String>,
    /// MaxInstallationsPerLogicalDatabase of new proxy multitenant databases.
    #[arg(long, default_value_t = 10)]
    pub default_max_schemas_per_logical_database: i64,
    /// Add the Route53 DNS provider for installation records (not yet supported).
    #[arg(long)]
    pub installation_enable_route53: bool,
    /// Interval in seconds between supervisor passes (0 disables periodic passes).
    #[arg(long, default_value_t = 30)]
    pub poll: u64,
    /// Interval in seconds of the installation-deletion supervisor.
    #[arg(long, default_value_t = 60)]
    pub slow_poll: u64,

    // --- Supervisors ---
    /// Run the API only, with no supervisor.
    #[arg(long)]
    pub disable_all_supervisors: bool,
    /// Whether this server runs the cluster supervisor.
    #[arg(long, default_value_t = true)]
    pub cluster_supervisor: bool,
    /// Whether this server runs the group supervisor.
    #[arg(long)]
    pub group_supervisor: bool,
    /// Whether this server runs the installation supervisor.
    #[arg(long, default_value_t = true)]
    pub installation_supervisor: bool,
    /// Whether this server runs the installation-deletion supervisor.
    #[arg(long, default_value_t = true)]
    pub installation_deletion_supervisor: bool,
    /// Whether this server runs the cluster-installation supervisor.
    #[arg(long, default_value_t = true)]
    pub cluster_installation_supervisor: bool,
    /// Whether this server runs the backup supervisor.
    #[arg(long)]
    pub backup_supervisor: bool,
    /// Whether this server runs the import supervisor (needs --awat).
    #[arg(long)]
    pub import_supervisor: bool,
    /// Whether this server runs the installation database restoration supervisor.
    #[arg(long)]
    pub installation_db_restoration_supervisor: bool,
    /// Whether this server runs the installation database migration supervisor.
    #[arg(long)]
    pub installation_db_migration_supervisor: bool,
    /// How long an installation stays in deletion-pending before deletion (0 = immediately).
    #[arg(long, default_value = "3m", value_parser = parse_go_duration)]
    pub installation_deletion_pending_time: Duration,
    /// Maximum installations the deletion supervisor moves to deletion at once.
    #[arg(long, default_value_t = 25)]
    pub installation_deletion_max_updating: i64,
    /// Skip DNS record updates when installations are updated (not yet supported).
    #[arg(long)]
    pub disable_dns_updates: bool,
    /// The AWAT (workspace archive translator) address (not yet supported).
    #[arg(long, default_value = "http://localhost:8077")]
    pub awat: String,

    // --- Scheduling ---
    /// Spread installations evenly across clusters (not yet supported).
    #[arg(long, default_value_t = true)]
    pub balanced_installation_scheduling: bool,
    /// Prefer stable clusters when scheduling (not yet supported).
    #[arg(long)]
    pub prefer_stable_cluster_installation_scheduling: bool,
    /// Always consider external clusters when scheduling (not yet supported).
    #[arg(long)]
    pub always_schedule_external_clusters: bool,
    /// Percent of cluster resources that may be used (not yet supported).
    #[arg(long, default_value_t = 80)]
    pub cluster_resource_threshold: i64,
    /// CPU override of the resource threshold (not yet supported).
    #[arg(long, default_value_t = 0)]
    pub cluster_resource_threshold_cpu_override: i64,
    /// Memory override of the resource threshold (not yet supported).
    #[arg(long, default_value_t = 0)]
    pub cluster_resource_threshold_memory_override: i64,
    /// Pod-count override of the resource threshold (not yet supported).
    #[arg(long, default_value_t = 0)]
    pub cluster_resource_threshold_pod_count_override: i64,
    /// Worker nodes to add when a cluster is over the threshold (not yet supported).
    #[arg(long, default_value_t = 0)]
    pub cluster_resource_threshold_scale_value: i64,

    // --- Provisioning ---
    /// S3 bucket of the kops and terraform state (not yet supported).
    #[arg(long, default_value = "dev.cloud.mattermost.com")]
    pub state_store: String,
    /// CIDR ranges allowed on internal ingresses (not yet supported).
    #[arg(long, value_delimiter = ',', default_value = "0.0.0.0/0")]
    pub allow_list_cidr_range: Vec<String>,
    /// VPN CIDR ranges given SSH access (not yet supported).
    #[arg(long, value_delimiter = ',', default_value = "0.0.0.0/0")]
    pub vpn_list_cidr: Vec<String>,
    /// Installation groups with SLOs (not yet supported).
    #[arg(long, value_delimiter = ',')]
    pub slo_installation_groups: Vec<String>,
    /// Enterprise groups with SLOs (not yet supported).
    #[arg(long, value_delimiter = ',')]
    pub slo_enterprise_groups: Vec<String>,
    /// Claim VPCs from the pool of existing AWS resources (not yet supported).
    #[arg(long, default_value_t = true)]
    pub use_existing_aws_resources: bool,
    /// Allow the mysql-operator database type (and deploy the operator).
    #[arg(long)]
    pub deploy_mysql_operator: bool,
    /// Allow the minio-operator filestore type (and deploy the operator).
    #[arg(long)]
    pub deploy_minio_operator: bool,
    /// Local Mattermost operator helm chart directory (not yet supported).
    #[arg(long, default_value = "")]
    pub mattermost_operator_helm_dir: String,
    /// The ndots value of installation pods (not yet supported).
    #[arg(long, default_value = "5")]
    pub ndots_value: String,
    /// TTL of backup jobs in seconds, negative to keep them (not yet supported).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub backup_job_ttl_seconds: i32,
    /// Image of the backup-restore tool (not yet supported).
    #[arg(long, default_value = "mattermost/backup-restore-tool:latest")]
    pub backup_restore_tool_image: String,
    /// etcd quota-backend-bytes of kops clusters (not yet supported).
    #[arg(long, default_value_t = 4_294_967_296)]
    pub etcd_quota_backend_bytes: i64,
    /// etcd listen-metrics-urls of kops clusters (not yet supported).
    #[arg(long, default_value = "http://0.0.0.0:8081")]
    pub etcd_listen_metrics_urls: String,
    /// Liveness probe failure threshold (default 10; used only when set; not yet supported).
    #[arg(long)]
    pub probe_liveness_failure_threshold: Option<i32>,
    /// Liveness probe success threshold (default 1; used only when set; not yet supported).
    #[arg(long)]
    pub probe_liveness_success_threshold: Option<i32>,
    /// Liveness probe initial delay in seconds (default 30; used only when set; not yet supported).
    #[arg(long)]
    pub probe_liveness_initial_delay_seconds: Option<i32>,
    /// Liveness probe period in seconds (default 10; used only when set; not yet supported).
    #[arg(long)]
    pub probe_liveness_period_seconds: Option<i32>,
    /// Liveness probe timeout in seconds (default 5; used only when set; not yet supported).
    #[arg(long)]
    pub probe_liveness_timeout_seconds: Option<i32>,
    /// Readiness probe failure threshold (default 10; used only when set; not yet supported).
    #[arg(long)]
    pub probe_readiness_failure_threshold: Option<i32>,
    /// Readiness probe success threshold (default 1; used only when set; not yet supported).
    #[arg(long)]
    pub probe_readiness_success_threshold: Option<i32>,
    /// Readiness probe initial delay in seconds (default 30; used only when set; not yet supported).
    #[arg(long)]
    pub probe_readiness_initial_delay_seconds: Option<i32>,
    /// Readiness probe period in seconds (default 10; used only when set; not yet supported).
    #[arg(long)]
    pub probe_readiness_period_seconds: Option<i32>,
    /// Readiness probe timeout in seconds (default 5; used only when set; not yet supported).
    #[arg(long)]
    pub probe_readiness_timeout_seconds: Option<i32>,

    // --- Installation options ---
    /// Keep installation databases when installations are deleted (not yet supported).
    #[arg(long)]
    pub keep_database_data: bool,
    /// Keep installation filestores when installations are deleted (not yet supported).
    #[arg(long)]
    pub keep_filestore_data: bool,
    /// Require at least one annotation on new installations.
    #[arg(long)]
    pub require_annotated_installations: bool,
    /// GitLab OAuth token for utility values (not yet supported).
    #[arg(long, default_value = "")]
    pub gitlab_oauth: String,
    /// Deprecated: ignored, as in the original.
    #[arg(long, default_value = "")]
    pub argocd_server_api: String,
    /// Deprecated: ignored, as in the original.
    #[arg(long, default_value = "")]
    pub argocd_api_token: String,
    /// Force Mattermost CR upgrades (not yet supported).
    #[arg(long)]
    pub force_cr_upgrade: bool,
    /// Git URL of the utility values (not required here; not yet supported).
    #[arg(long, default_value = "")]
    pub utilities_git_url: String,
    /// Path in the utilities repository (not required here; not yet supported).
    #[arg(long, default_value = "")]
    pub utilities_git_path: String,
    /// Enable S3 versioning on installation buckets (not yet supported).
    #[arg(long)]
    pub enable_s3_versioning: bool,
    /// IP ranges always added to installation allow-lists (not yet supported).
    #[arg(long, value_delimiter = ',')]
    pub internal_ip_ranges: Vec<String>,

    // --- DB utilisation ---
    /// Installations per Perseus database (not yet supported).
    #[arg(long, default_value_t = 2500)]
    pub max_installations_perseus: i64,
    /// Installations per RDS PostgreSQL PgBouncer database (not yet supported).
    #[arg(long, default_value_t = 2500)]
    pub max_installations_rds_postgres_pgbouncer: i64,
    /// Installations per RDS PostgreSQL database (not yet supported).
    #[arg(long, default_value_t = 300)]
    pub max_installations_rds_postgres: i64,
    /// Installations per RDS MySQL database (not yet supported).
    #[arg(long, default_value_t = 10)]
    pub max_installations_rds_mysql: i64,
    /// Omit DB_CONNECTION_CHECK_URL from database secrets (not yet supported).
    #[arg(long)]
    pub disable_db_init_check: bool,

    // --- Auth ---
    /// OAuth2 token issuer (not yet supported).
    #[arg(long, default_value = "")]
    pub issuer: String,
    /// OAuth2 token audience (not yet supported).
    #[arg(long, default_value = "")]
    pub audience: String,
    /// OAuth2 token endpoint (unused, as in the original).
    #[arg(long, default_value = "")]
    pub token_endpoint: String,
    /// JWKS URL for token validation (not yet supported).
    #[arg(long, default_value = "")]
    pub jwks_url: String,
    /// Client IDs restricted to some endpoints (not yet supported).
    #[arg(long, value_delimiter = ',')]
    pub restricted_client_ids: Vec<String>,
    /// Endpoints the restricted clients may call (not yet supported).
    #[arg(long, value_delimiter = ',')]
    pub restricted_client_allowed_endpoints: Vec<String>,
}

/// Which supervisors this server runs (this build has the cluster and
/// cluster-installation supervisors; the other toggles are read and
/// reported until theirs arrive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorToggles {
    pub cluster: bool,
    pub group: bool,
    pub installation: bool,
    pub installation_deletion: bool,
    pub cluster_installation: bool,
    pub backup: bool,
    pub import: bool,
    pub db_restoration: bool,
    pub db_migration: bool,
}

impl ServerArgs {
    pub fn supervisors(&self) -> SupervisorToggles {
        let on = |flag: bool| flag && !self.disable_all_supervisors;
        SupervisorToggles {
            cluster: on(self.cluster_supervisor),
            group: on(self.group_supervisor),
            installation: on(self.installation_supervisor),
            installation_deletion: on(self.installation_deletion_supervisor),
            cluster_installation: on(self.cluster_installation_supervisor),
            backup: on(self.backup_supervisor),
            import: on(self.import_supervisor),
            db_restoration: on(self.installation_db_restoration_supervisor),
            db_migration: on(self.installation_db_migration_supervisor),
        }
    }

    pub fn api_config(&self) -> ApiConfig {
        ApiConfig {
            deploy_mysql_operator: self.deploy_mysql_operator,
            deploy_minio_operator: self.deploy_minio_operator,
            require_annotated_installations: self.require_annotated_installations,
            installation_deletion_pending_time: self.installation_deletion_pending_time,
            default_max_schemas_per_logical_database: self.default_max_schemas_per_logical_database,
        }
    }

    /// Flags accepted for compatibility whose feature is not there yet and
    /// that were given a value other than their default.
    pub fn unsupported_flags_set(&self) -> Vec<&'static str> {
        let empty = |s: &str| s.is_empty();
        let empty_list = |v: &[String]| v.iter().all(|s| s.is_empty());
        let any_cidr = |v: &[String]| v == ["0.0.0.0/0"];
        let probes = [
            self.probe_liveness_failure_threshold,
            self.probe_liveness_success_threshold,
            self.probe_liveness_initial_delay_seconds,
            self.probe_liveness_period_seconds,
            self.probe_liveness_timeout_seconds,
            self.probe_readiness_failure_threshold,
            self.probe_readiness_success_threshold,
            self.probe_readiness_initial_delay_seconds,
            self.probe_readiness_period_seconds,
            self.probe_readiness_timeout_seconds,
        ];
        let probe_names = [
            "probe-liveness-failure-threshold",
            "probe-liveness-success-threshold",
            "probe-liveness-initial-delay-seconds",
            "probe-liveness-period-seconds",
            "probe-liveness-timeout-seconds",
            "probe-readiness-failure-threshold",
            "probe-readiness-success-threshold",
            "probe-readiness-initial-delay-seconds",
            "probe-readiness-period-seconds",
            "probe-readiness-timeout-seconds",
        ];
        let checks: Vec<(&'static str, bool)> = vec![
            ("enable-log-stacktrace", !self.enable_log_stacktrace),
            (
                "enable-log-files-per-cluster",
                !self.enable_log_files_per_cluster,
            ),
            (
                "log-files-per-cluster-path",
                empty(&self.log_files_per_cluster_path),
            ),
            ("grafana-url", empty(&self.grafana_url)),
            ("grafana-tokens", empty_list(&self.grafana_tokens)),
            (
                "installation-enable-route53",
                !self.installation_enable_route53,
            ),
            (
                "installation-deletion-max-updating",
                self.installation_deletion_max_updating == 25,
            ),
            ("disable-dns-updates", !self.disable_dns_updates),
            ("awat", self.awat == "http://localhost:8077"),
            (
                "balanced-installation-scheduling",
                self.balanced_installation_scheduling,
            ),
            (
                "prefer-stable-cluster-installation-scheduling",
                !self.prefer_stable_cluster_installation_scheduling,
            ),
            (
                "always-schedule-external-clusters",
                !self.always_schedule_external_clusters,
            ),
            (
                "cluster-resource-threshold",
                self.cluster_resource_threshold == 80,
            ),
            (
                "cluster-resource-threshold-cpu-override",
                self.cluster_resource_threshold_cpu_override == 0,
            ),
            (
                "cluster-resource-threshold-memory-override",
                self.cluster_resource_threshold_memory_override == 0,
            ),
            (
                "cluster-resource-threshold-pod-count-override",
                self.cluster_resource_threshold_pod_count_override == 0,
            ),
            (
                "cluster-resource-threshold-scale-value",
                self.cluster_resource_threshold_scale_value == 0,
            ),
            (
                "state-store",
                self.state_store == "dev.cloud.mattermost.com",
            ),
            (
                "allow-list-cidr-range",
                any_cidr(&self.allow_list_cidr_range),
            ),
            ("vpn-list-cidr", any_cidr(&self.vpn_list_cidr)),
            (
                "slo-installation-groups",
                empty_list(&self.slo_installation_groups),
            ),
            (
                "slo-enterprise-groups",
                empty_list(&self.slo_enterprise_groups),
            ),
            (
                "use-existing-aws-resources",
                self.use_existing_aws_resources,
            ),
            (
                "mattermost-operator-helm-dir",
                empty(&self.mattermost_operator_helm_dir),
            ),
            ("ndots-value", self.ndots_value == "5"),
            (
                "backup-job-ttl-seconds",
                self.backup_job_ttl_seconds == 3600,
            ),
            (
                "backup-restore-tool-image",
                self.backup_restore_tool_image == "mattermost/backup-restore-tool:latest",
            ),
            (
                "etcd-quota-backend-bytes",
                self.etcd_quota_backend_bytes == 4_294_967_296,
            ),
            (
                "etcd-listen-metrics-urls",
                self.etcd_listen_metrics_urls == "http://0.0.0.0:8081",
            ),
            ("keep-database-data", !self.keep_database_data),
            ("keep-filestore-data", !self.keep_filestore_data),
            ("gitlab-oauth", empty(&self.gitlab_oauth)),
            ("force-cr-upgrade", !self.force_cr_upgrade),
            ("utilities-git-url", empty(&self.utilities_git_url)),
            ("utilities-git-path", empty(&self.utilities_git_path)),
            ("enable-s3-versioning", !self.enable_s3_versioning),
            ("internal-ip-ranges", empty_list(&self.internal_ip_ranges)),
            (
                "max-installations-perseus",
                self.max_installations_perseus == 2500,
            ),
            (
                "max-installations-rds-postgres-pgbouncer",
                self.max_installations_rds_postgres_pgbouncer == 2500,
            ),
            (
                "max-installations-rds-postgres",
                self.max_installations_rds_postgres == 300,
            ),
            (
                "max-installations-rds-mysql",
                self.max_installations_rds_mysql == 10,
            ),
            ("disable-db-init-check", !self.disable_db_init_check),
            ("issuer", empty(&self.issuer)),
            ("audience", empty(&self.audience)),
            ("token-endpoint", empty(&self.token_endpoint)),
            ("jwks-url", empty(&self.jwks_url)),
            (
                "restricted-client-ids",
                empty_list(&self.restricted_client_ids),
            ),
            (
                "restricted-client-allowed-endpoints",
                empty_list(&self.restricted_client_allowed_endpoints),
            ),
        ];
        checks
            .into_iter()
            .chain(probe_names.into_iter().zip(probes.map(|p| p.is_none())))
            .filter(|(_, is_default)| !is_default)
            .map(|(name, _)| name)
            .collect()
    }

    /// Rejects values the server cannot run with.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.default_max_schemas_per_logical_database < 1 {
            anyhow::bail!("--default-max-schemas-per-logical-database must be 1 or more");
        }
        if self.allow_list_cidr_range.iter().all(|s| s.is_empty()) {
            anyhow::bail!("--allow-list-cidr-range must not be empty");
        }
        if self.vpn_list_cidr.iter().all(|s| s.is_empty()) {
            anyhow::bail!("--vpn-list-cidr must not be empty");
        }
        listen_address(&self.listen)?;
        Ok(())
    }
}

/// `--listen` as a socket address to bind: `:8075` means every interface.
pub fn listen_address(listen: &str) -> anyhow::Result<String> {
    let listen = listen.trim();
    let (host, port) = listen
        .rsplit_once(':')
        .with_context(|| format!("--listen {listen:?} must be [host]:port, e.g. :8075"))?;
    port.parse::<u16>()
        .with_context(|| format!("--listen {listen:?}: bad port {port:?}"))?;
    Ok(if host.is_empty() {
        format!("0.0.0.0:{port}")
    } else {
        listen.to_string()
    })
}

/// Sets up logging as the server flags ask (stderr, text or JSON).
pub fn init_logging(args: &ServerArgs) {
    let level = if args.debug || args.dev {
        "debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn,hyper=info"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (only possible in tests) is harmless.
    let _ = if args.machine_readable_logs {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    init_logging(&args);
    args.validate()?;
    for flag in args.unsupported_flags_set() {
        tracing::warn!("flag --{flag} is accepted but not yet supported");
    }
    if !args.argocd_server_api.is_empty() || !args.argocd_api_token.is_empty() {
        tracing::warn!("the ArgoCD server flags are deprecated and ignored");
    }

    // Default values paths of the cluster utilities are built from this URL.
    cloud_model::utility::set_utility_defaults(&args.utilities_git_url);

    let api_addr = listen_address(&args.listen)?;
    let store = open_store(&args.database).await?;
    let wake = Wake::new();
    let supervisors = args.supervisors();
    tracing::info!(
        ?supervisors,
        poll = args.poll,
        slow_poll = args.slow_poll,
        simulate_cloud = args.simulates_cloud(),
        "supervisor settings"
    );
    let engine = start_engine(&args, &supervisors, &store, &wake);

    let state = AppState::new(store.clone(), wake.clone(), args.api_config())
        .context("cannot register the API metrics")?;
    let metrics_app = cloud_api::metrics_router(state.metrics.registry().clone());
    // API writes may record events: wake the deliverer at once.
    let api_app = cloud_delivery::wake_on_writes(cloud_api::router(state), wake.clone());

    let api_listener = TcpListener::bind(&api_addr)
        .await
        .with_context(|| format!("cannot listen on {api_addr}"))?;
    let metrics_addr = format!("0.0.0.0:{}", args.metrics_port);
    let metrics_listener = TcpListener::bind(&metrics_addr)
        .await
        .with_context(|| format!("cannot serve metrics on {metrics_addr}"))?;
    tracing::info!(
        addr = %api_listener.local_addr()?,
        metrics_addr = %metrics_listener.local_addr()?,
        database = %redact_url(&args.database),
        "API server listening"
    );

    let shutdown = CancellationToken::new();
    let mut servers = tokio::task::JoinSet::new();
    for (name, listener, app) in [
        ("API", api_listener, api_app),
        ("metrics", metrics_listener, metrics_app),
    ] {
        let token = shutdown.clone();
        servers.spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
            (name, r)
        });
    }

    // Event and webhook delivery runs on every server; leases share the work.
    let deliverer = cloud_delivery::Deliverer::new(
        store.clone(),
        wake.clone(),
        cloud_delivery::DelivererConfig::default(),
    )
    .context("cannot start the event deliverer")?;
    let delivery = tokio::spawn(deliverer.run(shutdown.child_token()));

    let result = tokio::select! {
        signal = shutdown_signal() => {
            signal.map(|()| tracing::info!("shutting down"))
        }
        // A server that stops before the signal has failed (its listener broke).
        Some(joined) = servers.join_next() => match joined {
            Ok((name, Err(e))) => Err(anyhow::Error::new(e).context(format!("{name} server failed"))),
            Ok((name, Ok(()))) => Err(anyhow::anyhow!("{name} server stopped unexpectedly")),
            Err(e) => Err(anyhow::Error::new(e).context("server task failed")),
        },
    };
    shutdown.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while servers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "requests still running after {}; stopping anyway",
            format_go_duration(SHUTDOWN_GRACE)
        );
        servers.abort_all();
    }
    // The deliverer bounds its own shutdown (its longest request, then abort).
    if tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(5), delivery)
        .await
        .is_err()
    {
        tracing::warn!("the event deliverer did not stop in time");
    }
    // Supervisors finish (or release) what they hold before the store closes.
    engine.shutdown(SHUTDOWN_GRACE).await;
    store.close().await;
    result
}

impl ServerArgs {
    /// Whether the supervisors run on the simulated cloud.
    pub fn simulates_cloud(&self) -> bool {
        self.simulate_cloud || self.dev
    }

    /// The reconcile engine's settings from the flags.
    pub fn engine_config(&self, supervisors: &SupervisorToggles) -> EngineConfig {
        let mut config = EngineConfig::all(instance_id());
        config.cluster = supervisors.cluster;
        config.cluster_installation = supervisors.cluster_installation;
        config.driver.resync = (self.poll > 0).then(|| Duration::from_secs(self.poll));
        if self.simulates_cloud() {
            // The simulated cloud answers in milliseconds.
            config.reconcile.recheck = Duration::from_millis(200);
        }
        config
    }
}

/// Starts the supervisors this build has (cluster, cluster installation)
/// on the simulated cloud when asked; without it only the cross-server
/// wake-ups run, since there are no cloud adapters yet.
fn start_engine(
    args: &ServerArgs,
    supervisors: &SupervisorToggles,
    store: &SqlStore,
    wake: &Wake,
) -> Engine {
    let ports = if args.simulates_cloud() {
        tracing::warn!("the cloud is simulated: nothing is created in AWS or Kubernetes");
        let seed = cloud_model::now_millis().unsigned_abs();
        Some(SimCloud::new(SimConfig::dev(seed)).ports())
    } else {
        if supervisors.cluster || supervisors.cluster_installation {
            tracing::warn!(
                "this build has no AWS or Kubernetes adapters yet: \
                 the supervisors run only with --simulate-cloud"
            );
        }
        None
    };
    Engine::start(
        args.engine_config(supervisors),
        store.clone(),
        ports,
        wake.clone(),
    )
}

/// Opens the store, turning an outdated schema into the exact command to run.
async fn open_store(database: &str) -> anyhow::Result<SqlStore> {
    match SqlStore::open(database).await {
        Ok(store) => Ok(store),
        Err(StoreError::SchemaOutdated { current, required }) => anyhow::bail!(
            "the database schema is at version {current} but this server needs version {required}; \
             run `cloud schema migrate --database {}` first",
            redact_url(database)
        ),
        Err(e) => {
            Err(e).with_context(|| format!("cannot open the database {}", redact_url(database)))
        }
    }
}

/// The URL with its password replaced by `***`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _password)) => format!(
                "{}{user}:***@{}{}",
                &url[..scheme_end + 3],
                &authority[at + 1..],
                &rest[authority_end..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT"),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_follow_go() {
        assert_eq!(listen_address(":8075").unwrap(), "0.0.0.0:8075");
        assert_eq!(listen_address("127.0.0.1:9000").unwrap(), "127.0.0.1:9000");
        assert_eq!(listen_address("[::1]:9000").unwrap(), "[::1]:9000");
        assert!(listen_address("8075").is_err());
        assert!(listen_address(":http").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://user:secret@host:5432/db?sslmode=disable"),
            "postgres://user:***@host:5432/db?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://host/db"), "postgres://host/db");
        assert_eq!(redact_url("sqlite://cloud.db"), "sqlite://cloud.db");
        assert_eq!(redact_url("./cloud.db"), "./cloud.db");
    }
}
