//! # cloud-supervisor
//!
//! Supervisors move every object through its state machine. The API only
//! records a requested state (`creation-requested`, …) and then calls
//! [`Wake::wake`] so the supervisor of that kind runs at once instead of at
//! its next periodic pass.
//!
//! - [`machines`]: the state machines as pure functions
//!   `decide(&object, &observation) -> Decision`, unit-tested without I/O.
//! - [`reconcile`]: the template every supervisor runs (list due work,
//!   try-lock, re-read, observe, decide, act through the ports, write the
//!   state with its event, record progress, unlock) with per-object backoff.
//! - [`driver`]: one background task per supervisor kind, activated on a
//!   wake-up, on a periodic resync and when a backoff expires.
//! - [`listen`]: wake-ups across servers through PostgreSQL `LISTEN/NOTIFY`.
//! - [`engine`]: starts the enabled supervisors for `cloud server`.

pub mod backoff;
pub mod clock;
pub mod cluster;
pub mod cluster_installation;
pub mod driver;
pub mod engine;
pub mod listen;
pub mod machines;
pub mod reconcile;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Kinds of supervisor an API write can wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupervisorKind {
    Cluster,
    Installation,
    ClusterInstallation,
    Group,
    InstallationDeletion,
    Backup,
    DbRestoration,
    DbMigration,
    Webhook,
}

impl SupervisorKind {
    pub const ALL: [SupervisorKind; 9] = [
        SupervisorKind::Cluster,
        SupervisorKind::Installation,
        SupervisorKind::ClusterInstallation,
        SupervisorKind::Group,
        SupervisorKind::InstallationDeletion,
        SupervisorKind::Backup,
        SupervisorKind::DbRestoration,
        SupervisorKind::DbMigration,
        SupervisorKind::Webhook,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SupervisorKind::Cluster => "cluster",
            SupervisorKind::Installation => "installation",
            SupervisorKind::ClusterInstallation => "cluster_installation",
            SupervisorKind::Group => "group",
            SupervisorKind::InstallationDeletion => "installation_deletion",
            SupervisorKind::Backup => "backup",
            SupervisorKind::DbRestoration => "db_restoration",
            SupervisorKind::DbMigration => "db_migration",
            SupervisorKind::Webhook => "webhook",
        }
    }
}

impl FromStr for SupervisorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown supervisor kind {s:?}"))
    }
}

const KINDS: usize = SupervisorKind::ALL.len();

#[derive(Debug, Default)]
struct Signals {
    /// Wakes this process's supervisor of each kind.
    local: [Notify; KINDS],
    /// Asks this process to tell the other servers (see [`Wake::outbound`]).
    outbound: [Notify; KINDS],
    broadcasting: AtomicBool,
}

/// A cloneable handle that wakes supervisors. A wake-up while the supervisor
/// is busy is remembered (one pending permit), so no request is missed and
/// bursts coalesce into one extra pass.
///
/// Once [`Wake::enable_broadcast`] is called (PostgreSQL with several
/// servers), every [`Wake::wake`] is also queued for the other servers;
/// [`listen`] sends them as `NOTIFY` and turns theirs into
/// [`Wake::wake_local`].
#[derive(Debug, Clone, Default)]
pub struct Wake {
    signals: Arc<Signals>,
}

impl Wake {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the supervisor of `kind` to run a pass now, here and (when
    /// broadcasting) on every other server.
    pub fn wake(&self, kind: SupervisorKind) {
        self.wake_local(kind);
        if self.signals.broadcasting.load(Ordering::Relaxed) {
            self.signals.outbound[kind.index()].notify_one();
        }
    }

    /// Wakes only this process's supervisor of `kind` (for wake-ups that came
    /// from another server, so they are not sent back out).
    pub fn wake_local(&self, kind: SupervisorKind) {
        self.signals.local[kind.index()].notify_one();
    }

    /// Waits until the supervisor of `kind` is woken.
    pub async fn woken(&self, kind: SupervisorKind) {
        self.signals.local[kind.index()].notified().await;
    }

    /// From now on, [`Wake::wake`] also queues a wake-up for other servers.
    pub fn enable_broadcast(&self) {
        self.signals.broadcasting.store(true, Ordering::Relaxed);
    }

    /// Waits until a wake-up of `kind` is to be sent to the other servers
    /// (bursts coalesce, as for local wake-ups).
    pub async fn outbound(&self, kind: SupervisorKind) {
        self.signals.outbound[kind.index()].notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wake_before_waiting_is_not_lost() {
        let wake = Wake::new();
        wake.wake(SupervisorKind::Installation);
        tokio::time::timeout(
            Duration::from_secs(1),
            wake.woken(SupervisorKind::Installation),
        )
        .await
        .expect("the earlier wake-up is remembered");
    }

    #[tokio::test]
    async fn kinds_are_independent() {
        let wake = Wake::new();
        wake.wake(SupervisorKind::Cluster);
        let other =
            tokio::time::timeout(Duration::from_millis(50), wake.woken(SupervisorKind::Group))
                .await;
        assert!(other.is_err(), "waking clusters must not wake groups");
    }

    #[tokio::test]
    async fn broadcast_queues_outbound_wakes_only_when_enabled() {
        let wake = Wake::new();
        let outbound = |w: Wake| async move { w.outbound(SupervisorKind::Cluster).await };
        wake.wake(SupervisorKind::Cluster);
        let sent = tokio::time::timeout(Duration::from_millis(50), outbound(wake.clone())).await;
        assert!(sent.is_err(), "nothing goes out before broadcasting is on");

        wake.enable_broadcast();
        wake.wake_local(SupervisorKind::Cluster);
        let sent = tokio::time::timeout(Duration::from_millis(50), outbound(wake.clone())).await;
        assert!(sent.is_err(), "a local wake-up is not sent out");

        wake.wake(SupervisorKind::Cluster);
        tokio::time::timeout(Duration::from_secs(1), outbound(wake.clone()))
            .await
            .expect("a wake-up is queued for the other servers");
        tokio::time::timeout(Duration::from_secs(1), wake.woken(SupervisorKind::Cluster))
            .await
            .expect("and wakes this server too");
    }

    #[test]
    fn kind_names_are_distinct_and_parse() {
        for kind in SupervisorKind::ALL {
            assert_eq!(kind.as_str().parse::<SupervisorKind>().unwrap(), kind);
        }
        assert!("nope".parse::<SupervisorKind>().is_err());
        let mut names: Vec<_> = SupervisorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SupervisorKind::ALL.len());
    }
}
