//! Clusters (`cluster` table, `cluster_annotation` joins).
//!
//! Guarantees:
//! - a cluster, its annotations and its `n/a → <state>` event are created in
//!   one transaction;
//! - every state change is written with its state-change event in one
//!   transaction ([`SqlStore::cluster_update_state`],
//!   [`SqlStore::cluster_update_with_event`]); [`SqlStore::cluster_update`]
//!   writes configuration only and never the state;
//! - an annotation carried by an installation hosted on the cluster cannot be
//!   removed from it ([`StoreError::Forbidden`]).
//!
//! The metadata columns hold the JSON of whichever provider / provisioner
//! metadata applies; `Networking` is not stored but read back from the
//! provisioner metadata.

use crate::SqlStore;
use crate::annotation::{
    AnnotatedKind, annotation_detach, annotations_attach, annotations_for, annotations_for_many,
    annotations_get_or_create,
};
use crate::db::{Conn, Query, Tx, from_json_opt, json_opt};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::lock::LockedTable;
use crate::progress::{PROGRESS_COLUMNS, ProgressRow};
use cloud_model::annotation::Annotation;
use cloud_model::cluster::{
    AwsMetadata, Cluster, ClusterDto, ClusterFilter, ClusterState, EksMetadata,
    ExternalClusterMetadata, ExternalProviderMetadata, KopsMetadata, PgBouncerConfig, Provider,
    Provisioner,
};
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::installation::InstallationState;
use cloud_model::utility::UtilityMetadata;
use cloud_model::{NON_APPLICABLE_STATE, now_millis};

const COLUMNS: &str = "cluster.id, cluster.name, cluster.state, cluster.provider, cluster.provisioner, \
     cluster.provider_metadata, cluster.provisioner_metadata, cluster.utility_metadata, \
     cluster.pgbouncer_config, cluster.allow_installations, cluster.create_at, cluster.delete_at, \
     cluster.api_security_lock, cluster.lock_acquired_by, cluster.lock_acquired_at, \
     cluster.scheduling_lock_acquired_by, cluster.scheduling_lock_acquired_at";

#[derive(sqlx::FromRow)]
struct ClusterRow {
    id: String,
    name: String,
    state: String,
    provider: String,
    provisioner: String,
    provider_metadata: Option<String>,
    provisioner_metadata: Option<String>,
    utility_metadata: Option<String>,
    pgbouncer_config: String,
    allow_installations: bool,
    create_at: i64,
    delete_at: i64,
    api_security_lock: bool,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
    scheduling_lock_acquired_by: Option<String>,
    scheduling_lock_acquired_at: i64,
    #[sqlx(flatten)]
    progress: ProgressRow,
}

impl ClusterRow {
    fn into_model(self) -> Result<Cluster> {
        let bad = |what: &str, value: &str| {
            StoreError::Invalid(format!(
                "cluster {} has an unknown stored {what} {value:?}",
                self.id
            ))
        };
        let state = self
            .state
            .parse::<ClusterState>()
            .map_err(|_| bad("state", &self.state))?;
        let provider = self
            .provider
            .parse::<Provider>()
            .map_err(|_| bad("provider", &self.provider))?;
        let provisioner = self
            .provisioner
            .parse::<Provisioner>()
            .map_err(|_| bad("provisioner", &self.provisioner))?;
        let mut cluster = Cluster::new(state, provider, provisioner);
        match provider {
            Provider::Aws => {
                cluster.provider_metadata_aws =
                    from_json_opt::<AwsMetadata>(&self.provider_metadata)?
            }
            Provider::External => {
                cluster.provider_metadata_external =
                    from_json_opt::<ExternalProviderMetadata>(&self.provider_metadata)?
            }
        }
        match provisioner {
            Provisioner::Kops => {
                cluster.provisioner_metadata_kops =
                    from_json_opt::<KopsMetadata>(&self.provisioner_metadata)?
            }
            Provisioner::Eks => {
                cluster.provisioner_metadata_eks =
                    from_json_opt::<EksMetadata>(&self.provisioner_metadata)?
            }
            Provisioner::External => {
                cluster.provisioner_metadata_external =
                    from_json_opt::<ExternalClusterMetadata>(&self.provisioner_metadata)?
            }
        }
        cluster.utility_metadata = from_json_opt::<UtilityMetadata>(&self.utility_metadata)?;
        cluster.pg_bouncer_config = from_json_opt::<PgBouncerConfig>(&Some(self.pgbouncer_config))?;
        cluster.networking = stored_networking(&cluster);
        cluster.id = self.id;
        cluster.name = self.name;
        cluster.allow_installations = self.allow_installations;
        cluster.create_at = self.create_at;
        cluster.delete_at = self.delete_at;
        cluster.api_security_lock = self.api_security_lock;
        cluster.lock_acquired_by = self.lock_acquired_by;
        cluster.lock_acquired_at = self.lock_acquired_at;
        cluster.scheduling_lock_acquired_by = self.scheduling_lock_acquired_by;
        cluster.scheduling_lock_acquired_at = self.scheduling_lock_acquired_at;
        cluster.progress = self.progress.into_model();
        Ok(cluster)
    }
}

/// `Networking` as reported on read: the provisioner's current CNI, or the
/// requested one while creation has not yet refreshed the metadata.
fn stored_networking(cluster: &Cluster) -> String {
    let requested = match cluster.provisioner {
        Provisioner::Kops => cluster
            .provisioner_metadata_kops
            .as_ref()
            .and_then(|m| m.change_request.as_ref())
            .map(|c| c.networking.clone()),
        Provisioner::Eks => cluster
            .provisioner_metadata_eks
            .as_ref()
            .and_then(|m| m.change_request.as_ref())
            .map(|c| c.networking.clone()),
        Provisioner::External => None,
    };
    cluster
        .metadata_networking()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or(requested)
        .unwrap_or_default()
}

/// The JSON of the provider metadata that applies to the cluster.
fn provider_metadata_json(c: &Cluster) -> Result<Option<String>> {
    match c.provider {
        Provider::Aws => json_opt(&c.provider_metadata_aws),
        Provider::External => json_opt(&c.provider_metadata_external),
    }
}

/// The JSON of the provisioner metadata that applies to the cluster.
fn provisioner_metadata_json(c: &Cluster) -> Result<Option<String>> {
    match c.provisioner {
        Provisioner::Kops => json_opt(&c.provisioner_metadata_kops),
        Provisioner::Eks => json_opt(&c.provisioner_metadata_eks),
        Provisioner::External => json_opt(&c.provisioner_metadata_external),
    }
}

fn pgbouncer_json(c: &Cluster) -> Result<String> {
    // NOT NULL column: a cluster without a config stores JSON `null`.
    Ok(serde_json::to_string(&c.pg_bouncer_config)?)
}

fn cluster_state_change(id: &str, old_state: &str, new_state: ClusterState) -> NewStateChange {
    NewStateChange::new(ResourceType::Cluster, id, old_state, new_state.as_str())
}

async fn get_on(conn: Conn<'_>, id: &str) -> Result<Option<Cluster>> {
    let row: Option<ClusterRow> = Query::new(format!(
        "SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM cluster WHERE cluster.id = "
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(ClusterRow::into_model).transpose()
}

/// Writes the configuration: name, provider, metadata, PgBouncer config and
/// `AllowInstallations` (never the state, the locks or `APISecurityLock`).
async fn update_config_on(tx: &mut Tx, c: &Cluster) -> Result<()> {
    let n = Query::new("UPDATE cluster SET name = ")
        .bind(&c.name)
        .sql(", provider = ")
        .bind(c.provider.as_str())
        .sql(", provisioner = ")
        .bind(c.provisioner.as_str())
        .sql(", provider_metadata = ")
        .bind(provider_metadata_json(c)?)
        .sql(", provisioner_metadata = ")
        .bind(provisioner_metadata_json(c)?)
        .sql(", utility_metadata = ")
        .bind(json_opt(&c.utility_metadata)?)
        .sql(", pgbouncer_config = ")
        .bind(pgbouncer_json(c)?)
        .sql(", allow_installations = ")
        .bind(c.allow_installations)
        .sql(" WHERE id = ")
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("cluster {}", c.id)));
    }
    Ok(())
}

/// Moves the state from `old` to `new` and records the event, refusing when
/// the stored state is no longer `old` (someone else moved it meanwhile).
async fn update_state_on(
    tx: &mut Tx,
    environment: &str,
    id: &str,
    old: ClusterState,
    new: ClusterState,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let n = Query::new("UPDATE cluster SET state = ")
        .bind(new.as_str())
        .sql(" WHERE id = ")
        .bind(id)
        .sql(" AND state = ")
        .bind(old.as_str())
        .execute(&mut *tx)
        .await?;
    if n == 0 {
        let current: Option<(String,)> = Query::new("SELECT state FROM cluster WHERE id = ")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        return Err(match current {
            None => StoreError::NotFound(format!("cluster {id}")),
            Some((state,)) => StoreError::InvalidTransition(format!(
                "cluster {id} is in state {state}, not {old}; it changed meanwhile"
            )),
        });
    }
    record_state_change(
        tx,
        environment,
        &cluster_state_change(id, old.as_str(), new),
    )
    .await?;
    Ok(())
}

impl SqlStore {
    /// Creates the cluster with its annotations (created on demand) and
    /// records `n/a → <state>`, in one transaction. Sets `CreateAt` (and
    /// clears `DeleteAt` and the locks).
    pub async fn cluster_create(
        &self,
        cluster: &mut Cluster,
        annotation_names: &[String],
    ) -> Result<ClusterDto> {
        cluster.create_at = now_millis();
        cluster.delete_at = 0;
        cluster.lock_acquired_by = None;
        cluster.lock_acquired_at = 0;
        cluster.scheduling_lock_acquired_by = None;
        cluster.scheduling_lock_acquired_at = 0;
        let c = &*cluster;
        let mut tx = self.begin().await?;
        Query::new(
            "INSERT INTO cluster (id, name, state, provider, provisioner, provider_metadata, \
             provisioner_metadata, utility_metadata, pgbouncer_config, allow_installations, create_at, \
             delete_at, api_security_lock, lock_acquired_at, scheduling_lock_acquired_at) VALUES (",
        )
        .bind(&c.id)
        .sql(", ")
        .bind(&c.name)
        .sql(", ")
        .bind(c.state.as_str())
        .sql(", ")
        .bind(c.provider.as_str())
        .sql(", ")
        .bind(c.provisioner.as_str())
        .sql(", ")
        .bind(provider_metadata_json(c)?)
        .sql(", ")
        .bind(provisioner_metadata_json(c)?)
        .sql(", ")
        .bind(json_opt(&c.utility_metadata)?)
        .sql(", ")
        .bind(pgbouncer_json(c)?)
        .sql(", ")
        .bind(c.allow_installations)
        .sql(", ")
        .bind(c.create_at)
        .sql(", 0, ")
        .bind(c.api_security_lock)
        .sql(", 0, 0)")
        .execute(&mut tx)
        .await?;
        let annotations = annotations_get_or_create(&mut tx, annotation_names).await?;
        annotations_attach(&mut tx, AnnotatedKind::Cluster, &c.id, &annotations).await?;
        record_state_change(
            &mut tx,
            self.environment(),
            &cluster_state_change(&c.id, NON_APPLICABLE_STATE, c.state),
        )
        .await?;
        tx.commit().await?;
        let mut annotations = annotations;
        annotations.sort_by(|a, b| a.name.cmp(&b.name));
        let mut created = c.clone();
        created.networking = stored_networking(&created);
        Ok(created.into_dto(annotations))
    }

    /// The cluster, deleted ones included.
    pub async fn cluster_get(&self, id: &str) -> Result<Option<Cluster>> {
        get_on(self.conn(), id).await
    }

    /// The cluster with its annotations, deleted ones included.
    pub async fn cluster_get_dto(&self, id: &str) -> Result<Option<ClusterDto>> {
        let Some(cluster) = self.cluster_get(id).await? else {
            return Ok(None);
        };
        let annotations = annotations_for(self.conn(), AnnotatedKind::Cluster, id).await?;
        Ok(Some(cluster.into_dto(annotations)))
    }

    /// Clusters oldest first, paged; optionally only those carrying every
    /// annotation of `annotation_ids_match_all`.
    pub async fn cluster_list(&self, filter: &ClusterFilter) -> Result<Vec<Cluster>> {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM cluster WHERE 1 = 1"
        ));
        if !filter.paging.include_deleted {
            q.sql(" AND cluster.delete_at = 0");
        }
        if let Some(ids) = &filter.annotation_ids_match_all {
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            q.sql(" AND cluster.id IN (SELECT ca.cluster_id FROM cluster_annotation ca WHERE ca.annotation_id IN ")
                .bind_list(unique.iter())
                .sql(" GROUP BY ca.cluster_id HAVING COUNT(DISTINCT ca.annotation_id) = ")
                .bind(i64::try_from(unique.len()).unwrap_or(i64::MAX))
                .sql(")");
        }
        q.sql(" ORDER BY cluster.create_at ASC, cluster.id ASC")
            .paging(&filter.paging);
        let rows: Vec<ClusterRow> = q.fetch_all(self.conn()).await?;
        rows.into_iter().map(ClusterRow::into_model).collect()
    }

    /// [`Self::cluster_list`] with each cluster's annotations.
    pub async fn cluster_list_dto(&self, filter: &ClusterFilter) -> Result<Vec<ClusterDto>> {
        let clusters = self.cluster_list(filter).await?;
        let ids: Vec<String> = clusters.iter().map(|c| c.id.clone()).collect();
        let mut annotations =
            annotations_for_many(self.conn(), AnnotatedKind::Cluster, &ids).await?;
        Ok(clusters
            .into_iter()
            .map(|c| {
                let a = annotations.remove(&c.id).unwrap_or_default();
                c.into_dto(a)
            })
            .collect())
    }

    /// Saves the configuration (name, provider, metadata, utility metadata,
    /// PgBouncer config, `AllowInstallations`). The state is not written:
    /// state changes go through [`Self::cluster_update_state`] or
    /// [`Self::cluster_update_with_event`], which record their event.
    pub async fn cluster_update(&self, cluster: &Cluster) -> Result<()> {
        let mut tx = self.begin().await?;
        update_config_on(&mut tx, cluster).await?;
        tx.commit().await
    }

    /// Saves the configuration and moves the state from `old_state` to
    /// `cluster.state`, recording the event, in one transaction. Refused with
    /// [`StoreError::InvalidTransition`] when the stored state is no longer
    /// `old_state`.
    pub async fn cluster_update_with_event(
        &self,
        cluster: &Cluster,
        old_state: ClusterState,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        update_config_on(&mut tx, cluster).await?;
        update_state_on(
            &mut tx,
            self.environment(),
            &cluster.id,
            old_state,
            cluster.state,
        )
        .await?;
        tx.commit().await
    }

    /// Moves only the state from `old_state` to `new_state` with its event,
    /// in one transaction (nothing happens when they are equal).
    pub async fn cluster_update_state(
        &self,
        id: &str,
        old_state: ClusterState,
        new_state: ClusterState,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        update_state_on(&mut tx, self.environment(), id, old_state, new_state).await?;
        tx.commit().await
    }

    /// Soft-deletes the cluster (the supervisor's last deletion step).
    pub async fn cluster_delete(&self, id: &str) -> Result<()> {
        Query::new("UPDATE cluster SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND delete_at = 0")
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Attaches annotations (created on demand); returns all of the
    /// cluster's annotations afterwards.
    pub async fn cluster_annotations_add(
        &self,
        id: &str,
        names: &[String],
    ) -> Result<Vec<Annotation>> {
        let mut tx = self.begin().await?;
        if get_on(Conn::Tx(&mut tx), id).await?.is_none() {
            return Err(StoreError::NotFound(format!("cluster {id}")));
        }
        let annotations = annotations_get_or_create(&mut tx, names).await?;
        annotations_attach(&mut tx, AnnotatedKind::Cluster, id, &annotations).await?;
        let all = annotations_for(Conn::Tx(&mut tx), AnnotatedKind::Cluster, id).await?;
        tx.commit().await?;
        Ok(all)
    }

    /// Detaches the annotation `name`; returns whether it was attached.
    /// Refused with [`StoreError::Forbidden`] while an installation hosted
    /// on the cluster (through a live cluster installation) carries it.
    pub async fn cluster_annotation_delete(&self, id: &str, name: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let in_use = Query::new(
            "SELECT COUNT(*) FROM cluster_installation ci \
             JOIN installation_annotation ia ON ia.installation_id = ci.installation_id \
             JOIN annotation a ON a.id = ia.annotation_id \
             WHERE ci.delete_at = 0 AND ci.cluster_id = ",
        )
        .bind(id)
        .sql(" AND a.name = ")
        .bind(name)
        .fetch_i64(&mut tx)
        .await?;
        if in_use > 0 {
            return Err(StoreError::Forbidden(format!(
                "annotation {name:?} is used by {in_use} installation(s) on cluster {id}; \
                 remove it from those installations first"
            )));
        }
        let removed = annotation_detach(&mut tx, AnnotatedKind::Cluster, id, name).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Sets `APISecurityLock`; a no-op when it already has that value.
    pub async fn cluster_set_api_lock(&self, id: &str, locked: bool) -> Result<()> {
        let n = Query::new("UPDATE cluster SET api_security_lock = ")
            .bind(locked)
            .sql(" WHERE id = ")
            .bind(id)
            .execute(self.conn())
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("cluster {id}")));
        }
        Ok(())
    }

    /// The number of live cluster installations on the cluster (a cluster
    /// with any cannot be deleted).
    pub async fn cluster_installation_count_live(&self, cluster_id: &str) -> Result<i64> {
        Query::new(
            "SELECT COUNT(*) FROM cluster_installation WHERE delete_at = 0 AND cluster_id = ",
        )
        .bind(cluster_id)
        .fetch_i64(self.conn())
        .await
    }

    /// The number of installations in `deletion-in-progress` that have a
    /// cluster installation (deleted ones included) on the cluster: their
    /// cleanup still needs the cluster, so it cannot be deleted yet.
    pub async fn cluster_deleting_installation_count(&self, cluster_id: &str) -> Result<i64> {
        Query::new(
            "SELECT COUNT(DISTINCT i.id) FROM installation i \
             JOIN cluster_installation ci ON ci.installation_id = i.id WHERE i.state = ",
        )
        .bind(InstallationState::DeletionInProgress.as_str())
        .sql(" AND ci.cluster_id = ")
        .bind(cluster_id)
        .fetch_i64(self.conn())
        .await
    }

    /// Takes the row lock for `locker`; false when someone holds it (or the
    /// cluster does not exist).
    pub async fn cluster_lock(&self, id: &str, locker: &str) -> Result<bool> {
        self.lock_rows(LockedTable::Cluster, &[id], locker).await
    }

    /// Releases the row lock held by `locker`; false when it did not hold it.
    pub async fn cluster_unlock(&self, id: &str, locker: &str) -> Result<bool> {
        self.unlock_rows(LockedTable::Cluster, &[id], locker, false)
            .await
    }

    /// Takes the scheduling lock (held while installations are placed on the
    /// cluster) for `locker`; false when someone holds it.
    pub async fn cluster_lock_scheduling(&self, id: &str, locker: &str) -> Result<bool> {
        self.lock_rows(LockedTable::ClusterScheduling, &[id], locker)
            .await
    }

    /// Releases the scheduling lock held by `locker`.
    pub async fn cluster_unlock_scheduling(&self, id: &str, locker: &str) -> Result<bool> {
        self.unlock_rows(LockedTable::ClusterScheduling, &[id], locker, false)
            .await
    }
}

#[cfg(test)]
#[path = "cluster/tests.rs"]
mod tests;
