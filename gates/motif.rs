//! Motif gates: census parity, Monte Carlo stability of lift, regime variance.

use rand::seq::SliceRandom;

use ironforge::dag::BuildParams;
use ironforge::gate::record::Tier;
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};
use ironforge::motif::brute::census_reference;
use ironforge::motif::kmeans::{kmeans, KMeansParams};
use ironforge::motif::lift::Thresholds;
use ironforge::motif::null::{run_null, NullParams};
use ironforge::motif::regime::compare_labelings;
use ironforge::motif::stability::{lift_delta, lift_table};
use ironforge::motif::{census, Census, EdgeSource, MotifGraph, SessionGraph};
use ironforge::session::Session;

use crate::dag::dag_sessions;
use crate::pipeline::pipelines;
use crate::sessions;

/// The candidate census loses one instance.
pub const DROPPED_INSTANCE: Fault = Fault::new("dropped_instance", "one instance removed from the candidate census");

/// The second run's null model jitters by 30–60 instead of 60–120 minutes.
pub const PERTURBED_NULL: Fault =
    Fault::new("perturbed_null", "second run's null model jitters 30-60 min instead of 60-120");

/// The optimized pipeline's regime labels are shuffled across sessions.
pub const SHUFFLED_REGIMES: Fault = Fault::new("shuffled_regimes", "optimized regime labels shuffled across sessions");

fn graph(s: &Session) -> Result<MotifGraph, GateError> {
    let g = SessionGraph::from_session(s, &EdgeSource::Rebuilt(BuildParams::default()));
    MotifGraph::new(g.times_ms.len(), &g.edges).map_err(GateError::msg)
}

/// Census with every instance classified by brute force.
pub fn census_by_permutations(_: &GateContext, s: &Session) -> Result<Census, GateError> {
    Ok(census_reference(&graph(s)?, 5))
}

/// Census classified by the lookup tables.
pub fn census_by_tables(ctx: &GateContext, s: &Session) -> Result<Census, GateError> {
    let c = census(&graph(s)?, 5);
    if !ctx.injected(&DROPPED_INSTANCE) {
        return Ok(c);
    }
    let mut pairs: Vec<_> = c.iter().collect();
    if let Some(first) = pairs.first_mut() {
        first.1 -= 1;
    }
    Ok(Census::from_counts(pairs))
}

ironforge::scenario!(motif_census_tables_vs_reference: sessions = dag_sessions, reference = census_by_permutations,
    candidate = census_by_tables, compare = exact, family = "motif", fault = DROPPED_INSTANCE,
    doc = "the lookup-table census of 3-5 node motifs equals the census classified by trying every permutation, on every session's causal DAG");

/// Null iterations per tier for the stability gate (see docs/motif.md for the trade-off).
fn stability_iterations(tier: Tier) -> usize {
    match tier {
        Tier::Quick => 500,
        Tier::Release => 1_000,
    }
}

/// Top motifs by lift compared across two master seeds: the mean relative change
/// |lift_a − lift_b| / lift_a over the ten highest-lift motifs seen at least `min_count` times
/// (the largest one is in the details). Relative, because the top lifts are in the tens to
/// hundreds (their null means are small), where an absolute 0.05 means nothing.
fn motif_seed_stability(ctx: &mut GateContext, top: usize, min_count: u64) -> Result<Measurement, GateError> {
    // Golden set only: one null iteration over the canary set costs ~100x one over the golden.
    let graphs: Vec<SessionGraph> = sessions::golden_for_gate(ctx)?
        .into_iter()
        .map(|s| SessionGraph::from_session(s, &EdgeSource::Rebuilt(BuildParams::default())))
        .collect();
    let mut total = Census::default();
    for g in &graphs {
        total.add(&census(&MotifGraph::new(g.times_ms.len(), &g.edges).map_err(GateError::msg)?, 5));
    }
    let times: Vec<Vec<i64>> = graphs.iter().map(|g| g.times_ms.clone()).collect();
    let params = NullParams { iterations: stability_iterations(ctx.tier()), ..NullParams::default() };
    let params_b = if ctx.injected(&PERTURBED_NULL) {
        NullParams { jitter_min_ms: 1_800_000, jitter_max_ms: 3_600_000, ..params.clone() }
    } else {
        params.clone()
    };
    let thresholds = Thresholds::default();
    let seed_a = ctx.seed() ^ 0x0005_EEDA;
    let seed_b = ctx.seed() ^ 0x0005_EEDB;
    let lifts = |p: &NullParams, seed| run_null(&times, p, seed).map(|null| lift_table(&total, &null, &thresholds));
    let a = lifts(&params, seed_a).map_err(GateError::msg)?;
    let b = lifts(&params_b, seed_b).map_err(GateError::msg)?;
    let delta = lift_delta(&a, &b, top, min_count);
    let lift_of = |table: &[ironforge::motif::stability::MotifLift], id| {
        table.iter().find(|m| m.id == id).map_or(0.0, |m| m.lift)
    };
    let relative: Vec<f64> =
        delta.top.iter().map(|&id| (lift_of(&a, id) - lift_of(&b, id)).abs() / lift_of(&a, id)).collect();
    if relative.is_empty() {
        return Err(GateError::msg(format!("no motif is seen at least {min_count} times: nothing to compare")));
    }
    let mean_relative = relative.iter().sum::<f64>() / relative.len() as f64;
    ctx.detail("iterations", params.iterations)?;
    ctx.detail("seeds", [seed_a, seed_b])?;
    ctx.detail("top", delta.top.iter().map(|m| m.to_string()).collect::<Vec<_>>())?;
    ctx.detail("max_abs_delta_lift", delta.max_abs)?;
    ctx.detail("mean_abs_delta_lift", delta.mean_abs)?;
    ctx.detail("relative_delta_lift", &relative)?;
    ctx.detail("max_relative_delta_lift", delta.max_rel)?;
    Ok(Measurement::new(mean_relative, Unit::Fraction))
}

ironforge::gate!(motif_stability: motif_seed_stability(top = 10, min_count = 20) < 0.05, family = "motif", fault = PERTURBED_NULL,
    doc = "Monte Carlo stability: over the ten highest-lift motifs (seen >= 20 times), lift moves by less than 5% on average (relative) between two master seeds");

/// Share of sessions whose regime (seeded k-means++ over session embeddings, regimes matched
/// by the Hungarian method) differs between the baseline and the optimized pipeline.
fn regime_change_share(ctx: &mut GateContext, _reference: &str, _candidate: &str) -> Result<Measurement, GateError> {
    let sessions = sessions::for_gate(ctx)?;
    let (baseline, optimized) = pipelines(ctx)?;
    let embed = |p: &ironforge::pipeline::Pipeline| -> Result<Vec<Vec<f32>>, GateError> {
        sessions.iter().map(|s| p.process(s).map(|o| o.embeddings.session.to_vec()).map_err(GateError::msg)).collect()
    };
    let (a, b) = (embed(&baseline)?, embed(&optimized)?);
    let k = (sessions.len() / 5).clamp(2, 4);
    let params = KMeansParams { k, seed: ctx.seed() ^ 0x04E6_13E5, ..KMeansParams::default() };
    let la = kmeans(&a, &params).map_err(GateError::msg)?.labels;
    let mut lb = kmeans(&b, &params).map_err(GateError::msg)?.labels;
    if ctx.injected(&SHUFFLED_REGIMES) {
        lb.shuffle(&mut ctx.stream("regimes/shuffle"));
    }
    let cmp = compare_labelings(&la, &lb, k).map_err(GateError::msg)?;
    ctx.detail("k", k)?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("changed", cmp.changed)?;
    ctx.detail("occupancy_reference", &cmp.occupancy_reference)?;
    ctx.detail("occupancy_optimized", &cmp.occupancy_optimized)?;
    ctx.detail("occupancy_max_change", cmp.occupancy_max_change)?;
    Ok(Measurement::new(cmp.variance, Unit::Fraction))
}

ironforge::gate!(regime_variance: regime_change_share(reference = "baseline", candidate = "optimized") < 10%, family = "motif", fault = SHUFFLED_REGIMES,
    doc = "fewer than 10% of sessions change regime (k-means over session embeddings, Hungarian-matched) between the baseline and the optimized pipeline");
