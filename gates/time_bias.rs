//! The time bias every session's attention adds: [`TimeBias::matrix`] (the bucket kind from an
//! integer-edge table, the RBF kind per entry) and the time-bias cache's matrices, bit for bit
//! against the obvious per-entry formula ([`TimeBias::value`] of the gap in minutes, rounded
//! once to f32), for both kinds.
//!
//! The attention scenarios cannot see this path: their reference and candidates all read the
//! same matrix, so a wrong table entry moves both sides alike. This scenario is the matrix's own
//! check, on the gate's sessions plus two built cases: gaps at every bucket edge and 1–2 ms to
//! either side of it (real sessions' five-minute bars land exactly on the edges; generated ones
//! almost never do), and seeded random gaps in milliseconds.

use ironforge::attention::bias::{TimeBias, BUCKETS};
use ironforge::attention::cache::TimeBiasCache;
use ironforge::gate::parity::Case;
use ironforge::gate::{Fault, GateContext, GateError};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::sessions;

/// The kinds that have a matrix (`TimeBias::None` has none).
const KINDS: [TimeBias; 2] = [TimeBias::Bucket, TimeBias::Rbf];

/// The candidate's entries whose gap lies strictly between 5 and 15 minutes are 0.1% larger
/// (one bucket table value off by a part in a thousand).
pub const NUDGED_BUCKET: Fault =
    Fault::new("nudged_bucket", "the bias of gaps strictly between 5 and 15 minutes is 0.1% larger");

/// Event times (ms) whose gaps from the first event and from each other hit every bucket edge
/// exactly and 1–2 ms to either side, plus the widest gaps an `i64` allows.
fn edge_times() -> Vec<i64> {
    let mut times = vec![0i64];
    for &(lo, hi, _) in &BUCKETS {
        for minutes in [lo, hi] {
            if !minutes.is_finite() {
                continue;
            }
            let edge = (minutes * 60_000.0) as i64;
            times.extend((-2..=2).map(|d| edge + d).filter(|&t| t > 0));
        }
    }
    times.sort_unstable();
    times.dedup();
    times.extend([1 << 53, i64::MAX, i64::MIN]);
    times
}

/// The gate's sessions' event times, the edge case and 300 seeded random gaps of up to five
/// hours in milliseconds.
pub fn bias_cases(ctx: &GateContext) -> Result<Vec<Case<i64>>, GateError> {
    let mut cases: Vec<Case<i64>> =
        sessions::for_gate(ctx)?.into_iter().map(|s| Case::new(s.id(), s.times_ms())).collect();
    cases.push(Case::new("bucket_edges", edge_times()));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x7b1a5);
    let mut t = 0i64;
    let random = (0..300)
        .map(|_| {
            t += rng.random_range(0..5 * 3_600_000);
            t
        })
        .collect();
    cases.push(Case::new("random_gaps_ms", random));
    Ok(cases)
}

/// For each kind: the matrix's bits, then the cache's matrix on a miss and on the hit after it.
fn matrix_and_cache(ctx: &GateContext, c: &Case<i64>) -> Result<Vec<u32>, GateError> {
    let nudge = ctx.injected(&NUDGED_BUCKET);
    let cache = TimeBiasCache::new(1 << 30);
    let l = c.data.len();
    let mut out = Vec::with_capacity(3 * KINDS.len() * l * l);
    for kind in KINDS {
        let missing = || GateError::msg(format!("{}: the {} bias has no matrix", c.id, kind.name()));
        let cached = || cache.get_or_compute(&c.data, kind).map_err(|e| GateError::msg(format!("{}: {e}", c.id)));
        let direct = kind.matrix(&c.data).ok_or_else(missing)?;
        let miss = cached()?.ok_or_else(missing)?;
        let hit = cached()?.ok_or_else(missing)?;
        for m in [&direct, &*miss, &*hit] {
            for ((u, v), &x) in m.indexed_iter() {
                let gap_min = c.data[v].abs_diff(c.data[u]) as f64 / 60_000.0;
                let nudged = nudge && kind == TimeBias::Bucket && gap_min > 5.0 && gap_min < 15.0;
                out.push(if nudged { x * 1.001 } else { x }.to_bits());
            }
        }
    }
    Ok(out)
}

/// For each kind, every entry's bits row by row — `value(|t_v − t_u| / 60000)` rounded once —
/// three times over: once per source of the candidate (matrix, cache miss, cache hit).
fn per_entry_formula_per_source(_: &GateContext, c: &Case<i64>) -> Result<Vec<u32>, GateError> {
    let mut out = Vec::with_capacity(3 * KINDS.len() * c.data.len().pow(2));
    for kind in KINDS {
        let once: Vec<u32> = c
            .data
            .iter()
            .flat_map(|&tu| {
                c.data.iter().map(move |&tv| (kind.value(tv.abs_diff(tu) as f64 / 60_000.0) as f32).to_bits())
            })
            .collect();
        for _ in 0..3 {
            out.extend_from_slice(&once);
        }
    }
    Ok(out)
}

ironforge::scenario!(time_bias_matrix_vs_formula: sessions = bias_cases, reference = per_entry_formula_per_source,
    candidate = matrix_and_cache, compare = exact, drift <= 0, family = "attention", fault = NUDGED_BUCKET,
    doc = "the bucket and RBF time-bias matrices, direct and through the cache (miss and hit), give the per-entry formula's bits on every session, at every bucket edge and 1-2 ms beside it, and on random millisecond gaps");
