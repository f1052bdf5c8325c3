//! `cloud cluster installation …` (wired by `cluster.rs`): get, list, config
//! get/set, status, mmctl, mattermost-cli, pprof and the cluster-migration
//! commands, with the original's flags (original-interfaces §2.4).
//!
//! The commands that need Kubernetes (config, status, mmctl,
//! mattermost-cli, pprof) print the server's error as it is, so a server
//! without a Kubernetes connection says so (501) instead of failing
//! silently. `list` prints a table (`ID, STATE, INSTALLATION ID, CLUSTER
//! ID`) by default and the API's JSON with `--json`.

use crate::args::{Ctx, PagingArgs};
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_client::cluster_installations::GetClusterInstallationsRequest;
use cloud_model::cluster_installation::{
    ClusterInstallation, MigrateClusterInstallationRequest, config_from_dotted_key,
};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Subcommand)]
pub enum ClusterInstallationCmd {
    /// Get a particular cluster installation.
    Get(CiArg),
    /// List cluster installations.
    List(ListArgs),
    /// Read or change a cluster installation's Mattermost configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Get the status of a cluster installation's pods.
    Status(CiArg),
    /// Run an mmctl command on a cluster installation.
    Mmctl(ExecArgs),
    /// Run a mattermost CLI command on a cluster installation (deprecated: prefer mmctl).
    MattermostCli(ExecArgs),
    /// Save heap and goroutine profiles of a cluster installation's pods to a zip file.
    Pprof(CiArg),
    /// Migrate cluster installations from one cluster to another.
    Migration(MigrationArgs),
}

/// `--cluster-installation <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct CiArg {
    /// The ID of the cluster installation.
    #[arg(long)]
    pub cluster_installation: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only the cluster installations on this cluster.
    #[arg(long, default_value = "")]
    pub cluster: String,
    /// Only the cluster installations of this installation.
    #[arg(long, default_value = "")]
    pub installation: String,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCmd {
    /// Print the Mattermost configuration.
    Get(CiArg),
    /// Set one Mattermost configuration value.
    Set(ConfigSetArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConfigSetArgs {
    /// The ID of the cluster installation.
    #[arg(long)]
    pub cluster_installation: String,
    /// The configuration key as a dotted path, e.g. ServiceSettings.SiteURL.
    #[arg(long)]
    pub key: String,
    /// The value to set.
    #[arg(long)]
    pub value: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The ID of the cluster installation.
    #[arg(long)]
    pub cluster_installation: String,
    /// The command's arguments, split on spaces, e.g. "system status".
    #[arg(long)]
    pub command: String,
}

/// `migration` runs the migration itself, or one of its follow-up steps.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MigrationArgs {
    /// The cluster the installations move away from.
    #[arg(long, required = true)]
    pub source_cluster: Option<String>,
    /// The cluster the installations move to.
    #[arg(long, required = true)]
    pub target_cluster: Option<String>,
    /// Only this installation (all of them when empty).
    #[arg(long, default_value = "")]
    pub installation: String,
    #[command(subcommand)]
    pub step: Option<MigrationStep>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MigrationStep {
    /// Switch the DNS of migrated installations to the target cluster.
    Dns(MigrationDnsArgs),
    /// Delete the inactive cluster installations left on a cluster.
    Delete(MigrationDeleteArgs),
    /// Swap the roles (VPC tags) of the source and target clusters.
    SwitchCluster(MigrationClustersArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MigrationClustersArgs {
    /// The cluster the installations move away from.
    #[arg(long)]
    pub source_cluster: String,
    /// The cluster the installations move to.
    #[arg(long)]
    pub target_cluster: String,
}

#[derive(Debug, Clone, Args)]
pub struct MigrationDnsArgs {
    #[command(flatten)]
    pub clusters: MigrationClustersArgs,
    /// Only this installation (all of them when empty).
    #[arg(long, default_value = "")]
    pub installation: String,
    /// Lock the installations while their DNS is switched.
    #[arg(long, default_value_t = true)]
    pub lock_installation: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MigrationDeleteArgs {
    /// The cluster whose inactive cluster installations are deleted.
    #[arg(long)]
    pub cluster: String,
    /// Delete only this inactive cluster installation.
    #[arg(long, default_value = "")]
    pub cluster_installation: String,
}

/// Columns of `cluster installation list`.
pub const TABLE_HEADERS: [&str; 4] = ["ID", "STATE", "INSTALLATION ID", "CLUSTER ID"];

pub async fn run(cmd: ClusterInstallationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        ClusterInstallationCmd::Get(args) => {
            let ci = client
                .get_cluster_installation(&args.cluster_installation)
                .await
                .context("failed to query cluster installation")?;
            match ci {
                Some(ci) => print_json(&ci),
                None => Ok(()),
            }
        }
        ClusterInstallationCmd::List(args) => {
            let request = GetClusterInstallationsRequest {
                cluster_id: args.cluster,
                installation_id: args.installation,
                paging: args.paging.paging(),
            };
            let list = client
                .get_cluster_installations(&request)
                .await
                .context("failed to query cluster installations")?;
            print_list(&list, &TABLE_HEADERS, table_row, &args.output)
        }
        ClusterInstallationCmd::Config(ConfigCmd::Get(args)) => {
            let config = client
                .get_cluster_installation_config(&args.cluster_installation)
                .await
                .context("failed to query cluster installation config")?;
            match config {
                Some(config) => print_json(&config),
                None => Ok(()),
            }
        }
        ClusterInstallationCmd::Config(ConfigCmd::Set(args)) => {
            let config = config_from_dotted_key(&args.key, &args.value)?;
            if ctx.dry_run(&config)? {
                return Ok(());
            }
            client
                .set_cluster_installation_config(&args.cluster_installation, &config)
                .await
                .context("failed to update cluster installation config")
        }
        ClusterInstallationCmd::Status(args) => {
            let status = client
                .get_cluster_installation_status(&args.cluster_installation)
                .await
                .context("failed to query cluster installation status")?;
            print_json(&status)
        }
        ClusterInstallationCmd::Mmctl(args) => exec(ctx, "mmctl", args).await,
        ClusterInstallationCmd::MattermostCli(args) => exec(ctx, "mattermost", args).await,
        ClusterInstallationCmd::Pprof(args) => {
            let bytes = client
                .exec_cluster_installation_pprof(&args.cluster_installation)
                .await
                .context("failed to collect pprof profiles")?;
            let file = pprof_file_name(&args.cluster_installation, SystemTime::now());
            std::fs::write(&file, bytes).with_context(|| format!("failed to write {file}"))?;
            println!("pprof data saved to {file}");
            Ok(())
        }
        ClusterInstallationCmd::Migration(args) => migration(args, ctx).await,
    }
}

async fn exec(ctx: &Ctx, command: &str, args: ExecArgs) -> anyhow::Result<()> {
    let argv = split_command(&args.command);
    if ctx.dry_run(&argv)? {
        return Ok(());
    }
    let output = ctx
        .client
        .exec_cluster_installation_cli(&args.cluster_installation, command, &argv)
        .await
        .with_context(|| format!("failed to run {command}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&output)?;
    if !output.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(())
}

async fn migration(args: MigrationArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    let response = match args.step {
        None => {
            let request = MigrateClusterInstallationRequest {
                installation_id: args.installation,
                source_cluster_id: args.source_cluster.unwrap_or_default(),
                target_cluster_id: args.target_cluster.unwrap_or_default(),
                ..Default::default()
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            client
                .migrate_cluster_installation(&request)
                .await
                .context("failed to migrate cluster installations")?
        }
        Some(MigrationStep::Dns(dns)) => {
            let request = MigrateClusterInstallationRequest {
                installation_id: dns.installation,
                source_cluster_id: dns.clusters.source_cluster,
                target_cluster_id: dns.clusters.target_cluster,
                dns_switch: true,
                lock_installation: dns.lock_installation,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            client
                .migrate_dns(&request)
                .await
                .context("failed to switch DNS")?
        }
        Some(MigrationStep::SwitchCluster(clusters)) => {
            let request = MigrateClusterInstallationRequest {
                source_cluster_id: clusters.source_cluster,
                target_cluster_id: clusters.target_cluster,
                ..Default::default()
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            client
                .switch_cluster_roles(&request)
                .await
                .context("failed to switch cluster roles")?
        }
        Some(MigrationStep::Delete(delete)) => {
            if ctx.dry_run(&delete.cluster)? {
                return Ok(());
            }
            if !delete.cluster_installation.is_empty() {
                let ci = client
                    .delete_inactive_cluster_installation_by_id(&delete.cluster_installation)
                    .await
                    .context("failed to delete the inactive cluster installation")?;
                return print_json(&ci);
            }
            client
                .delete_inactive_cluster_installations_by_cluster(&delete.cluster)
                .await
                .context("failed to delete inactive cluster installations")?
        }
    };
    print_json(&response)
}

/// `--command "system status"` as arguments (split on whitespace).
pub fn split_command(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_string).collect()
}

/// `<id>.<2006-01-02.15-04-05.UTC>.prof.zip`, as the original names it
/// (with the time in UTC).
pub fn pprof_file_name(id: &str, now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{id}.{y:04}-{m:02}-{d:02}.{:02}-{:02}-{:02}.UTC.prof.zip",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// One `cluster installation list` row.
pub fn table_row(ci: &ClusterInstallation) -> Vec<String> {
    vec![
        ci.id.clone(),
        ci.state.to_string(),
        ci.installation_id.clone(),
        ci.cluster_id.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};
    use cloud_model::cluster_installation::ClusterInstallationState;
    use std::time::Duration;

    fn ci_cmd(args: &[&str]) -> Result<ClusterInstallationCmd, clap::Error> {
        let mut argv = vec!["cloud", "cluster", "installation"];
        argv.extend_from_slice(args);
        let cli = try_parse_from(argv)?;
        let Command::Cluster(g) = cli.command else {
            panic!("not a cluster command")
        };
        match g.command {
            super::super::cluster::ClusterCmd::Installation(cmd) => Ok(cmd),
            other => panic!("not cluster installation: {other:?}"),
        }
    }

    #[test]
    fn commands_and_flags_parse() {
        assert!(matches!(
            ci_cmd(&["get", "--cluster-installation", "x"]).unwrap(),
            ClusterInstallationCmd::Get(_)
        ));
        assert!(ci_cmd(&["get"]).is_err());
        let ClusterInstallationCmd::List(list) =
            ci_cmd(&["list", "--cluster", "c1", "--json"]).unwrap()
        else {
            panic!("not list")
        };
        assert_eq!(list.cluster, "c1");
        assert_eq!(list.installation, "");
        assert!(list.output.json);
        let ClusterInstallationCmd::Config(ConfigCmd::Set(set)) = ci_cmd(&[
            "config",
            "set",
            "--cluster-installation",
            "x",
            "--key",
            "ServiceSettings.SiteURL",
            "--value",
            "https://a",
        ])
        .unwrap() else {
            panic!("not config set")
        };
        assert_eq!(set.key, "ServiceSettings.SiteURL");
        assert!(matches!(
            ci_cmd(&[
                "mattermost-cli",
                "--cluster-installation",
                "x",
                "--command",
                "version"
            ])
            .unwrap(),
            ClusterInstallationCmd::MattermostCli(_)
        ));
        assert!(matches!(
            ci_cmd(&["pprof", "--cluster-installation", "x"]).unwrap(),
            ClusterInstallationCmd::Pprof(_)
        ));
    }

    #[test]
    fn migration_needs_clusters_unless_a_step_is_given() {
        assert!(ci_cmd(&["migration"]).is_err());
        assert!(ci_cmd(&["migration", "--source-cluster", "a"]).is_err());
        let ClusterInstallationCmd::Migration(m) = ci_cmd(&[
            "migration",
            "--source-cluster",
            "a",
            "--target-cluster",
            "b",
        ])
        .unwrap() else {
            panic!("not migration")
        };
        assert!(m.step.is_none());
        assert_eq!(m.source_cluster.as_deref(), Some("a"));

        let ClusterInstallationCmd::Migration(m) = ci_cmd(&[
            "migration",
            "dns",
            "--source-cluster",
            "a",
            "--target-cluster",
            "b",
        ])
        .unwrap() else {
            panic!("not migration")
        };
        let Some(MigrationStep::Dns(dns)) = m.step else {
            panic!("not dns")
        };
        assert!(dns.lock_installation);
        let ClusterInstallationCmd::Migration(m) =
            ci_cmd(&["migration", "delete", "--cluster", "c"]).unwrap()
        else {
            panic!("not migration")
        };
        assert!(matches!(m.step, Some(MigrationStep::Delete(_))));
        assert!(ci_cmd(&["migration", "switch-cluster", "--source-cluster", "a"]).is_err());
    }

    #[test]
    fn commands_split_on_spaces() {
        assert_eq!(
            split_command(" system  status --json "),
            ["system", "status", "--json"]
        );
        assert!(split_command("").is_empty());
    }

    #[test]
    fn pprof_files_are_named_like_the_original() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            pprof_file_name("ci1", at),
            "ci1.2023-11-14.22-13-20.UTC.prof.zip"
        );
        assert_eq!(
            pprof_file_name("ci1", UNIX_EPOCH),
            "ci1.1970-01-01.00-00-00.UTC.prof.zip"
        );
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(
            pprof_file_name("x", leap),
            "x.2000-02-29.00-00-00.UTC.prof.zip"
        );
    }

    #[test]
    fn list_rows_follow_the_original_columns() {
        let ci = ClusterInstallation::new("c1", "i1", ClusterInstallationState::Stable);
        assert_eq!(table_row(&ci), ["", "stable", "i1", "c1"]);
    }
}
