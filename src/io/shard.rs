//! The shard layout: one folder per session with `nodes.parquet`, `edges.parquet`,
//! `node_map.parquet` and `meta.json`, as pyarrow wrote `../shared/data/nq-m5`.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use serde_json::Value;

use super::columns::{feature_width, BatchColumns};
use super::rows::{
    check_dangling, check_unique_node_ids, edge_feature_names, node_feature_names, EdgeColumns, EventColumns,
    RowBuilders,
};
use super::schema::{
    edges_schema, node_map_schema, nodes_schema_for, ACCEPTED_EDGE_FEATURES, ACCEPTED_NODE_FEATURES,
    NODES_STRING_COLUMNS, NODE_MAP_STRING_COLUMNS,
};
use super::{files, IoError, WriterSettings};
use crate::atomic::{write_atomic, AtomicDir};
use crate::session::{ExtraFeatures, Session, SessionMeta};

/// File names of a shard folder.
pub const NODES_FILE: &str = "nodes.parquet";
/// Edges file of a shard folder.
pub const EDGES_FILE: &str = "edges.parquet";
/// Node map file of a shard folder.
pub const NODE_MAP_FILE: &str = "node_map.parquet";
/// Metadata file of a shard folder.
pub const META_FILE: &str = "meta.json";

/// Whether `dir` looks like a shard folder (it holds a `nodes.parquet`).
pub fn is_shard_dir(dir: &Path) -> bool {
    dir.join(NODES_FILE).is_file()
}

/// Reads and validates one shard folder.
///
/// `meta.json` gives the session's identity; every `nodes.parquet` row must carry the same
/// `session_id`, `symbol` and `tf`; node ids must be distinct; `node_count`/`edge_count` in
/// `meta.json`, when present, must match; `node_map.parquet`, when present, must map each
/// `local_idx` to the node id at that position of the time-sorted events. `nodes.parquet` may
/// hold 45, 51 or 53 node features; the columns beyond `f44` become the session's
/// [`crate::session::ExtraFeatures`].
///
/// ```no_run
/// let s = ironforge::io::read_shard(std::path::Path::new("fixtures/golden/golden_00_117"))?;
/// assert_eq!(s.len(), 117);
/// # Ok::<(), ironforge::io::IoError>(())
/// ```
pub fn read_shard(dir: &Path) -> Result<Session, IoError> {
    let meta_path = dir.join(META_FILE);
    let meta_json = read_meta_json(&meta_path)?;
    let meta = SessionMeta::new(
        meta_str(&meta_json, &meta_path, "session_id")?,
        meta_str(&meta_json, &meta_path, "session_type")?,
        meta_str(&meta_json, &meta_path, "symbol")?,
        meta_str(&meta_json, &meta_path, "timeframe")?,
    );

    let nodes_path = dir.join(NODES_FILE);
    let (schema, batches) = files::read_all(&nodes_path)?;
    let f_names = node_feature_names(feature_width(&nodes_path, &schema, 'f', ACCEPTED_NODE_FEATURES)?);
    let mut events = Vec::new();
    let mut extra = Vec::new();
    let mut extra_width = 0;
    let mut first_row = 0;
    for batch in &batches {
        let cols = BatchColumns { batch, path: &nodes_path, first_row };
        let ev_cols = EventColumns::new(&cols, &f_names)?;
        let expect = [("session_id", &meta.session_id), ("symbol", &meta.symbol), ("tf", &meta.timeframe)];
        let strs = expect.iter().map(|(c, v)| Ok((cols.str(c)?, *v))).collect::<Result<Vec<_>, IoError>>()?;
        for i in 0..batch.num_rows() {
            for (col, want) in &strs {
                let got = col.get(i)?;
                if got != want.as_str() {
                    return Err(IoError::Inconsistent {
                        path: nodes_path.clone(),
                        column: col.name.to_string(),
                        row: col.row(i),
                        detail: format!("{got:?} differs from {want:?} in {META_FILE}"),
                    });
                }
            }
            events.push(ev_cols.event(i, &nodes_path)?);
            ev_cols.push_extra(i, &mut extra)?;
        }
        extra_width = ev_cols.extra_width();
        first_row += batch.num_rows();
    }
    let rows: Vec<usize> = (0..events.len()).collect();
    check_unique_node_ids(&nodes_path, &events, &rows)?;

    let edges_path = dir.join(EDGES_FILE);
    let (schema, batches) = files::read_all(&edges_path)?;
    feature_width(&edges_path, &schema, 'e', ACCEPTED_EDGE_FEATURES)?;
    let e_names = edge_feature_names();
    let mut edges = Vec::new();
    let mut first_row = 0;
    for batch in &batches {
        let cols = BatchColumns { batch, path: &edges_path, first_row };
        let edge_cols = EdgeColumns::new(&cols, "src", &e_names)?;
        for i in 0..batch.num_rows() {
            edges.push(edge_cols.edge(i, &edges_path)?);
        }
        first_row += batch.num_rows();
    }
    let rows: Vec<usize> = (0..edges.len()).collect();
    check_dangling(&edges_path, &meta.session_id, "src", &events, &edges, &rows)?;

    check_count(&meta_json, &meta_path, "node_count", events.len())?;
    check_count(&meta_json, &meta_path, "edge_count", edges.len())?;
    let session_id = meta.session_id.clone();
    let built = if extra_width == 0 {
        Session::new(meta, events, edges)
    } else {
        ExtraFeatures::new(extra_width, extra).and_then(|x| Session::with_extra_features(meta, events, edges, x))
    };
    let session = built.map_err(|source| IoError::Session { path: nodes_path.clone(), session_id, source })?;
    let map_path = dir.join(NODE_MAP_FILE);
    if map_path.exists() {
        check_node_map(&map_path, &session)?;
    }
    Ok(session)
}

fn read_meta_json(path: &Path) -> Result<Value, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| IoError::Meta { path: path.to_path_buf(), detail: format!("not JSON: {e}") })
}

fn meta_str(json: &Value, path: &Path, field: &str) -> Result<String, IoError> {
    json.get(field).and_then(Value::as_str).map(str::to_string).ok_or_else(|| IoError::Meta {
        path: path.to_path_buf(),
        detail: format!("field `{field}` is missing or not a string"),
    })
}

fn check_count(json: &Value, path: &Path, field: &str, actual: usize) -> Result<(), IoError> {
    match json.get(field) {
        None => Ok(()),
        Some(v) if v.as_u64() == Some(actual as u64) => Ok(()),
        Some(v) => Err(IoError::Inconsistent {
            path: path.to_path_buf(),
            column: field.to_string(),
            row: 0,
            detail: format!("says {v}, but the Parquet file has {actual} rows"),
        }),
    }
}

fn check_node_map(path: &Path, session: &Session) -> Result<(), IoError> {
    let (_, batches) = files::read_all(path)?;
    let mut first_row = 0;
    for batch in &batches {
        let cols = BatchColumns { batch, path, first_row };
        let local_idx = cols.i64("local_idx")?;
        let node_id = cols.i64("node_id")?;
        for i in 0..batch.num_rows() {
            let idx = local_idx.get(i)?;
            let id = node_id.get(i)?;
            let expected = usize::try_from(idx).ok().and_then(|k| session.events().get(k)).map(|e| e.node_id as i64);
            if expected != Some(id) {
                return Err(IoError::Inconsistent {
                    path: path.to_path_buf(),
                    column: "node_id".into(),
                    row: first_row + i,
                    detail: format!("local_idx {idx} maps to node id {id}, but the sorted events say {expected:?}"),
                });
            }
        }
        first_row += batch.num_rows();
    }
    if first_row != session.len() {
        return Err(IoError::Inconsistent {
            path: path.to_path_buf(),
            column: "local_idx".into(),
            row: 0,
            detail: format!("{first_row} rows for {} events", session.len()),
        });
    }
    Ok(())
}

/// Writes one session as a shard folder `dir`, readable by pyarrow and by [`read_shard`]. The
/// bytes are a pure function of the session and the settings.
///
/// The folder is written whole or not at all: staged beside `dir` under a temporary name and
/// renamed to `dir` once its four files are complete ([`crate::atomic::AtomicDir`]); on any
/// failure nothing is left and an earlier `dir` is kept as it was. `dir`'s parent folders are
/// created if needed. An existing `dir` is replaced when it is empty or holds nothing but shard
/// files; one holding anything else is refused ([`IoError::OutputInTheWay`]).
///
/// `meta.json` gets `session_id, session_type, date` (UTC date of the first event),
/// `node_count, edge_count, symbol, timeframe, timezone_target` ("UTC") and `feature_set`;
/// `node_map.parquet`'s `timestamp` is the UTC time of day `HH:MM:SS`.
///
/// ```
/// use ironforge::io::{read_shard, write_shard, WriterSettings};
/// use ironforge::synth::{generate, SessionSpec};
/// let dir = std::env::temp_dir().join(format!("ironforge_doc_shard_{}", std::process::id()));
/// let s = generate(&SessionSpec::new("doc", 1, 40));
/// write_shard(&s, &dir, &WriterSettings::default())?;
/// assert_eq!(read_shard(&dir)?, s);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), ironforge::io::IoError>(())
/// ```
pub fn write_shard(session: &Session, dir: &Path, settings: &WriterSettings) -> Result<(), IoError> {
    settings.validate()?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::write(parent, e))?;
    }
    check_replaceable_shard(dir)?;
    let stage = AtomicDir::create(dir).map_err(|e| IoError::write(dir, e))?;
    write_shard_into(session, stage.path(), dir, settings)?;
    stage.commit().map_err(|e| IoError::write(dir, e))
}

/// Files a shard folder may hold.
const SHARD_FILES: [&str; 4] = [NODES_FILE, EDGES_FILE, NODE_MAP_FILE, META_FILE];

/// Refuses an existing `dir` that [`write_shard`] must not replace: anything but a folder
/// that is empty or holds shard files only.
pub(crate) fn check_replaceable_shard(dir: &Path) -> Result<(), IoError> {
    let in_the_way = |detail: String| IoError::OutputInTheWay { path: dir.to_path_buf(), detail };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IoError::os(dir, e)),
        Ok(m) if !m.is_dir() => Err(in_the_way("exists and is not a folder".into())),
        Ok(_) => {
            for entry in std::fs::read_dir(dir).map_err(|e| IoError::os(dir, e))? {
                let name = entry.map_err(|e| IoError::os(dir, e))?.file_name();
                if !SHARD_FILES.iter().any(|f| name == *f) {
                    return Err(in_the_way(format!("is a folder holding {name:?}, which is not a shard file")));
                }
            }
            Ok(())
        }
    }
}

/// Writes the four files of `session`'s shard into the existing, empty folder `into`; errors
/// name the files under `dir`, the folder's final name (`into` is a staged folder).
pub(crate) fn write_shard_into(
    session: &Session,
    into: &Path,
    dir: &Path,
    settings: &WriterSettings,
) -> Result<(), IoError> {
    let meta = session.meta();
    let n = session.len();

    let mut b = RowBuilders::new();
    for ev in session.events() {
        b.push_event(ev, false);
    }
    let repeat = |s: &str| -> ArrayRef {
        let mut sb = StringBuilder::new();
        (0..n).for_each(|_| sb.append_value(s));
        Arc::new(sb.finish())
    };
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(b.node_id.finish()),
        Arc::new(b.t.finish()),
        Arc::new(b.kind.finish()),
        repeat(&meta.session_id),
        repeat(&meta.symbol),
        repeat(&meta.timeframe),
        Arc::new(b.price.finish()),
    ];
    columns.extend(b.finish_f());
    if let Some(x) = session.extra_features() {
        columns.extend((0..x.width()).map(|j| {
            Arc::new(arrow_array::Float32Array::from_iter_values((0..x.rows()).map(|i| x.row(i)[j]))) as ArrayRef
        }));
    }
    let nodes_path = dir.join(NODES_FILE);
    let nodes = RecordBatch::try_new(nodes_schema_for(session.node_feature_width()), columns)
        .map_err(|e| IoError::arrow(&nodes_path, e))?;
    files::write_one(&into.join(NODES_FILE), &nodes_path, &nodes, settings.properties(&NODES_STRING_COLUMNS)?)?;

    let mut b = RowBuilders::new();
    for edge in session.edges() {
        b.push_edge(edge, false);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(b.node_id.finish()),
        Arc::new(b.dst.finish()),
        Arc::new(b.etype.finish()),
        Arc::new(b.dt.finish()),
    ];
    columns.extend(b.finish_e());
    let edges_path = dir.join(EDGES_FILE);
    let edges = RecordBatch::try_new(edges_schema(), columns).map_err(|e| IoError::arrow(&edges_path, e))?;
    files::write_one(&into.join(EDGES_FILE), &edges_path, &edges, settings.properties(&[])?)?;

    let map_path = dir.join(NODE_MAP_FILE);
    let mut local_idx = Int64Builder::new();
    let mut node_id = Int64Builder::new();
    let mut t = Int64Builder::new();
    let mut timestamp = StringBuilder::new();
    let mut source_type = StringBuilder::new();
    for (i, ev) in session.events().iter().enumerate() {
        local_idx.append_value(i as i64);
        node_id.append_value(ev.node_id as i64);
        t.append_value(ev.t_ms);
        timestamp.append_value(utc_time_of_day(ev.t_ms));
        source_type.append_value(ev.kind.name());
    }
    let map = RecordBatch::try_new(
        node_map_schema(),
        vec![
            repeat(&meta.session_id),
            Arc::new(local_idx.finish()),
            Arc::new(node_id.finish()),
            Arc::new(t.finish()),
            Arc::new(timestamp.finish()),
            Arc::new(source_type.finish()),
        ],
    )
    .map_err(|e| IoError::arrow(&map_path, e))?;
    files::write_one(&into.join(NODE_MAP_FILE), &map_path, &map, settings.properties(&NODE_MAP_STRING_COLUMNS)?)?;

    let meta_json = serde_json::json!({
        "session_id": meta.session_id,
        "session_type": meta.session_type,
        "date": utc_date(session.events()[0].t_ms),
        "node_count": n,
        "edge_count": session.edges().len(),
        "symbol": meta.symbol,
        "timeframe": meta.timeframe,
        "timezone_target": "UTC",
        "feature_set": "v1.0",
    });
    let meta_path = dir.join(META_FILE);
    let text = serde_json::to_string_pretty(&meta_json).expect("a json! value always serialises") + "\n";
    write_atomic(&into.join(META_FILE), text.as_bytes()).map_err(|e| IoError::write(&meta_path, e))?;
    Ok(())
}

/// `HH:MM:SS` of a UTC millisecond timestamp.
fn utc_time_of_day(t_ms: i64) -> String {
    let secs = t_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `YYYY-MM-DD` (proleptic Gregorian, UTC) of a millisecond timestamp.
fn utc_date(t_ms: i64) -> String {
    let (year, month, day) = super::date::civil_from_days(t_ms.div_euclid(86_400_000));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_match_known_values() {
        assert_eq!(utc_date(1_753_372_800_000), "2025-07-24");
        assert_eq!(utc_time_of_day(1_753_372_800_000), "16:00:00");
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_time_of_day(-1), "23:59:59");
    }
}
