//! bf16 rounding: floats to bf16 bits (one, a slice in place, two AVX-512 vectors) and back.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// `x` rounded to bf16 (nearest, ties to even; a NaN stays a quiet NaN): the bits of
/// `half::bf16::from_f32(x)` without its branches on the rounding bits.
#[inline]
pub(super) fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        (b >> 16) as u16 | 0x40
    } else {
        ((b + 0x7fff + (b >> 16 & 1)) >> 16) as u16
    }
}

pub(super) fn to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Rounds every element to the nearest bf16 (ties to even; a NaN stays a quiet NaN), kept as
/// f32: the bits of [`bf16_bits`] widened, without a branch, so the loop vectorizes (sixteen
/// lanes where the CPU has AVX-512 F).
pub(in crate::attention::kernels) fn round_to_bf16(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::attention::kernels::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F.
        return unsafe { round_to_bf16_avx512(xs) };
    }
    round_each(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn round_to_bf16_avx512(xs: &mut [f32]) {
    round_each(xs)
}

#[inline(always)]
fn round_each(xs: &mut [f32]) {
    for x in xs {
        let b = x.to_bits();
        let nearest = b.wrapping_add(0x7fff + (b >> 16 & 1));
        let quiet_nan = b | 0x0040_0000;
        let r = if b & 0x7fff_ffff > 0x7f80_0000 { quiet_nan } else { nearest };
        *x = f32::from_bits(r & 0xffff_0000);
    }
}

/// Rounds `lo` and `hi` to bf16 (`VCVTNE2PS2BF16`) into `dst[..16]` and `dst[16..32]`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) fn store_bf16_pair(dst: &mut [u16], lo: __m512, hi: __m512) {
    assert!(dst.len() >= 32, "32 bf16 slots");
    let pb = _mm512_cvtne2ps_pbh(hi, lo);
    // SAFETY: 32 u16 = 64 bytes in bounds (checked); same-size transmute.
    unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), std::mem::transmute::<__m512bh, __m512i>(pb)) };
}

#[cfg(test)]
mod tests {
    use half::bf16;

    use super::*;

    /// Both branch-free roundings give `half`'s bits: ties both ways, the largest finite values
    /// (rounding to ∞), subnormals, signed zeros, infinities and NaNs.
    #[test]
    fn bf16_bits_round_like_half() {
        let mut xs: Vec<f32> = vec![0.0, -0.0, 1.0, -1.5, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -1e-40];
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001)]);
        // Exact ties (low half 0x8000) with even and odd upper halves, and their neighbours.
        for hi in [0x3f80u32, 0x3f81, 0x7f7f, 0x0000, 0x8001] {
            for lo in [0x7fffu32, 0x8000, 0x8001, 0xffff] {
                xs.push(f32::from_bits(hi << 16 | lo));
            }
        }
        let mut state = 0x9E37_79B9u32;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            xs.push(f32::from_bits(state));
        }
        let mut widened = xs.clone();
        round_to_bf16(&mut widened);
        for (x, w) in xs.into_iter().zip(widened) {
            let want = bf16::from_f32(x).to_bits();
            assert_eq!(bf16_bits(x), want, "{x:e} = {:#010x}", x.to_bits());
            assert_eq!(w.to_bits(), (want as u32) << 16, "round_to_bf16({x:e}) = {:#010x}", x.to_bits());
        }
    }
}
