//! The TGAT model: determinism, weights I/O, options, time-bias cache, embeddings file.

use std::sync::Arc;

use ironforge::attention::bias::TimeBias;
use ironforge::attention::breaker::CircuitBreaker;
use ironforge::attention::cache::TimeBiasCache;
use ironforge::attention::config::AttentionConfig;
use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::model::{EmbedOptions, KernelChoice, MaskVariant, Model, ModelError, HIDDEN};
use ironforge::attention::npz::NpzError;
use ironforge::attention::Kernel;
use ironforge::session::Session;
use ironforge::synth::{generate, golden_specs, SessionSpec};
use proptest::prelude::*;

fn session(n: usize, seed: u64) -> Session {
    generate(&SessionSpec::new(format!("t{n}"), seed, n))
}

fn dag(s: &Session) -> Vec<(u32, u32)> {
    ironforge::dag::session_causal_pairs(s, &ironforge::dag::BuildParams::default())
}

fn bits(a: &ndarray::Array2<f32>) -> Vec<u32> {
    a.iter().map(|x| x.to_bits()).collect()
}

fn round(x: f32) -> f64 {
    (x as f64 * 1e4).round() / 1e4
}

#[test]
fn golden_embedding_summaries_snapshot() {
    let model = Model::from_seed(42);
    let specs = golden_specs();
    let summaries: Vec<serde_json::Value> = [&specs[0], &specs[5]]
        .iter()
        .map(|spec| {
            let s = generate(spec);
            let e = model.embed(&s, &dag(&s), &EmbedOptions::default()).unwrap();
            let norms: Vec<f64> = e
                .events
                .rows()
                .into_iter()
                .map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt())
                .collect();
            serde_json::json!({
                "session": s.id(),
                "events": s.len(),
                "kernels": e.kernels.iter().map(|k| k.name()).collect::<Vec<_>>(),
                "session_embedding": e.session.iter().map(|&v| round(v)).collect::<Vec<_>>(),
                "first_event": e.events.row(0).iter().map(|&v| round(v)).collect::<Vec<_>>(),
                "mean_event_norm": round((norms.iter().sum::<f64>() / norms.len() as f64) as f32),
                "min": round(e.events.iter().copied().fold(f32::INFINITY, f32::min)),
                "max": round(e.events.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
            })
        })
        .collect();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("attention_model_golden_summaries", summaries);
    });
}

#[test]
fn outputs_are_sane_and_deterministic() {
    let s = session(117, 3);
    let edges = dag(&s);
    let a = Model::from_seed(1).embed(&s, &edges, &EmbedOptions::default()).unwrap();
    let b = Model::from_seed(1).embed(&s, &edges, &EmbedOptions::default()).unwrap();
    assert_eq!(bits(&a.events), bits(&b.events));
    assert_eq!(a.events.dim(), (117, HIDDEN));
    // Layer norm with γ = 1, β = 0: every row has mean ≈ 0 and norm ≈ √44.
    for row in a.events.rows() {
        let norm = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        assert!((norm - (HIDDEN as f64).sqrt()).abs() < 1e-2, "row norm {norm}");
    }
    let mean0: f64 = a.events.column(0).iter().map(|&v| v as f64).sum::<f64>() / 117.0;
    assert!((a.session[0] as f64 - mean0).abs() < 1e-6);
    let other = Model::from_seed(2).embed(&s, &edges, &EmbedOptions::default()).unwrap();
    assert_ne!(bits(&a.events), bits(&other.events));
}

#[test]
fn options_change_the_result() {
    let s = session(64, 9);
    let edges = dag(&s);
    let m = Model::from_seed(5);
    let base = m.embed(&s, &edges, &EmbedOptions::default()).unwrap();
    let causal = m.embed(&s, &edges, &EmbedOptions { mask: MaskVariant::Causal, ..Default::default() }).unwrap();
    let rbf = m.embed(&s, &edges, &EmbedOptions { bias: TimeBias::Rbf, ..Default::default() }).unwrap();
    let none = m.embed(&s, &edges, &EmbedOptions { bias: TimeBias::None, ..Default::default() }).unwrap();
    for other in [&causal, &rbf, &none] {
        assert_ne!(bits(&base.events), bits(&other.events));
    }
    let timed = Model::from_seed_with_time_encoding(5, 8);
    let t = timed.embed(&s, &edges, &EmbedOptions::default()).unwrap();
    assert_eq!(timed.w_in.nrows(), 45 + 8);
    assert!(t.events.iter().all(|v| v.is_finite()));
}

#[test]
fn out_of_range_edges_are_a_typed_error() {
    let s = session(10, 1);
    let err = Model::from_seed(1).embed(&s, &[(0, 1), (3, 10)], &EmbedOptions::default()).unwrap_err();
    match err {
        ModelError::EdgeOutOfRange { edge, src, dst, len, .. } => assert_eq!((edge, src, dst, len), (1, 3, 10, 10)),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn cached_and_uncached_embeddings_are_bit_identical() {
    let cache = TimeBiasCache::new(1 << 24);
    let m = Model::from_seed(11);
    for spec in golden_specs().iter().take(4) {
        let s = generate(spec);
        let edges = dag(&s);
        for bias in [TimeBias::Bucket, TimeBias::Rbf] {
            let plain = m.embed(&s, &edges, &EmbedOptions { bias, ..Default::default() }).unwrap();
            let opts = EmbedOptions { bias, cache: Some(&cache), ..Default::default() };
            let miss = m.embed(&s, &edges, &opts).unwrap();
            let hit = m.embed(&s, &edges, &opts).unwrap();
            assert_eq!(bits(&plain.events), bits(&miss.events));
            assert_eq!(bits(&plain.events), bits(&hit.events));
        }
    }
    let st = cache.stats();
    assert_eq!((st.hits, st.misses, st.entries), (8, 8, 8));
}

#[test]
fn dispatch_picks_a_kernel_the_flags_allow_and_matches_math() {
    let s = session(150, 4);
    let edges = dag(&s);
    let m = Model::from_seed(3);
    let d = Dispatcher::with_default_table(AttentionConfig::default());
    let breaker = CircuitBreaker::new();
    let auto = m
        .embed(
            &s,
            &edges,
            &EmbedOptions { kernel: KernelChoice::Dispatch(&d), breaker: &breaker, ..Default::default() },
        )
        .unwrap();
    assert!(auto.kernels.iter().all(|&k| d.config.allows(k)));
    let math = m.embed(&s, &edges, &EmbedOptions::default()).unwrap();
    let diff = (&auto.events - &math.events).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
    assert!(diff < 1e-3, "dispatch result differs from math by {diff}");
    assert_eq!(breaker.total(), 0);
}

#[test]
fn weights_round_trip_through_npz() {
    let dir = tempfile::tempdir().unwrap();
    for time_dims in [0, 6] {
        let path = dir.path().join(format!("w{time_dims}.npz"));
        let m = Model::from_seed_with_time_encoding(77, time_dims);
        m.save_npz(&path).unwrap();
        let back = Model::load_npz(&path).unwrap();
        assert_eq!(back, m);
        let s = session(33, 2);
        let a = m.embed(&s, &dag(&s), &EmbedOptions::default()).unwrap();
        let b = back.embed(&s, &dag(&s), &EmbedOptions::default()).unwrap();
        assert_eq!(bits(&a.events), bits(&b.events));
    }
}

#[test]
fn bad_weight_files_name_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
    npz.add_array("w_in", &ndarray::Array2::<f32>::zeros((44, 44))).unwrap();
    npz.finish().unwrap();
    let err = Model::load_npz(&path).unwrap_err();
    assert!(matches!(&err, NpzError::Shape { array, got, .. } if array == "w_in" && got == &vec![44, 44]), "{err}");
    assert!(err.to_string().contains("[45, 44]"), "{err}");

    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
    npz.add_array("w_in", &ndarray::Array2::<f32>::zeros((45, 44))).unwrap();
    npz.finish().unwrap();
    let err = Model::load_npz(&path).unwrap_err();
    assert!(matches!(&err, NpzError::Missing { array, .. } if array == "b_in"), "{err}");

    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
    npz.add_array("w_in", &ndarray::Array2::<f64>::zeros((45, 44))).unwrap();
    npz.finish().unwrap();
    let err = Model::load_npz(&path).unwrap_err();
    assert!(matches!(&err, NpzError::Dtype { array, .. } if array == "w_in"), "{err}");

    std::fs::write(&path, b"not a zip").unwrap();
    assert!(matches!(Model::load_npz(&path), Err(NpzError::Archive { .. })));
}

#[test]
fn embeddings_parquet_holds_every_event() {
    use arrow_array::{Array, Float32Array, StringArray, UInt32Array};
    let sessions = vec![session(20, 1), session(33, 2)];
    let m = Model::from_seed(8);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emb.parquet");
    let rows = ironforge::cli::embed::write_embeddings(&out, &sessions, &m, &EmbedOptions::default()).unwrap();
    assert_eq!(rows, 53);
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let schema = batches[0].schema();
    assert_eq!(schema.fields().len(), 2 + HIDDEN);
    assert_eq!(schema.field(2).name(), "e0");
    assert_eq!(schema.field(45).name(), "e43");
    let mut seen = 0;
    for batch in &batches {
        let ids = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let nodes = batch.column(1).as_any().downcast_ref::<UInt32Array>().unwrap();
        for r in 0..batch.num_rows() {
            let s = sessions.iter().find(|s| s.id() == ids.value(r)).unwrap();
            let i = s.node_index(nodes.value(r)).unwrap();
            let e = m.embed(s, &dag(s), &EmbedOptions::default()).unwrap();
            let e7 = batch.column(2 + 7).as_any().downcast_ref::<Float32Array>().unwrap();
            assert_eq!(e7.value(r).to_bits(), e.events[[i, 7]].to_bits());
            assert!(!e7.is_null(r));
            seen += 1;
        }
    }
    assert_eq!(seen, 53);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn cache_never_changes_a_bias(
        gaps in proptest::collection::vec(0i64..20_000_000, 1..40),
        rbf in any::<bool>(),
        capacity_kib in 0usize..16,
    ) {
        let mut t = 1_700_000_000_000i64;
        let times: Vec<i64> = gaps.iter().map(|g| { t += g; t }).collect();
        let bias = if rbf { TimeBias::Rbf } else { TimeBias::Bucket };
        let cache = TimeBiasCache::new(capacity_kib << 10);
        let direct = bias.matrix(&times).unwrap();
        for _ in 0..2 {
            let got: Arc<_> = cache.get_or_compute(&times, bias).unwrap().unwrap();
            prop_assert_eq!(bits(&got), bits(&direct));
        }
        prop_assert!(cache.stats().bytes <= cache.capacity_bytes());
        let _ = Kernel::Math;
    }
}
