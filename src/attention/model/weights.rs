//! The model's weights: seeded (Xavier-uniform from one `ChaCha8` stream) or read from and
//! written to `.npz`, every array checked before the model exists.

use std::path::Path;

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Layer, Model, HIDDEN, LAYERS};
use crate::attention::encoding::TimeEncoding;
use crate::attention::npz::{NpzError, NpzFile};
use crate::session::NODE_FEATURES;

fn xavier(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Array2<f32> {
    let limit = (6.0 / (rows + cols) as f64).sqrt() as f32;
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-limit..=limit))
}

impl Model {
    /// Seeded weights without time encoding.
    ///
    /// ```
    /// use ironforge::attention::model::Model;
    /// assert_eq!(Model::from_seed(7), Model::from_seed(7));
    /// assert_ne!(Model::from_seed(7), Model::from_seed(8));
    /// ```
    pub fn from_seed(seed: u64) -> Self {
        Self::from_seed_with_time_encoding(seed, 0)
    }

    /// Seeded weights with a TGAT time encoding of `time_dims` dimensions (0 = none).
    pub fn from_seed_with_time_encoding(seed: u64, time_dims: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w_in = xavier(&mut rng, NODE_FEATURES + time_dims, HIDDEN);
        let layers = (0..LAYERS)
            .map(|_| Layer {
                wq: xavier(&mut rng, HIDDEN, HIDDEN),
                bq: Array1::zeros(HIDDEN),
                wk: xavier(&mut rng, HIDDEN, HIDDEN),
                bk: Array1::zeros(HIDDEN),
                wv: xavier(&mut rng, HIDDEN, HIDDEN),
                bv: Array1::zeros(HIDDEN),
                wo: xavier(&mut rng, HIDDEN, HIDDEN),
                bo: Array1::zeros(HIDDEN),
                ln_gamma: Array1::ones(HIDDEN),
                ln_beta: Array1::zeros(HIDDEN),
            })
            .collect();
        let time = (time_dims > 0).then(|| TimeEncoding::tgat(time_dims));
        Self { w_in, b_in: Array1::zeros(HIDDEN), layers, time }
    }

    /// Writes the weights as `.npz` with the names `w_in`, `b_in`, `l{i}_{wq,bq,wk,bk,wv,bv,wo,bo,ln_gamma,ln_beta}`
    /// and, with a time encoding, `time_omega`, `time_phi` (all float32, matrices `[in, out]`).
    pub fn save_npz(&self, path: &Path) -> Result<(), NpzError> {
        let werr =
            |e: Box<dyn std::error::Error + Send + Sync>| NpzError::Write { path: path.to_path_buf(), source: e };
        let file = std::fs::File::create(path).map_err(|source| NpzError::Io { path: path.to_path_buf(), source })?;
        let mut npz = ndarray_npy::NpzWriter::new(file);
        npz.add_array("w_in", &self.w_in).map_err(|e| werr(e.into()))?;
        npz.add_array("b_in", &self.b_in).map_err(|e| werr(e.into()))?;
        for (i, l) in self.layers.iter().enumerate() {
            for (name, w, b) in [("q", &l.wq, &l.bq), ("k", &l.wk, &l.bk), ("v", &l.wv, &l.bv), ("o", &l.wo, &l.bo)] {
                npz.add_array(format!("l{i}_w{name}"), w).map_err(|e| werr(e.into()))?;
                npz.add_array(format!("l{i}_b{name}"), b).map_err(|e| werr(e.into()))?;
            }
            npz.add_array(format!("l{i}_ln_gamma"), &l.ln_gamma).map_err(|e| werr(e.into()))?;
            npz.add_array(format!("l{i}_ln_beta"), &l.ln_beta).map_err(|e| werr(e.into()))?;
        }
        if let Some(t) = &self.time {
            npz.add_array("time_omega", &t.omega).map_err(|e| werr(e.into()))?;
            npz.add_array("time_phi", &t.phi).map_err(|e| werr(e.into()))?;
        }
        npz.finish().map_err(|e| werr(e.into()))?;
        Ok(())
    }

    /// Loads weights written by [`Model::save_npz`] (or by NumPy with the same names). The
    /// number of layers is the number of consecutive `l{i}_wq` arrays. Every array is checked
    /// before the model exists: its `.npy` header against its archive entry (before anything
    /// is allocated), its element type, its shape, and that every element is finite
    /// ([`NpzError::NonFinite`] names the file, the array and the first bad index).
    pub fn load_npz(path: &Path) -> Result<Self, NpzError> {
        let mut f = NpzFile::open(path)?;
        let time = if f.has("time_omega") || f.has("time_phi") {
            let omega = read1(&mut f, "time_omega", None)?;
            let phi = read1(&mut f, "time_phi", Some(omega.len()))?;
            Some(TimeEncoding { omega, phi })
        } else {
            None
        };
        let in_dim = NODE_FEATURES + time.as_ref().map_or(0, TimeEncoding::dims);
        let w_in = read2(&mut f, "w_in", in_dim, HIDDEN)?;
        let b_in = read1(&mut f, "b_in", Some(HIDDEN))?;
        let mut layers = Vec::new();
        while f.has(&format!("l{}_wq", layers.len())) {
            let i = layers.len();
            let mut w = |n: &str| read2(&mut f, &format!("l{i}_{n}"), HIDDEN, HIDDEN);
            let (wq, wk, wv, wo) = (w("wq")?, w("wk")?, w("wv")?, w("wo")?);
            let mut b = |n: &str| read1(&mut f, &format!("l{i}_{n}"), Some(HIDDEN));
            let (bq, bk, bv, bo) = (b("bq")?, b("bk")?, b("bv")?, b("bo")?);
            let (ln_gamma, ln_beta) = (b("ln_gamma")?, b("ln_beta")?);
            layers.push(Layer { wq, bq, wk, bk, wv, bv, wo, bo, ln_gamma, ln_beta });
        }
        if layers.is_empty() {
            f.required::<f32>("l0_wq", "float32")?;
        }
        Ok(Self { w_in, b_in, layers, time })
    }
}

/// A weight vector: float32, rank 1, `len` long when given, every element finite.
fn read1(f: &mut NpzFile, name: &str, len: Option<usize>) -> Result<Array1<f32>, NpzError> {
    let a = f.required::<f32>(name, "float32")?;
    let a = finite(f, name, a)?;
    match (a.ndim(), len) {
        (1, Some(n)) if a.len() != n => Err(f.shape_error(name, a.shape(), format!("[{n}]"))),
        (1, _) => a.into_dimensionality().map_err(|_| f.shape_error(name, &[], "a vector")),
        _ => Err(f.shape_error(name, a.shape(), len.map_or("a vector".to_string(), |n| format!("[{n}]")))),
    }
}

/// A weight matrix: float32, `[rows, cols]`, every element finite.
fn read2(f: &mut NpzFile, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, NpzError> {
    let a = f.required::<f32>(name, "float32")?;
    if a.shape() != [rows, cols] {
        return Err(f.shape_error(name, a.shape(), format!("[{rows}, {cols}]")));
    }
    let a = finite(f, name, a)?;
    a.into_dimensionality().map_err(|_| f.shape_error(name, &[], format!("[{rows}, {cols}]")))
}

/// `a` itself, or [`NpzError::NonFinite`] naming the file, the array and the first NaN or
/// infinity (a non-finite weight would make every embedding non-finite, far from its cause).
fn finite(f: &NpzFile, name: &str, a: ndarray::ArrayD<f32>) -> Result<ndarray::ArrayD<f32>, NpzError> {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(a),
        Some((index, &value)) => Err(NpzError::NonFinite {
            path: f.path().to_path_buf(),
            array: name.to_string(),
            index: ndarray::Dimension::slice(&index).to_vec(),
            value,
        }),
    }
}
