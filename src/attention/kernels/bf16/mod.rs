//! `bf16`: bf16 storage, f32 accumulation.
//!
//! Four paths, chosen at run time by [`Bf16Path::detect`]: AMX tiles (`amx.rs`, the
//! fastest where the CPU and OS offer them); else **f32 FMAs on bf16-rounded panels**
//! ([`Bf16Path::F32Fma`]); the AVX-512 BF16 and portable paths (`avx512.rs`,
//! `portable.rs`) are kept for CPUs and tests that ask for them.
//!
//! Why not `VDPBF16PS` by default: on the CPUs with AVX-512 BF16 and no AMX that this project
//! meets, its throughput per instruction is a fraction of `VFMADD231PS zmm`'s, so its 32 bf16
//! products per instruction come to less than the multiply-add rate of f32 FMAs and every
//! arrangement of it is slower than f32 `flash`. [`Bf16Path::F32Fma`] keeps the
//! bf16 numerics (every operand of a dense row rounded to bf16, round to nearest even, as the
//! other paths round them) and runs `flash`'s f32 routines on them: the panels are rounded in
//! place once built, O(L·D) per head.
//!
//! On the AVX-512 BF16 path, q, k and v are rounded to bf16 (round to nearest even, bit-equal
//! to the `half` crate) into panels laid out for `VDPBF16PS`, which adds two bf16 products per
//! f32 lane:
//!
//! * scores: the keys are stored pair-interleaved, `(k[j][2c], k[j][2c+1])` for sixteen
//!   columns `j` in one 64-byte load; the query pair `(q[2c], q[2c+1])` is broadcast; `⌈D/2⌉`
//!   instructions give sixteen scores (f32 FMAs need `D`).
//! * softmax in f32 exactly as `sdpa` (row buffer, maximum over allowed lanes, polynomial
//!   exp, per-lane sums; masked lanes are exactly 0).
//! * `P·V`: thirty-two probabilities are rounded to bf16 in one register (`VCVTNE2PS2BF16`)
//!   and dotted with thirty-two values of one head dimension (values stored transposed), one
//!   instruction per dimension per 32 columns; the sum of the *unrounded* probabilities
//!   divides at the end.
//!
//! The portable path (any CPU, and forced in tests) performs the same roundings and sums the
//! products in f32 in the same pairs; it is not bit-identical to the instruction (which flushes
//! subnormals and fuses differently) but obeys the same tolerance, [`super::parity::bf16_tolerance`].
//! Rows with few allowed entries take the f32 sparse path on every path.

use ndarray::Array3;

use super::bias_source::Resolved;
use super::driver::{run, RowAlgo};
use super::panels::Operands;
use super::simd::Isa;
use super::sparse::{HeadRows, SparseRows, SPARSE_ROW_MAX};
use super::{AttnError, AttnInputs};
use job::{Bf16Job, Bf16Panels};

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod job;
mod portable;
pub(super) mod round;

/// Which bf16 path to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bf16Path {
    /// AMX tiles (`TDPBF16PS`, 16 query rows per block) for the dense rows when D ≤ 64,
    /// [`Bf16Path::F32Fma`] beyond; needs AMX-BF16 and AVX-512 BF16 (see [`super::amx`]).
    Amx,
    /// `flash`'s f32 routines (best instruction set) on panels rounded to bf16: bf16 numerics
    /// at f32 speed where bf16 dot products are slower than f32 FMAs. Any CPU.
    F32Fma,
    /// `VDPBF16PS` / `VCVTNE2PS2BF16` (AVX-512 BF16), one row at a time.
    Avx512Bf16,
    /// Plain Rust with the same roundings.
    Portable,
}

impl Bf16Path {
    /// AMX when this CPU and OS offer it, else [`Bf16Path::F32Fma`] (see the module docs for
    /// why not AVX-512 BF16).
    ///
    /// ```
    /// use ironforge::attention::kernels::bf16::Bf16Path;
    /// assert!(Bf16Path::detect().is_available());
    /// ```
    pub fn detect() -> Self {
        if Self::Amx.is_available() {
            Self::Amx
        } else {
            Self::F32Fma
        }
    }

    /// Whether this CPU can run the path and [`MAX_ISA_VAR`](super::simd::MAX_ISA_VAR) allows
    /// it (the BF16 and AMX paths need AVX-512).
    pub fn is_available(self) -> bool {
        match self {
            Self::Portable | Self::F32Fma => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Bf16 => super::simd::Avx512::new().is_some() && is_x86_feature_detected!("avx512bf16"),
            #[cfg(target_arch = "x86_64")]
            Self::Amx => {
                Self::Avx512Bf16.is_available() && is_x86_feature_detected!("avx512bw") && super::amx::bf16_available()
            }
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx512Bf16 | Self::Amx => false,
        }
    }

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amx => "amx",
            Self::F32Fma => "f32fma",
            Self::Avx512Bf16 => "avx512bf16",
            Self::Portable => "portable",
        }
    }
}

/// Parameters of `bf16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bf16Params {
    /// Which path.
    pub path: Bf16Path,
    /// Split heads over the current rayon pool when the work pays for it
    /// ([`split_pays`](super::split_pays); bit-identical to one thread).
    pub parallel: bool,
    /// Rows with at most this many allowed entries take the f32 sparse path
    /// ([`super::sparse`]; exact f32 arithmetic, well inside the bf16 tolerance); `None` =
    /// never (default: [`SPARSE_ROW_MAX`]).
    pub sparse_max: Option<usize>,
    /// The instruction set of the f32 routines ([`Bf16Path::F32Fma`] and the sparse rows;
    /// default: the best this CPU has).
    pub isa: Isa,
}

impl Default for Bf16Params {
    fn default() -> Self {
        Self { path: Bf16Path::detect(), parallel: false, sparse_max: Some(SPARSE_ROW_MAX), isa: Isa::detect() }
    }
}

impl Bf16Params {
    /// The parameters `bf16` runs with on instruction set `isa`: the best path when `isa` is
    /// the best this CPU has, else [`Bf16Path::F32Fma`] on `isa` (AMX and AVX-512 BF16 come
    /// only with AVX-512, so a CPU limited to `isa` would take that path).
    ///
    /// ```
    /// use ironforge::attention::kernels::{bf16::{Bf16Params, Bf16Path}, simd::Isa};
    /// assert_eq!(Bf16Params::on_isa(Isa::Portable, false).path, Bf16Path::F32Fma);
    /// assert_eq!(Bf16Params::on_isa(Isa::detect(), false), Bf16Params::default());
    /// ```
    pub fn on_isa(isa: Isa, parallel: bool) -> Self {
        let path = if isa == Isa::detect() { Bf16Path::detect() } else { Bf16Path::F32Fma };
        Self { path, parallel, isa, ..Self::default() }
    }
}

/// `bf16` with the default parameters.
///
/// ```
/// use ironforge::attention::{kernels::bf16, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 4, 8));
/// let mask = Mask::full(4);
/// let out = bf16::forward(&AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None }).unwrap();
/// assert!((out[[0, 3, 7]] - 1.0).abs() < 1e-2);
/// ```
pub fn forward(inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    forward_with(inputs, &Bf16Params::default())
}

/// `bf16` with explicit parameters.
pub fn forward_with(inputs: &AttnInputs<'_>, params: &Bf16Params) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    if !params.path.is_available() {
        return Err(AttnError::IsaUnavailable { isa: params.path.name() });
    }
    let (h, l, d) = inputs.q.dim();
    // The tile path takes D ≤ 64 (four accumulator tiles); wider heads take f32 FMAs.
    #[cfg(target_arch = "x86_64")]
    let path = if params.path == Bf16Path::Amx && d > amx::MAX_D { Bf16Path::F32Fma } else { params.path };
    #[cfg(not(target_arch = "x86_64"))]
    let path = params.path;
    let sparse = params.sparse_max.map(|t| SparseRows::cached(inputs.mask, t));
    if path == Bf16Path::F32Fma {
        let algo = RowAlgo::Online { lanes: true };
        return run(inputs, params.isa, algo, params.parallel, sparse.as_deref(), Operands::Bf16Rounded);
    }
    // A matrix borrowed when already row-major (no copy of L × L), copied otherwise; a time
    // bias computed row by row.
    let resolved = Resolved::new(inputs.bias);
    let bias = resolved.rows();
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = Array3::<f32>::zeros((h, l, d));
    if l == 0 || d == 0 {
        return Ok(out);
    }
    let sparse = sparse.as_deref();
    let need_panels = sparse.is_none_or(|s| s.dense_rows() > 0);
    let (q_std, k_std, v_std) =
        (inputs.q.as_standard_layout(), inputs.k.as_standard_layout(), inputs.v.as_standard_layout());
    let (qs, ks, vs) = (
        q_std.as_slice().expect("standard layout is contiguous"),
        k_std.as_slice().expect("standard layout is contiguous"),
        v_std.as_slice().expect("standard layout is contiguous"),
    );
    #[cfg(target_arch = "x86_64")]
    let bias_bound = match bias {
        Some(b) if path == Bf16Path::Amx && need_panels => match b.dense_values() {
            Some(values) => amx::finite_bound(values),
            None => b.max_abs(),
        },
        _ => 0.0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let bias_bound = 0.0;
    let one_head = |head: usize, o: &mut [f32]| {
        let r = head * l * d..(head + 1) * l * d;
        let rows = HeadRows { q: &qs[r.clone()], k: &ks[r.clone()], v: &vs[r], bias, l, d, scale };
        let panels = need_panels.then(|| Bf16Panels::new(&rows, path == Bf16Path::Amx));
        let job = Bf16Job { panels, rows, sparse, mask: inputs.mask, bias, bias_bound, scale };
        match path {
            #[cfg(target_arch = "x86_64")]
            Bf16Path::Amx => {
                // SAFETY: `is_available` checked avx512f, avx512bw, avx512bf16 and AMX above.
                unsafe { amx::head(&job, o) }
            }
            #[cfg(target_arch = "x86_64")]
            Bf16Path::Avx512Bf16 => {
                // SAFETY: `is_available` checked avx512f and avx512bf16 above.
                unsafe { avx512::head(&job, o) }
            }
            _ => portable::head(&job, o),
        }
    };
    let slices = out.as_slice_mut().expect("fresh array is contiguous").chunks_mut(l * d);
    if params.parallel && super::driver::split_pays(inputs.mask, h, d) {
        use rayon::prelude::*;
        slices.collect::<Vec<_>>().into_par_iter().enumerate().for_each(|(hd, o)| one_head(hd, o));
    } else {
        slices.enumerate().for_each(|(hd, o)| one_head(hd, o));
    }
    Ok(out)
}
