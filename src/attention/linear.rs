//! Small affine maps `y = x·W + b`: the model's projections.
//!
//! The model's matrices are tiny (44 × 44; 45 × 44 for the input), and sessions are short
//! (tens of events), so a general matrix product spends most of its time packing and
//! allocating. [`affine_rows`] keeps the `OUT` accumulators of four output rows in registers
//! and streams the rows of `W` past them: `acc[j] += x[c] · W[c][j]` for `c = 0, 1, …`, then
//! `acc[j] + b[j]`, each step one fused multiply-add in that fixed order, so every instruction
//! set (AVX-512, AVX2 + FMA, portable `f32::mul_add`) gives the same bits.

use super::kernels::simd::{self, Isa, Lanes, Portable, LANES};

/// Rows of `x·W + b` for a whole matrix: `x` is `[rows, in]` row-major (`in = x.len() / rows`),
/// `w` is `[in, OUT]` row-major; `emit(i, y_i)` receives each output row once, in order.
/// Four rows are computed together, so each row of `W` is loaded once per four rows and the
/// four rows' sums form independent dependency chains.
///
/// ```
/// use ironforge::attention::linear::affine_rows;
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [3, 2]
/// let mut out = Vec::new();
/// affine_rows(&[1.0, 0.0, 2.0, 0.0, 1.0, 0.0], 2, &w, &[0.5, 0.0], |i, y| out.push((i, *y)));
/// assert_eq!(out, [(0, [11.5, 14.0]), (1, [3.5, 4.0])]);
/// ```
///
/// # Panics
/// When `x.len()` is not a multiple of `rows` or `w.len() != in · OUT`.
#[inline]
pub fn affine_rows<const OUT: usize>(
    x: &[f32],
    rows: usize,
    w: &[f32],
    b: &[f32; OUT],
    emit: impl FnMut(usize, &[f32; OUT]),
) {
    let ran = affine_rows_on(Isa::detect(), x, rows, w, b, emit);
    assert!(ran, "the detected instruction set is available");
}

/// [`affine_rows`] on instruction set `isa`, for the tests and gates that compare the paths
/// on one machine (every one gives the same bits); false, and nothing emitted, when this CPU
/// cannot run `isa` ([`Isa::is_available`]).
///
/// ```
/// use ironforge::attention::kernels::simd::Isa;
/// use ironforge::attention::linear::affine_rows_on;
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [3, 2]
/// for isa in Isa::available() {
///     let mut out = Vec::new();
///     assert!(affine_rows_on(isa, &[1.0, 0.0, 2.0], 1, &w, &[0.5, 0.0], |_, y| out.push(*y)));
///     assert_eq!(out, [[11.5, 14.0]]);
/// }
/// ```
///
/// # Panics
/// As [`affine_rows`].
pub fn affine_rows_on<const OUT: usize>(
    isa: Isa,
    x: &[f32],
    rows: usize,
    w: &[f32],
    b: &[f32; OUT],
    emit: impl FnMut(usize, &[f32; OUT]),
) -> bool {
    let inputs = checked_inputs::<OUT>(x, rows, w);
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => match simd::Avx512::new() {
            // SAFETY: the token proves the CPU has AVX-512 F, the only feature the entry enables.
            Some(t) => unsafe { affine_rows_avx512(t, x, inputs, w, b, emit) },
            None => return false,
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => match simd::Avx2::new() {
            // SAFETY: the token proves the CPU has AVX2 and FMA, the features the entry enables.
            Some(t) => unsafe { affine_rows_avx2(t, x, inputs, w, b, emit) },
            None => return false,
        },
        Isa::Portable => affine_rows_lanes::<_, OUT, 4>(Portable, x, inputs, w, b, emit),
        #[cfg(not(target_arch = "x86_64"))]
        _ => return false,
    }
    true
}

/// The obvious loop, row by row ([`affine_rows`]'s twin: the same fused multiply-adds in the
/// same order, so the same bits), for the gates that compare the paths with it.
///
/// # Panics
/// As [`affine_rows`].
pub fn affine_rows_reference<const OUT: usize>(
    x: &[f32],
    rows: usize,
    w: &[f32],
    b: &[f32; OUT],
    emit: impl FnMut(usize, &[f32; OUT]),
) {
    let inputs = checked_inputs::<OUT>(x, rows, w);
    affine_rows_body(x, inputs, w, b, emit)
}

/// Inputs per row of `x` (`x.len() / rows`), after checking the shapes [`affine_rows`] names.
fn checked_inputs<const OUT: usize>(x: &[f32], rows: usize, w: &[f32]) -> usize {
    let inputs = x.len().checked_div(rows).unwrap_or(0);
    assert_eq!(inputs * rows, x.len(), "x must hold {rows} rows");
    assert_eq!(w.len(), inputs * OUT, "W must be [{inputs}, {OUT}]");
    inputs
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn affine_rows_avx512<const OUT: usize>(
    t: simd::Avx512,
    x: &[f32],
    inputs: usize,
    w: &[f32],
    b: &[f32; OUT],
    emit: impl FnMut(usize, &[f32; OUT]),
) {
    affine_rows_lanes::<_, OUT, 4>(t, x, inputs, w, b, emit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn affine_rows_avx2<const OUT: usize>(
    t: simd::Avx2,
    x: &[f32],
    inputs: usize,
    w: &[f32],
    b: &[f32; OUT],
    emit: impl FnMut(usize, &[f32; OUT]),
) {
    // Two rows: a 16-lane vector is two of AVX2's sixteen registers, so four rows of a 44-wide
    // output (24 registers of sums) spilled to the stack on every multiply-add; two rows keep
    // their 12 in registers beside the two broadcasts and the row of W.
    affine_rows_lanes::<_, OUT, 2>(t, x, inputs, w, b, emit)
}

/// Widest output [`affine_rows_lanes`] keeps in registers (four vectors per row).
const MAX_VECTORS: usize = 4;

/// Lanes of vector `t` of an `OUT`-wide row that exist (the last vector may be partial).
#[inline(always)]
fn lanes_of<const OUT: usize>(t: usize) -> u16 {
    let n = (OUT - t * LANES).min(LANES);
    if n == LANES {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// The vector kernel: `ROWS` rows at a time (as many as the instruction set's registers hold
/// with their sums), `OUT.div_ceil(16)` vectors per row kept in registers, one load per vector
/// of each row of `W` shared by the rows; fused multiply-adds in the order of
/// [`affine_rows_body`], so every [`Lanes`] implementation and every `ROWS` gives the same
/// bits. Wider outputs than 64 take [`affine_rows_body`].
#[inline(always)]
fn affine_rows_lanes<L: Lanes, const OUT: usize, const ROWS: usize>(
    l: L,
    x: &[f32],
    inputs: usize,
    w: &[f32],
    b: &[f32; OUT],
    mut emit: impl FnMut(usize, &[f32; OUT]),
) {
    let vectors = OUT.div_ceil(LANES);
    if vectors > MAX_VECTORS || inputs == 0 {
        return affine_rows_body(x, inputs, w, b, emit);
    }
    let mut bias = [l.splat(0.0); MAX_VECTORS];
    for (t, bv) in bias.iter_mut().enumerate().take(vectors) {
        *bv = l.load_masked(&b[t * LANES..], lanes_of::<OUT>(t));
    }
    // No closures below: they would not inherit the caller's target features.
    let mut out = [0.0f32; MAX_VECTORS * LANES];
    let mut blocks = x.chunks_exact(ROWS * inputs);
    let mut i = 0;
    for block in &mut blocks {
        let mut acc = [[l.splat(0.0); MAX_VECTORS]; ROWS];
        // Each row's inputs as a slice of length `inputs`, read at `c < inputs`: the bounds
        // checks fold away (they were a fifth of this loop's instructions, which the front end,
        // not the multiply-adds, limited).
        let rows: [&[f32]; ROWS] = std::array::from_fn(|r| &block[r * inputs..][..inputs]);
        for (c, row) in w.chunks_exact(OUT).take(inputs).enumerate() {
            let mut xs = [l.splat(0.0); ROWS];
            for (xr, r) in xs.iter_mut().zip(rows) {
                *xr = l.splat(r[c]);
            }
            for t in 0..vectors {
                let wv = l.load_masked(&row[t * LANES..], lanes_of::<OUT>(t));
                for (a, &xr) in acc.iter_mut().zip(&xs) {
                    a[t] = l.fmadd(xr, wv, a[t]);
                }
            }
        }
        for a in &acc {
            finish_row::<L, OUT>(l, a, &bias, &mut out, i, &mut emit);
            i += 1;
        }
    }
    for x in blocks.remainder().chunks_exact(inputs) {
        let mut acc = [l.splat(0.0); MAX_VECTORS];
        for (&xc, row) in x.iter().zip(w.chunks_exact(OUT)) {
            let xr = l.splat(xc);
            for (t, a) in acc.iter_mut().enumerate().take(vectors) {
                *a = l.fmadd(xr, l.load_masked(&row[t * LANES..], lanes_of::<OUT>(t)), *a);
            }
        }
        finish_row::<L, OUT>(l, &acc, &bias, &mut out, i, &mut emit);
        i += 1;
    }
}

/// Adds the bias to one row's vectors and hands the row to `emit`.
#[inline(always)]
fn finish_row<L: Lanes, const OUT: usize>(
    l: L,
    acc: &[L::V; MAX_VECTORS],
    bias: &[L::V; MAX_VECTORS],
    out: &mut [f32; MAX_VECTORS * LANES],
    i: usize,
    emit: &mut impl FnMut(usize, &[f32; OUT]),
) {
    for t in 0..OUT.div_ceil(LANES) {
        l.store(&mut out[t * LANES..], l.add(acc[t], bias[t]));
    }
    emit(i, out[..OUT].try_into().expect("OUT lanes"));
}

/// The obvious loop, row by row, the twin the vector kernel is tested against (and the path
/// for outputs wider than 64): the same fused multiply-adds in the same order.
fn affine_rows_body<const OUT: usize>(
    x: &[f32],
    inputs: usize,
    w: &[f32],
    b: &[f32; OUT],
    mut emit: impl FnMut(usize, &[f32; OUT]),
) {
    if inputs == 0 {
        return;
    }
    for (i, x) in x.chunks_exact(inputs).enumerate() {
        let mut acc = [0.0f32; OUT];
        for (&xc, row) in x.iter().zip(w.chunks_exact(OUT)) {
            for (a, &wj) in acc.iter_mut().zip(row) {
                *a = xc.mul_add(wj, *a);
            }
        }
        for (a, &bj) in acc.iter_mut().zip(b) {
            *a += bj;
        }
        emit(i, &acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(x: &[f32], rows: usize, w: &[f32], b: &[f32; 44], portable: bool) -> Vec<[f32; 44]> {
        let mut out = Vec::new();
        if portable {
            affine_rows_body(x, x.len() / rows, w, b, |i, y| {
                assert_eq!(i, out.len());
                out.push(*y)
            });
        } else {
            affine_rows(x, rows, w, b, |i, y| {
                assert_eq!(i, out.len());
                out.push(*y)
            });
        }
        out
    }

    #[test]
    fn matches_the_obvious_sum_in_the_same_order() {
        let (inputs, cols) = (45, 44);
        for rows in [1, 3, 4, 5, 9] {
            let x: Vec<f32> = (0..rows * inputs).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..inputs * cols).map(|i| (i as f32 * 0.11).cos()).collect();
            let b: [f32; 44] = std::array::from_fn(|j| j as f32 * 0.01);
            let got = collect(&x, rows, &w, &b, false);
            assert_eq!(got.len(), rows);
            for (r, y) in got.iter().enumerate() {
                for j in 0..cols {
                    let mut acc = 0.0f32;
                    for c in 0..inputs {
                        acc = x[r * inputs + c].mul_add(w[c * cols + j], acc);
                    }
                    assert_eq!(y[j].to_bits(), (acc + b[j]).to_bits(), "rows {rows}: row {r} column {j}");
                }
            }
            assert_eq!(
                collect(&x, rows, &w, &b, true),
                got,
                "the obvious loop and the vector kernel agree bit for bit"
            );
            for isa in Isa::available() {
                let mut on = Vec::new();
                assert!(affine_rows_on(isa, &x, rows, &w, &b, |_, y| on.push(*y)));
                assert_eq!(on, got, "{isa:?}");
            }
            for block in [2, 4] {
                let mut portable = Vec::new();
                let push = |_: usize, y: &[f32; 44]| portable.push(*y);
                match block {
                    2 => affine_rows_lanes::<_, 44, 2>(Portable, &x, inputs, &w, &b, push),
                    _ => affine_rows_lanes::<_, 44, 4>(Portable, &x, inputs, &w, &b, push),
                }
                assert_eq!(portable, got, "every instruction set and row block ({block}) gives the same bits");
            }
        }
    }

    #[test]
    fn no_rows_emit_nothing() {
        affine_rows(&[], 0, &[], &[0.0; 2], |_, _| panic!("nothing to emit"));
    }

    #[test]
    #[should_panic(expected = "W must be [2, 3]")]
    fn refuses_a_weight_matrix_of_the_wrong_shape() {
        affine_rows(&[1.0, 2.0], 1, &[0.0; 5], &[0.0; 3], |_, _| {});
    }
}
