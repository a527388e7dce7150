//! The comparison of a run with an earlier audit (`--baseline`): [`BaselineComparison`], one
//! [`MetricChange`] per metric of either run.

use serde::{Deserialize, Serialize};

/// How one metric moved against a baseline audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Within the measured noise of both runs.
    Unchanged,
    /// Beyond the noise, in the passing direction.
    Improved,
    /// Beyond the noise, towards failing.
    Regressed,
    /// Beyond the noise, for a metric with no better direction (`==`).
    Changed,
    /// Only in the current run.
    Added,
    /// Only in the baseline.
    Removed,
}

/// One metric compared with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// Metric id: `gate:<name>`, `parity:<scenario>/<candidate>` (worst error), or one the
    /// comparing tool gives a table row (ironforge's xtask:
    /// `kernel:<candidate>/<reference>@L<bucket>/<mask>/t<threads>`).
    pub metric: String,
    /// Unit of the values.
    pub unit: String,
    /// Baseline point value.
    pub baseline: Option<f64>,
    /// Baseline noise band.
    pub baseline_band: Option<[f64; 2]>,
    /// Current point value.
    pub current: Option<f64>,
    /// Current noise band.
    pub current_band: Option<[f64; 2]>,
    /// The comparison's outcome.
    pub status: ChangeStatus,
}

/// The comparison of this run with an earlier audit (`--baseline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// Path of the baseline audit as given.
    pub path: String,
    /// sha256 of the baseline file.
    pub sha256: String,
    /// The baseline's git commit.
    pub commit: Option<String>,
    /// The rule used to call a change, in words.
    pub rule: String,
    /// Every metric of either run.
    pub changes: Vec<MetricChange>,
}

impl BaselineComparison {
    /// Number of metrics that regressed.
    pub fn regressions(&self) -> usize {
        self.changes.iter().filter(|c| c.status == ChangeStatus::Regressed).count()
    }
}
