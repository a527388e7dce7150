//! Speed targets of the timed attention rows: the speed-up over `math` (lower end of the 95%
//! interval) each row must reach (and, at the end, the census's rate per path), set near 70% of the slowest value measured for it on a quiet
//! machine, so a halving of any path fails even with no base revision to compare with.
//! `cargo xtask release-check` shows every row's lower bound over its target in the gate's
//! details (`rows_vs_targets`).
//!
//! Row keys name the instruction set the row ran on: `dispatch/<isa>/dag/L<bucket>` (the
//! dispatched kernel on the sessions' DAG masks), `<kernel>/<isa or bf16 path>/<family>/L<l>/D<d>`
//! (the path rows of `kernel_path_speedup`) and, with the `torch` feature, `torch/<isa>/...`
//! (speed-ups over PyTorch's SDPA on one thread, `torch_speed`). The AVX2 rows of [`TARGETS`]
//! were measured by an AVX-512 CPU running its AVX2 code; an AVX2-only CPU is judged by
//! [`AVX2_ONLY_TARGETS`] where it has a row, since one number cannot both pass on that CPU and
//! fail a halving on the other (its dense D = 64 rows are slower than the AVX-512 CPU's AVX2
//! code, its DAG-mask and short-row ones five times faster against `math`).

use ironforge::attention::kernels::simd::Isa;
use ironforge::gate::GateError;

/// `(row, target speed-up over math)`.
const TARGETS: &[(&str, f64)] = &[
    ("dispatch/avx512/dag/L128", 2.31),
    ("dispatch/avx512/dag/L256", 2.48),
    ("dispatch/avx512/dag/L512", 2.51),
    ("dispatch/avx512/dag/L1024", 2.74),
    ("dispatch/avx2/dag/L128", 0.52),
    ("dispatch/avx2/dag/L256", 0.57),
    ("dispatch/avx2/dag/L512", 0.59),
    ("dispatch/avx2/dag/L1024", 0.62),
    ("sdpa/avx512/dense/L512/D11", 15.5),
    ("sdpa/avx2/dense/L512/D11", 7.25),
    ("flash/avx512/dense/L512/D11", 17.3),
    ("flash/avx2/dense/L512/D11", 8.3),
    ("sdpa/avx512/dense/L512/D64", 13.4),
    ("sdpa/avx2/dense/L512/D64", 8.85),
    ("flash/avx512/dense/L512/D64", 14.1),
    ("flash/avx2/dense/L512/D64", 9.45),
    ("flash/avx512/dense/L128/D11", 16.8),
    ("flash/avx2/dense/L128/D11", 8.1),
    ("block_sparse/avx512/window64/L600/D32", 6.85),
    ("block_sparse/avx2/window64/L600/D32", 6.05),
    ("sdpa/avx512/window8/L600/D11", 2.65),
    ("sdpa/avx2/window8/L600/D11", 0.56),
    ("sdpa/avx512/window8/L600/D32", 2.39),
    ("sdpa/avx2/window8/L600/D32", 2.34),
    ("bf16/f32fma/dense/L512/D11", 15.0),
    ("torch/avx512/dispatch/dag/L128", 6.9),
    ("torch/avx512/sdpa/dense/L128", 1.93),
    ("torch/avx512/flash/dense/L128", 2.12),
    ("torch/avx512/dispatch/dag/L256", 12.7),
    ("torch/avx512/sdpa/dense/L256", 2.0),
    ("torch/avx512/flash/dense/L256", 2.37),
    ("torch/avx512/dispatch/dag/L512", 26.4),
    ("torch/avx512/sdpa/dense/L512", 2.13),
    ("torch/avx512/flash/dense/L512", 2.44),
    ("torch/avx512/dispatch/dag/L1024", 47.1),
    ("torch/avx512/sdpa/dense/L1024", 2.22),
    ("torch/avx512/flash/dense/L1024", 2.5),
];

/// `(row, target)` on a CPU whose best instruction set is AVX2 (no AVX-512): about 70% of the
/// slowest lower bound the AVX2-only EPYC measured in eight release-tier runs (single-process and
/// one process per trial, on a shared, noisy host). Rows not listed use [`TARGETS`].
const AVX2_ONLY_TARGETS: &[(&str, f64)] = &[
    ("dispatch/avx2/dag/L128", 1.8),
    ("dispatch/avx2/dag/L256", 1.88),
    ("dispatch/avx2/dag/L512", 1.9),
    ("dispatch/avx2/dag/L1024", 2.04),
    ("sdpa/avx2/dense/L512/D11", 11.65),
    ("flash/avx2/dense/L512/D11", 11.9),
    ("sdpa/avx2/dense/L512/D64", 6.1),
    ("flash/avx2/dense/L512/D64", 5.9),
    ("flash/avx2/dense/L128/D11", 12.3),
    ("block_sparse/avx2/window64/L600/D32", 4.95),
    ("sdpa/avx2/window8/L600/D11", 1.93),
    ("sdpa/avx2/window8/L600/D32", 2.16),
    ("bf16/f32fma/dense/L512/D11", 12.5),
];

/// `(census path, target in classified subgraphs per second)` of `census_throughput`: about 70%
/// of the slowest quiet value measured for the path, on the canary census (`cargo bench --bench
/// motif` with `MOTIF_BENCH_PATHS=1`, the `census` figure). The CPUs these machines have differ
/// by more than a factor of two per core, and every path's rate with them, so one number in
/// subgraphs/s cannot both pass on the slowest and fail a halving on the fastest: the AVX2 and
/// scalar targets come from the AVX2-only EPYC (the slowest core measured), the VBMI2 target
/// from the AVX-512 one, the only CPUs that have taken those paths.
const CENSUS_TARGETS: &[(&str, f64)] = &[("avx512vbmi2", 1.0e8), ("avx2", 6.0e7), ("scalar", 5.0e7)];

/// The census target of `path` ([`CensusIsa::name`](ironforge::motif::esu::CensusIsa::name));
/// an error naming the path when none is set.
pub fn census_target(path: &str) -> Result<f64, GateError> {
    target_in(CENSUS_TARGETS, path, "census target for path")
}

/// The target of `row` on this CPU ([`AVX2_ONLY_TARGETS`] first on an AVX2-only CPU); an
/// error naming the row when none is set.
pub fn kernel_target(row: &str) -> Result<f64, GateError> {
    if Isa::detect() == Isa::Avx2 {
        if let Ok(t) = target_in(AVX2_ONLY_TARGETS, row, "speed target for") {
            return Ok(t);
        }
    }
    target_in(TARGETS, row, "speed target for")
}

/// The value of `key` in `table`; an error saying what is missing (`no {what} `key``).
fn target_in(table: &[(&str, f64)], key: &str, what: &str) -> Result<f64, GateError> {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(_, t)| t)
        .ok_or_else(|| GateError::msg(format!("no {what} `{key}` in gates/targets.rs: measure it and add one")))
}
