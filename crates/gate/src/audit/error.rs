//! What can be wrong with measurements or with an audit: [`AuditError`].

use crate::paired::PairedError;
use crate::record::Verdict;

/// What can be wrong with measurements or with an audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A row of the comparison with a base revision disagrees with its own samples.
    #[error("comparison with the base revision: {0}")]
    Comparison(#[source] PairedError),
    /// The measurements carry another schema id.
    #[error("measurements schema is `{found}`, expected `{expected}`")]
    MeasurementsSchema {
        /// Schema found.
        found: String,
        /// Schema expected.
        expected: &'static str,
    },
    /// The audit carries another schema id.
    #[error("audit schema is `{found}`, expected `{expected}`")]
    AuditSchema {
        /// Schema found.
        found: String,
        /// Schema expected.
        expected: &'static str,
    },
    /// A record's detail under a known key does not have the documented shape.
    #[error("record `{record}`: detail `{key}` is malformed: {source}")]
    MalformedDetail {
        /// Record name.
        record: String,
        /// Detail key.
        key: &'static str,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// A row of a named table does not have the shape its reader expects.
    #[error("table `{table}`, row of `{gate}`: {source}")]
    MalformedTable {
        /// Table name.
        table: String,
        /// Record that attached the row.
        gate: String,
        /// Why it did not deserialise.
        source: serde_json::Error,
    },
    /// Two records share a name.
    #[error("record `{name}` appears twice in the measurements")]
    DuplicateRecord {
        /// The repeated name.
        name: String,
    },
    /// The stored overall verdict is not the one the rows give.
    #[error("overall verdict stored as {stored:?} but the rows give {computed:?}")]
    ContradictoryOverall {
        /// Stored verdict.
        stored: Verdict,
        /// Verdict computed from the rows.
        computed: Verdict,
    },
    /// A row's comparator is not one of `>=`, `>`, `<=`, `<`.
    #[error("row `{name}`: unknown comparator `{comparator}`")]
    UnknownComparator {
        /// Row name.
        name: String,
        /// Comparator found.
        comparator: String,
    },
    /// A row's stored bound or margin is not the one its value, interval, comparator and
    /// threshold give.
    #[error(
        "row `{name}`: {field} stored as {stored} but its value, interval, comparator and threshold give {recomputed}"
    )]
    ContradictoryJudgement {
        /// Row name.
        name: String,
        /// `bound` or `margin`.
        field: &'static str,
        /// Stored number.
        stored: f64,
        /// Recomputed number.
        recomputed: f64,
    },
    /// A row's stored verdict is not the one its bound, comparator and threshold give.
    #[error("row `{name}`: verdict stored as {stored:?} but `{bound} {comparator} {threshold}` gives {computed:?}")]
    ContradictoryVerdict {
        /// Row name.
        name: String,
        /// Stored verdict.
        stored: Verdict,
        /// Verdict recomputed.
        computed: Verdict,
        /// The bound judged.
        bound: f64,
        /// The comparator.
        comparator: String,
        /// The threshold.
        threshold: f64,
    },
    /// The stored partial flag or list of declarations that did not run is not the one the
    /// manifest and the rows give.
    #[error("audit stored as partial = {stored} with {stored_missing:?} not run, but the manifest and rows give partial = {computed} with {computed_missing:?} not run")]
    ContradictoryPartial {
        /// Stored flag.
        stored: bool,
        /// Flag recomputed.
        computed: bool,
        /// Stored list of declarations that did not run.
        stored_missing: Vec<String>,
        /// List recomputed.
        computed_missing: Vec<String>,
    },
    /// A row's release verdict is not the one its own fields give.
    #[error("row `{name}`: release verdict stored as {stored:?} but its verdict and proof give {computed:?}")]
    ContradictoryRow {
        /// Row name.
        name: String,
        /// Stored verdict.
        stored: Verdict,
        /// Verdict computed from the row.
        computed: Verdict,
    },
}
