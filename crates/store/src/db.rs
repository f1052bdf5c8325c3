//! One SQL code path over two backends.
//!
//! SQL is written once with `$n` placeholders, which both PostgreSQL and SQLite
//! understand, through [`Query`]: `.sql()` appends text and `.bind()` appends a
//! placeholder and its value, so dynamic filters never count placeholders by
//! hand. A query runs on a [`Conn`]: the pool of either backend, or an open
//! transaction. Rows are decoded with `#[derive(sqlx::FromRow)]` structs whose
//! field types (`String`, `i64`, `bool`, `Option<_>`) decode on both backends.
//!
//! SQLite transactions start with `BEGIN IMMEDIATE` so that two writers queue
//! on the busy timeout instead of failing when a read lock is upgraded.

use crate::error::{Result, StoreError};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, FromRow};

/// The backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// An open transaction; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Where a query runs: `&mut store.conn()` (the pool) or `&mut tx`.
pub enum Conn<'a> {
    Pool(&'a Pool),
    Tx(&'a mut Tx),
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Pool(p) => p.backend(),
            Conn::Tx(t) => t.backend(),
        }
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// A bound value. Everything the schema stores is text, a 64-bit integer or a
/// boolean (JSON documents are text).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Self {
        Arg::Int(Some(i64::from(v)))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}

/// A SQL statement under construction, portable across both backends.
///
/// ```ignore
/// let mut q = Query::new("SELECT * FROM installation WHERE delete_at = 0");
/// if let Some(owner) = &filter.owner { q.sql(" AND owner_id = ").bind(owner); }
/// q.sql(" ORDER BY create_at ASC").paging(&filter.paging);
/// let rows: Vec<InstallationRow> = q.fetch_all(store.conn()).await?;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn sql(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder (`$n`) bound to `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.sql.push('$');
        self.sql.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `($a, $b, …)` for an `IN` list. An empty list appends `(NULL)`,
    /// which matches nothing, so `x IN ()` (a syntax error) never happens.
    pub fn bind_list<V: Into<Arg>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.sql.push('(');
        let mut first = true;
        for v in values {
            if !first {
                self.sql.push_str(", ");
            }
            first = false;
            self.bind(v);
        }
        if first {
            self.sql.push_str("NULL");
        }
        self.sql.push(')');
        self
    }

    /// Appends `LIMIT/OFFSET` for a page (nothing for `per_page = -1`).
    pub fn paging(&mut self, paging: &cloud_model::filter::Paging) -> &mut Self {
        if let Some((limit, offset)) = paging.limit_offset() {
            self.sql(" LIMIT ").bind(limit).sql(" OFFSET ").bind(offset);
        }
        self
    }

    /// The SQL text so far (for tests and logs; values are not included).
    pub fn as_sql(&self) -> &str {
        &self.sql
    }

    /// Runs a statement and returns the number of rows it changed.
    pub async fn execute<'c>(&self, conn: impl Into<Conn<'c>>) -> Result<u64> {
        let conn = conn.into();
        Ok(match conn {
            Conn::Pool(Pool::Sqlite(p)) => self.sqlite().execute(p).await?.rows_affected(),
            Conn::Pool(Pool::Postgres(p)) => self.postgres().execute(p).await?.rows_affected(),
            Conn::Tx(Tx::Sqlite(t)) => self.sqlite().execute(&mut **t).await?.rows_affected(),
            Conn::Tx(Tx::Postgres(t)) => self.postgres().execute(&mut **t).await?.rows_affected(),
        })
    }

    /// Every row, decoded as `T`.
    pub async fn fetch_all<'c, T>(&self, conn: impl Into<Conn<'c>>) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let conn = conn.into();
        Ok(match conn {
            Conn::Pool(Pool::Sqlite(p)) => self.sqlite_as().fetch_all(p).await?,
            Conn::Pool(Pool::Postgres(p)) => self.postgres_as().fetch_all(p).await?,
            Conn::Tx(Tx::Sqlite(t)) => self.sqlite_as().fetch_all(&mut **t).await?,
            Conn::Tx(Tx::Postgres(t)) => self.postgres_as().fetch_all(&mut **t).await?,
        })
    }

    /// The first row, if any, decoded as `T`.
    pub async fn fetch_optional<'c, T>(&self, conn: impl Into<Conn<'c>>) -> Result<Option<T>>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let conn = conn.into();
        Ok(match conn {
            Conn::Pool(Pool::Sqlite(p)) => self.sqlite_as().fetch_optional(p).await?,
            Conn::Pool(Pool::Postgres(p)) => self.postgres_as().fetch_optional(p).await?,
            Conn::Tx(Tx::Sqlite(t)) => self.sqlite_as().fetch_optional(&mut **t).await?,
            Conn::Tx(Tx::Postgres(t)) => self.postgres_as().fetch_optional(&mut **t).await?,
        })
    }

    /// A single integer (e.g. `SELECT COUNT(*) …`).
    pub async fn fetch_i64<'c>(&self, conn: impl Into<Conn<'c>>) -> Result<i64> {
        let row: Option<(i64,)> = self.fetch_optional(conn).await?;
        row.map(|(n,)| n)
            .ok_or_else(|| StoreError::NotFound("query result".to_string()))
    }

    fn sqlite(&self) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.sql.as_str()));
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }

    fn postgres(&self) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.sql.as_str()));
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }

    fn sqlite_as<T>(
        &self,
    ) -> sqlx::query::QueryAs<'_, sqlx::Sqlite, T, sqlx::sqlite::SqliteArguments>
    where
        T: for<'r> FromRow<'r, SqliteRow>,
    {
        let mut q = sqlx::query_as(AssertSqlSafe(self.sql.as_str()));
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }

    fn postgres_as<T>(
        &self,
    ) -> sqlx::query::QueryAs<'_, sqlx::Postgres, T, sqlx::postgres::PgArguments>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        let mut q = sqlx::query_as(AssertSqlSafe(self.sql.as_str()));
        for arg in &self.args {
            q = match arg {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }
}

/// Serialises an optional value into a JSON text column (`None` → SQL NULL).
pub fn json_opt<T: serde::Serialize>(value: &Option<T>) -> Result<Option<String>> {
    value
        .as_ref()
        .map(|v| serde_json::to_string(v).map_err(StoreError::from))
        .transpose()
}

/// Serialises a value into a JSON text column.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// Reads an optional JSON text column.
pub fn from_json_opt<T: serde::de::DeserializeOwned>(text: &Option<String>) -> Result<Option<T>> {
    match text.as_deref() {
        None | Some("") | Some("null") => Ok(None),
        Some(s) => Ok(Some(serde_json::from_str(s)?)),
    }
}

/// Reads a JSON text column, `T::default()` when NULL or empty.
pub fn from_json_or_default<T: serde::de::DeserializeOwned + Default>(
    text: &Option<String>,
) -> Result<T> {
    Ok(from_json_opt(text)?.unwrap_or_default())
}
