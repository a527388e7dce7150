//! The circuit breaker: a kernel whose output is not finite falls back to `math`, and every
//! fallback is counted per kernel.
//!
//! [`CircuitBreaker::attend`] runs the chosen kernel; if any output value is NaN or infinite
//! and the kernel is not `math`, it reruns the same inputs through `math` and counts one
//! fallback for the kernel that failed. If `math` itself is not finite (the inputs overflow
//! even in f64 accumulation, or contain NaN/inf), it returns [`BreakerError::NonFinite`].
//! Counters are atomics: readable ([`CircuitBreaker::fallbacks`]) and resettable
//! ([`CircuitBreaker::reset`]). [`global`] is the process-wide breaker the model and CLI use.

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array3;

use super::kernels::{attend, AttnError, AttnInputs, Kernel};

/// Name of the table of fallback counts a gate attaches ([`crate::gate::table`]) and the
/// release report renders.
pub const FALLBACK_TABLE: &str = "fallbacks";

/// One kernel's fallbacks counted while a gate ran: a row of [`FALLBACK_TABLE`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FallbackRow {
    /// Kernel that fell back ([`Kernel::name`]).
    pub kernel: String,
    /// How many times it fell back.
    pub count: u64,
}

/// Why a guarded attention call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakerError {
    /// The inputs were inconsistent.
    #[error(transparent)]
    Attn(#[from] AttnError),
    /// Even the reference produced a NaN or infinite value.
    #[error("attention output is not finite even with the `math` reference (after kernel `{kernel}`)")]
    NonFinite {
        /// The kernel first asked for.
        kernel: &'static str,
    },
}

/// Output of a guarded call.
#[derive(Debug, Clone)]
pub struct Guarded {
    /// The attention output (from the kernel asked for, or from `math` after a fallback).
    pub output: Array3<f32>,
    /// The kernel whose output this is.
    pub used: Kernel,
    /// Whether a fallback happened.
    pub fell_back: bool,
}

/// Fallback counters, one per kernel of [`Kernel::ALL`].
#[derive(Debug)]
pub struct CircuitBreaker {
    counts: [AtomicU64; Kernel::ALL.len()],
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new()
    }
}

static GLOBAL: CircuitBreaker = CircuitBreaker::new();

/// The process-wide breaker (used by [`crate::attention::model`] and the CLI).
pub fn global() -> &'static CircuitBreaker {
    &GLOBAL
}

fn index_of(kernel: Kernel) -> usize {
    Kernel::ALL.iter().position(|&k| k == kernel).expect("every kernel is in Kernel::ALL")
}

impl CircuitBreaker {
    /// A breaker with every counter at zero.
    pub const fn new() -> Self {
        Self { counts: [const { AtomicU64::new(0) }; Kernel::ALL.len()] }
    }

    /// Runs `kernel` through [`attend`] with the fallback rule.
    ///
    /// ```
    /// use ironforge::attention::{breaker::CircuitBreaker, AttnInputs, Kernel, Mask};
    /// let q = ndarray::Array3::<f32>::ones((1, 2, 3));
    /// let mask = Mask::full(2);
    /// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
    /// let cb = CircuitBreaker::new();
    /// let g = cb.attend(Kernel::Math, &inp).unwrap();
    /// assert!(!g.fell_back && cb.total() == 0);
    /// ```
    pub fn attend(&self, kernel: Kernel, inputs: &AttnInputs<'_>) -> Result<Guarded, BreakerError> {
        self.attend_with(kernel, inputs, attend)
    }

    /// Like [`CircuitBreaker::attend`] with the kernel runner given: the seam tests use to
    /// inject a faulty kernel. `run(Kernel::Math, …)` must be the reference.
    pub fn attend_with(
        &self,
        kernel: Kernel,
        inputs: &AttnInputs<'_>,
        run: impl Fn(Kernel, &AttnInputs<'_>) -> Result<Array3<f32>, AttnError>,
    ) -> Result<Guarded, BreakerError> {
        let (output, used, fell_back) =
            guard(kernel, Kernel::Math, Kernel::name, |k| run(k, inputs), |k| self.count(k))?;
        Ok(Guarded { output, used, fell_back })
    }

    fn count(&self, kernel: Kernel) {
        self.counts[index_of(kernel)].fetch_add(1, Ordering::Relaxed);
    }

    /// Fallbacks counted for one kernel.
    pub fn fallbacks(&self, kernel: Kernel) -> u64 {
        self.counts[index_of(kernel)].load(Ordering::Relaxed)
    }

    /// Fallbacks of every kernel, by name, in [`Kernel::ALL`] order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Kernel::ALL.iter().map(|&k| (k.name(), self.fallbacks(k))).collect()
    }

    /// Fallbacks of every kernel as rows of [`FALLBACK_TABLE`], in [`Kernel::ALL`] order.
    pub fn rows(&self) -> Vec<FallbackRow> {
        self.snapshot().into_iter().map(|(kernel, count)| FallbackRow { kernel: kernel.to_string(), count }).collect()
    }

    /// All fallbacks together.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The fallback rule, generic over the kernel type so it can be tested on its own: run
/// `kernel`; a non-finite output from a kernel other than `reference` is counted through
/// `on_fallback` and replaced by the reference's output.
fn guard<K: Copy + PartialEq>(
    kernel: K,
    reference: K,
    name: fn(K) -> &'static str,
    run: impl Fn(K) -> Result<Array3<f32>, AttnError>,
    on_fallback: impl FnOnce(K),
) -> Result<(Array3<f32>, K, bool), BreakerError> {
    let output = run(kernel)?;
    if all_finite(&output) {
        return Ok((output, kernel, false));
    }
    if kernel == reference {
        return Err(BreakerError::NonFinite { kernel: name(kernel) });
    }
    on_fallback(kernel);
    let output = run(reference)?;
    if !all_finite(&output) {
        return Err(BreakerError::NonFinite { kernel: name(kernel) });
    }
    Ok((output, reference, true))
}

/// Whether every value is finite. Decided a block at a time with no branch per value (an
/// exponent of all ones is NaN or infinite), so the compiler checks a vector of values per
/// instruction; `Iterator::all` stopped at each value and was 2% of a pipeline session.
fn all_finite(values: &Array3<f32>) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    let block_ok =
        |block: &[f32]| block.iter().fold(0u32, |bad, x| bad | u32::from(x.to_bits() & EXPONENT == EXPONENT)) == 0;
    match values.as_slice_memory_order() {
        Some(flat) => flat.chunks(256).all(block_ok),
        None => values.iter().all(|x| x.is_finite()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Mask;
    use ndarray::Array3;

    fn inputs_fixture() -> (Array3<f32>, Mask) {
        (Array3::from_shape_fn((2, 4, 3), |(h, i, c)| (h + i * 3 + c) as f32 * 0.1), Mask::full(4))
    }

    #[test]
    fn math_with_overflowing_inputs_is_an_error_not_a_fallback() {
        let (mut q, mask) = inputs_fixture();
        q[[0, 0, 0]] = f32::INFINITY;
        let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
        let cb = CircuitBreaker::new();
        let err = cb.attend(Kernel::Math, &inp).unwrap_err();
        assert_eq!(err, BreakerError::NonFinite { kernel: "math" });
        assert_eq!(cb.total(), 0);
    }

    #[test]
    fn all_finite_finds_one_bad_value_anywhere() {
        let specials = [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        let finite = [f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -0.0, 0.0];
        // 2 × 300 × 3 values: more than two of the check's blocks.
        let mut a = Array3::from_shape_fn((2, 300, 3), |(h, i, c)| (h * 1000 + i * 3 + c) as f32 * 0.5);
        for (n, &x) in finite.iter().enumerate() {
            a[[n % 2, n * 37, n % 3]] = x;
        }
        assert!(all_finite(&a));
        assert!(all_finite(&a.slice(ndarray::s![.., ..;2, ..]).to_owned()));
        for &bad in &specials {
            for at in [[0, 0, 0], [0, 84, 1], [1, 0, 0], [1, 298, 2]] {
                let mut b = a.clone();
                b[at] = bad;
                assert!(!all_finite(&b), "{bad} at {at:?}");
                // Every other row: not contiguous, so the check takes its element-wise branch.
                let mut strided = b.clone();
                strided.slice_collapse(ndarray::s![.., ..;2, ..]);
                assert!(strided.as_slice_memory_order().is_none());
                assert!(!all_finite(&strided), "{bad} at {at:?}, strided");
            }
        }
    }

    #[test]
    fn finite_output_passes_through_uncounted() {
        let (q, mask) = inputs_fixture();
        let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
        let cb = CircuitBreaker::new();
        for &k in &Kernel::ALL {
            let g = cb.attend(k, &inp).unwrap();
            assert_eq!(g.used, k);
        }
        assert_eq!(cb.total(), 0);
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Toy {
        Fast,
        Reference,
    }

    fn toy_name(k: Toy) -> &'static str {
        match k {
            Toy::Fast => "fast",
            Toy::Reference => "reference",
        }
    }

    #[test]
    fn a_faulty_fast_kernel_falls_back_and_is_counted() {
        let good = Array3::<f32>::from_elem((1, 2, 2), 0.5);
        let fallbacks = std::cell::Cell::new(0);
        let run = |k: Toy| {
            Ok(match k {
                Toy::Fast => Array3::from_elem((1, 2, 2), f32::NAN),
                Toy::Reference => good.clone(),
            })
        };
        let (out, used, fell_back) = guard(Toy::Fast, Toy::Reference, toy_name, run, |k| {
            assert_eq!(k, Toy::Fast);
            fallbacks.set(fallbacks.get() + 1)
        })
        .unwrap();
        assert_eq!((out, used, fell_back, fallbacks.get()), (good.clone(), Toy::Reference, true, 1));
        // A faulty reference is an error naming the kernel asked for.
        let bad = |_: Toy| Ok(Array3::from_elem((1, 1, 1), f32::INFINITY));
        let err = guard(Toy::Fast, Toy::Reference, toy_name, bad, |_| ()).unwrap_err();
        assert_eq!(err, BreakerError::NonFinite { kernel: "fast" });

        // The same rule on the real kernels: every fast kernel that returns NaN is counted once
        // and replaced by `math` (only `math` exists until the kernels branch is merged).
        let (q, mask) = inputs_fixture();
        let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
        let cb = CircuitBreaker::new();
        let faulty = |k: Kernel, i: &AttnInputs<'_>| {
            let out = attend(Kernel::Math, i)?;
            Ok(if k == Kernel::Math { out } else { out.mapv(|_| f32::NAN) })
        };
        let reference = attend(Kernel::Math, &inp).unwrap();
        for &k in Kernel::ALL.iter().filter(|&&k| k != Kernel::Math) {
            let g = cb.attend_with(k, &inp, faulty).unwrap();
            assert!(g.fell_back && g.used == Kernel::Math && g.output == reference);
            assert_eq!(cb.fallbacks(k), 1);
        }
        assert_eq!(cb.total(), Kernel::ALL.len() as u64 - 1);
        assert_eq!(cb.snapshot().len(), Kernel::ALL.len());
        cb.reset();
        assert_eq!(cb.total(), 0);
    }

    #[test]
    fn shape_errors_pass_through() {
        let (q, mask) = inputs_fixture();
        let k = Array3::<f32>::zeros((2, 4, 2));
        let inp = AttnInputs { q: q.view(), k: k.view(), v: q.view(), mask: &mask, bias: None };
        assert!(matches!(CircuitBreaker::new().attend(Kernel::Math, &inp), Err(BreakerError::Attn(_))));
    }
}
