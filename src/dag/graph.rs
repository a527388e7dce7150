//! [`Dag`]: a validated acyclic graph over a session's events.

use super::{causal_pairs, topological_generations, Adjacency, BuildParams, Builder, DagError, Generations};
use crate::session::Session;

/// A directed acyclic graph over local indices `0..n` with node ids, forward and reverse
/// [`Adjacency`] and [`Generations`]. It is a simple graph: parallel edges (e.g. a
/// `temporal_next` and a `movement_transition` edge between the same two events) collapse
/// into one, and [`Dag::local_edges`] is sorted by (source, destination).
///
/// ```
/// use ironforge::dag::{Dag, DagError};
/// let dag = Dag::from_local_edges("g", vec![10, 11, 12], &[(0, 1), (1, 2), (0, 1)])?;
/// assert_eq!(dag.local_edges(), &[(0, 1), (1, 2)]);
/// assert_eq!(dag.reverse().neighbors(2), &[1]);
/// let cyclic = Dag::from_local_edges("g", vec![10, 11, 12], &[(0, 1), (1, 2), (2, 1)]);
/// assert!(matches!(cyclic, Err(DagError::Cycle { node_ids, .. }) if node_ids == vec![11, 12]));
/// # Ok::<(), DagError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    session_id: String,
    node_ids: Vec<u32>,
    edges: Vec<(u32, u32)>,
    forward: Adjacency,
    reverse: Adjacency,
    generations: Generations,
}

impl Dag {
    /// Builds a DAG from `(src, dst)` local-index pairs over nodes with ids `node_ids`.
    /// Errors: [`DagError::DuplicateNodeId`], [`DagError::EdgeOutOfRange`],
    /// [`DagError::Cycle`] (a self-loop is a cycle of one node).
    pub fn from_local_edges(
        session_id: impl Into<String>,
        node_ids: Vec<u32>,
        edges: &[(u32, u32)],
    ) -> Result<Self, DagError> {
        let session_id = session_id.into();
        let n = node_ids.len();
        let mut sorted_ids = node_ids.clone();
        sorted_ids.sort_unstable();
        if let Some(w) = sorted_ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(DagError::DuplicateNodeId { session_id, node_id: w[0] });
        }
        for (k, &(s, d)) in edges.iter().enumerate() {
            if let Some(index) = [s, d].into_iter().find(|&x| x as usize >= n) {
                return Err(DagError::EdgeOutOfRange { session_id, edge: k, index, nodes: n });
            }
            if s == d {
                return Err(DagError::Cycle { session_id, node_ids: vec![node_ids[s as usize]] });
            }
        }
        let mut forward = Adjacency::from_edges(n, edges);
        let mut simple = Vec::with_capacity(forward.edge_count());
        simple.extend(forward.edges());
        simple.dedup();
        if simple.len() != edges.len() {
            forward = Adjacency::from_edges(n, &simple);
        }
        let generations = topological_generations(&forward, &node_ids).map_err(|e| match e {
            DagError::Cycle { node_ids, .. } => DagError::Cycle { session_id: session_id.clone(), node_ids },
            other => other,
        })?;
        let reverse = forward.transposed();
        Ok(Self { session_id, node_ids, edges: simple, forward, reverse, generations })
    }

    /// The DAG of a session's own (imported) edges.
    ///
    /// ```
    /// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("d", 2, 30));
    /// let dag = ironforge::dag::Dag::from_session(&s)?;
    /// assert_eq!(dag.generations().len(), 30); // a temporal_next chain
    /// # Ok::<(), ironforge::dag::DagError>(())
    /// ```
    pub fn from_session(session: &Session) -> Result<Self, DagError> {
        Self::from_local_edges(session.id(), node_ids_of(session), &session.local_edges())
    }

    /// The DAG of the causal edge builder (fast) over a session's events.
    pub fn built(session: &Session, params: &BuildParams) -> Result<Self, DagError> {
        Self::built_with(session, params, Builder::Fast)
    }

    /// The DAG of the causal edge builder with the chosen implementation; parameters that
    /// [`BuildParams::validate`] refuses are an error.
    pub fn built_with(session: &Session, params: &BuildParams, builder: Builder) -> Result<Self, DagError> {
        params.validate()?;
        let pairs = causal_pairs(&session.times_ms(), params, builder);
        Self::from_local_edges(session.id(), node_ids_of(session), &pairs)
    }

    /// Session id (or the graph name given).
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.node_ids.len()
    }

    /// True for a graph without nodes.
    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty()
    }

    /// Node id of every local index.
    pub fn node_ids(&self) -> &[u32] {
        &self.node_ids
    }

    /// Distinct edges as `(src, dst)` local indices, sorted (what the attention mask and the
    /// motif census read).
    pub fn local_edges(&self) -> &[(u32, u32)] {
        &self.edges
    }

    /// Distinct edges as `(src, dst)` node ids, in [`Dag::local_edges`] order.
    pub fn node_id_edges(&self) -> Vec<(u32, u32)> {
        self.edges.iter().map(|&(s, d)| (self.node_ids[s as usize], self.node_ids[d as usize])).collect()
    }

    /// Successors of each node.
    pub fn forward(&self) -> &Adjacency {
        &self.forward
    }

    /// Predecessors of each node.
    pub fn reverse(&self) -> &Adjacency {
        &self.reverse
    }

    /// Topological generations (local indices).
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// Topological generations as node ids.
    pub fn generation_node_ids(&self) -> Vec<Vec<u32>> {
        self.generations.iter().map(|g| g.iter().map(|&v| self.node_ids[v as usize]).collect()).collect()
    }

    /// Topological generations as node ids, flat, taking the DAG apart: the local indices are
    /// replaced in place, so nothing is allocated (the pipeline's output; one list per
    /// generation was 13 of a real session's 69 allocations).
    ///
    /// ```
    /// use ironforge::dag::Dag;
    /// let dag = Dag::from_local_edges("s", vec![30, 10, 20], &[(0, 2), (1, 2)])?;
    /// let expected = dag.generation_node_ids();
    /// assert_eq!(dag.into_generation_node_ids().to_vecs(), expected); // [[10, 30], [20]]
    /// # Ok::<(), ironforge::dag::DagError>(())
    /// ```
    pub fn into_generation_node_ids(self) -> Generations {
        let mut generations = self.generations;
        generations.map_nodes(|v| self.node_ids[v as usize]);
        generations
    }
}

fn node_ids_of(session: &Session) -> Vec<u32> {
    session.events().iter().map(|e| e.node_id).collect()
}
