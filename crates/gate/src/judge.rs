//! Judging a measurement against a comparator and a resolved threshold.

use super::measurement::Measurement;
use super::record::Verdict;
use super::spec::Comparator;

/// The number judged, its distance from the threshold and the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// The interval's conservative end (lower for `>=`/`>`, upper for `<=`/`<`), else the value.
    pub bound: f64,
    /// Signed distance from the threshold in the passing direction (positive = passing side).
    pub margin: f64,
    /// Whether `bound OP threshold` holds (NaN never passes).
    pub verdict: Verdict,
}

/// The bound a comparator judges: a `>=` gate passes only if the interval's lower end clears
/// the threshold, a `<=` gate only if its upper end does.
pub fn bound_of(comparator: Comparator, m: &Measurement) -> f64 {
    bound_from(comparator, m.value, m.interval)
}

/// [`bound_of`] from the numbers a record keeps (what the audit re-judges with).
///
/// ```
/// use ironforge_gate::{judge::bound_from, Comparator};
/// assert_eq!(bound_from(Comparator::Ge, 2.0, Some([1.8, 2.2])), 1.8);
/// assert_eq!(bound_from(Comparator::Lt, 2.0, Some([1.8, 2.2])), 2.2);
/// assert_eq!(bound_from(Comparator::Le, 2.0, None), 2.0);
/// ```
pub fn bound_from(comparator: Comparator, value: f64, interval: Option<[f64; 2]>) -> f64 {
    match interval {
        Some([low, high]) => {
            if comparator.wants_large() {
                low
            } else {
                high
            }
        }
        None => value,
    }
}

/// Judges `m` against `threshold` (already in `m.unit`).
///
/// ```
/// use ironforge_gate::{judge::judge, Comparator, Measurement, Unit};
/// use ironforge_gate::record::Verdict;
/// let m = Measurement::new(1.6, Unit::Ratio).with_interval(1.3, 1.9);
/// let j = judge(Comparator::Ge, 1.4, &m);
/// assert_eq!(j.bound, 1.3);
/// assert_eq!(j.verdict, Verdict::Fail);
/// ```
pub fn judge(comparator: Comparator, threshold: f64, m: &Measurement) -> Judgement {
    let bound = bound_of(comparator, m);
    let verdict = if comparator.holds(bound, threshold) { Verdict::Pass } else { Verdict::Fail };
    Judgement { bound, margin: comparator.margin(bound, threshold), verdict }
}

/// A failure message naming value, interval, bound, threshold and margin.
pub fn describe(
    name: &str,
    comparator: Comparator,
    threshold: f64,
    unit: &str,
    m: &Measurement,
    j: &Judgement,
) -> String {
    let interval = match m.interval {
        Some([lo, hi]) => format!(
            ", 95% interval [{lo:.6}, {hi:.6}], judged on its {} end",
            if comparator.wants_large() { "lower" } else { "upper" }
        ),
        None => String::new(),
    };
    format!(
        "`{name}`: value {:.6} {unit}{interval}; bound {:.6} {} {:.6} {unit} is {}; margin {:+.6} {unit}",
        m.value,
        j.bound,
        comparator.symbol(),
        threshold,
        if j.verdict == Verdict::Pass { "true" } else { "false" },
        j.margin
    )
}
