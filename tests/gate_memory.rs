//! The counting allocator installed in a test binary: peaks are measured, not guessed.

use ironforge::gate::memory::{live_heap_bytes, measure_peak, mem_total_bytes, peak_rss_bytes};
use ironforge::gate::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

#[test]
fn peak_heap_sees_a_transient_buffer() {
    let (len, peak) = measure_peak(|| {
        let v = vec![7u8; 3 << 20];
        let len = v.len();
        drop(v);
        len
    })
    .unwrap();
    assert_eq!(len, 3 << 20);
    // Other test threads may allocate in the window too, so only a lower bound is exact.
    assert!(peak.peak_above_baseline >= 3 << 20, "{peak:?}");
    assert!(live_heap_bytes().unwrap() > 0);
}

#[test]
fn proc_readers_give_plausible_numbers() {
    let total = mem_total_bytes().unwrap();
    let rss = peak_rss_bytes().unwrap();
    assert!(rss > 0 && rss < total, "rss {rss} total {total}");
}
