//! `block_sparse`: exact attention that skips wholly blocked tiles.
//!
//! A [`TileMap`] is built from the mask: rows are grouped in blocks of `rows_per_block`,
//! columns in tiles of 16, and a (row block, column tile) pair is listed when any of its mask
//! bits is set. The dense rows then run the same register-blocked two-pass routine as `sdpa`
//! (four rows at a time), but only over the tiles the map lists for those rows; inside a listed
//! tile the mask is applied lane by lane exactly as in `sdpa`, so nothing else changes (the
//! results are bit-identical to `sdpa`'s). With DAG masks (about 5 allowed entries per row, near the
//! diagonal) a row touches one or two tiles instead of L / 16.

use ndarray::Array3;

use super::driver::{run, RowAlgo};
use super::panels::Operands;
use super::simd::Isa;
use super::sparse::{SparseRows, SPARSE_ROW_MAX};
pub use super::tile_map::TileMap;
use super::{AttnError, AttnInputs};

/// Parameters of `block_sparse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSparseParams {
    /// Instruction set.
    pub isa: Isa,
    /// Rows per tile-map block (1 = skip per row).
    pub rows_per_block: usize,
    /// Split heads over the current rayon pool when the work pays for it
    /// ([`split_pays`](super::split_pays); bit-identical to one thread).
    pub parallel: bool,
    /// Rows with at most this many allowed entries take the sparse path
    /// ([`super::sparse`]); `None` = never (default: [`SPARSE_ROW_MAX`]).
    pub sparse_max: Option<usize>,
}

impl Default for BlockSparseParams {
    fn default() -> Self {
        Self { isa: Isa::detect(), rows_per_block: 1, parallel: false, sparse_max: Some(SPARSE_ROW_MAX) }
    }
}

/// `block_sparse` with the default parameters.
///
/// ```
/// use ironforge::attention::{kernels::block_sparse, AttnInputs, Mask};
/// let q = ndarray::Array3::<f32>::ones((2, 5, 3));
/// let mask = Mask::from_edges(5, &[(0, 4)]);
/// let out = block_sparse::forward(&AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None }).unwrap();
/// assert!((out[[1, 0, 2]] - 1.0).abs() < 1e-6);
/// ```
pub fn forward(inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    forward_with(inputs, &BlockSparseParams::default())
}

/// `block_sparse` with explicit parameters (builds the tile map, except when the sparse path
/// takes every row: then no tile is ever read and only the O(L + allowed) row lists are built).
pub fn forward_with(inputs: &AttnInputs<'_>, params: &BlockSparseParams) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    let sparse = params.sparse_max.map(|t| SparseRows::cached(inputs.mask, t));
    let map = if sparse.as_deref().is_some_and(|s| s.dense_rows() == 0) {
        TileMap::unlisted(inputs.mask.n(), params.rows_per_block)
    } else {
        TileMap::from_mask(inputs.mask, params.rows_per_block)
    };
    run(inputs, params.isa, RowAlgo::Tiles(&map), params.parallel, sparse.as_deref(), Operands::F32)
}

/// `block_sparse` with a tile map built earlier from the same mask (an error if its size
/// differs from the mask's); rows with at most [`SPARSE_ROW_MAX`] entries take the sparse path.
pub fn forward_with_map(
    inputs: &AttnInputs<'_>,
    map: &TileMap,
    isa: Isa,
    parallel: bool,
) -> Result<Array3<f32>, AttnError> {
    if map.n() != inputs.mask.n() {
        return Err(AttnError::Shape { input: "tile map", got: vec![map.n(); 2], expected: vec![inputs.mask.n(); 2] });
    }
    let sparse = SparseRows::from_mask(inputs.mask, SPARSE_ROW_MAX);
    run(inputs, isa, RowAlgo::Tiles(map), parallel, Some(&sparse), Operands::F32)
}
