//! Interleaved timing of a kernel against a reference, and a counting allocator for peak heap.
//!
//! [`measure`] runs `a` and `b` alternately (ABBA order, so neither always goes first) and
//! returns every pair's times; [`Samples`] gives medians and the median of per-pair ratios.
//! The release check and `cargo xtask tune` reuse it; speed is never asserted in tests.

use crate::gate::stats::median;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{attend_on, AttnError, AttnInputs, Kernel};

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

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that counts live heap bytes and their peak; register it in a benchmark
/// binary with `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    /// Resets the peak to the current live bytes and returns that baseline.
    pub fn reset_peak() -> usize {
        let cur = CURRENT.load(Ordering::SeqCst);
        PEAK.store(cur, Ordering::SeqCst);
        cur
    }
    /// Peak live bytes since the last [`CountingAlloc::reset_peak`].
    pub fn peak() -> usize {
        PEAK.load(Ordering::SeqCst)
    }
    /// Live bytes now.
    pub fn current() -> usize {
        CURRENT.load(Ordering::SeqCst)
    }
}

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::SeqCst) + n;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every method forwards to `System` with the caller's layout unchanged, so the
// allocator contract is `System`'s; the counters are side bookkeeping only.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator (i.e. from `System`).
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
            grow(new_size);
        }
        p
    }
}
