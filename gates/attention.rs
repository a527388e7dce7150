//! Attention gates: every kernel against the f64 reference on the attention case families
//! (`attention_cases.rs`), the release parity gate, and the kernel table of the dispatched
//! kernel on the sessions' DAG masks against its targets (`targets.rs`).

use ndarray::Array3;

use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::kernels::bench::{BenchRow, KERNEL_TABLE};
use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs, naive_f32};
use ironforge::attention::kernels::simd::Isa;
use ironforge::attention::kernels::{attend, math};
use ironforge::attention::{AttentionConfig, AttnInputs, Kernel};
use ironforge::gate::probe::{seconds_per_call, Timing};
use ironforge::gate::record::{ParityRow, Tier, DETAIL_PARITY_ROWS};
use ironforge::gate::speedup::{calibrated_reps, interleave, SpeedupPlan};
use ironforge::gate::stats::median;
use ironforge::gate::units::{Abs, Measured, Ratio};
use ironforge::gate::{Fault, GateContext, GateError, Unit};

use crate::attention_cases::{all_cases, session_case, AttnCase, HEAD_DIM};
use crate::kernel_paths::Variant;
use crate::sessions;
use crate::targets;

/// Every kernel's output is perturbed by 1e-3 in one entry.
pub const PERTURBED_OUTPUT: Fault = Fault::new("perturbed_output", "one entry of the candidate's output moved by 1e-3");

/// bf16's tolerance is about 0.06 (8-bit mantissas), so 1e-3 hides inside it: its fault moves
/// one entry by 0.1, beyond the bf16 bound.
pub const PERTURBED_BF16_OUTPUT: Fault =
    Fault::new("perturbed_bf16_output", "one entry of the candidate's output moved by 0.1 (beyond the bf16 bound)");

/// The candidate kernel is three times slower.
pub const SLOW_KERNEL: Fault = Fault::new("slow_kernel", "candidate kernel runs three times per call (3x slower)");

/// The cases of every family whose head dimension is the model's (the bf16 scenario's fixed
/// bound is derived for D = 11).
pub fn model_dim_cases(ctx: &GateContext) -> Result<Vec<AttnCase>, GateError> {
    Ok(all_cases(ctx)?.into_iter().filter(|c| c.head_dim() == HEAD_DIM).collect())
}

pub fn run(ctx: &GateContext, kernel: Kernel, c: &AttnCase) -> Result<Array3<f32>, GateError> {
    let mut out = attend(kernel, &c.inputs()).map_err(|e| GateError::msg(format!("{}: {e}", kernel.name())))?;
    let shift = if ctx.injected(&PERTURBED_OUTPUT) {
        1e-3
    } else if ctx.injected(&PERTURBED_BF16_OUTPUT) {
        0.1
    } else {
        0.0
    };
    if let Some(x) = out.iter_mut().next() {
        *x += shift;
    }
    Ok(out)
}

/// The f64 reference, flattened in logical order (heads, rows, columns) for comparison.
pub fn math_f64(_: &GateContext, c: &AttnCase) -> Result<Vec<f64>, GateError> {
    Ok(math::forward_f64(&c.inputs()).iter().copied().collect())
}

/// The same algorithm in f32 and the reference's order: the "same precision" run of the
/// FlashAttention rule.
pub fn naive_f32_out(_: &GateContext, c: &AttnCase) -> Result<Vec<f64>, GateError> {
    Ok(naive_f32(&c.inputs()).iter().map(|&x| f64::from(x)).collect())
}

macro_rules! kernel_output {
    ($name:ident, $kernel:expr) => {
        /// Output of one kernel, as f64 flattened in logical order for comparison.
        pub fn $name(ctx: &GateContext, c: &AttnCase) -> Result<Vec<f64>, GateError> {
            Ok(run(ctx, $kernel, c)?.iter().map(|&x| f64::from(x)).collect())
        }
    };
}
kernel_output!(sdpa_out, Kernel::Sdpa);
kernel_output!(flash_out, Kernel::Flash);
kernel_output!(block_sparse_out, Kernel::BlockSparse);
kernel_output!(bf16_out, Kernel::Bf16);

ironforge::scenario!(attention_sdpa_vs_math: sessions = all_cases, reference = math_f64, candidate = sdpa_out,
    compare = flash(naive_f32_out, floor = 1e-6), drift <= 1e-6, family = "attention", fault = PERTURBED_OUTPUT,
    doc = "sdpa is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");
ironforge::scenario!(attention_flash_vs_math: sessions = all_cases, reference = math_f64, candidate = flash_out,
    compare = flash(naive_f32_out, floor = 1e-6), drift <= 1e-6, family = "attention", fault = PERTURBED_OUTPUT,
    doc = "flash is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");
ironforge::scenario!(attention_block_sparse_vs_math: sessions = all_cases, reference = math_f64, candidate = block_sparse_out,
    compare = flash(naive_f32_out, floor = 1e-6), drift <= 1e-6, family = "attention", fault = PERTURBED_OUTPUT,
    doc = "block_sparse is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");

// bf16 bound for |q|, |k|, |v| <= 1 at head dim 11 (`kernels::parity::bf16_tolerance` with
// u = 2^-8: delta = (2u + u^2) * 11 / sqrt(11) = 0.02596; (e^(2 delta) - 1) + 2u + u^2 + 1e-5
// = 0.06113); the `bf16_parity` gate evaluates the bound per case instead.
ironforge::scenario!(attention_bf16_vs_math: sessions = model_dim_cases, reference = math_f64, candidate = bf16_out,
    compare = max_abs(0.0612), drift <= 1e-6, family = "attention", fault = PERTURBED_BF16_OUTPUT,
    doc = "bf16 stays within 0.0612, the bf16 bound for |q|,|k|,|v| <= 1 at head dim 11 (bf16_parity checks the per-case bound)");

/// Worst error of the f32 kernels against `math` over every case, with one parity row per
/// (session, kernel); `bf16` is judged per case against its derived bound (`error / bound`).
fn kernel_parity(ctx: &mut GateContext, kernels: &[Kernel]) -> Result<Measured<Abs>, GateError> {
    let cases = all_cases(ctx)?;
    let mut rows = Vec::new();
    let mut worst = 0.0f64;
    for c in &cases {
        let reference = math::forward(&c.inputs());
        for &k in kernels {
            let err = max_abs(run(ctx, k, c)?.view(), reference.view());
            worst = worst.max(err);
            rows.push(ParityRow {
                case: c.id.clone(),
                size: c.mask.n(),
                candidate: k.name().to_string(),
                error: err,
                tolerance: 1e-4,
            });
        }
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measured::new(worst))
}

fn f32_kernel_parity(ctx: &mut GateContext) -> Result<Measured<Abs>, GateError> {
    kernel_parity(ctx, &[Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse])
}

ironforge::gate!(attention_parity: f32_kernel_parity() <= 1e-4, family = "attention", fault = PERTURBED_OUTPUT,
    doc = "every f32 kernel (sdpa, flash, block_sparse) is within 1e-4 max abs of the f64 reference on every attention case family (the sessions' DAG masks with their time bias, dense, causal, window and random masks)");

/// bf16 error as a share of its derived per-case bound (≤ 1 passes).
fn bf16_parity(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    let cases = all_cases(ctx)?;
    let mut worst = 0.0f64;
    let mut rows = Vec::new();
    for c in &cases {
        let tol = bf16_tolerance(&c.inputs());
        let err = max_abs(run(ctx, Kernel::Bf16, c)?.view(), math::forward(&c.inputs()).view());
        worst = worst.max(err / tol);
        rows.push(ParityRow {
            case: c.id.clone(),
            size: c.mask.n(),
            candidate: "bf16".into(),
            error: err,
            tolerance: tol,
        });
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measured::new(worst))
}

ironforge::gate!(bf16_parity: bf16_parity() <= 1.0 x, family = "attention", fault = PERTURBED_BF16_OUTPUT,
    doc = "bf16 error on every attention case family is within its derived bf16 bound (error / bound <= 1)");

/// The L buckets of the kernel table (the original's: L ≤ 128, 256, 512, 1024).
const BUCKETS: [usize; 4] = [128, 256, 512, 1024];

/// Per L bucket, the largest session of the gate's sets in that bucket.
pub fn bucket_cases(ctx: &GateContext) -> Result<Vec<(usize, AttnCase)>, GateError> {
    let all = sessions::for_gate(ctx)?;
    let mut out = Vec::new();
    let mut lower = 0;
    for b in BUCKETS {
        if let Some(s) = all.iter().filter(|s| s.len() > lower && s.len() <= b).max_by_key(|s| s.len()) {
            out.push((b, session_case(ctx, s)));
        }
        lower = b;
    }
    Ok(out)
}

/// The kernel-table plan of the gate's tier.
pub fn table_plan(ctx: &GateContext) -> SpeedupPlan {
    match ctx.tier() {
        Tier::Quick => SpeedupPlan { warmup: 1, pairs: 5, ..SpeedupPlan::for_tier(Tier::Quick) },
        Tier::Release => SpeedupPlan {
            warmup: 2,
            pairs: 21,
            min_sample: std::time::Duration::from_millis(5),
            ..SpeedupPlan::for_tier(Tier::Release)
        },
    }
}

/// Names and shape of one kernel-table row.
pub struct RowSpec<'a> {
    /// Candidate kernel name.
    pub candidate: &'a str,
    /// Reference name (`math`, `torch`).
    pub reference: &'a str,
    /// L bucket.
    pub bucket: usize,
    /// `dag` or `dense`.
    pub mask: &'a str,
}

/// One kernel-table row: `candidate` timed against `reference` as interleaved pairs, each sample
/// repeating the call until it lasts the plan's minimum (sub-ms kernels timed once are at the
/// mercy of the scheduler); under [`SLOW_KERNEL`] the candidate runs three times per call.
/// Returns the row and the pairwise ratios.
pub fn bench_row(
    ctx: &GateContext,
    plan: &SpeedupPlan,
    spec: RowSpec<'_>,
    reference: &mut dyn FnMut(),
    candidate: &mut dyn FnMut(),
) -> Result<(BenchRow, Vec<f64>), GateError> {
    let slow = ctx.injected(&SLOW_KERNEL);
    // Each side repeats its call until one sample lasts the plan's minimum: a sub-millisecond
    // kernel timed once per sample beside a slow reference is at the mercy of the scheduler.
    let reps_of = |f: &mut dyn FnMut()| {
        f();
        let t = std::time::Instant::now();
        f();
        calibrated_reps(t.elapsed(), plan.min_sample)
    };
    let reference_reps = reps_of(reference);
    let candidate_reps = reps_of(candidate);
    let time = |f: &mut dyn FnMut(), reps: u64| {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    let stats = interleave(
        ctx,
        plan,
        || time(reference, reference_reps),
        || {
            time(
                &mut || {
                    if slow {
                        candidate();
                        candidate();
                    }
                    candidate()
                },
                candidate_reps,
            )
        },
    )?;
    let row = BenchRow {
        candidate: spec.candidate.into(),
        reference: spec.reference.into(),
        l_bucket: spec.bucket,
        mask: spec.mask.into(),
        threads: 1,
        ratio: stats.median,
        interval: stats.interval,
        candidate_ms: median(&stats.candidate_s) * 1e3,
        reference_ms: median(&stats.baseline_s) * 1e3,
    };
    Ok((row, stats.ratios))
}

/// Runs `k` on `inp`, its output dropped (for timing).
pub fn call(k: Kernel, inp: &AttnInputs<'_>) {
    drop(std::hint::black_box(attend(k, inp)));
}

/// Kernel table: every kernel against `math` per L bucket (interleaved pairs, median ratio with
/// a bootstrap interval) on the sessions' DAG masks. The gate's value is, over the L buckets,
/// the lowest of the dispatched kernel's lower bound divided by the target that bucket reaches
/// on this instruction set ([`targets`]): a halving anywhere fails.
fn dispatched_kernel_speedup(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    let dispatcher = Dispatcher::with_default_table(AttentionConfig::from_env().map_err(GateError::msg)?);
    let plan = table_plan(ctx);
    let mut rows = Vec::new();
    let mut gate = AgainstTargets::default();
    let mut math_buckets = Vec::new();
    for (bucket, c) in bucket_cases(ctx)? {
        let inp = c.inputs();
        let chosen = dispatcher.choose_for(&c.mask);
        for k in Kernel::ALL.into_iter().filter(|&k| k != Kernel::Math) {
            let spec = RowSpec { candidate: k.name(), reference: "math", bucket, mask: "dag" };
            let (row, ratios) = bench_row(ctx, &plan, spec, &mut || call(Kernel::Math, &inp), &mut || call(k, &inp))?;
            if k == chosen {
                gate.offer(&format!("dispatch/{}/dag/L{bucket}", Isa::detect().name()), &row, ratios)?;
            }
            rows.push(row);
        }
        if chosen == Kernel::Math {
            math_buckets.push(bucket);
            continue;
        }
        // On an AVX-512 CPU the dispatched f32 kernel is judged on AVX2 as well.
        if Isa::detect() == Isa::Avx512 && chosen != Kernel::Bf16 {
            let v = Variant::F32(chosen, Isa::Avx2);
            let name = v.name();
            let spec = RowSpec { candidate: &name, reference: "math", bucket, mask: "dag" };
            let (row, ratios) = bench_row(ctx, &plan, spec, &mut || call(Kernel::Math, &inp), &mut || {
                drop(std::hint::black_box(v.run(&inp)))
            })?;
            gate.offer(&format!("dispatch/avx2/dag/L{bucket}"), &row, ratios)?;
            rows.push(row);
        }
    }
    ctx.table(KERNEL_TABLE, &rows)?;
    // Buckets where the table keeps `math` have no candidate to time; they are listed, not judged.
    ctx.detail("buckets_dispatched_to_math", &math_buckets)?;
    gate.measurement(ctx, "no L bucket has a session dispatched to a fast kernel")
}

/// Timed rows judged against their targets: the gate's value is the lowest
/// `lower bound / target` (≥ 1 passes), with every row's ratio to its target in the details.
#[derive(Default)]
pub struct AgainstTargets {
    worst: Option<(f64, [f64; 2], Vec<f64>)>,
    judged: Vec<(String, f64, f64)>,
}

impl AgainstTargets {
    /// Judges `row` (named `key` in the targets table) against its target on this CPU's
    /// instruction set; a row without a target is an error naming it.
    pub fn offer(&mut self, key: &str, row: &BenchRow, ratios: Vec<f64>) -> Result<(), GateError> {
        let target = targets::kernel_target(key)?;
        let scaled = |x: f64| x / target;
        let lower = scaled(row.interval[0]);
        self.judged.push((key.to_string(), row.interval[0], target));
        if self.worst.as_ref().is_none_or(|(_, iv, _)| lower < iv[0]) {
            self.worst =
                Some((scaled(row.ratio), [lower, scaled(row.interval[1])], ratios.into_iter().map(scaled).collect()));
        }
        Ok(())
    }

    /// The lowest row as the gate's measurement (in units of its target), or an error saying
    /// `none` when nothing was offered.
    pub fn measurement(self, ctx: &mut GateContext, none: &str) -> Result<Measured<Ratio>, GateError> {
        ctx.detail("isa", Isa::detect().name())?;
        ctx.detail(
            "rows_vs_targets",
            self.judged
                .iter()
                .map(|(k, lower, t)| serde_json::json!({"row": k, "lower_bound": lower, "target": t, "lower_over_target": lower / t}))
                .collect::<Vec<_>>(),
        )?;
        let (value, [lo, hi], samples) = self.worst.ok_or_else(|| GateError::msg(none))?;
        Ok(Measured::new(value).with_interval(lo, hi).with_samples(samples))
    }
}

/// Probe of `dispatch_speedup` for `release-check --against`: per L bucket, the time (us) of
/// the kernel the dispatch table picks on the bucket's session ([`seconds_per_call`]), whichever
/// kernel that is (a change that makes the table pick a slower one shows).
fn dispatch_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {
    let dispatcher = Dispatcher::with_default_table(AttentionConfig::from_env().map_err(GateError::msg)?);
    let mut timings = Vec::new();
    for (bucket, c) in bucket_cases(ctx)? {
        let inp = c.inputs();
        let chosen = dispatcher.choose_for(&c.mask);
        let s = seconds_per_call(ctx, || call(chosen, &inp));
        timings.push(Timing::new(format!("dispatch/L{bucket}"), Unit::Micros, s * 1e6)?);
    }
    Ok(timings)
}

ironforge::gate!(dispatch_speedup: dispatched_kernel_speedup() >= 1.0 x, family = "attention", tier = release, fault = SLOW_KERNEL,
    regress <= 5% on dispatch_probe,
    doc = "in every L bucket the kernel the dispatch table picks reaches its target speed-up over math on the sessions' DAG masks (lower end of the 95% interval over the target of gates/targets.rs for this instruction set); the table of every kernel is in the details");
