//! Output drift between two revisions: every scenario that opts in dumps its candidate's output
//! on every case ([`dump_numeric`], [`dump_exact`] into a [`DriftWriter`]), once per harness
//! process; `release-check --against REV` then compares the base revision's dump with the
//! candidate's ([`compare_dumps`]), giving one [`DriftRow`] per scenario: exact for integers,
//! max abs for floats, matched by (scenario, case id).
//!
//! One file per job:
//! - [`DriftWriter`], [`dump_numeric`], [`dump_exact`] (`writer.rs`): writing a dump;
//! - [`DriftReader`], [`DriftRecord`] (`reader.rs`): reading one back, record by record;
//! - [`compare_dumps`], [`DriftRow`], [`DriftStatus`] (`compare.rs`): comparing two dumps;
//! - this file: [`DriftError`], the values of a case ([`DriftValues`], [`DriftOutput`]) and the
//!   format's constants;
//! - `tests.rs`: the tests of all of it.
//!
//! # Dump format (version [`FORMAT_VERSION`])
//!
//! An uncompressed header, the 8 bytes `IFDRIFT\0` then the format version as a little-endian
//! `u32`, followed by one zstd stream holding the records, all little-endian:
//!
//! - a case record: tag `1` (`u8`), scenario (`u32` byte length + UTF-8), tolerance (`f64`),
//!   case id (`u32` byte length + UTF-8), kind (`u8`: `0` ints as `i64`, `1` floats as `f64`),
//!   value count (`u64`), the values;
//! - the end marker: tag `0` (`u8`), number of case records (`u64`); nothing may follow it.
//!
//! A dump without its end marker (a crashed or truncated run) is refused. The writer writes a
//! temporary file beside `<path>` and renames it to `<path>` only in [`DriftWriter::finish`]
//! ([`crate::atomic::AtomicFile`]).

use std::io;
use std::path::PathBuf;

use super::error::GateError;

mod compare;
mod reader;
mod writer;

pub use compare::{compare_dumps, DriftRow, DriftStatus};
pub use reader::{DriftReader, DriftRecord};
pub use writer::{dump_exact, dump_numeric, DriftWriter};

/// First 8 bytes of every dump.
const MAGIC: [u8; 8] = *b"IFDRIFT\0";
/// Version of the dump format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const TAG_END: u8 = 0;
const TAG_CASE: u8 = 1;
const KIND_INTS: u8 = 0;
const KIND_FLOATS: u8 = 1;
/// Longest scenario name or case id a dump holds, in bytes.
const MAX_NAME_BYTES: usize = 1 << 16;
/// Values converted per read or write call.
const CHUNK_VALUES: usize = 8192;

/// Why a drift dump could not be written, read or compared. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// The file could not be created, opened, written, synced or renamed.
    #[error("drift dump {path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`create the temporary file`, `write …`, `commit`...).
        action: String,
        /// The system's error.
        source: io::Error,
    },
    /// The file ends before its end marker: the run that wrote it crashed, or it was cut.
    #[error("drift dump {path}: truncated: {problem}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where it ends.
        problem: String,
    },
    /// The file is not a drift dump, or its content is damaged.
    #[error("drift dump {path}: corrupt: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A dump of another format version.
    #[error("drift dump {path}: format version {found}, this build reads version {expected}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// [`FORMAT_VERSION`].
        expected: u32,
    },
    /// One case id twice within one scenario of one dump.
    #[error("drift dump {path}: scenario `{scenario}` holds case `{case}` twice")]
    DuplicateCase {
        /// The file.
        path: PathBuf,
        /// Scenario name.
        scenario: String,
        /// The repeated case id.
        case: String,
    },
    /// A tolerance that is not a finite number ≥ 0.
    #[error(
        "drift dump {path}: scenario `{scenario}`, case `{case}`: tolerance {tolerance} is not a finite number >= 0"
    )]
    BadTolerance {
        /// The file.
        path: PathBuf,
        /// Scenario name.
        scenario: String,
        /// Case id.
        case: String,
        /// The tolerance given.
        tolerance: f64,
    },
    /// A case whose tolerance differs from the one of its scenario's earlier cases.
    #[error("drift dump {path}: scenario `{scenario}`, case `{case}`: tolerance {found} differs from {first}, the tolerance of the scenario's earlier cases")]
    InconsistentTolerance {
        /// The file.
        path: PathBuf,
        /// Scenario name.
        scenario: String,
        /// Case id.
        case: String,
        /// Tolerance of the scenario's first case.
        first: f64,
        /// Tolerance of this case.
        found: f64,
    },
    /// A case whose kind (ints or floats) differs from the one of its scenario's earlier cases.
    #[error("drift dump {path}: scenario `{scenario}`, case `{case}`: {found} values, but the scenario's earlier cases hold {first}")]
    MixedKinds {
        /// The file.
        path: PathBuf,
        /// Scenario name.
        scenario: String,
        /// Case id.
        case: String,
        /// Kind of the scenario's first case (`ints` or `floats`).
        first: &'static str,
        /// Kind of this case.
        found: &'static str,
    },
    /// A scenario name or case id longer than a dump holds.
    #[error(
        "drift dump {path}: scenario `{scenario}`, case `{case}`: the {what} is {len} bytes long, at most {max} fit"
    )]
    NameTooLong {
        /// The file.
        path: PathBuf,
        /// Scenario name (cut to 80 characters).
        scenario: String,
        /// Case id (cut to 80 characters).
        case: String,
        /// `scenario name` or `case id`.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The most a dump holds.
        max: usize,
    },
    /// A write failed earlier; the writer no longer accepts records.
    #[error("drift dump {path}: an earlier write failed, the dump is abandoned (scenario `{scenario}`, case `{case}` not written)")]
    Abandoned {
        /// The file.
        path: PathBuf,
        /// Scenario of the refused record (empty for `finish`).
        scenario: String,
        /// Case of the refused record (empty for `finish`).
        case: String,
    },
}

impl From<DriftError> for GateError {
    /// A drift error met while a scenario dumps, as a gate error carrying its message.
    fn from(e: DriftError) -> Self {
        GateError::from_err(&e)
    }
}

/// Values of one case's output as the drift check compares them.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftValues {
    /// Integers: compared exactly, the difference is `|a − b|`.
    Ints(Vec<i64>),
    /// Floats: compared by max abs difference; NaN matches NaN, NaN against a number is an
    /// infinite difference.
    Floats(Vec<f64>),
}

impl DriftValues {
    /// `"ints"` or `"floats"`, as [`DriftRow::kind`] spells it.
    ///
    /// ```
    /// use ironforge_gate::drift::DriftValues;
    /// assert_eq!(DriftValues::Ints(vec![1]).kind(), "ints");
    /// assert_eq!(DriftValues::Floats(vec![]).kind(), "floats");
    /// ```
    pub fn kind(&self) -> &'static str {
        kind_name(self.kind_tag())
    }

    /// Number of values.
    ///
    /// ```
    /// use ironforge_gate::drift::DriftValues;
    /// assert_eq!(DriftValues::Floats(vec![0.5, 1.5]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            DriftValues::Ints(v) => v.len(),
            DriftValues::Floats(v) => v.len(),
        }
    }

    /// No values at all.
    ///
    /// ```
    /// use ironforge_gate::drift::DriftValues;
    /// assert!(DriftValues::Ints(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn kind_tag(&self) -> u8 {
        match self {
            DriftValues::Ints(_) => KIND_INTS,
            DriftValues::Floats(_) => KIND_FLOATS,
        }
    }
}

fn kind_name(tag: u8) -> &'static str {
    if tag == KIND_INTS {
        "ints"
    } else {
        "floats"
    }
}

/// An exact scenario's output, flattened in a fixed order, with enough structure that a change
/// of shape changes the values.
///
/// Integer outputs give [`DriftValues::Ints`]: a scalar is one value (`bool` is 0 or 1); a flat
/// vector its elements (a length change is a change of the flat length); a vector of pairs
/// `a0, b0, a1, b1, …`; a vector of vectors `outer length, then per inner vector its length and
/// its elements`. Unsigned values above `i64::MAX` are stored by their bit pattern (equality
/// stays exact; the size of such a difference does not). Float outputs (`f32`, `f64` and their
/// vectors, for exact scenarios on floats) give [`DriftValues::Floats`]. A type of user code
/// implements it next to itself (ironforge's motif census does, in `src/motif/drift.rs`).
///
/// ```
/// use ironforge_gate::drift::{DriftOutput, DriftValues};
/// assert_eq!(vec![(1u32, 2u32), (3, 4)].drift_values(), DriftValues::Ints(vec![1, 2, 3, 4]));
/// assert_eq!(vec![vec![7u32], vec![]].drift_values(), DriftValues::Ints(vec![2, 1, 7, 0]));
/// assert_eq!(true.drift_values(), DriftValues::Ints(vec![1]));
/// ```
pub trait DriftOutput {
    /// The values, flattened.
    fn drift_values(&self) -> DriftValues;
}

/// `u64` by its bit pattern (values above `i64::MAX` wrap; equality stays exact).
fn wrap_u64(x: u64) -> i64 {
    x as i64
}

/// `usize` by its bit pattern (see [`wrap_u64`]).
fn wrap_usize(x: usize) -> i64 {
    x as i64
}

fn same(x: i64) -> i64 {
    x
}

macro_rules! drift_ints {
    ($($t:ty => $conv:path),* $(,)?) => {$(
        impl DriftOutput for $t {
            fn drift_values(&self) -> DriftValues {
                DriftValues::Ints(vec![$conv(*self)])
            }
        }
        impl DriftOutput for Vec<$t> {
            fn drift_values(&self) -> DriftValues {
                DriftValues::Ints(self.iter().map(|&x| $conv(x)).collect())
            }
        }
        impl DriftOutput for Vec<($t, $t)> {
            fn drift_values(&self) -> DriftValues {
                DriftValues::Ints(self.iter().flat_map(|&(a, b)| [$conv(a), $conv(b)]).collect())
            }
        }
        impl DriftOutput for Vec<Vec<$t>> {
            fn drift_values(&self) -> DriftValues {
                let mut out = Vec::with_capacity(1 + self.len() + self.iter().map(Vec::len).sum::<usize>());
                out.push(wrap_usize(self.len()));
                for inner in self {
                    out.push(wrap_usize(inner.len()));
                    out.extend(inner.iter().map(|&x| $conv(x)));
                }
                DriftValues::Ints(out)
            }
        }
    )*};
}
drift_ints!(
    u8 => i64::from,
    u16 => i64::from,
    u32 => i64::from,
    u64 => wrap_u64,
    usize => wrap_usize,
    i8 => i64::from,
    i16 => i64::from,
    i32 => i64::from,
    i64 => same,
);

impl DriftOutput for bool {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Ints(vec![i64::from(*self)])
    }
}

impl DriftOutput for Vec<bool> {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Ints(self.iter().map(|&b| i64::from(b)).collect())
    }
}

impl DriftOutput for f64 {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Floats(vec![*self])
    }
}

impl DriftOutput for f32 {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Floats(vec![f64::from(*self)])
    }
}

impl DriftOutput for Vec<f64> {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Floats(self.clone())
    }
}

impl DriftOutput for Vec<f32> {
    fn drift_values(&self) -> DriftValues {
        DriftValues::Floats(self.iter().map(|&x| f64::from(x)).collect())
    }
}

#[cfg(test)]
mod tests;
