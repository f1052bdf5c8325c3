//! The `cloud` binary's integration tests: one binary, one module per
//! command group. Tests run the real binary (`common::CloudServer` starts
//! `cloud server` on free loopback ports) and check what it prints.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

mod cluster_installation_migration;
mod clusters;
mod databases;
mod delivery;
mod events;
mod groups;
mod installations;
mod root;
mod schema_cmd;
mod security;
mod server_cmd;
mod simulated_cloud;
mod subscriptions;
mod webhooks;
