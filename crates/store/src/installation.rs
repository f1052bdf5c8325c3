//! The `installation` table: create (with domain names, annotations and the
//! creation event in one transaction), reads with the original's filters,
//! partial updates, state changes with their event, row locks, the API and
//! deletion locks, and installation annotations.
//!
//! Rules kept from the original: an installation merged with its group's
//! configuration is refused by [`SqlStore::installation_update`] (only its
//! state may be written); an installation annotation may only be added when
//! every cluster hosting the installation carries it. Unlike the original, a
//! state change and its event are always written in the same transaction.

use crate::SqlStore;
use crate::annotation::{
    AnnotatedKind, annotation_detach, annotations_attach, annotations_for, annotations_for_many,
    annotations_get_or_create,
};
use crate::db::{Conn, Query, Tx, from_json_opt, json_opt};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::installation_dns::{dns_records_for, dns_records_for_many};
use crate::lock::LockedTable;
use crate::progress::{PROGRESS_COLUMNS, ProgressRow};
use cloud_model::annotation::Annotation;
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::installation::{
    Installation, InstallationDTO, InstallationFilter, InstallationState, InstallationsStatus,
};
use cloud_model::{NON_APPLICABLE_STATE, new_id, now_millis};
use std::collections::HashMap;

/// Every column, qualified (lists join other tables in subqueries only).
const COLUMNS: &str = "installation.id, installation.name, installation.owner_id, \
    installation.group_id, installation.group_sequence, installation.state, installation.size, \
    installation.version, installation.image, installation.license, installation.database_type, \
    installation.filestore_type, installation.affinity, installation.mattermost_env, \
    installation.priority_env, installation.single_tenant_database_config, \
    installation.external_database_config, installation.cr_version, \
    installation.allowed_ip_ranges, installation.volumes, installation.pod_probe_overrides, \
    installation.command, installation.create_at, installation.delete_at, \
    installation.deletion_pending_expiry, installation.scheduled_deletion_time, \
    installation.api_security_lock, installation.deletion_locked, \
    installation.lock_acquired_by, installation.lock_acquired_at";

#[derive(sqlx::FromRow)]
struct InstallationRow {
    id: String,
    name: String,
    owner_id: String,
    group_id: Option<String>,
    group_sequence: Option<i64>,
    state: String,
    size: String,
    version: String,
    image: String,
    license: String,
    database_type: String,
    filestore_type: String,
    affinity: String,
    mattermost_env: Option<String>,
    priority_env: Option<String>,
    single_tenant_database_config: Option<String>,
    external_database_config: Option<String>,
    cr_version: String,
    allowed_ip_ranges: Option<String>,
    volumes: Option<String>,
    pod_probe_overrides: Option<String>,
    command: Option<String>,
    create_at: i64,
    delete_at: i64,
    deletion_pending_expiry: i64,
    scheduled_deletion_time: i64,
    api_security_lock: bool,
    deletion_locked: bool,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
    #[sqlx(flatten)]
    progress: ProgressRow,
}

fn parse_column<T: std::str::FromStr>(id: &str, column: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        StoreError::Invalid(format!(
            "installation {id} has an unknown {column} {value:?} in the database"
        ))
    })
}

impl InstallationRow {
    fn into_model(self) -> Result<Installation> {
        Ok(Installation {
            state: parse_column(&self.id, "state", &self.state)?,
            database: parse_column(&self.id, "database type", &self.database_type)?,
            filestore: parse_column(&self.id, "filestore type", &self.filestore_type)?,
            affinity: parse_column(&self.id, "affinity", &self.affinity)?,
            mattermost_env: from_json_opt(&self.mattermost_env)?,
            priority_env: from_json_opt(&self.priority_env)?,
            single_tenant_database_config: from_json_opt(&self.single_tenant_database_config)?,
            external_database_config: from_json_opt(&self.external_database_config)?,
            allowed_ip_ranges: from_json_opt(&self.allowed_ip_ranges)?,
            volumes: from_json_opt(&self.volumes)?,
            pod_probe_overrides: from_json_opt(&self.pod_probe_overrides)?,
            command: from_json_opt(&self.command)?,
            id: self.id,
            name: self.name,
            owner_id: self.owner_id,
            group_id: self.group_id,
            group_sequence: self.group_sequence,
            size: self.size,
            version: self.version,
            image: self.image,
            license: self.license,
            cr_version: self.cr_version,
            create_at: self.create_at,
            delete_at: self.delete_at,
            deletion_pending_expiry: self.deletion_pending_expiry,
            scheduled_deletion_time: self.scheduled_deletion_time,
            api_security_lock: self.api_security_lock,
            deletion_locked: self.deletion_locked,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
            group_overrides: None,
            scheduling: None,
            merged_group_sequence: None,
            progress: self.progress.into_model(),
        })
    }
}

/// The event of an installation state change; installation events carry the
/// installation's `Name`, as in the original.
pub fn installation_state_change(installation: &Installation, old_state: &str) -> NewStateChange {
    NewStateChange::new(
        ResourceType::Installation,
        &installation.id,
        old_state,
        installation.state.as_str(),
    )
    .with("Name", &installation.name)
}

/// Turns a unique violation into a readable conflict.
fn name_conflict(err: StoreError, what: &str) -> StoreError {
    match err {
        StoreError::Conflict(_) => StoreError::Conflict(what.to_string()),
        other => other,
    }
}

pub(crate) async fn get_on(conn: Conn<'_>, id: &str) -> Result<Option<Installation>> {
    let row: Option<InstallationRow> = Query::new(format!(
        "SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM installation WHERE id = "
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(InstallationRow::into_model).transpose()
}

/// Writes every mutable field of `i` (the original's `UpdateInstallation`):
/// not the API or deletion locks, the database configs or the row lock.
pub(crate) async fn update_on(tx: &mut Tx, i: &Installation) -> Result<()> {
    if i.config_merged_with_group() {
        return Err(StoreError::Invalid(format!(
            "installation {} carries its group's configuration and cannot be saved whole",
            i.id
        )));
    }
    let n = Query::new("UPDATE installation SET name = ")
        .bind(&i.name)
        .sql(", owner_id = ")
        .bind(&i.owner_id)
        .sql(", group_id = ")
        .bind(i.group_id.clone())
        .sql(", group_sequence = ")
        .bind(i.group_sequence)
        .sql(", version = ")
        .bind(&i.version)
        .sql(", image = ")
        .bind(&i.image)
        .sql(", database_type = ")
        .bind(i.database.as_str())
        .sql(", filestore_type = ")
        .bind(i.filestore.as_str())
        .sql(", size = ")
        .bind(&i.size)
        .sql(", affinity = ")
        .bind(i.affinity.as_str())
        .sql(", license = ")
        .bind(&i.license)
        .sql(", mattermost_env = ")
        .bind(json_opt(&i.mattermost_env)?)
        .sql(", priority_env = ")
        .bind(json_opt(&i.priority_env)?)
        .sql(", state = ")
        .bind(i.state.as_str())
        .sql(", cr_version = ")
        .bind(&i.cr_version)
        .sql(", deletion_pending_expiry = ")
        .bind(i.deletion_pending_expiry)
        .sql(", scheduled_deletion_time = ")
        .bind(i.scheduled_deletion_time)
        .sql(", allowed_ip_ranges = ")
        .bind(json_opt(&i.allowed_ip_ranges)?)
        .sql(", volumes = ")
        .bind(json_opt(&i.volumes)?)
        .sql(", pod_probe_overrides = ")
        .bind(json_opt(&i.pod_probe_overrides)?)
        .sql(", command = ")
        .bind(json_opt(&i.command)?)
        .sql(" WHERE id = ")
        .bind(&i.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| name_conflict(e, "installation name is already in use"))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("installation {}", i.id)));
    }
    Ok(())
}

/// Writes only the state column.
pub(crate) async fn update_state_on(tx: &mut Tx, id: &str, state: InstallationState) -> Result<()> {
    let n = Query::new("UPDATE installation SET state = ")
        .bind(state.as_str())
        .sql(" WHERE id = ")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("installation {id}")));
    }
    Ok(())
}

/// Records the installation's state-change event when its state moved.
pub(crate) async fn record_if_changed(
    tx: &mut Tx,
    environment: &str,
    i: &Installation,
    old_state: InstallationState,
    extra: &[(&str, &str)],
) -> Result<()> {
    if old_state == i.state {
        return Ok(());
    }
    let mut change = installation_state_change(i, old_state.as_str());
    for (k, v) in extra {
        change = change.with(*k, *v);
    }
    record_state_change(tx, environment, &change).await?;
    Ok(())
}

fn apply_filter(q: &mut Query, filter: &InstallationFilter) {
    if !filter.paging.include_deleted {
        q.sql(" AND installation.delete_at = 0");
    }
    if let Some(ids) = &filter.installation_ids {
        q.sql(" AND installation.id IN ").bind_list(ids.iter());
    }
    if let Some(owner) = &filter.owner_id {
        q.sql(" AND installation.owner_id = ").bind(owner);
    }
    if let Some(group) = &filter.group_id {
        q.sql(" AND installation.group_id = ").bind(group);
    }
    if let Some(state) = filter.state {
        q.sql(" AND installation.state = ").bind(state.as_str());
    }
    if let Some(name) = &filter.name {
        q.sql(" AND installation.name = ").bind(name);
    }
    if let Some(locked) = filter.deletion_locked {
        q.sql(" AND installation.deletion_locked = ").bind(locked);
    }
    if let Some(dns) = &filter.dns {
        // Names are stored lower-cased; lower-casing the filter also makes
        // LIKE behave the same on both backends (SQLite's LIKE ignores case).
        let dns = dns.to_lowercase();
        q.sql(" AND installation.id IN (SELECT d.installation_id FROM installation_dns d WHERE d.domain_name ");
        if dns.contains('%') {
            q.sql("LIKE ").bind(dns);
        } else {
            q.sql("= ").bind(dns);
        }
        if !filter.paging.include_deleted {
            q.sql(" AND d.delete_at = 0");
        }
        q.sql(")");
    }
}

/// The IDs of the clusters of each installation's live cluster installations.
async fn cluster_ids_for_many(
    conn: Conn<'_>,
    ids: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows: Vec<(String, String)> = Query::new(
        "SELECT installation_id, cluster_id FROM cluster_installation WHERE delete_at = 0 AND installation_id IN ",
    )
    .bind_list(ids.iter())
    .sql(" ORDER BY create_at ASC, id ASC")
    .fetch_all(conn)
    .await?;
    for (installation_id, cluster_id) in rows {
        map.entry(installation_id).or_default().push(cluster_id);
    }
    Ok(map)
}

impl SqlStore {
    /// Creates the installation, its domain names (the first is primary) and
    /// its annotations, and records `n/a → <state>`, in one transaction.
    /// Assigns `ID` and `CreateAt`. A taken name or domain name is a
    /// [`StoreError::Conflict`].
    pub async fn installation_create(
        &self,
        installation: &mut Installation,
        annotation_names: &[String],
        dns_names: &[String],
    ) -> Result<InstallationDTO> {
        if dns_names.is_empty() {
            return Err(StoreError::Invalid(
                "an installation needs a domain name".into(),
            ));
        }
        installation.id = new_id();
        installation.create_at = now_millis();
        let i = &*installation;
        let mut tx = self.begin().await?;
        Query::new(
            "INSERT INTO installation (id, name, owner_id, group_id, group_sequence, state, size, version, \
             image, license, database_type, filestore_type, affinity, mattermost_env, priority_env, \
             single_tenant_database_config, external_database_config, cr_version, allowed_ip_ranges, \
             volumes, pod_probe_overrides, command, create_at, delete_at, deletion_pending_expiry, \
             scheduled_deletion_time, api_security_lock, deletion_locked, lock_acquired_by, \
             lock_acquired_at) VALUES (",
        )
        .bind(&i.id)
        .sql(", ")
        .bind(&i.name)
        .sql(", ")
        .bind(&i.owner_id)
        .sql(", ")
        .bind(i.group_id.clone())
        .sql(", ")
        .bind(i.group_sequence)
        .sql(", ")
        .bind(i.state.as_str())
        .sql(", ")
        .bind(&i.size)
        .sql(", ")
        .bind(&i.version)
        .sql(", ")
        .bind(&i.image)
        .sql(", ")
        .bind(&i.license)
        .sql(", ")
        .bind(i.database.as_str())
        .sql(", ")
        .bind(i.filestore.as_str())
        .sql(", ")
        .bind(i.affinity.as_str())
        .sql(", ")
        .bind(json_opt(&i.mattermost_env)?)
        .sql(", ")
        .bind(json_opt(&i.priority_env)?)
        .sql(", ")
        .bind(json_opt(&i.single_tenant_database_config)?)
        .sql(", ")
        .bind(json_opt(&i.external_database_config)?)
        .sql(", ")
        .bind(&i.cr_version)
        .sql(", ")
        .bind(json_opt(&i.allowed_ip_ranges)?)
        .sql(", ")
        .bind(json_opt(&i.volumes)?)
        .sql(", ")
        .bind(json_opt(&i.pod_probe_overrides)?)
        .sql(", ")
        .bind(json_opt(&i.command)?)
        .sql(", ")
        .bind(i.create_at)
        .sql(", 0, ")
        .bind(i.deletion_pending_expiry)
        .sql(", ")
        .bind(i.scheduled_deletion_time)
        .sql(", ")
        .bind(i.api_security_lock)
        .sql(", ")
        .bind(i.deletion_locked)
        .sql(", NULL, 0)")
        .execute(&mut tx)
        .await
        .map_err(|e| name_conflict(e, &format!("installation name {:?} is already in use", i.name)))?;
        let mut records = Vec::with_capacity(dns_names.len());
        for (n, name) in dns_names.iter().enumerate() {
            // One millisecond apart so the records list in the given order.
            let offset = i64::try_from(n).unwrap_or(i64::MAX);
            let record = crate::installation_dns::insert_dns(
                &mut tx,
                &i.id,
                name,
                n == 0,
                i.create_at.saturating_add(offset),
            )
            .await?;
            records.push(record);
        }
        let annotations = annotations_get_or_create(&mut tx, annotation_names).await?;
        annotations_attach(&mut tx, AnnotatedKind::Installation, &i.id, &annotations).await?;
        record_state_change(
            &mut tx,
            self.environment(),
            &installation_state_change(i, NON_APPLICABLE_STATE),
        )
        .await?;
        tx.commit().await?;
        let mut annotations = annotations;
        annotations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(installation.clone().into_dto(annotations, records))
    }

    /// One installation, deleted or not.
    pub async fn installation_get(&self, id: &str) -> Result<Option<Installation>> {
        get_on(self.conn(), id).await
    }

    /// One installation with its annotations, live domain names and the
    /// clusters of its live cluster installations.
    pub async fn installation_get_dto(&self, id: &str) -> Result<Option<InstallationDTO>> {
        let Some(i) = self.installation_get(id).await? else {
            return Ok(None);
        };
        let annotations = annotations_for(self.conn(), AnnotatedKind::Installation, id).await?;
        let records = dns_records_for(self.conn(), id, false).await?;
        let mut clusters = cluster_ids_for_many(self.conn(), &[id.to_string()]).await?;
        let mut dto = i.into_dto(annotations, records);
        dto.cluster_ids = clusters.remove(id).unwrap_or_default();
        Ok(Some(dto))
    }

    /// Installations matching `filter`, oldest first.
    pub async fn installation_list(
        &self,
        filter: &InstallationFilter,
    ) -> Result<Vec<Installation>> {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM installation WHERE 1 = 1"
        ));
        apply_filter(&mut q, filter);
        q.sql(" ORDER BY installation.create_at ASC, installation.id ASC")
            .paging(&filter.paging);
        let rows: Vec<InstallationRow> = q.fetch_all(self.conn()).await?;
        rows.into_iter().map(InstallationRow::into_model).collect()
    }

    /// Like [`Self::installation_list`], as DTOs (annotations, domain names
    /// and cluster IDs loaded with one query each).
    pub async fn installation_list_dto(
        &self,
        filter: &InstallationFilter,
    ) -> Result<Vec<InstallationDTO>> {
        let installations = self.installation_list(filter).await?;
        let ids: Vec<String> = installations.iter().map(|i| i.id.clone()).collect();
        let mut annotations =
            annotations_for_many(self.conn(), AnnotatedKind::Installation, &ids).await?;
        let mut records =
            dns_records_for_many(self.conn(), &ids, filter.paging.include_deleted).await?;
        let mut clusters = cluster_ids_for_many(self.conn(), &ids).await?;
        Ok(installations
            .into_iter()
            .map(|i| {
                let id = i.id.clone();
                let mut dto = i.into_dto(
                    annotations.remove(&id).unwrap_or_default(),
                    records.remove(&id).unwrap_or_default(),
                );
                dto.cluster_ids = clusters.remove(&id).unwrap_or_default();
                dto
            })
            .collect())
    }

    /// How many installations match `filter` (paging limits ignored).
    pub async fn installation_count(&self, filter: &InstallationFilter) -> Result<i64> {
        let mut q = Query::new("SELECT COUNT(*) FROM installation WHERE 1 = 1");
        apply_filter(&mut q, filter);
        q.fetch_i64(self.conn()).await
    }

    /// Counts of live installations by state bucket.
    pub async fn installation_status(&self) -> Result<InstallationsStatus> {
        let rows: Vec<(String, i64)> = Query::new(
            "SELECT state, COUNT(*) FROM installation WHERE delete_at = 0 GROUP BY state",
        )
        .fetch_all(self.conn())
        .await?;
        let mut status = InstallationsStatus::default();
        for (state, count) in rows {
            status.installations_total += count;
            match state.parse::<InstallationState>() {
                Ok(InstallationState::Stable) => status.installations_stable += count,
                Ok(InstallationState::Hibernating) => status.installations_hibernating += count,
                Ok(InstallationState::DeletionPending) => {
                    status.installations_pending_deletion += count
                }
                _ => {}
            }
        }
        status.installations_updating = status.installations_total
            - status.installations_stable
            - status.installations_hibernating
            - status.installations_pending_deletion;
        Ok(status)
    }

    /// Saves every mutable field (not the locks or database configs).
    /// Refuses an installation merged with its group's configuration.
    pub async fn installation_update(&self, installation: &Installation) -> Result<()> {
        let mut tx = self.begin().await?;
        update_on(&mut tx, installation).await?;
        tx.commit().await
    }

    /// [`Self::installation_update`] plus the `old_state → State` event (when
    /// the state moved) in the same transaction; `extra` adds event fields
    /// (e.g. `actor_id`).
    pub async fn installation_update_with_event(
        &self,
        installation: &Installation,
        old_state: InstallationState,
        extra: &[(&str, &str)],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        update_on(&mut tx, installation).await?;
        record_if_changed(&mut tx, self.environment(), installation, old_state, extra).await?;
        tx.commit().await
    }

    /// Writes only the state (allowed on merged installations) and records
    /// the `old_state → State` event, in one transaction.
    pub async fn installation_update_state(
        &self,
        installation: &Installation,
        old_state: InstallationState,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        update_state_on(&mut tx, &installation.id, installation.state).await?;
        record_if_changed(&mut tx, self.environment(), installation, old_state, &[]).await?;
        tx.commit().await
    }

    /// Writes only `GroupSequence` (allowed on merged installations).
    pub async fn installation_update_group_sequence(
        &self,
        installation: &Installation,
    ) -> Result<()> {
        let n = Query::new("UPDATE installation SET group_sequence = ")
            .bind(installation.group_sequence)
            .sql(" WHERE id = ")
            .bind(&installation.id)
            .execute(self.conn())
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "installation {}",
                installation.id
            )));
        }
        Ok(())
    }

    /// Soft-deletes the installation (the last step of its deletion).
    pub async fn installation_delete(&self, id: &str) -> Result<()> {
        Query::new("UPDATE installation SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND delete_at = 0")
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Takes the row lock for `locker`; false when someone holds it (or the
    /// installation does not exist).
    pub async fn installation_lock(&self, id: &str, locker: &str) -> Result<bool> {
        self.lock_rows(LockedTable::Installation, &[id], locker)
            .await
    }

    /// Releases the row lock held by `locker`; false when it did not hold it.
    pub async fn installation_unlock(&self, id: &str, locker: &str) -> Result<bool> {
        self.unlock_rows(LockedTable::Installation, &[id], locker, false)
            .await
    }

    /// Sets `APISecurityLock`; a no-op when it already has that value.
    pub async fn installation_set_api_lock(&self, id: &str, locked: bool) -> Result<()> {
        self.set_flag(id, "api_security_lock", locked).await
    }

    /// Sets `DeletionLocked`; a no-op when it already has that value.
    pub async fn installation_set_deletion_lock(&self, id: &str, locked: bool) -> Result<()> {
        self.set_flag(id, "deletion_locked", locked).await
    }

    async fn set_flag(&self, id: &str, column: &str, value: bool) -> Result<()> {
        let n = Query::new(format!("UPDATE installation SET {column} = "))
            .bind(value)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("installation {id}")));
        }
        Ok(())
    }

    /// Attaches annotations (created on demand). Refused with
    /// [`StoreError::Forbidden`] unless every cluster hosting the
    /// installation carries each of them. Returns the attached annotations.
    pub async fn installation_annotations_add(
        &self,
        id: &str,
        names: &[String],
    ) -> Result<Vec<Annotation>> {
        let mut tx = self.begin().await?;
        let annotations = annotations_get_or_create(&mut tx, names).await?;
        for a in &annotations {
            let missing = Query::new(
                "SELECT COUNT(*) FROM cluster_installation ci WHERE ci.delete_at = 0 AND ci.installation_id = ",
            )
            .bind(id)
            .sql(" AND NOT EXISTS (SELECT 1 FROM cluster_annotation ca WHERE ca.cluster_id = ci.cluster_id AND ca.annotation_id = ")
            .bind(&a.id)
            .sql(")")
            .fetch_i64(&mut tx)
            .await?;
            if missing > 0 {
                return Err(StoreError::Forbidden(format!(
                    "annotation {:?} is missing on a cluster hosting the installation; \
                     installation annotations must match its clusters' annotations",
                    a.name
                )));
            }
        }
        annotations_attach(&mut tx, AnnotatedKind::Installation, id, &annotations).await?;
        tx.commit().await?;
        Ok(annotations)
    }

    /// Detaches the annotation `name`; returns whether it was attached.
    pub async fn installation_annotation_delete(&self, id: &str, name: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = annotation_detach(&mut tx, AnnotatedKind::Installation, id, name).await?;
        tx.commit().await?;
        Ok(removed)
    }
}

#[cfg(test)]
#[path = "installation/tests.rs"]
mod tests;
