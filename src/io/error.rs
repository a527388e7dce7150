//! The typed error of the I/O layer: every variant names the file and, where there is one, the
//! column and row.
//!
//! A variant that wraps another error says what failed and returns the cause from
//! [`std::error::Error::source`] without repeating it in its own message, so printing the chain
//! (`{:#}` with anyhow, as the `ironforge` binary does) shows each cause once.

use std::path::PathBuf;

use crate::session::SessionError;

/// Why sessions could not be read or written.
///
/// Every variant carries the path of the file (or folder) concerned; column-level problems also
/// name the column, and row-level problems the 0-based row within the file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused a read, write or listing.
    #[error("{path}: cannot access")]
    Os {
        /// File or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's data does not match the checksum its footer holds
    /// ([`crate::io::checksum`]): it was changed or damaged after it was written.
    #[error("{path}: {detail}")]
    Checksum {
        /// File concerned.
        path: PathBuf,
        /// What did not match.
        detail: String,
    },
    /// The file is not a complete, readable Parquet file (truncated, corrupt, or another format).
    #[error("{path}: not a readable Parquet file (truncated or corrupt?)")]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// What the Parquet reader or writer said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow refused to build or decode a batch (a corrupt page, a failed checksum, a codec
    /// error).
    #[error("{path}: cannot decode or build a record batch")]
    Arrow {
        /// File concerned.
        path: PathBuf,
        /// What Arrow said.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// Two columns share a name (which one a reader would take is undefined).
    #[error("{path}: column `{column}` appears more than once")]
    DuplicateColumn {
        /// File concerned.
        path: PathBuf,
        /// The repeated name.
        column: String,
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
    /// The file has a number of feature columns that no feature set has (node features: 45,
    /// 51 or 53; edge features: 20).
    #[error(
        "{path}: found {found} `{prefix}*` feature columns; ironforge reads {} — other feature-set \
         widths are refused",
        widths_text(*prefix, accepted)
    )]
    FeatureCount {
        /// File concerned.
        path: PathBuf,
        /// Column prefix, `f` (node features) or `e` (edge features).
        prefix: char,
        /// The widths accepted.
        accepted: &'static [usize],
        /// Width found.
        found: usize,
    },
    /// Two events of one session share a node id.
    #[error("{path}: column `{column}`, row {row}: node id {node_id} already appears on row {first_row}")]
    DuplicateNodeId {
        /// File concerned (the nodes file of a shard, or the multi-session file).
        path: PathBuf,
        /// `node_id`.
        column: String,
        /// 0-based row of the repeat.
        row: usize,
        /// 0-based row of the first occurrence.
        first_row: usize,
        /// The repeated id.
        node_id: u32,
    },
    /// A session carries node features the output layout cannot hold.
    #[error(
        "{path}: session {session_id:?} carries {width} node features; the multi-session layout \
         holds the {base} base features only — write it as shard folders to keep f{base}..f{last}",
        base = crate::session::NODE_FEATURES,
        last = width - 1
    )]
    FeatureVariant {
        /// Output file.
        path: PathBuf,
        /// The session.
        session_id: String,
        /// Its node feature width (51 or 53).
        width: usize,
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
    #[error("{path}: session {session_id:?} is invalid")]
    Session {
        /// File concerned.
        path: PathBuf,
        /// Session concerned.
        session_id: String,
        /// The validation error.
        #[source]
        source: SessionError,
    },
    /// A session id given twice to one output (a multi-session file being written).
    #[error("{path}: session {session_id:?} appears twice (session ids must be unique)")]
    DuplicateSession {
        /// File concerned.
        path: PathBuf,
        /// The repeated session id.
        session_id: String,
    },
    /// A session's rows appear in two separate runs of a multi-session file.
    #[error(
        "{path}: session {session_id:?} appears twice: rows from {first_row} and again from row {row} \
         (a session's rows must be contiguous)"
    )]
    DuplicateSessionRows {
        /// File concerned.
        path: PathBuf,
        /// The repeated session id.
        session_id: String,
        /// 0-based first row of its first run.
        first_row: usize,
        /// 0-based first row of its second run.
        row: usize,
    },
    /// Two shard folders (or other sources) hold the same session id.
    #[error("{second}: session {session_id:?} is also in {first} (session ids must be unique)")]
    DuplicateSessionSources {
        /// The repeated session id.
        session_id: String,
        /// Where it was read first.
        first: PathBuf,
        /// Where it was read again.
        second: PathBuf,
    },
    /// Writing an output failed (refused by the system, disk full, file too large …). Nothing
    /// is left under the output's name and an earlier output there is kept.
    #[error("{path}: cannot write")]
    Write {
        /// The output (its final name, not the temporary file).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet writer failed (often a failed write underneath it). Nothing is left under
    /// the output's name and an earlier output there is kept.
    #[error("{path}: cannot write Parquet")]
    ParquetWrite {
        /// The output (its final name, not the temporary file).
        path: PathBuf,
        /// What the Parquet writer said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An existing path where an output should go, which ironforge will not replace (a folder
    /// holding other files than an earlier output of the same kind, or a file where a folder
    /// goes).
    #[error("{path}: {detail}; not replacing it")]
    OutputInTheWay {
        /// The output path.
        path: PathBuf,
        /// What is there.
        detail: String,
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

/// `45, 51 or 53 (f0..f44, f0..f50 or f0..f52)`, or `exactly 20 (e0..e19)`.
fn widths_text(prefix: char, accepted: &[usize]) -> String {
    let numbers: Vec<String> = accepted.iter().map(usize::to_string).collect();
    let ranges: Vec<String> = accepted.iter().map(|w| format!("{prefix}0..{prefix}{}", w.saturating_sub(1))).collect();
    match numbers.len() {
        1 => format!("exactly {} ({})", numbers[0], ranges[0]),
        n => format!(
            "{} or {} ({} or {})",
            numbers[..n - 1].join(", "),
            numbers[n - 1],
            ranges[..n - 1].join(", "),
            ranges[n - 1]
        ),
    }
}

impl IoError {
    pub(crate) fn os(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Os { path: path.into(), source }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        IoError::Parquet { path: path.into(), source }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Write { path: path.into(), source }
    }

    pub(crate) fn parquet_write(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        IoError::ParquetWrite { path: path.into(), source }
    }

    pub(crate) fn arrow(path: impl Into<PathBuf>, source: arrow_schema::ArrowError) -> Self {
        IoError::Arrow { path: path.into(), source }
    }
}
