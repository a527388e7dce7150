//! Where the additive bias comes from, and how the kernels read it: a row at a time.
//!
//! [`BiasSource`] (in [`super::AttnInputs`]) is either a dense L × L matrix or the event times
//! of a time bias. The kernels resolve it once per call into a [`RowBias`] and read the rows
//! they compute:
//!
//! * a dense matrix lends its rows (no copy when it is row-major);
//! * a time bias writes row `i`'s entries **at the columns the mask allows** into a scratch row
//!   of L floats ([`RowBias::rows`]), each with [`TimeBias::entry`], the function
//!   [`TimeBias::matrix`] calls for the same entry, so every allowed entry has the matrix's
//!   bits. The other columns keep whatever the scratch held: no kernel lets a blocked entry's
//!   bias reach a result (the tile routines load a row's bias only at its allowed lanes, or
//!   select blocked lanes away before anything reads them; the sparse rows read allowed
//!   columns only), so the outputs are bit-identical to the dense matrix's. Extra memory: the
//!   scratch rows of one block (at most 16 × L floats per thread), never L × L.
//!
//! The slow, obvious twin of a row is the matrix's row (`TimeBias::matrix(..).row(i)`);
//! `tests/integration/attention_bounded.rs` compares them, and every kernel's output on both sources.

use ndarray::ArrayView2;

use crate::attention::bias::TimeBias;
use crate::attention::Mask;

/// The additive bias of an attention call: a dense L × L matrix, or a time bias computed from
/// event times when the kernels read it (bounded memory for long sessions).
///
/// ```
/// use ironforge::attention::{bias::TimeBias, kernels::BiasSource};
/// let times = [0, 300_000, 900_000];
/// let m = TimeBias::Bucket.matrix(&times).unwrap();
/// let dense = BiasSource::from(m.view());
/// let rows = BiasSource::times(&times, TimeBias::Bucket).unwrap();
/// assert_eq!(dense.at(0, 2).to_bits(), rows.at(0, 2).to_bits());
/// assert_eq!(rows.shape(), [3, 3]);
/// assert!(BiasSource::times(&times, TimeBias::None).is_none()); // no bias at all
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BiasSource<'a>(pub(crate) Source<'a>);

/// The two forms of a [`BiasSource`] (private, so a time bias of [`TimeBias::None`] cannot be
/// built: "no bias" is `None`, which the kernels treat differently from a bias of zeros).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Dense(ArrayView2<'a, f32>),
    Times { times_ms: &'a [i64], kind: TimeBias },
}

impl<'a> From<ArrayView2<'a, f32>> for BiasSource<'a> {
    fn from(view: ArrayView2<'a, f32>) -> Self {
        Self(Source::Dense(view))
    }
}

impl<'a> BiasSource<'a> {
    /// A dense L × L matrix (any layout; the kernels copy it only if it is not row-major).
    pub fn dense(view: ArrayView2<'a, f32>) -> Self {
        Self::from(view)
    }

    /// The time bias `kind` of events at `times_ms`, computed row by row where the kernels
    /// read it; `None` for [`TimeBias::None`].
    pub fn times(times_ms: &'a [i64], kind: TimeBias) -> Option<Self> {
        (kind != TimeBias::None).then_some(Self(Source::Times { times_ms, kind }))
    }

    /// Its shape, `[L, L]` for a time bias of L events.
    pub fn shape(&self) -> [usize; 2] {
        match self.0 {
            Source::Dense(v) => [v.nrows(), v.ncols()],
            Source::Times { times_ms, .. } => [times_ms.len(); 2],
        }
    }

    /// The matrix, when it is one.
    pub fn as_dense(&self) -> Option<ArrayView2<'a, f32>> {
        match self.0 {
            Source::Dense(v) => Some(v),
            Source::Times { .. } => None,
        }
    }

    /// Entry `(i, j)` (the reference kernels read it one entry at a time).
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        match self.0 {
            Source::Dense(v) => v[[i, j]],
            Source::Times { times_ms, kind } => kind.entry(times_ms, i, j),
        }
    }
}

/// A [`BiasSource`] made row-major for the kernels: holds the copy of a dense matrix that was
/// not in standard layout (borrowed otherwise).
pub(crate) struct Resolved<'a> {
    dense: Option<ndarray::CowArray<'a, f32, ndarray::Ix2>>,
    times: Option<(&'a [i64], TimeBias)>,
}

impl<'a> Resolved<'a> {
    /// Resolves `source` (nothing is copied for a row-major matrix or a time bias).
    pub(crate) fn new(source: Option<BiasSource<'a>>) -> Self {
        match source.map(|s| s.0) {
            None => Self { dense: None, times: None },
            Some(Source::Dense(v)) => {
                let dense = if v.is_standard_layout() {
                    ndarray::CowArray::from(v)
                } else {
                    ndarray::CowArray::from(v.as_standard_layout().into_owned())
                };
                Self { dense: Some(dense), times: None }
            }
            Some(Source::Times { times_ms, kind }) => Self { dense: None, times: Some((times_ms, kind)) },
        }
    }

    /// The rows, if there is a bias.
    pub(crate) fn rows(&self) -> Option<RowBias<'_>> {
        if let Some(d) = &self.dense {
            let values = d.as_slice().expect("standard layout is contiguous");
            return Some(RowBias(Rows::Dense { values, l: d.nrows() }));
        }
        self.times.map(|(times_ms, kind)| RowBias(Rows::Times { times_ms, kind }))
    }
}

/// The bias as the row routines read it: row-major rows of a dense matrix, or a time bias
/// computed into scratch rows at the entries the mask allows (see the module docs).
///
/// ```
/// use ironforge::attention::{bias::TimeBias, kernels::RowBias, Mask};
/// let times = [0, 300_000, 900_000, 20_000_000];
/// let mask = Mask::from_edges(4, &[(1, 3)]);
/// let m = TimeBias::Rbf.matrix(&times).unwrap();
/// let dense = RowBias::dense(m.as_slice().unwrap(), 4);
/// let rows = RowBias::times(&times, TimeBias::Rbf).unwrap();
/// let mut scratch = Vec::new();
/// let [r1] = rows.rows::<1>(&[1], &mask, &mut scratch);
/// for j in mask.row_columns(1) {
///     assert_eq!(r1[j].to_bits(), dense.at(1, j).to_bits());
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RowBias<'a>(Rows<'a>);

#[derive(Debug, Clone, Copy)]
enum Rows<'a> {
    Dense { values: &'a [f32], l: usize },
    Times { times_ms: &'a [i64], kind: TimeBias },
}

impl<'a> RowBias<'a> {
    /// An L × L row-major matrix (`values.len()` must be `l · l`).
    ///
    /// # Panics
    /// If `values.len() != l · l`.
    pub fn dense(values: &'a [f32], l: usize) -> Self {
        assert_eq!(values.len(), l * l, "a dense bias must be L × L");
        Self(Rows::Dense { values, l })
    }

    /// The time bias `kind` of `times_ms`; `None` for [`TimeBias::None`].
    pub fn times(times_ms: &'a [i64], kind: TimeBias) -> Option<Self> {
        (kind != TimeBias::None).then_some(Self(Rows::Times { times_ms, kind }))
    }

    /// Side length L.
    pub fn len(&self) -> usize {
        match self.0 {
            Rows::Dense { l, .. } => l,
            Rows::Times { times_ms, .. } => times_ms.len(),
        }
    }

    /// Whether L is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The matrix's values, row-major, when it is one.
    pub fn dense_values(&self) -> Option<&'a [f32]> {
        match self.0 {
            Rows::Dense { values, .. } => Some(values),
            Rows::Times { .. } => None,
        }
    }

    /// An upper bound of `|entry|` over every entry: exact for a matrix (∞ if an entry is not
    /// finite), [`TimeBias::max_abs`] for a time bias.
    pub fn max_abs(&self) -> f32 {
        match self.0 {
            Rows::Dense { values, .. } => {
                values.iter().fold(0.0f32, |m, &x| if x.is_finite() { m.max(x.abs()) } else { f32::INFINITY })
            }
            Rows::Times { times_ms, kind } => kind.max_abs(times_ms),
        }
    }

    /// Entry `(i, j)`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        match self.0 {
            Rows::Dense { values, l } => values[i * l + j],
            Rows::Times { times_ms, kind } => kind.entry(times_ms, i, j),
        }
    }

    /// The bias of every `(row, column)` entry, in order (the sparse rows gather theirs once
    /// per call).
    pub fn entries(&self, entries: impl Iterator<Item = (u32, u32)>) -> Vec<f32> {
        match self.0 {
            Rows::Dense { values, l } => entries.map(|(i, j)| values[i as usize * l + j as usize]).collect(),
            Rows::Times { times_ms, kind } => {
                entries.map(|(i, j)| kind.entry(times_ms, i as usize, j as usize)).collect()
            }
        }
    }

    /// The bias rows of a block of `rows` (1 to N of them): slot `r` holds the row of
    /// `rows[min(r, len − 1)]` (a short block repeats its last row, as the row routines do).
    /// A matrix lends its rows; a time bias writes each row's entries at the columns `mask`
    /// allows into `scratch` (grown to `rows.len() · L` floats; its other columns are left as
    /// they were — see the module docs for why no kernel reads them).
    ///
    /// # Panics
    /// If `rows` is empty or longer than N, or a row is not below L.
    #[inline]
    pub fn rows<'s, const N: usize>(
        &'s self,
        rows: &[usize],
        mask: &Mask,
        scratch: &'s mut Vec<f32>,
    ) -> [&'s [f32]; N] {
        assert!((1..=N).contains(&rows.len()), "1 to {N} rows, got {}", rows.len());
        let n = rows.len();
        match self.0 {
            Rows::Dense { values, l } => std::array::from_fn(|r| {
                let i = rows[r.min(n - 1)];
                &values[i * l..(i + 1) * l]
            }),
            Rows::Times { times_ms, kind } => {
                let l = times_ms.len();
                if scratch.len() < n * l {
                    scratch.resize(n * l, 0.0);
                }
                for (dst, &i) in scratch.chunks_exact_mut(l.max(1)).zip(rows) {
                    for j in mask.row_columns(i) {
                        dst[j] = kind.entry(times_ms, i, j);
                    }
                }
                let scratch: &'s [f32] = scratch;
                std::array::from_fn(|r| {
                    let s = r.min(n - 1);
                    &scratch[s * l..(s + 1) * l]
                })
            }
        }
    }

    /// Row `i` alone ([`RowBias::rows`] with one row).
    #[inline]
    pub fn row<'s>(&'s self, i: usize, mask: &Mask, scratch: &'s mut Vec<f32>) -> &'s [f32] {
        let [row] = self.rows::<1>(&[i], mask, scratch);
        row
    }
}
