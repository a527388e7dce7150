//! The motif engine: census of 3–5 node motifs, null model and lift, bootstrap, stability,
//! regimes, and the motif table.
//!
//! - [`canon`]: canonical ids of small directed graphs and their lookup tables.
//! - [`graph`]: the deduplicated directed graph the census walks.
//! - [`esu`]: ESU enumeration of weakly connected induced subgraphs.
//! - [`census`](mod@census): counts per motif ([`census()`], labelled or not); [`brute`] is its twin.
//! - [`null`]: jitter null model; [`lift`]: lift, z, p, classes; [`stats`]: erfc and Φ;
//!   [`bootstrap`]: lift intervals by resampling sessions; [`analysis`]: the whole pipeline.
//! - [`stability`]: top-10 |Δlift| between seeds and thread counts.
//! - [`kmeans`], [`hungarian`], [`regime`]: regimes and regime variance.
//! - [`table`]: the Parquet motif table; [`report`]: the CLI's JSON.
//!
//! ```
//! use ironforge::motif::{census, MotifGraph};
//! // A diamond 0→1→3, 0→2→3: four 3-node paths/stars and one 4-node motif.
//! let g = MotifGraph::new(4, &[(0, 1), (0, 2), (1, 3), (2, 3)])?;
//! let c = census(&g, 5);
//! assert_eq!((c.instances_of_size(3), c.instances_of_size(4)), (4, 1));
//! # Ok::<(), ironforge::motif::MotifError>(())
//! ```

pub mod analysis;
pub mod bootstrap;
pub mod brute;
pub mod canon;
pub mod census;
mod drift;
pub mod error;
pub mod esu;
pub mod graph;
pub mod hungarian;
pub mod kmeans;
pub mod lift;
pub mod null;
pub mod regime;
pub mod report;
pub mod stability;
pub mod stats;
pub mod table;

pub use analysis::{analyse, analyse_with, EdgeSource, MotifAnalysis, MotifConfig, SessionGraph};
pub use census::{census, census_labelled, Census, CensusCounter, MotifId};
pub use error::MotifError;
pub use graph::MotifGraph;
