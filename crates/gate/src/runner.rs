//! Running one declared gate or scenario: measure, resolve the threshold, judge, build the
//! [`Record`], and under `IRONFORGE_PROVE=1` do it again with the declared fault injected.

use std::time::Instant;

use super::context::GateContext;
use super::env::HarnessEnv;
use super::error::GateError;
use super::judge::{describe, judge};
use super::measurement::Measurement;
use super::memory::mem_total_bytes;
use super::record::{Proof, Record, RecordKind, Tier, Verdict, DETAIL_PARITY_ROWS, DETAIL_REGRESS};
use super::registry::{GateDecl, ScenarioDecl};
use super::spec::{Comparator, DeclMeta, Fault};

/// A measured and judged run, plus the message a failing trial shows.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The record written to the measurements file.
    pub record: Record,
    /// `Err(message)` when the trial must fail: the verdict failed, or (proving) the gate has
    /// no fault or its fault did not make it fail.
    pub trial: Result<(), String>,
}

/// The tier a declaration runs at under `env`: the current tier when it belongs to it,
/// otherwise its own (it was selected with `--ignored`).
pub fn effective_tier(meta: &DeclMeta, env: &HarnessEnv) -> Tier {
    if meta.tiers.contains(env.tier) {
        env.tier
    } else {
        meta.tiers.own()
    }
}

/// One measurement already judged.
struct Judged {
    measurement: Measurement,
    threshold: f64,
    unit: String,
    bound: f64,
    margin: f64,
    verdict: Verdict,
    message: String,
    details: std::collections::BTreeMap<String, serde_json::Value>,
    seconds: f64,
}

type MeasureFn<'a> = dyn Fn(&mut GateContext) -> Result<(Measurement, f64), GateError> + 'a;

fn measure_once(
    name: &str,
    comparator: Comparator,
    env: &HarnessEnv,
    tier: Tier,
    fault: Option<&'static Fault>,
    measure: &MeasureFn<'_>,
) -> Result<Judged, GateError> {
    let mut ctx = GateContext::new(name, tier, env.seed, env.sessions.clone()).with_fault(fault);
    let start = Instant::now();
    let (measurement, threshold) = measure(&mut ctx).map_err(|e| e.in_gate(name))?;
    let seconds = start.elapsed().as_secs_f64();
    if measurement.value.is_nan() {
        return Err(GateError::NotFinite { gate: name.to_string(), what: "value", value: measurement.value });
    }
    let j = judge(comparator, threshold, &measurement);
    let unit = measurement.unit.name().to_string();
    let message = describe(name, comparator, threshold, &unit, &measurement, &j);
    Ok(Judged {
        threshold,
        unit,
        bound: j.bound,
        margin: j.margin,
        verdict: j.verdict,
        message,
        details: ctx.take_details(),
        seconds,
        measurement,
    })
}

#[allow(clippy::too_many_arguments)]
fn run_subject(
    name: &str,
    kind: RecordKind,
    metric: &str,
    comparator: Comparator,
    meta: &DeclMeta,
    env: &HarnessEnv,
    mut extra: std::collections::BTreeMap<String, serde_json::Value>,
    measure: &MeasureFn<'_>,
) -> Result<Outcome, GateError> {
    let tier = effective_tier(meta, env);
    let j = measure_once(name, comparator, env, tier, None, measure)?;
    let mut trial = if j.verdict == Verdict::Pass { Ok(()) } else { Err(format!("gate failed: {}", j.message)) };
    let mut proof = None;
    if env.prove {
        match meta.fault {
            None => {
                if trial.is_ok() {
                    trial = Err(format!(
                        "`{name}` declares no fault (`fault = ...`): under IRONFORGE_PROVE=1 every gate must show it can fail"
                    ));
                }
            }
            Some(fault) => {
                let f = measure_once(name, comparator, env, tier, Some(fault), measure)?;
                if f.verdict == Verdict::Pass && trial.is_ok() {
                    trial = Err(format!(
                        "fault `{}` ({}) did not make `{name}` fail: {}",
                        fault.name, fault.description, f.message
                    ));
                }
                proof = Some(Proof {
                    fault: fault.description.to_string(),
                    value: f.measurement.value,
                    verdict: f.verdict,
                });
            }
        }
    }
    let mut details = j.details;
    details.append(&mut extra);
    details.insert("source".into(), format!("{}:{}", meta.location.file, meta.location.line).into());
    if let Some(r) = meta.regression {
        details.insert(
            DETAIL_REGRESS.into(),
            serde_json::json!({ "tolerance_pct": r.tolerance_pct, "probe": r.probe_name }),
        );
    }
    let record = Record {
        name: name.to_string(),
        kind,
        family: meta.family.to_string(),
        tier,
        metric: metric.to_string(),
        comparator: comparator.symbol().to_string(),
        threshold: j.threshold,
        unit: j.unit,
        value: j.measurement.value,
        interval: j.measurement.interval,
        bound: j.bound,
        margin: j.margin,
        verdict: j.verdict,
        samples: j.measurement.samples,
        duration_s: j.seconds,
        doc: meta.doc.to_string(),
        proof,
        details,
    };
    Ok(Outcome { record, trial })
}

/// Measures and judges a gate. Its units are checked first ([`GateDecl::check_units`]); a
/// measurement in another unit than the expected one is an error ([`GateError::MeasuredUnit`]).
pub fn run_gate(decl: &GateDecl, env: &HarnessEnv) -> Result<Outcome, GateError> {
    let expected = decl.check_units()?;
    let measure = |ctx: &mut GateContext| {
        let m = (decl.measure)(ctx)?;
        if m.unit != expected {
            return Err(GateError::MeasuredUnit {
                gate: decl.name.to_string(),
                expected: expected.name().to_string(),
                measured: m.unit.name().to_string(),
            });
        }
        let t = decl.threshold.resolve(decl.name, m.unit, mem_total_bytes)?;
        Ok((m, t))
    };
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("threshold_declared".to_string(), decl.threshold.describe().into());
    let unit_source = if decl.static_unit.is_some() { "static" } else { "declared" };
    extra.insert("unit_source".to_string(), unit_source.into());
    extra.insert("inputs".to_string(), decl.inputs.into());
    let metric = decl.metric.rsplit("::").next().unwrap_or(decl.metric).trim();
    run_subject(decl.name, RecordKind::Gate, metric, decl.comparator, &decl.meta, env, extra, &measure)
}

/// Measures and judges a parity scenario (comparator `<=` against the scenario's threshold).
pub fn run_scenario(decl: &ScenarioDecl, env: &HarnessEnv) -> Result<Outcome, GateError> {
    let measure = |ctx: &mut GateContext| {
        let outcome = (decl.run)(ctx)?;
        ctx.detail(DETAIL_PARITY_ROWS, &outcome.rows)?;
        ctx.detail("worst_case", &outcome.rows[outcome.worst].case)?;
        Ok((outcome.measurement, outcome.threshold))
    };
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("compare".to_string(), decl.compare.into());
    extra.insert("reference".to_string(), decl.reference.into());
    extra.insert("candidate".to_string(), decl.candidate.into());
    extra.insert("sessions".to_string(), decl.sessions.into());
    run_subject(decl.name, RecordKind::Scenario, "parity", Comparator::Le, &decl.meta, env, extra, &measure)
}
