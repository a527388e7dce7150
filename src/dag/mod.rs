//! The DAG engine: causal edge builder, topological generations, CSR adjacency.
//!
//! (Skeleton: the reference builder below pins the API; the full engine is being written.)

use crate::session::Session;

/// Parameters of the causal edge builder (the original's rule).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildParams {
    /// Edges per event at most (`k`, default 4).
    pub k: usize,
    /// Smallest gap in milliseconds (default 1 minute).
    pub dt_min_ms: i64,
    /// Largest gap in milliseconds (default 120 minutes).
    pub dt_max_ms: i64,
}

impl Default for BuildParams {
    fn default() -> Self {
        Self { k: 4, dt_min_ms: 60_000, dt_max_ms: 120 * 60_000 }
    }
}

/// Causal pairs `(i, j)` of local indices over times sorted by (time, sequence index): for
/// each `i`, the first `k` later events `j > i` with `dt_min <= t[j] - t[i] <= dt_max`.
/// Obvious O(n²) reference.
pub fn causal_pairs_reference(times_ms: &[i64], params: &BuildParams) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in 0..times_ms.len() {
        let mut taken = 0;
        for j in i + 1..times_ms.len() {
            if taken == params.k {
                break;
            }
            let dt = times_ms[j] - times_ms[i];
            if dt < params.dt_min_ms {
                continue;
            }
            if dt > params.dt_max_ms {
                break;
            }
            out.push((i as u32, j as u32));
            taken += 1;
        }
    }
    out
}

/// Causal pairs of a session's events (local indices).
pub fn session_causal_pairs(session: &Session, params: &BuildParams) -> Vec<(u32, u32)> {
    causal_pairs_reference(&session.times_ms(), params)
}
