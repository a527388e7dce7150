//! Tests of the dump format: writing, reading back, comparing, and refusing bad dumps.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::context::GateContext;
use crate::error::GateError;
use crate::parity::Case;

/// Writes a dump of `(scenario, tolerance, case, values)` records.
fn dump(dir: &Path, name: &str, records: &[(&str, f64, &str, DriftValues)]) -> PathBuf {
    let path = dir.join(name);
    let mut w = DriftWriter::create(&path).unwrap();
    for (scenario, tolerance, case, values) in records {
        w.write_case(scenario, *tolerance, case, values).unwrap();
    }
    w.finish().unwrap();
    path
}

fn floats(v: &[f64]) -> DriftValues {
    DriftValues::Floats(v.to_vec())
}

fn ints(v: &[i64]) -> DriftValues {
    DriftValues::Ints(v.to_vec())
}

fn row<'a>(rows: &'a [DriftRow], scenario: &str) -> &'a DriftRow {
    rows.iter().find(|r| r.scenario == scenario).unwrap_or_else(|| panic!("no row for {scenario}: {rows:?}"))
}

#[test]
fn round_trip_keeps_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<f64> = (0..3 * CHUNK_VALUES + 5).map(|i| (i as f64).sin()).collect();
    let records = vec![
        ("kernel", 1e-6, "s1", DriftValues::Floats(big.clone())),
        ("edges", 0.0, "s1", ints(&[i64::MIN, -1, 0, 1, i64::MAX])),
        ("kernel", 1e-6, "s2", floats(&[f64::NAN, f64::INFINITY, -0.0])),
        ("edges", 0.0, "empty", ints(&[])),
    ];
    let path = dump(dir.path(), "d.bin", &records);
    let read: Vec<DriftRecord> = DriftReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), records.len());
    for (r, (scenario, tolerance, case, values)) in read.iter().zip(&records) {
        assert_eq!((r.scenario.as_str(), r.tolerance, r.case_id.as_str()), (*scenario, *tolerance, *case));
        match (&r.values, values) {
            // NaN != NaN: compare bit patterns.
            (DriftValues::Floats(a), DriftValues::Floats(b)) => {
                assert_eq!(
                    a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                )
            }
            (a, b) => assert_eq!(a, b),
        }
    }
}

#[test]
fn identical_dumps_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let records = vec![
        ("kernel", 1e-6, "s1", floats(&[0.5, f64::NAN, 2.0])),
        ("kernel", 1e-6, "s2", floats(&[1.0])),
        ("edges", 0.0, "s1", ints(&[0, 1, 1, 2])),
    ];
    let base = dump(dir.path(), "base.bin", &records);
    let cand = dump(dir.path(), "cand.bin", &records);
    let rows = compare_dumps(&base, &cand).unwrap();
    assert_eq!(rows.iter().map(|r| r.scenario.as_str()).collect::<Vec<_>>(), ["edges", "kernel"]);
    for r in &rows {
        assert_eq!(r.status, DriftStatus::Unchanged, "{r:?}");
        assert_eq!((r.cases_changed, r.largest_difference, r.worst_case.as_deref()), (0, 0.0, None));
        assert!(!r.fails());
    }
    assert_eq!((row(&rows, "kernel").cases, row(&rows, "kernel").kind.as_str()), (2, "floats"));
    assert_eq!((row(&rows, "edges").cases, row(&rows, "edges").kind.as_str()), (1, "ints"));
}

#[test]
fn small_float_change_is_within_large_one_drifted() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(
        dir.path(),
        "base.bin",
        &[("k", 1e-6, "s1", floats(&[1.0, 2.0, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0]))],
    );
    let within = dump(
        dir.path(),
        "within.bin",
        &[("k", 1e-6, "s1", floats(&[1.0, 2.0, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0 + 1e-7]))],
    );
    let r = compare_dumps(&base, &within).unwrap().remove(0);
    assert_eq!(r.status, DriftStatus::Within);
    assert_eq!((r.cases, r.cases_changed), (2, 1));
    assert_eq!((r.worst_case.as_deref(), r.worst_index), (Some("s2"), Some(2)));
    assert!((r.largest_difference - 1e-7).abs() < 1e-12, "{}", r.largest_difference);
    assert!(!r.fails());

    let drifted = dump(
        dir.path(),
        "drifted.bin",
        &[("k", 1e-6, "s1", floats(&[1.0, 2.001, 3.0])), ("k", 1e-6, "s2", floats(&[4.0, 5.0, 6.0 + 1e-7]))],
    );
    let r = compare_dumps(&base, &drifted).unwrap().remove(0);
    assert_eq!(r.status, DriftStatus::Drifted);
    assert_eq!((r.cases_changed, r.worst_case.as_deref(), r.worst_index), (2, Some("s1"), Some(1)));
    assert!((r.largest_difference - 1e-3).abs() < 1e-9);
    assert!(r.fails());
}

#[test]
fn changed_ints_drift_at_tolerance_zero() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(dir.path(), "base.bin", &[("edges", 0.0, "s1", ints(&[0, 1, 1, 2]))]);
    let cand = dump(dir.path(), "cand.bin", &[("edges", 0.0, "s1", ints(&[0, 1, 1, 5]))]);
    let r = compare_dumps(&base, &cand).unwrap().remove(0);
    assert_eq!(r.status, DriftStatus::Drifted);
    assert_eq!((r.largest_difference, r.worst_case.as_deref(), r.worst_index), (3.0, Some("s1"), Some(3)));
}

#[test]
fn length_kind_and_nan_changes_are_infinite() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(
        dir.path(),
        "base.bin",
        &[
            ("len", 0.5, "c", floats(&[1.0, 2.0])),
            ("kind", 0.5, "c", ints(&[1])),
            ("nan", 0.5, "c", floats(&[f64::NAN, 1.0])),
        ],
    );
    let cand = dump(
        dir.path(),
        "cand.bin",
        &[
            ("len", 0.5, "c", floats(&[1.0])),
            ("kind", 0.5, "c", floats(&[1.0])),
            ("nan", 0.5, "c", floats(&[f64::NAN, f64::NAN])),
        ],
    );
    let rows = compare_dumps(&base, &cand).unwrap();
    for (name, index) in [("len", None), ("kind", None), ("nan", Some(1))] {
        let r = row(&rows, name);
        assert_eq!(
            (r.status, r.largest_difference, r.worst_index),
            (DriftStatus::Drifted, f64::INFINITY, index),
            "{r:?}"
        );
    }
    assert_eq!(row(&rows, "kind").kind, "floats");
}

#[test]
fn new_and_gone_scenarios_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(dir.path(), "base.bin", &[("shared", 0.0, "a", ints(&[1])), ("old", 0.0, "a", ints(&[1]))]);
    let cand = dump(dir.path(), "cand.bin", &[("fresh", 1e-3, "x", floats(&[1.0])), ("shared", 0.0, "a", ints(&[1]))]);
    let rows = compare_dumps(&base, &cand).unwrap();
    assert_eq!(rows.iter().map(|r| r.scenario.as_str()).collect::<Vec<_>>(), ["fresh", "old", "shared"]);
    let fresh = row(&rows, "fresh");
    assert_eq!(
        (fresh.status, fresh.tolerance, fresh.only_in_candidate.clone()),
        (DriftStatus::New, 1e-3, vec!["x".to_string()])
    );
    let old = row(&rows, "old");
    assert_eq!((old.status, old.only_in_base.clone()), (DriftStatus::Gone, vec!["a".to_string()]));
    assert_eq!(row(&rows, "shared").status, DriftStatus::Unchanged);
    assert!(rows.iter().all(|r| !r.fails()));
}

#[test]
fn cases_on_one_side_drift_and_are_listed_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(
        dir.path(),
        "base.bin",
        &[("k", 1e-6, "a", floats(&[1.0])), ("k", 1e-6, "b", floats(&[2.0])), ("k", 1e-6, "gone", floats(&[3.0]))],
    );
    // Other order, one case replaced; equal values on the shared cases.
    let cand = dump(
        dir.path(),
        "cand.bin",
        &[("k", 1e-6, "b", floats(&[2.0])), ("k", 1e-6, "new", floats(&[9.0])), ("k", 1e-6, "a", floats(&[1.0]))],
    );
    let r = compare_dumps(&base, &cand).unwrap().remove(0);
    assert_eq!(r.status, DriftStatus::Drifted);
    assert_eq!((r.cases, r.cases_changed), (2, 0));
    assert_eq!(
        (r.only_in_base.clone(), r.only_in_candidate.clone()),
        (vec!["gone".to_string()], vec!["new".to_string()])
    );
}

#[test]
fn interleaved_and_reordered_scenarios_compare_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(
        dir.path(),
        "base.bin",
        &[
            ("x", 0.0, "1", ints(&[1])),
            ("y", 0.0, "1", ints(&[10])),
            ("x", 0.0, "2", ints(&[2])),
            ("y", 0.0, "2", ints(&[20])),
        ],
    );
    let cand = dump(
        dir.path(),
        "cand.bin",
        &[
            ("y", 0.0, "2", ints(&[20])),
            ("y", 0.0, "1", ints(&[10])),
            ("x", 0.0, "2", ints(&[2])),
            ("x", 0.0, "1", ints(&[7])),
        ],
    );
    let rows = compare_dumps(&base, &cand).unwrap();
    let x = row(&rows, "x");
    assert_eq!(
        (x.status, x.cases, x.largest_difference, x.worst_case.as_deref()),
        (DriftStatus::Drifted, 2, 6.0, Some("1"))
    );
    let y = row(&rows, "y");
    assert_eq!((y.status, y.cases), (DriftStatus::Unchanged, 2));
}

#[test]
fn tolerance_comes_from_the_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let base = dump(dir.path(), "base.bin", &[("k", 1e-9, "a", floats(&[1.0]))]);
    let cand = dump(dir.path(), "cand.bin", &[("k", 1e-2, "a", floats(&[1.001]))]);
    let r = compare_dumps(&base, &cand).unwrap().remove(0);
    assert_eq!((r.tolerance, r.status), (1e-2, DriftStatus::Within));
}

#[test]
fn truncated_dump_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..10_000).map(|i| (i as f64).sqrt()).collect();
    let good = dump(dir.path(), "good.bin", &[("k", 0.0, "a", DriftValues::Floats(values))]);
    let bytes = fs::read(&good).unwrap();
    for keep in [0, 5, 12, bytes.len() / 2, bytes.len() - 1] {
        let cut_path = dir.path().join(format!("cut_{keep}.bin"));
        fs::write(&cut_path, &bytes[..keep]).unwrap();
        let err = compare_dumps(&good, &cut_path).unwrap_err();
        assert!(matches!(err, DriftError::Truncated { .. } | DriftError::Corrupt { .. }), "{keep}: {err:?}");
        assert!(err.to_string().contains(&cut_path.display().to_string()), "{keep}: {err}");
        let read: Result<Vec<_>, _> = DriftReader::open(&cut_path).and_then(|r| r.collect());
        assert!(read.is_err(), "{keep}: a cut dump read as complete");
    }
}

#[test]
fn corrupt_dumps_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dump(dir.path(), "good.bin", &[("k", 0.0, "a", ints(&[1, 2, 3]))]);
    let mut bytes = fs::read(&good).unwrap();
    let wrong_version = dir.path().join("v2.bin");
    bytes[8] = 2;
    fs::write(&wrong_version, &bytes).unwrap();
    assert!(matches!(DriftReader::open(&wrong_version), Err(DriftError::Version { found: 2, .. })));
    bytes[8] = 1;
    bytes.extend_from_slice(b"trailing garbage");
    let trailing = dir.path().join("trailing.bin");
    fs::write(&trailing, &bytes).unwrap();
    let err = compare_dumps(&good, &trailing).unwrap_err();
    assert!(err.to_string().contains("trailing.bin"), "{err}");
}

#[test]
fn duplicate_case_in_a_dump_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DriftWriter::create(&dir.path().join("w.bin")).unwrap();
    w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
    let err = w.write_case("k", 0.0, "a", &ints(&[1])).unwrap_err();
    assert!(matches!(&err, DriftError::DuplicateCase { scenario, case, .. } if scenario == "k" && case == "a"));
    // The same case id in another scenario is fine.
    w.write_case("other", 0.0, "a", &ints(&[1])).unwrap();
    w.finish().unwrap();

    // A dump written by another writer (here: two records spliced by hand) is checked too.
    let path = dir.path().join("dup.bin");
    let mut raw = Vec::new();
    for _ in 0..2 {
        raw.push(TAG_CASE);
        for name in ["k", "a"] {
            if name == "a" {
                raw.extend_from_slice(&0f64.to_le_bytes());
            }
            raw.extend_from_slice(&(name.len() as u32).to_le_bytes());
            raw.extend_from_slice(name.as_bytes());
        }
        raw.push(KIND_INTS);
        raw.extend_from_slice(&0u64.to_le_bytes());
    }
    raw.push(TAG_END);
    raw.extend_from_slice(&2u64.to_le_bytes());
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&zstd::encode_all(raw.as_slice(), 1).unwrap());
    fs::write(&path, file).unwrap();
    let err = compare_dumps(&path, &dir.path().join("w.bin")).unwrap_err();
    assert!(
        matches!(&err, DriftError::DuplicateCase { scenario, case, .. } if scenario == "k" && case == "a"),
        "{err:?}"
    );
    assert!(err.to_string().contains("dup.bin"));
}

#[test]
fn writer_refuses_bad_tolerance_and_mixed_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DriftWriter::create(&dir.path().join("w.bin")).unwrap();
    assert!(matches!(w.write_case("k", f64::NAN, "a", &ints(&[1])), Err(DriftError::BadTolerance { .. })));
    assert!(matches!(w.write_case("k", -1.0, "a", &ints(&[1])), Err(DriftError::BadTolerance { .. })));
    w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
    assert!(matches!(w.write_case("k", 1.0, "b", &ints(&[1])), Err(DriftError::InconsistentTolerance { .. })));
    assert!(matches!(w.write_case("k", 0.0, "b", &floats(&[1.0])), Err(DriftError::MixedKinds { .. })));
    w.finish().unwrap();
    let read: Vec<DriftRecord> =
        DriftReader::open(&dir.path().join("w.bin")).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), 1, "refused records are not written");
}

fn entries(dir: &Path) -> usize {
    fs::read_dir(dir).unwrap().count()
}

#[test]
fn finish_renames_and_leaves_no_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.bin");
    let mut w = DriftWriter::create(&path).unwrap();
    w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
    assert!(!path.exists());
    assert_eq!(entries(dir.path()), 1, "only the temporary file");
    w.finish().unwrap();
    assert!(path.exists());
    assert_eq!(entries(dir.path()), 1, "the dump, no temporary file");
}

#[test]
fn writer_dropped_without_finish_leaves_no_final_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.bin");
    // A stale dump from an earlier run is removed when a new one starts.
    fs::write(&path, b"stale").unwrap();
    let mut w = DriftWriter::create(&path).unwrap();
    assert!(!path.exists());
    w.write_case("k", 0.0, "a", &ints(&[1])).unwrap();
    drop(w);
    assert!(!path.exists());
    assert_eq!(entries(dir.path()), 0, "no temporary file left");
}

#[test]
fn rows_serialize_infinity_as_a_string() {
    let r = DriftRow {
        scenario: "k".into(),
        kind: "floats".into(),
        tolerance: 1e-6,
        cases: 1,
        cases_changed: 1,
        largest_difference: f64::INFINITY,
        worst_case: Some("a".into()),
        worst_index: None,
        only_in_base: vec![],
        only_in_candidate: vec![],
        status: DriftStatus::Drifted,
    };
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r#""largest_difference":"inf""#), "{json}");
    assert!(json.contains(r#""status":"drifted""#), "{json}");
    assert_eq!(serde_json::from_str::<DriftRow>(&json).unwrap(), r);
    let finite = DriftRow { largest_difference: 1.25e-7, status: DriftStatus::Within, ..r };
    let json = serde_json::to_string(&finite).unwrap();
    assert!(json.contains(r#""largest_difference":1.25e-7"#), "{json}");
    assert_eq!(serde_json::from_str::<DriftRow>(&json).unwrap(), finite);
}

fn ramp_cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
    Ok(vec![Case::new("one", vec![1.0]), Case::new("three", vec![1.0, 2.0, 3.0]), Case::new("none", vec![])])
}

/// Output that depends on the case, so the dump shows which case it was computed on.
fn prefix_sums(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data
        .iter()
        .scan(0.0, |s, x| {
            *s += x;
            Some(*s)
        })
        .collect())
}

fn lengths(_: &GateContext, c: &Case<f64>) -> Result<Vec<(usize, usize)>, GateError> {
    Ok(vec![(c.id.len(), c.data.len())])
}

fn no_cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
    Ok(Vec::new())
}

fn failing(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    if c.id == "three" {
        Err(GateError::msg("candidate failed on three"))
    } else {
        Ok(c.data.clone())
    }
}

#[test]
fn dump_helpers_call_the_candidate_on_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.bin");
    let ctx = GateContext::for_test("dump");
    let mut w = DriftWriter::create(&path).unwrap();
    assert_eq!(dump_numeric(&ctx, "sums", 1e-9, ramp_cases, prefix_sums, &mut w).unwrap(), 3);
    assert_eq!(dump_exact(&ctx, "lengths", 0.0, ramp_cases, lengths, &mut w).unwrap(), 3);
    w.finish().unwrap();
    let read: Vec<DriftRecord> = DriftReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
    let got: Vec<(&str, f64, &str, &DriftValues)> =
        read.iter().map(|r| (r.scenario.as_str(), r.tolerance, r.case_id.as_str(), &r.values)).collect();
    assert_eq!(
        got,
        [
            ("sums", 1e-9, "one", &floats(&[1.0])),
            ("sums", 1e-9, "three", &floats(&[1.0, 3.0, 6.0])),
            ("sums", 1e-9, "none", &floats(&[])),
            ("lengths", 0.0, "one", &ints(&[3, 1])),
            ("lengths", 0.0, "three", &ints(&[5, 3])),
            ("lengths", 0.0, "none", &ints(&[4, 0])),
        ]
    );
}

#[test]
fn dump_helpers_report_empty_sets_and_candidate_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = GateContext::for_test("dump");
    let mut w = DriftWriter::create(&dir.path().join("d.bin")).unwrap();
    assert!(matches!(
        dump_numeric(&ctx, "empty", 0.0, no_cases, prefix_sums, &mut w),
        Err(GateError::NoCases { scenario }) if scenario == "empty"
    ));
    let err = dump_numeric(&ctx, "failing", 0.0, ramp_cases, failing, &mut w).unwrap_err();
    assert!(err.to_string().contains("candidate failed on three"), "{err}");
    // A writer error surfaces as a gate error naming the dump.
    let err = dump_exact(&ctx, "lengths", f64::INFINITY, ramp_cases, lengths, &mut w).unwrap_err();
    assert!(err.to_string().contains("d.bin") && err.to_string().contains("lengths"), "{err}");
}

#[test]
fn drift_values_of_exact_outputs() {
    assert_eq!(vec![(1u32, 2u32), (2, 3)].drift_values(), ints(&[1, 2, 2, 3]));
    assert_eq!(vec![(4usize, 5usize)].drift_values(), ints(&[4, 5]));
    assert_eq!(vec![3u64, 1].drift_values(), ints(&[3, 1]));
    assert_eq!(vec![vec![1u32, 2], vec![], vec![3]].drift_values(), ints(&[3, 2, 1, 2, 0, 1, 3]));
    // A nested shape change shows even when the flat elements agree.
    assert_ne!(vec![vec![1u32], vec![2]].drift_values(), vec![vec![1u32, 2], vec![]].drift_values());
    assert_eq!(7usize.drift_values(), ints(&[7]));
    assert_eq!((-3i64).drift_values(), ints(&[-3]));
    assert_eq!(false.drift_values(), ints(&[0]));
    assert_eq!(u64::MAX.drift_values(), ints(&[-1]));
    assert_eq!(vec![0.5f32].drift_values(), floats(&[0.5]));
}
