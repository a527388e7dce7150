//! Attention gates: every kernel against the f64 reference on the gate's sessions (their causal
//! DAG as the mask, the bucket time bias), the release parity gate, and the kernel table.

use ndarray::{Array2, Array3};
use rand::Rng;

use ironforge::attention::bias::TimeBias;
use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs, naive_f32};
use ironforge::attention::kernels::{attend, math};
use ironforge::attention::{AttentionConfig, AttnInputs, Kernel, Mask};
use ironforge::dag::{causal_pairs, BuildParams, Builder};
use ironforge::gate::parity::ParityCase;
use ironforge::gate::record::{BenchRow, ParityRow, Tier, DETAIL_BENCH_ROWS, DETAIL_PARITY_ROWS};
use ironforge::gate::speedup::{calibrated_reps, interleave, SpeedupPlan};
use ironforge::gate::stats::median;
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};

use crate::sessions;

/// Heads and head dimension of the model (4 × 11 = 44).
const HEADS: usize = 4;
const HEAD_DIM: usize = 11;

/// Every kernel's output is perturbed by 1e-3 in one entry.
pub const PERTURBED_OUTPUT: Fault = Fault::new("perturbed_output", "one entry of the candidate's output moved by 1e-3");

/// bf16's tolerance is about 0.06 (8-bit mantissas), so 1e-3 hides inside it: its fault moves
/// one entry by 0.1, beyond the bf16 bound.
pub const PERTURBED_BF16_OUTPUT: Fault =
    Fault::new("perturbed_bf16_output", "one entry of the candidate's output moved by 0.1 (beyond the bf16 bound)");

/// The candidate kernel also runs `math` twice per call.
pub const SLOW_KERNEL: Fault = Fault::new("slow_kernel", "candidate kernel also runs math twice per call");

/// One attention problem built from a session: q, k, v from the session's own ChaCha stream,
/// the mask of its causal DAG (fast builder), the bucket time bias of its timestamps.
pub struct AttnCase {
    id: String,
    q: Array3<f32>,
    k: Array3<f32>,
    v: Array3<f32>,
    mask: Mask,
    bias: Array2<f32>,
}

impl AttnCase {
    pub fn inputs(&self) -> AttnInputs<'_> {
        AttnInputs {
            q: self.q.view(),
            k: self.k.view(),
            v: self.v.view(),
            mask: &self.mask,
            bias: Some(self.bias.view()),
        }
    }
}

impl ParityCase for AttnCase {
    fn case_id(&self) -> String {
        self.id.clone()
    }
    fn case_size(&self) -> usize {
        self.mask.n()
    }
}

fn case_for(ctx: &GateContext, s: &ironforge::session::Session) -> AttnCase {
    let l = s.len();
    let mut rng = ctx.stream(&format!("attention/{}", s.id()));
    let mut draw = || Array3::from_shape_simple_fn((HEADS, l, HEAD_DIM), || rng.random_range(-1.0f32..1.0));
    let (q, k, v) = (draw(), draw(), draw());
    let times = s.times_ms();
    let edges = causal_pairs(&times, &BuildParams::default(), Builder::Fast);
    let bias = TimeBias::Bucket.matrix(&times).expect("the bucket bias always has a matrix");
    AttnCase { id: s.id().to_string(), q, k, v, mask: Mask::from_edges(l, &edges), bias }
}

/// The attention cases of the gate's sessions.
pub fn attention_cases(ctx: &GateContext) -> Result<Vec<AttnCase>, GateError> {
    Ok(sessions::for_gate(ctx)?.into_iter().map(|s| case_for(ctx, s)).collect())
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

/// The f64 reference.
pub fn math_f64(_: &GateContext, c: &AttnCase) -> Result<Array3<f64>, GateError> {
    Ok(math::forward_f64(&c.inputs()))
}

/// The same algorithm in f32 and the reference's order: the "same precision" run of the
/// FlashAttention rule.
pub fn naive_f32_out(_: &GateContext, c: &AttnCase) -> Result<Array3<f64>, GateError> {
    Ok(naive_f32(&c.inputs()).mapv(f64::from))
}

macro_rules! kernel_output {
    ($name:ident, $kernel:expr) => {
        /// Output of one kernel, as f64 for comparison.
        pub fn $name(ctx: &GateContext, c: &AttnCase) -> Result<Array3<f64>, GateError> {
            Ok(run(ctx, $kernel, c)?.mapv(f64::from))
        }
    };
}
kernel_output!(sdpa_out, Kernel::Sdpa);
kernel_output!(flash_out, Kernel::Flash);
kernel_output!(block_sparse_out, Kernel::BlockSparse);
kernel_output!(bf16_out, Kernel::Bf16);

ironforge::scenario!(attention_sdpa_vs_math: sessions = attention_cases, reference = math_f64, candidate = sdpa_out,
    compare = flash(naive_f32_out, floor = 1e-6), family = "attention", fault = PERTURBED_OUTPUT,
    doc = "sdpa is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");
ironforge::scenario!(attention_flash_vs_math: sessions = attention_cases, reference = math_f64, candidate = flash_out,
    compare = flash(naive_f32_out, floor = 1e-6), family = "attention", fault = PERTURBED_OUTPUT,
    doc = "flash is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");
ironforge::scenario!(attention_block_sparse_vs_math: sessions = attention_cases, reference = math_f64, candidate = block_sparse_out,
    compare = flash(naive_f32_out, floor = 1e-6), family = "attention", fault = PERTURBED_OUTPUT,
    doc = "block_sparse is at most twice as far from the f64 reference as the naive f32 run (FlashAttention rule, floor 1e-6)");

// bf16 bound for |q|, |k|, |v| <= 1 at head dim 11 (`kernels::parity::bf16_tolerance` with
// u = 2^-8: delta = (2u + u^2) * 11 / sqrt(11) = 0.02596; (e^(2 delta) - 1) + 2u + u^2 + 1e-5
// = 0.06113); the `bf16_parity` gate evaluates the bound per case instead.
ironforge::scenario!(attention_bf16_vs_math: sessions = attention_cases, reference = math_f64, candidate = bf16_out,
    compare = max_abs(0.0612), family = "attention", fault = PERTURBED_BF16_OUTPUT,
    doc = "bf16 stays within 0.0612, the bf16 bound for |q|,|k|,|v| <= 1 at head dim 11 (bf16_parity checks the per-case bound)");

/// Worst error of the f32 kernels against `math` over every case, with one parity row per
/// (session, kernel); `bf16` is judged per case against its derived bound (`error / bound`).
fn kernel_parity(ctx: &mut GateContext, kernels: &[Kernel]) -> Result<Measurement, GateError> {
    let cases = attention_cases(ctx)?;
    let mut rows = Vec::new();
    let mut worst = 0.0f64;
    for c in &cases {
        let reference = math::forward(&c.inputs());
        for &k in kernels {
            let err = max_abs(run(ctx, k, c)?.view(), reference.view());
            worst = worst.max(err);
            rows.push(ParityRow {
                session_id: c.id.clone(),
                events: c.mask.n(),
                candidate: k.name().to_string(),
                error: err,
                tolerance: 1e-4,
            });
        }
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measurement::new(worst, Unit::Abs))
}

fn f32_kernel_parity(ctx: &mut GateContext, _reference: &str) -> Result<Measurement, GateError> {
    kernel_parity(ctx, &[Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse])
}

ironforge::gate!(attention_parity: f32_kernel_parity(reference = "math") <= 1e-4, family = "attention", fault = PERTURBED_OUTPUT,
    doc = "every f32 kernel (sdpa, flash, block_sparse) is within 1e-4 max abs of the f64 reference on every session's DAG mask and time bias");

/// bf16 error as a share of its derived per-case bound (≤ 1 passes).
fn bf16_parity(ctx: &mut GateContext) -> Result<Measurement, GateError> {
    let cases = attention_cases(ctx)?;
    let mut worst = 0.0f64;
    let mut rows = Vec::new();
    for c in &cases {
        let tol = bf16_tolerance(&c.inputs());
        let err = max_abs(run(ctx, Kernel::Bf16, c)?.view(), math::forward(&c.inputs()).view());
        worst = worst.max(err / tol);
        rows.push(ParityRow {
            session_id: c.id.clone(),
            events: c.mask.n(),
            candidate: "bf16".into(),
            error: err,
            tolerance: tol,
        });
    }
    ctx.detail(DETAIL_PARITY_ROWS, &rows)?;
    Ok(Measurement::new(worst, Unit::Ratio))
}

ironforge::gate!(bf16_parity: bf16_parity() <= 1.0 x, family = "attention", fault = PERTURBED_BF16_OUTPUT,
    doc = "bf16 error on every session is within its derived bf16 bound (error / bound <= 1)");

/// The L buckets of the kernel table (the original's: L ≤ 128, 256, 512, 1024).
const BUCKETS: [usize; 4] = [128, 256, 512, 1024];

/// Per L bucket, the largest session of the gate's sets in that bucket.
pub fn bucket_cases(ctx: &GateContext) -> Result<Vec<(usize, AttnCase)>, GateError> {
    let all = sessions::for_gate(ctx)?;
    let mut out = Vec::new();
    let mut lower = 0;
    for b in BUCKETS {
        if let Some(s) = all.iter().filter(|s| s.len() > lower && s.len() <= b).max_by_key(|s| s.len()) {
            out.push((b, case_for(ctx, s)));
        }
        lower = b;
    }
    Ok(out)
}

/// The kernel-table plan of the gate's tier.
pub fn table_plan(ctx: &GateContext) -> SpeedupPlan {
    match ctx.tier() {
        Tier::Quick => SpeedupPlan { warmup: 1, pairs: 5, ..SpeedupPlan::for_tier(Tier::Quick) },
        Tier::Release => SpeedupPlan { warmup: 2, pairs: 11, ..SpeedupPlan::for_tier(Tier::Release) },
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
/// mercy of the scheduler); under [`SLOW_KERNEL`] the candidate also runs `slow_twin` twice per
/// call. Returns the row and the pairwise ratios.
pub fn bench_row(
    ctx: &GateContext,
    plan: &SpeedupPlan,
    spec: RowSpec<'_>,
    reference: &mut dyn FnMut(),
    candidate: &mut dyn FnMut(),
    slow_twin: &mut dyn FnMut(),
) -> Result<(BenchRow, Vec<f64>), GateError> {
    let slow = ctx.injected(&SLOW_KERNEL);
    candidate();
    let once = {
        let t = std::time::Instant::now();
        reference();
        t.elapsed()
    };
    let reps = calibrated_reps(once, plan.min_sample);
    let time = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    let stats = interleave(
        ctx,
        plan,
        || time(reference),
        || {
            time(&mut || {
                if slow {
                    slow_twin();
                    slow_twin();
                }
                candidate()
            })
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
/// a bootstrap interval) on the sessions' DAG masks; the gate's value is the ratio of the
/// kernel the dispatcher picks, in the bucket where it is lowest.
fn dispatched_kernel_speedup(ctx: &mut GateContext, _reference: &str) -> Result<Measurement, GateError> {
    let dispatcher = Dispatcher::with_default_table(AttentionConfig::from_env().map_err(GateError::msg)?);
    let plan = table_plan(ctx);
    let mut rows = Vec::new();
    let mut gate = Lowest::default();
    let mut math_buckets = Vec::new();
    for (bucket, c) in bucket_cases(ctx)? {
        let inp = c.inputs();
        let chosen = dispatcher.choose_for(&c.mask);
        for k in Kernel::ALL.into_iter().filter(|&k| k != Kernel::Math) {
            let spec = RowSpec { candidate: k.name(), reference: "math", bucket, mask: "dag" };
            let (row, ratios) =
                bench_row(ctx, &plan, spec, &mut || call(Kernel::Math, &inp), &mut || call(k, &inp), &mut || {
                    call(Kernel::Math, &inp)
                })?;
            if k == chosen {
                gate.offer(&row, ratios);
            }
            rows.push(row);
        }
        if chosen == Kernel::Math {
            math_buckets.push(bucket);
        }
    }
    ctx.detail(DETAIL_BENCH_ROWS, &rows)?;
    // Buckets where the table keeps `math` have no candidate to time; they are listed, not judged.
    ctx.detail("buckets_dispatched_to_math", &math_buckets)?;
    gate.measurement("no L bucket has a session dispatched to a fast kernel")
}

/// The row with the lowest lower bound among those offered: a table gate's value.
#[derive(Default)]
pub struct Lowest(Option<(f64, [f64; 2], Vec<f64>)>);

impl Lowest {
    /// Keeps `row` if its interval's lower end is the lowest so far.
    pub fn offer(&mut self, row: &BenchRow, ratios: Vec<f64>) {
        if self.0.as_ref().is_none_or(|(_, iv, _)| row.interval[0] < iv[0]) {
            self.0 = Some((row.ratio, row.interval, ratios));
        }
    }

    /// The kept row as the gate's measurement, or an error saying `none` when nothing was offered.
    pub fn measurement(self, none: &str) -> Result<Measurement, GateError> {
        let (value, [lo, hi], samples) = self.0.ok_or_else(|| GateError::msg(none))?;
        Ok(Measurement::new(value, Unit::Ratio).with_interval(lo, hi).with_samples(samples))
    }
}

ironforge::gate!(dispatch_speedup: dispatched_kernel_speedup(reference = "math") >= 1.0 x, family = "attention", fault = SLOW_KERNEL,
    doc = "in every L bucket the kernel the dispatch table picks is at least as fast as math on the sessions' DAG masks (lower end of the 95% interval); the table of every kernel is in the details");
