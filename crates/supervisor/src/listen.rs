//! # Wake-ups across servers (PostgreSQL `LISTEN/NOTIFY`)
//!
//! Several servers share one PostgreSQL database. An API write on one of
//! them must wake the supervisors on all of them:
//!
//! - [`broadcast`] sends this server's wake-ups out: it waits for
//!   [`Wake::outbound`] of each kind and runs `NOTIFY cloud_wake, '<kind>'`
//!   (bursts coalesce into one notification);
//! - [`listen`] receives everyone's (this server's included, harmlessly) and
//!   turns them into [`Wake::wake_local`], which is never sent back out.
//!
//! Notifications are hints: a lost one (the connection dropped) costs at
//! most one resync period, and after a reconnect every kind is woken since
//! some may have been missed. On SQLite both return at once.

use crate::{SupervisorKind, Wake};
use cloud_store::SqlStore;
use cloud_store::notify::WakeMessage;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Pause before retrying after the database refused.
const RETRY: Duration = Duration::from_secs(1);

/// Sends this server's wake-ups of `kind` to the other servers until
/// cancelled.
pub async fn broadcast(
    store: SqlStore,
    wake: Wake,
    kind: SupervisorKind,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            () = wake.outbound(kind) => {}
        }
        if let Err(e) = store.notify_wake(kind.as_str()).await {
            tracing::warn!(kind = kind.as_str(), error = %e, "cannot notify the other servers");
        }
    }
}

/// Turns other servers' notifications into local wake-ups until cancelled.
pub async fn listen(store: SqlStore, wake: Wake, cancel: CancellationToken) {
    let mut listener = loop {
        match store.wake_listener().await {
            Ok(Some(l)) => break l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for wake-ups; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    };
    loop {
        let message = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            m = listener.recv() => m,
        };
        match message {
            Ok(WakeMessage::Wake(kind)) => match kind.parse::<SupervisorKind>() {
                Ok(kind) => wake.wake_local(kind),
                Err(e) => tracing::debug!(error = %e, "ignoring a wake-up"),
            },
            Ok(WakeMessage::Reconnected) => {
                for kind in SupervisorKind::ALL {
                    wake.wake_local(kind);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "wake-up listener lost the database; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
}
