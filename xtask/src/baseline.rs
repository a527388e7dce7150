//! `--baseline`: compare every metric of this run with an earlier audit.
//!
//! Rule: each metric has a noise band in each run — its recorded 95% interval, else the
//! range (min..max) of its raw samples, else its point value. A metric changed only when the
//! two bands do not overlap; it regressed when it moved towards failing (down for `>=`/`>`
//! gates and kernel ratios, up for `<=`/`<` gates and parity errors).

use anyhow::Context;
use ironforge::attention::kernels::bench::{BenchRow, KERNEL_TABLE};
use ironforge::gate::audit::{AuditRun, BaselineComparison, ChangeStatus, MetricChange};
use std::collections::BTreeMap;

/// The rule in words, stored in the audit and shown in the report.
pub const RULE: &str = "changed when the noise bands of the two runs do not overlap (band = 95% interval, \
else min..max of raw samples, else the point value); regressed when it moved towards failing";

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

#[derive(Debug, Clone)]
struct Metric {
    unit: String,
    value: f64,
    band: [f64; 2],
    better: Better,
}

fn band_of(value: f64, interval: Option<[f64; 2]>, samples: &[f64]) -> [f64; 2] {
    if let Some([lo, hi]) = interval {
        return [lo.min(hi), lo.max(hi)];
    }
    if samples.is_empty() {
        return [value, value];
    }
    let lo = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [lo.min(value), hi.max(value)]
}

fn metrics(audit: &AuditRun) -> anyhow::Result<BTreeMap<String, Metric>> {
    let mut out = BTreeMap::new();
    for g in &audit.gates {
        let r = &g.record;
        let better = match r.comparator.as_str() {
            ">=" | ">" => Better::Higher,
            "<=" | "<" => Better::Lower,
            _ => Better::Neither,
        };
        let band = band_of(r.value, r.interval, &r.samples);
        out.insert(format!("gate:{}", r.name), Metric { unit: r.unit.clone(), value: r.value, band, better });
    }
    for c in audit.table::<BenchRow>(KERNEL_TABLE)? {
        let r = &c.row;
        let id = format!("kernel:{}/{}@L{}/{}/t{}", r.candidate, r.reference, r.l_bucket, r.mask, r.threads);
        let band = band_of(r.ratio, Some(r.interval), &[]);
        out.insert(id, Metric { unit: "x".into(), value: r.ratio, band, better: Better::Higher });
    }
    for p in &audit.parity {
        let id = format!("parity:{}/{}", p.scenario, p.row.candidate);
        let e = p.row.error;
        let worst = out.get(&id).map_or(e, |m: &Metric| m.value.max(e));
        out.insert(id, Metric { unit: "abs".into(), value: worst, band: [worst, worst], better: Better::Lower });
    }
    Ok(out)
}

fn status(base: &Metric, cur: &Metric) -> ChangeStatus {
    let up = cur.band[0] > base.band[1];
    let down = cur.band[1] < base.band[0];
    match (up, down, cur.better) {
        (false, false, _) => ChangeStatus::Unchanged,
        (_, _, Better::Neither) => ChangeStatus::Changed,
        (true, _, Better::Higher) | (_, true, Better::Lower) => ChangeStatus::Improved,
        _ => ChangeStatus::Regressed,
    }
}

/// Compares `current` with `baseline` (read from `path`, whose bytes hash to `sha256`).
/// Fails when either audit's kernel table does not read as [`BenchRow`]s.
pub fn compare(
    current: &AuditRun,
    baseline: &AuditRun,
    path: &str,
    sha256: &str,
) -> anyhow::Result<BaselineComparison> {
    let cur = metrics(current)?;
    let base = metrics(baseline).with_context(|| format!("baseline {path}"))?;
    let mut ids: Vec<&String> = cur.keys().chain(base.keys()).collect();
    ids.sort();
    ids.dedup();
    let changes = ids
        .into_iter()
        .map(|id| {
            let (b, c) = (base.get(id), cur.get(id));
            let status = match (b, c) {
                (Some(b), Some(c)) => status(b, c),
                (None, _) => ChangeStatus::Added,
                (_, None) => ChangeStatus::Removed,
            };
            MetricChange {
                metric: id.clone(),
                unit: c.or(b).map(|m| m.unit.clone()).unwrap_or_default(),
                baseline: b.map(|m| m.value),
                baseline_band: b.map(|m| m.band),
                current: c.map(|m| m.value),
                current_band: c.map(|m| m.band),
                status,
            }
        })
        .collect();
    Ok(BaselineComparison {
        path: path.to_string(),
        sha256: sha256.to_string(),
        commit: baseline.git.commit.clone(),
        rule: RULE.to_string(),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn status_of(c: &BaselineComparison, id: &str) -> ChangeStatus {
        c.changes.iter().find(|m| m.metric == id).unwrap_or_else(|| panic!("no metric {id}")).status
    }

    #[test]
    fn unchanged_run_flags_nothing() {
        let a = testdata::audit(false);
        let c = compare(&a, &a, "base.json", "00").unwrap();
        assert!(c.changes.iter().any(|m| m.metric.starts_with("kernel:")), "the kernel table's rows are metrics too");
        assert!(c.changes.iter().all(|m| m.status == ChangeStatus::Unchanged), "{c:?}");
        assert_eq!(c.regressions(), 0);
    }

    #[test]
    fn shift_beyond_noise_is_flagged_and_within_noise_is_not() {
        let base = testdata::audit(false);
        let mut slower = base.clone();
        let g = slower.gates.iter_mut().find(|g| g.record.name == "attention_speedup").unwrap();
        // Inside the baseline interval [1.8, 2.2]: noise.
        g.record.value = 1.9;
        g.record.interval = Some([1.7, 2.1]);
        let c = compare(&slower, &base, "b", "00").unwrap();
        assert_eq!(status_of(&c, "gate:attention_speedup"), ChangeStatus::Unchanged);
        let g = slower.gates.iter_mut().find(|g| g.record.name == "attention_speedup").unwrap();
        g.record.value = 1.5;
        g.record.interval = Some([1.45, 1.6]);
        let c = compare(&slower, &base, "b", "00").unwrap();
        assert_eq!(status_of(&c, "gate:attention_speedup"), ChangeStatus::Regressed);
        assert_eq!(c.regressions(), 1);
        // The same move seen from the other side is an improvement.
        let c = compare(&base, &slower, "b", "00").unwrap();
        assert_eq!(status_of(&c, "gate:attention_speedup"), ChangeStatus::Improved);
    }

    #[test]
    fn lower_is_better_for_parity_and_added_removed_are_reported() {
        let base = testdata::audit(false);
        let mut worse = base.clone();
        for p in worse.parity.iter_mut() {
            p.row.error = p.row.error * 10.0 + 1e-9;
        }
        let id = format!("parity:{}/{}", worse.parity[0].scenario, worse.parity[0].row.candidate);
        worse.gates.retain(|g| g.record.name != "peak_memory");
        let c = compare(&worse, &base, "b", "00").unwrap();
        assert_eq!(status_of(&c, &id), ChangeStatus::Regressed);
        assert_eq!(status_of(&c, "gate:peak_memory"), ChangeStatus::Removed);
        let c = compare(&base, &worse, "b", "00").unwrap();
        assert_eq!(status_of(&c, "gate:peak_memory"), ChangeStatus::Added);
    }
}
