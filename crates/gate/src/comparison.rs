//! The audit's comparison of the candidate with a base revision (`release-check --against REV`):
//! paired regression rows per timed subject ([`paired`](super::paired)), output drift per
//! scenario ([`drift`](super::drift)), calibrated slowdowns under `--prove`, and how the
//! interleaved rounds ended. Every row is stored with its raw samples and re-judged when an
//! audit is read ([`Comparison::validate`]).

use serde::{Deserialize, Serialize};

use super::drift::DriftRow;
use super::paired::{PairedError, RegressionRow, RegressionVerdict, SlowdownRow};

/// Why the interleaved rounds stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every timed subject's minimum detectable effect (from the A/A control) fell under its
    /// gate's tolerance after at least the minimum number of rounds.
    Powered,
    /// The time budget ran out first.
    Budget,
    /// The largest number of rounds was reached first.
    MaxRounds,
    /// Nothing to time: neither build declares a probe the other has.
    NothingToTime,
}

impl StopReason {
    /// The reason in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::Powered => "every timed subject's MDE fell under its tolerance",
            StopReason::Budget => "the time budget ran out",
            StopReason::MaxRounds => "the largest number of rounds was reached",
            StopReason::NothingToTime => "no timed subject is declared by both builds",
        }
    }
}

/// How the interleaved rounds ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundsPlan {
    /// The arms, in a forward round's order (`base`, `candidate`, `control`, then one
    /// `base+K%` arm per calibrated slowdown); odd rounds run them in reverse (ABBA).
    pub arms: Vec<String>,
    /// Rounds run.
    pub rounds: usize,
    /// Rounds always run before stopping is considered.
    pub min_rounds: usize,
    /// Rounds never exceeded.
    pub max_rounds: usize,
    /// Time budget of the rounds, in seconds.
    pub budget_s: f64,
    /// Wall time the rounds took, in seconds.
    pub duration_s: f64,
    /// Why they stopped.
    pub stop: StopReason,
    /// Seed of every bootstrap stream.
    pub seed: u64,
}

/// The candidate compared with a base revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The revision as given (`main`, `HEAD~1`, a commit id).
    pub against: String,
    /// Its commit id.
    pub base_commit: String,
    /// The rounds.
    pub plan: RoundsPlan,
    /// Whether an underpowered row may pass (`--allow-underpowered`).
    pub allow_underpowered: bool,
    /// One row per timed subject both builds measure, sorted by gate and metric.
    pub rows: Vec<RegressionRow>,
    /// `gate/metric` measured by the candidate only (new: reported, not judged).
    pub new_in_candidate: Vec<String>,
    /// `gate/metric` measured by the base only (reported, not judged).
    pub gone_from_candidate: Vec<String>,
    /// Output drift, one row per scenario that declares `drift <= TOL` in either build.
    pub drift: Vec<DriftRow>,
    /// Calibrated slowdowns of the base against itself (`--prove`), per subject and level.
    pub slowdowns: Vec<SlowdownRow>,
    /// What else the reader must know (a base without probe or outputs mode, ...).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Every reason the comparison fails, in words (empty when it passes): regressed rows,
    /// underpowered rows unless allowed, drifted scenarios.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.rows {
            if r.verdict.fails(self.allow_underpowered) {
                let what = match r.verdict {
                    RegressionVerdict::Regressed => format!(
                        "regressed against {}: {:.3}x [{:.3}, {:.3}] is past the {}% tolerance",
                        self.against,
                        r.ratio,
                        r.interval[0],
                        r.interval[1],
                        r.tolerance * 100.0
                    ),
                    _ => format!(
                        "underpowered against {}: MDE {:.1}% exceeds the {}% tolerance (pass `--allow-underpowered` to accept)",
                        self.against,
                        r.mde * 100.0,
                        r.tolerance * 100.0
                    ),
                };
                out.push(format!("{}/{}: {what}", r.gate, r.metric));
            }
        }
        for d in self.drift.iter().filter(|d| d.fails()) {
            out.push(format!(
                "{}: outputs drifted against {} beyond the scenario's tolerance",
                d.scenario, self.against
            ));
        }
        out
    }

    /// Re-judges every regression and slowdown row from its stored samples (with the plan's
    /// seed); refuses the first row that disagrees.
    pub fn validate(&self) -> Result<(), PairedError> {
        for r in &self.rows {
            r.rejudge(self.plan.seed)?;
        }
        for s in &self.slowdowns {
            s.rejudge(self.plan.seed)?;
        }
        Ok(())
    }
}
