//! Store errors. Unique-constraint violations become [`StoreError::Conflict`]
//! so the API can answer 409 without inspecting driver codes.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or is deleted where that matters).
    #[error("{0} not found")]
    NotFound(String),
    /// A unique rule was broken (duplicate name, domain, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row lock is held by someone else.
    #[error("{0} is locked by another operation; try again")]
    Locked(String),
    /// A rule forbids the change (API security lock, annotation in use, …).
    #[error("{0}")]
    Forbidden(String),
    /// The object's state does not allow the requested change.
    #[error("{0}")]
    InvalidTransition(String),
    /// A merged (group-config) object was handed to a full update.
    #[error("{0}")]
    Invalid(String),
    /// The database schema is older than this binary needs.
    #[error(
        "the database schema is at version {current} but this server needs version {required}; run `cloud schema migrate --database <url>` first"
    )]
    SchemaOutdated { current: i64, required: i64 },
    /// The database schema is newer than this binary knows.
    #[error(
        "the database schema is at version {current}, newer than this binary knows ({known}); upgrade the binary"
    )]
    SchemaTooNew { current: i64, known: i64 },
    /// The URL names no supported database.
    #[error(
        "unsupported database URL {0:?}: use a SQLite path (sqlite://cloud.db) or postgres://…"
    )]
    UnsupportedUrl(String),
    /// A stored JSON column could not be read back.
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    /// A short, fixed label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "not_found",
            StoreError::Conflict(_) => "conflict",
            StoreError::Locked(_) => "locked",
            StoreError::Forbidden(_) => "forbidden",
            StoreError::InvalidTransition(_) => "invalid_transition",
            StoreError::Invalid(_) => "invalid",
            StoreError::SchemaOutdated { .. } => "schema_outdated",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::UnsupportedUrl(_) => "unsupported_url",
            StoreError::Json(_) => "json",
            StoreError::Migration(_) => "migration",
            StoreError::Database(_) => "database",
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Database(err),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
