//! Brute-force census: every node subset, obvious canonicalisation. The reference twin of
//! [`super::census::census`], for small graphs only.

use std::collections::BTreeMap;

use super::canon::{bit_index, canonical_pattern_brute, is_weakly_connected, MIN_K};
use super::census::{Census, MotifId};
use super::graph::MotifGraph;

/// Node sets (ascending) of every weakly connected induced subgraph of `3..=max_k` nodes,
/// found by trying all subsets.
pub fn connected_subsets_brute(graph: &MotifGraph, max_k: usize) -> Vec<Vec<u32>> {
    let n = graph.len() as u32;
    let mut out = Vec::new();
    let mut current = Vec::new();
    fn rec(graph: &MotifGraph, n: u32, start: u32, max_k: usize, current: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if current.len() >= MIN_K && is_weakly_connected(induced_pattern(graph, current), current.len()) {
            out.push(current.clone());
        }
        if current.len() == max_k {
            return;
        }
        for v in start..n {
            current.push(v);
            rec(graph, n, v + 1, max_k, current, out);
            current.pop();
        }
    }
    rec(graph, n, 0, max_k, &mut current, &mut out);
    out
}

/// Adjacency pattern of the subgraph induced by `nodes` (position = index in `nodes`).
pub fn induced_pattern(graph: &MotifGraph, nodes: &[u32]) -> u32 {
    let mut p = 0u32;
    for (i, &a) in nodes.iter().enumerate() {
        for (j, &b) in nodes.iter().enumerate() {
            if i != j && graph.has_edge(a, b) {
                p |= 1 << bit_index(i, j);
            }
        }
    }
    p
}

/// Census by brute force: all subsets, connectivity check, canonical form by trying every
/// permutation.
pub fn census_brute(graph: &MotifGraph, max_k: usize) -> Census {
    let mut counts: BTreeMap<MotifId, u64> = BTreeMap::new();
    for nodes in connected_subsets_brute(graph, max_k) {
        let k = nodes.len();
        let pattern = canonical_pattern_brute(induced_pattern(graph, &nodes), k);
        *counts.entry(MotifId { size: k as u8, pattern, labels: None }).or_insert(0) += 1;
    }
    Census::from_counts(counts)
}

/// The reference census for sessions of any size: ESU enumeration (each connected node set
/// once, as [`super::census`](fn@super::census)) with the obvious classification — a pattern's canonical form
/// found by trying all `k!` permutations, remembered for the rest of the call in a hash map —
/// instead of the precomputed lookup tables. The baseline pipeline runs it; it must equal
/// [`super::census`](fn@super::census) exactly.
///
/// ```
/// use ironforge::motif::{brute::census_reference, census, MotifGraph};
/// let g = MotifGraph::new(5, &[(0, 1), (1, 2), (2, 3), (0, 2), (3, 4)])?;
/// assert_eq!(census_reference(&g, 5), census(&g, 5));
/// # Ok::<(), ironforge::motif::MotifError>(())
/// ```
pub fn census_reference(graph: &MotifGraph, max_k: usize) -> Census {
    let mut canonical: std::collections::HashMap<(usize, u32), u32> = std::collections::HashMap::new();
    let mut counts: BTreeMap<MotifId, u64> = BTreeMap::new();
    super::esu::for_each_subgraph(graph, max_k, |k, pattern, _| {
        let pattern = *canonical.entry((k, pattern)).or_insert_with(|| canonical_pattern_brute(pattern, k));
        *counts.entry(MotifId { size: k as u8, pattern, labels: None }).or_insert(0) += 1;
    });
    Census::from_counts(counts)
}
