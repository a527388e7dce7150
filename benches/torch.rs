//! Our attention kernels against PyTorch's CPU `scaled_dot_product_attention` (through `tch`),
//! side by side in one process: L = 64 … 4096, H = 4, D = 11, dense masks with and without the
//! bucket time bias and real-style DAG masks with it, 1 and 2 threads (torch:
//! `tch::set_num_threads`; ours: heads split over a rayon pool of that size). Each (kernel, torch) pair is interleaved with
//! `ironforge::attention::kernels::bench::measure` (ABBA order).
//!
//! Torch is timed on tensors prepared once (its kernel alone, no copies); our kernels are timed
//! through `attend` (input validation included). `math` (the f64 reference) is timed up to
//! L = 1024 only.
//!
//! `cargo bench --features torch --bench torch [-- --max-l 4096 --dense-max-l 4096 --pairs 0]`
//! (needs the environment from `cargo xtask setup-torch`; `OMP_WAIT_POLICY=PASSIVE` keeps torch's
//! OpenMP threads from spinning between its calls on the cores our two-thread runs use, read
//! when libtorch loads, so it must be in the environment). Prints a Markdown table and writes it
//! as a [`Figure`] (`cargo xtask figures record`). Speed is reported, never asserted; on a
//! shared machine the numbers are noisy.

use ironforge::attention::bias::TimeBias;
use ironforge::attention::kernels::bench::measure;
use ironforge::attention::kernels::{attend, attend_parallel};
use ironforge::attention::torch::{self, seeded_qkv, TorchPrepared};
use ironforge::attention::{AttnInputs, Kernel, Mask};
use ironforge::gate::figure::{Cell, Figure, Table};

const LS: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
const H: usize = 4;
const D: usize = 11;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if let Err(e) = ironforge::attention::kernels::simd::Isa::ceiling_from_env() {
        eprintln!("torch bench: {e}");
        std::process::exit(2);
    }
    let max_l = arg("--max-l", 4096);
    let dense_max_l = arg("--dense-max-l", max_l);
    let pairs_arg = arg("--pairs", 0);
    let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("rayon pool of 2");
    let mut table = Table::new(
        format!("Our kernels vs PyTorch SDPA (CPU), H = {H}, D = {D}"),
        ["mask", "bias", "L", "threads", "torch ms", "kernel", "kernel ms", "× torch"],
    )
    .with_note(format!(
        "Kernels on {} (bf16 path {}), torch threads at start {}, OMP_WAIT_POLICY {}. Median ms of \
         interleaved pairs; × torch = median of per-pair torch/kernel (> 1: ours faster).",
        ironforge::attention::kernels::simd::Isa::detect().name(),
        ironforge::attention::kernels::bf16::Bf16Path::detect().name(),
        torch::threads(),
        std::env::var("OMP_WAIT_POLICY").unwrap_or_else(|_| "unset".into())
    ));
    if std::env::var("OMP_WAIT_POLICY").is_err() {
        eprintln!(
            "torch bench: OMP_WAIT_POLICY is unset: torch's OpenMP threads spin between calls, on the \
             cores our two-thread runs use; set OMP_WAIT_POLICY=PASSIVE for the two-thread rows"
        );
    }
    for (mask_kind, bias_kind) in [("dense", "bucket"), ("dense", "none"), ("dag", "bucket")] {
        let cap = if mask_kind == "dense" { dense_max_l } else { max_l };
        for &l in LS.iter().filter(|&&l| l <= cap) {
            let spec = ironforge::synth::SessionSpec::new(format!("bench_{l}"), 0xBE4C + l as u64, l);
            let s = ironforge::synth::generate(&spec);
            let times = s.times_ms();
            let mask = if mask_kind == "dense" {
                Mask::full(l)
            } else {
                Mask::from_edges(l, &ironforge::dag::causal_pairs_reference(&times, &Default::default()))
            };
            let bias = TimeBias::Bucket.matrix(&times).expect("bucket bias");
            let [q, k, v] = seeded_qkv(l as u64, H, l, D, 1.5);
            let bias = (bias_kind == "bucket").then(|| bias.view().into());
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias };
            let prepared = TorchPrepared::new(&inp, tch::Device::Cpu).expect("valid bench inputs");
            let pairs = match (pairs_arg, l) {
                (p, _) if p > 0 => p,
                (_, l) if l >= 2048 => 3,
                (_, l) if l >= 1024 => 5,
                _ => 9,
            };
            for threads in [1usize, 2] {
                torch::set_threads(threads);
                let parallel = threads == 2;
                // Only our call enters the pool: torch's tensors may not cross threads.
                let run_ours = |kernel: Kernel| {
                    let out =
                        if parallel { pool2.install(|| attend_parallel(kernel, &inp)) } else { attend(kernel, &inp) };
                    out.expect("valid bench inputs")
                };
                let kernels = Kernel::ALL.into_iter().filter(|&k| k != Kernel::Math || l <= 1024);
                for kernel in kernels {
                    let samples =
                        measure(pairs, || run_ours(kernel), || prepared.run().expect("torch runs on valid inputs"));
                    table.row([
                        Cell::text(mask_kind),
                        Cell::text(bias_kind),
                        Cell::text(l),
                        Cell::text(threads),
                        Cell::number(samples.median_b() * 1e3, 4),
                        Cell::text(kernel.name()),
                        Cell::number(samples.median_a() * 1e3, 4),
                        Cell::number(samples.median_ratio(), 2),
                    ]);
                }
            }
        }
    }
    if let Err(e) = Figure::new("torch", vec![table]).emit() {
        eprintln!("torch bench: {e}");
        std::process::exit(1);
    }
}
