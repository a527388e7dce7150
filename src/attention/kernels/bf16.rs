//! `bf16`: bf16 storage, f32 accumulation.
//!
//! Four paths, chosen at run time by [`Bf16Path::detect`]: AMX tiles (`bf16_amx.rs`, the
//! fastest where the CPU and OS offer them); else **f32 FMAs on bf16-rounded panels**
//! ([`Bf16Path::F32Fma`]); the AVX-512 BF16 and portable paths below are kept for CPUs and
//! tests that ask for them.
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

use half::bf16;
use ndarray::Array3;

use super::bias_source::{Resolved, RowBias};
use super::coverage::{self, RowPath};
use super::driver::{run, RowAlgo};
use super::panels::{tile_bits, Operands};
use super::simd::{exp_portable, Isa, Portable, LANES};
use super::sparse::{sparse_row, HeadRows, SparseRows, SPARSE_ROW_MAX};
use super::{AttnError, AttnInputs};
use crate::attention::Mask;

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

/// One head in bf16 panels. `lp` is L rounded up to 32; `dp` is D rounded up to 2.
pub(super) struct Bf16Panels {
    l: usize,
    pub(super) lp: usize,
    /// Query pairs per row: `l × dp/2` words, low half = even dimension.
    pub(super) q_pairs: Vec<u32>,
    /// Keys, pair-interleaved: `(dp/2) × lp × 2` bf16 bits.
    pub(super) k_pairs: Vec<u16>,
    /// Values transposed: `d × lp` bf16 bits (not for [`Bf16Path::Amx`]).
    vt: Vec<u16>,
    /// D rounded up to 16.
    pub(super) dv: usize,
    /// Values in key pairs, for [`Bf16Path::Amx`] only: `(lp/2) × dv × 2` bf16 bits, element
    /// `((j/2) · dv + c) · 2 + j % 2` = `v[j][c]` (0 in the padding).
    pub(super) v_pairs: Vec<u16>,
}

impl Bf16Panels {
    /// The panels of one head (`rows` holds it row-major); values in pairs for the tile path,
    /// transposed otherwise.
    fn new(rows: &HeadRows<'_>, value_pairs: bool) -> Self {
        let (l, d) = (rows.l, rows.d);
        let dp = d.div_ceil(2) * 2;
        let np = dp / 2;
        let lp = l.div_ceil(32) * 32;
        let dv = d.div_ceil(16) * 16;
        let mut q_pairs = vec![0u32; l * np];
        let mut k_pairs = vec![0u16; np * lp * 2];
        let mut vt = vec![0u16; if value_pairs { 0 } else { d * lp }];
        let mut v_pairs = vec![0u16; if value_pairs { lp * dv } else { 0 }];
        // One row rounded, padded to dp with 0.
        let mut row = vec![0u16; dp];
        let round_row = |row: &mut [u16], a: &[f32], i: usize| {
            for (r, &x) in row.iter_mut().zip(&a[i * d..(i + 1) * d]) {
                *r = bf16_bits(x);
            }
        };
        for i in 0..l {
            round_row(&mut row, rows.q, i);
            for (qp, pair) in q_pairs[i * np..(i + 1) * np].iter_mut().zip(row.chunks_exact(2)) {
                *qp = pair[0] as u32 | (pair[1] as u32) << 16;
            }
            round_row(&mut row, rows.k, i);
            for (c2, pair) in row.chunks_exact(2).enumerate() {
                k_pairs[(c2 * lp + i) * 2..(c2 * lp + i) * 2 + 2].copy_from_slice(pair);
            }
            round_row(&mut row, rows.v, i);
            if value_pairs {
                let base = (i / 2) * dv * 2 + i % 2;
                for (c, &x) in row[..d].iter().enumerate() {
                    v_pairs[base + 2 * c] = x;
                }
            } else {
                for (c, &x) in row[..d].iter().enumerate() {
                    vt[c * lp + i] = x;
                }
            }
        }
        Self { l, lp, q_pairs, k_pairs, vt, dv, v_pairs }
    }

    pub(super) fn pairs(&self) -> usize {
        self.q_pairs.len() / self.l.max(1)
    }
}

pub(super) struct Bf16Job<'a> {
    /// bf16 panels; `None` when every row is sparse.
    panels: Option<Bf16Panels>,
    pub(super) rows: HeadRows<'a>,
    sparse: Option<&'a SparseRows>,
    pub(super) mask: &'a Mask,
    pub(super) bias: Option<RowBias<'a>>,
    /// max |bias| (∞ if some entry is not finite), for the tile path's finiteness proof; 0
    /// without a bias or on other paths.
    pub(super) bias_bound: f32,
    pub(super) scale: f32,
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
    let path = if params.path == Bf16Path::Amx && d > super::bf16_amx::MAX_D { Bf16Path::F32Fma } else { params.path };
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
            Some(values) => super::bf16_amx::finite_bound(values),
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
                unsafe { amx_head(&job, o) }
            }
            #[cfg(target_arch = "x86_64")]
            Bf16Path::Avx512Bf16 => {
                // SAFETY: `is_available` checked avx512f and avx512bf16 above.
                unsafe { avx512::head(&job, o) }
            }
            _ => head_portable(&job, o),
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

/// One head on [`Bf16Path::Amx`]: sparse rows on the f32 sparse path, dense rows in blocks of
/// sixteen on tiles ([`super::bf16_amx`]).
///
/// # Safety
/// [`Bf16Path::Amx`] must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn amx_head(job: &Bf16Job<'_>, out: &mut [f32]) {
    let lanes = super::simd::Avx512::new().expect("caller checked avx512f");
    let (l, d) = (job.rows.l, job.rows.d);
    let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
    let mut dense = Vec::with_capacity(l);
    for i in 0..l {
        match job.sparse.and_then(|s| s.row(i)) {
            Some(cols) => sparse_row(lanes, &job.rows, i, cols, &mut scratch, &mut out[i * d..(i + 1) * d]),
            None => dense.push(i),
        }
    }
    coverage::add(RowPath::SparseRows, Isa::Avx512, l - dense.len());
    coverage::add(RowPath::AmxTiles, Isa::Avx512, dense.len());
    if let Some(p) = job.panels.as_ref().filter(|_| !dense.is_empty()) {
        // SAFETY: caller's contract.
        unsafe { super::bf16_amx::dense_rows(job, p, &dense, out) }
    }
}

/// `x` rounded to bf16 (nearest, ties to even; a NaN stays a quiet NaN): the bits of
/// `half::bf16::from_f32(x)` without its branches on the rounding bits.
#[inline]
fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        (b >> 16) as u16 | 0x40
    } else {
        ((b + 0x7fff + (b >> 16 & 1)) >> 16) as u16
    }
}

fn to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Rounds every element to the nearest bf16 (ties to even; a NaN stays a quiet NaN), kept as
/// f32: the bits of [`bf16_bits`] widened, without a branch, so the loop vectorizes (sixteen
/// lanes where the CPU has AVX-512 F).
pub(super) fn round_to_bf16(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::Avx512::new().is_some() {
        // SAFETY: the token proves AVX-512 F.
        return unsafe { round_to_bf16_avx512(xs) };
    }
    round_each(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn round_to_bf16_avx512(xs: &mut [f32]) {
    round_each(xs)
}

#[inline(always)]
fn round_each(xs: &mut [f32]) {
    for x in xs {
        let b = x.to_bits();
        let nearest = b.wrapping_add(0x7fff + (b >> 16 & 1));
        let quiet_nan = b | 0x0040_0000;
        let r = if b & 0x7fff_ffff > 0x7f80_0000 { quiet_nan } else { nearest };
        *x = f32::from_bits(r & 0xffff_0000);
    }
}

/// Counts a head's rows for [`coverage`]: its sparse rows on the f32 sparse path with
/// `isa`'s lanes, the others on `dense`.
fn count_rows(job: &Bf16Job<'_>, dense: RowPath, isa: Isa) {
    let l = job.rows.l;
    let sparse = job.sparse.map_or(0, |s| (0..l).filter(|&i| s.row(i).is_some()).count());
    coverage::add(RowPath::SparseRows, isa, sparse);
    coverage::add(dense, isa, l - sparse);
}

// `j` indexes the mask bits, the key pairs, the bias row, the values and the buffer at once.
#[allow(clippy::needless_range_loop)]
fn head_portable(job: &Bf16Job<'_>, out: &mut [f32]) {
    count_rows(job, RowPath::Bf16Portable, Isa::Portable);
    let (l, d) = (job.rows.l, job.rows.d);
    let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
    let mut buf = vec![0.0f32; job.panels.as_ref().map_or(0, |p| p.lp)];
    let mut acc = vec![0.0f32; d];
    let mut bias_sc = Vec::new();
    for i in 0..l {
        let o = &mut out[i * d..(i + 1) * d];
        if let Some(cols) = job.sparse.and_then(|s| s.row(i)) {
            sparse_row(Portable, &job.rows, i, cols, &mut scratch, o);
            continue;
        }
        let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
        let (lp, np) = (p.lp, p.pairs());
        let words = job.mask.row_words(i);
        let bias_row = job.bias.as_ref().map(|b| b.row(i, job.mask, &mut bias_sc));
        let mut m = f32::NEG_INFINITY;
        // `score · 0` summed: NaN once an allowed score is NaN or infinite (which `f32::max`
        // and the clamped exponential would hide); such a row is written as NaN, as `math`
        // gives, so the circuit breaker sees it.
        let mut poison = 0.0f32;
        for j in 0..l {
            if tile_bits(words, j / LANES) >> (j % LANES) & 1 == 0 {
                continue;
            }
            let mut s = 0.0f32;
            for c2 in 0..np {
                let qp = p.q_pairs[i * np + c2];
                let k0 = to_f32(p.k_pairs[(c2 * lp + j) * 2]);
                let k1 = to_f32(p.k_pairs[(c2 * lp + j) * 2 + 1]);
                s += to_f32(qp as u16) * k0 + to_f32((qp >> 16) as u16) * k1;
            }
            s *= job.scale;
            if let Some(b) = bias_row {
                s += b[j];
            }
            buf[j] = s;
            m = m.max(s);
            poison += s * 0.0;
        }
        if poison != 0.0 {
            o.fill(f32::NAN);
            continue;
        }
        if m == f32::NEG_INFINITY {
            o.fill(0.0);
            continue;
        }
        let mut sum = 0.0f32;
        acc.fill(0.0);
        for j in 0..l {
            if tile_bits(words, j / LANES) >> (j % LANES) & 1 == 0 {
                continue;
            }
            let e = exp_portable(buf[j] - m);
            sum += e;
            let eb = bf16::from_f32(e).to_f32();
            for (c, a) in acc.iter_mut().enumerate() {
                *a += eb * to_f32(p.vt[c * lp + j]);
            }
        }
        for (c, a) in acc.iter().enumerate() {
            o[c] = a / sum;
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use std::arch::x86_64::*;

    use super::{sparse_row, tile_bits, Bf16Job, RowPath, LANES};
    use crate::attention::kernels::simd::{Avx512, Isa, Lanes};

    /// Rounds `lo` and `hi` to bf16 (`VCVTNE2PS2BF16`) into `dst[..16]` and `dst[16..32]`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(in crate::attention::kernels) fn store_bf16_pair(dst: &mut [u16], lo: __m512, hi: __m512) {
        assert!(dst.len() >= 32, "32 bf16 slots");
        let pb = _mm512_cvtne2ps_pbh(hi, lo);
        // SAFETY: 32 u16 = 64 bytes in bounds (checked); same-size transmute.
        unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), std::mem::transmute::<__m512bh, __m512i>(pb)) };
    }

    /// Tiles whose scores are computed together (independent `VDPBF16PS` chains).
    const GROUP: usize = 4;

    /// One head on AVX-512 BF16.
    ///
    /// # Safety
    /// The CPU must support `avx512f` and `avx512bf16`.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn head(job: &Bf16Job<'_>, out: &mut [f32]) {
        super::count_rows(job, RowPath::Bf16Avx512, Isa::Avx512);
        let lanes = Avx512::new().expect("caller checked avx512f");
        let (l, d) = (job.rows.l, job.rows.d);
        let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
        let lp = job.panels.as_ref().map_or(0, |p| p.lp);
        let mut buf = vec![0.0f32; lp];
        // Probabilities rounded to bf16, 32 per vector, in key order.
        let mut pbuf = vec![0u16; lp];
        let mut bias_sc = Vec::new();
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        let zero = _mm512_setzero_ps();
        let scale = _mm512_set1_ps(job.scale);
        for i in 0..l {
            let o = &mut out[i * d..(i + 1) * d];
            if let Some(cols) = job.sparse.and_then(|s| s.row(i)) {
                sparse_row(lanes, &job.rows, i, cols, &mut scratch, o);
                continue;
            }
            let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
            let np = p.pairs();
            let n_tiles = lp / LANES;
            let words = job.mask.row_words(i);
            let qp = &p.q_pairs[i * np..(i + 1) * np];
            let bias_row = job.bias.as_ref().map(|b| b.row(i, job.mask, &mut bias_sc));
            let mut mx = neg_inf;
            let mut poison = zero;
            let mut t0 = 0;
            while t0 < n_tiles {
                let mut bits = [0u16; GROUP];
                for (k, b) in bits.iter_mut().enumerate() {
                    let j0 = (t0 + k) * LANES;
                    *b = if t0 + k < n_tiles && j0 < l { tile_bits(words, t0 + k) } else { 0 };
                }
                if bits == [0; GROUP] {
                    t0 += GROUP;
                    continue;
                }
                let mut s = [zero; GROUP];
                for (c2, &pair) in qp.iter().enumerate() {
                    // SAFETY: same-sized 512-bit transmute; features enabled above.
                    let qv: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(pair as i32)) };
                    for k in 0..GROUP {
                        if bits[k] == 0 {
                            continue;
                        }
                        let j0 = (t0 + k) * LANES;
                        let kp = &p.k_pairs[(c2 * lp + j0) * 2..(c2 * lp + j0) * 2 + 32];
                        // SAFETY: `kp` holds exactly 32 u16 = 64 bytes; same-sized transmute.
                        unsafe {
                            let kv: __m512bh = std::mem::transmute(_mm512_loadu_si512(kp.as_ptr().cast()));
                            s[k] = _mm512_dpbf16_ps(s[k], qv, kv);
                        }
                    }
                }
                for k in 0..GROUP {
                    let j0 = (t0 + k) * LANES;
                    if t0 + k >= n_tiles {
                        break;
                    }
                    if bits[k] == 0 {
                        continue; // never read: the exp pass skips tiles without allowed lanes
                    }
                    let mut v = _mm512_mul_ps(s[k], scale);
                    if let Some(b) = bias_row {
                        v = _mm512_add_ps(v, lanes.load_masked(&b[j0..], bits[k]));
                    }
                    lanes.store(&mut buf[j0..], v);
                    mx = _mm512_max_ps(mx, _mm512_mask_blend_ps(bits[k], neg_inf, v));
                    poison = _mm512_add_ps(poison, _mm512_maskz_mul_ps(bits[k], v, zero));
                }
                t0 += GROUP;
            }
            // A row that met a non-finite score is NaN (see the portable path).
            if lanes.reduce_add(poison) != 0.0 {
                o.fill(f32::NAN);
                continue;
            }
            let m = _mm512_reduce_max_ps(mx);
            if m == f32::NEG_INFINITY {
                o.fill(0.0);
                continue;
            }
            let mv = _mm512_set1_ps(m);
            let mut sum = zero;
            for t2 in 0..lp / 32 {
                let mut e = [zero; 2];
                for (h, eh) in e.iter_mut().enumerate() {
                    let j0 = t2 * 32 + h * LANES;
                    let bits = if j0 < l { tile_bits(words, 2 * t2 + h) } else { 0 };
                    if bits != 0 {
                        *eh = lanes.select(bits, lanes.exp(_mm512_sub_ps(lanes.load(&buf[j0..]), mv)), zero);
                        sum = _mm512_add_ps(sum, *eh);
                    }
                }
                store_bf16_pair(&mut pbuf[t2 * 32..t2 * 32 + 32], e[0], e[1]);
            }
            let den = lanes.reduce_add(sum);
            // P·V, sixteen head dimensions at a time with their accumulators in registers.
            let mut c0 = 0;
            while c0 < d {
                let w = LANES.min(d - c0);
                let mut acc = [zero; LANES];
                for t2 in 0..lp / 32 {
                    let j0 = t2 * 32;
                    // Tiles 2·t2 and 2·t2 + 1 share one mask word, which exists when j0 < l.
                    if j0 >= l || (tile_bits(words, 2 * t2) | tile_bits(words, 2 * t2 + 1)) == 0 {
                        continue;
                    }
                    // SAFETY: `pbuf` and every `vs` hold exactly 32 u16 = 64 bytes; same-size transmutes.
                    unsafe {
                        let pb: __m512bh = std::mem::transmute(_mm512_loadu_si512(pbuf[j0..j0 + 32].as_ptr().cast()));
                        for (c, a) in acc.iter_mut().enumerate().take(w) {
                            let vs = &p.vt[(c0 + c) * lp + j0..(c0 + c) * lp + j0 + 32];
                            let vv: __m512bh = std::mem::transmute(_mm512_loadu_si512(vs.as_ptr().cast()));
                            *a = _mm512_dpbf16_ps(*a, pb, vv);
                        }
                    }
                }
                for (c, a) in acc.iter().enumerate().take(w) {
                    o[c0 + c] = lanes.reduce_add(*a) / den;
                }
                c0 += w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both branch-free roundings give `half`'s bits: ties both ways, the largest finite values
    /// (rounding to ∞), subnormals, signed zeros, infinities and NaNs.
    #[test]
    fn bf16_bits_round_like_half() {
        let mut xs: Vec<f32> = vec![0.0, -0.0, 1.0, -1.5, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -1e-40];
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001)]);
        // Exact ties (low half 0x8000) with even and odd upper halves, and their neighbours.
        for hi in [0x3f80u32, 0x3f81, 0x7f7f, 0x0000, 0x8001] {
            for lo in [0x7fffu32, 0x8000, 0x8001, 0xffff] {
                xs.push(f32::from_bits(hi << 16 | lo));
            }
        }
        let mut state = 0x9E37_79B9u32;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            xs.push(f32::from_bits(state));
        }
        let mut widened = xs.clone();
        round_to_bf16(&mut widened);
        for (x, w) in xs.into_iter().zip(widened) {
            let want = bf16::from_f32(x).to_bits();
            assert_eq!(bf16_bits(x), want, "{x:e} = {:#010x}", x.to_bits());
            assert_eq!(w.to_bits(), (want as u32) << 16, "round_to_bf16({x:e}) = {:#010x}", x.to_bits());
        }
    }
}
