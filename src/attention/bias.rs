//! The additive time bias: one L × L matrix, the same for every head, from the gaps between
//! event times (`dt = |t_v − t_u|` in minutes).
//!
//! * [`TimeBias::Bucket`] (the original's default): buckets `(0, 5, +0.2)`, `(5, 15, +0.1)`,
//!   `(15, 60, 0.0)`, `(60, 240, −0.1)`; both ends inclusive and contributions add, so
//!   `dt = 5` gives `0.3`, `dt = 15` gives `0.1`, `dt = 60` gives `−0.1`, `dt > 240` gives `0`.
//! * [`TimeBias::Rbf`]: `−sqrt(dt / (0.1 + 1e−6))`.
//!
//! Values are computed in f64 and rounded once to f32.

use ndarray::Array2;

/// The original's bucket table: `(lo, hi, weight)` in minutes, both ends inclusive.
pub const BUCKETS: [(f64, f64, f64); 4] = [(0.0, 5.0, 0.2), (5.0, 15.0, 0.1), (15.0, 60.0, 0.0), (60.0, 240.0, -0.1)];

/// The RBF bandwidth of the original (`0.1`), plus its `1e-6` guard.
pub const RBF_SCALE: f64 = 0.1 + 1e-6;

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
    pub fn matrix(self, times_ms: &[i64]) -> Option<Array2<f32>> {
        if self == TimeBias::None {
            return None;
        }
        let l = times_ms.len();
        Some(Array2::from_shape_fn((l, l), |(u, v)| {
            let dt_min = times_ms[v].abs_diff(times_ms[u]) as f64 / 60_000.0;
            self.value(dt_min) as f32
        }))
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
