//! The session pipeline: session → causal DAG → embeddings → motif census.
//!
//! Two configurations of the same pipeline are what "session processing speed-up" compares:
//!
//! | stage | [`PipelineConfig::baseline`] | [`PipelineConfig::optimized`] |
//! |---|---|---|
//! | edge builder | [`Builder::Reference`] (O(n²)) | [`Builder::Fast`] (sweep) |
//! | attention kernel | [`Kernel::Math`] (f64) | chosen per L by the [`Dispatcher`] (flags apply) |
//! | time-bias cache | off | on when `IRONFORGE_ENABLE_TIME_BIAS_CACHE` allows it (sessions of at most [`DENSE_BIAS_MAX_EVENTS`](crate::attention::bias::DENSE_BIAS_MAX_EVENTS) events; longer ones get the row-wise bias, uncached, in both) |
//! | motif census | ESU, each instance classified by trying all permutations ([`census_reference`]) | ESU with lookup tables ([`census`](fn@census)) |
//!
//! Both produce the same edges, generations and motif counts, and embeddings equal within the
//! kernels' tolerance: the parity scenarios in `gates/` check exactly that.
//!
//! ```
//! use ironforge::pipeline::{Pipeline, PipelineConfig};
//! let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("p", 3, 40));
//! let base = Pipeline::new(7, PipelineConfig::baseline()).process(&s)?;
//! let fast = Pipeline::new(7, PipelineConfig::optimized(Default::default())).process(&s)?;
//! assert_eq!(base.edges, fast.edges);
//! assert_eq!(base.census, fast.census);
//! # Ok::<(), ironforge::pipeline::PipelineError>(())
//! ```

use crate::attention::bias::TimeBias;
use crate::attention::breaker::{self, CircuitBreaker};
use crate::attention::cache::TimeBiasCache;
use crate::attention::dispatch::Dispatcher;
use crate::attention::model::{EmbedOptions, KernelChoice, MaskVariant, ModelError};
use crate::attention::{AttentionConfig, Embeddings, Kernel, Model};
use crate::dag::{causal_pairs, BuildParams, Builder, Dag, DagError, Generations};
use crate::motif::brute::census_reference;
use crate::motif::{census, Census, MotifGraph};
use crate::session::Session;
use rayon::prelude::*;

/// Bytes the optimized pipeline's time-bias cache may hold.
pub const BIAS_CACHE_BYTES: usize = 64 << 20;

/// Largest motif size the pipeline counts.
pub const MAX_MOTIF_SIZE: usize = 5;

/// How each stage runs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// A short name for reports (`baseline`, `optimized`).
    pub name: &'static str,
    /// Edge builder implementation.
    pub builder: Builder,
    /// Edge builder parameters.
    pub params: BuildParams,
    /// `None` = [`Kernel::Math`]; `Some` = dispatch under these flags.
    pub attention: Option<AttentionConfig>,
    /// Time bias.
    pub bias: TimeBias,
    /// Largest motif size counted (3..=5).
    pub max_motif: usize,
    /// Classify motif instances with the lookup tables (`true`) or by brute force (`false`).
    pub motif_tables: bool,
}

impl PipelineConfig {
    /// The reference pipeline: reference edge builder, `math` attention, no cache, motifs
    /// classified by brute force.
    pub fn baseline() -> Self {
        Self {
            name: "baseline",
            builder: Builder::Reference,
            params: BuildParams::default(),
            attention: None,
            bias: TimeBias::Bucket,
            max_motif: MAX_MOTIF_SIZE,
            motif_tables: false,
        }
    }

    /// The optimized pipeline: fast edge builder, dispatched kernels and the bias cache, as the
    /// flags in `config` allow.
    pub fn optimized(config: AttentionConfig) -> Self {
        Self {
            name: "optimized",
            builder: Builder::Fast,
            attention: Some(config),
            motif_tables: true,
            ..Self::baseline()
        }
    }
}

/// Why a session could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The DAG stage failed.
    #[error(transparent)]
    Dag(#[from] DagError),
    /// The attention stage failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// What the pipeline produced for one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOutput {
    /// Causal edges as local-index pairs.
    pub edges: Vec<(u32, u32)>,
    /// Topological generations (node ids).
    pub generations: Generations,
    /// Per-event and session embeddings.
    pub embeddings: Embeddings,
    /// Motif census of the causal DAG.
    pub census: Census,
}

/// A configured pipeline with its model, dispatcher and cache.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    model: Model,
    dispatcher: Option<Dispatcher>,
    cache: Option<TimeBiasCache>,
    breaker: &'static CircuitBreaker,
}

impl Pipeline {
    /// A pipeline whose model weights come from `seed`.
    pub fn new(seed: u64, config: PipelineConfig) -> Self {
        let dispatcher = config.attention.map(Dispatcher::with_default_table);
        let cache =
            config.attention.as_ref().filter(|c| c.time_bias_cache).map(|_| TimeBiasCache::new(BIAS_CACHE_BYTES));
        Self { model: Model::from_seed(seed), dispatcher, cache, breaker: breaker::global(), config }
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The time-bias cache, when this pipeline has one.
    pub fn cache(&self) -> Option<&TimeBiasCache> {
        self.cache.as_ref()
    }

    /// Runs every stage on one session.
    pub fn process(&self, session: &Session) -> Result<SessionOutput, PipelineError> {
        let times = session.times_ms();
        let edges = causal_pairs(&times, &self.config.params, self.config.builder);
        let node_ids: Vec<u32> = session.events().iter().map(|e| e.node_id).collect();
        let dag = Dag::from_local_edges(session.id(), node_ids, &edges)?;
        let kernel = match &self.dispatcher {
            Some(d) => KernelChoice::Dispatch(d),
            None => KernelChoice::Fixed(Kernel::Math),
        };
        let opts = EmbedOptions {
            kernel,
            mask: MaskVariant::Original,
            bias: self.config.bias,
            cache: self.cache.as_ref(),
            breaker: self.breaker,
        };
        let embeddings = self.model.embed(session, dag.local_edges(), &opts)?;
        let graph = MotifGraph::from_adjacency(dag.forward(), dag.reverse());
        let census = if self.config.motif_tables {
            census(&graph, self.config.max_motif)
        } else {
            census_reference(&graph, self.config.max_motif)
        };
        Ok(SessionOutput { generations: dag.into_generation_node_ids(), edges, embeddings, census })
    }

    /// Runs every stage on each of `sessions`, one session per task on the current rayon pool
    /// (the global pool, or the one a caller [`install`](rayon::ThreadPool::install)s to choose
    /// the thread count; no pool is started here). Outputs come in input order, each equal to
    /// [`Pipeline::process`]'s on its own session whatever the thread count: sessions share
    /// nothing but the time-bias cache, whose entries do not depend on who computed them. On
    /// failure, the error of the first failing session in input order.
    ///
    /// ```
    /// use ironforge::pipeline::{Pipeline, PipelineConfig};
    /// let sessions: Vec<_> = (0..4)
    ///     .map(|i| ironforge::synth::generate(&ironforge::synth::SessionSpec::new(format!("s{i}"), i, 60)))
    ///     .collect();
    /// let p = Pipeline::new(7, PipelineConfig::optimized(Default::default()));
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    /// let batch = pool.install(|| p.process_all(&sessions))?;
    /// for (s, out) in sessions.iter().zip(&batch) {
    ///     assert_eq!(out, &p.process(s)?);
    /// }
    /// # Ok::<(), ironforge::pipeline::PipelineError>(())
    /// ```
    pub fn process_all(&self, sessions: &[Session]) -> Result<Vec<SessionOutput>, PipelineError> {
        let outputs: Vec<Result<SessionOutput, PipelineError>> = sessions.par_iter().map(|s| self.process(s)).collect();
        outputs.into_iter().collect()
    }
}
