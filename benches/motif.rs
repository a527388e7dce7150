//! Motif engine benchmarks (plain `main`, medians of interleaved repetitions).
//!
//! `cargo bench --bench motif` (set `MOTIF_BENCH_QUICK=1` for a short run,
//! `MOTIF_BENCH_PATHS=1` for the census per instruction-set path alone, `MOTIF_BENCH_PATHS=word`
//! for only the sets whose name contains `word`, e.g. `imported`). The census-per-path tables
//! are written as the `census` figure (`cargo xtask figures record`); the other sections are
//! printed. Numbers from a shared, busy machine are noisy.

use ironforge::gate::figure::{Cell, Figure, Table};
use ironforge::gate::stats::median;
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::{Array, Int64Array, UInt32Array};
use ironforge::dag::BuildParams;
use ironforge::dag::{causal_pairs, Builder};
use ironforge::motif::bootstrap::{bootstrap_intervals, BootstrapParams};
use ironforge::motif::brute::census_brute;
use ironforge::motif::census::census_with;
use ironforge::motif::esu::{for_each_subgraph, CensusIsa, BITSET_MAX_NODES};
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
    if let Err(e) = ironforge::attention::kernels::simd::Isa::ceiling_from_env() {
        eprintln!("motif bench: {e}");
        std::process::exit(2);
    }
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
    if let Ok(filter) = std::env::var("MOTIF_BENCH_PATHS") {
        emit(census_paths(quick, &canary, if filter == "1" { "" } else { &filter }));
        return;
    }
    if !mc_only {
        emit(census_paths(quick, &canary, ""));
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

/// Census throughput per instruction-set path ([`CensusIsa`]), interleaved: every round times
/// each available path once (the order rotating from round to round), so that a machine whose
/// speed drifts slows every path alike; the ratios are medians of the per-round ratios to the
/// scalar path. Sets: the 120 canary sessions' causal DAGs (the `census_throughput` gate's
/// workload) and the 40 real NQ M5 sessions, with the DAGs the pipeline rebuilds and with
/// their imported edges. Also the shape of the last level: extensions per 4-node subgraph.
fn census_paths(quick: bool, canary: &[SessionGraph], filter: &str) -> Figure {
    let paths = CensusIsa::available();
    let rounds = if quick { 11 } else { 31 };
    let min_sample = std::time::Duration::from_millis(if quick { 40 } else { 80 });
    let real = real_sessions();
    let rebuilt_real: Vec<SessionGraph> = real
        .iter()
        .map(|s| SessionGraph {
            times_ms: s.times_ms.clone(),
            edges: causal_pairs(&s.times_ms, &BuildParams::default(), Builder::Fast),
        })
        .collect();
    let mut sets: Vec<(&str, Vec<MotifGraph>)> = vec![("canary (120, rebuilt DAGs)", graphs(canary))];
    if !real.is_empty() {
        sets.push(("real NQ M5 (40, rebuilt DAGs)", graphs(&rebuilt_real)));
        sets.push(("real NQ M5 (40, imported edges)", graphs(&real)));
    }
    sets.retain(|(name, _)| name.contains(filter));
    let mut per_path = Table::new(
        "Census per path, one core",
        [
            "set",
            "instances per pass",
            "path",
            "median instances/s",
            "ns per instance",
            "ratio to scalar (median of rounds)",
        ],
    )
    .with_note(format!(
        "5-node census, {rounds} interleaved rounds; paths on this CPU (under IRONFORGE_MAX_ISA): {}.",
        paths.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
    ));
    let mut list_walked = Vec::new();
    for (name, set) in &sets {
        // Graphs over the bitset walk's limit take the list walk on every path.
        let over: Vec<MotifGraph> = set.iter().filter(|g| g.len() > BITSET_MAX_NODES).cloned().collect();
        list_walked.push((name, over.len(), over.iter().map(|g| census(g, 5).instances()).sum::<u64>()));
        let pass = |isa: CensusIsa| -> u64 {
            set.iter().map(|g| std::hint::black_box(census_with(g, 5, isa).unwrap()).instances()).sum()
        };
        // Every path gives the same census (checked here once more, on the timed graphs).
        for g in set {
            let scalar = census_with(g, 5, CensusIsa::Scalar).unwrap();
            for &isa in &paths {
                assert_eq!(census_with(g, 5, isa).unwrap(), scalar, "{name}: path {}", isa.name());
            }
        }
        let instances = pass(CensusIsa::Scalar);
        let reps = {
            let t = Instant::now();
            pass(CensusIsa::Scalar);
            (min_sample.as_secs_f64() / t.elapsed().as_secs_f64().max(1e-9)).ceil().max(1.0) as usize
        };
        let mut rates = vec![Vec::with_capacity(rounds); paths.len()];
        for round in 0..rounds {
            for k in 0..paths.len() {
                let at = (round + k) % paths.len();
                let t = Instant::now();
                for _ in 0..reps {
                    pass(paths[at]);
                }
                rates[at].push((instances * reps as u64) as f64 / t.elapsed().as_secs_f64());
            }
        }
        let scalar_at = paths.iter().position(|&p| p == CensusIsa::Scalar).expect("scalar is always available");
        for (at, isa) in paths.iter().enumerate() {
            let ratios: Vec<f64> = (0..rounds).map(|r| rates[at][r] / rates[scalar_at][r]).collect();
            let rate = median(&rates[at]);
            per_path.row([
                Cell::text(name),
                Cell::text(instances),
                Cell::text(isa.name()),
                Cell::number(rate, 0),
                Cell::number(1e9 / rate, 2),
                Cell::number(median(&ratios), 3),
            ]);
        }
    }
    let mut note = format!("Graphs of more than {BITSET_MAX_NODES} nodes take the list walk on every path:");
    for (name, graphs, instances) in list_walked {
        note.push_str(&format!(" {name}: {graphs} graphs, {instances} instances per pass;"));
    }
    per_path.note = format!("{} {}", per_path.note, note.trim_end_matches(';'));
    // The last level's shape: how many extensions a 4-node subgraph has (the AVX2 path reads
    // eight in a fixed sequence, the AVX-512 path compresses sixteen; more take a branch).
    let mut extensions = Table::new(
        "Extensions per 4-node subgraph (the last level of a 5-node census)",
        ["set", "4-node subgraphs", "mean", "share with 0", "share > 8", "share > 16"],
    );
    for (name, set) in &sets {
        let mut per: Vec<u32> = Vec::new();
        for g in set {
            // The walk visits a 4-node subgraph, then its extensions, depth first.
            for_each_subgraph(g, 5, |size, _, _| match size {
                4 => per.push(0),
                5 => *per.last_mut().expect("a 5-node instance follows its 4-node subgraph") += 1,
                _ => {}
            });
        }
        let n = per.len().max(1) as f64;
        let share = |f: &dyn Fn(u32) -> bool| per.iter().filter(|&&e| f(e)).count() as f64 / n;
        extensions.row([
            Cell::text(name),
            Cell::text(per.len()),
            Cell::number(per.iter().map(|&e| e as f64).sum::<f64>() / n, 2),
            Cell::number(share(&|e| e == 0), 3),
            Cell::number(share(&|e| e > 8), 4),
            Cell::number(share(&|e| e > 16), 5),
        ]);
    }
    Figure::new("census", vec![per_path, extensions])
}

/// Prints `figure` and writes its JSON where `cargo xtask figures record` asks.
fn emit(figure: Figure) {
    if let Err(e) = figure.emit() {
        eprintln!("motif bench: {e}");
        std::process::exit(1);
    }
}
