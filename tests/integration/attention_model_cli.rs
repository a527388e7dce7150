//! `ironforge attend`: NumPy `.npz` in, `.npy` out, compared with the in-process `math` kernel.

use std::path::Path;
use std::process::Command;

use ironforge::attention::{attend, AttnInputs, Kernel, Mask};
use ndarray::{Array2, Array3, Array4, ArrayD, Axis};
use rand::{Rng, SeedableRng};

fn rand3(rng: &mut rand_chacha::ChaCha8Rng, h: usize, l: usize, d: usize) -> Array3<f32> {
    Array3::from_shape_simple_fn((h, l, d), || rng.random_range(-1.0f32..1.0))
}

fn run_attend(input: &Path, output: &Path, kernel: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ironforge"))
        .args(["attend", "--input"])
        .arg(input)
        .args(["--kernel", kernel, "--output"])
        .arg(output)
        .output()
        .expect("the ironforge binary runs")
}

#[test]
fn attend_matches_math_for_unbatched_and_batched_cases() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (h, l, d) = (3, 9, 5);
    let allowed: Vec<bool> = (0..l * l).map(|i| i % 3 != 1 || i % (l + 1) == 0).collect();
    let mask = Mask::from_dense(l, &allowed);
    let bias = Array2::from_shape_simple_fn((l, l), || rng.random_range(-0.5f32..0.5));
    for batched in [false, true] {
        let b = if batched { 2 } else { 1 };
        let q: Vec<_> = (0..b).map(|_| rand3(&mut rng, h, l, d)).collect();
        let k: Vec<_> = (0..b).map(|_| rand3(&mut rng, h, l, d)).collect();
        let v: Vec<_> = (0..b).map(|_| rand3(&mut rng, h, l, d)).collect();
        let stack = |xs: &[Array3<f32>]| -> ArrayD<f32> {
            let views: Vec<_> = xs.iter().map(|x| x.view().insert_axis(Axis(0))).collect();
            let s: Array4<f32> = ndarray::concatenate(Axis(0), &views).unwrap();
            if batched {
                s.into_dyn()
            } else {
                s.index_axis_move(Axis(0), 0).into_dyn()
            }
        };
        let input = dir.path().join(format!("case{b}.npz"));
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&input).unwrap());
        npz.add_array("q", &stack(&q)).unwrap();
        npz.add_array("k", &stack(&k)).unwrap();
        npz.add_array("v", &stack(&v)).unwrap();
        npz.add_array("mask", &Array2::from_shape_vec((l, l), allowed.clone()).unwrap()).unwrap();
        npz.add_array("bias", &bias).unwrap();
        npz.finish().unwrap();
        let output = dir.path().join(format!("out{b}.npy"));
        let run = run_attend(&input, &output, "math");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let got: ArrayD<f32> = ndarray_npy::read_npy(&output).unwrap();
        assert_eq!(got.shape(), stack(&q).shape());
        for i in 0..b {
            let inp = AttnInputs {
                q: q[i].view(),
                k: k[i].view(),
                v: v[i].view(),
                mask: &mask,
                bias: Some(bias.view().into()),
            };
            let want = attend(Kernel::Math, &inp).unwrap();
            let got_i = if batched { got.index_axis(Axis(0), i).to_owned() } else { got.clone() };
            assert_eq!(got_i, want.into_dyn());
        }
    }
}

#[test]
fn every_kernel_name_is_accepted_and_no_mask_means_all_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let q = rand3(&mut rng, 2, 6, 4);
    let input = dir.path().join("nomask.npz");
    let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&input).unwrap());
    for name in ["q", "k", "v"] {
        npz.add_array(name, &q).unwrap();
    }
    npz.finish().unwrap();
    let full = Mask::full(6);
    let want =
        attend(Kernel::Math, &AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &full, bias: None }).unwrap();
    for kernel in Kernel::ALL {
        let output = dir.path().join(format!("{}.npy", kernel.name()));
        let run = run_attend(&input, &output, kernel.name());
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let got: Array3<f32> = ndarray_npy::read_npy(&output).unwrap();
        let diff = (&got - &want).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
        assert!(diff <= 1e-2, "kernel {} differs by {diff}", kernel.name());
    }
}

#[test]
fn bad_cases_fail_with_a_message_naming_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let q = Array3::<f32>::ones((2, 4, 3));
    let write = |name: &str, f: &dyn Fn(&mut ndarray_npy::NpzWriter<std::fs::File>)| {
        let p = dir.path().join(name);
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&p).unwrap());
        f(&mut npz);
        npz.finish().unwrap();
        p
    };
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            write("missing_v.npz", &|n| {
                n.add_array("q", &q).unwrap();
                n.add_array("k", &q).unwrap();
            }),
            "array `v` is missing",
        ),
        (
            write("f64_q.npz", &|n| {
                n.add_array("q", &q.mapv(f64::from)).unwrap();
                n.add_array("k", &q).unwrap();
                n.add_array("v", &q).unwrap();
            }),
            "array `q` must be float32",
        ),
        (
            write("k_shape.npz", &|n| {
                n.add_array("q", &q).unwrap();
                n.add_array("k", &Array3::<f32>::ones((2, 4, 2))).unwrap();
                n.add_array("v", &q).unwrap();
            }),
            "array `k` has shape [2, 4, 2]",
        ),
        (
            write("rank2.npz", &|n| {
                n.add_array("q", &Array2::<f32>::ones((4, 3))).unwrap();
                n.add_array("k", &q).unwrap();
                n.add_array("v", &q).unwrap();
            }),
            "array `q` has shape [4, 3]",
        ),
        (
            write("mask_shape.npz", &|n| {
                for a in ["q", "k", "v"] {
                    n.add_array(a, &q).unwrap();
                }
                n.add_array("mask", &Array2::from_elem((3, 4), true)).unwrap();
            }),
            "array `mask` has shape [3, 4]",
        ),
        (
            write("mask_dtype.npz", &|n| {
                for a in ["q", "k", "v"] {
                    n.add_array(a, &q).unwrap();
                }
                n.add_array("mask", &Array2::<f32>::ones((4, 4))).unwrap();
            }),
            "array `mask` must be bool",
        ),
        (
            write("bias_shape.npz", &|n| {
                for a in ["q", "k", "v"] {
                    n.add_array(a, &q).unwrap();
                }
                n.add_array("bias", &Array2::<f32>::ones((4, 5))).unwrap();
            }),
            "array `bias` has shape [4, 5]",
        ),
    ];
    for (input, expected) in cases {
        let run = run_attend(&input, &dir.path().join("o.npy"), "math");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{} should fail", input.display());
        assert!(stderr.contains(expected), "{}: stderr {stderr:?} lacks {expected:?}", input.display());
    }
    let run = run_attend(&dir.path().join("absent.npz"), &dir.path().join("o.npy"), "math");
    assert!(!run.status.success() && String::from_utf8_lossy(&run.stderr).contains("absent.npz"));
    let run = run_attend(&dir.path().join("absent.npz"), &dir.path().join("o.npy"), "turbo");
    assert!(!run.status.success() && String::from_utf8_lossy(&run.stderr).contains("unknown kernel `turbo`"));
}

#[test]
fn numpy_writes_the_case_and_reads_the_output() {
    let has_numpy = Command::new("python3").args(["-c", "import numpy"]).status().is_ok_and(|s| s.success());
    if !has_numpy {
        eprintln!("skipped: python3 with numpy is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("np_case.npz");
    let out = dir.path().join("np_out.npy");
    let script = r#"
import sys, numpy as np
case, out, exe = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
H, L, D = 4, 12, 11
q, k, v = (rng.standard_normal((H, L, D)).astype(np.float32) for _ in range(3))
mask = np.eye(L, dtype=bool) | (rng.random((L, L)) < 0.3)
bias = rng.uniform(-0.2, 0.2, (L, L)).astype(np.float32)
np.savez(case, q=q, k=k, v=v, mask=mask, bias=bias)
import subprocess
subprocess.run([exe, "attend", "--input", case, "--kernel", "math", "--output", out], check=True)
got = np.load(out)
s = np.einsum("hid,hjd->hij", q.astype(np.float64), k.astype(np.float64)) / np.sqrt(D) + bias
s = np.where(mask, s, -np.inf)
p = np.exp(s - s.max(axis=-1, keepdims=True)); p /= p.sum(axis=-1, keepdims=True)
want = p @ v.astype(np.float64)
assert got.shape == q.shape and got.dtype == np.float32, (got.shape, got.dtype)
err = np.abs(got - want).max()
assert err < 1e-5, err
print("max abs error", err)
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&case)
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_ironforge"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}\n{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
}
