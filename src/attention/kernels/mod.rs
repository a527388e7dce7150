//! Attention kernels behind one seam: [`attend`] with a [`Kernel`] name.
//!
//! Every kernel computes, per head h and row i,
//! `out[h, i] = Σ_j p_j v[h, j]` with `p = softmax_j(q[h,i]·k[h,j] / √D + bias[i, j])` over the
//! columns `j` the [`Mask`] allows in row `i`. A row with nothing allowed gives a zero row.
//!
//! Kernels: [`math`] (the f64 reference), [`sdpa`] (fused f32, two passes), [`flash`] (online
//! softmax, no L × L and no row buffer) — both with sixteen query rows per block, one per lane,
//! when D ≤ 16, four rows per block otherwise — [`block_sparse`] (skips wholly blocked
//! 16-column tiles), [`bf16`] (bf16 operands; AMX tile products, else f32 FMAs on
//! bf16-rounded panels). The f32 fast kernels share [`simd`] (16-lane vectors on AVX-512 /
//! AVX2 / portable, a polynomial exp) and run one thread unless asked ([`attend_parallel`]).
//! [`parity`] holds the comparison rules and [`bench`](mod@bench) the interleaved timer.
//!
//! The bias is a [`BiasSource`]: a dense L × L matrix, or a time bias the kernels compute row
//! by row from the event times at the entries the mask allows ([`bias_source`]) — the same
//! bits as the matrix, in O(L) memory instead of O(L²).

use ndarray::{Array3, ArrayView3};

use super::Mask;

#[cfg(target_arch = "x86_64")]
pub mod amx;
pub mod bench;
pub mod bf16;
pub mod bias_source;
pub mod block_sparse;
pub mod coverage;
mod driver;
pub mod flash;
mod lane_rows;
pub mod math;
mod panels;
pub mod parity;
mod rows;
pub mod sdpa;
pub mod simd;
pub mod sparse;
mod tile_map;

pub use bias_source::{BiasSource, RowBias};
pub use driver::{set_parallel_min_work, split_pays, OUTSIDE_POOL_FACTOR, PARALLEL_MIN_WORK};
use simd::Isa;

/// The inputs every kernel takes.
#[derive(Debug, Clone, Copy)]
pub struct AttnInputs<'a> {
    /// Queries, heads × L × D.
    pub q: ArrayView3<'a, f32>,
    /// Keys, heads × L × D.
    pub k: ArrayView3<'a, f32>,
    /// Values, heads × L × D.
    pub v: ArrayView3<'a, f32>,
    /// Which entries may attend.
    pub mask: &'a Mask,
    /// Additive bias L × L (the time bias), the same for every head: a dense matrix
    /// (`Some(view.into())`) or a time bias computed row by row ([`BiasSource::times`]).
    pub bias: Option<BiasSource<'a>>,
}

/// A shape disagreement between the inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttnError {
    /// Two inputs disagree in shape.
    #[error("attention input `{input}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// Which input.
        input: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// What the shape of `q` implies.
        expected: Vec<usize>,
    },
    /// A kernel was asked to run on an instruction set this CPU lacks.
    #[error("instruction set `{isa}` is not available on this CPU")]
    IsaUnavailable {
        /// The instruction set's name.
        isa: &'static str,
    },
}

/// Parameters of the f32 fast kernels `sdpa` and `flash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastParams {
    /// Instruction set (default: the best this CPU has).
    pub isa: Isa,
    /// Split heads over the current rayon pool when the work pays for it ([`split_pays`];
    /// bit-identical to one thread).
    pub parallel: bool,
    /// Rows with at most this many allowed entries take the sparse path ([`sparse`]);
    /// `None` = never (default: [`sparse::SPARSE_ROW_MAX`]).
    pub sparse_max: Option<usize>,
    /// Dense rows with D ≤ 16 go sixteen to a block, one row per lane (`lane_rows.rs`, the
    /// default); `false` runs them four rows at a time (`rows.rs`, the routines `block_sparse`
    /// shares, which it then matches bit for bit).
    pub row_lanes: bool,
}

impl Default for FastParams {
    fn default() -> Self {
        Self { isa: Isa::detect(), parallel: false, sparse_max: Some(sparse::SPARSE_ROW_MAX), row_lanes: true }
    }
}

impl AttnInputs<'_> {
    /// Checks that k, v, mask and bias agree with the shape of q.
    pub fn validate(&self) -> Result<(), AttnError> {
        let qs = self.q.shape().to_vec();
        for (name, a) in [("k", &self.k), ("v", &self.v)] {
            if a.shape() != qs.as_slice() {
                return Err(AttnError::Shape { input: name, got: a.shape().to_vec(), expected: qs.clone() });
            }
        }
        let l = qs[1];
        if self.mask.n() != l {
            return Err(AttnError::Shape { input: "mask", got: vec![self.mask.n(); 2], expected: vec![l, l] });
        }
        if let Some(b) = self.bias {
            if b.shape() != [l, l] {
                return Err(AttnError::Shape { input: "bias", got: b.shape().to_vec(), expected: vec![l, l] });
            }
        }
        Ok(())
    }
}

/// The kernels, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// The reference: obvious code, f64 accumulation.
    Math,
    /// Fused f32: matrix-product scores, numerically stable two-pass softmax per row.
    Sdpa,
    /// Tiled online softmax; never materialises L × L.
    Flash,
    /// Exact; skips 16-column tiles the mask wholly blocks.
    BlockSparse,
    /// bf16 operands, f32 accumulation: AMX tiles where available, else f32 FMAs on bf16-rounded
    /// panels ([`bf16::Bf16Path`]).
    Bf16,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 5] = [Kernel::Math, Kernel::Sdpa, Kernel::Flash, Kernel::BlockSparse, Kernel::Bf16];

    /// The kernel's name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Math => "math",
            Kernel::Sdpa => "sdpa",
            Kernel::Flash => "flash",
            Kernel::BlockSparse => "block_sparse",
            Kernel::Bf16 => "bf16",
        }
    }
}

impl std::str::FromStr for Kernel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kernel::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Kernel::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kernel `{s}` (expected one of: {})", names.join(", "))
        })
    }
}

/// Runs one kernel.
///
/// ```
/// use ironforge::attention::{attend, AttnInputs, Kernel, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 2, 3));
/// let mask = Mask::full(2);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
/// let out = attend(Kernel::Math, &inp).unwrap();
/// assert_eq!(out.shape(), &[1, 2, 3]);
/// ```
pub fn attend(kernel: Kernel, inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    attend_on(kernel, inputs, false)
}

/// Runs one kernel with its heads split over the current rayon pool when the call's work pays
/// for it ([`split_pays`]; else on the calling thread; `math` stays serial). The
/// result is bit-identical to [`attend`]: each head is computed by one thread with the same
/// arithmetic.
///
/// ```
/// use ironforge::attention::{kernels::{attend, attend_parallel}, AttnInputs, Kernel, Mask};
/// let q = ndarray::Array3::from_shape_fn((4, 20, 11), |(h, i, c)| ((h * 7 + i * 3 + c) % 5) as f32 * 0.1);
/// let mask = Mask::full(20);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
/// assert_eq!(attend(Kernel::Flash, &inp).unwrap(), attend_parallel(Kernel::Flash, &inp).unwrap());
/// ```
pub fn attend_parallel(kernel: Kernel, inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    attend_on(kernel, inputs, true)
}

/// Runs one kernel on instruction set `isa` (an error if this CPU lacks it), one thread: what
/// `cargo xtask tune --isa` times to measure another instruction set's dispatch table on a
/// CPU that has it too. `math` is f64 scalar code on every instruction set; `bf16` runs its
/// best path when `isa` is the best this CPU has, else `flash`'s f32 routines on `isa` with
/// bf16-rounded panels ([`bf16::Bf16Path::F32Fma`]).
///
/// ```
/// use ironforge::attention::{kernels::{attend, attend_on_isa, simd::Isa}, AttnInputs, Kernel, Mask};
/// let q = ndarray::Array3::from_shape_fn((4, 20, 11), |(h, i, c)| ((h * 7 + i * 3 + c) % 5) as f32 * 0.1);
/// let mask = Mask::full(20);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
/// assert_eq!(attend_on_isa(Kernel::Flash, &inp, Isa::Portable).unwrap(), attend(Kernel::Flash, &inp).unwrap());
/// ```
pub fn attend_on_isa(kernel: Kernel, inputs: &AttnInputs<'_>, isa: Isa) -> Result<Array3<f32>, AttnError> {
    if !isa.is_available() {
        return Err(AttnError::IsaUnavailable { isa: isa.name() });
    }
    run_kernel(kernel, inputs, false, isa)
}

fn attend_on(kernel: Kernel, inputs: &AttnInputs<'_>, parallel: bool) -> Result<Array3<f32>, AttnError> {
    run_kernel(kernel, inputs, parallel, Isa::detect())
}

fn run_kernel(kernel: Kernel, inputs: &AttnInputs<'_>, parallel: bool, isa: Isa) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    let fast = FastParams { parallel, isa, ..FastParams::default() };
    match kernel {
        Kernel::Math => Ok(math::forward(inputs)),
        Kernel::Sdpa => sdpa::forward_with(inputs, &fast),
        Kernel::Flash => flash::forward_with(inputs, &fast),
        Kernel::BlockSparse => block_sparse::forward_with(
            inputs,
            &block_sparse::BlockSparseParams { parallel, isa, ..block_sparse::BlockSparseParams::default() },
        ),
        Kernel::Bf16 => bf16::forward_with(inputs, &bf16::Bf16Params::on_isa(isa, parallel)),
    }
}
