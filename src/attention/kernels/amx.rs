//! Intel AMX tiles (AMX-TILE, AMX-BF16) through inline assembly: the few operations the
//! [`super::bf16`] kernel needs, nothing else.
//!
//! A tile is a 2-D register of up to 16 rows × 64 bytes (`tmm0` … `tmm7`); `TDPBF16PS`
//! multiplies a 16 × 2K bf16 tile by a K × 16-pair bf16 tile ("VNNI" layout: row k holds
//! sixteen pairs `(b[2k][n], b[2k+1][n])`) into a 16 × 16 f32 tile — 8,192 multiply-adds per
//! instruction with f32 accumulation. Rust's AMX intrinsics are unstable, so the instructions
//! are written as `asm!`; the tile number is a const generic.
//!
//! Linux hands the 8 KiB tile state to a process only on request
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`); [`bf16_available`] checks CPUID and
//! makes that request once. The grant is process-wide and permanent: from then on the kernel
//! saves the tile state with every thread's context (it refuses the request while some thread's
//! signal stack is too small for it, and the path then reports itself unavailable).

use std::arch::asm;
use std::sync::OnceLock;

/// Whether this CPU has AMX-TILE and AMX-BF16 and the OS lets this process use the tiles.
///
/// ```
/// // Either answer is fine; the call is cheap after the first.
/// let _ = ironforge::attention::kernels::amx::bf16_available();
/// ```
pub fn bf16_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| cpu_has_amx_bf16() && request_tile_permission())
}

fn cpu_has_amx_bf16() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID exists on every x86_64 CPU; leaf 7 is read only when leaf 0 reports it.
    #[allow(unused_unsafe)]
    let (max_leaf, leaf7) = unsafe { (__cpuid(0).eax, __cpuid_count(7, 0)) };
    // Leaf 7, EDX: bit 22 AMX-BF16, bit 24 AMX-TILE.
    max_leaf >= 7 && leaf7.edx >> 22 & 1 == 1 && leaf7.edx >> 24 & 1 == 1
}

#[cfg(target_os = "linux")]
fn request_tile_permission() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: this request only widens the set of register state the kernel saves for the
    // process; it touches no memory of ours. It fails (non-zero) where the kernel or the
    // hypervisor does not offer the tile state.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn request_tile_permission() -> bool {
    false
}

/// The 64-byte operand of `LDTILECFG`: palette 1, then bytes per row and rows for each tile.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

impl TileConfig {
    /// No tile configured.
    pub(crate) fn new() -> Self {
        Self { palette: 1, start_row: 0, reserved: [0; 14], bytes_per_row: [0; 16], rows: [0; 16] }
    }

    /// Tile `t` has `rows` rows of `bytes` bytes.
    pub(crate) fn tile(mut self, t: usize, rows: usize, bytes: usize) -> Self {
        assert!(t < 8 && rows <= 16 && bytes <= 64 && bytes.is_multiple_of(4), "tile {t}: {rows} × {bytes} B");
        self.rows[t] = rows as u8;
        self.bytes_per_row[t] = bytes as u16;
        self
    }

    /// Loads the configuration (zeroes every tile).
    ///
    /// # Safety
    /// [`bf16_available`] must have returned true.
    #[inline(always)]
    pub(crate) unsafe fn load(&self) {
        // SAFETY: the operand is a valid 64-byte configuration (checked in `tile`).
        unsafe { asm!("ldtilecfg [{0}]", in(reg) self as *const Self, options(nostack, readonly)) };
    }
}

/// Returns the tiles to their initial state (so the OS saves no tile data for this thread).
///
/// # Safety
/// [`bf16_available`] must have returned true.
#[inline(always)]
pub(crate) unsafe fn release() {
    // SAFETY: caller's contract.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// `tmm{T} = 0`.
///
/// # Safety
/// A configuration must be loaded that configures tile `T`.
#[inline(always)]
pub(crate) unsafe fn zero<const T: u8>() {
    // SAFETY: caller's contract.
    unsafe { asm!("tilezero tmm{t}", t = const T, options(nostack, nomem)) };
}

/// Loads tile `T`: row r from `base + r · stride` (the configured rows and bytes per row).
///
/// # Safety
/// A configuration must be loaded for `T`, and every row it reads must be readable.
#[inline(always)]
pub(crate) unsafe fn load<const T: u8>(base: *const u8, stride: usize) {
    // SAFETY: caller's contract.
    unsafe {
        asm!("tileloadd tmm{t}, [{b} + {s} * 1]", t = const T, b = in(reg) base, s = in(reg) stride,
             options(nostack, readonly))
    };
}

/// Stores tile `T`: row r to `base + r · stride`.
///
/// # Safety
/// A configuration must be loaded for `T`, and every row it writes must be writable.
#[inline(always)]
pub(crate) unsafe fn store<const T: u8>(base: *mut u8, stride: usize) {
    // SAFETY: caller's contract.
    unsafe {
        asm!("tilestored [{b} + {s} * 1], tmm{t}", t = const T, b = in(reg) base, s = in(reg) stride, options(nostack))
    };
}

/// `tmm{C} += tmm{A} · tmm{B}` in bf16 pairs with f32 accumulation (`TDPBF16PS`).
///
/// # Safety
/// A configuration must be loaded in which the shapes agree (A: M × 4K bytes, B: K × 4N
/// bytes, C: M × 4N bytes).
#[inline(always)]
pub(crate) unsafe fn dot_bf16<const C: u8, const A: u8, const B: u8>() {
    // SAFETY: caller's contract.
    unsafe { asm!("tdpbf16ps tmm{c}, tmm{a}, tmm{b}", c = const C, a = const A, b = const B, options(nostack, nomem)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `TDPBF16PS` against a plain loop, with integers (exact in bf16 and f32).
    #[test]
    fn one_tile_product_matches_a_loop() {
        if !bf16_available() {
            eprintln!("skipped: no AMX-BF16 on this machine");
            return;
        }
        let bits = |x: f32| (x.to_bits() >> 16) as u16;
        let a_at = |m: usize, k: usize| ((m * 3 + k) % 7) as f32 - 3.0;
        let b_at = |k: usize, n: usize| ((k * 5 + n * 2) % 5) as f32 - 2.0;
        let a: Vec<u16> = (0..16 * 32).map(|i| bits(a_at(i / 32, i % 32))).collect();
        // VNNI: row k/2, column n, element k % 2.
        let b: Vec<u16> = (0..16 * 32).map(|i| bits(b_at(i / 32 * 2 + i % 2, i % 32 / 2))).collect();
        let mut c = vec![0f32; 256];
        let cfg = TileConfig::new().tile(0, 16, 64).tile(1, 16, 64).tile(2, 16, 64);
        // SAFETY: AMX checked above; every tile reads or writes 16 rows of 64 bytes in bounds.
        unsafe {
            cfg.load();
            zero::<0>();
            load::<1>(a.as_ptr().cast(), 64);
            load::<2>(b.as_ptr().cast(), 64);
            dot_bf16::<0, 1, 2>();
            store::<0>(c.as_mut_ptr().cast(), 64);
            release();
        }
        for m in 0..16 {
            for n in 0..16 {
                let want: f32 = (0..32).map(|k| a_at(m, k) * b_at(k, n)).sum();
                assert_eq!(c[m * 16 + n], want, "({m}, {n})");
            }
        }
    }
}
