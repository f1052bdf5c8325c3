//! The `/api` routes, one file per resource. Each file exposes
//! `pub fn router() -> Router<AppState>` with paths relative to `/api`
//! (`/clusters`, `/cluster/{id}`), exactly as in the original's route table;
//! [`router`] merges them and `crate::router` nests the result under `/api`.

use crate::AppState;
use axum::Router;

pub mod backups;
pub mod cluster_installation_migration;
pub mod cluster_installations;
pub mod clusters;
pub mod databases;
pub mod delivery;
pub mod events;
pub mod groups;
pub mod installations;
pub mod lock;
pub mod operations;
pub mod subscriptions;
pub mod webhooks;

/// Every resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(clusters::router())
        .merge(installations::router())
        .merge(backups::router())
        .merge(operations::router())
        .merge(cluster_installations::router())
        .merge(cluster_installation_migration::router())
        .merge(groups::router())
        .merge(webhooks::router())
        .merge(subscriptions::router())
        .merge(delivery::router())
        .merge(events::router())
        .merge(databases::router())
}
