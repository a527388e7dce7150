//! The portable [`Lanes`]: plain `[f32; 16]` arrays (off x86-64 the AVX tokens forward to it).

use super::exp::exp_portable;
use super::Lanes;

/// Portable sixteen lanes: plain arrays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Portable;

impl Lanes for Portable {
    type V = [f32; 16];
    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        [x; 16]
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> Self::V {
        src[..16].try_into().expect("16 lanes")
    }
    #[inline(always)]
    unsafe fn load_masked_ptr(self, src: *const f32, mask: u16) -> Self::V {
        let mut v = [0.0; 16];
        for (i, x) in v.iter_mut().enumerate() {
            if mask >> i & 1 == 1 {
                // SAFETY: lane i's bit is set, so `src + i` is readable (the caller's contract).
                *x = unsafe { src.add(i).read() };
            }
        }
        v
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: Self::V) {
        dst[..16].copy_from_slice(&v);
    }
    #[inline(always)]
    fn store_masked(self, dst: &mut [f32], v: Self::V, mask: u16) {
        for (i, &x) in v.iter().enumerate() {
            if mask >> i & 1 == 1 {
                dst[i] = x;
            }
        }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, src: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 16 readable floats.
        unsafe { std::ptr::read_unaligned(src.cast::<[f32; 16]>()) }
    }
    #[inline(always)]
    fn fmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i].mul_add(b[i], c[i]))
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    fn div(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] / b[i])
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    fn select(self, mask: u16, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| if mask >> i & 1 == 1 { a[i] } else { b[i] })
    }
    #[inline(always)]
    fn gt_mask(self, a: Self::V, b: Self::V) -> u16 {
        (0..16).fold(0, |m, i| m | u16::from(a[i] > b[i]) << i)
    }
    #[inline(always)]
    fn reduce_max(self, a: Self::V) -> f32 {
        a.iter().copied().fold(f32::NEG_INFINITY, |m, x| if x > m { x } else { m })
    }
    #[inline(always)]
    fn reduce_add(self, a: Self::V) -> f32 {
        // Same tree as the vector versions: halves 8, 4, 2, 1.
        let mut v = a;
        let mut width = 8;
        while width >= 1 {
            for i in 0..width {
                v[i] += v[i + width];
            }
            width /= 2;
        }
        v[0]
    }
    #[inline(always)]
    fn exp(self, x: Self::V) -> Self::V {
        std::array::from_fn(|i| exp_portable(x[i]))
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod not_x86 {
    use super::super::{Avx2, Avx512};
    use super::*;
    macro_rules! forward_portable {
        ($t:ty) => {
            impl Lanes for $t {
                type V = [f32; 16];
                fn splat(self, x: f32) -> Self::V {
                    Portable.splat(x)
                }
                fn load(self, s: &[f32]) -> Self::V {
                    Portable.load(s)
                }
                unsafe fn load_masked_ptr(self, s: *const f32, m: u16) -> Self::V {
                    // SAFETY: forwarded contract.
                    unsafe { Portable.load_masked_ptr(s, m) }
                }
                fn store(self, d: &mut [f32], v: Self::V) {
                    Portable.store(d, v)
                }
                fn store_masked(self, d: &mut [f32], v: Self::V, m: u16) {
                    Portable.store_masked(d, v, m)
                }
                unsafe fn load_ptr(self, s: *const f32) -> Self::V {
                    // SAFETY: forwarded contract.
                    unsafe { Portable.load_ptr(s) }
                }
                fn fmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
                    Portable.fmadd(a, b, c)
                }
                fn mul(self, a: Self::V, b: Self::V) -> Self::V {
                    Portable.mul(a, b)
                }
                fn add(self, a: Self::V, b: Self::V) -> Self::V {
                    Portable.add(a, b)
                }
                fn sub(self, a: Self::V, b: Self::V) -> Self::V {
                    Portable.sub(a, b)
                }
                fn div(self, a: Self::V, b: Self::V) -> Self::V {
                    Portable.div(a, b)
                }
                fn max(self, a: Self::V, b: Self::V) -> Self::V {
                    Portable.max(a, b)
                }
                fn select(self, m: u16, a: Self::V, b: Self::V) -> Self::V {
                    Portable.select(m, a, b)
                }
                fn gt_mask(self, a: Self::V, b: Self::V) -> u16 {
                    Portable.gt_mask(a, b)
                }
                fn reduce_max(self, a: Self::V) -> f32 {
                    Portable.reduce_max(a)
                }
                fn reduce_add(self, a: Self::V) -> f32 {
                    Portable.reduce_add(a)
                }
                fn exp(self, x: Self::V) -> Self::V {
                    Portable.exp(x)
                }
            }
        };
    }
    forward_portable!(Avx512);
    forward_portable!(Avx2);
}
