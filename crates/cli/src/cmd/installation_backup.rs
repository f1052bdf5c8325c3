//! `cloud installation backup …` (nested by `installation.rs`): create,
//! list, get and delete installation backups, with the original's flags
//! (original-interfaces §2.5). `list` prints a table (`ID, INSTALLATION ID,
//! STATE, CLUSTER INSTALLATION ID, REQUEST AT`) by default and the API's
//! JSON with `--json`.

use crate::args::{Ctx, PagingArgs};
use crate::cmd::event::format_millis;
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::backup::{
    BackupState, InstallationBackup, InstallationBackupFilter, InstallationBackupRequest,
};

/// Columns of `installation backup list`.
pub const TABLE_HEADERS: [&str; 5] = [
    "ID",
    "INSTALLATION ID",
    "STATE",
    "CLUSTER INSTALLATION ID",
    "REQUEST AT",
];

/// The brief's name for this command group.
pub type BackupCmd = InstallationBackupCmd;

#[derive(Debug, Clone, Subcommand)]
pub enum InstallationBackupCmd {
    /// Request an installation backup (the installation must be hibernating).
    Create(CreateArgs),
    /// List installation backups.
    List(ListArgs),
    /// Get an installation backup.
    Get(BackupArg),
    /// Request the deletion of an installation backup.
    Delete(BackupArg),
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The ID of the installation to back up.
    #[arg(long)]
    pub installation: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The installation ID by which to filter backups.
    #[arg(long)]
    pub installation: Option<String>,
    /// The state by which to filter backups.
    #[arg(long)]
    pub state: Option<BackupState>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--backup <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct BackupArg {
    /// The ID of the backup.
    #[arg(long)]
    pub backup: String,
}

fn row(b: &InstallationBackup) -> Vec<String> {
    vec![
        b.id.clone(),
        b.installation_id.clone(),
        b.state.to_string(),
        b.cluster_installation_id.clone(),
        format_millis(b.request_at),
    ]
}

pub async fn run(cmd: InstallationBackupCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        InstallationBackupCmd::Create(args) => {
            let request = InstallationBackupRequest {
                installation_id: args.installation,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let backup = client
                .create_installation_backup(&request.installation_id)
                .await
                .context("failed to request installation backup")?;
            print_json(&backup)
        }
        InstallationBackupCmd::List(args) => {
            let filter = InstallationBackupFilter {
                paging: args.paging.paging(),
                installation_id: args.installation,
                states: args.state.into_iter().collect(),
                ..Default::default()
            };
            let backups = client
                .get_installation_backups(&filter)
                .await
                .context("failed to list backups")?;
            print_list(&backups, &TABLE_HEADERS, row, &args.output)
        }
        InstallationBackupCmd::Get(args) => match client
            .get_installation_backup(&args.backup)
            .await
            .context("failed to get backup")?
        {
            Some(backup) => print_json(&backup),
            None => Ok(()),
        },
        InstallationBackupCmd::Delete(args) => client
            .delete_installation_backup(&args.backup)
            .await
            .context("failed to delete backup"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_original_columns() {
        let backup = InstallationBackup {
            id: "b".into(),
            installation_id: "i".into(),
            cluster_installation_id: "ci".into(),
            state: BackupState::BackupInProgress,
            request_at: 0,
            ..Default::default()
        };
        assert_eq!(
            row(&backup),
            [
                "b",
                "i",
                "backup-in-progress",
                "ci",
                "1970-01-01 00:00:00 +0000 UTC"
            ]
        );
    }
}
