//! Null model: time jitter, edges rebuilt by the DAG builder, census per iteration.
//!
//! Iteration `i` draws from its own ChaCha8 stream (`seed_from_u64(seed)` + `set_stream(i)`)
//! and jitters every session in order. Counts are summed as exact integers (`Σc`, `Σc²`), so the
//! result is bit-identical whatever the number of rayon threads and the order of reduction.
//! [`run_null_with`] reports each iteration to a [`Progress`] and stops when it is cancelled.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::census::{CensusCounter, MotifId};
use super::error::MotifError;
use super::graph::MotifGraph;
use crate::dag::{causal_pairs_reference, BuildParams};
use crate::progress::{check, Interrupted, Progress, Silent};

/// Parameters of the null model.
#[derive(Debug, Clone, PartialEq)]
pub struct NullParams {
    /// Null iterations (1,000 by default, 10,000 in strict mode).
    pub iterations: usize,
    /// Smallest jitter magnitude in milliseconds (60 minutes).
    pub jitter_min_ms: i64,
    /// Largest jitter magnitude in milliseconds (120 minutes).
    pub jitter_max_ms: i64,
    /// The DAG builder's parameters used to rebuild edges.
    pub build: BuildParams,
    /// Largest motif size (3–5).
    pub max_k: usize,
}

impl Default for NullParams {
    fn default() -> Self {
        Self {
            iterations: 1_000,
            jitter_min_ms: 3_600_000,
            jitter_max_ms: 7_200_000,
            build: BuildParams::default(),
            max_k: 5,
        }
    }
}

impl NullParams {
    /// Strict mode: 10,000 iterations.
    pub fn strict() -> Self {
        Self { iterations: 10_000, ..Self::default() }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), MotifError> {
        if !(3..=5).contains(&self.max_k) {
            return Err(MotifError::Parameter {
                name: "max_k",
                value: self.max_k.to_string(),
                why: "must be 3, 4 or 5",
            });
        }
        if let Err(e) = self.build.validate() {
            return Err(MotifError::Parameter {
                name: "build",
                value: format!("{:?}", self.build),
                why: match e {
                    crate::dag::DagError::BadParameter { why, .. } => why,
                    _ => "invalid edge builder parameters",
                },
            });
        }
        if self.jitter_min_ms < 0 || self.jitter_max_ms < self.jitter_min_ms {
            return Err(MotifError::Parameter {
                name: "jitter_max_ms",
                value: format!("{}..{}", self.jitter_min_ms, self.jitter_max_ms),
                why: "need 0 <= jitter_min_ms <= jitter_max_ms",
            });
        }
        Ok(())
    }
}

/// Exact moments of a count over iterations: `Σc` and `Σc²`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moments {
    /// Sum of counts.
    pub sum: u64,
    /// Sum of squared counts.
    pub sum_sq: u128,
}

impl Moments {
    fn add(&mut self, c: u64) {
        self.sum += c;
        self.sum_sq += c as u128 * c as u128;
    }

    fn merge(&mut self, o: &Moments) {
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }

    /// Mean over `n` iterations (iterations where the motif did not occur count as 0).
    pub fn mean(&self, n: usize) -> f64 {
        self.sum as f64 / n as f64
    }

    /// Sample standard deviation over `n` iterations (0 when `n < 2`).
    pub fn std(&self, n: usize) -> f64 {
        if n < 2 {
            return 0.0;
        }
        // n·Σc² − (Σc)² is exact in integers, then one division.
        let num = n as u128 * self.sum_sq - self.sum as u128 * self.sum as u128;
        (num as f64 / (n as f64 * (n as f64 - 1.0))).sqrt()
    }
}

/// The null distribution: moments per session and of the per-iteration totals.
#[derive(Debug, Clone, PartialEq)]
pub struct NullModel {
    /// Iterations run.
    pub iterations: usize,
    /// Per session: moments of each motif's count.
    pub per_session: Vec<BTreeMap<MotifId, Moments>>,
    /// Moments of each motif's count summed over all sessions in one iteration.
    pub total: BTreeMap<MotifId, Moments>,
}

/// Jittered times: each event moves by ±U[min, max] ms (sign and magnitude from `rng`), then
/// the times are stably re-sorted (ties keep the original order).
pub fn jitter_times(times_ms: &[i64], params: &NullParams, rng: &mut ChaCha8Rng) -> Vec<i64> {
    let mut t: Vec<i64> = times_ms
        .iter()
        .map(|&t| {
            let magnitude = rng.random_range(params.jitter_min_ms..=params.jitter_max_ms);
            if rng.random_bool(0.5) {
                t.saturating_add(magnitude)
            } else {
                t.saturating_sub(magnitude)
            }
        })
        .collect();
    t.sort(); // stable
    t
}

/// One null iteration's rebuilt graph of one session.
pub fn null_graph(times_ms: &[i64], params: &NullParams, rng: &mut ChaCha8Rng) -> MotifGraph {
    let t = jitter_times(times_ms, params, rng);
    let pairs = causal_pairs_reference(&t, &params.build);
    MotifGraph::new(t.len(), &pairs).expect("the builder emits forward pairs inside 0..n")
}

/// The ChaCha stream of one iteration: key from the master seed, stream = iteration.
pub fn iteration_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Runs the null model over sessions given by their (sorted) times, in parallel over
/// iterations on the current rayon pool.
pub fn run_null(session_times: &[Vec<i64>], params: &NullParams, seed: u64) -> Result<NullModel, MotifError> {
    run_null_with(session_times, params, seed, &Silent)
}

/// [`run_null`], reporting every iteration to `progress` (stage `"null model"`) and stopping
/// with [`MotifError::Interrupted`] as soon as it is cancelled. The result does not depend on
/// `progress`.
///
/// ```
/// use ironforge::motif::null::{run_null, run_null_with, NullParams};
/// use ironforge::progress::Silent;
/// let times = vec![vec![0, 60_000, 120_000, 180_000]];
/// let params = NullParams { iterations: 8, ..NullParams::default() };
/// assert_eq!(run_null_with(&times, &params, 1, &Silent)?, run_null(&times, &params, 1)?);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn run_null_with(
    session_times: &[Vec<i64>],
    params: &NullParams,
    seed: u64,
    progress: &dyn Progress,
) -> Result<NullModel, MotifError> {
    params.validate()?;
    progress.stage("null model", params.iterations as u64);
    let s = session_times.len();
    let empty = || (vec![BTreeMap::<MotifId, Moments>::new(); s], BTreeMap::<MotifId, Moments>::new());
    let (per_session, total) = (0..params.iterations)
        .into_par_iter()
        .try_fold(
            || (empty(), CensusCounter::new(params.max_k)),
            |((mut per, mut tot), mut counter), i| {
                check(progress)?;
                let mut rng = iteration_rng(seed, i as u64);
                let mut iteration_total: BTreeMap<MotifId, u64> = BTreeMap::new();
                for (si, times) in session_times.iter().enumerate() {
                    counter.count(&null_graph(times, params, &mut rng));
                    for (id, c) in counter.finish().iter() {
                        per[si].entry(id).or_default().add(c);
                        *iteration_total.entry(id).or_insert(0) += c;
                    }
                }
                for (id, c) in iteration_total {
                    tot.entry(id).or_default().add(c);
                }
                progress.advance(1);
                Ok::<_, Interrupted>(((per, tot), counter))
            },
        )
        .map(|folded| folded.map(|(acc, _)| acc))
        .try_reduce(empty, |(mut pa, mut ta), (pb, tb)| {
            for (a, b) in pa.iter_mut().zip(pb) {
                for (id, m) in b {
                    a.entry(id).or_default().merge(&m);
                }
            }
            for (id, m) in tb {
                ta.entry(id).or_default().merge(&m);
            }
            Ok((pa, ta))
        })?;
    Ok(NullModel { iterations: params.iterations, per_session, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_moves_every_event_by_60_to_120_minutes() {
        let params = NullParams::default();
        let times: Vec<i64> = (0..200).map(|i| i * 1000).collect();
        let mut rng = iteration_rng(7, 3);
        // Same draws without the sort, to see each event's own move.
        let mut raw = iteration_rng(7, 3);
        let moved: Vec<i64> = times
            .iter()
            .map(|&t| {
                let m = raw.random_range(params.jitter_min_ms..=params.jitter_max_ms);
                if raw.random_bool(0.5) {
                    t + m
                } else {
                    t - m
                }
            })
            .collect();
        for (a, b) in times.iter().zip(&moved) {
            let d = (b - a).abs();
            assert!((3_600_000..=7_200_000).contains(&d), "moved by {d}");
        }
        assert!(moved.iter().zip(&times).any(|(m, t)| m > t) && moved.iter().zip(&times).any(|(m, t)| m < t));
        let mut sorted = moved.clone();
        sorted.sort();
        assert_eq!(jitter_times(&times, &params, &mut rng), sorted);
    }

    #[test]
    fn moments_give_sample_mean_and_std() {
        let mut m = Moments::default();
        for c in [2u64, 4, 4, 4, 5, 5, 7, 9] {
            m.add(c);
        }
        assert_eq!(m.mean(8), 5.0);
        assert!((m.std(8) - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    }

    /// Cancels once `after` iterations are done; counts the iterations reported.
    struct CancelAfter {
        after: u64,
        done: std::sync::atomic::AtomicU64,
    }

    impl Progress for CancelAfter {
        fn advance(&self, n: u64) {
            self.done.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        }
        fn cancelled(&self) -> bool {
            self.done.load(std::sync::atomic::Ordering::SeqCst) >= self.after
        }
    }

    #[test]
    fn a_cancelled_run_stops_early_and_an_uncancelled_one_is_unchanged() {
        let times = vec![(0..40).map(|i| i * 60_000).collect::<Vec<i64>>()];
        let params = NullParams { iterations: 100_000, ..NullParams::default() };
        let stop = CancelAfter { after: 5, done: Default::default() };
        assert!(matches!(run_null_with(&times, &params, 3, &stop), Err(MotifError::Interrupted(_))));
        let done = stop.done.load(std::sync::atomic::Ordering::SeqCst);
        assert!(done < 1_000, "ran {done} of 100,000 iterations after the cancel");

        let params = NullParams { iterations: 20, ..NullParams::default() };
        let never = CancelAfter { after: u64::MAX, done: Default::default() };
        assert_eq!(run_null_with(&times, &params, 3, &never).unwrap(), run_null(&times, &params, 3).unwrap());
        assert_eq!(never.done.load(std::sync::atomic::Ordering::SeqCst), 20);
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = NullParams { max_k: 6, ..NullParams::default() };
        let err = run_null(&[vec![0, 1]], &p, 1).unwrap_err();
        assert!(err.to_string().contains("max_k"));
    }
}
