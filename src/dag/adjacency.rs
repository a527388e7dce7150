//! Compressed sparse rows over local indices.

/// Adjacency in compressed sparse rows: the neighbours of node `i` are
/// `targets[offsets[i]..offsets[i + 1]]`, ascending.
///
/// ```
/// use ironforge::dag::Adjacency;
/// let fwd = Adjacency::from_edges(3, &[(0, 2), (0, 1), (1, 2)]);
/// assert_eq!(fwd.neighbors(0), &[1, 2]);
/// assert_eq!(fwd.transposed().neighbors(2), &[0, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// Builds rows from `(src, dst)` pairs by counting sort; every index must be `< nodes`
    /// (checked by the caller, [`super::Dag`]). Rows are sorted; parallel pairs are kept.
    pub fn from_edges(nodes: usize, edges: &[(u32, u32)]) -> Self {
        let mut offsets = vec![0u32; nodes + 1];
        for &(s, _) in edges {
            offsets[s as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        let mut targets = vec![0u32; edges.len()];
        for &(s, d) in edges {
            let c = &mut cursor[s as usize];
            targets[*c as usize] = d;
            *c += 1;
        }
        for i in 0..nodes {
            let row = &mut targets[offsets[i] as usize..offsets[i + 1] as usize];
            if !row.is_sorted() {
                row.sort_unstable();
            }
        }
        Self { offsets, targets }
    }

    /// The reverse graph (every `(s, d)` becomes `(d, s)`), rows sorted: a counting sort over
    /// the targets; sources are visited in ascending order, so every row comes out sorted.
    pub fn transposed(&self) -> Self {
        let nodes = self.nodes();
        let mut offsets = vec![0u32; nodes + 1];
        for &d in &self.targets {
            offsets[d as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        let mut targets = vec![0u32; self.targets.len()];
        for (s, d) in self.edges() {
            let c = &mut cursor[d as usize];
            targets[*c as usize] = s;
            *c += 1;
        }
        Self { offsets, targets }
    }

    /// Number of nodes (rows).
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of stored pairs.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// Neighbours of `node`, ascending.
    pub fn neighbors(&self, node: u32) -> &[u32] {
        &self.targets[self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize]
    }

    /// Out-degree of `node`.
    pub fn degree(&self, node: u32) -> usize {
        self.neighbors(node).len()
    }

    /// Row offsets (`nodes + 1` entries, starting at 0).
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Column indices, row after row.
    pub fn targets(&self) -> &[u32] {
        &self.targets
    }

    /// All pairs, row-major (sorted by source, then target).
    pub fn edges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.nodes() as u32).flat_map(move |s| self.neighbors(s).iter().map(move |&d| (s, d)))
    }
}
