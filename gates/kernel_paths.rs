//! Kernel-path coverage and parity: every fast kernel on every instruction-set level this CPU
//! has, and every `bf16` path it offers, run on every attention case family
//! ([`crate::attention_cases`]); each row's error is judged against the reference its path
//! must match, and the kernels' own row counters ([`coverage`]) must show that every path this
//! CPU can run computed rows.
//!
//! References per path (the row's error over the allowance; ≤ 1 passes):
//!
//! | path | reference | allowance |
//! |---|---|---|
//! | f32 rows (short, sparse, lane, tile, tile map) | `math` in f64 | FlashAttention rule: 2 × the naive f32 run's worst error on the case + [`flash_floor`] |
//! | `bf16_rounded` (f32 FMAs on bf16-rounded q, k, v) | `math` in f64 on the rounded operands | the same rule with the naive f32 run on the rounded operands |
//! | `bf16_avx512`, `bf16_portable`, `amx_tiles` (probabilities rounded to bf16 for P·V) | `math` in f64 on the rounded operands | per entry u · Σ p\|v\| / Σ p (u = 2⁻⁸, computed in f64) + the rule's allowance |
//!
//! The row classification here (which path a row takes) mirrors the kernels' dispatch; every
//! run checks it against the kernels' counters, so a row sent down another path is an error.
//! `kernel_path_speedup` times each path against `math` on a case that sends its rows there and
//! judges it against its target in `gates/targets.rs`.

use std::collections::BTreeMap;

use ndarray::{Array3, Axis};

use ironforge::attention::kernels::bench::KERNEL_TABLE;
use ironforge::attention::kernels::bf16::{self, Bf16Params, Bf16Path};
use ironforge::attention::kernels::block_sparse::{self, BlockSparseParams};
use ironforge::attention::kernels::coverage::{self, Coverage, RowPath};
use ironforge::attention::kernels::parity::{flash_floor, naive_f32};
use ironforge::attention::kernels::simd::{Isa, LANES};
use ironforge::attention::kernels::sparse::{SparseRows, SHORT_ROW_MAX, SPARSE_ROW_MAX};
use ironforge::attention::kernels::{flash, math, sdpa, FastParams};
use ironforge::attention::{AttnInputs, Kernel};
use ironforge::gate::probe::{seconds_per_call, Timing};
use ironforge::gate::record::{PathRow, DETAIL_PATH_ROWS};
use ironforge::gate::units::{Abs, Measured, Ratio};
use ironforge::gate::{Fault, GateContext, GateError, Unit};

use crate::attention_cases::{all_cases, AttnCase};

/// bf16's unit roundoff (8 significant bits, round to nearest even).
const BF16_U: f64 = 1.0 / 256.0;

/// Every dense-row output of `flash` is 0.1% too large (on every instruction set).
pub const FLASH_DENSE_ROWS_OFF: Fault =
    Fault::new("flash_dense_rows_off", "every dense-row output of flash scaled by 1.001 (0.1% wrong)");

/// Only the `dag` family runs (what the attention gates ran before the case families).
pub const DAG_CASES_ONLY: Fault =
    Fault::new("dag_cases_only", "the synthetic case families are dropped: only the sessions' DAG masks run");

/// One way to run a fast kernel: an f32 kernel on an instruction set, or a `bf16` path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    F32(Kernel, Isa),
    Bf16(Bf16Path),
}

impl Variant {
    /// Every variant this CPU can run: `sdpa`, `flash` and `block_sparse` on each instruction
    /// set, `bf16` on each path.
    pub fn available() -> Vec<Variant> {
        let mut v = Vec::new();
        for k in [Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse] {
            v.extend(Isa::available().into_iter().map(|isa| Variant::F32(k, isa)));
        }
        let paths = [Bf16Path::F32Fma, Bf16Path::Avx512Bf16, Bf16Path::Portable, Bf16Path::Amx];
        v.extend(paths.into_iter().filter(|p| p.is_available()).map(Variant::Bf16));
        v
    }

    pub fn kernel(self) -> Kernel {
        match self {
            Variant::F32(k, _) => k,
            Variant::Bf16(_) => Kernel::Bf16,
        }
    }

    /// `flash/avx2`, `bf16/f32fma`, ...
    pub fn name(self) -> String {
        match self {
            Variant::F32(k, isa) => format!("{}/{}", k.name(), isa.name()),
            Variant::Bf16(p) => format!("bf16/{}", p.name()),
        }
    }

    pub fn run(self, inputs: &AttnInputs<'_>) -> Result<Array3<f32>, GateError> {
        let out = match self {
            Variant::F32(Kernel::Sdpa, isa) => sdpa::forward_with(inputs, &FastParams { isa, ..FastParams::default() }),
            Variant::F32(Kernel::Flash, isa) => {
                flash::forward_with(inputs, &FastParams { isa, ..FastParams::default() })
            }
            Variant::F32(Kernel::BlockSparse, isa) => {
                block_sparse::forward_with(inputs, &BlockSparseParams { isa, ..BlockSparseParams::default() })
            }
            Variant::F32(other, _) => return Err(GateError::msg(format!("{} is not a fast f32 kernel", other.name()))),
            Variant::Bf16(path) => bf16::forward_with(inputs, &Bf16Params { path, ..Bf16Params::default() }),
        };
        out.map_err(|e| GateError::msg(format!("{}: {e}", self.name())))
    }

    /// The path and instruction set row `i` takes, `sparse` being the mask's sparse rows.
    fn row_path(self, sparse: &SparseRows, i: usize, d: usize) -> (RowPath, Isa) {
        // A bf16 path whose dense rows are out of its reach runs f32 FMAs on rounded panels.
        let effective = match self {
            Variant::Bf16(Bf16Path::Amx) if d > 64 => Variant::Bf16(Bf16Path::F32Fma),
            v => v,
        };
        let f32_sparse = |isa: Isa| match sparse.row(i) {
            Some(cols) if d <= LANES && cols.len() <= SHORT_ROW_MAX => Some((RowPath::ShortRows, isa)),
            Some(_) => Some((RowPath::SparseRows, isa)),
            None => None,
        };
        match effective {
            Variant::F32(k, isa) => f32_sparse(isa).unwrap_or(match k {
                Kernel::BlockSparse => (RowPath::TileMap, isa),
                _ if d <= LANES => (RowPath::LaneRows, isa),
                _ => (RowPath::TileRows, isa),
            }),
            Variant::Bf16(Bf16Path::F32Fma) => {
                f32_sparse(Isa::detect()).unwrap_or((RowPath::Bf16Rounded, Isa::detect()))
            }
            Variant::Bf16(path) => {
                let (dense, isa) = match path {
                    Bf16Path::Avx512Bf16 => (RowPath::Bf16Avx512, Isa::Avx512),
                    Bf16Path::Amx => (RowPath::AmxTiles, Isa::Avx512),
                    _ => (RowPath::Bf16Portable, Isa::Portable),
                };
                if sparse.row(i).is_some() {
                    (RowPath::SparseRows, isa)
                } else {
                    (dense, isa)
                }
            }
        }
    }

    /// Whether the path's dense rows read bf16-rounded operands.
    fn rounds_operands(path: RowPath) -> bool {
        matches!(path, RowPath::Bf16Rounded | RowPath::Bf16Avx512 | RowPath::Bf16Portable | RowPath::AmxTiles)
    }

    /// Whether the path also rounds the probabilities to bf16 for P·V.
    fn rounds_probabilities(path: RowPath) -> bool {
        matches!(path, RowPath::Bf16Avx512 | RowPath::Bf16Portable | RowPath::AmxTiles)
    }
}

/// What one `(variant, path, isa)` showed over every case.
#[derive(Debug, Clone, Default)]
pub struct PathResult {
    /// Rows computed (over heads), as the kernels' counters saw them.
    pub rows: u64,
    /// Worst error / allowance over its rows.
    pub worst_ratio: f64,
    /// The worst row's error and allowance, and its case.
    pub worst_error: f64,
    pub worst_allowance: f64,
    pub worst_case: String,
}

/// The whole sweep: per `(variant name, path, isa)` its result.
#[derive(Debug, Default)]
pub struct Sweep {
    pub paths: BTreeMap<(String, RowPath, Isa), PathResult>,
    pub cases: usize,
    pub families: Vec<&'static str>,
}

/// The per-entry references of one case.
struct References {
    exact: Array3<f64>,
    allowance: f64,
    /// On bf16-rounded operands (built when a bf16 variant runs).
    rounded: Array3<f64>,
    rounded_allowance: f64,
    /// u · Σ p|v| / Σ p on the rounded operands.
    probability_bound: Array3<f64>,
}

fn rounded(a: &Array3<f32>) -> Array3<f32> {
    a.mapv(|x| half::bf16::from_f32(x).to_f32())
}

impl References {
    fn of(c: &AttnCase) -> Self {
        let inputs = c.inputs();
        let exact = math::forward_f64(&inputs);
        let allowance = 2.0 * max_abs_diff(&naive_f32(&inputs), &exact) + flash_floor(exact.view(), inputs.v);
        let (q, k, v) = (rounded(&c.q), rounded(&c.k), rounded(&c.v));
        let r = AttnInputs { q: q.view(), k: k.view(), v: v.view(), ..inputs };
        let rounded_out = math::forward_f64(&r);
        let rounded_allowance = 2.0 * max_abs_diff(&naive_f32(&r), &rounded_out) + flash_floor(rounded_out.view(), r.v);
        let abs_v = v.mapv(f32::abs);
        let weighted = math::forward_f64(&AttnInputs { v: abs_v.view(), ..r });
        References {
            exact,
            allowance,
            rounded: rounded_out,
            rounded_allowance,
            probability_bound: weighted.mapv(|x| BF16_U * x),
        }
    }
}

fn max_abs_diff(a: &Array3<f32>, b: &Array3<f64>) -> f64 {
    a.iter().zip(b).fold(0.0f64, |m, (&x, &y)| {
        let e = (f64::from(x) - y).abs();
        if e.is_nan() {
            f64::INFINITY
        } else {
            m.max(e)
        }
    })
}

/// Runs every variant on every case; `fault` as injected in the gate's context.
fn run_sweep(ctx: &GateContext) -> Result<Sweep, GateError> {
    let mut cases = all_cases(ctx)?;
    if ctx.injected(&DAG_CASES_ONLY) {
        cases.retain(|c| c.family == "dag");
    }
    let flash_off = ctx.injected(&FLASH_DENSE_ROWS_OFF);
    let variants = Variant::available();
    let mut sweep = Sweep { cases: cases.len(), ..Sweep::default() };
    for c in &cases {
        if !sweep.families.contains(&c.family) {
            sweep.families.push(c.family);
        }
        let refs = References::of(c);
        let inputs = c.inputs();
        let (heads, l, d) = c.q.dim();
        let sparse = SparseRows::from_mask(&c.mask, SPARSE_ROW_MAX);
        for &variant in &variants {
            let before = coverage::snapshot();
            let mut out = variant.run(&inputs)?;
            let counted = coverage::snapshot().since(&before);
            let paths: Vec<(RowPath, Isa)> = (0..l).map(|i| variant.row_path(&sparse, i, d)).collect();
            check_counts(variant, c, &paths, heads, &counted)?;
            if flash_off && variant.kernel() == Kernel::Flash {
                for (i, &(p, _)) in paths.iter().enumerate() {
                    if !matches!(p, RowPath::ShortRows | RowPath::SparseRows) {
                        out.index_axis_mut(Axis(1), i).mapv_inplace(|x| x * 1.001);
                    }
                }
            }
            let mut per_path: BTreeMap<(RowPath, Isa), (f64, f64, f64)> = BTreeMap::new();
            for (i, &key) in paths.iter().enumerate() {
                let path = key.0;
                let (reference, allowance) = if Variant::rounds_operands(path) {
                    (&refs.rounded, refs.rounded_allowance)
                } else {
                    (&refs.exact, refs.allowance)
                };
                let slot = per_path.entry(key).or_insert((0.0, 0.0, 1.0));
                for h in 0..heads {
                    for col in 0..d {
                        let extra =
                            if Variant::rounds_probabilities(path) { refs.probability_bound[[h, i, col]] } else { 0.0 };
                        let allowed = allowance + extra;
                        let err = (f64::from(out[[h, i, col]]) - reference[[h, i, col]]).abs();
                        let ratio = if err.is_nan() { f64::INFINITY } else { err / allowed };
                        if ratio > slot.0 {
                            *slot = (ratio, err, allowed);
                        }
                    }
                }
            }
            for ((path, isa), (ratio, err, allowed)) in per_path {
                let r = sweep.paths.entry((variant.name(), path, isa)).or_default();
                r.rows += counted.rows(path, isa);
                if ratio > r.worst_ratio || r.worst_case.is_empty() {
                    r.worst_ratio = r.worst_ratio.max(ratio);
                    r.worst_error = err;
                    r.worst_allowance = allowed;
                    r.worst_case = c.id.clone();
                }
            }
        }
    }
    Ok(sweep)
}

/// The counters must show exactly the rows the classification sends down each path.
fn check_counts(
    variant: Variant,
    c: &AttnCase,
    paths: &[(RowPath, Isa)],
    heads: usize,
    counted: &Coverage,
) -> Result<(), GateError> {
    let mut expected: BTreeMap<(RowPath, Isa), u64> = BTreeMap::new();
    for &key in paths {
        *expected.entry(key).or_default() += heads as u64;
    }
    let seen: BTreeMap<(RowPath, Isa), u64> = counted.iter().map(|(p, i, n)| ((p, i), n)).collect();
    if expected != seen {
        return Err(GateError::msg(format!(
            "{} on case {}: the kernels' row counters {seen:?} disagree with the row classification {expected:?}",
            variant.name(),
            c.id
        )));
    }
    Ok(())
}

/// The sweep for this gate. Not shared between the coverage and parity gates: its random
/// inputs come from the gate's own streams ([`GateContext::stream`] mixes in the gate's name),
/// so a sweep cached by whichever gate ran first would make the other's value depend on the
/// order of the trials in a process — and under nextest each trial has a process of its own.
fn sweep(ctx: &GateContext) -> Result<Sweep, GateError> {
    run_sweep(ctx)
}

/// Every `(variant, path, isa)` this CPU must show rows for: each f32 kernel on each
/// instruction set its short, sparse and dense paths; each bf16 path its sparse rows and its
/// dense path.
pub fn expected_paths() -> Vec<(String, RowPath, Isa)> {
    let mut out = Vec::new();
    for v in Variant::available() {
        let mut add = |p, i| out.push((v.name(), p, i));
        match v {
            Variant::F32(k, isa) => {
                add(RowPath::ShortRows, isa);
                add(RowPath::SparseRows, isa);
                match k {
                    Kernel::BlockSparse => add(RowPath::TileMap, isa),
                    _ => {
                        add(RowPath::LaneRows, isa);
                        add(RowPath::TileRows, isa);
                    }
                }
            }
            Variant::Bf16(Bf16Path::F32Fma) => {
                add(RowPath::ShortRows, Isa::detect());
                add(RowPath::SparseRows, Isa::detect());
                add(RowPath::Bf16Rounded, Isa::detect());
            }
            Variant::Bf16(Bf16Path::Avx512Bf16) => {
                add(RowPath::SparseRows, Isa::Avx512);
                add(RowPath::Bf16Avx512, Isa::Avx512);
            }
            Variant::Bf16(Bf16Path::Amx) => {
                add(RowPath::SparseRows, Isa::Avx512);
                add(RowPath::AmxTiles, Isa::Avx512);
            }
            Variant::Bf16(Bf16Path::Portable) => {
                add(RowPath::SparseRows, Isa::Portable);
                add(RowPath::Bf16Portable, Isa::Portable);
            }
        }
    }
    out
}

fn coverage_rows(s: &Sweep) -> Vec<PathRow> {
    s.paths
        .iter()
        .map(|((v, p, i), r)| PathRow {
            variant: v.clone(),
            path: p.name().to_string(),
            isa: i.name().to_string(),
            rows: r.rows,
            worst_ratio: r.worst_ratio,
            worst_error: r.worst_error,
            worst_allowance: r.worst_allowance,
            worst_case: r.worst_case.clone(),
        })
        .collect()
}

/// Paths this CPU can run that computed no row on the case families.
fn uncovered_paths(ctx: &mut GateContext) -> Result<Measured<Abs>, GateError> {
    let s = sweep(ctx)?;
    let missing: Vec<String> = expected_paths()
        .into_iter()
        .filter(|(v, p, i)| s.paths.get(&(v.clone(), *p, *i)).is_none_or(|r| r.rows == 0))
        .map(|(v, p, i)| format!("{v}: {} on {}", p.name(), i.name()))
        .collect();
    ctx.detail("cpu_isa_levels", Isa::available().iter().map(|i| i.name()).collect::<Vec<_>>())?;
    ctx.detail(
        "bf16_paths",
        [Bf16Path::Amx, Bf16Path::F32Fma, Bf16Path::Avx512Bf16, Bf16Path::Portable]
            .into_iter()
            .filter(|p| p.is_available())
            .map(|p| p.name())
            .collect::<Vec<_>>(),
    )?;
    ctx.detail("families", &s.families)?;
    ctx.detail("cases", s.cases)?;
    ctx.detail("expected_paths", expected_paths().len())?;
    ctx.detail("uncovered", &missing)?;
    ctx.detail(DETAIL_PATH_ROWS, coverage_rows(&s))?;
    Ok(Measured::new(missing.len() as f64))
}

ironforge::gate!(kernel_path_coverage: uncovered_paths() <= 0, family = "attention", fault = DAG_CASES_ONLY,
    doc = "every kernel path this CPU can run (short, sparse, lane, tile and tile-map rows on each instruction-set level; each bf16 path) computed rows on the attention case families; the kernels' row counters agree with the row classification");

/// Worst error over allowance of every kernel path, each against its own reference.
fn path_parity(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    let s = sweep(ctx)?;
    let mut worst: Vec<(f64, String, &str)> = s
        .paths
        .iter()
        .map(|((v, p, i), r)| (r.worst_ratio, format!("{v}: {} on {}", p.name(), i.name()), r.worst_case.as_str()))
        .collect();
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    let value = worst.first().map_or(0.0, |w| w.0);
    // The full path table is `kernel_path_coverage`'s rows (its own sweep on its own inputs);
    // this gate keeps its five worst paths.
    ctx.detail(
        "worst_paths",
        worst.iter().take(5).map(|(r, p, c)| serde_json::json!({"path": p, "ratio": r, "case": c})).collect::<Vec<_>>(),
    )?;
    ctx.detail("cases", s.cases)?;
    Ok(Measured::new(value))
}

ironforge::gate!(kernel_path_parity: path_parity() <= 1.0 x, family = "attention", fault = FLASH_DENSE_ROWS_OFF,
    doc = "on every case family, every row of every kernel path on every instruction-set level is within its allowance: f32 paths by the FlashAttention rule against f64 math, bf16 paths against f64 math on the bf16-rounded operands (plus the probability-rounding bound where P is rounded)");

/// Timed path rows: `(kernel, family, L, D)`, each on the detected instruction set and, on an
/// AVX-512 CPU, on AVX2 too; the rows each one sends down its path are named in the comment.
const SPEED_ROWS: [(Kernel, &str, usize, usize); 9] = [
    (Kernel::Sdpa, "dense", 512, 11),           // lane rows
    (Kernel::Flash, "dense", 512, 11),          // lane rows
    (Kernel::Sdpa, "dense", 512, 64),           // tile rows
    (Kernel::Flash, "dense", 512, 64),          // tile rows
    (Kernel::Flash, "dense", 128, 11),          // lane rows, one chunk
    (Kernel::BlockSparse, "window64", 600, 32), // tile maps (the first 32 rows sparse)
    (Kernel::Sdpa, "window8", 600, 11),         // short rows
    (Kernel::Sdpa, "window8", 600, 32),         // sparse rows
    (Kernel::Bf16, "dense", 512, 11),           // bf16 on rounded panels (or AMX tiles)
];

/// The variants a speed row is timed on.
fn timed_variants(kernel: Kernel) -> Vec<Variant> {
    if kernel == Kernel::Bf16 {
        return vec![Variant::Bf16(Bf16Path::detect())];
    }
    let mut isas = vec![Isa::detect()];
    if Isa::detect() == Isa::Avx512 {
        isas.push(Isa::Avx2);
    }
    isas.into_iter().map(|isa| Variant::F32(kernel, isa)).collect()
}

/// Speed of every dense and sparse path against `math` on the same case, judged per row
/// against its target on this instruction set (`gates/targets.rs`).
fn path_speedup(ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    let plan = crate::attention::table_plan(ctx);
    let mut rows = Vec::new();
    let mut gate = crate::attention::AgainstTargets::default();
    // Every row times a synthetic case with its bias, on the variants of `timed_variants`.
    for (kernel, family, l, d) in SPEED_ROWS {
        let c = crate::attention_cases::synthetic_case(ctx, family, l, d, true);
        let inp = c.inputs();
        for v in timed_variants(kernel) {
            let name = v.name();
            let mask = format!("{family}/D{d}");
            let spec = crate::attention::RowSpec { candidate: &name, reference: "math", bucket: l, mask: &mask };
            let (row, ratios) = crate::attention::bench_row(
                ctx,
                &plan,
                spec,
                &mut || crate::attention::call(Kernel::Math, &inp),
                &mut || drop(std::hint::black_box(v.run(&inp))),
            )?;
            gate.offer(&format!("{name}/{family}/L{l}/D{d}"), &row, ratios)?;
            rows.push(row);
        }
    }
    ctx.table(KERNEL_TABLE, &rows)?;
    gate.measurement(ctx, "no path row was timed")
}

/// Rows only the probe times: lane and tile rows whose chunks and tiles are all partly masked
/// (80% of the keys allowed, every row dense), the masked copies of their score loops.
const MASKED_PROBE_ROWS: [(Kernel, &str, usize, usize); 3] = [
    (Kernel::Sdpa, "random80", 512, 11),  // lane rows, masked chunks
    (Kernel::Flash, "random80", 512, 11), // lane rows, masked chunks
    (Kernel::Flash, "random80", 512, 64), // tile rows, masked tiles
];

/// Probe of `kernel_path_speedup` for `release-check --against`: the time (us) of every speed
/// row's variants with and without the bias, and of [`MASKED_PROBE_ROWS`], so a slower copy of
/// any path's loop (bias or none, whole or masked chunk) shows in a row of its own. Subjects
/// are named `<variant>/<case id>`, e.g. `flash/avx2/dense/L512/D11/bias`.
fn path_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {
    let mut timings = Vec::new();
    for (kernel, family, l, d) in SPEED_ROWS.into_iter().chain(MASKED_PROBE_ROWS) {
        for bias in [true, false] {
            let c = crate::attention_cases::synthetic_case(ctx, family, l, d, bias);
            let inp = c.inputs();
            for v in timed_variants(kernel) {
                v.run(&inp)?;
                let s = seconds_per_call(ctx, || drop(std::hint::black_box(v.run(&inp))));
                timings.push(Timing::new(format!("{}/{}", v.name(), c.id), Unit::Micros, s * 1e6)?);
            }
        }
    }
    Ok(timings)
}

ironforge::gate!(kernel_path_speedup: path_speedup() >= 1.0 x, family = "attention", tier = release, fault = crate::attention::SLOW_KERNEL,
    regress <= 5% on path_probe,
    doc = "every kernel path (lane, tile, tile-map, short and sparse rows, bf16) on the detected instruction set and on AVX2 reaches its target speed-up over math on its case (lower end of the 95% interval over the target of gates/targets.rs)");
