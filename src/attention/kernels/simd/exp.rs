//! The polynomial exponential: Cephes' constants and [`exp_portable`], which every `Lanes::exp` matches.

/// Upper clamp of [`exp_portable`]: keeps `n ≤ 127`, so `2ⁿ` is a normal float (the vector
/// versions leave it out: their contract stops at 88, see [`Lanes::exp`](super::Lanes::exp)).
const EXP_HI: f32 = 88.0;
/// Lower clamp: −126·ln 2 rounded up, the smallest input whose result is still a *normal*
/// float (`n = −126` with `r ≥ 0`, so `eʳ ≥ 1`). One ulp lower gives `r < 0` and a subnormal
/// result, and every masked lane of the dense routines (score −∞, clamped) would then take a
/// microcode assist in the scaling and in the multiply-adds after it.
pub(super) const EXP_LO: f32 = -87.336_54;
pub(super) const LOG2E: f32 = std::f32::consts::LOG2_E;
pub(super) const LN2_HI: f32 = 0.693_359_4;
pub(super) const LN2_LO: f32 = -2.121_944_4e-4;
pub(super) const P0: f32 = 1.987_569_1e-4;
pub(super) const P1: f32 = 1.398_199_9e-3;
pub(super) const P2: f32 = 8.333_452e-3;
pub(super) const P3: f32 = 4.166_579_6e-2;
pub(super) const P4: f32 = 1.666_666_5e-1;
pub(super) const P5: f32 = 0.5; // Cephes' 5.0000001201e-1 rounds to exactly 0.5 in f32

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::kernels::simd::{Avx512, Lanes};

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
}
