//! Parity rules between a kernel and the reference, as used by the tests and the gates.
//!
//! * f32 kernels: [`max_abs`] against `math` within [`F32_ABS_TOL`] **and** the FlashAttention
//!   rule [`flash_rule`]: the kernel's error against the f64 reference is at most twice the
//!   error of an f32 run in the reference's own order ([`naive_f32`]), plus a floor of four f32
//!   ulps of the output's or values' scale ([`flash_floor`]) so that exact-in-f32 cases (error 0) do not
//!   demand bit-equality and the kernels' polynomial exponential has room (see there).
//! * `bf16`: within [`bf16_tolerance`], an error bound derived from rounding q, k, v and the
//!   probabilities to bf16.

use ndarray::{Array3, ArrayView3, Zip};

use super::AttnInputs;

/// Absolute tolerance of f32 kernels against `math`.
pub const F32_ABS_TOL: f64 = 1e-5;

/// Unit roundoff of bf16 (8 significant bits, round to nearest even): 2⁻⁸.
pub const BF16_UNIT_ROUNDOFF: f64 = 1.0 / 256.0;

/// Largest absolute difference between two f32 arrays of the same shape (∞ if the shapes
/// differ, NaN-aware: a NaN anywhere gives ∞).
///
/// ```
/// use ironforge::attention::kernels::parity::max_abs;
/// let a = ndarray::Array3::<f32>::zeros((1, 2, 2));
/// let mut b = a.clone();
/// b[[0, 1, 1]] = 0.25;
/// assert_eq!(max_abs(a.view(), b.view()), 0.25);
/// ```
pub fn max_abs(a: ArrayView3<'_, f32>, b: ArrayView3<'_, f32>) -> f64 {
    if a.shape() != b.shape() {
        return f64::INFINITY;
    }
    let mut m = 0.0f64;
    Zip::from(&a).and(&b).for_each(|&x, &y| {
        let d = (x as f64 - y as f64).abs();
        m = if d.is_nan() { f64::INFINITY } else { m.max(d) };
    });
    m
}

/// Largest absolute difference between an f32 array and an f64 one (∞ on shape mismatch or NaN).
pub fn max_abs_f64(a: ArrayView3<'_, f32>, b: ArrayView3<'_, f64>) -> f64 {
    if a.shape() != b.shape() {
        return f64::INFINITY;
    }
    let mut m = 0.0f64;
    Zip::from(&a).and(&b).for_each(|&x, &y| {
        let d = (x as f64 - y).abs();
        m = if d.is_nan() { f64::INFINITY } else { m.max(d) };
    });
    m
}

/// The reference algorithm in the reference's order, every intermediate in f32 and `f32::exp`:
/// the "same precision, obvious order" run of the FlashAttention rule.
pub fn naive_f32(inputs: &AttnInputs<'_>) -> Array3<f32> {
    let (h, l, d) = inputs.q.dim();
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = Array3::<f32>::zeros((h, l, d));
    let mut scores = Vec::with_capacity(l);
    for head in 0..h {
        for i in 0..l {
            scores.clear();
            for j in inputs.mask.row_columns(i) {
                let mut s = 0.0f32;
                for c in 0..d {
                    s += inputs.q[[head, i, c]] * inputs.k[[head, j, c]];
                }
                s *= scale;
                if let Some(b) = &inputs.bias {
                    s += b.at(i, j);
                }
                scores.push((j, s));
            }
            if scores.is_empty() {
                continue;
            }
            let max = scores.iter().map(|&(_, s)| s).fold(f32::NEG_INFINITY, f32::max);
            let denom: f32 = scores.iter().map(|&(_, s)| (s - max).exp()).sum();
            for &(j, s) in &scores {
                let p = (s - max).exp() / denom;
                for c in 0..d {
                    out[[head, i, c]] += p * inputs.v[[head, j, c]];
                }
            }
        }
    }
    out
}

/// The FlashAttention rule's floor: four f32 ulps (`4·f32::EPSILON`) of the larger of the
/// output scale and the values' scale, `max(1, max |ref|, max |v|)`.
///
/// Why the values' scale and four ulps: the naive run uses `f32::exp` (within an ulp) and the
/// kernels the polynomial exponential (within three, tested), so each softmax weight may differ
/// by about four ulps relative between the two; an output is a weighted average of values, and
/// where the weighted values cancel (an output near 0 from values near ±2), that difference shows
/// at the scale of the values, not of the output. The property test found such cases (e.g. one
/// value dimension, L = 25, every entry allowed, values up to 2: error 8.2e-7 against a naive
/// error of 2.3e-7). A kernel off by 0.1% is still over the allowance by orders of magnitude.
pub fn flash_floor(ref_f64: ArrayView3<'_, f64>, values: ArrayView3<'_, f32>) -> f64 {
    let scale = ref_f64.iter().fold(1.0f64, |m, &x| m.max(x.abs()));
    let scale = values.iter().fold(scale, |m, &x| m.max(f64::from(x).abs()));
    4.0 * f32::EPSILON as f64 * scale
}

/// The verdict of [`flash_rule`], with the numbers it compared.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FlashRule {
    /// max |kernel − f64 reference|.
    pub err_kernel: f64,
    /// max |naive f32 − f64 reference|.
    pub err_naive: f64,
    /// The absolute floor added to the allowance ([`flash_floor`]).
    pub floor: f64,
    /// `err_kernel ≤ 2 · err_naive + floor`.
    pub passed: bool,
}

/// FlashAttention's rule: the kernel may be at most twice as wrong (against f64) as the naive
/// f32 run, plus [`flash_floor`].
///
/// ```
/// use ironforge::attention::kernels::parity::flash_rule;
/// let r64 = ndarray::Array3::<f64>::from_elem((1, 1, 2), 0.5);
/// let values = ndarray::Array3::<f32>::from_elem((1, 1, 2), 0.5);
/// let naive = ndarray::Array3::<f32>::from_elem((1, 1, 2), 0.5 + 1e-6);
/// let good = ndarray::Array3::<f32>::from_elem((1, 1, 2), 0.5 + 1.5e-6);
/// let bad = ndarray::Array3::<f32>::from_elem((1, 1, 2), 0.5 + 5e-6);
/// assert!(flash_rule(good.view(), naive.view(), r64.view(), values.view()).passed);
/// assert!(!flash_rule(bad.view(), naive.view(), r64.view(), values.view()).passed);
/// ```
pub fn flash_rule(
    out: ArrayView3<'_, f32>,
    ref_f32_naive: ArrayView3<'_, f32>,
    ref_f64: ArrayView3<'_, f64>,
    values: ArrayView3<'_, f32>,
) -> FlashRule {
    let err_kernel = max_abs_f64(out, ref_f64);
    let err_naive = max_abs_f64(ref_f32_naive, ref_f64);
    let floor = flash_floor(ref_f64, values);
    FlashRule { err_kernel, err_naive, floor, passed: err_kernel <= 2.0 * err_naive + floor }
}

/// The documented tolerance of the `bf16` kernel on these inputs.
///
/// With `u` = 2⁻⁸: every product `q·k` of bf16-rounded factors is off by at most `(2u + u²)`
/// relative, so every score moves by at most `δ = (2u + u²) · max_i Σ_c |q_ic| · max |k| / √D`;
/// softmax weights then move by at most `e^{2δ} − 1` in total variation; rounding the weights
/// and the values to bf16 adds `2u + u²` relative. Hence
/// `|Δout| ≤ max|v| · (e^{2δ} − 1 + 2u + u²)`, plus [`F32_ABS_TOL`] for the f32 arithmetic.
///
/// ```
/// use ironforge::attention::{kernels::parity::bf16_tolerance, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 2, 4));
/// let mask = Mask::full(2);
/// let tol = bf16_tolerance(&AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None });
/// assert!(tol > 0.007 && tol < 0.05);
/// ```
pub fn bf16_tolerance(inputs: &AttnInputs<'_>) -> f64 {
    let u = BF16_UNIT_ROUNDOFF;
    let d = inputs.q.dim().2.max(1);
    let max_abs_of = |a: &ArrayView3<'_, f32>| a.iter().fold(0.0f64, |m, &x| m.max((x as f64).abs()));
    let q_row_l1 = inputs
        .q
        .outer_iter()
        .flat_map(|h| h.outer_iter().map(|r| r.iter().map(|&x| (x as f64).abs()).sum::<f64>()).collect::<Vec<_>>())
        .fold(0.0f64, f64::max);
    let delta = (2.0 * u + u * u) * q_row_l1 * max_abs_of(&inputs.k) / (d as f64).sqrt();
    max_abs_of(&inputs.v) * ((2.0 * delta).exp() - 1.0 + 2.0 * u + u * u) + F32_ABS_TOL
}
