//! The sparse-row path shared by `sdpa`, `block_sparse` and `bf16`.
//!
//! A row of a DAG mask allows about five columns; scanning its L / 16 tiles (or building a
//! tile map) costs far more than the arithmetic. So, once per call, [`SparseRows::from_mask`]
//! walks each row's bitset words with `trailing_zeros` and records the allowed columns of every
//! row with at most `max` of them (CSR; it stops reading a row as soon as the count exceeds
//! `max`, so dense rows cost one or two words). Those rows are then computed directly by
//! [`sparse_row`] from the row-major q, k, v of the head (no panels): scores as 16-lane dot
//! products over D, the stable softmax (maximum, vectorised polynomial exp over the gathered
//! scores, per-lane sum), and the weighted sum of the gathered v rows, all in f32.
//! Extra memory: `L + 1` offsets and one `u32` per allowed entry of a sparse row.

use super::bias_source::RowBias;
use super::simd::{Lanes, LANES};
use crate::attention::Mask;

/// Default most allowed entries for a row to take the sparse path. Measured with
/// `cargo bench --bench attention -- --threshold 1` (every row allowing w columns, `sdpa` with
/// every row sparse vs every row on tiles, L = 1024, D = 11): on contiguous columns (the tile
/// path's best case) the sparse path wins up to w = 64 and loses from w = 96; on columns in
/// separate tiles it wins through w = 128. 32 keeps a 2× margin. See docs/attention-kernels.md.
pub const SPARSE_ROW_MAX: usize = 32;

/// The allowed columns of every row holding at most `max` allowed entries.
///
/// ```
/// use ironforge::attention::{kernels::sparse::SparseRows, Mask};
/// let mask = Mask::from_edges(100, &[(0, 70), (0, 99)]);
/// let rows = SparseRows::from_mask(&mask, 2);
/// assert_eq!(rows.row(0), None); // three entries: dense
/// assert_eq!(rows.row(5), Some(&[5u32][..]));
/// assert_eq!(rows.dense_rows(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseRows {
    max: usize,
    /// `starts[i]..ends[i]` indexes `cols` for sparse row `i`; [`DENSE`] marks a dense row.
    starts: Vec<u32>,
    ends: Vec<u32>,
    cols: Vec<u32>,
    /// The row of each entry of `cols`.
    entry_rows: Vec<u32>,
    dense: usize,
    /// Sparse rows with more than [`SHORT_ROW_MAX`] entries.
    long: usize,
}

const DENSE: u32 = u32::MAX;

impl SparseRows {
    /// Scans `mask` once: O(L + words read + entries kept).
    pub fn from_mask(mask: &Mask, max: usize) -> Self {
        let n = mask.n();
        let mut starts = Vec::with_capacity(n);
        let mut ends = Vec::with_capacity(n);
        // Room for a DAG's few entries per row without regrowing (growing them was a third of
        // this function's time in the pipeline).
        let mut cols = Vec::with_capacity(8 * n);
        let mut entry_rows = Vec::with_capacity(8 * n);
        let (mut dense, mut long) = (0, 0);
        for i in 0..n {
            let start = cols.len();
            let mut count = 0usize;
            let mut is_dense = false;
            for (w, &word) in mask.row_words(i).iter().enumerate() {
                if word == 0 {
                    continue;
                }
                count += word.count_ones() as usize;
                if count > max {
                    is_dense = true;
                    break;
                }
                let mut bits = word;
                while bits != 0 {
                    cols.push((w * 64 + bits.trailing_zeros() as usize) as u32);
                    entry_rows.push(i as u32);
                    bits &= bits - 1;
                }
            }
            if is_dense {
                cols.truncate(start);
                entry_rows.truncate(start);
                starts.push(DENSE);
                ends.push(DENSE);
                dense += 1;
            } else {
                long += usize::from(cols.len() - start > SHORT_ROW_MAX);
                starts.push(start as u32);
                ends.push(cols.len() as u32);
            }
        }
        Self { max, starts, ends, cols, entry_rows, dense, long }
    }

    /// The bias of every entry of the sparse rows, in entry order: `bias[i · L + j]` for entry
    /// (row i, column j), as [`short_rows`] adds it. A call gathers it once for all its heads.
    ///
    /// ```
    /// use ironforge::attention::{kernels::sparse::SparseRows, Mask};
    /// let mask = Mask::from_edges(2, &[(0, 1)]);
    /// let bias = [0.5, 1.5, 2.5, 3.5];
    /// assert_eq!(SparseRows::from_mask(&mask, 4).entry_bias(&bias), vec![0.5, 1.5, 3.5]);
    /// ```
    pub fn entry_bias(&self, bias: &[f32]) -> Vec<f32> {
        let n = self.n();
        assert_eq!(bias.len(), n * n, "bias must be L × L");
        self.entry_bias_of(&RowBias::dense(bias, n))
    }

    /// [`SparseRows::entry_bias`] of any [`RowBias`]: gathered from a matrix, or computed for
    /// just these entries from a time bias (O(entries), never L × L).
    ///
    /// ```
    /// use ironforge::attention::{bias::TimeBias, kernels::{sparse::SparseRows, RowBias}, Mask};
    /// let times = [0, 600_000, 3_600_000];
    /// let rows = SparseRows::from_mask(&Mask::from_edges(3, &[(0, 2)]), 4);
    /// let m = TimeBias::Bucket.matrix(&times).unwrap();
    /// let computed = rows.entry_bias_of(&RowBias::times(&times, TimeBias::Bucket).unwrap());
    /// assert_eq!(computed, rows.entry_bias(m.as_slice().unwrap()));
    /// ```
    ///
    /// # Panics
    /// If the bias is not L × L.
    pub fn entry_bias_of(&self, bias: &RowBias<'_>) -> Vec<f32> {
        assert_eq!(bias.len(), self.n(), "bias must be L × L");
        bias.entries(self.entry_rows.iter().zip(&self.cols).map(|(&i, &j)| (i, j)))
    }

    /// [`SparseRows::from_mask`] kept with the mask: the first call on a mask scans it and keeps
    /// the result; later calls with the same `max` borrow it (a model's layers share one scan).
    /// Another `max` is scanned afresh, and [`Mask::allow`] drops what was kept.
    ///
    /// ```
    /// use ironforge::attention::{kernels::sparse::SparseRows, Mask};
    /// let mask = Mask::from_edges(3, &[(0, 2)]);
    /// let first = SparseRows::cached(&mask, 4);
    /// assert!(std::ptr::eq(&*first, &*SparseRows::cached(&mask, 4)));
    /// assert_eq!(*first, SparseRows::from_mask(&mask, 4));
    /// assert_eq!(SparseRows::cached(&mask, 1).row(0), None);
    /// let mut mask = mask;
    /// mask.allow(0, 1); // drops the kept rows
    /// assert_eq!(SparseRows::cached(&mask, 4).row(0), Some(&[0, 1, 2][..]));
    /// ```
    pub fn cached(mask: &Mask, max: usize) -> std::borrow::Cow<'_, SparseRows> {
        let kept = mask.sparse_cache().get_or_init(|| Self::from_mask(mask, max));
        if kept.max == max {
            std::borrow::Cow::Borrowed(kept)
        } else {
            std::borrow::Cow::Owned(Self::from_mask(mask, max))
        }
    }

    /// Whether row `i` is sparse with at most [`SHORT_ROW_MAX`] entries (computed by
    /// [`short_rows`] when D ≤ 16).
    #[inline]
    pub fn is_short(&self, i: usize) -> bool {
        self.starts[i] != DENSE && (self.ends[i] - self.starts[i]) as usize <= SHORT_ROW_MAX
    }

    /// The allowed columns (ascending) of row `i` when it is sparse, `None` when dense.
    #[inline]
    pub fn row(&self, i: usize) -> Option<&[u32]> {
        let s = self.starts[i];
        (s != DENSE).then(|| &self.cols[s as usize..self.ends[i] as usize])
    }

    /// Rows with more than `max` entries (computed by the kernel's own dense path).
    pub fn dense_rows(&self) -> usize {
        self.dense
    }

    /// Number of rows L.
    pub fn n(&self) -> usize {
        self.starts.len()
    }

    /// The threshold the rows were split with.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Scratch floats [`sparse_row`] needs for any sparse row: `min(max, L)` rounded up to 16.
    pub fn scratch_len(&self) -> usize {
        self.max.min(self.n()).max(1).div_ceil(LANES) * LANES
    }
}

/// One head's row-major operands for [`sparse_row`].
#[derive(Debug, Clone, Copy)]
pub struct HeadRows<'a> {
    /// Queries, `L × D` row-major.
    pub q: &'a [f32],
    /// Keys, `L × D` row-major.
    pub k: &'a [f32],
    /// Values, `L × D` row-major.
    pub v: &'a [f32],
    /// Bias `L × L` (rows of a matrix, or a time bias computed entry by entry), if any.
    pub bias: Option<RowBias<'a>>,
    /// Sequence length L.
    pub l: usize,
    /// Head dimension D.
    pub d: usize,
    /// 1 / √D.
    pub scale: f32,
}

#[inline(always)]
fn lane_bits(w: usize) -> u16 {
    if w >= LANES {
        u16::MAX
    } else {
        (1u16 << w) - 1
    }
}

/// Attention of row `i` over the gathered columns `cols`, writing `out[..D]`. `scratch` must
/// hold `cols.len()` rounded up to 16 floats. No columns: a zero row.
#[inline(always)]
pub fn sparse_row<L: Lanes>(l: L, h: &HeadRows<'_>, i: usize, cols: &[u32], scratch: &mut [f32], out: &mut [f32]) {
    let d = h.d;
    if cols.is_empty() {
        out[..d].fill(0.0);
        return;
    }
    let q = &h.q[i * d..(i + 1) * d];
    // Every column's key row is sliced (bounds-checked) below; with this, its value row is in
    // bounds too.
    assert!(h.v.len() >= h.k.len(), "values must be L × D like the keys");
    let mut m = f32::NEG_INFINITY;
    // `score · 0` summed: NaN once a score is NaN or infinite (`f32::max` and the clamped
    // exponential would hide it), 0 otherwise; added to the denominator so the row comes out
    // non-finite, as in `math`, and the circuit breaker sees it.
    let mut poison = 0.0f32;
    for (n, &j) in cols.iter().enumerate() {
        let j = j as usize;
        let kr = &h.k[j * d..(j + 1) * d];
        let mut s = 0.0f32;
        let mut c0 = 0;
        while c0 < d {
            let bits = lane_bits(d - c0);
            // SAFETY: `bits` holds the lanes below d − c0, the rest of q's and kr's d floats.
            let (qv, kv) =
                unsafe { (l.load_masked_ptr(q.as_ptr().add(c0), bits), l.load_masked_ptr(kr.as_ptr().add(c0), bits)) };
            s += l.reduce_add(l.mul(qv, kv));
            c0 += LANES;
        }
        s *= h.scale;
        if let Some(b) = &h.bias {
            s += b.at(i, j);
        }
        scratch[n] = s;
        m = m.max(s);
        poison += s * 0.0;
    }
    let mv = l.splat(m);
    let zero = l.splat(0.0);
    let mut sum = zero;
    let mut n0 = 0;
    while n0 < cols.len() {
        let bits = lane_bits(cols.len() - n0);
        // SAFETY: `bits` holds the lanes below cols.len() − n0, and scratch holds at least
        // cols.len() floats (the loop above wrote scratch[n] for every column n).
        let scores = unsafe { l.load_masked_ptr(scratch.as_ptr().add(n0), bits) };
        let e = l.select(bits, l.exp(l.sub(scores, mv)), zero);
        sum = l.add(sum, e);
        l.store(&mut scratch[n0..], e);
        n0 += LANES;
    }
    let den = l.reduce_add(sum) + poison;
    let mut tmp = [0.0f32; LANES];
    let mut c0 = 0;
    while c0 < d {
        let w = LANES.min(d - c0);
        let bits = lane_bits(w);
        let mut acc = zero;
        for (n, &j) in cols.iter().enumerate() {
            let j = j as usize;
            // SAFETY: `bits` holds the lanes below d − c0; k held row j (sliced above) and v
            // is at least as long (asserted above), so v[j·d + c0 .. (j + 1)·d] is in bounds.
            let vv = unsafe { l.load_masked_ptr(h.v.as_ptr().add(j * d + c0), bits) };
            acc = l.fmadd(l.splat(scratch[n]), vv, acc);
        }
        l.store(&mut tmp, acc);
        for c in 0..w {
            out[c0 + c] = tmp[c] / den;
        }
        c0 += LANES;
    }
}

/// Rows with at most this many entries hold their scores in one vector: [`short_rows`].
pub const SHORT_ROW_MAX: usize = LANES;

/// Reusable buffers of [`short_rows`].
#[derive(Debug, Default)]
pub struct ShortScratch {
    scores: Vec<f32>,
    probs: Vec<f32>,
}

/// Every short row (sparse, at most [`SHORT_ROW_MAX`] entries) of one head at once, for
/// D ≤ 16, organised so that no loop's trip count depends on a row's length: a DAG row allows
/// one to a dozen columns, and per-row loops over them were mispredicted at every exit, which
/// cost more than the arithmetic. Three passes: every entry's score, with the bits of
/// [`sparse_row`] (flat over all entries, sixteen dot products summed together by
/// [`Lanes::reduce_add16`]); per row, from its
/// one vector of scores, the maximum, the exponentials, their sum and the probabilities (times
/// one reciprocal); every entry's probability times its value row, accumulated into its row's
/// output (flat, the accumulator reset by a lane select when the row changes, the running sum
/// stored each time). Unlike [`sparse_row`] the probabilities are normalised before the
/// weighted sum, by a reciprocal (a 16-lane division per row cost more than the rest of the
/// row's softmax). Rows that are not short are left alone.
#[inline(always)]
pub fn short_rows<L: Lanes>(
    l: L,
    h: &HeadRows<'_>,
    rows: &SparseRows,
    entry_bias: Option<&[f32]>,
    scratch: &mut ShortScratch,
    out: &mut [f32],
) {
    let d = h.d;
    assert!(d <= LANES, "short rows need D <= 16, got {d}");
    assert_eq!(entry_bias.is_some(), h.bias.is_some(), "the entries' bias comes with the head's bias");
    if let Some(b) = entry_bias {
        assert_eq!(b.len(), rows.cols.len(), "one bias per entry (SparseRows::entry_bias)");
    }
    let dbits = lane_bits(d);
    let zero = l.splat(0.0);
    let ShortScratch { scores, probs } = scratch;
    // Padded by one vector: every row's probabilities are stored as a whole vector.
    scores.clear();
    scores.resize(rows.cols.len() + LANES, 0.0);
    probs.clear();
    probs.resize(rows.cols.len() + LANES, 0.0);
    // Every entry's row and column is below n (`from_mask` keeps only the mask's), so with
    // these lengths checked once the passes below read and write rows without a bounds check
    // each (the checks and the reloads of the slices they needed were most of the passes'
    // instructions).
    let n = rows.n();
    assert!(h.q.len() >= n * d && h.k.len() >= n * d && h.v.len() >= n * d, "q, k and v must be L × D");
    assert!(out.len() >= n * d, "the output must be L × D");
    let (cols, entry_rows) = (&rows.cols[..], &rows.entry_rows[..]);
    // Sixteen entries at a time: their products, summed together (`reduce_add16`: the bits of
    // one `reduce_add` each), then `(0 + dot) · scale + bias` as in `sparse_row`.
    let scale = l.splat(h.scale);
    for (chunk, (cols, entry_rows)) in cols.chunks(LANES).zip(entry_rows.chunks(LANES)).enumerate() {
        let mut products = [zero; LANES];
        for ((p, &j), &i) in products.iter_mut().zip(cols).zip(entry_rows) {
            // SAFETY: i, j < n, and q and k hold n rows of d (asserted above).
            // `dbits` holds the lanes below d, and each row has at least d floats.
            *p = unsafe {
                l.mul(
                    l.load_masked_ptr(row_of(h.q, i, d).as_ptr(), dbits),
                    l.load_masked_ptr(row_of(h.k, j, d).as_ptr(), dbits),
                )
            };
        }
        let first = chunk * LANES;
        let mut s = l.mul(l.add(zero, l.reduce_add16(products)), scale);
        if let Some(b) = entry_bias {
            // SAFETY: this chunk's entries are b[first .. first + cols.len()] (one bias per
            // entry, asserted above), and the bits are the lanes below cols.len().
            s = l.add(s, unsafe { l.load_masked_ptr(b.as_ptr().add(first), lane_bits(cols.len())) });
        }
        l.store(&mut scores[first..], s);
    }
    for (i, (&start, &end)) in rows.starts.iter().zip(&rows.ends).enumerate() {
        let count = end.wrapping_sub(start) as usize;
        if start == DENSE || count > SHORT_ROW_MAX {
            continue;
        }
        if count == 0 {
            out[i * d..(i + 1) * d].fill(0.0);
            continue;
        }
        let start = start as usize;
        let bits = lane_bits(count);
        // SAFETY: the row's entries are scores[start .. start + count] (`from_mask`'s starts
        // and ends index the entries, and scores holds one per entry plus a vector), and
        // `bits` holds the lanes below count.
        let row = unsafe { l.load_masked_ptr(scores.as_ptr().add(start), bits) };
        let m = l.reduce_max(l.select(bits, row, l.splat(f32::NEG_INFINITY)));
        let e = l.select(bits, l.exp(l.sub(row, l.splat(m))), zero);
        // Plus `score · 0` of the row's entries: NaN in the sum once a score is NaN or
        // infinite (see `sparse_row`), an exact 0 otherwise.
        let den = l.reduce_add(l.add(l.select(bits, l.mul(row, zero), zero), e));
        // The zero lanes past `count` land on the next rows' slots, which those rows
        // overwrite next (rows ascend); a long row's slots are never read from here.
        l.store(&mut probs[start..], l.mul(e, l.splat(1.0 / den)));
    }
    let entries = |r: std::ops::Range<usize>| {
        let (i, j, p) = (&entry_rows[r.clone()], &cols[r.clone()], &probs[r]);
        i.iter().zip(j).zip(p).map(|((&i, &j), &p)| (i, j, p))
    };
    let mut pv = PvStep { l, v: h.v, d, out };
    if rows.long > 0 {
        let mut acc = (zero, u32::MAX);
        for entry in entries(0..cols.len()).filter(|&(i, _, _)| rows.is_short(i as usize)) {
            // SAFETY: a SparseRows entry, and the lengths `PvStep::step` needs asserted above.
            unsafe { pv.step(entry, &mut acc) };
        }
        return;
    }
    // Every entry is a short row's: two independent accumulation chains, over the entries
    // before and after a row boundary near the middle (each row's sum in the same order as
    // one chain: the same bits, in half the latency of the multiply-add chain).
    // `mid ≥ n − mid`: the first chain is never the shorter one.
    let total = cols.len();
    let mut mid = total.div_ceil(2);
    while mid > 0 && mid < total && entry_rows[mid] == entry_rows[mid - 1] {
        mid += 1;
    }
    let (mut a, mut b) = ((zero, u32::MAX), (zero, u32::MAX));
    let paired = total - mid;
    for (ea, eb) in entries(0..paired).zip(entries(mid..total)) {
        // SAFETY: SparseRows entries, and the lengths `PvStep::step` needs asserted above.
        unsafe {
            pv.step(ea, &mut a);
            pv.step(eb, &mut b);
        }
    }
    for ea in entries(paired..mid) {
        // SAFETY: as above.
        unsafe { pv.step(ea, &mut a) };
    }
}

/// Row `r` of an `n × d` row-major matrix, from its first element to the matrix's end.
///
/// # Safety
/// `r < n` and `m.len() >= n · d` for the matrix's `n`.
#[inline(always)]
unsafe fn row_of(m: &[f32], r: u32, d: usize) -> &[f32] {
    // SAFETY: r · d ≤ (n − 1) · d < m.len() (the caller's contract).
    unsafe { m.get_unchecked(r as usize * d..) }
}

/// Row `r` of an `n × d` row-major matrix, mutable; see [`row_of`].
///
/// # Safety
/// As for [`row_of`].
#[inline(always)]
unsafe fn row_of_mut(m: &mut [f32], r: u32, d: usize) -> &mut [f32] {
    // SAFETY: as in `row_of`.
    unsafe { m.get_unchecked_mut(r as usize * d..) }
}

/// The last pass of [`short_rows`], one entry at a time.
struct PvStep<'a, L: Lanes> {
    l: L,
    /// Values, n × d, and the output, n × d (lengths checked by [`short_rows`]).
    v: &'a [f32],
    d: usize,
    out: &'a mut [f32],
}

impl<L: Lanes> PvStep<'_, L> {
    /// Adds entry `(i, j, p)`'s probability `p` times its value row `j` to the running sum
    /// `acc` of row `i` (reset, by a lane select, when `acc` belongs to another row) and stores
    /// the sum as the row's output so far. `acc` is the sum and the row it belongs to.
    ///
    /// # Safety
    /// `i` and `j` are below n (a [`SparseRows`] entry's), and `v` and `out` hold n rows of d.
    #[inline(always)]
    unsafe fn step(&mut self, (i, j, p): (u32, u32, f32), acc: &mut (L::V, u32)) {
        let l = self.l;
        let same_row = if i == acc.1 { u16::MAX } else { 0 };
        let dbits = lane_bits(self.d);
        // SAFETY: i, j < n, and v and out hold n rows of d (the caller's contract).
        let (v, out) = unsafe { (row_of(self.v, j, self.d), row_of_mut(self.out, i, self.d)) };
        // SAFETY: `dbits` holds the lanes below d, and v's row j has d floats.
        let vv = unsafe { l.load_masked_ptr(v.as_ptr(), dbits) };
        acc.0 = l.fmadd(l.splat(p), vv, l.select(same_row, acc.0, l.splat(0.0)));
        acc.1 = i;
        l.store_masked(out, acc.0, dbits);
    }
}

/// The obvious twin of [`sparse_row`] for tests: scalar f32, `f32::exp`, same gathered columns.
pub fn sparse_row_scalar(h: &HeadRows<'_>, i: usize, cols: &[u32], out: &mut [f32]) {
    let d = h.d;
    if cols.is_empty() {
        out[..d].fill(0.0);
        return;
    }
    let scores: Vec<f32> = cols
        .iter()
        .map(|&j| {
            let j = j as usize;
            let s: f32 = (0..d).map(|c| h.q[i * d + c] * h.k[j * d + c]).sum::<f32>() * h.scale;
            s + h.bias.map_or(0.0, |b| b.at(i, j))
        })
        .collect();
    let m = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
    let den: f32 = e.iter().sum();
    for (c, o) in out.iter_mut().enumerate().take(d) {
        *o = cols.iter().zip(&e).map(|(&j, &p)| p * h.v[j as usize * d + c]).sum::<f32>() / den;
    }
}
