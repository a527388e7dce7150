//! The directed graph the census walks: deduplicated neighbour lists with edge directions.

use super::error::MotifError;

/// Direction bit: the edge goes from the list's owner to the neighbour.
pub const OUT: u8 = 1;
/// Direction bit: the edge goes from the neighbour to the list's owner.
pub const IN: u8 = 2;

/// A simple directed graph on `0..n` in CSR form: for each node, its neighbours in either
/// direction (ascending, each once) with [`OUT`] / [`IN`] bits. Parallel edges collapse (an
/// induced subgraph has at most one edge per ordered pair); self loops are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotifGraph {
    offsets: Vec<u32>,
    neighbours: Vec<(u32, u8)>,
}

impl MotifGraph {
    /// Builds the graph of `n` nodes from directed edges `(src, dst)`.
    ///
    /// ```
    /// use ironforge::motif::MotifGraph;
    /// let g = MotifGraph::new(3, &[(0, 1), (1, 2), (0, 1)])?;
    /// assert_eq!(g.edge_count(), 2);
    /// assert!(MotifGraph::new(2, &[(1, 1)]).is_err());
    /// # Ok::<(), ironforge::motif::MotifError>(())
    /// ```
    pub fn new(n: usize, edges: &[(u32, u32)]) -> Result<Self, MotifError> {
        let mut pairs: Vec<(u32, u32, u8)> = Vec::with_capacity(edges.len() * 2);
        for (i, &(src, dst)) in edges.iter().enumerate() {
            if src as usize >= n || dst as usize >= n {
                return Err(MotifError::NodeOutOfRange { edge: i, src, dst, nodes: n });
            }
            if src == dst {
                return Err(MotifError::SelfLoop { edge: i, node: src });
            }
            pairs.push((src, dst, OUT));
            pairs.push((dst, src, IN));
        }
        pairs.sort_unstable();
        let mut offsets = vec![0u32; n + 1];
        let mut neighbours: Vec<(u32, u8)> = Vec::with_capacity(pairs.len());
        let mut last: Option<(u32, u32)> = None;
        for (a, b, d) in pairs {
            if last == Some((a, b)) {
                neighbours.last_mut().expect("a previous pair exists").1 |= d;
                continue;
            }
            last = Some((a, b));
            neighbours.push((b, d));
            offsets[a as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        Ok(Self { offsets, neighbours })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct directed edges.
    pub fn edge_count(&self) -> usize {
        self.neighbours.iter().filter(|(_, d)| d & OUT != 0).count()
    }

    /// Neighbours of `v` in either direction with their direction bits.
    #[inline]
    pub fn neighbours(&self, v: u32) -> &[(u32, u8)] {
        &self.neighbours[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }

    /// Whether the edge `a → b` exists.
    pub fn has_edge(&self, a: u32, b: u32) -> bool {
        let nb = self.neighbours(a);
        nb.binary_search_by_key(&b, |&(u, _)| u).map(|i| nb[i].1 & OUT != 0).unwrap_or(false)
    }
}
