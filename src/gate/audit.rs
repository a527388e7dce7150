//! The audit file `audit_run.json` (schema [`AUDIT_SCHEMA`]): everything one release check
//! measured, and the single source every human-readable report is rendered from.
//!
//! [`AuditRun::from_measurements`] copies the harness's [`Measurements`] into typed tables
//! (gate rows, the kernel × L-bucket table, parity rows, circuit-breaker fallbacks) and
//! computes the overall verdict from the rows with [`AuditRun::compute_overall`].
//! [`AuditRun::validate`] refuses an audit whose stored verdict contradicts its rows, so no
//! report can show "passed" over a failing row.
//!
//! ```
//! use ironforge::gate::audit::{AuditRun, Machine, GitState, RunConfig};
//! use ironforge::gate::record::{Measurements, MEASUREMENTS_SCHEMA};
//!
//! let m = Measurements { schema: MEASUREMENTS_SCHEMA.into(), records: vec![] };
//! let audit = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), RunConfig::default()).unwrap();
//! // No gate ran: that is never a pass.
//! assert!(!audit.overall.passed());
//! audit.validate().unwrap();
//! ```

use crate::gate::record::{
    BenchRow, Measurements, ParityRow, Proof, Record, RecordKind, Tier, Verdict, DETAIL_BENCH_ROWS, DETAIL_FALLBACKS,
    DETAIL_PARITY_ROWS, MEASUREMENTS_SCHEMA,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id written in [`AuditRun::schema`].
pub const AUDIT_SCHEMA: &str = "ironforge.audit/1";

/// What can be wrong with measurements or with an audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The measurements carry another schema id.
    #[error("measurements schema is `{found}`, expected `{expected}`")]
    MeasurementsSchema {
        /// Schema found.
        found: String,
        /// Schema expected.
        expected: &'static str,
    },
    /// The audit carries another schema id.
    #[error("audit schema is `{found}`, expected `{expected}`")]
    AuditSchema {
        /// Schema found.
        found: String,
        /// Schema expected.
        expected: &'static str,
    },
    /// A record's detail under a known key does not have the documented shape.
    #[error("record `{record}`: detail `{key}` is malformed: {source}")]
    MalformedDetail {
        /// Record name.
        record: String,
        /// Detail key.
        key: &'static str,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// Two records share a name.
    #[error("record `{name}` appears twice in the measurements")]
    DuplicateRecord {
        /// The repeated name.
        name: String,
    },
    /// The stored overall verdict is not the one the rows give.
    #[error("overall verdict stored as {stored:?} but the rows give {computed:?}")]
    ContradictoryOverall {
        /// Stored verdict.
        stored: Verdict,
        /// Verdict computed from the rows.
        computed: Verdict,
    },
    /// A row's release verdict is not the one its own fields give.
    #[error("row `{name}`: release verdict stored as {stored:?} but its verdict and proof give {computed:?}")]
    ContradictoryRow {
        /// Row name.
        name: String,
        /// Stored verdict.
        stored: Verdict,
        /// Verdict computed from the row.
        computed: Verdict,
    },
}

/// The machine the check ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo` `model name`).
    pub cpu_model: String,
    /// Logical CPUs the process may use.
    pub logical_cores: usize,
    /// Total RAM in bytes (`/proc/meminfo` `MemTotal`), 0 when unknown.
    pub ram_bytes: u64,
    /// Relevant CPU features (`avx2`, `avx512f`, `avx512_bf16`, ...) and whether present.
    pub cpu_flags: BTreeMap<String, bool>,
    /// Operating system and architecture (`linux/x86_64`).
    pub os: String,
}

/// The source tree the check ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    /// `git rev-parse HEAD`, when git could tell.
    pub commit: Option<String>,
    /// Whether `git status --porcelain` listed anything; `None` when git could not tell.
    pub dirty: Option<bool>,
    /// The paths `git status --porcelain` listed (at most 50).
    pub dirty_paths: Vec<String>,
}

/// How the check was configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Gate tier run: `release` or `quick`.
    pub tier: String,
    /// Session sets: `golden`, `canary` or `golden,canary`.
    pub sessions: String,
    /// Seed handed to the harness.
    pub seed: u64,
    /// Whether every gate was also run under its fault (`--prove`).
    pub prove: bool,
    /// Every `IRONFORGE_*` variable the harness saw.
    pub env: BTreeMap<String, String>,
    /// The harness command line, or a note that measurements were read from a file.
    pub harness: Vec<String>,
    /// Exit status of the harness process (`None` when it was not run or was killed).
    pub harness_exit_code: Option<i32>,
    /// Wall time of the harness in seconds (0 when not run).
    pub harness_duration_s: f64,
    /// Index of this run in a `--repeat` series (0 otherwise).
    pub repeat_index: usize,
}

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

impl GateRow {
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

/// One cell of the kernel × L-bucket table, with the gate that measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelCell {
    /// Record the row came from.
    pub gate: String,
    /// The measured ratio.
    #[serde(flatten)]
    pub row: BenchRow,
}

/// One parity row, with the scenario that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityEntry {
    /// Record the row came from.
    pub scenario: String,
    /// The measured error.
    #[serde(flatten)]
    pub row: ParityRow,
}

/// Fallbacks counted by a circuit breaker during one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackCount {
    /// Record the count came from.
    pub gate: String,
    /// Kernel that fell back.
    pub kernel: String,
    /// How many times.
    pub count: u64,
}

/// The overall verdict and, when it fails, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    /// Pass only when every row passes, at least one gate ran and the harness exited 0.
    pub verdict: Verdict,
    /// One line per reason for failing (empty on a pass).
    pub reasons: Vec<String>,
}

impl Overall {
    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

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
    /// Metric id: `gate:<name>`, `kernel:<candidate>/<reference>@L<bucket>/<mask>/t<threads>` or
    /// `parity:<scenario>/<candidate>` (worst error).
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

/// The whole audit of one release check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRun {
    /// Always [`AUDIT_SCHEMA`].
    pub schema: String,
    /// The machine.
    pub machine: Machine,
    /// The source tree.
    pub git: GitState,
    /// The configuration and flags.
    pub config: RunConfig,
    /// Every gate and scenario, sorted by name.
    pub gates: Vec<GateRow>,
    /// The kernel × L-bucket table, sorted by candidate, reference, mask, threads, bucket.
    pub kernel_table: Vec<KernelCell>,
    /// Every parity row, sorted by scenario, events, session, candidate.
    pub parity: Vec<ParityEntry>,
    /// Circuit-breaker fallbacks, sorted by gate and kernel.
    pub fallbacks: Vec<FallbackCount>,
    /// Comparison with a baseline audit, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    /// The overall verdict, computed from the rows.
    pub overall: Overall,
}

fn take_detail<T: serde::de::DeserializeOwned>(
    record: &mut Record,
    key: &'static str,
) -> Result<Option<T>, AuditError> {
    match record.details.remove(key) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|source| AuditError::MalformedDetail {
            record: record.name.clone(),
            key,
            source,
        }),
    }
}

impl AuditRun {
    /// Builds the audit from the harness's measurements and the run's context.
    pub fn from_measurements(
        m: &Measurements,
        machine: Machine,
        git: GitState,
        config: RunConfig,
    ) -> Result<Self, AuditError> {
        if m.schema != MEASUREMENTS_SCHEMA {
            return Err(AuditError::MeasurementsSchema { found: m.schema.clone(), expected: MEASUREMENTS_SCHEMA });
        }
        let mut gates = Vec::with_capacity(m.records.len());
        let mut kernel_table = Vec::new();
        let mut parity = Vec::new();
        let mut fallbacks = Vec::new();
        for source in &m.records {
            let mut record = source.clone();
            let name = record.name.clone();
            if let Some(rows) = take_detail::<Vec<BenchRow>>(&mut record, DETAIL_BENCH_ROWS)? {
                kernel_table.extend(rows.into_iter().map(|row| KernelCell { gate: name.clone(), row }));
            }
            if let Some(rows) = take_detail::<Vec<ParityRow>>(&mut record, DETAIL_PARITY_ROWS)? {
                parity.extend(rows.into_iter().map(|row| ParityEntry { scenario: name.clone(), row }));
            }
            if let Some(map) = take_detail::<BTreeMap<String, u64>>(&mut record, DETAIL_FALLBACKS)? {
                fallbacks.extend(map.into_iter().map(|(kernel, count)| FallbackCount {
                    gate: name.clone(),
                    kernel,
                    count,
                }));
            }
            let proof_status = ProofStatus::of(config.prove, record.proof.as_ref());
            let mut row = GateRow { record, proof_status, release_verdict: Verdict::Fail };
            row.release_verdict = row.compute_release_verdict();
            gates.push(row);
        }
        gates.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        if let Some(w) = gates.windows(2).find(|w| w[0].record.name == w[1].record.name) {
            return Err(AuditError::DuplicateRecord { name: w[0].record.name.clone() });
        }
        kernel_table.sort_by(|a, b| {
            let ka = (&a.row.candidate, &a.row.reference, &a.row.mask, a.row.threads, a.row.l_bucket, &a.gate);
            let kb = (&b.row.candidate, &b.row.reference, &b.row.mask, b.row.threads, b.row.l_bucket, &b.gate);
            ka.cmp(&kb)
        });
        parity.sort_by(|a, b| {
            let ka = (&a.scenario, a.row.events, &a.row.session_id, &a.row.candidate);
            let kb = (&b.scenario, b.row.events, &b.row.session_id, &b.row.candidate);
            ka.cmp(&kb)
        });
        fallbacks.sort_by(|a, b| (&a.gate, &a.kernel).cmp(&(&b.gate, &b.kernel)));
        let mut audit = AuditRun {
            schema: AUDIT_SCHEMA.to_string(),
            machine,
            git,
            config,
            gates,
            kernel_table,
            parity,
            fallbacks,
            baseline: None,
            overall: Overall { verdict: Verdict::Fail, reasons: vec![] },
        };
        audit.overall = audit.compute_overall();
        Ok(audit)
    }

    /// The overall verdict the rows give: pass iff at least one gate ran, every row's release
    /// verdict passes and the harness (when it ran) exited 0.
    pub fn compute_overall(&self) -> Overall {
        let mut reasons = Vec::new();
        if !self.gates.iter().any(|g| g.record.kind == RecordKind::Gate) {
            reasons.push("no gate ran".to_string());
        }
        for g in &self.gates {
            if g.compute_release_verdict() == Verdict::Fail {
                let why = if g.record.verdict == Verdict::Fail {
                    format!("{} {} {} {}", g.record.metric, g.record.bound, g.record.comparator, g.record.threshold)
                } else {
                    format!("proof {:?}", g.proof_status)
                };
                reasons.push(format!("`{}` failed: {why}", g.record.name));
            }
        }
        if let Some(code) = self.config.harness_exit_code {
            if code != 0 {
                reasons.push(format!("gate harness exited with status {code}"));
            }
        }
        let verdict = if reasons.is_empty() { Verdict::Pass } else { Verdict::Fail };
        Overall { verdict, reasons }
    }

    /// Checks the schema id and that every stored verdict is the one its rows give.
    pub fn validate(&self) -> Result<(), AuditError> {
        if self.schema != AUDIT_SCHEMA {
            return Err(AuditError::AuditSchema { found: self.schema.clone(), expected: AUDIT_SCHEMA });
        }
        for g in &self.gates {
            let computed = g.compute_release_verdict();
            if computed != g.release_verdict {
                return Err(AuditError::ContradictoryRow {
                    name: g.record.name.clone(),
                    stored: g.release_verdict,
                    computed,
                });
            }
        }
        let computed = self.compute_overall();
        if computed.verdict != self.overall.verdict {
            return Err(AuditError::ContradictoryOverall { stored: self.overall.verdict, computed: computed.verdict });
        }
        Ok(())
    }

    /// Rows of the release tier that are gates (the ones `--prove` must show failing).
    pub fn release_gates(&self) -> impl Iterator<Item = &GateRow> {
        self.gates.iter().filter(|g| g.record.kind == RecordKind::Gate && g.record.tier == Tier::Release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, verdict: Verdict, proof: Option<Verdict>) -> Record {
        Record {
            name: name.into(),
            kind: RecordKind::Gate,
            family: "attention".into(),
            tier: Tier::Release,
            metric: "speedup".into(),
            comparator: ">=".into(),
            threshold: 1.4,
            unit: "x".into(),
            value: 2.0,
            interval: Some([1.8, 2.2]),
            bound: 1.8,
            margin: 0.4,
            verdict,
            samples: vec![1.9, 2.0, 2.1],
            duration_s: 0.5,
            doc: "doc".into(),
            proof: proof.map(|verdict| Proof { fault: "slowed 2x".into(), value: 0.9, verdict }),
            details: BTreeMap::new(),
        }
    }

    fn audit(records: Vec<Record>, prove: bool) -> Result<AuditRun, AuditError> {
        let m = Measurements { schema: MEASUREMENTS_SCHEMA.into(), records };
        let config = RunConfig { prove, ..RunConfig::default() };
        AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config)
    }

    #[test]
    fn passing_rows_pass_and_one_failing_row_fails_overall() {
        let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Pass, None)], false).unwrap();
        assert!(a.overall.passed(), "{:?}", a.overall);
        let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Fail, None)], false).unwrap();
        assert!(!a.overall.passed());
        assert_eq!(a.overall.reasons.len(), 1);
        assert!(a.overall.reasons[0].contains("`b`"));
    }

    #[test]
    fn prove_requires_a_failing_proof_for_every_gate() {
        let holds = audit(vec![record("a", Verdict::Pass, Some(Verdict::Fail))], true).unwrap();
        assert!(holds.overall.passed());
        assert_eq!(holds.gates[0].proof_status, ProofStatus::Holds);
        let did_not_fail = audit(vec![record("a", Verdict::Pass, Some(Verdict::Pass))], true).unwrap();
        assert!(!did_not_fail.overall.passed());
        assert_eq!(did_not_fail.gates[0].proof_status, ProofStatus::DidNotFail);
        let missing = audit(vec![record("a", Verdict::Pass, None)], true).unwrap();
        assert_eq!(missing.gates[0].proof_status, ProofStatus::Missing);
        assert!(!missing.overall.passed());
    }

    #[test]
    fn tampered_overall_or_row_is_refused() {
        let mut a = audit(vec![record("a", Verdict::Fail, None)], false).unwrap();
        a.validate().unwrap();
        a.overall.verdict = Verdict::Pass;
        assert!(matches!(a.validate(), Err(AuditError::ContradictoryOverall { .. })));
        let mut a = audit(vec![record("a", Verdict::Fail, None)], false).unwrap();
        a.gates[0].release_verdict = Verdict::Pass;
        assert!(matches!(a.validate(), Err(AuditError::ContradictoryRow { .. })));
    }

    #[test]
    fn harness_failure_fails_overall_and_duplicates_and_bad_details_are_errors() {
        let m = Measurements { schema: MEASUREMENTS_SCHEMA.into(), records: vec![record("a", Verdict::Pass, None)] };
        let config = RunConfig { harness_exit_code: Some(101), ..RunConfig::default() };
        let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config).unwrap();
        assert!(!a.overall.passed());
        let dup = audit(vec![record("a", Verdict::Pass, None), record("a", Verdict::Pass, None)], false);
        assert!(matches!(dup, Err(AuditError::DuplicateRecord { .. })));
        let mut bad = record("a", Verdict::Pass, None);
        bad.details.insert(DETAIL_BENCH_ROWS.into(), serde_json::json!([{"candidate": 3}]));
        let err = audit(vec![bad], false).unwrap_err();
        assert!(err.to_string().contains("bench_rows"), "{err}");
    }

    #[test]
    fn details_move_into_typed_tables() {
        let mut r = record("k", Verdict::Pass, None);
        let bench = BenchRow {
            candidate: "sparse".into(),
            reference: "dense".into(),
            l_bucket: 512,
            mask: "dag".into(),
            threads: 1,
            ratio: 3.0,
            interval: [2.5, 3.5],
            candidate_ms: 1.0,
            reference_ms: 3.0,
        };
        r.details.insert(DETAIL_BENCH_ROWS.into(), serde_json::to_value(vec![bench.clone()]).unwrap());
        r.details.insert(DETAIL_FALLBACKS.into(), serde_json::json!({"sparse": 2}));
        let a = audit(vec![r], false).unwrap();
        assert_eq!(a.kernel_table, vec![KernelCell { gate: "k".into(), row: bench }]);
        assert_eq!(a.fallbacks, vec![FallbackCount { gate: "k".into(), kernel: "sparse".into(), count: 2 }]);
        assert!(a.gates[0].record.details.is_empty());
        let json = serde_json::to_string(&a).unwrap();
        let back: AuditRun = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
}
