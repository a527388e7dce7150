//! The framework's error type: what can go wrong while measuring or recording a gate.

use std::path::PathBuf;

/// Why a gate or scenario could not be measured, judged or recorded.
///
/// A gate that *fails its threshold* is not an error (that is a [`Verdict`](super::record::Verdict));
/// an error means no honest verdict could be reached.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A metric function reported a problem in user code.
    #[error("metric of `{gate}` failed: {message}")]
    Metric {
        /// Gate or scenario name (empty when raised outside a gate).
        gate: String,
        /// What went wrong.
        message: String,
    },
    /// The threshold does not fit the metric's unit (static, declared or measured).
    #[error("gate `{gate}`: threshold `{threshold}` does not fit a metric measured in `{unit}` (it fits {fits})")]
    UnitMismatch {
        /// Gate name.
        gate: String,
        /// The threshold as written (`2 ms`, `0.05`, `70% of ram`).
        threshold: String,
        /// The metric's unit.
        unit: String,
        /// The units the threshold fits, as a list for the message.
        fits: String,
    },
    /// A dynamic metric (returning `Measurement`) whose declaration states no unit.
    #[error(
        "gate `{gate}` ({location}): its metric returns a dynamic `Measurement`, so the declaration must state the unit: add `unit = abs|x|%|fraction|bytes|sessions/s|events/s|subgraphs/s|ms|us`, or return `Measured<U>`"
    )]
    UndeclaredUnit {
        /// Gate name.
        gate: String,
        /// Where it is declared (`file:line`).
        location: String,
    },
    /// A declared unit that contradicts the metric's static unit.
    #[error("gate `{gate}`: `unit = {declared}` contradicts the metric's static unit `{static_unit}`")]
    ContradictoryUnit {
        /// Gate name.
        gate: String,
        /// Unit stated with `unit = ...`.
        declared: String,
        /// Unit of `Measured<U>`.
        static_unit: String,
    },
    /// The metric measured in another unit than the one its gate expects.
    #[error("gate `{gate}`: the metric measured in `{measured}`, but the declaration says `{expected}`")]
    MeasuredUnit {
        /// Gate name (empty when raised outside a gate).
        gate: String,
        /// The unit declared (or the static unit).
        expected: String,
        /// The unit of the measurement.
        measured: String,
    },
    /// The harness refused declarations before measuring anything.
    #[error("{} declaration(s) refused before anything was measured:{}", .problems.len(), bullets(.problems))]
    Preflight {
        /// One error per refused declaration.
        problems: Vec<GateError>,
    },
    /// A measured value is not a finite number.
    #[error("gate `{gate}`: measured {what} is not finite ({value})")]
    NotFinite {
        /// Gate name.
        gate: String,
        /// Which number (`value`, `interval`...).
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// Two compared outputs have different shapes.
    #[error("parity `{scenario}`, case `{case}`: reference has {reference} values, candidate has {candidate}")]
    ShapeMismatch {
        /// Scenario name.
        scenario: String,
        /// Case (session) id.
        case: String,
        /// Number of reference values.
        reference: usize,
        /// Number of candidate values.
        candidate: usize,
    },
    /// A parity scenario was given no cases.
    #[error("parity `{scenario}`: the session set is empty, nothing was compared")]
    NoCases {
        /// Scenario name.
        scenario: String,
    },
    /// A speed-up measurement was asked for fewer than three pairs.
    #[error("speed-up needs at least 3 interleaved pairs, got {pairs}")]
    TooFewPairs {
        /// Pairs asked for.
        pairs: usize,
    },
    /// A `/proc` file could not be read or parsed.
    #[error("{path}: {problem}")]
    Proc {
        /// File read.
        path: PathBuf,
        /// What was wrong (missing field, unreadable, not a number).
        problem: String,
    },
    /// Peak-heap measurement without [`CountingAllocator`](super::memory::CountingAllocator) installed.
    #[error("peak heap asked for, but `CountingAllocator` is not the #[global_allocator] of this binary")]
    AllocatorNotInstalled,
    /// A harness environment variable holds a value it cannot use.
    #[error("environment variable {var}={value:?}: {expected}")]
    Env {
        /// Variable name.
        var: &'static str,
        /// Value found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The measurements file could not be read, parsed or written.
    #[error("measurements file {path}: {problem}")]
    Sink {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A gate refers to a scenario that is not registered.
    #[error("no parity scenario named `{name}` is registered")]
    UnknownScenario {
        /// Name asked for.
        name: String,
    },
    /// The registry holds no gate: the harness refuses to pass with nothing to check.
    #[error("no gates are registered (gate! declarations missing, or `inventory` found none on this platform): refusing to pass")]
    NoGates,
    /// Two declarations share a trial name.
    #[error("trial name `{name}` is declared twice ({first} and {second})")]
    DuplicateName {
        /// The name.
        name: String,
        /// First declaration (`file:line`).
        first: String,
        /// Second declaration (`file:line`).
        second: String,
    },
    /// Detail values must serialise to JSON.
    #[error("detail `{key}` could not be serialised: {problem}")]
    Detail {
        /// Detail key.
        key: String,
        /// Serde's message.
        problem: String,
    },
}

impl GateError {
    /// A user-code error with a message (the gate name is filled in by the runner).
    ///
    /// ```
    /// use ironforge_gate::GateError;
    /// let e = GateError::msg("shard 3 is empty");
    /// assert!(e.to_string().contains("shard 3 is empty"));
    /// ```
    pub fn msg(message: impl std::fmt::Display) -> Self {
        GateError::Metric { gate: String::new(), message: message.to_string() }
    }

    /// Wraps any error from user code, keeping its chain of causes in the message.
    pub fn from_err(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        GateError::msg(message)
    }

    /// Fills the gate name of a [`GateError::Metric`] raised by user code.
    pub(crate) fn in_gate(self, name: &str) -> Self {
        match self {
            GateError::Metric { gate, message } if gate.is_empty() => {
                GateError::Metric { gate: name.to_string(), message }
            }
            GateError::MeasuredUnit { gate, expected, measured } if gate.is_empty() => {
                GateError::MeasuredUnit { gate: name.to_string(), expected, measured }
            }
            other => other,
        }
    }
}

fn bullets(problems: &[GateError]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}
