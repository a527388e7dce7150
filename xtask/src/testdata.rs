//! Measurements built in code: the test input of the audit, render and baseline tests.

use ironforge::attention::breaker::{FallbackRow, FALLBACK_TABLE};
use ironforge::attention::kernels::bench::{BenchRow, KERNEL_TABLE};
use ironforge::gate::audit::{AuditRun, GitState, Machine, RunConfig};
use ironforge::gate::judge::bound_from;
use ironforge::gate::record::{
    Manifest, ManifestEntry, Measurements, ParityRow, Proof, Record, RecordKind, Tier, Verdict, DETAIL_PARITY_ROWS,
    MEASUREMENTS_SCHEMA,
};
use ironforge::gate::table::attach;
use ironforge::gate::Comparator;
use std::collections::BTreeMap;

#[allow(clippy::too_many_arguments)]
fn gate(
    name: &str,
    family: &str,
    metric: &str,
    cmp: &str,
    threshold: f64,
    unit: &str,
    value: f64,
    interval: Option<[f64; 2]>,
) -> Record {
    // Judged as the runner judges, so that `AuditRun::validate` re-judges every row alike.
    let comparator = Comparator::from_symbol(cmp).expect("a comparator");
    let bound = bound_from(comparator, value, interval);
    let margin = comparator.margin(bound, threshold);
    Record {
        name: name.into(),
        kind: RecordKind::Gate,
        family: family.into(),
        tier: Tier::Release,
        metric: metric.into(),
        comparator: cmp.into(),
        threshold,
        unit: unit.into(),
        value,
        interval,
        bound,
        margin,
        verdict: if comparator.holds(bound, threshold) { Verdict::Pass } else { Verdict::Fail },
        samples: interval.map(|[lo, hi]| vec![lo, value, hi]).unwrap_or_default(),
        duration_s: 1.25,
        doc: format!("{metric} of {family}"),
        proof: None,
        details: BTreeMap::new(),
    }
}

/// Four release gates and one parity scenario with bench, parity and fallback details, and the
/// manifest listing the five; with `prove`, every gate carries a proof that holds.
pub fn measurements(prove: bool) -> Measurements {
    let mut speed = gate("attention_speedup", "attention", "speedup", ">=", 1.4, "x", 2.0, Some([1.8, 2.2]));
    let bench: Vec<BenchRow> = [128usize, 256, 512, 1024]
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            ["sparse", "tiled"].into_iter().map(move |candidate| {
                let ratio = 1.0 + i as f64 * if candidate == "sparse" { 2.0 } else { 0.5 };
                BenchRow {
                    candidate: candidate.into(),
                    reference: "dense".into(),
                    l_bucket: l,
                    mask: "dag".into(),
                    threads: 1,
                    ratio,
                    interval: [ratio * 0.9, ratio * 1.1],
                    candidate_ms: 0.01 * l as f64 / ratio,
                    reference_ms: 0.01 * l as f64,
                }
            })
        })
        .collect();
    attach(&mut speed.details, KERNEL_TABLE, bench).unwrap();
    let fallbacks = [("sparse", 0), ("tiled", 3)].map(|(kernel, count)| FallbackRow { kernel: kernel.into(), count });
    attach(&mut speed.details, FALLBACK_TABLE, fallbacks).unwrap();
    let mut parity = gate("attention_parity", "attention", "parity", "<=", 1e-4, "abs", 3.1e-7, None);
    parity.kind = RecordKind::Scenario;
    let rows: Vec<ParityRow> = [117usize, 203, 223, 225, 268]
        .iter()
        .enumerate()
        .flat_map(|(i, &size)| {
            ["sparse", "tiled"].into_iter().map(move |candidate| ParityRow {
                case: format!("golden-{i:02}"),
                size,
                candidate: candidate.into(),
                error: (i as f64 + 1.0) * if candidate == "sparse" { 1e-7 } else { 2e-8 },
                tolerance: 1e-4,
            })
        })
        .collect();
    parity.details.insert(DETAIL_PARITY_ROWS.into(), serde_json::to_value(rows).unwrap());
    let mut records = vec![
        speed,
        parity,
        gate("peak_memory", "pipeline", "peak_memory", "<=", 70.0, "%", 1.5, None),
        gate("motif_stability", "motif", "top10_delta_lift", "<", 0.05, "abs", 0.01, Some([0.005, 0.02])),
        gate("regime_variance", "motif", "regime_variance", "<", 10.0, "%", 4.0, Some([3.0, 5.0])),
    ];
    if prove {
        for r in records.iter_mut().filter(|r| r.kind == RecordKind::Gate) {
            r.proof = Some(Proof {
                fault: format!("fault for {}", r.name),
                value: r.threshold * 3.0,
                verdict: Verdict::Fail,
            });
        }
    }
    let manifest = Manifest {
        declarations: records
            .iter()
            .map(|r| ManifestEntry {
                name: r.name.clone(),
                kind: r.kind,
                family: r.family.clone(),
                tiers: vec![Tier::Quick, Tier::Release],
            })
            .collect(),
    };
    Measurements { schema: MEASUREMENTS_SCHEMA.into(), manifest: Some(manifest), records }
}

/// A fixed machine, so rendered reports do not depend on where tests run.
pub fn machine() -> Machine {
    let (cpu_model, cpu_flags) = crate::machine::parse_cpuinfo(
        "model name\t: Test CPU 9000\nflags\t: avx2 fma avx512f avx512_bf16 avx512vl amx_tile amx_bf16\n",
    );
    let mut m = Machine {
        cpu_model,
        logical_cores: 2,
        ram_bytes: 8 << 30,
        cpu_flags,
        os: "linux/x86_64".into(),
        kernel: "6.1.0-test".into(),
        rustc: "rustc 1.95.0 (test)".into(),
        profile: "release".into(),
        ..Machine::default()
    };
    m.fingerprint = crate::machine::fingerprint(&m);
    m
}

/// The audit of [`measurements`].
pub fn audit(prove: bool) -> AuditRun {
    let config = RunConfig {
        tier: "release".into(),
        sessions: "golden,canary".into(),
        seed: 7,
        prove,
        harness: vec!["cargo".into(), "test".into()],
        harness_exit_code: Some(0),
        ..RunConfig::default()
    };
    let git = GitState { commit: Some("0".repeat(40)), dirty: Some(false), dirty_paths: vec![] };
    AuditRun::from_measurements(&measurements(prove), machine(), git, config).unwrap()
}
