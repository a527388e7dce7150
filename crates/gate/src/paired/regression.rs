//! One timed metric of a release comparison: the candidate compared with the base and judged
//! ([`compare`] into a [`RegressionRow`]), and a stored row re-judged from its raw samples
//! ([`RegressionRow::rejudge`]).

use serde::{Deserialize, Serialize};

use super::ratios::arm_ratios;
use super::seed::{row_stream, STREAM_AB, STREAM_CONTROL};
use super::{
    judge, minimum_detectable_effect, noise_floor, row_seed, summarize, Better, PairedError, RegressionVerdict,
    RESAMPLES,
};
use crate::spec::Unit;
use crate::stats::median;

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

/// `value` must be a fraction in `[0, 1)`.
pub(super) fn check_fraction(name: &'static str, value: f64) -> Result<(), PairedError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(PairedError::BadFraction { name, value })
    }
}

/// The direction of `unit`, or an error for an untimed unit.
pub(super) fn better_of(unit: Unit) -> Result<Better, PairedError> {
    Better::of_unit(unit).ok_or_else(|| PairedError::UntimedUnit { unit: unit.name().to_string() })
}

/// Compares the candidate with the base for one timed metric and judges it: A/B and A/A ratios
/// ([`speed_ratios`]), their summaries ([`summarize`], [`RESAMPLES`] resamples each, on streams 0
/// and 1 of [`row_seed`]`(seed, gate, metric)`), the control's noise floor and MDE, and the
/// verdict of the regression rule ([`judge`]).
///
/// [`speed_ratios`]: super::speed_ratios
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
pub(super) use check_fields;

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
