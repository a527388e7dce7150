//! Per-head operand panels shared by the f32 fast kernels: queries row-major, keys transposed
//! (`D × L`) so one 16-lane load covers sixteen columns, values row-major in whole vectors (one
//! 16-lane load per key and 16 dimensions); everything padded with zeros.

use super::simd::LANES;
use super::AttnInputs;

/// One head's operands, laid out for 16-column tiles.
///
/// `dp` is D rounded up to a multiple of 4, `dv` is D rounded up to a multiple of 16 and `lp`
/// is L rounded up to a multiple of 16; the padding is zero, so padded dimensions add exact
/// zeros to every dot product and padded columns are never allowed by the mask.
#[derive(Debug, Clone)]
pub struct HeadPanels {
    /// Head dimension D.
    pub d: usize,
    /// D rounded up to a multiple of 4.
    pub dp: usize,
    /// D rounded up to a multiple of 16.
    pub dv: usize,
    /// L rounded up to a multiple of 16.
    pub lp: usize,
    /// Queries, `l × dp` row-major.
    pub q: Vec<f32>,
    /// Keys transposed, `dp × lp` (row `c` holds dimension `c` of every key).
    pub kt: Vec<f32>,
    /// Keys row-major, `lp × dp` (read by [`super::lane_rows`]).
    pub kr: Vec<f32>,
    /// Values row-major, `lp × dv`.
    pub vr: Vec<f32>,
}

impl HeadPanels {
    /// Copies head `head` of the inputs into panels (extra memory `(l + 2·lp)·dp + lp·dv` floats).
    pub fn new(inputs: &AttnInputs<'_>, head: usize) -> Self {
        let (_, l, d) = inputs.q.dim();
        let dp = d.div_ceil(4) * 4;
        let dv = d.div_ceil(LANES) * LANES;
        let lp = l.div_ceil(LANES) * LANES;
        let mut q = vec![0.0f32; l * dp];
        let mut kt = vec![0.0f32; dp * lp];
        let mut kr = vec![0.0f32; lp * dp];
        let mut vr = vec![0.0f32; lp * dv];
        let head_rows =
            |a: &ndarray::ArrayView3<'_, f32>| a.index_axis(ndarray::Axis(0), head).as_standard_layout().into_owned();
        let (qh, kh, vh) = (head_rows(&inputs.q), head_rows(&inputs.k), head_rows(&inputs.v));
        let (qh, kh, vh) = (
            qh.as_slice().expect("owned standard layout"),
            kh.as_slice().expect("owned standard layout"),
            vh.as_slice().expect("owned standard layout"),
        );
        for i in 0..l {
            let row = i * d..(i + 1) * d;
            for (dst, &x) in q[i * dp..i * dp + d].iter_mut().zip(&qh[row.clone()]) {
                *dst = x;
            }
            vr[i * dv..i * dv + d].copy_from_slice(&vh[row.clone()]);
            kr[i * dp..i * dp + d].copy_from_slice(&kh[row.clone()]);
            for (c, &x) in kh[row].iter().enumerate() {
                kt[c * lp + i] = x;
            }
        }
        Self { d, dp, dv, lp, q, kt, kr, vr }
    }
}

/// The 16 mask bits of tile `t` (columns `16t .. 16t + 16`) in one bitset row.
#[inline(always)]
pub fn tile_bits(row_words: &[u64], t: usize) -> u16 {
    (row_words[t / 4] >> ((t % 4) * 16)) as u16
}
