//! How [`Model::embed`](super::Model::embed) is asked to run and what it returns.

use ndarray::{Array1, Array2};

use crate::attention::bias::TimeBias;
use crate::attention::breaker::{self, CircuitBreaker};
use crate::attention::cache::TimeBiasCache;
use crate::attention::dispatch::Dispatcher;
use crate::attention::kernels::Kernel;

/// Which mask the session DAG gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskVariant {
    /// The original's: edge u→v lets row u attend column v ([`Mask::from_edges`](crate::attention::Mask::from_edges)).
    #[default]
    Original,
    /// Causal: the later event attends its cause ([`Mask::from_edges_causal`](crate::attention::Mask::from_edges_causal)).
    Causal,
}

impl std::str::FromStr for MaskVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "original" => Ok(MaskVariant::Original),
            "causal" => Ok(MaskVariant::Causal),
            _ => Err(format!("unknown mask variant `{s}` (expected one of: original, causal)")),
        }
    }
}

/// How to pick the kernel.
#[derive(Debug, Clone, Copy)]
pub enum KernelChoice<'a> {
    /// Always this kernel.
    Fixed(Kernel),
    /// Per call from a crossover table and the flags.
    Dispatch(&'a Dispatcher),
}

/// How [`Model::embed_with_bias_path`](super::Model::embed_with_bias_path) hands the time bias to the kernels. Both forms give
/// bit-identical embeddings; they differ in memory and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BiasPath {
    /// [`BiasPath::Dense`] up to [`DENSE_BIAS_MAX_EVENTS`](crate::attention::bias::DENSE_BIAS_MAX_EVENTS) events, [`BiasPath::Rows`] beyond
    /// (what [`Model::embed`](super::Model::embed) does).
    #[default]
    Auto,
    /// The L × L matrix ([`TimeBias::matrix`], through the time-bias cache when the options
    /// have one): 4·L² bytes. More than [`crate::attention::bias::DENSE_BIAS_MAX_BYTES`] is a
    /// [`ModelError::Bias`](super::ModelError::Bias), not an allocation.
    Dense,
    /// Row by row: the kernels compute each row's entries where the mask allows them
    /// ([`BiasSource::times`](crate::attention::kernels::BiasSource::times)); no matrix, no cache lookup, O(L) extra memory.
    Rows,
}

/// Options of [`Model::embed`](super::Model::embed).
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions<'a> {
    /// Kernel choice.
    pub kernel: KernelChoice<'a>,
    /// Mask variant.
    pub mask: MaskVariant,
    /// Time bias.
    pub bias: TimeBias,
    /// Time-bias cache (`None` = compute every time).
    pub cache: Option<&'a TimeBiasCache>,
    /// Breaker that counts fallbacks.
    pub breaker: &'a CircuitBreaker,
}

impl Default for EmbedOptions<'static> {
    fn default() -> Self {
        Self {
            kernel: KernelChoice::Fixed(Kernel::Math),
            mask: MaskVariant::Original,
            bias: TimeBias::Bucket,
            cache: None,
            breaker: breaker::global(),
        }
    }
}

/// The model's output for one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Per-event embeddings, L × 44, rows in local-index order.
    pub events: Array2<f32>,
    /// Mean of the event embeddings (44).
    pub session: Array1<f32>,
    /// The kernel whose output each layer used (after any fallback).
    pub kernels: Vec<Kernel>,
    /// Layers that fell back to `math`.
    pub fallbacks: usize,
}
