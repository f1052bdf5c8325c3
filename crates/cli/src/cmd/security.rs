//! `cloud security …`: API locks of clusters, installations, cluster
//! installations, groups and backups, and the installation deletion lock
//! (original-interfaces §2.6). Each resource's ID flag (`--cluster`,
//! `--installation`, …) may come before or after the action, as the
//! original's persistent flags allow. The commands print nothing on success.

use crate::args::Ctx;
use anyhow::Context as _;
use clap::{Args, Subcommand};

#[derive(Debug, Clone, Subcommand)]
pub enum SecurityCmd {
    /// Lock or unlock API changes of a cluster.
    Cluster(ClusterTarget),
    /// Lock or unlock API changes or deletion of an installation.
    Installation(InstallationTarget),
    /// Lock or unlock API changes of a cluster installation.
    ClusterInstallation(ClusterInstallationTarget),
    /// Lock or unlock API changes of a group.
    Group(GroupTarget),
    /// Lock or unlock API changes of an installation backup.
    Backup(BackupTarget),
}

/// `api-lock` / `api-unlock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ApiAction {
    /// Refuse every API change of the object until it is unlocked.
    ApiLock,
    /// Allow API changes of the object again.
    ApiUnlock,
}

/// The installation's actions: the API lock and the deletion lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum InstallationAction {
    /// Refuse every API change of the installation until it is unlocked.
    ApiLock,
    /// Allow API changes of the installation again.
    ApiUnlock,
    /// Refuse the deletion of the installation until it is unlocked.
    DeletionLock,
    /// Allow the deletion of the installation again.
    DeletionUnlock,
}

#[derive(Debug, Clone, Args)]
pub struct ClusterTarget {
    /// The ID of the cluster.
    #[arg(long, global = true)]
    pub cluster: Option<String>,
    #[command(subcommand)]
    pub action: ApiAction,
}

#[derive(Debug, Clone, Args)]
pub struct InstallationTarget {
    /// The ID of the installation.
    #[arg(long, global = true)]
    pub installation: Option<String>,
    #[command(subcommand)]
    pub action: InstallationAction,
}

#[derive(Debug, Clone, Args)]
pub struct ClusterInstallationTarget {
    /// The ID of the cluster installation.
    #[arg(long, global = true)]
    pub cluster_installation: Option<String>,
    #[command(subcommand)]
    pub action: ApiAction,
}

#[derive(Debug, Clone, Args)]
pub struct GroupTarget {
    /// The ID of the group.
    #[arg(long, global = true)]
    pub group: Option<String>,
    #[command(subcommand)]
    pub action: ApiAction,
}

#[derive(Debug, Clone, Args)]
pub struct BackupTarget {
    /// The ID of the installation backup.
    #[arg(long, global = true)]
    pub backup: Option<String>,
    #[command(subcommand)]
    pub action: ApiAction,
}

/// One security call: `POST /api/security/{resource}/{id}/{kind}/{action}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityCall {
    /// `cluster`, `installation`, `cluster_installation`, `group` or `installation/backup`.
    pub resource: &'static str,
    pub id: String,
    /// `api` or `deletion`.
    pub kind: &'static str,
    /// `lock` or `unlock`.
    pub action: &'static str,
}

impl SecurityCmd {
    /// The call this command makes; a missing ID flag is an error naming it
    /// (the flags are global to their group, which clap cannot require).
    pub fn call(&self) -> anyhow::Result<SecurityCall> {
        fn id(value: &Option<String>, flag: &str) -> anyhow::Result<String> {
            match value.as_deref() {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => anyhow::bail!("required flag --{flag} not set"),
            }
        }
        fn api(action: ApiAction) -> (&'static str, &'static str) {
            match action {
                ApiAction::ApiLock => ("api", "lock"),
                ApiAction::ApiUnlock => ("api", "unlock"),
            }
        }
        let (resource, id, (kind, action)) = match self {
            SecurityCmd::Cluster(t) => ("cluster", id(&t.cluster, "cluster")?, api(t.action)),
            SecurityCmd::ClusterInstallation(t) => (
                "cluster_installation",
                id(&t.cluster_installation, "cluster-installation")?,
                api(t.action),
            ),
            SecurityCmd::Group(t) => ("group", id(&t.group, "group")?, api(t.action)),
            SecurityCmd::Backup(t) => (
                "installation/backup",
                id(&t.backup, "backup")?,
                api(t.action),
            ),
            SecurityCmd::Installation(t) => {
                let pair = match t.action {
                    InstallationAction::ApiLock => ("api", "lock"),
                    InstallationAction::ApiUnlock => ("api", "unlock"),
                    InstallationAction::DeletionLock => ("deletion", "lock"),
                    InstallationAction::DeletionUnlock => ("deletion", "unlock"),
                };
                ("installation", id(&t.installation, "installation")?, pair)
            }
        };
        Ok(SecurityCall {
            resource,
            id,
            kind,
            action,
        })
    }
}

pub async fn run(cmd: SecurityCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let call = cmd.call()?;
    if ctx.dry_run(&serde_json::json!({
        "path": format!("/api/security/{}/{}/{}/{}", call.resource, call.id, call.kind, call.action)
    }))? {
        return Ok(());
    }
    ctx.client
        .security_call(call.resource, &call.id, call.kind, call.action)
        .await
        .with_context(|| {
            format!(
                "failed to {} the {} {} {}",
                call.action, call.resource, call.id, call.kind
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    fn call(args: &[&str]) -> anyhow::Result<SecurityCall> {
        let mut argv = vec!["cloud", "security"];
        argv.extend_from_slice(args);
        let cli = try_parse_from(argv)?;
        let Command::Security(g) = cli.command else {
            panic!("not security")
        };
        g.command.call()
    }

    fn expect(
        resource: &'static str,
        id: &str,
        kind: &'static str,
        action: &'static str,
    ) -> SecurityCall {
        SecurityCall {
            resource,
            id: id.to_string(),
            kind,
            action,
        }
    }

    #[test]
    fn every_resource_and_action_maps_to_its_path() {
        let cases = [
            (
                vec!["cluster", "api-lock", "--cluster", "c1"],
                expect("cluster", "c1", "api", "lock"),
            ),
            (
                vec!["cluster", "--cluster", "c1", "api-unlock"],
                expect("cluster", "c1", "api", "unlock"),
            ),
            (
                vec!["installation", "api-lock", "--installation", "i1"],
                expect("installation", "i1", "api", "lock"),
            ),
            (
                vec!["installation", "deletion-lock", "--installation", "i1"],
                expect("installation", "i1", "deletion", "lock"),
            ),
            (
                vec!["installation", "deletion-unlock", "--installation", "i1"],
                expect("installation", "i1", "deletion", "unlock"),
            ),
            (
                vec![
                    "cluster-installation",
                    "api-lock",
                    "--cluster-installation",
                    "x",
                ],
                expect("cluster_installation", "x", "api", "lock"),
            ),
            (
                vec!["group", "api-unlock", "--group", "g"],
                expect("group", "g", "api", "unlock"),
            ),
            (
                vec!["backup", "api-lock", "--backup", "b"],
                expect("installation/backup", "b", "api", "lock"),
            ),
        ];
        for (args, want) in cases {
            assert_eq!(call(&args).unwrap(), want, "{args:?}");
        }
    }

    #[test]
    fn the_id_flag_is_required_and_actions_are_checked() {
        let err = call(&["group", "api-lock"]).unwrap_err();
        assert!(err.to_string().contains("--group"), "{err}");
        assert!(call(&["cluster", "api-lock", "--cluster", ""]).is_err());
        assert!(call(&["group", "deletion-lock", "--group", "g"]).is_err());
        assert!(call(&["cluster", "api-lock", "--group", "g"]).is_err());
    }
}
