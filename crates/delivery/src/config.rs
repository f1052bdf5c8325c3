//! [`DelivererConfig`]: timeouts, back-off, lease and failure bound.

use crate::DeliveryError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Looks up the environment variable a `value_from_env` header names.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Margin a lease keeps beyond the longest request, so a holder's request
/// always ends before its lease can expire.
pub const LEASE_MARGIN: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct DelivererConfig {
    /// This server's name as a lease holder.
    pub instance_id: String,
    /// How often to look for due work when nothing wakes the deliverer.
    pub poll_interval: Duration,
    /// How long a claim lasts; renewed before every attempt. Must exceed
    /// both request timeouts by [`LEASE_MARGIN`].
    pub lease_ttl: Duration,
    /// Request timeout of subscription deliveries (the original's 15 s).
    pub subscription_timeout: Duration,
    /// Request timeout of legacy webhook deliveries (the original's 5 s).
    pub webhook_timeout: Duration,
    /// Time allowed to open a connection (capped by the request timeout).
    pub connect_timeout: Duration,
    /// First retry delay; doubles with each failure.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
    /// Failure bound of legacy webhooks and of subscriptions whose
    /// `FailureThreshold` is 0.
    pub default_failure_threshold: Duration,
    /// Targets delivered to at once by this server.
    pub max_in_flight: usize,
    /// Resolves `value_from_env` headers at send time (the process
    /// environment by default).
    pub env: EnvLookup,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        Self {
            instance_id: cloud_model::new_id(),
            poll_interval: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(60),
            subscription_timeout: Duration::from_secs(15),
            webhook_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(5 * 60),
            default_failure_threshold: Duration::from_secs(72 * 3600),
            max_in_flight: 32,
            env: Arc::new(|name| std::env::var(name).ok()),
        }
    }
}

impl fmt::Debug for DelivererConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelivererConfig")
            .field("instance_id", &self.instance_id)
            .field("poll_interval", &self.poll_interval)
            .field("lease_ttl", &self.lease_ttl)
            .field("subscription_timeout", &self.subscription_timeout)
            .field("webhook_timeout", &self.webhook_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("default_failure_threshold", &self.default_failure_threshold)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl DelivererConfig {
    /// The longest request a deliverer makes.
    pub fn max_request_timeout(&self) -> Duration {
        self.subscription_timeout.max(self.webhook_timeout)
    }

    pub fn validate(&self) -> Result<(), DeliveryError> {
        let bad = |m: &str| Err(DeliveryError::Config(m.to_string()));
        if self.instance_id.is_empty() {
            return bad("the instance ID must not be empty");
        }
        if self.subscription_timeout.is_zero() || self.webhook_timeout.is_zero() {
            return bad("request timeouts must be positive");
        }
        if self.lease_ttl < self.max_request_timeout() + LEASE_MARGIN {
            return bad("the lease must outlast the longest request by at least 1s");
        }
        if self.poll_interval.is_zero() || self.backoff_base.is_zero() {
            return bad("the poll interval and back-off base must be positive");
        }
        if self.backoff_cap < self.backoff_base {
            return bad("the back-off cap must not be below its base");
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let c = DelivererConfig::default();
        c.validate().unwrap();
        assert_eq!(c.subscription_timeout, Duration::from_secs(15));
        assert_eq!(c.webhook_timeout, Duration::from_secs(5));
        assert_eq!(c.backoff_base, Duration::from_secs(1));
        assert_eq!(c.backoff_cap, Duration::from_secs(300));
        assert_eq!(c.default_failure_threshold, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn a_lease_shorter_than_a_request_is_refused() {
        let c = DelivererConfig {
            lease_ttl: Duration::from_secs(15),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = DelivererConfig {
            backoff_cap: Duration::from_millis(1),
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
