//! [`Deliverer`]: the background task that drains the outbox.
//!
//! Each pass claims due targets (up to `max_in_flight` at once) and runs one
//! task per claimed target. A task renews the lease, takes the oldest owed
//! delivery, records the attempt, POSTs it, records the outcome, and goes on
//! with the next one until the target owes nothing or an attempt fails (then
//! the target waits for its back-off, so order is kept). The loop wakes on
//! [`SupervisorKind::Webhook`], when a task ends, when the earliest retry it
//! scheduled is due, and every `poll_interval`.
//! On cancellation, tasks finish their current attempt and release their
//! leases; a task still running after the longest request timeout is
//! aborted and its lease simply expires.

use crate::config::DelivererConfig;
use crate::{DeliveryError, backoff, send};
use cloud_model::now_millis;
use cloud_store::SqlStore;
use cloud_store::delivery::Channel;
use cloud_store::delivery_lease::{AttemptOutcome, DeliveryLease};
use cloud_supervisor::{SupervisorKind, Wake};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

struct Inner {
    store: SqlStore,
    config: DelivererConfig,
    http: reqwest::Client,
}

/// Delivers the outbox of one store. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
    wake: Wake,
}

impl Deliverer {
    pub fn new(
        store: SqlStore,
        wake: Wake,
        config: DelivererConfig,
    ) -> Result<Self, DeliveryError> {
        config.validate()?;
        cloud_client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout.min(config.max_request_timeout()))
            .timeout(config.max_request_timeout())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloud-delivery/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                http,
            }),
            wake,
        })
    }

    pub fn config(&self) -> &DelivererConfig {
        &self.inner.config
    }

    /// Runs until `cancel` fires, then stops its tasks (see the module note).
    pub async fn run(self, cancel: CancellationToken) {
        let config = &self.inner.config;
        tracing::info!(instance = %config.instance_id, "event deliverer started");
        let mut tasks: JoinSet<Option<i64>> = JoinSet::new();
        // The earliest retry this server scheduled (ms), to wake up for it.
        let mut next_retry: Option<i64> = None;
        while !cancel.is_cancelled() {
            if next_retry.is_some_and(|at| at <= now_millis()) {
                next_retry = None;
            }
            self.claim_into(&mut tasks, &cancel).await;
            let nap = next_retry
                .map(|at| Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0)))
                .map_or(config.poll_interval, |d| d.min(config.poll_interval));
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.wake.woken(SupervisorKind::Webhook) => {}
                () = tokio::time::sleep(nap) => {}
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => match joined {
                    Ok(Some(at)) => next_retry = Some(next_retry.map_or(at, |n| n.min(at))),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "a delivery task failed"),
                }
            }
        }
        let grace = config.max_request_timeout() + Duration::from_secs(1);
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tracing::warn!("delivery tasks still running at shutdown; their leases will expire");
            tasks.abort_all();
        }
        tracing::info!(instance = %config.instance_id, "event deliverer stopped");
    }

    /// Claims due targets while there is room, one task each.
    async fn claim_into(&self, tasks: &mut JoinSet<Option<i64>>, cancel: &CancellationToken) {
        let config = &self.inner.config;
        for channel in Channel::ALL {
            let room = config.max_in_flight.saturating_sub(tasks.len());
            if room == 0 {
                return;
            }
            let claimed = self
                .inner
                .store
                .delivery_claim(
                    channel,
                    &config.instance_id,
                    now_millis(),
                    millis(config.lease_ttl),
                    i64::try_from(room).unwrap_or(i64::MAX),
                )
                .await;
            match claimed {
                Ok(leases) => {
                    for lease in leases {
                        let inner = Arc::clone(&self.inner);
                        let cancel = cancel.clone();
                        tasks.spawn(async move { inner.drain(lease, cancel).await });
                    }
                }
                Err(e) => tracing::warn!(
                    channel = channel.as_str(),
                    error = %e,
                    "cannot claim deliveries; retrying at the next pass"
                ),
            }
        }
    }
}

impl Inner {
    /// Delivers the leased target's owed events in order, then releases it.
    /// Returns when the next attempt is due if one failed.
    async fn drain(&self, lease: DeliveryLease, cancel: CancellationToken) -> Option<i64> {
        let next = match self.drain_inner(&lease, &cancel).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(
                    channel = lease.channel.as_str(),
                    target = %lease.target_id,
                    error = %e,
                    "delivery interrupted by a store error"
                );
                None
            }
        };
        if let Err(e) = self.store.delivery_release(&lease).await {
            tracing::warn!(target = %lease.target_id, error = %e, "cannot release a delivery lease");
        }
        next
    }

    async fn drain_inner(
        &self,
        lease: &DeliveryLease,
        cancel: &CancellationToken,
    ) -> cloud_store::Result<Option<i64>> {
        let config = &self.config;
        let channel = lease.channel;
        let timeout = match channel {
            Channel::Subscription => config.subscription_timeout,
            Channel::Webhook => config.webhook_timeout,
        };
        while !cancel.is_cancelled() {
            // Renewed before each attempt: the lease outlasts the request.
            let Some(target) = self
                .store
                .delivery_renew(lease, now_millis(), millis(config.lease_ttl))
                .await?
            else {
                return Ok(None);
            };
            let Some(owed) = self.store.delivery_next(lease).await? else {
                return Ok(None);
            };
            let body = send::body(channel, &owed).map_err(cloud_store::StoreError::Json)?;
            let started = now_millis();
            if !self
                .store
                .delivery_start_attempt(lease, &owed.id, started)
                .await?
            {
                return Ok(None);
            }
            let attempt = owed.attempts + 1;
            let headers = send::headers(&target, &owed, &body, attempt, started, &config.env);
            let result = send::post(&self.http, &target.url, headers, body, timeout).await;
            let now = now_millis();
            let outcome = match result {
                Ok(_) => AttemptOutcome::Delivered,
                Err(error) => {
                    let first_failure = if owed.first_failure_at > 0 {
                        owed.first_failure_at
                    } else {
                        now
                    };
                    let bound = if target.failure_threshold > 0 {
                        target.failure_threshold / 1_000_000
                    } else {
                        millis(config.default_failure_threshold)
                    };
                    if now - first_failure >= bound {
                        AttemptOutcome::Dead { error }
                    } else {
                        let wait =
                            backoff::random_delay(attempt, config.backoff_base, config.backoff_cap);
                        AttemptOutcome::Retry {
                            next_attempt_at: now + millis(wait),
                            error,
                        }
                    }
                }
            };
            let recorded = self
                .store
                .delivery_finish(lease, &owed, started, now, &outcome)
                .await?;
            let (target_id, event_id) = (&lease.target_id, &owed.event.event.id);
            match &outcome {
                AttemptOutcome::Delivered => {
                    tracing::debug!(channel = channel.as_str(), target = %target_id, event = %event_id, attempt, "event delivered");
                }
                AttemptOutcome::Retry {
                    next_attempt_at,
                    error,
                } => {
                    tracing::warn!(channel = channel.as_str(), target = %target_id, event = %event_id, attempt, %error, retry_in_ms = next_attempt_at - now, "event delivery failed; will retry");
                }
                AttemptOutcome::Dead { error } => {
                    tracing::error!(channel = channel.as_str(), target = %target_id, event = %event_id, attempt, %error, "event delivery failed past the failure bound; the target is dead until replayed");
                }
            }
            match outcome {
                AttemptOutcome::Delivered if recorded => {}
                AttemptOutcome::Retry {
                    next_attempt_at, ..
                } if recorded => return Ok(Some(next_attempt_at)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}
