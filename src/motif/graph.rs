//! The directed graph the census walks: deduplicated neighbour lists with edge directions.

use super::error::MotifError;
use crate::dag::{topological_generations, Adjacency};

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
    /// No directed cycle (then no subgraph has one, and the census scans only acyclic classes).
    acyclic: bool,
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
        for (i, &(src, dst)) in edges.iter().enumerate() {
            if src as usize >= n || dst as usize >= n {
                return Err(MotifError::NodeOutOfRange { edge: i, src, dst, nodes: n });
            }
            if src == dst {
                return Err(MotifError::SelfLoop { edge: i, node: src });
            }
        }
        let out = Adjacency::from_edges(n, edges);
        Ok(Self::from_adjacency(&out, &out.transposed()))
    }

    /// The graph of a DAG's out-rows and in-rows (for instance [`crate::dag::Dag::forward`]
    /// and [`crate::dag::Dag::reverse`], which the pipeline has already built): each node's
    /// two ascending rows merged, a neighbour met twice (both directions, or a repeated edge)
    /// kept once. `inn` must be the transpose of `out`; the DAG has no self loops.
    ///
    /// # Panics
    /// When the two have different numbers of nodes.
    pub fn from_adjacency(out: &Adjacency, inn: &Adjacency) -> Self {
        assert_eq!(out.nodes(), inn.nodes(), "out- and in-rows of different graphs");
        let mut offsets = Vec::with_capacity(out.nodes() + 1);
        let mut neighbours: Vec<(u32, u8)> = Vec::with_capacity(out.edge_count() + inn.edge_count());
        offsets.push(0);
        // Every edge from a lower to a higher node (a DAG numbered in time order): acyclic
        // without further work; otherwise the DAG engine's Kahn's algorithm decides.
        let mut ascending = true;
        for v in 0..out.nodes() as u32 {
            let row_start = neighbours.len();
            let (outs, ins) = (out.neighbors(v), inn.neighbors(v));
            let (mut a, mut b) = (0, 0);
            while a < outs.len() || b < ins.len() {
                let (u, dir) = if b == ins.len() || (a < outs.len() && outs[a] <= ins[b]) {
                    a += 1;
                    ascending &= outs[a - 1] > v;
                    (outs[a - 1], OUT)
                } else {
                    b += 1;
                    (ins[b - 1], IN)
                };
                match neighbours[row_start..].last_mut() {
                    Some(last) if last.0 == u => last.1 |= dir,
                    _ => neighbours.push((u, dir)),
                }
            }
            offsets.push(neighbours.len() as u32);
        }
        let acyclic = ascending || {
            let ids: Vec<u32> = (0..out.nodes() as u32).collect();
            topological_generations(out, &ids).is_ok()
        };
        Self { offsets, neighbours, acyclic }
    }

    /// Whether the graph has no directed cycle.
    ///
    /// ```
    /// use ironforge::motif::MotifGraph;
    /// assert!(MotifGraph::new(3, &[(2, 0), (0, 1), (2, 1)])?.is_acyclic());
    /// assert!(!MotifGraph::new(3, &[(0, 1), (1, 2), (2, 0)])?.is_acyclic());
    /// # Ok::<(), ironforge::motif::MotifError>(())
    /// ```
    pub fn is_acyclic(&self) -> bool {
        self.acyclic
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn edge_order_and_repeats_do_not_change_the_graph() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for n in [1usize, 2, 7, 40, 130] {
            let mut edges: Vec<(u32, u32)> = (0..n * 3)
                .map(|_| (rng.random_range(0..n as u32), rng.random_range(0..n as u32)))
                .filter(|(a, b)| a != b)
                .collect();
            edges.extend((0..n as u32 - 1).flat_map(|v| [(v, v + 1), (v + 1, v)])); // mutual pairs
            let mut sorted = edges.clone();
            sorted.sort_unstable();
            sorted.dedup();
            // Reversed, with a repeated edge.
            let mut shuffled: Vec<(u32, u32)> = sorted.iter().rev().copied().collect();
            shuffled.extend(sorted.first().copied());
            let (fast, general) = (MotifGraph::new(n, &sorted).unwrap(), MotifGraph::new(n, &shuffled).unwrap());
            assert_eq!(fast, general, "{n} nodes");
            assert_eq!(fast.is_acyclic(), n == 1, "{n} nodes (mutual pairs from 2 on)");
            assert_eq!(fast.edge_count(), sorted.len());
            let adj = Adjacency::from_edges(n, &shuffled);
            assert_eq!(MotifGraph::from_adjacency(&adj, &adj.transposed()), fast, "{n} nodes, from rows");
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    assert_eq!(fast.has_edge(a, b), sorted.binary_search(&(a, b)).is_ok(), "{n} nodes: {a} → {b}");
                }
            }
        }
    }

    /// Acyclicity: ascending edges, a DAG numbered out of order (Kahn's path), and one
    /// back edge closing a long cycle.
    #[test]
    fn acyclic_is_decided_for_any_numbering() {
        let n = 30u32;
        let chain: Vec<(u32, u32)> = (0..n - 1).flat_map(|v| [(v, v + 1), (v, (v + 3).min(n - 1))]).collect();
        let chain: Vec<_> = chain.into_iter().filter(|(a, b)| a != b).collect();
        assert!(MotifGraph::new(n as usize, &chain).unwrap().is_acyclic());
        let relabel = |v: u32| (v * 7) % n; // 7 is coprime to 30: a permutation
        let shuffled: Vec<_> = chain.iter().map(|&(a, b)| (relabel(a), relabel(b))).collect();
        assert!(shuffled.iter().any(|(a, b)| a > b), "the relabelling has descending edges");
        assert!(MotifGraph::new(n as usize, &shuffled).unwrap().is_acyclic());
        let mut cyclic = shuffled.clone();
        cyclic.push((relabel(n - 1), relabel(0)));
        assert!(!MotifGraph::new(n as usize, &cyclic).unwrap().is_acyclic());
        assert!(MotifGraph::new(0, &[]).unwrap().is_acyclic());
    }
}
