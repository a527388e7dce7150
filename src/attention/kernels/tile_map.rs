//! The tile map: which 16-column tiles of a mask hold an allowed entry, per row block.

use super::panels::tile_bits;
use super::simd::LANES;
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
    pub(super) fn unlisted(n: usize, rows_per_block: usize) -> Self {
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
