//! # cloud-model
//!
//! The provisioner's vocabulary: every entity with the original's JSON shape
//! (PascalCase keys, millisecond timestamps, 26-character IDs), every state
//! name, the API request bodies with their defaults and validation, and the
//! filters the list routes take. No I/O lives here: the store, the API and the
//! CLI all speak these types, so a JSON document written by one is read by the
//! others unchanged.

pub mod annotation;
pub mod backup;
pub mod cluster;
pub mod cluster_installation;
pub mod cluster_request;
pub mod cluster_size;
pub mod database;
pub mod db_migration;
pub mod db_restoration;
pub mod env;
pub mod error;
pub mod event;
pub mod filter;
pub mod group;
pub mod id;
pub mod installation;
pub mod installation_dns;
pub mod installation_request;
pub mod installation_size;
pub mod progress;
pub mod subscription;
pub mod time;
pub mod utility;
pub mod webhook;

pub use error::ValidationError;
pub use id::{is_valid_id, new_cluster_id, new_id};
pub use time::now_millis;

/// `OldState` of a creation event (`model.NonApplicableState`).
pub const NON_APPLICABLE_STATE: &str = "n/a";
