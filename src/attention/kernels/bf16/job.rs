//! One head's bf16 work shared by every path: its panels, its job, and its rows' coverage count.

use super::round::bf16_bits;
use crate::attention::kernels::bias_source::RowBias;
use crate::attention::kernels::coverage::{self, RowPath};
use crate::attention::kernels::simd::Isa;
use crate::attention::kernels::sparse::{HeadRows, SparseRows};
use crate::attention::Mask;

/// One head in bf16 panels. `lp` is L rounded up to 32; `dp` is D rounded up to 2.
pub(super) struct Bf16Panels {
    l: usize,
    pub(super) lp: usize,
    /// Query pairs per row: `l × dp/2` words, low half = even dimension.
    pub(super) q_pairs: Vec<u32>,
    /// Keys, pair-interleaved: `(dp/2) × lp × 2` bf16 bits.
    pub(super) k_pairs: Vec<u16>,
    /// Values transposed: `d × lp` bf16 bits (not for
    /// [`Bf16Path::Amx`](super::Bf16Path::Amx)).
    pub(super) vt: Vec<u16>,
    /// D rounded up to 16.
    pub(super) dv: usize,
    /// Values in key pairs, for [`Bf16Path::Amx`](super::Bf16Path::Amx) only: `(lp/2) × dv × 2`
    /// bf16 bits, element `((j/2) · dv + c) · 2 + j % 2` = `v[j][c]` (0 in the padding).
    pub(super) v_pairs: Vec<u16>,
}

impl Bf16Panels {
    /// The panels of one head (`rows` holds it row-major); values in pairs for the tile path,
    /// transposed otherwise.
    pub(super) fn new(rows: &HeadRows<'_>, value_pairs: bool) -> Self {
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
    pub(super) panels: Option<Bf16Panels>,
    pub(super) rows: HeadRows<'a>,
    pub(super) sparse: Option<&'a SparseRows>,
    pub(super) mask: &'a Mask,
    pub(super) bias: Option<RowBias<'a>>,
    /// max |bias| (∞ if some entry is not finite), for the tile path's finiteness proof; 0
    /// without a bias or on other paths.
    pub(super) bias_bound: f32,
    pub(super) scale: f32,
}

/// Counts a head's rows for [`coverage`]: its sparse rows on the f32 sparse path with
/// `isa`'s lanes, the others on `dense`.
pub(super) fn count_rows(job: &Bf16Job<'_>, dense: RowPath, isa: Isa) {
    let l = job.rows.l;
    let sparse = job.sparse.map_or(0, |s| (0..l).filter(|&i| s.row(i).is_some()).count());
    coverage::add(RowPath::SparseRows, isa, sparse);
    coverage::add(dense, isa, l - sparse);
}
