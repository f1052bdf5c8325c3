//! # cloud-cli
//!
//! The `cloud` binary as a library (so every command and helper is testable
//! and `main.rs` stays a few lines): `cloud server`, `cloud schema migrate`
//! and the API client commands.

pub mod args;
pub mod cli;
pub mod cmd;
pub mod output;
pub mod schema;
pub mod server;
