//! NumPy interop: reading attention cases from `.npz` and writing outputs as `.npy`.
//!
//! A case file holds `q`, `k`, `v` (float32, `[H, L, D]` or `[B, H, L, D]`), an optional
//! `mask` (bool `[L, L]`, `true` = allowed; absent = everything allowed) and an optional
//! `bias` (float32 `[L, L]`, added to the scores of every head and batch entry). The output
//! has the shape of `q`. Every problem is a typed [`NpzError`] naming the file and the array.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4, ArrayD, Axis, Ix2, IxDyn};
use ndarray_npy::{NpzReader, ReadNpyError, ReadNpzError, ReadableElement};

use super::breaker::{BreakerError, CircuitBreaker};
use super::kernels::{AttnInputs, Kernel};
use super::Mask;

/// A problem with an `.npz`/`.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be opened or created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a readable `.npz` archive.
    #[error("{path}: not a readable .npz archive: {source}")]
    Archive {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ReadNpzError,
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
    #[error("{path}: array `{array}` cannot be read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The array's name.
        array: String,
        /// Why.
        source: ReadNpzError,
    },
    /// The output could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The attention call failed.
    #[error("{path}: {source}")]
    Attention {
        /// The case file.
        path: PathBuf,
        /// Why.
        source: BreakerError,
    },
}

/// An open `.npz` archive with the names it holds.
pub struct NpzFile {
    path: PathBuf,
    reader: NpzReader<BufReader<File>>,
    names: Vec<String>,
}

impl NpzFile {
    /// Opens an archive.
    pub fn open(path: &Path) -> Result<Self, NpzError> {
        let file = File::open(path).map_err(|source| NpzError::Io { path: path.to_path_buf(), source })?;
        let mut reader = NpzReader::new(BufReader::new(file))
            .map_err(|source| NpzError::Archive { path: path.to_path_buf(), source })?;
        let names = reader.names().map_err(|source| NpzError::Archive { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), reader, names })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the archive holds `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Reads an optional array of any rank (`None` if absent); `expected` names the element type.
    pub fn optional<T: ReadableElement>(
        &mut self,
        name: &str,
        expected: &'static str,
    ) -> Result<Option<ArrayD<T>>, NpzError> {
        if !self.has(name) {
            return Ok(None);
        }
        match self.reader.by_name::<ndarray::OwnedRepr<T>, IxDyn>(name) {
            Ok(a) => Ok(Some(a)),
            Err(ReadNpzError::Npy(ReadNpyError::WrongDescriptor(_))) => {
                Err(NpzError::Dtype { path: self.path.clone(), array: name.to_string(), expected })
            }
            Err(source) => Err(NpzError::Read { path: self.path.clone(), array: name.to_string(), source }),
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
            bias: case.bias.as_ref().map(|x| x.view()),
        };
        let g = breaker.attend(kernel, &inp)?;
        fallbacks += usize::from(g.fell_back);
        out.index_axis_mut(Axis(0), b).assign(&g.output);
    }
    let out = out.into_dyn();
    Ok((if case.unbatched { out.index_axis_move(Axis(0), 0) } else { out }, fallbacks))
}

/// Reads `input`, runs `kernel`, writes `output` (`.npy`); returns the fallback count.
pub fn attend_file(input: &Path, kernel: Kernel, output: &Path, breaker: &CircuitBreaker) -> Result<usize, NpzError> {
    let case = read_case(input)?;
    let (out, fallbacks) =
        run_case(&case, kernel, breaker).map_err(|source| NpzError::Attention { path: input.to_path_buf(), source })?;
    ndarray_npy::write_npy(output, &out)
        .map_err(|e| NpzError::Write { path: output.to_path_buf(), source: Box::new(e) })?;
    Ok(fallbacks)
}
