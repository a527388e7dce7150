//! Interleaved timing of a kernel against a reference (peak heap: `gate::memory::measure_peak`).
//!
//! [`measure`] runs `a` and `b` alternately (ABBA order, so neither always goes first) and
//! returns every pair's times; [`Samples`] gives medians and the median of per-pair ratios.
//! The release check and `cargo xtask tune` reuse it; speed is never asserted in tests.

use crate::gate::stats::median;
use std::time::Instant;

use super::{attend_on, AttnError, AttnInputs, Kernel};

/// Name of the kernel × L-bucket table ([`BenchRow`]s) the speed gates attach
/// ([`crate::gate::table`]) and the release report renders.
pub const KERNEL_TABLE: &str = "kernel_table";

/// One measured timing ratio of a candidate kernel over a reference at one L bucket: a row of
/// [`KERNEL_TABLE`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BenchRow {
    /// Candidate (a kernel name).
    pub candidate: String,
    /// Reference it is timed against (a kernel name).
    pub reference: String,
    /// Upper end of the L bucket (128, 256, 512, 1024, ...).
    pub l_bucket: usize,
    /// Mask shape: `dense` or `dag`.
    pub mask: String,
    /// Worker threads.
    pub threads: usize,
    /// Median of pairwise ratios reference time / candidate time (> 1 = candidate faster).
    pub ratio: f64,
    /// 95% bootstrap interval of `ratio`.
    pub interval: [f64; 2],
    /// Median candidate time in milliseconds.
    pub candidate_ms: f64,
    /// Median reference time in milliseconds.
    pub reference_ms: f64,
}

/// Per-pair wall times in seconds of two interleaved closures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Samples {
    /// Times of `a`, one per pair.
    pub a_s: Vec<f64>,
    /// Times of `b`, one per pair.
    pub b_s: Vec<f64>,
}

impl Samples {
    /// Median time of `a` (seconds).
    pub fn median_a(&self) -> f64 {
        median(&self.a_s)
    }
    /// Median time of `b` (seconds).
    pub fn median_b(&self) -> f64 {
        median(&self.b_s)
    }
    /// Per-pair speed-ups `b / a` (how many times faster `a` is).
    pub fn ratios(&self) -> Vec<f64> {
        self.a_s.iter().zip(&self.b_s).map(|(a, b)| b / a).collect()
    }
    /// Median of the per-pair speed-ups `b / a`.
    pub fn median_ratio(&self) -> f64 {
        median(&self.ratios())
    }
}

/// Times `a` and `b` interleaved for `pairs` pairs after one warm-up call each; odd pairs run
/// `b` first.
///
/// ```
/// use ironforge::attention::kernels::bench::measure;
/// let s = measure(5, || std::hint::black_box(1 + 1), || std::hint::black_box((0..1000).sum::<u64>()));
/// assert_eq!(s.a_s.len(), 5);
/// assert!(s.median_a().is_finite());
/// ```
pub fn measure<A, B, RA, RB>(pairs: usize, mut a: A, mut b: B) -> Samples
where
    A: FnMut() -> RA,
    B: FnMut() -> RB,
{
    std::hint::black_box(a());
    std::hint::black_box(b());
    let mut s = Samples { a_s: Vec::with_capacity(pairs), b_s: Vec::with_capacity(pairs) };
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    for p in 0..pairs {
        let mut run_a = || {
            std::hint::black_box(a());
        };
        let ta;
        let tb;
        if p % 2 == 0 {
            ta = time(&mut run_a);
            tb = time(&mut || {
                std::hint::black_box(b());
            });
        } else {
            tb = time(&mut || {
                std::hint::black_box(b());
            });
            ta = time(&mut run_a);
        }
        s.a_s.push(ta);
        s.b_s.push(tb);
    }
    s
}

/// Times `kernel` (as `a`) against `reference` (as `b`) on the same inputs, interleaved, heads
/// split over the current rayon pool when `parallel`. Fails if either kernel rejects the inputs.
pub fn measure_kernels(
    kernel: Kernel,
    reference: Kernel,
    inputs: &AttnInputs<'_>,
    pairs: usize,
    parallel: bool,
) -> Result<Samples, AttnError> {
    attend_on(kernel, inputs, parallel)?;
    attend_on(reference, inputs, parallel)?;
    Ok(measure(pairs, || attend_on(kernel, inputs, parallel), || attend_on(reference, inputs, parallel)))
}
