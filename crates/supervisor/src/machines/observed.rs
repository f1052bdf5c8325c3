//! Observation vocabulary shared by the installation-side machines.

/// Whether an external resource exists, as far as the ports could tell.
/// `Unknown` makes a machine (re)issue an idempotent action; `Present` or
/// `Absent` lets it skip work already observed done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Presence {
    #[default]
    Unknown,
    Present,
    Absent,
}

/// A Kubernetes job (backup, restore) as the operation machines see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JobStatus {
    /// No such job (never created, or already cleaned up).
    #[default]
    NotFound,
    Running,
    /// Times are milliseconds since the epoch.
    Succeeded {
        started_at: i64,
        completed_at: i64,
    },
    /// Failed more often than its backoff limit allows.
    Failed,
}
