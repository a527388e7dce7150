//! Small statistics: median, percentiles and a seeded bootstrap interval for the median.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Median of `xs` (mean of the two middle values for even lengths). NaN for an empty slice.
///
/// ```
/// use ironforge_gate::stats::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Percentile `q` in `[0, 1]` of already sorted values, by linear interpolation.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Percentile bootstrap 95% interval of the median of `xs`, with `resamples` resamples drawn
/// from `rng` (deterministic for a seeded stream). Returns `[low, high]`.
///
/// ```
/// use rand::SeedableRng;
/// use ironforge_gate::stats::{bootstrap_median_interval, median};
/// let xs = [1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 1.0];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// let [lo, hi] = bootstrap_median_interval(&xs, 500, &mut rng);
/// assert!(lo <= median(&xs) && median(&xs) <= hi);
/// ```
pub fn bootstrap_median_interval(xs: &[f64], resamples: usize, rng: &mut ChaCha8Rng) -> [f64; 2] {
    if xs.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    let n = xs.len();
    let mut medians = Vec::with_capacity(resamples.max(1));
    let mut buf = vec![0.0; n];
    for _ in 0..resamples.max(1) {
        for slot in buf.iter_mut() {
            *slot = xs[rng.random_range(0..n)];
        }
        medians.push(median(&buf));
    }
    medians.sort_by(f64::total_cmp);
    let low = percentile_sorted(&medians, 0.025);
    let high = percentile_sorted(&medians, 0.975);
    // A percentile interval of resampled medians always brackets the sample median in practice;
    // widen to it explicitly so the judged bound is never more optimistic than the point value.
    let m = median(xs);
    [low.min(m), high.max(m)]
}
