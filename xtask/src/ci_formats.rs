//! What CI systems read, rendered from the audit like the other reports: Bencher's metric
//! format (BMF JSON) of every measured value, and a short Markdown summary for a pull-request
//! comment.

use crate::against_report;
use crate::format::{header, interval, num, row};
use ironforge::gate::audit::{AuditRun, GateRow};
use ironforge::gate::record::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// Bencher Metric Format: every gate's and scenario's value, and every A/B ratio of a
/// comparison with a base revision.
pub const BMF_JSON: &str = "bencher_bmf.json";
/// The pull-request comment.
pub const SUMMARY_MD: &str = "pr_summary.md";

/// One BMF measure: the value and, when the run measured one, its interval.
#[derive(Debug, Serialize, PartialEq)]
struct Measure {
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lower_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upper_value: Option<f64>,
}

impl Measure {
    fn new(value: f64, interval: Option<[f64; 2]>) -> Self {
        Measure { value, lower_value: interval.map(|i| i[0]), upper_value: interval.map(|i| i[1]) }
    }
}

/// The BMF document: `{benchmark: {measure: {value, lower_value, upper_value}}}`. A gate or
/// scenario is a benchmark whose measure is its metric; a comparison row is the benchmark
/// `gate/metric` with the measure `ab_speed_ratio` (above 1: the candidate is faster). BMF has
/// no place for a non-finite number, so a row whose value is not finite is left out (its
/// verdict is in the audit and the summary).
///
/// ```text
/// {"census_throughput": {"speedup": {"value": 1.74, "lower_value": 1.58, "upper_value": 1.91}}}
/// ```
pub fn bmf(audit: &AuditRun) -> anyhow::Result<String> {
    let mut doc: BTreeMap<String, BTreeMap<String, Measure>> = BTreeMap::new();
    let finite = |i: Option<[f64; 2]>| i.filter(|i| i.iter().all(|x| x.is_finite()));
    for g in audit.gates.iter().filter(|g| g.record.value.is_finite()) {
        let r = &g.record;
        doc.entry(r.name.clone()).or_default().insert(r.metric.clone(), Measure::new(r.value, finite(r.interval)));
    }
    for c in audit.comparison.iter().flat_map(|c| &c.rows).filter(|c| c.ratio.is_finite()) {
        doc.entry(format!("{}/{}", c.gate, c.metric))
            .or_default()
            .insert("ab_speed_ratio".into(), Measure::new(c.ratio, finite(Some(c.interval))));
    }
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// The pull-request comment: the overall verdict and its reasons, the failing rows, the
/// comparison with the base revision when there is one, and the machine.
pub fn summary_md(audit: &AuditRun) -> String {
    let overall = audit.compute_overall();
    let passed = audit.gates.iter().filter(|g| g.release_verdict == Verdict::Pass).count();
    let word = if overall.passed() { "PASS" } else { "FAIL" };
    let partial = if audit.partial { " (partial)" } else { "" };
    let commit = audit.git.commit.as_deref().map_or("unknown".to_string(), |c| c[..c.len().min(12)].to_string());
    let mut s = format!(
        "### Release check: {word}{partial}\n\n{passed} of {} rows pass, commit `{commit}`, tier `{}`.\n\n",
        audit.gates.len(),
        audit.config.tier
    );
    for reason in &overall.reasons {
        s.push_str(&format!("- {reason}\n"));
    }
    if !overall.reasons.is_empty() {
        s.push('\n');
    }
    let failing: Vec<&GateRow> = audit.gates.iter().filter(|g| g.release_verdict == Verdict::Fail).collect();
    if !failing.is_empty() {
        s.push_str("#### Failing rows\n\n");
        s.push_str(&header(&["name", "metric", "value [interval]", "threshold", "measured verdict"]));
        for g in failing {
            let r = &g.record;
            s.push_str(&row(&[
                format!("`{}`", r.name),
                r.metric.clone(),
                format!("{} {} {}", num(r.value), interval(r.interval), r.unit),
                format!("{} {} {}", r.comparator, num(r.threshold), r.unit),
                match r.verdict {
                    Verdict::Pass => "pass (its proof did not hold)".into(),
                    Verdict::Fail => "fail".into(),
                },
            ]));
        }
        s.push('\n');
    }
    if let Some(c) = &audit.comparison {
        let short = &c.base_commit[..c.base_commit.len().min(12)];
        s.push_str(&format!("#### Against `{}` (`{short}`)\n\n", c.against));
        if c.rows.is_empty() {
            s.push_str("No timed subject is measured by both builds.\n\n");
        } else {
            s.push_str(&header(&["subject", "A/B speed ratio [95% interval]", "tolerance", "verdict"]));
            for r in &c.rows {
                s.push_str(&row(&[
                    format!("`{}/{}`", r.gate, r.metric),
                    format!("{} {}", num(r.ratio), interval(Some(r.interval))),
                    format!("{}%", num(r.tolerance * 100.0)),
                    against_report::verdict(r.verdict, c.allow_underpowered).to_string(),
                ]));
            }
            s.push('\n');
        }
        let drifted: Vec<&str> = c.drift.iter().filter(|d| d.fails()).map(|d| d.scenario.as_str()).collect();
        if !drifted.is_empty() {
            s.push_str(&format!(
                "Outputs drifted: {}.\n\n",
                drifted.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    s.push_str(&crate::render::merged_line(audit).replacen("- merged", "Merged", 1));
    let m = &audit.machine;
    let flags: Vec<&str> = m.cpu_flags.iter().filter(|(_, on)| **on).map(|(f, _)| f.as_str()).collect();
    s.push_str(&format!(
        "Machine: {}, {} logical cores ({}). Full reports: `release_gate_verification.md`.\n",
        m.cpu_model,
        m.logical_cores,
        if flags.is_empty() { "no listed instruction set".into() } else { flags.join(", ") }
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn bmf_holds_every_row_with_its_interval() {
        let a = testdata::audit(false);
        let doc: serde_json::Value = serde_json::from_str(&bmf(&a).unwrap()).unwrap();
        assert_eq!(doc.as_object().unwrap().len(), a.gates.len());
        for g in &a.gates {
            let r = &g.record;
            let m = &doc[&r.name][&r.metric];
            assert_eq!(m["value"].as_f64(), Some(r.value), "{}", r.name);
            match r.interval {
                Some([lo, hi]) => {
                    assert_eq!((m["lower_value"].as_f64(), m["upper_value"].as_f64()), (Some(lo), Some(hi)));
                }
                None => assert!(m.get("lower_value").is_none() && m.get("upper_value").is_none(), "{m}"),
            }
        }
        assert!(a.gates.iter().any(|g| g.record.interval.is_some()), "the test data has an interval");
    }

    #[test]
    fn bmf_leaves_out_a_value_it_cannot_hold() {
        let mut a = testdata::audit(false);
        a.gates[0].record.value = f64::NAN;
        let doc: serde_json::Value = serde_json::from_str(&bmf(&a).unwrap()).unwrap();
        assert!(doc.get(&a.gates[0].record.name).is_none());
        assert_eq!(doc.as_object().unwrap().len(), a.gates.len() - 1);
    }

    /// The real comparison committed in docs/examples: its ratios in the BMF and in the
    /// summary, with its failures among the reasons.
    #[test]
    fn a_comparison_reaches_both_formats() {
        let root = crate::release_check::workspace_root();
        let bytes = std::fs::read(root.join("docs/examples/against-run.json")).unwrap();
        let mut a = testdata::audit(false);
        a.comparison = Some(serde_json::from_slice(&bytes).unwrap());
        let c = a.comparison.as_ref().unwrap();
        assert!(!c.rows.is_empty());
        let doc: serde_json::Value = serde_json::from_str(&bmf(&a).unwrap()).unwrap();
        let md = summary_md(&a);
        for r in &c.rows {
            let m = &doc[format!("{}/{}", r.gate, r.metric)]["ab_speed_ratio"];
            assert_eq!(m["value"].as_f64(), Some(r.ratio));
            assert_eq!(
                (m["lower_value"].as_f64(), m["upper_value"].as_f64()),
                (Some(r.interval[0]), Some(r.interval[1]))
            );
            assert!(md.contains(&format!("`{}/{}`", r.gate, r.metric)), "{md}");
        }
        for failure in c.failures() {
            assert!(md.contains(&failure), "{failure} missing from:\n{md}");
        }
        assert!(md.contains(&format!("#### Against `{}`", c.against)), "{md}");
    }

    #[test]
    fn the_summary_names_the_verdict_and_exactly_the_failing_rows() {
        let a = testdata::audit(false);
        let md = summary_md(&a);
        assert!(md.starts_with("### Release check: PASS\n"), "{md}");
        assert!(!md.contains("Failing rows"), "{md}");

        let mut failing = testdata::measurements(false);
        let r = failing.records.iter_mut().find(|r| r.name == "peak_memory").unwrap();
        (r.value, r.bound, r.margin, r.verdict) = (90.0, 90.0, -20.0, Verdict::Fail);
        let a = AuditRun::from_measurements(&failing, testdata::machine(), a.git.clone(), a.config.clone()).unwrap();
        let md = summary_md(&a);
        assert!(md.starts_with("### Release check: FAIL\n"), "{md}");
        let table = &md[md.find("#### Failing rows").expect("a failing-rows table")..];
        assert!(table.contains("`peak_memory`"), "{md}");
        for g in a.gates.iter().filter(|g| g.record.name != "peak_memory") {
            assert!(!table.contains(&format!("`{}`", g.record.name)), "{} is not failing: {md}", g.record.name);
        }
    }
}
