//! Bad input, end to end: every kind of malformed or hostile input is built in a temporary
//! folder (or taken from `fixtures/codecs/`) and given to the library and to the built binary.
//! Each refusal must exit non-zero without a panic (101) or an abort (134), name the file and
//! the column, array or flag, print each cause once, and leave no output file behind.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{Field, Schema};
use ironforge::attention::model::Model;
use ironforge::attention::npz::NpzError;
use ironforge::io::{read_multi, read_shard, write_multi, write_shard, IoError, WriterSettings};
use ironforge::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta};
use ironforge::synth::{generate, SessionSpec};
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;

use crate::common::chain;

// ---------------------------------------------------------------------------------------------
// Helpers

fn ironforge<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironforge")).args(args).output().expect("the binary runs")
}

fn codecs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codecs")
}

/// The stderr of a refused run, after checking the exit (an error, not a panic or an abort),
/// that every needle is named, and that no cause is printed twice.
fn refused(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(matches!(code, Some(c) if c != 0 && c != 101 && c != 134), "exit {code:?} (signal?): {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} is not in: {err}");
    }
    for line in err.lines().filter(|l| l.starts_with("ironforge: error: ")) {
        let parts: Vec<&str> = line.split(": ").collect();
        for (i, part) in parts.iter().enumerate() {
            assert!(part.len() < 12 || !parts[i + 1..].contains(part), "a cause printed twice: {line}");
        }
    }
    err
}

/// `motifs` on the DAG rebuilt from the times (the session's own edges ignored), with the
/// fewest null iterations and bootstrap replicates.
fn motifs_on_rebuilt_edges(dir: &Path) -> Output {
    ironforge(&[
        OsStr::new("motifs"),
        dir.as_os_str(),
        OsStr::new("--build"),
        OsStr::new("--iterations"),
        OsStr::new("2"),
        OsStr::new("--bootstrap"),
        OsStr::new("2"),
    ])
}

/// `ironforge embed` of the first golden fixture with the model weights in `weights`, to `out`.
fn embed_golden_with(weights: &Path, out: &Path) -> Output {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/golden_00_117");
    ironforge(&[
        OsStr::new("embed"),
        golden.as_os_str(),
        OsStr::new("--weights"),
        weights.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ])
}

fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn read_batch(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1, "small test files decode in one batch");
    batches.into_iter().next().unwrap()
}

fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Rewrites a Parquet file with `extra` columns appended.
fn append_columns(path: &Path, extra: Vec<(String, ArrayRef)>) {
    let batch = read_batch(path);
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    for (name, array) in extra {
        fields.push(Field::new(name, array.data_type().clone(), true));
        columns.push(array);
    }
    write_batch(path, &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap());
}

fn shard(tmp: &Path, name: &str, session: &Session) -> PathBuf {
    let dir = tmp.join(name);
    write_shard(session, &dir, &WriterSettings::default()).unwrap();
    dir
}

/// A session over node ids 100.. with the given edges (node ids).
fn session_with_edges(id: &str, n: u32, edges: &[(u32, u32)]) -> Session {
    let events = (0..n).map(|i| Event::new(100 + i, i as i64 * 60_000, EventKind::PriceMovement, 100.0)).collect();
    let edges = edges.iter().map(|&(s, d)| Edge::new(s, d, EdgeType::TemporalNext, 0)).collect();
    Session::new(SessionMeta::new(id, "NY", "NQ", "M5"), events, edges).unwrap()
}

/// The bytes of a `.npy` file: a version 1.0 header for `header` (padded as NumPy pads it),
/// then `data`.
fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut text = header.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out.extend(data);
    out
}

fn array_npy(a: &ArrayD<f32>) -> Vec<u8> {
    let mut out = Vec::new();
    a.write_npy(&mut out).unwrap();
    out
}

/// Writes a `.npz` (stored entries, as `np.savez` writes) from `(name, .npy bytes)`.
fn write_npz(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The entries of a `.npz` as `(name without .npy, bytes)`.
fn npz_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().trim_end_matches(".npy").to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Codecs and checksums

/// Every codec pyarrow writes is read, and the fixtures really use it (footer).
#[test]
fn every_pyarrow_codec_is_read() {
    let reference = read_shard(&codecs().join("none")).unwrap();
    for (folder, codec) in [
        ("snappy", "SNAPPY"),
        ("gzip", "GZIP"),
        ("brotli", "BROTLI"),
        ("lz4", "LZ4_RAW"),
        ("zstd", "ZSTD"),
        ("none", "UNCOMPRESSED"),
        ("checksum", "UNCOMPRESSED"),
    ] {
        let dir = codecs().join(folder);
        for file in ["nodes.parquet", "edges.parquet"] {
            let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(dir.join(file)).unwrap()).unwrap();
            let found: Compression = builder.metadata().row_group(0).column(0).compression();
            assert!(found.to_string().starts_with(codec), "{folder}/{file}: {found}");
        }
        let s = read_shard(&dir).unwrap_or_else(|e| panic!("{folder}: {}", chain(&e)));
        assert_eq!(s.id(), format!("codec_{folder}"));
        assert_eq!((s.events(), s.edges()), (reference.events(), reference.edges()), "{folder}");
        succeeded(&ironforge(&[OsStr::new("inspect"), dir.as_os_str()]));
    }
}

/// Column chunk `column` of `file`: (dictionary page offset, data page offset, end).
fn chunk(file: &Path, column: &str) -> (usize, usize, usize) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(file).unwrap()).unwrap();
    let rg = builder.metadata().row_group(0);
    let c = rg.columns().iter().find(|c| c.column_path().string() == column).unwrap();
    let data = c.data_page_offset() as usize;
    let start = c.dictionary_page_offset().map_or(data, |d| d as usize);
    (start, data, start + c.compressed_size() as usize)
}

/// A byte flipped inside a page: silently a different price without checksums, an error
/// naming the file and the checksum with them.
#[test]
fn a_flipped_byte_in_a_checksummed_page_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    for (folder, checksums) in [("none", false), ("checksum", true)] {
        let dir = tmp.path().join(folder);
        std::fs::create_dir(&dir).unwrap();
        for f in ["nodes.parquet", "edges.parquet", "meta.json"] {
            std::fs::copy(codecs().join(folder).join(f), dir.join(f)).unwrap();
        }
        let nodes = dir.join("nodes.parquet");
        // The last byte of the dictionary page of `price`: the top byte of its last value.
        let (_, data, _) = chunk(&nodes, "price");
        let mut bytes = std::fs::read(&nodes).unwrap();
        bytes[data - 1] ^= 0x01;
        std::fs::write(&nodes, &bytes).unwrap();
        let result = read_shard(&dir);
        if checksums {
            let err = result.unwrap_err();
            let text = chain(&err);
            assert!(text.contains("nodes.parquet") && text.contains("checksum"), "{text}");
            refused(&ironforge(&[OsStr::new("inspect"), dir.as_os_str()]), &["nodes.parquet", "checksum"]);
        } else {
            let s = result.expect("without checksums the flip goes unnoticed");
            let prices: Vec<f64> = s.events().iter().map(|e| e.price).collect();
            assert!(prices.iter().any(|p| !(23_000.0..23_010.0).contains(p)), "{prices:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Feature variants

fn variant_shard(tmp: &Path, width: usize) -> (PathBuf, Session) {
    let base = generate(&SessionSpec::new(format!("wide{width}"), 3, 24));
    let dir = shard(tmp, &format!("wide{width}"), &base);
    let n = base.len();
    let extra = (45..width)
        .map(|j| {
            let values: Vec<f32> = (0..n).map(|i| (j * 1000 + i) as f32).collect();
            (format!("f{j}"), Arc::new(Float32Array::from(values)) as ArrayRef)
        })
        .collect();
    append_columns(&dir.join("nodes.parquet"), extra);
    (dir, base)
}

#[test]
fn fifty_one_and_fifty_three_feature_shards_are_read_and_carried() {
    let tmp = tempfile::tempdir().unwrap();
    for width in [51, 53] {
        let (dir, base) = variant_shard(tmp.path(), width);
        let s = read_shard(&dir).unwrap_or_else(|e| panic!("{}", chain(&e)));
        assert_eq!(s.node_feature_width(), width);
        assert_eq!((s.events(), s.edges()), (base.events(), base.edges()), "the 45 base features are unchanged");
        let x = s.extra_features().unwrap();
        assert_eq!((x.width(), x.rows()), (width - 45, base.len()));
        // Written in time order, so row i is event i: f{j} = j * 1000 + i.
        assert_eq!(x.row(5)[0], 45_005.0);
        assert_eq!(x.row(7)[width - 46], ((width - 1) * 1000 + 7) as f32);
        // Written back as a shard, by the library or by `convert`, the extras survive.
        let copy = shard(tmp.path(), &format!("copy{width}"), &s);
        assert_eq!(read_shard(&copy).unwrap(), s);
        let folder = tmp.path().join(format!("converted{width}"));
        succeeded(&ironforge(&[OsStr::new("convert"), dir.as_os_str(), folder.as_os_str()]));
        assert_eq!(read_shard(&folder.join(s.id())).unwrap(), s);

        let out = succeeded(&ironforge(&[OsStr::new("inspect"), dir.as_os_str()]));
        assert!(
            out.contains(&format!("node features: {width} (f0..f44 read by the engines, f45..f{}", width - 1)),
            "{out}"
        );
        succeeded(&ironforge(&[OsStr::new("dag"), dir.as_os_str()]));
        let motifs = ["motifs", "--iterations", "2", "--bootstrap", "2", "--max-k", "3"];
        let mut args: Vec<&OsStr> = motifs.iter().map(OsStr::new).collect();
        args.insert(1, dir.as_os_str());
        succeeded(&ironforge(&args));

        // The multi-session layout holds the base features only: refused, nothing written.
        let multi = tmp.path().join(format!("wide{width}.parquet"));
        let err = write_multi(&multi, [&s], &WriterSettings::default()).unwrap_err();
        assert!(matches!(err, IoError::FeatureVariant { width: w, .. } if w == width), "{err:?}");
        std::fs::remove_file(&multi).ok();
        let out = ironforge(&[OsStr::new("convert"), dir.as_os_str(), multi.as_os_str()]);
        refused(&out, &[&format!("{width} node features"), "shard folders"]);
        assert!(!multi.exists(), "no partial output");
    }
}

#[test]
fn a_multi_session_file_with_fifty_one_features_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.parquet");
    let sessions: Vec<Session> = (0..2).map(|i| generate(&SessionSpec::new(format!("m{i}"), i, 15))).collect();
    write_multi(&file, &sessions, &WriterSettings::default()).unwrap();
    let batch = read_batch(&file);
    let record = batch.column_by_name("record").unwrap().as_any().downcast_ref::<arrow_array::UInt8Array>().unwrap();
    let extra = (45..51)
        .map(|j| {
            let values: Float32Array =
                (0..batch.num_rows()).map(|r| (record.value(r) == 0).then_some((j * 100 + r) as f32)).collect();
            (format!("f{j}"), Arc::new(values) as ArrayRef)
        })
        .collect();
    append_columns(&file, extra);
    let back = read_multi(&file).unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(back.len(), 2);
    for (b, s) in back.iter().zip(&sessions) {
        assert_eq!((b.events(), b.node_feature_width()), (s.events(), 51));
    }
    // Session m1's events start after m0's 15 events and its edges.
    let m0_rows = sessions[0].len() + sessions[0].edges().len();
    assert_eq!(back[1].extra_features().unwrap().row(0)[0], (4500 + m0_rows) as f32);
}

#[test]
fn other_feature_widths_are_refused_naming_the_accepted_ones() {
    let tmp = tempfile::tempdir().unwrap();
    for width in [46, 52, 54] {
        let base = generate(&SessionSpec::new("w", 1, 10));
        let dir = shard(tmp.path(), &format!("w{width}"), &base);
        let extra = (45..width).map(|j| (format!("f{j}"), Arc::new(Float32Array::from(vec![0.0f32; 10])) as ArrayRef));
        append_columns(&dir.join("nodes.parquet"), extra.collect());
        let err = read_shard(&dir).unwrap_err();
        assert!(matches!(err, IoError::FeatureCount { prefix: 'f', found, .. } if found == width), "{err:?}");
        refused(
            &ironforge(&[OsStr::new("dag"), dir.as_os_str()]),
            &["nodes.parquet", &format!("found {width} `f*`"), "45, 51 or 53"],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile .npz files

/// A `.npy` entry of about 1 KB whose header declares a 64 TiB float32 array.
fn huge_npy() -> Vec<u8> {
    npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576, 16), }", &[0u8; 1024])
}

#[test]
fn a_huge_npy_header_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let small = array_npy(&ArrayD::zeros(ndarray::IxDyn(&[2, 4, 3])));
    let cases = [
        ("q", vec![("q".to_string(), huge_npy())]),
        (
            "mask",
            vec![
                ("q".to_string(), small.clone()),
                ("k".to_string(), small.clone()),
                ("v".to_string(), small.clone()),
                ("mask".to_string(), huge_npy()),
            ],
        ),
    ];
    for (array, entries) in cases {
        let input = tmp.path().join(format!("huge_{array}.npz"));
        write_npz(&input, &entries);
        assert!(std::fs::metadata(&input).unwrap().len() < 8_192, "a small file");
        let output = tmp.path().join(format!("out_{array}.npy"));
        let out = ironforge(&[
            OsStr::new("attend"),
            OsStr::new("--input"),
            input.as_os_str(),
            OsStr::new("--kernel"),
            OsStr::new("math"),
            OsStr::new("--output"),
            output.as_os_str(),
        ]);
        refused(
            &out,
            &[&format!("huge_{array}.npz"), &format!("array `{array}`"), "declares shape [1048576, 1048576, 16]"],
        );
        assert!(!output.exists());
    }
    // Through `embed --weights` too.
    let weights = tmp.path().join("weights.npz");
    write_npz(&weights, &[("w_in".to_string(), huge_npy())]);
    assert!(matches!(Model::load_npz(&weights), Err(NpzError::Header { ref array, .. }) if array == "w_in"));
    let out_file = tmp.path().join("emb.parquet");
    let out = embed_golden_with(&weights, &out_file);
    refused(&out, &["weights.npz", "array `w_in`", "declares shape"]);
    assert!(!out_file.exists());
}

#[test]
fn non_finite_weights_are_refused_naming_file_array_and_index() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.npz");
    Model::from_seed(1).save_npz(&good).unwrap();
    for (array, index, value) in [("l0_wq", vec![3, 5], f32::NAN), ("l0_ln_gamma", vec![7], f32::INFINITY)] {
        let mut entries = npz_entries(&good);
        let entry = entries.iter_mut().find(|(n, _)| n == array).unwrap();
        let mut a = ArrayD::<f32>::read_npy(&entry.1[..]).unwrap();
        a[ndarray::IxDyn(&index)] = value;
        entry.1 = array_npy(&a);
        let bad = tmp.path().join(format!("bad_{array}.npz"));
        write_npz(&bad, &entries);
        match Model::load_npz(&bad) {
            Err(NpzError::NonFinite { array: a, index: i, .. }) => assert_eq!((a.as_str(), i), (array, index.clone())),
            other => panic!("{array}: {other:?}"),
        }
        let out_file = tmp.path().join("emb.parquet");
        let out = embed_golden_with(&bad, &out_file);
        refused(&out, &[&format!("bad_{array}.npz"), &format!("array `{array}`"), &format!("{index:?}")]);
        assert!(!out_file.exists());
    }
    assert!(Model::load_npz(&good).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Graph rules

/// A 2-cycle, a 6-cycle and a self-loop: refused by `dag` and `motifs` alike, naming the
/// edges file, the session and node ids (100 and up, never local indices).
#[test]
fn cycles_and_self_loops_are_refused_by_every_dag_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let six: Vec<(u32, u32)> = (0..6).map(|i| (100 + i, 100 + (i + 1) % 6)).collect();
    let cases = [
        ("two", session_with_edges("two", 4, &[(100, 101), (101, 102), (102, 101)]), "node ids [101, 102]"),
        ("six", session_with_edges("six", 7, &six), "node ids [100, 101, 102, 103, 104, 105]"),
        ("loop", session_with_edges("loop", 4, &[(100, 101), (103, 103)]), "node id 103 has an edge to itself"),
    ];
    for (name, session, needle) in cases {
        let dir = shard(tmp.path(), name, &session);
        let edges = dir.join("edges.parquet");
        let edges = edges.to_str().unwrap();
        let session_needle = format!("session {name:?}");
        let table = tmp.path().join(format!("{name}_table.parquet"));
        for args in [
            vec![OsStr::new("dag"), dir.as_os_str()],
            vec![OsStr::new("dag"), dir.as_os_str(), OsStr::new("--json")],
            vec![
                OsStr::new("motifs"),
                dir.as_os_str(),
                OsStr::new("--iterations"),
                OsStr::new("2"),
                OsStr::new("--table"),
                table.as_os_str(),
            ],
        ] {
            refused(&ironforge(&args), &[edges, &session_needle, needle]);
            assert!(!table.exists());
        }
        // Rebuilt edges ignore the session's own: both accept.
        succeeded(&ironforge(&[OsStr::new("dag"), dir.as_os_str(), OsStr::new("--build")]));
        succeeded(&motifs_on_rebuilt_edges(&dir));
    }
}

// ---------------------------------------------------------------------------------------------
// Columns, ids, empty files, time spans

#[test]
fn a_duplicated_column_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shard(tmp.path(), "dup", &generate(&SessionSpec::new("dup", 4, 12)));
    let nodes = dir.join("nodes.parquet");
    let shifted: Int64Array = (0..12).map(|i| i * 999).collect();
    append_columns(&nodes, vec![("t".to_string(), Arc::new(shifted) as ArrayRef)]);
    let err = read_shard(&dir).unwrap_err();
    assert!(
        matches!(err, IoError::DuplicateColumn { ref column, ref path } if column == "t" && path == &nodes),
        "{err:?}"
    );
    refused(
        &ironforge(&[OsStr::new("inspect"), dir.as_os_str()]),
        &["nodes.parquet", "column `t` appears more than once"],
    );
}

#[test]
fn a_duplicated_node_id_is_reported_against_the_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shard(tmp.path(), "ids", &generate(&SessionSpec::new("ids", 5, 12)));
    let nodes = dir.join("nodes.parquet");
    let batch = read_batch(&nodes);
    let ids = batch.column_by_name("node_id").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap();
    let mut values = ids.values().to_vec();
    values[9] = values[2];
    let mut columns = batch.columns().to_vec();
    columns[batch.schema().index_of("node_id").unwrap()] = Arc::new(UInt32Array::from(values.clone()));
    write_batch(&nodes, &RecordBatch::try_new(batch.schema(), columns).unwrap());
    let err = read_shard(&dir).unwrap_err();
    assert!(
        matches!(err, IoError::DuplicateNodeId { ref path, row: 9, first_row: 2, node_id, .. }
            if path == &nodes && node_id == values[2]),
        "{err:?}"
    );
    refused(&ironforge(&[OsStr::new("dag"), dir.as_os_str()]), &["nodes.parquet", "column `node_id`, row 9"]);
}

#[test]
fn an_empty_multi_session_file_is_an_error_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("empty.parquet");
    write_multi(&file, std::iter::empty::<&Session>(), &WriterSettings::default()).unwrap();
    assert!(matches!(read_multi(&file), Err(IoError::NotSessions { .. })));
    let out_file = tmp.path().join("emb.parquet");
    for args in [
        vec![OsStr::new("inspect"), file.as_os_str()],
        vec![OsStr::new("dag"), file.as_os_str()],
        vec![OsStr::new("embed"), file.as_os_str(), OsStr::new("--out"), out_file.as_os_str()],
    ] {
        refused(&ironforge(&args), &["empty.parquet", "holds no sessions"]);
        assert!(!out_file.exists());
    }
}

/// Timestamps at both ends of `i64`: the span is printed as the true (huge) number, and the
/// builders saturate instead of overflowing.
#[test]
fn timestamps_spanning_i64_do_not_overflow() {
    let events = vec![
        Event::new(1, i64::MIN, EventKind::PriceMovement, 1.0),
        Event::new(2, 0, EventKind::PriceMovement, 1.0),
        Event::new(3, i64::MAX, EventKind::PriceMovement, 1.0),
    ];
    let s = Session::new(SessionMeta::new("wide", "NY", "NQ", "M5"), events, vec![]).unwrap();
    let line = ironforge::cli::inspect::summary(&s);
    assert!(line.contains("span 307445734561826 min"), "{line}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = shard(tmp.path(), "wide", &s);
    assert!(succeeded(&ironforge(&[OsStr::new("inspect"), dir.as_os_str()])).contains("span 307445734561826 min"));
    let dag = succeeded(&ironforge(&[OsStr::new("dag"), dir.as_os_str(), OsStr::new("--build"), OsStr::new("--json")]));
    assert!(dag.contains(r#""edges":[]"#), "no gap fits the window: {dag}");
    succeeded(&motifs_on_rebuilt_edges(&dir));
}

// ---------------------------------------------------------------------------------------------
// Flags

/// Every numeric flag of every subcommand, just outside its range (and at absurd values): a
/// usage error naming the flag, and no output file.
#[test]
fn out_of_range_numeric_flags_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/golden_00_117");
    let g = golden.to_str().unwrap();
    let out = tmp.path().join("out.parquet");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = [
        ("--max-k", vec!["0", "1", "2", "6", "7", "100", "-1"]),
        ("--iterations", vec!["0", "100001", "-5", "18446744073709551616"]),
        ("--bootstrap", vec!["0", "100001"]),
        ("--seed", vec!["-1", "18446744073709551616"]),
    ]
    .into_iter()
    .flat_map(|(flag, values)| values.into_iter().map(move |v| (vec!["motifs", g, "--table", o, flag, v], flag)))
    .chain(
        [
            ("--k", vec!["0", "65537", "18446744073709551615", "-1"]),
            ("--dt-min-minutes", vec!["-1", "525601", "9223372036854775807"]),
            ("--dt-max-minutes", vec!["-1", "525601", "9223372036854775807"]),
        ]
        .into_iter()
        .flat_map(|(flag, values)| values.into_iter().map(move |v| (vec!["dag", g, "--build", flag, v], flag))),
    )
    .chain(
        [("--zstd-level", vec!["0", "23", "-3"]), ("--row-group-rows", vec!["0", "1000001", "-1"])]
            .into_iter()
            .flat_map(|(flag, values)| values.into_iter().map(move |v| (vec!["convert", g, o, flag, v], flag))),
    )
    .chain(["-1", "18446744073709551616"].into_iter().map(|v| (vec!["embed", g, "--out", o, "--seed", v], "--seed")))
    .collect();
    for (args, flag) in cases {
        let run = ironforge(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: a usage error");
        refused(&run, &[flag]);
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
}

#[test]
fn an_inverted_window_names_both_flags() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/golden_00_117");
    let run = ironforge(&[
        OsStr::new("dag"),
        golden.as_os_str(),
        OsStr::new("--build"),
        OsStr::new("--dt-min-minutes"),
        OsStr::new("100"),
        OsStr::new("--dt-max-minutes"),
        OsStr::new("10"),
    ]);
    refused(&run, &["--dt-min-minutes 100", "--dt-max-minutes 10"]);
    let s = generate(&SessionSpec::new("x", 1, 10));
    let inverted = ironforge::dag::BuildParams { k: 4, dt_min_ms: 6_000_000, dt_max_ms: 600_000 };
    assert!(matches!(ironforge::dag::Dag::built(&s, &inverted), Err(ironforge::dag::DagError::BadParameter { .. })));
}

#[cfg(unix)]
#[test]
fn a_non_utf8_flag_value_is_an_error_naming_the_variable() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("emb.parquet");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/golden_00_117");
    let run = Command::new(env!("CARGO_BIN_EXE_ironforge"))
        .args([OsStr::new("embed"), golden.as_os_str(), OsStr::new("--out"), out_file.as_os_str()])
        .env("IRONFORGE_ENABLE_AMP", OsStr::from_bytes(b"tr\xffe"))
        .output()
        .unwrap();
    refused(&run, &["IRONFORGE_ENABLE_AMP", "not UTF-8"]);
    assert!(!out_file.exists());
}

/// The library refuses what the flags refuse, with errors rather than panics or overflow.
#[test]
fn library_parameters_are_errors_not_panics() {
    use ironforge::dag::{causal_pairs_fast, causal_pairs_reference, BuildParams};
    use ironforge::motif::{analyse, MotifConfig, MotifError, SessionGraph};
    let g = SessionGraph { times_ms: vec![0, 60_000, 120_000], edges: vec![(0, 1), (1, 2)] };
    for max_k in [0, 2, 6] {
        let mut config = MotifConfig::default();
        config.null.max_k = max_k;
        let result = analyse(std::slice::from_ref(&g), &config);
        assert!(matches!(result, Err(MotifError::Parameter { name: "max_k", .. })), "{max_k}: {result:?}");
    }
    let mut config = MotifConfig::default();
    config.null.build.dt_min_ms = 10 * config.null.build.dt_max_ms;
    assert!(matches!(analyse(&[g], &config), Err(MotifError::Parameter { name: "build", .. })));
    // `k` at its largest and times at both ends of i64: no overflow, both builders agree.
    let huge = BuildParams { k: usize::MAX, dt_min_ms: 0, dt_max_ms: i64::MAX };
    let times = [i64::MIN, -5, 0, 0, i64::MAX];
    let pairs = causal_pairs_fast(&times, &huge);
    assert_eq!(pairs, causal_pairs_reference(&times, &huge));
    assert_eq!(pairs.len(), 10, "every later event is in an unbounded window");
}
