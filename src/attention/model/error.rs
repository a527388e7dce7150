//! Why embedding failed.

use crate::attention::bias::BiasError;
use crate::attention::breaker::BreakerError;
use crate::attention::npz::NpzError;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An edge names an event the session does not have.
    #[error("session {session}: edge {edge} ({src} → {dst}) is outside the {len} events")]
    EdgeOutOfRange {
        /// Session id.
        session: String,
        /// Edge position.
        edge: usize,
        /// Source local index.
        src: u32,
        /// Destination local index.
        dst: u32,
        /// Number of events.
        len: usize,
    },
    /// Attention failed.
    #[error("session {session}, layer {layer}: attention failed")]
    Attention {
        /// Session id.
        session: String,
        /// Layer.
        layer: usize,
        /// Why.
        source: BreakerError,
    },
    /// Weights could not be read or written.
    #[error(transparent)]
    Weights(#[from] NpzError),
    /// A dense time bias was asked for ([`BiasPath::Dense`](super::BiasPath::Dense)) beyond its size limit.
    #[error("session {session}: the time bias cannot be built")]
    Bias {
        /// Session id.
        session: String,
        /// The size and the limit.
        source: BiasError,
    },
}
