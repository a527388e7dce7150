//! TGAT's functional time encoding (Xu et al., ICLR 2020), optional.
//!
//! `Φ(Δt) = [cos(ω₁Δt + φ₁), …, cos(ω_d Δt + φ_d)]` with Δt the minutes since the session's
//! first event. When enabled, Φ is concatenated to the 45 normalised node features, so the
//! input projection has `45 + d` rows. The deterministic initialisation is TGAT's:
//! `ω_k = 10^(−9k/(d−1))` (`ω = 1` when `d = 1`) and `φ_k = 0`; loaded weights may change both.

use ndarray::{Array1, Array2};

/// The frequencies and phases of a time encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeEncoding {
    /// Frequencies ω (per minute).
    pub omega: Array1<f32>,
    /// Phases φ (radians).
    pub phi: Array1<f32>,
}

impl TimeEncoding {
    /// TGAT's initialisation with `dims` dimensions (`dims ≥ 1`).
    ///
    /// ```
    /// use ironforge::attention::encoding::TimeEncoding;
    /// let te = TimeEncoding::tgat(4);
    /// assert_eq!(te.omega[0], 1.0);
    /// assert!((te.omega[3] - 1e-9).abs() < 1e-15);
    /// ```
    pub fn tgat(dims: usize) -> Self {
        let omega = Array1::from_shape_fn(dims, |k| {
            if dims == 1 {
                1.0
            } else {
                10f64.powf(-9.0 * k as f64 / (dims - 1) as f64) as f32
            }
        });
        Self { omega, phi: Array1::zeros(dims) }
    }

    /// Number of dimensions.
    pub fn dims(&self) -> usize {
        self.omega.len()
    }

    /// `Φ` for each event: an L × d matrix, Δt from the first time, computed in f64.
    ///
    /// ```
    /// use ironforge::attention::encoding::TimeEncoding;
    /// let phi = TimeEncoding::tgat(2).encode(&[0, 60_000]);
    /// assert_eq!(phi[[0, 0]], 1.0);
    /// assert!((phi[[1, 0]] - 1f64.cos() as f32).abs() < 1e-7);
    /// ```
    pub fn encode(&self, times_ms: &[i64]) -> Array2<f32> {
        let t0 = times_ms.iter().copied().min().unwrap_or(0);
        Array2::from_shape_fn((times_ms.len(), self.dims()), |(i, k)| {
            let dt_min = (times_ms[i] - t0) as f64 / 60_000.0;
            (self.omega[k] as f64 * dt_min + self.phi[k] as f64).cos() as f32
        })
    }
}
