//! Per-head operand panels shared by the f32 fast kernels: queries row-major, keys either
//! transposed (`D × L`, so one 16-lane load covers sixteen columns) or row-major (one key per
//! `dp` floats), values row-major in whole vectors (one 16-lane load per key and 16
//! dimensions); everything padded with zeros.

use super::simd::LANES;
use super::sparse::HeadRows;

/// What the panels hold: the inputs as given, or each element rounded to bf16 (round to nearest
/// even, widened back to f32) for the `bf16` kernel's f32-FMA path
/// ([`super::bf16::Bf16Path::F32Fma`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    /// f32 as given.
    F32,
    /// Rounded to bf16, stored widened (every value is exactly a bf16).
    Bf16Rounded,
}

/// Which key layout a row routine reads (only that one is built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLayout {
    /// `dp × lp`, for the four-row routines of [`super::rows`].
    Transposed,
    /// `lp × dp`, for the one-row-per-lane routines of [`super::lane_rows`].
    RowMajor,
}

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
    /// Keys transposed, `dp × lp` (row `c` holds dimension `c` of every key); empty unless
    /// built with [`KeyLayout::Transposed`].
    pub kt: Vec<f32>,
    /// Keys row-major, `lp × dp`; empty unless built with [`KeyLayout::RowMajor`].
    pub kr: Vec<f32>,
    /// Values row-major, `lp × dv`.
    pub vr: Vec<f32>,
}

impl HeadPanels {
    /// Copies one head (`rows`, row-major) into panels with the keys in `keys` layout (extra
    /// memory `(l + lp)·dp + lp·dv` floats), rounding every element when `operands` says so.
    pub fn new(rows: &HeadRows<'_>, keys: KeyLayout, operands: Operands) -> Self {
        let (l, d) = (rows.l, rows.d);
        let dp = d.div_ceil(4) * 4;
        let dv = d.div_ceil(LANES) * LANES;
        let lp = l.div_ceil(LANES) * LANES;
        let mut q = vec![0.0f32; l * dp];
        let mut vr = vec![0.0f32; lp * dv];
        let (mut kt, mut kr) = match keys {
            KeyLayout::Transposed => (vec![0.0f32; dp * lp], Vec::new()),
            KeyLayout::RowMajor => (Vec::new(), vec![0.0f32; lp * dp]),
        };
        copy_rows(&rows.q[..l * d], d, &mut q, dp);
        copy_rows(&rows.v[..l * d], d, &mut vr, dv);
        match keys {
            KeyLayout::RowMajor => copy_rows(&rows.k[..l * d], d, &mut kr, dp),
            KeyLayout::Transposed => {
                for (i, row) in rows.k[..l * d].chunks_exact(d).enumerate() {
                    for (c, &x) in row.iter().enumerate() {
                        kt[c * lp + i] = x;
                    }
                }
            }
        }
        if operands == Operands::Bf16Rounded {
            [&mut q, &mut kt, &mut kr, &mut vr].into_iter().for_each(|p| super::bf16::round::round_to_bf16(p));
        }
        Self { d, dp, dv, lp, q, kt, kr, vr }
    }
}

/// Copies the rows of `src` (`d` floats each) to the rows of `dst` (`stride ≥ d` floats each,
/// the rest left as it is). For `d ≤ 16` each row is a copy of constant length, which compiles
/// to a few moves: a `memcpy` call per 44-byte row was 8% of `flash` at L = 128.
fn copy_rows(src: &[f32], d: usize, dst: &mut [f32], stride: usize) {
    #[inline(always)]
    fn fixed<const D: usize>(src: &[f32], dst: &mut [f32], stride: usize) {
        for (s, t) in src.chunks_exact(D).zip(dst.chunks_mut(stride)) {
            t[..D].copy_from_slice(s);
        }
    }
    macro_rules! by_width {
        ($($w:literal)*) => {
            match d {
                0 => {}
                $($w => fixed::<$w>(src, dst, stride),)*
                _ => src.chunks_exact(d).zip(dst.chunks_mut(stride)).for_each(|(s, t)| t[..d].copy_from_slice(s)),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// The 16 mask bits of tile `t` (columns `16t .. 16t + 16`) in one bitset row.
#[inline(always)]
pub fn tile_bits(row_words: &[u64], t: usize) -> u16 {
    (row_words[t / 4] >> ((t % 4) * 16)) as u16
}

#[cfg(test)]
mod tests {
    use super::copy_rows;

    #[test]
    fn copy_rows_matches_the_obvious_copy_at_every_width() {
        for d in 0..=20 {
            let stride = d + 3;
            let src: Vec<f32> = (0..5 * d).map(|x| x as f32 + 0.5).collect();
            let mut got = vec![-1.0f32; 5 * stride];
            copy_rows(&src, d, &mut got, stride);
            let mut want = vec![-1.0f32; 5 * stride];
            for i in 0..5 {
                for c in 0..d {
                    want[i * stride + c] = src[i * d + c];
                }
            }
            assert_eq!(got, want, "d = {d}");
        }
    }
}
