//! Imported edges of the real NQ M5 shards (`../shared/data/nq-m5`): are they acyclic?
//! Skips cleanly when the folder is absent. The shards are read here with a minimal reader of
//! the four columns the DAG needs (the full importer is `ironforge::io`).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt8Type};
use arrow_array::RecordBatch;
use ironforge::dag::{BuildParams, Dag};
use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn batches(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    reader.map(|b| b.unwrap()).collect()
}

fn read_shard(dir: &Path) -> Session {
    let mut events = Vec::new();
    for b in batches(&dir.join("nodes.parquet")) {
        let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("{}: no column {name}", dir.display()));
        let (ids, t, kind, price) = (
            col("node_id").as_primitive::<UInt32Type>(),
            col("t").as_primitive::<Int64Type>(),
            col("kind").as_primitive::<UInt8Type>(),
            col("price").as_primitive::<Float64Type>(),
        );
        for r in 0..b.num_rows() {
            events.push(Event::new(
                ids.value(r),
                t.value(r),
                EventKind::from_code(kind.value(r)).unwrap(),
                price.value(r),
            ));
        }
    }
    let mut edges = Vec::new();
    for b in batches(&dir.join("edges.parquet")) {
        let col = |name: &str| b.column_by_name(name).unwrap_or_else(|| panic!("{}: no column {name}", dir.display()));
        let (src, dst, etype) = (
            col("src").as_primitive::<UInt32Type>(),
            col("dst").as_primitive::<UInt32Type>(),
            col("etype").as_primitive::<UInt8Type>(),
        );
        for r in 0..b.num_rows() {
            edges.push(Edge::new(src.value(r), dst.value(r), EdgeType::from_code(etype.value(r)).unwrap(), 0));
        }
    }
    let id = dir.file_name().unwrap().to_string_lossy().trim_start_matches("shard_").to_string();
    Session::new(SessionMeta::new(id, "REAL", "NQ", "M5"), events, edges).unwrap()
}

fn shard_dirs() -> Option<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("edges.parquet").exists())
        .collect();
    dirs.sort();
    Some(dirs)
}

#[test]
fn real_shards_imported_edges_are_acyclic() {
    let Some(dirs) = shard_dirs() else {
        eprintln!("skipped: ../shared/data/nq-m5 is absent");
        return;
    };
    assert_eq!(dirs.len(), 40, "expected the 40 real sessions");
    let (mut edges, mut tied, mut generations) = (0, 0, 0);
    for dir in &dirs {
        let session = read_shard(dir);
        let times = session.times_ms();
        for &(s, d) in &session.local_edges() {
            // Imported edges never point back in time; many join events of one timestamp.
            assert!(times[s as usize] <= times[d as usize], "{}: edge goes back in time", session.id());
            tied += usize::from(times[s as usize] == times[d as usize]);
            edges += 1;
        }
        let dag = Dag::from_session(&session).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dag.generations().order().len(), session.len());
        generations += dag.generations().len();
        assert!(Dag::built(&session, &BuildParams::default()).is_ok());
    }
    eprintln!(
        "{} shards: {edges} imported edges, {tied} between tied timestamps, {generations} generations in all",
        dirs.len()
    );
}
