//! PyTorch as the oracle for our kernels: `torch.nn.functional.scaled_dot_product_attention`
//! through `tch` (libtorch 2.13), on the very inputs our kernels take.
//!
//! Only built with the `torch` cargo feature (it needs libtorch; see `docs/torch.md` and
//! `cargo xtask setup-torch`).
//!
//! The translation of [`AttnInputs`]:
//! * q, k, v `[H, L, D]` f32 become `[1, H, L, D]` tensors (batch 1);
//! * the [`Mask`](super::Mask) and the optional bias become one additive float mask `[L, L]`
//!   ([`additive_mask`]): the bias (or 0) where allowed, `−∞` where blocked, broadcast over heads;
//! * the scale is `1/√D`, passed explicitly;
//! * a row with nothing allowed: our kernels define a zero row. PyTorch's result for such a row
//!   depends on the backend (the CPU fused kernel of 2.13 gives zeros, the math backend of
//!   older versions gives NaN), so [`sdpa_with`] overwrites every fully blocked row with zeros
//!   after the call; [`sdpa_raw`] returns torch's output untouched.
//!
//! The scenario functions for the gate harness are [`golden_cases`], [`random_case`] and
//! [`parity_vs_torch`] (one kernel against torch on one input, with its tolerance).

use ndarray::{s, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
pub use tch::Device;
use tch::{Kind, Tensor};

use super::bias::TimeBias;
use super::kernels::parity::{bf16_tolerance, max_abs, F32_ABS_TOL};
use super::kernels::{attend, AttnError, AttnInputs, Kernel};
use super::Mask;

/// How to run torch's SDPA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TorchOptions {
    /// Intra-op threads (`tch::set_num_threads`, process-wide); `None` leaves torch's setting.
    pub threads: Option<usize>,
    /// Where to run (default CPU).
    pub device: Device,
}

impl Default for TorchOptions {
    fn default() -> Self {
        Self { threads: None, device: Device::Cpu }
    }
}

/// Why a torch run failed.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The inputs disagree in shape (the same check as our kernels).
    #[error(transparent)]
    Inputs(#[from] AttnError),
    /// libtorch reported an error during one step.
    #[error("torch failed while {step}: {message}")]
    Torch {
        /// What was being done (e.g. "running scaled_dot_product_attention").
        step: &'static str,
        /// libtorch's message.
        message: String,
    },
}

fn torch_step<T>(step: &'static str, r: Result<T, tch::TchError>) -> Result<T, TorchError> {
    r.map_err(|e| TorchError::Torch { step, message: e.to_string() })
}

/// Sets torch's intra-op thread count (process-wide), as the benchmarks' "threads" column.
pub fn set_threads(n: usize) {
    tch::set_num_threads(i32::try_from(n.max(1)).unwrap_or(i32::MAX));
}

/// Torch's current intra-op thread count.
pub fn threads() -> usize {
    usize::try_from(tch::get_num_threads()).unwrap_or(1)
}

/// The additive float mask torch takes: `bias[i, j]` (or 0 without a bias) where the mask
/// allows `(i, j)`, `−∞` where it blocks it.
///
/// ```
/// use ironforge::attention::{torch::additive_mask, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::zeros((1, 2, 1));
/// let mask = Mask::from_edges(2, &[(0, 1)]);
/// let bias = ndarray::arr2(&[[0.5f32, 0.25], [1.0, 2.0]]);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: Some(bias.view().into()) };
/// let m = additive_mask(&inp);
/// assert_eq!(m[[0, 1]], 0.25);
/// assert_eq!(m[[1, 0]], f32::NEG_INFINITY);
/// assert_eq!(m[[1, 1]], 2.0);
/// ```
pub fn additive_mask(inputs: &AttnInputs<'_>) -> Array2<f32> {
    let l = inputs.mask.n();
    Array2::from_shape_fn((l, l), |(i, j)| {
        if inputs.mask.allowed(i, j) {
            inputs.bias.map_or(0.0, |b| b.at(i, j))
        } else {
            f32::NEG_INFINITY
        }
    })
}

/// Rows of the mask with no allowed column.
pub fn blocked_rows(mask: &Mask) -> Vec<usize> {
    (0..mask.n()).filter(|&i| mask.row_words(i).iter().all(|&w| w == 0)).collect()
}

fn to_tensor(a: &Array3<f32>, device: Device) -> Result<Tensor, TorchError> {
    let (h, l, d) = a.dim();
    let data = a.as_standard_layout();
    let flat = data.as_slice().expect("standard layout is contiguous");
    let t = torch_step("copying an input to a tensor", Tensor::f_from_slice(flat))?;
    let t = torch_step("reshaping an input", t.f_reshape([1, h as i64, l as i64, d as i64]))?;
    torch_step("moving an input to the device", t.f_to_device(device))
}

/// The inputs already copied into torch tensors (q, k, v `[1, H, L, D]`, the additive mask
/// `[L, L]`), so that a benchmark can time torch's kernel alone ([`TorchPrepared::run`]).
#[derive(Debug)]
pub struct TorchPrepared {
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor,
    shape: (usize, usize, usize),
    scale: f64,
}

impl TorchPrepared {
    /// Validates `inputs` and copies them to `device`.
    pub fn new(inputs: &AttnInputs<'_>, device: Device) -> Result<Self, TorchError> {
        inputs.validate()?;
        let (h, l, d) = inputs.q.dim();
        let q = to_tensor(&inputs.q.to_owned(), device)?;
        let k = to_tensor(&inputs.k.to_owned(), device)?;
        let v = to_tensor(&inputs.v.to_owned(), device)?;
        let mask = additive_mask(inputs);
        let mask_flat = mask.as_slice().expect("fresh array is contiguous");
        let m = torch_step("copying the mask to a tensor", Tensor::f_from_slice(mask_flat))?;
        let m = torch_step("reshaping the mask", m.f_reshape([l as i64, l as i64]))?;
        let mask = torch_step("moving the mask to the device", m.f_to_device(device))?;
        Ok(Self { q, k, v, mask, shape: (h, l, d), scale: 1.0 / (d.max(1) as f64).sqrt() })
    }

    /// Runs torch's SDPA once and returns its `[1, H, L, D]` tensor on the inputs' device.
    pub fn run(&self) -> Result<Tensor, TorchError> {
        torch_step(
            "running scaled_dot_product_attention",
            Tensor::f_scaled_dot_product_attention(
                &self.q,
                &self.k,
                &self.v,
                Some(&self.mask),
                0.0,
                false,
                self.scale,
                false,
            ),
        )
    }

    /// Runs torch's SDPA and copies the output back as `[H, L, D]` f32 (untouched, as
    /// [`sdpa_raw`]).
    pub fn run_to_array(&self) -> Result<Array3<f32>, TorchError> {
        let (h, l, d) = self.shape;
        let out = self.run()?;
        let out = torch_step("moving the output to the CPU", out.f_to_device(Device::Cpu))?;
        let out = torch_step("converting the output to f32", out.f_to_kind(Kind::Float))?;
        let out = torch_step("making the output contiguous", out.f_contiguous())?;
        let flat = torch_step("flattening the output", out.f_reshape([-1]))?;
        let data = torch_step("reading the output", Vec::<f32>::try_from(&flat))?;
        Ok(Array3::from_shape_vec((h, l, d), data).expect("torch returned [1, H, L, D]"))
    }
}

/// Torch's SDPA on `inputs`, its output returned untouched (a fully blocked row is whatever
/// the backend gives: zeros or NaN).
pub fn sdpa_raw(inputs: &AttnInputs<'_>, opts: &TorchOptions) -> Result<Array3<f32>, TorchError> {
    inputs.validate()?;
    let (h, l, d) = inputs.q.dim();
    if h == 0 || l == 0 || d == 0 {
        return Ok(Array3::zeros((h, l, d)));
    }
    if let Some(n) = opts.threads {
        set_threads(n);
    }
    TorchPrepared::new(inputs, opts.device)?.run_to_array()
}

/// Torch's SDPA on `inputs` with our definition for fully blocked rows (zero rows).
pub fn sdpa_with(inputs: &AttnInputs<'_>, opts: &TorchOptions) -> Result<Array3<f32>, TorchError> {
    let mut out = sdpa_raw(inputs, opts)?;
    for i in blocked_rows(inputs.mask) {
        out.slice_mut(s![.., i, ..]).fill(0.0);
    }
    Ok(out)
}

/// Torch's SDPA on the CPU with torch's current thread setting; fully blocked rows are zero.
///
/// ```
/// use ironforge::attention::{attend, torch, AttnInputs, Kernel, Mask};
/// let q = ndarray::Array3::from_shape_fn((2, 5, 3), |(h, i, c)| ((h + 2 * i + 3 * c) % 7) as f32 * 0.2);
/// let mask = Mask::from_edges(5, &[(0, 3), (4, 1)]);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
/// let ours = attend(Kernel::Math, &inp).unwrap();
/// let theirs = torch::sdpa(&inp).unwrap();
/// assert!(ironforge::attention::kernels::parity::max_abs(ours.view(), theirs.view()) < 1e-5);
/// ```
pub fn sdpa(inputs: &AttnInputs<'_>) -> Result<Array3<f32>, TorchError> {
    sdpa_with(inputs, &TorchOptions::default())
}

/// The gate's tolerance for `kernel` against torch on these inputs: [`F32_ABS_TOL`] for the
/// f32 kernels (and `math`), [`bf16_tolerance`] for `bf16`.
pub fn tolerance_for(kernel: Kernel, inputs: &AttnInputs<'_>) -> f64 {
    match kernel {
        Kernel::Bf16 => bf16_tolerance(inputs),
        Kernel::Math | Kernel::Sdpa | Kernel::Flash | Kernel::BlockSparse => F32_ABS_TOL,
    }
}

/// One kernel against torch on one input.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TorchParity {
    /// The kernel compared.
    pub kernel: Kernel,
    /// max |kernel − torch| (∞ on NaN).
    pub max_abs: f64,
    /// The allowed maximum ([`tolerance_for`]).
    pub tolerance: f64,
    /// `max_abs ≤ tolerance`.
    pub passed: bool,
}

/// Runs `kernel` and torch (CPU, [`sdpa`]) on `inputs` and compares them.
pub fn parity_vs_torch(kernel: Kernel, inputs: &AttnInputs<'_>) -> Result<TorchParity, TorchError> {
    let theirs = sdpa(inputs)?;
    let ours = attend(kernel, inputs)?;
    Ok(parity_of(kernel, inputs, &ours, &theirs))
}

/// Compares an already computed kernel output with torch's output on the same inputs.
pub fn parity_of(kernel: Kernel, inputs: &AttnInputs<'_>, ours: &Array3<f32>, theirs: &Array3<f32>) -> TorchParity {
    let err = max_abs(ours.view(), theirs.view());
    let tolerance = tolerance_for(kernel, inputs);
    TorchParity { kernel, max_abs: err, tolerance, passed: err <= tolerance }
}

/// Owned attention inputs with a label: one parity scenario.
#[derive(Debug, Clone)]
pub struct TorchCase {
    /// What the case is (session id and mask kind, or the random shape).
    pub label: String,
    /// Queries `[H, L, D]`.
    pub q: Array3<f32>,
    /// Keys `[H, L, D]`.
    pub k: Array3<f32>,
    /// Values `[H, L, D]`.
    pub v: Array3<f32>,
    /// The mask.
    pub mask: Mask,
    /// The additive bias `[L, L]`.
    pub bias: Option<Array2<f32>>,
}

impl TorchCase {
    /// The case as kernel inputs.
    pub fn inputs(&self) -> AttnInputs<'_> {
        AttnInputs {
            q: self.q.view(),
            k: self.k.view(),
            v: self.v.view(),
            mask: &self.mask,
            bias: self.bias.as_ref().map(|b| b.view().into()),
        }
    }
}

/// Seeded q, k, v `[h, l, d]` uniform in `(−amp, amp)`.
pub fn seeded_qkv(seed: u64, h: usize, l: usize, d: usize, amp: f32) -> [Array3<f32>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    std::array::from_fn(|_| Array3::from_shape_simple_fn((h, l, d), || rng.random_range(-amp..amp)))
}

/// The golden scenarios: for each of the 20 golden sessions, seeded q, k, v (H = 4, D = 11, as
/// the model's layers) with the bucket time bias and three masks: the session's own edges,
/// the causal DAG built by the reference builder, and (for the original parity matrix, the
/// first five sessions) the dense mask.
pub fn golden_cases() -> Vec<TorchCase> {
    let mut cases = Vec::new();
    for (idx, spec) in crate::synth::golden_specs().iter().enumerate() {
        let s = crate::synth::generate(spec);
        let n = s.len();
        let times = s.times_ms();
        let bias = TimeBias::Bucket.matrix(&times);
        let [q, k, v] = seeded_qkv(0x7013_C400 + idx as u64, 4, n, 11, 1.5);
        let dag = crate::dag::causal_pairs_reference(&times, &Default::default());
        let mut masks = vec![
            ("session edges", Mask::from_edges(n, &s.local_edges())),
            ("causal dag", Mask::from_edges_causal(n, &dag)),
        ];
        if idx < 5 {
            masks.push(("dense", Mask::full(n)));
        }
        for (kind, mask) in masks {
            cases.push(TorchCase {
                label: format!("{} ({kind})", spec.session_id),
                q: q.clone(),
                k: k.clone(),
                v: v.clone(),
                mask,
                bias: bias.clone(),
            });
        }
    }
    cases
}

/// A seeded random scenario: H in 1..=4, L in 1..=96, D in 1..=64, a mask of random density
/// (some rows may be fully blocked), and a bias in (−3, 3) half of the time.
pub fn random_case(seed: u64) -> TorchCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (h, l, d) = (rng.random_range(1..=4), rng.random_range(1..=96), rng.random_range(1..=64));
    let density: f64 = rng.random_range(0.0..=1.0);
    let mut mask = Mask::empty(l);
    for i in 0..l {
        for j in 0..l {
            if rng.random_bool(density) {
                mask.allow(i, j);
            }
        }
    }
    let bias = rng.random_bool(0.5).then(|| Array2::from_shape_simple_fn((l, l), || rng.random_range(-3.0f32..3.0)));
    let [q, k, v] = seeded_qkv(seed ^ 0x5EED_70C4, h, l, d, 2.0);
    TorchCase { label: format!("random seed {seed}: h {h} l {l} d {d} density {density:.2}"), q, k, v, mask, bias }
}
