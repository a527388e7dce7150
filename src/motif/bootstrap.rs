//! Bootstrap over sessions: percentile intervals of each motif's lift.
//!
//! Replicate `b` draws its sessions (with replacement) from its own ChaCha stream
//! ([`BOOTSTRAP_STREAM_BASE`] + b), and replicates are collected in order, so intervals are
//! bit-identical whatever the number of rayon threads.

use rand::Rng;
use rayon::prelude::*;

use super::census::{Census, MotifId};
use super::error::MotifError;
use super::lift::Thresholds;
use super::null::{iteration_rng, NullModel};
use super::stats::percentile_sorted;
use crate::progress::{check, Interrupted, Progress, Silent};

/// Bootstrap streams start here, apart from the null model's streams `0..iterations`.
pub const BOOTSTRAP_STREAM_BASE: u64 = 1 << 62;

/// Parameters of the bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapParams {
    /// Replicates (1,000 by default, 10,000 in strict mode).
    pub replicates: usize,
    /// Two-sided confidence level of the percentile interval (0.95).
    pub confidence: f64,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        Self { replicates: 1_000, confidence: 0.95 }
    }
}

impl BootstrapParams {
    /// Strict mode: 10,000 replicates.
    pub fn strict() -> Self {
        Self { replicates: 10_000, ..Self::default() }
    }
}

/// Percentile intervals `(low, high)` of the lift of each motif in `motifs`: each replicate
/// resamples sessions with replacement and computes `Σ observed / max(Σ null mean, floor)`.
/// Lifts of a replicate are kept as `f32` (memory: replicates × motifs × 4 bytes).
pub fn bootstrap_intervals(
    observed: &[Census],
    null: &NullModel,
    motifs: &[MotifId],
    params: &BootstrapParams,
    thresholds: &Thresholds,
    seed: u64,
) -> Result<Vec<(f64, f64)>, MotifError> {
    bootstrap_intervals_with(observed, null, motifs, params, thresholds, seed, &Silent)
}

/// [`bootstrap_intervals`], reporting every replicate to `progress` (stage `"bootstrap"`) and
/// stopping with [`MotifError::Interrupted`] as soon as it is cancelled. The result does not
/// depend on `progress`.
///
/// ```
/// use ironforge::motif::bootstrap::{bootstrap_intervals_with, BootstrapParams};
/// use ironforge::motif::lift::Thresholds;
/// use ironforge::motif::null::NullModel;
/// use ironforge::motif::Census;
/// let null = NullModel { iterations: 1, per_session: vec![Default::default()], total: Default::default() };
/// let params = BootstrapParams { replicates: 10, ..BootstrapParams::default() };
/// let ci = bootstrap_intervals_with(
///     &[Census::default()], &null, &[], &params, &Thresholds::default(), 1, &ironforge::progress::Silent,
/// )?;
/// assert!(ci.is_empty());
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn bootstrap_intervals_with(
    observed: &[Census],
    null: &NullModel,
    motifs: &[MotifId],
    params: &BootstrapParams,
    thresholds: &Thresholds,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Vec<(f64, f64)>, MotifError> {
    if !(params.confidence > 0.0 && params.confidence < 1.0) {
        return Err(MotifError::Parameter {
            name: "confidence",
            value: params.confidence.to_string(),
            why: "must lie strictly between 0 and 1",
        });
    }
    if params.replicates == 0 {
        return Err(MotifError::Parameter { name: "replicates", value: "0".into(), why: "need at least 1" });
    }
    let s = observed.len();
    if null.per_session.len() != s {
        return Err(MotifError::Parameter {
            name: "null.per_session",
            value: null.per_session.len().to_string(),
            why: "must hold one entry per observed session",
        });
    }
    let index = |id: &MotifId| motifs.binary_search(id).ok();
    if motifs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(MotifError::Parameter {
            name: "motifs",
            value: motifs.len().to_string(),
            why: "must be sorted and unique",
        });
    }
    // Sparse per-session numerators and denominators over the motif list.
    let num: Vec<Vec<(u32, f64)>> = observed
        .iter()
        .map(|c| c.iter().filter_map(|(id, n)| index(&id).map(|i| (i as u32, n as f64))).collect())
        .collect();
    let den: Vec<Vec<(u32, f64)>> = null
        .per_session
        .iter()
        .map(|m| m.iter().filter_map(|(id, mo)| index(id).map(|i| (i as u32, mo.mean(null.iterations)))).collect())
        .collect();
    let m = motifs.len();
    progress.stage("bootstrap", params.replicates as u64);
    let replicates: Vec<Vec<f32>> = (0..params.replicates)
        .into_par_iter()
        .map(|b| {
            check(progress)?;
            let mut rng = iteration_rng(seed, BOOTSTRAP_STREAM_BASE + b as u64);
            let mut weight = vec![0u32; s];
            for _ in 0..s {
                weight[rng.random_range(0..s)] += 1;
            }
            let (mut sn, mut sd) = (vec![0.0f64; m], vec![0.0f64; m]);
            for ((&w, session_num), session_den) in weight.iter().zip(&num).zip(&den) {
                if w == 0 {
                    continue;
                }
                let w = w as f64;
                for &(i, v) in session_num {
                    sn[i as usize] += w * v;
                }
                for &(i, v) in session_den {
                    sd[i as usize] += w * v;
                }
            }
            progress.advance(1);
            Ok(sn.iter().zip(&sd).map(|(&a, &d)| thresholds.lift(a, d) as f32).collect())
        })
        .collect::<Result<_, Interrupted>>()?;
    let alpha = (1.0 - params.confidence) / 2.0;
    Ok((0..m)
        .into_par_iter()
        .map(|i| {
            let mut column: Vec<f64> = replicates.iter().map(|r| r[i] as f64).collect();
            column.sort_by(f64::total_cmp);
            (percentile_sorted(&column, alpha), percentile_sorted(&column, 1.0 - alpha))
        })
        .collect())
}
