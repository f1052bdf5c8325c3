//! # cloud-delivery
//!
//! Durable, signed, ordered delivery of state-change events to event
//! subscriptions and legacy webhooks, from the outbox the store fills in the
//! transaction of every state change ([`cloud_store::delivery`]).
//!
//! A [`Deliverer`] runs as a background task on every server. It claims
//! targets with an expiring lease ([`cloud_store::delivery_lease`]), so two
//! servers never deliver one target's events at the same time and a crashed
//! server's targets are taken over when its leases expire. For each claimed
//! target it sends the owed events one at a time, oldest first, and stops at
//! the first failure, so a target sees its events in order, each at least
//! once. Failures are retried with exponential back-off and jitter
//! ([`backoff`]); once the failure bound has passed since the first failure
//! of a run, the delivery is `failed` and the target dead until a replay.
//!
//! Subscription requests carry `X-Cloud-Event-Id` (the idempotency key, the
//! same on every retry), `X-Cloud-Timestamp`, `X-Cloud-Delivery-Attempt`
//! and `X-Cloud-Signature` ([`signature`]). See `docs/events-and-webhooks.md`.

pub mod backoff;
pub mod config;
pub mod deliverer;
pub mod send;
pub mod signature;
pub mod wake_layer;

pub use config::DelivererConfig;
pub use deliverer::Deliverer;
pub use signature::{sign, verify};
pub use wake_layer::wake_on_writes;

/// Why a deliverer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("invalid delivery configuration: {0}")]
    Config(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}
