//! The reference kernel: obvious code, f64 accumulation, one row at a time.

use ndarray::Array3;

use super::AttnInputs;

/// Reference attention in f64, rounded to f32 at the end (see [`forward_f64`]).
pub fn forward(inputs: &AttnInputs<'_>) -> Array3<f32> {
    forward_f64(inputs).mapv(|x| x as f32)
}

/// Reference attention with every intermediate in f64. A row with nothing allowed is zero.
pub fn forward_f64(inputs: &AttnInputs<'_>) -> Array3<f64> {
    let (h, l, d) = inputs.q.dim();
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = Array3::<f64>::zeros((h, l, d));
    let mut scores = Vec::with_capacity(l);
    for head in 0..h {
        for i in 0..l {
            scores.clear();
            for j in inputs.mask.row_columns(i) {
                let mut s = 0.0f64;
                for c in 0..d {
                    s += inputs.q[[head, i, c]] as f64 * inputs.k[[head, j, c]] as f64;
                }
                s *= scale;
                if let Some(b) = &inputs.bias {
                    s += b.at(i, j) as f64;
                }
                scores.push((j, s));
            }
            if scores.is_empty() {
                continue;
            }
            let max = scores.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
            let denom: f64 = scores.iter().map(|&(_, s)| (s - max).exp()).sum();
            for &(j, s) in &scores {
                let p = (s - max).exp() / denom;
                for c in 0..d {
                    out[[head, i, c]] += p * inputs.v[[head, j, c]] as f64;
                }
            }
        }
    }
    out
}
