//! DAG engine: fast == reference builder, generations semantics, petgraph agreement, cycles,
//! golden snapshots.

use std::collections::HashSet;

use ironforge::dag::{
    build_edges, causal_pairs_fast, causal_pairs_reference, dag_json, BuildParams, Builder, Dag, DagError, DagJson,
    EdgeSource,
};
use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta};
use ironforge::synth::{generate, golden_specs};
use proptest::prelude::*;

/// Time steps in ms: ties are the most common step, then sub-minute, bars and long gaps.
const STEPS: [i64; 8] = [0, 0, 0, 30_000, 60_000, 300_000, 3_600_000, 8_000_000];

/// A random session: `steps` pick gaps from [`STEPS`], node ids are shuffled (not in time
/// order), imported edges go forward in local order (acyclic).
fn session_strategy(max_events: usize) -> impl Strategy<Value = Session> {
    (1..=max_events)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec((0..STEPS.len(), 0..4u8, -40.0..40.0f64), n),
                Just((0..n as u32).collect::<Vec<u32>>()).prop_shuffle(),
                proptest::collection::vec((0..n as u32, 0..n as u32), 0..3 * n),
            )
        })
        .prop_map(|(steps, ids, pairs)| {
            let mut t = 1_753_315_200_000i64;
            let mut price = 23_000.0;
            let events: Vec<Event> = steps
                .iter()
                .zip(&ids)
                .map(|(&(step, kind, dp), &id)| {
                    t += STEPS[step];
                    price += dp;
                    Event::new(500 + 7 * id, t, EventKind::from_code(kind).unwrap(), price)
                })
                .collect();
            let edges = pairs
                .iter()
                .filter(|(a, b)| a != b)
                .map(|&(a, b)| {
                    let (a, b) = (a.min(b) as usize, a.max(b) as usize);
                    Edge::new(events[a].node_id, events[b].node_id, EdgeType::TemporalNext, 0)
                })
                .collect();
            Session::new(SessionMeta::new("prop", "SYNTH", "NQ", "M5"), events, edges).unwrap()
        })
}

fn params_strategy() -> impl Strategy<Value = BuildParams> {
    (0..7usize, -1..3i64, 0..4i64).prop_map(|(k, lo, span)| {
        let dt_min_ms = lo * 60_000;
        BuildParams { k, dt_min_ms, dt_max_ms: dt_min_ms + span * 3_000_000 }
    })
}

/// Slow twin of the generations: longest-path level of every node by relaxing edges along
/// petgraph's topological order, then nodes grouped by level, ascending node id.
fn generations_by_longest_path(dag: &Dag) -> Vec<Vec<u32>> {
    let g = dag.to_petgraph();
    let order = petgraph::algo::toposort(&g, None).expect("acyclic");
    let mut level = vec![0usize; dag.len()];
    for v in order {
        for &(s, d) in dag.local_edges() {
            if s as usize == v.index() {
                level[d as usize] = level[d as usize].max(level[s as usize] + 1);
            }
        }
    }
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![Vec::new(); depth];
    for (v, &l) in level.iter().enumerate() {
        out[l].push(dag.node_ids()[v]);
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out
}

fn check_generations(dag: &Dag) -> Result<(), TestCaseError> {
    let gens = dag.generations();
    // Partition: every node exactly once.
    let mut seen = vec![false; dag.len()];
    for &v in gens.order() {
        prop_assert!(!seen[v as usize], "node {} twice", v);
        seen[v as usize] = true;
    }
    prop_assert!(seen.iter().all(|&s| s), "a node is missing from the generations");
    // Every edge goes from an earlier to a later generation.
    let of = gens.generation_of();
    for &(s, d) in dag.local_edges() {
        prop_assert!(of[s as usize] < of[d as usize], "edge {}->{} not forward", s, d);
    }
    // Same result as the slow twin (this also pins ascending node ids within a generation).
    prop_assert_eq!(dag.generation_node_ids(), generations_by_longest_path(dag));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn fast_builder_equals_reference(session in session_strategy(120), params in params_strategy()) {
        let times = session.times_ms();
        prop_assert_eq!(causal_pairs_fast(&times, &params), causal_pairs_reference(&times, &params));
        prop_assert_eq!(
            build_edges(&session, &params, Builder::Fast),
            build_edges(&session, &params, Builder::Reference)
        );
    }

    #[test]
    fn built_pairs_follow_the_rule(session in session_strategy(80), params in params_strategy()) {
        let times = session.times_ms();
        let pairs = causal_pairs_fast(&times, &params);
        let mut per_source = vec![0usize; times.len()];
        for &(i, j) in &pairs {
            let dt = times[j as usize] - times[i as usize];
            prop_assert!(i < j && dt >= params.dt_min_ms && dt <= params.dt_max_ms);
            per_source[i as usize] += 1;
        }
        prop_assert!(per_source.iter().all(|&c| c <= params.k));
        for e in build_edges(&session, &params, Builder::Fast) {
            prop_assert!((0.1..=1.0).contains(&e.features[0]) && e.etype == EdgeType::Causal);
        }
    }

    #[test]
    fn built_and_imported_dags_are_acyclic_with_valid_generations(
        session in session_strategy(80),
        params in params_strategy(),
    ) {
        for builder in [Builder::Fast, Builder::Reference] {
            let built = Dag::built_with(&session, &params, builder);
            prop_assert!(built.is_ok(), "{:?}", built.err());
            check_generations(&built.unwrap())?;
        }
        let imported = Dag::from_session(&session);
        prop_assert!(imported.is_ok(), "{:?}", imported.err());
        check_generations(&imported.unwrap())?;
    }

    #[test]
    fn petgraph_round_trip_and_toposort_agree(session in session_strategy(60)) {
        let dag = Dag::from_session(&session).unwrap();
        let g = dag.to_petgraph();
        prop_assert_eq!(&Dag::from_petgraph(session.id(), &g).unwrap(), &dag);
        // petgraph's order and ours are both topological orders of the same graph.
        let theirs = petgraph::algo::toposort(&g, None).unwrap();
        let mut position = vec![0usize; dag.len()];
        for (p, v) in theirs.iter().enumerate() {
            position[v.index()] = p;
        }
        let mut ours = vec![0usize; dag.len()];
        for (p, &v) in dag.generations().order().iter().enumerate() {
            ours[v as usize] = p;
        }
        for &(s, d) in dag.local_edges() {
            prop_assert!(position[s as usize] < position[d as usize]);
            prop_assert!(ours[s as usize] < ours[d as usize]);
        }
    }

    #[test]
    fn a_back_edge_is_a_cycle_naming_its_nodes(session in session_strategy(40), a in 0..40u32, b in 0..40u32) {
        let n = session.len() as u32;
        let (a, b) = (a % n, b % n);
        prop_assume!(a != b);
        let (lo, hi) = (a.min(b), a.max(b));
        // A forward path lo -> … -> hi plus the back edge hi -> lo.
        let mut edges: Vec<(u32, u32)> = (lo..hi).map(|v| (v, v + 1)).collect();
        edges.extend(session.local_edges());
        edges.push((hi, lo));
        let ids: Vec<u32> = session.events().iter().map(|e| e.node_id).collect();
        let err = Dag::from_local_edges("c", ids.clone(), &edges).unwrap_err();
        let DagError::Cycle { node_ids, .. } = err else { return Err(TestCaseError::fail("not a cycle error")) };
        // The named nodes form a cycle of the edge set, and petgraph agrees there is one.
        let index_of = |id: u32| ids.iter().position(|&x| x == id).unwrap() as u32;
        let set: HashSet<(u32, u32)> = edges.iter().copied().collect();
        prop_assert!(!node_ids.is_empty());
        for w in 0..node_ids.len() {
            let (s, d) = (node_ids[w], node_ids[(w + 1) % node_ids.len()]);
            prop_assert!(set.contains(&(index_of(s), index_of(d))), "{}->{} is not an edge", s, d);
        }
        let mut g = petgraph::graph::DiGraph::<u32, ()>::new();
        let nodes: Vec<_> = ids.iter().map(|&id| g.add_node(id)).collect();
        for &(s, d) in &edges {
            g.add_edge(nodes[s as usize], nodes[d as usize], ());
        }
        prop_assert!(petgraph::algo::toposort(&g, None).is_err());
    }
}

#[test]
fn self_loop_and_bad_index_are_typed_errors() {
    let err = Dag::from_local_edges("s", vec![4, 5], &[(1, 1)]).unwrap_err();
    assert_eq!(err, DagError::Cycle { session_id: "s".into(), node_ids: vec![5] });
    let err = Dag::from_local_edges("s", vec![4, 5], &[(0, 2)]).unwrap_err();
    assert!(matches!(err, DagError::EdgeOutOfRange { edge: 0, index: 2, nodes: 2, .. }), "{err}");
    let err = Dag::from_local_edges("s", vec![4, 4], &[]).unwrap_err();
    assert!(matches!(err, DagError::DuplicateNodeId { node_id: 4, .. }), "{err}");
}

#[test]
fn imported_cycle_among_tied_events_names_the_session() {
    let meta = SessionMeta::new("tied", "NY", "NQ", "M5");
    let events = (0..3).map(|i| Event::new(10 + i, 0, EventKind::Other, 1.0)).collect();
    let edges = vec![
        Edge::new(10, 11, EdgeType::TemporalNext, 0),
        Edge::new(11, 12, EdgeType::LiqLink, 0),
        Edge::new(12, 11, EdgeType::LiqLink, 0),
    ];
    let session = Session::new(meta, events, edges).unwrap();
    let err = Dag::from_session(&session).unwrap_err();
    assert_eq!(err.to_string(), "session \"tied\": edges form a cycle through node ids [11, 12]");
}

fn rounded_weights(session: &Session) -> Vec<f64> {
    build_edges(session, &BuildParams::default(), Builder::Fast)
        .iter()
        .map(|e| (e.features[0] as f64 * 1e4).round() / 1e4)
        .collect()
}

#[test]
fn golden_sessions_snapshot() {
    for spec in golden_specs().iter().filter(|s| s.events == 16 || s.events == 24) {
        let session = generate(spec);
        let built: DagJson = dag_json(&session, &EdgeSource::Built(BuildParams::default())).unwrap();
        let imported = dag_json(&session, &EdgeSource::Imported).unwrap();
        let value = serde_json::json!({
            "built": built,
            "built_weights": rounded_weights(&session),
            "imported_edges": imported.edges.len(),
            "imported_generations": imported.generations.len(),
        });
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!(format!("dag_{}", spec.session_id), value)
        });
    }
}

#[test]
fn cli_flags_parse_into_builder_params() {
    use clap::Parser;
    use ironforge::cli::{Cli, Command};
    let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
    let cli =
        parse(&["ironforge", "dag", "s.parquet", "--json", "--build", "--k", "3", "--dt-max-minutes", "30"]).unwrap();
    let Command::Dag(args) = cli.command else { panic!("not the dag command") };
    assert!(args.json && args.build);
    assert_eq!(args.build_params(), BuildParams { k: 3, dt_min_ms: 60_000, dt_max_ms: 1_800_000 });
    let plain = parse(&["ironforge", "dag", "s.parquet"]).unwrap();
    let Command::Dag(args) = plain.command else { panic!("not the dag command") };
    assert!(!args.json && !args.build);
    // Builder flags without --build are refused rather than silently ignored.
    assert!(parse(&["ironforge", "dag", "s.parquet", "--k", "3"]).is_err());
}
