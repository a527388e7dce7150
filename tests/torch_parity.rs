//! Every kernel against PyTorch's `scaled_dot_product_attention` (through `tch`): golden
//! sessions (session-edge, causal-DAG and dense masks with the bucket time bias) and random
//! shapes, masks and biases. f32 kernels within 1e-5 max abs, `bf16` within its documented
//! tolerance. Needs the `torch` feature (see docs/torch.md).
#![cfg(feature = "torch")]

use ironforge::attention::kernels::parity::{bf16_tolerance, max_abs, F32_ABS_TOL};
use ironforge::attention::torch::{
    self, additive_mask, blocked_rows, golden_cases, parity_of, random_case, sdpa_raw, sdpa_with, seeded_qkv,
    tolerance_for, TorchError, TorchOptions,
};
use ironforge::attention::{attend, AttnError, AttnInputs, Kernel, Mask};
use ndarray::{s, Array3};
use proptest::prelude::*;

/// Every kernel against torch on one case; the first failure described.
fn check_case(case: &torch::TorchCase) -> Result<(), String> {
    let inp = case.inputs();
    let theirs = torch::sdpa(&inp).map_err(|e| e.to_string())?;
    for kernel in Kernel::ALL {
        let ours = attend(kernel, &inp).map_err(|e| e.to_string())?;
        let p = parity_of(kernel, &inp, &ours, &theirs);
        if !p.passed {
            return Err(format!("{}: {}: max abs {:e} > {:e}", case.label, kernel.name(), p.max_abs, p.tolerance));
        }
    }
    Ok(())
}

#[test]
fn every_kernel_matches_torch_on_golden_sessions() {
    let cases = golden_cases();
    assert_eq!(cases.len(), 20 * 2 + 5, "20 sessions × 2 DAG masks + 5 dense");
    for case in &cases {
        if let Err(e) = check_case(case) {
            panic!("{e}");
        }
    }
}

#[test]
fn golden_cases_without_bias_match_too() {
    for mut case in golden_cases().into_iter().step_by(3) {
        case.bias = None;
        if let Err(e) = check_case(&case) {
            panic!("no bias: {e}");
        }
    }
}

#[test]
fn the_check_fails_on_a_perturbed_output() {
    let case = &golden_cases()[0];
    let inp = case.inputs();
    let theirs = torch::sdpa(&inp).unwrap();
    for kernel in Kernel::ALL {
        let mut ours = attend(kernel, &inp).unwrap();
        let tol = tolerance_for(kernel, &inp);
        ours[[1, 7, 3]] += (2.0 * tol) as f32;
        let p = parity_of(kernel, &inp, &ours, &theirs);
        assert!(!p.passed, "{}: a {:e} error passed ({p:?})", kernel.name(), 2.0 * tol);
    }
    let mut nan = theirs.clone();
    nan[[0, 0, 0]] = f32::NAN;
    assert!(!parity_of(Kernel::Math, &inp, &nan, &theirs).passed, "NaN must fail");
}

#[test]
fn fully_blocked_rows_are_zero_and_torch_raw_is_zero_or_nan() {
    let n = 37;
    let mut mask = Mask::empty(n);
    for i in (0..n).filter(|i| i % 3 != 0) {
        mask.allow(i, (i * 7) % n);
        mask.allow(i, i);
    }
    assert_eq!(blocked_rows(&mask), (0..n).filter(|i| i % 3 == 0).collect::<Vec<_>>());
    let [q, k, v] = seeded_qkv(7, 2, n, 11, 1.0);
    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
    let raw = sdpa_raw(&inp, &TorchOptions::default()).unwrap();
    let mapped = sdpa_with(&inp, &TorchOptions::default()).unwrap();
    for i in 0..n {
        let raw_row = raw.slice(s![.., i, ..]);
        let mapped_row = mapped.slice(s![.., i, ..]);
        if i % 3 == 0 {
            let all_zero = raw_row.iter().all(|&x| x == 0.0);
            let all_nan = raw_row.iter().all(|x| x.is_nan());
            assert!(all_zero || all_nan, "row {i}: torch gave neither zeros nor NaN: {raw_row:?}");
            assert!(mapped_row.iter().all(|&x| x == 0.0), "row {i} not mapped to zero");
        } else {
            assert_eq!(raw_row, mapped_row, "row {i}: allowed rows must be torch's own output");
        }
    }
    for kernel in Kernel::ALL {
        let ours = attend(kernel, &inp).unwrap();
        assert!(max_abs(ours.view(), mapped.view()) <= tolerance_for(kernel, &inp), "{}", kernel.name());
    }
}

#[test]
fn additive_mask_is_bias_where_allowed_and_minus_infinity_elsewhere() {
    let case = random_case(42);
    let inp = case.inputs();
    let m = additive_mask(&inp);
    let l = case.mask.n();
    for i in 0..l {
        for j in 0..l {
            let want = match (case.mask.allowed(i, j), &case.bias) {
                (false, _) => f32::NEG_INFINITY,
                (true, Some(b)) => b[[i, j]],
                (true, None) => 0.0,
            };
            assert_eq!(m[[i, j]], want, "({i}, {j})");
        }
    }
}

#[test]
fn torch_agrees_with_itself_across_thread_counts() {
    let case = &golden_cases()[2];
    let inp = case.inputs();
    let before = torch::threads();
    let one = sdpa_with(&inp, &TorchOptions { threads: Some(1), ..TorchOptions::default() }).unwrap();
    assert_eq!(torch::threads(), 1);
    let two = sdpa_with(&inp, &TorchOptions { threads: Some(2), ..TorchOptions::default() }).unwrap();
    assert_eq!(torch::threads(), 2);
    torch::set_threads(before);
    assert!(max_abs(one.view(), two.view()) <= F32_ABS_TOL);
}

#[test]
fn torch_rejects_mismatched_shapes_with_the_named_input() {
    let [q, k, _] = seeded_qkv(1, 2, 8, 4, 1.0);
    let v = Array3::<f32>::zeros((2, 8, 5));
    let mask = Mask::full(8);
    let inp = AttnInputs { q: q.view(), k: k.view(), v: v.view(), mask: &mask, bias: None };
    match torch::sdpa(&inp) {
        Err(TorchError::Inputs(AttnError::Shape { input, .. })) => assert_eq!(input, "v"),
        other => panic!("expected a shape error naming v, got {other:?}"),
    }
}

#[test]
fn bf16_tolerance_is_the_documented_one() {
    let case = random_case(9);
    let inp = case.inputs();
    assert_eq!(tolerance_for(Kernel::Bf16, &inp), bf16_tolerance(&inp));
    for k in [Kernel::Math, Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse] {
        assert_eq!(tolerance_for(k, &inp), F32_ABS_TOL);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_kernel_matches_torch_on_random_inputs(seed in any::<u64>()) {
        let case = random_case(seed);
        let verdict = check_case(&case);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
    }
}
