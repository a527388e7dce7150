//! One test per kind of malformed input: each writes a broken file with arrow and checks that
//! reading fails with the typed error naming the file, the column and the problem.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{Field, Schema};
use ironforge::io::{read_multi, read_sessions, read_shard, write_multi, write_shard, IoError, WriterSettings};
use ironforge::synth::{generate, SessionSpec};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

fn good_shard(tmp: &Path) -> PathBuf {
    let dir = tmp.join("shard");
    write_shard(&generate(&SessionSpec::new("bad", 11, 30)), &dir, &WriterSettings::default()).unwrap();
    dir
}

fn read_batch(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    batches.into_iter().next().unwrap()
}

fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Rewrites a Parquet file with column `name` replaced (`Some`) or dropped (`None`).
fn rewrite(path: &Path, name: &str, new: Option<ArrayRef>) {
    let batch = read_batch(path);
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.name() != name {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        } else if let Some(a) = &new {
            fields.push(Field::new(name, a.data_type().clone(), true));
            columns.push(a.clone());
        }
    }
    write_batch(path, &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap());
}

/// Rewrites a Parquet file with an extra column appended.
fn append_column(path: &Path, name: &str, array: ArrayRef) {
    let batch = read_batch(path);
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    fields.push(Field::new(name, array.data_type().clone(), true));
    columns.push(array);
    write_batch(path, &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap());
}

/// The error and its causes, as the `ironforge` binary prints them.
fn message(e: &IoError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

#[test]
fn truncated_file_is_refused_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let bytes = std::fs::read(&nodes).unwrap();
    std::fs::write(&nodes, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::Parquet { ref path, .. } if path == &nodes), "{err:?}");
    assert!(message(&err).contains("nodes.parquet") && message(&err).contains("truncated"), "{err}");
}

#[test]
fn truncated_multi_session_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.parquet");
    let sessions: Vec<_> = (0..5).map(|i| generate(&SessionSpec::new(format!("s{i}"), i, 80))).collect();
    write_multi(&file, &sessions, &WriterSettings::default()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();
    let err = read_multi(&file).unwrap_err();
    assert!(matches!(err, IoError::Parquet { .. }), "{err:?}");
    assert!(message(&err).contains("m.parquet"), "{err}");
}

#[test]
fn missing_column_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    rewrite(&dir.join("nodes.parquet"), "price", None);
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::MissingColumn { ref column, .. } if column == "price"), "{err:?}");
    assert!(message(&err).contains("nodes.parquet") && message(&err).contains("`price` is missing"), "{err}");
}

#[test]
fn mistyped_column_is_named_with_both_types() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let edges = dir.join("edges.parquet");
    let n = read_batch(&edges).num_rows();
    rewrite(&edges, "dt", Some(Arc::new(Float64Array::from(vec![1.5; n]))));
    let err = read_shard(&dir).unwrap_err();
    match &err {
        IoError::ColumnType { column, expected, found, .. } => {
            assert_eq!(column, "dt");
            assert_eq!(expected, "int32");
            assert_eq!(found, "Float64");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(message(&err).contains("edges.parquet"), "{err}");
}

#[test]
fn nan_timestamp_is_refused_at_its_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let n = read_batch(&nodes).num_rows();
    let mut t: Vec<f64> = (0..n).map(|i| i as f64 * 60_000.0).collect();
    t[7] = f64::NAN;
    rewrite(&nodes, "t", Some(Arc::new(Float64Array::from(t))));
    let err = read_shard(&dir).unwrap_err();
    assert!(
        matches!(err, IoError::NonFiniteTimestamp { ref column, row: 7, value, .. } if column == "t" && value.is_nan()),
        "{err:?}"
    );
    assert!(message(&err).contains("nodes.parquet") && message(&err).contains("row 7"), "{err}");
}

#[test]
fn null_value_is_refused_at_its_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let batch = read_batch(&nodes);
    let t = batch.column_by_name("t").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
    let with_null: Int64Array = (0..t.len()).map(|i| (i != 3).then(|| t.value(i))).collect();
    rewrite(&nodes, "t", Some(Arc::new(with_null)));
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::NullValue { ref column, row: 3, .. } if column == "t"), "{err:?}");
}

#[test]
fn dangling_edge_names_column_row_and_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let edges = dir.join("edges.parquet");
    let batch = read_batch(&edges);
    let dst = batch.column_by_name("dst").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let mut values: Vec<u32> = dst.values().to_vec();
    values[4] = 999_999;
    rewrite(&edges, "dst", Some(Arc::new(UInt32Array::from(values))));
    let err = read_shard(&dir).unwrap_err();
    assert!(
        matches!(err, IoError::DanglingEdge { ref column, row: 4, node_id: 999_999, .. } if column == "dst"),
        "{err:?}"
    );
    assert!(message(&err).contains("edges.parquet"), "{err}");
}

#[test]
fn dangling_edge_in_a_multi_session_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.parquet");
    write_multi(&file, [&generate(&SessionSpec::new("a", 1, 20))], &WriterSettings::default()).unwrap();
    let batch = read_batch(&file);
    let dst = batch.column_by_name("dst").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let broken: UInt32Array =
        (0..dst.len()).map(|i| dst.is_valid(i).then(|| if i == 25 { 7 } else { dst.value(i) })).collect();
    let mut columns = batch.columns().to_vec();
    let at = batch.schema().index_of("dst").unwrap();
    columns[at] = Arc::new(broken);
    write_batch(&file, &RecordBatch::try_new(batch.schema(), columns).unwrap());
    let err = read_multi(&file).unwrap_err();
    assert!(matches!(err, IoError::DanglingEdge { ref column, row: 25, node_id: 7, .. } if column == "dst"), "{err:?}");
}

/// 45, 51 and 53 node features are read (tests/integration/io_bad_input.rs); 44 are refused.
#[test]
fn too_few_node_features_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    rewrite(&dir.join("nodes.parquet"), "f44", None);
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::FeatureCount { prefix: 'f', found: 44, .. }), "{err:?}");
    assert!(message(&err).contains("nodes.parquet") && message(&err).contains("refused"), "{err}");
    assert!(message(&err).contains("45, 51 or 53 (f0..f44, f0..f50 or f0..f52)"), "{err}");
}

#[test]
fn forty_six_node_features_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let n = read_batch(&nodes).num_rows();
    append_column(&nodes, "f45", Arc::new(Float32Array::from(vec![0.0f32; n])));
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::FeatureCount { prefix: 'f', found: 46, .. }), "{err:?}");
}

#[test]
fn wrong_edge_feature_count_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    rewrite(&dir.join("edges.parquet"), "e19", None);
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::FeatureCount { prefix: 'e', found: 19, .. }), "{err:?}");
    assert!(message(&err).contains("exactly 20 (e0..e19)"), "{err}");
}

#[test]
fn nan_price_is_refused_with_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let n = read_batch(&nodes).num_rows();
    let mut p = vec![100.0f64; n];
    p[2] = f64::NAN;
    rewrite(&nodes, "price", Some(Arc::new(Float64Array::from(p))));
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::Session { .. }), "{err:?}");
    assert!(message(&err).contains("price is not finite"), "{err}");
}

#[test]
fn unknown_kind_code_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let n = read_batch(&nodes).num_rows();
    rewrite(&nodes, "kind", Some(Arc::new(arrow_array::UInt8Array::from(vec![9u8; n]))));
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::UnknownCode { ref column, row: 0, code: 9, .. } if column == "kind"), "{err:?}");
}

#[test]
fn meta_json_without_a_field_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    std::fs::write(dir.join("meta.json"), r#"{"session_id": "bad", "symbol": "NQ", "timeframe": "M5"}"#).unwrap();
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::Meta { .. }), "{err:?}");
    assert!(message(&err).contains("meta.json") && message(&err).contains("session_type"), "{err}");
}

#[test]
fn meta_json_count_mismatch_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let text =
        std::fs::read_to_string(dir.join("meta.json")).unwrap().replace("\"node_count\": 30", "\"node_count\": 31");
    std::fs::write(dir.join("meta.json"), text).unwrap();
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::Inconsistent { ref column, .. } if column == "node_count"), "{err:?}");
}

#[test]
fn folder_without_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_sessions(tmp.path()).unwrap_err();
    assert!(matches!(err, IoError::NotSessions { .. }), "{err:?}");
}

#[test]
fn out_of_range_settings_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let s = generate(&SessionSpec::new("x", 1, 10));
    let bad = WriterSettings { row_group_rows: 0, ..WriterSettings::default() };
    assert!(matches!(write_shard(&s, tmp.path(), &bad), Err(IoError::Settings { .. })));
    let bad = WriterSettings { zstd_level: 0, ..WriterSettings::default() };
    assert!(matches!(write_multi(&tmp.path().join("m.parquet"), [&s], &bad), Err(IoError::Settings { .. })));
}

#[test]
fn mistyped_string_column_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = good_shard(tmp.path());
    let nodes = dir.join("nodes.parquet");
    let n = read_batch(&nodes).num_rows();
    rewrite(&nodes, "symbol", Some(Arc::new(Int64Array::from(vec![1i64; n]))));
    let err = read_shard(&dir).unwrap_err();
    assert!(matches!(err, IoError::ColumnType { ref column, .. } if column == "symbol"), "{err:?}");
}
