//! Regime variance: how many sessions change regime between two pipelines.
//!
//! **Definition.** Cluster the session embeddings of the reference pipeline and of the
//! optimized pipeline with the same k-means settings. Regime labels are arbitrary, so match the
//! optimized regimes to the reference ones by the assignment that maximises the number of
//! sessions in agreement (Hungarian method on the k×k contingency table). *Regime variance* is
//! the share of sessions whose matched regime differs; *occupancy change* is the largest
//! |share of sessions in regime r (reference) − share in its matched regime (optimized)|, and
//! the total-variation distance ½·Σ|…| is reported too. Identical embeddings give 0.

use serde::Serialize;

use super::error::MotifError;
use super::hungarian::assign_min_cost;
use super::kmeans::{kmeans, KMeansParams};

/// Comparison of two labelings of the same sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeComparison {
    /// Share of sessions whose matched regime differs (0–1).
    pub variance: f64,
    /// Number of such sessions.
    pub changed: usize,
    /// `mapping[b] = a`: regime `b` of the second labeling matched to regime `a` of the first.
    pub mapping: Vec<usize>,
    /// Share of sessions per regime, first labeling.
    pub occupancy_reference: Vec<f64>,
    /// Share of sessions per regime of the first labeling's numbering, second labeling.
    pub occupancy_optimized: Vec<f64>,
    /// Largest per-regime |occupancy difference|.
    pub occupancy_max_change: f64,
    /// Total-variation distance between the occupancies.
    pub occupancy_tv: f64,
}

/// Compares two labelings with labels `< k`.
///
/// ```
/// use ironforge::motif::regime::compare_labelings;
/// // Same partition, names swapped: no change.
/// let c = compare_labelings(&[0, 0, 1, 1], &[1, 1, 0, 0], 2)?;
/// assert_eq!(c.variance, 0.0);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn compare_labelings(reference: &[usize], optimized: &[usize], k: usize) -> Result<RegimeComparison, MotifError> {
    if reference.len() != optimized.len() {
        return Err(MotifError::LabelingLength { left: reference.len(), right: optimized.len() });
    }
    if let Some(&bad) = reference.iter().chain(optimized).find(|&&l| l >= k) {
        return Err(MotifError::Parameter { name: "label", value: bad.to_string(), why: "labels must be < k" });
    }
    let n = reference.len();
    let mut table = vec![vec![0usize; k]; k];
    for (&a, &b) in reference.iter().zip(optimized) {
        table[b][a] += 1;
    }
    // Rows = optimized regimes, columns = reference regimes; maximise agreement.
    let cost: Vec<Vec<f64>> = table.iter().map(|row| row.iter().map(|&c| -(c as f64)).collect()).collect();
    let mapping = assign_min_cost(&cost);
    let agree: usize = (0..k).map(|b| table[b][mapping[b]]).sum();
    let changed = n - agree;
    let share = |c: usize| if n == 0 { 0.0 } else { c as f64 / n as f64 };
    let mut occ_a = vec![0usize; k];
    let mut occ_b = vec![0usize; k];
    for (&a, &b) in reference.iter().zip(optimized) {
        occ_a[a] += 1;
        occ_b[mapping[b]] += 1;
    }
    let occupancy_reference: Vec<f64> = occ_a.iter().map(|&c| share(c)).collect();
    let occupancy_optimized: Vec<f64> = occ_b.iter().map(|&c| share(c)).collect();
    let diffs: Vec<f64> = occupancy_reference.iter().zip(&occupancy_optimized).map(|(a, b)| (a - b).abs()).collect();
    Ok(RegimeComparison {
        variance: share(changed),
        changed,
        mapping,
        occupancy_max_change: diffs.iter().copied().fold(0.0, f64::max),
        occupancy_tv: diffs.iter().sum::<f64>() / 2.0,
        occupancy_reference,
        occupancy_optimized,
    })
}

/// Regime variance between the reference and the optimized pipeline's session embeddings
/// (one row per session, same order), both clustered with the same k-means settings.
pub fn regime_variance(
    reference: &[Vec<f32>],
    optimized: &[Vec<f32>],
    params: &KMeansParams,
) -> Result<RegimeComparison, MotifError> {
    if reference.len() != optimized.len() {
        return Err(MotifError::LabelingLength { left: reference.len(), right: optimized.len() });
    }
    let a = kmeans(reference, params)?;
    let b = kmeans(optimized, params)?;
    compare_labelings(&a.labels, &b.labels, params.k)
}
