//! Lift, z-score, p-value and the PROMOTE / PARK / DISCARD classes.

use std::fmt;

use serde::Serialize;

use super::census::MotifId;
use super::stats::upper_tail_p;

/// Class of a motif after the null-model test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MotifClass {
    /// Over-represented beyond doubt: lift ≥ 2, p < 0.01, CI low ≥ 1.5 (defaults).
    Promote,
    /// Neither promoted nor discarded.
    Park,
    /// Not over-represented: p > 0.05, lift < 1.5 or CI low ≤ 1 (defaults).
    Discard,
}

impl MotifClass {
    /// Upper-case name as in the original (`PROMOTE`, `PARK`, `DISCARD`).
    pub fn name(self) -> &'static str {
        match self {
            MotifClass::Promote => "PROMOTE",
            MotifClass::Park => "PARK",
            MotifClass::Discard => "DISCARD",
        }
    }
}

impl fmt::Display for MotifClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The original's thresholds, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// Floor of the null mean in the lift's denominator (0.1).
    pub null_mean_floor: f64,
    /// PROMOTE needs lift ≥ this (2.0).
    pub promote_lift: f64,
    /// PROMOTE needs p < this (0.01).
    pub promote_p: f64,
    /// PROMOTE needs CI low ≥ this (1.5).
    pub promote_ci_low: f64,
    /// DISCARD when p > this (0.05).
    pub discard_p: f64,
    /// DISCARD when lift < this (1.5).
    pub discard_lift: f64,
    /// DISCARD when CI low ≤ this (1.0).
    pub discard_ci_low: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            null_mean_floor: 0.1,
            promote_lift: 2.0,
            promote_p: 0.01,
            promote_ci_low: 1.5,
            discard_p: 0.05,
            discard_lift: 1.5,
            discard_ci_low: 1.0,
        }
    }
}

impl Thresholds {
    /// `observed / max(null_mean, floor)`.
    ///
    /// ```
    /// use ironforge::motif::lift::Thresholds;
    /// let t = Thresholds::default();
    /// assert_eq!(t.lift(3.0, 1.5), 2.0);
    /// assert_eq!(t.lift(3.0, 0.0), 30.0);
    /// ```
    pub fn lift(&self, observed: f64, null_mean: f64) -> f64 {
        observed / null_mean.max(self.null_mean_floor)
    }

    /// PROMOTE first, then DISCARD, else PARK. A NaN p or CI never promotes.
    ///
    /// ```
    /// use ironforge::motif::lift::{MotifClass, Thresholds};
    /// let t = Thresholds::default();
    /// assert_eq!(t.classify(2.5, 0.001, 1.8), MotifClass::Promote);
    /// assert_eq!(t.classify(2.5, 0.001, 1.2), MotifClass::Park);
    /// assert_eq!(t.classify(1.4, 0.001, 1.2), MotifClass::Discard);
    /// ```
    pub fn classify(&self, lift: f64, p: f64, ci_low: f64) -> MotifClass {
        if lift >= self.promote_lift && p < self.promote_p && ci_low >= self.promote_ci_low {
            MotifClass::Promote
        } else if p > self.discard_p || lift < self.discard_lift || ci_low <= self.discard_ci_low {
            MotifClass::Discard
        } else {
            MotifClass::Park
        }
    }
}

/// z-score and upper-tail p-value of an observed count against the null mean and std.
/// With std = 0 the null is a point: z = ±∞ (p = 0 or 1) when the count differs, z = 0 and
/// p = 0.5 when it equals the mean.
///
/// ```
/// use ironforge::motif::lift::z_and_p;
/// let (z, p) = z_and_p(12.0, 10.0, 1.0);
/// assert_eq!(z, 2.0);
/// assert!((p - 0.022_750_131_948_179).abs() < 1e-12);
/// ```
pub fn z_and_p(observed: f64, mean: f64, std: f64) -> (f64, f64) {
    let z = if std > 0.0 {
        (observed - mean) / std
    } else if observed > mean {
        f64::INFINITY
    } else if observed < mean {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    (z, upper_tail_p(z))
}

/// One row of the motif table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotifStat {
    /// The motif.
    pub id: MotifId,
    /// Observed instances, all sessions together.
    pub count: u64,
    /// Mean instances per null iteration, all sessions together.
    pub null_mean: f64,
    /// Standard deviation of the null iterations' totals.
    pub null_std: f64,
    /// `count / max(null_mean, floor)`.
    pub lift: f64,
    /// `(count − null_mean) / null_std`.
    pub z: f64,
    /// `1 − Φ(z)`.
    pub p: f64,
    /// Lower end of the bootstrap interval of the lift.
    pub ci_low: f64,
    /// Upper end of the bootstrap interval of the lift.
    pub ci_high: f64,
    /// PROMOTE / PARK / DISCARD.
    pub class: MotifClass,
}
