//! The DAG engine: causal edge builder, imported-edge DAGs, topological generations, CSR
//! adjacency and a bridge to `petgraph`.
//!
//! One file per job:
//! - [`causal_pairs_reference`] / [`causal_pairs_fast`] (`pairs.rs`): the original's edge rule,
//!   as an obvious O(n²) loop and as a linear sweep that gives the identical pair list;
//! - [`CausalityTable`] (`causality.rs`): the (kind, kind) → causality data;
//! - [`build_edges`] (`edges.rs`): [`EdgeType::Causal`](crate::session::EdgeType::Causal) edges
//!   with weights and 20 deterministic features;
//! - [`Adjacency`] (`adjacency.rs`): compressed sparse rows, forward and reverse;
//! - [`Generations`] (`generations.rs`): `networkx.topological_generations` semantics;
//! - [`Dag`] (`graph.rs`): a validated acyclic graph over a session's events, from imported or
//!   built edges, with [`DagError`] naming one cycle;
//! - `petgraph_bridge.rs`: [`Dag::to_petgraph`] / [`Dag::from_petgraph`];
//! - [`DagJson`] (`json.rs`): what `ironforge dag --json` prints.
//!
//! ```
//! use ironforge::dag::{BuildParams, Dag};
//! use ironforge::synth::{generate, SessionSpec};
//!
//! let session = generate(&SessionSpec::new("doc", 1, 50));
//! let imported = Dag::from_session(&session)?; // the session's own edges
//! let built = Dag::built(&session, &BuildParams::default())?; // the causal edge builder
//! assert_eq!(imported.len(), 50);
//! assert!(built.generations().len() >= 1);
//! # Ok::<(), ironforge::dag::DagError>(())
//! ```

mod adjacency;
mod causality;
mod edges;
mod error;
mod generations;
mod graph;
mod json;
mod pairs;
mod petgraph_bridge;

pub use adjacency::Adjacency;
pub use causality::{CausalityEntry, CausalityTable};
pub use edges::{build_edges, build_edges_with, price_proximity, EdgeWeighting, EDGE_FEATURE_NAMES};
pub use error::DagError;
pub use generations::{topological_generations, Generations};
pub use graph::Dag;
pub use json::{dag_json, DagJson, EdgeSource};
pub use pairs::{causal_pairs, causal_pairs_fast, causal_pairs_reference, session_causal_pairs, Builder};

/// Parameters of the causal edge builder (the original's rule).
///
/// ```
/// let p = ironforge::dag::BuildParams::default();
/// assert_eq!((p.k, p.dt_min_ms, p.dt_max_ms), (4, 60_000, 7_200_000));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BuildParams {
    /// Edges per event at most (`k`, default 4).
    pub k: usize,
    /// Smallest gap in milliseconds (default 1 minute).
    pub dt_min_ms: i64,
    /// Largest gap in milliseconds (default 120 minutes).
    pub dt_max_ms: i64,
}

impl Default for BuildParams {
    fn default() -> Self {
        Self { k: 4, dt_min_ms: 60_000, dt_max_ms: 120 * 60_000 }
    }
}

impl BuildParams {
    /// Checks that the window is not inverted (`dt_min_ms <= dt_max_ms`): an inverted window
    /// admits no pair, which is always a mistake rather than a request for no edges. Every
    /// other value is well defined: `k = 0` gives no edges, any `k` beyond the session's size
    /// takes every event in the window, a negative `dt_min_ms` acts as 0 (times are sorted), and
    /// gaps between extreme timestamps saturate instead of overflowing.
    /// [`Dag::built`](crate::dag::Dag::built) checks this first; the `ironforge dag` flags
    /// are narrower still (`--k` 1..=65,536, windows 0..=525,600 minutes).
    ///
    /// ```
    /// use ironforge::dag::BuildParams;
    /// assert!(BuildParams::default().validate().is_ok());
    /// let inverted = BuildParams { k: 4, dt_min_ms: 6_000_000, dt_max_ms: 600_000 };
    /// assert!(inverted.validate().unwrap_err().to_string().contains("dt_min_ms"));
    /// ```
    pub fn validate(&self) -> Result<(), DagError> {
        if self.dt_min_ms > self.dt_max_ms {
            return Err(DagError::BadParameter {
                name: "dt_min_ms",
                value: format!("{} (dt_max_ms = {})", self.dt_min_ms, self.dt_max_ms),
                why: "must not exceed dt_max_ms (the window would admit no pair)",
            });
        }
        Ok(())
    }
}
