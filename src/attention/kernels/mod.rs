//! Attention kernels behind one seam: [`attend`] with a [`Kernel`] name.
//!
//! Every kernel computes, per head h and row i,
//! `out[h, i] = Σ_j p_j v[h, j]` with `p = softmax_j(q[h,i]·k[h,j] / √D + bias[i, j])` over the
//! columns `j` the [`Mask`] allows in row `i`. A row with nothing allowed gives a zero row.

use ndarray::{Array3, ArrayView2, ArrayView3};

use super::Mask;

pub mod math;

/// The inputs every kernel takes.
#[derive(Debug, Clone, Copy)]
pub struct AttnInputs<'a> {
    /// Queries, heads × L × D.
    pub q: ArrayView3<'a, f32>,
    /// Keys, heads × L × D.
    pub k: ArrayView3<'a, f32>,
    /// Values, heads × L × D.
    pub v: ArrayView3<'a, f32>,
    /// Which entries may attend.
    pub mask: &'a Mask,
    /// Additive bias L × L (the time bias), the same for every head.
    pub bias: Option<ArrayView2<'a, f32>>,
}

/// A shape disagreement between the inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttnError {
    /// Two inputs disagree in shape.
    #[error("attention input `{input}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// Which input.
        input: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// What the shape of `q` implies.
        expected: Vec<usize>,
    },
}

impl AttnInputs<'_> {
    /// Checks that k, v, mask and bias agree with the shape of q.
    pub fn validate(&self) -> Result<(), AttnError> {
        let qs = self.q.shape().to_vec();
        for (name, a) in [("k", &self.k), ("v", &self.v)] {
            if a.shape() != qs.as_slice() {
                return Err(AttnError::Shape { input: name, got: a.shape().to_vec(), expected: qs.clone() });
            }
        }
        let l = qs[1];
        if self.mask.n() != l {
            return Err(AttnError::Shape { input: "mask", got: vec![self.mask.n(); 2], expected: vec![l, l] });
        }
        if let Some(b) = self.bias {
            if b.shape() != [l, l] {
                return Err(AttnError::Shape { input: "bias", got: b.shape().to_vec(), expected: vec![l, l] });
            }
        }
        Ok(())
    }
}

/// The kernels, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// The reference: obvious code, f64 accumulation.
    Math,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 1] = [Kernel::Math];

    /// The kernel's name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Math => "math",
        }
    }
}

impl std::str::FromStr for Kernel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kernel::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Kernel::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kernel `{s}` (expected one of: {})", names.join(", "))
        })
    }
}

/// Runs one kernel.
///
/// ```
/// use ironforge::attention::{attend, AttnInputs, Kernel, Mask};
/// let q = ndarray::Array3::<f32>::ones((1, 2, 3));
/// let mask = Mask::full(2);
/// let inp = AttnInputs { q: q.view(), k: q.view(), v: q.view(), mask: &mask, bias: None };
/// let out = attend(Kernel::Math, &inp).unwrap();
/// assert_eq!(out.shape(), &[1, 2, 3]);
/// ```
pub fn attend(kernel: Kernel, inputs: &AttnInputs<'_>) -> Result<Array3<f32>, AttnError> {
    inputs.validate()?;
    Ok(match kernel {
        Kernel::Math => math::forward(inputs),
    })
}
