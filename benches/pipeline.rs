//! Pipeline throughput benchmark (plain `fn main`, `harness = false`): the optimized and the
//! baseline pipeline ([`ironforge::pipeline`]) on the 40 real NQ shards (skipped when
//! `../shared/data/nq-m5` is absent) and on the 120 canary sessions, one thread.
//!
//! `cargo bench --bench pipeline [-- --rounds 7 --threads 2]`. Each round processes the whole set with each
//! pipeline, repeated so that a pass lasts at least 0.25 s, the order alternating (A B, B A, …)
//! after one warm-up pass that also builds the motif class tables and sizes the passes.
//! Reported: sessions per second from the median round, by wall clock and by the thread's CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`, robust to time slices lost on a shared machine), and the
//! median of the per-round ratios. A second table runs the optimized pipeline's
//! [`Pipeline::process_all`] on a one-thread and a `--threads` rayon pool, interleaved. Every
//! run over a set is cold: the optimized pipeline's time-bias cache is emptied before it. The
//! tables are printed and written as a figure (`cargo xtask figures record`). Speed is
//! reported, never asserted.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use ironforge::gate::figure::{Cell, Figure, Table};
use ironforge::gate::stats::median;
use ironforge::pipeline::{Pipeline, PipelineConfig};
use ironforge::session::Session;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This thread's CPU time in seconds (`CLOCK_THREAD_CPUTIME_ID`: exact to the nanosecond, unlike
/// `/proc/thread-self/schedstat`, which advances only at scheduler ticks); 0 if unavailable.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if ok {
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    } else {
        0.0
    }
}

/// Empties `p`'s time-bias cache, if it has one: the next run meets every session cold.
fn clear_cache(p: &Pipeline) {
    if let Some(c) = p.cache() {
        c.clear();
    }
}

/// (wall s, cpu s) per run over `sessions` of one pass of `repeat` runs of `p`, each run cold
/// (the cache emptied before it, inside the timing: a few microseconds).
fn pass(p: &Pipeline, sessions: &[Session], repeat: usize) -> (f64, f64) {
    let (t, c) = (Instant::now(), thread_cpu_s());
    for _ in 0..repeat {
        clear_cache(p);
        for s in sessions {
            black_box(p.process(s).expect("bench sessions are valid"));
        }
    }
    let r = repeat as f64;
    (t.elapsed().as_secs_f64() / r, (thread_cpu_s() - c) / r)
}

/// Runs per pass so that a pass lasts at least [`MIN_PASS_S`] (a pass of the 40 real sessions
/// alone takes about 4 ms: timer and scheduling noise would dominate it).
fn repeats_for(p: &Pipeline, sessions: &[Session]) -> usize {
    let once = pass(p, sessions, 1).0.max(1e-6);
    (MIN_PASS_S / once).ceil().max(1.0) as usize
}

/// Shortest pass timed.
const MIN_PASS_S: f64 = 0.25;

fn bench(table: &mut Table, name: &str, sessions: &[Session], rounds: usize) {
    let opt = Pipeline::new(7, PipelineConfig::optimized(Default::default()));
    let base = Pipeline::new(7, PipelineConfig::baseline());
    let (ro_n, rb_n) = (repeats_for(&opt, sessions), repeats_for(&base, sessions));
    let (mut o, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ro, rb) = if round % 2 == 0 {
            let ro = pass(&opt, sessions, ro_n);
            (ro, pass(&base, sessions, rb_n))
        } else {
            let rb = pass(&base, sessions, rb_n);
            (pass(&opt, sessions, ro_n), rb)
        };
        ratios.push(rb.0 / ro.0);
        o.push(ro);
        b.push(rb);
    }
    let n = sessions.len() as f64;
    let rate =
        |v: &[(f64, f64)], cpu: bool| n / median(&v.iter().map(|x| if cpu { x.1 } else { x.0 }).collect::<Vec<_>>());
    let events: usize = sessions.iter().map(Session::len).sum();
    table.row([
        Cell::text(name),
        Cell::text(sessions.len()),
        Cell::number(events as f64 / n, 0),
        Cell::number(rate(&o, false), 0),
        Cell::number(rate(&o, true), 0),
        Cell::number(rate(&b, false), 0),
        Cell::number(rate(&b, true), 0),
        Cell::number(median(&ratios), 2),
    ]);
}

/// Wall seconds per run of one pass of `repeat` runs of `p` over `sessions` on `pool`
/// ([`Pipeline::process_all`]: sessions spread over the pool's threads).
fn pass_on(pool: &rayon::ThreadPool, p: &Pipeline, sessions: &[Session], repeat: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..repeat {
        clear_cache(p);
        black_box(pool.install(|| p.process_all(sessions)).expect("bench sessions are valid"));
    }
    t.elapsed().as_secs_f64() / repeat as f64
}

/// The optimized pipeline on one thread and on `threads`, interleaved (A B, B A, …), each pool
/// started once before the rounds.
fn bench_threads(table: &mut Table, name: &str, sessions: &[Session], rounds: usize, threads: usize) {
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("a rayon pool");
    let (one, many) = (pool(1), pool(threads));
    let p = Pipeline::new(7, PipelineConfig::optimized(Default::default()));
    let once = pass_on(&one, &p, sessions, 1).max(1e-6);
    let repeat = (MIN_PASS_S / once).ceil().max(1.0) as usize;
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (t1, tn) = if round % 2 == 0 {
            let t1 = pass_on(&one, &p, sessions, repeat);
            (t1, pass_on(&many, &p, sessions, repeat))
        } else {
            let tn = pass_on(&many, &p, sessions, repeat);
            (pass_on(&one, &p, sessions, repeat), tn)
        };
        ratios.push(t1 / tn);
        a.push(t1);
        b.push(tn);
    }
    let n = sessions.len() as f64;
    table.row([
        Cell::text(name),
        Cell::text(sessions.len()),
        Cell::number(n / median(&a), 0),
        Cell::text(threads),
        Cell::number(n / median(&b), 0),
        Cell::number(median(&ratios), 2),
    ]);
}

fn main() {
    if let Err(e) = ironforge::attention::kernels::simd::Isa::ceiling_from_env() {
        eprintln!("pipeline bench: {e}");
        std::process::exit(2);
    }
    let rounds = arg("--rounds", 7).max(1);
    let threads = arg("--threads", 2).max(2);
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nq-m5");
    let real = if real.is_dir() {
        Some(ironforge::io::read_sessions(&real).expect("the real shards read"))
    } else {
        eprintln!("skipping the real shards: {} is absent", real.display());
        None
    };
    let canary: Vec<Session> = ironforge::synth::canary_specs().iter().map(ironforge::synth::generate).collect();
    let sets: Vec<(&str, &[Session])> = real
        .as_deref()
        .map(|r| ("real NQ shards", r))
        .into_iter()
        .chain([("canary (synthetic)", &canary[..])])
        .collect();
    let isa = ironforge::attention::kernels::simd::Isa::detect().name();
    let mut one = Table::new(
        "Optimized vs baseline pipeline, one thread",
        [
            "sessions",
            "n",
            "mean events",
            "optimized /s (wall)",
            "optimized /s (cpu)",
            "baseline /s (wall)",
            "baseline /s (cpu)",
            "speed-up (median of rounds)",
        ],
    )
    .with_note(format!(
        "Kernels on {isa}. {rounds} interleaved rounds; each pass processes the set cold (time-bias cache \
         emptied) and lasts at least {MIN_PASS_S} s; sessions per second of the median round, by wall \
         clock and by thread CPU time."
    ));
    for (name, sessions) in &sets {
        bench(&mut one, name, sessions, rounds);
    }
    let mut many = Table::new(
        "Optimized pipeline, one thread vs several (Pipeline::process_all)",
        [
            "sessions",
            "n",
            "optimized /s, 1 thread",
            "threads",
            "optimized /s, threads",
            "speed-up over 1 thread (median of rounds)",
        ],
    )
    .with_note(format!("Kernels on {isa}. {rounds} interleaved rounds, cold passes, wall clock."));
    for (name, sessions) in &sets {
        bench_threads(&mut many, name, sessions, rounds, threads);
    }
    if let Err(e) = Figure::new("pipeline", vec![one, many]).emit() {
        eprintln!("pipeline bench: {e}");
        std::process::exit(1);
    }
}
