//! Topological generations with `networkx.topological_generations` semantics.

use super::{Adjacency, DagError};

/// Topological generations, stored flat: generation `g` is `order[offsets[g]..offsets[g + 1]]`
/// (local indices, unless [`Generations::map_nodes`] replaced them). Generation 0 holds the nodes without predecessors; generation `g + 1` the
/// nodes whose predecessors all lie in generations `0..=g`, i.e. each node sits at the length
/// of the longest path that reaches it. Within a generation nodes are ordered by ascending
/// node id.
///
/// ```
/// use ironforge::dag::{topological_generations, Adjacency};
/// // 0 → 2, 1 → 2, 2 → 3, with node ids 30, 10, 20, 40.
/// let fwd = Adjacency::from_edges(4, &[(0, 2), (1, 2), (2, 3)]);
/// let g = topological_generations(&fwd, &[30, 10, 20, 40])?;
/// assert_eq!(g.to_vecs(), vec![vec![1, 0], vec![2], vec![3]]); // node ids 10 before 30
/// assert_eq!(g.generation_of(), vec![0, 0, 1, 2]);
/// # Ok::<(), ironforge::dag::DagError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generations {
    order: Vec<u32>,
    offsets: Vec<u32>,
}

impl Generations {
    /// Number of generations.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no generations (a graph with no nodes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Local indices of generation `g`.
    pub fn get(&self, g: usize) -> &[u32] {
        &self.order[self.offsets[g] as usize..self.offsets[g + 1] as usize]
    }

    /// The generations in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        (0..self.len()).map(move |g| self.get(g))
    }

    /// All nodes, generation after generation: a topological order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Replaces every node `v` by `f(v)` in place (e.g. local indices by node ids), keeping
    /// the generations' shape. Afterwards the entries are whatever `f` made them:
    /// [`Generations::generation_of`], which indexes by local index, no longer applies.
    ///
    /// ```
    /// use ironforge::dag::{topological_generations, Adjacency};
    /// let mut g = topological_generations(&Adjacency::from_edges(2, &[(0, 1)]), &[7, 9])?;
    /// g.map_nodes(|v| [7, 9][v as usize]);
    /// assert_eq!(g.to_vecs(), vec![vec![7], vec![9]]);
    /// # Ok::<(), ironforge::dag::DagError>(())
    /// ```
    pub fn map_nodes(&mut self, mut f: impl FnMut(u32) -> u32) {
        self.order.iter_mut().for_each(|v| *v = f(*v));
    }

    /// Generation of every node, by local index (the entries must be the local indices
    /// `0..n`, as [`topological_generations`] gives them).
    pub fn generation_of(&self) -> Vec<u32> {
        let mut out = vec![0u32; self.order.len()];
        for (g, nodes) in self.iter().enumerate() {
            for &v in nodes {
                out[v as usize] = g as u32;
            }
        }
        out
    }

    /// The generations as owned vectors of local indices.
    pub fn to_vecs(&self) -> Vec<Vec<u32>> {
        self.iter().map(<[u32]>::to_vec).collect()
    }
}

/// Topological generations of the graph `forward` whose node `i` has id `node_ids[i]`
/// (Kahn's algorithm, one generation at a time, O(n log n + m)). Parallel edges are allowed.
/// A cycle is [`DagError::Cycle`] naming the node ids of one cycle (with an empty
/// `session_id`; [`super::Dag`] fills it in).
pub fn topological_generations(forward: &Adjacency, node_ids: &[u32]) -> Result<Generations, DagError> {
    let n = forward.nodes();
    debug_assert_eq!(n, node_ids.len());
    let mut indegree = vec![0u32; n];
    for &d in forward.targets() {
        indegree[d as usize] += 1;
    }
    let mut order: Vec<u32> = Vec::with_capacity(n);
    order.extend((0..n as u32).filter(|&v| indegree[v as usize] == 0));
    order.sort_unstable_by_key(|&v| node_ids[v as usize]);
    let mut offsets = vec![0u32];
    let mut start = 0;
    while start < order.len() {
        let end = order.len();
        offsets.push(end as u32);
        for at in start..end {
            for &d in forward.neighbors(order[at]) {
                let deg = &mut indegree[d as usize];
                *deg -= 1;
                if *deg == 0 {
                    order.push(d);
                }
            }
        }
        order[end..].sort_unstable_by_key(|&v| node_ids[v as usize]);
        start = end;
    }
    if order.len() < n {
        return Err(DagError::Cycle { session_id: String::new(), node_ids: one_cycle(forward, &indegree, node_ids) });
    }
    Ok(Generations { order, offsets })
}

/// One cycle among the nodes Kahn's algorithm could not remove (`indegree > 0`): each of them
/// has such a predecessor, so walking predecessors must revisit a node.
fn one_cycle(forward: &Adjacency, indegree: &[u32], node_ids: &[u32]) -> Vec<u32> {
    let reverse = forward.transposed();
    let stuck = |v: u32| indegree[v as usize] > 0;
    let Some(start) = (0..forward.nodes() as u32).find(|&v| stuck(v)) else {
        return Vec::new();
    };
    let mut position = vec![u32::MAX; forward.nodes()];
    let mut path = Vec::new();
    let mut v = start;
    while position[v as usize] == u32::MAX {
        position[v as usize] = path.len() as u32;
        path.push(v);
        v = match reverse.neighbors(v).iter().copied().find(|&p| stuck(p)) {
            Some(p) => p,
            None => return Vec::new(), // unreachable for a consistent indegree array
        };
    }
    // path[i + 1] → path[i]; the cycle is path[position[v]..], reversed into edge order.
    let mut cycle: Vec<u32> =
        path[position[v as usize] as usize..].iter().rev().map(|&x| node_ids[x as usize]).collect();
    let smallest = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
    cycle.rotate_left(smallest);
    cycle
}
