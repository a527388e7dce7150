//! Pipeline gates: the cold session-processing speed-up of the optimized pipeline over the
//! baseline, and the optimized pipeline's peak heap against a budget derived from the workload.
//! Methods: `docs/pipeline-gates.md`.

use std::cell::RefCell;
use std::time::Instant;

use ironforge::attention::breaker::{self, FALLBACK_TABLE};
use ironforge::attention::{AttentionConfig, Model};
use ironforge::gate::memory::{measure_peak, peak_rss_bytes};
use ironforge::gate::probe::{fastest, Timing, SAMPLES_PER_CALL};
use ironforge::gate::record::Tier;
use ironforge::gate::speedup::{calibrated_reps, interleave, SpeedupPlan};
use ironforge::gate::stats::median;
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};
use ironforge::pipeline::{Pipeline, PipelineConfig, SessionOutput, MAX_MOTIF_SIZE};
use ironforge::session::{Session, NODE_FEATURES};

use crate::sessions;

/// The optimized pipeline also runs the baseline's work (so it is slower than the baseline).
pub const SLOW_OPTIMIZED: Fault = Fault::new("slow_optimized", "optimized pipeline also runs the baseline pipeline");

/// Bytes the [`RETAINED_ALLOCATION`] fault holds: 200 MiB.
pub const RETAINED_BYTES: usize = 200 << 20;

/// A 200 MiB allocation held while the pipeline runs (a leak or a retained buffer).
pub const RETAINED_ALLOCATION: Fault =
    Fault::new("retained_allocation", "holds a 200 MiB heap allocation while the pipeline runs");

fn attention_config() -> Result<AttentionConfig, GateError> {
    AttentionConfig::from_env().map_err(GateError::msg)
}

/// A pipeline configuration by name: `baseline` ([`PipelineConfig::baseline`]) or `optimized`
/// ([`PipelineConfig::optimized`] under the `IRONFORGE_ENABLE_*` flags).
pub fn config_named(name: &str) -> Result<PipelineConfig, GateError> {
    match name {
        "baseline" => Ok(PipelineConfig::baseline()),
        "optimized" => Ok(PipelineConfig::optimized(attention_config()?)),
        other => Err(GateError::msg(format!("unknown pipeline `{other}` (expected baseline or optimized)"))),
    }
}

/// The pipeline named `name`, its model weights from the gate's seed.
pub fn pipeline_named(ctx: &GateContext, name: &str) -> Result<Pipeline, GateError> {
    Ok(Pipeline::new(ctx.seed(), config_named(name)?))
}

fn process_all(pipeline: &Pipeline, sessions: &[&Session]) -> Result<usize, GateError> {
    for s in sessions {
        pipeline
            .process(s)
            .map_err(|e| GateError::msg(format!("{} pipeline, session {}: {e}", pipeline.config().name, s.id())))?;
    }
    Ok(sessions.len())
}

/// Empties a pipeline's time-bias cache (if it has one): the next pass meets every session cold.
fn clear_cache(p: &Pipeline) {
    if let Some(c) = p.cache() {
        c.clear();
    }
}

/// Interleaved pairs per tier and the shortest candidate sample: the release tier's baseline
/// pass over golden + canary is the expensive side (reference builder, `math`, brute-force
/// census, ≈ 0.8 s); the quick tier's candidate pass over four small sessions lasts about a
/// millisecond, so its samples repeat the pass.
fn speedup_plan(tier: Tier) -> SpeedupPlan {
    match tier {
        Tier::Quick => SpeedupPlan {
            warmup: 1,
            pairs: 9,
            min_sample: std::time::Duration::from_millis(10),
            ..SpeedupPlan::for_tier(tier)
        },
        Tier::Release => SpeedupPlan {
            warmup: 1,
            pairs: 11,
            min_sample: std::time::Duration::from_millis(50),
            ..SpeedupPlan::for_tier(tier)
        },
    }
}

/// Speed-up of pipeline `candidate` over pipeline `baseline` on the gate's sessions, **cold**:
/// every timed candidate pass starts with an empty time-bias cache (cleared outside the timed
/// region), as a user meets a session set the first time. Interleaved pairs (A B or B A, seeded
/// order); a sample is the time per pass of `reps` passes over every session (`reps` calibrated
/// so that the candidate's sample lasts the plan's `min_sample`; 1 in the release tier), each
/// pass preceded by its untimed clearing; value = median of the pairwise ratios
/// t(baseline)/t(candidate), 95% interval = seeded bootstrap of the median, judged on its lower
/// end. The warm-cache figure (the same passes with the cache kept full) is in the details as
/// `warm_cache_*`, never judged.
fn pipeline_speedup(ctx: &mut GateContext, baseline: &str, candidate: &str) -> Result<Measurement, GateError> {
    let sessions = sessions::for_gate(ctx)?;
    let base = pipeline_named(ctx, baseline)?;
    let t = Instant::now();
    let cand = pipeline_named(ctx, candidate)?;
    let construct_s = t.elapsed().as_secs_f64();
    // Fail loudly before timing (inside the timed closures errors are only collected), and
    // warm what is process-wide (lookup tables, per-thread buffers), not the cache.
    process_all(&base, &sessions)?;
    process_all(&cand, &sessions)?;
    let slow = ctx.injected(&SLOW_OPTIMIZED);
    let plan = speedup_plan(ctx.tier());
    for _ in 0..plan.warmup {
        process_all(&base, &sessions)?;
        clear_cache(&cand);
        process_all(&cand, &sessions)?;
    }
    let once = {
        clear_cache(&cand);
        let t = Instant::now();
        process_all(&cand, &sessions)?;
        t.elapsed()
    };
    let reps = calibrated_reps(once, plan.min_sample);
    let failure: RefCell<Option<GateError>> = RefCell::new(None);
    let timed = |p: &Pipeline, also_baseline: bool| -> f64 {
        let mut seconds = 0.0;
        for _ in 0..reps {
            clear_cache(p);
            let t = Instant::now();
            if also_baseline {
                if let Err(e) = process_all(&base, &sessions) {
                    failure.borrow_mut().get_or_insert(e);
                }
            }
            if let Err(e) = process_all(p, &sessions) {
                failure.borrow_mut().get_or_insert(e);
            }
            seconds += t.elapsed().as_secs_f64();
        }
        seconds / reps as f64
    };
    let stats = interleave(ctx, &plan, || timed(&base, false), || timed(&cand, slow))?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let cold_cache = cand.cache().map(|c| c.stats());
    // Warm cache: the cache now holds every session's bias matrix (if it fits); passes as above
    // without the clearing.
    let mut warm_s = Vec::new();
    for _ in 0..plan.pairs.div_ceil(3).max(3) {
        let t = Instant::now();
        if slow {
            process_all(&base, &sessions)?;
        }
        process_all(&cand, &sessions)?;
        warm_s.push(t.elapsed().as_secs_f64());
    }
    let n = sessions.len() as f64;
    let (base_s, cold_s, warm) = (median(&stats.baseline_s), median(&stats.candidate_s), median(&warm_s));
    ctx.detail("pairs", plan.pairs)?;
    ctx.detail("passes_per_sample", reps)?;
    ctx.detail(
        "timing",
        "seconds per pass over every session; candidate cache cleared (untimed) before each timed pass",
    )?;
    ctx.detail("baseline_median_s", base_s)?;
    ctx.detail("candidate_median_s", cold_s)?;
    ctx.detail("baseline_sessions_per_s", n / base_s)?;
    ctx.detail("cold_sessions_per_s", n / cold_s)?;
    ctx.detail("cold_pass_cache", cold_cache)?;
    ctx.detail("warm_cache_median_s", warm)?;
    ctx.detail("warm_cache_sessions_per_s", n / warm)?;
    ctx.detail("warm_cache_speedup", base_s / warm)?;
    ctx.detail("warm_cache_passes", warm_s.len())?;
    ctx.detail("warm_pass_cache", cand.cache().map(|c| c.stats()))?;
    ctx.detail("candidate_construct_s", construct_s)?;
    ctx.table(FALLBACK_TABLE, breaker::global().rows())?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("events", sessions.iter().map(|s| s.len()).sum::<usize>())?;
    let [lo, hi] = stats.interval;
    Ok(Measurement::new(stats.median, Unit::Ratio).with_interval(lo, hi).with_samples(stats.ratios))
}

/// Probe of `session_speedup` for `release-check --against`: the optimized pipeline's cold
/// throughput (sessions/s) over the gate's sessions, as the gate times its candidate: a
/// pipeline constructed and run once untimed (once per process: the probe's later passes reuse
/// it), then [`SAMPLES_PER_CALL`] passes, the time-bias cache emptied (untimed) before each;
/// one sample = the fastest pass ([`fastest`]).
fn pipeline_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {
    static WARM: std::sync::OnceLock<Pipeline> = std::sync::OnceLock::new();
    let sessions = sessions::for_gate(ctx)?;
    let p = match WARM.get() {
        Some(p) => p,
        None => {
            let p = pipeline_named(ctx, "optimized")?;
            process_all(&p, &sessions)?;
            WARM.get_or_init(|| p)
        }
    };
    let mut passes = Vec::with_capacity(SAMPLES_PER_CALL);
    for _ in 0..SAMPLES_PER_CALL {
        clear_cache(p);
        let (r, s) = ctx.time(|| process_all(p, &sessions));
        r?;
        passes.push(s);
    }
    Ok(vec![Timing::new("optimized", Unit::SessionsPerSec, sessions.len() as f64 / fastest(&passes))?])
}

ironforge::gate!(session_speedup: pipeline_speedup(baseline = "baseline", candidate = "optimized") >= 3.0 x, unit = x,
    family = "pipeline", fault = SLOW_OPTIMIZED, regress <= 5% on pipeline_probe,
    doc = "cold session processing (DAG, embeddings, motif census; time-bias cache emptied before every timed pass) of the optimized pipeline is at least 3x the baseline's, on the lower end of the 95% interval");

/// The heap a pipeline may use on a session set, derived from the input (see
/// `docs/pipeline-gates.md`): `SLACK × (parameters + retained cache + dense working set of the
/// largest session + its linear buffers)`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryBudget {
    /// The model's weights, 4 bytes per parameter.
    pub model_parameter_bytes: u64,
    /// What the time-bias cache keeps by design: `min(capacity, Σ sessions (4·L² + 8·L))`
    /// (0 without a cache).
    pub cache_retained_bytes: u64,
    /// Events of the largest session.
    pub largest_session_events: usize,
    /// Its L × L terms: the f32 bias matrix, one f32 score matrix and the mask's bits
    /// (`8·L² + L·⌈L/64⌉·8`).
    pub dense_working_set_bytes: u64,
    /// Its per-event buffers: raw and normalised features (2 × 45), hidden state, q, k, v,
    /// merged, projected, attention output (f64) and embeddings (12 × 44 in f32 terms), and the
    /// edges, DAG and census graph (64 bytes per event per builder edge).
    pub linear_bytes: u64,
    /// Multiplier for what the terms leave out (vector growth, allocator rounding, small maps).
    pub slack: f64,
    /// The budget in bytes.
    pub total_bytes: u64,
}

/// Slack of the memory budget.
pub const BUDGET_SLACK: f64 = 2.0;

impl MemoryBudget {
    /// The budget of running `config` (weights from `model`) over `sessions`.
    pub fn of(config: &PipelineConfig, model: &Model, sessions: &[&Session]) -> Result<Self, GateError> {
        let params = model.w_in.len()
            + model.b_in.len()
            + model
                .layers
                .iter()
                .map(|l| {
                    l.wq.len()
                        + l.bq.len()
                        + l.wk.len()
                        + l.bk.len()
                        + l.wv.len()
                        + l.bv.len()
                        + l.wo.len()
                        + l.bo.len()
                        + l.ln_gamma.len()
                        + l.ln_beta.len()
                })
                .sum::<usize>();
        let bias_bytes = |l: u64| 4 * l * l + 8 * l;
        let cache_capacity = match &config.attention {
            Some(a) if a.time_bias_cache => ironforge::pipeline::BIAS_CACHE_BYTES as u64,
            _ => 0,
        };
        let all_bias: u64 = sessions.iter().map(|s| bias_bytes(s.len() as u64)).sum();
        let l = sessions
            .iter()
            .map(|s| s.len() as u64)
            .max()
            .ok_or_else(|| GateError::msg("no sessions: nothing to budget"))?;
        let hidden = ironforge::attention::model::HIDDEN as u64;
        let dense = 8 * l * l + l * l.div_ceil(64) * 8;
        let edges_per_event = config.params.k as u64;
        let linear = l * (2 * NODE_FEATURES as u64 + 12 * hidden) * 4 + 64 * l * edges_per_event.max(1);
        let model_parameter_bytes = 4 * params as u64;
        let cache_retained_bytes = cache_capacity.min(all_bias);
        let sum = model_parameter_bytes + cache_retained_bytes + dense + linear;
        Ok(MemoryBudget {
            model_parameter_bytes,
            cache_retained_bytes,
            largest_session_events: l as usize,
            dense_working_set_bytes: dense,
            linear_bytes: linear,
            slack: BUDGET_SLACK,
            total_bytes: (sum as f64 * BUDGET_SLACK).ceil() as u64,
        })
    }
}

/// Peak heap of one trial of pipeline `pipeline` over the gate's sessions, against the budget
/// its input allows: value = (peak live heap above the trial's start, counting allocator) /
/// [`MemoryBudget::total_bytes`], as a ratio. The pipeline is built inside the window (a user
/// builds one), after one unmeasured session through a throwaway pipeline has set up what is
/// process-wide (class lookup tables, per-thread buffers). The process's `VmHWM` is a detail
/// only (it includes earlier trials).
fn pipeline_peak_memory(ctx: &mut GateContext, pipeline: &str) -> Result<Measurement, GateError> {
    let sessions = sessions::for_gate(ctx)?;
    let config = config_named(pipeline)?;
    let smallest =
        sessions.iter().min_by_key(|s| s.len()).ok_or_else(|| GateError::msg("no sessions: nothing to measure"))?;
    let (warm, statics) = measure_peak(|| process_all(&pipeline_named(ctx, pipeline)?, &[smallest]))?;
    warm?;
    let budget = MemoryBudget::of(&config, &Model::from_seed(ctx.seed()), &sessions)?;
    let retain = ctx.injected(&RETAINED_ALLOCATION);
    let seed = ctx.seed();
    let (result, peak) = measure_peak(|| {
        let mut held: Vec<u8> = Vec::new();
        if retain {
            // Counted by the heap counter; left untouched, so no page is faulted in.
            held.try_reserve_exact(RETAINED_BYTES).map_err(|e| GateError::msg(format!("fault allocation: {e}")))?;
        }
        let p = Pipeline::new(seed, config.clone());
        let r = process_all(&p, &sessions);
        let cache = p.cache().map(|c| c.stats());
        drop(p);
        drop(held);
        r.map(|_| cache)
    })?;
    let cache = result?;
    ctx.detail("budget", &budget)?;
    ctx.detail("peak_heap_above_start_bytes", peak.peak_above_baseline)?;
    ctx.detail("heap_at_start_bytes", peak.baseline_bytes)?;
    ctx.detail("warmup_peak_heap_above_start_bytes", statics.peak_above_baseline)?;
    ctx.detail("cache", cache)?;
    ctx.detail("process_vm_hwm_bytes", peak_rss_bytes()?)?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("max_motif_size", MAX_MOTIF_SIZE)?;
    Ok(Measurement::new(peak.peak_above_baseline as f64 / budget.total_bytes as f64, Unit::Ratio))
}

ironforge::gate!(peak_memory: pipeline_peak_memory(pipeline = "optimized") <= 1.0 x, unit = x,
    family = "pipeline", fault = RETAINED_ALLOCATION,
    doc = "one trial's peak live heap above its start (counting allocator) while the optimized pipeline is built and processes the gate's sessions stays within the budget derived from the input: 2 x (model parameters + bias matrices the cache keeps + dense L x L working set and per-event buffers of the largest session)");

/// The optimized pipeline's outputs are perturbed: its last census count is one lower and its
/// first embedding value 1e-3 higher.
pub const PERTURBED_PIPELINE_OUTPUT: Fault = Fault::new(
    "perturbed_pipeline_output",
    "the optimized pipeline's last census count is one lower and its first embedding value 1e-3 higher",
);

fn pipeline_output(ctx: &GateContext, name: &str, s: &Session) -> Result<SessionOutput, GateError> {
    pipeline_named(ctx, name)?
        .process(s)
        .map_err(|e| GateError::msg(format!("{name} pipeline, session {}: {e}", s.id())))
}

/// A pipeline's structural outputs on one session as integers, in a fixed order: edge count
/// and edges, generation count and each generation (length, nodes), census size and each
/// motif (size, pattern, labels or -1, count).
fn structure(out: &SessionOutput) -> Vec<i64> {
    let mut v = vec![out.edges.len() as i64];
    v.extend(out.edges.iter().flat_map(|&(a, b)| [i64::from(a), i64::from(b)]));
    let generations = out.generations.to_vecs();
    v.push(generations.len() as i64);
    for g in &generations {
        v.push(g.len() as i64);
        v.extend(g.iter().map(|&n| i64::from(n)));
    }
    let motifs: Vec<_> = out.census.iter().collect();
    v.push(motifs.len() as i64);
    for (id, count) in motifs {
        v.extend([i64::from(id.size), i64::from(id.pattern), id.labels.map_or(-1, i64::from), count as i64]);
    }
    v
}

/// Structural outputs of the baseline pipeline (reference builder, brute-force census).
pub fn baseline_structure(ctx: &GateContext, s: &Session) -> Result<Vec<i64>, GateError> {
    Ok(structure(&pipeline_output(ctx, "baseline", s)?))
}

/// Structural outputs of the optimized pipeline.
pub fn optimized_structure(ctx: &GateContext, s: &Session) -> Result<Vec<i64>, GateError> {
    let mut v = structure(&pipeline_output(ctx, "optimized", s)?);
    if ctx.injected(&PERTURBED_PIPELINE_OUTPUT) {
        if let Some(last) = v.last_mut() {
            *last -= 1;
        }
    }
    Ok(v)
}

ironforge::scenario!(pipeline_structure_optimized_vs_baseline: sessions = crate::dag::dag_sessions,
    reference = baseline_structure, candidate = optimized_structure, compare = exact, drift <= 0,
    family = "pipeline", fault = PERTURBED_PIPELINE_OUTPUT,
    doc = "the optimized pipeline's causal edges, topological generations and motif census equal the baseline pipeline's on every session");

/// Per-event embeddings (row-major, L x 44) then the session embedding of pipeline `name`.
fn embeddings(ctx: &GateContext, name: &str, s: &Session) -> Result<Vec<f32>, GateError> {
    let e = pipeline_output(ctx, name, s)?.embeddings;
    Ok(e.events.iter().chain(e.session.iter()).copied().collect())
}

/// Embeddings of the baseline pipeline (`math` kernel).
pub fn baseline_embeddings(ctx: &GateContext, s: &Session) -> Result<Vec<f32>, GateError> {
    embeddings(ctx, "baseline", s)
}

/// Embeddings of the optimized pipeline (dispatched kernels, time-bias cache).
pub fn optimized_embeddings(ctx: &GateContext, s: &Session) -> Result<Vec<f32>, GateError> {
    let mut v = embeddings(ctx, "optimized", s)?;
    if ctx.injected(&PERTURBED_PIPELINE_OUTPUT) {
        if let Some(first) = v.first_mut() {
            *first += 1e-3;
        }
    }
    Ok(v)
}

ironforge::scenario!(pipeline_embeddings_optimized_vs_baseline: sessions = crate::dag::dag_sessions,
    reference = baseline_embeddings, candidate = optimized_embeddings, compare = max_abs(1e-5), drift <= 1e-6,
    family = "pipeline", fault = PERTURBED_PIPELINE_OUTPUT,
    doc = "the optimized pipeline's per-event and session embeddings stay within 1e-5 of the baseline pipeline's on every session");
