//! Step changes in a metric's series: e-divisive means (Matteson & James 2014, "A
//! Nonparametric Approach for Multiple Change Point Analysis of Multivariate Data"), the method
//! MongoDB's performance CI and Apache Otava (Hunter) use on commit histories.
//!
//! For a segment `z` and a split `τ` into `X = z[..τ]` (m points) and `Y = z[τ..]` (n points),
//! with distances `|a − b|^α`:
//!
//! ```text
//! Q(τ) = m·n/(m+n) · ( 2/(m·n) Σ|X_i − Y_j|^α
//!                      − Σ_{i<k}|X_i − X_k|^α / C(m,2) − Σ_{j<k}|Y_j − Y_k|^α / C(n,2) )
//! ```
//!
//! the scaled sample energy distance between the two sides. The search is hierarchical
//! bisection: find the split with the largest `Q` over every current segment (`Y` runs to the
//! segment's end, as in MongoDB's and Otava's implementation), test it, and if it is
//! significant split there and search again; stop at the first split that is not.
//!
//! Significance is a permutation test: the values of every segment are shuffled within it
//! ([`Params::permutations`] times, from a ChaCha8 stream with a fixed seed, so a series always
//! gives the same answer) and the largest `Q` of the shuffled data is compared with the one
//! found; `p = (1 + #{shuffled ≥ found}) / (1 + permutations)`. The parameters, [`PARAMS`]:
//!
//! - `α = 1`: the energy distance then responds to any change of distribution and weights a
//!   shift in mean linearly (α = 2 would reduce it to a difference of means, blind to
//!   everything else, and square the pull of outliers).
//! - 199 permutations, `p < 0.05`: the smallest reachable p is 0.005, well under the level, and
//!   199 shuffles of a few hundred points cost milliseconds. Each accepted step is a 5% test, so
//!   a flat series shows a spurious step about once in twenty.
//! - Segments of at least 3 points: a new level must hold for 3 commits before it is a step,
//!   so a one- or two-commit spike (a noisy run, a busy machine) is not reported as one, and
//!   each side has pairs from which to estimate its spread.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Settings of [`e_divisive`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Exponent of the distance `|a − b|^α`, in (0, 2).
    pub alpha: f64,
    /// Shuffles in the permutation test.
    pub permutations: usize,
    /// A split is a step when its p-value is below this.
    pub significance: f64,
    /// Fewest points on either side of a split.
    pub min_segment: usize,
    /// Seed of the ChaCha8 stream that draws the shuffles.
    pub seed: u64,
}

/// The parameters `cargo xtask history` uses (see the module doc for why).
pub const PARAMS: Params =
    Params { alpha: 1.0, permutations: 199, significance: 0.05, min_segment: 3, seed: 20_140_101 };

/// One detected step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangePoint {
    /// Index of the first point of the new level.
    pub index: usize,
    /// The statistic `Q` of the split.
    pub q: f64,
    /// The permutation test's p-value.
    pub p_value: f64,
}

/// The split of `z` with the largest `Q` and that `Q`, over splits leaving at least
/// `min_segment` points on each side; `None` when `z` is too short to split.
pub fn best_split(z: &[f64], alpha: f64, min_segment: usize) -> Option<(usize, f64)> {
    let n = z.len();
    let min = min_segment.max(2);
    if n < 2 * min {
        return None;
    }
    let d = |i: usize, j: usize| (z[i] - z[j]).abs().powf(alpha);
    // Sums of distances within X = z[..τ], within Y = z[τ..] and between them, at τ = min.
    let (mut within_x, mut within_y, mut between) = (0.0, 0.0, 0.0);
    for i in 0..n {
        for j in i + 1..n {
            match (i < min, j < min) {
                (true, true) => within_x += d(i, j),
                (false, false) => within_y += d(i, j),
                _ => between += d(i, j),
            }
        }
    }
    let pairs = |k: usize| (k * (k - 1)) as f64 / 2.0;
    let mut best: Option<(usize, f64)> = None;
    for tau in min..=n - min {
        let (m, k) = (tau as f64, (n - tau) as f64);
        let energy = 2.0 * between / (m * k) - within_x / pairs(tau) - within_y / pairs(n - tau);
        let q = m * k / (m + k) * energy;
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((tau, q));
        }
        // Move z[τ] from Y to X.
        let to_x: f64 = (0..tau).map(|i| d(i, tau)).sum();
        let to_y: f64 = (tau + 1..n).map(|j| d(tau, j)).sum();
        within_x += to_x;
        within_y -= to_y;
        between += to_y - to_x;
    }
    best
}

/// The step changes of `values` (finite numbers in commit order), sorted by index.
pub fn e_divisive(values: &[f64], params: &Params) -> Vec<ChangePoint> {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut bounds = vec![0, values.len()];
    let mut found = Vec::new();
    let mut shuffled = values.to_vec();
    let best_over = |z: &[f64], bounds: &[usize]| {
        bounds
            .windows(2)
            .filter_map(|w| best_split(&z[w[0]..w[1]], params.alpha, params.min_segment).map(|(t, q)| (w[0] + t, q)))
            .fold(None, |acc: Option<(usize, f64)>, c| if acc.is_none_or(|a| c.1 > a.1) { Some(c) } else { acc })
    };
    while let Some((index, q)) = best_over(values, &bounds) {
        let mut as_large = 0usize;
        for _ in 0..params.permutations {
            for w in bounds.windows(2) {
                shuffled[w[0]..w[1]].copy_from_slice(&values[w[0]..w[1]]);
                shuffled[w[0]..w[1]].shuffle(&mut rng);
            }
            // A relative tolerance so that the very split found, summed in another order,
            // counts as "as large" (it does: it is one of the shuffles).
            if best_over(&shuffled, &bounds).is_some_and(|(_, qs)| qs >= q - 1e-9 * q.abs()) {
                as_large += 1;
            }
        }
        let p_value = (1 + as_large) as f64 / (1 + params.permutations) as f64;
        if p_value >= params.significance {
            break;
        }
        found.push(ChangePoint { index, q, p_value });
        let at = bounds.partition_point(|&b| b < index);
        bounds.insert(at, index);
    }
    found.sort_by_key(|c| c.index);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `n` points around `level(i)` with Gaussian noise of relative σ `sigma` (Box–Muller).
    fn noisy(seed: u64, n: usize, sigma: f64, level: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
                let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                level(i) * (1.0 + sigma * normal)
            })
            .collect()
    }

    #[test]
    fn finds_a_ten_percent_step_in_one_percent_noise() {
        let values = noisy(11, 30, 0.01, |i| if i < 17 { 100.0 } else { 110.0 });
        let found = e_divisive(&values, &PARAMS);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].index.abs_diff(17) <= 1, "{found:?}");
        assert!(found[0].p_value < PARAMS.significance);
        // A drop is found as well as a rise.
        let values = noisy(12, 30, 0.01, |i| if i < 10 { 100.0 } else { 90.0 });
        let found = e_divisive(&values, &PARAMS);
        assert_eq!(found.iter().map(|c| c.index).collect::<Vec<_>>(), [10]);
    }

    #[test]
    fn finds_nothing_in_flat_noise() {
        let values = noisy(13, 30, 0.01, |_| 100.0);
        assert_eq!(e_divisive(&values, &PARAMS), []);
        // Over many flat series the false steps stay near the 5% level of the test.
        let false_steps: usize = (100..140).map(|s| e_divisive(&noisy(s, 30, 0.01, |_| 100.0), &PARAMS).len()).sum();
        assert!(false_steps <= 6, "{false_steps} false steps in 40 flat series");
    }

    #[test]
    fn finds_two_steps_and_is_deterministic() {
        let level = |i: usize| match i {
            0..12 => 50.0,
            12..24 => 56.0,
            _ => 51.0,
        };
        let values = noisy(14, 36, 0.01, level);
        let found = e_divisive(&values, &PARAMS);
        let at: Vec<usize> = found.iter().map(|c| c.index).collect();
        assert_eq!(at.len(), 2, "{found:?}");
        assert!(at[0].abs_diff(12) <= 1 && at[1].abs_diff(24) <= 1, "{found:?}");
        assert_eq!(e_divisive(&values, &PARAMS), found);
    }

    #[test]
    fn short_or_constant_series_have_no_step() {
        assert_eq!(e_divisive(&[], &PARAMS), []);
        assert_eq!(e_divisive(&[1.0, 1.0, 2.0, 2.0, 2.0], &PARAMS), []);
        assert_eq!(e_divisive(&[3.0; 20], &PARAMS), []);
        assert_eq!(best_split(&[1.0; 5], 1.0, 3), None);
    }

    #[test]
    fn statistic_matches_its_definition() {
        let z = [1.0, 2.0, 4.0, 8.0, 9.0, 15.0, 15.5];
        let direct = |tau: usize| {
            let (x, y) = z.split_at(tau);
            let (m, n) = (x.len() as f64, y.len() as f64);
            let between: f64 = x.iter().flat_map(|a: &f64| y.iter().map(move |b: &f64| (a - b).abs())).sum();
            let within = |s: &[f64]| {
                let k = s.len() as f64;
                let sum: f64 = (0..s.len()).flat_map(|i| (i + 1..s.len()).map(move |j| (s[i] - s[j]).abs())).sum();
                sum / (k * (k - 1.0) / 2.0)
            };
            m * n / (m + n) * (2.0 * between / (m * n) - within(x) - within(y))
        };
        let (tau, q) = best_split(&z, 1.0, 2).unwrap();
        let (want_tau, want_q) =
            (2..=5).map(|t| (t, direct(t))).fold((0, f64::NEG_INFINITY), |a, c| if c.1 > a.1 { c } else { a });
        assert_eq!(tau, want_tau);
        assert!((q - want_q).abs() < 1e-9 * want_q.abs(), "{q} vs {want_q}");
    }
}
