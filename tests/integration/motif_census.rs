//! ESU census vs brute force, and isomorphism invariance of motif ids.

use std::collections::{BTreeMap, BTreeSet};

use ironforge::motif::brute::{census_brute, connected_subsets_brute, induced_pattern};
use ironforge::motif::canon::{canonical_pattern_brute, pattern_of, table};
use ironforge::motif::census::census_with;
use ironforge::motif::esu::{for_each_subgraph, CensusIsa};
use ironforge::motif::{census, census_labelled, CensusCounter, MotifError, MotifGraph, MotifId};
use proptest::prelude::*;

/// Random directed graphs without self loops: `n` nodes, each ordered pair an edge with
/// probability ~density; `dag` keeps only forward pairs.
fn graph_strategy(max_n: usize, dag: bool) -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
    (3..=max_n, 1u32..=6).prop_flat_map(move |(n, density)| {
        let pairs: Vec<(u32, u32)> = (0..n as u32)
            .flat_map(|a| (0..n as u32).map(move |b| (a, b)))
            .filter(|&(a, b)| if dag { a < b } else { a != b })
            .collect();
        let len = pairs.len();
        proptest::collection::vec(0u32..10, len).prop_map(move |rolls| {
            let edges = pairs.iter().zip(&rolls).filter(|(_, &r)| r < density).map(|(&p, _)| p).collect();
            (n, edges)
        })
    })
}

fn relabel(n: usize, edges: &[(u32, u32)], seed: u64) -> (Vec<u32>, Vec<(u32, u32)>) {
    // A permutation from a simple LCG shuffle (deterministic per seed).
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut state = seed | 1;
    for i in (1..n).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        perm.swap(i, (state >> 33) as usize % (i + 1));
    }
    let moved = edges.iter().map(|&(a, b)| (perm[a as usize], perm[b as usize])).collect();
    (perm, moved)
}

/// The census on every path this CPU has (AVX-512 VBMI2, AVX2, scalar) equals the brute-force
/// twin's, for `max_k`.
fn every_path_equals_brute_force(g: &MotifGraph, max_k: usize) -> Result<(), TestCaseError> {
    let brute = census_brute(g, max_k);
    prop_assert_eq!(&census(g, max_k), &brute, "detected path");
    for isa in CensusIsa::available() {
        prop_assert_eq!(&census_with(g, max_k, isa).unwrap(), &brute, "path {}, max_k {}", isa.name(), max_k);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn esu_counts_equal_brute_force_on_random_dags((n, edges) in graph_strategy(9, true)) {
        let g = MotifGraph::new(n, &edges).unwrap();
        every_path_equals_brute_force(&g, 5)?;
    }

    #[test]
    fn esu_counts_equal_brute_force_on_random_digraphs((n, edges) in graph_strategy(8, false)) {
        let g = MotifGraph::new(n, &edges).unwrap();
        every_path_equals_brute_force(&g, 5)?;
        every_path_equals_brute_force(&g, 4)?;
        every_path_equals_brute_force(&g, 3)?;
    }

    #[test]
    fn esu_visits_each_connected_subgraph_exactly_once((n, edges) in graph_strategy(9, true)) {
        let g = MotifGraph::new(n, &edges).unwrap();
        let mut seen = Vec::new();
        for_each_subgraph(&g, 5, |size, pattern, nodes| {
            assert_eq!(nodes.len(), size);
            assert_eq!(induced_pattern(&g, nodes), pattern, "incremental pattern of {nodes:?}");
            let mut set = nodes.to_vec();
            set.sort();
            seen.push(set);
        });
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        prop_assert_eq!(unique.len(), seen.len(), "an instance was visited twice");
        let brute: BTreeSet<_> = connected_subsets_brute(&g, 5).into_iter().collect();
        prop_assert_eq!(unique, brute);
    }

    #[test]
    fn census_is_invariant_under_relabelling((n, edges) in graph_strategy(10, false), seed in any::<u64>()) {
        let g = MotifGraph::new(n, &edges).unwrap();
        let (_, moved) = relabel(n, &edges, seed);
        prop_assert_eq!(census(&g, 5), census(&MotifGraph::new(n, &moved).unwrap(), 5));
    }

    #[test]
    fn labelled_census_is_invariant_under_relabelling(
        (n, edges) in graph_strategy(9, true),
        seed in any::<u64>(),
        kinds in proptest::collection::vec(0u8..4, 9),
    ) {
        let g = MotifGraph::new(n, &edges).unwrap();
        let (perm, moved) = relabel(n, &edges, seed);
        let mut moved_kinds = vec![0u8; n];
        for v in 0..n {
            moved_kinds[perm[v] as usize] = kinds[v];
        }
        let a = census_labelled(&g, &kinds[..n], 5).unwrap();
        let b = census_labelled(&MotifGraph::new(n, &moved).unwrap(), &moved_kinds, 5).unwrap();
        prop_assert_eq!(&a, &b);
        // Forgetting labels gives the unlabelled census.
        prop_assert_eq!(a.instances(), census(&g, 5).instances());
    }

    #[test]
    fn five_node_table_agrees_with_brute_force(pattern in 0u32..(1 << 20)) {
        let t = table(5);
        prop_assert_eq!(t.canonical(t.class_of(pattern)), canonical_pattern_brute(pattern, 5));
    }
}

#[test]
fn five_node_table_has_the_known_number_of_classes() {
    // OEIS A000273: 9608 directed graphs on 5 nodes; A003085: 9364 weakly connected.
    assert_eq!((table(5).classes(), table(5).connected_classes()), (9608, 9364));
    // Weakly connected DAGs on k unlabelled nodes: 4, 24, 267 (OEIS A101228; the Euler
    // transform of 1, 1, 4, 24, 267 gives A003087's 1, 2, 6, 31, 302 DAGs in all).
    let acyclic: Vec<usize> = (3..=5).map(|k| table(k).acyclic_connected_classes().len()).collect();
    assert_eq!(acyclic, [4, 24, 267]);
}

/// A counter scans only the acyclic classes while every graph it counted was acyclic: a DAG
/// then a graph with cycles in one counter must still report the cyclic motifs, and the next
/// census (after `finish`) of a DAG alone must be exact again.
#[test]
fn a_counter_fed_a_dag_then_a_cyclic_graph_reports_every_class() {
    let dag = MotifGraph::new(6, &[(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (1, 5)]).unwrap();
    let cyclic = MotifGraph::new(5, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 2)]).unwrap();
    assert!(dag.is_acyclic() && !cyclic.is_acyclic());
    let mut counter = CensusCounter::new(5);
    counter.count(&dag);
    counter.count(&cyclic);
    let both = counter.finish();
    let mut want: BTreeMap<_, _> = census_brute(&dag, 5).iter().collect();
    for (id, n) in census_brute(&cyclic, 5).iter() {
        *want.entry(id).or_default() += n;
    }
    assert_eq!(both.iter().collect::<BTreeMap<_, _>>(), want);
    let cyclic_3 =
        MotifId { size: 3, pattern: canonical_pattern_brute(pattern_of(&[(0, 1), (1, 2), (2, 0)]), 3), labels: None };
    assert!(want.contains_key(&cyclic_3), "the 3-cycle is among the expected motifs");
    counter.count(&dag);
    assert_eq!(counter.finish(), census_brute(&dag, 5));
}

#[test]
fn labels_split_isomorphic_subgraphs() {
    // Path 0→1→2 and path 3→4→5 with different kinds at the ends: one unlabelled motif,
    // two labelled ones.
    let g = MotifGraph::new(6, &[(0, 1), (1, 2), (3, 4), (4, 5)]).unwrap();
    assert_eq!(census(&g, 3).distinct(), 1);
    assert_eq!(census_labelled(&g, &[0, 0, 1, 0, 0, 2], 3).unwrap().distinct(), 2);
    assert_eq!(census_labelled(&g, &[0, 0, 1, 0, 0, 1], 3).unwrap().distinct(), 1);
}

#[test]
fn bad_graphs_are_typed_errors() {
    assert!(matches!(MotifGraph::new(3, &[(0, 3)]), Err(MotifError::NodeOutOfRange { edge: 0, dst: 3, .. })));
    assert!(matches!(MotifGraph::new(3, &[(0, 1), (2, 2)]), Err(MotifError::SelfLoop { edge: 1, node: 2 })));
    let g = MotifGraph::new(3, &[(0, 1)]).unwrap();
    assert!(matches!(census_labelled(&g, &[0, 1], 3), Err(MotifError::LabelCount { labels: 2, nodes: 3 })));
}

#[test]
fn parallel_and_antiparallel_edges_make_a_simple_graph() {
    let g = MotifGraph::new(3, &[(0, 1), (0, 1), (1, 0), (1, 2)]).unwrap();
    assert_eq!(g.edge_count(), 3);
    assert_eq!(census(&g, 3), census_brute(&g, 3));
}
