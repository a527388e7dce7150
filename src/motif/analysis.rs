//! The whole pipeline over a set of sessions: observed census, null model, lift, bootstrap
//! intervals and classes.

use std::collections::BTreeSet;

use super::bootstrap::{bootstrap_intervals_with, BootstrapParams};
use super::census::{census, Census, MotifId};
use super::error::MotifError;
use super::graph::MotifGraph;
use super::lift::{z_and_p, MotifStat, Thresholds};
use super::null::{run_null_with, NullModel, NullParams};
use crate::dag::{session_causal_pairs, BuildParams};
use crate::progress::{Progress, Silent};
use crate::session::Session;

/// A session as the motif engine sees it: sorted event times and directed local edges.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGraph {
    /// Event times in local-index order (non-decreasing).
    pub times_ms: Vec<i64>,
    /// Directed edges between local indices.
    pub edges: Vec<(u32, u32)>,
}

/// Which edges the observed census uses.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeSource {
    /// The session's own (imported) edges, [`Session::local_edges`].
    Imported,
    /// Edges rebuilt by the DAG builder.
    Rebuilt(BuildParams),
}

impl SessionGraph {
    /// The motif view of a session.
    pub fn from_session(session: &Session, source: &EdgeSource) -> Self {
        let edges = match source {
            EdgeSource::Imported => session.local_edges(),
            EdgeSource::Rebuilt(params) => session_causal_pairs(session, params),
        };
        Self { times_ms: session.times_ms(), edges }
    }
}

/// Settings of a motif analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct MotifConfig {
    /// Null model (iterations, jitter, builder, largest motif size).
    pub null: NullParams,
    /// Bootstrap over sessions.
    pub bootstrap: BootstrapParams,
    /// Lift floor and class thresholds.
    pub thresholds: Thresholds,
    /// Master seed of every random stream.
    pub seed: u64,
}

impl Default for MotifConfig {
    fn default() -> Self {
        Self {
            null: NullParams::default(),
            bootstrap: BootstrapParams::default(),
            thresholds: Thresholds::default(),
            seed: 0x5EED_0F1F,
        }
    }
}

impl MotifConfig {
    /// Strict mode: 10,000 null iterations and 10,000 bootstrap replicates.
    pub fn strict() -> Self {
        Self { null: NullParams::strict(), bootstrap: BootstrapParams::strict(), ..Self::default() }
    }
}

/// Result of [`analyse`].
#[derive(Debug, Clone, PartialEq)]
pub struct MotifAnalysis {
    /// Observed census per session.
    pub observed: Vec<Census>,
    /// Observed census of all sessions together.
    pub total: Census,
    /// The null distribution.
    pub null: NullModel,
    /// One row per motif seen in the data or in the null model, ascending by id.
    pub stats: Vec<MotifStat>,
}

/// Observed census of each session (graphs of `3..=max_k` nodes).
pub fn observed_censuses(sessions: &[SessionGraph], max_k: usize) -> Result<Vec<Census>, MotifError> {
    sessions.iter().map(|s| Ok(census(&MotifGraph::new(s.times_ms.len(), &s.edges)?, max_k))).collect()
}

/// Runs census, null model, bootstrap and classification on the current rayon pool.
/// Bit-identical for a given config whatever the pool's size.
pub fn analyse(sessions: &[SessionGraph], config: &MotifConfig) -> Result<MotifAnalysis, MotifError> {
    analyse_with(sessions, config, &Silent)
}

/// [`analyse`], reporting the null model's iterations and the bootstrap's replicates to
/// `progress` and stopping with [`MotifError::Interrupted`] as soon as it is cancelled. The
/// result does not depend on `progress`.
///
/// ```
/// use ironforge::motif::analysis::analyse_with;
/// use ironforge::motif::{MotifConfig, SessionGraph};
/// let g = SessionGraph { times_ms: vec![0, 60_000, 120_000], edges: vec![(0, 1), (1, 2)] };
/// let mut config = MotifConfig::default();
/// config.null.iterations = 4;
/// config.bootstrap.replicates = 4;
/// let a = analyse_with(&[g], &config, &ironforge::progress::Silent)?;
/// assert_eq!(a.null.iterations, 4);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn analyse_with(
    sessions: &[SessionGraph],
    config: &MotifConfig,
    progress: &dyn Progress,
) -> Result<MotifAnalysis, MotifError> {
    if sessions.is_empty() {
        return Err(MotifError::Parameter { name: "sessions", value: "0".into(), why: "need at least one session" });
    }
    // Before the census, which takes `max_k` on trust.
    config.null.validate()?;
    if config.null.iterations == 0 {
        return Err(MotifError::Parameter { name: "iterations", value: "0".into(), why: "need at least 1" });
    }
    let observed = observed_censuses(sessions, config.null.max_k)?;
    let mut total = Census::default();
    for c in &observed {
        total.add(c);
    }
    let times: Vec<Vec<i64>> = sessions.iter().map(|s| s.times_ms.clone()).collect();
    let null = run_null_with(&times, &config.null, config.seed, progress)?;
    let motifs: Vec<MotifId> =
        total.iter().map(|(id, _)| id).chain(null.total.keys().copied()).collect::<BTreeSet<_>>().into_iter().collect();
    let intervals = bootstrap_intervals_with(
        &observed,
        &null,
        &motifs,
        &config.bootstrap,
        &config.thresholds,
        config.seed,
        progress,
    )?;
    let n = null.iterations;
    let stats = motifs
        .iter()
        .zip(intervals)
        .map(|(&id, (ci_low, ci_high))| {
            let count = total.count(&id);
            let moments = null.total.get(&id).copied().unwrap_or_default();
            let (null_mean, null_std) = (moments.mean(n), moments.std(n));
            let lift = config.thresholds.lift(count as f64, null_mean);
            let (z, p) = z_and_p(count as f64, null_mean, null_std);
            let class = config.thresholds.classify(lift, p, ci_low);
            MotifStat { id, count, null_mean, null_std, lift, z, p, ci_low, ci_high, class }
        })
        .collect();
    Ok(MotifAnalysis { observed, total, null, stats })
}
