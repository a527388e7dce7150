//! Normalisation: the z-scores of the input feature columns and the residual layer norm, each
//! with an AVX-512 build of the same f64 operations in the same order (bit-identical, tested).

use ndarray::{Array2, ArrayView2};

use super::{HIDDEN, LN_EPS};

/// Z-scores each column over the rows (f64 statistics, `(x − mean) · (1 / std)`); constant
/// columns become 0.
///
/// ```
/// let x = ndarray::array![[1.0f32, 5.0], [3.0, 5.0]];
/// let z = ironforge::attention::model::normalise_columns(x.view());
/// assert_eq!(z, ndarray::array![[-1.0f32, 0.0], [1.0, 0.0]]);
/// ```
pub fn normalise_columns(x: ArrayView2<'_, f32>) -> Array2<f32> {
    let (rows, cols) = x.dim();
    let x = x.as_standard_layout();
    let z = zscore_columns(x.as_slice().expect("standard layout"), cols);
    Array2::from_shape_vec((rows, cols), z).expect("rows × cols values")
}

/// [`normalise_columns`] of a row-major `[rows, cols]` slice, on flat slices: row-major sweeps
/// with one accumulator per column (the same sums, in the same order, as walking each column).
pub(super) fn zscore_columns(x: &[f32], cols: usize) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if crate::attention::kernels::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F, the only feature the entry enables.
        return unsafe { zscore_columns_avx512(x, cols) };
    }
    zscore_columns_body(x, cols)
}

/// [`zscore_columns`] compiled for AVX-512: the same f64 operations lane by lane (Rust never
/// fuses or reorders them), eight to a register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn zscore_columns_avx512(x: &[f32], cols: usize) -> Vec<f32> {
    zscore_columns_body(x, cols)
}

#[inline(always)]
fn zscore_columns_body(x: &[f32], cols: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    let n = (x.len() / cols) as f64;
    let mut mean = vec![0.0f64; cols];
    for row in x.chunks_exact(cols) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0f64; cols];
    for row in x.chunks_exact(cols) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    // 1 / std, or 0 for a constant column (whose z-scores are then exactly 0).
    let scale: Vec<f64> = var
        .iter()
        .zip(&mean)
        .map(|(&s, &m)| {
            let sd = (s / n).sqrt();
            if sd > 1e-12 * m.abs().max(1.0) {
                1.0 / sd
            } else {
                0.0
            }
        })
        .collect();
    let mut out = vec![0.0f32; x.len()];
    for (o, row) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        for (((o, &v), &m), &k) in o.iter_mut().zip(row).zip(&mean).zip(&scale) {
            *o = ((v as f64 - m) * k) as f32;
        }
    }
    out
}

/// Sum in f64 of `f(v)` over a row, in four interleaved partial sums (element `i` into sum
/// `i mod 4`, then `(s0 + s1) + (s2 + s3)`): a fixed order, without one long chain of
/// dependent additions.
#[inline(always)]
fn sum_f64(row: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut s = [0.0f64; 4];
    let mut chunks = row.chunks_exact(4);
    for c in &mut chunks {
        for (s, &v) in s.iter_mut().zip(c) {
            *s += f(v);
        }
    }
    for (s, &v) in s.iter_mut().zip(chunks.remainder()) {
        *s += f(v);
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `H = LayerNorm(H + O)` for every row (`h`, `o` row-major, rows of [`HIDDEN`]).
pub(super) fn residual_layer_norm(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    #[cfg(target_arch = "x86_64")]
    if crate::attention::kernels::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F, the only feature the entry enables.
        return unsafe { residual_layer_norm_avx512(h, o, gamma, beta) };
    }
    residual_layer_norm_body(h, o, gamma, beta)
}

/// [`residual_layer_norm`] for AVX-512 machines: the same f64 operations in the same order,
/// the row statistics summed with explicit 4-lane vectors ([`row_moments_avx`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn residual_layer_norm_avx512(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    // Eight rows at a time: first their sums and statistics, then their normalisation, so that
    // the rows' square roots and divisions overlap instead of each row's normalisation waiting
    // for its own (the same operations per row, in the same order).
    for (rows, orows) in h.chunks_mut(LN_ROWS * HIDDEN).zip(o.chunks(LN_ROWS * HIDDEN)) {
        let mut moments = [(0.0, 0.0); LN_ROWS];
        for ((row, orow), m) in rows.chunks_exact_mut(HIDDEN).zip(orows.chunks_exact(HIDDEN)).zip(&mut moments) {
            for (x, &y) in row.iter_mut().zip(orow) {
                *x += y;
            }
            // SAFETY: this function runs only where AVX-512 F (and so AVX) is available.
            *m = unsafe { row_moments_avx(row) };
        }
        for (row, &(mean, inv)) in rows.chunks_exact_mut(HIDDEN).zip(&moments) {
            normalise_row(row, mean, inv, gamma, beta);
        }
    }
}

/// Rows whose statistics [`residual_layer_norm_avx512`] computes before normalising them.
#[cfg(target_arch = "x86_64")]
const LN_ROWS: usize = 8;

#[inline(always)]
fn residual_layer_norm_body(h: &mut [f32], o: &[f32], gamma: &[f32; HIDDEN], beta: &[f32; HIDDEN]) {
    for (row, orow) in h.chunks_exact_mut(HIDDEN).zip(o.chunks_exact(HIDDEN)) {
        for (x, &y) in row.iter_mut().zip(orow) {
            *x += y;
        }
        layer_norm_row(row, gamma, beta);
    }
}

/// Layer norm of one row in place (statistics and the affine step in f64).
#[inline(always)]
fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32]) {
    let (mean, inv) = row_moments(row);
    normalise_row(row, mean, inv, gamma, beta);
}

/// The mean of a row and `1 / √(var + ε)`, its population variance's, in f64.
#[inline(always)]
fn row_moments(row: &[f32]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = sum_f64(row, |v| v as f64) / n;
    let var = sum_f64(row, |v| (v as f64 - mean).powi(2)) / n;
    (mean, 1.0 / (var + LN_EPS).sqrt())
}

/// `((v − mean) · inv) · γ + β` for every value of a row, in f64.
#[inline(always)]
fn normalise_row(row: &mut [f32], mean: f64, inv: f64, gamma: &[f32], beta: &[f32]) {
    for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (((*v as f64 - mean) * inv) * g as f64 + b as f64) as f32;
    }
}

/// [`row_moments`] of a row whose length is a multiple of 4, bit for bit: lane `k` of one
/// 4 × f64 vector is [`sum_f64`]'s partial sum `k`. The compiler vectorised the portable sums
/// two lanes at a time with a shuffle per pair of values; one vector per four values made the
/// layer norm about twice as fast.
///
/// # Safety
/// The CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn row_moments_avx(row: &[f32]) -> (f64, f64) {
    use std::arch::x86_64::*;
    debug_assert_eq!(row.len() % 4, 0);
    let n = row.len() as f64;
    // SAFETY: AVX is available (the caller's contract); each load reads the four values of one
    // `chunks_exact(4)` chunk.
    let (mean, var) = unsafe {
        let mut sum = _mm256_setzero_pd();
        for c in row.chunks_exact(4) {
            sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr())));
        }
        let mean = sum_lanes(sum) / n;
        let (centre, mut squares) = (_mm256_set1_pd(mean), _mm256_setzero_pd());
        for c in row.chunks_exact(4) {
            let d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr())), centre);
            squares = _mm256_add_pd(squares, _mm256_mul_pd(d, d));
        }
        (mean, sum_lanes(squares) / n)
    };
    (mean, 1.0 / (var + LN_EPS).sqrt())
}

/// `(s0 + s1) + (s2 + s3)` of a 4 × f64 vector: [`sum_f64`]'s final step.
///
/// # Safety
/// The CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn sum_lanes(s: std::arch::x86_64::__m256d) -> f64 {
    use std::arch::x86_64::*;
    // SAFETY: AVX is available (the caller's contract); register operations only.
    unsafe {
        let (low, high) = (_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
        (_mm_cvtsd_f64(low) + _mm_cvtsd_f64(_mm_unpackhi_pd(low, low)))
            + (_mm_cvtsd_f64(high) + _mm_cvtsd_f64(_mm_unpackhi_pd(high, high)))
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Axis;

    use super::*;

    #[test]
    fn layer_norm_centres_and_scales_rows() {
        for scale in [1.0f32, 2.0] {
            let mut row: Vec<f32> = (0..HIDDEN).map(|j| j as f32 * scale + 23_000.0).collect();
            layer_norm_row(&mut row, &[1.0; HIDDEN], &[0.0; HIDDEN]);
            let mean: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / HIDDEN as f64;
            let var: f64 = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / HIDDEN as f64;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "mean {mean} var {var}");
        }
    }

    #[test]
    fn vector_builds_of_the_row_passes_give_the_portable_bits() {
        // 19 rows: two whole groups of the vector layer norm's eight and a partial one.
        let x: Vec<f32> = (0..19 * HIDDEN).map(|i| (i as f32 * 0.37).sin() * 100.0 + 23_000.0).collect();
        let o: Vec<f32> = (0..19 * HIDDEN).map(|i| (i as f32 * 0.11).cos()).collect();
        let gamma: [f32; HIDDEN] = std::array::from_fn(|j| 1.0 + j as f32 * 0.01);
        let beta: [f32; HIDDEN] = std::array::from_fn(|j| j as f32 * -0.02);
        let (mut a, mut b) = (x.clone(), x.clone());
        residual_layer_norm(&mut a, &o, &gamma, &beta);
        residual_layer_norm_body(&mut b, &o, &gamma, &beta);
        assert_eq!(a, b);
        assert_eq!(zscore_columns(&x, 11), zscore_columns_body(&x, 11));
        assert_ne!(a, x, "the pass changed something");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_row_moments_sum_in_the_portable_order() {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        // Values from 1e-6 to 1e6 in magnitude: their f64 sums round, so another order of the
        // partial sums changes the bits of some row's moments.
        for r in 0..500 {
            let row: [f32; HIDDEN] = std::array::from_fn(|j| {
                let i = r * HIDDEN + j;
                (i as f32 * 0.731).sin() * 10f32.powi((i * 7 % 13) as i32 - 6)
            });
            // SAFETY: the CPU has AVX (checked above).
            let (mean, inv) = unsafe { row_moments_avx(&row) };
            let (want_mean, want_inv) = row_moments(&row);
            assert_eq!((mean.to_bits(), inv.to_bits()), (want_mean.to_bits(), want_inv.to_bits()), "row {r}");
        }
    }

    #[test]
    fn normalising_matches_the_column_by_column_definition() {
        let x = Array2::from_shape_fn((7, 3), |(i, c)| if c == 1 { 5.0 } else { (i * (c + 2)) as f32 * 0.3 + 100.0 });
        let z = normalise_columns(x.view());
        for (c, col) in x.axis_iter(Axis(1)).enumerate() {
            let mean = col.iter().map(|&v| v as f64).sum::<f64>() / 7.0;
            let std = (col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
            for (r, &v) in col.iter().enumerate() {
                let want =
                    if std > 1e-12 * mean.abs().max(1.0) { ((v as f64 - mean) * (1.0 / std)) as f32 } else { 0.0 };
                assert_eq!(z[[r, c]].to_bits(), want.to_bits(), "row {r} column {c}");
            }
        }
    }

    #[test]
    fn normalising_a_price_column_gives_unit_scale() {
        let x = Array2::from_shape_fn((50, 1), |(i, _)| 23_000.0 + i as f32 * 0.25);
        let z = normalise_columns(x.view());
        assert!(z.iter().all(|v| v.abs() < 2.0));
        assert!((z.sum()).abs() < 1e-4);
    }
}
