//! The bounded-memory time bias: a time bias computed row by row ([`BiasSource::times`],
//! [`BiasPath::Rows`]) gives the same bits as the dense matrix it replaces, in every kernel,
//! every row path and instruction set, and in the model; dense matrices over the size limit
//! are refused with an error naming the size and the limit.
//!
//! `cargo test --test integration attention_bounded::` runs the parity and guard tests (a few seconds). The
//! memory measurement is ignored by default (it builds a 65,536-event session and runs the
//! release binary on it):
//!
//! ```text
//! cargo test --release --test integration -- --ignored --nocapture embed_peak_rss
//! IRONFORGE_BOUNDED_EVENTS=50000,65536 IRONFORGE_BOUNDED_KERNELS=auto,flash,math \
//!     cargo test --release --test integration -- --ignored --nocapture embed_peak_rss
//! ```
//!
//! It prints one JSON line per run (`events`, `kernel`, `peak_rss_bytes`, `wall_s`) and fails
//! when a run's peak RSS reaches 1 GiB. `IRONFORGE_BOUNDED_DIR=<dir>` keeps the generated
//! sessions (`session_<events>.parquet`) and the outputs there.

use std::path::Path;

use ironforge::attention::bias::{check_dense_size, BiasError, TimeBias, DENSE_BIAS_MAX_BYTES, DENSE_BIAS_MAX_EVENTS};
use ironforge::attention::breaker::CircuitBreaker;
use ironforge::attention::cache::TimeBiasCache;
use ironforge::attention::config::{AttentionConfig, FlashMode};
use ironforge::attention::dispatch::Dispatcher;
use ironforge::attention::kernels::bf16::{self, Bf16Params, Bf16Path};
use ironforge::attention::kernels::block_sparse::{self, BlockSparseParams};
use ironforge::attention::kernels::simd::Isa;
use ironforge::attention::kernels::sparse::SparseRows;
use ironforge::attention::kernels::{attend, attend_parallel, flash, math, sdpa, BiasSource, FastParams, RowBias};
use ironforge::attention::model::{BiasPath, EmbedOptions, KernelChoice, MaskVariant, Model, ModelError};
use ironforge::attention::npz::NpzError;
use ironforge::attention::{AttnInputs, Kernel, Mask};
use ironforge::session::Session;
use ironforge::synth::{generate, golden_specs, SessionSpec};
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::chain;

fn bits<'a>(xs: impl IntoIterator<Item = &'a f32>) -> Vec<u32> {
    xs.into_iter().map(|x| x.to_bits()).collect()
}

fn qkv(seed: u64, h: usize, l: usize, d: usize, amp: f32) -> [Array3<f32>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    std::array::from_fn(|_| Array3::from_shape_simple_fn((h, l, d), || rng.random_range(-amp..amp)))
}

fn dag(s: &Session) -> Vec<(u32, u32)> {
    ironforge::dag::session_causal_pairs(s, &Default::default())
}

/// The real NQ M5 sessions when `../shared/data/nq-m5` is there (skipped with a message
/// otherwise), the first `n` of them.
fn real_sessions(n: usize) -> Vec<Session> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    if !dir.is_dir() {
        eprintln!("real sessions skipped: {} is absent", dir.display());
        return Vec::new();
    }
    let mut all = ironforge::io::read_sessions(&dir).expect("the real shards read");
    all.truncate(n);
    all
}

/// Masks of every shape the row paths meet: the session's DAG (few entries per row, the
/// short and sparse rows), its causal variant, a random half-dense mask with empty rows (tile
/// rows with partly allowed chunks), a band of 70 (dense rows, whole chunks) and a full mask.
fn masks(s: &Session, seed: u64) -> Vec<(&'static str, Mask)> {
    let l = s.len();
    let edges = dag(s);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut random, mut banded) = (Mask::empty(l), Mask::empty(l));
    for i in 0..l {
        for j in 0..l {
            if i % 7 != 3 && rng.random_bool(0.3) {
                random.allow(i, j);
            }
            if j <= i && i - j < 70 {
                banded.allow(i, j);
            }
        }
    }
    vec![
        ("dag", Mask::from_edges(l, &edges)),
        ("causal", Mask::from_edges_causal(l, &edges)),
        ("random", random),
        ("banded", banded),
        ("full", Mask::full(l)),
    ]
}

/// Every kernel, row path, instruction set and bf16 path this CPU runs, labelled.
fn kernel_runs(inp: &AttnInputs<'_>) -> Vec<(String, Array3<f32>)> {
    let mut runs = vec![("math".to_string(), math::forward(inp))];
    for isa in Isa::available() {
        for (label, sparse_max) in [("default", Some(32)), ("off", None), ("all", Some(usize::MAX))] {
            for row_lanes in [true, false] {
                let p = FastParams { isa, parallel: false, sparse_max, row_lanes };
                let tag = if row_lanes { "lanes" } else { "rows4" };
                runs.push((format!("sdpa/{}/{label}/{tag}", isa.name()), sdpa::forward_with(inp, &p).unwrap()));
                runs.push((format!("flash/{}/{label}/{tag}", isa.name()), flash::forward_with(inp, &p).unwrap()));
            }
            for rows_per_block in [1, 4] {
                let bp = BlockSparseParams { isa, sparse_max, rows_per_block, parallel: false };
                let out = block_sparse::forward_with(inp, &bp).unwrap();
                runs.push((format!("block_sparse/{}/{label}/{rows_per_block}", isa.name()), out));
            }
        }
    }
    for path in [Bf16Path::Amx, Bf16Path::F32Fma, Bf16Path::Avx512Bf16, Bf16Path::Portable] {
        if path.is_available() {
            for (label, sparse_max) in [("default", Some(32)), ("off", None)] {
                let p = Bf16Params { path, parallel: false, sparse_max, ..Bf16Params::default() };
                runs.push((format!("bf16/{}/{label}", path.name()), bf16::forward_with(inp, &p).unwrap()));
            }
        }
    }
    for kernel in Kernel::ALL {
        runs.push((format!("attend/{}", kernel.name()), attend(kernel, inp).unwrap()));
        runs.push((format!("attend_parallel/{}", kernel.name()), attend_parallel(kernel, inp).unwrap()));
    }
    runs
}

/// Times with every bucket edge: ties, exactly 5, 15, 60 and 240 minutes apart, and gaps
/// far beyond.
fn edge_times(n: usize, seed: u64) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let steps = [0i64, 0, 300_000, 900_000, 3_600_000, 14_400_000, 60_000, 1, 86_400_000];
    let mut t = 1_753_315_200_000i64;
    (0..n)
        .map(|_| {
            t += steps[rng.random_range(0..steps.len())];
            t
        })
        .collect()
}

#[test]
fn time_bias_rows_are_the_matrix_rows_at_the_allowed_entries() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xB1A5);
    for (n, seed) in [(1usize, 1u64), (7, 2), (64, 3), (130, 4)] {
        let times = edge_times(n, seed);
        let mut mask = Mask::empty(n);
        for i in 0..n {
            for j in 0..n {
                if rng.random_bool(0.2) {
                    mask.allow(i, j);
                }
            }
        }
        for kind in [TimeBias::Bucket, TimeBias::Rbf] {
            let m = kind.matrix(&times).unwrap();
            let dense = RowBias::dense(m.as_slice().unwrap(), n);
            let rows = RowBias::times(&times, kind).unwrap();
            let source = BiasSource::times(&times, kind).unwrap();
            let mut scratch = Vec::new();
            // Blocks of every length 1..=16 over scattered rows; the scratch is reused, so
            // stale entries of earlier rows are there too (never at an allowed column).
            for start in 0..n {
                let block: Vec<usize> = (start..n).step_by(3).take(1 + start % 16).collect();
                let got = rows.rows::<16>(&block, &mask, &mut scratch);
                for (slot, row) in got.iter().enumerate() {
                    let i = block[slot.min(block.len() - 1)];
                    for j in mask.row_columns(i) {
                        assert_eq!(row[j].to_bits(), m[[i, j]].to_bits(), "{kind:?} n {n} ({i}, {j})");
                    }
                }
            }
            for i in 0..n {
                for j in 0..n {
                    let want = m[[i, j]].to_bits();
                    assert_eq!(kind.entry(&times, i, j).to_bits(), want);
                    assert_eq!(source.at(i, j).to_bits(), want);
                    assert_eq!(rows.at(i, j).to_bits(), dense.at(i, j).to_bits());
                    assert!(m[[i, j]].abs() <= kind.max_abs(&times), "{kind:?} bound");
                }
            }
            let sparse = SparseRows::from_mask(&mask, 40);
            assert_eq!(bits(&sparse.entry_bias_of(&rows)), bits(&sparse.entry_bias(m.as_slice().unwrap())));
        }
    }
    assert!(BiasSource::times(&[0, 1], TimeBias::None).is_none());
    assert!(RowBias::times(&[0, 1], TimeBias::None).is_none());
}

/// Every kernel configuration on the dense matrix and on the row-wise time bias, bit for bit,
/// on generated sessions (5 to 300 events), real ones, five mask shapes and four head
/// dimensions (the const-dimension instantiations 4, 12 (11 of 12), 16 and run-time D; the
/// larger sessions at D = 11 only).
#[test]
fn every_kernel_gives_the_same_bits_on_both_bias_sources() {
    let mut sessions: Vec<Session> = [(5usize, 1u64), (37, 2), (150, 3), (300, 4)]
        .iter()
        .map(|&(n, s)| generate(&SessionSpec::new(format!("k{n}"), s, n)))
        .collect();
    sessions.extend(real_sessions(2));
    let mut compared = 0;
    for (si, s) in sessions.iter().enumerate() {
        let (n, times) = (s.len(), s.times_ms());
        // Every head dimension on the smaller sessions; the model's D = 11 on the larger ones,
        // whose full mask is left out (L² per call, nothing a band does not cover).
        let dims: &[usize] = if n <= 150 { &[3, 11, 16, 24] } else { &[11] };
        for (mname, mask) in masks(s, si as u64).into_iter().filter(|(m, _)| n <= 150 || *m != "full") {
            for &d in dims {
                let [q, k, v] = qkv(si as u64 * 31 + d as u64, 2, n, d, 1.5);
                for kind in [TimeBias::Bucket, TimeBias::Rbf] {
                    let m = kind.matrix(&times).unwrap();
                    let dense =
                        AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(m.view().into()) };
                    let rows = AttnInputs { bias: BiasSource::times(&times, kind), ..dense };
                    for ((label, a), (_, b)) in kernel_runs(&dense).into_iter().zip(kernel_runs(&rows)) {
                        assert_eq!(bits(&a), bits(&b), "{} ({n} events), {mname}, D = {d}, {kind:?}: {label}", s.id());
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 1000, "{compared} comparisons");
}

/// A dense bias that is not row-major (a transposed view) is copied by the kernels: the
/// same bits as the time bias (the matrix is symmetric).
#[test]
fn a_transposed_dense_bias_gives_the_same_bits() {
    let s = generate(&SessionSpec::new("t", 9, 90));
    let times = s.times_ms();
    let m = TimeBias::Rbf.matrix(&times).unwrap();
    let mask = Mask::from_edges(90, &dag(&s));
    let [q, k, v] = qkv(9, 4, 90, 11, 1.0);
    let t = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(m.t().into()) };
    let rows = AttnInputs { bias: BiasSource::times(&times, TimeBias::Rbf), ..t };
    for ((label, a), (_, b)) in kernel_runs(&t).into_iter().zip(kernel_runs(&rows)) {
        assert_eq!(bits(&a), bits(&b), "{label}");
    }
}

/// The guarded seam: the breaker passes the row-wise bias through to the kernel and, on a
/// fallback, to `math`.
#[test]
fn the_breaker_falls_back_with_the_same_bias() {
    let s = generate(&SessionSpec::new("b", 5, 60));
    let times = s.times_ms();
    let m = TimeBias::Bucket.matrix(&times).unwrap();
    let mask = Mask::from_edges(60, &dag(&s));
    let [q, k, v] = qkv(5, 4, 60, 11, 1.0);
    let dense = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(m.view().into()) };
    let rows = AttnInputs { bias: BiasSource::times(&times, TimeBias::Bucket), ..dense };
    let nan_fast = |k: Kernel, i: &AttnInputs<'_>| {
        let out = attend(k, i)?;
        Ok(if k == Kernel::Math { out } else { out.mapv(|_| f32::NAN) })
    };
    let breaker = CircuitBreaker::new();
    let a = breaker.attend_with(Kernel::Flash, &dense, nan_fast).unwrap();
    let b = breaker.attend_with(Kernel::Flash, &rows, nan_fast).unwrap();
    assert!(a.fell_back && b.fell_back);
    assert_eq!(bits(&a.output), bits(&b.output));
    assert_eq!(bits(&b.output), bits(&math::forward(&rows)));
}

fn choices(dispatchers: &[Dispatcher]) -> Vec<(String, KernelChoice<'_>)> {
    let mut out: Vec<(String, KernelChoice<'_>)> =
        Kernel::ALL.iter().map(|&k| (k.name().to_string(), KernelChoice::Fixed(k))).collect();
    out.extend(dispatchers.iter().enumerate().map(|(i, d)| (format!("auto{i}"), KernelChoice::Dispatch(d))));
    out
}

/// The dispatchers `auto` runs under: the default flags, bf16 allowed, flash forced, and
/// block_sparse and flash off.
fn dispatchers() -> Vec<Dispatcher> {
    let base = AttentionConfig::default();
    [
        base,
        AttentionConfig { amp: true, ..base },
        AttentionConfig { flash: FlashMode::On, ..base },
        AttentionConfig { block_sparse: false, flash: FlashMode::Off, ..base },
    ]
    .into_iter()
    .map(Dispatcher::with_default_table)
    .collect()
}

/// `embed` with the dense matrix (today's path) and with the row-wise bias: the same bits for
/// every kernel `--kernel` accepts and for `auto`, both mask variants and every time bias, on
/// golden, generated and real sessions.
#[test]
fn embeddings_are_the_same_bits_on_both_bias_paths() {
    let mut sessions: Vec<Session> = golden_specs().iter().step_by(4).map(generate).collect();
    sessions.push(generate(&SessionSpec::new("m1500", 13, 1500)));
    sessions.extend(real_sessions(4));
    let model = Model::from_seed(42);
    let ds = dispatchers();
    for s in &sessions {
        let edges = dag(s);
        for mask in [MaskVariant::Original, MaskVariant::Causal] {
            for bias in TimeBias::ALL {
                for (name, kernel) in choices(&ds) {
                    let opts = EmbedOptions { kernel, mask, bias, ..Default::default() };
                    let dense = model.embed_with_bias_path(s, &edges, &opts, BiasPath::Dense).unwrap();
                    let rows = model.embed_with_bias_path(s, &edges, &opts, BiasPath::Rows).unwrap();
                    let auto = model.embed(s, &edges, &opts).unwrap();
                    let case = format!("{} ({} events), {mask:?}, {}, {name}", s.id(), s.len(), bias.name());
                    assert_eq!(bits(&dense.events), bits(&rows.events), "{case}");
                    assert_eq!(bits(&dense.session), bits(&rows.session), "{case}");
                    assert_eq!(dense.kernels, rows.kernels, "{case}");
                    assert_eq!(bits(&auto.events), bits(&dense.events), "{case}");
                }
            }
        }
    }
}

/// Past [`DENSE_BIAS_MAX_EVENTS`] `embed` computes the bias row by row and never consults the
/// cache (whose capacity one such matrix would fill); at the threshold it still uses the cache.
#[test]
fn auto_switches_to_rows_past_the_threshold_and_skips_the_cache() {
    let model = Model::from_seed(3);
    let cache = TimeBiasCache::new(1 << 30);
    for (n, lookups) in [(DENSE_BIAS_MAX_EVENTS, 1), (DENSE_BIAS_MAX_EVENTS + 1, 0)] {
        cache.clear();
        let s = generate(&SessionSpec::new(format!("x{n}"), 77, n));
        let edges = dag(&s);
        let kernel = KernelChoice::Fixed(Kernel::Flash);
        let opts = EmbedOptions { kernel, cache: Some(&cache), ..Default::default() };
        let auto = model.embed(&s, &edges, &opts).unwrap();
        assert_eq!(cache.stats().misses, lookups, "{n} events");
        let dense = model.embed_with_bias_path(&s, &edges, &opts, BiasPath::Dense).unwrap();
        assert_eq!(bits(&auto.events), bits(&dense.events), "{n} events");
    }
}

#[test]
fn dense_matrices_over_the_limit_are_errors_not_allocations() {
    let max_l = (DENSE_BIAS_MAX_BYTES / 4).isqrt();
    assert!(check_dense_size("bias", max_l).is_ok());
    let over = max_l + 1;
    let err = check_dense_size("bias", over).unwrap_err();
    let BiasError::TooLarge { l, bytes, limit, .. } = &err;
    assert_eq!((*l, *bytes, *limit), (over, over * over * 4, DENSE_BIAS_MAX_BYTES));
    let text = err.to_string();
    assert!(text.contains(&format!("{over} × {over}")) && text.contains(&DENSE_BIAS_MAX_BYTES.to_string()), "{text}");

    let times = vec![0i64; over];
    assert!(matches!(TimeBias::Rbf.try_matrix(&times), Err(BiasError::TooLarge { .. })));
    let cache = TimeBiasCache::new(usize::MAX);
    assert!(cache.get_or_compute(&times, TimeBias::Bucket).is_err());
    assert_eq!((cache.stats().misses, cache.stats().entries), (0, 0));

    // The model: asked for a dense bias of a session over the limit, it names the session.
    let s = generate(&SessionSpec::new("huge", 5, over));
    let edges = dag(&s);
    let opts = EmbedOptions { kernel: KernelChoice::Fixed(Kernel::Flash), ..Default::default() };
    match Model::from_seed(1).embed_with_bias_path(&s, &edges, &opts, BiasPath::Dense) {
        Err(e @ ModelError::Bias { .. }) => {
            let text = chain(&e);
            assert!(
                text.contains("huge") && text.contains(&format!("{over} × {over}")) && text.contains("limit"),
                "{text}"
            );
        }
        other => panic!("expected a bias size error, got {:?}", other.map(|e| e.events.dim())),
    }
}

/// `ironforge attend` with a `bias` for L over the limit: refused before the array is read
/// (the file's `bias` is tiny; its L comes from `q`), in the library and on the command line.
#[test]
fn attend_refuses_a_dense_bias_over_the_limit() {
    let dir = std::env::temp_dir().join(format!("ironforge-bounded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let case = dir.join("huge.npz");
    let over = (DENSE_BIAS_MAX_BYTES / 4).isqrt() + 1;
    {
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&case).unwrap());
        let q = Array3::<f32>::zeros((1, over, 1));
        for name in ["q", "k", "v"] {
            npz.add_array(name, &q).unwrap();
        }
        npz.add_array("bias", &ndarray::Array2::<f32>::zeros((1, 1))).unwrap();
        npz.finish().unwrap();
    }
    let out = dir.join("out.npy");
    let err = ironforge::attention::npz::attend_file(&case, Kernel::Math, &out, &CircuitBreaker::new()).unwrap_err();
    assert!(matches!(&err, NpzError::TooLarge { array, .. } if array == "bias"), "{err}");
    let text = chain(&err);
    assert!(text.contains("huge.npz") && text.contains("`bias`") && text.contains("limit"), "{text}");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ironforge"))
        .args(["attend", "--input"])
        .arg(&case)
        .args(["--kernel", "flash", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.contains("`bias`") && stderr.contains("limit"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "no partial output");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Peak RSS (bytes) and wall time of a child process, from `wait4`.
#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also gives its peak RSS
fn run_measured(cmd: &mut std::process::Command) -> (std::process::ExitStatus, u64, f64) {
    use std::os::unix::process::ExitStatusExt;
    let start = std::time::Instant::now();
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, zero is a valid value; `wait4` writes both out-params
    // and reaps the child we spawned (never waited on elsewhere).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointers are to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let wall = start.elapsed().as_secs_f64();
    // ru_maxrss is in KiB on Linux.
    (std::process::ExitStatus::from_raw(status), usage.ru_maxrss as u64 * 1024, wall)
}

/// The memory check: `ironforge embed` (this profile's binary; use `--release`) on one
/// generated session of each size in `IRONFORGE_BOUNDED_EVENTS` (default 65,536) with each
/// kernel of `IRONFORGE_BOUNDED_KERNELS` (default `auto`); peak RSS must stay under 1 GiB.
#[test]
#[ignore = "builds a 65,536-event session and runs the binary on it; see the module docs"]
#[cfg(target_os = "linux")]
fn embed_peak_rss() {
    const LIMIT: u64 = 1 << 30;
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var).unwrap_or_else(|_| default.to_string()).split(',').map(|s| s.trim().to_string()).collect()
    };
    // `IRONFORGE_BOUNDED_DIR` keeps the session files (and the outputs) there.
    let keep = std::env::var_os("IRONFORGE_BOUNDED_DIR").map(std::path::PathBuf::from);
    let dir =
        keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("ironforge-peak-{}", std::process::id())));
    std::fs::create_dir_all(&dir).unwrap();
    let mut worst = 0;
    for events in list("IRONFORGE_BOUNDED_EVENTS", "65536") {
        let n: usize = events.parse().expect("IRONFORGE_BOUNDED_EVENTS: comma-separated event counts");
        let input = dir.join(format!("session_{n}.parquet"));
        let s = generate(&SessionSpec::new(format!("long_{n}"), 0x10E6 + n as u64, n));
        ironforge::io::write_multi(&input, [&s], &Default::default()).unwrap();
        let edges = dag(&s).len();
        drop(s);
        for kernel in list("IRONFORGE_BOUNDED_KERNELS", "auto") {
            let out = dir.join(format!("emb_{n}_{kernel}.parquet"));
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ironforge"));
            cmd.arg("embed").arg(&input).args(["--kernel", &kernel, "--out"]).arg(&out);
            let (status, peak, wall) = run_measured(&mut cmd);
            assert!(status.success(), "embed of {n} events with {kernel} failed: {status}");
            println!(
                "{}",
                serde_json::json!({ "events": n, "edges": edges, "kernel": kernel, "peak_rss_bytes": peak, "wall_s": wall })
            );
            worst = worst.max(peak);
        }
    }
    if keep.is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(worst < LIMIT, "peak RSS {worst} bytes reaches 1 GiB");
}
