//! The row routines of the f32 fast kernels, register-blocked over [`R`] query rows and written
//! once over [`Lanes`].
//!
//! * [`two_pass`] — scores of the listed tiles into a block buffer (R rows × L), the row maxima,
//!   `p = exp(s − max)` with per-lane sums, then `P·V` (used by `sdpa` over every tile and by
//!   `block_sparse` over the tiles of its tile map).
//! * [`online`] — FlashAttention's online softmax over blocks of four tiles (64 columns): a
//!   running maximum per row, rescaling of the sums and accumulators when it grows; the only
//!   buffer is the 64-column block (R × 64 floats), never a row of L.
//!
//! The R rows of a block share every key and value load: a score tile costs one load of each
//! of the D key-panel vectors and R·D fused multiply-adds with a broadcast query element; a
//! key's value row (D ≤ 16 floats in one vector per 16 dimensions) is loaded once and added to
//! the R row accumulators with a broadcast probability. Rows are independent: a row's result
//! does not depend on which rows share its block, nor on extra tiles in which it allows nothing
//! (they add exact zeros), so `sdpa` and `block_sparse` agree bit for bit.
//!
//! No closure here touches a vector: a closure does not inherit the `#[target_feature]` of the
//! entry point it is inlined into, so the intrinsics inside it would become calls.
//!
//! Masked lanes are *selected away* (never `−1e9`): they take no part in the maximum, and their
//! probability is exactly 0. A row whose tiles allow nothing is left zero. The const parameter
//! `DP` is the padded head dimension when it is at most 16 (loops unroll, accumulators stay in
//! registers), or 0 for "read `dp` at run time".

use super::panels::{tile_bits, HeadPanels};
use super::simd::{exp_portable, Lanes, LANES};

/// Query rows per register block.
pub const R: usize = 4;

/// Tiles per online-softmax block (64 columns: one mask word).
pub const BLOCK_TILES: usize = 4;

/// The block routines' context: R rows of one head (a short block repeats its last row; the
/// caller writes back only the rows it asked for).
pub struct BlockCtx<'a> {
    /// The head's panels.
    pub p: &'a HeadPanels,
    /// Row indices.
    pub rows: [usize; R],
    /// The rows' mask bitset words.
    pub mask_rows: [&'a [u64]; R],
    /// The rows' bias rows (length L each), if any. Read only at the lanes the mask allows
    /// (a masked load), so a row-wise time bias need hold only those entries.
    pub bias_rows: Option<[&'a [f32]; R]>,
    /// 1 / √D, applied to each dot product (as the reference does: pre-scaling the queries
    /// adds a rounding per term that the exp amplifies).
    pub scale: f32,
}

/// Scratch the routines reuse across blocks of one head.
pub struct Scratch<V> {
    /// Scores, then probabilities: `R × lp` floats ([`two_pass`]) or `R × 64` ([`online`]).
    buf: Vec<f32>,
    /// Row accumulators, `R × dv / 16` vectors.
    acc: Vec<V>,
    /// Results before division, `R × dv` floats.
    res: Vec<f32>,
}

impl<V: Copy> Scratch<V> {
    /// Scratch for panels `p`, its vectors initialised to `zero`.
    pub fn new(p: &HeadPanels, zero: V) -> Self {
        Self {
            buf: vec![0.0; R * p.lp.max(BLOCK_TILES * LANES)],
            acc: vec![zero; R * p.dv / LANES],
            res: vec![0.0; R * p.dv],
        }
    }
}

#[inline(always)]
fn dims<const DP: usize>(rt: usize) -> usize {
    if DP == 0 {
        rt
    } else {
        DP
    }
}

/// The R rows' mask bits of tile `t`.
#[inline(always)]
fn block_bits(ctx: &BlockCtx<'_>, t: usize) -> [u16; R] {
    std::array::from_fn(|r| tile_bits(ctx.mask_rows[r], t))
}

/// Scaled, biased scores of tiles `ts` (N of them) for the R rows, masked lanes `−∞`: N·R
/// independent FMA chains, enough to cover the FMA latency. `poison[r]` gains `score · 0` of
/// every allowed score of row r: NaN once the row meets a NaN or infinite score (the clamped
/// exponential would otherwise turn it into a finite weight), 0 otherwise; the routines add
/// its sum to the row's denominator, so such a row comes out non-finite, as in `math`, and the
/// circuit breaker sees it.
#[inline(always)]
fn scores<L: Lanes, const DP: usize, const N: usize>(
    l: L,
    ctx: &BlockCtx<'_>,
    ts: [usize; N],
    bits: &[[u16; R]; N],
    poison: &mut [L::V; R],
) -> [[L::V; R]; N] {
    let p = ctx.p;
    let dp = dims::<DP>(p.dp);
    assert!(dp <= p.dp && ts.iter().all(|&t| (t + 1) * LANES <= p.lp));
    assert!(ctx.rows.iter().all(|&i| (i + 1) * p.dp <= p.q.len()));
    let (q, kt) = (p.q.as_ptr(), p.kt.as_ptr());
    let q_rows: [*const f32; R] = std::array::from_fn(|r| q.wrapping_add(ctx.rows[r] * p.dp));
    let mut s = [[l.splat(0.0); R]; N];
    for c in 0..dp {
        // SAFETY: c < dp ≤ p.dp, so key-panel row c holds columns 16t .. 16t + 16 of every tile
        // (16t + 16 ≤ lp) and every query row holds element c (all asserted above).
        unsafe {
            for k in 0..N {
                let kv = l.load_ptr(kt.add(c * p.lp + ts[k] * LANES));
                for r in 0..R {
                    s[k][r] = l.fmadd(l.splat(*q_rows[r].add(c)), kv, s[k][r]);
                }
            }
        }
    }
    let (sc, neg_inf) = (l.splat(ctx.scale), l.splat(f32::NEG_INFINITY));
    for k in 0..N {
        let j0 = ts[k] * LANES;
        for r in 0..R {
            s[k][r] = l.mul(s[k][r], sc);
            if let Some(b) = ctx.bias_rows {
                s[k][r] = l.add(s[k][r], l.load_masked(&b[r][j0.min(b[r].len())..], bits[k][r]));
            }
            let zero = l.splat(0.0);
            if bits[k][r] != u16::MAX {
                poison[r] = l.add(poison[r], l.select(bits[k][r], l.mul(s[k][r], zero), zero));
                s[k][r] = l.select(bits[k][r], s[k][r], neg_inf);
            } else {
                poison[r] = l.add(poison[r], l.mul(s[k][r], zero));
            }
        }
    }
    s
}

/// `acc[r·nv + ch] += Σ_j buf[r·stride + j] · v[j0 + j, 16·ch ..]` over `j < n` (n even),
/// even and odd `j` in separate accumulators (2·R independent FMA chains) added at the end.
#[inline(always)]
fn add_pv<L: Lanes, const DP: usize>(
    l: L,
    p: &HeadPanels,
    j0: usize,
    n: usize,
    buf: &[f32],
    stride: usize,
    acc: &mut [L::V],
) {
    let nv = dims::<DP>(p.dp).div_ceil(LANES);
    let vr = &p.vr[j0 * p.dv..(j0 + n) * p.dv];
    assert!(n.is_multiple_of(2) && buf.len() >= (R - 1) * stride + n && acc.len() >= R * nv);
    let rows: [*const f32; R] = std::array::from_fn(|r| buf[r * stride..].as_ptr());
    for ch in 0..nv {
        let mut even = [l.splat(0.0); R];
        let mut odd = [l.splat(0.0); R];
        for r in 0..R {
            even[r] = acc[r * nv + ch];
        }
        let v_ch = vr[ch * LANES..].as_ptr();
        for j in (0..n).step_by(2) {
            // SAFETY: rows j and j + 1 of `vr` (sliced above) hold dv ≥ 16·(ch + 1) floats,
            // and every `rows[r]` has n floats (asserted). The pointer is formed from the row
            // index, so it never points past the slice (offsetting beyond one past the end is
            // undefined behaviour even when nothing is read there).
            unsafe {
                let v_at = v_ch.add(j * p.dv);
                let (v0, v1) = (l.load_ptr(v_at), l.load_ptr(v_at.add(p.dv)));
                for r in 0..R {
                    even[r] = l.fmadd(l.splat(*rows[r].add(j)), v0, even[r]);
                    odd[r] = l.fmadd(l.splat(*rows[r].add(j + 1)), v1, odd[r]);
                }
            }
        }
        for r in 0..R {
            acc[r * nv + ch] = l.add(even[r], odd[r]);
        }
    }
}

/// Writes `acc / den` of row `r` into `out[r]` (the first `d` floats), or zeros when `den` is 0
/// (nothing allowed). A division, not a multiplication by `1/den`: one rounding, not two.
#[inline(always)]
fn finish<L: Lanes>(l: L, p: &HeadPanels, acc: &[L::V], res: &mut [f32], den: [f32; R], out: &mut [&mut [f32]]) {
    let nv = p.dv / LANES;
    for (r, o) in out.iter_mut().enumerate() {
        if den[r] == 0.0 {
            o[..p.d].fill(0.0);
            continue;
        }
        for ch in 0..nv {
            l.store(&mut res[r * p.dv + ch * LANES..], acc[r * nv + ch]);
        }
        for (x, &a) in o[..p.d].iter_mut().zip(&res[r * p.dv..]) {
            *x = a / den[r];
        }
    }
}

/// Two-pass softmax attention of the block's rows over `tiles` (ascending tile indices),
/// writing row `r`'s result into `out[r]` for `r < out.len()`.
#[inline(always)]
pub fn two_pass<L: Lanes, const DP: usize>(
    l: L,
    ctx: &BlockCtx<'_>,
    tiles: impl Iterator<Item = usize> + Clone,
    sc: &mut Scratch<L::V>,
    out: &mut [&mut [f32]],
) {
    let p = ctx.p;
    let (neg_inf, zero) = (l.splat(f32::NEG_INFINITY), l.splat(0.0));
    let lp = p.lp;
    let mut mx = [neg_inf; R];
    let mut poison = [zero; R];
    let mut it = tiles.clone();
    while let Some(t) = it.next() {
        let (pair, n) = match it.next() {
            Some(u) => {
                (scores::<L, DP, 2>(l, ctx, [t, u], &[block_bits(ctx, t), block_bits(ctx, u)], &mut poison), [t, u])
            }
            None => {
                ([scores::<L, DP, 1>(l, ctx, [t], &[block_bits(ctx, t)], &mut poison)[0], [zero; R]], [t, usize::MAX])
            }
        };
        for (s, &t) in pair.iter().zip(&n).filter(|(_, &t)| t != usize::MAX) {
            for r in 0..R {
                l.store(&mut sc.buf[r * lp + t * LANES..], s[r]);
                mx[r] = l.max(mx[r], s[r]);
            }
        }
    }
    let mut m = [0.0; R];
    for r in 0..R {
        m[r] = l.reduce_max(mx[r]);
    }
    let mut sum = [zero; R];
    sc.acc.fill(zero);
    for t in tiles {
        // exp of the tile for every row, then its P·V while the tile is still in L1.
        let bits = block_bits(ctx, t);
        for r in 0..R {
            let at = r * lp + t * LANES;
            let e = if m[r] == f32::NEG_INFINITY {
                zero // nothing allowed in this row: left zero by `finish`
            } else {
                let e = l.exp(l.sub(l.load(&sc.buf[at..]), l.splat(m[r])));
                if bits[r] == u16::MAX {
                    e
                } else {
                    l.select(bits[r], e, zero)
                }
            };
            sum[r] = l.add(sum[r], e);
            l.store(&mut sc.buf[at..], e);
        }
        add_pv::<L, DP>(l, p, t * LANES, LANES, &sc.buf[t * LANES..], lp, &mut sc.acc);
    }
    let mut den = [0.0; R];
    for r in 0..R {
        // A row that met a non-finite score gets a NaN denominator even if nothing looked allowed.
        let live = if m[r] != f32::NEG_INFINITY { l.reduce_add(sum[r]) } else { 0.0 };
        den[r] = live + l.reduce_add(poison[r]);
    }
    finish(l, p, &sc.acc, &mut sc.res, den, out);
}

/// Online-softmax (FlashAttention) attention of the block's rows over all tiles, in blocks of
/// [`BLOCK_TILES`] (a block no row of the R allows anything in is skipped), writing row `r`'s
/// result into `out[r]` for `r < out.len()`.
#[inline(always)]
pub fn online<L: Lanes, const DP: usize>(l: L, ctx: &BlockCtx<'_>, sc: &mut Scratch<L::V>, out: &mut [&mut [f32]]) {
    const W: usize = BLOCK_TILES * LANES;
    let p = ctx.p;
    let nv = p.dv / LANES;
    let (neg_inf, zero) = (l.splat(f32::NEG_INFINITY), l.splat(0.0));
    sc.acc.fill(zero);
    let mut m_run = [f32::NEG_INFINITY; R];
    let mut poison = [zero; R];
    let mut lsum = [zero; R];
    let n_tiles = p.lp / LANES;
    let mut t0 = 0;
    while t0 < n_tiles {
        let nt = BLOCK_TILES.min(n_tiles - t0);
        if ctx.mask_rows.iter().all(|m| m[t0 / BLOCK_TILES] == 0) {
            t0 += nt;
            continue;
        }
        let mut s = [[zero; R]; BLOCK_TILES];
        let mut bits = [[0u16; R]; BLOCK_TILES];
        for (k, b) in bits.iter_mut().enumerate().take(nt) {
            *b = block_bits(ctx, t0 + k);
        }
        for k in (0..nt).step_by(2) {
            if k + 1 < nt {
                let two = scores::<L, DP, 2>(l, ctx, [t0 + k, t0 + k + 1], &[bits[k], bits[k + 1]], &mut poison);
                (s[k], s[k + 1]) = (two[0], two[1]);
            } else {
                s[k] = scores::<L, DP, 1>(l, ctx, [t0 + k], &[bits[k]], &mut poison)[0];
            }
        }
        let mut mx = [neg_inf; R];
        for sk in s.iter().take(nt) {
            for r in 0..R {
                mx[r] = l.max(mx[r], sk[r]);
            }
        }
        for r in 0..R {
            let bm = l.reduce_max(mx[r]);
            if bm > m_run[r] {
                if m_run[r] != f32::NEG_INFINITY {
                    let corr = l.splat(exp_portable(m_run[r] - bm));
                    lsum[r] = l.mul(lsum[r], corr);
                    for a in &mut sc.acc[r * nv..(r + 1) * nv] {
                        *a = l.mul(*a, corr);
                    }
                }
                m_run[r] = bm;
            }
            let live = m_run[r] != f32::NEG_INFINITY;
            let mv = l.splat(if live { m_run[r] } else { 0.0 });
            for k in 0..BLOCK_TILES {
                let e = if !live || k >= nt {
                    zero
                } else if bits[k][r] == u16::MAX {
                    l.exp(l.sub(s[k][r], mv))
                } else {
                    l.select(bits[k][r], l.exp(l.sub(s[k][r], mv)), zero)
                };
                lsum[r] = l.add(lsum[r], e);
                l.store(&mut sc.buf[r * W + k * LANES..], e);
            }
        }
        add_pv::<L, DP>(l, p, t0 * LANES, nt * LANES, &sc.buf, W, &mut sc.acc);
        t0 += nt;
    }
    let mut den = [0.0; R];
    for r in 0..R {
        // A row that met a non-finite score gets a NaN denominator even if nothing looked allowed.
        let live = if m_run[r] != f32::NEG_INFINITY { l.reduce_add(lsum[r]) } else { 0.0 };
        den[r] = live + l.reduce_add(poison[r]);
    }
    finish(l, p, &sc.acc, &mut sc.res, den, out);
}
