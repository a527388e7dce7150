//! Runs a row routine over every head and row: panels per head, instruction-set dispatch
//! (once per head, into a `#[target_feature]` entry point), and an optional rayon split over
//! heads. Each head writes its own output slice with the same arithmetic whatever the thread
//! count, so results are bit-identical for 1 or N threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array3;
use rayon::prelude::*;

use super::bias_source::{Resolved, RowBias};
use super::coverage::{self, RowPath};
use super::lane_rows::{online_lanes, two_pass_lanes, LaneBlock, LaneScratch};
use super::panels::{tile_bits, HeadPanels, KeyLayout, Operands};
use super::rows::{online, two_pass, BlockCtx, Scratch, R};
use super::simd::{Isa, Lanes, Portable, LANES};
use super::sparse::{short_rows, sparse_row, HeadRows, ShortScratch, SparseRows};
use super::tile_map::TileMap;
use super::{AttnError, AttnInputs, FastParams};
use crate::attention::Mask;

/// Which row routine a kernel runs.
#[derive(Debug, Clone, Copy)]
pub enum RowAlgo<'a> {
    /// Two passes over every tile with an allowed entry in the block's rows (`sdpa`); with
    /// `lanes`, sixteen rows per block when D ≤ 16 ([`super::lane_rows`]).
    Dense {
        /// One row per lane when D ≤ 16.
        lanes: bool,
    },
    /// Online softmax over every 64-column block with an allowed entry in the block's rows
    /// (`flash`); `lanes` as for `Dense`.
    Online {
        /// One row per lane when D ≤ 16.
        lanes: bool,
    },
    /// Two passes over the tiles a tile map lists for the block's rows (`block_sparse`).
    Tiles(&'a TileMap),
}

/// Everything one head needs.
struct HeadJob<'a> {
    /// Tile panels; `None` when every row is sparse (they are never read then).
    panels: Option<HeadPanels>,
    /// D rounded up to a multiple of 4 (selects the const head-dimension instantiation).
    dp: usize,
    rows: HeadRows<'a>,
    sparse: Option<&'a SparseRows>,
    /// The bias of the sparse rows' entries ([`SparseRows::entry_bias_of`]), gathered once for
    /// every head, when the short rows run and there is a bias.
    entry_bias: Option<&'a [f32]>,
    mask: &'a Mask,
    bias: Option<RowBias<'a>>,
    scale: f32,
    algo: RowAlgo<'a>,
    /// The instruction set the head runs on (for the coverage counts).
    isa: Isa,
    /// What the dense rows' panels hold (for the coverage counts).
    operands: Operands,
}

/// Runs `algo` on `isa` (an error if this CPU lacks it), heads in parallel on the current
/// rayon pool when `parallel`. With `sparse = Some(rows)` (built from the same mask), the rows
/// it lists take the sparse path ([`super::sparse`]) instead of `algo`; the split is made once
/// per call, before the heads are shared out, so it does not depend on the thread count.
/// `operands` says what the dense rows' panels hold (the sparse rows always read the inputs).
pub fn run(
    inputs: &AttnInputs<'_>,
    isa: Isa,
    algo: RowAlgo<'_>,
    parallel: bool,
    sparse: Option<&SparseRows>,
    operands: Operands,
) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    if !isa.is_available() {
        return Err(AttnError::IsaUnavailable { isa: isa.name() });
    }
    let (h, l, d) = inputs.q.dim();
    // A matrix borrowed when already row-major (no copy of L × L), copied otherwise; a time
    // bias computed row by row.
    let resolved = Resolved::new(inputs.bias);
    let bias = resolved.rows();
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = Array3::<f32>::zeros((h, l, d));
    if l == 0 || d == 0 {
        return Ok(out);
    }
    if let Some(s) = sparse {
        if s.n() != l {
            return Err(AttnError::Shape { input: "sparse rows", got: vec![s.n(); 2], expected: vec![l, l] });
        }
    }
    let need_panels = sparse.is_none_or(|s| s.dense_rows() > 0);
    // Row-major operands for the sparse path: borrowed when already standard layout.
    let (q_std, k_std, v_std) =
        (inputs.q.as_standard_layout(), inputs.k.as_standard_layout(), inputs.v.as_standard_layout());
    let (qs, ks, vs) = (
        q_std.as_slice().expect("standard layout is contiguous"),
        k_std.as_slice().expect("standard layout is contiguous"),
        v_std.as_slice().expect("standard layout is contiguous"),
    );
    let entry_bias = sparse.zip(bias).filter(|_| d <= LANES).map(|(s, b)| s.entry_bias_of(&b));
    let one_head = |head: usize, out_h: &mut [f32]| {
        let r = head * l * d..(head + 1) * l * d;
        let rows = HeadRows { q: &qs[r.clone()], k: &ks[r.clone()], v: &vs[r], bias, l, d, scale };
        let keys = if lanes_apply(algo, d) { KeyLayout::RowMajor } else { KeyLayout::Transposed };
        let panels = need_panels.then(|| HeadPanels::new(&rows, keys, operands));
        let entry_bias = entry_bias.as_deref();
        let dp = d.div_ceil(4) * 4;
        let job = HeadJob { panels, dp, rows, sparse, entry_bias, mask: inputs.mask, bias, scale, algo, isa, operands };
        run_head(isa, &job, out_h);
    };
    let slices = out.as_slice_mut().expect("fresh array is contiguous").chunks_mut(l * d);
    if parallel && split_pays(inputs.mask, h, d) {
        slices.collect::<Vec<_>>().into_par_iter().enumerate().for_each(|(head, o)| one_head(head, o));
    } else {
        slices.enumerate().for_each(|(head, o)| one_head(head, o));
    }
    Ok(out)
}

/// Smallest work, in allowed entries (plus one per row) times D summed over the heads, for
/// which a kernel asked to run in parallel from a thread of the rayon pool splits its heads
/// over the pool: below it, handing heads to the other threads costs more than they save and
/// the call runs on the calling thread. Set where the one- and two-thread times cross in
/// `cargo bench --bench attention -- --threads 1` (two threads paid from the smallest size it
/// measures, 4 heads × L = 64 on a DAG mask).
pub const PARALLEL_MIN_WORK: usize = 1 << 13;

/// [`PARALLEL_MIN_WORK`] is multiplied by this for a call from outside the pool: the call
/// first hands itself to the pool and waits for it (a cross-thread handoff each way), which
/// only a larger call repays.
pub const OUTSIDE_POOL_FACTOR: usize = 64;

/// The threshold [`split_pays`] uses: [`PARALLEL_MIN_WORK`] unless
/// [`set_parallel_min_work`] changed it.
static MIN_WORK: AtomicUsize = AtomicUsize::new(PARALLEL_MIN_WORK);

/// Sets the work threshold of [`split_pays`] (for calls from the pool's threads; ×
/// [`OUTSIDE_POOL_FACTOR`] from outside) for the whole process and returns the previous one:
/// 0 splits every call, `usize::MAX` none. For the benchmark that measures where splitting
/// pays; it changes only where heads run, never a result.
pub fn set_parallel_min_work(work: usize) -> usize {
    MIN_WORK.swap(work, Ordering::Relaxed)
}

/// Whether splitting `heads` heads over the current rayon pool pays for a call on `mask` with
/// head dimension `d` ([`PARALLEL_MIN_WORK`]). The answer never changes a result: each head is
/// computed whole, by one thread, with the same arithmetic.
///
/// ```
/// use ironforge::attention::{kernels::split_pays, Mask};
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// assert!(pool.install(|| split_pays(&Mask::full(1024), 4, 11)));
/// assert!(!pool.install(|| split_pays(&Mask::full(8), 4, 11)), "too little work");
/// assert!(pool.install(|| split_pays(&Mask::full(64), 4, 11)), "from a thread of the pool");
/// assert!(!split_pays(&Mask::full(64), 4, 11), "from outside the pool: a handoff each way");
/// assert!(!pool.install(|| split_pays(&Mask::full(1024), 1, 11)), "one head");
/// let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
/// assert!(!one.install(|| split_pays(&Mask::full(1024), 4, 11)), "one thread");
/// ```
pub fn split_pays(mask: &Mask, heads: usize, d: usize) -> bool {
    if heads < 2 || rayon::current_num_threads() < 2 {
        return false;
    }
    let inside = MIN_WORK.load(Ordering::Relaxed);
    let min = if rayon::current_thread_index().is_some() { inside } else { inside.saturating_mul(OUTSIDE_POOL_FACTOR) };
    heads.saturating_mul(mask.count_allowed() + mask.n()).saturating_mul(d) >= min
}

/// [`run`] for the f32 kernels `sdpa` and `flash`: the instruction set, threads and sparse-row
/// threshold from `params` (the sparse rows kept with the mask, [`SparseRows::cached`]).
pub fn run_f32(inputs: &AttnInputs<'_>, params: &FastParams, algo: RowAlgo<'_>) -> Result<Array3<f32>, AttnError> {
    let sparse = params.sparse_max.map(|t| SparseRows::cached(inputs.mask, t));
    run(inputs, params.isa, algo, params.parallel, sparse.as_deref(), Operands::F32)
}

/// Whether `algo` runs its dense rows sixteen to a block, one per lane: `flash` and `sdpa`
/// with lanes on and D ≤ 16.
fn lanes_apply(algo: RowAlgo<'_>, d: usize) -> bool {
    matches!(algo, RowAlgo::Online { lanes: true } | RowAlgo::Dense { lanes: true }) && d <= LANES
}

fn run_head(isa: Isa, job: &HeadJob<'_>, out: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            let t = super::simd::Avx512::new().expect("checked by run");
            // SAFETY: the token proves the CPU has AVX-512 F, the only feature the entry enables.
            unsafe { head_avx512(t, job, out) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            let t = super::simd::Avx2::new().expect("checked by run");
            // SAFETY: the token proves the CPU has AVX2 and FMA, the features the entry enables.
            unsafe { head_avx2(t, job, out) }
        }
        _ => head(Portable, job, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn head_avx512(t: super::simd::Avx512, job: &HeadJob<'_>, out: &mut [f32]) {
    head(t, job, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn head_avx2(t: super::simd::Avx2, job: &HeadJob<'_>, out: &mut [f32]) {
    head(t, job, out)
}

#[inline(always)]
fn head<L: Lanes>(l: L, job: &HeadJob<'_>, out: &mut [f32]) {
    // D = 11 (the model's head dimension) computes eleven dimensions, not the padded twelve,
    // where one row goes per lane.
    match job.dp {
        4 => rows_of::<L, 4, 4>(l, job, out),
        8 => rows_of::<L, 8, 8>(l, job, out),
        12 if job.rows.d == 11 => rows_of::<L, 12, 11>(l, job, out),
        12 => rows_of::<L, 12, 12>(l, job, out),
        16 => rows_of::<L, 16, 16>(l, job, out),
        _ => rows_of::<L, 0, 0>(l, job, out),
    }
}

#[inline(always)]
fn rows_of<L: Lanes, const DP: usize, const D: usize>(l: L, job: &HeadJob<'_>, out: &mut [f32]) {
    let (n, d) = (job.rows.l, job.rows.d);
    // Allocated when first needed: with a DAG mask every row is usually short.
    let mut scratch = Vec::new();
    let mut block = Vec::new();
    let mut tiles = BlockTiles::default();
    let by_lanes = lanes_apply(job.algo, d);
    debug_assert!(!by_lanes || DP != 0);
    // The four-row scratch (R × lp scores) only when the four-row routines run.
    let mut sc = job.panels.as_ref().filter(|_| !by_lanes).map(|p| Scratch::new(p, l.splat(0.0)));
    // Short sparse rows all at once (D ≤ 16); the loop below then skips them.
    let short = job.sparse.filter(|_| d <= LANES);
    if let Some(rows) = short {
        thread_local! {
            /// Reused by every head this thread computes (heads of one call may run on
            /// several threads, so one per thread).
            static SHORT: std::cell::RefCell<ShortScratch> = Default::default();
        }
        // Taken out and put back, so the kernel runs outside the closure (a closure would not
        // inherit this function's target features).
        let mut scratch = SHORT.with(|cell| cell.take());
        short_rows(l, &job.rows, rows, job.entry_bias, &mut scratch, out);
        SHORT.with(|cell| cell.replace(scratch));
    }
    let block_len = if by_lanes { LANES } else { R };
    let mut lane_sc = LaneScratch::default();
    // The block's bias rows when the bias is computed row by row (at most 16 × L floats).
    let mut bias_sc = Vec::new();
    let (mut short_count, mut sparse_count) = (0, 0);
    for i in 0..n {
        if short.is_some_and(|s| s.is_short(i)) {
            short_count += 1;
            continue;
        }
        if let Some((s, cols)) = job.sparse.and_then(|s| Some((s, s.row(i)?))) {
            if scratch.is_empty() {
                scratch.resize(s.scratch_len(), 0.0f32);
            }
            sparse_row(l, &job.rows, i, cols, &mut scratch, &mut out[i * d..(i + 1) * d]);
            sparse_count += 1;
            continue;
        }
        block.push(i);
        if block.len() == block_len {
            let scratch = (&mut sc, &mut lane_sc, &mut bias_sc);
            run_dense::<L, DP, D>(l, job, &mut block, by_lanes, &mut tiles, scratch, out);
        }
    }
    if !block.is_empty() {
        run_dense::<L, DP, D>(l, job, &mut block, by_lanes, &mut tiles, (&mut sc, &mut lane_sc, &mut bias_sc), out);
    }
    coverage::add(RowPath::ShortRows, job.isa, short_count);
    coverage::add(RowPath::SparseRows, job.isa, sparse_count);
    coverage::add(dense_path(job.algo, by_lanes, job.operands), job.isa, n - short_count - sparse_count);
}

/// The path a head's dense rows take.
fn dense_path(algo: RowAlgo<'_>, by_lanes: bool, operands: Operands) -> RowPath {
    match (operands, algo) {
        (Operands::Bf16Rounded, _) => RowPath::Bf16Rounded,
        (Operands::F32, RowAlgo::Tiles(_)) => RowPath::TileMap,
        (Operands::F32, _) if by_lanes => RowPath::LaneRows,
        (Operands::F32, _) => RowPath::TileRows,
    }
}

/// The scratch of [`run_dense`]: the four-row routines', the lane routines', and the block's
/// bias rows (filled only for a row-wise time bias).
type DenseScratch<'s, V> = (&'s mut Option<Scratch<V>>, &'s mut LaneScratch, &'s mut Vec<f32>);

/// Runs a block of dense rows (sixteen to a block, one per lane, when `by_lanes`; else
/// [`R`]) and empties it. A function, not a closure: closures do not inherit the entry
/// point's target features.
#[inline(always)]
fn run_dense<L: Lanes, const DP: usize, const D: usize>(
    l: L,
    job: &HeadJob<'_>,
    block: &mut Vec<usize>,
    by_lanes: bool,
    tiles: &mut BlockTiles,
    (sc, lane_sc, bias_sc): DenseScratch<'_, L::V>,
    out: &mut [f32],
) {
    let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
    if by_lanes {
        let bias = job.bias.as_ref().map(|b| b.rows::<LANES>(block, job.mask, bias_sc));
        let blk = LaneBlock {
            p,
            rows: block,
            mask_rows: std::array::from_fn(|r| job.mask.row_words(block[r.min(block.len() - 1)])),
            bias,
            scale: job.scale,
        };
        match job.algo {
            RowAlgo::Online { .. } => online_lanes::<L, DP, D>(l, &blk, lane_sc, out),
            _ => two_pass_lanes::<L, DP, D>(l, &blk, lane_sc, out),
        }
    } else {
        let sc = sc.as_mut().expect("four-row scratch is built whenever panels are and lanes are off");
        run_block::<L, DP>(l, job, block, tiles, sc, bias_sc, out);
    }
    block.clear();
}

/// The tiles a block of rows visits, as a bitset over tiles (reused across blocks).
#[derive(Default)]
struct BlockTiles {
    words: Vec<u64>,
}

impl BlockTiles {
    /// Marks the tiles in which any of `rows` allows something (`Dense`) or that the tile map
    /// lists for any of them (`Tiles`), and returns them in ascending order.
    fn collect(
        &mut self,
        job: &HeadJob<'_>,
        rows: &[usize],
        n_tiles: usize,
    ) -> impl Iterator<Item = usize> + Clone + '_ {
        self.words.clear();
        self.words.resize(n_tiles.div_ceil(64), 0);
        match job.algo {
            RowAlgo::Tiles(map) => {
                for &i in rows {
                    for &t in map.row_tiles(i) {
                        self.words[t as usize / 64] |= 1 << (t % 64);
                    }
                }
            }
            _ => {
                for &i in rows {
                    let m = job.mask.row_words(i);
                    for t in (0..n_tiles).filter(|&t| m[t / 4] != 0 && tile_bits(m, t) != 0) {
                        self.words[t / 64] |= 1 << (t % 64);
                    }
                }
            }
        }
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    }
}

/// Runs the block routine of `job.algo` on `rows` (1..=R dense rows) and writes their outputs.
#[inline(always)]
fn run_block<L: Lanes, const DP: usize>(
    l: L,
    job: &HeadJob<'_>,
    rows: &[usize],
    tiles: &mut BlockTiles,
    sc: &mut Scratch<L::V>,
    bias_sc: &mut Vec<f32>,
    out: &mut [f32],
) {
    let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
    let d = job.rows.d;
    let idx: [usize; R] = std::array::from_fn(|r| rows[r.min(rows.len() - 1)]);
    let ctx = BlockCtx {
        p,
        rows: idx,
        mask_rows: idx.map(|i| job.mask.row_words(i)),
        bias_rows: job.bias.as_ref().map(|b| b.rows::<R>(rows, job.mask, bias_sc)),
        scale: job.scale,
    };
    let mut outs: [&mut [f32]; R] = Default::default();
    // Rows ascend, so the output splits into disjoint row slices in order.
    let mut rest = out;
    let mut at = 0;
    for (slot, &i) in outs.iter_mut().zip(rows) {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut((i - at) * d);
        let (row, tail) = tail.split_at_mut(d);
        *slot = row;
        rest = tail;
        at = i + 1;
    }
    let outs = &mut outs[..rows.len()];
    match job.algo {
        RowAlgo::Online { .. } => online::<L, DP>(l, &ctx, sc, outs),
        _ => {
            let list = tiles.collect(job, rows, p.lp / LANES);
            two_pass::<L, DP>(l, &ctx, list, sc, outs)
        }
    }
}
