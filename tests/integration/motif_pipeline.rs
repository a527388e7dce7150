//! Null model, bootstrap and stability: determinism across thread counts and runs, JSON and
//! Parquet output, and a snapshot of the motif table of two golden sessions.

use ironforge::dag::BuildParams;
use ironforge::motif::report::motifs_json;
use ironforge::motif::stability::{seed_stability, thread_stability};
use ironforge::motif::table::write_motif_table;
use ironforge::motif::{analyse, EdgeSource, MotifConfig, MotifError, SessionGraph};
use ironforge::synth::{generate, golden_specs};

/// The two smallest golden sessions (16 and 24 events), edges rebuilt by the DAG builder.
fn two_golden() -> Vec<SessionGraph> {
    golden_specs()
        .iter()
        .filter(|s| s.events <= 24)
        .map(|s| SessionGraph::from_session(&generate(s), &EdgeSource::Rebuilt(BuildParams::default())))
        .collect()
}

fn small_config() -> MotifConfig {
    let mut c = MotifConfig::default();
    c.null.iterations = 40;
    c.bootstrap.replicates = 60;
    c
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn analysis_is_bit_identical_with_1_or_2_threads_and_across_runs() {
    let sessions = two_golden();
    let config = small_config();
    let one = in_pool(1, || analyse(&sessions, &config)).unwrap();
    let two = in_pool(2, || analyse(&sessions, &config)).unwrap();
    let again = in_pool(2, || analyse(&sessions, &config)).unwrap();
    assert!(!one.stats.is_empty());
    let bits = |a: &ironforge::motif::MotifAnalysis| {
        a.stats
            .iter()
            .map(|s| (s.id, s.count, [s.null_mean, s.null_std, s.lift, s.p, s.ci_low, s.ci_high].map(f64::to_bits)))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&one), bits(&two));
    assert_eq!(bits(&two), bits(&again));
    assert_eq!(one.null, two.null);
}

#[test]
fn thread_stability_reports_exactly_zero() {
    let (delta, identical) = thread_stability(&two_golden(), &small_config(), 1, 2, 10).unwrap();
    assert!(identical);
    assert_eq!(delta.max_abs, 0.0);
    assert!(!delta.top.is_empty());
}

#[test]
fn another_seed_moves_the_null_model_but_not_the_observed_counts() {
    let sessions = two_golden();
    let a = analyse(&sessions, &small_config()).unwrap();
    let b = analyse(&sessions, &MotifConfig { seed: 99, ..small_config() }).unwrap();
    assert_eq!(a.total, b.total);
    assert_ne!(a.null, b.null);
    let d = seed_stability(&sessions, &small_config(), 99, 10, 1).unwrap();
    assert!(d.max_abs > 0.0 && d.max_abs.is_finite());
    assert!(d.mean_abs <= d.max_abs);
}

#[test]
fn null_model_sees_the_builder_edges_so_a_rebuilt_session_has_lift_near_one() {
    // The null jitters times by 1–2 h, so it does not reproduce the data exactly; but the
    // observed total and the null mean of 3-node motifs must be of the same order.
    let a = analyse(&two_golden(), &small_config()).unwrap();
    let obs3 = a.total.instances_of_size(3) as f64;
    let null3: f64 = a.stats.iter().filter(|s| s.id.size == 3).map(|s| s.null_mean).sum();
    assert!(obs3 > 0.0 && null3 > 0.0);
    assert!(obs3 / null3 > 0.2 && obs3 / null3 < 5.0, "obs {obs3} null {null3}");
    for s in &a.stats {
        assert!(s.ci_low <= s.ci_high, "{}: {} > {}", s.id, s.ci_low, s.ci_high);
        assert!((0.0..=1.0).contains(&s.p));
    }
}

#[test]
fn bad_configs_are_typed_errors() {
    let sessions = two_golden();
    let zero = MotifConfig {
        null: ironforge::motif::null::NullParams { iterations: 0, ..Default::default() },
        ..small_config()
    };
    assert!(matches!(analyse(&sessions, &zero), Err(MotifError::Parameter { name: "iterations", .. })));
    assert!(matches!(analyse(&[], &small_config()), Err(MotifError::Parameter { name: "sessions", .. })));
    let mut bad = small_config();
    bad.bootstrap.confidence = 1.5;
    assert!(matches!(analyse(&sessions, &bad), Err(MotifError::Parameter { name: "confidence", .. })));
}

#[test]
fn json_summary_has_the_documented_shape() {
    let a = analyse(&two_golden(), &small_config()).unwrap();
    let v = motifs_json(&a);
    assert_eq!(v["sessions"], 2);
    let by_size = &v["counts_by_size"];
    let sum: u64 = ["3", "4", "5"].iter().map(|k| by_size[k].as_u64().unwrap()).sum();
    assert_eq!(sum, a.total.instances());
    let motifs = v["motifs"].as_array().unwrap();
    assert_eq!(motifs.len(), a.total.distinct());
    let counted: u64 = motifs.iter().map(|m| m["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, a.total.instances());
    for w in motifs.windows(2) {
        assert!(w[0]["lift"].as_f64().unwrap() >= w[1]["lift"].as_f64().unwrap());
    }
    for m in motifs {
        assert!(["PROMOTE", "PARK", "DISCARD"].contains(&m["class"].as_str().unwrap()));
        assert!(m["id"].as_str().unwrap().starts_with(&format!("m{}-", m["size"])));
    }
}

#[test]
fn parquet_table_round_trips() {
    use arrow_array::{Float64Array, StringArray, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let a = analyse(&two_golden(), &small_config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("motifs.parquet");
    write_motif_table(&path, &a.stats).unwrap();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, a.stats.len());
    let b = &batches[0];
    let ids = b.column_by_name("motif_id").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    let counts = b.column_by_name("count").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap();
    let lifts = b.column_by_name("lift").unwrap().as_any().downcast_ref::<Float64Array>().unwrap();
    let classes = b.column_by_name("class").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    for (i, s) in a.stats.iter().take(b.num_rows()).enumerate() {
        assert_eq!(ids.value(i), s.id.to_string());
        assert_eq!(counts.value(i), s.count);
        assert_eq!(lifts.value(i).to_bits(), s.lift.to_bits());
        assert_eq!(classes.value(i), s.class.name());
    }
    let err = write_motif_table(&dir.path().join("no/such/dir/x.parquet"), &a.stats).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"));
}

#[test]
fn motif_table_of_two_golden_sessions() {
    let a = analyse(&two_golden(), &small_config()).unwrap();
    let round = |x: f64| if x.is_finite() { (x * 1e4).round() / 1e4 } else { x };
    let rows: Vec<serde_json::Value> = a
        .stats
        .iter()
        .filter(|s| s.count > 0)
        .map(|s| {
            serde_json::json!({
                "id": s.id.to_string(), "count": s.count, "null_mean": round(s.null_mean),
                "null_std": round(s.null_std), "lift": round(s.lift), "p": round(s.p),
                "ci": [round(s.ci_low), round(s.ci_high)], "class": s.class.name(),
            })
        })
        .collect();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("motif_table_two_golden", rows);
    });
}
