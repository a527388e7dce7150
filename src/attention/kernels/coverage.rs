//! Rows computed per code path and instruction set: always-on counters, one relaxed atomic
//! add per path per head, so a gate can show which routines a run of kernels actually used.
//!
//! Every fast kernel computes a row on exactly one [`RowPath`]; the counters say how many rows
//! (summed over heads) each `(path, isa)` pair computed since the process started.
//! [`snapshot`] before and after a call gives that call's rows ([`Coverage::since`]).
//!
//! ```
//! use ironforge::attention::kernels::coverage::{self, RowPath};
//! use ironforge::attention::kernels::simd::Isa;
//! use ironforge::attention::{attend, AttnInputs, Kernel, Mask};
//!
//! let q = ndarray::Array3::from_shape_fn((2, 40, 11), |(h, i, c)| ((h + 3 * i + 5 * c) % 7) as f32 * 0.1);
//! let mask = Mask::full(40); // 40 entries per row: dense rows
//! let inputs = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
//! let before = coverage::snapshot();
//! attend(Kernel::Flash, &inputs).unwrap();
//! let used = coverage::snapshot().since(&before);
//! // D = 11: sixteen dense rows per block, one per lane; 2 heads × 40 rows.
//! assert_eq!(used.rows(RowPath::LaneRows, Isa::detect()), 80);
//! ```
//!
//! Counters are process-wide: concurrent kernel calls on other threads add to the same
//! counts, so a caller that attributes rows to one call runs nothing else meanwhile (the gate
//! harness measures one trial at a time).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::simd::Isa;

/// The routine that computed a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowPath {
    /// Sparse rows with few entries, all of a head at once (`sparse::short_rows`, D ≤ 16).
    ShortRows,
    /// Sparse rows one at a time (`sparse::sparse_row`).
    SparseRows,
    /// Dense rows sixteen to a block, one per lane (`lane_rows.rs`, D ≤ 16; `sdpa`, `flash`).
    LaneRows,
    /// Dense rows four to a block over every tile with an entry (`rows.rs`; `sdpa`, `flash`).
    TileRows,
    /// Dense rows four to a block over the tiles a block-sparse tile map lists (`block_sparse`).
    TileMap,
    /// Dense rows of `bf16` on bf16-rounded panels, `flash`'s f32 routines (`Bf16Path::F32Fma`).
    Bf16Rounded,
    /// Dense rows of `bf16` with `VDPBF16PS` (`Bf16Path::Avx512Bf16`).
    Bf16Avx512,
    /// Dense rows of `bf16` in plain Rust (`Bf16Path::Portable`).
    Bf16Portable,
    /// Dense rows of `bf16` on AMX tiles (`Bf16Path::Amx`).
    AmxTiles,
}

impl RowPath {
    /// Every path.
    pub const ALL: [RowPath; 9] = [
        RowPath::ShortRows,
        RowPath::SparseRows,
        RowPath::LaneRows,
        RowPath::TileRows,
        RowPath::TileMap,
        RowPath::Bf16Rounded,
        RowPath::Bf16Avx512,
        RowPath::Bf16Portable,
        RowPath::AmxTiles,
    ];

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            RowPath::ShortRows => "short_rows",
            RowPath::SparseRows => "sparse_rows",
            RowPath::LaneRows => "lane_rows",
            RowPath::TileRows => "tile_rows",
            RowPath::TileMap => "tile_map",
            RowPath::Bf16Rounded => "bf16_rounded",
            RowPath::Bf16Avx512 => "bf16_avx512",
            RowPath::Bf16Portable => "bf16_portable",
            RowPath::AmxTiles => "amx_tiles",
        }
    }
}

fn isa_index(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 0,
        Isa::Avx2 => 1,
        Isa::Portable => 2,
    }
}

fn path_index(path: RowPath) -> usize {
    RowPath::ALL.iter().position(|&p| p == path).expect("every path is in ALL")
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ROW: [AtomicU64; 3] = [ZERO; 3];
static COUNTS: [[AtomicU64; 3]; 9] = [ROW; 9];

/// Adds `rows` rows computed on `path` with `isa`'s lanes.
#[inline]
pub(crate) fn add(path: RowPath, isa: Isa, rows: usize) {
    if rows > 0 {
        COUNTS[path_index(path)][isa_index(isa)].fetch_add(rows as u64, Ordering::Relaxed);
    }
}

/// Rows per `(path, isa)`, as counted at one moment or between two.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    rows: BTreeMap<(RowPath, Isa), u64>,
}

impl Coverage {
    /// Rows computed on `path` with `isa`.
    pub fn rows(&self, path: RowPath, isa: Isa) -> u64 {
        self.rows.get(&(path, isa)).copied().unwrap_or(0)
    }

    /// Rows computed on `path` with any instruction set.
    pub fn rows_on(&self, path: RowPath) -> u64 {
        self.rows.iter().filter(|((p, _), _)| *p == path).map(|(_, n)| n).sum()
    }

    /// The counts accumulated since `earlier` (a snapshot taken before).
    pub fn since(&self, earlier: &Coverage) -> Coverage {
        let rows = self
            .rows
            .iter()
            .map(|(&k, &n)| (k, n.saturating_sub(earlier.rows.get(&k).copied().unwrap_or(0))))
            .filter(|&(_, n)| n > 0)
            .collect();
        Coverage { rows }
    }

    /// Every `(path, isa)` with at least one row, with its count.
    pub fn iter(&self) -> impl Iterator<Item = (RowPath, Isa, u64)> + '_ {
        self.rows.iter().map(|(&(p, i), &n)| (p, i, n))
    }
}

/// The counters now.
pub fn snapshot() -> Coverage {
    let mut rows = BTreeMap::new();
    for (p, path) in RowPath::ALL.into_iter().enumerate() {
        for (i, isa) in Isa::ALL.into_iter().enumerate() {
            let n = COUNTS[p][i].load(Ordering::Relaxed);
            if n > 0 {
                rows.insert((path, isa), n);
            }
        }
    }
    Coverage { rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::kernels::bf16::{self, Bf16Params, Bf16Path};
    use crate::attention::kernels::block_sparse::{self, BlockSparseParams};
    use crate::attention::kernels::{sdpa, FastParams};
    use crate::attention::{AttnInputs, Mask};

    fn operands(l: usize, d: usize) -> ndarray::Array3<f32> {
        ndarray::Array3::from_shape_fn((1, l, d), |(_, i, c)| ((3 * i + 7 * c) % 11) as f32 * 0.1 - 0.5)
    }

    /// Rows each path computed in `f`, at least (tests on other threads only add to the counts).
    fn rows_in(path: RowPath, isa: Isa, f: impl FnOnce()) -> u64 {
        let before = snapshot();
        f();
        snapshot().since(&before).rows(path, isa)
    }

    #[test]
    fn each_path_counts_the_rows_it_computes() {
        // 40 rows: rows 0..32 of a causal mask allow ≤ 32 entries (sparse), the rest are dense.
        let mut causal = Mask::empty(40);
        for i in 0..40 {
            for j in 0..=i {
                causal.allow(i, j);
            }
        }
        for isa in Isa::available() {
            let (q11, q32) = (operands(40, 11), operands(40, 32));
            fn at<'a>(q: &'a ndarray::Array3<f32>, mask: &'a Mask) -> AttnInputs<'a> {
                AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask, bias: None }
            }
            let fast = FastParams { isa, ..FastParams::default() };
            assert!(rows_in(RowPath::ShortRows, isa, || drop(sdpa::forward_with(&at(&q11, &causal), &fast))) >= 16);
            assert!(rows_in(RowPath::LaneRows, isa, || drop(sdpa::forward_with(&at(&q11, &causal), &fast))) >= 8);
            assert!(rows_in(RowPath::SparseRows, isa, || drop(sdpa::forward_with(&at(&q32, &causal), &fast))) >= 32);
            assert!(rows_in(RowPath::TileRows, isa, || drop(sdpa::forward_with(&at(&q32, &causal), &fast))) >= 8);
            let bs = BlockSparseParams { isa, ..BlockSparseParams::default() };
            assert!(rows_in(RowPath::TileMap, isa, || drop(block_sparse::forward_with(&at(&q32, &causal), &bs))) >= 8);
        }
        let q = operands(40, 11);
        let inputs = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &causal, bias: None };
        let portable = Bf16Params { path: Bf16Path::Portable, ..Bf16Params::default() };
        assert!(rows_in(RowPath::Bf16Portable, Isa::Portable, || drop(bf16::forward_with(&inputs, &portable))) >= 8);
        let rounded = Bf16Params { path: Bf16Path::F32Fma, ..Bf16Params::default() };
        assert!(rows_in(RowPath::Bf16Rounded, Isa::detect(), || drop(bf16::forward_with(&inputs, &rounded))) >= 8);
    }

    #[test]
    fn since_subtracts_and_drops_empty_entries() {
        let mut a = Coverage::default();
        a.rows.insert((RowPath::LaneRows, Isa::Avx2), 5);
        let mut b = a.clone();
        b.rows.insert((RowPath::TileRows, Isa::Avx2), 3);
        let d = b.since(&a);
        assert_eq!(d.rows(RowPath::LaneRows, Isa::Avx2), 0);
        assert_eq!(d.rows_on(RowPath::TileRows), 3);
        assert_eq!(d.iter().count(), 1);
    }
}
