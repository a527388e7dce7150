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
        for (i, &(src, dst)) in edges.iter().enumerate() {
            if src as usize >= n || dst as usize >= n {
                return Err(MotifError::NodeOutOfRange { edge: i, src, dst, nodes: n });
            }
            if src == dst {
                return Err(MotifError::SelfLoop { edge: i, node: src });
            }
        }
        if edges.windows(2).all(|w| w[0] < w[1]) {
            return Ok(Self::from_sorted_edges(n, edges));
        }
        let mut pairs: Vec<(u32, u32, u8)> = edges.iter().flat_map(|&(s, d)| [(s, d, OUT), (d, s, IN)]).collect();
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

    /// The graph of edges sorted by `(src, dst)` without repeats (as a [`crate::dag::Dag`]
    /// lists them), in O(n + edges) without a sort: out-rows and in-rows by counting (both come
    /// out ascending), then merged per node. The same graph as the general path (tested).
    fn from_sorted_edges(n: usize, edges: &[(u32, u32)]) -> Self {
        let (mut out_at, mut in_at) = (vec![0u32; n + 1], vec![0u32; n + 1]);
        for &(s, d) in edges {
            out_at[s as usize + 1] += 1;
            in_at[d as usize + 1] += 1;
        }
        for i in 0..n {
            out_at[i + 1] += out_at[i];
            in_at[i + 1] += in_at[i];
        }
        let (mut out_rows, mut in_rows) = (vec![0u32; edges.len()], vec![0u32; edges.len()]);
        let (mut out_next, mut in_next) = (out_at.clone(), in_at.clone());
        for &(s, d) in edges {
            out_rows[out_next[s as usize] as usize] = d;
            out_next[s as usize] += 1;
            in_rows[in_next[d as usize] as usize] = s;
            in_next[d as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut neighbours = Vec::with_capacity(2 * edges.len());
        offsets.push(0);
        for v in 0..n {
            let outs = &out_rows[out_at[v] as usize..out_at[v + 1] as usize];
            let ins = &in_rows[in_at[v] as usize..in_at[v + 1] as usize];
            let (mut a, mut b) = (0, 0);
            while a < outs.len() || b < ins.len() {
                let (o, i) = (outs.get(a).copied().unwrap_or(u32::MAX), ins.get(b).copied().unwrap_or(u32::MAX));
                match o.cmp(&i) {
                    std::cmp::Ordering::Less => {
                        neighbours.push((o, OUT));
                        a += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        neighbours.push((i, IN));
                        b += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        neighbours.push((o, OUT | IN));
                        a += 1;
                        b += 1;
                    }
                }
            }
            offsets.push(neighbours.len() as u32);
        }
        Self { offsets, neighbours }
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
    fn sorted_and_unsorted_edge_lists_give_the_same_graph() {
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
            // Reversed with a repeat: the general path (sort and merge).
            let mut shuffled: Vec<(u32, u32)> = sorted.iter().rev().copied().collect();
            shuffled.extend(sorted.first().copied());
            let (fast, general) = (MotifGraph::new(n, &sorted).unwrap(), MotifGraph::new(n, &shuffled).unwrap());
            assert_eq!(fast, general, "{n} nodes");
            assert_eq!(fast.edge_count(), sorted.len());
        }
    }
}
