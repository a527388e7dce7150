//! Tests of the paired comparison: ratios, summaries, the noise of the control arm, the
//! regression rule, rows and their re-judging, calibrated slowdowns.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::spec::Unit;
use crate::stats::median;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Round-to-round noise around 1: a deterministic zig-zag of the given amplitude.
fn wobble(n: usize, amp: f64) -> Vec<f64> {
    (0..n).map(|i| 1.0 + amp * (((i * 7) % 11) as f64 / 5.0 - 1.0)).collect()
}

fn input<'a>(base: &'a [f64], candidate: &'a [f64], control: &'a [f64], unit: Unit) -> PairedInput<'a> {
    PairedInput { gate: "g", metric: "m", unit, tolerance: 0.05, base, candidate, control }
}

#[test]
fn of_unit_maps_every_unit() {
    for unit in Unit::ALL {
        let expected = match unit {
            Unit::SessionsPerSec | Unit::EventsPerSec | Unit::SubgraphsPerSec => Some(Better::Higher),
            Unit::Millis | Unit::Micros => Some(Better::Lower),
            _ => None,
        };
        assert_eq!(Better::of_unit(unit), expected, "{unit:?}");
    }
}

#[test]
fn speed_ratios_orient_above_one_as_faster() {
    assert_eq!(speed_ratios(&[10.0, 20.0], &[20.0, 10.0], Better::Higher).unwrap(), vec![2.0, 0.5]);
    assert_eq!(speed_ratios(&[10.0, 20.0], &[20.0, 10.0], Better::Lower).unwrap(), vec![0.5, 2.0]);
}

#[test]
fn speed_ratios_refuse_mismatched_and_bad_samples() {
    assert_eq!(
        speed_ratios(&[1.0, 2.0, 3.0], &[1.0, 2.0], Better::Higher),
        Err(PairedError::LengthMismatch { arm: "candidate", base: 3, other: 2 })
    );
    assert_eq!(
        speed_ratios(&[1.0, 0.0], &[1.0, 2.0], Better::Higher),
        Err(PairedError::BadSample { arm: "base", round: 1, value: 0.0 })
    );
    let err = speed_ratios(&[1.0, 2.0, 3.0], &[1.0, 2.0, f64::INFINITY], Better::Lower).unwrap_err();
    assert_eq!(err, PairedError::BadSample { arm: "candidate", round: 2, value: f64::INFINITY });
    assert!(err.to_string().contains("round 2"), "{err}");
    assert!(matches!(
        speed_ratios(&[-1.0], &[1.0], Better::Lower),
        Err(PairedError::BadSample { arm: "base", round: 0, .. })
    ));
    assert!(matches!(
        speed_ratios(&[1.0], &[f64::NAN], Better::Lower),
        Err(PairedError::BadSample { arm: "candidate", round: 0, .. })
    ));
}

#[test]
fn summarize_constant_ratios_has_zero_width() {
    let s = summarize(&[1.25; 9], 500, &mut rng(1)).unwrap();
    assert_eq!(s.rounds, 9);
    assert!((s.median - 1.25).abs() < 1e-12);
    assert!((s.interval[0] - 1.25).abs() < 1e-12 && (s.interval[1] - 1.25).abs() < 1e-12);
    assert_eq!(s.se_log, 0.0);
}

#[test]
fn summarize_median_is_in_log_space_and_bracketed() {
    // Even count: the median of the logs is the geometric mean of the middle two ratios.
    let s = summarize(&[0.5, 1.0, 4.0, 2.0], 500, &mut rng(2)).unwrap();
    assert!((s.median - 2f64.sqrt()).abs() < 1e-12, "{}", s.median);
    let ratios = wobble(25, 0.03);
    let s = summarize(&ratios, 2000, &mut rng(3)).unwrap();
    assert!(s.interval[0] <= s.median && s.median <= s.interval[1]);
    assert!(s.interval[0] < s.interval[1]);
    assert!(s.se_log > 0.0 && s.se_log < 0.03);
}

#[test]
fn summarize_is_deterministic_per_seed() {
    let ratios = wobble(15, 0.02);
    let a = summarize(&ratios, 1000, &mut rng(9)).unwrap();
    let b = summarize(&ratios, 1000, &mut rng(9)).unwrap();
    let c = summarize(&ratios, 1000, &mut rng(10)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.interval[0].to_bits(), b.interval[0].to_bits());
    assert_ne!(a.se_log, c.se_log);
}

#[test]
fn summarize_refuses_too_little() {
    assert_eq!(
        summarize(&[1.0, 1.0], 500, &mut rng(0)),
        Err(PairedError::TooFewRounds { rounds: 2, needed: MIN_ROUNDS })
    );
    assert_eq!(
        summarize(&[1.0; 5], 10, &mut rng(0)),
        Err(PairedError::TooFewResamples { resamples: 10, needed: MIN_RESAMPLES })
    );
    assert!(matches!(
        summarize(&[1.0, -1.0, 1.0], 500, &mut rng(0)),
        Err(PairedError::BadSample { arm: "ratio", round: 1, .. })
    ));
}

#[test]
fn mde_and_noise_floor_follow_their_formulas() {
    let s = RatioSummary { rounds: 20, median: 1.0, interval: [0.98, 1.03], se_log: 0.02 };
    let expected = 1.0 - (-(Z_CONFIDENCE + Z_POWER) * 0.02f64).exp();
    assert_eq!(minimum_detectable_effect(&s), expected);
    assert!((noise_floor(&s) - 0.03).abs() < 1e-12);
    let inside = RatioSummary { interval: [1.01, 1.02], ..s };
    assert!((noise_floor(&inside) - 0.02).abs() < 1e-12);
    let degenerate = RatioSummary { interval: [1.0, 1.0], se_log: 0.0, ..s };
    assert_eq!(noise_floor(&degenerate), 0.0);
    assert_eq!(minimum_detectable_effect(&degenerate), 0.0);
}

#[test]
fn powered_iff_mde_within_tolerance() {
    let s = RatioSummary { rounds: 20, median: 1.0, interval: [0.99, 1.01], se_log: 0.01 };
    let mde = minimum_detectable_effect(&s);
    assert!(powered(&s, mde));
    assert!(!powered(&s, mde * 0.999));
}

#[test]
fn judge_applies_the_rule_in_order() {
    let ab = |lo: f64, hi: f64| RatioSummary { rounds: 10, median: lo, interval: [lo, hi], se_log: 0.0 };
    // Regressed wins even when underpowered.
    assert_eq!(judge(&ab(0.80, 0.9499), 0.05, 0.5), RegressionVerdict::Regressed);
    // Upper end exactly at 1 - tol is not a regression.
    assert_eq!(judge(&ab(0.80, 0.95), 0.05, 0.01), RegressionVerdict::Pass);
    assert_eq!(judge(&ab(0.80, 0.95), 0.05, 0.06), RegressionVerdict::Underpowered);
    // Underpowered wins over Faster.
    assert_eq!(judge(&ab(1.2, 1.3), 0.05, 0.06), RegressionVerdict::Underpowered);
    assert_eq!(judge(&ab(1.2, 1.3), 0.05, 0.05), RegressionVerdict::Faster);
    assert_eq!(judge(&ab(1.05, 1.3), 0.05, 0.05), RegressionVerdict::Pass);
}

#[test]
fn fails_only_regressed_and_unallowed_underpowered() {
    use RegressionVerdict::*;
    let table = [(Pass, false, false), (Faster, false, false), (Regressed, true, true), (Underpowered, true, false)];
    for (v, strict, lenient) in table {
        assert_eq!(v.fails(false), strict, "{v:?}");
        assert_eq!(v.fails(true), lenient, "{v:?}");
    }
}

#[test]
fn verdicts_serialize_snake_case() {
    assert_eq!(serde_json::to_string(&RegressionVerdict::Underpowered).unwrap(), "\"underpowered\"");
    assert_eq!(serde_json::to_string(&Better::Lower).unwrap(), "\"lower\"");
}

#[test]
fn compare_fills_every_field() {
    let base: Vec<f64> = wobble(12, 0.02).iter().map(|w| 1000.0 * w).collect();
    let candidate: Vec<f64> = base.iter().map(|b| b * 1.2).collect();
    let control: Vec<f64> = base.iter().zip(wobble(12, 0.01).iter().rev()).map(|(b, w)| b * w).collect();
    let row = compare(&input(&base, &candidate, &control, Unit::EventsPerSec), 5).unwrap();
    assert_eq!(row.unit, "events/s");
    assert_eq!(row.better, Better::Higher);
    assert_eq!(row.rounds, 12);
    assert_eq!(row.base_median, median(&base));
    assert_eq!(row.candidate_median, median(&candidate));
    assert!((row.ratio - 1.2).abs() < 1e-12 && row.interval[0] > 1.19);
    assert!(row.control_interval[0] <= row.control_ratio && row.control_ratio <= row.control_interval[1]);
    assert!(row.noise_floor > 0.0 && row.noise_floor < 0.02);
    assert!(row.mde > 0.0 && row.mde < 0.05);
    assert_eq!(row.verdict, RegressionVerdict::Faster);
    assert_eq!((row.base.clone(), row.candidate.clone(), row.control.clone()), (base, candidate, control));
}

#[test]
fn compare_times_lower_is_better() {
    let base: Vec<f64> = wobble(10, 0.01).iter().map(|w| 2.0 * w).collect();
    let slower: Vec<f64> = base.iter().map(|b| b * 1.25).collect();
    let row = compare(&input(&base, &slower, &base, Unit::Micros), 0).unwrap();
    assert!((row.ratio - 0.8).abs() < 1e-12);
    assert_eq!(row.verdict, RegressionVerdict::Regressed);
    assert_eq!(row.mde, 0.0);
}

#[test]
fn compare_flags_noisy_runs_underpowered() {
    let base = vec![100.0; 8];
    let noisy: Vec<f64> = wobble(8, 0.3).iter().map(|w| 100.0 * w).collect();
    let row = compare(&input(&base, &base, &noisy, Unit::SessionsPerSec), 0).unwrap();
    assert!(row.mde > 0.05, "{}", row.mde);
    assert_eq!(row.verdict, RegressionVerdict::Underpowered);
    assert!(row.verdict.fails(false) && !row.verdict.fails(true));
}

#[test]
fn compare_refuses_bad_inputs() {
    let a = [1.0; 5];
    assert_eq!(compare(&input(&a, &a, &a, Unit::Bytes), 0), Err(PairedError::UntimedUnit { unit: "bytes".into() }));
    assert_eq!(
        compare(&input(&a, &a, &a[..4], Unit::Millis), 0),
        Err(PairedError::LengthMismatch { arm: "control", base: 5, other: 4 })
    );
    let bad = [1.0, 1.0, 1.0, 0.0, 1.0];
    assert!(matches!(
        compare(&input(&a, &a, &bad, Unit::Millis), 0),
        Err(PairedError::BadSample { arm: "control", round: 3, .. })
    ));
    assert!(matches!(
        compare(&input(&a[..2], &a[..2], &a[..2], Unit::Millis), 0),
        Err(PairedError::TooFewRounds { rounds: 2, .. })
    ));
    let tol = PairedInput { tolerance: 1.0, ..input(&a, &a, &a, Unit::Millis) };
    assert_eq!(compare(&tol, 0), Err(PairedError::BadFraction { name: "tolerance", value: 1.0 }));
}

#[test]
fn compare_is_reproducible_and_seeded_per_row() {
    let base: Vec<f64> = wobble(15, 0.02).iter().map(|w| 50.0 * w).collect();
    let cand: Vec<f64> = wobble(15, 0.03).iter().rev().map(|w| 49.0 * w).collect();
    let ctrl: Vec<f64> = wobble(15, 0.025).iter().map(|w| 50.5 / w).collect();
    let i = input(&base, &cand, &ctrl, Unit::SubgraphsPerSec);
    assert_eq!(compare(&i, 11).unwrap(), compare(&i, 11).unwrap());
    let other = PairedInput { metric: "m2", ..i };
    assert_ne!(compare(&i, 11).unwrap().interval, compare(&other, 11).unwrap().interval);
    assert_ne!(row_seed(11, "g", "m"), row_seed(12, "g", "m"));
}

#[test]
fn rejudge_accepts_a_json_round_trip() {
    let base: Vec<f64> = wobble(20, 0.02).iter().map(|w| 3000.0 * w).collect();
    let cand: Vec<f64> = wobble(20, 0.015).iter().rev().map(|w| 2900.0 * w).collect();
    let ctrl: Vec<f64> = wobble(20, 0.01).iter().map(|w| 3010.0 / w).collect();
    let row = compare(&input(&base, &cand, &ctrl, Unit::SessionsPerSec), 77).unwrap();
    let text = serde_json::to_string(&row).unwrap();
    let back: RegressionRow = serde_json::from_str(&text).unwrap();
    assert_eq!(back, row);
    back.rejudge(77).unwrap();
}

#[test]
fn rejudge_refuses_tampered_fields() {
    let base: Vec<f64> = wobble(20, 0.02).iter().map(|w| 3000.0 * w).collect();
    let cand: Vec<f64> = base.iter().map(|b| b * 0.9).collect();
    let ctrl: Vec<f64> = wobble(20, 0.01).iter().map(|w| 3010.0 / w).collect();
    let row = compare(&input(&base, &cand, &ctrl, Unit::SessionsPerSec), 3).unwrap();
    let field_of = |r: &RegressionRow, seed| match r.rejudge(seed) {
        Err(PairedError::Contradiction { field, gate, metric, .. }) => {
            assert_eq!((gate.as_str(), metric.as_str()), ("g", "m"));
            field
        }
        other => panic!("expected a contradiction, got {other:?}"),
    };
    let mut t = row.clone();
    t.ratio *= 1.0 + 1e-15;
    assert_eq!(field_of(&t, 3), "ratio");
    let mut t = row.clone();
    t.verdict = RegressionVerdict::Pass;
    assert_eq!(field_of(&t, 3), "verdict");
    let mut t = row.clone();
    t.mde = 0.0;
    assert_eq!(field_of(&t, 3), "mde");
    let mut t = row.clone();
    t.better = Better::Lower;
    assert_eq!(field_of(&t, 3), "better");
    let mut t = row.clone();
    t.control_interval[1] += 0.5;
    assert_eq!(field_of(&t, 3), "control_interval");
    // Raw samples are the inputs: changing one changes what follows from it.
    let mut t = row.clone();
    t.candidate = t.base.clone();
    assert_eq!(field_of(&t, 3), "candidate_median");
    // Another seed gives other bootstrap draws (here every A/B ratio is 0.9, so the A/B interval
    // is the same under any seed; the control's summary is not).
    assert!(["interval", "control_interval", "noise_floor", "mde"].contains(&field_of(&row, 4)));
    // A tolerance edit changes the verdict once it exceeds the slowdown.
    let mut t = row.clone();
    t.tolerance = 0.5;
    assert_eq!(field_of(&t, 3), "verdict");
    let mut t = row.clone();
    t.unit = "furlongs".into();
    assert_eq!(t.rejudge(3), Err(PairedError::UntimedUnit { unit: "furlongs".into() }));
    let mut t = row.clone();
    t.control.pop();
    assert!(matches!(t.rejudge(3), Err(PairedError::LengthMismatch { arm: "control", .. })));
    let err = field_of(
        &{
            let mut t = row.clone();
            t.noise_floor = 9.0;
            t
        },
        3,
    );
    assert_eq!(err, "noise_floor");
}

#[test]
fn slowdown_rows_catch_large_slowdowns_only() {
    let base: Vec<f64> = wobble(20, 0.01).iter().map(|w| 1000.0 * w).collect();
    let rows: Vec<SlowdownRow> = [0.02, 0.04, 0.08, 0.16]
        .into_iter()
        .map(|k| {
            let slowed: Vec<f64> =
                base.iter().zip(wobble(20, 0.005).iter().rev()).map(|(b, w)| b * (1.0 - k) * w).collect();
            slowdown_row("g", "m", Unit::SessionsPerSec, 0.05, k, &base, &slowed, 8).unwrap()
        })
        .collect();
    assert_eq!(rows.iter().map(|r| r.caught).collect::<Vec<_>>(), vec![false, false, true, true]);
    assert!(rows.iter().all(|r| r.interval[0] <= r.ratio && r.ratio <= r.interval[1]));
    assert_eq!(smallest_caught(&rows, "g", "m"), Some(0.08));
    assert_eq!(
        slowdown_row("g", "m", Unit::Millis, 0.05, 1.5, &base, &base, 0),
        Err(PairedError::BadFraction { name: "slowdown", value: 1.5 })
    );
    assert!(matches!(
        slowdown_row("g", "m", Unit::Millis, 0.05, 0.1, &base, &base[1..], 0),
        Err(PairedError::LengthMismatch { arm: "slowed", .. })
    ));
}

#[test]
fn slowdown_rows_rejudge_from_their_samples() {
    let mut r = rng(5);
    let base: Vec<f64> = (0..20).map(|_| 3.0 * r.random_range(0.97..1.03)).collect();
    let slowed: Vec<f64> = base.iter().map(|b| b / 0.9 * r.random_range(0.98..1.02)).collect();
    let row = slowdown_row("g", "m", Unit::Millis, 0.05, 0.1, &base, &slowed, 21).unwrap();
    assert_eq!((row.unit.as_str(), &row.base, &row.slowed), ("ms", &base, &slowed));
    let back: SlowdownRow = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
    assert_eq!(back, row);
    back.rejudge(21).unwrap();
    let field_of = |r: &SlowdownRow| match r.rejudge(21) {
        Err(PairedError::Contradiction { field, .. }) => field,
        other => panic!("expected a contradiction, got {other:?}"),
    };
    let mut t = row.clone();
    t.ratio = 0.95;
    assert_eq!(field_of(&t), "ratio");
    let mut t = row.clone();
    t.interval[0] -= 0.01;
    assert_eq!(field_of(&t), "interval");
    let mut t = row.clone();
    t.caught = !t.caught;
    assert_eq!(field_of(&t), "caught");
    let mut t = row.clone();
    t.slowed = base.clone();
    assert_eq!(field_of(&t), "ratio");
    let mut t = row.clone();
    t.unit = "bytes".into();
    assert_eq!(t.rejudge(21), Err(PairedError::UntimedUnit { unit: "bytes".into() }));
}

#[test]
fn smallest_caught_requires_every_larger_slowdown_caught() {
    let row = |gate: &str, slowdown: f64, caught: bool| SlowdownRow {
        gate: gate.into(),
        metric: "m".into(),
        slowdown,
        tolerance: 0.05,
        ratio: 1.0 - slowdown,
        interval: [1.0 - slowdown; 2],
        caught,
        unit: "ms".into(),
        base: Vec::new(),
        slowed: Vec::new(),
    };
    let rows = [row("g", 0.1, true), row("g", 0.2, false), row("h", 0.3, true), row("g", 0.05, true)];
    assert_eq!(smallest_caught(&rows, "g", "m"), None);
    assert_eq!(smallest_caught(&rows, "h", "m"), Some(0.3));
    assert_eq!(smallest_caught(&rows[..1], "g", "m"), Some(0.1));
    assert_eq!(smallest_caught(&[], "g", "m"), None);
}
