//! The statistics of one paired comparison: per-round speed ratios of an arm relative to the
//! base ([`speed_ratios`]) and their bootstrap summary ([`summarize`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{PairedError, MIN_RESAMPLES, MIN_ROUNDS};
use crate::spec::Unit;
use crate::stats::{median, percentile_sorted};

/// Which way is better for a timed metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Larger is better (throughputs).
    Higher,
    /// Smaller is better (times).
    Lower,
}

impl Better {
    /// The direction of a timed unit: throughputs are [`Higher`](Better::Higher), times
    /// [`Lower`](Better::Lower); `None` for units that are not timed.
    ///
    /// ```
    /// use ironforge_gate::{paired::Better, Unit};
    /// assert_eq!(Better::of_unit(Unit::SessionsPerSec), Some(Better::Higher));
    /// assert_eq!(Better::of_unit(Unit::Millis), Some(Better::Lower));
    /// assert_eq!(Better::of_unit(Unit::Bytes), None);
    /// ```
    pub fn of_unit(unit: Unit) -> Option<Better> {
        match unit {
            Unit::SessionsPerSec | Unit::EventsPerSec | Unit::SubgraphsPerSec => Some(Better::Higher),
            Unit::Millis | Unit::Micros => Some(Better::Lower),
            Unit::Abs | Unit::Ratio | Unit::Percent | Unit::Fraction | Unit::Bytes => None,
        }
    }
}

/// Per-round speed ratios of `candidate` relative to `base`, above 1 when the candidate is faster:
/// `candidate / base` when higher is better, `base / candidate` when lower is better.
///
/// Both arms must have the same number of rounds, and every sample must be finite and positive
/// (the error names the arm and the round).
///
/// ```
/// use ironforge_gate::paired::{speed_ratios, Better};
/// assert_eq!(speed_ratios(&[100.0, 200.0], &[110.0, 180.0], Better::Higher).unwrap(), vec![1.1, 0.9]);
/// assert_eq!(speed_ratios(&[2.0, 3.0], &[1.0, 6.0], Better::Lower).unwrap(), vec![2.0, 0.5]);
/// assert!(speed_ratios(&[1.0], &[1.0, 2.0], Better::Lower).is_err());
/// ```
pub fn speed_ratios(base: &[f64], candidate: &[f64], better: Better) -> Result<Vec<f64>, PairedError> {
    arm_ratios(base, candidate, "candidate", better)
}

/// [`speed_ratios`] with the other arm's name for errors.
pub(super) fn arm_ratios(
    base: &[f64],
    other: &[f64],
    arm: &'static str,
    better: Better,
) -> Result<Vec<f64>, PairedError> {
    if base.len() != other.len() {
        return Err(PairedError::LengthMismatch { arm, base: base.len(), other: other.len() });
    }
    check_samples("base", base)?;
    check_samples(arm, other)?;
    Ok(base
        .iter()
        .zip(other)
        .map(|(&b, &o)| match better {
            Better::Higher => o / b,
            Better::Lower => b / o,
        })
        .collect())
}

/// Every value of `xs` must be finite and positive.
fn check_samples(arm: &'static str, xs: &[f64]) -> Result<(), PairedError> {
    match xs.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
        Some(round) => Err(PairedError::BadSample { arm, round, value: xs[round] }),
        None => Ok(()),
    }
}

/// Summary of per-round speed ratios, computed on their logarithms and reported in ratio space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioSummary {
    /// Number of rounds (ratios) summarized.
    pub rounds: usize,
    /// `exp` of the median of the log ratios (the median ratio).
    pub median: f64,
    /// `exp` of the percentile bootstrap 95% interval of the median log ratio, `[low, high]`;
    /// it always contains [`median`](RatioSummary::median).
    pub interval: [f64; 2],
    /// Standard error of the median log ratio: the standard deviation of the bootstrap medians.
    pub se_log: f64,
}

/// Summarizes per-round ratios: median of the log ratios, its percentile bootstrap 95% interval
/// from `resamples` resamples drawn from `rng`, and the standard deviation of the resampled
/// medians as standard error (see the [module documentation](super)).
///
/// Needs at least [`MIN_ROUNDS`] finite positive ratios and [`MIN_RESAMPLES`] resamples. The
/// result depends only on the ratios, `resamples` and the state of `rng`.
///
/// ```
/// use rand::SeedableRng;
/// use ironforge_gate::paired::summarize;
/// let ratios = [0.98, 1.01, 1.0, 0.99, 1.02, 1.0, 0.97];
/// let s = summarize(&ratios, 1000, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).unwrap();
/// assert!((s.median - 1.0).abs() < 1e-12);
/// assert!(s.interval[0] <= s.median && s.median <= s.interval[1]);
/// assert!(s.se_log > 0.0);
/// ```
pub fn summarize(ratios: &[f64], resamples: usize, rng: &mut ChaCha8Rng) -> Result<RatioSummary, PairedError> {
    if ratios.len() < MIN_ROUNDS {
        return Err(PairedError::TooFewRounds { rounds: ratios.len(), needed: MIN_ROUNDS });
    }
    if resamples < MIN_RESAMPLES {
        return Err(PairedError::TooFewResamples { resamples, needed: MIN_RESAMPLES });
    }
    check_samples("ratio", ratios)?;
    let mut logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    logs.sort_by(f64::total_cmp);
    let n = logs.len();
    let point = median(&logs);

    // A resample draws `n` indices into the sorted logs; its median follows from how often each
    // index was drawn, without sorting the resample.
    let mut medians = Vec::with_capacity(resamples);
    let mut counts = vec![0u32; n];
    for _ in 0..resamples {
        counts.fill(0);
        for _ in 0..n {
            counts[rng.random_range(0..n)] += 1;
        }
        medians.push(resample_median(&logs, &counts));
    }
    // Sample variance shifted by the first resampled median: exact zero for constant ratios, and
    // as accurate as the two-pass formula since the shift lies among the values.
    let shift = medians[0];
    let (s1, s2) = medians.iter().fold((0.0, 0.0), |(s1, s2), m| (s1 + (m - shift), s2 + (m - shift) * (m - shift)));
    let b = resamples as f64;
    let var = ((s2 - s1 * s1 / b) / (b - 1.0)).max(0.0);
    medians.sort_unstable_by(f64::total_cmp);
    // The percentile interval of resampled medians brackets the sample median in practice; widen
    // to it explicitly so a judged bound is never more optimistic than the point value.
    let low = percentile_sorted(&medians, 0.025).min(point);
    let high = percentile_sorted(&medians, 0.975).max(point);
    Ok(RatioSummary { rounds: n, median: point.exp(), interval: [low.exp(), high.exp()], se_log: var.sqrt() })
}

/// Median of the resample that holds `counts[i]` copies of `sorted[i]` (mean of the two middle
/// values for an even total): the same value as [`median`] of that resample. `sorted` must be
/// ascending and the counts must add up to at least 1.
fn resample_median(sorted: &[f64], counts: &[u32]) -> f64 {
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    let (lower_rank, upper_rank) = if total % 2 == 1 { (total / 2, total / 2) } else { (total / 2 - 1, total / 2) };
    let mut seen = 0;
    let mut lower = f64::NAN;
    for (&value, &count) in sorted.iter().zip(counts) {
        seen += count as usize;
        if lower.is_nan() && seen > lower_rank {
            lower = value;
        }
        if seen > upper_rank {
            return if total % 2 == 1 { value } else { 0.5 * (lower + value) };
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn resample_median_matches_median_of_the_resample() {
        let mut r = rng(4);
        for n in 1..30 {
            let mut sorted: Vec<f64> = (0..n).map(|_| r.random_range(0..7) as f64 * 0.5).collect();
            sorted.sort_by(f64::total_cmp);
            let mut counts = vec![0u32; n];
            for _ in 0..n + r.random_range(0..3) {
                counts[r.random_range(0..n)] += 1;
            }
            let resample: Vec<f64> =
                sorted.iter().zip(&counts).flat_map(|(&v, &c)| std::iter::repeat_n(v, c as usize)).collect();
            assert_eq!(resample_median(&sorted, &counts).to_bits(), median(&resample).to_bits(), "{resample:?}");
        }
    }
}
