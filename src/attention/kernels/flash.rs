//! `flash`: tiled online softmax (FlashAttention) that never materialises L × L — not even one
//! row of it.
//!
//! With D ≤ 16 (and `FastParams::row_lanes`, the default) the dense rows go sixteen to a block,
//! one row per lane, eight keys per step (`lane_rows::online_lanes`: element-wise maxima, sums
//! and accumulators; see docs/attention-kernels.md). Otherwise:
//! four query rows at a time (`rows::online`), the columns are visited in blocks of
//! 64 (four 16-lane tiles). For each block the scores of the four rows are computed with shared
//! key loads; each row's block maximum over allowed lanes updates its running maximum `m`, and
//! when `m` grows the row's sum and `P·V` accumulator are rescaled by `exp(m_old − m_new)`. The
//! block's probabilities (4 × 64 floats) are then added into the accumulators, one value row
//! per key. At the end each accumulator is divided by its sum. Extra memory is the panels,
//! O(L·D) (measured in the benchmark).

use ndarray::Array3;

use super::driver::{run_f32, RowAlgo};
use super::{AttnError, AttnInputs, FastParams};

/// `flash` with the default parameters (best instruction set, one thread).
///
/// ```
/// use ironforge::attention::{kernels::flash, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 3, 4));
/// let mask = Mask::empty(3);
/// let out = flash::forward(&AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None }).unwrap();
/// assert!(out.iter().all(|&x| x == 0.0)); // nothing allowed: zero rows
/// ```
pub fn forward(inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    forward_with(inputs, &FastParams::default())
}

/// `flash` with explicit parameters.
pub fn forward_with(inputs: &AttnInputs<'_>, params: &FastParams) -> Result<Array3<f32>, AttnError> {
    run_f32(inputs, params, RowAlgo::Online { lanes: params.row_lanes })
}
