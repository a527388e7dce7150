//! `sdpa`: fused f32 attention in two passes.
//!
//! With D ≤ 16 (and `FastParams::row_lanes`, the default) the dense rows go sixteen to a block,
//! one row per lane (`lane_rows::two_pass_lanes`: the block's scores as L vectors with their
//! element-wise maximum, then probabilities, sums and `P·V`). Otherwise four query rows at a
//! time over every 16-column tile they allow:
//!
//! Per block of rows (`rows::two_pass`): `s = q·Kᵀ/√D + bias` as sixteen-lane FMAs
//! against the transposed key panel (matrix-product style: one broadcast query element times
//! sixteen keys per instruction, the key vector shared by the four rows), stored in a block
//! buffer of 4 × L floats; the row maxima over allowed lanes; then, tile by tile,
//! `p = exp(s − max)` with the vectorised polynomial exp and per-lane sums, and at once `P·V`
//! (one value row per key, broadcast probabilities, four row accumulators); a division by the
//! sum. Extra memory: the panels (`≈ 3·L·D` floats per head) and 4 × L scores.

use ndarray::Array3;

use super::driver::{run_f32, RowAlgo};
use super::{AttnError, AttnInputs, FastParams};

/// `sdpa` with the default parameters (best instruction set, one thread).
///
/// ```
/// use ironforge::attention::{kernels::sdpa, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 3, 4));
/// let mask = Mask::full(3);
/// let out = sdpa::forward(&AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None }).unwrap();
/// assert!((out[[0, 2, 3]] - 1.0).abs() < 1e-6);
/// ```
pub fn forward(inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    forward_with(inputs, &FastParams::default())
}

/// `sdpa` with explicit parameters.
pub fn forward_with(inputs: &AttnInputs<'_>, params: &FastParams) -> Result<Array3<f32>, AttnError> {
    run_f32(inputs, params, RowAlgo::Dense { lanes: params.row_lanes })
}
