//! The reconcile engine end to end: the real store (SQLite and PostgreSQL),
//! the supervisors, and the simulated cloud.
//!
//! - `cluster_flow`, `ci_flow`: lifecycles, failure paths, backoff, progress;
//! - `props`: random operation sequences on a seeded, flaky cloud;
//! - `api`: a cluster created over HTTP reaches `stable` by itself;
//! - `servers`: several engines on one PostgreSQL database.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod harness;

mod api;
mod bench;
mod ci_flow;
mod cluster_flow;
mod props;
mod servers;
