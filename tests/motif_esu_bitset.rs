//! The bitset ESU walk against its twin, the list walk: same node sets, same motif classes,
//! same censuses — on graphs up to and across the 64-node word boundary, and beyond the
//! bitset walk's limit. The pattern-only walk (`for_each_pattern`, whose last level goes in
//! bulk on CPUs with AVX-512 VBMI2) against the list walk too.

use ironforge::motif::brute::induced_pattern;
use ironforge::motif::canon::table;
use ironforge::motif::esu::{
    bulk_last_level_available, for_each_pattern, for_each_subgraph, for_each_subgraph_bitset, for_each_subgraph_walk,
    PatternSink, BITSET_MAX_NODES,
};
use ironforge::motif::{census, Census, CensusCounter, MotifError, MotifGraph, MotifId};
use proptest::prelude::*;

/// Every visit as (sorted nodes, size, canonical pattern), sorted.
type Visits = Vec<(Vec<u32>, usize, u32)>;

fn record(out: &mut Visits, size: usize, pattern: u32, nodes: &[u32]) {
    let t = table(size);
    let mut set = nodes.to_vec();
    set.sort_unstable();
    out.push((set, size, t.canonical(t.class_of(pattern))));
}

fn walk_visits(g: &MotifGraph, max_k: usize) -> Visits {
    let mut v = Vec::new();
    for_each_subgraph_walk(g, max_k, |size, pattern, nodes| record(&mut v, size, pattern, nodes));
    v.sort_unstable();
    v
}

fn bitset_visits(g: &MotifGraph, max_k: usize) -> Visits {
    let mut v = Vec::new();
    for_each_subgraph_bitset(g, max_k, |size, pattern, nodes| {
        assert_eq!(nodes.len(), size);
        assert_eq!(induced_pattern(g, nodes), pattern, "incremental pattern of {nodes:?}");
        record(&mut v, size, pattern, nodes);
    })
    .expect("graph fits the bitset walk");
    v.sort_unstable();
    v
}

/// Every instance of the pattern-only walk as (size, canonical pattern), sorted, and how many
/// came in bulk.
fn pattern_visits(g: &MotifGraph, max_k: usize) -> (Vec<(usize, u32)>, usize) {
    struct Sink(Vec<(usize, u32)>, usize);
    impl PatternSink for Sink {
        fn one(&mut self, size: usize, pattern: u32) {
            let t = table(size);
            self.0.push((size, t.canonical(t.class_of(pattern))));
        }
        fn many(&mut self, size: usize, patterns: &[u32]) {
            assert!(!patterns.is_empty(), "an empty batch");
            self.1 += patterns.len();
            patterns.iter().for_each(|&p| self.one(size, p));
        }
    }
    let mut sink = Sink(Vec::new(), 0);
    for_each_pattern(g, max_k, &mut sink);
    sink.0.sort_unstable();
    (sink.0, sink.1)
}

/// The list walk's instances as [`pattern_visits`] lists them.
fn walk_patterns(g: &MotifGraph, max_k: usize) -> Vec<(usize, u32)> {
    let mut v: Vec<(usize, u32)> =
        walk_visits(g, max_k).into_iter().map(|(_, size, pattern)| (size, pattern)).collect();
    v.sort_unstable();
    v
}

/// The census the list walk gives (the twin of the counter path).
fn walk_census(g: &MotifGraph, max_k: usize) -> Census {
    Census::from_counts(
        walk_visits(g, max_k)
            .into_iter()
            .map(|(_, size, pattern)| (MotifId { size: size as u8, pattern, labels: None }, 1)),
    )
}

/// `n` nodes and `m` random directed pairs (self loops dropped), so isolated nodes are common
/// when `m` is small.
fn sparse_graph(n: impl Strategy<Value = usize>, per_node: usize) -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
    n.prop_flat_map(move |n| {
        let pair = (0..n as u32, 0..n as u32);
        (Just(n), proptest::collection::vec(pair, 0..=per_node * n))
    })
    .prop_map(|(n, pairs)| (n, pairs.into_iter().filter(|(a, b)| a != b).collect()))
}

/// Causal-DAG-like graphs: each node has up to 4 out-edges to the next few nodes, as the
/// pipeline builds, so subgraphs straddle the 64-bit word boundaries.
fn local_dag(n: impl Strategy<Value = usize>) -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
    n.prop_flat_map(|n| (Just(n), proptest::collection::vec(0u8..16, n))).prop_map(|(n, masks)| {
        let mut edges = Vec::new();
        for (v, mask) in masks.iter().enumerate() {
            for j in 0..4 {
                let u = v + 1 + j;
                if mask >> j & 1 != 0 && u < n {
                    edges.push((v as u32, u as u32));
                }
            }
        }
        (n, edges)
    })
}

/// Small graphs with every ordered pair an edge with probability `density / 10` (up to complete).
fn dense_graph() -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
    (1usize..=11, 5u32..=10).prop_flat_map(|(n, density)| {
        let pairs: Vec<(u32, u32)> =
            (0..n as u32).flat_map(|a| (0..n as u32).map(move |b| (a, b))).filter(|(a, b)| a != b).collect();
        proptest::collection::vec(0u32..10, pairs.len()).prop_map(move |rolls| {
            (n, pairs.iter().zip(&rolls).filter(|(_, &r)| r < density).map(|(&p, _)| p).collect())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn bitset_walk_equals_list_walk_up_to_64_nodes(
        (n, edges) in sparse_graph(prop_oneof![Just(64usize), 0usize..=64], 2),
        max_k in 3usize..=5,
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, max_k), walk_visits(&g, max_k));
        prop_assert_eq!(census(&g, max_k), walk_census(&g, max_k));
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_dense_graphs((n, edges) in dense_graph(), max_k in 3usize..=5) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, max_k), walk_visits(&g, max_k));
        prop_assert_eq!(census(&g, max_k), walk_census(&g, max_k));
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_causal_dags_across_word_boundaries(
        (n, edges) in local_dag(prop_oneof![Just(64usize), Just(65usize), Just(128usize), Just(129usize), 3usize..=300]),
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, 5), walk_visits(&g, 5));
        prop_assert_eq!(census(&g, 5), walk_census(&g, 5));
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_sparse_graphs_over_64_nodes(
        (n, edges) in sparse_graph(prop_oneof![Just(BITSET_MAX_NODES), 65usize..=BITSET_MAX_NODES], 1),
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, 5), walk_visits(&g, 5));
        prop_assert_eq!(census(&g, 5), walk_census(&g, 5));
    }

    #[test]
    fn pattern_walk_equals_list_walk(
        (n, edges) in prop_oneof![
            sparse_graph(0usize..=130, 2),
            local_dag(prop_oneof![Just(64usize), Just(65usize), 3usize..=300]),
            dense_graph(),
        ],
        max_k in 3usize..=5,
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        let (patterns, bulk) = pattern_visits(&g, max_k);
        let walked = walk_patterns(&g, max_k);
        let last_level = walked.iter().filter(|(size, _)| *size == max_k).count();
        prop_assert_eq!(patterns, walked);
        prop_assert_eq!(bulk, if bulk_last_level_available() { last_level } else { 0 });
    }

    #[test]
    fn reused_counter_equals_fresh_censuses(
        graphs in proptest::collection::vec(local_dag(3usize..=80), 1..4),
    ) {
        let mut counter = CensusCounter::new(5);
        for (n, edges) in &graphs {
            let g = MotifGraph::new(*n, edges).unwrap();
            counter.count(&g);
            let expected = walk_census(&g, 5);
            prop_assert_eq!(counter.instances(), expected.instances());
            prop_assert_eq!(counter.finish(), expected);
            prop_assert_eq!(counter.instances(), 0);
        }
    }
}

#[test]
fn graphs_over_the_bitset_limit_use_the_list_walk() {
    let n = BITSET_MAX_NODES + 37;
    let edges: Vec<(u32, u32)> =
        (0..n as u32).flat_map(|v| (1..=3).map(move |j| (v, v + j))).filter(|&(_, u)| (u as usize) < n).collect();
    let g = MotifGraph::new(n, &edges).unwrap();
    assert!(matches!(
        for_each_subgraph_bitset(&g, 5, |_, _, _| {}),
        Err(MotifError::TooLargeForBitset { nodes, max: BITSET_MAX_NODES }) if nodes == n
    ));
    let mut dispatched = Vec::new();
    for_each_subgraph(&g, 5, |size, pattern, nodes| record(&mut dispatched, size, pattern, nodes));
    dispatched.sort_unstable();
    let walked = walk_visits(&g, 5);
    assert!(!walked.is_empty());
    assert_eq!(dispatched, walked);
    assert_eq!(census(&g, 5), walk_census(&g, 5));
}

#[test]
fn the_bulk_buffer_is_handed_over_whole_many_times() {
    // Every node with edges to its next four: ~5,000 five-node instances, several buffers, and
    // extension sets of more than 16 nodes in the word-spanning middle.
    for n in [60, 200] {
        let edges: Vec<(u32, u32)> =
            (0..n as u32).flat_map(|v| (1..=4).map(move |j| (v, v + j))).filter(|&(_, u)| (u as usize) < n).collect();
        let g = MotifGraph::new(n, &edges).unwrap();
        let (patterns, bulk) = pattern_visits(&g, 5);
        let walked = walk_patterns(&g, 5);
        assert!(walked.len() > 3000, "{} instances", walked.len());
        assert_eq!(bulk, if bulk_last_level_available() { walked.iter().filter(|(s, _)| *s == 5).count() } else { 0 });
        assert_eq!(patterns, walked);
        assert_eq!(census(&g, 5), walk_census(&g, 5));
    }
    // A hub: one node linked to 40 others, so a 4-node subgraph through it extends by ~37.
    let edges: Vec<(u32, u32)> = (1..=40).map(|u| (0, u)).chain((1..40).map(|u| (u, u + 1))).collect();
    let g = MotifGraph::new(41, &edges).unwrap();
    assert_eq!(pattern_visits(&g, 5).0, walk_patterns(&g, 5));
    assert_eq!(census(&g, 5), walk_census(&g, 5));
}

#[test]
fn a_node_at_bit_63_and_64_is_reached() {
    // A path through nodes 62, 63, 64, 65: one word boundary inside every instance.
    let g = MotifGraph::new(66, &[(62, 63), (63, 64), (64, 65)]).unwrap();
    let visits = bitset_visits(&g, 5);
    let sets: Vec<Vec<u32>> = visits.iter().map(|(s, _, _)| s.clone()).collect();
    assert_eq!(sets, vec![vec![62, 63, 64], vec![62, 63, 64, 65], vec![63, 64, 65]]);
    assert_eq!(visits, walk_visits(&g, 5));
}
