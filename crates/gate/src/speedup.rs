//! Speed-up measurement: two closures timed interleaved in one process after warm-up.
//!
//! Each pair runs A and B once each, in an order drawn from a seeded ChaCha stream; the
//! ratio of the pair is `time(A) / time(B)` (> 1 means B, the candidate, is faster). The value
//! is the median of the pairwise ratios, with a seeded bootstrap 95% interval.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::Rng;

use super::context::GateContext;
use super::error::GateError;
use super::measurement::Measurement;
use super::record::Tier;
use super::spec::Unit;
use super::stats::{bootstrap_median_interval, median};

/// How many pairs, warm-up rounds and resamples a speed-up measurement uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedupPlan {
    /// Unmeasured rounds of A and B before timing.
    pub warmup: usize,
    /// Interleaved timed pairs (at least 3).
    pub pairs: usize,
    /// Bootstrap resamples for the interval.
    pub resamples: usize,
    /// Each timed sample repeats the closure until it lasts at least this long (calibrated
    /// once on A during warm-up); both closures repeat the same number of times.
    pub min_sample: Duration,
}

impl SpeedupPlan {
    /// The plan of a tier: quick = 4 warm-up, 15 pairs, ≥ 0.5 ms samples; release = 8 warm-up,
    /// 61 pairs, ≥ 2 ms samples; 2000 resamples in both.
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Quick => {
                SpeedupPlan { warmup: 4, pairs: 15, resamples: 2000, min_sample: Duration::from_micros(500) }
            }
            Tier::Release => {
                SpeedupPlan { warmup: 8, pairs: 61, resamples: 2000, min_sample: Duration::from_millis(2) }
            }
        }
    }
}

/// The timings of an interleaved run and what follows from them.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedupStats {
    /// Seconds per call of A, one per pair.
    pub baseline_s: Vec<f64>,
    /// Seconds per call of B, one per pair.
    pub candidate_s: Vec<f64>,
    /// `baseline_s[i] / candidate_s[i]`.
    pub ratios: Vec<f64>,
    /// Median of `ratios`.
    pub median: f64,
    /// Bootstrap 95% interval of the median.
    pub interval: [f64; 2],
    /// Whether B ran first, per pair.
    pub candidate_first: Vec<bool>,
}

/// Interleaves two timed runners: `time_a` and `time_b` each run their code once and return
/// the seconds it took. This is the clock-free core of [`measure_speedup`]; tests feed it
/// synthetic times.
///
/// ```
/// use ironforge_gate::{speedup::{interleave, SpeedupPlan}, GateContext};
/// let ctx = GateContext::for_test("demo");
/// let plan = SpeedupPlan { pairs: 9, warmup: 0, ..SpeedupPlan::for_tier(ctx.tier()) };
/// let s = interleave(&ctx, &plan, || 2.0, || 1.0).unwrap();
/// assert_eq!(s.median, 2.0);
/// assert_eq!(s.interval, [2.0, 2.0]);
/// ```
pub fn interleave(
    ctx: &GateContext,
    plan: &SpeedupPlan,
    mut time_a: impl FnMut() -> f64,
    mut time_b: impl FnMut() -> f64,
) -> Result<SpeedupStats, GateError> {
    if plan.pairs < 3 {
        return Err(GateError::TooFewPairs { pairs: plan.pairs });
    }
    let mut order = ctx.stream("speedup/order");
    let mut baseline_s = Vec::with_capacity(plan.pairs);
    let mut candidate_s = Vec::with_capacity(plan.pairs);
    let mut candidate_first = Vec::with_capacity(plan.pairs);
    for _ in 0..plan.pairs {
        let b_first: bool = order.random();
        let (a, b) = if b_first {
            let b = time_b();
            (time_a(), b)
        } else {
            let a = time_a();
            (a, time_b())
        };
        baseline_s.push(a);
        candidate_s.push(b);
        candidate_first.push(b_first);
    }
    let ratios: Vec<f64> = baseline_s.iter().zip(&candidate_s).map(|(a, b)| a / b).collect();
    let median = median(&ratios);
    let interval = bootstrap_median_interval(&ratios, plan.resamples, &mut ctx.stream("speedup/bootstrap"));
    Ok(SpeedupStats { baseline_s, candidate_s, ratios, median, interval, candidate_first })
}

/// Measures how much faster `candidate` is than `baseline`: warm-up, calibration, then
/// interleaved timed pairs (see [`interleave`]). The measurement is a [`Unit::Ratio`] with the
/// pairwise ratios as samples and the median seconds per call of each side in the details.
///
/// ```
/// use ironforge_gate::{speedup::{measure_speedup, SpeedupPlan}, GateContext};
/// let mut ctx = GateContext::for_test("demo");
/// let plan = SpeedupPlan { pairs: 5, warmup: 1, ..SpeedupPlan::for_tier(ctx.tier()) };
/// let m = measure_speedup(&mut ctx, &plan, || (0..1000u64).sum::<u64>(), || (0..10u64).sum::<u64>()).unwrap();
/// assert_eq!(m.samples.len(), 5);
/// ```
pub fn measure_speedup<RA, RB>(
    ctx: &mut GateContext,
    plan: &SpeedupPlan,
    mut baseline: impl FnMut() -> RA,
    mut candidate: impl FnMut() -> RB,
) -> Result<Measurement, GateError> {
    for _ in 0..plan.warmup {
        black_box(baseline());
        black_box(candidate());
    }
    let once = {
        let t = Instant::now();
        black_box(baseline());
        t.elapsed()
    };
    let reps = calibrated_reps(once, plan.min_sample);
    let mut a = || {
        black_box(baseline());
    };
    let mut b = || {
        black_box(candidate());
    };
    let stats = interleave(ctx, plan, || time_reps(&mut a, reps), || time_reps(&mut b, reps))?;
    ctx.detail("baseline_median_s", median(&stats.baseline_s))?;
    ctx.detail("candidate_median_s", median(&stats.candidate_s))?;
    ctx.detail("pairs", plan.pairs)?;
    ctx.detail("reps_per_sample", reps)?;
    let [lo, hi] = stats.interval;
    Ok(Measurement::new(stats.median, Unit::Ratio).with_interval(lo, hi).with_samples(stats.ratios))
}

/// Repetitions needed for one sample of length `once` to last at least `min_sample` (≥ 1).
pub fn calibrated_reps(once: Duration, min_sample: Duration) -> u64 {
    let once_ns = once.as_nanos().max(1);
    (min_sample.as_nanos().div_ceil(once_ns)).clamp(1, 1_000_000) as u64
}

/// Seconds per call of `f`, timed over `reps` back-to-back calls.
fn time_reps(f: &mut impl FnMut(), reps: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}
