//! `ironforge inspect` and `ironforge convert`, run as the built binary.

use std::path::Path;
use std::process::{Command, Output};

use ironforge::io::{read_sessions, write_shard, WriterSettings};
use ironforge::synth::{generate, SessionSpec};

fn ironforge(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironforge")).args(args).output().unwrap()
}

fn golden() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden")
}

#[test]
fn inspect_summarises_a_shard_folder() {
    let dir = golden().join("golden_00_117");
    let out = ironforge(&[Path::new("inspect"), &dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("golden_00_117: 117 events"), "{text}");
    assert!(text.contains("price_movement=") && text.contains("temporal_next=116"), "{text}");
    assert!(text.contains("1 valid sessions"), "{text}");
}

#[test]
fn convert_round_trips_between_layouts_and_inspect_reads_both() {
    let tmp = tempfile::tempdir().unwrap();
    let multi = tmp.path().join("golden.parquet");
    let back = tmp.path().join("shards");
    let out = ironforge(&[Path::new("convert"), &golden(), &multi]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = ironforge(&[Path::new("convert"), &multi, &back]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read_sessions(&back).unwrap(), read_sessions(&golden()).unwrap());
    let out = ironforge(&[Path::new("inspect"), &multi]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("Multi layout, 20 valid sessions"));
}

#[test]
fn inspect_of_a_bad_file_exits_non_zero_with_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write_shard(&generate(&SessionSpec::new("s", 2, 20)), &dir, &WriterSettings::default()).unwrap();
    std::fs::write(dir.join("edges.parquet"), b"PAR1 not really").unwrap();
    let out = ironforge(&[Path::new("inspect"), &dir]);
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1), "an error exit, not a panic (101)");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("edges.parquet") && err.contains("not a readable Parquet file"), "{err}");
}

#[test]
fn inspect_of_a_missing_path_exits_non_zero() {
    let out = ironforge(&[Path::new("inspect"), Path::new("/nonexistent/ironforge/path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("/nonexistent/ironforge/path"));
}

/// `IRONFORGE_MAX_ISA` caps every engine's instruction set: the motif census (bit-identical on
/// every path) prints the same counts under each ceiling, and a bad value is refused by name.
#[test]
fn max_isa_ceiling_gives_the_same_census_and_a_bad_value_is_refused() {
    let dir = golden().join("golden_00_117");
    let motifs = |ceiling: &str| {
        Command::new(env!("CARGO_BIN_EXE_ironforge"))
            .args([Path::new("motifs"), &dir, Path::new("--iterations"), Path::new("2"), Path::new("--bootstrap")])
            .arg("2")
            .env("IRONFORGE_MAX_ISA", ceiling)
            .output()
            .unwrap()
    };
    let best = motifs("avx512");
    assert!(best.status.success(), "{}", String::from_utf8_lossy(&best.stderr));
    for ceiling in ["avx2", "portable"] {
        let out = motifs(ceiling);
        assert!(out.status.success(), "{ceiling}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, best.stdout, "census under IRONFORGE_MAX_ISA={ceiling}");
    }
    let bad = motifs("avx3");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("IRONFORGE_MAX_ISA") && err.contains("avx3") && err.contains("avx2"), "{err}");
    assert!(bad.stdout.is_empty(), "nothing printed");
}
