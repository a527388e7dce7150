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
//!
//! Files: `options.rs` (what [`Model::embed`] is asked for and what it returns), `error.rs`
//! ([`ModelError`]), `weights.rs` (seeded or `.npz` weights), `norm.rs` (the column z-scores
//! and the residual layer norm, each with its AVX-512 form); the forward pass is here.

use ndarray::{Array1, Array2, ArrayView3, Axis};

use super::bias::DENSE_BIAS_MAX_EVENTS;
use super::encoding::TimeEncoding;
use super::kernels::{AttnInputs, BiasSource};
use super::linear::affine_rows;
use super::Mask;
use crate::session::{Session, NODE_FEATURES};

mod error;
mod norm;
mod options;
mod weights;

pub use error::ModelError;
pub use norm::normalise_columns;
pub use options::{BiasPath, EmbedOptions, Embeddings, KernelChoice, MaskVariant};

use norm::{residual_layer_norm, zscore_columns};

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
}
