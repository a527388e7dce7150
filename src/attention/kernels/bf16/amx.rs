//! The `bf16` kernel's AMX path: its dense rows on AMX tiles, sixteen query rows per block.
//!
//! Three passes per block, the first and last on tiles, the middle on AVX-512:
//!
//! 1. scores: `S = Q·Kᵀ` — the block's query pairs as one or two A tiles (16 rows × up to 16
//!    pairs), the pair-interleaved keys of sixteen columns as B tiles, one `TDPBF16PS` per tile
//!    pair into a 16 × 16 f32 tile, stored to a 16 × L buffer (two column groups in flight);
//! 2. softmax in f32 row by row (scale and bias in one FMA, masked maximum, exponential, sum of
//!    the unrounded probabilities); the probabilities are rounded to bf16 into a 16 × L buffer
//!    (`VCVTNE2PS2BF16`). The exponential is `2^t` with a degree-4 polynomial on the fraction
//!    (relative error 3.7e-6, far below bf16's 2⁻⁹ rounding of the probabilities it feeds);
//!    the check for non-finite scores is compiled out when the inputs' magnitudes prove every
//!    score finite ([`scores_surely_finite`]);
//! 3. `O = P·V` — 32 probabilities per row as one A tile, the values of 32 keys in key pairs
//!    as B tiles (16 head dimensions each), up to four f32 accumulator tiles for D ≤ 64.
//!
//! Column groups that no row of the block allows are skipped in passes 1 and 3. Since the
//! maximum is final before any exponential, no accumulator is ever rescaled.

use super::job::{Bf16Job, Bf16Panels};
use super::round::store_bf16_pair;
use crate::attention::kernels::amx::{self, TileConfig};
use crate::attention::kernels::coverage::{self, RowPath};
use crate::attention::kernels::panels::tile_bits;
use crate::attention::kernels::simd::{Avx512, Isa, Lanes, LANES};
use crate::attention::kernels::sparse::sparse_row;
use std::arch::x86_64::*;

/// Rows per block: the rows of one tile.
const BLOCK: usize = 16;
/// Largest head dimension the tile path takes (four accumulator tiles of sixteen columns).
pub(super) const MAX_D: usize = 64;

/// What became of one row of a block.
#[derive(Clone, Copy, PartialEq)]
enum RowState {
    /// Probabilities written; the sum divides the tile result.
    Sum(f32),
    /// No column allowed: a zero row.
    Empty,
    /// A non-finite score: a NaN row, as `math` gives.
    NonFinite,
}

/// One head on [`Bf16Path::Amx`](super::Bf16Path::Amx): sparse rows on the f32 sparse path,
/// dense rows in blocks of sixteen on tiles ([`dense_rows`]).
///
/// # Safety
/// [`Bf16Path::Amx`](super::Bf16Path::Amx) must be available.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn head(job: &Bf16Job<'_>, out: &mut [f32]) {
    let lanes = Avx512::new().expect("caller checked avx512f");
    let (l, d) = (job.rows.l, job.rows.d);
    let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
    let mut dense = Vec::with_capacity(l);
    for i in 0..l {
        match job.sparse.and_then(|s| s.row(i)) {
            Some(cols) => sparse_row(lanes, &job.rows, i, cols, &mut scratch, &mut out[i * d..(i + 1) * d]),
            None => dense.push(i),
        }
    }
    coverage::add(RowPath::SparseRows, Isa::Avx512, l - dense.len());
    coverage::add(RowPath::AmxTiles, Isa::Avx512, dense.len());
    if let Some(p) = job.panels.as_ref().filter(|_| !dense.is_empty()) {
        // SAFETY: caller's contract.
        unsafe { dense_rows(job, p, &dense, out) }
    }
}

/// The dense rows `rows` of one head (D ≤ [`MAX_D`]).
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw` and `avx512bf16`, and
/// [`amx::bf16_available`] must have returned true.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn dense_rows(job: &Bf16Job<'_>, p: &Bf16Panels, rows: &[usize], out: &mut [f32]) {
    let lanes = Avx512::new().expect("caller checked avx512f");
    let (l, d) = (job.rows.l, job.rows.d);
    debug_assert!(d <= MAX_D && !p.v_pairs.is_empty());
    let (lp, np, dv) = (p.lp, p.pairs(), p.dv);
    let (np0, np1) = (np.min(16), np.saturating_sub(16));
    let nv = dv / LANES;
    let n16 = lp / LANES;
    // Narrow heads (≤ 16 pairs, ≤ 2 accumulator tiles) use one configuration for the whole
    // head: accumulators 0, 1; queries 2; keys 3, 4; tiles 5, 6, 7 (16 × 64 bytes) hold the
    // scores of pass 1 and the probabilities and values of pass 3. Wider heads load one
    // configuration per pass: pass 1 scores 0, 1, queries 2, 3, keys 4–7; pass 3
    // accumulators 0–3, probabilities 4, values 5–7.
    // One query tile means D ≤ 32, hence at most two accumulator tiles.
    let narrow = np1 == 0;
    debug_assert!(!narrow || nv <= 2);
    let (narrow_cfg, score_cfg, pv_cfg) = {
        let sq = |c: TileConfig, t: usize| c.tile(t, 16, 64);
        let mut narrow_cfg = [0, 1, 5, 6, 7].into_iter().fold(TileConfig::new(), sq);
        narrow_cfg = narrow_cfg.tile(2, 16, 4 * np0).tile(3, np0, 64).tile(4, np0, 64);
        let mut score_cfg = sq(sq(TileConfig::new(), 0), 1).tile(2, 16, 4 * np0).tile(4, np0, 64).tile(6, np0, 64);
        if np1 > 0 {
            score_cfg = score_cfg.tile(3, 16, 4 * np1).tile(5, np1, 64).tile(7, np1, 64);
        }
        (narrow_cfg, score_cfg, (0..8).fold(TileConfig::new(), sq))
    };

    let mut q_block = vec![0u32; BLOCK * np];
    let mut scores = vec![0f32; BLOCK * lp];
    let mut probs = vec![0u16; BLOCK * lp];
    let mut acc = vec![0f32; BLOCK * dv];
    let mut union_words = vec![0u64; l.div_ceil(64)];
    let mut union = vec![0u16; n16];
    let mut state = [RowState::Empty; BLOCK];
    // Row i's bias, when the bias is computed row by row (L floats).
    let mut bias_sc = Vec::new();
    let check = !scores_surely_finite(job);
    let v_stride = 4 * dv;
    if narrow {
        // SAFETY: AMX is the caller's contract.
        unsafe { narrow_cfg.load() };
    }

    for block in rows.chunks(BLOCK) {
        union_words.fill(0);
        q_block.fill(0);
        for (r, &i) in block.iter().enumerate() {
            for (u, w) in union_words.iter_mut().zip(job.mask.row_words(i)) {
                *u |= w;
            }
            q_block[r * np..(r + 1) * np].copy_from_slice(&p.q_pairs[i * np..(i + 1) * np]);
        }
        for (t, u) in union.iter_mut().enumerate() {
            *u = if t * LANES < l { tile_bits(&union_words, t) } else { 0 };
        }

        // Pass 1: scores. Key pairs c2 of column j sit at `k_pairs[(c2 · lp + j) · 2]`.
        let score_job = ScorePass { union: &union, k_pairs: &p.k_pairs, lp, np1, scores: scores.as_mut_ptr() };
        // SAFETY: AMX and the features are the caller's contract; the A tiles read 16 rows of
        // 4·np_t bytes of `q_block` (16 × np words); `ScorePass::run` states the rest.
        unsafe {
            if !narrow {
                score_cfg.load();
            }
            amx::load::<2>(q_block.as_ptr().cast(), 4 * np);
            if narrow {
                amx::zero::<0>();
                amx::zero::<1>();
                score_job.run::<5, 6, 2, 2, 3, 3, 4, 4>();
            } else {
                amx::load::<3>(q_block[16..].as_ptr().cast(), 4 * np);
                score_job.run::<0, 1, 2, 3, 4, 5, 6, 7>();
            }
        }

        // Pass 2: softmax row by row; rows missing from a short block get zero probabilities.
        for r in 0..BLOCK {
            let pr = &mut probs[r * lp..(r + 1) * lp];
            let Some(&i) = block.get(r) else {
                pr.fill(0);
                continue;
            };
            let sr = &mut scores[r * lp..(r + 1) * lp];
            let bias_row = job.bias.as_ref().map(|b| b.row(i, job.mask, &mut bias_sc));
            state[r] = if check {
                softmax_row::<true>(lanes, job, i, bias_row, sr, pr)
            } else {
                softmax_row::<false>(lanes, job, i, bias_row, sr, pr)
            };
        }

        // Pass 3: P·V into nv accumulator tiles (0..nv).
        let pv_job = PvPass { union: &union, probs: &probs, v_pairs: &p.v_pairs, lp, dv, nv };
        // SAFETY: as above; `PvPass::run` states the reads; the stores write 16 rows of 64 bytes
        // at dimension 16·u < dv of `acc` (16 × dv).
        unsafe {
            if narrow {
                pv_job.run::<5, 6, 7, 7>();
            } else {
                pv_cfg.load();
                pv_job.run::<4, 5, 6, 7>();
            }
            let acc_base = acc.as_mut_ptr();
            amx::store::<0>(acc_base.cast(), v_stride);
            if nv > 1 {
                amx::store::<1>(acc_base.add(LANES).cast(), v_stride);
            }
            if nv > 2 {
                amx::store::<2>(acc_base.add(2 * LANES).cast(), v_stride);
            }
            if nv > 3 {
                amx::store::<3>(acc_base.add(3 * LANES).cast(), v_stride);
            }
        }

        for (r, &i) in block.iter().enumerate() {
            let o = &mut out[i * d..(i + 1) * d];
            match state[r] {
                RowState::Sum(sum) => {
                    for (oc, a) in o.iter_mut().zip(&acc[r * dv..]) {
                        *oc = a / sum;
                    }
                }
                RowState::Empty => o.fill(0.0),
                RowState::NonFinite => o.fill(f32::NAN),
            }
        }
    }
    // SAFETY: AMX is the caller's contract.
    unsafe { amx::release() };
}

/// Pass 1 of a block: the 16 × 16 score tiles of the column groups some row allows.
struct ScorePass<'a> {
    union: &'a [u16],
    k_pairs: &'a [u16],
    lp: usize,
    /// Pairs in the second query tile (0: one tile).
    np1: usize,
    /// 16 × lp scores, row-major.
    scores: *mut f32,
}

impl ScorePass<'_> {
    /// Two column groups in flight: group a in tile `SA` from keys `KA0` (and `KA1` for pairs
    /// 16..), group b in `SB` from `KB0` (`KB1`); the queries are in `Q0` (`Q1`).
    ///
    /// # Safety
    /// AMX with a configuration that gives these tiles their shapes, the queries loaded, and
    /// `scores` valid for 16 × lp floats. The B tiles read np_t rows of 64 bytes at column
    /// t·16 < lp of `k_pairs` (np × lp pairs); the stores write 16 rows of 64 bytes at column
    /// t·16 < lp of `scores`.
    #[inline(always)]
    unsafe fn run<
        const SA: u8,
        const SB: u8,
        const Q0: u8,
        const Q1: u8,
        const KA0: u8,
        const KA1: u8,
        const KB0: u8,
        const KB1: u8,
    >(
        &self,
    ) {
        let (lp, np1, n16) = (self.lp, self.np1, self.union.len());
        let keys = |c2: usize, t: usize| self.k_pairs[(c2 * lp + t * LANES) * 2..].as_ptr().cast::<u8>();
        let k_stride = 4 * lp;
        // SAFETY: the caller's contract.
        unsafe {
            for t in (0..n16).step_by(2) {
                let (a, b) = (self.union[t] != 0, t + 1 < n16 && self.union[t + 1] != 0);
                if a {
                    amx::zero::<SA>();
                    amx::load::<KA0>(keys(0, t), k_stride);
                    amx::dot_bf16::<SA, Q0, KA0>();
                    if np1 > 0 {
                        amx::load::<KA1>(keys(16, t), k_stride);
                        amx::dot_bf16::<SA, Q1, KA1>();
                    }
                }
                if b {
                    amx::zero::<SB>();
                    amx::load::<KB0>(keys(0, t + 1), k_stride);
                    amx::dot_bf16::<SB, Q0, KB0>();
                    if np1 > 0 {
                        amx::load::<KB1>(keys(16, t + 1), k_stride);
                        amx::dot_bf16::<SB, Q1, KB1>();
                    }
                }
                if a {
                    amx::store::<SA>(self.scores.add(t * LANES).cast(), 4 * lp);
                }
                if b {
                    amx::store::<SB>(self.scores.add((t + 1) * LANES).cast(), 4 * lp);
                }
            }
        }
    }
}

/// Pass 3 of a block: `P·V` over the 32-column groups some row allows, into accumulator tiles
/// 0..nv.
struct PvPass<'a> {
    union: &'a [u16],
    probs: &'a [u16],
    v_pairs: &'a [u16],
    lp: usize,
    dv: usize,
    nv: usize,
}

impl PvPass<'_> {
    /// Probabilities in tile `P`, values in `V0`, `V1`, `V2` (the fourth accumulator reuses `V0`).
    ///
    /// # Safety
    /// AMX with a configuration that gives these tiles and accumulators 0..nv the shape 16 × 64
    /// bytes. The A tile reads 16 rows of 64 bytes at column 32·t2 < lp of `probs` (16 × lp);
    /// B tiles read 16 key pairs of 64 bytes at dimension 16·u < dv of `v_pairs` (lp/2 × dv
    /// pairs).
    #[inline(always)]
    unsafe fn run<const P: u8, const V0: u8, const V1: u8, const V2: u8>(&self) {
        let (lp, dv, nv) = (self.lp, self.dv, self.nv);
        let values = |t2: usize, u: usize| self.v_pairs[(t2 * 16 * dv + u * LANES) * 2..].as_ptr().cast::<u8>();
        let v_stride = 4 * dv;
        // SAFETY: the caller's contract.
        unsafe {
            for t2 in 0..lp / 32 {
                if self.union[2 * t2] | self.union[2 * t2 + 1] == 0 {
                    continue;
                }
                amx::load::<P>(self.probs[t2 * 32..].as_ptr().cast(), 2 * lp);
                amx::load::<V0>(values(t2, 0), v_stride);
                amx::dot_bf16::<0, P, V0>();
                if nv > 1 {
                    amx::load::<V1>(values(t2, 1), v_stride);
                    amx::dot_bf16::<1, P, V1>();
                }
                if nv > 2 {
                    amx::load::<V2>(values(t2, 2), v_stride);
                    amx::dot_bf16::<2, P, V2>();
                }
                if nv > 3 {
                    amx::load::<V0>(values(t2, 3), v_stride);
                    amx::dot_bf16::<3, P, V0>();
                }
            }
        }
    }
}

/// Whether every score `q·k · scale + bias` is finite for sure: all inputs finite and
/// `2 · scale · D · max|q| · max|k| + max|bias| < 10³⁷` (the 2 covers the bf16 rounding of q and
/// k; f32 accumulation of terms that small cannot overflow).
fn scores_surely_finite(job: &Bf16Job<'_>) -> bool {
    let rows = &job.rows;
    let bound = 2.0 * rows.scale * rows.d as f32 * finite_bound(rows.q) * finite_bound(rows.k) + job.bias_bound;
    bound < 1e37
}

/// max |x|, or +∞ when some element is not finite.
pub(super) fn finite_bound(x: &[f32]) -> f32 {
    let (mut max, mut poison) = ([0f32; 16], [0f32; 16]);
    let chunks = x.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            max[i] = max[i].max(c[i].abs());
            poison[i] += c[i] * 0.0; // NaN once an element is NaN or infinite
        }
    }
    for (i, &e) in tail.iter().enumerate() {
        max[i] = max[i].max(e.abs());
        poison[i] += e * 0.0;
    }
    if poison.iter().any(|&p| p != 0.0) {
        f32::INFINITY
    } else {
        max.iter().fold(0.0, |m, &e| m.max(e))
    }
}

/// `2^f` for f in [−½, ½]: least-squares fit at Chebyshev nodes, relative error 3.7e-6.
const EXP2_POLY: [f32; 5] = [1.000_000_1, 0.693_121, 0.240_221_07, 0.055_922_035, 0.009_676_037];

/// Scales row `i`'s scores (and adds its bias row, read at the allowed lanes only) in place,
/// then writes its probabilities, rounded to bf16, into `probs` (zero where the mask blocks)
/// and returns their unrounded sum. With `CHECK`, a non-finite allowed score makes the row
/// [`RowState::NonFinite`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
fn softmax_row<const CHECK: bool>(
    lanes: Avx512,
    job: &Bf16Job<'_>,
    i: usize,
    bias_row: Option<&[f32]>,
    scores: &mut [f32],
    probs: &mut [u16],
) -> RowState {
    let l = job.rows.l;
    let lp = scores.len();
    let words = job.mask.row_words(i);
    let bits_at = |t: usize| if t * LANES < l { tile_bits(words, t) } else { 0 };
    let zero = _mm512_setzero_ps();
    let scale = _mm512_set1_ps(job.scale);
    let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut poison = zero;
    for t in 0..l.div_ceil(LANES) {
        let bits = tile_bits(words, t);
        if bits == 0 {
            continue;
        }
        let j0 = t * LANES;
        let raw = lanes.load(&scores[j0..]);
        let v = match bias_row {
            Some(b) => _mm512_fmadd_ps(raw, scale, lanes.load_masked(&b[j0..], bits)),
            None => _mm512_mul_ps(raw, scale),
        };
        lanes.store(&mut scores[j0..], v);
        mx = _mm512_mask_max_ps(mx, bits, mx, v);
        if CHECK {
            // `score · 0` summed: NaN once an allowed score is NaN or infinite.
            poison = _mm512_mask_add_ps(poison, bits, poison, _mm512_mul_ps(v, zero));
        }
    }
    let m = _mm512_reduce_max_ps(mx);
    let non_finite = CHECK && lanes.reduce_add(poison) != 0.0;
    if m == f32::NEG_INFINITY || non_finite {
        probs.fill(0);
        return if non_finite { RowState::NonFinite } else { RowState::Empty };
    }
    // exp(v − m) = 2^t with t = v·log₂e − m·log₂e ≤ 0; n = round(t), 2^(t−n) by the polynomial,
    // scaled by 2ⁿ (`VSCALEFPS` gives 0 far below the normal range); masked lanes are 0.
    let log2e = _mm512_set1_ps(std::f32::consts::LOG2_E);
    let shift = _mm512_set1_ps(-m * std::f32::consts::LOG2_E);
    let c = EXP2_POLY.map(|x| _mm512_set1_ps(x));
    let mut sum = zero;
    for t2 in 0..lp / 32 {
        let mut e = [zero; 2];
        for (h, eh) in e.iter_mut().enumerate() {
            let bits = bits_at(2 * t2 + h);
            if bits != 0 {
                let t = _mm512_fmadd_ps(lanes.load(&scores[(2 * t2 + h) * LANES..]), log2e, shift);
                let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(t);
                let f = _mm512_sub_ps(t, n);
                let mut y = _mm512_fmadd_ps(c[4], f, c[3]);
                y = _mm512_fmadd_ps(y, f, c[2]);
                y = _mm512_fmadd_ps(y, f, c[1]);
                y = _mm512_fmadd_ps(y, f, c[0]);
                *eh = _mm512_maskz_scalef_ps(bits, y, n);
                sum = _mm512_add_ps(sum, *eh);
            }
        }
        store_bf16_pair(&mut probs[t2 * 32..t2 * 32 + 32], e[0], e[1]);
    }
    RowState::Sum(lanes.reduce_add(sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_bound_is_the_largest_magnitude_or_infinite() {
        let mut x: Vec<f32> = (0..37).map(|i| i as f32 - 20.0).collect();
        assert_eq!(finite_bound(&x), 20.0);
        assert_eq!(finite_bound(&[]), 0.0);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [3, 36] {
                let keep = x[at];
                x[at] = bad;
                assert_eq!(finite_bound(&x), f32::INFINITY, "{bad} at {at}");
                x[at] = keep;
            }
        }
    }
}
