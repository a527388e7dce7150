//! Both layouts on real and generated sessions: read every real shard, round-trip through both
//! layouts (property test on random sessions too), and check pyarrow reads what we write.

use std::path::{Path, PathBuf};
use std::process::Command;

use ironforge::io::{
    read_multi, read_sessions, read_shard, write_multi, write_shard, MultiSessionReader, WriterSettings,
};
use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta, EDGE_FEATURES, NODE_FEATURES};
use ironforge::synth::{generate, golden_specs, SessionSpec};
use proptest::prelude::*;

fn real_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

fn real_shards() -> Option<Vec<PathBuf>> {
    let dir = real_dir()?;
    let shards = ironforge::io::shard_dirs(&dir).unwrap();
    assert_eq!(shards.len(), 40, "the corpus has 40 shards");
    Some(shards)
}

#[test]
fn every_real_shard_reads_and_validates() {
    let Some(shards) = real_shards() else { return };
    for dir in shards {
        let s = read_shard(&dir).unwrap_or_else(|e| panic!("{e}"));
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
        assert_eq!(s.id(), meta["session_id"].as_str().unwrap());
        assert_eq!(s.len() as u64, meta["node_count"].as_u64().unwrap());
        assert_eq!(s.edges().len() as u64, meta["edge_count"].as_u64().unwrap());
        assert!((16..=68).contains(&s.len()), "{}: {} events", s.id(), s.len());
        assert!(s.events().iter().all(|e| matches!(e.kind, EventKind::PriceMovement | EventKind::LiquidityEvent)));
    }
}

#[test]
fn real_shards_round_trip_through_both_layouts() {
    let Some(dir) = real_dir() else { return };
    let sessions = read_sessions(&dir).unwrap();
    assert_eq!(sessions.len(), 40);
    let tmp = tempfile::tempdir().unwrap();
    for s in &sessions {
        let shard = tmp.path().join("shards").join(s.id());
        write_shard(s, &shard, &WriterSettings::default()).unwrap();
        assert_eq!(&read_shard(&shard).unwrap(), s);
    }
    assert_eq!(read_sessions(&tmp.path().join("shards")).unwrap(), sessions);
    // Small row groups so that sessions straddle row groups and read batches.
    let file = tmp.path().join("all.parquet");
    let settings = WriterSettings { row_group_rows: 100, ..WriterSettings::default() };
    assert_eq!(write_multi(&file, &sessions, &settings).unwrap(), 40);
    assert_eq!(read_multi(&file).unwrap(), sessions);
}

#[test]
fn golden_fixtures_are_the_generated_sessions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden");
    let sessions = read_sessions(&root).unwrap();
    let mut expected: Vec<Session> = golden_specs().iter().map(generate).collect();
    expected.sort_by(|a, b| a.id().cmp(b.id()));
    assert_eq!(sessions, expected);
    let sizes: Vec<usize> = sessions.iter().map(Session::len).collect();
    for n in [117, 203, 223, 225, 268] {
        assert!(sizes.contains(&n), "golden set lacks a {n}-event session");
    }
}

#[test]
fn multi_reader_streams_many_sessions_across_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("many.parquet");
    let sessions: Vec<Session> =
        (0..60).map(|i| generate(&SessionSpec::new(format!("m{i}"), i, 100 + i as usize * 7))).collect();
    let settings = WriterSettings { row_group_rows: 1_000, zstd_level: 1, ..WriterSettings::default() };
    write_multi(&file, &sessions, &settings).unwrap();
    let mut reader = MultiSessionReader::open(&file).unwrap();
    for expected in &sessions {
        assert_eq!(&reader.next().unwrap().unwrap(), expected);
    }
    assert!(reader.next().is_none());
}

fn pyarrow_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import pyarrow"]).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: python3 with pyarrow is not available");
    }
    ok
}

#[test]
fn pyarrow_reads_what_we_write() {
    if !pyarrow_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let s = generate(&SessionSpec::new("py_check", 5, 117));
    let shard = tmp.path().join("shard");
    write_shard(&s, &shard, &WriterSettings::default()).unwrap();
    let multi = tmp.path().join("multi.parquet");
    write_multi(&multi, [&s], &WriterSettings::default()).unwrap();
    let script = r#"
import sys, json, pyarrow.parquet as pq, pyarrow.compute as pc
shard, multi = sys.argv[1], sys.argv[2]
n = pq.read_table(shard + "/nodes.parquet"); e = pq.read_table(shard + "/edges.parquet")
m = pq.read_table(shard + "/node_map.parquet"); x = pq.read_table(multi)
assert [f.name for f in n.schema][:7] == ["node_id","t","kind","session_id","symbol","tf","price"]
assert str(n.schema.field("node_id").type) == "uint32" and str(e.schema.field("dt").type) == "int32"
print(json.dumps({"nodes": n.num_rows, "edges": e.num_rows, "map": m.num_rows, "multi": x.num_rows,
  "t": n.column("t").to_pylist(), "f8": n.column("f8").to_pylist(), "e3": e.column("e3").to_pylist(),
  "events_in_multi": x.filter(pc.equal(x.column("record"), 0)).num_rows}))
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(&shard).arg(&multi).output().unwrap();
    assert!(out.status.success(), "pyarrow failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodes"], 117);
    assert_eq!(v["map"], 117);
    assert_eq!(v["edges"].as_u64().unwrap() as usize, s.edges().len());
    assert_eq!(v["multi"].as_u64().unwrap() as usize, 117 + s.edges().len());
    assert_eq!(v["events_in_multi"], 117);
    let t: Vec<i64> = serde_json::from_value(v["t"].clone()).unwrap();
    assert_eq!(t, s.times_ms());
    let f8: Vec<f32> = serde_json::from_value(v["f8"].clone()).unwrap();
    assert_eq!(f8, s.events().iter().map(|e| e.features[8]).collect::<Vec<_>>());
    let e3: Vec<f32> = serde_json::from_value(v["e3"].clone()).unwrap();
    assert_eq!(e3, s.edges().iter().map(|e| e.features[3]).collect::<Vec<_>>());
}

/// Random valid sessions: arbitrary ids, times (with ties), kinds, prices, features and edges.
fn arb_session() -> impl Strategy<Value = Session> {
    (1usize..40, any::<u64>(), "[A-Za-z0-9_]{1,12}", "[A-Z]{0,6}").prop_flat_map(|(n, seed, id, stype)| {
        let events = proptest::collection::vec(
            (-1_000_000i64..1_000_000, 0u8..4, -1e6f64..1e6, proptest::collection::vec(-1e3f32..1e3, NODE_FEATURES)),
            n,
        );
        let edges = proptest::collection::vec(
            (0..n, 0..n, 0u8..4, any::<i32>(), proptest::collection::vec(-1e3f32..1e3, EDGE_FEATURES)),
            0..(2 * n),
        );
        (events, edges).prop_map(move |(events, edges)| {
            let base = (seed % 1_000_000) as u32;
            let events: Vec<Event> = events
                .into_iter()
                .enumerate()
                .map(|(i, (t, k, p, f))| {
                    let mut e = Event::new(base + i as u32, t / 60_000 * 60_000, EventKind::from_code(k).unwrap(), p);
                    e.features.copy_from_slice(&f);
                    e
                })
                .collect();
            let edges = edges
                .into_iter()
                .map(|(a, b, k, dt, f)| {
                    let mut e = Edge::new(base + a as u32, base + b as u32, EdgeType::from_code(k).unwrap(), dt);
                    e.features.copy_from_slice(&f);
                    e
                })
                .collect();
            Session::new(SessionMeta::new(id.clone(), stype.clone(), "NQ", "M5"), events, edges).unwrap()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn round_trips_are_lossless(sessions in proptest::collection::vec(arb_session(), 1..4), rows in 1usize..50) {
        let mut sessions = sessions;
        for (i, s) in sessions.iter_mut().enumerate() {
            let (mut meta, events, edges) = s.clone().into_parts();
            meta.session_id = format!("{i}_{}", meta.session_id);
            *s = Session::new(meta, events, edges).unwrap();
        }
        let tmp = tempfile::tempdir().unwrap();
        let settings = WriterSettings { row_group_rows: rows, ..WriterSettings::default() };
        for s in &sessions {
            let dir = tmp.path().join(s.id());
            write_shard(s, &dir, &settings).unwrap();
            prop_assert_eq!(&read_shard(&dir).unwrap(), s);
        }
        let file = tmp.path().join("multi.parquet");
        write_multi(&file, &sessions, &settings).unwrap();
        prop_assert_eq!(read_multi(&file).unwrap(), sessions);
    }
}
