//! Groups (`groups` table, `group_annotation` joins) and installation
//! membership.
//!
//! Guarantees:
//! - a group and its annotations are created in one transaction;
//! - [`SqlStore::group_update`] bumps `sequence` exactly when the
//!   installation-facing configuration changed or a bump is forced;
//! - a group with live members cannot be deleted ([`StoreError::Forbidden`]);
//! - joining or leaving a group checks the installation's API lock and row
//!   lock and writes in one transaction; leaving records the installation's
//!   move to `update-requested` as a state-change event (the original emits
//!   none).

use crate::SqlStore;
use crate::annotation::{
    AnnotatedKind, annotation_detach, annotations_attach, annotations_for, annotations_for_many,
    annotations_get_or_create,
};
use crate::db::{Conn, Query, Tx, from_json_opt, json_opt};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::lock::LockedTable;
use cloud_model::annotation::Annotation;
use cloud_model::env::EnvVarMap;
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::group::{Group, GroupDto, GroupFilter, GroupStatus, GroupsStatus, Scheduling};
use cloud_model::installation::{DELETION_STATES, InstallationState};
use cloud_model::{new_id, now_millis};
use std::collections::HashMap;

const GROUP_COLUMNS: &str = "g.id, g.name, g.description, g.version, g.image, g.mattermost_env, \
     g.scheduling, g.sequence, g.max_rolling, g.create_at, g.delete_at, g.api_security_lock, \
     g.lock_acquired_by, g.lock_acquired_at";

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    version: String,
    image: String,
    mattermost_env: Option<String>,
    scheduling: Option<String>,
    sequence: i64,
    max_rolling: i64,
    create_at: i64,
    delete_at: i64,
    api_security_lock: bool,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl GroupRow {
    fn into_model(self) -> Result<Group> {
        Ok(Group {
            id: self.id,
            sequence: self.sequence,
            name: self.name,
            description: self.description,
            version: self.version,
            image: self.image,
            max_rolling: self.max_rolling,
            mattermost_env: from_json_opt::<EnvVarMap>(&self.mattermost_env)?,
            scheduling: from_json_opt::<Scheduling>(&self.scheduling)?,
            create_at: self.create_at,
            delete_at: self.delete_at,
            api_security_lock: self.api_security_lock,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
        })
    }
}

/// One group's installation counts, by rollout bucket.
#[derive(sqlx::FromRow)]
struct StatusRow {
    id: String,
    total: i64,
    updated: i64,
    awaiting_update: i64,
    hibernating: i64,
    pending_deletion: i64,
}

impl StatusRow {
    fn into_status(self) -> GroupsStatus {
        GroupsStatus {
            id: self.id,
            status: GroupStatus::from_counts(
                self.total,
                self.updated,
                self.awaiting_update,
                self.hibernating,
                self.pending_deletion,
            ),
        }
    }
}

/// The columns of `installation` that membership changes read and write.
#[derive(sqlx::FromRow)]
struct MemberRow {
    name: String,
    group_id: Option<String>,
    state: String,
    version: String,
    image: String,
    mattermost_env: Option<String>,
    delete_at: i64,
    api_security_lock: bool,
    lock_acquired_at: i64,
}

async fn group_get_on(conn: Conn<'_>, id: &str) -> Result<Option<Group>> {
    let row: Option<GroupRow> = Query::new(format!(
        "SELECT {GROUP_COLUMNS} FROM groups g WHERE g.id = "
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(GroupRow::into_model).transpose()
}

/// Counts of live members per rollout bucket (original-core §3.4): awaiting
/// update = stable and behind the group's sequence; updated = stable and at
/// it; pending deletion = any deletion state.
fn status_query(live_groups_only: bool) -> Query {
    let mut q = Query::new(
        "SELECT g.id, COUNT(i.id) AS total, \
         COALESCE(SUM(CASE WHEN i.state = ",
    );
    q.bind(InstallationState::Stable.as_str())
        .sql(" AND i.group_sequence = g.sequence THEN 1 ELSE 0 END), 0) AS updated, ")
        .sql("COALESCE(SUM(CASE WHEN i.state = ")
        .bind(InstallationState::Stable.as_str())
        .sql(
            " AND (i.group_sequence IS NULL OR i.group_sequence <> g.sequence) THEN 1 ELSE 0 END), 0) AS awaiting_update, ",
        )
        .sql("COALESCE(SUM(CASE WHEN i.state = ")
        .bind(InstallationState::Hibernating.as_str())
        .sql(" THEN 1 ELSE 0 END), 0) AS hibernating, ")
        .sql("COALESCE(SUM(CASE WHEN i.state IN ")
        .bind_list(DELETION_STATES.iter().map(|s| s.as_str()))
        .sql(" THEN 1 ELSE 0 END), 0) AS pending_deletion ")
        .sql("FROM groups g LEFT JOIN installation i ON i.group_id = g.id AND i.delete_at = 0 WHERE 1 = 1");
    if live_groups_only {
        q.sql(" AND g.delete_at = 0");
    }
    q
}

impl SqlStore {
    /// Creates `group` (ID, creation time and sequence 0 are assigned) with
    /// its annotations, created on demand, in one transaction. A live group
    /// with the same name gives [`StoreError::Conflict`].
    pub async fn group_create(
        &self,
        group: &Group,
        annotation_names: &[String],
    ) -> Result<GroupDto> {
        let mut group = group.clone();
        group.id = new_id();
        group.create_at = now_millis();
        group.delete_at = 0;
        group.sequence = 0;
        group.lock_acquired_by = None;
        group.lock_acquired_at = 0;
        let mut tx = self.begin().await?;
        Query::new(
            "INSERT INTO groups (id, name, description, version, image, mattermost_env, scheduling, \
             sequence, max_rolling, create_at, delete_at, api_security_lock, lock_acquired_by, lock_acquired_at) VALUES (",
        )
        .bind(&group.id)
        .sql(", ")
        .bind(&group.name)
        .sql(", ")
        .bind(&group.description)
        .sql(", ")
        .bind(&group.version)
        .sql(", ")
        .bind(&group.image)
        .sql(", ")
        .bind(json_opt(&group.mattermost_env)?)
        .sql(", ")
        .bind(json_opt(&group.scheduling)?)
        .sql(", 0, ")
        .bind(group.max_rolling)
        .sql(", ")
        .bind(group.create_at)
        .sql(", 0, ")
        .bind(group.api_security_lock)
        .sql(", NULL, 0)")
        .execute(&mut tx)
        .await?;
        let annotations = annotations_get_or_create(&mut tx, annotation_names).await?;
        annotations_attach(&mut tx, AnnotatedKind::Group, &group.id, &annotations).await?;
        tx.commit().await?;
        let annotations = annotations_for(self.conn(), AnnotatedKind::Group, &group.id).await?;
        Ok(group.to_dto(annotations))
    }

    /// The group with this ID, deleted or not.
    pub async fn group_get(&self, id: &str) -> Result<Option<Group>> {
        group_get_on(self.conn(), id).await
    }

    /// The group with its annotations, deleted or not.
    pub async fn group_get_dto(&self, id: &str) -> Result<Option<GroupDto>> {
        let Some(group) = self.group_get(id).await? else {
            return Ok(None);
        };
        let annotations = annotations_for(self.conn(), AnnotatedKind::Group, id).await?;
        Ok(Some(group.to_dto(annotations)))
    }

    /// Groups oldest first, narrowed by `filter`: paging, deleted rows, and
    /// annotations (a group must carry every one of the names). With
    /// `with_installation_count`, each DTO carries its live member count.
    pub async fn group_list(&self, filter: &GroupFilter) -> Result<Vec<GroupDto>> {
        let mut q = Query::new(format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE 1 = 1"));
        if !filter.paging.include_deleted {
            q.sql(" AND g.delete_at = 0");
        }
        if !filter.annotation_names.is_empty() {
            let mut names = filter.annotation_names.clone();
            names.sort();
            names.dedup();
            q.sql(
                " AND g.id IN (SELECT ga.group_id FROM group_annotation ga \
                 JOIN annotation a ON a.id = ga.annotation_id WHERE a.name IN ",
            )
            .bind_list(names.iter())
            .sql(" GROUP BY ga.group_id HAVING COUNT(DISTINCT a.id) = ")
            .bind(i64::try_from(names.len()).unwrap_or(i64::MAX))
            .sql(")");
        }
        q.sql(" ORDER BY g.create_at ASC, g.id ASC")
            .paging(&filter.paging);
        let rows: Vec<GroupRow> = q.fetch_all(self.conn()).await?;
        let groups = rows
            .into_iter()
            .map(GroupRow::into_model)
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        let mut annotations = annotations_for_many(self.conn(), AnnotatedKind::Group, &ids).await?;
        let counts = if filter.with_installation_count {
            self.group_installation_counts(&ids).await?
        } else {
            HashMap::new()
        };
        Ok(groups
            .into_iter()
            .map(|g| {
                let count = filter
                    .with_installation_count
                    .then(|| counts.get(&g.id).copied().unwrap_or(0));
                let own = annotations.remove(&g.id).unwrap_or_default();
                let mut dto = g.to_dto(own);
                dto.installation_count = count;
                dto
            })
            .collect())
    }

    /// Live member installations per group ID (groups without members are absent).
    async fn group_installation_counts(&self, ids: &[String]) -> Result<HashMap<String, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64)> = Query::new(
            "SELECT group_id, COUNT(*) FROM installation WHERE delete_at = 0 AND group_id IN ",
        )
        .bind_list(ids.iter())
        .sql(" GROUP BY group_id")
        .fetch_all(self.conn())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Saves `group`'s editable fields (Name, Description, Version, Image,
    /// MattermostEnv, MaxRolling, Scheduling) and returns the stored group.
    /// The sequence becomes the stored one plus one when `force_sequence`
    /// is set or the installation-facing configuration changed; otherwise
    /// it stays. `group.sequence` itself is ignored.
    pub async fn group_update(&self, group: &Group, force_sequence: bool) -> Result<Group> {
        let mut tx = self.begin().await?;
        let original = group_get_on(Conn::Tx(&mut tx), &group.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("group {}", group.id)))?;
        let sequence = if force_sequence || group.config_differs_from(&original) {
            original.sequence + 1
        } else {
            original.sequence
        };
        Query::new("UPDATE groups SET sequence = ")
            .bind(sequence)
            .sql(", name = ")
            .bind(&group.name)
            .sql(", description = ")
            .bind(&group.description)
            .sql(", version = ")
            .bind(&group.version)
            .sql(", image = ")
            .bind(&group.image)
            .sql(", mattermost_env = ")
            .bind(json_opt(&group.mattermost_env)?)
            .sql(", max_rolling = ")
            .bind(group.max_rolling)
            .sql(", scheduling = ")
            .bind(json_opt(&group.scheduling)?)
            .sql(" WHERE id = ")
            .bind(&group.id)
            .execute(&mut tx)
            .await?;
        let stored = group_get_on(Conn::Tx(&mut tx), &group.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("group {}", group.id)))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Soft-deletes the group. Refused with [`StoreError::Forbidden`] while a
    /// live installation is a member; deleting a deleted group is a no-op.
    pub async fn group_delete(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if group_get_on(Conn::Tx(&mut tx), id).await?.is_none() {
            return Err(StoreError::NotFound(format!("group {id}")));
        }
        let members =
            Query::new("SELECT COUNT(*) FROM installation WHERE delete_at = 0 AND group_id = ")
                .bind(id)
                .fetch_i64(&mut tx)
                .await?;
        if members > 0 {
            return Err(StoreError::Forbidden(format!(
                "group {id} still has {members} installation(s); they must leave it before it can be deleted"
            )));
        }
        Query::new("UPDATE groups SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE delete_at = 0 AND id = ")
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    /// Rollout status of one group (deleted or not); `None` if it does not exist.
    pub async fn group_status(&self, id: &str) -> Result<Option<GroupStatus>> {
        let mut q = status_query(false);
        q.sql(" AND g.id = ").bind(id).sql(" GROUP BY g.id");
        let row: Option<StatusRow> = q.fetch_optional(self.conn()).await?;
        Ok(row.map(|r| r.into_status().status))
    }

    /// Rollout status of every live group, oldest group first.
    pub async fn groups_status(&self) -> Result<Vec<GroupsStatus>> {
        let mut q = status_query(true);
        q.sql(" GROUP BY g.id, g.create_at ORDER BY g.create_at ASC, g.id ASC");
        let rows: Vec<StatusRow> = q.fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(StatusRow::into_status).collect())
    }

    /// Attaches annotations (created on demand) to the group and returns all
    /// of its annotations.
    pub async fn group_annotations_add(
        &self,
        id: &str,
        names: &[String],
    ) -> Result<Vec<Annotation>> {
        let mut tx = self.begin().await?;
        if group_get_on(Conn::Tx(&mut tx), id).await?.is_none() {
            return Err(StoreError::NotFound(format!("group {id}")));
        }
        let annotations = annotations_get_or_create(&mut tx, names).await?;
        annotations_attach(&mut tx, AnnotatedKind::Group, id, &annotations).await?;
        let all = annotations_for(Conn::Tx(&mut tx), AnnotatedKind::Group, id).await?;
        tx.commit().await?;
        Ok(all)
    }

    /// Detaches the annotation `name`; returns whether it was attached.
    pub async fn group_annotation_delete(&self, id: &str, name: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = annotation_detach(&mut tx, AnnotatedKind::Group, id, name).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// The live group that carries every annotation in `names` and has the
    /// fewest live installations (the oldest on a tie); `None` when no group
    /// carries them all, including when a name is unknown.
    pub async fn group_select_for_annotations(&self, names: &[String]) -> Result<Option<Group>> {
        if names.is_empty() {
            return Ok(None);
        }
        let candidates = self
            .group_list(&GroupFilter {
                paging: cloud_model::filter::Paging::all_live(),
                annotation_names: names.to_vec(),
                with_installation_count: true,
            })
            .await?;
        // Candidates come oldest first, so `min_by_key` keeps the oldest on a tie.
        Ok(candidates
            .into_iter()
            .min_by_key(|dto| dto.installation_count.unwrap_or(0))
            .map(|dto| dto.group))
    }

    /// Sets the group's API security lock (idempotent).
    pub async fn group_set_api_lock(&self, id: &str, locked: bool) -> Result<()> {
        let n = Query::new("UPDATE groups SET api_security_lock = ")
            .bind(locked)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("group {id}")));
        }
        Ok(())
    }

    /// Takes the group's row lock for `locker`; false if someone holds it.
    pub async fn group_lock(&self, id: &str, locker: &str) -> Result<bool> {
        self.lock_rows(LockedTable::Group, &[id], locker).await
    }

    /// Releases the group's row lock held by `locker` (any holder with
    /// `force`); false if it was not held that way.
    pub async fn group_unlock(&self, id: &str, locker: &str, force: bool) -> Result<bool> {
        self.unlock_rows(LockedTable::Group, &[id], locker, force)
            .await
    }

    /// Makes the installation a member of the group. The configuration is
    /// not touched (the group supervisor rolls it out); the reconciled
    /// sequence is cleared when the group changes, so the new group's
    /// configuration is always rolled out even if the old group happened to
    /// be at the same sequence number. Errors: unknown or deleted
    /// installation or unknown group → NotFound; API-locked installation →
    /// Forbidden; installation or group row lock held → Locked; deleted
    /// group → InvalidTransition.
    pub async fn installation_join_group(
        &self,
        installation_id: &str,
        group_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let member = member_for_change(&mut tx, installation_id).await?;
        let group = group_get_on(Conn::Tx(&mut tx), group_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("group {group_id}")))?;
        if group.is_deleted() {
            return Err(StoreError::InvalidTransition(format!(
                "group {group_id} is deleted and cannot be joined"
            )));
        }
        if group.lock_acquired_at != 0 {
            return Err(StoreError::Locked(format!("group {group_id}")));
        }
        if member.group_id.as_deref() == Some(group_id) {
            return tx.commit().await;
        }
        Query::new("UPDATE installation SET group_id = ")
            .bind(group_id)
            .sql(", group_sequence = NULL WHERE lock_acquired_at = 0 AND id = ")
            .bind(installation_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    /// Takes the installation out of its group, asking for an update
    /// (`update-requested`, which must be a valid transition from its state).
    /// With `retain_config` the installation first takes the group-merged
    /// Version, Image and MattermostEnv, so leaving changes nothing it runs.
    /// Returns whether the installation was in a group. Errors as for
    /// [`SqlStore::installation_join_group`]; a state that cannot go to
    /// `update-requested` → InvalidTransition.
    pub async fn installation_leave_group(
        &self,
        installation_id: &str,
        retain_config: bool,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let member = member_for_change(&mut tx, installation_id).await?;
        let old_state = member
            .state
            .parse::<InstallationState>()
            .map_err(|e| StoreError::Invalid(format!("installation {installation_id}: {e}")))?;
        let new_state = InstallationState::UpdateRequested;
        if !new_state.can_be_requested_from(old_state) {
            return Err(StoreError::InvalidTransition(format!(
                "installation {installation_id} cannot leave its group while {old_state}: \
                 leaving requests an update, which needs stable, update-requested or update-failed"
            )));
        }
        let Some(group_id) = member.group_id.clone().filter(|g| !g.is_empty()) else {
            return Ok(false);
        };
        let mut version = member.version.clone();
        let mut image = member.image.clone();
        let mut env = from_json_opt::<EnvVarMap>(&member.mattermost_env)?;
        if retain_config && let Some(group) = group_get_on(Conn::Tx(&mut tx), &group_id).await? {
            // The same overlay as `Installation::merge_with_group`.
            if !group.version.is_empty() {
                version = group.version.clone();
            }
            if !group.image.is_empty() {
                image = group.image.clone();
            }
            if let Some(group_env) = &group.mattermost_env {
                let own = env.get_or_insert_with(EnvVarMap::new);
                own.extend(group_env.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let changed =
            Query::new("UPDATE installation SET group_id = NULL, group_sequence = NULL, state = ")
                .bind(new_state.as_str())
                .sql(", version = ")
                .bind(&version)
                .sql(", image = ")
                .bind(&image)
                .sql(", mattermost_env = ")
                .bind(json_opt(&env)?)
                .sql(" WHERE lock_acquired_at = 0 AND id = ")
                .bind(installation_id)
                .execute(&mut tx)
                .await?;
        if changed != 1 {
            return Err(StoreError::Locked(format!(
                "installation {installation_id}"
            )));
        }
        if old_state != new_state {
            let change = NewStateChange::new(
                ResourceType::Installation,
                installation_id,
                old_state.as_str(),
                new_state.as_str(),
            )
            .with("Name", member.name.clone());
            record_state_change(&mut tx, self.environment(), &change).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Reads an installation about to change membership and checks that it may:
/// it exists and is live, is not API-locked, and its row lock is free.
async fn member_for_change(tx: &mut Tx, installation_id: &str) -> Result<MemberRow> {
    let member: MemberRow = Query::new(
        "SELECT name, group_id, state, version, image, mattermost_env, delete_at, \
         api_security_lock, lock_acquired_at FROM installation WHERE id = ",
    )
    .bind(installation_id)
    .fetch_optional(&mut *tx)
    .await?
    .filter(|m: &MemberRow| m.delete_at == 0)
    .ok_or_else(|| StoreError::NotFound(format!("installation {installation_id}")))?;
    if member.api_security_lock {
        return Err(StoreError::Forbidden(format!(
            "installation {installation_id} is API-locked; unlock it with `cloud security installation api-unlock`"
        )));
    }
    if member.lock_acquired_at != 0 {
        return Err(StoreError::Locked(format!(
            "installation {installation_id}"
        )));
    }
    Ok(member)
}

#[cfg(test)]
mod tests;
