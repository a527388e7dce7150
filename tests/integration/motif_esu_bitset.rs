//! The bitset ESU walk against its twin, the list walk: same node sets, same motif classes,
//! same censuses — on graphs up to and across the 64-node word boundary, and beyond the
//! bitset walk's limit. The pattern-only walk (`for_each_pattern_with`, whose last level goes
//! in bulk on the AVX-512 VBMI2 and AVX2 paths) against the list walk too, on every path this
//! CPU has (`CensusIsa::available`), and the census on every path.

use ironforge::motif::brute::induced_pattern;
use ironforge::motif::canon::table;
use ironforge::motif::census::census_with;
use ironforge::motif::esu::{
    for_each_pattern, for_each_pattern_with, for_each_subgraph, for_each_subgraph_bitset, for_each_subgraph_walk,
    CensusIsa, PatternSink, BITSET_MAX_NODES,
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

/// Every instance of the pattern-only walk on the path `isa` as (size, canonical pattern),
/// sorted, and how many came in bulk.
fn pattern_visits(g: &MotifGraph, max_k: usize, isa: CensusIsa) -> (Vec<(usize, u32)>, usize) {
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
    for_each_pattern_with(g, max_k, isa, &mut sink).expect("an available path");
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

/// How many of the `last_level` last-level instances path `isa` hands over in bulk: all of
/// them on a bulk path, none on the scalar path.
fn expected_bulk(isa: CensusIsa, last_level: usize) -> usize {
    if isa == CensusIsa::Scalar {
        0
    } else {
        last_level
    }
}

/// The census on every available path equals `expected` (the list walk's).
fn census_on_every_path(g: &MotifGraph, max_k: usize, expected: &Census) -> Result<(), TestCaseError> {
    for isa in CensusIsa::available() {
        prop_assert_eq!(&census_with(g, max_k, isa).unwrap(), expected, "path {}", isa.name());
    }
    Ok(())
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
        census_on_every_path(&g, max_k, &walk_census(&g, max_k))?;
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_dense_graphs((n, edges) in dense_graph(), max_k in 3usize..=5) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, max_k), walk_visits(&g, max_k));
        census_on_every_path(&g, max_k, &walk_census(&g, max_k))?;
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_causal_dags_across_word_boundaries(
        (n, edges) in local_dag(prop_oneof![Just(64usize), Just(65usize), Just(128usize), Just(129usize), 3usize..=300]),
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, 5), walk_visits(&g, 5));
        census_on_every_path(&g, 5, &walk_census(&g, 5))?;
    }

    #[test]
    fn bitset_walk_equals_list_walk_on_sparse_graphs_over_64_nodes(
        (n, edges) in sparse_graph(prop_oneof![Just(BITSET_MAX_NODES), 65usize..=BITSET_MAX_NODES], 1),
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        prop_assert_eq!(bitset_visits(&g, 5), walk_visits(&g, 5));
        census_on_every_path(&g, 5, &walk_census(&g, 5))?;
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
        let walked = walk_patterns(&g, max_k);
        let last_level = walked.iter().filter(|(size, _)| *size == max_k).count();
        for isa in CensusIsa::available() {
            let (patterns, bulk) = pattern_visits(&g, max_k, isa);
            prop_assert_eq!(&patterns, &walked, "path {}", isa.name());
            prop_assert_eq!(bulk, expected_bulk(isa, last_level), "path {}", isa.name());
        }
    }

    #[test]
    fn reused_counter_equals_fresh_censuses(
        graphs in proptest::collection::vec(local_dag(3usize..=80), 1..4),
    ) {
        let mut counter = CensusCounter::new(5);
        for (i, (n, edges)) in graphs.iter().enumerate() {
            let g = MotifGraph::new(*n, edges).unwrap();
            // One counter through the paths in turn: a path leaves nothing behind for the next.
            let available = CensusIsa::available();
            let isa = available[i % available.len()];
            counter.count_with(&g, isa).unwrap();
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
        let walked = walk_patterns(&g, 5);
        assert!(walked.len() > 3000, "{} instances", walked.len());
        let last_level = walked.iter().filter(|(s, _)| *s == 5).count();
        for isa in CensusIsa::available() {
            let (patterns, bulk) = pattern_visits(&g, 5, isa);
            assert_eq!(bulk, expected_bulk(isa, last_level), "path {}", isa.name());
            assert_eq!(patterns, walked, "path {}", isa.name());
        }
        census_on_every_path(&g, 5, &walk_census(&g, 5)).unwrap();
    }
    // A hub: one node linked to 40 others, so a 4-node subgraph through it extends by ~37
    // (more than the AVX2 path's eight in sequence and the AVX-512 path's sixteen), and one
    // with both directions to every other node (edge bytes of 3 on every shifted position).
    let edges: Vec<(u32, u32)> = (1..=40).map(|u| (0, u)).chain((1..40).map(|u| (u, u + 1))).collect();
    let both: Vec<(u32, u32)> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    for edges in [edges, both] {
        let g = MotifGraph::new(41, &edges).unwrap();
        for isa in CensusIsa::available() {
            assert_eq!(pattern_visits(&g, 5, isa).0, walk_patterns(&g, 5), "path {}", isa.name());
        }
        census_on_every_path(&g, 5, &walk_census(&g, 5)).unwrap();
    }
}

#[test]
fn every_path_is_listed_and_the_best_is_detected() {
    let available = CensusIsa::available();
    assert_eq!(available.first(), Some(&CensusIsa::detect()));
    assert_eq!(available.last(), Some(&CensusIsa::Scalar));
    assert!(available.windows(2).all(|w| w[0] < w[1]), "best first, each once: {available:?}");
    // What `for_each_pattern` and `census` take is the detected path.
    let g = MotifGraph::new(6, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5), (1, 4)]).unwrap();
    assert_eq!(census(&g, 5), census_with(&g, 5, CensusIsa::detect()).unwrap());
    struct Count(usize);
    impl PatternSink for Count {
        fn one(&mut self, _: usize, _: u32) {
            self.0 += 1;
        }
        fn many(&mut self, _: usize, p: &[u32]) {
            self.0 += p.len();
        }
    }
    let mut count = Count(0);
    for_each_pattern(&g, 5, &mut count);
    assert_eq!(count.0 as u64, census(&g, 5).instances());
}

#[test]
fn a_path_this_cpu_lacks_is_a_typed_error() {
    let g = MotifGraph::new(3, &[(0, 1), (1, 2)]).unwrap();
    for isa in CensusIsa::ALL.into_iter().filter(|isa| !isa.is_available()) {
        assert!(matches!(census_with(&g, 5, isa), Err(MotifError::Parameter { name: "isa", .. })));
        let mut counter = CensusCounter::new(5);
        assert!(counter.count_with(&g, isa).is_err());
        assert_eq!(counter.instances(), 0);
    }
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
