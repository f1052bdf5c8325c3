//! `cloud installation operation …` (nested by `installation.rs`): database
//! restorations (`restoration request|list|get`) and migrations
//! (`db-migration request|list|get|commit|rollback`), with the original's
//! flags (original-interfaces §2.5). Lists print a table by default
//! (restorations: `ID, INSTALLATION ID, BACKUP ID, STATE, CLUSTER
//! INSTALLATION ID, TARGET INSTALLATION STATE, REQUEST AT`; migrations:
//! `ID, INSTALLATION ID, STATE, REQUEST AT`) and the API's JSON with
//! `--json`.

use crate::args::{Ctx, PagingArgs};
use crate::cmd::event::format_millis;
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::db_migration::{
    InstallationDBMigrationFilter, InstallationDBMigrationOperation,
    InstallationDBMigrationRequest, MigrationState, MultiTenantDBMigrationData,
};
use cloud_model::db_restoration::{
    InstallationDBRestorationFilter, InstallationDBRestorationOperation,
    InstallationDBRestorationRequest, RestorationState,
};

/// Columns of `restoration list`.
pub const RESTORATION_HEADERS: [&str; 7] = [
    "ID",
    "INSTALLATION ID",
    "BACKUP ID",
    "STATE",
    "CLUSTER INSTALLATION ID",
    "TARGET INSTALLATION STATE",
    "REQUEST AT",
];

/// Columns of `db-migration list`.
pub const MIGRATION_HEADERS: [&str; 4] = ["ID", "INSTALLATION ID", "STATE", "REQUEST AT"];

/// The brief's name for this command group.
pub type OperationCmd = InstallationOperationCmd;

#[derive(Debug, Clone, Subcommand)]
pub enum InstallationOperationCmd {
    /// Manage installation database restorations.
    #[command(subcommand)]
    Restoration(RestorationCmd),
    /// Manage installation database migrations.
    #[command(subcommand)]
    DbMigration(MigrationCmd),
}

#[derive(Debug, Clone, Subcommand)]
pub enum RestorationCmd {
    /// Request the restoration of an installation's database from a backup.
    Request(RestorationRequestArgs),
    /// List installation database restorations.
    List(RestorationListArgs),
    /// Get an installation database restoration.
    Get(RestorationArg),
}

#[derive(Debug, Clone, Subcommand)]
pub enum MigrationCmd {
    /// Request the migration of an installation's database to another multitenant database.
    Request(MigrationRequestArgs),
    /// List installation database migrations.
    List(MigrationListArgs),
    /// Get an installation database migration.
    Get(MigrationArg),
    /// Commit a succeeded database migration (the old data is removed).
    Commit(MigrationArg),
    /// Roll back a succeeded database migration.
    Rollback(MigrationArg),
}

#[derive(Debug, Clone, Args)]
pub struct RestorationRequestArgs {
    /// The ID of the installation to restore.
    #[arg(long)]
    pub installation: String,
    /// The ID of the backup to restore from.
    #[arg(long)]
    pub backup: String,
}

#[derive(Debug, Clone, Args)]
pub struct RestorationListArgs {
    /// The installation ID by which to filter restorations.
    #[arg(long)]
    pub installation: Option<String>,
    /// The cluster installation ID by which to filter restorations.
    #[arg(long)]
    pub cluster_installation: Option<String>,
    /// The state by which to filter restorations.
    #[arg(long)]
    pub state: Option<RestorationState>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--restoration <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct RestorationArg {
    /// The ID of the restoration operation.
    #[arg(long)]
    pub restoration: String,
}

#[derive(Debug, Clone, Args)]
pub struct MigrationRequestArgs {
    /// The ID of the installation whose database migrates.
    #[arg(long)]
    pub installation: String,
    /// The database type to migrate to.
    #[arg(long, default_value = "aws-multitenant-rds-postgres")]
    pub destination_db: String,
    /// The ID of the multitenant database to migrate to.
    #[arg(long)]
    pub multi_tenant_db: String,
}

#[derive(Debug, Clone, Args)]
pub struct MigrationListArgs {
    /// The installation ID by which to filter migrations.
    #[arg(long)]
    pub installation: Option<String>,
    /// The state by which to filter migrations.
    #[arg(long)]
    pub state: Option<MigrationState>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--db-migration <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct MigrationArg {
    /// The ID of the database migration operation.
    #[arg(long)]
    pub db_migration: String,
}

impl MigrationRequestArgs {
    pub fn request(&self) -> InstallationDBMigrationRequest {
        InstallationDBMigrationRequest {
            installation_id: self.installation.clone(),
            destination_database: self.destination_db.clone(),
            destination_multi_tenant: Some(MultiTenantDBMigrationData {
                database_id: self.multi_tenant_db.clone(),
            }),
        }
    }
}

fn restoration_row(r: &InstallationDBRestorationOperation) -> Vec<String> {
    vec![
        r.id.clone(),
        r.installation_id.clone(),
        r.backup_id.clone(),
        r.state.to_string(),
        r.cluster_installation_id.clone(),
        r.target_installation_state.to_string(),
        format_millis(r.request_at),
    ]
}

fn migration_row(m: &InstallationDBMigrationOperation) -> Vec<String> {
    vec![
        m.id.clone(),
        m.installation_id.clone(),
        m.state.to_string(),
        format_millis(m.request_at),
    ]
}

pub async fn run(cmd: InstallationOperationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        InstallationOperationCmd::Restoration(cmd) => run_restoration(cmd, ctx).await,
        InstallationOperationCmd::DbMigration(cmd) => run_migration(cmd, ctx).await,
    }
}

async fn run_restoration(cmd: RestorationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        RestorationCmd::Request(args) => {
            let request = InstallationDBRestorationRequest {
                installation_id: args.installation,
                backup_id: args.backup,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let operation = client
                .restore_installation_database(&request.installation_id, &request.backup_id)
                .await
                .context("failed to request installation database restoration")?;
            print_json(&operation)
        }
        RestorationCmd::List(args) => {
            let filter = InstallationDBRestorationFilter {
                paging: args.paging.paging(),
                installation_id: args.installation,
                cluster_installation_id: args.cluster_installation,
                states: args.state.into_iter().collect(),
                ..Default::default()
            };
            let operations = client
                .get_installation_db_restoration_operations(&filter)
                .await
                .context("failed to list installation database restorations")?;
            print_list(
                &operations,
                &RESTORATION_HEADERS,
                restoration_row,
                &args.output,
            )
        }
        RestorationCmd::Get(args) => match client
            .get_installation_db_restoration(&args.restoration)
            .await
            .context("failed to get installation database restoration")?
        {
            Some(operation) => print_json(&operation),
            None => Ok(()),
        },
    }
}

async fn run_migration(cmd: MigrationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        MigrationCmd::Request(args) => {
            let request = args.request();
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let operation = client
                .migrate_installation_database(&request)
                .await
                .context("failed to request installation database migration")?;
            print_json(&operation)
        }
        MigrationCmd::List(args) => {
            let filter = InstallationDBMigrationFilter {
                paging: args.paging.paging(),
                installation_id: args.installation,
                states: args.state.into_iter().collect(),
                ..Default::default()
            };
            let operations = client
                .get_installation_db_migration_operations(&filter)
                .await
                .context("failed to list installation database migrations")?;
            print_list(&operations, &MIGRATION_HEADERS, migration_row, &args.output)
        }
        MigrationCmd::Get(args) => match client
            .get_installation_db_migration_operation(&args.db_migration)
            .await
            .context("failed to get installation database migration")?
        {
            Some(operation) => print_json(&operation),
            None => Ok(()),
        },
        MigrationCmd::Commit(args) => {
            let operation = client
                .commit_installation_db_migration(&args.db_migration)
                .await
                .context("failed to commit installation database migration")?;
            print_json(&operation)
        }
        MigrationCmd::Rollback(args) => {
            let operation = client
                .rollback_installation_db_migration(&args.db_migration)
                .await
                .context("failed to roll back installation database migration")?;
            print_json(&operation)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    fn operation(args: &[&str]) -> Result<InstallationOperationCmd, clap::Error> {
        let mut all = vec!["cloud", "installation", "operation"];
        all.extend_from_slice(args);
        let Command::Installation(g) = try_parse_from(all)?.command else {
            panic!("not installation")
        };
        match g.command {
            crate::cmd::installation::InstallationCmd::Operation(cmd) => Ok(cmd),
            other => panic!("not operation: {other:?}"),
        }
    }

    #[test]
    fn migration_request_defaults_the_destination_type() {
        let Ok(InstallationOperationCmd::DbMigration(MigrationCmd::Request(args))) = operation(&[
            "db-migration",
            "request",
            "--installation",
            "i",
            "--multi-tenant-db",
            "d",
        ]) else {
            panic!("not a migration request")
        };
        let request = args.request();
        assert_eq!(request.destination_database, "aws-multitenant-rds-postgres");
        assert_eq!(request.destination_multi_tenant.unwrap().database_id, "d");
    }

    #[test]
    fn states_and_required_flags_are_checked() {
        let Ok(InstallationOperationCmd::Restoration(RestorationCmd::List(args))) = operation(&[
            "restoration",
            "list",
            "--state",
            "installation-db-restoration-failed",
        ]) else {
            panic!("not a restoration list")
        };
        assert_eq!(args.state, Some(RestorationState::Failed));
        for bad in [
            vec!["restoration", "list", "--state", "failed"],
            vec!["restoration", "request", "--installation", "i"],
            vec!["db-migration", "request", "--installation", "i"],
            vec!["db-migration", "commit"],
            vec!["db-migration", "list", "--state", "done"],
        ] {
            assert!(operation(&bad).is_err(), "{bad:?}");
        }
    }
}
