//! Wakes the deliverer after API writes: a successful request other than
//! GET/HEAD may have recorded state changes, whose deliveries are then due.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use cloud_supervisor::{SupervisorKind, Wake};
use http::Method;

/// `router` with a layer that wakes the deliverer after every successful
/// write.
pub fn wake_on_writes(router: Router, wake: Wake) -> Router {
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let wake = wake.clone();
        async move {
            let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            let response: Response = next.run(req).await;
            if write && response.status().is_success() {
                wake.wake(SupervisorKind::Webhook);
            }
            response
        }
    }))
}
