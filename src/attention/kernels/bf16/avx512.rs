//! The AVX-512 BF16 path: one row at a time, `VDPBF16PS` scores and `P·V` on bf16 probabilities.

use std::arch::x86_64::*;

use super::job::{count_rows, Bf16Job};
use super::round::store_bf16_pair;
use crate::attention::kernels::coverage::RowPath;
use crate::attention::kernels::panels::tile_bits;
use crate::attention::kernels::simd::{Avx512, Isa, Lanes, LANES};
use crate::attention::kernels::sparse::sparse_row;

/// Tiles whose scores are computed together (independent `VDPBF16PS` chains).
const GROUP: usize = 4;

/// One head on AVX-512 BF16.
///
/// # Safety
/// The CPU must support `avx512f` and `avx512bf16`.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn head(job: &Bf16Job<'_>, out: &mut [f32]) {
    count_rows(job, RowPath::Bf16Avx512, Isa::Avx512);
    let lanes = Avx512::new().expect("caller checked avx512f");
    let (l, d) = (job.rows.l, job.rows.d);
    let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
    let lp = job.panels.as_ref().map_or(0, |p| p.lp);
    let mut buf = vec![0.0f32; lp];
    // Probabilities rounded to bf16, 32 per vector, in key order.
    let mut pbuf = vec![0u16; lp];
    let mut bias_sc = Vec::new();
    let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
    let zero = _mm512_setzero_ps();
    let scale = _mm512_set1_ps(job.scale);
    for i in 0..l {
        let o = &mut out[i * d..(i + 1) * d];
        if let Some(cols) = job.sparse.and_then(|s| s.row(i)) {
            sparse_row(lanes, &job.rows, i, cols, &mut scratch, o);
            continue;
        }
        let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
        let np = p.pairs();
        let n_tiles = lp / LANES;
        let words = job.mask.row_words(i);
        let qp = &p.q_pairs[i * np..(i + 1) * np];
        let bias_row = job.bias.as_ref().map(|b| b.row(i, job.mask, &mut bias_sc));
        let mut mx = neg_inf;
        let mut poison = zero;
        let mut t0 = 0;
        while t0 < n_tiles {
            let mut bits = [0u16; GROUP];
            for (k, b) in bits.iter_mut().enumerate() {
                let j0 = (t0 + k) * LANES;
                *b = if t0 + k < n_tiles && j0 < l { tile_bits(words, t0 + k) } else { 0 };
            }
            if bits == [0; GROUP] {
                t0 += GROUP;
                continue;
            }
            let mut s = [zero; GROUP];
            for (c2, &pair) in qp.iter().enumerate() {
                // SAFETY: same-sized 512-bit transmute; features enabled above.
                let qv: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(pair as i32)) };
                for k in 0..GROUP {
                    if bits[k] == 0 {
                        continue;
                    }
                    let j0 = (t0 + k) * LANES;
                    let kp = &p.k_pairs[(c2 * lp + j0) * 2..(c2 * lp + j0) * 2 + 32];
                    // SAFETY: `kp` holds exactly 32 u16 = 64 bytes; same-sized transmute.
                    unsafe {
                        let kv: __m512bh = std::mem::transmute(_mm512_loadu_si512(kp.as_ptr().cast()));
                        s[k] = _mm512_dpbf16_ps(s[k], qv, kv);
                    }
                }
            }
            for k in 0..GROUP {
                let j0 = (t0 + k) * LANES;
                if t0 + k >= n_tiles {
                    break;
                }
                if bits[k] == 0 {
                    continue; // never read: the exp pass skips tiles without allowed lanes
                }
                let mut v = _mm512_mul_ps(s[k], scale);
                if let Some(b) = bias_row {
                    v = _mm512_add_ps(v, lanes.load_masked(&b[j0..], bits[k]));
                }
                lanes.store(&mut buf[j0..], v);
                mx = _mm512_max_ps(mx, _mm512_mask_blend_ps(bits[k], neg_inf, v));
                poison = _mm512_add_ps(poison, _mm512_maskz_mul_ps(bits[k], v, zero));
            }
            t0 += GROUP;
        }
        // A row that met a non-finite score is NaN (see the portable path).
        if lanes.reduce_add(poison) != 0.0 {
            o.fill(f32::NAN);
            continue;
        }
        let m = _mm512_reduce_max_ps(mx);
        if m == f32::NEG_INFINITY {
            o.fill(0.0);
            continue;
        }
        let mv = _mm512_set1_ps(m);
        let mut sum = zero;
        for t2 in 0..lp / 32 {
            let mut e = [zero; 2];
            for (h, eh) in e.iter_mut().enumerate() {
                let j0 = t2 * 32 + h * LANES;
                let bits = if j0 < l { tile_bits(words, 2 * t2 + h) } else { 0 };
                if bits != 0 {
                    *eh = lanes.select(bits, lanes.exp(_mm512_sub_ps(lanes.load(&buf[j0..]), mv)), zero);
                    sum = _mm512_add_ps(sum, *eh);
                }
            }
            store_bf16_pair(&mut pbuf[t2 * 32..t2 * 32 + 32], e[0], e[1]);
        }
        let den = lanes.reduce_add(sum);
        // P·V, sixteen head dimensions at a time with their accumulators in registers.
        let mut c0 = 0;
        while c0 < d {
            let w = LANES.min(d - c0);
            let mut acc = [zero; LANES];
            for t2 in 0..lp / 32 {
                let j0 = t2 * 32;
                // Tiles 2·t2 and 2·t2 + 1 share one mask word, which exists when j0 < l.
                if j0 >= l || (tile_bits(words, 2 * t2) | tile_bits(words, 2 * t2 + 1)) == 0 {
                    continue;
                }
                // SAFETY: `pbuf` and every `vs` hold exactly 32 u16 = 64 bytes; same-size transmutes.
                unsafe {
                    let pb: __m512bh = std::mem::transmute(_mm512_loadu_si512(pbuf[j0..j0 + 32].as_ptr().cast()));
                    for (c, a) in acc.iter_mut().enumerate().take(w) {
                        let vs = &p.vt[(c0 + c) * lp + j0..(c0 + c) * lp + j0 + 32];
                        let vv: __m512bh = std::mem::transmute(_mm512_loadu_si512(vs.as_ptr().cast()));
                        *a = _mm512_dpbf16_ps(*a, pb, vv);
                    }
                }
            }
            for (c, a) in acc.iter().enumerate().take(w) {
                o[c0 + c] = lanes.reduce_add(*a) / den;
            }
            c0 += w;
        }
    }
}
