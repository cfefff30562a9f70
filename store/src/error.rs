//! Errors of store operations, phrased for the API layer to map onto status codes.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// Kind of record: "project", "asset", …
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The change conflicts with existing data (a duplicate, a state that moved on).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a rule of the data model.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database cannot be reached or went away; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound {
                what: "record",
                id: String::new(),
            },
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    StoreError::Conflict(format!("already exists ({})", db.message()))
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::Invalid(format!(
                    "refers to a record that does not exist ({})",
                    db.message()
                )),
                sqlx::error::ErrorKind::CheckViolation
                | sqlx::error::ErrorKind::NotNullViolation => {
                    StoreError::Invalid(db.message().to_string())
                }
                _ => StoreError::Database(db.message().to_string()),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            _ => StoreError::Database(err.to_string()),
        }
    }
}
