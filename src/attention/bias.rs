//! The additive time bias: one L × L matrix, the same for every head, from the gaps between
//! event times (`dt = |t_v − t_u|` in minutes).
//!
//! * [`TimeBias::Bucket`] (the original's default): buckets `(0, 5, +0.2)`, `(5, 15, +0.1)`,
//!   `(15, 60, 0.0)`, `(60, 240, −0.1)`; both ends inclusive and contributions add, so
//!   `dt = 5` gives `0.3`, `dt = 15` gives `0.1`, `dt = 60` gives `−0.1`, `dt > 240` gives `0`.
//! * [`TimeBias::Rbf`]: `−sqrt(dt / (0.1 + 1e−6))`.
//!
//! Values are computed in f64 and rounded once to f32, one entry at a time by
//! [`TimeBias::entry`]: the dense matrix ([`TimeBias::matrix`]) and the row-wise bias the
//! kernels compute for long sessions ([`crate::attention::kernels::BiasSource::times`]) share
//! that one function, so both give the same bits.
//!
//! A dense matrix takes `4·L²` bytes (10 GB at 50,000 events). Sessions of more than
//! [`DENSE_BIAS_MAX_EVENTS`] events never get one in [`crate::attention::Model::embed`], and
//! no matrix over [`DENSE_BIAS_MAX_BYTES`] is allocated where the size comes from input
//! ([`TimeBias::try_matrix`], the time-bias cache, `ironforge attend`): a [`BiasError`]
//! names the size and the limit instead.

use ndarray::Array2;

/// Sessions with more events than this get their time bias row by row (computed by the
/// kernels for the entries the mask allows) instead of as an L × L matrix. 4096 events is a
/// 64 MiB matrix, the whole default time-bias cache
/// ([`crate::attention::cache::DEFAULT_CAPACITY_BYTES`]): every session whose matrix a
/// default cache can hold keeps the dense, cached path, and no matrix larger than one cache is
/// built.
pub const DENSE_BIAS_MAX_EVENTS: usize = 4096;

/// The largest dense bias matrix this crate allocates where the size comes from input:
/// 1 GiB, an L × L f32 matrix of L = 16,384.
pub const DENSE_BIAS_MAX_BYTES: usize = 1 << 30;

/// A dense bias that would exceed [`DENSE_BIAS_MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BiasError {
    /// The L × L matrix is over the limit.
    #[error(
        "a dense {what} of {l} × {l} float32 needs {bytes} bytes, over the limit of {limit} bytes \
         (DENSE_BIAS_MAX_BYTES: L ≤ {max_l})"
    )]
    TooLarge {
        /// What the matrix is (`time bias`, or the array's name).
        what: String,
        /// Side length L.
        l: usize,
        /// Bytes it would take (saturating).
        bytes: usize,
        /// The limit, [`DENSE_BIAS_MAX_BYTES`].
        limit: usize,
        /// The largest L within the limit.
        max_l: usize,
    },
}

/// Checks that an `l × l` f32 matrix called `what` fits [`DENSE_BIAS_MAX_BYTES`].
///
/// ```
/// use ironforge::attention::bias::{check_dense_size, BiasError};
/// assert!(check_dense_size("bias", 16_384).is_ok());
/// let err = check_dense_size("bias", 65_536).unwrap_err();
/// assert!(err.to_string().contains("65536 × 65536"), "{err}");
/// ```
pub fn check_dense_size(what: &str, l: usize) -> Result<(), BiasError> {
    let bytes = l.saturating_mul(l).saturating_mul(std::mem::size_of::<f32>());
    if bytes <= DENSE_BIAS_MAX_BYTES {
        return Ok(());
    }
    let max_l = (DENSE_BIAS_MAX_BYTES / std::mem::size_of::<f32>()).isqrt();
    Err(BiasError::TooLarge { what: what.to_string(), l, bytes, limit: DENSE_BIAS_MAX_BYTES, max_l })
}

/// The original's bucket table: `(lo, hi, weight)` in minutes, both ends inclusive.
pub const BUCKETS: [(f64, f64, f64); 4] = [(0.0, 5.0, 0.2), (5.0, 15.0, 0.1), (15.0, 60.0, 0.0), (60.0, 240.0, -0.1)];

/// The RBF bandwidth of the original (`0.1`), plus its `1e-6` guard.
pub const RBF_SCALE: f64 = 0.1 + 1e-6;

/// Row `u` of `data` (L × L, row-major) gets `bias(|t_v − t_u| in milliseconds)` for every `v`.
#[inline(always)]
fn fill_rows(data: &mut [f32], times_ms: &[i64], bias: impl Fn(u64) -> f32) {
    for (row, &tu) in data.chunks_exact_mut(times_ms.len().max(1)).zip(times_ms) {
        for (x, &tv) in row.iter_mut().zip(times_ms) {
            *x = bias(tv.abs_diff(tu));
        }
    }
}

/// The edges of [`BUCKETS`] in milliseconds, ascending and distinct (a test derives them from
/// the table).
const BUCKET_EDGES_MS: [u64; 5] = [0, 300_000, 900_000, 3_600_000, 14_400_000];

/// Which stretch of the line a gap of `gap_ms` falls in: the number of [`BUCKET_EDGES_MS`] at or
/// below it plus the number strictly below it — `2i + 1` on edge `i`, `2i + 2` strictly between
/// edge `i` and the next (or past the last).
#[inline(always)]
fn bucket_stretch(gap_ms: u64) -> usize {
    BUCKET_EDGES_MS.iter().map(|&e| usize::from(gap_ms >= e) + usize::from(gap_ms > e)).sum()
}

/// The bucket bias of every stretch ([`bucket_stretch`]), each [`TimeBias::value`] of one gap
/// in that stretch rounded to f32.
///
/// Every gap of one stretch lies in the same buckets, because an edge compares the same way in
/// milliseconds as in minutes: the edges are whole minutes, a gap `d` of up to 2⁵³ ms converts
/// exactly, and the correctly rounded `d / 60000` is `≤ k` exactly when `d ≤ 60000·k` (the
/// quotient of `60000·k + 1` is `k + 1.7e−5`, far above the spacing of doubles near `k`);
/// longer gaps are past every edge either way. So the table gives [`TimeBias::entry`]'s bits.
fn bucket_values() -> [f32; 2 * BUCKET_EDGES_MS.len() + 1] {
    let mut values = [0.0f32; 2 * BUCKET_EDGES_MS.len() + 1];
    for (i, &edge) in BUCKET_EDGES_MS.iter().enumerate() {
        // Stretch 2i + 1 is the edge itself; 2i + 2 is strictly after it (before the next).
        values[2 * i + 1] = TimeBias::Bucket.value(edge as f64 / 60_000.0) as f32;
        values[2 * i + 2] = TimeBias::Bucket.value((edge + 1) as f64 / 60_000.0) as f32;
    }
    // Stretch 0 (below the first edge, 0 ms) holds no gap.
    values[0] = values[1];
    values
}

/// Which time bias to add to the attention scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBias {
    /// No bias.
    None,
    /// The bucket table [`BUCKETS`] (the original's default).
    #[default]
    Bucket,
    /// `−sqrt(dt / 0.1)`.
    Rbf,
}

impl TimeBias {
    /// Every variant.
    pub const ALL: [TimeBias; 3] = [TimeBias::None, TimeBias::Bucket, TimeBias::Rbf];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TimeBias::None => "none",
            TimeBias::Bucket => "bucket",
            TimeBias::Rbf => "rbf",
        }
    }

    /// The bias for one gap of `dt_min` minutes (`dt_min >= 0`).
    ///
    /// ```
    /// use ironforge::attention::bias::TimeBias;
    /// assert!((TimeBias::Bucket.value(5.0) - 0.3).abs() < 1e-12);
    /// assert!((TimeBias::Bucket.value(15.0) - 0.1).abs() < 1e-12);
    /// assert_eq!(TimeBias::Bucket.value(241.0), 0.0);
    /// ```
    #[inline]
    pub fn value(self, dt_min: f64) -> f64 {
        match self {
            TimeBias::None => 0.0,
            TimeBias::Bucket => BUCKETS.iter().filter(|(lo, hi, _)| *lo <= dt_min && dt_min <= *hi).map(|b| b.2).sum(),
            TimeBias::Rbf => -(dt_min / RBF_SCALE).sqrt(),
        }
    }

    /// The L × L bias matrix for event times in milliseconds (`None` for [`TimeBias::None`]).
    ///
    /// ```
    /// use ironforge::attention::bias::TimeBias;
    /// let b = TimeBias::Bucket.matrix(&[0, 300_000]).unwrap();
    /// assert_eq!(b[[0, 1]], 0.3f32);
    /// assert_eq!(b[[1, 1]], 0.2f32);
    /// assert!(TimeBias::None.matrix(&[0, 1]).is_none());
    /// ```
    ///
    /// It takes `4·L²` bytes whatever L is; where L comes from input use
    /// [`TimeBias::try_matrix`].
    pub fn matrix(self, times_ms: &[i64]) -> Option<Array2<f32>> {
        // Row by row over the times, one loop per kind (the kind is not matched per entry) and
        // no index checks: every cold session pays this L² loop, and a per-element closure
        // through `from_shape_fn` is inlined or not depending on how the crate falls into
        // codegen units. The values are [`TimeBias::entry`]'s, bit for bit (tested).
        let l = times_ms.len();
        let mut data = vec![0.0f32; l * l];
        match self {
            TimeBias::None => return None,
            TimeBias::Bucket => {
                // Integer compares and a table instead of four f64 range tests per entry.
                let values = bucket_values();
                fill_rows(&mut data, times_ms, |gap| values[bucket_stretch(gap)]);
            }
            TimeBias::Rbf => fill_rows(&mut data, times_ms, |gap| TimeBias::Rbf.value(gap as f64 / 60_000.0) as f32),
        }
        Some(Array2::from_shape_vec((l, l), data).expect("l × l entries"))
    }

    /// [`TimeBias::matrix`], or a [`BiasError`] when the matrix would exceed
    /// [`DENSE_BIAS_MAX_BYTES`] (nothing is allocated then).
    ///
    /// ```
    /// use ironforge::attention::bias::TimeBias;
    /// let times = vec![0i64; 20_000];
    /// let err = TimeBias::Bucket.try_matrix(&times).unwrap_err();
    /// assert!(err.to_string().contains("20000 × 20000"), "{err}");
    /// assert!(TimeBias::None.try_matrix(&times).unwrap().is_none());
    /// ```
    pub fn try_matrix(self, times_ms: &[i64]) -> Result<Option<Array2<f32>>, BiasError> {
        if self == TimeBias::None {
            return Ok(None);
        }
        check_dense_size("time bias", times_ms.len())?;
        Ok(self.matrix(times_ms))
    }

    /// Entry `(u, v)` of the bias matrix of `times_ms`: [`TimeBias::value`] of the gap in
    /// minutes, rounded once to f32. [`TimeBias::matrix`] and the kernels' row-wise time bias
    /// compute exactly this, so they agree bit for bit.
    ///
    /// ```
    /// use ironforge::attention::bias::TimeBias;
    /// let t = [0, 300_000, 9_000_000];
    /// let m = TimeBias::Rbf.matrix(&t).unwrap();
    /// assert_eq!(TimeBias::Rbf.entry(&t, 2, 1).to_bits(), m[[2, 1]].to_bits());
    /// ```
    #[inline]
    pub fn entry(self, times_ms: &[i64], u: usize, v: usize) -> f32 {
        let dt_min = times_ms[v].abs_diff(times_ms[u]) as f64 / 60_000.0;
        self.value(dt_min) as f32
    }

    /// An upper bound of `|entry|` over every pair of `times_ms` (for the `bf16` tile path's
    /// finiteness proof): the sum of the bucket weights' magnitudes, or the RBF value of the
    /// widest gap; 0 for [`TimeBias::None`].
    ///
    /// ```
    /// use ironforge::attention::bias::TimeBias;
    /// let t = [0, 60_000, 7_200_000];
    /// let m = TimeBias::Rbf.matrix(&t).unwrap();
    /// assert!(m.iter().all(|x| x.abs() <= TimeBias::Rbf.max_abs(&t)));
    /// ```
    pub fn max_abs(self, times_ms: &[i64]) -> f32 {
        match self {
            TimeBias::None => 0.0,
            TimeBias::Bucket => BUCKETS.iter().map(|b| b.2.abs()).sum::<f64>() as f32,
            TimeBias::Rbf => {
                let (lo, hi) = (times_ms.iter().min(), times_ms.iter().max());
                let widest = lo.zip(hi).map_or(0, |(lo, hi)| hi.abs_diff(*lo));
                // Rounded up: the f32 of an entry rounds the same f64 to nearest.
                (self.value(widest as f64 / 60_000.0).abs() as f32) * (1.0 + f32::EPSILON)
            }
        }
    }
}

impl std::str::FromStr for TimeBias {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TimeBias::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown time bias `{s}` (expected one of: none, bucket, rbf)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_holds_every_entry_bit_for_bit() {
        // Unsorted times with ties, gaps across every bucket edge and a negative time.
        let times: Vec<i64> = (0..97i64).map(|i| (i * 7_919 % 89) * 97_001 - 1_000_000 + (i % 3) * 60_000).collect();
        for kind in [TimeBias::Bucket, TimeBias::Rbf] {
            let m = kind.matrix(&times).unwrap();
            for u in 0..times.len() {
                for v in 0..times.len() {
                    assert_eq!(m[[u, v]].to_bits(), kind.entry(&times, u, v).to_bits(), "{kind:?} ({u}, {v})");
                }
            }
        }
        assert_eq!(TimeBias::Bucket.matrix(&[]).unwrap().dim(), (0, 0));
    }

    #[test]
    fn the_bucket_edges_are_the_tables_in_milliseconds() {
        let mut edges: Vec<u64> = BUCKETS.iter().flat_map(|b| [b.0, b.1]).map(|m| (m * 60_000.0) as u64).collect();
        edges.sort_unstable();
        edges.dedup();
        assert_eq!(edges, BUCKET_EDGES_MS);
        assert!(BUCKETS.iter().all(|b| b.0.fract() == 0.0 && b.1.fract() == 0.0), "edges are whole minutes");
    }

    #[test]
    fn the_bucket_table_gives_every_gaps_value_bit_for_bit() {
        let values = bucket_values();
        let near_edges = BUCKET_EDGES_MS.iter().flat_map(|&e| e.saturating_sub(2)..=e + 2);
        let far = [1 << 53, (1 << 53) + 1, u64::MAX / 2, u64::MAX, 123_456_789];
        for gap in near_edges.chain(far) {
            let want = TimeBias::Bucket.value(gap as f64 / 60_000.0) as f32;
            assert_eq!(values[bucket_stretch(gap)].to_bits(), want.to_bits(), "gap {gap} ms");
        }
        // Times whose gaps land on every edge and one millisecond either side.
        let times = [0, 1, 299_999, 300_000, 300_001, 900_000, 900_001, 3_600_000, 14_400_000, 14_400_001, -1];
        let m = TimeBias::Bucket.matrix(&times).unwrap();
        for u in 0..times.len() {
            for v in 0..times.len() {
                assert_eq!(m[[u, v]].to_bits(), TimeBias::Bucket.entry(&times, u, v).to_bits(), "({u}, {v})");
            }
        }
    }

    #[test]
    fn bucket_edges_are_inclusive_and_add() {
        let cases = [
            (0.0, 0.2),
            (2.5, 0.2),
            (5.0, 0.3),
            (5.5, 0.1),
            (15.0, 0.1),
            (30.0, 0.0),
            (60.0, -0.1),
            (100.0, -0.1),
            (240.0, -0.1),
            (240.5, 0.0),
            (10_000.0, 0.0),
        ];
        for (dt, want) in cases {
            let got = TimeBias::Bucket.value(dt);
            assert!((got - want).abs() < 1e-12, "dt={dt}: got {got}, want {want}");
        }
    }

    #[test]
    fn rbf_matches_formula() {
        assert_eq!(TimeBias::Rbf.value(0.0), 0.0);
        let got = TimeBias::Rbf.value(10.0);
        assert!((got - -(10.0f64 / 0.100001).sqrt()).abs() < 1e-12);
        assert!(TimeBias::Rbf.value(1.0) > TimeBias::Rbf.value(2.0));
    }

    #[test]
    fn matrix_uses_absolute_gap_in_minutes_and_is_symmetric() {
        let t = [0, 60_000 * 5, 60_000 * 20, 60_000 * 300];
        let b = TimeBias::Bucket.matrix(&t).unwrap();
        assert_eq!(b[[0, 1]], 0.3f32);
        assert_eq!(b[[1, 0]], 0.3f32);
        assert_eq!(b[[1, 2]], 0.1f32); // 15 minutes
        assert_eq!(b[[0, 2]], 0.0f32); // 20 minutes
        assert_eq!(b[[0, 3]], 0.0f32); // 300 minutes
        let r = TimeBias::Rbf.matrix(&t).unwrap();
        assert_eq!(r[[2, 0]], (-(20.0f64 / RBF_SCALE).sqrt()) as f32);
    }

    #[test]
    fn names_round_trip() {
        for b in TimeBias::ALL {
            assert_eq!(b.name().parse::<TimeBias>().unwrap(), b);
        }
        assert!("gauss".parse::<TimeBias>().unwrap_err().contains("gauss"));
    }
}
