//! The typed error of the I/O layer: every variant names the file and, where there is one, the
//! column and row.

use std::path::PathBuf;

use crate::session::SessionError;

/// Why sessions could not be read or written.
///
/// Every variant carries the path of the file (or folder) concerned; column-level problems also
/// name the column, and row-level problems the 0-based row within the file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused a read, write or listing.
    #[error("{path}: {source}")]
    Os {
        /// File or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a complete, readable Parquet file (truncated, corrupt, or another format).
    #[error("{path}: not a readable Parquet file (truncated or corrupt?): {source}")]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// What the Parquet reader or writer said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow refused to build or decode a batch.
    #[error("{path}: {source}")]
    Arrow {
        /// File concerned.
        path: PathBuf,
        /// What Arrow said.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A required column is absent.
    #[error("{path}: column `{column}` is missing")]
    MissingColumn {
        /// File concerned.
        path: PathBuf,
        /// Name of the missing column.
        column: String,
    },
    /// A column has another type than the layout requires.
    #[error("{path}: column `{column}` has type {found}; expected {expected}")]
    ColumnType {
        /// File concerned.
        path: PathBuf,
        /// Column name.
        column: String,
        /// Type the layout requires.
        expected: String,
        /// Type found in the file.
        found: String,
    },
    /// A required value is null.
    #[error("{path}: column `{column}`, row {row}: value is null")]
    NullValue {
        /// File concerned.
        path: PathBuf,
        /// Column name.
        column: String,
        /// 0-based row in the file.
        row: usize,
    },
    /// A timestamp is NaN or infinite (a floating-point `t` column written by a tool that lost it).
    #[error("{path}: column `{column}`, row {row}: timestamp is {value} (not a finite time)")]
    NonFiniteTimestamp {
        /// File concerned.
        path: PathBuf,
        /// Column name.
        column: String,
        /// 0-based row in the file.
        row: usize,
        /// The value found (NaN, inf, -inf).
        value: f64,
    },
    /// A code column (`kind`, `etype`, `record`) holds an unknown code.
    #[error("{path}: column `{column}`, row {row}: unknown code {code}")]
    UnknownCode {
        /// File concerned.
        path: PathBuf,
        /// Column name.
        column: String,
        /// 0-based row in the file.
        row: usize,
        /// The code found.
        code: u8,
    },
    /// The file has the wrong number of feature columns (e.g. the 51- or 53-column variants).
    #[error(
        "{path}: found {found} `{prefix}*` feature columns; ironforge reads exactly {expected} \
         ({prefix}0..{prefix}{last}) — other feature-set widths are refused"
    )]
    FeatureCount {
        /// File concerned.
        path: PathBuf,
        /// Column prefix, `f` (node features) or `e` (edge features).
        prefix: char,
        /// Width required.
        expected: usize,
        /// Width found.
        found: usize,
        /// Name suffix of the last required column (`expected - 1`).
        last: usize,
    },
    /// An edge names a node id that no event of its session has.
    #[error("{path}: column `{column}`, row {row}: node id {node_id} is not an event of session {session_id:?}")]
    DanglingEdge {
        /// File concerned.
        path: PathBuf,
        /// `src` or `dst`.
        column: String,
        /// 0-based row in the file.
        row: usize,
        /// The missing node id.
        node_id: u32,
        /// Session of the edge.
        session_id: String,
    },
    /// Values that must agree do not (a row's session id, counts in `meta.json`, `node_map`).
    #[error("{path}: column `{column}`, row {row}: {detail}")]
    Inconsistent {
        /// File concerned.
        path: PathBuf,
        /// Column (or JSON field) name.
        column: String,
        /// 0-based row (0 for whole-file facts).
        row: usize,
        /// What disagrees.
        detail: String,
    },
    /// `meta.json` is missing, not JSON, or lacks a field.
    #[error("{path}: {detail}")]
    Meta {
        /// The `meta.json` concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The rows read do not make a valid session (non-finite price or feature, duplicate id …).
    #[error("{path}: session {session_id:?}: {source}")]
    Session {
        /// File concerned.
        path: PathBuf,
        /// Session concerned.
        session_id: String,
        /// The validation error.
        #[source]
        source: SessionError,
    },
    /// A session's rows appear in two separate runs of a multi-session file.
    #[error("{path}: session {session_id:?} appears twice (its rows must be contiguous)")]
    DuplicateSession {
        /// File concerned.
        path: PathBuf,
        /// The repeated session id.
        session_id: String,
    },
    /// The path is neither a shard folder, a folder of shard folders, nor a Parquet file.
    #[error("{path}: {detail}")]
    NotSessions {
        /// Path given.
        path: PathBuf,
        /// Why it was not recognised.
        detail: String,
    },
    /// Writer settings out of range.
    #[error("invalid writer settings: {detail}")]
    Settings {
        /// What is out of range.
        detail: String,
    },
}

impl IoError {
    pub(crate) fn os(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Os { path: path.into(), source }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        IoError::Parquet { path: path.into(), source }
    }

    pub(crate) fn arrow(path: impl Into<PathBuf>, source: arrow_schema::ArrowError) -> Self {
        IoError::Arrow { path: path.into(), source }
    }
}
