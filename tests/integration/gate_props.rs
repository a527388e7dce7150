//! Property tests of the gate framework itself (no engines): judging, bootstrap intervals,
//! interleaved speed-ups on synthetic clocks, parity rules, thresholds, faults and the sink.

use std::collections::BTreeMap;

use ironforge::gate::env::HarnessEnv;
use ironforge::gate::judge::judge;
use ironforge::gate::parity::{max_abs_diff, run_exact, run_numeric, Case, NumericRule};
use ironforge::gate::record::{Measurements, Record, RecordKind, Tier, Verdict};
use ironforge::gate::runner::run_gate;
use ironforge::gate::sink::{merge_record, read_measurements};
use ironforge::gate::speedup::{interleave, SpeedupPlan};
use ironforge::gate::stats::{bootstrap_median_interval, median};
use ironforge::gate::{
    Comparator, DeclMeta, Fault, GateContext, GateDecl, GateError, Location, Measurement, Threshold, Tiers, Unit,
};
use proptest::prelude::*;
use rand::SeedableRng;

fn comparator() -> impl Strategy<Value = Comparator> {
    prop_oneof![Just(Comparator::Ge), Just(Comparator::Gt), Just(Comparator::Le), Just(Comparator::Lt)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A gate with threshold t passes iff its measured bound satisfies the comparator, and the
    /// bound is the interval's conservative end.
    #[test]
    fn passes_iff_bound_satisfies_comparator(
        cmp in comparator(), value in -10.0f64..10.0, lo_off in 0.0f64..2.0, hi_off in 0.0f64..2.0,
        t in -10.0f64..10.0, with_interval in any::<bool>(),
    ) {
        let mut m = Measurement::new(value, Unit::Abs);
        if with_interval {
            m = m.with_interval(value - lo_off, value + hi_off);
        }
        let j = judge(cmp, t, &m);
        let expected_bound = match (with_interval, cmp.wants_large()) {
            (false, _) => value,
            (true, true) => value - lo_off,
            (true, false) => value + hi_off,
        };
        prop_assert_eq!(j.bound, expected_bound);
        let holds = match cmp {
            Comparator::Ge => expected_bound >= t,
            Comparator::Gt => expected_bound > t,
            Comparator::Le => expected_bound <= t,
            Comparator::Lt => expected_bound < t,
        };
        prop_assert_eq!(j.verdict == Verdict::Pass, holds);
        // The margin is positive exactly on the passing side (ties belong to the inclusive ops).
        if j.margin > 0.0 { prop_assert_eq!(j.verdict, Verdict::Pass); }
        if j.margin < 0.0 { prop_assert_eq!(j.verdict, Verdict::Fail); }
    }

    /// The bootstrap interval contains the sample median and lies within the sample range.
    #[test]
    fn bootstrap_interval_brackets_median(xs in prop::collection::vec(-1e3f64..1e3, 1..60), seed in any::<u64>()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let [lo, hi] = bootstrap_median_interval(&xs, 200, &mut rng);
        let m = median(&xs);
        prop_assert!(lo <= m && m <= hi, "{lo} <= {m} <= {hi}");
        let min = xs.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(min <= lo && hi <= max);
        let mut again = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        prop_assert_eq!([lo, hi], bootstrap_median_interval(&xs, 200, &mut again));
    }

    /// On a synthetic clock, a candidate slowed down by k ≥ 1 gives ratios ≤ 1 and a `>= 1.4 x`
    /// gate fails; a candidate faster by f ≥ 2 under ±10% noise passes it.
    #[test]
    fn slowed_candidate_fails_fast_candidate_passes(
        k in 1.0f64..5.0, f in 2.0f64..8.0, noise in prop::collection::vec(0.9f64..1.1, 64), seed in any::<u64>(),
    ) {
        let ctx = GateContext::new("synthetic", Tier::Quick, seed, vec![]);
        let plan = SpeedupPlan { warmup: 0, pairs: 15, resamples: 300, ..SpeedupPlan::for_tier(Tier::Quick) };
        let mut i = 0;
        let mut next = || { i += 1; noise[i % noise.len()] };
        let slowed = interleave(&ctx, &plan, || 1e-3, || k * 1e-3).unwrap();
        let m = Measurement::new(slowed.median, Unit::Ratio).with_interval(slowed.interval[0], slowed.interval[1]);
        prop_assert_eq!(judge(Comparator::Ge, 1.4, &m).verdict, Verdict::Fail);
        let fast = interleave(&ctx, &plan, || 1e-3 * next(), || 1e-3 / f).unwrap();
        let m = Measurement::new(fast.median, Unit::Ratio).with_interval(fast.interval[0], fast.interval[1]);
        prop_assert_eq!(judge(Comparator::Ge, 1.4, &m).verdict, Verdict::Pass);
        prop_assert_eq!(fast.ratios.len(), 15);
    }

    /// Pair order is random but seeded: the same seed gives the same order, and both orders occur.
    #[test]
    fn pair_order_is_seeded(seed in any::<u64>()) {
        let ctx = GateContext::new("order", Tier::Quick, seed, vec![]);
        let plan = SpeedupPlan { warmup: 0, pairs: 64, resamples: 10, ..SpeedupPlan::for_tier(Tier::Quick) };
        let a = interleave(&ctx, &plan, || 1.0, || 1.0).unwrap();
        let b = interleave(&ctx, &plan, || 1.0, || 1.0).unwrap();
        prop_assert_eq!(&a.candidate_first, &b.candidate_first);
        prop_assert!(a.candidate_first.iter().any(|&x| x) && a.candidate_first.iter().any(|&x| !x));
    }

    /// Max abs is symmetric, zero on identical inputs, and sees a perturbation of size d.
    #[test]
    fn max_abs_sees_perturbations(xs in prop::collection::vec(-1e3f64..1e3, 1..50), idx in any::<prop::sample::Index>(), d in 1e-6f64..1.0) {
        prop_assert_eq!(max_abs_diff(&xs, &xs), Some(0.0));
        let mut ys = xs.clone();
        let i = idx.index(ys.len());
        ys[i] += d;
        let e = max_abs_diff(&xs, &ys).unwrap();
        prop_assert_eq!(Some(e), max_abs_diff(&ys, &xs));
        prop_assert!((e - d).abs() <= 1e-9 * (1.0 + xs[i].abs()));
    }

    /// `10%` against a fraction means 0.1; `p% of ram` is p/100 of MemTotal.
    #[test]
    fn percent_thresholds_resolve(p in 0.0f64..100.0, total in 1u64..(1u64 << 40)) {
        prop_assert_eq!(Threshold::Percent(p).resolve("g", Unit::Fraction, || unreachable!()).unwrap(), p / 100.0);
        prop_assert_eq!(Threshold::Percent(p).resolve("g", Unit::Percent, || unreachable!()).unwrap(), p);
        let r = Threshold::PercentOfRam(p).resolve("g", Unit::Bytes, || Ok(total)).unwrap();
        prop_assert!((r - p / 100.0 * total as f64).abs() <= 1e-9 * total as f64);
        prop_assert!(Threshold::PercentOfRam(p).resolve("g", Unit::Ratio, || Ok(total)).is_err());
    }
}

// ---- parity scenarios on a broken candidate --------------------------------------------------

fn cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
    Ok((1..=4).map(|n| Case::new(format!("c{n}"), (0..n * 10).map(|i| i as f64 * 0.1).collect())).collect())
}
fn identity(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data.clone())
}
fn perturbed(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data.iter().map(|x| x + 1e-3).collect())
}
fn truncated(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data[1..].to_vec())
}
fn reordered(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data.iter().map(|x| x + 1e-9).collect())
}

#[test]
fn perturbed_candidate_fails_max_abs_and_flash_rules() {
    let ctx = GateContext::for_test("p");
    let ok = run_numeric(&ctx, cases, identity, identity, "identity", NumericRule::MaxAbs { tolerance: 1e-4 }).unwrap();
    assert_eq!(ok.measurement.value, 0.0);
    assert_eq!(ok.rows.len(), 4);
    let bad =
        run_numeric(&ctx, cases, identity, perturbed, "perturbed", NumericRule::MaxAbs { tolerance: 1e-4 }).unwrap();
    assert!((bad.measurement.value - 1e-3).abs() < 1e-9);
    assert_eq!(judge(Comparator::Le, bad.threshold, &bad.measurement).verdict, Verdict::Fail);
    let rule = NumericRule::Flash { same_precision: reordered, floor: 0.0 };
    let flash = run_numeric(&ctx, cases, identity, perturbed, "perturbed", rule).unwrap();
    assert!(flash.measurement.value > 1.0, "1e-3 is far beyond 2 x 1e-9");
    assert!(flash.rows.iter().all(|r| (r.tolerance - 2e-9).abs() < 1e-12));
    let close = run_numeric(&ctx, cases, identity, reordered, "reordered", rule).unwrap();
    assert_eq!(judge(Comparator::Le, close.threshold, &close.measurement).verdict, Verdict::Pass);
}

#[test]
fn shape_mismatch_is_a_typed_error() {
    let ctx = GateContext::for_test("shape");
    let err = run_numeric(&ctx, cases, identity, truncated, "t", NumericRule::MaxAbs { tolerance: 1.0 }).unwrap_err();
    assert!(
        matches!(err, GateError::ShapeMismatch { ref case, reference: 10, candidate: 9, .. } if case == "c1"),
        "{err}"
    );
}

#[test]
fn exact_counts_mismatching_cases() {
    let ctx = GateContext::for_test("exact");
    let same = run_exact(&ctx, cases, identity, identity, "identity").unwrap();
    assert_eq!(same.measurement.value, 0.0);
    let diff = run_exact(&ctx, cases, identity, perturbed, "perturbed").unwrap();
    assert_eq!(diff.measurement.value, 4.0);
    assert!(diff.rows.iter().all(|r| r.error == 1.0));
}

// ---- runner: verdicts, faults and proofs ------------------------------------------------------

const NUDGE: Fault = Fault::new("nudge", "value raised to 0.9");

fn nudgeable(ctx: &mut GateContext) -> Result<Measurement, GateError> {
    ctx.detail("nudged", ctx.injected(&NUDGE))?;
    Ok(Measurement::new(if ctx.injected(&NUDGE) { 0.9 } else { 0.01 }, Unit::Abs))
}
fn failing_metric(_: &mut GateContext) -> Result<Measurement, GateError> {
    Err(GateError::msg("input shard missing"))
}

const fn decl(name: &'static str, fault: Option<&'static Fault>) -> GateDecl {
    let meta = DeclMeta::new(Location { file: "tests/integration/gate_props.rs", line: 1 }).with_doc("test gate");
    GateDecl {
        name,
        metric: "nudgeable",
        inputs: "",
        comparator: Comparator::Lt,
        threshold: Threshold::Absolute(0.05),
        static_unit: None,
        declared_unit: Some(Unit::Abs),
        meta: match fault {
            Some(f) => meta.with_fault(f),
            None => meta,
        },
        measure: nudgeable,
    }
}

fn env(prove: bool) -> HarnessEnv {
    HarnessEnv { tier: Tier::Quick, seed: 3, sessions: vec![], prove, measurements: None, trial_dir: None }
}

#[test]
fn prove_mode_records_a_failing_proof() {
    let gate = decl("with_fault", Some(&NUDGE));
    let plain = run_gate(&gate, &env(false)).unwrap();
    assert!(plain.trial.is_ok());
    assert!(plain.record.proof.is_none());
    assert_eq!(plain.record.details["nudged"], false);
    let proved = run_gate(&gate, &env(true)).unwrap();
    assert!(proved.trial.is_ok(), "{:?}", proved.trial);
    let proof = proved.record.proof.unwrap();
    assert_eq!((proof.value, proof.verdict), (0.9, Verdict::Fail));
    assert!((proved.record.margin - 0.04).abs() < 1e-12);
}

#[test]
fn prove_mode_reports_gates_without_fault() {
    let outcome = run_gate(&decl("no_fault", None), &env(true)).unwrap();
    let msg = outcome.trial.unwrap_err();
    assert!(msg.contains("declares no fault"), "{msg}");
}

#[test]
fn failing_gate_message_names_value_bound_threshold_margin() {
    let mut gate = decl("too_strict", None);
    gate.threshold = Threshold::Absolute(0.001);
    let outcome = run_gate(&gate, &env(false)).unwrap();
    assert_eq!(outcome.record.verdict, Verdict::Fail);
    let msg = outcome.trial.unwrap_err();
    for part in ["value 0.010000", "bound 0.010000 < 0.001000", "margin -0.009000"] {
        assert!(msg.contains(part), "{part:?} missing in {msg}");
    }
}

#[test]
fn metric_errors_name_the_gate() {
    let mut gate = decl("broken_input", None);
    gate.measure = failing_metric;
    let err = run_gate(&gate, &env(false)).unwrap_err();
    assert_eq!(err.to_string(), "metric of `broken_input` failed: input shard missing");
}

#[test]
fn unit_mismatch_is_an_error() {
    let mut gate = decl("wrong_unit", None);
    gate.threshold = Threshold::Ratio(1.4);
    assert!(matches!(run_gate(&gate, &env(false)), Err(GateError::UnitMismatch { .. })));
}

#[test]
fn harness_refuses_zero_gates_and_duplicates() {
    use ironforge::gate::harness::trials_from;
    assert!(matches!(trials_from(&[], &[], &env(false)), Err(GateError::NoGates)));
    static A: GateDecl = decl("same", None);
    static B: GateDecl = decl("same", None);
    assert!(matches!(trials_from(&[&A, &B], &[], &env(false)), Err(GateError::DuplicateName { .. })));
    static C: GateDecl = decl("other", None);
    assert_eq!(trials_from(&[&C, &A], &[], &env(false)).unwrap().len(), 2);
}

#[test]
fn release_only_gate_runs_at_release_tier_when_selected() {
    let mut gate = decl("release_only", None);
    gate.meta = gate.meta.with_tiers(Tiers::Release);
    let outcome = run_gate(&gate, &env(false)).unwrap();
    assert_eq!(outcome.record.tier, Tier::Release);
}

// ---- environment and sink ---------------------------------------------------------------------

#[test]
fn env_values_are_checked() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    };
    let e =
        HarnessEnv::from_lookup(lookup(&[("IRONFORGE_SESSIONS", "golden, canary"), ("IRONFORGE_PROVE", "1")])).unwrap();
    assert_eq!(e.sessions, ["golden", "canary"]);
    assert!(e.prove);
    assert_eq!(e.tier, Tier::Quick);
    let err = HarnessEnv::from_lookup(lookup(&[("IRONFORGE_TIER", "nightly")])).unwrap_err();
    assert!(err.to_string().contains("IRONFORGE_TIER"), "{err}");
    assert!(HarnessEnv::from_lookup(lookup(&[("IRONFORGE_PROVE", "yes")])).is_err());
}

fn record(name: &str) -> Record {
    Record {
        name: name.into(),
        kind: RecordKind::Gate,
        family: "demo".into(),
        tier: Tier::Quick,
        metric: "m".into(),
        comparator: "<".into(),
        threshold: 1.0,
        unit: "abs".into(),
        value: 0.5,
        interval: None,
        bound: 0.5,
        margin: 0.5,
        verdict: Verdict::Pass,
        samples: vec![],
        duration_s: 0.0,
        doc: "d".into(),
        proof: None,
        details: BTreeMap::new(),
    }
}

#[test]
fn concurrent_writers_merge_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("measurements.json");
    std::thread::scope(|s| {
        for t in 0..4 {
            let path = &path;
            s.spawn(move || {
                for i in 0..10 {
                    merge_record(path, record(&format!("t{t}_{i:02}"))).unwrap();
                }
            });
        }
    });
    merge_record(&path, record("t0_00")).unwrap();
    let m: Measurements = read_measurements(&path).unwrap().unwrap();
    assert_eq!(m.records.len(), 40);
    assert!(m.records.windows(2).all(|w| w[0].name < w[1].name));
    assert!(!dir.path().join("measurements.json.lock").exists());
}

#[test]
fn sink_refuses_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.json");
    std::fs::write(&path, "{\"hello\": 1}").unwrap();
    let err = merge_record(&path, record("a")).unwrap_err();
    assert!(err.to_string().contains("not a measurements file"), "{err}");
}

#[test]
fn peak_heap_needs_the_counting_allocator() {
    // This test binary does not install `CountingAllocator`: asking for a peak is an error.
    let err = ironforge::gate::memory::measure_peak(|| vec![0u8; 10]).unwrap_err();
    assert!(matches!(err, GateError::AllocatorNotInstalled));
}
