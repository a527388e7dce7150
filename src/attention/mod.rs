//! The attention engine: TGAT-style graph attention over a session's events.
//!
//! One seam for every kernel: [`AttnInputs`] (q, k, v of shape heads × L × head-dim, a
//! [`Mask`], an optional additive bias L × L) in, an array shaped like `q` out. The reference
//! is [`kernels::math`] (f64 accumulation); fast kernels must match it.

pub mod kernels;
pub mod mask;

pub use kernels::{attend, AttnError, AttnInputs, BiasSource, Kernel};
pub use mask::Mask;

pub mod bias;
pub mod breaker;
pub mod cache;
pub mod config;
pub mod dispatch;
pub mod encoding;
pub mod linear;
pub mod model;
pub mod npz;
#[cfg(feature = "torch")]
pub mod torch;

pub use config::AttentionConfig;
pub use model::{EmbedOptions, Embeddings, Model};
