//! The bitset walk's bulk path on AVX2 (with POPCNT and BMI1): [`CensusIsa::Avx2`], for x86-64
//! CPUs without AVX-512 VBMI2. Same instances and the same class-table indices as the AVX-512
//! path ([`super::avx512`]); what that path does with masked byte broadcasts and
//! `vpcompressb`, this one does with rows of edge bytes and bit scans:
//!
//! - **Edge bytes** (`BitsetWalk::edges`): per node `v` a row of 64 · W bytes, byte `u` holding
//!   `v`'s edge bits to `u` ([`OUT`]: v → u, [`IN`]: u → v; what the scalar `place` ORs into
//!   `links[u]` at position 0), built once per walk from the neighbour lists (n · 64 · W
//!   bytes: 4 KiB for 64 nodes, 256 KiB for 512).
//! - **Link bytes**: placing `v` at position `p` is `links |= row(v) << 2p`, 32 bytes per
//!   instruction (a shift of 16-bit lanes: an edge byte is at most 3 and `2p ≤ 6`, so no bit
//!   crosses into the next byte); removing it ANDs the position's two bits away. No walk over
//!   the node's neighbour list, no branch on its degree.
//! - **Last level**: the 64 link bytes of a word, with the last placed position's bits
//!   (`row(nodes[3]) << 6`) ORed in by two vector operations, go to a stack copy; the
//!   extensions are read from it lowest first by `tzcnt`/`blsr` in a fixed sequence of eight
//!   (no branch on how many there are: a missing one reads byte 0 into a slot past the count,
//!   which the buffer's 64 spare slots absorb), more than eight by a loop.
//!
//! Why bit scans and not a compress: the extension sets are small (about four nodes of up to 64
//! on the real sessions), so reading eight bytes by index costs fewer instructions than
//! compressing all 64 bytes eight at a time through a `pshufb` table and stitching the pieces
//! together. No `pext` (microcoded and slow on AMD before Zen 3): `tzcnt`, `blsr` and `popcnt`
//! are single fast instructions on every CPU that has AVX2.
//!
//! Everything here is `#[inline(always)]` and reached only through [`roots`], which is
//! compiled with the features, so the intrinsics inline into the walk.
//!
//! [`CensusIsa::Avx2`]: super::CensusIsa::Avx2
//! [`OUT`]: crate::motif::graph::OUT
//! [`IN`]: crate::motif::graph::IN

use std::arch::x86_64::*;

use super::{BitsetWalk, LastLevel, Visitor, AVX2, BULK_CAP, PLACED};

/// [`BitsetWalk::roots`] compiled for this instruction set, so that [`place`], [`unplace`]
/// and [`LastLevel::append_avx2`] inline into the walk.
#[target_feature(enable = "avx2,popcnt,bmi1")]
pub(super) fn roots<const W: usize, V: Visitor>(walk: &mut BitsetWalk<'_, W, V>) {
    walk.roots_of_size::<AVX2>()
}

/// Extensions [`append`] reads by its fixed sequence; more take a loop.
const UNROLLED: usize = 8;

impl LastLevel {
    /// Appends the class-table index `prefix << 2·SIZE | byte(w)` ([`table_index`]) for every
    /// `w` in `ext`, where `byte(w)` is `links[w]`, with `last[w] << 6` ORed in when the last
    /// placed position's edge bytes are given; true when the buffer should be handed over.
    ///
    /// # Safety
    /// The CPU must have the features [`roots`] enables.
    ///
    /// [`table_index`]: crate::motif::canon::table_index
    #[inline(always)]
    pub(super) unsafe fn append_avx2<const SIZE: usize>(
        &mut self,
        links: &[u8; 64],
        last: Option<&[u8; 64]>,
        ext: u64,
        prefix: u32,
    ) -> bool {
        let dst: &mut [u32; 64] = (&mut self.patterns[self.len..self.len + 64]).try_into().expect("64 free slots");
        let high = prefix << (2 * SIZE);
        // SAFETY: the features are there (this function's contract).
        self.len += unsafe { append(links, last, ext, high, dst) };
        self.len > BULK_CAP
    }
}

/// See [`LastLevel::append_avx2`]: writes `high | byte(w)` for the nodes of `ext`, lowest
/// first, to `dst[..count]` (and something to `dst[count..8]`), and returns `count`.
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
unsafe fn append(links: &[u8; 64], last: Option<&[u8; 64]>, ext: u64, high: u32, dst: &mut [u32; 64]) -> usize {
    let count = ext.count_ones() as usize;
    let combined: [u8; 64];
    let bytes = match last {
        None => links,
        Some(last) => {
            // SAFETY: AVX2 is available (this function's contract).
            combined = unsafe { with_last(links, last) };
            &combined
        }
    };
    let mut rest = ext;
    for slot in &mut dst[..UNROLLED] {
        // `tzcnt` of an empty set is 64, read as node 0: its slot lies past `count`.
        let w = rest.trailing_zeros() as usize % 64;
        rest &= rest.wrapping_sub(1);
        *slot = high | u32::from(bytes[w]);
    }
    if count > UNROLLED {
        for slot in &mut dst[UNROLLED..count] {
            let w = rest.trailing_zeros() as usize % 64;
            rest &= rest.wrapping_sub(1);
            *slot = high | u32::from(bytes[w]);
        }
    }
    count
}

/// `links[w] | last[w] << 2·PLACED` for the 64 bytes: the last placed position's edge bits
/// (bits 6 and 7) added to every link byte.
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
unsafe fn with_last(links: &[u8; 64], last: &[u8; 64]) -> [u8; 64] {
    // SAFETY: 32-byte unaligned loads at offsets 0 and 32 of two 64-byte arrays; AVX2 is
    // available (this function's contract). An edge byte is at most 3, so the 16-bit shift by
    // 6 keeps every bit inside its byte.
    unsafe {
        let half = |at: usize| {
            let e = _mm256_loadu_si256(last.as_ptr().add(at).cast());
            _mm256_or_si256(
                _mm256_loadu_si256(links.as_ptr().add(at).cast()),
                _mm256_slli_epi16::<{ 2 * PLACED as i32 }>(e),
            )
        };
        // Two 32-byte vectors are 64 plain bytes (every bit pattern is a valid `u8`).
        std::mem::transmute::<[__m256i; 2], [u8; 64]>([half(0), half(32)])
    }
}

/// [`BitsetWalk::place`] on this path: `links |= row << 2·position` for all 64 · W nodes, where
/// `row` is the placed node's edge bytes (each at most 3).
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
pub(super) unsafe fn place<const W: usize>(links: &mut [u8], row: &[u8], position: usize) {
    debug_assert!(position <= PLACED && links.len() == 64 * W && row.len() == 64 * W);
    for (l, r) in links.chunks_exact_mut(32).zip(row.chunks_exact(32)).take(2 * W) {
        // SAFETY: 32-byte loads and a store within one 32-byte chunk of `links` and of `row`;
        // AVX2 is available (this function's contract). Edge bytes are at most 3 and the shift
        // at most 6, so no bit crosses into the next byte of a 16-bit lane.
        unsafe {
            let e = _mm256_sll_epi16(_mm256_loadu_si256(r.as_ptr().cast()), _mm_cvtsi32_si128(2 * position as i32));
            let b = _mm256_or_si256(_mm256_loadu_si256(l.as_ptr().cast()), e);
            _mm256_storeu_si256(l.as_mut_ptr().cast(), b);
        }
    }
}

/// [`BitsetWalk::unplace`] on this path: clears `position`'s two bits in every link byte.
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
pub(super) unsafe fn unplace<const W: usize>(links: &mut [u8], position: usize) {
    let keep = !(3u8 << (2 * position)) as i8;
    for bytes in links.chunks_exact_mut(32).take(2 * W) {
        // SAFETY: a 32-byte load and store within one 32-byte chunk of `links`; AVX2 is
        // available (this function's contract).
        unsafe {
            let b = _mm256_and_si256(_mm256_loadu_si256(bytes.as_ptr().cast()), _mm256_set1_epi8(keep));
            _mm256_storeu_si256(bytes.as_mut_ptr().cast(), b);
        }
    }
}
