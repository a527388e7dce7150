//! The TGAT-style model: 45 node features → hidden 44, 4 heads of 11, 2 layers.
//!
//! Forward pass for a session of L events (every step deterministic):
//! 1. **Normalise** each of the 45 feature columns over the session's events: z-score
//!    `(x − mean) · (1 / std)` with mean and population std in f64; a constant column becomes 0.
//!    (The raw price `f8` is about 23,000; without this the projections saturate.)
//! 2. Optionally concatenate the [`TimeEncoding`] `Φ(Δt)`.
//! 3. **Input projection** `H = X·W_in + b_in` (L × 44). Every projection is
//!    [`affine_rows`]: fused multiply-adds in input order, the same
//!    bits on every instruction set.
//! 4. Per layer: `Q = H·W_q + b_q`, same for K and V; split into 4 heads of 11 (columns
//!    `11h..11h+11`); attention through the guarded [`attend`](super::attend) seam with the mask
//!    and time bias; heads concatenated; `O = A·W_o + b_o`; `H = LayerNorm(H + O)` (ε = 1e−5,
//!    statistics in f64 summed in four interleaved partial sums, learned γ/β). This is the
//!    original's attention block; TGAT's extra feed-forward merge layer is not part of it.
//! 5. Output: per-event embeddings `H` (L × 44) and the session embedding, the mean over events.
//!
//! Weights are `x·W` matrices (`[in, out]`) from a seed (Xavier-uniform, biases 0, γ = 1,
//! β = 0, one `ChaCha8` stream) or from an `.npz` file (names in [`Model::save_npz`]).

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, ArrayView3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bias::{BiasError, TimeBias, DENSE_BIAS_MAX_EVENTS};
use super::breaker::{self, BreakerError, CircuitBreaker};
use super::cache::TimeBiasCache;
use super::dispatch::Dispatcher;
use super::encoding::TimeEncoding;
use super::kernels::{AttnInputs, BiasSource, Kernel};
use super::linear::affine_rows;
use super::npz::{NpzError, NpzFile};
use super::Mask;
use crate::session::{Session, NODE_FEATURES};

/// Hidden width.
pub const HIDDEN: usize = 44;
/// Attention heads.
pub const HEADS: usize = 4;
/// Width of one head.
pub const HEAD_DIM: usize = HIDDEN / HEADS;
/// Layers of the seeded model.
pub const LAYERS: usize = 2;
/// Layer-norm epsilon.
pub const LN_EPS: f64 = 1e-5;

/// One attention layer's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Query projection `[44, 44]`.
    pub wq: Array2<f32>,
    /// Query bias `[44]`.
    pub bq: Array1<f32>,
    /// Key projection.
    pub wk: Array2<f32>,
    /// Key bias.
    pub bk: Array1<f32>,
    /// Value projection.
    pub wv: Array2<f32>,
    /// Value bias.
    pub bv: Array1<f32>,
    /// Output projection.
    pub wo: Array2<f32>,
    /// Output bias.
    pub bo: Array1<f32>,
    /// Layer-norm scale γ.
    pub ln_gamma: Array1<f32>,
    /// Layer-norm shift β.
    pub ln_beta: Array1<f32>,
}

/// The model's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Input projection `[45 + time dims, 44]`.
    pub w_in: Array2<f32>,
    /// Input bias `[44]`.
    pub b_in: Array1<f32>,
    /// The layers.
    pub layers: Vec<Layer>,
    /// The optional time encoding.
    pub time: Option<TimeEncoding>,
}

/// Which mask the session DAG gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskVariant {
    /// The original's: edge u→v lets row u attend column v ([`Mask::from_edges`]).
    #[default]
    Original,
    /// Causal: the later event attends its cause ([`Mask::from_edges_causal`]).
    Causal,
}

impl std::str::FromStr for MaskVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "original" => Ok(MaskVariant::Original),
            "causal" => Ok(MaskVariant::Causal),
            _ => Err(format!("unknown mask variant `{s}` (expected one of: original, causal)")),
        }
    }
}

/// How to pick the kernel.
#[derive(Debug, Clone, Copy)]
pub enum KernelChoice<'a> {
    /// Always this kernel.
    Fixed(Kernel),
    /// Per call from a crossover table and the flags.
    Dispatch(&'a Dispatcher),
}

/// How [`Model::embed_with_bias_path`] hands the time bias to the kernels. Both forms give
/// bit-identical embeddings; they differ in memory and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BiasPath {
    /// [`BiasPath::Dense`] up to [`DENSE_BIAS_MAX_EVENTS`] events, [`BiasPath::Rows`] beyond
    /// (what [`Model::embed`] does).
    #[default]
    Auto,
    /// The L × L matrix ([`TimeBias::matrix`], through the time-bias cache when the options
    /// have one): 4·L² bytes. More than [`crate::attention::bias::DENSE_BIAS_MAX_BYTES`] is a
    /// [`ModelError::Bias`], not an allocation.
    Dense,
    /// Row by row: the kernels compute each row's entries where the mask allows them
    /// ([`BiasSource::times`]); no matrix, no cache lookup, O(L) extra memory.
    Rows,
}

/// Options of [`Model::embed`].
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions<'a> {
    /// Kernel choice.
    pub kernel: KernelChoice<'a>,
    /// Mask variant.
    pub mask: MaskVariant,
    /// Time bias.
    pub bias: TimeBias,
    /// Time-bias cache (`None` = compute every time).
    pub cache: Option<&'a TimeBiasCache>,
    /// Breaker that counts fallbacks.
    pub breaker: &'a CircuitBreaker,
}

impl Default for EmbedOptions<'static> {
    fn default() -> Self {
        Self {
            kernel: KernelChoice::Fixed(Kernel::Math),
            mask: MaskVariant::Original,
            bias: TimeBias::Bucket,
            cache: None,
            breaker: breaker::global(),
        }
    }
}

/// The model's output for one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Per-event embeddings, L × 44, rows in local-index order.
    pub events: Array2<f32>,
    /// Mean of the event embeddings (44).
    pub session: Array1<f32>,
    /// The kernel whose output each layer used (after any fallback).
    pub kernels: Vec<Kernel>,
    /// Layers that fell back to `math`.
    pub fallbacks: usize,
}

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An edge names an event the session does not have.
    #[error("session {session}: edge {edge} ({src} → {dst}) is outside the {len} events")]
    EdgeOutOfRange {
        /// Session id.
        session: String,
        /// Edge position.
        edge: usize,
        /// Source local index.
        src: u32,
        /// Destination local index.
        dst: u32,
        /// Number of events.
        len: usize,
    },
    /// Attention failed.
    #[error("session {session}, layer {layer}: attention failed")]
    Attention {
        /// Session id.
        session: String,
        /// Layer.
        layer: usize,
        /// Why.
        source: BreakerError,
    },
    /// Weights could not be read or written.
    #[error(transparent)]
    Weights(#[from] NpzError),
    /// A dense time bias was asked for ([`BiasPath::Dense`]) beyond its size limit.
    #[error("session {session}: the time bias cannot be built")]
    Bias {
        /// Session id.
        session: String,
        /// The size and the limit.
        source: BiasError,
    },
}

fn xavier(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Array2<f32> {
    let limit = (6.0 / (rows + cols) as f64).sqrt() as f32;
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-limit..=limit))
}

/// Z-scores each column over the rows (f64 statistics, `(x − mean) · (1 / std)`); constant
/// columns become 0.
///
/// ```
/// let x = ndarray::array![[1.0f32, 5.0], [3.0, 5.0]];
/// let z = ironforge::attention::model::normalise_columns(x.view());
/// assert_eq!(z, ndarray::array![[-1.0f32, 0.0], [1.0, 0.0]]);
/// ```
pub fn normalise_columns(x: ArrayView2<'_, f32>) -> Array2<f32> {
    let (rows, cols) = x.dim();
    let x = x.as_standard_layout();
    let z = zscore_columns(x.as_slice().expect("standard layout"), cols);
    Array2::from_shape_vec((rows, cols), z).expect("rows × cols values")
}

/// [`normalise_columns`] of a row-major `[rows, cols]` slice, on flat slices: row-major sweeps
/// with one accumulator per column (the same sums, in the same order, as walking each column).
fn zscore_columns(x: &[f32], cols: usize) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if crate::attention::kernels::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F, the only feature the entry enables.
        return unsafe { zscore_columns_avx512(x, cols) };
    }
    zscore_columns_body(x, cols)
}

/// [`zscore_columns`] compiled for AVX-512: the same f64 operations lane by lane (Rust never
/// fuses or reorders them), eight to a register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn zscore_columns_avx512(x: &[f32], cols: usize) -> Vec<f32> {
    zscore_columns_body(x, cols)
}

#[inline(always)]
fn zscore_columns_body(x: &[f32], cols: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    let n = (x.len() / cols) as f64;
    let mut mean = vec![0.0f64; cols];
    for row in x.chunks_exact(cols) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0f64; cols];
    for row in x.chunks_exact(cols) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    // 1 / std, or 0 for a constant column (whose z-scores are then exactly 0).
    let scale: Vec<f64> = var
        .iter()
        .zip(&mean)
        .map(|(&s, &m)| {
            let sd = (s / n).sqrt();
            if sd > 1e-12 * m.abs().max(1.0) {
                1.0 / sd
            } else {
                0.0
            }
        })
        .collect();
    let mut out = vec![0.0f32; x.len()];
    for (o, row) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        for (((o, &v), &m), &k) in o.iter_mut().zip(row).zip(&mean).zip(&scale) {
            *o = ((v as f64 - m) * k) as f32;
        }
    }
    out
}

/// Sum in f64 of `f(v)` over a row, in four interleaved partial sums (element `i` into sum
/// `i mod 4`, then `(s0 + s1) + (s2 + s3)`): a fixed order, without one long chain of
/// dependent additions.
#[inline(always)]
fn sum_f64(row: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut s = [0.0f64; 4];
    let mut chunks = row.chunks_exact(4);
    for c in &mut chunks {
        for (s, &v) in s.iter_mut().zip(c) {
            *s += f(v);
        }
    }
    for (s, &v) in s.iter_mut().zip(chunks.remainder()) {
        *s += f(v);
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `H = LayerNorm(H + O)` for every row (`h`, `o` row-major, rows of [`HIDDEN`]).
fn residual_layer_norm(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    #[cfg(target_arch = "x86_64")]
    if crate::attention::kernels::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F, the only feature the entry enables.
        return unsafe { residual_layer_norm_avx512(h, o, gamma, beta) };
    }
    residual_layer_norm_body(h, o, gamma, beta)
}

/// [`residual_layer_norm`] for AVX-512 machines: the same f64 operations in the same order,
/// the row statistics summed with explicit 4-lane vectors ([`row_moments_avx`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn residual_layer_norm_avx512(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    // Eight rows at a time: first their sums and statistics, then their normalisation, so that
    // the rows' square roots and divisions overlap instead of each row's normalisation waiting
    // for its own (the same operations per row, in the same order).
    for (rows, orows) in h.chunks_mut(LN_ROWS * HIDDEN).zip(o.chunks(LN_ROWS * HIDDEN)) {
        let mut moments = [(0.0, 0.0); LN_ROWS];
        for ((row, orow), m) in rows.chunks_exact_mut(HIDDEN).zip(orows.chunks_exact(HIDDEN)).zip(&mut moments) {
            for (x, &y) in row.iter_mut().zip(orow) {
                *x += y;
            }
            // SAFETY: this function runs only where AVX-512 F (and so AVX) is available.
            *m = unsafe { row_moments_avx(row) };
        }
        for (row, &(mean, inv)) in rows.chunks_exact_mut(HIDDEN).zip(&moments) {
            normalise_row(row, mean, inv, gamma, beta);
        }
    }
}

/// Rows whose statistics [`residual_layer_norm_avx512`] computes before normalising them.
#[cfg(target_arch = "x86_64")]
const LN_ROWS: usize = 8;

#[inline(always)]
fn residual_layer_norm_body(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    for (row, orow) in h.chunks_exact_mut(HIDDEN).zip(o.chunks_exact(HIDDEN)) {
        for (x, &y) in row.iter_mut().zip(orow) {
            *x += y;
        }
        layer_norm_row(row, gamma, beta);
    }
}

/// Layer norm of one row in place (statistics and the affine step in f64).
#[inline(always)]
fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32]) {
    let (mean, inv) = row_moments(row);
    normalise_row(row, mean, inv, gamma, beta);
}

/// The mean of a row and `1 / √(var + ε)`, its population variance's, in f64.
#[inline(always)]
fn row_moments(row: &[f32]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = sum_f64(row, |v| v as f64) / n;
    let var = sum_f64(row, |v| (v as f64 - mean).powi(2)) / n;
    (mean, 1.0 / (var + LN_EPS).sqrt())
}

/// `((v − mean) · inv) · γ + β` for every value of a row, in f64.
#[inline(always)]
fn normalise_row(row: &mut [f32], mean: f64, inv: f64, gamma: &[f32], beta: &[f32]) {
    for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (((*v as f64 - mean) * inv) * g as f64 + b as f64) as f32;
    }
}

/// [`row_moments`] of a row whose length is a multiple of 4, bit for bit: lane `k` of one
/// 4 × f64 vector is [`sum_f64`]'s partial sum `k`. The compiler vectorised the portable sums
/// two lanes at a time with a shuffle per pair of values; one vector per four values made the
/// layer norm about twice as fast.
///
/// # Safety
/// The CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn row_moments_avx(row: &[f32]) -> (f64, f64) {
    use std::arch::x86_64::*;
    debug_assert_eq!(row.len() % 4, 0);
    let n = row.len() as f64;
    // SAFETY: AVX is available (the caller's contract); each load reads the four values of one
    // `chunks_exact(4)` chunk.
    let (mean, var) = unsafe {
        let mut sum = _mm256_setzero_pd();
        for c in row.chunks_exact(4) {
            sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr())));
        }
        let mean = sum_lanes(sum) / n;
        let (centre, mut squares) = (_mm256_set1_pd(mean), _mm256_setzero_pd());
        for c in row.chunks_exact(4) {
            let d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr())), centre);
            squares = _mm256_add_pd(squares, _mm256_mul_pd(d, d));
        }
        (mean, sum_lanes(squares) / n)
    };
    (mean, 1.0 / (var + LN_EPS).sqrt())
}

/// `(s0 + s1) + (s2 + s3)` of a 4 × f64 vector: [`sum_f64`]'s final step.
///
/// # Safety
/// The CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn sum_lanes(s: std::arch::x86_64::__m256d) -> f64 {
    use std::arch::x86_64::*;
    // SAFETY: AVX is available (the caller's contract); register operations only.
    unsafe {
        let (low, high) = (_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
        (_mm_cvtsd_f64(low) + _mm_cvtsd_f64(_mm_unpackhi_pd(low, low)))
            + (_mm_cvtsd_f64(high) + _mm_cvtsd_f64(_mm_unpackhi_pd(high, high)))
    }
}

/// A weight matrix as a row-major slice (copied only if the array is not in standard layout).
fn matrix(w: &Array2<f32>) -> ndarray::CowArray<'_, f32, ndarray::Ix2> {
    w.as_standard_layout()
}

/// A hidden-width vector as an array.
fn vector(b: &Array1<f32>) -> [f32; HIDDEN] {
    // One copy when contiguous (indexing element by element was 0.6% of a pipeline session).
    b.as_slice().and_then(|s| s.try_into().ok()).unwrap_or_else(|| std::array::from_fn(|j| b[j]))
}

/// One layer's weights as slices, ready for [`affine_rows`].
struct LayerWeights<'a> {
    wq: ndarray::CowArray<'a, f32, ndarray::Ix2>,
    wk: ndarray::CowArray<'a, f32, ndarray::Ix2>,
    wv: ndarray::CowArray<'a, f32, ndarray::Ix2>,
    wo: ndarray::CowArray<'a, f32, ndarray::Ix2>,
    bq: [f32; HIDDEN],
    bk: [f32; HIDDEN],
    bv: [f32; HIDDEN],
    bo: [f32; HIDDEN],
    gamma: [f32; HIDDEN],
    beta: [f32; HIDDEN],
}

impl<'a> LayerWeights<'a> {
    fn new(l: &'a Layer) -> Self {
        Self {
            wq: matrix(&l.wq),
            wk: matrix(&l.wk),
            wv: matrix(&l.wv),
            wo: matrix(&l.wo),
            bq: vector(&l.bq),
            bk: vector(&l.bk),
            bv: vector(&l.bv),
            bo: vector(&l.bo),
            gamma: vector(&l.ln_gamma),
            beta: vector(&l.ln_beta),
        }
    }
}

/// A standard-layout array's elements.
fn flat<'s, D: ndarray::Dimension>(a: &'s ndarray::CowArray<'_, f32, D>) -> &'s [f32] {
    a.as_slice().expect("standard layout")
}

/// Writes one hidden-width row into row `i` of a heads × L × D array (head `h` takes columns
/// `11h..11h+11`).
fn scatter_heads(heads: &mut [f32], l: usize, i: usize, row: &[f32; HIDDEN]) {
    for (h, part) in row.chunks_exact(HEAD_DIM).enumerate() {
        heads[(h * l + i) * HEAD_DIM..][..HEAD_DIM].copy_from_slice(part);
    }
}

/// The first `H · L · D` floats of `a` as a heads × L × D array.
fn heads_view(a: &[f32], l: usize) -> ArrayView3<'_, f32> {
    ArrayView3::from_shape((HEADS, l, HEAD_DIM), &a[..l * HIDDEN]).expect("H × L × D floats")
}

/// Every row of a heads × L × D array with the heads concatenated, into `merged` (L × 44),
/// one head-row at a time (building a row and copying it whole cost a `memcpy` call per row).
fn gather_heads(heads: &[f32], l: usize, merged: &mut [f32]) {
    for (h, head) in heads.chunks_exact(l * HEAD_DIM).enumerate() {
        for (row, part) in merged.chunks_exact_mut(HIDDEN).zip(head.chunks_exact(HEAD_DIM)) {
            row[h * HEAD_DIM..][..HEAD_DIM].copy_from_slice(part);
        }
    }
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

    /// Embeds a session. `edges` are `(src, dst)` local indices (positions in
    /// [`Session::events`]), e.g. from [`crate::dag::session_causal_pairs`]. The time bias is
    /// a matrix (cached when the options have a cache) up to [`DENSE_BIAS_MAX_EVENTS`] events
    /// and computed row by row beyond ([`BiasPath::Auto`]): the same bits either way, and
    /// memory that grows with L (plus the mask's L²/8-byte bitset), not 4·L².
    ///
    /// ```
    /// use ironforge::attention::model::{EmbedOptions, Model};
    /// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("d", 1, 20));
    /// let edges = s.local_edges();
    /// let e = Model::from_seed(1).embed(&s, &edges, &EmbedOptions::default())?;
    /// assert_eq!(e.events.dim(), (20, 44));
    /// assert_eq!(e.session.len(), 44);
    /// # Ok::<(), ironforge::attention::model::ModelError>(())
    /// ```
    pub fn embed(
        &self,
        session: &Session,
        edges: &[(u32, u32)],
        opts: &EmbedOptions<'_>,
    ) -> Result<Embeddings, ModelError> {
        self.embed_with_bias_path(session, edges, opts, BiasPath::Auto)
    }

    /// [`Model::embed`] with the time bias's form chosen ([`BiasPath`]); the parity tests run
    /// both forms on the same sessions.
    ///
    /// ```
    /// use ironforge::attention::model::{BiasPath, EmbedOptions, Model};
    /// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("r", 2, 40));
    /// let (m, edges, opts) = (Model::from_seed(1), s.local_edges(), EmbedOptions::default());
    /// let dense = m.embed_with_bias_path(&s, &edges, &opts, BiasPath::Dense)?;
    /// let rows = m.embed_with_bias_path(&s, &edges, &opts, BiasPath::Rows)?;
    /// assert_eq!(dense, rows);
    /// # Ok::<(), ironforge::attention::model::ModelError>(())
    /// ```
    pub fn embed_with_bias_path(
        &self,
        session: &Session,
        edges: &[(u32, u32)],
        opts: &EmbedOptions<'_>,
        path: BiasPath,
    ) -> Result<Embeddings, ModelError> {
        let l = session.len();
        if let Some((edge, &(src, dst))) =
            edges.iter().enumerate().find(|(_, &(u, v))| u as usize >= l || v as usize >= l)
        {
            return Err(ModelError::EdgeOutOfRange { session: session.id().to_string(), edge, src, dst, len: l });
        }
        let mask = match opts.mask {
            MaskVariant::Original => Mask::from_edges(l, edges),
            MaskVariant::Causal => Mask::from_edges_causal(l, edges),
        };
        let times = session.times_ms();
        let dense = match path {
            BiasPath::Auto => l <= DENSE_BIAS_MAX_EVENTS,
            BiasPath::Dense => true,
            BiasPath::Rows => false,
        };
        // The matrix (from the cache when there is one), only on the dense path.
        let bias_matrix = if dense {
            let m = match opts.cache {
                Some(cache) => cache.get_or_compute(&times, opts.bias),
                None => opts.bias.try_matrix(&times).map(|m| m.map(std::sync::Arc::new)),
            };
            m.map_err(|source| ModelError::Bias { session: session.id().to_string(), source })?
        } else {
            None
        };

        let kernel = match opts.kernel {
            KernelChoice::Fixed(k) => k,
            KernelChoice::Dispatch(d) => d.choose_for(&mask),
        };
        // This thread's buffers, taken out for the call (a nested call on the thread, or the
        // call after an error, finds none and starts afresh).
        let mut scratch = EMBED_SCRATCH.with(|cell| cell.take());
        let EmbedScratch { raw, heads: [q, k, v], merged, projected } = &mut scratch;
        raw.clear();
        session.events().iter().for_each(|e| raw.extend_from_slice(&e.features));
        let mut x = zscore_columns(raw, NODE_FEATURES);
        if let Some(te) = &self.time {
            let z = Array2::from_shape_vec((l, NODE_FEATURES), x).expect("L × 45 z-scores");
            x = ndarray::concatenate![Axis(1), z, te.encode(&times)].as_standard_layout().iter().copied().collect();
        }
        let (w_in, b_in) = (matrix(&self.w_in), vector(&self.b_in));
        let mut h = Array2::<f32>::zeros((l, HIDDEN));
        let hs = h.as_slice_mut().expect("standard layout");
        affine_rows(&x, l, flat(&w_in), &b_in, |i, y| hs[i * HIDDEN..][..HIDDEN].copy_from_slice(y));
        let mut kernels = Vec::with_capacity(self.layers.len());
        let mut fallbacks = 0;
        // Every element of these is written before it is read (each row of q, k and v whole by
        // its projection, merged by `gather_heads`, projected by the output projection).
        for buffer in [&mut *q, &mut *k, &mut *v, &mut *merged, &mut *projected] {
            buffer.resize(l * HIDDEN, 0.0);
        }
        for (li, layer) in self.layers.iter().enumerate() {
            let w = LayerWeights::new(layer);
            let hs = h.as_slice().expect("standard layout");
            for (out, wm, b) in [(&mut *q, &w.wq, &w.bq), (&mut *k, &w.wk, &w.bk), (&mut *v, &w.wv, &w.bv)] {
                affine_rows(hs, l, flat(wm), b, |i, y| scatter_heads(out, l, i, y));
            }
            let inp = AttnInputs {
                q: heads_view(q, l),
                k: heads_view(k, l),
                v: heads_view(v, l),
                mask: &mask,
                bias: match &bias_matrix {
                    Some(m) => Some(BiasSource::from(m.view())),
                    None if dense => None,
                    None => BiasSource::times(&times, opts.bias),
                },
            };
            let g = opts.breaker.attend(kernel, &inp).map_err(|source| ModelError::Attention {
                session: session.id().to_string(),
                layer: li,
                source,
            })?;
            kernels.push(g.used);
            fallbacks += usize::from(g.fell_back);
            let attended = g.output.as_standard_layout();
            gather_heads(flat(&attended), l, merged);
            affine_rows(merged, l, flat(&w.wo), &w.bo, |i, o| projected[i * HIDDEN..][..HIDDEN].copy_from_slice(o));
            residual_layer_norm(h.as_slice_mut().expect("standard layout"), projected, &w.gamma, &w.beta);
        }
        EMBED_SCRATCH.with(|cell| cell.replace(scratch));
        let session_emb = h.axis_iter(Axis(1)).map(|c| (c.iter().map(|&v| v as f64).sum::<f64>() / l as f64) as f32);
        let session_emb = Array1::from_iter(session_emb);
        Ok(Embeddings { events: h, session: session_emb, kernels, fallbacks })
    }
}

/// [`Model::embed`]'s working buffers, kept per thread between calls: the raw features, the
/// heads' q, k and v (H × L × D), and the merged and projected rows (L × 44). Reusing them saved
/// six allocations and five zero fills of about 6 KB per real session.
#[derive(Default)]
struct EmbedScratch {
    raw: Vec<f32>,
    heads: [Vec<f32>; 3],
    merged: Vec<f32>,
    projected: Vec<f32>,
}

thread_local! {
    static EMBED_SCRATCH: std::cell::Cell<EmbedScratch> = Default::default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_give_what_fresh_ones_give() {
        use crate::synth::{generate, SessionSpec};
        let model = Model::from_seed(3);
        let (long, short) = (generate(&SessionSpec::new("a", 1, 60)), generate(&SessionSpec::new("b", 2, 20)));
        let embed = |s: &Session| model.embed(s, &s.local_edges(), &EmbedOptions::default()).unwrap();
        // A new thread starts with no buffers; this one has just used them for 60 events.
        let fresh = std::thread::scope(|t| t.spawn(|| embed(&short)).join().unwrap());
        embed(&long);
        let reused = embed(&short);
        assert_eq!((reused.events, reused.session), (fresh.events, fresh.session));
    }

    #[test]
    fn heads_scatter_and_gather_round_trip() {
        let (l, mut heads) = (3, vec![0.0; HEADS * 3 * HEAD_DIM]);
        let rows: Vec<[f32; HIDDEN]> = (0..l).map(|i| std::array::from_fn(|j| (i * 100 + j) as f32)).collect();
        for (i, r) in rows.iter().enumerate() {
            scatter_heads(&mut heads, l, i, r);
        }
        // head 2, row 1, dim 3 is hidden column 2 × 11 + 3 of row 1
        assert_eq!(heads[(2 * l + 1) * HEAD_DIM + 3], rows[1][2 * HEAD_DIM + 3]);
        let mut merged = vec![0.0; l * HIDDEN];
        gather_heads(&heads, l, &mut merged);
        assert_eq!(merged, rows.concat());
    }

    #[test]
    fn layer_norm_centres_and_scales_rows() {
        for scale in [1.0f32, 2.0] {
            let mut row: Vec<f32> = (0..HIDDEN).map(|j| j as f32 * scale + 23_000.0).collect();
            layer_norm_row(&mut row, &[1.0; HIDDEN], &[0.0; HIDDEN]);
            let mean: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / HIDDEN as f64;
            let var: f64 = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / HIDDEN as f64;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "mean {mean} var {var}");
        }
    }

    #[test]
    fn vector_builds_of_the_row_passes_give_the_portable_bits() {
        // 19 rows: two whole groups of the vector layer norm's eight and a partial one.
        let x: Vec<f32> = (0..19 * HIDDEN).map(|i| (i as f32 * 0.37).sin() * 100.0 + 23_000.0).collect();
        let o: Vec<f32> = (0..19 * HIDDEN).map(|i| (i as f32 * 0.11).cos()).collect();
        let gamma: [f32; HIDDEN] = std::array::from_fn(|j| 1.0 + j as f32 * 0.01);
        let beta: [f32; HIDDEN] = std::array::from_fn(|j| j as f32 * -0.02);
        let (mut a, mut b) = (x.clone(), x.clone());
        residual_layer_norm(&mut a, &o, &gamma, &beta);
        residual_layer_norm_body(&mut b, &o, &gamma, &beta);
        assert_eq!(a, b);
        assert_eq!(zscore_columns(&x, 11), zscore_columns_body(&x, 11));
        assert_ne!(a, x, "the pass changed something");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_row_moments_sum_in_the_portable_order() {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        // Values from 1e-6 to 1e6 in magnitude: their f64 sums round, so another order of the
        // partial sums changes the bits of some row's moments.
        for r in 0..500 {
            let row: [f32; HIDDEN] = std::array::from_fn(|j| {
                let i = r * HIDDEN + j;
                (i as f32 * 0.731).sin() * 10f32.powi((i * 7 % 13) as i32 - 6)
            });
            // SAFETY: the CPU has AVX (checked above).
            let (mean, inv) = unsafe { row_moments_avx(&row) };
            let (want_mean, want_inv) = row_moments(&row);
            assert_eq!((mean.to_bits(), inv.to_bits()), (want_mean.to_bits(), want_inv.to_bits()), "row {r}");
        }
    }

    #[test]
    fn normalising_matches_the_column_by_column_definition() {
        let x = Array2::from_shape_fn((7, 3), |(i, c)| if c == 1 { 5.0 } else { (i * (c + 2)) as f32 * 0.3 + 100.0 });
        let z = normalise_columns(x.view());
        for (c, col) in x.axis_iter(Axis(1)).enumerate() {
            let mean = col.iter().map(|&v| v as f64).sum::<f64>() / 7.0;
            let std = (col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
            for (r, &v) in col.iter().enumerate() {
                let want =
                    if std > 1e-12 * mean.abs().max(1.0) { ((v as f64 - mean) * (1.0 / std)) as f32 } else { 0.0 };
                assert_eq!(z[[r, c]].to_bits(), want.to_bits(), "row {r} column {c}");
            }
        }
    }

    #[test]
    fn normalising_a_price_column_gives_unit_scale() {
        let x = Array2::from_shape_fn((50, 1), |(i, _)| 23_000.0 + i as f32 * 0.25);
        let z = normalise_columns(x.view());
        assert!(z.iter().all(|v| v.abs() < 2.0));
        assert!((z.sum()).abs() < 1e-4);
    }
}
