//! AVX2 + FMA: the `Avx2` token and its `Lanes` implementation, two `__m256` per vector.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::{
    exp::{EXP_LO, LN2_HI, LN2_LO, LOG2E, P0, P1, P2, P3, P4, P5},
    mask_fits, Isa, Lanes,
};

/// AVX2 + FMA token (two `__m256` per vector).
#[derive(Debug, Clone, Copy)]
pub struct Avx2 {
    _private: (),
}

impl Avx2 {
    /// The token, if this CPU has AVX2 and FMA and [`MAX_ISA_VAR`](super::MAX_ISA_VAR) allows them.
    pub fn new() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && Isa::Avx2.allowed() {
            return Some(Self { _private: () });
        }
        None
    }
}

/// The 8 × 8 transpose of `r` (vector `c` of the result holds element `c` of every input),
/// by the usual three rounds of in-lane unpacks, in-lane shuffles and 128-bit permutes.
///
/// # Safety
/// The CPU must support AVX2 (guaranteed by holding an [`Avx2`] token).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        // t[2i], t[2i + 1]: rows 2i and 2i + 1 interleaved (low and high halves of each lane).
        let mut t = r;
        for i in 0..4 {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // u[4h + k]: element k (and k + 4) of rows 4h .. 4h + 4, per 128-bit lane.
        let mut u = t;
        for h in 0..2 {
            let (a, b, c, d) = (t[4 * h], t[4 * h + 1], t[4 * h + 2], t[4 * h + 3]);
            u[4 * h] = _mm256_shuffle_ps::<0x44>(a, c);
            u[4 * h + 1] = _mm256_shuffle_ps::<0xee>(a, c);
            u[4 * h + 2] = _mm256_shuffle_ps::<0x44>(b, d);
            u[4 * h + 3] = _mm256_shuffle_ps::<0xee>(b, d);
        }
        let mut out = r;
        for k in 0..4 {
            out[k] = _mm256_permute2f128_ps::<0x20>(u[k], u[4 + k]);
            out[4 + k] = _mm256_permute2f128_ps::<0x31>(u[k], u[4 + k]);
        }
        out
    }
}

/// Eight-lane mask vector from the low 8 bits of `bits`.
///
/// # Safety
/// The CPU must support AVX2 (guaranteed by holding an [`Avx2`] token).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn mask8(bits: u16) -> __m256 {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let b = _mm256_set1_epi32(bits as i32);
        let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, sel), sel))
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn exp8(x: __m256) -> __m256 {
    // SAFETY: caller holds an Avx2 token (AVX2 + FMA).
    unsafe {
        let x = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO));
        let n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
        let mut y = _mm256_fmadd_ps(_mm256_set1_ps(P0), r, _mm256_set1_ps(P1));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P2));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P3));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P4));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P5));
        let z = _mm256_mul_ps(r, r);
        y = _mm256_fmadd_ps(y, z, r);
        y = _mm256_add_ps(y, _mm256_set1_ps(1.0));
        let ni = _mm256_cvtps_epi32(n);
        let pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
        _mm256_mul_ps(y, pow2)
    }
}

// SAFETY (for every `unsafe` block in this impl): an `Avx2` value exists only if AVX2 and
// FMA were detected; slice bounds are asserted before unmasked loads/stores, and masked
// loads read only lanes whose bit is set (kept in bounds by the caller).
#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    type V = [__m256; 2];
    // Four keys' scores (8 registers) plus a query vector and a broadcast; six output
    // dimensions (12 registers) plus a probability vector and a broadcast: no spill in
    // either inner loop (eight and sixteen would need 19 and 35 registers of 16).
    const SCORE_STEP: usize = 4;
    const PV_DIMS: usize = 6;
    /// Four 8 × 8 transposes, one per quarter (`m[r]` is rows `r`'s lanes 0..8 and 8..16):
    /// no trip through memory, and at most sixteen registers live at once.
    #[inline(always)]
    fn transpose16(self, m: [Self::V; 16]) -> [Self::V; 16] {
        // Loops, not closures: a closure would not inherit the caller's target features.
        let mut out = m;
        for (rows, half) in [(0, 0), (8, 0), (0, 1), (8, 1)] {
            let mut quarter = [m[0][0]; 8];
            for r in 0..8 {
                quarter[r] = m[rows + r][half];
            }
            // SAFETY: the token proves AVX2.
            let t = unsafe { transpose8(quarter) };
            // Rows 0..8 land in the columns' low vectors, rows 8..16 in their high ones;
            // lanes 8..16 of the rows are columns 8..16.
            for c in 0..8 {
                out[8 * half + c][rows / 8] = t[c];
            }
        }
        out
    }
    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        // SAFETY: token proves AVX2.
        unsafe { [_mm256_set1_ps(x); 2] }
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> Self::V {
        assert!(src.len() >= 16);
        // SAFETY: 16 floats in bounds (asserted); token proves AVX2.
        unsafe { [_mm256_loadu_ps(src.as_ptr()), _mm256_loadu_ps(src.as_ptr().add(8))] }
    }
    #[inline(always)]
    unsafe fn load_masked_ptr(self, src: *const f32, mask: u16) -> Self::V {
        // SAFETY: maskload reads only lanes whose mask is set, and those are readable (the
        // caller's contract); the pointer offset by 8 is only dereferenced for set lanes;
        // token proves AVX2.
        unsafe {
            let m0 = _mm256_castps_si256(mask8(mask));
            let m1 = _mm256_castps_si256(mask8(mask >> 8));
            [_mm256_maskload_ps(src, m0), _mm256_maskload_ps(src.wrapping_add(8), m1)]
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: Self::V) {
        assert!(dst.len() >= 16);
        // SAFETY: 16 floats in bounds (asserted); token proves AVX2.
        unsafe {
            _mm256_storeu_ps(dst.as_mut_ptr(), v[0]);
            _mm256_storeu_ps(dst.as_mut_ptr().add(8), v[1]);
        }
    }
    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], v: Self::V, mask: u16) {
        assert!(mask_fits(mask, dst.len()), "a masked store writes past its slice");
        // SAFETY: maskstore writes only lanes whose mask is set, all in bounds (asserted);
        // the pointer offset by 8 is only dereferenced for set lanes; token proves AVX2.
        unsafe {
            let m0 = _mm256_castps_si256(mask8(mask));
            let m1 = _mm256_castps_si256(mask8(mask >> 8));
            let p = dst.as_mut_ptr();
            _mm256_maskstore_ps(p, m0, v[0]);
            _mm256_maskstore_ps(p.wrapping_add(8), m1, v[1]);
        }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, src: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 16 readable floats; token proves AVX2.
        unsafe { [_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8))] }
    }
    #[inline(always)]
    fn fmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        // SAFETY: token proves FMA.
        unsafe { [_mm256_fmadd_ps(a[0], b[0], c[0]), _mm256_fmadd_ps(a[1], b[1], c[1])] }
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX.
        unsafe { [_mm256_mul_ps(a[0], b[0]), _mm256_mul_ps(a[1], b[1])] }
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX.
        unsafe { [_mm256_add_ps(a[0], b[0]), _mm256_add_ps(a[1], b[1])] }
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX.
        unsafe { [_mm256_sub_ps(a[0], b[0]), _mm256_sub_ps(a[1], b[1])] }
    }
    #[inline(always)]
    fn div(self, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX.
        unsafe { [_mm256_div_ps(a[0], b[0]), _mm256_div_ps(a[1], b[1])] }
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX.
        unsafe { [_mm256_max_ps(a[0], b[0]), _mm256_max_ps(a[1], b[1])] }
    }
    #[inline(always)]
    fn select(self, mask: u16, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: token proves AVX2.
        unsafe { [_mm256_blendv_ps(b[0], a[0], mask8(mask)), _mm256_blendv_ps(b[1], a[1], mask8(mask >> 8))] }
    }
    #[inline(always)]
    fn gt_mask(self, a: Self::V, b: Self::V) -> u16 {
        // SAFETY: token proves AVX.
        unsafe {
            let lo = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(a[0], b[0])) as u16;
            let hi = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(a[1], b[1])) as u16;
            lo | hi << 8
        }
    }
    #[inline(always)]
    fn reduce_max(self, a: Self::V) -> f32 {
        // SAFETY: token proves AVX.
        unsafe {
            let m = _mm256_max_ps(a[0], a[1]);
            let m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            let m1 = _mm_max_ss(m2, _mm_shuffle_ps(m2, m2, 1));
            _mm_cvtss_f32(m1)
        }
    }
    #[inline(always)]
    fn reduce_add(self, a: Self::V) -> f32 {
        // SAFETY: token proves AVX.
        unsafe {
            let s8 = _mm256_add_ps(a[0], a[1]);
            let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
            let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
            _mm_cvtss_f32(s1)
        }
    }
    #[inline(always)]
    fn exp(self, x: Self::V) -> Self::V {
        // SAFETY: token proves AVX2 + FMA.
        unsafe { [exp8(x[0]), exp8(x[1])] }
    }
}
