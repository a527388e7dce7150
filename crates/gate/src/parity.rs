//! Parity comparisons: max abs, the FlashAttention relative rule and exact equality, applied
//! to every case of a set (ironforge's cases are sessions), giving one [`ParityRow`] per case.

use super::context::GateContext;
use super::error::GateError;
use super::measurement::Measurement;
use super::record::ParityRow;
use super::spec::Unit;

/// Something a parity scenario compares on: it has an id and a size. A type of user
/// code implements it next to itself (ironforge's sessions do, in `src/session/parity.rs`).
pub trait ParityCase {
    /// Id written to [`ParityRow::case`].
    fn case_id(&self) -> String;
    /// Size written to [`ParityRow::size`] (a session's events, say).
    fn case_size(&self) -> usize;
}

/// A named input of any type, for scenarios whose cases are not sessions.
///
/// ```
/// use ironforge_gate::parity::{Case, ParityCase};
/// let c = Case::new("ramp", vec![1.0, 2.0]);
/// assert_eq!((c.case_id(), c.case_size()), ("ramp".to_string(), 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Case<T> {
    /// Case id.
    pub id: String,
    /// The input.
    pub data: Vec<T>,
}

impl<T> Case<T> {
    /// A case from its id and data.
    pub fn new(id: impl Into<String>, data: Vec<T>) -> Self {
        Case { id: id.into(), data }
    }
}

impl<T> ParityCase for Case<T> {
    fn case_id(&self) -> String {
        self.id.clone()
    }
    fn case_size(&self) -> usize {
        self.data.len()
    }
}

/// An output compared numerically: flattened to `f64` values in a fixed order. The framework
/// knows scalars and vectors; an array type is flattened by its output function (an ndarray
/// array: `a.iter().copied().collect::<Vec<f64>>()`, in logical order).
pub trait NumericOutput {
    /// The values, flattened.
    fn flat_values(&self) -> Vec<f64>;
}

impl NumericOutput for f64 {
    fn flat_values(&self) -> Vec<f64> {
        vec![*self]
    }
}
impl NumericOutput for f32 {
    fn flat_values(&self) -> Vec<f64> {
        vec![f64::from(*self)]
    }
}
impl NumericOutput for Vec<f64> {
    fn flat_values(&self) -> Vec<f64> {
        self.clone()
    }
}
impl NumericOutput for Vec<f32> {
    fn flat_values(&self) -> Vec<f64> {
        self.iter().map(|&x| f64::from(x)).collect()
    }
}

/// Produces the cases of a scenario (e.g. loads a session set).
pub type CasesFn<C> = fn(&GateContext) -> Result<Vec<C>, GateError>;
/// Computes an output (reference, candidate or same-precision reference) for one case.
pub type OutputFn<C, O> = fn(&GateContext, &C) -> Result<O, GateError>;

/// Max |candidate − reference| over all values; `None` when the lengths differ. A NaN on
/// either side counts as an infinite error (never as a match).
///
/// ```
/// use ironforge_gate::parity::max_abs_diff;
/// assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.0, 2.5]), Some(0.5));
/// assert_eq!(max_abs_diff(&[1.0], &[f64::NAN]), Some(f64::INFINITY));
/// assert_eq!(max_abs_diff(&[1.0], &[]), None);
/// ```
pub fn max_abs_diff(reference: &[f64], candidate: &[f64]) -> Option<f64> {
    if reference.len() != candidate.len() {
        return None;
    }
    let mut worst: f64 = 0.0;
    for (r, c) in reference.iter().zip(candidate) {
        let d = (c - r).abs();
        if d.is_nan() {
            return Some(f64::INFINITY);
        }
        worst = worst.max(d);
    }
    Some(worst)
}

/// The FlashAttention rule's allowed error: `max(2 · same_precision_error, floor)`, where
/// `same_precision_error = max|out_same_precision − ref|`.
///
/// ```
/// use ironforge_gate::parity::flash_tolerance;
/// assert_eq!(flash_tolerance(1e-7, 0.0), 2e-7);
/// assert_eq!(flash_tolerance(0.0, 1e-6), 1e-6);
/// ```
pub fn flash_tolerance(same_precision_error: f64, floor: f64) -> f64 {
    (2.0 * same_precision_error).max(floor)
}

/// How a numeric scenario judges a case.
#[derive(Debug)]
pub enum NumericRule<C, O> {
    /// Every case's max abs error ≤ `tolerance`.
    MaxAbs {
        /// Allowed max abs error.
        tolerance: f64,
    },
    /// `max|out − ref| ≤ max(2 · max|same_precision − ref|, floor)` per case.
    Flash {
        /// The reference recomputed in the candidate's precision with operations reordered.
        same_precision: OutputFn<C, O>,
        /// Absolute floor of the allowed error.
        floor: f64,
    },
}

impl<C, O> Clone for NumericRule<C, O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, O> Copy for NumericRule<C, O> {}

/// What a scenario measured: one row per case and the judged number.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityOutcome {
    /// One row per case, in case order.
    pub rows: Vec<ParityRow>,
    /// max abs: worst error (unit abs); flash: worst error / allowed (unit x); exact: number
    /// of mismatching cases (unit abs).
    pub measurement: Measurement,
    /// The number `measurement.value` must not exceed.
    pub threshold: f64,
    /// Index of the worst row.
    pub worst: usize,
}

impl ParityOutcome {
    fn from_rows(
        rows: Vec<ParityRow>,
        scenario: &str,
        rule_value: impl Fn(&ParityRow) -> f64,
        unit: Unit,
        threshold: f64,
        sum: bool,
    ) -> Result<Self, GateError> {
        if rows.is_empty() {
            return Err(GateError::NoCases { scenario: scenario.to_string() });
        }
        let scores: Vec<f64> = rows.iter().map(&rule_value).collect();
        let worst = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
        let value = if sum { scores.iter().sum() } else { scores[worst] };
        let measurement = Measurement::new(value, unit).with_samples(scores);
        Ok(ParityOutcome { rows, measurement, threshold, worst })
    }
}

fn row(case: &impl ParityCase, candidate: &str, error: f64, tolerance: f64) -> ParityRow {
    ParityRow { case: case.case_id(), size: case.case_size(), candidate: candidate.to_string(), error, tolerance }
}

fn diff(ctx: &GateContext, case: &impl ParityCase, reference: &[f64], candidate: &[f64]) -> Result<f64, GateError> {
    max_abs_diff(reference, candidate).ok_or_else(|| GateError::ShapeMismatch {
        scenario: ctx.name().to_string(),
        case: case.case_id(),
        reference: reference.len(),
        candidate: candidate.len(),
    })
}

/// Runs a numeric scenario over every case: reference and candidate (and, for the flash rule,
/// the same-precision reference) per case, then judges each row.
pub fn run_numeric<C: ParityCase, O: NumericOutput>(
    ctx: &GateContext,
    cases: CasesFn<C>,
    reference: OutputFn<C, O>,
    candidate: OutputFn<C, O>,
    candidate_name: &str,
    rule: NumericRule<C, O>,
) -> Result<ParityOutcome, GateError> {
    let cases = cases(ctx)?;
    let mut rows = Vec::with_capacity(cases.len());
    for case in &cases {
        let r = reference(ctx, case)?.flat_values();
        let c = candidate(ctx, case)?.flat_values();
        let error = diff(ctx, case, &r, &c)?;
        let tolerance = match rule {
            NumericRule::MaxAbs { tolerance } => tolerance,
            NumericRule::Flash { same_precision, floor } => {
                let s = same_precision(ctx, case)?.flat_values();
                flash_tolerance(diff(ctx, case, &r, &s)?, floor)
            }
        };
        rows.push(row(case, candidate_name, error, tolerance));
    }
    match rule {
        NumericRule::MaxAbs { tolerance } => {
            ParityOutcome::from_rows(rows, ctx.name(), |r| r.error, Unit::Abs, tolerance, false)
        }
        NumericRule::Flash { .. } => ParityOutcome::from_rows(rows, ctx.name(), flash_score, Unit::Ratio, 1.0, false),
    }
}

/// Error over allowed error of a flash-rule row (0 when both are 0, ∞ when only the allowance is).
pub fn flash_score(row: &ParityRow) -> f64 {
    if row.error == 0.0 {
        0.0
    } else if row.tolerance == 0.0 || row.error.is_infinite() {
        f64::INFINITY
    } else {
        row.error / row.tolerance
    }
}

/// Runs an exact scenario: each row's error is 0 (equal) or 1 (different); the value is the
/// number of differing cases and must be 0.
pub fn run_exact<C: ParityCase, O: PartialEq>(
    ctx: &GateContext,
    cases: CasesFn<C>,
    reference: OutputFn<C, O>,
    candidate: OutputFn<C, O>,
    candidate_name: &str,
) -> Result<ParityOutcome, GateError> {
    let cases = cases(ctx)?;
    let mut rows = Vec::with_capacity(cases.len());
    for case in &cases {
        let equal = reference(ctx, case)? == candidate(ctx, case)?;
        rows.push(row(case, candidate_name, if equal { 0.0 } else { 1.0 }, 0.0));
    }
    ParityOutcome::from_rows(rows, ctx.name(), |r| r.error, Unit::Abs, 0.0, true)
}
