//! `release-check --repeat N`: the verdict flips and value spread of repeated runs, kept in
//! `repeat_summary.json` (schema [`REPEAT_SCHEMA`]) and rendered to `stability.md`.

use crate::format::{header, num, row};
use ironforge::gate::audit::AuditRun;
use ironforge::gate::record::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Schema id of `repeat_summary.json`.
pub const REPEAT_SCHEMA: &str = "ironforge.repeat/1";
/// The summary file name.
pub const SUMMARY_JSON: &str = "repeat_summary.json";
/// The rendered report.
pub const STABILITY_MD: &str = "stability.md";

/// One run of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    /// The run's audit, relative to the summary.
    pub audit: String,
    /// sha256 of that audit.
    pub sha256: String,
    /// Its overall verdict.
    pub overall: Verdict,
    /// Harness wall time in seconds.
    pub harness_duration_s: f64,
}

/// One gate or scenario across the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSpread {
    /// Record name.
    pub name: String,
    /// Unit of the values.
    pub unit: String,
    /// Release verdict in each run (`None` where the run lacked the record).
    pub verdicts: Vec<Option<Verdict>>,
    /// How many times the verdict changed from one run to the next.
    pub flips: usize,
    /// Smallest value.
    pub min: f64,
    /// Median value.
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

/// The whole series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatSummary {
    /// Always [`REPEAT_SCHEMA`].
    pub schema: String,
    /// Every run, in order.
    pub runs: Vec<RunRef>,
    /// Every record name seen in any run, sorted.
    pub gates: Vec<GateSpread>,
    /// Sum of [`GateSpread::flips`] plus flips of the overall verdict.
    pub total_flips: usize,
    /// With `--against`: per timed subject, how often it was flagged and how often each
    /// calibrated slowdown was caught (the detection rates the release check claims).
    #[serde(default)]
    pub against: Vec<AgainstCounts>,
}

/// One timed subject of `--against` across the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgainstCounts {
    /// `gate/metric`.
    pub subject: String,
    /// Runs that compared it.
    pub runs: usize,
    /// Runs whose candidate row was judged regressed.
    pub regressed: usize,
    /// Runs whose candidate row was underpowered.
    pub underpowered: usize,
    /// Largest MDE over the runs, a fraction.
    pub worst_mde: f64,
    /// Per calibrated slowdown (fraction): in how many runs it was caught.
    pub caught: Vec<(f64, usize)>,
}

fn against_counts(runs: &[(String, String, AuditRun)]) -> Vec<AgainstCounts> {
    use ironforge::gate::paired::RegressionVerdict;
    let mut by: std::collections::BTreeMap<String, AgainstCounts> = std::collections::BTreeMap::new();
    for c in runs.iter().filter_map(|r| r.2.comparison.as_ref()) {
        for r in &c.rows {
            let e = by.entry(format!("{}/{}", r.gate, r.metric)).or_insert_with(|| AgainstCounts {
                subject: format!("{}/{}", r.gate, r.metric),
                runs: 0,
                regressed: 0,
                underpowered: 0,
                worst_mde: 0.0,
                caught: Vec::new(),
            });
            e.runs += 1;
            e.regressed += usize::from(r.verdict == RegressionVerdict::Regressed);
            e.underpowered += usize::from(r.verdict == RegressionVerdict::Underpowered);
            e.worst_mde = e.worst_mde.max(r.mde);
        }
        for s in &c.slowdowns {
            if let Some(e) = by.get_mut(&format!("{}/{}", s.gate, s.metric)) {
                match e.caught.iter_mut().find(|(k, _)| *k == s.slowdown) {
                    Some((_, n)) => *n += usize::from(s.caught),
                    None => e.caught.push((s.slowdown, usize::from(s.caught))),
                }
            }
        }
    }
    by.into_values().collect()
}

fn flips<T: PartialEq>(xs: &[T]) -> usize {
    xs.windows(2).filter(|w| w[0] != w[1]).count()
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Summarises runs given as (audit path, its sha256, the audit).
pub fn summarize(runs: &[(String, String, AuditRun)]) -> RepeatSummary {
    let names: BTreeSet<&str> = runs.iter().flat_map(|r| r.2.gates.iter().map(|g| g.record.name.as_str())).collect();
    let gates: Vec<GateSpread> = names
        .into_iter()
        .map(|name| {
            let rows: Vec<_> = runs.iter().map(|r| r.2.gates.iter().find(|g| g.record.name == name)).collect();
            let verdicts: Vec<Option<Verdict>> = rows.iter().map(|g| g.map(|g| g.release_verdict)).collect();
            let mut values: Vec<f64> = rows.iter().flatten().map(|g| g.record.value).collect();
            values.sort_by(f64::total_cmp);
            GateSpread {
                name: name.to_string(),
                unit: rows.iter().flatten().next().map(|g| g.record.unit.clone()).unwrap_or_default(),
                flips: flips(&verdicts),
                verdicts,
                min: values.first().copied().unwrap_or(f64::NAN),
                median: median(&values),
                max: values.last().copied().unwrap_or(f64::NAN),
            }
        })
        .collect();
    let overall: Vec<Verdict> = runs.iter().map(|r| r.2.overall.verdict).collect();
    RepeatSummary {
        schema: REPEAT_SCHEMA.to_string(),
        runs: runs
            .iter()
            .map(|(audit, sha256, a)| RunRef {
                audit: audit.clone(),
                sha256: sha256.clone(),
                overall: a.overall.verdict,
                harness_duration_s: a.config.harness_duration_s,
            })
            .collect(),
        total_flips: gates.iter().map(|g| g.flips).sum::<usize>() + flips(&overall),
        gates,
        against: against_counts(runs),
    }
}

fn v(x: Option<Verdict>) -> &'static str {
    match x {
        Some(Verdict::Pass) => "P",
        Some(Verdict::Fail) => "F",
        None => "–",
    }
}

/// `stability.md` after `head`.
pub fn render(s: &RepeatSummary, head: &str) -> String {
    let mut out = format!("{head}# Verdict stability\n\n");
    out.push_str(&format!(
        "{} runs, **{} verdict flips** (changes of a verdict from one run to the next, overall included).\n\n",
        s.runs.len(),
        s.total_flips
    ));
    out.push_str(&header(&["run", "audit", "sha256", "overall", "harness (s)"]));
    for (i, r) in s.runs.iter().enumerate() {
        out.push_str(&row(&[
            (i + 1).to_string(),
            r.audit.clone(),
            r.sha256[..r.sha256.len().min(12)].to_string(),
            v(Some(r.overall)).to_string(),
            num(r.harness_duration_s),
        ]));
    }
    out.push_str("\n## Value spread per gate\n\n");
    out.push_str(&header(&[
        "name",
        "verdicts (P/F per run)",
        "flips",
        "min",
        "median",
        "max",
        "spread (max-min)/median",
    ]));
    for g in &s.gates {
        let spread = if g.median != 0.0 { num((g.max - g.min) / g.median.abs()) } else { "—".into() };
        out.push_str(&row(&[
            format!("`{}`", g.name),
            g.verdicts.iter().map(|x| v(*x)).collect::<Vec<_>>().join(" "),
            g.flips.to_string(),
            format!("{} {}", num(g.min), g.unit),
            format!("{} {}", num(g.median), g.unit),
            format!("{} {}", num(g.max), g.unit),
            spread,
        ]));
    }
    if !s.against.is_empty() {
        out.push_str(
            "\n## Against the base across runs\n\nPer timed subject: runs in which the candidate was judged \
                      regressed or underpowered, the largest MDE, and in how many runs each calibrated slowdown of \
                      the base (`--prove`) was caught.\n\n",
        );
        out.push_str(&header(&["subject", "runs", "regressed", "underpowered", "worst MDE", "slowdowns caught"]));
        for a in &s.against {
            let caught: Vec<String> =
                a.caught.iter().map(|(k, n)| format!("{}%: {n}/{}", num(k * 100.0), a.runs)).collect();
            out.push_str(&row(&[
                format!("`{}`", a.subject),
                a.runs.to_string(),
                a.regressed.to_string(),
                a.underpowered.to_string(),
                format!("{}%", num(a.worst_mde * 100.0)),
                caught.join(", "),
            ]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn identical_runs_have_no_flips_and_a_failing_run_counts() {
        let a = testdata::audit(false);
        let runs: Vec<_> = (0..3).map(|i| (format!("run-{i}/audit_run.json"), "ab".repeat(32), a.clone())).collect();
        let s = summarize(&runs);
        assert_eq!(s.total_flips, 0);
        assert!(s.gates.iter().all(|g| g.flips == 0 && g.min == g.max));
        let mut m = testdata::measurements(false);
        let r = m.records.iter_mut().find(|r| r.name == "regime_variance").unwrap();
        r.verdict = Verdict::Fail;
        r.value = 12.0;
        let bad = AuditRun::from_measurements(&m, a.machine.clone(), a.git.clone(), a.config.clone()).unwrap();
        let runs = vec![runs[0].clone(), ("x".into(), "cd".repeat(32), bad), runs[1].clone()];
        let s = summarize(&runs);
        let g = s.gates.iter().find(|g| g.name == "regime_variance").unwrap();
        assert_eq!(g.flips, 2);
        assert_eq!((g.min, g.median, g.max), (4.0, 4.0, 12.0));
        // Two gate flips plus two flips of the overall verdict.
        assert_eq!(s.total_flips, 4);
        let md = render(&s, "");
        assert!(md.contains("**4 verdict flips**"), "{md}");
        assert!(md.contains("| `regime_variance` | P F P | 2 | 4 % | 4 % | 12 % | 2 |"), "{md}");
    }
}
