//! Paired statistics of a release comparison: the base build (A), the candidate build (B) and an
//! A/A control arm (the base binary run again), timed in interleaved rounds.
//!
//! # Samples and ratios
//!
//! In every round each arm produces one sample per timed metric: a throughput (sessions/s,
//! events/s, subgraphs/s; higher is better) or a time (ms, us; lower is better), see
//! [`Better::of_unit`]. The arms of a round ran back to back on the same machine, so whatever
//! slowed that round (frequency scaling, a noisy neighbour, thermal drift) slowed them alike; the
//! comparison therefore works on the **per-round speed ratio** of an arm relative to the base
//! ([`speed_ratios`]), in which that shared factor cancels: `candidate / base` for a throughput,
//! `base / candidate` for a time, so a ratio above 1 always means "faster than the base".
//!
//! # Summary
//!
//! [`summarize`] works on the logarithms of the ratios (a 10% slowdown and a 10% speed-up are then
//! symmetric, and multiplicative noise becomes additive): the point value is the median of the log
//! ratios, its 95% interval is the percentile bootstrap interval of that median (2.5% and 97.5%
//! percentiles of [`RESAMPLES`] seeded resampled medians, widened to contain the median), and its
//! standard error `se_log` is the standard deviation of the resampled medians. Everything but
//! `se_log` is reported back in ratio space (`exp`).
//!
//! The A/A control arm measures the noise of the comparison itself:
//!
//! - [`minimum_detectable_effect`] (MDE) `= 1 - exp(-(Z_CONFIDENCE + Z_POWER) * se_log)`: the smallest
//!   slowdown, as a fraction, that this noise lets one run tell apart from no change with 95%
//!   confidence in 95% of runs;
//! - [`noise_floor`] `= max(1 - lo, hi - 1, 0)` of the A/A interval `[lo, hi]`: how far from 1
//!   the interval of two identical builds reaches.
//!
//! # The regression rule
//!
//! A timed gate declares a tolerance `tol` (a fraction: `0.05` allows a 5% slowdown). With the
//! A/B summary's 95% interval `[lo, hi]` and the MDE of the A/A control arm, the verdict
//! ([`judge`]) is, in this order:
//!
//! 1. [`Regressed`](RegressionVerdict::Regressed) when `hi < 1 - tol`: the candidate is slower
//!    than the tolerance allows, with 95% confidence. This wins over everything else, however
//!    noisy the run.
//! 2. [`Underpowered`](RegressionVerdict::Underpowered) when `mde > tol`: the run is too noisy
//!    for its tolerance, since a slowdown just past the tolerance could pass unseen. It fails the
//!    release unless underpowered runs are explicitly allowed (`allow_underpowered`), in which
//!    case the verdict stays `Underpowered` and is reported as allowed
//!    ([`RegressionVerdict::fails`]).
//! 3. [`Faster`](RegressionVerdict::Faster) when `lo > 1 + tol`: informational, passes.
//! 4. [`Pass`](RegressionVerdict::Pass) otherwise.
//!
//! Consequences. A candidate whose true speed ratio is at most `(1 - tol) * (1 - mde)`, that is a
//! slowdown of at least `tol + mde - tol * mde` and so in particular any slowdown of `tol + mde`,
//! is judged `Regressed` in at least 95% of runs: its expected log median lies at least
//! `(Z_CONFIDENCE + Z_POWER) * se_log` below `ln(1 - tol)`, in 95% of runs the observed median
//! lands less than `Z_POWER * se_log` above that, and the interval's upper end lies about
//! `Z_CONFIDENCE * se_log` above the median, so below `1 - tol`. This takes the A/B noise to
//! equal the A/A noise and the bootstrap standard error to be honest; simulated 20-round runs
//! (`tests/gate_paired.rs`) catch a slowdown of exactly `tol + mde` in about 97% of runs.
//! Unchanged code is flagged only when the whole A/B interval lies below `1 - tol`, that is when
//! chance alone moved the median down by more than `tol` plus about 1.96 standard errors.
//!
//! An adaptive run adds rounds until every subject is [`powered`] (its MDE is at most its
//! tolerance). Under `--prove`, [`slowdown_row`] compares a base arm slowed by a known fraction
//! with the base and records whether the rule's bound caught it; [`smallest_caught`] reports the
//! smallest slowdown from which on every calibrated slowdown was caught.
//!
//! # Reproducibility
//!
//! All randomness comes from seeded [`ChaCha8Rng`] streams: [`compare`] derives one seed per row
//! from the run's seed and the gate and metric names ([`row_seed`]), so rows are independent and a
//! stored [`RegressionRow`] or [`SlowdownRow`] can be recomputed bit for bit from its raw samples
//! ([`RegressionRow::rejudge`], [`SlowdownRow::rejudge`]), which the audit does for every row it
//! reads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::spec::Unit;
use super::stats::{median, percentile_sorted};

/// Two-sided 95% confidence: the 97.5% quantile of the standard normal distribution.
pub const Z_CONFIDENCE: f64 = 1.959964;

/// 95% power: the 95% quantile of the standard normal distribution.
pub const Z_POWER: f64 = 1.644854;

/// Bootstrap resamples used by [`compare`] and [`slowdown_row`].
pub const RESAMPLES: usize = 2000;

/// Fewest rounds [`summarize`] accepts.
pub const MIN_ROUNDS: usize = 3;

/// Fewest bootstrap resamples [`summarize`] accepts (fewer make the standard error, and so the
/// minimum detectable effect, too noisy to set the power of a run).
pub const MIN_RESAMPLES: usize = 100;

/// Why a paired comparison could not be computed, or why a stored row was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PairedError {
    /// Two arms with different numbers of rounds.
    #[error("the base arm has {base} rounds but the {arm} arm has {other}")]
    LengthMismatch {
        /// The arm compared with the base (`candidate`, `control`, `slowed`).
        arm: &'static str,
        /// Rounds of the base arm.
        base: usize,
        /// Rounds of the other arm.
        other: usize,
    },
    /// A sample (or ratio) that is not finite and positive.
    #[error("the {arm} arm's sample of round {round} is {value}, not a finite positive number")]
    BadSample {
        /// The arm (`base`, `candidate`, `control`, `slowed`, or `ratio` for [`summarize`]'s input).
        arm: &'static str,
        /// The round, counted from 0.
        round: usize,
        /// The offending value.
        value: f64,
    },
    /// Too few rounds to summarize.
    #[error("{rounds} rounds are too few for a paired comparison (at least {needed} are needed)")]
    TooFewRounds {
        /// Rounds given.
        rounds: usize,
        /// Rounds needed ([`MIN_ROUNDS`]).
        needed: usize,
    },
    /// Too few bootstrap resamples.
    #[error("{resamples} bootstrap resamples are too few (at least {needed} are needed)")]
    TooFewResamples {
        /// Resamples asked for.
        resamples: usize,
        /// Resamples needed ([`MIN_RESAMPLES`]).
        needed: usize,
    },
    /// A tolerance or slowdown outside `[0, 1)`.
    #[error("{name} {value} is not a fraction in [0, 1)")]
    BadFraction {
        /// `tolerance` or `slowdown`.
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A unit that is not a timed unit (or an unknown unit name in a stored row).
    #[error("unit `{unit}` is not a timed unit (sessions/s, events/s, subgraphs/s, ms or us)")]
    UntimedUnit {
        /// The unit's name.
        unit: String,
    },
    /// A stored row whose field differs from the value recomputed from its raw samples.
    #[error("row `{gate}` / `{metric}`: stored {field} {stored} contradicts the recomputed {recomputed}")]
    Contradiction {
        /// Gate of the row.
        gate: String,
        /// Metric of the row.
        metric: String,
        /// The field that differs.
        field: &'static str,
        /// The stored value, as text.
        stored: String,
        /// The recomputed value, as text.
        recomputed: String,
    },
}

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
fn arm_ratios(base: &[f64], other: &[f64], arm: &'static str, better: Better) -> Result<Vec<f64>, PairedError> {
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
/// medians as standard error (see the [module documentation](self)).
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

/// The smallest slowdown, as a fraction (`0.05` = 5%), that the noise of `control` (the A/A
/// summary) lets one run tell apart from no change with 95% confidence in 95% of runs:
/// `1 - exp(-(Z_CONFIDENCE + Z_POWER) * se_log)`.
///
/// ```
/// use ironforge_gate::paired::{minimum_detectable_effect, RatioSummary};
/// let control = RatioSummary { rounds: 20, median: 1.0, interval: [0.99, 1.01], se_log: 0.01 };
/// let mde = minimum_detectable_effect(&control);
/// assert!((mde - 0.035406).abs() < 1e-6); // a 20-round control this quiet detects a 3.5% slowdown
/// ```
pub fn minimum_detectable_effect(control: &RatioSummary) -> f64 {
    1.0 - (-(Z_CONFIDENCE + Z_POWER) * control.se_log).exp()
}

/// How far from 1 the A/A interval of `control` reaches, as a fraction: `max(1 - lo, hi - 1, 0)`.
///
/// ```
/// use ironforge_gate::paired::{noise_floor, RatioSummary};
/// let control = RatioSummary { rounds: 20, median: 1.0, interval: [0.97, 1.01], se_log: 0.01 };
/// assert!((noise_floor(&control) - 0.03).abs() < 1e-12);
/// ```
pub fn noise_floor(control: &RatioSummary) -> f64 {
    let [lo, hi] = control.interval;
    (1.0 - lo).max(hi - 1.0).max(0.0)
}

/// Whether the noise of `control` is low enough for `tolerance`: its
/// [minimum detectable effect](minimum_detectable_effect) is at most the tolerance. An adaptive
/// run adds rounds until this holds (or its budget ends).
///
/// ```
/// use ironforge_gate::paired::{powered, RatioSummary};
/// let control = RatioSummary { rounds: 20, median: 1.0, interval: [0.99, 1.01], se_log: 0.01 };
/// assert!(powered(&control, 0.05));
/// assert!(!powered(&control, 0.02));
/// ```
pub fn powered(control: &RatioSummary, tolerance: f64) -> bool {
    minimum_detectable_effect(control) <= tolerance
}

/// Outcome of the regression rule for one timed metric (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionVerdict {
    /// No slowdown past the tolerance, and the run was powered to see one.
    Pass,
    /// The candidate is faster than the tolerance band with 95% confidence (informational).
    Faster,
    /// The candidate is slower than the tolerance allows with 95% confidence.
    Regressed,
    /// The run is too noisy for the tolerance: its minimum detectable effect exceeds it.
    Underpowered,
}

impl RegressionVerdict {
    /// Whether this verdict fails the release: `Regressed` always, `Underpowered` unless
    /// `allow_underpowered`.
    ///
    /// ```
    /// use ironforge_gate::paired::RegressionVerdict;
    /// assert!(RegressionVerdict::Regressed.fails(true));
    /// assert!(RegressionVerdict::Underpowered.fails(false));
    /// assert!(!RegressionVerdict::Underpowered.fails(true));
    /// assert!(!RegressionVerdict::Faster.fails(false));
    /// ```
    pub fn fails(self, allow_underpowered: bool) -> bool {
        match self {
            RegressionVerdict::Regressed => true,
            RegressionVerdict::Underpowered => !allow_underpowered,
            RegressionVerdict::Pass | RegressionVerdict::Faster => false,
        }
    }
}

/// The regression rule: judges the A/B summary `ab` against `tolerance` (a fraction) given the
/// minimum detectable effect `mde` of the A/A control arm. `Regressed` when the interval's upper
/// end is below `1 - tolerance` (wins over everything), else `Underpowered` when
/// `mde > tolerance`, else `Faster` when the interval's lower end is above `1 + tolerance`, else
/// `Pass`.
///
/// ```
/// use ironforge_gate::paired::{judge, RatioSummary, RegressionVerdict};
/// let ab = |lo, hi| RatioSummary { rounds: 20, median: 0.5 * (lo + hi), interval: [lo, hi], se_log: 0.01 };
/// assert_eq!(judge(&ab(0.90, 0.94), 0.05, 0.02), RegressionVerdict::Regressed);
/// assert_eq!(judge(&ab(0.90, 0.94), 0.05, 0.09), RegressionVerdict::Regressed);
/// assert_eq!(judge(&ab(0.97, 1.01), 0.05, 0.09), RegressionVerdict::Underpowered);
/// assert_eq!(judge(&ab(1.06, 1.10), 0.05, 0.02), RegressionVerdict::Faster);
/// assert_eq!(judge(&ab(0.94, 1.01), 0.05, 0.02), RegressionVerdict::Pass);
/// ```
pub fn judge(ab: &RatioSummary, tolerance: f64, mde: f64) -> RegressionVerdict {
    let [lo, hi] = ab.interval;
    if hi < 1.0 - tolerance {
        RegressionVerdict::Regressed
    } else if mde > tolerance {
        RegressionVerdict::Underpowered
    } else if lo > 1.0 + tolerance {
        RegressionVerdict::Faster
    } else {
        RegressionVerdict::Pass
    }
}

/// What [`compare`] needs for one timed metric: names, unit, tolerance and the raw per-round
/// samples of the three arms (same length, round order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedInput<'a> {
    /// The gate that declared the tolerance.
    pub gate: &'a str,
    /// The timed subject, e.g. `optimized` or `dispatch/L64`.
    pub metric: &'a str,
    /// The samples' unit; must be timed ([`Better::of_unit`]).
    pub unit: Unit,
    /// Allowed slowdown, a fraction in `[0, 1)`.
    pub tolerance: f64,
    /// Samples of the base build (A), one per round.
    pub base: &'a [f64],
    /// Samples of the candidate build (B), one per round.
    pub candidate: &'a [f64],
    /// Samples of the control arm (the base build run again), one per round.
    pub control: &'a [f64],
}

/// One audited row of a release comparison: the A/B and A/A summaries, the noise, the verdict and
/// the raw samples they were computed from, so that [`RegressionRow::rejudge`] can recompute it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionRow {
    /// The gate that declared the tolerance.
    pub gate: String,
    /// The timed subject, e.g. `optimized` or `dispatch/L64`.
    pub metric: String,
    /// The samples' unit name, e.g. `sessions/s` ([`Unit::name`]).
    pub unit: String,
    /// Which way is better for the unit.
    pub better: Better,
    /// Allowed slowdown, a fraction.
    pub tolerance: f64,
    /// Rounds (samples per arm).
    pub rounds: usize,
    /// Median of the base arm's samples, in the unit.
    pub base_median: f64,
    /// Median of the candidate arm's samples, in the unit.
    pub candidate_median: f64,
    /// Median A/B speed ratio (above 1: the candidate is faster).
    pub ratio: f64,
    /// Bootstrap 95% interval of the A/B speed ratio.
    pub interval: [f64; 2],
    /// Median A/A speed ratio (control arm relative to the base).
    pub control_ratio: f64,
    /// Bootstrap 95% interval of the A/A speed ratio.
    pub control_interval: [f64; 2],
    /// [`noise_floor`] of the A/A summary, a fraction.
    pub noise_floor: f64,
    /// [`minimum_detectable_effect`] of the A/A summary, a fraction.
    pub mde: f64,
    /// The regression rule's verdict ([`judge`]).
    pub verdict: RegressionVerdict,
    /// Raw samples of the base arm, round order.
    pub base: Vec<f64>,
    /// Raw samples of the candidate arm, round order.
    pub candidate: Vec<f64>,
    /// Raw samples of the control arm, round order.
    pub control: Vec<f64>,
}

/// FNV-1a over `bytes`, continuing from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Seed of the bootstrap streams of one row: FNV-1a of `seed` (little endian), the gate name, a
/// `0xff` separator (never part of UTF-8 text) and the metric name. Different rows get
/// independent streams; the same row always gets the same one.
///
/// ```
/// use ironforge_gate::paired::row_seed;
/// assert_eq!(row_seed(7, "throughput", "optimized"), row_seed(7, "throughput", "optimized"));
/// assert_ne!(row_seed(7, "throughput", "optimized"), row_seed(7, "throughput", "baseline"));
/// assert_ne!(row_seed(7, "ab", "c"), row_seed(7, "a", "bc"));
/// ```
pub fn row_seed(seed: u64, gate: &str, metric: &str) -> u64 {
    let mut h = fnv1a(0xcbf2_9ce4_8422_2325, &seed.to_le_bytes());
    h = fnv1a(h, gate.as_bytes());
    h = fnv1a(h, &[0xff]);
    fnv1a(h, metric.as_bytes())
}

/// A ChaCha stream of a row: `seed_from_u64(row_seed)` on stream `stream`.
fn row_stream(row_seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(row_seed);
    rng.set_stream(stream);
    rng
}

/// Stream of the A/B summary.
const STREAM_AB: u64 = 0;
/// Stream of the A/A summary.
const STREAM_CONTROL: u64 = 1;
/// Stream of a calibrated slowdown (its seed also mixes in the slowdown).
const STREAM_SLOWDOWN: u64 = 2;

/// `value` must be a fraction in `[0, 1)`.
fn check_fraction(name: &'static str, value: f64) -> Result<(), PairedError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(PairedError::BadFraction { name, value })
    }
}

/// The direction of `unit`, or an error for an untimed unit.
fn better_of(unit: Unit) -> Result<Better, PairedError> {
    Better::of_unit(unit).ok_or_else(|| PairedError::UntimedUnit { unit: unit.name().to_string() })
}

/// Compares the candidate with the base for one timed metric and judges it: A/B and A/A ratios
/// ([`speed_ratios`]), their summaries ([`summarize`], [`RESAMPLES`] resamples each, on streams 0
/// and 1 of [`row_seed`]`(seed, gate, metric)`), the control's noise floor and MDE, and the
/// verdict of the regression rule ([`judge`]).
///
/// ```
/// use ironforge_gate::paired::{compare, PairedInput, RegressionVerdict};
/// use ironforge_gate::Unit;
/// let base = [100.0, 102.0, 99.0, 101.0, 100.5, 98.5, 100.0, 101.5];
/// let slower: Vec<f64> = base.iter().map(|b| b * 0.8).collect();
/// let control = [100.5, 101.0, 99.5, 100.5, 100.0, 99.0, 100.5, 101.0];
/// let input = PairedInput {
///     gate: "throughput", metric: "optimized", unit: Unit::SessionsPerSec, tolerance: 0.05,
///     base: &base, candidate: &slower, control: &control,
/// };
/// let row = compare(&input, 42).unwrap();
/// assert_eq!(row.verdict, RegressionVerdict::Regressed);
/// assert!((row.ratio - 0.8).abs() < 1e-12);
/// assert!(row.rejudge(42).is_ok());
/// ```
pub fn compare(input: &PairedInput, seed: u64) -> Result<RegressionRow, PairedError> {
    let better = better_of(input.unit)?;
    check_fraction("tolerance", input.tolerance)?;
    let ab = arm_ratios(input.base, input.candidate, "candidate", better)?;
    let aa = arm_ratios(input.base, input.control, "control", better)?;
    let rs = row_seed(seed, input.gate, input.metric);
    let ab_summary = summarize(&ab, RESAMPLES, &mut row_stream(rs, STREAM_AB))?;
    let aa_summary = summarize(&aa, RESAMPLES, &mut row_stream(rs, STREAM_CONTROL))?;
    let mde = minimum_detectable_effect(&aa_summary);
    Ok(RegressionRow {
        gate: input.gate.to_string(),
        metric: input.metric.to_string(),
        unit: input.unit.name().to_string(),
        better,
        tolerance: input.tolerance,
        rounds: ab_summary.rounds,
        base_median: median(input.base),
        candidate_median: median(input.candidate),
        ratio: ab_summary.median,
        interval: ab_summary.interval,
        control_ratio: aa_summary.median,
        control_interval: aa_summary.interval,
        noise_floor: noise_floor(&aa_summary),
        mde,
        verdict: judge(&ab_summary, input.tolerance, mde),
        base: input.base.to_vec(),
        candidate: input.candidate.to_vec(),
        control: input.control.to_vec(),
    })
}

/// Returns [`PairedError::Contradiction`] for the first listed field in which the stored row
/// `$stored` differs from the recomputed `$fresh` (both with `gate` and `metric` fields).
macro_rules! check_fields {
    ($stored:expr, $fresh:expr; $($field:ident),* $(,)?) => {
        $(
            if $stored.$field != $fresh.$field {
                return Err(PairedError::Contradiction {
                    gate: $stored.gate.clone(),
                    metric: $stored.metric.clone(),
                    field: stringify!($field),
                    stored: format!("{:?}", $stored.$field),
                    recomputed: format!("{:?}", $fresh.$field),
                });
            }
        )*
    };
}

impl RegressionRow {
    /// Recomputes the row from its raw samples, unit, tolerance and names with [`compare`] and
    /// `seed`, and refuses it ([`PairedError::Contradiction`], naming the first field in
    /// declaration order) if any stored field differs from the recomputed one. Floats are compared
    /// exactly: the computation is deterministic and JSON round-trips them exactly. The inputs
    /// (names, unit, tolerance, samples) are taken as stored: re-judging shows that the derived
    /// fields follow from them, not that they are what was measured.
    ///
    /// ```
    /// use ironforge_gate::paired::{compare, PairedError, PairedInput, RegressionVerdict};
    /// use ironforge_gate::Unit;
    /// let base = [2.0, 2.1, 1.9, 2.0, 2.05];
    /// let input = PairedInput {
    ///     gate: "latency", metric: "p50", unit: Unit::Millis, tolerance: 0.1,
    ///     base: &base, candidate: &base, control: &base,
    /// };
    /// let mut row = compare(&input, 1).unwrap();
    /// assert!(row.rejudge(1).is_ok());
    /// row.verdict = RegressionVerdict::Faster;
    /// assert!(matches!(row.rejudge(1), Err(PairedError::Contradiction { field: "verdict", .. })));
    /// ```
    pub fn rejudge(&self, seed: u64) -> Result<(), PairedError> {
        let unit = Unit::from_name(&self.unit).ok_or_else(|| PairedError::UntimedUnit { unit: self.unit.clone() })?;
        let input = PairedInput {
            gate: &self.gate,
            metric: &self.metric,
            unit,
            tolerance: self.tolerance,
            base: &self.base,
            candidate: &self.candidate,
            control: &self.control,
        };
        let fresh = compare(&input, seed)?;
        check_fields!(
            self, fresh;
            better,
            rounds,
            base_median,
            candidate_median,
            ratio,
            interval,
            control_ratio,
            control_interval,
            noise_floor,
            mde,
            verdict
        );
        Ok(())
    }
}

/// A calibrated slowdown (`--prove`): the base arm slowed by a known fraction, compared with the
/// base like a candidate, and whether the regression rule's confidence bound caught it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowdownRow {
    /// The gate that declared the tolerance.
    pub gate: String,
    /// The timed subject.
    pub metric: String,
    /// The injected slowdown, a fraction (`0.05` = 5%).
    pub slowdown: f64,
    /// The tolerance it was judged against, a fraction.
    pub tolerance: f64,
    /// Median speed ratio of the slowed arm relative to the base.
    pub ratio: f64,
    /// Bootstrap 95% interval of that ratio.
    pub interval: [f64; 2],
    /// Whether the interval's upper end is below `1 - tolerance` (the rule's `Regressed` test).
    pub caught: bool,
    /// The samples' unit name, e.g. `sessions/s` ([`Unit::name`]).
    pub unit: String,
    /// Raw samples of the base arm, round order.
    pub base: Vec<f64>,
    /// Raw samples of the slowed arm, round order.
    pub slowed: Vec<f64>,
}

impl SlowdownRow {
    /// Recomputes the row from its raw samples, unit, tolerance, slowdown and names with
    /// [`slowdown_row`] and `seed`, and refuses it ([`PairedError::Contradiction`], naming the
    /// first field that differs: `ratio`, `interval` or `caught`). The inputs (names, unit,
    /// tolerance, slowdown, samples) are taken as stored: re-judging shows that the derived fields
    /// follow from them, not that they are what was measured.
    ///
    /// ```
    /// use ironforge_gate::paired::{slowdown_row, PairedError};
    /// use ironforge_gate::Unit;
    /// let base = [2.0, 2.1, 1.9, 2.0, 2.05, 1.95];
    /// let slowed: Vec<f64> = base.iter().map(|t| t / 0.97).collect();
    /// let mut row = slowdown_row("latency", "p50", Unit::Millis, 0.05, 0.03, &base, &slowed, 3).unwrap();
    /// assert!(row.rejudge(3).is_ok());
    /// row.caught = true;
    /// assert!(matches!(row.rejudge(3), Err(PairedError::Contradiction { field: "caught", .. })));
    /// ```
    pub fn rejudge(&self, seed: u64) -> Result<(), PairedError> {
        let unit = Unit::from_name(&self.unit).ok_or_else(|| PairedError::UntimedUnit { unit: self.unit.clone() })?;
        let fresh = slowdown_row(
            &self.gate,
            &self.metric,
            unit,
            self.tolerance,
            self.slowdown,
            &self.base,
            &self.slowed,
            seed,
        )?;
        check_fields!(self, fresh; ratio, interval, caught);
        Ok(())
    }
}

/// Compares an arm `slowed` (the base build slowed by `slowdown`, a fraction) with `base`, like
/// [`compare`] does a candidate, and records whether it was caught: the A/B interval's upper end
/// is below `1 - tolerance`. The bootstrap stream is stream 2 of [`row_seed`]`(seed, gate,
/// metric)` with the slowdown's bits mixed into the seed, so each slowdown is independent.
///
/// ```
/// use ironforge_gate::paired::slowdown_row;
/// use ironforge_gate::Unit;
/// let base = [2.0, 2.1, 1.9, 2.0, 2.05, 1.95];
/// let slowed: Vec<f64> = base.iter().map(|t| t / 0.8).collect();
/// let row = slowdown_row("latency", "p50", Unit::Millis, 0.05, 0.2, &base, &slowed, 3).unwrap();
/// assert!(row.caught);
/// assert!((row.ratio - 0.8).abs() < 1e-12);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn slowdown_row(
    gate: &str,
    metric: &str,
    unit: Unit,
    tolerance: f64,
    slowdown: f64,
    base: &[f64],
    slowed: &[f64],
    seed: u64,
) -> Result<SlowdownRow, PairedError> {
    let better = better_of(unit)?;
    check_fraction("tolerance", tolerance)?;
    check_fraction("slowdown", slowdown)?;
    let ratios = arm_ratios(base, slowed, "slowed", better)?;
    let rs = fnv1a(row_seed(seed, gate, metric), &slowdown.to_bits().to_le_bytes());
    let summary = summarize(&ratios, RESAMPLES, &mut row_stream(rs, STREAM_SLOWDOWN))?;
    Ok(SlowdownRow {
        gate: gate.to_string(),
        metric: metric.to_string(),
        slowdown,
        tolerance,
        ratio: summary.median,
        interval: summary.interval,
        caught: summary.interval[1] < 1.0 - tolerance,
        unit: unit.name().to_string(),
        base: base.to_vec(),
        slowed: slowed.to_vec(),
    })
}

/// The smallest calibrated slowdown of `gate` / `metric` from which on every slowdown in `rows`
/// was caught: the smallest caught slowdown such that no larger slowdown of that metric was
/// missed. `None` when there are no rows for the metric or its largest slowdown was missed.
///
/// ```
/// use ironforge_gate::paired::{smallest_caught, SlowdownRow};
/// let row = |slowdown, caught| SlowdownRow {
///     gate: "g".into(), metric: "m".into(), slowdown, tolerance: 0.05, ratio: 1.0 - slowdown,
///     interval: [1.0 - slowdown; 2], caught, unit: "ms".into(), base: vec![], slowed: vec![],
/// };
/// let rows = [row(0.02, true), row(0.05, false), row(0.08, true), row(0.12, true)];
/// assert_eq!(smallest_caught(&rows, "g", "m"), Some(0.08));
/// assert_eq!(smallest_caught(&rows, "g", "other"), None);
/// ```
pub fn smallest_caught(rows: &[SlowdownRow], gate: &str, metric: &str) -> Option<f64> {
    let mut mine: Vec<&SlowdownRow> = rows.iter().filter(|r| r.gate == gate && r.metric == metric).collect();
    mine.sort_by(|a, b| b.slowdown.total_cmp(&a.slowdown));
    mine.iter().take_while(|r| r.caught).last().map(|r| r.slowdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Round-to-round noise around 1: a deterministic zig-zag of the given amplitude.
    fn wobble(n: usize, amp: f64) -> Vec<f64> {
        (0..n).map(|i| 1.0 + amp * (((i * 7) % 11) as f64 / 5.0 - 1.0)).collect()
    }

    fn input<'a>(base: &'a [f64], candidate: &'a [f64], control: &'a [f64], unit: Unit) -> PairedInput<'a> {
        PairedInput { gate: "g", metric: "m", unit, tolerance: 0.05, base, candidate, control }
    }

    #[test]
    fn of_unit_maps_every_unit() {
        for unit in Unit::ALL {
            let expected = match unit {
                Unit::SessionsPerSec | Unit::EventsPerSec | Unit::SubgraphsPerSec => Some(Better::Higher),
                Unit::Millis | Unit::Micros => Some(Better::Lower),
                _ => None,
            };
            assert_eq!(Better::of_unit(unit), expected, "{unit:?}");
        }
    }

    #[test]
    fn speed_ratios_orient_above_one_as_faster() {
        assert_eq!(speed_ratios(&[10.0, 20.0], &[20.0, 10.0], Better::Higher).unwrap(), vec![2.0, 0.5]);
        assert_eq!(speed_ratios(&[10.0, 20.0], &[20.0, 10.0], Better::Lower).unwrap(), vec![0.5, 2.0]);
    }

    #[test]
    fn speed_ratios_refuse_mismatched_and_bad_samples() {
        assert_eq!(
            speed_ratios(&[1.0, 2.0, 3.0], &[1.0, 2.0], Better::Higher),
            Err(PairedError::LengthMismatch { arm: "candidate", base: 3, other: 2 })
        );
        assert_eq!(
            speed_ratios(&[1.0, 0.0], &[1.0, 2.0], Better::Higher),
            Err(PairedError::BadSample { arm: "base", round: 1, value: 0.0 })
        );
        let err = speed_ratios(&[1.0, 2.0, 3.0], &[1.0, 2.0, f64::INFINITY], Better::Lower).unwrap_err();
        assert_eq!(err, PairedError::BadSample { arm: "candidate", round: 2, value: f64::INFINITY });
        assert!(err.to_string().contains("round 2"), "{err}");
        assert!(matches!(
            speed_ratios(&[-1.0], &[1.0], Better::Lower),
            Err(PairedError::BadSample { arm: "base", round: 0, .. })
        ));
        assert!(matches!(
            speed_ratios(&[1.0], &[f64::NAN], Better::Lower),
            Err(PairedError::BadSample { arm: "candidate", round: 0, .. })
        ));
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

    #[test]
    fn summarize_constant_ratios_has_zero_width() {
        let s = summarize(&[1.25; 9], 500, &mut rng(1)).unwrap();
        assert_eq!(s.rounds, 9);
        assert!((s.median - 1.25).abs() < 1e-12);
        assert!((s.interval[0] - 1.25).abs() < 1e-12 && (s.interval[1] - 1.25).abs() < 1e-12);
        assert_eq!(s.se_log, 0.0);
    }

    #[test]
    fn summarize_median_is_in_log_space_and_bracketed() {
        // Even count: the median of the logs is the geometric mean of the middle two ratios.
        let s = summarize(&[0.5, 1.0, 4.0, 2.0], 500, &mut rng(2)).unwrap();
        assert!((s.median - 2f64.sqrt()).abs() < 1e-12, "{}", s.median);
        let ratios = wobble(25, 0.03);
        let s = summarize(&ratios, 2000, &mut rng(3)).unwrap();
        assert!(s.interval[0] <= s.median && s.median <= s.interval[1]);
        assert!(s.interval[0] < s.interval[1]);
        assert!(s.se_log > 0.0 && s.se_log < 0.03);
    }

    #[test]
    fn summarize_is_deterministic_per_seed() {
        let ratios = wobble(15, 0.02);
        let a = summarize(&ratios, 1000, &mut rng(9)).unwrap();
        let b = summarize(&ratios, 1000, &mut rng(9)).unwrap();
        let c = summarize(&ratios, 1000, &mut rng(10)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.interval[0].to_bits(), b.interval[0].to_bits());
        assert_ne!(a.se_log, c.se_log);
    }

    #[test]
    fn summarize_refuses_too_little() {
        assert_eq!(
            summarize(&[1.0, 1.0], 500, &mut rng(0)),
            Err(PairedError::TooFewRounds { rounds: 2, needed: MIN_ROUNDS })
        );
        assert_eq!(
            summarize(&[1.0; 5], 10, &mut rng(0)),
            Err(PairedError::TooFewResamples { resamples: 10, needed: MIN_RESAMPLES })
        );
        assert!(matches!(
            summarize(&[1.0, -1.0, 1.0], 500, &mut rng(0)),
            Err(PairedError::BadSample { arm: "ratio", round: 1, .. })
        ));
    }

    #[test]
    fn mde_and_noise_floor_follow_their_formulas() {
        let s = RatioSummary { rounds: 20, median: 1.0, interval: [0.98, 1.03], se_log: 0.02 };
        let expected = 1.0 - (-(Z_CONFIDENCE + Z_POWER) * 0.02f64).exp();
        assert_eq!(minimum_detectable_effect(&s), expected);
        assert!((noise_floor(&s) - 0.03).abs() < 1e-12);
        let inside = RatioSummary { interval: [1.01, 1.02], ..s };
        assert!((noise_floor(&inside) - 0.02).abs() < 1e-12);
        let degenerate = RatioSummary { interval: [1.0, 1.0], se_log: 0.0, ..s };
        assert_eq!(noise_floor(&degenerate), 0.0);
        assert_eq!(minimum_detectable_effect(&degenerate), 0.0);
    }

    #[test]
    fn powered_iff_mde_within_tolerance() {
        let s = RatioSummary { rounds: 20, median: 1.0, interval: [0.99, 1.01], se_log: 0.01 };
        let mde = minimum_detectable_effect(&s);
        assert!(powered(&s, mde));
        assert!(!powered(&s, mde * 0.999));
    }

    #[test]
    fn judge_applies_the_rule_in_order() {
        let ab = |lo: f64, hi: f64| RatioSummary { rounds: 10, median: lo, interval: [lo, hi], se_log: 0.0 };
        // Regressed wins even when underpowered.
        assert_eq!(judge(&ab(0.80, 0.9499), 0.05, 0.5), RegressionVerdict::Regressed);
        // Upper end exactly at 1 - tol is not a regression.
        assert_eq!(judge(&ab(0.80, 0.95), 0.05, 0.01), RegressionVerdict::Pass);
        assert_eq!(judge(&ab(0.80, 0.95), 0.05, 0.06), RegressionVerdict::Underpowered);
        // Underpowered wins over Faster.
        assert_eq!(judge(&ab(1.2, 1.3), 0.05, 0.06), RegressionVerdict::Underpowered);
        assert_eq!(judge(&ab(1.2, 1.3), 0.05, 0.05), RegressionVerdict::Faster);
        assert_eq!(judge(&ab(1.05, 1.3), 0.05, 0.05), RegressionVerdict::Pass);
    }

    #[test]
    fn fails_only_regressed_and_unallowed_underpowered() {
        use RegressionVerdict::*;
        let table =
            [(Pass, false, false), (Faster, false, false), (Regressed, true, true), (Underpowered, true, false)];
        for (v, strict, lenient) in table {
            assert_eq!(v.fails(false), strict, "{v:?}");
            assert_eq!(v.fails(true), lenient, "{v:?}");
        }
    }

    #[test]
    fn verdicts_serialize_snake_case() {
        assert_eq!(serde_json::to_string(&RegressionVerdict::Underpowered).unwrap(), "\"underpowered\"");
        assert_eq!(serde_json::to_string(&Better::Lower).unwrap(), "\"lower\"");
    }

    #[test]
    fn compare_fills_every_field() {
        let base: Vec<f64> = wobble(12, 0.02).iter().map(|w| 1000.0 * w).collect();
        let candidate: Vec<f64> = base.iter().map(|b| b * 1.2).collect();
        let control: Vec<f64> = base.iter().zip(wobble(12, 0.01).iter().rev()).map(|(b, w)| b * w).collect();
        let row = compare(&input(&base, &candidate, &control, Unit::EventsPerSec), 5).unwrap();
        assert_eq!(row.unit, "events/s");
        assert_eq!(row.better, Better::Higher);
        assert_eq!(row.rounds, 12);
        assert_eq!(row.base_median, median(&base));
        assert_eq!(row.candidate_median, median(&candidate));
        assert!((row.ratio - 1.2).abs() < 1e-12 && row.interval[0] > 1.19);
        assert!(row.control_interval[0] <= row.control_ratio && row.control_ratio <= row.control_interval[1]);
        assert!(row.noise_floor > 0.0 && row.noise_floor < 0.02);
        assert!(row.mde > 0.0 && row.mde < 0.05);
        assert_eq!(row.verdict, RegressionVerdict::Faster);
        assert_eq!((row.base.clone(), row.candidate.clone(), row.control.clone()), (base, candidate, control));
    }

    #[test]
    fn compare_times_lower_is_better() {
        let base: Vec<f64> = wobble(10, 0.01).iter().map(|w| 2.0 * w).collect();
        let slower: Vec<f64> = base.iter().map(|b| b * 1.25).collect();
        let row = compare(&input(&base, &slower, &base, Unit::Micros), 0).unwrap();
        assert!((row.ratio - 0.8).abs() < 1e-12);
        assert_eq!(row.verdict, RegressionVerdict::Regressed);
        assert_eq!(row.mde, 0.0);
    }

    #[test]
    fn compare_flags_noisy_runs_underpowered() {
        let base = vec![100.0; 8];
        let noisy: Vec<f64> = wobble(8, 0.3).iter().map(|w| 100.0 * w).collect();
        let row = compare(&input(&base, &base, &noisy, Unit::SessionsPerSec), 0).unwrap();
        assert!(row.mde > 0.05, "{}", row.mde);
        assert_eq!(row.verdict, RegressionVerdict::Underpowered);
        assert!(row.verdict.fails(false) && !row.verdict.fails(true));
    }

    #[test]
    fn compare_refuses_bad_inputs() {
        let a = [1.0; 5];
        assert_eq!(compare(&input(&a, &a, &a, Unit::Bytes), 0), Err(PairedError::UntimedUnit { unit: "bytes".into() }));
        assert_eq!(
            compare(&input(&a, &a, &a[..4], Unit::Millis), 0),
            Err(PairedError::LengthMismatch { arm: "control", base: 5, other: 4 })
        );
        let bad = [1.0, 1.0, 1.0, 0.0, 1.0];
        assert!(matches!(
            compare(&input(&a, &a, &bad, Unit::Millis), 0),
            Err(PairedError::BadSample { arm: "control", round: 3, .. })
        ));
        assert!(matches!(
            compare(&input(&a[..2], &a[..2], &a[..2], Unit::Millis), 0),
            Err(PairedError::TooFewRounds { rounds: 2, .. })
        ));
        let tol = PairedInput { tolerance: 1.0, ..input(&a, &a, &a, Unit::Millis) };
        assert_eq!(compare(&tol, 0), Err(PairedError::BadFraction { name: "tolerance", value: 1.0 }));
    }

    #[test]
    fn compare_is_reproducible_and_seeded_per_row() {
        let base: Vec<f64> = wobble(15, 0.02).iter().map(|w| 50.0 * w).collect();
        let cand: Vec<f64> = wobble(15, 0.03).iter().rev().map(|w| 49.0 * w).collect();
        let ctrl: Vec<f64> = wobble(15, 0.025).iter().map(|w| 50.5 / w).collect();
        let i = input(&base, &cand, &ctrl, Unit::SubgraphsPerSec);
        assert_eq!(compare(&i, 11).unwrap(), compare(&i, 11).unwrap());
        let other = PairedInput { metric: "m2", ..i };
        assert_ne!(compare(&i, 11).unwrap().interval, compare(&other, 11).unwrap().interval);
        assert_ne!(row_seed(11, "g", "m"), row_seed(12, "g", "m"));
    }

    #[test]
    fn rejudge_accepts_a_json_round_trip() {
        let base: Vec<f64> = wobble(20, 0.02).iter().map(|w| 3000.0 * w).collect();
        let cand: Vec<f64> = wobble(20, 0.015).iter().rev().map(|w| 2900.0 * w).collect();
        let ctrl: Vec<f64> = wobble(20, 0.01).iter().map(|w| 3010.0 / w).collect();
        let row = compare(&input(&base, &cand, &ctrl, Unit::SessionsPerSec), 77).unwrap();
        let text = serde_json::to_string(&row).unwrap();
        let back: RegressionRow = serde_json::from_str(&text).unwrap();
        assert_eq!(back, row);
        back.rejudge(77).unwrap();
    }

    #[test]
    fn rejudge_refuses_tampered_fields() {
        let base: Vec<f64> = wobble(20, 0.02).iter().map(|w| 3000.0 * w).collect();
        let cand: Vec<f64> = base.iter().map(|b| b * 0.9).collect();
        let ctrl: Vec<f64> = wobble(20, 0.01).iter().map(|w| 3010.0 / w).collect();
        let row = compare(&input(&base, &cand, &ctrl, Unit::SessionsPerSec), 3).unwrap();
        let field_of = |r: &RegressionRow, seed| match r.rejudge(seed) {
            Err(PairedError::Contradiction { field, gate, metric, .. }) => {
                assert_eq!((gate.as_str(), metric.as_str()), ("g", "m"));
                field
            }
            other => panic!("expected a contradiction, got {other:?}"),
        };
        let mut t = row.clone();
        t.ratio *= 1.0 + 1e-15;
        assert_eq!(field_of(&t, 3), "ratio");
        let mut t = row.clone();
        t.verdict = RegressionVerdict::Pass;
        assert_eq!(field_of(&t, 3), "verdict");
        let mut t = row.clone();
        t.mde = 0.0;
        assert_eq!(field_of(&t, 3), "mde");
        let mut t = row.clone();
        t.better = Better::Lower;
        assert_eq!(field_of(&t, 3), "better");
        let mut t = row.clone();
        t.control_interval[1] += 0.5;
        assert_eq!(field_of(&t, 3), "control_interval");
        // Raw samples are the inputs: changing one changes what follows from it.
        let mut t = row.clone();
        t.candidate = t.base.clone();
        assert_eq!(field_of(&t, 3), "candidate_median");
        // Another seed gives other bootstrap draws (here every A/B ratio is 0.9, so the A/B interval
        // is the same under any seed; the control's summary is not).
        assert!(["interval", "control_interval", "noise_floor", "mde"].contains(&field_of(&row, 4)));
        // A tolerance edit changes the verdict once it exceeds the slowdown.
        let mut t = row.clone();
        t.tolerance = 0.5;
        assert_eq!(field_of(&t, 3), "verdict");
        let mut t = row.clone();
        t.unit = "furlongs".into();
        assert_eq!(t.rejudge(3), Err(PairedError::UntimedUnit { unit: "furlongs".into() }));
        let mut t = row.clone();
        t.control.pop();
        assert!(matches!(t.rejudge(3), Err(PairedError::LengthMismatch { arm: "control", .. })));
        let err = field_of(
            &{
                let mut t = row.clone();
                t.noise_floor = 9.0;
                t
            },
            3,
        );
        assert_eq!(err, "noise_floor");
    }

    #[test]
    fn slowdown_rows_catch_large_slowdowns_only() {
        let base: Vec<f64> = wobble(20, 0.01).iter().map(|w| 1000.0 * w).collect();
        let rows: Vec<SlowdownRow> = [0.02, 0.04, 0.08, 0.16]
            .into_iter()
            .map(|k| {
                let slowed: Vec<f64> =
                    base.iter().zip(wobble(20, 0.005).iter().rev()).map(|(b, w)| b * (1.0 - k) * w).collect();
                slowdown_row("g", "m", Unit::SessionsPerSec, 0.05, k, &base, &slowed, 8).unwrap()
            })
            .collect();
        assert_eq!(rows.iter().map(|r| r.caught).collect::<Vec<_>>(), vec![false, false, true, true]);
        assert!(rows.iter().all(|r| r.interval[0] <= r.ratio && r.ratio <= r.interval[1]));
        assert_eq!(smallest_caught(&rows, "g", "m"), Some(0.08));
        assert_eq!(
            slowdown_row("g", "m", Unit::Millis, 0.05, 1.5, &base, &base, 0),
            Err(PairedError::BadFraction { name: "slowdown", value: 1.5 })
        );
        assert!(matches!(
            slowdown_row("g", "m", Unit::Millis, 0.05, 0.1, &base, &base[1..], 0),
            Err(PairedError::LengthMismatch { arm: "slowed", .. })
        ));
    }

    #[test]
    fn slowdown_rows_rejudge_from_their_samples() {
        let mut r = rng(5);
        let base: Vec<f64> = (0..20).map(|_| 3.0 * r.random_range(0.97..1.03)).collect();
        let slowed: Vec<f64> = base.iter().map(|b| b / 0.9 * r.random_range(0.98..1.02)).collect();
        let row = slowdown_row("g", "m", Unit::Millis, 0.05, 0.1, &base, &slowed, 21).unwrap();
        assert_eq!((row.unit.as_str(), &row.base, &row.slowed), ("ms", &base, &slowed));
        let back: SlowdownRow = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        assert_eq!(back, row);
        back.rejudge(21).unwrap();
        let field_of = |r: &SlowdownRow| match r.rejudge(21) {
            Err(PairedError::Contradiction { field, .. }) => field,
            other => panic!("expected a contradiction, got {other:?}"),
        };
        let mut t = row.clone();
        t.ratio = 0.95;
        assert_eq!(field_of(&t), "ratio");
        let mut t = row.clone();
        t.interval[0] -= 0.01;
        assert_eq!(field_of(&t), "interval");
        let mut t = row.clone();
        t.caught = !t.caught;
        assert_eq!(field_of(&t), "caught");
        let mut t = row.clone();
        t.slowed = base.clone();
        assert_eq!(field_of(&t), "ratio");
        let mut t = row.clone();
        t.unit = "bytes".into();
        assert_eq!(t.rejudge(21), Err(PairedError::UntimedUnit { unit: "bytes".into() }));
    }

    #[test]
    fn smallest_caught_requires_every_larger_slowdown_caught() {
        let row = |gate: &str, slowdown: f64, caught: bool| SlowdownRow {
            gate: gate.into(),
            metric: "m".into(),
            slowdown,
            tolerance: 0.05,
            ratio: 1.0 - slowdown,
            interval: [1.0 - slowdown; 2],
            caught,
            unit: "ms".into(),
            base: Vec::new(),
            slowed: Vec::new(),
        };
        let rows = [row("g", 0.1, true), row("g", 0.2, false), row("h", 0.3, true), row("g", 0.05, true)];
        assert_eq!(smallest_caught(&rows, "g", "m"), None);
        assert_eq!(smallest_caught(&rows, "h", "m"), Some(0.3));
        assert_eq!(smallest_caught(&rows[..1], "g", "m"), Some(0.1));
        assert_eq!(smallest_caught(&[], "g", "m"), None);
    }
}
