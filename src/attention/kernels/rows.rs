//! The row routines of the f32 fast kernels, written once over [`Lanes`].
//!
//! * [`two_pass`] — scores of the listed tiles into a row buffer, the row maximum, `p = exp(s −
//!   max)` with per-lane sums, then `P·V` (used by `sdpa` over every tile and by `block_sparse`
//!   over the tiles of its tile map).
//! * [`online`] — FlashAttention's online softmax over blocks of four tiles (64 columns): a
//!   running maximum, rescaling of the per-lane sums and accumulators when it grows; no row
//!   buffer at all.
//!
//! Masked lanes are *selected away* (never `−1e9`): they take no part in the maximum, and their
//! probability is exactly 0. A row whose tiles allow nothing is left zero. The const parameter
//! `DP` is the padded head dimension when it is at most 16 (loops unroll, accumulators stay in
//! registers), or 0 for "read `dp` at run time".

use super::panels::{tile_bits, HeadPanels};
use super::simd::{Lanes, LANES};

/// Most accumulators kept at once (one 16-dimension chunk of the head).
const CHUNK: usize = 16;

/// Per-row context shared by both routines.
pub struct RowCtx<'a> {
    /// The head's panels.
    pub p: &'a HeadPanels,
    /// Row index.
    pub i: usize,
    /// The mask row's bitset words.
    pub mask_row: &'a [u64],
    /// The bias row (length L), if any.
    pub bias_row: Option<&'a [f32]>,
    /// 1 / √D.
    pub scale: f32,
}

#[inline(always)]
fn dims<const DP: usize>(rt: usize) -> usize {
    if DP == 0 {
        rt
    } else {
        DP
    }
}

/// Scaled, biased scores of tile `t` for row `ctx.i` (masked lanes hold garbage; callers select).
#[inline(always)]
fn scores<L: Lanes, const DP: usize>(l: L, ctx: &RowCtx<'_>, t: usize, bits: u16) -> L::V {
    let p = ctx.p;
    let dp = dims::<DP>(p.dp);
    let j0 = t * LANES;
    let q = &p.q[ctx.i * p.dp..ctx.i * p.dp + dp];
    let mut s = l.splat(0.0);
    for (c, &qc) in q.iter().enumerate() {
        s = l.fmadd(l.splat(qc), l.load(&p.kt[c * p.lp + j0..]), s);
    }
    s = l.mul(s, l.splat(ctx.scale));
    if let Some(b) = ctx.bias_row {
        s = l.add(s, l.load_masked(&b[j0..], bits));
    }
    s
}

/// Two-pass softmax attention of one row over `tiles` (ascending tile indices), writing the
/// first `d` entries of `out`. `buf` must hold `lp` floats.
#[inline(always)]
pub fn two_pass<L: Lanes, const DP: usize>(
    l: L,
    ctx: &RowCtx<'_>,
    tiles: impl Iterator<Item = usize> + Clone,
    buf: &mut [f32],
    out: &mut [f32],
) {
    let p = ctx.p;
    let neg_inf = l.splat(f32::NEG_INFINITY);
    let zero = l.splat(0.0);
    let mut mx = neg_inf;
    for t in tiles.clone() {
        let bits = tile_bits(ctx.mask_row, t);
        let s = scores::<L, DP>(l, ctx, t, bits);
        l.store(&mut buf[t * LANES..], s);
        mx = l.max(mx, l.select(bits, s, neg_inf));
    }
    let m = l.reduce_max(mx);
    if m == f32::NEG_INFINITY {
        out[..p.d].fill(0.0);
        return;
    }
    let mv = l.splat(m);
    let mut sum = zero;
    for t in tiles.clone() {
        let bits = tile_bits(ctx.mask_row, t);
        let e = l.select(bits, l.exp(l.sub(l.load(&buf[t * LANES..]), mv)), zero);
        sum = l.add(sum, e);
        l.store(&mut buf[t * LANES..], e);
    }
    let den = l.reduce_add(sum);
    let dp = dims::<DP>(p.dp);
    let mut c0 = 0;
    while c0 < dp {
        let w = CHUNK.min(dp - c0);
        let mut acc = [zero; CHUNK];
        for t in tiles.clone() {
            let j0 = t * LANES;
            let e = l.load(&buf[j0..]);
            for (c, a) in acc.iter_mut().enumerate().take(w) {
                *a = l.fmadd(e, l.load(&p.vt[(c0 + c) * p.lp + j0..]), *a);
            }
        }
        for (c, a) in acc.iter().enumerate().take(w) {
            if c0 + c < p.d {
                out[c0 + c] = l.reduce_add(*a) / den;
            }
        }
        c0 += w;
    }
}

/// Tiles per online-softmax block (64 columns).
pub const BLOCK_TILES: usize = 4;

/// Online-softmax (FlashAttention) attention of one row over all tiles, in blocks of
/// [`BLOCK_TILES`] (one mask word; a block with no allowed entry is skipped), writing the first `d` entries of `out`. `acc_scratch` holds at least `dp`
/// vectors (the per-lane accumulators when `DP == 0`; with `DP != 0` they stay in registers).
#[inline(always)]
pub fn online<L: Lanes, const DP: usize>(l: L, ctx: &RowCtx<'_>, acc_scratch: &mut [L::V], out: &mut [f32]) {
    let p = ctx.p;
    let dp = dims::<DP>(p.dp);
    let neg_inf = l.splat(f32::NEG_INFINITY);
    let zero = l.splat(0.0);
    let mut local = [zero; CHUNK];
    acc_scratch[..dp].fill(zero);
    let mut m_run = f32::NEG_INFINITY;
    let mut lsum = zero;
    let n_tiles = p.lp / LANES;
    let mut t0 = 0;
    while t0 < n_tiles {
        let nt = BLOCK_TILES.min(n_tiles - t0);
        if ctx.mask_row[t0 / BLOCK_TILES] == 0 {
            // The whole 64-column block is blocked for this row: nothing to add.
            t0 += nt;
            continue;
        }
        let mut e = [zero; BLOCK_TILES];
        let mut bits = [0u16; BLOCK_TILES];
        let mut mx = neg_inf;
        for k in 0..nt {
            bits[k] = tile_bits(ctx.mask_row, t0 + k);
            e[k] = scores::<L, DP>(l, ctx, t0 + k, bits[k]);
            mx = l.max(mx, l.select(bits[k], e[k], neg_inf));
        }
        let bm = l.reduce_max(mx);
        if bm == f32::NEG_INFINITY {
            t0 += nt;
            continue;
        }
        let mut corr = None;
        if bm > m_run {
            if m_run != f32::NEG_INFINITY {
                corr = Some(l.exp(l.splat(m_run - bm)));
            }
            m_run = bm;
        }
        let mv = l.splat(m_run);
        for k in 0..nt {
            e[k] = l.select(bits[k], l.exp(l.sub(e[k], mv)), zero);
        }
        if let Some(cv) = corr {
            lsum = l.mul(lsum, cv);
        }
        for ek in e.iter().take(nt) {
            lsum = l.add(lsum, *ek);
        }
        let j0 = t0 * LANES;
        if DP != 0 {
            for (c, a) in local.iter_mut().enumerate().take(DP) {
                let mut acc = *a;
                if let Some(cv) = corr {
                    acc = l.mul(acc, cv);
                }
                for (k, ek) in e.iter().enumerate().take(nt) {
                    acc = l.fmadd(*ek, l.load(&p.vt[c * p.lp + j0 + k * LANES..]), acc);
                }
                *a = acc;
            }
        } else {
            for (c, a) in acc_scratch.iter_mut().enumerate().take(dp) {
                let mut acc = *a;
                if let Some(cv) = corr {
                    acc = l.mul(acc, cv);
                }
                for (k, ek) in e.iter().enumerate().take(nt) {
                    acc = l.fmadd(*ek, l.load(&p.vt[c * p.lp + j0 + k * LANES..]), acc);
                }
                *a = acc;
            }
        }
        t0 += nt;
    }
    if m_run == f32::NEG_INFINITY {
        out[..p.d].fill(0.0);
        return;
    }
    let den = l.reduce_add(lsum);
    let acc: &[L::V] = if DP != 0 { &local } else { acc_scratch };
    for (c, a) in acc.iter().enumerate().take(p.d) {
        out[c] = l.reduce_add(*a) / den;
    }
}
