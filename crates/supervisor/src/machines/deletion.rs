//! The installation deletion supervisor (original-core §3.2, "Installation
//! deletion supervisor"): scheduled deletions and the end of the
//! `deletion-pending` grace period.
//!
//! - `stable` / `hibernating` with `ScheduledDeletionTime > 0`, not
//!   `DeletionLocked`, once `now >= ScheduledDeletionTime`:
//!   **deletion-pending-requested**. Unlike the original, the grace period
//!   (`DeletionPendingExpiry = now + pending time`) is set on this path too,
//!   as the API does, so no event lookup is needed later.
//! - `deletion-pending`: once `now >= DeletionPendingExpiry` (or, for rows
//!   without one, the pending time after the latest `→ deletion-pending`
//!   event): **deletion-requested**. `DeletionLocked` is honoured here too
//!   (the original forgets to re-check it, quirk 7).
//! - A soft limit: no more moves once `max_updating` installations are
//!   updating (everything but stable, hibernating and deletion-pending);
//!   every move adds one.

use cloud_model::installation::{Installation, InstallationState as S};

/// `--installation-deletion-pending-time` default (3 min), in ms.
pub const DEFAULT_PENDING_TIME_MS: i64 = 3 * 60 * 1000;
/// `--installation-deletion-max-updating` default.
pub const DEFAULT_MAX_UPDATING: i64 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionSettings {
    pub pending_time_ms: i64,
    pub max_updating: i64,
}

impl Default for DeletionSettings {
    fn default() -> Self {
        Self {
            pending_time_ms: DEFAULT_PENDING_TIME_MS,
            max_updating: DEFAULT_MAX_UPDATING,
        }
    }
}

/// What the deletion supervisor needs of one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionCandidate {
    pub id: String,
    pub state: S,
    pub deletion_locked: bool,
    pub scheduled_deletion_time: i64,
    pub deletion_pending_expiry: i64,
    /// When the installation last entered `deletion-pending` (the latest
    /// such event), used only when `deletion_pending_expiry` is 0.
    pub pending_since: Option<i64>,
}

impl DeletionCandidate {
    pub fn from_installation(i: &Installation, pending_since: Option<i64>) -> Self {
        Self {
            id: i.id.clone(),
            state: i.state,
            deletion_locked: i.deletion_locked,
            scheduled_deletion_time: i.scheduled_deletion_time,
            deletion_pending_expiry: i.deletion_pending_expiry,
            pending_since,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionDecision {
    /// Leave it; look again at `until` when known.
    Wait { until: Option<i64>, reason: String },
    /// Move it to `to`, and set `DeletionPendingExpiry` when given.
    Move {
        to: S,
        deletion_pending_expiry: Option<i64>,
    },
}

fn wait(until: Option<i64>, reason: impl Into<String>) -> DeletionDecision {
    DeletionDecision::Wait {
        until,
        reason: reason.into(),
    }
}

/// The decision for one installation at `now` (ms).
pub fn decide(c: &DeletionCandidate, now: i64, settings: &DeletionSettings) -> DeletionDecision {
    match c.state {
        S::Stable | S::Hibernating => {
            if c.deletion_locked {
                return wait(None, "deletion is locked");
            }
            if c.scheduled_deletion_time <= 0 {
                return wait(None, "no deletion is scheduled");
            }
            if now < c.scheduled_deletion_time {
                return wait(
                    Some(c.scheduled_deletion_time),
                    "scheduled deletion not reached",
                );
            }
            DeletionDecision::Move {
                to: S::DeletionPendingRequested,
                deletion_pending_expiry: Some(now.saturating_add(settings.pending_time_ms)),
            }
        }
        S::DeletionPending => {
            if c.deletion_locked {
                return wait(None, "deletion is locked");
            }
            let expiry = if c.deletion_pending_expiry != 0 {
                c.deletion_pending_expiry
            } else if let Some(since) = c.pending_since {
                since.saturating_add(settings.pending_time_ms)
            } else {
                return wait(
                    None,
                    "no record of when deletion became pending; set DeletionPendingExpiry",
                );
            };
            if now < expiry {
                return wait(Some(expiry), "deletion pending period not over");
            }
            DeletionDecision::Move {
                to: S::DeletionRequested,
                deletion_pending_expiry: None,
            }
        }
        other => wait(None, format!("{other} is not awaiting deletion")),
    }
}

/// One move of a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionMove {
    pub id: String,
    pub from: S,
    pub to: S,
    pub deletion_pending_expiry: Option<i64>,
}

/// The moves of one pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletionPlan {
    pub moves: Vec<DeletionMove>,
    /// The pass stopped at the `max_updating` limit.
    pub limited: bool,
}

/// One pass over the candidates (scheduled ones are handled before pending
/// ones, each group in the given order), `updating` being the number of
/// installations updating right now.
pub fn plan(
    candidates: &[DeletionCandidate],
    updating: i64,
    now: i64,
    settings: &DeletionSettings,
) -> DeletionPlan {
    let scheduled = candidates
        .iter()
        .filter(|c| matches!(c.state, S::Stable | S::Hibernating));
    let pending = candidates.iter().filter(|c| c.state == S::DeletionPending);
    let mut counter = updating;
    let mut out = DeletionPlan::default();
    for c in scheduled.chain(pending) {
        if counter >= settings.max_updating {
            out.limited = true;
            break;
        }
        if let DeletionDecision::Move {
            to,
            deletion_pending_expiry,
        } = decide(c, now, settings)
        {
            out.moves.push(DeletionMove {
                id: c.id.clone(),
                from: c.state,
                to,
                deletion_pending_expiry,
            });
            counter += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, state: S) -> DeletionCandidate {
        DeletionCandidate {
            id: id.into(),
            state,
            deletion_locked: false,
            scheduled_deletion_time: 0,
            deletion_pending_expiry: 0,
            pending_since: None,
        }
    }

    fn moved_to(d: &DeletionDecision) -> Option<S> {
        match d {
            DeletionDecision::Move { to, .. } => Some(*to),
            DeletionDecision::Wait { .. } => None,
        }
    }

    const NOW: i64 = 1_000_000;

    #[test]
    fn scheduled_deletion() {
        let s = DeletionSettings::default();
        // (state, locked, scheduled time, expected)
        let table = [
            (S::Stable, false, NOW, Some(S::DeletionPendingRequested)),
            (
                S::Hibernating,
                false,
                NOW - 1,
                Some(S::DeletionPendingRequested),
            ),
            (S::Stable, false, NOW + 1, None),
            (S::Stable, false, 0, None),
            (S::Stable, true, NOW - 1, None),
            (S::UpdateInProgress, false, NOW - 1, None),
        ];
        for (state, locked, time, expected) in table {
            let mut c = candidate("i", state);
            c.deletion_locked = locked;
            c.scheduled_deletion_time = time;
            assert_eq!(
                moved_to(&decide(&c, NOW, &s)),
                expected,
                "{state} {locked} {time}"
            );
        }
        let mut c = candidate("i", S::Stable);
        c.scheduled_deletion_time = NOW;
        assert_eq!(
            decide(&c, NOW, &s),
            DeletionDecision::Move {
                to: S::DeletionPendingRequested,
                deletion_pending_expiry: Some(NOW + DEFAULT_PENDING_TIME_MS),
            }
        );
        c.scheduled_deletion_time = NOW + 5;
        assert_eq!(
            decide(&c, NOW, &s),
            DeletionDecision::Wait {
                until: Some(NOW + 5),
                reason: "scheduled deletion not reached".into()
            }
        );
    }

    #[test]
    fn pending_deletion_expires() {
        let s = DeletionSettings::default();
        // (expiry, pending since, locked, expected)
        let table = [
            (NOW, None, false, Some(S::DeletionRequested)),
            (NOW + 1, None, false, None),
            (NOW - 1, None, true, None),
            (
                0,
                Some(NOW - DEFAULT_PENDING_TIME_MS),
                false,
                Some(S::DeletionRequested),
            ),
            (0, Some(NOW - DEFAULT_PENDING_TIME_MS + 1), false, None),
            (0, None, false, None),
            // The expiry wins over the event time.
            (NOW + 10, Some(0), false, None),
        ];
        for (expiry, since, locked, expected) in table {
            let mut c = candidate("i", S::DeletionPending);
            c.deletion_pending_expiry = expiry;
            c.pending_since = since;
            c.deletion_locked = locked;
            assert_eq!(
                moved_to(&decide(&c, NOW, &s)),
                expected,
                "{expiry} {since:?} {locked}"
            );
        }
    }

    #[test]
    fn deletion_lock_is_rechecked_for_pending_installations() {
        let mut c = candidate("i", S::DeletionPending);
        c.deletion_pending_expiry = 1;
        c.deletion_locked = true;
        let d = decide(&c, NOW, &DeletionSettings::default());
        assert_eq!(d, wait(None, "deletion is locked"));
    }

    #[test]
    fn plan_handles_scheduled_first_and_stops_at_max_updating() {
        let s = DeletionSettings {
            pending_time_ms: 10,
            max_updating: 3,
        };
        let mut pending = candidate("p", S::DeletionPending);
        pending.deletion_pending_expiry = 1;
        let mut sched = candidate("s", S::Stable);
        sched.scheduled_deletion_time = 1;
        let mut later = candidate("later", S::Hibernating);
        later.scheduled_deletion_time = NOW + 1;
        let mut sched2 = candidate("s2", S::Hibernating);
        sched2.scheduled_deletion_time = 1;
        let all = [pending, sched, later, sched2];

        let p = plan(&all, 0, NOW, &s);
        let ids: Vec<_> = p.moves.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["s", "s2", "p"]);
        assert!(!p.limited);
        assert_eq!(p.moves[0].deletion_pending_expiry, Some(NOW + 10));
        assert_eq!(p.moves[2].to, S::DeletionRequested);

        let p = plan(&all, 1, NOW, &s);
        let ids: Vec<_> = p.moves.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["s", "s2"]);
        assert!(p.limited);

        let p = plan(&all, 3, NOW, &s);
        assert!(p.moves.is_empty() && p.limited);
    }
}
