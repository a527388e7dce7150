//! DAG engine benchmark (plain `fn main`, `harness = false`): fast vs reference causal builder,
//! and topological generations vs `petgraph::algo::toposort` on the same graph, at
//! n = 64, 256, 1024, 4096, with peak heap per operation from a counting global allocator.
//!
//! Run with `cargo bench --bench dag`. Prints a Markdown table; A and B are interleaved and
//! medians are reported. Two builder workloads: `synth` (the deterministic generator:
//! a few events per 5-minute bar) and `ties` (8 bursts of n/8 events sharing one timestamp,
//! 5 minutes apart: the reference must scan each burst to skip gaps under dt_min).

use ironforge::gate::stats::median;
use std::hint::black_box;
use std::time::Instant;

use ironforge::dag::{causal_pairs_fast, causal_pairs_reference, topological_generations, BuildParams, Dag};
use ironforge::gate::memory::measure_peak;
use ironforge::gate::CountingAllocator;
use ironforge::synth::{generate, SessionSpec};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Extra heap bytes (above the live bytes at the start) at the peak of one call of `f`.
fn peak_heap<R>(f: impl FnOnce() -> R) -> usize {
    let (r, peak) = measure_peak(f).expect("the counting allocator is installed");
    drop(black_box(r));
    peak.peak_above_baseline
}

/// Seconds per call of `f`, from `reps` calls.
fn time<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        black_box(f());
    }
    start.elapsed().as_secs_f64() / reps as f64
}

/// Medians of interleaved A/B timings; reps per sample sized so the slower side takes ~5 ms.
fn compare<A, B>(mut a: impl FnMut() -> A, mut b: impl FnMut() -> B) -> (f64, f64) {
    let one = time(1, &mut a).max(time(1, &mut b)).max(1e-7);
    let reps = ((5e-3 / one) as usize).clamp(1, 100_000);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..11 {
        ta.push(time(reps, &mut a));
        tb.push(time(reps, &mut b));
    }
    (median(&ta), median(&tb))
}

fn ties_times(n: usize) -> Vec<i64> {
    (0..n).map(|i| (i / n.div_ceil(8)) as i64 * 300_000).collect()
}

fn main() {
    let params = BuildParams::default();
    println!(
        "| n | workload | edges | reference µs | fast µs | fast speed-up | reference peak heap B | fast peak heap B |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut gen_rows = Vec::new();
    for n in [64usize, 256, 1024, 4096] {
        let session = generate(&SessionSpec::new(format!("bench_{n}"), 0xBE4C + n as u64, n));
        for (workload, times) in [("synth", session.times_ms()), ("ties", ties_times(n))] {
            let fast = causal_pairs_fast(&times, &params);
            assert_eq!(fast, causal_pairs_reference(&times, &params), "builders disagree at n = {n}");
            let (tr, tf) = compare(|| causal_pairs_reference(&times, &params), || causal_pairs_fast(&times, &params));
            let hr = peak_heap(|| causal_pairs_reference(&times, &params));
            let hf = peak_heap(|| causal_pairs_fast(&times, &params));
            println!(
                "| {n} | {workload} | {} | {:.1} | {:.1} | {:.1}× | {hr} | {hf} |",
                fast.len(),
                tr * 1e6,
                tf * 1e6,
                tr / tf
            );
        }
        let dag = Dag::built(&session, &params).expect("built DAGs are acyclic");
        let graph = dag.to_petgraph();
        let (tg, tp) = compare(
            || topological_generations(dag.forward(), dag.node_ids()).expect("acyclic"),
            || petgraph::algo::toposort(&graph, None).expect("acyclic"),
        );
        let hg = peak_heap(|| topological_generations(dag.forward(), dag.node_ids()));
        let hp = peak_heap(|| petgraph::algo::toposort(&graph, None));
        gen_rows.push(format!(
            "| {n} | {} | {} | {:.1} | {:.1} | {:.2}× | {hg} | {hp} |",
            dag.local_edges().len(),
            dag.generations().len(),
            tg * 1e6,
            tp * 1e6,
            tg / tp
        ));
    }
    println!();
    println!("| n | edges | generations | generations µs | petgraph toposort µs | ratio (gen / toposort) | generations peak heap B | toposort peak heap B |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in gen_rows {
        println!("{row}");
    }
}
