//! `cloud database …`: shared (multitenant) databases, their logical
//! databases and schemas, with the original's flags (original-interfaces
//! §2.6): `multitenant list|get|update|delete|report`, `logical
//! list|get|delete`, `schema list|get` and `validation-report`.
//!
//! Lists print a table by default (`ID, RDS CLUSTER ID, TYPE, STATE,
//! INSTALLATIONS`; `ID, MULTITENANT DATABASE, NAME`; `ID, LOGICAL DATABASE,
//! INSTALLATION, NAME`) and the API's JSON with `--json`.

use crate::args::{Ctx, PagingArgs};
use crate::cmd::event::format_millis;
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_client::Client;
use cloud_model::database::{
    DatabaseEngineType, DatabaseSchema, DatabaseSchemaFilter, LogicalDatabase,
    LogicalDatabaseFilter, MultitenantDatabase, MultitenantDatabaseFilter,
    PatchMultitenantDatabaseRequest,
};
use cloud_model::filter::Paging;
use cloud_model::installation::DatabaseType;
use cloud_model::installation_request::GetInstallationsRequest;
use std::collections::BTreeMap;

/// Columns of `database multitenant list`.
pub const MULTITENANT_HEADERS: [&str; 5] =
    ["ID", "RDS CLUSTER ID", "TYPE", "STATE", "INSTALLATIONS"];
/// Columns of `database logical list`.
pub const LOGICAL_HEADERS: [&str; 3] = ["ID", "MULTITENANT DATABASE", "NAME"];
/// Columns of `database schema list`.
pub const SCHEMA_HEADERS: [&str; 4] = ["ID", "LOGICAL DATABASE", "INSTALLATION", "NAME"];

#[derive(Debug, Clone, Subcommand)]
pub enum DatabaseCmd {
    /// Manage and view multitenant database resources.
    #[command(subcommand)]
    Multitenant(MultitenantCmd),
    /// Manage and view logical database resources.
    #[command(subcommand)]
    Logical(LogicalCmd),
    /// Manage and view database schema resources.
    #[command(subcommand)]
    Schema(SchemaCmd),
    /// Compare installation and database records to ensure there is a complete match.
    ValidationReport,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MultitenantCmd {
    /// List known multitenant databases.
    List(MultitenantListArgs),
    /// Get a particular multitenant database.
    Get(MultitenantArg),
    /// Update a multitenant database's configuration.
    Update(MultitenantUpdateArgs),
    /// Mark a multitenant database deleted (its RDS cluster is not touched).
    Delete(MultitenantDeleteArgs),
    /// Get a report of deployment details for a given multitenant database.
    Report(MultitenantReportArgs),
}

#[derive(Debug, Clone, Subcommand)]
pub enum LogicalCmd {
    /// List logical databases.
    List(LogicalListArgs),
    /// Get a particular logical database.
    Get(LogicalArg),
    /// Delete an empty logical database.
    Delete(LogicalArg),
}

#[derive(Debug, Clone, Subcommand)]
pub enum SchemaCmd {
    /// List database schemas.
    List(SchemaListArgs),
    /// Get a particular database schema.
    Get(SchemaArg),
}

#[derive(Debug, Clone, Args)]
pub struct MultitenantListArgs {
    /// The VPC ID by which to filter multitenant databases.
    #[arg(long)]
    pub vpc_id: Option<String>,
    /// The database type by which to filter multitenant databases.
    #[arg(long)]
    pub database_type: Option<DatabaseEngineType>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--multitenant-database <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct MultitenantArg {
    /// The ID of the multitenant database.
    #[arg(long)]
    pub multitenant_database: String,
}

#[derive(Debug, Clone, Args)]
pub struct MultitenantUpdateArgs {
    /// The ID of the multitenant database.
    #[arg(long)]
    pub multitenant_database: String,
    /// Max installations per logical database (PgBouncer databases only; sent only when given).
    #[arg(
        long = "max-installations-per-logical-db",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub max_installations_per_logical_db: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct MultitenantDeleteArgs {
    /// The ID of the multitenant database.
    #[arg(long)]
    pub multitenant_database: String,
    /// Delete the record even if the RDS cluster still exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MultitenantReportArgs {
    /// The ID of the multitenant database.
    #[arg(long)]
    pub multitenant_database: String,
    /// Also count the schemas of each logical database.
    #[arg(long)]
    pub include_schema_counts: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogicalListArgs {
    /// The multitenant database ID by which to filter logical databases.
    #[arg(long)]
    pub multitenant_database_id: Option<String>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--logical-database <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct LogicalArg {
    /// The ID of the logical database.
    #[arg(long)]
    pub logical_database: String,
}

#[derive(Debug, Clone, Args)]
pub struct SchemaListArgs {
    /// The logical database ID by which to filter database schemas.
    #[arg(long)]
    pub logical_database_id: Option<String>,
    /// The installation ID by which to filter database schemas.
    #[arg(long)]
    pub installation_id: Option<String>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--database-schema <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct SchemaArg {
    /// The ID of the database schema.
    #[arg(long)]
    pub database_schema: String,
}

fn multitenant_row(d: &MultitenantDatabase) -> Vec<String> {
    vec![
        d.id.clone(),
        d.rds_cluster_id.clone(),
        d.database_type.to_string(),
        d.state.to_string(),
        d.installations.len().to_string(),
    ]
}

fn logical_row(d: &LogicalDatabase) -> Vec<String> {
    vec![
        d.id.clone(),
        d.multitenant_database_id.clone(),
        d.name.clone(),
    ]
}

fn schema_row(s: &DatabaseSchema) -> Vec<String> {
    vec![
        s.id.clone(),
        s.logical_database_id.clone(),
        s.installation_id.clone(),
        s.name.clone(),
    ]
}

pub async fn run(cmd: DatabaseCmd, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        DatabaseCmd::Multitenant(cmd) => run_multitenant(cmd, ctx).await,
        DatabaseCmd::Logical(cmd) => run_logical(cmd, &ctx.client).await,
        DatabaseCmd::Schema(cmd) => run_schema(cmd, &ctx.client).await,
        DatabaseCmd::ValidationReport => {
            print!("{}", validation_report(&ctx.client).await?);
            Ok(())
        }
    }
}

async fn run_multitenant(cmd: MultitenantCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        MultitenantCmd::List(args) => {
            let filter = MultitenantDatabaseFilter {
                paging: args.paging.paging(),
                vpc_id: args.vpc_id,
                database_type: args.database_type,
                ..Default::default()
            };
            let databases = client
                .get_multitenant_databases(&filter)
                .await
                .context("failed to query multitenant databases")?;
            print_list(
                &databases,
                &MULTITENANT_HEADERS,
                multitenant_row,
                &args.output,
            )
        }
        MultitenantCmd::Get(args) => match client
            .get_multitenant_database(&args.multitenant_database)
            .await
            .context("failed to query multitenant database")?
        {
            Some(database) => print_json(&database),
            None => Ok(()),
        },
        MultitenantCmd::Update(args) => {
            let request = PatchMultitenantDatabaseRequest {
                max_installations_per_logical_database: args.max_installations_per_logical_db,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let database = client
                .update_multitenant_database(&args.multitenant_database, &request)
                .await
                .context("failed to update multitenant database")?;
            print_json(&database)
        }
        MultitenantCmd::Delete(args) => client
            .delete_multitenant_database(&args.multitenant_database, args.force)
            .await
            .context("failed to delete multitenant database"),
        MultitenantCmd::Report(args) => {
            if let Some(report) = multitenant_report(client, &args).await? {
                println!("{report}");
            }
            Ok(())
        }
    }
}

async fn run_logical(cmd: LogicalCmd, client: &Client) -> anyhow::Result<()> {
    match cmd {
        LogicalCmd::List(args) => {
            let filter = LogicalDatabaseFilter {
                paging: args.paging.paging(),
                multitenant_database_id: args.multitenant_database_id,
            };
            let databases = client
                .get_logical_databases(&filter)
                .await
                .context("failed to query logical databases")?;
            print_list(&databases, &LOGICAL_HEADERS, logical_row, &args.output)
        }
        LogicalCmd::Get(args) => match client
            .get_logical_database(&args.logical_database)
            .await
            .context("failed to query logical database")?
        {
            Some(database) => print_json(&database),
            None => Ok(()),
        },
        LogicalCmd::Delete(args) => client
            .delete_logical_database(&args.logical_database)
            .await
            .context("failed to delete logical database"),
    }
}

async fn run_schema(cmd: SchemaCmd, client: &Client) -> anyhow::Result<()> {
    match cmd {
        SchemaCmd::List(args) => {
            let filter = DatabaseSchemaFilter {
                paging: args.paging.paging(),
                logical_database_id: args.logical_database_id,
                installation_id: args.installation_id,
            };
            let schemas = client
                .get_database_schemas(&filter)
                .await
                .context("failed to query database schemas")?;
            print_list(&schemas, &SCHEMA_HEADERS, schema_row, &args.output)
        }
        SchemaCmd::Get(args) => match client
            .get_database_schema(&args.database_schema)
            .await
            .context("failed to query database schema")?
        {
            Some(schema) => print_json(&schema),
            None => Ok(()),
        },
    }
}

/// The text of `multitenant report`; `None` for an unknown database.
async fn multitenant_report(
    client: &Client,
    args: &MultitenantReportArgs,
) -> anyhow::Result<Option<String>> {
    let Some(database) = client
        .get_multitenant_database(&args.multitenant_database)
        .await
        .context("failed to query multitenant database")?
    else {
        return Ok(None);
    };
    let created = format_millis(database.create_at);
    let mut out = format!("Multitenant Database: {}\n", database.id);
    out += &format!(" ├ Created: {}\n", created.split(' ').next().unwrap_or(""));
    out += &format!(" ├ State: {}\n", database.state);
    out += &format!(" ├ Type: {}\n", database.database_type);
    out += &format!(" ├ VPC: {}\n", database.vpc_id);
    out += &format!(" ├ Installations: {}\n", database.installations.len());
    out += &format!(" ├ Writer Endpoint: {}\n", database.writer_endpoint);
    out += &format!(" ├ Reader Endpoint: {}\n", database.reader_endpoint);
    if database.database_type == DatabaseEngineType::PostgresProxy {
        let logical = client
            .get_logical_databases(&LogicalDatabaseFilter {
                paging: Paging::all_live(),
                multitenant_database_id: Some(database.id.clone()),
            })
            .await
            .context("failed to query logical databases")?;
        out += &format!(" └ Logical Databases: {}\n", logical.len());
        // Guarded: the original divides by zero when there is none.
        let average = if logical.is_empty() {
            0.0
        } else {
            database.installations.len() as f64 / logical.len() as f64
        };
        out += &format!("   └ Average Installations Per Logical Database: {average:.2}\n");
        if args.include_schema_counts {
            out += "\nSchema Counts:\n";
            for l in &logical {
                let schemas = client
                    .get_database_schemas(&DatabaseSchemaFilter {
                        paging: Paging::all_live(),
                        logical_database_id: Some(l.id.clone()),
                        ..Default::default()
                    })
                    .await
                    .context("failed to query database schemas")?;
                out += &format!("{} - {}\n", l.id, schemas.len());
            }
        }
    }
    Ok(Some(out))
}

/// The installation database type whose installations live in shared
/// databases of `engine`.
pub fn installation_database_type(engine: DatabaseEngineType) -> DatabaseType {
    match engine {
        DatabaseEngineType::MySql => DatabaseType::AwsMultitenantRds,
        DatabaseEngineType::Postgres => DatabaseType::AwsMultitenantRdsPostgres,
        DatabaseEngineType::PostgresProxy => DatabaseType::AwsMultitenantRdsPostgresPgbouncer,
        DatabaseEngineType::PostgresProxyPerseus => DatabaseType::Perseus,
    }
}

/// The text of `validation-report`: for each installation database type,
/// the installations no shared database lists, then the listed IDs that are
/// no live installation of that type.
async fn validation_report(client: &Client) -> anyhow::Result<String> {
    let installations = client
        .get_installations(&GetInstallationsRequest {
            paging: Paging::all_live(),
            include_group_config: false,
            include_group_config_overrides: false,
            ..Default::default()
        })
        .await
        .context("failed to query installations")?;
    let databases = client
        .get_multitenant_databases(&MultitenantDatabaseFilter {
            paging: Paging::all_live(),
            ..Default::default()
        })
        .await
        .context("failed to query multitenant databases")?;
    let mut by_installation: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in &installations {
        by_installation
            .entry(i.installation.database.to_string())
            .or_default()
            .push(i.installation.id.clone());
    }
    let mut by_database: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in &databases {
        by_database
            .entry(installation_database_type(d.database_type).to_string())
            .or_default()
            .extend(d.installations.iter().cloned());
    }
    Ok(compare_records(&by_installation, &by_database))
}

/// The two-way comparison of the validation report (types sorted by name).
pub fn compare_records(
    by_installation: &BTreeMap<String, Vec<String>>,
    by_database: &BTreeMap<String, Vec<String>>,
) -> String {
    let empty = Vec::new();
    let mut out = String::new();
    for (db_type, ids) in by_installation {
        let listed = by_database.get(db_type).unwrap_or(&empty);
        out += &format!(
            "Database type: {db_type} [Database={},Installation={}]\n",
            listed.len(),
            ids.len()
        );
        for id in ids.iter().filter(|id| !listed.contains(id)) {
            out += &format!(" - Missing: {id}\n");
        }
    }
    out.push('\n');
    for (db_type, ids) in by_database {
        let known = by_installation.get(db_type).unwrap_or(&empty);
        out += &format!(
            "Database type: {db_type} [Database={},Installation={}]\n",
            ids.len(),
            known.len()
        );
        for id in ids.iter().filter(|id| !known.contains(id)) {
            out += &format!(" - Missing: {id}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    fn database_cmd(args: &[&str]) -> DatabaseCmd {
        let mut all = vec!["cloud", "database"];
        all.extend_from_slice(args);
        let Command::Database(g) = try_parse_from(all).unwrap().command else {
            panic!("not database")
        };
        g.command
    }

    #[test]
    fn update_sends_the_maximum_only_when_given() {
        let DatabaseCmd::Multitenant(MultitenantCmd::Update(args)) =
            database_cmd(&["multitenant", "update", "--multitenant-database", "x"])
        else {
            panic!("not update")
        };
        assert_eq!(args.max_installations_per_logical_db, None);
        let DatabaseCmd::Multitenant(MultitenantCmd::Update(args)) = database_cmd(&[
            "multitenant",
            "update",
            "--multitenant-database",
            "x",
            "--max-installations-per-logical-db",
            "20",
        ]) else {
            panic!("not update")
        };
        assert_eq!(args.max_installations_per_logical_db, Some(20));
    }

    #[test]
    fn filters_and_required_flags() {
        let DatabaseCmd::Multitenant(MultitenantCmd::List(args)) =
            database_cmd(&["multitenant", "list", "--database-type", "postgres-proxy"])
        else {
            panic!("not list")
        };
        assert_eq!(args.database_type, Some(DatabaseEngineType::PostgresProxy));
        for bad in [
            vec![
                "cloud",
                "database",
                "multitenant",
                "list",
                "--database-type",
                "oracle",
            ],
            vec!["cloud", "database", "multitenant", "get"],
            vec!["cloud", "database", "logical", "delete"],
            vec!["cloud", "database", "schema", "get"],
        ] {
            assert!(try_parse_from(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_validation_report_compares_both_ways() {
        let installations = BTreeMap::from([(
            "aws-multitenant-rds-postgres".to_string(),
            vec!["a".to_string(), "b".to_string()],
        )]);
        let databases = BTreeMap::from([
            (
                "aws-multitenant-rds-postgres".to_string(),
                vec!["a".to_string(), "z".to_string()],
            ),
            ("perseus".to_string(), vec!["p".to_string()]),
        ]);
        assert_eq!(
            compare_records(&installations, &databases),
            "Database type: aws-multitenant-rds-postgres [Database=2,Installation=2]\n - Missing: b\n\n\
             Database type: aws-multitenant-rds-postgres [Database=2,Installation=2]\n - Missing: z\n\
             Database type: perseus [Database=1,Installation=0]\n - Missing: p\n"
        );
        assert_eq!(
            installation_database_type(DatabaseEngineType::PostgresProxy),
            DatabaseType::AwsMultitenantRdsPostgresPgbouncer
        );
    }
}
