//! # cloud-supervisor
//!
//! Supervisors move objects through their state machines. The API only
//! records a requested state (`creation-requested`, …) and then calls
//! [`Wake::wake`] so the supervisor of that kind of object runs at once instead
//! of at its next periodic pass. The state machines themselves arrive with the
//! reconcile-engine issue; this crate already owns the signal so the API's
//! contract does not change when they do.

use std::sync::Arc;
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

/// A cloneable handle that wakes supervisors. A wake-up while the supervisor
/// is busy is remembered (one pending permit), so no request is missed and
/// bursts coalesce into one extra pass.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    signals: Arc<[Notify; SupervisorKind::ALL.len()]>,
}

impl Wake {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the supervisor of `kind` to run a pass now.
    pub fn wake(&self, kind: SupervisorKind) {
        self.signals[kind.index()].notify_one();
    }

    /// Waits until the supervisor of `kind` is woken.
    pub async fn woken(&self, kind: SupervisorKind) {
        self.signals[kind.index()].notified().await;
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

    #[test]
    fn kind_names_are_distinct() {
        let mut names: Vec<_> = SupervisorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SupervisorKind::ALL.len());
    }
}
