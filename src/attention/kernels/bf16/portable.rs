//! The portable bf16 path: one row at a time in plain Rust, with the instruction paths' roundings.

use half::bf16;

use super::job::{count_rows, Bf16Job};
use super::round::to_f32;
use crate::attention::kernels::coverage::RowPath;
use crate::attention::kernels::panels::tile_bits;
use crate::attention::kernels::simd::{exp_portable, Isa, Portable, LANES};
use crate::attention::kernels::sparse::sparse_row;

// `j` indexes the mask bits, the key pairs, the bias row, the values and the buffer at once.
#[allow(clippy::needless_range_loop)]
pub(super) fn head(job: &Bf16Job<'_>, out: &mut [f32]) {
    count_rows(job, RowPath::Bf16Portable, Isa::Portable);
    let (l, d) = (job.rows.l, job.rows.d);
    let mut scratch = vec![0.0f32; job.sparse.map_or(0, |s| s.scratch_len())];
    let mut buf = vec![0.0f32; job.panels.as_ref().map_or(0, |p| p.lp)];
    let mut acc = vec![0.0f32; d];
    let mut bias_sc = Vec::new();
    for i in 0..l {
        let o = &mut out[i * d..(i + 1) * d];
        if let Some(cols) = job.sparse.and_then(|s| s.row(i)) {
            sparse_row(Portable, &job.rows, i, cols, &mut scratch, o);
            continue;
        }
        let p = job.panels.as_ref().expect("panels are built whenever a row is dense");
        let (lp, np) = (p.lp, p.pairs());
        let words = job.mask.row_words(i);
        let bias_row = job.bias.as_ref().map(|b| b.row(i, job.mask, &mut bias_sc));
        let mut m = f32::NEG_INFINITY;
        // `score · 0` summed: NaN once an allowed score is NaN or infinite (which `f32::max`
        // and the clamped exponential would hide); such a row is written as NaN, as `math`
        // gives, so the circuit breaker sees it.
        let mut poison = 0.0f32;
        for j in 0..l {
            if tile_bits(words, j / LANES) >> (j % LANES) & 1 == 0 {
                continue;
            }
            let mut s = 0.0f32;
            for c2 in 0..np {
                let qp = p.q_pairs[i * np + c2];
                let k0 = to_f32(p.k_pairs[(c2 * lp + j) * 2]);
                let k1 = to_f32(p.k_pairs[(c2 * lp + j) * 2 + 1]);
                s += to_f32(qp as u16) * k0 + to_f32((qp >> 16) as u16) * k1;
            }
            s *= job.scale;
            if let Some(b) = bias_row {
                s += b[j];
            }
            buf[j] = s;
            m = m.max(s);
            poison += s * 0.0;
        }
        if poison != 0.0 {
            o.fill(f32::NAN);
            continue;
        }
        if m == f32::NEG_INFINITY {
            o.fill(0.0);
            continue;
        }
        let mut sum = 0.0f32;
        acc.fill(0.0);
        for j in 0..l {
            if tile_bits(words, j / LANES) >> (j % LANES) & 1 == 0 {
                continue;
            }
            let e = exp_portable(buf[j] - m);
            sum += e;
            let eb = bf16::from_f32(e).to_f32();
            for (c, a) in acc.iter_mut().enumerate() {
                *a += eb * to_f32(p.vt[c * lp + j]);
            }
        }
        for (c, a) in acc.iter().enumerate() {
            o[c] = a / sum;
        }
    }
}
