//! Annotations and their join tables (`cluster_annotation`,
//! `installation_annotation`, `group_annotation`). Annotation rows are created
//! on demand by name and never deleted; join rows are hard-deleted.

use crate::SqlStore;
use crate::db::{Conn, Query, Tx};
use crate::error::Result;
use cloud_model::annotation::Annotation;
use cloud_model::new_id;
use std::collections::HashMap;

/// Which kind of object an annotation is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotatedKind {
    Cluster,
    Installation,
    Group,
}

impl AnnotatedKind {
    /// (join table, owner column)
    fn table(self) -> (&'static str, &'static str) {
        match self {
            AnnotatedKind::Cluster => ("cluster_annotation", "cluster_id"),
            AnnotatedKind::Installation => ("installation_annotation", "installation_id"),
            AnnotatedKind::Group => ("group_annotation", "group_id"),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AnnotationRow {
    id: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct OwnedAnnotationRow {
    owner_id: String,
    id: String,
    name: String,
}

/// Returns the annotations named `names`, creating the missing ones, inside `tx`.
/// Duplicated names are returned once, in first-seen order.
pub async fn annotations_get_or_create(tx: &mut Tx, names: &[String]) -> Result<Vec<Annotation>> {
    let mut out: Vec<Annotation> = Vec::with_capacity(names.len());
    for name in names {
        if out.iter().any(|a| &a.name == name) {
            continue;
        }
        let existing: Option<AnnotationRow> =
            Query::new("SELECT id, name FROM annotation WHERE name = ")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let annotation = match existing {
            Some(row) => Annotation {
                id: row.id,
                name: row.name,
            },
            None => {
                let a = Annotation {
                    id: new_id(),
                    name: name.clone(),
                };
                Query::new("INSERT INTO annotation (id, name) VALUES (")
                    .bind(&a.id)
                    .sql(", ")
                    .bind(&a.name)
                    .sql(")")
                    .execute(&mut *tx)
                    .await?;
                a
            }
        };
        out.push(annotation);
    }
    Ok(out)
}

/// Attaches `annotations` to the object `owner_id` inside `tx`; already
/// attached ones are left alone.
pub async fn annotations_attach(
    tx: &mut Tx,
    kind: AnnotatedKind,
    owner_id: &str,
    annotations: &[Annotation],
) -> Result<()> {
    let (table, column) = kind.table();
    for a in annotations {
        let present = Query::new(format!("SELECT COUNT(*) FROM {table} WHERE {column} = "))
            .bind(owner_id)
            .sql(" AND annotation_id = ")
            .bind(&a.id)
            .fetch_i64(&mut *tx)
            .await?;
        if present == 0 {
            Query::new(format!(
                "INSERT INTO {table} (id, {column}, annotation_id) VALUES ("
            ))
            .bind(new_id())
            .sql(", ")
            .bind(owner_id)
            .sql(", ")
            .bind(&a.id)
            .sql(")")
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// Detaches the annotation named `name` from the object; returns whether it was attached.
pub async fn annotation_detach(
    tx: &mut Tx,
    kind: AnnotatedKind,
    owner_id: &str,
    name: &str,
) -> Result<bool> {
    let (table, column) = kind.table();
    let n = Query::new(format!("DELETE FROM {table} WHERE {column} = "))
        .bind(owner_id)
        .sql(" AND annotation_id IN (SELECT id FROM annotation WHERE name = ")
        .bind(name)
        .sql(")")
        .execute(&mut *tx)
        .await?;
    Ok(n > 0)
}

/// The annotations of one object, by name.
pub async fn annotations_for(
    conn: Conn<'_>,
    kind: AnnotatedKind,
    owner_id: &str,
) -> Result<Vec<Annotation>> {
    let (table, column) = kind.table();
    let rows: Vec<AnnotationRow> = Query::new(format!(
        "SELECT a.id, a.name FROM annotation a JOIN {table} j ON j.annotation_id = a.id WHERE j.{column} = "
    ))
    .bind(owner_id)
    .sql(" ORDER BY a.name")
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Annotation {
            id: r.id,
            name: r.name,
        })
        .collect())
}

/// The annotations of many objects at once (for list responses).
pub async fn annotations_for_many(
    conn: Conn<'_>,
    kind: AnnotatedKind,
    owner_ids: &[String],
) -> Result<HashMap<String, Vec<Annotation>>> {
    let mut map: HashMap<String, Vec<Annotation>> = HashMap::new();
    if owner_ids.is_empty() {
        return Ok(map);
    }
    let (table, column) = kind.table();
    let rows: Vec<OwnedAnnotationRow> = Query::new(format!(
        "SELECT j.{column} AS owner_id, a.id, a.name FROM annotation a JOIN {table} j ON j.annotation_id = a.id WHERE j.{column} IN "
    ))
    .bind_list(owner_ids.iter())
    .sql(" ORDER BY a.name")
    .fetch_all(conn)
    .await?;
    for r in rows {
        map.entry(r.owner_id).or_default().push(Annotation {
            id: r.id,
            name: r.name,
        });
    }
    Ok(map)
}

impl SqlStore {
    /// Looks annotations up by name without creating any; unknown names are absent.
    pub async fn annotation_get_by_names(&self, names: &[String]) -> Result<Vec<Annotation>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<AnnotationRow> = Query::new("SELECT id, name FROM annotation WHERE name IN ")
            .bind_list(names.iter())
            .sql(" ORDER BY name")
            .fetch_all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Annotation {
                id: r.id,
                name: r.name,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;

    backend_test!(
        annotations_are_created_once_and_attached_idempotently,
        |store| {
            let names = vec!["alpha".to_string(), "beta".to_string(), "alpha".to_string()];
            let mut tx = store.begin().await.unwrap();
            let first = annotations_get_or_create(&mut tx, &names).await.unwrap();
            assert_eq!(first.len(), 2);
            annotations_attach(&mut tx, AnnotatedKind::Cluster, "c1", &first)
                .await
                .unwrap();
            annotations_attach(&mut tx, AnnotatedKind::Cluster, "c1", &first)
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let mut tx = store.begin().await.unwrap();
            let again = annotations_get_or_create(&mut tx, &["beta".to_string()])
                .await
                .unwrap();
            assert_eq!(again[0].id, first[1].id);
            annotations_attach(&mut tx, AnnotatedKind::Installation, "i1", &again)
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let on_cluster = annotations_for(store.conn(), AnnotatedKind::Cluster, "c1")
                .await
                .unwrap();
            assert_eq!(
                on_cluster
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>(),
                ["alpha", "beta"]
            );
            let many = annotations_for_many(
                store.conn(),
                AnnotatedKind::Installation,
                &["i1".to_string(), "i2".to_string()],
            )
            .await
            .unwrap();
            assert_eq!(many["i1"].len(), 1);
            assert!(!many.contains_key("i2"));

            let mut tx = store.begin().await.unwrap();
            assert!(
                annotation_detach(&mut tx, AnnotatedKind::Cluster, "c1", "alpha")
                    .await
                    .unwrap()
            );
            assert!(
                !annotation_detach(&mut tx, AnnotatedKind::Cluster, "c1", "alpha")
                    .await
                    .unwrap()
            );
            tx.commit().await.unwrap();
            let left = annotations_for(store.conn(), AnnotatedKind::Cluster, "c1")
                .await
                .unwrap();
            assert_eq!(left.len(), 1);
            let known = store
                .annotation_get_by_names(&["alpha".to_string(), "nope".to_string()])
                .await
                .unwrap();
            assert_eq!(known.len(), 1);
        }
    );
}
