//! Motif gates: census parity and throughput, Monte Carlo stability of lift over seed pairs,
//! regime variance. Methods: `docs/motif.md` ("The motif gates").

use std::collections::BTreeSet;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::Rng;

use ironforge::dag::BuildParams;
use ironforge::gate::drift::{DriftOutput, DriftValues};
use ironforge::gate::probe::{seconds_per_call, Timing};
use ironforge::gate::record::Tier;
use ironforge::gate::speedup::calibrated_reps;
use ironforge::gate::stats::{bootstrap_median_interval, median};
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};
use ironforge::motif::brute::census_reference;
use ironforge::motif::census::census_with;
use ironforge::motif::esu::CensusIsa;
use ironforge::motif::kmeans::{assign_nearest, kmeans_restarts, KMeansParams};
use ironforge::motif::lift::Thresholds;
use ironforge::motif::null::{run_null, NullParams};
use ironforge::motif::regime::compare_labelings;
use ironforge::motif::stability::{lift_delta, lift_table, MotifLift};
use ironforge::motif::{census, Census, EdgeSource, MotifGraph, SessionGraph};
use ironforge::session::Session;

use crate::dag::dag_sessions;
use crate::interval::mean_t_interval;
use crate::pipeline::pipeline_named;
use crate::sessions;

/// The candidate census loses one instance.
pub const DROPPED_INSTANCE: Fault = Fault::new("dropped_instance", "one instance removed from the candidate census");

/// The second run's null model jitters by 30–60 instead of 60–120 minutes.
pub const PERTURBED_NULL: Fault =
    Fault::new("perturbed_null", "second run's null model jitters 30-60 min instead of 60-120");

/// The candidate pipeline's regime labels are shuffled across sessions.
pub const SHUFFLED_REGIMES: Fault = Fault::new("shuffled_regimes", "candidate regime labels shuffled across sessions");

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
    candidate = census_by_tables, compare = exact, family = "motif", fault = DROPPED_INSTANCE, drift <= 0,
    doc = "the lookup-table census of 3-5 node motifs equals the census classified by trying every permutation, on every session's causal DAG");

/// The best census path's census loses one instance.
pub const PATH_DROPPED_INSTANCE: Fault =
    Fault::new("path_dropped_instance", "one instance removed from the census of the best path this CPU has");

/// One census per census path this CPU has ([`CensusIsa::available`], best first): the output
/// of `motif_census_every_path_vs_reference`.
#[derive(Debug, PartialEq)]
pub struct PathCensuses(Vec<(CensusIsa, Census)>);

/// Per path: its rank in [`CensusIsa::ALL`], the census's value count, then its values (as
/// [`Census`]'s drift values).
impl DriftOutput for PathCensuses {
    fn drift_values(&self) -> DriftValues {
        let mut out = Vec::new();
        for (isa, census) in &self.0 {
            let DriftValues::Ints(values) = census.drift_values() else { unreachable!("a census drifts as integers") };
            let rank = CensusIsa::ALL.iter().position(|p| p == isa).expect("every path is in ALL");
            out.extend([rank as i64, values.len() as i64]);
            out.extend(values);
        }
        DriftValues::Ints(out)
    }
}

/// The census classified by brute force ([`census_by_permutations`]), once per path this CPU
/// has: what every path must give.
pub fn census_every_path_by_permutations(ctx: &GateContext, s: &Session) -> Result<PathCensuses, GateError> {
    let reference = census_by_permutations(ctx, s)?;
    Ok(PathCensuses(CensusIsa::available().into_iter().map(|isa| (isa, reference.clone())).collect()))
}

/// The lookup-table census on every path this CPU has (`census_with`: AVX-512 VBMI2, AVX2,
/// scalar), each path forced in turn.
pub fn census_every_path(ctx: &GateContext, s: &Session) -> Result<PathCensuses, GateError> {
    let g = graph(s)?;
    let mut out = Vec::new();
    for isa in CensusIsa::available() {
        let mut c = census_with(&g, 5, isa).map_err(GateError::msg)?;
        if out.is_empty() && ctx.injected(&PATH_DROPPED_INSTANCE) {
            let mut pairs: Vec<_> = c.iter().collect();
            if let Some(first) = pairs.first_mut() {
                first.1 -= 1;
            }
            c = Census::from_counts(pairs);
        }
        out.push((isa, c));
    }
    Ok(PathCensuses(out))
}

ironforge::scenario!(motif_census_every_path_vs_reference: sessions = dag_sessions, reference = census_every_path_by_permutations,
    candidate = census_every_path, compare = exact, family = "motif", fault = PATH_DROPPED_INSTANCE, drift <= 0,
    doc = "the lookup-table census of 3-5 node motifs on every census path this CPU has (AVX-512 VBMI2, AVX2, scalar; each forced in turn) equals the census classified by trying every permutation, on every session's causal DAG");

/// `n` distinct seeds drawn from the gate's `label` stream (derived from `IRONFORGE_SEED` and
/// the gate's name), in draw order.
fn distinct_seeds(ctx: &GateContext, label: &str, n: usize) -> Vec<u64> {
    let mut rng = ctx.stream(label);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let s: u64 = rng.random();
        if seen.insert(s) {
            out.push(s);
        }
    }
    out
}

/// Null iterations per run for the stability gates, per tier: the quick tier's four small
/// sessions (231 events) need many iterations for their rare top motifs and cost little per
/// iteration; the release tier's 135 sessions the opposite.
fn stability_iterations(tier: Tier) -> usize {
    match tier {
        Tier::Quick => 4_000,
        Tier::Release => 100,
    }
}

/// Sessions of at least this many events are left out of the release tier's stability gate:
/// the null model rebuilds every jittered session with the O(n²) reference builder, and the
/// five canary sessions of 512–1,024 events take a share of a null iteration's time several
/// times their share of the events.
pub const STABILITY_MAX_EVENTS: usize = 512;

/// The sessions of the stability gate: the quick golden subset in the quick tier; else the
/// sessions of the requested sets (default golden) of fewer than [`STABILITY_MAX_EVENTS`] events.
fn stability_sessions(ctx: &GateContext) -> Result<Vec<&'static Session>, GateError> {
    let all = sessions::for_gate(ctx)?;
    if ctx.tier() == Tier::Quick {
        return Ok(all);
    }
    let kept: Vec<_> = all.into_iter().filter(|s| s.len() < STABILITY_MAX_EVENTS).collect();
    if kept.is_empty() {
        return Err(GateError::msg(format!(
            "no session of the requested sets has fewer than {STABILITY_MAX_EVENTS} events"
        )));
    }
    Ok(kept)
}

/// What one seed pair of the stability gate gave.
#[derive(Debug, serde::Serialize)]
struct PairResult {
    seeds: [u64; 2],
    mean_relative_delta_lift: f64,
    max_relative_delta_lift: f64,
    max_abs_delta_lift: f64,
    seconds: f64,
}

/// Monte Carlo stability of lift over `seed_pairs` independent pairs of master seeds (distinct
/// seeds drawn from the gate's stream): for each pair, both null models (`iterations` per tier)
/// and the mean relative change |lift_a − lift_b| / lift_a over the `top` highest-lift motifs of
/// run a seen at least `min_count` times. Value = the mean over pairs, with a 95% Student-t
/// interval over the pairs (judged on its upper end). Relative, because the top lifts are in the
/// tens to hundreds (their null means are small), where an absolute 0.05 means nothing.
fn motif_seed_stability(
    ctx: &mut GateContext,
    top: usize,
    min_count: u64,
    seed_pairs: usize,
) -> Result<Measurement, GateError> {
    if top == 0 || seed_pairs < 2 {
        return Err(GateError::msg(format!(
            "need top >= 1 and seed_pairs >= 2 (got top {top}, seed_pairs {seed_pairs})"
        )));
    }
    let sessions = stability_sessions(ctx)?;
    let graphs: Vec<SessionGraph> =
        sessions.iter().map(|s| SessionGraph::from_session(s, &EdgeSource::Rebuilt(BuildParams::default()))).collect();
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
    let lifts = |p: &NullParams, seed| {
        run_null(&times, p, seed).map(|null| lift_table(&total, &null, &thresholds)).map_err(GateError::msg)
    };
    let lift_of = |table: &[MotifLift], id| table.iter().find(|m| m.id == id).map_or(0.0, |m| m.lift);
    let seeds = distinct_seeds(ctx, "stability/seeds", 2 * seed_pairs);
    let mut pairs = Vec::with_capacity(seed_pairs);
    for pair in seeds.chunks_exact(2) {
        let t = Instant::now();
        let (a, b) = (lifts(&params, pair[0])?, lifts(&params_b, pair[1])?);
        let delta = lift_delta(&a, &b, top, min_count);
        let relative: Vec<f64> =
            delta.top.iter().map(|&id| (lift_of(&a, id) - lift_of(&b, id)).abs() / lift_of(&a, id)).collect();
        if relative.is_empty() {
            return Err(GateError::msg(format!("no motif is seen at least {min_count} times: nothing to compare")));
        }
        pairs.push(PairResult {
            seeds: [pair[0], pair[1]],
            mean_relative_delta_lift: relative.iter().sum::<f64>() / relative.len() as f64,
            max_relative_delta_lift: delta.max_rel,
            max_abs_delta_lift: delta.max_abs,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    let per_pair: Vec<f64> = pairs.iter().map(|p| p.mean_relative_delta_lift).collect();
    let (mean, [lo, hi]) = mean_t_interval(&per_pair, "motif stability over seed pairs")?;
    ctx.detail("iterations", params.iterations)?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("events", sessions.iter().map(|s| s.len()).sum::<usize>())?;
    ctx.detail("max_events", sessions.iter().map(|s| s.len()).max())?;
    ctx.detail("observed_instances", total.instances())?;
    ctx.detail("interval", "95% Student-t over the seed pairs' means")?;
    ctx.detail("pairs", &pairs)?;
    Ok(Measurement::new(mean, Unit::Fraction).with_interval(lo.max(0.0), hi).with_samples(per_pair))
}

ironforge::gate!(motif_stability: motif_seed_stability(top = 10, min_count = 20, seed_pairs = 5) < 0.05, unit = fraction, family = "motif", tier = release, fault = PERTURBED_NULL,
    doc = "Monte Carlo stability: over five independent pairs of master seeds, the ten highest-lift motifs (seen >= 20 times) move by less than 5% of their lift on average (relative), on the upper end of the 95% t interval over the pairs");

// The quick tier's four small sessions cannot hold the 0.05 bound at every seed: their Monte
// Carlo noise alone puts the upper end at 0.02-0.06 with 4,000 iterations (0.05-0.15 with
// 1,000). A smoke check with a bound they hold at any seed, which the fault (about 0.44) breaks.
ironforge::gate!(motif_stability_quick: motif_seed_stability(top = 10, min_count = 20, seed_pairs = 5) < 0.1, unit = fraction, family = "motif", tier = quick, fault = PERTURBED_NULL,
    doc = "motif_stability's smoke check in the quick tier, on the four quick golden sessions: the same figure under 0.1, a bound their Monte Carlo noise holds at any seed; the release gate holds 0.05");

/// Session embeddings of `sessions` by the pipeline named `name` (`baseline` or `optimized`).
fn session_embeddings(ctx: &GateContext, name: &str, sessions: &[&Session]) -> Result<Vec<Vec<f32>>, GateError> {
    let p = pipeline_named(ctx, name)?;
    sessions
        .iter()
        .map(|s| {
            p.process(s)
                .map(|o| o.embeddings.session.to_vec())
                .map_err(|e| GateError::msg(format!("{name} pipeline, session {}: {e}", s.id())))
        })
        .collect()
}

/// The sessions of the regime gate: all 20 golden sessions in the quick tier (so that one
/// session is a 5% step), else every session of the requested sets (golden + canary: 140).
fn regime_sessions(ctx: &GateContext) -> Result<Vec<&'static Session>, GateError> {
    match ctx.tier() {
        Tier::Quick => sessions::golden_all(),
        Tier::Release => sessions::for_gate(ctx),
    }
}

/// k-means restarts of the regime fit (best inertia kept).
pub const REGIME_RESTARTS: usize = 50;

/// `s` with the events of every group of equal timestamps in a random order (from `rng`); the
/// timestamps, features and node ids are unchanged. Their order is otherwise the recorded
/// sequence index, which nothing in the data says is meaningful.
fn permute_ties(s: &Session, rng: &mut rand_chacha::ChaCha8Rng) -> Result<Session, GateError> {
    let (meta, mut events, edges) = s.clone().into_parts();
    let mut i = 0;
    while i < events.len() {
        let j = i + events[i..].iter().take_while(|e| e.t_ms == events[i].t_ms).count();
        events[i..j].shuffle(rng);
        i = j;
    }
    Session::new(meta, events, edges).map_err(|e| GateError::msg(format!("session {}: {e}", s.id())))
}

/// Events that share their timestamp with another event of the same session.
fn tied_events(s: &Session) -> usize {
    let t = s.times_ms();
    (0..t.len()).filter(|&i| (i > 0 && t[i - 1] == t[i]) || (i + 1 < t.len() && t[i + 1] == t[i])).count()
}

/// Regime stability: regimes are `k` k-means++ clusters of `reference`'s session embeddings
/// (best of [`REGIME_RESTARTS`] seeded runs; every session put in its nearest centroid's
/// regime). Each of `permutations` replicates re-orders the events within every group of equal
/// timestamps at random (seeded stream; half the consecutive gaps of the golden and canary
/// sessions are 0, and that order is only the recorded sequence index), runs `candidate` on the
/// re-ordered sessions and puts each session in its nearest reference centroid's regime.
/// Value = share of sessions whose regime differs from the reference's (Hungarian-matched),
/// mean over the replicates, with a 95% Student-t interval over them (judged on its upper
/// end). The same comparison without re-ordering (the pipelines' own difference) is a detail.
fn regime_change_share(
    ctx: &mut GateContext,
    reference: &str,
    candidate: &str,
    k: usize,
    permutations: usize,
) -> Result<Measurement, GateError> {
    if permutations < 2 {
        return Err(GateError::msg(format!("need permutations >= 2, got {permutations}")));
    }
    let sessions = regime_sessions(ctx)?;
    if k < 2 || k > sessions.len() {
        return Err(GateError::msg(format!("k = {k}: need 2 <= k <= {} sessions", sessions.len())));
    }
    let reference_rows = session_embeddings(ctx, reference, &sessions)?;
    let seed: u64 = ctx.stream("regimes/kmeans").random();
    let fit = kmeans_restarts(&reference_rows, &KMeansParams { k, seed, ..KMeansParams::default() }, REGIME_RESTARTS)
        .map_err(GateError::msg)?;
    let regimes = |rows: &[Vec<f32>]| assign_nearest(rows, &fit.centroids).map_err(GateError::msg);
    let reference_labels = regimes(&reference_rows)?;
    let candidate_rows = session_embeddings(ctx, candidate, &sessions)?;
    let max_abs = reference_rows
        .iter()
        .flatten()
        .zip(candidate_rows.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let unpermuted = compare_labelings(&reference_labels, &regimes(&candidate_rows)?, k).map_err(GateError::msg)?;
    let shuffle = ctx.injected(&SHUFFLED_REGIMES);
    let mut shuffler = ctx.stream("regimes/shuffle");
    let mut order = ctx.stream("regimes/tie-order");
    let (mut shares, mut changed) = (Vec::with_capacity(permutations), Vec::with_capacity(permutations));
    for _ in 0..permutations {
        let permuted = sessions.iter().map(|s| permute_ties(s, &mut order)).collect::<Result<Vec<_>, _>>()?;
        let rows = session_embeddings(ctx, candidate, &permuted.iter().collect::<Vec<_>>())?;
        let mut labels = regimes(&rows)?;
        if shuffle {
            labels.shuffle(&mut shuffler);
        }
        let c = compare_labelings(&reference_labels, &labels, k).map_err(GateError::msg)?;
        shares.push(c.variance);
        changed.push(c.changed);
    }
    let (mean, [lo, hi]) = mean_t_interval(&shares, "regime change over tie orders")?;
    ctx.detail("k", k)?;
    ctx.detail("kmeans_seed", seed)?;
    ctx.detail("kmeans_restarts", REGIME_RESTARTS)?;
    ctx.detail("kmeans_inertia", fit.inertia)?;
    ctx.detail("sessions", sessions.len())?;
    ctx.detail("events", sessions.iter().map(|s| s.len()).sum::<usize>())?;
    ctx.detail("tied_events", sessions.iter().map(|s| tied_events(s)).sum::<usize>())?;
    ctx.detail("changed_sessions_per_permutation", &changed)?;
    ctx.detail("unpermuted_changed_share", unpermuted.variance)?;
    ctx.detail("unpermuted_max_abs_embedding_difference", max_abs)?;
    ctx.detail("occupancy_reference", &unpermuted.occupancy_reference)?;
    ctx.detail("interval", "95% Student-t over the tie-order permutations")?;
    Ok(Measurement::new(mean, Unit::Fraction).with_interval(lo.max(0.0), hi).with_samples(shares))
}

ironforge::gate!(regime_variance: regime_change_share(reference = "baseline", candidate = "optimized", k = 3, permutations = 8) < 10%, unit = fraction, family = "motif", fault = SHUFFLED_REGIMES,
    doc = "fewer than 10% of sessions change regime (3 k-means regimes of the baseline pipeline's session embeddings, nearest centroid, Hungarian-matched) when the optimized pipeline runs on the sessions with their simultaneous events re-ordered at random; mean over 8 orders, upper end of the 95% t interval");

/// The census runs twice per call (the second result is thrown away).
pub const CENSUS_TWICE: Fault = Fault::new("census_twice", "every census call runs the census twice");

/// Timed samples of the census throughput gate and the shortest sample, per tier (the gate is
/// declared for the release tier, where `--include-ignored` runs it too; the quick plan is for
/// a context built at the quick tier by hand).
fn census_plan(tier: Tier) -> (usize, std::time::Duration) {
    match tier {
        Tier::Quick => (7, std::time::Duration::from_millis(20)),
        Tier::Release => (31, std::time::Duration::from_millis(50)),
    }
}

/// Lookup-table census throughput: classified subgraphs (instances of 3..=`max_k` nodes) per
/// second of `census(&MotifGraph, max_k)` over the causal DAGs (sweep builder, as the pipeline
/// builds them; graphs built before timing) of the session set named `set`, in both tiers (a
/// throughput target means something only on a fixed workload: the census of small graphs runs
/// about twice as fast per instance as the canary's). Each sample is whole passes over every
/// graph, repeated until it lasts the tier's shortest sample; the rate = median sample, 95%
/// interval = seeded bootstrap of the median. The value is the rate over the target of the path
/// `census` took on this CPU (`gates/targets.rs`), judged on the interval's lower end; the rate
/// itself is in the details.
///
/// Release tier only: the dev profile (`cargo test`: opt-level 2, overflow checks) runs the
/// census at about half the release build's rate, so a target in subgraphs/s set on the release build cannot judge it; the quick tier checks
/// the census's counts instead (`motif_census_tables_vs_reference`).
fn lookup_census_throughput(ctx: &mut GateContext, set: &str, max_k: usize) -> Result<Measurement, GateError> {
    if !(3..=5).contains(&max_k) {
        return Err(GateError::msg(format!("max_k = {max_k}: the census counts motifs of 3 to 5 nodes")));
    }
    let graphs = sessions::set(set)?.iter().map(graph).collect::<Result<Vec<_>, _>>()?;
    let twice = ctx.injected(&CENSUS_TWICE);
    let pass = || -> u64 {
        let mut instances = 0;
        for g in &graphs {
            if twice {
                std::hint::black_box(census(g, max_k));
            }
            instances += std::hint::black_box(census(g, max_k)).instances();
        }
        instances
    };
    let instances = pass();
    let (samples_n, min_sample) = census_plan(ctx.tier());
    let once = {
        let t = Instant::now();
        pass();
        t.elapsed()
    };
    let reps = calibrated_reps(once, min_sample);
    let mut samples = Vec::with_capacity(samples_n);
    for _ in 0..samples_n {
        let t = Instant::now();
        for _ in 0..reps {
            pass();
        }
        samples.push((instances * reps) as f64 / t.elapsed().as_secs_f64());
    }
    let value = median(&samples);
    let [lo, hi] = bootstrap_median_interval(&samples, 2000, &mut ctx.stream("census/bootstrap"));
    // `census` takes the best path this CPU has; the rate is judged against that path's target.
    let path = CensusIsa::detect().name();
    let target = crate::targets::census_target(path)?;
    ctx.detail("session_set", set)?;
    ctx.detail("sessions", graphs.len())?;
    ctx.detail("census_path", path)?;
    ctx.detail("target_subgraphs_per_s", target)?;
    ctx.detail("subgraphs_per_s", value)?;
    ctx.detail("subgraphs_per_s_interval", [lo, hi])?;
    ctx.detail("census_paths_available", CensusIsa::available().iter().map(|p| p.name()).collect::<Vec<_>>())?;
    ctx.detail("instances_per_pass", instances)?;
    ctx.detail("passes_per_sample", reps)?;
    ctx.detail("ns_per_instance", 1e9 / value)?;
    ctx.detail("pass_ms", instances as f64 / value * 1e3)?;
    let over_target: Vec<f64> = samples.iter().map(|r| r / target).collect();
    Ok(Measurement::new(value / target, Unit::Ratio).with_interval(lo / target, hi / target).with_samples(over_target))
}

/// Probe of `census_throughput` for `release-check --against`: the lookup-table census's
/// throughput (subgraphs/s, 3–5 nodes) over the canary sessions' causal DAGs, whole passes
/// ([`seconds_per_call`]).
fn census_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {
    // Built once per process (the probe runs several passes); not timed.
    static CANARY: std::sync::OnceLock<(Vec<MotifGraph>, u64)> = std::sync::OnceLock::new();
    let (graphs, instances) = match CANARY.get() {
        Some(c) => c,
        None => {
            let graphs = sessions::set("canary")?.iter().map(graph).collect::<Result<Vec<_>, _>>()?;
            let instances = graphs.iter().map(|g| census(g, 5).instances()).sum();
            CANARY.get_or_init(|| (graphs, instances))
        }
    };
    let s = seconds_per_call(ctx, || {
        for g in graphs {
            std::hint::black_box(census(g, 5));
        }
    });
    Ok(vec![Timing::new("lookup/canary", Unit::SubgraphsPerSec, *instances as f64 / s)?])
}

ironforge::gate!(census_throughput: lookup_census_throughput(set = "canary", max_k = 5) >= 1 x, unit = x, tier = release, family = "motif", fault = CENSUS_TWICE,
    regress <= 5% on census_probe,
    doc = "the lookup-table census classifies 3-5 node subgraphs over the 120 canary sessions' causal DAGs (15.4 M instances per pass) at least at its path's target rate (gates/targets.rs: 1e8/s for AVX-512 VBMI2, 6e7/s for AVX2, 5e7/s scalar): rate / target, lower end of the 95% interval");
