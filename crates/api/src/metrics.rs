//! Prometheus metrics of the API, in their own [`Registry`] (no process-global
//! state, so tests can run several servers side by side).
//!
//! - `provisioner_api_requests_total{handler,method,status_code}` (counter);
//! - `provisioner_api_requests_duration{handler,method,status_code}`
//!   (histogram, seconds, default buckets).
//!
//! The original labels `handler` with the Go function name
//! (`handleGetCluster`); we use the matched route pattern
//! (`/api/cluster/{id}`), which is as stable and needs no lookup table. The
//! original's counter carries no labels; ours does, which keeps
//! `sum(provisioner_api_requests_total)` working. Unmatched paths are
//! labelled `unmatched` so scanners cannot blow up the label set.
//! [`metrics_router`] serves `/metrics` in text format on the separate
//! `--metrics-port`.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::time::Instant;

const LABELS: [&str; 3] = ["handler", "method", "status_code"];

/// The API's request metrics. Cheap to clone.
#[derive(Clone)]
pub struct ApiMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl std::fmt::Debug for ApiMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiMetrics").finish_non_exhaustive()
    }
}

impl ApiMetrics {
    /// Registers the API metrics in `registry`.
    pub fn new(registry: Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "provisioner_api_requests_total",
                "The total number of API requests.",
            ),
            &LABELS,
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "provisioner_api_requests_duration",
                "The duration of API requests in seconds.",
            ),
            &LABELS,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self {
            registry,
            requests,
            duration,
        })
    }

    /// The registry the metrics live in (also holds other components' metrics).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn observe(&self, handler: &str, method: &str, status: StatusCode, seconds: f64) {
        let status = status.as_str();
        let labels = [handler, method, status];
        self.requests.with_label_values(&labels).inc();
        self.duration.with_label_values(&labels).observe(seconds);
    }
}

/// Middleware recording every request (install with
/// `axum::middleware::from_fn_with_state` through `Router::layer`, so the
/// matched route is known).
pub async fn track(State(metrics): State<ApiMetrics>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe(
        &handler,
        &method,
        response.status(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// The `/metrics` router for the metrics port.
pub fn metrics_router(registry: Registry) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move { render(&registry) }
        }),
    )
}

fn render(registry: &Registry) -> Response {
    match TextEncoder::new().encode_to_string(&registry.gather()) {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_show_in_the_text_format() {
        let metrics = ApiMetrics::new(Registry::new()).unwrap();
        metrics.observe("/api/clusters", "GET", StatusCode::OK, 0.01);
        metrics.observe("/api/clusters", "GET", StatusCode::OK, 0.02);
        let text = TextEncoder::new()
            .encode_to_string(&metrics.registry().gather())
            .unwrap();
        assert!(
            text.contains(
                r#"provisioner_api_requests_total{handler="/api/clusters",method="GET",status_code="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"provisioner_api_requests_duration_count{handler="/api/clusters",method="GET",status_code="200"} 2"#),
            "{text}"
        );
    }

    #[test]
    fn registering_twice_in_one_registry_fails() {
        let registry = Registry::new();
        ApiMetrics::new(registry.clone()).unwrap();
        assert!(ApiMetrics::new(registry).is_err());
    }
}
