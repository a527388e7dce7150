//! Why a DAG could not be built.

/// Why a DAG could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DagError {
    /// The edges contain a directed cycle; `node_ids` lists one cycle in edge order
    /// (`node_ids[0] → node_ids[1] → … → node_ids[0]`). A self-loop is a cycle of one node.
    #[error("session {session_id:?}: {}", cycle_text(node_ids))]
    Cycle {
        /// Session (or graph) whose edges are cyclic.
        session_id: String,
        /// Node ids of one cycle, in edge order.
        node_ids: Vec<u32>,
    },
    /// An edge names a local index outside the node list.
    #[error("session {session_id:?}: edge #{edge} names local index {index}, but there are {nodes} nodes")]
    EdgeOutOfRange {
        /// Session (or graph) of the edge.
        session_id: String,
        /// Position of the edge in the input.
        edge: usize,
        /// The bad index.
        index: u32,
        /// Number of nodes.
        nodes: usize,
    },
    /// Two nodes share a node id.
    #[error("session {session_id:?}: node id {node_id} appears more than once")]
    DuplicateNodeId {
        /// Session (or graph) with the repeated id.
        session_id: String,
        /// The repeated id.
        node_id: u32,
    },
    /// A causality table is malformed or holds a value outside `[0, 1]`.
    #[error("causality table: {reason}")]
    BadCausalityTable {
        /// What is wrong.
        reason: String,
    },
    /// Builder parameters that make no sense (`dt_max_ms <= 0`, price scale not positive).
    #[error("edge builder parameter {name} = {value} is invalid: {why}")]
    BadParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value, printed.
        value: String,
        /// What it must be.
        why: &'static str,
    },
}

/// `edges form a cycle through node ids [3, 7]` (in edge order), or the self-loop of one node.
fn cycle_text(node_ids: &[u32]) -> String {
    match node_ids {
        [v] => format!("node id {v} has an edge to itself (a self-loop; a DAG has none)"),
        _ => format!("edges form a cycle through node ids {node_ids:?}"),
    }
}
