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
//! One file per job: this one builds, reads and judges the [`AuditRun`]; [`GateRow`] (`row.rs`)
//! judges one record again; [`Machine`], [`GitState`], [`RunConfig`] (`context.rs`) say where
//! and how the check ran; [`BaselineComparison`] (`baseline.rs`) holds the comparison with an
//! earlier audit; [`AuditError`] (`error.rs`) what can be wrong.
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

mod baseline;
mod context;
mod error;
pub mod merge;
mod partition;
mod row;

pub use baseline::{BaselineComparison, ChangeStatus, MetricChange};
pub use context::{GitState, Machine, RunConfig};
pub use error::AuditError;
pub use partition::{DurationPlan, Partition, Scheme, ShardRun};
pub use row::{GateRow, ProofStatus};

use crate::comparison::Comparison;
use crate::record::{
    Manifest, Measurements, ParityRow, PathRow, Record, RecordKind, Tier, Verdict, DETAIL_PARITY_ROWS,
    DETAIL_PATH_ROWS, DETAIL_TABLES, MEASUREMENTS_SCHEMA,
};
use crate::table::{TableEntry, TableRow, Tables};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many of the declarations that did not run [`AuditRun::partial_line`] names (all are in
/// [`AuditRun::missing`]).
pub const PARTIAL_NAMES: usize = 8;

/// Schema id written in [`AuditRun::schema`].
pub const AUDIT_SCHEMA: &str = "ironforge.audit/3";

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
    /// What a merged audit was made of ([`merge::merge`]); `None` for the audit of one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<merge::MergeInfo>,
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
        let mut names: Vec<&str> = gates.iter().map(|g| g.record.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(AuditError::DuplicateRecord { name: w[0].to_string() });
        }
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
            merged: None,
            overall: Overall { verdict: Verdict::Fail, reasons: vec![] },
        };
        audit.sort_rows();
        (audit.partial, audit.missing) = audit.compute_partial();
        audit.overall = audit.compute_overall();
        Ok(audit)
    }

    /// Puts the rows in the audit's order: gates by name; parity rows by scenario, case size,
    /// case, candidate; path rows by gate, variant, path, instruction set; each table's rows by
    /// record name (a stable sort keeps each record's rows in attach order).
    fn sort_rows(&mut self) {
        self.gates.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        self.parity.sort_by(|a, b| {
            let ka = (&a.scenario, a.row.size, &a.row.case, &a.row.candidate);
            let kb = (&b.scenario, b.row.size, &b.row.case, &b.row.candidate);
            ka.cmp(&kb)
        });
        for rows in self.tables.values_mut() {
            rows.sort_by(|a, b| a.gate.cmp(&b.gate));
        }
        self.paths.sort_by(|a, b| {
            (&a.gate, &a.row.variant, &a.row.path, &a.row.isa).cmp(&(&b.gate, &b.row.variant, &b.row.path, &b.row.isa))
        });
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
pub(crate) mod tests;
