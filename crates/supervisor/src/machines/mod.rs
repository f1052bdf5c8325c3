//! State machines as pure functions, one module per supervised entity.
//!
//! Each module has `decide(&object, &observation) -> Decision` (what to do
//! in the object's current state given what the ports observed) and a
//! failure rule (where a failed action leads). Neither does I/O, so every
//! transition is a plain `#[test]`; the supervisors (`crate::cluster`, …)
//! gather the observation, run the actions through the ports and write the
//! result.
//!
//! The actions of one decision run in order and stop at the first that is
//! still in progress (`Progress::Pending`) or fails; the next state is
//! written only when all of them are done. Since every action is
//! idempotent, the next activation simply decides and runs them again.
//!
//! This file is shared: the engine's machines (`cluster`,
//! `cluster_installation`) and the installation-side machines (`backup`,
//! `db_migration`, `db_restoration`, `deletion`, `group`, `installation`,
//! `placement`) and the observation types they have in common.

pub mod backup;
pub mod cluster;
pub mod cluster_installation;
pub mod db_migration;
pub mod db_restoration;
pub mod deletion;
pub mod group;
pub mod installation;
pub mod placement;

mod observed;
#[cfg(test)]
pub(crate) mod test_rng;

pub use observed::{JobStatus, Presence};

pub use cloud_ports::ErrorClass;

/// What a machine decided for one object (the engine's machines use this;
/// others have their own decision types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<S, A> {
    /// The state to write once every action is done (may be the current one).
    pub next_state: S,
    /// Effects, in order.
    pub actions: Vec<A>,
    /// A short name of the step, shown as `Step` ("create-cluster").
    pub step: &'static str,
    /// A problem the observation revealed (recorded as the last error,
    /// class permanent), e.g. the provider reports the cluster failed.
    pub problem: Option<String>,
}

impl<S, A> Decision<S, A> {
    pub fn new(next_state: S, actions: Vec<A>, step: &'static str) -> Self {
        Self {
            next_state,
            actions,
            step,
            problem: None,
        }
    }

    pub fn with_problem(mut self, problem: impl Into<String>) -> Self {
        self.problem = Some(problem.into());
        self
    }
}
