//! The analysis: one machine's clean entries of one tier, a median per commit, each metric's
//! series and its step changes (e-divisive means).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::store::Loaded;
use super::{HistoryEntry, HistoryMetric, NOTES_REF, REPORT_SCHEMA};
use crate::changepoint::{e_divisive, Params, PARAMS};

/// One commit's value of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The commit.
    pub commit: String,
    /// The median of its entries' values.
    pub value: f64,
    /// The medians of its entries' interval ends, when they have intervals.
    pub interval: Option<[f64; 2]>,
    /// How many entries were combined.
    pub entries: usize,
    /// Whether one of them was of a dirty tree.
    pub dirty: bool,
}

/// A detected step change of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Index in the series of the first point of the new level.
    pub index: usize,
    /// Its commit.
    pub commit: String,
    /// Mean of the level before (back to the previous step or the start).
    pub mean_before: f64,
    /// Mean of the new level (up to the next step or the end).
    pub mean_after: f64,
    /// `(after − before) / |before|`; `None` when the level before is 0.
    pub relative_change: Option<f64>,
    /// `improvement` or `regression` (from the metric's better direction), else `change`.
    pub direction: String,
    /// The permutation test's p-value.
    pub p_value: f64,
    /// The e-divisive statistic of the split.
    pub q: f64,
}

/// One metric over the commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricHistory {
    /// Record name.
    pub name: String,
    /// Unit (of the newest entry; points in another unit are left out).
    pub unit: String,
    /// `higher` or `lower`.
    pub better: Option<String>,
    /// Whether it is a timed gate (and has a plot).
    pub timed: bool,
    /// Its value at each commit that measured it, oldest first.
    pub series: Vec<SeriesPoint>,
    /// Points left out because they were measured in another unit.
    pub other_unit_points: usize,
    /// Step changes, oldest first.
    pub steps: Vec<Step>,
    /// The plot's file name in the output folder, for timed metrics.
    pub svg: Option<String>,
}

/// How many of the used entries came from one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineCount {
    /// The machine's fingerprint (empty when not recorded).
    pub fingerprint: String,
    /// Its CPU model.
    pub cpu_model: String,
    /// Entries.
    pub entries: usize,
}

/// `history.json`: what was read, what was kept, and every metric's series and steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryReport {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// Where the entries came from.
    pub store: String,
    /// First-parent commits of HEAD looked at, oldest first.
    pub commits: Vec<String>,
    /// Entries of those commits in the store.
    pub entries_found: usize,
    /// Lines that could not be read (skipped).
    pub malformed: Vec<String>,
    /// Entries of dirty trees skipped (none with `--include-dirty`).
    pub skipped_dirty: usize,
    /// Entries of other machines skipped (none with `--cross-machine`).
    pub skipped_other_machines: usize,
    /// Entries of another tier than the newest entry's, skipped.
    pub skipped_other_tier: usize,
    /// Entries used.
    pub entries_used: usize,
    /// Whether entries of several machines may be mixed.
    pub cross_machine: bool,
    /// The machines of the entries used.
    pub machines: Vec<MachineCount>,
    /// The tier of the entries used.
    pub tier: String,
    /// Commits whose several entries were combined into medians, with their counts.
    pub combined: Vec<(String, usize)>,
    /// The change-point method's parameters.
    pub method: Params,
    /// The metrics, by name.
    pub metrics: Vec<MetricHistory>,
}

/// The median of non-empty `v`.
pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Keeps the entries to compare and builds every metric's history (all metrics when
/// `wanted` is empty); errors when nothing is left or a wanted metric is unknown.
pub fn analyze(
    commits: &[String],
    loaded: Loaded,
    store: &str,
    wanted: &[String],
    cross_machine: bool,
    include_dirty: bool,
) -> anyhow::Result<HistoryReport> {
    let found = loaded.entries.len();
    anyhow::ensure!(
        found > 0,
        "no history entries for the last {} first-parent commits of HEAD in the {store}{}; record one with \
         `cargo xtask release-check` (it adds each audit's summary), or fetch shared notes with \
         `git fetch origin {NOTES_REF}:{NOTES_REF}`",
        commits.len(),
        if loaded.malformed.is_empty() { String::new() } else { format!(" ({} unreadable)", loaded.malformed.len()) }
    );
    let (clean, dirty): (Vec<HistoryEntry>, Vec<HistoryEntry>) =
        loaded.entries.into_iter().partition(|e| include_dirty || !e.dirty);
    anyhow::ensure!(
        !clean.is_empty(),
        "all {} history entries of these commits were measured on dirty trees; pass --include-dirty to use them",
        dirty.len()
    );
    let newest = clean.last().expect("not empty").clone();
    let (same_machine, other_machines): (Vec<HistoryEntry>, Vec<HistoryEntry>) = clean
        .into_iter()
        .partition(|e| cross_machine || crate::machine::differences(&newest.machine, &e.machine).is_empty());
    anyhow::ensure!(
        !same_machine.is_empty(),
        "the newest history entry (commit {}) has no machine fingerprint, so no entry can be compared with it; \
         pass --cross-machine to mix machines",
        newest.commit
    );
    let (used, other_tier): (Vec<HistoryEntry>, Vec<HistoryEntry>) =
        same_machine.into_iter().partition(|e| e.tier == newest.tier);
    let mut machines: Vec<MachineCount> = Vec::new();
    for e in &used {
        match machines.iter_mut().find(|m| m.fingerprint == e.machine.fingerprint) {
            Some(m) => m.entries += 1,
            None => machines.push(MachineCount {
                fingerprint: e.machine.fingerprint.clone(),
                cpu_model: e.machine.cpu_model.clone(),
                entries: 1,
            }),
        }
    }
    // Per commit (in order): each metric's entries.
    let mut by_commit: BTreeMap<usize, Vec<&HistoryEntry>> = BTreeMap::new();
    let index: HashMap<&str, usize> = commits.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    for e in &used {
        if let Some(&i) = index.get(e.commit.as_str()) {
            by_commit.entry(i).or_default().push(e);
        }
    }
    let combined: Vec<(String, usize)> =
        by_commit.iter().filter(|(_, es)| es.len() > 1).map(|(&i, es)| (commits[i].clone(), es.len())).collect();
    // The newest description of each metric names its unit, direction and kind.
    let mut described: BTreeMap<String, HistoryMetric> = BTreeMap::new();
    for e in &used {
        for m in &e.metrics {
            described.insert(m.name.clone(), m.clone());
        }
    }
    let unknown: Vec<&String> = wanted.iter().filter(|w| !described.contains_key(*w)).collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "unknown metric {}; the entries used know: {}",
        unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
        described.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    let metrics = described
        .values()
        .filter(|d| wanted.is_empty() || wanted.contains(&d.name))
        .map(|d| metric_history(d, commits, &by_commit))
        .collect();
    Ok(HistoryReport {
        schema: REPORT_SCHEMA.to_string(),
        store: store.to_string(),
        commits: commits.to_vec(),
        entries_found: found,
        malformed: loaded.malformed,
        skipped_dirty: dirty.len(),
        skipped_other_machines: other_machines.len(),
        skipped_other_tier: other_tier.len(),
        entries_used: used.len(),
        cross_machine,
        machines,
        tier: newest.tier,
        combined,
        method: PARAMS,
        metrics,
    })
}

/// The series of the metric `d` over the commits and its steps.
pub(super) fn metric_history(
    d: &HistoryMetric,
    commits: &[String],
    by_commit: &BTreeMap<usize, Vec<&HistoryEntry>>,
) -> MetricHistory {
    let mut series = Vec::new();
    let mut other_unit_points = 0;
    for (&i, entries) in by_commit {
        let rows: Vec<(&HistoryEntry, &HistoryMetric)> =
            entries.iter().flat_map(|e| e.metrics.iter().filter(|m| m.name == d.name).map(move |m| (*e, m))).collect();
        let (same, other): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, m)| m.unit == d.unit);
        other_unit_points += usize::from(same.is_empty() && !other.is_empty());
        if same.is_empty() {
            continue;
        }
        let intervals: Vec<[f64; 2]> = same.iter().filter_map(|(_, m)| m.interval).collect();
        series.push(SeriesPoint {
            commit: commits[i].clone(),
            value: median(same.iter().map(|(_, m)| m.value).collect()),
            interval: (!intervals.is_empty()).then(|| {
                [median(intervals.iter().map(|i| i[0]).collect()), median(intervals.iter().map(|i| i[1]).collect())]
            }),
            entries: same.len(),
            dirty: same.iter().any(|(e, _)| e.dirty),
        });
    }
    let values: Vec<f64> = series.iter().map(|p| p.value).collect();
    let found = e_divisive(&values, &PARAMS);
    let mut bounds: Vec<usize> = found.iter().map(|c| c.index).collect();
    bounds.insert(0, 0);
    bounds.push(values.len());
    let mean = |a: usize, b: usize| values[a..b].iter().sum::<f64>() / (b - a) as f64;
    let steps = found
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let (before, after) = (mean(bounds[k], c.index), mean(c.index, bounds[k + 2]));
            let direction = match d.better.as_deref() {
                Some("higher") if after > before => "improvement",
                Some("lower") if after < before => "improvement",
                Some("higher" | "lower") => "regression",
                _ => "change",
            };
            Step {
                index: c.index,
                commit: series[c.index].commit.clone(),
                mean_before: before,
                mean_after: after,
                relative_change: (before != 0.0).then(|| (after - before) / before.abs()),
                direction: direction.to_string(),
                p_value: c.p_value,
                q: c.q,
            }
        })
        .collect();
    MetricHistory {
        name: d.name.clone(),
        unit: d.unit.clone(),
        better: d.better.clone(),
        timed: d.timed,
        series,
        other_unit_points,
        steps,
        svg: d.timed.then(|| format!("{}.svg", file_stem(&d.name))),
    }
}

/// `name` with every character but ASCII letters, digits, `.`, `_` and `-` replaced by `_`.
pub(super) fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}
