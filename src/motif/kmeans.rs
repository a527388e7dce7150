//! Seeded k-means++ (Arthur & Vassilvitskii 2007) followed by Lloyd iterations.
//!
//! Deterministic: one ChaCha8 stream from the seed, sequential `f64` arithmetic in row order.

use rand::Rng;

use super::error::MotifError;
use super::null::iteration_rng;

/// Parameters of k-means.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters (regimes).
    pub k: usize,
    /// Largest number of Lloyd iterations.
    pub max_iterations: usize,
    /// Seed of the k-means++ draws.
    pub seed: u64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self { k: 4, max_iterations: 100, seed: 0x04E6_11E5 }
    }
}

/// A clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    /// Cluster of each row.
    pub labels: Vec<usize>,
    /// Centroids.
    pub centroids: Vec<Vec<f64>>,
    /// Sum of squared distances to the assigned centroid.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
}

fn dist2(a: &[f32], c: &[f64]) -> f64 {
    a.iter().zip(c).map(|(&x, &y)| (x as f64 - y) * (x as f64 - y)).sum()
}

fn nearest(row: &[f32], centroids: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centroid) in centroids.iter().enumerate() {
        let d = dist2(row, centroid);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// Clusters rows (all of one width, finite) into `k` clusters.
///
/// ```
/// use ironforge::motif::kmeans::{kmeans, KMeansParams};
/// let rows = vec![vec![0.0f32, 0.0], vec![0.1, 0.0], vec![5.0, 5.0], vec![5.1, 5.0]];
/// let r = kmeans(&rows, &KMeansParams { k: 2, ..KMeansParams::default() })?;
/// assert_eq!(r.labels[0], r.labels[1]);
/// assert_ne!(r.labels[0], r.labels[2]);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn kmeans(rows: &[Vec<f32>], params: &KMeansParams) -> Result<KMeansResult, MotifError> {
    let n = rows.len();
    if params.k == 0 || params.k > n {
        return Err(MotifError::Parameter { name: "k", value: params.k.to_string(), why: "must be in 1..=rows" });
    }
    let width = rows[0].len();
    for (i, r) in rows.iter().enumerate() {
        if r.len() != width {
            return Err(MotifError::RaggedEmbeddings { row: i, got: r.len(), expected: width });
        }
        if r.iter().any(|x| !x.is_finite()) {
            return Err(MotifError::NonFinite { what: "embedding row", index: i });
        }
    }
    let mut rng = iteration_rng(params.seed, 0);
    // k-means++ seeding: first centre uniform, then each with probability ∝ D².
    let to_f64 = |r: &Vec<f32>| r.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let mut centroids = vec![to_f64(&rows[rng.random_range(0..n)])];
    let mut d2: Vec<f64> = rows.iter().map(|r| dist2(r, &centroids[0])).collect();
    while centroids.len() < params.k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let target = rng.random::<f64>() * total;
            let mut acc = 0.0;
            d2.iter()
                .position(|&d| {
                    acc += d;
                    acc > target
                })
                .unwrap_or(n - 1)
        } else {
            rng.random_range(0..n)
        };
        centroids.push(to_f64(&rows[pick]));
        let last = centroids.last().expect("just pushed");
        for (d, r) in d2.iter_mut().zip(rows) {
            *d = d.min(dist2(r, last));
        }
    }
    let mut labels = vec![usize::MAX; n];
    let mut iterations = 0;
    while iterations < params.max_iterations {
        iterations += 1;
        let mut changed = false;
        for (l, r) in labels.iter_mut().zip(rows) {
            let (c, _) = nearest(r, &centroids);
            changed |= *l != c;
            *l = c;
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0f64; width]; params.k];
        let mut counts = vec![0usize; params.k];
        for (&l, r) in labels.iter().zip(rows) {
            counts[l] += 1;
            for (s, &x) in sums[l].iter_mut().zip(r) {
                *s += x as f64;
            }
        }
        for ((centroid, sum), &count) in centroids.iter_mut().zip(&sums).zip(&counts) {
            // An empty cluster keeps its centroid.
            if count > 0 {
                *centroid = sum.iter().map(|s| s / count as f64).collect();
            }
        }
    }
    let inertia = labels.iter().zip(rows).map(|(&l, r)| dist2(r, &centroids[l])).sum();
    Ok(KMeansResult { labels, centroids, inertia, iterations })
}

/// The best of `restarts` k-means runs (lowest inertia; ties keep the earlier run), run `r`
/// seeded with `params.seed + r·0x9E37_79B9_7F4A_7C15` (wrapping): k-means++ finds a local
/// optimum, and restarts make the partition less dependent on the seed (scikit-learn's
/// `n_init`).
///
/// ```
/// use ironforge::motif::kmeans::{kmeans, kmeans_restarts, KMeansParams};
/// let rows = vec![vec![0.0f32], vec![0.2], vec![5.0], vec![5.2], vec![9.0]];
/// let p = KMeansParams { k: 2, ..KMeansParams::default() };
/// let best = kmeans_restarts(&rows, &p, 5)?;
/// assert!(best.inertia <= kmeans(&rows, &p)?.inertia);
/// assert!(kmeans_restarts(&rows, &p, 0).is_err());
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn kmeans_restarts(rows: &[Vec<f32>], params: &KMeansParams, restarts: usize) -> Result<KMeansResult, MotifError> {
    if restarts == 0 {
        return Err(MotifError::Parameter { name: "restarts", value: "0".into(), why: "must be at least 1" });
    }
    let mut best: Option<KMeansResult> = None;
    for r in 0..restarts as u64 {
        let seed = params.seed.wrapping_add(r.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let run = kmeans(rows, &KMeansParams { seed, ..params.clone() })?;
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    best.ok_or(MotifError::Parameter { name: "restarts", value: "0".into(), why: "must be at least 1" })
}

/// The nearest centroid (squared Euclidean distance, ties to the lower index) of each row:
/// how rows are put into regimes fitted elsewhere. Rows must be finite and as wide as the
/// centroids.
///
/// ```
/// use ironforge::motif::kmeans::assign_nearest;
/// let centroids = vec![vec![0.0f64, 0.0], vec![10.0, 10.0]];
/// assert_eq!(assign_nearest(&[vec![1.0f32, 0.5], vec![9.0, 9.5]], &centroids)?, vec![0, 1]);
/// assert!(assign_nearest(&[vec![1.0f32]], &centroids).is_err());
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn assign_nearest(rows: &[Vec<f32>], centroids: &[Vec<f64>]) -> Result<Vec<usize>, MotifError> {
    if centroids.is_empty() {
        return Err(MotifError::Parameter { name: "centroids", value: "0".into(), why: "need at least one centroid" });
    }
    let width = centroids[0].len();
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            if r.len() != width {
                return Err(MotifError::RaggedEmbeddings { row: i, got: r.len(), expected: width });
            }
            if r.iter().any(|x| !x.is_finite()) {
                return Err(MotifError::NonFinite { what: "embedding row", index: i });
            }
            Ok(nearest(r, centroids).0)
        })
        .collect()
}
