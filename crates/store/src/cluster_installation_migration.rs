//! Moving installations from one cluster to another (core notes §3.3.1):
//! copy the source cluster's active cluster installations onto the target as
//! inactive ones, then switch which side is active together with the
//! installations' DNS states, then request the deletion of the inactive
//! leftovers.
//!
//! Each operation is one transaction that writes its state-change events with
//! the changes. Departures from the original, all fixes:
//! - the copies get their `n/a → creation-requested` event and the DNS
//!   switch records every installation state change (the original emits
//!   none);
//! - the DNS switch only flips installations that have both an active
//!   cluster installation on the source and an inactive one on the target
//!   (the original also deactivated source cluster installations that had no
//!   copy, leaving their installation with no active one);
//! - deleting one inactive cluster installation refuses an active, a deleted
//!   or an API-locked one.
//!
//! On PostgreSQL the rows an operation reads are first locked with
//! `FOR UPDATE`, so two concurrent migrations of the same cluster queue
//! instead of copying an installation twice (SQLite write transactions are
//! serialised by `BEGIN IMMEDIATE` already).

use crate::SqlStore;
use crate::cluster_installation::cluster_installation_insert;
use crate::db::{Backend, Conn, Query, Tx};
use crate::error::{Result, StoreError};
use crate::event::record_state_change;
use crate::installation::{get_on as installation_get_on, record_if_changed, update_state_on};
use cloud_model::cluster_installation::{
    ClusterInstallation, ClusterInstallationFilter, ClusterInstallationState,
};
use cloud_model::event::{NewStateChange, ResourceType};
use cloud_model::filter::Paging;
use cloud_model::installation::{Installation, InstallationState};
use cloud_model::{NON_APPLICABLE_STATE, now_millis};
use std::collections::BTreeSet;

#[cfg(test)]
mod tests;

/// The columns of a cluster installation this file decides on.
#[derive(Debug, sqlx::FromRow)]
struct CiKey {
    id: String,
    cluster_id: String,
    installation_id: String,
    namespace: String,
    state: String,
    is_active: bool,
    delete_at: i64,
    api_security_lock: bool,
}

const KEY_COLUMNS: &str =
    "id, cluster_id, installation_id, namespace, state, is_active, delete_at, api_security_lock";

impl CiKey {
    fn state(&self) -> Result<ClusterInstallationState> {
        self.state.parse().map_err(|e| {
            StoreError::Invalid(format!("stored cluster installation {}: {e}", self.id))
        })
    }
}

/// What a DNS switch changed.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsSwitch {
    /// The source cluster installations, now inactive.
    pub deactivated: Vec<String>,
    /// The target cluster installations, now active.
    pub activated: Vec<String>,
    /// The switched installations, with their new state.
    pub installations: Vec<Installation>,
}

/// The live cluster installations on `cluster_id` with `is_active = active`
/// (of one installation when given), oldest first, locked on PostgreSQL.
async fn live_on(
    tx: &mut Tx,
    cluster_id: &str,
    active: bool,
    installation_id: Option<&str>,
) -> Result<Vec<CiKey>> {
    let mut q = Query::new(format!(
        "SELECT {KEY_COLUMNS} FROM cluster_installation WHERE delete_at = 0 AND cluster_id = "
    ));
    q.bind(cluster_id).sql(" AND is_active = ").bind(active);
    if let Some(installation_id) = installation_id {
        q.sql(" AND installation_id = ").bind(installation_id);
    }
    q.sql(" ORDER BY create_at ASC, id ASC");
    lock_rows(tx, &q).await?;
    q.fetch_all(&mut *tx).await
}

/// On PostgreSQL, locks the rows `select` reads until the transaction ends.
/// The caller then runs `select` again: under READ COMMITTED the new
/// statement sees whatever a transaction it waited for has committed.
async fn lock_rows(tx: &mut Tx, select: &Query) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        let mut locking = select.clone();
        locking.sql(" FOR UPDATE");
        let _: Vec<CiKey> = locking.fetch_all(&mut *tx).await?;
    }
    Ok(())
}

/// Moves one cluster installation to `to` and records the change (extra
/// data `ClusterID`, as the cluster-installation supervisor does).
async fn set_ci_state(
    tx: &mut Tx,
    environment: &str,
    ci: &CiKey,
    to: ClusterInstallationState,
) -> Result<()> {
    let from = ci.state()?;
    if from == to {
        return Ok(());
    }
    Query::new("UPDATE cluster_installation SET state = ")
        .bind(to.as_str())
        .sql(" WHERE id = ")
        .bind(&ci.id)
        .execute(&mut *tx)
        .await?;
    let change = NewStateChange::new(
        ResourceType::ClusterInstallation,
        &ci.id,
        from.as_str(),
        to.as_str(),
    )
    .with("ClusterID", &ci.cluster_id);
    record_state_change(tx, environment, &change).await?;
    Ok(())
}

async fn set_active(tx: &mut Tx, ids: &[String], active: bool) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Query::new("UPDATE cluster_installation SET is_active = ")
        .bind(active)
        .sql(" WHERE id IN ")
        .bind_list(ids.iter())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Takes the row lock of each installation for `locker` inside `tx`; the
/// first one held by someone else aborts (the caller drops `tx`, which
/// releases the others).
async fn lock_installations_in(tx: &mut Tx, ids: &[String], locker: &str) -> Result<()> {
    for id in ids {
        let n = Query::new("UPDATE installation SET lock_acquired_by = ")
            .bind(locker)
            .sql(", lock_acquired_at = ")
            .bind(now_millis())
            .sql(" WHERE id = ")
            .bind(id)
            .sql(" AND (lock_acquired_at = 0 OR lock_acquired_by = ")
            .bind(locker)
            .sql(")")
            .execute(&mut *tx)
            .await?;
        if n == 0 {
            return Err(StoreError::Locked(format!("installation {id}")));
        }
    }
    Ok(())
}

async fn unlock_installations(tx: &mut Tx, ids: &[String], locker: &str) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Query::new(
        "UPDATE installation SET lock_acquired_by = NULL, lock_acquired_at = 0 WHERE id IN ",
    )
    .bind_list(ids.iter())
    .sql(" AND lock_acquired_by = ")
    .bind(locker)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The state the DNS switch gives an installation: hibernating ones keep
/// sleeping while their DNS moves, the others go through DNS configuration.
fn dns_switch_state(current: InstallationState) -> InstallationState {
    match current {
        // A second switch of an installation whose first one is still
        // pending must not wake it up.
        InstallationState::Hibernating | InstallationState::DnsMigrationHibernated => {
            InstallationState::DnsMigrationHibernated
        }
        _ => InstallationState::CreationConfiguringDns,
    }
}

impl SqlStore {
    /// Copies the live active cluster installations of `source` (of one
    /// installation when given) onto `target`: same namespace,
    /// `creation-requested`, inactive, each with its `n/a →
    /// creation-requested` event. Installations that already have a live
    /// inactive cluster installation on `target` are skipped, so a repeated
    /// call copies only what is missing. Returns the new cluster
    /// installations.
    pub async fn cluster_installation_migrate(
        &self,
        source: &str,
        target: &str,
        installation_id: Option<&str>,
    ) -> Result<Vec<ClusterInstallation>> {
        if source == target {
            return Err(StoreError::InvalidTransition(format!(
                "cannot migrate cluster installations from cluster {source} onto itself"
            )));
        }
        let mut tx = self.begin().await?;
        let sources = live_on(&mut tx, source, true, installation_id).await?;
        let already: BTreeSet<String> = live_on(&mut tx, target, false, installation_id)
            .await?
            .into_iter()
            .map(|ci| ci.installation_id)
            .collect();
        let mut created = Vec::new();
        for ci in sources {
            if already.contains(&ci.installation_id) {
                continue;
            }
            let mut copy = ClusterInstallation::new(
                target,
                ci.installation_id,
                ClusterInstallationState::CreationRequested,
            );
            copy.namespace = ci.namespace;
            copy.is_active = false;
            // The original copies the whole row, API lock included.
            copy.api_security_lock = ci.api_security_lock;
            let stored = cluster_installation_insert(&mut tx, &copy).await?;
            let change = NewStateChange::new(
                ResourceType::ClusterInstallation,
                &stored.id,
                NON_APPLICABLE_STATE,
                stored.state.as_str(),
            )
            .with("ClusterID", target);
            record_state_change(&mut tx, self.environment(), &change).await?;
            created.push(stored);
        }
        tx.commit().await?;
        Ok(created)
    }

    /// The DNS switch: for every installation (or the one given) with a live
    /// active cluster installation on `source` and a live inactive one on
    /// `target`, the source one becomes inactive, the target one active, and
    /// the installation goes to `dns-migration-hibernated` when hibernating,
    /// else to `creation-configuring-dns` (each change with its event).
    ///
    /// With `lock_installations`, the installations' row locks are taken for
    /// `locker` for the duration of the transaction: one held by someone else
    /// (a supervisor at work) aborts the switch with [`StoreError::Locked`]
    /// and changes nothing. [`StoreError::NotFound`] when there is nothing to
    /// switch.
    pub async fn cluster_installation_switch_dns(
        &self,
        source: &str,
        target: &str,
        installation_id: Option<&str>,
        lock_installations: bool,
        locker: &str,
    ) -> Result<DnsSwitch> {
        let mut tx = self.begin().await?;
        let old = live_on(&mut tx, source, true, installation_id).await?;
        if old.is_empty() {
            return Err(StoreError::NotFound(format!(
                "active cluster installations on source cluster {source}"
            )));
        }
        let new = live_on(&mut tx, target, false, installation_id).await?;
        if new.is_empty() {
            return Err(StoreError::NotFound(format!(
                "inactive (migrated) cluster installations on target cluster {target}"
            )));
        }
        // Installations with a cluster installation on both sides, in the
        // order of their source cluster installations.
        let copied: BTreeSet<&str> = new.iter().map(|ci| ci.installation_id.as_str()).collect();
        let mut installations: Vec<Installation> = Vec::new();
        for ci in &old {
            let id = ci.installation_id.as_str();
            if !copied.contains(id) || installations.iter().any(|i| i.id == id) {
                continue;
            }
            match installation_get_on(Conn::Tx(&mut tx), id).await? {
                Some(installation) if !installation.is_deleted() => {
                    installations.push(installation)
                }
                _ => tracing::warn!(
                    cluster_installation = %ci.id,
                    installation = %id,
                    "cluster installation of a missing or deleted installation left out of the DNS switch"
                ),
            }
        }
        if installations.is_empty() {
            return Err(StoreError::NotFound(format!(
                "installations migrated from cluster {source} to cluster {target}"
            )));
        }
        let switched: BTreeSet<&str> = installations.iter().map(|i| i.id.as_str()).collect();
        let ids_of = |cis: &[CiKey]| -> Vec<String> {
            cis.iter()
                .filter(|ci| switched.contains(ci.installation_id.as_str()))
                .map(|ci| ci.id.clone())
                .collect()
        };
        let deactivated = ids_of(&old);
        let activated = ids_of(&new);

        let installation_ids: Vec<String> = installations.iter().map(|i| i.id.clone()).collect();
        if lock_installations {
            lock_installations_in(&mut tx, &installation_ids, locker).await?;
        }
        set_active(&mut tx, &deactivated, false).await?;
        set_active(&mut tx, &activated, true).await?;
        for installation in &mut installations {
            let old_state = installation.state;
            installation.state = dns_switch_state(old_state);
            if installation.state != old_state {
                update_state_on(&mut tx, &installation.id, installation.state).await?;
                record_if_changed(&mut tx, self.environment(), installation, old_state, &[])
                    .await?;
            }
        }
        if lock_installations {
            unlock_installations(&mut tx, &installation_ids, locker).await?;
        }
        tx.commit().await?;
        Ok(DnsSwitch {
            deactivated,
            activated,
            installations,
        })
    }

    /// Requests the deletion of every live inactive cluster installation on
    /// `cluster_id` (the copies a migration left behind). Returns those whose
    /// state changed; ones already `deletion-requested` are left as they are.
    pub async fn cluster_installation_delete_inactive(
        &self,
        cluster_id: &str,
    ) -> Result<Vec<ClusterInstallation>> {
        let mut tx = self.begin().await?;
        let inactive = live_on(&mut tx, cluster_id, false, None).await?;
        let mut changed = Vec::new();
        for ci in &inactive {
            let state = ci.state()?;
            if matches!(
                state,
                ClusterInstallationState::DeletionRequested | ClusterInstallationState::Deleted
            ) {
                continue;
            }
            set_ci_state(
                &mut tx,
                self.environment(),
                ci,
                ClusterInstallationState::DeletionRequested,
            )
            .await?;
            changed.push(ci.id.clone());
        }
        tx.commit().await?;
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        self.cluster_installation_list(&ClusterInstallationFilter {
            paging: Paging::all(),
            ids: changed,
            ..Default::default()
        })
        .await
    }

    /// Requests the deletion of one inactive cluster installation. Refuses
    /// (without changing anything) an active one, a deleted one
    /// ([`StoreError::InvalidTransition`]) and an API-locked one
    /// ([`StoreError::Forbidden`]). Returns the stored row.
    pub async fn cluster_installation_delete_inactive_one(
        &self,
        id: &str,
    ) -> Result<ClusterInstallation> {
        let mut tx = self.begin().await?;
        let mut q = Query::new(format!(
            "SELECT {KEY_COLUMNS} FROM cluster_installation WHERE id = "
        ));
        q.bind(id);
        lock_rows(&mut tx, &q).await?;
        let ci: CiKey = q
            .fetch_optional(&mut tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster installation {id}")))?;
        if ci.delete_at != 0 {
            return Err(StoreError::InvalidTransition(format!(
                "cluster installation {id} is already deleted"
            )));
        }
        if ci.is_active {
            return Err(StoreError::InvalidTransition(format!(
                "cluster installation {id} is active: only the inactive cluster installations \
                 left behind by a migration can be deleted this way"
            )));
        }
        if ci.api_security_lock {
            return Err(StoreError::Forbidden(format!(
                "cluster installation {id} is API-locked; unlock it with \
                 `cloud security cluster-installation api-unlock`"
            )));
        }
        if ci.state()? != ClusterInstallationState::Deleted {
            set_ci_state(
                &mut tx,
                self.environment(),
                &ci,
                ClusterInstallationState::DeletionRequested,
            )
            .await?;
        }
        tx.commit().await?;
        self.cluster_installation_get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster installation {id}")))
    }
}
