//! Shared databases: `multitenant_database`, `logical_database` and
//! `database_schema` rows (none has a state machine or events).
//!
//! Membership lists (`installations`, `migrated_installations`) are JSON
//! arrays of IDs in a text column. The membership filters match the quoted ID
//! inside that JSON (`LIKE '%"<id>"%'`), so an ID never matches part of
//! another one (the original's `LIKE '%<id>%'` could). The capacity filter
//! (`max_installations_limit`) sums the installations' weights in Rust, after
//! paging, as the original does in Go.

use crate::SqlStore;
use crate::backup::{found, parse_stored, soft_delete};
use crate::db::{Query, Tx, json};
use crate::error::{Result, StoreError};
use crate::lock::LockedTable;
use cloud_model::database::{
    DatabaseSchema, DatabaseSchemaFilter, LogicalDatabase, LogicalDatabaseFilter,
    MultitenantDatabase, MultitenantDatabaseFilter, database_weight,
};
use cloud_model::installation::InstallationState;
use cloud_model::{new_id, now_millis};
use std::collections::HashMap;

const MT_COLUMNS: &str = "id, rds_cluster_id, vpc_id, database_type, state, writer_endpoint, \
    reader_endpoint, installations, migrated_installations, max_installations_per_logical_database, \
    create_at, delete_at, lock_acquired_by, lock_acquired_at";

const LD_COLUMNS: &str =
    "id, multitenant_database_id, name, create_at, delete_at, lock_acquired_by, lock_acquired_at";

const DS_COLUMNS: &str = "id, logical_database_id, installation_id, name, create_at, delete_at, \
    lock_acquired_by, lock_acquired_at";

#[derive(sqlx::FromRow)]
struct MultitenantRow {
    id: String,
    rds_cluster_id: String,
    vpc_id: String,
    database_type: String,
    state: String,
    writer_endpoint: String,
    reader_endpoint: String,
    installations: String,
    migrated_installations: String,
    max_installations_per_logical_database: i64,
    create_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl MultitenantRow {
    fn into_model(self) -> Result<MultitenantDatabase> {
        Ok(MultitenantDatabase {
            database_type: parse_stored("database engine type", &self.database_type)?,
            state: parse_stored("database state", &self.state)?,
            installations: id_list(&self.installations)?,
            migrated_installations: id_list(&self.migrated_installations)?,
            id: self.id,
            rds_cluster_id: self.rds_cluster_id,
            vpc_id: self.vpc_id,
            writer_endpoint: self.writer_endpoint,
            reader_endpoint: self.reader_endpoint,
            max_installations_per_logical_database: self.max_installations_per_logical_database,
            create_at: self.create_at,
            delete_at: self.delete_at,
            lock_acquired_by: self.lock_acquired_by,
            lock_acquired_at: self.lock_acquired_at,
        })
    }
}

/// A stored JSON list of IDs (`null` or empty text reads as empty).
fn id_list(text: &str) -> Result<Vec<String>> {
    match text.trim() {
        "" | "null" => Ok(Vec::new()),
        t => Ok(serde_json::from_str(t)?),
    }
}

/// `LIKE` pattern matching the quoted `id` in a JSON array, with the LIKE
/// wildcards of `id` escaped (used with `ESCAPE '\'`).
fn member_pattern(id: &str) -> String {
    let mut escaped = String::with_capacity(id.len() + 4);
    for c in id.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("%\"{escaped}\"%")
}

#[derive(sqlx::FromRow)]
struct LogicalRow {
    id: String,
    multitenant_database_id: String,
    name: String,
    create_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl From<LogicalRow> for LogicalDatabase {
    fn from(r: LogicalRow) -> Self {
        LogicalDatabase {
            id: r.id,
            multitenant_database_id: r.multitenant_database_id,
            name: r.name,
            create_at: r.create_at,
            delete_at: r.delete_at,
            lock_acquired_by: r.lock_acquired_by,
            lock_acquired_at: r.lock_acquired_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SchemaRow {
    id: String,
    logical_database_id: String,
    installation_id: String,
    name: String,
    create_at: i64,
    delete_at: i64,
    lock_acquired_by: Option<String>,
    lock_acquired_at: i64,
}

impl From<SchemaRow> for DatabaseSchema {
    fn from(r: SchemaRow) -> Self {
        DatabaseSchema {
            id: r.id,
            logical_database_id: r.logical_database_id,
            installation_id: r.installation_id,
            name: r.name,
            create_at: r.create_at,
            delete_at: r.delete_at,
            lock_acquired_by: r.lock_acquired_by,
            lock_acquired_at: r.lock_acquired_at,
        }
    }
}

/// Removes `installation_id` from the `migrated_installations` of the
/// shared database `database_id`, inside `tx` (missing rows and IDs are
/// left alone: the removal is idempotent).
pub(crate) async fn remove_migrated_installation_in(
    tx: &mut Tx,
    database_id: &str,
    installation_id: &str,
) -> Result<()> {
    let row: Option<(String,)> =
        Query::new("SELECT migrated_installations FROM multitenant_database WHERE id = ")
            .bind(database_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((text,)) = row else {
        return Ok(());
    };
    let mut ids = id_list(&text)?;
    let before = ids.len();
    ids.retain(|id| id != installation_id);
    if ids.len() != before {
        Query::new("UPDATE multitenant_database SET migrated_installations = ")
            .bind(json(&ids)?)
            .sql(" WHERE id = ")
            .bind(database_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

impl SqlStore {
    /// Stores a shared database found in AWS; ID and creation time are
    /// assigned here. A live row with the same RDS cluster ID is a
    /// [`StoreError::Conflict`].
    pub async fn multitenant_database_create(
        &self,
        database: &MultitenantDatabase,
    ) -> Result<MultitenantDatabase> {
        let stored = MultitenantDatabase {
            id: new_id(),
            create_at: now_millis(),
            delete_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            ..database.clone()
        };
        Query::new(format!(
            "INSERT INTO multitenant_database ({MT_COLUMNS}) VALUES ("
        ))
        .bind(&stored.id)
        .sql(", ")
        .bind(&stored.rds_cluster_id)
        .sql(", ")
        .bind(&stored.vpc_id)
        .sql(", ")
        .bind(stored.database_type.as_str())
        .sql(", ")
        .bind(stored.state.as_str())
        .sql(", ")
        .bind(&stored.writer_endpoint)
        .sql(", ")
        .bind(&stored.reader_endpoint)
        .sql(", ")
        .bind(json(&stored.installations)?)
        .sql(", ")
        .bind(json(&stored.migrated_installations)?)
        .sql(", ")
        .bind(stored.max_installations_per_logical_database)
        .sql(", ")
        .bind(stored.create_at)
        .sql(", 0, NULL, 0)")
        .execute(self.conn())
        .await?;
        Ok(stored)
    }

    /// The shared database `id`, deleted or not.
    pub async fn multitenant_database_get(&self, id: &str) -> Result<Option<MultitenantDatabase>> {
        let row: Option<MultitenantRow> = Query::new(format!(
            "SELECT {MT_COLUMNS} FROM multitenant_database WHERE id = "
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.map(MultitenantRow::into_model).transpose()
    }

    /// Shared databases, oldest first.
    pub async fn multitenant_database_list(
        &self,
        filter: &MultitenantDatabaseFilter,
    ) -> Result<Vec<MultitenantDatabase>> {
        let mut q = Query::new(format!(
            "SELECT {MT_COLUMNS} FROM multitenant_database WHERE 1 = 1"
        ));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if let Some(locker) = &filter.locker_id {
            q.sql(" AND lock_acquired_by = ").bind(locker);
        }
        if let Some(id) = &filter.installation_id {
            q.sql(" AND installations LIKE ")
                .bind(member_pattern(id))
                .sql(" ESCAPE '\\'");
        }
        if let Some(id) = &filter.migrated_installation_id {
            q.sql(" AND migrated_installations LIKE ")
                .bind(member_pattern(id))
                .sql(" ESCAPE '\\'");
        }
        if let Some(vpc) = &filter.vpc_id {
            q.sql(" AND vpc_id = ").bind(vpc);
        }
        if let Some(t) = filter.database_type {
            q.sql(" AND database_type = ").bind(t.as_str());
        }
        q.sql(" ORDER BY create_at ASC, id ASC")
            .paging(&filter.paging);
        let rows: Vec<MultitenantRow> = q.fetch_all(self.conn()).await?;
        let databases = rows
            .into_iter()
            .map(MultitenantRow::into_model)
            .collect::<Result<Vec<_>>>()?;
        let Some(limit) = filter.max_installations_limit else {
            return Ok(databases);
        };
        let all_ids: Vec<String> = databases
            .iter()
            .flat_map(|d| d.installations.iter().cloned())
            .collect();
        let weights = self.installation_weights(&all_ids).await?;
        Ok(databases
            .into_iter()
            .filter(|d| {
                let total: f64 = d
                    .installations
                    .iter()
                    .map(|id| weights.get(id).copied().unwrap_or(0.0))
                    .sum();
                // Weights are multiples of 0.25, so the cast is exact.
                (total.ceil() as i64) < limit
            })
            .collect())
    }

    /// The live shared database hosting `installation_id`, if any; more than
    /// one is an inconsistency reported as [`StoreError::Invalid`].
    pub async fn multitenant_database_get_for_installation(
        &self,
        installation_id: &str,
    ) -> Result<Option<MultitenantDatabase>> {
        let mut found = self
            .multitenant_database_list(&MultitenantDatabaseFilter {
                paging: cloud_model::filter::Paging::all_live(),
                installation_id: Some(installation_id.to_string()),
                ..Default::default()
            })
            .await?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(StoreError::Invalid(format!(
                "installation {installation_id} is in {n} multitenant databases"
            ))),
        }
    }

    /// Total capacity weight of the live installations among `ids` (deleted
    /// or unknown IDs weigh nothing).
    pub async fn multitenant_database_total_weight(&self, ids: &[String]) -> Result<f64> {
        Ok(self.installation_weights(ids).await?.values().sum())
    }

    /// Weight of each live installation among `ids`.
    async fn installation_weights(&self, ids: &[String]) -> Result<HashMap<String, f64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, String)> =
            Query::new("SELECT id, state FROM installation WHERE delete_at = 0 AND id IN ")
                .bind_list(ids.iter())
                .fetch_all(self.conn())
                .await?;
        rows.into_iter()
            .map(|(id, state)| {
                let state: InstallationState = parse_stored("installation state", &state)?;
                Ok((id, database_weight(state)))
            })
            .collect()
    }

    /// Writes state, `MaxInstallationsPerLogicalDatabase` and both
    /// membership lists.
    pub async fn multitenant_database_update(&self, database: &MultitenantDatabase) -> Result<()> {
        let n = Query::new("UPDATE multitenant_database SET state = ")
            .bind(database.state.as_str())
            .sql(", max_installations_per_logical_database = ")
            .bind(database.max_installations_per_logical_database)
            .sql(", installations = ")
            .bind(json(&database.installations)?)
            .sql(", migrated_installations = ")
            .bind(json(&database.migrated_installations)?)
            .sql(" WHERE id = ")
            .bind(&database.id)
            .execute(self.conn())
            .await?;
        found(n, "multitenant database")
    }

    /// Marks the shared database deleted (the RDS cluster is untouched);
    /// `false` when there was no live row.
    pub async fn multitenant_database_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, "multitenant_database", id).await
    }

    /// Takes the row lock for `owner`; `false` when it is held.
    pub async fn multitenant_database_lock(&self, id: &str, owner: &str) -> Result<bool> {
        self.lock_rows(LockedTable::MultitenantDatabase, &[id], owner)
            .await
    }

    /// Releases the row lock held by `owner` (any owner with `force`).
    pub async fn multitenant_database_unlock(
        &self,
        id: &str,
        owner: &str,
        force: bool,
    ) -> Result<bool> {
        self.unlock_rows(LockedTable::MultitenantDatabase, &[id], owner, force)
            .await
    }

    /// Stores a logical database of a proxy shared database; ID, creation
    /// time and (when empty) the name `cloud_<id>` are assigned here.
    pub async fn logical_database_create(
        &self,
        database: &LogicalDatabase,
    ) -> Result<LogicalDatabase> {
        let id = new_id();
        let stored = LogicalDatabase {
            name: if database.name.is_empty() {
                LogicalDatabase::default_name(&id)
            } else {
                database.name.clone()
            },
            id,
            create_at: now_millis(),
            delete_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            ..database.clone()
        };
        Query::new(format!(
            "INSERT INTO logical_database ({LD_COLUMNS}) VALUES ("
        ))
        .bind(&stored.id)
        .sql(", ")
        .bind(&stored.multitenant_database_id)
        .sql(", ")
        .bind(&stored.name)
        .sql(", ")
        .bind(stored.create_at)
        .sql(", 0, NULL, 0)")
        .execute(self.conn())
        .await?;
        Ok(stored)
    }

    /// The logical database `id`, deleted or not.
    pub async fn logical_database_get(&self, id: &str) -> Result<Option<LogicalDatabase>> {
        let row: Option<LogicalRow> = Query::new(format!(
            "SELECT {LD_COLUMNS} FROM logical_database WHERE id = "
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(LogicalDatabase::from))
    }

    /// Logical databases, oldest first.
    pub async fn logical_database_list(
        &self,
        filter: &LogicalDatabaseFilter,
    ) -> Result<Vec<LogicalDatabase>> {
        let mut q = Query::new(format!(
            "SELECT {LD_COLUMNS} FROM logical_database WHERE 1 = 1"
        ));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if let Some(id) = &filter.multitenant_database_id {
            q.sql(" AND multitenant_database_id = ").bind(id);
        }
        q.sql(" ORDER BY create_at ASC, id ASC")
            .paging(&filter.paging);
        let rows: Vec<LogicalRow> = q.fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(LogicalDatabase::from).collect())
    }

    /// Marks the logical database deleted; `false` when there was no live row.
    pub async fn logical_database_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, "logical_database", id).await
    }

    /// Stores an installation's schema; ID, creation time and (when empty)
    /// the name `id_<installationID>` are assigned here.
    pub async fn database_schema_create(&self, schema: &DatabaseSchema) -> Result<DatabaseSchema> {
        let stored = DatabaseSchema {
            id: new_id(),
            name: if schema.name.is_empty() {
                DatabaseSchema::default_name(&schema.installation_id)
            } else {
                schema.name.clone()
            },
            create_at: now_millis(),
            delete_at: 0,
            lock_acquired_by: None,
            lock_acquired_at: 0,
            ..schema.clone()
        };
        Query::new(format!(
            "INSERT INTO database_schema ({DS_COLUMNS}) VALUES ("
        ))
        .bind(&stored.id)
        .sql(", ")
        .bind(&stored.logical_database_id)
        .sql(", ")
        .bind(&stored.installation_id)
        .sql(", ")
        .bind(&stored.name)
        .sql(", ")
        .bind(stored.create_at)
        .sql(", 0, NULL, 0)")
        .execute(self.conn())
        .await?;
        Ok(stored)
    }

    /// The schema `id`, deleted or not.
    pub async fn database_schema_get(&self, id: &str) -> Result<Option<DatabaseSchema>> {
        let row: Option<SchemaRow> = Query::new(format!(
            "SELECT {DS_COLUMNS} FROM database_schema WHERE id = "
        ))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(DatabaseSchema::from))
    }

    /// Schemas, oldest first.
    pub async fn database_schema_list(
        &self,
        filter: &DatabaseSchemaFilter,
    ) -> Result<Vec<DatabaseSchema>> {
        let mut q = Query::new(format!(
            "SELECT {DS_COLUMNS} FROM database_schema WHERE 1 = 1"
        ));
        if !filter.paging.include_deleted {
            q.sql(" AND delete_at = 0");
        }
        if let Some(id) = &filter.logical_database_id {
            q.sql(" AND logical_database_id = ").bind(id);
        }
        if let Some(id) = &filter.installation_id {
            q.sql(" AND installation_id = ").bind(id);
        }
        q.sql(" ORDER BY create_at ASC, id ASC")
            .paging(&filter.paging);
        let rows: Vec<SchemaRow> = q.fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(DatabaseSchema::from).collect())
    }

    /// Marks the schema deleted; `false` when there was no live row.
    pub async fn database_schema_delete(&self, id: &str) -> Result<bool> {
        soft_delete(self, "database_schema", id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use crate::backup::tests::insert_installation;
    use cloud_model::database::{DatabaseEngineType, MultitenantDatabaseState};
    use cloud_model::filter::Paging;

    const I1: &str = "i1b2c3d4e5f6g7h8i9j0k1l2m3";
    const I2: &str = "i2b2c3d4e5f6g7h8i9j0k1l2m3";
    const I3: &str = "i3b2c3d4e5f6g7h8i9j0k1l2m3";

    fn database(
        rds: &str,
        vpc: &str,
        t: DatabaseEngineType,
        installations: &[&str],
    ) -> MultitenantDatabase {
        MultitenantDatabase {
            rds_cluster_id: rds.into(),
            vpc_id: vpc.into(),
            database_type: t,
            writer_endpoint: format!("{rds}.writer"),
            installations: installations.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    backend_test!(shared_databases_are_filtered_by_every_field, |store| {
        let a = store
            .multitenant_database_create(&database(
                "rds-a",
                "vpc-1",
                DatabaseEngineType::Postgres,
                &[I1, I2],
            ))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let mut b_in = database("rds-b", "vpc-2", DatabaseEngineType::PostgresProxy, &[I3]);
        b_in.migrated_installations = vec![I1.into()];
        b_in.max_installations_per_logical_database = 10;
        b_in.state = MultitenantDatabaseState::ProvisioningRequested;
        let b = store.multitenant_database_create(&b_in).await.unwrap();
        assert_eq!(
            store
                .multitenant_database_get(&b.id)
                .await
                .unwrap()
                .unwrap(),
            b
        );

        let list = |f: MultitenantDatabaseFilter| {
            let store = store.clone();
            async move {
                store
                    .multitenant_database_list(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.rds_cluster_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(Default::default()).await, ["rds-a", "rds-b"]);
        assert_eq!(
            list(MultitenantDatabaseFilter {
                vpc_id: Some("vpc-2".into()),
                ..Default::default()
            })
            .await,
            ["rds-b"]
        );
        assert_eq!(
            list(MultitenantDatabaseFilter {
                database_type: Some(DatabaseEngineType::Postgres),
                ..Default::default()
            })
            .await,
            ["rds-a"]
        );
        assert_eq!(
            list(MultitenantDatabaseFilter {
                installation_id: Some(I1.into()),
                ..Default::default()
            })
            .await,
            ["rds-a"]
        );
        assert_eq!(
            list(MultitenantDatabaseFilter {
                migrated_installation_id: Some(I1.into()),
                ..Default::default()
            })
            .await,
            ["rds-b"]
        );
        // A prefix of an ID, or a LIKE wildcard, matches nothing.
        assert!(
            list(MultitenantDatabaseFilter {
                installation_id: Some(I1[..10].into()),
                ..Default::default()
            })
            .await
            .is_empty()
        );
        assert!(
            list(MultitenantDatabaseFilter {
                installation_id: Some("%".into()),
                ..Default::default()
            })
            .await
            .is_empty()
        );

        assert_eq!(
            store
                .multitenant_database_get_for_installation(I3)
                .await
                .unwrap()
                .unwrap()
                .id,
            b.id
        );
        assert!(
            store
                .multitenant_database_get_for_installation("none")
                .await
                .unwrap()
                .is_none()
        );

        assert!(store.multitenant_database_lock(&a.id, "me").await.unwrap());
        assert_eq!(
            list(MultitenantDatabaseFilter {
                locker_id: Some("me".into()),
                ..Default::default()
            })
            .await,
            ["rds-a"]
        );
        assert!(
            store
                .multitenant_database_unlock(&a.id, "me", false)
                .await
                .unwrap()
        );

        let dup = store
            .multitenant_database_create(&database(
                "rds-a",
                "vpc-1",
                DatabaseEngineType::Postgres,
                &[],
            ))
            .await
            .unwrap_err();
        assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");

        assert!(store.multitenant_database_delete(&a.id).await.unwrap());
        assert!(!store.multitenant_database_delete(&a.id).await.unwrap());
        assert!(
            store
                .multitenant_database_get(&a.id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
        assert_eq!(list(Default::default()).await, ["rds-b"]);
        assert_eq!(
            list(MultitenantDatabaseFilter {
                paging: Paging::all(),
                ..Default::default()
            })
            .await
            .len(),
            2
        );
        // The RDS cluster ID is free again once the row is deleted.
        store
            .multitenant_database_create(&database(
                "rds-a",
                "vpc-1",
                DatabaseEngineType::Postgres,
                &[],
            ))
            .await
            .unwrap();
    });

    backend_test!(capacity_counts_installation_weights, |store| {
        insert_installation(&store, I1, InstallationState::Stable).await;
        insert_installation(&store, I2, InstallationState::Hibernating).await;
        insert_installation(&store, I3, InstallationState::Hibernating).await;
        Query::new("UPDATE installation SET delete_at = 5 WHERE id = ")
            .bind(I3)
            .execute(store.conn())
            .await
            .unwrap();

        let db = store
            .multitenant_database_create(&database(
                "rds-w",
                "vpc",
                DatabaseEngineType::Postgres,
                &[I1, I2, I3, "unknown"],
            ))
            .await
            .unwrap();
        let ids = db.installations.clone();
        assert_eq!(
            store.multitenant_database_total_weight(&ids).await.unwrap(),
            1.75
        );
        assert_eq!(
            store.multitenant_database_total_weight(&[]).await.unwrap(),
            0.0
        );

        let with_limit = |limit: i64| {
            let store = store.clone();
            async move {
                store
                    .multitenant_database_list(&MultitenantDatabaseFilter {
                        max_installations_limit: Some(limit),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .len()
            }
        };
        // ceil(1.75) = 2: room only under a limit above 2.
        assert_eq!(with_limit(2).await, 0);
        assert_eq!(with_limit(3).await, 1);
    });

    backend_test!(
        updates_write_membership_and_commit_cleans_migrated,
        |store| {
            let mut db = store
                .multitenant_database_create(&database(
                    "rds-u",
                    "vpc",
                    DatabaseEngineType::PostgresProxy,
                    &[I1],
                ))
                .await
                .unwrap();
            db.installations.push(I2.into());
            db.migrated_installations = vec![I3.into(), I1.into()];
            db.max_installations_per_logical_database = 25;
            db.state = MultitenantDatabaseState::ProvisioningRequested;
            store.multitenant_database_update(&db).await.unwrap();
            assert_eq!(
                store
                    .multitenant_database_get(&db.id)
                    .await
                    .unwrap()
                    .unwrap(),
                db
            );

            let mut tx = store.begin().await.unwrap();
            remove_migrated_installation_in(&mut tx, &db.id, I3)
                .await
                .unwrap();
            remove_migrated_installation_in(&mut tx, &db.id, "absent")
                .await
                .unwrap();
            remove_migrated_installation_in(&mut tx, "no-such-db", I3)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let got = store
                .multitenant_database_get(&db.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.migrated_installations, vec![I1.to_string()]);

            let mut missing = db.clone();
            missing.id = "missing".into();
            assert!(matches!(
                store
                    .multitenant_database_update(&missing)
                    .await
                    .unwrap_err(),
                StoreError::NotFound(_)
            ));
        }
    );

    backend_test!(logical_databases_and_schemas, |store| {
        let ld = store
            .logical_database_create(&LogicalDatabase {
                multitenant_database_id: "mt1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ld.name, format!("cloud_{}", ld.id));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let other = store
            .logical_database_create(&LogicalDatabase {
                multitenant_database_id: "mt2".into(),
                name: "custom".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(other.name, "custom");
        assert_eq!(
            store.logical_database_get(&ld.id).await.unwrap().unwrap(),
            ld
        );
        let all = store
            .logical_database_list(&LogicalDatabaseFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|l| &l.id).collect::<Vec<_>>(),
            [&ld.id, &other.id]
        );
        let of_mt1 = store
            .logical_database_list(&LogicalDatabaseFilter {
                multitenant_database_id: Some("mt1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(of_mt1, vec![ld.clone()]);

        let s1 = store
            .database_schema_create(&DatabaseSchema {
                logical_database_id: ld.id.clone(),
                installation_id: I1.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(s1.name, format!("id_{I1}"));
        let s2 = store
            .database_schema_create(&DatabaseSchema {
                logical_database_id: other.id.clone(),
                installation_id: I2.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            store.database_schema_get(&s2.id).await.unwrap().unwrap(),
            s2
        );
        let in_ld = store
            .database_schema_list(&DatabaseSchemaFilter {
                logical_database_id: Some(ld.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(in_ld, vec![s1.clone()]);
        let of_i2 = store
            .database_schema_list(&DatabaseSchemaFilter {
                installation_id: Some(I2.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(of_i2, vec![s2.clone()]);

        assert!(store.database_schema_delete(&s1.id).await.unwrap());
        assert!(!store.database_schema_delete(&s1.id).await.unwrap());
        assert_eq!(
            store
                .database_schema_list(&DatabaseSchemaFilter::default())
                .await
                .unwrap(),
            vec![s2]
        );
        assert!(store.logical_database_delete(&ld.id).await.unwrap());
        assert_eq!(
            store
                .logical_database_list(&LogicalDatabaseFilter::default())
                .await
                .unwrap()
                .len(),
            1
        );
        let everything = LogicalDatabaseFilter {
            paging: Paging::all(),
            ..Default::default()
        };
        assert_eq!(
            store
                .logical_database_list(&everything)
                .await
                .unwrap()
                .len(),
            2
        );
    });
}
