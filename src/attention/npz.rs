//! NumPy interop: reading attention cases from `.npz` and writing outputs as `.npy`.
//!
//! A case file holds `q`, `k`, `v` (float32, `[H, L, D]` or `[B, H, L, D]`), an optional
//! `mask` (bool `[L, L]`, `true` = allowed; absent = everything allowed) and an optional
//! `bias` (float32 `[L, L]`, added to the scores of every head and batch entry). The output
//! has the shape of `q`. Every problem is a typed [`NpzError`] naming the file and the array.
//! A `bias` whose L × L floats would exceed [`DENSE_BIAS_MAX_BYTES`] (L > 16,384) is refused
//! before it is read ([`NpzError::TooLarge`]).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4, ArrayD, Axis, Ix2};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement};

#[cfg(doc)]
use super::bias::DENSE_BIAS_MAX_BYTES;
use super::bias::{check_dense_size, BiasError};
use super::breaker::{BreakerError, CircuitBreaker};
use super::kernels::{AttnInputs, Kernel};
use super::Mask;

/// A problem with an `.npz`/`.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be opened or created.
    #[error("{path}: cannot open or create")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a readable `.npz` archive.
    #[error("{path}: not a readable .npz archive: {reason}")]
    Archive {
        /// The file.
        path: PathBuf,
        /// Why (the zip reader's words).
        reason: String,
    },
    /// A required array is absent.
    #[error("{path}: array `{array}` is missing (found: {found})")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// The names present, comma separated.
        found: String,
    },
    /// An array has the wrong element type.
    #[error("{path}: array `{array}` must be {expected}")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// The element type expected.
        expected: &'static str,
    },
    /// An array has the wrong shape.
    #[error("{path}: array `{array}` has shape {got:?}, expected {expected}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// Its shape.
        got: Vec<usize>,
        /// The shape expected, in words.
        expected: String,
    },
    /// An array could not be decoded.
    #[error("{path}: array `{array}` cannot be read: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// Why (the zip or `.npy` reader's words).
        reason: String,
    },
    /// An array's `.npy` header does not fit its archive entry: it declares more data than the
    /// entry holds, or the entry is compressed. Checked before anything is allocated, so a
    /// small file cannot ask for a huge array.
    #[error("{path}: array `{array}`: {detail}")]
    Header {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// What the header declares against what the entry holds.
        detail: String,
    },
    /// An array holds NaN or infinity where finite numbers are required (model weights).
    #[error("{path}: array `{array}` holds {value} at index {index:?} (weights must be finite)")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// Index of the first non-finite element.
        index: Vec<usize>,
        /// The value found.
        value: f32,
    },
    /// The output could not be written.
    #[error("{path}: cannot write")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An L × L array would exceed the dense size limit ([`DENSE_BIAS_MAX_BYTES`]); it was not
    /// read.
    #[error("{path}: array `{array}` is too large to read")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// Its size and the limit.
        source: BiasError,
    },
    /// The attention call failed.
    #[error("{path}: attention failed")]
    Attention {
        /// The case file.
        path: PathBuf,
        /// Why.
        source: BreakerError,
    },
}

/// An open `.npz` archive with the names it holds.
///
/// Arrays are read from stored (uncompressed, `np.savez`) entries. Before an array is read its
/// `.npy` header is checked against the entry's real size: a header declaring more data than
/// the entry holds is an [`NpzError::Header`], so a 2 KB file cannot make the reader allocate
/// terabytes.
pub struct NpzFile {
    path: PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
    file_len: u64,
    names: Vec<String>,
}

/// Bytes of the `.npy` header read through it (the header's length is not stored in one place
/// for every format version).
struct Counting<'r, R> {
    inner: &'r mut R,
    bytes: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// [`NpzError::Read`] of array `name`.
fn read_error(path: &Path, name: &str, reason: impl std::fmt::Display) -> NpzError {
    NpzError::Read { path: path.to_path_buf(), array: name.to_string(), reason: reason.to_string() }
}

/// Bytes per element of a `.npy` type descriptor such as `'<f4'` or `'|b1'`; 1 (a lower
/// bound) when it is not a plain one, which the element reader then refuses.
fn element_bytes(descriptor: &str) -> u64 {
    let digits: String = descriptor
        .trim_matches('\'')
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse::<u64>().ok().filter(|&b| b > 0).unwrap_or(1)
}

impl NpzFile {
    /// Opens an archive.
    pub fn open(path: &Path) -> Result<Self, NpzError> {
        let file = File::open(path).map_err(|source| NpzError::Io { path: path.to_path_buf(), source })?;
        let file_len = file.metadata().map_err(|source| NpzError::Io { path: path.to_path_buf(), source })?.len();
        let archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| NpzError::Archive { path: path.to_path_buf(), reason: e.to_string() })?;
        let names = archive.file_names().map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string()).collect();
        Ok(Self { path: path.to_path_buf(), archive, file_len, names })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the archive holds `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn header_error(&self, name: &str, detail: String) -> NpzError {
        NpzError::Header { path: self.path.clone(), array: name.to_string(), detail }
    }

    /// Checks entry `index` (array `name`) before it is read: stored, no larger than the file,
    /// and holding at least the bytes its `.npy` header declares.
    fn check_entry(&mut self, index: usize, name: &str) -> Result<(), NpzError> {
        let path = self.path.clone();
        let fail = |e: &dyn std::fmt::Display| read_error(&path, name, e);
        let (size, stored) = {
            let raw = self.archive.by_index_raw(index).map_err(|e| fail(&e))?;
            (raw.size(), raw.compression() == zip::CompressionMethod::Stored && raw.compressed_size() == raw.size())
        };
        if !stored {
            return Err(self.header_error(
                name,
                "the entry is compressed (np.savez_compressed?); ironforge reads stored entries (np.savez)".into(),
            ));
        }
        if size > self.file_len {
            return Err(self.header_error(
                name,
                format!("the entry claims {size} bytes but the whole file has {}", self.file_len),
            ));
        }
        let (header, header_bytes) = {
            let mut entry = self.archive.by_index(index).map_err(|e| fail(&e))?;
            let mut counting = Counting { inner: &mut entry, bytes: 0 };
            let header = Header::from_reader(&mut counting).map_err(|e| fail(&e))?;
            (header, counting.bytes)
        };
        let descriptor = header.type_descriptor.to_string();
        let element = element_bytes(&descriptor);
        let declared = header.shape.iter().try_fold(element, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?));
        let available = size.saturating_sub(header_bytes);
        match declared {
            Some(bytes) if bytes <= available => Ok(()),
            declared => Err(self.header_error(
                name,
                format!(
                    "its .npy header declares shape {:?} of {descriptor} ({}), but the entry holds {available} bytes \
                     of data",
                    header.shape,
                    declared.map_or("more bytes than 2^64".to_string(), |b| format!("{b} bytes"))
                ),
            )),
        }
    }

    /// Reads an optional array of any rank (`None` if absent); `expected` names the element type.
    pub fn optional<T: ReadableElement>(
        &mut self,
        name: &str,
        expected: &'static str,
    ) -> Result<Option<ArrayD<T>>, NpzError> {
        // NumPy's rule: `name`, else `name.npy`.
        let Some(index) =
            self.archive.index_for_name(name).or_else(|| self.archive.index_for_name(&format!("{name}.npy")))
        else {
            return Ok(None);
        };
        self.check_entry(index, name)?;
        let entry = self.archive.by_index(index).map_err(|e| read_error(&self.path, name, e))?;
        match ArrayD::<T>::read_npy(entry) {
            Ok(a) => Ok(Some(a)),
            Err(ReadNpyError::WrongDescriptor(_)) => {
                Err(NpzError::Dtype { path: self.path.clone(), array: name.to_string(), expected })
            }
            Err(e) => Err(read_error(&self.path, name, e)),
        }
    }

    /// Reads a required array of any rank.
    pub fn required<T: ReadableElement>(&mut self, name: &str, expected: &'static str) -> Result<ArrayD<T>, NpzError> {
        self.optional(name, expected)?.ok_or_else(|| NpzError::Missing {
            path: self.path.clone(),
            array: name.to_string(),
            found: self.names.join(", "),
        })
    }

    /// A shape error for `array`.
    pub fn shape_error(&self, array: &str, got: &[usize], expected: impl Into<String>) -> NpzError {
        NpzError::Shape {
            path: self.path.clone(),
            array: array.to_string(),
            got: got.to_vec(),
            expected: expected.into(),
        }
    }
}

/// An attention case read from `.npz`, normalised to a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct AttnCase {
    /// Queries `[B, H, L, D]`.
    pub q: Array4<f32>,
    /// Keys `[B, H, L, D]`.
    pub k: Array4<f32>,
    /// Values `[B, H, L, D]`.
    pub v: Array4<f32>,
    /// The mask (all allowed when the file has none).
    pub mask: Mask,
    /// The additive bias, if any.
    pub bias: Option<Array2<f32>>,
    /// Whether `q` was `[H, L, D]` (the output is written back in that rank).
    pub unbatched: bool,
}

fn to_batch(file: &NpzFile, name: &str, a: ArrayD<f32>) -> Result<Array4<f32>, NpzError> {
    let shape = a.shape().to_vec();
    let a = match a.ndim() {
        3 => a.insert_axis(Axis(0)),
        4 => a,
        _ => return Err(file.shape_error(name, &shape, "[H, L, D] or [B, H, L, D]")),
    };
    Ok(a.into_dimensionality().expect("rank checked above"))
}

/// Reads a case file.
pub fn read_case(path: &Path) -> Result<AttnCase, NpzError> {
    let mut file = NpzFile::open(path)?;
    let q_raw = file.required::<f32>("q", "float32")?;
    let unbatched = q_raw.ndim() == 3;
    let q = to_batch(&file, "q", q_raw)?;
    let mut same_as_q = |name: &str| -> Result<Array4<f32>, NpzError> {
        let a = file.required::<f32>(name, "float32")?;
        let shape = a.shape().to_vec();
        let a = to_batch(&file, name, a)?;
        if a.shape() != q.shape() || shape.len() != if unbatched { 3 } else { 4 } {
            return Err(file.shape_error(name, &shape, "the shape of `q`"));
        }
        Ok(a)
    };
    let k = same_as_q("k")?;
    let v = same_as_q("v")?;
    let l = q.shape()[2];
    // Refused before reading anything L × L: the array alone would be over the limit.
    if file.has("bias") {
        check_dense_size("bias", l).map_err(|source| NpzError::TooLarge {
            path: file.path().to_path_buf(),
            array: "bias".to_string(),
            source,
        })?;
    }
    let square = format!("[{l}, {l}] (L from `q`)");
    let mask = match file.optional::<bool>("mask", "bool")? {
        None => Mask::full(l),
        Some(m) if m.shape() == [l, l] => Mask::from_dense(l, &m.iter().copied().collect::<Vec<_>>()),
        Some(m) => return Err(file.shape_error("mask", m.shape(), square)),
    };
    let bias = match file.optional::<f32>("bias", "float32")? {
        None => None,
        Some(b) if b.shape() == [l, l] => Some(b.into_dimensionality::<Ix2>().expect("shape checked")),
        Some(b) => return Err(file.shape_error("bias", b.shape(), square)),
    };
    Ok(AttnCase { q, k, v, mask, bias, unbatched })
}

/// Runs a case through one kernel (guarded by `breaker`) and returns an array shaped like `q`.
/// The second value is the number of batch entries that fell back to `math`.
pub fn run_case(
    case: &AttnCase,
    kernel: Kernel,
    breaker: &CircuitBreaker,
) -> Result<(ArrayD<f32>, usize), BreakerError> {
    let mut out = Array4::<f32>::zeros(case.q.raw_dim());
    let mut fallbacks = 0;
    for b in 0..case.q.shape()[0] {
        let inp = AttnInputs {
            q: case.q.index_axis(Axis(0), b),
            k: case.k.index_axis(Axis(0), b),
            v: case.v.index_axis(Axis(0), b),
            mask: &case.mask,
            bias: case.bias.as_ref().map(|x| x.view().into()),
        };
        let g = breaker.attend(kernel, &inp)?;
        fallbacks += usize::from(g.fell_back);
        out.index_axis_mut(Axis(0), b).assign(&g.output);
    }
    let out = out.into_dyn();
    Ok((if case.unbatched { out.index_axis_move(Axis(0), 0) } else { out }, fallbacks))
}

/// Reads `input`, runs `kernel`, writes `output` (`.npy`, whole or not at all:
/// [`write_npy_atomic`]); returns the fallback count.
pub fn attend_file(input: &Path, kernel: Kernel, output: &Path, breaker: &CircuitBreaker) -> Result<usize, NpzError> {
    let case = read_case(input)?;
    let (out, fallbacks) =
        run_case(&case, kernel, breaker).map_err(|source| NpzError::Attention { path: input.to_path_buf(), source })?;
    write_npy_atomic(output, &out)?;
    Ok(fallbacks)
}

/// Writes `array` as `.npy` to `path` whole or not at all ([`crate::atomic::AtomicFile`]): a
/// failure leaves no file and an earlier `path` as it was.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.npy");
/// let a = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 3]));
/// ironforge::attention::npz::write_npy_atomic(&path, &a)?;
/// assert_eq!(ndarray_npy::read_npy::<_, ndarray::ArrayD<f32>>(&path)?, a);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy_atomic(path: &Path, array: &ArrayD<f32>) -> Result<(), NpzError> {
    use ndarray_npy::WriteNpyExt;
    let wrap = |e: Box<dyn std::error::Error + Send + Sync>| NpzError::Write { path: path.to_path_buf(), source: e };
    let mut file = crate::atomic::AtomicFile::create(path).map_err(|e| wrap(Box::new(e)))?;
    array.write_npy(&mut file).map_err(|e| wrap(Box::new(e)))?;
    file.commit().map_err(|e| wrap(Box::new(e)))
}
