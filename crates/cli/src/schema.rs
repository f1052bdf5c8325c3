//! `cloud schema migrate`: applies the store's pending migrations (the
//! Kubernetes deployment runs it as an init container). Running it on a
//! current schema changes nothing.

use crate::server::{DEFAULT_DATABASE, redact_url};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_store::{SqlStore, StoreOptions, migrate};

#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// The database backend to migrate: a SQLite file (sqlite://cloud.db, or a path) or postgres://…
    #[arg(long, global = true, default_value = DEFAULT_DATABASE)]
    pub database: String,

    #[command(subcommand)]
    pub command: SchemaCmd,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SchemaCmd {
    /// Apply every pending schema migration.
    Migrate,
}

pub async fn run(args: SchemaArgs) -> anyhow::Result<()> {
    match args.command {
        SchemaCmd::Migrate => migrate_schema(&args.database).await,
    }
}

async fn migrate_schema(database: &str) -> anyhow::Result<()> {
    let shown = redact_url(database);
    let store = SqlStore::connect(database, &StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the database {shown}"))?;
    let result = migrate::migrate(&store).await;
    store.close().await;
    let applied = result.with_context(|| format!("cannot migrate the database {shown}"))?;
    let latest = migrate::latest_version(store.backend());
    if applied.is_empty() {
        println!("The schema of {shown} is already at version {latest}; nothing to apply.");
    } else {
        for version in &applied {
            println!("Applied migration {version}");
        }
        println!("The schema of {shown} is now at version {latest}.");
    }
    Ok(())
}
