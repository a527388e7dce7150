//! Framework self-tests on generic, engine-free code (quick tier only): they show that a gate
//! on a user's own functions works, and that each can be made to fail by its fault.

use rand::Rng;

use ironforge::gate::memory::peak_heap;
use ironforge::gate::parity::Case;
use ironforge::gate::speedup::{measure_speedup, SpeedupPlan};
use ironforge::gate::stats::median;
use ironforge::gate::units::{Abs, Bytes, Fraction, Measured, Ratio};
use ironforge::gate::{scenario_parity, Fault, GateContext, GateError};
use ironforge::{gate, scenario};

// ---- speed: a real sort against a textbook insertion sort --------------------------------------

/// Candidate made slower than its baseline (runs the baseline's work as well, twice).
const SLOW_CANDIDATE: Fault = Fault::new("slow_candidate", "candidate also runs the baseline sort twice");

fn random_keys(ctx: &GateContext, len: usize) -> Vec<u64> {
    let mut rng = ctx.stream("keys");
    (0..len).map(|_| rng.random()).collect()
}

fn insertion_sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn sort_speedup(ctx: &mut GateContext, len: usize) -> Result<Measured<Ratio>, GateError> {
    let keys = random_keys(ctx, len);
    let slow = ctx.injected(&SLOW_CANDIDATE);
    let plan = SpeedupPlan::for_tier(ctx.tier());
    measure_speedup(
        ctx,
        &plan,
        || {
            let mut v = keys.clone();
            insertion_sort(&mut v);
            v
        },
        || {
            let mut v = keys.clone();
            if slow {
                for _ in 0..2 {
                    let mut w = keys.clone();
                    insertion_sort(&mut w);
                    std::hint::black_box(w);
                }
            }
            v.sort_unstable();
            v
        },
    )
    .and_then(Measured::try_from)
}

gate!(sort_speedup: sort_speedup(len = 2_000) >= 1.4 x, family = "demo", tier = quick, fault = SLOW_CANDIDATE,
      doc = "pdqsort (sort_unstable) is at least 1.4x faster than insertion sort on 2000 random keys");

// ---- parity: summation orders ------------------------------------------------------------------

/// Candidate output perturbed by one part in a thousand.
const PERTURBED_SUM: Fault = Fault::new("perturbed_sum", "candidate sum multiplied by 1 + 1e-3");

fn sum_cases(ctx: &GateContext) -> Result<Vec<Case<f32>>, GateError> {
    let mut rng = ctx.stream("sum_cases");
    let lens: &[usize] = match ctx.tier() {
        ironforge::gate::record::Tier::Quick => &[10, 1_000, 10_000],
        ironforge::gate::record::Tier::Release => &[10, 1_000, 10_000, 100_000, 1_000_000],
    };
    Ok(lens
        .iter()
        .map(|&n| Case::new(format!("uniform_{n}"), (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()))
        .collect())
}

fn sum_f64(_: &GateContext, c: &Case<f32>) -> Result<f64, GateError> {
    Ok(c.data.iter().map(|&x| f64::from(x)).sum())
}

fn sum_f32_reversed(_: &GateContext, c: &Case<f32>) -> Result<f64, GateError> {
    Ok(f64::from(c.data.iter().rev().sum::<f32>()))
}

fn pairwise_f32(v: &[f32]) -> f32 {
    if v.len() <= 8 {
        v.iter().sum()
    } else {
        let (a, b) = v.split_at(v.len() / 2);
        pairwise_f32(a) + pairwise_f32(b)
    }
}

fn sum_f32_pairwise(ctx: &GateContext, c: &Case<f32>) -> Result<f64, GateError> {
    let s = f64::from(pairwise_f32(&c.data));
    Ok(if ctx.injected(&PERTURBED_SUM) { s * (1.0 + 1e-3) + 1e-3 } else { s })
}

scenario!(sum_pairwise_flash: sessions = sum_cases, reference = sum_f64, candidate = sum_f32_pairwise,
          compare = flash(sum_f32_reversed, floor = 1e-6), family = "demo", tier = quick, fault = PERTURBED_SUM,
          doc = "pairwise f32 summation is within twice the error of a reordered naive f32 sum of the f64 sum");

scenario!(sum_pairwise_abs: sessions = sum_cases, reference = sum_f64, candidate = sum_f32_pairwise,
          compare = max_abs(1e-2), family = "demo", tier = quick, fault = PERTURBED_SUM,
          doc = "pairwise f32 summation stays within 1e-2 of the f64 sum");

gate!(sum_parity: scenario_parity(scenario = "sum_pairwise_abs") <= 1e-3, unit = abs, family = "demo", tier = quick, fault = PERTURBED_SUM,
      doc = "a gate on a scenario: worst pairwise-sum error at most 1e-3");

// ---- exact: two sorts agree --------------------------------------------------------------------

/// Candidate that drops the last key.
const DROPPED_KEY: Fault = Fault::new("dropped_key", "candidate sort drops its last key");

fn key_cases(ctx: &GateContext) -> Result<Vec<Case<u64>>, GateError> {
    Ok([0usize, 1, 17, 500].iter().map(|&n| Case::new(format!("keys_{n}"), random_keys(ctx, n))).collect())
}

fn by_insertion(_: &GateContext, c: &Case<u64>) -> Result<Vec<u64>, GateError> {
    let mut v = c.data.clone();
    insertion_sort(&mut v);
    Ok(v)
}

fn by_pdqsort(ctx: &GateContext, c: &Case<u64>) -> Result<Vec<u64>, GateError> {
    let mut v = c.data.clone();
    v.sort_unstable();
    if ctx.injected(&DROPPED_KEY) {
        v.pop();
    }
    Ok(v)
}

scenario!(sort_outputs_exact: sessions = key_cases, reference = by_insertion, candidate = by_pdqsort,
          compare = exact, family = "demo", tier = quick, fault = DROPPED_KEY,
          doc = "both sorts give identical outputs");

// ---- memory --------------------------------------------------------------------------------------

/// Allocates four times as much as declared.
const BLOATED: Fault = Fault::new("bloated", "allocates 4x the buffer");

fn buffer_peak(ctx: &mut GateContext, words: usize) -> Result<Measured<Bytes>, GateError> {
    let words = if ctx.injected(&BLOATED) { 4 * words } else { words };
    peak_heap(ctx, || vec![1u64; words]).and_then(Measured::try_from)
}

gate!(buffer_peak_heap: buffer_peak(words = 1 << 20) <= 9 MiB, family = "demo", tier = quick, fault = BLOATED,
      doc = "a 1Mi-word buffer peaks under 9 MiB of live heap (8 MiB of data)");

// ---- value: a stability figure computed by user code ------------------------------------------

/// Second run drawn from a shifted distribution.
const SHIFTED: Fault = Fault::new("shifted", "second run's samples shifted by +0.1");

fn median_stability(ctx: &mut GateContext, samples: usize) -> Result<Measured<Abs>, GateError> {
    let shift = if ctx.injected(&SHIFTED) { 0.1 } else { 0.0 };
    let draw = |label: &str, shift: f64| {
        let mut rng = ctx.stream(label);
        median(&(0..samples).map(|_| rng.random::<f64>() + shift).collect::<Vec<_>>())
    };
    let (a, b) = (draw("run_a", 0.0), draw("run_b", shift));
    ctx.detail("medians", [a, b])?;
    Ok(Measured::new((a - b).abs()))
}

gate!(median_stability: median_stability(samples = 20_000) < 0.05, family = "demo", tier = quick, fault = SHIFTED,
      doc = "the median of 20k uniform draws moves less than 0.05 between two seeded runs");

fn share_above(ctx: &mut GateContext, cut: f64) -> Result<Measured<Fraction>, GateError> {
    let mut rng = ctx.stream("share");
    let cut = if ctx.injected(&SHIFTED) { cut - 0.1 } else { cut };
    let n = 50_000;
    let above = (0..n).filter(|_| rng.random::<f64>() > cut).count();
    Ok(Measured::new(above as f64 / n as f64))
}

gate!(tail_share: share_above(cut = 0.95) < 10%, family = "demo", tier = quick, fault = SHIFTED,
      doc = "under 10% of uniform draws exceed 0.95 (a percent threshold on a fraction)");
