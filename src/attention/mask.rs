//! Attention masks: which (row, column) pairs may attend, stored as a row-major bitset.

use std::sync::OnceLock;

use super::kernels::sparse::SparseRows;

/// Which entries of an L × L score matrix are allowed (`true` = may attend).
///
/// Stored as one bitset row of `words_per_row()` `u64` words per row, so a mask of
/// L = 4096 takes 2 MiB. A row with nothing allowed produces a zero output row in every
/// kernel (defined result; see the kernels' docs).
///
/// ```
/// use ironforge::attention::Mask;
/// let m = Mask::from_edges(3, &[(0, 2)]);
/// assert!(m.allowed(0, 2) && m.allowed(1, 1) && !m.allowed(2, 0));
/// assert_eq!(m.count_allowed(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Mask {
    n: usize,
    words: usize,
    bits: Vec<u64>,
    /// The sparse rows of the first threshold asked for ([`SparseRows::cached`]), so that the
    /// layers of a model share one scan; cleared by [`Mask::allow`].
    sparse: OnceLock<SparseRows>,
}

/// Masks are equal when they allow the same entries (the cached sparse rows do not count).
impl PartialEq for Mask {
    fn eq(&self, other: &Self) -> bool {
        (self.n, &self.bits) == (other.n, &other.bits)
    }
}

impl Eq for Mask {}

impl Mask {
    /// Nothing allowed.
    pub fn empty(n: usize) -> Self {
        let words = n.div_ceil(64);
        Self { n, words, bits: vec![0; n * words], sparse: OnceLock::new() }
    }

    /// Everything allowed (a dense mask).
    pub fn full(n: usize) -> Self {
        let mut m = Self::empty(n);
        for i in 0..n {
            for j in 0..n {
                m.set(i, j);
            }
        }
        m
    }

    /// The original's DAG mask: an edge `u → v` (local indices) lets row `u` attend to
    /// column `v`; the diagonal is always allowed.
    pub fn from_edges(n: usize, edges: &[(u32, u32)]) -> Self {
        let mut m = Self::empty(n);
        for i in 0..n {
            m.set(i, i);
        }
        for &(u, v) in edges {
            m.set(u as usize, v as usize);
        }
        m
    }

    /// The causal variant of [`Mask::from_edges`]: an edge `u → v` lets the later event `v`
    /// attend to its cause `u` (row `v`, column `u`), so no row sees its own future.
    pub fn from_edges_causal(n: usize, edges: &[(u32, u32)]) -> Self {
        let flipped: Vec<(u32, u32)> = edges.iter().map(|&(u, v)| (v, u)).collect();
        Self::from_edges(n, &flipped)
    }

    /// From a row-major dense boolean matrix of `n * n` entries.
    pub fn from_dense(n: usize, allowed: &[bool]) -> Self {
        assert_eq!(allowed.len(), n * n, "dense mask must have n * n entries");
        let mut m = Self::empty(n);
        for (idx, _) in allowed.iter().enumerate().filter(|(_, &a)| a) {
            m.set(idx / n, idx % n);
        }
        m
    }

    /// Allows `(row, col)`.
    pub fn allow(&mut self, row: usize, col: usize) {
        self.sparse.take();
        self.set(row, col);
    }

    /// [`Mask::allow`] for the constructors, whose mask has nothing cached yet.
    #[inline]
    fn set(&mut self, row: usize, col: usize) {
        assert!(row < self.n && col < self.n, "mask entry ({row}, {col}) outside {0} × {0}", self.n);
        self.bits[row * self.words + col / 64] |= 1u64 << (col % 64);
    }

    /// Whether `(row, col)` is allowed.
    #[inline]
    pub fn allowed(&self, row: usize, col: usize) -> bool {
        self.bits[row * self.words + col / 64] >> (col % 64) & 1 == 1
    }

    /// Side length L.
    pub fn n(&self) -> usize {
        self.n
    }

    /// `u64` words per row of the bitset.
    pub fn words_per_row(&self) -> usize {
        self.words
    }

    /// The bitset words of one row (bit `j % 64` of word `j / 64` is column `j`).
    #[inline]
    pub fn row_words(&self, row: usize) -> &[u64] {
        &self.bits[row * self.words..(row + 1) * self.words]
    }

    /// Allowed columns of one row, ascending.
    pub fn row_columns(&self, row: usize) -> impl Iterator<Item = usize> + '_ {
        self.row_words(row).iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let b = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(w * 64 + b)
            })
        })
    }

    /// The cache behind [`SparseRows::cached`].
    pub(crate) fn sparse_cache(&self) -> &OnceLock<SparseRows> {
        &self.sparse
    }

    /// Number of allowed entries.
    pub fn count_allowed(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }
}
