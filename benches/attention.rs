//! Attention kernel benchmark: every kernel against `math`, interleaved round-robin in one
//! process, at L = 64 … 4096, H = 4, D = 11, dense and real-style DAG masks, 1 and 2 threads,
//! with the extra heap each kernel allocates (counting global allocator; the output array is
//! not counted). Then `bf16` against f32 `flash` at D = 64 and D = 11.
//!
//! `cargo bench --bench attention [-- --max-l 4096 --dense-max-l 1024 --rounds 7]`. Prints Markdown tables.
//! `cargo bench --bench attention -- --threshold 1` prints only the sparse-path threshold
//! table (band masks of width w, `sdpa` with every row sparse vs no row sparse).
//! `cargo bench --bench attention -- --anchors 1` prints only the dense table against the
//! PyTorch anchors: `flash` and `sdpa` with one row per lane vs four rows at a time,
//! interleaved, without and with the bucket bias (each sample the mean of a batch of calls).
//! `cargo bench --bench attention -- --bf16 1` prints only the bf16 table (up to L = 2048).
//! `cargo bench --bench attention -- --threads 1` prints only the thread table: each kernel
//! on one thread, with its heads split over two threads whatever the work (`split_pays`
//! bypassed), and as `attend_parallel` decides, interleaved, with the work `split_pays` weighs:
//! where split and one thread cross sets `PARALLEL_MIN_WORK`; it is written as the
//! `attention-threads` figure (`cargo xtask figures record`).
//! Speed is reported, never asserted; on a shared machine the numbers are noisy.

use ironforge::gate::figure::{Cell, Figure, Table};
use ironforge::gate::stats::median;
use std::time::Instant;

use ironforge::attention::kernels::bench::Samples;
use ironforge::attention::kernels::{attend, attend_parallel, bench::measure, set_parallel_min_work, split_pays};
use ironforge::attention::{AttnError, AttnInputs, Kernel, Mask};
use ironforge::gate::memory::measure_peak;
use ironforge::gate::CountingAllocator;
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const LS: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
const H: usize = 4;
/// PyTorch 2.13 CPU SDPA, 1 thread, no mask, H = 4, D = 11 (ms), from measuring.md.
const TORCH_1T: [(usize, f64); 5] = [(128, 0.17), (256, 0.67), (512, 2.6), (1024, 10.0), (2048, 39.0)];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn qkv(seed: u64, l: usize, d: usize) -> [Array3<f32>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    std::array::from_fn(|_| Array3::from_shape_simple_fn((H, l, d), || rng.random_range(-1.5f32..1.5)))
}

fn bucket_bias(times_ms: &[i64]) -> Array2<f32> {
    const B: [(f64, f64, f32); 4] = [(0.0, 5.0, 0.2), (5.0, 15.0, 0.1), (15.0, 60.0, 0.0), (60.0, 240.0, -0.1)];
    Array2::from_shape_fn((times_ms.len(), times_ms.len()), |(u, v)| {
        let dt = (times_ms[v] - times_ms[u]).abs() as f64 / 60_000.0;
        B.iter().filter(|b| dt >= b.0 && dt <= b.1).map(|b| b.2).sum()
    })
}

/// One row's inputs: the synthetic session of L events, a full mask (`dense`) or its causal
/// DAG (`dag`), its bucket time bias, and seeded q, k, v of H × L × 11.
struct Case {
    mask: Mask,
    bias: Array2<f32>,
    qkv: [Array3<f32>; 3],
}

impl Case {
    fn new(mask_kind: &str, l: usize) -> Self {
        let spec = ironforge::synth::SessionSpec::new(format!("bench_{l}"), 0xBE4C + l as u64, l);
        let times = ironforge::synth::generate(&spec).times_ms();
        let mask = if mask_kind == "dense" {
            Mask::full(l)
        } else {
            Mask::from_edges(l, &ironforge::dag::causal_pairs_reference(&times, &Default::default()))
        };
        Self { mask, bias: bucket_bias(&times), qkv: qkv(l as u64, l, 11) }
    }

    fn inputs(&self) -> AttnInputs<'_> {
        let [q, k, v] = &self.qkv;
        AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &self.mask, bias: Some(self.bias.view().into()) }
    }
}

fn time_once(kernel: Kernel, inp: &AttnInputs<'_>, parallel: bool) -> f64 {
    let t = Instant::now();
    let out = if parallel { attend_parallel(kernel, inp) } else { attend(kernel, inp) };
    std::hint::black_box(out.expect("bench inputs are valid"));
    t.elapsed().as_secs_f64()
}

/// Extra heap of one call: peak live bytes during the call above the baseline, minus the output.
fn extra_heap(kernel: Kernel, inp: &AttnInputs<'_>) -> usize {
    let (out, peak) =
        measure_peak(|| attend(kernel, inp).expect("valid")).expect("the counting allocator is installed");
    let out_bytes = out.len() * 4;
    drop(out);
    peak.peak_above_baseline.saturating_sub(out_bytes)
}

/// The sparse-path crossover: `sdpa` forced sparse (`sparse_max = ∞`) against forced tiles
/// (`None`) on masks whose every row allows `w` columns, contiguous (the tile path's best
/// case) or spread 17 apart (one tile each).
fn threshold_table(rounds: usize) {
    use ironforge::attention::kernels::{sdpa, FastParams};
    let l = 1024;
    let [q, k, v] = qkv(7, l, 11);
    println!("\n## Sparse-path threshold: sdpa all-rows-sparse vs tiles, L = {l}, H = 4, D = 11, 1 thread\n");
    println!("| columns per row | layout | tiles ms | sparse ms | sparse speed-up |");
    println!("|---|---|---|---|---|");
    for w in [1usize, 2, 5, 8, 16, 24, 32, 48, 64, 96, 128] {
        for (layout, stride) in [("contiguous", 1usize), ("stride 17", 17)] {
            let mut mask = Mask::empty(l);
            for i in 0..l {
                (0..w).for_each(|c| mask.allow(i, (i + c * stride) % l));
            }
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
            let on = FastParams { sparse_max: Some(usize::MAX), ..FastParams::default() };
            let off = FastParams { sparse_max: None, ..FastParams::default() };
            let s = measure(rounds.max(5), || sdpa::forward_with(&inp, &on), || sdpa::forward_with(&inp, &off));
            println!(
                "| {w} | {layout} | {:.4} | {:.4} | {:.2} |",
                s.median_b() * 1e3,
                s.median_a() * 1e3,
                s.median_ratio()
            );
        }
    }
}

/// Dense mask, H = 4, D = 11, one thread: `flash` and `sdpa` with one row per lane (the
/// default) against the same kernel four rows at a time, interleaved pairs, and both against
/// the PyTorch anchors (which have no bias). A sample is the mean of `max(1, 2·10⁶ / L²)` calls.
fn anchor_table(rounds: usize) {
    use ironforge::attention::kernels::{flash, sdpa, FastParams};
    println!("\n## Dense, H = 4, D = 11, 1 thread: one row per lane vs four rows at a time (interleaved pairs)\n");
    println!("| L | bias | kernel | lanes ms | × anchor | four-row ms | × anchor | lanes speed-up |");
    println!("|---|---|---|---|---|---|---|---|");
    let lanes = FastParams::default();
    let rows4 = FastParams { row_lanes: false, ..FastParams::default() };
    for (l, anchor) in TORCH_1T {
        let spec = ironforge::synth::SessionSpec::new(format!("anchor_{l}"), 0xA7C + l as u64, l);
        let bias = bucket_bias(&ironforge::synth::generate(&spec).times_ms());
        let [q, k, v] = qkv(l as u64, l, 11);
        let mask = Mask::full(l);
        for with_bias in [false, true] {
            let b = with_bias.then(|| bias.view().into());
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: b };
            for kernel in [Kernel::Flash, Kernel::Sdpa] {
                let run = |p: &FastParams| match kernel {
                    Kernel::Flash => flash::forward_with(&inp, p),
                    _ => sdpa::forward_with(&inp, p),
                };
                // Each sample is `reps` back-to-back calls (steady state, as PyTorch's timer
                // measures the anchors): single calls of 0.1 ms are mostly timer and scheduler noise.
                let reps = (2_000_000 / (l * l)).max(1);
                let batch = |p: &FastParams| {
                    for _ in 0..reps {
                        std::hint::black_box(run(p).expect("valid"));
                    }
                };
                let s = measure(rounds, || batch(&lanes), || batch(&rows4));
                let (a, b) = (s.median_a() * 1e3 / reps as f64, s.median_b() * 1e3 / reps as f64);
                println!(
                    "| {l} | {} | {} | {a:.3} | {:.2} | {b:.3} | {:.2} | {:.2} |",
                    if with_bias { "bucket" } else { "none" },
                    kernel.name(),
                    anchor / a,
                    anchor / b,
                    s.median_ratio()
                );
            }
        }
    }
}

/// `bf16` against f32 `flash` (dense, no bias, 1 thread, interleaved pairs) at D = 64 and 11:
/// the detected path (AMX where the CPU and OS offer it, else f32 FMAs on rounded panels) and,
/// beside it, the next available one.
fn bf16_table(max_l: usize, rounds: usize) {
    use ironforge::attention::kernels::bf16::{self, Bf16Params, Bf16Path};
    let paths: Vec<Bf16Path> = [Bf16Path::Amx, Bf16Path::F32Fma, Bf16Path::Avx512Bf16]
        .into_iter()
        .filter(|p| p.is_available())
        .take(2)
        .collect();
    println!("\n## bf16 vs f32 flash, dense, no bias, 1 thread (interleaved pairs; speed-up = median of flash/bf16)\n");
    println!("| D | L | bf16 path | flash ms | bf16 ms | bf16 speed-up |");
    println!("|---|---|---|---|---|---|");
    for d in [64usize, 11] {
        for &l in LS.iter().filter(|&&l| l >= 128 && l <= max_l) {
            let [q, k, v] = qkv(99 + l as u64, l, d);
            let mask = Mask::full(l);
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
            let pairs = if rounds > 0 {
                rounds
            } else if l >= 2048 {
                5
            } else {
                9
            };
            for &path in &paths {
                let params = Bf16Params { path, ..Bf16Params::default() };
                let s: Samples =
                    measure(pairs, || bf16::forward_with(&inp, &params).expect("bf16"), || attend(Kernel::Flash, &inp));
                println!(
                    "| {d} | {l} | {} | {:.3} | {:.3} | {:.2} |",
                    path.name(),
                    s.median_b() * 1e3,
                    s.median_a() * 1e3,
                    s.median_ratio()
                );
            }
        }
    }
}

/// One thread, two threads always split, two threads as [`split_pays`] decides: per mask, L and
/// kernel, medians of interleaved rounds (each sample the mean of a batch lasting ≥ 2 ms) and
/// the median per-round ratios one-thread / two-thread.
fn threads_table(max_l: usize, rounds: usize) -> Figure {
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
    let fast = [Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse, Kernel::Bf16];
    let mut table = Table::new(
        "Threads: H = 4, D = 11, bucket time bias",
        [
            "mask",
            "L",
            "work",
            "kernel",
            "1 thread us",
            "2 threads, always split us",
            "× split",
            "2 threads, split_pays us",
            "× split_pays",
            "splits",
        ],
    )
    .with_note(format!(
        "Kernels on {}. Median µs per call of {rounds} rounds (one, split and policy interleaved); × = \
         one thread / two threads, median of the per-round ratios. `work` is what `split_pays` weighs.",
        ironforge::attention::kernels::simd::Isa::detect().name()
    ));
    for mask_kind in ["dense", "dag"] {
        for &l in LS.iter().filter(|&&l| l <= max_l) {
            let case = Case::new(mask_kind, l);
            let (inp, mask) = (case.inputs(), &case.mask);
            let work = H * (mask.count_allowed() + l) * 11;
            let splits = pool2.install(|| split_pays(mask, H, 11));
            for kernel in fast {
                // Batch size: calls lasting at least 2 ms on one thread.
                let once = time_once(kernel, &inp, false).max(1e-7);
                let batch = (2e-3 / once).ceil().max(1.0) as usize;
                // The two-thread batches run inside the pool (one `install` per batch, as a
                // caller already on the pool meets the kernel), so a handoff per call is not
                // counted against the kernel.
                let timed = |how: usize| {
                    let calls = |f: &dyn Fn() -> Result<ndarray::Array3<f32>, AttnError>| {
                        for _ in 0..batch {
                            drop(std::hint::black_box(f().unwrap()));
                        }
                    };
                    let t = Instant::now();
                    match how {
                        0 => calls(&|| attend(kernel, &inp)),
                        1 => {
                            let before = set_parallel_min_work(0);
                            pool2.install(|| calls(&|| attend_parallel(kernel, &inp)));
                            set_parallel_min_work(before);
                        }
                        _ => pool2.install(|| calls(&|| attend_parallel(kernel, &inp))),
                    }
                    t.elapsed().as_secs_f64() / batch as f64
                };
                let mut t: [Vec<f64>; 3] = Default::default();
                let (mut r_split, mut r_policy) = (Vec::new(), Vec::new());
                for r in 0..rounds {
                    let mut round = [0.0; 3];
                    for off in 0..3 {
                        let how = (off + r) % 3;
                        round[how] = timed(how);
                    }
                    r_split.push(round[0] / round[1]);
                    r_policy.push(round[0] / round[2]);
                    for (i, x) in round.into_iter().enumerate() {
                        t[i].push(x);
                    }
                }
                table.row([
                    Cell::text(mask_kind),
                    Cell::text(l),
                    Cell::text(work),
                    Cell::text(kernel.name()),
                    Cell::number(median(&t[0]) * 1e6, 1),
                    Cell::number(median(&t[1]) * 1e6, 1),
                    Cell::number(median(&r_split), 2),
                    Cell::number(median(&t[2]) * 1e6, 1),
                    Cell::number(median(&r_policy), 2),
                    Cell::text(if splits { "yes" } else { "no" }),
                ]);
            }
        }
    }
    Figure::new("attention-threads", vec![table])
}

fn main() {
    if let Err(e) = ironforge::attention::kernels::simd::Isa::ceiling_from_env() {
        eprintln!("attention bench: {e}");
        std::process::exit(2);
    }
    if arg("--bf16", 0) > 0 {
        bf16_table(arg("--max-l", 2048), arg("--rounds", 0));
        return;
    }
    if arg("--threshold", 0) > 0 {
        threshold_table(arg("--rounds", 9));
        return;
    }
    if arg("--threads", 0) > 0 {
        if let Err(e) = threads_table(arg("--max-l", 2048), arg("--rounds", 15)).emit() {
            eprintln!("attention bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    if arg("--anchors", 0) > 0 {
        anchor_table(arg("--rounds", 9));
        return;
    }
    let max_l = arg("--max-l", 4096);
    let rounds = arg("--rounds", 0);
    let dense_max_l = arg("--dense-max-l", max_l);
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
    let fast = [Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse, Kernel::Bf16];
    println!(
        "isa: {:?}, bf16 path: {:?}",
        ironforge::attention::kernels::simd::Isa::detect(),
        ironforge::attention::kernels::bf16::Bf16Path::detect()
    );
    println!("\n## Kernels vs math, H = 4, D = 11, bucket time bias (median ms; speed-up = median of per-round math/kernel)\n");
    println!("| mask | L | threads | math ms | kernel | kernel ms | × math | × PyTorch 1T anchor | extra heap KiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for mask_kind in ["dense", "dag"] {
        let cap = if mask_kind == "dense" { dense_max_l } else { max_l };
        for &l in LS.iter().filter(|&&l| l <= cap) {
            let case = Case::new(mask_kind, l);
            let inp = case.inputs();
            let n_rounds = if rounds > 0 {
                rounds
            } else if mask_kind == "dense" && l >= 2048 {
                3
            } else if l >= 1024 {
                5
            } else {
                9
            };
            for threads in [1usize, 2] {
                let par = threads == 2;
                let mut math_t = Vec::new();
                let mut kt: Vec<Vec<f64>> = vec![Vec::new(); fast.len()];
                let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); fast.len()];
                let run_round =
                    |r: usize, math_t: &mut Vec<f64>, kt: &mut Vec<Vec<f64>>, ratios: &mut Vec<Vec<f64>>| {
                        // Rotate the order each round so no kernel always runs first.
                        let m = time_once(Kernel::Math, &inp, false);
                        math_t.push(m);
                        for off in 0..fast.len() {
                            let idx = (off + r) % fast.len();
                            let t = time_once(fast[idx], &inp, par);
                            kt[idx].push(t);
                            ratios[idx].push(m / t);
                        }
                    };
                for kernel in fast {
                    let _ = time_once(kernel, &inp, par); // warm-up
                }
                if par {
                    pool2.install(|| (0..n_rounds).for_each(|r| run_round(r, &mut math_t, &mut kt, &mut ratios)));
                } else {
                    (0..n_rounds).for_each(|r| run_round(r, &mut math_t, &mut kt, &mut ratios));
                }
                let math_ms = median(&math_t) * 1e3;
                for (i, kernel) in fast.iter().enumerate() {
                    let ms = median(&kt[i]) * 1e3;
                    let anchor = TORCH_1T.iter().find(|a| a.0 == l).map(|a| a.1);
                    let vs_torch = match (anchor, threads) {
                        (Some(a), 1) => format!("{:.2}", a / ms),
                        _ => "–".into(),
                    };
                    let heap = if threads == 1 {
                        format!("{:.0}", extra_heap(*kernel, &inp) as f64 / 1024.0)
                    } else {
                        "–".into()
                    };
                    println!(
                        "| {mask_kind} | {l} | {threads} | {math_ms:.3} | {} | {ms:.4} | {:.1} | {vs_torch} | {heap} |",
                        kernel.name(),
                        median(&ratios[i])
                    );
                }
            }
        }
    }
    bf16_table(max_l, rounds);
}
