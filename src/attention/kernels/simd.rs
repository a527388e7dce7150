//! Sixteen-lane f32 vectors behind one trait, with a polynomial `exp`, for the fast kernels.
//!
//! Three implementations: [`Avx512`] (one `__m512`), [`Avx2`] (two `__m256` with FMA) and
//! [`Portable`] (`[f32; 16]`). A value of `Avx512` or `Avx2` is a *token*: it can only be made
//! by runtime detection (`Avx512::new()` returns `None` on CPUs without the
//! features), so holding one proves the instructions exist. Kernels are written once, generic
//! over [`Lanes`], with every method `#[inline(always)]`, and instantiated inside a
//! `#[target_feature]` entry point so the intrinsics inline.
//!
//! The exponential is Cephes' `expf` scheme (Cody–Waite reduction by ln 2, degree-6
//! polynomial, exponent bits for 2ⁿ), the same arithmetic in every implementation, so the
//! three give bit-identical results: see [`exp_portable`].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Which instruction set a fast kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isa {
    /// AVX-512 F (16 lanes in one register).
    Avx512,
    /// AVX2 + FMA (16 lanes in two registers).
    Avx2,
    /// Plain Rust, any CPU.
    Portable,
}

impl Isa {
    /// Every instruction set, best first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

    /// The best instruction set this CPU has (under [`MAX_ISA_VAR`]).
    ///
    /// ```
    /// use ironforge::attention::kernels::simd::Isa;
    /// assert!(Isa::detect().is_available());
    /// ```
    pub fn detect() -> Isa {
        if Avx512::new().is_some() {
            Isa::Avx512
        } else if Avx2::new().is_some() {
            Isa::Avx2
        } else {
            Isa::Portable
        }
    }

    /// Whether this CPU can run `self` and [`MAX_ISA_VAR`] allows it.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Avx512 => Avx512::new().is_some(),
            Isa::Avx2 => Avx2::new().is_some(),
            Isa::Portable => true,
        }
    }

    /// Every instruction set this CPU can run (under [`MAX_ISA_VAR`]), best first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// The instruction set named `name` (as [`Isa::name`] spells it).
    ///
    /// ```
    /// use ironforge::attention::kernels::simd::Isa;
    /// assert_eq!(Isa::parse("avx2"), Some(Isa::Avx2));
    /// assert_eq!(Isa::parse("sse"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == name)
    }

    /// The ceiling [`MAX_ISA_VAR`] sets through `lookup` (`None`: unset, no ceiling), or an
    /// error naming the variable and its value.
    ///
    /// ```
    /// use ironforge::attention::kernels::simd::Isa;
    /// assert_eq!(Isa::ceiling_from(|_| Some("avx2".into())), Ok(Some(Isa::Avx2)));
    /// assert_eq!(Isa::ceiling_from(|_| None), Ok(None));
    /// assert!(Isa::ceiling_from(|_| Some("avx3".into())).unwrap_err().contains("IRONFORGE_MAX_ISA"));
    /// ```
    pub fn ceiling_from(lookup: impl FnOnce(&str) -> Option<String>) -> Result<Option<Isa>, String> {
        match lookup(MAX_ISA_VAR) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => Isa::parse(&v).map(Some).ok_or_else(|| {
                format!("{MAX_ISA_VAR}={v:?} is not an instruction set; accepted: avx512, avx2, portable")
            }),
        }
    }

    /// [`Isa::ceiling_from`] the environment. Entry points (the CLI, the gate harness through
    /// `AttentionConfig::from_env`, the benchmarks) call it to refuse a bad value; the kernels
    /// read the ceiling through [`Isa::allowed`], which treats a bad value as no ceiling.
    pub fn ceiling_from_env() -> Result<Option<Isa>, String> {
        match std::env::var(MAX_ISA_VAR) {
            Err(std::env::VarError::NotUnicode(raw)) => {
                Err(format!("{MAX_ISA_VAR}={} is not UTF-8", raw.to_string_lossy()))
            }
            Ok(v) => Isa::ceiling_from(|_| Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
        }
    }

    /// Whether the process may run `self`: at or below the ceiling [`MAX_ISA_VAR`] sets (read
    /// once per process). Says nothing about the CPU: see [`Isa::is_available`].
    pub fn allowed(self) -> bool {
        static CEILING: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        self.at_or_below(*CEILING.get_or_init(|| Isa::ceiling_from_env().ok().flatten().unwrap_or(Isa::Avx512)))
    }

    /// Whether a process capped at `ceiling` may run `self` (`Portable` ≤ `Avx2` ≤ `Avx512`).
    ///
    /// ```
    /// use ironforge::attention::kernels::simd::Isa;
    /// assert!(Isa::Avx2.at_or_below(Isa::Avx2) && Isa::Portable.at_or_below(Isa::Avx2));
    /// assert!(!Isa::Avx512.at_or_below(Isa::Avx2));
    /// ```
    pub fn at_or_below(self, ceiling: Isa) -> bool {
        // `Isa::ALL` lists the best first, and the derived order follows it.
        self >= ceiling
    }
}

/// Environment variable capping the instruction sets every engine uses (`avx512`, `avx2` or
/// `portable`): `IRONFORGE_MAX_ISA=avx2` runs on an AVX-512 machine what an AVX2-only machine
/// runs (the attention kernels, the model's layer norm, the bf16 paths and the motif census),
/// so those paths can be tested, gated and benchmarked anywhere.
pub const MAX_ISA_VAR: &str = "IRONFORGE_MAX_ISA";

/// Number of lanes of every [`Lanes`] vector.
pub const LANES: usize = 16;

/// The largest [`Lanes::SCORE_STEP`].
pub const MAX_SCORE_STEP: usize = 8;

/// Whether every lane whose bit is set in `mask` is below `len`.
#[inline(always)]
fn mask_fits(mask: u16, len: usize) -> bool {
    (16 - mask.leading_zeros() as usize) <= len
}

/// Sixteen f32 lanes. Lane masks are `u16` (bit `i` = lane `i`).
pub trait Lanes: Copy {
    /// The vector type.
    type V: Copy;
    /// Keys whose scores one step of the one-row-per-lane routines (`lane_rows.rs`) keeps in
    /// registers, at most [`MAX_SCORE_STEP`] and a power of two dividing 16: with the key
    /// element broadcast and the queries' vector of one dimension, they must fit the register
    /// file (32 on AVX-512; a 16-lane vector takes two of AVX2's 16).
    const SCORE_STEP: usize = MAX_SCORE_STEP;
    /// Output dimensions one pass of those routines' `P·V` accumulates in registers (the
    /// others wait for the next pass over the chunk's probabilities; each accumulator sees the
    /// same multiply-adds in the same order either way).
    const PV_DIMS: usize = LANES;
    /// All lanes `x`.
    fn splat(self, x: f32) -> Self::V;
    /// Sixteen floats from `src[0..16]`.
    fn load(self, src: &[f32]) -> Self::V;
    /// Lanes whose bit is set read from `src`, the others are 0 and are not read: `src` may
    /// be shorter than 16 if the missing lanes' bits are clear.
    ///
    /// # Panics
    /// If a set bit's lane is past the end of `src`.
    ///
    /// ```
    /// use ironforge::attention::kernels::simd::{Lanes, Portable};
    /// let v = Portable.load_masked(&[1.0, 2.0, 3.0], 0b101);
    /// assert_eq!(v[..4], [1.0, 0.0, 3.0, 0.0]);
    /// ```
    #[inline(always)]
    fn load_masked(self, src: &[f32], mask: u16) -> Self::V {
        assert!(mask_fits(mask, src.len()), "a masked load reads past its slice");
        // SAFETY: every lane with a set bit is below `src.len()` (asserted).
        unsafe { self.load_masked_ptr(src.as_ptr(), mask) }
    }
    /// [`Lanes::load_masked`] without its bounds check, for inner loops whose bounds the
    /// caller has established once (the check costs the hot loops about 15%).
    ///
    /// # Safety
    /// `src + i` must be a readable float for every lane `i` whose bit is set in `mask`.
    unsafe fn load_masked_ptr(self, src: *const f32, mask: u16) -> Self::V;
    /// Stores sixteen floats to `dst[0..16]`.
    fn store(self, dst: &mut [f32], v: Self::V);
    /// Stores the lanes whose bit is set to `dst` (the others are not written): `dst` may be
    /// shorter than 16 if the missing lanes' bits are clear.
    fn store_masked(self, dst: &mut [f32], v: Self::V, mask: u16);
    /// Sixteen floats from `src` without a bounds check (for inner loops whose bounds the
    /// caller has checked once).
    ///
    /// # Safety
    /// `src .. src + 16` must be readable floats.
    unsafe fn load_ptr(self, src: *const f32) -> Self::V;
    /// `a * b + c` (fused).
    fn fmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a * b`.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a / b` (correctly rounded, lane by lane).
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum (`a` when either is NaN is not relied on).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lanes of `a` whose bit is set, `b` elsewhere.
    fn select(self, mask: u16, a: Self::V, b: Self::V) -> Self::V;
    /// The lanes where `a > b` (ordered: false when either is NaN), as a lane mask.
    fn gt_mask(self, a: Self::V, b: Self::V) -> u16;
    /// Horizontal maximum.
    fn reduce_max(self, a: Self::V) -> f32;
    /// Horizontal sum in a fixed order (pairwise halves).
    fn reduce_add(self, a: Self::V) -> f32;
    /// Lane `e` of the result is `reduce_add(m[e])`, bit for bit (the same pairwise halves).
    /// The default reduces each vector; AVX-512 reduces all sixteen together by a tree of
    /// shuffles (about two shuffles and one addition per vector instead of four of each).
    /// A loop, not `array::from_fn`: a closure does not inherit its caller's target features,
    /// so the intrinsics inside would become calls (on AVX2 that made every DAG-mask kernel
    /// slower than `math`).
    #[inline(always)]
    fn reduce_add16(self, m: [Self::V; 16]) -> Self::V {
        let mut sums = [0.0f32; 16];
        for (s, &v) in sums.iter_mut().zip(&m) {
            *s = self.reduce_add(v);
        }
        self.load(&sums)
    }
    /// The polynomial exponential of every lane, bit for bit [`exp_portable`] for every
    /// `x ≤ 88` (and −∞); larger arguments are outside the contract. Every caller passes a
    /// softmax argument `s − max ≤ 0` (NaN where a score was NaN, which the callers guard
    /// separately), so the vector versions clamp only from below: the upper clamp was one
    /// operation per exponential that never changed a value.
    fn exp(self, x: Self::V) -> Self::V;
    /// The 16 × 16 transpose: lane `r` of vector `c` of the result is lane `c` of vector `r`
    /// of `m`. The default goes through memory; AVX-512 shuffles in registers.
    #[inline(always)]
    fn transpose16(self, m: [Self::V; 16]) -> [Self::V; 16] {
        let mut rows = [[0.0f32; 16]; 16];
        for (row, &v) in rows.iter_mut().zip(&m) {
            self.store(row, v);
        }
        let mut out = m;
        for (c, o) in out.iter_mut().enumerate() {
            *o = self.load(&std::array::from_fn::<f32, 16, _>(|r| rows[r][c]));
        }
        out
    }
}

/// Upper clamp of [`exp_portable`]: keeps `n ≤ 127`, so `2ⁿ` is a normal float (the vector
/// versions leave it out: their contract stops at 88, see [`Lanes::exp`]).
const EXP_HI: f32 = 88.0;
/// Lower clamp: −126·ln 2 rounded up, the smallest input whose result is still a *normal*
/// float (`n = −126` with `r ≥ 0`, so `eʳ ≥ 1`). One ulp lower gives `r < 0` and a subnormal
/// result, and every masked lane of the dense routines (score −∞, clamped) would then take a
/// microcode assist in the scaling and in the multiply-adds after it.
const EXP_LO: f32 = -87.336_54;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const P0: f32 = 1.987_569_1e-4;
const P1: f32 = 1.398_199_9e-3;
const P2: f32 = 8.333_452e-3;
const P3: f32 = 4.166_579_6e-2;
const P4: f32 = 1.666_666_5e-1;
const P5: f32 = 0.5; // Cephes' 5.0000001201e-1 rounds to exactly 0.5 in f32

/// The kernels' exponential for one float: `x` clamped to [−87.34, 88] (so the result is
/// never subnormal), `n = round(x·log₂e)` (ties to even), `r = x − n·ln2` (two-part ln 2,
/// fused), `eʳ ≈ 1 + r + r²·P(r)` (Cephes' degree-5 `P`), times 2ⁿ (exact: `n` lies in
/// [−126, 127]). Every step is one rounded f32 operation or one fused multiply-add, in the
/// same order as the vector versions (AVX-512 scales with `vscalefps`, the others through the
/// exponent bits: the same exact product), so all implementations agree bit for bit.
/// `exp(0) = 1` exactly; the relative error is within a few ulp of `f32::exp` (tested).
///
/// ```
/// use ironforge::attention::kernels::simd::exp_portable;
/// assert_eq!(exp_portable(0.0), 1.0);
/// assert!((exp_portable(-1.0) - (-1.0f32).exp()).abs() < 1e-7);
/// ```
pub fn exp_portable(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * LOG2E).round_ties_even();
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let mut y = P0.mul_add(r, P1);
    y = y.mul_add(r, P2);
    y = y.mul_add(r, P3);
    y = y.mul_add(r, P4);
    y = y.mul_add(r, P5);
    let z = r * r;
    y = y.mul_add(z, r);
    y += 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

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

/// AVX-512 F token (one `__m512` per vector).
#[derive(Debug, Clone, Copy)]
pub struct Avx512 {
    _private: (),
}

impl Avx512 {
    /// The token, if this CPU has AVX-512 F and [`MAX_ISA_VAR`] allows it.
    pub fn new() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") && Isa::Avx512.allowed() {
            return Some(Self { _private: () });
        }
        None
    }
}

/// AVX2 + FMA token (two `__m256` per vector).
#[derive(Debug, Clone, Copy)]
pub struct Avx2 {
    _private: (),
}

impl Avx2 {
    /// The token, if this CPU has AVX2 and FMA and [`MAX_ISA_VAR`] allows them.
    pub fn new() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && Isa::Avx2.allowed() {
            return Some(Self { _private: () });
        }
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    // SAFETY (for every `unsafe` block in this impl): an `Avx512` value exists only if
    // `is_x86_feature_detected!("avx512f")` returned true, so the AVX-512 F intrinsics are
    // supported; loads and stores go through slices whose lengths are checked first (or, for
    // masked loads, only lanes whose bit is set are read, and the caller guarantees those
    // lanes are inside the slice — checked by the debug assertion).
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

    /// The 8 × 8 transpose of `r` (vector `c` of the result holds element `c` of every input),
    /// by the usual three rounds of in-lane unpacks, in-lane shuffles and 128-bit permutes.
    ///
    /// # Safety
    /// The CPU must support AVX2 (guaranteed by holding an [`Avx2`] token).
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
    #[inline(always)]
    unsafe fn mask8(bits: u16) -> __m256 {
        // SAFETY: caller guarantees AVX2.
        unsafe {
            let b = _mm256_set1_epi32(bits as i32);
            let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, sel), sel))
        }
    }

    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        // SAFETY: caller holds an Avx2 token (AVX2 + FMA).
        unsafe {
            let x = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO));
            let n =
                _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
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
}

#[cfg(not(target_arch = "x86_64"))]
mod not_x86 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn transposed<L: Lanes>(lanes: L) -> Vec<f32> {
        let mut m = [lanes.splat(0.0); 16];
        for (r, v) in m.iter_mut().enumerate() {
            *v = lanes.load(&std::array::from_fn::<f32, 16, _>(|c| (r * 16 + c) as f32));
        }
        let mut out = vec![0.0; 256];
        for (c, v) in lanes.transpose16(m).into_iter().enumerate() {
            lanes.store(&mut out[c * 16..], v);
        }
        out
    }

    #[test]
    fn transpose16_is_the_transpose_on_every_instruction_set() {
        let expected: Vec<f32> = (0..256).map(|i| ((i % 16) * 16 + i / 16) as f32).collect();
        assert_eq!(transposed(Portable), expected);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = Avx512::new() {
                assert_eq!(transposed(t), expected);
            }
            if let Some(t) = Avx2::new() {
                assert_eq!(transposed(t), expected);
            }
        }
    }

    fn check_reduce_add16<L: Lanes>(lanes: L) {
        // Values of many magnitudes, so that another order of the additions changes bits.
        for round in 0..200 {
            let m: [L::V; 16] = std::array::from_fn(|e| {
                lanes.load(&std::array::from_fn::<f32, 16, _>(|c| {
                    let i = (round * 256 + e * 16 + c) as f32;
                    (i * 0.618).sin() * 10f32.powi(((round + e * 3 + c * 7) % 9) as i32 - 4)
                }))
            });
            let mut got = [0.0f32; 16];
            lanes.store(&mut got, lanes.reduce_add16(m));
            for (e, &g) in got.iter().enumerate() {
                assert_eq!(g.to_bits(), lanes.reduce_add(m[e]).to_bits(), "round {round}, vector {e}");
            }
        }
    }

    #[test]
    fn reduce_add16_sums_each_vector_like_reduce_add() {
        check_reduce_add16(Portable);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = Avx512::new() {
                check_reduce_add16(t);
            }
            if let Some(t) = Avx2::new() {
                check_reduce_add16(t);
            }
        }
    }

    fn check_exp_agrees<L: Lanes>(lanes: L)
    where
        L::V: Copy,
    {
        // The contract's whole range, x ≤ 88 (softmax arguments are ≤ 0).
        let mut xs: Vec<f32> = (0..4000).map(|i| -90.0 + i as f32 * 0.0445).collect();
        xs.extend([0.0, -0.0, -1e-8, 1e-8, -87.0, 88.0, -100.0, f32::NEG_INFINITY]);
        while !xs.len().is_multiple_of(16) {
            xs.push(-0.5);
        }
        for chunk in xs.chunks(16) {
            let mut got = [0.0f32; 16];
            lanes.store(&mut got, lanes.exp(lanes.load(chunk)));
            for (g, &x) in got.iter().zip(chunk) {
                assert_eq!(g.to_bits(), exp_portable(x).to_bits(), "exp({x})");
            }
        }
    }

    #[test]
    fn exp_portable_is_accurate() {
        for i in 0..20000 {
            let x = -87.0 + i as f32 * 0.00435;
            let got = exp_portable(x) as f64;
            let want = (x as f64).exp();
            let rel = ((got - want) / want).abs();
            assert!(rel < 3.0 * f32::EPSILON as f64, "exp({x}) = {got}, want {want}, rel {rel}");
        }
        assert_eq!(exp_portable(0.0), 1.0);
        assert!(exp_portable(f32::NEG_INFINITY) < 1e-37);
    }

    /// A subnormal result (or input to the multiply-adds after it) costs a microcode assist on
    /// x86: the clamped tail must stay normal.
    #[test]
    fn exp_never_returns_a_subnormal() {
        let mut xs: Vec<f32> = (0..2000).map(|i| -87.4 + i as f32 * 1e-4).collect();
        xs.extend([EXP_LO, -88.0, -100.0, -1e30, f32::NEG_INFINITY, f32::MIN]);
        while !xs.len().is_multiple_of(16) {
            xs.push(f32::NEG_INFINITY);
        }
        for &x in &xs {
            let y = exp_portable(x);
            assert!(y.is_normal(), "exp({x}) = {y:e} is not a normal float");
        }
        // The vector versions agree bit for bit (`every_isa_matches_portable_exp_bit_for_bit`
        // covers the sweep); check this one too.
        if let Some(t) = Avx512::new() {
            for chunk in xs.chunks(16) {
                let mut got = [0.0f32; 16];
                t.store(&mut got, t.exp(t.load(chunk)));
                assert!(got.iter().all(|y| y.is_normal()), "AVX-512 exp of {chunk:?} = {got:?}");
            }
        }
    }

    #[test]
    fn every_isa_matches_portable_exp_bit_for_bit() {
        check_exp_agrees(Portable);
        if let Some(t) = Avx512::new() {
            check_exp_agrees(t);
        }
        if let Some(t) = Avx2::new() {
            check_exp_agrees(t);
        }
    }

    fn check_ops<L: Lanes>(l: L) {
        let a: Vec<f32> = (0..16).map(|i| i as f32 * 0.37 - 2.0).collect();
        let b: Vec<f32> = (0..16).map(|i| 1.5 - i as f32 * 0.11).collect();
        let (va, vb) = (l.load(&a), l.load(&b));
        let mut out = [0.0f32; 16];
        l.store(&mut out, l.select(0b1010_1010_1010_1010, va, vb));
        for i in 0..16 {
            assert_eq!(out[i], if i % 2 == 1 { a[i] } else { b[i] });
        }
        l.store(&mut out, l.load_masked(&a[..5], 0b10101));
        assert_eq!(&out[..6], &[a[0], 0.0, a[2], 0.0, a[4], 0.0]);
        assert_eq!(l.reduce_max(va), a[15]);
        assert_eq!(l.reduce_add(va), Portable.reduce_add(a.clone().try_into().unwrap()));
        l.store(&mut out, l.fmadd(va, vb, va));
        for i in 0..16 {
            assert_eq!(out[i], a[i].mul_add(b[i], a[i]));
        }
    }

    #[test]
    fn every_isa_agrees_on_basic_ops() {
        check_ops(Portable);
        if let Some(t) = Avx512::new() {
            check_ops(t);
        }
        if let Some(t) = Avx2::new() {
            check_ops(t);
        }
    }
}
