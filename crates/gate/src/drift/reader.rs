//! Reading a dump: [`DriftReader`] streams its records ([`DriftRecord`]) one at a time and
//! checks the end marker, so a truncated or corrupt dump is an error, never a short list.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{
    DriftError, DriftValues, CHUNK_VALUES, FORMAT_VERSION, KIND_FLOATS, KIND_INTS, MAGIC, MAX_NAME_BYTES, TAG_CASE,
    TAG_END,
};

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
pub(super) struct RecordHead {
    pub(super) scenario: String,
    pub(super) tolerance: f64,
    pub(super) case_id: String,
    pub(super) kind: u8,
    pub(super) len: u64,
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

    pub(super) fn next_head(&mut self) -> Result<Option<RecordHead>, DriftError> {
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

    pub(super) fn read_values(&mut self, head: &RecordHead) -> Result<DriftValues, DriftError> {
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

    pub(super) fn skip_values(&mut self, head: &RecordHead) -> Result<(), DriftError> {
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
