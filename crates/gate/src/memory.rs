//! Memory metrics: a counting global allocator for peak live heap, and `/proc` readers for the
//! process's peak RSS (`VmHWM`) and the machine's RAM (`MemTotal`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::context::GateContext;
use super::error::GateError;
use super::measurement::Measurement;
use super::spec::Unit;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static PEAK_WINDOW: Mutex<()> = Mutex::new(());

/// A global allocator that forwards to [`System`] and counts live heap bytes and their peak.
/// Install it in a binary (the gate harness does) with
/// `#[global_allocator] static ALLOC: CountingAllocator = CountingAllocator;`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

fn grow(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

fn shrink(bytes: usize) {
    CURRENT.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's layout unchanged and only adds
// atomic bookkeeping, so `System`'s guarantees carry over.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours, forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` came from this allocator; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Whether [`CountingAllocator`] has served an allocation in this process.
pub fn allocator_installed() -> bool {
    drop(std::hint::black_box(Box::new(0u64)));
    INSTALLED.load(Ordering::Relaxed)
}

/// Live heap bytes now (errors when the counting allocator is not installed).
pub fn live_heap_bytes() -> Result<usize, GateError> {
    if !allocator_installed() {
        return Err(GateError::AllocatorNotInstalled);
    }
    Ok(CURRENT.load(Ordering::Relaxed))
}

/// Peak live heap observed while a closure ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakHeap {
    /// Live heap bytes when the closure started.
    pub baseline_bytes: usize,
    /// Highest live heap bytes while it ran, minus `baseline_bytes`.
    pub peak_above_baseline: usize,
}

/// Runs `f` and reports the peak live heap during it. The counters are process-wide: one
/// window is open at a time (a mutex), and allocations by other threads in that window count
/// too — the harness runs measurements one at a time for that reason.
pub fn measure_peak<R>(f: impl FnOnce() -> R) -> Result<(R, PeakHeap), GateError> {
    if !allocator_installed() {
        return Err(GateError::AllocatorNotInstalled);
    }
    let _window = PEAK_WINDOW.lock().unwrap_or_else(|p| p.into_inner());
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    let peak = PEAK.load(Ordering::Relaxed);
    Ok((r, PeakHeap { baseline_bytes: base, peak_above_baseline: peak.saturating_sub(base) }))
}

/// Reads a `Field:   123 kB` line from a `/proc` file's text, in bytes.
///
/// ```
/// use ironforge_gate::memory::parse_kib_field;
/// let text = "Name:\tx\nVmHWM:\t  2048 kB\n";
/// assert_eq!(parse_kib_field(text, "VmHWM", "/proc/self/status".as_ref()).unwrap(), 2048 * 1024);
/// assert!(parse_kib_field(text, "VmRSS", "/proc/self/status".as_ref()).is_err());
/// ```
pub fn parse_kib_field(text: &str, field: &str, path: &Path) -> Result<u64, GateError> {
    let problem = |p: String| GateError::Proc { path: path.to_path_buf(), problem: p };
    let line = text
        .lines()
        .find(|l| l.split(':').next() == Some(field))
        .ok_or_else(|| problem(format!("no `{field}:` line")))?;
    let rest = line[field.len() + 1..].trim();
    let mut parts = rest.split_whitespace();
    let number = parts.next().ok_or_else(|| problem(format!("`{field}` has no value")))?;
    let kib: u64 = number.parse().map_err(|_| problem(format!("`{field}` value {number:?} is not a number")))?;
    match parts.next() {
        Some("kB") => Ok(kib * 1024),
        other => Err(problem(format!("`{field}` unit is {other:?}, expected \"kB\""))),
    }
}

fn read_kib_field(path: &str, field: &str) -> Result<u64, GateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| GateError::Proc { path: path.into(), problem: format!("unreadable: {e}") })?;
    parse_kib_field(&text, field, Path::new(path))
}

/// The process's peak resident set size (`VmHWM` of `/proc/self/status`), in bytes.
pub fn peak_rss_bytes() -> Result<u64, GateError> {
    read_kib_field("/proc/self/status", "VmHWM")
}

/// The machine's RAM (`MemTotal` of `/proc/meminfo`), in bytes.
pub fn mem_total_bytes() -> Result<u64, GateError> {
    read_kib_field("/proc/meminfo", "MemTotal")
}

/// Metric: peak live heap (bytes) while `f` runs; details hold the baseline.
pub fn peak_heap<R>(ctx: &mut GateContext, f: impl FnOnce() -> R) -> Result<Measurement, GateError> {
    let (r, peak) = measure_peak(f)?;
    drop(std::hint::black_box(r));
    ctx.detail("heap_baseline_bytes", peak.baseline_bytes)?;
    Ok(Measurement::new(peak.peak_above_baseline as f64, Unit::Bytes))
}

/// Metric: the process's peak RSS (`VmHWM`, bytes) after running `f`, with the peak live heap
/// during `f` and `MemTotal` in the details. Compare it with `% of ram`.
pub fn peak_rss<R>(ctx: &mut GateContext, f: impl FnOnce() -> R) -> Result<Measurement, GateError> {
    let (r, peak) = measure_peak(f)?;
    drop(std::hint::black_box(r));
    let rss = peak_rss_bytes()?;
    ctx.detail("peak_heap_bytes", peak.peak_above_baseline)?;
    ctx.detail("mem_total_bytes", mem_total_bytes()?)?;
    Ok(Measurement::new(rss as f64, Unit::Bytes))
}
