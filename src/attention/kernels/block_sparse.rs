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
use super::panels::{tile_bits, Operands};
use super::simd::{Isa, LANES};
use super::sparse::{SparseRows, SPARSE_ROW_MAX};
use super::{AttnError, AttnInputs};
use crate::attention::Mask;

/// Which tiles of a mask hold at least one allowed entry, in CSR form per row block.
///
/// ```
/// use ironforge::attention::{kernels::block_sparse::TileMap, Mask};
/// let mask = Mask::from_edges(40, &[(0, 39)]);
/// let map = TileMap::from_mask(&mask, 1);
/// assert_eq!(map.row_tiles(0), &[0, 2]); // the diagonal tile and the tile of column 39
/// assert_eq!(map.row_tiles(20), &[1]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileMap {
    rows_per_block: usize,
    n: usize,
    offsets: Vec<u32>,
    tiles: Vec<u32>,
}

impl TileMap {
    /// Builds the map of `mask` with row blocks of `rows_per_block` rows (at least 1): the
    /// block's row words are OR-ed together, then only non-zero words are split into their
    /// four 16-bit tiles (O(words read + tiles listed)).
    pub fn from_mask(mask: &Mask, rows_per_block: usize) -> Self {
        let rows_per_block = rows_per_block.max(1);
        let n = mask.n();
        let n_tiles = n.div_ceil(LANES);
        let mut offsets = vec![0u32];
        let mut tiles = Vec::new();
        let mut any = vec![0u64; mask.words_per_row()];
        for r0 in (0..n).step_by(rows_per_block) {
            any.fill(0);
            for i in r0..(r0 + rows_per_block).min(n) {
                for (a, &w) in any.iter_mut().zip(mask.row_words(i)) {
                    *a |= w;
                }
            }
            for (w, _) in any.iter().enumerate().filter(|(_, &word)| word != 0) {
                let end = (4 * w + 4).min(n_tiles);
                tiles.extend((4 * w..end).filter(|&t| tile_bits(&any, t) != 0).map(|t| t as u32));
            }
            offsets.push(tiles.len() as u32);
        }
        Self { rows_per_block, n, offsets, tiles }
    }

    /// A map listing no tile (every row block empty), for calls where the sparse path takes
    /// every row.
    fn unlisted(n: usize, rows_per_block: usize) -> Self {
        let rows_per_block = rows_per_block.max(1);
        Self { rows_per_block, n, offsets: vec![0; n.div_ceil(rows_per_block) + 1], tiles: Vec::new() }
    }

    /// The listed tiles (ascending) of the block holding `row`.
    pub fn row_tiles(&self, row: usize) -> &[u32] {
        let b = row / self.rows_per_block;
        &self.tiles[self.offsets[b] as usize..self.offsets[b + 1] as usize]
    }

    /// Side length L of the mask the map was built from.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Listed (row block, tile) pairs.
    pub fn listed(&self) -> usize {
        self.tiles.len()
    }

    /// Fraction of all (row block, tile) pairs that are skipped (1.0 for an empty mask).
    pub fn skipped_fraction(&self) -> f64 {
        let blocks = self.offsets.len() - 1;
        let total = blocks * self.n.div_ceil(LANES);
        if total == 0 {
            return 1.0;
        }
        1.0 - self.listed() as f64 / total as f64
    }
}

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
