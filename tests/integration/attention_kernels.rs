//! Parity of every attention kernel against the f64 reference `math`: golden sessions (DAG,
//! causal and dense masks with the bucket time bias) and random shapes, masks and biases.

use ironforge::attention::kernels::bf16::{self, Bf16Params, Bf16Path};
use ironforge::attention::kernels::block_sparse::{self, BlockSparseParams, TileMap};
use ironforge::attention::kernels::parity::{bf16_tolerance, flash_rule, max_abs, naive_f32, F32_ABS_TOL};
use ironforge::attention::kernels::simd::{Isa, Portable};
use ironforge::attention::kernels::sparse::{
    short_rows, sparse_row, sparse_row_scalar, HeadRows, ShortScratch, SparseRows, SHORT_ROW_MAX, SPARSE_ROW_MAX,
};
use ironforge::attention::kernels::{attend, attend_parallel, flash, math, sdpa, FastParams, RowBias};
use ironforge::attention::{AttnError, AttnInputs, Kernel, Mask};
use ndarray::{Array2, Array3};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The original's bucket time bias: dt in minutes, buckets (0,5,+0.2), (5,15,+0.1),
/// (15,60,0.0), (60,240,−0.1), both ends inclusive, contributions add.
fn bucket_bias(times_ms: &[i64]) -> Array2<f32> {
    const BUCKETS: [(f64, f64, f64); 4] = [(0.0, 5.0, 0.2), (5.0, 15.0, 0.1), (15.0, 60.0, 0.0), (60.0, 240.0, -0.1)];
    Array2::from_shape_fn((times_ms.len(), times_ms.len()), |(u, v)| {
        let dt = (times_ms[v] - times_ms[u]).abs() as f64 / 60_000.0;
        BUCKETS.iter().filter(|&&(lo, hi, _)| dt >= lo && dt <= hi).map(|&(_, _, w)| w).sum::<f64>() as f32
    })
}

fn qkv(seed: u64, h: usize, l: usize, d: usize, amp: f32) -> [Array3<f32>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    std::array::from_fn(|_| Array3::from_shape_simple_fn((h, l, d), || rng.random_range(-amp..amp)))
}

/// Sparse-path settings every parity check runs: the default threshold, never sparse (the
/// tile paths on every row), and always sparse (every row gathered, however many entries).
const SPARSE_SETTINGS: [(&str, Option<usize>); 3] = [
    ("default", Some(ironforge::attention::kernels::sparse::SPARSE_ROW_MAX)),
    ("off", None),
    ("all", Some(usize::MAX)),
];

/// One fast-kernel run per (kernel, instruction set, sparse setting), labelled.
fn fast_runs(inp: &AttnInputs<'_>) -> Vec<(String, Array3<f32>)> {
    let mut runs = Vec::new();
    for isa in Isa::available() {
        for (label, sparse_max) in SPARSE_SETTINGS {
            for row_lanes in [true, false] {
                let p = FastParams { isa, parallel: false, sparse_max, row_lanes };
                let tag = if row_lanes { "lanes" } else { "rows4" };
                runs.push((format!("sdpa/{}/{label}/{tag}", isa.name()), sdpa::forward_with(inp, &p).unwrap()));
                runs.push((format!("flash/{}/{label}/{tag}", isa.name()), flash::forward_with(inp, &p).unwrap()));
            }
            let bp = BlockSparseParams { isa, sparse_max, ..BlockSparseParams::default() };
            runs.push((format!("block_sparse/{}/{label}", isa.name()), block_sparse::forward_with(inp, &bp).unwrap()));
        }
    }
    runs
}

fn bf16_paths() -> Vec<Bf16Path> {
    [Bf16Path::Amx, Bf16Path::F32Fma, Bf16Path::Avx512Bf16, Bf16Path::Portable]
        .into_iter()
        .filter(|p| p.is_available())
        .collect()
}

/// Checks every kernel on one input; returns a description of the first failure.
fn check_all(inp: &AttnInputs<'_>) -> Result<(), String> {
    let r64 = math::forward_f64(inp);
    let r32 = r64.mapv(|x| x as f32);
    let naive = naive_f32(inp);
    for (name, out) in fast_runs(inp) {
        let err = max_abs(out.view(), r32.view());
        if err > F32_ABS_TOL {
            return Err(format!("{name}: max abs {err:e} > {F32_ABS_TOL:e}"));
        }
        let rule = flash_rule(out.view(), naive.view(), r64.view(), inp.v);
        if !rule.passed {
            return Err(format!("{name}: flash rule failed {rule:?}"));
        }
    }
    let tol = bf16_tolerance(inp);
    for path in bf16_paths() {
        for (label, sparse_max) in SPARSE_SETTINGS {
            let p = Bf16Params { path, parallel: false, sparse_max, ..Bf16Params::default() };
            let out = bf16::forward_with(inp, &p).unwrap();
            let err = max_abs(out.view(), r32.view());
            if err > tol {
                return Err(format!("bf16/{}/{label}: max abs {err:e} > tolerance {tol:e}", path.name()));
            }
        }
    }
    // The f32-FMA path on every instruction set: the same arithmetic, bit for bit.
    let on = |isa| bf16::forward_with(inp, &Bf16Params { path: Bf16Path::F32Fma, isa, ..Bf16Params::default() });
    let best = on(Isa::detect()).unwrap();
    for isa in Isa::available() {
        if on(isa).unwrap() != best {
            return Err(format!("bf16/f32_fma on {} differs from {}", isa.name(), Isa::detect().name()));
        }
    }
    Ok(())
}

#[test]
fn every_kernel_matches_math_on_golden_sessions() {
    for (idx, spec) in ironforge::synth::golden_specs().iter().enumerate() {
        let s = ironforge::synth::generate(spec);
        let n = s.len();
        let times = s.times_ms();
        let bias = bucket_bias(&times);
        let [q, k, v] = qkv(0xA77E_0000 + idx as u64, 4, n, 11, 1.5);
        let dag = ironforge::dag::causal_pairs_reference(&times, &Default::default());
        let masks = [
            ("session edges", Mask::from_edges(n, &s.local_edges())),
            ("causal dag", Mask::from_edges_causal(n, &dag)),
            ("dense", Mask::full(n)),
        ];
        for (label, mask) in &masks {
            // Dense masks cost L² per head: checked on the original parity matrix (the first
            // five golden sessions, 117–268 events) with the bias.
            let dense = *label == "dense";
            if dense && idx >= 5 {
                continue;
            }
            let biases = if dense { vec![Some(bias.view().into())] } else { vec![None, Some(bias.view().into())] };
            for b in biases {
                let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask, bias: b };
                if let Err(e) = check_all(&inp) {
                    panic!("{} ({label}, bias {}): {e}", spec.session_id, b.is_some());
                }
            }
        }
    }
}

#[test]
fn fully_blocked_rows_give_zero_rows_in_every_kernel() {
    let n = 37;
    let mut mask = Mask::empty(n);
    for i in (0..n).filter(|i| i % 3 != 0) {
        mask.allow(i, (i * 7) % n);
        mask.allow(i, i);
    }
    let [q, k, v] = qkv(7, 2, n, 11, 1.0);
    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
    for kernel in Kernel::ALL {
        let out = attend(kernel, &inp).unwrap();
        for i in 0..n {
            let zero = out.slice(ndarray::s![.., i, ..]).iter().all(|&x| x == 0.0);
            assert_eq!(zero, i % 3 == 0, "{} row {i}", kernel.name());
        }
    }
}

#[test]
fn block_sparse_is_bit_identical_to_sdpa_for_any_row_block() {
    let s = ironforge::synth::generate(&ironforge::synth::golden_specs()[4]);
    let n = s.len();
    let mask = Mask::from_edges(n, &s.local_edges());
    let bias = bucket_bias(&s.times_ms());
    let [q, k, v] = qkv(11, 4, n, 11, 2.0);
    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(bias.view().into()) };
    for isa in Isa::available() {
        for (label, sparse_max) in SPARSE_SETTINGS {
            // Four rows at a time: the row routines block_sparse shares.
            let p = FastParams { isa, parallel: false, sparse_max, row_lanes: false };
            let dense = sdpa::forward_with(&inp, &p).unwrap();
            for rows_per_block in [1, 3, 8, 64] {
                let p = BlockSparseParams { isa, rows_per_block, parallel: false, sparse_max };
                let out = block_sparse::forward_with(&inp, &p).unwrap();
                assert_eq!(out, dense, "{} {label} rows {rows_per_block}", isa.name());
            }
        }
    }
    let map = TileMap::from_mask(&mask, 1);
    assert!(map.skipped_fraction() > 0.8, "DAG mask should skip most tiles: {}", map.skipped_fraction());
}

#[test]
fn parallel_runs_are_bit_identical_to_serial() {
    let [q, k, v] = qkv(3, 4, 150, 11, 1.0);
    // Dense rows, and a DAG-like mask mixing sparse rows with a few dense ones (every 10th row
    // allows 60 columns) so both paths run in one call.
    let mut mixed = Mask::from_edges(150, &(0..149u32).map(|i| (i, i + 1)).collect::<Vec<_>>());
    for i in (0..150).step_by(10) {
        (0..60).for_each(|j| mixed.allow(i, (i + 2 * j) % 150));
    }
    let bias = Array2::from_shape_fn((150, 150), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.05);
    let pools = [2, 3].map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap());
    for mask in [Mask::full(150), mixed] {
        let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(bias.view().into()) };
        for kernel in Kernel::ALL {
            let serial = attend(kernel, &inp).unwrap();
            for pool in &pools {
                let par = pool.install(|| attend_parallel(kernel, &inp).unwrap());
                assert_eq!(serial, par, "{} on {} threads", kernel.name(), pool.current_num_threads());
            }
        }
    }
}

#[test]
fn sparse_rows_list_exactly_the_rows_within_the_threshold() {
    // Diagonal everywhere but row 9 (empty); row 0 has 3 entries in three words, row 5 two,
    // row 7 all 130.
    let allowed: Vec<bool> = (0..130 * 130)
        .map(|idx| (idx / 130, idx % 130))
        .map(|(i, j)| (i == j && i != 9) || (i == 0 && (j == 64 || j == 129)) || (i, j) == (5, 6) || i == 7)
        .collect();
    let empty_row = Mask::from_dense(130, &allowed);
    for max in [0, 1, 2, 3, 200] {
        let rows = SparseRows::from_mask(&empty_row, max);
        let mut dense = 0;
        for i in 0..130 {
            let cols: Vec<u32> = empty_row.row_columns(i).map(|j| j as u32).collect();
            if cols.len() <= max {
                assert_eq!(rows.row(i), Some(cols.as_slice()), "row {i} max {max}");
            } else {
                assert_eq!(rows.row(i), None, "row {i} max {max}");
                dense += 1;
            }
        }
        assert_eq!(rows.dense_rows(), dense, "max {max}");
    }
    assert_eq!(SparseRows::from_mask(&empty_row, 0).row(9), Some(&[][..]), "an empty row is sparse with no columns");
}

/// The row-major operands of a single-head `[1, L, D]` q, k, v.
fn head_rows<'a>([q, k, v]: [&'a Array3<f32>; 3], bias: Option<&'a [f32]>) -> HeadRows<'a> {
    let (_, l, d) = q.dim();
    HeadRows {
        q: q.as_slice().unwrap(),
        k: k.as_slice().unwrap(),
        v: v.as_slice().unwrap(),
        bias: bias.map(|b| RowBias::dense(b, l)),
        l,
        d,
        scale: 1.0 / (d as f32).sqrt(),
    }
}

/// `short_rows` (every instruction set, all rows of a head at once) against the scalar twin
/// of each short row, on masks whose rows allow 0 to 24 columns (some sparse rows long) or 0 to
/// 16 (every sparse row short: the two-chain last pass); rows that are not short (more than 16
/// entries, or dense) are not written; every instruction set gives the same bits.
#[test]
fn short_rows_match_the_scalar_twin_and_leave_other_rows_alone() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5407);
    let l = 70;
    for (d, widest) in [1usize, 3, 11, 16].into_iter().flat_map(|d| [(d, 24), (d, 16)]) {
        let [q, k, v] = qkv(100 + d as u64, 1, l, d, 2.0);
        let bias: Vec<f32> = (0..l * l).map(|_| rng.random_range(-3.0f32..3.0)).collect();
        let mut mask = Mask::empty(l);
        for i in 0..l {
            let n = if i == 5 { 40 } else { rng.random_range(0..=widest) };
            for _ in 0..n {
                mask.allow(i, rng.random_range(0..l));
            }
        }
        let rows = SparseRows::from_mask(&mask, 32);
        for with_bias in [false, true] {
            let h = head_rows([&q, &k, &v], with_bias.then_some(bias.as_slice()));
            let entry_bias = with_bias.then(|| rows.entry_bias(&bias));
            let entry_bias = entry_bias.as_deref();
            let mut runs = Vec::new();
            let mut out = vec![f32::NAN; l * d];
            short_rows(Portable, &h, &rows, entry_bias, &mut ShortScratch::default(), &mut out);
            runs.push(("portable", out));
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(t) = ironforge::attention::kernels::simd::Avx512::new() {
                    let mut out = vec![f32::NAN; l * d];
                    short_rows(t, &h, &rows, entry_bias, &mut ShortScratch::default(), &mut out);
                    runs.push(("avx512", out));
                }
                if let Some(t) = ironforge::attention::kernels::simd::Avx2::new() {
                    let mut out = vec![f32::NAN; l * d];
                    short_rows(t, &h, &rows, entry_bias, &mut ShortScratch::default(), &mut out);
                    runs.push(("avx2", out));
                }
            }
            let mut short = 0;
            for i in 0..l {
                let cols: Vec<u32> = mask.row_columns(i).map(|c| c as u32).collect();
                let is_short = cols.len() <= SHORT_ROW_MAX;
                assert_eq!(rows.is_short(i), is_short, "row {i} with {} entries", cols.len());
                short += usize::from(is_short);
                let mut want = vec![f32::NAN; d];
                sparse_row_scalar(&h, i, &cols, &mut want);
                for (name, got) in &runs {
                    let got = &got[i * d..(i + 1) * d];
                    if !is_short {
                        assert!(got.iter().all(|x| x.is_nan()), "{name}: row {i} is not short but was written");
                        continue;
                    }
                    for c in 0..d {
                        let tol = 1e-5 * want[c].abs().max(1.0);
                        assert!(
                            (got[c] - want[c]).abs() <= tol,
                            "{name}, d {d}, row {i}, lane {c}: {} vs {}",
                            got[c],
                            want[c]
                        );
                    }
                }
            }
            assert!(short > 40 && short < l, "the mask mixes short and long rows ({short} short)");
            for (name, got) in &runs[1..] {
                let same = got.iter().zip(&runs[0].1).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{name} differs from portable");
            }
        }
    }
}

/// `short_rows` splits its last pass into two chains at a row boundary at or past half the
/// entries: every row comes out right for every entry count and boundary position, odd counts
/// included (row 0 of each mask lacks `gap` of its entries, so the boundaries shift).
#[test]
fn short_rows_two_chains_cover_every_split() {
    for l in 1..=9usize {
        for gap in 0..l {
            let d = 3;
            let [q, k, v] = qkv(l as u64 * 31 + gap as u64, 1, l, d, 2.0);
            let mut mask = Mask::empty(l);
            for i in 0..l {
                for j in 0..l {
                    if i > 0 || j >= gap {
                        mask.allow(i, j);
                    }
                }
            }
            let rows = SparseRows::from_mask(&mask, 32);
            let h = head_rows([&q, &k, &v], None);
            let mut out = vec![f32::NAN; l * d];
            short_rows(Portable, &h, &rows, None, &mut ShortScratch::default(), &mut out);
            for i in 0..l {
                let cols: Vec<u32> = mask.row_columns(i).map(|c| c as u32).collect();
                let mut want = vec![f32::NAN; d];
                sparse_row_scalar(&h, i, &cols, &mut want);
                for c in 0..d {
                    assert!((out[i * d + c] - want[c]).abs() <= 1e-5, "l {l}, gap {gap}, row {i}, lane {c}");
                }
            }
        }
    }
}

/// `short_rows` reads rows without a bounds check each, trusting lengths it checks once: an
/// operand or an output shorter than the mask's L × D is refused, not read past.
#[test]
fn short_rows_refuse_operands_shorter_than_the_mask() {
    let (l, d) = (6, 3);
    let [q, k, v] = qkv(5, 1, l, d, 1.0);
    let rows = SparseRows::from_mask(&Mask::full(l), 32);
    let h = head_rows([&q, &k, &v], None);
    let short_v = HeadRows { v: &h.v[..(l - 1) * d], ..h };
    let refused = |h: HeadRows<'_>, out_len: usize| {
        std::panic::catch_unwind(|| {
            short_rows(Portable, &h, &rows, None, &mut ShortScratch::default(), &mut vec![0.0; out_len])
        })
        .is_err()
    };
    assert!(!refused(h, l * d), "whole operands are accepted");
    assert!(refused(short_v, l * d), "a value matrix one row short");
    assert!(refused(h, l * d - 1), "an output one float short");
}

/// `sparse_row` (vectorised, every instruction set) against its scalar twin on rows with 0,
/// 1 and many gathered columns, D below, at and above one 16-lane chunk.
#[test]
fn sparse_row_matches_its_scalar_twin() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5BA5);
    for d in [1usize, 3, 11, 16, 17, 40] {
        let l = 70;
        let [q, k, v] = qkv(d as u64, 1, l, d, 2.0);
        let bias: Vec<f32> = (0..l * l).map(|_| rng.random_range(-3.0f32..3.0)).collect();
        for n_cols in [0usize, 1, 2, 5, 16, 17, 33, 70] {
            let mut cols: Vec<u32> = (0..l as u32).collect();
            for i in (1..cols.len()).rev() {
                cols.swap(i, rng.random_range(0..=i));
            }
            cols.truncate(n_cols);
            cols.sort_unstable();
            for with_bias in [false, true] {
                let h = head_rows([&q, &k, &v], with_bias.then_some(bias.as_slice()));
                let i = n_cols % l;
                let mut want = vec![f32::NAN; d];
                sparse_row_scalar(&h, i, &cols, &mut want);
                let mut scratch = vec![f32::NAN; 80];
                let mut got = vec![f32::NAN; d];
                sparse_row(Portable, &h, i, &cols, &mut scratch, &mut got);
                let mut runs = vec![("portable", got)];
                #[cfg(target_arch = "x86_64")]
                {
                    if let Some(t) = ironforge::attention::kernels::simd::Avx512::new() {
                        let mut o = vec![f32::NAN; d];
                        sparse_row(t, &h, i, &cols, &mut scratch, &mut o);
                        runs.push(("avx512", o));
                    }
                    if let Some(t) = ironforge::attention::kernels::simd::Avx2::new() {
                        let mut o = vec![f32::NAN; d];
                        sparse_row(t, &h, i, &cols, &mut scratch, &mut o);
                        runs.push(("avx2", o));
                    }
                }
                for (name, got) in runs {
                    for c in 0..d {
                        let tol = 1e-5 * want[c].abs().max(1.0);
                        assert!(
                            (got[c] - want[c]).abs() <= tol,
                            "{name} d {d} cols {n_cols} bias {with_bias} dim {c}: {} vs {}",
                            got[c],
                            want[c]
                        );
                    }
                    if n_cols == 0 {
                        assert!(got.iter().all(|&x| x == 0.0), "{name}: empty row must be zero");
                    }
                }
            }
        }
    }
}

#[test]
fn kernels_reject_mismatched_shapes_with_named_input() {
    let [q, k, _] = qkv(1, 2, 8, 4, 1.0);
    let v = Array3::<f32>::zeros((2, 8, 5));
    let mask = Mask::full(8);
    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
    for kernel in Kernel::ALL {
        match attend(kernel, &inp) {
            Err(AttnError::Shape { input, .. }) => assert_eq!(input, "v", "{}", kernel.name()),
            other => panic!("{}: expected a shape error, got {other:?}", kernel.name()),
        }
    }
}

#[test]
fn kernel_names_round_trip() {
    for kernel in Kernel::ALL {
        assert_eq!(kernel.name().parse::<Kernel>().unwrap(), kernel);
    }
    assert!("flash2".parse::<Kernel>().unwrap_err().contains("block_sparse"));
}

#[test]
fn golden_tile_maps_and_outputs_summary() {
    let rows: Vec<serde_json::Value> = ironforge::synth::golden_specs()
        .iter()
        .enumerate()
        .map(|(idx, spec)| {
            let s = ironforge::synth::generate(spec);
            let n = s.len();
            let dag = ironforge::dag::causal_pairs_reference(&s.times_ms(), &Default::default());
            let mask = Mask::from_edges_causal(n, &dag);
            let map = TileMap::from_mask(&mask, 1);
            let [q, k, v] = qkv(0xA77E_0000 + idx as u64, 4, n, 11, 1.5);
            let bias = bucket_bias(&s.times_ms());
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: Some(bias.view().into()) };
            let out = attend(Kernel::BlockSparse, &inp).unwrap();
            let round = |x: f64, p: f64| (x * p).round() / p;
            serde_json::json!({
                "session": spec.session_id,
                "events": n,
                "allowed": mask.count_allowed(),
                "tiles_listed": map.listed(),
                "tiles_skipped_fraction": round(map.skipped_fraction(), 1e4),
                "output_sum": round(out.iter().map(|&x| x as f64).sum::<f64>(), 1e2),
                "output_abs_sum": round(out.iter().map(|&x| x.abs() as f64).sum::<f64>(), 1e2),
            })
        })
        .collect();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("attention_kernels_golden_block_sparse", rows);
    });
}

fn random_case() -> impl Strategy<Value = (usize, usize, usize, f64, bool, u64)> {
    (1usize..=3, 1usize..=90, 1usize..=40, 0.0f64..=1.0, any::<bool>(), any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_kernel_matches_math_on_random_inputs((h, l, d, density, with_bias, seed) in random_case()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let [q, k, v] = qkv(seed ^ 0x5EED, h, l, d, 2.0);
        let mut mask = Mask::empty(l);
        for i in 0..l {
            for j in 0..l {
                if rng.random_bool(density) {
                    mask.allow(i, j);
                }
            }
        }
        let bias = Array2::from_shape_simple_fn((l, l), || rng.random_range(-3.0f32..3.0));
        let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: with_bias.then(|| bias.view().into()) };
        let verdict = check_all(&inp);
        prop_assert!(verdict.is_ok(), "h {} l {} d {} density {:.2}: {}", h, l, d, density, verdict.unwrap_err());
    }
}

#[test]
fn non_finite_inputs_give_non_finite_rows_so_the_breaker_sees_them() {
    // Row 3 allows 40 columns (dense paths) under the full mask, 4 (short sparse rows) under the
    // lower triangle; a NaN or infinite query element must make it non-finite in every kernel.
    let mut lower = Mask::empty(40);
    (0..40).for_each(|i| (0..=i).for_each(|j| lower.allow(i, j)));
    for (mask_name, mask) in [("full", Mask::full(40)), ("lower", lower)] {
        for bad in [f32::NAN, f32::INFINITY] {
            let [mut q, k, v] = qkv(5, 2, 40, 11, 1.0);
            q[[1, 3, 4]] = bad;
            let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
            let mut runs = Vec::new();
            for isa in Isa::available() {
                for (row_lanes, sparse_max) in [(true, None), (false, None), (true, Some(usize::MAX)), (true, Some(16))]
                {
                    let p = FastParams { isa, parallel: false, sparse_max, row_lanes };
                    let tag = format!("{} lanes {row_lanes} sparse {sparse_max:?}", isa.name());
                    runs.push((format!("sdpa {tag}"), sdpa::forward_with(&inp, &p).unwrap()));
                    runs.push((format!("flash {tag}"), flash::forward_with(&inp, &p).unwrap()));
                }
            }
            for kernel in [Kernel::BlockSparse, Kernel::Bf16] {
                runs.push((kernel.name().to_string(), ironforge::attention::attend(kernel, &inp).unwrap()));
            }
            for (name, out) in runs {
                let row = out.slice(ndarray::s![1, 3, ..]);
                assert!(row.iter().any(|x| !x.is_finite()), "{name}, {mask_name} mask, {bad}: {row}");
            }
        }
    }
}

/// The AMX tile path at every head-width regime it has (one query tile, two query tiles, one to
/// four accumulator tiles, D > 64 handed to f32 FMAs), rows filling blocks of 16 partly, a
/// lower-triangular mask with an empty row, a random sparse mask whose column groups some
/// blocks skip, with and without a bias. Skipped (with a message) where AMX is unavailable.
#[test]
fn bf16_tile_path_matches_math_at_every_head_width() {
    if !Bf16Path::Amx.is_available() {
        eprintln!("skipped: no AMX-BF16 on this machine");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0xA3C5);
    for d in [1, 2, 11, 16, 17, 31, 32, 33, 47, 48, 64, 65, 80] {
        for l in [1, 17, 70] {
            let [q, k, v] = qkv(0xB16 + (d * 100 + l) as u64, 2, l, d, 1.5);
            let mut lower = Mask::empty(l);
            (1..l).for_each(|i| (0..i).for_each(|j| lower.allow(i, j))); // row 0 allows nothing
            let mut scattered = Mask::empty(l);
            (0..l).for_each(|i| (0..l).filter(|_| rng.random_bool(0.1)).for_each(|j| scattered.allow(i, j)));
            let bias = Array2::from_shape_fn((l, l), |_| rng.random_range(-0.5f32..0.5));
            for mask in [Mask::full(l), lower, scattered] {
                for b in [None, Some(bias.view().into())] {
                    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: b };
                    let want = math::forward_f64(&inp).mapv(|x| x as f32);
                    let tol = bf16_tolerance(&inp);
                    let p =
                        Bf16Params { path: Bf16Path::Amx, parallel: false, sparse_max: None, ..Bf16Params::default() };
                    let err = max_abs(bf16::forward_with(&inp, &p).unwrap().view(), want.view());
                    assert!(err <= tol, "D = {d}, L = {l}, bias {}: max abs {err:e} > {tol:e}", b.is_some());
                }
            }
        }
    }
}

/// `bf16`'s f32-FMA path is `flash` on bf16-rounded operands, bit for bit: its dense rows equal
/// `flash` on inputs rounded beforehand (`half`'s rounding), its sparse rows equal `flash`'s
/// sparse rows on the inputs as given; and rounding matters (the outputs differ from `flash`'s).
#[test]
fn bf16_f32fma_path_is_flash_on_rounded_operands() {
    let round = |a: &Array3<f32>| a.mapv(|x| half::bf16::from_f32(x).to_f32());
    for (d, l) in [(11, 70), (64, 40), (3, 17)] {
        let [q, k, v] = qkv(0xF32F + (d * 100 + l) as u64, 2, l, d, 1.5);
        let [qr, kr, vr] = [round(&q), round(&k), round(&v)];
        let times: Vec<i64> = (0..l as i64).map(|i| i * 300_000).collect();
        let bias = bucket_bias(&times);
        let mut dag = Mask::empty(l);
        (0..l).for_each(|i| (i.saturating_sub(3)..i).for_each(|j| dag.allow(i, j)));
        (0..l).step_by(5).for_each(|i| (0..i).for_each(|j| dag.allow(i, j)));
        for mask in [Mask::full(l), dag] {
            for b in [None, Some(bias.view().into())] {
                let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: b };
                let rounded = AttnInputs { q: qr.view(), k: kr.view(), v: vr.view(), mask: &mask, bias: b };
                let flash_on = |i: &AttnInputs<'_>, sparse_max| {
                    flash::forward_with(i, &FastParams { sparse_max, ..FastParams::default() }).unwrap()
                };
                let fma = |sparse_max| {
                    let p = Bf16Params { path: Bf16Path::F32Fma, parallel: false, sparse_max, ..Bf16Params::default() };
                    bf16::forward_with(&inp, &p).unwrap()
                };
                let case = format!("D = {d}, L = {l}, bias {}", b.is_some());
                assert_eq!(fma(None), flash_on(&rounded, None), "all rows dense: {case}");
                assert_ne!(fma(None), flash_on(&inp, None), "rounding had no effect: {case}");
                let split = SparseRows::from_mask(&mask, SPARSE_ROW_MAX);
                let (mixed, exact, on_rounded) =
                    (fma(Some(SPARSE_ROW_MAX)), flash_on(&inp, Some(SPARSE_ROW_MAX)), flash_on(&rounded, None));
                for i in 0..l {
                    let want = if split.row(i).is_some() { &exact } else { &on_rounded };
                    for h in 0..2 {
                        assert_eq!(
                            mixed.slice(ndarray::s![h, i, ..]),
                            want.slice(ndarray::s![h, i, ..]),
                            "row {i}: {case}"
                        );
                    }
                }
            }
        }
    }
}
