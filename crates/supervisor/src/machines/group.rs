//! Group rollout (original-core §3.4): which installations of a group move
//! to `update-requested` so they pick up a new group configuration.
//!
//! - An installation is **behind** when its `GroupSequence` is unset or
//!   differs from the group's `Sequence`.
//! - Only `stable` installations that are behind are rolled. Hibernating and
//!   pending-deletion ones pick the configuration up when woken; the others
//!   (creating, updating, failed, …) count as **rolling**.
//! - `rolling = live members − members in {stable, hibernating,
//!   deletion-pending}`; at most `MaxRolling − rolling` installations move in
//!   one pass. `MaxRolling <= 0` pauses the rollout.
//! - The candidates are shuffled (the caller passes the seed) so that one
//!   installation that cannot be moved does not block the others forever.
//!
//! The installation machine syncs `GroupSequence` when an update starts and
//! sends an installation back to `update-requested` if the group moved on
//! meanwhile, so the rollout converges.

use cloud_model::group::Group;
use cloud_model::installation::InstallationState as S;

/// A live installation of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub id: String,
    pub state: S,
    pub group_sequence: Option<i64>,
}

impl GroupMember {
    /// Whether the member has not yet taken `sequence`.
    pub fn is_behind(&self, sequence: i64) -> bool {
        self.group_sequence != Some(sequence)
    }

    /// Not counted as rolling.
    fn is_settled(&self) -> bool {
        matches!(self.state, S::Stable | S::Hibernating | S::DeletionPending)
    }
}

/// Why a pass moved what it moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutStatus {
    /// `MaxRolling` is 0: nothing moves.
    Paused,
    /// The group is deleted.
    GroupDeleted,
    /// No stable installation is behind.
    UpToDate,
    /// As many installations are already rolling as `MaxRolling` allows.
    AtCapacity,
    /// Some installations move now.
    Rolling,
}

/// The outcome of one rollout pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// Installations to move to `update-requested`, in order.
    pub to_update: Vec<String>,
    /// Members already rolling before this pass.
    pub rolling: usize,
    /// Stable members behind the group.
    pub awaiting: usize,
    pub status: RolloutStatus,
}

/// The original's work query: the group has a stable member that is behind.
pub fn has_pending_work(group: &Group, members: &[GroupMember]) -> bool {
    !group.is_deleted()
        && members
            .iter()
            .any(|m| m.state == S::Stable && m.is_behind(group.sequence))
}

/// One pass of the group supervisor over the group's live members.
pub fn rollout(group: &Group, members: &[GroupMember], seed: u64) -> Rollout {
    let live: Vec<&GroupMember> = members.iter().filter(|m| m.state != S::Deleted).collect();
    let rolling = live.iter().filter(|m| !m.is_settled()).count();
    let mut candidates: Vec<&str> = (live.iter())
        .filter(|m| m.state == S::Stable && m.is_behind(group.sequence))
        .map(|m| m.id.as_str())
        .collect();
    let awaiting = candidates.len();
    let outcome = |status, to_update| Rollout {
        to_update,
        rolling,
        awaiting,
        status,
    };
    if group.is_deleted() {
        return outcome(RolloutStatus::GroupDeleted, Vec::new());
    }
    if group.max_rolling <= 0 {
        return outcome(RolloutStatus::Paused, Vec::new());
    }
    if candidates.is_empty() {
        return outcome(RolloutStatus::UpToDate, Vec::new());
    }
    let max = usize::try_from(group.max_rolling).unwrap_or(usize::MAX);
    if rolling >= max {
        return outcome(RolloutStatus::AtCapacity, Vec::new());
    }
    shuffle(&mut candidates, seed);
    candidates.truncate(max - rolling);
    let to_update = candidates.into_iter().map(str::to_string).collect();
    outcome(RolloutStatus::Rolling, to_update)
}

/// Fisher–Yates with splitmix64, so a pass is a pure function of its seed.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::test_rng::Rng;
    use std::collections::BTreeSet;

    fn group(sequence: i64, max_rolling: i64) -> Group {
        Group {
            id: "g".into(),
            sequence,
            max_rolling,
            ..Default::default()
        }
    }

    fn member(id: &str, state: S, seq: Option<i64>) -> GroupMember {
        GroupMember {
            id: id.into(),
            state,
            group_sequence: seq,
        }
    }

    fn stable_behind(n: usize) -> Vec<GroupMember> {
        (0..n)
            .map(|i| member(&format!("i{i}"), S::Stable, Some(1)))
            .collect()
    }

    #[test]
    fn moves_up_to_max_rolling_stable_members_that_are_behind() {
        let r = rollout(&group(2, 2), &stable_behind(5), 7);
        assert_eq!(r.status, RolloutStatus::Rolling);
        assert_eq!(r.to_update.len(), 2);
        assert_eq!((r.rolling, r.awaiting), (0, 5));
    }

    #[test]
    fn zero_max_rolling_pauses() {
        let r = rollout(&group(2, 0), &stable_behind(3), 1);
        assert_eq!(r.status, RolloutStatus::Paused);
        assert!(r.to_update.is_empty());
        assert_eq!(r.awaiting, 3);
    }

    #[test]
    fn deleted_groups_do_nothing() {
        let mut g = group(2, 5);
        g.delete_at = 1;
        assert_eq!(
            rollout(&g, &stable_behind(3), 1).status,
            RolloutStatus::GroupDeleted
        );
        assert!(!has_pending_work(&g, &stable_behind(3)));
    }

    #[test]
    fn rolling_members_use_up_the_budget() {
        // (state, counts as rolling)
        let table = [
            (S::Stable, false),
            (S::Hibernating, false),
            (S::DeletionPending, false),
            (S::UpdateRequested, true),
            (S::UpdateInProgress, true),
            (S::CreationInProgress, true),
            (S::UpdateFailed, true),
            (S::WakeUpRequested, true),
            (S::DeletionPendingInProgress, true),
        ];
        for (state, rolling) in table {
            let mut members = stable_behind(3);
            members.push(member("x", state, Some(2)));
            let r = rollout(&group(2, 2), &members, 3);
            let expected = if rolling { 1 } else { 2 };
            assert_eq!(r.to_update.len(), expected, "{state}");
            assert_eq!(r.rolling, usize::from(rolling), "{state}");
        }
    }

    #[test]
    fn at_capacity_moves_nothing() {
        let mut members = stable_behind(3);
        members.push(member("a", S::UpdateInProgress, Some(2)));
        members.push(member("b", S::UpdateRequested, Some(2)));
        let r = rollout(&group(2, 2), &members, 3);
        assert_eq!(r.status, RolloutStatus::AtCapacity);
        assert!(r.to_update.is_empty());
    }

    #[test]
    fn only_stable_members_that_are_behind_are_candidates() {
        let members = vec![
            member("current", S::Stable, Some(4)),
            member("never", S::Stable, None),
            member("old", S::Stable, Some(3)),
            member("sleeping", S::Hibernating, Some(1)),
            member("pending", S::DeletionPending, None),
            member("gone", S::Deleted, None),
        ];
        let g = group(4, 10);
        let r = rollout(&g, &members, 9);
        let moved: BTreeSet<_> = r.to_update.iter().map(String::as_str).collect();
        assert_eq!(moved, BTreeSet::from(["never", "old"]));
        assert!(has_pending_work(&g, &members));
        assert_eq!(
            rollout(&g, &members[..1], 9).status,
            RolloutStatus::UpToDate
        );
        assert!(!has_pending_work(&g, &members[..1]));
    }

    #[test]
    fn shuffling_depends_on_the_seed_and_loses_nothing() {
        let members = stable_behind(20);
        let firsts: BTreeSet<String> = (0..50)
            .map(|seed| rollout(&group(2, 1), &members, seed).to_update[0].clone())
            .collect();
        assert!(firsts.len() > 5, "the first pick should vary: {firsts:?}");
        let all = rollout(&group(2, 100), &members, 42).to_update;
        let set: BTreeSet<_> = all.iter().collect();
        assert_eq!(set.len(), 20);
        assert_eq!(rollout(&group(2, 100), &members, 42).to_update, all);
    }

    /// A simulated rollout: the group never has more than MaxRolling
    /// installations updating because of it, and every member converges.
    #[test]
    fn random_rollouts_respect_max_rolling_and_converge() {
        for seed in 0..300 {
            let mut rng = Rng::new(seed);
            let max_rolling = 1 + rng.below(4) as i64;
            let g = group(2, max_rolling);
            let mut members = stable_behind(1 + rng.below(12));
            for (step, _) in (0..400).enumerate() {
                let r = rollout(&g, &members, rng.next_u64());
                let updating = members.iter().filter(|m| !m.is_settled()).count();
                assert!(
                    updating + r.to_update.len() <= max_rolling as usize,
                    "seed {seed} step {step}: {r:?}"
                );
                for id in &r.to_update {
                    let m = members.iter_mut().find(|m| &m.id == id).unwrap();
                    assert_eq!(m.state, S::Stable, "seed {seed}");
                    m.state = S::UpdateRequested;
                }
                // The installation machine: updates finish at random.
                for m in members.iter_mut() {
                    if m.state == S::UpdateRequested && rng.chance(50) {
                        m.group_sequence = Some(g.sequence);
                        m.state = S::UpdateInProgress;
                    } else if m.state == S::UpdateInProgress && rng.chance(40) {
                        m.state = S::Stable;
                    }
                }
            }
            assert!(
                members
                    .iter()
                    .all(|m| m.state == S::Stable && !m.is_behind(g.sequence)),
                "seed {seed}: {members:?}"
            );
        }
    }
}
