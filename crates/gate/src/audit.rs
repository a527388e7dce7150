//! The audit file `audit_run.json` (schema [`AUDIT_SCHEMA`]): everything one release check
//! measured, and the single source every human-readable report is rendered from.
//!
//! [`AuditRun::from_measurements`] copies the harness's [`Measurements`] into the audit's
//! tables (gate rows, parity rows, code-path rows, and the named tables gates attach through
//! [`crate::table`], whatever their columns), compares
//! the rows with the harness's manifest (a run is *partial* when a declaration of its tier did
//! not run, or when there is no manifest to tell) and computes the overall verdict with
//! [`AuditRun::compute_overall`]. [`AuditRun::validate`] re-judges every row and refuses an
//! audit whose stored bounds, margins, verdicts, partial flag or overall contradict what its
//! rows give, so no report can show "passed" over a failing or missing row.
//!
//! ```
//! use ironforge_gate::audit::{AuditRun, Machine, GitState, RunConfig};
//! use ironforge_gate::record::Measurements;
//!
//! let audit = AuditRun::from_measurements(&Measurements::empty(), Machine::default(), GitState::default(), RunConfig::default()).unwrap();
//! // No gate ran, and without a manifest the audit cannot know what should have: never a pass.
//! assert!(!audit.overall.passed());
//! assert!(audit.partial);
//! audit.validate().unwrap();
//! ```

use crate::comparison::Comparison;
use crate::judge::bound_from;
use crate::paired::PairedError;
use crate::record::{
    Manifest, Measurements, ParityRow, PathRow, Proof, Record, RecordKind, Tier, Verdict, DETAIL_PARITY_ROWS,
    DETAIL_PATH_ROWS, DETAIL_TABLES, MEASUREMENTS_SCHEMA,
};
use crate::spec::Comparator;
use crate::table::{TableEntry, TableRow, Tables};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many of the declarations that did not run [`AuditRun::partial_line`] names (all are in
/// [`AuditRun::missing`]).
pub const PARTIAL_NAMES: usize = 8;

/// Schema id written in [`AuditRun::schema`].
pub const AUDIT_SCHEMA: &str = "ironforge.audit/3";

/// What can be wrong with measurements or with an audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A row of the comparison with a base revision disagrees with its own samples.
    #[error("comparison with the base revision: {0}")]
    Comparison(#[source] PairedError),
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
    /// A row of a named table does not have the shape its reader expects.
    #[error("table `{table}`, row of `{gate}`: {source}")]
    MalformedTable {
        /// Table name.
        table: String,
        /// Record that attached the row.
        gate: String,
        /// Why it did not deserialise.
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
    /// A row's comparator is not one of `>=`, `>`, `<=`, `<`.
    #[error("row `{name}`: unknown comparator `{comparator}`")]
    UnknownComparator {
        /// Row name.
        name: String,
        /// Comparator found.
        comparator: String,
    },
    /// A row's stored bound or margin is not the one its value, interval, comparator and
    /// threshold give.
    #[error(
        "row `{name}`: {field} stored as {stored} but its value, interval, comparator and threshold give {recomputed}"
    )]
    ContradictoryJudgement {
        /// Row name.
        name: String,
        /// `bound` or `margin`.
        field: &'static str,
        /// Stored number.
        stored: f64,
        /// Recomputed number.
        recomputed: f64,
    },
    /// A row's stored verdict is not the one its bound, comparator and threshold give.
    #[error("row `{name}`: verdict stored as {stored:?} but `{bound} {comparator} {threshold}` gives {computed:?}")]
    ContradictoryVerdict {
        /// Row name.
        name: String,
        /// Stored verdict.
        stored: Verdict,
        /// Verdict recomputed.
        computed: Verdict,
        /// The bound judged.
        bound: f64,
        /// The comparator.
        comparator: String,
        /// The threshold.
        threshold: f64,
    },
    /// The stored partial flag or list of declarations that did not run is not the one the
    /// manifest and the rows give.
    #[error("audit stored as partial = {stored} with {stored_missing:?} not run, but the manifest and rows give partial = {computed} with {computed_missing:?} not run")]
    ContradictoryPartial {
        /// Stored flag.
        stored: bool,
        /// Flag recomputed.
        computed: bool,
        /// Stored list of declarations that did not run.
        stored_missing: Vec<String>,
        /// List recomputed.
        computed_missing: Vec<String>,
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
    /// Every CPU flag of the first `flags` line of `/proc/cpuinfo`, sorted (empty when not
    /// recorded).
    #[serde(default)]
    pub cpu_flag_list: Vec<String>,
    /// Kernel release (`uname -r`, from `/proc/sys/kernel/osrelease`).
    #[serde(default)]
    pub kernel: String,
    /// The compiler (`rustc -V` of `$RUSTC` or `rustc`).
    #[serde(default)]
    pub rustc: String,
    /// Cargo profile the measured harness was built with (`release`).
    #[serde(default)]
    pub profile: String,
    /// Compiler flags the harness build sees, one entry per flag.
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Where [`Machine::rustflags`] came from: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`,
    /// `.cargo/config.toml [build] rustflags` or `none`.
    #[serde(default)]
    pub rustflags_source: String,
    /// The `-C target-cpu=` value in [`Machine::rustflags`] (`None`: rustc's default CPU).
    #[serde(default)]
    pub target_cpu: Option<String>,
    /// Short hex hash over the fields that make timings comparable (see xtask's `machine`
    /// module); empty in audits written before it was recorded.
    #[serde(default)]
    pub fingerprint: String,
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
    /// Whether a partial run may pass (`--partial`); it is reported as partial either way.
    #[serde(default)]
    pub allow_partial: bool,
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

/// One code path's coverage, with the gate that counted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathEntry {
    /// Record the row came from.
    pub gate: String,
    /// The path's rows and worst error.
    #[serde(flatten)]
    pub row: PathRow,
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
    /// Every declaration the harness registered (from the measurements); `None` when the
    /// measurements carry no manifest.
    #[serde(default)]
    pub manifest: Option<Manifest>,
    /// Whether some declaration of the run's tier did not run, or there is no manifest to tell.
    #[serde(default)]
    pub partial: bool,
    /// Declarations of the run's tier (per the manifest) with no row, sorted.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Every gate and scenario, sorted by name.
    pub gates: Vec<GateRow>,
    /// Every parity row, sorted by scenario, case size, case, candidate.
    pub parity: Vec<ParityEntry>,
    /// Code-path coverage rows, sorted by gate, variant, path, instruction set.
    #[serde(default)]
    pub paths: Vec<PathEntry>,
    /// The named tables the gates attached ([`crate::table`]), by name; each table's rows by
    /// record name, then in the order the record attached them. Read one with [`Self::table`].
    #[serde(default)]
    pub tables: BTreeMap<String, Vec<TableRow>>,
    /// Comparison with a baseline audit, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    /// The candidate run against a base revision (`--against REV`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
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
        let mut parity = Vec::new();
        let mut paths = Vec::new();
        let mut tables: BTreeMap<String, Vec<TableRow>> = BTreeMap::new();
        for source in &m.records {
            let mut record = source.clone();
            let name = record.name.clone();
            if let Some(rows) = take_detail::<Vec<ParityRow>>(&mut record, DETAIL_PARITY_ROWS)? {
                parity.extend(rows.into_iter().map(|row| ParityEntry { scenario: name.clone(), row }));
            }
            if let Some(rows) = take_detail::<Vec<PathRow>>(&mut record, DETAIL_PATH_ROWS)? {
                paths.extend(rows.into_iter().map(|row| PathEntry { gate: name.clone(), row }));
            }
            for (table, rows) in take_detail::<Tables>(&mut record, DETAIL_TABLES)?.unwrap_or_default() {
                tables
                    .entry(table)
                    .or_default()
                    .extend(rows.into_iter().map(|row| TableRow { gate: name.clone(), row }));
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
        parity.sort_by(|a, b| {
            let ka = (&a.scenario, a.row.size, &a.row.case, &a.row.candidate);
            let kb = (&b.scenario, b.row.size, &b.row.case, &b.row.candidate);
            ka.cmp(&kb)
        });
        // Records in name order (a stable sort keeps each record's rows in attach order).
        for rows in tables.values_mut() {
            rows.sort_by(|a, b| a.gate.cmp(&b.gate));
        }
        paths.sort_by(|a, b| {
            (&a.gate, &a.row.variant, &a.row.path, &a.row.isa).cmp(&(&b.gate, &b.row.variant, &b.row.path, &b.row.isa))
        });
        let mut audit = AuditRun {
            schema: AUDIT_SCHEMA.to_string(),
            machine,
            git,
            config,
            manifest: m.manifest.clone(),
            partial: true,
            missing: Vec::new(),
            gates,
            parity,
            paths,
            tables,
            baseline: None,
            comparison: None,
            overall: Overall { verdict: Verdict::Fail, reasons: vec![] },
        };
        (audit.partial, audit.missing) = audit.compute_partial();
        audit.overall = audit.compute_overall();
        Ok(audit)
    }

    /// The rows of table `name` ([`crate::table`]) as `T`, in the audit's order; empty when no
    /// gate attached that table. A row that does not deserialise as `T` is an error naming the
    /// table and the gate.
    pub fn table<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Vec<TableEntry<T>>, AuditError> {
        let rows = self.tables.get(name).map(Vec::as_slice).unwrap_or_default();
        rows.iter()
            .map(|r| {
                T::deserialize(&serde_json::Value::Object(r.row.clone()))
                    .map(|row| TableEntry { gate: r.gate.clone(), row })
                    .map_err(|source| AuditError::MalformedTable {
                        table: name.to_string(),
                        gate: r.gate.clone(),
                        source,
                    })
            })
            .collect()
    }

    /// The run's tier (`config.tier`), `None` when it is neither `quick` nor `release`.
    pub fn tier(&self) -> Option<Tier> {
        Tier::from_name(&self.config.tier)
    }

    /// The declarations of the run's tier per the manifest (every declaration when the tier is
    /// unknown); `None` without a manifest.
    pub fn expected(&self) -> Option<Vec<&str>> {
        let manifest = self.manifest.as_ref()?;
        Some(manifest.expected(self.tier()).map(|e| e.name.as_str()).collect())
    }

    /// Whether the run is partial and which expected declarations have no row: partial when
    /// some do, or when there is no manifest (then nothing is known to be missing).
    pub fn compute_partial(&self) -> (bool, Vec<String>) {
        match self.expected() {
            None => (true, Vec::new()),
            Some(expected) => {
                let mut missing: Vec<String> = expected
                    .into_iter()
                    .filter(|name| !self.gates.iter().any(|g| g.record.name == *name))
                    .map(String::from)
                    .collect();
                missing.sort();
                (!missing.is_empty(), missing)
            }
        }
    }

    /// The line every report shows for a partial run (`None` for a complete one):
    /// `PARTIAL: N of M declarations ran`, or that there is no manifest.
    ///
    /// ```
    /// use ironforge_gate::audit::{AuditRun, GitState, Machine, RunConfig};
    /// use ironforge_gate::record::Measurements;
    /// let a = AuditRun::from_measurements(&Measurements::empty(), Machine::default(), GitState::default(), RunConfig::default()).unwrap();
    /// assert!(a.partial_line().unwrap().starts_with("PARTIAL: no manifest"));
    /// ```
    pub fn partial_line(&self) -> Option<String> {
        if !self.partial {
            return None;
        }
        Some(match self.expected() {
            None => "PARTIAL: no manifest in the measurements, so the audit cannot tell whether every declaration ran"
                .to_string(),
            Some(expected) => {
                let mut names: Vec<String> =
                    self.missing.iter().take(PARTIAL_NAMES).map(|n| format!("`{n}`")).collect();
                if self.missing.len() > PARTIAL_NAMES {
                    names.push(format!("and {} more", self.missing.len() - PARTIAL_NAMES));
                }
                format!(
                    "PARTIAL: {} of {} declarations ran (not run: {})",
                    expected.len() - self.missing.len(),
                    expected.len(),
                    names.join(", ")
                )
            }
        })
    }

    /// The overall verdict the rows give: pass iff at least one gate ran, every row's release
    /// verdict passes, the harness (when it ran) exited 0 and the run is complete or was
    /// started with `--partial` (`config.allow_partial`).
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
        if !self.config.allow_partial {
            if let Some(line) = self.partial_line() {
                reasons.push(format!("{line}; a partial run passes only with `--partial`"));
            }
        }
        if let Some(c) = &self.comparison {
            reasons.extend(c.failures());
        }
        let verdict = if reasons.is_empty() { Verdict::Pass } else { Verdict::Fail };
        Overall { verdict, reasons }
    }

    /// Checks the schema id and re-judges the audit: every row's bound (the interval's
    /// conservative end, else the value), verdict and margin from its value, interval,
    /// comparator and threshold; every release verdict; the partial flag and missing list
    /// from the manifest and the rows; the overall verdict. Refuses the first disagreement.
    pub fn validate(&self) -> Result<(), AuditError> {
        if self.schema != AUDIT_SCHEMA {
            return Err(AuditError::AuditSchema { found: self.schema.clone(), expected: AUDIT_SCHEMA });
        }
        for g in &self.gates {
            g.rejudge()?;
        }
        if let Some(c) = &self.comparison {
            c.validate().map_err(AuditError::Comparison)?;
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
        let (partial, missing) = self.compute_partial();
        if partial != self.partial || missing != self.missing {
            return Err(AuditError::ContradictoryPartial {
                stored: self.partial,
                computed: partial,
                stored_missing: self.missing.clone(),
                computed_missing: missing,
            });
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

    /// A speed-up row judged as the runner judges: threshold 1.4 to pass, 2.0 to fail.
    fn record(name: &str, verdict: Verdict, proof: Option<Verdict>) -> Record {
        let threshold = if verdict == Verdict::Pass { 1.4 } else { 2.0 };
        Record {
            name: name.into(),
            kind: RecordKind::Gate,
            family: "attention".into(),
            tier: Tier::Release,
            metric: "speedup".into(),
            comparator: ">=".into(),
            threshold,
            unit: "x".into(),
            value: 2.0,
            interval: Some([1.8, 2.2]),
            bound: 1.8,
            margin: Comparator::Ge.margin(1.8, threshold),
            verdict,
            samples: vec![1.9, 2.0, 2.1],
            duration_s: 0.5,
            doc: "doc".into(),
            proof: proof.map(|verdict| Proof { fault: "slowed 2x".into(), value: 0.9, verdict }),
            details: BTreeMap::new(),
        }
    }

    /// A manifest of `names`, each in both tiers.
    fn manifest(names: &[&str]) -> Manifest {
        Manifest {
            declarations: names
                .iter()
                .map(|n| crate::record::ManifestEntry {
                    name: n.to_string(),
                    kind: RecordKind::Gate,
                    family: "attention".into(),
                    tiers: vec![Tier::Quick, Tier::Release],
                })
                .collect(),
        }
    }

    fn measurements(records: Vec<Record>) -> Measurements {
        let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        Measurements { schema: MEASUREMENTS_SCHEMA.into(), manifest: Some(manifest(&names)), records }
    }

    fn config(prove: bool) -> RunConfig {
        RunConfig { tier: "release".into(), prove, ..RunConfig::default() }
    }

    fn audit(records: Vec<Record>, prove: bool) -> Result<AuditRun, AuditError> {
        AuditRun::from_measurements(&measurements(records), Machine::default(), GitState::default(), config(prove))
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
        let m = measurements(vec![record("a", Verdict::Pass, None)]);
        let config = RunConfig { harness_exit_code: Some(101), ..config(false) };
        let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config).unwrap();
        assert!(!a.overall.passed());
        let dup = audit(vec![record("a", Verdict::Pass, None), record("a", Verdict::Pass, None)], false);
        assert!(matches!(dup, Err(AuditError::DuplicateRecord { .. })));
        let mut bad = record("a", Verdict::Pass, None);
        bad.details.insert(DETAIL_PARITY_ROWS.into(), serde_json::json!([{"candidate": 3}]));
        let err = audit(vec![bad.clone()], false).unwrap_err();
        assert!(err.to_string().contains("parity_rows"), "{err}");
        bad.details.clear();
        bad.details.insert(DETAIL_TABLES.into(), serde_json::json!({"t": [3]}));
        let err = audit(vec![bad], false).unwrap_err();
        assert!(err.to_string().contains("`tables`"), "{err}");
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Timing {
        n: usize,
        ms: f64,
    }

    #[test]
    fn attached_tables_move_into_the_audit_by_record_name_and_read_back_typed() {
        let mut z = record("z", Verdict::Pass, None);
        crate::table::attach(&mut z.details, "timings", [Timing { n: 1, ms: 0.1 + 0.2 }]).unwrap();
        let mut k = record("k", Verdict::Pass, None);
        crate::table::attach(&mut k.details, "timings", [Timing { n: 8, ms: 3.0 }, Timing { n: 2, ms: 1.0 }]).unwrap();
        crate::table::attach(&mut k.details, "counts", [serde_json::json!({"kernel": "sparse", "count": 2})]).unwrap();
        let a = audit(vec![z, k], false).unwrap();
        assert!(a.gates.iter().all(|g| g.record.details.is_empty()));
        let timings = a.table::<Timing>("timings").unwrap();
        let got: Vec<(&str, usize)> = timings.iter().map(|e| (e.gate.as_str(), e.row.n)).collect();
        // Records by name, each record's rows as attached; numbers exact.
        assert_eq!(got, [("k", 8), ("k", 2), ("z", 1)]);
        assert_eq!(timings[2].row.ms.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(a.tables["counts"][0].row["count"], 2);
        // A reader whose type does not fit is told which table and which gate.
        let err = a.table::<Timing>("counts").unwrap_err();
        assert!(
            matches!(&err, AuditError::MalformedTable { table, gate, .. } if table == "counts" && gate == "k"),
            "{err}"
        );
        let json = serde_json::to_string(&a).unwrap();
        let back: AuditRun = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        a.validate().unwrap();
    }

    #[test]
    fn every_row_is_rejudged_and_a_tampered_number_is_refused_by_name() {
        let a = audit(vec![record("a", Verdict::Pass, None), record("b", Verdict::Fail, None)], false).unwrap();
        a.validate().unwrap();
        let tamper = |f: &dyn Fn(&mut Record)| {
            let mut t = a.clone();
            f(&mut t.gates[1].record);
            t.validate().unwrap_err()
        };
        // A lower threshold would make `b` pass: its verdict and margin no longer follow.
        let err = tamper(&|r| r.threshold = 1.0);
        assert!(matches!(&err, AuditError::ContradictoryVerdict { name, .. } if name == "b"), "{err}");
        // A threshold moved without changing the verdict: the margin gives it away.
        let err = tamper(&|r| r.threshold = 2.5);
        assert!(
            matches!(&err, AuditError::ContradictoryJudgement { name, field: "margin", .. } if name == "b"),
            "{err}"
        );
        // A bound that is not the interval's lower end (the value, for a `>=` gate).
        let err = tamper(&|r| r.bound = 2.0);
        assert!(matches!(&err, AuditError::ContradictoryJudgement { field: "bound", .. }), "{err}");
        assert!(err.to_string().contains("row `b`: bound stored as 2"), "{err}");
        // A verdict flipped alone (with its release verdict and overall, so only the row tells).
        let mut t = a.clone();
        t.gates[1].record.verdict = Verdict::Pass;
        t.gates[1].release_verdict = Verdict::Pass;
        t.overall = t.compute_overall();
        let err = t.validate().unwrap_err();
        assert!(matches!(
            &err,
            AuditError::ContradictoryVerdict { stored: Verdict::Pass, computed: Verdict::Fail, .. }
        ));
        assert_eq!(err.to_string(), "row `b`: verdict stored as Pass but `1.8 >= 2` gives Fail");
        let err = tamper(&|r| r.margin = 0.5);
        assert!(matches!(&err, AuditError::ContradictoryJudgement { field: "margin", .. }), "{err}");
        let err = tamper(&|r| r.comparator = "==".into());
        assert!(
            matches!(&err, AuditError::UnknownComparator { name, comparator } if name == "b" && comparator == "==")
        );
    }

    #[test]
    fn nan_is_judged_explicitly() {
        let mut r = record("nan", Verdict::Fail, None);
        r.interval = None;
        r.value = f64::NAN;
        r.bound = f64::NAN;
        r.margin = f64::NAN;
        let a = audit(vec![r.clone()], false).unwrap();
        a.validate().unwrap();
        assert!(!a.overall.passed());
        let mut passing = a.clone();
        passing.gates[0].record.verdict = Verdict::Pass;
        assert!(matches!(passing.validate(), Err(AuditError::ContradictoryVerdict { .. })));
        let mut finite = a;
        finite.gates[0].record.bound = 1.0;
        assert!(matches!(finite.validate(), Err(AuditError::ContradictoryJudgement { field: "bound", .. })));
    }

    fn partial_measurements() -> Measurements {
        let mut m = measurements(vec![record("a", Verdict::Pass, None)]);
        m.manifest = Some(manifest(&["a", "b", "c"]));
        m
    }

    #[test]
    fn a_partial_run_fails_unless_allowed_and_is_flagged_either_way() {
        let m = partial_measurements();
        let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
        assert!(a.partial);
        assert_eq!(a.missing, ["b", "c"]);
        assert!(!a.overall.passed());
        assert_eq!(
            a.overall.reasons,
            ["PARTIAL: 1 of 3 declarations ran (not run: `b`, `c`); a partial run passes only with `--partial`"]
        );
        a.validate().unwrap();
        let allowed = RunConfig { allow_partial: true, ..config(false) };
        let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), allowed).unwrap();
        assert!(a.overall.passed(), "{:?}", a.overall);
        assert!(a.partial);
        assert_eq!(a.partial_line().unwrap(), "PARTIAL: 1 of 3 declarations ran (not run: `b`, `c`)");
        a.validate().unwrap();
        // Long lists are cut in the line (the audit keeps them all).
        let names: Vec<String> = (0..12).map(|i| format!("g{i:02}")).collect();
        let mut many = measurements(vec![record("g00", Verdict::Pass, None)]);
        many.manifest = Some(manifest(&names.iter().map(String::as_str).collect::<Vec<_>>()));
        let a = AuditRun::from_measurements(&many, Machine::default(), GitState::default(), config(false)).unwrap();
        assert_eq!(a.missing.len(), 11);
        assert!(a.partial_line().unwrap().ends_with("`g08`, and 3 more)"), "{:?}", a.partial_line());
        // A complete run is not partial, and says nothing about it.
        let full = audit(vec![record("a", Verdict::Pass, None)], false).unwrap();
        assert!(!full.partial && full.missing.is_empty() && full.partial_line().is_none());
        assert!(full.overall.passed());
    }

    #[test]
    fn the_tier_decides_what_is_expected() {
        let mut m = partial_measurements();
        if let Some(manifest) = m.manifest.as_mut() {
            for e in manifest.declarations.iter_mut().filter(|e| e.name != "a") {
                e.tiers = vec![Tier::Quick];
            }
        }
        let release = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
        assert!(!release.partial && release.overall.passed(), "{:?}", release.overall);
        let quick = RunConfig { tier: "quick".into(), ..config(false) };
        let quick = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), quick).unwrap();
        assert_eq!(quick.missing, ["b", "c"]);
    }

    #[test]
    fn no_manifest_is_partial() {
        let mut m = measurements(vec![record("a", Verdict::Pass, None)]);
        m.manifest = None;
        let a = AuditRun::from_measurements(&m, Machine::default(), GitState::default(), config(false)).unwrap();
        assert!(a.partial);
        assert!(a.missing.is_empty());
        assert!(!a.overall.passed());
        assert!(a.overall.reasons[0].starts_with("PARTIAL: no manifest"), "{:?}", a.overall);
        a.validate().unwrap();
        let allowed = RunConfig { allow_partial: true, ..config(false) };
        assert!(AuditRun::from_measurements(&m, Machine::default(), GitState::default(), allowed)
            .unwrap()
            .overall
            .passed());
    }

    #[test]
    fn a_partial_flag_or_missing_list_that_contradicts_the_manifest_is_refused() {
        let allowed = RunConfig { allow_partial: true, ..config(false) };
        let a = AuditRun::from_measurements(&partial_measurements(), Machine::default(), GitState::default(), allowed)
            .unwrap();
        let mut hidden = a.clone();
        hidden.partial = false;
        hidden.missing.clear();
        assert!(matches!(
            hidden.validate(),
            Err(AuditError::ContradictoryPartial { stored: false, computed: true, .. })
        ));
        let mut shortened = a.clone();
        shortened.missing.pop();
        assert!(matches!(shortened.validate(), Err(AuditError::ContradictoryPartial { .. })));
        // Dropping the manifest does not make a run complete.
        let mut no_manifest = a;
        no_manifest.manifest = None;
        no_manifest.missing.clear();
        no_manifest.validate().unwrap();
        assert!(no_manifest.partial);
        no_manifest.partial = false;
        assert!(matches!(no_manifest.validate(), Err(AuditError::ContradictoryPartial { .. })));
    }
}
