//! Calibrated slowdowns (`--prove`): the base arm slowed by a known fraction, compared with the
//! base like a candidate ([`slowdown_row`]), and the smallest slowdown the rule caught from on
//! ([`smallest_caught`]).

use serde::{Deserialize, Serialize};

use super::ratios::arm_ratios;
use super::regression::{better_of, check_fields, check_fraction};
use super::seed::{fnv1a, row_stream, STREAM_SLOWDOWN};
use super::{row_seed, summarize, PairedError, RESAMPLES};
use crate::spec::Unit;

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
/// [`compare`]: super::compare
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
