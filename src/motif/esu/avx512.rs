//! The bitset walk's bulk path on AVX-512 F, BW and VBMI2 (with POPCNT and BMI1):
//! [`CensusIsa::Avx512Vbmi2`](super::CensusIsa::Avx512Vbmi2).
//!
//! - Link bytes: placing a node at a position ORs two masked byte broadcasts (`vpbroadcastb`
//!   under the node's out-mask and in-mask) into all 64 link bytes of a word; removing it ANDs
//!   the position's two bits away. No walk over the node's neighbour list.
//! - Last level: node `w`'s pattern byte (`links[w]` plus the out/in bits of the unplaced
//!   position, by the same masked broadcasts) sits in byte `w % 64` of a 64-byte vector; one
//!   `vpcompressb` by the extension mask packs the extensions' bytes to the front, and they are
//!   widened to 32-bit class-table indices sixteen at a time and stored whole.
//!
//! Everything here is `#[inline(always)]` and reached only through [`roots`], which is
//! compiled with the features, so the intrinsics inline into the walk.

use std::arch::x86_64::*;

use super::{BitsetWalk, LastLevel, Visitor, AVX512, BULK_CAP, PLACED};
use crate::motif::graph::{IN, OUT};

/// [`BitsetWalk::roots`] compiled for this instruction set, so that [`place`], [`unplace`]
/// and [`LastLevel::append_avx512`] inline into the walk.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2,popcnt,bmi1")]
pub(super) fn roots<const W: usize, V: Visitor>(walk: &mut BitsetWalk<'_, W, V>) {
    walk.roots_of_size::<AVX512>()
}

impl LastLevel {
    /// Appends the class-table index of `prefix | byte(w) << pattern_bits(SIZE)`, which is
    /// `prefix << 2·SIZE | byte(w)` ([`table_index`]), for every `w` in `ext`, where `byte(w)`
    /// is `links[w]` with bit 6 set when `w` is in `out` and bit 7 when in `inn`; true when the
    /// buffer should be handed over.
    ///
    /// # Safety
    /// The CPU must have the features [`roots`] enables.
    ///
    /// [`table_index`]: crate::motif::canon::table_index
    #[inline(always)]
    pub(super) unsafe fn append_avx512<const SIZE: usize>(
        &mut self,
        links: &[u8; 64],
        ext: u64,
        out: u64,
        inn: u64,
        prefix: u32,
    ) -> bool {
        let dst: &mut [u32; 64] = (&mut self.patterns[self.len..self.len + 64]).try_into().expect("64 free slots");
        let high = prefix << (2 * SIZE);
        // SAFETY: the features are there (this function's contract).
        self.len += unsafe { append(links, ext, out, inn, high, dst) };
        self.len > BULK_CAP
    }
}

/// See [`LastLevel::append_avx512`]: writes `high | byte(w)` for the nodes of `ext` to
/// `dst[..16]`, or all of `dst` when `ext` has more than 16 nodes, and returns how many are
/// valid.
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
unsafe fn append(links: &[u8; 64], ext: u64, out: u64, inn: u64, high: u32, dst: &mut [u32; 64]) -> usize {
    let count = ext.count_ones() as usize;
    // SAFETY: 64-byte unaligned loads and stores within `links` and `dst` (64 u32 = 4 chunks);
    // the features are there (this function's contract).
    unsafe {
        let bytes = with_links(_mm512_loadu_si512(links.as_ptr().cast()), out, inn, PLACED);
        let packed = _mm512_maskz_compress_epi8(ext, bytes);
        let high = _mm512_set1_epi32(high as i32);
        macro_rules! widen_store {
            ($chunk:literal) => {
                let b = _mm512_extracti32x4_epi32::<$chunk>(packed);
                let p = _mm512_or_si512(_mm512_cvtepu8_epi32(b), high);
                _mm512_storeu_si512(dst.as_mut_ptr().add(16 * $chunk).cast(), p);
            };
        }
        widen_store!(0);
        if count > 16 {
            widen_store!(1);
            widen_store!(2);
            widen_store!(3);
        }
    }
    count
}

/// [`BitsetWalk::place`] on this path: the link bytes of all 64 · W nodes at once, from `v`'s
/// out- and in-neighbour masks (one masked byte broadcast per direction and word), with no walk
/// over `v`'s neighbour list.
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
pub(super) unsafe fn place<const W: usize>(links: &mut [u8], out: &[u64; W], inn: &[u64; W], position: usize) {
    for (word, bytes) in links.chunks_exact_mut(64).take(W).enumerate() {
        // SAFETY: a 64-byte load and store within one 64-byte chunk of `links`; the features
        // are there (this function's contract).
        unsafe {
            let b = with_links(_mm512_loadu_si512(bytes.as_ptr().cast()), out[word], inn[word], position);
            _mm512_storeu_si512(bytes.as_mut_ptr().cast(), b);
        }
    }
}

/// Link bytes of 64 nodes (byte `w % 64` is node `w`'s) with the edges to a node at `position`
/// added: [`OUT`] in the position's bit pair for the nodes of `out` (position → node), [`IN`]
/// for those of `inn`. Used to place a node and, for the last placed position, in the bulk
/// last level.
///
/// # Safety
/// The CPU must have AVX-512 F and BW.
#[inline(always)]
unsafe fn with_links(bytes: __m512i, out: u64, inn: u64, position: usize) -> __m512i {
    let (to, from) = ((OUT << (2 * position)) as i8, (IN << (2 * position)) as i8);
    // SAFETY: AVX-512 F and BW are available (the caller's contract); register operations only.
    unsafe {
        let b = _mm512_or_si512(bytes, _mm512_maskz_set1_epi8(out, to));
        _mm512_or_si512(b, _mm512_maskz_set1_epi8(inn, from))
    }
}

/// [`BitsetWalk::unplace`] on this path: clears `position`'s two bits in every link byte.
///
/// # Safety
/// The CPU must have the features [`roots`] enables.
#[inline(always)]
pub(super) unsafe fn unplace<const W: usize>(links: &mut [u8], position: usize) {
    let keep = !(3u8 << (2 * position)) as i8;
    for bytes in links.chunks_exact_mut(64).take(W) {
        // SAFETY: a 64-byte load and store within one 64-byte chunk of `links`; the features
        // are there (this function's contract).
        unsafe {
            let b = _mm512_and_si512(_mm512_loadu_si512(bytes.as_ptr().cast()), _mm512_set1_epi8(keep));
            _mm512_storeu_si512(bytes.as_mut_ptr().cast(), b);
        }
    }
}
