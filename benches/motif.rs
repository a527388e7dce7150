//! Motif engine benchmarks (plain `main`, medians of interleaved repetitions).
//!
//! `cargo bench --bench motif` (set `MOTIF_BENCH_QUICK=1` for a short run). Numbers from a
//! shared, busy machine are noisy; the tables in docs/motif.md say which run they came from.

use ironforge::gate::stats::median;
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::{Array, Int64Array, UInt32Array};
use ironforge::dag::BuildParams;
use ironforge::motif::bootstrap::{bootstrap_intervals, BootstrapParams};
use ironforge::motif::brute::census_brute;
use ironforge::motif::lift::Thresholds;
use ironforge::motif::null::{run_null, NullParams};
use ironforge::motif::stability::{lift_delta, lift_table};
use ironforge::motif::{analysis::observed_censuses, census, CensusCounter, EdgeSource, MotifGraph, SessionGraph};
use ironforge::synth::{canary_specs, generate, golden_specs, SessionSpec};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::{Rng, SeedableRng};

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

fn rebuilt(specs: &[SessionSpec]) -> Vec<SessionGraph> {
    specs
        .iter()
        .map(|s| SessionGraph::from_session(&generate(s), &EdgeSource::Rebuilt(BuildParams::default())))
        .collect()
}

fn column<T: Array + Clone + 'static>(path: &Path, name: &str) -> Option<T> {
    let file = std::fs::File::open(path).ok()?;
    let batch = ParquetRecordBatchReaderBuilder::try_new(file).ok()?.build().ok()?.next()?.ok()?;
    batch.column_by_name(name)?.as_any().downcast_ref::<T>().cloned()
}

/// The 40 real shards with their imported edges, if `../shared/data/nq-m5` is there.
fn real_sessions() -> Vec<SessionGraph> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    let Ok(dir) = std::fs::read_dir(&root) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("nodes.parquet").exists()).collect();
    dirs.sort();
    dirs.iter()
        .filter_map(|d| {
            let ids = column::<UInt32Array>(&d.join("nodes.parquet"), "node_id")?;
            let t = column::<Int64Array>(&d.join("nodes.parquet"), "t")?;
            let mut order: Vec<usize> = (0..ids.len()).collect();
            order.sort_by_key(|&i| t.value(i));
            let local: std::collections::HashMap<u32, u32> =
                order.iter().enumerate().map(|(p, &i)| (ids.value(i), p as u32)).collect();
            let src = column::<UInt32Array>(&d.join("edges.parquet"), "src")?;
            let dst = column::<UInt32Array>(&d.join("edges.parquet"), "dst")?;
            let edges = (0..src.len()).map(|i| (local[&src.value(i)], local[&dst.value(i)])).collect();
            Some(SessionGraph { times_ms: order.iter().map(|&i| t.value(i)).collect(), edges })
        })
        .collect()
}

fn graphs(sessions: &[SessionGraph]) -> Vec<MotifGraph> {
    sessions.iter().map(|s| MotifGraph::new(s.times_ms.len(), &s.edges).unwrap()).collect()
}

fn main() {
    let quick = std::env::var("MOTIF_BENCH_QUICK").is_ok();
    let reps = if quick { 3 } else { 7 };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    // Build the lookup tables outside the timings.
    let (_, t_tables) = time(|| {
        (3..=5).for_each(|k| {
            let _ = ironforge::motif::canon::table(k);
        })
    });
    println!("lookup tables (k = 3, 4, 5) built once in {:.3} s", t_tables);

    let mc_only = std::env::var("MOTIF_BENCH_MC").is_ok();
    let golden = rebuilt(&golden_specs());
    let canary = rebuilt(&canary_specs());
    if !mc_only {
        sections_1_to_5(quick, reps, &one, &golden, &canary);
    }
    // 6. Monte Carlo trade-off: top-10 |Δlift| between two seeds vs iterations (all cores).
    println!("\n## Top-10 |Δlift| between seeds 1 and 2 vs null iterations (all cores)");
    println!("| set | iterations | min count | max abs | mean abs | max rel | wall (s, both runs) |");
    println!("|---|---|---|---|---|---|---|");
    let plan: Vec<(&str, &Vec<SessionGraph>, Vec<usize>)> = match std::env::var("MOTIF_BENCH_MC").as_deref() {
        Ok("golden") => vec![("golden", &golden, vec![50, 200, 500])],
        Ok("canary") => vec![("canary", &canary, vec![25, 50])],
        _ if quick => vec![("golden", &golden, vec![50, 100]), ("canary", &canary, vec![50])],
        _ => vec![("golden", &golden, vec![50, 100, 200, 500, 1000]), ("canary", &canary, vec![50, 100, 200])],
    };
    for (name, set, its) in plan {
        let observed = observed_censuses(set, 5).unwrap();
        let mut total = ironforge::motif::Census::default();
        observed.iter().for_each(|c| total.add(c));
        let times: Vec<Vec<i64>> = set.iter().map(|s| s.times_ms.clone()).collect();
        for n in its {
            let params = NullParams { iterations: n, ..NullParams::default() };
            let th = Thresholds::default();
            let ((a, b), s) = time(|| {
                let a = lift_table(&total, &run_null(&times, &params, 1).unwrap(), &th);
                let b = lift_table(&total, &run_null(&times, &params, 2).unwrap(), &th);
                (a, b)
            });
            for min_count in [1u64, 20] {
                let d = lift_delta(&a, &b, 10, min_count);
                println!(
                    "| {name} | {n} | {min_count} | {:.4} | {:.4} | {:.4} | {:.2} |",
                    d.max_abs, d.mean_abs, d.max_rel, s
                );
            }
        }
    }
}

fn sections_1_to_5(
    quick: bool,
    reps: usize,
    one: &rayon::ThreadPool,
    golden: &[SessionGraph],
    canary: &[SessionGraph],
) {
    // 1. ESU vs brute force on random DAGs of 14 nodes.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let small: Vec<MotifGraph> = (0..20)
        .map(|_| {
            let edges: Vec<(u32, u32)> =
                (0..14u32).flat_map(|a| (a + 1..14).map(move |b| (a, b))).filter(|_| rng.random_bool(0.2)).collect();
            MotifGraph::new(14, &edges).unwrap()
        })
        .collect();
    let (mut te, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        te.push(time(|| small.iter().map(|g| census(g, 5).instances()).sum::<u64>()).1);
        tb.push(time(|| small.iter().map(|g| census_brute(g, 5).instances()).sum::<u64>()).1);
    }
    let (me, mb) = (median(&te), median(&tb));
    println!("\n## ESU vs brute force (20 random DAGs, 14 nodes, p = 0.2)");
    println!(
        "| ESU (ms) | brute force (ms) | ratio |\n|---|---|---|\n| {:.3} | {:.1} | {:.0}x |",
        me * 1e3,
        mb * 1e3,
        mb / me
    );

    // 2. Census throughput (one core): canary sessions with rebuilt edges.
    let canary_graphs = graphs(canary);
    let mut counter = CensusCounter::new(5);
    let mut rates = Vec::new();
    let mut instances = 0;
    for _ in 0..reps {
        let (_, s) = time(|| {
            for g in &canary_graphs {
                counter.count(g);
            }
        });
        instances = counter.instances();
        counter.finish();
        rates.push(instances as f64 / s);
    }
    println!("\n## Census throughput (one core, 120 canary sessions, rebuilt edges)");
    println!("| instances | median rate (instances/s) |\n|---|---|\n| {} | {:.2e} |", instances, median(&rates));

    // 3. Census of the 40 real sessions (imported edges), or 40 synth sessions of 16–68 events.
    let real = real_sessions();
    let (label, forty) = if real.len() == 40 {
        ("40 real NQ M5 shards, imported edges", real.clone())
    } else {
        let specs: Vec<SessionSpec> =
            (0..40).map(|i| SessionSpec::new(format!("r{i}"), 900 + i, 16 + (i as usize * 52) / 39)).collect();
        ("40 synth sessions of 16–68 events, rebuilt edges", rebuilt(&specs))
    };
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..reps {
        let (n, s) = time(|| {
            let g = graphs(&forty);
            g.iter().map(|g| census(g, 5).instances()).sum::<u64>()
        });
        total = n;
        times.push(s);
    }
    println!("\n## Census of {label} (one core, graph build included)");
    println!("| instances | median time (ms) |\n|---|---|\n| {} | {:.3} |", total, median(&times) * 1e3);

    // 4. Null-model cost per session-iteration (one core).
    let iters = if quick { 5 } else { 20 };
    println!("\n## Null model, one core ({iters} iterations)");
    println!("| set | sessions | events | ms per iteration (all sessions) | µs per session-iteration |\n|---|---|---|---|---|");
    let sets: Vec<(&str, &[SessionGraph])> = vec![("real", real.as_slice()), ("golden", golden), ("canary", canary)];
    for (name, set) in &sets {
        if set.is_empty() {
            continue;
        }
        let times: Vec<Vec<i64>> = set.iter().map(|s| s.times_ms.clone()).collect();
        let params = NullParams { iterations: iters, ..NullParams::default() };
        let mut samples = Vec::new();
        for _ in 0..reps.min(3) {
            samples.push(one.install(|| time(|| run_null(&times, &params, 1).unwrap()).1));
        }
        let per_iter = median(&samples) / iters as f64;
        let events: usize = times.iter().map(Vec::len).sum();
        println!(
            "| {name} | {} | {events} | {:.2} | {:.1} |",
            set.len(),
            per_iter * 1e3,
            per_iter * 1e6 / set.len() as f64
        );
    }

    // 5. Bootstrap throughput (one core, golden set).
    let observed = observed_censuses(golden, 5).unwrap();
    let null = run_null(
        &golden.iter().map(|s| s.times_ms.clone()).collect::<Vec<_>>(),
        &NullParams { iterations: 50, ..NullParams::default() },
        3,
    )
    .unwrap();
    let mut motifs: Vec<_> =
        observed.iter().flat_map(|c| c.iter().map(|(id, _)| id)).chain(null.total.keys().copied()).collect();
    motifs.sort();
    motifs.dedup();
    let b = if quick { 200 } else { 1000 };
    let (_, s) = one.install(|| {
        time(|| {
            bootstrap_intervals(
                &observed,
                &null,
                &motifs,
                &BootstrapParams { replicates: b, confidence: 0.95 },
                &Thresholds::default(),
                9,
            )
            .unwrap()
        })
    });
    println!("\n## Bootstrap (one core, golden set, {} motifs)", motifs.len());
    println!("| replicates | time (s) | replicates/s |\n|---|---|---|\n| {b} | {:.3} | {:.0} |", s, b as f64 / s);
}
