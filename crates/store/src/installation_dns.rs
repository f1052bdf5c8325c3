//! The `installation_dns` table: the domain names of installations.
//!
//! Names are unique among live rows (a taken name is a
//! [`StoreError::Conflict`]) and each installation has exactly one live
//! primary (a partial unique index). Adding, switching the primary and
//! deleting a name each write the installation's new state and its event in
//! the same transaction.

use crate::SqlStore;
use crate::db::{Conn, Query, Tx};
use crate::error::{Result, StoreError};
use crate::installation::{record_if_changed, update_on, update_state_on};
use cloud_model::installation::{Installation, InstallationState};
use cloud_model::installation_dns::InstallationDNS;
use cloud_model::{new_id, now_millis};
use std::collections::HashMap;

const COLUMNS: &str = "id, domain_name, installation_id, is_primary, create_at, delete_at";

#[derive(sqlx::FromRow)]
struct DnsRow {
    id: String,
    domain_name: String,
    installation_id: String,
    is_primary: bool,
    create_at: i64,
    delete_at: i64,
}

impl From<DnsRow> for InstallationDNS {
    fn from(r: DnsRow) -> Self {
        InstallationDNS {
            id: r.id,
            domain_name: r.domain_name,
            installation_id: r.installation_id,
            is_primary: r.is_primary,
            create_at: r.create_at,
            delete_at: r.delete_at,
        }
    }
}

fn domain_conflict(err: StoreError, domain: &str) -> StoreError {
    match err {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("domain name {domain:?} is already in use"))
        }
        other => other,
    }
}

/// Inserts one record inside `tx`.
pub(crate) async fn insert_dns(
    tx: &mut Tx,
    installation_id: &str,
    domain_name: &str,
    is_primary: bool,
    create_at: i64,
) -> Result<InstallationDNS> {
    let record = InstallationDNS {
        id: new_id(),
        domain_name: domain_name.to_string(),
        installation_id: installation_id.to_string(),
        is_primary,
        create_at,
        delete_at: 0,
    };
    Query::new(format!("INSERT INTO installation_dns ({COLUMNS}) VALUES ("))
        .bind(&record.id)
        .sql(", ")
        .bind(&record.domain_name)
        .sql(", ")
        .bind(&record.installation_id)
        .sql(", ")
        .bind(record.is_primary)
        .sql(", ")
        .bind(record.create_at)
        .sql(", 0)")
        .execute(&mut *tx)
        .await
        .map_err(|e| domain_conflict(e, domain_name))?;
    Ok(record)
}

/// The records of one installation, oldest first.
pub(crate) async fn dns_records_for(
    conn: Conn<'_>,
    installation_id: &str,
    include_deleted: bool,
) -> Result<Vec<InstallationDNS>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM installation_dns WHERE installation_id = "
    ));
    q.bind(installation_id);
    if !include_deleted {
        q.sql(" AND delete_at = 0");
    }
    q.sql(" ORDER BY create_at ASC, id ASC");
    let rows: Vec<DnsRow> = q.fetch_all(conn).await?;
    Ok(rows.into_iter().map(InstallationDNS::from).collect())
}

/// The records of many installations, oldest first, by installation.
pub(crate) async fn dns_records_for_many(
    conn: Conn<'_>,
    installation_ids: &[String],
    include_deleted: bool,
) -> Result<HashMap<String, Vec<InstallationDNS>>> {
    let mut map: HashMap<String, Vec<InstallationDNS>> = HashMap::new();
    if installation_ids.is_empty() {
        return Ok(map);
    }
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM installation_dns WHERE installation_id IN "
    ));
    q.bind_list(installation_ids.iter());
    if !include_deleted {
        q.sql(" AND delete_at = 0");
    }
    q.sql(" ORDER BY create_at ASC, id ASC");
    let rows: Vec<DnsRow> = q.fetch_all(conn).await?;
    for r in rows {
        map.entry(r.installation_id.clone())
            .or_default()
            .push(r.into());
    }
    Ok(map)
}

impl SqlStore {
    /// One record, deleted or not.
    pub async fn installation_dns_get(&self, id: &str) -> Result<Option<InstallationDNS>> {
        let row: Option<DnsRow> = Query::new(format!(
            "SELECT {COLUMNS} FROM installation_dns WHERE id = "
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(InstallationDNS::from))
    }

    /// The live records of an installation, oldest first.
    pub async fn installation_dns_list(
        &self,
        installation_id: &str,
    ) -> Result<Vec<InstallationDNS>> {
        dns_records_for(self.conn(), installation_id, false).await
    }

    /// Adds a non-primary domain name and saves the installation's new state
    /// (with its event), in one transaction.
    pub async fn installation_dns_add(
        &self,
        installation: &Installation,
        old_state: InstallationState,
        domain_name: &str,
    ) -> Result<InstallationDNS> {
        let mut tx = self.begin().await?;
        let record =
            insert_dns(&mut tx, &installation.id, domain_name, false, now_millis()).await?;
        update_state_on(&mut tx, &installation.id, installation.state).await?;
        record_if_changed(&mut tx, self.environment(), installation, old_state, &[]).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Makes the live record `dns_id` the installation's only primary and
    /// saves the installation (its new `Name` and state, with the event), in
    /// one transaction.
    pub async fn installation_dns_set_primary(
        &self,
        installation: &Installation,
        old_state: InstallationState,
        dns_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        Query::new("UPDATE installation_dns SET is_primary = ")
            .bind(false)
            .sql(" WHERE installation_id = ")
            .bind(&installation.id)
            .execute(&mut tx)
            .await?;
        let n = Query::new("UPDATE installation_dns SET is_primary = ")
            .bind(true)
            .sql(" WHERE id = ")
            .bind(dns_id)
            .sql(" AND installation_id = ")
            .bind(&installation.id)
            .sql(" AND delete_at = 0")
            .execute(&mut tx)
            .await?;
        if n != 1 {
            return Err(StoreError::NotFound(format!("domain name {dns_id}")));
        }
        update_on(&mut tx, installation).await?;
        record_if_changed(&mut tx, self.environment(), installation, old_state, &[]).await?;
        tx.commit().await
    }

    /// Soft-deletes the live, non-primary record `dns_id` and saves the
    /// installation's new state (with its event), in one transaction.
    pub async fn installation_dns_delete(
        &self,
        installation: &Installation,
        old_state: InstallationState,
        dns_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = Query::new("UPDATE installation_dns SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE id = ")
            .bind(dns_id)
            .sql(" AND installation_id = ")
            .bind(&installation.id)
            .sql(" AND delete_at = 0 AND is_primary = ")
            .bind(false)
            .execute(&mut tx)
            .await?;
        if n != 1 {
            return Err(StoreError::NotFound(format!(
                "non-primary domain name {dns_id}"
            )));
        }
        update_state_on(&mut tx, &installation.id, installation.state).await?;
        record_if_changed(&mut tx, self.environment(), installation, old_state, &[]).await?;
        tx.commit().await
    }

    /// Soft-deletes every live record of an installation (final cleanup).
    pub async fn installation_dns_delete_all(&self, installation_id: &str) -> Result<()> {
        Query::new("UPDATE installation_dns SET delete_at = ")
            .bind(now_millis())
            .sql(" WHERE installation_id = ")
            .bind(installation_id)
            .sql(" AND delete_at = 0")
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
