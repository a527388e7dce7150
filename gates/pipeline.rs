//! Pipeline gates: session-processing speed-up and peak memory of the optimized pipeline.

use ironforge::attention::AttentionConfig;
use ironforge::gate::memory::{measure_peak, mem_total_bytes, peak_rss_bytes};
use ironforge::gate::record::DETAIL_FALLBACKS;
use ironforge::gate::speedup::{measure_speedup, SpeedupPlan};
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};
use ironforge::pipeline::{Pipeline, PipelineConfig};
use ironforge::session::Session;

use crate::sessions;

/// The optimized pipeline also runs the baseline's work (so it is slower than the baseline).
pub const SLOW_OPTIMIZED: Fault = Fault::new("slow_optimized", "optimized pipeline also runs the baseline pipeline");

/// An allocation of 75% of the machine's RAM held (untouched) during the scenario.
pub const RETAINED_ALLOCATION: Fault =
    Fault::new("retained_allocation", "holds an allocation of 75% of RAM while the pipeline runs");

fn attention_config() -> Result<AttentionConfig, GateError> {
    AttentionConfig::from_env().map_err(GateError::msg)
}

/// Both pipelines, built from the gate's seed and the `IRONFORGE_ENABLE_*` flags.
pub fn pipelines(ctx: &GateContext) -> Result<(Pipeline, Pipeline), GateError> {
    let baseline = Pipeline::new(ctx.seed(), PipelineConfig::baseline());
    let optimized = Pipeline::new(ctx.seed(), PipelineConfig::optimized(attention_config()?));
    Ok((baseline, optimized))
}

fn process_all(pipeline: &Pipeline, sessions: &[&Session]) -> Result<usize, GateError> {
    for s in sessions {
        pipeline
            .process(s)
            .map_err(|e| GateError::msg(format!("{} pipeline, session {}: {e}", pipeline.config().name, s.id())))?;
    }
    Ok(sessions.len())
}

/// Speed-up of the optimized pipeline over the baseline on the gate's sessions, measured
/// interleaved (A B / B A pairs) after warm-up. Throughput of both is added to the details.
fn pipeline_speedup(ctx: &mut GateContext, _baseline: &str, _candidate: &str) -> Result<Measurement, GateError> {
    let sessions = sessions::for_gate(ctx)?;
    let (baseline, optimized) = pipelines(ctx)?;
    // Fail loudly before timing: inside the timed closures errors cannot be reported.
    process_all(&baseline, &sessions)?;
    process_all(&optimized, &sessions)?;
    let slow = ctx.injected(&SLOW_OPTIMIZED);
    let plan = match ctx.tier() {
        ironforge::gate::record::Tier::Quick => SpeedupPlan::for_tier(ctx.tier()),
        ironforge::gate::record::Tier::Release => {
            SpeedupPlan { warmup: 1, pairs: 11, ..SpeedupPlan::for_tier(ctx.tier()) }
        }
    };
    let m = measure_speedup(
        ctx,
        &plan,
        || process_all(&baseline, &sessions).is_ok(),
        || {
            if slow {
                let _ = process_all(&baseline, &sessions);
            }
            process_all(&optimized, &sessions).is_ok()
        },
    )?;
    let seconds = |key: &str| ctx.details().get(key).and_then(|v| v.as_f64());
    let n = sessions.len() as f64;
    if let (Some(b), Some(c)) = (seconds("baseline_median_s"), seconds("candidate_median_s")) {
        ctx.detail("baseline_sessions_per_s", n / b)?;
        ctx.detail("optimized_sessions_per_s", n / c)?;
    }
    ctx.detail(
        DETAIL_FALLBACKS,
        ironforge::attention::breaker::global().snapshot().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    )?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("events", sessions.iter().map(|s| s.len()).sum::<usize>())?;
    Ok(m)
}

ironforge::gate!(session_speedup: pipeline_speedup(baseline = "baseline", candidate = "optimized") >= 1.4 x,
    family = "pipeline", fault = SLOW_OPTIMIZED,
    doc = "session processing (DAG, embeddings, motif census) of the optimized pipeline is at least 1.4x the baseline's, on the lower end of the 95% interval");

/// Peak memory of processing the gate's sessions with the optimized pipeline: the larger of
/// the peak live heap during the scenario (counting allocator) and the process's peak RSS
/// (`VmHWM`), in bytes.
fn pipeline_peak_memory(ctx: &mut GateContext, _pipeline: &str) -> Result<Measurement, GateError> {
    let sessions = sessions::for_gate(ctx)?;
    let (_, optimized) = pipelines(ctx)?;
    let retain = ctx.injected(&RETAINED_ALLOCATION);
    let total = mem_total_bytes()?;
    let (result, peak) = measure_peak(|| {
        // An untouched allocation: the heap counter sees it, the page tables do not.
        let mut held: Vec<u8> = Vec::new();
        if retain {
            held.try_reserve_exact((total as usize / 4) * 3)
                .map_err(|e| GateError::msg(format!("fault allocation: {e}")))?;
        }
        let r = process_all(&optimized, &sessions);
        drop(held);
        r
    })?;
    result?;
    let rss = peak_rss_bytes()?;
    let heap = (peak.baseline_bytes + peak.peak_above_baseline) as u64;
    ctx.detail("peak_heap_bytes", heap)?;
    ctx.detail("peak_heap_above_start_bytes", peak.peak_above_baseline)?;
    ctx.detail("peak_rss_bytes", rss)?;
    ctx.detail("mem_total_bytes", total)?;
    Ok(Measurement::new(heap.max(rss) as f64, Unit::Bytes))
}

ironforge::gate!(peak_memory: pipeline_peak_memory(pipeline = "optimized") <= 70% of ram,
    family = "pipeline", fault = RETAINED_ALLOCATION,
    doc = "peak live heap during the optimized pipeline and the process's peak RSS stay under 70% of the machine's RAM (MemTotal)");
