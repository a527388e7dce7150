//! Reproducibility: the seed of each row ([`row_seed`]) and the ChaCha streams its bootstrap
//! summaries draw from.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a over `bytes`, continuing from `h`.
pub(super) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Seed of the bootstrap streams of one row: FNV-1a of `seed` (little endian), the gate name, a
/// `0xff` separator (never part of UTF-8 text) and the metric name. Different rows get
/// independent streams; the same row always gets the same one.
///
/// ```
/// use ironforge_gate::paired::row_seed;
/// assert_eq!(row_seed(7, "throughput", "optimized"), row_seed(7, "throughput", "optimized"));
/// assert_ne!(row_seed(7, "throughput", "optimized"), row_seed(7, "throughput", "baseline"));
/// assert_ne!(row_seed(7, "ab", "c"), row_seed(7, "a", "bc"));
/// ```
pub fn row_seed(seed: u64, gate: &str, metric: &str) -> u64 {
    let mut h = fnv1a(0xcbf2_9ce4_8422_2325, &seed.to_le_bytes());
    h = fnv1a(h, gate.as_bytes());
    h = fnv1a(h, &[0xff]);
    fnv1a(h, metric.as_bytes())
}

/// A ChaCha stream of a row: `seed_from_u64(row_seed)` on stream `stream`.
pub(super) fn row_stream(row_seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(row_seed);
    rng.set_stream(stream);
    rng
}

/// Stream of the A/B summary.
pub(super) const STREAM_AB: u64 = 0;
/// Stream of the A/A summary.
pub(super) const STREAM_CONTROL: u64 = 1;
/// Stream of a calibrated slowdown (its seed also mixes in the slowdown).
pub(super) const STREAM_SLOWDOWN: u64 = 2;
