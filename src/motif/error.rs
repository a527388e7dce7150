//! Errors of the motif engine.

/// What went wrong in the motif engine (bad graphs, bad parameters, output failures).
#[derive(Debug, thiserror::Error)]
pub enum MotifError {
    /// An edge names a node outside `0..n`.
    #[error("edge {edge} ({src} -> {dst}) names a node outside 0..{nodes}")]
    NodeOutOfRange {
        /// Position of the edge in the input.
        edge: usize,
        /// Source node.
        src: u32,
        /// Destination node.
        dst: u32,
        /// Number of nodes.
        nodes: usize,
    },
    /// An edge from a node to itself (motifs are defined on graphs without self loops).
    #[error("edge {edge} is a self loop on node {node}")]
    SelfLoop {
        /// Position of the edge in the input.
        edge: usize,
        /// The node.
        node: u32,
    },
    /// Labels given for a graph of another size.
    #[error("{labels} labels given for a graph of {nodes} nodes")]
    LabelCount {
        /// Number of labels.
        labels: usize,
        /// Number of nodes.
        nodes: usize,
    },
    /// A graph too large for the bitset ESU walk ([`super::esu::for_each_subgraph_bitset`]).
    #[error("graph of {nodes} nodes is too large for the bitset walk (at most {max})")]
    TooLargeForBitset {
        /// Number of nodes.
        nodes: usize,
        /// Largest size the bitset walk takes.
        max: usize,
    },
    /// A parameter outside its domain (name, value, why).
    #[error("parameter `{name}` = {value}: {why}")]
    Parameter {
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: String,
        /// What it must be.
        why: &'static str,
    },
    /// Embedding rows of different widths.
    #[error("embedding row {row} has {got} values, row 0 has {expected}")]
    RaggedEmbeddings {
        /// The offending row.
        row: usize,
        /// Its width.
        got: usize,
        /// Width of row 0.
        expected: usize,
    },
    /// A non-finite value in the input (what, where).
    #[error("non-finite value in {what} at {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row or element index.
        index: usize,
    },
    /// Two labelings of different lengths compared.
    #[error("labelings of {left} and {right} sessions cannot be compared")]
    LabelingLength {
        /// Length of the first labeling.
        left: usize,
        /// Length of the second.
        right: usize,
    },
    /// Writing the Parquet motif table failed (path, cause); an earlier table there is kept.
    #[error("{path}: cannot write the motif table: {source}")]
    Write {
        /// Output path.
        path: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The run was cancelled (Ctrl-C) through its [`crate::progress::Progress`].
    #[error(transparent)]
    Interrupted(#[from] crate::progress::Interrupted),
}
