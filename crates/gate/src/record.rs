//! The measurement record: what the harness writes for every gate and scenario it runs, and
//! what `cargo xtask release-check` reads to build the audit. This is the contract between
//! the harness and the release check; extend it only with optional fields.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id written in [`Measurements::schema`].
pub const MEASUREMENTS_SCHEMA: &str = "ironforge.measurements/2";

/// Every record one harness run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// Always [`MEASUREMENTS_SCHEMA`].
    pub schema: String,
    /// Every declaration the harness registered, whether or not it ran (written by every
    /// harness process; absent in files written before any harness started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// One record per gate or scenario that ran.
    pub records: Vec<Record>,
}

impl Measurements {
    /// An empty measurements file: no manifest, no records.
    pub fn empty() -> Self {
        Measurements { schema: MEASUREMENTS_SCHEMA.to_string(), manifest: None, records: Vec::new() }
    }
}

/// Every gate and scenario the harness registered: what a complete run of a tier must record.
///
/// ```
/// use ironforge_gate::record::{Manifest, ManifestEntry, RecordKind, Tier};
/// let entry = |name: &str, tiers: Vec<Tier>| ManifestEntry {
///     name: name.into(), kind: RecordKind::Gate, family: "demo".into(), tiers,
/// };
/// let m = Manifest { declarations: vec![entry("a", vec![Tier::Quick, Tier::Release]), entry("b", vec![Tier::Quick])] };
/// let names: Vec<&str> = m.expected(Some(Tier::Release)).map(|e| e.name.as_str()).collect();
/// assert_eq!(names, ["a"]);
/// assert_eq!(m.expected(None).count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// One entry per declaration, sorted by name.
    pub declarations: Vec<ManifestEntry>,
}

impl Manifest {
    /// The declarations that run in `tier` (every declaration when the tier is unknown).
    pub fn expected(&self, tier: Option<Tier>) -> impl Iterator<Item = &ManifestEntry> {
        self.declarations.iter().filter(move |e| tier.is_none_or(|t| e.tiers.contains(&t)))
    }
}

/// One registered gate or scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Trial name.
    pub name: String,
    /// Gate or scenario.
    pub kind: RecordKind,
    /// Family tag.
    pub family: String,
    /// The tiers it runs in.
    pub tiers: Vec<Tier>,
}

/// Whether a record is a gate (a metric against a threshold) or a parity scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `gate!(metric op threshold)`.
    Gate,
    /// A declared parity scenario.
    Scenario,
}

impl RecordKind {
    /// `gate` or `scenario`, as in the JSON.
    pub const fn name(self) -> &'static str {
        match self {
            RecordKind::Gate => "gate",
            RecordKind::Scenario => "scenario",
        }
    }
}

/// The tier a gate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Runs in `cargo test`.
    Quick,
    /// Runs in `cargo xtask release-check`.
    Release,
}

impl Tier {
    /// `quick` or `release`, as in `IRONFORGE_TIER` and the JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Quick => "quick",
            Tier::Release => "release",
        }
    }

    /// The tier called `name`.
    ///
    /// ```
    /// use ironforge_gate::record::Tier;
    /// assert_eq!(Tier::from_name("release"), Some(Tier::Release));
    /// assert_eq!(Tier::from_name("nightly"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [Tier::Quick, Tier::Release].into_iter().find(|t| t.name() == name)
    }
}

/// A gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The bound satisfies the comparator.
    Pass,
    /// It does not.
    Fail,
}

/// What a gate run under its injected fault showed (`release-check --prove`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    /// The fault injected, in words ("candidate slowed down 2x").
    pub fault: String,
    /// The value measured under the fault.
    pub value: f64,
    /// The verdict under the fault; the proof holds only if it is [`Verdict::Fail`].
    pub verdict: Verdict,
}

/// One gate or scenario as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique name (the trial name).
    pub name: String,
    /// Gate or scenario.
    pub kind: RecordKind,
    /// Engine family tag (`attention`, `dag`, `motif`, `pipeline`, ...).
    pub family: String,
    /// Tier.
    pub tier: Tier,
    /// The metric's name (`speedup`, `parity`, `peak_memory`, ...).
    pub metric: String,
    /// Comparator as written: `>=`, `>`, `<=`, `<` (the audit refuses anything else).
    pub comparator: String,
    /// Threshold in `unit`.
    pub threshold: f64,
    /// Unit of value and threshold (`x`, `abs`, `%`, `bytes`, `fraction`, ...).
    pub unit: String,
    /// The point value (e.g. the median ratio).
    pub value: f64,
    /// The 95% interval, when the metric has one.
    pub interval: Option<[f64; 2]>,
    /// The number the comparator was applied to (the interval's conservative end, or `value`).
    pub bound: f64,
    /// Signed distance from the threshold in the passing direction (positive = passing).
    pub margin: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Raw samples (e.g. pairwise ratios), possibly empty.
    pub samples: Vec<f64>,
    /// Wall time of the measurement in seconds.
    pub duration_s: f64,
    /// The declaration's doc string.
    pub doc: String,
    /// Result under the injected fault, when run with faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    /// Metric-specific detail (per-session errors, per-L tables, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Record {
    /// One line saying what was measured and how it was judged (what the harness prints for a
    /// trial when it writes per-trial files, so a runner's captured output — nextest's JUnit
    /// `system-out` — carries the value, interval, bound and threshold).
    ///
    /// ```
    /// use ironforge_gate::record::*;
    /// let r = Record { name: "g".into(), kind: RecordKind::Gate, family: "demo".into(), tier: Tier::Quick,
    ///     metric: "speedup".into(), comparator: ">=".into(), threshold: 1.4, unit: "x".into(), value: 2.0,
    ///     interval: Some([1.8, 2.2]), bound: 1.8, margin: 0.4, verdict: Verdict::Pass, samples: vec![],
    ///     duration_s: 0.1, doc: "d".into(), proof: None, details: Default::default() };
    /// assert_eq!(r.summary_line(), "gate g: speedup = 2 x, interval [1.8, 2.2]; bound 1.8 >= 1.4 x: pass");
    /// ```
    pub fn summary_line(&self) -> String {
        let interval = self.interval.map(|[lo, hi]| format!(", interval [{lo}, {hi}]")).unwrap_or_default();
        let verdict = match self.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
        };
        let proof = self.proof.as_ref().map_or(String::new(), |p| {
            let holds = if p.verdict == Verdict::Fail { "holds" } else { "DOES NOT HOLD" };
            format!("; proof ({}): {} → {holds}", p.fault, p.value)
        });
        format!(
            "{} {}: {} = {} {}{interval}; bound {} {} {} {}: {verdict}{proof}",
            self.kind.name(),
            self.name,
            self.metric,
            self.value,
            self.unit,
            self.bound,
            self.comparator,
            self.threshold,
            self.unit
        )
    }
}

/// Detail key of a gate that declares `regress <= N% on probe`: `{tolerance_pct, probe}`.
pub const DETAIL_REGRESS: &str = "regress";

/// Key in [`Record::details`] holding a list of [`ParityRow`]s (parity scenarios).
pub const DETAIL_PARITY_ROWS: &str = "parity_rows";
/// Key in [`Record::details`] holding a list of [`PathRow`]s (code-path coverage).
pub const DETAIL_PATH_ROWS: &str = "path_rows";
/// Key in [`Record::details`] holding the record's named tables ([`crate::table::Tables`]).
pub const DETAIL_TABLES: &str = "tables";

/// One case's error of one candidate against its reference, as a parity scenario saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityRow {
    /// The case compared ([`ParityCase::case_id`](crate::parity::ParityCase::case_id)).
    pub case: String,
    /// Its size ([`ParityCase::case_size`](crate::parity::ParityCase::case_size)).
    pub size: usize,
    /// Candidate compared (a kernel or pipeline name).
    pub candidate: String,
    /// Error under the scenario's comparison (max abs, or 0/1 for exact comparisons).
    pub error: f64,
    /// The error allowed for this row.
    pub tolerance: f64,
}

/// One code path of a candidate: how many units of work (rows, items) it computed in the run
/// and its worst error against the allowance of its own reference. A gate that counts paths
/// shows with these rows that each one ran and how close to its bound it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathRow {
    /// The candidate (a kernel on an instruction set, say).
    pub variant: String,
    /// The code path.
    pub path: String,
    /// Instruction set (or other level) the path ran on.
    pub isa: String,
    /// Units of work the path computed; 0 = not exercised.
    pub rows: u64,
    /// Worst error / allowance over its rows (≤ 1 is within bounds).
    pub worst_ratio: f64,
    /// The worst row's error.
    pub worst_error: f64,
    /// The worst row's allowance.
    pub worst_allowance: f64,
    /// The case the worst row came from.
    pub worst_case: String,
}
