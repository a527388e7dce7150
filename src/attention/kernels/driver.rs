//! Runs a row routine over every head and row: panels per head, instruction-set dispatch
//! (once per head, into a `#[target_feature]` entry point), and an optional rayon split over
//! heads. Each head writes its own output slice with the same arithmetic whatever the thread
//! count, so results are bit-identical for 1 or N threads.

use ndarray::{Array3, ArrayView2};
use rayon::prelude::*;

use super::block_sparse::TileMap;
use super::panels::{tile_bits, HeadPanels};
use super::rows::{online, two_pass, RowCtx};
use super::simd::{Isa, Lanes, Portable, LANES};
use super::{AttnError, AttnInputs};
use crate::attention::Mask;

/// Which row routine a kernel runs.
#[derive(Debug, Clone, Copy)]
pub enum RowAlgo<'a> {
    /// Two passes over every tile with an allowed entry in the row (`sdpa`).
    Dense,
    /// Online softmax over every 64-column block with an allowed entry in the row (`flash`).
    Online,
    /// Two passes over the tiles a tile map lists (`block_sparse`).
    Tiles(&'a TileMap),
}

/// Everything one head needs.
struct HeadJob<'a> {
    panels: HeadPanels,
    mask: &'a Mask,
    bias: Option<&'a [f32]>,
    scale: f32,
    algo: RowAlgo<'a>,
}

/// Runs `algo` on `isa` (an error if this CPU lacks it), heads in parallel on the current
/// rayon pool when `parallel`.
pub fn run(inputs: &AttnInputs<'_>, isa: Isa, algo: RowAlgo<'_>, parallel: bool) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    if !isa.is_available() {
        return Err(AttnError::IsaUnavailable { isa: isa.name() });
    }
    let (h, l, d) = inputs.q.dim();
    // Borrowed when already row-major (no copy of L × L), copied otherwise.
    let bias_std = inputs.bias.as_ref().map(|b: &ArrayView2<'_, f32>| b.as_standard_layout());
    let bias = bias_std.as_ref().map(|b| b.as_slice().expect("standard layout is contiguous"));
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = Array3::<f32>::zeros((h, l, d));
    if l == 0 || d == 0 {
        return Ok(out);
    }
    let one_head = |head: usize, out_h: &mut [f32]| {
        let job = HeadJob { panels: HeadPanels::new(inputs, head), mask: inputs.mask, bias, scale, algo };
        run_head(isa, &job, out_h);
    };
    let slices = out.as_slice_mut().expect("fresh array is contiguous").chunks_mut(l * d);
    if parallel {
        slices.collect::<Vec<_>>().into_par_iter().enumerate().for_each(|(head, o)| one_head(head, o));
    } else {
        slices.enumerate().for_each(|(head, o)| one_head(head, o));
    }
    Ok(out)
}

fn run_head(isa: Isa, job: &HeadJob<'_>, out: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            let t = super::simd::Avx512::new().expect("checked by run");
            // SAFETY: the token proves the CPU has AVX-512 F, the only feature the entry enables.
            unsafe { head_avx512(t, job, out) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            let t = super::simd::Avx2::new().expect("checked by run");
            // SAFETY: the token proves the CPU has AVX2 and FMA, the features the entry enables.
            unsafe { head_avx2(t, job, out) }
        }
        _ => head(Portable, job, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn head_avx512(t: super::simd::Avx512, job: &HeadJob<'_>, out: &mut [f32]) {
    head(t, job, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn head_avx2(t: super::simd::Avx2, job: &HeadJob<'_>, out: &mut [f32]) {
    head(t, job, out)
}

#[inline(always)]
fn head<L: Lanes>(l: L, job: &HeadJob<'_>, out: &mut [f32]) {
    match job.panels.dp {
        4 => rows_of::<L, 4>(l, job, out),
        8 => rows_of::<L, 8>(l, job, out),
        12 => rows_of::<L, 12>(l, job, out),
        16 => rows_of::<L, 16>(l, job, out),
        _ => rows_of::<L, 0>(l, job, out),
    }
}

#[inline(always)]
fn rows_of<L: Lanes, const DP: usize>(l: L, job: &HeadJob<'_>, out: &mut [f32]) {
    let p = &job.panels;
    let (n, d) = (p.l, p.d);
    let mut buf = vec![0.0f32; p.lp];
    let mut acc = vec![l.splat(0.0); p.dp];
    let n_tiles = p.lp / LANES;
    for i in 0..n {
        let ctx = RowCtx {
            p,
            i,
            mask_row: job.mask.row_words(i),
            bias_row: job.bias.map(|b| &b[i * n..(i + 1) * n]),
            scale: job.scale,
        };
        let o = &mut out[i * d..(i + 1) * d];
        match job.algo {
            RowAlgo::Dense => {
                let words = ctx.mask_row;
                let tiles = (0..n_tiles).filter(|&t| tile_bits(words, t) != 0);
                two_pass::<L, DP>(l, &ctx, tiles, &mut buf, o)
            }
            RowAlgo::Online => online::<L, DP>(l, &ctx, &mut acc, o),
            RowAlgo::Tiles(map) => {
                let tiles = map.row_tiles(i);
                if tiles.is_empty() {
                    o.fill(0.0);
                } else {
                    two_pass::<L, DP>(l, &ctx, tiles.iter().map(|&t| t as usize), &mut buf, o)
                }
            }
        }
    }
}
