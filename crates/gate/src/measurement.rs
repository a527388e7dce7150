//! What a metric function returns: a value in a unit, an optional 95% interval and samples.

use super::spec::Unit;

/// One measurement made by a metric function: what a *dynamic* metric returns (its unit known
/// at run time; the gate declares it with `unit = ...`). A static metric returns
/// [`Measured<U>`](super::units::Measured) instead.
///
/// ```
/// use ironforge_gate::{Measurement, Unit};
/// let m = Measurement::new(0.03, Unit::Abs).with_samples(vec![0.01, 0.03]);
/// assert_eq!(m.value, 0.03);
/// assert!(m.interval.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The point value (median ratio, worst error, peak bytes...).
    pub value: f64,
    /// Unit of `value`, `interval` and `samples`.
    pub unit: Unit,
    /// 95% interval, when the metric has one; the gate is judged on its conservative end.
    pub interval: Option<[f64; 2]>,
    /// Raw samples (possibly empty).
    pub samples: Vec<f64>,
}

impl Measurement {
    /// A point value without interval or samples.
    pub fn new(value: f64, unit: Unit) -> Self {
        Measurement { value, unit, interval: None, samples: Vec::new() }
    }
    /// Adds a 95% interval `[low, high]`.
    pub fn with_interval(mut self, low: f64, high: f64) -> Self {
        self.interval = Some([low, high]);
        self
    }
    /// Adds raw samples.
    pub fn with_samples(mut self, samples: Vec<f64>) -> Self {
        self.samples = samples;
        self
    }
}

/// The generic "value" metric: whatever number user code computed (a stability figure, a
/// variance...), in `unit`. It exists so that gates read `value(...)` when nothing else fits.
/// A dynamic metric: a gate on it states its unit (`gate!(g: value(v, Unit::Abs) < 0.05, unit = abs, ...)`).
///
/// ```
/// use ironforge_gate::{value, GateContext, Unit};
/// let ctx = GateContext::for_test("g");
/// let m = value(&ctx, 0.02, Unit::Abs).unwrap();
/// assert_eq!(m.value, 0.02);
/// ```
pub fn value(_ctx: &super::GateContext, v: f64, unit: Unit) -> Result<Measurement, super::GateError> {
    Ok(Measurement::new(v, unit))
}
