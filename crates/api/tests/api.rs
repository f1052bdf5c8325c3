//! The API's integration tests: one binary, one module per resource. Every
//! test drives the real router over HTTP through `common::TestServer`, and
//! `api_test!` runs it on SQLite and on PostgreSQL.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

mod backups;
mod client;
mod cluster_installation_migration;
mod cluster_installations;
mod clusters;
mod databases;
mod delivery;
mod events;
mod groups;
mod health;
mod installations;
mod operations;
mod subscriptions;
mod webhooks;
