//! Paired statistics of a release comparison: the base build (A), the candidate build (B) and an
//! A/A control arm (the base binary run again), timed in interleaved rounds.
//!
//! One file per job:
//! - [`Better`], [`speed_ratios`], [`RatioSummary`], [`summarize`] (`ratios.rs`): the per-round
//!   speed ratios of two arms and their bootstrap summary;
//! - [`minimum_detectable_effect`], [`noise_floor`], [`powered`] (`power.rs`): the noise of the
//!   A/A control arm;
//! - [`RegressionVerdict`], [`judge`] (`rule.rs`): the regression rule;
//! - [`PairedInput`], [`RegressionRow`], [`compare`] (`regression.rs`): one timed metric
//!   compared and judged, and a stored row re-judged;
//! - [`SlowdownRow`], [`slowdown_row`], [`smallest_caught`] (`slowdown.rs`): the calibrated
//!   slowdowns of `--prove`;
//! - [`row_seed`] (`seed.rs`): the seeded bootstrap streams of each row;
//! - this file: the constants and [`PairedError`]; `tests.rs`: the tests (but the resample
//!   median's, kept beside that private function in `ratios.rs`).
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
//! (`tests/integration/gate_paired.rs`) catch a slowdown of exactly `tol + mde` in about 97% of runs.
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
//!
//! [`ChaCha8Rng`]: rand_chacha::ChaCha8Rng

mod power;
mod ratios;
mod regression;
mod rule;
mod seed;
mod slowdown;

pub use power::{minimum_detectable_effect, noise_floor, powered};
pub use ratios::{speed_ratios, summarize, Better, RatioSummary};
pub use regression::{compare, PairedInput, RegressionRow};
pub use rule::{judge, RegressionVerdict};
pub use seed::row_seed;
pub use slowdown::{slowdown_row, smallest_caught, SlowdownRow};

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

#[cfg(test)]
mod tests;
