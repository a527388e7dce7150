//! Output drift between two revisions: every scenario that opts in dumps its candidate's output
//! on every case ([`dump_numeric`], [`dump_exact`] into a [`DriftWriter`]), once per harness
//! process; `release-check --against REV` then compares the base revision's dump with the
//! candidate's ([`compare_dumps`]), giving one [`DriftRow`] per scenario: exact for integers,
//! max abs for floats, matched by (scenario, case id).
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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::context::GateContext;
use super::error::GateError;
use super::parity::{CasesFn, NumericOutput, OutputFn, ParityCase};
use crate::atomic::AtomicFile;

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
/// zstd level: fast, and kernel outputs (f64 noise) compress little at any level.
const ZSTD_LEVEL: i32 = 3;

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

/// At most 80 characters of a name, for error messages.
fn cut(name: &str) -> String {
    name.chars().take(80).collect()
}

type Encoder = zstd::stream::write::Encoder<'static, AtomicFile>;

struct WriterState {
    encoder: Encoder,
    records: u64,
    /// Tolerance and kind per scenario (from its first case).
    scenarios: HashMap<String, (f64, u8)>,
    /// Case ids written, per scenario.
    cases: HashMap<String, HashSet<String>>,
    buf: Vec<u8>,
}

/// Streaming writer of one harness process's dump (format: the [module docs](self)).
///
/// It writes a temporary file `.<name>.tmp-<pid>-<n>` beside `<path>` and renames it to `<path>`
/// in [`finish`](Self::finish) ([`AtomicFile`]); dropped without `finish`, it removes the
/// temporary file, and a crashed process leaves at most the temporary file, never a file under
/// the final name. [`create`](Self::create) removes an earlier dump at `path`, so that a run
/// that fails leaves no stale dump to compare.
///
/// ```
/// use ironforge_gate::drift::{DriftReader, DriftValues, DriftWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("drift.bin");
/// let mut w = DriftWriter::create(&path).unwrap();
/// w.write_case("sort", 0.0, "keys_17", &DriftValues::Ints(vec![1, 2, 3])).unwrap();
/// w.finish().unwrap();
/// let records: Vec<_> = DriftReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!((records[0].scenario.as_str(), records[0].case_id.as_str()), ("sort", "keys_17"));
/// ```
pub struct DriftWriter {
    path: PathBuf,
    /// `None` once finished or after a failed write (dropping it removes the temporary file).
    state: Option<WriterState>,
    finished: bool,
}

impl fmt::Debug for DriftWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriftWriter")
            .field("path", &self.path)
            .field("records", &self.state.as_ref().map(|s| s.records))
            .field("finished", &self.finished)
            .finish()
    }
}

impl DriftWriter {
    /// Starts a dump at `path` (written to a temporary file beside it until
    /// [`finish`](Self::finish)).
    ///
    /// ```
    /// use ironforge_gate::drift::DriftWriter;
    /// let dir = tempfile::tempdir().unwrap();
    /// let w = DriftWriter::create(&dir.path().join("d.bin")).unwrap();
    /// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file");
    /// assert!(!dir.path().join("d.bin").exists());
    /// drop(w);
    /// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    /// ```
    pub fn create(path: &Path) -> Result<Self, DriftError> {
        let io_err =
            |action: &str, source| DriftError::Io { path: path.to_path_buf(), action: action.to_string(), source };
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove the earlier dump", e)),
        }
        // Dropped on any early return, `out` removes its temporary file.
        let mut out = AtomicFile::create(path).map_err(|e| io_err("create the temporary file", e))?;
        out.write_all(&MAGIC)
            .and_then(|()| out.write_all(&FORMAT_VERSION.to_le_bytes()))
            .map_err(|e| io_err("write the header", e))?;
        let encoder = Encoder::new(out, ZSTD_LEVEL).map_err(|e| io_err("start compression", e))?;
        let state = WriterState {
            encoder,
            records: 0,
            scenarios: HashMap::new(),
            cases: HashMap::new(),
            buf: Vec::with_capacity(CHUNK_VALUES * 8),
        };
        Ok(DriftWriter { path: path.to_path_buf(), state: Some(state), finished: false })
    }

    /// The final path of the dump.
    ///
    /// ```
    /// use ironforge_gate::drift::DriftWriter;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("d.bin");
    /// assert_eq!(DriftWriter::create(&path).unwrap().path(), path.as_path());
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one case's values. Refused (nothing written): a case id already written for the
    /// scenario, a tolerance that is not finite and ≥ 0 or differs from the scenario's earlier
    /// cases, a kind other than the scenario's earlier cases', a name over 64 KiB.
    ///
    /// ```
    /// use ironforge_gate::drift::{DriftValues, DriftWriter};
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut w = DriftWriter::create(&dir.path().join("d.bin")).unwrap();
    /// w.write_case("kernel", 1e-6, "s1", &DriftValues::Floats(vec![0.25])).unwrap();
    /// assert!(w.write_case("kernel", 1e-6, "s1", &DriftValues::Floats(vec![0.25])).is_err());
    /// ```
    pub fn write_case(
        &mut self,
        scenario: &str,
        tolerance: f64,
        case_id: &str,
        values: &DriftValues,
    ) -> Result<(), DriftError> {
        let path = &self.path;
        let Some(state) = self.state.as_mut() else {
            return Err(DriftError::Abandoned {
                path: path.clone(),
                scenario: scenario.to_string(),
                case: case_id.to_string(),
            });
        };
        for (what, name) in [("scenario name", scenario), ("case id", case_id)] {
            if name.len() > MAX_NAME_BYTES {
                return Err(DriftError::NameTooLong {
                    path: path.clone(),
                    scenario: cut(scenario),
                    case: cut(case_id),
                    what,
                    len: name.len(),
                    max: MAX_NAME_BYTES,
                });
            }
        }
        check_case(path, &mut state.scenarios, scenario, tolerance, case_id, values.kind_tag())?;
        if !state.cases.entry(scenario.to_string()).or_default().insert(case_id.to_string()) {
            return Err(DriftError::DuplicateCase {
                path: path.clone(),
                scenario: scenario.to_string(),
                case: case_id.to_string(),
            });
        }
        let written = write_record(state, scenario, tolerance, case_id, values);
        if let Err(source) = written {
            self.state = None;
            return Err(DriftError::Io {
                path: self.path.clone(),
                action: format!("write scenario `{scenario}`, case `{case_id}`"),
                source,
            });
        }
        state.records += 1;
        Ok(())
    }

    /// Writes the end marker, syncs the temporary file and renames it to the final path.
    ///
    /// ```
    /// use ironforge_gate::drift::DriftWriter;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("d.bin");
    /// DriftWriter::create(&path).unwrap().finish().unwrap();
    /// assert!(path.exists());
    /// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    /// ```
    pub fn finish(mut self) -> Result<(), DriftError> {
        let Some(mut state) = self.state.take() else {
            return Err(DriftError::Abandoned {
                path: self.path.clone(),
                scenario: String::new(),
                case: String::new(),
            });
        };
        let io_err =
            |action: &str, source| DriftError::Io { path: self.path.clone(), action: action.to_string(), source };
        state.buf.clear();
        state.buf.push(TAG_END);
        state.buf.extend_from_slice(&state.records.to_le_bytes());
        state.encoder.write_all(&state.buf).map_err(|e| io_err("write the end marker", e))?;
        let out = state.encoder.finish().map_err(|e| io_err("finish compression", e))?;
        out.commit().map_err(|e| io_err("commit", e))?;
        self.finished = true;
        Ok(())
    }
}

/// Checks a case's tolerance and kind against its scenario's earlier cases (recording them on
/// the scenario's first case).
fn check_case(
    path: &Path,
    scenarios: &mut HashMap<String, (f64, u8)>,
    scenario: &str,
    tolerance: f64,
    case_id: &str,
    kind: u8,
) -> Result<(), DriftError> {
    if !tolerance.is_finite() || tolerance < 0.0 {
        return Err(DriftError::BadTolerance {
            path: path.to_path_buf(),
            scenario: scenario.to_string(),
            case: case_id.to_string(),
            tolerance,
        });
    }
    let &mut (first_tolerance, first_kind) = scenarios.entry(scenario.to_string()).or_insert((tolerance, kind));
    if first_tolerance.to_bits() != tolerance.to_bits() {
        return Err(DriftError::InconsistentTolerance {
            path: path.to_path_buf(),
            scenario: scenario.to_string(),
            case: case_id.to_string(),
            first: first_tolerance,
            found: tolerance,
        });
    }
    if first_kind != kind {
        return Err(DriftError::MixedKinds {
            path: path.to_path_buf(),
            scenario: scenario.to_string(),
            case: case_id.to_string(),
            first: kind_name(first_kind),
            found: kind_name(kind),
        });
    }
    Ok(())
}

fn write_record(
    state: &mut WriterState,
    scenario: &str,
    tolerance: f64,
    case_id: &str,
    values: &DriftValues,
) -> io::Result<()> {
    let buf = &mut state.buf;
    buf.clear();
    buf.push(TAG_CASE);
    // Lengths are at most MAX_NAME_BYTES (checked by the caller), so they fit a u32.
    buf.extend_from_slice(&(scenario.len() as u32).to_le_bytes());
    buf.extend_from_slice(scenario.as_bytes());
    buf.extend_from_slice(&tolerance.to_le_bytes());
    buf.extend_from_slice(&(case_id.len() as u32).to_le_bytes());
    buf.extend_from_slice(case_id.as_bytes());
    buf.push(values.kind_tag());
    buf.extend_from_slice(&(values.len() as u64).to_le_bytes());
    state.encoder.write_all(buf)?;
    match values {
        DriftValues::Ints(v) => write_chunks(&mut state.encoder, buf, v, |x| x.to_le_bytes()),
        DriftValues::Floats(v) => write_chunks(&mut state.encoder, buf, v, |x| x.to_le_bytes()),
    }
}

fn write_chunks<T: Copy>(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    values: &[T],
    bytes: fn(T) -> [u8; 8],
) -> io::Result<()> {
    for chunk in values.chunks(CHUNK_VALUES) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&bytes(x));
        }
        out.write_all(buf)?;
    }
    Ok(())
}

/// One case of a dump.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRecord {
    /// Scenario name.
    pub scenario: String,
    /// The scenario's drift tolerance, as declared by the revision that wrote the dump.
    pub tolerance: f64,
    /// Case id.
    pub case_id: String,
    /// The candidate's output on the case.
    pub values: DriftValues,
}

/// A record without its values (read next, or skipped).
#[derive(Debug)]
struct RecordHead {
    scenario: String,
    tolerance: f64,
    case_id: String,
    kind: u8,
    len: u64,
}

type Decoder = zstd::stream::read::Decoder<'static, io::BufReader<File>>;

/// Reads a dump's records in file order, one at a time (values of one case in memory at once).
/// The end marker is checked when it is reached: a truncated or corrupt dump gives an error
/// naming the file, never a short list of records.
///
/// ```
/// use ironforge_gate::drift::{DriftReader, DriftValues, DriftWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("d.bin");
/// let mut w = DriftWriter::create(&path).unwrap();
/// w.write_case("sum", 1e-6, "ramp", &DriftValues::Floats(vec![0.5])).unwrap();
/// w.finish().unwrap();
/// let mut r = DriftReader::open(&path).unwrap();
/// let rec = r.next_record().unwrap().unwrap();
/// assert_eq!((rec.tolerance, rec.values), (1e-6, DriftValues::Floats(vec![0.5])));
/// assert!(r.next_record().unwrap().is_none());
/// ```
pub struct DriftReader {
    path: PathBuf,
    decoder: Decoder,
    /// Case records read so far.
    records: u64,
    /// End marker reached, or an error returned.
    done: bool,
    buf: Vec<u8>,
}

impl fmt::Debug for DriftReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriftReader")
            .field("path", &self.path)
            .field("records", &self.records)
            .field("done", &self.done)
            .finish()
    }
}

impl DriftReader {
    /// Opens a dump and checks its header (magic and version).
    ///
    /// ```
    /// use ironforge_gate::drift::DriftReader;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("not_a_dump.bin");
    /// std::fs::write(&path, b"hello").unwrap();
    /// let err = DriftReader::open(&path).unwrap_err();
    /// assert!(err.to_string().contains("not_a_dump.bin"));
    /// ```
    pub fn open(path: &Path) -> Result<Self, DriftError> {
        let mut file = File::open(path).map_err(|source| DriftError::Io {
            path: path.to_path_buf(),
            action: "open".to_string(),
            source,
        })?;
        let mut header = [0u8; 12];
        file.read_exact(&mut header).map_err(|e| read_error(path, e, || "inside the header".to_string()))?;
        if header[..8] != MAGIC {
            return Err(DriftError::Corrupt {
                path: path.to_path_buf(),
                problem: "not a drift dump (bad magic bytes)".to_string(),
            });
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != FORMAT_VERSION {
            return Err(DriftError::Version { path: path.to_path_buf(), found: version, expected: FORMAT_VERSION });
        }
        let decoder = Decoder::new(file).map_err(|source| DriftError::Io {
            path: path.to_path_buf(),
            action: "start decompression".to_string(),
            source,
        })?;
        Ok(DriftReader { path: path.to_path_buf(), decoder, records: 0, done: false, buf: Vec::new() })
    }

    /// The file read.
    ///
    /// ```
    /// use ironforge_gate::drift::{DriftReader, DriftWriter};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("d.bin");
    /// DriftWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(DriftReader::open(&path).unwrap().path(), path.as_path());
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next record, or `None` after the end marker (checked: record count, nothing after
    /// it). After an error, every call returns `None`.
    ///
    /// ```
    /// use ironforge_gate::drift::{DriftReader, DriftWriter};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("empty.bin");
    /// DriftWriter::create(&path).unwrap().finish().unwrap();
    /// assert!(DriftReader::open(&path).unwrap().next_record().unwrap().is_none());
    /// ```
    pub fn next_record(&mut self) -> Result<Option<DriftRecord>, DriftError> {
        let Some(head) = self.next_head()? else {
            return Ok(None);
        };
        let values = self.read_values(&head)?;
        Ok(Some(DriftRecord { scenario: head.scenario, tolerance: head.tolerance, case_id: head.case_id, values }))
    }

    /// Runs `f`, marking the reader done when it fails.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, DriftError>) -> Result<T, DriftError> {
        let result = f(self);
        if result.is_err() {
            self.done = true;
        }
        result
    }

    fn next_head(&mut self) -> Result<Option<RecordHead>, DriftError> {
        if self.done {
            return Ok(None);
        }
        self.guarded(Self::read_head)
    }

    fn read_head(&mut self) -> Result<Option<RecordHead>, DriftError> {
        let nth = self.records + 1;
        let tag = self.read_array::<1>(|| format!("before the end marker (after {} records)", nth - 1))?[0];
        match tag {
            TAG_END => {
                let count = u64::from_le_bytes(self.read_array::<8>(|| "inside the end marker".to_string())?);
                if count != self.records {
                    return Err(
                        self.corrupt(format!("the end marker counts {count} records, the file holds {}", self.records))
                    );
                }
                let mut probe = [0u8; 1];
                let extra = self
                    .decoder
                    .read(&mut probe)
                    .map_err(|e| read_error(&self.path, e, || "after the end marker".to_string()))?;
                if extra != 0 {
                    return Err(self.corrupt("data after the end marker".to_string()));
                }
                self.done = true;
                Ok(None)
            }
            TAG_CASE => {
                let scenario = self.read_name(|| format!("inside the scenario name of record {nth}"))?;
                let tolerance = f64::from_le_bytes(
                    self.read_array::<8>(|| format!("inside record {nth} (scenario `{scenario}`)"))?,
                );
                let case_id =
                    self.read_name(|| format!("inside the case id of record {nth} (scenario `{scenario}`)"))?;
                let where_ = || format!("inside record {nth} (scenario `{scenario}`, case `{case_id}`)");
                let kind = self.read_array::<1>(where_)?[0];
                if kind != KIND_INTS && kind != KIND_FLOATS {
                    return Err(self.corrupt(format!(
                        "record {nth} (scenario `{scenario}`, case `{case_id}`) has unknown kind {kind}"
                    )));
                }
                let len = u64::from_le_bytes(self.read_array::<8>(where_)?);
                if !tolerance.is_finite() || tolerance < 0.0 {
                    return Err(self.corrupt(format!(
                        "record {nth} (scenario `{scenario}`, case `{case_id}`) has tolerance {tolerance}"
                    )));
                }
                self.records += 1;
                Ok(Some(RecordHead { scenario, tolerance, case_id, kind, len }))
            }
            other => Err(self.corrupt(format!("unknown record tag {other} at record {nth}"))),
        }
    }

    fn corrupt(&self, problem: String) -> DriftError {
        DriftError::Corrupt { path: self.path.clone(), problem }
    }

    fn read_array<const N: usize>(&mut self, where_: impl FnOnce() -> String) -> Result<[u8; N], DriftError> {
        let mut bytes = [0u8; N];
        self.decoder.read_exact(&mut bytes).map_err(|e| read_error(&self.path, e, where_))?;
        Ok(bytes)
    }

    fn read_name(&mut self, where_: impl Fn() -> String) -> Result<String, DriftError> {
        let len = u32::from_le_bytes(self.read_array::<4>(&where_)?) as usize;
        if len > MAX_NAME_BYTES {
            return Err(self.corrupt(format!("a name of {len} bytes {}", where_())));
        }
        let mut bytes = vec![0u8; len];
        self.decoder.read_exact(&mut bytes).map_err(|e| read_error(&self.path, e, &where_))?;
        String::from_utf8(bytes).map_err(|_| self.corrupt(format!("a name that is not UTF-8 {}", where_())))
    }

    fn read_values(&mut self, head: &RecordHead) -> Result<DriftValues, DriftError> {
        self.guarded(|r| match head.kind {
            KIND_INTS => r.read_chunks(head, i64::from_le_bytes).map(DriftValues::Ints),
            _ => r.read_chunks(head, f64::from_le_bytes).map(DriftValues::Floats),
        })
    }

    fn read_chunks<T>(&mut self, head: &RecordHead, from: fn([u8; 8]) -> T) -> Result<Vec<T>, DriftError> {
        // The count comes from the file: reserve by what was read, never by what it claims.
        let mut out = Vec::with_capacity(usize::try_from(head.len).unwrap_or(usize::MAX).min(CHUNK_VALUES));
        let mut left = head.len;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK_VALUES);
            self.buf.resize(n * 8, 0);
            self.decoder.read_exact(&mut self.buf).map_err(|e| {
                read_error(&self.path, e, || {
                    format!("inside the values of scenario `{}`, case `{}`", head.scenario, head.case_id)
                })
            })?;
            out.extend(self.buf.chunks_exact(8).map(|b| from([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])));
            left -= n as u64;
        }
        Ok(out)
    }

    fn skip_values(&mut self, head: &RecordHead) -> Result<(), DriftError> {
        self.guarded(|r| {
            let bytes = head.len.checked_mul(8).ok_or_else(|| {
                r.corrupt(format!("scenario `{}`, case `{}` claims {} values", head.scenario, head.case_id, head.len))
            })?;
            let copied = io::copy(&mut (&mut r.decoder).take(bytes), &mut io::sink()).map_err(|e| {
                read_error(&r.path, e, || {
                    format!("inside the values of scenario `{}`, case `{}`", head.scenario, head.case_id)
                })
            })?;
            if copied != bytes {
                return Err(DriftError::Truncated {
                    path: r.path.clone(),
                    problem: format!("ends inside the values of scenario `{}`, case `{}`", head.scenario, head.case_id),
                });
            }
            Ok(())
        })
    }
}

impl Iterator for DriftReader {
    type Item = Result<DriftRecord, DriftError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

fn read_error(path: &Path, e: io::Error, where_: impl FnOnce() -> String) -> DriftError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        DriftError::Truncated { path: path.to_path_buf(), problem: format!("ends {}", where_()) }
    } else {
        DriftError::Corrupt { path: path.to_path_buf(), problem: format!("cannot read {}: {e}", where_()) }
    }
}

/// Runs a numeric scenario's cases function, then its candidate on every case, and writes each
/// output (as floats, [`NumericOutput::flat_values`]). Returns the number of cases.
///
/// ```
/// use ironforge_gate::drift::{dump_numeric, DriftReader, DriftWriter};
/// use ironforge_gate::parity::Case;
/// use ironforge_gate::{GateContext, GateError};
///
/// fn cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
///     Ok(vec![Case::new("a", vec![1.0, 2.0]), Case::new("b", vec![3.0])])
/// }
/// fn doubled(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
///     Ok(c.data.iter().map(|x| 2.0 * x).collect())
/// }
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("d.bin");
/// let mut w = DriftWriter::create(&path).unwrap();
/// let ctx = GateContext::for_test("doubling");
/// assert_eq!(dump_numeric(&ctx, "doubling", 1e-9, cases, doubled, &mut w).unwrap(), 2);
/// w.finish().unwrap();
/// assert_eq!(DriftReader::open(&path).unwrap().count(), 2);
/// ```
pub fn dump_numeric<C: ParityCase, O: NumericOutput>(
    ctx: &GateContext,
    scenario: &str,
    tolerance: f64,
    cases: CasesFn<C>,
    candidate: OutputFn<C, O>,
    out: &mut DriftWriter,
) -> Result<usize, GateError> {
    dump_with(ctx, scenario, tolerance, cases, candidate, out, |o| DriftValues::Floats(o.flat_values()))
}

/// Runs an exact scenario's cases function, then its candidate on every case, and writes each
/// output ([`DriftOutput::drift_values`]). Returns the number of cases.
///
/// ```
/// use ironforge_gate::drift::{dump_exact, DriftReader, DriftValues, DriftWriter};
/// use ironforge_gate::parity::Case;
/// use ironforge_gate::{GateContext, GateError};
///
/// fn cases(_: &GateContext) -> Result<Vec<Case<u64>>, GateError> {
///     Ok(vec![Case::new("k", vec![3, 1, 2])])
/// }
/// fn sorted(_: &GateContext, c: &Case<u64>) -> Result<Vec<u64>, GateError> {
///     let mut v = c.data.clone();
///     v.sort_unstable();
///     Ok(v)
/// }
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("d.bin");
/// let mut w = DriftWriter::create(&path).unwrap();
/// assert_eq!(dump_exact(&GateContext::for_test("sort"), "sort", 0.0, cases, sorted, &mut w).unwrap(), 1);
/// w.finish().unwrap();
/// let rec = DriftReader::open(&path).unwrap().next().unwrap().unwrap();
/// assert_eq!(rec.values, DriftValues::Ints(vec![1, 2, 3]));
/// ```
pub fn dump_exact<C: ParityCase, O: DriftOutput>(
    ctx: &GateContext,
    scenario: &str,
    tolerance: f64,
    cases: CasesFn<C>,
    candidate: OutputFn<C, O>,
    out: &mut DriftWriter,
) -> Result<usize, GateError> {
    dump_with(ctx, scenario, tolerance, cases, candidate, out, DriftOutput::drift_values)
}

fn dump_with<C: ParityCase, O>(
    ctx: &GateContext,
    scenario: &str,
    tolerance: f64,
    cases: CasesFn<C>,
    candidate: OutputFn<C, O>,
    out: &mut DriftWriter,
    values: impl Fn(&O) -> DriftValues,
) -> Result<usize, GateError> {
    let cases = cases(ctx)?;
    if cases.is_empty() {
        return Err(GateError::NoCases { scenario: scenario.to_string() });
    }
    for case in &cases {
        let output = candidate(ctx, case)?;
        out.write_case(scenario, tolerance, &case.case_id(), &values(&output))?;
    }
    Ok(cases.len())
}

/// How a scenario's outputs moved between the base's dump and the candidate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Every case in both dumps, every value equal.
    Unchanged,
    /// Some values changed, all by at most the tolerance.
    Within,
    /// A change beyond the tolerance (a length or kind change included), or cases present in
    /// one dump only: fails the release check.
    Drifted,
    /// Scenario only in the candidate's dump (not a failure).
    New,
    /// Scenario only in the base's dump (reported, not a failure).
    Gone,
}

/// One scenario's comparison of two dumps.
///
/// JSON: `largest_difference` is a number when finite and the string `"inf"` when infinite (a
/// length or kind change, or NaN against a number); serde_json cannot write infinity as a
/// number. Reading accepts both forms (and `"-inf"`, `"nan"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRow {
    /// Scenario name.
    pub scenario: String,
    /// `"ints"` or `"floats"`: the candidate's kind (the base's for a [`DriftStatus::Gone`] row).
    pub kind: String,
    /// Allowed largest difference, from the candidate's dump (the base's for a `Gone` row).
    pub tolerance: f64,
    /// Cases present in both dumps.
    pub cases: usize,
    /// Cases whose values differ at all (any nonzero difference, a length or kind change).
    pub cases_changed: usize,
    /// Largest absolute difference over all cases present in both (ints: `|a − b|`); infinite
    /// for a length or kind change or NaN against a number; 0 when nothing changed.
    #[serde(with = "float_or_inf")]
    pub largest_difference: f64,
    /// Case of the largest difference (the first in the candidate's order on ties); `None`
    /// when nothing changed.
    pub worst_case: Option<String>,
    /// Flat index of the largest difference in [`worst_case`](Self::worst_case)'s values;
    /// `None` when nothing changed or the worst case changed length or kind.
    pub worst_index: Option<usize>,
    /// Case ids only the base's dump holds, in its order.
    pub only_in_base: Vec<String>,
    /// Case ids only the candidate's dump holds, in its order.
    pub only_in_candidate: Vec<String>,
    /// The verdict.
    pub status: DriftStatus,
}

impl DriftRow {
    /// Whether the row fails the release check (status [`DriftStatus::Drifted`]).
    ///
    /// ```
    /// use ironforge_gate::drift::{DriftRow, DriftStatus};
    /// let row = DriftRow {
    ///     scenario: "dag_edges".into(), kind: "ints".into(), tolerance: 0.0, cases: 3, cases_changed: 1,
    ///     largest_difference: 1.0, worst_case: Some("s2".into()), worst_index: Some(4),
    ///     only_in_base: vec![], only_in_candidate: vec![], status: DriftStatus::Drifted,
    /// };
    /// assert!(row.fails());
    /// assert!(!DriftRow { status: DriftStatus::New, ..row }.fails());
    /// ```
    pub fn fails(&self) -> bool {
        self.status == DriftStatus::Drifted
    }
}

/// (De)serializes an `f64` that may be infinite: a number when finite, otherwise the string
/// `"inf"`, `"-inf"` or `"nan"`.
mod float_or_inf {
    use std::fmt;

    use serde::de::{self, Visitor};

    use super::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    struct FloatOrInf;

    impl Visitor<'_> for FloatOrInf {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, \"inf\", \"-inf\" or \"nan\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
            }
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(FloatOrInf)
    }
}

/// One scenario in one dump: its cases in file order, without their values.
#[derive(Debug)]
struct ScenarioIndex {
    name: String,
    tolerance: f64,
    kind: u8,
    cases: Vec<String>,
    /// Ordinals (0-based, file order) of its first and last record.
    first: u64,
    last: u64,
}

/// What a dump holds, without values: scenarios in order of first appearance.
#[derive(Debug)]
struct DumpIndex {
    scenarios: Vec<ScenarioIndex>,
    by_name: HashMap<String, usize>,
}

impl DumpIndex {
    /// Reads the whole dump once (values skipped), checking it end to end.
    fn build(path: &Path) -> Result<Self, DriftError> {
        let mut reader = DriftReader::open(path)?;
        let mut index = DumpIndex { scenarios: Vec::new(), by_name: HashMap::new() };
        let mut first_seen: HashMap<String, (f64, u8)> = HashMap::new();
        let mut seen_cases: HashMap<String, HashSet<String>> = HashMap::new();
        let mut ordinal = 0u64;
        while let Some(head) = reader.next_head()? {
            reader.skip_values(&head)?;
            check_case(path, &mut first_seen, &head.scenario, head.tolerance, &head.case_id, head.kind)?;
            if !seen_cases.entry(head.scenario.clone()).or_default().insert(head.case_id.clone()) {
                return Err(DriftError::DuplicateCase {
                    path: path.to_path_buf(),
                    scenario: head.scenario,
                    case: head.case_id,
                });
            }
            let at = *index.by_name.entry(head.scenario.clone()).or_insert_with(|| {
                index.scenarios.push(ScenarioIndex {
                    name: head.scenario.clone(),
                    tolerance: head.tolerance,
                    kind: head.kind,
                    cases: Vec::new(),
                    first: ordinal,
                    last: ordinal,
                });
                index.scenarios.len() - 1
            });
            let s = &mut index.scenarios[at];
            s.cases.push(head.case_id);
            s.last = ordinal;
            ordinal += 1;
        }
        Ok(index)
    }

    fn get(&self, name: &str) -> Option<&ScenarioIndex> {
        self.by_name.get(name).map(|&i| &self.scenarios[i])
    }
}

/// A reader that can be positioned at a record ordinal: forward by skipping values, backward
/// by reopening the file. When both dumps list scenarios in the same order, each file is read
/// once more after indexing.
struct Cursor<'a> {
    path: &'a Path,
    reader: Option<DriftReader>,
    /// Ordinal of the next record the reader returns.
    next: u64,
}

impl<'a> Cursor<'a> {
    fn new(path: &'a Path) -> Self {
        Cursor { path, reader: None, next: 0 }
    }

    /// Calls `f` on every record of `scenario` within its ordinal range, in file order.
    fn for_each_in(
        &mut self,
        s: &ScenarioIndex,
        mut f: impl FnMut(String, DriftValues) -> Result<(), DriftError>,
    ) -> Result<(), DriftError> {
        let reader = match self.reader.take() {
            Some(r) if self.next <= s.first => self.reader.insert(r),
            _ => {
                self.next = 0;
                self.reader.insert(DriftReader::open(self.path)?)
            }
        };
        while self.next <= s.last {
            let head = reader.next_head()?.ok_or_else(|| DriftError::Corrupt {
                path: self.path.to_path_buf(),
                problem: "the file changed while it was compared".to_string(),
            })?;
            self.next += 1;
            if self.next > s.first && head.scenario == s.name {
                let values = reader.read_values(&head)?;
                f(head.case_id, values)?;
            } else {
                reader.skip_values(&head)?;
            }
        }
        Ok(())
    }
}

/// Difference of one case: changed at all, largest difference, where.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CaseDiff {
    changed: bool,
    largest: f64,
    index: Option<usize>,
}

fn case_diff(base: &DriftValues, candidate: &DriftValues) -> CaseDiff {
    let shape_change = CaseDiff { changed: true, largest: f64::INFINITY, index: None };
    match (base, candidate) {
        (DriftValues::Ints(a), DriftValues::Ints(b)) if a.len() == b.len() => {
            fold_diffs(a.iter().zip(b).map(|(&x, &y)| (i128::from(x) - i128::from(y)).unsigned_abs() as f64))
        }
        (DriftValues::Floats(a), DriftValues::Floats(b)) if a.len() == b.len() => {
            fold_diffs(a.iter().zip(b).map(|(&x, &y)| {
                if x == y || (x.is_nan() && y.is_nan()) {
                    0.0
                } else {
                    let d = (x - y).abs();
                    // NaN against a number (a NaN difference) is an infinite one.
                    if d.is_nan() {
                        f64::INFINITY
                    } else {
                        d
                    }
                }
            }))
        }
        _ => shape_change,
    }
}

fn fold_diffs(diffs: impl Iterator<Item = f64>) -> CaseDiff {
    let mut out = CaseDiff { changed: false, largest: 0.0, index: None };
    for (i, d) in diffs.enumerate() {
        if d != 0.0 && (out.index.is_none() || d > out.largest) {
            out = CaseDiff { changed: true, largest: d, index: Some(i) };
        }
    }
    out
}

/// Compares a base revision's dump with a candidate's: one row per scenario present in either,
/// sorted by scenario name, matching cases by (scenario, case id) in any order.
///
/// Both files are read through once to check them end to end (a truncated or corrupt dump, a
/// case id twice in a scenario: an error naming the file); then scenario by scenario, the
/// base's values of that scenario are held in memory while the candidate's cases stream past.
///
/// ```
/// use ironforge_gate::drift::{compare_dumps, DriftStatus, DriftValues, DriftWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let dump = |name: &str, x: f64| {
///     let path = dir.path().join(name);
///     let mut w = DriftWriter::create(&path).unwrap();
///     w.write_case("kernel", 1e-6, "s1", &DriftValues::Floats(vec![1.0, x])).unwrap();
///     w.finish().unwrap();
///     path
/// };
/// let rows = compare_dumps(&dump("base.bin", 2.0), &dump("cand.bin", 2.0 + 1e-7)).unwrap();
/// assert_eq!(rows[0].status, DriftStatus::Within);
/// assert_eq!((rows[0].worst_case.as_deref(), rows[0].worst_index), (Some("s1"), Some(1)));
/// ```
pub fn compare_dumps(base: &Path, candidate: &Path) -> Result<Vec<DriftRow>, DriftError> {
    let base_index = DumpIndex::build(base)?;
    let cand_index = DumpIndex::build(candidate)?;
    let mut base_cursor = Cursor::new(base);
    let mut cand_cursor = Cursor::new(candidate);
    let mut rows = Vec::with_capacity(base_index.scenarios.len().max(cand_index.scenarios.len()));
    for c in &cand_index.scenarios {
        let row = match base_index.get(&c.name) {
            None => one_sided(c, DriftStatus::New),
            Some(b) => compare_scenario(b, c, &mut base_cursor, &mut cand_cursor)?,
        };
        rows.push(row);
    }
    for b in &base_index.scenarios {
        if cand_index.get(&b.name).is_none() {
            rows.push(one_sided(b, DriftStatus::Gone));
        }
    }
    rows.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    Ok(rows)
}

fn one_sided(s: &ScenarioIndex, status: DriftStatus) -> DriftRow {
    let (only_in_base, only_in_candidate) =
        if status == DriftStatus::Gone { (s.cases.clone(), Vec::new()) } else { (Vec::new(), s.cases.clone()) };
    DriftRow {
        scenario: s.name.clone(),
        kind: kind_name(s.kind).to_string(),
        tolerance: s.tolerance,
        cases: 0,
        cases_changed: 0,
        largest_difference: 0.0,
        worst_case: None,
        worst_index: None,
        only_in_base,
        only_in_candidate,
        status,
    }
}

fn compare_scenario(
    b: &ScenarioIndex,
    c: &ScenarioIndex,
    base_cursor: &mut Cursor<'_>,
    cand_cursor: &mut Cursor<'_>,
) -> Result<DriftRow, DriftError> {
    let mut base_values: HashMap<String, DriftValues> = HashMap::with_capacity(b.cases.len());
    base_cursor.for_each_in(b, |case, values| {
        base_values.insert(case, values);
        Ok(())
    })?;
    let mut row = DriftRow {
        scenario: c.name.clone(),
        kind: kind_name(c.kind).to_string(),
        tolerance: c.tolerance,
        cases: 0,
        cases_changed: 0,
        largest_difference: 0.0,
        worst_case: None,
        worst_index: None,
        only_in_base: Vec::new(),
        only_in_candidate: Vec::new(),
        status: DriftStatus::Unchanged,
    };
    cand_cursor.for_each_in(c, |case, values| {
        // Removing frees the base's values of the case as soon as it is compared.
        let Some(base) = base_values.remove(&case) else {
            row.only_in_candidate.push(case);
            return Ok(());
        };
        row.cases += 1;
        let d = case_diff(&base, &values);
        if d.changed {
            row.cases_changed += 1;
            if row.worst_case.is_none() || d.largest > row.largest_difference {
                row.largest_difference = d.largest;
                row.worst_case = Some(case);
                row.worst_index = d.index;
            }
        }
        Ok(())
    })?;
    row.only_in_base = b.cases.iter().filter(|case| base_values.contains_key(*case)).cloned().collect();
    row.status = if !row.only_in_base.is_empty() || !row.only_in_candidate.is_empty() {
        DriftStatus::Drifted
    } else if row.cases_changed == 0 {
        DriftStatus::Unchanged
    } else if row.largest_difference <= row.tolerance {
        DriftStatus::Within
    } else {
        DriftStatus::Drifted
    };
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parity::Case;

    /// Writes a dump of `(scenario, tolerance, case, values)` records.
    fn dump(dir: &Path, name: &str, records: &[(&str, f64, &str, DriftValues)]) -> PathBuf {
        let path = dir.join(name);
        let mut w = DriftWriter::create(&path).unwrap();
        for (scenario, tolerance, case, values) in records {
            w.write_case(scenario, *tolerance, case, values).unwrap();
        }
        w.finish().unwrap();
        path
    }

    fn floats(v: &[f64]) -> DriftValues {
        DriftValues::Floats(v.to_vec())
    }

    fn ints(v: &[i64]) -> DriftValues {
        DriftValues::Ints(v.to_vec())
    }

    fn row<'a>(rows: &'a [DriftRow], scenario: &str) -> &'a DriftRow {
        rows.iter().find(|r| r.scenario == scenario).unwrap_or_else(|| panic!("no row for {scenario}: {rows:?}"))
    }

    #[test]
    fn round_trip_keeps_every_record_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<f64> = (0..3 * CHUNK_VALUES + 5).map(|i| (i as f64).sin()).collect();
        let records = vec![
            ("kernel", 1e-6, "s1", DriftValues::Floats(big.clone())),
            ("edges", 0.0, "s1", ints(&[i64::MIN, -1, 0, 1, i64::MAX])),
            ("kernel", 1e-6, "s2", floats(&[f64::NAN, f64::INFINITY, -0.0])),
            ("edges", 0.0, "empty", ints(&[])),
        ];
        let path = dump(dir.path(), "d.bin", &records);
        let read: Vec<DriftRecord> = DriftReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), records.len());
        for (r, (scenario, tolerance, case, values)) in read.iter().zip(&records) {
            assert_eq!((r.scenario.as_str(), r.tolerance, r.case_id.as_str()), (*scenario, *tolerance, *case));
            match (&r.values, values) {
                // NaN != NaN: compare bit patterns.
                (DriftValues::Floats(a), DriftValues::Floats(b)) => {
                    assert_eq!(
                        a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                        b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                    )
                }
                (a, b) => assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn identical_dumps_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let records = vec![
            ("kernel", 1e-6, "s1", floats(&[0.5, f64::NAN, 2.0])),
            ("kernel", 1e-6, "s2", floats(&[1.0])),
            ("edges", 0.0, "s1", ints(&[0, 1, 1, 2])),
        ];
        let base = dump(dir.path(), "base.bin", &records);
        let cand = dump(dir.path(), "cand.bin", &records);
        let rows = compare_dumps(&base, &cand).unwrap();
        assert_eq!(rows.iter().map(|r| r.scenario.as_str()).collect::<Vec<_>>(), ["edges", "kernel"]);
        for r in &rows {
            assert_eq!(r.status, DriftStatus::Unchanged, "{r:?}");
            assert_eq!((r.cases_changed, r.largest_difference, r.worst_case.as_deref()), (0, 0.0, None));
            assert!(!r.fails());
        }
        assert_eq!((row(&rows, "kernel").cases, row(&rows, "kernel").kind.as_str()), (2, "floats"));
        assert_eq!((row(&rows, "edges").cases, row(&rows, "edges").kind.as_str()), (1, "ints"));
    }

    #[test]
    fn small_float_change_is_within_large_one_drifted() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(
            dir.path(),
            "base.bin",
            &[("k", 1e-6, "s1", floats(&[1.0, 2.0, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0]))],
        );
        let within = dump(
            dir.path(),
            "within.bin",
            &[("k", 1e-6, "s1", floats(&[1.0, 2.0, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0 + 1e-7]))],
        );
        let r = compare_dumps(&base, &within).unwrap().remove(0);
        assert_eq!(r.status, DriftStatus::Within);
        assert_eq!((r.cases, r.cases_changed), (2, 1));
        assert_eq!((r.worst_case.as_deref(), r.worst_index), (Some("s2"), Some(2)));
        assert!((r.largest_difference - 1e-7).abs() < 1e-12, "{}", r.largest_difference);
        assert!(!r.fails());

        let drifted = dump(
            dir.path(),
            "drifted.bin",
            &[("k", 1e-6, "s1", floats(&[1.0, 2.001, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0 + 1e-7]))],
        );
        let r = compare_dumps(&base, &drifted).unwrap().remove(0);
        assert_eq!(r.status, DriftStatus::Drifted);
        assert_eq!((r.cases_changed, r.worst_case.as_deref(), r.worst_index), (2, Some("s1"), Some(1)));
        assert!((r.largest_difference - 1e-3).abs() < 1e-9);
        assert!(r.fails());
    }

    #[test]
    fn changed_ints_drift_at_tolerance_zero() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(dir.path(), "base.bin", &[("edges", 0.0, "s1", ints(&[0, 1, 1, 2]))]);
        let cand = dump(dir.path(), "cand.bin", &[("edges", 0.0, "s1", ints(&[0, 1, 1, 5]))]);
        let r = compare_dumps(&base, &cand).unwrap().remove(0);
        assert_eq!(r.status, DriftStatus::Drifted);
        assert_eq!((r.largest_difference, r.worst_case.as_deref(), r.worst_index), (3.0, Some("s1"), Some(3)));
    }

    #[test]
    fn length_kind_and_nan_changes_are_infinite() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(
            dir.path(),
            "base.bin",
            &[
                ("len", 0.5, "c", floats(&[1.0, 2.0])),
                ("kind", 0.5, "c", ints(&[1])),
                ("nan", 0.5, "c", floats(&[f64::NAN, 1.0])),
            ],
        );
        let cand = dump(
            dir.path(),
            "cand.bin",
            &[
                ("len", 0.5, "c", floats(&[1.0])),
                ("kind", 0.5, "c", floats(&[1.0])),
                ("nan", 0.5, "c", floats(&[f64::NAN, f64::NAN])),
            ],
        );
        let rows = compare_dumps(&base, &cand).unwrap();
        for (name, index) in [("len", None), ("kind", None), ("nan", Some(1))] {
            let r = row(&rows, name);
            assert_eq!(
                (r.status, r.largest_difference, r.worst_index),
                (DriftStatus::Drifted, f64::INFINITY, index),
                "{r:?}"
            );
        }
        assert_eq!(row(&rows, "kind").kind, "floats");
    }

    #[test]
    fn new_and_gone_scenarios_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(dir.path(), "base.bin", &[("shared", 0.0, "a", ints(&[1])), ("old", 0.0, "a", ints(&[1]))]);
        let cand =
            dump(dir.path(), "cand.bin", &[("fresh", 1e-3, "x", floats(&[1.0])), ("shared", 0.0, "a", ints(&[1]))]);
        let rows = compare_dumps(&base, &cand).unwrap();
        assert_eq!(rows.iter().map(|r| r.scenario.as_str()).collect::<Vec<_>>(), ["fresh", "old", "shared"]);
        let fresh = row(&rows, "fresh");
        assert_eq!(
            (fresh.status, fresh.tolerance, fresh.only_in_candidate.clone()),
            (DriftStatus::New, 1e-3, vec!["x".to_string()])
        );
        let old = row(&rows, "old");
        assert_eq!((old.status, old.only_in_base.clone()), (DriftStatus::Gone, vec!["a".to_string()]));
        assert_eq!(row(&rows, "shared").status, DriftStatus::Unchanged);
        assert!(rows.iter().all(|r| !r.fails()));
    }

    #[test]
    fn cases_on_one_side_drift_and_are_listed_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(
            dir.path(),
            "base.bin",
            &[("k", 1e-6, "a", floats(&[1.0])), ("k", 1e-6, "b", floats(&[2.0])), ("k", 1e-6, "gone", floats(&[3.0]))],
        );
        // Other order, one case replaced; equal values on the shared cases.
        let cand = dump(
            dir.path(),
            "cand.bin",
            &[("k", 1e-6, "b", floats(&[2.0])), ("k", 1e-6, "new", floats(&[9.0])), ("k", 1e-6, "a", floats(&[1.0]))],
        );
        let r = compare_dumps(&base, &cand).unwrap().remove(0);
        assert_eq!(r.status, DriftStatus::Drifted);
        assert_eq!((r.cases, r.cases_changed), (2, 0));
        assert_eq!(
            (r.only_in_base.clone(), r.only_in_candidate.clone()),
            (vec!["gone".to_string()], vec!["new".to_string()])
        );
    }

    #[test]
    fn interleaved_and_reordered_scenarios_compare_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(
            dir.path(),
            "base.bin",
            &[
                ("x", 0.0, "1", ints(&[1])),
                ("y", 0.0, "1", ints(&[10])),
                ("x", 0.0, "2", ints(&[2])),
                ("y", 0.0, "2", ints(&[20])),
            ],
        );
        let cand = dump(
            dir.path(),
            "cand.bin",
            &[
                ("y", 0.0, "2", ints(&[20])),
                ("y", 0.0, "1", ints(&[10])),
                ("x", 0.0, "2", ints(&[2])),
                ("x", 0.0, "1", ints(&[7])),
            ],
        );
        let rows = compare_dumps(&base, &cand).unwrap();
        let x = row(&rows, "x");
        assert_eq!(
            (x.status, x.cases, x.largest_difference, x.worst_case.as_deref()),
            (DriftStatus::Drifted, 2, 6.0, Some("1"))
        );
        let y = row(&rows, "y");
        assert_eq!((y.status, y.cases), (DriftStatus::Unchanged, 2));
    }

    #[test]
    fn tolerance_comes_from_the_candidate() {
        let dir = tempfile::tempdir().unwrap();
        let base = dump(dir.path(), "base.bin", &[("k", 1e-9, "a", floats(&[1.0]))]);
        let cand = dump(dir.path(), "cand.bin", &[("k", 1e-2, "a", floats(&[1.001]))]);
        let r = compare_dumps(&base, &cand).unwrap().remove(0);
        assert_eq!((r.tolerance, r.status), (1e-2, DriftStatus::Within));
    }

    #[test]
    fn truncated_dump_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f64> = (0..10_000).map(|i| (i as f64).sqrt()).collect();
        let good = dump(dir.path(), "good.bin", &[("k", 0.0, "a", DriftValues::Floats(values))]);
        let bytes = fs::read(&good).unwrap();
        for keep in [0, 5, 12, bytes.len() / 2, bytes.len() - 1] {
            let cut_path = dir.path().join(format!("cut_{keep}.bin"));
            fs::write(&cut_path, &bytes[..keep]).unwrap();
            let err = compare_dumps(&good, &cut_path).unwrap_err();
            assert!(matches!(err, DriftError::Truncated { .. } | DriftError::Corrupt { .. }), "{keep}: {err:?}");
            assert!(err.to_string().contains(&cut_path.display().to_string()), "{keep}: {err}");
            let read: Result<Vec<_>, _> = DriftReader::open(&cut_path).and_then(|r| r.collect());
            assert!(read.is_err(), "{keep}: a cut dump read as complete");
        }
    }

    #[test]
    fn corrupt_dumps_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dump(dir.path(), "good.bin", &[("k", 0.0, "a", ints(&[1, 2, 3]))]);
        let mut bytes = fs::read(&good).unwrap();
        let wrong_version = dir.path().join("v2.bin");
        bytes[8] = 2;
        fs::write(&wrong_version, &bytes).unwrap();
        assert!(matches!(DriftReader::open(&wrong_version), Err(DriftError::Version { found: 2, .. })));
        bytes[8] = 1;
        bytes.extend_from_slice(b"trailing garbage");
        let trailing = dir.path().join("trailing.bin");
        fs::write(&trailing, &bytes).unwrap();
        let err = compare_dumps(&good, &trailing).unwrap_err();
        assert!(err.to_string().contains("trailing.bin"), "{err}");
    }

    #[test]
    fn duplicate_case_in_a_dump_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DriftWriter::create(&dir.path().join("w.bin")).unwrap();
        w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
        let err = w.write_case("k", 0.0, "a", &ints(&[1])).unwrap_err();
        assert!(matches!(&err, DriftError::DuplicateCase { scenario, case, .. } if scenario == "k" && case == "a"));
        // The same case id in another scenario is fine.
        w.write_case("other", 0.0, "a", &ints(&[1])).unwrap();
        w.finish().unwrap();

        // A dump written by another writer (here: two records spliced by hand) is checked too.
        let path = dir.path().join("dup.bin");
        let mut raw = Vec::new();
        for _ in 0..2 {
            raw.push(TAG_CASE);
            for name in ["k", "a"] {
                if name == "a" {
                    raw.extend_from_slice(&0f64.to_le_bytes());
                }
                raw.extend_from_slice(&(name.len() as u32).to_le_bytes());
                raw.extend_from_slice(name.as_bytes());
            }
            raw.push(KIND_INTS);
            raw.extend_from_slice(&0u64.to_le_bytes());
        }
        raw.push(TAG_END);
        raw.extend_from_slice(&2u64.to_le_bytes());
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        file.extend_from_slice(&zstd::encode_all(raw.as_slice(), 1).unwrap());
        fs::write(&path, file).unwrap();
        let err = compare_dumps(&path, &dir.path().join("w.bin")).unwrap_err();
        assert!(
            matches!(&err, DriftError::DuplicateCase { scenario, case, .. } if scenario == "k" && case == "a"),
            "{err:?}"
        );
        assert!(err.to_string().contains("dup.bin"));
    }

    #[test]
    fn writer_refuses_bad_tolerance_and_mixed_scenarios() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DriftWriter::create(&dir.path().join("w.bin")).unwrap();
        assert!(matches!(w.write_case("k", f64::NAN, "a", &ints(&[1])), Err(DriftError::BadTolerance { .. })));
        assert!(matches!(w.write_case("k", -1.0, "a", &ints(&[1])), Err(DriftError::BadTolerance { .. })));
        w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
        assert!(matches!(w.write_case("k", 1.0, "b", &ints(&[1])), Err(DriftError::InconsistentTolerance { .. })));
        assert!(matches!(w.write_case("k", 0.0, "b", &floats(&[1.0])), Err(DriftError::MixedKinds { .. })));
        w.finish().unwrap();
        let read: Vec<DriftRecord> =
            DriftReader::open(&dir.path().join("w.bin")).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 1, "refused records are not written");
    }

    fn entries(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn finish_renames_and_leaves_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.bin");
        let mut w = DriftWriter::create(&path).unwrap();
        w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
        assert!(!path.exists());
        assert_eq!(entries(dir.path()), 1, "only the temporary file");
        w.finish().unwrap();
        assert!(path.exists());
        assert_eq!(entries(dir.path()), 1, "the dump, no temporary file");
    }

    #[test]
    fn writer_dropped_without_finish_leaves_no_final_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.bin");
        // A stale dump from an earlier run is removed when a new one starts.
        fs::write(&path, b"stale").unwrap();
        let mut w = DriftWriter::create(&path).unwrap();
        assert!(!path.exists());
        w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
        drop(w);
        assert!(!path.exists());
        assert_eq!(entries(dir.path()), 0, "no temporary file left");
    }

    #[test]
    fn rows_serialize_infinity_as_a_string() {
        let r = DriftRow {
            scenario: "k".into(),
            kind: "floats".into(),
            tolerance: 1e-6,
            cases: 1,
            cases_changed: 1,
            largest_difference: f64::INFINITY,
            worst_case: Some("a".into()),
            worst_index: None,
            only_in_base: vec![],
            only_in_candidate: vec![],
            status: DriftStatus::Drifted,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""largest_difference":"inf""#), "{json}");
        assert!(json.contains(r#""status":"drifted""#), "{json}");
        assert_eq!(serde_json::from_str::<DriftRow>(&json).unwrap(), r);
        let finite = DriftRow { largest_difference: 1.25e-7, status: DriftStatus::Within, ..r };
        let json = serde_json::to_string(&finite).unwrap();
        assert!(json.contains(r#""largest_difference":1.25e-7"#), "{json}");
        assert_eq!(serde_json::from_str::<DriftRow>(&json).unwrap(), finite);
    }

    fn ramp_cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
        Ok(vec![Case::new("one", vec![1.0]), Case::new("three", vec![1.0, 2.0, 3.0]), Case::new("none", vec![])])
    }

    /// Output that depends on the case, so the dump shows which case it was computed on.
    fn prefix_sums(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
        Ok(c.data
            .iter()
            .scan(0.0, |s, x| {
                *s += x;
                Some(*s)
            })
            .collect())
    }

    fn lengths(_: &GateContext, c: &Case<f64>) -> Result<Vec<(usize, usize)>, GateError> {
        Ok(vec![(c.id.len(), c.data.len())])
    }

    fn no_cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
        Ok(Vec::new())
    }

    fn failing(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
        if c.id == "three" {
            Err(GateError::msg("candidate failed on three"))
        } else {
            Ok(c.data.clone())
        }
    }

    #[test]
    fn dump_helpers_call_the_candidate_on_every_case() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.bin");
        let ctx = GateContext::for_test("dump");
        let mut w = DriftWriter::create(&path).unwrap();
        assert_eq!(dump_numeric(&ctx, "sums", 1e-9, ramp_cases, prefix_sums, &mut w).unwrap(), 3);
        assert_eq!(dump_exact(&ctx, "lengths", 0.0, ramp_cases, lengths, &mut w).unwrap(), 3);
        w.finish().unwrap();
        let read: Vec<DriftRecord> = DriftReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
        let got: Vec<(&str, f64, &str, &DriftValues)> =
            read.iter().map(|r| (r.scenario.as_str(), r.tolerance, r.case_id.as_str(), &r.values)).collect();
        assert_eq!(
            got,
            [
                ("sums", 1e-9, "one", &floats(&[1.0])),
                ("sums", 1e-9, "three", &floats(&[1.0, 3.0, 6.0])),
                ("sums", 1e-9, "none", &floats(&[])),
                ("lengths", 0.0, "one", &ints(&[3, 1])),
                ("lengths", 0.0, "three", &ints(&[5, 3])),
                ("lengths", 0.0, "none", &ints(&[4, 0])),
            ]
        );
    }

    #[test]
    fn dump_helpers_report_empty_sets_and_candidate_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = GateContext::for_test("dump");
        let mut w = DriftWriter::create(&dir.path().join("d.bin")).unwrap();
        assert!(matches!(
            dump_numeric(&ctx, "empty", 0.0, no_cases, prefix_sums, &mut w),
            Err(GateError::NoCases { scenario }) if scenario == "empty"
        ));
        let err = dump_numeric(&ctx, "failing", 0.0, ramp_cases, failing, &mut w).unwrap_err();
        assert!(err.to_string().contains("candidate failed on three"), "{err}");
        // A writer error surfaces as a gate error naming the dump.
        let err = dump_exact(&ctx, "lengths", f64::INFINITY, ramp_cases, lengths, &mut w).unwrap_err();
        assert!(err.to_string().contains("d.bin") && err.to_string().contains("lengths"), "{err}");
    }

    #[test]
    fn drift_values_of_exact_outputs() {
        assert_eq!(vec![(1u32, 2u32), (2, 3)].drift_values(), ints(&[1, 2, 2, 3]));
        assert_eq!(vec![(4usize, 5usize)].drift_values(), ints(&[4, 5]));
        assert_eq!(vec![3u64, 1].drift_values(), ints(&[3, 1]));
        assert_eq!(vec![vec![1u32, 2], vec![], vec![3]].drift_values(), ints(&[3, 2, 1, 2, 0, 1, 3]));
        // A nested shape change shows even when the flat elements agree.
        assert_ne!(vec![vec![1u32], vec![2]].drift_values(), vec![vec![1u32, 2], vec![]].drift_values());
        assert_eq!(7usize.drift_values(), ints(&[7]));
        assert_eq!((-3i64).drift_values(), ints(&[-3]));
        assert_eq!(false.drift_values(), ints(&[0]));
        assert_eq!(u64::MAX.drift_values(), ints(&[-1]));
        assert_eq!(vec![0.5f32].drift_values(), floats(&[0.5]));
    }
}
