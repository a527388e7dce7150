//! Stability of the strongest motifs' lift: between master seeds (Monte Carlo error of the
//! null model) and between rayon thread counts (must be exactly 0).

use serde::Serialize;

use super::analysis::{analyse, observed_censuses, MotifConfig, SessionGraph};
use super::census::{Census, MotifId};
use super::error::MotifError;
use super::lift::{MotifStat, Thresholds};
use super::null::{run_null, NullModel};

/// A motif's observed count and lift (no bootstrap needed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MotifLift {
    /// The motif.
    pub id: MotifId,
    /// Observed instances.
    pub count: u64,
    /// `count / max(null mean, floor)`.
    pub lift: f64,
}

/// How much the lift of the top motifs moves between two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiftDelta {
    /// The top motifs of the first run (by lift, ties by id).
    pub top: Vec<MotifId>,
    /// Largest |Δlift| over them (absolute).
    pub max_abs: f64,
    /// Mean |Δlift| over them.
    pub mean_abs: f64,
    /// Largest |Δlift| / lift of the first run (relative).
    pub max_rel: f64,
}

/// Lift of every motif of the data or the null model, ascending by id.
pub fn lift_table(total: &Census, null: &NullModel, thresholds: &Thresholds) -> Vec<MotifLift> {
    let mut ids: Vec<MotifId> = total.iter().map(|(id, _)| id).chain(null.total.keys().copied()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let count = total.count(&id);
            let mean = null.total.get(&id).map(|m| m.mean(null.iterations)).unwrap_or(0.0);
            MotifLift { id, count, lift: thresholds.lift(count as f64, mean) }
        })
        .collect()
}

/// Lifts of a [`MotifStat`] table.
pub fn lifts_of(stats: &[MotifStat]) -> Vec<MotifLift> {
    stats.iter().map(|s| MotifLift { id: s.id, count: s.count, lift: s.lift }).collect()
}

/// The `n` motifs with the highest lift among those observed at least `min_count` times
/// (ties broken by ascending id).
pub fn top_by_lift(lifts: &[MotifLift], n: usize, min_count: u64) -> Vec<MotifId> {
    let mut eligible: Vec<&MotifLift> = lifts.iter().filter(|l| l.count >= min_count.max(1)).collect();
    eligible.sort_by(|a, b| b.lift.total_cmp(&a.lift).then(a.id.cmp(&b.id)));
    eligible.into_iter().take(n).map(|l| l.id).collect()
}

/// |Δlift| over the top `n` motifs of run `a` (a motif missing from `b` has lift 0 there).
///
/// ```
/// use ironforge::motif::{stability::{lift_delta, MotifLift}, MotifId};
/// let id = |p| MotifId { size: 3, pattern: p, labels: None };
/// let a = [MotifLift { id: id(1), count: 5, lift: 3.0 }, MotifLift { id: id(2), count: 5, lift: 2.0 }];
/// let b = [MotifLift { id: id(1), count: 5, lift: 2.9 }, MotifLift { id: id(2), count: 5, lift: 2.0 }];
/// let d = lift_delta(&a, &b, 10, 1);
/// assert!((d.max_abs - 0.1).abs() < 1e-12);
/// ```
pub fn lift_delta(a: &[MotifLift], b: &[MotifLift], n: usize, min_count: u64) -> LiftDelta {
    let top = top_by_lift(a, n, min_count);
    let find = |t: &[MotifLift], id: &MotifId| t.iter().find(|l| l.id == *id).map(|l| l.lift);
    let (mut max_abs, mut sum, mut max_rel) = (0.0f64, 0.0f64, 0.0f64);
    for id in &top {
        let la = find(a, id).unwrap_or(0.0);
        let d = (la - find(b, id).unwrap_or(0.0)).abs();
        max_abs = max_abs.max(d);
        sum += d;
        if la > 0.0 {
            max_rel = max_rel.max(d / la);
        }
    }
    let mean_abs = if top.is_empty() { 0.0 } else { sum / top.len() as f64 };
    LiftDelta { top, max_abs, mean_abs, max_rel }
}

/// Monte Carlo stability: lifts from the null model under `config.seed` and under
/// `other_seed`, compared over the top `n` motifs (observed ≥ `min_count` times).
pub fn seed_stability(
    sessions: &[SessionGraph],
    config: &MotifConfig,
    other_seed: u64,
    n: usize,
    min_count: u64,
) -> Result<LiftDelta, MotifError> {
    let observed = observed_censuses(sessions, config.null.max_k)?;
    let mut total = Census::default();
    for c in &observed {
        total.add(c);
    }
    let times: Vec<Vec<i64>> = sessions.iter().map(|s| s.times_ms.clone()).collect();
    let run = |seed| run_null(&times, &config.null, seed).map(|null| lift_table(&total, &null, &config.thresholds));
    Ok(lift_delta(&run(config.seed)?, &run(other_seed)?, n, min_count))
}

/// Thread stability: the whole analysis in a pool of `threads_a` and of `threads_b` threads.
/// Returns |Δlift| over the top `n` motifs and whether every row is bit-identical.
pub fn thread_stability(
    sessions: &[SessionGraph],
    config: &MotifConfig,
    threads_a: usize,
    threads_b: usize,
    n: usize,
) -> Result<(LiftDelta, bool), MotifError> {
    let run = |threads: usize| -> Result<Vec<MotifStat>, MotifError> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|_| MotifError::Parameter {
            name: "threads",
            value: threads.to_string(),
            why: "rayon could not build a pool of this size",
        })?;
        pool.install(|| analyse(sessions, config)).map(|a| a.stats)
    };
    let (a, b) = (run(threads_a)?, run(threads_b)?);
    let identical = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| bit_identical(x, y));
    Ok((lift_delta(&lifts_of(&a), &lifts_of(&b), n, 1), identical))
}

fn bit_identical(x: &MotifStat, y: &MotifStat) -> bool {
    let f = |s: &MotifStat| [s.null_mean, s.null_std, s.lift, s.z, s.p, s.ci_low, s.ci_high].map(f64::to_bits);
    x.id == y.id && x.count == y.count && x.class == y.class && f(x) == f(y)
}
