//! One gate or scenario in the audit ([`GateRow`]): its record, what its fault showed
//! ([`ProofStatus`]) and its release verdict, judged again from the record's own numbers.

use super::AuditError;
use crate::judge::bound_from;
use crate::record::{Proof, Record, RecordKind, Verdict};
use crate::spec::Comparator;
use serde::{Deserialize, Serialize};

/// Whether the fault-injected run of a row showed that the row can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofStatus {
    /// Faults were not injected in this run.
    NotRequested,
    /// Under its fault the row failed, as it must.
    Holds,
    /// Under its fault the row still passed: it cannot be shown to fail.
    DidNotFail,
    /// Faults were injected but the row recorded no proof.
    Missing,
}

impl ProofStatus {
    /// The status of `proof` in a run with or without faults.
    pub fn of(prove: bool, proof: Option<&Proof>) -> Self {
        match (prove, proof) {
            (_, Some(p)) if p.verdict == Verdict::Fail => ProofStatus::Holds,
            (_, Some(_)) => ProofStatus::DidNotFail,
            (true, None) => ProofStatus::Missing,
            (false, None) => ProofStatus::NotRequested,
        }
    }
}

/// One gate or scenario: the harness's record plus its release verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    /// The record as measured (details moved into the audit's typed tables are removed).
    #[serde(flatten)]
    pub record: Record,
    /// What the fault-injected run showed.
    pub proof_status: ProofStatus,
    /// The verdict the release check uses: see [`GateRow::compute_release_verdict`].
    pub release_verdict: Verdict,
}

/// Equal, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

impl GateRow {
    /// Judges the row again from its value, interval, comparator and threshold, as the runner
    /// did: refuses an unknown comparator and a stored bound, verdict or margin that differs
    /// (exactly: they are copied numbers; NaN equals NaN, and a NaN bound never passes).
    pub fn rejudge(&self) -> Result<(), AuditError> {
        let r = &self.record;
        let comparator = Comparator::from_symbol(&r.comparator)
            .ok_or_else(|| AuditError::UnknownComparator { name: r.name.clone(), comparator: r.comparator.clone() })?;
        let bound = bound_from(comparator, r.value, r.interval);
        if !same(bound, r.bound) {
            return Err(AuditError::ContradictoryJudgement {
                name: r.name.clone(),
                field: "bound",
                stored: r.bound,
                recomputed: bound,
            });
        }
        let verdict = if comparator.holds(bound, r.threshold) { Verdict::Pass } else { Verdict::Fail };
        if verdict != r.verdict {
            return Err(AuditError::ContradictoryVerdict {
                name: r.name.clone(),
                stored: r.verdict,
                computed: verdict,
                bound,
                comparator: r.comparator.clone(),
                threshold: r.threshold,
            });
        }
        let margin = comparator.margin(bound, r.threshold);
        if !same(margin, r.margin) {
            return Err(AuditError::ContradictoryJudgement {
                name: r.name.clone(),
                field: "margin",
                stored: r.margin,
                recomputed: margin,
            });
        }
        Ok(())
    }

    /// Pass iff the record passed and, in a `--prove` run, its proof does not contradict it:
    /// a gate needs a proof that holds; a scenario's proof, when present, must hold.
    pub fn compute_release_verdict(&self) -> Verdict {
        let proof_ok = match (self.record.kind, self.proof_status) {
            (_, ProofStatus::Holds) | (_, ProofStatus::NotRequested) => true,
            (_, ProofStatus::DidNotFail) => false,
            (RecordKind::Gate, ProofStatus::Missing) => false,
            (RecordKind::Scenario, ProofStatus::Missing) => true,
        };
        if self.record.verdict == Verdict::Pass && proof_ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}
