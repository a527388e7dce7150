//! The list walk: ESU by neighbour-list scans with per-node marks, for graphs of any size.

use super::super::canon::{bit_index, MAX_K, MIN_K};
use super::super::graph::{MotifGraph, IN, OUT};
#[cfg(doc)]
use super::{for_each_subgraph, for_each_subgraph_bitset, BITSET_MAX_NODES};

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
