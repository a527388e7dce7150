//! The regression rule: the verdict ([`RegressionVerdict`]) of an A/B summary against a
//! tolerance, given the control arm's minimum detectable effect ([`judge`]).

use serde::{Deserialize, Serialize};

use super::RatioSummary;

/// Outcome of the regression rule for one timed metric (see the [module documentation](super)).
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
