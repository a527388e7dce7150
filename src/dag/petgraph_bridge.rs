//! Conversion between [`Dag`] and `petgraph::graph::DiGraph`.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::{Dag, DagError};

impl Dag {
    /// A `DiGraph` whose node `NodeIndex(i)` is local index `i` with weight = node id, and one
    /// edge per [`Dag::local_edges`] entry, in that order.
    ///
    /// ```
    /// use ironforge::dag::Dag;
    /// let dag = Dag::from_local_edges("g", vec![7, 8, 9], &[(0, 2), (1, 2)])?;
    /// let g = dag.to_petgraph();
    /// assert_eq!((g.node_count(), g.edge_count()), (3, 2));
    /// assert_eq!(Dag::from_petgraph("g", &g)?, dag);
    /// # Ok::<(), ironforge::dag::DagError>(())
    /// ```
    pub fn to_petgraph(&self) -> DiGraph<u32, ()> {
        let mut g = DiGraph::with_capacity(self.len(), self.local_edges().len());
        for &id in self.node_ids() {
            g.add_node(id);
        }
        for &(s, d) in self.local_edges() {
            g.add_edge(NodeIndex::new(s as usize), NodeIndex::new(d as usize), ());
        }
        g
    }

    /// A DAG from a `DiGraph` whose node weights are node ids (edge weights are ignored);
    /// fails like [`Dag::from_local_edges`].
    pub fn from_petgraph<E>(session_id: impl Into<String>, graph: &DiGraph<u32, E>) -> Result<Self, DagError> {
        let node_ids: Vec<u32> = graph.node_indices().map(|i| graph[i]).collect();
        let edges: Vec<(u32, u32)> =
            graph.edge_references().map(|e| (e.source().index() as u32, e.target().index() as u32)).collect();
        Self::from_local_edges(session_id, node_ids, &edges)
    }
}
