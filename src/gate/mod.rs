//! The release-gate framework (being written). It knows nothing of the engines.

pub mod audit;
pub mod record;
