//! AVX-512 F: the `Avx512` token and its `Lanes` implementation, one `__m512` per vector.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::{
    exp::{EXP_LO, LN2_HI, LN2_LO, LOG2E, P0, P1, P2, P3, P4, P5},
    mask_fits, Isa, Lanes,
};

/// AVX-512 F token (one `__m512` per vector).
#[derive(Debug, Clone, Copy)]
pub struct Avx512 {
    _private: (),
}

impl Avx512 {
    /// The token, if this CPU has AVX-512 F and [`MAX_ISA_VAR`](super::MAX_ISA_VAR) allows it.
    pub fn new() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") && Isa::Avx512.allowed() {
            return Some(Self { _private: () });
        }
        None
    }
}

// SAFETY (for every `unsafe` block in this impl): an `Avx512` value exists only if
// `is_x86_feature_detected!("avx512f")` returned true, so the AVX-512 F intrinsics are
// supported; loads and stores go through slices whose lengths are checked first (or, for
// masked loads, only lanes whose bit is set are read, and the caller guarantees those
// lanes are inside the slice — checked by the debug assertion).
#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    type V = __m512;
    #[inline(always)]
    fn transpose16(self, m: [__m512; 16]) -> [__m512; 16] {
        // SAFETY: token proves avx512f.
        unsafe {
            // Pairs of rows interleaved by element, then by element pair: u[4i + c'] holds,
            // in its 128-bit lane k, rows 4i .. 4i + 4 of column 4k + c'.
            let mut t = m;
            for i in 0..8 {
                t[2 * i] = _mm512_unpacklo_ps(m[2 * i], m[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_ps(m[2 * i], m[2 * i + 1]);
            }
            let mut u = t;
            for i in 0..4 {
                // No closure for the casts: closures do not inherit target features.
                let (a, b) = (_mm512_castps_pd(t[4 * i]), _mm512_castps_pd(t[4 * i + 2]));
                let (c, d) = (_mm512_castps_pd(t[4 * i + 1]), _mm512_castps_pd(t[4 * i + 3]));
                u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
                u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
                u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
                u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
            }
            // Per column offset c', a 4 × 4 transpose of 128-bit lanes.
            let mut out = m;
            for c in 0..4 {
                let (u0, u1, u2, u3) = (u[c], u[4 + c], u[8 + c], u[12 + c]);
                let x0 = _mm512_shuffle_f32x4::<0x88>(u0, u1);
                let x1 = _mm512_shuffle_f32x4::<0xdd>(u0, u1);
                let x2 = _mm512_shuffle_f32x4::<0x88>(u2, u3);
                let x3 = _mm512_shuffle_f32x4::<0xdd>(u2, u3);
                out[c] = _mm512_shuffle_f32x4::<0x88>(x0, x2);
                out[4 + c] = _mm512_shuffle_f32x4::<0x88>(x1, x3);
                out[8 + c] = _mm512_shuffle_f32x4::<0xdd>(x0, x2);
                out[12 + c] = _mm512_shuffle_f32x4::<0xdd>(x1, x3);
            }
            out
        }
    }
    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        // SAFETY: see the impl comment (token proves avx512f).
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> __m512 {
        assert!(src.len() >= 16);
        // SAFETY: 16 floats are in bounds (asserted); token proves avx512f.
        unsafe { _mm512_loadu_ps(src.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn load_masked_ptr(self, src: *const f32, mask: u16) -> __m512 {
        // SAFETY: only lanes with a set bit are read, and those are readable (the caller's
        // contract); token proves avx512f.
        unsafe { _mm512_maskz_loadu_ps(mask, src) }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: __m512) {
        assert!(dst.len() >= 16);
        // SAFETY: 16 floats are in bounds (asserted); token proves avx512f.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], v: __m512, mask: u16) {
        assert!(mask_fits(mask, dst.len()), "a masked store writes past its slice");
        // SAFETY: only lanes with a set bit are written, all in bounds (asserted); token
        // proves avx512f.
        unsafe { _mm512_mask_storeu_ps(dst.as_mut_ptr(), mask, v) }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, src: *const f32) -> __m512 {
        // SAFETY: the caller guarantees 16 readable floats; token proves avx512f.
        unsafe { _mm512_loadu_ps(src) }
    }
    #[inline(always)]
    fn fmadd(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn select(self, mask: u16, a: __m512, b: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_mask_blend_ps(mask, b, a) }
    }
    #[inline(always)]
    fn gt_mask(self, a: __m512, b: __m512) -> u16 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b) }
    }
    #[inline(always)]
    fn reduce_max(self, a: __m512) -> f32 {
        // SAFETY: token proves avx512f.
        unsafe { _mm512_reduce_max_ps(a) }
    }
    #[inline(always)]
    fn reduce_add(self, a: __m512) -> f32 {
        // SAFETY: token proves avx512f (and implies AVX/SSE for the 256/128-bit steps).
        unsafe {
            let lo = _mm512_castps512_ps256(a);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
            let s8 = _mm256_add_ps(lo, hi);
            let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
            let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
            _mm_cvtss_f32(s1)
        }
    }
    #[inline(always)]
    fn reduce_add16(self, m: [__m512; 16]) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe {
            // Halves 8: vector p holds the 8 sums of m[2p] in lanes 0..8, of m[2p + 1] in 8..16.
            let mut c = [_mm512_setzero_ps(); 8];
            for (p, c) in c.iter_mut().enumerate() {
                let (a, b) = (m[2 * p], m[2 * p + 1]);
                *c = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xEE>(a, b));
            }
            // Halves 4: 128-bit block k of d[q] holds the 4 sums of m[4q + k].
            let mut d = [_mm512_setzero_ps(); 4];
            for (q, d) in d.iter_mut().enumerate() {
                let (a, b) = (c[2 * q], c[2 * q + 1]);
                *d = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(a, b), _mm512_shuffle_f32x4::<0xDD>(a, b));
            }
            // Halves 2: block k of g[r] holds the 2 sums of m[8r + k], then of m[8r + 4 + k].
            let mut g = [_mm512_setzero_ps(); 2];
            for (r, g) in g.iter_mut().enumerate() {
                let (a, b) = (d[2 * r], d[2 * r + 1]);
                *g = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(a, b), _mm512_shuffle_ps::<0xEE>(a, b));
            }
            // Halves 1: lane 4k + j holds the sum of m[4j + k]; a transposing permute puts
            // the sum of m[e] in lane e.
            let h = _mm512_add_ps(_mm512_shuffle_ps::<0x88>(g[0], g[1]), _mm512_shuffle_ps::<0xDD>(g[0], g[1]));
            let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            _mm512_permutexvar_ps(order, h)
        }
    }
    #[inline(always)]
    fn exp(self, x: __m512) -> __m512 {
        // SAFETY: token proves avx512f.
        unsafe {
            let x = _mm512_max_ps(x, _mm512_set1_ps(EXP_LO));
            let n = _mm512_roundscale_ps(
                _mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
            );
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
            let mut y = _mm512_fmadd_ps(_mm512_set1_ps(P0), r, _mm512_set1_ps(P1));
            y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P2));
            y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P3));
            y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P4));
            y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P5));
            let z = _mm512_mul_ps(r, r);
            y = _mm512_fmadd_ps(y, z, r);
            y = _mm512_add_ps(y, _mm512_set1_ps(1.0));
            _mm512_scalef_ps(y, n)
        }
    }
}
