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

mod avx2;
mod avx512;
mod exp;
mod portable;

pub use avx2::Avx2;
pub use avx512::Avx512;
pub use exp::exp_portable;
pub use portable::Portable;

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
        // Values of many magnitudes, so that another order of the additions changes bits. Miri
        // (which runs the portable path's tests) interprets each operation: a few rounds there.
        for round in 0..if cfg!(miri) { 3 } else { 200 } {
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
        let steps = if cfg!(miri) { 64 } else { 4000 };
        let mut xs: Vec<f32> = (0..steps).map(|i| -90.0 + i as f32 * (178.0 / steps as f32)).collect();
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
