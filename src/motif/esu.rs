//! ESU enumeration (Wernicke 2006, as in FANMOD) of weakly connected induced subgraphs.
//!
//! Every connected node set of size `3..=max_k` is visited exactly once: at the node of the
//! ESU tree rooted at its smallest node. The adjacency pattern (see [`super::canon`]) grows with
//! the subgraph, one step per added node.
//!
//! Two walks enumerate the same sets:
//! - the *bitset walk* ([`for_each_subgraph_bitset`], graphs of at most [`BITSET_MAX_NODES`]
//!   nodes): per node, its undirected, out- and in-neighbours as bit masks of `W` 64-bit words
//!   (`W` = 1, 2, 4 or 8, the smallest that holds the graph). The state of the ESU tree is the
//!   subgraph's nodes, its closed neighbourhood mask and its extension mask, so adding a node is
//!   a few word operations and its pattern bits are read from the masks of the ≤ 4 nodes
//!   already in the subgraph — no neighbour-list scans, no marks to undo, no allocation.
//! - the *list walk* ([`for_each_subgraph_walk`], any size): neighbour-list scans with
//!   per-node marks; the twin the bitset walk is tested against, and the path for larger graphs.
//!
//! [`for_each_subgraph`] picks the bitset walk when the graph fits, the list walk otherwise.
//! On the 40 real NQ M5 sessions (causal DAG, ~11,000 instances per session) the bitset walk
//! plus the dense census counter classify about 6× more instances per second than the list
//! walk did (see docs/motif.md for the measured figures).

use super::canon::{bit_index, pattern_bits, MAX_K, MIN_K};
use super::error::MotifError;
use super::graph::{MotifGraph, IN, OUT};

/// Largest graph (in nodes) the bitset walk takes: 8 words of 64 bits per mask.
pub const BITSET_MAX_NODES: usize = 512;

/// Calls `visit(size, pattern, nodes)` once for every weakly connected induced subgraph of
/// `MIN_K..=max_k` nodes; `nodes` lists its nodes in the positions of `pattern`. Uses the
/// bitset walk for graphs of at most [`BITSET_MAX_NODES`] nodes, the list walk otherwise; the
/// visit order is unspecified.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph(&g, 4, |_, _, _| seen += 1);
/// assert_eq!(seen, 3); // {0,1,2}, {1,2,3}, {0,1,2,3}
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn for_each_subgraph<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, visit: F) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() <= BITSET_MAX_NODES {
        bitset_dispatch(graph, max_k, visit);
    } else {
        for_each_subgraph_walk(graph, max_k, visit);
    }
}

/// The bitset walk alone: same visits as [`for_each_subgraph_walk`] (in another order), for
/// graphs of at most [`BITSET_MAX_NODES`] nodes.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph_bitset, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph_bitset(&g, 4, |_, _, _| seen += 1)?;
/// assert_eq!(seen, 3);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
///
/// # Errors
/// [`MotifError::TooLargeForBitset`] when the graph has more than [`BITSET_MAX_NODES`] nodes.
pub fn for_each_subgraph_bitset<F: FnMut(usize, u32, &[u32])>(
    graph: &MotifGraph,
    max_k: usize,
    visit: F,
) -> Result<(), MotifError> {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    if graph.len() > BITSET_MAX_NODES {
        return Err(MotifError::TooLargeForBitset { nodes: graph.len(), max: BITSET_MAX_NODES });
    }
    bitset_dispatch(graph, max_k, visit);
    Ok(())
}

/// Runs the bitset walk with the smallest word count that holds the graph (≤ 512 nodes).
fn bitset_dispatch<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, visit: F) {
    match graph.len().div_ceil(64) {
        0 | 1 => BitsetWalk::<1, F>::run(graph, max_k, visit),
        2 => BitsetWalk::<2, F>::run(graph, max_k, visit),
        3 | 4 => BitsetWalk::<4, F>::run(graph, max_k, visit),
        _ => BitsetWalk::<8, F>::run(graph, max_k, visit),
    }
}

/// A node set as `W` words of 64 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Bits<const W: usize>([u64; W]);

impl<const W: usize> Bits<W> {
    const EMPTY: Self = Self([0; W]);

    #[inline(always)]
    fn single(v: u32) -> Self {
        let mut b = Self::EMPTY;
        b.0[v as usize / 64] = 1 << (v % 64);
        b
    }

    /// Nodes strictly above `v`.
    #[inline(always)]
    fn above(v: u32) -> Self {
        let mut b = Self::EMPTY;
        let (word, bit) = (v as usize / 64, v % 64);
        for (i, w) in b.0.iter_mut().enumerate() {
            *w = match i.cmp(&word) {
                std::cmp::Ordering::Less => 0,
                std::cmp::Ordering::Equal => (!0u64).checked_shl(bit + 1).unwrap_or(0),
                std::cmp::Ordering::Greater => !0,
            };
        }
        b
    }

    #[inline(always)]
    fn contains(&self, v: u32) -> bool {
        self.0[v as usize / 64] >> (v % 64) & 1 != 0
    }

    #[inline(always)]
    fn or(self, other: Self) -> Self {
        let mut b = self;
        for (x, y) in b.0.iter_mut().zip(other.0) {
            *x |= y;
        }
        b
    }

    /// `self & other & !not`.
    #[inline(always)]
    fn and_and_not(self, other: Self, not: Self) -> Self {
        let mut b = self;
        for ((x, y), z) in b.0.iter_mut().zip(other.0).zip(not.0) {
            *x = *x & y & !z;
        }
        b
    }

    /// Removes and returns the smallest node, if any.
    #[inline(always)]
    fn pop_lowest(&mut self) -> Option<u32> {
        for (i, w) in self.0.iter_mut().enumerate() {
            if *w != 0 {
                let bit = w.trailing_zeros();
                *w &= *w - 1;
                return Some(i as u32 * 64 + bit);
            }
        }
        None
    }
}

/// ESU over bit masks (see the module docs).
struct BitsetWalk<'g, const W: usize, F> {
    graph: &'g MotifGraph,
    /// Undirected neighbours per node.
    adj: Vec<Bits<W>>,
    /// Out-neighbours per node.
    out: Vec<Bits<W>>,
    /// In-neighbours per node.
    inn: Vec<Bits<W>>,
    /// Per node, its edges to the subgraph's nodes at positions `0..3` (2 bits per position:
    /// [`OUT`] = position → node, [`IN`] = node → position): the pattern bits the node adds
    /// when it joins the subgraph, kept up to date as nodes are placed and removed. Position 3
    /// is not placed: its ~2,000 placements per session (one per 4-node subgraph, each a walk
    /// over the node's neighbours) cost more than two mask tests per 5-node instance.
    links: Vec<u8>,
    max_k: usize,
    /// Nodes strictly above the root of the current ESU tree.
    above_root: Bits<W>,
    nodes: [u32; MAX_K],
    visit: F,
}

impl<'g, const W: usize, F: FnMut(usize, u32, &[u32])> BitsetWalk<'g, W, F> {
    fn run(graph: &'g MotifGraph, max_k: usize, visit: F) {
        let n = graph.len();
        debug_assert!(n <= W * 64);
        let (mut adj, mut out, mut inn) = (vec![Bits::EMPTY; n], vec![Bits::EMPTY; n], vec![Bits::EMPTY; n]);
        for v in 0..n {
            for &(u, dir) in graph.neighbours(v as u32) {
                let bit = Bits::single(u);
                adj[v] = adj[v].or(bit);
                if dir & OUT != 0 {
                    out[v] = out[v].or(bit);
                }
                if dir & IN != 0 {
                    inn[v] = inn[v].or(bit);
                }
            }
        }
        let links = vec![0; n];
        let mut walk = Self { graph, adj, out, inn, links, max_k, above_root: Bits::EMPTY, nodes: [0; MAX_K], visit };
        for root in 0..n as u32 {
            walk.above_root = Bits::above(root);
            walk.nodes[0] = root;
            let a = walk.adj[root as usize];
            let ext = a.and_and_not(walk.above_root, Bits::EMPTY);
            walk.place(root, 0);
            walk.level1(0, ext, a.or(Bits::single(root)));
            walk.unplace(root, 0);
        }
    }

    /// Records, in every neighbour's `links`, its edges to `v`, now at `position`.
    #[inline(always)]
    fn place(&mut self, v: u32, position: usize) {
        for &(u, dir) in self.graph.neighbours(v) {
            self.links[u as usize] |= dir << (2 * position);
        }
    }

    /// Undoes [`Self::place`].
    #[inline(always)]
    fn unplace(&mut self, v: u32, position: usize) {
        for &(u, _) in self.graph.neighbours(v) {
            self.links[u as usize] &= !(3 << (2 * position));
        }
    }

    /// Extends the subgraph `nodes[..SIZE]` (pattern `pattern`, closed neighbourhood
    /// `closed`) by every node of `ext` in turn; `deeper` is the next level. One function per
    /// level, so the pattern's bit positions and the size are constants.
    #[inline(always)]
    fn level<const SIZE: usize>(&mut self, pattern: u32, mut ext: Bits<W>, closed: Bits<W>, deeper: Level<'g, W, F>) {
        // Loop invariants read once (the visit's stores could alias them for the compiler).
        let (last_out, last_in) = if SIZE == PLACED + 1 {
            let u = self.nodes[PLACED] as usize;
            (self.out[u], self.inn[u])
        } else {
            (Bits::EMPTY, Bits::EMPTY)
        };
        let go_deeper = SIZE + 1 < self.max_k;
        while let Some(w) = ext.pop_lowest() {
            // `links[w]` holds w's edges to positions 0..min(SIZE, 3), in the order of its new
            // bits; position 3 (only when SIZE = 4) is read from its masks.
            let mut bits = u32::from(self.links[w as usize]);
            if SIZE == PLACED + 1 {
                bits |=
                    (last_out.contains(w) as u32) << (2 * PLACED) | (last_in.contains(w) as u32) << (2 * PLACED + 1);
            }
            let grown = pattern | bits << pattern_bits(SIZE);
            self.nodes[SIZE] = w;
            if SIZE + 1 >= MIN_K {
                (self.visit)(SIZE + 1, grown, &self.nodes[..SIZE + 1]);
            }
            if go_deeper {
                let adj_w = self.adj[w as usize];
                let next = ext.or(adj_w.and_and_not(self.above_root, closed));
                if SIZE < PLACED {
                    self.place(w, SIZE);
                }
                deeper(self, grown, next, closed.or(adj_w));
                if SIZE < PLACED {
                    self.unplace(w, SIZE);
                }
            }
        }
    }

    fn level1(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<1>(pattern, ext, closed, Self::level2);
    }

    fn level2(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<2>(pattern, ext, closed, Self::level3);
    }

    fn level3(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        self.level::<3>(pattern, ext, closed, Self::level4);
    }

    fn level4(&mut self, pattern: u32, ext: Bits<W>, closed: Bits<W>) {
        // Size 5 = MAX_K is the last level: nothing deeper.
        self.level::<4>(pattern, ext, closed, |_, _, _, _| {});
    }
}

/// Positions `0..PLACED` are recorded in `BitsetWalk::links`; position `PLACED` (the last one
/// with a level below it) is read from its masks.
const PLACED: usize = MAX_K - 2;

/// One level of the bitset walk (see `BitsetWalk::level`).
type Level<'g, const W: usize, F> = fn(&mut BitsetWalk<'g, W, F>, u32, Bits<W>, Bits<W>);

/// The list walk alone (any graph size): neighbour-list scans with per-node marks. The twin
/// of [`for_each_subgraph_bitset`] and the path [`for_each_subgraph`] takes for graphs of
/// more than [`BITSET_MAX_NODES`] nodes.
///
/// ```
/// use ironforge::motif::{esu::for_each_subgraph_walk, MotifGraph};
/// let g = MotifGraph::new(4, &[(0, 1), (1, 2), (2, 3)])?;
/// let mut seen = 0;
/// for_each_subgraph_walk(&g, 4, |_, _, _| seen += 1);
/// assert_eq!(seen, 3);
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn for_each_subgraph_walk<F: FnMut(usize, u32, &[u32])>(graph: &MotifGraph, max_k: usize, visit: F) {
    assert!((MIN_K..=MAX_K).contains(&max_k), "max_k {max_k} outside {MIN_K}..={MAX_K}");
    let n = graph.len();
    let mut walk = Walk {
        graph,
        max_k,
        root: 0,
        position: vec![0u8; n],
        blocked: vec![0u8; n],
        nodes: [0; MAX_K],
        extension: vec![Vec::new(); MAX_K + 1],
        visit,
    };
    for v in 0..n as u32 {
        walk.root = v;
        walk.position[v as usize] = 1;
        walk.nodes[0] = v;
        walk.blocked[v as usize] += 1;
        let mut ext = std::mem::take(&mut walk.extension[1]);
        ext.clear();
        for &(u, _) in graph.neighbours(v) {
            walk.blocked[u as usize] += 1;
            if u > v {
                ext.push(u);
            }
        }
        walk.extension[1] = ext;
        walk.extend(1, 0);
        for &(u, _) in graph.neighbours(v) {
            walk.blocked[u as usize] -= 1;
        }
        walk.blocked[v as usize] -= 1;
        walk.position[v as usize] = 0;
    }
}

struct Walk<'g, F> {
    graph: &'g MotifGraph,
    max_k: usize,
    root: u32,
    /// 1 + position in the current subgraph, 0 when outside it.
    position: Vec<u8>,
    /// How many current subgraph nodes have this node in their closed neighbourhood.
    blocked: Vec<u8>,
    nodes: [u32; MAX_K],
    /// Extension set per subgraph size.
    extension: Vec<Vec<u32>>,
    visit: F,
}

impl<F: FnMut(usize, u32, &[u32])> Walk<'_, F> {
    fn extend(&mut self, size: usize, pattern: u32) {
        if size + 1 == self.max_k {
            // Last level: only the pattern is needed, no extension set and no marks.
            while let Some(w) = self.extension[size].pop() {
                let mut grown = pattern;
                for &(u, dir) in self.graph.neighbours(w) {
                    let pos = self.position[u as usize];
                    if pos != 0 {
                        let q = pos as usize - 1;
                        if dir & OUT != 0 {
                            grown |= 1 << bit_index(size, q);
                        }
                        if dir & IN != 0 {
                            grown |= 1 << bit_index(q, size);
                        }
                    }
                }
                self.nodes[size] = w;
                (self.visit)(size + 1, grown, &self.nodes[..size + 1]);
            }
            return;
        }
        while let Some(w) = self.extension[size].pop() {
            let mut next = std::mem::take(&mut self.extension[size + 1]);
            next.clear();
            next.extend_from_slice(&self.extension[size]);
            let mut grown = pattern;
            for &(u, dir) in self.graph.neighbours(w) {
                let pos = self.position[u as usize];
                if pos != 0 {
                    let q = pos as usize - 1;
                    if dir & OUT != 0 {
                        grown |= 1 << bit_index(size, q);
                    }
                    if dir & IN != 0 {
                        grown |= 1 << bit_index(q, size);
                    }
                } else if u > self.root && self.blocked[u as usize] == 0 {
                    // Exclusive neighbour of w: outside the subgraph and its neighbourhood.
                    next.push(u);
                }
                self.blocked[u as usize] += 1;
            }
            self.blocked[w as usize] += 1;
            self.position[w as usize] = size as u8 + 1;
            self.nodes[size] = w;
            if size + 1 >= MIN_K {
                (self.visit)(size + 1, grown, &self.nodes[..size + 1]);
            }
            self.extension[size + 1] = next;
            self.extend(size + 1, grown);
            for &(u, _) in self.graph.neighbours(w) {
                self.blocked[u as usize] -= 1;
            }
            self.blocked[w as usize] -= 1;
            self.position[w as usize] = 0;
        }
    }
}
