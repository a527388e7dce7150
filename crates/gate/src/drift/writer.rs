//! Writing a dump: the streaming [`DriftWriter`] (format: the [module docs](super)), and the
//! helpers that run a scenario's candidate on every case into it ([`dump_numeric`],
//! [`dump_exact`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{
    kind_name, DriftError, DriftOutput, DriftValues, CHUNK_VALUES, FORMAT_VERSION, MAGIC, MAX_NAME_BYTES, TAG_CASE,
    TAG_END,
};
use crate::atomic::AtomicFile;
use crate::context::GateContext;
use crate::error::GateError;
use crate::parity::{CasesFn, NumericOutput, OutputFn, ParityCase};

/// zstd level: fast, and kernel outputs (f64 noise) compress little at any level.
const ZSTD_LEVEL: i32 = 3;

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

/// Streaming writer of one harness process's dump (format: the [module docs](super)).
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
pub(super) fn check_case(
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
