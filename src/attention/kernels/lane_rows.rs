//! The dense rows of `flash` and `sdpa` for head dimensions up to 16: sixteen query rows per
//! block, **one row per lane**.
//!
//! With D ≤ 16 the row-major layout of [`super::rows`] wastes lanes in `P·V` (D = 11 fills 11
//! of 16). Here lane `r` of every vector belongs to query row `r` of the block, so for key `j`:
//!
//! * the score vector is `Σ_c qᵀ[c] · k[j, c]` — D fused multiply-adds, the queries transposed
//!   once per block (`qᵀ[c]` = dimension `c` of the sixteen rows), the key element broadcast;
//! * maxima and sums are element-wise, one per lane, never reduced across lanes;
//! * `P·V` is D fused multiply-adds of the probability vector with the broadcast `v[j, c]`
//!   into D accumulators (`acc[c]` = dimension `c` of the sixteen outputs).
//!
//! Keys go [`Lanes::SCORE_STEP`] at a time (their scores in registers, that many independent
//! FMA chains), and `P·V` accumulates [`Lanes::PV_DIMS`] output dimensions per pass over a
//! chunk's probabilities, so that neither inner loop spills on AVX2's sixteen registers. A
//! 64-key chunk no row of the block allows is skipped; a chunk every row allows wholly needs no
//! mask; otherwise each key's sixteen row bits are gathered from the mask words and masked
//! lanes are selected away (score −∞, probability 0). A time bias is read per chunk as 16 × 16
//! tiles of the block's bias rows, transposed in registers ([`Lanes::transpose16`]) into a
//! key-major scratch, so a key's bias for the sixteen rows is one vector. A blocked entry's
//! bias is loaded but selected away with its score, so only allowed entries need to be right
//! (a row-wise time bias writes only those, `bias_source.rs`).
//!
//! * [`online_lanes`] (`flash`): FlashAttention's online softmax over 64-key chunks — a
//!   chunk's scores into a buffer of 64 vectors with their maximum, the chunk's `exp` and
//!   `P·V` against the grown running maximum, merged into the running `ℓ` and `acc` after
//!   rescaling them by `exp(m_old − m_new)` (skipped when no lane's maximum grew: the factor
//!   would be exactly 1).
//! * [`two_pass_lanes`] (`sdpa`): every score into a buffer of L vectors with the maximum, then
//!   `exp(s − max)`, the sums and `P·V` — no rescaling.
//!
//! Every lane does the same operations in the same order whichever rows share its block, so a
//! row's result does not depend on the blocking or the thread count (tested). The extra memory
//! is the padded key rows of the panels (O(L·D)), a chunk of bias (64 vectors), plus 64
//! vectors of scores for `flash` and L for `sdpa`.

use super::panels::HeadPanels;
use super::simd::{Lanes, LANES, MAX_SCORE_STEP};

/// Keys per mask word.
const CHUNK: usize = 64;

/// A block of up to sixteen query rows of one head.
pub struct LaneBlock<'a> {
    /// The head's panels (`q`, `kr`, `vr` are read).
    pub p: &'a HeadPanels,
    /// Row indices, `1..=16` of them.
    pub rows: &'a [usize],
    /// The rows' mask bitset words (entries past `rows.len()` are ignored).
    pub mask_rows: [&'a [u64]; LANES],
    /// The bias rows of the block (length L each; slot `r` is row `rows[min(r, n − 1)]`'s,
    /// as [`super::RowBias::rows`] gives them), if any.
    pub bias: Option<[&'a [f32]; LANES]>,
    /// 1 / √D.
    pub scale: f32,
}

/// Scratch reused across blocks: the scores of [`two_pass_lanes`] (`lp × 16` floats) or of one
/// chunk of [`online_lanes`] (`64 × 16`), and a chunk's bias, key-major (`64 × 16`).
#[derive(Default)]
pub struct LaneScratch {
    scores: Vec<f32>,
    bias: Vec<f32>,
}

/// One 64-key chunk of a block: its first key, how many keys it has, whether every row of the
/// block allows all of them, and (when not) each key's sixteen row bits.
struct Chunk {
    j0: usize,
    keys: usize,
    full: bool,
    bits: [u16; CHUNK],
}

impl LaneBlock<'_> {
    /// Number of keys (L).
    fn keys(&self) -> usize {
        self.p.q.len() / self.p.dp
    }

    /// Checks the panel layout the routines index without further checks.
    fn check<const DP: usize, const D: usize>(&self) {
        let p = self.p;
        let (n, l_keys) = (self.rows.len(), self.keys());
        assert!((1..=LANES).contains(&n) && DP == p.dp && p.dv == LANES && p.lp.is_multiple_of(LANES));
        assert!(p.d <= D && D <= DP, "computed dimensions {D} must cover D = {} within DP = {DP}", p.d);
        assert!(p.kr.len() == p.lp * DP && p.vr.len() == p.lp * LANES && self.rows.iter().all(|&i| i < l_keys));
    }

    /// Chunk `w`, or `None` when no row of the block allows anything in it.
    #[inline(always)]
    fn chunk(&self, w: usize) -> Option<Chunk> {
        let n = self.rows.len();
        let mut words = [0u64; LANES];
        for (word, row) in words.iter_mut().zip(&self.mask_rows[..n]) {
            *word = row[w];
        }
        if words.iter().all(|&x| x == 0) {
            return None;
        }
        let j0 = w * CHUNK;
        let keys = CHUNK.min(self.keys() - j0);
        // Unused lanes (n < 16) compute harmless zeros from their zero queries and are never
        // written back, so they need no mask.
        let full = keys == CHUNK && words[..n].iter().all(|&x| x == u64::MAX);
        let mut bits = [u16::MAX; CHUNK];
        if !full {
            for (jj, b) in bits.iter_mut().enumerate() {
                *b = (0..n).fold(0u16, |acc, r| acc | (((words[r] >> jj) & 1) as u16) << r);
            }
        }
        Some(Chunk { j0, keys, full, bits })
    }
}

/// The block's queries transposed: lane `r` of vector `c` is `q[rows[r], c]` (zero past the
/// rows), by one in-register 16 × 16 transpose of the rows' padded query panels.
#[inline(always)]
fn transposed_queries<L: Lanes, const DP: usize, const D: usize>(l: L, blk: &LaneBlock<'_>) -> [L::V; D] {
    let mut rows = [l.splat(0.0); LANES];
    for (row, &i) in rows.iter_mut().zip(blk.rows) {
        *row = l.load_masked(&blk.p.q[i * DP..(i + 1) * DP], (1u32 << DP).wrapping_sub(1) as u16);
    }
    let t = l.transpose16(rows);
    let mut qt = [l.splat(0.0); D];
    qt.copy_from_slice(&t[..D]);
    qt
}

/// Fills `dst` (`64 × 16` floats) with chunk `ch`'s bias, key-major: vector `jj` holds
/// `bias[rows[r], j0 + jj]` in lane `r` (rows past the block repeat its last row; keys past L
/// are zero).
#[inline(always)]
fn bias_chunk<L: Lanes>(l: L, blk: &LaneBlock<'_>, bias: &[&[f32]; LANES], ch: &Chunk, dst: &mut [f32]) {
    let l_keys = blk.keys();
    for tile in (0..ch.keys).step_by(LANES) {
        let j = ch.j0 + tile;
        let valid = LANES.min(l_keys - j);
        let bits = if valid == LANES { u16::MAX } else { (1u16 << valid) - 1 };
        let mut m = [l.splat(0.0); LANES];
        // Whole tiles (all but the last) by plain loads: a masked load is two `vmaskmovps` on
        // AVX2, each slower than a load.
        if bits == u16::MAX {
            for (v, row) in m.iter_mut().zip(bias) {
                *v = l.load(&row[j..]);
            }
        } else {
            for (v, row) in m.iter_mut().zip(bias) {
                *v = l.load_masked(&row[j..], bits);
            }
        }
        for (x, v) in l.transpose16(m).into_iter().enumerate() {
            l.store(&mut dst[(tile + x) * LANES..], v);
        }
    }
}

/// Chunk `ch`'s bias for [`step_scores`], prepared in `scratch` by [`bias_chunk`]; `None`
/// without a bias.
#[inline(always)]
fn chunk_bias<'s, L: Lanes>(l: L, blk: &LaneBlock<'_>, ch: &Chunk, scratch: &'s mut Vec<f32>) -> Option<&'s [f32]> {
    let bias = blk.bias.as_ref()?;
    scratch.resize(CHUNK * LANES, 0.0);
    bias_chunk(l, blk, bias, ch, scratch);
    Some(scratch)
}

/// Scaled scores of keys `j0 + jj .. + L::SCORE_STEP` of chunk `ch` plus their bias (`bias_t` from
/// [`bias_chunk`]), masked lanes −∞. `poison` gains `score · 0` of every allowed score: NaN in
/// a lane whose row met a NaN or infinite score (the clamped exponential would otherwise turn
/// it into a finite weight), 0 elsewhere; [`write_rows`] adds it to the outputs so such rows
/// come out non-finite, as in `math`, and the circuit breaker sees them. A step may run
/// past the chunk's keys into the zero-padded panel rows (`lp` is a multiple of 16); their
/// bits are clear.
#[inline(always)]
fn step_scores<L: Lanes, const DP: usize, const D: usize, const FULL: bool>(
    l: L,
    blk: &LaneBlock<'_>,
    qt: &[L::V; D],
    ch: &Chunk,
    jj: usize,
    bias_t: Option<&[f32]>,
    poison: &mut L::V,
) -> [L::V; MAX_SCORE_STEP] {
    // Arrays of the largest step; only the first `L::SCORE_STEP` entries are used, so the
    // others vanish once the loops are unrolled.
    let step = L::SCORE_STEP;
    let k_rows = &blk.p.kr[(ch.j0 + jj) * DP..][..step * DP];
    let mut s = [l.splat(0.0); MAX_SCORE_STEP];
    for c in 0..D {
        for t in 0..step {
            s[t] = l.fmadd(qt[c], l.splat(k_rows[t * DP + c]), s[t]);
        }
    }
    let (scale, neg_inf, zero) = (l.splat(blk.scale), l.splat(f32::NEG_INFINITY), l.splat(0.0));
    let mut z = [zero; MAX_SCORE_STEP];
    for t in 0..step {
        // Scale and bias in one rounding.
        s[t] = match bias_t {
            Some(b) => l.fmadd(s[t], scale, l.load(&b[(jj + t) * LANES..])),
            None => l.mul(s[t], scale),
        };
        z[t] = l.mul(s[t], zero);
        if !FULL {
            z[t] = l.select(ch.bits[jj + t], z[t], zero);
            s[t] = l.select(ch.bits[jj + t], s[t], neg_inf);
        }
    }
    // Summed as a tree, one add into `poison` per step (a chain of eight slowed `flash`).
    let mut width = step;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            z[i] = l.add(z[i], z[i + width]);
        }
    }
    *poison = l.add(*poison, z[0]);
    s
}

/// The sixteen rows' running sums of probabilities and `P·V` accumulators (`acc[c]` = output
/// dimension `c`).
struct Accum<V, const D: usize> {
    sum: V,
    acc: [V; D],
    /// See [`step_scores`].
    poison: V,
}

/// The scores of chunk `ch` ([`step_scores`], [`Lanes::SCORE_STEP`] keys at a time) stored key-major in
/// `dst` (vector `jj` = the chunk's key `jj` for the sixteen rows); returns their maximum.
///
/// One copy of the loop per bias presence and per `ch.full`, each with its answer a constant:
/// a test of either inside the loop splits each step into blocks, and the compiler then
/// computes the step's scores one at a time in their own blocks (two dependent chains of D
/// multiply-adds instead of eight interleaved ones).
#[inline(always)]
fn chunk_scores<L: Lanes, const DP: usize, const D: usize>(
    l: L,
    blk: &LaneBlock<'_>,
    qt: &[L::V; D],
    ch: &Chunk,
    bias_t: Option<&[f32]>,
    poison: &mut L::V,
    dst: &mut [f32],
) -> L::V {
    match (bias_t, ch.full) {
        (Some(b), true) => chunk_scores_as::<L, DP, D, true>(l, blk, qt, ch, Some(b), poison, dst),
        (Some(b), false) => chunk_scores_as::<L, DP, D, false>(l, blk, qt, ch, Some(b), poison, dst),
        (None, true) => chunk_scores_as::<L, DP, D, true>(l, blk, qt, ch, None, poison, dst),
        (None, false) => chunk_scores_as::<L, DP, D, false>(l, blk, qt, ch, None, poison, dst),
    }
}

/// [`chunk_scores`] with `ch.full == FULL`.
#[inline(always)]
fn chunk_scores_as<L: Lanes, const DP: usize, const D: usize, const FULL: bool>(
    l: L,
    blk: &LaneBlock<'_>,
    qt: &[L::V; D],
    ch: &Chunk,
    bias_t: Option<&[f32]>,
    poison: &mut L::V,
    dst: &mut [f32],
) -> L::V {
    let mut m = l.splat(f32::NEG_INFINITY);
    for jj in (0..ch.keys).step_by(L::SCORE_STEP) {
        let s = step_scores::<L, DP, D, FULL>(l, blk, qt, ch, jj, bias_t, poison);
        for (t, x) in s.iter().enumerate().take(L::SCORE_STEP) {
            m = l.max(m, *x);
            l.store(&mut dst[(jj + t) * LANES..], *x);
        }
    }
    m
}

/// Probabilities `exp(s − base)` of chunk `ch` from its scores in `buf` (as [`chunk_scores`]
/// stored them; overwritten with the probabilities, masked lanes 0), added to `a`'s sums, and
/// their `P·V` to its accumulators.
///
/// Two loops, not one: each exponential is a chain of about fifteen dependent operations but
/// independent of the other keys', while each `P·V` multiply-add waits on the previous key's
/// into the same accumulator. In one loop the exponentials' waiting operations filled the
/// scheduler and the loop ran at about 23 cycles a key, where its ~27 vector operations need 14
/// (perf, `flash` at L = 1024); apart, both loops run at their throughput. The same
/// operations in the same order: the bits do not change.
#[inline(always)]
fn chunk_pv<L: Lanes, const D: usize>(
    l: L,
    p: &HeadPanels,
    ch: &Chunk,
    buf: &mut [f32],
    base: L::V,
    a: &mut Accum<L::V, D>,
) {
    // Whole steps, as `chunk_scores` wrote them (keys past the chunk have clear bits).
    let keys = ch.keys.next_multiple_of(L::SCORE_STEP);
    let probs = &mut buf[..keys * LANES];
    // Two copies of the loop, so the test of `full` stays out of it.
    if ch.full {
        for jj in 0..keys {
            let x = &mut probs[jj * LANES..(jj + 1) * LANES];
            let e = l.exp(l.sub(l.load(x), base));
            a.sum = l.add(a.sum, e);
            l.store(x, e);
        }
    } else {
        let zero = l.splat(0.0);
        for jj in 0..keys {
            let x = &mut probs[jj * LANES..(jj + 1) * LANES];
            let e = l.select(ch.bits[jj], l.exp(l.sub(l.load(x), base)), zero);
            a.sum = l.add(a.sum, e);
            l.store(x, e);
        }
    }
    let v_rows = &p.vr[ch.j0 * LANES..][..keys * LANES];
    for c0 in (0..D).step_by(L::PV_DIMS) {
        let dims = c0..(c0 + L::PV_DIMS).min(D);
        for jj in 0..keys {
            let e = l.load(&probs[jj * LANES..(jj + 1) * LANES]);
            for (acc, &v) in a.acc[dims.clone()].iter_mut().zip(&v_rows[jj * LANES + dims.start..jj * LANES + dims.end])
            {
                *acc = l.fmadd(e, l.splat(v), *acc);
            }
        }
    }
}

/// Online-softmax (`flash`) attention of `blk`'s rows over every key, one 64-key chunk at a
/// time as FlashAttention tiles it: the chunk's scores into `sc.scores` (64 vectors, in L1)
/// with their maximum; the chunk's probabilities `exp(s − m)` against the running maximum `m`,
/// their sums and `P·V` into fresh accumulators; then these merged into the running totals,
/// which are first rescaled by `exp(m_old − m_new)` when some lane's maximum grew (elsewhere
/// the factor is exactly 1 and the merge is a plain add). Row `blk.rows[r]`'s result goes to
/// `out[rows[r]·d ..][..d]` (`out` is the head's L × D output). `DP` is the padded head
/// dimension (4, 8, 12 or 16: the panels' row stride); `D` the dimensions computed, from the
/// head's D up to `DP` (11 of 12 for the model's heads: the padded dimension's multiply-adds
/// added exact zeros and wrote an output nobody reads).
///
/// Two layouts it replaced were slower: rescaling every eight keys with their scores in
/// registers (scores, transposed queries and accumulators together need more than 32
/// vectors), and per-chunk rescaling of accumulators that stay live across chunks (the
/// compiler kept them in memory: a load and a store around every `P·V` multiply-add).
#[inline(always)]
pub fn online_lanes<L: Lanes, const DP: usize, const D: usize>(
    l: L,
    blk: &LaneBlock<'_>,
    sc: &mut LaneScratch,
    out: &mut [f32],
) {
    blk.check::<DP, D>();
    let (zero, neg_inf) = (l.splat(0.0), l.splat(f32::NEG_INFINITY));
    let qt = transposed_queries::<L, DP, D>(l, blk);
    sc.scores.resize(CHUNK * LANES, 0.0);
    let (mut m, mut poison) = (neg_inf, zero);
    let mut total = Accum { sum: zero, acc: [zero; D], poison: zero };
    for w in 0..blk.keys().div_ceil(CHUNK) {
        let Some(ch) = blk.chunk(w) else { continue };
        let bias_t = chunk_bias(l, blk, &ch, &mut sc.bias);
        let m_chunk = chunk_scores::<L, DP, D>(l, blk, &qt, &ch, bias_t, &mut poison, &mut sc.scores);
        let m_new = l.max(m, m_chunk);
        // Lanes still at −∞ have nothing allowed so far: they stay zero.
        let live = l.gt_mask(m_new, neg_inf);
        if live == 0 {
            continue;
        }
        // The running totals' factor exp(m_old − m_new), exactly 1 where no lane's maximum grew
        // (no exponential at all when none did); `fmadd(total, 1, part)` rounds once, as an add.
        let one = l.splat(1.0);
        let corr = if l.gt_mask(m_new, m) != 0 {
            let corr = l.select(live, l.exp(l.sub(m, m_new)), one);
            m = m_new;
            corr
        } else {
            one
        };
        // The chunk's `P·V` into fresh accumulators (they stay in registers), merged once.
        let base = l.select(live, m, zero);
        let mut part = Accum { sum: zero, acc: [zero; D], poison: zero };
        chunk_pv::<L, D>(l, blk.p, &ch, &mut sc.scores, base, &mut part);
        total.sum = l.fmadd(total.sum, corr, part.sum);
        for c in 0..D {
            total.acc[c] = l.fmadd(total.acc[c], corr, part.acc[c]);
        }
    }
    total.poison = poison;
    write_rows::<L, DP, D>(l, blk, &total, out);
}

/// Two-pass (`sdpa`) attention of `blk`'s rows over every key: all scores into
/// `sc.scores` with the maximum, then probabilities, sums and `P·V`. Same output contract as
/// [`online_lanes`].
#[inline(always)]
pub fn two_pass_lanes<L: Lanes, const DP: usize, const D: usize>(
    l: L,
    blk: &LaneBlock<'_>,
    sc: &mut LaneScratch,
    out: &mut [f32],
) {
    blk.check::<DP, D>();
    let (zero, neg_inf) = (l.splat(0.0), l.splat(f32::NEG_INFINITY));
    let qt = transposed_queries::<L, DP, D>(l, blk);
    let lp = blk.p.lp;
    if sc.scores.len() < lp * LANES {
        sc.scores.resize(lp * LANES, 0.0);
    }
    let (mut m, mut poison) = (neg_inf, zero);
    for w in 0..blk.keys().div_ceil(CHUNK) {
        let Some(ch) = blk.chunk(w) else { continue };
        let bias_t = chunk_bias(l, blk, &ch, &mut sc.bias);
        let dst = &mut sc.scores[ch.j0 * LANES..];
        m = l.max(m, chunk_scores::<L, DP, D>(l, blk, &qt, &ch, bias_t, &mut poison, dst));
    }
    let live = l.gt_mask(m, neg_inf);
    let mut a = Accum { sum: zero, acc: [zero; D], poison };
    if live != 0 {
        let base = l.select(live, m, zero);
        for w in 0..blk.keys().div_ceil(CHUNK) {
            let Some(ch) = blk.chunk(w) else { continue };
            chunk_pv::<L, D>(l, blk.p, &ch, &mut sc.scores[ch.j0 * LANES..], base, &mut a);
        }
    }
    write_rows::<L, DP, D>(l, blk, &a, out);
}

/// Writes `(acc + poison) / sum` lane by lane to the block's output rows (`poison` is 0 in
/// every row that met no non-finite score); a row with nothing allowed (sum 0) is written as
/// zeros.
#[inline(always)]
fn write_rows<L: Lanes, const DP: usize, const D: usize>(
    l: L,
    blk: &LaneBlock<'_>,
    a: &Accum<L::V, D>,
    out: &mut [f32],
) {
    let d = blk.p.d;
    let mut res = [[0.0f32; LANES]; D];
    for (row, &x) in res.iter_mut().zip(&a.acc).take(d) {
        l.store(row, l.div(l.add(x, a.poison), a.sum));
    }
    let mut sums = [0.0f32; LANES];
    l.store(&mut sums, l.add(a.sum, a.poison));
    for (r, &i) in blk.rows.iter().enumerate() {
        for (c, x) in out[i * d..(i + 1) * d].iter_mut().enumerate() {
            *x = if sums[r] == 0.0 { 0.0 } else { res[c][r] };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::kernels::panels::{KeyLayout, Operands};
    use crate::attention::kernels::sparse::HeadRows;
    use crate::attention::kernels::{math, simd::Portable, AttnInputs, RowBias};
    use crate::attention::Mask;
    use ndarray::{Array2, Array3};
    use rand::{Rng, SeedableRng};

    /// Runs every row of head 0 through `online_lanes` (`two_pass` false) or `two_pass_lanes`,
    /// in blocks given by `groups`, computing `D` of the panels' 12 dimensions.
    fn run<L: Lanes, const D: usize>(l: L, inp: &AttnInputs<'_>, groups: &[Vec<usize>], two_pass: bool) -> Vec<f32> {
        let (_, n, d) = inp.q.dim();
        let (q, k, v) = (inp.q.as_slice().unwrap(), inp.k.as_slice().unwrap(), inp.v.as_slice().unwrap());
        let rows = HeadRows { q: &q[..n * d], k: &k[..n * d], v: &v[..n * d], bias: None, l: n, d, scale: 0.0 };
        let p = HeadPanels::new(&rows, KeyLayout::RowMajor, Operands::F32);
        let bias = inp.bias.and_then(|b| b.as_dense()).map(|b| b.to_owned().into_raw_vec_and_offset().0);
        let bias = bias.as_deref().map(|b| RowBias::dense(b, n));
        let mut out = vec![f32::NAN; n * d];
        let mut sc = LaneScratch::default();
        let mut bias_sc = Vec::new();
        for rows in groups {
            let blk = LaneBlock {
                p: &p,
                rows,
                mask_rows: std::array::from_fn(|r| inp.mask.row_words(rows[r.min(rows.len() - 1)])),
                bias: bias.as_ref().map(|b| b.rows::<LANES>(rows, inp.mask, &mut bias_sc)),
                scale: 1.0 / (d as f32).sqrt(),
            };
            if two_pass {
                two_pass_lanes::<L, 12, D>(l, &blk, &mut sc, &mut out);
            } else {
                online_lanes::<L, 12, D>(l, &blk, &mut sc, &mut out);
            }
        }
        out
    }

    #[test]
    fn a_rows_result_does_not_depend_on_its_block_or_the_instruction_set() {
        let (n, d) = (150, 11);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut arr = |shape| Array3::from_shape_fn(shape, |_| rng.random_range(-2.0f32..2.0));
        let (q, k, v) = (arr((1, n, d)), arr((1, n, d)), arr((1, n, d)));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mut mask = Mask::empty(n);
        for i in 0..n {
            // Row 5 allows nothing; rows below 64 allow everything (whole chunks); others ~70%.
            for j in 0..n {
                if i != 5 && (i < 64 || rng.random_bool(0.7)) {
                    mask.allow(i, j);
                }
            }
        }
        let consecutive: Vec<Vec<usize>> = (0..n).collect::<Vec<_>>().chunks(16).map(<[usize]>::to_vec).collect();
        let scattered: Vec<Vec<usize>> = (0..5)
            .flat_map(|g| (g..n).step_by(5).collect::<Vec<_>>().chunks(7).map(<[usize]>::to_vec).collect::<Vec<_>>())
            .collect();
        let bias = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
        for (with_bias, two_pass) in [(false, false), (false, true), (true, false), (true, true)] {
            let case = format!("bias {with_bias}, two-pass {two_pass}");
            let b = with_bias.then(|| bias.view().into());
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: b };
            let reference = math::forward(&inp);
            let base = run::<_, 12>(Portable, &inp, &consecutive, two_pass);
            assert_eq!(base, run::<_, 12>(Portable, &inp, &scattered, two_pass), "blocking changed a row ({case})");
            // The padded twelfth dimension adds exact zeros: skipping it changes no bit.
            assert_eq!(base, run::<_, 11>(Portable, &inp, &consecutive, two_pass), "11 of 12 dimensions ({case})");
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(t) = crate::attention::kernels::simd::Avx512::new() {
                    assert_eq!(base, run::<_, 12>(t, &inp, &scattered, two_pass), "AVX-512 differs ({case})");
                    assert_eq!(base, run::<_, 11>(t, &inp, &scattered, two_pass), "AVX-512, 11 of 12 ({case})");
                }
                if let Some(t) = crate::attention::kernels::simd::Avx2::new() {
                    assert_eq!(base, run::<_, 12>(t, &inp, &consecutive, two_pass), "AVX2 differs ({case})");
                }
            }
            assert!(base[5 * d..6 * d].iter().all(|&x| x == 0.0), "an empty row is zero ({case})");
            let worst = base.iter().zip(reference.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "max abs error vs math {worst} ({case})");
        }
    }
}
