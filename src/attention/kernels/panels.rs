//! Per-head operand panels shared by the f32 fast kernels: queries row-major, keys and values
//! transposed (`D × L`) so one 16-lane load covers sixteen columns, both padded with zeros.

use super::simd::LANES;
use super::AttnInputs;

/// One head's operands, laid out for 16-column tiles.
///
/// `dp` is D rounded up to a multiple of 4 and `lp` is L rounded up to a multiple of 16; the
/// padding is zero, so padded dimensions add exact zeros to every dot product and padded
/// columns are never allowed by the mask.
#[derive(Debug, Clone)]
pub struct HeadPanels {
    /// Head dimension D.
    pub d: usize,
    /// D rounded up to a multiple of 4.
    pub dp: usize,
    /// L rounded up to a multiple of 16.
    pub lp: usize,
    /// Queries, `l × dp` row-major.
    pub q: Vec<f32>,
    /// Keys transposed, `dp × lp` (row `c` holds dimension `c` of every key).
    pub kt: Vec<f32>,
    /// Values transposed, `dp × lp`.
    pub vt: Vec<f32>,
}

impl HeadPanels {
    /// Copies head `head` of the inputs into panels (extra memory `(l + 2·lp)·dp` floats).
    pub fn new(inputs: &AttnInputs<'_>, head: usize) -> Self {
        let (_, l, d) = inputs.q.dim();
        let dp = d.div_ceil(4) * 4;
        let lp = l.div_ceil(LANES) * LANES;
        let mut q = vec![0.0f32; l * dp];
        let mut kt = vec![0.0f32; dp * lp];
        let mut vt = vec![0.0f32; dp * lp];
        let (qh, kh, vh) = (
            inputs.q.index_axis(ndarray::Axis(0), head),
            inputs.k.index_axis(ndarray::Axis(0), head),
            inputs.v.index_axis(ndarray::Axis(0), head),
        );
        for i in 0..l {
            for c in 0..d {
                q[i * dp + c] = qh[[i, c]];
                kt[c * lp + i] = kh[[i, c]];
                vt[c * lp + i] = vh[[i, c]];
            }
        }
        Self { d, dp, lp, q, kt, vt }
    }
}

/// The 16 mask bits of tile `t` (columns `16t .. 16t + 16`) in one bitset row.
#[inline(always)]
pub fn tile_bits(row_words: &[u64], t: usize) -> u16 {
    (row_words[t / 4] >> ((t % 4) * 16)) as u16
}
