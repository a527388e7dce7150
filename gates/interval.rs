//! Small interval helpers shared by the engine gates: Student-t interval of a mean (for a few
//! independent replicates such as seed pairs).

use ironforge::gate::GateError;

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom (the 95% interval's
/// multiplier); beyond 30 the normal 1.96 is used (t₃₀ = 2.042, t_∞ = 1.960).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (`df >= 1`).
pub fn t_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df - 1],
        _ => 1.96,
    }
}

/// Mean of `xs` and its 95% Student-t interval `mean ± t₀.₉₇₅(n−1) · s / √n` (s: sample
/// standard deviation). Needs at least two finite values.
///
/// The replicates must be independent draws of the same quantity (e.g. one per seed pair).
pub fn mean_t_interval(xs: &[f64], what: &str) -> Result<(f64, [f64; 2]), GateError> {
    if xs.len() < 2 {
        return Err(GateError::msg(format!("{what}: a t interval needs at least 2 replicates, got {}", xs.len())));
    }
    if let Some(bad) = xs.iter().find(|x| !x.is_finite()) {
        return Err(GateError::msg(format!("{what}: replicate {bad} is not finite")));
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let half = t_975(xs.len() - 1) * (var / n).sqrt();
    Ok((mean, [mean - half, mean + half]))
}
