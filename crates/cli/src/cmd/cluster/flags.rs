//! Flag groups shared by several `cloud cluster` commands: the utility
//! version flags (create, provision), the PgBouncer flags (create,
//! provision) and the node rotator flags (upgrade, resize).

use crate::args::parse_key_value;
use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};
use cloud_model::cluster::{PatchPgBouncerConfig, PgBouncerConfig, RotatorConfig};
use cloud_model::utility::{HelmUtilityVersion, Utility};
use std::collections::BTreeMap;

/// `(utility, --<u>-version, --<u>-values)` for every utility.
const UTILITY_FLAGS: [(Utility, &str, &str); 13] = [
    (
        Utility::PrometheusOperator,
        "prometheus-operator-version",
        "prometheus-operator-values",
    ),
    (Utility::Thanos, "thanos-version", "thanos-values"),
    (Utility::Fluentbit, "fluentbit-version", "fluentbit-values"),
    (Utility::Nginx, "nginx-version", "nginx-values"),
    (
        Utility::NginxInternal,
        "nginx-internal-version",
        "nginx-internal-values",
    ),
    (Utility::Teleport, "teleport-version", "teleport-values"),
    (Utility::Pgbouncer, "pgbouncer-version", "pgbouncer-values"),
    (Utility::Rtcd, "rtcd-version", "rtcd-values"),
    (Utility::Promtail, "promtail-version", "promtail-values"),
    (
        Utility::NodeProblemDetector,
        "node-problem-detector-version",
        "node-problem-detector-values",
    ),
    (
        Utility::MetricsServer,
        "metrics-server-version",
        "metrics-server-values",
    ),
    (Utility::Velero, "velero-version", "velero-values"),
    (
        Utility::Cloudprober,
        "cloudprober-version",
        "cloudprober-values",
    ),
];

const ARGOCD_REGISTER: &str = "argocd-register";

/// `--<utility>-version` / `--<utility>-values` for the thirteen utilities,
/// and `--argocd-register`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtilityFlags {
    /// Chart version and values path per utility, `""` when not given.
    pub versions: Vec<(Utility, String, String)>,
    /// `--argocd-register key=value,...`.
    pub argocd_register: Vec<(String, String)>,
}

impl UtilityFlags {
    /// Every utility, given or not (create sends all thirteen; the server
    /// fills the blank ones with its defaults).
    pub fn all(&self) -> BTreeMap<String, Option<HelmUtilityVersion>> {
        self.versions
            .iter()
            .map(|(u, chart, values)| {
                (
                    u.canonical_name().to_string(),
                    Some(HelmUtilityVersion::new(chart, values)),
                )
            })
            .collect()
    }

    /// Only the utilities with a version or values flag (provision).
    pub fn given(&self) -> BTreeMap<String, Option<HelmUtilityVersion>> {
        self.all()
            .into_iter()
            .filter(|(_, v)| v.as_ref().is_some_and(|v| !v.is_blank()))
            .collect()
    }

    pub fn argocd(&self) -> BTreeMap<String, String> {
        self.argocd_register.iter().cloned().collect()
    }
}

impl Args for UtilityFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = UTILITY_FLAGS.iter().fold(cmd, |cmd, (u, version, values)| {
            cmd.arg(
                Arg::new(*version)
                    .long(*version)
                    .value_name("VERSION")
                    .default_value("")
                    .hide_default_value(true)
                    .help(format!(
                        "The {u} chart version to provision: a version, 'stable' or 'unmanaged'"
                    )),
            )
            .arg(
                Arg::new(*values)
                    .long(*values)
                    .value_name("PATH")
                    .default_value("")
                    .hide_default_value(true)
                    .help(format!("The {u} chart values file: a path or URL")),
            )
        });
        cmd.arg(
            Arg::new(ARGOCD_REGISTER)
                .long(ARGOCD_REGISTER)
                .value_name("KEY=VALUE")
                .value_parser(parse_key_value)
                .value_delimiter(',')
                .action(ArgAction::Append)
                .help("Register the cluster with Argo CD, e.g. cluster-type=customer,force=true"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for UtilityFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let text = |id: &str| matches.get_one::<String>(id).cloned().unwrap_or_default();
        Ok(Self {
            versions: UTILITY_FLAGS
                .iter()
                .map(|(u, version, values)| (*u, text(version), text(values)))
                .collect(),
            argocd_register: matches
                .get_many::<(String, String)>(ARGOCD_REGISTER)
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The PgBouncer settings; an unset flag takes the default on create and is
/// left out of the patch on provision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PgBouncerFlags {
    /// PgBouncer min_pool_size [default: 1]
    #[arg(long = "pgbouncer-min-pool-size", value_name = "N")]
    pub min_pool_size: Option<i64>,
    /// PgBouncer default_pool_size [default: 5]
    #[arg(long = "pgbouncer-default-pool-size", value_name = "N")]
    pub default_pool_size: Option<i64>,
    /// PgBouncer reserve_pool_size [default: 10]
    #[arg(long = "pgbouncer-reserve-pool-size", value_name = "N")]
    pub reserve_pool_size: Option<i64>,
    /// PgBouncer max_client_conn [default: 25000]
    #[arg(long = "pgbouncer-max-client-connections", value_name = "N")]
    pub max_client_connections: Option<i64>,
    /// PgBouncer max_db_connections [default: 50]
    #[arg(long = "pgbouncer-max-connections-per-pool", value_name = "N")]
    pub max_connections_per_pool: Option<i64>,
    /// PgBouncer server_idle_timeout in seconds [default: 30]
    #[arg(long = "pgbouncer-server-idle-timeout", value_name = "SECONDS")]
    pub server_idle_timeout: Option<i64>,
    /// PgBouncer server_lifetime in seconds [default: 300]
    #[arg(long = "pgbouncer-server-lifetime", value_name = "SECONDS")]
    pub server_lifetime: Option<i64>,
    /// PgBouncer server_reset_query_always, 0 or 1 [default: 0]
    #[arg(long = "pgbouncer-server-reset-query-always", value_name = "0|1")]
    pub server_reset_query_always: Option<i64>,
}

impl PgBouncerFlags {
    /// The patch of the flags given.
    pub fn patch(&self) -> PatchPgBouncerConfig {
        PatchPgBouncerConfig {
            min_pool_size: self.min_pool_size,
            default_pool_size: self.default_pool_size,
            reserve_pool_size: self.reserve_pool_size,
            max_client_connections: self.max_client_connections,
            max_database_connections_per_pool: self.max_connections_per_pool,
            server_idle_timeout: self.server_idle_timeout,
            server_lifetime: self.server_lifetime,
            server_reset_query_always: self.server_reset_query_always,
        }
    }

    /// The full config: the flags given over the defaults. (The original's
    /// create ignored the last four flags and sent 20, 30, 300, 0.)
    pub fn config(&self) -> PgBouncerConfig {
        let mut config = PgBouncerConfig::default();
        self.patch().apply(&mut config);
        config
    }
}

/// Node rotation settings; the full config is always sent.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RotatorFlags {
    /// Whether to rotate the nodes with the node rotator.
    #[arg(long, default_value_t = true)]
    pub use_rotator: bool,
    /// The maximum number of nodes to rotate at a time.
    #[arg(long, default_value_t = 5)]
    pub max_scaling: i64,
    /// The number of times to retry a node drain.
    #[arg(long, default_value_t = 10)]
    pub max_drain_retries: i64,
    /// The pod eviction grace period when draining, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub evict_grace_period: i64,
    /// The time to wait between rotations of node groups, in seconds.
    #[arg(long, default_value_t = 120)]
    pub wait_between_rotations: i64,
    /// The time to wait between node drains, in seconds.
    #[arg(long, default_value_t = 900)]
    pub wait_between_drains: i64,
    /// The time to wait between pod evictions, in seconds.
    #[arg(long, default_value_t = 5)]
    pub wait_between_pod_evictions: i64,
}

impl RotatorFlags {
    pub fn config(&self) -> RotatorConfig {
        RotatorConfig {
            use_rotator: Some(self.use_rotator),
            max_scaling: Some(self.max_scaling),
            max_drain_retries: Some(self.max_drain_retries),
            evict_grace_period: Some(self.evict_grace_period),
            wait_between_rotations: Some(self.wait_between_rotations),
            wait_between_drains: Some(self.wait_between_drains),
            wait_between_pod_evictions: Some(self.wait_between_pod_evictions),
        }
    }
}
