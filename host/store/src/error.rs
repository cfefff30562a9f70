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

impl StoreError {
    /// True when the database could not be reached or dropped the connection: the same
    /// call may succeed once it is back, and nothing was written.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether a server error means "not now" rather than "not this": PostgreSQL's connection
/// exceptions (class 08), an administrator or crash shutdown or a server still starting
/// (57P01–57P03), too many connections (53300), or a database closed to connections.
fn is_connection_state(code: Option<&str>, message: &str) -> bool {
    match code {
        Some(code) if code.starts_with("08") => true,
        Some("57P01" | "57P02" | "57P03" | "53300") => true,
        Some("55000") => message.contains("not currently accepting connections"),
        _ => false,
    }
}

/// Maps an insert's error for a row that refers to a parent: a missing parent (the foreign
/// key refused) is that parent not found, in its own words; anything else as usual.
pub(crate) fn parent_missing<'a>(
    what: &'static str,
    id: &'a str,
) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
    move |err| match StoreError::from(err) {
        StoreError::Invalid(_) => StoreError::NotFound {
            what,
            id: id.to_string(),
        },
        other => other,
    }
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
                _ if is_connection_state(db.code().as_deref(), db.message()) => {
                    StoreError::Unavailable(db.message().to_string())
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
