//! The noise of the A/A control arm: the minimum detectable effect of a run
//! ([`minimum_detectable_effect`], [`powered`]) and its noise floor ([`noise_floor`]).

use super::{RatioSummary, Z_CONFIDENCE, Z_POWER};

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
