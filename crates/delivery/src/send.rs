//! One HTTP attempt: the body of each channel, the headers, the POST.
//!
//! The body is serialised once per attempt from the stored event, so it is
//! the same bytes on every retry, and the signature covers exactly those
//! bytes. Redirects are not followed (a 3xx is a failure): a receiver's
//! address is the one registered.

use crate::config::EnvLookup;
use crate::signature::{SIGNATURE_HEADER, sign};
use cloud_model::subscription::StateChangeEventPayload;
use cloud_model::webhook::WebhookPayload;
use cloud_store::delivery::Channel;
use cloud_store::delivery_lease::{DeliveryTarget, OwedDelivery};
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;

/// The idempotency key: the event ID, the same on every attempt.
pub const EVENT_ID_HEADER: &str = "x-cloud-event-id";
/// When this attempt was sent (ms since the epoch).
pub const TIMESTAMP_HEADER: &str = "x-cloud-timestamp";
/// Which attempt this is (1 for the first).
pub const ATTEMPT_HEADER: &str = "x-cloud-delivery-attempt";

/// The request body for `channel`: the subscription payload (camelCase, ms)
/// or the legacy webhook payload (snake_case, `timestamp` in ns).
pub fn body(channel: Channel, owed: &OwedDelivery) -> Result<Vec<u8>, serde_json::Error> {
    match channel {
        Channel::Subscription => serde_json::to_vec(&StateChangeEventPayload::from(&owed.event)),
        Channel::Webhook => {
            // The event's own time in ns, so retries carry the same body.
            let nanos = owed.event.event.timestamp.saturating_mul(1_000_000);
            serde_json::to_vec(&WebhookPayload::from_event(&owed.event, nanos))
        }
    }
}

/// The headers of an attempt: the target's custom headers (`value_from_env`
/// looked up now), then ours, which a custom header cannot replace.
pub fn headers(
    target: &DeliveryTarget,
    owed: &OwedDelivery,
    body: &[u8],
    attempt: i64,
    now_ms: i64,
    env: &EnvLookup,
) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (key, value) in target.headers.resolve(|name| env(name)) {
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            // Validated at creation; an environment value can still be bad.
            _ => tracing::warn!(header = %key, "skipping a header that is not valid HTTP"),
        }
    }
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let ours = [
        (EVENT_ID_HEADER, owed.event.event.id.clone()),
        (TIMESTAMP_HEADER, now_ms.to_string()),
        (ATTEMPT_HEADER, attempt.to_string()),
    ];
    for (name, value) in ours {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    map.remove(SIGNATURE_HEADER);
    if !target.secret.is_empty()
        && let Some(signature) = sign(&target.secret, body)
        && let Ok(value) = HeaderValue::from_str(&signature)
    {
        map.insert(HeaderName::from_static(SIGNATURE_HEADER), value);
    }
    map
}

/// POSTs `body`; `Ok` on a 2xx answer, else a short description of the
/// failure (never the URL, which may hold credentials).
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, String> {
    let result = http
        .post(url)
        .headers(headers)
        .body(body)
        .timeout(timeout)
        .send()
        .await;
    match result {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
        Err(e) if e.is_timeout() => Err(format!("timed out after {}ms", timeout.as_millis())),
        Err(e) => Err(format!("request failed: {}", e.without_url())),
    }
}
