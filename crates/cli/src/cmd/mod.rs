//! The client command groups, one file per resource. Each exposes a
//! `clap::Subcommand` enum and `pub async fn run(cmd, ctx: &Ctx)`; `cli.rs`
//! wires the top-level groups, and nested groups (`cluster installation`,
//! `installation backup`, `installation operation`) are wired by their parent.

pub mod cluster;
pub mod cluster_installation;
pub mod database;
pub mod event;
pub mod group;
pub mod installation;
pub mod installation_backup;
pub mod installation_operation;
pub mod security;
pub mod subscription;
pub mod webhook;
